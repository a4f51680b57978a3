//! The project overview the report and the web review's index share: totals, the rounds
//! table (also `rrtf status`'s, as text) and the report's plots, under one ranker.

use rrtf_store::{ModelStats, Status, Store, StoreError};

use crate::html::OUTCOMES;
use crate::plots::{bars, histogram, stacked_bars};
use crate::table::{Cell, Table};

/// What the report and the web index show about a project under one ranker.
pub struct Overview {
    pub status: Status,
    /// The ranker's hash; None when nothing is ranked yet.
    pub ranker: Option<String>,
    pub models: Vec<ModelStats>,
    pub scores: Vec<f64>,
}

impl Overview {
    /// Counts, per-model stats and scores under `ranker` (hash or prefix; default the latest).
    /// With no ranking at all and no ranker asked for, an overview with counts only.
    pub async fn load(store: &Store, ranker: Option<&str>) -> Result<Overview, StoreError> {
        let status = store.status().await?;
        let ranker = match store.resolve_ranker(ranker).await {
            Ok(r) => Some(r.hash),
            Err(StoreError::NoRankings) if ranker.is_none() => None,
            Err(e) => return Err(e),
        };
        let (models, scores) = match &ranker {
            Some(h) => (store.model_stats(h).await?, store.scores(h).await?),
            None => (vec![], vec![]),
        };
        Ok(Overview {
            status,
            ranker,
            models,
            scores,
        })
    }

    /// One line of totals.
    pub fn summary(&self) -> String {
        let s = &self.status;
        format!(
            "ranker <code>{}</code> (latest unless chosen), {} prompts kept, {} dropped by filters, {} pairs, {} reviews.",
            self.ranker.as_deref().map_or("none yet", |h| &h[..12]),
            s.ranked_prompts,
            s.dropped_prompts,
            s.pairs,
            s.reviews
        )
    }

    /// Where each round stands, one row per round (as HTML). `link` turns a round number into
    /// a URL.
    pub fn rounds_table(&self, link: Option<&dyn Fn(i64) -> String>) -> String {
        rounds_table(&self.status, link, false).html()
    }

    /// The per-language table under an `<h2>` (a multilingual project's counts and pass rates
    /// per round and language), or nothing when every prompt is Python.
    pub fn languages_section(&self) -> String {
        languages_table(&self.status)
            .map(|t| format!("<h2 id=\"languages\">Languages</h2>{}", t.html()))
            .unwrap_or_default()
    }

    /// The report's plots: outcomes per model, score distribution, ranked prompts and pairs
    /// per round, each under an `<h2>`.
    pub fn plots(&self) -> String {
        let outcome_rows: Vec<_> = self
            .models
            .iter()
            .map(|m| {
                let parts = OUTCOMES
                    .iter()
                    .map(|(o, c)| (o.to_string(), *m.outcomes.get(*o).unwrap_or(&0) as f64, *c))
                    .collect();
                (
                    format!("{} ({}, {:.0}% pass)", m.model, m.role, 100.0 * m.pass_rate),
                    parts,
                )
            })
            .collect();
        let hist: Vec<(String, f64)> = histogram(&self.scores, 12)
            .into_iter()
            .map(|(lo, _, n)| (format!("≥{lo:.2}"), n as f64))
            .collect();
        let per_round = |f: fn(&rrtf_store::RoundStatus) -> i64| -> Vec<(String, f64)> {
            self.status
                .rounds
                .iter()
                .map(|r| (format!("round {}", r.round), f(r) as f64))
                .collect()
        };
        format!(
            r#"<h2 id="outcomes">Outcomes per model</h2>{outcomes}
<h2 id="scores">Score distribution ({n} responses)</h2>{hist}
<h2 id="ranked">Ranked prompts per round</h2>{ranked}
<h2 id="pairs">Pairs per round</h2>{pairs}
"#,
            outcomes = stacked_bars(&outcome_rows),
            n = self.scores.len(),
            hist = bars(&hist, "#1565c0"),
            ranked = bars(&per_round(|r| r.ranked_prompts), "#00897b"),
            pairs = bars(&per_round(|r| r.pairs), "#5e35b1"),
        )
    }
}

/// Where each round stands: prompts (kept and eliminated), tests, responses, executions,
/// ranked prompts and pairs, one row per round; `totals` adds a row `all`. `link` turns a round
/// number into a URL (the web review's prompt list).
pub fn rounds_table(status: &Status, link: Option<&dyn Fn(i64) -> String>, totals: bool) -> Table {
    let mut t = Table::new([
        "round",
        "prompts",
        "eliminated",
        "tests",
        "responses",
        "executions",
        "ranked",
        "pairs",
    ])
    .with_class("rounds");
    for r in &status.rounds {
        let round = match link {
            Some(f) => Cell::link(r.round, f(r.round)),
            None => Cell::from(r.round),
        };
        t.push([
            round,
            r.prompts.into(),
            r.prompts_eliminated.into(),
            r.tests.into(),
            r.responses.into(),
            r.executions.into(),
            r.ranked_prompts.into(),
            r.pairs.into(),
        ]);
    }
    if totals {
        let s = status;
        t.push([
            Cell::from("all"),
            s.prompts.into(),
            s.prompts_eliminated.into(),
            s.tests.into(),
            s.responses.into(),
            s.executions.into(),
            s.ranked_prompts.into(),
            s.pairs.into(),
        ]);
    }
    t
}

