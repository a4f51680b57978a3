//! The loop end to end on a tiny seeded model: it learns a synthetic ranking (the loss falls
//! and held-out preference accuracy ends clearly above 0.5), and a run resumed from a
//! checkpoint ends with bit-identical weights to the uninterrupted run.

use burn::module::Module;
use rrtf_config::{Schedule, Training};
use rrtf_model::{Checkpoint, Device, weights};
use rrtf_train::{EncodedGroup, Group, Templates, Trainer, encode_groups, split};

/// Prompts differ by a task number; the best answer uses it, the others are the same weak
/// answers everywhere. Sizes vary (2 or 3 responses) and the best is not always listed first.
fn synthetic(n: usize) -> Vec<Group> {
    (0..n)
        .map(|k| {
            let good = format!("    return x + {k}\n");
            let mut g = Group::new(
                format!("# add {k} to x\ndef f(x):\n"),
                vec![good, "    print(x)\n".into(), "    pass\n".into()],
                vec![1.0, -0.3, -1.0],
            );
            if k % 3 == 0 {
                g.responses.remove(1);
                g.scores.remove(1);
            }
            if k % 2 == 1 {
                g.responses.reverse();
                g.scores.reverse();
            }
            g
        })
        .collect()
}

fn setup(device: &Device, n: usize) -> (Checkpoint, Vec<EncodedGroup>, Vec<EncodedGroup>) {
    let tok = rrtf_model::fixtures_dir().join("tokenizer.json");
    let ckpt = Checkpoint::init("tiny-mqa", &tok, None, 3, device).unwrap();
    let (enc, stats) =
        encode_groups(&synthetic(n), &ckpt.tokenizer, &Templates::verbatim(), 128).unwrap();
    assert_eq!(stats.groups, n);
    let (train, eval) = split(&enc, 0.25, 11);
    (ckpt, train, eval)
}

fn config() -> Training {
    Training {
        learning_rate: 3e-3,
        warmup_steps: 2,
        schedule: Schedule::Cosine,
        batch_size: 4,
        grad_accum: 2,
        clip_norm: 1.0,
        max_steps: Some(40),
        ..Training::default()
    }
}

#[test]
fn training_lowers_the_loss_and_learns_the_held_out_preference() {
    let device = Device::flex().autodiff();
    let (ckpt, train, eval) = setup(&device, 32);
    assert_eq!(eval.len(), 8);
    let eos = ckpt.tokenizer.eos_id();
    let mut t = Trainer::new(ckpt.model, config(), train.clone(), eos, 5).unwrap();
    let before = t.evaluate(&train).unwrap();
    let held_before = t.evaluate(&eval).unwrap();
    while !t.done() {
        let m = t.step().unwrap();
        assert!(
            m.loss.is_finite() && m.grad_norm.is_finite() && m.grad_norm > 0.0,
            "step {m:?}"
        );
    }
    let after = t.evaluate(&train).unwrap();
    let held = t.evaluate(&eval).unwrap();
    eprintln!(
        "train loss {:.3} -> {:.3}; held-out loss {:.3} -> {:.3}, accuracy {:?} -> {:?}",
        before.loss,
        after.loss,
        held_before.loss,
        held.loss,
        held_before.preference_accuracy,
        held.preference_accuracy
    );
    assert!(
        after.loss < 0.7 * before.loss,
        "train loss {} -> {}",
        before.loss,
        after.loss
    );
    assert!(
        held.loss < held_before.loss,
        "held-out loss {} -> {}",
        held_before.loss,
        held.loss
    );
    let acc = held.preference_accuracy.unwrap();
    assert!(
        acc >= 0.8,
        "held-out preference accuracy {acc} (before {:?})",
        held_before.preference_accuracy
    );
}

