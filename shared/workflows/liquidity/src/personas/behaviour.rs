//! investor-behavior-modeler: who holds the fund, how they redeem, and what the
//! scenarios' redemptions and their second-round feedback amounted to.
//!
//! The investor base and its concentration (Herfindahl–Hirschman index, top-10 share);
//! the flow–performance redemption model's parameters per investor type with their
//! references ([`RedemptionModel`]); expected monthly redemptions per type under the
//! moderate / severe / extreme drivers of the model-driven shocks; the empirical flow
//! shocks of the IMF guide (Bouveret 2017) for the fund's peer group; the distribution
//! across the scenario set of redemptions requested and dealt and of outflows by day
//! 1/7/30/90, by kind of redemption shock; the second-round effect (ESMA 2020 LST
//! guidelines §§ 47–49: the redemptions the liquidation-loss feedback adds over a one-pass run); and
//! the first-mover effect (Chen, Goldstein & Jiang 2010; Goldstein, Jiang & Ng 2017):
//! how the model's redemptions rise with the fund's illiquidity.
//!
//! O(groups + scenarios · log scenarios): no cascade is re-run.

use stresslab_analytics::stats;
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{pct, Cell, Column, Table};

use crate::engine::{redemption_kind_name, severity_name, LiquidityRun, NEED_DAYS};
use crate::investors::{
    flow_percentiles, FlowDrivers, FundType, InvestorType, RedemptionFrequency, RedemptionModel,
    EMPIRICAL_FLOW_SHOCKS, VOLATILITY_REFERENCE,
};
use crate::personas::upstream_figure;
use crate::scenarios::{
    RedemptionShockKind, MODEL_FUND_RETURN_BANDS, MODEL_PEER_REDEMPTION_BANDS,
    MODEL_VOLATILITY_BANDS, PEER_RETURN_SHARE,
};
use crate::types::Severity;
use crate::LiquidityAggregate;

/// The persona's name (the figure contract's namespace).
pub const NAME: &str = "investor-behavior-modeler";

/// Percentiles reported across the scenario set.
pub const PERCENTILES: [f64; 4] = [0.50, 0.90, 0.95, 0.99];

/// Illiquidity levels of the first-mover table (share of NAV outside the highly
/// liquid bucket).
pub const ILLIQUIDITY_GRID: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// A per-scenario feedback share from which the second-round effect is called
/// material: 1% of a scenario's redemptions. An **assumption** (a threshold for the
/// wording of the recommendation only; the figures are reported either way).
pub const FEEDBACK_MATERIALITY: f64 = 0.01;

/// A fraction as a percentage with two decimals (small second-round shares).
fn pct2(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

const SEVERITIES: [Severity; 3] = [Severity::Moderate, Severity::Severe, Severity::Extreme];

/// The drivers of a model-driven redemption shock of a severity at the midpoint of its
/// bands ([`MODEL_FUND_RETURN_BANDS`], [`MODEL_VOLATILITY_BANDS`],
/// [`MODEL_PEER_REDEMPTION_BANDS`]; peers lose [`PEER_RETURN_SHARE`] of the fund's
/// loss), at the given fund illiquidity — what the scenario generator feeds the model
/// at quantile ½ of each tercile.
pub fn severity_drivers(severity: Severity, illiquidity: f64) -> FlowDrivers {
    let s = severity as usize;
    let mid = |b: [f64; 2]| 0.5 * (b[0] + b[1]);
    let fund_return = mid(MODEL_FUND_RETURN_BANDS[s]);
    FlowDrivers {
        fund_return,
        peer_return: PEER_RETURN_SHARE * fund_return,
        volatility: mid(MODEL_VOLATILITY_BANDS[s]),
        peer_redemptions: mid(MODEL_PEER_REDEMPTION_BANDS[s]),
        illiquidity: illiquidity.clamp(0.0, 1.0),
    }
}

/// Empirical percentiles of `values` (Hyndman & Fan 1996 definition 7, numpy's
/// default, via [`stats::quantile`]) at each of `ps`. Sorts `values` in place; NaN
/// entries are dropped. `None` for no finite value.
pub fn percentiles<const N: usize>(values: &mut Vec<f64>, ps: &[f64; N]) -> Option<[f64; N]> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(ps.map(|p| stats::quantile(values, p)))
}

