//! The ranker: turns executed responses into scores and per-prompt rankings.
//!
//! The order is lexicographic (PanGu-Coder2, RLTF): outcome class first (compile error <
//! runtime error, timeout, memory/output limit, crash < test failure < partial pass < pass),
//! then the pass ratio inside a partial pass (the configured outcome score, which orders the
//! runtime-error class too), then teacher above student (when `teacher_epsilon` > 0), then the
//! tie-breaks: the teacher prior and the heuristic preferences `truncated`, `no_code`, `length`,
//! `lint` and `duplicate` (each a feature in [0, 1] times its configured weight), then role and
//! response id, so rankings are deterministic. No weight can reorder classes or ratios, for any
//! number of tests.
//!
//! Scores are derived from that order: `outcome` (the configured score of the class and ratio)
//! plus the `teacher` epsilon, `prior` and heuristic components. Where a prompt's tie-breaks
//! spread as wide as the smallest gap between two of its outcome scores (a teacher's 13/14
//! partial pass next to a student's pass, say), they are scaled down for that prompt to half
//! that gap. Score order is then rank order. The numeric components add up to the score; string
//! components are notes (`limit`: a partial pass cut by a time, memory or output limit;
//! `tiebreak_scale`: the scale when below 1).
//!
//! Each ranked response also gets a tier (0 = best): two responses make a preference pair only
//! when their tiers differ. Responses of the same class, ratio and role share a tier unless
//! `heuristic_pairs` is on, when only equal scores do. PanGu-Coder2's filters then drop prompts
//! with no passing response, where the best teacher scores below the best student, or where all
//! responses share one tier.
//!
//! This crate does no I/O: the binary reads [`RankPrompt`]s from the store and saves the
//! [`PromptRanking`]s it returns under [`ranker_ref`]'s hash.

mod heuristics;
mod outcome;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rrtf_config::Ranking;
use rrtf_types::{
    ModelRole, Outcome, PromptRanking, RankCandidate, RankPrompt, RankerRef, ScoredResponse,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub use heuristics::{lint_findings, near_duplicate};
pub use outcome::{aggregate_outcome, outcome_class, pass_ratio};

/// Bumped whenever scoring code changes meaning, so old rankings keep their own hash.
/// 2: lexicographic order, scores derived from it, tiers, heuristic_pairs, limits noted.
pub const RANKER_VERSION: u32 = 2;

/// The ranker's identity: the hash of the ranking config plus the ranker version.
pub fn ranker_ref(cfg: &Ranking) -> RankerRef {
    let config_json = json!({ "ranker_version": RANKER_VERSION, "ranking": cfg }).to_string();
    RankerRef {
        hash: hex::encode(Sha256::digest(config_json.as_bytes())),
        config_json,
    }
}

/// Why a prompt was dropped (PanGu-Coder2's filters and the cases with nothing to rank).
pub const DROP_NO_PASS: &str = "no passing response";
pub const DROP_TEACHER_BELOW_STUDENT: &str = "best teacher scores below best student";
pub const DROP_ALL_EQUAL: &str = "all responses tie: no response is preferred over another";
pub const DROP_INCOMPLETE: &str = "responses not executed against every test program";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RankSummary {
    pub prompts: usize,
    pub kept: usize,
    pub responses: usize,
    /// reason -> prompts dropped for it
    pub dropped: BTreeMap<&'static str, usize>,
    /// Responses left out because not every test program was run on them.
    pub responses_incomplete: usize,
}

fn score_of(outcome: Outcome, passed: i64, total: i64, cfg: &Ranking) -> f64 {
    let s = &cfg.scores;
    match outcome {
        Outcome::Pass => s.pass,
        Outcome::Partial => s.partial_base + s.partial_scale * pass_ratio(passed, total),
        Outcome::TestFailure => s.test_failure,
        Outcome::RuntimeError => s.runtime_error,
        Outcome::CompileError => s.compile_error,
        Outcome::Timeout => s.timeout,
        Outcome::MemoryLimit => s.memory_limit,
        Outcome::OutputLimit => s.output_limit,
        Outcome::Crashed => s.crashed,
    }
}

fn weight(cfg: &Ranking, name: &str) -> f64 {
    cfg.weights.get(name).copied().unwrap_or(0.0)
}

/// The text a response is judged on: its extracted code; its raw text when no extraction was
/// stored (imported responses that were never executed through `rrtf exec`); empty when the
/// extraction found no code.
fn code_of(c: &RankCandidate) -> &str {
    c.code.as_deref().unwrap_or(&c.raw_text).trim_end()
}

/// The limits (time, memory, output) some test program of a response ran into, as a note.
fn limits_hit(outcomes: &[Outcome]) -> Option<String> {
    let hit: Vec<&str> = [Outcome::Timeout, Outcome::MemoryLimit, Outcome::OutputLimit]
        .into_iter()
        .filter(|o| outcomes.contains(o))
        .map(Outcome::as_str)
        .collect();
    (!hit.is_empty()).then(|| hit.join(", "))
}

/// A response being ranked.
struct Scored<'a> {
    response_id: i64,
    outcome: Outcome,
    tests_passed: i64,
    tests_total: i64,
    teacher: bool,
    class: u8,
    /// The outcome score: class and pass ratio.
    base: f64,
    /// Tie-break components before scaling (teacher epsilon, prior, heuristics).
    tiebreaks: BTreeMap<&'static str, f64>,
    /// Notes stored with the components.
    notes: Map<String, Value>,
    /// Outcome plus the scaled tie-breaks; set by [`derive_scores`].
    score: f64,
    code: &'a str,
}

