//! Where `rrtf sample`'s answers go: the project database, with their ledger rows, the code
//! of chat answers to completion prompts, and the verdict of decontamination, in one
//! transaction per batch ([`StoreSink`], the sampler's `Sink`); [`ledger_row`], a request's
//! ledger row as every stage that sends requests stores it.
//!
//! Not here: planning and sending (`rrtf_llm::sampler`), the command (the binary).

use std::collections::HashMap;

use rrtf_exec::answer::{AnswerKind, stored_code};
use rrtf_llm::sampler::{Answer, Failure, Sink, SinkError};
use rrtf_llm::{BoxFuture, RequestRecord};
use rrtf_store::{Contamination, ContaminationAction, NewLlmRequest, NewResponse, Store};

use crate::decontam::{Benchmarks, finding};

/// The ledger row of a request a stage (`sample`, `evolve`, `synth-tests`) sent.
pub fn ledger_row(
    round: i64,
    run_id: i64,
    stage: &'static str,
    r: &RequestRecord,
) -> NewLlmRequest {
    NewLlmRequest {
        round,
        run_id: Some(run_id),
        stage,
        teacher: r.teacher.clone(),
        model: r.model.clone(),
        request_key: r.key.clone(),
        error: r.error.clone(),
        attempts: r.attempts.map(i64::from),
        prompt_tokens: r.prompt_tokens.map(|t| t as i64),
        completion_tokens: r.completion_tokens.map(|t| t as i64),
        cost_usd: r.cost_usd,
        latency_ms: Some(r.latency_ms as i64),
    }
}

/// Stores each batch of answers, with the ledger rows of their requests and of the requests
/// that failed, in one transaction.
pub struct StoreSink<'a> {
    pub store: &'a Store,
    pub model_ids: Vec<i64>,
    pub round: i64,
    pub run_id: i64,
    /// Per endpoint: (name, model sent).
    pub names: Vec<(String, String)>,
    /// Per endpoint: a chat endpoint (its answers to completion prompts are whole functions).
    pub chat: Vec<bool>,
    /// Completion-kind prompts: (text, language).
    pub completion_prompts: HashMap<i64, (String, String)>,
    /// The round's benchmarks: an answer that reproduces a canonical solution is stored
    /// eliminated (never executed or ranked).
    pub benchmarks: Option<&'a Benchmarks>,
    /// Answers eliminated so far.
    pub eliminated: u64,
}

impl StoreSink<'_> {
    /// The code to store with an answer: `rrtf_exec::answer::stored_code`, the rule the importer
    /// shares. A chat endpoint's answer to a completion-kind prompt is a whole function in
    /// prose and fences, so its code is extracted now (the prompt's imports put in front); every
    /// other answer keeps `code` NULL for the exec stage (completion answers continue the
    /// prompt). An answer without code stores "" (no code).
    fn code(&self, a: &Answer) -> Option<String> {
        let (prompt, language) = self.completion_prompts.get(&a.prompt_id)?;
        let language = rrtf_exec::Language::parse(language).ok()?;
        let kind = if self.chat[a.endpoint] {
            AnswerKind::Chat
        } else {
            AnswerKind::Completion
        };
        stored_code(prompt, true, language, &a.generation.text, kind)
    }
}

impl Sink for StoreSink<'_> {
    fn store<'b>(
        &'b mut self,
        batch: &'b [Answer],
        failures: &'b [Failure],
    ) -> BoxFuture<'b, Result<(), SinkError>> {
        Box::pin(async move {
            let requests: Vec<NewLlmRequest> = batch
                .iter()
                .map(|a| {
                    let (name, model) = &self.names[a.endpoint];
                    RequestRecord::answered(name, model, &a.key, &a.generation, a.cost_usd)
                })
                .chain(failures.iter().filter_map(|f| f.record.clone()))
                .map(|r| ledger_row(self.round, self.run_id, "sample", &r))
                .collect();
            let rows: Vec<NewResponse> = batch
                .iter()
                .map(|a| NewResponse {
                    prompt_id: a.prompt_id,
                    model_id: self.model_ids[a.endpoint],
                    round: self.round,
                    temperature: Some(a.temperature),
                    sample_index: i64::from(a.sample_index),
                    raw_text: a.generation.text.clone(),
                    code: self.code(a),
                    finish_reason: a.generation.finish_reason.clone(),
                    prompt_tokens: a.generation.prompt_tokens.map(|t| t as i64),
                    completion_tokens: a.generation.completion_tokens.map(|t| t as i64),
                    latency_ms: Some(a.generation.latency_ms as i64),
                    cost_usd: Some(a.cost_usd),
                    request_hash: a.key.clone(),
                    run_id: Some(self.run_id),
                })
                .collect();
            let eliminate: Vec<(String, Contamination)> = self
                .benchmarks
                .into_iter()
                .flat_map(|b| {
                    batch.iter().filter_map(move |a| {
                        let hit = b.check_answer(&a.generation.text)?;
                        let f = finding(
                            "response",
                            0,
                            a.prompt_id,
                            ContaminationAction::Eliminated,
                            "response",
                            &hit,
                        );
                        Some((a.key.clone(), f))
                    })
                })
                .collect();
            self.store
                .insert_answers(&rows, &requests, &eliminate, &|_| {})
                .await?;
            self.eliminated += eliminate.len() as u64;
            Ok(())
        })
    }
}
