//! The hedging team's findings: what each persona concludes from the aggregate, with
//! every recommendation citing the figures it rests on.
//!
//! Statistics "across scenarios" are over the volatility *design* (stress
//! hyperparameters sampled by Latin hypercube), not a forecast distribution: a median
//! is the design's median scenario, a worst case its worst scenario. Statistics "over
//! paths" (VaR, CVaR, shortfall probabilities) are Monte Carlo estimates within one
//! scenario over the run's horizon.

use crate::analysis::{integrate, Integration};
use crate::book::PensionBook;
use crate::evaluate::{ComboStats, EvalModel};
use crate::factors::{Currency, RiskFactor, N_FACTORS};
use crate::model::snapshot_implied;
use crate::programs::{
    bond_cs01, net_key_rate_exposure, net_local_exposure, swap_overlay, KEY_TENORS,
};
use crate::valuation::{ImpliedVols, PathMarket, Revaluer};
use crate::{HedgingAggregate, HedgingPersona, HedgingRun};
use stresslab_analytics::stats::quantile;
use stresslab_core::engine::PersonaRole;
use stresslab_core::findings::{
    Chart, ChartKind, ChartSeries, Findings, Horizon, Recommendation, Unit,
};
use stresslab_core::report::{money, pct, Cell, Column, Table};

pub mod execution;

/// Materiality of a critical exposure: its one-standard-deviation loss over a year is at
/// least this share of assets (issue 8).
pub const MATERIALITY: f64 = 0.02;
/// Nonlinearity flag: full revaluation differs from the linear estimate by more than
/// this share under a two-standard-deviation move (issue 8).
pub const NONLINEARITY: f64 = 0.15;

pub fn persona(
    p: HedgingPersona,
    run: &HedgingRun,
    agg: &HedgingAggregate,
    upstream: &[Findings],
) -> Findings {
    let integration = integrate(&run.eval, agg, run.params.max_cost_bp);
    match p {
        HedgingPersona::PortfolioRiskManager => risk_manager(run, agg, integration.as_ref()),
        HedgingPersona::CurrencyRiskSpecialist => desk(run, agg, integration.as_ref(), 0, p),
        HedgingPersona::InterestRateStrategist => {
            let mut f = desk(run, agg, integration.as_ref(), 1, p);
            curve_shocks(run, &mut f);
            f
        }
        HedgingPersona::CreditExposureAnalyst => desk(run, agg, integration.as_ref(), 2, p),
        HedgingPersona::ExecutionStrategist => {
            execution::execution_strategist(run, integration.as_ref(), upstream)
        }
    }
}

