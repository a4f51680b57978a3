//! Decontamination: text that leaks a benchmark problem is found before it can reach training.
//!
//! - **n-gram overlap**: a text that shares a word n-gram (13 words by default) with any field
//!   of a benchmark problem (its prompt, tests, canonical solution) leaks it.
//! - **MinHash similarity** (paraphrases): a text whose set of content words (no stop words,
//!   no numbers; a benchmark prompt's doctest examples left out) has a Jaccard similarity of at
//!   least the threshold with a benchmark *prompt*'s (MinHash + LSH, exact Jaccard on the
//!   candidates, [`crate::minhash`]) is a rewording of it. On HumanEval, close paraphrases score
//!   0.6-0.7 and unrelated tasks at most about 0.45: the default threshold is 0.5.
//! - **solutions**: a response that shares an n-gram with a benchmark's canonical solution
//!   reproduces it ([`Decontaminator::check_solution`]).
//!
//! Words are lower-case runs of letters and digits (as in `minhash`), so layout, case and
//! punctuation do not hide a copy. An n-gram counts only if at least three of its words hold a
//! letter: test vectors (`[1.0, 2.0, 3.0, 4.0, 5.0]`) are common to many unrelated problems.
//! Benchmark texts shorter than n words cannot match by n-gram and are counted (`too_short`):
//! lower n to cover them.

use std::collections::HashMap;

use serde::Serialize;

use crate::minhash::{NearDupIndex, tokens};
use crate::rules::STOP_WORDS;

/// The words a paraphrase keeps: no stop words, no numbers, and no doctest examples (`>>>`
/// lines and the output lines after them), joined by spaces.
fn content_words(text: &str) -> String {
    let mut kept = String::new();
    let mut in_example = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with(">>>") {
            in_example = true;
            continue;
        }
        if in_example && !t.is_empty() && !t.starts_with("\"\"\"") && !t.starts_with("\'\'\'") {
            continue;
        }
        in_example = false;
        kept.push_str(line);
        kept.push('\n');
    }
    tokens(&kept)
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a leak was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A shared n-gram with a field of a benchmark problem.
    Ngram,
    /// A MinHash (word-set Jaccard) similarity with a benchmark prompt at the threshold.
    Minhash,
    /// A shared n-gram with a benchmark's canonical solution (responses).
    Solution,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ngram => "ngram",
            Method::Minhash => "minhash",
            Method::Solution => "solution",
        }
    }
}

/// A text's overlap with a benchmark problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The benchmark problem's name as given to [`Decontaminator::add`].
    pub benchmark: String,
    pub method: Method,
    /// The shared n-gram (words joined by spaces), or the similarity for MinHash.
    pub ngram: String,
}

impl Hit {
    /// `{benchmark} ({method}): "{ngram}"`, or `{benchmark} (minhash): Jaccard 0.83`.
    pub fn describe(&self) -> String {
        match self.method {
            Method::Minhash => format!("{} (minhash): {}", self.benchmark, self.ngram),
            m => format!("{} ({}): \"{}\"", self.benchmark, m.as_str(), self.ngram),
        }
    }
}

/// At least three of the words (all of them when fewer) hold a letter: not a run of numbers.
fn wordy(w: &[String]) -> bool {
    w.iter()
        .filter(|t| t.chars().any(char::is_alphabetic))
        .count()
        >= w.len().min(3)
}

pub struct Decontaminator {
    n: usize,
    grams: HashMap<Vec<String>, usize>,
    solutions: HashMap<Vec<String>, usize>,
    names: Vec<String>,
    /// Benchmark prompts for the similarity check, and their names in insertion order.
    prompts: Option<(NearDupIndex, Vec<usize>)>,
    /// Benchmark texts (any field) shorter than n words.
    pub too_short: usize,
    /// Canonical solutions shorter than n words (a response cannot be matched against them).
    pub solutions_too_short: usize,
}

impl Decontaminator {
    /// n-gram overlap only.
    pub fn new(n: usize) -> Decontaminator {
        Decontaminator {
            n: n.max(1),
            grams: HashMap::new(),
            solutions: HashMap::new(),
            names: Vec::new(),
            prompts: None,
            too_short: 0,
            solutions_too_short: 0,
        }
    }

    /// n-gram overlap, and a content-word-set Jaccard similarity of at least `similarity` with
    /// a benchmark prompt (added with [`Decontaminator::add_prompt`]).
    pub fn with_similarity(n: usize, similarity: f64) -> Decontaminator {
        Decontaminator {
            prompts: Some((NearDupIndex::with_shingles(similarity, 1), Vec::new())),
            ..Self::new(n)
        }
    }

