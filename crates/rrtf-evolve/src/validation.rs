//! The dynamic validation of synthesized test programs: the protocol that decides whether a
//! test that passed the static checks ([`crate::synth::check`]) may be executed and counted.
//!
//! Each Python test program runs three times in the sandbox: once against a [`stub`] (the
//! entry point returning `None`) and twice against its reference solution ([`Candidate`]'s
//! `reference`: the teacher's, else the code of the prompt's own reference answer). [`judge`]
//! reads the three runs. Rejected, in this order ([`Rejection`], each with its rule's
//! [`label`](Rejection::label)): a program that does not parse; one the stub passes (trivially
//! true); one whose tests do not run against the reference (no entry point, a language the
//! executor does not run, no reference, or the reference fails to compile, crashes, times out,
//! or the program's setup fails: not checkable); one whose per-test verdicts differ between the
//! two reference runs (not deterministic). The reference need not pass every test: its pass
//! count is the [`Valid`] note.
//!
//! A test in another language (C++, JavaScript, Java, Go, Rust) runs only twice, against its
//! reference: a stub needs the function's signature, which only Python can leave open. Its
//! static checks ([`crate::synth::check_in`]: every check site calls the entry point) stand in
//! for the stub run, and a test that does not compile shows as the reference's compile error
//! (not checkable).
//!
//! A test whose runs did not all come back from the executor (or came back unjudged: the
//! executor failed on them) is [`Verdict::Incomplete`]: it
//! stays unvalidated for the next run, since an executor failure is never the test's fault.
//!
//! This module runs nothing itself and stores nothing: [`validate`] hands the jobs to an
//! `rrtf_exec::Executor`, [`validate_with`] to any runner (a fake in tests); the caller
//! stores the verdicts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use rrtf_exec::{ExecResult, Executor, Job, Language, Outcome};
use serde::Serialize;

/// A synthesized test program to validate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The language the test is written in (a stored name).
    pub language: String,
    /// The test program (`check(candidate)` and its asserts).
    pub code: String,
    pub entry_point: Option<String>,
    /// The solution the tests run against twice ([`Candidate::reference_of`]).
    pub reference: Option<String>,
}

impl Candidate {
    /// What a test runs against: the teacher's reference solution, else the code of the
    /// prompt's own reference answer (an imported dataset's solution, extracted in the
    /// prompt's `language`; Python when the name is unknown).
    pub fn reference_of(
        teacher: Option<&str>,
        prompt_reference: Option<&str>,
        language: &str,
    ) -> Option<String> {
        let language = Language::parse(language).unwrap_or(Language::Python);
        teacher.map(str::to_owned).or_else(|| {
            prompt_reference.and_then(|r| rrtf_exec::extract::extract_code(r, language))
        })
    }
}

/// The stub a test program must fail: the entry point, returning `None` whatever it is given.
pub fn stub(entry_point: &str) -> String {
    format!("def {entry_point}(*args, **kwargs):\n    return None\n")
}

/// A valid test: how the reference solution did (recorded with the test).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Valid {
    pub reference_passed: u32,
    pub reference_total: u32,
}

impl fmt::Display for Valid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the reference solution passes {}/{} tests",
            self.reference_passed, self.reference_total
        )
    }
}

/// Why a test program was rejected. The `Display` text (stored with the test) starts with the
/// rule's [`label`](Rejection::label) and a colon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The stub run did not compile: the test program itself does not parse. `detail` is the
    /// executor's, cut to 200 characters.
    DoesNotParse { detail: String },
    /// A stub returning `None` passes all `tests` tests.
    TriviallyTrue { tests: u32 },
    /// No entry point was recorded: nothing to call the stub or reference by.
    NoEntryPoint,
    /// The test's language is none the executor runs.
    UnknownLanguage { language: String },
    /// No reference solution to run the tests against.
    NoReference,
    /// The tests did not run against the reference (its outcome, and the executor's detail
    /// cut to 200 characters).
    ReferenceDidNotRun { outcome: Outcome, detail: String },
    /// The two runs against the reference gave different per-test results (marks `1`/`0`
    /// per test, and the outcome, of each run).
    NotDeterministic {
        first: (String, Outcome),
        second: (String, Outcome),
    },
}

