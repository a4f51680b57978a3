//! The test's checks, found in its text by the trusted side: every *check site* (an assertion
//! in the source) is rewritten into a call to the judge's harness with the site's index, so the
//! judge counts per site and the number of sites is known before anything runs. Only the test
//! is rewritten, never the sample's code (which the judge does not contain).
//!
//! Sites per language (HumanEval-X's test shapes):
//! - JavaScript: `console.assert(COND, ...)` becomes `__rrtf.check(i, () => (COND))` (the
//!   condition is evaluated inside the harness, so an exception fails that check only).
//! - C++: `assert(COND)` becomes `::rrtf::check(i, [&]() -> bool { return COND; })`.
//! - Java: `if (COND) { throw new AssertionError(); }` becomes `if (RrtfRt.fails(i, COND))`,
//!   and each element of a `List<Boolean> NAME = Arrays.asList(e1, ...)` becomes
//!   `RrtfRt.of(i, e1)` (its `if (NAME.contains(false)) throw ...` is then silent).
//! - Go: every statement `assert.Method(...)` becomes `rrtfCheck(i, assert.Method(...))`
//!   (testify's assertions return whether they held).
//! - Rust: `assert!(..)`, `assert_eq!(..)`, `assert_ne!(..)` become `rrtf_assert!(i, ..)`,
//!   `rrtf_assert_eq!(i, ..)`, `rrtf_assert_ne!(i, ..)` (macros of the judge).
//!
//! A site inside a loop is one check: it passes when every one of its executions passed.

/// One check site of a test: where it is and what it says (for failure details).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub line: usize,
    pub text: String,
    /// The site's whole source text.
    pub code: String,
    /// Its text uses the candidate (a function of the code, or a name assigned from one):
    /// it counts even when no call happens while it runs (see [`mark_uses`]).
    pub uses_candidate: bool,
    /// Its text names nothing but literals (`assert(true)`, `[1, 2, 3].length === 3`): it
    /// cannot hold the candidate's answer, so the calls of the statements before it (the
    /// judge's window) never make it count (see [`mark_uses`]).
    pub constant: bool,
}

/// A test rewritten for the judge, with its check sites in order.
#[derive(Clone, Debug)]
pub struct Instrumented {
    pub test: String,
    pub sites: Vec<Site>,
}

/// Lexical flavour of a source, for telling code from strings and comments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    /// C++: `'c'` literals.
    C,
    /// Java: `'c'` literals and `"""` text blocks.
    Java,
    /// JavaScript: `'...'` strings and template literals.
    Js,
    /// Go: `'c'` runes and raw strings in backquotes.
    Go,
    /// Rust: `'c'` literals but also lifetimes (`'a`), raw strings `r#"..."#`.
    Rust,
}

/// `src` with every byte that is not code (`mask`, from [`code_mask`]) a space: byte offsets
/// stay those of `src` (all spaces, should blanking split a character).
pub fn blank_non_code(src: &str, mask: &[bool]) -> String {
    let b = src.as_bytes();
    let clean: Vec<u8> = b
        .iter()
        .zip(mask)
        .map(|(&c, &code)| if code { c } else { b' ' })
        .collect();
    String::from_utf8(clean).unwrap_or_else(|_| " ".repeat(b.len()))
}

