-- Rankings are derived data: a prompt eliminated after it was ranked (decontamination, the
-- sampler's screen), or whose ranked response was eliminated, loses its rankings under every
-- ranker, as eliminating it does from now on (rankings.rs: drop_rankings_of). Before, its old
-- ranking still reached training, exports and reviews.
DELETE FROM ranked_prompts
WHERE prompt_id IN (SELECT id FROM prompts WHERE status = 'eliminated')
   OR prompt_id IN (SELECT s.prompt_id FROM scores s JOIN responses r ON r.id = s.response_id
                    WHERE r.eliminated IS NOT NULL);
DELETE FROM scores
WHERE NOT EXISTS (SELECT 1 FROM ranked_prompts rp
                  WHERE rp.ranker_id = scores.ranker_id AND rp.prompt_id = scores.prompt_id);
