//! A persona's findings as report HTML, the same in every workflow's report: headline,
//! recommendations with the figures they cite, charts drawn from the persona's numbers,
//! tables collapsed.

use super::{collapsible, figures, money_axis, subsection, Table};
use crate::findings::{Chart, ChartKind, Findings, Unit};
use crate::svg;

/// A persona's findings: headline, recommendations with the figures they cite, its
/// charts, and its tables (collapsed) except those `skip` leaves to another section.
pub fn persona_body(f: &Findings, cur: &str, skip: &dyn Fn(&Table) -> bool) -> String {
    let e = svg::escape;
    let mut sub = format!("<p><strong>{}</strong></p>", e(&f.headline));
    for r in &f.recommendations {
        let cited: Vec<String> = r
            .cites
            .iter()
            .filter_map(|k| f.figures.iter().find(|x| &x.key == k))
            .map(|x| format!("{} = {}", x.label, x.formatted(cur)))
            .collect();
        sub.push_str(&format!(
            "<p class=\"rec\">→ {} <span class=\"cites\">[{}]</span></p>",
            e(&r.text),
            e(&cited.join("; "))
        ));
    }
    let charts: Vec<String> = f.charts.iter().map(|c| chart_svg(c, cur)).collect();
    if !charts.is_empty() {
        sub.push_str(&figures(&charts));
    }
    for t in f.tables.iter().filter(|t| !skip(t)) {
        sub.push_str(&collapsible(t.title(), &t.to_html()));
    }
    subsection(&title_case(&f.persona), &sub)
}

/// One line per persona: its headline, under the narrative.
pub fn headlines(findings: &[Findings]) -> String {
    let items: String = findings
        .iter()
        .map(|f| {
            format!(
                "<li><strong>{}</strong>: {}</li>",
                svg::escape(&title_case(&f.persona)),
                svg::escape(&f.headline)
            )
        })
        .collect();
    format!("<ul>{items}</ul>")
}

/// A chart axis for numbers in `unit`: money scaled like a table, fractions in percent.
pub fn unit_axis(name: &str, unit: Unit, cur: &str, values: &[f64]) -> svg::Axis {
    match unit {
        Unit::Money => money_axis(name, cur, values),
        Unit::Fraction => svg::Axis {
            name: name.into(),
            unit: "%".into(),
            divisor: 0.01,
            decimals: Some(1),
        },
        Unit::Months => svg::Axis::plain(name, "months"),
        Unit::Ratio | Unit::Count => svg::Axis::plain(name, ""),
    }
}

/// Draws a persona's chart data: the persona computed the numbers, the report only
/// draws them.
pub fn chart_svg(c: &Chart, cur: &str) -> String {
    let all: Vec<f64> = c
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .collect();
    let y_axis = unit_axis(&c.y_label, c.y_unit, cur, &all);
    match c.kind {
        ChartKind::Timeline => {
            let series: Vec<(String, Vec<f64>)> = c
                .series
                .iter()
                .map(|s| (s.name.clone(), s.values.clone()))
                .collect();
            // Probabilities and shares read best on their full 0–100% range.
            let in_unit_interval = c.y_unit == Unit::Fraction
                && all
                    .iter()
                    .all(|v| !v.is_finite() || (0.0..=1.0).contains(v));
            // Shares that sum to one at every month (regime probabilities) stack.
            let sums_to_one = in_unit_interval
                && (0..c.labels.len()).all(|i| {
                    let total: f64 = c.series.iter().filter_map(|s| s.values.get(i)).sum();
                    (total - 1.0).abs() < 1e-6
                });
            if sums_to_one && c.series.len() > 1 {
                return svg::stacked_area_chart(&c.title, &c.labels, &series);
            }
            let range = in_unit_interval.then_some((0.0, 100.0));
            svg::line_chart(&c.title, &c.labels, &series, &y_axis, range)
        }
        ChartKind::Scatter => {
            let ys = c.series.first().map_or(&[][..], |s| &s.values[..]);
            let x_axis = unit_axis(&c.x_label, c.x_unit, cur, &c.x);
            svg::scatter_chart(&c.title, &c.labels, &c.x, ys, &x_axis, &y_axis)
        }
    }
}

pub fn title_case(kebab: &str) -> String {
    kebab
        .split('-')
        .map(capitalise)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(c).collect()
    })
}
