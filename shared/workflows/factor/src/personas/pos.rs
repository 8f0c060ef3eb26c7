//! Portfolio Optimization Strategist: hedges and re-optimised books, judged out of sample.

use crate::aggregate::FactorAggregate;
use crate::model::{from_rows, FactorModel};
use nalgebra::{DMatrix, DVector};
use stresslab_analytics::{covariance, risk, stats};
use stresslab_core::findings::{Findings, Horizon, Unit};
use stresslab_core::report::{money, Column, Table};

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

/// Walk-forward test of a hedge rule on history: for every month after the first
/// `window`, the hedge is sized on the `window` months before it only (sample
/// covariance, minimum-variance rule, capped) and applied to that month's factor P&L.
/// `residual` is each month's non-factor P&L (which no market hedge touches). Returns
/// (unhedged, hedged) monthly P&L over the out-of-sample months.
pub fn walk_forward(
    book: &[f64],
    history: &[Vec<f64>],
    residual: &[f64],
    window: usize,
) -> (Vec<f64>, Vec<f64>) {
    let k = book.len();
    let mut unhedged = Vec::new();
    let mut hedged = Vec::new();
    for t in window..history.len() {
        let x = DMatrix::from_fn(window, k, |i, j| history[t - window + i][j]);
        let Ok(cov) = covariance::sample_covariance(&x) else {
            continue;
        };
        let (_, h) = min_variance_hedge(book, &cov);
        let pnl: f64 = book
            .iter()
            .zip(&history[t])
            .map(|(b, f)| b * f)
            .sum::<f64>()
            + residual.get(t).copied().unwrap_or(0.0);
        unhedged.push(pnl);
        hedged.push(pnl - h * history[t][0]);
    }
    (unhedged, hedged)
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
    _regimes: Option<&Findings>,
) -> Findings {
    let mut f = Findings::new("portfolio-optimization-strategist");
    let cur = model.base_currency.as_str();
    let b = &model.book_exposure;
    let b_mkt = b[0];
    let stressed = from_rows(&model.covariance_stressed);
    let normal = from_rows(&model.covariance_shrunk);
    let (unconstrained, hedge) = min_variance_hedge(b, &stressed);
    let (_, hedge_normal) = min_variance_hedge(b, &normal);
    f.figure(
        "hedge_notional",
        "Market exposure to sell (minimum variance under the stressed covariance, capped at the market exposure)",
        hedge,
        Unit::Money, Horizon::Point);
    f.figure(
        "hedge_ratio",
        "Hedge ratio (of market exposure)",
        hedge / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "hedge_ratio_unconstrained",
        "Minimum-variance hedge ratio before the cap",
        unconstrained / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "hedge_ratio_normal",
        "Minimum-variance hedge ratio under the normal covariance",
        hedge_normal / b_mkt,
        Unit::Ratio,
        Horizon::Point,
    );

    // Every month of history, today's book revalued in full (factor moves plus each
    // position's replayed residual, which no market hedge removes), three hedges: none,
    // the proposal, full.
    let residual_pnl: Vec<f64> = (0..model.history.len())
        .map(|t| {
            model
                .positions
                .iter()
                .filter_map(|p| {
                    p.residual_series
                        .map(|s| p.exposure_amount * model.series_residuals[s as usize][t])
                })
                .sum()
        })
        .collect();
    let month_pnl: Vec<f64> = model
        .history
        .iter()
        .zip(&residual_pnl)
        .map(|(row, e)| b.iter().zip(row).map(|(x, r)| x * r).sum::<f64>() + e)
        .collect();
    let with = |h: f64| -> Vec<f64> {
        month_pnl
            .iter()
            .zip(&model.history)
            .map(|(p, row)| p - h * row[0])
            .collect()
    };
    let es99 = |pnl: &[f64]| risk::historical_var_es(pnl, 0.99).es;
    let history_none = f.figure(
        "history_es99_unhedged",
        "ES 99% over every month of history, unhedged",
        es99(&month_pnl),
        Unit::Money,
        Horizon::Months(1),
    );
    let history_hedged = f.figure(
        "history_es99_hedged",
        "ES 99% over every month of history, with the proposed hedge",
        es99(&with(hedge)),
        Unit::Money,
        Horizon::Months(1),
    );
    let history_full = f.figure(
        "history_es99_full_hedge",
        "ES 99% over every month of history, hedge ratio 1.0",
        es99(&with(b_mkt)),
        Unit::Money,
        Horizon::Months(1),
    );
    // Walk-forward: the hedge sized on the trailing estimation window only.
    let window = crate::model::ESTIMATION_MONTHS;
    let (oos_none, oos_hedged) = walk_forward(b, &model.history, &residual_pnl, window);
    let oos_months = f.figure(
        "walk_forward_months",
        "Out-of-sample months in the walk-forward test",
        oos_none.len() as f64,
        Unit::Count,
        Horizon::Point,
    );
    let oos_es_none = f.figure(
        "walk_forward_es99_unhedged",
        "Walk-forward ES 99%, unhedged",
        es99(&oos_none),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_es_hedged = f.figure(
        "walk_forward_es99_hedged",
        "Walk-forward ES 99%, hedge re-sized each month on the trailing window",
        es99(&oos_hedged),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_vol_none = f.figure(
        "walk_forward_volatility_unhedged",
        "Walk-forward monthly volatility, unhedged",
        stats::std_dev(&oos_none),
        Unit::Money,
        Horizon::Months(1),
    );
    let oos_vol_hedged = f.figure(
        "walk_forward_volatility_hedged",
        "Walk-forward monthly volatility, hedged",
        stats::std_dev(&oos_hedged),
        Unit::Money,
        Horizon::Months(1),
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
    let first = model.history_dates.first().map_or("", String::as_str);
    let last = model.history_dates.last().map_or("", String::as_str);
    f.tables.push(
        Table::new(
            &format!(
                "The market hedge, judged in and out of sample (monthly P&L of today's book, factor and residual moves; history {first} to {last})"
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
                ("Walk-forward ES 99% (out of sample)", oos_es_none, oos_es_hedged),
                ("Walk-forward volatility (out of sample)", oos_vol_none, oos_vol_hedged),
                ("ES 99% over all of history", history_none, history_hedged),
                ("VaR 99% (normal covariance)", vn0, vn1),
                ("VaR 99% (stressed covariance)", vs0, vs1),
                ("ES 99% of the one-sided scenario set", es_before, es_after),
            ]
            .iter()
            .map(|&(name, a, b)| vec![name.into(), a.into(), b.into(), (b / a - 1.0).into()]),
        )
        .one_money_scale(),
    );
    f.headline = format!(
        "A minimum-variance market hedge under the stressed covariance sells {} ({:.2} of market exposure); out of sample over {oos_months:.0} months it moves ES 99% from {} to {}.",
        money(hedge, cur),
        hedge / b_mkt,
        money(oos_es_none, cur),
        money(oos_es_hedged, cur)
    );
    f.recommend(
        format!(
            "Hedge {} of market exposure (ratio {:.2}; {:.2} before the cap at the book's exposure, {:.2} under the normal covariance). Judged where it was not fitted — re-sized each month on the trailing {window} months — ES 99% goes from {} to {} and monthly volatility from {} to {}.",
            money(hedge, cur),
            hedge / b_mkt,
            unconstrained / b_mkt,
            hedge_normal / b_mkt,
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
            "walk_forward_es99_unhedged",
            "walk_forward_es99_hedged",
            "walk_forward_volatility_unhedged",
            "walk_forward_volatility_hedged",
        ],
    );
    f.recommend(
        format!(
            "Over every month of history the proposed hedge leaves ES 99% at {} (unhedged {}, a full 1.0 hedge {}); in the best 5% of market months it gives up {} a month on average — the price of the protection.",
            money(history_hedged, cur),
            money(history_none, cur),
            money(history_full, cur),
            money(rally_cost, cur)
        ),
        &["history_es99_hedged", "history_es99_unhedged", "history_es99_full_hedge", "rally_cost"],
    );
    f.recommend(
        format!(
            "Not yet in these figures: carry, roll and margin of the futures, and the basis between the market factor and the index future traded; the one-sided scenario set (ES 99% {} → {}) flatters any hedge and is shown for completeness only.",
            money(es_before, cur),
            money(es_after, cur)
        ),
        &["es99_scenarios_before", "es99_scenarios_after"],
    );
    crate::instruments::hedge_overlay_findings(&mut f, model);
    f
}
