//! `rrtf review serve`: the web review (`rrtf_report::web`), its review actions recorded through
//! `review::record`, the CLI's own path.

use std::net::IpAddr;

use anyhow::Result;
use clap::Args;
use rrtf_report::web::{RecordError, RecordFuture, Reviews, WebOptions};
use rrtf_store::{NewReview, Store, StoreError};
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

fn record(store: &Store, review: NewReview) -> RecordFuture<'_> {
    Box::pin(async move {
        super::review::record(store, review)
            .await
            .map_err(|e| match e.downcast::<StoreError>() {
                Ok(e) => RecordError::Store(e),
                Err(e) if super::exit_code(&e) == 2 => RecordError::Refused(format!("{e:#}")),
                Err(e) => RecordError::Failed(format!("{e:#}")),
            })
    })
}

pub async fn serve(ctx: &Ctx, store: Store, a: ServeArgs) -> Result<()> {
    let opts = WebOptions {
        host: a.host,
        port: a.port,
        reviewer: a.reviewer,
        ranker: a.ranker,
        db: ctx.db.display().to_string(),
    };
    let reviews = Reviews {
        record,
        effective_order: super::review::effective_order,
    };
    let web = rrtf_report::web::bind(store, opts, reviews).await?;
    let url = web.url().to_owned();
    ctx.emit(
        || {
            format!(
                "reviewing {} as {} at {url} (Ctrl-C stops)",
                ctx.db.display(),
                web.reviewer()
            )
        },
        || json!({ "url": url }),
    );
    Ok(web.run().await?)
}
