//! JavaScript: the judge is the test (its `console.assert`s as check sites, see
//! [`instrument::js_checks`]) run by its own node process, where every name the test uses and
//! neither it nor node defines is a stub calling the candidate (JavaScript has no declared
//! types: values travel as plain data, see `rt/rrtf.js`); the candidate is the sample's code
//! and a call server over the same names. Only names (identifiers of the test) are shared.

use std::path::Path;

use super::instrument::{self, Syntax};
use super::{Plan, Prompt, Side, Whole};

const RT: &str = include_str!("rt/rrtf.js");

/// Words that are not names a test can call (so no stub, and no `typeof` in the server).
const RESERVED: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "of",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "async",
    "get",
    "set",
    "arguments",
    "eval",
    "undefined",
    "NaN",
    "Infinity",
    "__rrtf",
    "require",
    "module",
    "exports",
    "__filename",
    "__dirname",
    "globalThis",
];

/// The names the judge may have to call: identifiers the test uses (not after `.`).
fn test_names(test: &str) -> Vec<String> {
    instrument::free_names(test, Syntax::Js)
        .into_iter()
        .filter(|n| !RESERVED.contains(&n.as_str()))
        .collect()
}

/// Node's own globals (a script's), which the judge never stubs (`n in globalThis`).
const GLOBALS: &[&str] = &[
    "AbortController",
    "AbortSignal",
    "AggregateError",
    "Array",
    "ArrayBuffer",
    "Atomics",
    "BigInt",
    "BigInt64Array",
    "BigUint64Array",
    "Blob",
    "Boolean",
    "BroadcastChannel",
    "Buffer",
    "DataView",
    "Date",
    "DOMException",
    "Error",
    "EvalError",
    "Event",
    "EventTarget",
    "FinalizationRegistry",
    "Float32Array",
    "Float64Array",
    "Function",
    "Int16Array",
    "Int32Array",
    "Int8Array",
    "Intl",
    "JSON",
    "Map",
    "Math",
    "Number",
    "Object",
    "Promise",
    "Proxy",
    "RangeError",
    "ReferenceError",
    "Reflect",
    "RegExp",
    "Set",
    "SharedArrayBuffer",
    "String",
    "Symbol",
    "SyntaxError",
    "TextDecoder",
    "TextEncoder",
    "TypeError",
    "URIError",
    "URL",
    "URLSearchParams",
    "Uint16Array",
    "Uint32Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "WeakMap",
    "WeakRef",
    "WeakSet",
    "WebAssembly",
    "atob",
    "btoa",
    "clearImmediate",
    "clearInterval",
    "clearTimeout",
    "console",
    "decodeURI",
    "decodeURIComponent",
    "encodeURI",
    "encodeURIComponent",
    "escape",
    "fetch",
    "global",
    "isFinite",
    "isNaN",
    "parseFloat",
    "parseInt",
    "performance",
    "process",
    "queueMicrotask",
    "setImmediate",
    "setInterval",
    "setTimeout",
    "structuredClone",
    "unescape",
];

