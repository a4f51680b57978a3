//! The languages samples are written in. Their toolchains (what to install, where it is) are
//! `rrtf-exec`'s.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    JavaScript,
    Cpp,
    Java,
    Go,
    Rust,
}

/// A language name none of [`Language::parse`]'s names match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLanguage(pub String);

impl std::fmt::Display for UnknownLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown language `{}`; known: python, javascript, cpp, java, go, rust",
            self.0
        )
    }
}

impl std::error::Error for UnknownLanguage {}

impl crate::UserError for UnknownLanguage {
    /// A language name comes from the user's files or arguments.
    fn is_user_error(&self) -> bool {
        true
    }
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Python,
        Language::JavaScript,
        Language::Cpp,
        Language::Java,
        Language::Go,
        Language::Rust,
    ];

    /// Accepts the usual names, HumanEval-X's (`python`, `js`, `cpp`, `java`, `go`, `rust`) and
    /// MultiPL-E's (`py`, `rs`, `go_test.go`).
    pub fn parse(s: &str) -> Result<Language, UnknownLanguage> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "python" | "python3" | "py" => Language::Python,
            "javascript" | "js" | "node" | "nodejs" => Language::JavaScript,
            "cpp" | "c++" | "cxx" => Language::Cpp,
            "java" => Language::Java,
            "go" | "golang" | "go_test.go" => Language::Go,
            "rust" | "rs" => Language::Rust,
            _ => return Err(UnknownLanguage(s.to_string())),
        })
    }

    /// The canonical name (also its JSON form).
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::Cpp => "cpp",
            Language::Java => "java",
            Language::Go => "go",
            Language::Rust => "rust",
        }
    }

    /// The name people write (`C++`, `JavaScript`): what prompts and templates say
    /// (`{language}` in the training templates, the evolution's language line).
    pub fn title(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::Cpp => "C++",
            Language::Java => "Java",
            Language::Go => "Go",
            Language::Rust => "Rust",
        }
    }

    /// CodeGeeX's language tag line (`codegeex/data/utils.py`): what `rrtf eval --language-tag`
    /// puts before a prompt and `{language_tag}` in the training templates stands for.
    pub fn tag_line(self) -> &'static str {
        match self {
            Language::Python => "# language: Python\n",
            Language::Cpp => "// language: C++\n",
            Language::Java => "// language: Java\n",
            Language::JavaScript => "// language: JavaScript\n",
            Language::Go => "// language: Go\n",
            Language::Rust => "// language: Rust\n",
        }
    }

    /// Fence tags that mark a code block as this language.
    pub fn fence_tags(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["python", "python3", "py"],
            Language::JavaScript => &["javascript", "js", "node", "jsx"],
            Language::Cpp => &["cpp", "c++", "cxx", "cc", "c"],
            Language::Java => &["java"],
            Language::Go => &["go", "golang"],
            Language::Rust => &["rust", "rs"],
        }
    }
}

/// Any name [`Language::parse`] knows; an unknown one is an error naming it and the known ones.
impl<'de> serde::Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Language::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases() {
        for (s, l) in [
            ("python", Language::Python),
            ("Py", Language::Python),
            ("js", Language::JavaScript),
            ("C++", Language::Cpp),
            ("golang", Language::Go),
            ("rs", Language::Rust),
            ("java", Language::Java),
        ] {
            assert_eq!(Language::parse(s).unwrap(), l, "{s}");
        }
        assert_eq!(
            serde_json::from_str::<Language>("\"C++\"").unwrap(),
            Language::Cpp
        );
        let err = serde_json::from_str::<Language>("\"cobol\"").unwrap_err();
        assert!(err.to_string().contains("`cobol`"), "{err}");
        let err = Language::parse("cobol").unwrap_err();
        assert!(err.to_string().contains("`cobol`"), "{err}");
        for l in Language::ALL {
            assert_eq!(Language::parse(l.name()).unwrap(), l);
            assert_eq!(
                serde_json::to_value(l).unwrap(),
                serde_json::json!(l.name())
            );
        }
    }
}
