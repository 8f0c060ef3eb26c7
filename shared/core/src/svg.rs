//! Dependency-free inline-SVG chart primitives for `report.html`.
//!
//! Every chart function returns one self-contained `<svg>` element: no scripts, no external
//! fonts or CSS, and no `id` attributes (so any number of charts can share one page without
//! clashing). Bad input (empty, mismatched lengths, all-NaN) never panics; it renders a small
//! "No data" placeholder that says why. Tooltips are plain SVG `<title>` children: a label
//! shortened to fit carries its full text in one.
//!
//! Legibility: no text is smaller than 11 px in viewBox units, and no chart is wider than
//! [`MAX_WIDTH`]. Each chart's `width` attribute equals its viewBox width, so a browser
//! draws it at scale min(1, container / viewBox width) and never enlarges it. The report
//! kit makes the content column exactly `MAX_WIDTH` = 1100 px wide whenever the window is
//! at least 1100 + 2 × 16 (body padding) + 15 (scrollbar) = 1147 px, and lays charts side
//! by side only while they fit at their own size. So on a 1440-px-wide page every chart is
//! drawn at scale 1 and its smallest text at 11 px × 1 = 11 px; the tests check the
//! viewBox widths and font sizes behind that.

use std::fmt::Write;

mod series;
pub use series::{
    line_chart, scatter_chart, stacked_area_chart, stacked_bar_chart, SERIES_COLOURS,
};

const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const INK: &str = "#222";
const MUTED: &str = "#666";
const GRID: &str = "#e4e4e4";
/// Rough advance of one glyph at 12px, used to size label columns.
const CHAR_W: f64 = 6.6;
/// Widest chart, in viewBox units (= CSS px at scale 1): the report's content width.
pub const MAX_WIDTH: f64 = 1100.0;
/// Smallest font size used in any chart, in viewBox units.
pub const MIN_FONT_PX: f64 = 11.0;
const MARKER_COLOURS: [&str; 5] = ["#c62828", "#6a1b9a", "#ef6c00", "#2e7d32", "#00838f"];

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => { let _ = write!($dst, $($arg)*); };
}

/// XML/HTML-escapes `& < > " '`; also drops control characters XML 1.0 forbids.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `1234567.891` with 2 decimals → `"1,234,567.89"`; NaN → `"n/a"`; ±∞ → `"∞"`/`"-∞"`.
/// Values that round to zero never carry a minus sign.
pub fn format_number(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        return "n/a".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "-∞" }.into();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if x < 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        out.push('-');
    }
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// What a value axis measures and the unit its numbers are in: the axis title reads
/// `Loss (USD m)`, ticks and value labels show `414.9`, not `414,865,019`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// What is measured, e.g. `Loss`.
    pub name: String,
    /// The unit the numbers are shown in, e.g. `USD m` or `%`; empty for none.
    pub unit: String,
    /// Raw values are divided by this before display (1e6 for millions).
    pub divisor: f64,
    /// Decimals of value labels; `None` picks them from the magnitude.
    pub decimals: Option<usize>,
}

impl Axis {
    /// Values shown as given, with an optional unit.
    pub fn plain(name: &str, unit: &str) -> Axis {
        Axis {
            name: name.into(),
            unit: unit.into(),
            divisor: 1.0,
            decimals: None,
        }
    }

    fn title(&self) -> String {
        if self.unit.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.unit)
        }
    }

    fn scale(&self, v: f64) -> f64 {
        if self.divisor.is_finite() && self.divisor != 0.0 {
            v / self.divisor
        } else {
            v
        }
    }

    /// `414.9 USD m`, for tooltips and legends that stand apart from the axis.
    fn with_unit(&self, text: &str) -> String {
        if self.unit.is_empty() {
            text.to_string()
        } else {
            format!("{text} {}", self.unit)
        }
    }
}

/// Heckbert (1990): a "nice" number (1, 2, 5 × 10^k) close to `x`; rounded or the ceiling.
fn nice_num(x: f64, round: bool) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    let f = x / p;
    let nf = match (round, f) {
        (true, f) if f < 1.5 => 1.0,
        (true, f) if f < 3.0 => 2.0,
        (true, f) if f < 7.0 => 5.0,
        (false, f) if f <= 1.0 => 1.0,
        (false, f) if f <= 2.0 => 2.0,
        (false, f) if f <= 5.0 => 5.0,
        _ => 10.0,
    };
    nf * p
}

/// Heckbert's loose labelling of `[lo, hi]`: ticks that cover the range, 4–6 of them where
/// any target count achieves that, plus the decimals the tick step needs.
fn nice_ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !lo.is_finite() || !hi.is_finite() {
        return (vec![0.0, 1.0], 0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.5 };
        (lo, hi) = (lo - pad, hi + pad);
    }
    let mut first = None;
    for target in [5.0, 6.0, 4.0, 7.0] {
        let d = nice_num(nice_num(hi - lo, false) / (target - 1.0), true);
        let (k0, k1) = ((lo / d).floor(), (hi / d).ceil());
        let n = ((k1 - k0) as usize).min(60);
        let ticks: Vec<f64> = (0..=n).map(|i| (k0 + i as f64) * d).collect();
        let decimals = (-d.log10().floor()).clamp(0.0, 12.0) as usize;
        if (4..=6).contains(&ticks.len()) {
            return (ticks, decimals);
        }
        first.get_or_insert((ticks, decimals));
    }
    first.unwrap_or((vec![lo, hi], 2))
}

