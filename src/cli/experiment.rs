//! `rrtf experiment run`: an experiment file's base, arms, rounds and seeds
//! (`rrtf_pipeline::experiment`); this module parses the arguments and prints the table.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use rrtf_pipeline::experiment::{ExperimentOptions, results::mean_std};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum ExperimentCmd {
    /// Make the base student (when missing), run every arm, round and seed (resumable), and
    /// write DIR/results.json and DIR/report.html.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (see experiments/funcworld/experiment.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// The experiment's seed: the base's, and the first replicate's (the next are N+1, ...).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A profile of the file (quick, full, ...); default: its default_profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// The output directory (default: the file's out/<profile>-seed<N>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan (units, seeds, directories) and run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(ctx: &Ctx, cmd: ExperimentCmd) -> Result<()> {
    let ExperimentCmd::Run(a) = cmd;
    let opts = ExperimentOptions {
        config: a.config,
        profile: a.profile,
        seed: a.seed,
        out: a.out,
    };
    if a.dry_run {
        let plan = rrtf_pipeline::experiment::plan_of(&opts)?;
        ctx.emit(
            || {
                let mut out = format!(
                    "experiment {} (profile {}, seeds {:?}) in {}\nbase: {}",
                    plan.experiment,
                    plan.profile,
                    plan.seeds,
                    plan.out.display(),
                    plan.base.model.display()
                );
                for u in &plan.units {
                    out.push_str(&format!(
                        "\nseed {} round {}: {} (student {})",
                        u.seed,
                        u.round,
                        u.arms.join(", "),
                        u.student.display()
                    ));
                }
                out
            },
            || serde_json::to_value(&plan).expect("serializable"),
        );
        return Ok(());
    }
    let run = rrtf_pipeline::experiment::run(&ctx.rrtf_stoppable()?, &opts)
        .await
        .map_err(|e| super::stopped_or(e, "rrtf experiment run"))?;
    let r = &run.results;
    ctx.emit(
        || {
            let mut out = format!(
                "experiment {} (profile {}, seeds {:?}): base pass@1 {}\n",
                r.experiment,
                r.profile,
                r.seeds,
                r.base
                    .pass_at_k
                    .get("pass@1")
                    .map_or("n/a".into(), |v| format!("{v:.4}"))
            );
            for c in &r.cells {
                out.push_str(&format!(
                    "  {:<18} round {}: pass@1 {}\n",
                    c.arm,
                    c.round,
                    mean_std(&c.pass_at_1)
                ));
            }
            out.push_str(&format!(
                "{} unit(s) ran, {} done before\nresults: {}\nreport: {}",
                run.ran,
                run.skipped,
                run.results_path.display(),
                run.report_path.display()
            ));
            out
        },
        || serde_json::to_value(&run).expect("serializable"),
    );
    Ok(())
}
