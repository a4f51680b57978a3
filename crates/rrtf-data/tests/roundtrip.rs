//! Import -> (fixture rankings) -> export, per format, on real temporary SQLite files; reviews
//! change what is exported; a malformed row leaves no rows behind.

use std::path::{Path, PathBuf};

use rrtf_data::FieldMap;
use rrtf_data::export::{ExportFormat, ExportOptions, TextField, export};
use rrtf_data::import::{
    PromptFormat, PromptImport, ResponseImport, import_prompts, import_responses,
};
use rrtf_data::pairs::PairStrategy;
use rrtf_store::*;
use rrtf_types::UserError;
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    store: Store,
    prompt_ids: Vec<i64>,
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn prompt_opts() -> PromptImport {
    PromptImport {
        format: PromptFormat::Auto,
        map: FieldMap::default(),
        source: None,
        round: 0,
        language: None,
        skip_invalid: false,
    }
}

fn response_opts(model: &str, role: ModelRole) -> ResponseImport {
    ResponseImport {
        model: model.into(),
        role,
        endpoint: None,
        source: None,
        round: 0,
        map: FieldMap::default(),
        skip_invalid: false,
        kind: rrtf_exec::answer::AnswerKind::Auto,
    }
}

/// Three HumanEval-style prompts (T/0 and T/1 of round 0, T/2 of round 1); the teacher's
/// answer passes, the student's fails.
async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let store = Store::create(&dir.join("rt.db")).await.unwrap();
    let prompts: Vec<Value> = (0..3)
        .map(|i| {
            json!({"task_id": format!("T/{i}"), "prompt": format!("def f{i}(x):\n    \"\"\"Return x + {i}.\"\"\"\n"),
                   "canonical_solution": format!("    return x + {i}\n"),
                   "test": format!("def check(c):\n    assert c(1) == {}\n", 1 + i), "entry_point": format!("f{i}")})
        })
        .collect();
    write_jsonl(&dir.join("he.jsonl"), &prompts[..2]);
    let rep = import_prompts(&store, &dir.join("he.jsonl"), &prompt_opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(rep.inserted.prompts.inserted, 2);
    // The same source, a later round.
    write_jsonl(&dir.join("he-r1.jsonl"), &prompts[2..]);
    let r1 = PromptImport {
        round: 1,
        source: Some("he".into()),
        ..prompt_opts()
    };
    let rep = import_prompts(&store, &dir.join("he-r1.jsonl"), &r1, &|_| {})
        .await
        .unwrap();
    assert_eq!(rep.inserted.prompts.inserted, 1);
    for (model, role, body) in [
        ("teacher", ModelRole::Teacher, "x + {i}"),
        ("student", ModelRole::Student, "x"),
    ] {
        let rows: Vec<Value> = (0..3)
            .map(|i| json!({"task_id": format!("T/{i}"), "completion": format!("    return {}\n", body.replace("{i}", &i.to_string()))}))
            .collect();
        let path = dir.join(format!("{model}.jsonl"));
        write_jsonl(&path, &rows);
        let rep = import_responses(&store, &path, &response_opts(model, role), &|_| {})
            .await
            .unwrap();
        assert_eq!(rep.inserted.inserted, 3);
        // Importing the same file again stores nothing twice.
        let again = import_responses(&store, &path, &response_opts(model, role), &|_| {})
            .await
            .unwrap();
        assert_eq!((again.inserted.inserted, again.inserted.existing), (0, 3));
    }
    let keys = store.prompt_keys().await.unwrap();
    let prompt_ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
    // Fixture rankings: responses 1..3 are the teacher's, 4..6 the student's.
    let rankings: Vec<PromptRanking> = prompt_ids
        .iter()
        .enumerate()
        .map(|(i, &pid)| PromptRanking {
            prompt_id: pid,
            drop_reason: None,
            ranked: vec![
                ScoredResponse {
                    response_id: 1 + i as i64,
                    score: 1.01,
                    tier: 0,
                    outcome: Outcome::Pass,
                    tests_passed: 1,
                    tests_total: 1,
                    components: json!({"outcome": 1.0, "teacher": 0.01}),
                },
                ScoredResponse {
                    response_id: 4 + i as i64,
                    score: -0.3,
                    tier: 1,
                    outcome: Outcome::TestFailure,
                    tests_passed: 0,
                    tests_total: 1,
                    components: json!({"outcome": -0.3}),
                },
            ],
        })
        .collect();
    let ranker = RankerRef {
        hash: "f".repeat(64),
        config_json: "{\"teacher_epsilon\":0.01}".into(),
    };
    store.save_rankings(&ranker, &rankings, None).await.unwrap();
    Fixture {
        _dir: tmp,
        dir,
        store,
        prompt_ids,
    }
}

