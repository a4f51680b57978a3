//! Line charts as inline SVG (training curves), self-contained like the report's bar charts.

use std::fmt::Write as _;

use super::html::esc;

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
    let (w, h) = (720.0, 240.0);
    let (left, right, top, bottom) = (56.0, 12.0, 24.0, 40.0);
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
        let lx = left + 10.0 + i as f64 * 170.0;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="12" height="3" fill="{color}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            top + 2.0,
            lx + 16.0,
            top + 6.0,
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
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
}
