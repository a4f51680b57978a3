//! Ranked groups in, token ids out: the prompt templates (one per prompt kind), the text choice
//! (extracted code or raw), the pairs the loss sums over, tokenization as `rrtf model logprobs`
//! does it, the max-length rule, and the held-out split by lineage.
//!
//! Pairs: a group's `pairs` are `(better, worse)` indices into its responses, exactly the pairs
//! the loss sums over. `rrtf export --format rrtf` writes the ranking config's pairs
//! (`ranking.pairs`, `ranking.min_gap`, reviews applied) on each line; a line without `pairs`
//! (a hand-written file) gets every pair with a strictly greater score ([`derived_pairs`]).
//! Given pairs are checked: indices in range, `i != j`, each pair once. Their scores are not
//! required to be ordered: after a reviewer's pin or reorder each response keeps its own ranker
//! score, and the pair (the reviewer's order) decides.
//!
//! The fine-tuning target (the best response): the first response of the best preference tier
//! when every `details[i]` carries a `tier` (lower is better; the export's effective tiers,
//! reviews applied), else the first of the highest scores.
//!
//! Max length (prompt + response + end-of-text, in tokens): a response that does not fit after
//! its prompt is dropped from its group, never cut (a cut response would be trained without its
//! end-of-text under a full response's score), and counted in
//! [`EncodeStats::responses_dropped`]; pairs naming it go with it (the others are renumbered).
//! A group that lost responses is dropped ([`EncodeStats::groups_dropped`]) when fewer than two
//! remain or when none of its top-scored responses remains (its fine-tuning target would
//! otherwise become a worse response). A group of one response that fits is kept (fine-tuning
//! only).
//!
//! Templates: `instruction` prompts go through `training.prompt_template` (PanGu-Coder2 wraps
//! them in triple quotes), `completion` prompts (a signature and docstring to continue, as
//! HumanEval's) through `training.completion_template` (verbatim by default: triple quotes
//! around a prompt that holds its own docstring would clash with it). A line without `kind` is
//! an instruction.
//!
//! Held-out split ([`split_groups`]): whole lineages are held out. Groups that share a
//! `lineage` key (a seed prompt and all its evolutions) or the same prompt text (from any
//! source) are one component (union-find), so no held-out prompt shares a root or a text with a
//! training prompt. Without `lineage` a group's key is its prompt text.
//!
//! Not here: reading the store (the binary does that through rrtf-data) and the loss.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use rrtf_model::{CodeTokenizer, TokenPair};
// The one prompt kind (rrtf-types'), as the store keeps it.
use rrtf_types::Language;
pub use rrtf_types::PromptKind;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Who wrote a response (`details[i].role` of an `rrtf` export): what `sft_responses =
/// "teachers"` selects on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Teacher,
    Student,
}

/// A prompt with its responses and their scores (higher is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub prompt: String,
    pub responses: Vec<String>,
    pub scores: Vec<f64>,
    /// `(better, worse)` response indices the loss sums over; `None`: [`derived_pairs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<(usize, usize)>>,
    #[serde(default)]
    pub kind: PromptKind,
    /// The root seed's key, shared by a seed prompt and all its evolutions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// Preference tier per response (lower is better), when the line's details carry them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<i64>>,
    /// Role per response, when every line's detail names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    /// The language the prompt asks for (the export's `language`; Python when a line has none):
    /// what `{language}` and `{language_tag}` in the templates say.
    #[serde(default = "python")]
    pub language: Language,
}

fn python() -> Language {
    Language::Python
}

impl Group {
    /// An instruction group without explicit pairs or lineage.
    pub fn new(prompt: impl Into<String>, responses: Vec<String>, scores: Vec<f64>) -> Self {
        Group {
            prompt: prompt.into(),
            responses,
            scores,
            pairs: None,
            kind: PromptKind::Instruction,
            lineage: None,
            tiers: None,
            roles: None,
            language: Language::Python,
        }
    }

    /// Indices of the best responses: the lowest tier when tiers are given, else the highest
    /// score. The fine-tuning target is the first of them.
    pub fn best_set(&self) -> Vec<usize> {
        let n = self.responses.len();
        match &self.tiers {
            Some(t) => {
                let top = t.iter().copied().min().unwrap_or(0);
                (0..n).filter(|&i| t[i] == top).collect()
            }
            None => {
                let top = self
                    .scores
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max);
                (0..n).filter(|&i| self.scores[i] == top).collect()
            }
        }
    }

    /// The pairs the loss sums over: the given ones, or every strictly ordered pair.
    pub fn resolved_pairs(&self) -> Vec<(usize, usize)> {
        match &self.pairs {
            Some(p) => p.clone(),
            None => derived_pairs(&self.scores),
        }
    }
}

