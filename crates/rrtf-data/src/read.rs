//! Reading rows from JSONL, JSON-array and gzip-compressed files.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use crate::{DataError, Location, RowError};

/// One row of a file: where it is, and its JSON value or why it could not be parsed.
pub type RawRow = (Location, Result<Value, RowError>);

fn open(path: &Path) -> Result<Box<dyn BufRead>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Read {
        path: path.to_owned(),
        source,
    })?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

/// The file name without `.gz` and its data extension: `HumanEval.jsonl.gz` -> `HumanEval`.
pub fn dataset_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let stem = [".jsonl", ".json", ".ndjson"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    stem.to_owned()
}

/// Every row of `path`. A `.json` file (after `.gz`) holds one array of objects (or an object
/// with a `data` or `rows` array); anything else is JSON Lines, one object per line, where blank
/// lines are allowed and skipped.
pub fn read_rows(path: &Path) -> Result<Vec<RawRow>, DataError> {
    let mut rows = Vec::new();
    for_each_row(path, &mut |row| {
        rows.push(row);
        true
    })?;
    Ok(rows)
}

/// Stream the rows of `path` (see [`read_rows`]) to `f` as they are read; `f` returns false to
/// stop early. JSON Lines files are never held in memory whole.
pub fn for_each_row(path: &Path, f: &mut dyn FnMut(RawRow) -> bool) -> Result<(), DataError> {
    let is_json_array = {
        let name = path.to_string_lossy();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        name.ends_with(".json")
    };
    let mut reader = open(path)?;
    let read_err = |source| DataError::Read {
        path: path.to_owned(),
        source,
    };
    if is_json_array {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(read_err)?;
        // A byte-order mark (files saved by some Windows editors and spreadsheet exports) is not
        // part of the JSON.
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let value: Value = serde_json::from_str(body).map_err(|e| DataError::Format {
            path: path.to_owned(),
            message: format!(
                "invalid JSON at line {} column {}: {e} (a .json file must hold one array of \
                 objects; use .jsonl for one object per line)",
                e.line(),
                e.column()
            ),
        })?;
        let array = match value {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("data").or_else(|| o.remove("rows")) {
                Some(Value::Array(a)) => a,
                _ => {
                    return Err(DataError::Format {
                        path: path.to_owned(),
                        message: "expected a JSON array of rows (or an object with a `data` array)"
                            .into(),
                    });
                }
            },
            _ => {
                return Err(DataError::Format {
                    path: path.to_owned(),
                    message: "expected a JSON array of rows".into(),
                });
            }
        };
        for (i, v) in array.into_iter().enumerate() {
            if !f((Location::Element(i + 1), Ok(v))) {
                break;
            }
        }
        return Ok(());
    }
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(read_err)? == 0 {
            break;
        }
        n += 1;
        let text = if n == 1 {
            line.trim_start_matches('\u{feff}').trim()
        } else {
            line.trim()
        };
        if text.is_empty() {
            continue;
        }
        let loc = Location::Line(n);
        let parsed = serde_json::from_str::<Value>(text).map_err(|e| {
            RowError::row(
                loc,
                format!("invalid JSON at column {}: {}", e.column(), json_reason(&e)),
            )
        });
        if !f((loc, parsed)) {
            break;
        }
    }
    Ok(())
}

/// serde_json's message without its own " at line 1 column N": a row is one line of the file,
/// and the row's location already names the file's line.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&position).unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_row() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("b.jsonl", "\u{feff}{\"a\":1}\n{\"a\":2}\n"),
            ("b.json", "\u{feff}[{\"a\":1}, {\"a\":2}]"),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            let rows = read_rows(&p).unwrap();
            let values: Vec<Value> = rows.into_iter().map(|r| r.1.unwrap()).collect();
            assert_eq!(
                values,
                [serde_json::json!({"a": 1}), serde_json::json!({"a": 2})]
            );
        }
    }

    #[test]
    fn jsonl_rows_keep_their_line_numbers_and_blank_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\n\n{\"a\":2}\n{oops\n").unwrap();
        let rows = read_rows(&p).unwrap();
        let locs: Vec<_> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            locs,
            [Location::Line(1), Location::Line(3), Location::Line(4)]
        );
        let err = rows[2].1.as_ref().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 4: invalid JSON at column 2: "),
            "{err}"
        );
        // One line number: the file's (serde's own "at line 1" is the row's).
        assert!(!err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn json_arrays_and_gzip_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"{\"data\": [{\"a\":1},{\"a\":2}]}").unwrap();
        gz.finish().unwrap();
        let rows = read_rows(&p).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, Location::Element(2));
        assert_eq!(dataset_stem(&p), "x");
        assert_eq!(dataset_stem(Path::new("d/HumanEval.jsonl.gz")), "HumanEval");
    }
}
