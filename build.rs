//! Records the project revision (git commit, `-dirty` when the tree has changes) in the binary,
//! so every run stored in the database names the code that produced it.

use std::process::Command;

// A build script runs before any crate of ours exists, so it cannot ask rrtf-pipeline: the one
// process started outside rrtf-exec and rrtf-pipeline (clippy.toml), at build time only.
#[allow(clippy::disallowed_methods)]
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let rev = git(&["rev-parse", "--short=12", "HEAD"])
        .map(
            |r| match git(&["status", "--porcelain", "--untracked-files=no"]) {
                Some(s) if !s.is_empty() => format!("{r}-dirty"),
                _ => r,
            },
        )
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RRTF_REVISION={rev}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
