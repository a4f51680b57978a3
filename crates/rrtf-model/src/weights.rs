//! Weights in Hugging Face layout: reading `model.safetensors` (or a sharded
//! `model.safetensors.index.json`) in f32/f16/bf16, building the burn model from them, seeded
//! random initialisation, and writing them back in PyTorch layout with `format: pt` metadata.
//!
//! Architecture invariant: every tensor goes through [`HostTensors`], keyed by the HF name
//! (`transformer.h.0.attn.c_attn.weight`) with the HF shape; only [`build`] and [`export`] know
//! how those map onto burn modules (Linear weights are transposed there and nowhere else).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{DType, Device, Tensor, TensorCreationOptions, TensorData};
use rand::{Rng, SeedableRng, rngs::StdRng};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::config::GptBigCodeConfig;
use crate::error::{ModelError, Result};
use crate::model::{Attention, Block, GptBigCode, Mlp};

/// A host-side f32 tensor with its HF shape.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// HF tensor name → tensor.
pub type HostTensors = BTreeMap<String, HostTensor>;

/// The dtype weights are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveDtype {
    F32,
    F16,
    Bf16,
}

impl SaveDtype {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f32" | "float32" => Ok(Self::F32),
            "f16" | "float16" => Ok(Self::F16),
            "bf16" | "bfloat16" => Ok(Self::Bf16),
            _ => Err(ModelError::Input {
                what: format!("dtype {s:?}"),
                message: "use f32, f16 or bf16".into(),
            }),
        }
    }
    /// The name transformers writes in config.json.
    pub fn torch_name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        }
    }
}

/// The names and shapes a checkpoint for `config` must hold (without the tied `lm_head.weight`).
pub fn expected_shapes(config: &GptBigCodeConfig) -> Vec<(String, Vec<usize>)> {
    let (e, v, p, inner) = (
        config.n_embd,
        config.vocab_size,
        config.n_positions,
        config.inner_dim(),
    );
    let mut out = vec![
        ("transformer.wte.weight".to_string(), vec![v, e]),
        ("transformer.wpe.weight".to_string(), vec![p, e]),
    ];
    for i in 0..config.n_layer {
        let pre = format!("transformer.h.{i}");
        for (name, shape) in [
            ("ln_1.weight", vec![e]),
            ("ln_1.bias", vec![e]),
            ("attn.c_attn.weight", vec![config.c_attn_dim(), e]),
            ("attn.c_attn.bias", vec![config.c_attn_dim()]),
            ("attn.c_proj.weight", vec![e, e]),
            ("attn.c_proj.bias", vec![e]),
            ("ln_2.weight", vec![e]),
            ("ln_2.bias", vec![e]),
            ("mlp.c_fc.weight", vec![inner, e]),
            ("mlp.c_fc.bias", vec![inner]),
            ("mlp.c_proj.weight", vec![e, inner]),
            ("mlp.c_proj.bias", vec![e]),
        ] {
            out.push((format!("{pre}.{name}"), shape));
        }
    }
    out.push(("transformer.ln_f.weight".into(), vec![e]));
    out.push(("transformer.ln_f.bias".into(), vec![e]));
    if !config.tie_word_embeddings {
        out.push(("lm_head.weight".into(), vec![v, e]));
    }
    out
}

/// Seeded random weights as transformers initialises them: normal(0, `std`) for embeddings and
/// Linear weights (`c_proj` scaled by `1/sqrt(2 n_layer)`), zero biases, unit LayerNorms.
pub fn init(config: &GptBigCodeConfig, std: f64, seed: u64) -> HostTensors {
    let mut rng = StdRng::seed_from_u64(seed);
    let proj_std = std / (2.0 * config.n_layer as f64).sqrt();
    expected_shapes(config)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let data = if name.contains("ln_") && name.ends_with(".weight") {
                vec![1.0; n]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                let s = if name.ends_with("c_proj.weight") {
                    proj_std
                } else {
                    std
                };
                (0..n).map(|_| (normal(&mut rng) * s) as f32).collect()
            };
            (name, HostTensor { shape, data })
        })
        .collect()
}

