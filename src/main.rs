//! `rrtf`: the command-line front of the toolkit. Thin glue over the library crates in `crates/`:
//! arguments are parsed here, validated by the crates, and errors are mapped to exit codes
//! (0 ok, 1 runtime failure, 2 bad usage or bad input; a stage stopped cleanly by a signal
//! exits with 128 + its number: 130 for Ctrl-C, 143 for SIGTERM).

mod cli;

use std::error::Error;
use std::process::ExitCode;

use rrtf_types::UserError;

// glibc malloc fragments under SQLite's and serde's many small allocations; mimalloc made the
// batched import about 2x faster (crates/rrtf-data/benches/io.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's `mi_option_set(mi_option_purge_delay, -1)`: never give freed memory back to the OS.
// Tensors of the model and the trainer are hundreds of MB each and are freed and allocated again
// op after op; purged, every reuse faults its pages back in zeroed (`clear_page` was 41% of a
// training step's CPU time). The peak resident set is kept instead. Index 15 in the
// `mi_option_t` enum of both mimalloc v2 and v3 (libmimalloc-sys 0.1.49).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

fn main() -> ExitCode {
    // SAFETY: a plain option store in mimalloc, with a valid option index.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let args = cli::Cli::parse_args();
    let json = args.json;
    // A stage started by a round also writes its log and its error to the round's stage log.
    // (Read before end_with_parent, which starts a thread: both change the environment.)
    let stage_log = rrtf_pipeline::child::stage_log();
    // A stage started by a round ends with it (kill -9 of the round included).
    rrtf_pipeline::child::end_with_parent();
    cli::init_tracing(
        args.verbose,
        matches!(args.command, cli::Command::Serve(_)),
        stage_log.as_deref(),
    );
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A stage stopped by Ctrl-C or SIGTERM: not an error, and 128 + the signal.
            let stopped = err.downcast_ref::<rrtf_pipeline::stop::Interrupted>();
            // An error may quote stored text (a sample's output): no escape sequences through.
            let text = match stopped {
                Some(i) => cli::term::clean(&i.to_string()).into_owned(),
                None => format!("error: {}", cli::term::clean(&message(&err))),
            };
            eprintln!("{text}");
            if let Some(path) = &stage_log {
                cli::append_line(path, &text);
            }
            let code = stopped.map_or_else(|| exit_code(&err), |i| i.signal.exit_code());
            // Scripts get the failure as JSON too, unless the command printed its document
            // already (its summary says what failed; stdout holds one JSON document).
            let emitted = cli::JSON_EMITTED.load(std::sync::atomic::Ordering::SeqCst);
            if json && stopped.is_none() && !emitted {
                cli::print_out(&json_error(&err, code).to_string());
            }
            ExitCode::from(code)
        }
    }
}

/// Asks one cause of an error chain, when it is of the type `ask` is for, whether the user
/// caused it.
type Ask = fn(&(dyn Error + 'static)) -> Option<bool>;

fn ask<E: UserError + 'static>(cause: &(dyn Error + 'static)) -> Option<bool> {
    cause.downcast_ref::<E>().map(E::is_user_error)
}