/// Decimals for data values shown in text: money-sized numbers get none.
fn auto_decimals(max_abs: f64) -> usize {
    match max_abs {
        m if m >= 100.0 => 0,
        m if m >= 1.0 => 2,
        _ => 4,
    }
}

/// Shortens long labels in the middle ("Very long fa…number 11"), so labels that differ only
/// at the end stay distinguishable; the full text stays in the tooltips.
fn truncate(s: &str, max_chars: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max_chars {
        return s.to_string();
    }
    let head = max_chars.saturating_sub(1) * 3 / 5;
    let tail = max_chars.saturating_sub(1) - head;
    let mut t: String = chars[..head].iter().collect();
    t.push('…');
    t.extend(&chars[chars.len() - tail..]);
    t
}

/// Shortens at the end ("2008-09 global financial cri…"): for labels that are read from
/// the start, such as scenario names led by their rank.
fn truncate_end(s: &str, max_chars: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max_chars {
        return s.to_string();
    }
    let mut t: String = chars[..max_chars.saturating_sub(1)].iter().collect();
    t.push('…');
    t
}

/// The body of a `<text>` element: the shown label, plus the full one as a tooltip when
/// the shown one was shortened.
fn label_body(shown: &str, full: &str) -> String {
    if shown == full {
        escape(shown)
    } else {
        format!("<title>{}</title>{}", escape(full), escape(shown))
    }
}

fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

/// Opening tag, accessible title, white background and the visible heading.
fn open(w: f64, h: f64, title: &str) -> String {
    let t = escape(title);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img" aria-label="{t}" font-family="{FONT}" font-size="12" fill="{INK}" style="max-width:100%;height:auto"><title>{t}</title><rect width="{w:.0}" height="{h:.0}" fill="#fff"/><text x="12" y="24" font-size="15" font-weight="600">{t}</text>"##
    )
}

fn placeholder(title: &str, reason: &str) -> String {
    let mut s = open(480.0, 110.0, title);
    w!(
        s,
        r##"<rect x="12" y="38" width="456" height="60" rx="4" fill="#f5f5f5" stroke="#ddd"/><text x="240" y="72" text-anchor="middle" fill="{MUTED}">No data ({})</text></svg>"##,
        escape(reason)
    );
    s
}

/// Diverging blue – white – red scale; `t` in [0, 1].
fn diverging(t: f64) -> (u8, u8, u8) {
    const BLUE: [f64; 3] = [33.0, 102.0, 172.0];
    const WHITE: [f64; 3] = [247.0, 247.0, 247.0];
    const RED: [f64; 3] = [178.0, 24.0, 43.0];
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let (a, b, u) = if t < 0.5 {
        (BLUE, WHITE, t * 2.0)
    } else {
        (WHITE, RED, t * 2.0 - 1.0)
    };
    let c = |i: usize| (a[i] + (b[i] - a[i]) * u).round() as u8;
    (c(0), c(1), c(2))
}

