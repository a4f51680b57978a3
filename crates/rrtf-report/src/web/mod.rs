//! The web review (`rrtf review serve`): operator review in a web browser, over the project
//! store.
//!
//! Server-rendered pages (`pages.rs`), no external assets, and one script of the page's own (the
//! prompt page's keys and drag-and-drop reordering, which submit its forms): an index with the
//! rounds and the report's plots, a filtered and paginated prompt list, and a prompt page with
//! its tests and responses side by side. Its forms POST review actions that go through the same
//! path as the CLI's (`rrtf_data::review::record`, the store's append-only `reviews` table),
//! authored by the reviewer. It reads and writes only through `rrtf-store`'s typed API.
//!
//! Bound to 127.0.0.1 by default. Requests whose `Host` is not a loopback name are refused while
//! bound to loopback (DNS rebinding), and a POST from another origin is refused (a page on
//! another site cannot submit reviews through the operator's browser). There is no login: anyone
//! who can reach the port can review, as the reviewer.

mod pages;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rrtf_data::DataError;
use rrtf_data::review::{PromptFilter, effective_order};
use rrtf_store::{NewReview, ReviewAction, Store, StoreError};
use serde::Deserialize;

use crate::ReportError;
use crate::overview::Overview;
use rrtf_types::UserError;

/// Where and as whom.
#[derive(Clone, Debug)]
pub struct WebOptions {
    /// Address to listen on (another than loopback exposes the review to the network).
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Who is reviewing: the author of every action taken in the browser.
    pub reviewer: Option<String>,
    /// Ranker hash (or prefix); default: the latest ranking at each request.
    pub ranker: Option<String>,
    /// The database, as the index names it.
    pub db: String,
}

/// What every handler shares.
struct App {
    store: Store,
    reviewer: String,
    ranker: Option<String>,
    db: String,
    loopback: bool,
}

type Shared = Arc<App>;

/// The review server, listening; [`ReviewWeb::run`] serves until Ctrl-C or SIGTERM.
pub struct ReviewWeb {
    listener: tokio::net::TcpListener,
    router: Router,
    url: String,
    reviewer: String,
}

/// Check the options and listen.
pub async fn bind(store: Store, o: WebOptions) -> Result<ReviewWeb, ReportError> {
    let reviewer = o
        .reviewer
        .filter(|r| !r.trim().is_empty())
        .ok_or(ReportError::NoReviewer)?;
    if let Some(r) = &o.ranker {
        store.resolve_ranker(Some(r)).await?;
    }
    let listener = tokio::net::TcpListener::bind((o.host, o.port))
        .await
        .map_err(|error| ReportError::Bind {
            addr: format!("{}:{}", o.host, o.port),
            error,
        })?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| ReportError::io("the review server's address", e))?;
    let url = format!("http://{addr}/");
    let app = Arc::new(App {
        store,
        reviewer: reviewer.clone(),
        ranker: o.ranker,
        db: o.db,
        loopback: o.host.is_loopback(),
    });
    let router = Router::new()
        .route("/", get(index))
        .route("/prompts", get(list))
        .route("/prompts/{id}", get(prompt))
        .route("/prompts/{id}/review", post(review))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app);
    Ok(ReviewWeb {
        listener,
        router,
        url,
        reviewer,
    })
}

impl ReviewWeb {
    /// `http://ADDR/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn reviewer(&self) -> &str {
        &self.reviewer
    }

    /// Serve until Ctrl-C or SIGTERM.
    pub async fn run(self) -> Result<(), ReportError> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| ReportError::io("review server failed", e))
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// An error page: 404 for unknown ids, 400 for bad input, 500 otherwise.
#[derive(Debug)]
enum WebError {
    Store(StoreError),
    Bad(String),
    Failed(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Store(e)
    }
}