impl Rejection {
    /// Every rule's label, in the order the rules are applied.
    pub const LABELS: [&'static str; 4] = [
        "does not parse",
        "trivially true",
        "not checkable",
        "not deterministic",
    ];

    /// The rule that rejected the test, a stable label for counts.
    pub fn label(&self) -> &'static str {
        match self {
            Rejection::DoesNotParse { .. } => "does not parse",
            Rejection::TriviallyTrue { .. } => "trivially true",
            Rejection::NoEntryPoint
            | Rejection::UnknownLanguage { .. }
            | Rejection::NoReference
            | Rejection::ReferenceDidNotRun { .. } => "not checkable",
            Rejection::NotDeterministic { .. } => "not deterministic",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.label())?;
        match self {
            Rejection::DoesNotParse { detail } => f.write_str(detail),
            Rejection::TriviallyTrue { tests } => {
                write!(f, "a stub returning None passes all {tests} tests")
            }
            Rejection::NoEntryPoint => f.write_str("no entry point"),
            Rejection::UnknownLanguage { language } => {
                write!(f, "the executor runs no language `{language}`")
            }
            Rejection::NoReference => f.write_str(
                "no reference solution to run the tests twice against (the template asks for \
                 one in a second code block)",
            ),
            Rejection::ReferenceDidNotRun { outcome, detail } => write!(
                f,
                "the tests did not run against the reference solution ({outcome}: {detail})"
            ),
            Rejection::NotDeterministic { first, second } => write!(
                f,
                "two runs against the reference gave per-test results {} ({}) and {} ({})",
                first.0, first.1, second.0, second.1
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// A rejected test is a teacher's, never the user's input.
impl rrtf_types::UserError for Rejection {
    fn is_user_error(&self) -> bool {
        false
    }
}

/// The verdict on one test program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid(Valid),
    Rejected(Rejection),
    /// Not every run came back from the executor: leave the test unvalidated.
    Incomplete,
}

impl Verdict {
    /// What to store: `Some((valid, detail))`, or `None` for [`Verdict::Incomplete`].
    pub fn stored(&self) -> Option<(bool, String)> {
        match self {
            Verdict::Valid(v) => Some((true, v.to_string())),
            Verdict::Rejected(r) => Some((false, r.to_string())),
            Verdict::Incomplete => None,
        }
    }
}

/// Verdicts counted as the stage reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Tests judged (valid or rejected).
    pub validated: u64,
    pub valid: u64,
    /// Rejected tests per rule label.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Tests whose runs did not all come back, left for the next run.
    pub left_unvalidated: u64,
}

impl Tally {
    pub fn add(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Valid(_) => {
                self.validated += 1;
                self.valid += 1;
            }
            Verdict::Rejected(r) => {
                self.validated += 1;
                *self.rejected.entry(r.label()).or_default() += 1;
            }
            Verdict::Incomplete => self.left_unvalidated += 1,
        }
    }
}

/// The executor's detail, short enough to store and show.
fn short(detail: &str) -> String {
    detail.chars().take(200).collect()
}

/// Judge a test program from its run against the stub (Python; `None` in the other
/// languages, whose tests the static rules checked instead: `crate::synth::check_in`) and its two
/// runs against the reference (`None` when there was no reference solution to run).
pub fn judge(
    stub_run: Option<&ExecResult>,
    reference: Option<(&ExecResult, &ExecResult)>,
) -> Result<Valid, Rejection> {
    if let Some(stub_run) = stub_run {
        if stub_run.outcome == Outcome::CompileError {
            return Err(Rejection::DoesNotParse {
                detail: short(&stub_run.detail),
            });
        }
        if stub_run.outcome == Outcome::Pass && stub_run.tests_total > 0 {
            return Err(Rejection::TriviallyTrue {
                tests: stub_run.tests_total,
            });
        }
    }
    let Some((a, b)) = reference else {
        return Err(Rejection::NoReference);
    };
    for r in [a, b] {
        if r.test_results.is_empty() || r.tests_total == 0 {
            return Err(Rejection::ReferenceDidNotRun {
                outcome: r.outcome,
                detail: short(&r.detail),
            });
        }
    }
    if (a.outcome, &a.test_results) != (b.outcome, &b.test_results) {
        return Err(Rejection::NotDeterministic {
            first: (a.test_results.clone(), a.outcome),
            second: (b.test_results.clone(), b.outcome),
        });
    }
    Ok(Valid {
        reference_passed: a.tests_passed,
        reference_total: a.tests_total,
    })
}

