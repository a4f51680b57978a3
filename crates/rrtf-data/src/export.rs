//! `rrtf export`: ranked data for other trainers (TRL, LLaMA-Factory, KTO) and our listwise
//! `rrtf` format, with reviews applied, written atomically, with a manifest beside the output.
//!
//! Every format takes its pairs from [`crate::pairs::pairs`] with one [`PairSpec`]: the ranker
//! config's `pairs` and `min_gap` unless the options override them. Scores are each response's
//! own ranker score, also after a pin or reorder (the row then says who pinned or reordered).
//!
//! Formats:
//! - `trl`: `prompt`, `chosen`, `rejected` (+ `score_chosen`, `score_rejected`, ids, whose
//!   preference the pair is and the reviewers).
//! - `trl-chat`: TRL's conversational preference format: `prompt` (messages: an optional
//!   system message, then the user's), `chosen` and `rejected` (one assistant message each),
//!   with the `trl` row's scores and ids.
//! - `llama-factory`: `instruction`, `input`, `chosen`, `rejected`, plus an entry in
//!   `dataset_info.json` beside the file (`"ranking": true`), merged into an existing one.
//! - `sharegpt`: LLaMA-Factory's ShareGPT preference format: `conversations` (the human turn),
//!   `chosen` and `rejected` (`{"from": "gpt", "value"}`), `system`; its `dataset_info.json`
//!   entry says `"formatting": "sharegpt"`.
//! - `kto`: `prompt`, `completion`, `label` (true when all tests pass or an operator pinned it).
//! - `rrtf`: one row per prompt with every ranked response: `prompt`, `lineage` (the root seed's
//!   content hash), `responses` (texts, best first after reviews), `scores` (each response's
//!   own), `pairs` (`[better, worse]` indices into `responses`: the pairs the ranking loss sums
//!   over), and `details` (provenance, outcome, tier, score components).
//!
//! Layouts: a data file with a manifest beside it, or (`Layout::HfDataset`) a Hugging
//! Face dataset directory: `data/train-00000-of-00001.parquet` (or `.jsonl`), a `README.md`
//! dataset card (YAML
//! `configs` naming the data files, the licence, then the ranker's config hash, counts,
//! filters and reviews applied) and `rrtf-manifest.json`; `datasets.load_dataset(DIR)` reads
//! it. The data file is JSON Lines or Parquet ([`DataFormat`]: Parquet by default in a
//! dataset directory, as on the Hub, and for a `--out` ending in `.parquet`; the rows are the
//! same, see `crate::parquet_file`).
//!
//! With `--text code`, a completion prompt's response is its code without the prompt in front
//! (the executed program is prompt + completion; trainers put the prompt before it).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rrtf_store::{Outcome, PromptKind, RankedGroup, RankedResponse, Store, sha256_hex};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::DataError;
use crate::pairs::{PairSpec, PairStrategy, pairs};
use crate::review::{ReviewSummary, ReviewedGroup, apply_reviews};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Trl,
    TrlChat,
    LlamaFactory,
    ShareGpt,
    Kto,
    Rrtf,
}

/// How an export is laid out on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// One JSON Lines file (`--out FILE`), its manifest beside it.
    #[default]
    File,
    /// A Hugging Face dataset directory (`--out DIR`): see the module docs.
    HfDataset,
}

/// The data file of a Hugging Face dataset directory in JSON Lines, relative to it.
pub const HF_DATA_FILE: &str = "data/train-00000-of-00001.jsonl";
/// The same in Parquet (the directory's default).
pub const HF_PARQUET_FILE: &str = "data/train-00000-of-00001.parquet";

/// The data file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    Jsonl,
    Parquet,
}

impl std::str::FromStr for DataFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" => Ok(DataFormat::Jsonl),
            "parquet" => Ok(DataFormat::Parquet),
            _ => Err(format!(
                "unknown data format `{s}`: expected jsonl or parquet"
            )),
        }
    }
}

