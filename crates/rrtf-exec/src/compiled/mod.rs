//! JavaScript, C++, Java, Go and Rust: judged runs. Each run is two processes, wired by pipes
//! by the slot's worker (`run_pair` in `python/worker.py`):
//!
//! - the **candidate**: the sample's code and a generated call server, which reads calls
//!   (function id and arguments), calls the sample's function and writes the result, encoded
//!   as a plain value (the per-language runtimes in `rt/`; anything else is a failure of the
//!   candidate);
//! - the **judge**: the test, compiled or run *without* the sample's code, where every function
//!   of the code the test calls is a stub that sends its arguments to the candidate and decodes
//!   the answer into a fresh plain value of the declared type. Comparisons, builtins and the
//!   test's helpers are the judge's own; the check sites are found in the test's text by
//!   [`instrument`] and counted by the judge's harness, which reports on a pipe only it holds
//!   (see `verdict.rs` for the report and how a verdict follows from it).
//!
//! The judge depends only on the test and the declared signatures, so its build is cached
//! apart from the samples' builds ([`cache::Area::Judge`]), and samples can never read it.
//! Signatures come from the code's declarations (for a completion, the prompt's), parsed under
//! a closed grammar of plain types per language and rendered again by this crate: a signature
//! outside that grammar means no judge (the run is `crashed`, saying why, never a pass).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Outcome;
use crate::error::ExecError;
use crate::job::{ExecResult, Job};
use crate::lang::{Language, LanguageTools};
use crate::pool::ExecConfig;
use crate::python::{PythonWorker, Step};

pub mod cache;
mod cpp;
mod go;
pub mod instrument;
mod java;
mod js;
mod pair;
mod rust;
mod verdict;
use crate::sandbox::Limits;
use cache::Area;
pub use cache::CompileCache;
use instrument::Site;

/// Where Debian's `golang-github-stretchr-testify-dev` puts testify (GOPATH layout).
pub const GOPATH: &str = "/usr/share/gocode";
const TESTIFY: &str = "/usr/share/gocode/src/github.com/stretchr/testify/assert";
const GO_INSTALL: &str = "apt-get install -y golang-go golang-github-stretchr-testify-dev";

/// Go's settings, in the sandbox and for the warm-up: GOPATH mode over Debian's packaged
/// modules, no network, no cgo (no C compiler flags from sources), no toolchain switching.
pub const GO_ENV: [(&str, &str); 8] = [
    ("GO111MODULE", "off"),
    ("GOPATH", GOPATH),
    ("GOPROXY", "off"),
    ("GOFLAGS", ""),
    ("CGO_ENABLED", "0"),
    ("GOTOOLCHAIN", "local"),
    ("GOENV", "off"),
    ("GOTELEMETRY", "off"),
];

/// Fail early when `language` cannot run here.
pub fn check(language: Language) -> Result<(), ExecError> {
    language.toolchain()?;
    if language == Language::Go {
        testify_at(Path::new(TESTIFY))?;
    }
    Ok(())
}

/// HumanEval-X's Go tests import testify's `assert`; the sandbox cannot fetch modules.
fn testify_at(dir: &Path) -> Result<(), ExecError> {
    if dir.is_dir() {
        return Ok(());
    }
    Err(ExecError::MissingToolchain {
        language: "go",
        tool: "testify (github.com/stretchr/testify, imported by HumanEval-X's Go tests)",
        install: GO_INSTALL,
    })
}

/// One program of a judged run.
#[derive(Default, Clone)]
pub(crate) struct Side {
    pub files: Vec<(String, String)>,
    /// The build command (run in the program's directory), if it is compiled.
    pub build: Option<Vec<String>>,
    /// Extra environment of the build step.
    pub build_env: Vec<(String, String)>,
    /// What the build produces (names, or `.suffix`es), kept by the compile cache.
    pub artifacts: Vec<String>,
    /// The run command; `@DIR@` is where the artifacts are (`@WORK@`/`@JUDGE@`, or the cache
    /// entry on a hit).
    pub run: Vec<String>,
    /// Larger address-space and process limits (the JVM, the Go toolchain).
    pub heavy: bool,
    /// Whether the build's result may be cached (a build that only checks syntax is not).
    pub cacheable: bool,
}

/// A judged run: its two programs, the test's check sites, what the judge calls.
pub(crate) struct Plan {
    pub judge: Side,
    pub cand: Side,
    pub sites: Vec<Site>,
    /// The signatures the judge's stubs have (for messages).
    pub calls: Vec<String>,
}

