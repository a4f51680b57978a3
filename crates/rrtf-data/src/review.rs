//! Operator reviews applied to rankings: the effective order and preference tiers that export
//! and training see.
//!
//! Reviews are append-only; the latest action of each kind is in force:
//! - `exclude`/`include` with a response: drop/restore that response; without one: the prompt.
//! - `pin` puts a response first; `unpin` (of it, or of nothing in particular) clears the pin.
//! - `reorder` (payload `{"order": [response ids]}`) puts the listed responses first, in that
//!   order, the rest after them in ranker order.
//! - `note` changes nothing.
//!
//! Each response keeps its own ranker score whatever the reviews. What a pin or reorder changes
//! is the order and the preference tiers ([`ReviewedGroup::tiers`]): the responses an operator
//! placed (the pinned one, the listed ones) each get a tier of their own, above every response
//! the operator did not place, in the order the operator gave; the others keep the ranker's
//! tiers among themselves. Pairs are derived from these tiers, so they always agree with the
//! reviewed order, even where an operator preferred a response the ranker scored lower.
//!
//! [`record`] is the one path by which review actions are checked and appended (the CLI's
//! `rrtf review pin|...` and the web review both call it); [`effective_order`] is the order
//! `rrtf review show` and the web review display, computed by the same [`apply_reviews`] that
//! export and training use.

use std::collections::{HashMap, HashSet};

use rrtf_store::{
    NewReview, Outcome, PromptDetail, PromptSummary, RankedGroup, RankedResponse, Review,
    ReviewAction, ScoredResponse, Store,
};
use serde::Serialize;

use crate::DataError;

/// A ranked group after reviews. `responses` are in effective order, each with its own ranker
/// score (`.score`); `tiers[i]` is the effective preference tier of `responses[i]` (0 = best,
/// non-decreasing): `i` is preferred over `j` exactly when `tiers[i] < tiers[j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewedGroup {
    pub group: RankedGroup,
    pub tiers: Vec<i64>,
    /// How many leading responses an operator placed (by pin or reorder): a pair whose better
    /// response is one of them is the operator's preference, not the ranker's.
    pub placed: usize,
    pub pinned: Option<i64>,
    /// Who pinned the pinned response.
    pub pinned_by: Option<String>,
    /// Who made the reorder in force (when it lists a response of the group).
    pub reordered_by: Option<String>,
    /// True when a review changed this group's order, tiers or membership.
    pub reviewed: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReviewSummary {
    pub prompts_excluded: usize,
    pub responses_excluded: usize,
    pub pinned: usize,
    pub reordered: usize,
}

impl ReviewSummary {
    pub fn add(&mut self, other: ReviewSummary) {
        self.prompts_excluded += other.prompts_excluded;
        self.responses_excluded += other.responses_excluded;
        self.pinned += other.pinned;
        self.reordered += other.reordered;
    }
}

/// The reviews in force for one prompt: the latest action of each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReviewState {
    pub prompt_excluded: bool,
    pub excluded: HashSet<i64>,
    pub pinned: Option<i64>,
    pub pinned_by: Option<String>,
    /// The last `reorder`'s response ids, best first.
    pub order: Option<Vec<i64>>,
    pub order_by: Option<String>,
}

impl ReviewState {
    /// Fold one prompt's reviews, in the order they were made.
    pub fn of<'a>(reviews: impl IntoIterator<Item = &'a Review>) -> ReviewState {
        let mut st = ReviewState::default();
        for r in reviews {
            match (r.action, r.response_id) {
                (ReviewAction::Exclude, None) => st.prompt_excluded = true,
                (ReviewAction::Include, None) => st.prompt_excluded = false,
                (ReviewAction::Exclude, Some(id)) => {
                    st.excluded.insert(id);
                }
                (ReviewAction::Include, Some(id)) => {
                    st.excluded.remove(&id);
                }
                (ReviewAction::Pin, Some(id)) => {
                    st.pinned = Some(id);
                    st.pinned_by = Some(r.author.clone());
                }
                (ReviewAction::Unpin, id) => {
                    if id.is_none() || id == st.pinned {
                        st.pinned = None;
                        st.pinned_by = None;
                    }
                }
                (ReviewAction::Reorder, _) => {
                    st.order = r
                        .payload
                        .as_ref()
                        .and_then(|p| p.get("order"))
                        .and_then(|o| o.as_array())
                        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect());
                    st.order_by = Some(r.author.clone());
                }
                (ReviewAction::Pin, None) | (ReviewAction::Note, _) => {}
            }
        }
        st
    }
}

