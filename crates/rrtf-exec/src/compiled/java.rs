//! Java: the judge is the test's `Main` (checks rewritten, see [`instrument::java_checks`])
//! compiled with stub classes (for each class of the code the test uses, its methods the test
//! calls, each sending its arguments to the candidate), never the sample's code; the candidate
//! is the sample's code and `RrtfServe`, which calls the real methods. Signatures come from the
//! code's class bodies, under a closed grammar (primitives, boxes, `String`, `Object`, and
//! `List`, `ArrayList`, `LinkedList`, `Map`, `HashMap`, `TreeMap`, `LinkedHashMap`, `Set`,
//! `HashSet`, `TreeSet`, `LinkedHashSet`, `Optional` of those), rendered again here.

use std::path::{Path, PathBuf};

use super::instrument::{self, Syntax};
use super::{Plan, Prompt, Side, Whole};

pub const JAVAC_FLAGS: [&str; 3] = [
    "-J-Xmx512m",
    "-J-XX:+UseSerialGC",
    "-J-XX:TieredStopAtLevel=1",
];
pub(super) const RT: &str = include_str!("rt/RrtfRt.java");
const JVM_FLAGS: [&str; 8] = [
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "-Xmx256m",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:CompressedClassSpaceSize=64m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Xshare:auto",
];
/// Whether `name` is a class of the JDK packages a test sees by its simple name (java.lang, and
/// the packages tests import on demand): a class of the sample's of that name is never
/// stubbed, or it would shadow the JDK's in the judge (`class Math`, `class Arrays` deciding
/// what the test's `Math.abs` or `Arrays.asList` return).
fn jdk_class(name: &str) -> bool {
    const NAMES: &str = include_str!("rt/java_names.txt");
    NAMES
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .any(|n| n == name)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct JTy {
    name: &'static str,
    args: Vec<JTy>,
}

const PRIMS: [(&str, &str); 9] = [
    ("int", "Integer"),
    ("long", "Long"),
    ("short", "Short"),
    ("byte", "Byte"),
    ("char", "Character"),
    ("boolean", "Boolean"),
    ("double", "Double"),
    ("float", "Float"),
    ("void", "Void"),
];
const NAMES: [(&str, usize); 23] = [
    ("Integer", 0),
    ("Long", 0),
    ("Short", 0),
    ("Byte", 0),
    ("Character", 0),
    ("Boolean", 0),
    ("Double", 0),
    ("Float", 0),
    ("String", 0),
    ("Object", 0),
    ("List", 1),
    ("ArrayList", 1),
    ("LinkedList", 1),
    ("Collection", 1),
    ("Map", 2),
    ("HashMap", 2),
    ("TreeMap", 2),
    ("LinkedHashMap", 2),
    ("Set", 1),
    ("HashSet", 1),
    ("TreeSet", 1),
    ("LinkedHashSet", 1),
    ("Optional", 1),
];

impl JTy {
    /// As written in messages (`List<Integer>`).
    fn render(&self) -> String {
        self.render_with(|n| n.to_string())
    }

    /// As written in generated code: every class by its fully qualified name
    /// (`java.util.List<java.lang.Integer>`), so that the generated files need no import and
    /// no class of the test's or the sample's (a `class List` of its own) is taken for the JDK's.
    fn java(&self) -> String {
        self.render_with(qualified)
    }

    fn render_with(&self, name: fn(&str) -> String) -> String {
        if self.args.is_empty() {
            name(self.name)
        } else {
            let a: Vec<String> = self.args.iter().map(|t| t.render_with(name)).collect();
            format!("{}<{}>", name(self.name), a.join(", "))
        }
    }

    fn primitive(&self) -> Option<&'static str> {
        PRIMS.iter().find(|(p, _)| *p == self.name).map(|(_, b)| *b)
    }

    /// The class a value of this type is checked against (erasure; boxes for primitives).
    fn class(&self) -> String {
        format!("{}.class", qualified(self.primitive().unwrap_or(self.name)))
    }

    /// The class of a parameter of this type as reflection names it (erasure; primitives as
    /// they are).
    fn exact_class(&self) -> String {
        match self.primitive() {
            Some(_) => format!("{}.class", self.name),
            None => self.class(),
        }
    }

    /// The type a decoded `Object` is cast to (boxes for primitives).
    fn cast(&self) -> String {
        match self.primitive() {
            Some(b) => qualified(b),
            None => self.java(),
        }
    }

    /// An argument of this type in the candidate's call of the sample's method, from the
    /// decoded `Object` `value`: a primitive is unboxed (`(double) (java.lang.Double) ...`), so
    /// that the call has the declared parameter types exactly and Java's overload resolution
    /// picks the method the signature names (a box would reach a sample's `f(Double)` where
    /// the test's `f(5)` calls `f(double)`).
    fn argument(&self, value: &str) -> String {
        let boxed = format!("({}) {value}", self.cast());
        match self.primitive() {
            Some(_) => format!("({}) {boxed}", self.name),
            None => boxed,
        }
    }
}

/// The fully qualified name of a type of the closed grammar.
fn qualified(name: &str) -> String {
    if PRIMS.iter().any(|(p, _)| *p == name) {
        return name.to_string();
    }
    let lang = PRIMS.iter().any(|(_, b)| *b == name) || matches!(name, "String" | "Object");
    let package = if lang { "java.lang" } else { "java.util" };
    format!("{package}.{name}")
}

fn parse_type(text: &str) -> Result<JTy, String> {
    let toks = tokens(text);
    let mut pos = 0;
    let t = ty(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(format!("`{}` is not a plain type", text.trim()));
    }
    Ok(t)
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if instrument::is_ident(b[i]) || b[i] == b'.' {
            let s = i;
            while i < b.len() && (instrument::is_ident(b[i]) || b[i] == b'.') {
                i += 1;
            }
            out.push(text[s..i].to_string());
        } else {
            out.push((b[i] as char).to_string());
            i += 1;
        }
    }
    out
}