impl Scored<'_> {
    fn raw(&self) -> f64 {
        self.tiebreaks.values().sum()
    }
}

/// The ranking order, best first. Inside one class, ratio and role, responses are ordered by
/// their unscaled tie-breaks before scores exist, by score (`by_score`) after.
fn order(a: &Scored, b: &Scored, role_level: bool, by_score: bool) -> Ordering {
    let tiebreak = |s: &Scored| if by_score { s.score } else { s.raw() };
    b.class
        .cmp(&a.class)
        .then(b.base.total_cmp(&a.base))
        .then(if role_level {
            b.teacher.cmp(&a.teacher)
        } else {
            Ordering::Equal
        })
        .then(tiebreak(b).total_cmp(&tiebreak(a)))
        .then(b.teacher.cmp(&a.teacher))
        .then(a.response_id.cmp(&b.response_id))
}

/// The same pair-level key: class, ratio and (when the teacher preference is on) role.
fn same_pair_key(a: &Scored, b: &Scored, role_level: bool) -> bool {
    a.class == b.class && a.base == b.base && (!role_level || a.teacher == b.teacher)
}

/// Set each score to the outcome plus the tie-breaks. When the tie-breaks of the prompt spread
/// as wide as the smallest gap between two of its distinct outcome scores (a 13/14 partial pass
/// next to a pass, say), they are first scaled by one factor so that they spread over half that
/// gap: a score never crosses an outcome step. Returns the factor (1 when nothing was scaled).
fn derive_scores(scored: &mut [Scored]) -> f64 {
    let mut bases: Vec<f64> = scored.iter().map(|s| s.base).collect();
    bases.sort_by(|a, b| b.total_cmp(a));
    bases.dedup();
    let step = bases
        .windows(2)
        .map(|w| w[0] - w[1])
        .fold(f64::INFINITY, f64::min);
    let raws = scored.iter().map(Scored::raw);
    let range = raws.clone().fold(f64::NEG_INFINITY, f64::max) - raws.fold(f64::INFINITY, f64::min);
    // Strictly below the step, with room for rounding: the order already holds unscaled.
    let scale = if range <= 0.0 || !step.is_finite() || range < step * (1.0 - 1e-9) {
        1.0
    } else {
        0.5 * step / range
    };
    for s in scored.iter_mut() {
        for v in s.tiebreaks.values_mut() {
            *v *= scale;
        }
        s.score = s.base + s.raw();
    }
    scale
}