/// Square heatmap (e.g. a correlation matrix) on a blue–white–red scale from `min` to `max`;
/// `scale_label` names what the colour legend measures.
pub fn heatmap(
    title: &str,
    labels: &[String],
    matrix: &[Vec<f64>],
    min: f64,
    max: f64,
    scale_label: &str,
) -> String {
    let n = labels.len();
    if n == 0 {
        return placeholder(title, "no labels");
    }
    if matrix.len() != n || matrix.iter().any(|r| r.len() != n) {
        return placeholder(title, "matrix is not labels × labels");
    }
    let (min, max) = if min.is_finite() && max.is_finite() && min < max {
        (min, max)
    } else {
        let m = matrix
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        if m > 0.0 {
            (-m, m)
        } else {
            (-1.0, 1.0)
        }
    };
    let names: Vec<String> = labels.iter().map(|l| truncate(l, 22)).collect();
    let lab_w = names.iter().map(|l| text_w(l)).fold(0.0, f64::max);
    let legend_w = 14.0 + 8.0 + text_w(scale_label).max(60.0);
    let (left, top) = (12.0 + lab_w + 8.0, 44.0 + lab_w * 0.71 + 8.0);
    // Cells shrink with many labels so the chart stays within MAX_WIDTH; below 34 px an
    // 11 px "-0.30" no longer fits, and the value moves to the tooltip only.
    let room = MAX_WIDTH - left - 24.0 - legend_w - 12.0;
    let cell = (480.0 / n as f64).clamp(34.0, 72.0).min(room / n as f64);
    let show_values = cell >= 34.0;
    let grid = cell * n as f64;
    let leg_x = left + grid + 24.0;
    let width = (leg_x + legend_w + 12.0)
        .max(left + grid + lab_w * 0.71 + 16.0)
        .min(MAX_WIDTH);
    let leg_h = grid.min(240.0);
    let mut s = open(width, top + grid.max(leg_h + 24.0) + 16.0, title);
    let fs = if cell < 44.0 { 11 } else { 12 };
    for (i, row) in matrix.iter().enumerate() {
        let y = top + i as f64 * cell;
        w!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" dominant-baseline="central">{}</text>"#,
            left - 8.0,
            y + cell / 2.0,
            label_body(&names[i], &labels[i])
        );
        for (j, &v) in row.iter().enumerate() {
            let x = left + j as f64 * cell;
            let t = (v - min) / (max - min);
            let (r, g, b) = if v.is_nan() {
                (221, 221, 221)
            } else {
                diverging(t)
            };
            let ink = if !v.is_nan() && (t - 0.5).abs() > 0.3 {
                "#fff"
            } else {
                INK
            };
            let tip = format!("{} × {}: {}", labels[i], labels[j], format_number(v, 2));
            w!(
                s,
                r##"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="rgb({r},{g},{b})" stroke="#fff"><title>{}</title></rect>"##,
                escape(&tip)
            );
            if show_values {
                w!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" dominant-baseline="central" font-size="{fs}" fill="{ink}" pointer-events="none">{}</text>"#,
                    x + cell / 2.0,
                    y + cell / 2.0,
                    format_number(v, 2)
                );
            }
        }
    }
    for (j, name) in names.iter().enumerate() {
        let x = left + (j as f64 + 0.5) * cell;
        w!(
            s,
            r#"<text transform="translate({x:.1},{:.1}) rotate(-45)">{}</text>"#,
            top - 6.0,
            label_body(name, &labels[j])
        );
    }
    // Legend: stepped strip (no gradient, so no ids), max at the top, titled below.
    let steps = 32;
    for k in 0..steps {
        let (r, g, b) = diverging(1.0 - (k as f64 + 0.5) / steps as f64);
        let y = top + leg_h * k as f64 / steps as f64;
        w!(
            s,
            r#"<rect x="{leg_x:.1}" y="{y:.2}" width="14" height="{:.2}" fill="rgb({r},{g},{b})"/>"#,
            leg_h / steps as f64 + 0.3
        );
    }
    w!(
        s,
        r##"<rect x="{leg_x:.1}" y="{top:.1}" width="14" height="{leg_h:.1}" fill="none" stroke="#bbb"/>"##
    );
    for (frac, v) in [(0.0, max), (0.5, (min + max) / 2.0), (1.0, min)] {
        w!(
            s,
            r#"<text x="{:.1}" y="{:.1}" dominant-baseline="central" font-size="11" fill="{MUTED}">{}</text>"#,
            leg_x + 20.0,
            top + leg_h * frac,
            format_number(v, 2)
        );
    }
    w!(
        s,
        r#"<text x="{leg_x:.1}" y="{:.1}" font-size="11" fill="{MUTED}">{}</text>"#,
        top + leg_h + 20.0,
        escape(scale_label)
    );
    s.push_str("</svg>");
    s
}

/// Longest bar label shown, in characters (≈ 330 px at 12 px); longer ones end in "…"
/// and keep their full text in a tooltip.
const BAR_LABEL_CHARS: usize = 50;

