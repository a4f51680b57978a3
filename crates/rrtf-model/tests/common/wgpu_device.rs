//! The wgpu device of the GPU tests (`--features wgpu --test wgpu`), shared by rrtf-model's
//! `tests/wgpu.rs` and rrtf-train's (`#[path]`): none is a skip in the fast tier and a failure
//! in the full one (`RRTF_FULL_TESTS=1`).

use rrtf_model::Device;

/// The wgpu device, or `None` (the test is skipped) when there is none in the fast tier.
pub fn wgpu() -> Option<Device> {
    match rrtf_model::parse_device("wgpu") {
        Ok(device) => {
            eprintln!("wgpu adapter: {:?}", rrtf_model::wgpu_adapter());
            Some(device)
        }
        Err(e) => {
            let thread = std::thread::current();
            let test = thread.name().unwrap_or("a test");
            if std::env::var_os("RRTF_FULL_TESTS").is_some_and(|v| v == "1") {
                panic!("{test}: {e} (RRTF_FULL_TESTS=1: the full tier runs the wgpu tests)");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {e}");
            None
        }
    }
}