impl DataFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Jsonl => "jsonl",
            DataFormat::Parquet => "parquet",
        }
    }

    /// The format of `opts`' data file: the one asked for, else Parquet in a dataset
    /// directory and for a `--out` ending in `.parquet`, else JSON Lines.
    pub fn of(opts: &ExportOptions) -> DataFormat {
        let parquet_name = opts.out.extension().is_some_and(|e| e == "parquet");
        opts.data_format
            .unwrap_or(match (opts.layout, parquet_name) {
                (Layout::HfDataset, _) | (Layout::File, true) => DataFormat::Parquet,
                (Layout::File, false) => DataFormat::Jsonl,
            })
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "trl" => Ok(ExportFormat::Trl),
            "trl-chat" => Ok(ExportFormat::TrlChat),
            "llama-factory" => Ok(ExportFormat::LlamaFactory),
            "sharegpt" => Ok(ExportFormat::ShareGpt),
            "kto" => Ok(ExportFormat::Kto),
            "rrtf" => Ok(ExportFormat::Rrtf),
            _ => Err(format!(
                "unknown export format `{s}`: expected trl, trl-chat, llama-factory, sharegpt, \
                 kto or rrtf"
            )),
        }
    }
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Trl => "trl",
            ExportFormat::TrlChat => "trl-chat",
            ExportFormat::LlamaFactory => "llama-factory",
            ExportFormat::ShareGpt => "sharegpt",
            ExportFormat::Kto => "kto",
            ExportFormat::Rrtf => "rrtf",
        }
    }
}

/// Which text of a response to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// The response as the model wrote it.
    Raw,
    /// The extracted code (the raw text when none was extracted yet).
    Code,
}

#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: ExportFormat,
    pub out: PathBuf,
    /// Pair strategy; the ranker config's `ranking.pairs` when absent.
    pub pairs: Option<PairStrategy>,
    /// Smallest score gap of a ranker-decided pair; the ranker config's `ranking.min_gap` when
    /// absent.
    pub min_gap: Option<f64>,
    pub text: TextField,
    /// Ranker hash (or unique prefix); the latest ranker when absent.
    pub ranker: Option<String>,
    /// Only prompts of these rounds (`prompts.round`); every round when absent.
    pub rounds: Option<Vec<i64>>,
    /// Dataset name for LLaMA-Factory's `dataset_info.json` and the dataset card; the
    /// output's stem when absent.
    pub name: Option<String>,
    pub layout: Layout,
    /// A system message for `trl-chat` and `sharegpt` rows.
    pub system: Option<String>,
    /// The dataset card's `license` (an SPDX id or a Hugging Face licence name).
    pub license: Option<String>,
    /// The data file's format; [`DataFormat::of`] decides when absent.
    pub data_format: Option<DataFormat>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileEntry {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    pub format: &'static str,
    pub ranker: String,
    pub prompts: usize,
    pub rows: u64,
    /// The pairs written (every format but `kto`).
    pub pair_strategy: Option<&'static str>,
    pub min_gap: Option<f64>,
    pub reviews: ReviewSummary,
    pub files: Vec<FileEntry>,
    pub manifest: PathBuf,
}

/// A response's code as a trainer consumes it: for a completion prompt, without the prompt the
/// executed program starts with (a chat answer's whole function is kept as it is).
fn code<'a>(g: &RankedGroup, r: &'a RankedResponse) -> Option<&'a str> {
    let code = r.code.as_deref()?;
    Some(match g.kind {
        PromptKind::Completion => code.strip_prefix(g.prompt.as_str()).unwrap_or(code),
        PromptKind::Instruction => code,
    })
}

fn text<'a>(g: &RankedGroup, r: &'a RankedResponse, field: TextField) -> &'a str {
    match field {
        TextField::Raw => &r.raw_text,
        TextField::Code => code(g, r).unwrap_or(&r.raw_text),
    }
}

/// Whose preference a pair is: the ranker's, or an operator's (pin or reorder).
fn preference(g: &ReviewedGroup, better: usize) -> &'static str {
    if better < g.placed {
        "review"
    } else {
        "ranker"
    }
}

#[derive(Serialize)]
struct TrlRow<'a> {
    prompt: &'a str,
    chosen: &'a str,
    rejected: &'a str,
    score_chosen: f64,
    score_rejected: f64,
    prompt_id: i64,
    chosen_id: i64,
    rejected_id: i64,
    chosen_model: &'a str,
    rejected_model: &'a str,
    /// `ranker`, or `review` when an operator's pin or reorder made the chosen one better.
    preference: &'static str,
    pinned_by: Option<&'a str>,
    reordered_by: Option<&'a str>,
}

