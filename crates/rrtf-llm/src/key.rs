//! The idempotency key of a request, stored as `responses.request_hash`.
//!
//! The key is the SHA-256 of a canonical JSON of everything that decides the answer: who
//! answers ([`Answerer`]: the endpoint's name, the model name sent, and what serves it: the
//! base URL, the replay recording's content hash, or the local checkpoint's content hash), the
//! endpoint kind, the rendered messages or text, temperature, top_p, max_tokens, stop, sample
//! index and round seed. Two requests with equal keys are the same request: the sampler never
//! sends one whose key is stored. Changing any of these (a prompt template edit, new weights
//! behind the same endpoint name, another server) makes new requests; the old answers stay
//! stored under their keys. The seed sent to the server is derived from the key
//! ([`request_seed`]), so sample 0 and sample 1 of one prompt get different seeds and a re-sent
//! request asks for the same sample.
//!
//! Layout 1 (before `served_by`) is kept as [`request_key_v1`] for one purpose: `rrtf sample`
//! counts an answer stored under it as stored when the endpoint is a `base_url` whose URL is
//! the one recorded for the model (README, upgrade notes), so an upgrade does not pay for every
//! teacher answer again.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use rrtf_config::Endpoint;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{LlmError, Params, Prompt};

/// Version of the key layout; changing it re-sends every stored request (see the module docs
/// for how layout 1 is still recognised).
const KEY_VERSION: u32 = 2;

/// Who answers a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answerer {
    /// The endpoint's name in the round config.
    pub endpoint: String,
    /// The model name sent to the server.
    pub model: String,
    /// What serves it: `url:<base_url>`, `replay:<sha256 of the recording>` or
    /// `weights:<sha256 of the checkpoint>` ([`served_by`]).
    pub served_by: String,
}

impl Answerer {
    /// The answerer of `endpoint` (hashes a replay file or a checkpoint once per process).
    pub fn of(endpoint: &Endpoint) -> Result<Answerer, LlmError> {
        Ok(Answerer {
            endpoint: endpoint.name.clone(),
            model: endpoint.model.clone(),
            served_by: served_by(endpoint)?,
        })
    }
}

/// What serves an endpoint, as it enters request keys: the base URL (without a trailing `/`);
/// for `replay`, the SHA-256 of the recording; for `local_model`, the SHA-256 over the
/// checkpoint's `config.json`, `tokenizer.json`, weights (`*.safetensors`) and shard index,
/// each file's name and content. File hashes are computed once per process and file (keyed by
/// path, size and modification time), never per request.
pub fn served_by(e: &Endpoint) -> Result<String, LlmError> {
    if let Some(path) = &e.replay {
        let hash = file_sha256(path).map_err(|err| identity_error(e, path, err))?;
        Ok(format!("replay:{hash}"))
    } else if let Some(dir) = &e.local_model {
        Ok(format!("weights:{}", checkpoint_sha256(e, dir)?))
    } else {
        Ok(format!("url:{}", e.base_url.trim_end_matches('/')))
    }
}

fn identity_error(e: &Endpoint, path: &Path, err: std::io::Error) -> LlmError {
    LlmError::Identity {
        endpoint: e.name.clone(),
        path: path.to_owned(),
        message: err.to_string(),
    }
}

/// The files of a checkpoint that decide its answers, by name.
fn checkpoint_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            matches!(name, "config.json" | "tokenizer.json")
                || name.ends_with(".safetensors")
                || name.ends_with(".safetensors.index.json")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn checkpoint_sha256(e: &Endpoint, dir: &Path) -> Result<String, LlmError> {
    let files = checkpoint_files(dir).map_err(|err| identity_error(e, dir, err))?;
    let named = |n: &str| files.iter().any(|f| f.file_name().is_some_and(|x| x == n));
    let weights = files.iter().any(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".safetensors"))
    });
    if !named("config.json") || !weights {
        return Err(LlmError::Identity {
            endpoint: e.name.clone(),
            path: dir.to_owned(),
            message: "not a checkpoint directory (needs config.json and *.safetensors): make \
                      one with `rrtf model init` or point local_model at a trained model"
                .into(),
        });
    }
    let mut all = Sha256::new();
    for f in &files {
        let hash = file_sha256(f).map_err(|err| identity_error(e, f, err))?;
        let name = f.file_name().expect("a file").to_string_lossy();
        all.update(format!("{name}\0{hash}\n").as_bytes());
    }
    Ok(hex::encode(all.finalize()))
}

