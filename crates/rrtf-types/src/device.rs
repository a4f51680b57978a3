//! Device names (`cpu`, `cuda`, `cuda:N`, `wgpu`): the one grammar that the command line
//! (`rrtf_model::parse_device`) and the round config (`rrtf-config`'s validation) read, and the
//! one refusal a build without the device's cargo feature gives, naming the rebuild.
//!
//! Not here: the devices themselves (burn's, in `rrtf-model`) or which features this build has
//! (each crate that refuses knows its own: `rrtf-model` by its `cuda`/`wgpu` features, which
//! enable `rrtf-config`'s through the binary's features).

/// A device as named, not yet opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceName {
    /// flex, the CPU backend.
    Cpu,
    /// CUDA device N (`cuda` is `cuda:0`).
    Cuda(usize),
    /// The adapter wgpu picks.
    Wgpu,
}

impl DeviceName {
    /// Read `spec` (surrounding spaces ignored); the error says what is accepted.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        match spec {
            "cpu" => return Ok(DeviceName::Cpu),
            "wgpu" => return Ok(DeviceName::Wgpu),
            _ => {}
        }
        if spec.starts_with("wgpu:") {
            return Err(format!(
                "{spec:?}: burn 0.22 picks the wgpu adapter itself (a high-power GPU first): use \"wgpu\", and choose another adapter with CUBECL_WGPU_DEFAULT_DEVICE (e.g. DiscreteGpu(1), IntegratedGpu(0), Cpu)"
            ));
        }
        let index = match spec.strip_prefix("cuda") {
            Some("") => Some(0),
            Some(rest) => rest.strip_prefix(':').and_then(|n| n.parse::<usize>().ok()),
            None => None,
        };
        index.map(DeviceName::Cuda).ok_or_else(|| {
            format!("{spec:?} is not a device: use \"cpu\", \"cuda\", \"cuda:N\" or \"wgpu\"")
        })
    }

    /// The cargo feature a build needs for this device (`None`: every build has it).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            DeviceName::Cpu => None,
            DeviceName::Cuda(_) => Some("cuda"),
            DeviceName::Wgpu => Some("wgpu"),
        }
    }

    /// The refusal of a build without [`DeviceName::feature`], for `spec` as the user wrote it.
    pub fn missing_feature(self, spec: &str) -> String {
        let spec = spec.trim();
        match self {
            DeviceName::Cpu => format!("{spec:?}: every build has the CPU device"),
            DeviceName::Cuda(_) => format!(
                "{spec:?}: this rrtf was built without CUDA: rebuild with `cargo build --release --features cuda` (needs the network for burn-cuda's LLVM bundle), or use \"cpu\""
            ),
            DeviceName::Wgpu => format!(
                "{spec:?}: this rrtf was built without wgpu: rebuild with `cargo build --release --features wgpu` (builds offline), or use \"cpu\""
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_or_say_what_is_accepted() {
        assert_eq!(DeviceName::parse(" cpu "), Ok(DeviceName::Cpu));
        assert_eq!(DeviceName::parse("cuda"), Ok(DeviceName::Cuda(0)));
        assert_eq!(DeviceName::parse("cuda:3"), Ok(DeviceName::Cuda(3)));
        assert_eq!(DeviceName::parse("wgpu"), Ok(DeviceName::Wgpu));
        for (spec, needle) in [
            ("gpu", "is not a device"),
            ("cuda:", "is not a device"),
            ("cuda:x", "is not a device"),
            ("CPU", "is not a device"),
            ("wgpu:1", "CUBECL_WGPU_DEFAULT_DEVICE"),
        ] {
            let e = DeviceName::parse(spec).unwrap_err();
            assert!(e.contains(needle), "{spec}: {e}");
        }
        assert!(
            DeviceName::Wgpu
                .missing_feature("wgpu")
                .contains("--features wgpu")
        );
        assert!(
            DeviceName::Cuda(1)
                .missing_feature("cuda:1")
                .contains("--features cuda")
        );
    }
}
