//! Experiment files (`rrtf experiment run`): a task world, a base student made from it, and arms
//! compared over rounds and seeds, sized by named profiles.
//!
//! An experiment file names a round-1 template (`round`, a round config), the arms (`arms`, a
//! sweep file whose `[[runs]]` are the arms, each a variant of that round), the base student's
//! recipe (`[base]`: a round config with `[training]`, the corpus, the tokenizer's files, the
//! model preset) and profiles (`[profiles.<name>]`: seeds, prompts per round, samples, epochs,
//! evaluation problems). Paths are relative to the experiment file; the paths inside the round
//! configs it names are theirs (as `rrtf round` reads them). Loading validates the round
//! template, the base recipe and the arms (as `rrtf sweep` would) once.
//!
//! Not here: running anything (`rrtf_pipeline::experiment`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ConfigError, RoundConfig, SweepConfig};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    name: String,
    round: PathBuf,
    arms: PathBuf,
    rounds: u32,
    seed: u64,
    pool: PathBuf,
    out: PathBuf,
    default_profile: String,
    base: BaseFile,
    profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaseFile {
    recipe: PathBuf,
    corpus: PathBuf,
    tokenizer_files: Vec<PathBuf>,
    vocab_size: u32,
    preset: String,
    dir: PathBuf,
    #[serde(default)]
    holdout_pool_lines: u64,
}

/// How big a run is. Every `Option` left out keeps the round template's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Replicate seeds: the experiment's seed, seed + 1, ...
    pub seeds: u32,
    /// Epochs of the base student's training.
    pub base_epochs: u32,
    /// Pool prompts sampled in each round (round r takes the r-th slice of the pool, unless
    /// `repeat_prompts`).
    pub prompts_per_round: u64,
    /// Every round samples the same prompts, the pool's first `prompts_per_round` (each round's
    /// student answers them anew, the teachers' answers are the same), instead of round r
    /// taking the r-th slice: for a round 1 as wide as the pool's held-out part.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeat_prompts: bool,
    /// Answers per teacher and temperature.
    pub teacher_samples: Option<u32>,
    /// Student samples per prompt.
    pub student_samples: Option<u32>,
    /// Training epochs of each round.
    pub epochs: Option<u32>,
    /// Evaluate on the first N benchmark problems only.
    pub eval_problems: Option<u64>,
    /// Sampled evaluation beside the greedy one: this many completions per benchmark problem
    /// for the base and every trained model, at `sampled_temperature`, reported as pass@k for
    /// each k of `sampled_k`. Left out: greedy pass@1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_samples: Option<u32>,
    /// The sampled evaluation's temperature (default 0.8, must be above 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_temperature: Option<f64>,
    /// The k of the sampled evaluation's pass@k (default: 1 and `sampled_samples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_k: Option<Vec<u32>>,
}

/// The sampled evaluation a profile asks for: completions per problem, temperature, the k.
#[derive(Clone, Debug, PartialEq)]
pub struct SampledEval {
    pub samples: u32,
    pub temperature: f64,
    pub k: Vec<u32>,
}

impl Profile {
    /// The profile's sampled evaluation, if it asks for one (validated by
    /// [`ExperimentConfig::load`]).
    pub fn sampled_eval(&self) -> Option<SampledEval> {
        let n = self.sampled_samples?;
        let mut k = self.sampled_k.clone().unwrap_or_else(|| vec![1, n]);
        k.sort_unstable();
        k.dedup();
        Some(SampledEval {
            samples: n,
            temperature: self.sampled_temperature.unwrap_or(0.8),
            k,
        })
    }
}

/// The base student's recipe, paths resolved.
#[derive(Clone, Debug)]
pub struct BaseRecipe {
    pub recipe_path: PathBuf,
    /// The recipe as loaded (its `[training]` trains the base).
    pub recipe: RoundConfig,
    pub corpus: PathBuf,
    pub tokenizer_files: Vec<PathBuf>,
    pub vocab_size: u32,
    /// An `rrtf model init --preset` name.
    pub preset: String,
    /// Bases live in `<dir>/seed<N>-e<epochs>/` (`-h<holdout>` appended when it is not 0),
    /// shared by every profile with those values.
    pub dir: PathBuf,
    /// The corpus lines of the pool's first N problems (matched by `task_id`) are left out of
    /// the base's training: the rounds sample those prompts, which are then new to the student,
    /// as PanGu-Coder2's evolved prompts are new to its base. 0 keeps the whole corpus.
    pub holdout_pool_lines: u64,
}

