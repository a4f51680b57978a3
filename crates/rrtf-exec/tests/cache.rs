//! The compile cache, end to end: a second run of the same programs builds nothing and gives
//! the same verdicts; a program cannot write the cache or get what it did to its own build
//! into it; without a cache everything still runs. Each test has a fresh cache directory.

use crate::common;

use std::path::PathBuf;

use rrtf_exec::{ExecResult, Executor, Job, Language, Outcome};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cache-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn jobs(language: Language, cases: &[(String, &str)]) -> Vec<Job> {
    cases
        .iter()
        .enumerate()
        .map(|(i, (code, test))| Job {
            key: i as u64,
            language,
            code: Some(code.clone()),
            test: test.to_string(),
            entry_point: None,
            prompt: None,
        })
        .collect()
}

fn entries(exec: &Executor, language: Language) -> usize {
    let root = exec
        .compile_cache()
        .expect("cache")
        .root()
        .join(language.name());
    let Ok(toolchains) = std::fs::read_dir(&root) else {
        return 0;
    };
    toolchains
        .flatten()
        .filter_map(|tc| std::fs::read_dir(tc.path().join("build")).ok())
        .map(|d| d.count())
        .sum()
}

fn verdicts(rs: &[ExecResult]) -> Vec<(Outcome, u32, u32)> {
    rs.iter()
        .map(|r| (r.outcome, r.tests_passed, r.tests_total))
        .collect()
}

const CPP_TEST: &str = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(1,2) == 3);\n    assert (add(2,2) == 4);\n}\n";

