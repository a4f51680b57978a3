//! Code out of model responses.
//!
//! - Fenced blocks (```` ``` ```` or `~~~`, with or without a language tag): the blocks tagged
//!   with the job's language, or untagged, are kept; blocks tagged with another language are
//!   dropped. For Python, blocks that define nothing (no `def`, `class` or `import`; e.g. a
//!   usage example) are dropped when another block does define something. The kept blocks are
//!   joined in order.
//! - No fence: the response is taken whole if it looks like code in the language (a line that
//!   starts like a definition), else it is prose and there is no code (`None`).
//! - Completion mode (the response continues a prompt) does not come here: see
//!   [`Job::from_completion`](crate::Job::from_completion).
//! - [`with_prompt_imports`]: a Python response often re-states the function without the
//!   prompt's `from typing import List`; the prompt's top-level imports are put in front.

use crate::lang::Language;

struct Block<'a> {
    tag: String,
    body: &'a str,
}

fn fenced_blocks(text: &str) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some((start, fence)) = find_fence(rest) {
        let after = &rest[start + fence.len()..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let tag = after[..line_end].trim().to_ascii_lowercase();
        let tag = tag
            .split(|c: char| c.is_whitespace() || c == '{')
            .next()
            .unwrap_or("")
            .to_string();
        let body_start = start + fence.len() + (line_end + 1).min(after.len());
        let body_text = &rest[body_start..];
        let (body, consumed) = match find_closing(body_text, fence) {
            Some((end, close_len)) => (&body_text[..end], end + close_len),
            None => (body_text, body_text.len()), // unterminated: take the rest
        };
        blocks.push(Block {
            tag,
            body: &text[offset + body_start..offset + body_start + body.len()],
        });
        let advance = body_start + consumed;
        offset += advance;
        rest = &rest[advance..];
    }
    blocks
}

/// The first fence that opens a line: its byte offset and the fence string itself.
fn find_fence(text: &str) -> Option<(usize, &'static str)> {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        for fence in ["```", "~~~"] {
            if trimmed.starts_with(fence) {
                return Some((pos + indent, fence));
            }
        }
        pos += line.len();
    }
    None
}

fn find_closing(text: &str, fence: &str) -> Option<(usize, usize)> {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == fence || line.trim_start().starts_with(fence) && line.trim() == fence {
            return Some((pos, line.len()));
        }
        pos += line.len();
    }
    None
}

fn looks_like_code(text: &str, language: Language) -> bool {
    let starts: &[&str] = match language {
        Language::Python => &["def ", "class ", "import ", "from ", "async def ", "@"],
        Language::JavaScript => &[
            "function ",
            "function*",
            "async ",
            "const ",
            "let ",
            "var ",
            "class ",
            "module.",
            "exports.",
            "export ",
            "'use strict'",
            "\"use strict\"",
        ],
        Language::Cpp => &[
            "#include",
            "#define",
            "#pragma",
            "using ",
            "int ",
            "bool ",
            "vector<",
            "std::",
            "string ",
            "long ",
            "double ",
            "float ",
            "void ",
            "char ",
            "unsigned ",
            "auto ",
            "template",
            "struct ",
            "class ",
            "namespace ",
            "const ",
            "static ",
            "inline ",
            "typedef ",
            "size_t ",
            "extern ",
            "constexpr ",
        ],
        Language::Java => &[
            "import ",
            "class ",
            "public ",
            "static ",
            "final ",
            "abstract ",
            "interface ",
            "enum ",
            "record ",
            "private ",
            "protected ",
            "@",
        ],
        Language::Go => &["package ", "func ", "import ", "type ", "var ", "const "],
        Language::Rust => &[
            "fn ", "use ", "pub ", "pub(", "struct ", "impl ", "impl<", "const ", "static ",
            "enum ", "trait ", "mod ", "type ", "#[", "#![",
        ],
    };
    text.lines().any(|l| {
        let l = l.trim_start();
        starts.iter().any(|s| l.starts_with(s))
            // A JavaScript assignment of a function (`add = (a, b) => a + b`).
            || language == Language::JavaScript && l.contains("=>")
    })
}

fn defines_something(body: &str) -> bool {
    body.lines().any(|l| {
        let l = l.trim_start();
        ["def ", "class ", "import ", "from ", "async def "]
            .iter()
            .any(|s| l.starts_with(s))
    })
}

