//! rrtf-model's integration tests, one test binary: each file below is a module; `common/` has
//! the fixtures they share with `wgpu.rs`, its own binary (`--features wgpu --test wgpu`).

mod common;

mod flex_kernels;
mod parity;
mod quant;
