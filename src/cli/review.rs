//! `rrtf review`: operator review of ranked data. Every action is appended to the audit trail
//! (author, reason, time) through `rrtf_data::review::record`; exports and training apply the
//! latest action of each kind.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{Args, Subcommand};
use rrtf_data::review::{effective_order, record};
use rrtf_store::{NewReview, PromptSummary, ReviewAction, Store};
use serde_json::{Value, json};

use super::{BadInput, Ctx};

#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// List ranked prompts (latest ranking), with filters.
    List(ListArgs),
    /// Show one prompt: text, tests, responses in ranked order with outcome, first failing
    /// test and score breakdown, and its reviews.
    Show {
        /// Prompt id, or source id such as HumanEval/0.
        prompt: String,
        #[arg(long)]
        ranker: Option<String>,
        /// Print whole responses and tests instead of their first lines.
        #[arg(long)]
        full: bool,
    },
    /// Put a response first for its prompt.
    Pin(Action2),
    /// Remove a pin (of this response, or any).
    Unpin(Action1),
    /// Leave a response (or, without RESPONSE, the whole prompt) out of exports and training.
    Exclude(Action1),
    /// Undo an exclusion.
    Include(Action1),
    /// Set the order of a prompt's responses (listed first, best first).
    Reorder(ReorderArgs),
    /// Attach a note to a prompt (or one of its responses).
    Note(NoteArgs),
    /// Pass rate per model, outcome histogram, score distribution.
    Stats {
        #[arg(long)]
        ranker: Option<String>,
    },
    /// Review in a web browser: rounds and plots, prompt lists with filters, responses side
    /// by side; pins, exclusions and notes go to the same audit trail.
    Serve(super::review_web::ServeArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub round: Option<i64>,
    /// Only prompts with a response from this teacher.
    #[arg(long)]
    pub teacher: Option<String>,
    /// Only prompts with a response of this outcome (repeatable: all must appear).
    #[arg(long)]
    pub outcome: Vec<String>,
    /// Only prompts whose best and worst scores differ by at least this much.
    #[arg(long)]
    pub min_gap: Option<f64>,
    /// kept (by the ranker, not excluded by review), dropped (by the ranker's filters) or
    /// excluded (by review).
    #[arg(long, value_parser = ["kept", "dropped", "excluded"])]
    pub status: Option<String>,
    /// Only prompts with flagged tests (tests no response passes).
    #[arg(long)]
    pub flagged: bool,
    /// Only prompts that have reviews.
    #[arg(long, conflicts_with = "unreviewed")]
    pub reviewed: bool,
    /// Only prompts without reviews.
    #[arg(long)]
    pub unreviewed: bool,
    #[arg(long)]
    pub ranker: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Who is reviewing (default: $USER).
    #[arg(long, env = "USER", hide_env_values = true)]
    pub author: Option<String>,
    /// Why (recorded in the audit trail).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct Action1 {
    pub prompt: String,
    pub response: Option<i64>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct Action2 {
    pub prompt: String,
    pub response: i64,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ReorderArgs {
    pub prompt: String,
    /// Response ids, best first.
    #[arg(required = true, num_args = 1..)]
    pub responses: Vec<i64>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    pub prompt: String,
    pub text: String,
    #[arg(long)]
    pub response: Option<i64>,
    #[command(flatten)]
    pub common: Common,
}

pub async fn run(ctx: &Ctx, cmd: ReviewCmd) -> Result<()> {
    let store = ctx.store().await?;
    let result = match cmd {
        ReviewCmd::List(a) => list(ctx, &store, a).await,
        ReviewCmd::Show {
            prompt,
            ranker,
            full,
        } => show(ctx, &store, &prompt, ranker, full).await,
        ReviewCmd::Stats { ranker } => stats(ctx, &store, ranker).await,
        ReviewCmd::Serve(a) => super::review_web::serve(ctx, store.clone(), a).await,
        ReviewCmd::Pin(a) => {
            act(
                ctx,
                &store,
                &a.prompt,
                Some(a.response),
                ReviewAction::Pin,
                None,
                a.common,
            )
            .await
        }
        ReviewCmd::Unpin(a) => {
            act(
                ctx,
                &store,
                &a.prompt,
                a.response,
                ReviewAction::Unpin,
                None,
                a.common,
            )
            .await
        }
        ReviewCmd::Exclude(a) => {
            act(
                ctx,
                &store,
                &a.prompt,
                a.response,
                ReviewAction::Exclude,
                None,
                a.common,
            )
            .await
        }
        ReviewCmd::Include(a) => {
            act(
                ctx,
                &store,
                &a.prompt,
                a.response,
                ReviewAction::Include,
                None,
                a.common,
            )
            .await
        }
        ReviewCmd::Reorder(a) => {
            let payload = json!({ "order": a.responses });
            act(
                ctx,
                &store,
                &a.prompt,
                None,
                ReviewAction::Reorder,
                Some(payload),
                a.common,
            )
            .await
        }
        ReviewCmd::Note(a) => {
            let mut common = a.common;
            common.reason = Some(match common.reason {
                Some(r) => format!("{}\n{r}", a.text),
                None => a.text,
            });
            act(
                ctx,
                &store,
                &a.prompt,
                a.response,
                ReviewAction::Note,
                None,
                common,
            )
            .await
        }
    };
    store.close().await;
    result
}

async fn act(
    ctx: &Ctx,
    store: &Store,
    prompt: &str,
    response_id: Option<i64>,
    action: ReviewAction,
    payload: Option<Value>,
    common: Common,
) -> Result<()> {
    let author = common
        .author
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| BadInput("who is reviewing? pass --author NAME (or set USER)".into()))?;
    let prompt_id = store.find_prompt(prompt).await?;
    let review = NewReview {
        prompt_id,
        response_id,
        action,
        payload,
        author: author.clone(),
        reason: common.reason,
    };
    let id = record(store, review).await?;
    ctx.emit(
        || {
            let target = response_id.map_or(String::new(), |r| format!(" response {r}"));
            format!("review {id}: {action} prompt {prompt_id}{target} by {author}")
        },
        || json!({ "review_id": id, "prompt_id": prompt_id, "response_id": response_id, "action": action, "author": author }),
    );
    Ok(())
}

async fn list(ctx: &Ctx, store: &Store, a: ListArgs) -> Result<()> {
    let ranker = store.resolve_ranker(a.ranker.as_deref()).await?;
    let all = store.prompt_summaries(&ranker.hash).await?;
    let rows: Vec<_> = all
        .into_iter()
        .filter(|p| a.round.is_none_or(|r| p.round == r))
        .filter(|p| a.teacher.as_ref().is_none_or(|t| p.teachers.contains(t)))
        .filter(|p| a.outcome.iter().all(|o| p.outcomes.contains_key(o)))
        .filter(|p| a.min_gap.is_none_or(|g| p.best - p.worst >= g))
        .filter(|p| a.status.as_ref().is_none_or(|s| status(p) == s))
        .filter(|p| !a.flagged || p.flagged_tests > 0)
        .filter(|p| !a.reviewed || p.reviews > 0)
        .filter(|p| !a.unreviewed || p.reviews == 0)
        .collect();
    let total = rows.len();
    let shown = &rows[..total.min(a.limit)];
    ctx.emit(
        || {
            let mut out = format!(
                "{:>7}  {:<22} {:>5} {:>4}  {:>6} {:>6}  {:<8} {}\n",
                "prompt", "source id", "round", "resp", "best", "worst", "status", "outcomes"
            );
            for p in shown {
                let mix: Vec<String> = p.outcomes.iter().map(|(o, n)| format!("{o}:{n}")).collect();
                let status = if p.reviews > 0 {
                    format!("{}*", status(p))
                } else {
                    status(p).to_owned()
                };
                out.push_str(&format!(
                    "{:>7}  {:<22} {:>5} {:>4}  {:>6.3} {:>6.3}  {:<8} {}\n",
                    p.prompt_id,
                    truncate(&p.source_id, 22),
                    p.round,
                    p.responses,
                    p.best,
                    p.worst,
                    status,
                    mix.join(" ")
                ));
            }
            out.push_str(&format!(
                "{} of {total} prompts shown (ranker {}; * = reviewed)",
                shown.len(),
                &ranker.hash[..12]
            ));
            out
        },
        || json!({ "ranker": ranker.hash, "total": total, "prompts": shown }),
    );
    Ok(())
}

/// What happens to a ranked prompt: `excluded` by review, else the ranker's `kept`/`dropped`.
fn status(p: &PromptSummary) -> &str {
    if p.excluded { "excluded" } else { &p.status }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn first_lines(s: &str, n: usize, full: bool) -> String {
    let lines: Vec<&str> = s.lines().collect();
    if full || lines.len() <= n {
        return s.trim_end().to_owned();
    }
    format!(
        "{}\n… ({} more lines; --full shows all)",
        lines[..n].join("\n"),
        lines.len() - n
    )
}

async fn show(
    ctx: &Ctx,
    store: &Store,
    prompt: &str,
    ranker: Option<String>,
    full: bool,
) -> Result<()> {
    let ranker = match store.resolve_ranker(ranker.as_deref()).await {
        Ok(r) => Some(r.hash),
        Err(rrtf_store::StoreError::NoRankings) => None,
        Err(e) => return Err(e.into()),
    };
    let d = store.prompt_detail(prompt, ranker.as_deref()).await?;
    let effective = effective_order(&d);
    ctx.emit(
        || {
            let p = &d.prompt;
            let mut out = format!(
                "prompt {} ({} {}, round {}, {}, {})\n",
                p.prompt_id, p.source, p.source_id, p.round, p.kind, p.language
            );
            if let Some(parent) = p.parent_id {
                out.push_str(&format!(
                    "evolved from prompt {parent} by {}\n",
                    p.evolution_method.as_deref().unwrap_or("?")
                ));
            }
            out.push_str(&format!("{}\n\n", first_lines(&p.text, 12, full)));
            for t in &d.tests {
                out.push_str(&format!(
                    "test {} ({}, {}{}):\n{}\n\n",
                    t.id,
                    t.origin,
                    t.validation,
                    t.validation_detail
                        .as_deref()
                        .map_or(String::new(), |d| format!(": {d}")),
                    first_lines(&t.code, 8, full)
                ));
            }
            match (&d.ranking_status, &d.drop_reason) {
                (Some(_), Some(reason)) => {
                    out.push_str(&format!("DROPPED by the ranker: {reason}\n"))
                }
                (Some(s), None) => out.push_str(&format!("ranking: {s}\n")),
                _ => out.push_str("not ranked\n"),
            }
            for r in &d.responses {
                let pos = r.position.map_or("-".to_owned(), |p| format!("#{p}"));
                out.push_str(&format!(
                    "\n{pos} response {} — {} ({}), T={}, sample {}: {} {}/{}, score {}\n",
                    r.response_id,
                    r.model,
                    r.role,
                    r.temperature.map_or("-".into(), |t| format!("{t}")),
                    r.sample_index,
                    r.outcome.map_or("not executed", |o| o.as_str()),
                    r.tests_passed.unwrap_or(0),
                    r.tests_total.unwrap_or(0),
                    r.score.map_or("-".into(), |s| format!("{s:.4}")),
                ));
                if let Some(c) = &r.components_json {
                    out.push_str(&format!("  components: {c}\n"));
                }
                if let Some(f) = &r.first_failure {
                    out.push_str(&format!("  first failure: {}\n", first_lines(f, 3, full)));
                }
                let text = r.code.as_deref().unwrap_or(&r.raw_text);
                for line in first_lines(text, 10, full).lines() {
                    out.push_str(&format!("  | {line}\n"));
                }
            }
            if !d.reviews.is_empty() {
                out.push_str("\nreviews:\n");
                for v in &d.reviews {
                    out.push_str(&format!(
                        "  {} {} {}{} by {}{}\n",
                        v.id,
                        v.created_at,
                        v.action,
                        v.response_id
                            .map_or(String::new(), |r| format!(" response {r}")),
                        v.author,
                        v.reason
                            .as_deref()
                            .map_or(String::new(), |r| format!(": {r}"))
                    ));
                }
                out.push_str(&format!("effective order after reviews: {effective:?}\n"));
            }
            out
        },
        || {
            let mut j = serde_json::to_value(&d).expect("detail serialises");
            j["effective_order"] = json!(effective);
            j
        },
    );
    Ok(())
}

async fn stats(ctx: &Ctx, store: &Store, ranker: Option<String>) -> Result<()> {
    let ranker = store.resolve_ranker(ranker.as_deref()).await?;
    let models = store.model_stats(&ranker.hash).await?;
    let scores = store.scores(&ranker.hash).await?;
    let mut outcomes: BTreeMap<String, i64> = BTreeMap::new();
    for m in &models {
        for (o, n) in &m.outcomes {
            *outcomes.entry(o.clone()).or_default() += n;
        }
    }
    let hist = rrtf_report::plots::histogram(&scores, 10);
    ctx.emit(
        || {
            let mut out = format!("ranker {}\n{:<24} {:<8} {:>9} {:>9} {:>10}\n", &ranker.hash[..12], "model", "role", "responses", "pass rate", "mean score");
            for m in &models {
                out.push_str(&format!("{:<24} {:<8} {:>9} {:>8.1}% {:>10.3}\n", truncate(&m.model, 24), m.role, m.responses, 100.0 * m.pass_rate, m.mean_score));
            }
            out.push_str("\noutcomes:\n");
            let total: i64 = outcomes.values().sum();
            for (o, n) in &outcomes {
                let bar = "#".repeat(((*n as f64 / total.max(1) as f64) * 40.0).round() as usize);
                out.push_str(&format!("  {o:<14} {n:>8} {bar}\n"));
            }
            out.push_str("\nscores:\n");
            let peak = hist.iter().map(|b| b.2).max().unwrap_or(1).max(1);
            for (lo, hi, n) in &hist {
                let bar = "#".repeat(((*n as f64 / peak as f64) * 40.0).round() as usize);
                out.push_str(&format!("  [{lo:>6.2}, {hi:>6.2}) {n:>8} {bar}\n"));
            }
            out
        },
        || json!({ "ranker": ranker.hash, "models": models, "outcomes": outcomes,
                   "score_histogram": hist.iter().map(|(lo, hi, n)| json!({"lo": lo, "hi": hi, "count": n})).collect::<Vec<_>>() }),
    );
    Ok(())
}
