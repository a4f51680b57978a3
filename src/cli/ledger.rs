//! The request ledger's human lines in the stages' summaries (evolve, synth-tests, sample);
//! metering and storing the requests is `rrtf_pipeline::ledger`'s.

use serde_json::Value;

/// Human lines for `LedgerLine`s as JSON (`Store::ledger_lines`).
pub fn ledger_text(lines: &Value) -> String {
    let mut out = String::new();
    for l in lines.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  round {} {} {}: {} requests ({} failed), tokens {} in / {} out, ${:.4}",
            l["round"],
            l["stage"].as_str().unwrap_or(""),
            l["teacher"].as_str().unwrap_or(""),
            l["requests"],
            l["failed"],
            l["prompt_tokens"],
            l["completion_tokens"],
            l["cost_usd"].as_f64().unwrap_or(0.0)
        ));
    }
    if out.is_empty() {
        out
    } else {
        format!("\nrequests (ledger):{out}")
    }
}
