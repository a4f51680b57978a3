//! Parquet data files for exported datasets (`rrtf export --data-format parquet`, the default
//! of `--hf-dataset`): the export's JSON Lines, read by arrow-json with a schema inferred from
//! every row, written as one Parquet file by parquet's Arrow writer (Snappy). Nested values
//! (TRL's message lists, the `rrtf` format's details) become Parquet lists and structs, which
//! `datasets` and pandas read back as the same lists and dicts; a key a row lacks is null there.

use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::Path;
use std::sync::Arc;

use arrow_json::ReaderBuilder;
use arrow_json::reader::infer_json_schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::DataError;

/// Rows per Arrow batch (and at most per row group's page flush).
const BATCH: usize = 4096;

/// Write the JSON Lines file `src` as the Parquet file `dst`; returns the rows written. The
/// schema is inferred over every row (a key's type merged across rows; a value that is a
/// number in one row and text in another is text).
pub fn jsonl_to_parquet(src: &Path, dst: &Path) -> Result<u64, DataError> {
    let format = |message: String| DataError::Format {
        path: dst.to_owned(),
        message,
    };
    let read_err = |source| DataError::Read {
        path: src.to_owned(),
        source,
    };
    let mut file = BufReader::new(File::open(src).map_err(read_err)?);
    let (schema, rows) = infer_json_schema(&mut file, None)
        .map_err(|e| format(format!("cannot infer a Parquet schema from the rows: {e}")))?;
    if schema.fields().is_empty() {
        return Err(format(format!(
            "no rows to write ({rows} read): a Parquet file needs at least one column; export \
             as JSON Lines (--data-format jsonl) or check the export's filters"
        )));
    }
    file.rewind().map_err(read_err)?;
    let schema = Arc::new(schema);
    let reader = ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(BATCH)
        .with_coerce_primitive(true)
        .build(file)
        .map_err(|e| format(format!("cannot read the rows as Arrow: {e}")))?;
    let out = File::create(dst).map_err(|source| DataError::Write {
        path: dst.to_owned(),
        source,
    })?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(out, schema, Some(props))
        .map_err(|e| format(format!("cannot start the Parquet file: {e}")))?;
    let mut written = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| format(format!("reading a row as Arrow: {e}")))?;
        written += batch.num_rows() as u64;
        writer
            .write(&batch)
            .map_err(|e| format(format!("writing Parquet: {e}")))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| format(format!("finishing the Parquet file: {e}")))?;
    file.sync_all().map_err(|source| DataError::Write {
        path: dst.to_owned(),
        source,
    })?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use serde_json::{Value, json};

    /// The rows of a Parquet file as JSON (nulls left out, as arrow-json writes them).
    fn read_back(path: &Path) -> Vec<Value> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let mut buf = Vec::new();
        {
            let mut w = arrow_json::LineDelimitedWriter::new(&mut buf);
            for batch in reader {
                w.write(&batch.unwrap()).unwrap();
            }
            w.finish().unwrap();
        }
        String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn without_nulls(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
            v => v.clone(),
        }
    }

    #[test]
    fn nested_rows_round_trip_through_parquet() {
        // TRL's conversational rows and the listwise format's lists, structs, optional keys.
        let rows = [
            json!({"prompt": [{"role": "system", "content": "Be brief."},
                              {"role": "user", "content": "def f(x):\n"}],
                   "chosen": [{"role": "assistant", "content": "    return x\n"}],
                   "score_chosen": 1.0, "prompt_id": 3, "pairs": [[0, 1], [0, 2]],
                   "details": [{"outcome": "pass", "tier": 0, "pinned_by": "ann"}]}),
            json!({"prompt": [{"role": "user", "content": "é ✓ \u{0}"}],
                   "chosen": [{"role": "assistant", "content": ""}],
                   "score_chosen": -0.25, "prompt_id": 9_007_199_254_740_993_i64,
                   "pairs": [], "details": [{"outcome": "timeout", "tier": 3}]}),
        ];
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (
            dir.path().join("rows.jsonl"),
            dir.path().join("rows.parquet"),
        );
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(&src, text).unwrap();
        assert_eq!(jsonl_to_parquet(&src, &dst).unwrap(), 2);
        let back = read_back(&dst);
        let want: Vec<Value> = rows.iter().map(without_nulls).collect();
        assert_eq!(back.iter().map(without_nulls).collect::<Vec<_>>(), want);
    }

    #[test]
    fn no_rows_is_an_error_naming_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (
            dir.path().join("rows.jsonl"),
            dir.path().join("rows.parquet"),
        );
        std::fs::write(&src, "").unwrap();
        let e = jsonl_to_parquet(&src, &dst).unwrap_err().to_string();
        assert!(e.contains("--data-format jsonl"), "{e}");
    }
}
