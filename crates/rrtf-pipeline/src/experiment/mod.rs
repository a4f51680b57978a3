//! An experiment (`rrtf experiment run`): the base student made from a task world, then every
//! arm trained over rounds and seeds with the round and sweep machinery, evaluated on the held-out
//! benchmark, and written up as `results.json` and `report.html` ([`results`]).
//!
//! The plan ([`plan`]) is a pure function of the experiment file, the profile, the seed and the
//! output directory. For each replicate seed:
//! - round 1 is one `rrtf sweep` (its own database, `<out>/seed-<s>/r1/`) whose variants are the
//!   arms: the data stages (the base student sampled beside the teachers, executed) run once,
//!   so every arm trains on the same ranked data, then each arm ranks, trains from the base and
//!   is evaluated;
//! - round r > 1 is, per arm, a one-variant sweep (`<out>/seed-<s>/r<r>-<arm>/`) whose student
//!   is that arm's round r-1 model: it samples it on the r-th slice of the pool and trains it.
//!
//! The base is made once per experiment seed (`[base] dir`/`seed<N>-e<epochs>`: tokenizer, a
//! seeded init, `rrtf train` on the corpus), shared by every replicate seed and by the profiles
//! with the same base epochs; each step is skipped when its output exists. Everything resumes:
//! the sweeps skip recorded data stages and finished variants, training resumes from its last
//! checkpoint, and evaluations of the base and of the examples are files written whole.
//!
//! `--seed N` replaces the experiment's seed: the base is initialised and trained with N, the
//! replicate seeds are N, N+1, ...; the world itself (the shipped data) is not regenerated.
//!
//! Not here: the arms' training and evaluation (the sweep's child commands), the page
//! (`rrtf_report::experiment`), argument parsing and printing (the binary).

pub mod results;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rrtf_config::{ExperimentConfig, Profile, RoundConfig};
use serde::Serialize;
use serde_json::Value;

use crate::round::{eval_args, latest_checkpoint};
use crate::sweep::{SweepOptions, VariantStatus};
use crate::{PipelineError, Result, Rrtf};
pub use results::{ExperimentResults, SCHEMA_VERSION};

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct ExperimentOptions {
    /// The experiment file.
    pub config: PathBuf,
    /// A profile name (default: the file's `default_profile`).
    pub profile: Option<String>,
    /// Replaces the file's `seed` (see the module docs).
    pub seed: Option<u64>,
    /// Where everything but the base goes (default: `<out>/<profile>-seed<N>`).
    pub out: Option<PathBuf>,
}

/// The base student's files.
#[derive(Clone, Debug, Serialize)]
pub struct BasePlan {
    pub dir: PathBuf,
    pub tokenizer: PathBuf,
    pub init: PathBuf,
    /// The trained base (HF layout).
    pub model: PathBuf,
    /// Its training config (the recipe with this seed, epochs and paths).
    pub config: PathBuf,
    pub db: PathBuf,
    /// What the base trains on: the corpus, or (with `[base] holdout_pool_lines`) the copy of it
    /// written here without the rounds' prompts.
    pub corpus: PathBuf,
    /// `[base] holdout_pool_lines`: the pool's first N problems are not in `corpus`.
    pub holdout_pool_lines: u64,
    pub seed: u64,
    pub epochs: u32,
}

/// One sweep of the experiment: a round of one seed, for all arms (round 1) or one.
#[derive(Clone, Debug, Serialize)]
pub struct UnitPlan {
    pub seed: u64,
    pub round: u32,
    pub arms: Vec<String>,
    pub dir: PathBuf,
    pub db: PathBuf,
    /// The sweep's base round config and the sweep file.
    pub round_config: PathBuf,
    pub sweep: PathBuf,
    /// The model sampled as the student and trained from.
    pub student: PathBuf,
    /// The pool's slice this round samples: lines `[start, end)`.
    pub prompts: (u64, u64),
}

