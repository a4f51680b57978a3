//! Charts as inline SVG, self-contained (no script, no external asset): line charts (training
//! curves), horizontal bars (a sweep's variants), stacked bars (outcomes per model) and
//! vertical bars (histograms, counts per round).

use std::fmt::Write as _;

use rrtf_store::TrainingCurves;

use crate::html::{OUTCOMES, esc};

/// One line: (legend label, colour, points (x, y) in x order).
pub type Series<'a> = (String, &'a str, Vec<(f64, f64)>);

fn tick(v: f64) -> String {
    if v.abs() >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Lines over a shared x axis (steps), y scaled to the data, with axis labels and a legend.
pub fn line_chart(title: &str, x_label: &str, series: &[Series]) -> String {
    // The legend takes rows of four above the plot.
    let legend_rows = series.len().div_ceil(4).max(1) as f64;
    let (w, h) = (720.0, 226.0 + 14.0 * legend_rows);
    let (left, right, top, bottom) = (56.0, 12.0, 10.0 + 14.0 * legend_rows, 40.0);
    let points = series.iter().flat_map(|s| s.2.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img"><text x="{left}" y="14" font-size="12" font-weight="bold">{}</text>"#,
        esc(title)
    );
    if x0 > x1 {
        svg.push_str(r#"<text x="60" y="120" font-size="12">no data</text></svg>"#);
        return svg;
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    if y1 == y0 {
        y1 = y0 + 1.0;
    }
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * (w - left - right);
    let sy = |y: f64| top + (y1 - y) / (y1 - y0) * (h - top - bottom);
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{left}" y1="{top}" x2="{left}" y2="{b}" stroke="#888"/>"##,
        b = h - bottom,
        r = w - right
    );
    for (v, y) in [(y1, top), (y0, h - bottom)] {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>"#,
            left - 4.0,
            y + 4.0,
            tick(v)
        );
    }
    for (v, anchor) in [(x0, "start"), (x1, "end")] {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="{anchor}">{}</text>"#,
            sx(v),
            h - bottom + 14.0,
            tick(v)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>"#,
        (left + w - right) / 2.0,
        h - 8.0,
        esc(x_label)
    );
    for (i, (label, color, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{}"><title>{}</title></polyline>"#,
            path.join(" "),
            esc(label)
        );
        if pts.len() == 1 {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                sx(pts[0].0),
                sy(pts[0].1)
            );
        }
        let lx = left + 10.0 + (i % 4) as f64 * 165.0;
        let ly = 24.0 + (i / 4) as f64 * 14.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="12" height="3" fill="{color}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            ly + 2.0,
            lx + 16.0,
            ly + 6.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per (label, value), the label above its bar and the value after it;
/// None is drawn as "n/a" with no bar. Bars start at 0 (or at the smallest value when some are
/// negative), so losses and accuracies both read.
pub fn hbar_chart(title: &str, rows: &[(String, Option<f64>)], color: &str) -> String {
    let (w, row_h, left, top) = (720.0, 34.0, 10.0, 24.0);
    let h = top + rows.len() as f64 * row_h + 8.0;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img"><text x="{left}" y="14" font-size="12" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let values = rows.iter().filter_map(|r| r.1).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let full = w - 2.0 * left - 70.0;
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let _ = write!(
            svg,
            r#"<text x="{left}" y="{:.1}" font-size="11">{}</text>"#,
            y + 10.0,
            esc(label)
        );
        match v.filter(|v| v.is_finite()) {
            Some(v) => {
                let bw = ((v - lo) / span * full).max(1.0);
                let _ = write!(
                    svg,
                    r#"<rect x="{left}" y="{:.1}" width="{bw:.1}" height="14" fill="{color}"><title>{}: {v}</title></rect><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                    y + 14.0,
                    esc(label),
                    left + bw + 4.0,
                    y + 25.0,
                    tick(v)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r##"<text x="{left}" y="{:.1}" font-size="10" fill="#888">n/a</text>"##,
                    y + 25.0
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A training run's curve of one metric as a chart series: (step, value) in step order.
pub fn curve(c: &TrainingCurves, split: &str, name: &str) -> Vec<(f64, f64)> {
    c.series(split, name)
        .into_iter()
        .map(|(step, v)| (step as f64, v))
        .collect()
}

/// A training run's curves: loss terms and preference accuracy over steps, train and
/// held-out.
pub fn training_charts(c: &TrainingCurves) -> String {
    let mut html = line_chart(
        "loss per step",
        "step",
        &[
            ("loss (train)".into(), "#1565c0", curve(c, "train", "loss")),
            (
                "sft (train)".into(),
                "#00897b",
                curve(c, "train", "sft_loss"),
            ),
            (
                "loss (held out)".into(),
                "#c62828",
                curve(c, "eval", "loss"),
            ),
        ],
    );
    html += &split_chart(
        c,
        "fine-tuning (sft) loss per response token",
        "sft_loss_per_token",
        ["sft per token (train)", "sft per token (held out)"],
        ["#00897b", "#c62828"],
    );
    html += &split_chart(
        c,
        "rank loss per step",
        "rank_loss",
        ["rank (train)", "rank (held out)"],
        ["#5e35b1", "#ef6c00"],
    );
    html += &split_chart(
        c,
        "preference accuracy (share of pairs with p_better > p_worse)",
        "preference_accuracy",
        ["train", "held out"],
        ["#2e7d32", "#c62828"],
    );
    html
}

/// One metric per step on the training and the held-out split: `labels` and `colors` in that
/// order.
fn split_chart(
    c: &TrainingCurves,
    title: &str,
    metric: &str,
    labels: [&str; 2],
    colors: [&'static str; 2],
) -> String {
    line_chart(
        title,
        "step",
        &[
            (labels[0].into(), colors[0], curve(c, "train", metric)),
            (labels[1].into(), colors[1], curve(c, "eval", metric)),
        ],
    )
}

/// A labelled row of (segment name, value, colour).
pub type StackedRow<'a> = (String, Vec<(String, f64, &'a str)>);

/// Horizontal stacked bars, a label above each bar, segments as shares of the row's total;
/// the legend names the outcomes.
pub fn stacked_bars(rows: &[StackedRow]) -> String {
    let (w, row_h, left) = (720.0, 42.0, 10.0);
    let legend_rows = OUTCOMES.len().div_ceil(5) as f64;
    let h = rows.len() as f64 * row_h + 20.0 * legend_rows + 10.0;
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">"#);
    for (i, (label, parts)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let total: f64 = parts.iter().map(|p| p.1).sum();
        let _ = write!(
            svg,
            r#"<text x="{left}" y="{}" font-size="12">{}</text>"#,
            y + 11.0,
            esc(label)
        );
        let mut x = left;
        for (name, v, color) in parts {
            let pw = if total > 0.0 {
                v / total * (w - 2.0 * left)
            } else {
                0.0
            };
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{}" width="{pw:.1}" height="20" fill="{color}"><title>{}: {} ({:.1}%)</title></rect>"#,
                y + 16.0,
                esc(name),
                v,
                100.0 * v / total.max(1.0)
            );
            x += pw;
        }
    }
    for (i, (name, color)) in OUTCOMES.iter().enumerate() {
        let lx = left + (i % 5) as f64 * 140.0;
        let ly = rows.len() as f64 * row_h + 16.0 + (i / 5) as f64 * 20.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{ly}" font-size="11">{name}</text>"#,
            ly - 9.0,
            lx + 14.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars with labels under them (every other label when there are many).
pub fn bars(values: &[(String, f64)], color: &str) -> String {
    let (w, h, bottom) = (720.0, 220.0, 30.0);
    let peak = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1.0);
    let bw = ((w - 40.0) / values.len().max(1) as f64).min(90.0);
    let step = if values.len() > 8 { 2 } else { 1 };
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">"#);
    for (i, (label, v)) in values.iter().enumerate() {
        let bh = v / peak * (h - bottom - 20.0);
        let x = 20.0 + i as f64 * bw;
        let y = h - bottom - bh;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{color}"><title>{}: {v}</title></rect>"#,
            x + 2.0,
            bw - 4.0,
            esc(label)
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{v}</text>"#,
            x + bw / 2.0,
            y - 3.0
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
                x + bw / 2.0,
                h - bottom + 14.0,
                esc(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// `bins` equal-width bins over the values' range: (low, high, count).
pub fn histogram(values: &[f64], bins: usize) -> Vec<(f64, f64, u64)> {
    if values.is_empty() {
        return vec![];
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0u64; bins];
    for v in values {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| (lo + i as f64 * width, lo + (i + 1) as f64 * width, n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_points_into_the_frame_and_escapes_labels() {
        let s = line_chart(
            "loss <train>",
            "step",
            &[(
                "a&b".into(),
                "#000",
                vec![(1.0, 10.0), (2.0, 5.0), (3.0, 0.0)],
            )],
        );
        assert!(
            s.contains("loss &lt;train&gt;") && s.contains("a&amp;b"),
            "{s}"
        );
        // x 1 -> left edge, x 3 -> right edge; y 10 -> top, y 0 -> bottom.
        assert!(
            s.contains(r#"points="56.0,24.0 382.0,112.0 708.0,200.0""#),
            "{s}"
        );
        assert!(line_chart("t", "step", &[]).contains("no data"));
    }

    #[test]
    fn legends_wrap_into_rows_of_four_above_the_plot() {
        let series: Vec<Series> = (0..6)
            .map(|i| (format!("v{i}"), "#000", vec![(0.0, 0.0), (1.0, 1.0)]))
            .collect();
        let s = line_chart("t", "step", &series);
        // Two legend rows: the plot starts lower and the picture is taller.
        assert!(s.contains(r#"height="254""#), "{s}");
        assert!(s.contains(r#"points="56.0,214.0 708.0,38.0""#), "{s}");
        for i in 0..6 {
            assert!(s.contains(&format!(">v{i}</text>")), "{s}");
        }
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_mark_missing_ones() {
        let s = hbar_chart(
            "acc <%>",
            &[
                ("a".into(), Some(1.0)),
                ("b".into(), Some(0.5)),
                ("c".into(), None),
            ],
            "#123",
        );
        assert!(s.contains("acc &lt;%&gt;"), "{s}");
        assert!(
            s.contains(r#"width="630.0""#) && s.contains(r#"width="315.0""#),
            "{s}"
        );
        assert!(s.contains(">n/a</text>"), "{s}");
    }

    #[test]
    fn a_curve_is_one_metric_of_one_split_in_step_order() {
        let point = |step, split: &str, name: &str, value| rrtf_store::MetricPoint {
            step,
            split: split.into(),
            name: name.into(),
            value,
        };
        let c = TrainingCurves {
            id: 1,
            round: 1,
            base_model: "b".into(),
            output_dir: "o".into(),
            status: "done".into(),
            points: vec![
                point(1, "eval", "loss", 9.0),
                point(1, "train", "loss", 3.0),
                point(2, "train", "loss", 2.0),
                point(2, "train", "rank_loss", 1.0),
                point(2, "train", "sft_loss_per_token", 0.5),
            ],
        };
        assert_eq!(curve(&c, "train", "loss"), [(1.0, 3.0), (2.0, 2.0)]);
        assert_eq!(curve(&c, "eval", "loss"), [(1.0, 9.0)]);
        let charts = training_charts(&c);
        assert_eq!(charts.matches("<svg").count(), 4, "{charts}");
        assert!(charts.contains("<title>loss (train)</title>"), "{charts}");
        assert!(
            charts.contains("<title>sft per token (train)</title>"),
            "{charts}"
        );
    }

    #[test]
    fn histograms_put_the_largest_value_in_the_last_bin() {
        assert_eq!(
            histogram(&[0.0, 0.5, 1.0, 1.0], 2),
            [(0.0, 0.5, 1), (0.5, 1.0, 3)]
        );
        assert_eq!(histogram(&[2.0, 2.0], 3)[0], (2.0, 3.0, 2));
        assert!(histogram(&[], 4).is_empty());
    }
}
