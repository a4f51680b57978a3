//! The store on both backends: every test runs on a real temporary SQLite file and on a fresh
//! database of a throwaway PostgreSQL server (`rrtf_store::testing`): idempotent writers,
//! rankings, status, reviews.

use rrtf_store::*;
use rrtf_types::UserError;
use serde_json::json;

/// `name` as two tests, `name::sqlite` and `name::postgres`, each giving `name` a new store.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let store = rrtf_store::Store::create(&dir.path().join("t.db")).await.unwrap();
                super::$name(store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(pg) = rrtf_store::testing::postgres_or_skip(stringify!($name)) else {
                    return;
                };
                let url = pg.fresh_url(stringify!($name));
                let store = rrtf_store::Store::create(std::path::Path::new(&url)).await.unwrap();
                assert_eq!(store.backend(), rrtf_store::Backend::Postgres);
                super::$name(store).await;
            }
        }
    )+};
}

on_both_backends!(
    prompt_insert_is_idempotent_and_batched_past_one_chunk,
    model_roles_never_change_silently,
    rankings_read_back_best_first_and_status_counts_pairs,
    eliminating_a_ranked_prompt_or_response_drops_its_rankings,
    executions_are_keyed_by_response_and_test,
    reviews_are_append_only_and_checked,
    sampler_reads_kept_prompts_stored_keys_and_round_spend,
    evolved_prompts_keep_lineage_and_status_and_insert_once,
    pending_executions_are_exactly_what_is_missing,
    tests_attach_to_their_prompt_for_new_existing_and_repeated_rows,
    prompt_text_round_trips_byte_for_byte_and_ids_follow_the_rows,
    a_batch_meeting_a_stored_key_keeps_the_writers_earlier_batches,
    prompt_search_matches_text_and_source_id_literally,
    workers_share_pending_executions_by_lease,
    reviewers_log_in_by_token_and_removal_ends_their_sessions,
    samplers_claim_requests_by_lease,
    text_with_nul_is_stored_with_the_replacement_character,
);

fn prompt(source_id: &str, with_test: bool) -> NewPrompt {
    NewPrompt {
        round: 0,
        source: "unit".into(),
        source_id: source_id.into(),
        kind: PromptKind::Completion,
        text: format!("def f_{source_id}():\n"),
        language: "python".into(),
        entry_point: Some(format!("f_{source_id}")),
        reference: None,
        parent_id: None,
        evolution_method: None,
        tests: if with_test {
            vec![NewTest {
                language: "python".into(),
                origin: TestOrigin::Imported,
                code: format!("def check(c):\n    assert c() == '{source_id}'\n"),
                entry_point: Some(format!("f_{source_id}")),
            }]
        } else {
            vec![]
        },
    }
}

fn response(prompt_id: i64, model_id: i64, i: i64) -> NewResponse {
    NewResponse {
        prompt_id,
        model_id,
        round: 0,
        // One sample without a temperature: NULLs must read back as None.
        temperature: if i == 0 && model_id == 2 {
            None
        } else {
            Some(0.1 + 0.2)
        },
        sample_index: i,
        raw_text: format!("    return {i}\n"),
        code: None,
        finish_reason: Some("stop".into()),
        prompt_tokens: None,
        completion_tokens: None,
        latency_ms: None,
        cost_usd: None,
        request_hash: format!("req-{prompt_id}-{model_id}-{i}"),
        run_id: None,
    }
}

fn scored(response_id: i64, score: f64, outcome: Outcome) -> ScoredResponse {
    ScoredResponse {
        response_id,
        score,
        tier: i64::from(outcome != Outcome::Pass),
        outcome,
        tests_passed: if outcome == Outcome::Pass { 1 } else { 0 },
        tests_total: 1,
        components: json!({ "outcome": score }),
    }
}

