//! Command definitions and dispatch. Each subcommand group lives in its own module; this module
//! holds the global options, the output convention and the error-to-exit-code mapping.
//!
//! Output convention: with `--json`, stdout carries exactly one JSON document (or JSON lines for
//! streaming commands) and nothing else; human text, warnings and progress bars go to stderr.
//! Without `--json`, the human result goes to stdout.

mod config;
mod data;
mod db;
mod decontaminate;
mod eval;
mod evolve;
mod exec;
mod exec_stage;
mod experiment;
mod model;
mod quickstart;
mod rank;
mod report;
mod review;
mod review_web;
mod round;
mod sample;
mod serve;
mod status;
mod sweep;
mod synth;
pub mod term;
mod tokenizer;
mod train;
mod train_bench;
mod train_plan;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Align code language models with ranking feedback (RRTF).
#[derive(Debug, Parser)]
#[command(name = "rrtf", version, about, propagate_version = true)]
pub struct Cli {
    /// Project database: a SQLite file, or a PostgreSQL URL (`postgres://user:pass@host/db`,
    /// for teams). Created by `rrtf init`.
    #[arg(long, global = true, env = "RRTF_DB", default_value = "./rrtf.db")]
    pub db: PathBuf,
    /// Machine-readable output on stdout; human text and progress go to stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug). `RRTF_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
    /// Where `db` came from (the command line, `RRTF_DB`, the default): see [`Cli::parse_args`].
    #[arg(skip)]
    pub db_source: Option<clap::parser::ValueSource>,
}

impl Cli {
    /// The command line, parsed (exiting with clap's message on an error), and where the
    /// database's name came from.
    pub fn parse_args() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let matches = negative_numbers_are_values(Cli::command())
            .try_get_matches()
            .unwrap_or_else(|e| usage_exit(e));
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_exit(e));
        cli.db_source = matches.value_source("db");
        cli
    }
}

/// A round number on the command line (`--round`, `--rounds`): 0 (imported data) or more.
pub fn parse_round(s: &str) -> Result<i64, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| "not a round number: rounds are numbered 0, 1, 2, ...".to_owned())?;
    if n < 0 {
        return Err("rounds are numbered from 0 (round 0 holds imported data)".into());
    }
    Ok(n)
}

/// Every option and positional that takes a value takes `-1` or `-0.5` as one, so that a
/// negative number reaches the option's own check ("invalid value '-1' for '--batch <N>'")
/// instead of clap reading it as an unknown flag ("unexpected argument '-1' found"). Flags
/// have no numeric names, so nothing else changes.
fn negative_numbers_are_values(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    })
    .mut_subcommands(negative_numbers_are_values)
}