/// The horizon in months (21 business days each) for figure horizons.
pub fn horizon_months(run: &HedgingRun) -> u32 {
    (run.params.horizon_days as f64 / 21.0).round().max(1.0) as u32
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// One unhedged statistic in every scenario, sorted (kept per scenario: exact).
fn unhedged_across(agg: &HedgingAggregate, f: impl Fn(&ComboStats) -> f64) -> Vec<f64> {
    sorted(agg.scenarios.iter().map(|s| f(&s.unhedged)).collect())
}

/// Value of the book (assets − liabilities) and of the market state, on one path at the
/// snapshot with factors `set`: what a deterministic move does in full revaluation.
fn surplus_under(
    model: &EvalModel,
    book: &PensionBook,
    set: &[(RiskFactor, f64)],
    implied: &ImpliedVols,
) -> f64 {
    let r = Revaluer {
        book,
        loadings: &model.loadings,
        config: &model.config,
    };
    let mut cols = [[0.0f64; 1]; N_FACTORS];
    for (f, x) in set {
        cols[f.index()][0] = *x;
    }
    let zeros = [0.0];
    let factors: [&[f64]; N_FACTORS] = std::array::from_fn(|i| &cols[i][..]);
    let m = PathMarket {
        s: 0.0,
        factors,
        zeros: &zeros,
        implied,
        grids: [None; 7],
    };
    let mut v = crate::valuation::BookValues::default();
    r.book_values(&m, 1, &mut v, &mut Vec::new(), false);
    v.assets[0] - v.liabilities[0]
}

fn risk_manager(run: &HedgingRun, agg: &HedgingAggregate, integ: Option<&Integration>) -> Findings {
    let m = &run.eval;
    let b = &m.book;
    let cur = "USD";
    let months = horizon_months(run);
    let mut f = Findings::new(HedgingPersona::PortfolioRiskManager.name());
    let assets = f.figure(
        "assets",
        "Assets at the snapshot",
        b.assets_usd,
        Unit::Money,
        Horizon::Point,
    );
    f.figure(
        "liabilities",
        "Liabilities (present value of benefits)",
        b.liabilities_usd,
        Unit::Money,
        Horizon::Point,
    );
    let fr0 = f.figure(
        "funded_ratio",
        "Funded ratio at the snapshot",
        b.funded_ratio(),
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "objective_funded_ratio_floor",
        "Objective: funded ratio at or above",
        run.params.funded_ratio_floor,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "objective_max_fr_vol",
        "Objective: funding-ratio volatility below (annualised)",
        run.params.max_funding_ratio_vol,
        Unit::Ratio,
        Horizon::Annualised,
    );
    f.figure(
        "objective_max_cost_bp",
        "Objective: hedging cost at most (bp of assets a year)",
        run.params.max_cost_bp,
        Unit::Ratio,
        Horizon::Annualised,
    );

    // Exposures by currency: net local value (FX), PV01 (rates).
    let net = net_local_exposure(b);
    let mut t = Table::new(
        "Exposures by currency (net = assets − liabilities; PV01 = surplus lost per 1 bp fall of the curve, USD)",
        vec![
            Column::text("Currency"),
            Column::money("Net exposure", cur),
            Column::percent("Share of assets"),
            Column::money("Net PV01 (short)", cur),
        ],
    );
    for c in Currency::ALL {
        let fx = b.market.fx_spot[c.index()];
        let pv01 = if b.liabilities[c.index()].times.is_empty() {
            0.0
        } else {
            net_key_rate_exposure(b, c).iter().sum::<f64>() * fx
        };
        let e = net[c.index()] * fx;
        if e == 0.0 && pv01 == 0.0 {
            continue;
        }
        if c != Currency::USD {
            f.figure(
                &format!("net_fx_exposure_{}", c.code().to_lowercase()),
                &format!("Net {} exposure (USD)", c.code()),
                e,
                Unit::Money,
                Horizon::Point,
            );
        }
        if pv01 != 0.0 {
            f.figure(
                &format!("net_pv01_{}", c.code().to_lowercase()),
                &format!("Net {} PV01 short (USD per bp)", c.code()),
                pv01,
                Unit::Money,
                Horizon::Point,
            );
        }
        t.row(vec![
            Cell::Text(c.code().into()),
            Cell::Number(e),
            Cell::Number(e / assets),
            Cell::Number(pv01),
        ]);
    }
    f.tables.push(t);

    // Maturity buckets (key-rate PV01, USD).
    let mut t = Table::new(
        "Net key-rate PV01 by maturity bucket (liabilities − bonds, USD per bp)",
        std::iter::once(Column::text("Currency"))
            .chain(
                KEY_TENORS
                    .iter()
                    .map(|k| Column::money(&format!("{k}y"), cur)),
            )
            .collect(),
    );
    for c in b.liability_currencies() {
        let fx = b.market.fx_spot[c.index()];
        let k = net_key_rate_exposure(b, c);
        t.row(
            std::iter::once(Cell::Text(c.code().into()))
                .chain(k.iter().map(|v| Cell::Number(v * fx)))
                .collect(),
        );
    }
    f.tables.push(t);

    // Ratings: CS01.
    let mut t = Table::new(
        "Credit exposure by rating (market value and CS01: value lost per 1 bp of spread, USD)",
        vec![
            Column::text("Rating"),
            Column::money("Market value", cur),
            Column::money("CS01", cur),
        ],
    );
    for r in crate::book::Rating::ALL {
        let (mut mv, mut cs) = (0.0, 0.0);
        for bd in b
            .bonds
            .iter()
            .filter(|x| x.credit.as_ref().is_some_and(|c| c.rating == r))
        {
            mv += bd.face
                * bd.flows_per_face
                    .present_value(b.market.curve(bd.currency), bd.spread)
                * b.market.fx_spot[bd.currency.index()];
            cs += bond_cs01(b, bd);
        }
        if mv > 0.0 {
            t.row(vec![
                Cell::Text(r.code().into()),
                Cell::Number(mv),
                Cell::Number(cs),
            ]);
        }
    }
    f.tables.push(t);

    // Critical exposures: one-sd loss, linear vs full revaluation at two sd.
    let implied = snapshot_implied(b);
    let base = surplus_under(m, b, &[], &implied);
    let mut crit = Table::new(
        &format!(
            "Critical exposures: stand-alone loss for a one-standard-deviation move over a year at the snapshot's volatilities; critical at {} of assets, nonlinear when full revaluation differs from the linear estimate by more than {} at two standard deviations",
            pct(MATERIALITY),
            pct(NONLINEARITY)
        ),
        vec![
            Column::text("Exposure"),
            Column::text("Move (1 sd)"),
            Column::money("Loss", cur),
            Column::percent("Share of assets"),
            Column::percent("Nonlinearity"),
            Column::text("Flag"),
        ],
    );
    let eq_vol = b.market.equity_vol.unwrap_or(0.16);
    let rate_vol = b.market.swaption_normal_vols[Currency::USD.index()].unwrap_or(0.01);
    let mut probes: Vec<(String, RiskFactor, f64, String)> = Vec::new();
    for c in [
        Currency::EUR,
        Currency::GBP,
        Currency::JPY,
        Currency::CHF,
        Currency::AUD,
        Currency::CAD,
    ] {
        if let (Some(fct), Some(v)) = (RiskFactor::fx(c), b.market.fx_vols[c.index()]) {
            if net[c.index()] != 0.0 {
                let sign = if net[c.index()] > 0.0 { -1.0 } else { 1.0 };
                probes.push((
                    format!("{} currency", c.code()),
                    fct,
                    sign * v,
                    format!("{} {:+.1}%", c.code(), sign * v * 100.0),
                ));
            }
        }
    }
    // A level score moves each tenor by its loading: size the probe so the 10-year
    // yield moves by one normal vol (the other tenors by their loadings).
    let level_10y = m.loadings.at(10.0)[0];
    for c in b.liability_currencies() {
        let v = b.market.swaption_normal_vols[c.index()].unwrap_or(rate_vol);
        let fct = RiskFactor::rates(c, crate::factors::CurveComponent::Level)
            .expect("liability curves have factors");
        probes.push((
            format!("{} rates level", c.code()),
            fct,
            -v / level_10y,
            format!("{:+.0} bp at 10y (level component)", -v * 1e4),
        ));
    }
    probes.push((
        "IG credit spreads".into(),
        RiskFactor::CreditIg,
        m.calibration.credit.log_spread_vol,
        format!("spreads ×{:.2}", m.calibration.credit.log_spread_vol.exp()),
    ));
    probes.push((
        "HY credit spreads".into(),
        RiskFactor::CreditHy,
        m.calibration.credit.log_spread_vol,
        format!("spreads ×{:.2}", m.calibration.credit.log_spread_vol.exp()),
    ));
    for fct in [
        RiskFactor::EquityUs,
        RiskFactor::EquityEurope,
        RiskFactor::EquityUk,
    ] {
        probes.push((
            fct.name().into(),
            fct,
            -eq_vol,
            format!("{:+.0}% log return", -eq_vol * 100.0),
        ));
    }
    let mut critical = Vec::new();
    for (name, fct, x, desc) in probes {
        let one = base - surplus_under(m, b, &[(fct, x)], &implied);
        let two = base - surplus_under(m, b, &[(fct, 2.0 * x)], &implied);
        let eps = surplus_under(m, b, &[(fct, x * 1e-4)], &implied);
        let linear_two = (base - eps) * 2.0e4;
        let nonlin = if two.abs() > 0.0 {
            ((two - linear_two) / two).abs()
        } else {
            0.0
        };
        let share = one / assets;
        let is_critical = share >= MATERIALITY;
        let flag = match (is_critical, nonlin > NONLINEARITY) {
            (true, true) => "critical, nonlinear",
            (true, false) => "critical",
            (false, true) => "nonlinear",
            (false, false) => "",
        };
        if is_critical {
            critical.push((name.clone(), share));
        }
        crit.row(vec![
            Cell::Text(name),
            Cell::Text(desc),
            Cell::Number(one),
            Cell::Number(share),
            Cell::Number(nonlin),
            Cell::Text(flag.into()),
        ]);
    }
    f.tables.push(crit);
    f.figure(
        "critical_exposures",
        "Critical exposures (one-sd annual loss ≥ materiality)",
        critical.len() as f64,
        Unit::Count,
        Horizon::Point,
    );

    market_models(run, &mut f);

    // Unhedged distribution across scenarios.
    let Some(integ) = integ else {
        f.headline = "No scenario completed: no distribution to report".into();
        return f;
    };
    let u = integ.unhedged;
    let q = |v: &[f64], p: f64| quantile(v, p);
    let var95 = unhedged_across(agg, |c| f64::from(c.surplus_var95));
    let var99 = unhedged_across(agg, |c| f64::from(c.surplus_var99));
    let cvar95 = unhedged_across(agg, |c| f64::from(c.surplus_cvar95));
    let cvar99 = unhedged_across(agg, |c| f64::from(c.surplus_cvar99));
    let vol = unhedged_across(agg, |c| f64::from(c.fr_vol));
    let below = unhedged_across(agg, |c| f64::from(c.p_below_floor));
    let h = Horizon::Months(months);
    f.figure(
        "unhedged_surplus_var95_median",
        "Unhedged surplus VaR 95%, median scenario",
        q(&var95, 0.5),
        Unit::Money,
        h,
    );
    f.figure(
        "unhedged_surplus_var99_median",
        "Unhedged surplus VaR 99%, median scenario",
        q(&var99, 0.5),
        Unit::Money,
        h,
    );
    f.figure(
        "unhedged_surplus_cvar95_median",
        "Unhedged surplus CVaR 95%, median scenario",
        q(&cvar95, 0.5),
        Unit::Money,
        h,
    );
    let cv99w = f.figure(
        "unhedged_surplus_cvar99_worst",
        "Unhedged surplus CVaR 99%, worst scenario",
        q(&cvar99, 1.0),
        Unit::Money,
        h,
    );
    let vol_med = f.figure(
        "unhedged_fr_vol_median",
        "Unhedged funding-ratio volatility, median scenario",
        q(&vol, 0.5),
        Unit::Ratio,
        Horizon::Annualised,
    );
    f.figure(
        "unhedged_fr_vol_worst",
        "Unhedged funding-ratio volatility, worst scenario",
        q(&vol, 1.0),
        Unit::Ratio,
        Horizon::Annualised,
    );
    let pb = f.figure(
        "unhedged_p_below_floor_median",
        "Unhedged probability of ending below the funded-ratio floor, median scenario",
        q(&below, 0.5),
        Unit::Fraction,
        h,
    );
    let meet = f.figure(
        "unhedged_share_meeting_vol_target",
        "Scenarios where the unhedged funding-ratio volatility meets the target",
        integ.combos[u].share_meeting_vol_target,
        Unit::Fraction,
        Horizon::Point,
    );
    let mut dd = Table::new(
        "Unhedged funding-ratio drawdown (mean over paths of the largest fall from the running peak, FR points), across scenarios",
        vec![Column::text("By day"), Column::number("Median scenario", 3), Column::number("95th pct scenario", 3), Column::number("Worst scenario", 3)],
    );
    for (i, d) in crate::evaluate::DRAWDOWN_DAYS.iter().enumerate() {
        let v = unhedged_across(agg, |c| f64::from(c.drawdown[i]));
        f.figure(
            &format!("unhedged_drawdown_{d}d_median"),
            &format!("Unhedged mean drawdown by day {d}, median scenario (FR points)"),
            q(&v, 0.5),
            Unit::Ratio,
            Horizon::Point,
        );
        dd.row(vec![
            Cell::Text(d.to_string()),
            Cell::Number(q(&v, 0.5)),
            Cell::Number(q(&v, 0.95)),
            Cell::Number(q(&v, 1.0)),
        ]);
    }
    f.tables.push(dd);
    f.headline = format!(
        "Funded at {:.1}%, the pension's unhedged funding-ratio volatility is {:.1} points a year in the median scenario (objective below {:.1}); it meets that objective in {} of the scenarios, and ends below the {:.0}% floor with probability {} in the median scenario ({}-month horizon). Worst-scenario surplus CVaR 99%: {}. Critical exposures: {}.",
        fr0 * 100.0,
        vol_med * 100.0,
        run.params.max_funding_ratio_vol * 100.0,
        pct(meet),
        run.params.funded_ratio_floor * 100.0,
        pct(pb),
        months,
        money(cv99w, cur),
        if critical.is_empty() { "none".to_string() } else { critical.iter().map(|(n, s)| format!("{n} ({})", pct(*s))).collect::<Vec<_>>().join(", ") }
    );
    f.recommendations.push(Recommendation {
        text: format!(
            "Hedge: unhedged, the funding ratio's volatility ({:.1} points a year in the median scenario) is above the {:.1}-point objective in {} of the scenarios.",
            vol_med * 100.0,
            run.params.max_funding_ratio_vol * 100.0,
            pct(1.0 - meet)
        ),
        cites: vec!["unhedged_fr_vol_median".into(), "objective_max_fr_vol".into(), "unhedged_share_meeting_vol_target".into()],
    });
    f
}

/// What history says, beside what the scenario design assumes: the calibration of
/// every market model from the bundled series.
fn market_models(run: &HedgingRun, f: &mut Findings) {
    let cal = &run.eval.calibration;
    let cfg = &run.params.scenario_ranges;
    let mut t = Table::new(
        &format!(
            "Market models calibrated from history (FX {} to {}, daily; US zero yields {} to {}, monthly; Moody's Baa − Aaa {}-{:02} to {}-{:02}, monthly; S&P 500 {} to {}, daily) beside the scenario design",
            cal.fx.first_date, cal.fx.last_date, cal.rates.first_month, cal.rates.last_month,
            cal.credit.first_month.0, cal.credit.first_month.1, cal.credit.last_month.0, cal.credit.last_month.1,
            cal.equity.first_date, cal.equity.last_date
        ),
        vec![
            Column::text("Series"),
            Column::percent("Annual vol (history)"),
            Column::number("GARCH α", 3),
            Column::number("γ (leverage)", 3),
            Column::number("β", 3),
            Column::number("Vol ceiling (× history)", 2),
            Column::text("Scenario design"),
        ],
    );
    for s in &cal.fx.series {
        let g = &s.garch;
        t.row(vec![
            Cell::Text(format!("{} ({})", s.currency.code(), s.column)),
            Cell::Number(s.annual_vol),
            Cell::Number(g.alpha),
            Cell::Number(g.gamma),
            Cell::Number(g.beta),
            Cell::Number(g.peak_vol_multiple),
            Cell::Text(format!(
                "FX vol sampled {}–{}",
                pct(cfg.fx_vol.eur.min),
                pct(cfg.fx_vol.eur.max)
            )),
        ]);
        f.figure(
            &format!("history_fx_vol_{}", s.currency.code().to_lowercase()),
            &format!("{} annual vol in the history", s.currency.code()),
            s.annual_vol,
            Unit::Fraction,
            Horizon::Annualised,
        );
    }
    let e = &cal.equity;
    t.row(vec![
        Cell::Text("S&P 500".into()),
        Cell::Number(e.annual_vol),
        Cell::Number(e.garch.alpha),
        Cell::Number(e.garch.gamma),
        Cell::Number(e.garch.beta),
        Cell::Number(e.garch.peak_vol_multiple),
        Cell::Text(format!(
            "equity vol sampled {}–{}",
            pct(cfg.equity_vol.min),
            pct(cfg.equity_vol.max)
        )),
    ]);
    let c = &cal.credit;
    t.row(vec![
        Cell::Text("Baa − Aaa log spread".into()),
        Cell::Number(c.log_spread_vol),
        Cell::Missing,
        Cell::Missing,
        Cell::Missing,
        Cell::Number(c.peak_vol_multiple),
        Cell::Text(format!(
            "spread vol sampled {}–{} (2008–09 in the data: {}; 2008 peak {:.1}× its 2007 mean)",
            pct(cfg.credit_spread_vol.min),
            pct(cfg.credit_spread_vol.max),
            pct(c.log_spread_vol_2008_09),
            c.peak_over_pre_crisis
        )),
    ]);
    let r = &cal.rates;
    for (k, name) in ["level", "slope", "curvature"].iter().enumerate() {
        t.row(vec![
            Cell::Text(format!("US curve {name} (PCA score)")),
            Cell::Number(r.score_annual_vol[k]),
            Cell::Missing,
            Cell::Missing,
            Cell::Missing,
            Cell::Number(r.peak_vol_multiple),
            Cell::Text(format!(
                "{} of yield-change variance in the data; the design weights it {} of a {}–{} bp rate vol",
                pct(r.variance_shares[k]),
                pct(cfg.rate_component_weights.as_array()[k]),
                cfg.rate_vol_bp.usd.min,
                cfg.rate_vol_bp.usd.max
            )),
        ]);
        f.figure(
            &format!("history_curve_share_{name}"),
            &format!("Share of US yield-change variance in the {name} component (history)"),
            r.variance_shares[k],
            Unit::Fraction,
            Horizon::Point,
        );
    }
    f.figure(
        "history_credit_spread_vol",
        "Baa − Aaa log-spread vol (history, annualised)",
        c.log_spread_vol,
        Unit::Fraction,
        Horizon::Annualised,
    );
    f.figure(
        "history_equity_vol",
        "S&P 500 vol (history, annualised)",
        e.annual_vol,
        Unit::Fraction,
        Horizon::Annualised,
    );
    f.figure(
        "history_stress_regime_days",
        "Mean length of a stressed volatility spell (S&P 500, two-state model), business days",
        e.regime.stress_duration_days,
        Unit::Count,
        Horizon::Point,
    );
    f.tables.push(t);
}

/// Desk index → persona-facing names.
fn desk_name(d: usize) -> &'static str {
    ["currency", "rates", "credit"][d]
}

