//! JavaScript: the judge is the test (its `console.assert`s as check sites, see
//! [`instrument::js_checks`]) run by its own node process, where every name the test uses and
//! neither it nor node defines is a stub calling the candidate (JavaScript has no declared
//! types: values travel as plain data, see `rt/rrtf.js`); the candidate is the sample's code
//! and a call server over the same names. Only names (identifiers of the test) are shared.

use std::path::Path;

use super::instrument::{self, Syntax};
use super::{Plan, Side};

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
/// locals to make checks that call nothing count): names the test calls (`name(`) but neither
/// declares (`function`, `class`, `const`, `let`, `var`) nor assigns, nor node defines.
fn candidate_names(test: &str, names: &[String]) -> Vec<String> {
    let b = test.as_bytes();
    let mask = instrument::code_mask(b, Syntax::Js);
    let mut bound: Vec<String> = Vec::new();
    let mut called: Vec<String> = Vec::new();
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
            let at = skip_ws(e);
            if let Some(&open @ (b'[' | b'{')) = b.get(at) {
                let close = if open == b'[' { b']' } else { b'}' };
                let end = (at..b.len()).find(|&k| b[k] == close).unwrap_or(b.len());
                bound.extend(instrument::free_names(&test[at..end], Syntax::Js));
            } else if let Some((ds, de)) = word(at) {
                bound.push(test[ds..de].to_string());
            }
        } else if !member && b.get(after) == Some(&b'(') {
            called.push(w.to_string());
        }
        i = e;
    }
    for (name, _) in instrument::assignments(test, Syntax::Js) {
        bound.push(name);
    }
    names
        .iter()
        .filter(|n| called.contains(n) && !bound.contains(n) && !GLOBALS.contains(&n.as_str()))
        .cloned()
        .collect()
}

pub(super) fn plan(node: &Path, code: &str, test: &str) -> Result<Plan, String> {
    let inst = instrument::js_checks(test);
    let names = test_names(test);
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let seeds = candidate_names(test, &names);
    let quoted: Vec<String> = seeds.iter().map(|n| format!("'{n}'")).collect();
    // The candidate's functions are the test's calls that node does not define: more than one,
    // and none can be trusted (`untrusted` in the runtime; compiled languages refuse to build
    // such a judge, `one_function_of_the_sample`).
    let judge_src = format!(
        "{RT}\n__rrtf.judgeStart({});\nconst __rrtfSample = [{}].filter((n) => !(n in globalThis));\nfor (const n of [{}]) if (!(n in globalThis)) globalThis[n] = __rrtfSample.length > 1 && __rrtfSample.includes(n) ? __rrtf.untrusted(n, __rrtfSample) : __rrtf.stub(n);\ntry {{\n{}\n}} catch (e) {{ __rrtf.testError(e); }}\n__rrtf.judgeDone();\n",
        inst.sites.len(),
        quoted.join(", "),
        list.join(", "),
        inst.test
    );
    let table: Vec<String> = names
        .iter()
        .map(|n| format!("  '{n}': typeof {n} === 'function' ? {n} : undefined,"))
        .collect();
    let cand_src = format!(
        "{RT}\n{code}\n;__rrtf.serve({{\n{}\n}});\n",
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
        let p = plan(Path::new("/usr/bin/node"), code, test).unwrap();
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

    /// Which checks count without a call is the test's business: a sample naming the test's
    /// helpers, locals or node's globals changes nothing.
    #[test]
    fn candidate_names_come_from_the_test_alone() {
        let test = "const t = () => {\n  const ok = check(1)\n  const r = add(1, 2)\n  console.assert(ok)\n  console.assert(r === 3)\n  console.assert(JSON.stringify(1) === '1')\n  console.assert(t.length === 0)\n}\nfunction check(x) { return x > 0 }\nt()\n";
        let honest = "const add = (a, b) => a + b;";
        let greedy = "const add = (a, b) => a + b; const check = 1, ok = 2, t = 3; console.log(JSON.stringify(t));";
        for code in [honest, greedy] {
            let p = plan(Path::new("/usr/bin/node"), code, test).unwrap();
            let marks: Vec<bool> = p.sites.iter().map(|s| s.uses_candidate).collect();
            assert_eq!(marks, [false, true, false, false], "{code}");
        }
    }
}