fn ty(toks: &[String], pos: &mut usize) -> Result<JTy, String> {
    let raw = toks.get(*pos).ok_or("a type is missing")?;
    *pos += 1;
    let name = raw
        .strip_prefix("java.util.")
        .or_else(|| raw.strip_prefix("java.lang."))
        .unwrap_or(raw);
    let known = PRIMS
        .iter()
        .map(|(p, _)| (*p, 0usize))
        .chain(NAMES.iter().copied())
        .find(|(n, _)| *n == name);
    let Some((name, arity)) = known else {
        return Err(format!("`{raw}` is not a plain type"));
    };
    let mut args = Vec::new();
    if toks.get(*pos).map(String::as_str) == Some("<") {
        *pos += 1;
        loop {
            args.push(ty(toks, pos)?);
            match toks.get(*pos).map(String::as_str) {
                Some(",") => *pos += 1,
                Some(">") => {
                    *pos += 1;
                    break;
                }
                other => return Err(format!("unexpected `{}`", other.unwrap_or(""))),
            }
        }
    }
    if toks.get(*pos).map(String::as_str) == Some("[") {
        return Err(format!("`{name}[]`: arrays are not supported"));
    }
    if args.len() != arity && !(args.is_empty() && arity > 0) {
        return Err(format!("`{name}` with {} type arguments", args.len()));
    }
    if args.is_empty() && arity > 0 {
        return Err(format!("the raw type `{name}`"));
    }
    Ok(JTy { name, args })
}

#[derive(Clone, Debug)]
struct Method {
    name: String,
    is_static: bool,
    /// Declared `private`: no other top-level class (the test's) can call it, and no class
    /// inherits it.
    is_private: bool,
    /// A declaration without a body (abstract, or an interface's method).
    is_abstract: bool,
    sig: Result<(JTy, Vec<JTy>), String>,
    /// Its definition's text span (head to the body's `}`), when the body is whole.
    whole: Option<(usize, usize)>,
}

/// Top-level classes of a source: (name, body start, body end).
fn classes(src: &str, mask: &[bool]) -> Vec<(String, usize, usize)> {
    classes_of(src, mask, false)
}

/// [`classes`], and with `open_ok` a last class whose body the source leaves open (a
/// completion prompt's `class Solution {`), its body running to the end.
fn classes_of(src: &str, mask: &[bool], open_ok: bool) -> Vec<(String, usize, usize)> {
    type_decls_of(src, mask, &["class"], open_ok)
        .into_iter()
        .map(|d| (d.name, d.start, d.end))
        .collect()
}

