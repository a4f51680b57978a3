//! Unit-test synthesis: the request a teacher gets for a prompt without tests, the static
//! checks its answer must pass before it is stored.
//!
//! The answer is a HumanEval-style test program: `# entry_point: NAME` on its first line, then
//! `def check(candidate):` with asserts, and (second block) a reference solution. Static checks
//! ([`check`]): a code block is there, it names the entry point, defines `check(candidate)`,
//! does not define the function under test, and every assert exercises `candidate` (an
//! `assert True` or an assert that never calls the candidate is trivially true). Tests that pass
//! are stored as `unvalidated`; the others as `invalid` with the reason.
//!
//! Dynamic checks, the sandboxed runs that decide whether a stored test may be executed, are
//! [`crate::validation`]'s.

pub const TEMPLATE: &str = include_str!("../../../prompts/synth_tests.txt");

/// The request text for a task.
pub fn request(task: &str, language: &str) -> String {
    TEMPLATE
        .replace("{language}", language)
        .replace("{prompt}", task)
}

/// A checked test program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthTest {
    pub code: String,
    pub entry_point: String,
    /// The teacher's reference solution: a later code block that defines the entry point.
    pub reference: Option<String>,
}

/// The fenced code blocks of `answer` (any info string), in order.
pub fn code_blocks(answer: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = answer.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("```") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.trim_start().starts_with("```"))
                .collect();
            blocks.push(body.join("\n") + "\n");
        }
    }
    blocks
}

/// The first fenced code block of `answer` (any info string), or the whole answer when it has
/// no fence but starts like a test program.
pub fn code_block(answer: &str) -> Option<String> {
    if let Some(first) = code_blocks(answer).into_iter().next() {
        return Some(first);
    }
    let t = answer.trim_start();
    (t.starts_with("# entry_point:") || t.starts_with("def check")).then(|| t.to_owned())
}

fn defines(code: &str, name: &str) -> bool {
    code.lines()
        .any(|l| l.trim_start().starts_with(&format!("def {name}(")))
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && c.all(|c| c.is_alphanumeric() || c == '_')
}

/// Check a teacher's answer; the error says why it is invalid.
pub fn check(answer: &str) -> Result<SynthTest, String> {
    let code = code_block(answer).ok_or("no code block in the answer")?;
    let entry_point = code
        .lines()
        .find_map(|l| l.trim().strip_prefix("# entry_point:"))
        .map(|s| s.trim().to_owned())
        .ok_or("no `# entry_point: NAME` line")?;
    if !is_identifier(&entry_point) {
        return Err(format!(
            "entry point `{entry_point}` is not a function name"
        ));
    }
    if !code
        .lines()
        .any(|l| l.trim_start().starts_with("def check(candidate)"))
    {
        return Err("does not define `check(candidate)`".into());
    }
    if defines(&code, &entry_point) {
        return Err(format!(
            "defines `{entry_point}` itself: the tests must not hold the solution"
        ));
    }
    let asserts: Vec<&str> = code
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("assert ") || l.starts_with("assert("))
        .collect();
    if asserts.is_empty() {
        return Err("no assert".into());
    }
    if let Some(a) = asserts.iter().find(|a| !a.contains("candidate(")) {
        return Err(format!("trivially true: `{a}` does not call candidate"));
    }
    let reference = code_blocks(answer)
        .into_iter()
        .skip(1)
        .find(|b| defines(b, &entry_point));
    Ok(SynthTest {
        code,
        entry_point,
        reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Here are the tests:\n```python\n# entry_point: add\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n```\nDone.";

    #[test]
    fn answers_are_checked_rule_by_rule() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            (GOOD, Ok("add")),
            (
                "# entry_point: add\ndef check(candidate):\n    assert candidate(0, 0) == 0\n",
                Ok("add"),
            ),
            ("I cannot write tests for this.", Err("no code block")),
            (
                "```python\ndef check(candidate):\n    assert candidate(1) == 1\n```",
                Err("no `# entry_point"),
            ),
            (
                "```python\n# entry_point: add two\ndef check(candidate):\n    assert candidate(1) == 1\n```",
                Err("not a function name"),
            ),
            (
                "```python\n# entry_point: add\ndef test_add():\n    assert add(1, 2) == 3\n```",
                Err("does not define `check(candidate)`"),
            ),
            (
                "```python\n# entry_point: add\ndef add(a, b):\n    return a + b\ndef check(candidate):\n    assert candidate(1, 2) == 3\n```",
                Err("defines `add` itself"),
            ),
            (
                "```python\n# entry_point: add\ndef check(candidate):\n    pass\n```",
                Err("no assert"),
            ),
            (
                "```python\n# entry_point: add\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert True\n```",
                Err("trivially true: `assert True`"),
            ),
            (
                "```python\n# entry_point: add\ndef check(candidate):\n    assert callable(candidate)\n```",
                Err("trivially true"),
            ),
        ];
        for (i, (answer, want)) in cases.iter().enumerate() {
            match (check(answer), want) {
                (Ok(t), Ok(ep)) => {
                    assert_eq!(t.entry_point, *ep, "case {i}");
                    assert!(
                        t.code.contains("def check(candidate):") && !t.code.contains("```"),
                        "case {i}"
                    );
                }
                (Err(e), Err(part)) => assert!(e.contains(part), "case {i}: {e}"),
                (got, _) => panic!("case {i}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn the_reference_is_a_later_block_defining_the_entry_point() {
        let with_ref = format!(
            "{GOOD}\n\nReference:\n```python\nimport math\n\ndef add(a, b):\n    return a + b\n```\n"
        );
        let t = check(&with_ref).unwrap();
        assert_eq!(
            t.reference.as_deref(),
            Some("import math\n\ndef add(a, b):\n    return a + b\n")
        );
        assert!(!t.code.contains("return a + b"), "the tests stay apart");
        assert_eq!(check(GOOD).unwrap().reference, None);
        let other = format!("{GOOD}\n```python\ndef sub(a, b):\n    return a - b\n```\n");
        assert_eq!(
            check(&other).unwrap().reference,
            None,
            "not the entry point"
        );
    }

    #[test]
    fn the_request_carries_the_task_and_the_language() {
        let r = request("Write add(a, b).", "python");
        assert!(
            r.contains("```python") && r.contains("Task:\nWrite add(a, b).") && !r.contains('{')
        );
        assert!(r.contains("reference solution") && r.contains("two ```python code blocks"));
    }
}