/// Toolchain warm-ups a profile may use (from the compile cache).
#[derive(Default)]
struct Warm {
    cpp_pch: Option<PathBuf>,
    cpp_judge_pch: Option<PathBuf>,
    javac_cds: Option<PathBuf>,
    go_cache: Option<PathBuf>,
    /// The runtime, precompiled (Rust's rlib, Java's classes).
    runtime: Option<PathBuf>,
}

fn nonce() -> String {
    let mut bytes = [0u8; 12];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of a build: everything that decides what the compiler produces.
fn build_key(config: &ExecConfig, language: Language, toolchain: &str, side: &Side) -> String {
    let argv: Vec<&str> = side
        .build
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|a| !a.starts_with("-J-XX:SharedArchiveFile="))
        .collect();
    let env: Vec<String> = side
        .build_env
        .iter()
        .filter(|(k, _)| k != "RRTF_GOCACHE")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut parts: Vec<Vec<u8>> = vec![
        cache::PROFILE_VERSION.into(),
        language.name().into(),
        toolchain.into(),
        argv.join("\0").into(),
        env.join("\0").into(),
        config.memory_mb.to_string().into(),
    ];
    for (name, content) in &side.files {
        parts.push(name.clone().into());
        parts.push(content.clone().into());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    cache::hash_parts(&refs)
}

/// What a judge may take from outside the test: the prompt the code answers (trusted text,
/// never the sample's) and the function under test, when known.
#[derive(Clone, Copy, Default)]
pub(crate) struct Prompt<'a> {
    pub text: Option<&'a str>,
    pub entry_point: Option<&'a str>,
}

#[cfg(test)]
impl Prompt<'_> {
    pub const NONE: Prompt<'static> = Prompt {
        text: None,
        entry_point: None,
    };
}

/// A function the prompt defines whole (its body closed): trusted text the judge may compile
/// in place of a stub. `owner` is its class (Java), else empty.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Whole {
    pub name: String,
    pub owner: String,
    pub text: String,
}

/// The [`Whole`]s of `prompt`, from its functions as a language's scanner found them: (name,
/// whether the signature is plain, the span of the definition when its body is whole). A
/// signature outside the closed grammar is no helper (prose read as code fails that test too).
fn wholes(
    prompt: &str,
    funcs: impl IntoIterator<Item = (String, bool, Option<(usize, usize)>)>,
) -> Vec<Whole> {
    funcs
        .into_iter()
        .filter(|(_, plain, _)| *plain)
        .filter_map(|(name, _, span)| {
            let (a, b) = span?;
            Some(Whole {
                name,
                owner: String::new(),
                text: prompt.get(a..b)?.to_string(),
            })
        })
        .collect()
}

/// The prompt's definitions the judge runs itself: the functions the test uses (`used`, in
/// its order) that the prompt defines whole, never the function under test (`entry_point`),
/// with the prompt's definitions they use in turn; in the prompt's order. They are the
/// test's helpers (HumanEval-X /38's `encode_cyclic`, which builds the input `decode_cyclic`
/// must decode; /32's `poly`, which checks `find_zero`'s root): the prompt's text decides what
/// they compute, never the sample's copy (which a completion could also change with a macro
/// or a patched prototype after the prompt's text). `sample`: the functions of the code the
/// test calls. When the prompt defines every one of them whole, its definitions are examples,
/// not helpers (the sample's answer would not be tested at all): none is taken.
fn prompt_helpers<'w>(
    used: &[String],
    sample: &[String],
    whole: &'w [Whole],
    entry_point: Option<&str>,
    syntax: instrument::Syntax,
) -> Vec<&'w Whole> {
    let defined = |n: &str| Some(n) != entry_point && whole.iter().any(|w| w.name == n);
    let mut names: Vec<String> = used.iter().filter(|n| defined(n)).cloned().collect();
    if !sample.is_empty() && sample.iter().all(|s| names.contains(s)) {
        return Vec::new();
    }
    let mut k = 0;
    while k < names.len() {
        let name = names[k].clone();
        for w in whole.iter().filter(|w| w.name == name) {
            for n in instrument::free_names(&w.text, syntax) {
                if defined(&n) && !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        k += 1;
    }
    whole.iter().filter(|w| names.contains(&w.name)).collect()
}

/// The names `test` uses that it does not define itself (`own`, its functions) nor bind
/// ([`instrument::bound_names`]: a sample's helper named like the test's `candidate` variable
/// is not a function the test calls), in order, and of those the prompt's helpers
/// ([`prompt_helpers`]), the functions of the code being `code`.
fn test_uses<'w>(
    test: &str,
    syntax: instrument::Syntax,
    own: &[&str],
    code: &[&str],
    whole: &'w [Whole],
    entry_point: Option<&str>,
) -> (Vec<String>, Vec<&'w Whole>) {
    let bound = instrument::bound_names(test, syntax);
    let used: Vec<String> = instrument::free_names(test, syntax)
        .into_iter()
        .filter(|n| {
            !own.contains(&n.as_str()) && (!bound.contains(n) || Some(n.as_str()) == entry_point)
        })
        .collect();
    let sample: Vec<String> = code
        .iter()
        .filter(|n| used.iter().any(|u| u == *n))
        .map(|n| n.to_string())
        .collect();
    let helpers = prompt_helpers(&used, &sample, whole, entry_point, syntax);
    (used, helpers)
}

