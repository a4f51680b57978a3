//! Value checks run once after parsing. Each failure names the key path and what is allowed.

use std::collections::HashSet;

use crate::{
    DpoLoss, EVOLUTION_METHODS, Endpoint, Objective, RANKING_COMPONENTS, RankWeighting, RoundConfig,
};

type Check = Result<(), (String, String)>;

fn fail(key: impl Into<String>, message: impl Into<String>) -> Check {
    Err((key.into(), message.into()))
}

fn finite(key: &str, v: f64) -> Check {
    if v.is_finite() {
        Ok(())
    } else {
        fail(key, format!("is {v}: must be a finite number"))
    }
}

fn in_range(key: &str, v: f64, lo: f64, hi: f64) -> Check {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        fail(key, format!("is {v}: must be between {lo} and {hi}"))
    }
}

/// A config enum's own spelling (its serde name), for messages.
fn enum_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

fn objective_name(o: Objective) -> String {
    enum_name(&o)
}

/// A share in (0, 1]; `hint` says what its ends mean.
fn fraction(key: &str, v: f64, hint: &str) -> Check {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        fail(key, format!("is {v}: must be in (0, 1] ({hint})"))
    }
}

fn positive(key: &str, v: f64) -> Check {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        fail(key, format!("is {v}: must be > 0"))
    }
}

