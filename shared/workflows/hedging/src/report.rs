//! The hedging run's deliverables: `results.json` (every persona figure and table, the
//! cross-scenario comparison of every combination, one summary row per scenario),
//! `summary.md` and a self-contained `report.html`.
//!
//! The integration — robust program against the program best in the median scenario,
//! the cost of robustness, the frontier and the funding-ratio distributions — is
//! computed here from the aggregate ([`crate::analysis`]); everything else is the
//! personas' findings, drawn as they computed them.

use crate::analysis::{integrate, Integration};
use crate::evaluate::{FR_HIST_BINS, FR_HIST_LO, FR_HIST_WIDTH};
use crate::{HedgingAggregate, HedgingPersona, HedgingRun};
use serde_json::{json, Value};
use stresslab_core::engine::{Deliverables, PersonaRole, RunContext};
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Unit};
use stresslab_core::report::persona::{chart_svg, headlines, persona_body};
use stresslab_core::report::{self, money, pct, Cell, Column, Estimate, Header, Table};
use stresslab_core::results::{envelope, Horizon};
use stresslab_core::svg;

pub fn horizon(run: &HedgingRun) -> String {
    format!(
        "{} business days from the snapshot ({} Monte Carlo paths in each of {} volatility scenarios); costs per year",
        run.params.horizon_days, run.params.paths, run.params.scenarios
    )
}

/// The cross-scenario integration (it re-evaluates the median scenario: compute it once
/// per stage and pass it on).
pub fn integration(run: &HedgingRun, agg: &HedgingAggregate) -> Option<Integration> {
    integrate(&run.eval, agg, run.params.max_cost_bp)
}

pub fn facts(
    ctx: &RunContext,
    run: &HedgingRun,
    agg: &HedgingAggregate,
    i: Option<&Integration>,
    findings: &[Findings],
) -> Value {
    json!({
        "pension": run.eval.book.name,
        "assets": run.eval.book.assets_usd,
        "funded_ratio": run.eval.book.funded_ratio(),
        "base_currency": ctx.base_currency,
        "scenarios": agg.scenarios.len(),
        "paths": run.params.paths,
        // Every figure the template narrative cites (a model narrator sees only this).
        "simulation": "Monte Carlo paths of GJR-GARCH factors",
        "horizon_business_days": run.params.horizon_days,
        "combinations": run.eval.combos(),
        "funding_ratio_vol_objective": run.params.max_funding_ratio_vol,
        "robust_program": i.as_ref().map(|i| i.combos[i.robust].label.clone()),
        "robust_cost_bp": i.as_ref().map(|i| i.combos[i.robust].cost_bp),
        "median_best_program": i.as_ref().map(|i| i.combos[i.median_best].label.clone()),
        "median_best_cost_bp": i.as_ref().map(|i| i.combos[i.median_best].cost_bp),
        "worst_tail_funding_ratio": i.as_ref().map(|i| json!({
            "unhedged": i.combos[i.unhedged].worst_fr_cvar95,
            "robust": i.combos[i.robust].worst_fr_cvar95,
            "median_best": i.combos[i.median_best].worst_fr_cvar95,
        })),
        "share_of_scenarios_meeting_vol_objective": i.as_ref().map(|i| json!({
            "unhedged": i.combos[i.unhedged].share_meeting_vol_target,
            "robust": i.combos[i.robust].share_meeting_vol_target,
        })),
        "cost_of_robustness_bp": i.as_ref().map(|i| i.cost_of_robustness_bp),
        "worst_case_gain": i.as_ref().map(|i| i.worst_case_gain),
        "median_case_cost": i.as_ref().map(|i| i.median_case_cost),
        "headlines": findings.iter().map(|f| json!({"persona": f.persona, "headline": f.headline})).collect::<Vec<_>>(),
    })
}

