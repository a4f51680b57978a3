//! `rrtf review`: operator review of ranked data. Every action is appended to the audit trail
//! (author, reason, time) through `rrtf_data::review::submit` (then `record`, the web review's
//! path too); exports and training apply the latest action of each kind.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{Args, Subcommand};
use rrtf_data::review::{PromptFilter, ReviewRequest, effective_order, submit};
use rrtf_store::{ReviewAction, ReviewPolicy, Store};
use serde_json::json;

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
    /// Show the review policy, or set which actions need a reason (`--require-reason
    /// pin,exclude`; `none` for none). Kept in the database: every reviewer (CLI or web) is
    /// held to it, and each change is recorded with its author.
    Policy(PolicyArgs),
    /// The web review's reviewers (`rrtf review serve --auth`): each logs in with its own token
    /// and acts as itself.
    #[command(subcommand)]
    Users(UsersCmd),
}

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// Add a reviewer and print its token, once (only its SHA-256 is stored): hand it to the
    /// reviewer, who pastes it into the login page.
    Add {
        /// The reviewer's name, as the audit trail shows it.
        name: String,
        /// Who adds it (default: $USER).
        #[arg(long, env = "USER", hide_env_values = true)]
        by: Option<String>,
    },
    /// Give a reviewer a new token (printed once): the old one and its sessions stop working;
    /// a removed reviewer may log in again.
    Reset { name: String },
    /// Remove a reviewer: its token and sessions stop working now; its reviews stay in the
    /// audit trail under its name.
    Remove { name: String },
    /// The reviewers, their live sessions, who added them and when.
    List,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Actions that must give a reason, comma-separated: pin, unpin, exclude, include,
    /// reorder (a note is its own text), or `none`.
    #[arg(long, value_delimiter = ',')]
    pub require_reason: Option<Vec<String>>,
    /// Who changes the policy (default: $USER).
    #[arg(long, env = "USER", hide_env_values = true)]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_parser = super::parse_round)]
    pub round: Option<i64>,
    /// Only prompts with a response from this teacher.
    #[arg(long)]
    pub teacher: Option<String>,
    /// Only prompts with a response of this outcome (repeatable: all must appear). With
    /// `--teacher`: a response of that teacher's has it (both hold for the same response).
    #[arg(long)]
    pub outcome: Vec<String>,
    /// Only prompts whose text, source id or one of whose responses contains this text
    /// (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
    /// Only prompts whose best and worst scores differ by at least this much.
    #[arg(long, allow_negative_numbers = true)]
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

/// The review an action asks for.
fn request(
    prompt: String,
    response_id: Option<i64>,
    action: ReviewAction,
    c: Common,
) -> ReviewRequest {
    ReviewRequest {
        prompt,
        response_id,
        action,
        payload: None,
        author: c.author,
        reason: c.reason,
        note: None,
    }
}

pub async fn run(ctx: &Ctx, cmd: ReviewCmd) -> Result<()> {
    let store = ctx.store().await?;
    // Ok: a review to record; Err: the result of a command that records none.
    let review = match cmd {
        ReviewCmd::List(a) => Err(list(ctx, &store, a).await),
        ReviewCmd::Show {
            prompt,
            ranker,
            full,
        } => Err(show(ctx, &store, &prompt, ranker, full).await),
        ReviewCmd::Stats { ranker } => Err(stats(ctx, &store, ranker).await),
        ReviewCmd::Serve(a) => Err(super::review_web::serve(ctx, store.clone(), a).await),
        ReviewCmd::Policy(a) => Err(policy(ctx, &store, a).await),
        ReviewCmd::Users(c) => Err(users(ctx, &store, c).await),
        ReviewCmd::Pin(a) => Ok(request(
            a.prompt,
            Some(a.response),
            ReviewAction::Pin,
            a.common,
        )),
        ReviewCmd::Unpin(a) => Ok(request(a.prompt, a.response, ReviewAction::Unpin, a.common)),
        ReviewCmd::Exclude(a) => Ok(request(
            a.prompt,
            a.response,
            ReviewAction::Exclude,
            a.common,
        )),
        ReviewCmd::Include(a) => Ok(request(
            a.prompt,
            a.response,
            ReviewAction::Include,
            a.common,
        )),
        ReviewCmd::Reorder(a) => Ok(ReviewRequest {
            payload: Some(json!({ "order": a.responses })),
            ..request(a.prompt, None, ReviewAction::Reorder, a.common)
        }),
        ReviewCmd::Note(a) => Ok(ReviewRequest {
            note: Some(a.text),
            ..request(a.prompt, a.response, ReviewAction::Note, a.common)
        }),
    };
    let result = match review {
        Err(done) => done,
        Ok(r) => submit(&store, r).await.map_err(Into::into).map(|r| {
            ctx.emit(
                || {
                    let target = r
                        .response_id
                        .map_or(String::new(), |id| format!(" response {id}"));
                    format!(
                        "review {}: {} prompt {}{target} by {}",
                        r.review_id, r.action, r.prompt_id, r.author
                    )
                },
                || serde_json::to_value(&r).expect("review serialises"),
            )
        }),
    };
    store.close().await;
    result
}