#[test]
fn cpp_builds_are_cached_and_cannot_be_poisoned() {
    if !common::needs(Language::Cpp) {
        return;
    }
    let dir = fresh_dir("cpp");
    let uid = 65010;
    let exec = common::executor_with_cache(uid, 1, 20_000, Some(dir.clone()));
    let root = exec.compile_cache().unwrap().root().to_path_buf();
    let head = "#include<stdio.h>\n#include<vector>\n#include<string>\nusing namespace std;\n";
    // A program that, while its tests run, replaces its own binary in the scratch directory
    // and tries to write into the cache: its asserts hold only if the cache is out of reach.
    let tamper = format!(
        "{head}#include<unistd.h>\n#include<fcntl.h>\nint add(int a, int b) {{\n    \
         FILE* f = fopen(\"{root}/evil\", \"w\");\n    \
         bool cache_closed = f == NULL;\n    \
         bool exe_closed = open(\"/proc/self/exe\", O_WRONLY) < 0;\n    \
         remove(\"prog\");\n    \
         FILE* g = fopen(\"prog\", \"w\");\n    \
         if (g) {{ fputs(\"garbage\", g); fclose(g); }}\n    \
         return cache_closed && exe_closed ? a + b : -1;\n}}\n",
        root = root.display()
    );
    let cases = [
        (
            format!("{head}int add(int a, int b) {{ return a + b; }}"),
            CPP_TEST,
        ),
        (
            format!("{head}int add(int a, int b) {{ return a - b; }}"),
            CPP_TEST,
        ),
        (
            format!("{head}int add(int a, int b) {{ return a + }}"),
            CPP_TEST,
        ),
        (tamper, CPP_TEST),
    ];
    let want = vec![
        (Outcome::Pass, 2, 2),
        (Outcome::TestFailure, 0, 2),
        (Outcome::CompileError, 0, 2),
        (Outcome::Pass, 2, 2),
    ];
    let first = exec.run_all(jobs(Language::Cpp, &cases));
    assert_eq!(verdicts(&first), want, "{first:?}");
    assert_eq!(entries(&exec, Language::Cpp), 4);
    drop(exec);

    // Same programs, a new executor on the same cache: no build, same verdicts; the tampering
    // program runs from the cache, so its run did not reach what the cache holds.
    let exec = common::executor_with_cache(uid, 1, 20_000, Some(dir.clone()));
    let second = exec.run_all(jobs(Language::Cpp, &cases));
    assert_eq!(verdicts(&second), want, "{second:?}");
    assert_eq!(entries(&exec, Language::Cpp), 4);
    let compile_error = &second[2];
    assert_eq!((compile_error.wall_ms, compile_error.cpu_ms), (0, 0));
    assert_eq!(compile_error.detail, first[2].detail);
    for i in [0, 1, 3] {
        assert!(
            second[i].cpu_ms < first[i].cpu_ms,
            "no compiler ran: {:?} vs {:?}",
            second[i],
            first[i]
        );
    }
    assert!(!root.join("evil").exists());
    drop(exec);
    common::assert_no_leftovers(uid..uid + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A build stored during a run is run from the cache by a later sample of that same run: the
/// worker's rules for what candidates may read were once fixed while the cache's build area
/// did not exist yet, and the hit then failed as "cannot execute .../build/<key>/cand".
#[test]
fn a_build_stored_during_a_run_serves_the_rest_of_that_run() {
    if !common::needs(Language::Cpp) {
        return;
    }
    let dir = fresh_dir("same-run");
    let uid = 65013;
    let exec = common::executor_with_cache(uid, 1, 20_000, Some(dir.clone()));
    let head = "#include<stdio.h>\n#include<vector>\n#include<string>\nusing namespace std;\n";
    let right = format!("{head}int add(int a, int b) {{ return a + b; }}");
    let cases: Vec<(String, &str)> = (0..3).map(|_| (right.clone(), CPP_TEST)).collect();
    let rs = exec.run_all(jobs(Language::Cpp, &cases));
    assert_eq!(verdicts(&rs), vec![(Outcome::Pass, 2, 2); 3], "{rs:?}");
    assert_eq!(entries(&exec, Language::Cpp), 1, "one build, two hits");
    drop(exec);
    common::assert_no_leftovers(uid..uid + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn java_builds_are_cached_with_the_same_counts() {
    if !common::needs(Language::Java) {
        return;
    }
    let dir = fresh_dir("java");
    let uid = 65011;
    let test = "public class Main {\n    public static void main(String[] args) {\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                s.add(1, 2) == 3,\n                s.add(2, 2) == 4\n        );\n        if (correct.contains(false)) {\n            throw new AssertionError();\n        }\n    }\n}\n";
    let solution = |body: &str| {
        format!(
            "import java.util.*;\nclass Solution {{\n    public int add(int a, int b) {{ {body} }}\n}}"
        )
    };
    let cases = [
        (solution("return a + b;"), test),
        (solution("return a == 1 ? 3 : 0;"), test),
    ];
    let want = vec![(Outcome::Pass, 2, 2), (Outcome::Partial, 1, 2)];
    let exec = common::executor_with_cache(uid, 1, 20_000, Some(dir.clone()));
    let first = exec.run_all(jobs(Language::Java, &cases));
    assert_eq!(verdicts(&first), want, "{first:?}");
    assert_eq!(entries(&exec, Language::Java), 2);
    let second = exec.run_all(jobs(Language::Java, &cases));
    assert_eq!(verdicts(&second), want, "{second:?}");
    assert_eq!(entries(&exec, Language::Java), 2);
    for (a, b) in first.iter().zip(&second) {
        assert!(b.cpu_ms < a.cpu_ms, "javac ran again: {b:?} vs {a:?}");
    }
    drop(exec);
    common::assert_no_leftovers(uid..uid + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_cache_programs_still_build_and_run() {
    if !common::needs(Language::Cpp) {
        return;
    }
    let uid = 65012;
    let exec = common::executor_with_cache(uid, 1, 20_000, None);
    let code = "int add(int a, int b) { return a + b; }".to_string();
    let r = exec.run_all(jobs(Language::Cpp, &[(code, CPP_TEST)]));
    assert_eq!(verdicts(&r), vec![(Outcome::Pass, 2, 2)], "{r:?}");
    drop(exec);
    common::assert_no_leftovers(uid..uid + 1);
}
