//! rrtf-serve's integration tests, one test binary: each file below is a module.

mod host;
mod start;