    fn id(&mut self, name: &str) -> usize {
        if self.names.last().is_some_and(|n| n == name) {
            return self.names.len() - 1;
        }
        self.names.push(name.to_owned());
        self.names.len() - 1
    }

    /// Index one field of a benchmark problem (`name` like `HumanEval.jsonl.gz:HumanEval/0`).
    pub fn add(&mut self, name: &str, text: &str) {
        let t = tokens(text);
        if t.len() < self.n {
            self.too_short += 1;
            return;
        }
        let id = self.id(name);
        for w in t.windows(self.n).filter(|w| wordy(w)) {
            self.grams.entry(w.to_vec()).or_insert(id);
        }
    }

    /// A benchmark problem's prompt: a field (n-grams) and a text paraphrases are compared with.
    pub fn add_prompt(&mut self, name: &str, text: &str) {
        self.add(name, text);
        let id = self.id(name);
        if let Some((index, ids)) = &mut self.prompts
            && index.insert(&content_words(text)).is_ok()
        {
            ids.push(id);
        }
    }

    /// A benchmark problem's canonical solution: a field, and what responses must not reproduce.
    pub fn add_solution(&mut self, name: &str, text: &str) {
        self.add(name, text);
        let t = tokens(text);
        if t.len() < self.n {
            self.solutions_too_short += 1;
            return;
        }
        let id = self.id(name);
        for w in t.windows(self.n).filter(|w| wordy(w)) {
            self.solutions.entry(w.to_vec()).or_insert(id);
        }
    }

    /// The first n-gram of `text` found in a benchmark problem, else a benchmark prompt whose
    /// word set is at least the threshold similar.
    pub fn check(&self, text: &str) -> Option<Hit> {
        if let Some(hit) = self.check_overlap(text) {
            return Some(hit);
        }
        let (index, ids) = self.prompts.as_ref()?;
        index.find(&content_words(text)).map(|(i, sim)| Hit {
            benchmark: self.names[ids[i]].clone(),
            method: Method::Minhash,
            ngram: format!("Jaccard {sim:.2}"),
        })
    }

    /// The first n-gram of `text` found in a benchmark problem (no similarity check: for code,
    /// tests and reference solutions, whose words are not a prompt's).
    pub fn check_overlap(&self, text: &str) -> Option<Hit> {
        self.find(&tokens(text), &self.grams, Method::Ngram)
    }

    /// The first n-gram of `code` found in a benchmark's canonical solution.
    pub fn check_solution(&self, code: &str) -> Option<Hit> {
        self.find(&tokens(code), &self.solutions, Method::Solution)
    }

    fn find(
        &self,
        t: &[String],
        grams: &HashMap<Vec<String>, usize>,
        method: Method,
    ) -> Option<Hit> {
        t.windows(self.n).filter(|w| wordy(w)).find_map(|w| {
            grams.get(w).map(|&id| Hit {
                benchmark: self.names[id].clone(),
                method,
                ngram: w.join(" "),
            })
        })
    }

    /// Benchmark problems indexed.
    pub fn problems(&self) -> usize {
        self.names.len()
    }

