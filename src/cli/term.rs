//! Text for a terminal: stored text (prompts, model answers, tests, a sample's output in an
//! execution's detail) may carry control characters, and an ANSI or OSC escape sequence printed
//! as is would be run by the reviewer's terminal (recolour or hide lines, retitle the window,
//! write the clipboard, forge hyperlinks). [`clean`] makes every such character visible instead.
//!
//! Applied to all human output (`Ctx::emit`) and to error messages; `--json` output is left
//! exact (JSON escapes C0 controls itself). Log lines are escaped by `tracing-subscriber`
//! itself (0.3.20 and later).

use std::borrow::Cow;

/// `s` with control characters replaced by visible stand-ins: C0 controls (but `\n` and `\t`)
/// and DEL by their Unicode control pictures (ESC is `␛`, CR is `␍`), C1 controls and the
/// bidirectional overrides that reorder what a line shows ("Trojan Source") by `\u{..}`.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            _ if !needs_escape(c) => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('\u{2421}'),
            _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Bidirectional embeddings, overrides and isolates; the line and paragraph separators,
        // which some terminals take as line breaks.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn escape_sequences_become_visible() {
        let cases = [
            (
                "plain text\nnext line\tand a tab",
                "plain text\nnext line\tand a tab",
            ),
            ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
            // OSC 52 (write the clipboard) and OSC 8 (a hyperlink), BEL- and ST-terminated.
            ("\x1b]52;c;cm0gLXJm\x07", "␛]52;c;cm0gLXJm␇"),
            (
                "\x1b]8;;http://evil\x1b\\x\x1b]8;;\x1b\\",
                "␛]8;;http://evil␛\\x␛]8;;␛\\",
            ),
            ("pass\rFAIL", "pass␍FAIL"),
            ("\x00\x08\x7f", "␀␈␡"),
            // C1 CSI, and a right-to-left override.
            ("\u{9b}2J", "\\u{9b}2J"),
            ("if admin\u{202e} {", "if admin\\u{202e} {"),
            ("accents é and 中文 stay", "accents é and 中文 stay"),
        ];
        for (raw, shown) in cases {
            assert_eq!(clean(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn clean_text_is_not_copied() {
        assert!(matches!(
            clean("nothing to do"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