pub fn template_narrative(
    run: &HedgingRun,
    agg: &HedgingAggregate,
    integration: Option<&Integration>,
) -> String {
    let b = &run.eval.book;
    let mut s = vec![format!(
        "{} (assets {}, funded at {:.1}%) was run through {} volatility scenarios × {} Monte Carlo paths over {} business days; {} combinations of currency, rates and credit hedge programs were revalued in full on the same paths.",
        b.name,
        money(b.assets_usd, "USD"),
        b.funded_ratio() * 100.0,
        agg.scenarios.len(),
        run.params.paths,
        run.params.horizon_days,
        run.eval.combos()
    )];
    if let Some(i) = integration {
        let (r, mb, u) = (
            &i.combos[i.robust],
            &i.combos[i.median_best],
            &i.combos[i.unhedged],
        );
        s.push(format!(
            "The robust program ({}; {:.1} bp a year) lifts the worst scenario's mean of the worst 5% funding ratios from {:.3} unhedged to {:.3}, and meets the {:.0}-point funding-ratio volatility objective in {} of scenarios (unhedged: {}).",
            r.label,
            r.cost_bp,
            u.worst_fr_cvar95,
            r.worst_fr_cvar95,
            run.params.max_funding_ratio_vol * 100.0,
            pct(r.share_meeting_vol_target),
            pct(u.share_meeting_vol_target)
        ));
        if i.robust == i.median_best {
            s.push("The same program is also the best in the median scenario: robustness costs nothing here.".into());
        } else {
            s.push(format!(
                "The program best in the median scenario ({}; {:.1} bp) would be {:.3} points worse in the worst case; robustness costs {:+.1} bp a year and {:.3} points of tail funding ratio in the median scenario.",
                mb.label, mb.cost_bp, i.worst_case_gain, i.cost_of_robustness_bp, i.median_case_cost
            ));
        }
    }
    s.join(" ")
}

fn persona_section(findings: &[Findings], p: HedgingPersona, cur: &str) -> String {
    findings
        .iter()
        .find(|f| f.persona == p.name())
        .map(|f| persona_body(f, cur, &|_| false))
        .unwrap_or_default()
}

fn fr_histogram(title: &str, counts: &[u64]) -> String {
    let edges: Vec<f64> = (0..=FR_HIST_BINS)
        .map(|b| FR_HIST_LO + b as f64 * FR_HIST_WIDTH)
        .collect();
    // Under- and overflow are folded into the end bins for the drawing.
    let mut c: Vec<u64> = counts[1..=FR_HIST_BINS].to_vec();
    c[0] += counts[0];
    c[FR_HIST_BINS - 1] += counts[FR_HIST_BINS + 1];
    // Trim empty tails so the mass is readable.
    let first = c.iter().position(|&x| x > 0).unwrap_or(0);
    let last = c.iter().rposition(|&x| x > 0).unwrap_or(FR_HIST_BINS - 1);
    svg::histogram(
        title,
        &edges[first..=last + 1],
        &c[first..=last],
        &svg::Axis::plain("Funding ratio at the horizon", ""),
        "paths × scenarios",
        &[],
    )
}

