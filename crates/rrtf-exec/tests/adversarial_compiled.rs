//! Verdicts of JavaScript, C++, Java, Go and Rust samples cannot be forged (issue 16). Before
//! the judge existed, a program's own output carried its counts and end marker and the test was
//! compiled into the sample's program, so each cheat below passed; now the test runs in a judge
//! process the sample never touches. Every cheat here uses a *wrong* `add` (so the honest
//! verdict is a failure) and must not pass; honest right and wrong controls keep their
//! verdicts; probes of the judge's process and files use a *right* `add` that turns wrong when
//! the probe reaches something, so they pass only when the judge is out of reach.

use crate::common;

use common::as_user;
use rrtf_exec::{ExecResult, Job, Language, Outcome};

use Outcome::*;

struct Case {
    what: &'static str,
    code: String,
    want: &'static [Outcome],
    /// (passed, total) when they matter.
    counts: Option<(u32, u32)>,
}

fn case(
    what: &'static str,
    code: &str,
    want: &'static [Outcome],
    counts: Option<(u32, u32)>,
) -> Case {
    Case {
        what,
        code: code.to_string(),
        want,
        counts,
    }
}

/// Run `cases` against `test` and check every verdict; the judge's processes (uid + 1_000_000)
/// are gone afterwards too. Without `language`'s toolchain: nothing, a skip ([`common::needs`]).
fn run(uid: u32, language: Language, test: &str, cases: &[Case]) -> Vec<ExecResult> {
    run_answering(uid, language, test, None, cases)
}

/// [`run`], the cases answering `prompt` (trusted: the judge may run its helpers).
fn run_answering(
    uid: u32,
    language: Language,
    test: &str,
    prompt: Option<&str>,
    cases: &[Case],
) -> Vec<ExecResult> {
    if !common::needs(language) {
        return Vec::new();
    }
    let exec = common::executor(uid, 1, 10_000);
    exec.check_toolchains(&[language].into_iter().collect())
        .expect("toolchain (see crates/rrtf-exec/README.md)");
    let jobs = cases
        .iter()
        .enumerate()
        .map(|(i, c)| Job {
            key: i as u64,
            language,
            code: Some(c.code.clone()),
            test: test.to_string(),
            entry_point: None,
            prompt: prompt.map(str::to_owned),
        })
        .collect();
    let results = exec.run_all(jobs);
    assert_eq!(results.len(), cases.len());
    for (c, r) in cases.iter().zip(&results) {
        assert!(
            c.want.contains(&r.outcome),
            "{language:?} {}: want {:?}, got {r:?}",
            c.what,
            c.want
        );
        if let Some(k) = c.counts {
            assert_eq!(
                (r.tests_passed, r.tests_total),
                k,
                "{language:?} {}: {r:?}",
                c.what
            );
        }
    }
    drop(exec);
    common::assert_no_leftovers(uid..uid + 1);
    common::assert_no_leftovers(uid + 1_000_000..uid + 1_000_001);
    results
}

const FAIL: &[Outcome] = &[TestFailure];

const CPP_TEST: &str = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(1,2) == 3);\n    assert (add(2,2) == 4);\n    assert (add(0,5) == 5);\n}\n";
const CPP_HEAD: &str = "#include<stdio.h>\n#include<stdlib.h>\n#include<unistd.h>\n#include<string.h>\n#include<fcntl.h>\n#include<signal.h>\n#include<dirent.h>\n#include<vector>\nusing namespace std;\n";

/// A C++ probe: `add` is right only while `reached()` (the probe) found nothing.
fn cpp_probe(probe: &str) -> String {
    format!(
        "{CPP_HEAD}static bool reached() {{\n{probe}\n}}\nint add(int a, int b) {{ static bool r = reached(); return r ? a - b : a + b; }}\n"
    )
}

/// Walks /proc and calls `act(pid, fd_path)` on every descriptor of every other process.
const CPP_EACH_FD: &str = "    bool hit = false;\n    DIR* d = opendir(\"/proc\");\n    struct dirent* e;\n    while (d && (e = readdir(d))) {\n        int pid = atoi(e->d_name);\n        if (pid <= 0 || pid == getpid()) continue;\n        for (int fd = 0; fd < 16; fd++) {\n            char p[64];\n            snprintf(p, sizeof p, \"/proc/%d/fd/%d\", pid, fd);\n            int w = open(p, O_WRONLY | O_NONBLOCK);\n            if (w >= 0) { dprintf(w, \"x S 0 0 1 0 \\nx S 1 0 1 0 \\nx S 2 0 1 0 \\nx D 3\\n\"); hit = true; close(w); }\n        }\n        char m[64];\n        snprintf(m, sizeof m, \"/proc/%d/mem\", pid);\n        int fd = open(m, O_RDWR);\n        if (fd >= 0) { hit = true; close(fd); }\n    }\n    return hit;";

#[test]
fn cpp_cheats_do_not_pass() {
    let wrong = "int add(int a, int b) { return a * 10; }";
    let with = |extra: &str| format!("{CPP_HEAD}{wrong}\n{extra}");
    let cases = [
        case(
            "honest right",
            &format!("{CPP_HEAD}int add(int a, int b) {{ return a + b; }}"),
            &[Pass],
            Some((3, 3)),
        ),
        case("honest wrong", &with(""), FAIL, Some((0, 3))),
        // Macros after the code used to reach the test's asserts.
        case(
            "static_cast macro",
            &with("#define static_cast true||static_cast\n"),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "assert redefined",
            &with("#undef assert\n#define assert(x) ((void)0)\n"),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "main renamed away",
            &with("#define main main2\n"),
            FAIL,
            Some((0, 3)),
        ),
        // A static initializer reading the run's secret (it came on stdin), printing the
        // counts and end marker with it, and leaving before the tests.
        case(
            "static initializer prints the marker and exits",
            &with(
                "struct E { E() { char n[64] = \"\"; if (fgets(n, sizeof n, stdin)) n[strcspn(n, \"\\n\")] = 0; printf(\"\\nRRTF-COUNT-%s 3 0 \\nRRTF-DONE-%s\\n\", n, n); fflush(stdout); _exit(0); } } e;\n",
            ),
            &[RuntimeError],
            Some((0, 3)),
        ),
        // The old counting assert's state and report, printed by the sample.
        case(
            "fake counts on stdout",
            &with(
                "struct P { P() { for (int i = 0; i < 50; i++) printf(\"\\nRRTF-COUNT-%d 3 0 \\n\", i); } } p;\n",
            ),
            FAIL,
            Some((0, 3)),
        ),
        // An always-true `==` for the test's types: the judge's comparisons are its own.
        case(
            "operator== overloaded",
            &format!(
                "{CPP_HEAD}struct I {{ int v; operator int() const {{ return v; }} }};\nbool operator==(const vector<int>&, const vector<int>&) {{ return true; }}\n{wrong}"
            ),
            FAIL,
            Some((0, 3)),
        ),
        // Forged report lines written to every descriptor the sample can open.
        case(
            "writes to every descriptor",
            &with(&format!(
                "static bool spray() {{\n{CPP_EACH_FD}\n}}\nstatic bool sprayed = spray();\n"
            )),
            FAIL,
            Some((0, 3)),
        ),
        // Answers written ahead on the reply pipe are the sample's answers: 3 three times.
        case(
            "answers written ahead on the reply pipe",
            &with(
                "struct W { W() { for (int i = 0; i < 3; i++) dprintf(4, \"4\\nRi3;\"); } } w;\n",
            ),
            &[Partial],
            Some((1, 3)),
        ),
        // Exits and signals during a call: the sample's failure, never a pass.
        case(
            "exit(0) in the call",
            &format!("{CPP_HEAD}int add(int a, int b) {{ exit(0); }}"),
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "abort in the call",
            &format!("{CPP_HEAD}int add(int a, int b) {{ abort(); }}"),
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "a child keeps the reply pipe open",
            &format!(
                "{CPP_HEAD}int add(int a, int b) {{ if (fork() == 0) {{ sleep(100); }} _exit(0); }}"
            ),
            &[Timeout],
            None,
        ),
        case(
            "endless output",
            &format!(
                "{CPP_HEAD}int add(int a, int b) {{ for (;;) fputs(\"RRTF-DONE-x 3 0\\n\", stdout); }}"
            ),
            &[OutputLimit],
            None,
        ),
        // Probes with a right `add`: they pass only when nothing outside the sample was
        // reached (other processes' descriptors and memory, the judge's files, signals).
        case(
            "probe: other processes' fds and mem",
            &cpp_probe(CPP_EACH_FD),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: the judge's files",
            &cpp_probe(
                "    const char* ps[] = {\"/tmp/judge/judge.cpp\", \"/tmp/judge/judge\", \"/tmp/judge\", \"/tmp/judge.out\", \"/tmp/out\"};\n    for (const char* p : ps) { int fd = open(p, O_RDONLY); if (fd >= 0) return true; }\n    return false;",
            ),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: the judge's source at compile time (__has_include)",
            &format!(
                "{CPP_HEAD}#if __has_include(\"/tmp/judge/judge.cpp\") || __has_include(\"/tmp/judge.out\")\nint add(int a, int b) {{ return a - b; }}\n#else\nint add(int a, int b) {{ return a + b; }}\n#endif\n"
            ),
            // g++ stops at a file it may not open ("Permission denied"): a compile error,
            // where a readable judge source would have made `add` wrong (a test failure).
            &[CompileError],
            None,
        ),
        case(
            "probe: kill everything",
            &cpp_probe(
                "    kill(-1, SIGKILL);\n    DIR* d = opendir(\"/proc\");\n    struct dirent* e;\n    bool hit = false;\n    while (d && (e = readdir(d))) { int pid = atoi(e->d_name); if (pid > 0 && pid != getpid() && kill(pid, SIGKILL) == 0) hit = true; }\n    return hit;",
            ),
            &[Pass],
            Some((3, 3)),
        ),
    ];
    let judges = common::test_cache_dir().join("v1").join("cpp");
    let cache_probe = cpp_probe(&format!(
        "    DIR* d = opendir(\"{}\");\n    struct dirent* e;\n    while (d && (e = readdir(d))) {{\n        char p[4096];\n        snprintf(p, sizeof p, \"{}/%s/judge\", e->d_name);\n        if (e->d_name[0] != '.' && opendir(p)) return true;\n    }}\n    return false;",
        judges.display(),
        judges.display()
    ));
    let mut cases = Vec::from(cases);
    cases.push(case(
        "probe: the judges' builds in the compile cache",
        &cache_probe,
        &[Pass],
        Some((3, 3)),
    ));
    run(65101, Language::Cpp, CPP_TEST, &cases);
    // The probe looked where the judges' builds are (not a vacuous probe).
    let stored = std::fs::read_dir(&judges)
        .unwrap()
        .flatten()
        .any(|tc| tc.path().join("judge").is_dir());
    assert!(stored, "no judge build under {}", judges.display());
    // The judge's comparisons of containers are its own: an always-true `==` of the sample
    // cannot reach them.
    let vec_test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (f(3) == vector<int>({1, 2, 3}));\n}\n";
    let vec_cases = [case(
        "operator== on vectors",
        &format!(
            "{CPP_HEAD}bool operator==(const vector<int>&, const vector<int>&) {{ return true; }}\nvector<int> f(int n) {{ return {{}}; }}"
        ),
        FAIL,
        Some((0, 1)),
    )];
    run(65102, Language::Cpp, vec_test, &vec_cases);
}

const JS_TEST: &str = "const testAdd = () => {\n  console.assert(add(1, 2) === 3)\n  console.assert(add(2, 2) === 4)\n  console.assert(add(0, 5) === 5)\n}\ntestAdd()\n";

