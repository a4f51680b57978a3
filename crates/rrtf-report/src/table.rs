//! One table, three renderings: HTML (the report, the web review, the sweep page), Markdown
//! (the sweep's `table.md`) and aligned text (`rrtf status`). A table is built once from its
//! data and printed wherever it is shown, so the renderings cannot drift apart.

use std::fmt::Write as _;

use crate::html::esc;

/// A cell: its text, and in HTML optionally a link.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

impl<T: std::fmt::Display> From<T> for Cell {
    fn from(text: T) -> Self {
        Cell {
            text: text.to_string(),
            href: None,
        }
    }
}

impl Cell {
    pub fn link(text: impl std::fmt::Display, href: String) -> Self {
        Cell {
            text: text.to_string(),
            href: Some(href),
        }
    }
}

/// A header row and rows of cells (each row as long as the header).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The HTML table's `class`.
    pub class: Option<&'static str>,
}

impl Table {
    pub fn new<H: Into<String>>(headers: impl IntoIterator<Item = H>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            ..Table::default()
        }
    }

    pub fn with_class(mut self, class: &'static str) -> Self {
        self.class = Some(class);
        self
    }

    /// Add a row; it must have a cell per header.
    pub fn push<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        let row: Vec<Cell> = cells.into_iter().map(Into::into).collect();
        assert_eq!(row.len(), self.headers.len(), "a cell per column");
        self.rows.push(row);
    }

    /// `<table>` with a header row; every text escaped.
    pub fn html(&self) -> String {
        let mut s = match self.class {
            Some(c) => format!("<table class=\"{}\"><tr>", esc(c)),
            None => String::from("<table><tr>"),
        };
        for h in &self.headers {
            let _ = write!(s, "<th>{}</th>", esc(h));
        }
        s.push_str("</tr>");
        for row in &self.rows {
            s.push_str("<tr>");
            for c in row {
                match &c.href {
                    Some(href) => {
                        let _ =
                            write!(s, "<td><a href=\"{}\">{}</a></td>", esc(href), esc(&c.text));
                    }
                    None => {
                        let _ = write!(s, "<td>{}</td>", esc(&c.text));
                    }
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
        s
    }

    /// The largest of `min` and the column's texts, per column.
    fn widths(&self, min: &[usize]) -> Vec<usize> {
        (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].text.len())
                    .chain([self.headers[i].len(), min.get(i).copied().unwrap_or(0)])
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// A Markdown table, its cells padded so that it also reads as plain text.
    pub fn markdown(&self) -> String {
        let widths = self.widths(&[]);
        let line = |cells: Vec<&str>| {
            let mut s = String::from("|");
            for (c, w) in cells.iter().zip(&widths) {
                let _ = write!(s, " {c:<w$} |");
            }
            s + "\n"
        };
        let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = line(self.headers.iter().map(String::as_str).collect());
        out += &line(rules.iter().map(String::as_str).collect());
        for row in &self.rows {
            out += &line(row.iter().map(|c| c.text.as_str()).collect());
        }
        out
    }

    /// Columns right-aligned, two spaces apart, each at least `min_widths[i]` wide; one line
    /// per row, each ending in a newline.
    pub fn text(&self, min_widths: &[usize]) -> String {
        let widths = self.widths(min_widths);
        let line = |cells: Vec<&str>| {
            let cells: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            cells.join("  ") + "\n"
        };
        let mut out = line(self.headers.iter().map(String::as_str).collect());
        for row in &self.rows {
            out += &line(row.iter().map(|c| c.text.as_str()).collect());
        }
        out
    }
}

/// A metric as tables show it: `n/a` when missing, whole numbers from 100 up, else 4 decimals.
pub fn fmt_metric(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.4}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(["round", "prompts"]);
        t.push([Cell::link(1, "/p?round=1".into()), Cell::from(12)]);
        t.push(["all", "1234567"]);
        t
    }

    #[test]
    fn html_escapes_and_links() {
        let mut t = table().with_class("rounds");
        t.push(["<b>", "&"]);
        assert_eq!(
            t.html(),
            "<table class=\"rounds\"><tr><th>round</th><th>prompts</th></tr>\
             <tr><td><a href=\"/p?round=1\">1</a></td><td>12</td></tr>\
             <tr><td>all</td><td>1234567</td></tr><tr><td>&lt;b&gt;</td><td>&amp;</td></tr></table>"
        );
    }

    #[test]
    fn markdown_pads_to_the_widest_cell() {
        assert_eq!(
            table().markdown(),
            "| round | prompts |\n| ----- | ------- |\n| 1     | 12      |\n| all   | 1234567 |\n"
        );
    }

    #[test]
    fn text_right_aligns_to_at_least_the_given_widths() {
        assert_eq!(
            table().text(&[5, 9]),
            "round    prompts\n    1         12\n  all    1234567\n"
        );
        // A cell wider than its minimum widens its column, not just its line.
        let mut t = table();
        t.push(["123456", "1"]);
        assert_eq!(
            t.text(&[5, 4]),
            " round  prompts\n     1       12\n   all  1234567\n123456        1\n"
        );
    }

    #[test]
    fn metrics_are_rounded_by_size() {
        assert_eq!(fmt_metric(None), "n/a");
        assert_eq!(fmt_metric(Some(1234.56)), "1235");
        assert_eq!(fmt_metric(Some(0.123456)), "0.1235");
    }
}
