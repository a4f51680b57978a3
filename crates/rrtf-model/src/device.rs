//! Device names and the devices behind them: `cpu` (flex), `cuda` / `cuda:N` (the `cuda`
//! feature) and `wgpu` (the `wgpu` feature: Vulkan, Metal or DX12 through wgpu's WGSL shaders).
//!
//! Which code runs where: on the plain flex device an inference copy of the model runs the host
//! kernels of `infer.rs` and training uses the fused GELU (`model.rs`) and the trainer's fused
//! AdamW; on every other device, and on flex under autodiff apart from those two fusions, the
//! model runs burn's ops and its tensors stay on the device. [`GptBigCode::host_kernels`] says
//! which path a model takes.
//!
//! Not here: the names' grammar and the refusal of a build without a device's feature
//! (`rrtf_types::DeviceName`, shared with the round config's validation); choosing a device from a
//! config file (the binary does, through [`parse_device`]).
//!
//! [`GptBigCode::host_kernels`]: crate::GptBigCode::host_kernels

use burn::tensor::Device;
use rrtf_types::DeviceName;

use crate::error::{ModelError, Result};

/// The device models run on when none is named: flex (CPU) by default, CUDA device 0 with the
/// `cuda` feature. The `wgpu` feature does not change it (a wgpu adapter may be a software
/// one): ask for it with `--device wgpu`.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    {
        Device::cuda(0)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Device::flex()
    }
}

/// The device named by `spec`: `cpu`; `cuda` / `cuda:N` in a build with the `cuda` feature;
/// `wgpu` in a build with the `wgpu` feature (initialised here, so a machine without a usable
/// adapter fails now, naming what to install, not at the first tensor).
pub fn parse_device(spec: &str) -> Result<Device> {
    match DeviceName::parse(spec).map_err(ModelError::Device)? {
        DeviceName::Cpu => Ok(Device::flex()),
        DeviceName::Wgpu => wgpu_device(spec),
        DeviceName::Cuda(index) => cuda_device(spec, index),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device(_spec: &str, index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(spec: &str, index: usize) -> Result<Device> {
    Err(ModelError::Device(
        DeviceName::Cuda(index).missing_feature(spec),
    ))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(spec: &str) -> Result<Device> {
    Err(ModelError::Device(DeviceName::Wgpu.missing_feature(spec)))
}

#[cfg(feature = "wgpu")]
fn wgpu_device(_spec: &str) -> Result<Device> {
    wgpu::device()
}

/// The wgpu adapter `--device wgpu` runs on (name, driver, API, kind), once it is initialised;
/// `None` before that or in a build without the `wgpu` feature.
pub fn wgpu_adapter() -> Option<String> {
    #[cfg(feature = "wgpu")]
    {
        wgpu::adapter()
    }
    #[cfg(not(feature = "wgpu"))]
    {
        None
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use std::sync::OnceLock;

    use burn::tensor::{Device, DeviceKind};

    use crate::error::{ModelError, Result};

    /// burn's wgpu runtime is registered once per process (a second `init` is an error), so
    /// the outcome of the first attempt is kept: the device, or why there is none.
    static DEVICE: OnceLock<std::result::Result<(Device, String), String>> = OnceLock::new();

    pub(super) fn device() -> Result<Device> {
        match DEVICE.get_or_init(init) {
            Ok((device, _)) => Ok(device.clone()),
            Err(e) => Err(ModelError::Device(e.clone())),
        }
    }

    pub(super) fn adapter() -> Option<String> {
        DEVICE.get()?.as_ref().ok().map(|(_, a)| a.clone())
    }

    fn init() -> std::result::Result<(Device, String), String> {
        let options = Device::wgpu_options().device_kind(DeviceKind::DefaultDevice);
        // wgpu and the Vulkan loader may panic instead of returning an error on a broken setup.
        let init = std::panic::AssertUnwindSafe(move || options.init_with_setup());
        let outcome = std::panic::catch_unwind(init)
            .map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into())
            })
            .and_then(|r| r.map_err(|e| e.to_string()));
        match outcome {
            Ok((device, setup)) => {
                let info = setup.adapter.get_info();
                let adapter = format!(
                    "{} ({}, {:?}, {:?})",
                    info.name, info.driver_info, info.backend, info.device_type
                );
                Ok((device, adapter))
            }
            Err(e) => Err(format!(
                "\"wgpu\": no usable adapter ({e}): install a GPU's Vulkan driver, or Mesa's software one (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers`), and set XDG_RUNTIME_DIR to a private directory (mode 0700); or use \"cpu\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_or_say_what_to_do() {
        assert!(parse_device(" cpu ").unwrap() == Device::flex());
        for (spec, needle) in [
            ("gpu", "is not a device"),
            ("cuda:x", "is not a device"),
            ("wgpu:1", "CUBECL_WGPU_DEFAULT_DEVICE"),
        ] {
            let err = parse_device(spec).unwrap_err().to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    /// A build without a GPU feature refuses the device naming the rebuild command.
    #[test]
    #[cfg(not(feature = "wgpu"))]
    fn wgpu_without_the_feature_names_the_rebuild() {
        let err = parse_device("wgpu").unwrap_err().to_string();
        assert!(
            err.contains("built without wgpu") && err.contains("--features wgpu"),
            "{err}"
        );
        assert_eq!(wgpu_adapter(), None);
    }

    #[test]
    #[cfg(not(feature = "cuda"))]
    fn cuda_without_the_feature_names_the_rebuild() {
        for spec in ["cuda", "cuda:1"] {
            let err = parse_device(spec).unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{spec}: {err}");
        }
    }

    #[test]
    #[cfg(not(feature = "cuda"))]
    fn the_default_device_is_flex() {
        assert!(default_device() == Device::flex());
    }
}
