//! Elimination rules for evolved prompts, each a pure function of (parent, evolution) except
//! the no-new-information judge, which asks an LLM (see `evolve.rs`); its cheap half, an
//! evolution identical to its parent, is checked here. WizardLM's rules 2 and 3 judge an LLM's
//! *response* to an evolved instruction, not the instruction: they are [`response_rule`],
//! applied to the teachers' answers after sampling (`rrtf sample`).
//!
//! On the evolver's answer ([`eliminate`]), in this order:
//!
//! | reason | rule |
//! |---|---|
//! | `evolver_refused` | the answer opens with a refusal or an apology ("I'm sorry", "I cannot", "As an AI") instead of a task |
//! | `not_a_task` | no words but stop words and punctuation; or code with no task statement around it (under 3 content words of prose); or a solution ("Here is the solution: ...") instead of a task. A function stub (signature, docstring, `pass`) is a task, and so is a task quoting erroneous code |
//! | `template_label` | a template label leaked: `#Rewritten Prompt#`-style markers, a line starting with a label of our templates, or a `{placeholder}` left in |
//! | `copied_template_words` | WizardLM 4: copies words of the evolving prompt ("given prompt", "rewritten prompt", ...) |
//! | `length_ratio` | longer than `max_length_ratio` x the parent (in characters) |
//! | `no_new_information` | WizardLM 1: identical to the parent (whitespace aside) here; judged Equal by an LLM in the driver |
//!
//! On a response ([`response_rule`]): `apology` (WizardLM 2: says "sorry", outside code, and is
//! under 80 words) and `stopwords_only` (WizardLM 3: only punctuation and stop words, empty included).

use serde::Serialize;

/// Why an evolution was dropped. `as_str` is stored as the prompt's `status_reason` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// WizardLM 3, on a response.
    StopwordsOnly,
    /// WizardLM 2, on a response.
    Apology,
    EvolverRefused,
    NotATask,
    TemplateLabel,
    CopiedTemplateWords,
    LengthRatio,
    NoNewInformation,
    NearDuplicate,
    Contaminated,
    EvolverFailed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::StopwordsOnly => "stopwords_only",
            Reason::Apology => "apology",
            Reason::EvolverRefused => "evolver_refused",
            Reason::NotATask => "not_a_task",
            Reason::TemplateLabel => "template_label",
            Reason::CopiedTemplateWords => "copied_template_words",
            Reason::LengthRatio => "length_ratio",
            Reason::NoNewInformation => "no_new_information",
            Reason::NearDuplicate => "near_duplicate",
            Reason::Contaminated => "contaminated",
            Reason::EvolverFailed => "evolver_failed",
        }
    }
}

/// English stop words (NLTK's list, lower case).
pub(crate) const STOP_WORDS: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
    "ok",
    "okay",
    "yes",
];

/// Words of our templates' instructions that an evolution should never repeat.
const TEMPLATE_WORDS: &[&str] = &[
    "given prompt",
    "rewritten prompt",
    "created prompt",
    "given programming task",
    "rewritten task",
    "programming contest designer",
    "increase the difficulty",
];

/// Labels that start a line when the evolver echoes our templates' structure.
const LINE_LABELS: &[&str] = &[
    "method:",
    "programming task:",
    "rewritten task:",
    "new task:",
    "rewritten prompt:",
    "given prompt:",
];

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace().map(|w| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    })
}

