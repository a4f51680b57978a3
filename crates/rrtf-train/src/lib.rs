//! `rrtf-train`: the RRTF trainer (PanGu-Coder2) in burn.
//!
//! Code map: [`data`] (groups → token ids, pairs, prompt templates per kind, length rule,
//! held-out split by lineage) → [`loss`] (the RRTF objective, DPO and IPO, over a batch of
//! groups of any sizes; plain SFT) → [`optim`] (AdamW with PyTorch's
//! defaults, global-norm clipping, warm-up + cosine/linear schedule) → [`trainer`] (the loop:
//! accumulation, seeded epoch order, metrics, evaluation, checkpoints, exact resume);
//! [`bench`] times the loop on synthetic groups; [`score`] is `rrtf train loss` (the objective
//! of a checkpoint on groups, no training).
//!
//! Not here: databases and HTTP (the binary reads groups from the store or a JSONL file and
//! hands them over in memory), the network itself (rrtf-model), several devices. [`lora`]
//! attaches adapters; DPO is a [`loss::RankTerm`].

pub mod bench;
pub mod data;
pub mod error;
pub mod lock;
pub mod lora;
pub mod loss;
pub mod optim;
mod parallel;
pub mod plan;
pub mod score;
pub mod trainer;

pub use data::{
    EncodeStats, Encoded, EncodedGroup, Group, PromptKind, Role, Templates, encode_group,
    encode_groups, read_jsonl, split, split_groups,
};
pub use error::{Result, TrainError};
pub use lock::DirLock;
pub use loss::{
    BatchLoss, LossConfig, PairCounts, RankTerm, batch_loss, batch_loss_with_reference,
    pair_counts, preference_accuracy, sft_targets,
};
pub use score::{GroupScore, score_checkpoint, score_groups};
pub use trainer::{
    EvalMetrics, MetricsLog, StepMetrics, TrainState, Trainer, checkpoint_problem,
    checkpoint_records_config, checkpoint_state, checkpoints_dir, evaluate, latest_checkpoint,
    prune_checkpoints, total_steps,
};
