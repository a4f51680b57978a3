//! Child processes: `rrtf` commands run for their JSON summary ([`Rrtf::json`]), and long-lived
//! children (servers) stopped gracefully ([`Supervised`]).
//!
//! A stage's child keeps the terminal (its progress bars and messages go to the parent's
//! stderr) and, when the parent keeps stage logs ([`Rrtf::with_stage_logs`]), also writes its
//! log and its final error to `<dir>/<command>.log` ([`STAGE_LOG_VAR`]); a failure then quotes
//! the end of that log and names the file, so the cause is in the message even when the
//! terminal's scrollback is gone.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::process::Child;

use crate::stop::Signal;
use crate::{PipelineError, Result, Rrtf};

impl Rrtf {
    /// Run `rrtf --db DB --json ARGS`; its stdout is one JSON document (the last non-empty line;
    /// other output is kept as `{"output": ...}`), its stderr is shown (and logged, with stage
    /// logs). A failure names the command, quotes the end of its log and says to run `what`
    /// ("round", "sweep") again; the child's exit code 2 stays a user error.
    pub async fn json(&self, args: &[String], what: &'static str) -> Result<Value> {
        self.not_stopped(args)?;
        let log = self.open_stage_log(args)?;
        let mut cmd = tokio::process::Command::new(&self.exe);
        // The database goes by environment, not argument: a PostgreSQL URL may hold a
        // password, which a process list shows for arguments.
        cmd.env("RRTF_DB", &self.db)
            .arg("--json")
            .args(args)
            .env(PARENT_PID_VAR, std::process::id().to_string())
            .env(crate::stop::RESUME_VAR, parent_resume())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own process group: a terminal's Ctrl-C reaches this process only, which
            // forwards it once (a second one would stop the child at once).
            .process_group(0)
            .kill_on_drop(true);
        if let Some(log) = &log {
            cmd.env(STAGE_LOG_VAR, absolute(log));
        }
        let child = cmd
            .spawn()
            .map_err(|e| PipelineError::io(format!("starting `rrtf {}`", args.join(" ")), e))?;
        let pid = child.id().and_then(|p| libc::pid_t::try_from(p).ok());
        let output = child.wait_with_output();
        tokio::pin!(output);
        let mut forwarded = None;
        let out = loop {
            tokio::select! {
                out = &mut output => break out,
                _ = tokio::time::sleep(STOP_POLL), if forwarded.is_none() => {
                    forwarded = self.forward_stop(pid);
                }
            }
        }
        .map_err(|e| PipelineError::io(format!("waiting for `rrtf {}`", args.join(" ")), e))?;
        if !out.status.success() {
            if let Some(signal) = forwarded {
                return Err(PipelineError::Stopped {
                    what: format!("`rrtf {}`", args.join(" ")),
                    signal,
                });
            }
            return Err(PipelineError::Child {
                command: args.join(" "),
                code: out.status.code().unwrap_or(1),
                ended: ended(&out.status),
                what,
                log: log.map(|path| StageLog::read(path, TAIL_LINES)),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("null");
        Ok(serde_json::from_str(last).unwrap_or_else(|_| json!({ "output": text.trim() })))
    }

    /// Run `rrtf --db DB ARGS` in `dir` and wait (blocking); its stdout is passed through with
    /// `show`, else captured and returned, its stderr is shown (and logged, with stage logs).
    pub fn run_in(&self, dir: &Path, args: &[&str], show: bool) -> Result<std::process::Output> {
        let owned: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.not_stopped(&owned)?;
        let log = self.open_stage_log(&owned)?;
        let mut cmd = std::process::Command::new(&self.exe);
        cmd.current_dir(dir)
            .env("RRTF_DB", &self.db)
            .args(args)
            .env(PARENT_PID_VAR, std::process::id().to_string())
            .env(crate::stop::RESUME_VAR, parent_resume())
            .stdin(Stdio::null())
            .stdout(if show {
                Stdio::inherit()
            } else {
                Stdio::piped()
            })
            .stderr(Stdio::inherit())
            // As in `json`: Ctrl-C is forwarded, not shared.
            .process_group(0);
        if let Some(log) = &log {
            cmd.env(STAGE_LOG_VAR, absolute(log));
        }
        let child = cmd
            .spawn()
            .map_err(|e| PipelineError::io(format!("starting `rrtf {}`", args.join(" ")), e))?;
        let pid = libc::pid_t::try_from(child.id()).ok();
        // The output is collected on a thread (a piped stdout must be read while the child
        // runs) while this one watches for a stop request.
        let waiter = std::thread::spawn(move || child.wait_with_output());
        let mut forwarded = None;
        while !waiter.is_finished() {
            if forwarded.is_none() {
                forwarded = self.forward_stop(pid);
            }
            std::thread::sleep(STOP_POLL);
        }
        let out = waiter
            .join()
            .expect("the waiting thread does not panic")
            .map_err(|e| PipelineError::io(format!("waiting for `rrtf {}`", args.join(" ")), e))?;
        if !out.status.success() {
            if let Some(signal) = forwarded {
                return Err(PipelineError::Stopped {
                    what: format!("`rrtf {}` in {}", args.join(" "), dir.display()),
                    signal,
                });
            }
            return Err(PipelineError::Quickstart {
                command: args.join(" "),
                dir: dir.to_owned(),
                ended: ended(&out.status),
                log: log.map(|path| StageLog::read(path, TAIL_LINES)),
            });
        }
        Ok(out)
    }

    /// [`PipelineError::Stopped`] when a stop was asked before `args` could start.
    fn not_stopped(&self, args: &[String]) -> Result<()> {
        match self.stop_requested() {
            Some(signal) => Err(PipelineError::Stopped {
                what: format!("the pipeline (before `rrtf {}` started)", args.join(" ")),
                signal,
            }),
            None => Ok(()),
        }
    }

    /// When a stop has been asked: send its signal to the child `pid` (the child's own clean
    /// stop) and return it.
    fn forward_stop(&self, pid: Option<libc::pid_t>) -> Option<Signal> {
        let signal = self.stop_requested()?;
        if let Some(pid) = pid {
            // SAFETY: kill(2) with a plain signal. The pid is our child's: `json` polls its wait
            // (which reaps it) in the same task, so it is not reaped yet; in `run_in` the
            // waiting thread may have reaped it an instant before, and the kernel does not
            // reuse a pid that soon.
            unsafe { libc::kill(pid, signal.0) };
        }
        Some(signal)
    }

    /// With stage logs: `<dir>/<command>.log` (the first argument's name), opened for appending
    /// with a header line naming the command line and the time; the child writes after it.
    fn open_stage_log(&self, args: &[String]) -> Result<Option<PathBuf>> {
        let Some(dir) = &self.stage_logs else {
            return Ok(None);
        };
        let name: String = args
            .first()
            .map(String::as_str)
            .unwrap_or("rrtf")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{name}.log"));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            writeln!(f, "{HEADER}rrtf {} ({})", args.join(" "), utc_now())
        };
        write().map_err(|e| PipelineError::io(format!("writing {}", path.display()), e))?;
        Ok(Some(path))
    }
}

/// `path` from the root: a child may run in another directory (the quickstart's steps do).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// How often a parent waiting for a child looks for a stop request to forward.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How many of its log's last lines a failed child's error quotes.
pub const TAIL_LINES: usize = 20;

/// What starts each run's part of a stage log (followed by the command line and the time).
const HEADER: &str = "==> ";

/// A failed child's stage log: its path and the last lines of the failed run's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLog {
    pub path: PathBuf,
    pub tail: String,
}

impl StageLog {
    /// The last `lines` lines written after the last header of `path` (empty if unreadable).
    pub fn read(path: PathBuf, lines: usize) -> StageLog {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let run = match text.rfind(&format!("\n{HEADER}")) {
            Some(i) => &text[i + 1..],
            None => &text[..],
        };
        let body: Vec<&str> = run.lines().skip(1).collect();
        let tail = body[body.len().saturating_sub(lines)..].join("\n");
        StageLog { path, tail }
    }
}

impl std::fmt::Display for StageLog {
    /// The quoted tail, indented, then where the whole log is; or only where, when the child
    /// wrote nothing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in self.tail.lines() {
            writeln!(f, "  | {line}")?;
        }
        write!(f, "  (its whole log: {})", self.path.display())
    }
}