/// The code in `response` for `language`, or `None` when there is none.
pub fn extract_code(response: &str, language: Language) -> Option<String> {
    let blocks = fenced_blocks(response);
    if blocks.is_empty() {
        return looks_like_code(response, language)
            .then(|| response.trim_matches('\n').to_string() + "\n");
    }
    let tags = language.fence_tags();
    let mut kept: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.tag.is_empty() || tags.contains(&b.tag.as_str()))
        .collect();
    if language == Language::Python && kept.iter().any(|b| defines_something(b.body)) {
        kept.retain(|b| defines_something(b.body));
    }
    kept.retain(|b| !b.body.trim().is_empty());
    if kept.is_empty() {
        return None;
    }
    let mut code = kept
        .iter()
        .map(|b| b.body.trim_end())
        .collect::<Vec<_>>()
        .join("\n\n");
    code.push('\n');
    Some(code)
}

/// Python: `code` preceded by the top-level `import`/`from` lines of `prompt` it lacks.
/// Other languages: `code` unchanged.
pub fn with_prompt_imports(code: &str, prompt: &str, language: Language) -> String {
    if language != Language::Python {
        return code.to_string();
    }
    let have: Vec<&str> = code.lines().map(str::trim_end).collect();
    let missing: Vec<&str> = prompt
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with("import ") || l.starts_with("from "))
        .filter(|l| !have.contains(l))
        .collect();
    if missing.is_empty() {
        code.to_string()
    } else {
        format!("{}\n{code}", missing.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(response: &str, language: Language, expected: Option<&str>) {
        assert_eq!(
            extract_code(response, language).as_deref(),
            expected,
            "{response:?}"
        );
    }

    #[test]
    fn extraction_cases() {
        let py = Language::Python;
        // tagged block amid prose
        check(
            "Here:\n```python\ndef f():\n    return 1\n```\nDone.",
            py,
            Some("def f():\n    return 1\n"),
        );
        // untagged block
        check(
            "```\nimport math\nx = 1\n```",
            py,
            Some("import math\nx = 1\n"),
        );
        // several blocks: definitions kept, usage example dropped
        check(
            "```python\ndef f():\n    return 1\n```\nUse:\n```python\nprint(f())\n```\n```py\ndef g():\n    return f()\n```",
            py,
            Some("def f():\n    return 1\n\ndef g():\n    return f()\n"),
        );
        // a block of another language is ignored
        check(
            "```bash\npip install x\n```\n```python\ndef f(): pass\n```",
            py,
            Some("def f(): pass\n"),
        );
        // prose only
        check("I cannot help with that, sorry.", py, None);
        // bare code without fences
        check(
            "def f(x):\n    return x\n",
            py,
            Some("def f(x):\n    return x\n"),
        );
        // unterminated fence: the rest is the block
        check(
            "```python\ndef f():\n    return 2\n",
            py,
            Some("def f():\n    return 2\n"),
        );
        // tilde fences, indented fence
        check("~~~python\ndef h(): pass\n~~~", py, Some("def h(): pass\n"));
        check(
            "  ```python\n  def k(): pass\n  ```",
            py,
            Some("  def k(): pass\n"),
        );
        // only a shell block: no code
        check("```bash\nls\n```", py, None);
        // another language
        check(
            "```cpp\nint f() { return 1; }\n```",
            Language::Cpp,
            Some("int f() { return 1; }\n"),
        );
        check(
            "```js\nconst f = () => 1;\n```",
            Language::JavaScript,
            Some("const f = () => 1;\n"),
        );
        // an empty block is no code
        check("```python\n```", py, None);
    }

    #[test]
    fn prompt_imports_are_added_once() {
        let prompt = "from typing import List\nimport math\n\n\ndef f(x: List[int]) -> int:\n    \"\"\"doc\"\"\"\n";
        let code = "import math\ndef f(x: List[int]) -> int:\n    return 1\n";
        assert_eq!(
            with_prompt_imports(code, prompt, Language::Python),
            format!("from typing import List\n{code}")
        );
        assert_eq!(
            with_prompt_imports(code, "def g(): pass", Language::Python),
            code
        );
        assert_eq!(
            with_prompt_imports("int f();", "#include <vector>", Language::Cpp),
            "int f();"
        );
    }

    #[test]
    fn unfenced_code_opens_with_any_declaration_of_its_language() {
        for (text, language) in [
            ("double f(double x) {\n    return x;\n}\n", Language::Cpp),
            ("#define N 10\nint f() { return N; }\n", Language::Cpp),
            ("extern \"C\" int f() { return 1; }\n", Language::Cpp),
            ("constexpr int f() { return 1; }\n", Language::Cpp),
            ("void g();\n", Language::Cpp),
            ("add = (a, b) => a + b;\n", Language::JavaScript),
            ("async function f() { return 1; }\n", Language::JavaScript),
            ("final class Solution {\n}\n", Language::Java),
            ("type T int\n", Language::Go),
            ("pub(crate) fn f() {}\n", Language::Rust),
        ] {
            assert_eq!(
                extract_code(text, language).as_deref(),
                Some(text),
                "{language:?}: {text}"
            );
        }
        assert_eq!(extract_code("The answer is 42.", Language::Cpp), None);
    }
}
