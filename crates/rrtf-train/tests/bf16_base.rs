//! LoRA over a bf16 base (`training.lora.base_dtype = "bf16"`, issue 23 item 4): the adapted
//! projections are stored in bf16, everything trained (the adapters, their gradients and AdamW's
//! moments) in f32; the run takes nearly the steps of the f32-base run (the base rounded to
//! bf16 is all that differs); the merged model is the f32 base from disk plus the adapters'
//! product, not the bf16 rounding plus it; DPO's reference is the bf16 base itself (the first
//! step's margins are exactly 0); and a run resumes to bit-identical weights.

use std::collections::HashMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{DType, Tensor};
use rrtf_config::{LoraBaseDtype, Schedule, Training};
use rrtf_model::{Checkpoint, Device, GptBigCode, weights};
use rrtf_train::Trainer;

fn config(base_dtype: LoraBaseDtype) -> Training {
    Training {
        learning_rate: 1e-2,
        warmup_steps: 1,
        schedule: Schedule::Cosine,
        batch_size: 3,
        grad_accum: 2,
        clip_norm: 1.0,
        max_steps: Some(4),
        lora: Some(rrtf_config::Lora {
            rank: 4,
            alpha: 16.0,
            base_dtype,
        }),
        ..Training::default()
    }
}

fn setup() -> (Checkpoint, Vec<rrtf_train::EncodedGroup>) {
    crate::common::tiny::setup(&Device::flex().autodiff(), 16)
}

/// Every float parameter's (stored) dtype and whether it trains, by path.
fn dtypes(model: &GptBigCode) -> HashMap<String, (DType, bool)> {
    struct V(Vec<String>, HashMap<String, (DType, bool)>);
    impl ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let base = p.base();
            self.1
                .insert(self.0.join("."), (base.dtype(), base.is_require_grad()));
        }
    }
    let mut v = V(Vec::new(), HashMap::new());
    model.visit(&mut v);
    v.1
}

fn is_projection(path: &str) -> bool {
    [
        "attn.c_attn.weight",
        "attn.c_proj.weight",
        "mlp.c_fc.weight",
        "mlp.c_proj.weight",
    ]
    .iter()
    .any(|s| path.starts_with("h.") && path.ends_with(s))
}

#[test]
fn the_projections_are_stored_in_bf16_and_everything_trained_in_f32() {
    let (ckpt, train) = setup();
    let eos = ckpt.tokenizer.eos_id();
    let t = Trainer::new(ckpt.model, config(LoraBaseDtype::Bf16), train, eos, 5).unwrap();
    let all = dtypes(&t.model);
    let (mut bf16, mut adapters) = (0, 0);
    for (path, (dtype, trains)) in &all {
        if is_projection(path) {
            assert_eq!(*dtype, DType::BF16, "{path}");
            assert!(!trains, "{path} is frozen");
            bf16 += 1;
        } else {
            assert_eq!(*dtype, DType::F32, "{path}");
            // Only the adapters train (`...weight.lora.a` / `.b`).
            assert_eq!(*trains, path.contains(".lora."), "{path}");
            adapters += usize::from(*trains);
        }
    }
    let layers = ckpt.config.n_layer;
    assert_eq!((bf16, adapters), (4 * layers, 8 * layers), "{all:?}");
}

#[test]
fn a_bf16_base_takes_nearly_the_steps_of_the_f32_base_and_merges_over_the_f32_base() {
    let run = |base_dtype| {
        let (ckpt, train) = setup();
        let base = ckpt.model.valid();
        let eos = ckpt.tokenizer.eos_id();
        let mut t = Trainer::new(ckpt.model, config(base_dtype), train, eos, 5).unwrap();
        let mut losses = Vec::new();
        while !t.done() {
            losses.push(t.step().unwrap().loss);
        }
        (t, base, losses)
    };
    let (f32_run, _, f32_losses) = run(LoraBaseDtype::F32);
    let (bf16_run, base, bf16_losses) = run(LoraBaseDtype::Bf16);
    eprintln!("losses: f32 base {f32_losses:?}, bf16 base {bf16_losses:?}");
    for (a, b) in f32_losses.iter().zip(&bf16_losses) {
        // bf16 keeps 8 bits of mantissa: the base's rounding moves the loss a little.
        assert!((a - b).abs() <= 2e-2 * a.abs(), "{a} vs {b}");
    }
    assert_ne!(
        f32_losses, bf16_losses,
        "the bf16 base changed nothing: was it applied?"
    );

    // The merge: the f32 base plus the adapters' product, not its bf16 rounding plus it.
    let merged = weights::export(&bf16_run.merged_over(&base));
    let rounded = weights::export(&bf16_run.inference_model());
    let base_w = weights::export(&base);
    let mut checked = 0;
    for (name, m) in &merged {
        let (b, r) = (&base_w[name].data, &rounded[name].data);
        if !(name.contains(".attn.c_") || name.contains(".mlp.c_")) || name.ends_with("bias") {
            assert_eq!(&m.data, b, "{name}: not adapted, must be the base's");
            continue;
        }
        checked += 1;
        let mut moved = false;
        for ((&m, &b), &r) in m.data.iter().zip(b).zip(r) {
            // rounded = bf16(b) + delta, so delta = rounded - bf16(b) and merged = b + delta.
            let bf = half::bf16::from_f32(b).to_f32();
            let delta = r - bf;
            assert!(
                (m - (b + delta)).abs() <= 1e-6 * (1.0 + b.abs()),
                "{name}: merged {m}, base {b}, delta {delta}"
            );
            moved |= m != r;
        }
        assert!(
            moved,
            "{name}: the merge used the bf16 rounding of the base"
        );
    }
    assert!(checked > 0);
    // The f32-base run's merge is unchanged by the new path.
    let plain = weights::export(&f32_run.inference_model());
    let over = weights::export(&f32_run.merged_over(&base));
    for (name, t) in &plain {
        assert_eq!(t.data, over[name].data, "{name}");
    }
}

