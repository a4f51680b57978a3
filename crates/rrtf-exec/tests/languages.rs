//! The other languages' profiles, end to end in the sandbox: pass, failed assertion, compile
//! error, and an early `exit(0)` (never a pass), with per-check counts. Needs node, g++, a JDK
//! and Go with testify (CI installs them; a missing one fails naming what to install); Rust
//! must either work or fail with an error that says what to install.

use crate::common;

use rrtf_exec::lang::find_system_tool;
use rrtf_exec::{ExecError, Job, Language, Outcome};

use Outcome::*;

fn job(key: u64, language: Language, code: &str, test: &str) -> Job {
    Job {
        key,
        language,
        code: Some(code.into()),
        test: test.into(),
        entry_point: None,
        prompt: None,
    }
}

/// `limit_ms` is the run limit. Each case: code, test, outcome, and (passed, total) when the
/// counts matter.
type Case<'a> = (&'a str, &'a str, Outcome, Option<(u32, u32)>);

fn check_counts(uid: u32, language: Language, limit_ms: u64, cases: &[Case<'_>]) {
    if !common::needs(language) {
        return;
    }
    let exec = common::executor(uid, 1, limit_ms);
    let langs = [language].into_iter().collect();
    exec.check_toolchains(&langs)
        .expect("toolchain (see crates/rrtf-exec/README.md)");
    let jobs = cases
        .iter()
        .enumerate()
        .map(|(i, (c, t, _, _))| job(i as u64, language, c, t))
        .collect();
    let results = exec.run_all(jobs);
    assert_eq!(results.len(), cases.len());
    for ((code, _, want, counts), r) in cases.iter().zip(&results) {
        assert_eq!(r.outcome, *want, "{language:?} {code:?}: {r:?}");
        assert_eq!(r.passed(), *want == Pass, "{r:?}");
        if let Some(c) = counts {
            assert_eq!((r.tests_passed, r.tests_total), *c, "{code:?}: {r:?}");
        }
        // One mark per counted check, agreeing with the counts (the synthesized tests'
        // determinism rule compares them).
        if matches!(r.outcome, Pass | Partial | TestFailure) {
            let ones = r.test_results.chars().filter(|&c| c == '1').count() as u32;
            assert_eq!(
                (ones, r.test_results.len() as u32),
                (r.tests_passed, r.tests_total),
                "{language:?} {code:?}: {r:?}"
            );
        }
    }
    drop(exec);
    common::assert_no_leftovers(uid..uid + 1);
}

fn check(uid: u32, language: Language, limit_ms: u64, cases: &[(&str, &str, Outcome)]) {
    let cases: Vec<Case<'_>> = cases.iter().map(|&(c, t, o)| (c, t, o, None)).collect();
    check_counts(uid, language, limit_ms, &cases);
}

#[test]
fn javascript() {
    let test = "const t = () => {\n  console.assert(add(1, 2) === 3)\n  console.assert(add(2, 2) === 4)\n}\nt()\n";
    check(
        65001,
        Language::JavaScript,
        4000,
        &[
            ("const add = (a, b) => a + b;", test, Pass),
            ("const add = (a, b) => a - b;", test, TestFailure),
            ("const add = (a, b) => (a === 1 ? 3 : 0);", test, Partial),
            // Redefining the assertion is ignored (the prelude made it read-only).
            (
                "console.assert = () => {};\nconst add = (a, b) => 0;",
                test,
                TestFailure,
            ),
            ("const add = (a, b) => a + ;", test, CompileError),
            // Gone before the judge's first call (its write then fails with EPIPE): the same
            // verdict as a candidate that ends during a call.
            (
                "process.exit(0);\nconst add = (a, b) => a + b;",
                test,
                RuntimeError,
            ),
            (
                "const add = (a, b) => { process.exit(0) };",
                test,
                RuntimeError,
            ),
            ("const add = (a, b) => { while (true) {} };", test, Timeout),
            ("const add = (a, b) => a.b.c;", test, RuntimeError),
        ],
    );
}

#[test]
fn cpp() {
    let test = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(1,2) == 3);\n    assert (add(2,2) == 4);\n}\n";
    check(
        65002,
        Language::Cpp,
        30_000,
        &[
            (
                "#include<stdio.h>\nint add(int a, int b){ return a + b; }",
                test,
                Pass,
            ),
            (
                "#include<stdio.h>\nint add(int a, int b){ return a - b; }",
                test,
                TestFailure,
            ),
            (
                "int add(int a, int b){ return a == 1 ? 3 : 0; }",
                test,
                Partial,
            ),
            // A failed check, then a crash in the next call: no check passed, and the sample
            // failed at run time.
            (
                "int add(int a, int b){ if (a == 2) return *(volatile int*)0; return 0; }",
                test,
                RuntimeError,
            ),
            ("int add(int a, int b){ return a + }", test, CompileError),
            // Leaving during a call is the sample's failure, never a pass.
            (
                "#include<stdlib.h>\nint add(int a, int b){ exit(0); }",
                test,
                RuntimeError,
            ),
            (
                "int add(int a, int b){ return *(volatile int*)0; }",
                test,
                RuntimeError,
            ),
        ],
    );
}

