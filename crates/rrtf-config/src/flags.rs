//! `[training]` keys given on a command line (`rrtf train loss`'s flags) over a config's section:
//! each value is read as the TOML file's would be, and the result is checked as a config is.

use serde::de::DeserializeOwned;

use crate::{ConfigError, RoundConfig, SftNormalize, SftResponses, Training};

/// The flags, each `None` (or `false`) when not given; text values are the config's spellings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingFlags {
    pub objective: Option<String>,
    pub rank_weighting: Option<String>,
    pub pair_reduction: Option<String>,
    pub rank_weight: Option<f64>,
    pub sft_weight: Option<f64>,
    pub sft_normalize: Option<String>,
    pub sft_responses: Option<String>,
    pub dpo_beta: Option<f64>,
    pub dpo_loss: Option<String>,
    pub dpo_label_smoothing: Option<f64>,
    pub prompt_template: Option<String>,
    pub completion_template: Option<String>,
    /// `training.code_only = false`.
    pub raw: bool,
}

/// `value`, given as `--flag`, as the config type `T`.
fn parse<T: DeserializeOwned>(flag: &str, value: &str) -> Result<T, ConfigError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|e| {
        ConfigError::Flag {
            flag: flag.to_owned(),
            value: value.to_owned(),
            message: e.to_string(),
        }
    })
}

/// Set `slot` from `value` when given.
fn set<T: DeserializeOwned>(
    flag: &str,
    value: &Option<String>,
    slot: &mut T,
) -> Result<(), ConfigError> {
    if let Some(v) = value {
        *slot = parse(flag, v)?;
    }
    Ok(())
}

impl TrainingFlags {
    /// `config`'s `[training]` section with the flags applied, after checking the whole config
    /// ([`RoundConfig::validate`]).
    pub fn apply(&self, mut config: RoundConfig) -> Result<Training, ConfigError> {
        let t = &mut config.training;
        set("objective", &self.objective, &mut t.objective)?;
        set(
            "rank-weighting",
            &self.rank_weighting,
            &mut t.rank_weighting,
        )?;
        set(
            "pair-reduction",
            &self.pair_reduction,
            &mut t.pair_reduction,
        )?;
        set("dpo-loss", &self.dpo_loss, &mut t.dpo_loss)?;
        if let Some(v) = &self.sft_responses {
            t.sft_responses = Some(parse::<SftResponses>("sft-responses", v)?);
        }
        if let Some(v) = &self.sft_normalize {
            t.sft_normalize = Some(parse::<SftNormalize>("sft-normalize", v)?);
        }
        for (value, slot) in [
            (self.rank_weight, &mut t.rank_weight),
            (self.sft_weight, &mut t.sft_weight),
            (self.dpo_beta, &mut t.dpo_beta),
            (self.dpo_label_smoothing, &mut t.dpo_label_smoothing),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if let Some(v) = &self.prompt_template {
            t.prompt_template = v.clone();
        }
        if let Some(v) = &self.completion_template {
            t.completion_template = v.clone();
        }
        if self.raw {
            t.code_only = false;
        }
        config
            .validate()
            .map_err(|(key, message)| ConfigError::Flags { key, message })?;
        Ok(config.training)
    }
}
