//! C++: the judge is the test (its `assert`s as check sites, see [`instrument::cpp_checks`])
//! with one stub per function of the code the test calls, compiled without the sample's code;
//! the candidate is the sample's code and a call server. Signatures come from the code's
//! declarations (for a completion, the prompt's), parsed under a closed grammar of plain types
//! (integers, `bool`, `char`, `float`, `double`, `string`, and `vector`, `deque`, `list`, `set`,
//! `unordered_set`, `map`, `unordered_map`, `pair`, `tuple`, `optional` of those; `typedef`, `using` and
//! `#define` aliases of such types), rendered again by this module: no text of the sample but
//! the names of its functions reaches the judge.

use std::path::Path;

use super::instrument::{self, Syntax};
use super::{Plan, Prompt, Side, Whole};

pub const CPP_FLAGS: [&str; 2] = ["-std=c++17", "-O0"];
const RT: &str = include_str!("rt/rrtf.hpp");
/// The standard headers the runtime includes, in its order (they end the judge's precompiled
/// header; a candidate includes them after the sample's code).
const RT_HEADERS: [&str; 11] = [
    "cstdio",
    "cstdint",
    "string",
    "utility",
    "tuple",
    "type_traits",
    "exception",
    "new",
    "vector",
    "limits",
    "optional",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CTy {
    /// A builtin arithmetic type, canonically spelled (`long long`, `unsigned int`, `size_t`).
    Prim(String),
    Str,
    Void,
    /// `std::NAME<args>`.
    Std(&'static str, Vec<CTy>),
}

impl CTy {
    pub fn render(&self) -> String {
        match self {
            CTy::Prim(p) => p.clone(),
            CTy::Str => "std::string".into(),
            CTy::Void => "void".into(),
            CTy::Std(name, args) => {
                let args: Vec<String> = args.iter().map(CTy::render).collect();
                format!("std::{name}<{}>", args.join(", "))
            }
        }
    }
}

/// Containers and their arities (`None`: any number, for `tuple`).
const CONTAINERS: [(&str, Option<usize>); 12] = [
    ("vector", Some(1)),
    ("deque", Some(1)),
    ("list", Some(1)),
    ("set", Some(1)),
    ("multiset", Some(1)),
    ("unordered_set", Some(1)),
    ("map", Some(2)),
    ("unordered_map", Some(2)),
    ("multimap", Some(2)),
    ("pair", Some(2)),
    ("tuple", None),
    ("optional", Some(1)),
];

const FIXED_INTS: [&str; 11] = [
    "size_t",
    "int8_t",
    "int16_t",
    "int32_t",
    "int64_t",
    "uint8_t",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "ssize_t",
    "ptrdiff_t",
];

fn tokens(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if instrument::is_ident(c) {
            let s = i;
            while i < b.len() && instrument::is_ident(b[i]) {
                i += 1;
            }
            out.push(text[s..i].to_string());
        } else if text[i..].starts_with("::") || text[i..].starts_with("&&") {
            out.push(text[i..i + 2].to_string());
            i += 2;
        } else {
            out.push((c as char).to_string());
            i += 1;
        }
    }
    out
}

/// Aliases the code defines (`typedef T N;`, `using N = T;`, `#define N T`), unparsed.
pub(super) type Aliases = Vec<(String, String)>;

struct TyParser<'a> {
    toks: Vec<String>,
    pos: usize,
    aliases: &'a Aliases,
    depth: usize,
}

impl TyParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn ty(&mut self) -> Result<CTy, String> {
        while matches!(self.peek(), Some("const" | "volatile" | "typename")) {
            self.pos += 1;
        }
        let mut words = Vec::new();
        while let Some(
            w @ ("unsigned" | "signed" | "short" | "long" | "int" | "char" | "bool" | "float"
            | "double" | "void"),
        ) = self.peek()
        {
            words.push(w.to_string());
            self.pos += 1;
        }
        let base = if !words.is_empty() {
            prim(&words)?
        } else {
            let mut name = self.next().ok_or("a type is missing")?;
            if name == "std" {
                if self.next().as_deref() != Some("::") {
                    return Err("`std` without `::`".into());
                }
                name = self.next().ok_or("a type is missing")?;
            }
            if name == "string" {
                CTy::Str
            } else if FIXED_INTS.contains(&name.as_str()) {
                CTy::Prim(name)
            } else if let Some((cname, arity)) = CONTAINERS.iter().find(|(c, _)| *c == name) {
                if self.next().as_deref() != Some("<") {
                    return Err(format!("`{name}` without type arguments"));
                }
                let mut args = vec![self.ty()?];
                loop {
                    match self.next().as_deref() {
                        Some(",") => args.push(self.ty()?),
                        Some(">") => break,
                        other => return Err(format!("unexpected `{}`", other.unwrap_or(""))),
                    }
                }
                if arity.is_some_and(|a| a != args.len()) {
                    return Err(format!("`{name}` with {} type arguments", args.len()));
                }
                CTy::Std(cname, args)
            } else if let Some((_, text)) = self.aliases.iter().rev().find(|(n, _)| *n == name) {
                if self.depth > 8 {
                    return Err(format!("alias `{name}` nests too deeply"));
                }
                let mut inner = TyParser {
                    toks: tokens(text),
                    pos: 0,
                    aliases: self.aliases,
                    depth: self.depth + 1,
                };
                let t = inner.ty()?;
                if inner.pos != inner.toks.len() {
                    return Err(format!("alias `{name}` is not a plain type"));
                }
                t
            } else {
                return Err(format!("`{name}` is not a plain type"));
            }
        };
        while matches!(self.peek(), Some("const" | "volatile")) {
            self.pos += 1;
        }
        Ok(base)
    }
}

fn prim(words: &[String]) -> Result<CTy, String> {
    let has = |w: &str| words.iter().filter(|x| *x == w).count();
    let text = words.join(" ");
    let longs = has("long");
    if has("void") > 0 {
        return if words.len() == 1 {
            Ok(CTy::Void)
        } else {
            Err(text)
        };
    }
    if has("bool") > 0 {
        return if words.len() == 1 {
            Ok(CTy::Prim("bool".into()))
        } else {
            Err(text)
        };
    }
    if has("float") > 0 || has("double") > 0 {
        return match text.as_str() {
            "float" | "double" => Ok(CTy::Prim(text)),
            _ => Err(format!("`{text}` is not supported (only float and double)")),
        };
    }
    let unsigned = has("unsigned") > 0;
    let sign = if unsigned { "unsigned " } else { "" };
    if has("char") > 0 {
        return Ok(CTy::Prim(match (unsigned, has("signed")) {
            (true, _) => "unsigned char".into(),
            (false, 0) => "char".into(),
            _ => "signed char".into(),
        }));
    }
    let base = match (has("short"), longs) {
        (1, 0) => "short",
        (0, 0) => "int",
        (0, 1) => "long",
        (0, 2) => "long long",
        _ => return Err(format!("`{text}` is not a type")),
    };
    Ok(CTy::Prim(format!("{sign}{base}")))
}

