//! An experiment's results (`results.json`, schema [`SCHEMA_VERSION`]): per arm and round the
//! figures of every seed and their mean and standard deviation, the base's figures, and the
//! examples where the method (the first arm) turned a wrong answer of the base right; and the
//! page made from them (`rrtf_report::experiment`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rrtf_config::{ExperimentConfig, Profile};
use rrtf_report::experiment::{ExperimentPage, Line, PageExample};
use rrtf_report::table::fmt_metric;
use rrtf_store::TrainingCurves;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Plan, UnitPlan};
use crate::sweep::{VariantResult, metrics_of};
use crate::{PipelineError, Result};

/// Bumped when a field of [`ExperimentResults`] changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Curves keep at most this many training points (evenly spaced, the last one included).
const CURVE_POINTS: usize = 100;

/// A figure over seeds: its mean, sample standard deviation (none for one seed) and the value
/// of each seed, in the experiment's seed order (`null` where a seed has none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub per_seed: Vec<Option<f64>>,
}

impl Stat {
    pub fn of(values: Vec<Option<f64>>) -> Stat {
        let known: Vec<f64> = values.iter().flatten().copied().collect();
        let n = known.len() as f64;
        let mean = (!known.is_empty()).then(|| known.iter().sum::<f64>() / n);
        let std = mean
            .filter(|_| known.len() > 1)
            .map(|m| (known.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt());
        Stat {
            mean,
            std,
            per_seed: values,
        }
    }
}

/// One trained model: an arm, a round, a seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub seed: u64,
    /// The trained model (HF layout).
    pub model_dir: PathBuf,
    /// The model it was trained from (and sampled as the round's student).
    pub student: PathBuf,
    /// The project database holding its runs, and its round config.
    pub db: PathBuf,
    pub config: PathBuf,
    pub config_hash: String,
    pub pass_at_k: BTreeMap<String, f64>,
    /// The profile's sampled evaluation (`sampled_samples` completions per problem at
    /// `sampled_temperature`): pass@k per k; empty when the profile asks for none.
    #[serde(default)]
    pub sampled_pass_at_k: BTreeMap<String, f64>,
    pub eval_problems: Option<u64>,
    pub train_loss: Option<f64>,
    pub eval_loss: Option<f64>,
    pub preference_accuracy: Option<f64>,
    pub steps: i64,
    pub groups: Option<u64>,
    /// Rank, export, training and evaluation (the data stages are shared and not counted).
    pub seconds: Option<f64>,
    /// `ran` now, or `skipped` (finished by an earlier invocation).
    pub status: String,
    /// Training loss (step, value), at most 100 points, and held-out loss per evaluation.
    pub train_curve: Vec<(i64, f64)>,
    pub eval_curve: Vec<(i64, f64)>,
}

/// One cell of the table: an arm after a round, over seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub arm: String,
    pub round: u32,
    pub pass_at_1: Stat,
    /// Every k the evaluation estimated (`pass@1` included).
    pub pass_at_k: BTreeMap<String, Stat>,
    /// The sampled evaluation's pass@k over seeds (empty without one).
    #[serde(default)]
    pub sampled_pass_at_k: BTreeMap<String, Stat>,
    pub train_loss: Stat,
    pub eval_loss: Stat,
    pub preference_accuracy: Stat,
    pub seconds: Stat,
    pub runs: Vec<RunResult>,
}

/// The base student, as every arm starts from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaseResult {
    pub model_dir: PathBuf,
    pub seed: u64,
    pub epochs: u32,
    /// What it was trained on, and how many of the pool's first problems were left out of it.
    #[serde(default)]
    pub corpus: PathBuf,
    #[serde(default)]
    pub holdout_pool_lines: u64,
    pub pass_at_k: BTreeMap<String, f64>,
    #[serde(default)]
    pub sampled_pass_at_k: BTreeMap<String, f64>,
    pub outcomes: BTreeMap<String, usize>,
    pub problems: Option<u64>,
    pub train_loss: Option<f64>,
    pub eval_loss: Option<f64>,
    pub steps: i64,
    /// Wall seconds of its training, when this experiment trained it.
    pub train_seconds: Option<f64>,
    pub eval_seconds: Option<f64>,
    pub train_curve: Vec<(i64, f64)>,
    pub eval_curve: Vec<(i64, f64)>,
}