async fn prompt_insert_is_idempotent_and_batched_past_one_chunk(store: Store) {
    let rows: Vec<_> = (0..1203)
        .map(|i| prompt(&i.to_string(), i % 2 == 0))
        .collect();
    let calls = std::sync::atomic::AtomicU64::new(0);
    let report = store
        .insert_prompts(&rows, &|n| {
            calls.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .await
        .unwrap();
    assert_eq!(calls.into_inner(), 1203);
    assert_eq!(
        report.prompts,
        InsertReport {
            inserted: 1203,
            existing: 0
        }
    );
    assert_eq!(
        report.tests,
        InsertReport {
            inserted: 602,
            existing: 0
        }
    );
    let again = store.insert_prompts(&rows, &|_| {}).await.unwrap();
    assert_eq!(
        again.prompts,
        InsertReport {
            inserted: 0,
            existing: 1203
        }
    );
    assert_eq!(
        again.tests,
        InsertReport {
            inserted: 0,
            existing: 602
        }
    );
    let st = store.status().await.unwrap();
    assert_eq!((st.prompts, st.tests), (1203, 602));
}

async fn model_roles_never_change_silently(store: Store) {
    let a = store
        .upsert_model("gpt", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    let b = store
        .upsert_model("gpt", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    assert_eq!(a, b);
    let err = store
        .upsert_model("gpt", ModelRole::Student, None, None)
        .await
        .unwrap_err();
    assert!(err.is_user_error());
    assert!(
        err.to_string().contains("already registered as a teacher"),
        "{err}"
    );
}

/// Two prompts, two responses each, one ranked and kept, one dropped.
async fn ranked_fixture(store: &Store) -> (Vec<i64>, RankerRef) {
    store
        .insert_prompts(&[prompt("a", true), prompt("b", true)], &|_| {})
        .await
        .unwrap();
    let keys = store.prompt_keys().await.unwrap();
    let teacher = store
        .upsert_model("t", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    let student = store
        .upsert_model("s", ModelRole::Student, None, None)
        .await
        .unwrap();
    let rows: Vec<_> = keys
        .iter()
        .flat_map(|k| [response(k.id, teacher, 0), response(k.id, student, 0)])
        .collect();
    let rep = store.insert_responses(&rows, &|_| {}).await.unwrap();
    assert_eq!(rep.inserted, 4);
    assert_eq!(
        store
            .insert_responses(&rows, &|_| {})
            .await
            .unwrap()
            .inserted,
        0
    );
    let ranker = RankerRef {
        hash: "abc123".into(),
        config_json: "{}".into(),
    };
    let rankings = vec![
        PromptRanking {
            prompt_id: keys[0].id,
            drop_reason: None,
            ranked: vec![
                scored(1, 1.0, Outcome::Pass),
                scored(2, -1.0, Outcome::CompileError),
            ],
        },
        PromptRanking {
            prompt_id: keys[1].id,
            drop_reason: Some("no passing response".into()),
            ranked: vec![],
        },
    ];
    let rep = store.save_rankings(&ranker, &rankings, None).await.unwrap();
    assert_eq!(rep.inserted, 2);
    assert_eq!(
        store
            .save_rankings(&ranker, &rankings, None)
            .await
            .unwrap()
            .inserted,
        0
    );
    (keys.iter().map(|k| k.id).collect(), ranker)
}

async fn rankings_read_back_best_first_and_status_counts_pairs(store: Store) {
    let (ids, ranker) = ranked_fixture(&store).await;
    assert_eq!(store.resolve_ranker(None).await.unwrap(), ranker);
    assert_eq!(store.resolve_ranker(Some("abc")).await.unwrap(), ranker);
    assert!(
        store
            .resolve_ranker(Some("zzz"))
            .await
            .unwrap_err()
            .is_user_error()
    );
    let groups = store.ranked_groups(&ranker.hash).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].prompt_id, ids[0]);
    let order: Vec<_> = groups[0]
        .responses
        .iter()
        .map(|r| (r.model.as_str(), r.scored.score))
        .collect();
    assert_eq!(order, [("t", 1.0), ("s", -1.0)]);
    assert_eq!(
        groups[0].responses[0].scored.components,
        json!({"outcome": 1.0})
    );
    // Reals round-trip exactly (0.1 + 0.2 is not 0.3), NULL stays None.
    assert_eq!(groups[0].responses[0].temperature, Some(0.1 + 0.2));
    assert_eq!(groups[0].responses[1].temperature, None);

    let st = store.status().await.unwrap();
    assert_eq!(st.prompts, 2);
    assert_eq!(st.responses, 4);
    assert_eq!(st.ranked_prompts, 1);
    assert_eq!(st.dropped_prompts, 1);
    assert_eq!(st.pairs, 1);
    assert_eq!((st.teachers, st.students), (1, 1));
    assert_eq!(st.latest_ranker.as_deref(), Some("abc123"));
}

/// A prompt eliminated after it was ranked (the sampler's screen, decontamination), or whose
/// ranked response was, is out of every ranking: before, its old ranking still reached
/// training, exports, reviews and the status counts (a new user's review, round 11).
async fn eliminating_a_ranked_prompt_or_response_drops_its_rankings(store: Store) {
    let (ids, ranker) = ranked_fixture(&store).await;
    let st = store.status().await.unwrap();
    assert_eq!((st.ranked_prompts, st.dropped_prompts, st.pairs), (1, 1, 1));
    // The dropped prompt, by the sampler's screen.
    assert_eq!(
        store
            .eliminate_prompts(&[(ids[1], "stopwords_only".into())])
            .await
            .unwrap(),
        1
    );
    let st = store.status().await.unwrap();
    assert_eq!((st.ranked_prompts, st.dropped_prompts, st.pairs), (1, 0, 1));
    assert_eq!(store.ranked_groups(&ranker.hash).await.unwrap().len(), 1);
    // A ranked response of the kept prompt, by decontamination.
    let leak = Contamination {
        item: "response",
        item_id: 1,
        prompt_id: ids[0],
        action: ContaminationAction::Eliminated,
        field: "code".into(),
        benchmark: "leak.jsonl:Leak/0".into(),
        method: "solution",
        detail: "the canonical solution".into(),
    };
    store.record_contamination(None, &[leak]).await.unwrap();
    let st = store.status().await.unwrap();
    assert_eq!((st.ranked_prompts, st.dropped_prompts, st.pairs), (0, 0, 0));
    assert!(store.ranked_groups(&ranker.hash).await.unwrap().is_empty());
    // Ranking again puts a prompt that is still kept back.
    let again = PromptRanking {
        prompt_id: ids[0],
        drop_reason: None,
        ranked: vec![scored(2, 1.0, Outcome::Pass)],
    };
    store.save_rankings(&ranker, &[again], None).await.unwrap();
    assert_eq!(store.ranked_groups(&ranker.hash).await.unwrap().len(), 1);
}

async fn executions_are_keyed_by_response_and_test(store: Store) {
    ranked_fixture(&store).await;
    let exec = NewExecution {
        response_id: 1,
        test_id: 1,
        outcome: Outcome::Pass,
        tests_passed: 3,
        tests_total: 3,
        first_failure: None,
        stderr_tail: None,
        wall_ms: Some(5),
        cpu_ms: Some(4),
        peak_rss_kb: Some(9000),
        executor_hash: "x".into(),
    };
    assert_eq!(
        store
            .insert_executions(std::slice::from_ref(&exec))
            .await
            .unwrap()
            .inserted,
        1
    );
    assert_eq!(
        store
            .insert_executions(std::slice::from_ref(&exec))
            .await
            .unwrap()
            .inserted,
        0
    );
    let bad = NewExecution {
        tests_passed: 4,
        response_id: 2,
        ..exec
    };
    assert!(
        store.insert_executions(&[bad]).await.is_err(),
        "passed > total must be refused"
    );
    assert_eq!(store.status().await.unwrap().executions, 1);
}

/// Samplers' request claims: a key held live by one sampler is not given to another; its own
/// count as claimable; expired or released claims are taken over; stored answers are found.
async fn samplers_claim_requests_by_lease(store: Store) {
    let keys = ["k1", "k2", "k3"];
    let a = store
        .claim_requests(&keys[..2], "a:1:0", 60_000)
        .await
        .unwrap();
    assert_eq!(a.len(), 2);
    let b = store.claim_requests(&keys, "b:2:0", 60_000).await.unwrap();
    assert_eq!(b, ["k3".to_owned()].into_iter().collect());
    assert_eq!(
        store
            .claim_requests(&keys[..1], "a:1:0", 60_000)
            .await
            .unwrap()
            .len(),
        1
    );
    let samplers = store.live_samplers().await.unwrap();
    assert_eq!(
        samplers
            .iter()
            .map(|w| (w.worker.as_str(), w.claimed))
            .collect::<Vec<_>>(),
        [("a:1:0", 2), ("b:2:0", 1)]
    );
    assert_eq!(store.claim_holders().await.unwrap(), ["a:1:0", "b:2:0"]);
    assert_eq!(
        store.renew_request_claims("a:1:0", 60_000).await.unwrap(),
        2
    );
    // Expired (a process known gone): taken over.
    assert_eq!(store.expire_claims_of("a:1:0").await.unwrap(), 2);
    assert_eq!(
        store
            .claim_requests(&keys, "b:2:0", 60_000)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.release_request_claims("b:2:0").await.unwrap(), 3);
    assert!(store.live_samplers().await.unwrap().is_empty());
    assert!(store.stored_among(&keys).await.unwrap().is_empty());
}

/// The review server's accounts: a token logs in its reviewer (only its hash is stored), a
/// session's cookie finds it again, a new token or removal ends the sessions, names are
/// checked and unique.
async fn reviewers_log_in_by_token_and_removal_ends_their_sessions(store: Store) {
    let ana = store.add_reviewer("ana", "ops").await.unwrap();
    let bo = store.add_reviewer("bo", "ops").await.unwrap();
    assert!(ana.starts_with("rrtf_rv_") && ana.len() == 8 + 64, "{ana}");
    assert_ne!(ana, bo);
    let err = store.add_reviewer("ana", "ops").await.unwrap_err();
    assert!(err.to_string().contains("users reset ana"), "{err}");
    for bad in ["", "a b", "x\n", &"n".repeat(65)] {
        assert!(store.add_reviewer(bad, "ops").await.is_err(), "{bad:?}");
    }
    assert!(
        store
            .open_review_session("rrtf_rv_00", 60_000)
            .await
            .unwrap()
            .is_none()
    );
    // What the database keeps (the token's SHA-256) is no token.
    let stored = rrtf_store::sha256_hex(&ana);
    assert!(
        store
            .open_review_session(&stored, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    let s = store
        .open_review_session(&ana, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.reviewer, "ana");
    assert_ne!(s.cookie, s.csrf);
    assert_eq!(
        store.review_session(&s.cookie).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(store.review_session("nope").await.unwrap(), None);
    let b = store
        .open_review_session(&format!(" {bo}\n"), 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.reviewer, "bo");
    let listed = store.reviewers().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.name.as_str(), r.sessions))
            .collect::<Vec<_>>(),
        [("ana", 1), ("bo", 1)]
    );
    // An expired session no longer counts.
    let gone = store.open_review_session(&ana, -1).await.unwrap().unwrap();
    assert_eq!(store.review_session(&gone.cookie).await.unwrap(), None);
    // Logging out ends one session.
    store.close_review_session(&b.cookie).await.unwrap();
    assert_eq!(store.review_session(&b.cookie).await.unwrap(), None);
    // A new token: the old one and the sessions stop working.
    let ana2 = store.reset_reviewer("ana").await.unwrap();
    assert_eq!(store.review_session(&s.cookie).await.unwrap(), None);
    assert!(
        store
            .open_review_session(&ana, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    let s2 = store
        .open_review_session(&ana2, 60_000)
        .await
        .unwrap()
        .unwrap();
    // Removal: sessions end, the token stops working, the account stays listed.
    store.remove_reviewer("ana").await.unwrap();
    assert_eq!(store.review_session(&s2.cookie).await.unwrap(), None);
    assert!(
        store
            .open_review_session(&ana2, 60_000)
            .await
            .unwrap()
            .is_none()
    );
    let listed = store.reviewers().await.unwrap();
    assert!(listed[0].revoked_at.is_some() && listed[1].revoked_at.is_none());
    let err = store.remove_reviewer("cy").await.unwrap_err();
    assert!(err.to_string().contains("users add cy"), "{err}");
    // Reset lets a removed reviewer back in.
    let ana3 = store.reset_reviewer("ana").await.unwrap();
    assert!(
        store
            .open_review_session(&ana3, 60_000)
            .await
            .unwrap()
            .is_some()
    );
}

async fn reviews_are_append_only_and_checked(store: Store) {
    let (ids, _) = ranked_fixture(&store).await;
    let review = NewReview {
        prompt_id: ids[0],
        response_id: Some(2),
        action: ReviewAction::Pin,
        payload: None,
        author: "ana".into(),
        reason: Some("clearer".into()),
    };
    store.add_review(&review).await.unwrap();
    let wrong = NewReview {
        response_id: Some(3),
        ..review.clone()
    };
    let err = store.add_review(&wrong).await.unwrap_err();
    assert!(
        err.to_string().contains("response (for this prompt) id 3"),
        "{err}"
    );
    let all = store.reviews().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].action, ReviewAction::Pin);
    assert_eq!(all[0].author, "ana");
}

async fn sampler_reads_kept_prompts_stored_keys_and_round_spend(store: Store) {
    let prompts: Vec<_> = (0..5).map(|i| prompt(&format!("s{i}"), false)).collect();
    store.insert_prompts(&prompts, &|_| {}).await.unwrap();
    let all = store.sampling_prompts(None).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].kind, PromptKind::Completion);
    assert_eq!(all[0].text, "def f_s0():\n");
    assert_eq!(store.sampling_prompts(Some(2)).await.unwrap().len(), 2);

    let a = store
        .upsert_model("a", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    let b = store
        .upsert_model("b", ModelRole::Student, None, None)
        .await
        .unwrap();
    let mut rows = vec![response(all[0].id, a, 0), response(all[1].id, b, 1)];
    rows[0].cost_usd = Some(0.25);
    rows[1].cost_usd = Some(0.5);
    rows[1].round = 1;
    let run = store
        .begin_run(&NewRun {
            round: 1,
            stage: "sample".into(),
            config_json: "{}".into(),
            config_hash: "h".into(),
            revision: None,
            seed: None,
        })
        .await
        .unwrap();
    rows[1].run_id = Some(run.id);
    // Each answer's request goes to the ledger in the same transaction.
    let request = |r: &NewResponse, teacher: &str| NewLlmRequest {
        round: r.round,
        run_id: r.run_id,
        stage: "sample",
        teacher: teacher.into(),
        model: "served".into(),
        request_key: r.request_hash.clone(),
        error: None,
        attempts: Some(1),
        prompt_tokens: Some(10),
        completion_tokens: Some(5),
        cost_usd: r.cost_usd.unwrap(),
        latency_ms: Some(7),
    };
    let requests = vec![request(&rows[0], "a"), request(&rows[1], "b")];
    store
        .insert_responses_and_requests(&rows, &requests, &|_| {})
        .await
        .unwrap();
    let keys = store.stored_request_hashes(&[a]).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys.contains(&rows[0].request_hash));
    assert_eq!(store.stored_request_hashes(&[a, b]).await.unwrap().len(), 2);
    assert!(store.stored_request_hashes(&[]).await.unwrap().is_empty());
    assert_eq!(store.round_spend(0).await.unwrap(), 0.25);
    assert_eq!(store.round_spend(1).await.unwrap(), 0.5);
    assert_eq!(store.round_spend(7).await.unwrap(), 0.0);
    let ids = store.response_identities(1).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!((ids[0].model.as_str(), ids[0].sample_index), ("b", 1));
    assert_eq!(ids[0].request_hash, rows[1].request_hash);
    let ledger = store.round_ledger(1).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0].model.as_str(), ledger[0].responses), ("b", 1));
    assert_eq!(ledger[0].cost_usd, 0.5);
    assert!(store.round_ledger(9).await.unwrap().is_empty());
    assert_eq!(ids[0].run_id, Some(run.id), "the response names its run");
    assert_eq!(store.response_identities(0).await.unwrap()[0].run_id, None);

    // Other stages' requests, and failures, count in the round's spend and per-teacher lines.
    let mut evolve = request(&rows[1], "b");
    evolve.stage = "evolve";
    evolve.cost_usd = 0.125;
    let mut failed = request(&rows[1], "b");
    failed.stage = "evolve";
    failed.error = Some("exhausted: gave up".into());
    failed.cost_usd = 0.0;
    (failed.prompt_tokens, failed.completion_tokens) = (None, None);
    store.insert_llm_requests(&[evolve, failed]).await.unwrap();
    assert_eq!(store.round_spend(1).await.unwrap(), 0.625);
    let lines = store.ledger_lines(Some(1)).await.unwrap();
    let got: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l.stage.as_str(),
                l.teacher.as_str(),
                l.requests,
                l.failed,
                l.prompt_tokens,
                l.cost_usd,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("evolve", "b", 2, 1, 10, 0.125),
            ("sample", "b", 1, 0, 10, 0.5)
        ]
    );
    assert_eq!(store.ledger_lines(None).await.unwrap().len(), 3);
}