/// The second-round effect of a set of scenarios: the share of base-run redemptions
/// the liquidation-loss feedback added over the one-pass run, `Σ (base − one pass) / Σ base`, and
/// the largest per-scenario share `(base − one pass)/base` with its scenario id. `None`
/// when nothing was redeemed.
pub fn feedback_effect(agg: &LiquidityAggregate) -> Option<(f64, f64, u32)> {
    let base: f64 = agg.outcomes.iter().map(|o| o.base.redeemed).sum();
    if base <= 0.0 {
        return None;
    }
    let added: f64 = agg
        .outcomes
        .iter()
        .map(|o| o.base.redeemed - o.one_pass.redeemed)
        .sum();
    let (id, max) = agg
        .outcomes
        .iter()
        .filter(|o| o.base.redeemed > 0.0)
        .map(|o| {
            (
                o.id,
                (o.base.redeemed - o.one_pass.redeemed) / o.base.redeemed,
            )
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
    Some((added / base, max, id))
}

fn type_name(t: InvestorType) -> &'static str {
    match t {
        InvestorType::Retail => "retail",
        InvestorType::WealthManager => "wealth manager",
        InvestorType::Pension => "pension",
        InvestorType::Insurer => "insurer",
        InvestorType::Sovereign => "sovereign",
        InvestorType::FundOfFunds => "fund of funds",
        InvestorType::Endowment => "endowment",
    }
}

/// The literature behind each type's parameters (their magnitudes are assumptions; see
/// [`crate::investors::DEFAULT_SENSITIVITIES`]).
fn type_reference(t: InvestorType) -> &'static str {
    match t {
        InvestorType::Retail => {
            "Sirri & Tufano 1998 (convex flows); Chen, Goldstein & Jiang 2010 (first mover)"
        }
        InvestorType::WealthManager => {
            "Schmidt, Timmermann & Wermers 2016 (intermediated money runs first)"
        }
        InvestorType::Pension
        | InvestorType::Insurer
        | InvestorType::Sovereign
        | InvestorType::Endowment => {
            "Chen, Goldstein & Jiang 2010 (large institutions internalise exit costs: low κ)"
        }
        InvestorType::FundOfFunds => {
            "Schmidt, Timmermann & Wermers 2016; Goldstein, Jiang & Ng 2017"
        }
    }
}

fn frequency_name(f: RedemptionFrequency) -> &'static str {
    match f {
        RedemptionFrequency::Daily => "daily",
        RedemptionFrequency::Weekly => "weekly",
        RedemptionFrequency::Monthly => "monthly",
        RedemptionFrequency::Quarterly => "quarterly",
    }
}

fn fund_type_name(t: FundType) -> &'static str {
    match t {
        FundType::Equity => "equity",
        FundType::Bond => "bond",
        FundType::HighYieldBond => "high-yield bond",
        FundType::EmergingMarketBond => "EM bond",
        FundType::Mixed => "mixed",
        FundType::Alternative => "alternative",
    }
}