/// One chat message (TRL's conversational format).
#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct TrlChatRow<'a> {
    prompt: Vec<Message<'a>>,
    chosen: [Message<'a>; 1],
    rejected: [Message<'a>; 1],
    score_chosen: f64,
    score_rejected: f64,
    prompt_id: i64,
    chosen_id: i64,
    rejected_id: i64,
    preference: &'static str,
}

/// One ShareGPT turn.
#[derive(Serialize)]
struct Turn<'a> {
    from: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct ShareGptRow<'a> {
    conversations: [Turn<'a>; 1],
    chosen: Turn<'a>,
    rejected: Turn<'a>,
    system: &'a str,
}

#[derive(Serialize)]
struct LlamaFactoryRow<'a> {
    instruction: &'a str,
    input: &'a str,
    chosen: &'a str,
    rejected: &'a str,
}

#[derive(Serialize)]
struct KtoRow<'a> {
    prompt: &'a str,
    completion: &'a str,
    label: bool,
    score: f64,
    outcome: Outcome,
    prompt_id: i64,
    response_id: i64,
    model: &'a str,
    pinned_by: Option<&'a str>,
    reordered_by: Option<&'a str>,
}

fn line(w: &mut impl Write, row: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, row)?;
    w.write_all(b"\n")
}