/// Train `cfg` (`2n` steps) in one run, checkpointing at `n`, and again as `n` steps resumed
/// from that checkpoint; both must end in the same state with bit-identical weights. Returns
/// the final and the base weights.
pub(crate) fn run_and_resume(
    cfg: Training,
    n: u64,
) -> (weights::HostTensors, weights::HostTensors) {
    let device = Device::flex().autodiff();
    let cfg = Training {
        max_steps: Some(2 * n),
        batch_size: 3,
        ..cfg
    };
    let tmp = tempfile::tempdir().unwrap();
    let (ckpt, train, _) = setup(&device, 12);
    let eos = ckpt.tokenizer.eos_id();
    let base = ckpt.model.clone();
    let mut a = Trainer::new(ckpt.model, cfg.clone(), train.clone(), eos, 9).unwrap();
    let mut dir = None;
    while !a.done() {
        a.step().unwrap();
        if a.state.step == n {
            dir = Some(a.save_checkpoint(tmp.path()).unwrap());
        }
    }
    // 9 training groups, 6 per step (3 x grad_accum 2): the run crosses epochs mid-step.
    assert!(a.state.epoch >= 1, "{:?}", a.state);
    // n more steps from the checkpoint, starting from the base model's structure.
    let mut b = Trainer::resume(&dir.unwrap(), base.clone(), cfg, train, eos).unwrap();
    assert_eq!(b.state.step, n);
    while !b.done() {
        b.step().unwrap();
    }
    assert_eq!(a.state, b.state);
    let (wa, wb) = (
        weights::export(&a.inference_model()),
        weights::export(&b.inference_model()),
    );
    for (name, ta) in &wa {
        assert_eq!(ta.data, wb[name].data, "{name} differs after resume");
    }
    (wa, weights::export(&base.valid()))
}

#[test]
fn resume_from_a_checkpoint_gives_identical_weights() {
    let (w, w0) = run_and_resume(config(), 3);
    assert_ne!(
        w["transformer.wte.weight"].data, w0["transformer.wte.weight"].data,
        "training changed nothing"
    );
}

fn lora_config() -> Training {
    Training {
        max_steps: Some(60),
        ..crate::common::tiny::lora(config())
    }
}

#[test]
fn lora_trains_only_the_adapters_and_saves_them_merged() {
    let device = Device::flex().autodiff();
    let (ckpt, train, eval) = setup(&device, 32);
    let eos = ckpt.tokenizer.eos_id();
    let (n_layer, e, inner) = (
        ckpt.config.n_layer,
        ckpt.config.n_embd,
        ckpt.config.inner_dim(),
    );
    let kv = ckpt.config.kv_heads() * ckpt.config.head_dim();
    let base = ckpt.model.clone();
    let mut t = Trainer::new(ckpt.model, lora_config(), train.clone(), eos, 5).unwrap();

    // Four projections a layer; A [d_in, 4] and B [4, d_out] each.
    let c = t.param_counts();
    assert_eq!(c.adapted, 4 * n_layer, "{c:?}");
    let per_layer = 4 * ((e + (e + 2 * kv)) + (e + e) + (e + inner) + (inner + e));
    assert_eq!(c.trainable, n_layer * per_layer, "{c:?}");
    assert_eq!(c.total, base.num_params() + c.trainable, "{c:?}");

    // B = 0 at the start: the adapted model is the base model.
    let w0 = weights::export(&base.valid());
    let start = weights::export(&t.inference_model());
    for (name, w) in &w0 {
        assert_eq!(
            w.data, start[name].data,
            "{name} changed by attaching adapters"
        );
    }

    let held_before = t.evaluate(&eval).unwrap();
    let before = t.evaluate(&train).unwrap();
    while !t.done() {
        t.step().unwrap();
    }
    let after = t.evaluate(&train).unwrap();
    let held = t.evaluate(&eval).unwrap();
    eprintln!(
        "LoRA: train loss {:.3} -> {:.3}; held-out accuracy {:?} -> {:?}",
        before.loss, after.loss, held_before.preference_accuracy, held.preference_accuracy
    );
    // Rank-4 adapters on a 32-wide model learn the ranking quickly and the fine-tuning term
    // slowly (measured: loss -9%, held-out accuracy 0.22 -> 0.72).
    assert!(
        after.loss < 0.95 * before.loss,
        "{} -> {}",
        before.loss,
        after.loss
    );
    assert!(
        held.preference_accuracy.unwrap() >= 0.7
            && held.preference_accuracy > held_before.preference_accuracy,
        "{held_before:?} -> {held:?}"
    );

    // Merged: only the four projection weights moved; embeddings, LayerNorms, biases did not.
    let merged_model = t.inference_model();
    let merged = weights::export(&merged_model);
    let target = regex_lite(rrtf_train::lora::TARGETS);
    let mut moved = 0;
    for (name, w) in &w0 {
        let key = name.trim_start_matches("transformer.");
        if target(key) {
            assert_ne!(w.data, merged[name].data, "{name} did not train");
            moved += 1;
        } else {
            assert_eq!(w.data, merged[name].data, "{name} is frozen under LoRA");
        }
    }
    assert_eq!(moved, 4 * n_layer);

    // The merged model computes what the adapted one does.
    let merged_eval = rrtf_train::evaluate(
        &merged_model,
        None,
        &eval,
        &rrtf_train::LossConfig::RRTF,
        eos,
        4,
        0,
    )
    .unwrap();
    assert!(
        (merged_eval.loss - held.loss).abs() < 1e-4 * held.loss.abs().max(1.0),
        "merged {} vs adapted {}",
        merged_eval.loss,
        held.loss
    );
}