async fn evolved_prompts_keep_lineage_and_status_and_insert_once(store: Store) {
    store
        .insert_prompts(&[prompt("seed", false)], &|_| {})
        .await
        .unwrap();
    let seed = store.prompt_pool().await.unwrap()[0].id;
    let child = |sid: &str, text: &str| NewPrompt {
        round: 1,
        source: "evol-r1".into(),
        source_id: sid.into(),
        kind: PromptKind::Instruction,
        text: text.into(),
        language: "python".into(),
        entry_point: None,
        reference: None,
        parent_id: Some(seed),
        evolution_method: Some("add_constraints".into()),
        tests: vec![],
    };
    let rows = vec![
        (child("unit:seed>1", "harder"), None),
        (child("unit:seed>b1", "sorry"), Some("apology".to_string())),
    ];
    let r = store.insert_evolved(&rows).await.unwrap();
    assert_eq!((r.inserted, r.existing), (2, 0));
    let r = store.insert_evolved(&rows).await.unwrap();
    assert_eq!((r.inserted, r.existing), (0, 2));
    let pool = store.prompt_pool().await.unwrap();
    assert_eq!(pool.len(), 3);
    assert_eq!(
        (pool[1].status.as_str(), pool[1].parent_id),
        ("kept", Some(seed))
    );
    assert_eq!(pool[1].evolution_method.as_deref(), Some("add_constraints"));
    assert_eq!(
        (pool[2].status.as_str(), pool[2].status_reason.as_deref()),
        ("eliminated", Some("apology"))
    );
    // Eliminated prompts are not sampled.
    assert_eq!(store.sampling_prompts(None).await.unwrap().len(), 2);
}

