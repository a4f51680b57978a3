//! Variants of a round's ranking, training and evaluation parameters (`rrtf sweep`), each a
//! recorded run, compared in one table (`table.md`, the summary's `variants`) and one HTML page
//! of plots (`rrtf_report::sweep`).
//!
//! The sweep file (`rrtf_config::sweep`) expands into variants, each a full round config written
//! to `<output_dir>/<variant>/round.toml`. The data stages (evolve, synth-tests, sample, exec)
//! are shared: they run once as `rrtf round --config BASE --until exec` (skipped when done).
//! Each variant then runs as child commands, like a round: `rank` with its ranking config (once
//! per distinct ranker), `export --ranker HASH` of that ranking, `train --input` into its own
//! output directory, and `eval` when the base has a benchmark. A finished variant records a
//! `sweep/variant` run (its config snapshot and hash, seed, revision, [`VariantResult`]) and is
//! skipped when the sweep runs again; inside a variant, training resumes from its last
//! checkpoint.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rrtf_config::{SweepConfig, Variant};
use rrtf_report::Table;
use rrtf_report::sweep::{PageVariant, SweepPage};
use rrtf_report::table::fmt_metric;
use rrtf_store::{NewRun, TrainingCurves};
use rrtf_train::EncodeStats;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::eval::EvalReport;
use crate::round::{error_text, eval_args, interrupted_checkpoint, latest_checkpoint};
use crate::{PipelineError, Result, Rrtf};

/// The run recorded for each finished variant.
const VARIANT_STAGE: &str = "sweep/variant";

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// The sweep file: a base round config plus `[grid]` or `[[runs]]`.
    pub config: PathBuf,
    /// Run every variant again, even those finished before (their models train from scratch).
    pub rerun: bool,
    /// Do not run the shared data stages: rank what the store already holds.
    pub no_data: bool,
    /// After a variant fails, go on with the others (the sweep still ends in an error).
    pub keep_going: bool,
    /// The HTML report (default: `<output_dir>/report.html`).
    pub report: Option<PathBuf>,
}

/// What became of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariantStatus {
    Ran,
    /// Finished before under the same config.
    Skipped,
    Failed,
    /// Stopped cleanly by Ctrl-C or SIGTERM; the next run of the sweep runs it again.
    Interrupted,
    /// Not run: an earlier variant failed (without `keep_going`), or the sweep was stopped.
    #[serde(rename = "not run")]
    NotRun,
}

impl VariantStatus {
    pub fn name(self) -> &'static str {
        match self {
            VariantStatus::Ran => "ran",
            VariantStatus::Skipped => "skipped",
            VariantStatus::Failed => "failed",
            VariantStatus::Interrupted => "interrupted",
            VariantStatus::NotRun => "not run",
        }
    }

    fn done(self) -> bool {
        matches!(self, VariantStatus::Ran | VariantStatus::Skipped)
    }
}

/// What a trained variant measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VariantMetrics {
    /// The hash of the ranker whose ranking it trained on.
    pub ranker: String,
    /// Ranked groups exported for training.
    pub groups: Option<u64>,
    /// Optimizer steps.
    pub steps: i64,
    /// Mean training loss over the last tenth of the steps (at least one).
    pub train_loss: Option<f64>,
    /// Held-out loss and preference accuracy at the last evaluation.
    pub eval_loss: Option<f64>,
    pub eval_preference_accuracy: Option<f64>,
    /// Mean training throughput.
    pub tokens_per_s: Option<f64>,
    /// What the trainer kept of the export.
    pub encode: Option<EncodeStats>,
    /// `pass@k` -> estimate; `None` when the sweep does not evaluate.
    pub pass_at_k: Option<BTreeMap<String, f64>>,
    /// Benchmark problems evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_problems: Option<u64>,
}

/// One variant's line of the comparison, as the summary lists it and (without `status`,
/// `metric` and `rank`) its run records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    pub id: String,
    /// The values it sets: dotted key -> value.
    pub values: Map<String, Value>,
    /// Its round config.
    pub config: PathBuf,
    pub config_hash: String,
    pub output_dir: Option<PathBuf>,
    #[serde(flatten)]
    pub metrics: Option<VariantMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The three below are the comparison's, not recorded with the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VariantStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
}

