//! Import and export throughput on 100K rows, each against a reference measured in the same run.
//!
//! `cargo bench -p rrtf-data --bench io` (release). Under `cargo test` it runs 2,000 rows as a
//! smoke test. References:
//! - import: the same rows written one row per transaction (autocommit, the way a naive importer
//!   writes), measured over its first 10 s; and the JSON parse alone (the ceiling);
//! - export: serialising the same rows from memory with serde_json (the ceiling);
//! - import on PostgreSQL (when a server is at hand: Debian's `postgresql` package, started
//!   throwaway by `rrtf_store::testing`, or `RRTF_TEST_POSTGRES`): the same file into a fresh
//!   database, against the target and against the SQLite import of the same run.

use std::time::Instant;

use rrtf_data::export::{ExportFormat, ExportOptions, TextField, export};
use rrtf_data::import::{PromptFormat, PromptImport, import_prompts};
use rrtf_data::pairs::PairStrategy;
use rrtf_data::{FieldMap, read_rows};
use rrtf_store::*;
use serde_json::json;

// The same allocator as the `rrtf` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_ROWS_PER_S: f64 = 50_000.0;

fn rate(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n: usize = if bench { 100_000 } else { 2_000 };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // Instruction rows with tests, about the size of Code Alpaca rows.
    let input = dir.join("prompts.jsonl");
    let mut text = String::with_capacity(n * 400);
    for i in 0..n {
        let row = json!({
            "id": format!("p{i}"),
            "instruction": format!("Write a function `f{i}` that returns the sum of the first {i} odd numbers, then explain it."),
            "input": "",
            "output": format!("def f{i}(n):\n    return sum(2 * k + 1 for k in range(n))\n"),
            "tests": [format!("assert f{i}(0) == 0"), format!("assert f{i}(3) == 9")],
        });
        text.push_str(&row.to_string());
        text.push('\n');
    }
    std::fs::write(&input, &text).unwrap();

    let t = Instant::now();
    let parsed = read_rows(&input).unwrap();
    let parse_rate = rate(parsed.len(), t.elapsed().as_secs_f64());
    drop(parsed);

    let store = Store::create(&dir.join("bench.db")).await.unwrap();
    let opts = PromptImport {
        format: PromptFormat::Auto,
        map: FieldMap::default(),
        source: None,
        round: 0,
        language: None,
        skip_invalid: false,
    };
    let t = Instant::now();
    let report = import_prompts(&store, &input, &opts, &|_| {})
        .await
        .unwrap();
    let import_rate = rate(n, t.elapsed().as_secs_f64());
    assert_eq!(report.inserted.prompts.inserted as usize, n);
    assert_eq!(report.inserted.tests.inserted as usize, n);

    // The same import into PostgreSQL, when a server is at hand.
    let pg_rate = match rrtf_store::testing::postgres() {
        Ok(pg) => {
            let url = pg.fresh_url("bench_io");
            let pg_store = Store::create(std::path::Path::new(&url)).await.unwrap();
            let t = Instant::now();
            let report = import_prompts(&pg_store, &input, &opts, &|_| {})
                .await
                .unwrap();
            let r = rate(n, t.elapsed().as_secs_f64());
            assert_eq!(report.inserted.prompts.inserted as usize, n);
            pg_store.close().await;
            Ok(r)
        }
        Err(why) => Err(why),
    };

    // Reference: one row per transaction into a fresh database, for at most 10 s.
    let reference = Store::create(&dir.join("reference.db")).await.unwrap();
    let (rows, ..) = rrtf_data::import::parse_prompts(&input, &opts).unwrap();
    let t = Instant::now();
    for chunk in rows
        .chunks(1)
        .take(if std::env::var("RRTF_BENCH_PHASES").is_ok() {
            10
        } else {
            usize::MAX
        })
    {
        reference.insert_prompts(chunk, &|_| {}).await.unwrap();
        if t.elapsed().as_secs_f64() > 10.0 {
            break;
        }
    }
    let ref_rows = reference.status().await.unwrap().prompts as usize;
    let ref_rate = rate(ref_rows, t.elapsed().as_secs_f64());

    // Export: two responses per prompt, ranked, one TRL pair per prompt.
    let teacher = store
        .upsert_model("teacher", ModelRole::Teacher, None, None)
        .await
        .unwrap();
    let student = store
        .upsert_model("student", ModelRole::Student, None, None)
        .await
        .unwrap();
    let keys = store.prompt_keys().await.unwrap();
    let responses: Vec<NewResponse> = keys
        .iter()
        .flat_map(|k| {
            [
                (teacher, "    return sum(2 * k + 1 for k in range(n))\n"),
                (student, "    return n\n"),
            ]
            .map(|(m, body)| NewResponse {
                prompt_id: k.id,
                model_id: m,
                round: 0,
                temperature: Some(0.2),
                sample_index: 0,
                raw_text: body.to_owned(),
                code: None,
                finish_reason: Some("stop".into()),
                prompt_tokens: None,
                completion_tokens: None,
                latency_ms: None,
                cost_usd: None,
                request_hash: format!("{}-{m}", k.id),
                run_id: None,
            })
        })
        .collect();
    store.insert_responses(&responses, &|_| {}).await.unwrap();
    let rankings: Vec<PromptRanking> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| PromptRanking {
            prompt_id: k.id,
            drop_reason: None,
            ranked: vec![
                ScoredResponse {
                    response_id: 2 * i as i64 + 1,
                    score: 1.01,
                    tier: 0,
                    outcome: Outcome::Pass,
                    tests_passed: 2,
                    tests_total: 2,
                    components: json!({"outcome": 1.0}),
                },
                ScoredResponse {
                    response_id: 2 * i as i64 + 2,
                    score: -0.3,
                    tier: 1,
                    outcome: Outcome::TestFailure,
                    tests_passed: 0,
                    tests_total: 2,
                    components: json!({"outcome": -0.3}),
                },
            ],
        })
        .collect();
    store
        .save_rankings(
            &RankerRef {
                hash: "bench".into(),
                config_json: "{}".into(),
            },
            &rankings,
            None,
        )
        .await
        .unwrap();

    if std::env::var("RRTF_BENCH_PHASES").is_ok() {
        let t = Instant::now();
        let g = store.ranked_groups("bench").await.unwrap();
        eprintln!("phase ranked_groups: {:.3}s", t.elapsed().as_secs_f64());

        let t = Instant::now();
        let (g, _) = rrtf_data::review::apply_reviews(g, &[]);
        eprintln!("phase apply_reviews: {:.3}s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        let o = ExportOptions {
            format: ExportFormat::Trl,
            out: dir.join("x"),
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
        };
        let mut sink = Vec::new();
        let spec = rrtf_data::pairs::PairSpec {
            strategy: PairStrategy::BestVsWorst,
            min_gap: 0.0,
        };
        let n = rrtf_data::export::write_rows(&g, &o, spec, "bench", &mut sink).unwrap();
        eprintln!("phase rows: {:.3}s ({n})", t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (rows, ..) = rrtf_data::import::parse_prompts(&input, &opts).unwrap();
        eprintln!(
            "phase parse_prompts: {:.3}s ({})",
            t.elapsed().as_secs_f64(),
            rows.len()
        );
        let s2 = Store::create(&dir.join("p2.db")).await.unwrap();
        let t = Instant::now();
        s2.insert_prompts(&rows, &|_| {}).await.unwrap();
        eprintln!("phase insert_prompts: {:.3}s", t.elapsed().as_secs_f64());
    }
    let out = dir.join("trl.jsonl");
    let t = Instant::now();
    let report = export(
        &store,
        &ExportOptions {
            format: ExportFormat::Trl,
            out: out.clone(),
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
        },
    )
    .await
    .unwrap();
    let export_secs = t.elapsed().as_secs_f64();
    assert_eq!(report.rows as usize, n);
    let export_rate = rate(n, export_secs);

    // Reference: the same rows serialised from memory, without the database.
    let lines: Vec<_> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .collect();
    let t = Instant::now();
    let mut buf = Vec::with_capacity(n * 400);
    for l in &lines {
        serde_json::to_writer(&mut buf, l).unwrap();
        buf.push(b'\n');
    }
    std::fs::write(dir.join("ref.jsonl"), &buf).unwrap();
    let ser_rate = rate(n, t.elapsed().as_secs_f64());

    println!("rows: {n}");
    println!(
        "import: {import_rate:.0} rows/s = {:.2}x the 50K rows/s target; {:.1}x row-at-a-time \
         inserts ({ref_rate:.0} rows/s); {:.2}x the JSON-parse-only ceiling ({parse_rate:.0} rows/s)",
        import_rate / TARGET_ROWS_PER_S,
        import_rate / ref_rate,
        import_rate / parse_rate,
    );
    match pg_rate {
        Ok(r) => println!(
            "import on PostgreSQL: {r:.0} rows/s = {:.2}x the 50K rows/s target; {:.2}x this \
             run's SQLite import",
            r / TARGET_ROWS_PER_S,
            r / import_rate
        ),
        Err(why) => println!("import on PostgreSQL: not measured ({why})"),
    }
    println!(
        "export: {export_rate:.0} rows/s = {:.2}x the 50K rows/s target; {:.2}x the \
         serialise-only ceiling ({ser_rate:.0} rows/s)",
        export_rate / TARGET_ROWS_PER_S,
        export_rate / ser_rate,
    );
}