/// A device key (`training.device`, `evaluation.device`, an endpoint's `device`): the grammar
/// `rrtf_model::parse_device` reads, and, as the command line does, a refusal naming the rebuild
/// when this build lacks the device's cargo feature (`rrtf-config`'s `cuda` and `wgpu` features
/// mirror the binary's).
fn device(key: &str, spec: &str) -> Check {
    let name = rrtf_types::DeviceName::parse(spec).map_err(|m| (key.to_owned(), m))?;
    let built = match name.feature() {
        None => true,
        Some("cuda") => cfg!(feature = "cuda"),
        Some("wgpu") => cfg!(feature = "wgpu"),
        Some(_) => false,
    };
    if built {
        Ok(())
    } else {
        fail(key, name.missing_feature(spec))
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn endpoint(key: &str, e: &Endpoint) -> Check {
    if e.name.trim().is_empty() {
        return fail(format!("{key}.name"), "is empty: give the model a name");
    }
    let sources = usize::from(!e.base_url.is_empty())
        + usize::from(e.replay.is_some())
        + usize::from(e.local_model.is_some());
    if sources != 1 {
        return fail(
            format!("{key}.base_url"),
            "give exactly one of base_url (a server), replay (a file of recorded answers) and \
             local_model (a checkpoint directory served by rrtf)",
        );
    }
    if let Some(path) = e.replay.as_ref().or(e.local_model.as_ref()) {
        let field = if e.replay.is_some() {
            "replay"
        } else {
            "local_model"
        };
        if path.as_os_str().is_empty() {
            return fail(format!("{key}.{field}"), "is empty: give a path");
        }
    } else if !(e.base_url.starts_with("http://") || e.base_url.starts_with("https://")) {
        return fail(
            format!("{key}.base_url"),
            format!(
                "is `{}`: must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)",
                e.base_url
            ),
        );
    }
    if let Some(rest) = e.base_url.split("://").nth(1)
        && rest
            .split('/')
            .next()
            .is_some_and(|host| host.contains('@'))
    {
        return fail(
            format!("{key}.base_url"),
            "holds credentials: put the key in an environment variable named by api_key_env",
        );
    }
    if let Some(d) = &e.device {
        if e.local_model.is_none() {
            return fail(
                format!("{key}.device"),
                "is for a local_model endpoint (the device its `rrtf serve` loads the model on): \
                 remove it, or serve a checkpoint with local_model",
            );
        }
        device(&format!("{key}.device"), d)?;
    }
    if e.model.trim().is_empty() {
        return fail(
            format!("{key}.model"),
            "is empty: the model name the server expects",
        );
    }
    if let Some(var) = &e.api_key_env
        && !is_env_name(var)
    {
        return fail(
            format!("{key}.api_key_env"),
            "must be the NAME of an environment variable holding the key (like OPENAI_API_KEY), \
             never the key itself",
        );
    }
    if e.temperatures.is_empty() {
        return fail(
            format!("{key}.temperatures"),
            "is empty: give at least one temperature",
        );
    }
    for (i, t) in e.temperatures.iter().enumerate() {
        in_range(&format!("{key}.temperatures[{i}]"), *t, 0.0, 2.0)?;
    }
    if e.samples == 0 {
        return fail(format!("{key}.samples"), "is 0: must be at least 1");
    }
    if e.concurrency == 0 {
        return fail(format!("{key}.concurrency"), "is 0: must be at least 1");
    }
    if let Some(p) = e.top_p {
        in_range(&format!("{key}.top_p"), p, 0.0, 1.0)?;
    }
    if e.max_tokens == 0 {
        return fail(
            format!("{key}.max_tokens"),
            "is 0: must be at least 1 (the default is 1024)",
        );
    }
    if let Some(i) = e.stop.iter().flatten().position(String::is_empty) {
        return fail(
            format!("{key}.stop[{i}]"),
            "is empty: stop sequences must be non-empty (`stop = []` sends none)",
        );
    }
    positive(&format!("{key}.timeout_s"), e.timeout_s)?;
    for (k, v) in [
        ("price_per_1k_input", e.price_per_1k_input),
        ("price_per_1k_output", e.price_per_1k_output),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            return fail(format!("{key}.{k}"), format!("is {v}: must be >= 0"));
        }
    }
    Ok(())
}

impl RoundConfig {
    /// Check every value; the error is (key path, message).
    pub fn validate(&self) -> Check {
        if self.round.number < 1 {
            return fail(
                "round.number",
                format!(
                    "is {}: rounds start at 1 (round 0 holds imported data)",
                    self.round.number
                ),
            );
        }
        let mut names = HashSet::new();
        for (i, t) in self.teachers.iter().enumerate() {
            endpoint(&format!("teachers[{i}]"), t)?;
            if !names.insert(t.name.as_str()) {
                return fail(
                    format!("teachers[{i}].name"),
                    format!("`{}` is used twice: names must be unique", t.name),
                );
            }
        }
        if let Some(s) = &self.student {
            endpoint("student", s)?;
            if !names.insert(s.name.as_str()) {
                return fail(
                    "student.name",
                    format!(
                        "`{}` is also a teacher's name: names must be unique",
                        s.name
                    ),
                );
            }
        }
        let teacher_names = || {
            self.teachers
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let e = &self.evolution;
        if let Some(ev) = &e.evolver
            && self.teacher(ev).is_none()
        {
            return fail(
                "evolution.evolver",
                format!(
                    "`{ev}` is not a teacher: expected one of [{}]",
                    teacher_names()
                ),
            );
        }
        for (m, w) in &e.methods {
            if !EVOLUTION_METHODS.contains(&m.as_str()) {
                return fail(
                    format!("evolution.methods.{m}"),
                    format!(
                        "is not a method: expected one of {}",
                        EVOLUTION_METHODS.join(", ")
                    ),
                );
            }
            if !(*w >= 0.0 && w.is_finite()) {
                return fail(
                    format!("evolution.methods.{m}"),
                    format!("is {w}: weights must be >= 0"),
                );
            }
        }
        if e.enabled && e.steps == 0 {
            return fail(
                "evolution.steps",
                "is 0: must be at least 1 (to keep the seeds as they are, set evolution.enabled = false)",
            );
        }
        if e.enabled && e.methods.values().all(|w| *w == 0.0) {
            return fail(
                "evolution.methods",
                "all weights are 0: give one method a positive weight or set enabled = false",
            );
        }
        positive("evolution.max_length_ratio", e.max_length_ratio)?;
        in_range("evolution.dedup_threshold", e.dedup_threshold, 0.0, 1.0)?;
        for (i, l) in e.languages.iter().enumerate() {
            if e.languages[..i].contains(l) {
                return fail(
                    "evolution.languages",
                    format!("names {l} twice: list each language once (draws are uniform)"),
                );
            }
        }
        let d = &self.decontamination;
        if d.ngram == 0 {
            return fail(
                "decontamination.ngram",
                "is 0: must be at least 1 (13 is common)",
            );
        }
        fraction(
            "decontamination.similarity",
            d.similarity,
            "1.0: only prompts with the very same words",
        )?;
        let reason = d.reason.as_deref().map(str::trim).unwrap_or("");
        if !d.screen_round_benchmark && reason.is_empty() {
            return fail(
                "decontamination.reason",
                "is missing: `decontamination.screen_round_benchmark = false` (no screen against \
                 [round] benchmark) is accepted only with `decontamination.reason = \"...\"` saying \
                 why the benchmark cannot leak (e.g. the world's generator splits it)",
            );
        }
        if d.screen_round_benchmark && d.reason.is_some() {
            return fail(
                "decontamination.reason",
                "is set, but `decontamination.screen_round_benchmark` is true: the reason belongs \
                 to the opt-out (screen_round_benchmark = false); remove it",
            );
        }
        if let Some(t) = &self.test_synthesis.teacher
            && self.teacher(t).is_none()
        {
            return fail(
                "test_synthesis.teacher",
                format!(
                    "`{t}` is not a teacher: expected one of [{}]",
                    teacher_names()
                ),
            );
        }
        if let Some(b) = self.sampling.budget_usd {
            positive("sampling.budget_usd", b)?;
        }
        if self.sampling.max_prompts == Some(0) {
            return fail(
                "sampling.max_prompts",
                "is 0: must be at least 1 (remove the key to sample every prompt)",
            );
        }
        let x = &self.execution;
        positive("execution.timeout_s", x.timeout_s)?;
        if x.memory_mb < 64 {
            return fail(
                "execution.memory_mb",
                format!(
                    "is {}: at least 64 MiB (interpreters need it to start)",
                    x.memory_mb
                ),
            );
        }
        if x.max_output_kb == 0 {
            return fail("execution.max_output_kb", "is 0: must be at least 1");
        }
        let ev = &self.evaluation;
        if ev.samples == 0 {
            return fail("evaluation.samples", "is 0: must be at least 1");
        }
        in_range("evaluation.temperature", ev.temperature, 0.0, 2.0)?;
        if let Some(d) = &ev.device {
            device("evaluation.device", d)?;
        }
        fraction(
            "evaluation.top_p",
            ev.top_p,
            "1.0 keeps every token; 0 would keep none",
        )?;
        if ev.max_new_tokens == 0 {
            return fail("evaluation.max_new_tokens", "is 0: must be at least 1");
        }
        if ev.max_problems == Some(0) {
            return fail(
                "evaluation.max_problems",
                "is 0: must be at least 1 (remove the key to evaluate every problem)",
            );
        }
        if ev.k.is_empty() {
            return fail("evaluation.k", "is empty: give at least one k, e.g. [1]");
        }
        for (i, k) in ev.k.iter().enumerate() {
            if *k == 0 || *k > ev.samples {
                return fail(
                    format!("evaluation.k[{i}]"),
                    format!(
                        "is {k}: must be between 1 and evaluation.samples ({})",
                        ev.samples
                    ),
                );
            }
        }
        self.validate_ranking()?;
        self.validate_training()
    }

    fn validate_ranking(&self) -> Check {
        let r = &self.ranking;
        let s = &r.scores;
        for (k, v) in [
            ("compile_error", s.compile_error),
            ("runtime_error", s.runtime_error),
            ("timeout", s.timeout),
            ("memory_limit", s.memory_limit),
            ("output_limit", s.output_limit),
            ("crashed", s.crashed),
            ("test_failure", s.test_failure),
            ("partial_base", s.partial_base),
            ("partial_scale", s.partial_scale),
            ("pass", s.pass),
        ] {
            finite(&format!("ranking.scores.{k}"), v)?;
        }
        // The outcome classes, worst first: compile error < runtime error, timeout, limits and
        // crashes < test failure < partial pass (any ratio) < pass. The ranker orders by class
        // and pass ratio first whatever these numbers are; they must agree with that order so
        // that scores do too.
        let order = [
            ("compile_error", s.compile_error),
            ("runtime_error", s.runtime_error),
            ("test_failure", s.test_failure),
        ];
        for w in order.windows(2) {
            if w[0].1 >= w[1].1 {
                return fail(
                    format!("ranking.scores.{}", w[1].0),
                    format!(
                        "is {}: must be above {} ({}) to keep compile < runtime < failing < passing",
                        w[1].1, w[0].0, w[0].1
                    ),
                );
            }
        }
        for (k, v) in [
            ("timeout", s.timeout),
            ("memory_limit", s.memory_limit),
            ("output_limit", s.output_limit),
            ("crashed", s.crashed),
        ] {
            if v <= s.compile_error || v >= s.test_failure {
                return fail(
                    format!("ranking.scores.{k}"),
                    format!(
                        "is {v}: must lie strictly between compile_error ({}) and test_failure \
                         ({}), in the runtime-error class",
                        s.compile_error, s.test_failure
                    ),
                );
            }
        }
        if s.partial_scale <= 0.0 {
            return fail(
                "ranking.scores.partial_scale",
                format!(
                    "is {}: must be > 0 so more passed tests score higher",
                    s.partial_scale
                ),
            );
        }
        if s.partial_base < s.test_failure {
            return fail(
                "ranking.scores.partial_base",
                format!(
                    "is {}: must be at least test_failure ({}) so that a partial pass of any \
                     ratio scores above a test failure",
                    s.partial_base, s.test_failure
                ),
            );
        }
        if s.partial_base + s.partial_scale > s.pass {
            return fail(
                "ranking.scores.pass",
                format!(
                    "is {}: must be at least partial_base + partial_scale ({})",
                    s.pass,
                    s.partial_base + s.partial_scale
                ),
            );
        }
        if !(r.teacher_epsilon >= 0.0 && r.teacher_epsilon.is_finite()) {
            return fail(
                "ranking.teacher_epsilon",
                format!("is {}: must be >= 0", r.teacher_epsilon),
            );
        }
        for (k, w) in &r.weights {
            if !RANKING_COMPONENTS.contains(&k.as_str()) {
                return fail(
                    format!("ranking.weights.{k}"),
                    format!(
                        "is not a component: expected one of {}",
                        RANKING_COMPONENTS.join(", ")
                    ),
                );
            }
            finite(&format!("ranking.weights.{k}"), *w)?;
        }
        for (k, w) in &r.teacher_prior {
            if self.teacher(k).is_none() {
                return fail(
                    format!("ranking.teacher_prior.{k}"),
                    "is not a teacher's name",
                );
            }
            finite(&format!("ranking.teacher_prior.{k}"), *w)?;
        }
        // Heuristics and priors break ties inside an outcome class and pass ratio: the ranker
        // orders lexicographically and scales them below the smallest outcome step of each
        // prompt, so no weight can reorder classes or ratios.
        let prior = r.teacher_prior.values().fold(0.0f64, |m, v| m.max(v.abs()));
        let heuristics = r.weights.values().map(|w| w.abs()).sum::<f64>() + prior;
        // Within one outcome and ratio a teacher ranks above a student: heuristics must not
        // overturn it.
        if r.teacher_epsilon > 0.0 && heuristics >= r.teacher_epsilon {
            return fail(
                "ranking.weights",
                format!(
                    "sum to {heuristics:.3} in absolute value (with the largest teacher_prior), \
                     not below teacher_epsilon ({}): heuristics could rank a student above a \
                     teacher with the same outcome; make the weights smaller or teacher_epsilon \
                     larger (or set it to 0 to drop the teacher preference)",
                    r.teacher_epsilon
                ),
            );
        }
        if !["best-vs-worst", "best-vs-each", "all", "teacher-vs-student"]
            .contains(&r.pairs.as_str())
        {
            return fail(
                "ranking.pairs",
                format!(
                    "is `{}`: expected best-vs-worst, best-vs-each, all or teacher-vs-student",
                    r.pairs
                ),
            );
        }
        if !(r.min_gap >= 0.0 && r.min_gap.is_finite()) {
            return fail("ranking.min_gap", format!("is {}: must be >= 0", r.min_gap));
        }
        Ok(())
    }

    fn validate_training(&self) -> Check {
        let t = &self.training;
        positive("training.learning_rate", t.learning_rate)?;
        for (k, v) in [
            ("rank_weight", t.rank_weight),
            ("sft_weight", t.sft_weight),
            ("weight_decay", t.weight_decay),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return fail(format!("training.{k}"), format!("is {v}: must be >= 0"));
            }
        }
        positive("training.dpo_beta", t.dpo_beta)?;
        if !(0.0..0.5).contains(&t.dpo_label_smoothing) {
            return fail(
                "training.dpo_label_smoothing",
                format!(
                    "is {}: must be in [0, 0.5) (0 is plain DPO)",
                    t.dpo_label_smoothing
                ),
            );
        }
        if t.dpo_label_smoothing > 0.0 && t.dpo_loss != DpoLoss::Sigmoid {
            return fail(
                "training.dpo_label_smoothing",
                format!(
                    "is {} with dpo_loss = \"ipo\": label smoothing is conservative DPO's (dpo_loss = \"sigmoid\"); set it to 0",
                    t.dpo_label_smoothing
                ),
            );
        }
        if matches!(t.objective, Objective::Dpo | Objective::Sft)
            && t.rank_weighting == RankWeighting::Gap
        {
            return fail(
                "training.rank_weighting",
                format!(
                    "is \"gap\" with objective = \"{}\": score-gap weights apply to the hinge objectives (rrtf, rrhf); remove the key",
                    objective_name(t.objective)
                ),
            );
        }
        if let Some(r) = t.sft_responses
            && t.objective != Objective::Sft
        {
            return fail(
                "training.sft_responses",
                format!(
                    "is \"{}\" with objective = \"{}\": it chooses the responses of objective = \"sft\"; set objective = \"sft\" or remove the key",
                    enum_name(&r),
                    objective_name(t.objective)
                ),
            );
        }
        if t.objective == Objective::Sft && t.sft_weight == 0.0 {
            return fail(
                "training.sft_weight",
                "is 0 with objective = \"sft\": the fine-tuning term is the whole loss, so nothing would train; remove the key (default 1)",
            );
        }
        for (k, v) in [("beta1", t.beta1), ("beta2", t.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return fail(
                    format!("training.{k}"),
                    format!("is {v}: must be in [0, 1)"),
                );
            }
        }
        positive("training.epsilon", t.epsilon)?;
        if t.batch_size == 0 || t.grad_accum == 0 || t.epochs == 0 {
            return fail(
                "training",
                "batch_size, grad_accum and epochs must be at least 1",
            );
        }
        if t.max_length < 8 {
            return fail(
                "training.max_length",
                format!("is {}: must be at least 8 tokens", t.max_length),
            );
        }
        if !(t.clip_norm >= 0.0 && t.clip_norm.is_finite()) {
            return fail(
                "training.clip_norm",
                format!("is {}: must be >= 0 (0 turns clipping off)", t.clip_norm),
            );
        }
        if !(0.0..1.0).contains(&t.eval_fraction) {
            return fail(
                "training.eval_fraction",
                format!("is {}: must be in [0, 1)", t.eval_fraction),
            );
        }
        for (key, template) in [
            ("training.prompt_template", &t.prompt_template),
            ("training.completion_template", &t.completion_template),
        ] {
            if !template.contains("{prompt}") {
                return fail(key, "must contain `{prompt}` where the prompt goes");
            }
        }
        if let Some(why) = t.device_conflict() {
            return fail("training.lora.base_dtype", why);
        }
        device("training.device", &t.device)?;
        for d in &t.devices {
            device("training.devices", d)?;
        }
        if t.devices.len() == 1 {
            return fail(
                "training.devices",
                format!(
                    "names one device ({:?}): use `device = {:?}`, or list two or more to train \
                     data-parallel",
                    t.devices[0], t.devices[0]
                ),
            );
        }
        if let Some(l) = &t.lora {
            if l.rank == 0 {
                return fail("training.lora.rank", "is 0: must be at least 1");
            }
            positive("training.lora.alpha", l.alpha)?;
        }
        if t.checkpoint_every == 0 {
            return fail("training.checkpoint_every", "is 0: must be at least 1");
        }
        if t.max_steps == Some(0) {
            return fail(
                "training.max_steps",
                "is 0: must be at least 1 (remove the key to train for `epochs`)",
            );
        }
        if t.keep_checkpoints == 0 {
            return fail(
                "training.keep_checkpoints",
                "is 0: must be at least 1 (the last checkpoint is what a stopped run resumes from)",
            );
        }
        if let Some(r) = &t.rounds {
            if r.is_empty() {
                return fail(
                    "training.rounds",
                    "is empty: list rounds (e.g. [0, 1]) or remove the key for every round",
                );
            }
            if let Some(bad) = r.iter().find(|&&n| n < 0) {
                return fail(
                    "training.rounds",
                    format!("contains {bad}: rounds are numbered from 0"),
                );
            }
        }
        Ok(())
    }
}