/// A usage error (clap's: an unknown flag, a bad value, a missing argument): its text on
/// stderr and exit 2, and with `--json` on the command line, the same JSON error document on
/// stdout that every other failure prints (`main`), so a script never reads an empty stdout.
fn usage_exit(mut e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    // A negative number for a count ("invalid digit found in string"): say what is wanted.
    if e.kind() == ErrorKind::ValueValidation
        && let Some(ContextValue::String(v)) = e.get(ContextKind::InvalidValue)
        && v.starts_with('-')
        && v.parse::<f64>().is_ok()
    {
        let tip = format!("this option takes a number of 0 or more, not {v}");
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
    }
    let help = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if !help && std::env::args_os().any(|a| a == "--json") {
        let text = e.render().to_string();
        let message = text.trim().trim_start_matches("error: ").to_owned();
        print_out(
            &serde_json::json!({"error": {
                "kind": "usage",
                "message": message,
                "hint": null,
                "exit_code": e.exit_code(),
            }})
            .to_string(),
        );
    }
    e.exit()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A complete round offline on shipped data (replay teacher, local student): start here.
    Quickstart(quickstart::QuickstartArgs),
    /// Create the project database (or migrate an existing one).
    Init,
    /// Import prompt datasets and collected responses.
    #[command(subcommand)]
    Import(data::ImportCmd),
    /// Counts per stage and round.
    Status,
    /// The project database itself: `rrtf db copy` moves a project between SQLite and
    /// PostgreSQL.
    #[command(subcommand)]
    Db(db::DbCmd),
    /// Round configuration files.
    #[command(subcommand)]
    Config(config::ConfigCmd),
    /// Evolve prompts with Evol-Instruct (an LLM makes them harder), filtered and deduplicated.
    Evolve(evolve::EvolveArgs),
    /// Remove benchmark problems from what can reach training: prompts (text, reference, tests)
    /// and responses that leak a benchmark (n-gram overlap, MinHash paraphrases, canonical
    /// solutions). Every round stage does this with the round's benchmarks; this runs it now.
    Decontaminate(decontaminate::DecontaminateArgs),
    /// Have a teacher write unit tests for prompts that have none (checked, then stored).
    SynthTests(synth::SynthArgs),
    /// Sample responses from the teachers and the student (OpenAI-compatible endpoints).
    Sample(sample::SampleArgs),
    /// Execute generated code against unit tests in a sandbox; pass@k.
    Exec(exec::ExecArgs),
    /// Score and rank executed responses (outcomes, teacher preference, heuristics, filters).
    Rank(rank::RankArgs),
    /// Operator review: list, show, pin, exclude, reorder, note, stats; serve (in a browser).
    #[command(subcommand)]
    Review(review::ReviewCmd),
    /// Write a static HTML report with plots (outcomes per model, scores, pairs per round).
    Report(report::ReportArgs),
    /// Export ranked data for TRL, LLaMA-Factory, KTO, or as listwise rrtf rows.
    Export(data::ExportArgs),
    /// Tokenizers: train a byte-level BPE with StarCoder's special tokens.
    #[command(subcommand)]
    Tokenizer(tokenizer::TokenizerCommand),
    /// StarCoder-family models: init, logprobs, generate, bench, quantize.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Train on ranked groups with the RRTF objective; `train loss` scores a checkpoint.
    Train(train::TrainArgs),
    /// pass@k of a checkpoint (or a file of completions) on HumanEval-style benchmarks, in one
    /// language or several (HumanEval-X), with cross-language pass@k.
    Eval(eval::EvalArgs),
    /// Experiments: a base student, arms compared over rounds and seeds, results.json and a page.
    #[command(subcommand)]
    Experiment(experiment::ExperimentCmd),
    /// One round end to end: evolve, synthesize tests, sample, execute, rank, train, evaluate,
    /// register the student, report. Resumable; finished stages are skipped.
    Round(round::RoundArgs),
    /// Variants of a round's ranking, training and evaluation parameters (a grid or a list),
    /// each a recorded run, compared in a table, `--json` and an HTML page of plots. Resumable.
    Sweep(sweep::SweepArgs),
    /// Serve a checkpoint over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions).
    Serve(serve::ServeArgs),
}

/// The project revision this binary was built from (recorded with every run).
pub const REVISION: &str = env!("RRTF_REVISION");

/// Whether a command printed its JSON document ([`Ctx::emit`]): a failure after it (requests
/// that failed, `--strict`) does not print a second one, the error object.
pub static JSON_EMITTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Global context handed to every command.
pub struct Ctx {
    pub db: PathBuf,
    /// Where `db` came from: `--db`, `RRTF_DB` or the default.
    pub db_source: Option<clap::parser::ValueSource>,
    pub json: bool,
}

impl Ctx {
    /// Print a command's result: `json` on stdout with `--json` (exact), else `human` on
    /// stdout with control characters made visible ([`term::clean`]: stored text may carry
    /// escape sequences meant for the reader's terminal).
    pub fn emit(&self, human: impl FnOnce() -> String, json: impl FnOnce() -> serde_json::Value) {
        if self.json {
            JSON_EMITTED.store(true, std::sync::atomic::Ordering::SeqCst);
            print_out(&json().to_string());
        } else {
            let text = human();
            if !text.is_empty() {
                print_out(&term::clean(text.trim_end()));
            }
        }
    }
}

/// Write `text` and a newline to stdout. A reader that went away (`rrtf status | head -3`) ends
/// the command quietly with exit code 0, as other Unix tools do, instead of a panic (Rust ignores
/// SIGPIPE, so the write fails with `BrokenPipe`); the command's work is already done and stored.
pub fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => panic!("failed printing to stdout: {e}"),
    }
}

impl Ctx {
    /// The database as messages show it: the file path, or the URL without its password.
    pub fn db_display(&self) -> String {
        rrtf_store::Location::parse(&self.db).display()
    }

    /// Open the project database named by --db / RRTF_DB.
    pub async fn store(&self) -> anyhow::Result<rrtf_store::Store> {
        Ok(rrtf_store::Store::open(&self.db).await?)
    }

