//! The factor run's deliverables: `results.json` (every figure, machine-readable),
//! `summary.md` (the one-page brief) and `report.html` (self-contained: inline CSS and
//! SVG, no scripts, no network), plus the template narrative — every sentence built
//! from a computed figure. The page, its tables and number formats come from the core
//! report kit, in the run's base currency.

use crate::aggregate::FactorAggregate;
use crate::model::FactorModel;
use crate::ScenarioOutcome;
use serde_json::{json, Value};
use stresslab_core::engine::{Deliverables, RunContext};
use stresslab_core::findings::Findings;
use stresslab_core::report::{self, money, money_axis, pct, Cell, Column, Estimate, Header, Table};
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
        "worst_one_month_scenarios": agg.worst.iter().take(5).filter_map(|id| agg.outcome(*id)).map(|o| json!({"name": o.name, "loss": o.loss(), "horizon_months": 1})).collect::<Vec<_>>(),
        "worst_episodes": agg.episodes.iter().take(3).filter_map(|id| agg.outcome(*id)).map(|o| json!({"name": o.name, "loss": o.loss(), "horizon_months": o.horizon_months})).collect::<Vec<_>>(),
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
    let amount = |x: f64| money(x, &header.base_currency);
    let mut s = Vec::new();
    let estimated = model
        .positions
        .iter()
        .filter(|p| p.r_squared.is_some())
        .count();
    let exposures = match (estimated, model.positions.len() - estimated) {
        (_, 0) => format!(
            "exposures estimated from {} to {}",
            model.window.start, model.window.end
        ),
        (0, _) => "the exposures given in the portfolio".to_owned(),
        (e, g) => format!(
            "exposures estimated from {} to {} ({e} positions) or given in the portfolio ({g})",
            model.window.start, model.window.end
        ),
    };
    s.push(format!(
        "{} ({}) was stressed over {} factor scenarios on {exposures}.",
        header.portfolio_name,
        amount(model.total_market_value),
        agg.scenario_count,
    ));
    if let (Some(n), Some(st)) = (tail("normal_shrunk", 0.99), tail("stressed_period", 0.99)) {
        s.push(format!(
            "One-month VaR 99% is {} ({} of value) under the normal Ledoit-Wolf covariance and {} ({}) under the covariance of the stressed window {} to {}; ES 99% rises from {} to {}.",
            amount(n.var),
            pct(n.var / model.total_market_value),
            amount(st.var),
            pct(st.var / model.total_market_value),
            model.stressed_window.start,
            model.stressed_window.end,
            amount(n.es),
            amount(st.es)
        ));
    }
    if let Some(w) = agg.worst.first().and_then(|id| agg.outcome(*id)) {
        s.push(format!(
            "The worst one-month scenario is “{}”, losing {} ({} of value).",
            w.name,
            amount(w.loss()),
            pct(w.loss() / model.total_market_value)
        ));
    }
    if let Some(e) = agg.episodes.first().and_then(|id| agg.outcome(*id)) {
        s.push(format!(
            "Replayed whole, the worst historical episode, “{}”, would lose {} ({} of value) over {} months.",
            e.name,
            amount(e.loss()),
            pct(e.loss() / model.total_market_value),
            e.horizon_months
        ));
    }
    if let Some(k) = agg.by_kind.iter().max_by_key(|k| k.in_worst_5pct) {
        s.push(format!(
            "{} scenarios make up {} of the {} worst 5% one-month outcomes.",
            capitalise(k.kind.label()),
            k.in_worst_5pct,
            (agg.one_month_count as f64 * 0.05).ceil()
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

/// The horizon every figure is measured over; the one exception, multi-month episode
/// replays, says so in its name ("…, compounded)").
const HORIZON: &str =
    "one month for VaR, ES and scenario losses; historical episodes marked “compounded” cover the whole episode";

/// One-month unless the scenario replays a multi-month episode compounded.
fn scenario_horizon(o: &ScenarioOutcome) -> String {
    match o.horizon_months {
        1 => "one month".to_owned(),
        n => format!("{n} months, compounded"),
    }
}

/// How each kind of figure was estimated, in the words of the model's own windows.
fn estimates(header: &RunContext, model: &FactorModel) -> Vec<Estimate> {
    let estimated = model
        .positions
        .iter()
        .filter(|p| p.r_squared.is_some())
        .count();
    let given = model.positions.len() - estimated;
    let (w, sw) = (&model.window, &model.stressed_window);
    let mut out = Vec::new();
    if estimated > 0 {
        let mut method = format!(
            "OLS of monthly excess returns on {} over {} months, {} to {}",
            model.factors.join(", "),
            w.months,
            w.start,
            w.end
        );
        if given > 0 {
            method.push_str(&format!(
                " ({estimated} positions; {given} use exposures given in the portfolio)"
            ));
        }
        out.push(Estimate::new("Exposures", method));
    }
    out.push(Estimate::new(
        "Normal covariance",
        format!(
            "Ledoit-Wolf shrinkage towards constant correlation (intensity {:.2}; variances kept, correlations shrunk) of the factor returns over {} months, {} to {}",
            model.shrinkage_intensity, w.months, w.start, w.end
        ),
    ));
    out.push(Estimate::new(
        "Stressed covariance",
        format!(
            "the same estimator (intensity {:.2}) on the {} months {} to {}, the window in which this book's factor P&L was most volatile",
            model.stressed_shrinkage_intensity, sw.months, sw.start, sw.end
        ),
    ));
    if let (Some(first), Some(last)) = (model.history_dates.first(), model.history_dates.last()) {
        out.push(Estimate::new(
            "Historical VaR / ES",
            format!(
                "every month of factor history, {first} to {last}, applied to today's exposures"
            ),
        ));
    }
    let foreign: Vec<&str> = {
        let mut c: Vec<&str> = model
            .positions
            .iter()
            .map(|p| p.currency.as_str())
            .filter(|c| *c != header.base_currency)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    if !foreign.is_empty() {
        out.push(Estimate::new(
            "Currency",
            format!(
                "positions in {} are converted to {} at the portfolio's fx_rates and stressed with the equity factors only: FX translation risk is not modelled",
                foreign.join(", "),
                header.base_currency
            ),
        ));
    }
    out.push(Estimate::new(
        "Parametric VaR / ES",
        "Gaussian factor returns with the stated covariance, plus independent residuals",
    ));
    out.push(Estimate::new(
        "Scenario set",
        format!(
            "{} scenarios drawn with seed {} (historical replays, correlation breakdowns, style rotations, crowding unwinds), each weighted equally",
            header.scenario_count, header.seed
        ),
    ));
    out
}

fn risk_table(agg: &FactorAggregate, tmv: f64, currency: &str) -> Table {
    Table::new(
        "One-month tail risk: normal versus stressed",
        vec![
            Column::text("Measure (one month)"),
            Column::money("VaR 95%", currency),
            Column::money("ES 95%", currency),
            Column::money("VaR 99%", currency),
            Column::money("ES 99%", currency),
            Column::percent("VaR 99% / book value"),
            // A historical ES 99% over 24 months rests on a fraction of one month: say so.
            Column::number("Observations behind ES 99%", 1),
        ],
    )
    .with_rows(agg.risk_views.iter().map(|v| {
        let t95 = v.tail(0.95);
        let t99 = v.tail(0.99);
        vec![
            v.label.as_str().into(),
            t95.map(|t| t.var).into(),
            t95.map(|t| t.es).into(),
            t99.map(|t| t.var).into(),
            t99.map(|t| t.es).into(),
            t99.map(|t| t.var / tmv).into(),
            t99.and_then(|t| t.tail_observations).into(),
        ]
    }))
    .one_money_scale()
}

/// The worst scenarios, ranked (the rank is what the chart shows too).
fn worst_table(caption: &str, worst: &[&ScenarioOutcome], currency: &str) -> Table {
    Table::new(
        caption,
        vec![
            Column::rank(),
            Column::text("Kind"),
            Column::text("Scenario"),
            Column::text("Horizon"),
            Column::money("Loss", currency),
            // Plausibility: how far out the factor move is, and how often history went
            // that far in a month.
            Column::number("Mahalanobis, normal", 1),
            Column::number("Mahalanobis, stressed", 1),
            Column::percent("History months as extreme"),
        ],
    )
    .with_rows(worst.iter().enumerate().map(|(i, o)| {
        vec![
            ((i + 1) as f64).into(),
            match o.severity {
                Some(s) => format!("{} ({})", capitalise(o.kind.label()), s.label()),
                None => capitalise(o.kind.label()),
            }
            .into(),
            o.name.as_str().into(),
            scenario_horizon(o).into(),
            o.loss().into(),
            o.mahalanobis_normal.into(),
            o.mahalanobis_stressed.into(),
            o.history_exceedance.into(),
        ]
    }))
}

/// Where each of the worst scenarios' P&L came from, by the same ranks: a table of its
/// own, so the scenario names keep the width they need in the table above.
fn attribution_table(
    what: &str,
    worst: &[&ScenarioOutcome],
    model: &FactorModel,
    currency: &str,
) -> Table {
    let columns = [Column::rank(), Column::money("Loss", currency)]
        .into_iter()
        .chain(
            model
                .factors
                .iter()
                .map(|f| Column::money(&format!("{f} P&L"), currency)),
        )
        .chain([Column::money("Residual P&L", currency)])
        .collect();
    Table::new(
        &format!(
            "P&L by source for {what}, by the ranks above (negative = loss; the sources sum to minus the loss)"
        ),
        columns,
    )
    .with_rows(worst.iter().enumerate().map(|(i, o)| {
        [((i + 1) as f64).into(), o.loss().into()]
            .into_iter()
            .chain(o.factor_pnl.iter().map(|&x| Cell::from(x)))
            .chain([o.residual_pnl.into()])
            .collect()
    }))
    .one_money_scale()
}

fn summary_markdown(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
    narrative: &str,
) -> String {
    let cur = header.base_currency.as_str();
    let title = format!("Factor stress test — {}", header.portfolio_name);
    let estimates = estimates(header, model);
    let mut md = Header {
        title: &title,
        run: header,
        horizon: HORIZON,
        estimates: &estimates,
    }
    .markdown();
    // The narrative quotes the portfolio's name and scenario names: inert in Markdown.
    md.push_str(&format!(
        "Book value {}.\n\n{}\n\n## Tail risk\n\n",
        money(model.total_market_value, cur),
        stresslab_core::report::markdown_text(narrative)
    ));
    md.push_str(&risk_table(agg, model.total_market_value, cur).to_markdown());
    md.push_str("\n## Worst scenarios\n\n");
    let worst: Vec<_> = agg
        .worst
        .iter()
        .take(10)
        .filter_map(|id| agg.outcome(*id))
        .collect();
    md.push_str(&worst_table("Worst 10 one-month scenarios", &worst, cur).to_markdown());
    md.push_str("\n## Recommendations\n\n");
    for f in findings {
        for r in &f.recommendations {
            md.push_str(&format!(
                "- **{}** — {} _(cites: {})_\n",
                f.persona,
                stresslab_core::report::markdown_text(&r.text),
                r.cites.join(", ")
            ));
        }
    }
    md
}

fn html(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
    narrative: &str,
) -> String {
    let cur = header.base_currency.as_str();
    let title = format!("Factor stress test — {}", header.portfolio_name);
    let estimates = estimates(header, model);
    let head = Header {
        title: &title,
        run: header,
        horizon: HORIZON,
        estimates: &estimates,
    };
    let mut sections = Vec::new();
    sections.push(report::section(
        "Summary",
        &format!("Book value {}.", money(model.total_market_value, cur)),
        &format!(
            "<p class=\"narrative\">{}</p>{}",
            svg::escape(narrative),
            risk_table(agg, model.total_market_value, cur).to_html()
        ),
    ));
    sections.push(report::section(
        "Factor correlations: normal versus stressed",
        "",
        &report::figures(&[
            svg::heatmap(
                &format!(
                    "Normal (Ledoit-Wolf, {} to {})",
                    model.window.start, model.window.end
                ),
                &model.factors,
                &agg.correlation_normal,
                -1.0,
                1.0,
                "Correlation",
            ),
            svg::heatmap(
                &format!(
                    "Stressed window ({} to {})",
                    model.stressed_window.start, model.stressed_window.end
                ),
                &model.factors,
                &agg.correlation_stressed,
                -1.0,
                1.0,
                "Correlation",
            ),
        ]),
    ));
    sections.push(scenario_section(model, agg, cur));
    sections.push(findings_section(findings, cur));
    sections.push(report::section("How to read this report", "", METHODS_HTML));
    report::page(&head, &sections)
}

fn scenario_section(model: &FactorModel, agg: &FactorAggregate, cur: &str) -> String {
    let worst: Vec<_> = agg.worst.iter().filter_map(|id| agg.outcome(*id)).collect();
    let labels: Vec<String> = worst
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}. {}", i + 1, o.name))
        .collect();
    let losses: Vec<f64> = worst.iter().map(|o| o.loss()).collect();
    let mut markers = Vec::new();
    if let Some(v) = agg.view("scenario_set") {
        for t in &v.tails {
            markers.push((format!("VaR {:.0}%", 100.0 * t.confidence), t.var));
        }
        if let Some(t) = v.tail(0.99) {
            markers.push(("ES 99%".to_string(), t.es));
        }
    }
    let charts = report::figures(&[
        svg::bar_chart(
            &format!("Top {} one-month scenario losses", worst.len()),
            &labels,
            &losses,
            &money_axis("Loss", cur, &losses),
        ),
        svg::histogram(
            &format!(
                "Loss distribution over {} one-month scenarios",
                agg.one_month_count
            ),
            &agg.loss_histogram.edges,
            &agg.loss_histogram.counts,
            &money_axis("Loss, gains negative", cur, &agg.loss_histogram.edges),
            "Scenarios",
            &markers,
        ),
    ]);
    let by_kind = Table::new(
        "Scenarios by kind",
        vec![
            Column::text("Kind"),
            Column::number("Count", 0),
            Column::money("Worst loss", cur),
            Column::money("Mean loss", cur),
            Column::number("In worst 5%", 0),
        ],
    )
    .with_rows(agg.by_kind.iter().map(|k| {
        vec![
            capitalise(k.kind.label()).into(),
            (k.count as f64).into(),
            k.worst_loss.into(),
            k.mean_loss.into(),
            (k.in_worst_5pct as f64).into(),
        ]
    }))
    .one_money_scale();
    let correlation = agg.correlation_effect.as_ref().map_or(String::new(), |c| {
        Table::new(
            "What the correlations add: each breakdown against the same market shock and vols under the normal correlations (mean over the breakdowns)",
            vec![
                Column::number("Breakdowns", 0),
                Column::money("Loss, stressed correlations", cur),
                Column::money("Loss, normal correlations", cur),
                Column::money("Correlation effect", cur),
                Column::money("Largest effect", cur),
                Column::percent("Breakdowns where correlations add loss"),
            ],
        )
        .with_rows([vec![
            (c.scenarios as f64).into(),
            c.mean_loss.into(),
            c.mean_loss_normal_correlation.into(),
            c.mean_effect.into(),
            c.largest_effect.into(),
            c.fraction_adding_loss.into(),
        ]])
        .one_money_scale()
        .to_html()
    });
    let episodes: Vec<_> = agg
        .episodes
        .iter()
        .filter_map(|id| agg.outcome(*id))
        .collect();
    let episode_table = Table::new(
        "Historical episodes replayed whole (each over its own length, compounded month by month on today's book; not comparable with the one-month figures above)",
        vec![
            Column::rank(),
            Column::text("Episode"),
            Column::number("Months", 0),
            Column::money("Loss", cur),
            Column::percent("Loss / book value"),
        ],
    )
    .with_rows(episodes.iter().enumerate().map(|(i, o)| {
        vec![
            ((i + 1) as f64).into(),
            o.name.as_str().into(),
            f64::from(o.horizon_months).into(),
            o.loss().into(),
            (o.loss() / model.total_market_value).into(),
        ]
    }));
    report::section(
        "Scenario losses",
        "Losses are positive, gains negative. The charts and the first tables are one-month moves only; multi-month historical episodes follow in a table of their own, never pooled with them.",
        &format!(
            "{charts}{}{correlation}{}{}{}{}",
            by_kind.to_html(),
            worst_table(&format!("Worst {} one-month scenarios", worst.len()), &worst, cur).to_html(),
            attribution_table(
                &format!("the worst {} one-month scenarios", worst.len()),
                &worst,
                model,
                cur
            )
            .to_html(),
            episode_table.to_html(),
            attribution_table(
                "the episodes (each month's moves on the position values carried into it)",
                &episodes,
                model,
                cur
            )
            .to_html()
        ),
    )
}

fn findings_section(findings: &[Findings], cur: &str) -> String {
    let e = svg::escape;
    let mut body = String::new();
    for f in findings {
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
        for t in &f.tables {
            sub.push_str(&report::collapsible(t.title(), &t.to_html()));
        }
        body.push_str(&report::subsection(&title_case(&f.persona), &sub));
    }
    report::section(
        "The persona agents' findings",
        "Each recommendation cites, in brackets, the computed figures it rests on.",
        &body,
    )
}

const METHODS_HTML: &str = "<ul>\
<li><strong>VaR / ES</strong> are one-month losses in the base currency: VaR at 99% is the loss exceeded one month in a hundred; ES is the average loss in those months. Parametric views assume Gaussian factor returns with the stated covariance plus independent residuals; historical views apply every month of the factor history to today's exposures.</li>\
<li><strong>Normal vs stressed</strong>: normal uses the last 120 months (Ledoit-Wolf shrinkage towards constant correlation, Ledoit &amp; Wolf 2004); stressed uses the 24-month window in which this book's factor P&amp;L was most volatile (the Basel 2.5 stressed-VaR idea).</li>\
<li><strong>Scenarios</strong>: historical replays of named episodes found in the data (full revaluation incl. residuals); correlation breakdowns (stressed correlations repaired to a valid matrix, Higham 2002, with a conditional market shock, Kupiec 1998); style rotations / factor reversals; crowding unwinds (Khandani &amp; Lo 2007; Pedersen 2009). The scenario-set VaR/ES weights every scenario equally: it measures the set, not a probability.</li>\
<li><strong>Tables</strong> state each column's unit once, in its header; amounts are in the base currency, scaled as marked (k, m, bn).</li>\
<li><strong>Recommendations</strong> cite the figures they rest on, in brackets.</li></ul>";

fn title_case(kebab: &str) -> String {
    kebab
        .split('-')
        .map(capitalise)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FactorPersona, FactorWorkflow};
    use stresslab_core::engine::{PersonaRole, WorkflowEngine};

    fn sample_deliverables() -> Deliverables {
        let (portfolio, market) = crate::tests::sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &crate::tests::params(200), 7)
                .unwrap();
        let agg = FactorWorkflow::merge(&model, vec![FactorWorkflow::evaluate(&model, 0, &set)]);
        let mut findings: Vec<Findings> = Vec::new();
        for &p in FactorPersona::TEAM {
            let upstream: Vec<Findings> = p
                .reads()
                .iter()
                .filter_map(|r| findings.iter().find(|f| f.persona == r.name()).cloned())
                .collect();
            findings.push(FactorWorkflow::persona(p, &model, &agg, &upstream));
        }
        let run = RunContext {
            run_id: "factor-test".into(),
            workflow: "factor".into(),
            engine_version: FactorWorkflow::ENGINE_VERSION.into(),
            portfolio_id: portfolio.portfolio_id.clone(),
            portfolio_name: portfolio.name.clone(),
            base_currency: portfolio.base_currency.clone(),
            as_of: portfolio.as_of.clone(),
            seed: 7,
            scenario_count: 200,
            partition_count: 1,
        };
        let narrative = template_narrative(&run, &model, &agg, &findings);
        render(&run, &model, &agg, &findings, &narrative)
    }

    #[test]
    fn the_sample_report_is_in_usd_without_a_dollar_sign() {
        let d = sample_deliverables();
        for (name, text) in [
            ("report.html", &d.report_html),
            ("summary.md", &d.summary_md),
        ] {
            assert!(text.contains("USD"), "{name}");
            assert!(
                !text.contains('$'),
                "{name} has a $ at {:?}",
                text.find('$')
            );
        }
        let html = &d.report_html;
        assert!(html.contains("<dt>As of</dt><dd>2017-03-31</dd>"));
        assert!(html.contains("<dt>Base currency</dt><dd>USD</dd>"));
        assert!(html.contains("<strong>Exposures</strong>: OLS of monthly excess returns"));
        assert!(html.contains(r#"<th scope="col" class="num">VaR 99% (USD m)</th>"#));
        // Scenario tables list ranks, not internal ids.
        assert!(html.contains(r#"<th scope="col" class="num">Rank</th>"#));
        assert!(
            html.contains("1. "),
            "the chart labels carry the same ranks"
        );
        // Persona tables keep right-aligned numbers through their findings strings.
        assert!(html.contains(r#"<th scope="col" class="num">Market value (USD m)</th>"#));
        assert!(html.contains("compounded"));
        let results: serde_json::Value = serde_json::from_slice(&d.results_json).unwrap();
        assert_eq!(results["findings"][1]["figures"][0]["unit"], "money");
    }
}