/// A benchmark problem the base failed and the method's model passed (or the reverse).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub round: u32,
    pub task_id: String,
    pub prompt: String,
    pub base_completion: String,
    pub base_outcome: String,
    pub completion: String,
    pub outcome: String,
}

/// How the method's answers changed against the base's, per round (first seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    pub round: u32,
    pub wrong_to_right: usize,
    pub right_to_wrong: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Examples {
    /// The method's arm (the first) and the seed compared.
    pub arm: String,
    pub seed: u64,
    pub changes: Vec<Changes>,
    /// Up to five per round, wrong to right.
    pub examples: Vec<Example>,
}

/// `results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResults {
    pub schema_version: u32,
    pub experiment: String,
    pub config: PathBuf,
    /// SHA-256 of the experiment file.
    pub config_hash: String,
    pub revision: String,
    pub profile: String,
    pub profile_values: Profile,
    pub seed: u64,
    pub seeds: Vec<u64>,
    pub rounds: u32,
    pub arms: Vec<String>,
    pub base: BaseResult,
    /// Arm-major, then round.
    pub cells: Vec<CellResult>,
    pub examples: Examples,
    /// Wall seconds of the invocation that wrote this file (skipped units cost nothing).
    pub seconds: f64,
}

impl ExperimentResults {
    pub fn cell(&self, arm: &str, round: u32) -> Option<&CellResult> {
        self.cells.iter().find(|c| c.arm == arm && c.round == round)
    }
}

/// A sweep that ran for the experiment: its unit, its variants and its database's curves.
pub struct UnitOutcome {
    pub unit: UnitPlan,
    pub variants: Vec<VariantResult>,
    pub curves: Vec<TrainingCurves>,
    /// The sampled evaluation's `rrtf --json eval` report per arm (empty without one).
    pub sampled: BTreeMap<String, Value>,
}

/// What [`assemble`] reads.
pub struct Inputs<'a> {
    pub exp: &'a ExperimentConfig,
    pub plan: &'a Plan,
    pub revision: &'a str,
    /// The base's `rrtf --json eval` report.
    pub base_eval: &'a Value,
    /// Its sampled evaluation's report, when the profile asks for one.
    pub base_sampled: Option<&'a Value>,
    pub base_curves: Option<&'a TrainingCurves>,
    pub units: &'a [UnitOutcome],
    /// Completion rows (`rrtf eval --out`) of the base and of the method per round.
    pub base_rows: &'a Path,
    pub method_rows: &'a [(u32, PathBuf)],
    pub seconds: f64,
}

fn thin(points: Vec<(i64, f64)>) -> Vec<(i64, f64)> {
    if points.len() <= CURVE_POINTS {
        return points;
    }
    let n = points.len();
    (0..CURVE_POINTS)
        .map(|i| points[(i * (n - 1)) / (CURVE_POINTS - 1)])
        .collect()
}

fn run_result(u: &UnitOutcome, v: &VariantResult) -> RunResult {
    let model_dir = v.output_dir.clone().unwrap_or_default();
    let want = model_dir.display().to_string();
    let curves = u.curves.iter().rev().find(|c| c.output_dir == want);
    let m = v.metrics.clone().unwrap_or_default();
    RunResult {
        seed: u.unit.seed,
        student: u.unit.student.clone(),
        db: u.unit.db.clone(),
        config: v.config.clone(),
        config_hash: v.config_hash.clone(),
        pass_at_k: m.pass_at_k.unwrap_or_default(),
        sampled_pass_at_k: u
            .sampled
            .get(&v.id)
            .map_or_else(BTreeMap::new, pass_at_k_of),
        eval_problems: m.eval_problems,
        train_loss: m.train_loss,
        eval_loss: m.eval_loss,
        preference_accuracy: m.eval_preference_accuracy,
        steps: m.steps,
        groups: m.groups,
        seconds: v.seconds,
        status: v.status.map_or("not run", |s| s.name()).to_owned(),
        train_curve: curves.map_or_else(Vec::new, |c| thin(c.series("train", "loss"))),
        eval_curve: curves.map_or_else(Vec::new, |c| c.series("eval", "loss")),
        model_dir,
    }
}