/// A review action `rrtf_data::review::record` refused (a 400 page naming why) or could not
/// store.
impl From<DataError> for WebError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Store(e) => WebError::Store(e),
            e if e.is_user_error() => WebError::Bad(e.to_string()),
            e => WebError::Failed(e.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            WebError::Store(e @ (StoreError::UnknownPrompt(_) | StoreError::UnknownId { .. })) => {
                (StatusCode::NOT_FOUND, crate::error_text(&e))
            }
            WebError::Store(e) if e.is_user_error() => {
                (StatusCode::BAD_REQUEST, crate::error_text(&e))
            }
            WebError::Bad(m) => (StatusCode::BAD_REQUEST, m),
            WebError::Store(e) => (StatusCode::INTERNAL_SERVER_ERROR, crate::error_text(&e)),
            WebError::Failed(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{message}");
        }
        let body = pages::error(status.as_u16(), &message);
        (status, Html(body)).into_response()
    }
}

type Page = Result<Html<String>, WebError>;

/// Refuse non-loopback `Host`s while bound to loopback (`rrtf_serve::host`, the guard
/// `rrtf serve` uses too), and cross-origin POSTs. Every answer forbids framing
/// (clickjacking: another site's page cannot show the review under a decoy and make the
/// operator click its buttons).
async fn guard(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let mut resp = check(&app, req, next).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("frame-ancestors 'none'"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    resp
}

async fn check(app: &App, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !rrtf_serve::host::host_allowed(app.loopback, Some(host)) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers only to a loopback host name",
        );
    }
    if req.method() == Method::POST && !same_origin(headers, host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "cross-origin review actions are refused",
        );
    }
    next.run(req).await
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, Html(pages::error(status.as_u16(), why))).into_response()
}

/// A browser's POST says where it comes from (`Origin`, or `Sec-Fetch-Site`); it must be this
/// server. Clients that send neither (curl, scripts) are not browsers driven by another site.
fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| o == format!("http://{host}"));
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin" || v == "none")
}

async fn not_found() -> Response {
    refuse(StatusCode::NOT_FOUND, "no such page")
}