impl VariantResult {
    /// The identity of a variant, before any result.
    fn of(v: &Variant, path: &Path) -> Self {
        VariantResult {
            id: v.id.clone(),
            values: v.overrides.iter().cloned().collect(),
            config: path.to_owned(),
            config_hash: v.config.hash(),
            output_dir: v.config.training.output_dir.clone(),
            metrics: None,
            seconds: None,
            error: None,
            status: None,
            metric: None,
            rank: None,
        }
    }

    /// A metric by the name a sweep sorts by (`pass@K` or one of `rrtf_config::sweep::METRICS`).
    pub fn value(&self, metric: &str) -> Option<f64> {
        if metric == "seconds" {
            return self.seconds;
        }
        let m = self.metrics.as_ref()?;
        match metric {
            "eval_preference_accuracy" => m.eval_preference_accuracy,
            "eval_loss" => m.eval_loss,
            "train_loss" => m.train_loss,
            "tokens_per_s" => m.tokens_per_s,
            pass => m.pass_at_k.as_ref()?.get(pass).copied(),
        }
    }

    fn status(&self) -> VariantStatus {
        self.status.unwrap_or(VariantStatus::NotRun)
    }
}

/// The sweep's metric.
#[derive(Clone, Debug, Serialize)]
pub struct MetricName {
    pub name: String,
    pub higher_is_better: bool,
}

/// The sweep's summary, as `rrtf --json sweep` prints it, `sweep.json` holds it and its `sweep`
/// run records it.
#[derive(Clone, Debug, Serialize)]
pub struct SweepSummary {
    pub sweep: String,
    pub config: PathBuf,
    pub base: PathBuf,
    pub base_hash: String,
    pub config_hash: String,
    pub revision: String,
    pub seed: u64,
    pub round: i64,
    pub metric: MetricName,
    /// The swept keys.
    pub keys: Vec<String>,
    pub ok: bool,
    pub seconds: f64,
    /// The shared data stages' round summary (or why they did not run).
    pub data: Value,
    pub output_dir: PathBuf,
    pub table: PathBuf,
    pub report: PathBuf,
    pub json: PathBuf,
    /// Best first.
    pub variants: Vec<VariantResult>,
}

/// A sweep that ran: its summary, the comparison as Markdown, and the error of a failed
/// variant.
#[derive(Debug)]
pub struct SweepRun {
    pub summary: SweepSummary,
    pub table: String,
    pub failure: Option<PipelineError>,
}