#[test]
fn java() {
    let test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (s.add(1, 2) != 3) { throw new AssertionError(); }\n    }\n}\n";
    let solution = |body: &str| {
        format!(
            "import java.util.*;\nclass Solution {{\n    public int add(int a, int b) {{ {body} }}\n}}"
        )
    };
    let (ok, wrong, exit) = (
        solution("return a + b;"),
        solution("return a - b;"),
        solution("System.exit(0); return 0;"),
    );
    // HumanEval-X's two shapes of Java test: a list of checks, and one `if` per check.
    let list = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                s.add(1, 2) == 3,\n                s.add(2, 2) == 4,\n                Objects.equals(s.add(0, 5), 5)\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    let ifs = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (!(s.add(1, 2) == 3)) {\n            throw new AssertionError();\n        }\n        if (!(s.add(2, 2) == 4)) {\n            throw new AssertionError();\n        }\n        for (int i = 0; i < 2; i++) {\n            if (!(s.add(i, 0) == i)) throw new AssertionError();\n        }\n    }\n}\n";
    let first_only = solution("return a == 1 ? 3 : 0;");
    let throws_late =
        solution("if (a == 2) throw new IllegalStateException(\"boom\"); return a + b;");
    check_counts(
        65003,
        Language::Java,
        30_000,
        &[
            (&ok, test, Pass, Some((1, 1))),
            (&wrong, test, TestFailure, Some((0, 1))),
            ("class Solution { int add(", test, CompileError, None),
            (&exit, test, RuntimeError, Some((0, 1))),
            (&ok, list, Pass, Some((3, 3))),
            (&wrong, list, TestFailure, Some((0, 3))),
            (&first_only, list, Partial, Some((1, 3))),
            (&exit, list, RuntimeError, Some((0, 3))),
            // A check inside a loop is one check: it holds when every run of it held.
            (&ok, ifs, Pass, Some((3, 3))),
            (&first_only, ifs, Partial, Some((1, 3))),
            (&wrong, ifs, Partial, Some((1, 3))), // add(i, 0) == i holds for a - b
            // An exception after one passing check: partial; the checks after it never ran.
            (&throws_late, ifs, Partial, Some((1, 3))),
        ],
    );
}

const GO_TEST: &str = "func TestAdd(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(3, Add(1, 2))\n    assert.Equal(4, Add(2, 2))\n    assert.Equal(5, Add(0, 5))\n}\n";

