//! The config's sections, with their defaults. Field comments are the documentation users see
//! in `configs/round.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoundSection {
    /// Round number (1 for the first; round 0 holds imported data).
    pub number: i64,
    /// Seed for every random choice of the round (evolution, sampling, shuffling, init).
    pub seed: u64,
    /// Benchmark file (HumanEval-style JSONL) for the evaluation at the end of the round.
    pub benchmark: Option<PathBuf>,
}

impl Default for RoundSection {
    fn default() -> Self {
        RoundSection {
            number: 1,
            seed: 0,
            benchmark: None,
        }
    }
}

/// API flavour of an endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// `/v1/chat/completions`
    #[default]
    Chat,
    /// `/v1/completions`
    Completion,
}

/// `[training] prompt_template` and `completion_template`, as the student's sampling uses them.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingTemplates {
    pub instruction: String,
    pub completion: String,
}

/// An OpenAI-compatible model server (vLLM, TGI, Ollama, llama.cpp, OpenAI, `rrtf serve`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Name used in the database and reports; unique among teachers and student.
    pub name: String,
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:8000/v1`. Exactly one of `base_url`,
    /// `replay` and `local_model` is given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_url: String,
    /// A JSONL file of recorded answers served over HTTP on 127.0.0.1 for the stage's duration
    /// (offline demos, tests, replaying a past round). Rows: `{"match": [substrings...],
    /// "responses": [texts...]}`; a request takes the row whose substrings all occur in its last
    /// message (most matched characters wins), and `responses[seed % len]`.
    #[serde(default)]
    pub replay: Option<PathBuf>,
    /// A checkpoint directory (Hugging Face layout) served by `rrtf serve` on 127.0.0.1 for the
    /// stage's duration: how a round samples the student it is training.
    #[serde(default)]
    pub local_model: Option<PathBuf>,
    /// With `local_model`: the device its `rrtf serve` loads the checkpoint on (`cpu`, `cuda`,
    /// `cuda:N`, `wgpu`; the last three need their cargo feature); unset: the build's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The model name the server expects.
    pub model: String,
    /// Environment variable holding the API key (none for local servers).
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub kind: EndpointKind,
    /// Sampling temperatures; each gets `samples` responses per prompt.
    #[serde(default = "default_temperatures")]
    pub temperatures: Vec<f64>,
    #[serde(default = "one")]
    pub samples: u32,
    /// Requests in flight at once.
    #[serde(default = "four")]
    pub concurrency: u32,
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Tokens an answer may have; always sent, never left to the server's default (OpenAI's
    /// `/v1/completions`, vLLM and `rrtf serve` default to 16).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Stop sequences. Unset: none for chat endpoints; for completion endpoints Codex's
    /// ([`CODEX_STOP`]) on completion prompts and [`INSTRUCTION_STOP`] on instruction prompts.
    /// An explicit list (`[]` included) is sent with every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// System message for chat endpoints.
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    #[serde(default)]
    pub tokens_per_minute: Option<u32>,
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// USD per 1,000 prompt tokens, for the cost ledger.
    #[serde(default)]
    pub price_per_1k_input: f64,
    /// USD per 1,000 completion tokens.
    #[serde(default)]
    pub price_per_1k_output: f64,
    /// Set by the sampling stage for the round's `[student]` (never read from a file, never in
    /// the config's hash): a completion endpoint is then sent each prompt through the round's
    /// `[training]` templates, the format the student is trained on, instead of
    /// `prompts/sample_completion_instruction.txt` (which equals the default template).
    #[serde(skip)]
    pub training_templates: Option<TrainingTemplates>,
}

fn default_temperatures() -> Vec<f64> {
    vec![0.2]
}
fn one() -> u32 {
    1
}
fn four() -> u32 {
    4
}
fn default_timeout() -> f64 {
    120.0
}
fn default_max_tokens() -> u32 {
    DEFAULT_MAX_TOKENS
}