/// Every `(i, j)` with `r_i > r_j`, in index order: the pairs of a group that names none.
pub fn derived_pairs(scores: &[f64]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, &ri) in scores.iter().enumerate() {
        for (j, &rj) in scores.iter().enumerate() {
            if ri > rj {
                out.push((i, j));
            }
        }
    }
    out
}

/// A [`Group`] as token ids. Every response ends with end-of-text.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedGroup {
    pub prompt_ids: Vec<u32>,
    pub responses: Vec<Vec<u32>>,
    pub scores: Vec<f64>,
    /// `(better, worse)` indices into `responses`.
    pub pairs: Vec<(usize, usize)>,
    /// The fine-tuning target ([`Group::best_set`]'s first).
    pub best: usize,
    /// Role per response, when the group's line named them ([`Group::roles`]).
    pub roles: Option<Vec<Role>>,
}

impl EncodedGroup {
    /// (prompt, response) pairs in response order, as the model crate batches them.
    pub fn pairs(&self) -> Vec<TokenPair> {
        self.responses
            .iter()
            .map(|r| TokenPair {
                prompt_ids: self.prompt_ids.clone(),
                response_ids: r.clone(),
            })
            .collect()
    }

    /// Response tokens (the trained-on tokens) of the group.
    pub fn response_tokens(&self) -> usize {
        self.responses.iter().map(Vec::len).sum()
    }
}

/// Mixed into the seed so the split and the epoch shuffles draw different streams.
const SPLIT_SALT: u64 = 0x5eed_0000_0000_0001;

/// What [`encode_groups`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodeStats {
    /// Groups kept.
    pub groups: usize,
    /// Groups dropped: fewer than two responses fit, or none of the best did.
    pub groups_dropped: usize,
    /// Responses dropped because they do not fit `max_length` after their prompt (in kept and
    /// dropped groups).
    pub responses_dropped: usize,
    /// Pairs the loss sums over, in the kept groups.
    pub pairs: usize,
    /// Pairs that named a dropped response (in kept groups).
    pub pairs_dropped: usize,
}

/// Sum of two counts (the train and held-out sets are encoded apart).
impl std::ops::Add for EncodeStats {
    type Output = EncodeStats;

    fn add(self, o: EncodeStats) -> EncodeStats {
        EncodeStats {
            groups: self.groups + o.groups,
            groups_dropped: self.groups_dropped + o.groups_dropped,
            responses_dropped: self.responses_dropped + o.responses_dropped,
            pairs: self.pairs + o.pairs,
            pairs_dropped: self.pairs_dropped + o.pairs_dropped,
        }
    }
}

/// One line of an `rrtf`-format JSONL file (`rrtf export --format rrtf`); other keys are ignored.
#[derive(Debug, Deserialize)]
struct Line {
    prompt: String,
    responses: Vec<String>,
    scores: Vec<f64>,
    #[serde(default)]
    pairs: Option<Vec<(usize, usize)>>,
    #[serde(default)]
    kind: Option<PromptKind>,
    #[serde(default)]
    lineage: Option<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
    #[serde(default)]
    language: Option<String>,
}

