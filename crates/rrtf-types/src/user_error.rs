//! The one user-error convention: every library error type says whether the user caused it.

/// An error that knows whether the user caused it (a path, an argument, a config value, a file
/// the user gave, the environment they set up) or the machine did (a failed write, a crashed
/// worker, a bug). The `rrtf` binary maps the first to exit code 2 and the second to 1, in one
/// place (`src/main.rs`), for every type in its list; a test there fails when a library error
/// type is missing from that list.
pub trait UserError: std::error::Error {
    /// True when the user can fix it by changing what they asked for.
    fn is_user_error(&self) -> bool;
}