fn opts(dir: &Path, format: ExportFormat, file: &str) -> ExportOptions {
    ExportOptions {
        format,
        out: dir.join(file),
        pairs: Some(PairStrategy::BestVsWorst),
        min_gap: Some(0.0),
        text: TextField::Raw,
        ranker: None,
        rounds: None,
        name: None,
        layout: Default::default(),
        system: None,
        license: None,
        data_format: None,
    }
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A file name whose extension says the other data format is refused before anything is
/// written; a matching one (or no --data-format) is fine.
#[tokio::test]
async fn an_out_named_for_the_other_data_format_is_refused() {
    let f = fixture().await;
    for (file, asked) in [
        ("x.parquet", rrtf_data::export::DataFormat::Jsonl),
        ("x.jsonl", rrtf_data::export::DataFormat::Parquet),
    ] {
        let mut o = opts(&f.dir, ExportFormat::Trl, file);
        o.data_format = Some(asked);
        let err = export(&f.store, &o).await.unwrap_err().to_string();
        assert!(
            err.contains(&format!("with --data-format {}", asked.as_str()))
                && err.contains(&format!("name it .{}", asked.as_str())),
            "{err}"
        );
        assert!(!f.dir.join(file).exists());
    }
    let mut o = opts(&f.dir, ExportFormat::Trl, "y.parquet");
    o.data_format = Some(rrtf_data::export::DataFormat::Parquet);
    assert_eq!(export(&f.store, &o).await.unwrap().rows, 3);
}

#[tokio::test]
async fn trl_round_trip_prefers_the_teacher_and_manifest_hashes_the_file() {
    let f = fixture().await;
    let report = export(&f.store, &opts(&f.dir, ExportFormat::Trl, "trl.jsonl"))
        .await
        .unwrap();
    assert_eq!((report.prompts, report.rows), (3, 3));
    let rows = read_jsonl(&f.dir.join("trl.jsonl"));
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            row["prompt"],
            format!("def f{i}(x):\n    \"\"\"Return x + {i}.\"\"\"\n")
        );
        assert_eq!(row["chosen"], format!("    return x + {i}\n"));
        assert_eq!(row["rejected"], "    return x\n");
        assert_eq!(row["chosen_model"], "teacher");
        assert_eq!(
            (row["score_chosen"].as_f64(), row["score_rejected"].as_f64()),
            (Some(1.01), Some(-0.3))
        );
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(f.dir.join("trl.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rows"], 3);
    assert_eq!(manifest["ranker_config_hash"], "f".repeat(64));
    assert_eq!(
        manifest["files"][0]["sha256"],
        sha256_hex(std::fs::read(f.dir.join("trl.jsonl")).unwrap())
    );
}

#[tokio::test]
async fn llama_factory_rows_and_dataset_info_entry() {
    let f = fixture().await;
    std::fs::write(
        f.dir.join("dataset_info.json"),
        r#"{"other": {"file_name": "o.json"}}"#,
    )
    .unwrap();
    let mut o = opts(&f.dir, ExportFormat::LlamaFactory, "lf.jsonl");
    o.name = Some("rrtf_round1".into());
    export(&f.store, &o).await.unwrap();
    let rows = read_jsonl(&f.dir.join("lf.jsonl"));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        json!({"instruction": "def f0(x):\n    \"\"\"Return x + 0.\"\"\"\n", "input": "", "chosen": "    return x + 0\n", "rejected": "    return x\n"})
    );
    let info: Value =
        serde_json::from_slice(&std::fs::read(f.dir.join("dataset_info.json")).unwrap()).unwrap();
    assert_eq!(
        info["other"]["file_name"], "o.json",
        "existing entries are kept"
    );
    assert_eq!(info["rrtf_round1"]["file_name"], "lf.jsonl");
    assert_eq!(info["rrtf_round1"]["ranking"], true);
    assert_eq!(info["rrtf_round1"]["columns"]["chosen"], "chosen");
}