fn desk(
    run: &HedgingRun,
    agg: &HedgingAggregate,
    integ: Option<&Integration>,
    d: usize,
    p: HedgingPersona,
) -> Findings {
    let m = &run.eval;
    let mut f = Findings::new(p.name());
    let Some(integ) = integ else {
        f.headline = "No scenario completed".into();
        return f;
    };
    let prefix = desk_name(d);
    let alone = |j: usize| {
        let mut parts = [0, 0, 0];
        parts[d] = j;
        m.combo(parts[0], parts[1], parts[2])
    };
    let mut t = Table::new(
        &format!(
            "{} programs across {} scenarios (effectiveness over each scenario's paths: offset = −slope of the program's P&L on the hedged exposure's, 1 = full; dollar offset = −ΔH/ΔI path by path; tail reduction: fall of surplus CVaR 95% against no hedge, median scenario)",
            stresslab_core::report::persona::capitalise(prefix),
            agg.scenarios.len()
        ),
        vec![
            Column::text("Program"),
            Column::number("Cost (bp/yr)", 1),
            Column::number("of which premium", 1),
            Column::number("carry", 1),
            Column::number("bid-ask", 1),
            Column::number("Offset (median)", 2),
            Column::number("R² (median)", 2),
            Column::percent("Scenarios with offset 0.8–1.25"),
            Column::number("Dollar offset, median path (median)", 2),
            Column::percent("Paths with dollar offset 0.8–1.25 (median)"),
            Column::percent("Tail reduction (median)"),
            Column::number("Worst-case tail FR", 3),
        ],
    );
    let mut by_bucket = Table::new(
        &format!(
            "{} programs: median R² by tercile of the scenarios' own {} volatility",
            stresslab_core::report::persona::capitalise(prefix),
            prefix
        ),
        vec![
            Column::text("Program"),
            Column::number("Low vol", 2),
            Column::number("Mid vol", 2),
            Column::number("High vol", 2),
        ],
    );
    let mut chart_x = Vec::new();
    let mut chart_y = Vec::new();
    let mut labels = Vec::new();
    for (j, prog) in m.desks[d].iter().enumerate() {
        let k = alone(j);
        let pr = &prog.program;
        let e = &agg.programs[d][j];
        let r2 = e.r2();
        let in_band = e.offset_in_band as f64 / agg.scenarios.len() as f64;
        let worst = integ.combos[k].worst_fr_cvar95;
        let key = format!("{prefix}_{j}");
        f.figure(
            &format!("{key}_cost_bp"),
            &format!("{}: cost, bp of assets a year", pr.label),
            pr.cost_bp(),
            Unit::Ratio,
            Horizon::Annualised,
        );
        if j > 0 {
            f.figure(
                &format!("{key}_offset_median"),
                &format!("{}: hedge offset, median scenario", pr.label),
                e.offset.median(),
                Unit::Ratio,
                Horizon::Point,
            );
            f.figure(
                &format!("{key}_r2_median"),
                &format!("{}: R², median scenario", pr.label),
                r2.median(),
                Unit::Ratio,
                Horizon::Point,
            );
            f.figure(
                &format!("{key}_tail_reduction_median"),
                &format!(
                    "{}: reduction of surplus CVaR 95%, median scenario",
                    pr.label
                ),
                e.tail_reduction.median(),
                Unit::Fraction,
                Horizon::Months(horizon_months(run)),
            );
            let mut cells = vec![Cell::Text(pr.label.clone())];
            for v in &e.r2_by_vol_tercile {
                cells.push(if v.is_empty() {
                    Cell::Missing
                } else {
                    Cell::Number(v.median())
                });
            }
            by_bucket.row(cells);
        }
        f.figure(
            &format!("{key}_worst_tail_fr"),
            &format!(
                "{}: worst-scenario mean of the worst 5% funding ratios (this desk alone)",
                pr.label
            ),
            worst,
            Unit::Ratio,
            Horizon::Months(horizon_months(run)),
        );
        let na = |x: f64| {
            if j == 0 {
                Cell::Missing
            } else {
                Cell::Number(x)
            }
        };
        t.row(vec![
            Cell::Text(pr.label.clone()),
            Cell::Number(pr.cost_bp()),
            Cell::Number(pr.premium_bp),
            Cell::Number(pr.carry_bp),
            Cell::Number(pr.bid_ask_bp),
            na(e.offset.median()),
            na(r2.median()),
            na(in_band),
            na(e.dollar_offset.median()),
            na(e.dollar_offset_in_band.median()),
            na(e.tail_reduction.median()),
            Cell::Number(worst),
        ]);
        chart_x.push(pr.cost_bp());
        // No hedge reduces nothing (its distribution is empty: index 0 is not folded).
        chart_y.push(if j == 0 {
            0.0
        } else {
            e.tail_reduction.median()
        });
        labels.push(pr.label.clone());
    }
    f.tables.push(t);
    f.charts.push(Chart {
        key: format!("{prefix}_r2_by_vol"),
        title: format!(
            "{} programs: median R² of the hedge by tercile of the scenarios' {} volatility",
            stresslab_core::report::persona::capitalise(prefix),
            prefix
        ),
        kind: ChartKind::Timeline,
        labels: vec!["low vol".into(), "mid vol".into(), "high vol".into()],
        x: Vec::new(),
        x_label: "Volatility tercile".into(),
        x_unit: Unit::Count,
        y_label: "R²".into(),
        y_unit: Unit::Ratio,
        series: (1..m.desks[d].len())
            .map(|j| ChartSeries {
                name: m.desks[d][j].program.label.clone(),
                values: agg.programs[d][j]
                    .r2_by_vol_tercile
                    .iter()
                    .map(|v| v.median())
                    .collect(),
            })
            .collect(),
    });
    f.tables.push(by_bucket);
    f.charts.push(Chart {
        key: format!("{prefix}_cost_vs_tail_reduction"),
        title: format!(
            "{} programs: cost against tail-loss reduction (median scenario)",
            stresslab_core::report::persona::capitalise(prefix)
        ),
        kind: ChartKind::Scatter,
        labels,
        x: chart_x,
        x_label: "Cost, bp of assets a year".into(),
        x_unit: Unit::Ratio,
        y_label: "Reduction of surplus CVaR 95%".into(),
        y_unit: Unit::Fraction,
        series: vec![ChartSeries {
            name: "Programs".into(),
            values: chart_y,
        }],
    });
    let chosen = m.combo_parts(integ.robust)[d];
    let pr = &m.desks[d][chosen].program;
    let key = format!("{prefix}_{chosen}");
    let cheapest = m.desks[d]
        .iter()
        .skip(1)
        .map(|p| p.program.cost_bp())
        .fold(f64::INFINITY, f64::min);
    let cap = run.params.max_cost_bp;
    f.headline = if chosen == 0 && cheapest > cap {
        format!(
            "Every {prefix} candidate costs more than the {cap:.0} bp cap (the cheapest {cheapest:.1} bp a year), so the robust program holds none; the table shows what each would buy"
        )
    } else if chosen == 0 {
        format!("In the robust program the {prefix} desk adds no hedge: with the other desks' choices, none of its affordable candidates raises the worst-case tail funding ratio")
    } else {
        format!(
            "Recommended {prefix} program: {} — {:.1} bp a year; offset {:.2} and R² {:.2} in the median scenario",
            pr.label,
            pr.cost_bp(),
            f.get(&format!("{key}_offset_median")).unwrap_or(f64::NAN),
            f.get(&format!("{key}_r2_median")).unwrap_or(f64::NAN)
        )
    };
    let mut cites = vec![format!("{key}_cost_bp"), format!("{key}_worst_tail_fr")];
    if chosen > 0 {
        cites.push(format!("{key}_offset_median"));
        cites.push(format!("{key}_tail_reduction_median"));
    }
    f.recommendations.push(Recommendation {
        text: format!(
            "{}: {} ({:.1} bp a year) — the {prefix} component of the combination with the best worst-case tail funding ratio within the {:.0} bp cost cap.",
            stresslab_core::report::persona::capitalise(prefix),
            pr.label,
            pr.cost_bp(),
            run.params.max_cost_bp
        ),
        cites,
    });
    if d == 1 {
        let mut drift = Table::new(
            "Swap strips matched on key-rate PV01 at 100%: duration drift of each currency's hedge (issue limit 0.25 years)",
            vec![Column::text("Currency"), Column::money("Net PV01 hedged", "USD"), Column::number("Drift (years)", 3)],
        );
        for c in m.book.liability_currencies() {
            let o = swap_overlay(&m.book, c, 1.0);
            let fx = m.book.market.fx_spot[c.index()];
            f.figure(
                &format!("swap_drift_years_{}", c.code().to_lowercase()),
                &format!("{} swap strip duration drift (years)", c.code()),
                o.drift_years,
                Unit::Ratio,
                Horizon::Point,
            );
            drift.row(vec![
                Cell::Text(c.code().into()),
                Cell::Number(o.hedged_pv01 * fx),
                Cell::Number(o.drift_years),
            ]);
        }
        f.tables.push(drift);
    }
    f
}