/// A standard normal sample (Box–Muller), so init needs no distribution crate.
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Read every tensor of a checkpoint directory, as f32.
pub fn read_dir(dir: &Path) -> Result<HostTensors> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    let mut out = HostTensors::new();
    if single.is_file() {
        read_file(&single, &mut out)?;
    } else if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| ModelError::io(&index, e))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ModelError::Json {
                path: index.clone(),
                source,
            })?;
        let map = value["weight_map"]
            .as_object()
            .ok_or_else(|| ModelError::Safetensors {
                path: index.clone(),
                message: "no \"weight_map\" object".into(),
            })?;
        let mut shards: Vec<&str> = map.values().filter_map(|v| v.as_str()).collect();
        shards.sort_unstable();
        shards.dedup();
        for shard in shards {
            read_file(&dir.join(shard), &mut out)?;
        }
    } else {
        return Err(ModelError::NoWeights {
            path: dir.to_path_buf(),
        });
    }
    Ok(out)
}

fn read_file(path: &Path, out: &mut HostTensors) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| ModelError::Safetensors {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    for (name, view) in st.tensors() {
        let data = to_f32(&name, &view)?;
        out.insert(
            name,
            HostTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(())
}

fn to_f32(name: &str, view: &TensorView<'_>) -> Result<Vec<f32>> {
    let b = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => b
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => b
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => {
            return Err(ModelError::UnsupportedDtype {
                name: name.to_string(),
                dtype: format!("{other:?}"),
            });
        }
    })
}

/// Build the model from HF-named tensors. Missing, unexpected and mis-shaped tensors are all
/// reported in one error. A stored `lm_head.weight` equal in shape to `wte` is accepted (and
/// ignored) when the head is tied, as transformers does.
pub fn build(
    config: &GptBigCodeConfig,
    tensors: HostTensors,
    device: &Device,
) -> Result<GptBigCode> {
    build_with(config, tensors, device, false)
}

/// [`build`], with the blocks' four projection weights (`c_attn`, `attn.c_proj`, `c_fc`,
/// `mlp.c_proj`) stored in bf16 when `bf16_projections`: converted on the host, so the device
/// never holds their f32 copy. Such a model is only for LoRA over a bf16 base (the trainer
/// attaches f32 adapters, which compose an f32 weight per forward pass): its plain forward
/// pass would multiply f32 activations by bf16 weights, which burn refuses.
pub fn build_with(
    config: &GptBigCodeConfig,
    mut tensors: HostTensors,
    device: &Device,
    bf16_projections: bool,
) -> Result<GptBigCode> {
    if config.tie_word_embeddings {
        tensors.remove("lm_head.weight");
    }
    let (mut missing, mut mis_shaped) = (Vec::new(), Vec::new());
    let mut taken: HashMap<String, HostTensor> = HashMap::new();
    for (name, shape) in expected_shapes(config) {
        match tensors.remove(&name) {
            None => missing.push(name),
            Some(t) if t.shape != shape => {
                mis_shaped.push(format!("{name}: expected {shape:?}, found {:?}", t.shape))
            }
            Some(t) => {
                taken.insert(name, t);
            }
        }
    }
    let unexpected: Vec<String> = tensors.into_keys().collect();
    if !(missing.is_empty() && unexpected.is_empty() && mis_shaped.is_empty()) {
        return Err(ModelError::Weights {
            missing,
            unexpected,
            mis_shaped,
        });
    }
    let mut take = |name: &str| taken.remove(name).expect("checked above");
    let param2 = |t: HostTensor| -> Param<Tensor<2>> {
        Param::from_data(TensorData::new(t.data, [t.shape[0], t.shape[1]]), device)
    };
    let param1 = |t: HostTensor| -> Param<Tensor<1>> {
        Param::from_data(TensorData::new(t.data, [t.shape[0]]), device)
    };
    // PyTorch Linear weight [out, in] → burn [in, out].
    let linear = |w: HostTensor, b: HostTensor| {
        let data = TensorData::new(
            transpose(&w.data, w.shape[0], w.shape[1]),
            [w.shape[1], w.shape[0]],
        );
        let weight = if bf16_projections {
            let options = TensorCreationOptions::new(device.clone()).with_dtype(DType::BF16);
            Param::from_tensor(Tensor::<2>::from_data(
                data.convert::<half::bf16>(),
                options,
            ))
        } else {
            Param::from_data(data, device)
        };
        Linear {
            weight,
            bias: Some(param1(b)),
        }
    };
    let layer_norm = |w: HostTensor, b: HostTensor| {
        let mut ln: LayerNorm = LayerNormConfig::new(config.n_embd)
            .with_epsilon(config.layer_norm_epsilon)
            .init(device);
        ln.gamma = param1(w);
        ln.beta = Some(param1(b));
        ln
    };
    let act = config.activation()?;
    let wte = Embedding {
        weight: param2(take("transformer.wte.weight")),
    };
    let wpe = Embedding {
        weight: param2(take("transformer.wpe.weight")),
    };
    let mut blocks = Vec::with_capacity(config.n_layer);
    for i in 0..config.n_layer {
        let mut t = |n: &str| take(&format!("transformer.h.{i}.{n}"));
        let ln_1 = layer_norm(t("ln_1.weight"), t("ln_1.bias"));
        let c_attn = linear(t("attn.c_attn.weight"), t("attn.c_attn.bias"));
        let c_proj = linear(t("attn.c_proj.weight"), t("attn.c_proj.bias"));
        let ln_2 = layer_norm(t("ln_2.weight"), t("ln_2.bias"));
        let c_fc = linear(t("mlp.c_fc.weight"), t("mlp.c_fc.bias"));
        let m_proj = linear(t("mlp.c_proj.weight"), t("mlp.c_proj.bias"));
        blocks.push(Block {
            ln_1,
            attn: Attention::new(c_attn, c_proj, config),
            ln_2,
            mlp: Mlp::new(c_fc, m_proj, act),
        });
    }
    let ln_f = layer_norm(
        take("transformer.ln_f.weight"),
        take("transformer.ln_f.bias"),
    );
    let lm_head = (!config.tie_word_embeddings).then(|| param2(take("lm_head.weight")));
    let mut model = GptBigCode::new(wte, wpe, blocks, ln_f, lm_head, config.layer_norm_epsilon);
    model.int8 = crate::quant::is_int8(config);
    Ok(model)
}

