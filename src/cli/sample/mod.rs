//! `rrtf sample --config FILE`: its arguments, the progress bar and Ctrl-C, and the printed
//! summary; the run is `rrtf_pipeline::sample` (resumable: what is stored is never sent again).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_config::RoundConfig;
use rrtf_pipeline::sample::{SampleProgress, SampleReport, SampleRequest, Sampled};
use rrtf_report::text;

use super::{BadInput, Bar, Ctx, progress_bar};

mod report;

use report::human;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The round config (teachers, student, [sampling]).
    #[arg(long)]
    pub config: PathBuf,
    /// Sample only these endpoints (teacher or student names). Repeatable.
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// Count what would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds the requests this process is about to send stay its own without a renewal
    /// (renewed every third of it). Any number of `rrtf sample` on one database send each
    /// request once between them; a killed one's requests go to the others once its lease runs
    /// out.
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(3..=86_400))]
    pub lease_secs: u64,
}

/// The sending's progress.
impl SampleProgress for Bar {
    fn start(&mut self, to_send: u64) {
        self.1 = Some(progress_bar(to_send, "sampling"));
    }
    fn inc(&self, n: u64) {
        self.1.iter().for_each(|b| {
            b.inc(n);
            super::progress_tick(b);
        });
    }
    fn finish(&mut self) {
        Bar::finish(self)
    }
}

pub async fn sample(ctx: &Ctx, args: SampleArgs) -> Result<()> {
    let request = SampleRequest {
        config: RoundConfig::load(&args.config)?,
        config_path: args.config,
        only: args.only,
        dry_run: args.dry_run,
        // Ctrl-C or SIGTERM stops the sending (the requests in flight are finished and
        // stored); a second one exits at once.
        stop: rrtf_pipeline::stop::Stop::on_signals(),
        lease: std::time::Duration::from_secs(args.lease_secs),
    };
    let sampled = match ctx
        .rrtf()?
        .sample(request, &mut Bar::new("sampling"))
        .await?
    {
        SampleReport::DryRun(v) => {
            ctx.emit(|| dry_run_text(&v), || v.clone());
            return Ok(());
        }
        SampleReport::Sampled(s) => s,
    };
    let (failed, fatal, unsent) = (sampled.failed(), sampled.fatal(), sampled.unsent());
    let Sampled {
        round,
        endpoints: eps,
        counts: per_endpoint,
        reports,
        stats,
        budget,
        seconds: elapsed,
        summary,
        interrupted,
    } = *sampled;
    ctx.emit(
        || {
            let mut text = human(&eps, &per_endpoint, &reports, &stats, &budget, elapsed);
            let screened = text::decontamination_text(&summary["decontamination"]);
            if !screened.is_empty() {
                text.push('\n');
                text.push_str(&screened);
            }
            let refused = &summary["eliminated_by_teacher_answers"];
            if refused["eliminated"].as_u64().unwrap_or(0) > 0 {
                text.push_str(&format!(
                    "\n{} prompt(s) eliminated: every teacher answer was an apology or only \
                     stop words (WizardLM's rules 2 and 3)",
                    refused["eliminated"]
                ));
            }
            for e in summary["endpoints"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n{}: {} of {} responses in the round ended by length ({:.1}%)",
                    e["name"].as_str().unwrap_or(""),
                    e["ended_by_length"],
                    e["responses"],
                    e["length_share"].as_f64().unwrap_or(0.0) * 100.0
                ));
            }
            text.push_str(&format!("\nround {round} ledger:"));
            for m in summary["round_ledger"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n  {}: {} responses, tokens {} in / {} out, ${:.4}",
                    m["model"].as_str().unwrap_or(""),
                    m["responses"],
                    m["prompt_tokens"],
                    m["completion_tokens"],
                    m["cost_usd"].as_f64().unwrap_or(0.0)
                ));
            }
            text.push_str(&text::ledger_text(&summary["round_requests"]));
            text
        },
        || summary.clone(),
    );

    if let Some(signal) = interrupted {
        return Err(rrtf_pipeline::stop::Interrupted {
            stage: "rrtf sample".into(),
            signal,
            done: format!(
                "the answers in flight were stored; {unsent} request(s) were not sent and the \
                 run is recorded as interrupted"
            ),
            resume: super::same_command(&[]),
        }
        .into());
    }
    if !fatal.is_empty() {
        return Err(BadInput(fatal.join("\n")).into());
    }
    if failed > 0 {
        anyhow::bail!("{failed} request(s) failed (see above); re-run `rrtf sample` to retry them");
    }
    Ok(())
}

/// `--dry-run`'s text: per endpoint what would be sent, its key and its worst-case cost; the
/// first requests as they would be sent; what decontamination would eliminate. Nothing is
/// sent or written.
fn dry_run_text(v: &serde_json::Value) -> String {
    let mut text = String::from("(dry run: nothing is sent or written)\n");
    for r in v["endpoints"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "{}: {} planned, {} stored, {} to send; about {} prompt tokens and at most {} \
             completion tokens: at most ${:.4}; API key: {}\n",
            r["name"].as_str().unwrap_or(""),
            r["planned"],
            r["stored"],
            r["to_send"],
            r["prompt_tokens_estimate"],
            r["completion_tokens_max"],
            r["cost_usd_max"].as_f64().unwrap_or(0.0),
            r["api_key"].as_str().unwrap_or("")
        ));
    }
    if let Some(budget) = v["budget_usd"].as_f64() {
        text.push_str(&format!("budget: ${budget:.2} per round\n"));
    }
    text.push_str("(prompt tokens estimated at 4 characters a token; the cost assumes every answer uses max_tokens)\n");
    for ex in v["examples"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\n--- request to {} (prompt {}, temperature {}, sample {}; max_tokens {}) ---\n",
            ex["endpoint"].as_str().unwrap_or(""),
            ex["prompt_id"],
            ex["temperature"],
            ex["sample_index"],
            ex["params"]["max_tokens"]
        ));
        let prompt = &ex["prompt"];
        if let Some(t) = prompt["text"].as_str() {
            text.push_str(t);
            text.push('\n');
        }
        for m in prompt["chat"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "[{}]\n{}\n",
                m["role"].as_str().unwrap_or(""),
                m["content"].as_str().unwrap_or("")
            ));
        }
    }
    let screened = &v["decontamination"];
    if !screened.is_null() {
        text.push_str(&format!(
            "\n(dry run) decontamination would eliminate {} of {} prompt(s)",
            screened["prompts"]["prompts_eliminated"], screened["prompts"]["prompts_checked"]
        ));
    }
    text.trim_end().to_owned()
}
