//! The compile cache of the compiled languages (C++, Java, Rust, Go).
//!
//! Two kinds of entries, both written only here, by the executor's own (trusted) process,
//! never by anything running in the sandbox:
//!
//! - **Artifacts**, keyed by the SHA-256 of (profile version, language, toolchain identity,
//!   build command, memory limit, every source file). A miss builds in the sandbox as usual;
//!   right after a successful build (before the program runs) the worker reads what the
//!   compiler wrote and returns it, and this module stores it. A compile error is stored too
//!   (its output), so an identical broken program is not compiled again. A hit skips the build:
//!   the program runs straight from the cache entry, which the sandbox sees read-only (read-only
//!   root, Landlock read+execute). Programs carry no per-run secret (the judge's nonce comes
//!   on stdin), so identical programs share one build. Two areas: samples' programs
//!   ([`Area::Build`]) and judges' programs ([`Area::Judge`], the test and its stubs: one per
//!   test and signatures, reused by every sample of the task); a sample's processes may read
//!   the warm-ups ([`CompileCache::candidate_dirs`]) and its own build's entry when it is a
//!   hit, never another sample's build (whose binary it could run to answer for it, a review's
//!   forged pass) nor the judges'.
//! - **Toolchain warm-ups**, built on the host from inputs this crate writes itself (no sample
//!   text): a precompiled header per set of standard C++ headers, a class-data-sharing archive
//!   of `javac`, a Go build cache holding the standard library and testify compiled with
//!   the sandbox's settings, and the judged runs' runtime precompiled (Rust's rlib, Java's
//!   classes). Samples get a private, writable copy of the Go cache made of symlinks into the
//!   read-only one.
//!
//! Entries are written to a temporary directory and renamed into place, so a reader never sees
//! a half entry; every path is keyed by the toolchain's identity (version output, binary size
//! and modification time), so an upgraded compiler never reuses old artifacts.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::lang::Language;
use crate::python::StepResult;

/// Bumped whenever a profile's sources or commands change what a build produces.
pub const PROFILE_VERSION: &str = "3";

/// Where the cache lives when nothing else is configured: `/var/cache/rrtf-exec` for root
/// (sample uids must be able to read it: a home directory is usually closed to them), else
/// `$XDG_CACHE_HOME/rrtf-exec` or `~/.cache/rrtf-exec`.
pub fn default_dir() -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from("/var/cache/rrtf-exec"));
    }
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("rrtf-exec"))
}

/// Which program a cached build belongs to: the sample's (the candidate, with its call
/// server) or the judge (the test and its stubs, no sample code). Samples may read their own
/// area and the warm-ups, never the judges' (which hold the tests' expected values).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Area {
    Build,
    Judge,
}

impl Area {
    fn name(self) -> &'static str {
        match self {
            Area::Build => "build",
            Area::Judge => "judge",
        }
    }
}

/// A cache entry found for a build.
pub struct Hit {
    /// The directory holding the artifacts (what `@DIR@` stands for in a run command).
    pub dir: PathBuf,
    /// The build step as it ended when the entry was made (output kept; times zeroed).
    pub build: StepResult,
}

pub struct CompileCache {
    /// `<dir>/v1`.
    root: PathBuf,
    /// Builds are pruned, least recently used first, when they take more than this.
    max_bytes: u64,
    /// Bytes stored since the last size check.
    added: std::sync::atomic::AtomicU64,
    pruning: Mutex<()>,
    toolchains: Mutex<HashMap<Language, String>>,
    /// Serialises warm-ups (two slots needing the same one build it once) and remembers the
    /// ones that failed in this process (not retried by every job; retried by the next run).
    warming: Mutex<std::collections::HashSet<PathBuf>>,
}

