//! Clean stops: Ctrl-C (SIGINT) and SIGTERM ask a stage to stop after the work in flight (the
//! sampler's requests, the executor's batch, the trainer's step), record its run as
//! `interrupted` and say how to resume; the command then exits with 128 + the signal's number
//! (130 for SIGINT, 143 for SIGTERM). A second signal ends the process at once with that code.
//!
//! [`Stop::on_signals`] installs the handlers (once per process; `sigaction` with `SA_RESTART`,
//! so no system call in progress fails with `EINTR`); the handler only records the signal and
//! writes one line to stderr, both async-signal-safe. A stage polls [`Stop::requested`] between
//! units of work. [`Stop::never`] (the default) never asks, and [`Stop::request`] asks from code
//! (library users, tests).
//!
//! Not here: what a stage finishes before it stops (its module), the exit code (the binary maps
//! [`Interrupted`] to it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The first signal received since [`Stop::on_signals`] (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Set in a stage started by a round, sweep or quickstart ([`quiet_notice`]): the parent has
/// said already that it is stopping, once for all.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The signal handler writes nothing (the parent that forwards the signal has said it).
pub fn quiet_notice() {
    QUIET.store(true, Ordering::SeqCst);
}

/// This process is a stage a round, sweep or quickstart started ([`quiet_notice`] was called).
pub fn is_stage_of_a_parent() -> bool {
    QUIET.load(Ordering::SeqCst)
}

/// A stop request, polled between units of work. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    asked: Arc<AtomicI32>,
    signals: bool,
}

/// The signal that stopped a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(pub i32);

impl Signal {
    pub const INT: Signal = Signal(libc::SIGINT);
    pub const TERM: Signal = Signal(libc::SIGTERM);

    /// `SIGINT`, `SIGTERM`, or `signal N`.
    pub fn name(self) -> String {
        match self.0 {
            libc::SIGINT => "SIGINT".into(),
            libc::SIGTERM => "SIGTERM".into(),
            n => format!("signal {n}"),
        }
    }

    /// The shell's code for a process ended by this signal: 128 + its number (130, 143).
    pub fn exit_code(self) -> u8 {
        (128 + self.0).clamp(0, 255) as u8
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            libc::SIGINT => f.write_str("SIGINT (Ctrl-C)"),
            _ => f.write_str(&self.name()),
        }
    }
}

impl Stop {
    /// Never asks to stop (a stage run by a library caller that stops it otherwise).
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Asks to stop on SIGINT or SIGTERM (the handlers are installed on the first call).
    pub fn on_signals() -> Stop {
        install();
        Stop {
            asked: Arc::default(),
            signals: true,
        }
    }

    /// Ask to stop, as if `signal` had arrived.
    pub fn request(&self, signal: Signal) {
        let _ = self
            .asked
            .compare_exchange(0, signal.0, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The signal that asked to stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        let own = self.asked.load(Ordering::SeqCst);
        let sig = if own != 0 {
            own
        } else if self.signals {
            SIGNAL.load(Ordering::SeqCst)
        } else {
            0
        };
        (sig != 0).then_some(Signal(sig))
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    if SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // The second signal: stop now. SAFETY: _exit(2) is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
    if QUIET.load(Ordering::SeqCst) {
        return;
    }
    let msg: &[u8] = b"\nrrtf: stopping cleanly once the work in flight is done (signal again to stop at once)\n";
    // SAFETY: write(2) of a static buffer is async-signal-safe; a failed write is ignored.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction with a plain handler, an empty mask and SA_RESTART is a
            // valid argument; the handler only touches an atomic and calls write/_exit.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                    tracing::warn!(
                        "cannot handle signal {sig}: {}",
                        std::io::Error::last_os_error()
                    );
                }
            }
        }
    });
}

/// A stage stopped by a signal after finishing (or abandoning) its work in flight; its run is
/// recorded as `interrupted`. The binary prints it and exits with [`Signal::exit_code`].
#[derive(Debug, thiserror::Error)]
#[error("{stage} interrupted by {signal}: {done}; resume with `{resume}`")]
pub struct Interrupted {
    /// `rrtf train`, `rrtf exec`, ...
    pub stage: String,
    pub signal: Signal,
    /// What was kept ("stopped after step 12 of 200; checkpoint ...").
    pub done: String,
    /// The command that continues the work.
    pub resume: String,
}

impl rrtf_types::UserError for Interrupted {
    fn is_user_error(&self) -> bool {
        false
    }
}

/// The environment variable a round, sweep or quickstart gives its stages: its own resume
/// command (see [`same_command`]).
pub const RESUME_VAR: &str = "RRTF_RESUME";

/// The command line this process was started with, to run again (a stopped stage's resume
/// hint), without the flags in `drop` (and the value of each, when `takes_value`); arguments
/// quoted for a POSIX shell where needed. In a stage a round, sweep or quickstart started: that
/// command's own (its children get it in [`RESUME_VAR`]), since the stage's command line is
/// relative to the project directory and holds no `--db`, and running the parent again resumes
/// the stage anyway, skipping what finished.
pub fn same_command(drop: &[(&str, bool)]) -> String {
    if let Ok(parent) = std::env::var(RESUME_VAR)
        && !parent.is_empty()
    {
        return parent;
    }
    let mut out = vec!["rrtf".to_owned()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let dropped = drop
            .iter()
            .find(|(f, takes_value)| a == *f || (*takes_value && a.starts_with(&format!("{f}="))));
        if let Some((f, takes_value)) = dropped {
            if *takes_value && a == *f {
                args.next();
            }
            continue;
        }
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
        out.push(if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        });
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_seen_by_every_clone_and_the_first_signal_wins() {
        let stop = Stop::never();
        let seen = stop.clone();
        assert_eq!(seen.requested(), None);
        stop.request(Signal::TERM);
        stop.request(Signal::INT);
        assert_eq!(seen.requested(), Some(Signal::TERM));
        assert_eq!(Signal::INT.exit_code(), 130);
        assert_eq!(Signal::TERM.exit_code(), 143);
        assert_eq!(Signal::INT.to_string(), "SIGINT (Ctrl-C)");
    }
}
