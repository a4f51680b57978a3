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
//! another site cannot submit reviews through the operator's browser). Without `--auth` there
//! is no login: anyone who can reach the port reviews as `--reviewer` (the single-user default,
//! on loopback only).
//!
//! With `--auth` (required to listen beyond loopback), every page needs a login: a reviewer's
//! token (`rrtf review users add NAME`; `rrtf_store`'s `reviewers` keeps its SHA-256) opens a
//! session whose cookie is `HttpOnly`, `SameSite=Strict` and, over HTTPS, `Secure` with the
//! `__Host-` prefix; the reviewer's identity comes from the session, never from a form; every
//! POST form carries the session's CSRF token, compared in constant time. Beyond loopback the
//! server speaks HTTPS itself (`--tls-cert`, `--tls-key`: rustls) or is told it sits behind a
//! TLS-terminating proxy (`--behind-https-proxy`): tokens and cookies never cross a network in
//! clear text. Reviewers acting on one prompt all append to its audit trail, which every page
//! shows with each action's author: the latest action of a kind is in force.

mod pages;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Extension;
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
pub use pages::Who;
use rrtf_types::UserError;

/// Where and as whom.
#[derive(Clone, Debug)]
pub struct WebOptions {
    /// Address to listen on (another than loopback exposes the review to the network).
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Who is reviewing: the author of every action taken in the browser (without `auth`).
    pub reviewer: Option<String>,
    /// Ranker hash (or prefix); default: the latest ranking at each request.
    pub ranker: Option<String>,
    /// The database, as the index names it.
    pub db: String,
    /// Reviewers log in, each acting as itself: None for the single-user loopback default.
    pub auth: Option<Auth>,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// A TLS-terminating proxy forwards to this server: browsers speak HTTPS.
    pub behind_https_proxy: bool,
}

/// Logins (`--auth`).
#[derive(Clone, Debug)]
pub struct Auth {
    /// How long a session lasts, in milliseconds.
    pub session_ms: i64,
}

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// What every handler shares.
struct App {
    store: Store,
    /// The single user's name (no `auth`).
    reviewer: String,
    ranker: Option<String>,
    db: String,
    loopback: bool,
    auth: Option<Auth>,
    /// Browsers reach the server over HTTPS: the cookie is `Secure` and `__Host-`.
    https: bool,
    /// `--behind-https-proxy`: requests come through a proxy, with the browser's host name in
    /// `Host` (or `X-Forwarded-Host`), whatever address the server listens on.
    behind_proxy: bool,
    /// Held for [`FAILED_LOGIN_DELAY`] by each refused login: refused logins go one at a time.
    failed_logins: tokio::sync::Mutex<()>,
}

/// How long a refused login holds [`App::failed_logins`]: at most one wrong token is answered
/// per this time, whoever sends them (tokens are 256-bit; this keeps a guessing flood from
/// costing the store a lookup per request and filling the log).
const FAILED_LOGIN_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

impl App {
    /// The session cookie's name.
    fn cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-rrtf_review"
        } else {
            "rrtf_review"
        }
    }
}

type Shared = Arc<App>;

/// The review server, listening; [`ReviewWeb::run`] serves until Ctrl-C or SIGTERM.
pub struct ReviewWeb {
    listener: tokio::net::TcpListener,
    router: Router,
    url: String,
    reviewer: String,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Check the options and listen.
pub async fn bind(store: Store, o: WebOptions) -> Result<ReviewWeb, ReportError> {
    let loopback = o.host.is_loopback();
    let https = o.tls.is_some() || o.behind_https_proxy;
    if !loopback && o.auth.is_none() {
        return Err(ReportError::Exposed(format!(
            "listening on {} exposes the review to the network: pass --auth (reviewers log in \
             with tokens from `rrtf review users add NAME`), or listen on 127.0.0.1",
            o.host
        )));
    }
    if o.behind_https_proxy && o.auth.is_none() {
        return Err(ReportError::Exposed(
            "--behind-https-proxy without --auth: the proxy forwards the network to this \
             server, loopback or not; pass --auth (reviewers log in with tokens from `rrtf \
             review users add NAME`)"
                .into(),
        ));
    }
    if !loopback && !https {
        return Err(ReportError::Exposed(format!(
            "listening on {} would send tokens and session cookies over the network in clear \
             text: pass --tls-cert FILE --tls-key FILE (HTTPS), or --behind-https-proxy when a \
             TLS-terminating proxy forwards to this port",
            o.host
        )));
    }
    let tls = o.tls.as_ref().map(tls_acceptor).transpose()?;
    let reviewer = match &o.auth {
        // The login decides; the banner says so.
        Some(_) => {
            let active = store
                .reviewers()
                .await?
                .iter()
                .filter(|r| r.revoked_at.is_none())
                .count();
            if active == 0 {
                return Err(ReportError::Exposed(
                    "--auth with no reviewers: add one with `rrtf review users add NAME` \
                     (it prints the token to log in with)"
                        .into(),
                ));
            }
            format!("the {active} reviewer(s) who log in")
        }
        None => o
            .reviewer
            .filter(|r| !r.trim().is_empty())
            .ok_or(ReportError::NoReviewer)?,
    };
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
    let url = format!("{}://{addr}/", if tls.is_some() { "https" } else { "http" });
    let app = Arc::new(App {
        store,
        reviewer: reviewer.clone(),
        ranker: o.ranker,
        db: o.db,
        loopback,
        auth: o.auth,
        https,
        behind_proxy: o.behind_https_proxy,
        failed_logins: tokio::sync::Mutex::new(()),
    });
    let router = Router::new()
        .route("/", get(index))
        .route("/prompts", get(list))
        .route("/prompts/{id}", get(prompt))
        .route("/prompts/{id}/review", post(review))
        .route("/prompts/{id}/latest-review", get(latest_review))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), identify))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app);
    Ok(ReviewWeb {
        listener,
        router,
        url,
        reviewer,
        tls,
    })
}

