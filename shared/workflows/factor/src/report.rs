//! The factor run's deliverables: `results.json` (every figure, machine-readable),
//! `summary.md` (the one-page brief) and `report.html` (self-contained: inline CSS and
//! SVG, no scripts, no network), plus the template narrative — every sentence built
//! from a computed figure.

use crate::aggregate::FactorAggregate;
use crate::model::FactorModel;
use serde_json::{json, Value};
use stresslab_core::engine::{Deliverables, RunContext};
use stresslab_core::findings::{pct, usd, Findings, Table};
use stresslab_core::svg;

/// The facts a narrator may use: the headline figures, nothing else.
pub fn facts(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
) -> Value {
    json!({
        "run": header,
        "total_market_value": model.total_market_value,
        "risk_views": agg.risk_views,
        "worst_scenarios": agg.worst.iter().take(5).filter_map(|id| agg.outcome(*id)).map(|o| json!({"name": o.name, "loss": o.loss()})).collect::<Vec<_>>(),
        "findings": findings.iter().map(|f| json!({"persona": f.persona, "headline": f.headline, "figures": f.figures})).collect::<Vec<_>>(),
    })
}

/// Deterministic narrative: a paragraph of sentences, each quoting computed figures.
pub fn template_narrative(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
) -> String {
    let tail = |key: &str, c: f64| agg.view(key).and_then(|v| v.tail(c)).cloned();
    let mut s = Vec::new();
    s.push(format!(
        "{} ({}) was stressed over {} factor scenarios on exposures estimated from {} to {}.",
        header.portfolio_name,
        usd(model.total_market_value),
        agg.scenario_count,
        model.window.start,
        model.window.end
    ));
    if let (Some(n), Some(st)) = (tail("normal_shrunk", 0.99), tail("stressed_period", 0.99)) {
        s.push(format!(
            "One-month VaR 99% is {} ({} of value) under the normal Ledoit-Wolf covariance and {} ({}) under the covariance of the stressed window {} to {}; ES 99% rises from {} to {}.",
            usd(n.var),
            pct(n.var / model.total_market_value),
            usd(st.var),
            pct(st.var / model.total_market_value),
            model.stressed_window.start,
            model.stressed_window.end,
            usd(n.es),
            usd(st.es)
        ));
    }
    if let Some(w) = agg.worst.first().and_then(|id| agg.outcome(*id)) {
        s.push(format!(
            "The worst scenario is “{}”, losing {} ({} of value).",
            w.name,
            usd(w.loss()),
            pct(w.loss() / model.total_market_value)
        ));
    }
    if let Some(k) = agg.by_kind.iter().max_by_key(|k| k.in_worst_5pct) {
        s.push(format!(
            "{} scenarios make up {} of the {} worst 5% outcomes.",
            capitalise(k.kind.label()),
            k.in_worst_5pct,
            (agg.scenario_count as f64 * 0.05).ceil()
        ));
    }
    for f in findings {
        if !f.headline.is_empty() {
            s.push(f.headline.clone());
        }
    }
    s.join(" ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(c).collect()
    })
}

pub fn render(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
    narrative: &str,
) -> Deliverables {
    let results_json = crate::results::results_json(header, model, agg, findings, narrative);
    Deliverables {
        results_json,
        summary_md: summary_markdown(header, model, agg, findings, narrative),
        report_html: html(header, model, agg, findings, narrative),
    }
}

fn risk_rows(agg: &FactorAggregate, tmv: f64) -> Vec<Vec<String>> {
    agg.risk_views
        .iter()
        .map(|v| {
            let t95 = v.tail(0.95);
            let t99 = v.tail(0.99);
            vec![
                v.label.clone(),
                t95.map_or("—".into(), |t| usd(t.var)),
                t95.map_or("—".into(), |t| usd(t.es)),
                t99.map_or("—".into(), |t| usd(t.var)),
                t99.map_or("—".into(), |t| usd(t.es)),
                t99.map_or("—".into(), |t| pct(t.var / tmv)),
            ]
        })
        .collect()
}

const RISK_COLUMNS: [&str; 6] = [
    "Measure (one month)",
    "VaR 95%",
    "ES 95%",
    "VaR 99%",
    "ES 99%",
    "VaR 99% / value",
];

