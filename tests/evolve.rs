//! `rrtf evolve` end to end: the binary against a scripted evolver on 127.0.0.1; lineage,
//! eliminations with their reasons, decontamination against HumanEval, and a re-run that asks
//! nothing again.

use crate::common;

use std::sync::Arc;

use common::{humaneval_path as humaneval, ok_json};
use rrtf_llm::testserver::{Reply, Request, TestServer};

/// The evolver: apologises for tasks about "sort", copies HumanEval/0 for tasks about
/// "close", says SAME for "same"; otherwise adds a constraint. The judge says Equal to SAME.
fn evolver() -> rrtf_llm::testserver::Script {
    Arc::new(|r: &Request| {
        let text = r.body["messages"].as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_owned();
        if text.contains("Your judgement") {
            let second = text.split("The second task:").nth(1).unwrap();
            return Reply::ok(if second.contains("SAME") {
                "Equal"
            } else {
                "Not Equal"
            });
        }
        let task = text
            .split("Programming task:\n")
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        Reply::ok(if task.contains("sort") {
            "I am sorry, but I cannot do that.".to_owned()
        } else if task.contains("close") {
            "Check if in given list of numbers, are any two numbers closer to each other than given threshold. Use O(n log n) time.".to_owned()
        } else if task.contains("same") {
            format!("SAME: {task} (unchanged)")
        } else if task.contains("Reject") {
            format!(
                "{task} Also return the result modulo a prime p given as a second argument, and document the edge cases."
            )
        } else {
            format!("{task} Reject negative inputs with ValueError and run in linear time.")
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evolve_stores_lineage_and_reasons_and_resumes_without_asking_again() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = TestServer::start(evolver()).await;
    ok_json(d, &["--json", "init"]);
    let seeds = [
        ("a", "Write a function that returns the factorial of n."),
        (
            "b",
            "Write a function that returns the sorted unique items of a list.",
        ),
        (
            "c",
            "Write a function that tells whether two numbers are close.",
        ),
        (
            "d",
            "Write a function that checks two strings are the same ignoring case.",
        ),
        ("e", "Write a function that counts the vowels of a string."),
    ];
    let lines: Vec<String> = seeds
        .iter()
        .map(|(id, t)| {
            serde_json::json!({"id": id, "instruction": t, "input": "", "output": ""}).to_string()
        })
        .collect();
    std::fs::write(d.join("seeds.jsonl"), lines.join("\n")).unwrap();
    ok_json(d, &["--json", "import", "prompts", "seeds.jsonl"]);
    let config = format!(
        r#"
[round]
number = 1
seed = 5

benchmark = "{}"

[[teachers]]
name = "evolver"
base_url = "{}"
model = "big"
concurrency = 3
system = "Answer with one Python code block."

[evolution]
evolver = "evolver"
steps = 2

[decontamination]
ngram = 10
"#,
        humaneval().display(),
        server.url(),
    );
    std::fs::write(d.join("round.toml"), config).unwrap();

    let summary = ok_json(d, &["--json", "evolve", "--config", "round.toml"]);
    let s1 = &summary["steps"][0];
    assert_eq!(s1["asked"], 5);
    assert_eq!(s1["kept"], 2, "{summary}");
    assert_eq!(s1["dropped"]["evolver_refused"], 1);
    assert_eq!(s1["dropped"]["contaminated"], 1);
    assert_eq!(s1["dropped"]["no_new_information"], 1);
    // 5 evolutions, and a judgement for each of the 4 that passed the rules (a, c, d, e).
    assert_eq!(s1["requests"], 9, "{summary}");
    assert!(s1["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(summary["steps"][1]["parents"], 2);
    assert_eq!(summary["steps"][1]["kept"], 2);
    // The round's benchmark is decontaminated against without being listed again: every seed
    // was screened before evolving (none leaks HumanEval), and each evolution after.
    let screened = &summary["decontamination"];
    assert_eq!(screened["benchmarks"]["problems"], 164, "{screened}");
    assert_eq!(screened["prompts"]["prompts_checked"], 5, "{screened}");
    assert_eq!(screened["prompts"]["prompts_eliminated"], 0, "{screened}");
    // The evolver and its judge get their own system prompts, never the teacher's `system`.
    for r in server.requests() {
        let system = &r.body["messages"][0];
        assert_eq!(system["role"], "system", "{}", r.body);
        let text = system["content"].as_str().unwrap();
        assert!(
            text.starts_with("You are a programming contest designer")
                || text.starts_with("You compare two programming tasks"),
            "{text}"
        );
    }

    let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
    let pool = store.prompt_pool().await.unwrap();
    let by_sid = |sid: &str| {
        pool.iter()
            .find(|p| p.source_id == sid)
            .unwrap_or_else(|| panic!("{sid}"))
    };
    let a1 = by_sid("seeds:a>1");
    assert_eq!(a1.source, "evol-r1");
    assert_eq!(a1.status, "kept");
    assert_eq!(a1.parent_id, Some(by_sid("a").id));
    assert!(rrtf_config::EVOLUTION_METHODS.contains(&a1.evolution_method.as_deref().unwrap()));
    let a2 = by_sid("seeds:a>1>2");
    assert_eq!(a2.parent_id, Some(a1.id));
    assert_eq!(
        by_sid("seeds:b>1").status_reason.as_deref(),
        Some("evolver_refused")
    );
    let c1 = by_sid("seeds:c>1").status_reason.clone().unwrap();
    assert!(
        c1.starts_with("contaminated: HumanEval.jsonl.gz:HumanEval/0"),
        "{c1}"
    );
    assert!(
        by_sid("seeds:d>1")
            .status_reason
            .as_deref()
            .unwrap()
            .starts_with("no_new_information")
    );
    store.close().await;

    // A re-run asks for nothing already stored.
    let n = server.requests().len();
    let again = ok_json(d, &["--json", "evolve", "--config", "round.toml"]);
    assert_eq!(again["steps"][0]["asked"], 0);
    assert_eq!(again["steps"][1]["asked"], 0);
    assert_eq!(server.requests().len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evolution_requests_count_against_the_round_budget_and_stop_cleanly_at_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let server = TestServer::start(evolver()).await;
    ok_json(d, &["--json", "init"]);
    let tasks = [
        "Write a function that returns the factorial of n.",
        "Write a function that returns the n-th Fibonacci number.",
        "Write a function that tells whether a string is a palindrome.",
        "Write a function that tells whether an integer is prime.",
        "Write a function that returns the greatest common divisor of two integers.",
    ];
    let lines: Vec<String> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"id": i, "instruction": t, "input": "", "output": ""}).to_string()
        })
        .collect();
    std::fs::write(d.join("seeds.jsonl"), lines.join("\n")).unwrap();
    ok_json(d, &["--json", "import", "prompts", "seeds.jsonl"]);
    // At $1 per 1k tokens an evolution request (~500 characters, max_tokens 200) reserves
    // ~$0.32 and costs ~$0.15, its judgement ~$0.14: $0.5 pays for one or two requests of the
    // ten this would take.
    let config = |budget: &str| {
        format!(
            "[round]\nnumber = 1\nseed = 5\n\n[[teachers]]\nname = \"evolver\"\nbase_url = \"{}\"\n\
             model = \"big\"\nconcurrency = 1\nmax_tokens = 200\nprice_per_1k_input = 1.0\n\
             price_per_1k_output = 1.0\n\n[evolution]\nevolver = \"evolver\"\nsteps = 1\n\n\
             [sampling]\nbudget_usd = {budget}\n",
            server.url()
        )
    };
    std::fs::write(d.join("round.toml"), config("0.5")).unwrap();
    let out = common::rrtf(d, &["--json", "evolve", "--config", "round.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[sampling] budget_usd = 0.5")
            && stderr.contains("raise budget_usd in round.toml"),
        "{stderr}"
    );
    let sent = server.requests().len();
    assert!((1..=3).contains(&sent), "{sent} requests sent");
    let status = ok_json(d, &["--json", "status"]);
    let ledger = &status["requests"];
    assert_eq!(ledger.as_array().unwrap().len(), 1, "{status}");
    assert_eq!(ledger[0]["stage"], "evolve");
    assert_eq!(ledger[0]["teacher"], "evolver");
    assert_eq!(
        ledger[0]["requests"], sent,
        "one ledger row per request sent"
    );
    let spent = ledger[0]["cost_usd"].as_f64().unwrap();
    assert!(spent > 0.0 && spent <= 0.5, "{status}");

    // Raised, the budget lets the step finish: 5 evolutions, each judged.
    std::fs::write(d.join("round.toml"), config("100")).unwrap();
    let summary = ok_json(d, &["--json", "evolve", "--config", "round.toml"]);
    let step = &summary["steps"][0];
    assert_eq!(
        (step["planned"].as_u64(), step["failed"].as_u64()),
        (Some(5), Some(0)),
        "{summary}"
    );
    let spent_all = summary["round_spent_usd"].as_f64().unwrap();
    assert!(spent_all > spent, "{summary}");
}

/// Issue 20 item 3: without `[evolution] languages` a child asks for its parent's language;
/// with them, each child gets one of them (seeded: a re-run draws the same) and the evolver's
/// request asks for it (this evolver copies the request's task, language line included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evolved_prompts_carry_their_parents_or_their_drawn_language() {
    let server = TestServer::start(evolver()).await;
    let seeds: Vec<String> = (0..12)
        .map(|i| {
            let language = if i % 2 == 0 { "python" } else { "rust" };
            serde_json::json!({"id": format!("s{i}"), "language": language,
                "instruction": format!("Write a function number {i} that adds {i} to every element of a list of integers {}.", "x".repeat(i + 1))})
            .to_string()
        })
        .collect();
    let config = |languages: &str| {
        format!(
            "[round]\nnumber = 1\nseed = 5\n\n[[teachers]]\nname = \"evolver\"\nbase_url = \"{}\"\nmodel = \"big\"\n\n\
             [evolution]\nevolver = \"evolver\"\nsteps = 1\njudge_no_new_information = false\n{languages}\n\n\
             [decontamination]\nenabled = false\n",
            server.url()
        )
    };
    for (languages, want) in [
        ("", None),
        ("languages = [\"cpp\", \"java\"]", Some(["cpp", "java"])),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        ok_json(d, &["--json", "init"]);
        std::fs::write(d.join("seeds.jsonl"), seeds.join("\n")).unwrap();
        ok_json(d, &["--json", "import", "prompts", "seeds.jsonl"]);
        std::fs::write(d.join("round.toml"), config(languages)).unwrap();
        let summary = ok_json(d, &["--json", "evolve", "--config", "round.toml"]);
        assert_eq!(summary["steps"][0]["kept"], 12, "{summary}");
        let store = rrtf_store::Store::open(&common::database(d)).await.unwrap();
        let pool = store.prompt_pool().await.unwrap();
        store.close().await;
        let children: Vec<_> = pool.iter().filter(|p| p.source == "evol-r1").collect();
        assert_eq!(children.len(), 12);
        let mut drawn = std::collections::BTreeSet::new();
        for c in children {
            let parent = pool.iter().find(|p| Some(p.id) == c.parent_id).unwrap();
            match want {
                None => {
                    assert_eq!(c.language, parent.language, "{}", c.source_id);
                    assert!(!c.text.contains("written in"), "{}", c.text);
                }
                Some(allowed) => {
                    assert!(allowed.contains(&c.language.as_str()), "{}", c.language);
                    let title = if c.language == "cpp" { "C++" } else { "Java" };
                    assert!(
                        c.text.contains(&format!("a solution written in {title}")),
                        "{}: {}",
                        c.language,
                        c.text
                    );
                    drawn.insert(c.language.clone());
                }
            }
        }
        if want.is_some() {
            assert_eq!(drawn.len(), 2, "both languages drawn over 12 children");
        }
    }
}
