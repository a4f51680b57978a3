//! `objective = "sft"` on the tiny fixture checkpoints: `best` is exactly `rrtf`'s fine-tuning
//! term on the same batch (and PyTorch's, `scripts/make_train_fixtures.py`); `all` is the mean
//! over a group's responses of each one's token-sum cross-entropy, computed by hand from the
//! PyTorch fixture's length-normalised log-probs; `teachers` trains on exactly the teacher
//! responses, read from `details[i].role`; groups without one are dropped and counted, and an
//! input without roles is refused with what to do.

use std::path::PathBuf;

use rrtf_config::{PairReduction, SftNormalize, SftResponses};
use rrtf_model::{Checkpoint, Device};
use rrtf_train::{EncodedGroup, LossConfig, RankTerm, Role, Trainer, batch_loss, sft_targets};
use serde_json::Value;

use crate::common;

use common::{check, expected, fixtures, values};

fn load(name: &str, path: &std::path::Path) -> (Checkpoint, Vec<EncodedGroup>) {
    let (ckpt, enc, stats) = common::load(name, path, &Device::flex());
    assert_eq!(stats.groups_dropped, 0);
    (ckpt, enc)
}

fn sft(responses: SftResponses, sft_normalize: SftNormalize, sft_weight: f64) -> LossConfig {
    LossConfig {
        term: RankTerm::Sft { responses },
        rank_weight: 1.0,
        sft_weight,
        pair_reduction: PairReduction::Sum,
        sft_normalize,
    }
}

#[test]
fn sft_from_the_training_section() {
    let mut t = rrtf_config::Training {
        objective: rrtf_config::Objective::Sft,
        ..Default::default()
    };
    // Unset: every response, token sum (as rrtf's fine-tuning term).
    assert_eq!(
        LossConfig::from_training(&t).unwrap(),
        sft(SftResponses::All, SftNormalize::Sum, 1.0)
    );
    t.sft_responses = Some(SftResponses::Teachers);
    t.sft_normalize = Some(SftNormalize::Mean);
    assert_eq!(
        LossConfig::from_training(&t).unwrap(),
        sft(SftResponses::Teachers, SftNormalize::Mean, 1.0)
    );
}

#[test]
fn sft_best_is_the_rrtf_fine_tuning_term_on_the_same_batch() {
    let exp = expected();
    for model in ["mqa", "mha"] {
        let (ckpt, enc) = load(model, &fixtures().join("groups.jsonl"));
        let eos = ckpt.tokenizer.eos_id();
        // Group 4 ranks its second response first: "best" must pick it, not index 0.
        assert_eq!(enc[4].best, 1);
        assert_eq!(sft_targets(&enc[4], SftResponses::Best).unwrap(), vec![1]);
        let rrtf = batch_loss(&ckpt.model, &enc, &LossConfig::RRTF, eos).unwrap();
        let out = batch_loss(
            &ckpt.model,
            &enc,
            &sft(SftResponses::Best, SftNormalize::Sum, 1.0),
            eos,
        )
        .unwrap();
        let (got, rrtf_sft) = (values(out.sft), values(rrtf.sft));
        assert_eq!(got, rrtf_sft, "{model}: the same batch, the same term");
        let rows = exp["models"][model]["groups"]["rrtf"].as_array().unwrap();
        let per_token = values(rrtf.sft_per_token.clone());
        for (k, row) in rows.iter().enumerate() {
            check(
                &format!("{model} group {k} sft against PyTorch"),
                got[k],
                row["sft_loss"].as_f64().unwrap(),
            );
            // Per token: minus the best response's length-normalised log-prob.
            check(
                &format!("{model} group {k} sft per token against PyTorch"),
                per_token[k],
                -row["p"][enc[k].best].as_f64().unwrap(),
            );
        }
        assert!(
            values(out.rank).iter().all(|&r| r == 0.0),
            "no ranking term"
        );
        let mean = got.iter().sum::<f64>() / got.len() as f64;
        check(&format!("{model} batch loss"), values(out.loss)[0], mean);
        // Preference accuracy is still measured on the same pairs and values.
        assert_eq!(out.pairs, rrtf.pairs);
        assert_eq!(values(out.p), values(rrtf.p));
    }
}

#[test]
fn sft_all_is_the_mean_of_each_responses_cross_entropy_by_hand() {
    let exp = expected();
    for model in ["mqa", "mha"] {
        let (ckpt, enc) = load(model, &fixtures().join("groups.jsonl"));
        let eos = ckpt.tokenizer.eos_id();
        let rows = exp["models"][model]["groups"]["rrtf"].as_array().unwrap();
        for (normalize, weight) in [(SftNormalize::Sum, 1.0), (SftNormalize::Mean, 0.5)] {
            let out = batch_loss(
                &ckpt.model,
                &enc,
                &sft(SftResponses::All, normalize, weight),
                eos,
            )
            .unwrap();
            let got = values(out.sft);
            let per_token = values(out.sft_per_token);
            let mut want_loss = 0.0;
            for (k, (g, row)) in enc.iter().zip(rows).enumerate() {
                // PyTorch's p_i is the length-normalised log-prob; the token sum is p_i |y_i|.
                let p = row["p"].as_array().unwrap();
                let terms: Vec<f64> = p
                    .iter()
                    .zip(&g.responses)
                    .map(|(p, r)| {
                        let p = p.as_f64().unwrap();
                        match normalize {
                            SftNormalize::Sum => -p * r.len() as f64,
                            SftNormalize::Mean => -p,
                        }
                    })
                    .collect();
                let want = terms.iter().sum::<f64>() / terms.len() as f64;
                check(&format!("{model} {normalize:?} group {k}"), got[k], want);
                // Per token, whatever the normalisation: the mean of -p_i.
                let want_tok = -p.iter().map(|p| p.as_f64().unwrap()).sum::<f64>() / p.len() as f64;
                check(
                    &format!("{model} {normalize:?} group {k} per token"),
                    per_token[k],
                    want_tok,
                );
                want_loss += weight * want / enc.len() as f64;
            }
            check(
                &format!("{model} {normalize:?} batch loss"),
                values(out.loss)[0],
                want_loss,
            );
        }
    }
}