fn summary_markdown(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
    narrative: &str,
) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "# Factor stress test — {}\n\n",
        header.portfolio_name
    ));
    md.push_str(&format!(
        "Run `{}` · {} scenarios in {} partitions · seed {} · book value {}\n\n",
        header.run_id,
        header.scenario_count,
        header.partition_count,
        header.seed,
        usd(model.total_market_value)
    ));
    md.push_str(&format!("{narrative}\n\n## Tail risk\n\n"));
    md.push_str(&md_table(
        &RISK_COLUMNS.map(String::from),
        &risk_rows(agg, model.total_market_value),
    ));
    md.push_str("\n## Worst scenarios\n\n");
    let rows: Vec<Vec<String>> = agg
        .worst
        .iter()
        .take(10)
        .filter_map(|id| agg.outcome(*id))
        .map(|o| {
            vec![
                o.id.to_string(),
                o.kind.label().into(),
                o.name.clone(),
                usd(o.loss()),
            ]
        })
        .collect();
    md.push_str(&md_table(
        &["#".into(), "Kind".into(), "Scenario".into(), "Loss".into()],
        &rows,
    ));
    md.push_str("\n## Recommendations\n\n");
    for f in findings {
        for r in &f.recommendations {
            md.push_str(&format!(
                "- **{}** — {} _(cites: {})_\n",
                f.persona,
                r.text,
                r.cites.join(", ")
            ));
        }
    }
    md
}