/// Validate `tests` on `executor` (blocking: call it off the async runtime). One verdict per
/// test, in order.
pub fn validate(executor: &Executor, tests: &[Candidate]) -> Vec<Verdict> {
    validate_with(tests, |jobs| executor.run_all(jobs))
}

/// [`validate`] with any runner: `run_all` gets every job of the batch (test `i`'s stub run has
/// key `3i`, its reference runs `3i + 1` and `3i + 2`) and returns the results that came back,
/// in any order.
pub fn validate_with(
    tests: &[Candidate],
    run_all: impl FnOnce(Vec<Job>) -> Vec<ExecResult>,
) -> Vec<Verdict> {
    let mut verdicts: Vec<Option<Verdict>> = vec![None; tests.len()];
    let mut jobs = Vec::new();
    // (test index, whether it has a stub run)
    let mut runnable = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let Ok(language) = Language::parse(&t.language) else {
            verdicts[i] = Some(Verdict::Rejected(Rejection::UnknownLanguage {
                language: t.language.clone(),
            }));
            continue;
        };
        let Some(entry) = &t.entry_point else {
            verdicts[i] = Some(Verdict::Rejected(Rejection::NoEntryPoint));
            continue;
        };
        let key = i as u64 * 3;
        let job = |key: u64, code: String| Job {
            key,
            language,
            code: Some(code),
            test: t.code.clone(),
            entry_point: (language == Language::Python).then(|| entry.clone()),
            prompt: None,
        };
        // A stub needs the signature: only Python's (`*args, **kwargs`) is known.
        if language == Language::Python {
            jobs.push(job(key, stub(entry)));
        }
        if let Some(r) = &t.reference {
            jobs.push(job(key + 1, r.clone()));
            jobs.push(job(key + 2, r.clone()));
        }
        runnable.push((i, language == Language::Python));
    }
    let results: HashMap<u64, ExecResult> = if jobs.is_empty() {
        HashMap::new()
    } else {
        // A run the executor could not judge is no evidence either way: as if it never came.
        run_all(jobs)
            .into_iter()
            .filter(ExecResult::is_judged)
            .map(|r| (r.key, r))
            .collect()
    };
    for (i, stubbed) in runnable {
        let key = i as u64 * 3;
        let stub_run = results.get(&key);
        let refs = (results.get(&(key + 1)), results.get(&(key + 2)));
        verdicts[i] = Some(
            match (stub_run, stubbed, refs, tests[i].reference.is_some()) {
                (None, true, _, _) => Verdict::Incomplete,
                (s, _, (Some(a), Some(b)), true) => judge(s, Some((a, b))).into(),
                (s, _, _, false) => judge(s, None).into(),
                _ => Verdict::Incomplete,
            },
        );
    }
    verdicts
        .into_iter()
        .map(|v| v.expect("every test has a verdict"))
        .collect()
}

