//! Preference pairs derived from a (reviewed) ranked group: the one function every export and,
//! through the `rrtf` export's `pairs` field, training use.
//!
//! A pair `(better, worse)` always joins two responses of different preference tiers
//! ([`ReviewedGroup::tiers`]): responses the ranker tied (same outcome class, pass ratio and
//! role, unless `ranking.heuristic_pairs`) express no preference. A pair the ranker decided also
//! has a score gap of at least `min_gap`; a pair an operator decided (its better response was
//! pinned or listed by a reorder) is kept whatever its score gap.

use rrtf_store::ModelRole;

use crate::review::ReviewedGroup;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairStrategy {
    /// The best response against the worst: one pair per prompt.
    BestVsWorst,
    /// The best response against each other one.
    BestVsEach,
    /// Every (better, worse) pair: the pair terms of the RRTF ranking loss.
    All,
    /// The best teacher response against each student response it beats.
    TeacherVsStudent,
}

impl std::str::FromStr for PairStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "best-vs-worst" => Ok(PairStrategy::BestVsWorst),
            "best-vs-each" => Ok(PairStrategy::BestVsEach),
            "all" => Ok(PairStrategy::All),
            "teacher-vs-student" => Ok(PairStrategy::TeacherVsStudent),
            _ => Err(format!(
                "unknown pair strategy `{s}`: expected best-vs-worst, best-vs-each, all or \
                 teacher-vs-student"
            )),
        }
    }
}

impl PairStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            PairStrategy::BestVsWorst => "best-vs-worst",
            PairStrategy::BestVsEach => "best-vs-each",
            PairStrategy::All => "all",
            PairStrategy::TeacherVsStudent => "teacher-vs-student",
        }
    }
}

/// Which pairs to derive: the strategy and the smallest score gap of a ranker-decided pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairSpec {
    pub strategy: PairStrategy,
    pub min_gap: f64,
}

/// `(chosen, rejected)` indices into `g.group.responses`, chosen strictly preferred (a lower
/// tier), in the strategy's order.
pub fn pairs(g: &ReviewedGroup, spec: PairSpec) -> Vec<(usize, usize)> {
    let rs = &g.group.responses;
    let n = rs.len();
    let ok = |i: usize, j: usize| {
        g.tiers[i] < g.tiers[j]
            && (i < g.placed || rs[i].scored.score - rs[j].scored.score >= spec.min_gap)
    };
    let candidates: Vec<(usize, usize)> = match spec.strategy {
        PairStrategy::BestVsWorst if n >= 2 => vec![(0, n - 1)],
        PairStrategy::BestVsWorst => vec![],
        PairStrategy::BestVsEach => (1..n).map(|j| (0, j)).collect(),
        PairStrategy::All => (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect(),
        PairStrategy::TeacherVsStudent => {
            let role = |i: usize| rs[i].role;
            match (0..n).find(|&i| role(i) == ModelRole::Teacher) {
                Some(t) => (0..n)
                    .filter(|&s| role(s) == ModelRole::Student)
                    .map(|s| (t, s))
                    .collect(),
                None => vec![],
            }
        }
    };
    candidates.into_iter().filter(|&(i, j)| ok(i, j)).collect()
}
