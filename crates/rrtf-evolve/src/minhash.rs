//! Near-duplicate detection: MinHash signatures over word 3-gram shingles, banded LSH for
//! candidates, then the exact Jaccard similarity of the candidates' shingle sets (so LSH only
//! decides what is compared: no false positives, and a miss needs a pair near the threshold
//! to share no band).
//!
//! Text is normalised before shingling: lower case, words are runs of letters and digits, so
//! punctuation, case and layout changes do not make a prompt new.

use std::collections::{HashMap, HashSet};

const PERMUTATIONS: usize = 128;

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Lower-case alphanumeric words.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Hashes of the word 3-grams (the whole text when it has fewer than three words).
pub fn shingles(text: &str) -> HashSet<u64> {
    shingles_of(text, 3)
}

/// Hashes of the word `k`-grams (the whole text when it has fewer than `k` words).
pub fn shingles_of(text: &str, k: usize) -> HashSet<u64> {
    let t = tokens(text);
    let n = k.max(1).min(t.len().max(1));
    t.windows(n)
        .map(|w| {
            w.iter().fold(0xcbf2_9ce4_8422_2325, |h, s| {
                fnv(s.as_bytes(), fnv(b" ", h))
            })
        })
        .collect()
}

pub fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// Probability that a pair of similarity `s` shares at least one band of `rows` rows.
fn candidate_probability(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

/// The LSH banding for a threshold: the most rows per band (fewest spurious candidates) for
/// which a pair at the threshold is a candidate with probability >= 0.95.
fn banding(threshold: f64) -> (usize, usize) {
    let mut best = (PERMUTATIONS, 1);
    for r in [1, 2, 4, 8, 16, 32, 64, 128] {
        let b = PERMUTATIONS / r;
        if candidate_probability(threshold, b, r) >= 0.95 {
            best = (b, r);
        }
    }
    best
}

/// Texts kept so far, searchable for near-duplicates.
pub struct NearDupIndex {
    threshold: f64,
    /// Words per shingle.
    k: usize,
    bands: usize,
    rows: usize,
    tables: Vec<HashMap<u64, Vec<usize>>>,
    sets: Vec<HashSet<u64>>,
    /// Kept texts by name (those inserted with one).
    names: HashMap<String, usize>,
}

impl NearDupIndex {
    /// `threshold`: Jaccard similarity of word 3-gram sets at or above which a text is a
    /// near-duplicate.
    pub fn new(threshold: f64) -> NearDupIndex {
        Self::with_shingles(threshold, 3)
    }

    /// An index over word `k`-gram shingles (`k` = 1: the sets of words, which a paraphrase
    /// keeps more of than its 3-grams).
    pub fn with_shingles(threshold: f64, k: usize) -> NearDupIndex {
        let (bands, rows) = banding(threshold);
        NearDupIndex {
            threshold,
            k: k.max(1),
            bands,
            rows,
            tables: vec![HashMap::new(); bands],
            sets: Vec::new(),
            names: HashMap::new(),
        }
    }

    fn band_keys(&self, set: &HashSet<u64>) -> Vec<u64> {
        let sig: Vec<u64> = (0..PERMUTATIONS as u64)
            .map(|i| {
                let seed = splitmix(i + 1);
                set.iter()
                    .map(|h| splitmix(h ^ seed))
                    .min()
                    .unwrap_or(u64::MAX)
            })
            .collect();
        sig.chunks(self.rows)
            .map(|band| {
                band.iter()
                    .fold(0xcbf2_9ce4_8422_2325, |h, v| fnv(&v.to_le_bytes(), h))
            })
            .collect()
    }

    /// The most similar kept text at or above the threshold: (its index, similarity).
    pub fn find(&self, text: &str) -> Option<(usize, f64)> {
        let set = shingles_of(text, self.k);
        self.find_set(&set, &self.band_keys(&set), None)
    }

    fn find_set(
        &self,
        set: &HashSet<u64>,
        keys: &[u64],
        skip: Option<usize>,
    ) -> Option<(usize, f64)> {
        let mut seen: HashSet<usize> = skip.into_iter().collect();
        let mut best: Option<(usize, f64)> = None;
        for (table, key) in self.tables.iter().zip(keys) {
            for &i in table.get(key).into_iter().flatten() {
                if seen.insert(i) {
                    let j = jaccard(set, &self.sets[i]);
                    if j >= self.threshold && best.is_none_or(|(_, b)| j > b) {
                        best = Some((i, j));
                    }
                }
            }
        }
        best
    }

    /// Keep `text` unless it is a near-duplicate of a kept one: `Ok(index)` when kept,
    /// `Err((index of the kept text, similarity))` otherwise.
    pub fn insert(&mut self, text: &str) -> Result<usize, (usize, f64)> {
        self.insert_named(text, None, None)
    }

    /// [`NearDupIndex::insert`] for a text that later ones may name (`name`), not compared
    /// with the kept text named `except` (an evolution's parent: whether a child adds
    /// anything to its parent is WizardLM's rule 1, judged elsewhere, not a near-duplicate).
    pub fn insert_named(
        &mut self,
        text: &str,
        name: Option<&str>,
        except: Option<&str>,
    ) -> Result<usize, (usize, f64)> {
        let set = shingles_of(text, self.k);
        let keys = self.band_keys(&set);
        let skip = except.and_then(|n| self.names.get(n).copied());
        if let Some(hit) = self.find_set(&set, &keys, skip) {
            return Err(hit);
        }
        let i = self.sets.len();
        if let Some(n) = name {
            self.names.insert(n.to_owned(), i);
        }
        for (table, key) in self.tables.iter_mut().zip(keys) {
            table.entry(key).or_default().push(i);
        }
        self.sets.push(set);
        Ok(i)
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
    pub fn banding(&self) -> (usize, usize) {
        (self.bands, self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "Write a Python function that takes a list of integers and returns a new list \
        containing only the prime numbers, preserving their original order, and raise a \
        ValueError when the input contains anything that is not an integer; the function must \
        run in O(n sqrt m) time where m is the largest value in the list";

    #[test]
    fn near_duplicates_are_found_at_the_threshold_and_others_kept() {
        let one_word = BASE.replace("preserving", "keeping");
        let cases: &[(&str, f64, bool)] = &[
            (BASE, 0.8, true),
            (&BASE.to_uppercase().replace(' ', "  \n"), 0.8, true), // case and layout
            (&BASE.replace(',', "").replace(';', "."), 0.8, true),  // punctuation
            (&one_word, 0.8, true),
            (&one_word, 1.0, false),
            (
                &format!("{BASE} Also return the count of primes found."),
                0.8,
                true,
            ),
            (
                "Write a function that reverses a string without using slicing.",
                0.8,
                false,
            ),
            (&BASE[..BASE.len() / 2], 0.8, false), // half of it: Jaccard about 0.5
            (&BASE[..BASE.len() / 2], 0.4, true),
        ];
        for (i, (text, threshold, dup)) in cases.iter().enumerate() {
            let mut idx = NearDupIndex::new(*threshold);
            idx.insert("An unrelated task: sort a dictionary by value.")
                .unwrap();
            idx.insert(BASE).unwrap();
            let got = idx.insert(text);
            assert_eq!(
                got.is_err(),
                *dup,
                "case {i} (threshold {threshold}): {got:?}"
            );
            if let Err((j, sim)) = got {
                assert_eq!(j, 1, "case {i} matched the wrong text");
                assert!(sim >= *threshold);
            }
        }
    }

    #[test]
    fn a_child_is_not_compared_with_its_parent_but_with_everything_else() {
        let child = format!("{BASE} Also return the count of primes found.");
        let mut idx = NearDupIndex::new(0.8);
        idx.insert_named("Sort a dictionary by value.", Some("s:0"), None)
            .unwrap();
        idx.insert_named(BASE, Some("s:1"), None).unwrap();
        // Its own parent is skipped; another parent's child finds it.
        assert!(idx.insert_named(&child, Some("s:1>1"), Some("s:1")).is_ok());
        assert_eq!(
            idx.insert_named(&child, Some("s:0>1"), Some("s:0"))
                .map_err(|(i, _)| i),
            Err(2),
            "a near-duplicate of the sibling pool is still dropped"
        );
        // A copy of a parent kept under another name is still a near-duplicate of it.
        let mut idx = NearDupIndex::new(0.8);
        idx.insert_named(BASE, Some("a"), None).unwrap();
        idx.insert_named(BASE, Some("b"), Some("a")).unwrap();
        assert!(idx.insert_named(BASE, Some("c"), Some("a")).is_err());
    }

    #[test]
    fn banding_makes_pairs_at_the_threshold_candidates() {
        let cases = [
            (0.3, (64, 2)),
            (0.5, (64, 2)),
            (0.8, (32, 4)),
            (0.9, (16, 8)),
            (1.0, (1, 128)),
        ];
        for (t, want) in cases {
            let (b, r) = banding(t);
            assert_eq!((b, r), want, "threshold {t}");
            assert!(candidate_probability(t, b, r) >= 0.95);
        }
    }

    #[test]
    fn many_texts_find_only_their_own_variants() {
        let mut idx = NearDupIndex::new(0.8);
        for i in 0..300 {
            let t = format!(
                "Task {i}: write function f{i} that returns {i} times the sum of the squares of the input list of numbers {}",
                i * 7
            );
            assert!(idx.insert(&t).is_ok(), "text {i} is new");
        }
        let again = "Task 42: write function f42 that returns 42 times the sum of the squares of the input list of numbers 294";
        assert_eq!(idx.find(again).map(|(i, _)| i), Some(42));
        assert_eq!(idx.len(), 300);
    }
}
