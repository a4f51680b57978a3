//! A tiny seeded model and synthetic ranked groups, shared by `parallel.rs` (in the
//! integration binary) and `wgpu.rs` (its own binary, through `#[path]`).

use rrtf_config::{Schedule, Training};
use rrtf_model::{Checkpoint, Device};
use rrtf_train::{EncodedGroup, Group, Templates, encode_groups, split};

/// Ranked groups of 2 or 3 responses whose best answer uses the prompt's number.
pub fn synthetic(n: usize) -> Vec<Group> {
    (0..n)
        .map(|k| {
            let mut g = Group::new(
                format!("# add {k} to x\ndef f(x):\n"),
                vec![
                    format!("    return x + {k}\n"),
                    "    print(x)\n".into(),
                    "    pass\n".into(),
                ],
                vec![1.0, -0.3, -1.0],
            );
            if k % 3 == 0 {
                g.responses.remove(1);
                g.scores.remove(1);
            }
            g
        })
        .collect()
}

/// The same seeded tiny model (drawn on the host, so identical on every device) and the
/// training three quarters of `n` synthetic groups.
pub fn setup(device: &Device, n: usize) -> (Checkpoint, Vec<EncodedGroup>) {
    let tok = rrtf_model::fixtures_dir().join("tokenizer.json");
    let ckpt = Checkpoint::init("tiny-mqa", &tok, Some(0.1), 3, device).unwrap();
    let (enc, _) =
        encode_groups(&synthetic(n), &ckpt.tokenizer, &Templates::verbatim(), 128).unwrap();
    let (train, _) = split(&enc, 0.25, 11);
    (ckpt, train)
}

/// The short runs' training settings: `steps` optimizer steps of 3 groups, accumulated twice.
pub fn config(steps: u64) -> Training {
    Training {
        learning_rate: 3e-3,
        warmup_steps: 1,
        schedule: Schedule::Cosine,
        batch_size: 3,
        grad_accum: 2,
        clip_norm: 1.0,
        max_steps: Some(steps),
        ..Training::default()
    }
}

/// `cfg` with LoRA adapters of rank 4 (alpha 16) at a learning rate of 1e-2.
pub fn lora(cfg: Training) -> Training {
    Training {
        lora: Some(rrtf_config::Lora {
            rank: 4,
            alpha: 16.0,
            base_dtype: Default::default(),
        }),
        learning_rate: 1e-2,
        ..cfg
    }
}
