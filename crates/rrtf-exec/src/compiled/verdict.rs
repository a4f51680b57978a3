//! The verdict of a judged run, from what the trusted side saw: the builds, how the two
//! processes ended, and the judge's report (read from a pipe only the judge holds; lines
//! carrying the run's nonce):
//!
//! - `S <site> <failed> <called> <errored> <detail>`: the state of a check site so far (flags
//!   only ever go from 0 to 1; the last line per site counts, the first non-empty detail is
//!   kept). `called`: the candidate was called during the check or since the previous check
//!   ended; a site that ran without ever calling the candidate and passed counts for nothing.
//! - `E <kind> <message>`: the first failure of the candidate (`error`, `memory`, `died`).
//! - `T <message>`: the test itself raised outside any check (Java, JavaScript, Rust): one
//!   failed check more.
//! - `F <message>`: a failure outside the check sites (Go's `t.Error`): one failed check more.
//! - `U <message>`: the test passed a value the judge cannot send (the verdict is `crashed`).
//! - `D <n>`: the judge finished; `n` must be the number of sites the trusted side found.
//!
//! Counting: every site the trusted side found counts, failed unless it ran and every run of
//! it passed; a site that ran, passed and never called the candidate does not count (a
//! constant `assert(true)` is no evidence about the sample), but one that failed always counts,
//! failed: the test's text may hold the sample's value in a way the static rule misses (`auto
//! [lo, hi] = f(x);`, a `push` into a list, a helper's parameter, an alias of the function),
//! and dropping the failure would turn a wrong answer into a pass. A failed check can only
//! lower a sample's score, so counting one cannot be gamed. A site that never ran (the judge
//! stopped early, the run hit a limit, the test or the candidate failed) counts as failed; one
//! a cleanly finished test never reached (`assert(false)` in the branch only a wrong answer
//! takes, a loop over nothing) does not count, as the real program passes without it.

use std::collections::BTreeMap;

use crate::Outcome;
use crate::job::ExecResult;
use crate::python::StepResult;

use super::instrument::Site;
use super::pair::{ProcResult, RunResult};

#[derive(Clone, Default, Debug, PartialEq, Eq)]
struct SiteRec {
    ran: bool,
    failed: bool,
    called: bool,
    errored: bool,
    detail: String,
}

#[derive(Default, Debug)]
struct Report {
    sites: BTreeMap<usize, SiteRec>,
    cand_error: Option<(String, String)>,
    test_error: Option<String>,
    outside: Option<String>,
    unsupported: Option<String>,
    /// What makes the one program not compile, found only once the sample's code was compiled
    /// on its own (the candidate's check of its compiled class: a private constructor the test
    /// calls).
    uncompilable: Option<String>,
    done: Option<usize>,
    malformed: Option<String>,
}

fn parse_report(bytes: &[u8], nonce: &str, limit: usize) -> Report {
    let text = String::from_utf8_lossy(bytes);
    let mut r = Report::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(nonce).and_then(|l| l.strip_prefix(' ')) else {
            continue; // not the judge's (a runtime's own message on a crash)
        };
        let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        match kind {
            "S" => {
                let mut f = rest.splitn(5, ' ');
                let site = f.next().and_then(|s| s.parse::<usize>().ok());
                let flags: Vec<Option<bool>> = (0..3)
                    .map(|_| match f.next() {
                        Some("0") => Some(false),
                        Some("1") => Some(true),
                        _ => None,
                    })
                    .collect();
                let detail = f.next().unwrap_or("").trim().to_string();
                match (site, flags[0], flags[1], flags[2]) {
                    (Some(s), Some(failed), Some(called), Some(errored)) if s < limit => {
                        let rec = r.sites.entry(s).or_default();
                        rec.ran = true;
                        rec.failed |= failed;
                        rec.called |= called;
                        rec.errored |= errored;
                        if rec.detail.is_empty() {
                            rec.detail = detail;
                        }
                    }
                    _ => r.malformed = Some(line.chars().take(200).collect()),
                }
            }
            "E" if r.cand_error.is_none() => {
                let (k, m) = rest.split_once(' ').unwrap_or((rest, ""));
                r.cand_error = Some((k.to_string(), m.to_string()));
            }
            "E" => {}
            "T" => {
                r.test_error.get_or_insert_with(|| rest.to_string());
            }
            "F" => {
                r.outside.get_or_insert_with(|| rest.to_string());
            }
            "U" => {
                r.unsupported.get_or_insert_with(|| rest.to_string());
            }
            "C" => {
                r.uncompilable.get_or_insert_with(|| rest.to_string());
            }
            "D" => match rest.trim().parse() {
                Ok(n) if r.done.is_none() => r.done = Some(n),
                _ => r.malformed = Some(line.chars().take(200).collect()),
            },
            _ => r.malformed = Some(line.chars().take(200).collect()),
        }
    }
    r
}