/// The pass@k figures of an `rrtf --json eval` report.
fn pass_at_k_of(report: &Value) -> BTreeMap<String, f64> {
    serde_json::from_value(report["pass_at_k"].clone()).unwrap_or_default()
}

/// Every key of `maps`, once, in the order of their k (`pass@1`, `pass@5`, `pass@10`).
fn keys<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, f64>>) -> Vec<String> {
    let mut keys: Vec<String> = maps
        .flat_map(|m| m.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    keys.sort_by_key(|k| {
        let n = k.rsplit('@').next().and_then(|n| n.parse::<u64>().ok());
        (n, k.clone())
    });
    keys
}

/// One completion row of `rrtf eval --out`.
#[derive(Deserialize)]
struct Row {
    task_id: String,
    #[serde(default)]
    completion: Option<String>,
    outcome: String,
}

fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PipelineError::io(format!("reading {}", path.display()), e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| {
                PipelineError::Failed(format!("{}: an unreadable row: {e}", path.display()))
            })
        })
        .collect()
}

/// The benchmark prompts by task id.
fn prompts(benchmark: &Path) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (_, row) in rrtf_data::read_rows(benchmark)? {
        let Ok(row) = row else { continue };
        if let (Some(id), Some(p)) = (row["task_id"].as_str(), row["prompt"].as_str()) {
            out.insert(id.to_owned(), p.to_owned());
        }
    }
    Ok(out)
}

fn examples(i: &Inputs) -> Result<Examples> {
    let base = read_rows(i.base_rows)?;
    let bench = i
        .exp
        .round
        .round
        .benchmark
        .as_deref()
        .expect("checked by ExperimentConfig::load");
    let prompts = prompts(bench)?;
    let mut changes = Vec::new();
    let mut examples = Vec::new();
    for (round, path) in i.method_rows {
        let rows = read_rows(path)?;
        let (mut up, mut down, mut shown) = (0, 0, 0);
        for (b, m) in base.iter().zip(&rows) {
            if b.task_id != m.task_id {
                continue;
            }
            match (b.outcome == "pass", m.outcome == "pass") {
                (false, true) => {
                    up += 1;
                    if shown < 5 {
                        shown += 1;
                        examples.push(Example {
                            round: *round,
                            task_id: m.task_id.clone(),
                            prompt: prompts.get(&m.task_id).cloned().unwrap_or_default(),
                            base_completion: b.completion.clone().unwrap_or_default(),
                            base_outcome: b.outcome.clone(),
                            completion: m.completion.clone().unwrap_or_default(),
                            outcome: m.outcome.clone(),
                        });
                    }
                }
                (true, false) => down += 1,
                _ => {}
            }
        }
        changes.push(Changes {
            round: *round,
            wrong_to_right: up,
            right_to_wrong: down,
        });
    }
    Ok(Examples {
        arm: i.plan.arms[0].clone(),
        seed: i.plan.seeds[0],
        changes,
        examples,
    })
}

