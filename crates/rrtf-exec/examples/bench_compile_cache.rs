//! Benchmark of the compile cache on HumanEval-X-style C++ and Java samples (needs root, g++
//! and a JDK):
//!
//!     cargo run --release -p rrtf-exec --example bench_compile_cache [-- --workers 2]
//!
//! The same batch (per language: tasks x variants, every program distinct) runs three times:
//! without a cache (every program built from scratch, as before the cache existed), with an
//! empty cache (precompiled headers and the javac archive are made, then every build benefits;
//! no program repeats, so no build is reused), and again on that cache (every build reused, as
//! when samples repeat or a round is executed again). Prints samples/s of each pass and checks
//! that the three passes agree on every verdict (and CPU ms per sample, steadier than wall
//! time when the machine is shared). Timings belong here, never in tests.

use std::time::Instant;

use rrtf_exec::{ExecConfig, ExecResult, Executor, Job, Language, Outcome};

const CPP_HEADS: [&str; 3] = [
    "#include<stdio.h>\n#include<vector>\n#include<string>\n#include<algorithm>\nusing namespace std;\n",
    "#include<stdio.h>\n#include<math.h>\n#include<vector>\nusing namespace std;\n",
    "#include<stdio.h>\n#include<string>\n#include<map>\nusing namespace std;\n",
];

/// Which of [`CPP_HEADS`] each C++ task starts with.
const CPP_HEAD_OF: [usize; 8] = [1, 0, 0, 1, 2, 0, 1, 2];

/// (signature, correct body, wrong body, asserts) of C++ tasks.
const CPP_TASKS: [(&str, &str, &str, &str); 8] = [
    (
        "int add(int x,int y)",
        "return x+y;",
        "return x-y;",
        "assert (add(0, 1) == 1);\n    assert (add(5, 7) == 12);\n    assert (add(7, 5) == 12);",
    ),
    (
        "int max_element(vector<int> l)",
        "int m=-10000;\n    for (int i=0;i<l.size();i++) if (m<l[i]) m=l[i];\n    return m;",
        "return l[0];",
        "assert (max_element({1, 2, 3})== 3);\n    assert (max_element({5, 3, -5, 2, -3, 3, 9, 0, 124, 1, -10})== 124);",
    ),
    (
        "bool below_zero(vector<int> operations)",
        "int num=0;\n    for (int i=0;i<operations.size();i++) { num+=operations[i]; if (num<0) return true; }\n    return false;",
        "return false;",
        "assert (below_zero({}) == false);\n    assert (below_zero({1, 2, -3, 1, 2, -3}) == false);\n    assert (below_zero({1, 2, -4, 5, 6}) == true);",
    ),
    (
        "int fib(int n)",
        "int f[1000];\n    f[0]=0;f[1]=1;\n    for (int i=2;i<=n;i++) f[i]=f[i-1]+f[i-2];\n    return f[n];",
        "return n;",
        "assert (fib(10) == 55);\n    assert (fib(1) == 1);\n    assert (fib(8) == 21);",
    ),
    (
        "string flip_case(string str)",
        "string out=\"\";\n    for (int i=0;i<str.length();i++) { char w=str[i]; if (w>=97 and w<=122) w-=32; else if (w>=65 and w<=90) w+=32; out=out+w; }\n    return out;",
        "return str;",
        "assert (flip_case(\"\") == \"\");\n    assert (flip_case(\"Hello!\") == \"hELLO!\");",
    ),
    (
        "vector<int> incr_list(vector<int> l)",
        "for (int i=0;i<l.size();i++) l[i]+=1;\n    return l;",
        "return l;",
        "assert (incr_list({}) == vector<int>{});\n    assert (incr_list({3, 2, 1}) == (vector<int>{4, 3, 2}));",
    ),
    (
        "int car_race_collision(int n)",
        "return n*n;",
        "return n;",
        "assert (car_race_collision(2) == 4);\n    assert (car_race_collision(3) == 9);\n    assert (car_race_collision(10) == 100);",
    ),
    (
        "bool is_palindrome(string text)",
        "string pr(text.rbegin(),text.rend());\n    return pr==text;",
        "return true;",
        "assert (is_palindrome(\"\") == true);\n    assert (is_palindrome(\"aba\") == true);\n    assert (is_palindrome(\"zbcd\") == false);",
    ),
];

/// (method, correct body, wrong body, checks) of Java tasks.
const JAVA_TASKS: [(&str, &str, &str, &str); 6] = [
    (
        "public int add(int x, int y)",
        "return x + y;",
        "return x - y;",
        "s.add(0, 1) == 1,\n                s.add(5, 7) == 12,\n                s.add(7, 5) == 12",
    ),
    (
        "public int fib(int n)",
        "if (n < 2) return n; return fib(n - 1) + fib(n - 2);",
        "return n;",
        "s.fib(10) == 55,\n                s.fib(1) == 1,\n                s.fib(8) == 21",
    ),
    (
        "public String flipCase(String string)",
        "StringBuilder sb = new StringBuilder(); for (char c : string.toCharArray()) sb.append(Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c)); return sb.toString();",
        "return string;",
        "Objects.equals(s.flipCase(\"\"), \"\"),\n                Objects.equals(s.flipCase(\"Hello!\"), \"hELLO!\")",
    ),
    (
        "public List<Integer> incrList(List<Integer> l)",
        "return l.stream().map(p -> p + 1).collect(Collectors.toList());",
        "return l;",
        "s.incrList(new ArrayList<>(Arrays.asList())).equals(List.of()),\n                s.incrList(new ArrayList<>(Arrays.asList(3, 2, 1))).equals(Arrays.asList(4, 3, 2))",
    ),
    (
        "public boolean isPalindrome(String text)",
        "return new StringBuilder(text).reverse().toString().equals(text);",
        "return true;",
        "s.isPalindrome(\"\"),\n                s.isPalindrome(\"aba\"),\n                !s.isPalindrome(\"zbcd\")",
    ),
    (
        "public int carRaceCollision(int n)",
        "return n * n;",
        "return n;",
        "s.carRaceCollision(2) == 4,\n                s.carRaceCollision(3) == 9,\n                s.carRaceCollision(10) == 100",
    ),
];

