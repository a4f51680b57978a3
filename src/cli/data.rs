//! `rrtf init`, `rrtf import`, `rrtf export` (`rrtf status` is `status.rs`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use rrtf_data::FieldMap;
use rrtf_data::export::{ExportFormat, ExportOptions, TextField, export};
use rrtf_data::import::{
    PROMPT_ROLES, PromptFormat, PromptImport, RESPONSE_ROLES, ResponseImport, import_prompts,
    import_responses,
};
use rrtf_data::pairs::PairStrategy;
use rrtf_report::text;
use rrtf_store::{ModelRole, Store};
use serde_json::json;

use super::{Ctx, progress_bar};

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Import prompts (with or without unit tests) from JSONL/JSON (.gz too).
    ///
    /// Shapes: instruction rows (instruction/input/output, as Code Alpaca), HumanEval rows
    /// (task_id/prompt/canonical_solution/test/entry_point; responses continue the prompt),
    /// MBPP rows (task_id/text/code/test_list). Other shapes through --map.
    Prompts(ImportPrompts),
    /// Attach responses you already collected to imported prompts.
    ///
    /// Rows are matched by `task_id` (or `prompt` text); the text is `completion` or `response`.
    Responses(ImportResponses),
}

#[derive(Debug, Args)]
pub struct ImportPrompts {
    pub file: PathBuf,
    /// Row shape: auto, instruction, humaneval or mbpp.
    #[arg(long, default_value = "auto")]
    pub format: PromptFormat,
    /// Field for a role, as ROLE=FIELD (roles: id, prompt, input, reference, tests, entry_point,
    /// setup). Repeatable.
    #[arg(long = "map", value_name = "ROLE=FIELD")]
    pub map: Vec<String>,
    /// Dataset name recorded as each prompt's source (default: the file name's stem).
    #[arg(long)]
    pub source: Option<String>,
    /// Round the prompts belong to (0 = seed data).
    #[arg(long, default_value_t = 0, value_parser = super::parse_round)]
    pub round: i64,
    /// Programming language of the rows that do not name theirs (python, javascript, cpp, java,
    /// go, rust; default python). A row names its own with a `language` field or a HumanEval-X
    /// task id (`CPP/0`), so HumanEval-X files need no flag.
    #[arg(long, value_parser = parse_language)]
    pub language: Option<rrtf_exec::Language>,
    /// Import the valid rows and report the invalid ones instead of aborting.
    #[arg(long)]
    pub skip_invalid: bool,
    /// A benchmark file to check the prompts against (repeatable), besides those decontamination
    /// already ran against in this project: overlapping prompts are marked, with a warning.
    #[arg(long = "benchmark", value_name = "FILE")]
    pub benchmarks: Vec<PathBuf>,
    /// Exit with code 1 when nothing was imported (the reason is printed either way).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct ImportResponses {
    pub file: PathBuf,
    /// Name of the model that wrote the responses (registered if new).
    #[arg(long)]
    pub model: String,
    /// The model's role: teacher or student.
    #[arg(long)]
    pub role: ModelRole,
    /// Where the model is served (recorded for provenance).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Match only prompts of this source (when task ids repeat across datasets).
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long, default_value_t = 0, value_parser = super::parse_round)]
    pub round: i64,
    /// Field for a role, as ROLE=FIELD (roles: id, prompt, text, code, temperature,
    /// sample_index, finish_reason). Repeatable.
    #[arg(long = "map", value_name = "ROLE=FIELD")]
    pub map: Vec<String>,
    #[arg(long)]
    pub skip_invalid: bool,
    /// How answers to completion-style prompts (HumanEval) relate to them: `chat` (prose and
    /// fenced code, or a whole function: the code is extracted), `completion` (a continuation,
    /// run after the prompt), or `auto` (fenced code or the prompt's function restated means
    /// chat). A row's `code` field, when present, is the code itself.
    #[arg(long, default_value = "auto")]
    pub kind: rrtf_exec::answer::AnswerKind,
    /// Exit with code 1 when nothing was imported (the reason is printed either way).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// trl, trl-chat (TRL's conversational format), llama-factory, sharegpt (LLaMA-Factory's
    /// ShareGPT preference format), kto or rrtf.
    #[arg(long)]
    pub format: ExportFormat,
    /// Output file (JSON Lines; Parquet when it ends in .parquet); a manifest is written
    /// beside it. With --hf-dataset: the dataset's directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Write a Hugging Face dataset directory at --out: data/train-00000-of-00001.parquet
    /// (.jsonl with --data-format jsonl), a README.md dataset card and rrtf-manifest.json
    /// (`datasets.load_dataset(DIR)` reads it).
    #[arg(long)]
    pub hf_dataset: bool,
    /// The data file's format: jsonl or parquet (default: parquet with --hf-dataset or an --out
    /// ending in .parquet, else jsonl). The rows are the same.
    #[arg(long)]
    pub data_format: Option<rrtf_data::export::DataFormat>,
    /// A system message for the chat formats (trl-chat, sharegpt).
    #[arg(long)]
    pub system: Option<String>,
    /// The dataset card's licence (with --hf-dataset), e.g. apache-2.0; default `other`.
    #[arg(long, requires = "hf_dataset")]
    pub license: Option<String>,
    /// Pairs for trl, llama-factory and rrtf's `pairs` field: best-vs-worst, best-vs-each, all,
    /// teacher-vs-student (default: the ranker config's `ranking.pairs`).
    #[arg(long)]
    pub pairs: Option<PairStrategy>,
    /// Smallest score gap of a pair the ranker decided (default: the ranker config's
    /// `ranking.min_gap`); pairs an operator decided by a pin or reorder are always kept.
    #[arg(long, allow_negative_numbers = true)]
    pub min_gap: Option<f64>,
    /// Export the raw response text or only the extracted code.
    #[arg(long, default_value = "raw", value_parser = ["raw", "code"])]
    pub text: String,
    /// Ranker config hash (or unique prefix); default: the latest ranking.
    #[arg(long)]
    pub ranker: Option<String>,
    /// Only prompts of these rounds, comma-separated (e.g. `--rounds 0,1`); default: all.
    #[arg(long, value_delimiter = ',', value_parser = super::parse_round)]
    pub rounds: Option<Vec<i64>>,
    /// Dataset name in LLaMA-Factory's dataset_info.json (default: the output's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Exit with code 1 when no row was written (the reason is printed either way).
    #[arg(long)]
    pub strict: bool,
}

