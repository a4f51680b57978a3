//! The languages' toolchains ([`Language`] itself is `rrtf-types`'). A missing toolchain is an
//! error that names what to install, never a skip.

use std::path::{Path, PathBuf};

pub use rrtf_types::Language;

use crate::error::ExecError;

/// One program a language needs, and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub install: &'static str,
}

/// What a [`Language`] needs installed, and where it is.
pub trait LanguageTools {
    /// The programs this language needs.
    fn tools(self) -> &'static [Tool];
    /// Absolute paths of every tool, or the error naming the first missing one.
    fn toolchain(self) -> Result<Vec<PathBuf>, ExecError>;
}

impl LanguageTools for Language {
    fn tools(self) -> &'static [Tool] {
        match self {
            Language::Python => &[Tool {
                name: "python3",
                install: "apt-get install -y python3",
            }],
            Language::JavaScript => &[Tool {
                name: "node",
                install: "apt-get install -y nodejs",
            }],
            Language::Cpp => &[Tool {
                name: "g++",
                install: "apt-get install -y g++",
            }],
            Language::Java => &[
                Tool {
                    name: "javac",
                    install: "apt-get install -y openjdk-17-jdk-headless",
                },
                Tool {
                    name: "java",
                    install: "apt-get install -y openjdk-17-jdk-headless",
                },
            ],
            Language::Go => &[Tool {
                name: "go",
                install: "apt-get install -y golang-go golang-github-stretchr-testify-dev",
            }],
            Language::Rust => &[Tool {
                name: "rustc",
                install: "apt-get install -y rustc",
            }],
        }
    }

    fn toolchain(self) -> Result<Vec<PathBuf>, ExecError> {
        self.tools()
            .iter()
            .map(|t| {
                find_system_tool(t.name).ok_or(ExecError::MissingToolchain {
                    language: self.name(),
                    tool: t.name,
                    install: t.install,
                })
            })
            .collect()
    }
}

/// Tools are looked up in system directories only: the sandbox grants `/usr`, `/bin` and
/// `/etc`, not home directories (a rustup or pyenv install under `/root` is unreadable to the
/// sample uid). Symlinks are fine as long as their targets are system paths too.
pub fn find_system_tool(name: &str) -> Option<PathBuf> {
    ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| is_system_path(p))
}

/// Whether `path` exists and resolves into the directories the sandbox lets samples read.
pub fn is_system_path(path: &Path) -> bool {
    path.canonicalize().is_ok_and(|real| {
        ["/usr/", "/bin/", "/lib/", "/etc/"]
            .iter()
            .any(|pre| real.starts_with(pre))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rrtf_types::UserError;

    #[test]
    fn unknown_languages_are_bad_input() {
        let err = ExecError::from(Language::parse("cobol").unwrap_err());
        assert!(err.to_string().contains("cobol"));
        assert!(err.is_user_error());
    }

    #[test]
    fn only_system_paths_are_usable_in_the_sandbox() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let file = dir.path().join("python3");
        std::fs::write(&file, "").unwrap();
        assert!(!is_system_path(&file));
        assert!(!is_system_path(Path::new("/usr/bin/does-not-exist")));
        assert!(is_system_path(Path::new("/bin/sh")));
    }

    #[test]
    fn every_language_names_an_install_command() {
        for l in Language::ALL {
            assert_eq!(Language::parse(l.name()).unwrap(), l);
            for t in l.tools() {
                assert!(t.install.starts_with("apt-get install -y "), "{}", t.name);
            }
        }
    }
}