/// Bytes of `src` that are code (not inside a string, character literal or comment).
/// The words (identifiers, keywords, numbers) of `src` outside comments and literals, in order.
pub fn words(src: &str, syntax: Syntax) -> Vec<String> {
    let mask = code_mask(src.as_bytes(), syntax);
    blank_non_code(src, &mask)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

pub fn code_mask(src: &[u8], syntax: Syntax) -> Vec<bool> {
    let mut mask = vec![true; src.len()];
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        let next = src.get(i + 1).copied();
        let end = if c == b'/' && next == Some(b'/') {
            src[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(src.len(), |p| i + p)
        } else if c == b'/' && next == Some(b'*') {
            find(src, i + 2, b"*/").map_or(src.len(), |p| p + 2)
        } else if c == b'/' && syntax == Syntax::Js && js_regex_may_start(src, &mask, i) {
            // A regular expression literal (`/'/g`, `/^https:\/\//`): its quotes and slashes
            // open no string or comment.
            match js_regex_end(src, i) {
                Some(end) => end,
                None => {
                    i += 1;
                    continue;
                }
            }
        } else if c == b'"' && src[i..].starts_with(b"\"\"\"") && syntax == Syntax::Java {
            find(src, i + 3, b"\"\"\"").map_or(src.len(), |p| p + 3)
        } else if syntax == Syntax::Rust
            && c == b'r'
            && (i == 0 || !is_ident(src[i - 1]))
            && matches!(next, Some(b'"' | b'#'))
        {
            let hashes = src[i + 1..].iter().take_while(|&&b| b == b'#').count();
            if src.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            find(src, i + 2 + hashes, &close).map_or(src.len(), |p| p + close.len())
        } else if c == b'\'' && syntax == Syntax::Rust && !rust_char_literal(src, i) {
            i += 1; // a lifetime
            continue;
        } else if c == b'\'' && syntax == Syntax::C && cpp_digit_separator(src, i) {
            i += 1; // `1'000'000`
            continue;
        } else if c == b'"' || c == b'\'' {
            let mut j = i + 1;
            while j < src.len() && src[j] != c && (src[j] != b'\n' || syntax == Syntax::Rust) {
                j += if src[j] == b'\\' { 2 } else { 1 };
            }
            (j + 1).min(src.len())
        } else if c == b'`' && matches!(syntax, Syntax::Go | Syntax::Js) {
            let mut j = i + 1;
            let mut code = Vec::new();
            while j < src.len() && src[j] != b'`' {
                if syntax == Syntax::Js && src[j] == b'$' && src.get(j + 1) == Some(&b'{') {
                    // `${...}` in a JavaScript template literal is code.
                    let mut depth = 0usize;
                    let mut k = j + 1;
                    while k < src.len() {
                        match src[k] {
                            b'{' => depth += 1,
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                    code.push((j + 2, k.min(src.len())));
                    j = k + 1;
                    continue;
                }
                j += if src[j] == b'\\' && syntax == Syntax::Js {
                    2
                } else {
                    1
                };
            }
            let end = (j + 1).min(src.len());
            for m in &mut mask[i..end] {
                *m = false;
            }
            for (s, e) in code {
                for m in &mut mask[s..e] {
                    *m = true;
                }
            }
            i = end;
            continue;
        } else {
            i += 1;
            continue;
        };
        let end = end.min(src.len());
        for m in &mut mask[i..end] {
            *m = false;
        }
        i = end;
    }
    mask
}

/// Whether a `/` at `i` of JavaScript source starts a regular expression literal rather than
/// dividing: it follows an operator, an opening bracket, a separator, the start of the text or
/// a keyword that precedes an expression (`return /x/.test(s)`), not a value.
fn js_regex_may_start(src: &[u8], mask: &[bool], i: usize) -> bool {
    let mut k = i;
    while k > 0 && src[k - 1].is_ascii_whitespace() {
        k -= 1;
    }
    if k == 0 {
        return true;
    }
    let p = src[k - 1];
    if !mask[k - 1] {
        return false; // after a string (or a comment): taken as a value
    }
    if is_ident(p) {
        let mut s = k - 1;
        while s > 0 && is_ident(src[s - 1]) {
            s -= 1;
        }
        return matches!(
            &src[s..k],
            b"return"
                | b"typeof"
                | b"case"
                | b"in"
                | b"of"
                | b"void"
                | b"delete"
                | b"instanceof"
                | b"new"
                | b"throw"
                | b"yield"
                | b"await"
                | b"else"
                | b"do"
        );
    }
    if matches!(p, b'+' | b'-') && k >= 2 && src[k - 2] == p {
        return false; // `i++ / 2`: a value
    }
    b"(,=:[!&|?{};+-*%<>~^".contains(&p)
}

/// The end (past its flags) of the regular expression literal opening at `i`; `None` if it
/// does not close on its line (then it was a division after all).
fn js_regex_end(src: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut class = false;
    loop {
        match src.get(j)? {
            b'\n' => return None,
            b'\\' => j += 1,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => break,
            _ => {}
        }
        j += 1;
    }
    j += 1;
    while j < src.len() && is_ident(src[j]) {
        j += 1;
    }
    Some(j)
}

/// Whether the `'` at `i` of a C++ source is a digit separator (C++14: `1'000`, `0xFF'FF`):
/// inside a number (a preprocessing number: the token before it starts with a digit, or a `.`
/// and a digit) and followed by a digit or letter. A character literal's prefix (`u8'a'`,
/// `L'x'`) starts with a letter.
fn cpp_digit_separator(src: &[u8], i: usize) -> bool {
    if !src.get(i + 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let mut s = i;
    while s > 0 && (is_ident(src[s - 1]) || matches!(src[s - 1], b'.' | b'\'')) {
        s -= 1;
    }
    // A word glued to the number's start (`x1'0'`) is no number.
    let first = src[s..i]
        .iter()
        .position(|b| *b != b'.')
        .map(|p| src[s + p]);
    s < i && first.is_some_and(|b| b.is_ascii_digit())
}

/// Whether the `'` at `i` of a Rust source opens a character literal (not a lifetime).
fn rust_char_literal(src: &[u8], i: usize) -> bool {
    match src.get(i + 1) {
        Some(b'\\') => true,
        Some(&b) => {
            // 'x' (one char, possibly multi-byte UTF-8) closes right after it; a lifetime
            // ('a, 'static) does not close.
            let width = match b {
                0xF0..=0xF7 => 4,
                0xE0..=0xEF => 3,
                0xC0..=0xDF => 2,
                _ => 1,
            };
            src.get(i + 1 + width) == Some(&b'\'')
        }
        None => false,
    }
}

pub fn find(src: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    src.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

/// The index of the bracket closing the one at `open` (`(`, `[` or `{`), skipping non-code.
/// The `(` matching the `)` at `close` (code bytes only), scanning backwards.
pub fn matching_paren_back(src: &[u8], mask: &[bool], close: usize) -> Option<usize> {
    let mut depth = 0i32;
    for j in (0..=close).rev() {
        if !mask[j] {
            continue;
        }
        match src[j] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

pub fn matching(src: &[u8], mask: &[bool], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for i in open..src.len() {
        if !mask[i] {
            continue;
        }
        match src[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

pub fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Whether the keyword or name `word` starts at `i` as a whole word in code (not after `.`).
pub fn word_at(src: &[u8], mask: &[bool], i: usize, word: &[u8]) -> bool {
    src[i..].starts_with(word)
        && mask[i]
        && (i == 0 || !is_ident(src[i - 1]) && src[i - 1] != b'.')
        && src.get(i + word.len()).is_none_or(|&b| !is_ident(b))
}

pub fn skip_ws(src: &[u8], mut i: usize) -> usize {
    while i < src.len() && src[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// A check's text for the failure detail: one line, at most 200 characters.
fn describe(src: &str) -> String {
    let one: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    one.chars().take(200).collect()
}

pub fn line_of(src: &[u8], i: usize) -> usize {
    src[..i].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Top-level commas of the argument list between `open` and `close` (exclusive): brackets and
/// generic type arguments (`Map<String, Integer>`, told apart from comparisons by their shape)
/// are skipped.
pub fn split_args(src: &[u8], mask: &[bool], open: usize, close: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut start = open + 1;
    let mut i = open + 1;
    while i < close {
        if !mask[i] {
            i += 1;
            continue;
        }
        match src[i] {
            b'(' | b'[' | b'{' => {
                i = matching(src, mask, i).map_or(close, |j| j + 1);
                continue;
            }
            b'<' => {
                if let Some(j) = generic_end(src, i, close) {
                    i = j + 1;
                    continue;
                }
            }
            b',' => {
                parts.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push((start, close));
    parts
}

/// When the `<` at `i` opens generic type arguments (after a capitalised name, holding only
/// names, dots, commas, `?`, `[]`, `&` and nested `<>`), the index of its `>`.
fn generic_end(src: &[u8], i: usize, limit: usize) -> Option<usize> {
    let mut k = i;
    while k > 0 && src[k - 1] == b' ' {
        k -= 1;
    }
    let mut w = k;
    while w > 0 && is_ident(src[w - 1]) {
        w -= 1;
    }
    if w == k || !src[w].is_ascii_uppercase() {
        return None;
    }
    let mut depth = 0;
    for (j, &b) in src.iter().enumerate().take(limit).skip(i) {
        match b {
            b'<' => depth += 1,
            b'>' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            b if is_ident(b) || b" \t\n,.?[]&".contains(&b) => {}
            _ => return None,
        }
    }
    None
}

/// Edits to apply: (start, end, replacement), non-overlapping.
fn apply(src: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    let mut out = src.to_string();
    for (s, e, r) in edits {
        out.replace_range(s..e, &r);
    }
    out
}

/// Sites collected with their start offsets, numbered in source order at the end.
struct Builder<'a> {
    src: &'a str,
    found: Vec<(usize, Site, Vec<(usize, usize, String)>)>,
    other: Vec<(usize, usize, String)>,
}

impl<'a> Builder<'a> {
    fn new(src: &'a str) -> Self {
        Builder {
            src,
            found: Vec::new(),
            other: Vec::new(),
        }
    }

    /// A site starting at `at`, described by `text`; `edits` contain `@SITE@` for its index.
    fn site(&mut self, at: usize, text: &str, edits: Vec<(usize, usize, String)>) {
        let site = Site {
            line: line_of(self.src.as_bytes(), at),
            text: describe(text),
            code: text.to_string(),
            uses_candidate: false,
            constant: false,
        };
        self.found.push((at, site, edits));
    }

    fn finish(mut self) -> Instrumented {
        self.found.sort_by_key(|f| f.0);
        let mut edits = self.other;
        let mut sites = Vec::new();
        for (i, (_, site, e)) in self.found.into_iter().enumerate() {
            sites.push(site);
            edits.extend(
                e.into_iter()
                    .map(|(s, t, r)| (s, t, r.replace("@SITE@", &i.to_string()))),
            );
        }
        Instrumented {
            test: apply(self.src, edits),
            sites,
        }
    }
}

/// The methods of node's `assert` module that are check sites: those that decide
/// synchronously (`rejects` and `doesNotReject` settle later: their failure is the test's, an
/// unhandled rejection).
const NODE_ASSERTS: &[&str] = &[
    "ok",
    "equal",
    "notEqual",
    "strictEqual",
    "notStrictEqual",
    "deepEqual",
    "notDeepEqual",
    "deepStrictEqual",
    "notDeepStrictEqual",
    "throws",
    "doesNotThrow",
    "match",
    "doesNotMatch",
];

/// The names a JavaScript test binds to node's `assert` module (`const assert =
/// require('node:assert');`, MultiPL-E's first line; also `'assert'`, `'assert/strict'` and
/// `require(...).strict`).
fn node_assert_names(src: &[u8], mask: &[bool]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(at) = find(src, i, b"require") {
        i = at + 1;
        if !word_at(src, mask, at, b"require") {
            continue;
        }
        let open = skip_ws(src, at + "require".len());
        if src.get(open) != Some(&b'(') {
            continue;
        }
        let q = skip_ws(src, open + 1);
        let Some(&quote) = src.get(q).filter(|c| matches!(c, b'\'' | b'"' | b'`')) else {
            continue;
        };
        let Some(len) = src[q + 1..].iter().position(|&c| c == quote) else {
            continue;
        };
        let module = &src[q + 1..q + 1 + len];
        if !matches!(
            module,
            b"assert" | b"node:assert" | b"assert/strict" | b"node:assert/strict"
        ) {
            continue;
        }
        // Back from `require` over `=` to the name bound.
        let mut k = at;
        while k > 0 && src[k - 1].is_ascii_whitespace() {
            k -= 1;
        }
        if k == 0
            || src[k - 1] != b'='
            || (k >= 2 && matches!(src[k - 2], b'=' | b'!' | b'<' | b'>'))
        {
            continue;
        }
        k -= 1;
        while k > 0 && src[k - 1].is_ascii_whitespace() {
            k -= 1;
        }
        let end = k;
        while k > 0 && is_ident(src[k - 1]) {
            k -= 1;
        }
        if k < end && mask[k] {
            names.push(String::from_utf8_lossy(&src[k..end]).into_owned());
        }
    }
    names
}

/// JavaScript: every `console.assert(COND, ...)`, and every call of node's `assert` module
/// by the name the test binds it to (`assert(x)`, `assert.deepEqual(a, b)`: MultiPL-E's
/// tests; [`NODE_ASSERTS`]), which passes when it does not throw.
pub fn js_checks(test: &str) -> Instrumented {
    let src = test.as_bytes();
    let mask = code_mask(src, Syntax::Js);
    let mut b = Builder::new(test);
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(at) = find(src, i, b"console.assert") {
        i = at + 1;
        if !word_at(src, &mask, at, b"console") {
            continue;
        }
        let open = skip_ws(src, at + "console.assert".len());
        if src.get(open) != Some(&b'(') {
            continue;
        }
        let Some(close) = matching(src, &mask, open) else {
            continue;
        };
        let args = split_args(src, &mask, open, close);
        let (s, e) = args[0];
        let cond = test[s..e].trim();
        // A spread (`console.assert(...[ok])`) is no condition to wrap: `__rrtf.unseen` judges
        // it when it runs (it had made the judge's script a SyntaxError: crashed).
        if cond.is_empty() || cond.starts_with("...") {
            continue;
        }
        // The message's arguments are evaluated too, after the condition, as `console.assert`
        // does (a call of the sample among them runs, and its throw is the test's).
        // (Not one that awaits: it stays out of the arrow, unevaluated, as before; a line end
        // after it, which a `//` comment among them needs.)
        let rest = args.last().map_or("", |&(_, end)| test[e..end].trim());
        let awaits = (e..close).any(|k| word_at(src, &mask, k, b"await"));
        let edit = if rest.is_empty() || awaits {
            format!("__rrtf.check(@SITE@, () => ({cond}))")
        } else {
            format!("__rrtf.check(@SITE@, () => [({cond}){rest}\n][0])")
        };
        b.site(at, cond, vec![(at, close + 1, edit)]);
        taken.push((at, close + 1));
        i = close + 1;
    }
    for name in node_assert_names(src, &mask) {
        let mut i = 0;
        while let Some(at) = find(src, i, name.as_bytes()) {
            i = at + 1;
            if !word_at(src, &mask, at, name.as_bytes())
                || taken.iter().any(|&(s, e)| s <= at && at < e)
            {
                continue;
            }
            let mut open = skip_ws(src, at + name.len());
            if src.get(open) == Some(&b'.') {
                let m = skip_ws(src, open + 1);
                let mut e = m;
                while e < src.len() && is_ident(src[e]) {
                    e += 1;
                }
                if !NODE_ASSERTS.contains(&&test[m..e]) {
                    continue;
                }
                open = skip_ws(src, e);
            }
            if src.get(open) != Some(&b'(') {
                continue;
            }
            let Some(close) = matching(src, &mask, open) else {
                continue;
            };
            // A call that awaits (in an async test) cannot move into the site's arrow: it stays
            // the test's own, and its failure is the test's (an unhandled rejection).
            if (at..close).any(|k| word_at(src, &mask, k, b"await")) {
                i = close + 1;
                continue;
            }
            let call = &test[at..close + 1];
            let edit = format!("__rrtf.check(@SITE@, () => ({call}, true))");
            b.site(at, call, vec![(at, close + 1, edit)]);
            taken.push((at, close + 1));
            i = close + 1;
        }
    }
    b.finish()
}

/// How many arguments the C preprocessor reads in the macro call `(...)` from `open` to
/// `close`: one more than its commas outside nested parentheses (strings, characters and
/// comments, out of `mask`, hold none).
fn macro_arguments(src: &[u8], mask: &[bool], open: usize, close: usize) -> usize {
    let mut depth = 0;
    let mut args = 1;
    for k in open + 1..close {
        if !mask[k] {
            continue;
        }
        match src[k] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => args += 1,
            _ => {}
        }
    }
    args
}

/// C++: every `assert(COND)`.
pub fn cpp_checks(test: &str) -> Instrumented {
    let src = test.as_bytes();
    let mask = code_mask(src, Syntax::C);
    let mut b = Builder::new(test);
    let mut i = 0;
    while let Some(at) = find(src, i, b"assert") {
        i = at + 1;
        if !word_at(src, &mask, at, b"assert") {
            continue;
        }
        let open = skip_ws(src, at + 6);
        if src.get(open) != Some(&b'(') {
            continue;
        }
        let Some(close) = matching(src, &mask, open) else {
            continue;
        };
        // `assert` is a macro of one argument, and the preprocessor splits arguments at every
        // comma outside parentheses (braces and angle brackets do not protect one):
        // `assert(f(2) == 3, "msg")` or `assert(v == vector<int>{1, 2})` does not compile.
        // Left as written, it does not compile here either; wrapped, the comma operator made
        // it the string's truth, a check every answer passed (an attacker's review, round 12).
        if macro_arguments(src, &mask, open, close) > 1 {
            i = close + 1;
            continue;
        }
        let cond = test[open + 1..close].trim();
        let edit =
            format!("::rrtf::check(@SITE@, [&]() -> bool {{ return static_cast<bool>({cond}); }})");
        b.site(at, cond, vec![(at, close + 1, edit)]);
        i = close + 1;
    }
    b.finish()
}

/// Rust: `assert!`, `assert_eq!` and `assert_ne!` invocations with parentheses.
pub fn rust_checks(test: &str) -> Instrumented {
    let src = test.as_bytes();
    let mask = code_mask(src, Syntax::Rust);
    let mut b = Builder::new(test);
    for at in 0..src.len() {
        for (name, ours) in [
            (&b"assert!"[..], "rrtf_assert!"),
            (b"assert_eq!", "rrtf_assert_eq!"),
            (b"assert_ne!", "rrtf_assert_ne!"),
        ] {
            if !src[at..].starts_with(name)
                || !mask[at]
                || at > 0 && (is_ident(src[at - 1]) || src[at - 1] == b':')
            {
                continue;
            }
            let open = skip_ws(src, at + name.len());
            if src.get(open) != Some(&b'(') {
                continue;
            }
            let Some(close) = matching(src, &mask, open) else {
                continue;
            };
            b.site(
                at,
                &test[at..=close],
                vec![(at, open + 1, format!("{ours}(@SITE@, "))],
            );
        }
    }
    b.finish()
}

/// Java: HumanEval-X's two shapes (see the module doc).
pub fn java_checks(test: &str) -> Instrumented {
    let src = test.as_bytes();
    let mask = code_mask(src, Syntax::Java);
    let mut b = Builder::new(test);
    let mut lists: Vec<String> = Vec::new();
    // `List<Boolean> NAME = Arrays.asList(...)`: each element is a check.
    let mut from = 0;
    while let Some(at) = find(src, from, b"Arrays.asList(") {
        from = at + 1;
        if !word_at(src, &mask, at, b"Arrays") {
            continue;
        }
        let before = test[..at].trim_end();
        let Some(before) = before.strip_suffix('=') else {
            continue;
        };
        let before = before.trim_end();
        let name_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .map_or(0, |p| p + 1);
        let name = &before[name_start..];
        let decl = before[..name_start].trim_end();
        let boolean_list = decl.ends_with("List<Boolean>") || decl.ends_with("var");
        if name.is_empty() || !boolean_list {
            continue;
        }
        let open = at + "Arrays.asList".len();
        let Some(close) = matching(src, &mask, open) else {
            continue;
        };
        for (s, e) in split_args(src, &mask, open, close) {
            let arg = &test[s..e];
            if arg.trim().is_empty() {
                continue;
            }
            let lead = arg.len() - arg.trim_start().len();
            let trail = arg.len() - arg.trim_end().len();
            let (s, e) = (s + lead, e - trail);
            b.site(
                s,
                &test[s..e],
                vec![
                    (s, s, "RrtfRt.of(@SITE@, ".to_string()),
                    (e, e, ")".to_string()),
                ],
            );
        }
        lists.push(name.to_string());
        from = close;
    }
    // `if (COND) throw new AssertionError(...)`, with or without braces.
    for i in 0..src.len() {
        if !word_at(src, &mask, i, b"if") {
            continue;
        }
        let open = skip_ws(src, i + 2);
        if src.get(open) != Some(&b'(') {
            continue;
        }
        let Some(close) = matching(src, &mask, open) else {
            continue;
        };
        let mut j = skip_ws(src, close + 1);
        if src.get(j) == Some(&b'{') {
            j = skip_ws(src, j + 1);
        }
        let throws = word_at(src, &mask, j, b"throw") && {
            let k = skip_ws(src, j + 5);
            word_at(src, &mask, k, b"new") && {
                let t = skip_ws(src, k + 3);
                src[t..].starts_with(b"AssertionError")
                    || src[t..].starts_with(b"java.lang.AssertionError")
            }
        };
        if !throws {
            continue;
        }
        let cond = test[open + 1..close].trim();
        let silent = lists
            .iter()
            .any(|l| cond.replace(' ', "") == format!("{l}.contains(false)"));
        if silent {
            b.other.push((open + 1, open + 1, "RrtfRt.quiet(".into()));
            b.other.push((close, close, ")".into()));
        } else {
            // The check is the negation of the failing condition.
            let check = match cond.strip_prefix('!') {
                Some(rest) if !rest.starts_with('=') => rest.trim().to_string(),
                _ => format!("!({cond})"),
            };
            b.site(
                open,
                &check,
                vec![
                    (open + 1, open + 1, "RrtfRt.fails(@SITE@, ".into()),
                    (close, close, ")".into()),
                ],
            );
        }
    }
    b.finish()
}

/// Go: every statement `assert.Method(...)` (testify; `assert := assert.New(t)` too).
pub fn go_checks(test: &str) -> Instrumented {
    let src = test.as_bytes();
    let mask = code_mask(src, Syntax::Go);
    let mut b = Builder::new(test);
    let mut i = 0;
    while i < src.len() {
        if !word_at(src, &mask, i, b"assert") || src.get(i + 6) != Some(&b'.') {
            i += 1;
            continue;
        }
        // A statement start: first on its line, or after `{`, `;` or `}`.
        let mut k = i;
        while k > 0 && (src[k - 1] == b' ' || src[k - 1] == b'\t') {
            k -= 1;
        }
        let starts = k == 0 || matches!(src[k - 1], b'\n' | b'{' | b';' | b'}');
        let m = i + 7;
        let mut n = m;
        while n < src.len() && is_ident(src[n]) {
            n += 1;
        }
        let method_ok = n > m && src[m].is_ascii_uppercase() && &src[m..n] != b"New";
        if !starts || !method_ok || src.get(n) != Some(&b'(') {
            i += 1;
            continue;
        }
        let Some(close) = matching(src, &mask, n) else {
            break;
        };
        b.site(
            i,
            &test[i..=close],
            vec![
                (i, i, "rrtfCheck(@SITE@, ".to_string()),
                (close + 1, close + 1, ")".to_string()),
            ],
        );
        i = close + 1;
    }
    b.finish()
}

/// Mark the sites whose text uses the candidate: a name in `seeds` (the code's functions the
/// judge calls, or the classes it stubs), or a name the test assigns from an expression using
/// one (`r = f(x)`, `let r = f(x)`, `r := f(x)`, `Solution s = new Solution()`), to a fixed
/// point. The judge's dynamic rule (a call during the check or since the previous one) misses
/// a check of a value computed earlier; this static rule catches it. A site that uses neither
/// (`assert(true)`) counts only if the judge saw a call in its window.
///
/// `seeds` come from the trusted side; a seed the test assigns (a local of the test that the
/// code happens to name too) is no seed.
pub fn mark_uses(sites: &mut [Site], test: &str, syntax: Syntax, seeds: &[String]) {
    let assigns = assignments(test, syntax);
    let mut uses: Vec<String> = seeds
        .iter()
        .filter(|s| !assigns.iter().any(|(n, _)| n == *s))
        .cloned()
        .collect();
    for _ in 0..16 {
        let before = uses.len();
        for (name, rhs) in &assigns {
            // A function (`t = () => { ... f(x) ... }`) is no value of the candidate's: a check
            // that calls it calls the candidate while it runs, which the judge sees.
            if is_function(rhs) {
                continue;
            }
            if !uses.contains(name) && free_names(rhs, syntax).iter().any(|n| uses.contains(n)) {
                uses.push(name.clone());
            }
        }
        if uses.len() == before {
            break;
        }
    }
    for site in sites {
        let names = free_names(&site.code, syntax);
        site.uses_candidate = names.iter().any(|n| uses.contains(n));
        site.constant = names.iter().all(|n| NOT_VALUES.contains(&n.as_str()));
    }
}

/// Words a check site's text may name that hold no value of the test's: the check macros and
/// objects (Rust's `assert_eq!`, Go's `assert.Equal`) and the languages' literal words.
const NOT_VALUES: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "true",
    "false",
    "null",
    "nullptr",
    "NULL",
    "undefined",
    "NaN",
    "Infinity",
    "nil",
];

/// Whether `rhs` defines a function: `function`, an arrow `(..) =>`/`x =>`, a C++ lambda
/// `[..](..)`, a Rust closure `|..|`.
fn is_function(rhs: &str) -> bool {
    let t = rhs.trim_start();
    let t = t.strip_prefix("async").map_or(t, str::trim_start);
    let t = t.strip_prefix("move").map_or(t, str::trim_start);
    if t.starts_with("function") || t.starts_with('|') {
        return true;
    }
    let b = t.as_bytes();
    let close = match b.first() {
        Some(b'(') => b')',
        Some(b'[') => b']',
        _ => {
            let n = b.iter().take_while(|&&c| is_ident(c)).count();
            return n > 0 && t[n..].trim_start().starts_with("=>");
        }
    };
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate() {
        if c == b[0] {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                let rest = t[i + 1..].trim_start();
                return if close == b')' {
                    rest.starts_with("=>")
                } else {
                    rest.starts_with('(') || rest.starts_with('{')
                };
            }
        }
    }
    false
}

/// `(assigned name, right-hand side)` of every assignment-like statement of `test` (`r = e`,
/// `let r = e`, `r := e`, `r += e`).
pub fn assignments(test: &str, syntax: Syntax) -> Vec<(String, String)> {
    let b = test.as_bytes();
    let mask = code_mask(b, syntax);
    // (assigned name, right-hand side) of every assignment-like statement.
    let mut assigns: Vec<(String, String)> = Vec::new();
    for i in 0..b.len() {
        if !mask[i] || b[i] != b'=' {
            continue;
        }
        let next = b.get(i + 1).copied();
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        if next == Some(b'=') || next == Some(b'>') || b"=!<>".contains(&prev) {
            continue;
        }
        let mut k = i;
        while k > 0 && matches!(b[k - 1], b' ' | b'\t' | b':' | b'+' | b'-' | b'*' | b'/') {
            k -= 1;
        }
        let mut s = k;
        while s > 0 && is_ident(b[s - 1]) {
            s -= 1;
        }
        // `obj.name = ...` assigns a property, not the name.
        if s == k || (s > 0 && b[s - 1] == b'.') {
            continue;
        }
        let mut e = i + 1;
        let mut depth = 0i32;
        while e < b.len() {
            if mask[e] {
                match b[e] {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => {
                        if depth == 0 {
                            break;
                        }
                        depth -= 1;
                    }
                    b';' | b'\n' if depth == 0 => break,
                    b',' if depth == 0 => break,
                    _ => {}
                }
            }
            e += 1;
        }
        assigns.push((test[s..k].to_string(), test[i + 1..e].to_string()));
    }
    assigns
}

/// `text` split at its top-level commas (not inside `()`, `[]`, `{}` or `<>`).
pub fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.bytes().enumerate() {
        match c {
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b')' | b']' | b'}' | b'>' => depth -= 1,
            b',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Identifiers used in code (not after `.`), each once, in order of first use.
pub fn free_names(src: &str, syntax: Syntax) -> Vec<String> {
    let bytes = src.as_bytes();
    let mask = code_mask(bytes, syntax);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if !mask[i] || !(c.is_ascii_alphabetic() || c == b'_' || c == b'$') {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        if start > 0 && (is_ident(bytes[start - 1]) || bytes[start - 1] == b'.') {
            continue;
        }
        let word = &src[start..i];
        if !out.iter().any(|w| w == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// Names a C++, Go or Rust test binds itself, wherever it binds them (no scopes: a name bound
/// anywhere in the test is the test's), so that a function of the sample named like one of
/// them is not taken for a function the test calls: a variable or a parameter (`auto candidate
/// = f;`, `let candidate = f;`, `x := ...`, Go's `a, b :=` and `var`/`const`/`type`, Go's
/// function parameters, Rust's `let` and `for` patterns), a name before a single `:` (Go's and
/// Rust's struct keys, labels and parameters, C++'s range-`for` and bit-field declarators) and
/// a Go struct's fields. Reading more as bound than the test binds is safe: a name the test
/// does call then has no stub in the judge, which then does not build (never a pass).
pub fn bound_names(src: &str, syntax: Syntax) -> Vec<String> {
    let b = src.as_bytes();
    let mask = code_mask(b, syntax);
    let mut out: Vec<String> = Vec::new();
    let add = |w: &str, out: &mut Vec<String>| {
        if !w.is_empty() && !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    };
    // Every identifier of `src[s..e]` not after a `.` (a parameter list, a pattern).
    let all_in = |s: usize, e: usize, out: &mut Vec<String>| {
        for w in free_names(&src[s..e], syntax) {
            add(&w, out);
        }
    };
    let prev_token = |s: usize| (0..s).rev().find(|&k| !b[k].is_ascii_whitespace());
    let mut i = 0;
    while i < b.len() {
        if !mask[i] || !is_ident(b[i]) || b[i].is_ascii_digit() || (i > 0 && is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        let w = &src[s..i];
        if s > 0 && b[s - 1] == b'.' {
            continue;
        }
        let after = skip_ws(b, i);
        let next = b.get(after).copied();
        let next2 = b.get(after + 1).copied();
        // `w = ...` (not `==`), Go's `w := ...`.
        if (next == Some(b'=') && next2 != Some(b'='))
            || (syntax == Syntax::Go && next == Some(b':') && next2 == Some(b'='))
        {
            add(w, &mut out);
            // Go: `a, b := ...` binds every name of the list.
            if syntax == Syntax::Go && next == Some(b':') {
                let mut k = s;
                while let Some(p) = prev_token(k).filter(|&p| b[p] == b',') {
                    let Some(e) = prev_token(p).filter(|&q| is_ident(b[q])) else {
                        break;
                    };
                    let mut ws = e;
                    while ws > 0 && is_ident(b[ws - 1]) {
                        ws -= 1;
                    }
                    add(&src[ws..=e], &mut out);
                    k = ws;
                }
            }
            continue;
        }
        // A single `:` after the name.
        if next == Some(b':') && next2 != Some(b':') && (s == 0 || b[s - 1] != b':') {
            let declarator = match syntax {
                Syntax::Go | Syntax::Rust => true,
                // C++: `auto& x : xs`, `int bits : 3`; not `c ? f : g`, `case x:`, `public:`.
                _ => prev_token(s).is_some_and(|p| is_ident(b[p]) || b"&*>".contains(&b[p])),
            };
            if declarator {
                add(w, &mut out);
            }
            continue;
        }
        match (syntax, w) {
            (Syntax::Go, "var" | "const" | "type") => {
                let s2 = skip_ws(b, i);
                let mut e2 = s2;
                while e2 < b.len() && is_ident(b[e2]) {
                    e2 += 1;
                }
                add(&src[s2..e2], &mut out);
            }
            (Syntax::Go, "struct") if next == Some(b'{') => {
                // Each field line's first name.
                if let Some(close) = matching(b, &mask, after) {
                    for line in src[after + 1..close].lines() {
                        let t = line.trim_start();
                        let n = t.bytes().take_while(|&c| is_ident(c)).count();
                        add(&t[..n], &mut out);
                    }
                }
            }
            (Syntax::Go, "func") => {
                // A named function's or a literal's parameters (a method's receiver).
                let mut at = after;
                while at < b.len() && is_ident(b[at]) {
                    at += 1;
                }
                at = skip_ws(b, at);
                if b.get(at) == Some(&b'(')
                    && let Some(close) = matching(b, &mask, at)
                {
                    all_in(at + 1, close, &mut out);
                }
            }
            (Syntax::Rust, "let") => {
                // The pattern, to its `=` or `;` (a type after `:` is read too: harmless).
                if let Some(e) = (i..b.len()).find(|&k| mask[k] && matches!(b[k], b'=' | b';')) {
                    all_in(i, e, &mut out);
                }
            }
            (Syntax::Rust, "for") => {
                // `for PATTERN in`, the `in` before the loop's `{` (not `impl T for S {`).
                let end = (i..b.len())
                    .find(|&k| mask[k] && matches!(b[k], b'{' | b';'))
                    .unwrap_or(b.len());
                if let Some(e) = (i..end).find(|&k| word_at(b, &mask, k, b"in")) {
                    all_in(i, e, &mut out);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_if_throw_checks_are_sites() {
        let cases = [
            (
                "if (!(s.f(1) == 2)) { throw new AssertionError(); }",
                "if (RrtfRt.fails(0, !(s.f(1) == 2))) { throw new AssertionError(); }",
                1,
            ),
            (
                "if(!s.g(\")\")) throw new AssertionError(\"x\");",
                "if(RrtfRt.fails(0, !s.g(\")\"))) throw new AssertionError(\"x\");",
                1,
            ),
            // Not a check: other exceptions, other statements first, comments, strings.
            (
                "if (x) { throw new IllegalStateException(); }",
                "if (x) { throw new IllegalStateException(); }",
                0,
            ),
            (
                "if (x) { log(); throw new AssertionError(); }",
                "if (x) { log(); throw new AssertionError(); }",
                0,
            ),
            (
                "// if (x) throw new AssertionError();\nString t = \"if (x) throw new AssertionError();\";",
                "// if (x) throw new AssertionError();\nString t = \"if (x) throw new AssertionError();\";",
                0,
            ),
            (
                "elif (x) throw new AssertionError();",
                "elif (x) throw new AssertionError();",
                0,
            ),
        ];
        for (src, want, n) in cases {
            let out = java_checks(src);
            assert_eq!(out.test, want, "{src}");
            assert_eq!(out.sites.len(), n, "{src}");
        }
        let out = java_checks("if (!(s.f(1) == 2)) { throw new AssertionError(); }");
        assert_eq!(out.sites[0].text, "(s.f(1) == 2)");
    }

    #[test]
    fn java_boolean_lists_count_each_element() {
        let src = "List<Boolean> correct = Arrays.asList(\n    s.f(List.of(1, 2)) == 3,\n    Math.abs(s.g(1.5) - 0.5) < 1e-6,\n    new HashMap<String, Integer>().isEmpty(),\n    s.h(\"a,b\")\n);\nif (correct.contains(false)) {\n    throw new AssertionError();\n}\nif (s.k() != 1) throw new AssertionError();";
        let out = java_checks(src);
        assert_eq!(out.sites.len(), 5, "{}", out.test);
        assert!(
            out.test
                .contains("RrtfRt.of(0, s.f(List.of(1, 2)) == 3),\n    RrtfRt.of(1, Math.abs"),
            "{}",
            out.test
        );
        assert!(
            out.test
                .contains("RrtfRt.of(2, new HashMap<String, Integer>().isEmpty()),"),
            "{}",
            out.test
        );
        assert!(
            out.test
                .contains("if (RrtfRt.quiet(correct.contains(false))) {"),
            "{}",
            out.test
        );
        assert!(
            out.test.contains("if (RrtfRt.fails(4, s.k() != 1))"),
            "{}",
            out.test
        );
        assert_eq!(out.sites[1].line, 3);
        // A list of something else is left alone.
        let other = "List<Integer> xs = Arrays.asList(1, 2);";
        assert_eq!(java_checks(other).test, other);
    }

    #[test]
    fn go_assert_statements_are_sites() {
        let src = "func TestF(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(true, F([]int{1, 2}, \")\"))\n    for _, c := range cs { assert.Equal(c.want, F(c.in)) }\n    x := assert.Equal(1, 1)\n    // assert.Equal(1, 2)\n    assert.InDelta(0.5, G(`)`), 1e-9)\n}\n";
        let out = go_checks(src);
        assert!(out.test.contains("assert := assert.New(t)"), "{}", out.test);
        assert!(
            out.test
                .contains("rrtfCheck(0, assert.Equal(true, F([]int{1, 2}, \")\")))"),
            "{}",
            out.test
        );
        assert!(
            out.test
                .contains("{ rrtfCheck(1, assert.Equal(c.want, F(c.in))) }"),
            "{}",
            out.test
        );
        assert!(out.test.contains("x := assert.Equal(1, 1)"), "{}", out.test);
        assert!(out.test.contains("// assert.Equal(1, 2)"), "{}", out.test);
        assert!(
            out.test
                .contains("rrtfCheck(2, assert.InDelta(0.5, G(`)`), 1e-9))"),
            "{}",
            out.test
        );
        assert_eq!(out.sites.len(), 3);
    }

    #[test]
    fn cpp_and_js_asserts_are_sites() {
        let cpp = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (f({1, 2}) == 3); // assert(x)\n    for (int i=0;i<3;i++) assert(g(i, \")\"));\n}\n";
        let out = cpp_checks(cpp);
        assert_eq!(out.sites.len(), 2, "{}", out.test);
        assert!(out.test.contains("#include<assert.h>"), "{}", out.test);
        assert!(
            out.test.contains(
                "::rrtf::check(0, [&]() -> bool { return static_cast<bool>(f({1, 2}) == 3); }); // assert(x)"
            ),
            "{}",
            out.test
        );
        assert_eq!(
            (out.sites[1].line, out.sites[1].text.as_str()),
            (5, "g(i, \")\")")
        );
        let js = "const t = () => {\n  console.assert(f([1, 2]) === 3, 'msg, with comma')\n  console.assert(\n    g('(') === `)`\n  )\n}\nt()\n";
        let out = js_checks(js);
        assert_eq!(out.sites.len(), 2, "{}", out.test);
        // The message is evaluated too (`console.assert` evaluates its arguments).
        assert!(
            out.test
                .contains("__rrtf.check(0, () => [(f([1, 2]) === 3), 'msg, with comma'\n][0])\n"),
            "{}",
            out.test
        );
        assert!(
            out.test.contains("__rrtf.check(1, () => (g('(') === `)`))"),
            "{}",
            out.test
        );
    }

    #[test]
    fn node_assert_calls_are_sites_by_the_name_the_test_binds() {
        let js = "const assert = require('node:assert');\nfunction test() {\n  let candidate = f;\n  assert.deepEqual(candidate([1, 2]), [2, 1]);\n  assert(candidate([]).length === 0, 'x');\n  assert.rejects(candidate(1));\n  assert.equal(await candidate(2), 1);\n  console.assert(assert.ok(1) || true);\n  const s = 'assert.ok(no)';\n}\ntest();\n";
        let out = js_checks(js);
        assert_eq!(out.sites.len(), 3, "{}", out.test);
        assert!(
            out.test.contains(
                "__rrtf.check(0, () => (assert.deepEqual(candidate([1, 2]), [2, 1]), true));"
            ),
            "{}",
            out.test
        );
        assert!(
            out.test.contains(
                "__rrtf.check(1, () => (assert(candidate([]).length === 0, 'x'), true));"
            ),
            "{}",
            out.test
        );
        // The console's assert holding one is one site; `rejects` settles later: no site.
        assert!(
            out.test
                .contains("__rrtf.check(2, () => (assert.ok(1) || true))"),
            "{}",
            out.test
        );
        assert!(
            out.test.contains(
                "  assert.rejects(candidate(1));\n  assert.equal(await candidate(2), 1);"
            ),
            "{}",
            out.test
        );
        // Without a `require` of the module, `assert` is the test's own: no sites.
        let own = "function assert(c) { if (!c) throw 1; }\nassert(f(1) === 2);\n";
        assert_eq!(js_checks(own).sites.len(), 0);
        let strict = "const { strict: a } = require('assert');\nconst b = require(\"assert/strict\");\nb.equal(f(1), 2);\n";
        assert_eq!(js_checks(strict).sites.len(), 1);
    }

    #[test]
    fn rust_asserts_are_sites_and_lifetimes_are_not_strings() {
        let src = "fn t<'a>(x: &'a str) { assert!(f(x) == '\\''); assert_eq!(g(\"a)\"), 2, \"m {}\", 1);\n    std::assert_ne!(h(), 1); debug_assert!(true); let s = r#\"assert!(no)\"#; assert_ne!(h(), 'x'); }";
        let out = rust_checks(src);
        assert_eq!(out.sites.len(), 3, "{}", out.test);
        assert!(
            out.test.contains("rrtf_assert!(0, f(x) == '\\'')"),
            "{}",
            out.test
        );
        assert!(
            out.test
                .contains("rrtf_assert_eq!(1, g(\"a)\"), 2, \"m {}\", 1)"),
            "{}",
            out.test
        );
        assert!(out.test.contains("std::assert_ne!(h(), 1)"), "{}", out.test);
        assert!(out.test.contains("r#\"assert!(no)\"#"), "{}", out.test);
        assert!(
            out.test.contains("rrtf_assert_ne!(2, h(), 'x')"),
            "{}",
            out.test
        );
    }

    #[test]
    fn function_definitions_are_no_values() {
        for f in [
            " () => { f(1) }",
            "(a, b) => f(a)",
            "x => f(x)",
            "async (x) => f(x)",
            "function (x) { return f(x) }",
            "[&](int x) { return f(x); }",
            "|x| f(x)",
            "move || f(1)",
        ] {
            assert!(is_function(f), "{f}");
        }
        for v in [
            " f(1)",
            "(f(1) + 2)",
            "[f(1), 2]",
            "x + f(1)",
            "[1, 2].map(f)",
        ] {
            assert!(!is_function(v), "{v}");
        }
    }

    #[test]
    fn sites_that_use_a_value_of_the_candidate_are_marked() {
        let cpp = "int main(){\n    int r = add(1, 2);\n    auto v = r * 2, w = 7;\n    assert (r == 3);\n    assert (v == 6);\n    assert (w == 7);\n    assert (true);\n    assert (add(2, 2) >= 4);\n}\n";
        let mut out = cpp_checks(cpp);
        mark_uses(&mut out.sites, cpp, Syntax::C, &["add".to_string()]);
        let marks: Vec<bool> = out.sites.iter().map(|s| s.uses_candidate).collect();
        assert_eq!(marks, [true, true, false, false, true]);
        let java = "Solution s = new Solution();\nint r = s.add(1, 2);\nif (r != 3) { throw new AssertionError(); }\nif (1 == 2) { throw new AssertionError(); }\n";
        let mut out = java_checks(java);
        mark_uses(
            &mut out.sites,
            java,
            Syntax::Java,
            &["Solution".to_string()],
        );
        let marks: Vec<bool> = out.sites.iter().map(|s| s.uses_candidate).collect();
        assert_eq!(marks, [true, false]);
        let go = "func TestF(t *testing.T) {\n    r := F(1)\n    assert.Equal(t, 2, r)\n    assert.Equal(t, 1, 1)\n}\n";
        let mut out = go_checks(go);
        mark_uses(&mut out.sites, go, Syntax::Go, &["F".to_string()]);
        let marks: Vec<bool> = out.sites.iter().map(|s| s.uses_candidate).collect();
        assert_eq!(marks, [true, false]);
        // A seed the test assigns is the test's own local (the code named it too): no seed.
        let cpp =
            "int main(){\n    int r = 5;\n    assert (r == 5);\n    assert (add(1, 1) == 2);\n}\n";
        let mut out = cpp_checks(cpp);
        mark_uses(
            &mut out.sites,
            cpp,
            Syntax::C,
            &["r".to_string(), "add".to_string()],
        );
        let marks: Vec<bool> = out.sites.iter().map(|s| s.uses_candidate).collect();
        assert_eq!(marks, [false, true]);
    }

    #[test]
    fn free_names_skip_members_strings_and_comments() {
        let src = "const t = () => { x.y(z('w'), `q`) } // c d\nt()";
        assert_eq!(free_names(src, Syntax::Js), ["const", "t", "x", "z"]);
    }

    /// An `assert` the preprocessor reads as two arguments does not compile under MultiPL-E
    /// or HumanEval-X: it is left as written (not made a check whose comma operator yields
    /// the string's truth); parentheses protect a comma, braces do not.
    #[test]
    fn a_cpp_assert_of_two_macro_arguments_is_no_check() {
        let t = "int main() {\n  assert(f(1, 2) == 3);\n  assert(f(2, 1) == 3, \"f(2, 1)\");\n  assert(v == vector<int>{1, 2});\n  assert((v == vector<int>{1, 2}));\n  assert(s == \"a,b\");\n}\n";
        let got = cpp_checks(t);
        let sites: Vec<&str> = got.sites.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            sites,
            ["f(1, 2) == 3", "(v == vector<int>{1, 2})", "s == \"a,b\""]
        );
        assert!(got.test.contains("assert(f(2, 1) == 3, \"f(2, 1)\");"));
        assert!(got.test.contains("assert(v == vector<int>{1, 2});"));
    }

    /// C++14's digit separators open no character literal, so the braces after them count;
    /// `u8'a'`, `L'{'` and `'x'` still are literals.
    #[test]
    fn cpp_digit_separators_are_code() {
        let src = "if (a > 1'000'000 && b == 0xFF'FF) { c = u8'{' + L'{' + '{'; }";
        let mask = code_mask(src.as_bytes(), Syntax::C);
        let braces: Vec<usize> = src
            .match_indices(['{', '}'])
            .map(|(i, _)| i)
            .filter(|&i| mask[i])
            .collect();
        assert_eq!(braces, [src.find("{ c").unwrap(), src.len() - 1]);
    }

    /// The names a test binds itself, per language (MultiPL-E's Go test, C++'s and Rust's
    /// `candidate`); the names it calls are not among them.
    #[test]
    fn bound_names_are_the_test_s_own() {
        let go = "func TestF(t *testing.T) {\n  candidate := f\n  type test struct {\n    actual   interface{}\n    expected interface{}\n  }\n  tests := []test{\n    { actual: candidate(3, 7), expected: 1 },\n  }\n  for i, tc := range tests {\n    var n int = g(i)\n    t.Run(fmt.Sprint(n), func(t *testing.T) { _ = tc })\n  }\n}\n";
        let got = bound_names(go, Syntax::Go);
        for n in [
            "t",
            "candidate",
            "test",
            "actual",
            "expected",
            "tests",
            "i",
            "tc",
            "n",
        ] {
            assert!(got.iter().any(|g| g == n), "{n} in {got:?}");
        }
        for n in ["f", "g", "Run", "Sprint"] {
            assert!(!got.iter().any(|g| g == n), "{n} in {got:?}");
        }
        let cpp = "int main() {\n    auto candidate = f;\n    for (auto& x : g(1)) assert(x == (c ? h : k));\n    assert(candidate(3) == 1);\n}\n";
        let got = bound_names(cpp, Syntax::C);
        assert_eq!(got, ["candidate", "x"]);
        let rust = "fn main() {\n    let candidate = f;\n    let (a, mut b): (i64, i64) = (g(1), 2);\n    for (i, x) in h(3).iter().enumerate() { assert_eq!(candidate(*x), i); }\n    let s = S { key: k(1) };\n}\nimpl Display for S { fn fmt(&self, out: &mut Formatter) -> Result { m(out) } }\n";
        let got = bound_names(rust, Syntax::Rust);
        for n in ["candidate", "a", "b", "i", "x", "s", "key", "out"] {
            assert!(got.iter().any(|g| g == n), "{n} in {got:?}");
        }
        for n in ["f", "g", "h", "k", "m", "fmt", "iter"] {
            assert!(!got.iter().any(|g| g == n), "{n} in {got:?}");
        }
    }
}
