//! `rrtf import prompts` and `rrtf import responses`.
//!
//! Rows are parsed and validated first; the valid ones are written in one transaction. Without
//! `skip_invalid` the first invalid row aborts the import before anything is written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rrtf_exec::Language;
use rrtf_exec::answer::{AnswerKind, stored_code};
use rrtf_store::{
    InsertReport, ModelRole, NewPrompt, NewResponse, NewTest, PromptInsertReport, PromptKey,
    PromptKind, Store, TestOrigin, content_hash, sha256_hex,
};
use serde::Serialize;

use crate::fields::{MapSeen, Row};
use crate::read::dataset_stem;
use crate::{DataError, FieldMap, RowError, for_each_row, read_rows};

/// The row shapes `rrtf import prompts` understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptFormat {
    /// Decide from the first row's fields.
    Auto,
    /// `instruction` / `input` / `output` (Code Alpaca, Evol-Instruct).
    Instruction,
    /// `task_id` / `prompt` / `canonical_solution` / `test` / `entry_point`; responses continue
    /// the prompt.
    HumanEval,
    /// `task_id` / `text` / `code` / `test_list` (+ `test_setup_code`).
    Mbpp,
}

impl std::str::FromStr for PromptFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(PromptFormat::Auto),
            "instruction" | "alpaca" => Ok(PromptFormat::Instruction),
            "humaneval" => Ok(PromptFormat::HumanEval),
            "mbpp" => Ok(PromptFormat::Mbpp),
            _ => Err(format!(
                "unknown format `{s}`: expected auto, instruction, humaneval or mbpp"
            )),
        }
    }
}

/// Roles a `--map` may name for prompt files.
pub const PROMPT_ROLES: &[&str] = &[
    "id",
    "prompt",
    "input",
    "reference",
    "tests",
    "entry_point",
    "setup",
    "language",
];
/// Roles a `--map` may name for response files.
pub const RESPONSE_ROLES: &[&str] = &[
    "id",
    "prompt",
    "text",
    "code",
    "temperature",
    "sample_index",
    "finish_reason",
];

#[derive(Clone, Debug)]
pub struct PromptImport {
    pub format: PromptFormat,
    pub map: FieldMap,
    /// Dataset name stored as each prompt's source; defaults to the file's stem.
    pub source: Option<String>,
    pub round: i64,
    /// The language of rows that do not name theirs (`--language`; Python when `None`). A row
    /// names its language with a `language` field or, in HumanEval's shape, a HumanEval-X task
    /// id (`CPP/0`); a row whose language differs from a given `--language` is an error.
    pub language: Option<Language>,
    pub skip_invalid: bool,
}

/// Rows skipped with `--skip-invalid`, grouped by reason.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Skipped {
    pub rows: usize,
    /// reason -> how many rows, and where the first few are
    pub reasons: BTreeMap<String, SkipReason>,
}

/// The rows skipped for one reason (`--json`: `{"count": 2, "locations": ["line 4", ...]}`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SkipReason {
    pub count: usize,
    /// The first five rows' locations (`line 4`, `row 3`).
    pub locations: Vec<String>,
}