/// `src` with Java's Unicode escapes (`\u0074`) translated, as javac reads a source before
/// anything else (JLS 3.3): a name spelled with them is that name, and an escaped line
/// terminator ends a `//` comment (what follows it is code).
fn unescape(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut backslashes = 0usize;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && backslashes.is_multiple_of(2) && b.get(i + 1) == Some(&b'u') {
            let mut j = i + 1;
            while j < b.len() && b[j] == b'u' {
                j += 1;
            }
            if let Some(hex) = src.get(j..j + 4)
                && hex.bytes().all(|c| c.is_ascii_hexdigit())
                && let Ok(v) = u32::from_str_radix(hex, 16)
            {
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                backslashes = 0;
                i = j + 4;
                continue;
            }
        }
        backslashes = if b[i] == b'\\' { backslashes + 1 } else { 0 };
        let c = src[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// A top-level type declaration (class, interface, enum, record): its name, the types it
/// extends or implements as written (type arguments dropped), and its body's span.
#[derive(Debug)]
struct TypeDecl {
    name: String,
    /// `class`, `interface`, `enum` or `record`.
    kind: &'static str,
    supers: Vec<String>,
    start: usize,
    end: usize,
}

fn type_decls(src: &str, mask: &[bool]) -> Vec<TypeDecl> {
    type_decls_of(src, mask, &["class", "interface", "enum", "record"], true)
}

/// The top-level declarations of the `kinds` of a source; with `open_ok` a last one whose
/// body the source leaves open, its body running to the end (else it is not one).
fn type_decls_of(src: &str, mask: &[bool], kinds: &[&'static str], open_ok: bool) -> Vec<TypeDecl> {
    let b = src.as_bytes();
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
            _ if depth == 0 => {
                if let Some(kw) = kinds
                    .iter()
                    .find(|k| instrument::word_at(b, mask, i, k.as_bytes()))
                {
                    let s = instrument::skip_ws(b, i + kw.len());
                    let mut e = s;
                    while e < b.len() && instrument::is_ident(b[e]) {
                        e += 1;
                    }
                    if let Some(open) = (e..b.len()).find(|&k| mask[k] && b[k] == b'{') {
                        let close = instrument::matching(b, mask, open);
                        if close.is_some() || open_ok {
                            let end = close.unwrap_or(b.len());
                            let header: String = (e..open)
                                .map(|k| if mask[k] { b[k] as char } else { ' ' })
                                .collect();
                            out.push(TypeDecl {
                                name: src[s..e].to_string(),
                                kind: kw,
                                supers: supertypes(&header),
                                start: open + 1,
                                end,
                            });
                            i = end + 1;
                            continue;
                        }
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The types a declaration's header (after its name) extends or implements: `<T> extends
/// Base<T> implements A, B` gives `Base`, `A`, `B` (qualified names as written).
fn supertypes(header: &str) -> Vec<String> {
    let toks = tokens(header);
    let mut out = Vec::new();
    let mut listing = false;
    let mut angle = 0i32;
    let mut paren = 0i32;
    let mut expect_type = false;
    for t in &toks {
        match t.as_str() {
            "<" => angle += 1,
            ">" => angle -= 1,
            "(" => paren += 1,
            ")" => paren -= 1,
            _ if angle > 0 || paren > 0 => {}
            "extends" | "implements" => {
                listing = true;
                expect_type = true;
            }
            "permits" => listing = false,
            "," if listing => expect_type = true,
            _ if listing && expect_type && t.bytes().next().is_some_and(instrument::is_ident) => {
                out.push(t.clone());
                expect_type = false;
            }
            _ => {}
        }
    }
    out
}

/// A member of a type's body: its head's span (to the `;` or the body's `{`) and, for one with
/// a body, that body's `}` (`Some(None)`: the source leaves it open).
struct Member {
    head: (usize, usize),
    body: Option<Option<usize>>,
}

/// The members of the body `start..end`, at its top level. Braces inside parentheses
/// (`@SuppressWarnings({"a", "b"})`) are no member's body.
fn members(src: &str, mask: &[bool], start: usize, end: usize) -> Vec<Member> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut chunk = start;
    let mut paren = 0i32;
    let mut i = start;
    while i < end {
        if !mask[i] {
            i += 1;
            continue;
        }
        match b[i] {
            b'(' => paren += 1,
            b')' => paren -= 1,
            b';' if paren <= 0 => {
                paren = 0;
                out.push(Member {
                    head: (chunk, i),
                    body: None,
                });
                chunk = i + 1;
            }
            b'{' if paren <= 0 => {
                paren = 0;
                let matched = instrument::matching(b, mask, i).filter(|&c| c < end);
                out.push(Member {
                    head: (chunk, i),
                    body: Some(matched),
                });
                i = matched.unwrap_or(end) + 1;
                chunk = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// How many members of the body `start..end` declare a method named `name` (abstract or not,
/// whatever their modifiers and annotations): a head where `name (` stands outside
/// parentheses and after no `=` (a field's initializer calling it).
fn declarations(src: &str, mask: &[bool], start: usize, end: usize, name: &str) -> usize {
    let b = src.as_bytes();
    let declares = |from: usize, to: usize| {
        let head: Vec<u8> = (from..to)
            .map(|k| if mask[k] { b[k] } else { b' ' })
            .collect();
        let mut paren = 0i32;
        let mut k = 0;
        while k < head.len() {
            match head[k] {
                b'(' => paren += 1,
                b')' => paren -= 1,
                b'=' if paren == 0 => return false,
                c if paren == 0 && instrument::is_ident(c) => {
                    let s = k;
                    while k < head.len() && instrument::is_ident(head[k]) {
                        k += 1;
                    }
                    let after = instrument::skip_ws(&head, k);
                    if &head[s..k] == name.as_bytes()
                        && (s == 0 || head[s - 1] != b'.')
                        && head.get(after) == Some(&b'(')
                    {
                        return true;
                    }
                    continue;
                }
                _ => {}
            }
            k += 1;
        }
        false
    };
    members(src, mask, start, end)
        .into_iter()
        .filter(|m| declares(m.head.0, m.head.1))
        .count()
}

/// JDK interfaces that declare no method: a class implementing them inherits no overload.
const MARKERS: [&str; 5] = [
    "Cloneable",
    "java.lang.Cloneable",
    "Serializable",
    "java.io.Serializable",
    "java.util.RandomAccess",
];

/// A stub's signature: static or not, the return type, the parameter types.
type Signature = (bool, JTy, Vec<JTy>);

/// The methods named `name` that a call on `class` may reach in one program, one per parameter
/// list: the class's own, and those it inherits from the sample's types it extends or
/// implements (transitively; the class's own come first, so an override or a hidden static
/// method stands for its supertype's), never a private one (the test's class cannot call it,
/// and no class inherits it) nor an interface's static method (not inherited). The judge gets a
/// stub for each, so javac resolves the test's call among them as it would in one program, and
/// the candidate's dispatch calls that very overload (its arguments cast to its exact parameter
/// types). `Err` when they cannot all be stubbed as they are: a declaration of the name the
/// executor cannot read (an annotation with arguments before it, ...), a signature that is not
/// plain (generic, variable-arity, a type of the sample's), or a supertype that is not in the
/// sample's code (the JDK's may declare the name too; `Object` and marker interfaces declare
/// none the test could call).
fn visible_methods(
    decls: &[TypeDecl],
    src: &str,
    mask: &[bool],
    class: &str,
    name: &str,
) -> Result<Vec<Signature>, String> {
    let mut queue = std::collections::VecDeque::from([class.to_string()]);
    let mut seen: Vec<String> = Vec::new();
    let mut out: Vec<Signature> = Vec::new();
    while let Some(t) = queue.pop_front() {
        if seen.contains(&t) {
            continue;
        }
        let Some(d) = decls.iter().find(|d| d.name == t) else {
            return Err(format!(
                "`{t}` is not a type the executor can read in the sample's code"
            ));
        };
        seen.push(t.clone());
        let found: Vec<Method> = methods(&t, src, mask, d.start, d.end)
            .into_iter()
            .filter(|m| m.name == name)
            .collect();
        let declared = declarations(src, mask, d.start, d.end, name);
        if found.len() != declared {
            return Err(format!(
                "`{t}` declares `{name}` {declared} times and the executor reads {} of them: the \
                 judge cannot tell which overloads of `{name}` the test's call may reach",
                found.len()
            ));
        }
        for m in found {
            if m.is_private || (t != class && d.kind == "interface" && m.is_static) {
                continue;
            }
            let (ret, params) = m
                .sig
                .map_err(|e| format!("the signature of `{t}.{name}` is not plain: {e}"))?;
            if !out.iter().any(|(_, _, p)| *p == params) {
                out.push((m.is_static, ret, params));
            }
        }
        for sup in &d.supers {
            if decls.iter().any(|d| d.name == *sup) {
                queue.push_back(sup.clone());
            } else if !(sup == "Object"
                || sup == "java.lang.Object"
                || MARKERS.contains(&sup.as_str()))
            {
                return Err(format!(
                    "`{t}` extends or implements `{sup}`, which is not in the sample's code: the \
                     judge cannot tell which overloads of `{name}` the test's call may reach"
                ));
            }
        }
    }
    Ok(out)
}

/// The methods declared directly in a type's body: with a body, and without one (abstract, an
/// interface's) when the member ending in `;` has no `=` outside parentheses (a field's
/// initializer calling a method is no declaration).
fn methods(class: &str, src: &str, mask: &[bool], start: usize, end: usize) -> Vec<Method> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    for Member {
        head: (from, to),
        body,
    } in members(src, mask, start, end)
    {
        let head: String = (from..to)
            .map(|k| if mask[k] { b[k] as char } else { ' ' })
            .collect();
        let Some(close) = body else {
            let mut depth = 0i32;
            let assigns = head.chars().any(|c| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                c == '=' && depth == 0
            });
            if !assigns && let Some(mut m) = method_head(class, &head) {
                m.is_abstract = true;
                out.push(m);
            }
            continue;
        };
        if let Some(mut m) = method_head(class, &head) {
            let first = (from..to)
                .find(|&k| mask[k] && !b[k].is_ascii_whitespace())
                .unwrap_or(to);
            m.whole = close.map(|c| (first, c + 1));
            out.push(m);
        }
    }
    out
}

/// `head` with its annotations (`@Override`, `@SuppressWarnings("unchecked")`, `@A(x = {1})`)
/// blanked out.
fn without_annotations(head: &str) -> String {
    let b = head.as_bytes();
    let mut out = String::with_capacity(head.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'@' {
            let c = head[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        // `@`, the name (`java.lang . Deprecated`), then its arguments if any.
        i = instrument::skip_ws(b, i + 1);
        loop {
            while i < b.len() && instrument::is_ident(b[i]) {
                i += 1;
            }
            let j = instrument::skip_ws(b, i);
            if b.get(j) != Some(&b'.') {
                break;
            }
            i = instrument::skip_ws(b, j + 1);
        }
        let j = instrument::skip_ws(b, i);
        if b.get(j) == Some(&b'(') {
            i = j;
            let mut depth = 0i32;
            while i < b.len() {
                match b[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
        }
        out.push(' ');
    }
    out
}

fn method_head(class: &str, head: &str) -> Option<Method> {
    let head = without_annotations(head);
    let head = head.trim();
    let head = match head.find(" throws ") {
        Some(p) => &head[..p],
        None => head,
    }
    .trim();
    let open = head.find('(')?;
    if !head.ends_with(')') {
        return None;
    }
    let mut words: Vec<&str> = head[..open].split_whitespace().collect();
    let name = words.pop()?.to_string();
    if name == class || !name.bytes().all(instrument::is_ident) {
        return None; // a constructor, or not a method
    }
    let mut is_static = false;
    let mut is_private = false;
    let mut rest = Vec::new();
    for w in words {
        match w {
            "public" | "protected" | "final" | "synchronized" | "strictfp" | "abstract"
            | "default" => {}
            "static" => is_static = true,
            "private" => is_private = true,
            "class" | "interface" | "enum" | "new" | "native" => return None,
            _ if w.starts_with('@') => {}
            _ => rest.push(w),
        }
    }
    let ret = rest.join(" ");
    let params = &head[open + 1..head.len() - 1];
    let sig = (|| {
        if ret.starts_with('<') {
            return Err(format!("the generic method `{name}`"));
        }
        let r = parse_type(&ret)?;
        let mut ps = Vec::new();
        for p in instrument::split_top(params) {
            let p = p.trim().trim_start_matches("final ").trim();
            if p.is_empty() {
                continue;
            }
            if p.contains("...") {
                return Err(format!("a variable-arity parameter of `{name}`"));
            }
            let cut = p
                .rfind(|c: char| c.is_whitespace())
                .ok_or_else(|| format!("parameter `{p}`"))?;
            if !p[cut..].trim().bytes().all(instrument::is_ident) {
                // `int a[]`: an array, whatever the type before the name says.
                return Err(format!("the parameter `{p}` of `{name}`"));
            }
            let t = parse_type(&p[..cut])?;
            if t.name == "void" {
                return Err("a void parameter".into());
            }
            ps.push(t);
        }
        Ok((r, ps))
    })();
    Some(Method {
        name,
        is_static,
        is_private,
        is_abstract: false,
        sig,
        whole: None,
    })
}

/// The methods `prompt`'s classes define whole with a plain signature (for
/// [`super::prompt_helpers`]; `owner` is the class).
fn whole_methods(prompt: &str) -> Vec<Whole> {
    let mask = instrument::code_mask(prompt.as_bytes(), Syntax::Java);
    let mut out = Vec::new();
    for (class, start, end) in classes_of(prompt, &mask, true) {
        for m in methods(&class, prompt, &mask, start, end) {
            if let (Ok(_), Some((a, b))) = (&m.sig, m.whole)
                && let Some(text) = prompt.get(a..b)
            {
                out.push(Whole {
                    name: m.name,
                    owner: class.clone(),
                    text: text.to_string(),
                });
            }
        }
    }
    out
}

/// The code's imports of JDK packages and classes (`java.`, `javax.`): every top-level `import
/// [static] NAME;` statement, wherever it stands (two on a line, a comment inside), written
/// out again. These are the names the test sees in one program besides `java.lang` (for
/// example `List` and `Arrays`, or the exceptions a HumanEval-X test's `main` declares).
fn code_imports(code: &str) -> String {
    let code = unescape(code);
    let b = code.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Java);
    let mut out = String::new();
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
            _ if depth == 0 && instrument::word_at(b, &mask, i, b"import") => {
                let Some(end) = (i..b.len()).find(|&k| mask[k] && b[k] == b';') else {
                    break;
                };
                let text: String = (i + 6..end)
                    .map(|k| if mask[k] { b[k] as char } else { ' ' })
                    .collect();
                let words: Vec<&str> = text.split_whitespace().collect();
                let (is_static, name) = match words.split_first() {
                    Some((&"static", rest)) => (true, rest.concat()),
                    _ => (false, words.concat()),
                };
                let plain = (name.starts_with("java.") || name.starts_with("javax."))
                    && name
                        .bytes()
                        .all(|c| instrument::is_ident(c) || c == b'.' || c == b'*');
                if plain {
                    let st = if is_static { "static " } else { "" };
                    out.push_str(&format!("import {st}{name};\n"));
                }
                i = end + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The file the code goes into: its public class's name, if it has one.
fn code_file(code: &str) -> String {
    let b = code.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Java);
    for (name, start, _) in classes(code, &mask) {
        let before = code[..start].rfind("class").map_or("", |p| &code[..p]);
        let line = before.rsplit(['\n', ';', '}']).next().unwrap_or("");
        if line.split_whitespace().any(|w| w == "public") {
            return format!("{name}.java");
        }
    }
    "RrtfCode.java".into()
}

/// The command that precompiles the runtime's classes (see
/// [`super::cache::CompileCache::runtime`]).
pub(super) fn runtime_build(javac: &Path) -> Vec<String> {
    let mut argv = vec![javac.to_string_lossy().into_owned()];
    argv.extend(JAVAC_FLAGS.iter().map(|f| f.to_string()));
    argv.extend(["-nowarn", "-encoding", "UTF-8", "-d", "@OUT@", "@SRC@"].map(String::from));
    argv
}

/// `rt`: a directory holding the runtime's precompiled classes (else each program compiles
/// `RrtfRt.java` itself).
/// Whether `test` (its comments and literals blanked) constructs `class` without arguments
/// (`new Solution()`): in one program that compiles only if the class allows it
/// (`RrtfRt.constructed`).
fn constructs(test: &str, class: &str) -> bool {
    let b = test.as_bytes();
    test.match_indices(class).any(|(at, _)| {
        let end = at + class.len();
        if b.get(end).is_some_and(|&c| instrument::is_ident(c)) {
            return false;
        }
        let before = test[..at].trim_end();
        let after = test[end..].trim_start();
        before.ends_with("new")
            && !before[..before.len() - 3]
                .bytes()
                .next_back()
                .is_some_and(instrument::is_ident)
            && before.len() < at
            && after
                .strip_prefix('(')
                .is_some_and(|a| a.trim_start().starts_with(')'))
    })
}

/// The exception types a Java test catches (`catch (final A | B e)`) or declares (`throws A,
/// B`), as written (simple or qualified names; anything else is left out).
fn handled_types(test: &str) -> Vec<String> {
    let b = test.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Java);
    let text = instrument::blank_non_code(test, &mask);
    let mut out: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        let t = t.trim();
        if !t.is_empty()
            && t.bytes().all(|c| instrument::is_ident(c) || c == b'.')
            && !out.iter().any(|o| o == t)
        {
            out.push(t.to_string());
        }
    };
    let mut i = 0;
    while i < b.len() {
        if instrument::word_at(b, &mask, i, b"throws") {
            let end = text[i..].find(['{', ';']).map_or(text.len(), |e| i + e);
            for t in text[i + 6..end].split(',') {
                add(t);
            }
            i = end;
            continue;
        }
        if instrument::word_at(b, &mask, i, b"catch") {
            let open = instrument::skip_ws(b, i + 5);
            if b.get(open) == Some(&b'(')
                && let Some(close) = instrument::matching(b, &mask, open)
            {
                // The types before the variable's name, `final` and annotations aside.
                let inner = text[open + 1..close].trim();
                let types = inner
                    .rsplit_once(char::is_whitespace)
                    .map_or("", |(t, _)| t);
                for t in types.split('|') {
                    add(t.trim().trim_start_matches("final").trim());
                }
                i = close;
                continue;
            }
        }
        i += 1;
    }
    out
}

pub(super) fn plan(
    tools: &[PathBuf],
    code: &str,
    test: &str,
    cds: Option<&Path>,
    rt: Option<&Path>,
    prompt: Prompt<'_>,
) -> Result<Plan, String> {
    let inst = instrument::java_checks(test);
    let used = instrument::free_names(test, Syntax::Java);
    let tb = test.as_bytes();
    let tmask = instrument::code_mask(tb, Syntax::Java);
    let test_classes: Vec<String> = classes(test, &tmask).into_iter().map(|c| c.0).collect();
    let cb = code.as_bytes();
    let cmask = instrument::code_mask(cb, Syntax::Java);
    // Method names the test calls (`.name(`), wherever.
    let test_clean = instrument::blank_non_code(test, &tmask);
    let called_names = |name: &str| {
        test_clean.contains(&format!(".{name}(")) || test_clean.contains(&format!(". {name}("))
    };
    // The prompt's whole methods the test calls (HumanEval-X /38's `encodeCyclic`) are the
    // judge's own, from the prompt's text (`prompt_helpers`), in the stub of their class.
    let test_uses_class =
        |class: &str| used.iter().any(|u| u == class) && !test_classes.iter().any(|t| t == class);
    let whole: Vec<Whole> = prompt
        .text
        .map(whole_methods)
        .unwrap_or_default()
        .into_iter()
        .filter(|w| test_uses_class(&w.owner))
        .collect();
    let mut sample: Vec<String> = Vec::new();
    for (class, start, end) in classes(code, &cmask) {
        if test_uses_class(&class) && !jdk_class(&class) {
            for m in methods(&class, code, &cmask, start, end) {
                if !m.is_abstract && called_names(&m.name) && !sample.contains(&m.name) {
                    sample.push(m.name);
                }
            }
        }
    }
    let mut called: Vec<String> = sample.clone();
    for w in &whole {
        if called_names(&w.name) && !called.contains(&w.name) {
            called.push(w.name.clone());
        }
    }
    let helpers = super::prompt_helpers(&called, &sample, &whole, prompt.entry_point, Syntax::Java);
    let helper_of =
        |class: &str, name: &str| helpers.iter().any(|h| h.owner == class && h.name == name);
    let mut stubbed: Vec<String> = Vec::new();
    let mut methods_called: Vec<String> = Vec::new();
    let mut stubs: Vec<(String, String)> = Vec::new();
    let mut dispatch = String::new();
    let mut calls = Vec::new();
    let mut instances = String::new();
    // A checked exception the sample declares compiles in one program only if the test
    // catches or declares a type that covers it (`RrtfRt.unchecked`).
    let handles: Vec<String> = handled_types(test)
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect();
    let mut expects = format!(
        "        RrtfRt.testHandles = new String[] {{{}}};\n",
        handles.join(", ")
    );
    let mut id = 0usize;
    // Overloads are counted in the code as javac reads it (Unicode escapes translated).
    let read = unescape(code);
    let read_mask = instrument::code_mask(read.as_bytes(), Syntax::Java);
    let decls = type_decls(&read, &read_mask);
    // A type of the code's named like a JDK class the test uses (`class Arrays`) is the test's
    // in one program (a type of the package shadows `import java.util.*`), the JDK's in the
    // judge: refused (an attacker's review, round 15: its `Arrays` broke the test's
    // `Arrays.asList` in one program, and the judge passed).
    if let Some(d) = decls
        .iter()
        .find(|d| jdk_class(&d.name) && used.contains(&d.name) && !test_classes.contains(&d.name))
    {
        return Err(format!(
            "the code declares `{}`, named like a JDK class the test uses: in one program the \
             test's `{}` is the code's, in the judge the JDK's",
            d.name, d.name
        ));
    }
    for (class, _, _) in classes(&read, &read_mask) {
        if !used.contains(&class) || test_classes.contains(&class) || jdk_class(&class) {
            continue;
        }
        let mut body = String::new();
        let inst_var = format!("rrtfInst{class}");
        if constructs(&test_clean, &class) {
            // As the test's `new` would, before any call (a constructor with effects, or one
            // that throws, runs even when the test calls only static methods).
            expects.push_str(&format!(
                "        if (RrtfRt.constructed({class}.class)) {inst_var} = new {class}();\n"
            ));
        }
        instances.push_str(&format!("    private static {class} {inst_var};\n"));
        // The names the test calls among the class's methods and those it inherits from the
        // sample's types, each with every overload a call may reach (`visible_methods`).
        let mut names: Vec<String> = Vec::new();
        let mut visited: Vec<String> = Vec::new();
        let mut queue = vec![class.clone()];
        while let Some(t) = queue.pop() {
            let Some(d) = decls.iter().find(|d| d.name == t) else {
                continue;
            };
            if visited.contains(&t) {
                continue;
            }
            visited.push(t.clone());
            for m in methods(&t, &read, &read_mask, d.start, d.end) {
                if called_names(&m.name) && !helper_of(&class, &m.name) && !names.contains(&m.name)
                {
                    names.push(m.name);
                }
            }
            queue.extend(d.supers.iter().cloned());
        }
        let mut overloads: Vec<(String, Signature)> = Vec::new();
        for name in names {
            let sigs = visible_methods(&decls, &read, &read_mask, &class, &name)?;
            // The compiled class must have exactly these, each with its return type
            // (`RrtfRt.expect`, by reflection): the text's reading can miss an overload javac
            // sees (an attacker's review, round 15).
            let lists: Vec<String> = sigs
                .iter()
                .map(|(_, ret, ps)| {
                    let mut cs: Vec<String> = ps.iter().map(JTy::exact_class).collect();
                    cs.push(ret.exact_class());
                    format!("{{{}}}", cs.join(", "))
                })
                .collect();
            expects.push_str(&format!(
                "        RrtfRt.expect({class}.class, \"{name}\", new Class<?>[][] {{{}}});\n",
                lists.join(", ")
            ));
            for sig in sigs {
                overloads.push((name.clone(), sig));
            }
        }
        for (name, (is_static, ret, params)) in overloads {
            let qualified = format!("{class}.{name}");
            if !methods_called.contains(&qualified) {
                methods_called.push(qualified);
            }
            let decl: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(k, p)| format!("{} a{k}", p.java()))
                .collect();
            let args: String = (0..params.len()).map(|k| format!(", a{k}")).collect();
            let st = if is_static { "static " } else { "" };
            let r = ret.java();
            let call = format!(
                "RrtfRt.call({id}, {}, {}{args})",
                ret.class(),
                ret.primitive().is_some()
            );
            let stmt = if r == "void" {
                format!("{call};")
            } else {
                format!("return ({}) {call};", ret.cast())
            };
            body.push_str(&format!(
                "    @SuppressWarnings(\"unchecked\")\n    public {st}{r} {name}({}) {{ {stmt} }}\n",
                decl.join(", ")
            ));
            let target = if is_static {
                class.clone()
            } else {
                format!("({inst_var} == null ? ({inst_var} = new {class}()) : {inst_var})")
            };
            let cast_args: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    // Kept in `a`: the object the method gets (see `RrtfRt.serve`).
                    p.argument(&format!(
                        "(a[{k}] = RrtfRt.as({}, a[{k}], {}))",
                        p.class(),
                        p.primitive().is_some()
                    ))
                })
                .collect();
            let invoke = format!("{target}.{name}({})", cast_args.join(", "));
            let ret_stmt = if r == "void" {
                format!("{invoke}; return RrtfRt.VOID;")
            } else {
                format!("return {invoke};")
            };
            let exact: Vec<String> = params.iter().map(JTy::exact_class).collect();
            dispatch.push_str(&format!(
                "            case {id}: {{ if (a.length != {}) throw new IllegalArgumentException(\"arity\"); RrtfRt.unchecked({class}.class, \"{name}\", new Class<?>[] {{{}}}); {ret_stmt} }}\n",
                params.len(),
                exact.join(", ")
            ));
            let ps: Vec<String> = params.iter().map(JTy::render).collect();
            calls.push(format!(
                "{} {class}.{name}({})",
                ret.render(),
                ps.join(", ")
            ));
            id += 1;
        }
        // The candidate keeps one instance of the class (`rrtfInst...`): a test that creates
        // a second one would talk to the first, so a wrong answer keeping per-instance state
        // where the task wants shared (or the reverse) could pass. The judge refuses that run.
        body.push_str(&format!(
            "    public {class}() {{ RrtfRt.instance(\"{class}\"); }}\n"
        ));
        stubbed.push(class.clone());
        stubs.push((class, body));
    }
    // Each helper in its class's stub (a class of the prompt's the code lacks gets one too).
    for h in &helpers {
        let text = format!("    {}\n", h.text);
        match stubs.iter_mut().find(|(c, _)| *c == h.owner) {
            Some((_, body)) => body.push_str(&text),
            None => stubs.push((h.owner.clone(), text)),
        }
    }
    // The stubs' own code names every class in full; the prompt's helpers need its imports.
    let prompt_imports = if helpers.is_empty() {
        String::new()
    } else {
        code_imports(prompt.text.unwrap_or_default())
    };
    let stubs: Vec<(String, String)> = stubs
        .into_iter()
        .map(|(class, body)| {
            (
                format!("{class}.java"),
                format!("{prompt_imports}\nclass {class} {{\n{body}}}\n"),
            )
        })
        .collect();
    super::one_function_of_the_sample(&methods_called)?;
    let judge_main = format!(
        "public class RrtfJudge {{\n    public static void main(String[] args) throws Exception {{\n        RrtfRt.judge({}, () -> Main.main(new String[0]));\n    }}\n}}\n",
        inst.sites.len()
    );
    let server = format!(
        "public class RrtfServe {{\n{instances}    @SuppressWarnings(\"unchecked\")\n    static Object dispatch(int id, Object[] a) throws Throwable {{\n        switch (id) {{\n{dispatch}        }}\n        throw new IllegalArgumentException(\"unknown function\");\n    }}\n\n    public static void main(String[] args) throws Exception {{\n{expects}        RrtfRt.serve(RrtfServe::dispatch);\n    }}\n}}\n"
    );
    let javac = tools[0].to_string_lossy().into_owned();
    let java = tools[1].to_string_lossy().into_owned();
    let build = |files: &[&str]| {
        let mut argv = vec![javac.clone()];
        argv.extend(JAVAC_FLAGS.iter().map(|f| f.to_string()));
        if let Some(jsa) = cds {
            argv.push(format!("-J-XX:SharedArchiveFile={}", jsa.display()));
        }
        argv.extend(["-nowarn", "-encoding", "UTF-8", "-d", "."].map(String::from));
        if let Some(dir) = rt {
            argv.extend(["-cp".to_string(), dir.to_string_lossy().into_owned()]);
        }
        argv.extend(files.iter().map(|f| f.to_string()));
        argv
    };
    let class_path = match rt {
        Some(dir) => format!("@DIR@:{}", dir.display()),
        None => "@DIR@".to_string(),
    };
    let run = |main: &str| {
        let mut argv = vec![java.clone()];
        argv.extend(JVM_FLAGS.iter().map(|f| f.to_string()));
        argv.extend(["-cp".into(), class_path.clone(), main.into()]);
        argv
    };
    // The test sees the code's imports, as in the one program (a completion's come with its
    // prompt; a chat answer without `import java.util.*;` whose test uses `List` does not
    // compile there either), and its own.
    let mut judge_files = vec![
        (
            "Main.java".to_string(),
            format!("{}\n{}", code_imports(code), inst.test),
        ),
        ("RrtfJudge.java".into(), judge_main),
    ];
    if rt.is_none() {
        judge_files.push(("RrtfRt.java".into(), RT.into()));
    }
    judge_files.extend(stubs);
    let judge_names: Vec<String> = judge_files.iter().map(|f| f.0.clone()).collect();
    let judge_refs: Vec<&str> = judge_names.iter().map(String::as_str).collect();
    let code_name = code_file(code);
    let mut cand_files = vec![
        (code_name.clone(), code.to_string()),
        ("RrtfServe.java".into(), server),
    ];
    if rt.is_none() {
        cand_files.push(("RrtfRt.java".into(), RT.into()));
    }
    let cand_names: Vec<String> = cand_files.iter().map(|f| f.0.clone()).collect();
    let cand_refs: Vec<&str> = cand_names.iter().map(String::as_str).collect();
    let mut sites = inst.sites;
    instrument::mark_uses(&mut sites, test, Syntax::Java, &stubbed);
    Ok(Plan {
        judge: Side {
            build: Some(build(&judge_refs)),
            files: judge_files,
            artifacts: vec![".class".into()],
            // `-ea`: an `assert` statement of the test runs (and fails the test when it
            // fails), as its author meant; without it a wrong answer passed such a test.
            run: {
                let mut r = run("RrtfJudge");
                r.insert(1, "-ea".into());
                r
            },
            heavy: true,
            cacheable: true,
            ..Side::default()
        },
        cand: Side {
            build: Some(build(&cand_refs)),
            files: cand_files,
            artifacts: vec![".class".into()],
            // `-ea` as the one program runs (`java -ea Main`): the sample's own `assert`s too.
            // Its end is the program's: `main` returns, and the JVM ends once the sample's
            // threads have (an attacker's review, round 16: `-ea` and `System.exit(0)` after
            // serving hid a failing assert, a thread exiting 1, one that never ends).
            run: {
                let mut r = run("RrtfServe");
                r.insert(1, "-ea".into());
                r
            },
            heavy: true,
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
    fn a_construction_without_arguments_is_found() {
        for (test, want) in [
            ("Solution s = new Solution();", true),
            ("Solution s = new  Solution ( );", true),
            ("var s = new\nSolution()", true),
            ("Solution s = new Solution(5);", false),
            ("Solution s = new MySolution();", false),
            ("Solution s = new SolutionX();", false),
            ("Solution s = renew Solution();", false),
            ("Solution.add(1, 2);", false),
        ] {
            assert_eq!(constructs(test, "Solution"), want, "{test}");
        }
    }

    #[test]
    fn java_types_follow_a_closed_grammar() {
        for (t, want) in [
            ("List<Integer>", "List<Integer>"),
            (
                "java.util.Map<String, List<Double>>",
                "Map<String, List<Double>>",
            ),
            ("Optional<Object>", "Optional<Object>"),
            ("int", "int"),
        ] {
            assert_eq!(
                parse_type(t).map(|t| t.render()).as_deref(),
                Ok(want),
                "{t}"
            );
        }
        for bad in [
            "int[]",
            "List",
            "Foo",
            "List<? extends Number>",
            "Map<String>",
        ] {
            assert!(parse_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stubs_for_the_methods_the_test_calls_and_never_the_code() {
        let code = "import java.util.*;\nclass Solution {\n    private int secret = 7;\n    public List<Integer> f(List<Integer> l, int k) throws Exception { return helper(l); }\n    private List<Integer> helper(List<Integer> l) { return l; }\n    public static boolean g(String s) { return true; }\n}\n";
        let tools = [
            PathBuf::from("/usr/bin/javac"),
            PathBuf::from("/usr/bin/java"),
        ];
        let main = |cond: &str| {
            format!(
                "public class Main {{\n    public static void main(String[] args) {{\n        Solution s = new Solution();\n        if (!({cond})) {{\n            throw new AssertionError();\n        }}\n    }}\n}}\n"
            )
        };
        // Two methods of the sample called: no judge (`one_function_of_the_sample`).
        let both = main("s.f(List.of(1), 2).equals(List.of(1)) && Solution.g(\"x\")");
        let Err(why) = plan(&tools, code, &both, None, None, Prompt::NONE) else {
            panic!("a judge for a test that calls two methods of the sample");
        };
        assert!(why.contains("(`Solution.f`, `Solution.g`)"), "{why}");
        let test = main("s.f(List.of(1), 2).equals(List.of(1))");
        let p = plan(&tools, code, &test, None, None, Prompt::NONE).unwrap();
        let stub_of = |p: &Plan| {
            p.judge
                .files
                .iter()
                .find(|f| f.0 == "Solution.java")
                .unwrap()
                .1
                .clone()
        };
        let stub = stub_of(&p);
        assert!(
            !stub.contains("secret") && !stub.contains("helper"),
            "{stub}"
        );
        assert!(
            stub.contains("public java.util.List<java.lang.Integer> f(java.util.List<java.lang.Integer> a0, int a1) { return (java.util.List<java.lang.Integer>) RrtfRt.call(0, java.util.List.class, false, a0, a1); }"),
            "{stub}"
        );
        assert!(!stub.contains(" g("), "{stub}");
        assert_eq!(p.sites.len(), 1);
        // A static method.
        let p = plan(
            &tools,
            code,
            &main("Solution.g(\"x\")"),
            None,
            None,
            Prompt::NONE,
        )
        .unwrap();
        let stub = stub_of(&p);
        assert!(
            stub.contains("public static boolean g(java.lang.String a0) { return (java.lang.Boolean) RrtfRt.call(0, java.lang.Boolean.class, true, a0); }"),
            "{stub}"
        );
        let server = &p.cand.files[1].1;
        assert!(
            server.contains("return Solution.g((java.lang.String) (a[0] = RrtfRt.as(java.lang.String.class, a[0], false)));"),
            "{server}"
        );
        assert_eq!(p.cand.files[0].0, "RrtfCode.java");
        // No import in the stub: the test sees only the code's (`java.util.*` here).
        assert!(!stub.contains("import"), "{stub}");
        let main = &p.judge.files[0];
        assert_eq!(main.0, "Main.java");
        assert!(
            main.1
                .starts_with("import java.util.*;\n\npublic class Main"),
            "{}",
            main.1
        );
        assert_eq!(
            code_file("public class Solution {}\nclass X {}"),
            "Solution.java"
        );
    }

    #[test]
    fn a_primitive_argument_is_unboxed_for_the_call() {
        let code = "class Solution {\n    public double area(double a, int h, char c, boolean b, long l, float f, short s, byte y) { return a; }\n}\n";
        let test = "public class Main {\n    public static void main(String[] args) {\n        if (new Solution().area(1, 2, 'c', true, 3L, 1f, (short) 1, (byte) 1) != 1) {\n            throw new AssertionError();\n        }\n    }\n}\n";
        let tools = [
            PathBuf::from("/usr/bin/javac"),
            PathBuf::from("/usr/bin/java"),
        ];
        let p = plan(&tools, code, test, None, None, Prompt::NONE).unwrap();
        let server = &p.cand.files[1].1;
        for (k, (prim, boxed)) in [
            ("double", "Double"),
            ("int", "Integer"),
            ("char", "Character"),
            ("boolean", "Boolean"),
            ("long", "Long"),
            ("float", "Float"),
            ("short", "Short"),
            ("byte", "Byte"),
        ]
        .into_iter()
        .enumerate()
        {
            let want = format!(
                "({prim}) (java.lang.{boxed}) (a[{k}] = RrtfRt.as(java.lang.{boxed}.class, a[{k}], true))"
            );
            assert!(server.contains(&want), "{want}\n{server}");
        }
        assert!(!server.contains("import"), "{server}");
    }

    #[test]
    fn imports_are_read_as_javac_reads_them() {
        assert_eq!(
            code_imports(
                "import java.util.List; import java.util.Arrays;\nimport static java.lang.Math.*;\nimport java . util . /* c */ Map;\n// import java.io.*;\nimport org.junit.Test;\nimport static/**/java.util.Map.entry;\nclass A { String s = \"import java.net.*;\"; }\n"
            ),
            "import java.util.List;\nimport java.util.Arrays;\nimport static java.lang.Math.*;\nimport java.util.Map;\nimport static java.util.Map.entry;\n"
        );
        // Unicode escapes are read first: an escaped line end ends the comment.
        assert_eq!(
            code_imports("// \\u000aimport java.util.\\u002a;\nimport java.io.IOException;\n"),
            "import java.util.*;\nimport java.io.IOException;\n"
        );
        assert_eq!(
            unescape("a\\\\u0041 \\uu0041 \"\\u00e9\""),
            "a\\\\u0041 A \"\u{e9}\""
        );
    }

    #[test]
    fn every_overload_a_call_may_reach_gets_a_stub() {
        let sigs = |code: &str, class: &str, name: &str| {
            let code = unescape(code);
            let mask = instrument::code_mask(code.as_bytes(), Syntax::Java);
            visible_methods(&type_decls(&code, &mask), &code, &mask, class, name).map(|v| {
                v.iter()
                    .map(|(st, r, ps)| {
                        let ps: Vec<String> = ps.iter().map(JTy::render).collect();
                        format!(
                            "{}{} {name}({})",
                            if *st { "static " } else { "" },
                            r.render(),
                            ps.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
            })
        };
        // Fields calling it, a lambda, annotations (with arguments, braces), a nested class's
        // method of that name and a private overload are no stub.
        let one = "class S {\n    int x = f(1);\n    Runnable r = () -> f(2);\n    @SuppressWarnings(\"x\") public int f(int a) { return g(a); }\n    int g(int a) { return a; }\n    private int f(String a) { return 0; }\n    static class In { int f(long a) { return 0; } }\n}\n";
        assert_eq!(sigs(one, "S", "f"), Ok(vec!["int f(int)".to_string()]));
        for (code, want) in [
            (
                "class S {\n    int f(int a) { return a; }\n    @Deprecated(since = \"1\") int f(Integer a) { return a; }\n}\n",
                &["int f(int)", "int f(Integer)"][..],
            ),
            (
                "abstract class B {\n    abstract int f(long a);\n    static int f(double a) { return 0; }\n}\nclass S extends B {\n    int f(int a) { return a; }\n    int f(long a) { return 1; }\n}\n",
                &["int f(int)", "int f(long)", "static int f(double)"][..],
            ),
            // An interface's static method is not inherited; its default one is.
            (
                "interface I {\n    static int f(double a) { return 0; }\n    default int f(long a) { return 0; }\n    int f(String s);\n}\nclass S implements Cloneable, I {\n    public int f(int a) { return a; }\n    public int f(String s) { return 1; }\n}\n",
                &["int f(int)", "int f(String)", "int f(long)"][..],
            ),
            // As javac reads it: a name spelled with a Unicode escape, an escaped line end
            // closing a comment, braces in an annotation.
            (
                "class B {\n    int \\u0066(long a) { return 0; }\n}\nclass S extends B {\n    int f(int a) { return a; }\n}\n",
                &["int f(int)", "int f(long)"][..],
            ),
            (
                "class S {\n    // \\u000a int f(long a) { return 0; }\n    int f(int a) { return a; }\n}\n",
                &["int f(long)", "int f(int)"][..],
            ),
            (
                "class S {\n    @SuppressWarnings({\"a\", \"b\"}) int f(long a) { return 0; }\n    @java.lang . Override int f(int a) { return a; }\n}\n",
                &["int f(long)", "int f(int)"][..],
            ),
            // Object, markers and the sample's own superclasses without the name.
            (
                "class B { int g() { return 0; } }\nclass S extends B implements java.io.Serializable {\n    int f(int a) { return a; }\n}\n",
                &["int f(int)"][..],
            ),
        ] {
            let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
            assert_eq!(sigs(code, "S", "f"), Ok(want), "{code}");
        }
        for (code, why) in [
            (
                "interface I { default <T> int f(T a) { return 0; } }\ninterface J extends I {}\nclass S implements Cloneable, J {\n    public int f(int a) { return a; }\n}\n",
                "the signature of `I.f` is not plain",
            ),
            (
                "class S {\n    int f(int a) { return a; }\n    int f(int... a) { return 0; }\n}\n",
                "not plain",
            ),
            // `int a[]` is an array parameter.
            (
                "class S {\n    int f(int a[]) { return 0; }\n}\n",
                "the parameter `int a[]` of `f`",
            ),
            (
                "class S extends java.util.ArrayList<Integer> {\n    int f(int a) { return a; }\n}\n",
                "`S` extends or implements `java.util.ArrayList`",
            ),
            (
                "class B<T extends Comparable<T>> implements Comparable<B<T>> {}\nclass S extends B<Integer> {\n    int f(int a) { return a; }\n}\n",
                "`B` extends or implements `Comparable`",
            ),
            // A declaration the executor cannot read.
            (
                "class S {\n    int f(int a) { return a; }\n    native int f(long a);\n}\n",
                "declares `f` 2 times and the executor reads 1",
            ),
        ] {
            let got = sigs(code, "S", "f");
            assert!(
                got.as_ref().is_err_and(|e| e.contains(why)),
                "{code}: {got:?}"
            );
        }
    }
}