/// Parse a type (a parameter's or a return's) under the closed grammar: `const` and `&` are
/// dropped (arguments travel by value).
pub(super) fn parse_type(text: &str, aliases: &Aliases) -> Result<CTy, String> {
    let mut toks = tokens(text);
    while matches!(toks.last().map(String::as_str), Some("&" | "&&" | "const")) {
        toks.pop();
    }
    if toks
        .iter()
        .any(|t| matches!(t.as_str(), "*" | "[" | "]" | "(" | ")" | "auto" | "..."))
    {
        return Err(format!("`{}` is not a plain type", text.trim()));
    }
    let mut p = TyParser {
        toks,
        pos: 0,
        aliases,
        depth: 0,
    };
    let t = p.ty()?;
    if p.pos != p.toks.len() {
        return Err(format!("`{}` is not a plain type", text.trim()));
    }
    Ok(t)
}

/// A function of the code: its name and parsed signature (or why it cannot be called).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Func {
    pub name: String,
    pub sig: Result<(CTy, Vec<CTy>), String>,
    /// Where its definition is in the source (head to closing brace), when it has a whole body.
    pub whole: Option<(usize, usize)>,
    /// Each parameter's reference, as declared: `&` (a non-const lvalue reference), `&&`,
    /// ` const&`, or none (by value).
    pub refs: Vec<&'static str>,
}

/// A parameter's reference category as declared (see [`Func::refs`]): written after the type
/// it gives the parameter's type again (`std::string const&`).
fn param_ref(p: &str) -> &'static str {
    let toks = tokens(&param_type(p));
    match toks.last().map(String::as_str) {
        Some("&&") => "&&",
        Some("&") => {
            // `const` at the top level (not inside `<...>`) makes it `const T&`.
            let mut depth = 0i32;
            let mut constant = false;
            for t in &toks {
                match t.as_str() {
                    "<" => depth += 1,
                    ">" => depth -= 1,
                    "const" if depth == 0 => constant = true,
                    _ => {}
                }
            }
            if constant { " const&" } else { "&" }
        }
        _ => "",
    }
}

/// The names the source `#define`s (object-like and function-like), in comments and string
/// literals not.
pub(super) fn macro_names(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::C);
    let mut out = Vec::new();
    let mut line_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
        } else if mask[i] && line_start && c == b'#' {
            let mut end = i;
            while end < b.len() && b[end] != b'\n' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            let line = &src[i..end.min(b.len())];
            let rest = line[1..].trim_start();
            if let Some(def) = rest.strip_prefix("define") {
                let name: String = def
                    .trim_start()
                    .bytes()
                    .take_while(|&x| instrument::is_ident(x))
                    .map(char::from)
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
            i = end.min(b.len());
            continue;
        } else if !c.is_ascii_whitespace() {
            line_start = false;
        }
        i += 1;
    }
    out
}

/// Whether the code opens `std` anywhere (outside comments and literals): `using namespace std;`,
/// `using namespace ::std;`, or through an alias (`namespace s = std; using namespace s;`, chains
/// of aliases, a macro that stands for `std` or for the whole directive). Read anywhere, at any depth (inside a function,
/// a namespace later opened, a `#if 0`): opening `std` in the judge where one program does not
/// only makes the judge's test stricter (`abs(double)` is `std::abs`, not C's `int abs`), while
/// missing one it opens let a wrong float within 1 pass.
fn uses_namespace_std(code: &str) -> bool {
    let code = &spliced(code);
    let mask = instrument::code_mask(code.as_bytes(), Syntax::C);
    let blanked = instrument::blank_non_code(code, &mask);
    // A macro that writes a directive (`#define NS namespace`, `#define OPEN(x) using namespace
    // x`), or one inside a `using` (`using namespace CAT(s, td);`): taken as opening `std`,
    // since the text cannot tell what it expands to (a stricter test, never a forged pass).
    let macros = macro_names(code);
    for line in blanked.lines() {
        let t = tokens(line);
        if t.first().is_some_and(|x| x == "#")
            && t.get(1).is_some_and(|x| x == "define")
            && t.iter().skip(3).any(|x| x == "using" || x == "namespace")
        {
            return true;
        }
    }
    let toks = tokens(&blanked);
    let mut k = 0;
    while k < toks.len() {
        if toks[k] == "using" {
            let end = toks[k..]
                .iter()
                .position(|t| t == ";")
                .map_or(toks.len(), |e| k + e);
            if toks[k + 1..end].iter().any(|t| macros.contains(t)) {
                return true;
            }
        }
        k += 1;
    }
    // `std` as a namespace's name, not a qualifier's head (`std::filesystem` is another one).
    let std_at = |i: usize, names: &[&str]| -> Option<usize> {
        let i = if toks.get(i).map(String::as_str) == Some("::") {
            i + 1
        } else {
            i
        };
        let t = toks.get(i)?;
        (names.contains(&t.as_str()) && toks.get(i + 1).map(String::as_str) != Some("::"))
            .then_some(i + 1)
    };
    let mut names: Vec<&str> = vec!["std"];
    loop {
        let before = names.len();
        for i in 0..toks.len() {
            let found = match (toks[i].as_str(), toks.get(i + 1), toks.get(i + 2)) {
                // `namespace A = [::]std;`
                ("namespace", Some(a), Some(eq)) if eq == "=" => {
                    std_at(i + 3, &names).map(|_| a.as_str())
                }
                // `#define A std` (the rest of its line is the macro's body)
                ("define", Some(a), Some(_))
                    if i > 0 && toks[i - 1] == "#" && std_at(i + 2, &names).is_some() =>
                {
                    Some(a.as_str())
                }
                _ => None,
            };
            if let Some(a) = found
                && instrument::is_ident(a.as_bytes()[0])
                && !names.contains(&a)
            {
                names.push(a);
            }
        }
        if names.len() == before {
            break;
        }
    }
    // No `;` asked for: `#define U using namespace std` opens it where `U;` stands.
    (0..toks.len()).any(|i| {
        toks[i] == "using"
            && toks.get(i + 1).map(String::as_str) == Some("namespace")
            && std_at(i + 2, &names).is_some()
    })
}