/// A deterministic curve shock: zero-rate change (decimal) at time t, per currency.
struct CurveShock {
    name: &'static str,
    shift: fn(f64) -> f64,
    vol_multiple: f64,
}

const SHOCKS: [CurveShock; 7] = [
    CurveShock {
        name: "Parallel +200 bp",
        shift: |_| 0.02,
        vol_multiple: 1.0,
    },
    CurveShock {
        name: "Parallel −200 bp",
        shift: |_| -0.02,
        vol_multiple: 1.0,
    },
    // Steepener: −50 bp at the short end rising linearly to +100 bp at 30y.
    CurveShock {
        name: "Steepener (−50 bp short, +100 bp 30y)",
        shift: |t| -0.005 + 0.015 * (t.min(30.0) / 30.0),
        vol_multiple: 1.0,
    },
    CurveShock {
        name: "Flattener (+50 bp short, −100 bp 30y)",
        shift: |t| 0.005 - 0.015 * (t.min(30.0) / 30.0),
        vol_multiple: 1.0,
    },
    // Butterfly: wings +50 bp, belly (10y) −50 bp.
    CurveShock {
        name: "Butterfly (wings +50 bp, 10y −50 bp)",
        shift: |t| 0.005 - 0.01 * (1.0 - ((t - 10.0) / 10.0).abs()).max(0.0),
        vol_multiple: 1.0,
    },
    CurveShock {
        name: "Volatility doubling",
        shift: |_| 0.0,
        vol_multiple: 2.0,
    },
    // Aggressive tightening: +300 bp at the short end fading to +100 bp at 30y.
    CurveShock {
        name: "Aggressive tightening (+300 bp short, +100 bp 30y)",
        shift: |t| 0.03 - 0.02 * (t.min(30.0) / 30.0),
        vol_multiple: 1.0,
    },
];