/// `max_tokens` of an endpoint that sets none (the student included).
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The stop sequences of Codex / HumanEval (Chen et al., 2021) for a completion that continues
/// a function: a new top-level statement ends it.
pub const CODEX_STOP: &[&str] = &["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

/// Completion endpoints writing a whole function after a triple-quoted instruction: a new
/// top-level `if` or `print`, an `assert` (tests) or a new triple-quoted block ends it (not
/// `def`/`class`/`#`: a solution may start with imports and define helpers).
pub const INSTRUCTION_STOP: &[&str] = &["\n\"\"\"", "\nif", "\nprint", "\nassert"];

impl Endpoint {
    /// The stop sequences sampling sends for a prompt that the answer continues
    /// (`continues_prompt`, HumanEval) or a free instruction: `stop` when the config gives it,
    /// else the defaults of the endpoint kind (see `stop`).
    pub fn sampling_stop(&self, continues_prompt: bool) -> Vec<String> {
        let default: &[&str] = match (self.kind, continues_prompt) {
            (EndpointKind::Chat, _) => &[],
            (EndpointKind::Completion, true) => CODEX_STOP,
            (EndpointKind::Completion, false) => INSTRUCTION_STOP,
        };
        self.stop
            .clone()
            .unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect())
    }

    /// The stop sequences for requests whose answer is prose (evolution, judging, test
    /// synthesis): only those the config gives.
    pub fn explicit_stop(&self) -> Vec<String> {
        self.stop.clone().unwrap_or_default()
    }
}

/// Evol-Instruct (WizardCoder's code methods, PanGu-Coder2's contest-designer framing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Evolution {
    pub enabled: bool,
    /// The teacher (by name) that rewrites prompts.
    pub evolver: Option<String>,
    /// Evolution steps applied to each seed (all steps are kept and merged).
    pub steps: u32,
    /// Relative weight of each method; 0 turns a method off.
    pub methods: BTreeMap<String, f64>,
    /// Also create new prompts in breadth (WizardLM's in-breadth evolving).
    pub in_breadth: bool,
    /// Ask an LLM whether an evolution adds information over its parent (WizardLM rule 1).
    pub judge_no_new_information: bool,
    /// An evolution longer than this many times its parent is eliminated.
    pub max_length_ratio: f64,
    /// Jaccard similarity above which a prompt is a near-duplicate of one kept (MinHash/LSH);
    /// a child is never compared with its own parent (rule 1 judges that pair).
    pub dedup_threshold: f64,
    /// Target languages of a multilingual round (e.g. `["python", "cpp", "java"]`): each child
    /// gets one, drawn (seeded, uniformly) per child, and the evolver is told to ask for it
    /// (`prompts/evol_language.txt`). Empty (the default): a child keeps its parent's language
    /// and the requests say nothing about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<rrtf_types::Language>,
}

/// The five code evolution methods of WizardCoder.
pub const EVOLUTION_METHODS: &[&str] = &[
    "add_constraints",
    "replace_requirement",
    "more_reasoning",
    "erroneous_code",
    "complexity",
];

impl Default for Evolution {
    fn default() -> Self {
        Evolution {
            enabled: true,
            evolver: None,
            steps: 1,
            methods: EVOLUTION_METHODS
                .iter()
                .map(|m| (m.to_string(), if *m == "complexity" { 0.25 } else { 1.0 }))
                .collect(),
            in_breadth: false,
            judge_no_new_information: true,
            max_length_ratio: 4.0,
            dedup_threshold: 0.8,
            languages: Vec::new(),
        }
    }
}

/// Decontamination: benchmark problems must not reach training. On by default against
/// `[round] benchmark` (always in the set) and `benchmarks`; it applies to every prompt that
/// can reach training (seeds, imported, evolved), to their tests and reference solutions, and
/// to sampled responses (one that reproduces a canonical solution is dropped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Decontamination {
    pub enabled: bool,
    /// More benchmark files (JSONL / JSON, `.gz` too) besides `[round] benchmark`.
    pub benchmarks: Vec<PathBuf>,
    /// A shared n-gram of this many words with any field of a benchmark problem is a leak.
    pub ngram: u32,
    /// Word-set Jaccard similarity (MinHash + LSH) with a benchmark prompt at or above which a
    /// prompt is a paraphrase of it (1.0: only the very same words).
    pub similarity: f64,
    /// Screen against `[round] benchmark` (default `true`). `false` is an explicit, recorded
    /// opt-out for a world whose generator guarantees its split (the funcworld experiment: its
    /// problems of one family differ only in numbers, which the paraphrase screen ignores on
    /// purpose); it is accepted only with a non-empty `reason`, and every data stage warns with
    /// it. `benchmarks` are still screened. Left out of the snapshot when `true`, so configs
    /// that do not use it keep their hash.
    #[serde(skip_serializing_if = "is_true")]
    pub screen_round_benchmark: bool,
    /// Why `screen_round_benchmark = false` is safe (required with it, refused without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for Decontamination {
    fn default() -> Self {
        Decontamination {
            enabled: true,
            benchmarks: Vec::new(),
            ngram: 13,
            similarity: DEFAULT_SIMILARITY,
            screen_round_benchmark: true,
            reason: None,
        }
    }
}