/// Read groups from an `rrtf`-format JSONL file. With `code_only`, a response is replaced by
/// its `details[i].code` when the row carries one (the export's `--text code` already did it).
pub fn read_jsonl(path: &Path, code_only: bool) -> Result<Vec<Group>> {
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| TrainError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let what = || format!("{} line {}", path.display(), n + 1);
        let row: Line = serde_json::from_str(&line).map_err(|e| {
            TrainError::input(
                what(),
                format!(
                    "{e}: each line must be {{\"prompt\", \"responses\": [..], \"scores\": [..]}} \
                     (optional: \"pairs\": [[better, worse], ..], \"kind\": \"instruction\" or \
                     \"completion\", \"lineage\": \"key\", \"language\": \"cpp\")"
                ),
            )
        })?;
        let mut responses = row.responses;
        let tiers: Option<Vec<i64>> = (!row.details.is_empty()
            && row.details.len() == responses.len())
        .then(|| {
            row.details
                .iter()
                .map(|d| d.get("tier").and_then(|t| t.as_i64()))
                .collect()
        })
        .flatten();
        let roles: Option<Vec<Role>> = (!row.details.is_empty()
            && row.details.len() == responses.len())
        .then(|| {
            row.details
                .iter()
                .map(|d| {
                    d.get("role")
                        .and_then(|r| serde_json::from_value(r.clone()).ok())
                })
                .collect()
        })
        .flatten();
        if code_only {
            for (r, d) in responses.iter_mut().zip(&row.details) {
                if let Some(code) = d.get("code").and_then(|c| c.as_str()) {
                    *r = code.to_owned();
                }
            }
        }
        let language = match row.language.as_deref() {
            None => Language::Python,
            Some(l) => Language::parse(l).map_err(|e| TrainError::input(what(), e.to_string()))?,
        };
        let group = Group {
            language,
            prompt: row.prompt,
            responses,
            scores: row.scores,
            pairs: row.pairs,
            kind: row.kind.unwrap_or_default(),
            lineage: row.lineage,
            tiers,
            roles,
        };
        check_group(&group).map_err(|m| TrainError::input(what(), m))?;
        out.push(group);
    }
    Ok(out)
}

/// A group is trainable when it has a response, one finite score (and tier, if any) per
/// response, and its pairs (if given) name two different responses in range, each pair once.
pub fn check_group(g: &Group) -> Result<(), String> {
    if g.responses.is_empty() {
        return Err("no responses: a group needs at least one".into());
    }
    if g.responses.len() != g.scores.len() {
        return Err(format!(
            "{} responses but {} scores: give one score per response",
            g.responses.len(),
            g.scores.len()
        ));
    }
    if let Some(s) = g.scores.iter().find(|s| !s.is_finite()) {
        return Err(format!("score {s} is not a finite number"));
    }
    let n = g.responses.len();
    if let Some(t) = &g.tiers
        && t.len() != n
    {
        return Err(format!(
            "{n} responses but {} tiers: give one tier per response",
            t.len()
        ));
    }
    if let Some(r) = &g.roles
        && r.len() != n
    {
        return Err(format!(
            "{n} responses but {} roles: give one role per response",
            r.len()
        ));
    }
    let mut seen = HashSet::new();
    for &(i, j) in g.pairs.iter().flatten() {
        if i >= n || j >= n {
            return Err(format!(
                "pair [{i}, {j}]: the group has {n} responses (indices 0 to {}): pairs index \
                 into `responses`",
                n - 1
            ));
        }
        if i == j {
            return Err(format!(
                "pair [{i}, {j}] pairs a response with itself: give two different responses"
            ));
        }
        if !seen.insert((i, j)) {
            return Err(format!("pair [{i}, {j}] is listed twice: each pair once"));
        }
    }
    Ok(())
}

/// The prompt templates, one per prompt kind: `{prompt}` is replaced by the prompt,
/// `{language}` by the language it asks for ([`Language::title`]: `C++`), `{language_tag}` by
/// CodeGeeX's tag line for it ([`Language::tag_line`]: `// language: C++` and a newline, the
/// line `rrtf eval --language-tag` puts before a benchmark prompt).
#[derive(Debug, Clone, PartialEq)]
pub struct Templates {
    pub instruction: String,
    pub completion: String,
}

impl Templates {
    /// `training.prompt_template` and `training.completion_template`.
    pub fn from_training(t: &rrtf_config::Training) -> Self {
        Templates {
            instruction: t.prompt_template.clone(),
            completion: t.completion_template.clone(),
        }
    }

    /// Every prompt as is (as `rrtf model logprobs` scores it).
    pub fn verbatim() -> Self {
        Templates {
            instruction: "{prompt}".into(),
            completion: "{prompt}".into(),
        }
    }