impl CompileCache {
    /// Open (creating) the cache in `dir`. With `other_uids` (samples run under uids of their
    /// own), every ancestor must be searchable by others, or samples could not read entries.
    pub fn open(dir: &Path, other_uids: bool, max_mb: u64) -> Result<CompileCache, String> {
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| format!("current directory: {e}"))?
                .join(dir)
        };
        for hidden in ["/tmp", "/run", "/proc", "/dev"] {
            if dir.starts_with(hidden) {
                return Err(format!(
                    "{} is under {hidden}, which the sandbox replaces or hides; choose another \
                     directory",
                    dir.display()
                ));
            }
        }
        let root = dir.join("v1");
        std::fs::create_dir_all(root.join("tmp"))
            .map_err(|e| format!("create {}: {e}", root.display()))?;
        for d in [&dir, &root] {
            let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
        }
        let root = root
            .canonicalize()
            .map_err(|e| format!("{}: {e}", root.display()))?;
        if other_uids {
            for anc in root.ancestors() {
                let mode = std::fs::metadata(anc)
                    .map_err(|e| format!("{}: {e}", anc.display()))?
                    .permissions()
                    .mode();
                if mode & 0o001 == 0 {
                    return Err(format!(
                        "{} is not searchable by other users (mode {:o}), so sample uids \
                         could not read the cache below it; choose another directory",
                        anc.display(),
                        mode & 0o7777
                    ));
                }
            }
        }
        Ok(CompileCache {
            root,
            max_bytes: max_mb << 20,
            added: std::sync::atomic::AtomicU64::new(u64::MAX / 2), // check at the first store
            pruning: Mutex::new(()),
            toolchains: Mutex::new(HashMap::new()),
            warming: Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// The directory samples need to read (`<dir>/v1`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A short hash naming the toolchain: each tool's real path, size, modification time and
    /// version output. Computed once per language and process.
    pub fn toolchain(&self, language: Language, tools: &[PathBuf]) -> String {
        if let Some(t) = lock(&self.toolchains).get(&language) {
            return t.clone();
        }
        let mut h = Sha256::new();
        for tool in tools {
            let real = tool.canonicalize().unwrap_or_else(|_| tool.clone());
            h.update(real.to_string_lossy().as_bytes());
            if let Ok(m) = std::fs::metadata(&real) {
                h.update(m.len().to_le_bytes());
                if let Ok(t) = m.modified() {
                    let secs = t
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    h.update(secs.to_le_bytes());
                }
            }
            let arg = match tool.file_name().and_then(|n| n.to_str()) {
                Some("java" | "javac") => "-version",
                Some("go") => "version",
                _ => "--version",
            };
            if let Ok(out) = trusted(&[tool.to_string_lossy().into_owned(), arg.into()])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .output()
            {
                h.update(&out.stdout);
                h.update(&out.stderr);
            }
        }
        let id = hex::encode(&h.finalize()[..8]);
        lock(&self.toolchains).insert(language, id.clone());
        id
    }

    fn dir(&self, language: Language, toolchain: &str) -> PathBuf {
        self.root.join(language.name()).join(toolchain)
    }

    /// The directories a sample of `language` may read: the warm-ups and `own`, its own
    /// build's entry when the build is a hit ([`Hit::dir`]); never the build area (other
    /// samples' programs: one that ran an earlier sample's binary from there passed with a
    /// wrong answer) nor the judges' builds.
    pub fn candidate_dirs(
        &self,
        language: Language,
        toolchain: &str,
        own: Option<&Path>,
    ) -> Vec<PathBuf> {
        let base = self.dir(language, toolchain);
        ["pch", "cds", "gocache", "rt"]
            .iter()
            .map(|d| base.join(d))
            .chain(own.map(Path::to_path_buf))
            .collect()
    }

    /// The entry for `key` in `area`, if one was stored.
    pub fn lookup(
        &self,
        area: Area,
        language: Language,
        toolchain: &str,
        key: &str,
    ) -> Option<Hit> {
        let dir = self.dir(language, toolchain).join(area.name()).join(key);
        let text = std::fs::read(dir.join("build.json")).ok()?;
        let mut build: StepResult = serde_json::from_slice(&text).ok()?;
        // Recently used: pruning spares entries used in the last PRUNE_AGE.
        let _ =
            std::fs::File::open(&dir).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        build.wall_ms = 0;
        build.cpu_ms = 0;
        build.peak_rss_kb = 0;
        Some(Hit { dir, build })
    }

    /// Store a build: its step result and, for a successful one, the files the worker
    /// collected (base64). Builds that timed out or were killed by a signal (load, limits) are
    /// not stored; neither is a successful build whose artifacts did not come back.
    pub fn store(
        &self,
        area: Area,
        language: Language,
        toolchain: &str,
        key: &str,
        build: &StepResult,
    ) {
        if build.timed_out || build.signal.is_some() || build.output_full {
            return;
        }
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        match (build.exit, &build.artifacts) {
            (Some(0), Some(arts)) => {
                for (name, b64) in arts {
                    let safe = !name.is_empty()
                        && !name.starts_with('.')
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-$".contains(&b));
                    match decode_base64(b64) {
                        Some(bytes) if safe => {
                            files.insert(name.clone(), bytes);
                        }
                        _ => return,
                    }
                }
            }
            (Some(0), None) => return,
            (Some(_), _) => {}
            (None, _) => return,
        }
        let finished = self.dir(language, toolchain).join(area.name()).join(key);
        if finished.exists() {
            return;
        }
        let result = self.write_entry(&finished, |tmp| {
            for (name, bytes) in &files {
                write_file(&tmp.join(name), bytes, 0o755)?;
            }
            let json = serde_json::to_vec(build).map_err(std::io::Error::other)?;
            write_file(&tmp.join("build.json"), &json, 0o644)
        });
        if let Err(e) = result {
            tracing::warn!("compile cache: cannot store {}: {e}", finished.display());
            return;
        }
        let size: u64 = files.values().map(|f| f.len() as u64).sum();
        let before = self
            .added
            .fetch_add(size, std::sync::atomic::Ordering::Relaxed);
        if before.saturating_add(size) > self.max_bytes / 10 {
            self.prune();
        }
    }

    /// Remove the least recently used builds while they take more than the limit (down to 80%
    /// of it), sparing those used in the last [`PRUNE_AGE`] (a run may be reading them).
    pub fn prune(&self) {
        let Ok(_guard) = self.pruning.try_lock() else {
            return;
        };
        self.added.store(0, std::sync::atomic::Ordering::Relaxed);
        let mut entries = Vec::new();
        let mut total = 0u64;
        for lang in read_dirs(&self.root) {
            for tc in read_dirs(&lang) {
                let areas = [Area::Build, Area::Judge].map(|a| tc.join(a.name()));
                for entry in areas.iter().flat_map(|a| read_dirs(a)) {
                    let size: u64 = std::fs::read_dir(&entry)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .filter_map(|f| f.metadata().ok())
                        .map(|m| m.len())
                        .sum();
                    let used = std::fs::metadata(&entry)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    total += size;
                    entries.push((used, size, entry));
                }
            }
        }
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        let now = std::time::SystemTime::now();
        for (used, size, entry) in entries {
            if total <= self.max_bytes / 10 * 8 {
                break;
            }
            if now.duration_since(used).unwrap_or_default() < PRUNE_AGE {
                continue;
            }
            if std::fs::remove_dir_all(&entry).is_ok() {
                total -= size;
            }
        }
    }

    /// Fill a temporary directory with `fill`, then rename it to `dest` (losing a race to an
    /// identical entry is fine).
    fn write_entry(
        &self,
        dest: &Path,
        fill: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let tmp = self.tmp_dir()?;
        let res = fill(&tmp).and_then(|()| {
            if let Some(parent) = dest.parent() {
                create_dirs(parent)?;
            }
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
            std::fs::rename(&tmp, dest)
        });
        if res.is_err() || tmp.exists() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        match res {
            Err(e) if dest.exists() => {
                tracing::debug!("compile cache: {} already stored ({e})", dest.display());
                Ok(())
            }
            other => other,
        }
    }

    fn tmp_dir(&self) -> std::io::Result<PathBuf> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = self.root.join("tmp").join(format!(
            "{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// A warm-up product at `dir` (a directory holding `ready` when done), built once by
    /// `build` in a temporary directory. `None` when the build failed (logged; the caller goes
    /// on without it, only slower).
    fn warm(
        &self,
        dir: PathBuf,
        what: &str,
        build: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Option<PathBuf> {
        if dir.join("ready").exists() {
            return Some(dir);
        }
        let mut failed = lock(&self.warming);
        if dir.join("ready").exists() {
            return Some(dir);
        }
        if failed.contains(&dir) {
            return None;
        }
        let started = Instant::now();
        let res = self
            .write_entry(&dir, |tmp| {
                build(tmp).map_err(std::io::Error::other)?;
                make_readable(tmp)?;
                write_file(&tmp.join("ready"), b"", 0o644)
            })
            .map_err(|e| e.to_string());
        match res {
            Ok(()) => {
                tracing::info!(
                    "compile cache: built {what} in {:.1}s",
                    started.elapsed().as_secs_f64()
                );
                Some(dir)
            }
            Err(e) => {
                tracing::warn!("compile cache: cannot build {what}: {e}");
                failed.insert(dir);
                None
            }
        }
    }

    /// The path of a header whose precompiled form (`.gch` beside it) holds exactly `headers`,
    /// standard headers in this order, compiled with `flags`.
    pub fn cpp_pch(
        &self,
        toolchain: &str,
        gxx: &Path,
        flags: &[&str],
        headers: &[String],
    ) -> Option<PathBuf> {
        let text: String = headers
            .iter()
            .map(|h| format!("#include <{h}>\n"))
            .collect();
        let key = hash_parts(&[flags.join(" ").as_bytes(), text.as_bytes()]);
        let dir = self
            .dir(Language::Cpp, toolchain)
            .join("pch")
            .join(&key[..24]);
        let dir = self.warm(dir, "a C++ precompiled header", |tmp| {
            let header = tmp.join("rrtf_pch.h");
            write_file(&header, text.as_bytes(), 0o644).map_err(|e| e.to_string())?;
            let mut argv = vec![gxx.to_string_lossy().into_owned()];
            argv.extend(flags.iter().map(|f| f.to_string()));
            argv.extend(["-x".into(), "c++-header".into(), "-o".into()]);
            argv.push(tmp.join("rrtf_pch.h.gch").to_string_lossy().into_owned());
            argv.push(header.to_string_lossy().into_owned());
            run_trusted(&argv, &[], tmp, Duration::from_secs(120))
        })?;
        Some(dir.join("rrtf_pch.h"))
    }

    /// A judged run's runtime (this crate's own source, `source`), compiled once per toolchain
    /// with `argv` (`@SRC@` and `@OUT@` stand for the source file and the directory) into a
    /// directory both programs of a run read: Rust's `librrtf_rt.rlib`, Java's `RrtfRt`
    /// classes. `file` is the source's name.
    pub fn runtime(
        &self,
        language: Language,
        toolchain: &str,
        file: &str,
        source: &str,
        argv: &[String],
    ) -> Option<PathBuf> {
        let key = hash_parts(&[source.as_bytes(), argv.join("\0").as_bytes()]);
        let dir = self.dir(language, toolchain).join("rt").join(&key[..24]);
        self.warm(dir, "the judged runs' runtime", |tmp| {
            let src = tmp.join(file);
            write_file(&src, source.as_bytes(), 0o644).map_err(|e| e.to_string())?;
            let argv: Vec<String> = argv
                .iter()
                .map(|a| {
                    a.replace("@SRC@", &src.to_string_lossy())
                        .replace("@OUT@", &tmp.to_string_lossy())
                })
                .collect();
            run_trusted(&argv, &[], tmp, Duration::from_secs(300))?;
            std::fs::remove_file(&src).map_err(|e| e.to_string())
        })
    }

    /// A class-data-sharing archive of `javac` started with `jflags`.
    pub fn javac_cds(&self, toolchain: &str, javac: &Path, jflags: &[&str]) -> Option<PathBuf> {
        let key = hash_parts(&[jflags.join(" ").as_bytes()]);
        let dir = self
            .dir(Language::Java, toolchain)
            .join("cds")
            .join(&key[..24]);
        let dir = self.warm(dir, "a javac class-data archive", |tmp| {
            let src = "import java.util.*;\nimport java.util.stream.*;\nclass Solution { \
                       public List<Integer> f(List<Integer> l) { return l.stream().map(x -> x + \
                       1).collect(Collectors.toList()); } }\npublic class Main { public static \
                       void main(String[] a) { List<Boolean> c = Arrays.asList(new \
                       Solution().f(new ArrayList<>(List.of(1))).equals(List.of(2))); if \
                       (c.contains(false)) { throw new AssertionError(); } } }\n";
            write_file(&tmp.join("Main.java"), src.as_bytes(), 0o644).map_err(|e| e.to_string())?;
            let jsa = tmp.join("javac.jsa");
            let mut argv = vec![javac.to_string_lossy().into_owned()];
            argv.extend(jflags.iter().map(|f| f.to_string()));
            argv.push(format!("-J-XX:ArchiveClassesAtExit={}", jsa.display()));
            argv.extend(["-d".into(), tmp.join("out").to_string_lossy().into_owned()]);
            argv.push(tmp.join("Main.java").to_string_lossy().into_owned());
            run_trusted(&argv, &[], tmp, Duration::from_secs(120))?;
            let _ = std::fs::remove_dir_all(tmp.join("out"));
            let _ = std::fs::remove_file(tmp.join("Main.java"));
            if !jsa.exists() {
                return Err("javac wrote no archive".into());
            }
            Ok(())
        })?;
        Some(dir.join("javac.jsa"))
    }

    /// A Go build cache holding what HumanEval-X Go tests use (the standard library, testing,
    /// testify), built with `env` (the sandbox's Go settings), for samples to copy as symlinks.
    pub fn go_build_cache(
        &self,
        toolchain: &str,
        go: &Path,
        env: &[(&str, &str)],
    ) -> Option<PathBuf> {
        let key = hash_parts(&[format!("{env:?}").as_bytes()]);
        let dir = self
            .dir(Language::Go, toolchain)
            .join("gocache")
            .join(&key[..24]);
        let dir = self.warm(dir, "the Go build cache", |tmp| {
            let pkg = tmp.join("warm");
            std::fs::create_dir_all(&pkg).map_err(|e| e.to_string())?;
            write_file(&pkg.join("main.go"), GO_WARM_MAIN.as_bytes(), 0o644)
                .map_err(|e| e.to_string())?;
            write_file(&pkg.join("main_test.go"), GO_WARM_TEST.as_bytes(), 0o644)
                .map_err(|e| e.to_string())?;
            let gocache = tmp.join("gocache");
            let gocache_s = gocache.to_string_lossy().into_owned();
            let home = tmp.to_string_lossy().into_owned();
            let mut env: Vec<(&str, &str)> = env.to_vec();
            env.push(("GOCACHE", &gocache_s));
            env.push(("HOME", &home));
            let argv = [
                go.to_string_lossy().into_owned(),
                "test".into(),
                "-c".into(),
                "-o".into(),
                "prog".into(),
                ".".into(),
            ];
            run_trusted(&argv, &env, &pkg, Duration::from_secs(900))?;
            std::fs::remove_dir_all(&pkg).map_err(|e| e.to_string())
        })?;
        Some(dir.join("gocache"))
    }
}

/// What the Go warm-up compiles: every standard package HumanEval-X's Go prompts import, plus
/// testing and testify (its `assert`).
const GO_WARM_MAIN: &str = "package main\n\nimport (\n\t\"bytes\"\n\t\"crypto/md5\"\n\t\"encoding/hex\"\n\t\"errors\"\n\t\"fmt\"\n\t\"math\"\n\t\"math/big\"\n\t\"math/rand\"\n\t\"reflect\"\n\t\"regexp\"\n\t\"sort\"\n\t\"strconv\"\n\t\"strings\"\n\t\"unicode\"\n\t\"container/heap\"\n\t\"time\"\n)\n\nvar _ = []interface{}{bytes.Compare, md5.Sum, hex.EncodeToString, errors.New, fmt.Sprint, math.Abs, big.NewInt, rand.Intn, reflect.DeepEqual, regexp.MustCompile, sort.Ints, strconv.Itoa, strings.Split, unicode.IsUpper, heap.Init, time.Now}\n\nfunc Add(a, b int) int { return a + b }\n";
const GO_WARM_TEST: &str = "package main\n\nimport (\n\t\"testing\"\n\t\"github.com/stretchr/testify/assert\"\n)\n\nfunc TestAdd(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal(3, Add(1, 2))\n}\n";

/// Builds used more recently than this are never pruned.
pub const PRUNE_AGE: Duration = Duration::from_secs(600);

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The hex SHA-256 of length-prefixed parts (unambiguous concatenation).
pub fn hash_parts(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

fn create_dirs(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
}

/// Directories 0755, files readable by all (executables stay executable).
fn make_readable(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let path = entry.path();
        if ty.is_dir() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            make_readable(&path)?;
        } else if ty.is_file() {
            let mode = entry.metadata()?.permissions().mode();
            let new = if mode & 0o100 != 0 { 0o755 } else { 0o644 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(new))?;
        }
    }
    Ok(())
}

fn trusted(argv: &[String]) -> Command {
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]).stdin(Stdio::null());
    c
}

/// Run a warm-up command on the host (its input is this crate's own text), with a cleared
/// environment and a deadline.
fn run_trusted(
    argv: &[String],
    env: &[(&str, &str)],
    cwd: &Path,
    limit: Duration,
) -> Result<(), String> {
    let mut cmd = trusted(argv);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .env("HOME", cwd)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", argv[0]))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let out = child.wait_with_output().map_err(|e| e.to_string())?;
                if status.success() {
                    return Ok(());
                }
                let text = String::from_utf8_lossy(&out.stderr);
                return Err(format!(
                    "{} failed ({status}): {}",
                    argv[0],
                    text.chars().take(600).collect::<String>()
                ));
            }
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} took longer than {limit:?}", argv[0]));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Standard base64 (with padding), as Python's `base64.b64encode` writes it.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_python_encoding() {
        for (text, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("\u{0}\u{ff}", "AMO/"),
        ] {
            assert_eq!(decode_base64(enc).unwrap(), text.as_bytes(), "{enc}");
        }
        for bad in ["Zg=", "Z===", "Zg==Zm9v", "Zm9*"] {
            assert!(decode_base64(bad).is_none(), "{bad}");
        }
    }

    /// A scratch directory the cache accepts: beside the sources, or in /var/tmp when the
    /// checkout itself is under /tmp (which the sandbox hides, so the cache refuses it).
    fn scratch() -> tempfile::TempDir {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let base = if here.starts_with("/tmp") {
            Path::new("/var/tmp")
        } else {
            here
        };
        tempfile::tempdir_in(base).unwrap()
    }

    #[test]
    fn refuses_directories_samples_cannot_see_or_reach() {
        let err = CompileCache::open(Path::new("/tmp/rrtf-cache-test"), true, 100)
            .err()
            .unwrap();
        assert!(err.contains("/tmp"), "{err}");
        let base = scratch();
        let closed = base.path().join("closed");
        std::fs::create_dir(&closed).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = CompileCache::open(&closed.join("cache"), true, 100)
            .err()
            .unwrap();
        assert!(err.contains("not searchable"), "{err}");
        // Without other uids (not root) the same place is fine.
        assert!(CompileCache::open(&closed.join("cache"), false, 100).is_ok());
    }

    #[test]
    fn stores_only_finished_builds_and_finds_them_by_key() {
        let base = scratch();
        let cache = CompileCache::open(&base.path().join("c"), false, 100).unwrap();
        let step = |exit: Option<i32>, arts: Option<&[(&str, &str)]>| StepResult {
            exit,
            signal: None,
            timed_out: false,
            output_head: "out".into(),
            output_tail: String::new(),
            output_full: false,
            wall_ms: 5,
            cpu_ms: 5,
            peak_rss_kb: 5,
            artifacts: arts.map(|a| {
                a.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
        };
        let l = Language::Cpp;
        cache.store(
            Area::Build,
            l,
            "tc",
            "ok",
            &step(Some(0), Some(&[("prog", "Zm9v")])),
        );
        let hit = cache.lookup(Area::Build, l, "tc", "ok").unwrap();
        assert_eq!(std::fs::read(hit.dir.join("prog")).unwrap(), b"foo");
        assert_eq!((hit.build.exit, hit.build.wall_ms), (Some(0), 0));
        cache.store(Area::Build, l, "tc", "err", &step(Some(1), None));
        assert_eq!(
            cache
                .lookup(Area::Build, l, "tc", "err")
                .unwrap()
                .build
                .exit,
            Some(1)
        );
        assert!(cache.lookup(Area::Build, l, "other", "ok").is_none());
        // Not stored: no artifacts, a timeout, a signal, a bad name, bad base64.
        cache.store(Area::Build, l, "tc", "a", &step(Some(0), None));
        let mut t = step(Some(1), None);
        t.timed_out = true;
        cache.store(Area::Build, l, "tc", "b", &t);
        let mut s = step(None, None);
        s.signal = Some(9);
        cache.store(Area::Build, l, "tc", "c", &s);
        cache.store(
            Area::Build,
            l,
            "tc",
            "d",
            &step(Some(0), Some(&[("../x", "Zm9v")])),
        );
        cache.store(
            Area::Build,
            l,
            "tc",
            "e",
            &step(Some(0), Some(&[("prog", "Zm9")])),
        );
        for k in ["a", "b", "c", "d", "e"] {
            assert!(cache.lookup(Area::Build, l, "tc", k).is_none(), "{k}");
        }
        assert_eq!(
            std::fs::read_dir(cache.root().join("tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn judge_builds_live_apart_from_what_samples_may_read() {
        let base = scratch();
        let cache = CompileCache::open(&base.path().join("c"), false, 100).unwrap();
        let step = StepResult {
            exit: Some(0),
            signal: None,
            timed_out: false,
            output_head: String::new(),
            output_tail: String::new(),
            output_full: false,
            wall_ms: 0,
            cpu_ms: 0,
            peak_rss_kb: 0,
            artifacts: Some([("judge".to_string(), "Zm9v".to_string())].into()),
        };
        let l = Language::Cpp;
        cache.store(Area::Judge, l, "tc", "k", &step);
        assert!(cache.lookup(Area::Judge, l, "tc", "k").is_some());
        assert!(cache.lookup(Area::Build, l, "tc", "k").is_none());
        let judge_dir = cache.dir(l, "tc").join("judge");
        cache.store(Area::Build, l, "tc", "mine", &step);
        cache.store(Area::Build, l, "tc", "theirs", &step);
        let own = cache.lookup(Area::Build, l, "tc", "mine").unwrap().dir;
        let readable = cache.candidate_dirs(l, "tc", Some(&own));
        assert!(judge_dir.join("k").join("judge").is_file());
        let build_dir = cache.dir(l, "tc").join("build");
        for other in [&judge_dir, &build_dir.join("theirs")] {
            assert!(
                readable
                    .iter()
                    .all(|d| !other.starts_with(d) && !d.starts_with(other)),
                "{other:?} in {readable:?}"
            );
        }
        assert!(readable.contains(&own), "{readable:?}");
        assert!(!readable.contains(&build_dir), "{readable:?}");
        assert!(
            cache
                .candidate_dirs(l, "tc", None)
                .iter()
                .all(|d| !d.starts_with(&build_dir)),
            "a miss reads no build"
        );
    }

    #[test]
    fn prunes_least_recently_used_builds_over_the_limit() {
        let base = scratch();
        let cache = CompileCache::open(&base.path().join("c"), false, 1).unwrap();
        let big = "A".repeat(4 * (300 << 10) / 3); // 300 KiB once decoded
        let step = StepResult {
            exit: Some(0),
            signal: None,
            timed_out: false,
            output_head: String::new(),
            output_tail: String::new(),
            output_full: false,
            wall_ms: 0,
            cpu_ms: 0,
            peak_rss_kb: 0,
            artifacts: Some([("prog".to_string(), big)].into_iter().collect()),
        };
        let l = Language::Rust;
        let old = std::time::SystemTime::now() - 2 * PRUNE_AGE;
        // Each store checks the size. "a".."d" are aged right after their store ("a" the
        // oldest); when "d" arrives (1200 KiB > 1 MiB), "d" itself is fresh, so the oldest go,
        // "a" then "b", until at most 80% (819 KiB) is left; "e" brings 900 KiB, under 1 MiB.
        for (i, k) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            cache.store(Area::Build, l, "tc", k, &step);
            let dir = cache.dir(l, "tc").join("build").join(k);
            if k != "e" {
                let age = old - Duration::from_secs(60 * (4 - i as u64));
                std::fs::File::open(&dir)
                    .unwrap()
                    .set_modified(age)
                    .unwrap();
            }
        }
        cache.prune();
        let left: Vec<bool> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|k| cache.dir(l, "tc").join("build").join(k).exists())
            .collect();
        assert_eq!(left, [false, false, true, true, true]);
        // A hit marks a build used: old "c" survives a smaller limit, "d" does not.
        assert!(cache.lookup(Area::Build, l, "tc", "c").is_some());
        let small = CompileCache::open(&base.path().join("c"), false, 0).unwrap();
        small.prune();
        let left: Vec<bool> = ["c", "d", "e"]
            .iter()
            .map(|k| cache.dir(l, "tc").join("build").join(k).exists())
            .collect();
        assert_eq!(left, [true, false, true]);
    }
}