/// `[decontamination] similarity` when unset.
pub const DEFAULT_SIMILARITY: f64 = 0.5;

/// Unit tests written by a teacher for prompts that have none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestSynthesis {
    pub enabled: bool,
    /// The teacher (by name) that writes tests.
    pub teacher: Option<String>,
}

impl Default for TestSynthesis {
    fn default() -> Self {
        TestSynthesis {
            enabled: true,
            teacher: None,
        }
    }
}

/// pass@k on `round.benchmark` (HumanEval-style rows), before and after training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Evaluation {
    /// Completions generated per problem (n of the pass@k estimator).
    pub samples: u32,
    /// 0 is greedy.
    pub temperature: f64,
    pub top_p: f64,
    pub max_new_tokens: u32,
    /// The k of pass@k; each must be at most `samples`.
    pub k: Vec<u32>,
    /// Evaluate the first N problems only (trial runs).
    pub max_problems: Option<u64>,
    /// Also evaluate the base model, for a before/after comparison.
    pub baseline: bool,
    /// The device `rrtf eval` generates on (`cpu`, `cuda`, `cuda:N`, `wgpu`; the last three
    /// need their cargo feature); unset: the build's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Default for Evaluation {
    fn default() -> Self {
        Evaluation {
            samples: 1,
            temperature: 0.0,
            top_p: 0.95,
            max_new_tokens: 384,
            k: vec![1],
            max_problems: None,
            baseline: true,
            device: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sampling {
    /// Stop cleanly when the round's spend reaches this many USD.
    pub budget_usd: Option<f64>,
    /// Sample at most this many prompts (for trial runs).
    pub max_prompts: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Execution {
    /// Wall-clock limit per program, seconds.
    pub timeout_s: f64,
    /// Address-space limit per program, MiB.
    pub memory_mb: u64,
    /// Output kept per program, KiB; more is an `output_limit` outcome.
    pub max_output_kb: u64,
    /// Worker processes; 0 = one per core.
    pub workers: u32,
    /// Execute even without namespaces (not root and no unprivileged user namespace), in the
    /// weaker sandbox `rrtf exec doctor` describes. Off: the executor refuses there. Left out
    /// of the snapshot when off, so configs that never set it keep their hash.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure_sandbox: bool,
    /// The round's exec stage executes nothing and waits until `rrtf exec` workers started
    /// elsewhere (on machines pointed at the same database) have executed every pending pair.
    /// Left out of the snapshot when off, like `insecure_sandbox`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external_workers: bool,
}

impl Default for Execution {
    fn default() -> Self {
        Execution {
            timeout_s: 10.0,
            memory_mb: 1024,
            max_output_kb: 1024,
            workers: 0,
            insecure_sandbox: false,
            external_workers: false,
        }
    }
}

/// Score per execution outcome. Defaults are RLTF's; partial = partial_base + partial_scale x
/// pass ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutcomeScores {
    pub compile_error: f64,
    pub runtime_error: f64,
    pub timeout: f64,
    pub memory_limit: f64,
    pub output_limit: f64,
    pub crashed: f64,
    pub test_failure: f64,
    pub partial_base: f64,
    pub partial_scale: f64,
    pub pass: f64,
}

impl Default for OutcomeScores {
    fn default() -> Self {
        OutcomeScores {
            compile_error: -1.0,
            runtime_error: -0.6,
            timeout: -0.6,
            memory_limit: -0.6,
            output_limit: -0.6,
            crashed: -0.6,
            test_failure: -0.3,
            partial_base: -0.3,
            partial_scale: 1.3,
            pass: 1.0,
        }
    }
}

/// PanGu-Coder2's prompt filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filters {
    pub teacher_below_student: bool,
    pub no_pass: bool,
    pub all_equal: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            teacher_below_student: true,
            no_pass: true,
            all_equal: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ranking {
    pub scores: OutcomeScores,
    /// Added to teacher responses so that, within one outcome class and pass ratio, teachers
    /// rank above students (PanGu-Coder2); 0 drops the teacher preference. Heuristic weights
    /// and priors together stay below it.
    pub teacher_epsilon: f64,
    /// Weight of each heuristic preference component (name -> weight). Each feature is in
    /// [0, 1]. Heuristics only break ties between responses of the same outcome class, pass
    /// ratio and role: the order is lexicographic, whatever the weights.
    pub weights: BTreeMap<String, f64>,
    /// Per-teacher prior added to its responses' scores (teacher name -> value): a tie-break
    /// between teachers, like the heuristics.
    pub teacher_prior: BTreeMap<String, f64>,
    pub filters: Filters,
    /// Pair strategy of training and of every export: the pairs the ranking loss sums over.
    /// `all` (every better/worse pair) is PanGu-Coder2's loss.
    pub pairs: String,
    /// Smallest score gap a pair the ranker decided may have (pairs an operator decided by a
    /// pin or reorder are kept whatever their gap).
    pub min_gap: f64,
    /// Whether two responses that differ only by heuristics (or teacher prior) make a pair.
    /// Off: heuristics order them but express no preference.
    pub heuristic_pairs: bool,
}

/// Heuristic components the ranker knows.
pub const RANKING_COMPONENTS: &[&str] = &["truncated", "no_code", "length", "lint", "duplicate"];

impl Default for Ranking {
    fn default() -> Self {
        Ranking {
            scores: OutcomeScores::default(),
            teacher_epsilon: 0.1,
            weights: [
                ("truncated", -0.02),
                ("no_code", -0.03),
                ("length", -0.02),
                ("lint", -0.01),
                ("duplicate", -0.01),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            teacher_prior: BTreeMap::new(),
            filters: Filters::default(),
            pairs: "all".into(),
            min_gap: 0.0,
            heuristic_pairs: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// PanGu-Coder2 (§3.4, RRHF's loss): hinge `max(0, p_j − p_i)` on length-normalised
    /// log-probs over the group's pairs (no score-gap factor unless `rank_weighting = "gap"`)
    /// + token-sum CE of the best response.
    #[default]
    Rrtf,
    /// RRHF: the same loss as `rrtf` (PanGu-Coder2 trains on RRHF's objective); kept as a name.
    Rrhf,
    /// DPO (or IPO, `dpo_loss`) against a frozen reference model, on the group's pairs.
    Dpo,
    /// Plain supervised fine-tuning: next-token cross-entropy on the responses
    /// `sft_responses` chooses, no ranking term. Each response's term is the fine-tuning term
    /// of `rrtf` (token sum, or mean with `sft_normalize = "mean"`); a group's loss is the mean
    /// over its chosen responses, so every prompt weighs the same, as in `rrtf`.
    Sft,
}

/// The responses `objective = "sft"` trains on (`training.sft_responses`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SftResponses {
    /// Every response of the group, right or wrong, teacher's or student's (and a corpus's
    /// one-response lines: pre-training a base student).
    #[default]
    All,
    /// The group's best response only, `rrtf`'s fine-tuning target (rejection-sampling SFT).
    Best,
    /// Every teacher response (WizardCoder-style distillation); needs each response's role
    /// (`details[i].role`, as `rrtf export --format rrtf` writes it).
    Teachers,
}

/// How a hinge pair's term is weighted (`training.rank_weighting`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankWeighting {
    /// Every pair counts the same: the paper's `L_rank`.
    #[default]
    None,
    /// Each pair's hinge times its score gap `r_i − r_j` (not in the paper; an option).
    Gap,
}

/// How a group's pair terms are combined (`training.pair_reduction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairReduction {
    /// Summed over the group's pairs (the paper).
    #[default]
    Sum,
    /// Divided by the group's pair count, so a 12-response group weighs like a 2-response one.
    Mean,
}

/// `training.gradient_checkpointing`: what the backward pass recomputes instead of keeping.
/// Written `false`, `true` (= `"ops"`, the older boolean form, which it keeps in the config hash),
/// `"ops"`, `"layers"` or `"off"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GradientCheckpointing {
    /// Keep every activation.
    #[default]
    Off,
    /// burn's op-level strategy (`Device::autodiff().gradient_checkpointing()`): element-wise
    /// ops and reshapes are recomputed from their inputs; matmul outputs are kept.
    Ops,
    /// Per-layer: the forward pass keeps only each block's input; the backward pass recomputes
    /// one block at a time (`rrtf_model::checkpoint`).
    Layers,
}

impl GradientCheckpointing {
    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }
}