/// `Err` when the test calls more than one function of the sample's code (`names`, in the
/// test's order, each once) besides the prompt's own ([`prompt_helpers`]). Only the function
/// under test may come from the sample: a second one is a helper (HumanEval-X /38's
/// `encode_cyclic`, /32's `poly`) that computes the values the answer is checked against, and
/// the sample's copy of it (or a macro or a patched prototype in a completion) would decide
/// its own verdict. Without the prompt's definition of it the trusted side has no copy to
/// run, so the test cannot be judged faithfully.
fn one_function_of_the_sample(names: &[String]) -> Result<(), String> {
    if names.len() <= 1 {
        return Ok(());
    }
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    Err(format!(
        "the test calls {} functions of the sample's code ({}) and the prompt defines none but \
         one of them: only the function under test may come from the sample, a helper of the \
         sample's would compute the values its own answer is checked against",
        names.len(),
        list.join(", ")
    ))
}

/// MultiPL-E's C++ and Rust rows end a completion before its function's closing brace (their
/// stop sequence is `\n}`) and start the test with that brace, a line of its own: the program
/// is `prompt + completion + "\n" + test`. The judge builds the test without the code, so the
/// brace goes back to the code: appended when the code opens one more `{` than it closes (what
/// MultiPL-E's own program then holds), else dropped (a completion cut where its function
/// closes, as rrtf's rounds cut them). Other tests are returned as they are.
fn closing_brace_to_code<'a>(language: Language, code: &str, test: &'a str) -> (String, &'a str) {
    let syntax = match language {
        Language::Cpp => instrument::Syntax::C,
        Language::Rust => instrument::Syntax::Rust,
        _ => return (code.to_string(), test),
    };
    let start = test.len() - test.trim_start().len();
    let line_end = test[start..].find('\n').map_or(test.len(), |n| start + n);
    let line = &test[start..line_end];
    // `}` alone, or with a line comment after it (`} // end`).
    if line.split("//").next().unwrap_or(line).trim_end() != "}" {
        return (code.to_string(), test);
    }
    let rest = &test[line_end..];
    let b = code.as_bytes();
    let mask = instrument::code_mask(b, syntax);
    let count = |c: u8| (0..b.len()).filter(|&i| mask[i] && b[i] == c).count();
    if count(b'{') == count(b'}') + 1 {
        (format!("{code}\n}}"), rest)
    } else {
        (code.to_string(), rest)
    }
}

