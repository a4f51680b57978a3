//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, `pg_ctl start`
//! on a free loopback port, one fresh database per test, and a watchdog process that stops the
//! server and removes its directory when the test process exits (however it exits).
//!
//! `RRTF_TEST_POSTGRES=postgres://user@host:port` uses an existing server instead (the role
//! must be allowed to create databases). Without either, [`postgres`] says why not, and tests
//! skip, unless `RRTF_FULL_TESTS=1`, where a missing PostgreSQL is a failure (CI installs
//! Debian's `postgresql` package). `initdb` refuses to run as root: as root, the server runs as
//! the `postgres` user (which the Debian package creates).
//!
//! Test support only (the store's and the binary's tests): no command calls it, so the rule that
//! only rrtf-exec and rrtf-pipeline start processes does not apply here.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A running server: `base` is a URL without a database name.
#[derive(Debug)]
pub struct TestPostgres {
    base: String,
}

impl TestPostgres {
    /// A URL naming a database no one has used (the store creates it on `Store::create`).
    pub fn fresh_url(&self, label: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        format!("{}/rrtf_{label}_{}_{n}", self.base, std::process::id())
    }
}

/// The test server of this process (started on first use), or why there is none.
pub fn postgres() -> Result<&'static TestPostgres, String> {
    static SERVER: OnceLock<Result<TestPostgres, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var("RRTF_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => Ok(TestPostgres {
                base: url.trim_end_matches('/').to_owned(),
            }),
            _ => start(),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// [`postgres`], or `None` after printing why the test is skipped; under `RRTF_FULL_TESTS=1`
/// a missing server fails the test.
pub fn postgres_or_skip(test: &str) -> Option<&'static TestPostgres> {
    match postgres() {
        Ok(pg) => Some(pg),
        Err(why) => {
            if std::env::var("RRTF_FULL_TESTS").is_ok_and(|v| v == "1") {
                panic!("{test}: PostgreSQL is required under RRTF_FULL_TESTS=1: {why}");
            }
            eprintln!("skipped {test} on PostgreSQL: {why}");
            None
        }
    }
}

fn bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("pg_ctl").is_file() && d.join("initdb").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|d| d.join("pg_ctl").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Run `bin` with `args`, as the `postgres` user when this process is root.
fn command(bin: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn start() -> Result<TestPostgres, String> {
    let bin = bin_dir().ok_or(
        "no PostgreSQL server binaries (pg_ctl, initdb) on PATH or in /usr/lib/postgresql/*/bin: \
         install Debian's `postgresql` package, or set RRTF_TEST_POSTGRES to a server's URL",
    )?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("rrtf-test-pg-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let data = dir.join("data");
    if is_root() {
        // The server runs as `postgres`: it owns the directory (the socket goes there too).
        run(
            {
                let mut c = Command::new("chown");
                c.arg("postgres:").arg(&dir);
                c
            },
            "chown postgres (is Debian's postgresql package installed? it creates the user)",
        )?;
    }
    let data_s = data.to_str().ok_or("temporary directory is not UTF-8")?;
    run(
        command(
            &bin.join("initdb"),
            &[
                "-D",
                data_s,
                "-A",
                "trust",
                "-U",
                "rrtf",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        ),
        "initdb",
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200",
        dir.display()
    );
    let log = dir.join("server.log");
    run(
        command(
            &bin.join("pg_ctl"),
            &[
                "start",
                "-w",
                "-D",
                data_s,
                "-l",
                log.to_str().ok_or("temporary directory is not UTF-8")?,
                "-o",
                &options,
            ],
        ),
        "pg_ctl start",
    )?;
    // The watchdog outlives this process: when it is gone, stop the server and clean up.
    let stop = format!(
        "{}{} stop -D {} -m immediate",
        if is_root() {
            "runuser -u postgres -- "
        } else {
            ""
        },
        bin.join("pg_ctl").display(),
        data_s
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the test server's watchdog: {e}"))?;
    Ok(TestPostgres {
        base: format!("postgres://rrtf@127.0.0.1:{port}"),
    })
}
