//! The liquidity run's deliverables: `results.json` (every persona figure and table as
//! numbers, the cascade distributions, the worst scenario day by day and one summary row
//! per scenario for dashboards), `summary.md` and a self-contained `report.html`, built
//! with the core report kit in the fund's base currency.
//!
//! The report's own numbers (distributions of shortfall and exhaustion day, the worst
//! scenario's days) are computed here from the aggregate; everything else is the
//! personas' findings, drawn as they computed them.

use serde_json::{json, Value};
use stresslab_analytics::stats;
use stresslab_core::engine::{Deliverables, PersonaRole, RunContext};
use stresslab_core::findings::Findings;
use stresslab_core::report::persona::{headlines, persona_body};
use stresslab_core::report::{self, money, money_axis, pct, Cell, Column, Estimate, Header, Table};
use stresslab_core::results::{envelope, Horizon};
use stresslab_core::svg;

use crate::cascade::DayRecord;
use crate::engine::{
    market_kind_name, redemption_kind_name, severity_name, strategy_name, LiquidityRun,
    ScenarioOutcome, ScenarioPaths, Simulator,
};
use crate::scenarios::RedemptionShockKind;
use crate::{scenario_set, LiquidityAggregate, LiquidityPersona};

/// Width of the exhaustion-day histogram's bins, business days (a week).
const EXHAUSTION_BIN_DAYS: u32 = 5;

/// What the figures measure over.
pub fn horizon(run: &LiquidityRun) -> String {
    format!(
        "{} business days of day-by-day cascades from the as-of date (liquidity needs at 1, 7, 30 and 90 days)",
        run.settings.horizon_days
    )
}

/// Percentiles used throughout: median, 95th, 99th, worst.
fn spread_of(mut values: Vec<f64>) -> Option<[f64; 4]> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some([
        stats::quantile(&values, 0.5),
        stats::quantile(&values, 0.95),
        stats::quantile(&values, 0.99),
        values[values.len() - 1],
    ])
}

/// The cascade distributions the report and results.json show, from the base runs.
#[derive(Debug, Clone, PartialEq)]
pub struct CascadeSummary {
    pub scenarios: usize,
    /// Scenarios in which the fund sold outside its buffer / left redemptions unpaid at
    /// a close / gated.
    pub exhausted: usize,
    pub with_shortfall: usize,
    pub gated: usize,
    /// Median, 95th, 99th percentile and worst, shares of initial NAV (drawdown: of NAV
    /// per share).
    pub shortfall: [f64; 4],
    /// Buffer shortfall: sold beyond the buffer.
    pub beyond_buffer: [f64; 4],
    pub with_beyond_buffer: usize,
    pub liquidation_cost: [f64; 4],
    pub dilution: [f64; 4],
    pub drawdown: [f64; 4],
    /// Exhaustion day histogram: bin edges (days) and counts; scenarios never exhausted
    /// are counted in `exhausted`'s complement.
    pub exhaustion_edges: Vec<f64>,
    pub exhaustion_counts: Vec<u64>,
    /// Median exhaustion day among exhausted scenarios.
    pub exhaustion_median: Option<f64>,
}

pub fn cascade_summary(run: &LiquidityRun, agg: &LiquidityAggregate) -> Option<CascadeSummary> {
    let o = &agg.outcomes;
    if o.is_empty() {
        return None;
    }
    let pick = |f: fn(&ScenarioOutcome) -> f64| spread_of(o.iter().map(f).collect());
    let horizon = run.settings.horizon_days;
    let bins = horizon.div_ceil(EXHAUSTION_BIN_DAYS) as usize;
    let mut counts = vec![0u64; bins];
    let mut days: Vec<f64> = Vec::new();
    for s in o {
        if let Some(d) = s.base.exhaustion_day {
            counts[((d / EXHAUSTION_BIN_DAYS) as usize).min(bins - 1)] += 1;
            days.push(f64::from(d));
        }
    }
    days.sort_by(f64::total_cmp);
    Some(CascadeSummary {
        scenarios: o.len(),
        exhausted: days.len(),
        with_shortfall: o.iter().filter(|s| s.base.shortfall > 0.0).count(),
        gated: o.iter().filter(|s| s.base.gate_day.is_some()).count(),
        shortfall: pick(|s| s.base.shortfall)?,
        beyond_buffer: pick(|s| s.base.beyond_buffer)?,
        with_beyond_buffer: o.iter().filter(|s| s.base.beyond_buffer > 0.0).count(),
        liquidation_cost: pick(|s| s.base.liquidation_cost)?,
        dilution: pick(|s| s.base.dilution)?,
        drawdown: pick(|s| s.base.max_drawdown)?,
        exhaustion_edges: (0..=bins)
            .map(|b| f64::from(b as u32 * EXHAUSTION_BIN_DAYS))
            .collect(),
        exhaustion_counts: counts,
        exhaustion_median: (!days.is_empty()).then(|| stats::quantile(&days, 0.5)),
    })
}