/// What a judged run produced, for [`judge`].
pub(super) struct Observed<'a> {
    pub judge_build: Option<&'a StepResult>,
    pub cand_build: Option<&'a StepResult>,
    pub run: Option<&'a RunResult>,
    pub report: &'a [u8],
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGXCPU => "SIGXCPU".into(),
        libc::SIGXFSZ => "SIGXFSZ".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        s => format!("signal {s}"),
    }
}

fn how_it_ended(p: &ProcResult) -> String {
    match (p.exit, p.signal) {
        (_, Some(s)) => format!("was killed by {}", signal_name(s)),
        (Some(c), _) => format!("exited with status {c}"),
        _ => "ended".into(),
    }
}

const OOM_MARKS: [&str; 6] = [
    "OutOfMemoryError",
    "std::bad_alloc",
    "heap out of memory",
    "out of memory",
    "memory allocation of",
    "Cannot allocate memory",
];

/// The verdict of one judged run; `sites` are the test's check sites as the trusted side found
/// them (none: the whole test is one check), `nonce` the run's secret.
pub(super) fn judge(
    key: u64,
    sites: &[Site],
    nonce: &str,
    timeout_s: f64,
    seen: &Observed<'_>,
) -> ExecResult {
    let mut res = ExecResult::without_run(key, Outcome::Crashed, "");
    let builds = [seen.judge_build, seen.cand_build];
    res.wall_ms = builds.iter().flatten().map(|s| s.wall_ms).sum();
    res.cpu_ms = builds.iter().flatten().map(|s| s.cpu_ms).sum();
    res.peak_rss_kb = 0;
    let whole = sites.is_empty();
    let n = sites.len().max(1);
    res.tests_total = n as u32;
    if let Some(b) = seen.judge_build.filter(|b| b.exit != Some(0)) {
        (res.outcome, res.detail) = if b.timed_out {
            (
                Outcome::Timeout,
                "compiling the test exceeded its time limit".into(),
            )
        } else {
            (
                Outcome::CompileError,
                format!(
                    "the test does not compile against the code's declarations: {}",
                    summarize(&b.output())
                ),
            )
        };
        return res;
    }
    if let Some(b) = seen.cand_build.filter(|b| b.exit != Some(0)) {
        (res.outcome, res.detail) = if b.timed_out {
            (Outcome::Timeout, "compiler exceeded its time limit".into())
        } else {
            let out = b.output();
            // C++: the first error is the dispatch's: the code compiles, but the function the
            // test calls is an overload set or a template (`rrtf_one_`), or its type is not
            // the one the executor read from the text (`rrtf_fn_`: a macro such as `#define
            // int long long`). The executor's limit, not the sample's fault.
            let first = out.split_once(" error: ").map_or("", |(_, rest)| rest);
            let first = first.split(" error: ").next().unwrap_or("");
            if first.contains("rrtf_one_") || first.contains("rrtf_fn_") {
                (
                    Outcome::Crashed,
                    format!(
                        "the judge cannot run this test: the function the test calls is \
                         overloaded or a template in the code, or the compiler reads its type \
                         otherwise than the executor read it from the code's text (a macro or \
                         an alias of the code's): one program's call would choose by the \
                         test's argument types: {}",
                        summarize(&out)
                    )
                    .chars()
                    .take(1000)
                    .collect(),
                )
            } else {
                (
                    Outcome::CompileError,
                    summarize(&out).chars().take(1000).collect(),
                )
            }
        };
        return res;
    }
    let Some(run) = seen.run else {
        res.detail = "the executor returned no run".into();
        return res;
    };
    res.wall_ms += run.wall_ms;
    res.cpu_ms += run.cand.cpu_ms + run.judge.cpu_ms;
    res.peak_rss_kb = run.cand.peak_rss_kb;
    let rep = parse_report(seen.report, nonce, n);
    // Counts from what the judge saw (never more than it reported).
    let (mut passed, mut total) = (0u32, 0u32);
    let mut first: Option<String> = None;
    let whole_site = [Site {
        line: 0,
        text: "the whole test".into(),
        code: String::new(),
        uses_candidate: false,
        constant: false,
    }];
    let counted_sites: &[Site] = if whole { &whole_site } else { sites };
    // Per counted check, in the test's order: `1` passed, `0` failed (kept only when the run
    // ends with a verdict on its checks, as Python's).
    let mut marks = String::new();
    let clean_end = rep.done.is_some()
        && rep.test_error.is_none()
        && rep.cand_error.is_none()
        && rep.outside.is_none();
    let mut unreached = false;
    for (i, site) in counted_sites.iter().enumerate() {
        let rec = rep.sites.get(&i).cloned().unwrap_or_default();
        if rec.ran && !rec.failed && (!rec.called || site.constant) && !site.uses_candidate {
            continue;
        }
        // A site a cleanly finished test never reached (`assert(false)` in the branch a
        // wrong answer would take, an assert in a loop over nothing, after the test's own
        // `process.exit(0)`) never ran in the real program either, which passes without it:
        // it counts for nothing. (A run that stopped early, or that a failure of the test or
        // the candidate cut short, counts its unreached sites as failed below.)
        if !rec.ran && clean_end {
            continue;
        }
        unreached |= !rec.ran;
        total += 1;
        marks.push(if rec.ran && !rec.failed { '1' } else { '0' });
        if rec.ran && !rec.failed {
            passed += 1;
        } else if first.is_none() {
            let why = if !rec.ran {
                "not reached".to_string()
            } else if rec.detail.is_empty() {
                "assertion failed".to_string()
            } else {
                rec.detail.clone()
            };
            first = Some(if site.line > 0 {
                format!("test line {}: {} ({why})", site.line, site.text)
            } else {
                why
            });
        }
    }
    if let Some(msg) = &rep.outside {
        total += 1;
        marks.push('0');
        first.get_or_insert_with(|| msg.clone());
    }
    // The test raised outside its check sites (a `throw` of its own, a helper's, an assertion
    // the reading did not find): one failed check more, as `F`, so a wrong answer's counts
    // never look better for the checks it failed there (unless the sites it cut short already
    // count as failed).
    if !whole
        && !unreached
        && let Some(msg) = &rep.test_error
    {
        total += 1;
        marks.push('0');
        first.get_or_insert_with(|| msg.clone());
    }
    res.tests_passed = passed;
    res.tests_total = total;
    let cand_out = run.cand.output();
    let cand_ended = !run.cand.alive;
    let died = rep.cand_error.as_ref().is_some_and(|(k, _)| k == "died");
    let cand_note = if cand_ended && died {
        format!(
            "; the candidate process {}: {}",
            how_it_ended(&run.cand),
            summarize(&cand_out)
        )
    } else {
        String::new()
    };
    let detail_with = |head: String| -> String {
        let mut d = head;
        if let Some(f) = &first {
            d = if d.is_empty() {
                f.clone()
            } else {
                format!("{d}; first failed check: {f}")
            };
        }
        d.chars().take(1000).collect()
    };
    if run.report_overflow {
        res.outcome = Outcome::Crashed;
        res.detail = "the judge's report exceeded its size limit".into();
        (res.tests_passed, res.tests_total) = (0, 0);
        return res;
    }
    if let Some(m) = &rep.malformed {
        res.outcome = Outcome::Crashed;
        res.detail = format!("malformed judge report line: {m}");
        (res.tests_passed, res.tests_total) = (0, 0);
        return res;
    }
    if run.cand.output_full {
        // Past the output limit (and then stopped, or stuck writing): the limit is the cause.
        res.outcome = Outcome::OutputLimit;
        res.detail = detail_with("output limit exceeded".into());
        return res;
    }
    if run.timed_out || run.cand.signal == Some(libc::SIGXCPU) {
        res.outcome = Outcome::Timeout;
        res.detail = detail_with(format!("wall-clock or cpu limit of {timeout_s}s exceeded"));
        return res;
    }
    if let Some(c) = &rep.uncompilable {
        res.outcome = Outcome::CompileError;
        res.detail = format!("the code and the test do not compile as one program: {c}");
        res.tests_passed = 0;
        return res;
    }
    if let Some(u) = &rep.unsupported {
        res.outcome = Outcome::Crashed;
        res.detail = format!("the judge cannot run this test: {u}");
        (res.tests_passed, res.tests_total) = (0, 0);
        return res;
    }
    match rep.done {
        None => {
            res.outcome = Outcome::Crashed;
            res.detail = format!(
                "the judge {} before it finished: {}",
                how_it_ended(&run.judge),
                summarize(&run.judge.output())
            )
            .chars()
            .take(1000)
            .collect();
            (res.tests_passed, res.tests_total) = (0, 0);
            return res;
        }
        Some(d) if d != sites.len() => {
            res.outcome = Outcome::Crashed;
            res.detail = format!(
                "the judge reported {d} checks, the test has {}",
                sites.len()
            );
            (res.tests_passed, res.tests_total) = (0, 0);
            return res;
        }
        Some(_) => {}
    }
    let cand_error = rep.cand_error.as_ref();
    let start_failed = matches!(run.cand.exit, Some(126 | 127))
        && (cand_out.starts_with("rrtf: cannot start") || cand_out.starts_with("cannot execute"));
    if start_failed {
        res.outcome = Outcome::Crashed;
        res.detail = format!("the candidate did not start: {}", summarize(&cand_out));
        (res.tests_passed, res.tests_total) = (0, 0);
        return res;
    }
    // The candidate's program after the test's last call: what one program runs at its end
    // (a static destructor, a shutdown hook, a pending timer) failing there fails the run.
    let at_exit = (cand_ended
        && cand_error.is_none()
        && (run.cand.exit.is_some_and(|e| e != 0) || run.cand.signal.is_some()))
    .then(|| {
        format!(
            "the candidate failed after the test's last call: its process {}: {}",
            how_it_ended(&run.cand),
            summarize(&cand_out)
        )
    });
    let memory = cand_error.is_some_and(|(k, _)| k == "memory")
        || (cand_ended && cand_error.is_some() && OOM_MARKS.iter().any(|m| cand_out.contains(m)));
    let errored = cand_error.is_some() || rep.test_error.is_some();
    let error_text = match (cand_error, &rep.test_error) {
        (Some((_, m)), _) => format!("the candidate failed: {m}{cand_note}"),
        (None, Some(t)) => t.clone(),
        (None, None) => String::new(),
    };
    (res.outcome, res.detail) = if let Some(why) = at_exit {
        (Outcome::RuntimeError, detail_with(why))
    } else if memory {
        (Outcome::MemoryLimit, detail_with(error_text))
    } else if total == 0 {
        let why = "no check of the test called the candidate".to_string();
        if errored {
            (Outcome::RuntimeError, format!("{error_text}; {why}"))
        } else {
            (Outcome::TestFailure, why)
        }
    } else if passed == total && !errored {
        (Outcome::Pass, String::new())
    } else if passed > 0 {
        (Outcome::Partial, detail_with(error_text))
    } else if errored {
        (Outcome::RuntimeError, detail_with(error_text))
    } else {
        (Outcome::TestFailure, detail_with(String::new()))
    };
    if matches!(
        res.outcome,
        Outcome::Pass | Outcome::Partial | Outcome::TestFailure | Outcome::RuntimeError
    ) {
        res.test_results = marks;
    }
    res
}