/// The names of `names` (the test's) that stand for the candidate's functions, decided from
/// the test alone (never from the sample's code, which could name the test's own helpers or
/// locals to make checks that call nothing count): names the test refers to but neither
/// declares (`function`, `class`, `const`, `let`, `var`) nor assigns, nor node defines. A
/// reference need not be a call: `const candidate = decodeCyclic` or `strs.map(encodeCyclic)`
/// name a function of the sample (or of the prompt) as surely as `decodeCyclic(s)` does, and
/// missing one would let the sample's copy of a helper compute the expected values. Only a
/// word followed by `:` (an object's key, a label) is no reference.
fn candidate_names(test: &str, names: &[String]) -> Vec<String> {
    let b = test.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Js);
    let mut bound: Vec<String> = Vec::new();
    let mut referred: Vec<String> = Vec::new();
    // The names the parenthesised list at `at` binds (a function's parameters, a `catch`'s).
    let params = |at: usize, bound: &mut Vec<String>| {
        if b.get(at) == Some(&b'(')
            && let Some(close) = instrument::matching(b, &mask, at)
        {
            bound.extend(param_names(&test[at + 1..close]));
        }
    };
    let word = |i: usize| -> Option<(usize, usize)> {
        let s = i;
        let mut e = i;
        while e < b.len() && mask[e] && instrument::is_ident(b[e]) {
            e += 1;
        }
        (e > s).then_some((s, e))
    };
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = 0;
    while i < b.len() {
        if !mask[i] || !instrument::is_ident(b[i]) || (i > 0 && instrument::is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let Some((s, e)) = word(i) else {
            i += 1;
            continue;
        };
        let w = &test[s..e];
        let after = skip_ws(e);
        let member = s > 0 && b[s - 1] == b'.';
        if matches!(w, "function" | "class" | "const" | "let" | "var") {
            // The declared name, or every name of a destructuring pattern.
            let mut at = skip_ws(e);
            if w == "function" && b.get(at) == Some(&b'*') {
                at = skip_ws(at + 1); // a generator
            }
            if let Some(&open @ (b'[' | b'{')) = b.get(at) {
                let close = if open == b'[' { b']' } else { b'}' };
                let end = (at..b.len()).find(|&k| b[k] == close).unwrap_or(b.len());
                bound.extend(instrument::free_names(&test[at..end], Syntax::Js));
            } else if let Some((ds, de)) = word(at) {
                bound.push(test[ds..de].to_string());
                at = skip_ws(de);
            }
            // A function's parameters are its own names.
            if w == "function" {
                params(at, &mut bound);
            }
        } else if w == "catch" {
            params(after, &mut bound);
        } else if matches!(w, "break" | "continue") {
            // A label, not a value: on the same line (no line break may come between).
            let mut at = e;
            while b.get(at).is_some_and(|&c| c == b' ' || c == b'\t') {
                at += 1;
            }
            if let Some((ls, le)) = word(at) {
                bound.push(test[ls..le].to_string());
            }
        } else if !member
            && b.get(after) == Some(&b'(')
            && instrument::matching(b, &mask, after).is_some_and(|close| {
                let k = close
                    + 1
                    + b[close + 1..]
                        .iter()
                        .take_while(|&&c| c == b' ' || c == b'\t')
                        .count();
                b.get(k) == Some(&b'{')
            })
        {
            // A method's definition (`run(a, b) {` in a class or an object): its name and
            // parameters are the test's own.
            bound.push(w.to_string());
            params(after, &mut bound);
        } else if !member && b.get(after) != Some(&b':') {
            referred.push(w.to_string());
        }
        i = e;
    }
    // An arrow function's parameters: `(a, b) =>` or `a =>`.
    for k in 0..b.len().saturating_sub(1) {
        if !mask[k] || b[k] != b'=' || b[k + 1] != b'>' {
            continue;
        }
        let mut j = k;
        while j > 0 && b[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        if j > 0 && b[j - 1] == b')' {
            let s = instrument::matching_paren_back(b, &mask, j - 1).unwrap_or(0);
            bound.extend(param_names(&test[s + 1..j - 1]));
        } else {
            let mut s = j;
            while s > 0 && instrument::is_ident(b[s - 1]) {
                s -= 1;
            }
            if s < j {
                bound.push(test[s..j].to_string());
            }
        }
    }
    for (name, _) in instrument::assignments(test, Syntax::Js) {
        bound.push(name);
    }
    names
        .iter()
        .filter(|n| referred.contains(n) && !bound.contains(n) && !GLOBALS.contains(&n.as_str()))
        .cloned()
        .collect()
}

/// Whether `word` is one of JavaScript's reserved words (or `let`, `async`, `of`), no name a
/// script assigns.
fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "let"
            | "const"
            | "var"
            | "class"
            | "function"
            | "async"
            | "await"
            | "yield"
            | "return"
            | "typeof"
            | "void"
            | "delete"
            | "new"
            | "in"
            | "of"
            | "instanceof"
            | "this"
            | "super"
            | "if"
            | "else"
            | "for"
            | "while"
            | "do"
            | "switch"
            | "case"
            | "default"
            | "break"
            | "continue"
            | "throw"
            | "try"
            | "catch"
            | "finally"
            | "import"
            | "export"
            | "with"
            | "debugger"
    )
}