    /// When `groups` ask for more than one language and the template of a kind they use says
    /// none (no `{language}` or `{language_tag}`): the warning to print (the model would not be
    /// told which language each prompt wants).
    pub fn silent_about_language(&self, groups: &[Group]) -> Option<String> {
        let languages: std::collections::BTreeSet<&str> =
            groups.iter().map(|g| g.language.name()).collect();
        if languages.len() < 2 {
            return None;
        }
        let silent: Vec<&str> = [
            (
                PromptKind::Instruction,
                "training.prompt_template",
                &self.instruction,
            ),
            (
                PromptKind::Completion,
                "training.completion_template",
                &self.completion,
            ),
        ]
        .into_iter()
        .filter(|(kind, _, t)| {
            !t.contains("{language}")
                && !t.contains("{language_tag}")
                && groups.iter().any(|g| g.kind == *kind)
        })
        .map(|(_, key, _)| key)
        .collect();
        (!silent.is_empty()).then(|| {
            format!(
                "warning: the groups ask for {} languages ({}) but {} names none: put \
                 `{{language}}` (e.g. `Write it in {{language}}.`) or `{{language_tag}}` \
                 (CodeGeeX's `// language: C++` line, what `rrtf eval --language-tag` puts \
                 before a prompt) in it",
                languages.len(),
                languages.into_iter().collect::<Vec<_>>().join(", "),
                silent.join(" and ")
            )
        })
    }

    /// The model's input for `prompt` of `kind`, asking for `language`. The placeholders are
    /// filled in one pass, so a prompt that contains `{language}` is kept as it is.
    pub fn apply(&self, kind: PromptKind, prompt: &str, language: Language) -> String {
        let t = match kind {
            PromptKind::Instruction => &self.instruction,
            PromptKind::Completion => &self.completion,
        };
        rrtf_types::template::fill(t, prompt, language)
    }
}

/// One group after [`encode_group`]: kept (maybe without some responses) or dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoded {
    Kept {
        group: EncodedGroup,
        /// Indices (in the input group) of the responses dropped for length.
        dropped: Vec<usize>,
        /// Pairs that named a dropped response.
        pairs_dropped: usize,
    },
    Dropped {
        /// Why, for reports.
        reason: String,
        /// Indices of the responses that did not fit.
        dropped: Vec<usize>,
    },
}