/// Write the rows of one format for the reviewed groups as JSON Lines; the number of rows.
/// Rows are serialised straight from borrowed fields, without building JSON values.
pub fn write_rows(
    groups: &[ReviewedGroup],
    opts: &ExportOptions,
    spec: PairSpec,
    ranker: &str,
    w: &mut impl Write,
) -> std::io::Result<u64> {
    let mut n = 0;
    for g in groups {
        let p = &g.group;
        let rs = &p.responses;
        let (pinned_by, reordered_by) = (g.pinned_by.as_deref(), g.reordered_by.as_deref());
        match opts.format {
            ExportFormat::Trl
            | ExportFormat::TrlChat
            | ExportFormat::LlamaFactory
            | ExportFormat::ShareGpt => {
                for (c, r) in pairs(g, spec) {
                    let (chosen, rejected) =
                        (text(p, &rs[c], opts.text), text(p, &rs[r], opts.text));
                    if opts.format == ExportFormat::TrlChat {
                        let mut prompt = Vec::with_capacity(2);
                        if let Some(system) = &opts.system {
                            prompt.push(Message {
                                role: "system",
                                content: system,
                            });
                        }
                        prompt.push(Message {
                            role: "user",
                            content: &p.prompt,
                        });
                        let assistant = |content| Message {
                            role: "assistant",
                            content,
                        };
                        line(
                            w,
                            &TrlChatRow {
                                prompt,
                                chosen: [assistant(chosen)],
                                rejected: [assistant(rejected)],
                                score_chosen: rs[c].scored.score,
                                score_rejected: rs[r].scored.score,
                                prompt_id: p.prompt_id,
                                chosen_id: rs[c].scored.response_id,
                                rejected_id: rs[r].scored.response_id,
                                preference: preference(g, c),
                            },
                        )?;
                    } else if opts.format == ExportFormat::ShareGpt {
                        line(
                            w,
                            &ShareGptRow {
                                conversations: [Turn {
                                    from: "human",
                                    value: &p.prompt,
                                }],
                                chosen: Turn {
                                    from: "gpt",
                                    value: chosen,
                                },
                                rejected: Turn {
                                    from: "gpt",
                                    value: rejected,
                                },
                                system: opts.system.as_deref().unwrap_or(""),
                            },
                        )?;
                    } else if opts.format == ExportFormat::Trl {
                        line(
                            w,
                            &TrlRow {
                                prompt: &p.prompt,
                                chosen,
                                rejected,
                                score_chosen: rs[c].scored.score,
                                score_rejected: rs[r].scored.score,
                                prompt_id: p.prompt_id,
                                chosen_id: rs[c].scored.response_id,
                                rejected_id: rs[r].scored.response_id,
                                chosen_model: &rs[c].model,
                                rejected_model: &rs[r].model,
                                preference: preference(g, c),
                                pinned_by,
                                reordered_by,
                            },
                        )?;
                    } else {
                        line(
                            w,
                            &LlamaFactoryRow {
                                instruction: &p.prompt,
                                input: "",
                                chosen,
                                rejected,
                            },
                        )?;
                    }
                    n += 1;
                }
            }
            ExportFormat::Kto => {
                for r in rs {
                    line(
                        w,
                        &KtoRow {
                            prompt: &p.prompt,
                            completion: text(p, r, opts.text),
                            label: r.scored.outcome == Outcome::Pass
                                || g.pinned == Some(r.scored.response_id),
                            score: r.scored.score,
                            outcome: r.scored.outcome,
                            prompt_id: p.prompt_id,
                            response_id: r.scored.response_id,
                            model: &r.model,
                            pinned_by,
                            reordered_by,
                        },
                    )?;
                    n += 1;
                }
            }
            ExportFormat::Rrtf => {
                let details: Vec<Value> = rs
                    .iter()
                    .zip(&g.tiers)
                    .map(|(r, tier)| {
                        json!({
                            "response_id": r.scored.response_id, "model": r.model, "role": r.role,
                            "temperature": r.temperature, "sample_index": r.sample_index,
                            "code": code(p, r), "finish_reason": r.finish_reason,
                            "outcome": r.scored.outcome, "tests_passed": r.scored.tests_passed,
                            "tests_total": r.scored.tests_total, "ranker_score": r.scored.score,
                            "tier": tier, "components": r.scored.components,
                            "pinned": g.pinned == Some(r.scored.response_id),
                        })
                    })
                    .collect();
                let pair_list: Vec<[usize; 2]> =
                    pairs(g, spec).into_iter().map(|(i, j)| [i, j]).collect();
                line(
                    w,
                    &json!({
                        "prompt_id": p.prompt_id, "source": p.source, "source_id": p.source_id,
                        "lineage": p.lineage, "round": p.round, "kind": p.kind,
                        "language": p.language, "prompt": p.prompt,
                        "responses": rs.iter().map(|r| text(p, r, opts.text)).collect::<Vec<_>>(),
                        "scores": rs.iter().map(|r| r.scored.score).collect::<Vec<_>>(),
                        "pairs": pair_list, "reviewed": g.reviewed, "pinned_by": pinned_by,
                        "reordered_by": reordered_by, "ranker": ranker, "details": details,
                    }),
                )?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The pairs to export: the options' strategy and gap, else the ranker config's
/// (`{"ranking": {"pairs", "min_gap", "heuristic_pairs"}}`; a config without them, as test
/// fixtures save, means every pair and no gap). Also `heuristic_pairs` as the ranker used it.
fn pair_spec(opts: &ExportOptions, config_json: &str) -> Result<(PairSpec, Value), DataError> {
    let config: Value = serde_json::from_str(config_json).unwrap_or(Value::Null);
    let ranking = &config["ranking"];
    let strategy = match (opts.pairs, ranking["pairs"].as_str()) {
        (Some(s), _) => s,
        (None, Some(name)) => name.parse().map_err(|e| {
            DataError::Option(format!(
                "the ranker's config names its pairs `{name}` ({e}): pass --pairs"
            ))
        })?,
        (None, None) => PairStrategy::All,
    };
    let min_gap = opts
        .min_gap
        .or_else(|| ranking["min_gap"].as_f64())
        .unwrap_or(0.0);
    if min_gap.is_nan() || min_gap < 0.0 {
        return Err(DataError::Option(format!(
            "--min-gap {min_gap}: must be a number >= 0"
        )));
    }
    let heuristic_pairs = ranking
        .get("heuristic_pairs")
        .cloned()
        .unwrap_or(Value::Bool(false));
    Ok((PairSpec { strategy, min_gap }, heuristic_pairs))
}

fn write_json(path: &Path, value: &Value) -> Result<FileEntry, DataError> {
    let err = |source| DataError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).expect("JSON values serialise"),
    )
    .map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    file_entry(path, 1)
}

fn file_entry(path: &Path, rows: u64) -> Result<FileEntry, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(FileEntry {
        path: path.to_owned(),
        sha256: sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        rows,
    })
}

/// A writer that hashes what it writes, so the manifest's SHA-256 needs no second read of
/// the output.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The hex SHA-256 and the length of everything written.
    fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The manifest's path for an output file: `data.jsonl` -> `data.manifest.json`.
pub fn manifest_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.manifest.json"))
}

