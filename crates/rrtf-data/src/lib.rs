//! Dataset files in and out of the project database.
//!
//! Import reads the JSONL/JSON files users already have (Code Alpaca instruction rows, HumanEval
//! rows, MBPP rows, or any shape through a field mapping; `.gz` transparently) and responses they
//! already collected. Parsing and validation happen before anything is written, and the writes go
//! through `rrtf-store` in one transaction, so a malformed row leaves no rows behind unless the
//! caller asks to skip invalid rows.
//!
//! Export writes ranked data in the formats that TRL, LLaMA-Factory and KTO trainers read, and our
//! listwise `rrtf` format, with operator reviews applied and a manifest of counts and hashes.
//! Review actions themselves are checked and appended through [`review::record`].
//! This crate writes no SQL and decides no scores.

mod error;
pub mod export;
mod fields;
pub mod import;
pub mod pairs;
pub mod parquet_file;
mod read;
pub mod review;

pub use error::{DataError, Location, RowError};
pub use fields::FieldMap;
pub use read::{RawRow, for_each_row, read_rows};
