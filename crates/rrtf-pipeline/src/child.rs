//! Child processes: `rrtf` commands run for their JSON summary ([`Rrtf::json`]), and long-lived
//! children (servers) stopped gracefully ([`Supervised`]).

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::Child;

use crate::{PipelineError, Result, Rrtf};

impl Rrtf {
    /// Run `rrtf --db DB --json ARGS`; its stdout is one JSON document (the last non-empty line;
    /// other output is kept as `{"output": ...}`), its stderr is shown. A failure names the
    /// command and says to run `what` ("round", "sweep") again; the child's exit code 2 stays a
    /// user error.
    pub async fn json(&self, args: &[String], what: &'static str) -> Result<Value> {
        let out = tokio::process::Command::new(&self.exe)
            .arg("--db")
            .arg(&self.db)
            .arg("--json")
            .args(args)
            .env(PARENT_PID_VAR, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| PipelineError::io(format!("starting `rrtf {}`", args.join(" ")), e))?;
        if !out.status.success() {
            return Err(PipelineError::Child {
                command: args.join(" "),
                code: out.status.code().unwrap_or(1),
                what,
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
    /// `show`, else captured and returned, its stderr is shown.
    pub fn run_in(&self, dir: &Path, args: &[&str], show: bool) -> Result<std::process::Output> {
        let out = std::process::Command::new(&self.exe)
            .current_dir(dir)
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env(PARENT_PID_VAR, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(if show {
                Stdio::inherit()
            } else {
                Stdio::piped()
            })
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| PipelineError::io(format!("starting `rrtf {}`", args.join(" ")), e))?;
        if !out.status.success() {
            return Err(PipelineError::Quickstart {
                command: args.join(" "),
                dir: dir.to_owned(),
                code: out.status.code().unwrap_or(1),
            });
        }
        Ok(out)
    }
}

/// The environment variable through which a child `rrtf` learns its parent's pid: set on every
/// `rrtf` this crate starts, read by [`end_with_parent`].
pub const PARENT_PID_VAR: &str = "RRTF_PARENT_PID";

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

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

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