/// Prompts per page read from the store; the next page is read while this one is written.
const PAGE: i64 = 5_000;

/// `rrtf export`.
pub async fn export(store: &Store, opts: &ExportOptions) -> Result<ExportReport, DataError> {
    if opts.rounds.as_ref().is_some_and(Vec::is_empty) {
        return Err(DataError::Option(
            "--rounds is empty: name at least one round, or leave it out for every round".into(),
        ));
    }
    let ranker = store.resolve_ranker(opts.ranker.as_deref()).await?;
    let (spec, heuristic_pairs) = pair_spec(opts, &ranker.config_json)?;
    let reviews = store.reviews().await?;
    if opts.system.is_some()
        && !matches!(opts.format, ExportFormat::TrlChat | ExportFormat::ShareGpt)
    {
        return Err(DataError::Option(format!(
            "--system is for the chat formats (trl-chat, sharegpt), not {}",
            opts.format.as_str()
        )));
    }
    if opts.format == ExportFormat::Kto && (opts.pairs.is_some() || opts.min_gap.is_some()) {
        return Err(DataError::Option(
            "--pairs and --min-gap choose pairs, and kto exports no pairs: one row per response, \
             labelled desirable when it passed (or was pinned); leave them out, or export trl"
                .into(),
        ));
    }
    if opts.layout == Layout::File
        && let Some(asked) = opts.data_format
        && let Some(ext) = opts.out.extension().and_then(|e| e.to_str())
        && let Some(named) = ["jsonl", "parquet"]
            .into_iter()
            .find(|f| ext.eq_ignore_ascii_case(f))
        && named != asked.as_str()
    {
        return Err(DataError::Option(format!(
            "--out {} with --data-format {}: the file would hold {} under a .{named} name; \
             name it .{} or leave --data-format out",
            opts.out.display(),
            asked.as_str(),
            if asked == DataFormat::Jsonl {
                "JSON Lines"
            } else {
                "Parquet"
            },
            asked.as_str()
        )));
    }
    if opts.layout == Layout::HfDataset && opts.out.exists() && !opts.out.is_dir() {
        return Err(DataError::Option(format!(
            "--out {}: a file, but --hf-dataset writes a dataset directory there; name a new or \
             existing directory",
            opts.out.display()
        )));
    }
    let data_path = data_path(opts);
    let err = |source| DataError::Write {
        path: data_path.clone(),
        source,
    };
    // A missing directory is made (`--out data/new/pairs.jsonl`, a dataset's `data/`).
    if let Some(dir) = data_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = data_path.with_extension("tmp");
    let file = HashingWriter::new(File::create(&tmp).map_err(err)?);
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let (mut prompts, mut n_rows) = (0usize, 0u64);
    let mut summary = ReviewSummary::default();
    let mut reviewed: Vec<Value> = Vec::new();
    let fetch = |after: i64| {
        let (store, hash) = (store.clone(), ranker.hash.clone());
        tokio::spawn(async move { store.ranked_groups_page(&hash, after, PAGE).await })
    };
    let mut next = fetch(0);
    loop {
        let mut page = next.await.expect("the page reader does not panic")?;
        let Some(last) = page.last() else { break };
        next = fetch(last.prompt_id);
        if let Some(rounds) = &opts.rounds {
            page.retain(|g| rounds.contains(&g.round));
        }
        let (groups, s) = apply_reviews(page, &reviews);
        summary.add(s);
        prompts += groups.len();
        reviewed.extend(groups.iter().filter(|g| g.placed > 0).map(|g| {
            json!({
                "prompt_id": g.group.prompt_id, "pinned": g.pinned, "pinned_by": g.pinned_by,
                "reordered_by": g.reordered_by,
            })
        }));
        n_rows += write_rows(&groups, opts, spec, &ranker.hash, &mut w).map_err(err)?;
    }
    let file = w.into_inner().map_err(|e| err(e.into_error()))?;
    file.inner.sync_all().map_err(err)?;
    let (sha256, bytes) = file.finish();
    let mut files = match DataFormat::of(opts) {
        DataFormat::Jsonl => {
            std::fs::rename(&tmp, &data_path).map_err(err)?;
            vec![FileEntry {
                path: data_path.clone(),
                sha256,
                bytes,
                rows: n_rows,
            }]
        }
        DataFormat::Parquet => {
            let pq_tmp = data_path.with_extension("parquet.tmp");
            let converted = crate::parquet_file::jsonl_to_parquet(&tmp, &pq_tmp);
            let _ = std::fs::remove_file(&tmp);
            // An error names the file asked for, not the temporary one.
            let rows = converted.map_err(|e| match e {
                DataError::Format { path, message } if path == pq_tmp => DataError::Format {
                    path: data_path.clone(),
                    message,
                },
                DataError::Write { path, source } if path == pq_tmp => DataError::Write {
                    path: data_path.clone(),
                    source,
                },
                e => e,
            })?;
            if rows != n_rows {
                return Err(DataError::Format {
                    path: data_path,
                    message: format!("{rows} rows reached the Parquet file of {n_rows} written"),
                });
            }
            std::fs::rename(&pq_tmp, &data_path).map_err(err)?;
            vec![file_entry(&data_path, n_rows)?]
        }
    };
    if matches!(
        opts.format,
        ExportFormat::LlamaFactory | ExportFormat::ShareGpt
    ) {
        files.push(write_dataset_info(opts, &data_path)?);
    }
    let manifest = match opts.layout {
        Layout::File => manifest_path(&opts.out),
        Layout::HfDataset => opts.out.join("rrtf-manifest.json"),
    };
    let with_pairs = opts.format != ExportFormat::Kto;
    if opts.layout == Layout::HfDataset {
        let card = opts.out.join("README.md");
        let text = dataset_card(
            opts,
            &ranker.hash,
            prompts,
            n_rows,
            spec,
            with_pairs,
            &summary,
        );
        std::fs::write(&card, text).map_err(|source| DataError::Write {
            path: card.clone(),
            source,
        })?;
        files.push(file_entry(&card, 0)?);
    }
    let pair_strategy = with_pairs.then(|| spec.strategy.as_str());
    let report = ExportReport {
        format: opts.format.as_str(),
        ranker: ranker.hash.clone(),
        prompts,
        rows: n_rows,
        pair_strategy,
        min_gap: with_pairs.then_some(spec.min_gap),
        reviews: summary,
        files,
        manifest: manifest.clone(),
    };
    let ranker_config: Value =
        serde_json::from_str(&ranker.config_json).unwrap_or(Value::String(ranker.config_json));
    write_json(
        &manifest,
        &json!({
            "rrtf_version": env!("CARGO_PKG_VERSION"),
            "format": report.format,
            "ranker_config_hash": report.ranker,
            "ranker_config": ranker_config,
            "pair_strategy": pair_strategy,
            "min_gap": report.min_gap,
            "pairs_from": {
                "strategy": if opts.pairs.is_some() { "options" } else { "ranker config" },
                "min_gap": if opts.min_gap.is_some() { "options" } else { "ranker config" },
            },
            "heuristic_pairs": heuristic_pairs,
            "rounds": opts.rounds,
            "text": match opts.text { TextField::Raw => "raw", TextField::Code => "code" },
            "data_format": DataFormat::of(opts).as_str(),
            "prompts": report.prompts,
            "rows": report.rows,
            "reviews": summary,
            "reviewed_prompts": reviewed,
            "files": report.files,
        }),
    )?;
    Ok(report)
}