/// The macros `code` leaves defined at its end (`#define`s not `#undef`ed after them).
fn active_macros(code: &str) -> Vec<String> {
    let code = &spliced(code);
    let mask = instrument::code_mask(code.as_bytes(), Syntax::C);
    let mut out: Vec<String> = Vec::new();
    for line in instrument::blank_non_code(code, &mask).lines() {
        let t = tokens(line);
        if t.first().is_some_and(|x| x == "#")
            && let (Some(what), Some(name)) = (t.get(1), t.get(2))
            && (what == "define" || what == "undef")
        {
            out.retain(|m| m != name);
            if what == "define" {
                out.push(name.clone());
            }
        }
    }
    out
}

/// `code` with its line splices (a backslash before a line break) joined, as the preprocessor
/// joins them before anything else (`using namespace s\\\ntd;` is `using namespace std;`).
fn spliced(code: &str) -> String {
    code.replace("\\\r\n", "").replace("\\\n", "")
}

/// The names the code's `using std::NAME;` declarations bring in (at any depth: read
/// generously, as `uses_namespace_std` reads directives).
fn std_using_declarations(code: &str) -> Vec<String> {
    let code = &spliced(code);
    let mask = instrument::code_mask(code.as_bytes(), Syntax::C);
    let toks = tokens(&instrument::blank_non_code(code, &mask));
    let mut out: Vec<String> = Vec::new();
    for k in 0..toks.len() {
        let at = |j: usize| toks.get(k + j).map(String::as_str);
        let skip = usize::from(at(1) == Some("::"));
        if at(0) == Some("using")
            && at(1 + skip) == Some("std")
            && at(2 + skip) == Some("::")
            && at(4 + skip) == Some(";")
            && let Some(name) = at(3 + skip)
            && instrument::is_ident(name.as_bytes()[0])
            && !out.iter().any(|o| o == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// One top-level parameter list entry: its type, without the name and any default.
fn param_type(p: &str) -> String {
    let p = p.split('=').next().unwrap_or("").trim();
    let toks = tokens(p);
    let last_is_name = toks.len() >= 2
        && toks.last().is_some_and(|t| {
            instrument::is_ident(t.as_bytes()[0])
                && !matches!(
                    t.as_str(),
                    "int"
                        | "long"
                        | "short"
                        | "char"
                        | "double"
                        | "float"
                        | "bool"
                        | "unsigned"
                        | "signed"
                        | "const"
                )
        })
        && !matches!(toks[toks.len() - 2].as_str(), "::");
    if last_is_name {
        let name = toks.last().map(String::as_str).unwrap_or("");
        p[..p.len() - name.len()].trim().to_string()
    } else {
        p.to_string()
    }
}

/// Top-level functions (definitions and declarations) and type aliases of a C++ source.
pub(super) fn scan(src: &str) -> (Vec<Func>, Aliases) {
    let b = src.as_bytes();
    let mask = instrument::code_mask(b, Syntax::C);
    let mut aliases: Aliases = Vec::new();
    let mut heads: Vec<(usize, usize, Option<usize>)> = Vec::new(); // (start, end, body's `}`)
    let mut i = 0;
    let mut start = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if !mask[i] {
            line_start = false;
            i += 1;
            continue;
        }
        if line_start && c == b'#' {
            let mut end = i;
            while end < b.len() && b[end] != b'\n' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            let line = &src[i..end.min(b.len())];
            let rest = line.trim_start_matches('#').trim_start();
            if let Some(def) = rest.strip_prefix("define") {
                let def = def.trim();
                let name: String = def
                    .bytes()
                    .take_while(|&x| instrument::is_ident(x))
                    .map(char::from)
                    .collect();
                if !name.is_empty() && !def[name.len()..].starts_with('(') {
                    aliases.push((name.clone(), def[name.len()..].trim().to_string()));
                }
            }
            i = end.min(b.len());
            start = i;
            continue;
        }
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if !c.is_ascii_whitespace() {
            line_start = false;
        }
        match c {
            b';' => {
                heads.push((start, i, None));
                start = i + 1;
            }
            b'{' => {
                let matched = instrument::matching(b, &mask, i);
                let close = matched.unwrap_or(b.len() - 1);
                heads.push((start, i, matched));
                i = close + 1;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // Heads are read with comments and literals blanked out.
    let clean = instrument::blank_non_code(src, &mask);
    let mut funcs = Vec::new();
    for (s, e, body) in heads {
        let head = clean[s..e].trim();
        let lower = head.trim_start_matches([';', '}']).trim();
        if let Some(rest) = lower.strip_prefix("typedef ") {
            let toks = tokens(rest);
            if let Some(name) = toks
                .last()
                .filter(|t| instrument::is_ident(t.as_bytes()[0]))
            {
                let ty = rest.trim()[..rest.trim().len() - name.len()].trim();
                aliases.push((name.clone(), ty.to_string()));
            }
            continue;
        }
        if let Some(rest) = lower.strip_prefix("using ")
            && let Some((name, ty)) = rest.split_once('=')
        {
            aliases.push((name.trim().to_string(), ty.trim().to_string()));
            continue;
        }
        if let Some(mut f) = function_head(lower, &aliases) {
            let first = (s..e)
                .find(|&k| mask[k] && !b[k].is_ascii_whitespace())
                .unwrap_or(e);
            f.whole = body.map(|close| (first, close + 1));
            funcs.push(f);
        }
    }
    (funcs, aliases)
}

/// The functions `prompt` defines whole with a plain signature (for [`super::prompt_helpers`]).
fn whole_functions(prompt: &str) -> Vec<Whole> {
    let funcs = scan(prompt).0.into_iter();
    super::wholes(prompt, funcs.map(|f| (f.name, f.sig.is_ok(), f.whole)))
}

/// `[static|inline ...] RET NAME(PARAMS) [noexcept]`, when `head` is that.
fn function_head(head: &str, aliases: &Aliases) -> Option<Func> {
    let hb = head.as_bytes();
    let first = tokens(head);
    if first.is_empty()
        || matches!(
            first[0].as_str(),
            "struct"
                | "class"
                | "namespace"
                | "enum"
                | "union"
                | "extern"
                | "template"
                | "typedef"
                | "using"
                | "return"
        )
    {
        return None;
    }
    let mut head = head.trim();
    for q in ["noexcept", "const", "override"] {
        head = head.strip_suffix(q).unwrap_or(head).trim_end();
    }
    if !head.ends_with(')') {
        return None;
    }
    let mask = instrument::code_mask(head.as_bytes(), Syntax::C);
    // The `(` matching the final `)`.
    let close = head.len() - 1;
    let open = instrument::matching_paren_back(hb, &mask, close)?;
    let before = head[..open].trim_end();
    let name: String = before
        .bytes()
        .rev()
        .take_while(|&x| instrument::is_ident(x))
        .map(char::from)
        .collect::<String>()
        .chars()
        .rev()
        .collect();
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() || name == "main" {
        return None;
    }
    let mut ret = before[..before.len() - name.len()].trim();
    if ret.is_empty() || ret.ends_with("::") || ret.contains('=') || ret.contains("operator") {
        return None;
    }
    loop {
        let t = ret.trim_start();
        let Some(r) = ["static ", "inline ", "constexpr ", "extern "]
            .iter()
            .find_map(|q| t.strip_prefix(q))
        else {
            break;
        };
        ret = r;
    }
    let params_text = &head[open + 1..close];
    let pmask = instrument::code_mask(params_text.as_bytes(), Syntax::C);
    let mut params = Vec::new();
    let mut depth = 0i32;
    let mut s = 0;
    let pb = params_text.as_bytes();
    for j in 0..=pb.len() {
        let end = j == pb.len();
        if !end && !pmask[j] {
            continue;
        }
        let c = if end { b',' } else { pb[j] };
        match c {
            b'<' | b'(' | b'{' | b'[' => depth += 1,
            b'>' | b')' | b'}' | b']' => depth -= 1,
            b',' if depth == 0 => {
                let p = params_text[s..j].trim();
                if !(p.is_empty() || end && params.is_empty() && p == "void") {
                    params.push(p.to_string());
                }
                s = j + 1;
            }
            _ => {}
        }
    }
    let sig = (|| {
        let r = parse_type(ret, aliases)?;
        let ps = params
            .iter()
            .map(|p| {
                if p.contains('=') {
                    // The judge's stub cannot take the code's default (its expression is the
                    // code's text), and without it the test's shorter call does not compile.
                    return Err(format!("a default argument (`{}`)", p.trim()));
                }
                let t = parse_type(&param_type(p), aliases)?;
                if t == CTy::Void {
                    Err("a `void` parameter".to_string())
                } else {
                    Ok(t)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((r, ps))
    })();
    let refs = params.iter().map(|p| param_ref(p)).collect();
    Some(Func {
        name,
        sig,
        whole: None,
        refs,
    })
}

/// Every standard header the code includes, wherever (the judge includes the same, so that the
/// test sees the declarations it would have seen after the code).
fn std_includes(code: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in code.lines() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix('#') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("include") else {
            continue;
        };
        let rest = rest.trim();
        let Some(name) = rest.strip_prefix('<').and_then(|r| r.split('>').next()) else {
            continue;
        };
        if CPP_STD_HEADERS.contains(&name) && !out.iter().any(|h| h == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// The standard headers a C++ program starts with (`#include <...>` lines before anything
/// else but blank lines and comments): what a precompiled header can hold without changing
/// the program's meaning (the runtime's headers come after the code: not in it). Only names
/// from the standard library are taken (the header is compiled outside the sandbox).
pub(super) fn leading_headers(code: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in code.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        let Some(rest) = t.strip_prefix("#include") else {
            break;
        };
        let rest = rest.trim();
        let Some(name) = rest.strip_prefix('<').and_then(|r| r.strip_suffix('>')) else {
            break;
        };
        if !CPP_STD_HEADERS.contains(&name) {
            break;
        }
        if !out.iter().any(|h| h == name) {
            out.push(name.to_string());
        }
    }
    out
}

const CPP_STD_HEADERS: &[&str] = &[
    "algorithm",
    "array",
    "bitset",
    "cassert",
    "cctype",
    "cfloat",
    "climits",
    "cmath",
    "complex",
    "cstdint",
    "cstdio",
    "cstdlib",
    "cstring",
    "ctime",
    "deque",
    "functional",
    "iomanip",
    "iostream",
    "iterator",
    "limits",
    "list",
    "map",
    "memory",
    "numeric",
    "optional",
    "queue",
    "set",
    "sstream",
    "stack",
    "string",
    "tuple",
    "unordered_map",
    "unordered_set",
    "utility",
    "vector",
    "assert.h",
    "ctype.h",
    "float.h",
    "limits.h",
    "math.h",
    "stdint.h",
    "stdio.h",
    "stdlib.h",
    "string.h",
    "time.h",
    "bits/stdc++.h",
    "regex",
    "random",
    "chrono",
    "initializer_list",
    "type_traits",
    "optional",
    "variant",
    "cstddef",
    "exception",
    "new",
    "stdexcept",
];

/// The standard headers the judge starts with (`<cstdio>`, the code's, the runtime's), for
/// its precompiled header.
pub(super) fn judge_headers(code: &str) -> Vec<String> {
    let mut out = vec!["cstdio".to_string()];
    for h in std_includes(code)
        .into_iter()
        .chain(RT_HEADERS.iter().map(|h| h.to_string()))
    {
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// The judge and the candidate of a C++ run; `pch` and `judge_pch` are precompiled headers
/// of [`leading_headers`] and [`judge_headers`].
/// How the judge calls the test's `main` (renamed `rrtf_test_main`): an expression.
///
/// A test may say it failed by returning non-zero from `main` (the judge reports that as a
/// failure, `rrtf::judge`), but the renamed `main` no longer gets the implicit `return 0` that
/// only the real `main` has (flowing off the end of another function returning `int` is
/// undefined). So `return 0;` goes before the closing brace of the test's `main` (and of a
/// function-try-block's handlers) and its status is used; a `void main` has none. A `main` of
/// a form not read here (a macro, say) is refused as unsupported rather than have its status
/// ignored, which would pass a wrong answer to a test that fails through it. A `main(int
/// argc, char** argv)` (or `const char* argv[]`, or with `envp`) gets a one-word command
/// line.
fn test_main_call(test: &str) -> (String, String) {
    match main_returns_zero_at_its_end(test) {
        Main::Int { text, params } => {
            let mut args: Vec<&str> = Vec::new();
            if params > 0 {
                args.push("1");
                args.extend(std::iter::repeat_n("::rrtf::Argv{}", params - 1));
            }
            (
                text,
                format!("[] {{ return rrtf_test_main({}); }}", args.join(", ")),
            )
        }
        Main::Void => (test.to_string(), "[] { rrtf_test_main(); }".into()),
        Main::Unknown => (
            test.to_string(),
            "[] { ::rrtf::report(\"U the test's main has a form the executor does not read, so its return status would be lost\"); }".into(),
        ),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Main {
    /// `int main(...)` (or `signed`, `auto ... -> int`), with `return 0;` at its end(s), and
    /// how many parameters it takes.
    Int { text: String, params: usize },
    /// `void main(...)`: no status.
    Void,
    /// A `main` not found or not read.
    Unknown,
}

/// The test's `main` found and made to return 0 at its end ([`test_main_call`]).
fn main_returns_zero_at_its_end(test: &str) -> Main {
    let b = test.as_bytes();
    let mask = instrument::code_mask(b, Syntax::C);
    // Past whitespace and comments.
    let skip = |mut k: usize| {
        while k < b.len() && (b[k].is_ascii_whitespace() || !mask[k]) {
            k += 1;
        }
        k
    };
    let word_end = |k: usize| {
        let mut e = k;
        while e < b.len() && instrument::is_ident(b[e]) {
            e += 1;
        }
        e
    };
    for i in 0..b.len() {
        if !instrument::word_at(b, &mask, i, b"main")
            || b.get(i + 4).is_some_and(|&c| instrument::is_ident(c))
        {
            continue;
        }
        let open = skip(i + 4);
        if b.get(open) != Some(&b'(') {
            continue;
        }
        let Some(close) = instrument::matching(b, &mask, open) else {
            continue;
        };
        // The head: the last word before `main`.
        let before = test[..i].trim_end();
        let head_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let head = &before[head_start..];
        let mut k = skip(close + 1);
        // `noexcept`, `throw()`, `-> int`.
        let mut returns_int = matches!(head, "int" | "signed");
        loop {
            let e = word_end(k);
            match &test[k..e] {
                "noexcept" => k = skip(e),
                "throw" => {
                    let o = skip(e);
                    match instrument::matching(b, &mask, o) {
                        Some(c) if b[o] == b'(' => k = skip(c + 1),
                        _ => break,
                    }
                }
                _ if b[k..].starts_with(b"->") => {
                    let s = skip(k + 2);
                    let e = word_end(s);
                    returns_int = head == "auto" && &test[s..e] == "int";
                    k = skip(e);
                }
                _ => break,
            }
        }
        if head == "void" {
            return Main::Void;
        }
        if !returns_int {
            // A declaration or a call of `main` (or an unread form): look further.
            continue;
        }
        let list = test[open + 1..close].trim();
        let params = if list.is_empty() || list == "void" {
            0
        } else {
            instrument::split_top(list).len()
        };
        // The ends that need a `return 0;`: the body's, or a function-try-block's try block
        // and handlers'.
        let mut ends = Vec::new();
        let try_block = instrument::word_at(b, &mask, k, b"try");
        if try_block {
            k = skip(k + 3);
        }
        if b.get(k) != Some(&b'{') {
            continue; // `int main();`
        }
        let Some(end) = instrument::matching(b, &mask, k) else {
            return Main::Unknown;
        };
        ends.push(end);
        if try_block {
            let mut h = skip(end + 1);
            // The closing bracket of the group `open` starts at `at`.
            let group = |at: usize, open: u8| {
                (b.get(at) == Some(&open))
                    .then(|| instrument::matching(b, &mask, at))
                    .flatten()
            };
            while instrument::word_at(b, &mask, h, b"catch") {
                let Some(c) = group(skip(h + 5), b'(') else {
                    return Main::Unknown;
                };
                let Some(e) = group(skip(c + 1), b'{') else {
                    return Main::Unknown;
                };
                ends.push(e);
                h = skip(e + 1);
            }
        }
        let mut text = test.to_string();
        for e in ends.into_iter().rev() {
            text.insert_str(e, "\nreturn 0;\n");
        }
        return Main::Int { text, params };
    }
    Main::Unknown
}

pub(super) fn plan(
    gxx: &Path,
    code: &str,
    test: &str,
    pch: Option<&Path>,
    judge_pch: Option<&Path>,
    prompt: Prompt<'_>,
) -> Result<Plan, String> {
    let inst = instrument::cpp_checks(test);
    let (code_funcs, _) = scan(code);
    let (test_funcs, _) = scan(test);
    let whole = prompt.text.map(whole_functions).unwrap_or_default();
    let own: Vec<&str> = test_funcs.iter().map(|f| f.name.as_str()).collect();
    let mine: Vec<&str> = code_funcs.iter().map(|f| f.name.as_str()).collect();
    let (used, helpers) =
        super::test_uses(test, Syntax::C, &own, &mine, &whole, prompt.entry_point);
    let mut called: Vec<(String, CTy, Vec<CTy>, Vec<&'static str>)> = Vec::new();
    let macros = macro_names(code);
    for f in &code_funcs {
        if !used.contains(&f.name) || helpers.iter().any(|h| h.name == f.name) {
            continue;
        }
        let (r, ps) = f
            .sig
            .clone()
            .map_err(|e| format!("the signature of `{}` is not plain: {e}", f.name))?;
        match called
            .iter()
            .find(|(n, _, p, _)| *n == f.name && p.as_slice() == ps.as_slice())
        {
            // A declaration and the definition, or the prompt's and the code's.
            Some((_, _, _, refs)) if *refs == f.refs => {}
            Some(_) => {
                return Err(format!(
                    "`{}` is declared twice with the same parameter types, by value and by \
                     reference: one program's call of it would be ambiguous",
                    f.name
                ));
            }
            None => called.push((f.name.clone(), r, ps, f.refs.clone())),
        }
    }
    let mut names: Vec<String> = Vec::new();
    for (n, _, _, _) in &called {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    super::one_function_of_the_sample(&names)?;
    // One function of each called name: the test's call in one program chooses among
    // overloads by its arguments' own types (a `double` literal reaching a `(double)`
    // overload), and what the executor reads of the code's text cannot be the compiler's list
    // of them (an attacker's review, round 15, hid overloads from it with raw strings, blocks
    // that look like functions' bodies, macros, default arguments). So the candidate also takes
    // the function's address untyped (`rrtf_one_N`), which does not compile for an overload set
    // or a template, whatever the text shows (`crashed`, verdict.rs).
    for name in &names {
        let sigs = called.iter().filter(|c| c.0 == *name).count();
        if sigs > 1 {
            return Err(format!(
                "`{name}` is overloaded in the code ({sigs} signatures): one program's call \
                 chooses among them by the test's argument types, which the judge cannot \
                 follow"
            ));
        }
    }
    // A macro of that name would stand between the test's call and the function in one
    // program (`#define f(x) f_impl(x)`), where the judge's call, made with the declared
    // parameter types, would not see the same arguments.
    for name in &names {
        if macros.contains(name) {
            return Err(format!(
                "the code defines a macro named `{}`, the function the test calls: the judge \
                 calls the function with its declared parameter types and cannot pass through \
                 the macro as the test would",
                name
            ));
        }
    }
    // Any other name the test uses that the code `#define`s is rewritten in the test too in
    // one program (`#define abs(x) std::fabs(x)` changed the test's `abs`: an attacker's
    // review, round 18), which the judge, compiling the test apart, cannot follow. A macro the
    // test `#undef`s itself (`NDEBUG`) is the test's business, and a helper the judge takes
    // from the prompt is the prompt's whatever the code defines (`prompt_helpers`).
    let test_tokens = tokens(&instrument::blank_non_code(
        test,
        &instrument::code_mask(test.as_bytes(), Syntax::C),
    ));
    // Only a macro still defined where the code ends reaches the test (`#define int long long`
    // ... `#undef int` does not), and the test's own `#define`/`#undef` of the name, or its
    // `<assert.h>` (which defines `assert` again), replace the code's. `main` is the judge's
    // to place (a code renaming it is judged as its checks say: `cpp_cheats_do_not_pass`).
    let includes_assert = test.contains("<assert.h>") || test.contains("<cassert>");
    if let Some(m) = active_macros(code).into_iter().find(|m| {
        test_tokens.iter().any(|t| t == m)
            && !helpers.iter().any(|h| h.name == *m)
            && (m != "assert" || !includes_assert)
            && m != "main"
            && !test_tokens
                .windows(3)
                .any(|w| w[0] == "#" && (w[1] == "undef" || w[1] == "define") && w[2] == *m)
    }) {
        return Err(format!(
            "the code defines a macro named `{m}`, a name the test uses: in one program it \
             rewrites the test's `{m}`, which the judge, compiling the test apart, cannot follow"
        ));
    }
    let mut stubs = String::new();
    // A stub the test could also reach as a standard function (`max(int, int)` under `using
    // namespace std`, `abs(int)`) would win overload resolution against it: the sample would
    // decide what the test's standard call returns. The judge refuses to build then.
    // The test sees `std`'s names unqualified only when the code opened the namespace, as in
    // one program (or the prompt did, whose helpers the judge compiles: they were written
    // under it).
    let prompt_opens_std = !helpers.is_empty() && prompt.text.is_some_and(uses_namespace_std);
    let mut using_std = if uses_namespace_std(code) || prompt_opens_std {
        "using namespace std;\n".to_string()
    } else {
        String::new()
    };
    // `using std::abs;` in the code gives the test `std::abs` too, as in one program.
    for name in std_using_declarations(code) {
        using_std.push_str(&format!("using std::{name};\n"));
    }
    let mut probes = String::new();
    for (id, (name, _, params, _)) in called.iter().enumerate() {
        let args: Vec<String> = params.iter().map(CTy::render).collect();
        probes.push_str(&format!(
            "namespace rrtf_env_{id} {{ {using_std}template <class... A> constexpr auto viable(int) -> decltype((void){name}(::std::declval<A&>()...), true) {{ return true; }}\ntemplate <class... A> constexpr bool viable(...) {{ return false; }} }}\nstatic_assert(!rrtf_env_{id}::viable<{}>(0), \"rrtf: the test's `{name}` with these arguments is also a standard function; the sample's `{name}` cannot stand for it\");\n",
            args.join(", ")
        ));
    }
    let mut dispatch = String::from(
        "static void rrtf_dispatch(unsigned long long rrtf_id, ::rrtf::In& rrtf_in, std::string& rrtf_out) {\n  switch (rrtf_id) {\n",
    );
    let mut calls = Vec::new();
    for (id, (name, ret, params, refs)) in called.iter().enumerate() {
        let r = ret.render();
        // A stub takes a parameter the way the code declares it (by value, or as `T&` /
        // `T&&`), so a call the one program would not compile (a temporary for a `T&`) does
        // not compile in the judge either.
        let rendered: Vec<String> = params
            .iter()
            .zip(refs)
            .map(|(p, rf)| format!("{}{rf}", p.render()))
            .collect();
        let decl: Vec<String> = rendered
            .iter()
            .enumerate()
            .map(|(k, p)| format!("{p} a{k}"))
            .collect();
        // A `T&` argument comes back changed, as the test's variable is in one program.
        let args: Vec<String> = params
            .iter()
            .zip(refs)
            .enumerate()
            .map(|(k, (p, rf))| {
                if *rf == "&" {
                    format!("::rrtf::Back<{}>{{a{k}}}", p.render())
                } else {
                    format!("a{k}")
                }
            })
            .collect();
        let args = args.join(", ");
        let sep = if args.is_empty() { "" } else { ", " };
        stubs.push_str(&format!(
            "{r} {name}({}) {{ return ::rrtf::call<{r}>({id}{sep}{args}); }}\n",
            decl.join(", ")
        ));
        dispatch.push_str(&format!("  case {id}: {{\n"));
        for (k, p) in params.iter().enumerate() {
            dispatch.push_str(&format!(
                "    auto a{k} = ::rrtf::dec<{}>(rrtf_in);\n",
                p.render()
            ));
        }
        // The function's address: untyped (`rrtf_one_N`: one function, not an overload set or
        // a template, which the text may hide), then with the exact type the executor read
        // (`rrtf_fn_N`: a type the compiler reads otherwise, e.g. through a macro redefined
        // after the function, does not compile, where a call would have converted silently).
        dispatch.push_str(&format!(
            "    ::rrtf::end(rrtf_in);\n    auto *const rrtf_one_{id} = &{name};\n    (void)rrtf_one_{id};\n    {r} (*const rrtf_fn_{id})({}) = &{name};\n",
            rendered.join(", ")
        ));
        let call_args: Vec<String> = refs
            .iter()
            .enumerate()
            .map(|(k, rf)| {
                if *rf == "&&" {
                    format!("std::move(a{k})")
                } else {
                    format!("a{k}")
                }
            })
            .collect();
        let call_args = call_args.join(", ");
        if *ret == CTy::Void {
            dispatch.push_str(&format!(
                "    rrtf_fn_{id}({call_args});\n    rrtf_out += 'V';\n"
            ));
        } else {
            dispatch.push_str(&format!(
                "    {r} rrtf_r = rrtf_fn_{id}({call_args});\n    ::rrtf::enc(rrtf_out, rrtf_r);\n"
            ));
        }
        for (k, rf) in refs.iter().enumerate() {
            if *rf == "&" {
                dispatch.push_str(&format!("    ::rrtf::enc(rrtf_out, a{k});\n"));
            }
        }
        dispatch.push_str("    return;\n  }\n");
        calls.push(format!("{r} {name}({})", rendered.join(", ")));
    }
    dispatch.push_str("  }\n  throw ::rrtf::Malformed{\"unknown function\"};\n}\n");
    let mut includes: String =
        judge_pch.map_or(String::new(), |p| format!("#include \"{}\"\n", p.display()));
    let mut headers = judge_headers(code);
    if !helpers.is_empty() {
        // The prompt's helpers see the prompt's standard headers (HumanEval-X /32's `poly`
        // uses `pow` from <math.h>).
        headers.extend(std_includes(prompt.text.unwrap_or_default()));
    }
    let mut seen_headers: Vec<&String> = Vec::new();
    for h in &headers {
        if !seen_headers.contains(&h) {
            seen_headers.push(h);
            includes.push_str(&format!("#include <{h}>\n"));
        }
    }
    let helper_src: String = helpers.iter().map(|h| format!("{}\n", h.text)).collect();
    let (test_text, call) = test_main_call(&inst.test);
    let judge_src = format!(
        "{includes}{RT}\n{using_std}{probes}{stubs}{helper_src}#define main rrtf_test_main\n{test_text}\n#undef main\nint main() {{ return ::rrtf::judge({}, {call}); }}\n",
        inst.sites.len()
    );
    // The code comes first, after only the headers it starts with itself (the precompiled
    // header): the runtime's headers (`<vector>`, `<string>`, ...) after it, so that code
    // which uses a header it does not include fails to compile, as in one program. The code's
    // macros end before the runtime (which they would otherwise rewrite: the dispatch uses no
    // macro, its types are spelled out and a macro named like a called function is refused).
    let pch = pch.map_or(String::new(), |p| format!("#include \"{}\"\n", p.display()));
    let mut undefs = String::new();
    for m in &macros {
        if !undefs.contains(&format!("#undef {m}\n")) {
            undefs.push_str(&format!("#undef {m}\n"));
        }
    }
    let cand_src = format!(
        "{pch}#define main rrtf_sample_main\n{code}\n#undef main\n{undefs}{RT}\n{dispatch}int main() {{ return ::rrtf::serve(rrtf_dispatch); }}\n"
    );
    let gxx = gxx.to_string_lossy().into_owned();
    let build = |out: &str, src: &str| {
        let mut argv = vec![gxx.clone()];
        argv.extend(CPP_FLAGS.iter().map(|f| f.to_string()));
        argv.extend(["-o".into(), out.into(), src.into()]);
        argv
    };
    let mut sites = inst.sites;
    let seeds: Vec<String> = called.iter().map(|c| c.0.clone()).collect();
    instrument::mark_uses(&mut sites, test, Syntax::C, &seeds);
    Ok(Plan {
        judge: Side {
            files: vec![("judge.cpp".into(), judge_src)],
            build: Some(build("judge", "judge.cpp")),
            artifacts: vec!["judge".into()],
            run: vec!["@DIR@/judge".into()],
            cacheable: true,
            ..Side::default()
        },
        cand: Side {
            files: vec![("cand.cpp".into(), cand_src)],
            build: Some(build("cand", "cand.cpp")),
            artifacts: vec!["cand".into()],
            run: vec!["@DIR@/cand".into()],
            cacheable: true,
            ..Side::default()
        },
        sites,
        calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_opened_by_any_route_is_seen() {
        for (code, opens) in [
            ("using namespace std;\n", true),
            ("using namespace ::std;\n", true),
            ("using namespace::std;\n", true),
            ("namespace s = std;\nusing namespace s;\n", true),
            (
                "namespace s = ::std;\nnamespace t = s;\nusing namespace t;\n",
                true,
            ),
            ("#define S std\nusing namespace S;\n", true),
            ("#define U using namespace std\nU;\n", true),
            ("int f() { using namespace std; return 0; }\n", true),
            ("using namespace std::chrono;\n", false),
            (
                "namespace fs = std::filesystem;\nusing namespace fs;\n",
                false,
            ),
            (
                "namespace mine { int g(); }\nusing namespace mine;\n",
                false,
            ),
            (
                "// using namespace std;\nconst char* s = \"using namespace std;\";\n",
                false,
            ),
            ("using std::vector;\n", false),
            ("using namespace s\\\ntd;\n", true),
            ("#define NS namespace\nusing NS std;\n", true),
            (
                "#define CAT(a, b) a##b\nusing namespace CAT(s, td);\n",
                true,
            ),
            ("#define OPEN(x) using namespace x\nOPEN(std);\n", true),
            ("#define ll long long\nusing namespace mine;\n", false),
        ] {
            assert_eq!(uses_namespace_std(code), opens, "{code}");
        }
        // What an `#ifdef` tests stays defined; an `#undef` ends it.
        assert_eq!(
            active_macros(
                "#define abs(x) f(x)\n#ifdef abs\n#endif\n#define int long long\n#undef int\n#if 0\n#define T 1\n#endif\n"
            ),
            ["abs", "T"]
        );
        assert_eq!(
            std_using_declarations(
                "using std::abs;\nint f() { using ::std::max; return 0; }\nusing std::chrono::seconds;\n"
            ),
            ["abs", "max"]
        );
    }

    #[test]
    fn the_test_s_main_returns_zero_at_its_end_only() {
        let int = |text: &str, params| Main::Int {
            text: text.to_string(),
            params,
        };
        let t = "// int main() { not this }\nint helper() { return 1; }\nint main(){\n    if (f(1) != 2) return 1;\n    assert (f(2) == 3);\n}\n";
        assert_eq!(
            main_returns_zero_at_its_end(t),
            int(
                "// int main() { not this }\nint helper() { return 1; }\nint main(){\n    if (f(1) != 2) return 1;\n    assert (f(2) == 3);\n\nreturn 0;\n}\n",
                0
            )
        );
        for (t, want, args) in [
            (
                "signed main(int argc, char** argv) { }\n",
                "signed main(int argc, char** argv) { \nreturn 0;\n}\n",
                2,
            ),
            (
                "int main(); int main() /* the checks */ noexcept { }\n",
                "int main(); int main() /* the checks */ noexcept { \nreturn 0;\n}\n",
                0,
            ),
            (
                "auto main() -> int { }\n",
                "auto main() -> int { \nreturn 0;\n}\n",
                0,
            ),
            (
                "int main() try { } catch (int) { } catch (...) { }\n",
                "int main() try { \nreturn 0;\n} catch (int) { \nreturn 0;\n} catch (...) { \nreturn 0;\n}\n",
                0,
            ),
        ] {
            assert_eq!(main_returns_zero_at_its_end(t), int(want, args), "{t}");
        }
        assert_eq!(
            main_returns_zero_at_its_end("void main() { }\n"),
            Main::Void
        );
        // Not read: refused, never its status ignored.
        for t in [
            "uint main() { }\n",
            "int mainly() { }\n",
            "#define MAIN int main\nMAIN() { }\n",
        ] {
            assert_eq!(main_returns_zero_at_its_end(t), Main::Unknown, "{t}");
            assert!(test_main_call(t).1.contains("U the test's main"), "{t}");
        }
    }

    fn ty(s: &str) -> Result<String, String> {
        parse_type(s, &Vec::new()).map(|t| t.render())
    }

    #[test]
    fn types_follow_a_closed_grammar() {
        for (text, want) in [
            ("int", "int"),
            ("const vector<int>&", "std::vector<int>"),
            (
                "std::map<std::string, long long>",
                "std::map<std::string, long long>",
            ),
            ("unsigned", "unsigned int"),
            ("long int", "long"),
            (
                "vector<vector<pair<int,string>>>",
                "std::vector<std::vector<std::pair<int, std::string>>>",
            ),
            ("tuple<int, float, bool>", "std::tuple<int, float, bool>"),
            ("size_t", "size_t"),
        ] {
            assert_eq!(ty(text).as_deref(), Ok(want), "{text}");
        }
        for bad in [
            "int*",
            "char *",
            "boost::any",
            "list_any",
            "Foo",
            "vector<Foo>",
            "long double",
            "auto",
            "map<int>",
            "std::function<int(int)>",
        ] {
            assert!(ty(bad).is_err(), "{bad}");
        }
        let aliases = vec![
            ("ll".to_string(), "long long".to_string()),
            ("vi".to_string(), "vector<ll>".to_string()),
        ];
        assert_eq!(
            parse_type("vi", &aliases).map(|t| t.render()).as_deref(),
            Ok("std::vector<long long>")
        );
    }

    #[test]
    fn functions_and_aliases_of_the_code_are_found() {
        let code = "/*\nf(x) returns...\n*/\n#include<stdio.h>\n#include<vector>\n#define ll long long\nusing namespace std;\ntypedef vector<ll> vl;\nusing str = string;\nstruct S { int f(int x) { return x; } };\nstatic inline vl f(const vl& v, int k){\n    vector<int> w = {1, 2};\n    return v;\n}\nstr g(str s);\nvoid h() {}\nbool k(int* p) { return p; }\nint main() { return 0; }\n";
        let (funcs, aliases) = scan(code);
        let names: Vec<&str> = funcs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["f", "g", "h", "k"], "{funcs:?}");
        assert_eq!(aliases.len(), 3);
        let f = funcs[0].sig.clone().unwrap();
        assert_eq!(f.0.render(), "std::vector<long long>");
        assert_eq!(
            f.1.iter().map(CTy::render).collect::<Vec<_>>(),
            ["std::vector<long long>", "int"]
        );
        assert_eq!(funcs[1].sig.clone().unwrap().1, vec![CTy::Str]);
        assert_eq!(funcs[2].sig.clone().unwrap(), (CTy::Void, vec![]));
        assert!(funcs[3].sig.is_err());
        // A default argument: the stub could not take it (`crashed`, not a compile error).
        let (funcs, _) = scan("int add(int a, int b = 1) { return a + b; }\n");
        assert!(
            funcs[0]
                .sig
                .as_ref()
                .is_err_and(|e| e.contains("default argument")),
            "{funcs:?}"
        );
    }

    #[test]
    fn the_judge_holds_the_test_and_stubs_never_the_code() {
        let code = "#include<stdio.h>\n#include<vector>\nusing namespace std;\n#include<algorithm>\nint secret_helper(int x) { return x * 7; }\nvector<int> f(vector<int> v){ return v; }\n";
        let test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (f({1}) == vector<int>{1});\n}\n";
        let p = plan(
            Path::new("/usr/bin/g++"),
            code,
            test,
            None,
            None,
            Prompt::NONE,
        )
        .unwrap();
        let judge = &p.judge.files[0].1;
        assert!(!judge.contains("secret_helper"), "{judge}");
        assert!(!judge.contains("x * 7"), "{judge}");
        assert!(judge.contains("#include <algorithm>\n"), "{judge}");
        assert!(
            judge.contains("std::vector<int> f(std::vector<int> a0) { return ::rrtf::call<std::vector<int>>(0, a0); }"),
            "{judge}"
        );
        assert!(judge.contains("::rrtf::judge(1, "), "{judge}");
        assert_eq!(p.calls, ["std::vector<int> f(std::vector<int>)"]);
        let cand = &p.cand.files[0].1;
        assert!(cand.contains("secret_helper"));
        assert!(!cand.contains("assert (f"), "{cand}");
        // A function the test calls whose signature is not plain: no plan.
        let err = plan(
            Path::new("/usr/bin/g++"),
            "struct P { int x; };\nP f(int x) { return P{x}; }\n",
            test,
            None,
            None,
            Prompt::NONE,
        )
        .err()
        .unwrap();
        assert!(err.contains("`P` is not a plain type"), "{err}");
    }

    /// HumanEval-X /38: the prompt's `encode_cyclic` (whole) is the judge's own; only
    /// `decode_cyclic`, the function under test, is a stub.
    #[test]
    fn the_prompt_s_whole_functions_are_the_judge_s_helpers() {
        let prompt = "#include<stdio.h>\n#include<math.h>\n#include<string>\nusing namespace std;\n/* doc */\nstring encode_cyclic(string s){\n    // a } in a comment\n    return s + \"}\";\n}\nstring decode_cyclic(string s){\n";
        let test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (decode_cyclic(encode_cyclic(\"abc\")) == \"abc\");\n}\n";
        let with = |code: &str, entry: Option<&str>| {
            plan(
                Path::new("/usr/bin/g++"),
                code,
                test,
                None,
                None,
                Prompt {
                    text: Some(prompt),
                    entry_point: entry,
                },
            )
        };
        // A completion (the prompt's text, then the sample's) and a chat answer without the
        // helper: the same judge.
        let completion = format!("{prompt}    return s;\n}}\n#define encode_cyclic(x) (x)\n");
        for code in [
            completion.as_str(),
            "string decode_cyclic(string s){ return s; }\n",
        ] {
            let p = with(code, None).unwrap();
            let judge = &p.judge.files[0].1;
            assert!(
                judge.contains("string encode_cyclic(string s){\n    // a } in a comment\n    return s + \"}\";\n}\n"),
                "{judge}"
            );
            assert!(!judge.contains("/* doc */"), "{judge}");
            assert!(judge.contains("#include <math.h>"), "{judge}");
            assert!(!judge.contains("#define encode_cyclic"), "{judge}");
            assert_eq!(
                p.calls,
                ["std::string decode_cyclic(std::string)"],
                "{code}"
            );
        }
        // The function under test is never the prompt's, even when the prompt defines it.
        let both_whole = format!("{prompt}    return s;\n}}\n");
        let p = plan(
            Path::new("/usr/bin/g++"),
            &both_whole,
            test,
            None,
            None,
            Prompt {
                text: Some(&both_whole),
                entry_point: Some("decode_cyclic"),
            },
        )
        .unwrap();
        assert_eq!(p.calls, ["std::string decode_cyclic(std::string)"]);
        // Without the entry point, a prompt defining every function the test calls gives no
        // helper: two functions of the sample, no judge.
        let err = plan(
            Path::new("/usr/bin/g++"),
            &both_whole,
            test,
            None,
            None,
            Prompt {
                text: Some(&both_whole),
                entry_point: None,
            },
        )
        .err()
        .unwrap();
        assert!(err.contains("2 functions of the sample's code"), "{err}");
    }
}