/// `#Some Label#`: a `#`, one to four words starting with a capital letter, a `#`.
fn has_hash_label(text: &str) -> bool {
    let parts: Vec<&str> = text.split('#').collect();
    // Every text between two `#`s (the first and last parts are outside any pair).
    parts.len() > 2
        && parts[1..parts.len() - 1].iter().any(|inner| {
            let ws: Vec<_> = inner.split(' ').collect();
            (1..=4).contains(&ws.len())
                && ws
                    .iter()
                    .all(|w| w.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        })
}

fn stopwords_only(text: &str) -> bool {
    words(text)
        .filter(|w| !w.is_empty())
        .all(|w| STOP_WORDS.contains(&w.as_str()))
}

/// WizardLM's rules 2 and 3 on an LLM's response: `Apology` when it says "sorry" (outside
/// code) and is under 80 words, `StopwordsOnly` when it holds nothing but punctuation and stop words.
pub fn response_rule(response: &str) -> Option<Reason> {
    if stopwords_only(response) {
        return Some(Reason::StopwordsOnly);
    }
    // "sorry" in the prose, not in code (`return 'sorry'` answers a task, it does not apologise).
    let (prose, _) = prose_and_code(response);
    let n = words(response).filter(|w| !w.is_empty()).count();
    (prose.to_lowercase().contains("sorry") && n < 80).then_some(Reason::Apology)
}

/// WizardLM's rules 2 and 3 over every teacher answer to a prompt: `Some((reason, detail))`
/// when each answer breaks one of them (the prompt is eliminated: `apology` when any answer is
/// one, else `stopwords_only`), `None` when one answer does not, or there is none.
pub fn every_answer_fails(answers: &[&str]) -> Option<(Reason, String)> {
    if answers.is_empty() {
        return None;
    }
    let rules: Vec<Reason> = answers
        .iter()
        .map(|a| response_rule(a))
        .collect::<Option<_>>()?;
    let apologies = rules.iter().filter(|r| **r == Reason::Apology).count();
    let reason = if apologies > 0 {
        Reason::Apology
    } else {
        Reason::StopwordsOnly
    };
    Some((
        reason,
        format!(
            "every teacher answer ({}) is an apology under 80 words ({apologies}) or only \
             punctuation and stop words ({})",
            rules.len(),
            rules.len() - apologies
        ),
    ))
}

/// Openings of a refusal instead of a task.
const REFUSALS: &[&str] = &[
    "sorry",
    "i'm sorry",
    "i am sorry",
    "i apologize",
    "i apologise",
    "my apologies",
    "apologies",
    "i cannot",
    "i can't",
    "i can not",
    "i'm unable",
    "i am unable",
    "i'm not able",
    "i am not able",
    "as an ai",
    "unfortunately, i",
];

/// Openings of an answer that solves the task instead of rewriting it.
const SOLUTION_OPENINGS: &[&str] = &[
    "here is",
    "here's",
    "here are",
    "sure",
    "certainly",
    "below is",
    "the following code",
    "the following function",
    "the following solution",
    "this function",
    "this code",
    "this solution",
    "this implementation",
    "solution:",
    "the solution",
    "to solve this",
    "i have written",
    "i've written",
    "we can solve",
];

/// Content words (not stop words) a task statement around code needs at least.
const MIN_TASK_WORDS: usize = 3;

/// A line that starts like Python code outside a fence.
fn code_line(line: &str) -> bool {
    let t = line.trim_start();
    [
        "def ",
        "class ",
        "import ",
        "from ",
        "@",
        "return ",
        "async def ",
        "for ",
        "while ",
    ]
    .iter()
    .any(|s| t.starts_with(s))
        || ((line.starts_with("    ") || line.starts_with('\t')) && !t.is_empty())
}

/// The text split into prose and code: fenced blocks are code; without fences, lines that
/// start like code (and indented lines) are.
fn prose_and_code(text: &str) -> (String, Vec<String>) {
    let (mut prose, mut code) = (String::new(), Vec::new());
    let mut in_fence = false;
    let fenced = text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("```") || t.starts_with("~~~")
    });
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || (!fenced && code_line(line)) {
            code.push(line.to_owned());
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    (prose, code)
}

/// Whether code lines implement something: a statement that is not a signature, decorator,
/// import, comment, docstring, `pass` or `...` (a stub with a docstring is a task statement).
fn implements(code: &[String]) -> bool {
    let mut in_doc: Option<&str> = None;
    for line in code {
        let t = line.trim();
        if let Some(q) = in_doc {
            if t.contains(q) {
                in_doc = None;
            }
            continue;
        }
        if let Some(q) = ["\"\"\"", "\'\'\'"].into_iter().find(|q| t.starts_with(q)) {
            // A docstring opens here; it closes on this line when the quotes appear twice.
            if t[3..].find(q).is_none() {
                in_doc = Some(q);
            }
            continue;
        }
        let skip = t.is_empty()
            || t.starts_with('#')
            || t.starts_with('@')
            || t == "pass"
            || t == "..."
            || ["def ", "async def ", "class ", "import ", "from "]
                .iter()
                .any(|s| t.starts_with(s));
        if !skip {
            return true;
        }
    }
    false
}

/// Why `text` is not a programming task (see the module docs), or `None`.
pub fn not_a_task(text: &str) -> Option<&'static str> {
    if stopwords_only(text) {
        return Some("no words but stop words and punctuation");
    }
    let (prose, code) = prose_and_code(text);
    if !implements(&code) {
        return None;
    }
    let content = words(&prose)
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()))
        .count();
    if content < MIN_TASK_WORDS {
        return Some("code instead of a task");
    }
    let opening = prose.trim_start().to_lowercase();
    SOLUTION_OPENINGS
        .iter()
        .any(|o| opening.starts_with(o))
        .then_some("a solution instead of a task")
}

