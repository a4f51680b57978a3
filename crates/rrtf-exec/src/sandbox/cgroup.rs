//! Whole-worker limits with cgroup v2: `memory.max` (no swap) and `pids.max` over every process
//! a worker and its samples start, which rlimits cannot give (RLIMIT_AS is per process, so
//! forked children together use many times the limit; tmpfs pages count nowhere).
//!
//! [`Support::probe`] looks for a cgroup2 hierarchy whose cgroup of this process offers the
//! `memory` and `pids` controllers and lets us create child cgroups with them enabled. Each
//! worker then gets a [`WorkerCgroup`] of its own, which the launcher moves it into right after
//! `clone` (before it runs anything) and which is removed when the worker is gone.
//!
//! Where that is impossible (cgroups v1, controllers bound to a v1 hierarchy, a cgroup we may
//! not write, the no-internal-processes rule), [`Support::Unavailable`] says why and the
//! executor keeps the rlimits alone, with that gap named by `Protections::missing`.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ExecError;

/// The controllers a worker's cgroup needs.
const NEEDED: [&str; 2] = ["memory", "pids"];

/// Whether whole-worker limits are available, and where worker cgroups go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// Worker cgroups are created as children of `dir` (this process's own cgroup).
    V2 { dir: PathBuf },
    /// Why not: the executor falls back to per-process rlimits.
    Unavailable { reason: String },
}

impl Support {
    /// Probe this process's cgroup v2 (`/proc/self/mountinfo`, `/proc/self/cgroup`).
    pub fn probe() -> Support {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        match probe_in(&read("/proc/self/mountinfo"), &read("/proc/self/cgroup")) {
            Ok(dir) => Support::V2 { dir },
            Err(reason) => Support::Unavailable { reason },
        }
    }
}

/// The cgroup2 mount point in a `mountinfo` text (field 5 is the mount point; the file-system
/// type follows the ` - ` separator).
pub fn v2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        let mount_point = left.split_whitespace().nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(mount_point))
    })
}

/// This process's cgroup2 path from `/proc/self/cgroup` (the `0::/path` line).
pub fn own_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))
}

/// The directory under which worker cgroups can be made, or why there is none: the first
/// obstacle met, with its cause.
pub fn probe_in(mountinfo: &str, proc_cgroup: &str) -> Result<PathBuf, String> {
    let mount = v2_mount(mountinfo)
        .ok_or_else(|| "no cgroup2 hierarchy is mounted (cgroups v1 only)".to_string())?;
    let own = own_path(proc_cgroup)
        .ok_or_else(|| "this process has no cgroup2 path in /proc/self/cgroup".to_string())?;
    let own = own.trim_start_matches('/');
    let dir = if own.is_empty() {
        mount
    } else {
        mount.join(own)
    };
    check_dir(&dir)?;
    Ok(dir)
}

/// `dir` offers the needed controllers, delegates them to its children (enabling them if
/// needed), and we may create a child there.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers"))
        .map_err(|e| format!("{}: {e}", dir.join("cgroup.controllers").display()))?;
    let lacking: Vec<&str> = NEEDED
        .into_iter()
        .filter(|c| !controllers.split_whitespace().any(|x| x == *c))
        .collect();
    if !lacking.is_empty() {
        return Err(format!(
            "the cgroup2 hierarchy at {} lacks the {} controller{}, probably bound to a cgroup \
             v1 hierarchy (it offers: {})",
            dir.display(),
            lacking.join(" and "),
            if lacking.len() > 1 { "s" } else { "" },
            if controllers.trim().is_empty() {
                "none"
            } else {
                controllers.trim()
            }
        ));
    }
    let subtree = dir.join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&subtree).unwrap_or_default();
    if !NEEDED
        .iter()
        .all(|c| enabled.split_whitespace().any(|x| x == *c))
    {
        std::fs::write(&subtree, "+memory +pids").map_err(|e| {
            format!(
                "cannot enable memory and pids for the children of {} ({e}): a cgroup that \
                 holds processes cannot delegate controllers (start rrtf in a cgroup of its \
                 own whose parent delegates memory and pids to you)",
                dir.display()
            )
        })?;
    }
    let probe = dir.join(format!("rrtf-exec-probe-{}", std::process::id()));
    std::fs::create_dir(&probe)
        .map_err(|e| format!("cannot create a cgroup in {}: {e}", dir.display()))?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

/// Limits of one worker's cgroup.
#[derive(Debug, Clone, Copy)]
pub struct CgroupLimits {
    pub memory_bytes: u64,
    pub pids: u64,
}

/// One worker's cgroup: created with its limits, removed on drop (once its processes are gone).
#[derive(Debug)]
pub struct WorkerCgroup {
    dir: PathBuf,
    procs: File,
}

