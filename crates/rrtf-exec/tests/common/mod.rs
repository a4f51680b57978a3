//! Helpers shared by the integration tests: an executor with its own uid range (so that tests
//! running in parallel can check for leftovers of their own), HumanEval loading, host checks,
//! and the tiers: [`needs`] skips a test whose optional toolchain is missing, unless
//! `RRTF_FULL_TESTS=1` (scripts/check, CI), where the missing toolchain fails it.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rrtf_exec::{ExecConfig, ExecResult, Executor, Job, Language};

/// The full tier (`RRTF_FULL_TESTS=1`, set by scripts/check and so by CI): every optional
/// toolchain must be there.
pub fn full_tier() -> bool {
    std::env::var_os("RRTF_FULL_TESTS").is_some_and(|v| v == "1")
}

/// Whether the running test can use `language` (its toolchain, and Go's testify). Python is not
/// optional: the executor needs it. In the fast tier a missing toolchain skips the test, with
/// `SKIPPED <test>: <what is missing and the package to install>` on stderr (written past the
/// test harness's capture, so `cargo test` shows it); in the full tier it fails the test.
pub fn needs(language: Language) -> bool {
    let Err(missing) = rrtf_exec::compiled::check(language) else {
        return true;
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if full_tier() {
        panic!("{test}: {missing} (RRTF_FULL_TESTS=1: the full tier runs every toolchain)");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {missing}");
    false
}

/// An executor whose sample uids are `uid_base..uid_base + workers`, with the tests' shared
/// compile cache (under the target directory: warm-ups such as Go's build cache are made once).
pub fn executor(uid_base: u32, workers: usize, timeout_ms: u64) -> Executor {
    executor_with_cache(uid_base, workers, timeout_ms, Some(test_cache_dir()))
}

pub fn test_cache_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("rrtf-exec-cache")
}

pub fn executor_with_cache(
    uid_base: u32,
    workers: usize,
    timeout_ms: u64,
    cache_dir: Option<std::path::PathBuf>,
) -> Executor {
    let wanted = cache_dir.is_some();
    let config = ExecConfig {
        workers,
        uid_base,
        timeout: Duration::from_millis(timeout_ms),
        cache_dir,
        ..ExecConfig::default()
    };
    let exec = Executor::new(config).expect("executor");
    assert_eq!(
        exec.compile_cache().is_some(),
        wanted,
        "the compile cache directory should be usable here"
    );
    exec
}

pub fn py_job(key: u64, code: &str, test: &str, entry: &str) -> Job {
    Job {
        key,
        language: Language::Python,
        code: Some(code.to_string()),
        test: test.to_string(),
        entry_point: Some(entry.to_string()),
        prompt: None,
    }
}

pub fn run_one(exec: &Executor, job: Job) -> ExecResult {
    let mut r = exec.run_all(vec![job]);
    assert_eq!(r.len(), 1);
    r.remove(0)
}

/// Processes on the host owned by a uid in `range`.
pub fn processes_of(range: std::ops::Range<u32>) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let uid = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|u| u.parse::<u32>().ok());
        if uid.is_some_and(|u| range.contains(&u)) {
            found.push(format!(
                "pid {name}: {}",
                status.lines().next().unwrap_or("")
            ));
        }
    }
    found
}

/// Wait up to two seconds for the processes of `range` to be gone (reaping is asynchronous).
pub fn assert_no_leftovers(range: std::ops::Range<u32>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let left = processes_of(range.clone());
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "leftover processes: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(serde::Deserialize, Clone)]
pub struct Problem {
    pub task_id: String,
    pub prompt: String,
    pub canonical_solution: String,
    pub test: String,
    pub entry_point: String,
}

pub fn humaneval() -> Vec<Problem> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/HumanEval.jsonl.gz");
    let file = std::fs::File::open(&path).expect("HumanEval data");
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Run the test `path` of this binary again as `uid` (no supplementary groups, a plain `PATH`)
/// and fail with its output if it fails; true when that happened, so the caller returns. As a
/// non-root user already (the suite run by someone else), false: the caller runs its body here.
/// `path` is `concat!(module_path!(), "::test_name")`: the crate's name is dropped.
pub fn as_user(uid: u32, path: &str) -> bool {
    use std::os::unix::process::CommandExt;
    // SAFETY: a query.
    if unsafe { libc::geteuid() } != 0 {
        return false;
    }
    let name = path.split_once("::").map_or(path, |(_, name)| name);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .uid(uid)
        .gid(uid)
        .env("HOME", "/nonexistent")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir("/")
        .output()
        .expect("run the test again as another user");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} as uid {uid} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "{name} did not run as uid {uid}:\n{stdout}"
    );
    true
}