/// Template and tokenize one checked group, applying the max-length rule (module doc).
pub fn encode_group(
    g: &Group,
    tok: &CodeTokenizer,
    templates: &Templates,
    max_len: usize,
) -> Result<Encoded> {
    check_group(g).map_err(|m| TrainError::input(format!("prompt {:?}", g.prompt), m))?;
    let prompt = templates.apply(g.kind, &g.prompt, g.language);
    let mut prompt_ids = Vec::new();
    let mut all = Vec::with_capacity(g.responses.len());
    for r in &g.responses {
        let pair = TokenPair::encode(tok, &prompt, r)?;
        prompt_ids = pair.prompt_ids;
        all.push(pair.response_ids);
    }
    let fits: Vec<bool> = all
        .iter()
        .map(|r| prompt_ids.len() + r.len() <= max_len)
        .collect();
    let dropped: Vec<usize> = (0..all.len()).filter(|&i| !fits[i]).collect();
    let kept: Vec<usize> = (0..all.len()).filter(|&i| fits[i]).collect();
    let best_set = g.best_set();
    if !dropped.is_empty() {
        let reason = if kept.len() < 2 {
            Some(format!(
                "{} of {} responses do not fit max_length {max_len} after the prompt's {} \
                 tokens: fewer than two remain",
                dropped.len(),
                all.len(),
                prompt_ids.len()
            ))
        } else if !best_set.iter().any(|&i| fits[i]) {
            Some(format!(
                "the best response does not fit max_length {max_len} after the prompt's {} \
                 tokens",
                prompt_ids.len()
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok(Encoded::Dropped { reason, dropped });
        }
    }
    let mut new_index = vec![usize::MAX; all.len()];
    for (k, &i) in kept.iter().enumerate() {
        new_index[i] = k;
    }
    let resolved = g.resolved_pairs();
    let pairs: Vec<(usize, usize)> = resolved
        .iter()
        .filter(|&&(i, j)| fits[i] && fits[j])
        .map(|&(i, j)| (new_index[i], new_index[j]))
        .collect();
    let pairs_dropped = resolved.len() - pairs.len();
    let best = best_set
        .iter()
        .find(|&&i| fits[i])
        .map(|&i| new_index[i])
        .expect("a kept group keeps one of its best");
    let mut responses = Vec::with_capacity(kept.len());
    let mut scores = Vec::with_capacity(kept.len());
    for (i, r) in all.into_iter().enumerate() {
        if fits[i] {
            responses.push(r);
            scores.push(g.scores[i]);
        }
    }
    let roles = g
        .roles
        .as_ref()
        .map(|r| kept.iter().map(|&i| r[i]).collect());
    Ok(Encoded::Kept {
        group: EncodedGroup {
            prompt_ids,
            responses,
            scores,
            pairs,
            best,
            roles,
        },
        dropped,
        pairs_dropped,
    })
}

/// [`encode_group`] over `groups`: the kept groups and what was dropped.
pub fn encode_groups(
    groups: &[Group],
    tok: &CodeTokenizer,
    templates: &Templates,
    max_len: usize,
) -> Result<(Vec<EncodedGroup>, EncodeStats)> {
    let mut stats = EncodeStats::default();
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        match encode_group(g, tok, templates, max_len)? {
            Encoded::Kept {
                group,
                dropped,
                pairs_dropped,
            } => {
                stats.responses_dropped += dropped.len();
                stats.pairs += group.pairs.len();
                stats.pairs_dropped += pairs_dropped;
                out.push(group);
            }
            Encoded::Dropped { dropped, .. } => {
                stats.groups_dropped += 1;
                stats.responses_dropped += dropped.len();
            }
        }
    }
    stats.groups = out.len();
    Ok((out, stats))
}

/// Seeded split into (train, held out) where each item is its own component: `fraction` of
/// the items (rounded, at least one when `fraction > 0` and there are two or more) are held out.
pub fn split<T: Clone>(items: &[T], fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
    let keys: Vec<Vec<String>> = (0..items.len()).map(|i| vec![i.to_string()]).collect();
    split_by_keys(items, &keys, fraction, seed)
}

/// Seeded split of groups into (train, held out) by lineage (module doc): a group's keys are
/// its `lineage` and its prompt text, and groups sharing any key are held out together.
pub fn split_groups(groups: &[Group], fraction: f64, seed: u64) -> (Vec<Group>, Vec<Group>) {
    let keys: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut k = vec![format!("text:{}", g.prompt.trim())];
            if let Some(l) = &g.lineage {
                k.push(format!("lineage:{l}"));
            }
            k
        })
        .collect();
    split_by_keys(groups, &keys, fraction, seed)
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Items sharing a key are one component; components are shuffled (seeded) and held out whole
/// while the held-out count stays within `round(len × fraction)`. When that holds out nothing
/// (every component is larger) and `fraction > 0`, the smallest component is held out, unless
/// it is the only one: training always keeps at least one component.
fn split_by_keys<T: Clone>(
    items: &[T],
    keys: &[Vec<String>],
    fraction: f64,
    seed: u64,
) -> (Vec<T>, Vec<T>) {
    let n = items.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            match first.get(k.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first.insert(k, i);
                }
            }
        }
    }
    // Components keyed by their smallest member: a stable order before the shuffle.
    let mut comps: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        comps.entry(r).or_default().push(i);
    }
    let mut comps: Vec<Vec<usize>> = comps.into_values().collect();
    comps.shuffle(&mut StdRng::seed_from_u64(seed ^ SPLIT_SALT));
    let target = (n as f64 * fraction).round() as usize;
    let mut held = vec![false; n];
    let mut n_held = 0;
    let mut held_comps = 0;
    for c in &comps {
        if n_held + c.len() <= target && held_comps + 1 < comps.len() {
            c.iter().for_each(|&i| held[i] = true);
            n_held += c.len();
            held_comps += 1;
        }
    }
    if n_held == 0 && fraction > 0.0 && comps.len() >= 2 {
        let smallest = comps.iter().min_by_key(|c| c.len()).expect("two or more");
        smallest.iter().for_each(|&i| held[i] = true);
    }
    let mut train = Vec::new();
    let mut eval = Vec::new();
    // Held-out items in shuffled component order (as the per-item split always did), training
    // items likewise.
    for c in &comps {
        for &i in c {
            if held[i] {
                eval.push(items[i].clone());
            } else {
                train.push(items[i].clone());
            }
        }
    }
    (train, eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok() -> CodeTokenizer {
        CodeTokenizer::load(&rrtf_model::fixtures_dir().join("tokenizer.json")).unwrap()
    }

    fn group(prompt: &str, responses: &[&str]) -> Group {
        Group::new(
            prompt,
            responses.iter().map(|s| s.to_string()).collect(),
            (0..responses.len()).map(|i| -(i as f64)).collect(),
        )
    }

    /// Issue 15 point 7: a response that does not fit is dropped (never cut and trained without
    /// its end-of-text); its pairs go with it and the others are renumbered; a group with fewer
    /// than two responses left, or without its best, is dropped; everything is counted.
    #[test]
    fn responses_that_do_not_fit_are_dropped_never_cut() {
        let tok = tok();
        let prompt = "def f(x):\n";
        let prompt_len = tok.encode(prompt).unwrap().len();
        let len = |r: &str| tok.encode(r).unwrap().len() + 1; // + end-of-text
        let (long, mid, short) = (
            "    return x + 1 + 2 + 3 + 4 + 5 + 6\n",
            "    return x + 1\n",
            "    pass\n",
        );
        assert!(len(long) > len(mid) && len(mid) > len(short));
        let max_len = prompt_len + len(mid);
        // Scores: mid best, long second, short worst; all derived pairs.
        let mut g = Group::new(
            prompt,
            vec![mid.into(), long.into(), short.into()],
            vec![1.0, 0.0, -1.0],
        );
        let (enc, stats) = encode_groups(
            std::slice::from_ref(&g),
            &tok,
            &Templates::verbatim(),
            max_len,
        )
        .unwrap();
        assert_eq!(enc.len(), 1);
        let e = &enc[0];
        assert_eq!(e.scores, vec![1.0, -1.0], "long dropped, not cut");
        assert_eq!(e.pairs, vec![(0, 1)], "(mid, short) renumbered");
        assert!(e.responses.iter().all(|r| r.last() == Some(&tok.eos_id())));
        assert!(e.pairs().iter().all(|p| p.len() <= max_len));
        assert_eq!(
            stats,
            EncodeStats {
                groups: 1,
                groups_dropped: 0,
                responses_dropped: 1,
                pairs: 1,
                pairs_dropped: 2,
            }
        );
        // The best does not fit: the group is dropped (no worse response becomes the target).
        g.scores = vec![0.0, 1.0, -1.0];
        let (enc, stats) =
            encode_groups(&[g.clone()], &tok, &Templates::verbatim(), max_len).unwrap();
        assert!(enc.is_empty());
        assert_eq!((stats.groups_dropped, stats.responses_dropped), (1, 1));
        // Fewer than two left: dropped.
        let (enc, stats) = encode_groups(
            &[group(prompt, &[long, short])],
            &tok,
            &Templates::verbatim(),
            max_len,
        )
        .unwrap();
        assert!(enc.is_empty());
        assert_eq!((stats.groups_dropped, stats.responses_dropped), (1, 1));
        // A prompt that leaves no room drops the group; a single response that fits is kept.
        let (enc, stats) = encode_groups(
            &[group(prompt, &[short]), group(prompt, &[short, short])],
            &tok,
            &Templates::verbatim(),
            prompt_len,
        )
        .unwrap();
        assert!(enc.is_empty());
        assert_eq!((stats.groups_dropped, stats.responses_dropped), (2, 3));
        let (enc, _) = encode_groups(
            &[group(prompt, &[short])],
            &tok,
            &Templates::verbatim(),
            max_len,
        )
        .unwrap();
        assert_eq!(enc.len(), 1);
    }

    /// Issue 15 point 10: a completion prompt (with its own docstring) is used verbatim, an
    /// instruction goes through the PanGu-Coder2 template.
    #[test]
    fn templates_apply_per_prompt_kind_and_eos_ends_each_response() {
        let tok = tok();
        let t = Templates::from_training(&rrtf_config::Training::default());
        let completion = "def f(x):\n    \"\"\"Return x.\"\"\"\n";
        let mut c = group(completion, &["    return x\n"]);
        c.kind = PromptKind::Completion;
        let i = group("Write f.", &["def f(x): return x\n"]);
        let (enc, _) = encode_groups(&[c, i], &tok, &t, 256).unwrap();
        assert_eq!(enc[0].prompt_ids, tok.encode(completion).unwrap());
        assert_eq!(
            enc[1].prompt_ids,
            tok.encode("\"\"\"\nWrite f.\n\"\"\"\n").unwrap()
        );
        assert!(
            enc.iter()
                .all(|g| g.responses[0].last() == Some(&tok.eos_id()))
        );
    }

    /// Issue 20 item 3: the templates say which language a prompt asks for; a line's
    /// `language` is read (any name `rrtf` knows), a missing one is Python, an unknown one is an
    /// error naming the line and the value.
    #[test]
    fn templates_name_the_language_of_each_line() {
        let t = Templates {
            instruction: "{language_tag}Write it in {language}:\n{prompt}\n".into(),
            completion: "{prompt}".into(),
        };
        assert_eq!(
            t.apply(
                PromptKind::Instruction,
                "Sum {prompt} a list.",
                Language::Cpp
            ),
            "// language: C++\nWrite it in C++:\nSum {prompt} a list.\n"
        );
        assert_eq!(
            t.apply(PromptKind::Instruction, "x", Language::Python),
            "# language: Python\nWrite it in Python:\nx\n"
        );
        assert_eq!(t.apply(PromptKind::Completion, "{x}", Language::Go), "{x}");
        let mut cpp = Group::new("a", vec!["x".into()], vec![1.0]);
        cpp.language = Language::Cpp;
        let mut groups = vec![cpp, Group::new("b", vec!["x".into()], vec![1.0])];
        assert_eq!(t.silent_about_language(&groups), None);
        let silent = Templates::verbatim()
            .silent_about_language(&groups)
            .unwrap();
        assert!(
            silent.contains("2 languages (cpp, python)")
                && silent.contains("training.prompt_template names none"),
            "{silent}"
        );
        groups.pop();
        assert_eq!(Templates::verbatim().silent_about_language(&groups), None);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"prompt": "a", "responses": ["x"], "scores": [1.0], "language": "c++"}"#,
                "\n",
                r#"{"prompt": "b", "responses": ["x"], "scores": [1.0]}"#,
                "\n"
            ),
        )
        .unwrap();
        let groups = read_jsonl(&path, false).unwrap();
        assert_eq!(groups[0].language, Language::Cpp);
        assert_eq!(groups[1].language, Language::Python);
        std::fs::write(
            &path,
            r#"{"prompt": "a", "responses": ["x"], "scores": [1.0], "language": "cobol"}"#,
        )
        .unwrap();
        let err = read_jsonl(&path, false).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("`cobol`"), "{err}");
    }

    #[test]
    fn bad_groups_are_rejected_with_the_reason() {
        let mut g = group("x", &["a", "b"]);
        g.scores.pop();
        assert!(
            check_group(&g)
                .unwrap_err()
                .contains("2 responses but 1 scores")
        );
        let mut g = group("x", &["a"]);
        g.scores[0] = f64::NAN;
        assert!(check_group(&g).unwrap_err().contains("not a finite number"));
        assert!(
            check_group(&group("x", &[]))
                .unwrap_err()
                .contains("no responses")
        );
        let cases: [(Vec<(usize, usize)>, &str); 3] = [
            (vec![(0, 2)], "pair [0, 2]: the group has 2 responses"),
            (vec![(1, 1)], "with itself"),
            (vec![(0, 1), (0, 1)], "listed twice"),
        ];
        for (pairs, says) in cases {
            let mut g = group("x", &["a", "b"]);
            g.pairs = Some(pairs.clone());
            let err = check_group(&g).unwrap_err();
            assert!(err.contains(says), "{pairs:?}: {err}");
        }
    }

    /// Issue 15 point 2: the given pairs are the ones trained on; without them, every strictly
    /// ordered pair (ties make none). A reviewer's order can pair a lower-scored response
    /// first; with tiers (the export's details) the best tier's first response is the
    /// fine-tuning target, whatever its score.
    #[test]
    fn given_pairs_are_kept_and_missing_ones_derived() {
        let tok = tok();
        let mut g = group("x", &["a", "b", "c"]);
        g.scores = vec![1.0, 1.0, 0.0];
        assert_eq!(g.resolved_pairs(), vec![(0, 2), (1, 2)]);
        g.pairs = Some(vec![(1, 2)]);
        let (enc, stats) = encode_groups(&[g], &tok, &Templates::verbatim(), 64).unwrap();
        assert_eq!(enc[0].pairs, vec![(1, 2)]);
        assert_eq!((stats.pairs, enc[0].best), (1, 0));
        // Pinned: response 0 (score 0.2) placed above response 1 (score 0.9).
        let mut g = group("x", &["a", "b", "c"]);
        g.scores = vec![0.2, 0.9, -1.0];
        g.pairs = Some(vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(g.best_set(), vec![1], "without tiers: the highest score");
        g.tiers = Some(vec![0, 1, 2]);
        assert!(check_group(&g).is_ok());
        let (enc, _) = encode_groups(&[g], &tok, &Templates::verbatim(), 64).unwrap();
        assert_eq!(
            enc[0].best, 0,
            "the pinned response is the fine-tuning target"
        );
    }

    /// The export's lines: `pairs`, `kind`, `lineage` and each response's `tier` in `details`
    /// are read; a line without them gets the defaults.
    #[test]
    fn export_lines_are_read_with_pairs_kind_lineage_and_tiers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        let lines = [
            serde_json::json!({"prompt": "p", "responses": ["a", "b"], "scores": [0.1, 0.5],
                "pairs": [[0, 1]], "kind": "completion", "lineage": "abc",
                "details": [{"tier": 0, "code": "A"}, {"tier": 1, "code": "B"}]}),
            serde_json::json!({"prompt": "q", "responses": ["a", "b"], "scores": [1.0, 0.0]}),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let gs = read_jsonl(&path, true).unwrap();
        assert_eq!(gs[0].pairs, Some(vec![(0, 1)]));
        assert_eq!(gs[0].kind, PromptKind::Completion);
        assert_eq!(gs[0].lineage.as_deref(), Some("abc"));
        assert_eq!(gs[0].tiers, Some(vec![0, 1]));
        assert_eq!(gs[0].responses, vec!["A", "B"]);
        assert_eq!(gs[0].best_set(), vec![0]);
        assert_eq!(
            (&gs[1].pairs, gs[1].kind, &gs[1].lineage, &gs[1].tiers),
            (&None, PromptKind::Instruction, &None, &None)
        );
        std::fs::write(
            &path,
            "{\"prompt\": \"p\", \"responses\": [\"a\"], \"scores\": [1], \"pairs\": [[0, 0]]}\n",
        )
        .unwrap();
        let err = read_jsonl(&path, false).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("pair [0, 0]"),
            "{err}"
        );
    }

    #[test]
    fn split_is_seeded_and_holds_out_the_fraction() {
        let items: Vec<usize> = (0..20).collect();
        let (train, eval) = split(&items, 0.25, 7);
        assert_eq!((train.len(), eval.len()), (15, 5));
        assert_eq!(split(&items, 0.25, 7), (train.clone(), eval.clone()));
        assert_ne!(split(&items, 0.25, 8).1, eval);
        assert_eq!(split(&items, 0.0, 7).1.len(), 0);
        assert_eq!(split(&[1, 2], 0.01, 7).1.len(), 1);
    }

    /// Issue 15 point 8: 12 seeds with 0 to 4 evolutions each, and identical prompt texts
    /// imported under two lineages (which joins them); over many seeds no held-out prompt
    /// shares a root or a text with a training prompt, and about the fraction is held out.
    #[test]
    fn held_out_groups_share_no_root_with_training_groups() {
        let mut groups = Vec::new();
        for root in 0..12 {
            for step in 0..=(root % 5) {
                let mut g = group(&format!("task {root} evolved {step}"), &["a", "b"]);
                g.lineage = Some(format!("seed-{root}"));
                groups.push(g);
            }
        }
        // The same text under root 3 and root 7, and under no lineage at all.
        for lineage in [Some("seed-3"), Some("seed-7"), None] {
            let mut g = group("shared task text", &["a", "b"]);
            g.lineage = lineage.map(String::from);
            groups.push(g);
        }
        let roots = |gs: &[Group]| -> HashSet<String> {
            gs.iter().filter_map(|g| g.lineage.clone()).collect()
        };
        let texts =
            |gs: &[Group]| -> HashSet<String> { gs.iter().map(|g| g.prompt.clone()).collect() };
        for seed in 0..50 {
            let (train, eval) = split_groups(&groups, 0.2, seed);
            assert_eq!(train.len() + eval.len(), groups.len());
            assert!(!eval.is_empty() && !train.is_empty(), "seed {seed}");
            assert!(eval.len() <= (groups.len() as f64 * 0.2).round() as usize);
            let shared = roots(&train)
                .intersection(&roots(&eval))
                .cloned()
                .collect::<Vec<_>>();
            assert!(
                shared.is_empty(),
                "seed {seed}: roots {shared:?} on both sides"
            );
            assert!(texts(&train).is_disjoint(&texts(&eval)), "seed {seed}");
            // Roots 3 and 7 are tied by the shared text: always on the same side.
            let side = |r: &str| eval.iter().any(|g| g.lineage.as_deref() == Some(r));
            assert_eq!(side("seed-3"), side("seed-7"), "seed {seed}");
        }
    }
}