/// `^h\.[0-9]+\.(attn\.(c_attn|c_proj)|mlp\.(c_fc|c_proj))\.weight$` without a regex crate:
/// checks the pattern's meaning independently of burn's matcher.
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    assert!(pattern.contains("c_attn") && pattern.contains("c_fc"));
    |name: &str| {
        let parts: Vec<&str> = name.split('.').collect();
        parts.len() == 5
            && parts[0] == "h"
            && parts[1].parse::<usize>().is_ok()
            && matches!(
                (parts[2], parts[3]),
                ("attn", "c_attn") | ("attn", "c_proj") | ("mlp", "c_fc") | ("mlp", "c_proj")
            )
            && parts[4] == "weight"
    }
}

#[test]
fn lora_resume_gives_identical_weights() {
    let (w, w0) = run_and_resume(lora_config(), 2);
    assert_ne!(
        w["transformer.h.0.attn.c_attn.weight"].data, w0["transformer.h.0.attn.c_attn.weight"].data,
        "the adapters changed nothing"
    );
}

#[test]
fn dpo_learns_the_held_out_preference_against_the_frozen_base() {
    let device = Device::flex().autodiff();
    let (ckpt, train, eval) = setup(&device, 32);
    let eos = ckpt.tokenizer.eos_id();
    let cfg = Training {
        objective: rrtf_config::Objective::Dpo,
        dpo_beta: 0.5,
        sft_weight: 0.0,
        ..config()
    };
    let mut t = Trainer::new(ckpt.model, cfg, train, eos, 5).unwrap();
    // The policy is the reference at the start: every implicit reward is 0, DPO is log 2 per
    // pair (summed over each group's 1 or 3 pairs), and every pair is a tie: neither right nor
    // wrong (issue 15 point 3), so there is no accuracy yet, only ties.
    let held_before = t.evaluate(&eval).unwrap();
    let mean_pairs = held_before.pairs as f64 / held_before.groups as f64;
    assert!(
        (held_before.rank_loss - mean_pairs * std::f64::consts::LN_2).abs() < 1e-5,
        "{held_before:?}"
    );
    assert_eq!(held_before.preference_accuracy, None, "{held_before:?}");
    assert_eq!(held_before.preference_ties, held_before.pairs);
    assert!(held_before.pairs > 0);
    while !t.done() {
        let m = t.step().unwrap();
        assert!(m.loss.is_finite(), "{m:?}");
    }
    let held = t.evaluate(&eval).unwrap();
    eprintln!("DPO held out: {held_before:?} -> {held:?}");
    assert!(held.rank_loss < 0.5 * held_before.rank_loss, "{held:?}");
    assert!(held.preference_accuracy.unwrap() >= 0.8, "{held:?}");
}