/// The worst scenario's base cascade, day by day (re-run deterministically).
pub fn worst_days(
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
) -> Option<(ScenarioOutcome, Vec<DayRecord>)> {
    let worst = agg.worst()?.clone();
    let set = scenario_set(run).ok()?;
    let spec = set.iter().find(|s| s.id == worst.id)?;
    let sim = Simulator::new(run).ok()?;
    let mut paths = ScenarioPaths::default();
    let mut ws = sim.base.workspace();
    sim.run_recorded(spec, &mut paths, &mut ws).ok()?;
    Some((worst, ws.days))
}

/// The facts a narrator may use: the headline figures of the run and of each persona.
pub fn facts(
    ctx: &RunContext,
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    findings: &[Findings],
) -> Value {
    let summary = cascade_summary(run, agg);
    json!({
        "fund": run.fund.name,
        "nav": run.fund.nav,
        "base_currency": ctx.base_currency,
        "buffer_share": run.fund.buffer.share,
        "scenarios": agg.outcomes.len(),
        "horizon_business_days": run.settings.horizon_days,
        "strategy": strategy_name(run.settings.strategy),
        // Every figure the template narrative cites (a model narrator sees only this).
        "scenarios_exhausting_buffer": summary.as_ref().map(|s| s.exhausted),
        "share_of_scenarios_exhausting_buffer": summary.as_ref().map(|s| s.exhausted as f64 / s.scenarios as f64),
        "buffer_exhaustion_median_day": summary.as_ref().and_then(|s| s.exhaustion_median),
        "scenarios_gated": summary.as_ref().map(|s| s.gated),
        "dilution_p95": summary.as_ref().map(|s| s.dilution[1]),
        "dilution_worst": summary.as_ref().map(|s| s.dilution[3]),
        "headlines": findings.iter().map(|f| json!({"persona": f.persona, "headline": f.headline})).collect::<Vec<_>>(),
    })
}

/// The deterministic narrative: what was run, what the cascades show, then each
/// persona's headline in team order.
pub fn template_narrative(
    ctx: &RunContext,
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    findings: &[Findings],
) -> String {
    let cur = &ctx.base_currency;
    let mut s = vec![format!(
        "{} ({} NAV, buffer {} of NAV) was run through {} combined market-liquidity × redemption scenarios, each a {}-business-day cascade with feedback, selling by {} beyond the buffer.",
        run.fund.name,
        money(run.fund.nav, cur),
        pct(run.fund.buffer.share),
        agg.outcomes.len(),
        run.settings.horizon_days,
        strategy_name(run.settings.strategy),
    )];
    if let Some(c) = cascade_summary(run, agg) {
        s.push(format!(
            "The buffer was exhausted in {} of {} scenarios ({}){}; the gate deferred redemptions in {}; costs borne by remaining investors were {} of NAV at the 95th percentile and {} in the worst scenario.",
            c.exhausted,
            c.scenarios,
            pct(c.exhausted as f64 / c.scenarios as f64),
            c.exhaustion_median
                .map(|d| format!(", at a median of day {d:.0}"))
                .unwrap_or_default(),
            c.gated,
            pct(c.dilution[1]),
            pct(c.dilution[3]),
        ));
    }
    for f in findings.iter().filter(|f| !f.headline.is_empty()) {
        s.push(f.headline.clone());
    }
    s.join(" ")
}