/// Run the sweep `opts` names (see the module docs).
pub async fn run(rrtf: &Rrtf, opts: &SweepOptions) -> Result<SweepRun> {
    let sweep = SweepConfig::load(&opts.config)?;
    let started = Instant::now();
    let out = &sweep.output_dir;
    std::fs::create_dir_all(out)
        .map_err(|e| PipelineError::io(format!("creating {}", out.display()), e))?;
    let report = opts
        .report
        .clone()
        .unwrap_or_else(|| out.join("report.html"));
    let round = sweep.base.round.number;
    let name = sweep.name.clone();
    // The sweep's own children's logs (the data round): `<output_dir>/logs/<command>.log`.
    let rrtf = &rrtf.clone().with_stage_logs(out.join("logs"));
    rrtf.log(&format!(
        "sweep {name}: {} variants of {} (sorted by {}), in {}",
        sweep.variants.len(),
        sweep.base_path.display(),
        sweep.metric.name,
        out.display()
    ));

    // Every variant's config on disk first: a variant is the command `rrtf train --config` it runs.
    let mut paths = Vec::new();
    for v in &sweep.variants {
        paths.push(write_variant_config(&sweep, v)?);
    }

    let store = rrtf.store().await?;
    let sweep_run = store
        .begin_run(&NewRun {
            round,
            stage: "sweep".into(),
            config_json: sweep.snapshot_json(),
            config_hash: sweep.hash(),
            revision: Some(rrtf.revision.clone()),
            seed: Some(sweep.base.round.seed as i64),
        })
        .await?;
    store.close().await;

    let data = if opts.no_data {
        json!("not run (--no-data)")
    } else {
        rrtf.log(&format!(
            "sweep {name}: data stages of the base config (rrtf round --until exec)"
        ));
        let args: Vec<String> = [
            "round",
            "--config",
            &sweep.base_path.display().to_string(),
            "--until",
            "exec",
        ]
        .map(str::to_owned)
        .to_vec();
        match rrtf.json(&args, "sweep").await {
            Ok(v) => v,
            Err(e) => {
                let store = rrtf.store().await?;
                let summary = json!({ "error": error_text(&e) });
                match e.stopped_by() {
                    Some(_) => store.interrupt_run(sweep_run, &summary).await?,
                    None => store.finish_run(sweep_run, false, &summary).await?,
                }
                store.close().await;
                return Err(e);
            }
        }
    };

    let mut ranked = HashSet::new();
    let mut results: Vec<VariantResult> = Vec::new();
    let mut failure: Option<PipelineError> = None;
    let n = sweep.variants.len();
    for (i, (v, path)) in sweep.variants.iter().zip(&paths).enumerate() {
        let tag = format!("sweep {name} [{}/{n}] {}", i + 1, v.id);
        let mut result = VariantResult::of(v, path);
        if failure.is_none()
            && let Some(signal) = rrtf.stop_requested()
        {
            failure = Some(PipelineError::Stopped {
                what: format!("sweep {name} (before variant {})", v.id),
                signal,
            });
        }
        let stopped = failure.as_ref().is_some_and(|e| e.stopped_by().is_some());
        if failure.is_some() && (!opts.keep_going || stopped) {
            result.status = Some(VariantStatus::NotRun);
            results.push(result);
            continue;
        }
        let hash = v.config.hash();
        if !opts.rerun {
            let store = rrtf.store().await?;
            let done = store.last_done_run(round, VARIANT_STAGE, &hash).await?;
            store.close().await;
            if let Some(done) = done {
                rrtf.log(&format!(
                    "{tag}: done at {} (skipped; --rerun runs it again)",
                    done.finished_at
                ));
                // What it measured then; its identity as the sweep names it now.
                if let Some(recorded) = done
                    .summary
                    .and_then(|s| serde_json::from_value::<VariantResult>(s).ok())
                {
                    result.metrics = recorded.metrics;
                    result.seconds = recorded.seconds;
                }
                result.status = Some(VariantStatus::Skipped);
                results.push(result);
                continue;
            }
        }
        let t = Instant::now();
        let outcome = run_variant(rrtf, &sweep, v, path, &tag, opts.rerun, &mut ranked).await;
        let seconds = t.elapsed().as_secs_f64();
        result.seconds = Some(seconds);
        let ok = outcome.is_ok();
        let interrupted = outcome.as_ref().err().and_then(PipelineError::stopped_by);
        match outcome {
            Ok(metrics) => {
                result.metrics = Some(metrics);
                rrtf.log(&format!(
                    "{tag}: done in {seconds:.1}s ({} {})",
                    sweep.metric.name,
                    fmt_metric(result.value(&sweep.metric.name))
                ));
            }
            Err(e) => {
                match e.stopped_by() {
                    Some(signal) => rrtf.log(&format!("{tag}: stopped by {signal}")),
                    None => rrtf.log(&format!("{tag}: failed: {}", error_text(&e))),
                }
                result.error = Some(error_text(&e));
                failure = Some(e);
            }
        }
        let store = rrtf.store().await?;
        let run = store
            .begin_run(&NewRun {
                round,
                stage: VARIANT_STAGE.into(),
                config_json: v.config.snapshot_json(),
                config_hash: hash,
                revision: Some(rrtf.revision.clone()),
                seed: Some(v.config.round.seed as i64),
            })
            .await?;
        let value = serde_json::to_value(&result).expect("serializable");
        match interrupted {
            Some(_) => store.interrupt_run(run, &value).await?,
            None => store.finish_run(run, ok, &value).await?,
        }
        store.close().await;
        result.status = Some(match (ok, interrupted) {
            (true, _) => VariantStatus::Ran,
            (false, Some(_)) => VariantStatus::Interrupted,
            (false, None) => VariantStatus::Failed,
        });
        results.push(result);
    }

    let rows = compare(results, &sweep.metric.name, sweep.metric.higher_is_better);
    let store = rrtf.store().await?;
    let curves = store.training_curves().await?;
    store.close().await;
    let table = comparison(&sweep.keys, &rows);
    let markdown = table.markdown();
    let table_path = out.join("table.md");
    let json_path = out.join("sweep.json");
    std::fs::write(&table_path, &markdown)
        .map_err(|e| PipelineError::io(format!("writing {}", table_path.display()), e))?;
    let html = page(&sweep, &rows, &table, &curves, &rrtf.revision);
    std::fs::write(&report, html)
        .map_err(|e| PipelineError::io(format!("writing {}", report.display()), e))?;

    let ok = failure.is_none();
    let summary = SweepSummary {
        sweep: sweep.name.clone(),
        config: sweep.path.clone(),
        base: sweep.base_path.clone(),
        base_hash: sweep.base.hash(),
        config_hash: sweep.hash(),
        revision: rrtf.revision.clone(),
        seed: sweep.base.round.seed,
        round,
        metric: MetricName {
            name: sweep.metric.name.clone(),
            higher_is_better: sweep.metric.higher_is_better,
        },
        keys: sweep.keys.clone(),
        ok,
        seconds: started.elapsed().as_secs_f64(),
        data,
        output_dir: out.clone(),
        table: table_path,
        report,
        json: json_path.clone(),
        variants: rows,
    };
    let value = serde_json::to_value(&summary).expect("serializable");
    std::fs::write(&json_path, format!("{value:#}\n"))
        .map_err(|e| PipelineError::io(format!("writing {}", json_path.display()), e))?;
    let store = rrtf.store().await?;
    match failure.as_ref().and_then(PipelineError::stopped_by) {
        Some(_) => store.interrupt_run(sweep_run, &value).await?,
        None => store.finish_run(sweep_run, ok, &value).await?,
    }
    store.close().await;
    Ok(SweepRun {
        summary,
        table: markdown,
        failure: failure.map(|e| PipelineError::Sweep {
            name: sweep.name.clone(),
            source: Box::new(e),
        }),
    })
}

