//! One evolution step over a [`Backend`]: for each parent, choose a method (seeded), ask the
//! evolver, apply the elimination rules, ask the judge (optional), then remove near-duplicates
//! of everything kept and benchmark leaks. Requests run concurrently (`rrtf_llm::fanout`: at
//! most the endpoint's `concurrency` children in flight, none asked after a rejection every
//! further request would get); results are filtered in parent order, so a run's outcome does
//! not depend on which answer came first.
//!
//! Every child has a stable name, `{parent name}>{step}` (`>b{step}` for in-breadth), which is
//! its `source_id`: the caller skips children already stored, so a re-run asks only for the
//! missing ones, and the name is the lineage in readable form.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use rrtf_config::{Endpoint, Evolution};
use rrtf_llm::fanout::{FanOut, Halt, SendError, Slot, keyed};
use rrtf_llm::render::with_system;
use rrtf_llm::{Answerer, Backend, GenRequest, Params};
use serde::Serialize;

use crate::decontam::Decontaminator;
use crate::methods::{
    EVOLVER_SYSTEM, JUDGE_SYSTEM, choose, evolution_request, judge_request, language_request,
    unit_draw,
};
use crate::minhash::NearDupIndex;
use crate::rules::{Reason, eliminate, judged_equal};
use rrtf_types::Language;

/// A prompt to evolve: its database id, its stable name and its text.
#[derive(Clone, Debug)]
pub struct Parent {
    pub id: i64,
    pub name: String,
    pub text: String,
    /// The language the parent asks for: its children's, unless the round lists
    /// `[evolution] languages`.
    pub language: Language,
}

/// A child to ask for: its parent (an index into the step's parents), name, method and target
/// language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub parent: usize,
    pub name: String,
    pub method: String,
    pub language: Language,
}

/// One evolution, kept (`dropped` is `None`) or dropped with the reason and a detail.
#[derive(Clone, Debug, Serialize)]
pub struct Child {
    pub parent_id: i64,
    pub name: String,
    pub method: String,
    pub text: String,
    /// The language the child asks for ([`Planned::language`]).
    pub language: Language,
    pub dropped: Option<(Reason, String)>,
}

/// What a step did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StepReport {
    /// Children stored (kept and dropped).
    pub children: Vec<Child>,
    /// Requests that failed (evolver or judge): not stored, asked again by the next run.
    pub failed: Vec<(String, String)>,
    /// A rejection every further request would get (401/403/404): the step stopped sending.
    pub stopped: Option<String>,
    /// Answers received (evolutions and judgements) and the tokens the server reported.
    pub usage: Usage,
}

/// Requests answered and tokens reported by the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    fn add(&mut self, g: &rrtf_llm::Generation) {
        self.requests += 1;
        self.prompt_tokens += g.prompt_tokens.unwrap_or(0);
        self.completion_tokens += g.completion_tokens.unwrap_or(0);
    }
}

impl StepReport {
    pub fn drop_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for c in &self.children {
            if let Some((r, _)) = &c.dropped {
                *m.entry(r.as_str()).or_default() += 1;
            }
        }
        m
    }
    pub fn kept(&self) -> impl Iterator<Item = &Child> {
        self.children.iter().filter(|c| c.dropped.is_none())
    }
}

/// Everything a step needs besides its parents.
pub struct Evolver<'a> {
    pub config: &'a Evolution,
    pub endpoint: &'a Endpoint,
    /// Who answers (`rrtf_llm::Answerer::of(endpoint)`), for the requests' seeds.
    pub answerer: Answerer,
    pub backend: Arc<dyn Backend>,
    pub round_seed: u64,
}

