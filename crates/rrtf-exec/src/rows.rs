//! JSON-lines files in and out of `rrtf exec run` and `rrtf exec passk`: sample rows (HumanEval's
//! and HumanEval-X's fields) into [`Job`]s, results back as rows in input order, result rows
//! into (task, passed) for pass@k.
//!
//! Not here: the store's rows (the pipeline's exec stage), printing.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use crate::{ExecError, ExecResult, Executor, Job, Language};

/// A sample row; MultiPL-E's field names are read too (`name` for `task_id`, `tests` for
/// `test`).
#[derive(Deserialize)]
struct SampleRow {
    #[serde(alias = "name")]
    task_id: String,
    language: Option<String>,
    code: Option<String>,
    prompt: Option<String>,
    completion: Option<String>,
    #[serde(alias = "tests")]
    test: String,
    entry_point: Option<String>,
}

/// The language of a row: its `language` field, else the HumanEval-X task prefix
/// (`CPP/0`, `JavaScript/3`), else Python (HumanEval).
fn row_language(row: &SampleRow) -> Result<Language, ExecError> {
    task_language(row.language.as_deref(), &row.task_id)
}

/// The language of a benchmark or sample row: `language` when the row has one (an unknown name
/// is an error), else its task id's HumanEval-X prefix (`CPP/0`, `JavaScript/3`, `Go/7`), else
/// Python (HumanEval's `HumanEval/0`, or an id without a language prefix).
pub fn task_language(language: Option<&str>, task_id: &str) -> Result<Language, ExecError> {
    if let Some(l) = language {
        return Ok(Language::parse(l)?);
    }
    match task_id.split_once('/') {
        Some((prefix, _)) if !prefix.eq_ignore_ascii_case("humaneval") => {
            Language::parse(prefix).or(Ok(Language::Python))
        }
        _ => Ok(Language::Python),
    }
}

fn bad_row(path: &Path, line: usize, message: impl Into<String>) -> ExecError {
    ExecError::Row {
        path: path.to_owned(),
        line,
        message: message.into(),
    }
}

/// Sample rows (`task_id`, [`language`], `code` | `prompt` + `completion`, `test`,
/// [`entry_point`]) as jobs keyed by their index, with their task ids.
pub fn read_samples(path: &Path) -> Result<(Vec<String>, Vec<Job>), ExecError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ExecError::path(format!("open {}", path.display()), e))?;
    let mut tasks = Vec::new();
    let mut jobs = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| ExecError::path(format!("read {}", path.display()), e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |msg: String| bad_row(path, i + 1, msg);
        let row: SampleRow = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let language = row_language(&row).map_err(|e| bad(e.to_string()))?;
        let key = jobs.len() as u64;
        let job = match (&row.completion, &row.code) {
            (Some(completion), _) => Job::from_completion(
                key,
                language,
                row.prompt.as_deref().unwrap_or(""),
                completion,
                row.test,
                row.entry_point,
            ),
            (None, Some(code)) => {
                let prompt = row.prompt.as_deref();
                Job::from_response(key, language, code, prompt, row.test, row.entry_point)
            }
            (None, None) => return Err(bad("needs `code`, or `prompt` and `completion`".into())),
        };
        tasks.push(row.task_id);
        jobs.push(job);
    }
    Ok((tasks, jobs))
}

/// A result row: task_id, outcome, passed, tests_passed, tests_total, detail, wall_ms, cpu_ms,
/// peak_rss_kb.
/// A sample the executor could not judge has `"outcome": null`, `"passed": false` and
/// `"unjudged"` (why); [`read_results`] refuses such a row.
pub fn result_row(task_id: &str, r: &ExecResult) -> serde_json::Value {
    if let Some(why) = &r.unjudged {
        return json!({"task_id": task_id, "outcome": null, "passed": false, "unjudged": why});
    }
    json!({
        "task_id": task_id, "outcome": r.outcome, "passed": r.passed(),
        "tests_passed": r.tests_passed, "tests_total": r.tests_total, "detail": r.detail,
        "wall_ms": r.wall_ms, "cpu_ms": r.cpu_ms, "peak_rss_kb": r.peak_rss_kb,
    })
}

/// The count [`run_in_order`] gives samples the executor could not judge.
pub const UNJUDGED: &str = "unjudged";

/// Run `jobs` (keyed 0..n) and hand each result to `each` in key order, though they arrive in
/// completion order; `arrived` is told of every result as it comes. Returns the count of each
/// outcome ([`UNJUDGED`] for samples the executor could not judge) and how many results were
/// handed over (fewer than the jobs if the pool lost some).
pub fn run_in_order<E>(
    exec: &Executor,
    jobs: Vec<Job>,
    mut each: impl FnMut(&ExecResult) -> Result<(), E>,
    mut arrived: impl FnMut(),
) -> Result<(BTreeMap<&'static str, usize>, usize), E> {
    let mut pending: BTreeMap<u64, ExecResult> = BTreeMap::new();
    let mut next = 0u64;
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in exec.run(jobs) {
        let label = if r.is_judged() {
            r.outcome.as_str()
        } else {
            UNJUDGED
        };
        *counts.entry(label).or_default() += 1;
        arrived();
        pending.insert(r.key, r);
        while let Some(r) = pending.remove(&next) {
            each(&r)?;
            next += 1;
        }
    }
    Ok((counts, next as usize))
}