macro_rules! error_types {
    ($($t:ty),+ $(,)?) => {
        &[$((std::any::type_name::<$t> as fn() -> &'static str, ask::<$t> as Ask)),+]
    };
}

/// Every error type of the library crates and the binary, each with its name (for the test
/// that fails when a type is missing here) and its [`Ask`].
const ERROR_TYPES: &[(fn() -> &'static str, Ask)] = error_types![
    cli::BadInput,
    rrtf_config::ConfigError,
    rrtf_data::DataError,
    rrtf_evolve::validation::Rejection,
    rrtf_exec::ExecError,
    rrtf_llm::LlmError,
    rrtf_llm::fanout::SendError,
    rrtf_llm::replay::ReplayError,
    rrtf_model::ModelError,
    rrtf_pipeline::PipelineError,
    rrtf_pipeline::stop::Interrupted,
    rrtf_report::ReportError,
    rrtf_serve::ServeError,
    rrtf_store::StoreError,
    rrtf_train::TrainError,
    rrtf_types::UnknownLanguage,
];

/// The one place errors become exit codes: 2 when any cause in the chain is a user error
/// ([`UserError`]: bad usage, arguments, files, config, environment), 1 otherwise.
fn exit_code(err: &anyhow::Error) -> u8 {
    let user = err
        .chain()
        .any(|cause| ERROR_TYPES.iter().any(|(_, ask)| ask(cause) == Some(true)));
    if user { 2 } else { 1 }
}

/// `{"error": {"kind", "message", "hint", "exit_code"}}`: `kind` names the error type that
/// decided the exit code (`config`, `store`, `bad_input`, ...; `runtime` for none), `hint` the
/// message's `hint:` line when it has one (else null), given there only: `message` is the rest.
fn json_error(err: &anyhow::Error, code: u8) -> serde_json::Value {
    let full = message(err);
    let hint = full
        .lines()
        .find_map(|l| l.trim().strip_prefix("hint: "))
        .map(str::to_owned);
    let message = match hint {
        Some(_) => full
            .lines()
            .filter(|l| !l.trim().starts_with("hint: "))
            .collect::<Vec<_>>()
            .join("\n"),
        None => full,
    };
    serde_json::json!({"error": {
        "kind": error_kind(err, code == 2),
        "message": message,
        "hint": hint,
        "exit_code": code,
    }})
}

/// The snake-case name (without `Error`) of the first listed error type in the chain (a user
/// error's, when `user`).
fn error_kind(err: &anyhow::Error, user: bool) -> String {
    for cause in err.chain() {
        for (name, ask) in ERROR_TYPES {
            match ask(cause) {
                Some(u) if u || !user => {
                    let short = name().rsplit("::").next().unwrap_or("");
                    let short = short.strip_suffix("Error").unwrap_or(short);
                    let mut out = String::new();
                    for (i, c) in short.chars().enumerate() {
                        if c.is_uppercase() && i > 0 {
                            out.push('_');
                        }
                        out.push(c.to_ascii_lowercase());
                    }
                    return if out.is_empty() {
                        "runtime".into()
                    } else {
                        out
                    };
                }
                _ => {}
            }
        }
    }
    "runtime".into()
}

/// The error and its causes, `: `-separated; a cause whose text the message before it already
/// quotes (`"{path}: {source}"`) is not repeated.
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// `crate::Type` for every error type defined in `dir` (a `thiserror::Error` derive or an
    /// `impl std::error::Error for`), `krate` naming the crate.
    fn defined_errors(krate: &str, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                defined_errors(krate, &path, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut derived = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[derive(") && line.contains("thiserror::Error") {
                    derived = true;
                    continue;
                }
                let name = if derived && !line.starts_with("#[") && !line.starts_with("//") {
                    derived = false;
                    line.split_whitespace()
                        .skip_while(|w| !matches!(*w, "enum" | "struct"))
                        .nth(1)
                } else if let Some(rest) = line.strip_prefix("impl std::error::Error for ") {
                    rest.split_whitespace().next()
                } else {
                    None
                };
                if let Some(name) = name {
                    let name = name
                        .trim_end_matches(['{', ';', '('])
                        .split('<')
                        .next()
                        .unwrap();
                    out.insert(format!("{krate}::{name}"));
                }
            }
        }
    }

    #[test]
    fn every_error_type_is_asked_whether_the_user_caused_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut defined = BTreeSet::new();
        defined_errors("rrtf", &root.join("src"), &mut defined);
        for entry in std::fs::read_dir(root.join("crates")).unwrap() {
            let dir = entry.unwrap().path();
            let krate = dir.file_name().unwrap().to_str().unwrap().replace('-', "_");
            defined_errors(&krate, &dir.join("src"), &mut defined);
        }
        assert!(defined.len() >= 14, "the scan found too few: {defined:?}");
        let listed: BTreeSet<String> = ERROR_TYPES
            .iter()
            .map(|(name, _)| {
                let name = name();
                let krate = name.split("::").next().unwrap();
                format!("{krate}::{}", name.rsplit("::").next().unwrap())
            })
            .collect();
        let missing: Vec<_> = defined.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&defined).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "src/main.rs ERROR_TYPES: add {missing:?} (implementing rrtf_types::UserError), \
             remove {stale:?}"
        );
    }

    #[test]
    fn user_errors_anywhere_in_the_chain_exit_2_others_1() {
        let store = rrtf_store::StoreError::UnknownPrompt("x".into());
        assert_eq!(exit_code(&anyhow::Error::new(store)), 2);
        // Formerly mapped by a converter in the exec commands only.
        let exec = rrtf_exec::ExecError::UnknownLanguage("cobol".into());
        assert_eq!(
            exit_code(&anyhow::Error::new(exec).context("reading rows")),
            2
        );
        let worker = rrtf_exec::ExecError::Worker("died".into());
        assert_eq!(exit_code(&anyhow::Error::new(worker)), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
        let config = rrtf_config::ConfigError::Parse {
            path: "r.toml".into(),
            message: "bad".into(),
        };
        assert_eq!(exit_code(&anyhow::Error::new(config).context("loading")), 2);
    }

    #[test]
    fn a_json_error_names_the_kind_the_hint_and_the_exit_code() {
        let config = rrtf_config::ConfigError::Parse {
            path: "r.toml".into(),
            message: "bad key\nhint: see configs/round.toml".into(),
        };
        let err = anyhow::Error::new(config).context("loading");
        let v = json_error(&err, exit_code(&err));
        assert_eq!(v["error"]["kind"], "config", "{v}");
        assert_eq!(v["error"]["hint"], "see configs/round.toml", "{v}");
        assert!(
            !v["error"]["message"].as_str().unwrap().contains("hint"),
            "{v}"
        );
        assert_eq!(v["error"]["exit_code"], 2, "{v}");
        let bad = anyhow::Error::new(cli::BadInput("no".into()));
        assert_eq!(json_error(&bad, 2)["error"]["kind"], "bad_input");
        let plain = anyhow::anyhow!("disk full");
        let v = json_error(&plain, exit_code(&plain));
        assert_eq!(v["error"]["kind"], "runtime");
        assert_eq!(v["error"]["hint"], serde_json::Value::Null);
        assert_eq!(v["error"]["exit_code"], 1);
    }

    #[test]
    fn a_cause_the_message_already_quotes_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(rrtf_model::ModelError::Io {
            path: "m/config.json".into(),
            source: io,
        })
        .context("loading the student");
        assert_eq!(
            message(&err),
            "loading the student: m/config.json: no such file"
        );
    }
}
