//! `rrtf sweep`: variants of a round's ranking, training and evaluation parameters
//! (`rrtf_pipeline::sweep`), compared in a table; this module parses the arguments and prints
//! the comparison.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_pipeline::sweep::SweepOptions;

use super::Ctx;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (see configs/sweep.toml): a base round config plus [grid] or [[runs]].
    #[arg(long)]
    pub config: PathBuf,
    /// Run every variant again, even those finished before (their models train from scratch).
    #[arg(long)]
    pub rerun: bool,
    /// Do not run the shared data stages (evolve, synth-tests, sample, exec): rank what the
    /// store already holds.
    #[arg(long)]
    pub no_data: bool,
    /// After a variant fails, go on with the others (the sweep still exits with an error).
    #[arg(long)]
    pub keep_going: bool,
    /// The HTML report (default: <output_dir>/report.html).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, a: SweepArgs) -> Result<()> {
    let opts = SweepOptions {
        config: a.config,
        rerun: a.rerun,
        no_data: a.no_data,
        keep_going: a.keep_going,
        report: a.report,
    };
    let run = rrtf_pipeline::sweep::run(&ctx.rrtf_stoppable()?, &opts)
        .await
        .map_err(|e| super::stopped_or(e, "rrtf sweep"))?;
    let s = &run.summary;
    ctx.emit(
        || {
            format!(
                "sweep {} ({:.0}s), sorted by {} ({}):\n\n{}\nreport: {}\ntable: {}\njson: {}",
                s.sweep,
                s.seconds,
                s.metric.name,
                if s.metric.higher_is_better {
                    "higher is better"
                } else {
                    "lower is better"
                },
                run.table,
                s.report.display(),
                s.table.display(),
                s.json.display()
            )
        },
        || serde_json::to_value(s).expect("serializable"),
    );
    match run.failure {
        Some(e) => Err(super::stopped_or(e, "rrtf sweep")),
        None => Ok(()),
    }
}