/// Where the rows go: `--out` itself, or a dataset directory's data file.
fn data_path(opts: &ExportOptions) -> PathBuf {
    match opts.layout {
        Layout::File => opts.out.clone(),
        Layout::HfDataset => opts.out.join(hf_data_file(opts)),
    }
}

/// A dataset directory's data file, relative to it.
fn hf_data_file(opts: &ExportOptions) -> &'static str {
    match DataFormat::of(opts) {
        DataFormat::Jsonl => HF_DATA_FILE,
        DataFormat::Parquet => HF_PARQUET_FILE,
    }
}

/// The dataset's name: `--name`, else the output's stem (a directory's name).
fn dataset_name(opts: &ExportOptions) -> String {
    opts.name.clone().unwrap_or_else(|| {
        opts.out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rrtf-export".into())
    })
}

/// A Hugging Face dataset card: YAML metadata (licence, the data files as the `train` split),
/// then what the data is and how it was selected.
fn dataset_card(
    opts: &ExportOptions,
    ranker: &str,
    prompts: usize,
    rows: u64,
    spec: PairSpec,
    with_pairs: bool,
    reviews: &ReviewSummary,
) -> String {
    let license = opts.license.as_deref().unwrap_or("other");
    let name = dataset_name(opts);
    let pairs = if with_pairs {
        format!("{}, min gap {}", spec.strategy.as_str(), spec.min_gap)
    } else {
        "none (one row per response)".into()
    };
    let rounds = match &opts.rounds {
        Some(r) => r.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
        None => "all".into(),
    };
    format!(
        "---\nlicense: {license}\npretty_name: {name}\ntags:\n- rrtf\n- code\n- preference\n\
         configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.{ext}\n\
         ---\n\n# {name}\n\nRanked code responses exported by rrtf {version} in the `{format}` \
         format: responses executed against unit tests in a sandbox and ranked by outcome, with \
         operators' reviews applied.\n\n| | |\n|---|---|\n| ranker config hash | `{ranker}` |\n\
         | prompts | {prompts} |\n| rows | {rows} |\n| pairs | {pairs} |\n| rounds | {rounds} |\n\
         | text | {text} |\n| system message | {system} |\n| reviews applied | {pinned} pinned, \
         {reordered} reordered, {pe} prompts and {re} responses excluded |\n| licence | {license} |\n\n\
         `rrtf-manifest.json` lists the files with their SHA-256 and the ranker's whole config.\n",
        version = env!("CARGO_PKG_VERSION"),
        ext = DataFormat::of(opts).as_str(),
        format = opts.format.as_str(),
        text = match opts.text {
            TextField::Raw => "the raw response",
            TextField::Code => "the extracted code",
        },
        system = opts.system.as_deref().map_or("none".into(), |s| format!(
            "`{}`",
            s.replace('|', "\\|").replace('\n', " ")
        )),
        pinned = reviews.pinned,
        reordered = reviews.reordered,
        pe = reviews.prompts_excluded,
        re = reviews.responses_excluded,
    )
}

