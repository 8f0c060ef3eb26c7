//! Multi-series charts: stacked bars (a loss split by source), timelines (probabilities
//! through time) and labelled scatters (a frontier of proposals). Same rules as the
//! rest of [`super`]: self-contained SVG, no ids, placeholders instead of panics, no text
//! under 11 px, never wider than [`super::MAX_WIDTH`].

use super::{
    escape, format_number, label_body, nice_ticks, open, placeholder, text_w, truncate_end, Axis,
    GRID, MAX_WIDTH, MUTED,
};
use std::fmt::Write;

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => { let _ = write!($dst, $($arg)*); };
}

/// Categorical palette (Tableau 10), distinguishable in print and by most colour-blind
/// readers for the first six.
pub const SERIES_COLOURS: [&str; 10] = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d",
    "#bab0ac", "#ff9da6",
];

fn colour(i: usize) -> &'static str {
    SERIES_COLOURS[i % SERIES_COLOURS.len()]
}

/// A legend row of coloured swatches and names, starting at (`x`, `y`); wraps within
/// `width`. Returns the height used.
fn legend(s: &mut String, names: &[String], x: f64, y: f64, width: f64) -> f64 {
    let (mut cx, mut cy) = (x, y);
    for (i, name) in names.iter().enumerate() {
        let item_w = 18.0 + text_w(name) + 18.0;
        if cx + item_w > x + width && cx > x {
            cx = x;
            cy += 18.0;
        }
        w!(
            s,
            r#"<rect x="{cx:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{cy:.1}" dominant-baseline="central" font-size="11">{}</text>"#,
            cy - 6.0,
            colour(i),
            cx + 16.0,
            escape(name)
        );
        cx += item_w;
    }
    cy - y + 18.0
}

/// Horizontal stacked bars: one bar per label, one segment per source. Positive
/// segments stack right of zero, negative ones left, so a bar's visible extent shows
/// what adds to and what offsets the total; the total is written at the bar's end.
/// `values[i][j]` is label `i`'s amount from source `j`.
pub fn stacked_bar_chart(
    title: &str,
    labels: &[String],
    sources: &[String],
    values: &[Vec<f64>],
    axis: &Axis,
) -> String {
    let n = labels.len();
    if n == 0 || sources.is_empty() {
        return placeholder(title, "no bars");
    }
    if values.len() != n || values.iter().any(|r| r.len() != sources.len()) {
        return placeholder(title, "values are not labels × sources");
    }
    if !values.iter().flatten().any(|v| v.is_finite()) {
        return placeholder(title, "no finite values");
    }
    let scaled: Vec<Vec<f64>> = values
        .iter()
        .map(|r| {
            r.iter()
                .map(|&v| if v.is_finite() { axis.scale(v) } else { 0.0 })
                .collect()
        })
        .collect();
    let pos = |r: &Vec<f64>| r.iter().filter(|v| **v > 0.0).sum::<f64>();
    let neg = |r: &Vec<f64>| r.iter().filter(|v| **v < 0.0).sum::<f64>();
    let lo = scaled.iter().map(neg).fold(0.0, f64::min);
    let hi = scaled.iter().map(pos).fold(0.0, f64::max);
    let (ticks, tick_dec) = nice_ticks(lo, if hi == lo { 1.0 } else { hi });
    let (d0, d1) = (ticks[0], ticks[ticks.len() - 1]);
    let dec = axis
        .decimals
        .unwrap_or_else(|| super::auto_decimals(lo.abs().max(hi.abs())));
    let names: Vec<String> = labels.iter().map(|l| truncate_end(l, 40)).collect();
    let lab_w = names.iter().map(|l| text_w(l)).fold(40.0, f64::max);
    let x0 = 12.0 + lab_w + 12.0;
    let width = (x0 + 520.0 + 70.0).clamp(760.0, MAX_WIDTH);
    let x1 = width - 70.0;
    let x = |v: f64| x0 + (v - d0) / (d1 - d0) * (x1 - x0);
    let (row, bar_h, top) = (26.0, 18.0, 44.0);
    let plot_h = row * n as f64;
    let legend_rows =
        1.0 + (sources.iter().map(|s| text_w(s) + 36.0).sum::<f64>() / (x1 - 12.0)).floor();
    let mut s = open(width, top + plot_h + 56.0 + legend_rows * 18.0, title);
    for &t in &ticks {
        w!(
            s,
            r#"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}" stroke="{GRID}"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle" font-size="11" fill="{MUTED}">{3}</text>"#,
            x(t),
            top + plot_h,
            top + plot_h + 16.0,
            format_number(t, tick_dec)
        );
    }
    for (i, r) in scaled.iter().enumerate() {
        let y = top + i as f64 * row + (row - bar_h) / 2.0;
        let cy = y + bar_h / 2.0;
        w!(
            s,
            r#"<text x="{:.1}" y="{cy:.1}" text-anchor="end" dominant-baseline="central">{}</text>"#,
            12.0 + lab_w,
            label_body(&names[i], &labels[i])
        );
        let (mut right, mut left) = (0.0, 0.0);
        for (j, &v) in r.iter().enumerate() {
            if v == 0.0 {
                continue;
            }
            let (a, b) = if v > 0.0 {
                right += v;
                (x(right - v), x(right))
            } else {
                left += v;
                (x(left), x(left - v))
            };
            let tip = format!(
                "{} — {}: {}",
                labels[i],
                sources[j],
                axis.with_unit(&format_number(v, dec))
            );
            w!(
                s,
                r#"<rect class="segment" x="{a:.1}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{}"><title>{}</title></rect>"#,
                (b - a).max(0.0),
                colour(j),
                escape(&tip)
            );
        }
        w!(
            s,
            r#"<text x="{:.1}" y="{cy:.1}" dominant-baseline="central" font-size="11">{}</text>"#,
            x(right) + 5.0,
            format_number(right + left, dec)
        );
    }
    w!(
        s,
        r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}" stroke="#555"/>"##,
        x(0.0),
        top + plot_h
    );
    w!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        (x0 + x1) / 2.0,
        top + plot_h + 36.0,
        escape(&format!("{} (total at the bar's end)", axis.title()))
    );
    legend(&mut s, sources, 12.0, top + plot_h + 56.0, width - 24.0);
    s.push_str("</svg>");
    s
}