/// The HF names of the linear layers' weights in [`export`]'s tensors, `[out, in]` each: every
/// block's `c_attn`, attention `c_proj`, `c_fc` and MLP `c_proj`, then the LM head's (the token
/// embedding when tied). What `quant.rs` quantizes.
pub(crate) fn linear_weight_names(config: &GptBigCodeConfig) -> Vec<String> {
    let mut names: Vec<String> = (0..config.n_layer)
        .flat_map(|i| {
            ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]
                .map(|name| format!("transformer.h.{i}.{name}.weight"))
        })
        .collect();
    names.push(if config.tie_word_embeddings {
        "transformer.wte.weight".into()
    } else {
        "lm_head.weight".into()
    });
    names
}

/// The model's weights as HF-named host tensors (the inverse of [`build`]).
pub fn export(model: &GptBigCode) -> HostTensors {
    let mut out = HostTensors::new();
    let mut put = |name: String, t: Tensor<2>, transposed: bool| {
        let [r, c] = t.dims();
        let data: Vec<f32> = t
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 data");
        let (data, shape) = if transposed {
            (transpose(&data, r, c), vec![c, r])
        } else {
            (data, vec![r, c])
        };
        out.insert(name, HostTensor { shape, data });
    };
    put(
        "transformer.wte.weight".into(),
        model.wte.weight.val(),
        false,
    );
    put(
        "transformer.wpe.weight".into(),
        model.wpe.weight.val(),
        false,
    );
    let vec1 = |t: Tensor<1>| t.reshape([1, -1]);
    let mut linears: Vec<(String, &Linear)> = Vec::new();
    let mut norms: Vec<(String, &LayerNorm)> = Vec::new();
    for (i, b) in model.h.iter().enumerate() {
        let pre = format!("transformer.h.{i}");
        norms.push((format!("{pre}.ln_1"), &b.ln_1));
        norms.push((format!("{pre}.ln_2"), &b.ln_2));
        linears.push((format!("{pre}.attn.c_attn"), &b.attn.c_attn));
        linears.push((format!("{pre}.attn.c_proj"), &b.attn.c_proj));
        linears.push((format!("{pre}.mlp.c_fc"), &b.mlp.c_fc));
        linears.push((format!("{pre}.mlp.c_proj"), &b.mlp.c_proj));
    }
    norms.push(("transformer.ln_f".into(), &model.ln_f));
    for (name, l) in linears {
        put(format!("{name}.weight"), l.weight.val(), true);
        if let Some(b) = &l.bias {
            put(format!("{name}.bias"), vec1(b.val()), false);
        }
    }
    for (name, ln) in norms {
        put(format!("{name}.weight"), vec1(ln.gamma.val()), false);
        if let Some(b) = &ln.beta {
            put(format!("{name}.bias"), vec1(b.val()), false);
        }
    }
    if let Some(w) = &model.lm_head {
        put("lm_head.weight".into(), w.val(), false);
    }
    // 1-D tensors went through a [1, n] view: restore their shape.
    for t in out.values_mut() {
        if t.shape[0] == 1 && t.shape.len() == 2 {
            t.shape.remove(0);
        }
    }
    out
}