/// Counts and execution pass rates per round and language (kept prompts), one row each; `None`
/// when there is nothing but Python (the rounds table says it all).
pub fn languages_table(status: &Status) -> Option<Table> {
    if status.languages.iter().all(|l| l.language == "python") {
        return None;
    }
    let mut t = Table::new([
        "round",
        "language",
        "prompts",
        "tests",
        "responses",
        "executions",
        "passed",
        "pass rate",
        "ranked",
    ])
    .with_class("languages");
    for l in &status.languages {
        t.push([
            Cell::from(l.round),
            l.language.as_str().into(),
            l.prompts.into(),
            l.tests.into(),
            l.responses.into(),
            l.executions.into(),
            l.executions_passed.into(),
            l.pass_rate
                .map_or("-".to_owned(), |r| format!("{:.1}%", 100.0 * r))
                .into(),
            l.ranked_prompts.into(),
        ]);
    }
    Some(t)
}

/// The widths `rrtf status` gives the languages table's columns (at least).
pub const LANGUAGES_TEXT_WIDTHS: [usize; 9] = [5, 10, 7, 5, 9, 10, 6, 9, 6];

/// The widths `rrtf status` gives the rounds table's columns (at least).
pub const ROUNDS_TEXT_WIDTHS: [usize; 8] = [5, 9, 10, 7, 9, 10, 6, 7];

#[cfg(test)]
mod tests {
    use rrtf_store::RoundStatus;

    use super::*;

    fn status() -> Status {
        Status {
            prompts: 19,
            prompts_eliminated: 5,
            tests: 19,
            responses: 114,
            executions: 114,
            ranked_prompts: 12,
            pairs: 40,
            rounds: vec![RoundStatus {
                round: 1,
                prompts: 19,
                prompts_eliminated: 5,
                tests: 19,
                responses: 114,
                executions: 114,
                ranked_prompts: 12,
                pairs: 40,
            }],
            ..Status::default()
        }
    }

    /// Issue 20 item 3: a multilingual project's counts and pass rates per language, as text
    /// and HTML; none for a Python-only project.
    #[test]
    fn the_languages_table_breaks_rounds_down_by_language() {
        let mut st = status();
        assert_eq!(languages_table(&st), None);
        st.languages = vec![
            rrtf_store::LanguageStatus {
                round: 1,
                language: "cpp".into(),
                prompts: 20,
                tests: 20,
                responses: 40,
                executions: 40,
                executions_passed: 10,
                pass_rate: Some(0.25),
                ranked_prompts: 18,
            },
            rrtf_store::LanguageStatus {
                round: 1,
                language: "python".into(),
                prompts: 3,
                ..Default::default()
            },
        ];
        let text = languages_table(&st).unwrap().text(&LANGUAGES_TEXT_WIDTHS);
        assert_eq!(
            text,
            "round    language  prompts  tests  responses  executions  passed  pass rate  ranked\n\
             \x20   1         cpp       20     20         40          40      10      25.0%      18\n\
             \x20   1      python        3      0          0           0       0          -       0\n"
        );
        let html = Overview {
            status: st,
            ranker: None,
            models: vec![],
            scores: vec![],
        }
        .languages_section();
        assert!(html.starts_with("<h2 id=\"languages\">Languages</h2><table class=\"languages\">"));
        assert!(
            html.contains("<td>cpp</td>") && html.contains("<td>25.0%</td>"),
            "{html}"
        );
    }

    /// `rrtf status` prints the same rows the report and the web review show, aligned as it
    /// always was.
    #[test]
    fn the_rounds_table_as_status_text_and_as_html() {
        let text = rounds_table(&status(), None, true).text(&ROUNDS_TEXT_WIDTHS);
        assert_eq!(
            text,
            "round    prompts  eliminated    tests  responses  executions  ranked    pairs\n\
             \x20   1         19           5       19        114         114      12       40\n\
             \x20 all         19           5       19        114         114      12       40\n"
        );
        let html = rounds_table(&status(), Some(&|r| format!("/prompts?round={r}")), false).html();
        assert_eq!(
            html,
            "<table class=\"rounds\"><tr><th>round</th><th>prompts</th><th>eliminated</th>\
             <th>tests</th><th>responses</th><th>executions</th><th>ranked</th><th>pairs</th>\
             </tr><tr><td><a href=\"/prompts?round=1\">1</a></td><td>19</td><td>5</td>\
             <td>19</td><td>114</td><td>114</td><td>12</td><td>40</td></tr></table>"
        );
    }
}