#[test]
fn go_with_testify() {
    if rrtf_exec::compiled::check(Language::Go).is_err() {
        // The error names what to install; then a skip (the full tier fails: CI installs Go).
        let err = rrtf_exec::compiled::check(Language::Go).unwrap_err();
        assert!(
            err.to_string()
                .contains("apt-get install -y golang-go golang-github-stretchr-testify-dev"),
            "{err}"
        );
        assert!(!common::needs(Language::Go));
        return;
    }
    let add = |body: &str| {
        format!(
            "import (\n    \"math\"\n)\n\nfunc Add(a, b int) int {{\n    _ = math.Abs\n    {body}\n}}\n"
        )
    };
    let (ok, wrong, partial) = (
        add("return a + b"),
        add("return a - b - 1"),
        add("if a == 1 { return 3 }; return 0"),
    );
    let panics = add("var xs []int; if a == 2 { return xs[5] }; return a + b");
    let exit_in_init = "import (\n    \"os\"\n)\n\nfunc init() { os.Exit(0) }\n\nfunc Add(a, b int) int { return a + b }\n";
    let exit_in_test = "import \"os\"\n\nfunc Add(a, b int) int { os.Exit(0); return 0 }\n";
    let t_errorf =
        "func TestAdd(t *testing.T) {\n    if Add(1, 2) != 3 { t.Errorf(\"wrong\") }\n}\n";
    // A whole chat answer: its own package clause, and a subtest.
    let full = "package main\n\nfunc Add(a, b int) int { return a + b }\n";
    let subtests = "func TestAdd(t *testing.T) {\n    t.Run(\"small\", func(t *testing.T) {\n        assert.Equal(t, 3, Add(1, 2))\n    })\n    assert.Equal(t, 7, Add(3, 4))\n}\n";
    check_counts(
        65005,
        Language::Go,
        20_000,
        &[
            (&ok, GO_TEST, Pass, Some((3, 3))),
            (&wrong, GO_TEST, TestFailure, Some((0, 3))),
            (&partial, GO_TEST, Partial, Some((1, 3))),
            (
                "func Add(a, b int) int { return a + }",
                GO_TEST,
                CompileError,
                None,
            ),
            // An unused import is a compile error in Go.
            (
                "import \"fmt\"\nfunc Add(a, b int) int { return a + b }",
                GO_TEST,
                CompileError,
                None,
            ),
            // A panic in the second call fails that check only.
            (&panics, GO_TEST, Partial, Some((2, 3))),
            (exit_in_init, GO_TEST, RuntimeError, Some((0, 3))),
            (exit_in_test, GO_TEST, RuntimeError, Some((0, 3))),
            (&ok, t_errorf, Pass, Some((1, 1))),
            (&wrong, t_errorf, TestFailure, Some((0, 1))),
            (full, subtests, Pass, Some((2, 2))),
        ],
    );
}

#[test]
fn rust_works_or_names_what_to_install() {
    let test = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn one() { assert_eq!(add(1, 2), 3); }\n    #[test]\n    fn two() { assert_eq!(add(2, 2), 4); }\n}\n";
    if find_system_tool("rustc").is_some() {
        check(
            65004,
            Language::Rust,
            30_000,
            &[
                ("fn add(a: i32, b: i32) -> i32 { a + b }", test, Pass),
                // HumanEval-X's Rust prompt header, with crates rustc alone does not have.
                (
                    "fn main(){}\nuse std::{slice::Iter, cmp::{max, self}, mem::replace, collections::{HashSet, HashMap}, ops::Index, ascii::AsciiExt};\nuse rand::Rng;\nuse regex::Regex;\nuse md5;\nuse std::any::{Any, TypeId};\nfn add(a: i32, b: i32) -> i32 { a + b }",
                    test,
                    Pass,
                ),
                (
                    "fn add(a: i32, b: i32) -> i32 { if a == 1 { 3 } else { 0 } }",
                    test,
                    Partial,
                ),
                ("fn add(a: i32, b: i32) -> i32 { a + }", test, CompileError),
            ],
        );
    } else {
        let err = rrtf_exec::compiled::check(Language::Rust).unwrap_err();
        assert!(matches!(err, ExecError::MissingToolchain { .. }), "{err}");
        assert!(
            err.to_string().contains("apt-get install -y rustc"),
            "{err}"
        );
        // A skip in the fast tier, a failure in the full one.
        assert!(!common::needs(Language::Rust));
    }
}