/// Sorted by the metric (best first; ties by held-out preference accuracy, then sweep order);
/// variants without a value, then failed and unrun ones, last. Each gets its `metric` and
/// `rank` (1 = best).
fn compare(
    mut rows: Vec<VariantResult>,
    metric: &str,
    higher_is_better: bool,
) -> Vec<VariantResult> {
    let key = |r: &VariantResult| {
        let m = r.value(metric);
        let acc = -r.value("eval_preference_accuracy").unwrap_or(-1.0);
        match (r.status().done(), m) {
            (true, Some(v)) => (0, if higher_is_better { -v } else { v }, acc),
            (true, None) => (1, 0.0, acc),
            _ => (2, 0.0, 0.0),
        }
    };
    rows.sort_by(|x, y| {
        let (a, b) = (key(x), key(y));
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.total_cmp(&b.2))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.metric = Some(r.value(metric));
        r.rank = Some(i + 1);
    }
    rows
}

/// `<output_dir>/<variant>/round.toml`: the variant's whole round config.
fn write_variant_config(sweep: &SweepConfig, v: &Variant) -> Result<PathBuf> {
    let dir = sweep.output_dir.join(&v.id);
    std::fs::create_dir_all(&dir)
        .map_err(|e| PipelineError::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join("round.toml");
    let set: Vec<String> = v
        .overrides
        .iter()
        .map(|(k, val)| format!("{k} = {val}"))
        .collect();
    let toml = v
        .config
        .to_toml()
        .map_err(|e| PipelineError::Failed(format!("writing a variant's config: {e}")))?;
    let text = format!(
        "# Variant `{}` of sweep `{}` ({}): {} over {}.\n# Written by `rrtf sweep`; \
         edit the sweep file, not this one.\n\n{}",
        v.id,
        sweep.name,
        sweep.path.display(),
        if set.is_empty() {
            "the base config as is".into()
        } else {
            set.join(", ")
        },
        sweep.base_path.display(),
        toml
    );
    std::fs::write(&path, text)
        .map_err(|e| PipelineError::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

/// Rank (when this ranker has not ranked during this sweep), export that ranking, train, and
/// evaluate one variant; returns its metrics.
async fn run_variant(
    rrtf: &Rrtf,
    sweep: &SweepConfig,
    v: &Variant,
    config: &Path,
    tag: &str,
    fresh: bool,
    ranked: &mut HashSet<String>,
) -> Result<VariantMetrics> {
    let c = &v.config;
    let s = |x: &str| x.to_owned();
    let config_arg = config.display().to_string();
    let dir = config
        .parent()
        .expect("a variant's config is in its directory");
    // The variant's stage logs: `<variant dir>/logs/<command>.log`.
    let rrtf = &rrtf.clone().with_stage_logs(dir.join("logs"));
    let model = c.training.output_dir.clone().expect("set by the sweep");
    if fresh && model.exists() {
        std::fs::remove_dir_all(&model)
            .map_err(|e| PipelineError::io(format!("removing {} (--rerun)", model.display()), e))?;
    }
    let ranker = rrtf_rank::ranker_ref(&c.ranking).hash;
    if ranked.insert(ranker.clone()) {
        rrtf.log(&format!("{tag}: rank (ranker {})", &ranker[..12]));
        rrtf.json(&[s("rank"), s("--config"), config_arg.clone()], "sweep")
            .await?;
    }
    let groups = dir.join("groups.jsonl");
    let text = if c.training.code_only { "code" } else { "raw" };
    let export = rrtf
        .json(
            &[
                s("export"),
                s("--format"),
                s("rrtf"),
                s("--text"),
                s(text),
                s("--ranker"),
                ranker.clone(),
                s("--out"),
                groups.display().to_string(),
            ],
            "sweep",
        )
        .await?;
    rrtf.log(&format!("{tag}: train into {}", model.display()));
    let mut train = vec![
        s("train"),
        s("--config"),
        config_arg,
        s("--input"),
        groups.display().to_string(),
    ];
    // Only an unfinished run is continued: a finished one in this directory was trained under
    // an earlier version of the variant (the sweep skips variants recorded as done), so it is
    // trained afresh (`--restart`), never reported as this config's model.
    match interrupted_checkpoint(&model) {
        Some(step) => {
            train.push(s("--resume"));
            train.push(step.display().to_string());
        }
        None if latest_checkpoint(&model).is_some() => train.push(s("--restart")),
        None => {}
    }
    let trained = rrtf.json(&train, "sweep").await?;

    let store = rrtf.store().await?;
    let curves = store.training_curves().await?;
    store.close().await;
    let want = model.display().to_string();
    let Some(run) = curves.iter().rev().find(|c| c.output_dir == want) else {
        return Err(PipelineError::Failed(format!(
            "no training run for {want} in the store after training (is --db the project's?)"
        )));
    };
    let mut m = metrics_of(run);
    m.ranker = ranker;
    m.groups = export["prompts"].as_u64();
    m.encode = serde_json::from_value(trained["encode"].clone()).ok();
    if sweep.evaluates() {
        rrtf.log(&format!("{tag}: evaluate"));
        let ev = rrtf.json(&eval_args(c, &model), "sweep").await?;
        let ev: EvalReport = serde_json::from_value(ev).map_err(|e| {
            PipelineError::Failed(format!("`rrtf eval` printed no evaluation report: {e}"))
        })?;
        m.pass_at_k = Some(ev.pass_at_k);
        m.eval_problems = Some(ev.problems as u64);
    }
    Ok(m)
}

/// A variant's metrics from its training run in the store: steps, the mean training loss over
/// the last tenth of the steps (at least one), held-out loss and preference accuracy at the
/// last evaluation, and mean tokens/s.
pub(crate) fn metrics_of(c: &TrainingCurves) -> VariantMetrics {
    let loss = c.series("train", "loss");
    let tail = loss.len().div_ceil(10).max(1).min(loss.len());
    let mean = |v: &[(i64, f64)]| {
        (!v.is_empty()).then(|| v.iter().map(|p| p.1).sum::<f64>() / v.len() as f64)
    };
    let last_eval = |name: &str| c.series("eval", name).last().map(|p| p.1);
    VariantMetrics {
        steps: loss.iter().map(|p| p.0).max().unwrap_or(0),
        train_loss: mean(&loss[loss.len() - tail..]),
        eval_loss: last_eval("loss"),
        eval_preference_accuracy: last_eval("preference_accuracy"),
        tokens_per_s: mean(&c.series("train", "tokens_per_s")),
        ..VariantMetrics::default()
    }
}

/// The k values some variant reports, as `pass@k` column names.
fn pass_columns(rows: &[VariantResult]) -> Vec<String> {
    let mut ks: Vec<u64> = rows
        .iter()
        .filter_map(|r| r.metrics.as_ref()?.pass_at_k.as_ref())
        .flat_map(|p| {
            p.keys()
                .filter_map(|k| k.strip_prefix("pass@")?.parse().ok())
        })
        .collect();
    ks.sort_unstable();
    ks.dedup();
    ks.into_iter().map(|k| format!("pass@{k}")).collect()
}

/// The comparison: rank, variant, the swept values, training and held-out metrics, pass@k,
/// throughput, wall time and status, one row per variant.
pub fn comparison(keys: &[String], rows: &[VariantResult]) -> Table {
    let passes = pass_columns(rows);
    let mut headers: Vec<String> = vec!["#".into(), "variant".into()];
    headers.extend(keys.iter().cloned());
    headers.extend(["train loss", "held-out loss", "held-out pref. acc."].map(str::to_owned));
    headers.extend(passes.iter().cloned());
    headers.extend(["tokens/s", "wall s", "status"].map(str::to_owned));
    let mut t = Table::new(headers);
    for r in rows {
        let mut cells = vec![
            r.rank.map_or(String::new(), |n| n.to_string()),
            r.id.clone(),
        ];
        for key in keys {
            cells.push(match r.values.get(key) {
                None => "(base)".into(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            });
        }
        for m in ["train_loss", "eval_loss", "eval_preference_accuracy"] {
            cells.push(fmt_metric(r.value(m)));
        }
        for p in &passes {
            cells.push(fmt_metric(r.value(p)));
        }
        cells.push(
            r.value("tokens_per_s")
                .map_or("n/a".into(), |v| format!("{v:.0}")),
        );
        cells.push(r.seconds.map_or("n/a".into(), |v| format!("{v:.1}")));
        cells.push(r.status().name().into());
        t.push(cells);
    }
    t
}

/// The sweep's HTML page (`rrtf_report::sweep`).
fn page(
    sweep: &SweepConfig,
    rows: &[VariantResult],
    table: &Table,
    curves: &[TrainingCurves],
    revision: &str,
) -> String {
    let variants = rows
        .iter()
        .map(|r| PageVariant {
            id: &r.id,
            metric: r.value(&sweep.metric.name),
            preference_accuracy: r.value("eval_preference_accuracy"),
            curves: r.output_dir.as_ref().and_then(|dir| {
                let dir = dir.display().to_string();
                curves.iter().rev().find(|c| c.output_dir == dir)
            }),
        })
        .collect();
    rrtf_report::sweep::page(&SweepPage {
        name: &sweep.name,
        base: &sweep.base_path,
        path: &sweep.path,
        revision,
        metric: &sweep.metric.name,
        higher_is_better: sweep.metric.higher_is_better,
        table,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rrtf_store::MetricPoint;

    fn point(step: i64, split: &str, name: &str, value: f64) -> MetricPoint {
        MetricPoint {
            step,
            split: split.into(),
            name: name.into(),
            value,
        }
    }

    #[test]
    fn metrics_average_the_last_tenth_and_take_the_last_evaluation() {
        let mut points: Vec<MetricPoint> = (1..=20)
            .flat_map(|s| {
                [
                    point(s, "train", "loss", s as f64),
                    point(s, "train", "tokens_per_s", 100.0 + s as f64),
                ]
            })
            .collect();
        points.push(point(10, "eval", "loss", 5.0));
        points.push(point(20, "eval", "loss", 4.0));
        points.push(point(20, "eval", "preference_accuracy", 0.75));
        let c = TrainingCurves {
            id: 1,
            round: 1,
            base_model: "b".into(),
            output_dir: "o".into(),
            status: "done".into(),
            points,
        };
        let m = metrics_of(&c);
        assert_eq!(m.steps, 20);
        assert_eq!(m.train_loss, Some(19.5), "mean of steps 19 and 20");
        assert_eq!(m.eval_loss, Some(4.0));
        assert_eq!(m.eval_preference_accuracy, Some(0.75));
        assert_eq!(m.tokens_per_s, Some(110.5));
        // No held-out set: nulls, not zeros.
        let c = TrainingCurves {
            points: vec![point(1, "train", "loss", 2.0)],
            ..c
        };
        let m = metrics_of(&c);
        assert_eq!(m.train_loss, Some(2.0));
        assert!(m.eval_loss.is_none() && m.eval_preference_accuracy.is_none());
    }

    fn variant(id: &str, status: VariantStatus, pass1: Option<f64>, acc: f64) -> VariantResult {
        VariantResult {
            id: id.into(),
            values: [("training.learning_rate".to_owned(), json!(0.001))]
                .into_iter()
                .collect(),
            config: format!("s/{id}/round.toml").into(),
            config_hash: "h".into(),
            output_dir: Some(format!("s/{id}/model").into()),
            metrics: Some(VariantMetrics {
                ranker: "r".into(),
                groups: Some(19),
                steps: 8,
                train_loss: Some(170.5),
                eval_loss: Some(2.25),
                eval_preference_accuracy: Some(acc),
                tokens_per_s: Some(487.4),
                encode: None,
                pass_at_k: pass1.map(|p| [("pass@1".to_owned(), p)].into()),
                eval_problems: pass1.map(|_| 4),
            }),
            seconds: Some(10.25),
            error: None,
            status: Some(status),
            metric: None,
            rank: None,
        }
    }

    #[test]
    fn variants_sort_by_the_metric_then_accuracy_and_failures_last() {
        let rows = compare(
            vec![
                variant("failed", VariantStatus::Failed, Some(0.9), 1.0),
                variant("low", VariantStatus::Ran, Some(0.1), 1.0),
                variant("none", VariantStatus::Ran, None, 1.0),
                variant("high-acc", VariantStatus::Skipped, Some(0.5), 0.9),
                variant("low-acc", VariantStatus::Ran, Some(0.5), 0.2),
            ],
            "pass@1",
            true,
        );
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["high-acc", "low-acc", "low", "none", "failed"]);
        assert_eq!(rows[0].rank, Some(1));
        assert_eq!(rows[0].metric, Some(Some(0.5)));
        assert_eq!(rows[3].metric, Some(None), "no value: null, not left out");
    }

    /// The JSON of a variant keeps the layout `sweep.json` had as a map: identity, metrics,
    /// seconds, then the comparison's status, metric and rank; a recorded one reads back.
    #[test]
    fn a_variant_serializes_in_its_documented_order_and_reads_back() {
        let mut rows = compare(
            vec![variant("a", VariantStatus::Ran, Some(0.25), 0.5)],
            "pass@1",
            true,
        );
        let v = serde_json::to_value(&rows[0]).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "values",
                "config",
                "config_hash",
                "output_dir",
                "ranker",
                "groups",
                "steps",
                "train_loss",
                "eval_loss",
                "eval_preference_accuracy",
                "tokens_per_s",
                "encode",
                "pass_at_k",
                "eval_problems",
                "seconds",
                "status",
                "metric",
                "rank"
            ]
        );
        assert_eq!(v["status"], "ran");
        assert_eq!(v["metric"], 0.25);
        let back: VariantResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, rows[0]);
        // As recorded with its run (no comparison fields yet), without an evaluation.
        rows[0].status = None;
        rows[0].metric = None;
        rows[0].rank = None;
        rows[0].metrics.as_mut().unwrap().pass_at_k = None;
        rows[0].metrics.as_mut().unwrap().eval_problems = None;
        let v = serde_json::to_value(&rows[0]).unwrap();
        assert!(
            v["pass_at_k"].is_null() && v.get("eval_problems").is_none(),
            "{v}"
        );
        assert_eq!(serde_json::from_value::<VariantResult>(v).unwrap(), rows[0]);
        let not_run = serde_json::to_value(VariantResult {
            metrics: None,
            status: Some(VariantStatus::NotRun),
            ..rows[0].clone()
        })
        .unwrap();
        assert_eq!(not_run["status"], "not run");
        assert!(not_run.get("steps").is_none(), "{not_run}");
    }

    #[test]
    fn the_comparison_table_in_markdown() {
        let rows = compare(
            vec![
                variant("b", VariantStatus::Ran, Some(0.5), 0.5),
                variant("a", VariantStatus::Failed, None, 0.5),
            ],
            "pass@1",
            true,
        );
        let md = comparison(&["training.learning_rate".to_owned()], &rows).markdown();
        assert_eq!(
            md,
            "| # | variant | training.learning_rate | train loss | held-out loss | held-out pref. acc. | pass@1 | tokens/s | wall s | status |\n\
             | - | ------- | ---------------------- | ---------- | ------------- | ------------------- | ------ | -------- | ------ | ------ |\n\
             | 1 | b       | 0.001                  | 170        | 2.2500        | 0.5000              | 0.5000 | 487      | 10.2   | ran    |\n\
             | 2 | a       | 0.001                  | 170        | 2.2500        | 0.5000              | n/a    | 487      | 10.2   | failed |\n"
        );
    }
}