/// A verdict that needs no run: the judge cannot be built for this test and code.
/// A name the code and the test both declare at their top level, where one program (one Go
/// package, one Rust crate) does not compile: the code's own `mod tests` beside HumanEval-X's
/// Rust test module (E0428), or its own `func TestAdd` (or a generic function, a `var`,
/// `const` or `type` of a name the test declares) beside the Go test's. The judge builds
/// the two apart, so the clash would go unseen (an attacker's review, round 17: such answers
/// passed). In JavaScript, a name one of them declares with `let`, `const` or `class` and the
/// other declares at all: the one script does not parse (round 18); both with `var` or
/// `function`: one variable in one script, which the judge's two programs cannot share
/// (`crashed`; round 19: a sample adding into its `var total` beside the test's passed).
fn clash(language: Language, code: &str, test: &str) -> Option<(Outcome, String)> {
    if language == Language::JavaScript {
        let test_names = js::top_declarations(test);
        let code_names = js::top_declarations(code);
        let both = |lexical_only: bool| {
            code_names.iter().find(|(n, lexical)| {
                test_names
                    .iter()
                    .any(|(t, tl)| t == n && (!lexical_only || *lexical || *tl))
            })
        };
        if let Some((name, _)) = both(true) {
            return Some((
                Outcome::CompileError,
                format!(
                    "the code and the test both declare `{name}` at their top level, one of \
                     them with `let`, `const` or `class`: as one script they do not parse \
                     (SyntaxError: Identifier '{name}' has already been declared)"
                ),
            ));
        }
        let (name, _) = both(false)?;
        return Some((
            Outcome::Crashed,
            format!(
                "the judge cannot run this test: the code and the test both declare `{name}` \
                 at their top level (`var` or `function`): in one script that is one variable, \
                 which the judge's two programs cannot share"
            ),
        ));
    }
    let (what, code_names, test_names) = match language {
        Language::Rust => ("mod ", rust::top_modules(code), rust::top_modules(test)),
        Language::Go => ("", go::top_names(code), go::top_names(test)),
        _ => return None,
    };
    let name = code_names.iter().find(|n| test_names.contains(n))?;
    Some((
        Outcome::CompileError,
        format!(
            "the code and the test both declare `{what}{name}` at their top level: as one \
             program they do not compile"
        ),
    ))
}

fn no_judge(key: u64, why: &str) -> ExecResult {
    ExecResult::without_run(
        key,
        Outcome::Crashed,
        format!("the judge cannot run this test: {why}"),
    )
}