async fn users(ctx: &Ctx, store: &Store, cmd: UsersCmd) -> Result<()> {
    let token_line = |name: &str, token: &str, what: &str| {
        format!(
            "{what} {name}; its token, shown this once (only its hash is kept):\n{token}\n\
             It logs in to `rrtf review serve --auth`; `rrtf review users reset {name}` replaces it."
        )
    };
    match cmd {
        UsersCmd::Add { name, by } => {
            let by = by.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                BadInput("who adds the reviewer? pass --by NAME (or set USER)".into())
            })?;
            let token = store.add_reviewer(&name, &by).await?;
            ctx.emit(
                || token_line(&name, &token, "added reviewer"),
                || json!({ "name": name, "token": token }),
            );
        }
        UsersCmd::Reset { name } => {
            let token = store.reset_reviewer(&name).await?;
            ctx.emit(
                || token_line(&name, &token, "new token for reviewer"),
                || json!({ "name": name, "token": token }),
            );
        }
        UsersCmd::Remove { name } => {
            store.remove_reviewer(&name).await?;
            ctx.emit(
                || format!("removed reviewer {name}: its token and sessions no longer work"),
                || json!({ "name": name, "removed": true }),
            );
        }
        UsersCmd::List => {
            let all = store.reviewers().await?;
            ctx.emit(
                || {
                    if all.is_empty() {
                        return "no reviewers: add one with `rrtf review users add NAME`".into();
                    }
                    let mut t = rrtf_report::Table::new([
                        "reviewer", "state", "sessions", "added by", "added at",
                    ]);
                    for r in &all {
                        let state = match &r.revoked_at {
                            Some(at) => format!("removed {at}"),
                            None => "active".into(),
                        };
                        t.push([
                            r.name.clone(),
                            state,
                            r.sessions.to_string(),
                            r.created_by.clone(),
                            r.created_at.clone(),
                        ]);
                    }
                    t.text(&[])
                },
                || json!({ "reviewers": all }),
            );
        }
    }
    Ok(())
}

async fn policy(ctx: &Ctx, store: &Store, a: PolicyArgs) -> Result<()> {
    if let Some(names) = a.require_reason {
        let mut require = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if name == "none" {
                continue;
            }
            let action: ReviewAction = name.parse().map_err(|_| {
                BadInput(format!(
                    "--require-reason {name}: not a review action; give pin, unpin, exclude, \
                     include or reorder (comma-separated), or none"
                ))
            })?;
            if action == ReviewAction::Note {
                return Err(BadInput(
                    "--require-reason note: a note's text is its reason; give pin, unpin, \
                     exclude, include or reorder"
                        .into(),
                )
                .into());
            }
            require.push(action);
        }
        let author = a.author.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            BadInput("who changes the policy? pass --author NAME (or set USER)".into())
        })?;
        store
            .set_review_policy(
                &ReviewPolicy {
                    require_reason: require,
                },
                &author,
            )
            .await?;
    }
    let state = store.review_policy().await?;
    ctx.emit(
        || {
            let actions: Vec<&str> = state
                .policy
                .require_reason
                .iter()
                .map(|a| a.as_str())
                .collect();
            let required = if actions.is_empty() {
                "no action needs a reason".to_owned()
            } else {
                format!("a reason is required to {}", actions.join(", "))
            };
            match (&state.set_by, &state.set_at) {
                (Some(by), Some(at)) => format!("review policy: {required} (set by {by} at {at})"),
                _ => format!("review policy: {required} (the default; never set)"),
            }
        },
        || serde_json::to_value(&state).expect("policy serialises"),
    );
    Ok(())
}

async fn list(ctx: &Ctx, store: &Store, a: ListArgs) -> Result<()> {
    // A misspelt outcome would match nothing, and an empty list would look like an answer.
    for o in &a.outcome {
        o.parse::<rrtf_store::Outcome>()
            .map_err(|why| BadInput(format!("--outcome {o}: {why}")))?;
    }
    let ranker = store.resolve_ranker(a.ranker.as_deref()).await?;
    let filter = PromptFilter {
        round: a.round,
        teacher: a.teacher,
        outcomes: a.outcome,
        min_gap: a.min_gap,
        status: a.status,
        flagged: a.flagged,
        reviewed: (a.reviewed || a.unreviewed).then_some(a.reviewed),
        among: match &a.search {
            Some(needle) => Some(store.search_prompts(needle).await?),
            None => None,
        },
        ..PromptFilter::default()
    };
    let all = store.prompt_summaries(&ranker.hash).await?;
    // A misspelt teacher too: name the ones this ranking has.
    if let Some(t) = &filter.teacher
        && !all.iter().any(|p| p.teachers.contains(t))
    {
        let known: std::collections::BTreeSet<&String> =
            all.iter().flat_map(|p| p.teachers.iter()).collect();
        let known: Vec<&str> = known.into_iter().map(String::as_str).collect();
        return Err(BadInput(format!(
            "--teacher {t}: no ranked response is from a model of that name (this ranking's: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ))
        .into());
    }
    let rows: Vec<_> = all.into_iter().filter(|p| filter.matches(p)).collect();
    let total = rows.len();
    let shown = &rows[..total.min(a.limit)];
    ctx.emit(
        || rrtf_report::review_text::prompt_list(shown, total, &ranker.hash),
        || json!({ "ranker": ranker.hash, "total": total, "prompts": shown }),
    );
    Ok(())
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
        || rrtf_report::review_text::prompt_detail(&d, &effective, full),
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
            rrtf_report::review_text::review_stats(&ranker.hash, &models, &outcomes, &hist)
        },
        || json!({ "ranker": ranker.hash, "models": models, "outcomes": outcomes,
                   "score_histogram": hist.iter().map(|(lo, hi, n)| json!({"lo": lo, "hi": hi, "count": n})).collect::<Vec<_>>() }),
    );
    Ok(())
}