fn distribution_table(c: &CascadeSummary, nav: f64, cur: &str) -> Table {
    let mut t = Table::new(
        "Base cascade outcomes across scenarios, each over the whole horizon (percentiles of the scenario set, not probabilities)",
        vec![
            Column::text("Across scenarios"),
            Column::money("Buffer shortfall: sold beyond the buffer", cur),
            Column::money("Largest payable awaiting cash at a close", cur),
            Column::money("Liquidation cost (spread + impact)", cur),
            Column::money("Dilution borne by remaining investors", cur),
        ],
    );
    for (k, name) in ["Median", "95th percentile", "99th percentile", "Worst"]
        .iter()
        .enumerate()
    {
        t.row(vec![
            Cell::from(*name),
            Cell::from(c.beyond_buffer[k] * nav),
            Cell::from(c.shortfall[k] * nav),
            Cell::from(c.liquidation_cost[k] * nav),
            Cell::from(c.dilution[k] * nav),
        ]);
    }
    t
}

fn by_kind_table(agg: &LiquidityAggregate) -> Table {
    let mut t = Table::new(
        "Base cascade by scenario kind (market stress × redemption shock)",
        vec![
            Column::text("Market stress"),
            Column::text("Redemption shock"),
            Column::number("Scenarios", 0),
            Column::percent("Buffer exhausted"),
            Column::percent("Gated"),
            Column::percent("Redeemed, median"),
            Column::percent("Dilution, 95th pct"),
            Column::percent("Drawdown, 95th pct"),
        ],
    );
    let markets = [
        "market-wide",
        "asset-class specific",
        "flight to quality",
        "funding shock",
    ];
    for (m, market) in markets.iter().enumerate() {
        for kind in RedemptionShockKind::ALL {
            let cell: Vec<&ScenarioOutcome> = agg
                .outcomes
                .iter()
                .filter(|o| o.market_kind.index() == m && o.redemption_kind == kind)
                .collect();
            if cell.is_empty() {
                continue;
            }
            let n = cell.len() as f64;
            let q = |f: fn(&ScenarioOutcome) -> f64, p: f64| {
                let mut v: Vec<f64> = cell.iter().map(|o| f(o)).collect();
                v.sort_by(f64::total_cmp);
                stats::quantile(&v, p)
            };
            t.row(vec![
                Cell::from(*market),
                Cell::from(redemption_kind_name(kind)),
                Cell::from(n),
                Cell::from(
                    cell.iter()
                        .filter(|o| o.base.exhaustion_day.is_some())
                        .count() as f64
                        / n,
                ),
                Cell::from(cell.iter().filter(|o| o.base.gate_day.is_some()).count() as f64 / n),
                Cell::from(q(|o| o.base.redeemed, 0.5)),
                Cell::from(q(|o| o.base.dilution, 0.95)),
                Cell::from(q(|o| o.base.max_drawdown, 0.95)),
            ]);
        }
    }
    t
}

fn worst_table(days: &[DayRecord], cur: &str) -> Table {
    let mut t = Table::new(
        "Worst scenario, day by day (base cascade)",
        vec![
            Column::number("Day", 0),
            Column::percent("Requested (of holdings)"),
            Column::money("Dealt", cur),
            Column::money("Paid", cur),
            Column::money("Owed at close", cur),
            Column::money("Sold (gross)", cur),
            Column::money("Sale costs", cur),
            Column::money("Fire-sale marks", cur),
            Column::money("Cash at close", cur),
            Column::money("NAV at close", cur),
            Column::number("NAV per share", 4),
            Column::percent("Less liquid share"),
        ],
    )
    .one_money_scale();
    for d in days {
        t.row(vec![
            Cell::from(f64::from(d.day)),
            Cell::from(d.requested_fraction),
            Cell::from(d.dealt_value),
            Cell::from(d.paid),
            Cell::from(d.owed_close),
            Cell::from(d.gross_sold),
            Cell::from(d.cost),
            Cell::from(d.fire_sale_loss),
            Cell::from(d.cash_close),
            Cell::from(d.nav_close),
            Cell::from(d.nav_per_share),
            Cell::from(d.less_liquid_share),
        ]);
    }
    t
}

