//! The code a stored response is judged on: the one rule `rrtf sample` and
//! `rrtf import responses` share, so an answer is run the same way however it arrived.
//!
//! - An answer to an *instruction* prompt stores no code: the exec stage extracts it
//!   ([`crate::Job::from_response`]).
//! - A *completion* answer to a completion prompt (HumanEval: it continues the prompt) stores
//!   no code either: the exec stage runs `prompt + answer` ([`crate::Job::from_completion`]).
//! - A *chat* answer to a completion prompt is a whole function in prose and fences, not a
//!   continuation: its code is extracted now ([`crate::extract::extract_code`], the prompt's
//!   imports put in front) and stored; the exec stage runs stored code as it is. An answer with
//!   no code stores `""` (a compile error, never the prompt glued to prose).
//!
//! - Before it runs in a round, a completion in a brace language (C++, Java, JavaScript, Go,
//!   Rust) is cut where its function closes ([`complete_function`], the stop and clean-up of
//!   HumanEval-X's generation that `rrtf eval` applies too); the code judged is what is stored.
//!
//! Which of the two an answer is: the endpoint kind says it for sampled answers; an imported
//! answer says it with `--kind`, or `auto` decides ([`is_chat_answer`]).

use crate::extract::{extract_code, with_prompt_imports};
use crate::lang::Language;

/// How an answer relates to a completion prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// A chat answer: prose and fenced code, or a whole function.
    Chat,
    /// A continuation of the prompt.
    Completion,
    /// Decide per answer ([`is_chat_answer`]).
    Auto,
}

impl std::str::FromStr for AnswerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "chat" => Ok(AnswerKind::Chat),
            "completion" => Ok(AnswerKind::Completion),
            "auto" => Ok(AnswerKind::Auto),
            _ => Err(format!(
                "`{s}` is not an answer kind: expected chat, completion or auto"
            )),
        }
    }
}

/// Whether an answer to the completion prompt `prompt` is a chat answer rather than a
/// continuation: it holds a fenced block, or (Python) it starts a line with `def NAME(` for a
/// function the prompt itself defines at the top level: a whole function, restated.
pub fn is_chat_answer(prompt: &str, answer: &str, language: Language) -> bool {
    let fenced = answer.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("```") || t.starts_with("~~~")
    });
    if fenced {
        return true;
    }
    if language != Language::Python {
        return false;
    }
    let defined = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| {
                l.strip_prefix("def ")
                    .or_else(|| l.strip_prefix("async def "))
            })
            .filter_map(|rest| rest.split('(').next())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect()
    };
    let prompt_defs = defined(prompt);
    defined(answer)
        .iter()
        .any(|name| prompt_defs.contains(name))
}

/// The code to store with `answer` to a prompt (`completion`: the answer is expected to
/// continue `prompt`), or `None` to leave it to the exec stage (see the module docs).
pub fn stored_code(
    prompt: &str,
    completion: bool,
    language: Language,
    answer: &str,
    kind: AnswerKind,
) -> Option<String> {
    if !completion {
        return None;
    }
    let chat = match kind {
        AnswerKind::Chat => true,
        AnswerKind::Completion => false,
        AnswerKind::Auto => is_chat_answer(prompt, answer, language),
    };
    chat.then(|| {
        extract_code(answer, language)
            .map(|c| with_prompt_imports(&c, prompt, language))
            .unwrap_or_default()
    })
}

/// CodeGeeX's end of a brace language's completion: one more `}` than `{` (the function, or
/// Java's method, is closed).
pub fn braces_closed(code: &str) -> bool {
    code.matches('{').count() + 1 == code.matches('}').count()
}

/// CodeGeeX's `cleanup_code` for HumanEval-X's brace languages (Python is cut at its stop
/// sequences instead).
pub fn cleanup_completion(code: &str, language: Language) -> String {
    let mut code = code.to_owned();
    let cut_after_last_brace = |code: &mut String| {
        if let Some(i) = code.rfind('}') {
            code.truncate(i + 1);
        }
    };
    match language {
        Language::Python => {}
        Language::Java => {
            if let Some(i) = code.find("public static void main") {
                code.truncate(i);
                code.push('}');
            }
            cut_after_last_brace(&mut code);
            if braces_closed(&code) {
                code.push_str("\n}");
            }
        }
        Language::Go => {
            for w in ["\n//", "\nfunc main("] {
                if let Some(i) = code.rfind(w) {
                    code.truncate(i);
                }
            }
            cut_after_last_brace(&mut code);
        }
        Language::Cpp | Language::JavaScript | Language::Rust => cut_after_last_brace(&mut code),
    }
    code
}