/// SHA-256 of a file, memoised per (path, size, modification time) for the process.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    type Memo = Mutex<HashMap<(PathBuf, u64, Option<SystemTime>), String>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let meta = std::fs::metadata(path)?;
    let id = (
        std::fs::canonicalize(path)?,
        meta.len(),
        meta.modified().ok(),
    );
    let memo = MEMO.get_or_init(Memo::default);
    if let Some(h) = memo.lock().expect("lock").get(&id) {
        return Ok(h.clone());
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hash = hex::encode(hasher.finalize());
    memo.lock().expect("lock").insert(id, hash.clone());
    Ok(hash)
}

fn prompt_json(prompt: &Prompt) -> (&'static str, Value) {
    match prompt {
        Prompt::Chat(messages) => ("chat", json!(messages)),
        Prompt::Text(text) => ("completion", json!(text)),
    }
}

/// Hex SHA-256 of the request's canonical description. `params.seed` is not part of it (it is
/// derived from the key); `round_seed` is.
pub fn request_key(
    answerer: &Answerer,
    prompt: &Prompt,
    params: &Params,
    sample_index: u32,
    round_seed: u64,
) -> String {
    let (kind, body) = prompt_json(prompt);
    let canonical = json!({
        "v": KEY_VERSION,
        "teacher": answerer.endpoint,
        "model": answerer.model,
        "served_by": answerer.served_by,
        "kind": kind,
        "prompt": body,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "stop": params.stop,
        "sample_index": sample_index,
        "seed": round_seed,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The key layout 1 gave the same request (no `served_by`): only to recognise answers stored
/// before the upgrade (see the module docs). Never used for a new answer.
pub fn request_key_v1(
    teacher: &str,
    model: &str,
    prompt: &Prompt,
    params: &Params,
    sample_index: u32,
    round_seed: u64,
) -> String {
    let (kind, body) = prompt_json(prompt);
    let canonical = json!({
        "v": 1,
        "teacher": teacher,
        "model": model,
        "kind": kind,
        "prompt": body,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "stop": params.stop,
        "sample_index": sample_index,
        "seed": round_seed,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The per-request seed sent to the server: the key's first 31 bits (every server accepts it).
pub fn request_seed(key: &str) -> u64 {
    u64::from_str_radix(&key[..8], 16).unwrap_or(0) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    fn answerer(name: &str, model: &str, served_by: &str) -> Answerer {
        Answerer {
            endpoint: name.into(),
            model: model.into(),
            served_by: served_by.into(),
        }
    }

    #[test]
    fn every_field_changes_the_key_and_nothing_else_does() {
        let p = Params {
            temperature: 0.2,
            top_p: Some(0.95),
            max_tokens: Some(256),
            stop: vec!["\n\n".into()],
            seed: None,
        };
        let a = answerer("t", "m", "url:http://h/v1");
        let chat = Prompt::Chat(vec![Message::new("user", "write f")]);
        let base = request_key(&a, &chat, &p, 0, 7);
        let with = |f: &dyn Fn(&mut Params)| {
            let mut q = p.clone();
            f(&mut q);
            request_key(&a, &chat, &q, 0, 7)
        };
        let variants = [
            request_key(&answerer("t2", "m", "url:http://h/v1"), &chat, &p, 0, 7),
            request_key(&answerer("t", "m2", "url:http://h/v1"), &chat, &p, 0, 7),
            request_key(&answerer("t", "m", "url:http://other/v1"), &chat, &p, 0, 7),
            request_key(&answerer("t", "m", "weights:ab12"), &chat, &p, 0, 7),
            request_key(
                &a,
                &Prompt::Chat(vec![Message::new("user", "write g")]),
                &p,
                0,
                7,
            ),
            request_key(
                &a,
                &Prompt::Chat(vec![Message::new("system", "write f")]),
                &p,
                0,
                7,
            ),
            request_key(&a, &Prompt::Text("write f".into()), &p, 0, 7),
            request_key(&a, &chat, &p, 1, 7),
            request_key(&a, &chat, &p, 0, 8),
            with(&|q| q.temperature = 0.8),
            with(&|q| q.top_p = None),
            with(&|q| q.max_tokens = Some(512)),
            with(&|q| q.stop.clear()),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(*v, base, "variant {i} must change the key");
        }
        let distinct: std::collections::HashSet<_> = variants.iter().collect();
        assert_eq!(distinct.len(), variants.len());
        // The sent seed is derived from the key, so it is not an input of it.
        assert_eq!(with(&|q| q.seed = Some(99)), base);
        // Stable across builds: a changed key layout would re-send every stored request.
        assert_eq!(
            base,
            "9c5d97f36d1beef7c9321e658e385b8c968d357443029b5a87e751935a5dce5e"
        );
        // Layout 1 is still what it was (answers stored before the upgrade are recognised).
        assert_eq!(
            request_key_v1("t", "m", &chat, &p, 0, 7),
            "1f0059f62bb53a3769752c16a8d0f2276edd2f45a421d4cdc81cb7b31ae69b25"
        );
    }

    #[test]
    fn seeds_differ_per_sample_and_fit_31_bits() {
        let p = Params {
            temperature: 0.8,
            top_p: None,
            max_tokens: None,
            stop: vec![],
            seed: None,
        };
        let prompt = Prompt::Text("def f():".into());
        let a = answerer("t", "m", "url:http://h/v1");
        let seeds: std::collections::HashSet<u64> = (0..50)
            .map(|i| request_seed(&request_key(&a, &prompt, &p, i, 0)))
            .collect();
        assert_eq!(seeds.len(), 50);
        assert!(seeds.iter().all(|s| *s < 1 << 31));
    }

    fn endpoint(extra: &str) -> Endpoint {
        toml::from_str(&format!("name = \"s\"\nmodel = \"m\"\n{extra}")).unwrap()
    }

    #[test]
    fn served_by_names_the_url_the_recording_or_the_weights() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            served_by(&endpoint("base_url = \"http://h:8000/v1/\"")).unwrap(),
            "url:http://h:8000/v1"
        );
        std::fs::write(
            d.join("rec.jsonl"),
            "{\"match\": [], \"responses\": [\"a\"]}\n",
        )
        .unwrap();
        let rec = endpoint(&format!("replay = \"{}\"", d.join("rec.jsonl").display()));
        let first = served_by(&rec).unwrap();
        assert!(first.starts_with("replay:"), "{first}");

        let ck = d.join("ck");
        std::fs::create_dir(&ck).unwrap();
        let local = endpoint(&format!("local_model = \"{}\"", ck.display()));
        let err = served_by(&local).unwrap_err().to_string();
        assert!(err.contains("needs config.json and *.safetensors"), "{err}");
        std::fs::write(ck.join("config.json"), "{\"n_embd\": 8}").unwrap();
        std::fs::write(ck.join("model.safetensors"), "weights v1").unwrap();
        std::fs::write(ck.join("metrics.jsonl"), "not part of the model").unwrap();
        let v1 = served_by(&local).unwrap();
        assert!(v1.starts_with("weights:"), "{v1}");
        // Files that are not the model do not count; new weights do, as does a new config.
        std::fs::write(ck.join("metrics.jsonl"), "more lines").unwrap();
        std::fs::create_dir(ck.join("checkpoints")).unwrap();
        assert_eq!(served_by(&local).unwrap(), v1);
        std::fs::write(ck.join("model.safetensors"), "weights v2, trained").unwrap();
        let v2 = served_by(&local).unwrap();
        assert_ne!(v2, v1);
        // The same weights in another directory are the same answerer.
        let copy = d.join("copy");
        std::fs::create_dir(&copy).unwrap();
        for f in ["config.json", "model.safetensors"] {
            std::fs::copy(ck.join(f), copy.join(f)).unwrap();
        }
        let moved = endpoint(&format!("local_model = \"{}\"", copy.display()));
        assert_eq!(served_by(&moved).unwrap(), v2);
    }
}