/// Investor Behavior Modeler (see the module documentation for methods and references).
pub fn investor_behavior_modeler(
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    upstream: &[Findings],
) -> Findings {
    let mut f = Findings::new(NAME);
    let base = &run.fund.investors;
    let model: &RedemptionModel = &run.redemption_model;

    // ---- Illiquidity: the analyst's classification, or the run's own. ----
    let up_hl = upstream_figure(upstream, super::analyst::NAME, "highly_liquid_share");
    let up_illiquid = upstream_figure(upstream, super::analyst::NAME, "illiquid_share");
    let (illiquidity, source) = match up_hl {
        Some(hl) if hl.is_finite() => (
            (1.0 - hl).clamp(0.0, 1.0),
            "the market liquidity analyst's SEC 22e-4 highly liquid share".to_string(),
        ),
        _ => (
            run.scenarios.fund_illiquidity,
            "the run's own 22e-4 classification (the analyst's figure was not available)"
                .to_string(),
        ),
    };
    f.figure(
        "illiquidity_used",
        &format!("Fund illiquidity for the first-mover amplification: share of NAV outside the highly liquid bucket (from {source})"),
        illiquidity,
        Unit::Fraction,
        Horizon::Point,
    );

    // ---- Investor base and concentration. ----
    let hhi = f.figure(
        "hhi",
        "Herfindahl–Hirschman index of holder shares (0–1 scale; ×10,000 for the DoJ/FTC convention)",
        base.hhi(),
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "effective_investors",
        "Effective number of investors (1 / HHI)",
        if hhi > 0.0 { 1.0 / hhi } else { 0.0 },
        Unit::Ratio,
        Horizon::Point,
    );
    let top10 = f.figure(
        "top10_share",
        "Share of AUM held by the ten largest holders",
        base.top10_share(),
        Unit::Fraction,
        Horizon::Point,
    );
    f.tables.push(
        Table::new(
            "Investor base (share register): each group's holders hold equal parts; first dealing day = first dealing date after notice (business days)",
            vec![
                Column::text("Group"),
                Column::text("Type"),
                Column::percent("AUM share"),
                Column::number("Holders", 0),
                Column::percent("Per holder"),
                Column::number("Horizon (years)", 0),
                Column::number("Notice (business days)", 0),
                Column::text("Redemption frequency"),
                Column::number("First dealing day", 0),
            ],
        )
        .with_rows(base.groups().iter().map(|g| {
            vec![
                g.id.as_str().into(),
                type_name(g.investor_type).into(),
                g.aum_share.into(),
                f64::from(g.holders).into(),
                g.holder_share().into(),
                g.horizon_years.into(),
                f64::from(g.notice_days).into(),
                frequency_name(g.frequency).into(),
                f64::from(g.first_dealing_day()).into(),
            ]
        })),
    );
    f.tables.push(
        Table::new(
            "The ten largest holders (the concentrated-exit shocks take them in this order)",
            vec![
                Column::rank(),
                Column::text("Group"),
                Column::text("Type"),
                Column::percent("Share of AUM"),
                Column::number("First dealing day", 0),
            ],
        )
        .with_rows(base.top10().iter().enumerate().map(|(i, h)| {
            let g = &base.groups()[h.group];
            vec![
                ((i + 1) as f64).into(),
                g.id.as_str().into(),
                type_name(g.investor_type).into(),
                h.share.into(),
                f64::from(g.first_dealing_day()).into(),
            ]
        })),
    );

    // ---- The redemption model's parameters per type. ----
    let held = |t: InvestorType| -> f64 {
        base.groups()
            .iter()
            .filter(|g| g.investor_type == t)
            .map(|g| g.aum_share)
            .sum()
    };
    f.tables.push(
        Table::new(
            &format!(
                "Redemption model per investor type: r = base + down·(1+κ·illiq)·underperformance − up·outperformance + loss·max(−return,0) + vol·max(σ − {},0) + herd·(1+κ·illiq)·peer outflows, monthly, clamped to [0,1]. The shapes follow the references; the magnitudes are assumptions (no fund-level flow data held)",
                pct(VOLATILITY_REFERENCE)
            ),
            vec![
                Column::text("Type"),
                Column::percent("Held (AUM)"),
                Column::percent("Base monthly"),
                Column::number("Down slope", 2),
                Column::number("Up slope", 2),
                Column::number("Illiquidity κ", 2),
                Column::number("Loss slope", 2),
                Column::number("Vol slope", 2),
                Column::number("Herding", 2),
                Column::percent("Full exit, calm (90 days)"),
                Column::percent("Full exit, crisis (90 days)"),
                Column::text("Reference"),
            ],
        )
        .with_rows(InvestorType::ALL.iter().map(|&t| {
            let s = model.sensitivity(t);
            vec![
                type_name(t).into(),
                held(t).into(),
                s.base_monthly.into(),
                s.down_slope.into(),
                s.up_slope.into(),
                s.illiquidity_amplifier.into(),
                s.loss_slope.into(),
                s.vol_slope.into(),
                s.herding.into(),
                s.full_exit_calm.into(),
                s.full_exit_crisis.into(),
                type_reference(t).into(),
            ]
        })),
    );

    // ---- Expected monthly redemptions per type, by severity. ----
    let drivers = SEVERITIES.map(|s| severity_drivers(s, illiquidity));
    let mut t = Table::new(
        &format!(
            "Expected redemptions over one month, share of each type's holding, under the model-driven shocks' drivers at the midpoints of their bands (illiquidity {}): {}",
            pct(illiquidity),
            SEVERITIES
                .iter()
                .zip(&drivers)
                .map(|(s, d)| format!(
                    "{} — fund {}, peers {}, volatility {}, peer outflows {}",
                    severity_name(*s),
                    pct(d.fund_return),
                    pct(d.peer_return),
                    pct(d.volatility),
                    pct(d.peer_redemptions)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        vec![
            Column::text("Type"),
            Column::percent("Held (AUM)"),
            Column::percent("Moderate"),
            Column::percent("Severe"),
            Column::percent("Extreme"),
        ],
    );
    for ty in InvestorType::ALL {
        let mut row: Vec<Cell> = vec![type_name(ty).into(), held(ty).into()];
        for d in &drivers {
            row.push(model.expected_monthly(ty, d).ok().into());
        }
        t.row(row);
    }
    let fund_level = drivers.map(|d| model.fund_expected_monthly(base, &d).ok());
    let mut row: Vec<Cell> = vec!["fund (AUM-weighted)".into(), 1.0.into()];
    row.extend(fund_level.iter().map(|x| Cell::from(*x)));
    t.row(row);
    f.tables.push(t);
    for (s, v) in SEVERITIES.iter().zip(fund_level) {
        if let Some(v) = v {
            f.figure(
                &format!("expected_monthly_{}", severity_name(*s)),
                &format!(
                    "Model-expected fund redemptions over one month under {} drivers (band midpoints), share of NAV",
                    severity_name(*s)
                ),
                v,
                Unit::Fraction,
                Horizon::Months(1),
            );
        }
    }

    // ---- Empirical flow shocks. ----
    let ft = run.scenarios.fund_type;
    let emp = flow_percentiles(ft);
    f.figure(
        "empirical_p5_monthly",
        &format!(
            "Empirical 5th percentile of monthly net flows, {} funds (negative = outflow; assumed table, see caveats)",
            fund_type_name(ft)
        ),
        emp.p5_monthly,
        Unit::Fraction,
        Horizon::Months(1),
    );
    f.figure(
        "empirical_p1_monthly",
        &format!(
            "Empirical 1st percentile of monthly net flows, {} funds (negative = outflow; assumed table, see caveats)",
            fund_type_name(ft)
        ),
        emp.p1_monthly,
        Unit::Fraction,
        Horizon::Months(1),
    );
    f.tables.push(
        Table::new(
            "Empirical redemption shocks (Bouveret 2017, IMF WP/17/226, historical approach): 5th and 1st percentiles of monthly net flows by fund type. The values are assumptions ordered as the literature reports (no flow data set held); moderate scenarios run from the 5th to the 1st percentile, severe 1–1.5× and extreme 1.5–2× the 1st",
            vec![
                Column::text("Fund type"),
                Column::signed("5th percentile (%)", 1),
                Column::signed("1st percentile (%)", 1),
                Column::text("Used"),
            ],
        )
        .with_rows(EMPIRICAL_FLOW_SHOCKS.iter().map(|p| {
            vec![
                fund_type_name(p.fund_type).into(),
                (100.0 * p.p5_monthly).into(),
                (100.0 * p.p1_monthly).into(),
                if p.fund_type == ft { "this fund's peer group" } else { "" }.into(),
            ]
        })),
    );

    // ---- Distribution across the scenarios. ----
    let horizon = run.settings.horizon_days;
    let need: Vec<(usize, u32)> = NEED_DAYS
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, d)| *d <= horizon)
        .collect();
    let kinds: [Option<RedemptionShockKind>; 4] = [
        None,
        Some(RedemptionShockKind::Empirical),
        Some(RedemptionShockKind::ModelDriven),
        Some(RedemptionShockKind::ConcentratedExit),
    ];
    let mut t = Table::new(
        &format!(
            "Redemptions across the scenario set, share of initial NAV: percentiles over scenarios (a stress design with equal thirds of severities — a share of scenarios is not a probability). Requested = the shock's own requests over the horizon (before feedback); dealt = redemptions dealt in the base cascade over {horizon} business days (with feedback, notice, gate); outflow by day n = dealt in the first n business days"
        ),
        vec![
            Column::text("Redemption shock"),
            Column::text("Measure"),
            Column::number("Scenarios", 0),
            Column::percent("P50"),
            Column::percent("P90"),
            Column::percent("P95"),
            Column::percent("P99"),
        ],
    );
    let mut all_outflow_pcts: Vec<(u32, [f64; 4])> = Vec::new();
    for kind in kinds {
        let rows: Vec<_> = agg
            .outcomes
            .iter()
            .filter(|o| kind.is_none_or(|k| o.redemption_kind == k))
            .collect();
        let label = kind.map_or("all", redemption_kind_name);
        let mut measures: Vec<(String, Vec<f64>)> = vec![
            (
                "requested".into(),
                rows.iter().map(|o| o.exogenous_requests).collect(),
            ),
            (
                "dealt".into(),
                rows.iter().map(|o| o.base.redeemed).collect(),
            ),
        ];
        for &(k, d) in &need {
            measures.push((
                format!("outflow by day {d}"),
                rows.iter().map(|o| o.outflows[k]).collect(),
            ));
        }
        for (i, (name, mut v)) in measures.into_iter().enumerate() {
            let n = v.len();
            let p = percentiles(&mut v, &PERCENTILES);
            if kind.is_none() && i >= 2 {
                if let Some(p) = p {
                    all_outflow_pcts.push((need[i - 2].1, p));
                }
            }
            let mut row: Vec<Cell> = vec![label.into(), name.into(), (n as f64).into()];
            for j in 0..4 {
                row.push(p.map(|p| p[j]).into());
            }
            t.row(row);
        }
    }
    f.tables.push(t);
    let design_note = "percentile across the scenario set (a stress design, not a probability)";
    for &(d, p) in &all_outflow_pcts {
        if d == 30 {
            f.figure(
                "outflow_30d_p50",
                &format!("Outflows by day 30 (about one month), share of NAV: 50th {design_note}"),
                p[0],
                Unit::Fraction,
                Horizon::Point,
            );
        }
        f.figure(
            &format!("outflow_{d}d_p99"),
            &format!("Outflows by day {d}, share of NAV: 99th {design_note}"),
            p[3],
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if !all_outflow_pcts.is_empty() {
        f.charts.push(Chart {
            key: "outflow_percentiles".into(),
            title: "Cumulative redemptions dealt by need day across the scenario set (percentiles; a stress design, not probabilities)".into(),
            kind: ChartKind::Timeline,
            labels: all_outflow_pcts.iter().map(|(d, _)| format!("day {d}")).collect(),
            x: Vec::new(),
            x_label: "Business days".into(),
            x_unit: Unit::Count,
            y_label: "Share of NAV".into(),
            y_unit: Unit::Fraction,
            series: ["P50", "P90", "P95", "P99"]
                .iter()
                .enumerate()
                .map(|(j, name)| ChartSeries {
                    name: (*name).into(),
                    values: all_outflow_pcts.iter().map(|(_, p)| p[j]).collect(),
                })
                .collect(),
        });
    }

    // ---- Second-round effect. ----
    let slope = f.figure(
        "feedback_slope",
        "Feedback slope: extra monthly redemptions per unit of the fund's own liquidation loss (the model linearised in a loss peers do not share, AUM-weighted)",
        run.feedback_slope,
        Unit::Ratio,
        Horizon::Point,
    );
    let feedback = feedback_effect(agg);
    if let Some((share, max, id)) = feedback {
        f.figure(
            "feedback_share",
            &format!(
                "Second-round effect: share of base-run redemptions added by the liquidation-loss feedback over the one-pass run, summed over all scenarios{}",
                if run.settings.feedback { "" } else { " (feedback switched off in this run)" }
            ),
            share,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            "feedback_share_max",
            &format!(
                "Largest per-scenario share of redemptions added by the feedback (scenario #{id})"
            ),
            max,
            Unit::Fraction,
            Horizon::Point,
        );
    }

    // ---- First-mover effect. ----
    let severe = drivers[1];
    let mut grid: Vec<f64> = ILLIQUIDITY_GRID.to_vec();
    let mut cols = vec![Column::text("Type")];
    for x in &grid {
        cols.push(Column::percent(&format!("Illiquidity {}", pct(*x))));
    }
    cols.push(Column::percent(&format!(
        "This fund ({})",
        pct(illiquidity)
    )));
    cols.push(Column::number("Uplift 0 → 1 (×)", 2));
    grid.push(illiquidity);
    let mut t = Table::new(
        "First-mover effect: model-expected monthly redemptions under severe drivers (band midpoints) as the fund's illiquidity rises from 0 to 1 — the (1 + κ·illiquidity) amplification of the underperformance and herding responses",
        cols,
    );
    let at = |ty: Option<InvestorType>, x: f64| -> Option<f64> {
        let d = FlowDrivers {
            illiquidity: x,
            ..severe
        };
        match ty {
            Some(ty) => model.expected_monthly(ty, &d).ok(),
            None => model.fund_expected_monthly(base, &d).ok(),
        }
    };
    let types: Vec<Option<InvestorType>> = InvestorType::ALL
        .iter()
        .map(|t| Some(*t))
        .chain([None])
        .collect();
    for ty in types {
        let mut row: Vec<Cell> = vec![ty.map_or("fund (AUM-weighted)", type_name).into()];
        for &x in &grid {
            row.push(at(ty, x).into());
        }
        let uplift = match (at(ty, 0.0), at(ty, 1.0)) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a),
            _ => None,
        };
        row.push(uplift.into());
        t.row(row);
    }
    f.tables.push(t);
    if let (Some(a), Some(b), Some(c)) = (at(None, 0.0), at(None, 1.0), at(None, illiquidity)) {
        if a > 0.0 {
            f.figure(
                "first_mover_uplift",
                "Fund-level monthly redemptions under severe drivers, fully illiquid over fully liquid (first-mover amplification)",
                b / a,
                Unit::Ratio,
                Horizon::Point,
            );
            f.figure(
                "first_mover_uplift_current",
                "Fund-level monthly redemptions under severe drivers at this fund's illiquidity over a fully liquid fund",
                c / a,
                Unit::Ratio,
                Horizon::Point,
            );
        }
    }

    // ---- Headline and recommendations. ----
    let n = agg.outcomes.len();
    let p99_30 = f.get("outflow_30d_p99");
    let illiquid_text = match up_illiquid {
        Some(x) => format!("; the analyst's 22e-4 illiquid share is {}", pct(x)),
        None => String::new(),
    };
    f.headline = if n == 0 {
        format!(
            "Investor base: HHI {hhi:.3} ({:.0} effective investors), top 10 hold {}; no scenario outcomes to measure redemptions on (0 scenarios evaluated{}).",
            if hhi > 0.0 { 1.0 / hhi } else { 0.0 },
            pct(top10),
            if agg.failures.is_empty() { String::new() } else { format!(", {} refused", agg.failures.len()) }
        )
    } else {
        format!(
            "Investor base: HHI {hhi:.3}, top 10 hold {}; across {n} scenarios outflows by day 30 reach {} at the 99th percentile{}, and the liquidation-loss feedback adds {} of base-run redemptions over a one-pass run (first-mover amplification at illiquidity {}{illiquid_text}).",
            pct(top10),
            p99_30.map_or("n/a".into(), pct),
            if horizon < 30 { " (horizon shorter than 30 days)" } else { "" },
            feedback.map_or("n/a".into(), |x| pct2(x.0)),
            pct(illiquidity),
        )
    };
    f.recommend(
        format!(
            "The ten largest holders own {} of AUM (HHI {hhi:.3}): engage them on notice periods and agree advance warning of large redemptions; a single exit is a concentrated-exit shock of its own.",
            pct(top10)
        ),
        &["top10_share", "hhi"],
    );
    if let Some(p) = p99_30 {
        f.recommend(
            format!(
                "Size day-30 liquidity for at least {} of NAV, the 99th percentile of outflows by day 30 across the scenario set (a stress design, not a probability).",
                pct(p)
            ),
            &["outflow_30d_p99"],
        );
    }
    if let Some((share, max, _)) = feedback {
        let text = if max >= FEEDBACK_MATERIALITY {
            format!(
                "Second-round redemptions matter: the liquidation-loss feedback adds {} of base-run redemptions overall and up to {} in one scenario (slope {slope:.2} of monthly redemptions per unit of liquidation loss) — stress tests that stop at one pass understate outflows.",
                pct2(share),
                pct2(max)
            )
        } else {
            format!(
                "The second-round effect is small here: the liquidation-loss feedback adds {} of base-run redemptions overall and at most {} in any scenario, because the fund's own liquidation costs and fire-sale marks are small next to the market's fall (which drives the first-round shock) (slope {slope:.2} of monthly redemptions per unit of liquidation loss). Keep the feedback in the stress test — it grows with the fund's own losses — but size defences on the first-round shocks.",
                pct2(share),
                pct2(max)
            )
        };
        f.recommend(
            text,
            &["feedback_share", "feedback_share_max", "feedback_slope"],
        );
    }
    if let Some(u) = f.get("first_mover_uplift_current") {
        f.recommend(
            format!(
                "Illiquidity feeds redemptions: at this fund's illiquidity the model's severe-month redemptions are {u:.2}× those of a fully liquid fund; swing pricing or anti-dilution levies that charge leavers their costs blunt the first-mover advantage."
            ),
            &["first_mover_uplift_current", "illiquidity_used"],
        );
    }
    f
}

#[cfg(test)]
mod tests;