/// Dense ranks of the ranker's tiers in the order given, starting at `first`.
fn dense_tiers(ranker_tiers: impl Iterator<Item = i64>, first: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut prev = None;
    let mut tier = first;
    for t in ranker_tiers {
        if prev.is_some_and(|p| p != t) {
            tier += 1;
        }
        prev = Some(t);
        out.push(tier);
    }
    out
}

/// Apply `reviews` (in the order they were made) to ranked groups.
pub fn apply_reviews(
    groups: Vec<RankedGroup>,
    reviews: &[Review],
) -> (Vec<ReviewedGroup>, ReviewSummary) {
    let mut by_prompt: HashMap<i64, Vec<&Review>> = HashMap::new();
    for r in reviews {
        by_prompt.entry(r.prompt_id).or_default().push(r);
    }
    let mut summary = ReviewSummary::default();
    let mut out = Vec::with_capacity(groups.len());
    for mut group in groups {
        let Some(rs) = by_prompt.get(&group.prompt_id) else {
            let tiers = dense_tiers(group.responses.iter().map(|r| r.scored.tier), 0);
            out.push(ReviewedGroup {
                group,
                tiers,
                placed: 0,
                pinned: None,
                pinned_by: None,
                reordered_by: None,
                reviewed: false,
            });
            continue;
        };
        let ReviewState {
            prompt_excluded,
            excluded,
            pinned,
            pinned_by,
            order,
            order_by,
        } = ReviewState::of(rs.iter().copied());
        if prompt_excluded {
            summary.prompts_excluded += 1;
            continue;
        }
        let n_before = group.responses.len();
        group
            .responses
            .retain(|r| !excluded.contains(&r.scored.response_id));
        summary.responses_excluded += n_before - group.responses.len();
        let before: Vec<i64> = group
            .responses
            .iter()
            .map(|r| r.scored.response_id)
            .collect();
        // The responses the reorder in force lists, in its order.
        let listed: Vec<i64> = order
            .iter()
            .flatten()
            .copied()
            .filter(|id| before.contains(id))
            .fold(Vec::new(), |mut v, id| {
                if !v.contains(&id) {
                    v.push(id);
                }
                v
            });
        let rank: HashMap<i64, usize> = listed.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        // Stable: listed responses first in the given order, the rest keep ranker order.
        group.responses.sort_by_key(|r| {
            rank.get(&r.scored.response_id)
                .copied()
                .unwrap_or(usize::MAX)
        });
        let pinned = pinned.filter(|p| before.contains(p));
        if let Some(pin) = pinned
            && let Some(i) = group
                .responses
                .iter()
                .position(|r| r.scored.response_id == pin)
        {
            let r = group.responses.remove(i);
            group.responses.insert(0, r);
        }
        let placed = listed.len() + usize::from(pinned.is_some_and(|p| !rank.contains_key(&p)));
        let mut tiers: Vec<i64> = (0..placed as i64).collect();
        tiers.extend(dense_tiers(
            group.responses[placed..].iter().map(|r| r.scored.tier),
            placed as i64,
        ));
        summary.pinned += usize::from(pinned.is_some());
        summary.reordered += usize::from(!listed.is_empty());
        out.push(ReviewedGroup {
            reviewed: placed > 0 || n_before != before.len(),
            group,
            tiers,
            placed,
            pinned,
            pinned_by: pinned.and(pinned_by),
            reordered_by: (!listed.is_empty()).then_some(order_by).flatten(),
        });
    }
    (out, summary)
}

