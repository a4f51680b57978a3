//! `rrtf review serve`: the web review (`rrtf_report::web`), its review actions recorded through
//! `rrtf_data::review::record`, the CLI's own path.

use std::net::IpAddr;

use anyhow::Result;
use clap::Args;
use rrtf_report::web::WebOptions;
use rrtf_store::Store;
use serde_json::json;

use super::Ctx;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (another than loopback exposes the review to the network).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port (0: any free port; `--json` prints the URL once listening).
    #[arg(long, default_value_t = 8200)]
    pub port: u16,
    /// Who is reviewing: the author of every action taken in the browser (default: $USER).
    #[arg(long, env = "USER", hide_env_values = true)]
    pub reviewer: Option<String>,
    /// Ranker hash (or prefix); default: the latest ranking at each request.
    #[arg(long)]
    pub ranker: Option<String>,
}

pub async fn serve(ctx: &Ctx, store: Store, a: ServeArgs) -> Result<()> {
    let opts = WebOptions {
        host: a.host,
        port: a.port,
        reviewer: a.reviewer,
        ranker: a.ranker,
        db: ctx.db_display(),
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