fn worst_chart(days: &[DayRecord], nav0: f64) -> String {
    let labels: Vec<String> = days.iter().map(|d| d.day.to_string()).collect();
    let mut dealt = 0.0;
    let mut sold = 0.0;
    let series = vec![
        (
            "Redemptions dealt, cumulative".to_owned(),
            days.iter()
                .map(|d| {
                    dealt += d.dealt_value;
                    dealt / nav0
                })
                .collect(),
        ),
        (
            "Sold, cumulative".to_owned(),
            days.iter()
                .map(|d| {
                    sold += d.gross_sold;
                    sold / nav0
                })
                .collect(),
        ),
        (
            "Cash at close".to_owned(),
            days.iter().map(|d| d.cash_close / nav0).collect(),
        ),
        (
            "Less liquid share of holdings".to_owned(),
            days.iter().map(|d| d.less_liquid_share).collect(),
        ),
    ];
    svg::line_chart(
        "Worst scenario: redemptions, sales and cash (share of initial NAV) by business day",
        &labels,
        &series,
        &percent_axis("Share"),
        None,
    )
}

fn percent_axis(name: &str) -> svg::Axis {
    svg::Axis {
        name: name.into(),
        unit: "%".into(),
        divisor: 0.01,
        decimals: Some(1),
    }
}

fn persona_section(findings: &[Findings], persona: LiquidityPersona, cur: &str) -> String {
    findings
        .iter()
        .find(|f| f.persona == persona.name())
        .map(|f| persona_body(f, cur, &|_| false))
        .unwrap_or_default()
}

const METHODS_HTML: &str = "<ul>\
<li><strong>Scenarios</strong> combine a market-liquidity stress (market-wide, asset-class specific, flight to quality, funding shock; depth −50 to −95%, spreads ×2 to ×20, volume −30 to −90%, severities anchored on the 2008 widening of Moody's Baa−Aaa) with a redemption shock (empirical flow percentiles after Bouveret 2017, the behavioural flow–performance model, or exits of the largest holders), their severities rank-correlated (Iman &amp; Conover 1982). Severities come in equal thirds by design: a share of scenarios is not a probability.</li>\
<li><strong>Cascades</strong> run business day by day: requests after notice, dealing at forward NAV with the fund's gate and swing pricing, payment from cash and buffer tiers, sales by the liquidation strategy within participation caps, spread and Almgren et al. (2005) impact on sales, Cont &amp; Schaanning (2017) fire-sale marks on what is left, and the NAV loss feeding tomorrow's redemptions. Money is conserved every day. Prices fall in every market scenario (each class by its loading and volatility beta of a three-month S&amp;P 500 fall anchored on 1990–2022; alternatives' marks lag), so NAV drawdowns are mostly the market's; second-round redemptions respond only to the fund's own liquidation losses, the market's fall being in the first-round shock.</li>\
<li><strong>Dilution</strong> is the liquidation cost borne by investors who stay (costs not charged to leavers through swing pricing); their <strong>liquidation loss</strong> adds the fire-sale marks. The <strong>buffer shortfall</strong> is what had to be sold beyond cash and the buffer tiers.</li>\
<li><strong>Amounts</strong> are in the base currency, scaled as marked; shares are of NAV at the start.</li>\
<li><strong>Recommendations</strong> cite the figures they rest on, in brackets.</li></ul>";