impl Skipped {
    fn add(&mut self, e: &RowError) {
        self.rows += 1;
        let entry = self.reasons.entry(e.reason()).or_default();
        entry.count += 1;
        if entry.locations.len() < 5 {
            entry.locations.push(e.location.to_string());
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PromptImportReport {
    pub file: PathBuf,
    pub source: String,
    pub format: &'static str,
    pub rows: usize,
    #[serde(flatten)]
    pub inserted: PromptInsertReport,
    pub skipped: Skipped,
    /// Rows whose id was already taken by a prompt of other text (stored before, or an earlier
    /// row of the file): not imported, since a prompt's `(source, id)` is its key.
    pub conflicts: Vec<IdConflict>,
}

/// A row of an import whose id a prompt of other text holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdConflict {
    pub source: String,
    pub id: String,
    /// The stored prompt's text, its first line.
    pub stored: String,
    /// The row's text, its first line.
    pub row: String,
}

/// The field names one format reads, by role.
struct Shape {
    name: &'static str,
    kind: PromptKind,
    id: Option<&'static str>,
    prompt: &'static str,
    input: Option<&'static str>,
    reference: Option<&'static str>,
    tests: Option<&'static str>,
    entry_point: Option<&'static str>,
    setup: Option<&'static str>,
}

const INSTRUCTION: Shape = Shape {
    name: "instruction",
    kind: PromptKind::Instruction,
    id: Some("id"),
    prompt: "instruction",
    input: Some("input"),
    reference: Some("output"),
    tests: Some("tests"),
    entry_point: Some("entry_point"),
    setup: None,
};
const HUMANEVAL: Shape = Shape {
    name: "humaneval",
    kind: PromptKind::Completion,
    id: Some("task_id"),
    prompt: "prompt",
    input: None,
    reference: Some("canonical_solution"),
    tests: Some("test"),
    entry_point: Some("entry_point"),
    setup: None,
};
const MBPP: Shape = Shape {
    name: "mbpp",
    kind: PromptKind::Instruction,
    id: Some("task_id"),
    prompt: "text",
    input: None,
    reference: Some("code"),
    tests: Some("test_list"),
    entry_point: None,
    setup: Some("test_setup_code"),
};

fn detect(row: &Row) -> Option<PromptFormat> {
    if row.has("task_id") && row.has("prompt") && (row.has("test") || row.has("entry_point")) {
        Some(PromptFormat::HumanEval)
    } else if row.has("text") && row.has("test_list") {
        Some(PromptFormat::Mbpp)
    } else if row.has("instruction") {
        Some(PromptFormat::Instruction)
    } else {
        None
    }
}

/// Build a prompt from one row. `map` overrides the shape's field names.
fn prompt_from_row(
    row: &Row,
    shape: &Shape,
    map: &FieldMap,
    opts: &PromptImport,
    source: &str,
) -> Result<NewPrompt, RowError> {
    let field = |role: &str, default: Option<&'static str>| map.get(role).or(default);
    let prompt_field = field("prompt", Some(shape.prompt)).expect("shapes name a prompt field");
    let mut text = row.str_req(prompt_field)?.to_owned();
    if text.trim().is_empty() {
        return Err(RowError::field(row.loc, prompt_field, "empty prompt"));
    }
    if let Some(f) = field("input", shape.input)
        && let Some(input) = row.str_opt(f)?
        && !input.trim().is_empty()
    {
        text = format!("{}\n\n{}", text.trim_end(), input);
    }
    let setup = match field("setup", shape.setup) {
        Some(f) => row.str_opt(f)?.filter(|s| !s.trim().is_empty()),
        None => None,
    };
    let tests = match field("tests", shape.tests) {
        Some(f) => row.text_or_list_opt(f)?.filter(|t| !t.trim().is_empty()),
        None => None,
    };
    if shape.name == "mbpp"
        && let Some(t) = &tests
    {
        // The MBPP prompt of Austin et al. (2021): the tests name the function to write.
        text = format!(
            "{}\nYour code should pass these tests:\n\n{}\n",
            text.trim_end(),
            t
        );
    }
    let entry_point = match field("entry_point", shape.entry_point) {
        Some(f) => row.str_opt(f)?.map(str::to_owned),
        None => None,
    };
    let reference = match field("reference", shape.reference) {
        Some(f) => row.str_opt(f)?.map(str::to_owned),
        None => None,
    };
    let entry_point = match (entry_point, &reference, &tests) {
        (None, Some(code), Some(t)) if shape.name == "mbpp" => mbpp_entry_point(code, t),
        (e, _, _) => e,
    };
    let source_id = match field("id", shape.id) {
        Some(f) => match row.id_opt(f)? {
            Some(id) => id,
            None if map.get("id").is_some() || shape.name != "instruction" => {
                return Err(RowError::field(row.loc, f, "missing"));
            }
            // Instruction rows often have no id: the content identifies them.
            None => content_hash(&text)[..16].to_owned(),
        },
        None => content_hash(&text)[..16].to_owned(),
    };
    let language = row_language(row, shape, field("language", Some("language")), &source_id)?;
    let language = match (language, opts.language) {
        (Some(own), Some(given)) if own != given => {
            return Err(RowError::row(
                row.loc,
                format!(
                    "the row is in {own} but --language says {given}: leave --language out (each \
                     row's own language is used) or import the {own} rows separately"
                ),
            ));
        }
        (own, given) => own.or(given).unwrap_or(Language::Python),
    }
    .name()
    .to_owned();
    let tests = tests
        .map(|code| NewTest {
            language: language.clone(),
            origin: TestOrigin::Imported,
            code: match &setup {
                Some(s) => format!("{s}\n{code}\n"),
                None => code,
            },
            entry_point: entry_point.clone(),
        })
        .into_iter()
        .collect();
    Ok(NewPrompt {
        round: opts.round,
        source: source.to_owned(),
        source_id,
        kind: shape.kind,
        text,
        language,
        entry_point,
        reference,
        parent_id: None,
        evolution_method: None,
        tests,
    })
}

/// The entry point of an MBPP row, which names none: the one top-level function of its
/// reference solution that its tests call (`def pow(a, b)` with `assert pow(2, 3) == 8`); none
/// when no function or more than one qualifies. Without it the judge takes the test's only
/// name that nothing defines, which misses a function named like a builtin.
pub fn mbpp_entry_point(reference: &str, tests: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in reference.lines() {
        let Some(rest) = line.strip_prefix("def ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !calls(tests, &name) || found.as_deref() == Some(&name) {
            continue;
        }
        if found.replace(name).is_some() {
            return None;
        }
    }
    found
}

/// Whether Python text `text` calls `name` as a plain name (`name(`, `name (`), not a method
/// or a longer name ending in it.
fn calls(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    text.match_indices(name).any(|(i, _)| {
        text[..i].chars().next_back().is_none_or(|c| !ident(c))
            && text[i + name.len()..].trim_start().starts_with('(')
    })
}

/// The language a row names: its `language` field (any name [`Language::parse`] knows; another
/// is an error naming the field), else, in HumanEval's shape, its HumanEval-X task id's prefix
/// (`CPP/0`, `JavaScript/3`; `HumanEval/0` or an unknown prefix names none).
fn row_language(
    row: &Row,
    shape: &Shape,
    field: Option<&str>,
    source_id: &str,
) -> Result<Option<Language>, RowError> {
    if let Some(f) = field
        && let Some(name) = row.str_opt(f)?
    {
        return Language::parse(name)
            .map(Some)
            .map_err(|e| RowError::field(row.loc, f, e.to_string()));
    }
    if shape.name != HUMANEVAL.name {
        return Ok(None);
    }
    Ok(match source_id.split_once('/') {
        Some((prefix, _)) if !prefix.eq_ignore_ascii_case("humaneval") => {
            Language::parse(prefix).ok()
        }
        _ => None,
    })
}

/// What parsing a prompt file found besides its prompts.
#[derive(Clone, Debug)]
pub struct ParseSummary {
    pub skipped: Skipped,
    pub format: &'static str,
    pub rows: usize,
}

/// Parse and validate every row of a prompt file, handing each prompt to `emit` as soon as it
/// is read (`emit` returns false to stop). The first invalid row is an error unless
/// `opts.skip_invalid`.
pub fn parse_prompts_with(
    path: &Path,
    opts: &PromptImport,
    emit: &mut dyn FnMut(NewPrompt) -> bool,
) -> Result<ParseSummary, DataError> {
    let source = opts.source.clone().unwrap_or_else(|| dataset_stem(path));
    let mut format = opts.format;
    let mut skipped = Skipped::default();
    let mut n_rows = 0;
    let mut failure = None;
    let mut mapped = MapSeen::new(&opts.map);
    for_each_row(path, &mut |(loc, value)| {
        n_rows += 1;
        let result = value.and_then(|v| {
            let row = Row::new(loc, &v)?;
            mapped.row(&row);
            if format == PromptFormat::Auto {
                format = match detect(&row) {
                    Some(f) => f,
                    None if opts.map.get("prompt").is_some() => PromptFormat::Instruction,
                    None => {
                        return Err(RowError::row(
                            loc,
                            format!(
                                "cannot tell the dataset format from the fields [{}]: pass \
                                 --format instruction|humaneval|mbpp or --map prompt=FIELD",
                                row.field_names()
                            ),
                        ));
                    }
                };
            }
            prompt_from_row(&row, shape(format), &opts.map, opts, &source)
        });
        match result {
            Ok(p) => emit(p),
            Err(e) if opts.skip_invalid => {
                skipped.add(&e);
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    if let Some(error) = failure {
        return Err(mapped.explain(path, &error).unwrap_or(DataError::Row {
            path: path.to_owned(),
            error,
        }));
    }
    mapped.check(path)?;
    Ok(ParseSummary {
        skipped,
        format: shape(format).name,
        rows: n_rows,
    })
}

fn shape(format: PromptFormat) -> &'static Shape {
    match format {
        PromptFormat::HumanEval => &HUMANEVAL,
        PromptFormat::Mbpp => &MBPP,
        _ => &INSTRUCTION,
    }
}

/// Parse and validate every row of a prompt file into memory.
pub fn parse_prompts(
    path: &Path,
    opts: &PromptImport,
) -> Result<(Vec<NewPrompt>, ParseSummary), DataError> {
    let mut prompts = Vec::new();
    let summary = parse_prompts_with(path, opts, &mut |p| {
        prompts.push(p);
        true
    })?;
    Ok((prompts, summary))
}

/// Prompts per batch handed from the parser thread to the writer.
const BATCH: usize = 2_000;

/// `rrtf import prompts`: parse on a blocking thread while batches are written in one
/// transaction; any error (a bad row, a failed write) rolls the whole import back.
pub async fn import_prompts(
    store: &Store,
    path: &Path,
    opts: &PromptImport,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PromptImportReport, DataError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<NewPrompt>>(4);
    let parser = {
        let (path, opts) = (path.to_owned(), opts.clone());
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let summary = parse_prompts_with(&path, &opts, &mut |p| {
                batch.push(p);
                batch.len() < BATCH || tx.blocking_send(std::mem::take(&mut batch)).is_ok()
            })?;
            if !batch.is_empty() {
                // A closed channel means the writer failed; its error is the one reported.
                let _ = tx.blocking_send(batch);
            }
            Ok::<_, DataError>(summary)
        })
    };
    let mut writer = store.prompt_writer().await?;
    while let Some(batch) = rx.recv().await {
        writer.write(&batch).await?;
        progress(batch.len() as u64);
    }
    let summary = parser.await.expect("the parser thread does not panic")?;
    let inserted = writer.commit().await?;
    // Rows counted as present whose text differs from the stored prompt's: a second parse,
    // only when some row met a stored key.
    let conflicts = if inserted.prompts.existing > 0 {
        id_conflicts(store, path, opts).await?
    } else {
        Vec::new()
    };
    Ok(PromptImportReport {
        file: path.to_owned(),
        source: opts.source.clone().unwrap_or_else(|| dataset_stem(path)),
        format: summary.format,
        rows: summary.rows,
        inserted,
        skipped: summary.skipped,
        conflicts,
    })
}

/// The rows of `path` whose `(source, id)` a stored prompt of other text holds (texts compared
/// as the store keys them: [`rrtf_store::content_hash`], whitespace runs as one space).
async fn id_conflicts(
    store: &Store,
    path: &Path,
    opts: &PromptImport,
) -> Result<Vec<IdConflict>, DataError> {
    let (rows, _) = {
        let (path, opts) = (path.to_owned(), opts.clone());
        tokio::task::spawn_blocking(move || parse_prompts(&path, &opts))
            .await
            .expect("the parser thread does not panic")?
    };
    let stored: std::collections::HashMap<(String, String), (i64, String)> = store
        .prompt_keys()
        .await?
        .into_iter()
        .map(|k| ((k.source, k.source_id), (k.id, k.content_hash)))
        .collect();
    let mut conflicts = Vec::new();
    let mut texts: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    for p in rows {
        let key = (p.source.clone(), p.source_id.clone());
        let Some((id, hash)) = stored.get(&key) else {
            continue;
        };
        if *hash == rrtf_store::content_hash(&p.text) {
            continue;
        }
        // The stored text of the first few (a file re-imported with every text changed would
        // otherwise read the whole table back one prompt at a time).
        if !texts.contains_key(id) && texts.len() < 20 {
            let detail = store.prompt_detail(&id.to_string(), None).await?;
            texts.insert(*id, detail.prompt.text.clone());
        }
        let first = |t: &str| t.lines().next().unwrap_or("").chars().take(80).collect();
        conflicts.push(IdConflict {
            source: key.0,
            id: key.1,
            stored: texts.get(id).map(|t| first(t)).unwrap_or_default(),
            row: first(&p.text),
        });
    }
    Ok(conflicts)
}

#[derive(Clone, Debug)]
pub struct ResponseImport {
    pub model: String,
    pub role: ModelRole,
    pub endpoint: Option<String>,
    /// Only match prompts of this source (needed when task ids repeat across datasets).
    pub source: Option<String>,
    pub round: i64,
    pub map: FieldMap,
    pub skip_invalid: bool,
    /// How answers to completion prompts relate to them: chat answers (code extracted now),
    /// continuations (run after the prompt), or `Auto` per answer
    /// ([`rrtf_exec::answer::is_chat_answer`]).
    pub kind: AnswerKind,
}

/// How the imported answers to completion prompts were judged.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct AnswerKinds {
    /// Chat answers: their code was extracted and stored.
    pub chat: u64,
    /// Continuations: run as `prompt + answer` by the exec stage.
    pub completion: u64,
    /// Rows that gave their `code` (stored as given, the prompt's imports put in front).
    pub code_given: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResponseImportReport {
    pub file: PathBuf,
    pub model: String,
    pub model_id: i64,
    pub rows: usize,
    #[serde(flatten)]
    pub inserted: InsertReport,
    pub skipped: Skipped,
    /// Answers to completion prompts, by how they are run.
    pub completion_answers: AnswerKinds,
}

/// Matches response rows to stored prompts by id (`task_id`) or by prompt text.
struct PromptIndex<'a> {
    by_id: HashMap<&'a str, Vec<&'a PromptKey>>,
    by_hash: HashMap<&'a str, Vec<&'a PromptKey>>,
}

impl<'a> PromptIndex<'a> {
    fn new(keys: &'a [PromptKey], source: Option<&str>) -> Self {
        let mut by_id: HashMap<&str, Vec<&PromptKey>> = HashMap::new();
        let mut by_hash: HashMap<&str, Vec<&PromptKey>> = HashMap::new();
        for k in keys.iter().filter(|k| source.is_none_or(|s| s == k.source)) {
            by_id.entry(&k.source_id).or_default().push(k);
            by_hash.entry(&k.content_hash).or_default().push(k);
        }
        PromptIndex { by_id, by_hash }
    }

    fn find(
        &self,
        row: &Row,
        id_field: &str,
        prompt_field: &str,
    ) -> Result<&'a PromptKey, RowError> {
        let (field, found, what) = if let Some(id) = row.id_opt(id_field)? {
            (
                id_field,
                self.by_id.get(id.as_str()),
                format!("{id_field} `{id}`"),
            )
        } else if let Some(text) = row.str_opt(prompt_field)? {
            (
                prompt_field,
                self.by_hash.get(content_hash(text).as_str()),
                "this prompt text".into(),
            )
        } else {
            return Err(RowError::row(
                row.loc,
                format!("needs `{id_field}` or `{prompt_field}` to find its prompt"),
            ));
        };
        match found.map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some(many) if !many.is_empty() => Err(RowError::field(
                row.loc,
                field,
                format!(
                    "{what} matches prompts of several sources ({}): pass --source",
                    many.iter()
                        .map(|k| k.source.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => Err(RowError::field(
                row.loc,
                field,
                format!(
                    "no stored prompt has {what}: import the prompts first (rrtf import prompts)"
                ),
            )),
        }
    }
}

/// `rrtf import responses`: attach collected responses to stored prompts.
pub async fn import_responses(
    store: &Store,
    path: &Path,
    opts: &ResponseImport,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ResponseImportReport, DataError> {
    if opts.model.trim().is_empty() {
        return Err(DataError::Option(
            "--model is empty: name the model that wrote the responses (it is their provenance \
             in rankings, exports and reviews)"
                .into(),
        ));
    }
    let rows = read_rows(path)?;
    let n_rows = rows.len();
    let keys = store.prompt_keys().await?;
    if let Some(s) = &opts.source
        && !keys.iter().any(|k| &k.source == s)
    {
        return Err(DataError::Option(format!(
            "--source `{s}`: no stored prompt has this source (see `rrtf status`)"
        )));
    }
    let index = PromptIndex::new(&keys, opts.source.as_deref());
    let field =
        |role: &str, default: &'static str| opts.map.get(role).unwrap_or(default).to_owned();
    let id_field = field("id", "task_id");
    let prompt_field = field("prompt", "prompt");
    let text_fields: Vec<String> = match opts.map.get("text") {
        Some(f) => vec![f.to_owned()],
        None => vec!["completion".into(), "response".into()],
    };
    let code_field = field("code", "code");
    let temp_field = field("temperature", "temperature");
    let sample_field = field("sample_index", "sample_index");
    let finish_field = field("finish_reason", "finish_reason");

    // Validate everything before registering the model, so a bad file changes nothing.
    let mut parsed = Vec::with_capacity(n_rows);
    let mut skipped = Skipped::default();
    let mut seen: HashMap<(i64, String), i64> = HashMap::new();
    let mut mapped = MapSeen::new(&opts.map);
    for (loc, value) in rows {
        let result = value.and_then(|v| {
            let row = Row::new(loc, &v)?;
            mapped.row(&row);
            let key = index.find(&row, &id_field, &prompt_field)?;
            let text = text_fields
                .iter()
                .find_map(|f| row.str_opt(f).transpose())
                .transpose()?
                .ok_or_else(|| RowError::field(row.loc, &text_fields.join("` or `"), "missing"))?;
            let code = row.str_opt(&code_field)?.map(str::to_owned);
            let temperature = row.f64_opt(&temp_field)?;
            let given_index = row.i64_opt(&sample_field)?;
            if let Some(i) = given_index.filter(|&i| i < 0) {
                return Err(RowError::field(
                    row.loc,
                    &sample_field,
                    format!("{i} is negative: a sample index counts from 0"),
                ));
            }
            let finish_reason = row.str_opt(&finish_field)?.map(str::to_owned);
            Ok((
                key,
                (text.to_owned(), code),
                temperature,
                given_index,
                finish_reason,
            ))
        });
        match result {
            Ok((key, text, temperature, given_index, finish_reason)) => {
                let text_hash = sha256_hex(&text.0);
                // Occurrence of this exact text for this prompt in the file: repeated identical
                // samples stay distinct, and re-importing the same file matches every key.
                let nth = seen.entry((key.id, text_hash.clone())).or_insert(0);
                let occurrence = *nth;
                *nth += 1;
                parsed.push((
                    key,
                    text,
                    temperature,
                    given_index,
                    finish_reason,
                    text_hash,
                    occurrence,
                ));
            }
            Err(e) if opts.skip_invalid => skipped.add(&e),
            Err(e) => {
                return Err(mapped.explain(path, &e).unwrap_or(DataError::Row {
                    path: path.to_owned(),
                    error: e,
                }));
            }
        }
    }
    mapped.check(path)?;
    // The code of answers to completion prompts: one rule with the sampler's.
    let completion_ids: Vec<i64> = parsed
        .iter()
        .filter(|p| p.0.kind == PromptKind::Completion.as_str())
        .map(|p| p.0.id)
        .collect();
    let prompts = store.prompt_texts(&completion_ids).await?;
    let mut kinds = AnswerKinds::default();
    let model_id = store
        .upsert_model(&opts.model, opts.role, opts.endpoint.as_deref(), None)
        .await?;
    let mut per_prompt: HashMap<i64, i64> = HashMap::new();
    let responses: Vec<NewResponse> = parsed
        .into_iter()
        .map(
            |(
                key,
                (text, given_code),
                temperature,
                given_index,
                finish_reason,
                text_hash,
                occurrence,
            )| {
                let code = match prompts.get(&key.id) {
                    None => given_code,
                    Some((prompt, language)) => {
                        let language = rrtf_exec::Language::parse(language).ok();
                        match (given_code, language) {
                            (Some(code), Some(lang)) => {
                                kinds.code_given += 1;
                                Some(rrtf_exec::extract::with_prompt_imports(&code, prompt, lang))
                            }
                            (Some(code), None) => {
                                kinds.code_given += 1;
                                Some(code)
                            }
                            (None, Some(lang)) => {
                                let code = stored_code(prompt, true, lang, &text, opts.kind);
                                if code.is_some() {
                                    kinds.chat += 1;
                                } else {
                                    kinds.completion += 1;
                                }
                                code
                            }
                            (None, None) => {
                                kinds.completion += 1;
                                None
                            }
                        }
                    }
                };
                let counter = per_prompt.entry(key.id).or_insert(0);
                let sample_index = given_index.unwrap_or(*counter);
                *counter += 1;
                let request_hash = sha256_hex(format!(
                    "import\0{}\0{}\0{}\0{:?}\0{}\0{}",
                    opts.model, key.source, key.source_id, temperature, text_hash, occurrence
                ));
                NewResponse {
                    prompt_id: key.id,
                    model_id,
                    round: opts.round,
                    temperature,
                    sample_index,
                    raw_text: text,
                    code,
                    finish_reason,
                    prompt_tokens: None,
                    completion_tokens: None,
                    latency_ms: None,
                    cost_usd: None,
                    request_hash,
                    run_id: None,
                }
            },
        )
        .collect();
    let inserted = store.insert_responses(&responses, progress).await?;
    Ok(ResponseImportReport {
        file: path.to_owned(),
        model: opts.model.clone(),
        model_id,
        rows: n_rows,
        inserted,
        skipped,
        completion_answers: kinds,
    })
}

#[cfg(test)]
mod tests {
    use super::mbpp_entry_point;

    #[test]
    fn an_mbpp_entry_point_is_the_reference_s_function_the_tests_call() {
        let tests = "assert pow(2, 3) == 8\nassert pow (3, 2) == 9";
        let code = "def helper(x):\n    return x\n\ndef pow(a, b):\n    return a ** b\n";
        assert_eq!(mbpp_entry_point(code, tests).as_deref(), Some("pow"));
        // Not a method, a longer name or a nested function; two candidates are ambiguous.
        assert_eq!(
            mbpp_entry_point(
                "def add(a, b):\n    pass\n",
                "assert x.add(1) == 2\nassert add_one(1) == 2"
            ),
            None
        );
        assert_eq!(
            mbpp_entry_point(
                "class A:\n    def f(self):\n        pass\n",
                "assert f() == 1"
            ),
            None
        );
        assert_eq!(
            mbpp_entry_point(
                "def f(x):\n    pass\ndef g(x):\n    pass\n",
                "assert f(g(1)) == 1"
            ),
            None
        );
        assert_eq!(
            mbpp_entry_point(
                "def f(x):\n    pass\ndef f(x, y):\n    pass\n",
                "assert f(1) == 1"
            ),
            Some("f".into())
        );
    }
}