/// Add (or replace) this dataset's entry in `dataset_info.json` beside the output (in a
/// dataset directory: at its top, naming the data file under `data/`).
fn write_dataset_info(opts: &ExportOptions, data: &Path) -> Result<FileEntry, DataError> {
    let dir = match opts.layout {
        Layout::File => opts
            .out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
        Layout::HfDataset => opts.out.as_path(),
    };
    let path = dir.join("dataset_info.json");
    let mut info: Value = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| DataError::Format {
            path: path.clone(),
            message: format!(
                "existing dataset_info.json is not valid JSON ({e}): fix or remove it"
            ),
        })?,
        Err(_) => json!({}),
    };
    let file_name = match opts.layout {
        Layout::File => data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Layout::HfDataset => hf_data_file(opts).to_owned(),
    };
    let name = dataset_name(opts);
    let Some(obj) = info.as_object_mut() else {
        return Err(DataError::Format {
            path,
            message: "existing dataset_info.json is not a JSON object: fix or remove it".into(),
        });
    };
    let entry = match opts.format {
        ExportFormat::ShareGpt => json!({
            "file_name": file_name,
            "formatting": "sharegpt",
            "ranking": true,
            "columns": { "messages": "conversations", "chosen": "chosen", "rejected": "rejected", "system": "system" },
        }),
        _ => json!({
            "file_name": file_name,
            "ranking": true,
            "columns": { "prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected" },
        }),
    };
    obj.insert(name, entry);
    write_json(&path, &info)
}
