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
//! A prompt in another language gets its language's template and HumanEval-X's test shape
//! ([`request`], [`check_in`]).
//!
//! Dynamic checks, the sandboxed runs that decide whether a stored test may be executed, are
//! [`crate::validation`]'s.

use rrtf_types::Language;

pub const TEMPLATE: &str = include_str!("../../../prompts/synth_tests.txt");

/// The templates of the other languages: HumanEval-X's test shape of each (`//
/// entry_point: NAME` first), and a reference solution in a second block.
pub const TEMPLATES: [(Language, &str); 5] = [
    (
        Language::Cpp,
        include_str!("../../../prompts/synth_tests_cpp.txt"),
    ),
    (
        Language::JavaScript,
        include_str!("../../../prompts/synth_tests_javascript.txt"),
    ),
    (
        Language::Java,
        include_str!("../../../prompts/synth_tests_java.txt"),
    ),
    (
        Language::Go,
        include_str!("../../../prompts/synth_tests_go.txt"),
    ),
    (
        Language::Rust,
        include_str!("../../../prompts/synth_tests_rust.txt"),
    ),
];

/// The request text for a task in `language` (a stored name): Python's template
/// (`prompts/synth_tests.txt`), or the language's own (`prompts/synth_tests_<language>.txt`).
pub fn request(task: &str, language: &str) -> String {
    match Language::parse(language) {
        Ok(l) if l != Language::Python => TEMPLATES
            .iter()
            .find(|(t, _)| *t == l)
            .map(|(_, template)| template.replace("{prompt}", task))
            .expect("a template per language"),
        _ => TEMPLATE
            .replace("{language}", language)
            .replace("{prompt}", task),
    }
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

/// The function a test program names on its `{comment} entry_point: NAME` line.
fn named_entry_point(code: &str, comment: &str) -> Result<String, String> {
    let marker = format!("{comment} entry_point:");
    let entry_point = code
        .lines()
        .find_map(|l| l.trim().strip_prefix(marker.as_str()))
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| format!("no `{marker} NAME` line"))?;
    if !is_identifier(&entry_point) {
        return Err(format!(
            "entry point `{entry_point}` is not a function name"
        ));
    }
    Ok(entry_point)
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
    let entry_point = named_entry_point(&code, "#")?;
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

/// Check a teacher's answer for a prompt in `language`: Python's rules ([`check`]), or the
/// same rules on HumanEval-X's shapes for the others: a code block whose first line names the
/// entry point (`// entry_point: NAME`), which does not define it, with at least one check site
/// (the executor's own parse, [`rrtf_exec::compiled::instrument`]: C++ `assert`, JavaScript
/// `console.assert`, Java's `Arrays.asList` of comparisons, Go testify, Rust `assert!` and
/// `assert_eq!`) and none that leaves the function alone (trivially true). The dynamic rule a
/// Python test also passes, failing a stub that returns `None`, has no counterpart here (a
/// stub needs the signature); the static rule stands in for it.
pub fn check_in(language: Language, answer: &str) -> Result<SynthTest, String> {
    use rrtf_exec::compiled::instrument;
    let (checks, syntax): (fn(&str) -> instrument::Instrumented, _) = match language {
        Language::Python => return check(answer),
        Language::Cpp => (instrument::cpp_checks, instrument::Syntax::C),
        Language::JavaScript => (instrument::js_checks, instrument::Syntax::Js),
        Language::Java => (instrument::java_checks, instrument::Syntax::Java),
        Language::Go => (instrument::go_checks, instrument::Syntax::Go),
        Language::Rust => (instrument::rust_checks, instrument::Syntax::Rust),
    };
    let blocks = code_blocks(answer);
    let code = match blocks.first() {
        Some(first) => first.clone(),
        None if answer.trim_start().starts_with("// entry_point:") => {
            answer.trim().to_owned() + "\n"
        }
        None => return Err("no code block in the answer".into()),
    };
    let entry_point = named_entry_point(&code, "//")?;
    if let Some(what) = defines_in(language, &code, &entry_point) {
        return Err(format!(
            "defines {what} itself: the tests must not hold the solution"
        ));
    }
    let mut sites = checks(&code).sites;
    if sites.is_empty() {
        return Err(format!(
            "no assert: no check site of {language}'s test shape"
        ));
    }
    // Java calls the method on a `Solution`: the class is the candidate's name there.
    let mut seeds = vec![entry_point.clone()];
    if language == Language::Java {
        seeds.push("Solution".into());
    }
    instrument::mark_uses(&mut sites, &code, syntax, &seeds);
    if let Some(s) = sites.iter().find(|s| !s.uses_candidate) {
        return Err(format!(
            "trivially true: the check `{}` (test line {}) does not call {entry_point}",
            s.text, s.line
        ));
    }
    let reference = blocks
        .into_iter()
        .skip(1)
        .find(|b| defines_in(language, b, &entry_point).is_some());
    Ok(SynthTest {
        code,
        entry_point,
        reference,
    })
}

/// What in `code` defines the function `name` (in a brace language), if anything: `func name(`
/// (Go), `fn name(` (Rust), `function name(` or `const|let|var name =` (JavaScript), a head
/// `TYPE name(...) {` (C++, Java), or Java's `class Solution`.
fn defines_in(language: Language, code: &str, name: &str) -> Option<String> {
    let words = |l: &str| -> Vec<String> {
        l.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for line in code.lines().map(str::trim) {
        if line.starts_with("//") {
            continue;
        }
        let w = words(line);
        let at = |i: usize| w.get(i).map(String::as_str);
        let found = match language {
            Language::Go => at(0) == Some("func") && at(1) == Some(name),
            Language::Rust => w.windows(2).any(|p| p[0] == "fn" && p[1] == name),
            Language::JavaScript => {
                (at(0) == Some("function") || at(0) == Some("async") && at(1) == Some("function"))
                    && w.iter().any(|x| x == name)
                    && line.contains(&format!("{name}("))
                    || matches!(at(0), Some("const" | "let" | "var")) && at(1) == Some(name)
            }
            Language::Cpp | Language::Java => {
                if language == Language::Java
                    && w.windows(2).any(|p| p[0] == "class" && p[1] == "Solution")
                {
                    return Some("class Solution".into());
                }
                // `TYPE name(...)` then `{`: a word (not a keyword) right before the name.
                let call = format!("{name}(");
                let mut heads = line.match_indices(&call).map(|(i, _)| i).filter(|&i| {
                    let before = line[..i].trim_end();
                    let joined = line[..i]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_');
                    let prev = before
                        .rsplit(|c: char| c.is_whitespace())
                        .next()
                        .unwrap_or("");
                    !joined
                        && !before.is_empty()
                        && prev.chars().last().is_some_and(|c| {
                            c.is_alphanumeric() || matches!(c, '>' | '*' | '&' | '_')
                        })
                        && !matches!(prev, "return" | "assert" | "new" | "else")
                        && !before.ends_with('.')
                });
                heads.next().is_some() && !line.ends_with(';') && !line.contains("==")
            }
            Language::Python => false,
        };
        if found {
            return Some(format!("`{name}`"));
        }
    }
    None
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

    /// Issue 20 item 3: the slice's HumanEval-X tests, answered in each language's shape with
    /// the canonical solution as the reference, pass the static rules; cheats do not.
    #[test]
    fn other_languages_are_checked_on_humaneval_x_shapes() {
        let slice =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/humaneval-x");
        for (file, language, entry, fence) in [
            ("cpp", Language::Cpp, "sum_of_evens", "cpp"),
            ("js", Language::JavaScript, "sumOfEvens", "javascript"),
            ("java", Language::Java, "sumOfEvens", "java"),
            ("go", Language::Go, "SumOfEvens", "go"),
        ] {
            let text =
                std::fs::read_to_string(slice.join(format!("humaneval_{file}.jsonl"))).unwrap();
            let row: serde_json::Value =
                serde_json::from_str(text.lines().next().unwrap()).unwrap();
            let s = |k: &str| row[k].as_str().unwrap().to_owned();
            let tests = format!("// entry_point: {entry}\n{}", s("test"));
            let reference = format!("{}{}", s("prompt"), s("canonical_solution"));
            let answer =
                format!("Tests:\n```{fence}\n{tests}```\nReference:\n```{fence}\n{reference}```\n");
            let t = check_in(language, &answer).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(t.entry_point, entry, "{file}");
            assert_eq!(t.code, tests, "{file}");
            assert_eq!(t.reference.as_deref(), Some(reference.as_str()), "{file}");
            // The tests alone: no reference.
            let alone = check_in(language, &format!("```{fence}\n{tests}```\n")).unwrap();
            assert_eq!(alone.reference, None, "{file}");
            // The tests holding the solution.
            let holding = format!(
                "```{fence}\n// entry_point: {entry}\n{reference}\n{}```\n",
                s("test")
            );
            let err = check_in(language, &holding).unwrap_err();
            assert!(err.contains("itself"), "{file}: {err}");
            // Without the entry point line.
            let err = check_in(language, &format!("```{fence}\n{}```\n", s("test"))).unwrap_err();
            assert!(err.contains("no `// entry_point"), "{file}: {err}");
        }
        let trivially: [(Language, &str); 4] = [
            (
                Language::Cpp,
                "// entry_point: add\n#include<assert.h>\nint main(){\n    assert (add(1, 2) == 3);\n    assert (true);\n}\n",
            ),
            (
                Language::JavaScript,
                "// entry_point: add\nconst t = () => {\n  console.assert(add(1, 2) === 3)\n  console.assert(1 === 1)\n}\nt()\n",
            ),
            (
                Language::Go,
                "// entry_point: Add\nfunc TestAdd(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(3, Add(1, 2))\n    assert.Equal(1, 1)\n}\n",
            ),
            (
                Language::Rust,
                "// entry_point: add\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n        assert_eq!(add(1, 2), 3);\n        assert!(true);\n    }\n}\n",
            ),
        ];
        for (language, test) in trivially {
            let err = check_in(language, &format!("```\n{test}```\n")).unwrap_err();
            assert!(err.starts_with("trivially true"), "{language}: {err}");
            let honest: String = test
                .lines()
                .filter(|l| !l.contains("true") && !l.contains("1 === 1") && !l.contains("(1, 1)"))
                .map(|l| format!("{l}\n"))
                .collect();
            check_in(language, &format!("```\n{honest}```\n"))
                .unwrap_or_else(|e| panic!("{language}: {e}"));
        }
        let rust = "```rust\n// entry_point: add\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { assert_eq!(add(1, 2), 3); }\n}\n```\n```rust\nfn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```\n";
        assert!(check_in(Language::Rust, rust).unwrap().reference.is_some());
        let no_checks =
            "```cpp\n// entry_point: add\nint main(){ return add(1, 2) == 3 ? 0 : 1; }\n```";
        let err = check_in(Language::Cpp, no_checks).unwrap_err();
        assert!(err.starts_with("no assert"), "{err}");
        // The request names the language's shape.
        let r = request("Sum a vector.", "cpp");
        assert!(
            r.contains("```cpp")
                && r.contains("Task:\nSum a vector.")
                && r.contains("#include<assert.h>")
        );
        assert!(request("x", "go").contains("assert.Equal"));
        assert_eq!(
            request("x", "python"),
            TEMPLATE
                .replace("{language}", "python")
                .replace("{prompt}", "x")
        );
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