async fn pending_executions_are_exactly_what_is_missing(store: Store) {
    ranked_fixture(&store).await;
    let pending = store.pending_executions(None, None).await.unwrap();
    assert_eq!(pending.len(), 4);
    assert_eq!(store.pending_execution_count(None).await.unwrap(), 4);
    assert_eq!(pending[0].kind, PromptKind::Completion);
    assert!(pending[0].test_code.contains("def check"));
    store
        .insert_executions(&[execution_of(&pending[1])])
        .await
        .unwrap();
    let left: Vec<i64> = store
        .pending_executions(None, None)
        .await
        .unwrap()
        .iter()
        .map(|p| p.response_id)
        .collect();
    assert_eq!(left.len(), 3);
    assert!(!left.contains(&pending[1].response_id));
    assert_eq!(
        store.pending_executions(None, Some(2)).await.unwrap().len(),
        2
    );
    store
        .set_response_code(&[(1, "code".into())])
        .await
        .unwrap();
    store
        .set_response_code(&[(1, "other".into())])
        .await
        .unwrap();
    assert_eq!(
        store.pending_executions(None, None).await.unwrap()[0]
            .code
            .as_deref(),
        Some("code")
    );
}

fn execution_of(p: &PendingExecution) -> NewExecution {
    NewExecution {
        response_id: p.response_id,
        test_id: p.test_id,
        outcome: Outcome::Pass,
        tests_passed: 1,
        tests_total: 1,
        first_failure: None,
        stderr_tail: None,
        wall_ms: None,
        cpu_ms: None,
        peak_rss_kb: None,
        executor_hash: "x".into(),
    }
}