/// Build and run one program (`job`, of a language other than Python) as a judged run. With a
/// compile cache, builds already made for the same sources and toolchain are not made again
/// (see [`cache`]).
pub fn run(
    worker: &mut PythonWorker,
    config: &ExecConfig,
    cache: Option<&CompileCache>,
    job: &Job,
) -> Result<ExecResult, ExecError> {
    let (language, key) = (job.language, job.key);
    let (code, test) =
        closing_brace_to_code(language, job.code.as_deref().unwrap_or_default(), &job.test);
    let code = code.as_str();
    let prompt = Prompt {
        text: job.prompt.as_deref(),
        entry_point: job.entry_point.as_deref(),
    };
    check(language)?;
    if let Some((outcome, why)) = clash(language, code, test) {
        return Ok(ExecResult::without_run(key, outcome, why));
    }
    let tools = language.toolchain()?;
    let toolchain = cache.map(|c| c.toolchain(language, &tools));
    let mut warm = Warm::default();
    if let (Some(c), Some(tc)) = (cache, &toolchain) {
        match language {
            Language::Cpp => {
                let headers = cpp::leading_headers(code);
                if !headers.is_empty() {
                    warm.cpp_pch = c.cpp_pch(tc, &tools[0], &cpp::CPP_FLAGS, &headers);
                }
                let headers = cpp::judge_headers(code);
                warm.cpp_judge_pch = c.cpp_pch(tc, &tools[0], &cpp::CPP_FLAGS, &headers);
            }
            Language::Java => {
                warm.javac_cds = c.javac_cds(tc, &tools[0], &java::JAVAC_FLAGS);
                let argv = java::runtime_build(&tools[0]);
                warm.runtime = c.runtime(language, tc, "RrtfRt.java", java::RT, &argv);
            }
            Language::Go => warm.go_cache = c.go_build_cache(tc, &tools[0], &GO_ENV),
            Language::Rust => {
                let argv = rust::runtime_build(&tools[0]);
                warm.runtime = c.runtime(language, tc, "rrtf_rt.rs", rust::RT, &argv);
            }
            _ => {}
        }
    }
    let plan = match language {
        Language::Cpp => cpp::plan(
            &tools[0],
            code,
            test,
            warm.cpp_pch.as_deref(),
            warm.cpp_judge_pch.as_deref(),
            prompt,
        ),
        Language::JavaScript => js::plan(&tools[0], code, test, prompt),
        Language::Java => java::plan(
            &tools,
            code,
            test,
            warm.javac_cds.as_deref(),
            warm.runtime.as_deref(),
            prompt,
        ),
        Language::Go => go::plan(&tools[0], code, test, warm.go_cache.as_deref(), prompt),
        Language::Rust => rust::plan(&tools[0], code, test, warm.runtime.as_deref(), prompt),
        Language::Python => unreachable!("checked by the caller"),
    };
    let plan = match plan {
        Ok(p) => p,
        Err(why) => return Ok(no_judge(key, &why)),
    };
    let base = config.sample_limits(worker.protections());
    let limits = |side: &Side, secs: Duration| Limits {
        cpu_secs: Some(secs.as_secs() + 2),
        address_space_mb: if side.heavy {
            Some(base.address_space_mb.unwrap_or(1024).max(4096))
        } else {
            Some(base.address_space_mb.unwrap_or(1024).max(2048))
        },
        processes: base
            .processes
            .map(|n| if side.heavy { 512 } else { n.max(128) }),
        file_size_mb: Some(64),
        ..base
    };
    // The sample's own program runs under the sample's limits: `memory_mb` of address space
    // (at least what a runtime needs to start: node, the JVM and Go's runtime reserve about
    // 1 GiB) and `processes` (at least 128 for the JVM's and Go's threads). The raised limits
    // above are for compilers and the judge (a review found a C++ sample using 1.5 GiB under
    // `--memory-mb 512`, and forking past the 64 processes).
    let runtime_floor = match language {
        Language::JavaScript | Language::Java | Language::Go => 1024,
        _ => crate::MIN_MEMORY_MB,
    };
    let sample_run_limits = |side: &Side| Limits {
        address_space_mb: base.address_space_mb.map(|mb| mb.max(runtime_floor)),
        processes: base
            .processes
            .map(|n| if side.heavy { n.max(128) } else { n }),
        ..limits(side, config.timeout)
    };
    let env = |dir: &str| -> BTreeMap<String, String> {
        [
            ("PATH", "/usr/local/bin:/usr/bin:/bin"),
            ("HOME", dir),
            ("TMPDIR", dir),
            ("LANG", "C.UTF-8"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let cached = |area: Area, side: &Side| match (cache, &toolchain) {
        (Some(c), Some(tc)) if side.build.is_some() && side.cacheable => {
            let k = build_key(config, language, tc, side);
            Some((c.lookup(area, language, tc, &k), k))
        }
        _ => None,
    };
    let judge_cached = cached(Area::Judge, &plan.judge);
    let cand_cached = cached(Area::Build, &plan.cand);
    let side_job = |side: &Side, dir: &str, hit: Option<&cache::Hit>, store: bool, sample| {
        let build = match (hit, &side.build) {
            (Some(_), _) | (None, None) => None,
            (None, Some(argv)) => {
                let mut e = env(dir);
                e.extend(side.build_env.iter().cloned());
                Some(Step {
                    argv: argv.clone(),
                    env: e,
                    timeout: config.compile_timeout,
                    limits: limits(side, config.compile_timeout),
                    stdin: None,
                    collect: if store {
                        side.artifacts.clone()
                    } else {
                        Vec::new()
                    },
                })
            }
        };
        let at = hit.map_or(dir.to_string(), |h| h.dir.to_string_lossy().into_owned());
        let run_limits = Limits {
            file_size_mb: base.file_size_mb,
            ..if sample {
                sample_run_limits(side)
            } else {
                limits(side, config.timeout)
            }
        };
        pair::SideJob {
            files: if hit.is_some() {
                BTreeMap::new()
            } else {
                side.files.iter().cloned().collect()
            },
            build,
            run: pair::RunSpec {
                argv: side.run.iter().map(|a| a.replace("@DIR@", &at)).collect(),
                env: env(dir),
                limits: run_limits,
            },
        }
    };
    let judge_hit = judge_cached.as_ref().and_then(|(h, _)| h.as_ref());
    let cand_hit = cand_cached.as_ref().and_then(|(h, _)| h.as_ref());
    // A build that failed before fails again: its stored result is the verdict.
    for (hit, is_judge) in [(judge_hit, true), (cand_hit, false)] {
        if let Some(h) = hit.filter(|h| h.build.exit != Some(0)) {
            let seen = verdict::Observed {
                judge_build: is_judge.then_some(&h.build),
                cand_build: (!is_judge).then_some(&h.build),
                run: None,
                report: &[],
            };
            return Ok(verdict::judge(
                key,
                &plan.sites,
                "",
                config.timeout.as_secs_f64(),
                &seen,
            ));
        }
    }
    let nonce = nonce();
    let cand_read = match (cache, &toolchain) {
        (Some(c), Some(tc)) => c
            .candidate_dirs(language, tc, cand_hit.map(|h| h.dir.as_path()))
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect(),
        _ => Vec::new(),
    };
    let job = pair::PairJob {
        judge: side_job(
            &plan.judge,
            "@JUDGE@",
            judge_hit,
            judge_cached.is_some(),
            false,
        ),
        cand: side_job(&plan.cand, "@WORK@", cand_hit, cand_cached.is_some(), true),
        cand_read,
        timeout: config.timeout,
        nonce: nonce.clone(),
    };
    let mut reply = pair::run(worker, &job)?;
    if let (Some(c), Some(tc)) = (cache, &toolchain) {
        for (area, cached, build) in [
            (Area::Judge, &judge_cached, reply.judge_build.as_mut()),
            (Area::Build, &cand_cached, reply.cand_build.as_mut()),
        ] {
            if let (Some((None, k)), Some(b)) = (cached, build) {
                c.store(area, language, tc, k, b);
                b.artifacts = None;
            }
        }
    }
    let report = reply
        .run
        .as_ref()
        .and_then(|r| cache::decode_base64(&r.report))
        .unwrap_or_default();
    let seen = verdict::Observed {
        judge_build: reply.judge_build.as_ref(),
        cand_build: reply.cand_build.as_ref(),
        run: reply.run.as_ref(),
        report: &report,
    };
    let mut res = verdict::judge(
        key,
        &plan.sites,
        &nonce,
        config.timeout.as_secs_f64(),
        &seen,
    );
    // JavaScript has no build: a program that does not parse dies at start, saying so (a
    // SyntaxError thrown while running has a stack frame in the program).
    if language == Language::JavaScript
        && res.outcome == Outcome::RuntimeError
        && let Some(run) = &reply.run
        && !run.cand.alive
        && run.cand.exit != Some(0)
        && run.cand.output().contains("SyntaxError")
        && !run
            .cand
            .output()
            .lines()
            .any(|l| l.trim_start().starts_with("at ") && l.contains("cand.js:"))
    {
        res.outcome = Outcome::CompileError;
        res.tests_passed = 0;
        res.test_results.clear();
        res.detail = verdict::summarize(&run.cand.output());
    }
    if res.outcome == Outcome::CompileError
        && reply
            .judge_build
            .as_ref()
            .is_some_and(|b| b.exit != Some(0))
        && !plan.calls.is_empty()
    {
        res.detail = format!("{} (stubs: {})", res.detail, plan.calls.join("; "))
            .chars()
            .take(1000)
            .collect();
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_testify_names_the_debian_packages() {
        assert!(testify_at(Path::new("/usr")).is_ok());
        let err = testify_at(Path::new("/usr/share/gocode/src/nowhere")).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ExecError::MissingToolchain { .. }), "{text}");
        assert!(
            text.contains("apt-get install -y golang-go golang-github-stretchr-testify-dev"),
            "{text}"
        );
    }

    #[test]
    fn a_test_s_opening_brace_goes_back_to_the_code() {
        let open = "// f({1, 2}) >>> '{'\nlong f(long a) {\n    return a;";
        let test = "}\nint main() {\n    assert(f(1) == 1);\n}\n";
        let rest = "\nint main() {\n    assert(f(1) == 1);\n}\n";
        // Braces in comments and literals do not count; the test keeps its line numbers.
        let (code, t) = closing_brace_to_code(Language::Cpp, open, test);
        assert_eq!((code.as_str(), t), (&*format!("{open}\n}}"), rest));
        // A completion already cut where its function closes: the brace is dropped.
        let closed = format!("{open}\n}}");
        let (code, t) = closing_brace_to_code(Language::Cpp, &closed, test);
        assert_eq!((code.as_str(), t), (closed.as_str(), rest));
        let (code, t) =
            closing_brace_to_code(Language::Rust, "fn f() {", "  } // end\nfn main() {}");
        assert_eq!((code.as_str(), t), ("fn f() {\n}", "\nfn main() {}"));
        // Other tests, and other languages, are left as they are.
        for (language, test) in [
            (Language::Cpp, "};\nint main() {}"),
            (Language::Cpp, "int main() {}"),
            (
                Language::Java,
                "    }\n    public static void main(String[] a) {}\n}",
            ),
            (Language::JavaScript, "}\ntest();"),
        ] {
            let (code, t) = closing_brace_to_code(language, open, test);
            assert_eq!((code.as_str(), t), (open, test));
        }
    }
}