/// Say why nothing was imported or exported (stderr, and `nothing` in `json`); with
/// `--strict`, that is the command's failure instead (exit code 1, the reason its message).
fn nothing(
    why: Option<String>,
    strict: bool,
    json: &mut serde_json::Value,
    expected: bool,
) -> Result<()> {
    let Some(why) = why else {
        return Ok(());
    };
    json["nothing"] = json!(why);
    if strict {
        anyhow::bail!("{why} (--strict)");
    }
    if !expected {
        eprintln!("warning: {why}");
    }
    Ok(())
}

pub async fn init(ctx: &Ctx) -> Result<()> {
    let store = Store::create(&ctx.db).await?;
    let existed = !store.was_created();
    let version = store.schema_version().await?;
    store.close().await;
    ctx.emit(
        || {
            format!(
                "{} {} (schema version {version})",
                if existed {
                    "opened and migrated"
                } else {
                    "created"
                },
                ctx.db_display()
            )
        },
        || json!({ "db": ctx.db_display(), "created": !existed, "schema_version": version }),
    );
    Ok(())
}

fn parse_language(s: &str) -> std::result::Result<rrtf_exec::Language, String> {
    rrtf_exec::Language::parse(s).map_err(|e| e.to_string())
}

pub async fn import(ctx: &Ctx, cmd: ImportCmd) -> Result<()> {
    let store = ctx.store().await?;
    match cmd {
        ImportCmd::Prompts(a) => {
            let opts = PromptImport {
                format: a.format,
                map: FieldMap::parse(&a.map, PROMPT_ROLES)?,
                source: a.source,
                round: a.round,
                language: a.language,
                skip_invalid: a.skip_invalid,
            };
            let bar = progress_bar(0, "importing prompts");
            let report = import_prompts(&store, &a.file, &opts, &|n| bar.inc(n)).await?;
            super::progress_done(&bar);
            let overlap = rrtf_pipeline::decontaminate::mark_import(
                &store,
                &a.file,
                &report.source,
                &a.benchmarks,
            )
            .await?;
            store.close().await;
            if let Some(w) = overlap["warning"].as_str() {
                eprintln!("warning: {w}");
            }
            if let Some(w) = text::id_conflicts(&report) {
                eprintln!("warning: {}", super::term::clean(&w));
            }
            let mut json = serde_json::to_value(&report).expect("report serialises");
            json["benchmark_overlap"] = overlap;
            // Tests added to stored prompts are something imported.
            let why = (report.inserted.tests.inserted == 0)
                .then(|| {
                    text::nothing_imported(
                        &report.file,
                        report.rows,
                        report.inserted.prompts.inserted,
                        report.inserted.prompts.existing,
                        &report.skipped,
                        "prompts",
                    )
                })
                .flatten();
            // A quickstart run again imports its problems again: every row already stored is
            // what it expects, not worth a warning (`--json` still says it under `nothing`).
            let resumed = rrtf_pipeline::stop::is_stage_of_a_parent()
                && report.rows > 0
                && report.inserted.prompts.existing == report.rows as u64
                && report.skipped.rows == 0;
            nothing(why, a.strict, &mut json, resumed)?;
            ctx.emit(|| text::prompts_imported(&report), || json.clone());
        }
        ImportCmd::Responses(a) => {
            let opts = ResponseImport {
                model: a.model,
                role: a.role,
                endpoint: a.endpoint,
                source: a.source,
                round: a.round,
                map: FieldMap::parse(&a.map, RESPONSE_ROLES)?,
                skip_invalid: a.skip_invalid,
                kind: a.kind,
            };
            let bar = progress_bar(0, "importing responses");
            let report = import_responses(&store, &a.file, &opts, &|n| bar.inc(n)).await?;
            super::progress_done(&bar);
            store.close().await;
            let mut json = serde_json::to_value(&report).expect("report serialises");
            let why = text::nothing_imported(
                &report.file,
                report.rows,
                report.inserted.inserted,
                report.inserted.existing,
                &report.skipped,
                "responses",
            );
            nothing(why, a.strict, &mut json, false)?;
            ctx.emit(|| text::responses_imported(&report), || json.clone());
        }
    }
    Ok(())
}