impl Serialize for GradientCheckpointing {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Off => s.serialize_bool(false),
            Self::Ops => s.serialize_bool(true),
            Self::Layers => s.serialize_str("layers"),
        }
    }
}

impl<'de> Deserialize<'de> for GradientCheckpointing {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = GradientCheckpointing;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("false, \"layers\" or \"ops\" (also true)")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(if v {
                    GradientCheckpointing::Ops
                } else {
                    GradientCheckpointing::Off
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl std::str::FromStr for GradientCheckpointing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" | "false" => Ok(Self::Off),
            "ops" | "true" => Ok(Self::Ops),
            "layers" => Ok(Self::Layers),
            other => Err(format!(
                "gradient_checkpointing {other:?}: use false, \"layers\" (per-layer) or \"ops\" \
                 (burn's op-level strategy; also true)"
            )),
        }
    }
}

/// The preference term of `objective = "dpo"` (`training.dpo_loss`), as TRL's `loss_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpoLoss {
    /// DPO's `−log σ(β h)` on summed log-probs (with `dpo_label_smoothing`: conservative DPO).
    #[default]
    Sigmoid,
    /// IPO's `(h − 1/(2β))²` on length-normalised log-probs.
    Ipo,
}

/// How the fine-tuning term sums the best response's token log-probs (`training.sft_normalize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SftNormalize {
    /// Token sum (the paper's `L_ft`).
    Sum,
    /// Mean over the response's tokens (RPO's NLL term).
    Mean,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    Cosine,
    Linear,
    Constant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lora {
    pub rank: u32,
    pub alpha: f64,
    /// How the frozen weights the adapters sit on are stored during training: `"f32"` or
    /// `"bf16"` (half the memory; each forward pass composes one f32 weight from it and the f32
    /// adapters, and the merged model is written over the f32 base read again from disk).
    #[serde(default, skip_serializing_if = "LoraBaseDtype::is_f32")]
    pub base_dtype: LoraBaseDtype,
}