/// The results of a finished experiment from what its sweeps returned.
pub fn assemble(i: &Inputs) -> Result<ExperimentResults> {
    let plan = i.plan;
    let mut cells = Vec::new();
    for arm in &plan.arms {
        for round in 1..=plan.rounds {
            let runs: Vec<RunResult> = plan
                .seeds
                .iter()
                .filter_map(|&seed| {
                    let u = i.units.iter().find(|u| {
                        u.unit.seed == seed && u.unit.round == round && u.unit.arms.contains(arm)
                    })?;
                    let v = u.variants.iter().find(|v| &v.id == arm)?;
                    Some(run_result(u, v))
                })
                .collect();
            let stat =
                |f: &dyn Fn(&RunResult) -> Option<f64>| Stat::of(runs.iter().map(f).collect());
            let ks = keys(runs.iter().map(|r| &r.pass_at_k));
            let sampled_ks = keys(runs.iter().map(|r| &r.sampled_pass_at_k));
            cells.push(CellResult {
                arm: arm.clone(),
                round,
                pass_at_1: stat(&|r| r.pass_at_k.get("pass@1").copied()),
                pass_at_k: ks
                    .iter()
                    .map(|k| (k.clone(), stat(&|r| r.pass_at_k.get(k).copied())))
                    .collect(),
                sampled_pass_at_k: sampled_ks
                    .iter()
                    .map(|k| (k.clone(), stat(&|r| r.sampled_pass_at_k.get(k).copied())))
                    .collect(),
                train_loss: stat(&|r| r.train_loss),
                eval_loss: stat(&|r| r.eval_loss),
                preference_accuracy: stat(&|r| r.preference_accuracy),
                seconds: stat(&|r| r.seconds),
                runs,
            });
        }
    }
    let ev = i.base_eval;
    let bm = i.base_curves.map(metrics_of).unwrap_or_default();
    let train_seconds = std::fs::read_to_string(plan.base.dir.join("train.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["experiment_seconds"].as_f64());
    let base = BaseResult {
        model_dir: plan.base.model.clone(),
        seed: plan.base.seed,
        epochs: plan.base.epochs,
        corpus: plan.base.corpus.clone(),
        holdout_pool_lines: plan.base.holdout_pool_lines,
        pass_at_k: pass_at_k_of(ev),
        sampled_pass_at_k: i.base_sampled.map_or_else(BTreeMap::new, pass_at_k_of),
        outcomes: serde_json::from_value(ev["outcomes"].clone()).unwrap_or_default(),
        problems: ev["problems"].as_u64(),
        train_loss: bm.train_loss,
        eval_loss: bm.eval_loss,
        steps: bm.steps,
        train_seconds,
        eval_seconds: ev["seconds"].as_f64(),
        train_curve: i
            .base_curves
            .map_or_else(Vec::new, |c| thin(c.series("train", "loss"))),
        eval_curve: i
            .base_curves
            .map_or_else(Vec::new, |c| c.series("eval", "loss")),
    };
    Ok(ExperimentResults {
        schema_version: SCHEMA_VERSION,
        experiment: plan.experiment.clone(),
        config: plan.config.clone(),
        config_hash: i.exp.file_hash.clone(),
        revision: i.revision.to_owned(),
        profile: plan.profile.clone(),
        profile_values: plan.profile_values.clone(),
        seed: plan.seed,
        seeds: plan.seeds.clone(),
        rounds: plan.rounds,
        arms: plan.arms.clone(),
        base,
        cells,
        examples: examples(i)?,
        seconds: i.seconds,
    })
}

/// `mean ± std` (or the mean alone for one seed).
pub fn mean_std(s: &Stat) -> String {
    match (s.mean, s.std) {
        (Some(m), Some(sd)) => format!("{m:.3} ± {sd:.3}"),
        (m, _) => fmt_metric(m),
    }
}

/// The page (`report.html`).
pub fn page(r: &ExperimentResults) -> String {
    let base_pass = r.base.pass_at_k.get("pass@1").copied();
    let mut headers = vec!["arm".to_owned()];
    headers.extend((1..=r.rounds).map(|n| format!("round {n} pass@1")));
    // The sampled evaluation's pass@k (each k, each round), when the profile asked for one.
    let sampled_ks = keys(std::iter::once(&r.base.sampled_pass_at_k));
    let temperature = r
        .profile_values
        .sampled_eval()
        .map_or(String::new(), |e| format!(", T={}", e.temperature));
    for n in 1..=r.rounds {
        headers.extend(
            sampled_ks
                .iter()
                .map(|k| format!("round {n} {k} (sampled{temperature})")),
        );
    }
    headers.extend(["held-out loss (last round)", "pref. acc. (last round)"].map(str::to_owned));
    let mut table = rrtf_report::Table::new(headers);
    table.push(
        std::iter::once("base".to_owned())
            .chain((1..=r.rounds).map(|_| fmt_metric(base_pass)))
            .chain((1..=r.rounds).flat_map(|_| {
                sampled_ks
                    .iter()
                    .map(|k| fmt_metric(r.base.sampled_pass_at_k.get(k).copied()))
            }))
            .chain([fmt_metric(r.base.eval_loss), "n/a".to_owned()]),
    );
    for arm in &r.arms {
        let mut row = vec![arm.clone()];
        for round in 1..=r.rounds {
            row.push(
                r.cell(arm, round)
                    .map_or("n/a".into(), |c| mean_std(&c.pass_at_1)),
            );
        }
        for round in 1..=r.rounds {
            for k in &sampled_ks {
                row.push(
                    r.cell(arm, round)
                        .and_then(|c| c.sampled_pass_at_k.get(k))
                        .map_or("n/a".into(), mean_std),
                );
            }
        }
        let last = r.cell(arm, r.rounds);
        row.push(last.map_or("n/a".into(), |c| mean_std(&c.eval_loss)));
        row.push(last.map_or("n/a".into(), |c| mean_std(&c.preference_accuracy)));
        table.push(row);
    }
    // Round 0 is the base.
    let start: Vec<(f64, f64)> = base_pass.map(|b| (0.0, b)).into_iter().collect();
    let per_round: Vec<Line> =
        r.arms
            .iter()
            .map(|arm| {
                let mut pts = start.clone();
                pts.extend((1..=r.rounds).filter_map(|round| {
                    Some((f64::from(round), r.cell(arm, round)?.pass_at_1.mean?))
                }));
                (arm.clone(), pts)
            })
            .collect();
    let curves: Vec<(String, Vec<Line>)> = r
        .arms
        .iter()
        .map(|arm| {
            let lines = (1..=r.rounds)
                .filter_map(|round| {
                    let run = r.cell(arm, round)?.runs.first()?;
                    let pts = run
                        .train_curve
                        .iter()
                        .map(|&(s, v)| (s as f64, v))
                        .collect();
                    Some((format!("round {round} (seed {})", run.seed), pts))
                })
                .collect();
            (arm.clone(), lines)
        })
        .collect();
    let examples: Vec<PageExample> = r
        .examples
        .examples
        .iter()
        .map(|e| PageExample {
            round: e.round,
            task_id: &e.task_id,
            prompt: &e.prompt,
            before: &e.base_completion,
            before_outcome: &e.base_outcome,
            after: &e.completion,
        })
        .collect();
    let changes: Vec<(u32, usize, usize)> = r
        .examples
        .changes
        .iter()
        .map(|c| (c.round, c.wrong_to_right, c.right_to_wrong))
        .collect();
    rrtf_report::experiment::page(&ExperimentPage {
        name: &r.experiment,
        profile: &r.profile,
        seeds: &r.seeds,
        revision: &r.revision,
        base_pass_at_1: base_pass,
        table: &table,
        per_round: &per_round,
        curves: &curves,
        method: &r.examples.arm,
        changes: &changes,
        examples: &examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_over_seeds() {
        let s = Stat::of(vec![Some(0.25), Some(0.75), None]);
        assert_eq!(s.mean, Some(0.5));
        let sd = s.std.unwrap();
        assert!((sd - 0.353_553_390_593_273_8).abs() < 1e-12, "{sd}");
        assert_eq!(
            s.per_seed.len(),
            3,
            "the seed without a value stays, as null"
        );
        let one = Stat::of(vec![Some(0.4)]);
        assert_eq!(
            (one.mean, one.std),
            (Some(0.4), None),
            "no spread from one seed"
        );
        assert_eq!(mean_std(&one), "0.4000");
        assert_eq!(mean_std(&s), "0.500 ± 0.354");
        assert_eq!(Stat::of(vec![]).mean, None);
    }

    #[test]
    fn curves_are_thinned_to_a_hundred_points_keeping_both_ends() {
        let pts: Vec<(i64, f64)> = (1..=1000).map(|s| (s, s as f64)).collect();
        let t = thin(pts);
        assert_eq!(t.len(), CURVE_POINTS);
        assert_eq!((t[0].0, t[CURVE_POINTS - 1].0), (1, 1000));
        assert_eq!(thin(vec![(1, 2.0)]), vec![(1, 2.0)]);
    }
}
