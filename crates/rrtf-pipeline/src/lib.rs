//! `rrtf-pipeline`: what runs the stages together. A round ([`round`]), a sweep of round
//! variants ([`sweep`]), pass@k of a checkpoint ([`eval`]), the endpoints a stage talks to
//! ([`endpoints`]: a replay server or a child `rrtf serve`), the quickstart's steps
//! ([`quickstart`]), a training run over the store's ranking ([`train`]). The `rrtf` binary
//! parses arguments, prints results and calls this crate; a program can call it the same way,
//! without clap.
//!
//! A round runs each stage as a child `rrtf --json <stage>` (the command a user would type), so
//! a stage behaves the same alone and in a round: [`Rrtf`] names the executable, the project
//! database and the revision recorded with every run.
//!
//! Architecture Invariant: processes are spawned only here and in `rrtf-exec` (clippy's
//! `disallowed-methods` in the root `clippy.toml` refuses `Command::new` everywhere else).
//! Children are stopped with SIGTERM, then SIGKILL after a grace period ([`child::Supervised`]).
//!
//! Not here: what a stage does (its crate), SQL (`rrtf-store`), HTML (`rrtf-report`), argument
//! parsing and printing (the binary).

// This crate is one of the two that start processes (the other is rrtf-exec): the children are
// `rrtf` commands (stages, `rrtf serve`) and what the caller asks for.
#![allow(clippy::disallowed_methods)]

pub mod child;
pub mod decontam;
pub mod decontaminate;
pub mod endpoints;
mod error;
pub mod eval;
pub mod evolve;
pub mod exec_stage;
pub mod experiment;
pub mod ledger;
pub mod quickstart;
pub mod rank_stage;
pub mod round;
pub mod sample;
pub mod sample_sink;
pub mod stop;
pub mod sweep;
pub mod synth;
pub mod train;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{PipelineError, Result};
use rrtf_config::{Execution, RoundConfig};
use rrtf_exec::ExecConfig;
use rrtf_store::{NewRun, Store};

/// Where progress lines go (one line per call, no trailing newline).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// A count of work done, for the caller to show (the binary's progress bars).
pub trait Counter: Sync {
    /// `total` units of work start, `what` naming them ("evolving", "writing tests").
    fn start(&mut self, _total: u64, _what: &'static str) {}
    /// `n` more done.
    fn inc(&self, _n: u64) {}
    fn finish(&mut self) {}
}

/// Nothing shown.
impl Counter for () {}

/// The project the pipeline works on: its database, the `rrtf` executable whose commands run
/// the stages, the revision recorded with every run, and where progress lines go (stderr by
/// default).
#[derive(Clone)]
pub struct Rrtf {
    pub exe: PathBuf,
    pub db: PathBuf,
    pub revision: String,
    log: Log,
    stage_logs: Option<PathBuf>,
    stop: stop::Stop,
}

impl Rrtf {
    /// The database as messages show it: the file path, or the URL without its password.
    pub fn db_display(&self) -> String {
        rrtf_store::Location::parse(&self.db).display()
    }
}

impl std::fmt::Debug for Rrtf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rrtf")
            .field("exe", &self.exe)
            .field("db", &self.db)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

impl Rrtf {
    /// `exe` is the `rrtf` binary (for the binary itself: `std::env::current_exe()`).
    pub fn new(exe: PathBuf, db: PathBuf, revision: impl Into<String>) -> Self {
        Rrtf {
            exe,
            db,
            revision: revision.into(),
            log: Arc::new(|line| eprintln!("{line}")),
            stage_logs: None,
            stop: stop::Stop::never(),
        }
    }

    /// A stop request (Ctrl-C, SIGTERM: [`stop::Stop::on_signals`]) is forwarded, once, to the
    /// child stage running when it comes (each child runs in its own process group, so a
    /// terminal's Ctrl-C reaches only this process), and no further stage starts: rounds, sweeps
    /// and experiments end with [`PipelineError::Stopped`] once the child has stopped cleanly.
    /// Without it (the default), a child still stops when its parent ends
    /// ([`child::end_with_parent`]).
    pub fn with_stop(mut self, stop: stop::Stop) -> Self {
        self.stop = stop;
        self
    }

    /// The signal that asked this pipeline to stop, if one did ([`Rrtf::with_stop`]).
    pub fn stop_requested(&self) -> Option<stop::Signal> {
        self.stop.requested()
    }

    /// Children also write their log and their final error to `dir/<command>.log`, and a
    /// failure quotes its end (see [`child`]).
    pub fn with_stage_logs(mut self, dir: PathBuf) -> Self {
        self.stage_logs = Some(dir);
        self
    }

    /// Progress lines go to `log` instead of stderr.
    pub fn with_log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// One progress line.
    pub fn log(&self, line: &str) {
        (self.log)(line)
    }

    /// The project database.
    pub async fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.db).await?)
    }

    /// The run record of `stage` under a round config: its round, snapshot, hash and seed.
    pub fn run_of(&self, config: &RoundConfig, stage: &str) -> NewRun {
        round_run(config, stage, &self.revision)
    }
}

/// The run record of `stage` under a round config (the stages' `begin_run`): round number,
/// config snapshot and hash, `revision`, the round's seed.
pub fn round_run(config: &RoundConfig, stage: &str, revision: &str) -> NewRun {
    NewRun {
        round: config.round.number,
        stage: stage.to_owned(),
        config_json: config.snapshot_json(),
        config_hash: config.hash(),
        revision: Some(revision.to_owned()),
        seed: Some(config.round.seed as i64),
    }
}

/// The executor's limits from a round's `[execution]` section, over `base` (its defaults, or
/// what the command line set): timeout, memory, output, workers (0 keeps `base`'s), and the
/// insecure sandbox when either asks for it.
pub fn exec_config(x: &Execution, base: ExecConfig) -> ExecConfig {
    let mut cfg = ExecConfig {
        timeout: Duration::from_secs_f64(x.timeout_s),
        memory_mb: x.memory_mb,
        output_limit_kb: x.max_output_kb,
        insecure_sandbox: base.insecure_sandbox || x.insecure_sandbox,
        ..base
    };
    if x.workers > 0 {
        cfg.workers = x.workers as usize;
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_execution_section_sets_the_limits_over_the_base() {
        let x = Execution {
            timeout_s: 2.5,
            memory_mb: 300,
            max_output_kb: 64,
            workers: 0,
            insecure_sandbox: false,
            external_workers: false,
        };
        let base = ExecConfig {
            workers: 3,
            insecure_sandbox: true,
            python: "/opt/python3".into(),
            ..ExecConfig::default()
        };
        let c = exec_config(&x, base);
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!((c.memory_mb, c.output_limit_kb), (300, 64));
        assert_eq!(c.workers, 3, "workers = 0 keeps the base's");
        assert!(
            c.insecure_sandbox,
            "the command line's --insecure-sandbox stays"
        );
        assert_eq!(c.python, std::path::Path::new("/opt/python3"));
        let c = exec_config(
            &Execution {
                workers: 2,
                insecure_sandbox: true,
                ..x
            },
            ExecConfig::default(),
        );
        assert_eq!(c.workers, 2);
        assert!(c.insecure_sandbox);
    }
}