fn md_table(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    );
    for r in rows {
        s.push_str(&format!(
            "| {} |\n",
            r.iter()
                .map(|c| c.replace('|', "\\|"))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    s
}

fn html_table(t: &Table) -> String {
    let mut s = format!(
        "<table><caption>{}</caption><thead><tr>",
        svg::escape(&t.title)
    );
    for c in &t.columns {
        s.push_str(&format!("<th>{}</th>", svg::escape(c)));
    }
    s.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{}</td>", svg::escape(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1b1f24;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e3e6ea;padding-bottom:.2rem;margin-top:2.2rem}\
.meta{color:#57606a;font-size:.9rem}.narrative{background:#f6f8fa;border-left:4px solid #0969da;padding:.8rem 1rem}\
table{border-collapse:collapse;margin:1rem 0;font-size:.88rem;width:100%}caption{text-align:left;font-weight:600;padding:.3rem 0}\
th,td{border-bottom:1px solid #e3e6ea;padding:.3rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}\
th{background:#f6f8fa}.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts>div{flex:1 1 480px}svg{max-width:100%;height:auto}\
.rec{margin:.4rem 0}.cites{color:#57606a;font-size:.8rem}details{margin:.5rem 0}";

fn html(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
    narrative: &str,
) -> String {
    let e = svg::escape;
    let mut h = String::new();
    h.push_str(&format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Factor stress test — {}</title><style>{CSS}</style></head><body>",
        e(&header.portfolio_name)
    ));
    h.push_str(&format!(
        "<h1>Factor stress test — {}</h1><p class=\"meta\">Run <code>{}</code> · {} scenarios in {} partitions · seed {} · book value {} · exposures estimated {} to {}</p>",
        e(&header.portfolio_name),
        e(&header.run_id),
        header.scenario_count,
        header.partition_count,
        header.seed,
        usd(model.total_market_value),
        e(&model.window.start),
        e(&model.window.end)
    ));
    h.push_str(&format!(
        "<h2>Summary</h2><p class=\"narrative\">{}</p>",
        e(narrative)
    ));
    h.push_str(&html_table(&Table {
        title: "One-month tail risk: normal versus stressed".into(),
        columns: RISK_COLUMNS.map(String::from).to_vec(),
        rows: risk_rows(agg, model.total_market_value),
    }));

    h.push_str("<h2>Factor correlations: normal versus stressed</h2><div class=\"charts\">");
    h.push_str(&format!(
        "<div>{}</div><div>{}</div></div>",
        svg::heatmap(
            &format!(
                "Normal (Ledoit-Wolf, {} to {})",
                model.window.start, model.window.end
            ),
            &model.factors,
            &agg.correlation_normal,
            -1.0,
            1.0
        ),
        svg::heatmap(
            &format!(
                "Stressed window ({} to {})",
                model.stressed_window.start, model.stressed_window.end
            ),
            &model.factors,
            &agg.correlation_stressed,
            -1.0,
            1.0
        )
    ));

    h.push_str("<h2>Scenario losses</h2><div class=\"charts\">");
    let worst: Vec<_> = agg.worst.iter().filter_map(|id| agg.outcome(*id)).collect();
    let labels: Vec<String> = worst.iter().map(|o| shorten(&o.name, 60)).collect();
    let losses: Vec<f64> = worst.iter().map(|o| o.loss()).collect();
    h.push_str(&format!(
        "<div>{}</div>",
        svg::bar_chart(
            "Top 20 scenario losses (USD)",
            &labels,
            &losses,
            "Loss (USD)"
        )
    ));
    let mut markers = Vec::new();
    if let Some(v) = agg.view("scenario_set") {
        for t in &v.tails {
            markers.push((format!("VaR {:.0}%", 100.0 * t.confidence), t.var));
        }
        if let Some(t) = v.tail(0.99) {
            markers.push(("ES 99%".to_string(), t.es));
        }
    }
    h.push_str(&format!(
        "<div>{}</div></div>",
        svg::histogram(
            &format!("Loss distribution over {} scenarios", agg.scenario_count),
            &agg.loss_histogram.edges,
            &agg.loss_histogram.counts,
            "Loss (USD; negative = gain)",
            &markers
        )
    ));
    h.push_str(&html_table(&Table {
        title: "Scenarios by kind".into(),
        columns: vec![
            "Kind".into(),
            "Count".into(),
            "Worst loss".into(),
            "Mean loss".into(),
            "In worst 5%".into(),
        ],
        rows: agg
            .by_kind
            .iter()
            .map(|k| {
                vec![
                    capitalise(k.kind.label()),
                    k.count.to_string(),
                    usd(k.worst_loss),
                    usd(k.mean_loss),
                    k.in_worst_5pct.to_string(),
                ]
            })
            .collect(),
    }));
    h.push_str(&html_table(&Table {
        title: "Worst 20 scenarios, with the P&L each factor contributed".into(),
        columns: ["#", "Kind", "Scenario", "Loss"]
            .iter()
            .map(|s| s.to_string())
            .chain(model.factors.iter().map(|f| format!("{f} P&L")))
            .chain(["Residual P&L".to_string()])
            .collect(),
        rows: worst
            .iter()
            .map(|o| {
                [
                    o.id.to_string(),
                    o.kind.label().to_string(),
                    o.name.clone(),
                    usd(o.loss()),
                ]
                .into_iter()
                .chain(o.factor_pnl.iter().map(|x| usd(*x)))
                .chain([usd(o.residual_pnl)])
                .collect()
            })
            .collect(),
    }));

    h.push_str("<h2>The persona agents' findings</h2>");
    for f in findings {
        h.push_str(&format!(
            "<h3>{}</h3><p><strong>{}</strong></p>",
            e(&title_case(&f.persona)),
            e(&f.headline)
        ));
        for r in &f.recommendations {
            let cited: Vec<String> = r
                .cites
                .iter()
                .filter_map(|k| f.figures.iter().find(|x| &x.key == k))
                .map(|x| format!("{} = {}", x.label, x.formatted()))
                .collect();
            h.push_str(&format!(
                "<p class=\"rec\">→ {} <span class=\"cites\">[{}]</span></p>",
                e(&r.text),
                e(&cited.join("; "))
            ));
        }
        for t in &f.tables {
            h.push_str(&format!(
                "<details><summary>{}</summary>{}</details>",
                e(&t.title),
                html_table(t)
            ));
        }
    }
    h.push_str(METHODS_HTML);
    h.push_str("</body></html>\n");
    h
}

const METHODS_HTML: &str = "<h2>How to read this report</h2><ul>\
<li><strong>VaR / ES</strong> are one-month losses in USD: VaR at 99% is the loss exceeded one month in a hundred; ES is the average loss in those months. Parametric views assume Gaussian factor returns with the stated covariance plus independent residuals; historical views apply every month of the factor history to today's exposures.</li>\
<li><strong>Normal vs stressed</strong>: normal uses the last 120 months (Ledoit-Wolf shrinkage, Ledoit &amp; Wolf 2004); stressed uses the 24-month window in which this book's factor P&amp;L was most volatile (the Basel 2.5 stressed-VaR idea).</li>\
<li><strong>Scenarios</strong>: historical replays of named episodes found in the data (full revaluation incl. residuals); correlation breakdowns (stressed correlations repaired to a valid matrix, Higham 2002, with a conditional market shock, Kupiec 1998); style rotations / factor reversals; crowding unwinds (Khandani &amp; Lo 2007; Pedersen 2009). The scenario-set VaR/ES weights every scenario equally: it measures the set, not a probability.</li>\
<li><strong>Recommendations</strong> cite the figures they rest on, in brackets.</li></ul>";

fn title_case(kebab: &str) -> String {
    kebab
        .split('-')
        .map(capitalise)
        .collect::<Vec<_>>()
        .join(" ")
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}