impl WorkerCgroup {
    /// Create `parent/name` and write its limits (no swap where the kernel has swap control).
    pub fn create(parent: &Path, name: &str, limits: CgroupLimits) -> Result<Self, ExecError> {
        let dir = parent.join(name);
        let io = |what: &str, e: io::Error| ExecError::io(format!("{what} {}", dir.display()), e);
        std::fs::create_dir(&dir).map_err(|e| io("create cgroup", e))?;
        let cg = WorkerCgroup {
            procs: File::options()
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.join("cgroup.procs"))
                .map_err(|e| io("open cgroup.procs of", e))?,
            dir,
        };
        let write = |file: &str, value: String| {
            std::fs::write(cg.dir.join(file), value)
                .map_err(|e| ExecError::io(format!("write {file} of {}", cg.dir.display()), e))
        };
        write("memory.max", limits.memory_bytes.to_string())?;
        write("pids.max", limits.pids.to_string())?;
        if cg.dir.join("memory.swap.max").exists() {
            write("memory.swap.max", "0".into())?;
        }
        Ok(cg)
    }

    /// A descriptor of `cgroup.procs`, for [`super::spawn::SpawnSpec::cgroup`].
    pub fn procs(&self) -> Result<OwnedFd, ExecError> {
        self.procs
            .try_clone()
            .map(OwnedFd::from)
            .map_err(|e| ExecError::io("dup cgroup.procs", e))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many processes the kernel's OOM killer has killed in this cgroup so far
    /// (`memory.events`, `oom_kill`).
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("memory.events"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for WorkerCgroup {
    fn drop(&mut self) {
        // The worker was killed and reaped before; its last processes may take a moment to
        // leave the cgroup.
        for _ in 0..100 {
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        tracing::warn!("cgroup {} could not be removed", self.dir.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO_HYBRID: &str = "\
25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_cgroup2_mount_and_our_path() {
        assert_eq!(
            v2_mount(MOUNTINFO_HYBRID),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let v1_only = "30 1 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(v2_mount(v1_only), None);
        assert_eq!(
            own_path("4:memory:/harness\n0::/user.slice/x.scope\n"),
            Some("/user.slice/x.scope")
        );
        assert_eq!(own_path("4:memory:/harness\n"), None);
        let err = probe_in(v1_only, "0::/\n").unwrap_err();
        assert!(err.contains("cgroups v1 only"), "{err}");
    }

    /// A cgroup directory as the kernel shows it, in a temporary directory.
    fn fake(controllers: &str, subtree: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.controllers"), controllers).unwrap();
        std::fs::write(dir.path().join("cgroup.subtree_control"), subtree).unwrap();
        dir
    }

    #[test]
    fn a_hierarchy_without_memory_and_pids_falls_back_and_says_why() {
        // This machine's unified hierarchy: its controllers live in v1 hierarchies.
        let d = fake("hugetlb\n", "");
        let err = check_dir(d.path()).unwrap_err();
        assert!(
            err.contains("lacks the memory and pids controllers"),
            "{err}"
        );
        assert!(err.contains("hugetlb"), "{err}");
        let d = fake("cpu memory\n", "");
        let err = check_dir(d.path()).unwrap_err();
        assert!(err.contains("lacks the pids controller"), "{err}");
    }

    #[test]
    fn a_delegating_hierarchy_is_used_and_enabled() {
        let d = fake("cpu memory pids\n", "");
        check_dir(d.path()).unwrap();
        // Controllers not yet delegated to children are enabled.
        let subtree = std::fs::read_to_string(d.path().join("cgroup.subtree_control")).unwrap();
        assert_eq!(subtree, "+memory +pids");
        // The probe cgroup was removed again.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
        let mountinfo = format!(
            "40 30 0:35 / {} rw - cgroup2 cgroup2 rw\n",
            d.path().display()
        );
        assert_eq!(probe_in(&mountinfo, "0::/\n").unwrap(), d.path());
    }

    #[test]
    fn a_worker_cgroup_gets_its_limits_and_is_removed() {
        let parent = tempfile::tempdir().unwrap();
        let limits = CgroupLimits {
            memory_bytes: 1 << 30,
            pids: 80,
        };
        let cg = WorkerCgroup::create(parent.path(), "w0", limits).unwrap();
        let read = |f: &str| std::fs::read_to_string(cg.dir().join(f)).unwrap();
        assert_eq!(read("memory.max"), (1u64 << 30).to_string());
        assert_eq!(read("pids.max"), "80");
        std::fs::write(cg.dir().join("memory.events"), "low 0\noom 2\noom_kill 1\n").unwrap();
        assert_eq!(cg.oom_kills(), 1);
        let dir = cg.dir().to_path_buf();
        // A real cgroup directory holds only kernel files, which rmdir ignores.
        for f in ["memory.max", "pids.max", "memory.events", "cgroup.procs"] {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        drop(cg);
        assert!(!dir.exists());
    }
}