#[tokio::test]
async fn kto_labels_passing_responses_desirable() {
    let f = fixture().await;
    let mut kto = opts(&f.dir, ExportFormat::Kto, "kto.jsonl");
    // kto writes no pairs: the pair options are refused with it.
    assert!(export(&f.store, &kto).await.is_err());
    (kto.pairs, kto.min_gap) = (None, None);
    export(&f.store, &kto).await.unwrap();
    let rows = read_jsonl(&f.dir.join("kto.jsonl"));
    assert_eq!(rows.len(), 6);
    let labels: Vec<(String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_owned(),
                r["label"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        labels.iter().filter(|(m, l)| m == "teacher" && *l).count(),
        3
    );
    assert_eq!(
        labels.iter().filter(|(m, l)| m == "student" && !*l).count(),
        3
    );
}

#[tokio::test]
async fn rrtf_listwise_rows_carry_scores_and_provenance() {
    let f = fixture().await;
    export(&f.store, &opts(&f.dir, ExportFormat::Rrtf, "g.jsonl"))
        .await
        .unwrap();
    let rows = read_jsonl(&f.dir.join("g.jsonl"));
    assert_eq!(rows.len(), 3);
    let r = &rows[1];
    assert_eq!(r["source"], "he");
    assert_eq!(r["source_id"], "T/1");
    assert_eq!(r["kind"], "completion");
    assert_eq!(
        r["responses"],
        json!(["    return x + 1\n", "    return x\n"])
    );
    assert_eq!(r["scores"], json!([1.01, -0.3]));
    assert_eq!(r["pairs"], json!([[0, 1]]));
    assert_eq!(
        r["lineage"],
        content_hash("def f1(x):\n    \"\"\"Return x + 1.\"\"\"\n"),
        "an imported prompt is its own lineage root"
    );
    assert_eq!(r["details"][0]["model"], "teacher");
    assert_eq!(r["details"][0]["role"], "teacher");
    assert_eq!(r["details"][0]["outcome"], "pass");
    assert_eq!(
        r["details"][0]["components"],
        json!({"outcome": 1.0, "teacher": 0.01})
    );
    assert_eq!(r["details"][1]["tests_total"], 1);
}

#[tokio::test]
async fn rounds_select_the_prompts_of_those_rounds() {
    let f = fixture().await;
    let ids = |rounds: Option<Vec<i64>>| {
        let f = &f;
        async move {
            let mut o = opts(&f.dir, ExportFormat::Rrtf, "r.jsonl");
            o.rounds = rounds;
            let rep = export(&f.store, &o).await.unwrap();
            let rows = read_jsonl(&f.dir.join("r.jsonl"));
            assert_eq!(rep.prompts, rows.len());
            let manifest: Value = serde_json::from_str(
                &std::fs::read_to_string(f.dir.join("r.manifest.json")).unwrap(),
            )
            .unwrap();
            let ids: Vec<String> = rows
                .iter()
                .map(|r| r["source_id"].as_str().unwrap().to_owned())
                .collect();
            (ids, manifest["rounds"].clone())
        }
    };
    assert_eq!(
        ids(None).await,
        (vec!["T/0".into(), "T/1".into(), "T/2".into()], Value::Null)
    );
    assert_eq!(
        ids(Some(vec![0])).await,
        (vec!["T/0".into(), "T/1".into()], json!([0]))
    );
    assert_eq!(ids(Some(vec![1])).await, (vec!["T/2".into()], json!([1])));
    assert_eq!(ids(Some(vec![2])).await.0, Vec::<String>::new());
    let mut o = opts(&f.dir, ExportFormat::Rrtf, "r.jsonl");
    o.rounds = Some(vec![]);
    let err = export(&f.store, &o).await.unwrap_err().to_string();
    assert!(err.contains("--rounds is empty"), "{err}");
}

#[tokio::test]
async fn reviews_are_honoured_by_every_export() {
    let f = fixture().await;
    let review = |prompt_id, response_id, action| NewReview {
        prompt_id,
        response_id,
        action,
        payload: None,
        author: "op".into(),
        reason: None,
    };
    // Prompt 0: the operator pins the student's answer. Prompt 1: excluded. Prompt 2: the
    // teacher's answer is excluded, leaving one response and so no pair.
    f.store
        .add_review(&review(f.prompt_ids[0], Some(4), ReviewAction::Pin))
        .await
        .unwrap();
    f.store
        .add_review(&review(f.prompt_ids[1], None, ReviewAction::Exclude))
        .await
        .unwrap();
    f.store
        .add_review(&review(f.prompt_ids[2], Some(3), ReviewAction::Exclude))
        .await
        .unwrap();
    let report = export(&f.store, &opts(&f.dir, ExportFormat::Trl, "t.jsonl"))
        .await
        .unwrap();
    assert_eq!(report.reviews.prompts_excluded, 1);
    assert_eq!(report.reviews.responses_excluded, 1);
    assert_eq!(report.reviews.pinned, 1);
    let rows = read_jsonl(&f.dir.join("t.jsonl"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["chosen"], "    return x\n");
    assert_eq!(rows[0]["chosen_model"], "student");
    // Each response keeps its own score; the row says whose preference the pair is.
    assert_eq!(
        (
            rows[0]["score_chosen"].as_f64(),
            rows[0]["score_rejected"].as_f64()
        ),
        (Some(-0.3), Some(1.01))
    );
    assert_eq!(rows[0]["preference"], "review");
    assert_eq!(rows[0]["pinned_by"], "op");
    assert_eq!(rows[0]["reordered_by"], Value::Null);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(f.dir.join("t.manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["reviewed_prompts"],
        json!([{"prompt_id": f.prompt_ids[0], "pinned": 4, "pinned_by": "op", "reordered_by": null}])
    );

    export(&f.store, &opts(&f.dir, ExportFormat::Rrtf, "g.jsonl"))
        .await
        .unwrap();
    let rows = read_jsonl(&f.dir.join("g.jsonl"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["details"][0]["pinned"], true);
    assert_eq!(rows[0]["details"][0]["ranker_score"], -0.3);
    assert_eq!(rows[0]["scores"], json!([-0.3, 1.01]));
    assert_eq!(rows[0]["pairs"], json!([[0, 1]]));
    assert_eq!(rows[0]["pinned_by"], "op");
    assert_eq!(rows[1]["responses"].as_array().unwrap().len(), 1);
    assert_eq!(rows[1]["pairs"], json!([]));

    // Including the prompt again restores it: the latest review is in force.
    f.store
        .add_review(&review(f.prompt_ids[1], None, ReviewAction::Include))
        .await
        .unwrap();
    let report = export(&f.store, &opts(&f.dir, ExportFormat::Trl, "t.jsonl"))
        .await
        .unwrap();
    assert_eq!(report.rows, 2);
}

/// `review::record` is the one path reviews are appended by: a reorder listing another
/// prompt's response is refused (a user error naming both, nothing appended), and
/// `review::effective_order` (what `rrtf review show` and the web review display) follows the
/// reviews in force.
#[tokio::test]
async fn record_checks_a_reorder_and_effective_order_follows_the_reviews() {
    use rrtf_data::review::{effective_order, record};
    let f = fixture().await;
    let p0 = f.prompt_ids[0];
    let ranker = "f".repeat(64);
    let order = || async {
        let d = f
            .store
            .prompt_detail(&p0.to_string(), Some(&ranker))
            .await
            .unwrap();
        (effective_order(&d), d.reviews.len())
    };
    let review = |action, response_id, payload| NewReview {
        prompt_id: p0,
        response_id,
        action,
        payload,
        author: "op".into(),
        reason: None,
    };
    assert_eq!(order().await, (vec![1, 4], 0), "the ranker's order");
    // Response 2 answers prompt 1.
    let err = record(
        &f.store,
        review(ReviewAction::Reorder, None, Some(json!({"order": [4, 2]}))),
    )
    .await
    .unwrap_err();
    assert!(err.is_user_error());
    assert_eq!(
        err.to_string(),
        format!("response 2 does not answer prompt {p0}; its responses are [1, 4]")
    );
    assert_eq!(order().await, (vec![1, 4], 0), "nothing appended");
    // A response listed twice.
    let err = record(
        &f.store,
        review(
            ReviewAction::Reorder,
            None,
            Some(json!({"order": [4, 1, 4]})),
        ),
    )
    .await
    .unwrap_err();
    assert!(err.is_user_error());
    assert!(
        err.to_string().contains("response 4 appears twice"),
        "{err}"
    );
    assert_eq!(order().await, (vec![1, 4], 0), "nothing appended");
    let id = record(
        &f.store,
        review(ReviewAction::Reorder, None, Some(json!({"order": [4]}))),
    )
    .await
    .unwrap();
    assert!(id > 0);
    assert_eq!(order().await, (vec![4, 1], 1));
    record(&f.store, review(ReviewAction::Exclude, Some(4), None))
        .await
        .unwrap();
    assert_eq!(order().await, (vec![1], 2));
    // A pin and a note need no check; a note changes nothing.
    record(&f.store, review(ReviewAction::Include, Some(4), None))
        .await
        .unwrap();
    record(&f.store, review(ReviewAction::Pin, Some(1), None))
        .await
        .unwrap();
    record(&f.store, review(ReviewAction::Note, None, None))
        .await
        .unwrap();
    assert_eq!(order().await, (vec![1, 4], 5));
}

/// Issue 15 point 19: the exec stage stores a completion prompt's program as prompt +
/// completion; `--text code` exports the completion alone (TRL puts the prompt before it).
#[tokio::test]
async fn code_of_a_completion_prompt_is_exported_without_the_prompt() {
    let f = fixture().await;
    let prompt = |i: usize| format!("def f{i}(x):\n    \"\"\"Return x + {i}.\"\"\"\n");
    let mut codes: Vec<(i64, String)> = (0..3)
        .map(|i| (1 + i as i64, format!("{}    return x + {i}\n", prompt(i))))
        .collect();
    // A chat answer's extracted function is kept whole.
    codes.push((4, "import math\ndef f0(x):\n    return x\n".into()));
    f.store.set_response_code(&codes).await.unwrap();
    let mut o = opts(&f.dir, ExportFormat::Trl, "code.jsonl");
    o.text = TextField::Code;
    export(&f.store, &o).await.unwrap();
    let rows = read_jsonl(&f.dir.join("code.jsonl"));
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["prompt"], prompt(i));
        assert_eq!(row["chosen"], format!("    return x + {i}\n"), "row {i}");
    }
    assert_eq!(
        rows[0]["rejected"],
        "import math\ndef f0(x):\n    return x\n"
    );
    assert_eq!(
        rows[1]["rejected"], "    return x\n",
        "no code stored: the raw text"
    );
    let mut o = opts(&f.dir, ExportFormat::Rrtf, "code-g.jsonl");
    o.text = TextField::Code;
    export(&f.store, &o).await.unwrap();
    let rows = read_jsonl(&f.dir.join("code-g.jsonl"));
    assert_eq!(rows[2]["responses"][0], "    return x + 2\n");
    assert_eq!(rows[2]["details"][0]["code"], "    return x + 2\n");
}

/// Issue 15 point 2: without options every format takes the ranker config's pairs and gap,
/// and the `rrtf` rows list exactly the pairs the pair formats write.
#[tokio::test]
async fn pairs_come_from_the_ranker_config_and_agree_across_formats() {
    let f = fixture().await;
    // A third model whose answers pass half the tests.
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"task_id": format!("T/{i}"), "completion": "    return x + 0\n"}))
        .collect();
    let path = f.dir.join("half.jsonl");
    write_jsonl(&path, &rows);
    import_responses(
        &f.store,
        &path,
        &response_opts("half", ModelRole::Student),
        &|_| {},
    )
    .await
    .unwrap();
    let scored = |response_id: i64, score: f64, tier: i64| ScoredResponse {
        response_id,
        score,
        tier,
        outcome: Outcome::Pass,
        tests_passed: 1,
        tests_total: 1,
        components: json!({ "outcome": score }),
    };
    let rankings: Vec<PromptRanking> = (0..3)
        .map(|i| PromptRanking {
            prompt_id: f.prompt_ids[i],
            drop_reason: None,
            ranked: vec![
                scored(1 + i as i64, 1.01, 0),
                scored(7 + i as i64, 0.35, 1),
                scored(4 + i as i64, -0.3, 2),
            ],
        })
        .collect();
    let ranker = RankerRef {
        hash: "e".repeat(64),
        config_json: json!({"ranker_version": 2, "ranking": {
            "pairs": "best-vs-each", "min_gap": 0.7, "heuristic_pairs": false}})
        .to_string(),
    };
    f.store
        .save_rankings(&ranker, &rankings, None)
        .await
        .unwrap();
    let from_config = |format, file: &str| {
        let mut o = opts(&f.dir, format, file);
        (o.pairs, o.min_gap) = (None, None);
        o
    };
    // best-vs-each with min_gap 0.7: the best over the worst only (0.66 is too close).
    let rep = export(&f.store, &from_config(ExportFormat::Trl, "c.jsonl"))
        .await
        .unwrap();
    assert_eq!(
        (rep.pair_strategy, rep.min_gap, rep.rows),
        (Some("best-vs-each"), Some(0.7), 3)
    );
    let trl = read_jsonl(&f.dir.join("c.jsonl"));
    export(&f.store, &from_config(ExportFormat::Rrtf, "c-g.jsonl"))
        .await
        .unwrap();
    let groups = read_jsonl(&f.dir.join("c-g.jsonl"));
    for (row, g) in trl.iter().zip(&groups) {
        assert_eq!(g["pairs"], json!([[0, 2]]));
        let [c, r] = [0, 2].map(|k| g["details"][k]["response_id"].clone());
        assert_eq!((&row["chosen_id"], &row["rejected_id"]), (&c, &r));
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(f.dir.join("c-g.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["pair_strategy"], "best-vs-each");
    assert_eq!(manifest["pairs_from"]["strategy"], "ranker config");
    assert_eq!(manifest["heuristic_pairs"], false);
    // Options override the config.
    let mut o = opts(&f.dir, ExportFormat::Rrtf, "o-g.jsonl");
    (o.pairs, o.min_gap) = (Some(PairStrategy::All), Some(0.0));
    export(&f.store, &o).await.unwrap();
    let groups = read_jsonl(&f.dir.join("o-g.jsonl"));
    assert_eq!(groups[0]["pairs"], json!([[0, 1], [0, 2], [1, 2]]));
}

#[tokio::test]
async fn a_malformed_line_aborts_the_import_and_leaves_no_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::create(&tmp.path().join("m.db")).await.unwrap();
    let path = tmp.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"instruction\": \"a\"}\n{\"instruction\": \"b\"}\n{\"instruction\": \"c\"}\n{\"instruction\": 4}\n{\"instruction\": \"e\"}\n",
    )
    .unwrap();
    let err = import_prompts(&store, &path, &prompt_opts(), &|_| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.jsonl: line 4: field `instruction`: expected a string, found a number"),
        "{msg}"
    );
    assert!(err.is_user_error());
    assert_eq!(store.status().await.unwrap().prompts, 0);

    let mut skip = prompt_opts();
    skip.skip_invalid = true;
    let rep = import_prompts(&store, &path, &skip, &|_| {}).await.unwrap();
    assert_eq!(rep.inserted.prompts.inserted, 4);
    assert_eq!(rep.skipped.rows, 1);
    let reason = rep.skipped.reasons.values().next().unwrap();
    assert_eq!(
        (reason.count, reason.locations.clone()),
        (1, vec!["line 4".to_string()])
    );
}