/// Horizontal bars in the given order, top to bottom; negatives extend left of zero.
/// Values are shown in `axis`'s unit (e.g. millions), which the axis title states.
pub fn bar_chart(title: &str, labels: &[String], values: &[f64], axis: &Axis) -> String {
    let n = labels.len();
    if n == 0 || values.len() != n {
        return placeholder(
            title,
            if n == 0 {
                "no bars"
            } else {
                "labels and values differ in length"
            },
        );
    }
    if !values.iter().any(|v| v.is_finite()) {
        return placeholder(title, "no finite values");
    }
    let values: Vec<f64> = values.iter().map(|&v| axis.scale(v)).collect();
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (ticks, tick_dec) = nice_ticks(lo, if hi == lo { 1.0 } else { hi });
    let (d0, d1) = (ticks[0], ticks[ticks.len() - 1]);
    let dec = axis
        .decimals
        .unwrap_or_else(|| auto_decimals(lo.abs().max(hi.abs())));
    let texts: Vec<String> = values.iter().map(|&v| format_number(v, dec)).collect();
    let val_w = texts.iter().map(|t| text_w(t)).fold(0.0, f64::max) + 10.0;
    let names: Vec<String> = labels
        .iter()
        .map(|l| truncate_end(l, BAR_LABEL_CHARS))
        .collect();
    let lab_w = names
        .iter()
        .map(|l| text_w(l))
        .fold(0.0, f64::max)
        .clamp(40.0, text_w(&"m".repeat(BAR_LABEL_CHARS)));
    let x0 = 12.0 + lab_w + 12.0 + if lo < 0.0 { val_w } else { 0.0 };
    let width = (x0 + 420.0 + val_w + 12.0).clamp(760.0, MAX_WIDTH);
    let x1 = width - 12.0 - if hi > 0.0 || lo == hi { val_w } else { 24.0 };
    let x = |v: f64| x0 + (v - d0) / (d1 - d0) * (x1 - x0);
    let (row, bar_h, top) = (28.0, 20.0, 44.0);
    let plot_h = row * n as f64;
    let mut s = open(width, top + plot_h + 52.0, title);
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
    for (i, &v) in values.iter().enumerate() {
        let y = top + i as f64 * row + (row - bar_h) / 2.0;
        let cy = y + bar_h / 2.0;
        w!(
            s,
            r#"<text x="{:.1}" y="{cy:.1}" text-anchor="end" dominant-baseline="central">{}</text>"#,
            12.0 + lab_w,
            label_body(&names[i], &labels[i])
        );
        let (a, b) = if v.is_finite() {
            (x(0.0).min(x(v)), x(0.0).max(x(v)))
        } else {
            (x(0.0), x(0.0))
        };
        let fill = if v < 0.0 { "#72b7b2" } else { "#4c78a8" };
        let tip = format!("{}: {}", labels[i], axis.with_unit(&texts[i]));
        w!(
            s,
            r#"<rect class="bar" x="{a:.1}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{fill}"><title>{}</title></rect>"#,
            b - a,
            escape(&tip)
        );
        let (tx, anchor) = if v < 0.0 {
            (a - 5.0, "end")
        } else {
            (b + 5.0, "start")
        };
        w!(
            s,
            r#"<text x="{tx:.1}" y="{cy:.1}" text-anchor="{anchor}" dominant-baseline="central" font-size="11">{}</text>"#,
            texts[i]
        );
    }
    w!(
        s,
        r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1:.1}" stroke="#555"/><line x1="{x0:.1}" x2="{x1:.1}" y1="{1:.1}" y2="{1:.1}" stroke="#999"/>"##,
        x(0.0),
        top + plot_h
    );
    w!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}">{}</text></svg>"#,
        (x0 + x1) / 2.0,
        top + plot_h + 40.0,
        escape(&axis.title())
    );
    s
}