/// DPO's reference over a bf16 base is that base: at the first step every margin is exactly 0
/// (the loss is ln 2 a pair), as with an f32 base.
#[test]
fn dpo_over_a_bf16_base_starts_with_zero_margins() {
    let (ckpt, train) = setup();
    let eos = ckpt.tokenizer.eos_id();
    let cfg = Training {
        objective: rrtf_config::Objective::Dpo,
        dpo_beta: 0.5,
        sft_weight: 0.0,
        ..config(LoraBaseDtype::Bf16)
    };
    let t = Trainer::new(ckpt.model, cfg, train.clone(), eos, 5).unwrap();
    let e = t.evaluate(&train).unwrap();
    let per_group = e.pairs as f64 / e.groups as f64;
    assert!(
        (e.rank_loss - per_group * std::f64::consts::LN_2).abs() < 1e-5,
        "{e:?}"
    );
    assert_eq!(e.preference_ties, e.pairs);
}

/// A run over a bf16 base resumes from its checkpoint to bit-identical weights (a resume that
/// lost the bf16 storage would train on other weights and end elsewhere).
#[test]
fn a_bf16_base_run_resumes_to_identical_weights() {
    let (w, w0) = crate::train::run_and_resume(config(LoraBaseDtype::Bf16), 2);
    // `w` is merged over the bf16 rounding of the base: the adapters moved it from there.
    let name = "transformer.h.0.attn.c_attn.weight";
    let rounded = w0[name]
        .data
        .iter()
        .map(|&x| half::bf16::from_f32(x).to_f32());
    assert!(
        w[name].data.iter().zip(rounded).any(|(&a, b)| a != b),
        "the adapters changed nothing"
    );
}

/// Loaded with bf16 projections (`Checkpoint::load_with`, what `rrtf train` does for a bf16
/// base: the device never holds their f32 copy), a checkpoint trains exactly as the f32 load
/// cast by the trainer.
#[test]
fn loading_the_projections_in_bf16_is_the_trainers_cast() {
    let device = Device::flex().autodiff();
    let dir = rrtf_model::fixtures_dir().join("mqa");
    let f32_ckpt = Checkpoint::load(&dir, &device).unwrap();
    let bf16_ckpt = Checkpoint::load_with(&dir, &device, true).unwrap();
    let stored = dtypes(&bf16_ckpt.model);
    for (path, (dtype, _)) in &stored {
        let want = if is_projection(path) {
            DType::BF16
        } else {
            DType::F32
        };
        assert_eq!(*dtype, want, "{path}");
    }
    let groups = rrtf_train::read_jsonl(
        &rrtf_model::fixtures_dir().join("../train/groups.jsonl"),
        false,
    )
    .unwrap();
    let (enc, _) = rrtf_train::encode_groups(
        &groups,
        &f32_ckpt.tokenizer,
        &rrtf_train::Templates::verbatim(),
        128,
    )
    .unwrap();
    let eos = f32_ckpt.tokenizer.eos_id();
    let cfg = Training {
        max_steps: Some(2),
        batch_size: 2,
        grad_accum: 1,
        ..config(LoraBaseDtype::Bf16)
    };
    let mut a = Trainer::new(f32_ckpt.model, cfg.clone(), enc.clone(), eos, 3).unwrap();
    let mut b = Trainer::new(bf16_ckpt.model, cfg, enc, eos, 3).unwrap();
    while !a.done() {
        let (x, y) = (a.step().unwrap(), b.step().unwrap());
        assert_eq!(x.loss, y.loss, "{x:?} vs {y:?}");
    }
}