#[test]
fn javascript_cheats_do_not_pass() {
    let wrong = "const add = (a, b) => a * 10;\n";
    let with = |extra: &str| format!("{wrong}{extra}");
    let cases = [
        case(
            "honest right",
            "const add = (a, b) => a + b;",
            &[Pass],
            Some((3, 3)),
        ),
        case("honest wrong", wrong, FAIL, Some((0, 3))),
        case(
            "process.stdout.write wrapped",
            &with(
                "const w = process.stdout.write.bind(process.stdout);\nprocess.stdout.write = (s) => w(String(s).replace(/ 0 3 /, ' 3 0 '));\n",
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "marker read from __filename",
            &with(
                "const src = require('fs').readFileSync(__filename, 'utf8');\nconst m = src.match(/RRTF-DONE-[0-9a-f]+/);\nif (m) { process.stdout.write('\\nRRTF-COUNT-' + m[0].slice(10) + ' 3 0 \\n' + m[0] + '\\n'); process.exit(0); }\n",
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "console.assert replaced",
            &with(
                "console.assert = () => {};\nObject.defineProperty(console, 'assert', { value: () => {} });\n",
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "builtins tampered",
            &with(
                "JSON.stringify = () => '\"ok\"';\nObject.prototype.valueOf = function () { return 3; };\nNumber.prototype.valueOf = function () { return 3; };\n",
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "fake counts printed",
            &with("for (let i = 0; i < 20; i++) console.log('RRTF-COUNT-' + i + ' 3 0 ');\n"),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "process.exit(0) in the call",
            "const add = () => process.exit(0);",
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "an object that says it is 3",
            "const add = (a, b) => ({ valueOf: () => a + b, toString: () => String(a + b) });",
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "a getter that lies",
            "const add = (a, b) => { const o = {}; Object.defineProperty(o, 'v', { get: () => a + b, enumerable: true }); return o; };",
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "probe: the judge's files",
            "const fs = require('fs');\nlet seen = false;\nfor (const p of ['/tmp/judge/judge.js', '/tmp/judge', '/tmp/judge.out', '/tmp/out']) { try { fs.readFileSync(p); seen = true; } catch (e) { if (e.code === 'EISDIR') seen = true; } }\nconst add = (a, b) => seen ? a - b : a + b;",
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: kill the parent and everyone",
            "let hit = false;\nfor (const p of require('fs').readdirSync('/proc')) { const pid = Number(p); if (pid > 0 && pid !== process.pid) { try { process.kill(pid, 'SIGKILL'); hit = true; } catch (e) {} } }\nconst add = (a, b) => hit ? a - b : a + b;",
            &[Pass],
            Some((3, 3)),
        ),
    ];
    run(65103, Language::JavaScript, JS_TEST, &cases);
    // `JSON.stringify` in the test is the judge's own.
    let json_test = "const t = () => {\n  console.assert(JSON.stringify(f(3)) === JSON.stringify([1, 2, 3]))\n}\nt()\n";
    let json_cases = [
        case(
            "JSON.stringify replaced",
            "JSON.stringify = () => '[1,2,3]';\nconst f = (n) => [];",
            FAIL,
            Some((0, 1)),
        ),
        // A function among the result's own keys is refused: the judge would not see it.
        case(
            "toJSON on the result",
            "const f = (n) => { const a = []; Object.defineProperty(a, 'toJSON', { value: () => [1, 2, 3] }); return a; };",
            &[RuntimeError],
            Some((0, 1)),
        ),
        case(
            "a Map is no plain value",
            "const f = (n) => new Map([[0, 1]]);",
            &[RuntimeError],
            Some((0, 1)),
        ),
    ];
    run(65104, Language::JavaScript, json_test, &json_cases);
}

/// A JavaScript value the test would read otherwise than as the data the judge gets (review
/// round 11, each a pass before): a getter right at its first read only (the encoder read it
/// once), at an array index too, a Proxy (`isArray` and `getPrototypeOf` see its target), and
/// an object with a null prototype, which crossed as `{}` (node's `deepStrictEqual` and
/// `String(o)` tell them apart): it now crosses as what it is.
#[test]
fn javascript_values_read_differently_by_the_test_do_not_pass() {
    let test = "const assert = require('node:assert');\nfunction test() {\n  const r = f(1);\n  assert.deepEqual(r.n, 1);\n  assert.deepEqual(r.n, 1);\n}\ntest();\n";
    let cases = [
        case(
            "honest right",
            "function f(x) { return { n: x }; }",
            &[Pass],
            Some((2, 2)),
        ),
        case(
            "a getter right at its first read",
            "function f(x) { let k = 0; return { get n() { return ++k; } }; }",
            &[RuntimeError],
            Some((0, 2)),
        ),
        case(
            "a Proxy",
            "function f(x) { let k = 0; return new Proxy({ n: 1 }, { get: () => ++k }); }",
            &[RuntimeError],
            Some((0, 2)),
        ),
        case(
            "a non-enumerable key",
            "function f(x) { const o = {}; Object.defineProperty(o, 'n', { value: 1 }); return o; }",
            &[RuntimeError],
            Some((0, 2)),
        ),
    ];
    run(65115, Language::JavaScript, test, &cases);
    let index = "const assert = require('node:assert');\nfunction test() {\n  const r = f(1);\n  assert.deepEqual(r[0], 1);\n  assert.deepEqual(r[0], 1);\n}\ntest();\n";
    let cases = [
        case(
            "honest right",
            "function f(x) { return [x]; }",
            &[Pass],
            Some((2, 2)),
        ),
        case(
            "a getter at an array index",
            "function f(x) { let k = 0; const a = [0]; Object.defineProperty(a, 0, { get: () => ++k, enumerable: true }); return a; }",
            &[RuntimeError],
            Some((0, 2)),
        ),
    ];
    run(65116, Language::JavaScript, index, &cases);
    let proto = "const assert = require('node:assert');\nfunction test() {\n  assert.deepStrictEqual(f(1), {a: 1});\n  assert.deepEqual(String(f(1)), '[object Object]');\n  assert.deepEqual(Object.keys(f(2)), ['a']);\n}\ntest();\n";
    let cases = [
        case(
            "honest right",
            "function f(x) { return { a: x }; }",
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "a null prototype",
            "function f(x) { const o = Object.create(null); o.a = x; return o; }",
            &[Partial],
            Some((1, 3)),
        ),
    ];
    run(65117, Language::JavaScript, proto, &cases);
}

/// A frozen result the test mutates (review round 13, finding 3): `unique(...).reverse()` on
/// `Object.freeze([...])` throws in one program (`Cannot assign to read only property '0'`),
/// while the judge rebuilt a writable array and passed it. A value now crosses with its
/// integrity level, so the test's `reverse` raises in the judge too (the check fails); a
/// frozen result the test only reads passes, and a sealed or non-extensible one, which
/// `reverse` may rearrange, passes as in one program.
#[test]
fn javascript_a_frozen_result_the_test_mutates_does_not_pass() {
    let reversed = "const testUnique = () => {\n  console.assert(\n    JSON.stringify(unique([5, 3, 5, 2, 3, 3, 9, 0, 123]).reverse()) ===\n      JSON.stringify([123, 9, 5, 3, 2, 0])\n  )\n}\n\ntestUnique()\n";
    let read = "const testUnique = () => {\n  console.assert(\n    JSON.stringify(unique([5, 3, 5, 2, 3, 3, 9, 0, 123])) ===\n      JSON.stringify([0, 2, 3, 5, 9, 123])\n  )\n}\n\ntestUnique()\n";
    let level = |how: &str| {
        format!("const unique = (l) => {how}(Array.from(new Set(l)).sort((a, b) => a - b));\n")
    };
    let frozen = level("Object.freeze");
    let cases = [
        case("a fresh array", &level(""), &[Pass], Some((1, 1))),
        case("a frozen array", &frozen, FAIL, Some((0, 1))),
        case(
            "a sealed array",
            &level("Object.seal"),
            &[Pass],
            Some((1, 1)),
        ),
        case(
            "a non-extensible array",
            &level("Object.preventExtensions"),
            &[Pass],
            Some((1, 1)),
        ),
    ];
    run(65250, Language::JavaScript, reversed, &cases);
    let cases = [case(
        "a frozen array the test only reads",
        &frozen,
        &[Pass],
        Some((1, 1)),
    )];
    run(65251, Language::JavaScript, read, &cases);
}

/// Frozen, sealed and non-extensible arrays and plain objects, at any depth and in both
/// directions (the test's arguments too), behave in the judge (and in the candidate) as in one
/// program: the test sees the level (`Object.isFrozen`, ...), a write it may not make is
/// ignored (a sloppy assignment) or throws (`push`, `sort`), and one it may make is made.
#[test]
fn javascript_values_keep_their_integrity_level() {
    let objects = "const t = () => {\n  const m = (k) => { const r = f(k); r.a = 5; r.b = 6; delete r.c; return JSON.stringify(r); };\n  console.assert(m(0) === '{\"a\":1,\"c\":3}')\n  console.assert(m(1) === '{\"a\":5,\"c\":3}')\n  console.assert(m(2) === '{\"a\":5}')\n  console.assert(Object.isFrozen(f(0)) && Object.isSealed(f(1)) && !Object.isFrozen(f(1)) && !Object.isExtensible(f(2)) && !Object.isSealed(f(2)))\n  console.assert(JSON.stringify(f(3)) === '{\"list\":[1,2]}' && Object.isFrozen(f(3).list) && Object.isExtensible(f(3)))\n  console.assert((() => { try { f(3).list.push(3); return false } catch (e) { return e instanceof TypeError } })())\n}\nt()\n";
    let cases = [
        case(
            "frozen, sealed, non-extensible, nested",
            "function f(k) { if (k === 3) return { list: Object.freeze([1, 2]) }; const o = { a: 1, c: 3 }; return [Object.freeze, Object.seal, Object.preventExtensions][k](o); }",
            &[Pass],
            Some((6, 6)),
        ),
        case(
            "fresh objects",
            "function f(k) { return k === 3 ? { list: [1, 2] } : { a: 1, c: 3 }; }",
            FAIL,
            Some((0, 6)),
        ),
    ];
    run(65252, Language::JavaScript, objects, &cases);
    let arrays = "const t = () => {\n  const tries = (g) => { try { g(); return 'ok' } catch (e) { return e.constructor.name } };\n  const r = f(0);\n  console.assert(tries(() => r.push(3)) === 'TypeError' && tries(() => { r[0] = 5 }) === 'ok' && JSON.stringify(r) === '[5,2]')\n  const s = f(1);\n  console.assert(tries(() => s.push(3)) === 'TypeError' && tries(() => s.pop()) === 'ok' && JSON.stringify(s) === '[1]')\n  const z = f(2);\n  console.assert(tries(() => z.pop()) === 'TypeError' && tries(() => { z[0] = 5 }) === 'ok' && JSON.stringify(z) === '[1,2]')\n}\nt()\n";
    let cases = [
        case(
            "sealed, non-extensible, frozen",
            "function f(k) { return [Object.seal, Object.preventExtensions, Object.freeze][k]([1, 2]); }",
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "fresh arrays",
            "function f(k) { return [1, 2]; }",
            FAIL,
            Some((0, 3)),
        ),
    ];
    run(65253, Language::JavaScript, arrays, &cases);
    // The test's frozen argument: sorting it in place throws in the sample (in one program the
    // exception ends the test).
    let args = "const t = () => {\n  console.assert(JSON.stringify(sortIt(Object.freeze([3, 1, 2]))) === '[1,2,3]')\n}\nt()\n";
    let cases = [
        case(
            "sorts a copy",
            "const sortIt = (l) => [...l].sort((a, b) => a - b);",
            &[Pass],
            Some((1, 1)),
        ),
        case(
            "sorts the frozen argument in place",
            "const sortIt = (l) => l.sort((a, b) => a - b);",
            &[RuntimeError],
            Some((0, 1)),
        ),
    ];
    run(65254, Language::JavaScript, args, &cases);
}

/// A key whose attributes differ from what its value's integrity level gives every key (a
/// read-only key of an object that is not frozen, a key that cannot be deleted of one that is
/// not sealed, a hidden or read-only array index, a read-only `length`) would behave otherwise
/// in the rebuilt value: such a value is refused (a runtime error of the sample), as a getter
/// is. In one program each fails the test.
#[test]
fn javascript_keys_the_wire_cannot_carry_are_refused() {
    let objects = "const t = () => {\n  const r = f(1);\n  r.a = 2; delete r.b; r.c = 3;\n  console.assert(JSON.stringify(r) === '{\"a\":2,\"c\":3}')\n}\nt()\n";
    let cases = [
        case(
            "honest right",
            "function f(x) { return { a: x, b: x }; }",
            &[Pass],
            Some((1, 1)),
        ),
        case(
            "a read-only key",
            "function f(x) { const o = { a: x, b: x }; Object.defineProperty(o, 'a', { writable: false }); return o; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
        case(
            "a key that cannot be deleted",
            "function f(x) { const o = { a: x, b: x }; Object.defineProperty(o, 'b', { configurable: false }); return o; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
        case(
            "a sealed object with a read-only key",
            "function f(x) { const o = Object.seal({ a: x, b: x }); Object.defineProperty(o, 'a', { writable: false }); return o; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
    ];
    run(65255, Language::JavaScript, objects, &cases);
    let arrays = "const t = () => {\n  const r = f(1);\n  r[0] = 2;\n  try { r.push(3) } catch (e) {}\n  const before = JSON.stringify(r) + Object.keys(r).join();\n  delete r[0];\n  console.assert(before === '[2,3]0,1' && JSON.stringify(r) === '[null,3]' && Object.keys(r).join() === '1')\n}\nt()\n";
    let cases = [
        case(
            "honest right",
            "function f(x) { return [x]; }",
            &[Pass],
            Some((1, 1)),
        ),
        case(
            "a read-only index",
            "function f(x) { const a = [x]; Object.defineProperty(a, 0, { writable: false }); return a; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
        case(
            "a hidden index",
            "function f(x) { const a = [x]; Object.defineProperty(a, 0, { enumerable: false }); return a; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
        case(
            "a read-only length",
            "function f(x) { const a = [x]; Object.defineProperty(a, 'length', { writable: false }); return a; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
        case(
            "an index that cannot be deleted",
            "function f(x) { const a = [x]; Object.defineProperty(a, 0, { configurable: false }); return a; }",
            &[RuntimeError],
            Some((0, 1)),
        ),
    ];
    run(65256, Language::JavaScript, arrays, &cases);
}

/// What else the test can read of a plain value crosses as it is: one array or object reached
/// twice (`Array(2).fill([])`, an argument `[x, x]`) is one value in the rebuilt one too, and
/// an array's key `'4294967295'` (a name, not an index: it was dropped). `-0`, holes and the
/// order of integer-like keys already crossed; a cyclic value is still refused.
#[test]
fn javascript_shared_values_and_every_key_cross_as_they_are() {
    let test = "const t = () => {\n  const r = f(0);\n  r[0].push(1);\n  console.assert(r[1].length === 1 && r[0] === r[1])\n  console.assert(f(1)['4294967295'] === 'x' && Object.keys(f(1)).join() === '0,4294967295')\n  console.assert(Object.is(f(2), -0))\n  console.assert(Object.keys(f(3)).join() === '1,2,b,a' && !(1 in f(4)) && f(4).length === 3)\n  const x = [];\n  console.assert(f([x, x]) === 1)\n}\nt()\n";
    let cases = [case(
        "shared, a named key, -0, key order, a hole",
        "function f(k) {\n  if (Array.isArray(k)) { k[0].push(1); return k[1].length; }\n  if (k === 0) return Array(2).fill([]);\n  if (k === 1) { const a = [1]; a['4294967295'] = 'x'; return a; }\n  if (k === 2) return -0;\n  if (k === 3) return { b: 1, 2: 1, a: 1, 1: 1 };\n  return [0, , 2];\n}",
        &[Pass],
        Some((5, 5)),
    )];
    run(65257, Language::JavaScript, test, &cases);
    let cyclic = "const t = () => {\n  console.assert(Array.isArray(g()))\n}\nt()\n";
    let cases = [case(
        "a cyclic array",
        "function g() { const a = []; a.push(a); return a; }",
        &[RuntimeError],
        Some((0, 1)),
    )];
    run(65258, Language::JavaScript, cyclic, &cases);
}

const JAVA_TEST: &str = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                s.add(1, 2) == 3,\n                s.add(2, 2) == 4,\n                s.add(0, 5) == 5\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";

fn java(members: &str, body: &str) -> String {
    format!(
        "import java.util.*;\nimport java.io.*;\nclass Solution {{\n{members}\n    public int add(int a, int b) {{ {body} }}\n}}\n"
    )
}

#[test]
fn java_cheats_do_not_pass() {
    let cases = [
        case(
            "honest right",
            &java("", "return a + b;"),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "honest wrong",
            &java("", "return a * 10;"),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "System.setOut filter",
            &java(
                "    static { PrintStream o = System.out; System.setOut(new PrintStream(new FilterOutputStream(o) { public void write(byte[] b, int off, int len) throws IOException { o.write(new String(b, off, len).replace(\" 0 3 \", \" 3 0 \").getBytes()); } })); }",
                "return a * 10;",
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "static block prints the marker and exits",
            &java(
                "    static { try { String n = new BufferedReader(new InputStreamReader(System.in)).readLine(); System.out.println(\"\\nRRTF-COUNT-\" + n + \" 3 0 \\nRRTF-DONE-\" + n); } catch (IOException e) {} System.exit(0); }",
                "return a * 10;",
            ),
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "System.exit(0) in the call",
            &java("", "System.exit(0); return 0;"),
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "fake counts printed",
            &java(
                "",
                "for (int i = 0; i < 20; i++) System.out.println(\"RRTF-COUNT-\" + i + \" 3 0 \"); return a * 10;",
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "probe: the judge's files",
            &java(
                "    static boolean seen() { for (String p : new String[] {\"/tmp/judge/Main.java\", \"/tmp/judge/Main.class\", \"/tmp/judge.out\"}) { try { new FileInputStream(p).close(); return true; } catch (IOException e) {} } return false; }",
                "return seen() ? a - b : a + b;",
            ),
            &[Pass],
            Some((3, 3)),
        ),
    ];
    run(65105, Language::Java, JAVA_TEST, &cases);
    // An overridden equals() on a returned collection: a collection of a class of the sample's
    // is no plain value (attacker's review 13: the judge read it with the methods it chose),
    // so the sample's runtime error, never a pass.
    let list_test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (!s.f(3).equals(Arrays.asList(1, 2, 3))) {\n            throw new AssertionError();\n        }\n        if (!Objects.equals(s.f(2), Arrays.asList(1, 2))) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    let list_cases = [
        case(
            "equals() always true",
            "import java.util.*;\nclass Solution {\n    public List<Integer> f(int n) {\n        return new ArrayList<Integer>() {\n            public boolean equals(Object o) { return true; }\n            public int hashCode() { return 0; }\n        };\n    }\n}\n",
            &[RuntimeError],
            Some((0, 2)),
        ),
        case(
            "a list of its own class",
            "import java.util.*;\nclass Solution {\n    static class Evil extends AbstractList<Integer> { public Integer get(int i) { return i + 1; } public int size() { return 3; } public boolean equals(Object o) { return true; } }\n    public List<Integer> f(int n) { return new Evil(); }\n}\n",
            &[RuntimeError],
            Some((0, 2)),
        ),
    ];
    run(65106, Language::Java, list_test, &list_cases);
}

const GO_TEST: &str = "func TestAdd(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(3, Add(1, 2))\n    assert.Equal(4, Add(2, 2))\n    assert.Equal(5, Add(0, 5))\n}\n";

#[test]
fn go_cheats_do_not_pass() {
    let wrong = "func Add(a, b int) int { return a * 10 }\n";
    let cases = [
        case(
            "honest right",
            "func Add(a, b int) int { return a + b }\n",
            &[Pass],
            Some((3, 3)),
        ),
        case("honest wrong", wrong, FAIL, Some((0, 3))),
        // The old harness's counters were package variables the sample could set; the
        // runtime's state in the candidate is the candidate's only.
        case(
            "runtime state tampered",
            &format!(
                "{wrong}func init() {{ rrtfCalls = 1 << 30; rrtfNonce = \"x\"; rrtfSites = make([][4]bool, 3); rrtfAnyFailed = false }}\n"
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "marker printed and os.Exit(0) in init",
            &format!(
                "import (\n    \"bufio\"\n    \"fmt\"\n    \"os\"\n    \"strings\"\n)\n\n{wrong}func init() {{ l, _ := bufio.NewReader(os.Stdin).ReadString('\\n'); n := strings.TrimSpace(l); fmt.Printf(\"PASS\\nRRTF-COUNT-%s 3 0 \\nRRTF-DONE-%s\\n\", n, n); os.Exit(0) }}\n"
            ),
            &[RuntimeError],
            Some((0, 3)),
        ),
        // The old harness's own counters, reset by a goroutine: no such names exist now.
        case(
            "old counters reset by a goroutine",
            &format!(
                "{wrong}func init() {{ go func() {{ for {{ rrtfPassed, rrtfFailed = 3, 0 }} }}() }}\n"
            ),
            &[CompileError],
            None,
        ),
        case(
            "reflect and unsafe on its own memory",
            &format!(
                "import (\n    \"reflect\"\n    \"unsafe\"\n)\n\n{wrong}func init() {{ x := 3; p := unsafe.Pointer(&x); *(*int)(p) = 5; _ = reflect.ValueOf(&x).Elem() }}\n"
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "panic in the call",
            "func Add(a, b int) int { panic(\"no\") }\n",
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "probe: the judge's files",
            "import \"os\"\n\nfunc Add(a, b int) int {\n    for _, p := range []string{\"/tmp/judge/main_test.go\", \"/tmp/judge/judge\", \"/tmp/judge.out\"} {\n        if f, err := os.Open(p); err == nil { f.Close(); return a - b }\n    }\n    return a + b\n}\n",
            &[Pass],
            Some((3, 3)),
        ),
    ];
    run(65107, Language::Go, GO_TEST, &cases);
}

const RUST_TEST: &str = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn test_add() {\n        assert_eq!(add(1, 2), 3);\n        assert_eq!(add(2, 2), 4);\n        assert!(add(0, 5) == 5);\n    }\n}\n";

#[test]
fn rust_cheats_do_not_pass() {
    let wrong = "fn add(a: i32, b: i32) -> i32 { a * 10 }\n";
    let cases = [
        case(
            "honest right",
            "fn add(a: i32, b: i32) -> i32 { a + b }\n",
            &[Pass],
            Some((3, 3)),
        ),
        case("honest wrong", wrong, FAIL, Some((0, 3))),
        // libtest's summary printed by the sample, then an exit: there was no nonce at all.
        case(
            "libtest summary printed, then exit(0)",
            "fn add(a: i32, b: i32) -> i32 { println!(\"test result: ok. 3 passed; 0 failed; 0 ignored\"); std::process::exit(0) }\n",
            &[RuntimeError],
            Some((0, 3)),
        ),
        // Extra #[test] functions used to inflate the count.
        case(
            "extra #[test] functions",
            &format!(
                "{wrong}#[cfg(test)]\nmod extra {{\n    #[test] fn a() {{}}\n    #[test] fn b() {{}}\n    #[test] fn c() {{}}\n}}\n"
            ),
            FAIL,
            Some((0, 3)),
        ),
        case(
            "unsafe writes to its own memory",
            "static mut N: i32 = 0;\nfn add(a: i32, b: i32) -> i32 { unsafe { N += 1; let p = &mut N as *mut i32; *p = 7; } a * 10 }\n",
            FAIL,
            Some((0, 3)),
        ),
        case(
            "panic in the call",
            "fn add(a: i32, b: i32) -> i32 { panic!(\"no\") }\n",
            &[RuntimeError],
            Some((0, 3)),
        ),
        case(
            "probe: the judge's files",
            "fn add(a: i32, b: i32) -> i32 {\n    for p in [\"/tmp/judge/judge.rs\", \"/tmp/judge/judge\", \"/tmp/judge.out\"] {\n        if std::fs::File::open(p).is_ok() { return a - b; }\n    }\n    a + b\n}\n",
            &[Pass],
            Some((3, 3)),
        ),
    ];
    run(65108, Language::Rust, RUST_TEST, &cases);
}

/// The judge's stubs are the sample's functions only: a function or class the sample names
/// like something the test gets from the language (a standard function, a builtin, the
/// prelude, a JDK class) never stands for it in the judge, so the sample cannot decide what
/// the test's own helpers return. Each cheat pairs a wrong `add` with such a twin that makes
/// the test's check come out true.
#[test]
fn the_languages_own_names_stay_the_tests() {
    // C++: under `using namespace std`, a non-template `min(int, int)` would beat std::min.
    let cpp_test = "#undef NDEBUG\n#include<assert.h>\n#include<algorithm>\nint main(){\n    assert (min(add(1,2), 100) == 3);\n    assert (min(add(2,2), 100) == 4);\n}\n";
    let cpp = [
        case(
            "honest right",
            "#include<algorithm>\nusing namespace std;\nint add(int a, int b){ return a + b; }",
            &[Pass],
            Some((2, 2)),
        ),
        // Two functions of the sample called: refused before the probe
        // (`a_helper_of_the_sample_s_never_computes_the_expected_value`).
        case(
            "min(int, int) of its own",
            "#include<algorithm>\nusing namespace std;\nint add(int a, int b){ return a * 10; }\nint min(int a, int b){ static int n = 2; return ++n; }",
            &[Crashed],
            None,
        ),
    ];
    run(65109, Language::Cpp, cpp_test, &cpp);
    // The probe: the sample's only function called is one the test could reach as std::min.
    let cpp_test = "#undef NDEBUG\n#include<assert.h>\n#include<algorithm>\nint main(){\n    assert (min(3, 100) == 3);\n}\n";
    let cpp = [case(
        "min(int, int) as the function under test",
        "#include<algorithm>\nusing namespace std;\nint min(int a, int b){ return 3; }",
        &[CompileError],
        None,
    )];
    run(65109, Language::Cpp, cpp_test, &cpp);
    // Go: a package-level `cap` is the test's `cap` in one program (one package): refused
    // (`crashed`; the judge's builtin `cap` would pass a sample whose `cap` breaks the test,
    // an attacker's review, round 15, with `copy`).
    let go_test = "func TestSeq(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(3, cap(Seq(3)))\n    assert.Equal(1, cap(Seq(1)))\n}\n";
    let go = [
        case(
            "honest right",
            "func Seq(n int) []int { return make([]int, n) }\n",
            &[Pass],
            Some((2, 2)),
        ),
        case(
            "func cap of its own",
            "var calls = 0\nfunc Seq(n int) []int { return nil }\nfunc cap(s []int) int { calls++; if calls == 1 { return 3 }; return 1 }\n",
            &[Crashed],
            None,
        ),
    ];
    run(65110, Language::Go, go_test, &go);
    // Rust: a crate-root `fn Some` or a renaming `use` would shadow the prelude's `Some` for
    // the test's `use super::*`.
    let rust_test = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn test_find() {\n        assert_eq!(find(1), Some(3));\n        assert_eq!(find(2), Some(4));\n    }\n}\n";
    let rust = [
        case(
            "honest right",
            "fn find(x: i32) -> Option<i32> { Some(x + 2) }\n",
            &[Pass],
            Some((2, 2)),
        ),
        case(
            "fn Some of its own",
            "#[allow(non_snake_case)]\nfn Some(x: i32) -> Option<i32> { None }\nfn find(x: i32) -> Option<i32> { None }\n",
            FAIL,
            Some((0, 2)),
        ),
        case(
            "use ... as Some",
            "use std::convert::identity as Some;\nfn find(x: i32) -> i32 { x + 2 }\n",
            &[CompileError],
            None,
        ),
    ];
    run(65111, Language::Rust, rust_test, &rust);
    // Java: a class in the default package shadows java.lang's and the on-demand imports' in
    // one program: refused where the test uses the name (`crashed`).
    let java_test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (!(Math.abs(s.add(1, 2)) == 3)) { throw new AssertionError(); }\n        if (!(Arrays.asList(s.add(2, 2)).equals(Arrays.asList(4)))) { throw new AssertionError(); }\n    }\n}\n";
    let java = [
        case(
            "honest right",
            "import java.util.*;\nclass Solution {\n    public int add(int a, int b) { return a + b; }\n}\n",
            &[Pass],
            Some((2, 2)),
        ),
        case(
            "classes Math and Arrays of its own",
            "import java.util.*;\nclass Solution {\n    public int add(int a, int b) { return a * 10; }\n}\nclass Math {\n    public static int abs(int x) { return 3; }\n}\nclass Arrays {\n    public static List<Integer> asList(int x) { return new ArrayList<>(); }\n}\n",
            &[Crashed],
            None,
        ),
    ];
    run(65112, Language::Java, java_test, &java);
    // JavaScript: node's globals are never stubs (the judge stubs only names it lacks).
    let js_test = "const t = () => {\n  console.assert(Math.abs(add(1, 2)) === 3)\n  console.assert(Math.abs(add(2, 2)) === 4)\n}\nt()\n";
    let js = [
        case(
            "honest right",
            "const add = (a, b) => a + b;",
            &[Pass],
            Some((2, 2)),
        ),
        case(
            "Math of its own",
            "var Math = { abs: (x) => 3 };\nconst add = (a, b) => a * 10;",
            FAIL,
            Some((0, 2)),
        ),
    ];
    run(65113, Language::JavaScript, js_test, &js);
}

/// Without root (a user namespace mapping one uid), the judge shares the candidate's uid:
/// Landlock is then the only wall. The probes (a right `add` that turns wrong when it reaches
/// something) must find nothing: other processes' descriptors, memory, environment, working
/// and root directories, the judge's files, signals.
#[test]
fn the_judge_is_out_of_reach_without_root() {
    if !common::needs(Language::Cpp) {
        return;
    }
    if as_user(
        65114,
        concat!(module_path!(), "::the_judge_is_out_of_reach_without_root"),
    ) {
        return;
    }
    let exec = common::executor_with_cache(61000, 1, 20_000, None);
    if exec.protections().mode() != rrtf_exec::sandbox::Mode::UserNamespace {
        eprintln!(
            "skipped: no user namespace here ({:?})",
            exec.protections().mode()
        );
        return;
    }
    let proc_entries = "    bool hit = false;\n    DIR* d = opendir(\"/proc\");\n    struct dirent* e;\n    while (d && (e = readdir(d))) {\n        int pid = atoi(e->d_name);\n        if (pid <= 0 || pid == getpid()) continue;\n        const char* ends[] = {\"environ\", \"cwd/.\", \"root/tmp/judge/.\", \"root/tmp/judge.out\"};\n        for (const char* s : ends) {\n            char p[96];\n            snprintf(p, sizeof p, \"/proc/%d/%s\", pid, s);\n            int fd = open(p, O_RDONLY);\n            if (fd >= 0) { char b[1]; if (strchr(s, '.') || read(fd, b, 1) > 0) hit = true; close(fd); }\n        }\n    }\n    return hit;";
    let cases = [
        case(
            "honest right",
            &format!("{CPP_HEAD}int add(int a, int b) {{ return a + b; }}"),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: other processes' fds and mem",
            &cpp_probe(CPP_EACH_FD),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: other processes' environ, cwd, root",
            &cpp_probe(proc_entries),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: the judge's files",
            &cpp_probe(
                "    const char* ps[] = {\"/tmp/judge/judge.cpp\", \"/tmp/judge/judge\", \"/tmp/judge\", \"/tmp/judge.out\"};\n    for (const char* p : ps) { int fd = open(p, O_RDONLY); if (fd >= 0) return true; }\n    return false;",
            ),
            &[Pass],
            Some((3, 3)),
        ),
        case(
            "probe: the judge's source at compile time (__has_include)",
            &format!(
                "{CPP_HEAD}#if __has_include(\"/tmp/judge/judge.cpp\") || __has_include(\"/tmp/judge.out\")\nint add(int a, int b) {{ return a - b; }}\n#else\nint add(int a, int b) {{ return a + b; }}\n#endif\n"
            ),
            // g++ stops at a file it may not open ("Permission denied"): a compile error,
            // where a readable judge source would have made `add` wrong (a test failure).
            &[CompileError],
            None,
        ),
        case(
            "probe: kill everything",
            &cpp_probe(
                "    DIR* d = opendir(\"/proc\");\n    struct dirent* e;\n    bool hit = false;\n    while (d && (e = readdir(d))) { int pid = atoi(e->d_name); if (pid > 0 && pid != getpid() && kill(pid, SIGKILL) == 0) hit = true; }\n    return hit;",
            ),
            &[Pass],
            Some((3, 3)),
        ),
    ];
    let jobs = cases
        .iter()
        .enumerate()
        .map(|(i, c)| Job {
            key: i as u64,
            language: Language::Cpp,
            code: Some(c.code.clone()),
            test: CPP_TEST.to_string(),
            entry_point: None,
            prompt: None,
        })
        .collect();
    let results = exec.run_all(jobs);
    for (c, r) in cases.iter().zip(&results) {
        assert!(c.want.contains(&r.outcome), "{}: {r:?}", c.what);
        if let Some(k) = c.counts {
            assert_eq!((r.tests_passed, r.tests_total), k, "{}: {r:?}", c.what);
        }
        if c.want == [CompileError] {
            assert!(r.detail.contains("Permission denied"), "{}: {r:?}", c.what);
        }
    }
}

/// A test that calls a helper besides the function under test (HumanEval-X /38: `encode_cyclic`
/// builds the input that `decode_cyclic` must decode) used to have the sample's own helper
/// stubbed in, so identity for both passed; in a completion, a macro (C++) or a patched
/// prototype (JavaScript) after the prompt's helper changed it in the candidate. Without the
/// prompt (whose definition of the helper the judge would run instead,
/// `the_prompt_s_helpers_are_the_judge_s`), no check that reaches a second function of the
/// sample can pass: compiled judges refuse to build, the JavaScript judge fails every such
/// check.
#[test]
fn a_helper_of_the_sample_s_never_computes_the_expected_value() {
    const NOT_PASS: &[Outcome] = &[Crashed, RuntimeError, TestFailure];
    let says = |r: &ExecResult| {
        assert!(
            r.detail.contains("functions of the sample's code") && r.tests_passed == 0,
            "{r:?}"
        )
    };
    let cpp_test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    string str = \"abcdefghij\";\n    string encoded_str = encode_cyclic(str);\n    assert (decode_cyclic(encoded_str) == str);\n}\n";
    let cpp_prompt = "#include<stdio.h>\n#include<string>\nusing namespace std;\nstring encode_cyclic(string s){\n    int l=s.length();\n    string x,output;\n    for (int i=0;i*3<l;i++)\n    {\n        x=s.substr(i*3,3);\n        if (x.length()==3) x=x.substr(1)+x[0];\n        output=output+x;\n    }\n    return output;\n}\nstring decode_cyclic(string s){\n";
    let cases = [
        case(
            "identity for both",
            "#include<string>\nusing namespace std;\nstring encode_cyclic(string s){ return s; }\nstring decode_cyclic(string s){ return s; }\n",
            NOT_PASS,
            None,
        ),
        case(
            "the prompt's helper, then a macro",
            &format!("{cpp_prompt}    return s;\n}}\n#define encode_cyclic(x) (x)\n"),
            NOT_PASS,
            None,
        ),
    ];
    run(65301, Language::Cpp, cpp_test, &cases)
        .iter()
        .for_each(says);

    let js_test = "const t = () => {\n  const str = 'abcdefghij'\n  const encoded_str = encodeCyclic(str)\n  console.assert(decodeCyclic(encoded_str) === str)\n}\nt()\n";
    let js_prompt = "const encodeCyclic = (s) => {\n  var groups = [], groups2 = [];\n  for (let i = 0; i < Math.floor((s.length + 2) / 3); i++) {\n    groups.push(s.slice(3 * i, Math.min((3 * i + 3), s.length)));\n  }\n  for (const group of groups) {\n    if (group.length == 3)\n      groups2.push(group.slice(1) + group[0]);\n    else\n      groups2.push(group);\n  }\n  return groups2.join('');\n}\nconst decodeCyclic = (s) => {\n";
    let cases = [
        case(
            "identity for both",
            "const encodeCyclic = (s) => s\nconst decodeCyclic = (s) => s\n",
            NOT_PASS,
            None,
        ),
        case(
            "the prompt's helper, then a patched Array.prototype.join",
            &format!(
                "{js_prompt}  return s;\n}}\nconst __j = Array.prototype.join;\nArray.prototype.join = function (sep) {{ return __j.call(this.map((g) => (typeof g === 'string' && g.length === 3 ? g[2] + g.slice(0, 2) : g)), sep); }};\n"
            ),
            NOT_PASS,
            None,
        ),
    ];
    run(65302, Language::JavaScript, js_test, &cases)
        .iter()
        .for_each(says);
    // A test that catches the helper's error changes nothing.
    let js_catching = "const t = () => {\n  let e\n  try { e = encodeCyclic('abc') } catch (x) { e = 'abc' }\n  console.assert(decodeCyclic(e) === 'abc')\n}\nt()\n";
    run(
        65303,
        Language::JavaScript,
        js_catching,
        &[case(
            "identity for both",
            "const encodeCyclic = (s) => s\nconst decodeCyclic = (s) => s\n",
            NOT_PASS,
            None,
        )],
    )
    .iter()
    .for_each(says);

    let java_test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (s.decode(s.encode(5)) != 5) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    run(
        65304,
        Language::Java,
        java_test,
        &[case(
            "identity for both",
            &java(
                "    public int encode(int x) { return x; }\n    public int decode(int x) { return x; }",
                "return a + b;",
            ),
            NOT_PASS,
            None,
        )],
    )
    .iter()
    .for_each(says);

    let go_test = "func TestDecode(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(5, Decode(Encode(5)))\n}\n";
    run(
        65305,
        Language::Go,
        go_test,
        &[case(
            "identity for both",
            "func Encode(x int) int { return x }\nfunc Decode(x int) int { return x }\n",
            NOT_PASS,
            None,
        )],
    )
    .iter()
    .for_each(says);

    let rust_test = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn test_decode() {\n        assert_eq!(decode(encode(5)), 5);\n    }\n}\n";
    run(
        65306,
        Language::Rust,
        rust_test,
        &[case(
            "identity for both",
            "fn encode(x: i32) -> i32 { x }\nfn decode(x: i32) -> i32 { x }\n",
            NOT_PASS,
            None,
        )],
    )
    .iter()
    .for_each(says);
}

/// HumanEval-X /38's shape in every judged language: the prompt defines `encode_cyclic` whole
/// and opens `decode_cyclic`; the test encodes with the helper and checks the decoding. The
/// judge runs the prompt's helper (trusted text) and only the function under test comes from
/// the sample, so the canonical answer passes with every check counted and a wrong one fails,
/// whatever the sample does to its own copy of the helper (identity, a macro, a patched
/// prototype), and a chat answer that leaves the helper out is judged too.
#[test]
fn the_prompt_s_helpers_are_the_judge_s() {
    struct Lang {
        uid: u32,
        language: Language,
        prompt: &'static str,
        test: &'static str,
        /// The end of the canonical completion and of an identity one.
        right: &'static str,
        wrong: &'static str,
        /// The sample's own helper changed after the prompt's (completion mode).
        tamper: &'static str,
        /// Chat answers: identity for both, and an honest decoder alone.
        chat_cheat: &'static str,
        chat_right: &'static str,
    }
    let langs = [
        Lang {
            uid: 65311,
            language: Language::Cpp,
            prompt: "#include<stdio.h>\n#include<math.h>\n#include<string>\nusing namespace std;\nstring encode_cyclic(string s){ \n    // returns encoded string by cycling groups of three characters. \n    int l=s.length();\n    int num=(l+2)/3;\n    string x,output;\n    int i;\n    for (i=0;i*3<l;i++)\n    {\n        //cycle elements in each group. Unless group has fewer elements than 3. \n        x=s.substr(i*3,3);\n        if (x.length()==3) x=x.substr(1)+x[0];\n        output=output+x;\n    }\n    return output;\n}\n\n\nstring decode_cyclic(string s){ \n    /*\n    takes as input string encoded with encode_cyclic function. Returns decoded string. \n    */\n",
            test: "#undef NDEBUG\n#include<assert.h>\nint main(){\n    const char* inputs[] = {\"abcdefghij\", \"xyz\", \"ab\", \"hello world\"};\n    for (const char* in : inputs)\n    {\n        string str = in;\n        string encoded_str = encode_cyclic(str);\n        assert (decode_cyclic(encoded_str) == str);\n    }\n    assert (decode_cyclic(\"bca\") == \"abc\");\n}\n",
            right: "    return encode_cyclic(encode_cyclic(s));\n}\n",
            wrong: "    return s;\n}\n",
            tamper: "    return s;\n}\n#define encode_cyclic(x) (x)\n",
            chat_cheat: "#include<string>\nusing namespace std;\nstring encode_cyclic(string s){ return s; }\nstring decode_cyclic(string s){ return s; }\n",
            chat_right: "#include<string>\nusing namespace std;\nstring decode_cyclic(string s){\n    string out;\n    for (size_t i = 0; i < s.size(); i += 3) {\n        string g = s.substr(i, 3);\n        if (g.size() == 3) g = g.substr(2) + g.substr(0, 2);\n        out += g;\n    }\n    return out;\n}\n",
        },
        Lang {
            uid: 65312,
            language: Language::JavaScript,
            prompt: "/*\n  returns encoded string by cycling groups of three characters.\n  */\nconst encodeCyclic = (s) => {\n  var groups = [], groups2 = [];\n  for (let i = 0; i < Math.floor((s.length + 2) / 3); i++) {\n    groups.push(s.slice(3 * i, Math.min((3 * i + 3), s.length)));\n  }\n  for (const group of groups) {\n    if (group.length == 3)\n      groups2.push(group.slice(1) + group[0]);\n    else\n      groups2.push(group);\n  }\n  return groups2.join('');\n}\n\n/*\n  takes as input string encoded with encode_cyclic function. Returns decoded string.\n  */\nconst decodeCyclic = (s) => {\n",
            test: "const testDecodeCyclic = () => {\n  for (const str of ['abcdefghij', 'xyz', 'ab', 'hello world']) {\n    let encoded_str = encodeCyclic(str)\n    console.assert(decodeCyclic(encoded_str) === str)\n  }\n  console.assert(decodeCyclic('bca') === 'abc')\n}\ntestDecodeCyclic()\n",
            right: "  return encodeCyclic(encodeCyclic(s));\n}\n",
            wrong: "  return s;\n}\n",
            tamper: "  return s;\n}\nconst __j = Array.prototype.join;\nArray.prototype.join = function (sep) { return __j.call(this.map((g) => (typeof g === 'string' && g.length === 3 ? g[2] + g.slice(0, 2) : g)), sep); };\n",
            chat_cheat: "const encodeCyclic = (s) => s\nconst decodeCyclic = (s) => s\n",
            chat_right: "const decodeCyclic = (s) => {\n  let out = ''\n  for (let i = 0; i < s.length; i += 3) {\n    const g = s.slice(i, i + 3)\n    out += g.length === 3 ? g[2] + g.slice(0, 2) : g\n  }\n  return out\n}\n",
        },
        Lang {
            uid: 65313,
            language: Language::Java,
            prompt: "import java.util.*;\nimport java.lang.*;\n\nclass Solution {\n    /**\n    returns encoded string by cycling groups of three characters.\n     */\n    public String encodeCyclic(String s) {\n        // split string to groups. Each of length 3.\n        List<String> groups = new ArrayList<>();\n        for (int i = 0; i < s.length(); i += 3) {\n            groups.add(s.substring(i, Math.min(i + 3, s.length())));\n        }\n        // cycle elements in each group. Unless group has fewer elements than 3.\n        for (int i = 0; i < groups.size(); i++) {\n            if (groups.get(i).length() == 3) {\n                groups.set(i, groups.get(i).substring(1) + groups.get(i).charAt(0));\n            }\n        }\n        return String.join(\"\", groups);\n    }\n\n    /**\n    takes as input string encoded with encodeCyclic function. Returns decoded string.\n     */\n    public String decodeCyclic(String s) {\n",
            test: "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        for (String str : new String[] {\"abcdefghij\", \"xyz\", \"ab\", \"hello world\"}) {\n            String encoded_str = s.encodeCyclic(str);\n            if (!s.decodeCyclic(encoded_str).equals(str)) {\n                throw new AssertionError();\n            }\n        }\n        if (!s.decodeCyclic(\"bca\").equals(\"abc\")) {\n            throw new AssertionError();\n        }\n    }\n}\n",
            right: "        return encodeCyclic(encodeCyclic(s));\n    }\n}\n",
            wrong: "        return s;\n    }\n}\n",
            tamper: "        return s;\n    }\n    public String encodeCyclic(String s, int unused) { return s; }\n}\n",
            chat_cheat: "class Solution {\n    public String encodeCyclic(String s) { return s; }\n    public String decodeCyclic(String s) { return s; }\n}\n",
            chat_right: "class Solution {\n    public String decodeCyclic(String s) {\n        StringBuilder out = new StringBuilder();\n        for (int i = 0; i < s.length(); i += 3) {\n            String g = s.substring(i, Math.min(i + 3, s.length()));\n            out.append(g.length() == 3 ? g.charAt(2) + g.substring(0, 2) : g);\n        }\n        return out.toString();\n    }\n}\n",
        },
        Lang {
            uid: 65314,
            language: Language::Go,
            prompt: "import (\n    \"math\"\n    \"strings\"\n)\n\n// returns encoded string by cycling groups of three characters.\nfunc EncodeCyclic(s string) string {\n    groups := make([]string, 0)\n    for i := 0; i < ((len(s) + 2) / 3); i++ {\n        groups = append(groups, s[3*i:int(math.Min(float64(3*i+3), float64(len(s))))])\n    }\n    newGroups := make([]string, 0)\n    for _, group := range groups {\n        runes := []rune(group)\n        if len(group) == 3 {\n            newGroups = append(newGroups, string(append(runes[1:], runes[0])))\n        } else {\n            newGroups = append(newGroups, group)\n        }\n    }\n    return strings.Join(newGroups, \"\")\n}\n\n// takes as input string encoded with EncodeCyclic function. Returns decoded string.\nfunc DecodeCyclic(s string) string {\n",
            test: "func TestDecodeCyclic(t *testing.T) {\n    assert := assert.New(t)\n    for _, str := range []string{\"abcdefghij\", \"xyz\", \"ab\", \"hello world\"} {\n        encodedStr := EncodeCyclic(str)\n        assert.Equal(str, DecodeCyclic(encodedStr))\n    }\n    assert.Equal(\"abc\", DecodeCyclic(\"bca\"))\n}\n",
            right: "    return EncodeCyclic(EncodeCyclic(s))\n}\n",
            wrong: "    return s\n}\n",
            tamper: "    return s\n}\n\nfunc init() { _ = EncodeCyclic }\n",
            chat_cheat: "func EncodeCyclic(s string) string { return s }\nfunc DecodeCyclic(s string) string { return s }\n",
            chat_right: "func DecodeCyclic(s string) string {\n    out := \"\"\n    for i := 0; i < len(s); i += 3 {\n        end := i + 3\n        if end > len(s) {\n            end = len(s)\n        }\n        g := s[i:end]\n        if len(g) == 3 {\n            g = g[2:] + g[:2]\n        }\n        out += g\n    }\n    return out\n}\n",
        },
        Lang {
            uid: 65315,
            language: Language::Rust,
            prompt: "\nfn main(){ \n } \n\nuse std::{slice::Iter, cmp::{max, self}, mem::replace, collections::{HashSet, HashMap}, ops::Index, ascii::AsciiExt};\nuse rand::Rng;\nuse regex::Regex;\nuse md5;\nuse std::any::{Any, TypeId};\n\n\npub fn encode_cyclic(s: &str) -> String {\n    // returns encoded string by cycling groups of three characters.\n    // split string to groups. Each of length 3.\n    let l = s.len();\n    let num = (l + 2) / 3;\n    let mut output = String::new();\n    for i in 0..num {\n        let group = &s[i * 3..std::cmp::min(l, (i + 1) * 3)];\n        // cycle elements in each group. Unless group has fewer elements than 3.\n        if group.len() == 3 {\n            let x = format!(\"{}{}{}\", &group[1..2], &group[2..3], &group[0..1]);\n            output.push_str(&x);\n        } else {\n            output.push_str(group);\n        }\n    }\n    output\n}\n\n/*\n    takes as input string encoded with encode_cyclic function. Returns decoded string.\n    \n*/\nfn decode_cyclic(s: &str) -> String {\n",
            test: "\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn test_decode_cyclic() {\n        for s in [\"abcdefghij\", \"xyz\", \"ab\", \"hello world\"] {\n            let encoded_str = encode_cyclic(s);\n            assert_eq!(decode_cyclic(&encoded_str), s);\n        }\n        assert_eq!(decode_cyclic(\"bca\"), \"abc\");\n    }\n}\n",
            right: "    encode_cyclic(&encode_cyclic(s))\n}\n",
            wrong: "    s.to_string()\n}\n",
            tamper: "    s.to_string()\n}\n#[allow(unused_macros)]\nmacro_rules! encode_cyclic { ($x:expr) => { $x.to_string() }; }\n",
            chat_cheat: "fn encode_cyclic(s: &str) -> String { s.to_string() }\nfn decode_cyclic(s: &str) -> String { s.to_string() }\n",
            chat_right: "fn decode_cyclic(s: &str) -> String {\n    let b: Vec<char> = s.chars().collect();\n    let mut out = String::new();\n    for g in b.chunks(3) {\n        if g.len() == 3 {\n            out.push(g[2]);\n            out.push(g[0]);\n            out.push(g[1]);\n        } else {\n            out.extend(g);\n        }\n    }\n    out\n}\n",
        },
    ];
    for l in langs {
        let completion = |end: &str| format!("{}{end}", l.prompt);
        let cases = [
            case(
                "canonical completion",
                &completion(l.right),
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "identity completion",
                &completion(l.wrong),
                &[TestFailure],
                Some((0, 2)),
            ),
            case(
                "identity, its own helper changed",
                &completion(l.tamper),
                &[TestFailure],
                Some((0, 2)),
            ),
            case(
                "chat: identity for both",
                l.chat_cheat,
                &[TestFailure],
                Some((0, 2)),
            ),
            case(
                "chat: the decoder alone",
                l.chat_right,
                &[Pass],
                Some((2, 2)),
            ),
        ];
        run_answering(l.uid, l.language, l.test, Some(l.prompt), &cases);
    }
}

/// Test shapes that hold the sample's answer where the trusted side's reading of the test did
/// not look (data/test_shapes.jsonl, found by an attacker's review): a destructured result
/// (`auto [lo, hi] = f(x)`, `let (lo, hi) =`, `lo, hi :=`, `const [lo, hi] =`), results pushed
/// into a list, a helper's parameters, a `let` with a type, brace initialisation, an alias of
/// the function (`const candidate = f`), a function passed to `map` without a call, a test
/// that says it failed through `main`'s return value or `process.exitCode`, an async test,
/// and Python tests whose results pass through the test's own helper or that call a second
/// function of the sample's by name (MBPP style), a quote inside a JavaScript regular
/// expression (which hid the check after it from the reading of the test), Python asserts that
/// never ran (uncalled pytest-style functions, a `__main__` guard, a loop over nothing). Each
/// used to record a wrong answer as a pass or with more passed checks than it earned (a
/// failed check that made no call was dropped; a function named without a call was the
/// sample's own helper; the test's failure signal was ignored; a check counted as passed
/// without an assert running). The right rows are honest test shapes that must keep passing
/// (methods, labels, generators, templates and regular expressions in JavaScript tests,
/// `signed main`, `main(argc, argv)` and `process.exit(0)` endings, `except ... as e`). Every
/// wrong row must get its non-pass verdict and exact counts, every right row its pass.
#[test]
fn test_shapes_that_hold_the_answer_out_of_sight_never_forge_a_pass() {
    let rows: Vec<serde_json::Value> = include_str!("data/test_shapes.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("test_shapes.jsonl row"))
        .collect();
    let text = |r: &serde_json::Value, k: &str| r[k].as_str().map(str::to_owned);
    let mut languages: Vec<Language> = Vec::new();
    for r in &rows {
        let l = Language::parse(r["language"].as_str().unwrap()).unwrap();
        if !languages.contains(&l) {
            languages.push(l);
        }
    }
    let mut checked = 0;
    for (n, language) in languages.into_iter().enumerate() {
        if !common::needs(language) {
            continue;
        }
        let mine: Vec<&serde_json::Value> = rows
            .iter()
            .filter(|r| Language::parse(r["language"].as_str().unwrap()).ok() == Some(language))
            .collect();
        let uid = 65401 + n as u32;
        let exec = common::executor(uid, 1, 10_000);
        let jobs = mine
            .iter()
            .enumerate()
            .map(|(i, r)| Job {
                key: i as u64,
                language,
                code: text(r, "code"),
                test: text(r, "test").unwrap(),
                entry_point: text(r, "entry_point"),
                prompt: text(r, "prompt"),
            })
            .collect();
        let results = exec.run_all(jobs);
        assert_eq!(results.len(), mine.len());
        for (r, got) in mine.iter().zip(&results) {
            let what = r["what"].as_str().unwrap();
            let want: Vec<&str> = r["want"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect();
            assert!(
                want.contains(&got.outcome.as_str()),
                "{what}: want {want:?}, got {got:?}"
            );
            if let Some(c) = r["counts"].as_array() {
                let c: Vec<u64> = c.iter().map(|x| x.as_u64().unwrap()).collect();
                assert_eq!(
                    [got.tests_passed as u64, got.tests_total as u64],
                    c[..],
                    "{what}: {got:?}"
                );
            }
            checked += 1;
        }
        drop(exec);
        common::assert_no_leftovers(uid..uid + 1);
        common::assert_no_leftovers(uid + 1_000_000..uid + 1_000_001);
    }
    // Python always runs; the compiled languages when their toolchains are here.
    assert!(checked >= 6, "only {checked} rows ran");
}

/// An attacker's review, round 12: test shapes the judge read otherwise than the compiler
/// does. Rust's `#[ test ]` was no test to the judge (never called, its checks counted for
/// nothing: a wrong answer passed); `#[cfg_attr(test, should_panic)]` and `#[ should_panic ]`
/// passed the refusal of should-panic tests (the test ran as a plain function, "expecting" a
/// panic that never came); a C++ `assert(cond, "msg")`, two macro arguments that do not
/// compile, became a comma expression that the string made true.
#[test]
fn test_shapes_the_compiler_reads_otherwise_never_pass() {
    let spaced = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn small() {\n        assert_eq!(add(1, 2), 3);\n    }\n    #[ test ]\n    fn larger() {\n        assert_eq!(add(2, 2), 4);\n        assert_eq!(add(0, 5), 5);\n    }\n}\n";
    run(
        65118,
        Language::Rust,
        spaced,
        &[
            case(
                "honest right",
                "fn add(a: i32, b: i32) -> i32 { a + b }",
                &[Pass],
                Some((3, 3)),
            ),
            case(
                "right on the first test only",
                "fn add(a: i32, b: i32) -> i32 { if a == 1 { 3 } else { 0 } }",
                &[Partial],
                None,
            ),
        ],
    );
    for (uid, attribute) in [
        (65119, "#[cfg_attr(test, should_panic)]"),
        (65120, "#[ should_panic ]"),
    ] {
        let test = format!(
            "#[cfg(test)]\nmod tests {{\n    use super::*;\n    #[test]\n    fn sums() {{\n        assert_eq!(add(1, 2), 3);\n    }}\n    #[test]\n    {attribute}\n    fn overflow() {{\n        add(i32::MAX, 1);\n    }}\n}}\n"
        );
        let r = run(
            uid,
            Language::Rust,
            &test,
            &[case(
                "wrapping: no panic",
                "fn add(a: i32, b: i32) -> i32 { a.wrapping_add(b) }",
                &[Crashed],
                None,
            )],
        );
        if let Some(r) = r.first() {
            assert!(r.detail.contains("should_panic"), "{r:?}");
        }
    }
    let two = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(2, 1) == 3, \"add(2, 1)\");\n    assert (add(2, 5) == 7, \"add(2, 5)\");\n}\n";
    run(
        65121,
        Language::Cpp,
        two,
        &[
            case(
                "wrong",
                "int add(int a, int b){ return a * b; }",
                &[CompileError],
                None,
            ),
            case(
                "right",
                "int add(int a, int b){ return a + b; }",
                &[CompileError],
                None,
            ),
        ],
    );
}

/// An attacker's review, round 14 (Go): a sample that declares a predeclared type name again
/// (`type float32 = float64`) returned float64 values that the judge rounded to a real float32,
/// hiding an error of 1e-9 the one program's test sees: a forged pass; now refused (`crashed`).
/// And subtests run in parallel (`t.Parallel()`) called the candidate concurrently: calls and
/// answers crossed, a right answer was a runtime error; calls are one at a time now.
#[test]
fn go_builtins_stay_the_language_s_and_parallel_subtests_are_judged() {
    let mean = "func TestMean(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal(float32(2.5), Mean([]float32{2, 3}))\n\tassert.Equal(float32(2), Mean([]float32{1, 3}))\n}\n";
    let body = "\nfunc Mean(xs []float32) float32 {\n\ts := float32(0)\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s/float32(len(xs)) + 1e-9\n}\n";
    let rs = run(
        65127,
        Language::Go,
        mean,
        &[
            case(
                "float32 declared again",
                &format!("type float32 = float64\n{body}"),
                &[Crashed],
                None,
            ),
            case(
                "honest right",
                &body.replace(" + 1e-9", ""),
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("`float32` again"), "{r:?}");
    }
    let squares = "func TestSquare(t *testing.T) {\n\tfor i := 0; i < 8; i++ {\n\t\ti := i\n\t\tt.Run(\"case\", func(t *testing.T) {\n\t\t\tt.Parallel()\n\t\t\tassert.Equal(t, i*i, Square(i))\n\t\t})\n\t}\n}\n";
    run(
        65128,
        Language::Go,
        squares,
        &[
            case(
                "right",
                "func Square(x int) int {\n\treturn x * x\n}\n",
                &[Pass],
                None,
            ),
            case(
                "wrong for one input",
                "func Square(x int) int {\n\tif x == 5 {\n\t\treturn 0\n\t}\n\treturn x * x\n}\n",
                FAIL,
                None,
            ),
        ],
    );
}

/// An attacker's review, round 14 (Go): each side held copies, so a sample's change to a value
/// the test still holds (an argument it changes in place, a result sharing a buffer the next
/// call overwrites) was never seen: wrong answers passed where one program fails (MultiPL-E's
/// table tests call the sample for every row before comparing), and a right in-place answer
/// failed. Every such change now crosses back after each call. Each verdict is `go test`'s on
/// the one program.
#[test]
fn go_changes_to_values_the_test_holds_are_seen() {
    run(
        65129,
        Language::Go,
        "func TestUnique(t *testing.T) {\n  candidate := Unique\n\ttype test struct {\n\t\tactual   interface{}\n\t\texpected interface{}\n\t}\n   tests := []test{\n     { actual: candidate([]int{5, 3, 5, 2, 3, 3, 9, 0, 123}), expected: []int{0, 2, 3, 5, 9, 123} },\n     { actual: candidate([]int{1, 1}), expected: []int{1} },\n   }\n\n\tfor i, tc := range tests {\n\t\tt.Run(fmt.Sprintf(\"test num % d\", i), func(t *testing.T) {\n\t\t\tif fmt.Sprintf(\"%v\", tc.actual) != fmt.Sprintf(\"%v\", tc.expected) {\n\t\t\t\tt.Errorf(\"expected '%s', got '%s'\", tc.expected, tc.actual)\n\t\t\t}\n\t\t})\n\t}\n}\n",
        &[case(
            "go_multipl_alias",
            "package main\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\nvar scratch [64]int\n\n// Returns the sorted unique elements (reuses a package-level buffer: \"no allocation\").\nfunc Unique(l []int) []int {\n\tout := scratch[:0]\n\tfor _, x := range l {\n\t\tseen := false\n\t\tfor _, y := range out {\n\t\t\tif x == y {\n\t\t\t\tseen = true\n\t\t\t}\n\t\t}\n\t\tif !seen {\n\t\t\tout = append(out, x)\n\t\t}\n\t}\n\tfor i := range out {\n\t\tfor j := i + 1; j < len(out); j++ {\n\t\t\tif out[j] < out[i] {\n\t\t\t\tout[i], out[j] = out[j], out[i]\n\t\t\t}\n\t\t}\n\t}\n\treturn out\n}\n",
            FAIL,
            None,
        )],
    );
    run(
        65130,
        Language::Go,
        "func TestDoubled(t *testing.T) {\n\tassert := assert.New(t)\n\ta := Doubled([]int{1, 2})\n\tb := Doubled([]int{5, 6})\n\tassert.Equal([]int{2, 4}, a)\n\tassert.Equal([]int{10, 12}, b)\n}\n",
        &[case(
            "go_alias_ret",
            "var buf = make([]int, 0, 16)\n\nfunc Doubled(l []int) []int {\n\tbuf = buf[:0]\n\tfor _, x := range l {\n\t\tbuf = append(buf, 2*x)\n\t}\n\treturn buf\n}\n",
            &[Partial],
            Some((1, 2)),
        )],
    );
    run(
        65131,
        Language::Go,
        "func TestMaxElement(t *testing.T) {\n\tassert := assert.New(t)\n\tl := []int{1, 2, 3}\n\tassert.Equal(3, MaxElement(l))\n\tassert.Equal(3, MaxElement(l))\n}\n",
        &[case(
            "go_alias2",
            "func MaxElement(l []int) int {\n\tm := l[0]\n\tfor i, x := range l {\n\t\tif x > m {\n\t\t\tm = x\n\t\t}\n\t\tl[i] = 0\n\t}\n\treturn m\n}\n",
            &[Partial],
            Some((1, 2)),
        )],
    );
    run(
        65132,
        Language::Go,
        "func TestCountKeys(t *testing.T) {\n\tassert := assert.New(t)\n\tm := map[string]int{\"a\": 1, \"b\": 2}\n\tassert.Equal(2, CountKeys(m))\n\tassert.Equal(2, len(m))\n}\n",
        &[case(
            "go_alias_map",
            "func CountKeys(m map[string]int) int {\n\tn := len(m)\n\tfor k := range m {\n\t\tdelete(m, k)\n\t}\n\treturn n\n}\n",
            &[Partial],
            Some((1, 2)),
        )],
    );
    run(
        65133,
        Language::Go,
        "func TestSortArray(t *testing.T) {\n\tassert := assert.New(t)\n\tarr := []int{5, 2, 4}\n\tassert.Equal([]int{2, 4, 5}, SortArray(arr))\n\tassert.Equal([]int{5, 2, 4}, arr)\n}\n",
        &[case(
            "go_alias1",
            "import \"sort\"\n\nfunc SortArray(arr []int) []int {\n\tsort.Ints(arr)\n\treturn arr\n}\n",
            &[Partial],
            Some((1, 2)),
        )],
    );
    run(
        65134,
        Language::Go,
        "func TestReverse(t *testing.T) {\n\tassert := assert.New(t)\n\ta := []int{1, 2, 3}\n\tReverse(a)\n\tassert.Equal([]int{3, 2, 1}, a)\n}\n",
        &[case(
            "go_inplace_right",
            "func Reverse(a []int) {\n\tfor i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {\n\t\ta[i], a[j] = a[j], a[i]\n\t}\n}\n",
            &[Pass],
            None,
        )],
    );
}

/// An attacker's review, round 14 (JavaScript): `console.assert`'s message arguments never ran
/// in the judge, so a sample that throws only for the inputs the messages ask about passed;
/// in one program the message's call throws and ends the test.
#[test]
fn javascript_assert_messages_are_evaluated() {
    let test = "const t = () => {\n  console.assert(f(2) === 4, 'f(2) gave ' + f(2) + ', f(9) gave ' + f(9))\n  console.assert(f(3) === 6, `f(10) is ${f(10)}`)\n}\nt()\n";
    run(
        65135,
        Language::JavaScript,
        test,
        &[
            case(
                "throws for the messages' inputs",
                "const f = (n) => { if (n > 5) throw new Error('too big'); return n * 2; };\n",
                &[RuntimeError],
                None,
            ),
            case("right", "const f = (n) => n * 2;\n", &[Pass], Some((2, 2))),
        ],
    );
}

/// An attacker's review, round 14 (Rust): the candidate was built with `--test` for every test
/// shape, while MultiPL-E's `fn main` test is a plain program: code behaving otherwise under
/// `cfg!(test)` passed (a forged pass), and a sample's own `#[cfg(test)]` module using a crate
/// the program never builds was a compile error. A `fn main` test's candidate is a program now.
/// Also: a helper of the test's `mod tests` named like a function of the code is the test's own
/// (it shadows `use super::*`), and a `&mut` parameter is refused (`crashed`: not a
/// compile error of the sample's).
#[test]
fn rust_programs_are_built_as_programs() {
    let main_test = "fn main() {\n    let candidate = add;\n    assert_eq!(candidate(1, 2), 3);\n    assert_eq!(candidate(2, 5), 7);\n}\n";
    run(
        65136,
        Language::Rust,
        main_test,
        &[
            case(
                "right only under cfg(test)",
                "fn add(a: i32, b: i32) -> i32 {\n    if cfg!(test) { a + b } else { a - b }\n}\n",
                FAIL,
                Some((0, 2)),
            ),
            case(
                "right, with a test module of its own",
                "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod my_tests {\n    use super::*;\n    use pretty_assertions::assert_eq;\n    #[test]\n    fn it_adds() { assert_eq!(add(1, 2), 3); }\n}\n",
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "right, with a main of its own",
                "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\npub fn main() {\n    println!(\"{}\", add(1, 2));\n}\n",
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    run(
        65137,
        Language::Rust,
        "#[cfg(test)]\nmod tests {\n    use super::*;\n    fn helper(x: i32) -> i32 { x + 0 }\n    #[test]\n    fn t() {\n        assert_eq!(helper(double(2)), 4);\n    }\n}\n",
        &[case(
            "a helper named like the test's",
            "fn helper(x: i32) -> i32 { x }\nfn double(x: i32) -> i32 { helper(x) * 2 }\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    let rs = run(
        65138,
        Language::Rust,
        "fn main() {\n    let mut v = vec![3, 1, 2];\n    sort_in_place(&mut v);\n    assert_eq!(v, vec![1, 2, 3]);\n}\n",
        &[case(
            "a &mut parameter",
            "fn sort_in_place(v: &mut Vec<i32>) {\n    v.sort();\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("`&mut`"), "{r:?}");
    }
}

/// An attacker's review, round 14: nothing the candidate's program did after the test's last
/// call counted (a C++ static destructor that aborts, a Java shutdown hook that halts with
/// status 1, a JavaScript timer that throws or an exit code set): pass, where one program ends
/// failed. The candidate's end is the run's now (`runtime_error`), and its right twin passes.
#[test]
fn what_the_program_does_at_its_end_counts() {
    for (uid, language, key) in [
        (65139, Language::Cpp, "cpp_atexit_abort"),
        (65140, Language::Java, "java_shutdown_hook"),
        (65141, Language::JavaScript, "js_timer_exit"),
    ] {
        let (code, test, right) = match key {
            "cpp_atexit_abort" => (
                "#include <cstdlib>\nint add(int a, int b) { return a + b; }\nstruct Bye { ~Bye() { std::abort(); } } bye;\n",
                "#include <cassert>\nint main() {\n    assert(add(1, 2) == 3);\n}\n",
                "int add(int a, int b) { return a + b; }\n",
            ),
            "java_shutdown_hook" => (
                "class Solution {\n    static { Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(1))); }\n    public int add(int a, int b) { return a + b; }\n}\n",
                "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (s.add(1, 2) != 3) { throw new AssertionError(); }\n    }\n}\n",
                "class Solution {\n    public int add(int a, int b) { return a + b; }\n}\n",
            ),
            _ => (
                "const f = (n) => n * 2;\nsetTimeout(() => { throw new Error('late') }, 0);\nprocess.exitCode = 3;\n",
                "const t = () => {\n  console.assert(f(2) === 4)\n}\nt()\n",
                "const f = (n) => n * 2;\nsetTimeout(() => {}, 0);\n",
            ),
        };
        let rs = run(
            uid,
            language,
            test,
            &[
                case("fails at its end", code, &[RuntimeError], Some((1, 1))),
                case("right", right, &[Pass], Some((1, 1))),
            ],
        );
        if let Some(r) = rs.first() {
            assert!(r.detail.contains("after the test's last call"), "{r:?}");
        }
    }
}

/// C++ `T&` parameters: the test's variable changes with the sample's argument, as in one
/// program (the judge wrote nothing back: a right in-place sort failed, and a sample that
/// cleared the vector it was given passed a test that uses it again).
#[test]
fn cpp_reference_arguments_come_back_changed() {
    let test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    vector<int> v = {3, 1, 2};\n    assert (largest(v) == 3);\n    assert (largest(v) == 3);\n    assert ((v == vector<int>{1, 2, 3}));\n}\n";
    let head = "#include <vector>\n#include <algorithm>\nusing namespace std;\n";
    run(
        65142,
        Language::Cpp,
        test,
        &[
            case(
                "sorts its argument, right",
                &format!(
                    "{head}int largest(vector<int>& l) {{ sort(l.begin(), l.end()); return l.back(); }}\n"
                ),
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "clears its argument",
                &format!(
                    "{head}int largest(vector<int>& l) {{ int m = *max_element(l.begin(), l.end()); l.assign(l.size(), 0); return m; }}\n"
                ),
                &[Partial],
                Some((1, 3)),
            ),
        ],
    );
}

/// Java collection arguments: the test's collection changes with the sample's argument, as in
/// one program (a right answer sorting its argument failed a test that reads it again; one
/// clearing it passed a test that uses it again).
#[test]
fn java_collection_arguments_come_back_changed() {
    let test = |make: &str| {
        format!(
            "import java.util.*;\npublic class Main {{\n    public static void main(String[] args) {{\n        Solution s = new Solution();\n        List<Integer> l = {make};\n        if (s.largest(l) != 3) {{ throw new AssertionError(); }}\n        if (s.largest(l) != 3) {{ throw new AssertionError(); }}\n        if (!l.equals(Arrays.asList(1, 2, 3))) {{ throw new AssertionError(); }}\n    }}\n}}\n"
        )
    };
    let sorts = "import java.util.*;\nclass Solution {\n    public int largest(List<Integer> l) {\n        Collections.sort(l);\n        return l.get(l.size() - 1);\n    }\n}\n";
    let clears = "import java.util.*;\nclass Solution {\n    public int largest(List<Integer> l) {\n        int m = Collections.max(l);\n        for (int i = 0; i < l.size(); i++) l.set(i, 0);\n        return m;\n    }\n}\n";
    for (uid, make) in [
        (65143, "new ArrayList<>(Arrays.asList(3, 1, 2))"),
        (65144, "Arrays.asList(3, 1, 2)"),
    ] {
        run(
            uid,
            Language::Java,
            &test(make),
            &[
                case("sorts its argument, right", sorts, &[Pass], Some((2, 2))),
                case("clears its argument", clears, &[Partial], Some((1, 3))),
            ],
        );
    }
}

/// An attacker's review, round 15 (Java): the judge's stubs come from a reading of the code's
/// text, and a text block with an escaped quote, a non-ASCII class name, a type annotation on
/// the superclass, a type parameter named like a JDK class or a C-style array parameter made
/// that reading miss or misread an overload javac sees: the judge resolved the test's call to a
/// right-looking overload where one program calls a wrong one (forged passes). The candidate
/// now checks the compiled class by reflection before any call (`RrtfRt.expect`): a
/// difference is `crashed`.
#[test]
fn java_overloads_the_text_hides_have_no_judge() {
    let rs = run(
        65145,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        assert s.square(5) == 25;\n        assert s.square(3) == 9;\n    }\n}\n",
        &[case(
            "j_textblock",
            "class Solution {\n    String a = \"\"\"\n        \\\"\"\"\n        \"\"\";\n    public int square(int x) { return -1; }\n    String b = \"\"\"\n        \\\"\"\" \"\"\";\n    public int square(long x) { return (int) (x * x); }\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("the executor read"), "{r:?}");
    }
    let rs = run(
        65146,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        Integer five = 5;\n        assert s.square(five) == 25;\n    }\n}\n",
        &[case(
            "j_unicode_super",
            "class B\u{e9} {\n}\nclass B {\n    public int square(Object x) { return -1; }\n}\nclass Solution extends B {\n    public int square(long x) { return (int) (x * x); }\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("the executor read"), "{r:?}");
    }
    let rs = run(
        65147,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (s.square(5) != 25) throw new AssertionError();\n        if (s.square(3) != 9) throw new AssertionError();\n    }\n}\n",
        &[case(
            "j_type_annotation_super",
            "import java.lang.annotation.*;\n@Target(ElementType.TYPE_USE) @interface Plain {}\nclass Base {\n    public long square(int x) { return -1; }\n}\nclass Solution extends @Plain Base {\n    public long square(long x) { return x * x; }\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("the executor read"), "{r:?}");
    }
    let rs = run(
        65148,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Integer> xs = Arrays.asList(1, 2, 3, 4);\n        for (Integer x : xs) {\n            if (s.square(x) != (long) x * x) throw new AssertionError();\n        }\n    }\n}\n",
        &[case(
            "j_typevar_named_like_jdk",
            "import java.util.*;\nclass Base<Long> {\n    public long square(Long x) { return -1; }\n}\nclass Solution extends Base<Integer> {\n    public long square(long x) { return x * x; }\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("the executor read"), "{r:?}");
    }
    let rs = run(
        65149,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        assert s.kind('a').equals(\"char\");\n    }\n}\n",
        &[case(
            "j_legacy_array",
            "class Solution {\n    public String kind(int unused[]) { return \"array\"; }\n    public String kind(Object o) { return o instanceof Integer ? \"char\" : \"wrong\"; }\n}\n",
            &[Crashed],
            None,
        )],
    );
    // (Since read as an array by the text reading too: refused before any build.)
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("`int unused[]`"), "{r:?}");
    }
}

/// An attacker's review, round 15 (Go, JavaScript), on round 14's mends: one slice passed as
/// two arguments crossed as two copies (a sample wrong for overlapping arguments computed as if
/// they did not overlap, and its result was written back: a forged pass; now `crashed`); a
/// result stored as `interface{}` was not written in place (a forged pass); `type` then a line
/// end then `float32 = float64`, and a `func copy` the test's `copy` calls in one program,
/// escaped the predeclared-name refusal; a `const max` the test never uses was refused; a
/// `//` comment in `console.assert`'s message commented out the rest of the check. Each
/// verdict is the one program's, or `crashed`.
#[test]
fn round_fifteen_go_and_javascript_verdicts_are_the_one_program_s() {
    run(
        65150,
        Language::Go,
        "func TestCopyInts(t *testing.T) {\n\tx := []int{1, 2, 3, 4, 5}\n\tassert.Equal(t, 4, CopyInts(x[1:], x))\n\tassert.Equal(t, []int{1, 1, 2, 3, 4}, x)\n}\n",
        &[case(
            "alias_overlap",
            "package main\n\nimport (\n\t\"testing\"\n\n)\n\n// CopyInts copies src into dst like the builtin copy (overlapping slices allowed) and returns the count.\nfunc CopyInts(dst, src []int) int {\n\tn := len(dst)\n\tif len(src) < n {\n\t\tn = len(src)\n\t}\n\tfor i := 0; i < n; i++ {\n\t\tdst[i] = src[i]\n\t}\n\treturn n\n}\n",
            &[Crashed],
            None,
        )],
    );
    run(
        65151,
        Language::Go,
        "func TestDigits(t *testing.T) {\n\tcandidate := Digits\n\ttype test struct {\n\t\tactual   interface{}\n\t\texpected interface{}\n\t}\n\ttests := []test{\n\t\t{actual: candidate(123), expected: []int{1, 2, 3}},\n\t\t{actual: candidate(456), expected: []int{4, 5, 6}},\n\t\t{actual: candidate(789), expected: []int{7, 8, 9}},\n\t}\n\tfor i, tc := range tests {\n\t\tt.Run(fmt.Sprintf(\"test num % d\", i), func(t *testing.T) {\n\t\t\tassert.Equal(t, tc.expected, tc.actual)\n\t\t})\n\t}\n}\n",
        &[case(
            "iface_result",
            "package main\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\n)\n\nvar buf = make([]int, 0, 16)\n\n// Digits returns the decimal digits of n.\nfunc Digits(n int) interface{} {\n\tbuf = buf[:0]\n\tfor _, c := range fmtInt(n) {\n\t\tbuf = append(buf, int(c-'0'))\n\t}\n\treturn buf\n}\n\nfunc fmtInt(n int) string {\n\tif n == 0 {\n\t\treturn \"0\"\n\t}\n\ts := \"\"\n\tfor n > 0 {\n\t\ts = string(rune('0'+n%10)) + s\n\t\tn /= 10\n\t}\n\treturn s\n}\n",
            FAIL,
            Some((0, 1)),
        )],
    );
    run(
        65152,
        Language::Go,
        "func TestMean(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal(float32(2.5), Mean([]float32{2, 3}))\n\tassert.Equal(float32(2), Mean([]float32{1, 3}))\n}\n",
        &[case(
            "f32_newline",
            "package main\n\nimport (\n\t\"testing\"\n)\n\ntype\nfloat32 = float64\n\nfunc Mean(xs []float32) float32 {\n\ts := float32(0)\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s/float32(len(xs)) + 1e-9\n}\n",
            &[Crashed],
            None,
        )],
    );
    run(
        65153,
        Language::Go,
        "func TestClone(t *testing.T) {\n\tdst := make([]int, 3)\n\tn := copy(dst, Clone([]int{1, 2, 3}))\n\tassert.Equal(t, 3, n)\n\tassert.Equal(t, []int{2, 3, 4}, dst)\n}\n",
        &[case(
            "copy_func",
            "package main\n\nimport (\n\t\"testing\"\n)\n\n// Clone returns a copy of xs.\nfunc Clone(xs []int) []int {\n\tout := make([]int, len(xs))\n\tfor i := range xs {\n\t\tout[i] = xs[i] + 1\n\t}\n\treturn out\n}\n\nfunc copy(dst, src []int) int {\n\treturn 0\n}\n",
            &[Crashed],
            None,
        )],
    );
    run(
        65154,
        Language::Go,
        "func TestClamp(t *testing.T) {\n\tassert.Equal(t, 1000, Clamp(5000))\n\tassert.Equal(t, 7, Clamp(7))\n}\n",
        &[case(
            "max_var",
            "package main\n\nimport (\n\t\"testing\"\n)\n\nconst max = 1000\n\n// Clamp returns x limited to at most 1000.\nfunc Clamp(x int) int {\n\tif x > max {\n\t\treturn max\n\t}\n\treturn x\n}\n",
            &[Pass],
            Some((2, 2)),
        )],
    );
    run(
        65155,
        Language::JavaScript,
        "const t = () => {\n  console.assert(double(2) === 4, 'double(2)' // message names the input\n  );\n  console.assert(double(3) === 6);\n};\nt();\n",
        &[case(
            "js_msg_comment",
            "const double = (n) => n * 2;\n",
            &[Pass],
            Some((2, 2)),
        )],
    );
}

/// An attacker's review, round 15 (C++): the probe for a standard function of the called name
/// always opened `std`, so an honest `gcd` of the code's with `<numeric>` included but no
/// `using namespace std` (the test's `gcd` is the code's in one program) was a compile error.
#[test]
fn a_function_named_like_std_s_is_the_code_s_when_std_is_closed() {
    run(
        65156,
        Language::Cpp,
        "#include <cassert>\nint main() {\n    assert(gcd(12, 18) == 6);\n    assert(gcd(7, 3) == 1);\n}\n",
        &[case(
            "gcd of its own",
            "#include <numeric>\nint gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }\n",
            &[Pass],
            Some((2, 2)),
        )],
    );
}

/// An attacker's review, round 15: an honest C++ function with a default argument, and an
/// honest Java `int a[]` parameter, were compile errors (the stub dropped the default, read the
/// array as `int`): the sample's fault by the verdict, the executor's limit in fact. `crashed`
/// now, saying why.
#[test]
fn signatures_the_judge_cannot_stub_are_its_limit() {
    let rs = run(
        65157,
        Language::Cpp,
        "#include <cassert>\nint main() {\n    assert(add(2) == 3);\n    assert(add(2, 2) == 4);\n}\n",
        &[case(
            "a default argument",
            "int add(int a, int b = 1) { return a + b; }\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("default argument"), "{r:?}");
    }
    let rs = run(
        65158,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (s.sum(new int[]{1, 2, 3}) != 6) { throw new AssertionError(); }\n    }\n}\n",
        &[case(
            "int a[]",
            "class Solution {\n    public int sum(int a[]) { int s = 0; for (int x : a) s += x; return s; }\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("int a[]"), "{r:?}");
    }
}

/// An attacker's review, round 16: the Java candidate ran without `-ea` (a sample's own failing
/// `assert` passed) and called `System.exit(0)` after serving (a thread of the sample's that
/// exits 1 later was cut off); the Java write-back replaced a list's inner lists (the test's own
/// row kept its old content: a sample changing its input passed a "does not change it" check);
/// a C++ object passed as two reference arguments crossed as two copies (an xor swap of `x`
/// with itself passed). Each verdict is now the one program's, or `crashed`.
#[test]
fn round_sixteen_verdicts_are_the_one_program_s() {
    run(
        65159,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(2, 2) == 4);\n        if (correct.contains(false)) { throw new AssertionError(); }\n    }\n}\n",
        &[case(
            "its own assert fails",
            "import java.util.*;\nclass Solution {\n    public int add(int a, int b) {\n        assert a != b : \"the sample's own precondition\";\n        return a + b;\n    }\n}\n",
            &[RuntimeError, Partial],
            None,
        )],
    );
    run(
        65160,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(2, 2) == 4);\n        if (correct.contains(false)) { throw new AssertionError(); }\n    }\n}\n",
        &[case(
            "a thread that exits 1 after the test",
            "import java.util.*;\nclass Solution {\n    static {\n        Thread t = new Thread(() -> {\n            try { Thread.sleep(1500); } catch (InterruptedException e) {}\n            System.exit(1);\n        });\n        t.start();\n    }\n    public int add(int a, int b) { return a + b; }\n}\n",
            &[RuntimeError],
            None,
        )],
    );
    run(
        65161,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Integer> row = new ArrayList<>(Arrays.asList(3, 1, 2));\n        List<List<Integer>> g = new ArrayList<>();\n        g.add(row);\n        List<Boolean> correct = Arrays.asList(s.total(g) == 6, row.equals(Arrays.asList(3, 1, 2)));\n        if (correct.contains(false)) { throw new AssertionError(); }\n    }\n}\n",
        &[case(
            "sorts the rows it was given",
            "import java.util.*;\nclass Solution {\n    // sum of all elements; must not change the input (this one sorts the rows: wrong)\n    public int total(List<List<Integer>> g) {\n        int t = 0;\n        for (List<Integer> r : g) { Collections.sort(r); for (int v : r) t += v; }\n        return t;\n    }\n}\n",
            &[Partial],
            Some((1, 2)),
        )],
    );
    let rs = run(
        65162,
        Language::Cpp,
        "#include <cassert>\nint main() {\n    int p = 1, q = 2;\n    swap_ints(p, q);\n    assert(p == 2 && q == 1);\n    int x = 5;\n    swap_ints(x, x);\n    assert(x == 5);\n}\n",
        &[case(
            "an xor swap of one object with itself",
            "#include <vector>\nusing namespace std;\n// swap a and b in place\nvoid swap_ints(int& a, int& b) { a ^= b; b ^= a; a ^= b; }\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("two reference arguments"), "{r:?}");
    }
}

/// An attacker's review, round 13 (C++): the one program's call chooses what the judge's stub
/// cannot see. A wrong overload or template next to the right function (`truncate_number(3.5)`
/// reaches a `(double)` overload or a template in one program; the candidate's dispatch, called
/// with the stub's `float`, reached the right one: a forged pass), a macro standing between the
/// test's call and the function, a `T&` parameter a temporary cannot bind (no compile in one
/// program; the stub took it by value), and code that uses a header or `std`'s names without
/// including or opening them (the runtime's headers and the judge's `using namespace std`
/// supplied them). Overloads, seen in the text or not (a template, a namespace's member, a
/// trailing return type), have no judge (`crashed`: the candidate takes the function's
/// address, which does not compile for an overload set; a stub per overload read from the text
/// was tried in round 15 and forged passes with overloads the text hides). Each verdict is the
/// one program's (g++), but `crashed` where that program would compile.
#[test]
fn calls_the_one_program_would_resolve_otherwise_never_pass() {
    let test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (truncate_number(3.5) == 0.5);\n    assert (abs(truncate_number(1.33) - 0.33) < 1e-4);\n}\n";
    let head = "#include<stdio.h>\n#include<math.h>\nusing namespace std;\n";
    let right = "float truncate_number(float number){ return number - int(number); }\n";
    let with = |extra: &str| format!("{head}{right}{extra}");
    let rs = run(
        65122,
        Language::Cpp,
        test,
        &[
            case("honest right", &with(""), &[Pass], Some((2, 2))),
            case(
                "a wrong template beside it",
                &with("template <class T> float truncate_number(T number) { return 0; }\n"),
                &[Crashed],
                None,
            ),
            case(
                "a wrong overload with a trailing return type",
                &with("auto truncate_number(double number) -> float { return 0; }\n"),
                &[Crashed],
                None,
            ),
            case(
                "a wrong overload from a namespace",
                &with(
                    "namespace impl { float truncate_number(double number) { return 0; } }\nusing namespace impl;\n",
                ),
                &[Crashed],
                None,
            ),
            // Overloads the text shows: refused before any build.
            case(
                "a wrong overload the calls reach",
                &with("double truncate_number(double number) { return 0; }\n"),
                &[Crashed],
                None,
            ),
            case(
                "a right overload",
                &with("double truncate_number(double number) { return number - int(number); }\n"),
                &[Crashed],
                None,
            ),
            case(
                "a macro between the call and the function",
                &format!(
                    "{head}float tn_impl(double x) {{ return x == (float)x ? x - int(x) : 0; }}\nfloat truncate_number(float number){{ return number - int(number); }}\n#define truncate_number(x) tn_impl(x)\n"
                ),
                &[Crashed],
                None,
            ),
        ],
    );
    for r in rs.iter().skip(1).take(3) {
        assert!(r.detail.contains("overloaded or a template"), "{r:?}");
    }
    for r in rs.iter().skip(4).take(2) {
        assert!(r.detail.contains("is overloaded in the code"), "{r:?}");
    }
    // An attacker's review, round 14: the candidate called the function with the types the
    // executor read from the text and converted silently; a macro read otherwise by the
    // compiler (redefined after the function, `#define int long long`) made a wrong answer
    // pass. The dispatch now takes the function's address with the exact type read: another
    // type does not compile there, and that is the executor's limit (`crashed`), not the
    // sample's compile error. A declaration hidden from the text by `#if 0` is refused too.
    let trunc = "#include <cassert>\nint main() {\n    assert(trunc_it(2.7) == 2);\n    assert(trunc_it(-3.5) == -3);\n    assert(trunc_it(9.99) == 9);\n}\n";
    let rs = run(
        65126,
        Language::Cpp,
        trunc,
        &[
            case(
                "a type macro redefined after the function",
                "#include <cmath>\n#define T float\nT trunc_it(T x) { return x; }\n#undef T\n#define T int\n",
                &[Crashed],
                None,
            ),
            case(
                "`#define int long long`, right",
                "#include <cmath>\n#define int long long\nint trunc_it(double x) { return (int)x; }\n#undef int\n",
                &[Crashed],
                None,
            ),
            case(
                "a declaration under #if 0, the function in a namespace",
                "#include <cmath>\n#if 0\nint trunc_it(int x);\n#endif\nnamespace { float trunc_it(float x) { return x; } }\n",
                &[Crashed],
                None,
            ),
            case(
                "honest right",
                "#include <cmath>\nint trunc_it(double x) { return (int)x; }\n",
                &[Pass],
                Some((3, 3)),
            ),
        ],
    );
    for r in rs.iter().take(2) {
        assert!(
            r.detail.contains("otherwise than the executor read it"),
            "{r:?}"
        );
    }
    let incr = "#undef NDEBUG\n#include<assert.h>\nbool issame(vector<int> a, vector<int> b){ return a == b; }\nint main(){\n    assert (issame(incr_list({3, 2, 1}), {4, 3, 2}));\n    assert (issame(incr_list({}), {}));\n}\n";
    run(
        65123,
        Language::Cpp,
        incr,
        &[
            case(
                "by value",
                "#include <vector>\nusing namespace std;\nvector<int> incr_list(vector<int> l) { for (auto& x : l) x++; return l; }\n",
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "by const reference",
                "#include <vector>\nusing namespace std;\nvector<int> incr_list(const vector<int>& l) { vector<int> r = l; for (auto& x : r) x++; return r; }\n",
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "by non-const reference: a temporary does not bind",
                "#include <vector>\nusing namespace std;\nvector<int> incr_list(vector<int>& l) { for (auto& x : l) x++; return l; }\n",
                &[CompileError],
                None,
            ),
            case(
                "by rvalue reference: a temporary binds",
                "#include <vector>\nusing namespace std;\nvector<int> incr_list(vector<int>&& l) { for (auto& x : l) x++; return l; }\n",
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "no #include <vector>",
                "using namespace std;\nvector<int> incr_list(vector<int> l) { for (auto& x : l) x++; return l; }\n",
                &[CompileError],
                None,
            ),
            case(
                "std's names not opened, the test uses them unqualified",
                "#include <vector>\nstd::vector<int> incr_list(std::vector<int> l) { for (auto& x : l) x++; return l; }\n",
                &[CompileError],
                None,
            ),
        ],
    );
}

/// A sandbox review, round 13: a C++ sample listed the compile cache's build area (every
/// sample's program of the toolchain; its path is in its own source, which includes the
/// precompiled header) and ran an earlier sample's right program in its place, on the judge's
/// pipes: a wrong answer passed. And the sample's own program ran under the compilers' limits
/// (2 GiB of address space at `memory_mb` 1024, 128 processes instead of 64).
#[test]
fn a_compiled_sample_reads_no_other_build_and_runs_under_its_own_limits() {
    // `add` is right only when the build area cannot be opened. Its path: the program's own
    // (a cached build runs from `<cache>/.../build/<key>/cand`), else the precompiled header's
    // in its source (a fresh build); finding neither counts as reaching it (so that this
    // probe cannot pass by missing its target).
    let cache_probe = cpp_probe(
        "    char b[4096] = \"\";\n    char exe[2048] = \"\";\n    ssize_t n = readlink(\"/proc/self/exe\", exe, sizeof exe - 1);\n    if (n > 0) exe[n] = 0;\n    char* at = strstr(exe, \"/build/\");\n    if (at) {\n        snprintf(b, sizeof b, \"%.*s/build\", (int)(at - exe), exe);\n    } else {\n        char src[16384] = \"\";\n        int fd = open(\"/tmp/work/cand.cpp\", O_RDONLY);\n        if (fd < 0) return true;\n        if (read(fd, src, sizeof src - 1) < 0) return true;\n        close(fd);\n        char* s = strstr(src, \"/pch/\");\n        if (!s) return true;\n        char* q = s;\n        while (q > src && q[-1] != '\"') q--;\n        snprintf(b, sizeof b, \"%.*s/build\", (int)(s - q), q);\n    }\n    DIR* d = opendir(b);\n    if (d) { closedir(d); return true; }\n    return false;",
    );
    let memory = format!(
        "{CPP_HEAD}#include<new>\nstatic bool big() {{\n    try {{\n        size_t n = (size_t)1536 << 20;\n        char* p = new char[n];\n        for (size_t i = 0; i < n; i += 4096) p[i] = 1;\n        return true;\n    }} catch (...) {{ return false; }}\n}}\nint add(int a, int b) {{ static bool r = big(); return r ? a + b : a - b; }}\n"
    );
    let processes = format!(
        "{CPP_HEAD}static bool many() {{\n    int n = 0;\n    for (int i = 0; i < 100; i++) {{\n        pid_t p = fork();\n        if (p == 0) {{ sleep(3); _exit(0); }}\n        if (p > 0) n++;\n    }}\n    return n == 100;\n}}\nint add(int a, int b) {{ static bool r = many(); return r ? a + b : a - b; }}\n"
    );
    run(
        65124,
        Language::Cpp,
        CPP_TEST,
        &[
            case(
                "honest right",
                &format!("{CPP_HEAD}int add(int a, int b) {{ return a + b; }}"),
                &[Pass],
                Some((3, 3)),
            ),
            case("the build area", &cache_probe, &[Pass], Some((3, 3))),
            case("1.5 GiB at memory_mb 1024", &memory, FAIL, Some((0, 3))),
        ],
    );
    if rrtf_exec::sandbox::Protections::probe().per_worker_process_limit() {
        run(
            65125,
            Language::Cpp,
            CPP_TEST,
            &[case("100 processes", &processes, FAIL, Some((0, 3)))],
        );
    }
}

/// HumanEval-X Java/45's prompt and test (`triangleArea`), the shape of the attacker's review
/// 13 findings on overloads and imports.
const JAVA_AREA_PROMPT: &str = "import java.util.*;\nimport java.lang.*;\n\nclass Solution {\n    /**\n    Given length of a side and high return area for a triangle.\n    >>> triangleArea(5, 3)\n    7.5\n     */\n    public double triangleArea(double a, double h) {\n";
const JAVA_AREA_TEST: &str = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                s.triangleArea(5, 3) == 7.5,\n                s.triangleArea(2, 2) == 2.0,\n                s.triangleArea(10, 8) == 40.0\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";

/// An attacker's review, round 13: the candidate's dispatch cast each argument to its box
/// (`(Double) RrtfRt.as(...)`), so a sample's `triangleArea(Double, Double)` took the call the
/// test's `triangleArea(5, 3)` makes to `triangleArea(double, double)` in one program; and an
/// overload the class inherits from a class of the sample's (`Shapes.triangleArea(int, int)`,
/// which the test's int arguments reach first in one program) or an interface's default method
/// was never seen. Both forged passes of wrong answers. Round 13 refused every overloaded name
/// (`crashed`), an honest answer's `fib(n)` beside `fib(n, memo)` too. Now the judge has a stub
/// for every overload a call may reach (the class's own and those it inherits from the sample's
/// types), so javac resolves the test's call as in one program and the candidate's dispatch
/// calls that very overload; every verdict below is the one program's (javac + java -ea). A
/// class that extends a type the executor cannot read still has no judge (`crashed`).
#[test]
fn java_overloads_resolve_as_in_one_program() {
    let completion = |end: &str| format!("{JAVA_AREA_PROMPT}{end}");
    run_answering(
        65200,
        Language::Java,
        JAVA_AREA_TEST,
        Some(JAVA_AREA_PROMPT),
        &[
            case(
                "honest right",
                &completion("        return a * h / 2;\n    }\n}\n"),
                &[Pass],
                Some((3, 3)),
            ),
            case(
                "honest wrong",
                &completion("        return a * h;\n    }\n}\n"),
                FAIL,
                Some((0, 3)),
            ),
            // The one program calls the primitive overload: a test failure.
            case(
                "a boxed overload holds the right answer",
                &completion(
                    "        return a * h;\n    }\n\n    public double triangleArea(Double a, Double h) {\n        return a * h / 2;\n    }\n}\n",
                ),
                FAIL,
                Some((0, 3)),
            ),
            case(
                "right, with an overload the test does not call",
                &completion(
                    "        return a * h / 2;\n    }\n\n    public double triangleArea(String a, String h) {\n        return 0;\n    }\n}\n",
                ),
                &[Pass],
                Some((3, 3)),
            ),
            // One program: `long` is more specific than `double`, so the int calls reach it.
            case(
                "right, with a wrong long overload",
                &completion(
                    "        return a * h / 2;\n    }\n\n    public double triangleArea(long a, long h) {\n        return 0;\n    }\n}\n",
                ),
                FAIL,
                Some((0, 3)),
            ),
            // A private overload the test's class cannot call (it would take the int calls).
            case(
                "right, with a private overload",
                &completion(
                    "        return a * h / 2;\n    }\n\n    private double triangleArea(int a, int h) {\n        return 0;\n    }\n}\n",
                ),
                &[Pass],
                Some((3, 3)),
            ),
            // An honest helper overload (memo) beside the method under test.
            case(
                "right, an overload of its own as a helper",
                &completion(
                    "        return triangleArea(a, h, 2);\n    }\n\n    public double triangleArea(double a, double h, int d) {\n        return a * h / d;\n    }\n}\n",
                ),
                &[Pass],
                Some((3, 3)),
            ),
        ],
    );
    let shapes = "import java.util.*;\nimport java.lang.*;\n\nclass Shapes {\n    public double triangleArea(int a, int h) {\n        return a * h / 2;\n    }\n}\n\nclass Solution extends Shapes {\n    public double triangleArea(double a, double h) {\n        return a * h / 2;\n    }\n}\n";
    run_answering(
        65210,
        Language::Java,
        JAVA_AREA_TEST,
        Some(JAVA_AREA_PROMPT),
        &[
            // One program: the inherited `triangleArea(int, int)` takes the int calls (5 * 3 / 2
            // is 7.0; 2.0 and 40.0 are right).
            case(
                "an overload of its superclass",
                shapes,
                &[Partial],
                Some((2, 3)),
            ),
            case(
                "an overload two superclasses up",
                &shapes
                    .replace("class Shapes {", "class Shapes extends Base {")
                    .replace(
                        "    public double triangleArea(int a, int h) {\n        return a * h / 2;\n    }\n",
                        "",
                    )
                    .replace(
                        "class Solution extends",
                        "class Base {\n    public double triangleArea(int a, int h) {\n        return a * h / 2;\n    }\n}\n\nclass Solution extends",
                    ),
                &[Partial],
                Some((2, 3)),
            ),
            // `tri\u0061ngleArea` is `triangleArea` to javac.
            case(
                "an overload of its superclass, its name escaped",
                &shapes.replace(
                    "public double triangleArea(int a, int h)",
                    "public double tri\\u0061ngleArea(int a, int h)",
                ),
                &[Partial],
                Some((2, 3)),
            ),
            case(
                "a default method of an interface it implements",
                "import java.util.*;\n\ninterface Shapes {\n    default double triangleArea(int a, int h) {\n        return a * h / 2;\n    }\n}\n\nclass Solution implements Shapes {\n    public double triangleArea(double a, double h) {\n        return a * h / 2;\n    }\n}\n",
                &[Partial],
                Some((2, 3)),
            ),
            case(
                "an abstract overload it implements",
                "import java.util.*;\n\nabstract class Shapes {\n    abstract double triangleArea(int a, int h);\n}\n\nclass Solution extends Shapes {\n    double triangleArea(int a, int h) {\n        return a * h / 2;\n    }\n    public double triangleArea(double a, double h) {\n        return a * h / 2;\n    }\n}\n",
                &[Partial],
                Some((2, 3)),
            ),
        ],
    );
    // A superclass the executor cannot read (the JDK's: it may declare the name too).
    let results = run_answering(
        65211,
        Language::Java,
        JAVA_AREA_TEST,
        Some(JAVA_AREA_PROMPT),
        &[case(
            "a JDK superclass",
            "import java.util.*;\n\nclass Solution extends ArrayList<Integer> {\n    public double triangleArea(double a, double h) {\n        return a * h / 2;\n    }\n}\n",
            &[Crashed],
            Some((0, 0)),
        )],
    );
    if let Some(r) = results.first() {
        assert!(
            r.detail.starts_with("the judge cannot run this test")
                && r.detail.contains("ArrayList"),
            "{r:?}"
        );
    }
    // Superclasses that declare no such name, and `extends Object`, keep their verdicts.
    run_answering(
        65212,
        Language::Java,
        JAVA_AREA_TEST,
        Some(JAVA_AREA_PROMPT),
        &[
            case(
                "right, a superclass of its own",
                "import java.util.*;\n\nclass Base {\n    protected double half(double x) {\n        return x / 2;\n    }\n}\n\nclass Solution extends Base {\n    public double triangleArea(double a, double h) {\n        return half(a * h);\n    }\n}\n",
                &[Pass],
                Some((3, 3)),
            ),
            case(
                "wrong, a superclass of its own",
                "import java.util.*;\n\nclass Base {\n    protected double half(double x) {\n        return x;\n    }\n}\n\nclass Solution extends Base {\n    public double triangleArea(double a, double h) {\n        return half(a * h);\n    }\n}\n",
                FAIL,
                Some((0, 3)),
            ),
            case(
                "right, extends Object",
                "import java.util.*;\n\nclass Solution extends java.lang.Object {\n    public double triangleArea(double a, double h) {\n        return a * h / 2;\n    }\n}\n",
                &[Pass],
                Some((3, 3)),
            ),
        ],
    );
}

/// HumanEval-X Java/34 (`unique`): its prompt.
const JAVA_UNIQUE_PROMPT: &str = "import java.util.*;\nimport java.lang.*;\n\nclass Solution {\n    /**\n    Return sorted unique elements in a list\n    >>> unique(Arrays.asList(5, 3, 5, 2, 3, 3, 9, 0, 123))\n    [0, 2, 3, 5, 9, 123]\n     */\n    public List<Integer> unique(List<Integer> l) {\n";

/// An attacker's review, round 13: a returned collection of a class of the sample's (an
/// anonymous `ArrayList` overriding `toArray`, which the encoder read and the test's `equals`
/// does not) crossed as what its overridable methods said: a forged pass. Only a collection
/// whose exact class is the JDK's, wrapping nothing but the JDK's, is a plain value now; a
/// subclass, or a view (unmodifiable, synchronized, a sub-list) over one, is the sample's
/// runtime error.
#[test]
fn java_collections_cross_only_from_the_jdk_s_own_classes() {
    let completion = |end: &str| format!("{JAVA_UNIQUE_PROMPT}{end}\n    }}\n}}\n");
    let test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                s.unique(new ArrayList<>(Arrays.asList(5, 3, 5, 2, 3, 3, 9, 0, 123))).equals(Arrays.asList(0, 2, 3, 5, 9, 123))\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    let sorted_to_array = "new ArrayList<Integer>(new LinkedHashSet<Integer>(l)) {\n            @Override public Object[] toArray() {\n                Object[] a = super.toArray();\n                Arrays.sort(a);\n                return a;\n            }\n        }";
    let not_plain = |what: &'static str, body: String| {
        case(what, &completion(&body), &[RuntimeError], Some((0, 1)))
    };
    let right =
        |what: &'static str, body: &str| case(what, &completion(body), &[Pass], Some((1, 1)));
    let results = run_answering(
        65213,
        Language::Java,
        test,
        Some(JAVA_UNIQUE_PROMPT),
        &[
            not_plain(
                "a subclass whose toArray sorts",
                format!("        List<Integer> r = {sorted_to_array};\n        return r;"),
            ),
            not_plain(
                "an unmodifiable view of it",
                format!("        return Collections.unmodifiableList({sorted_to_array});"),
            ),
            not_plain(
                "a synchronized view of it",
                format!("        return Collections.synchronizedList({sorted_to_array});"),
            ),
            not_plain(
                "a sub-list of it",
                format!(
                    "        List<Integer> r = {sorted_to_array};\n        return r.subList(0, r.size());"
                ),
            ),
            right(
                "right: an ArrayList",
                "        return new ArrayList<>(new TreeSet<>(l));",
            ),
            right(
                "right: a LinkedList",
                "        return new LinkedList<>(new TreeSet<>(l));",
            ),
            right(
                "right: List.copyOf",
                "        return List.copyOf(new TreeSet<>(l));",
            ),
            right(
                "right: Stream.toList",
                "        return l.stream().distinct().sorted().toList();",
            ),
            right(
                "right: an unmodifiable view",
                "        return Collections.unmodifiableList(new ArrayList<>(new TreeSet<>(l)));",
            ),
            right(
                "right: a synchronized view",
                "        return Collections.synchronizedList(new ArrayList<>(new TreeSet<>(l)));",
            ),
            right(
                "right: Arrays.asList",
                "        return Arrays.asList(new TreeSet<>(l).toArray(new Integer[0]));",
            ),
            right(
                "right: a sub-list",
                "        List<Integer> r = new ArrayList<>(new TreeSet<>(l));\n        r.add(-1);\n        return r.subList(0, r.size() - 1);",
            ),
        ],
    );
    for r in results.iter().take(4) {
        assert!(r.detail.contains("not a plain value"), "{r:?}");
    }
    // A comparator of the sample's decides a TreeSet's `contains`, so the test's `equals` in
    // one program (here: never equal, a test failure), where the judge read the elements.
    let evens = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (!s.evens(Arrays.asList(1, 2, 3, 4)).equals(new HashSet<>(Arrays.asList(2, 4)))) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    let with = |set: &str| {
        format!(
            "import java.util.*;\nclass Solution {{\n    public Set<Integer> evens(List<Integer> l) {{\n        Set<Integer> r = {set};\n        for (int x : l) if (x % 2 == 0) r.add(x);\n        return r;\n    }}\n}}\n"
        )
    };
    let results = run(
        65218,
        Language::Java,
        evens,
        &[
            case(
                "a TreeSet whose comparator finds nothing",
                &with("new TreeSet<>((a, b) -> 1)"),
                &[RuntimeError],
                Some((0, 1)),
            ),
            case(
                "right: a TreeSet in the JDK's reverse order",
                &with("new TreeSet<>(Comparator.reverseOrder())"),
                &[Pass],
                Some((1, 1)),
            ),
            case(
                "right: a HashSet",
                &with("new HashSet<>()"),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    if let Some(r) = results.first() {
        assert!(r.detail.contains("not a plain value"), "{r:?}");
    }
}

/// An attacker's review, round 13: an unmodifiable result (`stream().toList()`, `List.of`,
/// `Collections.unmodifiableList`) that the test changes (`Collections.reverse`) throws in one
/// program; the judge rebuilt an `ArrayList`, and the test passed. The kind of a collection
/// now crosses the wire both ways (an argument the test made with `List.of` refuses the
/// sample's `sort` too), nulls where the kind allows them.
#[test]
fn java_unmodifiable_collections_stay_unmodifiable() {
    let completion = |end: &str| format!("{JAVA_UNIQUE_PROMPT}{end}\n    }}\n}}\n");
    let reverse = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Integer> r = s.unique(new ArrayList<>(Arrays.asList(5, 3, 5, 2, 3, 3, 9, 0, 123)));\n        Collections.reverse(r);\n        List<Boolean> correct = Arrays.asList(\n                r.equals(Arrays.asList(123, 9, 5, 3, 2, 0))\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    const NOT_PASS: &[Outcome] = &[RuntimeError, TestFailure];
    let results = run_answering(
        65214,
        Language::Java,
        reverse,
        Some(JAVA_UNIQUE_PROMPT),
        &[
            case(
                "Stream.toList",
                &completion("        return l.stream().distinct().sorted().toList();"),
                NOT_PASS,
                Some((0, 1)),
            ),
            case(
                "List.copyOf",
                &completion("        return List.copyOf(new TreeSet<>(l));"),
                NOT_PASS,
                Some((0, 1)),
            ),
            case(
                "an unmodifiable view",
                &completion(
                    "        return Collections.unmodifiableList(new ArrayList<>(new TreeSet<>(l)));",
                ),
                NOT_PASS,
                Some((0, 1)),
            ),
            case(
                "right: an ArrayList",
                &completion("        return new ArrayList<>(new TreeSet<>(l));"),
                &[Pass],
                Some((1, 1)),
            ),
            // Fixed-size, but `set` works: reversing it is fine in one program too.
            case(
                "right: Arrays.asList",
                &completion(
                    "        return Arrays.asList(new TreeSet<>(l).toArray(new Integer[0]));",
                ),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    for r in &results[..3] {
        assert!(r.detail.contains("UnsupportedOperationException"), "{r:?}");
    }
    // Nulls: `List.of` refuses even to look for one, `Stream.toList` and the unmodifiable
    // views hold them.
    let nulls = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Integer> r = s.unique(new ArrayList<>(Arrays.asList(2, 1)));\n        if (!(r.size() == 2 || r.get(2) == null)) {\n            throw new AssertionError();\n        }\n        if (r.contains(null) != (r.size() == 3)) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    run_answering(
        65215,
        Language::Java,
        nulls,
        Some(JAVA_UNIQUE_PROMPT),
        &[
            // The first check holds, the second throws (one program: the same).
            case(
                "List.copyOf: contains(null) throws",
                &completion("        return List.copyOf(new TreeSet<>(l));"),
                &[Partial],
                Some((1, 2)),
            ),
            case(
                "right: an ArrayList",
                &completion("        return new ArrayList<>(new TreeSet<>(l));"),
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "right: Stream.toList with a null",
                &completion(
                    "        List<Integer> r = new ArrayList<>(new TreeSet<>(l));\n        r.add(null);\n        return r.stream().toList();",
                ),
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "right: an unmodifiable view with a null",
                &completion(
                    "        List<Integer> r = new ArrayList<>(new TreeSet<>(l));\n        r.add(null);\n        return Collections.unmodifiableList(r);",
                ),
                &[Pass],
                Some((2, 2)),
            ),
            case(
                "right: Stream.toList",
                &completion("        return l.stream().sorted().toList();"),
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    // The test's `List.of` argument: the sample's in-place sort throws in one program.
    let immutable_arg = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (!s.unique(List.of(3, 1, 2)).equals(Arrays.asList(1, 2, 3))) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    run_answering(
        65216,
        Language::Java,
        immutable_arg,
        Some(JAVA_UNIQUE_PROMPT),
        &[
            case(
                "sorts its argument in place",
                &completion("        Collections.sort(l);\n        return l;"),
                &[RuntimeError],
                Some((0, 1)),
            ),
            case(
                "right: sorts a copy",
                &completion(
                    "        List<Integer> r = new ArrayList<>(l);\n        Collections.sort(r);\n        return r;",
                ),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
}

/// An attacker's review, round 13: the judge's test always had `java.util.*` and three more
/// packages imported, so a chat answer without `import java.util.*;` whose test uses `List`
/// and `Arrays` passed, while the one program does not compile. The test now sees the code's
/// imports (a completion's come with its prompt), as in one program.
#[test]
fn java_the_test_sees_the_code_s_imports() {
    let area = |imports: &str| {
        format!(
            "{imports}class Solution {{\n    public double triangleArea(double a, double h) {{\n        return a * h / 2;\n    }}\n}}\n"
        )
    };
    run_answering(
        65217,
        Language::Java,
        JAVA_AREA_TEST,
        Some(JAVA_AREA_PROMPT),
        &[
            case("no imports", &area(""), &[CompileError], None),
            case(
                "List imported, Arrays not",
                &area("import java.util.List;\n"),
                &[CompileError],
                None,
            ),
            case(
                "java.util.*",
                &area("import java.util.*;\n"),
                &[Pass],
                Some((3, 3)),
            ),
            case(
                "both classes, on one line",
                &area("import java.util.List; import java.util.Arrays;\n"),
                &[Pass],
                Some((3, 3)),
            ),
            case(
                "a completion: the prompt's imports",
                &format!("{JAVA_AREA_PROMPT}        return a * h / 2;\n    }}\n}}\n"),
                &[Pass],
                Some((3, 3)),
            ),
        ],
    );
}

/// Round 16's findings, mended: a Java test holding one list twice (two arguments, or one row
/// twice in a grid) crossed to the candidate as two copies, so a sample that cleared the one
/// still read the other (a forged pass: one program sees the list empty); now `crashed`, as
/// Go and C++ refuse it, while one immutable value twice (`List.of()` is one object) is
/// judged. A Java sample that kept an argument and cleared it at a later call, or returned its
/// own list and refilled it later, passed (Java watched only the current call's arguments);
/// now the candidate watches every collection the test may hold, as Go's does. Go's (and now
/// Java's) watch of them is bounded: past the bound a change went unseen (a forged pass), now
/// the judge says it cannot stand for the test (`crashed`).
#[test]
fn round_seventeen_what_the_test_holds_is_the_one_program_s() {
    let java_main = |body: &str| {
        format!(
            "import java.util.*;\npublic class Main {{\n    public static void main(String[] args) {{\n        Solution s = new Solution();\n{body}    }}\n}}\n"
        )
    };
    let both = "import java.util.*;\nclass Solution {\n    // the sum of both lists' elements (this one empties the first: wrong)\n    public int both(List<Integer> x, List<Integer> y) {\n        int t = 0;\n        for (int v : x) t += v;\n        x.clear();\n        for (int v : y) t += v;\n        return t;\n    }\n}\n";
    run(
        65163,
        Language::Java,
        &java_main(
            "        if (s.both(List.of(), List.of()) != 0) { throw new AssertionError(); }\n        if (s.both(List.of(1), List.of(2)) != 3) { throw new AssertionError(); }\n",
        ),
        &[case(
            "one immutable list twice, judged",
            &both.replace("        x.clear();\n", ""),
            &[Pass],
            Some((2, 2)),
        )],
    );
    let rs = run(
        65164,
        Language::Java,
        &java_main(
            "        List<Integer> a = new ArrayList<>(Arrays.asList(1, 2, 3));\n        if (s.both(a, a) != 12) { throw new AssertionError(); }\n",
        ),
        &[case("one list as two arguments", both, &[Crashed], None)],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("twice"), "{r:?}");
    }
    run(
        65165,
        Language::Java,
        &java_main(
            "        List<Integer> row = new ArrayList<>(Arrays.asList(1, 2));\n        List<List<Integer>> g = new ArrayList<>(Arrays.asList(row, row));\n        if (s.total(g) != 6) { throw new AssertionError(); }\n",
        ),
        &[case(
            "one row twice in a grid",
            "import java.util.*;\nclass Solution {\n    // the sum of the grid's elements (this one empties each row it read: wrong)\n    public int total(List<List<Integer>> g) {\n        int t = 0;\n        for (List<Integer> r : g) { for (int v : r) t += v; r.clear(); }\n        return t;\n    }\n}\n",
            &[Crashed],
            None,
        )],
    );
    run(
        65166,
        Language::Java,
        &java_main(
            "        List<Integer> a = new ArrayList<>(Arrays.asList(1, 2, 3));\n        List<Integer> b = new ArrayList<>(Arrays.asList(4, 5));\n        if (s.total(a) != 6) { throw new AssertionError(); }\n        if (s.total(b) != 9) { throw new AssertionError(); }\n        if (!a.equals(Arrays.asList(1, 2, 3))) { throw new AssertionError(); }\n",
        ),
        &[
            case(
                "clears the argument it kept, at the next call",
                "import java.util.*;\nclass Solution {\n    private List<Integer> last;\n    public int total(List<Integer> l) {\n        if (last != null) last.clear();\n        last = l;\n        int t = 0;\n        for (int v : l) t += v;\n        return t;\n    }\n}\n",
                &[Partial],
                Some((2, 3)),
            ),
            case(
                "right",
                "import java.util.*;\nclass Solution {\n    public int total(List<Integer> l) {\n        int t = 0;\n        for (int v : l) t += v;\n        return t;\n    }\n}\n",
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    let refill = |ret: &str| {
        format!(
            "import java.util.*;\nclass Solution {{\n    private final List<Integer> buf = new ArrayList<>();\n    // 1..n (this one returns its own list, refilled at the next call: wrong)\n    public List<Integer> upTo(int n) {{\n        buf.clear();\n        for (int i = 1; i <= n; i++) buf.add(i);\n        return {ret};\n    }}\n}}\n"
        )
    };
    run(
        65167,
        Language::Java,
        &java_main(
            "        List<Integer> r1 = s.upTo(2);\n        List<Integer> r2 = s.upTo(3);\n        if (!r1.equals(Arrays.asList(1, 2))) { throw new AssertionError(); }\n        if (!r2.equals(Arrays.asList(1, 2, 3))) { throw new AssertionError(); }\n",
        ),
        &[
            case(
                "returns its list, refilled later",
                &refill("buf"),
                &[Partial],
                Some((1, 2)),
            ),
            case(
                "returns a view of its list, refilled later",
                &refill("Collections.unmodifiableList(buf)"),
                &[Partial],
                Some((1, 2)),
            ),
            case(
                "right",
                &refill("new ArrayList<>(buf)"),
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    let rs = run(
        65168,
        Language::Java,
        &java_main(
            "        List<List<Integer>> rs = new ArrayList<>();\n        for (int i = 0; i < 1030; i++) rs.add(s.last(i));\n        if (!rs.get(0).equals(Arrays.asList(0))) { throw new AssertionError(); }\n",
        ),
        &[case(
            "changes a result after the judge stopped watching it",
            "import java.util.*;\nclass Solution {\n    private final List<Integer> first = new ArrayList<>();\n    // [x] (this one changes its first answer at call 1029: wrong)\n    public List<Integer> last(int x) {\n        if (x == 0) { first.add(0); return first; }\n        if (x == 1029) first.set(0, 7);\n        return new ArrayList<>(Arrays.asList(x));\n    }\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("watches"), "{r:?}");
    }
    // A type parameter named like the JDK's class: the method returns its erasure, `Object`,
    // and the test's `==` does not compile in one program; the judge's stub read `Integer`.
    let rs = run(
        65171,
        Language::Java,
        &java_main(
            "        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(2, 2) == 4);
        if (correct.contains(false)) { throw new AssertionError(); }
",
        ),
        &[case(
            "a return type the test cannot compare",
            "import java.util.*;
class Solution<Integer> {
    public Integer add(int a, int b) { return (Integer) (Object) java.lang.Integer.valueOf(a + b); }
}
",
            &[Crashed, CompileError],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(
            r.outcome == CompileError || r.detail.contains("return"),
            "{r:?}"
        );
    }
    // The test's `new Solution()` does not compile in one program when the constructor is
    // private, or the class abstract: the judge's stub had one, and static methods need none.
    for (uid, what, head) in [
        (
            65173,
            "a private constructor",
            "class Solution {\n    private Solution() {}\n",
        ),
        (65174, "an abstract class", "abstract class Solution {\n"),
    ] {
        let rs = run(
            uid,
            Language::Java,
            &java_main(
                "        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(2, 2) == 4);\n        if (correct.contains(false)) { throw new AssertionError(); }\n",
            ),
            &[case(
                what,
                &format!(
                    "import java.util.*;\n{head}    public static int add(int a, int b) {{ return a + b; }}\n}}\n"
                ),
                &[CompileError],
                None,
            )],
        );
        if let Some(r) = rs.first() {
            assert!(
                r.detail.contains("new Solution()") && r.tests_passed == 0,
                "{r:?}"
            );
        }
    }
    // The test changes its list after the call; a sample that stored the list (not a copy)
    // sees the change at the next call in one program (the right one copies it).
    let acc = |store: &str| {
        format!(
            "import java.util.*;\nclass Solution {{\n    private List<Integer> kept = new ArrayList<>();\n    // stores a copy of a non-empty list; returns the stored list's sum\n    public int acc(List<Integer> l) {{\n        if (!l.isEmpty()) kept = {store};\n        int t = 0;\n        for (int v : kept) t += v;\n        return t;\n    }}\n}}\n"
        )
    };
    run(
        65175,
        Language::Java,
        &java_main(
            "        List<Integer> xs = new ArrayList<>(Arrays.asList(1, 2, 3));\n        if (s.acc(xs) != 6) { throw new AssertionError(); }\n        xs.set(0, 100);\n        if (s.acc(new ArrayList<>()) != 6) { throw new AssertionError(); }\n",
        ),
        &[
            case(
                "stores the test's list, not a copy",
                &acc("l"),
                &[Partial],
                Some((1, 2)),
            ),
            case("right", &acc("new ArrayList<>(l)"), &[Pass], Some((2, 2))),
        ],
    );
    let go_acc = |store: &str| {
        format!(
            "var kept []int\n\n// stores a copy of a non-empty slice; returns the stored slice's sum\nfunc Acc(xs []int) int {{\n\tif len(xs) > 0 {{\n\t\tkept = {store}\n\t}}\n\tt := 0\n\tfor _, x := range kept {{\n\t\tt += x\n\t}}\n\treturn t\n}}\n"
        )
    };
    run(
        65176,
        Language::Go,
        "func TestAcc(t *testing.T) {\n\tassert := assert.New(t)\n\txs := []int{1, 2, 3}\n\tassert.Equal(6, Acc(xs))\n\txs[0] = 100\n\tassert.Equal(6, Acc([]int{}))\n}\n",
        &[
            case(
                "stores the test's slice, not a copy",
                &go_acc("xs"),
                &[Partial],
                Some((1, 2)),
            ),
            case(
                "right",
                &go_acc("append([]int(nil), xs...)"),
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    // An attacker's review, round 17 (Java): a method or constructor declaring a checked
    // exception does not compile with HumanEval-X's `main`; a constructor the test's `new`
    // runs has effects even when the method under test is static; a list returned inside an
    // `Optional` and refilled later; a map's sub-set view passed with the set itself; a row
    // the test holds of a result that grows later. Each passed.
    for (uid, what, code, test_body, want, counts) in [
        (
            65177,
            "a method declaring a checked exception",
            "import java.util.*;\nclass Solution {\n    public int add(int a, int b) throws Exception { return a + b; }\n}\n",
            "        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(5, 5) == 10);\n        if (correct.contains(false)) { throw new AssertionError(); }\n",
            &[CompileError][..],
            None,
        ),
        (
            65178,
            "a constructor declaring a checked exception, and throwing it",
            "import java.util.*;\nclass Solution {\n    public Solution() throws java.io.IOException {\n        if (System.nanoTime() != 0) throw new java.io.IOException(\"no\");\n    }\n    public int add(int a, int b) { return a + b; }\n}\n",
            "        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(5, 5) == 10);\n        if (correct.contains(false)) { throw new AssertionError(); }\n",
            &[CompileError][..],
            None,
        ),
        (
            65179,
            "a constructor with effects, a static method",
            "import java.util.*;\nclass Solution {\n    static int base = 0;\n    public Solution() { base = 100; }\n    public static int add(int a, int b) { return a + b + base; }\n}\n",
            "        List<Boolean> correct = Arrays.asList(s.add(1, 2) == 3, s.add(5, 5) == 10);\n        if (correct.contains(false)) { throw new AssertionError(); }\n",
            &[TestFailure][..],
            Some((0, 2)),
        ),
        (
            65180,
            "a list returned in an Optional, refilled later",
            "import java.util.*;\nclass Solution {\n    private List<Integer> acc = new ArrayList<>();\n    public Optional<List<Integer>> f(int x) {\n        acc.clear();\n        for (int i = 0; i < x; i++) acc.add(i);\n        return Optional.of(acc);\n    }\n}\n",
            "        Optional<List<Integer>> a = s.f(2);\n        Optional<List<Integer>> b = s.f(3);\n        if (!(a.get().equals(Arrays.asList(0, 1)))) throw new AssertionError();\n        if (!(b.get().equals(Arrays.asList(0, 1, 2)))) throw new AssertionError();\n",
            &[Partial][..],
            Some((1, 2)),
        ),
        (
            65181,
            "a set and its own head set",
            "import java.util.*;\nclass Solution {\n    public int unionSize(Set<Integer> a, Set<Integer> b) {\n        a.removeAll(b);\n        return a.size() + b.size();\n    }\n}\n",
            "        TreeSet<Integer> t = new TreeSet<>(Arrays.asList(1, 2, 3, 4));\n        if (!(s.unionSize(t, t.headSet(3)) == 4)) throw new AssertionError();\n",
            &[Crashed][..],
            None,
        ),
        (
            65182,
            "a row of a result that grows later",
            "import java.util.*;\nclass Solution {\n    private List<List<Integer>> rows = new ArrayList<>();\n    public List<List<Integer>> addRow(int x) {\n        if (!rows.isEmpty()) rows.get(0).add(99);\n        rows.add(new ArrayList<>(Arrays.asList(x)));\n        return rows;\n    }\n}\n",
            "        List<Integer> first = s.addRow(1).get(0);\n        List<List<Integer>> all = s.addRow(2);\n        if (!(all.size() == 2)) throw new AssertionError();\n        if (!(first.equals(Arrays.asList(1)))) throw new AssertionError();\n",
            &[Partial][..],
            Some((1, 2)),
        ),
    ] {
        run(
            uid,
            Language::Java,
            &java_main(test_body),
            &[Case {
                what,
                code: code.to_string(),
                want,
                counts,
            }],
        );
    }
    // A name the code and the test both declare: one program does not compile (the judge
    // built them apart, and such answers passed). A module of another name is the code's own.
    let rs = run(
        65183,
        Language::Rust,
        RUST_TEST,
        &[
            case(
                "its own `mod tests`",
                "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn mine() { assert_eq!(add(1, 1), 2); }\n}\n",
                &[CompileError],
                None,
            ),
            case(
                "its own `mod my_tests`",
                "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\nmod my_tests {\n    use super::*;\n    #[test]\n    fn mine() { assert_eq!(add(1, 1), 2); }\n}\n",
                &[Pass],
                None,
            ),
        ],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("mod tests"), "{r:?}");
    }
    run(
        65184,
        Language::Go,
        "func TestAdd(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal(3, Add(1, 2))\n}\n",
        &[case(
            "its own `func TestAdd`",
            "import \"testing\"\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfunc TestAdd(t *testing.T) {}\n",
            &[CompileError],
            None,
        )],
    );
    let go_test = |n: u32| {
        format!(
            "func TestLast(t *testing.T) {{\n\tassert := assert.New(t)\n\trs := [][]int{{}}\n\tfor i := 0; i < {n}; i++ {{\n\t\trs = append(rs, Last(i))\n\t}}\n\tassert.Equal([]int{{0}}, rs[0])\n}}\n"
        )
    };
    let rs = run(
        65169,
        Language::Go,
        &go_test(1030),
        &[case(
            "changes a result after the judge stopped watching it",
            "var first = []int{0}\n\n// [x] (this one changes its first answer at call 1029: wrong)\nfunc Last(x int) []int {\n\tif x == 0 {\n\t\treturn first\n\t}\n\tif x == 1029 {\n\t\tfirst[0] = 7\n\t}\n\treturn []int{x}\n}\n",
            &[Crashed],
            None,
        )],
    );
    if let Some(r) = rs.first() {
        assert!(r.detail.contains("watches"), "{r:?}");
    }
    // A slice the test holds from a map it passes: the sample's change of the map's slice is
    // the test's slice's change (it was written back as a new slice under the key).
    run(
        65172,
        Language::Go,
        "func TestSum(t *testing.T) {\n\tassert := assert.New(t)\n\tm := map[string][]int{\"a\": {1, 2}}\n\ta := m[\"a\"]\n\tassert.Equal(3, Sum(m))\n\tassert.Equal([]int{1, 2}, a)\n}\n",
        &[case(
            "zeroes the map's slice it summed",
            "// the sum of every value (this one zeroes them: wrong)\nfunc Sum(m map[string][]int) int {\n\tt := 0\n\tfor _, xs := range m {\n\t\tfor i, x := range xs {\n\t\t\tt += x\n\t\t\txs[i] = 0\n\t\t}\n\t}\n\treturn t\n}\n",
            &[Partial],
            Some((1, 2)),
        )],
    );
    run(
        65170,
        Language::Go,
        &go_test(1000),
        &[case(
            "right, a thousand results held",
            "func Last(x int) []int {\n\treturn []int{x}\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
}

/// Round 18. C++: `std` opened by another route than `using namespace std;` (an alias, `::std`,
/// a macro) is opened in the judge too: the test's `abs(double)` stayed C's `int abs` there, so
/// a wrong float within 1 of the answer passed where one program's `std::abs` fails it.
/// JavaScript: a name the code and the test both declare, one of them with `const`, `let` or
/// `class`, is a SyntaxError of the one script (`compile_error`); the judge ran them apart and
/// passed. Go: memory the test and the sample share crosses as a reference (`rrtfRefs`), so the
/// sample sees the sharing one program has: a result passed back in (a sample writing one
/// package buffer passed `Reverse(Reverse(a))`), one row twice in an argument (a sample zeroing
/// the rows it read passed), one slice as two arguments (was `crashed`), a result that is its
/// argument (the test's later change of the argument is the result's).
#[test]
fn round_eighteen_verdicts_are_the_one_program_s() {
    let reverse = "package main\n\nvar buf []int\n\n// Reverse returns xs reversed (this one writes one package buffer: wrong when given a result of its own)\nfunc Reverse(xs []int) []int {\n\tif cap(buf) < len(xs) {\n\t\tbuf = make([]int, len(xs))\n\t}\n\tout := buf[:len(xs)]\n\tfor i, x := range xs {\n\t\tout[len(xs)-1-i] = x\n\t}\n\treturn out\n}\n";
    let fresh = "package main\n\n// Reverse returns xs reversed.\nfunc Reverse(xs []int) []int {\n\tout := make([]int, len(xs))\n\tfor i, x := range xs {\n\t\tout[len(xs)-1-i] = x\n\t}\n\treturn out\n}\n";
    run(
        65187,
        Language::Go,
        "func TestReverse(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal([]int{3, 2, 1}, Reverse([]int{1, 2, 3}))\n\tassert.Equal([]int{1, 2, 3}, Reverse(Reverse([]int{1, 2, 3})))\n\tr := Reverse([]int{4, 5, 6, 7})\n\tassert.Equal([]int{6, 7}, Reverse(r[0:2]))\n}\n",
        &[
            case("honest right", fresh, &[Pass], Some((3, 3))),
            case("a package buffer", reverse, &[Partial], Some((1, 3))),
        ],
    );
    let total = "package main\n\n// Total is the sum of every row's elements (this one zeroes each row it read: wrong when a row repeats)\nfunc Total(g [][]int) int {\n\tt := 0\n\tfor _, r := range g {\n\t\tfor i, x := range r {\n\t\t\tt += x\n\t\t\tr[i] = 0\n\t\t}\n\t}\n\treturn t\n}\n";
    run(
        65188,
        Language::Go,
        "func TestTotal(t *testing.T) {\n\tr := []int{1, 2}\n\tassert.Equal(t, 6, Total([][]int{r, r}))\n}\n",
        &[
            case(
                "zeroes a row that repeats",
                total,
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "honest right",
                &total
                    .replace("\t\t\tr[i] = 0\n", "")
                    .replace("for i, x", "for _, x"),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    let both = "package main\n\n// Both is the sum of both slices' elements (this one zeroes the first: wrong when they are one)\nfunc Both(x, y []int) int {\n\tt := 0\n\tfor i, v := range x {\n\t\tt += v\n\t\tx[i] = 0\n\t}\n\tfor _, v := range y {\n\t\tt += v\n\t}\n\treturn t\n}\n";
    run(
        65189,
        Language::Go,
        "func TestBoth(t *testing.T) {\n\ta := []int{1, 2, 3}\n\tassert.Equal(t, 12, Both(a, a))\n}\n",
        &[
            case(
                "zeroes one slice passed twice",
                both,
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "honest right",
                &both
                    .replace("\t\tx[i] = 0\n", "")
                    .replace("for i, v", "for _, v"),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    // Java (an attacker's review, round 18): a checked exception is covered only by a type the
    // test catches or declares that is one of its supertypes (any `catch` or `throws` in the
    // test had covered every one: javac rejects the one program), and two `Arrays.asList` of
    // one array are one collection passed twice.
    let adds = "import java.util.*;\nclass Solution {\n    public int add(int x, int y) throws java.io.IOException {\n        return x + y;\n    }\n}\n";
    let java_test = |throws: &str, pre: &str| {
        format!(
            "public class Main {{\n    public static void main(String[] args){throws} {{\n        Solution s = new Solution();\n{pre}        if (s.add(0, 1) != 1) {{ throw new AssertionError(); }}\n    }}\n}}\n"
        )
    };
    run(
        65193,
        Language::Java,
        &java_test(" throws InterruptedException", ""),
        &[case("an unrelated throws", adds, &[CompileError], None)],
    );
    run(
        65194,
        Language::Java,
        &java_test(
            "",
            "        int base;\n        try { base = Integer.parseInt(\"0\"); } catch (NumberFormatException e) { base = 0; }\n",
        ),
        &[case("an unrelated catch", adds, &[CompileError], None)],
    );
    run(
        65195,
        Language::Java,
        &java_test(" throws Exception", ""),
        &[case(
            "throws Exception covers it",
            adds,
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65196,
        Language::Java,
        "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        Integer[] arr = {1, 2, 3};\n        if (s.sumBoth(Arrays.asList(arr), Arrays.asList(arr)) != 12) { throw new AssertionError(); }\n    }\n}\n",
        &[case(
            "two views of one array",
            "import java.util.*;\nclass Solution {\n    // the sum of both lists (this one zeroes the first: wrong when they share storage)\n    public int sumBoth(List<Integer> a, List<Integer> b) {\n        int s = 0;\n        for (int i = 0; i < a.size(); i++) { s += a.get(i); a.set(i, 0); }\n        for (int x : b) s += x;\n        return s;\n    }\n}\n",
            &[Crashed],
            None,
        )],
    );
    // An attacker's review, round 18: a test growing its slice in place and passing it
    // again was `crashed` (the overlap refusal); a generic function or a `var` the test also
    // declares passed where one package does not build.
    run(
        65191,
        Language::Go,
        "func TestSum(t *testing.T) {\n\txs := []int{}\n\tfor i := 1; i <= 5; i++ {\n\t\txs = append(xs, i)\n\t\tassert.Equal(t, i*(i+1)/2, Sum(xs))\n\t}\n}\n",
        &[case(
            "honest right",
            "func Sum(xs []int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65192,
        Language::Go,
        "func abs(x int) int {\n\tif x < 0 {\n\t\treturn -x\n\t}\n\treturn x\n}\n\nfunc TestDist(t *testing.T) {\n\tassert.Equal(t, 3, abs(Dist(1, 4)))\n}\n",
        &[
            case(
                "a generic abs beside the test's",
                "type number interface{ ~int | ~float64 }\n\nfunc abs[T number](x T) T {\n\tif x < 0 {\n\t\treturn -x\n\t}\n\treturn x\n}\n\nfunc Dist(a, b int) int { return abs(a - b) }\n",
                &[CompileError],
                None,
            ),
            case(
                "a var named like the test's function",
                "var TestDist = 1\n\nfunc Dist(a, b int) int { return b - a }\n",
                &[CompileError],
                None,
            ),
        ],
    );
    run(
        65190,
        Language::Go,
        "func TestSorted(t *testing.T) {\n\ta := []int{3, 1, 2}\n\tr := Sorted(a)\n\ta[0] = 9\n\tassert.Equal(t, []int{1, 2, 3}, r)\n}\n",
        &[
            case(
                "returns its argument, sorted in place",
                "package main\n\nimport \"sort\"\n\n// Sorted returns xs sorted (in place: the caller's later change is the result's)\nfunc Sorted(xs []int) []int {\n\tsort.Ints(xs)\n\treturn xs\n}\n",
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "returns a sorted copy",
                "package main\n\nimport \"sort\"\n\n// Sorted returns a sorted copy of xs.\nfunc Sorted(xs []int) []int {\n\tout := append([]int(nil), xs...)\n\tsort.Ints(out)\n\treturn out\n}\n",
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    let js_test = "const testAdd = () => {\n  console.assert(add(1, 2) === 3)\n}\ntestAdd()\n";
    let add = "const add = (a, b) => a + b\n";
    run(
        65186,
        Language::JavaScript,
        js_test,
        &[
            case("honest right", add, &[Pass], Some((1, 1))),
            case(
                "right, with its own const testAdd",
                &format!("{add}const testAdd = () => {{}}\n"),
                &[CompileError],
                None,
            ),
            case(
                "right, with its own function testAdd",
                &format!("{add}function testAdd() {{}}\n"),
                &[CompileError],
                None,
            ),
            case(
                "right, with a var testAdd in a block",
                &format!("{add}if (add(1, 1) === 2) {{ var testAdd = 1 }}\n"),
                &[CompileError],
                None,
            ),
            case(
                "right, a JSDoc before its own const testAdd",
                &format!("{add}/**\n * a self-check\n */\nconst testAdd = () => {{}}\n"),
                &[CompileError],
                None,
            ),
            case(
                "right, a destructured key named testAdd",
                &format!("{add}const {{ testAdd: mine }} = {{ testAdd: 1 }}\n"),
                &[Pass],
                Some((1, 1)),
            ),
            case(
                "right, a const of the same name inside a function",
                &format!("{add}function helper() {{ const testAdd = 1; return testAdd }}\n"),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    let test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (abs(truncate_number(1.33) - 0.33) < 1e-4);\n}\n";
    let code = |open: &str, extra: &str| {
        format!(
            "#include<cstdlib>\n{open}\nfloat truncate_number(float number){{ return number - int(number){extra}; }}\n"
        )
    };
    let alias = "namespace s = std;\nusing namespace s;";
    run(
        65185,
        Language::Cpp,
        test,
        &[
            case(
                "honest right, std by an alias",
                &code(alias, ""),
                &[Pass],
                Some((1, 1)),
            ),
            case(
                "wrong by a half, std by an alias",
                &code(alias, " + 0.5"),
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "wrong by a half, ::std",
                &code("using namespace ::std;", " + 0.5"),
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "wrong by a half, a macro opens std",
                &code("#define U using namespace std\nU;", " + 0.5"),
                &[TestFailure],
                Some((0, 1)),
            ),
            // An attacker's review, round 18: five more routes.
            case(
                "wrong by a half, using std::abs",
                &code("using std::abs;", " + 0.5"),
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "wrong by a half, a line splice",
                &code("using namespace s\\\ntd;", " + 0.5"),
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "wrong by a half, a macro for namespace",
                &code("#define NS namespace\nusing NS std;", " + 0.5"),
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "wrong by a half, token pasting",
                &code(
                    "#define CAT(a, b) a##b\nusing namespace CAT(s, td);",
                    " + 0.5",
                ),
                &[TestFailure],
                Some((0, 1)),
            ),
            case(
                "wrong by a half, a macro for the test's abs",
                &code("#define abs(x) std::fabs(x)", " + 0.5"),
                &[Crashed],
                None,
            ),
        ],
    );
}

/// Round 19: a Go slice's spare capacity is its memory on both sides. The candidate's copy of
/// an argument had no capacity beyond its length, so `append(xs, v)` always allocated there: a
/// sample appending into its argument's spare capacity (twice on one base, the two results
/// share it; written, the test reads it back) was judged as if it copied, a forged pass where
/// the test expects a copy and an honest failure where it expects the sharing. Each verdict
/// here is the one program's (`go run` of test and sample together).
#[test]
fn round_nineteen_go_capacity_is_shared() {
    let appends = "package main\n\n// Push returns xs with v appended.\nfunc Push(xs []int, v int) []int {\n\treturn append(xs, v)\n}\n";
    let copies = "package main\n\n// Push returns xs with v appended, in new memory.\nfunc Push(xs []int, v int) []int {\n\tout := make([]int, len(xs), len(xs)+1)\n\tcopy(out, xs)\n\treturn append(out, v)\n}\n";
    let twice = "func TestPush(t *testing.T) {\n\ta := make([]int, 2, 4)\n\tb := Push(a, 1)\n\tc := Push(a, 2)\n\tassert.Equal(t, []int{0, 0, WANT}, b)\n\tassert.Equal(t, []int{0, 0, 2}, c)\n}\n";
    // The test expects the sharing: appending is right, copying wrong (was: the other way).
    run(
        65197,
        Language::Go,
        &twice.replace("WANT", "2"),
        &[
            case("appends into the capacity", appends, &[Pass], Some((2, 2))),
            case("copies", copies, &[Partial], Some((1, 2))),
        ],
    );
    // The test expects a copy: appending is wrong (was a forged pass), copying right.
    run(
        65198,
        Language::Go,
        &twice.replace("WANT", "1"),
        &[
            case(
                "appends into the capacity",
                appends,
                &[Partial],
                Some((1, 2)),
            ),
            case("copies", copies, &[Pass], Some((2, 2))),
        ],
    );
    // What the sample writes into spare capacity crosses back; a result's capacity crosses
    // too (the test's two appends onto one result share it, as in one program).
    let fill = "package main\n\n// Fill writes 7 and 8 after xs's elements, in its spare capacity.\nfunc Fill(xs []int) {\n\t_ = append(xs, 7, 8)\n}\n";
    run(
        65199,
        Language::Go,
        "func TestFill(t *testing.T) {\n\ta := make([]int, 1, 3)\n\tFill(a)\n\tassert.Equal(t, []int{0, 7, 8}, a[:3])\n}\n",
        &[
            case("writes its capacity", fill, &[Pass], Some((1, 1))),
            case(
                "writes nothing",
                &fill.replace("\t_ = append(xs, 7, 8)\n", ""),
                &[TestFailure],
                Some((0, 1)),
            ),
        ],
    );
    let room = "package main\n\n// Room returns an empty slice with room for n.\nfunc Room(n int) []int {\n\treturn make([]int, 0, n)\n}\n";
    run(
        65220,
        Language::Go,
        "func TestRoom(t *testing.T) {\n\tr := Room(2)\n\tx := append(r, 1)\n\ty := append(r, 2)\n\tassert.Equal(t, []int{2}, x)\n\tassert.Equal(t, []int{2}, y)\n\tassert.Equal(t, 2, cap(Room(2)))\n}\n",
        &[
            case("room", room, &[Pass], Some((3, 3))),
            case(
                "no room",
                &room.replace("make([]int, 0, n)", "make([]int, 0)"),
                &[Partial],
                Some((1, 3)),
            ),
        ],
    );
    // Arguments lying in one another's capacity are one memory (were `crashed`): a sample
    // zeroing its first argument's whole capacity zeroes the second.
    let sum = "package main\n\n// Sum2 is the sum of both slices' elements (this one zeroes x's capacity first: wrong when y lies in it)\nfunc Sum2(x, y []int) int {\n\tfull := x[:cap(x)]\n\tt := 0\n\tfor i, v := range full {\n\t\tif i < len(x) {\n\t\t\tt += v\n\t\t}\n\t\tfull[i] = 0\n\t}\n\tfor _, v := range y {\n\t\tt += v\n\t}\n\treturn t\n}\n";
    run(
        65219,
        Language::Go,
        "func TestSum2(t *testing.T) {\n\ta := []int{1, 2, 3, 4}\n\tassert.Equal(t, 10, Sum2(a[0:2], a[2:4]))\n}\n",
        &[
            case("zeroes the capacity", sum, &[TestFailure], Some((0, 1))),
            case(
                "honest right",
                &sum.replace("\t\tfull[i] = 0\n", ""),
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
}

/// Round 19, JavaScript: the sample and the test share one script's top-level scope in one
/// program. A name the sample uses without declaring it that the test declares at its top level
/// (`for (i = 0; ...)` beside the test's `let i`) is the test's variable there (judged apart,
/// the sample's own global: a clobbering sample passed); a name both declare with `var` or
/// `function` is one variable (`crashed`: the judge's two programs cannot share it).
#[test]
fn round_nineteen_javascript_top_level_names_are_the_test_s() {
    let test = "let i = 5\nconst testF = () => {\n  console.assert(f(1) === 2)\n  console.assert(f(2) === 4 && i === 5)\n}\ntestF()\n";
    let clobbers = "function f(x) {\n  for (i = 0; i < 1; i++) {}\n  return x * 2\n}\n";
    let results = run(
        65221,
        Language::JavaScript,
        test,
        &[
            case(
                "clobbers the test's i",
                clobbers,
                &[TestFailure, RuntimeError],
                Some((0, 2)),
            ),
            case(
                "clobbers it inside a try",
                "function f(x) {\n  try { i = 0 } catch (e) {}\n  return x * 2\n}\n",
                &[TestFailure, RuntimeError],
                Some((0, 2)),
            ),
            case(
                "declares its own",
                &clobbers.replace("for (i = 0", "for (let i = 0"),
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    assert!(results[0].detail.contains("`i`"), "{:?}", results[0].detail);
    run(
        65222,
        Language::JavaScript,
        "var total = 100\nconst testF = () => {\n  console.assert(f(1) === 2)\n  console.assert(total === 100)\n}\ntestF()\n",
        &[
            case(
                "adds into its var total",
                "var total = 0\nfunction f(x) {\n  total += x\n  return x * 2\n}\n",
                &[Crashed],
                Some((0, 0)),
            ),
            case(
                "a total of its own",
                "function f(x) {\n  let total = 0\n  total += x\n  return x * 2\n}\n",
                &[Pass],
                Some((1, 1)),
            ),
        ],
    );
    // A spread as `console.assert`'s arguments (it had made the judge a SyntaxError).
    run(
        65236,
        Language::JavaScript,
        "const testF = () => {\n  console.assert(...[f(1) === 2])\n  console.assert(f(2) === 4)\n}\ntestF()\n",
        &[
            case("right", "const f = (x) => x * 2\n", &[Pass], None),
            case(
                "wrong",
                "const f = (x) => x * 3\n",
                &[TestFailure, RuntimeError],
                None,
            ),
        ],
    );
    // Round 20: a declaration whose first declarator is on the next line, and a name the test
    // makes a global by assigning it, are guarded too (both passed a clobbering sample).
    let add = "const add = (a, b) => { total = 99; return a + b; };\n";
    let checks = "const testAdd = () => {\n  console.assert(add(1, 2) === 3);\n  console.assert(total === 0, 'add clobbered total');\n};\ntestAdd();\n";
    for (uid, decl) in [
        (65237, "let\ntotal = 0;\n"),
        (65238, "let\n  zz = 1,\n  total = 0;\n"),
        (65239, "total = 0;\n"),
    ] {
        run(
            uid,
            Language::JavaScript,
            &format!("{decl}{checks}"),
            &[
                case("clobbers total", add, &[TestFailure, RuntimeError], None),
                case(
                    "leaves it",
                    "const add = (a, b) => a + b;\n",
                    &[Pass],
                    Some((1, 1)),
                ),
            ],
        );
    }
    run(
        65240,
        Language::JavaScript,
        "let\ntotal = 0;\nconst testAdd = () => {\n  console.assert(add(1, 2) === 3);\n};\ntestAdd();\n",
        &[case(
            "declares total too",
            "let total = 5;\nconst add = (a, b) => a + b;\n",
            &[CompileError],
            Some((0, 0)),
        )],
    );
}

/// An attacker's review, round 19 (Go): memory crosses with the paths it had when it last
/// crossed, and its contents (`W` references): a row or map value the sample grew in place
/// (`g[k] = append(g[k], v)`) is the test's array with the new length (it was set as a copy:
/// the test's buffer over that array did not see the write, a forged pass), a slice in an
/// `interface{}` whose length changed is written back (it was dropped), a `[]int` view of a
/// `[][2]int` is shared, a holder 70 calls back is found (a bounded look missed it), and two
/// results overlapping without containment are refused (they crossed as independent copies).
/// Each verdict is the one program's (`go test` of sample and test together) unless said.
#[test]
fn round_nineteen_go_memory_crosses_with_its_paths() {
    run(
        65223,
        Language::Go,
        "func TestExtend(t *testing.T) {\n\tbase := make([]int, 1, 4)\n\trows := [][]int{base}\n\tExtend(rows, 9)\n\tassert.Equal(t, []int{0, 9}, rows[0])\n\tassert.Equal(t, []int{0, 0, 0, 0}, base[:4])\n}\n",
        &[case(
            "grows the caller's row in place",
            "package main\n\n// Extend appends v to rows[0] (this one appends in place, into the spare capacity of the\n// caller's row: wrong when the spec asks for new memory).\nfunc Extend(rows [][]int, v int) {\n\trows[0] = append(rows[0], v)\n}\n",
            &[Partial, TestFailure],
            None,
        )],
    );
    run(
        65224,
        Language::Go,
        "func TestExtend(t *testing.T) {\n\tbase := make([]int, 1, 4)\n\trows := [][]int{base}\n\tExtend(rows, 9)\n\tassert.Equal(t, []int{0, 9}, base[:2])\n}\n",
        &[case(
            "grows the row in place",
            "package main\n\n// Extend appends v to rows[0], in place.\nfunc Extend(rows [][]int, v int) {\n\trows[0] = append(rows[0], v)\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65225,
        Language::Go,
        "func TestAddTo(t *testing.T) {\n\tbuf := make([]int, 0, 4)\n\tg := map[string][]int{\"a\": buf}\n\tAddTo(g, \"a\", 5)\n\tassert.Equal(t, []int{5}, g[\"a\"])\n\tassert.Equal(t, []int{0, 0, 0, 0}, buf[:4])\n}\n",
        &[case(
            "grows the map's value in place",
            "package main\n\n// AddTo appends v to the group k.\nfunc AddTo(g map[string][]int, k string, v int) {\n\tg[k] = append(g[k], v)\n}\n",
            &[Partial, TestFailure],
            None,
        )],
    );
    run(
        65226,
        Language::Go,
        "func TestTotal(t *testing.T) {\n\tlists := []interface{}{[]int{1, 2}, []int{3}}\n\tassert.Equal(t, 6, Total(lists))\n\tassert.Equal(t, []interface{}{[]int{1, 2}, []int{3}}, lists)\n}\n",
        &[case(
            "empties the lists in its interfaces",
            "package main\n\n// Total is the sum of the integers in the lists; it leaves its argument as it was\n// (this one empties each list after adding it up: wrong).\nfunc Total(lists []interface{}) int {\n\ts := 0\n\tfor i, l := range lists {\n\t\tfor _, x := range l.([]int) {\n\t\t\ts += x\n\t\t}\n\t\tlists[i] = l.([]int)[:0]\n\t}\n\treturn s\n}\n",
            &[Partial, TestFailure],
            None,
        )],
    );
    run(
        65227,
        Language::Go,
        "func TestPush(t *testing.T) {\n\tbox := []interface{}{[]int{1, 2}}\n\tPush(box, 3)\n\tassert.Equal(t, []interface{}{[]int{1, 2, 3}}, box)\n}\n",
        &[case(
            "grows the list in its interface",
            "package main\n\n// Push appends v to the []int held in box[0].\nfunc Push(box []interface{}, v int) {\n\tbox[0] = append(box[0].([]int), v)\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65228,
        Language::Go,
        "func TestKeep(t *testing.T) {\n\tbase := make([]int, 1, 3)\n\tr := [][]int{base}\n\tKeep(r)\n\tr[0] = append(r[0], 7)\n\tassert.Equal(t, []int{0, 7, 0}, Keep(nil))\n}\n",
        &[case(
            "keeps the row the test grows",
            "package main\n\nvar saved []int\n\n// Keep remembers r's first row; called with nil, it returns the remembered row to its capacity.\nfunc Keep(r [][]int) []int {\n\tif r != nil {\n\t\tsaved = r[0]\n\t\treturn nil\n\t}\n\treturn saved[:cap(saved)]\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65229,
        Language::Go,
        "func TestPoke(t *testing.T) {\n\tbig := make([]int, 100)\n\tPoke(big, 0)\n\tfor i := 0; i < 70; i++ {\n\t\tPoke(big[i:i+1:i+1], 1)\n\t}\n\tassert.Equal(t, 0, Poke(big[80:81], 2))\n}\n",
        &[case(
            "writes a slice it kept 70 calls ago",
            "package main\n\nvar saved []int\n\n// Poke: mode 0 remembers xs; mode 1 does nothing; mode 2 returns the remembered slice's\n// element 80 as it was, then sets xs[0] = 42 (this one writes first: wrong when xs lies in\n// the remembered slice).\nfunc Poke(xs []int, mode int) int {\n\tswitch mode {\n\tcase 0:\n\t\tsaved = xs\n\tcase 2:\n\t\txs[0] = 42\n\t\treturn saved[80]\n\t}\n\treturn 0\n}\n",
            &[TestFailure],
            Some((0, 1)),
        )],
    );
    run(
        65230,
        Language::Go,
        "func TestSwap(t *testing.T) {\n\trows := [][2]int{{1, 2}, {3, 4}}\n\tSwap(rows, nil)\n\tassert.Equal(t, 1, Swap(nil, rows[0][:]))\n\tassert.Equal(t, 9, rows[0][0])\n}\n",
        &[case(
            "writes a view of rows it kept",
            "package main\n\nvar saved [][2]int\n\n// Swap: given rows, remembers them (returns 0); given xs, returns the first remembered\n// pair's first value as it was, then sets xs[0] to 9 (this one writes first: wrong when xs\n// lies in the remembered rows).\nfunc Swap(rows [][2]int, xs []int) int {\n\tif rows != nil {\n\t\tsaved = rows\n\t\treturn 0\n\t}\n\txs[0] = 9\n\treturn saved[0][0]\n}\n",
            &[Partial, TestFailure],
            None,
        )],
    );
    run(
        65231,
        Language::Go,
        "func TestSwap(t *testing.T) {\n\trows := [][2]int{{1, 2}, {3, 4}}\n\tSwap(rows, nil)\n\tassert.Equal(t, 9, Swap(nil, rows[0][:]))\n}\n",
        &[case(
            "writes a view of rows it kept",
            "package main\n\nvar saved [][2]int\n\n// Swap: given rows, remembers them (returns 0); given xs, sets xs[0] to 9 and returns the\n// first remembered pair's first value.\nfunc Swap(rows [][2]int, xs []int) int {\n\tif rows != nil {\n\t\tsaved = rows\n\t\treturn 0\n\t}\n\txs[0] = 9\n\treturn saved[0][0]\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65232,
        Language::Go,
        "func TestSum(t *testing.T) {\n\tvar xs []int\n\tfor i := 0; i < 480000; i++ {\n\t\txs = append(xs, 1)\n\t}\n\tassert.Equal(t, 480000, Sum(xs))\n}\n",
        &[case(
            "a large slice grown by append",
            "package main\n\n// Sum is the sum of xs.\nfunc Sum(xs []int) int {\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65233,
        Language::Go,
        "func TestCount(t *testing.T) {\n\txs := make([][0]int, 3, 1<<40)\n\tassert.Equal(t, 3, Count(xs))\n}\n",
        &[case(
            "zero-size elements of a huge capacity",
            "package main\n\n// Count is the number of markers.\nfunc Count(xs [][0]int) int {\n\treturn len(xs)\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65234,
        Language::Go,
        "func TestHalves(t *testing.T) {\n\tback, front := Halves(4)\n\tfront = append(front, 7)\n\tassert.Equal(t, []int{0, 0}, back)\n\tassert.Equal(t, []int{0, 0, 7}, front)\n}\n",
        &[case(
            "two views of one buffer",
            "package main\n\n// Halves returns the back and the front of a new zeroed buffer of n ints, as two independent\n// slices (this one returns two views of one buffer: wrong, a write to one shows in the other).\nfunc Halves(n int) ([]int, []int) {\n\tbuf := make([]int, n)\n\treturn buf[n/2:], buf[:n/2]\n}\n",
            &[TestFailure, RuntimeError],
            Some((0, 2)),
        )],
    );
    // New memory the sample put into two values the test holds is one row in both (the
    // changes' own slices are not numbered as the message's: a reference after them had
    // pointed at the wrong one).
    let share = "package main\n\n// Share puts one new row first in both grids.\nfunc Share(a, b [][]int) {\n\tr := []int{5}\n\ta[0] = r\n\tb[0] = r\n}\n";
    run(
        65235,
        Language::Go,
        "func TestShare(t *testing.T) {\n\ta := [][]int{{1}}\n\tb := [][]int{{2}}\n\tShare(a, b)\n\ta[0][0] = 7\n\tassert.Equal(t, []int{7}, b[0])\n}\n",
        &[
            case("one row in both", share, &[Pass], Some((1, 1))),
            case(
                "two rows",
                &share.replace(
                    "\ta[0] = r\n\tb[0] = r\n",
                    "\ta[0] = r\n\tb[0] = []int{5}\n",
                ),
                &[TestFailure],
                Some((0, 1)),
            ),
        ],
    );
    // Round 20: a snapshot holds the layout too (a row replaced by an equal copy, two equal
    // rows made one, were no change: the sides' layouts parted unseen), and a value holding
    // itself is snapshotted (it exhausted the stack).
    run(
        65241,
        Language::Go,
        "func TestScale(t *testing.T) {\n\tg := [][]int{{1, 2}, {3, 4}}\n\trow := g[0]\n\tScale(g, 1)\n\trow[0] = 7\n\tassert.Equal(t, 7, g[0][0])\n}\n",
        &[case(
            "replaces rows with equal copies",
            "package main\n\n// Scale multiplies every element of g by k, in place (g's rows are kept).\nfunc Scale(g [][]int, k int) {\n\tfor i := range g {\n\t\tr := make([]int, len(g[i]))\n\t\tfor j, x := range g[i] {\n\t\t\tr[j] = x * k\n\t\t}\n\t\tg[i] = r\n\t}\n}\n",
            &[TestFailure],
            Some((0, 1)),
        )],
    );
    run(
        65242,
        Language::Go,
        "func TestScale(t *testing.T) {\n\tg := [][]int{{1, 2}, {3, 4}}\n\trow := g[0]\n\tScale(g, 1)\n\trow[0] = 7\n\tassert.Equal(t, 1, g[0][0])\n}\n",
        &[case(
            "replaces rows with equal copies",
            "package main\n\n// Scale multiplies every element of g by k, in place (g's rows are kept).\nfunc Scale(g [][]int, k int) {\n\tfor i := range g {\n\t\tr := make([]int, len(g[i]))\n\t\tfor j, x := range g[i] {\n\t\t\tr[j] = x * k\n\t\t}\n\t\tg[i] = r\n\t}\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65243,
        Language::Go,
        "func TestShare(t *testing.T) {\n\tg := [][]int{{1, 2}, {1, 2}}\n\tShare(g)\n\tg[0][0] = 5\n\tassert.Equal(t, 1, g[1][0])\n}\n",
        &[case(
            "makes equal rows one",
            "package main\n\n// Share makes every row equal to the first one the same row (one array).\nfunc Share(g [][]int) {\n\tfor i := range g {\n\t\tg[i] = g[0]\n\t}\n}\n",
            &[TestFailure],
            Some((0, 1)),
        )],
    );
    run(
        65244,
        Language::Go,
        "func TestF(t *testing.T) {\n\tg := [][]int{{1, 2}}\n\told := g[0]\n\tF(0, g)\n\tg[0] = []int{1, 2}\n\tF(1, nil)\n\tassert.Equal(t, 1, old[0])\n\tassert.Equal(t, 9, g[0][0])\n}\n",
        &[case(
            "writes a row the test replaced by an equal copy",
            "package main\n\nvar saved []int\n\n// F: op 0 keeps g's first row; op 1 writes 9 into the row kept.\nfunc F(op int, g [][]int) int {\n\tif op == 0 {\n\t\tsaved = g[0]\n\t\treturn 0\n\t}\n\tsaved[0] = 9\n\treturn 0\n}\n",
            &[Partial, TestFailure],
            None,
        )],
    );
    run(
        65245,
        Language::Go,
        "func TestSelf(t *testing.T) {\n\tr := Self()\n\tassert.Equal(t, 1, len(r))\n}\n",
        &[case(
            "a list holding itself",
            "package main\n\n// Self returns a list holding itself.\nfunc Self() []interface{} {\n\txs := make([]interface{}, 1)\n\txs[0] = xs\n\treturn xs\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
}

/// Round 21 (an attacker's review): one slice or map the test passes to many calls is watched
/// once, not once per call (each call snapshotted and walked every copy: a right sample timed
/// out at 80 calls on a 1,000-entry map, and one small slice passed 1,100 times was crashed at
/// the bound of values watched); what the sample writes into it at a later call is still seen.
#[test]
fn round_twenty_one_go_one_value_passed_again_is_watched_once() {
    let count_keys = "package main\n\n// CountKeys returns how many keys m has.\nfunc CountKeys(m map[int]int) int {\n\treturn len(m)\n}\n";
    run(
        65246,
        Language::Go,
        "func TestCountKeys(t *testing.T) {\n\tm := map[int]int{}\n\tfor i := 0; i < 1000; i++ {\n\t\tm[i] = i\n\t}\n\tfor i := 0; i < 300; i++ {\n\t\tassert.Equal(t, 1000, CountKeys(m))\n\t}\n}\n",
        &[
            case("counts", count_keys, &[Pass], Some((1, 1))),
            case(
                "deletes a key at each call",
                "package main\n\n// CountKeys returns how many keys m has (and deletes one).\nfunc CountKeys(m map[int]int) int {\n\tn := len(m)\n\tdelete(m, n-1)\n\treturn n\n}\n",
                &[TestFailure],
                Some((0, 1)),
            ),
        ],
    );
    run(
        65247,
        Language::Go,
        "func TestRows(t *testing.T) {\n\tg := make([][]int, 100)\n\tfor i := range g {\n\t\tg[i] = make([]int, 100)\n\t}\n\tfor i := 0; i < 300; i++ {\n\t\tassert.Equal(t, 100, Rows(g, g))\n\t}\n\txs := []int{1, 5, 3}\n\tfor i := 0; i < 1100; i++ {\n\t\tassert.Equal(t, 3, Rows(nil, xs))\n\t}\n}\n",
        &[case(
            "counts rows",
            "package main\n\n// Rows returns len(b) for a nil a, else len(a).\nfunc Rows(a [][]int, b interface{}) int {\n\tif a == nil {\n\t\treturn len(b.([]int))\n\t}\n\treturn len(a)\n}\n",
            &[Pass],
            Some((2, 2)),
        )],
    );
    // The sample keeps the slice of its first call and writes into it at the second, where
    // the test passed the same slice again: the test sees the write.
    run(
        65248,
        Language::Go,
        "func TestLen(t *testing.T) {\n\txs := []int{1, 2, 3}\n\tassert.Equal(t, 3, Len(xs))\n\tassert.Equal(t, 3, Len(xs))\n\tassert.Equal(t, []int{1, 2, 3}, xs)\n}\n",
        &[
            case(
                "writes into the slice it kept",
                "package main\n\nvar kept []int\n\n// Len returns len(xs).\nfunc Len(xs []int) int {\n\tif kept != nil {\n\t\tkept[0] = 99\n\t}\n\tkept = xs\n\treturn len(xs)\n}\n",
                &[Partial],
                Some((2, 3)),
            ),
            case(
                "leaves it",
                "package main\n\n// Len returns len(xs).\nfunc Len(xs []int) int {\n\treturn len(xs)\n}\n",
                &[Pass],
                Some((2, 2)),
            ),
        ],
    );
    // A `[]int` view of a `[][2]int`'s row in the same message as the grid: shared (it was
    // refused as an overlap: a right sample crashed), as an argument and as a result.
    run(
        65249,
        Language::Go,
        "func TestSum(t *testing.T) {\n\tg := [][2]int{{1, 2}, {3, 4}}\n\tassert.Equal(t, 100, Sum(g, g[1][:]))\n\tassert.Equal(t, 100, g[1][0])\n}\n",
        &[case(
            "writes through the view",
            "package main\n\n// Sum sets r[0] to 100 and returns g[1][0].\nfunc Sum(g [][2]int, r []int) int {\n\tr[0] = 100\n\treturn g[1][0]\n}\n",
            &[Pass],
            Some((1, 1)),
        )],
    );
    run(
        65259,
        Language::Go,
        "func TestPair(t *testing.T) {\n\tg, r := Pair()\n\tr[0] = 9\n\tassert.Equal(t, 9, g[1][0])\n\tassert.Equal(t, 2, len(r))\n}\n",
        &[case(
            "returns a grid and a view of its row",
            "package main\n\n// Pair returns a grid and a view of its second row.\nfunc Pair() ([][2]int, []int) {\n\tg := [][2]int{{1, 2}, {3, 4}}\n\treturn g, g[1][:]\n}\n",
            &[Pass],
            Some((2, 2)),
        )],
    );
}

/// Round 22 (an attacker's review): a slice of capacity 0 crosses as a new empty one (at one
/// address on the receiving side for all of them, while the sender's keep their arrays'
/// addresses), so it is never "the same value again": the sides' held values had parted, and a
/// change of one argument was written into another value of the test (a forged pass; right
/// samples failed both ways).
#[test]
fn round_twenty_two_go_empty_capacity_slices_are_held_each() {
    run(
        65260,
        Language::Go,
        "func TestF(t *testing.T) {\n\tassert := assert.New(t)\n\ta := []int{1}\n\tb := []int{2}\n\tassert.Equal(0, F(a[:0:0]))\n\tassert.Equal(0, F(b[:0:0]))\n\tw := []int{7, 8, 9}\n\tassert.Equal(3, F(w))\n\txs := []int{3, 1, 2}\n\tassert.Equal(3, F(xs))\n\tassert.Equal([]int{3, 1, 2}, xs)\n}\n",
        &[
            case(
                "sorts the slice it must not change",
                "package main\n\n// F returns len(xs); it must not change xs.\nfunc F(xs []int) int {\n\tfor i := 1; i < len(xs); i++ {\n\t\tfor j := i; j > 0 && xs[j] < xs[j-1]; j-- {\n\t\t\txs[j], xs[j-1] = xs[j-1], xs[j]\n\t\t}\n\t}\n\treturn len(xs)\n}\n",
                &[Partial],
                None,
            ),
            case(
                "leaves it",
                "package main\n\n// F returns len(xs).\nfunc F(xs []int) int {\n\treturn len(xs)\n}\n",
                &[Pass],
                None,
            ),
        ],
    );
    run(
        65261,
        Language::Go,
        "func TestSort(t *testing.T) {\n\tassert := assert.New(t)\n\ta := []int{5, 6}\n\tassert.Equal(0, Sort(a[2:]))\n\tb := []int{4}\n\tassert.Equal(0, Sort(b[1:]))\n\tw := []int{9, 8, 7}\n\tassert.Equal(3, Sort(w))\n\tassert.Equal([]int{7, 8, 9}, w)\n\txs := []int{3, 1, 2}\n\tassert.Equal(3, Sort(xs))\n\tassert.Equal([]int{1, 2, 3}, xs)\n}\n",
        &[case(
            "sorts in place",
            "package main\n\n// Sort sorts xs in place and returns its length.\nfunc Sort(xs []int) int {\n\tfor i := 1; i < len(xs); i++ {\n\t\tfor j := i; j > 0 && xs[j] < xs[j-1]; j-- {\n\t\t\txs[j], xs[j-1] = xs[j-1], xs[j]\n\t\t}\n\t}\n\treturn len(xs)\n}\n",
            &[Pass],
            None,
        )],
    );
    run(
        65262,
        Language::Go,
        "func TestDrop2(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal([]int{}, Drop2(make([]int, 2)))\n\tassert.Equal([]int{}, Drop2([]int{2, 1}))\n\tw := []int{9, 8, 7}\n\tassert.Equal([]int{9}, Drop2(w))\n\tassert.Equal([]int{7, 8, 9}, w)\n}\n",
        &[case(
            "returns an empty tail",
            "package main\n\n// Drop2 sorts xs in place and returns xs without its first two elements.\nfunc Drop2(xs []int) []int {\n\tfor i := 1; i < len(xs); i++ {\n\t\tfor j := i; j > 0 && xs[j] < xs[j-1]; j-- {\n\t\t\txs[j], xs[j-1] = xs[j-1], xs[j]\n\t\t}\n\t}\n\treturn xs[2:]\n}\n",
            &[Pass],
            None,
        )],
    );
}