/// Vertical histogram over `edges` (one more than `counts`), in `axis`'s unit, with dashed
/// marker lines (VaR, ES …) named in a legend under the axis rather than beside the
/// lines, where close markers would overlap.
pub fn histogram(
    title: &str,
    edges: &[f64],
    counts: &[u64],
    axis: &Axis,
    count_label: &str,
    markers: &[(String, f64)],
) -> String {
    if counts.is_empty() || edges.len() != counts.len() + 1 {
        return placeholder(
            title,
            if counts.is_empty() {
                "no bins"
            } else {
                "edges must number bins + 1"
            },
        );
    }
    if edges.iter().any(|e| !e.is_finite())
        || edges.windows(2).any(|p| p[1] < p[0])
        || edges[0] >= edges[counts.len()]
    {
        return placeholder(title, "bin edges are not finite and increasing");
    }
    let edges: Vec<f64> = edges.iter().map(|&e| axis.scale(e)).collect();
    let (e0, en) = (edges[0], edges[counts.len()]);
    let (xt, x_dec) = nice_ticks(e0, en);
    let (d0, d1) = (xt[0].min(e0), xt[xt.len() - 1].max(en));
    let cmax = counts.iter().copied().max().unwrap_or(0).max(1);
    let (mut yt, _) = nice_ticks(0.0, cmax as f64);
    if yt[1] - yt[0] < 1.0 {
        yt = (0..=cmax).map(|c| c as f64).collect();
    }
    let ymax = yt[yt.len() - 1];
    let val_dec = axis
        .decimals
        .unwrap_or_else(|| auto_decimals(e0.abs().max(en.abs())));
    let y_lab_w = yt
        .iter()
        .map(|&t| text_w(&format_number(t, 0)))
        .fold(0.0, f64::max);
    let width = 760.0;
    // Room on the left for the rotated count title, then the tick labels.
    let (x0, x1) = (12.0 + 18.0 + y_lab_w + 10.0, width - 40.0);
    let x = |v: f64| x0 + (v - d0) / (d1 - d0) * (x1 - x0);
    // Legend items, "VaR 95%: 218.3 USD m", flowed into rows under the axis title.
    let items: Vec<(String, f64)> = markers
        .iter()
        .filter(|m| m.1.is_finite())
        .map(|(label, v)| {
            let v = axis.scale(*v);
            (
                format!("{label}: {}", axis.with_unit(&format_number(v, val_dec))),
                v,
            )
        })
        .collect();
    let mut legend: Vec<(f64, usize)> = Vec::new();
    let (mut lx, mut lrow) = (x0, 0);
    for (text, _) in &items {
        let w = 28.0 + text_w(text) + 18.0;
        if lx + w > width - 12.0 && lx > x0 {
            (lx, lrow) = (x0, lrow + 1);
        }
        legend.push((lx, lrow));
        lx += w;
    }
    let legend_rows = legend.last().map_or(0, |l| l.1 + 1);
    let (y0, y1) = (44.0, 44.0 + 280.0);
    let height = y1 + 56.0 + legend_rows as f64 * 20.0 + 8.0;
    let y = |c: f64| y1 - c / ymax * (y1 - y0);
    let mut s = open(width, height, title);
    for &t in &yt {
        w!(
            s,
            r#"<line x1="{x0:.1}" x2="{x1:.1}" y1="{0:.1}" y2="{0:.1}" stroke="{GRID}"/><text x="{1:.1}" y="{0:.1}" text-anchor="end" dominant-baseline="central" font-size="11" fill="{MUTED}">{2}</text>"#,
            y(t),
            x0 - 6.0,
            format_number(t, 0)
        );
    }
    w!(
        s,
        r#"<text transform="translate(22,{:.1}) rotate(-90)" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        (y0 + y1) / 2.0,
        escape(count_label)
    );
    for (i, &c) in counts.iter().enumerate() {
        let (a, b) = (x(edges[i]), x(edges[i + 1]));
        let gap = if b - a > 4.0 { 1.0 } else { 0.0 };
        let tip = format!(
            "[{}, {}) {}: {} {}",
            format_number(edges[i], val_dec),
            format_number(edges[i + 1], val_dec),
            axis.unit,
            format_number(c as f64, 0),
            count_label.to_lowercase()
        );
        w!(
            s,
            r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#6f9fd8"><title>{}</title></rect>"##,
            a + gap / 2.0,
            y(c as f64),
            (b - a - gap).max(0.0),
            y1 - y(c as f64),
            escape(&tip)
        );
    }
    w!(
        s,
        r##"<line x1="{x0:.1}" x2="{x1:.1}" y1="{y1:.1}" y2="{y1:.1}" stroke="#555"/>"##
    );
    for &t in &xt {
        w!(
            s,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{y1:.1}" y2="{1:.1}" stroke="#555"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle" font-size="11" fill="{MUTED}">{3}</text>"##,
            x(t),
            y1 + 4.0,
            y1 + 17.0,
            format_number(t, x_dec)
        );
    }
    w!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}">{}</text>"#,
        (x0 + x1) / 2.0,
        y1 + 38.0,
        escape(&axis.title())
    );
    for (i, ((text, v), (lx, row))) in items.iter().zip(&legend).enumerate() {
        let colour = MARKER_COLOURS[i % MARKER_COLOURS.len()];
        let mx = x(v.clamp(d0, d1));
        let ly = y1 + 62.0 + *row as f64 * 20.0;
        w!(
            s,
            r#"<line x1="{mx:.1}" x2="{mx:.1}" y1="{y0:.1}" y2="{y1:.1}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 3"><title>{0}</title></line><line x1="{lx:.1}" x2="{1:.1}" y1="{2:.1}" y2="{2:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="5 3"/><text x="{3:.1}" y="{ly:.1}" dominant-baseline="central" font-size="11" font-weight="600" fill="{colour}">{0}</text>"#,
            escape(text),
            lx + 22.0,
            ly,
            lx + 28.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal well-formedness check: one root, balanced tags, quoted unique attributes,
    /// no raw `<` in attribute values, only known entities.
    fn check_xml(doc: &str) -> Result<usize, String> {
        let b = doc.as_bytes();
        let (mut i, mut stack, mut roots, mut elements) = (0, Vec::<&str>::new(), 0, 0);
        let name_end = |mut j: usize| {
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b"-_:.".contains(&b[j])) {
                j += 1;
            }
            j
        };
        let check_entity = |j: usize| -> Result<(), String> {
            let end = doc[j..].find(';').ok_or("unterminated entity")? + j;
            let e = &doc[j + 1..end];
            let ok = ["amp", "lt", "gt", "quot", "apos"].contains(&e)
                || (e.starts_with('#')
                    && e.len() > 1
                    && e[1..].bytes().all(|c| c.is_ascii_digit()));
            if ok {
                Ok(())
            } else {
                Err(format!("bad entity &{e};"))
            }
        };
        while i < b.len() {
            match b[i] {
                b'<' if b.get(i + 1) == Some(&b'/') => {
                    let e = name_end(i + 2);
                    let name = &doc[i + 2..e];
                    if stack.pop() != Some(name) || b.get(e) != Some(&b'>') {
                        return Err(format!("mismatched </{name}> at {i}"));
                    }
                    i = e + 1;
                }
                b'<' => {
                    let e = name_end(i + 1);
                    let name = &doc[i + 1..e];
                    if name.is_empty() {
                        return Err(format!("bad tag at {i}"));
                    }
                    if stack.is_empty() {
                        roots += 1;
                    }
                    elements += 1;
                    let (mut j, mut attrs) = (e, Vec::new());
                    loop {
                        while j < b.len() && b[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        match b.get(j) {
                            Some(b'>') => {
                                stack.push(name);
                                j += 1;
                                break;
                            }
                            Some(b'/') if b.get(j + 1) == Some(&b'>') => {
                                j += 2;
                                break;
                            }
                            None => return Err("unterminated tag".into()),
                            _ => {}
                        }
                        if !b[j - 1].is_ascii_whitespace() {
                            return Err(format!("attributes not separated at {j}"));
                        }
                        let ae = name_end(j);
                        let attr = &doc[j..ae];
                        if attr.is_empty()
                            || b.get(ae) != Some(&b'=')
                            || b.get(ae + 1) != Some(&b'"')
                        {
                            return Err(format!("bad attribute at {j} in <{name}>"));
                        }
                        if attrs.contains(&attr) {
                            return Err(format!("duplicate attribute {attr} in <{name}>"));
                        }
                        attrs.push(attr);
                        let close =
                            doc[ae + 2..].find('"').ok_or("unterminated attribute")? + ae + 2;
                        let value = &doc[ae + 2..close];
                        if value.contains('<') {
                            return Err(format!("raw < in attribute {attr}"));
                        }
                        for (k, _) in value.match_indices('&') {
                            check_entity(ae + 2 + k)?;
                        }
                        j = close + 1;
                    }
                    i = j;
                }
                b'&' => {
                    check_entity(i)?;
                    i += 1;
                }
                _ => {
                    if stack.is_empty() && !b[i].is_ascii_whitespace() {
                        return Err(format!("text outside root at {i}"));
                    }
                    i += 1;
                }
            }
        }
        match (stack.is_empty(), roots) {
            (true, 1) => Ok(elements),
            _ => Err(format!("unclosed {stack:?} or {roots} roots")),
        }
    }

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("Factor <{i}> & \"co\"")).collect()
    }

    pub(super) fn assert_chart(svg: &str) {
        check_xml(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="#));
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"a&b<c>"d"'e'"#),
            "a&amp;b&lt;c&gt;&quot;d&quot;&#39;e&#39;"
        );
        assert_eq!(escape("x\u{1}y\tz"), "xy\tz");
        assert_eq!(escape("plain é"), "plain é");
        assert_eq!(
            truncate("Very long factor name number 11", 22),
            "Very long fa…number 11"
        );
        assert_eq!(truncate("short", 22), "short");
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(format_number(1234567.891, 2), "1,234,567.89");
        assert_eq!(format_number(-1234.0, 2), "-1,234.00");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number(1000.0, 0), "1,000");
        assert_eq!(format_number(-0.001, 2), "0.00");
        assert_eq!(format_number(0.5, 0), "0");
        assert_eq!(format_number(123456.0, 0), "123,456");
        assert_eq!(format_number(f64::NAN, 2), "n/a");
        assert_eq!(format_number(f64::NEG_INFINITY, 2), "-∞");
    }

    #[test]
    fn nice_ticks_cover_range_with_nice_steps() {
        assert_eq!(
            nice_ticks(0.0, 100.0).0,
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(
            nice_ticks(0.0, 0.11),
            (vec![0.0, 0.05, 0.1, 0.15000000000000002], 2)
        );
        let cases = [
            (0.0, 73.0),
            (-30.0, 70.0),
            (0.0, 1.0),
            (-2.5e6, 1.3e7),
            (3.0, 3.0),
            (0.0, 0.0),
            (-0.004, 0.0),
            (1e9, 1e9 + 1.0),
            (12.0, 13.7),
            (-987.0, -3.0),
            (0.0, 2.1),
            (0.0, 5.5),
        ];
        for (lo, hi) in cases {
            let (t, _) = nice_ticks(lo, hi);
            assert!((4..=6).contains(&t.len()), "{lo}..{hi}: {t:?}");
            assert!(t[0] <= lo && *t.last().unwrap() >= hi, "{lo}..{hi}: {t:?}");
            let step = t[1] - t[0];
            let m = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0, 10.0].iter().any(|n| (m - n).abs() < 1e-6),
                "{step}"
            );
        }
        assert_eq!(nice_ticks(f64::NAN, 1.0).0, vec![0.0, 1.0]);
    }

    #[test]
    fn heatmap_has_one_cell_per_pair() {
        for n in [1, 4, 12] {
            let m: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| {
                            if i == j {
                                1.0
                            } else {
                                ((i * 7 + j * 3) % 11) as f64 / 5.5 - 1.0
                            }
                        })
                        .collect()
                })
                .collect();
            let svg = heatmap("Correlations", &labels(n), &m, -1.0, 1.0, "Correlation");
            assert_chart(&svg);
            assert_eq!(svg.matches(r#"class="cell""#).count(), n * n);
        }
        let m = vec![vec![f64::NAN, 0.5], vec![0.5, 1.0]];
        let svg = heatmap("nan", &labels(2), &m, f64::NAN, f64::NAN, "x");
        assert_chart(&svg);
        assert!(svg.contains("n/a"));
    }

    #[test]
    fn bar_chart_handles_signs_and_sizes() {
        for n in [1, 7, 30] {
            let v: Vec<f64> = (0..n).map(|i| (i as f64 - 3.0) * 123456.7).collect();
            let svg = bar_chart("Losses", &labels(n), &v, &Axis::plain("Loss", "USD"));
            assert_chart(&svg);
            assert_eq!(svg.matches(r#"class="bar""#).count(), n);
        }
        let svg = bar_chart(
            "mixed",
            &labels(3),
            &[1.5, f64::NAN, -0.25],
            &Axis::plain("x", ""),
        );
        assert_chart(&svg);
        assert!(svg.contains("n/a") && svg.contains("-0.25"));
    }

    #[test]
    fn histogram_has_one_bar_per_bin() {
        let edges: Vec<f64> = (0..=40).map(|i| -2.0e6 + i as f64 * 1.5e5).collect();
        let counts: Vec<u64> = (0..40)
            .map(|i| (400.0 * (-((i as f64 - 22.0) / 6.0).powi(2)).exp()) as u64)
            .collect();
        let marks = vec![
            ("VaR 95%".to_string(), 2.1e6),
            ("ES 99%".into(), 3.9e6),
            ("clamped".into(), 1e12),
            ("nan".into(), f64::NAN),
        ];
        let svg = histogram(
            "P&L",
            &edges,
            &counts,
            &Axis::plain("P&L", "USD"),
            "Scenarios",
            &marks,
        );
        assert_chart(&svg);
        assert_eq!(svg.matches(r#"class="bar""#).count(), counts.len());
        // Three finite markers: a line on the plot and a swatch in the legend each.
        assert_eq!(svg.matches("stroke-dasharray").count(), 6);
        // One count at most: y ticks must be 0 and 1, not 0, 0.2, … (the only end-anchored text).
        let small = histogram(
            "tiny",
            &[0.0, 1.0, 2.0],
            &[0, 1],
            &Axis::plain("x", ""),
            "n",
            &[],
        );
        assert_chart(&small);
        assert_eq!(small.matches(r#"text-anchor="end""#).count(), 2);
    }

    #[test]
    fn bad_input_renders_placeholders() {
        let nan = [f64::NAN];
        let x = Axis::plain("x", "");
        let cases = [
            heatmap("", &[], &[], -1.0, 1.0, "c"),
            heatmap("t", &labels(2), &[vec![1.0]], -1.0, 1.0, "c"),
            heatmap(
                "t",
                &labels(2),
                &[vec![1.0], vec![1.0, 2.0]],
                -1.0,
                1.0,
                "c",
            ),
            bar_chart("t", &[], &[], &x),
            bar_chart("t", &labels(2), &[1.0], &x),
            bar_chart("t", &labels(1), &nan, &x),
            histogram("t", &[], &[], &x, "n", &[]),
            histogram("t", &[0.0, 1.0], &[1, 2], &x, "n", &[]),
            histogram("t", &[0.0, f64::NAN], &[1], &x, "n", &[]),
            histogram("t", &[1.0, 1.0], &[1], &x, "n", &[]),
            histogram("t", &[2.0, 1.0, 3.0], &[1, 1], &x, "n", &[]),
        ];
        for svg in &cases {
            assert_chart(svg);
            assert!(svg.contains("No data"), "{svg}");
        }
    }

    fn millions(name: &str) -> Axis {
        Axis {
            name: name.into(),
            unit: "USD m".into(),
            divisor: 1e6,
            decimals: Some(1),
        }
    }

    /// A chart's viewBox width and every font size in it (the root's default included).
    fn width_and_fonts(svg: &str) -> (f64, Vec<f64>) {
        let view_box = svg.split("viewBox=\"0 0 ").nth(1).expect("a viewBox");
        let width = view_box.split(' ').next().unwrap().parse().unwrap();
        let fonts = svg
            .split("font-size=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
            .collect();
        (width, fonts)
    }

    #[test]
    fn chart_text_is_at_least_11px_on_a_1440px_wide_page() {
        // A 1440-px window leaves 1440 - 2 × 16 (padding) - 15 (scrollbar) = 1393 px,
        // more than the report's content column, which is MAX_WIDTH wide.
        let content_at_1440 = MAX_WIDTH.min(1440.0 - 2.0 * 16.0 - 15.0);
        assert_eq!(content_at_1440, 1100.0);
        let long: Vec<String> = (0..20)
            .map(|i| format!("{}. Correlation breakdown #{i}: style factors turn against the market (λ=0.59), vols ×2.80, market −2.63σ", i + 1))
            .collect();
        let square = |n: usize| -> Vec<Vec<f64>> { vec![vec![0.25; n]; n] };
        let losses: Vec<f64> = (0..20).map(|i| 4.1e8 - i as f64 * 1.1e7).collect();
        let edges: Vec<f64> = (0..=30).map(|i| -2e8 + i as f64 * 2e7).collect();
        let counts: Vec<u64> = (0..30).map(|i| (i * 7 % 23) as u64).collect();
        let marks: Vec<(String, f64)> = ["VaR 95%", "VaR 99%", "ES 99%"]
            .iter()
            .zip([2.18e8, 2.67e8, 3.24e8])
            .map(|(l, v)| (l.to_string(), v))
            .collect();
        let charts = [
            heatmap(
                "4 factors",
                &labels(4),
                &square(4),
                -1.0,
                1.0,
                "Correlation",
            ),
            heatmap(
                "12 long",
                &long[..12],
                &square(12),
                -1.0,
                1.0,
                "Correlation",
            ),
            heatmap("30", &labels(30), &square(30), -1.0, 1.0, "Correlation"),
            bar_chart("Top 20", &long, &losses, &millions("Loss")),
            bar_chart(
                "raw",
                &labels(3),
                &[1e12, -3e11, 5.0],
                &Axis::plain("x", ""),
            ),
            histogram(
                "Loss",
                &edges,
                &counts,
                &millions("Loss"),
                "Scenarios",
                &marks,
            ),
            placeholder("empty", "none"),
        ];
        for svg in &charts {
            assert_chart(svg);
            let (width, fonts) = width_and_fonts(svg);
            assert!(width <= MAX_WIDTH, "{width}");
            let scale = (content_at_1440 / width).min(1.0);
            let smallest = fonts.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(
                smallest * scale >= MIN_FONT_PX,
                "{smallest} px at scale {scale} in {}",
                &svg[..200]
            );
        }
    }

    #[test]
    fn long_labels_are_shortened_with_the_full_text_in_a_tooltip() {
        let name = "2008-09 global financial crisis (2007-11 to 2009-02, compounded)".to_string();
        let svg = bar_chart(
            "Top",
            std::slice::from_ref(&name),
            &[3.7e8],
            &millions("Loss"),
        );
        assert_chart(&svg);
        let shown = truncate_end(&name, BAR_LABEL_CHARS);
        assert!(shown.ends_with('…') && shown.chars().count() == BAR_LABEL_CHARS);
        assert!(svg.contains(&format!(
            "<title>{}</title>{}</text>",
            escape(&name),
            escape(&shown)
        )));
        // Values in the axis unit, not raw digits; the unit is in the axis title.
        assert!(svg.contains(">370.0</text>"), "{svg}");
        assert!(svg.contains(">Loss (USD m)</text>"));
        assert!(!svg.contains("370,000,000"));
        let short = bar_chart("Top", &["Short".to_string()], &[1.0], &millions("Loss"));
        assert!(short.contains(">Short</text>") && !short.contains("<title>Short</title>"));
    }

    #[test]
    fn histogram_markers_are_named_in_a_legend() {
        let marks = vec![("VaR 99%".to_string(), 2.67e8), ("ES 99%".into(), 3.24e8)];
        let svg = histogram(
            "Loss",
            &[0.0, 1e8, 2e8, 3e8, 4e8],
            &[3, 9, 4, 1],
            &millions("Loss"),
            "Scenarios",
            &marks,
        );
        assert_chart(&svg);
        assert!(svg.contains(">VaR 99%: 267.0 USD m</text>"), "{svg}");
        assert!(svg.contains(">ES 99%: 324.0 USD m</text>"));
        assert!(svg.contains("rotate(-90)") && svg.contains(">Scenarios</text>"));
    }

    /// `SVG_SAMPLE=/tmp/svgcheck.html cargo test -p stresslab-core svg` writes a visual sample.
    #[test]
    fn writes_sample_when_asked() {
        let Ok(path) = std::env::var("SVG_SAMPLE") else {
            return;
        };
        let names: Vec<String> = [
            "Equity",
            "Rates",
            "Credit",
            "FX",
            "Commodities",
            "Momentum",
            "Value",
            "Quality",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let n = names.len();
        let m: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        if i == j {
                            1.0
                        } else {
                            (((i + j) * 37 % 19) as f64 / 9.0 - 1.0) * 0.9
                        }
                    })
                    .collect()
            })
            .collect();
        let scen: Vec<String> = [
            "2008 GFC replay",
            "Taper tantrum",
            "COVID crash (Mar 2020)",
            "Rates +200bp parallel",
            "EM FX crisis",
            "Stagflation",
            "Tech selloff",
            "Credit spreads ×2",
            "Soft landing (gain)",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let losses = [
            12_345_678.9,
            4_200_000.0,
            9_870_000.0,
            6_100_000.0,
            2_500_000.0,
            7_700_000.0,
            5_400_000.0,
            8_800_000.0,
            -1_900_000.0,
        ];
        let edges: Vec<f64> = (0..=50).map(|i| -6.0e6 + i as f64 * 3.0e5).collect();
        let counts: Vec<u64> = (0..50)
            .map(|i| (900.0 * (-((i as f64 - 20.0) / 7.0).powi(2)).exp()) as u64)
            .collect();
        let marks = vec![
            ("VaR 95%".into(), 2.4e6),
            ("ES 95%".into(), 3.1e6),
            ("VaR 99%".into(), 4.2e6),
            ("ES 99%".into(), 5.0e6),
        ];
        let html = format!(
            "<!doctype html><meta charset=utf-8><body style=\"font-family:sans-serif;margin:20px\">{}<br>{}<br>{}<br>{}<br>{}</body>",
            heatmap("Factor correlations", &names, &m, -1.0, 1.0, "Correlation"),
            bar_chart("Scenario losses", &scen, &losses, &millions("Loss")),
            histogram("Portfolio P&L distribution", &edges, &counts, &millions("Loss"), "Scenarios", &marks),
            bar_chart("Single", &names[..1], &[0.42], &Axis::plain("Share", "")),
            histogram("Empty", &[], &[], &Axis::plain("x", ""), "n", &[]),
        );
        std::fs::write(path, html).unwrap();
    }
}
