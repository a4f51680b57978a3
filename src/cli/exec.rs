//! `rrtf exec`: run samples against their unit tests in the sandbox (`run`), show the sandbox's
//! protections and toolchains (`doctor`), compute pass@k from result files (`passk`). The rows
//! are `rrtf_exec::rows`', the diagnosis `rrtf_exec::doctor`'s (its text `rrtf_report::text`'s);
//! this module parses the limits and prints. Without a subcommand, the pipeline stage
//! (`exec_stage.rs`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};
use rrtf_exec::doctor::Doctor;
use rrtf_exec::{ExecConfig, Executor, passk, rows};
use rrtf_report::text;
use serde_json::json;

use super::{BadInput, Ctx};

/// Without a subcommand: the pipeline stage (every stored response with tests and no execution
/// yet; resumable). With one: the stand-alone tools.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExecArgs {
    #[command(subcommand)]
    pub command: Option<ExecCommand>,
    #[command(flatten)]
    pub stage: super::exec_stage::StageArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExecCommand {
    /// Run samples (JSONL) against their tests; write one result row per sample, in input order.
    Run(RunArgs),
    /// Show which sandbox protections are active here and which toolchains are installed.
    Doctor(LimitArgs),
    /// Unbiased pass@k (Codex paper) from a results file.
    Passk(PasskArgs),
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Parallel workers (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Wall-clock limit per sample, seconds (HumanEval's harness uses 3).
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    pub timeout: f64,
    /// Address-space limit per sample, MiB.
    #[arg(long, default_value_t = 1024)]
    pub memory_mb: u64,
    /// Python interpreter for the warm workers (a system install: the sandbox cannot read /root).
    #[arg(long, default_value = "/usr/bin/python3")]
    pub python: PathBuf,
    /// Compile cache of C++, Java, Rust and Go builds (default: /var/cache/rrtf-exec for root,
    /// else ~/.cache/rrtf-exec). Sample uids must be able to read it; not under /tmp.
    #[arg(long, conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Build every program from scratch (no compile cache).
    #[arg(long)]
    pub no_cache: bool,
    /// Execute even without namespaces (not root, and unprivileged user namespaces refused):
    /// a weaker sandbox, whose gaps `rrtf exec doctor` lists. Without it the executor refuses.
    #[arg(long)]
    pub insecure_sandbox: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Rows: task_id, [language], code | prompt + completion, test, [entry_point].
    #[arg(long)]
    pub input: PathBuf,
    /// Rows: task_id, outcome, passed, tests_passed, tests_total, detail, wall_ms, cpu_ms,
    /// peak_rss_kb.
    #[arg(long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct PasskArgs {
    /// Result rows with task_id and passed (or outcome).
    #[arg(long)]
    pub input: PathBuf,
    /// Comma-separated k values.
    #[arg(short, long, value_delimiter = ',', default_value = "1,10,100")]
    pub k: Vec<u64>,
}

pub async fn run(ctx: &Ctx, args: ExecArgs) -> Result<()> {
    let command = match args.command {
        Some(c) => c,
        None => return super::exec_stage::run(ctx, args.stage).await,
    };
    // The stand-alone tools block on the worker pool's threads.
    tokio::task::block_in_place(|| match command {
        ExecCommand::Run(a) => run_samples(ctx, a),
        ExecCommand::Doctor(a) => doctor(ctx, a),
        ExecCommand::Passk(a) => pass_k(ctx, a),
    })
}

pub(super) fn config(a: &LimitArgs) -> Result<ExecConfig> {
    if !(a.timeout > 0.0 && a.timeout <= 600.0) {
        return Err(BadInput(format!(
            "--timeout must be in (0, 600] seconds, got {}",
            a.timeout
        ))
        .into());
    }
    // Below it the interpreters cannot start, and good code would be stored as
    // `memory_limit` or `crashed` (stored results are not run again).
    if a.memory_mb < rrtf_exec::MIN_MEMORY_MB {
        return Err(BadInput(format!(
            "--memory-mb must be at least {} MiB (interpreters need it to start), got {}",
            rrtf_exec::MIN_MEMORY_MB,
            a.memory_mb
        ))
        .into());
    }
    if a.workers == Some(0) {
        return Err(BadInput("--workers must be at least 1, got 0".into()).into());
    }
    let mut c = ExecConfig {
        timeout: Duration::from_secs_f64(a.timeout),
        memory_mb: a.memory_mb,
        python: a.python.clone(),
        insecure_sandbox: a.insecure_sandbox,
        ..ExecConfig::default()
    };
    if let Some(w) = a.workers {
        c.workers = w;
    }
    if a.no_cache {
        c.cache_dir = None;
    } else if let Some(dir) = &a.cache_dir {
        c.cache_dir = Some(dir.clone());
    }
    Ok(c)
}

fn run_samples(ctx: &Ctx, a: RunArgs) -> Result<()> {
    let exec = Executor::new(config(&a.limits)?)?;
    // Missing protections were logged as warnings by Executor::new.
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let start = Instant::now();
    let ran = rows::run_file(&exec, &a.input, &a.output, |n| {
        bar.set_length(n as u64);
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let (n, counts) = (ran.samples, ran.outcomes);
    let secs = start.elapsed().as_secs_f64();
    let passed = counts.get("pass").copied().unwrap_or(0);
    ctx.emit(
        || {
            let by: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!(
                "{n} samples in {secs:.1}s ({:.0}/s): {}\nwrote {}",
                n as f64 / secs,
                by.join(", "),
                a.output.display()
            )
        },
        || json!({"samples": n, "passed": passed, "seconds": secs, "outcomes": counts, "output": a.output, "executor": exec.fingerprint()}),
    );
    Ok(())
}

fn doctor(ctx: &Ctx, a: LimitArgs) -> Result<()> {
    let d = rrtf_exec::doctor::diagnose(config(&a)?);
    ctx.emit(|| text::doctor_text(&d), || text::doctor_json(&d));
    let Doctor {
        executor,
        self_test,
        ..
    } = d;
    executor?;
    if let Err(m) = self_test {
        anyhow::bail!("self-test failed: {m}");
    }
    Ok(())
}

fn pass_k(ctx: &Ctx, a: PasskArgs) -> Result<()> {
    let rows = rows::read_results(&a.input)?;
    let scores = passk::pass_at_k(rows.iter().map(|(t, p)| (t.as_str(), *p)), &a.k)?;
    let tasks: HashSet<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    ctx.emit(
        || {
            let mut s = format!("{} samples, {} tasks\n", rows.len(), tasks.len());
            for (k, v) in &scores {
                s += &format!("pass@{k}: {:.4}\n", v);
            }
            s
        },
        || {
            let mut m = serde_json::Map::new();
            for (k, v) in &scores {
                m.insert(format!("pass@{k}"), json!(v));
            }
            json!({"samples": rows.len(), "tasks": tasks.len(), "pass_at_k": m})
        },
    );
    Ok(())
}
