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

pub(super) fn plan(node: &Path, code: &str, test: &str) -> Result<Plan, String> {
    let inst = instrument::js_checks(test);
    let names = test_names(test);
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let judge_src = format!(
        "{RT}\n__rrtf.judgeStart({});\nfor (const n of [{}]) if (!(n in globalThis)) globalThis[n] = __rrtf.stub(n);\ntry {{\n{}\n}} catch (e) {{ __rrtf.testError(e); }}\n__rrtf.judgeDone();\n",
        inst.sites.len(),
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
        sites: inst.sites,
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
}