/// Issue 15 point 9: a run that hits a limit keeps the checks that passed before it (two of
/// three here, then the third call hangs), so ranking can see 2/3 next to the timeout.
#[test]
fn a_limit_keeps_the_checks_that_passed_before_it() {
    let cases: [(Language, &str, &str); 5] = [
        (
            Language::Cpp,
            "int add(int a, int b){ if (a == 0) for (;;) {} return a + b; }",
            "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(1,2) == 3);\n    assert (add(2,2) == 4);\n    assert (add(0,5) == 5);\n}\n",
        ),
        (
            Language::JavaScript,
            "const add = (a, b) => { while (a === 0) {} return a + b; };",
            "const t = () => {\n  console.assert(add(1, 2) === 3)\n  console.assert(add(2, 2) === 4)\n  console.assert(add(0, 5) === 5)\n}\nt()\n",
        ),
        (
            Language::Java,
            "class Solution {\n    public int add(int a, int b) { while (a == 0) {} return a + b; }\n}",
            "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (s.add(1, 2) != 3) { throw new AssertionError(); }\n        if (s.add(2, 2) != 4) { throw new AssertionError(); }\n        if (s.add(0, 5) != 5) { throw new AssertionError(); }\n    }\n}\n",
        ),
        (
            Language::Go,
            "func Add(a, b int) int {\n    for a == 0 {\n    }\n    return a + b\n}\n",
            GO_TEST_THREE_LAST_HANGS,
        ),
        (
            Language::Rust,
            "fn add(a: i32, b: i32) -> i32 { while a == 0 {} a + b }",
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n        assert_eq!(add(1, 2), 3);\n        assert_eq!(add(2, 2), 4);\n        assert_eq!(add(0, 5), 5);\n    }\n}\n",
        ),
    ];
    for (language, code, test) in cases {
        check_counts(
            65006,
            language,
            3000,
            &[(code, test, Timeout, Some((2, 3)))],
        );
    }
    // The memory and output limits likewise.
    let test = cases[0].2;
    check_counts(
        65006,
        Language::Cpp,
        10_000,
        &[
            (
                "#include<vector>\nint add(int a, int b){ if (a == 0) { std::vector<char> v(1ull << 40); return v.size(); } return a + b; }",
                test,
                MemoryLimit,
                Some((2, 3)),
            ),
            (
                "#include<stdio.h>\nint add(int a, int b){ if (a == 0) for (;;) fputs(\"spam spam spam\\n\", stdout); return a + b; }",
                test,
                OutputLimit,
                Some((2, 3)),
            ),
        ],
    );
}

const GO_TEST_THREE_LAST_HANGS: &str = "func TestAdd(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(3, Add(1, 2))\n    assert.Equal(4, Add(2, 2))\n    assert.Equal(5, Add(0, 5))\n}\n";

/// Issue 15 point 17: a check that never calls the candidate (`assert(true)`) counts for
/// nothing, so a sample that always fails is a runtime error with 0 of 1, not partial 1 of 2;
/// an honest sample passes 1 of 1.
#[test]
fn a_check_that_never_calls_the_candidate_counts_for_nothing() {
    let cases: [(Language, &str, &str, &str); 5] = [
        (
            Language::Cpp,
            "int add(int a, int b){ return a + b; }",
            "int add(int a, int b){ throw 1; }",
            "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (true);\n    assert (add(1,2) == 3);\n}\n",
        ),
        (
            Language::JavaScript,
            "const add = (a, b) => a + b;",
            "const add = (a, b) => { throw new Error('no') };",
            "const t = () => {\n  console.assert(true)\n  console.assert(add(1, 2) === 3)\n}\nt()\n",
        ),
        (
            Language::Java,
            "class Solution {\n    public int add(int a, int b) { return a + b; }\n}",
            "class Solution {\n    public int add(int a, int b) { throw new IllegalStateException(\"no\"); }\n}",
            "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        if (!(1 + 1 == 2)) { throw new AssertionError(); }\n        if (s.add(1, 2) != 3) { throw new AssertionError(); }\n    }\n}\n",
        ),
        (
            Language::Go,
            "func Add(a, b int) int { return a + b }\n",
            "func Add(a, b int) int { panic(\"no\") }\n",
            "func TestAdd(t *testing.T) {\n    assert := assert.New(t)\n    assert.Equal(true, true)\n    assert.Equal(3, Add(1, 2))\n}\n",
        ),
        (
            Language::Rust,
            "fn add(a: i32, b: i32) -> i32 { a + b }",
            "fn add(a: i32, b: i32) -> i32 { panic!(\"no\") }",
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n        assert!(true);\n        assert_eq!(add(1, 2), 3);\n    }\n}\n",
        ),
    ];
    for (language, right, raises, test) in cases {
        check_counts(
            65007,
            language,
            20_000,
            &[
                (right, test, Pass, Some((1, 1))),
                (raises, test, RuntimeError, Some((0, 1))),
            ],
        );
    }
}

