//! The request ledger in the stages that call an endpoint directly (evolve, synth-tests): the
//! endpoint's client wrapped in [`Metered`] (each request's worst-case cost reserved in the
//! round budget, `[sampling] budget_usd`, which starts at what the round's ledger already
//! holds), and a writer task that stores each request in `llm_requests` as it completes.
//! (`rrtf sample` stores its ledger rows with its answers: [`crate::sample_sink`].)

use std::sync::Arc;

use rrtf_config::{Endpoint, RoundConfig};
use rrtf_llm::{Backend, Budget, Metered, RequestRecord};
use rrtf_store::Store;
use tokio::sync::mpsc;

use crate::sample_sink::ledger_row;
use crate::{PipelineError, Result};

/// A metered backend and its ledger writer.
pub struct Metering {
    pub backend: Arc<Metered>,
    writer: tokio::task::JoinHandle<rrtf_store::Result<u64>>,
}

impl Metering {
    pub async fn start(
        store: &Store,
        config: &RoundConfig,
        run_id: i64,
        stage: &'static str,
        endpoint: &Endpoint,
        inner: Arc<dyn Backend>,
    ) -> Result<Metering> {
        let round = config.round.number;
        let budget = Arc::new(Budget::new(
            config.sampling.budget_usd,
            store.round_spend(round).await?,
        ));
        let (tx, mut rx) = mpsc::unbounded_channel::<RequestRecord>();
        let backend = Arc::new(Metered::new(inner, endpoint, budget, tx)?);
        let store = store.clone();
        // Rows are written as requests complete: whatever has arrived since the last write.
        let writer = tokio::spawn(async move {
            let mut written = 0u64;
            while let Some(first) = rx.recv().await {
                let mut rows = vec![ledger_row(round, run_id, stage, &first)];
                while rows.len() < 256 {
                    match rx.try_recv() {
                        Ok(r) => rows.push(ledger_row(round, run_id, stage, &r)),
                        Err(_) => break,
                    }
                }
                store.insert_llm_requests(&rows).await?;
                written += rows.len() as u64;
            }
            Ok(written)
        });
        Ok(Metering { backend, writer })
    }

    /// Wait until every record is stored. The backend must not be in use any more (every
    /// clone of it dropped but the one here).
    pub async fn finish(self) -> Result<u64> {
        drop(self.backend);
        let written = self
            .writer
            .await
            .map_err(|e| PipelineError::Failed(format!("the request ledger's writer: {e}")))?;
        Ok(written?)
    }
}

/// The message of a stage stopped at the budget: which cap, where it is set, how to go on.
pub fn budget_stop(config_path: &std::path::Path, config: &RoundConfig, spent: f64) -> String {
    format!(
        "stopped at the round's budget: round {} has spent ${spent:.4} of [sampling] budget_usd = {} \
         (evolve, synth-tests and sample all count); raise budget_usd in {} and re-run to continue \
         (what is stored is kept)",
        config.round.number,
        config.sampling.budget_usd.unwrap_or(f64::INFINITY),
        config_path.display()
    )
}
