//! Portfolio Optimization Strategist: hedges and re-optimised books, judged out of sample.

use crate::aggregate::FactorAggregate;
use crate::model::{
    from_rows, most_stressed_window, FactorModel, OptimisationLimits, ESTIMATION_MONTHS,
    STRESS_WINDOW_MONTHS,
};
use nalgebra::{DMatrix, DVector};
use std::ops::Range;
use stresslab_analytics::optimize::{self, Constraints, FactorBounds, Turnover};
use stresslab_analytics::{covariance, risk, stats, AnalyticsError};
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{money, pct, Cell, Column, Table};

/// Scenario-set ES 99% of the book with `hedge` (base currency) of market exposure sold,
/// over the one-month scenarios only (one horizon).
fn hedged_es(agg: &FactorAggregate, market_exposure: f64, hedge: f64, confidence: f64) -> f64 {
    let pnl: Vec<f64> = agg
        .outcomes
        .iter()
        .filter(|o| o.horizon_months == 1)
        .map(|o| {
            let market_return = if market_exposure != 0.0 {
                o.factor_pnl[0] / market_exposure
            } else {
                0.0
            };
            o.pnl - hedge * market_return
        })
        .collect();
    risk::historical_var_es(&pnl, confidence).es
}

/// The minimum-variance market hedge (Ederington 1979, "The hedging performance of the
/// new futures markets", Journal of Finance 34(1)): the amount `h` of market-factor
/// exposure to sell that minimises Var(bᵀf − h·f_mkt) under the factor covariance Σ,
/// `h* = (Σ b)_mkt / Σ_mkt,mkt`. Capped to [0, b_mkt] (for a long book): the strategist
/// never proposes turning the book net short.
pub fn min_variance_hedge(book: &[f64], cov: &DMatrix<f64>) -> (f64, f64) {
    let b = DVector::from_column_slice(book);
    let unconstrained = (cov * &b)[0] / cov[(0, 0)];
    let cap = book[0];
    let capped = if cap >= 0.0 {
        unconstrained.clamp(0.0, cap)
    } else {
        unconstrained.clamp(cap, 0.0)
    };
    (unconstrained, capped)
}

/// Out-of-sample record of the market-factor hedge ([`walk_forward`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MarketWalkForward {
    /// History month of each out-of-sample observation.
    pub months: Vec<usize>,
    /// Monthly P&L of today's holdings (factor and residual moves), unhedged.
    pub unhedged: Vec<f64>,
    /// The same less the hedge sized before the month.
    pub hedged: Vec<f64>,
    /// Hedge ratio each month (notional over the trailing market exposure).
    pub ratios: Vec<f64>,
}

/// Walk-forward test of a hedge rule on history, with no look-ahead in the exposures
/// or the hedge: for every month `t` after the first `window`, the book's exposures are
/// re-estimated on the `window` months before it only — OLS of the book's own monthly
/// P&L, `Σᵢ Aᵢ(βᵢ·f + εᵢ) = b·f + ε`, on those months' factor returns
/// ([`crate::instruments::trailing_book_exposure`]) — and the hedge is sized on them
/// (sample covariance of the same months, minimum-variance rule, capped) and applied
/// to month `t`. `residual` is each month's non-factor P&L of today's holdings.
/// Today's holdings are replayed (the book is not re-traded), so only the holdings,
/// not their betas, come from the end of the history.
pub fn walk_forward(
    book: &[f64],
    history: &[Vec<f64>],
    residual: &[f64],
    window: usize,
) -> MarketWalkForward {
    let k = book.len();
    let pnl = crate::instruments::book_pnl(book, history, residual);
    let mut w = MarketWalkForward::default();
    for t in window..history.len() {
        let rows = t - window..t;
        let x = DMatrix::from_fn(window, k, |i, j| history[rows.start + i][j]);
        let (Some(trailing), Ok(cov)) = (
            crate::instruments::trailing_book_exposure(&pnl, history, rows),
            covariance::sample_covariance(&x),
        ) else {
            continue;
        };
        let (_, h) = min_variance_hedge(&trailing, &cov);
        w.months.push(t);
        w.unhedged.push(pnl[t]);
        w.hedged.push(pnl[t] - h * history[t][0]);
        w.ratios.push(if trailing[0] != 0.0 {
            h / trailing[0]
        } else {
            0.0
        });
    }
    w
}