/// A completion of a completion prompt as a round runs it: Python as it is (its stop sequences
/// ended it); a brace language cut where HumanEval-X's generation stops (CodeGeeX: the first
/// point where the completion closes one more `}` than it opens, so a model that went on to
/// write `main` or another function is not judged on it), then [`cleanup_completion`]. `rrtf
/// eval` stops its own generation there and cleans up the same way.
pub fn complete_function(completion: &str, language: Language) -> String {
    if language == Language::Python {
        return completion.to_owned();
    }
    let mut depth = 0i64;
    let mut end = completion.len();
    for (i, c) in completion.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    end = i + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    cleanup_completion(&completion[..end], language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brace_completions_end_as_codegeex_ends_them() {
        use Language::*;
        assert!(!braces_closed("  if (x) {\n    return 1;\n  }\n"));
        assert!(braces_closed("  return 1;\n}"));
        // Cut after the last brace; Java closes the class and drops a main.
        assert_eq!(
            cleanup_completion("  return 1;\n}\nint main", Cpp),
            "  return 1;\n}"
        );
        assert_eq!(
            cleanup_completion("  return x;\n};\n", JavaScript),
            "  return x;\n}"
        );
        assert_eq!(
            cleanup_completion("        return 1;\n    }", Java),
            "        return 1;\n    }\n}"
        );
        assert_eq!(
            cleanup_completion(
                "        return 1;\n    }\n    public static void main(String[] a) {}\n}",
                Java
            ),
            // CodeGeeX keeps what precedes `main` and closes the class there.
            "        return 1;\n    }\n    }"
        );
        assert_eq!(
            cleanup_completion("\treturn 1\n}\n\n// Another\nfunc F() {\n}", Go),
            "\treturn 1\n}"
        );
        assert_eq!(
            cleanup_completion("\treturn 1\n}\nfunc main() {\n}", Go),
            "\treturn 1\n}"
        );
        assert_eq!(
            cleanup_completion("    return 1\n", Python),
            "    return 1\n"
        );
    }

    /// A round's brace-language completion ends where the function closes, as HumanEval-X's
    /// generation does; Python's is kept as it is.
    #[test]
    fn round_completions_end_where_the_function_closes() {
        use Language::*;
        assert_eq!(
            complete_function("  return 1;\n}\nint main() {\n  return 0;\n}\n", Cpp),
            "  return 1;\n}"
        );
        assert_eq!(
            complete_function(
                "  if (x) {\n    return 1;\n  }\n  return 0;\n}\n\nconst g = () => {}\n",
                JavaScript
            ),
            "  if (x) {\n    return 1;\n  }\n  return 0;\n}"
        );
        // Java's method closes, then the class is closed for it.
        assert_eq!(
            complete_function(
                "        return 1;\n    }\n    public static void main(String[] a) {}\n}",
                Java
            ),
            "        return 1;\n    }\n}"
        );
        // Not closed (cut by a length limit): only the cleanup applies.
        assert_eq!(
            complete_function("  if (x) {\n    return 1;\n  }\n  ret", Cpp),
            "  if (x) {\n    return 1;\n  }"
        );
        assert_eq!(
            complete_function("    return 1\n\ndef g():\n", Python),
            "    return 1\n\ndef g():\n"
        );
    }

    const PROMPT: &str = "from typing import List\n\n\ndef below_zero(ops: List[int]) -> bool:\n    \"\"\"True if the balance falls below zero.\"\"\"\n";

    #[test]
    fn chat_answers_are_told_from_continuations() {
        let py = Language::Python;
        let cases: &[(&str, bool)] = &[
            (
                "    balance = 0\n    for op in ops:\n        balance += op\n        if balance < 0:\n            return True\n    return False\n",
                false,
            ),
            // A helper defined inside the body is still a continuation.
            (
                "    def step(b, op):\n        return b + op\n    return False\n",
                false,
            ),
            (
                "Sure! Here it is:\n```python\ndef below_zero(ops):\n    return False\n```\n",
                true,
            ),
            (
                "def below_zero(ops: List[int]) -> bool:\n    return any(x < 0 for x in ops)\n",
                true,
            ),
            // A new top-level function that the prompt does not define: a continuation.
            ("    return False\n\n\ndef helper():\n    pass\n", false),
            ("I cannot do this.", false),
        ];
        for (i, (answer, chat)) in cases.iter().enumerate() {
            assert_eq!(
                is_chat_answer(PROMPT, answer, py),
                *chat,
                "case {i}: {answer:?}"
            );
        }
        assert!(is_chat_answer(
            "int f();",
            "```cpp\nint f() { return 1; }\n```",
            Language::Cpp
        ));
        assert!(!is_chat_answer(
            "int f();",
            "int f() { return 1; }",
            Language::Cpp
        ));
    }

    #[test]
    fn the_stored_code_follows_the_kind() {
        let py = Language::Python;
        let chat =
            "Here:\n```python\ndef below_zero(ops: List[int]) -> bool:\n    return False\n```";
        let code = stored_code(PROMPT, true, py, chat, AnswerKind::Auto).unwrap();
        assert!(code.starts_with("from typing import List\n"), "{code}");
        assert!(
            code.contains("def below_zero(") && !code.contains("```"),
            "{code}"
        );
        assert_eq!(
            stored_code(PROMPT, true, py, chat, AnswerKind::Completion),
            None
        );
        assert_eq!(
            stored_code(PROMPT, true, py, "    return False\n", AnswerKind::Auto),
            None
        );
        // A chat answer without code stores "" (no code), never the prompt glued to prose.
        assert_eq!(
            stored_code(PROMPT, true, py, "No idea, sorry.", AnswerKind::Chat),
            Some(String::new())
        );
        // Instruction prompts: the exec stage extracts.
        assert_eq!(
            stored_code("Write f.", false, py, chat, AnswerKind::Chat),
            None
        );
        assert_eq!("auto".parse::<AnswerKind>(), Ok(AnswerKind::Auto));
        assert!(
            "both"
                .parse::<AnswerKind>()
                .unwrap_err()
                .contains("chat, completion or auto")
        );
    }
}