impl UnitPlan {
    /// Where the sweep puts an arm's trained model.
    pub fn model_dir(&self, arm: &str) -> PathBuf {
        self.dir.join(arm).join("model")
    }
}

/// Everything the experiment will run, in order.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub experiment: String,
    pub config: PathBuf,
    pub profile: String,
    pub profile_values: Profile,
    pub seed: u64,
    pub seeds: Vec<u64>,
    pub rounds: u32,
    pub arms: Vec<String>,
    pub out: PathBuf,
    pub base: BasePlan,
    pub units: Vec<UnitPlan>,
}

/// The plan of `opts` over a loaded experiment (no file is touched).
pub fn plan(exp: &ExperimentConfig, opts: &ExperimentOptions) -> Result<Plan> {
    let (profile, p) = exp.profile(opts.profile.as_deref())?;
    let seed = opts.seed.unwrap_or(exp.seed);
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| exp.out.join(format!("{profile}-seed{seed}")));
    let holdout = exp.base.holdout_pool_lines;
    let dir = exp.base.dir.join(match holdout {
        0 => format!("seed{seed}-e{}", p.base_epochs),
        h => format!("seed{seed}-e{}-h{h}", p.base_epochs),
    });
    let base = BasePlan {
        corpus: match holdout {
            0 => exp.base.corpus.clone(),
            _ => dir.join("corpus.jsonl"),
        },
        holdout_pool_lines: holdout,
        tokenizer: dir.join("tokenizer.json"),
        init: dir.join("init"),
        model: dir.join("model"),
        config: dir.join("base.toml"),
        db: dir.join("base.db"),
        dir,
        seed,
        epochs: p.base_epochs,
    };
    let seeds: Vec<u64> = (0..u64::from(p.seeds)).map(|i| seed + i).collect();
    let arms: Vec<String> = exp.arms.iter().map(|a| a.name.clone()).collect();
    let n = p.prompts_per_round;
    let mut units = Vec::new();
    for &s in &seeds {
        let seed_dir = out.join(format!("seed-{s}"));
        let unit = |round: u32, arms: Vec<String>, dir: PathBuf, student: PathBuf| UnitPlan {
            seed: s,
            round,
            arms,
            db: dir.join("rrtf.db"),
            round_config: dir.join("round.toml"),
            sweep: dir.join("arms.toml"),
            dir,
            student,
            prompts: if p.repeat_prompts {
                (0, n)
            } else {
                (u64::from(round - 1) * n, u64::from(round) * n)
            },
        };
        let first = unit(1, arms.clone(), seed_dir.join("r1"), base.model.clone());
        let mut previous: Vec<PathBuf> = arms.iter().map(|a| first.model_dir(a)).collect();
        units.push(first);
        for round in 2..=exp.rounds {
            for (arm, student) in arms.iter().zip(previous.iter_mut()) {
                let u = unit(
                    round,
                    vec![arm.clone()],
                    seed_dir.join(format!("r{round}-{arm}")),
                    student.clone(),
                );
                *student = u.model_dir(arm);
                units.push(u);
            }
        }
    }
    Ok(Plan {
        experiment: exp.name.clone(),
        config: exp.path.clone(),
        profile: profile.to_owned(),
        profile_values: p.clone(),
        seed,
        seeds,
        rounds: exp.rounds,
        arms,
        out,
        base,
        units,
    })
}

/// Load the experiment file of `opts` and plan it (`--dry-run`).
pub fn plan_of(opts: &ExperimentOptions) -> Result<Plan> {
    plan(&ExperimentConfig::load(&opts.config)?, opts)
}