/// Roles from `details[i].role`, as `rrtf export --format rrtf` writes them.
fn with_roles(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("roles.jsonl");
    let line = |prompt: &str, responses: &[&str], scores: &[f64], roles: &[&str]| {
        let details: Vec<Value> = roles
            .iter()
            .map(|r| serde_json::json!({"role": r}))
            .collect();
        serde_json::json!({
            "prompt": prompt, "responses": responses, "scores": scores,
            "kind": "completion", "details": details,
        })
        .to_string()
    };
    let text = [
        line(
            "def add(a, b):\n",
            &["    return a + b\n", "    return a - b\n", "    pass\n"],
            &[1.0, -0.3, -1.0],
            &["student", "teacher", "teacher"],
        ),
        line(
            "x = ",
            &["[i * i for i in range(10)]", "None"],
            &[1.0, -1.0],
            &["student", "student"],
        ),
        line(
            "for i in range(",
            &["10): print(i)", "n):\n    total += i\n"],
            &[-1.0, 1.0],
            &["teacher", "student"],
        ),
    ]
    .join("\n");
    std::fs::write(&path, text + "\n").unwrap();
    path
}

#[test]
fn sft_teachers_trains_on_exactly_the_teacher_responses() {
    let dir = tempfile::tempdir().unwrap();
    let (ckpt, enc) = load("mqa", &with_roles(dir.path()));
    let eos = ckpt.tokenizer.eos_id();
    assert_eq!(
        enc[0].roles,
        Some(vec![Role::Student, Role::Teacher, Role::Teacher])
    );
    let cfg = sft(SftResponses::Teachers, SftNormalize::Sum, 1.0);
    assert_eq!(cfg.targets(&enc[0]).unwrap(), vec![1, 2]);
    assert_eq!(cfg.targets(&enc[1]).unwrap(), Vec::<usize>::new());
    assert_eq!(
        cfg.targets(&enc[2]).unwrap(),
        vec![0],
        "a teacher's wrong answer too"
    );
    // The all-student group is dropped and counted; the others keep their order.
    let (kept, dropped) = cfg.keep_trainable(enc.clone()).unwrap();
    assert_eq!(dropped, 1);
    assert_eq!(kept, vec![enc[0].clone(), enc[2].clone()]);
    // By hand: the summed log-probs of every response, then the teachers' mean.
    let seq = rrtf_train::loss::reference_logprobs(&ckpt.model, &kept, eos).unwrap();
    let want = [-(seq[1] as f64 + seq[2] as f64) / 2.0, -(seq[3] as f64)];
    let out = batch_loss(&ckpt.model, &kept, &cfg, eos).unwrap();
    let got = values(out.sft);
    for k in 0..2 {
        check(&format!("teachers group {k}"), got[k], want[k]);
    }
    // A batch with a group that has nothing to train on is refused, never averaged as 0.
    let err = batch_loss(&ckpt.model, &enc, &cfg, eos).unwrap_err();
    assert!(rrtf_types::UserError::is_user_error(&err));
    assert!(err.to_string().contains("no teacher response"), "{err}");
    let t = rrtf_config::Training {
        objective: rrtf_config::Objective::Sft,
        sft_responses: Some(SftResponses::Teachers),
        ..Default::default()
    };
    let device = Device::flex().autodiff();
    let model = Checkpoint::load(&rrtf_model::fixtures_dir().join("mqa"), &device)
        .unwrap()
        .model;
    let err = Trainer::new(model, t, enc, eos, 1).err().expect("refused");
    assert!(err.to_string().contains("group 1"), "{err}");
}

#[test]
fn sft_teachers_without_roles_says_what_to_give() {
    let (_, enc) = load("mqa", &fixtures().join("groups.jsonl"));
    assert_eq!(enc[0].roles, None, "the fixture names no roles");
    let cfg = sft(SftResponses::Teachers, SftNormalize::Sum, 1.0);
    let err = cfg.keep_trainable(enc).unwrap_err();
    assert!(rrtf_types::UserError::is_user_error(&err));
    let msg = err.to_string();
    for want in [
        "training.sft_responses",
        "\"teachers\"",
        "`role`",
        "rrtf export",
    ] {
        assert!(msg.contains(want), "{want} in {msg}");
    }
    // all and best need no roles.
    let (_, enc) = load("mqa", &fixtures().join("groups.jsonl"));
    for r in [SftResponses::All, SftResponses::Best] {
        let (kept, dropped) = sft(r, SftNormalize::Sum, 1.0)
            .keep_trainable(enc.clone())
            .unwrap();
        assert_eq!((kept.len(), dropped), (enc.len(), 0));
    }
}
