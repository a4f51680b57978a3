//! `rrtf quickstart`: a complete round on data compiled into the binary, offline, on the CPU
//! (`rrtf_pipeline::quickstart`); then where to look next.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use rrtf_pipeline::quickstart::QuickstartOptions;
use rrtf_pipeline::round::Stage;

use super::Ctx;

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Directory for the project (database, models, report). Re-running continues in it.
    #[arg(long, default_value = "rrtf-quickstart")]
    pub dir: PathBuf,
    /// Stop after this round stage (see `rrtf round --help`).
    #[arg(long, value_parser = super::round::stage_parser())]
    pub until: Option<Stage>,
}

pub fn run(ctx: &Ctx, a: QuickstartArgs) -> Result<()> {
    // Its database is `<dir>/rrtf.db`: a `--db` is refused, an `RRTF_DB` (set for other work)
    // is said to be left aside.
    let own = a.dir.join("rrtf.db");
    match ctx.db_source {
        Some(clap::parser::ValueSource::CommandLine) => {
            return Err(super::BadInput(format!(
                "rrtf quickstart keeps its database in its directory ({}), not in --db {}: \
                 leave --db out, and choose the directory with --dir",
                own.display(),
                ctx.db.display()
            ))
            .into());
        }
        Some(clap::parser::ValueSource::EnvVariable) => eprintln!(
            "note: RRTF_DB ({}) is not used: the quickstart's database is {}",
            ctx.db.display(),
            own.display()
        ),
        _ => {}
    }
    let exe = std::env::current_exe().context("locating the rrtf binary")?;
    let opts = QuickstartOptions {
        dir: a.dir,
        until: a.until,
        json: ctx.json,
        stop: rrtf_pipeline::stop::Stop::on_signals(),
    };
    rrtf_pipeline::quickstart::run(&exe, &opts)
        .map_err(|e| super::stopped_or(e, "rrtf quickstart"))?;
    let dir = &opts.dir;
    if !ctx.json {
        let report = dir.join("report.html");
        let next = Path::new("models/student-r1/round-2.toml");
        if report.exists() {
            let round2 = if dir.join(next).exists() {
                format!(
                    "; round 2 (paths in its config are relative to {0}): \
                     `cd {0} && rrtf round --config {1}`",
                    dir.display(),
                    next.display()
                )
            } else {
                String::new()
            };
            println!(
                "\nNext: open {} in a browser; review with `rrtf --db {} review list`{round2}.",
                report.display(),
                dir.join("rrtf.db").display()
            );
        } else {
            // Stopped early (`--until`): no report, no trained model yet.
            println!(
                "\nNext: `rrtf quickstart --dir {}` (without --until) runs the remaining \
                 stages; what is stored so far: `rrtf --db {} status`.",
                dir.display(),
                dir.join("rrtf.db").display()
            );
        }
    }
    Ok(())
}