/// A unit's round config: the template with this round, seed, student, sizes and slice.
pub fn round_config(exp: &ExperimentConfig, p: &Profile, u: &UnitPlan) -> RoundConfig {
    let mut c = exp.round.clone();
    c.round.number = i64::from(u.round);
    c.round.seed = u.seed;
    c.sampling.max_prompts = Some(u.prompts.1 - u.prompts.0);
    if let Some(n) = p.teacher_samples {
        for t in &mut c.teachers {
            t.samples = n;
        }
    }
    if let Some(s) = c.student.as_mut() {
        if let Some(n) = p.student_samples {
            s.samples = n;
        }
        s.local_model = Some(u.student.clone());
    }
    c.training.base_model = Some(u.student.clone());
    c.training.output_dir = Some(u.model_dir(&u.arms[0]));
    if let Some(e) = p.epochs {
        c.training.epochs = e;
    }
    if p.eval_problems.is_some() {
        c.evaluation.max_problems = p.eval_problems;
    }
    c
}

/// The round config of a unit's sampled evaluation (the profile's `sampled_*`), if any: the
/// same benchmark, problems and seed as the greedy one, `n` completions at the temperature.
pub fn sampled_config(exp: &ExperimentConfig, p: &Profile, u: &UnitPlan) -> Option<RoundConfig> {
    let ev = p.sampled_eval()?;
    let mut c = round_config(exp, p, u);
    c.evaluation.samples = ev.samples;
    c.evaluation.temperature = ev.temperature;
    c.evaluation.k = ev.k;
    Some(c)
}

/// The file names of a sampled evaluation's report and rows in a model's directory.
pub const SAMPLED_EVAL: (&str, &str) = ("sampled-eval.json", "sampled-eval.jsonl");

/// What a run did: the results (also in `results.json`) and where the files are.
#[derive(Debug, Serialize)]
pub struct ExperimentRun {
    pub results: ExperimentResults,
    pub results_path: PathBuf,
    pub report_path: PathBuf,
    /// Units (sweep variants) run now, and found done before.
    pub ran: usize,
    pub skipped: usize,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> PipelineError {
    move |e| PipelineError::io(what, e)
}

fn mkdir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))
}

/// Write `text` to `path` through a temporary file renamed into place.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("renaming {}", tmp.display())))
}

fn write_config(path: &Path, header: &str, c: &RoundConfig) -> Result<()> {
    let text = c
        .to_toml()
        .map_err(|e| PipelineError::Failed(format!("writing {}: {e}", path.display())))?;
    write_whole(path, &format!("{header}\n\n{text}"))?;
    RoundConfig::load(path).map_err(|source| PipelineError::WrittenConfig {
        path: path.to_owned(),
        source,
    })?;
    Ok(())
}

fn s(x: impl std::fmt::Display) -> String {
    x.to_string()
}

fn is_model(dir: &Path) -> bool {
    dir.join("config.json").is_file() && dir.join("model.safetensors").is_file()
}