    /// The n of the n-gram check.
    pub fn ngram(&self) -> usize {
        self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HE0: &str = "from typing import List\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    \"\"\"\n";

    #[test]
    fn shared_ngrams_are_found_whatever_the_layout_and_short_overlaps_are_not() {
        let cases: &[(&str, usize, Option<&str>)] = &[
            // A verbatim copy inside a longer prompt.
            (
                &format!("Solve this:\n{HE0}\nThen explain."),
                13,
                Some("he/0"),
            ),
            // Re-wrapped, re-cased, re-punctuated.
            (
                "CHECK IF IN GIVEN LIST OF NUMBERS -- are any two numbers, closer to each other than given threshold!",
                13,
                Some("he/0"),
            ),
            // Only 12 words in common: not at n = 13, yes at n = 8.
            (
                "Write code to check if in given list of numbers are any two numbers equal.",
                13,
                None,
            ),
            (
                "Write code to check if in given list of numbers are any two numbers equal.",
                8,
                Some("he/0"),
            ),
            (
                "Write a function that reverses a linked list in place.",
                13,
                None,
            ),
        ];
        for (i, (text, n, want)) in cases.iter().enumerate() {
            let mut d = Decontaminator::new(*n);
            d.add("he/0", HE0);
            d.add("short", "def f(): pass");
            let got = d.check(text);
            assert_eq!(
                got.as_ref().map(|h| h.benchmark.as_str()),
                *want,
                "case {i}: {got:?}"
            );
            if let Some(h) = got {
                assert_eq!(h.ngram.split(' ').count(), *n);
                assert_eq!(h.method, Method::Ngram);
            }
            assert_eq!(d.too_short, usize::from(*n > 4), "case {i}");
        }
    }

    #[test]
    fn content_words_leave_out_stop_words_numbers_and_doctest_examples() {
        let text = "Return the sum of xs.\n    >>> total([1, 2])\n    3\n    >>> total([])\n    0\n    \"\"\"\n    More words 42.";
        assert_eq!(content_words(text), "return sum xs words");
    }

    #[test]
    fn shared_test_vectors_are_not_a_leak() {
        let mut d = Decontaminator::new(13);
        d.add(
            "he/21",
            "def check(candidate):\n    assert candidate([2.0, 49.9]) == [0.0, 1.0]\n    assert candidate([100.0, 49.9]) == [1.0, 0.0]\n    assert candidate([1.0, 2.0, 3.0, 4.0, 5.0]) == [0.0, 0.25, 0.5, 0.75, 1.0]\n",
        );
        // The same numbers in another problem's test: not a leak.
        assert_eq!(
            d.check("def check(candidate):\n    assert candidate([1.0, 2.0, 3.0, 4.0, 5.0]) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]\n"),
            None
        );
        // The test copied is.
        let copy = "assert candidate([100.0, 49.9]) == [1.0, 0.0]\nassert candidate([1.0, 2.0, 3.0, 4.0, 5.0]) == [0.0, 0.25, 0.5, 0.75, 1.0]";
        assert_eq!(d.check(copy).map(|h| h.benchmark), Some("he/21".into()));
    }

    #[test]
    fn paraphrases_of_a_benchmark_prompt_are_found_by_similarity() {
        let mut d = Decontaminator::with_similarity(13, 0.5);
        let examples = "    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n";
        d.add_prompt(
            "he/0",
            &HE0.replace("    \"\"\"\n", &format!("{examples}    \"\"\"\n")),
        );
        d.add_prompt(
            "he/7",
            "def filter_by_substring(strings: List[str], substring: str) -> List[str]:\n    \"\"\" Filter an input list of strings only for ones that contain given substring\n    \"\"\"\n",
        );
        // Reworded: no 13-gram in common, most words shared.
        let paraphrase = "Given a list of float numbers and a threshold, check whether any two numbers in the list are closer to each other than the threshold. Implement has_close_elements(numbers: List[float], threshold: float) -> bool.";
        assert!(Decontaminator::new(13).check(paraphrase).is_none());
        let hit = d.check(paraphrase).expect("a paraphrase");
        assert_eq!(
            (hit.benchmark.as_str(), hit.method),
            ("he/0", Method::Minhash)
        );
        assert!(
            hit.describe().starts_with("he/0 (minhash): Jaccard 0."),
            "{}",
            hit.describe()
        );
        // Another task on the same topic is not one.
        for other in [
            "Write a function that returns the two numbers of a list whose difference is the largest.",
            "Write a function that removes duplicate strings from a list, keeping the first of each.",
            "Write a function add_numbers(a, b) that returns the sum of two integers.",
        ] {
            assert_eq!(d.check(other), None, "{other}");
        }
    }

    #[test]
    fn responses_reproducing_a_canonical_solution_are_found() {
        let solution = "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n";
        let mut d = Decontaminator::new(13);
        d.add_prompt("he/0", HE0);
        d.add_solution("he/0", solution);
        d.add_solution("he/23", "    return len(string)\n");
        assert_eq!(d.solutions_too_short, 1);
        let answer = format!("Sure:\n```python\n{HE0}{solution}```\n");
        let hit = d.check_solution(&answer).unwrap();
        assert_eq!(
            (hit.benchmark.as_str(), hit.method),
            ("he/0", Method::Solution)
        );
        for fine in [
            "def strlen(s):\n    return len(s)\n",
            "def close(xs, t):\n    xs = sorted(xs)\n    return any(b - a < t for a, b in zip(xs, xs[1:]))\n",
        ] {
            assert_eq!(d.check_solution(fine), None, "{fine}");
        }
        assert_eq!(d.problems(), 1, "he/23 has nothing long enough to index");
    }
}
