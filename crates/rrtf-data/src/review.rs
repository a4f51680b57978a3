//! Operator reviews applied to rankings: the effective order that export and training see.
//!
//! Reviews are append-only; the latest action of each kind is in force:
//! - `exclude`/`include` with a response: drop/restore that response; without one: the prompt.
//! - `pin` puts a response first; `unpin` (of it, or of nothing in particular) clears the pin.
//! - `reorder` (payload `{"order": [response ids]}`) puts the listed responses first, in that
//!   order, the rest after them in ranker order.
//! - `note` changes nothing.
//!
//! When a pin or reorder changes the order, the group's ranker scores are reassigned in sorted
//! order to the new positions, so scores stay consistent with the order (the ranking loss reads
//! scores), and a pinned response scores at least [`PIN_MARGIN`] above the next one.

use std::collections::{HashMap, HashSet};

use rrtf_store::{RankedGroup, Review, ReviewAction};
use serde::Serialize;

/// How far a pinned response's effective score sits above the next response's at least.
pub const PIN_MARGIN: f64 = 1e-3;

/// A ranked group after reviews. `responses` are in effective order; `scores[i]` is the
/// effective score of `responses[i]` (each response keeps its ranker score in `.score`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewedGroup {
    pub group: RankedGroup,
    pub scores: Vec<f64>,
    pub pinned: Option<i64>,
    /// True when a review changed this group's order or membership.
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
    /// The last `reorder`'s response ids, best first.
    pub order: Option<Vec<i64>>,
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
                (ReviewAction::Pin, Some(id)) => st.pinned = Some(id),
                (ReviewAction::Unpin, id) => {
                    if id.is_none() || id == st.pinned {
                        st.pinned = None;
                    }
                }
                (ReviewAction::Reorder, _) => {
                    st.order = r
                        .payload
                        .as_ref()
                        .and_then(|p| p.get("order"))
                        .and_then(|o| o.as_array())
                        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect());
                }
                (ReviewAction::Pin, None) | (ReviewAction::Note, _) => {}
            }
        }
        st
    }
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
            let scores = group.responses.iter().map(|r| r.score).collect();
            out.push(ReviewedGroup {
                group,
                scores,
                pinned: None,
                reviewed: false,
            });
            continue;
        };
        let ReviewState {
            prompt_excluded,
            excluded,
            pinned,
            order,
        } = ReviewState::of(rs.iter().copied());
        if prompt_excluded {
            summary.prompts_excluded += 1;
            continue;
        }
        let before: Vec<i64> = group.responses.iter().map(|r| r.response_id).collect();
        if let Some(order) = &order {
            let rank: HashMap<i64, usize> =
                order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            // Stable: listed responses first in the given order, the rest keep ranker order.
            group
                .responses
                .sort_by_key(|r| rank.get(&r.response_id).copied().unwrap_or(usize::MAX));
        }
        if let Some(pin) = pinned
            && let Some(i) = group.responses.iter().position(|r| r.response_id == pin)
        {
            let r = group.responses.remove(i);
            group.responses.insert(0, r);
        }
        let n_before = group.responses.len();
        group
            .responses
            .retain(|r| !excluded.contains(&r.response_id));
        summary.responses_excluded += n_before - group.responses.len();
        let pinned =
            pinned.filter(|p| group.responses.first().is_some_and(|r| r.response_id == *p));
        let after: Vec<i64> = group.responses.iter().map(|r| r.response_id).collect();
        let reordered = {
            let kept: Vec<i64> = before
                .iter()
                .copied()
                .filter(|id| !excluded.contains(id))
                .collect();
            kept != after
        };
        let mut scores: Vec<f64> = group.responses.iter().map(|r| r.score).collect();
        if reordered || pinned.is_some() {
            scores.sort_by(|a, b| b.total_cmp(a));
        }
        if pinned.is_some() && scores.len() > 1 && scores[0] < scores[1] + PIN_MARGIN {
            scores[0] = scores[1] + PIN_MARGIN;
        }
        summary.pinned += usize::from(pinned.is_some());
        summary.reordered += usize::from(order.is_some() && reordered);
        out.push(ReviewedGroup {
            reviewed: reordered || pinned.is_some() || before.len() != after.len(),
            group,
            scores,
            pinned,
        });
    }
    (out, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::{PairStrategy, pairs};
    use rrtf_store::{ModelRole, Outcome, PromptKind, RankedResponse};
    use serde_json::json;

    fn group(scores: &[(i64, f64, ModelRole)]) -> RankedGroup {
        RankedGroup {
            prompt_id: 1,
            round: 0,
            source: "s".into(),
            source_id: "1".into(),
            kind: PromptKind::Instruction,
            language: "python".into(),
            prompt: "p".into(),
            responses: scores
                .iter()
                .map(|&(id, score, role)| RankedResponse {
                    response_id: id,
                    model: format!("{role}"),
                    role,
                    temperature: None,
                    sample_index: 0,
                    raw_text: id.to_string(),
                    code: None,
                    finish_reason: None,
                    score,
                    outcome: Outcome::Pass,
                    tests_passed: 1,
                    tests_total: 1,
                    components: json!({}),
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
            author: "a".into(),
            reason: None,
            created_at: String::new(),
        }
    }

    const T: ModelRole = ModelRole::Teacher;
    const S: ModelRole = ModelRole::Student;

    /// (reviews, expected order of response ids, expected effective scores)
    #[test]
    fn reviews_give_the_expected_order_and_scores() {
        let base = [(10, 1.0, T), (11, 0.4, S), (12, -1.0, S)];
        let cases: Vec<(Vec<Review>, Vec<i64>, Vec<f64>)> = vec![
            (vec![], vec![10, 11, 12], vec![1.0, 0.4, -1.0]),
            (
                vec![review(1, None, ReviewAction::Note, None)],
                vec![10, 11, 12],
                vec![1.0, 0.4, -1.0],
            ),
            (
                vec![review(1, Some(12), ReviewAction::Pin, None)],
                vec![12, 10, 11],
                vec![1.0, 0.4, -1.0],
            ),
            (
                vec![
                    review(1, Some(12), ReviewAction::Pin, None),
                    review(2, Some(12), ReviewAction::Unpin, None),
                ],
                vec![10, 11, 12],
                vec![1.0, 0.4, -1.0],
            ),
            (
                vec![review(1, Some(11), ReviewAction::Exclude, None)],
                vec![10, 12],
                vec![1.0, -1.0],
            ),
            (
                vec![
                    review(1, Some(11), ReviewAction::Exclude, None),
                    review(2, Some(11), ReviewAction::Include, None),
                ],
                vec![10, 11, 12],
                vec![1.0, 0.4, -1.0],
            ),
            (
                vec![review(
                    1,
                    None,
                    ReviewAction::Reorder,
                    Some(json!({"order": [11, 12]})),
                )],
                vec![11, 12, 10],
                vec![1.0, 0.4, -1.0],
            ),
        ];
        for (reviews, order, scores) in cases {
            let (out, _) = apply_reviews(vec![group(&base)], &reviews);
            let got: Vec<i64> = out[0]
                .group
                .responses
                .iter()
                .map(|r| r.response_id)
                .collect();
            assert_eq!(got, order, "{reviews:?}");
            assert_eq!(out[0].scores, scores, "{reviews:?}");
        }
    }

    #[test]
    fn a_pin_breaks_a_tie_by_the_margin() {
        let (out, s) = apply_reviews(
            vec![group(&[(1, 1.0, T), (2, 1.0, T)])],
            &[review(1, Some(2), ReviewAction::Pin, None)],
        );
        assert_eq!(s.pinned, 1);
        assert_eq!(out[0].scores, vec![1.0 + PIN_MARGIN, 1.0]);
        assert_eq!(pairs(&out[0], PairStrategy::BestVsWorst, 0.0), vec![(0, 1)]);
    }

    /// (strategy, min_gap, expected pairs) on scores [1.0, 0.4, 0.4, -1.0] with roles T S T S.
    #[test]
    fn pair_strategies() {
        let g = group(&[(1, 1.0, T), (2, 0.4, S), (3, 0.4, T), (4, -1.0, S)]);
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
                pairs(&out[0], *strategy, *gap),
                expected.to_vec(),
                "{strategy:?} {gap}"
            );
        }
        let tie = group(&[(1, 0.5, T), (2, 0.5, S)]);
        let (out, _) = apply_reviews(vec![tie], &[]);
        assert!(
            pairs(&out[0], PairStrategy::All, 0.0).is_empty(),
            "equal scores are no preference"
        );
    }
}