fn integration_html(
    run: &HedgingRun,
    agg: &HedgingAggregate,
    i: &Integration,
    backtest: &Result<crate::backtest::Backtest, String>,
) -> String {
    let cur = "USD";
    let mut t = Table::new(
        "Robust program, program best in the median scenario, and no hedge (across the scenario design; tail FR = mean of the worst 5% horizon funding ratios)",
        vec![
            Column::text("Program"),
            Column::number("Cost (bp/yr)", 1),
            Column::number("Worst-case tail FR", 3),
            Column::number("Median tail FR", 3),
            Column::number("Median FR vol", 3),
            Column::percent("Scenarios meeting FR-vol objective"),
            Column::percent(&format!("P(FR < {:.0}%), median scenario", run.params.funded_ratio_floor * 100.0)),
            Column::money("Worst surplus CVaR 99%", cur),
        ],
    );
    for (name, k) in [
        ("Robust", i.robust),
        ("Best in median scenario", i.median_best),
        ("No hedge", i.unhedged),
    ] {
        let c = &i.combos[k];
        t.row(vec![
            Cell::Text(format!("{name}: {}", c.label)),
            Cell::Number(c.cost_bp),
            Cell::Number(c.worst_fr_cvar95),
            Cell::Number(c.median_fr_cvar95),
            Cell::Number(c.median_fr_vol),
            Cell::Number(c.share_meeting_vol_target),
            Cell::Number(c.median_p_below_floor),
            Cell::Number(c.worst_surplus_cvar99),
        ]);
    }
    // The frontier: the efficient combinations, plus no hedge and the median-scenario
    // choice for reference (every combination is in results.json).
    let affordable: Vec<_> = i
        .combos
        .iter()
        .filter(|c| c.efficient || c.combo == i.unhedged || c.combo == i.median_best)
        .collect();
    let frontier = Chart {
        key: "frontier".into(),
        title: format!(
            "Frontier within the {:.0} bp cost cap: cost against worst-case tail funding ratio",
            run.params.max_cost_bp
        ),
        kind: ChartKind::Scatter,
        labels: affordable
            .iter()
            .map(|c| {
                let tag = if c.combo == i.robust {
                    " (robust)"
                } else if c.combo == i.unhedged {
                    " (no hedge)"
                } else if c.combo == i.median_best {
                    " (median best)"
                } else {
                    ""
                };
                format!("{}{tag}", run.eval.combo_code(c.combo))
            })
            .collect(),
        x: affordable.iter().map(|c| c.cost_bp).collect(),
        x_label: "Cost, bp of assets a year".into(),
        x_unit: Unit::Ratio,
        y_label: "Worst-scenario mean of the worst 5% funding ratios".into(),
        y_unit: Unit::Ratio,
        series: vec![ChartSeries {
            name: "Combinations".into(),
            values: affordable.iter().map(|c| c.worst_fr_cvar95).collect(),
        }],
    };
    let mut by_vol = Table::new(
        "The robust program by the scenario's equity volatility (tercile): median funding-ratio volatility, unhedged and hedged",
        vec![Column::text("Equity vol tercile"), Column::number("Unhedged FR vol", 3), Column::number("Robust FR vol", 3), Column::percent("Robust meets objective")],
    );
    let (by_unhedged, by_robust) = (&agg.combos[i.unhedged], &agg.combos[i.robust]);
    for (t, name) in ["low", "mid", "high"].into_iter().enumerate() {
        let n = by_robust.fr_vol_by_equity_tercile[t].len();
        if n == 0 {
            continue;
        }
        by_vol.row(vec![
            Cell::Text(format!(
                "{name} (equity vol {})",
                tercile_range(run.eval.terciles.cuts[3], t)
            )),
            Cell::Number(by_unhedged.fr_vol_by_equity_tercile[t].median()),
            Cell::Number(by_robust.fr_vol_by_equity_tercile[t].median()),
            Cell::Number(by_robust.meeting_vol_target_by_equity_tercile[t] as f64 / n as f64),
        ]);
    }
    let backtest_html = match backtest {
        Ok(bt) => backtest_html(bt),
        Err(e) => report::paragraph(&format!("Historical backtest not available: {e}")),
    };
    format!(
        "{}{}{}{}{}",
        report::paragraph(&format!(
            "Programs are coded FX · rates · credit: F50/F75/F95 FX forwards at that hedge ratio (+RR risk reversal, +SG seagull), S50/S75/S100 swaps at that share of PV01 (+C swaption collar), IDX index CDS, TR mezzanine tranche, 5N single-name CDS, — none. Robust: the combination with the best worst-case tail funding ratio among those costing at most {:.0} bp a year. Best in the median scenario: the best tail funding ratio in scenario {} (the median unhedged funding-ratio volatility). Cost of robustness: {:+.1} bp a year; it buys {:.3} points of worst-case tail funding ratio and gives up {:.3} in the median scenario. Worst cases across scenarios are exact; medians across scenarios are read from mergeable distributions on a 0.0001 grid (within 0.00005 of the exact median), which is what lets a run of 100,000 scenarios merge in bounded memory.",
            run.params.max_cost_bp, i.median_scenario, i.cost_of_robustness_bp, i.worst_case_gain, i.median_case_cost
        )),
        t.to_html(),
        report::figures(&[
            chart_svg(&frontier, cur),
            fr_histogram("Horizon funding ratio, no hedge (all paths of all scenarios)", &agg.fr_histograms[i.unhedged]),
            fr_histogram("Horizon funding ratio, robust program", &agg.fr_histograms[i.robust]),
        ]),
        by_vol.to_html(),
        backtest_html
    )
}

/// "≤ 25%", "25%–40%", "> 40%": the equity-vol range of tercile `t`.
fn tercile_range([t1, t2]: [f64; 2], t: usize) -> String {
    let p = |x: f64| format!("{:.0}%", x * 100.0);
    match t {
        0 => format!("≤ {}", p(t1)),
        1 => format!("{}–{}", p(t1), p(t2)),
        _ => format!("> {}", p(t2)),
    }
}