fn results_body(
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    summary: Option<&CascadeSummary>,
    worst: Option<&(ScenarioOutcome, Vec<DayRecord>)>,
) -> Value {
    let nav = run.fund.nav;
    let quartet = |v: [f64; 4]| json!({"median": v[0], "p95": v[1], "p99": v[2], "worst": v[3]});
    json!({
        "fund": {
            "nav": nav,
            "buffer": run.fund.buffer,
            "allocation": run.fund.allocation,
            "liquidity_classes": run.fund.liquidity_classes,
            "rule_22e4": {
                "shares": run.fund.classification.shares,
                "illiquid_limit_breached": run.fund.classification.illiquid_limit_breached,
                "highly_liquid_minimum_breached": run.fund.classification.highly_liquid_minimum_breached,
                "weighted_score": run.fund.classification.weighted_score,
            },
            "dealing": run.fund.terms,
        },
        "settings": run.settings,
        "feedback_slope": run.feedback_slope,
        "scenario_count": agg.outcomes.len(),
        "failures": agg.failures,
        "cascade": summary.map(|c| json!({
            "note": "base cascade over the whole horizon; fractions of initial NAV; shares of scenarios are not probabilities",
            "scenarios": c.scenarios,
            "buffer_exhausted": c.exhausted,
            "with_shortfall": c.with_shortfall,
            "with_beyond_buffer": c.with_beyond_buffer,
            "gated": c.gated,
            "shortfall": quartet(c.shortfall),
            "beyond_buffer": quartet(c.beyond_buffer),
            "liquidation_cost": quartet(c.liquidation_cost),
            "dilution": quartet(c.dilution),
            "max_drawdown": quartet(c.drawdown),
            "exhaustion_day": {
                "bin_edges": c.exhaustion_edges,
                "counts": c.exhaustion_counts,
                "never": c.scenarios - c.exhausted,
                "median": c.exhaustion_median,
            },
        })),
        "worst_scenario": worst.map(|(o, days)| json!({
            "id": o.id,
            "name": o.name(),
            "outcome": o.base,
            "days": days.iter().map(|d| json!({
                "day": d.day,
                "requested_fraction": d.requested_fraction,
                "dealt": d.dealt_value,
                "paid": d.paid,
                "owed": d.owed_close,
                "sold": d.gross_sold,
                "cost": d.cost,
                "fire_sale_loss": d.fire_sale_loss,
                "cash": d.cash_close,
                "nav": d.nav_close,
                "nav_per_share": d.nav_per_share,
                "less_liquid_share": d.less_liquid_share,
            })).collect::<Vec<_>>(),
        })),
        "scenarios": agg.outcomes.iter().map(|o| json!({
            "id": o.id,
            "market_kind": market_kind_name(&o.market_kind),
            "market_severity": severity_name(o.market_severity),
            "redemption_kind": redemption_kind_name(o.redemption_kind),
            "redemption_severity": severity_name(o.redemption_severity),
            "redeemed": o.base.redeemed,
            "outflow_30d": o.outflows[2],
            "beyond_buffer": o.base.beyond_buffer,
            "shortfall": o.base.shortfall,
            "exhaustion_day": o.base.exhaustion_day,
            "gate_day": o.base.gate_day,
            "liquidation_cost": o.base.liquidation_cost,
            "dilution": o.base.dilution,
            "max_drawdown": o.base.max_drawdown,
            "final_nav_per_share": o.base.final_nav_per_share,
        })).collect::<Vec<_>>(),
    })
}

