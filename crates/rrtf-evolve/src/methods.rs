//! The evolution methods (WizardCoder's five in-depth code methods, and WizardLM's in-breadth),
//! their templates from `prompts/`, and the seeded, weighted choice between them.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// `(method name as in [evolution.methods], template)`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "add_constraints",
        include_str!("../../../prompts/evol_add_constraints.txt"),
    ),
    (
        "replace_requirement",
        include_str!("../../../prompts/evol_replace_requirement.txt"),
    ),
    (
        "more_reasoning",
        include_str!("../../../prompts/evol_more_reasoning.txt"),
    ),
    (
        "erroneous_code",
        include_str!("../../../prompts/evol_erroneous_code.txt"),
    ),
    (
        "complexity",
        include_str!("../../../prompts/evol_complexity.txt"),
    ),
    (
        "in_breadth",
        include_str!("../../../prompts/evol_in_breadth.txt"),
    ),
];

/// WizardLM's equality judge (elimination rule 1); `{parent}` and `{prompt}` are filled.
pub const JUDGE_TEMPLATE: &str = include_str!("../../../prompts/evol_judge_equal.txt");

/// The evolver's system prompt (never the teacher's own `system`, which asks for code).
pub const EVOLVER_SYSTEM: &str = include_str!("../../../prompts/evol_system.txt");

/// The judge's system prompt.
pub const JUDGE_SYSTEM: &str = include_str!("../../../prompts/evol_judge_system.txt");

pub fn template(method: &str) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, t)| *t)
}

/// The request text that asks the evolver to apply `method` to `prompt`.
pub fn evolution_request(method: &str, prompt: &str) -> Option<String> {
    template(method).map(|t| t.replace("{prompt}", prompt))
}

/// The line put after a method's request when the round lists `[evolution] languages`
/// (`prompts/evol_language.txt`): the child must ask for `language`.
pub fn language_request(language: rrtf_types::Language) -> String {
    LANGUAGE_TEMPLATE
        .trim_end()
        .replace("{language}", language.title())
}

/// `prompts/evol_language.txt`.
pub const LANGUAGE_TEMPLATE: &str = include_str!("../../../prompts/evol_language.txt");

/// The judge's request comparing an evolution with its parent.
pub fn judge_request(parent: &str, child: &str) -> String {
    JUDGE_TEMPLATE
        .replace("{parent}", parent)
        .replace("{prompt}", child)
}

/// A draw in [0, 1) that depends only on its inputs: the same round seed, parent and step
/// always choose the same method, whatever the order or concurrency of the run.
pub fn unit_draw(seed: u64, parent_key: &str, step: u32) -> f64 {
    let digest = Sha256::digest(format!("{seed}\u{1f}{parent_key}\u{1f}{step}").as_bytes());
    let x = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The method for `(seed, parent, step)`, drawn with probability proportional to its weight
/// (methods with weight 0 are never drawn). `None` when every weight is 0.
pub fn choose(
    weights: &BTreeMap<String, f64>,
    seed: u64,
    parent_key: &str,
    step: u32,
) -> Option<String> {
    let total: f64 = weights.values().filter(|w| **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = unit_draw(seed, parent_key, step) * total;
    let mut last = None;
    for (m, w) in weights.iter().filter(|(_, w)| **w > 0.0) {
        if x < *w {
            return Some(m.clone());
        }
        x -= w;
        last = Some(m.clone());
    }
    last // rounding at the top end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_method_has_a_template_that_takes_the_prompt() {
        for m in rrtf_config::EVOLUTION_METHODS.iter().chain(&["in_breadth"]) {
            let t = template(m).unwrap_or_else(|| panic!("no template for {m}"));
            assert!(t.contains("{prompt}"), "{m}");
            let r = evolution_request(m, "Write a function that adds two numbers.").unwrap();
            assert!(
                r.contains("adds two numbers") && !r.contains("{prompt}"),
                "{m}"
            );
        }
        let j = judge_request("A", "B");
        assert!(j.contains("The first task:\nA") && j.contains("The second task:\nB"));
    }

    #[test]
    fn choice_is_seeded_and_follows_the_weights() {
        let weights: BTreeMap<String, f64> = [("a", 3.0), ("b", 1.0), ("off", 0.0)]
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect();
        let mut counts = BTreeMap::new();
        for i in 0..4000 {
            let m = choose(&weights, 7, &format!("p{i}"), 1).unwrap();
            *counts.entry(m).or_insert(0) += 1;
        }
        assert!(!counts.contains_key("off"), "weight 0 is never drawn");
        let a = counts["a"];
        assert!(
            (2850..3150).contains(&a),
            "a drawn {a} of 4000, expected about 3000"
        );
        // Same inputs, same method; another seed or step changes some choices.
        let pick = |seed, step| {
            (0..200)
                .map(|i| choose(&weights, seed, &format!("p{i}"), step))
                .collect::<Vec<_>>()
        };
        assert_eq!(pick(7, 1), pick(7, 1));
        assert_ne!(pick(7, 1), pick(8, 1));
        assert_ne!(pick(7, 1), pick(7, 2));
        let zero: BTreeMap<String, f64> = [("a".to_string(), 0.0)].into();
        assert_eq!(choose(&zero, 1, "p", 1), None);
    }
}