/// rustls over the PEM files; errors name the file and what is wrong with it.
fn tls_acceptor(f: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, ReportError> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |file: &std::path::Path, why: String| {
        ReportError::Exposed(format!("--tls-cert/--tls-key: {}: {why}", file.display()))
    };
    let certs = CertificateDer::pem_file_iter(&f.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(&f.cert, format!("not a PEM certificate chain ({e})")))?;
    if certs.is_empty() {
        return Err(bad(&f.cert, "no certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&f.key)
        .map_err(|e| bad(&f.key, format!("not a PEM private key ({e})")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&f.cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(&f.key, format!("does not go with the certificate ({e})")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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
    /// Connections have the limits of `rrtf_serve::conn` (time to send headers or finish the
    /// TLS handshake, connections per client).
    pub async fn run(self) -> Result<(), ReportError> {
        use rrtf_serve::conn;
        match self.tls {
            None => {
                let plain = |tcp| async move { Some(tcp) };
                conn::serve(self.listener, self.router, plain, shutdown()).await;
            }
            // HTTPS: each connection's TLS handshake, then HTTP/1.1 over it. A client that
            // fails the handshake (plain HTTP, an untrusted certificate) loses only its own
            // connection.
            Some(acceptor) => {
                let tls = move |tcp| {
                    let acceptor = acceptor.clone();
                    async move { acceptor.accept(tcp).await.ok() }
                };
                conn::serve(self.listener, self.router, tls, shutdown()).await;
            }
        }
        Ok(())
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

/// An error page: 404 for unknown ids, 400 for bad input, 403 for a missing or wrong CSRF
/// token, 500 otherwise.
#[derive(Debug)]
enum WebError {
    Store(StoreError),
    Bad(String),
    Forbidden(String),
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
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
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
/// operator click its buttons), plugins, a `<base>` and forms posting elsewhere; the browser
/// never guesses a type, sends no referrer off the site, keeps no copy of a page (they show
/// the data under review), and, over HTTPS, remembers to come back over HTTPS only.
async fn guard(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let mut resp = check(&app, req, next).await;
    let h = resp.headers_mut();
    let mut set = |name, value| {
        h.insert(name, header::HeaderValue::from_static(value));
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'",
    );
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::CACHE_CONTROL, "no-store");
    if app.https {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    resp
}

/// Who is asking: without `--auth`, the single user; with it, the session's reviewer (its
/// cookie looked up in the store). Without a session, a page redirects to the login and an
/// action is refused (401); the login page itself needs none.
async fn identify(State(app): State<Shared>, mut req: Request, next: Next) -> Response {
    let who = match &app.auth {
        None => Who {
            name: app.reviewer.clone(),
            csrf: None,
        },
        Some(_) if req.uri().path() == "/login" => return next.run(req).await,
        Some(_) => match session_of(&app, req.headers()).await {
            Ok(Some(s)) => Who {
                name: s.reviewer,
                csrf: Some(s.csrf),
            },
            Ok(None) if req.method() == Method::GET => {
                return Redirect::to("/login").into_response();
            }
            Ok(None) => {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "log in first: no session, or it ended (expired, logged out, or the \
                     reviewer was removed or given a new token)",
                );
            }
            Err(e) => return WebError::from(e).into_response(),
        },
    };
    req.extensions_mut().insert(who);
    next.run(req).await
}

/// The session the request's cookie names, if it is live.
async fn session_of(
    app: &App,
    headers: &HeaderMap,
) -> Result<Option<rrtf_store::ReviewSession>, StoreError> {
    let name = app.cookie_name();
    // Every cookie of that name, in order (a stale one, e.g. of another path or an earlier
    // server on this host, may come first): the first live session wins.
    let values: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .take(4)
        .collect();
    for v in values {
        if let Some(s) = app.store.review_session(&v).await? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// Equal, in time that does not depend on where two strings of one length differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A POST of this session: its form's CSRF token must be the session's.
fn check_csrf(who: &Who, given: &str) -> Result<(), WebError> {
    match &who.csrf {
        Some(expected) if !same_secret(given, expected) => Err(WebError::Forbidden(
            "this form is not from your session (a missing or stale CSRF token): reload the \
             page and try again"
                .into(),
        )),
        _ => Ok(()),
    }
}

async fn login_page(State(app): State<Shared>) -> Response {
    if app.auth.is_none() {
        return not_found().await;
    }
    Html(pages::login(false)).into_response()
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

/// A token for a session: the cookie, then the index; an unknown token gets the login page
/// again with a 401.
async fn login(State(app): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    let Some(auth) = &app.auth else {
        return not_found().await;
    };
    match app
        .store
        .open_review_session(&f.token, auth.session_ms)
        .await
    {
        Ok(Some(s)) => {
            tracing::info!("review login: {}", s.reviewer);
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                app.cookie_name(),
                s.cookie,
                auth.session_ms / 1000,
                if app.https { "; Secure" } else { "" }
            );
            let mut resp = Redirect::to("/").into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                header::HeaderValue::from_str(&cookie).expect("hex cookie"),
            );
            resp
        }
        Ok(None) => {
            let _one_at_a_time = app.failed_logins.lock().await;
            tracing::warn!("review login refused: unknown or removed token");
            tokio::time::sleep(FAILED_LOGIN_DELAY).await;
            (StatusCode::UNAUTHORIZED, Html(pages::login(true))).into_response()
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// End the session: its cookie stops working here and is cleared in the browser.
async fn logout(
    State(app): State<Shared>,
    Extension(who): Extension<Who>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&who, &f.csrf)?;
    if let Some(s) = session_of(&app, &headers).await? {
        app.store.close_review_session(&s.cookie).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        app.cookie_name(),
        if app.https { "; Secure" } else { "" }
    );
    resp.headers_mut().insert(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&clear).expect("ascii"),
    );
    Ok(resp)
}

async fn check(app: &App, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|h: &header::HeaderValue| h.to_str().ok())
    };
    let mut host = text(header::HOST).unwrap_or("");
    // Behind a proxy on the same machine, the server listens on loopback and the browser's
    // host name arrives as the request's `Host` (or `X-Forwarded-Host`, for a proxy that sets
    // `Host` to its upstream): the login is the guard then, not the host name.
    if app.behind_proxy {
        host = text(header::HeaderName::from_static("x-forwarded-host")).unwrap_or(host);
    } else if !rrtf_serve::host::host_allowed(app.loopback, Some(host)) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers only to a loopback host name",
        );
    }
    let scheme = if app.https { "https" } else { "http" };
    let same = rrtf_serve::host::same_origin(
        text(header::ORIGIN),
        text(header::HeaderName::from_static("sec-fetch-site")),
        Some(scheme),
        host,
    );
    if req.method() == Method::POST && !same {
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

async fn index(State(app): State<Shared>, Extension(who): Extension<Who>) -> Page {
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
    Ok(Html(pages::index(&app.db, &who, &view, excluded)))
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

async fn list(
    State(app): State<Shared>,
    Extension(who): Extension<Who>,
    Query(q): Query<ListQuery>,
) -> Page {
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
        return Ok(Html(pages::list(&who, &q, &[], &[], 0, 1, None)));
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
        &who,
        &q,
        &rounds,
        shown,
        total,
        page,
        Some(&ranker),
    )))
}

async fn prompt(
    State(app): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<i64>,
) -> Page {
    let ranker = app.ranker().await?;
    let detail = app
        .store
        .prompt_detail(&id.to_string(), ranker.as_deref())
        .await?;
    let effective = effective_order(&detail);
    let policy = app.store.review_policy().await?.policy;
    Ok(Html(pages::prompt(&who, &detail, &effective, &policy)))
}

/// `{"latest": ID}`: the prompt's newest review (0: none), which its page polls.
async fn latest_review(
    State(app): State<Shared>,
    Path(id): Path<i64>,
) -> Result<axum::Json<serde_json::Value>, WebError> {
    let latest = app.store.latest_review_id(id).await?;
    Ok(axum::Json(serde_json::json!({ "latest": latest })))
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
    /// The session's CSRF token (`--auth`).
    #[serde(default)]
    csrf: String,
}

async fn review(
    State(app): State<Shared>,
    Extension(who): Extension<Who>,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, WebError> {
    check_csrf(&who, &f.csrf)?;
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
            author: who.name,
            reason: (!text.is_empty()).then(|| text.to_owned()),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/prompts/{prompt_id}#audit")))
}

#[cfg(test)]
mod tests {
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
}