/// The base student: tokenizer, init, training (each skipped when its output exists).
async fn prepare_base(rrtf: &Rrtf, exp: &ExperimentConfig, b: &BasePlan) -> Result<()> {
    mkdir(&b.dir)?;
    let r = Rrtf {
        db: b.db.clone(),
        ..rrtf.clone()
    };
    if !b.tokenizer.is_file() {
        rrtf.log(&format!(
            "experiment: base tokenizer {}",
            b.tokenizer.display()
        ));
        let mut args = vec![s("tokenizer"), s("train"), s("--files")];
        args.extend(exp.base.tokenizer_files.iter().map(|f| s(f.display())));
        args.extend([
            s("--vocab-size"),
            s(exp.base.vocab_size),
            s("--out"),
            s(b.tokenizer.display()),
        ]);
        r.json(&args, "experiment").await?;
    }
    if !is_model(&b.init) {
        rrtf.log(&format!(
            "experiment: base init ({}, seed {})",
            exp.base.preset, b.seed
        ));
        r.json(
            &[
                s("model"),
                s("init"),
                s("--preset"),
                exp.base.preset.clone(),
                s("--tokenizer"),
                s(b.tokenizer.display()),
                s("--out"),
                s(b.init.display()),
                s("--seed"),
                s(b.seed),
            ],
            "experiment",
        )
        .await?;
    }
    if is_model(&b.model) {
        rrtf.log(&format!(
            "experiment: base {} present (skipped)",
            b.model.display()
        ));
        return Ok(());
    }
    let mut c = exp.base.recipe.clone();
    c.round.seed = b.seed;
    c.training.base_model = Some(b.init.clone());
    c.training.output_dir = Some(b.model.clone());
    c.training.epochs = b.epochs;
    write_config(
        &b.config,
        &format!(
            "# The base student of experiment `{}`: {} with seed {} and {} epochs.\n\
             # Written by `rrtf experiment run`; edit the recipe, not this file.",
            exp.name,
            exp.base.recipe_path.display(),
            b.seed,
            b.epochs
        ),
        &c,
    )?;
    r.json(&[s("init")], "experiment").await?;
    if b.holdout_pool_lines > 0 && !b.corpus.is_file() {
        let (kept, left_out) = holdout_corpus(exp, b)?;
        rrtf.log(&format!(
            "experiment: the base trains on {kept} corpus lines; the {left_out} of the pool's \
             first {} problems are left out (the rounds' prompts)",
            b.holdout_pool_lines
        ));
    }
    let mut args = vec![
        s("train"),
        s("--config"),
        s(b.config.display()),
        s("--input"),
        s(b.corpus.display()),
    ];
    if let Some(step) = latest_checkpoint(&b.model) {
        rrtf.log(&format!("experiment: base resumes from {}", step.display()));
        args.extend([s("--resume"), s(step.display())]);
    }
    rrtf.log(&format!(
        "experiment: training the base ({} epochs) into {}",
        b.epochs,
        b.model.display()
    ));
    let t = Instant::now();
    let mut summary = r.json(&args, "experiment").await?;
    summary["experiment_seconds"] = Value::from(t.elapsed().as_secs_f64());
    write_whole(&b.dir.join("train.json"), &format!("{summary:#}\n"))
}

/// The `task_id` of a JSONL row, or an error naming the file and line.
fn task_id(path: &Path, n: usize, line: &str) -> Result<String> {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v.get("task_id")?.as_str().map(str::to_owned))
        .ok_or_else(|| {
            PipelineError::Invalid(format!(
                "{} line {}: no string `task_id`; [base] holdout_pool_lines matches corpus \
                 lines to pool problems by task_id",
                path.display(),
                n + 1
            ))
        })
}

/// Write `b.corpus`: the corpus without the lines of the pool's first `holdout_pool_lines`
/// problems. Returns (lines kept, lines left out).
fn holdout_corpus(exp: &ExperimentConfig, b: &BasePlan) -> Result<(usize, usize)> {
    let read =
        |p: &Path| std::fs::read_to_string(p).map_err(io(format!("reading {}", p.display())));
    let pool = read(&exp.pool)?;
    let held: std::collections::HashSet<String> = pool
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(b.holdout_pool_lines as usize)
        .map(|(n, l)| task_id(&exp.pool, n, l))
        .collect::<Result<_>>()?;
    if (held.len() as u64) < b.holdout_pool_lines {
        return Err(PipelineError::Invalid(format!(
            "[base] holdout_pool_lines = {}, but {} has {} problems: lower it",
            b.holdout_pool_lines,
            exp.pool.display(),
            held.len()
        )));
    }
    let corpus = read(&exp.base.corpus)?;
    let (mut kept, mut left_out) = (Vec::new(), 0);
    for (n, l) in corpus
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        if held.contains(&task_id(&exp.base.corpus, n, l)?) {
            left_out += 1;
        } else {
            kept.push(l);
        }
    }
    if kept.is_empty() {
        return Err(PipelineError::Invalid(format!(
            "[base] holdout_pool_lines = {} leaves nothing of {} to train the base on: lower it",
            b.holdout_pool_lines,
            exp.base.corpus.display()
        )));
    }
    write_whole(&b.corpus, &(kept.join("\n") + "\n"))?;
    Ok((kept.len(), left_out))
}