/// Lines over ordered labels (months), one per series, with `y_range` fixed when given
/// (e.g. 0–1 for probabilities). X ticks show about eight evenly spaced labels.
pub fn line_chart(
    title: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
    axis: &Axis,
    y_range: Option<(f64, f64)>,
) -> String {
    let n = labels.len();
    if n < 2 || series.is_empty() {
        return placeholder(title, "fewer than two points");
    }
    if series.iter().any(|(_, v)| v.len() != n) {
        return placeholder(title, "a series and the labels differ in length");
    }
    let finite = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .map(|v| axis.scale(v));
    let (lo, hi) = match y_range {
        Some(r) => r,
        None => finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        }),
    };
    if !lo.is_finite() || !hi.is_finite() {
        return placeholder(title, "no finite values");
    }
    let (ticks, tick_dec) = nice_ticks(lo, hi);
    let (d0, d1) = (ticks[0], ticks[ticks.len() - 1]);
    let (left, top, width) = (64.0, 44.0, MAX_WIDTH.min(1000.0));
    let (right, plot_h) = (width - 16.0, 240.0);
    let x = |i: usize| left + i as f64 / (n - 1) as f64 * (right - left);
    let y = |v: f64| top + plot_h - (v - d0) / (d1 - d0) * plot_h;
    let names: Vec<String> = series.iter().map(|(name, _)| name.clone()).collect();
    let mut s = open(
        width,
        top + plot_h + 84.0 + 18.0 * (names.len() / 6) as f64,
        title,
    );
    for &t in &ticks {
        w!(
            s,
            r#"<line x1="{left}" x2="{right}" y1="{0:.1}" y2="{0:.1}" stroke="{GRID}"/><text x="{1}" y="{0:.1}" text-anchor="end" dominant-baseline="central" font-size="11" fill="{MUTED}">{2}</text>"#,
            y(t),
            left - 6.0,
            format_number(t, tick_dec)
        );
    }
    let step = n.div_ceil(8).max(1);
    for i in (0..n).step_by(step) {
        w!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="{MUTED}">{}</text>"#,
            x(i),
            top + plot_h + 16.0,
            escape(&labels[i])
        );
    }
    for (j, (name, values)) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, &v) in values.iter().enumerate() {
            if !v.is_finite() {
                pen_down = false;
                continue;
            }
            let v = axis.scale(v).clamp(d0, d1);
            w!(
                d,
                "{}{:.1},{:.1}",
                if pen_down { " L" } else { " M" },
                x(i),
                y(v)
            );
            pen_down = true;
        }
        w!(
            s,
            r#"<path class="line" d="{}" fill="none" stroke="{}" stroke-width="1.5"><title>{}</title></path>"#,
            d.trim(),
            colour(j),
            escape(name)
        );
    }
    w!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        escape(&axis.title())
    );
    legend(&mut s, &names, left, top + plot_h + 44.0, right - left);
    s.push_str("</svg>");
    s
}