/// The rates strategist's deterministic shocks at the snapshot: every liability
/// currency's curve moved by the shock, book and each rates program revalued in full
/// (strikes and fixed rates as struck today).
fn curve_shocks(run: &HedgingRun, f: &mut Findings) {
    let m = &run.eval;
    let mut t = Table::new(
        "Deterministic curve shocks at the snapshot (all liability curves; full revaluation): change in surplus, USD, unhedged and with each rates program",
        std::iter::once(Column::text("Shock"))
            .chain(std::iter::once(Column::money("Book", "USD")))
            .chain(m.desks[1].iter().skip(1).map(|p| Column::money(&format!("+ {}", p.program.label), "USD")))
            .collect(),
    );
    let implied0 = snapshot_implied(&m.book);
    let value = |book: &PensionBook, implied: &ImpliedVols| -> (f64, Vec<f64>) {
        let s = surplus_under(m, book, &[], implied);
        let r = Revaluer {
            book,
            loadings: &m.loadings,
            config: &m.config,
        };
        let zeros = [0.0];
        let m0 = PathMarket {
            s: 0.0,
            factors: [&zeros[..]; N_FACTORS],
            zeros: &zeros,
            implied,
            grids: [None; 7],
        };
        let progs = m.desks[1]
            .iter()
            .map(|p| {
                p.legs
                    .iter()
                    .map(|&(i, n)| {
                        let mut v = [0.0];
                        r.instrument_values(&m.instruments[i], &m0, 1, &mut v);
                        n * v[0]
                    })
                    .sum()
            })
            .collect();
        (s, progs)
    };
    let (s0, p0) = value(&m.book, &implied0);
    for (si, shock) in SHOCKS.iter().enumerate() {
        let mut book = m.book.clone();
        for c in m.book.liability_currencies() {
            if let Some(curve) = book.market.curves[c.index()].as_mut() {
                let tenors = curve.tenors.clone();
                for (z, t) in curve.zero_rates.iter_mut().zip(tenors) {
                    *z += (shock.shift)(t);
                }
            }
        }
        let mut implied = implied0;
        implied.fx.iter_mut().for_each(|v| *v *= shock.vol_multiple);
        implied
            .rates_normal
            .iter_mut()
            .for_each(|v| *v *= shock.vol_multiple);
        let (s1, p1) = value(&book, &implied);
        let ds = s1 - s0;
        f.figure(
            &format!("shock_{si}_book"),
            &format!("{}: change in unhedged surplus", shock.name),
            ds,
            Unit::Money,
            Horizon::Point,
        );
        let mut cells = vec![Cell::Text(shock.name.into()), Cell::Number(ds)];
        for j in 1..m.desks[1].len() {
            let dv = ds + (p1[j] - p0[j]);
            f.figure(
                &format!("shock_{si}_rates_{j}"),
                &format!(
                    "{}: change in surplus with {}",
                    shock.name, m.desks[1][j].program.label
                ),
                dv,
                Unit::Money,
                Horizon::Point,
            );
            cells.push(Cell::Number(dv));
        }
        t.row(cells);
    }
    f.tables.push(t);
}
