//! The stages' endpoints, made reachable by `rrtf_pipeline::endpoints` with this binary as the
//! `rrtf serve` of a `local_model` endpoint.

use anyhow::{Context, Result};
use rrtf_config::Endpoint;
pub use rrtf_pipeline::endpoints::{Live, provenance};

/// Make `e` reachable for as long as the returned [`Live`] lives.
pub async fn start(e: &Endpoint) -> Result<Live> {
    let exe = std::env::current_exe().context("locating the rrtf binary")?;
    Ok(rrtf_pipeline::endpoints::start(&exe, e).await?)
}
