//! The review server's pages: plain functions from store rows to HTML strings. Everything that
//! comes from the store (prompts, tests, model output, notes) is escaped with `html::esc`:
//! responses are untrusted model output.

use std::fmt::Write as _;

use rrtf_data::review::ReviewState;
use rrtf_store::{PromptDetail, PromptSummary, ResponseInfo, ReviewAction, ReviewPolicy};
use serde_json::Value;

use super::{ListQuery, PAGE_SIZE};
use crate::html::{OUTCOMES, esc};
use crate::overview::Overview;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}
nav{margin-bottom:1em}nav a{margin-right:1em}.who{float:right;color:#555}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td.num,th.num{text-align:right}pre{background:#f6f6f6;padding:6px;overflow:auto;max-height:32em;
white-space:pre;font-size:13px;margin:4px 0}
.responses{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(360px,1fr);gap:12px;
overflow-x:auto;padding-bottom:8px}.response.selected{outline:3px solid #1565c0}kbd{border:1px solid #999;border-radius:3px;padding:0 3px;font-size:12px}.response{border:1px solid #bbb;border-radius:6px;padding:8px}
.response.excluded{opacity:.55;border-style:dashed}tr.excluded{opacity:.6}.response.pinned{border:2px solid #2e7d32}
.badge{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}
.facts td:first-child{color:#555}form.inline{display:inline}
.filters label{margin-right:.8em}.notice{background:#fff3cd;padding:6px}
h2{margin-top:1.4em}";

/// The prompt page's only script (the page's own, never stored text): keyboard shortcuts and
/// drag-and-drop reordering, both through the page's review forms (a reorder submits the
/// responses' new order, best first).
const REVIEW_JS: &str = r#"(function () {
  // Another reviewer's action on this prompt since the page was loaded: say so (every few
  // seconds, the newest review's id, a number, from /prompts/ID/latest-review).
  // (Looked up at each tick: this script runs before the audit trail is parsed.)
  if (window.fetch) {
    const url = location.pathname.replace(/\/$/, '') + '/latest-review';
    setInterval(async () => {
      const audit = document.getElementById('audit');
      const stale = document.getElementById('stale');
      if (!audit || !stale || !stale.hidden) return;
      try {
        const r = await fetch(url, {credentials: 'same-origin', cache: 'no-store'});
        const seen = Number(audit.dataset.latest || 0);
        if (r.ok && Number((await r.json()).latest) > seen) stale.hidden = false;
      } catch (e) {}
    }, 3000);
  }
  const box = document.querySelector('.responses');
  if (!box) return;
  const cards = () => [...box.querySelectorAll('article.response')];
  let sel = -1;
  function select(i) {
    const c = cards();
    if (!c.length) return;
    sel = Math.max(0, Math.min(c.length - 1, i));
    c.forEach((e, k) => e.classList.toggle('selected', k === sel));
    c[sel].scrollIntoView({block: 'nearest', inline: 'nearest'});
  }
  function submitOrder() {
    document.getElementById('reorder-order').value = cards().map(e => e.dataset.response).join(',');
    // requestSubmit checks the form first (a reason the review policy requires).
    const f = document.getElementById('reorder-form');
    if (f.requestSubmit) f.requestSubmit(); else f.submit();
  }
  function move(d) {
    const c = cards();
    const t = sel + d;
    if (sel < 0 || t < 0 || t >= c.length) return;
    if (d < 0) c[t].before(c[sel]); else c[t].after(c[sel]);
    sel = t;
    submitOrder();
  }
  function press(id) {
    const b = document.getElementById(id);
    if (b) b.click();
  }
  document.addEventListener('keydown', e => {
    if (e.target.closest && e.target.closest('input, textarea, select')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const c = cards();
    const id = sel >= 0 && c[sel] ? c[sel].dataset.response : null;
    switch (e.key) {
      case 'j': select(sel + 1); break;
      case 'k': select(sel - 1); break;
      case 'p': if (id) press('pin-' + id); break;
      case 'x': if (id) press(document.getElementById('exclude-' + id) ? 'exclude-' + id : 'include-' + id); break;
      case '[': move(-1); break;
      case ']': move(1); break;
      default: return;
    }
    e.preventDefault();
  });
  let dragged = null;
  box.addEventListener('dragstart', e => {
    dragged = e.target.closest('article.response');
    if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
  });
  box.addEventListener('dragover', e => { if (dragged) e.preventDefault(); });
  box.addEventListener('drop', e => {
    const t = e.target.closest('article.response');
    if (!dragged || !t || t === dragged) return;
    e.preventDefault();
    const c = cards();
    if (c.indexOf(dragged) < c.indexOf(t)) t.after(dragged); else t.before(dragged);
    dragged = null;
    submitOrder();
  });
})();"#;

/// Who is reviewing: the author of every action taken on the page, and with `--auth` the
/// session's CSRF token, which every POST form of the page carries.
#[derive(Clone, Debug)]
pub struct Who {
    pub name: String,
    pub csrf: Option<String>,
}

/// A page; `who` is None on pages shown before knowing (errors, the login page).
fn layout(title: &str, who: Option<&Who>, body: &str) -> String {
    let nav = match who {
        Some(w) => {
            let logout = if w.csrf.is_some() {
                "<form class=\"inline\" method=\"post\" action=\"/logout\"><button type=\"submit\" id=\"logout\">log out</button></form>"
            } else {
                ""
            };
            format!(
                "<span class=\"who\">reviewer: <b id=\"reviewer\">{}</b> {logout}</span>",
                esc(&w.name)
            )
        }
        None => String::new(),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body><nav><a href="/">overview</a><a href="/prompts">prompts</a>{nav}</nav>
{body}</body></html>
"#,
        title = esc(title),
    );
    match who.and_then(|w| w.csrf.as_deref()) {
        Some(token) => with_csrf(&html, token),
        None => html,
    }
}

/// `html` with the CSRF token as a hidden field first in every POST form. Every form tag is
/// this module's own (the pages' data goes through `esc`, which leaves no `<` or `"`), so the
/// forms are found by their tag's text.
fn with_csrf(html: &str, token: &str) -> String {
    const TAG: &str = " method=\"post\"";
    let field = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    );
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(at) = rest.find(TAG) {
        let end = at + rest[at..].find('>').expect("a form tag ends") + 1;
        out.push_str(&rest[..end]);
        out.push_str(&field);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The login page (`--auth`): a reviewer's token, from `rrtf review users add NAME`.
pub fn login(failed: bool) -> String {
    let error = if failed {
        "<p id=\"error\">Unknown or removed token. Ask whoever runs the server for yours \
         (<code>rrtf review users add NAME</code>, or <code>reset NAME</code> for a new one).</p>"
    } else {
        ""
    };
    layout(
        "log in · rrtf review",
        None,
        &format!(
            "<h1>Log in</h1>{error}<form method=\"post\" action=\"/login\">\
             <p><label>reviewer token <input type=\"password\" name=\"token\" id=\"token\" \
             size=\"72\" autocomplete=\"current-password\" required autofocus></label> \
             <button type=\"submit\" id=\"login\">log in</button></p></form>"
        ),
    )
}

pub fn error(code: u16, message: &str) -> String {
    layout(
        &format!("error {code}"),
        None,
        &format!(
            "<h1>Error {code}</h1><p id=\"error\">{}</p><p><a href=\"/prompts\">back to the prompts</a></p>",
            esc(message)
        ),
    )
}

/// The most of one stored text a page shows: a response can be megabytes (a model that looped
/// until its token limit, a sample that printed), and a prompt page shows every response.
const SHOWN: usize = 100_000;

/// `text` escaped, cut after [`SHOWN`] bytes with a note of how much is left out and where the
/// whole text is.
fn shown(text: &str) -> String {
    if text.len() <= SHOWN {
        return esc(text);
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}<span class=\"cut\">\n… {} more bytes not shown here (the whole text: `rrtf --json \
         review show ID`, or an export)</span>",
        esc(&text[..end]),
        text.len() - end
    )
}

fn outcome_badge(outcome: &str) -> String {
    let color = OUTCOMES
        .iter()
        .find(|(o, _)| *o == outcome)
        .map_or("#757575", |(_, c)| c);
    format!(
        "<span class=\"badge outcome\" style=\"background:{color}\">{}</span>",
        esc(outcome)
    )
}

/// The index: the rounds, links into the prompt list (`excluded`: how many prompts a review
/// excluded from exports and training), the models and the report's plots.
pub fn index(db: &str, who: &Who, view: &Overview, excluded: usize) -> String {
    let mut body = format!(
        "<h1>rrtf review</h1><p>Database <code>{}</code>, {}</p>",
        esc(db),
        view.summary()
    );
    body.push_str("<h2>Rounds</h2>");
    body.push_str(&view.rounds_table(Some(&|r| format!("/prompts?round={r}"))));
    body.push_str(&view.languages_section());
    let _ = write!(
        body,
        "<p><a href=\"/prompts\">All ranked prompts</a> · <a href=\"/prompts?reviewed=no\">not reviewed yet</a> · <a href=\"/prompts?status=dropped\">dropped by the filters</a> · <a id=\"excluded\" href=\"/prompts?reviewed=excluded\">{excluded} excluded by review</a></p>"
    );
    if view.ranker.is_none() {
        body.push_str("<p class=\"notice\">Nothing is ranked yet: run <code>rrtf rank</code>.</p>");
    } else {
        body.push_str("<h2>Models</h2><table id=\"models\"><tr><th>model</th><th>role</th><th class=\"num\">responses</th><th class=\"num\">pass rate</th><th class=\"num\">mean score</th></tr>");
        for m in &view.models {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.3}</td></tr>",
                esc(&m.model),
                esc(m.role.as_str()),
                m.responses,
                100.0 * m.pass_rate,
                m.mean_score
            );
        }
        body.push_str("</table>");
        body.push_str(&view.plots());
    }
    layout("rrtf review", Some(who), &body)
}

/// Percent-encode a query-string value.
fn url_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn select(name: &str, current: &str, options: &[(String, String)]) -> String {
    let mut s = format!("<select name=\"{name}\" id=\"f-{name}\">");
    for (value, label) in options {
        let sel = if value == current { " selected" } else { "" };
        let _ = write!(
            s,
            "<option value=\"{}\"{sel}>{}</option>",
            esc(value),
            esc(label)
        );
    }
    s.push_str("</select>");
    s
}

pub fn list(
    who: &Who,
    q: &ListQuery,
    rounds: &[i64],
    shown: &[PromptSummary],
    total: usize,
    page: usize,
    ranker: Option<&str>,
) -> String {
    let any = || (String::new(), "any".to_owned());
    let opts = |values: &mut dyn Iterator<Item = String>| -> Vec<(String, String)> {
        std::iter::once(any())
            .chain(values.map(|v| (v.clone(), v)))
            .collect()
    };
    let mut body =
        String::from("<h1>Prompts</h1><form class=\"filters\" method=\"get\" action=\"/prompts\">");
    let _ = write!(
        body,
        "<label>round {}</label><label>ranking {}</label><label>outcome {}</label><label>reviewed {}</label>\
         <label>text <input type=\"search\" name=\"q\" id=\"f-q\" value=\"{}\"></label><button type=\"submit\" id=\"f-apply\">filter</button></form>",
        select(
            "round",
            &q.round,
            &opts(&mut rounds.iter().map(|r| r.to_string()))
        ),
        select(
            "status",
            &q.status,
            &opts(&mut ["kept", "dropped"].iter().map(|s| s.to_string()))
        ),
        select(
            "outcome",
            &q.outcome,
            &opts(&mut OUTCOMES.iter().map(|(o, _)| o.to_string()))
        ),
        select(
            "reviewed",
            &q.reviewed,
            &[
                any(),
                ("yes".into(), "yes".into()),
                ("no".into(), "no".into()),
                ("excluded".into(), "excluded".into())
            ]
        ),
        esc(&q.q),
    );
    let Some(ranker) = ranker else {
        body.push_str("<p class=\"notice\">Nothing is ranked yet: run <code>rrtf rank</code>.</p>");
        return layout("prompts · rrtf review", Some(who), &body);
    };
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let _ = write!(
        body,
        "<p id=\"count\">{total} prompts match (ranker <code>{}</code>); page {page} of {pages}.</p>",
        esc(&ranker[..12.min(ranker.len())])
    );
    body.push_str("<table id=\"prompts\"><tr><th class=\"num\">prompt</th><th>source id</th><th class=\"num\">round</th><th class=\"num\">responses</th><th class=\"num\">best</th><th class=\"num\">worst</th><th>ranking</th><th>outcomes</th><th class=\"num\">reviews</th></tr>");
    for p in shown {
        let mix: Vec<String> = p
            .outcomes
            .iter()
            .map(|(o, n)| format!("{}×{n}", outcome_badge(o)))
            .collect();
        let mut status = match &p.drop_reason {
            Some(r) => format!("dropped: {}", esc(r)),
            None => esc(&p.status),
        };
        if p.excluded {
            status = format!("<b class=\"excluded\">excluded by review</b> (ranker: {status})");
        }
        let _ = write!(
            body,
            "<tr class=\"prompt-row{}\" data-prompt=\"{id}\"><td class=\"num\"><a href=\"/prompts/{id}\">{id}</a></td><td><a href=\"/prompts/{id}\">{}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.3}</td><td>{status}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            if p.excluded { " excluded" } else { "" },
            esc(&p.source_id),
            p.round,
            p.responses,
            p.best,
            p.worst,
            mix.join(" "),
            p.reviews,
            id = p.prompt_id,
        );
    }
    body.push_str("</table>");
    let link = |n: usize| {
        format!(
            "/prompts?round={}&status={}&outcome={}&reviewed={}&q={}&page={n}",
            url_value(&q.round),
            url_value(&q.status),
            url_value(&q.outcome),
            url_value(&q.reviewed),
            url_value(&q.q)
        )
    };
    body.push_str("<p class=\"pager\">");
    if page > 1 {
        let _ = write!(
            body,
            "<a id=\"prev\" href=\"{}\">← previous</a> ",
            esc(&link(page - 1))
        );
    }
    if page < pages {
        let _ = write!(
            body,
            "<a id=\"next\" href=\"{}\">next →</a>",
            esc(&link(page + 1))
        );
    }
    body.push_str("</p>");
    layout("prompts · rrtf review", Some(who), &body)
}

/// A button that POSTs one review action for the prompt (and a response), with a reason
/// (recorded in the audit trail, as the CLI's `--reason`): optional, or `required` by the
/// review policy (the browser asks for it; the store refuses the action without it anyway).
fn action_button(
    prompt_id: i64,
    action: &str,
    response: Option<i64>,
    label: &str,
    policy: &ReviewPolicy,
) -> String {
    let (rid, id) = match response {
        Some(r) => (r.to_string(), format!("{action}-{r}")),
        None => (String::new(), format!("{action}-prompt")),
    };
    let required = action
        .parse::<ReviewAction>()
        .is_ok_and(|a| policy.requires_reason(a));
    let (req, placeholder) = if required {
        (" required", "reason (required)")
    } else {
        ("", "reason (optional)")
    };
    format!(
        "<form class=\"inline\" method=\"post\" action=\"/prompts/{prompt_id}/review\">\
         <input type=\"hidden\" name=\"action\" value=\"{action}\"><input type=\"hidden\" name=\"response\" value=\"{rid}\">\
         <input type=\"text\" name=\"text\" class=\"reason\" id=\"{id}-reason\" size=\"14\" \
         placeholder=\"{placeholder}\" aria-label=\"reason for {label}\"{req}>\
         <button type=\"submit\" id=\"{id}\">{label}</button></form>"
    )
}

fn response_card(
    prompt_id: i64,
    r: &ResponseInfo,
    state: &ReviewState,
    effective: &[i64],
    policy: &ReviewPolicy,
) -> String {
    let pinned = state.pinned == Some(r.response_id);
    let excluded = state.excluded.contains(&r.response_id);
    let class = match (pinned, excluded) {
        (_, true) => "response excluded",
        (true, _) => "response pinned",
        _ => "response",
    };
    let rank = r
        .position
        .map_or("not ranked".to_owned(), |p| format!("#{}", p + 1));
    let mut s = format!(
        "<article class=\"{class}\" id=\"r{id}\" data-response=\"{id}\" draggable=\"true\"><h3>{rank} · response {id}</h3>",
        id = r.response_id
    );
    if pinned {
        s.push_str(
            "<span class=\"badge state\" style=\"background:#2e7d32\">pinned as chosen</span> ",
        );
    }
    if excluded {
        s.push_str("<span class=\"badge state\" style=\"background:#616161\">excluded</span> ");
    }
    let effective_pos = effective
        .iter()
        .position(|id| *id == r.response_id)
        .map_or("—".to_owned(), |p| format!("#{}", p + 1));
    let tests = match (r.tests_passed, r.tests_total) {
        (Some(p), Some(t)) => format!("{p}/{t}"),
        _ => "—".into(),
    };
    let _ = write!(
        s,
        "<table class=\"facts\"><tr><td>model</td><td class=\"model\">{} ({}{})</td></tr>\
         <tr><td>temperature</td><td>{}</td></tr><tr><td>sample</td><td>{}</td></tr>\
         <tr><td>finish</td><td>{}</td></tr>\
         <tr><td>outcome</td><td>{}</td></tr><tr><td>tests passed</td><td class=\"tests\">{tests}</td></tr>\
         <tr><td>score</td><td class=\"score\">{}</td></tr><tr><td>after reviews</td><td class=\"effective\">{effective_pos}</td></tr>",
        esc(&r.model),
        esc(r.role.as_str()),
        esc(&crate::review_text::checkpoint(r.endpoint.as_deref())),
        r.temperature.map_or("—".into(), |t| t.to_string()),
        r.sample_index,
        esc(r.finish_reason.as_deref().unwrap_or("—")),
        r.outcome
            .map_or("not executed".into(), |o| outcome_badge(o.as_str())),
        r.score.map_or("—".into(), |v| format!("{v:.4}")),
    );
    if let Some(f) = &r.first_failure {
        let _ = write!(
            s,
            "<tr><td>first failure</td><td><pre class=\"failure\">{}</pre></td></tr>",
            shown(f)
        );
    }
    s.push_str("</table>");
    if let Some(c) = &r.components_json {
        s.push_str(
            "<table class=\"components\"><tr><th>component</th><th class=\"num\">value</th></tr>",
        );
        match serde_json::from_str::<serde_json::Map<String, Value>>(c) {
            Ok(map) => {
                for (name, v) in &map {
                    let v = v.as_f64().map_or(v.to_string(), |x| format!("{x:.4}"));
                    let _ = write!(
                        s,
                        "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                        esc(name),
                        esc(&v)
                    );
                }
            }
            Err(_) => {
                let _ = write!(s, "<tr><td colspan=\"2\">{}</td></tr>", esc(c));
            }
        }
        s.push_str("</table>");
    }
    let code = r.code.as_deref().unwrap_or(&r.raw_text);
    let _ = write!(s, "<pre class=\"code\">{}</pre>", shown(code));
    if r.code.as_deref().is_some_and(|c| c != r.raw_text) {
        let _ = write!(
            s,
            "<details><summary>raw response</summary><pre class=\"raw\">{}</pre></details>",
            shown(&r.raw_text)
        );
    }
    s.push_str("<div class=\"actions\">");
    s.push_str(&if pinned {
        action_button(prompt_id, "unpin", Some(r.response_id), "unpin", policy)
    } else {
        action_button(
            prompt_id,
            "pin",
            Some(r.response_id),
            "pin as chosen",
            policy,
        )
    });
    s.push_str(&if excluded {
        action_button(
            prompt_id,
            "include",
            Some(r.response_id),
            "include back",
            policy,
        )
    } else {
        action_button(prompt_id, "exclude", Some(r.response_id), "exclude", policy)
    });
    s.push_str("</div></article>");
    s
}

/// The prompt page; `effective` is the order exports see after reviews.
pub fn prompt(who: &Who, d: &PromptDetail, effective: &[i64], policy: &ReviewPolicy) -> String {
    let p = &d.prompt;
    let state = ReviewState::of(&d.reviews);
    let mut body = format!(
        "<h1>Prompt {} · <span id=\"source-id\">{}</span></h1><p>source {}, round {}, {}, {}, status {}",
        p.prompt_id,
        esc(&p.source_id),
        esc(&p.source),
        p.round,
        esc(p.kind.as_str()),
        esc(&p.language),
        esc(&p.status),
    );
    if let Some(parent) = p.parent_id {
        let _ = write!(
            body,
            "; evolved from <a href=\"/prompts/{parent}\">prompt {parent}</a> by {}",
            esc(p.evolution_method.as_deref().unwrap_or("?"))
        );
    }
    body.push_str(
        "</p><p id=\"stale\" class=\"notice\" hidden>Another reviewer acted on this prompt \
         since this page was loaded: <a href=\"\">reload</a> to see it in the audit trail.</p>\
         <p id=\"ranking\">",
    );
    match (&d.ranking_status, &d.drop_reason) {
        (Some(_), Some(reason)) => {
            let _ = write!(body, "Dropped by the ranker: {}.", esc(reason));
        }
        (Some(s), None) => {
            let _ = write!(body, "Ranking: {}.", esc(s));
        }
        _ => body.push_str("Not ranked."),
    }
    if state.prompt_excluded {
        body.push_str(
            " <b id=\"prompt-excluded\">Excluded from exports and training by review.</b>",
        );
    } else if !d.reviews.is_empty() {
        let _ = write!(body, " Order after reviews: {effective:?}.");
    }
    body.push_str("</p>");
    let _ = write!(
        body,
        "<h2>Prompt</h2><pre id=\"prompt-text\">{}</pre>",
        shown(&p.text)
    );
    let _ = write!(
        body,
        "<details open><summary>Tests ({})</summary>",
        d.tests.len()
    );
    for t in &d.tests {
        let _ = write!(
            body,
            "<p>test {} ({}, {})</p><pre class=\"test\">{}</pre>",
            t.id,
            esc(t.origin.as_str()),
            esc(&t.validation),
            shown(&t.code)
        );
    }
    body.push_str("</details>");
    let _ = write!(
        body,
        "<h2>Responses ({}, in rank order)</h2><div class=\"responses\">",
        d.responses.len()
    );
    for r in &d.responses {
        body.push_str(&response_card(p.prompt_id, r, &state, effective, policy));
    }
    body.push_str("</div>");
    let _ = write!(
        body,
        "<form id=\"reorder-form\" method=\"post\" action=\"/prompts/{}/review\">\
         <input type=\"hidden\" name=\"action\" value=\"reorder\">\
         <input type=\"hidden\" name=\"order\" id=\"reorder-order\">{}</form>\
         <p class=\"keys\" id=\"keys\">Drag a response onto another to put it there. Keys: \
         <kbd>j</kbd>/<kbd>k</kbd> select the next/previous response, <kbd>p</kbd> pin it, \
         <kbd>x</kbd> exclude or include it, <kbd>[</kbd>/<kbd>]</kbd> move it up/down the \
         order.</p><script id=\"review-keys\">{REVIEW_JS}</script>",
        p.prompt_id,
        if policy.requires_reason(ReviewAction::Reorder) {
            "<label>reason for a reorder (required by the review policy) \
             <input type=\"text\" name=\"text\" class=\"reason\" id=\"reorder-reason\" \
             size=\"24\" required></label>"
        } else {
            ""
        }
    );

    body.push_str("<h2>Review</h2>");
    if !policy.require_reason.is_empty() {
        let actions: Vec<&str> = policy.require_reason.iter().map(|a| a.as_str()).collect();
        let _ = write!(
            body,
            "<p class=\"notice\" id=\"policy\">The review policy requires a reason to {}.</p>",
            actions.join(", ")
        );
    }
    body.push_str("<p>");
    body.push_str(&if state.prompt_excluded {
        action_button(
            p.prompt_id,
            "include",
            None,
            "include the prompt back",
            policy,
        )
    } else {
        action_button(
            p.prompt_id,
            "exclude",
            None,
            "exclude the whole prompt",
            policy,
        )
    });
    if state.pinned.is_some() {
        body.push_str(&action_button(
            p.prompt_id,
            "unpin",
            None,
            "clear the pin",
            policy,
        ));
    }
    body.push_str("</p>");
    let mut targets = String::from("<option value=\"\">the prompt</option>");
    for r in &d.responses {
        let _ = write!(
            targets,
            "<option value=\"{id}\">response {id} ({})</option>",
            esc(&r.model),
            id = r.response_id
        );
    }
    let _ = write!(
        body,
        "<form id=\"note-form\" method=\"post\" action=\"/prompts/{}/review\"><input type=\"hidden\" name=\"action\" value=\"note\">\
         <p><textarea name=\"text\" id=\"note-text\" rows=\"3\" cols=\"80\" required placeholder=\"note\"></textarea></p>\
         <p>about <select name=\"response\" id=\"note-response\">{targets}</select> <button type=\"submit\" id=\"note-submit\">add note</button></p></form>",
        p.prompt_id
    );

    let _ = write!(
        body,
        "<h2 id=\"audit\" data-latest=\"{}\">Audit trail</h2>",
        d.reviews.iter().map(|v| v.id).max().unwrap_or(0)
    );
    if d.reviews.is_empty() {
        body.push_str("<p id=\"no-reviews\">No reviews yet.</p>");
    } else {
        body.push_str("<table id=\"reviews\"><tr><th>#</th><th>time (UTC)</th><th>action</th><th>response</th><th>by</th><th>reason or note</th></tr>");
        for v in &d.reviews {
            let _ = write!(
                body,
                "<tr class=\"review\" data-action=\"{action}\"><td>{}</td><td>{}</td><td>{action}</td><td>{}</td><td class=\"author\">{}</td><td class=\"reason\">{}</td></tr>",
                v.id,
                esc(&v.created_at),
                v.response_id.map_or(String::new(), |r| r.to_string()),
                esc(&v.author),
                esc(v.reason.as_deref().unwrap_or("")),
                action = v.action,
            );
        }
        body.push_str("</table>");
    }
    layout(
        &format!("prompt {} · rrtf review", p.source_id),
        Some(who),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::{ListQuery, SHOWN, Who, index, list, shown, url_value, with_csrf};

    /// A text of megabytes is shown cut, escaped, on a character boundary, with what is left.
    #[test]
    fn long_texts_are_cut_with_a_note() {
        assert_eq!(shown("<a>"), "&lt;a&gt;");
        let long = format!("{}é<b>{}", "x".repeat(SHOWN - 1), "y".repeat(3_000_000));
        let html = shown(&long);
        assert!(html.len() < SHOWN + 300, "{}", html.len());
        assert!(html.starts_with(&"x".repeat(SHOWN - 1)));
        assert!(!html.contains('é') && !html.contains("<b>"));
        assert!(
            html.ends_with(&format!(
                "… {} more bytes not shown here (the whole text: `rrtf --json review show ID`, \
                 or an export)</span>",
                long.len() - (SHOWN - 1)
            )),
            "{}",
            &html[SHOWN - 10..]
        );
    }

    fn ana() -> Who {
        Who {
            name: "ana".into(),
            csrf: None,
        }
    }

    /// With a session, every POST form carries its CSRF token (and there is a logout form);
    /// GET forms do not; without one, no form does.
    #[test]
    fn post_forms_carry_the_csrf_token() {
        let q = ListQuery::default();
        let signed = Who {
            name: "ana".into(),
            csrf: Some("c0ffee".into()),
        };
        let html = list(&signed, &q, &[0], &[], 0, 1, Some("0123456789abcdef"));
        let field = "<input type=\"hidden\" name=\"csrf\" value=\"c0ffee\">";
        assert!(
            html.contains(&format!("action=\"/logout\">{field}")),
            "{html}"
        );
        assert!(!html.contains(&format!("method=\"get\" action=\"/prompts\">{field}")));
        assert_eq!(
            html.matches(field).count(),
            html.matches("method=\"post\"").count()
        );
        let plain = list(&ana(), &q, &[0], &[], 0, 1, Some("0123456789abcdef"));
        assert!(
            !plain.contains("csrf") && !plain.contains("logout"),
            "{plain}"
        );
        assert_eq!(
            with_csrf(
                "<form id=\"a\" method=\"post\" action=\"/x\"><b>x</b></form><form method=\"post\">",
                "t"
            ),
            "<form id=\"a\" method=\"post\" action=\"/x\"><input type=\"hidden\" name=\"csrf\" value=\"t\"><b>x</b></form>\
             <form method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"t\">"
        );
    }

    /// Issue 15 point 20: the index says how many prompts a review excluded and links to them.
    #[test]
    fn the_index_counts_and_links_the_excluded_prompts() {
        let view = crate::overview::Overview {
            status: Default::default(),
            ranker: None,
            models: vec![],
            scores: vec![],
        };
        let html = index("db.sqlite", &ana(), &view, 2);
        assert!(
            html.contains(
                "<a id=\"excluded\" href=\"/prompts?reviewed=excluded\">2 excluded by review</a>"
            ),
            "{html}"
        );
    }

    /// Issue 15 point 20: a prompt excluded by review says so in the prompt list.
    #[test]
    fn excluded_prompts_show_as_excluded() {
        let row = |id: i64, excluded: bool| rrtf_store::PromptSummary {
            prompt_id: id,
            round: 0,
            source: "he".into(),
            source_id: format!("HumanEval/{id}"),
            status: "kept".into(),
            drop_reason: None,
            responses: 2,
            best: 1.1,
            worst: -0.3,
            outcomes: Default::default(),
            teachers: vec![],
            teacher_outcomes: Default::default(),
            reviews: u8::from(excluded).into(),
            flagged_tests: 0,
            excluded,
        };
        let html = list(
            &ana(),
            &ListQuery::default(),
            &[0],
            &[row(1, false), row(2, true)],
            2,
            1,
            Some("0123456789abcdef"),
        );
        let rows: Vec<&str> = html.split("<tr class=\"prompt-row").skip(1).collect();
        assert_eq!(rows.len(), 2, "{html}");
        assert!(!rows[0].contains("excluded"), "{}", rows[0]);
        assert!(
            rows[1].starts_with(" excluded\"")
                && rows[1].contains("excluded by review</b> (ranker: kept)"),
            "{}",
            rows[1]
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(url_value("HumanEval_0-x.y~"), "HumanEval_0-x.y~");
    }

    #[test]
    fn the_pager_keeps_the_filters() {
        let q = ListQuery {
            round: "1".into(),
            q: "a&b <c>".into(),
            ..ListQuery::default()
        };
        let page = |n| list(&ana(), &q, &[0, 1], &[], 120, n, Some("0123456789abcdef"));
        let link = |n| {
            format!(
                "/prompts?round=1&amp;status=&amp;outcome=&amp;reviewed=&amp;q=a%26b%20%3Cc%3E&amp;page={n}"
            )
        };
        let first = page(1);
        assert!(first.contains("page 1 of 3") && !first.contains("id=\"prev\""));
        assert!(
            first.contains(&format!("id=\"next\" href=\"{}\"", link(2))),
            "{first}"
        );
        let middle = page(2);
        assert!(middle.contains(&format!("id=\"prev\" href=\"{}\"", link(1))));
        assert!(middle.contains(&format!("id=\"next\" href=\"{}\"", link(3))));
        assert!(!page(3).contains("id=\"next\""));
        assert!(
            first.contains("value=\"a&amp;b &lt;c&gt;\""),
            "the search box is escaped"
        );
        assert!(first.contains("<option value=\"1\" selected>1</option>"));
    }
}