impl From<Result<Valid, Rejection>> for Verdict {
    fn from(r: Result<Valid, Rejection>) -> Verdict {
        match r {
            Ok(v) => Verdict::Valid(v),
            Err(r) => Verdict::Rejected(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(outcome: Outcome, passed: u32, total: u32, marks: &str) -> ExecResult {
        ExecResult {
            tests_passed: passed,
            tests_total: total,
            test_results: marks.into(),
            ..ExecResult::without_run(
                0,
                outcome,
                if outcome == Outcome::Pass {
                    String::new()
                } else {
                    format!("{outcome} detail")
                },
            )
        }
    }

    #[test]
    fn judge_rejects_by_each_rule_in_order_with_its_label() {
        use Outcome::*;
        let stub_fails = run(TestFailure, 0, 3, "000");
        let ref_ok = run(Pass, 3, 3, "111");
        let partial = |marks: &str| run(Partial, 2, 3, marks);
        // (stub run, reference runs, Ok(note) or Err((label, text)))
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            ExecResult,
            Option<(ExecResult, ExecResult)>,
            Result<&str, (&str, &str)>,
        )> = vec![
            (
                stub_fails.clone(),
                Some((ref_ok.clone(), ref_ok.clone())),
                Ok("the reference solution passes 3/3 tests"),
            ),
            // The reference need not pass everything: recorded, not rejected.
            (
                stub_fails.clone(),
                Some((partial("110"), partial("110"))),
                Ok("the reference solution passes 2/3 tests"),
            ),
            (
                run(CompileError, 0, 0, ""),
                Some((ref_ok.clone(), ref_ok.clone())),
                Err(("does not parse", "does not parse: compile_error detail")),
            ),
            (
                run(Pass, 3, 3, "111"),
                Some((ref_ok.clone(), ref_ok.clone())),
                Err((
                    "trivially true",
                    "trivially true: a stub returning None passes all 3 tests",
                )),
            ),
            // Some tests passing the stub is not trivially true (e.g. `assert not candidate(x)`).
            (
                run(Partial, 1, 3, "100"),
                Some((ref_ok.clone(), ref_ok.clone())),
                Ok("the reference solution passes 3/3 tests"),
            ),
            (
                stub_fails.clone(),
                None,
                Err((
                    "not checkable",
                    "not checkable: no reference solution to run the tests twice against (the template asks for one in a second code block)",
                )),
            ),
            (
                stub_fails.clone(),
                Some((run(CompileError, 0, 0, ""), run(CompileError, 0, 0, ""))),
                Err((
                    "not checkable",
                    "not checkable: the tests did not run against the reference solution (compile_error: compile_error detail)",
                )),
            ),
            (
                stub_fails.clone(),
                Some((run(RuntimeError, 0, 3, ""), run(RuntimeError, 0, 3, ""))),
                Err((
                    "not checkable",
                    "not checkable: the tests did not run against the reference solution (runtime_error: runtime_error detail)",
                )),
            ),
            (
                stub_fails.clone(),
                Some((partial("110"), partial("011"))),
                Err((
                    "not deterministic",
                    "not deterministic: two runs against the reference gave per-test results 110 (partial) and 011 (partial)",
                )),
            ),
            (
                stub_fails.clone(),
                Some((ref_ok.clone(), partial("101"))),
                Err((
                    "not deterministic",
                    "not deterministic: two runs against the reference gave per-test results 111 (pass) and 101 (partial)",
                )),
            ),
        ];
        for (i, (stub_run, refs, want)) in cases.iter().enumerate() {
            let got = judge(Some(stub_run), refs.as_ref().map(|(a, b)| (a, b)));
            match (&got, want) {
                (Ok(v), Ok(note)) => assert_eq!(v.to_string(), *note, "case {i}"),
                (Err(r), Err((label, text))) => {
                    assert_eq!(
                        (r.label(), r.to_string().as_str()),
                        (*label, *text),
                        "case {i}"
                    );
                    assert!(Rejection::LABELS.contains(label));
                }
                _ => panic!("case {i}: {got:?}, wanted {want:?}"),
            }
        }
        // The executor's detail is cut to 200 characters.
        let long = ExecResult {
            detail: "x".repeat(500),
            ..run(CompileError, 0, 0, "")
        };
        let Err(Rejection::DoesNotParse { detail }) = judge(Some(&long), None) else {
            panic!("a compile error does not parse")
        };
        assert_eq!(detail.len(), 200);
    }

    fn candidate(language: &str, entry: Option<&str>, reference: Option<&str>) -> Candidate {
        Candidate {
            language: language.into(),
            code: format!("def check(candidate):\n    assert candidate(1) == {language:?}\n"),
            entry_point: entry.map(str::to_owned),
            reference: reference.map(str::to_owned),
        }
    }

    /// The protocol's runs and verdicts with a fake executor that answers every job but the
    /// second reference run of test 3 (an executor failure: incomplete, not the test's fault).
    #[test]
    fn each_test_runs_against_the_stub_and_twice_against_its_reference() {
        let tests = vec![
            candidate(
                "python",
                Some("f"),
                Some("def f(x):\n    return 'python'\n"),
            ),
            candidate("python", None, Some("def f(x): ...\n")),
            candidate("cobol", Some("f"), Some("function f() {}\n")),
            candidate(
                "python",
                Some("g"),
                Some("def g(x):\n    return 'python'\n"),
            ),
            candidate("python", Some("h"), None),
            // Another language: no stub (its signature is unknown), two reference runs.
            candidate("javascript", Some("k"), Some("function k() {}\n")),
        ];
        let mut seen = Vec::new();
        let verdicts = validate_with(&tests, |jobs| {
            seen = jobs
                .iter()
                .map(|j| {
                    (
                        j.key,
                        j.code.clone().unwrap(),
                        j.entry_point
                            .clone()
                            .unwrap_or_else(|| j.language.to_string()),
                    )
                })
                .collect();
            jobs.iter()
                .filter(|j| j.key != 3 * 3 + 2)
                .map(|j| {
                    let stub = j.code.as_deref().unwrap().contains("return None");
                    ExecResult {
                        key: j.key,
                        ..if stub {
                            run(Outcome::TestFailure, 0, 1, "0")
                        } else {
                            run(Outcome::Pass, 1, 1, "1")
                        }
                    }
                })
                .collect()
        });
        let keys: Vec<(u64, &str)> = seen.iter().map(|(k, _, e)| (*k, e.as_str())).collect();
        assert_eq!(
            keys,
            vec![
                (0, "f"),
                (1, "f"),
                (2, "f"),
                (9, "g"),
                (10, "g"),
                (11, "g"),
                (12, "h"),
                (16, "javascript"),
                (17, "javascript")
            ],
            "stub run 3i, reference runs 3i+1 and 3i+2; nothing for tests that cannot run"
        );
        assert_eq!(seen[0].1, stub("f"));
        assert_eq!(seen[1].1, tests[0].reference.clone().unwrap());
        assert_eq!(
            verdicts,
            vec![
                Verdict::Valid(Valid {
                    reference_passed: 1,
                    reference_total: 1
                }),
                Verdict::Rejected(Rejection::NoEntryPoint),
                Verdict::Rejected(Rejection::UnknownLanguage {
                    language: "cobol".into()
                }),
                Verdict::Incomplete,
                Verdict::Rejected(Rejection::NoReference),
                Verdict::Valid(Valid {
                    reference_passed: 1,
                    reference_total: 1
                }),
            ]
        );
        assert_eq!(
            verdicts[2].stored(),
            Some((
                false,
                "not checkable: the executor runs no language `cobol`".into()
            ))
        );
        assert_eq!(
            verdicts[1].stored().unwrap().1,
            "not checkable: no entry point"
        );
        assert_eq!(verdicts[3].stored(), None);
        let mut tally = Tally::default();
        verdicts.iter().for_each(|v| tally.add(v));
        assert_eq!(
            serde_json::to_value(&tally).unwrap(),
            serde_json::json!({"validated": 5, "valid": 2, "rejected": {"not checkable": 3}, "left_unvalidated": 1})
        );
        // Nothing runnable: the executor is not called.
        let none = validate_with(&tests[1..3], |_| panic!("no job to run"));
        assert!(none.iter().all(|v| matches!(v, Verdict::Rejected(_))));
    }

    #[test]
    fn the_reference_is_the_teachers_else_the_prompts_own() {
        assert_eq!(
            Candidate::reference_of(
                Some("def f(): pass\n"),
                Some("```python\ndef g(): pass\n```"),
                "python"
            ),
            Some("def f(): pass\n".into())
        );
        assert_eq!(
            Candidate::reference_of(None, Some("```python\ndef g():\n    pass\n```"), "python")
                .as_deref(),
            Some("def g():\n    pass\n")
        );
        // In the prompt's language: the C++ block of an answer with two.
        assert_eq!(
            Candidate::reference_of(
                None,
                Some("```python\ndef g(): pass\n```\n```cpp\nint g() { return 1; }\n```"),
                "cpp"
            )
            .as_deref(),
            Some("int g() { return 1; }\n")
        );
        assert_eq!(Candidate::reference_of(None, None, "python"), None);
        assert_eq!(stub("add"), "def add(*args, **kwargs):\n    return None\n");
    }
}