fn pairs(held: &[PendingExecution]) -> Vec<(i64, i64)> {
    held.iter().map(|p| (p.response_id, p.test_id)).collect()
}

/// Claims: two workers get disjoint batches; a worker's own claims come back to it; what is
/// executed leaves the claims; a released or expired claim goes to another worker.
async fn workers_share_pending_executions_by_lease(store: Store) {
    ranked_fixture(&store).await;
    let all = pairs(&store.pending_executions(None, None).await.unwrap());
    assert_eq!(all.len(), 4);
    let minute = 60_000;
    let a = store.claim_executions(None, 2, "a", minute).await.unwrap();
    let b = store.claim_executions(None, 3, "b", minute).await.unwrap();
    assert_eq!(pairs(&a), all[..2], "a takes the first two, in order");
    assert_eq!(pairs(&b), all[2..], "b gets only what a does not hold");
    assert!(a[0].test_code.contains("def check"), "claims carry the job");
    let c = store.claim_executions(None, 4, "c", minute).await.unwrap();
    assert!(c.is_empty(), "everything is held: {:?}", pairs(&c));
    // Its own claims are a worker's again (and asking for more takes nothing of b's).
    let a_again = store.claim_executions(None, 4, "a", minute).await.unwrap();
    assert_eq!(pairs(&a_again), all[..2]);
    let workers = store.live_workers().await.unwrap();
    assert_eq!(
        workers
            .iter()
            .map(|w| (w.worker.as_str(), w.claimed))
            .collect::<Vec<_>>(),
        [("a", 2), ("b", 2)]
    );
    // a executes one pair: that claim is gone with it, the other is still a's.
    store
        .insert_executions(&[execution_of(&a[0])])
        .await
        .unwrap();
    assert_eq!(
        pairs(&store.claim_executions(None, 4, "a", minute).await.unwrap()),
        all[1..2]
    );
    // a gives up: c takes its pair; b's lease runs out (renewed to "now"): c takes b's too.
    assert_eq!(store.release_claims("a").await.unwrap(), 1);
    assert_eq!(store.renew_claims("b", 0).await.unwrap(), 2);
    let c = store.claim_executions(None, 4, "c", minute).await.unwrap();
    assert_eq!(pairs(&c), all[1..]);
    assert!(
        store
            .claim_executions(None, 4, "b", minute)
            .await
            .unwrap()
            .is_empty(),
        "b lost its pairs to c"
    );
    let done: Vec<NewExecution> = c.iter().map(execution_of).collect();
    store.insert_executions(&done).await.unwrap();
    assert_eq!(store.pending_execution_count(None).await.unwrap(), 0);
    assert!(store.live_workers().await.unwrap().is_empty());
    let st = store.status().await.unwrap();
    assert!(
        st.workers.is_empty() && st.clock_ms > 1_700_000_000_000,
        "{st:?}"
    );
}