/// One arm: its name (a sweep variant id) and the sweep run's table as written.
#[derive(Clone, Debug)]
pub struct Arm {
    pub name: String,
    pub run: toml::Table,
}

/// A loaded and validated experiment.
#[derive(Clone, Debug)]
pub struct ExperimentConfig {
    pub path: PathBuf,
    pub name: String,
    pub round_path: PathBuf,
    /// The round-1 template.
    pub round: RoundConfig,
    pub arms_path: PathBuf,
    /// In the arms file's order; the first is the method the report's examples follow.
    pub arms: Vec<Arm>,
    /// The sweep metric of the arms file.
    pub metric: String,
    pub rounds: u32,
    pub seed: u64,
    pub pool: PathBuf,
    pub out: PathBuf,
    pub default_profile: String,
    pub base: BaseRecipe,
    pub profiles: BTreeMap<String, Profile>,
    /// SHA-256 of the experiment file's bytes.
    pub file_hash: String,
}

impl ExperimentConfig {
    /// Parse and validate an experiment file and what it names.
    pub fn load(path: &Path) -> Result<ExperimentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: ExperimentFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: format!(
                "{}\nhint: an experiment file has name, round, arms, rounds, seed, pool, out, \
                 default_profile, [base] and [profiles.<name>] \
                 (experiments/funcworld/experiment.toml explains each)",
                e.to_string().trim_end()
            ),
        })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            message,
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        if file.rounds == 0 {
            return Err(invalid("rounds", "is 0: give at least 1".into()));
        }
        if !file.profiles.contains_key(&file.default_profile) {
            return Err(invalid(
                "default_profile",
                format!(
                    "`{}` is not a profile: expected one of [{}]",
                    file.default_profile,
                    names(&file.profiles)
                ),
            ));
        }
        for (name, p) in &file.profiles {
            let zero = [
                ("seeds", u64::from(p.seeds)),
                ("base_epochs", u64::from(p.base_epochs)),
                ("prompts_per_round", p.prompts_per_round),
                ("teacher_samples", p.teacher_samples.map_or(1, u64::from)),
                ("student_samples", p.student_samples.map_or(1, u64::from)),
                ("epochs", p.epochs.map_or(1, u64::from)),
                ("eval_problems", p.eval_problems.unwrap_or(1)),
                ("sampled_samples", p.sampled_samples.map_or(1, u64::from)),
            ]
            .into_iter()
            .find(|(_, v)| *v == 0);
            if let Some((key, _)) = zero {
                return Err(invalid(
                    &format!("profiles.{name}.{key}"),
                    "is 0: must be at least 1".into(),
                ));
            }
        }
        for (name, p) in &file.profiles {
            let key = |k: &str| format!("profiles.{name}.{k}");
            if p.sampled_samples.is_none() {
                if let Some(k) = ["sampled_temperature", "sampled_k"]
                    .into_iter()
                    .zip([p.sampled_temperature.is_some(), p.sampled_k.is_some()])
                    .find_map(|(k, set)| set.then_some(k))
                {
                    return Err(invalid(
                        &key(k),
                        "is set without sampled_samples: give sampled_samples (completions \
                         per problem) for a sampled evaluation, or remove it"
                            .into(),
                    ));
                }
                continue;
            }
            let Some(ev) = p.sampled_eval() else { continue };
            if !(ev.temperature > 0.0 && ev.temperature.is_finite()) {
                return Err(invalid(
                    &key("sampled_temperature"),
                    format!(
                        "is {}: a sampled evaluation needs a temperature above 0 (0 is the \
                         greedy evaluation every profile already has); 0.8 is usual",
                        ev.temperature
                    ),
                ));
            }
            if let Some(bad) = ev.k.iter().find(|&&k| k == 0 || k > ev.samples) {
                return Err(invalid(
                    &key("sampled_k"),
                    format!(
                        "has k = {bad}: each k must be between 1 and sampled_samples ({})",
                        ev.samples
                    ),
                ));
            }
        }
        if file.base.tokenizer_files.is_empty() {
            return Err(invalid(
                "base.tokenizer_files",
                "is empty: name the text files the tokenizer learns from".into(),
            ));
        }
        let holdout = file.base.holdout_pool_lines;
        if holdout > 0 {
            for (name, p) in &file.profiles {
                let rounds_sampling = if p.repeat_prompts { 1 } else { file.rounds };
                let needed = u64::from(rounds_sampling) * p.prompts_per_round;
                if needed > holdout {
                    return Err(invalid(
                        "base.holdout_pool_lines",
                        format!(
                            "is {holdout}, but profile `{name}` samples {needed} pool prompts \
                             ({} rounds x {} prompts_per_round): the later rounds would sample \
                             prompts the base was trained on; raise it to at least {needed}, \
                             lower the profile's prompts_per_round, or set repeat_prompts = true \
                             (every round samples the same prompts)",
                            rounds_sampling, p.prompts_per_round
                        ),
                    ));
                }
            }
        }
        let round_path = dir.join(&file.round);
        let round = RoundConfig::load(&round_path)?;
        if round.round.benchmark.is_none() {
            return Err(invalid(
                "round",
                format!(
                    "{} has no [round] benchmark: the experiment measures pass@1 on it",
                    round_path.display()
                ),
            ));
        }
        if round.student.is_none() {
            return Err(invalid(
                "round",
                format!(
                    "{} has no [student]: every round samples the student",
                    round_path.display()
                ),
            ));
        }
        let recipe_path = dir.join(&file.base.recipe);
        let recipe = RoundConfig::load(&recipe_path)?;
        let arms_path = dir.join(&file.arms);
        let sweep = SweepConfig::load(&arms_path)?;
        let runs = raw_runs(&arms_path)?;
        if runs.len() != sweep.variants.len() {
            return Err(invalid(
                "arms",
                format!(
                    "{}: give the arms as [[runs]] (one table per arm), not a [grid]",
                    arms_path.display()
                ),
            ));
        }
        let arms = sweep
            .variants
            .iter()
            .zip(runs)
            .map(|(v, run)| Arm {
                name: v.id.clone(),
                run,
            })
            .collect();
        Ok(ExperimentConfig {
            path: path.to_owned(),
            name: file.name,
            round_path,
            round,
            arms_path,
            arms,
            metric: sweep.metric.name,
            rounds: file.rounds,
            seed: file.seed,
            pool: dir.join(file.pool),
            out: dir.join(file.out),
            default_profile: file.default_profile,
            base: BaseRecipe {
                recipe_path,
                recipe,
                corpus: dir.join(file.base.corpus),
                tokenizer_files: file
                    .base
                    .tokenizer_files
                    .iter()
                    .map(|f| dir.join(f))
                    .collect(),
                vocab_size: file.base.vocab_size,
                preset: file.base.preset,
                dir: dir.join(file.base.dir),
                holdout_pool_lines: holdout,
            },
            profiles: file.profiles,
            file_hash: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }

    /// The profile called `name` (the default one for `None`).
    pub fn profile(&self, name: Option<&str>) -> Result<(&str, &Profile), ConfigError> {
        let name = name.unwrap_or(&self.default_profile);
        self.profiles
            .get_key_value(name)
            .map(|(k, p)| (k.as_str(), p))
            .ok_or_else(|| ConfigError::Invalid {
                path: self.path.clone(),
                key: "profiles".into(),
                message: format!(
                    "has no profile `{name}`: expected one of [{}]",
                    names(&self.profiles)
                ),
            })
    }

    /// A sweep file over the arms (`only`: that arm alone) with `base` as its base round
    /// config (a file name in the sweep file's directory), for `rrtf sweep`.
    pub fn arms_sweep_toml(
        &self,
        base: &str,
        name: &str,
        output_dir: &Path,
        only: Option<&str>,
    ) -> String {
        let mut t = toml::Table::new();
        t.insert("base".into(), base.into());
        t.insert("name".into(), name.into());
        t.insert("metric".into(), self.metric.clone().into());
        t.insert("output_dir".into(), output_dir.display().to_string().into());
        let runs: Vec<toml::Value> = self
            .arms
            .iter()
            .filter(|a| only.is_none_or(|o| o == a.name))
            .map(|a| {
                let mut run = a.run.clone();
                run.insert("name".into(), a.name.clone().into());
                toml::Value::Table(run)
            })
            .collect();
        t.insert("runs".into(), toml::Value::Array(runs));
        format!(
            "# Written by `rrtf experiment run` from {} ({}); edit those, not this file.\n\n{}",
            self.path.display(),
            self.arms_path.display(),
            toml::to_string(&t).expect("a table serialises")
        )
    }
}

/// The `[[runs]]` tables of a sweep file, as written.
fn raw_runs(path: &Path) -> Result<Vec<toml::Table>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(match table.get("runs") {
        Some(toml::Value::Array(runs)) => {
            runs.iter().filter_map(|r| r.as_table().cloned()).collect()
        }
        _ => Vec::new(),
    })
}

fn names(profiles: &BTreeMap<String, Profile>) -> String {
    profiles.keys().cloned().collect::<Vec<_>>().join(", ")
}
