//! Market Regime Analyst: which regime the market is in and how the book fares in each.

use crate::model::{from_rows, FactorModel};
use crate::scenarios;
use nalgebra::DMatrix;
use stresslab_analytics::covariance;
use stresslab_core::findings::{Findings, Horizon, Unit};
use stresslab_core::report::{Cell, Column, Table};

/// RiskMetrics monthly decay factor (J.P. Morgan/Reuters 1996, §5.3: 0.97 for monthly
/// data).
pub const EWMA_LAMBDA_MONTHLY: f64 = 0.97;
/// Regime thresholds on current/long-run volatility. A convention of this tool, not a
/// published constant: under 0.8× is calm, over 1.25× is stressed.
pub const CALM_BELOW: f64 = 0.8;
pub const STRESSED_ABOVE: f64 = 1.25;

fn mean_abs_offdiagonal(corr: &DMatrix<f64>) -> f64 {
    let k = corr.nrows();
    let mut sum = 0.0;
    for i in 0..k {
        for j in (i + 1)..k {
            sum += corr[(i, j)].abs();
        }
    }
    sum / (k * (k - 1) / 2) as f64
}

/// Market-regime analyst: is today calm, normal or stressed, and how far is today's
/// correlation structure from a breakdown.
pub fn market_regime_analyst(model: &FactorModel) -> Findings {
    let mut f = Findings::new("market-regime-analyst");
    let n = model.history.len();
    let k = model.factors.len();
    let all = DMatrix::from_fn(n, k, |t, j| model.history[t][j]);
    let ewma = covariance::ewma_covariance(&all, EWMA_LAMBDA_MONTHLY)
        .unwrap_or_else(|_| DMatrix::zeros(k, k));
    let long_run = covariance::sample_covariance(&all).unwrap_or_else(|_| DMatrix::zeros(k, k));
    let vol_now = f.figure(
        "market_vol_now",
        "Market factor volatility now (EWMA, annualised)",
        (ewma[(0, 0)] * 12.0).sqrt(),
        Unit::Fraction,
        Horizon::Annualised,
    );
    let vol_long = f.figure(
        "market_vol_long_run",
        "Market factor volatility, whole history (annualised)",
        (long_run[(0, 0)] * 12.0).sqrt(),
        Unit::Fraction,
        Horizon::Annualised,
    );
    let ratio = f.figure(
        "vol_ratio",
        "Current / long-run market volatility",
        vol_now / vol_long,
        Unit::Ratio,
        Horizon::Point,
    );
    let recent = DMatrix::from_fn(24, k, |t, j| model.history[n - 24 + t][j]);
    let corr_recent = covariance::sample_covariance(&recent)
        .map(|c| mean_abs_offdiagonal(&covariance::correlation_from_covariance(&c)))
        .unwrap_or(0.0);
    let corr_stressed = mean_abs_offdiagonal(&covariance::correlation_from_covariance(&from_rows(
        &model.covariance_stressed,
    )));
    f.figure(
        "mean_abs_corr_recent",
        "Mean |correlation| between factors, last 24 months",
        corr_recent,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "mean_abs_corr_stressed",
        "Mean |correlation| between factors, stressed window",
        corr_stressed,
        Unit::Ratio,
        Horizon::Point,
    );
    let regime = if ratio < CALM_BELOW {
        "calm"
    } else if ratio > STRESSED_ABOVE {
        "stressed"
    } else {
        "normal"
    };
    let trailing = scenarios::trailing_returns(model, 12);
    let crowding = scenarios::crowding_scores(model);
    f.tables.push(
        Table::new(
            "Factor trends and crowding (trailing 12 months; no crowding score for the market)",
            vec![
                Column::text("Factor"),
                Column::percent("12-month return"),
                Column::signed("Run-up z-score", 2),
                Column::signed("Book's side", 0),
                Column::signed("Crowding on the book's side", 2),
            ],
        )
        .with_rows(model.factors.iter().enumerate().map(|(j, name)| {
            let side = model.book_exposure[j].signum();
            vec![
                name.as_str().into(),
                trailing[j].into(),
                Cell::from((j > 0).then(|| crowding[j])),
                side.into(),
                Cell::from((j > 0).then(|| crowding[j] * side)),
            ]
        })),
    );
    // Crowding matters to this book where its position has ridden the trend: the
    // run-up z-score signed by the book's exposure (positive = long a rising or short a
    // falling factor — with the crowd, and hit by an unwind). A factor that fell while
    // the book is long it is not a crowded trade of this book.
    let (most_crowded, score) = (1..k)
        .map(|j| (j, crowding[j] * model.book_exposure[j].signum()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((1, 0.0));
    f.figure(
        "max_crowding_z",
        "Largest crowding z-score on the side the book holds",
        score,
        Unit::Ratio,
        Horizon::Point,
    );
    f.headline = format!(
        "The market is in a {regime} regime: volatility is {ratio:.2}× its long-run level; the stressed window was {} to {}.",
        model.stressed_window.start, model.stressed_window.end
    );
    f.recommend(
        if regime == "calm" {
            format!("Volatility is only {ratio:.2}× its long-run level: calm regimes are when normal-covariance VaR understates most; calibrate limits to the stressed window.")
        } else {
            format!("Volatility is {ratio:.2}× its long-run level ({regime} regime); re-run this stress test monthly and after any move above {STRESSED_ABOVE}×.")
        },
        &["vol_ratio"],
    );
    f.recommend(
        format!(
            "Factors co-move with mean |correlation| {corr_recent:.2} today versus {corr_stressed:.2} in the stressed window; watch for the gap closing — that is the correlation breakdown the scenarios stress.",
        ),
        &["mean_abs_corr_recent", "mean_abs_corr_stressed"],
    );
    f.recommend(
        if score > 0.0 {
            format!(
                "The book is with the crowd in {}: its position has ridden the 12-month trend (z-score {score:+.2} on the book's side, long a rising or short a falling factor), so a reversal — the crowding unwind in the scenarios — would hit it.",
                model.factors[most_crowded]
            )
        } else {
            format!(
                "The book rides no style trend (largest z-score on its side {score:+.2}): it is positioned against the recent winners, so a crowding unwind would hit others more than this book."
            )
        },
        &["max_crowding_z"],
    );
    f
}