/// `rrtf eval` of `model` as `c` says, with one row per completion in `rows` (both files
/// written whole; skipped when the report exists).
async fn eval_with_rows(
    r: &Rrtf,
    c: &RoundConfig,
    model: &Path,
    report: &Path,
    rows: &Path,
) -> Result<Value> {
    if let Ok(text) = std::fs::read_to_string(report)
        && let Ok(v) = serde_json::from_str::<Value>(&text)
        && rows.is_file()
    {
        return Ok(v);
    }
    let tmp = rows.with_extension("jsonl.tmp");
    let mut args = eval_args(c, model);
    args.extend([s("--out"), s(tmp.display())]);
    let v = r.json(&args, "experiment").await?;
    std::fs::rename(&tmp, rows).map_err(io(format!("renaming {}", tmp.display())))?;
    write_whole(report, &format!("{v:#}\n"))?;
    Ok(v)
}

/// The pool's lines `[start, end)` as a file of their own (written once).
fn pool_slice(exp: &ExperimentConfig, u: &UnitPlan) -> Result<PathBuf> {
    let path = u.dir.join("prompts.jsonl");
    if path.is_file() {
        return Ok(path);
    }
    let text = std::fs::read_to_string(&exp.pool)
        .map_err(io(format!("reading the pool {}", exp.pool.display())))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let (a, b) = (u.prompts.0 as usize, u.prompts.1 as usize);
    if b > lines.len() {
        return Err(PipelineError::Invalid(format!(
            "{}: round {} needs pool lines {a} to {b}, but the pool has {}: lower \
             prompts_per_round or rounds in the profile",
            exp.pool.display(),
            u.round,
            lines.len()
        )));
    }
    write_whole(&path, &(lines[a..b].join("\n") + "\n"))?;
    Ok(path)
}