/// Check and append one review to the audit trail; the CLI and `rrtf review serve` both
/// record through here. A reorder may list only the prompt's own responses
/// ([`DataError::NotInPrompt`] otherwise, a user error). Returns the review's id.
pub async fn record(store: &Store, review: NewReview) -> Result<i64, DataError> {
    if review.action == ReviewAction::Reorder {
        let prompt_id = review.prompt_id;
        let detail = store.prompt_detail(&prompt_id.to_string(), None).await?;
        let known: Vec<i64> = detail.responses.iter().map(|r| r.response_id).collect();
        let order = review
            .payload
            .as_ref()
            .and_then(|p| p["order"].as_array())
            .cloned()
            .unwrap_or_default();
        let mut seen = Vec::new();
        for id in order.iter().filter_map(serde_json::Value::as_i64) {
            if seen.contains(&id) {
                return Err(DataError::Option(format!(
                    "response {id} appears twice in the reorder: list each response once, best \
                     first"
                )));
            }
            seen.push(id);
            if !known.contains(&id) {
                return Err(DataError::NotInPrompt {
                    response: id,
                    prompt: prompt_id,
                    known,
                });
            }
        }
    }
    Ok(store.add_review(&review).await?)
}

/// A review as an operator gives it: the prompt by id or source id (`HumanEval/0`), the
/// author (blank: none), and for a note its text, which goes before the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewRequest {
    pub prompt: String,
    pub response_id: Option<i64>,
    pub action: ReviewAction,
    pub payload: Option<serde_json::Value>,
    pub author: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// A review [`submit`] recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recorded {
    pub review_id: i64,
    pub prompt_id: i64,
    pub response_id: Option<i64>,
    pub action: ReviewAction,
    pub author: String,
}

/// `rrtf review pin|unpin|exclude|include|reorder|note`: find the prompt, then [`record`] the
/// review. No author is [`DataError::NoAuthor`].
pub async fn submit(store: &Store, r: ReviewRequest) -> Result<Recorded, DataError> {
    let author = r
        .author
        .filter(|a| !a.trim().is_empty())
        .ok_or(DataError::NoAuthor)?;
    if r.action == ReviewAction::Note && r.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(DataError::Option(
            "the note is empty: give its text (`rrtf review note PROMPT \"text\"`)".into(),
        ));
    }
    let prompt_id = store.find_prompt(&r.prompt).await?;
    let action = r.action;
    let reason = match (r.note, r.reason) {
        (Some(note), Some(reason)) => Some(format!("{note}\n{reason}")),
        (note, reason) => note.or(reason),
    };
    let review = NewReview {
        prompt_id,
        response_id: r.response_id,
        action,
        payload: r.payload,
        author: author.clone(),
        reason,
    };
    let review_id = record(store, review).await?;
    Ok(Recorded {
        review_id,
        prompt_id,
        response_id: r.response_id,
        action,
        author,
    })
}

/// What happens to a ranked prompt: `excluded` by review, else the ranker's `kept`/`dropped`.
pub fn review_status(p: &PromptSummary) -> &str {
    if p.excluded { "excluded" } else { &p.status }
}

/// Which ranked prompts to list (`rrtf review list`'s flags, the web review's query); every
/// condition given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromptFilter {
    pub round: Option<i64>,
    /// A response from this teacher.
    pub teacher: Option<String>,
    /// A response of each of these outcomes (with `teacher`: a response of that teacher's with
    /// each, so both filters hold for the same response).
    pub outcomes: Vec<String>,
    /// Best and worst scores at least this far apart.
    pub min_gap: Option<f64>,
    /// This [`review_status`] (kept, dropped, excluded).
    pub status: Option<String>,
    /// This status from the ranker (kept, dropped), whatever the reviews.
    pub ranker_status: Option<String>,
    /// Flagged tests (tests no response passes).
    pub flagged: bool,
    /// With reviews (true) or without (false).
    pub reviewed: Option<bool>,
    /// Excluded as a whole by review.
    pub excluded: bool,
    /// Only these prompt ids, in ascending order (a text search's matches:
    /// `Store::search_prompts`).
    pub among: Option<Vec<i64>>,
}