pub async fn export_cmd(ctx: &Ctx, a: ExportArgs) -> Result<()> {
    let store = ctx.store().await?;
    let opts = ExportOptions {
        format: a.format,
        out: a.out,
        pairs: a.pairs,
        min_gap: a.min_gap,
        text: if a.text == "code" {
            TextField::Code
        } else {
            TextField::Raw
        },
        ranker: a.ranker,
        rounds: a.rounds,
        name: a.name,
        layout: if a.hf_dataset {
            rrtf_data::export::Layout::HfDataset
        } else {
            rrtf_data::export::Layout::File
        },
        system: a.system,
        license: a.license,
        data_format: a.data_format,
    };
    let report = export(&store, &opts).await?;
    store.close().await;
    let mut json = serde_json::to_value(&report).expect("report serialises");
    let why = text::nothing_exported(
        report.rows,
        report.prompts,
        &report.ranker,
        report.pair_strategy,
        report.min_gap,
    );
    nothing(why, a.strict, &mut json, false)?;
    ctx.emit(
        || {
            format!(
                "wrote {} {} rows from {} prompts (ranker {}) to {}; manifest {}",
                report.rows,
                report.format,
                report.prompts,
                &report.ranker[..report.ranker.len().min(12)],
                opts.out.display(),
                report.manifest.display()
            )
        },
        || json.clone(),
    );
    Ok(())
}