fn backtest_html(bt: &crate::backtest::Backtest) -> String {
    let mut t = Table::new(
        &format!(
            "Historical backtest, {} to {}: today's book and programs under each month's observed moves (instantaneous, full revaluation; proxies in the methods)",
            bt.first_month, bt.last_month
        ),
        vec![
            Column::text("Program"),
            Column::number("FR vol (annualised, FR points)", 3),
            Column::number("Worst month (FR points)", 3),
            Column::text("Worst month"),
            Column::percent("FR variance removed"),
        ],
    );
    for l in &bt.lines {
        t.row(vec![
            Cell::Text(l.label.clone()),
            Cell::Number(l.fr_vol),
            Cell::Number(l.worst_month),
            Cell::Text(l.worst_month_label.clone()),
            Cell::Number(l.variance_reduction),
        ]);
    }
    let months: Vec<String> = (0..bt.lines[0].fr_changes.len())
        .map(|i| format!("{}", i + 1))
        .collect();
    let chart = Chart {
        key: "backtest".into(),
        title: format!("Cumulative monthly funding-ratio changes, {} to {} (sum of each month's instantaneous change on today's book)", bt.first_month, bt.last_month),
        kind: ChartKind::Timeline,
        labels: months,
        x: Vec::new(),
        x_label: "Month of the window".into(),
        x_unit: Unit::Count,
        y_label: "Cumulative FR change".into(),
        y_unit: Unit::Ratio,
        series: bt
            .lines
            .iter()
            .map(|l| ChartSeries {
                name: l.label.chars().take(60).collect(),
                values: l.fr_changes.iter().scan(0.0, |acc, x| {
                    *acc += x;
                    Some(*acc)
                }).collect(),
            })
            .collect(),
    };
    format!(
        "{}{}",
        t.to_html(),
        report::figures(&[chart_svg(&chart, "USD")])
    )
}

const METHODS_HTML: &str = "<ul>\
<li><strong>Scenarios</strong> are volatility hyperparameters — FX vol per pair, rate vol per curve, credit spread vol, equity vol — sampled by Latin hypercube with rank-correlated vols (Iman &amp; Conover 1982), crossed with correlation regimes (normal, stress, crisis) and FX correlation cases (base, stress, safe-haven flip, decoupling). A share of scenarios is a share of the design, not a probability.</li>\
<li><strong>Paths</strong>: twenty factors (six FX rates, level/slope/curvature of the USD, EUR and GBP curves from a PCA of US zero yields, IG and HY log spreads, three equity markets), daily, with GJR-GARCH volatility clustering and leverage fitted to the bundled history, a two-state volatility regime, mean reversion of rates and spreads; each path from its own (seed, scenario, path) stream, the same paths for every program.</li>\
<li><strong>Revaluation</strong> is full at each checkpoint: bonds and liabilities on the moved curves and spreads, FX forwards and Garman–Kohlhagen options, swaps, Bachelier swaptions and CDS at the scenario's volatility. Curves keep their shape in remaining time (roll-down); coupons and benefits due are paid.</li>\
<li><strong>Tail FR</strong> is the mean of the worst 5% horizon funding ratios of a scenario; VaR and CVaR are of the surplus loss over the horizon; funding-ratio volatility is annualised; drawdowns are the largest fall from the running peak seen at days 21, 63, 126 and 252.</li>\
<li><strong>Limits of the model</strong>: yields are Gaussian around today's curve (no lower bound: in the worst scenarios' tails they go below zero, and long-dated liabilities gain accordingly); credit is spread risk only (no defaults); equities of markets other than the US, Europe and the UK follow the European factor; programs are one-year programs judged at the horizon, without rebalancing.</li>\
<li><strong>Costs</strong> per year: option premiums, carry (forward points, fixed against floating, CDS premium) and half the bid-ask spread on entry.</li>\
<li><strong>Recommendations</strong> cite the figures they rest on, in brackets.</li></ul>";