fn cpp_jobs() -> Vec<Job> {
    let mut jobs = Vec::new();
    for (t, (sig, good, bad, asserts)) in CPP_TASKS.iter().enumerate() {
        let head = CPP_HEADS[CPP_HEAD_OF[t]];
        let test = format!("#undef NDEBUG\n#include<assert.h>\nint main(){{\n    {asserts}\n}}\n");
        let variants = [
            format!("{head}{sig}{{\n    {good}\n}}\n"),
            format!("{head}{sig}{{\n    // the same, written again\n    {good}\n}}\n"),
            format!("{head}{sig}{{\n    {bad}\n}}\n"),
            format!("{head}{sig}{{\n    {}\n}}\n", good.replacen(';', "", 1)),
        ];
        for code in variants {
            jobs.push(job(jobs.len() as u64, Language::Cpp, code, test.clone()));
        }
    }
    jobs
}

fn java_jobs() -> Vec<Job> {
    let mut jobs = Vec::new();
    for (method, good, bad, checks) in JAVA_TASKS {
        let test = format!(
            "public class Main {{\n    public static void main(String[] args) {{\n        Solution s = new Solution();\n        List<Boolean> correct = Arrays.asList(\n                {checks}\n        );\n        if (correct.contains(false)) {{\n            throw new AssertionError();\n        }}\n    }}\n}}\n"
        );
        let head = "import java.util.*;\nimport java.lang.*;\nimport java.util.stream.*;\n\nclass Solution {\n";
        let variants = [
            format!("{head}    {method} {{\n        {good}\n    }}\n}}\n"),
            format!(
                "{head}    {method} {{\n        // the same, written again\n        {good}\n    }}\n}}\n"
            ),
            format!("{head}    {method} {{\n        {bad}\n    }}\n}}\n"),
            format!(
                "{head}    {method} {{\n        {}\n    }}\n}}\n",
                good.replacen(';', "", 1)
            ),
        ];
        for code in variants {
            jobs.push(job(jobs.len() as u64, Language::Java, code, test.clone()));
        }
    }
    jobs
}

fn job(key: u64, language: Language, code: String, test: String) -> Job {
    Job {
        key,
        language,
        code: Some(code),
        test,
        entry_point: None,
        prompt: None,
    }
}

fn pass(name: &str, config: &ExecConfig, jobs: &[Job]) -> (f64, Vec<ExecResult>) {
    let exec = Executor::new(config.clone()).expect("executor");
    let t = Instant::now();
    let results = exec.run_all(jobs.to_vec());
    let secs = t.elapsed().as_secs_f64();
    let rate = jobs.len() as f64 / secs;
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &results {
        *by.entry(r.outcome.as_str()).or_default() += 1;
    }
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        for (j, r) in jobs.iter().zip(&results) {
            println!("    {} {} {:?}", j.key, r.outcome, r.detail.lines().next());
        }
    }
    // CPU time of the sandboxed build and run steps: steadier than wall time on a busy machine.
    let cpu: u64 = results.iter().map(|r| r.cpu_ms).sum();
    println!(
        "  {name:<28} {:>3} samples in {secs:>6.1} s = {rate:>6.2} samples/s, {:>6.0} ms CPU/sample  {by:?}",
        jobs.len(),
        cpu as f64 / jobs.len() as f64
    );
    (rate, results)
}

fn main() {
    let mut workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--workers") {
        workers = args[i + 1].parse().expect("--workers N");
    }
    // Not under /tmp: the sandbox puts its own tmpfs there.
    let dir =
        std::path::Path::new("/var/tmp").join(format!("rrtf-bench-cache-{}", std::process::id()));
    let base = ExecConfig {
        workers,
        timeout: std::time::Duration::from_secs(10),
        ..ExecConfig::default()
    };
    println!("workers: {workers}; cache for this run: {}", dir.display());
    for (lang, jobs) in [("C++", cpp_jobs()), ("Java", java_jobs())] {
        println!("{lang}:");
        let _ = std::fs::remove_dir_all(&dir);
        let off = ExecConfig {
            cache_dir: None,
            ..base.clone()
        };
        let on = ExecConfig {
            cache_dir: Some(dir.clone()),
            ..base.clone()
        };
        let (r0, v0) = pass("no cache (before)", &off, &jobs);
        let (r1, v1) = pass("empty cache (distinct code)", &on, &jobs);
        let (r2, v2) = pass("same batch again (reused)", &on, &jobs);
        let key = |v: &[ExecResult]| -> Vec<(Outcome, u32, u32)> {
            v.iter()
                .map(|r| (r.outcome, r.tests_passed, r.tests_total))
                .collect()
        };
        assert_eq!(key(&v0), key(&v1), "verdicts differ with a cold cache");
        assert_eq!(key(&v0), key(&v2), "verdicts differ with a warm cache");
        println!(
            "  speed-up: {:.2}x with an empty cache, {:.2}x on reused builds; verdicts identical",
            r1 / r0,
            r2 / r0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