/// Tests land on their own prompt whether the chunk's prompts are all new (ids taken from the
/// INSERT) or partly stored already or repeated (ids looked up).
async fn tests_attach_to_their_prompt_for_new_existing_and_repeated_rows(store: Store) {
    let first: Vec<_> = (0..7).map(|i| prompt(&format!("a{i}"), true)).collect();
    store.insert_prompts(&first, &|_| {}).await.unwrap();
    // Mixed: three stored already, four new, one new row twice.
    let mut mixed: Vec<_> = (4..11).map(|i| prompt(&format!("a{i}"), true)).collect();
    mixed.push(prompt("a9", true));
    let report = store.insert_prompts(&mixed, &|_| {}).await.unwrap();
    assert_eq!(
        report.prompts,
        InsertReport {
            inserted: 4,
            existing: 4
        }
    );
    assert_eq!(
        report.tests,
        InsertReport {
            inserted: 4,
            existing: 4
        }
    );
    for i in 0..11 {
        let sid = format!("a{i}");
        let detail = store.prompt_detail(&sid, None).await.unwrap();
        let codes: Vec<_> = detail.tests.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(
            codes,
            [format!("def check(c):\n    assert c() == '{sid}'\n")],
            "{sid}"
        );
    }
}

/// Text that a bulk format could read as markup (PostgreSQL's path is `COPY`'s text format:
/// tabs, newlines, backslashes, its NULL `\N` and end marker `\.`) comes back unchanged, and new
/// prompts' ids ascend in the rows' order, rounds created on first use.
async fn prompt_text_round_trips_byte_for_byte_and_ids_follow_the_rows(store: Store) {
    let tricky =
        "def f(s):\r\n\t\"\"\"a\\tb \\N\n\\.\n\\N \u{e9}\u{1f600} \u{7f}\"\"\"\n\treturn '\\\\'\n";
    let mut rows: Vec<_> = (0..5).map(|i| prompt(&format!("z{i}"), true)).collect();
    rows[1].text = tricky.into();
    rows[1].reference = Some("\\.".into());
    rows[1].source_id = "tab\there\\N".into();
    rows[1].entry_point = None;
    rows[1].tests[0].code = format!("{tricky}assert True\n");
    rows[3].round = 7;
    rows[3].evolution_method = Some("deepen\tmethod".into());
    rows.reverse();
    store.insert_prompts(&rows, &|_| {}).await.unwrap();
    let keys = store.prompt_keys().await.unwrap();
    let order: Vec<_> = keys.iter().map(|k| k.source_id.as_str()).collect();
    assert_eq!(order, ["z4", "z3", "z2", "tab\there\\N", "z0"]);
    let detail = store.prompt_detail("tab\there\\N", None).await.unwrap();
    assert_eq!(detail.prompt.text, tricky);
    assert_eq!(detail.prompt.entry_point, None);
    assert_eq!(detail.tests.len(), 1);
    assert_eq!(detail.tests[0].code, format!("{tricky}assert True\n"));
    let z3 = store.prompt_detail("z3", None).await.unwrap();
    assert_eq!(z3.prompt.round, 7);
    assert_eq!(
        z3.prompt.evolution_method.as_deref(),
        Some("deepen\tmethod")
    );
    let hashes: Vec<_> = keys.iter().map(|k| k.content_hash.clone()).collect();
    assert_eq!(hashes[3], rrtf_store::content_hash(tricky));
    // Creation times have SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` form on both
    // backends (PostgreSQL's `COPY` path writes the time it read from the server per batch).
    let stamps = stored_times(&store, "prompts").await;
    let test_stamps = stored_times(&store, "tests").await;
    assert_eq!((stamps.len(), test_stamps.len()), (5, 5));
    for t in stamps.iter().chain(&test_stamps) {
        let shape: String = t
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        assert_eq!(shape, "9999-99-99T99:99:99.999Z", "created_at {t:?}");
        assert!(t.as_str() >= "2026-01-01", "created_at {t:?}");
    }
}