/// A check of a value computed before it (`r2 = add(2, 2); ...; assert(r2 == 4)`) calls nothing
/// while it runs, yet checks the sample: it counts (the trusted side sees `r2` comes from a
/// call), so a sample wrong on that value is not a pass.
#[test]
fn a_check_of_a_value_computed_earlier_counts() {
    let cases: [(Language, &str, &str); 3] = [
        (
            Language::Cpp,
            "int add(int a, int b){ return a == 1 ? 3 : 0; }",
            "#undef NDEBUG\n#include<assert.h>\nint main(){\n    int r1 = add(1, 2);\n    int r2 = add(2, 2);\n    assert (r1 == 3);\n    assert (r2 == 4);\n}\n",
        ),
        (
            Language::Java,
            "class Solution {\n    public int add(int a, int b) { return a == 1 ? 3 : 0; }\n}",
            "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        int r1 = s.add(1, 2);\n        int r2 = s.add(2, 2);\n        if (r1 != 3) { throw new AssertionError(); }\n        if (r2 != 4) { throw new AssertionError(); }\n    }\n}\n",
        ),
        (
            Language::JavaScript,
            "const add = (a, b) => (a === 1 ? 3 : 0);",
            "const t = () => {\n  const r1 = add(1, 2)\n  const r2 = add(2, 2)\n  console.assert(r1 === 3)\n  console.assert(r2 === 4)\n}\nt()\n",
        ),
    ];
    for (language, code, test) in cases {
        check_counts(
            65008,
            language,
            20_000,
            &[(code, test, Partial, Some((1, 2)))],
        );
    }
}

/// MultiPL-E's tests of HumanEval/13 (`greatest_common_divisor`) in C++, Go and Rust.
const MPE_CPP_TEST: &str = "}\nint main() {\n    auto candidate = greatest_common_divisor;\n    assert(candidate((3), (7)) == (1));\n    assert(candidate((10), (15)) == (5));\n    assert(candidate((49), (14)) == (7));\n}\n";
const MPE_GO_TEST: &str = "func TestGreatest_Common_Divisor(t *testing.T) {\n  candidate := greatest_common_divisor\n\ttype test struct {\n\t\tactual   interface{}\n\t\texpected interface{}\n\t}\n   tests := []test{\n     { actual: candidate(3, 7), expected: 1 },\n     { actual: candidate(10, 15), expected: 5 },\n   }\n\n\tfor i, tc := range tests {\n\t\tt.Run(fmt.Sprintf(\"test num % d\", i), func(t *testing.T) {\n\t\t\tif fmt.Sprintf(\"%v\", tc.actual) != fmt.Sprintf(\"%v\", tc.expected) {\n\t\t\t\tt.Errorf(\"expected '%s', got '%s'\", tc.expected, tc.actual)\n\t\t\t}\n\t\t})\n\t}\n}\n";
const MPE_RS_TEST: &str = "}\n\nfn main() {\n    let candidate = greatest_common_divisor;\n    assert_eq!(candidate(3, 7), 1);\n    assert_eq!(candidate(10, 15), 5);\n    assert_eq!(candidate(49, 14), 7);\n}\n";