/// What [`run_file`] did: the samples run and the count of each outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RanFile {
    pub samples: usize,
    pub outcomes: BTreeMap<&'static str, usize>,
}

/// `rrtf exec run`: the sample rows of `input` ([`read_samples`]) through `exec` (their
/// toolchains checked first), one [`result_row`] per sample written to `output` in input order;
/// `arrived` is told of every result as it comes, with the number of samples. Blocks while the
/// samples run.
pub fn run_file(
    exec: &Executor,
    input: &Path,
    output: &Path,
    mut arrived: impl FnMut(usize),
) -> Result<RanFile, ExecError> {
    use std::io::Write;
    let (tasks, jobs) = read_samples(input)?;
    let languages: std::collections::HashSet<Language> = jobs.iter().map(|j| j.language).collect();
    exec.check_toolchains(&languages)?;
    let write_err = |e| ExecError::io(format!("write {}", output.display()), e);
    let out = std::fs::File::create(output)
        .map_err(|e| ExecError::path(format!("create {}", output.display()), e))?;
    let mut out = std::io::BufWriter::new(out);
    let samples = jobs.len();
    let mut first_unjudged: Option<String> = None;
    let (outcomes, next) = run_in_order(
        exec,
        jobs,
        |r| {
            if let Some(why) = &r.unjudged {
                first_unjudged.get_or_insert_with(|| why.clone());
            }
            writeln!(out, "{}", result_row(&tasks[r.key as usize], r))
        },
        || arrived(samples),
    )
    .map_err(write_err)?;
    out.flush().map_err(write_err)?;
    if next != samples {
        return Err(ExecError::Worker(format!(
            "only {next} of {samples} samples produced a result"
        )));
    }
    if let Some(first) = first_unjudged {
        return Err(ExecError::Unjudged {
            count: outcomes.get(UNJUDGED).copied().unwrap_or(0),
            total: samples,
            first,
            retry: format!(
                "their rows in {} have `\"unjudged\"` and no outcome: run the same command \
                 again",
                output.display()
            ),
        });
    }
    Ok(RanFile { samples, outcomes })
}

#[derive(Deserialize)]
struct ResultRow {
    task_id: String,
    passed: Option<bool>,
    outcome: Option<String>,
    #[serde(default)]
    unjudged: Option<String>,
}

/// Result rows with `task_id` and `passed` (or `outcome`, passed when `pass`).
pub fn read_results(path: &Path) -> Result<Vec<(String, bool)>, ExecError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ExecError::path(format!("read {}", path.display()), e))?;
    let mut rows = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: ResultRow =
            serde_json::from_str(line).map_err(|e| bad_row(path, i + 1, e.to_string()))?;
        if let Some(why) = &row.unjudged {
            return Err(bad_row(
                path,
                i + 1,
                format!(
                    "{} was not judged (the executor failed: {why}); run `rrtf exec run` on \
                     its samples again",
                    row.task_id
                ),
            ));
        }
        let passed = match (row.passed, row.outcome.as_deref()) {
            (Some(p), _) => p,
            (None, Some(o)) => o == "pass",
            (None, None) => return Err(bad_row(path, i + 1, "needs `passed` or `outcome`")),
        };
        rows.push((row.task_id, passed));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn a_row_language_comes_from_its_field_then_its_task_prefix() {
        let f = file(concat!(
            r#"{"task_id":"CPP/0","code":"int f(){}","test":"t"}"#,
            "\n\n",
            r#"{"task_id":"HumanEval/1","prompt":"def f():","completion":" pass","test":"t"}"#,
            "\n",
            r#"{"task_id":"X/2","language":"go","code":"c","test":"t"}"#,
            "\n",
            // MultiPL-E's field names and language names.
            r#"{"name":"HumanEval_3_f","language":"go_test.go","prompt":"p","completion":"c","tests":"u"}"#,
            "\n",
            r#"{"name":"HumanEval_4_g","language":"rs","prompt":"p","completion":"c","tests":"v"}"#,
            "\n",
        ));
        let (tasks, jobs) = read_samples(f.path()).unwrap();
        assert_eq!(
            tasks,
            [
                "CPP/0",
                "HumanEval/1",
                "X/2",
                "HumanEval_3_f",
                "HumanEval_4_g"
            ]
        );
        let languages: Vec<_> = jobs.iter().map(|j| j.language).collect();
        assert_eq!(
            languages,
            [
                Language::Cpp,
                Language::Python,
                Language::Go,
                Language::Go,
                Language::Rust
            ]
        );
        assert_eq!(jobs[4].test, "v");
        assert_eq!(
            jobs.iter().map(|j| j.key).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn a_bad_row_names_file_and_line() {
        let f = file("{\"task_id\":\"a\",\"test\":\"t\"}\n");
        let e = read_samples(f.path()).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{} line 1: needs `code`, or `prompt` and `completion`",
                f.path().display()
            )
        );
        let f = file("{\"task_id\":\"a\",\"outcome\":\"pass\"}\n\n{\"task_id\":\"b\"}\n");
        let e = read_results(f.path()).err().unwrap();
        assert!(
            e.to_string()
                .ends_with("line 3: needs `passed` or `outcome`"),
            "{e}"
        );
    }
}
