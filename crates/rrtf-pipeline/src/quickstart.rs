//! The quickstart (`rrtf quickstart`): a complete round on data compiled into the binary,
//! offline, on the CPU. It writes the shipped files (`quickstart/` in the repository) into a
//! directory, makes the student (a byte-level BPE tokenizer learned from those files and a
//! seeded `mini` model), imports the seed problems and runs `rrtf round` there. Every step is
//! skipped when its output exists, so a killed quickstart continues where it stopped.

use std::path::{Path, PathBuf};

use crate::round::Stage;
use crate::{PipelineError, Result, Rrtf};

/// The shipped files: (name, contents).
pub const FILES: [(&str, &str); 5] = [
    ("round.toml", include_str!("../../../quickstart/round.toml")),
    ("sweep.toml", include_str!("../../../quickstart/sweep.toml")),
    (
        "problems.jsonl",
        include_str!("../../../quickstart/problems.jsonl"),
    ),
    (
        "teacher.jsonl",
        include_str!("../../../quickstart/teacher.jsonl"),
    ),
    (
        "benchmark.jsonl",
        include_str!("../../../quickstart/benchmark.jsonl"),
    ),
];

/// Where and how far.
#[derive(Clone, Debug)]
pub struct QuickstartOptions {
    /// The project directory (database, models, report); a re-run continues in it.
    pub dir: PathBuf,
    /// Stop after this round stage.
    pub until: Option<Stage>,
    /// The round prints its JSON summary (else its human summary) on stdout.
    pub json: bool,
    /// Ctrl-C and SIGTERM ([`crate::stop::Stop::on_signals`]) are forwarded to the step running,
    /// which stops cleanly, and no further step starts ([`Rrtf::with_stop`]).
    pub stop: crate::stop::Stop,
}

/// Run the quickstart with `exe` as the `rrtf` binary (see the module docs). The round's own
/// output goes to stdout; the steps' progress to stderr.
pub fn run(exe: &Path, opts: &QuickstartOptions) -> Result<()> {
    let dir = &opts.dir;
    std::fs::create_dir_all(dir.join("models"))
        .map_err(|e| PipelineError::io(format!("creating {}", dir.display()), e))?;
    for (name, text) in FILES {
        let path = dir.join(name);
        if !path.exists() {
            std::fs::write(&path, text)
                .map_err(|e| PipelineError::io(format!("writing {}", path.display()), e))?;
        }
    }
    // Each step's log goes to `logs/<command>.log` in the quickstart's directory.
    let rrtf = Rrtf::new(exe.to_owned(), "rrtf.db".into(), "")
        .with_stage_logs(dir.join("logs"))
        .with_stop(opts.stop.clone());
    rrtf.log(&format!("quickstart in {}", dir.display()));
    rrtf.run_in(dir, &["init"], false)?;
    rrtf.run_in(dir, &["import", "prompts", "problems.jsonl"], false)?;
    if !dir.join("models/tokenizer.json").exists() {
        rrtf.log("learning a tokenizer from the shipped files");
        rrtf.run_in(
            dir,
            &[
                "tokenizer",
                "train",
                "--files",
                "problems.jsonl",
                "teacher.jsonl",
                "benchmark.jsonl",
                "--vocab-size",
                "1024",
                "--out",
                "models/tokenizer.json",
            ],
            false,
        )?;
    }
    if !dir.join("models/student-r0/config.json").exists() {
        rrtf.log("initialising the student (preset mini, seed 7)");
        rrtf.run_in(
            dir,
            &[
                "model",
                "init",
                "--preset",
                "mini",
                "--tokenizer",
                "models/tokenizer.json",
                "--out",
                "models/student-r0",
                "--seed",
                "7",
            ],
            false,
        )?;
    }
    let mut args = vec!["round", "--config", "round.toml", "--report", "report.html"];
    if let Some(u) = opts.until {
        args.extend(["--until", u.name()]);
    }
    if opts.json {
        args.insert(0, "--json");
    }
    rrtf.run_in(dir, &args, true)?;
    Ok(())
}
