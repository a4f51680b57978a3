//! Go: the judge is a `go test -c` binary of the test (testify assertions as check sites, see
//! [`instrument::go_checks`]) with one stub per function of the code the test calls; the
//! candidate is a `go test -c` binary of the sample's code whose `TestMain` serves calls (so a
//! `func main` in the sample does not matter). Signatures come from the code's top-level
//! `func` declarations, under a closed grammar (`bool`, integer and float types, `string`,
//! `byte`, `rune`, `interface{}`/`any`, `[]T`, `[N]T`, `map[K]V`), rendered again here; an
//! `interface{}` value travels with its dynamic type (unnamed types only).

use std::path::Path;

use super::instrument::{self, Syntax};
use super::{Plan, Prompt, Side, Whole};

const RT: &str = include_str!("rt/rrtf_rt.go");
/// Sets up the Go build cache (a symlink copy of the warm one, when there is one) and builds.
const GO_BUILD: &str = "export GOCACHE=\"$PWD/.gocache\" HOME=\"$PWD\"; \
    if [ -n \"$RRTF_GOCACHE\" ]; then cp -rs \"$RRTF_GOCACHE\" \"$GOCACHE\" 2>/dev/null; fi; \
    exec \"$0\" \"$@\"";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum GTy {
    Basic(&'static str),
    Slice(Box<GTy>),
    Array(usize, Box<GTy>),
    Map(Box<GTy>, Box<GTy>),
}

const BASIC: [&str; 15] = [
    "bool",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "string",
    "interface{}",
];

impl GTy {
    pub fn render(&self) -> String {
        match self {
            GTy::Basic(b) => b.to_string(),
            GTy::Slice(e) => format!("[]{}", e.render()),
            GTy::Array(n, e) => format!("[{n}]{}", e.render()),
            GTy::Map(k, v) => format!("map[{}]{}", k.render(), v.render()),
        }
    }
}

fn parse_type(text: &str) -> Result<GTy, String> {
    let compact: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let (t, rest) = type_prefix(compact.trim(), 0)?;
    if !rest.trim().is_empty() {
        return Err(format!("`{}` is not a plain type", text.trim()));
    }
    Ok(t)
}

fn type_prefix(s: &str, depth: usize) -> Result<(GTy, &str), String> {
    let s = s.trim_start();
    if depth > 20 {
        return Err("a type nested too deeply".into());
    }
    if let Some(rest) = s.strip_prefix("[]") {
        let (e, rest) = type_prefix(rest, depth + 1)?;
        return Ok((GTy::Slice(Box::new(e)), rest));
    }
    if let Some(rest) = s.strip_prefix("map[") {
        let (k, rest) = type_prefix(rest, depth + 1)?;
        let rest = rest
            .trim_start()
            .strip_prefix(']')
            .ok_or("a malformed map type")?;
        let (v, rest) = type_prefix(rest, depth + 1)?;
        return Ok((GTy::Map(Box::new(k), Box::new(v)), rest));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("a malformed array type")?;
        let n: usize = rest[..end]
            .trim()
            .parse()
            .map_err(|_| format!("the array length `{}`", &rest[..end]))?;
        let (e, rest) = type_prefix(&rest[end + 1..], depth + 1)?;
        return Ok((GTy::Array(n, Box::new(e)), rest));
    }
    for iface in ["interface{}", "interface {}", "any"] {
        if let Some(rest) = s.strip_prefix(iface)
            && !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            return Ok((GTy::Basic("interface{}"), rest));
        }
    }
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(s.len());
    let name = &s[..end];
    let basic = match name {
        "byte" => Some("uint8"),
        "rune" => Some("int32"),
        _ => BASIC.iter().copied().find(|b| *b == name),
    };
    match basic {
        Some(b) => Ok((GTy::Basic(b), &s[end..])),
        // A pointer, a channel, a function type...: name the whole type, not an empty word.
        None if name.is_empty() => Err(format!("`{}` is not a plain type", s.trim())),
        None => Err(format!("`{name}` is not a plain type")),
    }
}

