//! rrtf-train's integration tests, one test binary: each file below is a module; `common/` has
//! the PyTorch fixtures they share. `wgpu.rs` is its own binary (`--features wgpu --test wgpu`).

mod common;

mod bf16_base;
mod checkpoint;
mod loss_parity;
mod parallel;
mod sft;
mod train;