impl App {
    /// The ranker pages show: `--ranker`, else the latest; None when nothing is ranked.
    async fn ranker(&self) -> Result<Option<String>, StoreError> {
        match self.store.resolve_ranker(self.ranker.as_deref()).await {
            Ok(r) => Ok(Some(r.hash)),
            Err(StoreError::NoRankings) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

async fn index(State(app): State<Shared>) -> Page {
    let ranker = app.ranker().await?;
    let view = Overview::load(&app.store, ranker.as_deref()).await?;
    let excluded = match &ranker {
        Some(r) => app
            .store
            .prompt_summaries(r)
            .await?
            .iter()
            .filter(|p| p.excluded)
            .count(),
        None => 0,
    };
    Ok(Html(pages::index(&app.db, &app.reviewer, &view, excluded)))
}

/// The prompt list's query string. Fields are text so that an empty choice means "any".
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    round: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reviewed: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

pub(crate) const PAGE_SIZE: usize = 50;

async fn list(State(app): State<Shared>, Query(q): Query<ListQuery>) -> Page {
    let bad = |what: &str, v: &str| WebError::Bad(format!("bad {what} {v:?} in the query"));
    let round: Option<i64> = match q.round.trim() {
        "" => None,
        r => Some(r.parse().map_err(|_| bad("round", r))?),
    };
    let page: usize = match q.page.trim() {
        "" => 1,
        p => p
            .parse()
            .ok()
            .filter(|&p| p >= 1)
            .ok_or_else(|| bad("page", p))?,
    };
    let Some(ranker) = app.ranker().await? else {
        return Ok(Html(pages::list(&app.reviewer, &q, &[], &[], 0, 1, None)));
    };
    let summaries = app.store.prompt_summaries(&ranker).await?;
    let given = |v: &String| (!v.is_empty()).then(|| v.clone());
    let filter = PromptFilter {
        round,
        ranker_status: given(&q.status),
        outcomes: given(&q.outcome).into_iter().collect(),
        reviewed: match q.reviewed.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        excluded: q.reviewed == "excluded",
        among: match q.q.trim() {
            "" => None,
            needle => Some(app.store.search_prompts(needle).await?),
        },
        ..PromptFilter::default()
    };
    let rows: Vec<_> = summaries
        .into_iter()
        .filter(|p| filter.matches(p))
        .collect();
    let total = rows.len();
    let start = ((page - 1) * PAGE_SIZE).min(total);
    let shown = &rows[start..total.min(start + PAGE_SIZE)];
    let rounds: Vec<i64> = app
        .store
        .status()
        .await?
        .rounds
        .iter()
        .map(|r| r.round)
        .collect();
    Ok(Html(pages::list(
        &app.reviewer,
        &q,
        &rounds,
        shown,
        total,
        page,
        Some(&ranker),
    )))
}

async fn prompt(State(app): State<Shared>, Path(id): Path<i64>) -> Page {
    let ranker = app.ranker().await?;
    let detail = app
        .store
        .prompt_detail(&id.to_string(), ranker.as_deref())
        .await?;
    let effective = effective_order(&detail);
    let policy = app.store.review_policy().await?.policy;
    Ok(Html(pages::prompt(
        &app.reviewer,
        &detail,
        &effective,
        &policy,
    )))
}

/// A review action from the prompt page's forms.
#[derive(Debug, Deserialize)]
struct ActionForm {
    action: String,
    #[serde(default)]
    response: String,
    /// The note's text, or the reason for another action.
    #[serde(default)]
    text: String,
    /// A reorder's response ids, comma-separated, first = best.
    #[serde(default)]
    order: String,
}

async fn review(
    State(app): State<Shared>,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, WebError> {
    let action: ReviewAction = match f.action.as_str() {
        a @ ("pin" | "unpin" | "exclude" | "include" | "note" | "reorder") => {
            a.parse().expect("known action")
        }
        other => return Err(WebError::Bad(format!("unknown review action {other:?}"))),
    };
    let response_id: Option<i64> = match f.response.trim() {
        "" => None,
        r => Some(
            r.parse()
                .map_err(|_| WebError::Bad(format!("bad response id {r:?}")))?,
        ),
    };
    let text = f.text.trim();
    if action == ReviewAction::Note && text.is_empty() {
        return Err(WebError::Bad("a note needs text".into()));
    }
    if action == ReviewAction::Pin && response_id.is_none() {
        return Err(WebError::Bad("pin which response?".into()));
    }
    let payload = match action {
        ReviewAction::Reorder => {
            let order = f
                .order
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| WebError::Bad(format!("bad response id {s:?} in the order")))
                })
                .collect::<Result<Vec<i64>, _>>()?;
            if order.is_empty() {
                return Err(WebError::Bad("a reorder needs the responses' order".into()));
            }
            Some(serde_json::json!({ "order": order }))
        }
        _ => None,
    };
    let prompt_id = app.store.find_prompt(&id.to_string()).await?;
    rrtf_data::review::record(
        &app.store,
        NewReview {
            prompt_id,
            response_id,
            action,
            payload,
            author: app.reviewer.clone(),
            reason: (!text.is_empty()).then(|| text.to_owned()),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/prompts/{prompt_id}#audit")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for (host, ok) in [
            ("127.0.0.1:8200", true),
            ("localhost:8200", true),
            ("LOCALHOST", true),
            ("127.1.2.3", true),
            ("[::1]:8200", true),
            ("evil.example:8200", false),
            ("10.0.0.1:8200", false),
            ("", false),
        ] {
            assert_eq!(rrtf_serve::host::is_loopback_host(host), ok, "{host}");
        }
    }

    #[test]
    fn posts_from_other_origins_are_refused() {
        let h = |pairs: &[(&'static str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        let host = "127.0.0.1:8200";
        assert!(same_origin(
            &h(&[("origin", "http://127.0.0.1:8200")]),
            host
        ));
        assert!(!same_origin(&h(&[("origin", "http://evil.example")]), host));
        assert!(!same_origin(&h(&[("origin", "null")]), host));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")]), host));
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin")]), host));
        assert!(same_origin(&h(&[]), host), "a script's POST");
    }
}
