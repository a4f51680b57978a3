//! The rank stage (`rrtf rank`): score and rank every executed response under a `[ranking]`
//! section ([`rrtf_rank::rank_all`]), the rankings saved under the ranker's hash with a `rank`
//! run record.
//!
//! Not here: the scores and the filters (`rrtf-rank`), the printed summary (`rrtf rank`'s).

use rrtf_config::Ranking;
use rrtf_rank::{RankSummary, rank_all, ranker_ref};
use rrtf_store::{NewRun, Store};
use serde_json::{Value, json};

use crate::{PipelineError, Result};

/// What a run of the rank stage did.
#[derive(Clone, Debug)]
pub struct Ranked {
    /// The ranker's config hash.
    pub ranker: String,
    pub summary: RankSummary,
    /// Preference pairs in the store after the run.
    pub pairs: i64,
    /// The run's recorded summary, `pairs` added.
    pub json: Value,
}

/// Rank the executed responses of `round` (None: all rounds) under `cfg`, recording the run
/// with `revision`. Nothing executed yet is [`PipelineError::Invalid`].
pub async fn run(
    store: &Store,
    cfg: &Ranking,
    round: Option<i64>,
    recorded_round: i64,
    revision: &str,
) -> Result<Ranked> {
    let ranker = ranker_ref(cfg);
    let inputs = store.rank_inputs(round).await?;
    if inputs.is_empty() {
        // Said for the round asked about when there is one: another round may have plenty.
        let what = match round {
            Some(r) if !store.rank_inputs(None).await?.is_empty() => format!(
                "no executed response to a prompt of round {r} (other rounds have some; \
                 `rrtf status` lists the rounds)"
            ),
            _ => "no response has been executed yet (run `rrtf exec`, or import responses for \
                  prompts that have tests)"
                .into(),
        };
        return Err(PipelineError::Invalid(format!("nothing to rank: {what}")));
    }
    let record = store
        .begin_run(&NewRun {
            round: recorded_round,
            stage: "rank".into(),
            config_json: ranker.config_json.clone(),
            config_hash: ranker.hash.clone(),
            revision: Some(revision.into()),
            seed: None,
        })
        .await?;
    let run_id = record.id;
    let (rankings, summary) = rank_all(&inputs, cfg);
    let saved = store
        .save_rankings(&ranker, &rankings, Some(run_id))
        .await?;
    let mut json = json!({
        "ranker": ranker.hash, "prompts": summary.prompts, "kept": summary.kept,
        "responses": summary.responses, "dropped": summary.dropped,
        "responses_incomplete": summary.responses_incomplete,
        "new": saved.inserted, "replaced": saved.existing, "run_id": run_id,
    });
    store.finish_run(record, true, &json).await?;
    let pairs = store.status().await?.pairs;
    json["pairs"] = json!(pairs);
    Ok(Ranked {
        ranker: ranker.hash,
        summary,
        pairs,
        json,
    })
}