/// Stacked areas over ordered labels for shares that sum to one at every label (e.g.
/// regime probabilities): each band's height is its share, so the eye reads which
/// regime dominates when, without lines crossing. Shown 0–100%.
pub fn stacked_area_chart(title: &str, labels: &[String], series: &[(String, Vec<f64>)]) -> String {
    let n = labels.len();
    if n < 2 || series.is_empty() {
        return placeholder(title, "fewer than two points");
    }
    if series.iter().any(|(_, v)| v.len() != n) {
        return placeholder(title, "a series and the labels differ in length");
    }
    let (left, top, width) = (64.0, 44.0, MAX_WIDTH.min(1000.0));
    let (right, plot_h) = (width - 16.0, 200.0);
    let x = |i: usize| left + i as f64 / (n - 1) as f64 * (right - left);
    let y = |share: f64| top + plot_h - share.clamp(0.0, 1.0) * plot_h;
    let names: Vec<String> = series.iter().map(|(name, _)| name.clone()).collect();
    let mut s = open(
        width,
        top + plot_h + 84.0 + 18.0 * (names.len() / 6) as f64,
        title,
    );
    let mut below = vec![0.0; n];
    for (j, (name, values)) in series.iter().enumerate() {
        let above: Vec<f64> = below
            .iter()
            .zip(values)
            .map(|(b, v)| b + if v.is_finite() { v.max(0.0) } else { 0.0 })
            .collect();
        let mut d = String::new();
        for (i, a) in above.iter().enumerate() {
            w!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                x(i),
                y(*a)
            );
        }
        for i in (0..n).rev() {
            w!(d, " L{:.1},{:.1}", x(i), y(below[i]));
        }
        w!(
            s,
            r#"<path class="area" d="{d} Z" fill="{}" stroke="none"><title>{}</title></path>"#,
            colour(j),
            escape(name)
        );
        below = above;
    }
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        w!(
            s,
            r#"<line x1="{left}" x2="{right}" y1="{0:.1}" y2="{0:.1}" stroke="{GRID}" stroke-opacity="0.6"/><text x="{1}" y="{0:.1}" text-anchor="end" dominant-baseline="central" font-size="11" fill="{MUTED}">{2}</text>"#,
            y(t),
            left - 6.0,
            format_number(100.0 * t, 0)
        );
    }
    let step = n.div_ceil(8).max(1);
    for i in (0..n).step_by(step) {
        w!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="{MUTED}">{}</text>"#,
            x(i),
            top + plot_h + 16.0,
            escape(&labels[i])
        );
    }
    w!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle" fill="{MUTED}">Share (%)</text>"#,
        top + plot_h / 2.0,
        top + plot_h / 2.0
    );
    legend(&mut s, &names, left, top + plot_h + 44.0, right - left);
    s.push_str("</svg>");
    s
}