/// DPO starts with the policy equal to its reference, so every margin is exactly 0: the loss
/// must still have a gradient there (a kinked `max`/`|m|` formulation has none, and then the
/// adapters never move). With LoRA, B = 0 keeps the margins at 0 until the first update.
#[test]
fn dpo_with_lora_gets_gradients_from_the_first_step() {
    let device = Device::flex().autodiff();
    let ckpt = Checkpoint::load(&rrtf_model::fixtures_dir().join("mqa"), &device).unwrap();
    let groups = rrtf_train::read_jsonl(
        &rrtf_model::fixtures_dir().join("../train/groups.jsonl"),
        false,
    )
    .unwrap();
    let (enc, _) = encode_groups(&groups, &ckpt.tokenizer, &Templates::verbatim(), 128).unwrap();
    let eos = ckpt.tokenizer.eos_id();
    let cfg = Training {
        max_steps: Some(2),
        batch_size: 2,
        learning_rate: 1e-2,
        objective: rrtf_config::Objective::Dpo,
        sft_weight: 0.0,
        lora: Some(rrtf_config::Lora {
            rank: 2,
            alpha: 4.0,
            base_dtype: Default::default(),
        }),
        ..Training::default()
    };
    let (train, _) = split(&enc, 0.2, 3);
    let mut t = Trainer::new(ckpt.model, cfg, train, eos, 3).unwrap();
    for _ in 0..2 {
        let m = t.step().unwrap();
        assert!(m.grad_norm > 0.0, "no gradient at step {}: {m:?}", m.step);
    }
}

/// Issue 16 item 6: a checkpoint appears whole or not at all. Saves leave no temporary behind;
/// a temporary left by a killed save, a truncated tensor file or a half-written `state.json` is
/// never taken for a checkpoint: the newest complete one is, and resuming from a damaged one
/// fails naming the file instead of training from it.
#[test]
fn checkpoints_are_atomic_and_damaged_ones_are_skipped() {
    use rrtf_train::{checkpoint_problem, latest_checkpoint};
    let device = Device::flex().autodiff();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (ckpt, train, _) = setup(&device, 12);
    let eos = ckpt.tokenizer.eos_id();
    let base = ckpt.model.clone();
    let cfg = Training {
        max_steps: Some(4),
        batch_size: 3,
        ..config()
    };
    let mut t = Trainer::new(ckpt.model, cfg.clone(), train.clone(), eos, 9).unwrap();
    let names = || {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    t.step().unwrap();
    t.save_checkpoint(dir).unwrap();
    t.step().unwrap();
    let step2 = t.save_checkpoint(dir).unwrap();
    assert_eq!(names(), ["step-1", "step-2"]);
    assert_eq!(latest_checkpoint(dir), Some(step2.clone()));
    let copy = |to: &str| {
        let to = dir.join(to);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["model.bpk", "optim.bpk", "state.json"] {
            std::fs::copy(step2.join(f), to.join(f)).unwrap();
        }
        to
    };
    // A save killed before its rename: a temporary directory, not a checkpoint.
    copy(".step-3.tmp");
    // A truncated tensor file (what a writer killed mid-file leaves).
    let step5 = copy("step-5");
    let model = std::fs::read(step5.join("model.bpk")).unwrap();
    std::fs::write(step5.join("model.bpk"), &model[..model.len() / 2]).unwrap();
    // A half-written state.json.
    let step6 = copy("step-6");
    let state = std::fs::read_to_string(step6.join("state.json")).unwrap();
    std::fs::write(step6.join("state.json"), &state[..state.len() / 2]).unwrap();
    assert_eq!(latest_checkpoint(dir), Some(step2.clone()));
    let p5 = checkpoint_problem(&step5).unwrap();
    assert!(p5.contains("model.bpk") && p5.contains("bytes"), "{p5}");
    let p6 = checkpoint_problem(&step6).unwrap();
    assert!(p6.contains("state.json"), "{p6}");
    for damaged in [&step5, &step6] {
        let err = Trainer::resume(damaged, base.clone(), cfg.clone(), train.clone(), eos)
            .err()
            .expect("a damaged checkpoint is refused")
            .to_string();
        assert!(err.contains("earlier step-N"), "{err}");
    }
    // The next save removes the temporary and is itself complete; resuming from it works.
    t.step().unwrap();
    let step3 = t.save_checkpoint(dir).unwrap();
    assert!(
        !names().iter().any(|n| n.ends_with(".tmp")),
        "{:?}",
        names()
    );
    assert!(checkpoint_problem(&step3).is_none());
    std::fs::remove_dir_all(&step5).unwrap();
    std::fs::remove_dir_all(&step6).unwrap();
    assert_eq!(latest_checkpoint(dir), Some(step3.clone()));
    let r = Trainer::resume(&step3, base, cfg, train, eos).unwrap();
    assert_eq!(r.state, t.state);
}
