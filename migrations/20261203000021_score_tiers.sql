-- Preference tiers (ranker version 2). The ranker orders lexicographically (outcome class, pass
-- ratio, teacher above student, then tie-breaks) and gives each ranked response a tier, 0 for
-- the best: two responses of a prompt make a preference pair only when their tiers differ
-- (responses that differ only by heuristics share one unless `ranking.heuristic_pairs`). Rows
-- written before this column have NULL; readers then take tiers from distinct scores, which was
-- the rule for those rankings.
ALTER TABLE scores ADD COLUMN tier INTEGER CHECK (tier >= 0);
