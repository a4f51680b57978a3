//! HTML building blocks every page shares: escaping and the outcome colours.

/// Escape text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Execution outcomes, best first, with their colour in every chart and badge.
pub const OUTCOMES: [(&str, &str); 9] = [
    ("pass", "#2e7d32"),
    ("partial", "#9ccc65"),
    ("test_failure", "#fbc02d"),
    ("runtime_error", "#ef6c00"),
    ("timeout", "#8d6e63"),
    ("memory_limit", "#6d4c41"),
    ("output_limit", "#795548"),
    ("crashed", "#7b1fa2"),
    ("compile_error", "#c62828"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