/// The children of `parents` at `step`: per parent, the seeded method's child and (with
/// `in_breadth`) an in-breadth child, each with its language: the parent's, or, when the round
/// lists `[evolution] languages`, one of them drawn uniformly from the round seed and the
/// child's name (so a re-run draws the same).
pub fn planned_children(ev: &Evolver<'_>, parents: &[Parent], step: u32) -> Vec<Planned> {
    let language = |name: &str, parent: &Parent| {
        let langs = &ev.config.languages;
        if langs.is_empty() {
            return parent.language;
        }
        let x = unit_draw(ev.round_seed, &format!("{name}\u{1f}language"), step);
        langs[((x * langs.len() as f64) as usize).min(langs.len() - 1)]
    };
    let mut out = Vec::new();
    for (i, p) in parents.iter().enumerate() {
        let child = |name: String, method: String| Planned {
            parent: i,
            language: language(&name, p),
            name,
            method,
        };
        let name = format!("{}>{step}", p.name);
        if let Some(m) = choose(&ev.config.methods, ev.round_seed, &name, step) {
            out.push(child(name, m));
        }
        if ev.config.in_breadth {
            out.push(child(format!("{}>b{step}", p.name), "in_breadth".into()));
        }
    }
    out
}

impl Evolver<'_> {
    /// The evolution request: the evolver's own system prompt (`prompts/evol_system.txt`),
    /// never the teacher's `system` (which asks for code), then the method's template.
    fn request(&self, text: &str, name: &str) -> GenRequest {
        let prompt = with_system(EVOLVER_SYSTEM, text, self.endpoint);
        // The child's name is in the key, so children of equal text get different seeds.
        let answerer = Answerer {
            endpoint: name.to_owned(),
            ..self.answerer.clone()
        };
        let params = Params::for_stage(self.endpoint);
        keyed(&answerer, prompt, params, 0, self.round_seed).request
    }
}

/// Ask for `todo` (from [`planned_children`], minus those stored), filter, and report.
/// `index` holds everything kept so far and receives the kept children; `progress` is called
/// as each child's requests finish.
pub async fn run_step(
    ev: &Evolver<'_>,
    parents: &[Parent],
    todo: Vec<Planned>,
    index: &mut NearDupIndex,
    decontam: Option<&Decontaminator>,
    progress: &(dyn Fn(u64) + Sync),
) -> StepReport {
    let fan = FanOut::new(ev.endpoint.concurrency as usize);
    let mut usage = Usage::default();
    let mut results = Vec::new();
    let task = |(order, plan): (usize, Planned), (), slot: Slot| {
        let parent_text = parents[plan.parent].text.clone();
        let mut req_text = evolution_request(&plan.method, &parent_text)
            .expect("configured methods have templates");
        if !ev.config.languages.is_empty() {
            req_text = format!(
                "{}\n\n{}",
                req_text.trim_end(),
                language_request(plan.language)
            );
        }
        let evolve_req = ev.request(&req_text, &plan.name);
        let judge = ev.config.judge_no_new_information;
        let (backend, max_ratio) = (ev.backend.clone(), ev.config.max_length_ratio);
        let endpoint = ev.endpoint.clone();
        async move {
            let mut usage = Usage::default();
            let mut send = async |req: &GenRequest| match slot.send(&*backend, req).await {
                Ok(g) => {
                    usage.add(&g);
                    Ok(g)
                }
                Err(e) => Err(e.to_string()),
            };
            let answer = match send(&evolve_req).await {
                Ok(g) => g.text.trim().to_owned(),
                Err(e) => return (order, plan, Err(e), usage),
            };
            let mut dropped = eliminate(&parent_text, &answer, max_ratio);
            if dropped.is_none() && judge {
                match send(&judge_request_for(
                    &evolve_req,
                    &endpoint,
                    &parent_text,
                    &answer,
                ))
                .await
                {
                    Ok(g) if judged_equal(&g.text) => {
                        dropped = Some((
                            Reason::NoNewInformation,
                            format!("judge: {}", g.text.trim()),
                        ));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return (order, plan, Err(format!("judge: {e}")), usage);
                    }
                }
            }
            (order, plan, Ok((answer, dropped)), usage)
        }
    };
    let out = fan
        .run(
            todo.into_iter().enumerate(),
            |_| Ok::<(), Infallible>(()),
            task,
            |(order, plan, result, used)| {
                usage.requests += used.requests;
                usage.prompt_tokens += used.prompt_tokens;
                usage.completion_tokens += used.completion_tokens;
                results.push((order, plan, result));
                progress(1);
            },
        )
        .await;
    // Children never asked: the endpoint stopped.
    if let Some(Halt::Endpoint(msg)) = &out.halted {
        let why = SendError::Stopped(msg.clone()).to_string();
        for (order, plan) in out.unsent {
            results.push((order, plan, Err(why.clone())));
            progress(1);
        }
    }
    results.sort_by_key(|r| r.0);
    let mut report = StepReport {
        usage,
        stopped: fan.stopped(),
        ..StepReport::default()
    };
    for (_, plan, result) in results {
        let Planned {
            parent: pi,
            name,
            method,
            language,
        } = plan;
        let (text, mut dropped) = match result {
            Ok(x) => x,
            Err(e) => {
                report.failed.push((name, e));
                continue;
            }
        };
        if dropped.is_none()
            && let Some(hit) = decontam.and_then(|d| d.check(&text))
        {
            dropped = Some((Reason::Contaminated, hit.describe()));
        }
        // Against the whole pool but the parent: whether a child adds anything to its parent
        // is WizardLM's rule 1 (above), not a near-duplicate.
        if dropped.is_none()
            && let Err((_, sim)) = index.insert_named(&text, Some(&name), Some(&parents[pi].name))
        {
            dropped = Some((
                Reason::NearDuplicate,
                format!("Jaccard {sim:.2} with a kept prompt"),
            ));
        }
        report.children.push(Child {
            parent_id: parents[pi].id,
            name,
            method,
            text,
            language,
            dropped,
        });
    }
    report
}