#[tokio::test]
async fn mbpp_and_mapped_rows_import_with_their_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::create(&tmp.path().join("m.db")).await.unwrap();
    let mbpp = tmp.path().join("mbpp.jsonl");
    write_jsonl(
        &mbpp,
        &[
            json!({"task_id": 11, "text": "Write a function to add.", "code": "def add(a, b):\n    return a + b",
                                "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "test_setup_code": ""}),
        ],
    );
    import_prompts(&store, &mbpp, &prompt_opts(), &|_| {})
        .await
        .unwrap();
    let custom = tmp.path().join("custom.json");
    std::fs::write(
        &custom,
        r#"[{"qid": "q1", "question": "Reverse a string.", "checks": "assert rev('ab') == 'ba'"}]"#,
    )
    .unwrap();
    let mut o = prompt_opts();
    // A mapped field no row has (`check` for `checks`) is a typo: refused, naming it and the
    // fields the file has, and nothing is imported.
    o.map = FieldMap::parse(
        &[
            "id=qid".into(),
            "prompt=question".into(),
            "tests=check".into(),
            "entry_point=ep".into(),
        ],
        rrtf_data::import::PROMPT_ROLES,
    )
    .unwrap();
    let err = import_prompts(&store, &custom, &o, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--map entry_point=ep, tests=check: no row of")
            && err
                .contains("has a field `ep` or `check` (its first row has: qid, question, checks)"),
        "{err}"
    );
    assert_eq!(store.prompt_keys().await.unwrap().len(), 1);
    // A required role (`id`) mapped to a field the file lacks fails on the first row: said as
    // the --map's fault with the file's fields, not as that row's missing field.
    o.map = FieldMap::parse(
        &["id=question_id".into(), "prompt=question".into()],
        rrtf_data::import::PROMPT_ROLES,
    )
    .unwrap();
    let err = import_prompts(&store, &custom, &o, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--map id=question_id: element 1 of")
            && err.contains("has no field `question_id`")
            && err.contains("(the first row has: qid, question, checks)"),
        "{err}"
    );
    o.map = FieldMap::parse(
        &[
            "id=qid".into(),
            "prompt=question".into(),
            "tests=checks".into(),
        ],
        rrtf_data::import::PROMPT_ROLES,
    )
    .unwrap();
    let rep = import_prompts(&store, &custom, &o, &|_| {}).await.unwrap();
    assert_eq!(
        (rep.inserted.prompts.inserted, rep.inserted.tests.inserted),
        (1, 1)
    );
    let keys = store.prompt_keys().await.unwrap();
    let ids: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|k| (k.source.as_str(), k.source_id.as_str(), k.kind.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("mbpp", "11", "instruction"),
            ("custom", "q1", "instruction")
        ]
    );
    assert_eq!(store.status().await.unwrap().tests, 2);
}

