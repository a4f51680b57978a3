//! The round configuration: one TOML file describes a round (teachers and student, evolution,
//! test synthesis, sampling, execution limits, ranking weights, training).
//!
//! The file is parsed once into typed structs with defaults ([`RoundConfig::from_toml`]); unknown
//! keys and wrong types are errors that name the key and the line (serde + toml), then
//! [`RoundConfig::validate`] checks the values once and names the bad key path and the fix.
//! Secrets never appear in the file: endpoints name the environment variable that holds their
//! key (`api_key_env`). The canonical JSON of a validated config and its SHA-256 are the snapshot
//! and hash recorded with every run. This crate reads no environment and opens no connections.

pub mod experiment;
mod flags;
mod sections;
pub mod sweep;
mod validate;

use std::path::{Path, PathBuf};

pub use experiment::{ExperimentConfig, Profile, SampledEval};
pub use flags::TrainingFlags;
pub use sections::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use sweep::{Metric, SweepConfig, Variant};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: `{key}` {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A command-line flag's value that is not one the config key takes ([`TrainingFlags`]).
    #[error("--{flag} {value}: {message}")]
    Flag {
        flag: String,
        value: String,
        message: String,
    },
    /// A config made invalid by the flags over it ([`TrainingFlags`]).
    #[error("`{key}` {message} (from --config or a flag)")]
    Flags { key: String, message: String },
}

/// Every config error is the user's: a file they named, a value they wrote.
impl rrtf_types::UserError for ConfigError {
    fn is_user_error(&self) -> bool {
        true
    }
}

/// A whole round. Every section but `round` may be left out and takes its defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoundConfig {
    pub round: RoundSection,
    pub teachers: Vec<Endpoint>,
    pub student: Option<Endpoint>,
    pub evolution: Evolution,
    pub decontamination: Decontamination,
    pub test_synthesis: TestSynthesis,
    pub sampling: Sampling,
    pub execution: Execution,
    pub ranking: Ranking,
    pub training: Training,
    pub evaluation: Evaluation,
}

impl RoundConfig {
    /// Parse and validate a config file.
    pub fn load(path: &Path) -> Result<RoundConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// The config as TOML (every key written out, defaults included).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// Parse and validate TOML text; `path` only names the file in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<RoundConfig, ConfigError> {
        let config: RoundConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: with_hint(e.to_string()),
        })?;
        config
            .validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                path: path.to_owned(),
                key,
                message,
            })?;
        Ok(config)
    }

    /// The canonical JSON snapshot recorded with runs.
    pub fn snapshot_json(&self) -> String {
        serde_json::to_string(self).expect("configs serialise")
    }

    /// SHA-256 of the snapshot: equal configs hash equal, whatever their TOML layout.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.snapshot_json().as_bytes()))
    }

    /// The warning every data stage prints when the round's benchmark is not screened
    /// (`[decontamination] screen_round_benchmark = false`), with the config's reason.
    pub fn decontamination_warning(&self) -> Option<String> {
        let d = &self.decontamination;
        if !d.enabled || d.screen_round_benchmark {
            return None;
        }
        let bench = self
            .round
            .benchmark
            .as_ref()
            .map_or("(none set)".to_owned(), |b| b.display().to_string());
        Some(format!(
            "decontamination against [round] benchmark {bench} is off \
             (screen_round_benchmark = false), because: {}",
            d.reason.as_deref().unwrap_or("").trim()
        ))
    }

    /// The files and directories the config reads, each with the key that names it, as
    /// written (a relative path is read from the directory `rrtf` runs in).
    pub fn input_paths(&self) -> Vec<(String, &Path)> {
        let mut paths: Vec<(String, &Path)> = Vec::new();
        if let Some(b) = &self.round.benchmark {
            paths.push(("[round] benchmark".to_owned(), b));
        }
        let endpoints = self.teachers.iter().map(|t| ("teachers", t));
        for (section, e) in endpoints.chain(self.student.iter().map(|s| ("student", s))) {
            let which = if section == "teachers" {
                format!("[[teachers]] {}", e.name)
            } else {
                "[student]".to_owned()
            };
            if let Some(r) = &e.replay {
                paths.push((format!("{which} replay"), r));
            }
            if let Some(m) = &e.local_model {
                paths.push((format!("{which} local_model"), m));
            }
        }
        for b in &self.decontamination.benchmarks {
            paths.push(("[decontamination] benchmarks".to_owned(), b));
        }
        if let Some(m) = &self.training.base_model {
            paths.push(("[training] base_model".to_owned(), m));
        }
        paths
    }

    /// The config run from the wrong directory: a relative input path ([`Self::input_paths`])
    /// that is not in `cwd` but is in the config file's directory or one above it (up to, not
    /// including, `cwd`). Returns the key, the path as written, and that directory.
    pub fn misplaced_input(&self, config: &Path, cwd: &Path) -> Option<(String, PathBuf, PathBuf)> {
        let config_dir = std::path::absolute(config).ok()?.parent()?.to_owned();
        let cwd = std::path::absolute(cwd).ok()?;
        for (key, path) in self.input_paths() {
            if path.is_absolute() || cwd.join(path).exists() {
                continue;
            }
            let found = config_dir
                .ancestors()
                .take_while(|d| !cwd.starts_with(d))
                .find(|d| d.join(path).exists());
            if let Some(dir) = found {
                return Some((key, path.to_owned(), dir.to_owned()));
            }
        }
        None
    }

    pub fn teacher(&self, name: &str) -> Option<&Endpoint> {
        self.teachers.iter().find(|t| t.name == name)
    }

    /// The benchmark files decontamination checks against: `[round] benchmark` first (the
    /// round evaluates on it; left out only by the recorded opt-out
    /// `screen_round_benchmark = false`), then `[decontamination] benchmarks`, each once; none
    /// when `[decontamination] enabled = false`.
    pub fn decontamination_set(&self) -> Vec<PathBuf> {
        if !self.decontamination.enabled {
            return Vec::new();
        }
        let mut set: Vec<PathBuf> = Vec::new();
        if self.decontamination.screen_round_benchmark {
            set.extend(self.round.benchmark.iter().cloned());
        }
        for b in &self.decontamination.benchmarks {
            if !set.contains(b) {
                set.push(b.clone());
            }
        }
        set
    }
}

/// Add what to do to toml's own messages where a common mistake is behind them.
fn with_hint(message: String) -> String {
    let trimmed = message.trim_end().to_owned();
    if trimmed.contains("unknown field `api_key`") || trimmed.contains("unknown field `key`") {
        format!(
            "{trimmed}\nhint: keys are never written in the config: put the key in an \
             environment variable and name it, e.g. api_key_env = \"OPENAI_API_KEY\""
        )
    } else if trimmed.contains("unknown field `decontaminate`")
        || trimmed.contains("unknown field `ngram`")
    {
        format!(
            "{trimmed}\nhint: decontamination has its own section now, and covers every prompt, \
             test and response: [decontamination] benchmarks = [...] and ngram = N \
             ([round] benchmark is always included; see configs/round.toml)"
        )
    } else if trimmed.contains("unknown field") {
        format!("{trimmed}\nhint: see configs/round.toml for every key with its meaning")
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests;
