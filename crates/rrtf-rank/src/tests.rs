//! Data-driven ranking rules: each case lists responses and the expected order, scores and drop.

use rrtf_config::Ranking;
use rrtf_types::{ModelRole, Outcome, RankCandidate, RankPrompt};

use crate::*;

const T: ModelRole = ModelRole::Teacher;
const S: ModelRole = ModelRole::Student;

fn cand(
    id: i64,
    role: ModelRole,
    outcome: Outcome,
    passed: i64,
    total: i64,
    code: &str,
) -> RankCandidate {
    RankCandidate {
        response_id: id,
        model: if role == T {
            "gpt".into()
        } else {
            "student".into()
        },
        role,
        finish_reason: Some("stop".into()),
        raw_text: code.into(),
        code: Some(code.into()),
        outcomes: vec![outcome],
        tests_passed: passed,
        tests_total: total,
    }
}

fn prompt(candidates: Vec<RankCandidate>) -> RankPrompt {
    RankPrompt {
        prompt_id: 7,
        test_programs: 1,
        candidates,
    }
}

/// A config with no heuristic weights: scores are outcome + teacher epsilon only.
fn plain() -> Ranking {
    let mut c = Ranking::default();
    c.weights.clear();
    c.teacher_epsilon = 0.01;
    c
}

fn run(p: &RankPrompt, cfg: &Ranking) -> (Vec<i64>, Vec<f64>, Option<String>) {
    let mut s = RankSummary::default();
    let r = rank_prompt(p, cfg, &mut s);
    let ids = r.ranked.iter().map(|x| x.response_id).collect();
    let scores = r
        .ranked
        .iter()
        .map(|x| (x.score * 1e6).round() / 1e6)
        .collect();
    (ids, scores, r.drop_reason)
}

#[test]
fn ranking_rules() {
    let cfg = plain();
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<RankCandidate>, Vec<i64>, Vec<f64>, Option<&str>)> = vec![
        (
            "outcome order: compile < runtime < failing < partial < pass",
            vec![
                cand(1, S, Outcome::CompileError, 0, 0, "x"),
                cand(2, S, Outcome::RuntimeError, 0, 4, "y"),
                cand(3, S, Outcome::TestFailure, 0, 4, "z"),
                cand(4, S, Outcome::Partial, 2, 4, "w"),
                cand(5, S, Outcome::Pass, 4, 4, "v"),
            ],
            vec![5, 4, 3, 2, 1],
            vec![1.0, 0.35, -0.3, -0.6, -1.0],
            None,
        ),
        (
            "teacher above student within one outcome, by epsilon",
            vec![
                cand(1, S, Outcome::Pass, 1, 1, "a"),
                cand(2, T, Outcome::Pass, 1, 1, "b"),
                cand(3, S, Outcome::TestFailure, 0, 1, "c"),
            ],
            vec![2, 1, 3],
            vec![1.01, 1.0, -0.3],
            None,
        ),
        (
            "exact ties break by response id; all equal is dropped",
            vec![
                cand(9, S, Outcome::Pass, 1, 1, "a"),
                cand(4, S, Outcome::Pass, 1, 1, "b"),
            ],
            vec![4, 9],
            vec![1.0, 1.0],
            Some(DROP_ALL_EQUAL),
        ),
        (
            "teacher below student is dropped",
            vec![
                cand(1, T, Outcome::TestFailure, 0, 1, "a"),
                cand(2, S, Outcome::Pass, 1, 1, "b"),
            ],
            vec![2, 1],
            vec![1.0, -0.29],
            Some(DROP_TEACHER_BELOW_STUDENT),
        ),
        (
            "no passing response is dropped",
            vec![
                cand(1, T, Outcome::Partial, 1, 2, "a"),
                cand(2, S, Outcome::TestFailure, 0, 2, "b"),
            ],
            vec![1, 2],
            vec![0.36, -0.3],
            Some(DROP_NO_PASS),
        ),
        (
            "partial passes order by ratio",
            vec![
                cand(1, S, Outcome::Partial, 1, 4, "a"),
                cand(2, S, Outcome::Partial, 3, 4, "b"),
                cand(3, T, Outcome::Pass, 4, 4, "c"),
            ],
            vec![3, 2, 1],
            vec![1.01, 0.675, 0.025],
            None,
        ),
    ];
    for (name, candidates, ids, scores, drop) in cases {
        let (got_ids, got_scores, got_drop) = run(&prompt(candidates), &cfg);
        assert_eq!(got_ids, ids, "{name}");
        assert_eq!(got_scores, scores, "{name}");
        assert_eq!(got_drop.as_deref(), drop, "{name}");
    }
}