    /// The pipeline over this project, its stages run by this binary.
    pub fn rrtf(&self) -> anyhow::Result<rrtf_pipeline::Rrtf> {
        use anyhow::Context;
        let exe = std::env::current_exe().context("locating the rrtf binary")?;
        Ok(rrtf_pipeline::Rrtf::new(exe, self.db.clone(), REVISION))
    }

    /// The pipeline for a command that runs stages as child processes (round, sweep,
    /// experiment): Ctrl-C and SIGTERM are caught, forwarded once to the stage running, and
    /// end the command once that stage has stopped cleanly (see [`stopped_or`]).
    pub fn rrtf_stoppable(&self) -> anyhow::Result<rrtf_pipeline::Rrtf> {
        Ok(self
            .rrtf()?
            .with_stop(rrtf_pipeline::stop::Stop::on_signals()))
    }
}

/// A pipeline error as `command`'s error: a clean stop by a signal becomes
/// [`rrtf_pipeline::stop::Interrupted`] (the binary exits with 128 + the signal's number and
/// prints how to resume: the same command, without a sweep's `--rerun`, which would redo what
/// finished), any other error stays as it is.
pub fn stopped_or(e: rrtf_pipeline::PipelineError, command: &str) -> anyhow::Error {
    match e.stopped_by() {
        Some(signal) => rrtf_pipeline::stop::Interrupted {
            stage: command.into(),
            signal,
            done: "the stage running then stopped cleanly and recorded what it finished (its \
                   own run says what); finished stages are skipped when it runs again"
                .into(),
            resume: same_command(&[("--rerun", false)]),
        }
        .into(),
        None => e.into(),
    }
}

/// A progress bar on stderr; `len` 0: a counter. When stderr is not a terminal (a log file, a
/// pipe, a round's stage) the bar is not drawn: a line (`progress_line`) is written at the
/// start, every `RRTF_PROGRESS_SECS` seconds (default 5) while it runs, and at its end
/// ([`Bar::finish`]).
pub fn progress_bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = if len == 0 {
        ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg}: {pos} rows ({per_sec})")
                .expect("valid template"),
        )
    } else {
        ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        )
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let bar = bar.with_message(message);
    if bar.is_hidden() {
        eprintln!("{}", progress_line(&bar));
        let weak = bar.downgrade();
        let every = progress_interval();
        let spawned = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    match weak.upgrade() {
                        Some(bar) if !bar.is_finished() => eprintln!("{}", progress_line(&bar)),
                        _ => break,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("no progress lines: {e}");
        }
    }
    bar
}

/// `-v` given: when stderr is not a terminal, a progress line after every batch (a sampled
/// batch, an executed batch, a training step) too.
pub static VERBOSE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Clear a progress bar; when it was not drawn (stderr is not a terminal), write its last line,
/// as promised for progress lines (one at the start, ..., one at the end).
pub fn progress_done(bar: &ProgressBar) {
    if bar.is_hidden() && !bar.is_finished() {
        eprintln!("{}", progress_line(bar));
    }
    bar.finish_and_clear();
}

/// With `-v` and a progress bar that is not drawn: its line now ([`VERBOSE`]).
pub fn progress_tick(bar: &ProgressBar) {
    if bar.is_hidden() && VERBOSE.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        eprintln!("{}", progress_line(bar));
    }
}

/// `RRTF_PROGRESS_SECS` (seconds between progress lines when stderr is not a terminal), or 5.
fn progress_interval() -> std::time::Duration {
    std::env::var("RRTF_PROGRESS_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(std::time::Duration::from_secs(5), |s| {
            std::time::Duration::from_secs_f64(s.max(0.01))
        })
}

/// One progress line: `progress: STAGE done/total (share, rate/s, eta)`, or `done (rate/s)`
/// for a counter.
pub fn progress_line(bar: &ProgressBar) -> String {
    let (pos, rate) = (bar.position(), bar.per_sec());
    match bar.length() {
        Some(len) if len > 0 => format!(
            "progress: {} {pos}/{len} ({:.0}%, {rate:.1}/s, eta {})",
            bar.message(),
            100.0 * pos as f64 / len as f64,
            indicatif::HumanDuration(bar.eta())
        ),
        _ => format!("progress: {} {pos} ({rate:.1}/s)", bar.message()),
    }
}

