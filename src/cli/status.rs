//! `rrtf status`: counts per round and stage, the request ledger, and what decontamination
//! removed or marked (the text is `rrtf_report::text::status_text`).

use anyhow::Result;
use rrtf_report::text;

use super::Ctx;

pub async fn status(ctx: &Ctx) -> Result<()> {
    let store = ctx.store().await?;
    let mut st = store.status().await?;
    store.close().await;
    for w in st.workers.iter_mut().chain(st.samplers.iter_mut()) {
        w.gone = rrtf_pipeline::exec_stage::worker_gone(&w.worker);
    }
    ctx.emit(
        || text::status_text(&ctx.db_display(), &st),
        || serde_json::to_value(&st).expect("status serialises"),
    );
    Ok(())
}
