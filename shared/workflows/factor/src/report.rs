//! The factor run's deliverables: `results.json` (every figure, machine-readable),
//! `summary.md` (the one-page brief) and `report.html` (self-contained: inline CSS and
//! SVG, no scripts, no network), plus the template narrative — every sentence built
//! from a computed figure. The page, its tables and number formats come from the core
//! report kit, in the run's base currency.

use crate::aggregate::{FactorAggregate, TailFigures};
use crate::model::FactorModel;
use crate::FactorPersona;
use crate::ScenarioOutcome;
use serde_json::{json, Value};
use stresslab_core::engine::PersonaRole;
use stresslab_core::engine::{Deliverables, RunContext};
use stresslab_core::findings::Findings;
use stresslab_core::report::persona::{capitalise, headlines, persona_body};
use stresslab_core::report::{self, money, money_axis, pct, Cell, Column, Estimate, Header, Table};
use stresslab_core::svg;

/// The facts a narrator may use: the headline figures, nothing else.
pub fn facts(
    header: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
) -> Value {
    // Every figure the template narrative cites is here (a model narrator sees only
    // this), including the shares of value the template derives.
    let value = model.total_market_value;
    let of_value = |key: &str| {
        agg.view(key)
            .and_then(|v| v.tail(0.99))
            .map(|t| t.var / value)
    };
    json!({
        "run": header,
        "total_market_value": value,
        "risk_views": agg.risk_views,
        "var99_share_of_value": {"normal": of_value("normal_shrunk"), "stressed": of_value("stressed_period")},
        "worst_one_month_scenarios": agg.worst.iter().take(5).filter_map(|id| agg.outcome(*id)).map(|o| json!({"name": o.name, "loss": o.loss(), "loss_share_of_value": o.loss() / value, "horizon_months": 1})).collect::<Vec<_>>(),
        "worst_episodes": agg.episodes.iter().take(3).filter_map(|id| agg.outcome(*id)).map(|o| json!({"name": o.name, "loss": o.loss(), "loss_share_of_value": o.loss() / value, "horizon_months": o.horizon_months})).collect::<Vec<_>>(),
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
        // A breakdown's loss is mostly its market shock: say what the correlations add.
        let driver = match w.correlation_effect {
            Some(e) if e > 0.0 => format!(
                "; its correlations add {} to what the same market move loses under normal correlations",
                amount(e)
            ),
            Some(e) => format!(
                "; the loss is its market move — under normal correlations the same move would lose {} more",
                amount(-e)
            ),
            None => String::new(),
        };
        s.push(format!(
            "The worst one-month scenario is “{}”, losing {} ({} of value){driver}.",
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
        let why = match (&agg.correlation_effect, k.kind) {
            (Some(c), crate::scenarios::ScenarioKind::CorrelationBreakdown)
                if c.mean_effect <= 0.0 =>
            {
                format!(
                    " — for their market shocks, not their correlations, which on average reduce the loss by {}",
                    amount(-c.mean_effect)
                )
            }
            _ => String::new(),
        };
        s.push(format!(
            "{} scenarios make up {} of the {} worst 5% one-month outcomes{why}.",
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
        // A historical tail resting on fewer than one observation is not a 1-in-100
        // figure: say "n/a (24 months)" instead of printing the worst month as one.
        let cells = |t: Option<&TailFigures>| -> [Cell; 2] {
            match t {
                Some(t) => match t.reported() {
                    Some((var, es)) => [var.into(), es.into()],
                    None => {
                        let n = t
                            .tail_observations
                            .map_or(0.0, |m| (m / (1.0 - t.confidence)).round());
                        let unit = if v.key.starts_with("historical") {
                            "months"
                        } else {
                            "observations"
                        };
                        let na = format!("n/a ({n:.0} {unit})");
                        [na.clone().into(), na.into()]
                    }
                },
                None => [Cell::Missing, Cell::Missing],
            }
        };
        let t99 = v.tail(0.99);
        let [var95, es95] = cells(v.tail(0.95));
        let [var99, es99] = cells(t99);
        vec![
            v.label.as_str().into(),
            var95,
            es95,
            var99,
            es99,
            t99.and_then(TailFigures::reported)
                .map(|(var, _)| var / tmv)
                .into(),
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
    let by_persona = |p: FactorPersona| findings.iter().find(|f| f.persona == p.name());
    let persona = |p: FactorPersona, skip: &dyn Fn(&Table) -> bool| {
        by_persona(p).map_or_else(
            || "<p>This persona's findings are not in this run.</p>".to_owned(),
            |f| persona_body(f, cur, skip),
        )
    };
    let keep_all = |_: &Table| false;
    let is_plan = |t: &Table| is_implementation_table(t);
    let mut sections = Vec::new();
    sections.push(report::section(
        "Executive summary",
        &format!("Book value {}.", money(model.total_market_value, cur)),
        &format!(
            "<p class=\"narrative\">{}</p>{}{}",
            svg::escape(narrative),
            headlines(findings),
            risk_table(agg, model.total_market_value, cur).to_html()
        ),
    ));
    sections.push(report::section(
        "Factor model vulnerabilities",
        "How well the factors explain the book, how stable its exposures are, what the residuals hide, and how the factor correlations change under stress.",
        &format!(
            "{}{}",
            correlation_heatmaps(model, agg),
            persona(FactorPersona::FactorModelingSpecialist, &keep_all)
        ),
    ));
    sections.push(scenario_section(model, agg, cur));
    sections.push(report::section(
        "Risk concentrations",
        "Where normal and stressed risk come from: by factor, group (industry or size bucket) and position (Euler components sum to the totals), in the worst scenarios, and the reverse stress test.",
        &format!(
            "{}{}",
            contribution_chart(model, cur),
            persona(FactorPersona::RiskDecompositionEngineer, &keep_all)
        ),
    ));
    sections.push(report::section(
        "Regime-dependent behaviour",
        "Market regimes found in the factor history by a hidden Markov model, today's regime, the early warning, and how the book fares in each.",
        &persona(FactorPersona::MarketRegimeAnalyst, &keep_all),
    ));
    sections.push(report::section(
        "Optimisation recommendations",
        "Hedges and re-optimised books, each judged against the current book on normal and stressed risk, in and out of sample.",
        &persona(FactorPersona::PortfolioOptimizationStrategist, &is_plan),
    ));
    let plan: String = by_persona(FactorPersona::PortfolioOptimizationStrategist)
        .map(|f| {
            f.tables
                .iter()
                .filter(|t| is_implementation_table(t))
                .map(Table::to_html)
                .collect()
        })
        .unwrap_or_default();
    sections.push(report::section(
        "Implementation",
        "The order in which to act, and what each step changes.",
        &if plan.is_empty() {
            "<p>No implementation plan in this run.</p>".to_owned()
        } else {
            plan
        },
    ));
    sections.push(report::section("How to read this report", "", METHODS_HTML));
    report::page(&head, &sections)
}

fn scenario_section(model: &FactorModel, agg: &FactorAggregate, cur: &str) -> String {
    let worst: Vec<_> = agg.worst.iter().filter_map(|id| agg.outcome(*id)).collect();
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
    // The same worst scenarios, each loss split by the factor (and residual) behind it.
    let sources: Vec<String> = model
        .factors
        .iter()
        .cloned()
        .chain(["Residual / fire sale".to_owned()])
        .collect();
    let by_source: Vec<Vec<f64>> = worst
        .iter()
        .map(|o| {
            o.factor_pnl
                .iter()
                .map(|p| -p)
                .chain([-o.residual_pnl])
                .collect()
        })
        .collect();
    let short: Vec<String> = worst
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}. {}", i + 1, short_name(&o.name)))
        .collect();
    let charts = report::figures(&[
        svg::stacked_bar_chart(
            &format!(
                "Top {} one-month scenario losses by source (losses positive)",
                worst.len()
            ),
            &short,
            &sources,
            &by_source,
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
    let mut by_effect: Vec<&ScenarioOutcome> = agg
        .outcomes
        .iter()
        .filter(|o| o.correlation_effect.is_some())
        .collect();
    by_effect.sort_by(|a, b| {
        b.correlation_effect
            .unwrap_or(0.0)
            .total_cmp(&a.correlation_effect.unwrap_or(0.0))
            .then(a.id.cmp(&b.id))
    });
    let breakdowns = if by_effect.is_empty() {
        String::new()
    } else {
        Table::new(
            "Correlation breakdowns ranked by what their correlations add (loss under the stressed correlations minus the same market shock and vols under normal correlations); a negative effect means the breakdown's correlations reduce the loss",
            vec![
                Column::rank(),
                Column::text("Scenario"),
                Column::money("Loss", cur),
                Column::money("Correlation effect", cur),
                Column::money("Loss from the market shock alone", cur),
            ],
        )
        .with_rows(by_effect.iter().take(10).enumerate().map(|(i, o)| {
            let effect = o.correlation_effect.unwrap_or(0.0);
            vec![
                ((i + 1) as f64).into(),
                o.name.as_str().into(),
                o.loss().into(),
                effect.into(),
                (o.loss() - effect).into(),
            ]
        }))
        .one_money_scale()
        .to_html()
    };
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
        "Stress results by horizon",
        "Losses are positive, gains negative. The charts and the first tables are one-month moves only; multi-month historical episodes follow in a table of their own, never pooled with them.",
        &format!(
            "{charts}{}{correlation}{breakdowns}{}{}{}{}",
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

/// A scenario name cut at its first qualifier ("Correlation breakdown #12: style
/// factors…" → "Correlation breakdown #12"), for chart labels; tables keep the full name.
fn short_name(name: &str) -> &str {
    name.split([':', '(', ',']).next().unwrap_or(name).trim()
}

/// The strategist's phased plan goes to the Implementation section.
fn is_implementation_table(t: &Table) -> bool {
    let title = t.title().to_lowercase();
    title.contains("implementation") || title.contains("phased")
}

/// Normal and stressed factor correlations, and what stress changes (stressed − normal).
fn correlation_heatmaps(model: &FactorModel, agg: &FactorAggregate) -> String {
    let difference: Vec<Vec<f64>> = agg
        .correlation_stressed
        .iter()
        .zip(&agg.correlation_normal)
        .map(|(s, n)| s.iter().zip(n).map(|(a, b)| a - b).collect())
        .collect();
    report::figures(&[
        svg::heatmap(
            &format!("Normal ({} to {})", model.window.start, model.window.end),
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
        svg::heatmap(
            "Stressed minus normal",
            &model.factors,
            &difference,
            -1.0,
            1.0,
            "Change in correlation",
        ),
    ])
}

/// Euler contributions to one-month VaR 99%, normal and stressed, stacked by source.
fn contribution_chart(model: &FactorModel, cur: &str) -> String {
    let z99 = stresslab_analytics::stats::normal_quantile(0.99);
    let sources: Vec<String> = model
        .factors
        .iter()
        .cloned()
        .chain(["Idiosyncratic".to_owned()])
        .collect();
    let rows: Vec<Vec<f64>> = [&model.covariance_shrunk, &model.covariance_stressed]
        .iter()
        .map(|cov| {
            crate::personas::factor_contributions(model, &crate::model::from_rows(cov))
                .components
                .iter()
                .map(|c| z99 * c)
                .collect()
        })
        .collect();
    let all: Vec<f64> = rows.iter().flatten().copied().collect();
    report::figures(&[svg::stacked_bar_chart(
        "Risk contributions to one-month VaR 99% (Euler; segments sum to the VaR)",
        &[
            "Normal covariance".to_owned(),
            "Stressed covariance".to_owned(),
        ],
        &sources,
        &rows,
        &money_axis("VaR 99% contribution", cur, &all),
    )])
}

const METHODS_HTML: &str = "<ul>\
<li><strong>VaR / ES</strong> are one-month losses in the base currency: VaR at 99% is the loss exceeded one month in a hundred; ES is the average loss in those months. Parametric views assume Gaussian factor returns with the stated covariance plus independent residuals; historical views apply every month of the factor history to today's exposures.</li>\
<li><strong>Normal vs stressed</strong>: normal uses the last 120 months (Ledoit-Wolf shrinkage towards constant correlation, Ledoit &amp; Wolf 2004); stressed uses the 24-month window in which this book's factor P&amp;L was most volatile (the Basel 2.5 stressed-VaR idea).</li>\
<li><strong>Scenarios</strong>: historical replays of named episodes found in the data (full revaluation incl. residuals); correlation breakdowns (stressed correlations repaired to a valid matrix, Higham 2002, with a conditional market shock, Kupiec 1998); style rotations / factor reversals; crowding unwinds (Khandani &amp; Lo 2007; Pedersen 2009). The scenario-set VaR/ES weights every scenario equally: it measures the set, not a probability.</li>\
<li><strong>Tables</strong> state each column's unit once, in its header; amounts are in the base currency, scaled as marked (k, m, bn).</li>\
<li><strong>Recommendations</strong> cite the figures they rest on, in brackets.</li></ul>";

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
            library_version: None,
        };
        let narrative = template_narrative(&run, &model, &agg, &findings);
        render(&run, &model, &agg, &findings, &narrative)
    }

    #[test]
    fn the_report_has_every_committee_section_and_chart() {
        let html = sample_deliverables().report_html;
        for section in [
            "Executive summary",
            "Factor model vulnerabilities",
            "Stress results by horizon",
            "Risk concentrations",
            "Regime-dependent behaviour",
            "Optimisation recommendations",
            "Implementation",
        ] {
            assert!(
                html.contains(&format!("<h2>{section}")),
                "no section {section}"
            );
        }
        let svg_titles: Vec<&str> = html
            .split("<svg ")
            .skip(1)
            .filter_map(|s| s.split("<title>").nth(1)?.split("</title>").next())
            .collect();
        let has = |needle: &str| svg_titles.iter().any(|t| t.contains(needle));
        // Heatmaps normal, stressed and their difference.
        assert!(has("Normal (") && has("Stressed window (") && has("Stressed minus normal"));
        // Scenario losses stacked by factor, risk-contribution bars, the regime
        // timeline, the robust frontier.
        assert!(has("losses by source"), "{svg_titles:?}");
        assert!(has("Risk contributions"), "{svg_titles:?}");
        assert!(has("Regime probabilities"), "{svg_titles:?}");
        assert!(has("Robust frontier"), "{svg_titles:?}");
        assert!(html.contains(r#"class="segment""#) && html.contains(r#"class="area""#));
        assert!(html.contains(r#"class="point""#));
        // The phased plan sits in Implementation, after the optimisation section.
        let implementation = html.find("<h2>Implementation").unwrap();
        let plan = html.find("Phased implementation plan").unwrap();
        assert!(plan > implementation);
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