/// `training.lora.base_dtype`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoraBaseDtype {
    #[default]
    F32,
    Bf16,
}

impl LoraBaseDtype {
    pub fn is_f32(&self) -> bool {
        *self == Self::F32
    }
}

/// Training. Optimiser defaults are PyTorch's AdamW (not burn's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Training {
    /// Checkpoint directory (Hugging Face layout) of the model to train.
    pub base_model: Option<PathBuf>,
    /// Where the trained model is written (Hugging Face layout).
    pub output_dir: Option<PathBuf>,
    pub objective: Objective,
    /// Hinge objectives: `none` (the paper) or `gap` (each pair times its score gap).
    pub rank_weighting: RankWeighting,
    /// `sum` (the paper) or `mean` of a group's pair terms.
    pub pair_reduction: PairReduction,
    pub rank_weight: f64,
    pub sft_weight: f64,
    /// `sum` or `mean` over the best response's tokens; unset: `sum` for rrtf/rrhf/sft, `mean`
    /// for dpo (RPO), so the fine-tuning term does not dwarf the DPO term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sft_normalize: Option<SftNormalize>,
    /// `objective = "sft"` only: `all` (the default), `best` or `teachers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sft_responses: Option<SftResponses>,
    pub dpo_beta: f64,
    /// `sigmoid` (DPO) or `ipo`.
    pub dpo_loss: DpoLoss,
    /// Conservative DPO's label smoothing in [0, 0.5) (`dpo_loss = "sigmoid"` only).
    pub dpo_label_smoothing: f64,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    pub schedule: Schedule,
    pub warmup_steps: u64,
    pub epochs: u32,
    /// Stop after this many optimiser steps (overrides epochs when set).
    pub max_steps: Option<u64>,
    /// Ranked groups per micro-batch.
    pub batch_size: u32,
    pub grad_accum: u32,
    /// Prompt + response tokens; longer responses are cut (counted) and prompts over it dropped.
    pub max_length: u32,
    /// Global gradient-norm clip; 0 turns clipping off.
    pub clip_norm: f64,
    /// Share of prompts held out for evaluation.
    pub eval_fraction: f64,
    /// Instruction prompts: `{prompt}` is replaced by the prompt; PanGu-Coder2 wraps it in
    /// triple quotes. `{language}` is the language the prompt asks for (`C++`) and
    /// `{language_tag}` CodeGeeX's tag line for it (`// language: C++`), for multilingual rounds.
    pub prompt_template: String,
    /// Completion prompts (a signature + docstring to continue): used verbatim by default;
    /// the same placeholders.
    pub completion_template: String,
    /// Train on the extracted code only (PanGu-Coder2), not the raw response.
    pub code_only: bool,
    /// `cpu`, `cuda`, `cuda:N` or `wgpu` (`rrtf_model::parse_device`; the last three need
    /// their cargo feature).
    pub device: String,
    /// Data parallelism: train on these devices at once (e.g. `["cuda:0", "cuda:1"]`), each
    /// micro-batch split among them, gradients summed on the first (`rrtf_train::parallel`).
    /// Empty: `device` alone. When set, `device` is not used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    pub checkpoint_every: u64,
    /// Gradient checkpointing: `false` (off), `"layers"` (per-layer: only each block's input
    /// is kept, each block recomputed in the backward pass) or `true` / `"ops"` (burn's
    /// op-level strategy: element-wise ops recomputed). The same steps either way (README,
    /// "Memory plan").
    #[serde(skip_serializing_if = "GradientCheckpointing::is_off")]
    pub gradient_checkpointing: GradientCheckpointing,
    /// `step-N` checkpoints kept: the last `keep_checkpoints` plus the one with the best
    /// held-out loss; older ones are removed as new ones are written. Not in the config hash
    /// while it is the default (it changes no weight).
    #[serde(skip_serializing_if = "is_default_keep")]
    pub keep_checkpoints: u32,
    pub lora: Option<Lora>,
    /// Train on the ranked prompts of these rounds only (store input); every round when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<Vec<i64>>,
}