/// Run the experiment `opts` names (see the module docs).
pub async fn run(rrtf: &Rrtf, opts: &ExperimentOptions) -> Result<ExperimentRun> {
    let started = Instant::now();
    let exp = ExperimentConfig::load(&opts.config)?;
    let plan = plan(&exp, opts)?;
    let p = &plan.profile_values;
    mkdir(&plan.out)?;
    rrtf.log(&format!(
        "experiment {} (profile {}, seed {}): {} arm(s) x {} round(s) x {} seed(s), in {}",
        plan.experiment,
        plan.profile,
        plan.seed,
        plan.arms.len(),
        plan.rounds,
        plan.seeds.len(),
        plan.out.display()
    ));
    prepare_base(rrtf, &exp, &plan.base).await?;

    // The base's figures on this profile's evaluation set, with its completions.
    let first = &plan.units[0];
    let eval_config = round_config(&exp, p, first);
    let base_db = Rrtf {
        db: plan.base.db.clone(),
        ..rrtf.clone()
    };
    rrtf.log("experiment: evaluating the base");
    let base_eval = eval_with_rows(
        &base_db,
        &eval_config,
        &plan.base.model,
        &plan.out.join("base-eval.json"),
        &plan.out.join("base-eval.jsonl"),
    )
    .await?;
    let base_sampled = match sampled_config(&exp, p, first) {
        Some(c) => {
            rrtf.log("experiment: the base's sampled evaluation");
            Some(
                eval_with_rows(
                    &base_db,
                    &c,
                    &plan.base.model,
                    &plan.out.join(format!("base-{}", SAMPLED_EVAL.0)),
                    &plan.out.join(format!("base-{}", SAMPLED_EVAL.1)),
                )
                .await?,
            )
        }
        None => None,
    };

    let mut collected = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    let n = plan.units.len();
    for (i, u) in plan.units.iter().enumerate() {
        rrtf.log(&format!(
            "experiment [{}/{n}] seed {} round {} ({})",
            i + 1,
            u.seed,
            u.round,
            u.arms.join(", ")
        ));
        mkdir(&u.dir)?;
        let r = Rrtf {
            db: u.db.clone(),
            ..rrtf.clone()
        };
        let prompts = pool_slice(&exp, u)?;
        r.json(&[s("init")], "experiment").await?;
        r.json(
            &[s("import"), s("prompts"), s(prompts.display())],
            "experiment",
        )
        .await?;
        write_config(
            &u.round_config,
            &format!(
                "# Round {} of experiment `{}` (profile {}), seed {}: the student is {}.\n\
                 # Written by `rrtf experiment run` from {}; edit that, not this file.",
                u.round,
                exp.name,
                plan.profile,
                u.seed,
                u.student.display(),
                exp.round_path.display()
            ),
            &round_config(&exp, p, u),
        )?;
        let only = (u.round > 1).then(|| u.arms[0].as_str());
        let name = match only {
            Some(arm) => format!("r{}-{arm}", u.round),
            None => format!("r{}", u.round),
        };
        write_whole(
            &u.sweep,
            &exp.arms_sweep_toml("round.toml", &name, &u.dir, only),
        )?;
        let swept = crate::sweep::run(
            &r,
            &SweepOptions {
                config: u.sweep.clone(),
                ..SweepOptions::default()
            },
        )
        .await?;
        if let Some(e) = swept.failure {
            return Err(e);
        }
        for v in &swept.summary.variants {
            match v.status {
                Some(VariantStatus::Ran) => ran += 1,
                Some(VariantStatus::Skipped) => skipped += 1,
                _ => {}
            }
        }
        let store = r.store().await?;
        let curves = store.training_curves().await?;
        store.close().await;
        let mut sampled = BTreeMap::new();
        if let Some(c) = sampled_config(&exp, p, u) {
            for arm in &u.arms {
                rrtf.log(&format!(
                    "experiment: sampled evaluation of {arm} (seed {}, round {})",
                    u.seed, u.round
                ));
                let dir = u.dir.join(arm);
                let v = eval_with_rows(
                    &r,
                    &c,
                    &u.model_dir(arm),
                    &dir.join(SAMPLED_EVAL.0),
                    &dir.join(SAMPLED_EVAL.1),
                )
                .await?;
                sampled.insert(arm.clone(), v);
            }
        }
        collected.push(results::UnitOutcome {
            unit: u.clone(),
            variants: swept.summary.variants,
            curves,
            sampled,
        });
    }

    // The method's completions on the benchmark, against the base's, for the examples.
    let method = &plan.arms[0];
    let mut method_rows = Vec::new();
    for u in plan
        .units
        .iter()
        .filter(|u| u.seed == plan.seeds[0] && u.arms.contains(method))
    {
        let r = Rrtf {
            db: u.db.clone(),
            ..rrtf.clone()
        };
        let dir = u.dir.join(method);
        eval_with_rows(
            &r,
            &round_config(&exp, p, u),
            &u.model_dir(method),
            &dir.join("eval.json"),
            &dir.join("eval.jsonl"),
        )
        .await?;
        method_rows.push((u.round, dir.join("eval.jsonl")));
    }

    let store = base_db.store().await?;
    let want = plan.base.model.display().to_string();
    let base_curves = store
        .training_curves()
        .await?
        .into_iter()
        .rev()
        .find(|c| c.output_dir == want);
    store.close().await;
    let results = results::assemble(&results::Inputs {
        exp: &exp,
        plan: &plan,
        revision: &rrtf.revision,
        base_eval: &base_eval,
        base_sampled: base_sampled.as_ref(),
        base_curves: base_curves.as_ref(),
        units: &collected,
        base_rows: &plan.out.join("base-eval.jsonl"),
        method_rows: &method_rows,
        seconds: started.elapsed().as_secs_f64(),
    })?;
    let results_path = plan.out.join("results.json");
    let value = serde_json::to_value(&results).expect("serializable");
    write_whole(&results_path, &format!("{value:#}\n"))?;
    let report_path = plan.out.join("report.html");
    write_whole(&report_path, &results::page(&results))?;
    Ok(ExperimentRun {
        results,
        results_path,
        report_path,
        ran,
        skipped,
    })
}