/// The environment variable naming the file a child `rrtf` also writes its log and its final
/// error to ([`stage_log`]); set by [`Rrtf::json`] and [`Rrtf::run_in`] with stage logs.
pub const STAGE_LOG_VAR: &str = "RRTF_STAGE_LOG";

/// For the binary's `main`, before any thread starts (so before [`end_with_parent`]): the stage
/// log a parent named, taken out of the environment so that this process's own children do not
/// inherit it.
pub fn stage_log() -> Option<PathBuf> {
    let value = std::env::var_os(STAGE_LOG_VAR)?;
    // SAFETY: called at the start of `main`, before any other thread exists.
    unsafe { std::env::remove_var(STAGE_LOG_VAR) };
    Some(PathBuf::from(value))
}

/// Now, in UTC, as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc_now() -> String {
    utc(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// `secs` after the Unix epoch, in UTC, as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The environment variable through which a child `rrtf` learns its parent's pid: set on every
/// `rrtf` this crate starts, read by [`end_with_parent`].
pub const PARENT_PID_VAR: &str = "RRTF_PARENT_PID";

/// What a stage this process starts says to run when it is stopped: this process's command (a
/// round, sweep or quickstart; without a sweep's `--rerun`, which would redo what finished), or
/// the one this process was given by its own parent.
fn parent_resume() -> String {
    crate::stop::same_command(&[("--rerun", false)])
}

/// For the binary's `main`: when started by a round, sweep or quickstart (`RRTF_PARENT_PID`
/// set), end when that parent ends, however it ends (kill -9 included), so that a killed round
/// leaves no trainer running for a rerun to meet. A thread checks every 200 ms whether the
/// parent is still this process's parent (an orphan is re-parented); then the process sends
/// itself SIGTERM (a stage's own stop, where it has one) and exits with 143 after [`GRACE`].
/// `PR_SET_PDEATHSIG` is not used: it fires when the *thread* that spawned the child ends, and
/// the runtime's threads come and go. Call it first thing in `main`, before any thread starts:
/// it takes the variable out of the environment, so that a process this one starts (which is
/// not its parent's child) does not inherit it.
pub fn end_with_parent() {
    let value = std::env::var(PARENT_PID_VAR).ok();
    // SAFETY: called at the start of `main`, before any other thread exists (see above).
    unsafe { std::env::remove_var(PARENT_PID_VAR) };
    let Some(parent) = value.and_then(|v| v.parse::<libc::pid_t>().ok()) else {
        return;
    };
    crate::stop::quiet_notice();
    // SAFETY: getppid(2) has no preconditions.
    let orphaned = move || unsafe { libc::getppid() } != parent;
    let watch = move || {
        while !orphaned() {
            std::thread::sleep(Duration::from_millis(200));
        }
        tracing::warn!("the parent process {parent} ended: stopping");
        // SAFETY: kill(2) of this process with a plain signal.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        std::thread::sleep(GRACE);
        std::process::exit(143);
    };
    if let Err(e) = std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(watch)
    {
        tracing::warn!("cannot watch the parent process {parent}: {e}");
    }
}

/// How long a stopped child may take to exit after SIGTERM before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// A child process that is stopped, not abandoned: on [`Supervised::stop`] or drop it gets
/// SIGTERM, then SIGKILL once `grace` has passed, and is reaped. Stopping blocks the calling
/// thread for at most `grace` and the reaping after SIGKILL.
#[derive(Debug)]
pub struct Supervised {
    child: Option<Child>,
    grace: Duration,
}

impl Supervised {
    pub fn new(child: Child, grace: Duration) -> Self {
        Supervised {
            child: Some(child),
            grace,
        }
    }

    /// The child's process id while it has not been stopped.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Stop the child (see the type's docs); its exit status, or `None` when it was stopped
    /// before or could not be waited for.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if let Some(pid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) on our own child, not reaped yet (so the pid is still its own).
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        if let Some(status) = wait_until(&mut child, Instant::now() + self.grace) {
            return Some(status);
        }
        tracing::warn!(
            "a child process did not stop within {:?} of SIGTERM: killed",
            self.grace
        );
        let _ = child.start_kill();
        wait_until(&mut child, Instant::now() + GRACE)
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Poll `child` until it exits or `deadline` passes.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => return None,
        }
    }
}

