//! What to run ([`Job`]) and what came of it ([`ExecResult`], [`Outcome`]).
//!
//! Invariant: `passed()` is true only for `Outcome::Pass` with `tests_total > 0` and every test
//! passed. A missing or malformed result is `Crashed`, never a pass. A sample the executor
//! could not judge (its worker or judge failed, on every attempt) comes back
//! [`ExecResult::unjudged`]: no verdict at all, which callers must not store or count as one.

use rrtf_types::{Language, Outcome};
use serde::{Deserialize, Serialize};

use crate::extract;

/// One sample to execute. `key` is the caller's (a row number, a database id) and comes back
/// on the result unchanged.
#[derive(Debug, Clone)]
pub struct Job {
    pub key: u64,
    pub language: Language,
    /// The program to run; `None` when no code could be extracted (=> `compile_error`).
    pub code: Option<String>,
    /// The unit tests, in the language's HumanEval(-X) form.
    pub test: String,
    /// The function under test (HumanEval `entry_point`); the Python `check(candidate)` gets it.
    pub entry_point: Option<String>,
    /// The prompt the code answers, when known: trusted text, never the sample's. Python's
    /// judge runs it when it is Python (a completion prompt: its imports and helpers, e.g.
    /// HumanEval/32's `poly`, which the test uses), so a sample cannot redefine what the test
    /// relies on. `None`: the test sees the candidate and its own definitions only.
    pub prompt: Option<String>,
}

impl Job {
    /// A chat-style response: code is extracted from it (fenced blocks, or bare code). With the
    /// `prompt` it answered, the prompt's Python imports the code lacks are put in front.
    pub fn from_response(
        key: u64,
        language: Language,
        response: &str,
        prompt: Option<&str>,
        test: String,
        entry_point: Option<String>,
    ) -> Job {
        let code = extract::extract_code(response, language)
            .map(|c| prompt.map_or(c.clone(), |p| extract::with_prompt_imports(&c, p, language)));
        Job {
            key,
            language,
            code,
            test,
            entry_point,
            prompt: prompt.map(str::to_owned),
        }
    }

    /// Completion mode: the response continues the prompt (HumanEval's `prompt + completion`).
    pub fn from_completion(
        key: u64,
        language: Language,
        prompt: &str,
        completion: &str,
        test: String,
        entry_point: Option<String>,
    ) -> Job {
        let code = Some(format!("{prompt}{completion}"));
        Job {
            key,
            language,
            code,
            test,
            entry_point,
            prompt: Some(prompt.to_owned()),
        }
    }
}

/// The verdict on one [`Job`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecResult {
    pub key: u64,
    pub outcome: Outcome,
    /// Checks passed. For Python, also for `Timeout`, `MemoryLimit`, `OutputLimit` and
    /// `Crashed` results: the checks the judge saw pass before the limit or the crash (a
    /// ranker may treat such a result as a partial with the limit noted); 0 when the sample
    /// never reached its checks (compile error, failure while loading).
    pub tests_passed: u32,
    /// Checks counted (only those that exercise the candidate: `assert True` counts for
    /// nothing). Checks that did not run because of a limit count here, unpassed.
    pub tests_total: u32,
    /// First failure or error, empty on a pass.
    pub detail: String,
    /// Per test, in the test program's order: `1` passed, `0` failed. Samples whose tests ran
    /// report them (one mark per counted test, agreeing with `tests_passed`; in the compiled
    /// languages one per counted check site, and a last `0` for a failure outside them); empty
    /// otherwise (no per-test verdict: compile error, crash, timeout, a limit).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub test_results: String,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub peak_rss_kb: u64,
    /// Set when the executor itself failed on this sample (its worker died or hung, the judge
    /// did not answer), on every attempt: why. Then `outcome` (`Crashed`) and the counts mean
    /// nothing about the sample: it was not judged, and must be run again, never stored as a
    /// verdict (a correct answer recorded `crashed` would become a rejected response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unjudged: Option<String>,
}

impl ExecResult {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
            && self.unjudged.is_none()
            && self.tests_total > 0
            && self.tests_passed == self.tests_total
    }

    /// A result that did not come from running the sample (no code, executor failure).
    pub fn without_run(key: u64, outcome: Outcome, detail: impl Into<String>) -> ExecResult {
        ExecResult {
            key,
            outcome,
            tests_passed: 0,
            tests_total: 0,
            detail: detail.into(),
            test_results: String::new(),
            wall_ms: 0,
            cpu_ms: 0,
            peak_rss_kb: 0,
            unjudged: None,
        }
    }

    /// No verdict: the executor failed on the sample (`why`), see [`ExecResult::unjudged`].
    pub fn unjudged(key: u64, why: impl Into<String>) -> ExecResult {
        let why = why.into();
        ExecResult {
            unjudged: Some(why.clone()),
            ..ExecResult::without_run(key, Outcome::Crashed, why)
        }
    }

    /// True for a verdict on the sample (not [`ExecResult::unjudged`]).
    pub fn is_judged(&self) -> bool {
        self.unjudged.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_needs_pass_and_full_counts() {
        let mut r = ExecResult::without_run(1, Outcome::Pass, "");
        assert!(!r.passed(), "no tests is not a pass");
        r.tests_total = 3;
        r.tests_passed = 2;
        assert!(!r.passed());
        r.tests_passed = 3;
        assert!(r.passed());
        r.outcome = Outcome::Partial;
        assert!(!r.passed());
    }
}
