//! `rrtf exec doctor`: what the sandbox can do here. The protections that are active and
//! missing, each language's toolchain, the compile cache, and a real Python sample through the
//! whole stack. A refused sandbox is still described (what is missing and why).
//!
//! Not here: its text and JSON (`rrtf_report::text`), printing (the binary).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::sandbox::Protections;
use crate::{ExecConfig, ExecError, Executor, Job, Language, LanguageTools};

/// What [`diagnose`] found. Each `Err` is the human reason something is off or missing.
pub struct Doctor {
    pub protections: Protections,
    /// The executor, or why it refused to start.
    pub executor: Result<Executor, ExecError>,
    /// Per language name: its toolchain's paths, or what is missing.
    pub toolchains: BTreeMap<&'static str, Result<String, String>>,
    /// The compile cache's directory, or why there is none.
    pub compile_cache: Result<String, String>,
    /// The Python sample's result.
    pub self_test: Result<String, String>,
}

/// Start an executor with one worker under `cfg` and look at everything it needs.
pub fn diagnose(mut cfg: ExecConfig) -> Doctor {
    cfg.workers = 1;
    let wanted_cache = cfg.cache_dir.clone();
    let python = cfg.python.display().to_string();
    let (executor, protections) = match Executor::new(cfg) {
        Ok(e) => {
            let p = e.protections().clone();
            (Ok(e), p)
        }
        Err(e) => (Err(e), Protections::probe()),
    };
    let compile_cache = match (&executor, &wanted_cache) {
        (Err(_), _) => Err("not opened (the executor refused to start)".into()),
        (Ok(e), _) if e.compile_cache().is_some() => Ok(e
            .compile_cache()
            .map(|c| c.root().display().to_string())
            .unwrap_or_default()),
        (Ok(_), None) => Err("off (--no-cache)".into()),
        (Ok(_), Some(d)) => Err(format!(
            "off: {} is unusable (see the warning)",
            d.display()
        )),
    };
    let mut toolchains = BTreeMap::new();
    for l in Language::ALL {
        let status = match crate::compiled::check(l) {
            Ok(()) if l == Language::Python => Ok(python.clone()),
            Ok(()) => l.toolchain().map(|t| {
                t.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            Err(e) => Err(e),
        };
        toolchains.insert(l.name(), status.map_err(|e| e.to_string()));
    }
    // A real sample through the whole stack.
    let t = Instant::now();
    let probe = Job {
        key: 0,
        language: Language::Python,
        code: Some("def f():\n    return 1\n".into()),
        test: "def check(c):\n    assert c() == 1\n".into(),
        entry_point: Some("f".into()),
        prompt: None,
    };
    let self_test = match &executor {
        Err(e) => Err(e.to_string()),
        Ok(exec) => match exec.run_all(vec![probe]).pop() {
            Some(r) if r.passed() => Ok(format!(
                "python sample passed in {} ms (worker start included)",
                t.elapsed().as_millis()
            )),
            Some(r) => Err(format!(
                "python sample did not pass: {} {}",
                r.outcome, r.detail
            )),
            None => Err("no result".to_string()),
        },
    };
    Doctor {
        protections,
        executor,
        toolchains,
        compile_cache,
        self_test,
    }
}