/// The judge's request: the evolver's endpoint, the judge's own system prompt
/// (`prompts/evol_judge_system.txt`) and template, temperature 0 and a few tokens (the answer
/// is "Equal" or "Not Equal").
fn judge_request_for(
    evolve: &GenRequest,
    endpoint: &Endpoint,
    parent: &str,
    child: &str,
) -> GenRequest {
    let prompt = with_system(JUDGE_SYSTEM, &judge_request(parent, child), endpoint);
    let mut params = evolve.params.clone();
    params.temperature = 0.0;
    params.max_tokens = Some(8);
    GenRequest { prompt, params }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rrtf_llm::{BoxFuture, Generation, LlmError, Prompt};

    /// Evolves by table lookup on the parent text; judges "Equal" when the child says SAME.
    /// Keeps every request's system message.
    struct Scripted(Vec<(&'static str, String)>, std::sync::Mutex<Vec<String>>);

    impl Scripted {
        fn new(script: Vec<(&'static str, String)>) -> Scripted {
            Scripted(script, Default::default())
        }
    }

    impl Backend for Scripted {
        fn generate<'a>(
            &'a self,
            req: &'a GenRequest,
        ) -> BoxFuture<'a, Result<Generation, LlmError>> {
            Box::pin(async move {
                let Prompt::Chat(m) = &req.prompt else {
                    panic!("chat endpoint")
                };
                assert_eq!(m[0].role, "system");
                self.1.lock().unwrap().push(m[0].content.clone());
                let text = &m.last().unwrap().content;
                let answer = if text.contains("Your judgement") {
                    let second = text.split("The second task:\n").nth(1).unwrap();
                    if second.contains("SAME") {
                        "Equal"
                    } else {
                        "Not Equal"
                    }
                    .to_owned()
                } else {
                    let task = text.split("Programming task:\n").nth(1).unwrap().trim();
                    let (_, out) = self
                        .0
                        .iter()
                        .find(|(p, _)| *p == task)
                        .expect("scripted parent");
                    if out == "FAIL" {
                        return Err(LlmError::Exhausted {
                            endpoint: "e".into(),
                            attempts: 6,
                            elapsed: std::time::Duration::ZERO,
                            last: "HTTP 503".into(),
                        });
                    }
                    out.to_string()
                };
                Ok(Generation {
                    text: answer,
                    finish_reason: None,
                    prompt_tokens: None,
                    completion_tokens: None,
                    latency_ms: 0,
                    attempts: 1,
                })
            })
        }
    }

    const HE: &str = "Check if in given list of numbers, are any two numbers closer to each other than given threshold.";

    #[tokio::test]
    async fn each_filter_drops_its_case_in_parent_order_and_failures_are_not_stored() {
        // A long task: adding ten words to it keeps most of its 3-grams (Jaccard > 0.8).
        let long = "Write a function that takes a list of integers and returns a new list with \
            the running maximum of the input, where each element is the largest value seen so \
            far from the left; the input may be empty, may hold negative numbers and repeated \
            values, and must not be modified; raise TypeError when an element is not an \
            integer, and run in linear time and constant extra space besides the output list.";
        let script: Vec<(&str, String)> = vec![
            (
                "Write add.",
                "Write a function add(a, b) that adds two integers and raises TypeError on strings.".into(),
            ),
            ("Write sub.", "I'm sorry, I can't make this harder.".into()),
            (
                "Write mul.",
                "Write a function add(a, b) that adds two integers and raises TypeError on strings!".into(),
            ),
            (
                "Write cmp.",
                "Solve: check if in given list of numbers, are any two numbers closer to each other than given threshold, in O(n log n).".into(),
            ),
            (
                "Write div.",
                "SAME task as before: write a function div(a, b) that divides two numbers.".into(),
            ),
            ("Write mod.", "FAIL".into()),
            (
                "Write pow.",
                "#Rewritten Prompt#: Write pow with a modulus.".into(),
            ),
            (long, format!("{long} Also return the index where the maximum last changed.")),
            (
                "Write sum.",
                "```python\ndef total(xs):\n    return sum(xs)\n```".into(),
            ),
        ];
        let parents: Vec<Parent> = script
            .iter()
            .enumerate()
            .map(|(i, (p, _))| Parent {
                id: i as i64 + 1,
                name: format!("seed:{i}"),
                text: p.to_string(),
                language: Language::Python,
            })
            .collect();
        // The teacher's own system message asks for code: the evolver and judge never get it.
        let endpoint: Endpoint = toml::from_str(
            "name = \"ev\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\nconcurrency = 3\n\
             system = \"Answer with one Python code block.\"\n",
        )
        .unwrap();
        // The parents are a few words: a generous length ratio keeps the other rules in view.
        let config = Evolution {
            max_length_ratio: 20.0,
            ..Evolution::default()
        };
        let backend = Arc::new(Scripted::new(script));
        let ev = Evolver {
            config: &config,
            endpoint: &endpoint,
            answerer: Answerer::of(&endpoint).unwrap(),
            backend: backend.clone(),
            round_seed: 1,
        };
        let todo = planned_children(&ev, &parents, 1);
        assert_eq!(todo.len(), parents.len());
        let mut index = NearDupIndex::new(config.dedup_threshold);
        for p in &parents {
            index.insert_named(&p.text, Some(&p.name), None).unwrap();
        }
        let mut decontam = Decontaminator::new(13);
        decontam.add("HumanEval/0", HE);
        let report = run_step(&ev, &parents, todo, &mut index, Some(&decontam), &|_| {}).await;

        let got: Vec<(&str, Option<&str>)> = report
            .children
            .iter()
            .map(|c| (c.name.as_str(), c.dropped.as_ref().map(|(r, _)| r.as_str())))
            .collect();
        assert_eq!(
            got,
            vec![
                ("seed:0>1", None),
                ("seed:1>1", Some("evolver_refused")),
                ("seed:2>1", Some("near_duplicate")), // of seed:0>1, which came first
                ("seed:3>1", Some("contaminated")),
                ("seed:4>1", Some("no_new_information")),
                ("seed:6>1", Some("template_label")),
                // Near its own parent (rule 1's business, and the judge said Not Equal): kept.
                ("seed:7>1", None),
                ("seed:8>1", Some("not_a_task")),
            ]
        );
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0, "seed:5>1");
        assert!(
            report.children[3]
                .dropped
                .as_ref()
                .unwrap()
                .1
                .contains("HumanEval/0")
        );
        assert_eq!(
            report.children[7].dropped.as_ref().unwrap().1,
            "code instead of a task"
        );
        assert_eq!(report.children[0].parent_id, 1);
        assert!(rrtf_config::EVOLUTION_METHODS.contains(&report.children[0].method.as_str()));
        assert_eq!(report.drop_counts().values().sum::<u64>(), 6);
        assert_eq!(
            index.len(),
            parents.len() + 2,
            "only the kept children joined the index"
        );
        // 9 evolutions (one failed) and 5 judgements (0, 2, 3, 4, 7), each with its own system.
        let systems = backend.1.lock().unwrap().clone();
        assert_eq!(systems.len(), 9 + 5, "{systems:?}");
        let evolver = systems
            .iter()
            .filter(|s| *s == EVOLVER_SYSTEM.trim_end())
            .count();
        let judge = systems
            .iter()
            .filter(|s| *s == JUDGE_SYSTEM.trim_end())
            .count();
        assert_eq!((evolver, judge), (9, 5), "{systems:?}");
    }

    /// Rejects every request with a 401, counting them.
    struct Unauthorized(std::sync::atomic::AtomicU64);

    impl Backend for Unauthorized {
        fn generate<'a>(
            &'a self,
            _: &'a GenRequest,
        ) -> BoxFuture<'a, Result<Generation, LlmError>> {
            Box::pin(async move {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                Err(LlmError::Rejected {
                    endpoint: "ev".into(),
                    url: "u".into(),
                    status: 401,
                    message: "bad key".into(),
                    hint: "",
                })
            })
        }
    }

    #[tokio::test]
    async fn an_auth_rejection_stops_the_step_after_the_requests_in_flight() {
        let endpoint: Endpoint = toml::from_str(
            "name = \"ev\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\nconcurrency = 2\n",
        )
        .unwrap();
        let config = Evolution::default();
        let backend = Arc::new(Unauthorized(Default::default()));
        let ev = Evolver {
            config: &config,
            endpoint: &endpoint,
            answerer: Answerer::of(&endpoint).unwrap(),
            backend: backend.clone(),
            round_seed: 0,
        };
        let parents = numbered_parents(20, |i| format!("Write f{i}."), Language::Python);
        let todo = planned_children(&ev, &parents, 1);
        let report = run_step(
            &ev,
            &parents,
            todo,
            &mut NearDupIndex::new(0.8),
            None,
            &|_| {},
        )
        .await;
        assert!(report.stopped.as_deref().unwrap().contains("bad key"));
        assert_eq!(report.failed.len(), 20, "nothing is stored");
        assert!(report.children.is_empty());
        let sent = backend.0.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            sent <= 2,
            "{sent} requests sent; only those in flight at the first 401 may be"
        );
        assert_eq!(report.usage.requests, 0);
    }

    /// An endpoint nothing listens on (the tests' backends answer instead).
    fn local_endpoint() -> Endpoint {
        toml::from_str("name = \"ev\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n")
            .unwrap()
    }

    /// Parents `s:0`, `s:1`, ... with the given texts, all in `language`.
    fn numbered_parents(n: i64, text: impl Fn(i64) -> String, language: Language) -> Vec<Parent> {
        (0..n)
            .map(|i| Parent {
                id: i,
                name: format!("s:{i}"),
                text: text(i),
                language,
            })
            .collect()
    }

    #[test]
    fn planned_children_follow_seed_weights_and_in_breadth() {
        let endpoint = local_endpoint();
        let mut config = Evolution::default();
        config.methods.insert("complexity".into(), 0.0);
        config.in_breadth = true;
        let parents = numbered_parents(50, |i| format!("t{i}"), Language::Rust);
        let ev = Evolver {
            config: &config,
            endpoint: &endpoint,
            answerer: Answerer::of(&endpoint).unwrap(),
            backend: Arc::new(Scripted::new(vec![])),
            round_seed: 3,
        };
        let plan = planned_children(&ev, &parents, 2);
        assert_eq!(plan.len(), 100);
        assert!(plan.iter().all(|p| p.method != "complexity"));
        assert_eq!(
            plan.iter()
                .filter(|p| p.method == "in_breadth" && p.name.ends_with(">b2"))
                .count(),
            50
        );
        // Without [evolution] languages a child asks for its parent's language.
        assert!(plan.iter().all(|p| p.language == Language::Rust));
        let again = planned_children(&ev, &parents, 2);
        assert_eq!(plan, again);
    }

    /// Answers an evolution request with a task in the language its last line asks for (or
    /// "none"), numbered so that no two children are near-duplicates.
    struct Multilingual(std::sync::Mutex<u32>);

    impl Backend for Multilingual {
        fn generate<'a>(
            &'a self,
            req: &'a GenRequest,
        ) -> BoxFuture<'a, Result<Generation, LlmError>> {
            Box::pin(async move {
                let Prompt::Chat(m) = &req.prompt else {
                    panic!("chat endpoint")
                };
                let text = &m.last().unwrap().content;
                let lang = text
                    .split("written in ")
                    .nth(1)
                    .and_then(|s| s.split(',').next())
                    .unwrap_or("none");
                let n = {
                    let mut n = self.0.lock().unwrap();
                    *n += 1;
                    *n
                };
                let words: Vec<String> = (0..12).map(|k| format!("w{}", n * 100 + k)).collect();
                Ok(Generation {
                    text: format!("Write it in {lang}: {}.", words.join(" ")),
                    finish_reason: None,
                    prompt_tokens: None,
                    completion_tokens: None,
                    latency_ms: 0,
                    attempts: 1,
                })
            })
        }
    }

    /// Issue 20 item 3: a round that lists languages gives each child one of them (seeded,
    /// about uniformly, the same on a re-run) and tells the evolver to ask for it.
    #[tokio::test]
    async fn a_multilingual_round_draws_each_childs_language_and_asks_for_it() {
        let endpoint = local_endpoint();
        let config = Evolution {
            languages: vec![Language::Cpp, Language::Java, Language::Go],
            judge_no_new_information: false,
            max_length_ratio: 100.0,
            ..Evolution::default()
        };
        let parents = numbered_parents(60, |i| format!("Write f{i}."), Language::Python);
        let ev = Evolver {
            config: &config,
            endpoint: &endpoint,
            answerer: Answerer::of(&endpoint).unwrap(),
            backend: Arc::new(Multilingual(Default::default())),
            round_seed: 5,
        };
        let plan = planned_children(&ev, &parents, 1);
        for l in &config.languages {
            let n = plan.iter().filter(|p| p.language == *l).count();
            assert!((10..=30).contains(&n), "{l}: {n} of 60");
        }
        assert_eq!(plan, planned_children(&ev, &parents, 1));
        let mut index = NearDupIndex::new(config.dedup_threshold);
        let report = run_step(&ev, &parents, plan.clone(), &mut index, None, &|_| {}).await;
        assert_eq!(report.children.len(), 60);
        for (c, p) in report.children.iter().zip(&plan) {
            assert_eq!((&c.name, c.language), (&p.name, p.language));
            assert!(
                c.text
                    .starts_with(&format!("Write it in {}:", c.language.title())),
                "{}: {}",
                c.language,
                c.text
            );
            assert_eq!(c.dropped, None, "{}", c.text);
        }
        // Without languages the request says none.
        let plain = Evolution {
            languages: vec![],
            ..config.clone()
        };
        let ev = Evolver {
            config: &plain,
            ..ev
        };
        let plan = planned_children(&ev, &parents[..1], 1);
        let report = run_step(&ev, &parents[..1], plan, &mut index, None, &|_| {}).await;
        assert!(report.children[0].text.starts_with("Write it in none:"));
        assert_eq!(report.children[0].language, Language::Python);
    }
}