/// `a, b int, c []string` (or unnamed `int, string`) as types, in order.
fn params(text: &str) -> Result<Vec<GTy>, String> {
    let items: Vec<&str> = instrument::split_top(text)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.iter().any(|s| s.contains("...")) {
        return Err("a variadic parameter".into());
    }
    let named = items.iter().any(|s| s.contains(' '));
    if !named {
        return items.iter().map(|s| parse_type(s)).collect();
    }
    let mut out = Vec::new();
    let mut pending = 0;
    for item in items {
        match item.split_once(' ') {
            Some((_, ty)) => {
                let t = parse_type(ty)?;
                for _ in 0..=pending {
                    out.push(t.clone());
                }
                pending = 0;
            }
            None => pending += 1,
        }
    }
    if pending > 0 {
        return Err("a parameter without a type".into());
    }
    Ok(out)
}

#[derive(Clone, Debug)]
struct Func {
    name: String,
    sig: Result<(Vec<GTy>, Vec<GTy>), String>,
    /// Its definition's text span (`func` to the body's `}`), when the body is whole.
    whole: Option<(usize, usize)>,
}

/// The names a Go source declares at the package level: functions (no receiver; generic ones
/// too), `var`, `const` and `type` names, alone or in a group (`var ( a = 1 ... )`), each name
/// of `a, b := ...`-less lists (`var a, b int`). Read generously (a type's name in a group line
/// counts): a name read that is not declared can only make [`super::clash`] refuse.
pub(super) fn top_names(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Go);
    // An identifier after blanks on its line (a group's empty line names nothing).
    let ident = |i: usize| -> Option<(usize, usize)> {
        let mut s = i;
        while s < b.len() && (b[s] == b' ' || b[s] == b'\t' || b[s] == b'\r') {
            s += 1;
        }
        let mut e = s;
        while e < b.len() && mask[e] && instrument::is_ident(b[e]) {
            e += 1;
        }
        (e > s && !b[s].is_ascii_digit()).then_some((s, e))
    };
    // The names `a, b` of one spec (`a, b int = 1, 2`) starting at `i`.
    let spec = |i: usize, out: &mut Vec<String>| {
        let mut at = i;
        while let Some((s, e)) = ident(at) {
            out.push(src[s..e].to_string());
            let k = instrument::skip_ws(b, e);
            if b.get(k) != Some(&b',') {
                break;
            }
            at = k + 1;
        }
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        if !mask[i] {
            i += 1;
            continue;
        }
        match b[i] {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            _ if depth == 0 && instrument::word_at(b, &mask, i, b"func") => {
                // `func (r T) M()` is a method: no package-level name.
                if let Some((s, e)) = ident(i + 4) {
                    out.push(src[s..e].to_string());
                    i = e;
                    continue;
                }
            }
            _ if depth == 0
                && ["var", "const", "type"]
                    .iter()
                    .any(|w| instrument::word_at(b, &mask, i, w.as_bytes())) =>
            {
                let kw = if b[i] == b'v' {
                    3
                } else if b[i] == b'c' {
                    5
                } else {
                    4
                };
                let k = instrument::skip_ws(b, i + kw);
                if b.get(k) == Some(&b'(') {
                    // A group: each line's names.
                    let end = instrument::matching(b, &mask, k).unwrap_or(b.len());
                    let mut line = k + 1;
                    while line < end {
                        spec(line, &mut out);
                        line = b[line..end]
                            .iter()
                            .position(|&c| c == b'\n' || c == b';')
                            .map_or(end, |p| line + p + 1);
                    }
                    i = end + 1;
                    continue;
                }
                spec(i + kw, &mut out);
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Top-level functions (no receiver) of a Go source.
fn functions(src: &str) -> Vec<Func> {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Go);
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        if !mask[i] {
            i += 1;
            continue;
        }
        match b[i] {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            _ if depth == 0 && instrument::word_at(b, &mask, i, b"func") => {
                let s = instrument::skip_ws(b, i + 4);
                let mut e = s;
                while e < b.len() && instrument::is_ident(b[e]) {
                    e += 1;
                }
                if e == s || b.get(instrument::skip_ws(b, e)) != Some(&b'(') {
                    i += 1;
                    continue; // a method (receiver first) or a literal
                }
                let name = src[s..e].to_string();
                let open = instrument::skip_ws(b, e);
                let Some(close) = instrument::matching(b, &mask, open) else {
                    break;
                };
                let Some(body) = body_brace(b, &mask, close + 1) else {
                    break;
                };
                let result = src[close + 1..body].trim();
                let result = result
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or(result);
                let sig = params(&src[open + 1..close]).and_then(|p| {
                    let r = if result.is_empty() {
                        Vec::new()
                    } else {
                        params(result)?
                    };
                    Ok((p, r))
                });
                let whole = instrument::matching(b, &mask, body).map(|c| (i, c + 1));
                out.push(Func { name, sig, whole });
                i = body;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The `{` opening a function's body, from `from` (after its parameters): braces of
/// `interface{}` or `struct{...}` in the result types are skipped.
fn body_brace(b: &[u8], mask: &[bool], from: usize) -> Option<usize> {
    let mut k = from;
    while k < b.len() {
        if mask[k] && b[k] == b'{' {
            let before = String::from_utf8_lossy(&b[from..k]);
            let word = before.trim_end();
            if word.ends_with("interface") || word.ends_with("struct") {
                k = instrument::matching(b, mask, k)? + 1;
                continue;
            }
            return Some(k);
        }
        k += 1;
    }
    None
}

/// The line index of a Go source's `package` clause (the first line that is not blank or a
/// comment), if it has one.
fn package_clause(src: &str) -> Option<usize> {
    let mut in_block = false;
    for (i, line) in src.lines().enumerate() {
        let t = line.trim();
        if in_block {
            in_block = !t.contains("*/");
            continue;
        }
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        if t.starts_with("/*") {
            in_block = !t.contains("*/");
            continue;
        }
        return t.starts_with("package ").then_some(i);
    }
    None
}

fn with_package_main(src: &str) -> String {
    match package_clause(src) {
        Some(i) => src
            .lines()
            .enumerate()
            .map(|(j, l)| if j == i { "package main" } else { l })
            .collect::<Vec<_>>()
            .join("\n"),
        None => format!("package main\n\n{src}"),
    }
}

/// Whether Go source `src` refers to package `name` (`name.X` in its code).
fn uses_package(src: &str, name: &str) -> bool {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Go);
    let mut i = 0;
    while let Some(at) = instrument::find(b, i, name.as_bytes()) {
        i = at + 1;
        if instrument::word_at(b, &mask, at, name.as_bytes())
            && b.get(instrument::skip_ws(b, at + name.len())) == Some(&b'.')
        {
            return true;
        }
    }
    false
}

/// The candidate's file: `code` without the imports that only `test` uses. MultiPL-E's Go
/// prompts import `testing` and `fmt` for the test, which shares their file; the candidate's
/// file holds the code alone, where Go refuses an unused import. An import neither uses stays
/// (the whole program would not compile either).
fn without_test_imports(code: &str, test: &str) -> String {
    let drop: Vec<usize> = import_lines(code)
        .into_iter()
        .filter(|i| i.alone && !uses_package(code, &i.name) && uses_package(test, &i.name))
        .map(|i| i.line)
        .collect();
    if drop.is_empty() {
        return code.to_string();
    }
    // An empty line for a dropped import: the compiler's line numbers stay the code's.
    let lines = code.lines().enumerate();
    let kept: Vec<&str> = lines
        .map(|(n, l)| if drop.contains(&n) { "" } else { l })
        .collect();
    kept.join("\n")
}

/// The code's imports as (name used in code, import spec).
fn imports(code: &str) -> Vec<(String, String)> {
    import_lines(code)
        .into_iter()
        .map(|i| (i.name, i.spec))
        .collect()
}

/// A standard import of a Go source (not `_` or `.`).
struct Import {
    /// The name the code uses it by.
    name: String,
    /// Its spec as written again (`alias "path"`).
    spec: String,
    /// Its line's index in the source, and whether the line holds this spec alone.
    line: usize,
    alone: bool,
}

fn import_lines(code: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (line, text) in code.lines().enumerate() {
        let t = text.trim();
        let (spec, alone) = if in_block {
            if t.starts_with(')') {
                in_block = false;
                continue;
            }
            (t, true)
        } else if let Some(rest) = t.strip_prefix("import") {
            let rest = rest.trim();
            if let Some(r) = rest.strip_prefix('(') {
                in_block = true;
                (r.trim(), false)
            } else {
                (rest, true)
            }
        } else {
            continue;
        };
        let spec = spec.split("//").next().unwrap_or("").trim();
        let Some(q) = spec.find('"') else {
            continue;
        };
        let path = spec[q..].trim_matches('"');
        let alias = spec[..q].trim();
        let name = if alias.is_empty() {
            path.rsplit('/').next().unwrap_or(path)
        } else {
            alias
        };
        let standard = !path.split('/').next().unwrap_or("").contains('.');
        if name != "_" && name != "." && !path.is_empty() && standard {
            out.push(Import {
                name: name.to_string(),
                spec: format!("{alias} \"{path}\"").trim().to_string(),
                line,
                alone,
            });
        }
    }
    out
}

/// The judge's test file: the test (checks counted, panics of a test function recovered)
/// in package main, importing `testing`, testify's `assert` (and `require`) and those of the code's standard
/// imports it uses. A test that is a whole file (it has a `package` clause) keeps its imports.
fn judge_test(code: &str, test: &str) -> (String, usize, Vec<instrument::Site>) {
    let inst = instrument::go_checks(test);
    let body = recover_tests(&inst.test);
    let n = inst.sites.len();
    if package_clause(test).is_some() {
        return (with_package_main(&body), n, inst.sites);
    }
    let mut imports_needed: Vec<String> = Vec::new();
    if test.contains("testing.") {
        imports_needed.push("\"testing\"".into());
    }
    if test.contains("assert.") {
        imports_needed.push("\"github.com/stretchr/testify/assert\"".into());
    }
    // testify's `require` (a failure stops the test function: one failed check, `F`).
    if test.contains("require.") {
        imports_needed.push("\"github.com/stretchr/testify/require\"".into());
    }
    for (name, spec) in imports(code) {
        // The twin of the candidate's choice (`without_test_imports`): an import of the code's
        // that the test uses is the judge's.
        if !matches!(name.as_str(), "testing" | "assert" | "require") && uses_package(test, &name) {
            imports_needed.push(spec);
        }
    }
    let mut out = String::from("package main\n\n");
    if !imports_needed.is_empty() {
        out.push_str("import (\n");
        for i in &imports_needed {
            out.push_str(&format!("\t{i}\n"));
        }
        out.push_str(")\n\n");
    }
    out.push_str(&body);
    out.push('\n');
    (out, n, inst.sites)
}

/// Every function taking a `*testing.T` recovers its own panics (a panic in a Go test would
/// end the whole binary before the judge reports).
fn recover_tests(src: &str) -> String {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Go);
    let mut edits = Vec::new();
    let mut from = 0;
    while let Some(at) = instrument::find(b, from, b"*testing.T)") {
        from = at + 1;
        if !mask[at] {
            continue;
        }
        let mut k = at;
        while k > 0 && b[k - 1] == b' ' {
            k -= 1;
        }
        let mut s = k;
        while s > 0 && instrument::is_ident(b[s - 1]) {
            s -= 1;
        }
        let name = &src[s..k];
        let Some(brace) = (at + 11..b.len()).find(|&j| !b[j].is_ascii_whitespace()) else {
            continue;
        };
        if name.is_empty() || b[brace] != b'{' || !mask[brace] {
            continue;
        }
        edits.push((brace + 1, format!(" defer rrtfRecover({name});")));
    }
    let mut out = src.to_string();
    for (at, text) in edits.into_iter().rev() {
        out.insert_str(at, &text);
    }
    out
}

/// Go's predeclared identifiers: a test that uses one means the language's, never a function
/// of the same name the sample declares (a stub would shadow the builtin in the judge's
/// package: `func len(...)` would decide what the test's `len` returns).
const PREDECLARED: &[&str] = &[
    "any",
    "append",
    "bool",
    "byte",
    "cap",
    "clear",
    "close",
    "comparable",
    "complex",
    "complex128",
    "complex64",
    "copy",
    "delete",
    "error",
    "false",
    "float32",
    "float64",
    "imag",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "iota",
    "len",
    "make",
    "max",
    "min",
    "new",
    "nil",
    "panic",
    "print",
    "println",
    "real",
    "recover",
    "rune",
    "string",
    "true",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "uintptr",
];

/// The predeclared names the code declares again at package level (`type float32 = float64`,
/// `func copy(...)`, `const max = 1000`): in one program the test's name is the code's.
fn redeclared_builtins(code: &str) -> Vec<String> {
    let b = code.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Go);
    let clean = instrument::blank_non_code(code, &mask);
    let mut toks: Vec<(usize, &str)> = Vec::new(); // (brace depth, token)
    let mut depth = 0usize;
    let c = clean.as_bytes();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if instrument::is_ident(ch) {
            let s = i;
            while i < c.len() && instrument::is_ident(c[i]) {
                i += 1;
            }
            toks.push((depth, &clean[s..i]));
            continue;
        }
        match ch {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            // A line end ends a declaration only where Go inserts a semicolon: after a name
            // or a closing parenthesis (`type` then a line end does not).
            b'\n'
                if depth == 0
                    && toks.last().is_some_and(|&(_, t)| {
                        (t == ")"
                            || t.as_bytes()
                                .first()
                                .is_some_and(|&x| instrument::is_ident(x)))
                            && !matches!(t, "type" | "var" | "const" | "func")
                    }) =>
            {
                toks.push((0, "\n"));
            }
            b'(' | b')' | b',' | b';' | b'=' if depth == 0 => {
                toks.push((0, &clean[i..i + 1]));
            }
            _ => {}
        }
        i += 1;
    }
    let mut out: Vec<String> = Vec::new();
    let mut found = |t: &str| {
        if PREDECLARED.contains(&t) && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    };
    let mut k = 0;
    while k < toks.len() {
        let (d, t) = toks[k];
        k += 1;
        if d != 0 {
            continue;
        }
        if t == "func" {
            // `func NAME(`, not a method (`func (r T) NAME(`).
            if let Some(&(_, name)) = toks.get(k)
                && name != "("
            {
                found(name);
            }
            continue;
        }
        if !matches!(t, "type" | "var" | "const") {
            continue;
        }
        let grouped = toks.get(k).is_some_and(|&(_, t)| t == "(");
        let mut at_spec = true;
        let mut parens = 0i32;
        while k < toks.len() {
            let (d, t) = toks[k];
            k += 1;
            match t {
                "(" => parens += 1,
                ")" => {
                    parens -= 1;
                    if grouped && parens == 0 {
                        break;
                    }
                }
                "\n" | ";" if grouped && parens == 1 => at_spec = true,
                "\n" | ";" if !grouped && parens == 0 => break,
                "," => {}
                "=" => at_spec = false,
                _ if d == 0 && at_spec => {
                    found(t);
                    // `var a, b int`: more names after commas, else the type.
                    at_spec = toks.get(k).is_some_and(|&(_, n)| n == ",");
                }
                _ => {}
            }
        }
    }
    out
}

pub(super) fn plan(
    go: &Path,
    code: &str,
    test: &str,
    cache: Option<&Path>,
    prompt: Prompt<'_>,
) -> Result<Plan, String> {
    let (test_file, n, mut sites) = judge_test(code, test);
    let test_funcs = functions(test);
    let code_funcs = functions(code);
    let whole = prompt.text.map(whole_functions).unwrap_or_default();
    let own: Vec<&str> = test_funcs.iter().map(|f| f.name.as_str()).collect();
    let mine: Vec<&str> = code_funcs.iter().map(|f| f.name.as_str()).collect();
    let (used, helpers) =
        super::test_uses(test, Syntax::Go, &own, &mine, &whole, prompt.entry_point);
    // A predeclared name the code declares again is the code's in the test too (one package):
    // refused where that matters, when the test or a called function's signature uses it
    // (`Mean([]float32) float32` under `type float32 = float64`: the judge rounded the
    // sample's float64 to the language's float32, hiding an error: a forged pass).
    let words = |text: &str| instrument::words(text, Syntax::Go);
    let test_words = words(test);
    let mut sig_words: Vec<String> = Vec::new();
    for f in code_funcs.iter().filter(|f| used.contains(&f.name)) {
        if let Some((s, _)) = f.whole
            && let Some(head) = code[s..].split('{').next()
        {
            sig_words.extend(words(head));
        }
    }
    for name in redeclared_builtins(code) {
        // (`max`, `min`, `clear`: not predeclared before Go 1.21, and the code's in the test
        // from 1.21 on, as a stub here.)
        if matches!(name.as_str(), "max" | "min" | "clear") {
            continue;
        }
        if test_words.contains(&name) || sig_words.contains(&name) {
            return Err(format!(
                "the code declares `{name}` again, a predeclared name of Go, and the test or the \
                 signature it calls uses it: in one program that is the code's `{name}`, in the \
                 judge the language's"
            ));
        }
    }
    let mut stubs = String::from("package main\n\n");
    let mut dispatch = String::from(
        "package main\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc rrtfDispatch(id int, in *rrtfIn) ([]interface{}, error) {\n\tswitch id {\n",
    );
    let mut calls = Vec::new();
    let mut id = 0usize;
    let mut seen: Vec<String> = Vec::new();
    for f in code_funcs {
        if !used.contains(&f.name)
            || helpers.iter().any(|h| h.name == f.name)
            || seen.contains(&f.name)
            || f.name == "main"
            || f.name == "init"
            // (`max`, `min`, `clear`: a function of the package in one program too, here a
            // stub, unused by the runtime; before Go 1.21 not predeclared at all.)
            || PREDECLARED.contains(&f.name.as_str()) && !matches!(f.name.as_str(), "max" | "min" | "clear")
        {
            continue;
        }
        seen.push(f.name.clone());
        let (ps, rs) = f
            .sig
            .clone()
            .map_err(|e| format!("the signature of `{}` is not plain: {e}", f.name))?;
        let decl: Vec<String> = ps
            .iter()
            .enumerate()
            .map(|(k, p)| format!("a{k} {}", p.render()))
            .collect();
        let rdecl: Vec<String> = rs.iter().map(GTy::render).collect();
        let ret = match rdecl.len() {
            0 => String::new(),
            1 => format!(" {}", rdecl[0]),
            _ => format!(" ({})", rdecl.join(", ")),
        };
        let arg_ptrs: Vec<String> = (0..ps.len()).map(|k| format!("&a{k}")).collect();
        let res_vars: Vec<String> = (0..rs.len()).map(|k| format!("r{k}")).collect();
        let res_ptrs: Vec<String> = res_vars.iter().map(|r| format!("&{r}")).collect();
        let mut body = String::new();
        for (k, r) in rs.iter().enumerate() {
            body.push_str(&format!("\tvar r{k} {}\n", r.render()));
        }
        body.push_str(&format!(
            "\trrtfCall({id}, []interface{{}}{{{}}}, []interface{{}}{{{}}})\n",
            arg_ptrs.join(", "),
            res_ptrs.join(", ")
        ));
        if !rs.is_empty() {
            body.push_str(&format!("\treturn {}\n", res_vars.join(", ")));
        }
        stubs.push_str(&format!(
            "func {}({}){ret} {{\n{body}}}\n\n",
            f.name,
            decl.join(", ")
        ));
        dispatch.push_str(&format!("\tcase {id}:\n"));
        for (k, p) in ps.iter().enumerate() {
            dispatch.push_str(&format!("\t\tvar a{k} {}\n", p.render()));
        }
        dispatch.push_str(&format!(
            "\t\tif err := rrtfDecInto(in{}); err != nil {{\n\t\t\treturn nil, err\n\t\t}}\n",
            arg_ptrs
                .iter()
                .map(|p| format!(", {p}"))
                .collect::<String>()
        ));
        let args: Vec<String> = (0..ps.len()).map(|k| format!("a{k}")).collect();
        if rs.is_empty() {
            dispatch.push_str(&format!(
                "\t\t{}({})\n\t\treturn nil, nil\n",
                f.name,
                args.join(", ")
            ));
        } else {
            dispatch.push_str(&format!(
                "\t\t{} := {}({})\n\t\treturn []interface{{}}{{{}}}, nil\n",
                res_vars.join(", "),
                f.name,
                args.join(", "),
                res_ptrs.join(", ")
            ));
        }
        calls.push(format!("func {}({}){ret}", f.name, rdecl_params(&ps)));
        id += 1;
    }
    dispatch.push_str("\t}\n\treturn nil, rrtfMalformed{\"unknown function\"}\n}\n\nfunc TestMain(m *testing.M) {\n\trrtfServe(rrtfDispatch)\n\tos.Exit(0)\n}\n");
    let judge_main = format!(
        "package main\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc rrtfRecover(t *testing.T) {{\n\tif r := recover(); r != nil {{\n\t\trrtfTestPanic(r)\n\t\tt.Fail()\n\t}}\n}}\n\nfunc TestMain(m *testing.M) {{\n\trrtfJudgeStart({n})\n\tcode := m.Run()\n\trrtfJudgeDone({n}, code)\n\tos.Exit(0)\n}}\n"
    );
    super::one_function_of_the_sample(&seen)?;
    instrument::mark_uses(&mut sites, test, Syntax::Go, &seen);
    let mut build_env: Vec<(String, String)> = super::GO_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(dir) = cache {
        build_env.push(("RRTF_GOCACHE".into(), dir.to_string_lossy().into_owned()));
    }
    let go = go.to_string_lossy().into_owned();
    let build = |out: &str| {
        vec![
            "/bin/sh".into(),
            "-c".into(),
            GO_BUILD.into(),
            go.clone(),
            "test".into(),
            "-c".into(),
            "-o".into(),
            out.into(),
            ".".into(),
        ]
    };
    let mut judge_files = vec![
        ("main_test.go".into(), test_file),
        ("rrtf_rt.go".into(), RT.into()),
        ("rrtf_stubs.go".into(), stubs),
        ("rrtf_judge_test.go".into(), judge_main),
    ];
    if !helpers.is_empty() {
        judge_files.push((
            "rrtf_helpers.go".into(),
            helper_file(prompt.text.unwrap_or_default(), &helpers),
        ));
    }
    Ok(Plan {
        judge: Side {
            files: judge_files,
            build: Some(build("judge")),
            build_env: build_env.clone(),
            artifacts: vec!["judge".into()],
            run: vec!["@DIR@/judge".into()],
            heavy: true,
            cacheable: true,
        },
        cand: Side {
            files: vec![
                (
                    "main.go".into(),
                    with_package_main(&without_test_imports(code, test)),
                ),
                ("rrtf_rt.go".into(), RT.into()),
                ("rrtf_serve_test.go".into(), dispatch),
            ],
            build: Some(build("cand")),
            build_env,
            artifacts: vec!["cand".into()],
            run: vec!["@DIR@/cand".into()],
            heavy: true,
            cacheable: true,
        },
        sites,
        calls,
    })
}

/// The functions `prompt` defines whole with a plain signature (for
/// [`super::prompt_helpers`]).
fn whole_functions(prompt: &str) -> Vec<Whole> {
    let funcs = functions(prompt).into_iter();
    super::wholes(prompt, funcs.map(|f| (f.name, f.sig.is_ok(), f.whole)))
}

/// The judge's file of the prompt's helpers, with the prompt's standard imports they use (Go
/// refuses unused imports).
fn helper_file(prompt: &str, helpers: &[&Whole]) -> String {
    let text: String = helpers.iter().map(|h| format!("{}\n\n", h.text)).collect();
    let mut out = String::from("package main\n\n");
    let specs: Vec<String> = imports(prompt)
        .into_iter()
        .filter(|(name, _)| text.contains(&format!("{name}.")))
        .map(|(_, spec)| spec)
        .collect();
    if !specs.is_empty() {
        out.push_str("import (\n");
        for s in specs {
            out.push_str(&format!("\t{s}\n"));
        }
        out.push_str(")\n\n");
    }
    out.push_str(&text);
    out
}

fn rdecl_params(ps: &[GTy]) -> String {
    ps.iter().map(GTy::render).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_level_names_are_read() {
        let src = "package main\n\nimport (\n\t\"sort\"\n)\n\nfunc abs[T number](x T) T { return x }\nfunc (r R) M() {}\nfunc Add(a, b int) int { return a + b }\nvar TestAdd = 1\nvar x, y int\nconst (\n\tA = 1\n\tB, C = 2, 3\n)\ntype number interface{ ~int }\n// var Z = 1\n";
        assert_eq!(
            top_names(src),
            ["abs", "Add", "TestAdd", "x", "y", "A", "B", "C", "number"]
        );
    }

    #[test]
    fn go_types_and_signatures_follow_a_closed_grammar() {
        for (t, want) in [
            ("[]float64", "[]float64"),
            ("map[rune]int", "map[int32]int"),
            ("[2]interface{}", "[2]interface{}"),
            ("[][2]int", "[][2]int"),
            ("map[interface{}]interface{}", "map[interface{}]interface{}"),
            ("any", "interface{}"),
        ] {
            assert_eq!(
                parse_type(t).map(|t| t.render()).as_deref(),
                Ok(want),
                "{t}"
            );
        }
        for bad in [
            "*int",
            "Foo",
            "chan int",
            "func(int) int",
            "error",
            "[n]int",
        ] {
            assert!(parse_type(bad).is_err(), "{bad}");
        }
        let code = "import (\n    \"math\"\n)\n\nfunc L(s []string) interface{} {\n    return nil\n}\n// F does x.\nfunc F(a, b int, s []string) (int, bool) {\n    if a > 0 { return 1, true }\n    return 0, false\n}\nfunc (x T) M() {}\nfunc G() {}\nfunc H(xs ...int) int { return 0 }\n";
        let fs = functions(code);
        let names: Vec<&str> = fs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["L", "F", "G", "H"]);
        assert_eq!(
            fs[0].sig.clone().unwrap().1,
            vec![GTy::Basic("interface{}")]
        );
        let fs = &fs[1..];
        let (p, r) = fs[0].sig.clone().unwrap();
        assert_eq!(
            p.iter().map(GTy::render).collect::<Vec<_>>(),
            ["int", "int", "[]string"]
        );
        assert_eq!(
            r.iter().map(GTy::render).collect::<Vec<_>>(),
            ["int", "bool"]
        );
        assert!(fs[2].sig.is_err());
    }

    #[test]
    fn the_judge_holds_the_test_and_stubs_never_the_code() {
        let code = "import (\n    \"math\"\n    \"strings\"\n)\n\nfunc secretHelper(x float64) float64 { return math.Abs(x) * 7 }\n\nfunc Add(a, b int) int {\n    _ = strings.ToUpper\n    return a + b\n}\n";
        let test = "func TestAdd(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(3, Add(1, 2))\n    t.Run(\"x\", func(t *testing.T) { assert.Equal(math.Pi > 3, true) })\n}\n";
        let p = plan(Path::new("/usr/bin/go"), code, test, None, Prompt::NONE).unwrap();
        let files: Vec<&String> = p.judge.files.iter().map(|f| &f.1).collect();
        assert!(files.iter().all(|f| !f.contains("secretHelper")));
        let t = files[0];
        assert!(
            t.starts_with("package main\n\nimport (\n\t\"testing\"\n\t\"github.com/stretchr/testify/assert\"\n\t\"math\"\n)\n"),
            "{t}"
        );
        assert!(
            t.contains("func TestAdd(t *testing.T) { defer rrtfRecover(t);"),
            "{t}"
        );
        assert!(
            t.contains("func(t *testing.T) { defer rrtfRecover(t); rrtfCheck(1, "),
            "{t}"
        );
        assert!(
            files[2].contains("func Add(a0 int, a1 int) int {\n\tvar r0 int\n\trrtfCall(0, []interface{}{&a0, &a1}, []interface{}{&r0})\n\treturn r0\n}"),
            "{}",
            files[2]
        );
        assert_eq!(p.sites.len(), 2);
        assert!(p.cand.files[2].1.contains("r0 := Add(a0, a1)"));
    }

    #[test]
    fn a_predeclared_name_declared_again_is_found() {
        for (code, want) in [
            (
                "package main\ntype float32 = float64\nfunc F() {}\n",
                &["float32"][..],
            ),
            ("type\nfloat32 = float64\n", &["float32"][..]),
            ("type (\n\tx int\n\tint = int64\n)\n", &["int"][..]),
            ("var a, len = 1, 2\n", &["len"][..]),
            ("const (\n\tA = 1\n\ttrue = false\n)\n", &["true"][..]),
            (
                "func copy(dst, src []int) int { return 0 }\nfunc (s S) len() int { return 0 }\n",
                &["copy"][..],
            ),
            (
                "var x int = len(\"a\")\ntype T struct {\n\tint\n\tstring string\n}\n",
                &[][..],
            ),
            (
                "func f() {\n\tvar int = 3\n\t_ = int\n}\ntype S []float32 // type float32\n",
                &[][..],
            ),
            ("var (\n\ta, b int\n\tc = \"type int\"\n)\n", &[][..]),
        ] {
            let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
            assert_eq!(redeclared_builtins(code), want, "{code}");
        }
    }
}