/// The first rule `child` breaks as an evolution of `parent` (with a detail, possibly empty),
/// or `None` to keep it.
pub fn eliminate(parent: &str, child: &str, max_length_ratio: f64) -> Option<(Reason, String)> {
    let lower = child.to_lowercase();
    let opening = lower
        .trim_start()
        .trim_start_matches(['"', '\'', '*', '#', ' ']);
    if REFUSALS.iter().any(|r| opening.starts_with(r)) {
        return Some((Reason::EvolverRefused, String::new()));
    }
    if let Some(why) = not_a_task(child) {
        return Some((Reason::NotATask, why.to_owned()));
    }
    let label_line = lower.lines().any(|l| {
        let l = l.trim_start();
        LINE_LABELS.iter().any(|label| l.starts_with(label))
    });
    if has_hash_label(child)
        || label_line
        || child.contains("{prompt}")
        || child.contains("{parent}")
    {
        return Some((Reason::TemplateLabel, String::new()));
    }
    if TEMPLATE_WORDS.iter().any(|t| lower.contains(t)) {
        return Some((Reason::CopiedTemplateWords, String::new()));
    }
    let (pc, cc) = (
        parent.trim().chars().count().max(1),
        child.trim().chars().count(),
    );
    if cc as f64 > max_length_ratio * pc as f64 {
        return Some((Reason::LengthRatio, String::new()));
    }
    if parent.split_whitespace().eq(child.split_whitespace()) {
        return Some((Reason::NoNewInformation, String::new()));
    }
    None
}