/// A table's `created_at` values, read with a connection of the test's own.
async fn stored_times(store: &Store, table: &str) -> Vec<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let url = match store.location() {
        rrtf_store::Location::Sqlite(path) => format!("sqlite:{}", path.display()),
        rrtf_store::Location::Postgres(url) => url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT created_at FROM {table} ORDER BY id"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// U+0000, which PostgreSQL's `text` refuses (the whole statement failed, so a sample that
/// printed a NUL byte stopped every executor of a PostgreSQL project at the same batch), is
/// stored as U+FFFD on both backends: in a prompt, its test (and the test's key), a response,
/// and an execution's failure and stderr.
async fn text_with_nul_is_stored_with_the_replacement_character(store: Store) {
    let mut p = prompt("nul", true);
    p.text = "def f_nul():\n    \"\"\"a\0b\"\"\"\n".into();
    p.tests[0].code = "def check(c):\n    assert c() == '\0'\n".into();
    // The same test but for the replacement character: the same stored code, so one test.
    let mut again = p.tests[0].clone();
    again.code = again.code.replace('\0', "\u{FFFD}");
    p.tests.push(again);
    let rep = store.insert_prompts(&[p], &|_| {}).await.unwrap();
    assert_eq!((rep.prompts.inserted, rep.tests.inserted), (1, 1));
    let keys = store.prompt_keys().await.unwrap();
    let model = store
        .upsert_model("t", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    let mut r = response(keys[0].id, model, 0);
    r.raw_text = "    print('\0\0')\n".into();
    store.insert_responses(&[r], &|_| {}).await.unwrap();
    let exec = NewExecution {
        response_id: 1,
        test_id: 1,
        outcome: Outcome::RuntimeError,
        tests_passed: 0,
        tests_total: 1,
        first_failure: Some("ValueError: bad \0 byte".into()),
        stderr_tail: Some("\0\u{1b}[31m".into()),
        wall_ms: None,
        cpu_ms: None,
        peak_rss_kb: None,
        executor_hash: "x".into(),
    };
    assert_eq!(store.insert_executions(&[exec]).await.unwrap().inserted, 1);
    let detail = store.prompt_detail("nul", None).await.unwrap();
    assert_eq!(
        detail.prompt.text,
        "def f_nul():\n    \"\"\"a\u{FFFD}b\"\"\"\n"
    );
    assert_eq!(
        keys[0].content_hash,
        rrtf_store::content_hash(&detail.prompt.text),
        "the key is the stored text's"
    );
    assert_eq!(detail.tests.len(), 1);
    assert_eq!(
        detail.tests[0].code,
        "def check(c):\n    assert c() == '\u{FFFD}'\n"
    );
    assert_eq!(
        detail.responses[0].raw_text,
        "    print('\u{FFFD}\u{FFFD}')\n"
    );
    assert_eq!(
        detail.responses[0].first_failure.as_deref(),
        Some("ValueError: bad \u{FFFD} byte")
    );
}

/// A writer's batch that meets a stored key after earlier batches went in whole (PostgreSQL:
/// the `COPY` of new rows is refused and the batch merged instead) keeps those batches, skips
/// only the stored prompt, and adds its new test to it.
async fn a_batch_meeting_a_stored_key_keeps_the_writers_earlier_batches(store: Store) {
    let mut stored = prompt("k700", false);
    stored.text = "the stored text".into();
    store.insert_prompts(&[stored], &|_| {}).await.unwrap();
    let rows: Vec<_> = (0..1203).map(|i| prompt(&format!("k{i}"), true)).collect();
    let report = store.insert_prompts(&rows, &|_| {}).await.unwrap();
    assert_eq!(
        report.prompts,
        InsertReport {
            inserted: 1202,
            existing: 1
        }
    );
    assert_eq!(
        report.tests,
        InsertReport {
            inserted: 1203,
            existing: 0
        }
    );
    let keys = store.prompt_keys().await.unwrap();
    let order: Vec<String> = keys.iter().map(|k| k.source_id.clone()).collect();
    let mut expected = vec!["k700".to_owned()];
    expected.extend((0..1203).filter(|&i| i != 700).map(|i| format!("k{i}")));
    assert_eq!(order, expected);
    let detail = store.prompt_detail("k700", None).await.unwrap();
    assert_eq!(detail.prompt.text, "the stored text");
    assert_eq!(detail.tests.len(), 1);
    for sid in ["k0", "k699", "k701", "k1202"] {
        let d = store.prompt_detail(sid, None).await.unwrap();
        assert_eq!(d.prompt.text, format!("def f_{sid}():\n"));
        assert_eq!(
            d.tests.iter().map(|t| t.code.clone()).collect::<Vec<_>>(),
            [format!("def check(c):\n    assert c() == '{sid}'\n")]
        );
    }
    let st = store.status().await.unwrap();
    assert_eq!((st.prompts, st.tests), (1203, 1203));
}

async fn prompt_search_matches_text_and_source_id_literally(store: Store) {
    let mut odd = prompt("Odd/1", false);
    odd.text = "Return 100% of the VALUES_x".into();
    store
        .insert_prompts(
            &[prompt("alpha", false), prompt("beta", false), odd],
            &|_| {},
        )
        .await
        .unwrap();
    for (needle, ids) in [
        ("F_ALPHA", vec![1]), // the text, any ASCII case
        ("def f_", vec![1, 2]),
        ("odd/", vec![3]), // the source id
        ("100%", vec![3]), // no LIKE wildcards
        ("_X", vec![3]),
        ("%", vec![3]),
        ("gamma", vec![]),
    ] {
        assert_eq!(store.search_prompts(needle).await.unwrap(), ids, "{needle}");
    }
}

/// A project with something in every kind of table: prompts, tests, models, responses,
/// executions, rankings, a review and the review policy, a run, a training run with metrics,
/// ledger rows.
async fn full_fixture(store: &Store) {
    let (ids, _) = ranked_fixture(store).await;
    let pending = store.pending_executions(None, None).await.unwrap();
    store
        .insert_executions(&pending.iter().map(execution_of).collect::<Vec<_>>())
        .await
        .unwrap();
    store
        .add_review(&NewReview {
            prompt_id: ids[0],
            response_id: Some(1),
            action: ReviewAction::Pin,
            payload: None,
            author: "ana".into(),
            reason: Some("clearly best".into()),
        })
        .await
        .unwrap();
    store
        .set_review_policy(
            &ReviewPolicy {
                require_reason: vec![ReviewAction::Exclude],
            },
            "ana",
        )
        .await
        .unwrap();
    let run = store
        .begin_run(&NewRun {
            round: 1,
            stage: "train".into(),
            config_json: "{}".into(),
            config_hash: "h".into(),
            revision: None,
            seed: Some(7),
        })
        .await
        .unwrap();
    let training = store
        .begin_training(Some(run), 1, "base", "out", "{}", "h")
        .await
        .unwrap();
    store
        .insert_training_metrics(
            training,
            &[MetricPoint {
                step: 1,
                split: "train".into(),
                name: "loss".into(),
                value: 0.1 + 0.2,
            }],
        )
        .await
        .unwrap();
    store
        .finish_run(run, true, &json!({"ok": 1}))
        .await
        .unwrap();
    store
        .insert_llm_requests(&[NewLlmRequest {
            round: 1,
            run_id: Some(run.id),
            stage: "sample",
            teacher: "t".into(),
            model: "m".into(),
            request_key: "k".into(),
            error: None,
            attempts: Some(1),
            prompt_tokens: Some(3),
            completion_tokens: Some(4),
            cost_usd: 1.0 / 3.0,
            latency_ms: Some(5),
        }])
        .await
        .unwrap();
    store.add_reviewer("ana", "ops").await.unwrap();
    store.add_reviewer("bo", "ops").await.unwrap();
    store.remove_reviewer("bo").await.unwrap();
}

/// `rrtf db copy`'s store side: SQLite to PostgreSQL and back, every table's count and content
/// hash equal (reals exactly), ids kept and new ids after them; a target with data is refused.
#[tokio::test]
async fn a_project_copies_to_postgres_and_back_unchanged() {
    let Some(pg) = rrtf_store::testing::postgres_or_skip("copy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = Store::create(&dir.path().join("a.db")).await.unwrap();
    full_fixture(&source).await;
    let url = pg.fresh_url("copy");
    let middle = Store::create(std::path::Path::new(&url)).await.unwrap();
    let copied = source.copy_to(&middle, &|_, _| {}).await.unwrap();
    let rows = |table: &str| copied.iter().find(|t| t.table == table).unwrap().rows;
    assert_eq!(
        (
            rows("prompts"),
            rows("responses"),
            rows("executions"),
            rows("scores")
        ),
        (2, 4, 4, 2)
    );
    assert!(
        copied.iter().filter(|t| t.rows > 0).count() >= 14,
        "{copied:?}"
    );
    assert_eq!(middle.table_digests().await.unwrap(), copied);
    assert_eq!(
        middle.status().await.unwrap().pairs,
        source.status().await.unwrap().pairs
    );
    // Back to SQLite: the same digests again.
    let back = Store::create(&dir.path().join("b.db")).await.unwrap();
    assert_eq!(middle.copy_to(&back, &|_, _| {}).await.unwrap(), copied);
    // New rows on PostgreSQL take ids after the copied ones.
    let id = middle
        .upsert_model("new", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    assert_eq!(id, 3);
    // A target holding data is refused, naming it.
    let err = source.copy_to(&back, &|_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("already holds data"), "{err}");
}

/// The error of opening a PostgreSQL database on this host's `port`, which must come within
/// `secs` seconds.
async fn open_fails_within(port: u16, secs: u64) -> String {
    let url = format!("postgres://rrtf@127.0.0.1:{port}/x");
    let t = std::time::Instant::now();
    let err = Store::open(std::path::Path::new(&url))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(secs),
        "{:?}: {err}",
        t.elapsed()
    );
    err
}

/// Opening a PostgreSQL database that cannot be reached fails at once with the real error and
/// what to check (the pool alone retried for 30 s and said "pool timed out"); a server's error
/// is its message, without the line of PostgreSQL's C source that sqlx 0.9 appends.
#[tokio::test]
async fn unreachable_servers_and_refused_logins_say_why_at_once() {
    // A port nothing listens on: the one a listener just had.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = open_fails_within(port, 10).await;
    assert!(
        err.contains("Connection refused") && err.contains("hint: is a PostgreSQL server"),
        "{err}"
    );
    // A port that accepts connections (the kernel completes them into the listener's
    // backlog) and never answers: the open gives up after its 20 s, the same way.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = open_fails_within(silent.local_addr().unwrap().port(), 40).await;
    assert!(
        err.contains("no answer from the server in 20 s")
            && err.contains("hint: is a PostgreSQL server"),
        "{err}"
    );
    let Some(pg) = rrtf_store::testing::postgres_or_skip("refused_login") else {
        return;
    };
    // A role the server does not have: refused with the server's own words.
    let fresh = pg.fresh_url("refused");
    let host = match fresh.rsplit_once('@') {
        Some((_, host)) => host,
        None => fresh.split_once("://").unwrap().1,
    };
    let url = format!("postgres://nobody_here:pw@{host}");
    let err = Store::open(std::path::Path::new(&url))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"nobody_here\"") && !err.contains(" at line "),
        "{err}"
    );
}