impl PromptFilter {
    pub fn matches(&self, p: &PromptSummary) -> bool {
        self.round.is_none_or(|r| p.round == r)
            && self.teacher.as_ref().is_none_or(|t| p.teachers.contains(t))
            && self.outcomes.iter().all(|o| match &self.teacher {
                Some(t) => p.teacher_outcomes.contains(&(t.clone(), o.clone())),
                None => p.outcomes.contains_key(o),
            })
            && self.min_gap.is_none_or(|g| p.best - p.worst >= g)
            && self.status.as_ref().is_none_or(|s| review_status(p) == s)
            && self.ranker_status.as_ref().is_none_or(|s| &p.status == s)
            && (!self.flagged || p.flagged_tests > 0)
            && self.reviewed.is_none_or(|r| (p.reviews > 0) == r)
            && (!self.excluded || p.excluded)
            && self
                .among
                .as_ref()
                .is_none_or(|ids| ids.binary_search(&p.prompt_id).is_ok())
    }
}

/// The order exports and training see after reviews, for a prompt's ranked responses (those
/// with a position under the ranker `detail` was read with; unranked ones are left out).
pub fn effective_order(d: &PromptDetail) -> Vec<i64> {
    let responses: Vec<RankedResponse> = d
        .responses
        .iter()
        .filter(|r| r.position.is_some())
        .map(|r| RankedResponse {
            scored: ScoredResponse {
                response_id: r.response_id,
                score: r.score.unwrap_or(0.0),
                tier: 0,
                // Only ranked responses are kept here, and every score row has its outcome.
                outcome: r.outcome.unwrap_or(Outcome::Crashed),
                tests_passed: r.tests_passed.unwrap_or(0),
                tests_total: r.tests_total.unwrap_or(0),
                components: serde_json::Value::Null,
            },
            model: r.model.clone(),
            role: r.role,
            temperature: r.temperature,
            sample_index: r.sample_index,
            raw_text: String::new(),
            code: None,
            finish_reason: r.finish_reason.clone(),
        })
        .collect();
    let group = RankedGroup {
        prompt_id: d.prompt.prompt_id,
        round: d.prompt.round,
        source: d.prompt.source.clone(),
        source_id: d.prompt.source_id.clone(),
        lineage: String::new(),
        kind: d.prompt.kind,
        language: d.prompt.language.clone(),
        prompt: String::new(),
        responses,
    };
    let (groups, _) = apply_reviews(vec![group], &d.reviews);
    groups
        .first()
        .map(|g| {
            g.group
                .responses
                .iter()
                .map(|r| r.scored.response_id)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::{PairSpec, PairStrategy, pairs};
    use rrtf_store::{ModelRole, PromptKind};
    use serde_json::json;

    /// A group of (response id, score, role, ranker tier), best first.
    fn group(responses: &[(i64, f64, ModelRole, i64)]) -> RankedGroup {
        RankedGroup {
            prompt_id: 1,
            round: 0,
            source: "s".into(),
            source_id: "1".into(),
            lineage: "root".into(),
            kind: PromptKind::Instruction,
            language: "python".into(),
            prompt: "p".into(),
            responses: responses
                .iter()
                .map(|&(id, score, role, tier)| RankedResponse {
                    scored: ScoredResponse {
                        response_id: id,
                        score,
                        tier,
                        outcome: Outcome::Pass,
                        tests_passed: 1,
                        tests_total: 1,
                        components: json!({}),
                    },
                    model: format!("{role}"),
                    role,
                    temperature: None,
                    sample_index: 0,
                    raw_text: id.to_string(),
                    code: None,
                    finish_reason: None,
                })
                .collect(),
        }
    }

    fn review(
        id: i64,
        response_id: Option<i64>,
        action: ReviewAction,
        payload: Option<serde_json::Value>,
    ) -> Review {
        Review {
            id,
            prompt_id: 1,
            response_id,
            action,
            payload,
            author: format!("op{id}"),
            reason: None,
            created_at: String::new(),
        }
    }

    const T: ModelRole = ModelRole::Teacher;
    const S: ModelRole = ModelRole::Student;

    fn spec(strategy: PairStrategy, min_gap: f64) -> PairSpec {
        PairSpec { strategy, min_gap }
    }

    /// (reviews, expected order of response ids, expected effective tiers, all pairs)
    #[test]
    fn reviews_give_the_expected_order_and_tiers_and_keep_scores() {
        let base = [(10, 1.0, T, 0), (11, 0.4, S, 1), (12, -1.0, S, 2)];
        #[allow(clippy::type_complexity)]
        let cases: Vec<(Vec<Review>, Vec<i64>, Vec<i64>, Vec<(usize, usize)>)> = vec![
            (
                vec![],
                vec![10, 11, 12],
                vec![0, 1, 2],
                vec![(0, 1), (0, 2), (1, 2)],
            ),
            (
                vec![review(1, None, ReviewAction::Note, None)],
                vec![10, 11, 12],
                vec![0, 1, 2],
                vec![(0, 1), (0, 2), (1, 2)],
            ),
            (
                vec![review(1, Some(12), ReviewAction::Pin, None)],
                vec![12, 10, 11],
                vec![0, 1, 2],
                vec![(0, 1), (0, 2), (1, 2)],
            ),
            (
                vec![
                    review(1, Some(12), ReviewAction::Pin, None),
                    review(2, Some(12), ReviewAction::Unpin, None),
                ],
                vec![10, 11, 12],
                vec![0, 1, 2],
                vec![(0, 1), (0, 2), (1, 2)],
            ),
            (
                vec![review(1, Some(11), ReviewAction::Exclude, None)],
                vec![10, 12],
                vec![0, 1],
                vec![(0, 1)],
            ),
            (
                vec![
                    review(1, Some(11), ReviewAction::Exclude, None),
                    review(2, Some(11), ReviewAction::Include, None),
                ],
                vec![10, 11, 12],
                vec![0, 1, 2],
                vec![(0, 1), (0, 2), (1, 2)],
            ),
            (
                vec![review(
                    1,
                    None,
                    ReviewAction::Reorder,
                    Some(json!({"order": [11, 12]})),
                )],
                vec![11, 12, 10],
                vec![0, 1, 2],
                vec![(0, 1), (0, 2), (1, 2)],
            ),
        ];
        for (reviews, order, tiers, all) in cases {
            let (out, _) = apply_reviews(vec![group(&base)], &reviews);
            let g = &out[0];
            let got: Vec<i64> = g
                .group
                .responses
                .iter()
                .map(|r| r.scored.response_id)
                .collect();
            assert_eq!(got, order, "{reviews:?}");
            assert_eq!(g.tiers, tiers, "{reviews:?}");
            assert_eq!(pairs(g, spec(PairStrategy::All, 0.0)), all, "{reviews:?}");
            for r in &g.group.responses {
                let own = base.iter().find(|b| b.0 == r.scored.response_id).unwrap().1;
                assert_eq!(
                    r.scored.score, own,
                    "each response keeps its own score: {reviews:?}"
                );
            }
        }
    }

    /// Issue 15 point 20: the pinned response keeps its own score, the group says who pinned
    /// or reordered, and the operator's pairs stay whatever the score gap.
    #[test]
    fn a_pin_keeps_scores_and_makes_the_operators_pairs() {
        let (out, s) = apply_reviews(
            vec![group(&[(1, 1.0, T, 0), (2, 1.0, T, 0), (3, -0.3, S, 1)])],
            &[review(7, Some(3), ReviewAction::Pin, None)],
        );
        assert_eq!(s.pinned, 1);
        let g = &out[0];
        let scores: Vec<f64> = g.group.responses.iter().map(|r| r.scored.score).collect();
        assert_eq!(scores, vec![-0.3, 1.0, 1.0]);
        assert_eq!(g.tiers, vec![0, 1, 1]);
        assert_eq!((g.placed, g.pinned), (1, Some(3)));
        assert_eq!(g.pinned_by.as_deref(), Some("op7"));
        assert_eq!(g.reordered_by, None);
        assert!(g.reviewed);
        // The pinned response beats both teachers even under a large min_gap; the tied
        // teachers make no pair.
        assert_eq!(pairs(g, spec(PairStrategy::All, 5.0)), vec![(0, 1), (0, 2)]);
        // A pin breaks a tie: the pinned teacher is preferred over its equal.
        let (out, _) = apply_reviews(
            vec![group(&[(1, 1.0, T, 0), (2, 1.0, T, 0)])],
            &[review(1, Some(2), ReviewAction::Pin, None)],
        );
        assert_eq!(out[0].tiers, vec![0, 1]);
        assert_eq!(
            pairs(&out[0], spec(PairStrategy::BestVsWorst, 0.0)),
            vec![(0, 1)]
        );
    }

    #[test]
    fn a_reorder_orders_the_listed_responses_strictly_and_says_by_whom() {
        let base = [
            (1, 1.0, T, 0),
            (2, 1.0, T, 0),
            (3, -0.3, S, 1),
            (4, -0.3, S, 1),
        ];
        let (out, s) = apply_reviews(
            vec![group(&base)],
            &[review(
                3,
                None,
                ReviewAction::Reorder,
                Some(json!({"order": [4, 2, 99]})),
            )],
        );
        assert_eq!(s.reordered, 1);
        let g = &out[0];
        let ids: Vec<i64> = g
            .group
            .responses
            .iter()
            .map(|r| r.scored.response_id)
            .collect();
        assert_eq!(ids, vec![4, 2, 1, 3]);
        // 4 and 2 are placed; 1 and 3 keep the ranker's tiers (a teacher above a student).
        assert_eq!(g.tiers, vec![0, 1, 2, 3]);
        assert_eq!(g.placed, 2);
        assert_eq!(g.reordered_by.as_deref(), Some("op3"));
        assert_eq!(g.pinned_by, None);
        // A min_gap drops the ranker's weak pair (1 over 3, gap 1.3 < 2) but no operator pair.
        assert_eq!(
            pairs(g, spec(PairStrategy::All, 2.0)),
            vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
        );
        // Two listed students that the ranker tied are strictly ordered by the operator.
        let (out, _) = apply_reviews(
            vec![group(&base)],
            &[review(
                4,
                None,
                ReviewAction::Reorder,
                Some(json!({"order": [3, 4]})),
            )],
        );
        assert_eq!(out[0].tiers, vec![0, 1, 2, 2]);
        assert_eq!(
            pairs(&out[0], spec(PairStrategy::All, 0.0)),
            vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
        );
    }

    /// Issue 15 points 2 and 3: the configured strategy and gap, over tiers. Responses of one
    /// tier (T S T S with tiers 0 1 1 2: the middle two tie) make no pair.
    #[test]
    fn pair_strategies() {
        let g = group(&[
            (1, 1.0, T, 0),
            (2, 0.4, S, 1),
            (3, 0.41, T, 1),
            (4, -1.0, S, 2),
        ]);
        let (out, _) = apply_reviews(vec![g], &[]);
        let cases: &[(PairStrategy, f64, &[(usize, usize)])] = &[
            (PairStrategy::BestVsWorst, 0.0, &[(0, 3)]),
            (PairStrategy::BestVsEach, 0.0, &[(0, 1), (0, 2), (0, 3)]),
            (
                PairStrategy::All,
                0.0,
                &[(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)],
            ),
            (PairStrategy::All, 1.0, &[(0, 3), (1, 3), (2, 3)]),
            (PairStrategy::TeacherVsStudent, 0.0, &[(0, 1), (0, 3)]),
            (PairStrategy::BestVsWorst, 2.5, &[]),
        ];
        for (strategy, gap, expected) in cases {
            assert_eq!(
                pairs(&out[0], spec(*strategy, *gap)),
                expected.to_vec(),
                "{strategy:?} {gap}"
            );
        }
        let tie = group(&[(1, 0.5, T, 0), (2, 0.4, S, 0)]);
        let (out, _) = apply_reviews(vec![tie], &[]);
        assert!(
            pairs(&out[0], spec(PairStrategy::All, 0.0)).is_empty(),
            "one tier is no preference, whatever the scores"
        );
    }
}
