//! Data parallelism (`training.devices`) on the devices this machine has: several replicas on
//! flex. A step split over devices is the step on one device: losses and gradient norms within
//! 1e-5 relative (float rounding: shards pad to their own length and add in another order;
//! measured about 1e-7), the pairs, tokens and preference accuracy equal, and the weights
//! within 1e-3 after a few steps (AdamW divides by the root of the second moment, so where a
//! gradient is near zero a rounding difference can move an update by up to the learning rate,
//! 3e-3 here; measured up to 5e-5). Checked for RRTF with uneven shards and gradient
//! accumulation, LoRA, and DPO (whose frozen reference is replicated too). After every step
//! each replica holds exactly the first device's weights, and a data-parallel run resumes from
//! its checkpoint on one device or three.

use burn::module::Module;
use rrtf_config::{Schedule, Training};
use rrtf_model::{Checkpoint, Device, weights};
use rrtf_train::{EncodedGroup, Trainer};

fn setup(device: &Device) -> (Checkpoint, Vec<EncodedGroup>) {
    crate::common::tiny::setup(device, 16)
}

fn config(steps: u64) -> Training {
    Training {
        learning_rate: 3e-3,
        warmup_steps: 1,
        schedule: Schedule::Cosine,
        // 5 groups a micro-batch: over 2 devices 3 + 2, over 3 devices 2 + 2 + 1.
        batch_size: 5,
        grad_accum: 2,
        clip_norm: 1.0,
        max_steps: Some(steps),
        ..Training::default()
    }
}

fn trainer(cfg: &Training, replicas: usize) -> Trainer {
    let device = Device::flex().autodiff();
    let (ckpt, train) = setup(&device);
    let t = Trainer::new(ckpt.model, cfg.clone(), train, ckpt.tokenizer.eos_id(), 5).unwrap();
    t.data_parallel(&vec![device; replicas])
}

fn max_diff(a: &weights::HostTensors, b: &weights::HostTensors) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .flat_map(|(name, t)| t.data.iter().zip(&b[name].data).map(|(x, y)| (x - y).abs()))
        .fold(0.0, f32::max)
}

/// Every step's metrics of `cfg` on one device and over `1 + replicas` devices agree, and each
/// replica equals the first device's model after every step.
fn check(what: &str, cfg: Training, replicas: usize) {
    let mut one = trainer(&cfg, 0);
    let mut many = trainer(&cfg, replicas);
    assert_eq!(many.devices().len(), 1 + replicas);
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(1e-6);
    while !one.done() {
        let (a, b) = (one.step().unwrap(), many.step().unwrap());
        eprintln!(
            "{what}, {} devices, step {}: loss {:.7} vs {:.7}, grad norm {:.6} vs {:.6}, \
             rank {:.6} vs {:.6}, pairs {} vs {}",
            1 + replicas,
            a.step,
            a.loss,
            b.loss,
            a.grad_norm,
            b.grad_norm,
            a.rank_loss,
            b.rank_loss,
            a.pairs,
            b.pairs
        );
        assert!(rel(a.loss, b.loss) < 1e-5, "{what}: loss {a:?} vs {b:?}");
        assert!(rel(a.grad_norm, b.grad_norm) < 1e-4, "{what}: grad norm");
        assert!((a.rank_loss - b.rank_loss).abs() < 1e-5 * a.rank_loss.abs().max(1.0));
        assert!((a.sft_loss - b.sft_loss).abs() < 1e-5 * a.sft_loss.abs().max(1.0));
        assert_eq!((a.pairs, a.tokens), (b.pairs, b.tokens), "{what}");
        assert_eq!(a.preference_accuracy, b.preference_accuracy, "{what}");
        let first = weights::export(&many.inference_model());
        for (k, r) in many.replicas().enumerate() {
            let d = max_diff(&first, &weights::export(&r.valid().materialize()));
            assert_eq!(
                d,
                0.0,
                "{what}: replica {} differs from the first by {d}",
                k + 1
            );
        }
    }
    assert!(many.done());
    assert_eq!(one.state, many.state, "{what}");
    let d = max_diff(
        &weights::export(&one.inference_model()),
        &weights::export(&many.inference_model()),
    );
    eprintln!(
        "{what}, {} devices: final weights within {d:.1e}",
        1 + replicas
    );
    assert!(d < 1e-3, "{what}: final weights differ by {d}");
}

#[test]
fn a_step_over_several_devices_is_the_step_on_one() {
    check("rrtf", config(3), 1);
    check("rrtf", config(3), 2);
    // More devices than groups in a micro-batch: the last ones sit the step out.
    check("rrtf, 5 groups over 7 devices", config(2), 6);
}

#[test]
fn data_parallel_lora_and_dpo_are_their_one_device_runs() {
    let lora = crate::common::tiny::lora(config(3));
    check("rrtf + LoRA", lora, 1);
    let dpo = Training {
        objective: rrtf_config::Objective::Dpo,
        dpo_beta: 0.5,
        ..config(3)
    };
    check("dpo", dpo, 2);
}

/// A checkpoint of a two-device run resumes on one device (and the other way round) and ends
/// where the uninterrupted run ends.
#[test]
fn a_data_parallel_checkpoint_resumes_with_another_device_count() {
    let cfg = config(4);
    let tmp = tempfile::tempdir().unwrap();
    let mut whole = trainer(&cfg, 1);
    let mut ckpt = None;
    while !whole.done() {
        let m = whole.step().unwrap();
        if m.step == 2 {
            ckpt = Some(whole.save_checkpoint(tmp.path()).unwrap());
        }
    }
    let device = Device::flex().autodiff();
    for replicas in [0, 2] {
        let (c, train) = setup(&device);
        let eos = c.tokenizer.eos_id();
        let mut resumed = Trainer::resume(ckpt.as_ref().unwrap(), c.model, cfg.clone(), train, eos)
            .unwrap()
            .data_parallel(&vec![device.clone(); replicas]);
        while !resumed.done() {
            resumed.step().unwrap();
        }
        assert_eq!(resumed.state, whole.state);
        let d = max_diff(
            &weights::export(&whole.inference_model()),
            &weights::export(&resumed.inference_model()),
        );
        assert!(
            d < 1e-3,
            "resumed over {} devices: weights differ by {d}",
            1 + replicas
        );
    }
}