/// Up to 1000 characters of output, from the line that names the error: one that starts with
/// `SomethingError`/`SomethingException` (JavaScript, Java), else any line that mentions an
/// error, an assertion or a panic (g++, Rust), else the start.
pub(super) fn summarize(out: &str) -> String {
    const KEYS: [&str; 6] = [
        "Error",
        "error",
        "Assertion",
        "assertion",
        "panicked",
        "Exception",
    ];
    let names_error = |l: &&str| {
        let word = l.trim_start().split([':', ' ']).next().unwrap_or("");
        word.ends_with("Error") || word.ends_with("Exception")
    };
    let start = out
        .lines()
        .find(names_error)
        .or_else(|| out.lines().find(|l| KEYS.iter().any(|k| l.contains(k))))
        .and_then(|l| out.find(l))
        .unwrap_or(0);
    out[start..].trim().chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(exit: Option<i32>, signal: Option<i32>, alive: bool, out: &str) -> ProcResult {
        ProcResult {
            exit,
            signal,
            alive,
            cpu_ms: 1,
            peak_rss_kb: 1,
            output_head: out.into(),
            output_tail: String::new(),
            output_full: false,
        }
    }

    fn run(cand: ProcResult, timed_out: bool) -> RunResult {
        RunResult {
            timed_out,
            wall_ms: 1,
            cand,
            judge: proc(Some(0), None, false, ""),
            report: String::new(),
            report_overflow: false,
        }
    }

    fn sites(n: usize) -> Vec<Site> {
        (0..n)
            .map(|i| Site {
                line: i + 3,
                text: format!("f({i}) == {i}"),
                code: String::new(),
                uses_candidate: false,
                constant: false,
            })
            .collect()
    }

    fn verdict_of(n: usize, report: &str, r: &RunResult) -> (Outcome, u32, u32, String) {
        let seen = Observed {
            judge_build: None,
            cand_build: None,
            run: Some(r),
            report: report.as_bytes(),
        };
        let v = judge(1, &sites(n), "K", 3.0, &seen);
        (v.outcome, v.tests_passed, v.tests_total, v.detail)
    }

    #[test]
    fn counts_come_from_the_judge_and_the_test_text() {
        let alive = run(proc(None, Some(9), true, ""), false);
        let cases: Vec<(usize, &str, Outcome, u32, u32)> = vec![
            (
                2,
                "K S 0 0 1 0 \nK S 1 0 1 0 \nK D 2\n",
                Outcome::Pass,
                2,
                2,
            ),
            (
                2,
                "K S 0 0 1 0 \nK S 1 1 1 0 wrong\nK D 2\n",
                Outcome::Partial,
                1,
                2,
            ),
            (
                2,
                "K S 0 1 1 0 \nK S 1 1 1 0 \nK D 2\n",
                Outcome::TestFailure,
                0,
                2,
            ),
            // A site that never called the candidate counts for nothing (`assert(true)`).
            (
                3,
                "K S 0 0 1 0 \nK S 1 0 0 0 \nK S 2 0 1 0 \nK D 3\n",
                Outcome::Pass,
                2,
                2,
            ),
            (1, "K S 0 0 0 0 \nK D 1\n", Outcome::TestFailure, 0, 0),
            // ... but one that failed counts, failed: the value it checks may be the
            // sample's through a form the static rule misses (`auto [lo, hi] = f(x);`).
            (
                3,
                "K S 0 0 1 0 \nK S 1 1 0 0 wrong\nK S 2 0 0 0 \nK D 3\n",
                Outcome::Partial,
                1,
                2,
            ),
            (1, "K S 0 1 0 0 wrong\nK D 1\n", Outcome::TestFailure, 0, 1),
            // Lines without the nonce, or forged ones, change nothing (site 1 stays
            // unreached: a finished test's unreached site counts for nothing, 1 of 1, where
            // the forged lines would make 2 of 2).
            (
                2,
                "S 1 0 1 0\nX S 1 0 1 0 \nK S 0 0 1 0 \nK D 2\n",
                Outcome::Pass,
                1,
                1,
            ),
            // ... and the test's own failure outside its sites (an exception that ended it
            // before site 1) is one failed check.
            (
                2,
                "K S 0 0 1 0 \nK T the test raised: boom\nK D 2\n",
                Outcome::Partial,
                1,
                2,
            ),
            // The judge saw a candidate error: not a pass, even if every site held.
            (
                1,
                "K S 0 0 1 0 \nK E error boom\nK D 1\n",
                Outcome::Partial,
                1,
                1,
            ),
            (
                1,
                "K E error boom\nK S 0 1 1 1 the candidate failed: boom\nK D 1\n",
                Outcome::RuntimeError,
                0,
                1,
            ),
            (
                1,
                "K E memory std::bad_alloc\nK S 0 1 1 1 x\nK D 1\n",
                Outcome::MemoryLimit,
                0,
                1,
            ),
            // A total other than the trusted one, a malformed line, no end: crashed.
            (
                2,
                "K S 0 0 1 0 \nK S 1 0 1 0 \nK D 3\n",
                Outcome::Crashed,
                0,
                0,
            ),
            (
                2,
                "K S 0 0 1 0 \nK S 9 0 1 0 \nK D 2\n",
                Outcome::Crashed,
                0,
                0,
            ),
            (2, "K S 0 0 1 0 \nK S 1 0 1 0 \n", Outcome::Crashed, 0, 0),
            (1, "K U a function\nK D 1\n", Outcome::Crashed, 0, 0),
        ];
        for (i, (n, report, outcome, p, t)) in cases.into_iter().enumerate() {
            let got = verdict_of(n, report, &alive);
            assert_eq!((got.0, got.1, got.2), (outcome, p, t), "case {i}: {got:?}");
        }
    }

    #[test]
    fn limits_keep_the_checks_that_passed_before_them() {
        // 9 of 10 passed, then the candidate hung: a timeout with 9/10 known.
        let mut report: String = (0..9).map(|i| format!("K S {i} 0 1 0 \n")).collect();
        let hung = run(proc(None, Some(9), true, ""), true);
        let got = verdict_of(10, &report, &hung);
        assert_eq!((got.0, got.1, got.2), (Outcome::Timeout, 9, 10), "{got:?}");
        assert!(got.3.contains("test line 12"), "{got:?}");
        // Output limit, memory limit.
        report.push_str("K S 9 0 1 0 \nK D 10\n");
        let mut full = run(proc(None, Some(libc::SIGXFSZ), false, "x"), false);
        full.cand.output_full = true;
        let got = verdict_of(10, &report, &full);
        assert_eq!((got.0, got.1, got.2), (Outcome::OutputLimit, 10, 10));
        let oom = run(
            proc(
                Some(134),
                None,
                false,
                "FATAL ERROR: JavaScript heap out of memory",
            ),
            false,
        );
        let r = "K S 0 0 1 0 \nK E died the candidate process ended\nK S 1 1 1 1 died\nK D 2\n";
        let got = verdict_of(2, r, &oom);
        assert_eq!(
            (got.0, got.1, got.2),
            (Outcome::MemoryLimit, 1, 2),
            "{got:?}"
        );
    }

    #[test]
    fn a_dead_candidate_is_a_runtime_error_with_the_reason() {
        let segv = run(proc(None, Some(libc::SIGSEGV), false, ""), false);
        let r = "K E died the candidate process ended during a call\nK S 0 1 1 1 x\nK D 1\n";
        let got = verdict_of(1, r, &segv);
        assert_eq!((got.0, got.1, got.2), (Outcome::RuntimeError, 0, 1));
        assert!(got.3.contains("killed by SIGSEGV"), "{got:?}");
        let exit0 = run(proc(Some(0), None, false, ""), false);
        let got = verdict_of(1, r, &exit0);
        assert!(got.3.contains("exited with status 0"), "{got:?}");
        // The whole test as one check (no site in its text).
        let seen = Observed {
            judge_build: None,
            cand_build: None,
            run: Some(&exit0),
            report: b"K S 0 0 1 0 \nK D 0\n",
        };
        let v = judge(1, &[], "K", 3.0, &seen);
        assert_eq!(
            (v.outcome, v.tests_passed, v.tests_total),
            (Outcome::Pass, 1, 1)
        );
    }
}