/// Issue 20 item 3: prompts carry their language. HumanEval-X files need no flag (each row's
/// task id names it), a `language` field wins over the id, a row that contradicts
/// `--language` is an error naming it, and an unknown name is an error naming the field.
#[tokio::test]
async fn imported_prompts_carry_each_rows_language() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::create(&tmp.path().join("ml.db")).await.unwrap();
    let slice = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/humaneval-x");
    for lang in ["cpp", "js", "python"] {
        let path = slice.join(format!("humaneval_{lang}.jsonl"));
        let rep = import_prompts(&store, &path, &prompt_opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(rep.inserted.prompts.inserted, 20, "{lang}");
    }
    let (named, instructions) = (tmp.path().join("named.jsonl"), tmp.path().join("i.jsonl"));
    write_jsonl(
        &named,
        &[
            json!({"task_id": "CPP/99", "language": "go", "prompt": "func f() int {\n", "test": "x"}),
        ],
    );
    write_jsonl(
        &instructions,
        &[
            json!({"instruction": "Sum a list.", "language": "Rust"}),
            json!({"instruction": "Reverse a list."}),
        ],
    );
    for (path, n) in [(&named, 1), (&instructions, 2)] {
        let rep = import_prompts(&store, path, &prompt_opts(), &|_| {})
            .await
            .unwrap();
        assert_eq!(rep.inserted.prompts.inserted, n);
    }
    let languages: Vec<(String, String)> = store
        .prompt_pool()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.source_id, p.language))
        .collect();
    let of = |id: &str| &languages.iter().find(|(s, _)| s == id).unwrap().1;
    assert_eq!(of("CPP/0"), "cpp");
    assert_eq!(of("JavaScript/19"), "javascript");
    assert_eq!(of("Python/3"), "python");
    assert_eq!(of("CPP/99"), "go");
    let by_lang = |l: &str| languages.iter().filter(|(_, x)| x == l).count();
    assert_eq!((by_lang("rust"), by_lang("python")), (1, 21));

    // --language fills in rows that say nothing, and contradicts none silently.
    let cpp = PromptImport {
        language: Some(rrtf_exec::Language::Java),
        source: Some("as-java".into()),
        ..prompt_opts()
    };
    let err = import_prompts(&store, &slice.join("humaneval_cpp.jsonl"), &cpp, &|_| {})
        .await
        .unwrap_err();
    assert!(err.is_user_error(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("line 1") && text.contains("in cpp but --language says java"),
        "{text}"
    );
    let bad = tmp.path().join("bad.jsonl");
    write_jsonl(&bad, &[json!({"instruction": "x", "language": "cobol"})]);
    let err = import_prompts(&store, &bad, &prompt_opts(), &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("language") && err.contains("`cobol`"), "{err}");
}