/// Write `model.safetensors` in PyTorch layout with `format: pt` metadata (transformers refuses
/// files without it). The tied LM head is not written; transformers re-ties it.
pub fn write(tensors: &HostTensors, dtype: SaveDtype, path: &Path) -> Result<()> {
    let encoded: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, t)| {
            let bytes: Vec<u8> = match dtype {
                SaveDtype::F32 => t.data.iter().flat_map(|x| x.to_le_bytes()).collect(),
                SaveDtype::F16 => t
                    .data
                    .iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect(),
                SaveDtype::Bf16 => t
                    .data
                    .iter()
                    .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
                    .collect(),
            };
            (name.clone(), bytes, t.shape.clone())
        })
        .collect();
    let st_dtype = match dtype {
        SaveDtype::F32 => Dtype::F32,
        SaveDtype::F16 => Dtype::F16,
        SaveDtype::Bf16 => Dtype::BF16,
    };
    let views = encoded
        .iter()
        .map(|(name, bytes, shape)| {
            let view = TensorView::new(st_dtype, shape.clone(), bytes).expect("sizes match");
            (name.as_str(), view)
        })
        .collect::<Vec<_>>();
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(metadata), path).map_err(|e| {
        ModelError::Safetensors {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// Row-major `[rows, cols]` → `[cols, rows]`.
/// `data` `[rows, cols]` row-major, transposed.
pub(crate) fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> GptBigCodeConfig {
        GptBigCodeConfig::preset("tiny-mha", 40, 0).unwrap()
    }

    #[test]
    fn build_reports_every_mismatch() {
        let config = tiny();
        let mut t = init(&config, 0.02, 1);
        t.remove("transformer.h.1.ln_2.bias");
        t.get_mut("transformer.wpe.weight").unwrap().shape = vec![64, 64];
        t.insert(
            "transformer.extra".into(),
            HostTensor {
                shape: vec![1],
                data: vec![0.0],
            },
        );
        let err = build(&config, t, &Device::flex()).unwrap_err().to_string();
        for needle in [
            "missing (1): transformer.h.1.ln_2.bias",
            "unexpected (1): transformer.extra",
            "transformer.wpe.weight: expected [128, 32], found [64, 64]",
        ] {
            assert!(err.contains(needle), "{err}\nshould contain {needle:?}");
        }
    }

    #[test]
    fn export_inverts_build_and_init_is_seeded() {
        let config = tiny();
        let t = init(&config, 0.3, 7);
        assert_eq!(t, init(&config, 0.3, 7));
        assert_ne!(t, init(&config, 0.3, 8));
        let model = build(&config, t.clone(), &Device::flex()).unwrap();
        assert_eq!(export(&model), t);
    }

    #[test]
    fn write_then_read_round_trips_each_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let config = tiny();
        let t = init(&config, 0.3, 3);
        for (dtype, tol) in [
            (SaveDtype::F32, 0.0),
            (SaveDtype::F16, 1e-3),
            (SaveDtype::Bf16, 1e-2),
        ] {
            write(&t, dtype, &dir.path().join("model.safetensors")).unwrap();
            let back = read_dir(dir.path()).unwrap();
            assert_eq!(
                back.keys().collect::<Vec<_>>(),
                t.keys().collect::<Vec<_>>()
            );
            for (name, x) in &t {
                let y = &back[name];
                assert_eq!(x.shape, y.shape, "{name}");
                let worst = x
                    .data
                    .iter()
                    .zip(&y.data)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(worst <= tol, "{dtype:?} {name}: {worst}");
            }
        }
        let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");
    }
}
