//! One outcome for a response from the executions of its test programs, and the outcome
//! classes and pass ratio that lead the ranking order.

use rrtf_types::Outcome;

/// Severity, worst first: the outcome a response gets when its test programs disagree.
fn severity(o: Outcome) -> u8 {
    match o {
        Outcome::CompileError => 0,
        Outcome::Crashed => 1,
        Outcome::MemoryLimit => 2,
        Outcome::OutputLimit => 3,
        Outcome::Timeout => 4,
        Outcome::RuntimeError => 5,
        Outcome::TestFailure => 6,
        Outcome::Partial => 7,
        Outcome::Pass => 8,
    }
}

/// - every program passed (and at least one test ran): `pass`;
/// - code that does not compile is `compile_error` whatever else happened;
/// - some tests passed: `partial`;
/// - otherwise the worst outcome among the programs.
///
/// No executions at all is `crashed`: a missing result is never a pass.
pub fn aggregate_outcome(outcomes: &[Outcome], passed: i64, total: i64) -> Outcome {
    if outcomes.is_empty() {
        return Outcome::Crashed;
    }
    if outcomes.contains(&Outcome::CompileError) {
        return Outcome::CompileError;
    }
    if outcomes.iter().all(|o| *o == Outcome::Pass) && total > 0 && passed == total {
        return Outcome::Pass;
    }
    if passed > 0 {
        return Outcome::Partial;
    }
    let worst = outcomes
        .iter()
        .copied()
        .min_by_key(|o| severity(*o))
        .expect("not empty");
    // A lone `pass` with nothing counted, or `partial` with nothing passed, is inconsistent.
    if matches!(worst, Outcome::Pass | Outcome::Partial) {
        Outcome::TestFailure
    } else {
        worst
    }
}

/// The outcome class, worst first: the first level of the ranking order. Runtime errors,
/// timeouts, memory and output limits and crashes are one class.
pub fn outcome_class(o: Outcome) -> u8 {
    match o {
        Outcome::CompileError => 0,
        Outcome::RuntimeError
        | Outcome::Timeout
        | Outcome::MemoryLimit
        | Outcome::OutputLimit
        | Outcome::Crashed => 1,
        Outcome::TestFailure => 2,
        Outcome::Partial => 3,
        Outcome::Pass => 4,
    }
}

/// The pass ratio of a partial pass, in (0, 1). A response that passed every counted test yet
/// is not a pass (another program hit a limit before its tests were counted) passed `total` of
/// `total + 1` checks: finishing within the limits is the check it failed, so it stays below a
/// pass.
pub fn pass_ratio(passed: i64, total: i64) -> f64 {
    if total <= 0 || passed <= 0 {
        0.0
    } else if passed >= total {
        total as f64 / (total + 1) as f64
    } else {
        passed as f64 / total as f64
    }
}
