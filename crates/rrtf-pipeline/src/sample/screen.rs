//! WizardLM's rules 2 and 3 after sampling: they judge an LLM's *response* to an evolved
//! instruction (an apology under 80 words; nothing but punctuation and stop words), so they run
//! on the teachers' answers once a prompt has all of them. A prompt whose every teacher answer
//! breaks one is eliminated with the rule (`prompts.status_reason`), so execution and ranking
//! never see it.
//!
//! Resumable and idempotent: it runs at the end of every `rrtf sample` (a run with nothing left
//! to send included) over the prompts whose planned teacher requests are all stored, and it
//! only ever eliminates kept prompts; a prompt still missing an answer (budget, failures,
//! Ctrl-C) is judged by the run that completes it.

use std::collections::{BTreeMap, HashMap};

use rrtf_evolve::rules::every_answer_fails;
use rrtf_store::Store;
use serde_json::{Value, json};

use crate::Result;

/// A planned teacher request: its prompt, its key, and the layout-1 key that also counts as
/// stored (see [`super`]).
pub(crate) struct Planned {
    pub prompt_id: i64,
    pub key: String,
    pub legacy_key: Option<String>,
}

/// Eliminate the prompts every teacher answered with an apology or only stop words; the
/// summary: prompts judged, eliminated now, and the first few with their reason.
pub(crate) async fn teacher_refusals(
    store: &Store,
    planned: &[Planned],
    model_ids: &[i64],
    run_id: i64,
) -> Result<Value> {
    let stored = store.stored_request_hashes(model_ids).await?;
    let mut by_prompt: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    let mut incomplete = Vec::new();
    for p in planned {
        let key = if stored.contains(&p.key) {
            Some(p.key.as_str())
        } else {
            p.legacy_key.as_deref().filter(|k| stored.contains(*k))
        };
        match key {
            Some(k) => by_prompt.entry(p.prompt_id).or_default().push(k),
            None => incomplete.push(p.prompt_id),
        }
    }
    for id in &incomplete {
        by_prompt.remove(id);
    }
    let hashes: Vec<String> = by_prompt
        .values()
        .flatten()
        .map(|k| k.to_string())
        .collect();
    let texts: HashMap<String, String> =
        store.answers_by_hash(&hashes).await?.into_iter().collect();
    let mut eliminated = Vec::new();
    for (prompt_id, keys) in &by_prompt {
        let answers: Vec<&str> = keys
            .iter()
            .filter_map(|k| texts.get(*k).map(String::as_str))
            .collect();
        if let Some((rule, detail)) = every_answer_fails(&answers) {
            eliminated.push((*prompt_id, format!("{}: {detail}", rule.as_str())));
        }
    }
    let changed = store.eliminate_prompts(&eliminated).await?;
    tracing::info!(
        run_id,
        changed,
        "prompts eliminated by the teachers' answers"
    );
    Ok(json!({
        "prompts_judged": by_prompt.len(),
        "eliminated": changed,
        "examples": eliminated
            .iter()
            .take(5)
            .map(|(id, why)| format!("prompt {id}: {why}"))
            .collect::<Vec<_>>(),
    }))
}