/// Portfolio-optimization strategist: a market hedge sized on a stated criterion —
/// minimum variance under the stressed covariance, capped at the market exposure — and
/// judged where it was not fitted: walk-forward on the whole history, on every month of
/// history, and in rallies (what it gives up), as well as on the one-month scenario set
/// (one-sided: every synthetic scenario has the market falling, so it flatters any
/// hedge). Its "before" VaR figures are the risk-decomposition engineer's (`risk`), so
/// the two personas never quote different numbers for the same thing.
///
/// Not modelled, and said so: carry, roll and margin costs, and the basis between the
/// market factor (MktRF) and the index future actually traded.
pub fn portfolio_optimization_strategist(
    model: &FactorModel,
    agg: &FactorAggregate,
    risk: Option<&Findings>,
    regimes: Option<&Findings>,
) -> Findings {
    let mut f = Findings::new("portfolio-optimization-strategist");
    let cur = model.base_currency.as_str();
    let b = &model.book_exposure;
    let b_mkt = b[0];
    let stressed = from_rows(&model.covariance_stressed);
    let normal = from_rows(&model.covariance_shrunk);
    let (unconstrained, hedge) = min_variance_hedge(b, &stressed);
    let (unconstrained_normal, hedge_normal) = min_variance_hedge(b, &normal);
    f.figure(
        "hedge_notional",
        "Market (MktRF) exposure to sell: minimum variance under the stressed covariance, capped at the market exposure",
        hedge,
        Unit::Money, Horizon::Point);
    f.figure(
        "hedge_ratio",
        "Hedge ratio (of market exposure), stressed covariance, capped at the exposure",
        hedge / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "hedge_ratio_unconstrained",
        "Minimum-variance hedge ratio under the stressed covariance, before the cap at the exposure",
        unconstrained / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "hedge_ratio_normal",
        "Hedge ratio under the normal covariance, capped at the exposure",
        hedge_normal / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "hedge_ratio_normal_unconstrained",
        "Minimum-variance hedge ratio under the normal covariance, before the cap at the exposure",
        unconstrained_normal / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );

    // Every month of history, today's book revalued in full (factor moves plus each
    // position's replayed residual, which no market hedge removes), three hedges: none,
    // the proposal, full. In sample: today's exposures and hedge, every month.
    let residual_pnl = model.replayed_residual_pnl();
    let month_pnl = crate::instruments::book_pnl(b, &model.history, &residual_pnl);
    let with = |h: f64| -> Vec<f64> {
        month_pnl
            .iter()
            .zip(&model.history)
            .map(|(p, row)| p - h * row[0])
            .collect()
    };
    let es99 = |pnl: &[f64]| risk::historical_var_es(pnl, 0.99).es;
    let first = model.history_dates.first().map_or("", String::as_str);
    let last = model.history_dates.last().map_or("", String::as_str);
    let history_none = f.figure(
        "history_es99_unhedged",
        &format!("ES 99% over every month of history {first} to {last}, today's exposures, unhedged (in sample)"),
        es99(&month_pnl),
        Unit::Money,
        Horizon::Months(1),
    );
    let history_hedged = f.figure(
        "history_es99_hedged",
        &format!("ES 99% over every month of history {first} to {last}, today's exposures, with today's MktRF hedge (in sample)"),
        es99(&with(hedge)),
        Unit::Money,
        Horizon::Months(1),
    );
    let history_full = f.figure(
        "history_es99_full_hedge",
        &format!("ES 99% over every month of history {first} to {last}, today's exposures, MktRF hedge ratio 1.0 (in sample)"),
        es99(&with(b_mkt)),
        Unit::Money,
        Horizon::Months(1),
    );
    // Walk-forward: the book's exposures and the hedge both estimated on the trailing
    // window only, over every month history allows (the longest out-of-sample record).
    let window = crate::model::ESTIMATION_MONTHS;
    let wf = walk_forward(b, &model.history, &residual_pnl, window);
    let wf_from = wf
        .months
        .first()
        .map_or("", |&t| model.history_dates[t].as_str());
    let span = format!(
        "{} months {wf_from} to {last}: every month after the first {window}-month window",
        wf.months.len()
    );
    let oos_months = f.figure(
        "walk_forward_months",
        "Out-of-sample months of the MktRF hedge walk-forward (every month after the first estimation window)",
        wf.months.len() as f64,
        Unit::Count,
        Horizon::Point,
    );
    let oos_es_none = f.figure(
        "walk_forward_es99_unhedged",
        &format!("Walk-forward ES 99%, today's holdings unhedged ({span}; out of sample)"),
        es99(&wf.unhedged),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_es_hedged = f.figure(
        "walk_forward_es99_hedged",
        &format!("Walk-forward ES 99% with the MktRF hedge, book betas and hedge re-estimated each month on the trailing {window} months ({span}; out of sample; MktRF is not traded: the no-basis ideal)"),
        es99(&wf.hedged),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_vol_none = f.figure(
        "walk_forward_volatility_unhedged",
        &format!("Walk-forward monthly volatility, unhedged ({span}; out of sample)"),
        stats::std_dev(&wf.unhedged),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_vol_hedged = f.figure(
        "walk_forward_volatility_hedged",
        &format!("Walk-forward monthly volatility with the MktRF hedge on trailing book betas ({span}; out of sample)"),
        stats::std_dev(&wf.hedged),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_mean_ratio = f.figure(
        "walk_forward_mean_hedge_ratio",
        "Average walk-forward MktRF hedge ratio (of the trailing market exposure; capped at 1)",
        stats::mean(&wf.ratios),
        Unit::Ratio,
        Horizon::Point,
    );
    let oos_capped = f.figure(
        "walk_forward_share_capped",
        "Share of walk-forward months in which the MktRF hedge sat at the cap (ratio 1)",
        wf.ratios.iter().filter(|r| **r >= 1.0 - 1e-9).count() as f64
            / wf.ratios.len().max(1) as f64,
        Unit::Fraction,
        Horizon::Point,
    );
    // Rallies: what the hedge gives up in the best 5% of market months.
    let mut by_market: Vec<f64> = model.history.iter().map(|r| r[0]).collect();
    by_market.sort_by(f64::total_cmp);
    let cut = by_market[((by_market.len() as f64) * 0.95).floor() as usize];
    let rally: Vec<f64> = model
        .history
        .iter()
        .filter(|r| r[0] >= cut)
        .map(|r| hedge * r[0])
        .collect();
    let rally_cost = f.figure(
        "rally_cost",
        "Average P&L the hedge gives up in the best 5% of market months",
        rally.iter().sum::<f64>() / rally.len().max(1) as f64,
        Unit::Money,
        Horizon::Months(1),
    );

    // The scenario set, labelled for what it is.
    let es_before = f.figure(
        "es99_scenarios_before",
        "ES 99% of the one-month scenario set before the hedge (one-sided set)",
        hedged_es(agg, b_mkt, 0.0, 0.99),
        Unit::Money,
        Horizon::Months(1),
    );
    let es_after = f.figure(
        "es99_scenarios_after",
        "ES 99% of the one-month scenario set after the hedge (one-sided set)",
        hedged_es(agg, b_mkt, hedge, 0.99),
        Unit::Money,
        Horizon::Months(1),
    );
    let mut hedged_model = model.clone();
    hedged_model.book_exposure[0] -= hedge;
    // After the hedge: parametric VaR 99% of the hedged book, as the aggregate's
    // normal and stressed views compute it. Before: the risk engineer's figures (the
    // same numbers), or the aggregate's own views when run without it.
    let var99_after = |cov: &[Vec<f64>]| {
        risk::parametric_var(hedged_model.pnl_volatility(&from_rows(cov)), 0.0, 0.99)
    };
    let before = |risk_key: &str, view: &str| {
        risk.and_then(|r| r.get(risk_key))
            .or_else(|| agg.view(view).and_then(|v| v.tail(0.99)).map(|t| t.var))
            .unwrap_or(f64::NAN)
    };
    let vn0 = f.figure(
        "var99_normal_before",
        "VaR 99% normal, before",
        before("var99_normal", "normal_shrunk"),
        Unit::Money,
        Horizon::Months(1),
    );
    let vn1 = f.figure(
        "var99_normal_after",
        "VaR 99% normal, after",
        var99_after(&model.covariance_shrunk),
        Unit::Money,
        Horizon::Months(1),
    );
    let vs0 = f.figure(
        "var99_stressed_before",
        "VaR 99% stressed, before",
        before("var99_stressed", "stressed_period"),
        Unit::Money,
        Horizon::Months(1),
    );
    let vs1 = f.figure(
        "var99_stressed_after",
        "VaR 99% stressed, after",
        var99_after(&model.covariance_stressed),
        Unit::Money,
        Horizon::Months(1),
    );
    f.tables.push(
        Table::new(
            &format!(
                "The market-factor (MktRF) hedge — the no-basis ideal; the traded E-mini follows in the overlay below (monthly P&L of today's holdings, factor and residual moves; history {first} to {last})"
            ),
            vec![
                Column::text("Measure"),
                Column::money("Before", cur),
                Column::money("After", cur),
                Column::percent("Change"),
            ],
        )
        .with_rows(
            [
                (format!("Walk-forward ES 99% (out of sample, {span}; betas and hedge on trailing data)"), oos_es_none, oos_es_hedged),
                (format!("Walk-forward volatility (out of sample, {span})"), oos_vol_none, oos_vol_hedged),
                ("ES 99% over all of history (in sample: today's exposures and hedge)".to_string(), history_none, history_hedged),
                ("VaR 99% (normal covariance)".to_string(), vn0, vn1),
                ("VaR 99% (stressed covariance)".to_string(), vs0, vs1),
                ("ES 99% of the one-sided scenario set".to_string(), es_before, es_after),
            ]
            .into_iter()
            .map(|(name, a, b)| vec![name.into(), a.into(), b.into(), (b / a - 1.0).into()]),
        )
        .one_money_scale(),
    );
    f.recommend(
        format!(
            "The market-factor hedge under the stressed covariance sells {} of MktRF exposure — ratio {:.2}, capped at the exposure (minimum variance {:.2}; under the normal covariance {:.2} capped, minimum variance {:.2}). MktRF cannot be traded, so this is the no-basis ideal: out of sample ({span}; the book's betas and the hedge re-estimated each month on the trailing {window} months; average ratio {oos_mean_ratio:.2}, at the cap in {} of months) ES 99% goes from {} to {} and monthly volatility from {} to {}.",
            money(hedge, cur),
            hedge / b_mkt,
            unconstrained / b_mkt,
            hedge_normal / b_mkt,
            unconstrained_normal / b_mkt,
            pct(oos_capped),
            money(oos_es_none, cur),
            money(oos_es_hedged, cur),
            money(oos_vol_none, cur),
            money(oos_vol_hedged, cur)
        ),
        &[
            "hedge_notional",
            "hedge_ratio",
            "hedge_ratio_unconstrained",
            "hedge_ratio_normal",
            "hedge_ratio_normal_unconstrained",
            "walk_forward_months",
            "walk_forward_mean_hedge_ratio",
            "walk_forward_share_capped",
            "walk_forward_es99_unhedged",
            "walk_forward_es99_hedged",
            "walk_forward_volatility_unhedged",
            "walk_forward_volatility_hedged",
        ],
    );
    f.recommend(
        format!(
            "In sample — today's exposures and today's MktRF hedge applied to every month of history — ES 99% is {} (unhedged {}, a full 1.0 hedge {}); in the best 5% of market months it gives up {} a month on average — the price of the protection.",
            money(history_hedged, cur),
            money(history_none, cur),
            money(history_full, cur),
            money(rally_cost, cur)
        ),
        &["history_es99_hedged", "history_es99_unhedged", "history_es99_full_hedge", "rally_cost"],
    );
    f.recommend(
        format!(
            "The one-sided scenario set (ES 99% {} → {}) flatters any hedge and is shown for completeness only; the traded instruments' basis, carry, roll and margin follow in the overlay below.",
            money(es_before, cur),
            money(es_after, cur)
        ),
        &["es99_scenarios_before", "es99_scenarios_after"],
    );
    // Re-optimisation of the book's weights, judged in and out of sample, with the
    // robust frontier and a phased plan whose first phase is the market hedge above.
    reoptimise(&mut f, model, regimes);
    // The market hedge with the instruments actually traded: basis, cost and margin.
    crate::instruments::hedge_overlay_findings(&mut f, model);

    // The headline leads with the instrument actually traded, judged out of sample,
    // and quotes the MktRF hedge on the same months as the no-basis ideal.
    let future_from = model
        .hedge_instruments
        .estimated
        .iter()
        .find(|i| i.spec().kind == crate::instruments::InstrumentKind::IndexFuture)
        .map(|i| i.start + window);
    let traded = (
        f.get("overlay_future_only_notional"),
        f.get("overlay_future_only_ratio_uncapped"),
        f.get("overlay_oos_months"),
        f.get("overlay_oos_es99_unhedged"),
        f.get("overlay_oos_es99_future"),
        future_from,
    );
    let hedge_line = if let (
        Some(notional),
        Some(uncapped),
        Some(months),
        Some(none),
        Some(hedged),
        Some(from),
    ) = traded
    {
        let same: Vec<f64> = wf
            .months
            .iter()
            .zip(&wf.hedged)
            .filter(|(t, _)| **t >= from)
            .map(|(_, p)| *p)
            .collect();
        let from_date = model.history_dates.get(from).map_or("", String::as_str);
        let ideal = f.figure(
            "walk_forward_es99_hedged_future_months",
            &format!(
                "Walk-forward ES 99% with the MktRF hedge over the E-mini walk-forward's {} months from {from_date} (out of sample; the no-basis ideal on the same months)",
                same.len(),
            ),
            es99(&same),
            Unit::Money,
            Horizon::Months(1),
        );
        format!(
            "Selling {} of E-mini S&P 500 futures ({:.2}× the market exposure, capped so the book is not net short; minimum variance {uncapped:.2}×) took ES 99% from {} to {} out of sample over {months:.0} months from {from_date} (book betas and hedge re-estimated each month on the trailing {window} months); the untradeable MktRF hedge, the no-basis ideal, reaches {} on the same months.",
            money(notional, cur),
            notional / b_mkt,
            money(none, cur),
            money(hedged, cur),
            money(ideal, cur)
        )
    } else {
        format!(
            "No traded index future to judge; the MktRF hedge (the no-basis ideal) sells {} ({:.2} of market exposure, capped; minimum variance {:.2}) and out of sample over {oos_months:.0} months ({span}; betas and hedge on trailing data) moves ES 99% from {} to {}.",
            money(hedge, cur),
            hedge / b_mkt,
            unconstrained / b_mkt,
            money(oos_es_none, cur),
            money(oos_es_hedged, cur)
        )
    };
    f.headline = format!("{hedge_line}{}", f.headline);
    f
}

// =====================================================================================
// Re-optimisation of the book's weights
// =====================================================================================

/// Largest book re-optimised position by position. The optimisers take a dense n × n
/// position covariance (factor form `B Σ Bᵀ + D`): 250,000 numbers at 500 positions,
/// 2.5 billion at 50,000. Above the limit the re-optimisation is skipped and the reason
/// stated, so a large book never pays an O(n²) cost here.
pub const MAX_OPTIMISED_POSITIONS: usize = 500;
/// Walk-forward refit interval: each proposal is re-fitted every 12 months on the
/// trailing window and held in between (monthly refits would cost 12× the solves for
/// estimates that move little from one month to the next).
pub const REFIT_EVERY_MONTHS: usize = 12;
/// Walk-forward span: the most recent 20 years of history are the out-of-sample months.
pub const WALK_FORWARD_SPAN_MONTHS: usize = 240;
/// Confidence of the minimum-CVaR proposal (and of the in-sample CVaR reported).
pub const CVAR_CONFIDENCE: f64 = 0.95;
/// Relative ridge on a position covariance's diagonal (× its mean diagonal): keeps a
/// book with given-exposure positions (no residual variance) positive definite for the
/// worst-case optimiser's Cholesky factors, far below any reported digit.
const RIDGE: f64 = 1e-10;

/// The re-optimised books the strategist proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proposal {
    /// Minimum CVaR 95% over the estimation window's monthly position returns
    /// (Rockafellar & Uryasev 2000).
    MinCvar,
    /// Minimum variance under the normal (Ledoit-Wolf) factor covariance (Markowitz 1952).
    MinVarianceNormal,
    /// Minimum variance under the stressed-window factor covariance.
    MinVarianceStressed,
    /// Equal risk contributions under the normal covariance (Maillard, Roncalli &
    /// Teïletche 2010; constrained: Richard & Roncalli 2019).
    RiskParity,
    /// Maximum diversification ratio under the normal covariance (Choueifaty & Coignard
    /// 2008).
    MaxDiversification,
    /// Minimum of the worst variance over the regime covariances (Goldfarb & Iyengar
    /// 2003): the robust proposal.
    WorstCase,
}

impl Proposal {
    pub const ALL: [Proposal; 6] = [
        Proposal::MinCvar,
        Proposal::MinVarianceNormal,
        Proposal::MinVarianceStressed,
        Proposal::RiskParity,
        Proposal::MaxDiversification,
        Proposal::WorstCase,
    ];

    /// Stable figure-key stem.
    pub fn key(self) -> &'static str {
        match self {
            Proposal::MinCvar => "min_cvar",
            Proposal::MinVarianceNormal => "min_var_normal",
            Proposal::MinVarianceStressed => "min_var_stressed",
            Proposal::RiskParity => "risk_parity",
            Proposal::MaxDiversification => "max_diversification",
            Proposal::WorstCase => "worst_case",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Proposal::MinCvar => "Minimum CVaR 95%",
            Proposal::MinVarianceNormal => "Minimum variance (normal)",
            Proposal::MinVarianceStressed => "Minimum variance (stressed)",
            Proposal::RiskParity => "Risk parity",
            Proposal::MaxDiversification => "Maximum diversification",
            Proposal::WorstCase => "Worst case over regimes (robust)",
        }
    }
}

/// What one fit of the proposals needs, per unit of book value (weights sum to one), in
/// position space.
pub struct FitInputs {
    /// Monthly position returns of the fitting window, months × positions. Two-sided by
    /// nature: what the positions did, rallies and falls, not invented moves.
    pub scenarios: DMatrix<f64>,
    /// Monthly position covariances, normal and stressed (factor form).
    pub normal: DMatrix<f64>,
    pub stressed: DMatrix<f64>,
    /// The covariances the worst-case proposal guards against.
    pub regimes: Vec<DMatrix<f64>>,
    pub constraints: Constraints,
}

/// Fit one proposal with the clarabel-based optimisers of `stresslab_analytics::optimize`.
pub fn fit_proposal(p: Proposal, inputs: &FitInputs) -> Result<DVector<f64>, AnalyticsError> {
    let c = &inputs.constraints;
    let optimum = match p {
        Proposal::MinCvar => optimize::min_cvar(&inputs.scenarios, CVAR_CONFIDENCE, c),
        Proposal::MinVarianceNormal => optimize::min_variance(&inputs.normal, c),
        Proposal::MinVarianceStressed => optimize::min_variance(&inputs.stressed, c),
        Proposal::RiskParity => optimize::risk_parity(&inputs.normal, c),
        Proposal::MaxDiversification => optimize::max_diversification(&inputs.normal, c),
        Proposal::WorstCase => optimize::worst_case_min_variance(&inputs.regimes, c),
    }?;
    Ok(optimum.weights)
}

/// The constraint set of `limits` for today's weights `current` and position betas
/// `betas` (positions × factors, market first): long-only, a cap per position, turnover
/// `½ Σ|w − w₀| ≤ limits.turnover` one way (handed to the optimiser as the two-way sum
/// `Σ|w − w₀| ≤ 2 × limit`), market beta in `[min, max]`, and each style beta within
/// `± band` of today's book's `Bᵀw₀`.
pub fn constraint_set(
    limits: &OptimisationLimits,
    current: &DVector<f64>,
    betas: &DMatrix<f64>,
) -> Constraints {
    let today = betas.transpose() * current;
    let (lower, upper) = (0..betas.ncols())
        .map(|j| {
            if j == 0 {
                (limits.market_beta_min, limits.market_beta_max)
            } else {
                (
                    today[j] - limits.style_beta_band,
                    today[j] + limits.style_beta_band,
                )
            }
        })
        .unzip();
    Constraints {
        long_only: limits.long_only,
        caps: Some(vec![limits.max_weight; current.len()]),
        turnover: Some(Turnover {
            current: current.as_slice().to_vec(),
            limit: 2.0 * limits.turnover,
        }),
        factor_bounds: Some(FactorBounds {
            exposures: betas.clone(),
            lower,
            upper,
        }),
    }
}

/// Monthly covariance of position returns per unit weight in factor form,
/// `B Σ Bᵀ + D` (D the residual variances; residuals independent across positions, the
/// factor model's assumption), with the relative ridge [`RIDGE`]. O(n² k): only for
/// books within [`MAX_OPTIMISED_POSITIONS`].
pub fn position_covariance(
    betas: &DMatrix<f64>,
    factor_cov: &DMatrix<f64>,
    residual_var: &[f64],
) -> DMatrix<f64> {
    let mut cov = betas * factor_cov * betas.transpose();
    let n = cov.nrows();
    for (i, d) in residual_var.iter().enumerate() {
        cov[(i, i)] += d;
    }
    let ridge = RIDGE * cov.trace() / n.max(1) as f64;
    for i in 0..n {
        cov[(i, i)] += ridge;
    }
    cov
}

/// The book as the optimisers see it: weights over positions, as shares of the book's
/// total exposure amount.
pub struct Universe {
    /// `Σ A_i`, the book's total exposure amount: a weight vector `w` is the book
    /// `A = value × w`.
    pub value: f64,
    /// Today's weights `w₀`.
    pub current: DVector<f64>,
    /// Position betas, positions × factors (estimation window).
    pub betas: DMatrix<f64>,
    /// Monthly residual variances.
    pub residual_var: Vec<f64>,
    /// Monthly position returns over the whole history (one row of positions per
    /// month): the factor part `β·f_t` plus the position's replayed residual `ε_t`
    /// (alpha excluded, as in every replay of this workflow).
    pub returns: Vec<Vec<f64>>,
}

impl Universe {
    /// Errors (a reason for the report) when the book is too large for position-level
    /// optimisation, has fewer than two positions, or its total exposure is not positive.
    pub fn new(model: &FactorModel) -> Result<Universe, String> {
        let n = model.positions.len();
        if n > MAX_OPTIMISED_POSITIONS {
            return Err(format!(
                "the book has {n} positions and the optimisers need a dense positions × positions covariance, so they run on books of at most {MAX_OPTIMISED_POSITIONS} positions"
            ));
        }
        if n < 2 {
            return Err(format!(
                "the book has {n} position(s): there are no weights to choose"
            ));
        }
        let value: f64 = model.positions.iter().map(|p| p.exposure_amount).sum();
        if !(value > 0.0 && value.is_finite()) {
            return Err(
                "the book's total exposure amount is not positive, so weights as shares of it are undefined"
                    .into(),
            );
        }
        let k = model.factors.len();
        let current =
            DVector::from_iterator(n, model.positions.iter().map(|p| p.exposure_amount / value));
        let betas = DMatrix::from_fn(n, k, |i, j| model.positions[i].exposures[j]);
        let residual_var = model
            .positions
            .iter()
            .map(|p| p.residual_vol.powi(2))
            .collect();
        let returns = model
            .history
            .iter()
            .enumerate()
            .map(|(t, f)| {
                model
                    .positions
                    .iter()
                    .map(|p| {
                        let factor: f64 = p.exposures.iter().zip(f).map(|(b, x)| b * x).sum();
                        let residual = p
                            .residual_series
                            .map_or(0.0, |s| model.series_residuals[s as usize][t]);
                        factor + residual
                    })
                    .collect()
            })
            .collect();
        Ok(Universe {
            value,
            current,
            betas,
            residual_var,
            returns,
        })
    }

    /// Monthly P&L (base currency) of the book with weights `w` in month `t`.
    pub fn pnl(&self, w: &DVector<f64>, t: usize) -> f64 {
        self.value
            * self.returns[t]
                .iter()
                .zip(w.iter())
                .map(|(r, x)| r * x)
                .sum::<f64>()
    }

    /// Monthly P&L volatility (base currency) of weights `w` under a factor covariance,
    /// factor form: `V √((Bᵀw)ᵀ Σ (Bᵀw) + Σ w_i² σ²_ε,i)` — O(n k), no position matrix.
    pub fn volatility(&self, w: &DVector<f64>, factor_cov: &DMatrix<f64>) -> f64 {
        let b = self.betas.transpose() * w;
        let idio: f64 = w
            .iter()
            .zip(&self.residual_var)
            .map(|(x, d)| x * x * d)
            .sum();
        self.value * ((b.transpose() * factor_cov * &b)[(0, 0)] + idio).sqrt()
    }
}

/// One refit of the walk-forward: fitted on `fit`, held over `hold` (month indices of
/// the history; `fit.end <= hold.start` always).
#[derive(Debug, Clone, PartialEq)]
pub struct WalkForwardFit {
    pub fit: Range<usize>,
    pub hold: Range<usize>,
}

/// Out-of-sample monthly P&L of today's book and of each proposal (in
/// [`Proposal::ALL`] order), over the same months.
#[derive(Debug, Clone)]
pub struct ProposalWalkForward {
    pub fits: Vec<WalkForwardFit>,
    pub current: Vec<f64>,
    pub proposals: Vec<Vec<f64>>,
    /// Refits where a proposal could not be fitted (the current book is held instead).
    pub failed: Vec<usize>,
}

/// The fit inputs of one trailing window: betas and residual variances re-estimated by
/// OLS on the window's position returns (so no beta sees a month after the window),
/// the normal factor covariance by Ledoit-Wolf on the window, the stressed one from the
/// book's most volatile 24-month window up to the window's end, and the worst case over
/// those two (the regime analyst's HMM is fitted on the whole history, so it would see
/// the out-of-sample months).
fn window_inputs(
    u: &Universe,
    history: &[Vec<f64>],
    fit: Range<usize>,
    limits: &OptimisationLimits,
) -> Result<FitInputs, AnalyticsError> {
    let (w, n, k) = (fit.len(), u.current.len(), u.betas.ncols());
    let x = DMatrix::from_fn(w, k + 1, |t, j| {
        if j == 0 {
            1.0
        } else {
            history[fit.start + t][j - 1]
        }
    });
    let r = DMatrix::from_fn(w, n, |t, i| u.returns[fit.start + t][i]);
    let coef = x
        .tr_mul(&x)
        .cholesky()
        .ok_or(AnalyticsError::NotPositiveDefinite)?
        .solve(&x.tr_mul(&r));
    let resid = &r - &x * &coef;
    let dof = w.saturating_sub(k + 1).max(1) as f64;
    let residual_var: Vec<f64> = (0..n)
        .map(|i| resid.column(i).norm_squared() / dof)
        .collect();
    let betas = coef.rows(1, k).transpose();
    let factors = x.columns(1, k).into_owned();
    // The model's own estimators, on the fitting window only.
    let normal_f = covariance::ledoit_wolf_constant_correlation(&factors)?.covariance;
    let book = (betas.transpose() * &u.current) * u.value;
    let (_, stressed_f) =
        most_stressed_window(&history[..fit.end], book.as_slice(), STRESS_WINDOW_MONTHS)?;
    let normal = position_covariance(&betas, &normal_f, &residual_var);
    let stressed = position_covariance(&betas, &stressed_f.covariance, &residual_var);
    Ok(FitInputs {
        scenarios: r,
        regimes: vec![normal.clone(), stressed.clone()],
        normal,
        stressed,
        constraints: constraint_set(limits, &u.current, &betas),
    })
}

/// Walk-forward test of the proposals on history (out of sample): every
/// [`REFIT_EVERY_MONTHS`] months over the last [`WALK_FORWARD_SPAN_MONTHS`], each
/// proposal is re-fitted on the trailing `window` months only ([`window_inputs`]) and
/// held, at constant weights, for the next `REFIT_EVERY_MONTHS` months; the realised
/// monthly P&L of those held weights is recorded. Today's book is held throughout as
/// the benchmark. A proposal that cannot be fitted in a window holds today's book.
/// The refits are independent, so they run on the available cores (the numbers do not
/// depend on how many).
pub fn walk_forward_proposals(
    u: &Universe,
    history: &[Vec<f64>],
    limits: &OptimisationLimits,
    window: usize,
) -> ProposalWalkForward {
    let months = history.len().min(u.returns.len());
    let mut fits = Vec::new();
    let mut start = window
        .max(STRESS_WINDOW_MONTHS)
        .max(months.saturating_sub(WALK_FORWARD_SPAN_MONTHS));
    while start < months {
        let hold = start..(start + REFIT_EVERY_MONTHS).min(months);
        start = hold.end;
        fits.push(WalkForwardFit {
            fit: (hold.start - window)..hold.start,
            hold,
        });
    }
    let refit = |wf: &WalkForwardFit| -> Vec<Option<DVector<f64>>> {
        let inputs = window_inputs(u, history, wf.fit.clone(), limits);
        Proposal::ALL
            .iter()
            .map(|p| inputs.as_ref().ok().and_then(|i| fit_proposal(*p, i).ok()))
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(fits.len())
        .max(1);
    let weights: Vec<Vec<Option<DVector<f64>>>> = if threads == 1 {
        fits.iter().map(refit).collect()
    } else {
        let refit = &refit;
        std::thread::scope(|scope| {
            let handles: Vec<_> = fits
                .chunks(fits.len().div_ceil(threads))
                .map(|chunk| scope.spawn(move || chunk.iter().map(refit).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a walk-forward refit panicked"))
                .collect()
        })
    };
    let mut out = ProposalWalkForward {
        fits: Vec::new(),
        current: Vec::new(),
        proposals: vec![Vec::new(); Proposal::ALL.len()],
        failed: vec![0; Proposal::ALL.len()],
    };
    for (wf, fitted) in fits.into_iter().zip(weights) {
        for (j, w) in fitted.into_iter().enumerate() {
            let w = w.unwrap_or_else(|| {
                out.failed[j] += 1;
                u.current.clone()
            });
            out.proposals[j].extend(wf.hold.clone().map(|t| u.pnl(&w, t)));
        }
        out.current
            .extend(wf.hold.clone().map(|t| u.pnl(&u.current, t)));
        out.fits.push(wf);
    }
    out
}

/// "gives up USD 1.2m …" for a positive amount, "gains USD 1.2m …" for a negative
/// one: a committee should not have to read a minus sign inside a sentence.
fn signed_change(positive: &str, negative: &str, amount: f64, what: &str, cur: &str) -> String {
    let verb = if amount >= 0.0 { positive } else { negative };
    format!("{verb} {} {what}", money(amount.abs(), cur))
        .trim_end()
        .to_string()
}

/// The in-sample fit inputs: the estimation window's monthly position returns as the
/// min-CVaR scenarios, the model's normal and stressed factor covariances and the
/// regime covariances `regime_f` in factor form, and the run's constraints.
pub fn in_sample_inputs(model: &FactorModel, u: &Universe, regime_f: &[DMatrix<f64>]) -> FitInputs {
    let months = u.returns.len();
    let est = months.saturating_sub(ESTIMATION_MONTHS)..months;
    let position = |c: &DMatrix<f64>| position_covariance(&u.betas, c, &u.residual_var);
    FitInputs {
        scenarios: DMatrix::from_fn(est.len(), u.current.len(), |t, i| {
            u.returns[est.start + t][i]
        }),
        normal: position(&from_rows(&model.covariance_shrunk)),
        stressed: position(&from_rows(&model.covariance_stressed)),
        regimes: regime_f.iter().map(position).collect(),
        constraints: constraint_set(&model.optimisation, &u.current, &u.betas),
    }
}

/// One book's figures: in sample (parametric, factor form, one month) and out of sample.
struct BookFigures {
    expected_return: f64,
    var99_normal: f64,
    es99_normal: f64,
    var99_stressed: f64,
    es99_stressed: f64,
    worst_regime_vol: f64,
    cvar95_in_sample: f64,
    turnover: f64,
    oos_vol: f64,
    oos_es95: f64,
    oos_es99: f64,
    oos_worst: f64,
}

/// Re-optimise the book's weights: six proposals under the run's constraints, each
/// judged against today's book in sample (parametric VaR/ES 99% one month under the
/// normal and stressed covariance, worst regime volatility, CVaR 95% over the
/// estimation window) and out of sample (walk-forward); the cost of robustness; the
/// robust frontier chart; a phased plan whose first phase is the market hedge with the
/// instrument traded (the index future with its basis; the MktRF hedge when the market
/// data has no future).
fn reoptimise(f: &mut Findings, model: &FactorModel, regimes: Option<&Findings>) {
    let cur = model.base_currency.as_str();
    let limits = &model.optimisation;
    let u = match Universe::new(model) {
        Ok(u) => u,
        Err(reason) => {
            f.figure(
                "opt_positions",
                "Positions in the book (re-optimisation not run)",
                model.positions.len() as f64,
                Unit::Count,
                Horizon::Point,
            );
            f.figure(
                "opt_position_limit",
                "Largest book re-optimised position by position",
                MAX_OPTIMISED_POSITIONS as f64,
                Unit::Count,
                Horizon::Point,
            );
            f.recommend(
                format!("No re-optimised book is proposed: {reason}. The market hedge above stands on its own."),
                &["opt_positions", "opt_position_limit"],
            );
            return;
        }
    };
    let n = u.current.len();
    f.figure(
        "opt_limit_max_weight",
        "Constraint: largest weight of one position",
        limits.max_weight,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "opt_limit_turnover",
        "Constraint: one-way turnover against today's weights (share of the book bought = sold)",
        limits.turnover,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "opt_limit_style_beta_band",
        "Constraint: each style beta within ± this of today's book",
        limits.style_beta_band,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "opt_limit_market_beta_min",
        "Constraint: lowest market beta",
        limits.market_beta_min,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "opt_limit_market_beta_max",
        "Constraint: highest market beta",
        limits.market_beta_max,
        Unit::Ratio,
        Horizon::Point,
    );

    // In sample: the estimation window's position returns are the min-CVaR scenarios;
    // the covariances are the model's, in factor form.
    let months = model.history.len();
    let est = months.saturating_sub(ESTIMATION_MONTHS)..months;
    let normal_f = from_rows(&model.covariance_shrunk);
    let stressed_f = from_rows(&model.covariance_stressed);
    let (regime_f, regime_source, regimes_read) =
        match regimes.and_then(|r| crate::personas::regime_covariances(r, &model.factors)) {
            Some(c) => {
                let source = format!("the regime analyst's {} regime covariances", c.len());
                (c, source, true)
            }
            None => (
                vec![normal_f.clone(), stressed_f.clone()],
                "the normal and stressed covariances (no regime covariances from the regime analyst in this run)".to_string(),
                false,
            ),
        };
    let inputs = in_sample_inputs(model, &u, &regime_f);
    let fitted: Vec<Result<DVector<f64>, AnalyticsError>> = Proposal::ALL
        .iter()
        .map(|p| fit_proposal(*p, &inputs))
        .collect();
    let wf = walk_forward_proposals(&u, &model.history, limits, ESTIMATION_MONTHS);

    // Expected monthly return: betas × whole-history factor means (long-run premia;
    // alpha excluded — the model's alphas are ten-year in-sample drifts).
    let premia: Vec<f64> = (0..model.factors.len())
        .map(|j| stats::mean(&model.history.iter().map(|r| r[j]).collect::<Vec<_>>()))
        .collect();
    let premia = DVector::from_vec(premia);
    let judge = |w: &DVector<f64>, oos: &[f64]| -> BookFigures {
        let vol_n = u.volatility(w, &normal_f);
        let vol_s = u.volatility(w, &stressed_f);
        let window_pnl: Vec<f64> = est.clone().map(|t| u.pnl(w, t)).collect();
        let oos_tail = |c: f64| risk::historical_var_es(oos, c).es;
        BookFigures {
            expected_return: u.value * (u.betas.transpose() * w).dot(&premia),
            var99_normal: risk::parametric_var(vol_n, 0.0, 0.99),
            es99_normal: risk::parametric_es(vol_n, 0.0, 0.99),
            var99_stressed: risk::parametric_var(vol_s, 0.0, 0.99),
            es99_stressed: risk::parametric_es(vol_s, 0.0, 0.99),
            worst_regime_vol: regime_f
                .iter()
                .map(|c| u.volatility(w, c))
                .fold(0.0, f64::max),
            cvar95_in_sample: risk::historical_var_es(&window_pnl, CVAR_CONFIDENCE).es,
            turnover: 0.5 * (w - &u.current).abs().sum(),
            oos_vol: stats::std_dev(oos),
            oos_es95: oos_tail(0.95),
            oos_es99: oos_tail(0.99),
            oos_worst: -oos.iter().copied().fold(f64::INFINITY, f64::min),
        }
    };
    let mut books: Vec<(&str, &str, DVector<f64>, BookFigures)> = vec![(
        "current",
        "Today's book",
        u.current.clone(),
        judge(&u.current, &wf.current),
    )];
    let mut failures = Vec::new();
    for ((p, w), oos) in Proposal::ALL.iter().zip(&fitted).zip(&wf.proposals) {
        // Without the regime analyst's covariances the worst case is over normal and
        // stressed only: its name says so wherever it appears.
        let name = if *p == Proposal::WorstCase && !regimes_read {
            "Worst case over normal and stressed (robust; no regime covariances)"
        } else {
            p.name()
        };
        match w {
            Ok(w) => books.push((p.key(), name, w.clone(), judge(w, oos))),
            Err(e) => failures.push(format!("{}: {e}", p.name())),
        }
    }

    let oos_months = wf.current.len();
    let first_oos = wf
        .fits
        .first()
        .map_or("", |x| model.history_dates[x.hold.start].as_str());
    let last_oos = model.history_dates.last().map_or("", String::as_str);
    for (key, name, _, b) in &books {
        let mut fig = |metric: &str, label: &str, value: f64, unit: Unit, horizon: Horizon| {
            f.figure(
                &format!("opt_{key}_{metric}"),
                &format!("{name}: {label}"),
                value,
                unit,
                horizon,
            );
        };
        fig(
            "expected_return",
            "expected monthly return (betas × long-run factor premia, alpha excluded)",
            b.expected_return,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "var99_normal",
            "VaR 99% one month, normal covariance (parametric, in sample)",
            b.var99_normal,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "es99_normal",
            "ES 99% one month, normal covariance (parametric, in sample)",
            b.es99_normal,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "var99_stressed",
            "VaR 99% one month, stressed covariance (parametric, in sample)",
            b.var99_stressed,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "es99_stressed",
            "ES 99% one month, stressed covariance (parametric, in sample)",
            b.es99_stressed,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "worst_regime_volatility",
            "monthly volatility in the worst regime (in sample)",
            b.worst_regime_vol,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "cvar95_in_sample",
            "CVaR 95% one month over the estimation window's months (in sample)",
            b.cvar95_in_sample,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "turnover",
            "one-way turnover from today's book",
            b.turnover,
            Unit::Fraction,
            Horizon::Point,
        );
        fig(
            "oos_volatility",
            "realised monthly volatility, walk-forward (out of sample)",
            b.oos_vol,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "oos_es95",
            "ES 95% one month, walk-forward (out of sample)",
            b.oos_es95,
            Unit::Money,
            Horizon::Months(1),
        );
        fig(
            "oos_es99",
            &format!("ES 99% one month, walk-forward (out of sample; {oos_months} months {first_oos} to {last_oos}, the proposals' re-fit schedule: the most recent {WALK_FORWARD_SPAN_MONTHS} months)"),
            b.oos_es99,
            Unit::Money,
            Horizon::Months(1),
        );
    }
    f.figure(
        "opt_walk_forward_months",
        "Out-of-sample months of the proposals' walk-forward",
        oos_months as f64,
        Unit::Count,
        Horizon::Point,
    );
    f.figure(
        "opt_walk_forward_refits",
        "Refits in the proposals' walk-forward (one every 12 months)",
        wf.fits.len() as f64,
        Unit::Count,
        Horizon::Point,
    );
    let failed_refits = f.figure(
        "opt_walk_forward_failed_refits",
        "Walk-forward refits where a proposal could not be fitted (today's book held instead), all proposals",
        wf.failed.iter().sum::<usize>() as f64,
        Unit::Count,
        Horizon::Point,
    );
    f.figure(
        "opt_proposals_failed",
        "Proposals that could not be fitted in sample",
        failures.len() as f64,
        Unit::Count,
        Horizon::Point,
    );

    // Tables: in sample, out of sample.
    f.tables.push(
        Table::new(
            &format!(
                "Re-optimised books against today's book, in sample (one month, parametric, factor form; estimation window {} to {}; constraints: long-only {}, weight ≤ {}, one-way turnover ≤ {}, market beta {:.2}–{:.2}, style betas ± {:.2}; worst regime over {regime_source})",
                model.window.start,
                model.window.end,
                if limits.long_only { "yes" } else { "no" },
                pct(limits.max_weight),
                pct(limits.turnover),
                limits.market_beta_min,
                limits.market_beta_max,
                limits.style_beta_band,
            ),
            vec![
                Column::text("Book"),
                Column::money("Expected return", cur),
                Column::money("VaR 99% normal", cur),
                Column::money("ES 99% normal", cur),
                Column::money("VaR 99% stressed", cur),
                Column::money("ES 99% stressed", cur),
                Column::money("Worst-regime volatility", cur),
                Column::money("CVaR 95% (window)", cur),
                Column::percent("One-way turnover"),
            ],
        )
        .with_rows(books.iter().map(|(_, name, _, b)| {
            vec![
                (*name).into(),
                b.expected_return.into(),
                b.var99_normal.into(),
                b.es99_normal.into(),
                b.var99_stressed.into(),
                b.es99_stressed.into(),
                b.worst_regime_vol.into(),
                b.cvar95_in_sample.into(),
                b.turnover.into(),
            ]
        }))
        .one_money_scale(),
    );
    f.tables.push(
        Table::new(
            &format!(
                "Re-optimised books out of sample: walk-forward {first_oos} to {last_oos} ({oos_months} months), each re-fitted every {REFIT_EVERY_MONTHS} months on the trailing {ESTIMATION_MONTHS} months only (betas, covariances and scenarios re-estimated; worst case over that window's normal and stressed covariances) and held in between; realised monthly P&L of factor and residual moves"
            ),
            vec![
                Column::text("Book"),
                Column::money("Realised volatility", cur),
                Column::money("ES 95%", cur),
                Column::money("ES 99%", cur),
                Column::money("Worst month loss", cur),
            ],
        )
        .with_rows(books.iter().map(|(_, name, _, b)| {
            vec![
                (*name).into(),
                b.oos_vol.into(),
                b.oos_es95.into(),
                b.oos_es99.into(),
                b.oos_worst.into(),
            ]
        }))
        .one_money_scale(),
    );

    // The robust frontier: expected return against stressed ES 99%.
    f.charts.push(Chart {
        key: "robust_frontier".into(),
        title: "Robust frontier: expected monthly return against stressed ES 99% (one month, parametric), today's book and each proposal".into(),
        kind: ChartKind::Scatter,
        labels: books.iter().map(|(_, name, _, _)| name.to_string()).collect(),
        x: books.iter().map(|(_, _, _, b)| b.expected_return).collect(),
        x_label: "Expected return, one month (betas × long-run premia)".into(),
        x_unit: Unit::Money,
        y_label: "Stressed ES 99%, one month".into(),
        y_unit: Unit::Money,
        series: vec![ChartSeries {
            name: "Stressed ES 99%".into(),
            values: books.iter().map(|(_, _, _, b)| b.es99_stressed).collect(),
        }],
    });

    let book_of = |key: &str| books.iter().find(|b| b.0 == key);
    let today = &books[0].3;
    // The cost of robustness: the worst-case book against plain minimum variance.
    // Every figure is plain minimum variance's less the worst-case book's, so positive
    // is in the robust book's favour for a risk (it saves) and against it for the
    // return (it gives up); the wording follows each sign, and the verdict says plainly
    // when there is no benefit.
    if let (Some(robust), Some(plain)) = (book_of("worst_case"), book_of("min_var_normal")) {
        let (r, p) = (&robust.3, &plain.3);
        let return_given_up = f.figure(
            "opt_robustness_cost_expected_return",
            "Expected monthly return of minimum variance (normal) less the worst-case book's (positive: the robust book gives up return; negative: it earns more)",
            p.expected_return - r.expected_return,
            Unit::Money,
            Horizon::Months(1),
        );
        let normal_added = f.figure(
            "opt_robustness_cost_es99_normal",
            "Normal ES 99% of the worst-case book less minimum variance's (normal), in sample (positive: the robust book adds risk)",
            r.es99_normal - p.es99_normal,
            Unit::Money,
            Horizon::Months(1),
        );
        let stressed_saved = f.figure(
            "opt_robustness_gain_es99_stressed",
            "Stressed ES 99% of minimum variance (normal) less the worst-case book's, in sample (positive: the robust book saves; negative: it is worse)",
            p.es99_stressed - r.es99_stressed,
            Unit::Money,
            Horizon::Months(1),
        );
        let oos_saved = f.figure(
            "opt_robustness_gain_oos_es99",
            "Walk-forward ES 99% of minimum variance (normal) less the worst-case book's, out of sample (positive: the robust book saves; negative: it is worse)",
            p.oos_es99 - r.oos_es99,
            Unit::Money,
            Horizon::Months(1),
        );
        // A saving below 1% of the out-of-sample ES is within the noise of a tail that
        // rests on two or three months: not a benefit to pay for.
        let material = |saved: f64, of: f64| saved > 0.01 * of.abs();
        let stressed_better = stressed_saved > 0.0;
        let oos_better = material(oos_saved, p.oos_es99);
        let verdict = match (stressed_better, oos_better) {
            (true, true) => "robustness pays here: the worst-case book is the safer one both in the stressed window and out of sample".to_string(),
            (false, false) => format!(
                "there is no robustness benefit here: the worst-case book is worse in sample on {}, and out of sample it is {} — {} of ES 99%, too little to matter",
                if normal_added > 0.0 { "both normal and stressed ES 99%" } else { "stressed ES 99%" },
                if oos_saved > 0.0 { "only marginally better" } else { "no better" },
                pct((oos_saved / p.oos_es99).abs())
            ),
            (true, false) => "the benefit is in sample only: the worst-case book saves stressed ES 99% but not materially out of sample".to_string(),
            (false, true) => "the benefit is out of sample only: the worst-case book is worse under the stressed covariance but better out of sample".to_string(),
        };
        f.recommend(
            format!(
                "Robustness, guarding against {regime_source}: against plain minimum variance (normal covariance) the worst-case book {} and {}; its stressed ES 99% {} in sample, and its ES 99% {} out of sample — {verdict}.",
                signed_change("gives up", "earns", return_given_up, "a month of expected return", cur),
                signed_change("adds", "saves", normal_added, "of normal ES 99% in sample", cur),
                signed_change("is lower by", "is higher by", stressed_saved, "", cur),
                signed_change("is lower by", "is higher by", oos_saved, "", cur),
            ),
            &[
                "opt_robustness_cost_expected_return",
                "opt_robustness_cost_es99_normal",
                "opt_robustness_gain_es99_stressed",
                "opt_robustness_gain_oos_es99",
            ],
        );
    }

    // The chosen proposal: lowest ES 99% out of sample — the figure fitted on nothing
    // it is judged on — provided it beats today's book there.
    let chosen = books[1..]
        .iter()
        .min_by(|a, b| a.3.oos_es99.total_cmp(&b.3.oos_es99))
        .filter(|c| c.3.oos_es99 < today.oos_es99);
    if let Some((_, name, _, fig)) = chosen {
        f.headline.push_str(&format!(
            " Re-optimised within the constraints, the {name} book moves out-of-sample ES 99% from {} to {} at {} one-way turnover.",
            money(today.oos_es99, cur),
            money(fig.oos_es99, cur),
            pct(fig.turnover)
        ));
    }

    // The phased plan. Phase 1: the market hedge with the instrument traded — the
    // index future, sized with its basis (an overlay, no cash-book trades); the MktRF
    // factor itself (no basis) only when the market data has no future. Phases 2 and
    // 3: half of the way to the chosen book each (each tranche a convex combination of
    // two feasible books, so within every constraint), the hedge re-sized after each
    // tranche by the same rule (minimum variance under the stressed covariance with the
    // basis, capped so the book is never net short the market).
    let future = model
        .hedge_instruments
        .estimated
        .iter()
        .find(|i| i.spec().kind == crate::instruments::InstrumentKind::IndexFuture);
    let (leg, instrument) = match future {
        Some(i) => (
            crate::instruments::HedgeLeg::from(i),
            i.spec().name.to_string(),
        ),
        None => (
            crate::instruments::HedgeLeg {
                betas: (0..model.factors.len())
                    .map(|j| if j == 0 { 1.0 } else { 0.0 })
                    .collect(),
                basis_variance: 0.0,
                cost_short: 0.0,
                cost_long: 0.0,
            },
            "market (MktRF) exposure, no traded future in the market data,".to_string(),
        ),
    };
    let legs = std::slice::from_ref(&leg);
    let exposure = |w: &DVector<f64>| -> Vec<f64> {
        (u.betas.transpose() * w * u.value)
            .iter()
            .copied()
            .collect()
    };
    let hedge_for = |w: &DVector<f64>| {
        crate::instruments::size_overlay(&exposure(w), &stressed_f, legs, 0.0, false)
            .map_or(0.0, |h| h[0])
    };
    let stressed_es = |w: &DVector<f64>, h: f64| {
        let idio: f64 = w
            .iter()
            .zip(&u.residual_var)
            .map(|(x, d)| (u.value * x).powi(2) * d)
            .sum();
        let v = crate::instruments::hedged_variance(&exposure(w), &stressed_f, legs, &[h]);
        risk::parametric_es((v + idio).max(0.0).sqrt(), 0.0, 0.99)
    };
    let es_today = f.figure(
        "opt_plan_es99_stressed_today",
        "Stressed ES 99% one month of today's book (parametric)",
        stressed_es(&u.current, 0.0),
        Unit::Money,
        Horizon::Months(1),
    );
    let mut plan: Vec<(String, String, f64, f64)> = Vec::new();
    let hedge = hedge_for(&u.current);
    f.figure(
        "opt_plan_phase1_hedge_notional",
        &format!("Phase 1: notional of {instrument} sold (minimum variance with the basis under the stressed covariance, capped)"),
        hedge,
        Unit::Money,
        Horizon::Point,
    );
    let es1 = f.figure(
        "opt_plan_phase1_es99_stressed",
        &format!(
            "Phase 1 (overlay of {instrument}, basis included): stressed ES 99% one month after"
        ),
        stressed_es(&u.current, hedge),
        Unit::Money,
        Horizon::Months(1),
    );
    plan.push((
        "1 — now".into(),
        format!(
            "Sell {} of {instrument} as an overlay (minimum variance with the basis, capped at the market exposure); no trades in the book",
            money(hedge, cur)
        ),
        0.0,
        es1,
    ));
    let mut cites = vec![
        "opt_plan_es99_stressed_today",
        "opt_plan_phase1_hedge_notional",
        "opt_plan_phase1_es99_stressed",
    ];
    if let Some((key, name, target, fig)) = chosen {
        let half = (&u.current + target) * 0.5;
        let hedge_half = hedge_for(&half);
        let es2 = f.figure(
            "opt_plan_phase2_es99_stressed",
            "Phase 2 (first tranche, hedge re-sized): stressed ES 99% one month after",
            stressed_es(&half, hedge_half),
            Unit::Money,
            Horizon::Months(1),
        );
        let hedge_target = hedge_for(target);
        let es3 = f.figure(
            "opt_plan_phase3_es99_stressed",
            "Phase 3 (second tranche, hedge re-sized): stressed ES 99% one month after",
            stressed_es(target, hedge_target),
            Unit::Money,
            Horizon::Months(1),
        );
        f.figure(
            "opt_plan_tranche_turnover",
            "One-way turnover of each of the two tranches",
            fig.turnover / 2.0,
            Unit::Fraction,
            Horizon::Point,
        );
        plan.push((
            "2 — next rebalance".into(),
            format!(
                "Trade half of the way to the {name} book; re-size the hedge to {}",
                money(hedge_half, cur)
            ),
            fig.turnover / 2.0,
            es2,
        ));
        plan.push((
            "3 — the rebalance after".into(),
            format!(
                "Complete the move to the {name} book; re-size the hedge to {}",
                money(hedge_target, cur)
            ),
            fig.turnover / 2.0,
            es3,
        ));
        cites.extend([
            "opt_plan_phase2_es99_stressed",
            "opt_plan_phase3_es99_stressed",
            "opt_plan_tranche_turnover",
        ]);
        let oos_key = format!("opt_{key}_oos_es99");
        let stressed_key = format!("opt_{key}_es99_stressed");
        let turnover_key = format!("opt_{key}_turnover");
        f.recommend(
            format!(
                "Of the re-optimised books, {name} has the lowest ES 99% out of sample: {} against today's {} over {oos_months} walk-forward months; in sample its stressed ES 99% is {} against {}, for {} one-way turnover.",
                money(fig.oos_es99, cur),
                money(today.oos_es99, cur),
                money(fig.es99_stressed, cur),
                money(today.es99_stressed, cur),
                pct(fig.turnover),
            ),
            &[
                &oos_key,
                "opt_current_oos_es99",
                &stressed_key,
                "opt_current_es99_stressed",
                &turnover_key,
                "opt_walk_forward_months",
            ],
        );
        // The largest trades toward it.
        let mut trades: Vec<usize> = (0..n).collect();
        trades.sort_by(|&a, &b| {
            let d = |i: usize| (target[i] - u.current[i]).abs();
            d(b).total_cmp(&d(a))
        });
        f.tables.push(
            Table::new(
                &format!("Largest trades toward the {name} book (weights as shares of the book's exposure)"),
                vec![
                    Column::text("Position"),
                    Column::percent("Today"),
                    Column::percent("Proposed"),
                    Column::percent("Change"),
                    Column::money("Trade", cur),
                ],
            )
            .with_rows(trades.iter().take(10).map(|&i| {
                vec![
                    model.positions[i].name.as_str().into(),
                    u.current[i].into(),
                    target[i].into(),
                    (target[i] - u.current[i]).into(),
                    (u.value * (target[i] - u.current[i])).into(),
                ]
            })),
        );
    } else {
        f.recommend(
            format!(
                "No re-optimised book beats today's out of sample (today's walk-forward ES 99% {}): keep the book and hedge it.",
                money(today.oos_es99, cur)
            ),
            &["opt_current_oos_es99"],
        );
    }
    f.tables.push(
        Table::new(
            &format!("Phased implementation plan (stressed ES 99% one month, parametric, after each phase, the hedge's basis included; the first phase is an overlay of {instrument} and trades nothing in the book)"),
            vec![
                Column::text("Phase"),
                Column::text("Action"),
                Column::percent("One-way turnover"),
                Column::money("Stressed ES 99% after", cur),
                Column::money("Change vs today", cur),
            ],
        )
        .with_rows(plan.iter().map(|(phase, action, turnover, es)| {
            vec![
                phase.as_str().into(),
                action.as_str().into(),
                (*turnover).into(),
                (*es).into(),
                Cell::from(es - es_today),
            ]
        })),
    );
    f.recommend(
        format!(
            "Implement in phases: {}. Stressed ES 99% goes from {} today to {} after the last phase; each tranche stays within the {} one-way turnover limit.",
            plan.iter()
                .map(|(phase, action, _, es)| format!("{phase}: {action} (stressed ES 99% {})", money(*es, cur)))
                .collect::<Vec<_>>()
                .join("; "),
            money(es_today, cur),
            money(plan.last().map_or(es_today, |p| p.3), cur),
            pct(limits.turnover),
        ),
        &cites,
    );
    // Once the market is hedged, what is left is style and residual risk, which the
    // proposals (fitted on the unhedged book) did not target: say so when a tranche
    // raises the hedged book's stressed ES.
    if let [_, (_, _, _, es2), (_, _, _, es3)] = plan.as_slice() {
        if es3 > es2 {
            f.recommend(
                format!(
                    "With the hedge on, the second tranche raises stressed ES 99% from {} to {}: the re-optimised book's gain is mostly market risk the overlay already removes. Stop after phase 2 unless the out-of-sample figures without the overlay are what matters.",
                    money(*es2, cur),
                    money(*es3, cur)
                ),
                &["opt_plan_phase2_es99_stressed", "opt_plan_phase3_es99_stressed"],
            );
        }
    }
    if !failures.is_empty() || failed_refits > 0.0 {
        f.recommend(
            format!(
                "Not every proposal could be fitted under these constraints: {} in sample ({}); {failed_refits:.0} walk-forward refits held today's book instead. Loosen the constraint that binds (turnover, caps or the beta bounds) to see them.",
                failures.len(),
                if failures.is_empty() { "none".to_string() } else { failures.join("; ") },
            ),
            &["opt_proposals_failed", "opt_walk_forward_failed_refits"],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_core::WorkflowEngine;

    fn sample_model() -> FactorModel {
        let (portfolio, market) = crate::tests::sample();
        crate::model::estimate(&portfolio, &market).unwrap()
    }

    /// Every constraint of `limits`, checked on the weights directly (not through the
    /// optimiser's own formulation), with a solver tolerance.
    fn assert_within(limits: &OptimisationLimits, u: &Universe, w: &DVector<f64>, what: &str) {
        let tol = 1e-6;
        assert!((w.sum() - 1.0).abs() < tol, "{what}: budget {}", w.sum());
        if limits.long_only {
            assert!(w.iter().all(|x| *x > -tol), "{what}: short weight {w}");
        }
        assert!(
            w.iter().all(|x| *x < limits.max_weight + tol),
            "{what}: weight above the cap"
        );
        let turnover = 0.5 * (w - &u.current).abs().sum();
        assert!(
            turnover < limits.turnover + tol,
            "{what}: turnover {turnover}"
        );
        let beta = u.betas.transpose() * w;
        let today = u.betas.transpose() * &u.current;
        assert!(
            beta[0] > limits.market_beta_min - tol && beta[0] < limits.market_beta_max + tol,
            "{what}: market beta {}",
            beta[0]
        );
        for j in 1..beta.len() {
            assert!(
                (beta[j] - today[j]).abs() < limits.style_beta_band + tol,
                "{what}: style beta {j} moved {}",
                beta[j] - today[j]
            );
        }
    }

    /// Factor covariances of three real sub-periods of the sample history (1949–1972,
    /// 1973–1995, 1996–2017): a regime set with genuinely different structure.
    fn sub_period_covariances(model: &FactorModel) -> Vec<DMatrix<f64>> {
        let k = model.factors.len();
        let third = model.history.len() / 3;
        (0..3)
            .map(|p| {
                let x = DMatrix::from_fn(third, k, |t, j| model.history[p * third + t][j]);
                covariance::sample_covariance(&x).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_proposals_satisfy_the_constraints_on_the_sample_book() {
        let mut model = sample_model();
        let tight = OptimisationLimits {
            long_only: true,
            max_weight: 0.05,
            turnover: 0.10,
            style_beta_band: 0.05,
            market_beta_min: 0.9,
            market_beta_max: 1.0,
        };
        for limits in [OptimisationLimits::default(), tight] {
            model.optimisation = limits.clone();
            let u = Universe::new(&model).unwrap();
            let regimes = sub_period_covariances(&model);
            let inputs = in_sample_inputs(&model, &u, &regimes);
            for p in Proposal::ALL {
                let w = fit_proposal(p, &inputs).unwrap_or_else(|e| panic!("{p:?}: {e}"));
                assert_within(&limits, &u, &w, &format!("{p:?} under {limits:?}"));
            }
        }
    }

    #[test]
    fn the_worst_case_book_has_the_smallest_worst_regime_variance() {
        let model = sample_model();
        let u = Universe::new(&model).unwrap();
        let regimes = sub_period_covariances(&model);
        let inputs = in_sample_inputs(&model, &u, &regimes);
        let worst = |w: &DVector<f64>| {
            inputs
                .regimes
                .iter()
                .map(|c| (w.transpose() * c * w)[(0, 0)])
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let robust = worst(&fit_proposal(Proposal::WorstCase, &inputs).unwrap());
        for p in [
            Proposal::MinVarianceNormal,
            Proposal::MinVarianceStressed,
            Proposal::MinCvar,
        ] {
            let other = worst(&fit_proposal(p, &inputs).unwrap());
            assert!(robust <= other * (1.0 + 1e-7), "{p:?}: {robust} > {other}");
        }
        // Today's book is feasible too, so it cannot do better either.
        assert!(robust <= worst(&u.current));
        // The factor-form volatility of the regime the book fares worst in is the same
        // number from the O(n k) formula as from the position covariance.
        let w = fit_proposal(Proposal::WorstCase, &inputs).unwrap();
        let factor_form = regimes
            .iter()
            .map(|c| u.volatility(&w, c))
            .fold(0.0, f64::max);
        assert!((factor_form - u.value * robust.sqrt()).abs() < 1e-6 * factor_form);
    }

    #[test]
    fn the_min_cvar_book_has_the_lowest_acerbi_tasche_es_over_its_scenarios() {
        // The Rockafellar-Uryasev LP against the independent Acerbi-Tasche estimator on
        // the same 120 months (m = 6 tail months exactly): the LP's book is no worse
        // than any other feasible book, today's included.
        let model = sample_model();
        let u = Universe::new(&model).unwrap();
        let inputs = in_sample_inputs(&model, &u, &sub_period_covariances(&model));
        let es = |w: &DVector<f64>| {
            let pnl: Vec<f64> = (inputs.scenarios.clone() * w).iter().copied().collect();
            risk::historical_var_es(&pnl, CVAR_CONFIDENCE).es
        };
        let best = es(&fit_proposal(Proposal::MinCvar, &inputs).unwrap());
        let optimum = optimize::min_cvar(&inputs.scenarios, CVAR_CONFIDENCE, &inputs.constraints)
            .unwrap()
            .objective;
        assert!((best - optimum).abs() < 1e-7, "{best} vs {optimum}");
        for p in Proposal::ALL {
            let other = es(&fit_proposal(p, &inputs).unwrap());
            assert!(best <= other + 1e-7, "{p:?}: {best} > {other}");
        }
        assert!(best < es(&u.current));
        // Two-sided: the scenario months include rallies as well as falls.
        let book: Vec<f64> = (inputs.scenarios.clone() * &u.current)
            .iter()
            .copied()
            .collect();
        assert!(book.iter().any(|x| *x > 0.02) && book.iter().any(|x| *x < -0.02));
    }

    #[test]
    fn out_of_sample_months_never_overlap_their_fitting_window() {
        let model = sample_model();
        let u = Universe::new(&model).unwrap();
        let wf = walk_forward_proposals(&u, &model.history, &model.optimisation, ESTIMATION_MONTHS);
        let months = model.history.len();
        assert_eq!(wf.fits.len(), WALK_FORWARD_SPAN_MONTHS / REFIT_EVERY_MONTHS);
        let mut next = months - WALK_FORWARD_SPAN_MONTHS;
        for fit in &wf.fits {
            assert_eq!(fit.fit.len(), ESTIMATION_MONTHS);
            assert!(fit.fit.end <= fit.hold.start, "{fit:?}");
            assert_eq!(fit.hold.start, next, "holds are contiguous");
            assert!(fit.hold.len() <= REFIT_EVERY_MONTHS);
            next = fit.hold.end;
        }
        assert_eq!(next, months, "the walk-forward runs to the last month");
        assert_eq!(wf.current.len(), WALK_FORWARD_SPAN_MONTHS);
        assert!(wf.proposals.iter().all(|p| p.len() == wf.current.len()));
        assert_eq!(wf.failed, vec![0; Proposal::ALL.len()]);
        // Today's book held throughout is exactly its monthly P&L.
        let t = months - 1;
        assert_eq!(*wf.current.last().unwrap(), u.pnl(&u.current, t));
    }

    /// The regime analyst's figures for a set of monthly covariances, in its key
    /// convention (annualised volatilities, correlations for a before b).
    fn regime_findings(model: &FactorModel, covs: &[DMatrix<f64>]) -> Findings {
        let mut mra = Findings::new("market-regime-analyst");
        mra.figure(
            "regime_count",
            "",
            covs.len() as f64,
            Unit::Count,
            Horizon::Point,
        );
        for (r, c) in covs.iter().enumerate() {
            let corr = covariance::correlation_from_covariance(c);
            for (a, fa) in model.factors.iter().enumerate() {
                let vol = (c[(a, a)] * 12.0).sqrt();
                mra.figure(
                    &format!("regime_{r}_vol_{fa}"),
                    "",
                    vol,
                    Unit::Fraction,
                    Horizon::Annualised,
                );
                for (b, fb) in model.factors.iter().enumerate().skip(a + 1) {
                    mra.figure(
                        &format!("regime_{r}_corr_{fa}_{fb}"),
                        "",
                        corr[(a, b)],
                        Unit::Ratio,
                        Horizon::Point,
                    );
                }
            }
        }
        mra
    }

    #[test]
    fn the_worst_case_reads_the_regime_analysts_covariances() {
        let model = sample_model();
        let mra = regime_findings(&model, &sub_period_covariances(&model));
        let mut with = Findings::new("portfolio-optimization-strategist");
        reoptimise(&mut with, &model, Some(&mra));
        assert!(with.tables[0]
            .title()
            .contains("the regime analyst's 3 regime covariances"));
        let label = |f: &Findings| {
            f.figures
                .iter()
                .find(|x| x.key == "opt_worst_case_es99_stressed")
                .map(|x| x.label.clone())
                .unwrap()
        };
        assert!(!label(&with).contains("no regime covariances"));
        let mut without = Findings::new("portfolio-optimization-strategist");
        reoptimise(&mut without, &model, None);
        assert!(label(&without).contains("no regime covariances"));
    }

    #[test]
    fn the_regime_reader_rebuilds_the_monthly_covariances() {
        let model = sample_model();
        let covs = sub_period_covariances(&model);
        let mut mra = regime_findings(&model, &covs);
        let read = crate::personas::regime_covariances(&mra, &model.factors).unwrap();
        assert_eq!(read.len(), covs.len());
        for (a, b) in read.iter().zip(&covs) {
            assert!((a - b).abs().max() < 1e-15, "{a} vs {b}");
        }
        // A missing correlation is no regime set at all, not a guess.
        mra.figures.retain(|f| f.key != "regime_1_corr_SMB_HML");
        assert!(crate::personas::regime_covariances(&mra, &model.factors).is_none());
    }

    #[test]
    fn todays_book_in_the_optimiser_is_the_risk_engineers_book() {
        // The factor-form figures of today's weights are the model's own: the same
        // exposure and idiosyncratic variance, so the same volatility.
        let model = sample_model();
        let u = Universe::new(&model).unwrap();
        for cov in [&model.covariance_shrunk, &model.covariance_stressed] {
            let cov = from_rows(cov);
            let a = u.volatility(&u.current, &cov);
            let b = model.pnl_volatility(&cov);
            assert!((a - b).abs() < 1e-9 * b, "{a} vs {b}");
        }
    }

    #[test]
    fn a_book_above_the_position_limit_is_not_optimised() {
        let mut model = sample_model();
        let one = model.positions[0].clone();
        model.positions = vec![one; MAX_OPTIMISED_POSITIONS + 1];
        assert!(Universe::new(&model).is_err());
        let mut f = Findings::new("portfolio-optimization-strategist");
        reoptimise(&mut f, &model, None);
        assert_eq!(
            f.get("opt_positions"),
            Some((MAX_OPTIMISED_POSITIONS + 1) as f64)
        );
        assert!(f.get("opt_current_es99_stressed").is_none());
        assert!(f.charts.is_empty());
    }

    #[test]
    fn the_strategist_proposes_books_judges_them_and_plans_the_move() {
        let (portfolio, market) = crate::tests::sample();
        let (model, set) = crate::FactorWorkflow::prepare(
            &portfolio,
            Some(&market),
            &crate::tests::params(200),
            5,
        )
        .unwrap();
        let outcomes = set
            .iter()
            .map(|s| crate::evaluate_scenario(&model, s))
            .collect();
        let agg = crate::aggregate::merge(&model, outcomes);
        let f = portfolio_optimization_strategist(&model, &agg, None, None);
        for p in Proposal::ALL {
            for metric in ["es99_stressed", "oos_es99", "turnover", "expected_return"] {
                let key = format!("opt_{}_{metric}", p.key());
                assert!(f.get(&key).is_some_and(f64::is_finite), "{key}");
            }
        }
        let chart = f
            .charts
            .iter()
            .find(|c| c.key == "robust_frontier")
            .unwrap();
        assert_eq!(chart.kind, ChartKind::Scatter);
        assert_eq!(chart.labels.len(), Proposal::ALL.len() + 1);
        assert_eq!(chart.x.len(), chart.labels.len());
        assert_eq!(chart.series[0].values.len(), chart.labels.len());
        assert_eq!(
            f.get("opt_walk_forward_months"),
            Some(WALK_FORWARD_SPAN_MONTHS as f64)
        );
        // The first phase is the traded future alone, with its basis: the same notional
        // as the overlay's future-only hedge, and the overlay's stressed VaR of it
        // turned into ES by the Gaussian ES/VaR ratio.
        let notional = f.get("opt_plan_phase1_hedge_notional").unwrap();
        let overlay = f.get("overlay_future_only_notional").unwrap();
        assert!(
            (notional - overlay).abs() < 1e-6 * overlay,
            "{notional} vs {overlay}"
        );
        let var = f.get("overlay_var99_stressed_future_only").unwrap();
        let es_per_var = risk::parametric_es(1.0, 0.0, 0.99) / risk::parametric_var(1.0, 0.0, 0.99);
        let es = var * es_per_var;
        let phase1 = f.get("opt_plan_phase1_es99_stressed").unwrap();
        assert!((phase1 - es).abs() < 1e-6 * es, "{phase1} vs {es}");
        // The MktRF hedge's plan figure would be lower (no basis): the plan is not on it.
        let mut mktrf = model.clone();
        mktrf.book_exposure[0] -= f.get("hedge_notional").unwrap();
        let ideal = risk::parametric_es(
            mktrf.pnl_volatility(&from_rows(&model.covariance_stressed)),
            0.0,
            0.99,
        );
        assert!(phase1 > ideal, "{phase1} vs {ideal}");
    }

    #[test]
    fn optimisation_parameters_are_checked_and_reach_the_model() {
        let bad = crate::FactorParams {
            optimisation_max_weight: 0.0,
            optimisation_turnover: 1.5,
            ..crate::tests::params(200)
        };
        let issues = crate::FactorWorkflow::check_params(&bad);
        assert!(issues
            .iter()
            .any(|i| i.path.contains("--param optimisation_max_weight")));
        assert!(issues
            .iter()
            .any(|i| i.path.contains("--param optimisation_turnover")));
        let crossed = crate::FactorParams {
            optimisation_market_beta_min: 1.2,
            optimisation_market_beta_max: 1.0,
            ..crate::tests::params(200)
        };
        assert_eq!(crate::FactorWorkflow::check_params(&crossed).len(), 1);
        assert!(crate::FactorWorkflow::check_params(&crate::tests::params(200)).is_empty());
        let (portfolio, market) = crate::tests::sample();
        let params = crate::FactorParams {
            optimisation_max_weight: 0.07,
            ..crate::tests::params(200)
        };
        let (model, _) =
            crate::FactorWorkflow::prepare(&portfolio, Some(&market), &params, 5).unwrap();
        assert_eq!(model.optimisation.max_weight, 0.07);
    }
}