fn results_body(
    run: &HedgingRun,
    agg: &HedgingAggregate,
    i: Option<&Integration>,
    backtest: Option<&crate::backtest::Backtest>,
) -> Value {
    let m = &run.eval;
    // Per scenario: its design point and the unhedged pension's statistics (hedged
    // programs are summarised across scenarios in `integration`).
    let rows: Vec<Value> = agg
        .scenarios
        .iter()
        .map(|r| {
            let c = &r.unhedged;
            json!({
                "id": r.spec.id,
                "regime": r.spec.regime,
                "fx_case": r.spec.fx_correlation,
                "fx_vol": r.spec.fx_vol,
                "rate_vol_bp": r.spec.rate_vol_bp,
                "credit_spread_vol": r.spec.credit_spread_vol,
                "equity_vol": r.spec.equity_vol,
                "unhedged": {"fr_mean": c.fr_mean, "fr_vol": c.fr_vol, "fr_cvar95": c.fr_cvar95, "p_below_floor": c.p_below_floor, "surplus_var95": c.surplus_var95, "surplus_cvar95": c.surplus_cvar95, "surplus_var99": c.surplus_var99, "surplus_cvar99": c.surplus_cvar99, "drawdown": c.drawdown},
            })
        })
        .collect();
    json!({
        "pension": {
            "name": m.book.name,
            "assets": m.book.assets_usd,
            "liabilities": m.book.liabilities_usd,
            "funded_ratio": m.book.funded_ratio(),
        },
        "settings": run.params,
        "scenario_count": agg.scenarios.len(),
        "failures": agg.failures.iter().map(|(id, why)| json!({"id": id, "reason": why})).collect::<Vec<_>>(),
        "programs": m.desks.iter().map(|d| d.iter().map(|p| json!({
            "desk": p.program.desk,
            "label": p.program.label,
            "cost_bp": p.program.cost_bp(),
            "premium_bp": p.program.premium_bp,
            "carry_bp": p.program.carry_bp,
            "bid_ask_bp": p.program.bid_ask_bp,
            "legs": p.legs.len(),
        })).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "integration": i,
        "backtest": backtest.map(|bt| json!({
            "first_month": bt.first_month,
            "last_month": bt.last_month,
            "lines": bt.lines.iter().map(|l| json!({
                "label": l.label,
                "fr_vol": l.fr_vol,
                "worst_month": l.worst_month,
                "worst_month_label": l.worst_month_label,
                "variance_reduction": l.variance_reduction,
            })).collect::<Vec<_>>(),
        })),
        "scenarios": rows,
    })
}

pub fn render(
    ctx: &RunContext,
    run: &HedgingRun,
    agg: &HedgingAggregate,
    findings: &[Findings],
    narrative: &str,
) -> Deliverables {
    let cur = &ctx.base_currency;
    let horizon = horizon(run);
    let estimates = [
        Estimate::new("Paths", "GJR-GARCH factors with a volatility regime, fitted to bundled FX, S&P 500, zero-yield and Moody's history"),
        Estimate::new("Revaluation", "full, at checkpoints: curves by PCA components with roll-down, spreads, Garman–Kohlhagen, Bachelier, flat-hazard CDS"),
        Estimate::new("Costs", "premium, carry and half bid-ask per year; execution impact by the square-root law"),
    ];
    let title = format!("Hedging stress test — {}", run.eval.book.name);
    let header = Header {
        title: &title,
        run: ctx,
        horizon: &horizon,
        estimates: &estimates,
    };
    let integ = integration(run, agg);
    // The historical backtest of the robust and median-best programs, once for the page
    // and results.json.
    let backtest = match &integ {
        Some(i) => crate::backtest::backtest(&run.eval, &[i.robust, i.median_best]),
        None => Err("no scenario completed".into()),
    };
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
        "Portfolio risk",
        "",
        &persona_section(findings, HedgingPersona::PortfolioRiskManager, cur),
    ));
    if let Some(i) = &integ {
        sections.push(report::section(
            "Robust program",
            "Every combination of the desks' programs judged on the same paths in every scenario.",
            &integration_html(run, agg, i, &backtest),
        ));
    }
    sections.push(report::section(
        "Currency",
        "",
        &persona_section(findings, HedgingPersona::CurrencyRiskSpecialist, cur),
    ));
    sections.push(report::section(
        "Interest rates",
        "",
        &persona_section(findings, HedgingPersona::InterestRateStrategist, cur),
    ));
    sections.push(report::section(
        "Credit",
        "",
        &persona_section(findings, HedgingPersona::CreditExposureAnalyst, cur),
    ));
    sections.push(report::section(
        "Execution",
        "",
        &persona_section(findings, HedgingPersona::ExecutionStrategist, cur),
    ));
    sections.push(report::section("How to read this report", "", METHODS_HTML));
    let html = report::page(&header, &sections);
    let mut md = header.markdown();
    md.push_str(&format!("{}\n\n", report::markdown_text(narrative)));
    for f in findings {
        md.push_str(&format!(
            "- **{}**: {}\n",
            f.persona,
            report::markdown_text(&f.headline)
        ));
    }
    let body = results_body(run, agg, integ.as_ref(), backtest.as_ref().ok());
    let results = envelope(
        ctx,
        run.eval.book.assets_usd,
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