#[test]
fn filters_can_be_turned_off() {
    let mut cfg = plain();
    cfg.filters.no_pass = false;
    cfg.filters.all_equal = false;
    cfg.filters.teacher_below_student = false;
    let p = prompt(vec![
        cand(1, T, Outcome::TestFailure, 0, 1, "a"),
        cand(2, S, Outcome::TestFailure, 0, 1, "b"),
    ]);
    let (_, _, drop) = run(&p, &cfg);
    assert_eq!(drop, None);
}

#[test]
fn heuristic_components_are_stored_and_explain_the_score() {
    let cfg = Ranking::default();
    let mut truncated = cand(1, T, Outcome::Pass, 1, 1, "def f():\n    return 1\n");
    truncated.finish_reason = Some("length".into());
    let no_code = RankCandidate {
        code: Some(String::new()),
        ..cand(2, T, Outcome::CompileError, 0, 0, "Sorry, I cannot.")
    };
    let never_extracted = RankCandidate {
        code: None,
        ..cand(6, S, Outcome::TestFailure, 0, 1, "def f():\n    return 2\n")
    };
    let long = cand(
        3,
        S,
        Outcome::Pass,
        1,
        1,
        &format!("def f():\n{}    return 1\n", "    x = 1\n".repeat(30)),
    );
    let dup = cand(4, S, Outcome::Pass, 1, 1, "def f():\n  return 1");
    let short = cand(5, S, Outcome::Pass, 1, 1, "def f():\n    return 1\n");
    let mut s = RankSummary::default();
    let r = rank_prompt(
        &prompt(vec![truncated, no_code, long, dup, short, never_extracted]),
        &cfg,
        &mut s,
    );
    let by_id = |id: i64| r.ranked.iter().find(|x| x.response_id == id).unwrap();
    let c = |id: i64, name: &str| by_id(id).components.get(name).and_then(|v| v.as_f64());
    assert_eq!(c(1, "truncated"), Some(cfg.weights["truncated"]));
    assert_eq!(c(2, "no_code"), Some(cfg.weights["no_code"]));
    assert_eq!(
        c(6, "no_code"),
        None,
        "no extraction stored yet: judged on the raw text"
    );
    assert!(
        c(3, "length").unwrap() < 0.0,
        "longer than the shortest pass: {:?}",
        by_id(3).components
    );
    assert_eq!(
        c(4, "length"),
        None,
        "the shortest pass has no length penalty"
    );
    assert!(c(5, "length").unwrap() < 0.0);
    // 1, 4 and 5 are the same code modulo whitespace: the teacher's 1 ranks first, so 4 and 5
    // are its duplicates.
    assert_eq!(r.ranked[0].response_id, 1);
    assert_eq!(c(1, "duplicate"), None);
    assert_eq!(c(4, "duplicate"), Some(cfg.weights["duplicate"]));
    assert_eq!(c(5, "duplicate"), Some(cfg.weights["duplicate"]));
    for x in &r.ranked {
        let sum: f64 = x
            .components
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| v.as_f64())
            .sum();
        assert!(
            (sum - x.score).abs() < 1e-12,
            "components must add up to the score: {x:?}"
        );
    }
    assert!(r.ranked.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn responses_missing_executions_are_left_out() {
    let mut p = prompt(vec![
        cand(1, T, Outcome::Pass, 1, 1, "a"),
        cand(2, S, Outcome::TestFailure, 0, 1, "b"),
    ]);
    p.test_programs = 2;
    p.candidates[0].outcomes.push(Outcome::Pass);
    let mut s = RankSummary::default();
    let r = rank_prompt(&p, &plain(), &mut s);
    assert_eq!(r.ranked.len(), 1);
    assert_eq!(s.responses_incomplete, 1);
}

#[test]
fn ranking_is_deterministic_whatever_the_input_order() {
    let cands = vec![
        cand(1, S, Outcome::Pass, 1, 1, "a"),
        cand(2, T, Outcome::Pass, 1, 1, "b"),
        cand(3, S, Outcome::Pass, 1, 1, "c"),
        cand(4, T, Outcome::RuntimeError, 0, 1, "d"),
    ];
    let expected = run(&prompt(cands.clone()), &plain());
    let mut rev = cands;
    rev.reverse();
    assert_eq!(run(&prompt(rev), &plain()), expected);
}

#[test]
fn aggregate_outcomes() {
    use Outcome::*;
    let cases: &[(&[Outcome], i64, i64, Outcome)] = &[
        (&[Pass], 3, 3, Pass),
        (&[Pass, Pass], 5, 5, Pass),
        (&[Pass, TestFailure], 3, 5, Partial),
        (&[Pass, CompileError], 3, 3, CompileError),
        (&[Timeout, TestFailure], 0, 5, Timeout),
        (&[Pass], 0, 0, TestFailure),
        (&[], 0, 0, Crashed),
        (&[Crashed], 0, 1, Crashed),
    ];
    for (outs, p, t, want) in cases {
        assert_eq!(aggregate_outcome(outs, *p, *t), *want, "{outs:?} {p}/{t}");
    }
}

#[test]
fn ranker_hash_follows_the_config() {
    let a = ranker_ref(&Ranking::default());
    let mut cfg = Ranking::default();
    assert_eq!(ranker_ref(&cfg), a);
    cfg.teacher_epsilon = 0.02;
    assert_ne!(ranker_ref(&cfg).hash, a.hash);
}

#[test]
fn lint_and_duplicates() {
    assert_eq!(lint_findings("def f():\n    return 1\n"), 0);
    assert_eq!(
        lint_findings("from os import *\ntry:\n    pass\nexcept:\n    eval('1')\n"),
        3
    );
    assert_eq!(lint_findings("def f():\n\tif x:\n  return 1\n"), 1);
    assert!(near_duplicate("a  b\nc", "a b c"));
    assert!(!near_duplicate("return a + b", "return a - b * c"));
}

/// A candidate whose code draws every heuristic penalty: truncated, a lint finding per kind,
/// and far longer than the shortest pass.
fn penalised(id: i64, role: ModelRole, outcome: Outcome, passed: i64, total: i64) -> RankCandidate {
    let code = format!(
        "from os import *\ndef f(x):\n    try:\n        return eval('x')\n    except:\n        pass\n{}",
        "    y = 1\n".repeat(80)
    );
    RankCandidate {
        finish_reason: Some("length".into()),
        ..cand(id, role, outcome, passed, total, &code)
    }
}

/// The largest teacher bonus the config accepts: epsilon, a prior just below what is left.
fn generous() -> Ranking {
    let mut cfg = Ranking::default();
    cfg.teacher_prior.insert("gpt".into(), 0.009);
    cfg
}

/// Issue 15 point 1: outcome class, then pass ratio, then role, then heuristics, for 1 to 200
/// tests; scores agree with the order.
#[test]
fn order_is_lexicographic_whatever_the_test_count() {
    let mut cfg = generous();
    cfg.filters.teacher_below_student = false;
    cfg.filters.no_pass = false;
    for n in 1..=200i64 {
        // (name, better, worse): the better response is a penalised student, the worse one a
        // clean teacher with the prior.
        let mut cases: Vec<(String, RankCandidate, RankCandidate)> = vec![
            (
                "pass over a failing teacher".into(),
                penalised(1, S, Outcome::Pass, n, n),
                cand(
                    2,
                    T,
                    Outcome::TestFailure,
                    0,
                    n,
                    "def f(x):\n    return x\n",
                ),
            ),
            (
                "test failure over a runtime error".into(),
                penalised(1, S, Outcome::TestFailure, 0, n),
                cand(
                    2,
                    T,
                    Outcome::RuntimeError,
                    0,
                    n,
                    "def f(x):\n    return x\n",
                ),
            ),
            (
                "timeout over a compile error".into(),
                penalised(1, S, Outcome::Timeout, 0, n),
                cand(
                    2,
                    T,
                    Outcome::CompileError,
                    0,
                    0,
                    "def f(x):\n    return x\n",
                ),
            ),
            (
                "partial 1/n over a failing teacher".into(),
                penalised(1, S, Outcome::Partial, 1, n),
                cand(
                    2,
                    T,
                    Outcome::TestFailure,
                    0,
                    n,
                    "def f(x):\n    return x\n",
                ),
            ),
        ];
        if n >= 2 {
            cases.push((
                format!("pass {n}/{n} over a teacher's partial {}/{n}", n - 1),
                penalised(1, S, Outcome::Pass, n, n),
                cand(
                    2,
                    T,
                    Outcome::Partial,
                    n - 1,
                    n,
                    "def f(x):\n    return x\n",
                ),
            ));
        }
        for k in 1..n.saturating_sub(1) {
            cases.push((
                format!("partial {}/{n} over a teacher's {k}/{n}", k + 1),
                penalised(1, S, Outcome::Partial, k + 1, n),
                cand(2, T, Outcome::Partial, k, n, "def f(x):\n    return x\n"),
            ));
        }
        for (name, better, worse) in cases {
            for input in [
                vec![better.clone(), worse.clone()],
                vec![worse.clone(), better.clone()],
            ] {
                let (ids, scores, _) = run(&prompt(input), &cfg);
                assert_eq!(ids, vec![1, 2], "{name} ({n} tests)");
                assert!(
                    scores[0] > scores[1],
                    "{name} ({n} tests): scores {scores:?} disagree with the order"
                );
            }
        }
    }
}

/// Inside one class and ratio a teacher stays above a student whatever the heuristics, and
/// heuristics order responses of one role.
#[test]
fn role_then_heuristics_inside_one_outcome() {
    let cfg = generous();
    let p = prompt(vec![
        cand(1, S, Outcome::Pass, 3, 3, "def f(x):\n    return x\n"),
        penalised(2, T, Outcome::Pass, 3, 3),
        penalised(3, S, Outcome::Pass, 3, 3),
        cand(
            4,
            S,
            Outcome::TestFailure,
            0,
            3,
            "def g(x):\n    return 0\n",
        ),
    ]);
    let (ids, scores, _) = run(&p, &cfg);
    assert_eq!(ids, vec![2, 1, 3, 4]);
    assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");
}

/// Random prompts under random valid configs: the score order is the rank order, every
/// numeric component adds up to the score, and classes and ratios are never reordered.
#[test]
fn scores_agree_with_the_order_on_random_prompts() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let outcomes = [
        Outcome::CompileError,
        Outcome::RuntimeError,
        Outcome::Timeout,
        Outcome::MemoryLimit,
        Outcome::Crashed,
        Outcome::TestFailure,
        Outcome::Partial,
        Outcome::Pass,
    ];
    for case in 0..2_000 {
        let mut cfg = Ranking {
            teacher_epsilon: [0.0, 0.01, 0.1, 0.5][next(4) as usize],
            ..Ranking::default()
        };
        let budget = if cfg.teacher_epsilon > 0.0 {
            cfg.teacher_epsilon * 0.99
        } else {
            0.3
        };
        for w in cfg.weights.values_mut() {
            *w = -budget / 6.0 * (next(100) as f64 / 100.0);
        }
        cfg.teacher_prior
            .insert("gpt".into(), budget / 6.0 * (next(100) as f64 / 100.0));
        cfg.heuristic_pairs = next(2) == 1;
        let total = 1 + next(200) as i64;
        let candidates: Vec<RankCandidate> = (0..2 + next(8) as i64)
            .map(|id| {
                let outcome = outcomes[next(outcomes.len() as u64) as usize];
                let passed = match outcome {
                    Outcome::Pass => total,
                    Outcome::Partial => 1 + next(total as u64) as i64,
                    _ => 0,
                };
                let role = if next(2) == 0 { T } else { S };
                let code = "    x = 1\n".repeat(1 + next(20) as usize);
                let mut c = cand(id, role, outcome, passed.min(total), total, &code);
                if next(4) == 0 {
                    c.finish_reason = Some("length".into());
                }
                c
            })
            .collect();
        let mut s = RankSummary::default();
        let r = rank_prompt(&prompt(candidates.clone()), &cfg, &mut s);
        let key = |id: i64| {
            let c = candidates.iter().find(|c| c.response_id == id).unwrap();
            let o = aggregate_outcome(&c.outcomes, c.tests_passed, c.tests_total);
            let ratio = if o == Outcome::Partial {
                pass_ratio(c.tests_passed, c.tests_total)
            } else {
                0.0
            };
            (
                outcome_class(o),
                ratio,
                c.role == T && cfg.teacher_epsilon > 0.0,
            )
        };
        for w in r.ranked.windows(2) {
            let (a, b) = (key(w[0].response_id), key(w[1].response_id));
            assert!(
                a.0 > b.0 || (a.0 == b.0 && (a.1 > b.1 || (a.1 == b.1 && a.2 >= b.2))),
                "case {case}: {a:?} ranked above {b:?}"
            );
            assert!(w[0].score >= w[1].score, "case {case}: {w:?}");
            assert!(w[0].tier <= w[1].tier, "case {case}: {w:?}");
            if a != b {
                assert!(w[0].score > w[1].score, "case {case}: {w:?}");
                assert!(w[0].tier < w[1].tier, "case {case}: {w:?}");
            } else if !cfg.heuristic_pairs {
                assert_eq!(w[0].tier, w[1].tier, "case {case}: {w:?}");
            } else {
                assert_eq!(w[0].tier < w[1].tier, w[0].score > w[1].score);
            }
        }
        for x in &r.ranked {
            let sum: f64 = x
                .components
                .as_object()
                .unwrap()
                .values()
                .filter_map(|v| v.as_f64())
                .sum();
            assert!((sum - x.score).abs() < 1e-9, "case {case}: {x:?}");
        }
    }
}