/// MultiPL-E's shapes (the multi-language HumanEval that StarCoder-family models report): C++
/// and Rust completions stop before their function's closing brace, which the test's first
/// line supplies, and the Rust test is a `fn main` of its own; JavaScript checks with node's
/// `assert` module; Go's prompt imports `testing` and `fmt` for the test in the same file.
/// Each was a `compile_error` for a right answer (JavaScript: one check) before.
#[test]
fn multipl_e_shapes_judge_per_check() {
    let gcd = "Return the greatest common divisor of a and b.";
    let cpp_prompt = format!(
        "#include<assert.h>\n#include<bits/stdc++.h>\n// {gcd} >>> f({{1, 2}})\nlong greatest_common_divisor(long a, long b) {{\n"
    );
    let cpp_test = MPE_CPP_TEST;
    let cpp_right =
        format!("{cpp_prompt}    while (b) {{ long t = a % b; a = b; b = t; }}\n    return a;");
    let cpp_wrong = format!("{cpp_prompt}    return 1;");
    // A completion cut where its function closes (rrtf's rounds cut them so): the test's brace
    // is then not added again.
    let cpp_closed = format!("{cpp_right}\n}}");
    check_counts(
        65020,
        Language::Cpp,
        20_000,
        &[
            (&cpp_right, cpp_test, Pass, Some((3, 3))),
            (&cpp_wrong, cpp_test, Partial, Some((1, 3))),
            (&cpp_closed, cpp_test, Pass, Some((3, 3))),
        ],
    );
    // `std::optional` (MultiPL-E's C++ for Python's `Optional`; it was no plain type, and the
    // run `crashed`).
    let opt_prompt = "#include<assert.h>\n#include<bits/stdc++.h>\n// The longest string, if any.\nstd::optional<std::string> longest(std::vector<std::string> strings) {\n";
    let opt_test = "}\nint main() {\n    auto candidate = longest;\n    assert(candidate((std::vector<std::string>())) == std::nullopt);\n    assert(candidate((std::vector<std::string>({(std::string)\"x\", (std::string)\"yyy\"}))) == \"yyy\");\n    assert(candidate((std::vector<std::string>({(std::string)\"ab\", (std::string)\"c\"}))) == std::optional<std::string>(\"ab\"));\n}\n";
    check_counts(
        65024,
        Language::Cpp,
        20_000,
        &[
            (
                &format!(
                    "{opt_prompt}    if (strings.empty()) return std::nullopt;\n    std::string b = strings[0];\n    for (auto &s : strings) if (s.size() > b.size()) b = s;\n    return b;"
                ),
                opt_test,
                Pass,
                Some((3, 3)),
            ),
            (
                &format!("{opt_prompt}    return std::nullopt;"),
                opt_test,
                Partial,
                Some((1, 3)),
            ),
        ],
    );
    let js_test = "const assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = greatest_common_divisor;\n  assert.deepEqual(candidate(3, 7),1);\n  assert.deepEqual(candidate(10, 15),5);\n  assert.deepEqual(candidate(49, 14),7);\n}\n\ntest();";
    let js_prompt = format!("//{gcd}\nfunction greatest_common_divisor(a, b){{\n");
    check_counts(
        65021,
        Language::JavaScript,
        20_000,
        &[
            (
                &format!("{js_prompt}  while (b) {{ [a, b] = [b, a % b]; }}\n  return a;\n}}\n"),
                js_test,
                Pass,
                Some((3, 3)),
            ),
            (
                &format!("{js_prompt}  return 1;\n}}\n"),
                js_test,
                Partial,
                Some((1, 3)),
            ),
        ],
    );
    let go_prompt = format!(
        "package greatest_common_divisor_test\n\nimport (\n    \"testing\"\n    \"fmt\"\n)\n\n// {gcd}\nfunc greatest_common_divisor(a int, b int) int {{\n"
    );
    let go_test = MPE_GO_TEST;
    // No check site (its comparisons are `t.Errorf`s in subtests): one check.
    check_counts(
        65022,
        Language::Go,
        30_000,
        &[
            (
                &format!("{go_prompt}    for b != 0 {{ a, b = b, a%b }}\n    return a\n}}\n\n"),
                go_test,
                Pass,
                Some((1, 1)),
            ),
            (
                &format!("{go_prompt}    return 1\n}}\n\n"),
                go_test,
                TestFailure,
                Some((0, 1)),
            ),
            // An import neither the code nor the test uses stays: the whole program would not
            // compile either.
            (
                &format!(
                    "{}    return a\n}}\n\n",
                    go_prompt.replace("\"fmt\"", "\"fmt\"\n    \"strings\"")
                ),
                go_test,
                CompileError,
                None,
            ),
        ],
    );
    if find_system_tool("rustc").is_some() {
        let rs_prompt =
            format!("/// {gcd}\nfn greatest_common_divisor(a: isize, b: isize) -> isize {{\n");
        let rs_test = MPE_RS_TEST;
        check_counts(
            65023,
            Language::Rust,
            30_000,
            &[
                (
                    &format!(
                        "{rs_prompt}    let (mut a, mut b) = (a, b);\n    while b != 0 {{ let t = a % b; a = b; b = t; }}\n    a"
                    ),
                    rs_test,
                    Pass,
                    Some((3, 3)),
                ),
                (&format!("{rs_prompt}    1"), rs_test, Partial, Some((1, 3))),
            ],
        );
    }
}