/// How a failed child ended: "exit code N", or "killed by signal 9 (SIGKILL)".
fn ended(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => {
            let name = match sig {
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGINT => " (SIGINT)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGBUS => " (SIGBUS)",
                _ => "",
            };
            format!("killed by signal {sig}{name}")
        }
        (None, None) => "no exit status".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    /// A stage child killed by a signal is reported so (a new user's review: `kill -9` of the
    /// train stage read "failed (exit code 1)", sending the user to a log with no error).
    #[test]
    fn a_child_s_end_names_its_signal() {
        let killed = std::process::Command::new("sh")
            .args(["-c", "kill -9 $$"])
            .status()
            .unwrap();
        assert_eq!(ended(&killed), "killed by signal 9 (SIGKILL)");
        assert_eq!(ended(&ExitStatus::from_raw(2 << 8)), "exit code 2");
    }

    #[test]
    fn utc_times_are_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_386_594), "2026-12-04 12:16:34 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn a_stage_log_quotes_the_last_lines_of_the_last_run_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.log");
        let earlier = "==> rrtf train (1)\nerror: an older failure\n";
        let last: String = (1..=25).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, format!("{earlier}==> rrtf train (2)\n{last}")).unwrap();
        let log = StageLog::read(path.clone(), 3);
        assert_eq!(log.tail, "line 23\nline 24\nline 25");
        assert_eq!(
            log.to_string(),
            format!(
                "  | line 23\n  | line 24\n  | line 25\n  (its whole log: {})",
                path.display()
            )
        );
        // A run that wrote nothing after its header quotes nothing, and names the file.
        std::fs::write(&path, format!("{earlier}==> rrtf train (2)\n")).unwrap();
        assert_eq!(StageLog::read(path.clone(), 3).tail, "");
        // An unreadable log quotes nothing either.
        assert_eq!(StageLog::read(dir.path().join("none.log"), 3).tail, "");
    }

    fn sh(script: &str) -> Child {
        tokio::process::Command::new("sh")
            .args(["-c", script])
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    #[tokio::test]
    async fn a_child_gets_sigterm_and_may_clean_up() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("cleaned");
        // The shell runs its trap once the `sleep` in progress returns.
        let mut c = Supervised::new(
            sh(&format!(
                "trap 'echo bye > {}; exit 0' TERM; while :; do sleep 0.05; done",
                flag.display()
            )),
            Duration::from_secs(10),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let status = c.stop().expect("waited for");
        assert!(status.success(), "{status:?}");
        assert!(flag.is_file(), "the child's TERM handler ran");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(c.stop().is_none(), "stopped once");
    }

    #[tokio::test]
    async fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
        let c = sh("trap '' TERM; exec sleep 30");
        let pid = c.id().unwrap();
        let mut c = Supervised::new(c, Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        let status = c.stop().expect("waited for");
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
        // Reaped: the pid names no process of ours any more.
        // SAFETY: signal 0 only checks that the process exists.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, 0) }, -1);
    }

    #[tokio::test]
    async fn dropping_stops_the_child() {
        let c = sh("exec sleep 30");
        let pid = c.id().unwrap() as libc::pid_t;
        drop(Supervised::new(c, Duration::from_secs(5)));
        // SAFETY: signal 0 only checks that the process exists.
        assert_eq!(
            unsafe { libc::kill(pid, 0) },
            -1,
            "stopped and reaped on drop"
        );
    }
}