pub fn render(
    ctx: &RunContext,
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    findings: &[Findings],
    narrative: &str,
) -> Deliverables {
    let cur = &ctx.base_currency;
    let nav = run.fund.nav;
    let horizon = horizon(run);
    let estimates = [
        Estimate::new(
            "Holdings' markets",
            "ADV, bid-ask spread, volatility and settlement from the input, else the class defaults (listed per holding by the analyst)",
        ),
        Estimate::new(
            "Sale costs",
            "half the stressed bid-ask spread plus Almgren et al. (2005) impact 0.142·σ·participation^0.6; fire-sale marks after Cont & Schaanning (2017)",
        ),
        Estimate::new(
            "Redemptions",
            "scenario shocks (empirical flows, the flow–performance model, large-holder exits) plus the model's response to the fund's own liquidation losses (its monthly rate linearised, paid out daily)",
        ),
    ];
    let title = format!("Liquidity stress test — {}", run.fund.name);
    let header = Header {
        title: &title,
        run: ctx,
        horizon: &horizon,
        estimates: &estimates,
    };
    let summary = cascade_summary(run, agg);
    let worst = worst_days(run, agg);

    let mut sections = vec![report::section(
        "Executive summary",
        "",
        &format!(
            "<div class=\"narrative\">{}</div>{}",
            report::paragraph(narrative),
            headlines(findings)
        ),
    )];
    sections.push(report::section(
        "Liquidity profile",
        "How fast the fund can raise cash, by class and under stress; SEC rule 22e-4 buckets.",
        &persona_section(findings, LiquidityPersona::MarketLiquidityAnalyst, cur),
    ));
    sections.push(report::section(
        "Investors and redemption shocks",
        "",
        &persona_section(findings, LiquidityPersona::InvestorBehaviorModeler, cur),
    ));
    let mut cascade_html = String::new();
    if let Some(c) = &summary {
        cascade_html.push_str(&report::paragraph(&format!(
            "The buffer was exhausted (sales outside cash and the buffer tiers) in {} of {} scenarios; the gate deferred redemptions in {}. Redemptions awaited cash at some close (paid from sales still settling) in {}.",
            c.exhausted, c.scenarios, c.gated, c.with_shortfall
        )));
        let shortfalls: Vec<f64> = agg
            .outcomes
            .iter()
            .filter(|o| o.base.beyond_buffer > 0.0)
            .map(|o| o.base.beyond_buffer * nav)
            .collect();
        let mut charts = vec![svg::histogram(
            &format!(
                "Day the buffer was exhausted ({} scenarios never exhausted it)",
                c.scenarios - c.exhausted
            ),
            &c.exhaustion_edges,
            &c.exhaustion_counts,
            &svg::Axis::plain("Business day", ""),
            "Scenarios",
            &[],
        )];
        if shortfalls.len() >= 2 {
            let (edges, counts) = histogram_bins(&shortfalls, 20);
            charts.push(svg::histogram(
                &format!(
                    "Buffer shortfall: redemptions raised by selling beyond the buffer ({} of {} scenarios)",
                    shortfalls.len(),
                    c.scenarios
                ),
                &edges,
                &counts,
                &money_axis("Sold beyond the buffer", cur, &shortfalls),
                "Scenarios",
                &[],
            ));
        }
        cascade_html.push_str(&report::figures(&charts));
        cascade_html.push_str(&distribution_table(c, nav, cur).to_html());
        cascade_html.push_str(&report::collapsible(
            "By scenario kind",
            &by_kind_table(agg).to_html(),
        ));
    } else {
        cascade_html.push_str(&report::paragraph("No scenario produced a result."));
    }
    if !agg.failures.is_empty() {
        cascade_html.push_str(&report::paragraph(&format!(
            "{} scenario(s) could not be run and are left out of every figure: {}",
            agg.failures.len(),
            agg.failures
                .iter()
                .take(5)
                .map(|f| format!("#{} ({})", f.id, f.reason))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    sections.push(report::section(
        "Redemption cascades",
        "Every scenario run day by day with feedback; distributions of the buffer shortfall (what had to be sold beyond the buffer) and of the day the buffer ran out.",
        &cascade_html,
    ));
    sections.push(report::section(
        "Buffer",
        "",
        &persona_section(findings, LiquidityPersona::PortfolioLiquidityOptimizer, cur),
    ));
    sections.push(report::section(
        "Liquidation strategy",
        "",
        &persona_section(findings, LiquidityPersona::LiquidationStrategyDesigner, cur),
    ));
    sections.push(report::section(
        "Gates and redemption terms",
        "",
        &persona_section(findings, LiquidityPersona::RedemptionPolicyFormulator, cur),
    ));
    if let Some((o, days)) = &worst {
        sections.push(report::section(
            "Worst scenario, day by day",
            &format!(
                "{} (scenario {}): the largest liquidation loss borne by remaining investors ({} of NAV in costs and fire-sale marks; {} sold beyond the buffer; final NAV per share {:.4}, the market's fall included).",
                o.name(),
                o.id,
                pct(o.base.dilution + o.base.fire_sale_loss),
                pct(o.base.beyond_buffer),
                o.base.final_nav_per_share
            ),
            &format!(
                "{}{}",
                report::figures(&[worst_chart(days, nav)]),
                report::collapsible("Every day", &worst_table(days, cur).to_html())
            ),
        ));
    }
    sections.push(report::section("How to read this report", "", METHODS_HTML));
    let html = report::page(&header, &sections);

    let mut md = header.markdown();
    md.push_str(&format!("{}\n\n", report::markdown_text(narrative)));
    if let Some(c) = &summary {
        md.push_str(&distribution_table(c, nav, cur).to_markdown());
        md.push('\n');
    }
    for f in findings {
        md.push_str(&format!(
            "- **{}**: {}\n",
            f.persona,
            report::markdown_text(&f.headline)
        ));
    }
    let body = results_body(run, agg, summary.as_ref(), worst.as_ref());
    let results = envelope(
        ctx,
        nav,
        Horizon {
            description: &horizon,
        },
        narrative,
        findings,
        body,
    );
    Deliverables {
        results_json: serde_json::to_vec_pretty(&results).unwrap_or_default(),
        summary_md: md,
        report_html: html,
    }
}

/// Equal-width bins over the values' range.
fn histogram_bins(values: &[f64], bins: usize) -> (Vec<f64>, Vec<u64>) {
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let edges: Vec<f64> = (0..=bins).map(|b| lo + width * b as f64).collect();
    let mut counts = vec![0u64; bins];
    for v in values {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    (edges, counts)
}

#[cfg(test)]
mod tests;