/// Labelled points at (x, y), e.g. proposals on a risk–return plane; each point is
/// named beside it and in its tooltip.
pub fn scatter_chart(
    title: &str,
    labels: &[String],
    xs: &[f64],
    ys: &[f64],
    x_axis: &Axis,
    y_axis: &Axis,
) -> String {
    let n = labels.len();
    if n == 0 {
        return placeholder(title, "no points");
    }
    if xs.len() != n || ys.len() != n {
        return placeholder(title, "labels and coordinates differ in length");
    }
    let pts: Vec<(usize, f64, f64)> = (0..n)
        .filter(|&i| xs[i].is_finite() && ys[i].is_finite())
        .map(|i| (i, x_axis.scale(xs[i]), y_axis.scale(ys[i])))
        .collect();
    if pts.is_empty() {
        return placeholder(title, "no finite points");
    }
    let span = |v: &mut dyn Iterator<Item = f64>| {
        v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        })
    };
    let (xlo, xhi) = span(&mut pts.iter().map(|p| p.1));
    let (ylo, yhi) = span(&mut pts.iter().map(|p| p.2));
    let (xt, xdec) = nice_ticks(xlo, xhi);
    let (yt, ydec) = nice_ticks(ylo, yhi);
    let width = (text_w(title) * 15.0 / 12.0 + 40.0).clamp(860.0, MAX_WIDTH);
    let (left, top) = (72.0, 44.0);
    let (right, plot_h) = (width - 180.0, 320.0);
    let px = |v: f64| left + (v - xt[0]) / (xt[xt.len() - 1] - xt[0]) * (right - left);
    let py = |v: f64| top + plot_h - (v - yt[0]) / (yt[yt.len() - 1] - yt[0]) * plot_h;
    let mut s = open(width, top + plot_h + 52.0, title);
    for &t in &yt {
        w!(
            s,
            r#"<line x1="{left}" x2="{right}" y1="{0:.1}" y2="{0:.1}" stroke="{GRID}"/><text x="{1}" y="{0:.1}" text-anchor="end" dominant-baseline="central" font-size="11" fill="{MUTED}">{2}</text>"#,
            py(t),
            left - 6.0,
            format_number(t, ydec)
        );
    }
    for &t in &xt {
        w!(
            s,
            r#"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}" stroke="{GRID}"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle" font-size="11" fill="{MUTED}">{3}</text>"#,
            px(t),
            top + plot_h,
            top + plot_h + 16.0,
            format_number(t, xdec)
        );
    }
    // A sweep of many points would bury itself in labels: name about eight of them
    // (and the last); every point keeps its name in its tooltip.
    let label_every = pts.len().div_ceil(8).max(1);
    for (k, &(i, xv, yv)) in pts.iter().enumerate() {
        let shown = if k % label_every == 0 || k + 1 == pts.len() {
            escape(&truncate_end(&labels[i], 26))
        } else {
            String::new()
        };
        let tip = format!(
            "{}: {} , {}",
            labels[i],
            x_axis.with_unit(&format_number(xv, xdec + 1)),
            y_axis.with_unit(&format_number(yv, ydec + 1))
        );
        w!(
            s,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="5" fill="{}"><title>{}</title></circle><text x="{:.1}" y="{:.1}" dominant-baseline="central" font-size="11">{}</text>"#,
            px(xv),
            py(yv),
            colour(k),
            escape(&tip),
            px(xv) + 8.0,
            py(yv),
            shown
        );
    }
    w!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        (left + right) / 2.0,
        top + plot_h + 38.0,
        escape(&x_axis.title())
    );
    w!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle" fill="{MUTED}">{}</text></svg>"#,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        escape(&y_axis.title())
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("item {i}")).collect()
    }

    #[test]
    fn stacked_bars_have_one_segment_per_nonzero_source() {
        let values = vec![
            vec![-3.0e8, 1.0e7, 0.0, -2.0e7],
            vec![-1.0e8, -5.0e7, 2.0e7, 0.0],
        ];
        let svg = stacked_bar_chart(
            "Loss by source",
            &names(2),
            &names(4),
            &values,
            &Axis::plain("P&L", "USD"),
        );
        super::super::tests::assert_chart(&svg);
        assert_eq!(svg.matches(r#"class="segment""#).count(), 6);
        assert!(
            stacked_bar_chart("x", &names(2), &names(3), &values, &Axis::plain("", ""))
                .contains("No data")
        );
    }

    #[test]
    fn timelines_draw_one_path_per_series_and_break_at_gaps() {
        let labels: Vec<String> = (0..120)
            .map(|i| format!("{}-{:02}", 2000 + i / 12, i % 12 + 1))
            .collect();
        let a: Vec<f64> = (0..120).map(|i| (i as f64 / 20.0).sin().abs()).collect();
        let mut b: Vec<f64> = a.iter().map(|v| 1.0 - v).collect();
        b[50] = f64::NAN;
        let svg = line_chart(
            "Regimes",
            &labels,
            &[("calm".into(), a), ("stress".into(), b)],
            &Axis::plain("Probability", ""),
            Some((0.0, 1.0)),
        );
        super::super::tests::assert_chart(&svg);
        assert_eq!(svg.matches(r#"class="line""#).count(), 2);
        assert!(line_chart(
            "x",
            &labels[..1],
            &[("a".into(), vec![1.0])],
            &Axis::plain("", ""),
            None
        )
        .contains("No data"));
    }

    #[test]
    fn stacked_areas_have_one_band_per_series() {
        let labels: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        let a: Vec<f64> = (0..50).map(|i| (i as f64 / 7.0).sin().abs()).collect();
        let b: Vec<f64> = a.iter().map(|v| 1.0 - v).collect();
        let svg = stacked_area_chart(
            "Regimes",
            &labels,
            &[("calm".into(), a), ("stress".into(), b)],
        );
        super::super::tests::assert_chart(&svg);
        assert_eq!(svg.matches(r#"class="area""#).count(), 2);
    }

    #[test]
    fn scatter_labels_every_finite_point() {
        let svg = scatter_chart(
            "Frontier",
            &names(4),
            &[0.01, 0.02, f64::NAN, 0.015],
            &[3.0e8, 2.0e8, 1.0, 2.5e8],
            &Axis::plain("Return", "%"),
            &Axis::plain("ES", "USD"),
        );
        super::super::tests::assert_chart(&svg);
        assert_eq!(svg.matches(r#"class="point""#).count(), 3);
    }
}