/// `training.keep_checkpoints` when unset.
pub const DEFAULT_KEEP_CHECKPOINTS: u32 = 3;

fn is_default_keep(n: &u32) -> bool {
    *n == DEFAULT_KEEP_CHECKPOINTS
}

impl Training {
    /// LoRA over a bf16 base (`lora.base_dtype = "bf16"`).
    pub fn bf16_lora_base(&self) -> bool {
        self.lora
            .as_ref()
            .is_some_and(|l| l.base_dtype == LoraBaseDtype::Bf16)
    }

    /// Why this run cannot train on its devices (`device`, or `devices` when set, as the
    /// command line may have changed them), if it cannot: a bf16 LoRA base on wgpu, which has no
    /// bf16 (WGSL): the message about `training.lora.base_dtype`. `None` when it can.
    pub fn device_conflict(&self) -> Option<String> {
        let names: Vec<&String> = if self.devices.is_empty() {
            vec![&self.device]
        } else {
            self.devices.iter().collect()
        };
        (self.bf16_lora_base() && names.iter().any(|d| d.trim() == "wgpu")).then(|| {
            "is \"bf16\", which wgpu cannot store (WGSL has no bf16): use \"f32\" there, or \
             train on cpu or cuda"
                .to_owned()
        })
    }
}

impl Default for Training {
    fn default() -> Self {
        Training {
            base_model: None,
            output_dir: None,
            objective: Objective::Rrtf,
            rank_weighting: RankWeighting::None,
            pair_reduction: PairReduction::Sum,
            rank_weight: 1.0,
            sft_weight: 1.0,
            sft_normalize: None,
            sft_responses: None,
            dpo_beta: 0.1,
            dpo_loss: DpoLoss::Sigmoid,
            dpo_label_smoothing: 0.0,
            learning_rate: 2e-5,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            schedule: Schedule::Cosine,
            warmup_steps: 0,
            epochs: 1,
            max_steps: None,
            batch_size: 1,
            grad_accum: 1,
            max_length: 1024,
            clip_norm: 1.0,
            eval_fraction: 0.05,
            prompt_template: "\"\"\"\n{prompt}\n\"\"\"\n".into(),
            completion_template: "{prompt}".into(),
            code_only: true,
            device: "cpu".into(),
            devices: Vec::new(),
            checkpoint_every: 100,
            gradient_checkpointing: GradientCheckpointing::Off,
            keep_checkpoints: DEFAULT_KEEP_CHECKPOINTS,
            lora: None,
            rounds: None,
        }
    }
}

impl Endpoint {
    /// A student served from a checkpoint directory, every other key at its default.
    pub fn local_model(name: &str, model: &str, dir: PathBuf) -> Endpoint {
        let mut e: Endpoint = toml::from_str(&format!(
            "name = {}\nmodel = {}\n",
            toml::Value::from(name),
            toml::Value::from(model)
        ))
        .expect("a minimal endpoint parses");
        e.local_model = Some(dir);
        e.kind = EndpointKind::Completion;
        e
    }
}
