//! `rrtf review serve`: the web review (`rrtf_report::web`), its review actions recorded through
//! `rrtf_data::review::record`, the CLI's own path.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rrtf_report::web::{Auth, TlsFiles, WebOptions};
use rrtf_store::Store;
use serde_json::json;

use super::Ctx;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on: another than loopback needs --auth and HTTPS (--tls-cert, or
    /// --behind-https-proxy).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port (0: any free port; `--json` prints the URL once listening).
    #[arg(long, default_value_t = 8200)]
    pub port: u16,
    /// Who is reviewing: the author of every action taken in the browser (default: $USER;
    /// unused with --auth, where each reviewer logs in).
    #[arg(long, env = "USER", hide_env_values = true)]
    pub reviewer: Option<String>,
    /// Ranker hash (or prefix); default: the latest ranking at each request.
    #[arg(long)]
    pub ranker: Option<String>,
    /// Reviewers log in with their tokens (`rrtf review users add NAME`) and act as themselves
    /// (`--reviewer` is then unused). Required for any --host other than loopback.
    #[arg(long)]
    pub auth: bool,
    /// How long a login lasts.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_hours: u32,
    /// Serve HTTPS with this certificate chain (PEM); with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); with --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A TLS-terminating proxy (nginx, Caddy...) forwards HTTPS to this server: cookies are
    /// marked Secure. With --auth, instead of --tls-cert beyond loopback.
    #[arg(long, conflicts_with = "tls_cert")]
    pub behind_https_proxy: bool,
}

pub async fn serve(ctx: &Ctx, store: Store, a: ServeArgs) -> Result<()> {
    let opts = WebOptions {
        host: a.host,
        port: a.port,
        reviewer: a.reviewer,
        ranker: a.ranker,
        db: ctx.db_display(),
        auth: a.auth.then(|| Auth {
            session_ms: i64::from(a.session_hours) * 3_600_000,
        }),
        tls: a
            .tls_cert
            .zip(a.tls_key)
            .map(|(cert, key)| TlsFiles { cert, key }),
        behind_https_proxy: a.behind_https_proxy,
    };
    let web = rrtf_report::web::bind(store, opts).await?;
    let url = web.url().to_owned();
    ctx.emit(
        || {
            format!(
                "reviewing {} as {} at {url} (Ctrl-C stops)",
                ctx.db_display(),
                web.reviewer()
            )
        },
        || json!({ "url": url }),
    );
    Ok(web.run().await?)
}