/// Issue 15 point 3: responses that differ only by heuristics tie; alone they are no
/// preference, and a prompt with nothing else is dropped as all equal.
#[test]
fn heuristics_alone_express_no_preference() {
    let cfg = Ranking::default();
    let p = prompt(vec![
        cand(1, S, Outcome::Pass, 2, 2, "def f(x):\n    return x\n"),
        penalised(2, S, Outcome::Pass, 2, 2),
    ]);
    let (ids, scores, drop) = run(&p, &cfg);
    assert_eq!(ids, vec![1, 2], "heuristics still order them");
    assert!(scores[0] > scores[1]);
    assert_eq!(drop.as_deref(), Some(DROP_ALL_EQUAL));
}

#[test]
fn tiers_follow_class_ratio_and_role_or_every_score() {
    let p = prompt(vec![
        cand(1, T, Outcome::Pass, 2, 2, "def f(x):\n    return x\n"),
        penalised(2, T, Outcome::Pass, 2, 2),
        cand(3, S, Outcome::Pass, 2, 2, "def f(x):\n    return x\n"),
        penalised(4, S, Outcome::Pass, 2, 2),
        cand(5, S, Outcome::Partial, 1, 2, "def g(x):\n    return x\n"),
    ]);
    let tiers = |heuristic_pairs: bool| {
        let cfg = Ranking {
            heuristic_pairs,
            ..Ranking::default()
        };
        let r = rank_prompt(&p, &cfg, &mut RankSummary::default());
        let ids: Vec<i64> = r.ranked.iter().map(|x| x.response_id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
        r.ranked.iter().map(|x| x.tier).collect::<Vec<_>>()
    };
    assert_eq!(tiers(false), vec![0, 0, 1, 1, 2]);
    assert_eq!(tiers(true), vec![0, 1, 2, 3, 4]);
}

/// Issue 15 point 9: a run that hit a limit after some tests passed is a partial pass with
/// the limit noted, above a clean failure; with nothing passed it stays in the runtime class.
#[test]
fn a_limit_keeps_the_tests_that_passed_before_it() {
    for limit in [Outcome::Timeout, Outcome::MemoryLimit, Outcome::OutputLimit] {
        let p = prompt(vec![
            cand(1, S, Outcome::TestFailure, 0, 10, "a"),
            cand(2, S, limit, 9, 10, "b"),
            cand(3, S, limit, 0, 10, "c"),
            cand(4, T, Outcome::Pass, 10, 10, "d"),
        ]);
        let mut s = RankSummary::default();
        let r = rank_prompt(&p, &plain(), &mut s);
        let ids: Vec<i64> = r.ranked.iter().map(|x| x.response_id).collect();
        assert_eq!(ids, vec![4, 2, 1, 3], "{limit:?}");
        let cut = &r.ranked[1];
        assert_eq!(cut.outcome, Outcome::Partial);
        assert_eq!((cut.tests_passed, cut.tests_total), (9, 10));
        assert_eq!(cut.components["outcome"], -0.3 + 1.3 * 0.9);
        assert_eq!(cut.components["limit"], limit.as_str(), "{limit:?}");
        assert_eq!(r.ranked[3].outcome, limit);
    }
    // Every counted test passed, but another program hit a limit: still below a pass.
    let mut all_counted = cand(2, S, Outcome::Pass, 4, 4, "b");
    all_counted.outcomes.push(Outcome::Timeout);
    let mut p = prompt(vec![cand(1, S, Outcome::Pass, 4, 4, "a"), all_counted]);
    p.test_programs = 1;
    p.candidates[0].outcomes.push(Outcome::Pass);
    let (ids, scores, _) = run(&p, &plain());
    assert_eq!(ids, vec![1, 2]);
    assert!(scores[0] > scores[1], "{scores:?}");
}
