//! `rrtf synth-tests --config FILE`: its arguments and printed summary; the stage (ask, check,
//! store, validate by running) is `rrtf_pipeline::synth`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_pipeline::synth::SynthRequest;
use rrtf_report::text;

use super::{BadInput, Bar, Ctx};

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The round config ([test_synthesis] and the teacher's [[teachers]] entry).
    #[arg(long)]
    pub config: PathBuf,
    /// Write tests for at most this many prompts (for a trial run).
    #[arg(long)]
    pub max_prompts: Option<u64>,
}

pub async fn synth_tests(ctx: &Ctx, args: SynthArgs) -> Result<()> {
    let request = SynthRequest {
        config: RoundConfig::load(&args.config)?,
        config_path: args.config,
        max_prompts: args.max_prompts,
    };
    let r = ctx.rrtf()?.synth_tests(request, &mut Bar::new("")).await?;
    let (stored, failed, unsent, flagged) = (r.stored, r.failed, r.unsent, r.flagged);
    ctx.emit(
        || {
            let mut text = format!(
                "{} prompts without tests: {stored} tests stored ({} invalid: {:?}), {failed} failed, \
                 {unsent} unsent; validated {} by running them: {} valid, rejected {}; \
                 {flagged} flagged as passed by no response; synthesized tests by state: {:?}",
                r.prompts,
                r.invalid.values().sum::<u64>(),
                r.invalid,
                r.validation.validated,
                r.validation.valid,
                r.summary["validation"]["rejected"],
                r.totals
            );
            let screened = text::decontamination_text(&r.summary["decontamination"]);
            if !screened.is_empty() {
                text.push('\n');
                text.push_str(&screened);
            }
            text.push_str(&text::ledger_text(&r.summary["round_requests"]));
            text
        },
        || r.summary.clone(),
    );
    if let Some(msg) = r.stopped {
        if r.at_budget {
            anyhow::bail!("{msg}");
        }
        return Err(BadInput(msg).into());
    }
    if failed > 0 {
        anyhow::bail!("{failed} request(s) failed; re-run `rrtf synth-tests` to ask again");
    }
    Ok(())
}