/// Rank one prompt's responses.
pub fn rank_prompt(p: &RankPrompt, cfg: &Ranking, summary: &mut RankSummary) -> PromptRanking {
    summary.prompts += 1;
    let complete: Vec<&RankCandidate> = p
        .candidates
        .iter()
        .filter(|c| c.outcomes.len() as i64 >= p.test_programs.max(1))
        .collect();
    summary.responses_incomplete += p.candidates.len() - complete.len();
    let role_level = cfg.teacher_epsilon > 0.0;

    let outcomes: Vec<Outcome> = complete
        .iter()
        .map(|c| aggregate_outcome(&c.outcomes, c.tests_passed, c.tests_total))
        .collect();
    let shortest_pass = complete
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == Outcome::Pass)
        .map(|(c, _)| code_of(c).len())
        .filter(|n| *n > 0)
        .min();
    let mut scored: Vec<Scored> = complete
        .iter()
        .zip(&outcomes)
        .map(|(c, &outcome)| {
            let mut tiebreaks = BTreeMap::new();
            let mut put = |name: &'static str, v: f64| {
                if v != 0.0 {
                    tiebreaks.insert(name, v);
                }
            };
            let teacher = c.role == ModelRole::Teacher;
            if teacher {
                put("teacher", cfg.teacher_epsilon);
                put(
                    "prior",
                    cfg.teacher_prior.get(&c.model).copied().unwrap_or(0.0),
                );
            }
            let code = code_of(c);
            let truncated = c.finish_reason.as_deref() == Some("length");
            put(
                "truncated",
                weight(cfg, "truncated") * f64::from(u8::from(truncated)),
            );
            put(
                "no_code",
                weight(cfg, "no_code") * f64::from(u8::from(code.trim().is_empty())),
            );
            if let Some(shortest) = shortest_pass
                && code.len() > shortest
            {
                // log2 of how many times longer than the shortest passing response; 8x -> 1.
                let feature = ((code.len() as f64 / shortest as f64).log2() / 3.0).min(1.0);
                put("length", weight(cfg, "length") * feature);
            }
            let lint = (lint_findings(code) as f64 / 5.0).min(1.0);
            put("lint", weight(cfg, "lint") * lint);
            let mut notes = Map::new();
            if outcome == Outcome::Partial
                && let Some(limit) = limits_hit(&c.outcomes)
            {
                notes.insert("limit".into(), json!(limit));
            }
            Scored {
                response_id: c.response_id,
                outcome,
                tests_passed: c.tests_passed,
                tests_total: c.tests_total,
                teacher,
                class: outcome_class(outcome),
                base: score_of(outcome, c.tests_passed, c.tests_total, cfg),
                tiebreaks,
                notes,
                score: 0.0,
                code,
            }
        })
        .collect();
    scored.sort_by(|a, b| order(a, b, role_level, false));
    // Duplicates: a response (near-)identical to a better-ranked one is penalised.
    let w_dup = weight(cfg, "duplicate");
    if w_dup != 0.0 {
        let prints: Vec<heuristics::Fingerprint> = scored
            .iter()
            .map(|s| heuristics::Fingerprint::new(s.code))
            .collect();
        for i in 1..scored.len() {
            if !scored[i].code.is_empty() && (0..i).any(|j| prints[j].near_duplicate(&prints[i])) {
                scored[i].tiebreaks.insert("duplicate", w_dup);
            }
        }
    }
    let scale = derive_scores(&mut scored);
    scored.sort_by(|a, b| order(a, b, role_level, true));
    debug_assert!(
        scored.windows(2).all(|w| w[0].score >= w[1].score),
        "score order is rank order"
    );
    let mut tiers = vec![0i64; scored.len()];
    for (i, w) in scored.windows(2).enumerate() {
        let tied = same_pair_key(&w[0], &w[1], role_level)
            && (!cfg.heuristic_pairs || w[0].score == w[1].score);
        tiers[i + 1] = tiers[i] + i64::from(!tied);
    }
    let drop_reason = drop_reason(&scored, &tiers, cfg, complete.len() < p.candidates.len());
    match drop_reason {
        Some(r) => *summary.dropped.entry(r).or_default() += 1,
        None => {
            summary.kept += 1;
            summary.responses += scored.len();
        }
    }
    PromptRanking {
        prompt_id: p.prompt_id,
        drop_reason: drop_reason.map(str::to_owned),
        ranked: scored
            .into_iter()
            .zip(tiers)
            .map(|(s, tier)| {
                let mut parts = Map::new();
                parts.insert("outcome".into(), json!(s.base));
                for (name, v) in &s.tiebreaks {
                    parts.insert((*name).into(), json!(v));
                }
                if scale < 1.0 && !s.tiebreaks.is_empty() {
                    parts.insert("tiebreak_scale".into(), json!(format!("x{scale:.6}")));
                }
                parts.extend(s.notes);
                ScoredResponse {
                    response_id: s.response_id,
                    score: s.score,
                    tier,
                    outcome: s.outcome,
                    tests_passed: s.tests_passed,
                    tests_total: s.tests_total,
                    components: Value::Object(parts),
                }
            })
            .collect(),
    }
}

fn drop_reason(
    scored: &[Scored],
    tiers: &[i64],
    cfg: &Ranking,
    incomplete: bool,
) -> Option<&'static str> {
    let f = &cfg.filters;
    if scored.is_empty() && incomplete {
        return Some(DROP_INCOMPLETE);
    }
    if f.no_pass && !scored.iter().any(|s| s.outcome == Outcome::Pass) {
        return Some(DROP_NO_PASS);
    }
    if f.teacher_below_student {
        let best = |teacher: bool| {
            scored
                .iter()
                .filter(|s| s.teacher == teacher)
                .map(|s| s.score)
                .reduce(f64::max)
        };
        if let (Some(t), Some(s)) = (best(true), best(false))
            && t < s
        {
            return Some(DROP_TEACHER_BELOW_STUDENT);
        }
    }
    if f.all_equal && tiers.windows(2).all(|w| w[0] == w[1]) {
        return Some(DROP_ALL_EQUAL);
    }
    None
}

/// Rank every prompt.
pub fn rank_all(inputs: &[RankPrompt], cfg: &Ranking) -> (Vec<PromptRanking>, RankSummary) {
    let mut summary = RankSummary::default();
    let rankings = inputs
        .iter()
        .map(|p| rank_prompt(p, cfg, &mut summary))
        .collect();
    (rankings, summary)
}

#[cfg(test)]
mod tests;