/// A sample's helper named like what the test binds itself (MultiPL-E's Go test: `test`, `tests`,
/// `tc`, `i`, `actual`, `expected`; C++'s and Rust's `candidate` variable) is not a second
/// function the test calls: each right answer was `crashed` ("the test calls 2 functions of the
/// sample's code") in review round 11; go test, g++ and rustc pass them. And a C++14 digit
/// separator (`1'000`) before a `{` no longer hides that brace from the count that gives the
/// test's `}` back to the code (the right answer was a `compile_error`).
#[test]
fn a_sample_s_helper_named_like_the_test_s_own_names_is_not_called_by_it() {
    let gcd = "    for b != 0 {\n        a, b = b, a%b\n    }\n    return a\n";
    let go_prompt = "package greatest_common_divisor_test\n\nimport (\n    \"testing\"\n    \"fmt\"\n)\n\nfunc greatest_common_divisor(a int, b int) int {\n";
    let go: Vec<String> = ["test", "tests", "tc", "i", "actual", "expected"]
        .iter()
        .map(|h| {
            format!(
                "{go_prompt}    return {h}(a, b)\n}}\n\nfunc {h}(a int, b int) int {{\n{gcd}}}\n"
            )
        })
        .collect();
    let cases: Vec<Case<'_>> = go
        .iter()
        .map(|c| (c.as_str(), MPE_GO_TEST, Pass, Some((1, 1))))
        .collect();
    check_counts(65026, Language::Go, 30_000, &cases);
    let cpp_prompt = "#include<assert.h>\n#include<bits/stdc++.h>\nlong greatest_common_divisor(long a, long b) {\n";
    let cpp_helper = format!(
        "{cpp_prompt}    long candidate(long, long);\n    return candidate(a, b);\n}}\nlong candidate(long a, long b) {{ while (b) {{ long t = a % b; a = b; b = t; }} return a;"
    );
    let cpp_digits = format!(
        "{cpp_prompt}    if (a > 1'000'000) {{\n        return 0;\n    }}\n    while (b) {{ long t = a % b; a = b; b = t; }}\n    return a;"
    );
    check_counts(
        65027,
        Language::Cpp,
        20_000,
        &[
            (&cpp_helper, MPE_CPP_TEST, Pass, Some((3, 3))),
            (&cpp_digits, MPE_CPP_TEST, Pass, Some((3, 3))),
        ],
    );
    if find_system_tool("rustc").is_some() {
        let rs = "fn greatest_common_divisor(a: isize, b: isize) -> isize {\n    candidate(a, b)\n}\nfn candidate(a: isize, b: isize) -> isize { let (mut a, mut b) = (a, b); while b != 0 { let t = a % b; a = b; b = t; } a";
        check_counts(
            65028,
            Language::Rust,
            30_000,
            &[(rs, MPE_RS_TEST, Pass, Some((3, 3)))],
        );
    }
}

/// An array's holes and extra data keys reach the judge as the sample made them: node's
/// `assert.deepEqual` tells them from a plain array (an attacker's review: an array with extra
/// keys, or `new Array(3)`, passed a `deepEqual` check the real program fails), while a test
/// that reads only the elements (`JSON.stringify`, indexes) still passes them.
#[test]
fn javascript_arrays_cross_with_their_holes_and_keys() {
    let deep = "const assert = require('node:assert');\nfunction test() {\n  assert.deepEqual(f(0), [undefined, undefined]);\n  assert.deepEqual(f(1), []);\n  assert.deepStrictEqual(f(2), ['b']);\n}\ntest();\n";
    let json = "const t = () => {\n  console.assert(JSON.stringify(f(0)) === '[null,null]')\n  console.assert(f(1).length === 0)\n  console.assert(f(2)[0] === 'b' && f(2).index === 1)\n}\nt()\n";
    let odd = "function f(x) {\n  if (x === 0) return new Array(2);\n  if (x === 1) { const r = []; r.a = 2; return r; }\n  return 'abc'.match(/b/);\n}\n";
    let plain = "function f(x) {\n  if (x === 0) return [undefined, undefined];\n  if (x === 1) return [];\n  return ['b'];\n}\n";
    check_counts(
        65025,
        Language::JavaScript,
        20_000,
        &[
            (odd, deep, TestFailure, Some((0, 3))),
            (plain, deep, Pass, Some((3, 3))),
            (odd, json, Pass, Some((3, 3))),
            (plain, json, Partial, Some((2, 3))),
        ],
    );
}