/// The names a script declares at its top level, each with whether the declaration is lexical
/// (`let`, `const`, `class`: one of them beside any other declaration of the name is a
/// SyntaxError of the whole script) or not (`var`, also inside blocks and `for` heads, since
/// it belongs to the script unless a function holds it; `function` at the top level; both may
/// repeat; a name assigned at the top level without a declaration, `total = 0`, as `var`).
/// Read generously (a destructuring key counts as a name): a name read that is not declared
/// can only make [`super::clash`] refuse, never pass, a pair of code and test.
pub(super) fn top_declarations(src: &str) -> Vec<(String, bool)> {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Js);
    let ops = b",=+-*/%&|^!<>?:(.[";
    // The last character before `i` (a literal's closing quote counts: it ends a value).
    let prev = |i: usize| (0..i).rev().find(|&k| !b[k].is_ascii_whitespace());
    let prev_code = |i: usize| prev(i).filter(|&k| mask[k]);
    // The last token's end before `i`, past comments (a literal's closing quote or slash is
    // one: it ends a value), and whether a line break stands between.
    let last_token = |i: usize| -> (Option<usize>, bool) {
        let mut k = i;
        let mut broke = false;
        loop {
            let Some(j) = prev(k) else {
                return (None, broke || b[..k].contains(&b'\n'));
            };
            broke |= b[j + 1..k].contains(&b'\n');
            if mask[j] {
                return (Some(j), broke);
            }
            let mut s = j;
            while s > 0 && !mask[s - 1] {
                s -= 1;
            }
            if !(src[s..].starts_with("//") || src[s..].starts_with("/*")) {
                return (Some(j), broke);
            }
            // A comment: a `//` one ends its line; a `/* */` one with a line break in it is one.
            broke |= src[s..].starts_with("//") || b[s..=j].contains(&b'\n');
            k = s;
        }
    };
    // A statement starts at `i`: nothing before it, or `;`/`}` or a line break after a token
    // that does not go on (`= class A {}` is an expression: its name is not the script's; a
    // postfix `++` ends a value).
    let statement_start = |i: usize| match last_token(i) {
        (None, _) => true,
        (Some(k), broke) => {
            (mask[k] && matches!(b[k], b';' | b'}' | b'{'))
                || (broke
                    && (!mask[k]
                        || !ops.contains(&b[k])
                        || (k > 0 && matches!(&b[k - 1..=k], b"++" | b"--")))
                    && !is_word(b, k, b"return"))
        }
    };
    let ident_at = |i: usize| -> Option<(usize, usize)> {
        let s = instrument::skip_ws(b, i);
        let mut e = s;
        while e < b.len() && mask[e] && instrument::is_ident(b[e]) {
            e += 1;
        }
        (e > s && !b[s].is_ascii_digit()).then_some((s, e))
    };
    // Whether the `{` at `i` opens a function's body: after a parameter list that is no
    // statement's head (`if (...) {` is a block, `f(...) {` a method) or after `=>`.
    let opens_function = |i: usize| match prev_code(i) {
        Some(k) if b[k] == b')' => {
            let Some(open) = instrument::matching_paren_back(b, &mask, k) else {
                return true;
            };
            let word_end = prev_code(open);
            !word_end.is_some_and(|w| {
                [&b"if"[..], b"for", b"while", b"switch", b"catch", b"with"]
                    .iter()
                    .any(|kw| is_word(b, w, kw))
            })
        }
        Some(k) => b[k] == b'>' && k > 0 && b[k - 1] == b'=',
        None => false,
    };
    let mut out = Vec::new();
    // The braces open at `i`, each whether it is a function's body; parentheses and brackets.
    let mut braces: Vec<bool> = Vec::new();
    let mut other = 0i32;
    let mut i = 0;
    while i < b.len() {
        if !mask[i] {
            i += 1;
            continue;
        }
        match b[i] {
            b'{' => braces.push(opens_function(i)),
            b'}' => {
                braces.pop();
            }
            b'(' | b'[' => other += 1,
            b')' | b']' => other = (other - 1).max(0),
            // A statement's end at the top level closes what a misread literal left open (a
            // regex after `)` read as division: its `(` would hide every later declaration).
            b';' if braces.is_empty() => other = 0,
            b'\n'
                if braces.is_empty()
                    && other > 0
                    && ident_at(i + 1).is_some_and(|(s, e)| {
                        matches!(
                            &src[s..e],
                            "let" | "const" | "class" | "function" | "var" | "async"
                        )
                    }) =>
            {
                other = 0;
            }
            _ if instrument::is_ident(b[i]) && (i == 0 || !instrument::is_ident(b[i - 1])) => {
                let mut e = i;
                while e < b.len() && instrument::is_ident(b[e]) {
                    e += 1;
                }
                let word = &src[i..e];
                let top = braces.is_empty() && other == 0;
                // A name the script assigns at its top level without declaring it (`total =
                // 0`): a global, the script's as a `var` is.
                if top && !(i > 0 && b[i - 1] == b'.') && !is_reserved(word) && statement_start(i) {
                    let at = instrument::skip_ws(b, e);
                    if b.get(at) == Some(&b'=')
                        && mask[at]
                        && !matches!(b.get(at + 1), Some(b'=') | Some(b'>'))
                    {
                        out.push((word.to_string(), false));
                    }
                }
                let script_var = word == "var" && !braces.contains(&true);
                let keyword = matches!(word, "let" | "const" | "class" | "function" | "async")
                    && top
                    && statement_start(i);
                if !(keyword || script_var) || (i > 0 && b[i - 1] == b'.') {
                    i = e;
                    continue;
                }
                match word {
                    "class" | "function" | "async" => {
                        let mut at = e;
                        if word == "async" {
                            match ident_at(at) {
                                Some((s, f)) if &src[s..f] == "function" => at = f,
                                _ => {
                                    i = e;
                                    continue;
                                }
                            }
                        }
                        let s = instrument::skip_ws(b, at);
                        let at = if word != "class" && b.get(s) == Some(&b'*') {
                            s + 1
                        } else {
                            at
                        };
                        if let Some((s, f)) = ident_at(at) {
                            out.push((src[s..f].to_string(), word == "class"));
                        }
                    }
                    _ => {
                        // The declarators run to a `;` at this depth, a line break that ends
                        // the statement, the `)` of a `for` head, or its `of`/`in`.
                        let mut d = 0i32;
                        let mut k = e;
                        while k < b.len() {
                            if mask[k] {
                                match b[k] {
                                    b'(' | b'[' | b'{' => d += 1,
                                    b')' | b']' | b'}' => d -= 1,
                                    b';' if d == 0 => break,
                                    // Not before the first declarator (`let\n  a = 1`).
                                    b'\n' if d == 0 && prev(k).is_some_and(|p| p >= e) => {
                                        let before = prev_code(k).map(|p| b[p]);
                                        let after = b.get(instrument::skip_ws(b, k)).copied();
                                        if !before.is_some_and(|c| ops.contains(&c))
                                            && !after.is_some_and(|c| {
                                                ops.contains(&c) && c != b'(' && c != b'['
                                            })
                                        {
                                            break;
                                        }
                                    }
                                    b'o' | b'i'
                                        if d == 0
                                            && (instrument::word_at(b, &mask, k, b"of")
                                                || instrument::word_at(b, &mask, k, b"in")) =>
                                    {
                                        break;
                                    }
                                    _ => {}
                                }
                                if d < 0 {
                                    break;
                                }
                            }
                            k += 1;
                        }
                        let lexical = word != "var";
                        out.extend(declared_names(&src[e..k]).into_iter().map(|n| (n, lexical)));
                        i = k;
                        continue;
                    }
                }
                i = e;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The names a declaration's declarators (`a = 1, {b, c: d, ...e} = f, [g = h] = i`) bind:
/// each pattern's names, never a destructured key (`c`) or a default's (`h`).
fn declared_names(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in instrument::split_top(list) {
        pattern_names(part, &mut out);
    }
    out
}

/// The first byte of `p` at its top level (outside brackets, literals and comments) that `at`
/// accepts.
fn top_level(p: &str, at: impl Fn(&[u8], usize) -> bool) -> Option<usize> {
    let b = p.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Js);
    let mut depth = 0i32;
    for k in 0..b.len() {
        if !mask[k] {
            continue;
        }
        match b[k] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ if depth == 0 && at(b, k) => return Some(k),
            _ => {}
        }
    }
    None
}

/// A binding pattern without its default (`x = 1` is `x`, `{a} = o` is `{a}`).
fn before_default(p: &str) -> &str {
    let end = top_level(p, |b, k| {
        b[k] == b'=' && b.get(k + 1) != Some(&b'>') && b.get(k + 1) != Some(&b'=')
    });
    &p[..end.unwrap_or(p.len())]
}

fn pattern_names(p: &str, out: &mut Vec<String>) {
    let pat = before_default(p)
        .trim()
        .trim_start_matches("...")
        .trim_start();
    let inner = |open: char, close: char| {
        pat.strip_prefix(open)
            .and_then(|x| x.strip_suffix(close))
            .map(instrument::split_top)
    };
    if let Some(parts) = inner('{', '}') {
        for part in parts {
            // `key: pattern` binds the pattern; `key` or `key = d` binds the key.
            match top_level(part, |b, k| b[k] == b':') {
                Some(k) => pattern_names(&part[k + 1..], out),
                None => pattern_names(part, out),
            }
        }
    } else if let Some(parts) = inner('[', ']') {
        for part in parts {
            pattern_names(part, out);
        }
    } else {
        out.extend(instrument::free_names(pat, Syntax::Js));
    }
}

fn is_word(b: &[u8], end: usize, word: &[u8]) -> bool {
    end + 1 >= word.len()
        && &b[end + 1 - word.len()..=end] == word
        && (end + 1 == word.len() || !instrument::is_ident(b[end - word.len()]))
}

/// The names a parameter list (`a, {b, c: d}, [e], f = g(x), ...rest`) binds: each
/// parameter's pattern, never the names of its default value (`f = g(x)` binds `f` alone).
fn param_names(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in instrument::split_top(list) {
        out.extend(instrument::free_names(before_default(p), Syntax::Js));
    }
    out
}

/// The top-level functions `prompt` defines whole: `function NAME(...) {...}` and
/// `const|let|var NAME = (...) => {...}` (or `= NAME => {...}`, `= function (...) {...}`).
fn whole_functions(prompt: &str) -> Vec<Whole> {
    let b = prompt.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Js);
    let ident = |i: usize| -> usize {
        let mut e = i;
        while e < b.len() && mask[e] && instrument::is_ident(b[e]) {
            e += 1;
        }
        e
    };
    // The `}` closing a function whose parameters (or single parameter) start at `i`.
    let body = |i: usize, arrow: bool| -> Option<usize> {
        let after = if b.get(i) == Some(&b'(') {
            instrument::matching(b, &mask, i)? + 1
        } else if arrow && ident(i) > i {
            ident(i)
        } else {
            return None;
        };
        let mut k = instrument::skip_ws(b, after);
        if arrow {
            if !b[k..].starts_with(b"=>") {
                return None;
            }
            k = instrument::skip_ws(b, k + 2);
        }
        (b.get(k) == Some(&b'{') && mask[k])
            .then(|| instrument::matching(b, &mask, k))
            .flatten()
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        if !mask[i] {
            i += 1;
            continue;
        }
        let mut found = None;
        if depth == 0 && instrument::word_at(b, &mask, i, b"function") {
            let s = instrument::skip_ws(b, i + 8);
            let e = ident(s);
            if e > s {
                found = body(instrument::skip_ws(b, e), false).map(|c| (&prompt[s..e], c));
            }
        } else if depth == 0
            && let Some(w) = ["const", "let", "var"]
                .iter()
                .find(|w| instrument::word_at(b, &mask, i, w.as_bytes()))
        {
            let s = instrument::skip_ws(b, i + w.len());
            let e = ident(s);
            let eq = instrument::skip_ws(b, e);
            if e > s && b.get(eq) == Some(&b'=') && b.get(eq + 1) != Some(&b'=') {
                let v = instrument::skip_ws(b, eq + 1);
                let close = if instrument::word_at(b, &mask, v, b"function") {
                    body(instrument::skip_ws(b, v + 8), false)
                } else {
                    body(v, true)
                };
                found = close.map(|c| (&prompt[s..e], c));
            }
        }
        if let Some((name, close)) = found {
            out.push(Whole {
                name: name.to_string(),
                owner: String::new(),
                text: prompt[i..=close].to_string(),
            });
            i = close + 1;
            continue;
        }
        match b[i] {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    out
}

pub(super) fn plan(
    node: &Path,
    code: &str,
    test: &str,
    prompt: Prompt<'_>,
) -> Result<Plan, String> {
    let inst = instrument::js_checks(test);
    let mut names = test_names(test);
    let mut seeds = candidate_names(test, &names);
    // The prompt's helpers the test calls (HumanEval-X /38's `encodeCyclic`) are the judge's
    // own, from the prompt's text (`prompt_helpers`).
    let whole = prompt.text.map(whole_functions).unwrap_or_default();
    let helpers = super::prompt_helpers(&seeds, &seeds, &whole, prompt.entry_point, Syntax::Js);
    let helper_src: String = helpers.iter().map(|h| format!("{}\n", h.text)).collect();
    let helper_names: Vec<&str> = helpers.iter().map(|h| h.name.as_str()).collect();
    names.retain(|n| !helper_names.contains(&n.as_str()));
    seeds.retain(|n| !helper_names.contains(&n.as_str()));
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let quoted: Vec<String> = seeds.iter().map(|n| format!("'{n}'")).collect();
    // The candidate's functions are the test's calls that node does not define: more than one,
    // and none can be trusted (`untrusted` in the runtime; compiled languages refuse to build
    // such a judge, `one_function_of_the_sample`).
    // The entry point, when known, is the function under test: always a plain stub. A
    // `console.assert` the reading of the test did not find as a check site (`__rrtf.unseen`)
    // fails the test when it fails, never silently (node's own only prints).
    let entry = prompt
        .entry_point
        .filter(|e| seeds.iter().any(|s| s == e))
        .map_or("null".to_string(), |e| format!("'{e}'"));
    let judge_src = format!(
        "{RT}\n{helper_src}__rrtf.judgeStart({});\nconsole.assert = __rrtf.unseen;\nconst __rrtfSample = [{}].filter((n) => !(n in globalThis));\nfor (const n of [{}]) if (!(n in globalThis)) globalThis[n] = __rrtfSample.length > 1 && __rrtfSample.includes(n) && n !== {entry} ? __rrtf.untrusted(n, __rrtfSample) : __rrtf.stub(n);\ntry {{\n{}\n}} catch (e) {{ __rrtf.testError(e); }}\n__rrtf.judgeDone();\n",
        inst.sites.len(),
        quoted.join(", "),
        list.join(", "),
        inst.test
    );
    // The test's top-level names the code does not declare at its own (`__rrtf.guard`: one
    // the sample touches is the test's in one program); none is a function of the sample's.
    let own: Vec<String> = top_declarations(code).into_iter().map(|(n, _)| n).collect();
    let mut guarded: Vec<String> = Vec::new();
    for (n, _) in top_declarations(test) {
        if !own.contains(&n) && !guarded.contains(&n) {
            guarded.push(n);
        }
    }
    let table: Vec<String> = names
        .iter()
        .filter(|n| !guarded.contains(n))
        .map(|n| format!("  '{n}': typeof {n} === 'function' ? {n} : undefined,"))
        .collect();
    let guarded: Vec<String> = guarded.iter().map(|n| format!("'{n}'")).collect();
    let cand_src = format!(
        "{RT}\n__rrtf.guard([{}]);\n{code}\n;__rrtf.serve({{\n{}\n}});\n",
        guarded.join(", "),
        table.join("\n")
    );
    let mut sites = inst.sites;
    instrument::mark_uses(&mut sites, test, Syntax::Js, &seeds);
    let node = node.to_string_lossy().into_owned();
    Ok(Plan {
        judge: Side {
            files: vec![("judge.js".into(), judge_src)],
            run: vec![node.clone(), "@DIR@/judge.js".into()],
            ..Side::default()
        },
        cand: Side {
            files: vec![("cand.js".into(), cand_src)],
            run: vec![node, "@DIR@/cand.js".into()],
            ..Side::default()
        },
        sites,
        calls: names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_judge_has_stubs_for_the_tests_names_and_never_the_code() {
        let code =
            "const secretHelper = (x) => x * 7;\nconst add = (a, b) => secretHelper(a) + b;\n";
        let test = "const t = () => {\n  console.assert(add(1, 2) === JSON.parse('9'))\n}\nt()\n";
        let p = plan(Path::new("/usr/bin/node"), code, test, Prompt::NONE).unwrap();
        let judge = &p.judge.files[0].1;
        assert!(!judge.contains("secretHelper"), "{judge}");
        assert!(
            judge.contains(
                "for (const n of ['t', 'console', 'add', 'JSON']) if (!(n in globalThis))"
            ),
            "{judge}"
        );
        assert!(judge.contains("__rrtf.judgeStart(1);"), "{judge}");
        let cand = &p.cand.files[0].1;
        assert!(cand.contains("  'add': typeof add === 'function' ? add : undefined,"));
        assert!(!cand.contains("console.assert"), "{cand}");
    }

    #[test]
    fn top_level_declarations_are_read_with_their_kind() {
        let src = "const a = 1, {b, c: [d]} = e, f = () => { let inner = 2; }\nlet g\nvar h = 3;\nfunction i() { const j = 1 }\nasync function k() {}\nfunction* l() {}\nclass M {}\nconst n = class O {}\nx.const = 1\nif (y) { var p = 1 }\n// const q = 1\nconst r = `const s = 1`\nlet t = 1 +\n  2, u = 3\nconst v =\n  4\nw()\nfor (var q1 = 0; q1 < 2; q1++) {}\nfor (var q2 of [1]) { var q3 = 1 }\nif (z) { let q4 = 1; var q5 }\nconst g2 = (x) => { var q6 = 1 }\nfunction h2() { if (x) { var q7 } }\nclass C2 { m() { var q8 } }\n/**\n * doc\n */\nconst j1 = 1\n// Usage:\nconst j2 = 2\nlet n1 = 0; n1++\nconst j3 = 3\nconst re = /a+/\nconst j4 = 4\nif (true) /[(]/.test('(')\nconst j5 = 5\nconst { key: j6, j7 = fallback, ...j8 } = {}, [j9 = other] = []\nlet\n  k1 = 1,\n  k2 = 2\ntotal = 0\nobj.prop = 1\nq == 1\nx = y /* c */ const\n";
        let got = top_declarations(src);
        let want: Vec<(String, bool)> = [
            ("a", true),
            ("b", true),
            ("d", true),
            ("f", true),
            ("g", true),
            ("h", false),
            ("i", false),
            ("k", false),
            ("l", false),
            ("M", true),
            ("n", true),
            ("p", false),
            ("r", true),
            ("t", true),
            ("u", true),
            ("v", true),
            ("q1", false),
            ("q2", false),
            ("q3", false),
            ("q5", false),
            ("g2", true),
            ("h2", false),
            ("C2", true),
            ("j1", true),
            ("j2", true),
            ("n1", true),
            ("j3", true),
            ("re", true),
            ("j4", true),
            ("j5", true),
            ("j6", true),
            ("j7", true),
            ("j8", true),
            ("j9", true),
            ("k1", true),
            ("k2", true),
            ("total", false),
            ("x", false),
        ]
        .iter()
        .map(|(n, l)| (n.to_string(), *l))
        .collect();
        assert_eq!(got, want);
    }

    /// Which checks count without a call is the test's business: a sample naming the test's
    /// helpers, locals or node's globals changes nothing.
    #[test]
    fn candidate_names_come_from_the_test_alone() {
        let test = "const t = () => {\n  const ok = check(1)\n  const r = add(1, 2)\n  console.assert(ok)\n  console.assert(r === 3)\n  console.assert(JSON.stringify(1) === '1')\n  console.assert(t.length === 0)\n}\nfunction check(x) { return x > 0 }\nt()\n";
        let honest = "const add = (a, b) => a + b;";
        let greedy = "const add = (a, b) => a + b; const check = 1, ok = 2, t = 3; console.log(JSON.stringify(t));";
        for code in [honest, greedy] {
            let p = plan(Path::new("/usr/bin/node"), code, test, Prompt::NONE).unwrap();
            let marks: Vec<bool> = p.sites.iter().map(|s| s.uses_candidate).collect();
            assert_eq!(marks, [false, true, false, false], "{code}");
        }
    }

    /// A function named without a call (an alias, an argument of `map`) is the sample's as
    /// much as a called one; parameters (a function's, an arrow's, a `catch`'s) and object keys
    /// are the test's own.
    #[test]
    fn a_function_named_without_a_call_is_still_the_sample_s() {
        let test = "const t = () => {\n  const candidate = decodeCyclic\n  const enc = ['ab'].map(encodeCyclic)\n  const eq = (a, b) => a === b\n  const sq = x => x * x\n  function same(p, q) { try { return p === q } catch (err) { return false } }\n  const o = { key: 1, other: 2 }\n  console.assert(eq(candidate(enc[0]), 'ab') && same(sq(o.key), 1))\n}\nt()\n";
        let names = test_names(test);
        assert_eq!(
            candidate_names(test, &names),
            ["decodeCyclic", "encodeCyclic"],
            "{names:?}"
        );
    }

    #[test]
    fn the_prompt_s_whole_functions_are_the_judge_s_helpers() {
        let prompt = "/* doc */\nconst encodeCyclic = (s) => {\n  return s.split('').join('}')\n}\nfunction twice(x) { return encodeCyclic(x) + encodeCyclic(x) }\nconst unused = s => { return s }\nlet n = 3;\nconst decodeCyclic = (s) => {\n";
        let names: Vec<String> = whole_functions(prompt)
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(names, ["encodeCyclic", "twice", "unused"]);
        let test =
            "const t = () => {\n  console.assert(decodeCyclic(twice('abc')) === 'abc')\n}\nt()\n";
        let code = format!("{prompt}  return s\n}}\nArray.prototype.join = () => 'x'\n");
        let p = plan(
            Path::new("/usr/bin/node"),
            &code,
            test,
            Prompt {
                text: Some(prompt),
                entry_point: None,
            },
        )
        .unwrap();
        let judge = &p.judge.files[0].1[RT.len()..];
        assert!(
            judge.contains("const encodeCyclic = (s) => {\n  return s.split('').join('}')\n}\nfunction twice(x) { return encodeCyclic(x) + encodeCyclic(x) }\n"),
            "{judge}"
        );
        assert!(
            !judge.contains("unused") && !judge.contains("prototype"),
            "{judge}"
        );
        assert!(
            judge.contains("const __rrtfSample = ['decodeCyclic']"),
            "{judge}"
        );
        assert_eq!(p.calls, ["t", "console", "decodeCyclic"]);
    }
}