/// Progress as a bar on stderr: the pipeline's counts of work ([`rrtf_pipeline::Counter`]), a
/// stage's or a command's ([`rrtf_pipeline::eval::Progress`]), training's and sampling's (their
/// commands' modules).
pub struct Bar(pub &'static str, pub Option<ProgressBar>);

impl Bar {
    pub fn new(message: &'static str) -> Self {
        Bar(message, None)
    }
    /// Clear the bar; when it was not drawn (stderr is not a terminal), write its last line.
    pub fn finish(&mut self) {
        for b in self.1.iter().filter(|b| !b.is_finished()) {
            if b.is_hidden() {
                eprintln!("{}", progress_line(b));
            }
            b.finish_and_clear();
        }
    }
}

impl rrtf_pipeline::Counter for Bar {
    fn start(&mut self, total: u64, what: &'static str) {
        self.1 = Some(progress_bar(total, what));
    }
    fn inc(&self, n: u64) {
        self.1.iter().for_each(|b| b.inc(n));
    }
    fn finish(&mut self) {
        Bar::finish(self)
    }
}

impl rrtf_pipeline::eval::Progress for Bar {
    fn start(&mut self, total: u64) {
        self.1 = Some(progress_bar(total, self.0));
    }
    fn inc(&mut self) {
        self.1.iter().for_each(|b| b.inc(1));
    }
    fn batch_done(&mut self) {
        self.1.iter().for_each(progress_tick);
    }
    fn finish(&mut self) {
        Bar::finish(self)
    }
}

pub use rrtf_pipeline::stop::same_command;

/// An error caused by the user's arguments or input files: exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for BadInput {}

impl rrtf_types::UserError for BadInput {
    fn is_user_error(&self) -> bool {
        true
    }
}

/// `serving`: `rrtf serve` logs its requests (info) even without -v.
/// Logging to stderr at the verbosity asked (`-v`, `RRTF_LOG`), and with `stage_log` (a stage a
/// round started) also to that file, at info level and without colours.
pub fn init_tracing(verbose: u8, serving: bool, stage_log: Option<&std::path::Path>) {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, fmt};
    // sqlx warns of every statement slower than a second (a bulk copy, a large import): not the
    // user's business unless asked for (`-v`).
    let default = match verbose {
        0 if serving => "warn,sqlx::query=error,rrtf_serve=info,rrtf::cli::serve=info",
        0 => "warn,sqlx::query=error",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("RRTF_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter);
    let file = stage_log.and_then(|path| {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        match file {
            Ok(file) => Some(
                fmt::layer()
                    .with_writer(std::sync::Mutex::new(file))
                    .with_ansi(false)
                    .with_target(false)
                    .with_filter(LevelFilter::INFO),
            ),
            Err(e) => {
                eprintln!(
                    "warning: cannot write the stage log {}: {e}",
                    path.display()
                );
                None
            }
        }
    });
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .init();
}

/// Append `line` to the file at `path` (a stage log); a failure only warns.
pub fn append_line(path: &std::path::Path, line: &str) {
    use std::io::Write;
    let written = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot write the stage log {}: {e}",
            path.display()
        );
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    let ctx = Ctx {
        db: cli.db,
        db_source: cli.db_source,
        json: cli.json,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Quickstart(args) => quickstart::run(&ctx, args),
            Command::Init => data::init(&ctx).await,
            Command::Import(cmd) => data::import(&ctx, cmd).await,
            Command::Status => status::status(&ctx).await,
            Command::Db(cmd) => db::run(&ctx, cmd).await,
            Command::Export(args) => data::export_cmd(&ctx, args).await,
            Command::Config(cmd) => config::run(&ctx, cmd),
            Command::Sample(args) => sample::sample(&ctx, args).await,
            Command::Evolve(args) => evolve::evolve(&ctx, args).await,
            Command::Decontaminate(args) => decontaminate::run(&ctx, args).await,
            Command::SynthTests(args) => synth::synth_tests(&ctx, args).await,
            Command::Rank(args) => rank::run(&ctx, args).await,
            Command::Review(cmd) => review::run(&ctx, cmd).await,
            Command::Report(args) => report::run(&ctx, args).await,
            Command::Exec(args) => exec::run(&ctx, args).await,
            Command::Model(cmd) => model::run(&ctx, cmd),
            Command::Eval(args) => eval::run(&ctx, args),
            Command::Experiment(cmd) => experiment::run(&ctx, cmd).await,
            Command::Round(args) => round::run(&ctx, args).await,
            Command::Sweep(args) => sweep::run(&ctx, args).await,
            Command::Tokenizer(cmd) => tokenizer::run(&ctx, cmd),
            Command::Train(args) => train::run(&ctx, args).await,
            Command::Serve(args) => serve::run(&ctx, args).await,
        }
    })
}