/// The judge's answer: `true` when it says the two tasks are equal (drop the evolution).
/// "Not Equal" is checked first; an answer that says neither keeps the evolution.
pub fn judged_equal(answer: &str) -> bool {
    let a = answer.to_lowercase();
    !(a.contains("not equal") || a.contains("not the same") || a.contains("unequal"))
        && a.contains("equal")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "Write a function that returns the sum of a list of integers.";

    #[test]
    fn each_rule_fires_on_its_case_and_good_evolutions_are_kept() {
        let long = "Write a function that sums a list. ".repeat(20);
        let sorry_long = format!(
            "Sorry for the length. {}",
            "Write a function that sums a list of integers but skips negative values. ".repeat(10)
        );
        let cases: &[(&str, &str, Option<Reason>)] = &[
            // Kept: a real evolution (guards against an inverted keep flag).
            (
                PARENT,
                "Write a function that returns the sum of a list of integers, ignoring negative numbers and raising ValueError on non-integers.",
                None,
            ),
            (
                PARENT,
                "Fix and extend this code:\n# sum the list\ndef f(xs):  # Note: the # sign\n    return sum(xs) - 1",
                None,
            ),
            // A task may mention "sorry" (WizardLM 2 judges responses, not instructions).
            (
                PARENT,
                "Write a function that returns the sum of a list of integers, or the string 'sorry' when the list is empty.",
                None,
            ),
            // A task quoting erroneous code (the erroneous_code method) is a task.
            (
                PARENT,
                "Write a function sum_list(xs) that returns the sum of the integers in xs, skipping negative values. The reference code below is wrong:\n```python\ndef sum_list(xs):\n    return sum(xs)\n```",
                None,
            ),
            // A stub with a docstring is a task (HumanEval's shape).
            (
                PARENT,
                "def sum_positive(xs: list[int]) -> int:\n    \"\"\"Return the sum of the positive integers of xs.\n    >>> sum_positive([1, -2, 3])\n    4\n    \"\"\"\n",
                None,
            ),
            (
                PARENT,
                "Some text\n# a comment\n#Created Prompt#\nWrite a function that sums evens.",
                Some(Reason::TemplateLabel),
            ),
            (&sorry_long[22..], &sorry_long, Some(Reason::EvolverRefused)),
            // The evolver refused instead of rewriting.
            (
                PARENT,
                "I'm sorry, but I cannot make this task harder.",
                Some(Reason::EvolverRefused),
            ),
            (
                PARENT,
                "As an AI language model, I cannot create contest problems.",
                Some(Reason::EvolverRefused),
            ),
            // Not a task: empty, punctuation and stop words, code, a solution.
            (PARENT, "", Some(Reason::NotATask)),
            (PARENT, "...!!! ??", Some(Reason::NotATask)),
            (PARENT, "Yes, it is that. And so?", Some(Reason::NotATask)),
            (
                PARENT,
                "```python\ndef sum_list(xs):\n    return sum(x for x in xs if x > 0)\n```",
                Some(Reason::NotATask),
            ),
            (
                PARENT,
                "def sum_list(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n",
                Some(Reason::NotATask),
            ),
            (
                PARENT,
                "Here is an efficient solution that skips negative values and validates every input:\n```python\ndef sum_list(xs):\n    return sum(x for x in xs if x > 0)\n```",
                Some(Reason::NotATask),
            ),
            // Labels.
            (
                PARENT,
                "#Rewritten Prompt#: Write a function that sums the even integers.",
                Some(Reason::TemplateLabel),
            ),
            (
                PARENT,
                "Rewritten task: Write a function that sums the even integers.",
                Some(Reason::TemplateLabel),
            ),
            (
                PARENT,
                "Write a function that sums the even integers.\nMethod: add constraints",
                Some(Reason::TemplateLabel),
            ),
            (
                PARENT,
                "Write a function on {prompt} that sums.",
                Some(Reason::TemplateLabel),
            ),
            // WizardLM 4.
            (
                PARENT,
                "Based on the given prompt, write a function that sums the even integers.",
                Some(Reason::CopiedTemplateWords),
            ),
            (
                PARENT,
                "To increase the difficulty, write a function that sums the even integers.",
                Some(Reason::CopiedTemplateWords),
            ),
            // Length.
            (PARENT, &long, Some(Reason::LengthRatio)),
            // WizardLM 1, the part that needs no judge.
            (
                PARENT,
                "Write a function that returns the sum\n of a list of integers.",
                Some(Reason::NoNewInformation),
            ),
        ];
        for (i, (parent, child, want)) in cases.iter().enumerate() {
            assert_eq!(
                eliminate(parent, child, 4.0).map(|(r, _)| r),
                *want,
                "case {i}: {child:?}"
            );
        }
        let (_, why) = eliminate(PARENT, "def f(xs):\n    return sum(xs)\n", 4.0).unwrap();
        assert_eq!(why, "code instead of a task");
    }

    #[test]
    fn wizardlm_rules_2_and_3_judge_responses() {
        let long_sorry = format!(
            "Sorry for the wait. {}",
            "def f(xs):\n    return sum(x for x in xs if x > 0)\n".repeat(12)
        );
        let cases: &[(&str, Option<Reason>)] = &[
            (
                "I'm sorry, but I can't help with that.",
                Some(Reason::Apology),
            ),
            (
                "SORRY: this task is impossible to solve as stated.",
                Some(Reason::Apology),
            ),
            ("", Some(Reason::StopwordsOnly)),
            ("...!!! ??", Some(Reason::StopwordsOnly)),
            ("Yes, it is that. And so?", Some(Reason::StopwordsOnly)),
            // Kept: an answer with code, one that says "sorry" in 80 words or more.
            ("```python\ndef f(x):\n    return x\n```", None),
            ("    return 'sorry'\n", None),
            ("```python\ndef f():\n    return 'sorry'\n```", None),
            (&long_sorry, None),
            (
                "Here is the function:\n```python\ndef add(a, b):\n    return a + b\n```",
                None,
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            assert_eq!(response_rule(text), *want, "case {i}: {text:?}");
        }
    }

    #[test]
    fn a_prompt_fails_only_when_every_teacher_answer_does() {
        let sorry = "I'm sorry, but I can't help with that.";
        let code = "```python\ndef f():\n    return 1\n```";
        assert_eq!(every_answer_fails(&[]), None);
        assert_eq!(every_answer_fails(&[sorry, code]), None);
        let (r, why) = every_answer_fails(&[sorry, "...", sorry]).unwrap();
        assert_eq!(r, Reason::Apology);
        assert!(
            why.contains("every teacher answer (3)") && why.contains("(2)"),
            "{why}"
        );
        let (r, _) = every_answer_fails(&["", "?!"]).unwrap();
        assert_eq!(r, Reason::StopwordsOnly);
    }

    #[test]
    fn the_judges_answers_are_read_not_equal_first() {
        let cases = [
            ("Equal", true),
            ("equal.", true),
            ("Not Equal", false),
            ("NOT EQUAL - the second adds a constraint", false),
            (
                "They are not the same: equal depth but more constraints",
                false,
            ),
            ("I cannot tell", false),
        ];
        for (answer, want) in cases {
            assert_eq!(judged_equal(answer), want, "{answer:?}");
        }
    }
}
