//! Hedging the book's factor exposure with instruments that can actually be traded.
//!
//! MktRF, SMB, HML and Mom are portfolios on paper: nobody can sell "the market factor".
//! What a desk sells is an index future (the E-mini S&P 500) or an exchange-traded fund
//! (the iShares MSCI USA factor ETFs). Each tracks the factors only in part; what it
//! does not track is the **basis**, and a hedge sized as if the instrument were the
//! factor overstates its benefit. This module
//! - lists the instruments ([`CATALOGUE`]) with their cost and margin assumptions;
//! - estimates, once per run, each instrument's factor betas (OLS, Newey-West t), its
//!   residual ("basis") volatility and R² on the months its history overlaps the
//!   factors ([`estimate_instruments`]);
//! - sizes an overlay that minimises the hedged book's variance under the stressed
//!   covariance **including** each instrument's basis variance, optionally penalising
//!   cost, and never leaving the book net short the market unless asked
//!   ([`size_overlay`]);
//! - judges the index-future hedge out of sample, walk-forward over its 1990–2017
//!   history ([`walk_forward_future`]);
//! - writes the strategist's overlay findings ([`hedge_overlay_findings`]).
//!
//! Returns used: `SP500` is the S&P 500 *price* index's month-end to month-end return;
//! the ETF columns are total returns (adjusted closes). Each is taken in excess of RF.
//! A future earns the index's total return less financing (cost of carry: F = S e^{(r−q)T},
//! so its return is ≈ price return − (RF − dividend yield)); the price return less RF
//! therefore differs from the future by the dividend yield, a near-constant drift that
//! the regression intercept absorbs (≈ −1.9 % a year on the sample), and from MktRF by
//! index composition (500 large caps vs all CRSP stocks) — the residual, the basis.

use crate::model::{from_rows, FactorModel, FACTORS};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use stresslab_analytics::{covariance, optimize, regression, risk, stats, AnalyticsError};
use stresslab_core::findings::{Findings, Horizon, Unit};
use stresslab_core::market_data::MarketData;
use stresslab_core::report::{money, pct, Column, Table};

/// How an instrument is held, which sets its costs and margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    IndexFuture,
    Etf,
}

/// One tradable hedge and the market-data column that replicates its return.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstrumentSpec {
    pub column: &'static str,
    pub ticker: &'static str,
    pub name: &'static str,
    pub kind: InstrumentKind,
    /// The model factor the instrument is bought or sold for, if one (index into
    /// [`FACTORS`]); quality and minimum volatility are not among the four.
    pub target_factor: Option<usize>,
}

/// The instruments considered. Replicating returns: the S&P 500 price index for the
/// E-mini future, adjusted closes for the ETFs — Yahoo Finance series as shipped in
/// skfolio (BSD-3); see events/inputs/README.md.
pub const CATALOGUE: [InstrumentSpec; 6] = [
    InstrumentSpec {
        column: "SP500",
        ticker: "ES",
        name: "E-mini S&P 500 future",
        kind: InstrumentKind::IndexFuture,
        target_factor: Some(0),
    },
    InstrumentSpec {
        column: "MTUM",
        ticker: "MTUM",
        name: "iShares MSCI USA Momentum Factor ETF",
        kind: InstrumentKind::Etf,
        target_factor: Some(3),
    },
    InstrumentSpec {
        column: "QUAL",
        ticker: "QUAL",
        name: "iShares MSCI USA Quality Factor ETF",
        kind: InstrumentKind::Etf,
        target_factor: None,
    },
    InstrumentSpec {
        column: "SIZE",
        ticker: "SIZE",
        name: "iShares MSCI USA Size Factor ETF",
        kind: InstrumentKind::Etf,
        target_factor: Some(1),
    },
    InstrumentSpec {
        column: "USMV",
        ticker: "USMV",
        name: "iShares MSCI USA Min Vol Factor ETF",
        kind: InstrumentKind::Etf,
        target_factor: None,
    },
    InstrumentSpec {
        column: "VLUE",
        ticker: "VLUE",
        name: "iShares MSCI USA Value Factor ETF",
        kind: InstrumentKind::Etf,
        target_factor: Some(2),
    },
];

/// ETF expense ratio, a fraction of the holding a year: 0.15 % for each of the iShares
/// MSCI USA factor ETFs above (BlackRock/iShares prospectus and fund pages; USMV's is
/// 0.15 % gross). The fund deducts it from its NAV, so it is already inside the ETF
/// returns used here; it is shown as the running cost of *holding* an ETF (buying one
/// to hedge a short factor tilt). A short seller pays the fund's return, net of it.
pub const ETF_EXPENSE_RATIO: f64 = 0.0015;
/// Fee to borrow an ETF for a short sale, a fraction of the short's value a year.
/// **Assumption**: 0.30 %, a general-collateral rate for a large, liquid ETF; hard-to-
/// borrow names cost far more, and the rate is set daily by the lender.
pub const ETF_BORROW_FEE: f64 = 0.0030;
/// Initial margin on an ETF position, a fraction of its value: Federal Reserve
/// Regulation T (12 CFR 220.12) requires 150 % of a short sale's value to be deposited
/// (the proceeds plus 50 %), and 50 % of a margined purchase. Brokers may ask more.
pub const ETF_MARGIN: f64 = 0.50;
/// E-mini S&P 500 contracts roll quarterly (March, June, September, December).
pub const FUTURES_ROLLS_PER_YEAR: f64 = 4.0;
/// Cost of one roll, a fraction of notional. **Assumption**: 0.5 bp — the calendar
/// spread's bid-ask plus commissions; the spread's richness or cheapness to fair
/// value, which varies by quarter, is not modelled. The financing inside the future
/// (RF − dividend yield, the carry) is not a cost here: it is how the future's price
/// converges, and it is inside the basis between the replicating column and MktRF.
pub const FUTURES_ROLL_COST: f64 = 0.00005;
/// E-mini S&P 500 initial margin, a fraction of notional. **Assumption**: 6 % — CME
/// Group sets it (SPAN) and changes it with volatility; it has been roughly 5–7 % of a
/// contract's notional ($50 × the index) in recent years and rises in crises. Margin is
/// cash tied up (funding and liquidity), not a P&L cost; a short future also pays
/// variation margin daily when the market rallies.
pub const FUTURES_INITIAL_MARGIN: f64 = 0.06;
/// Fewest overlapping months for an instrument's betas to be estimated at all (an
/// intercept and four slopes on fewer months is noise).
pub const MIN_INSTRUMENT_MONTHS: usize = 24;
/// Fewest out-of-sample months for a walk-forward ES 99% to be quoted: at 100 the tail
/// is a single month (the figure says how many it rests on).
pub const MIN_OOS_MONTHS: usize = 100;

impl InstrumentSpec {
    /// Running cost a year per unit of notional; `short` is the side held.
    pub fn annual_cost(&self, short: bool) -> f64 {
        match (self.kind, short) {
            (InstrumentKind::IndexFuture, _) => FUTURES_ROLLS_PER_YEAR * FUTURES_ROLL_COST,
            (InstrumentKind::Etf, true) => ETF_BORROW_FEE,
            (InstrumentKind::Etf, false) => ETF_EXPENSE_RATIO,
        }
    }
    /// Initial margin (cash tied up) per unit of notional.
    pub fn margin(&self) -> f64 {
        match self.kind {
            InstrumentKind::IndexFuture => FUTURES_INITIAL_MARGIN,
            InstrumentKind::Etf => ETF_MARGIN,
        }
    }
    pub fn by_ticker(ticker: &str) -> Option<&'static InstrumentSpec> {
        CATALOGUE.iter().find(|s| s.ticker == ticker)
    }
}

/// An instrument's fitted factor model, `r − RF = α + βᵀf + u`, on its own months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgeInstrument {
    pub ticker: String,
    /// Betas to [`FACTORS`].
    pub betas: Vec<f64>,
    /// Newey-West (HAC) t-statistics of the betas, automatic lag.
    pub t_stats: Vec<f64>,
    pub newey_west_lags: usize,
    /// Monthly intercept (for the price-return SP500 column: mostly minus the dividend
    /// yield, which the future's price carries back — not a hedge cost).
    pub alpha: f64,
    pub r_squared: f64,
    /// Monthly residual (basis) volatility, a fraction.
    pub basis_vol: f64,
    pub months: usize,
    /// Row of the model history where the instrument's returns start.
    pub start: usize,
    /// Monthly excess returns (over RF) from `start` to the end of the history.
    pub excess_returns: Vec<f64>,
}

impl HedgeInstrument {
    pub fn spec(&self) -> &'static InstrumentSpec {
        InstrumentSpec::by_ticker(&self.ticker).expect("instruments come from the catalogue")
    }
}

/// What the run knows about hedge instruments: those estimated, and those left out
/// with the reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HedgeInstruments {
    pub estimated: Vec<HedgeInstrument>,
    /// (ticker, reason)
    pub skipped: Vec<(String, String)>,
}

/// Estimate every catalogue instrument whose column the market data has, by OLS of its
/// excess return on the four factors over the months it exists (Newey & West 1987 t,
/// automatic lag, as the factor-modeling specialist). Missing columns, short histories
/// and failed fits are skipped with a stated reason, never an error: a user's own market
/// data need not carry instruments. `history` and `rf` span the market data's rows.
pub fn estimate_instruments(
    market: &MarketData,
    history: &[Vec<f64>],
    rf: &[f64],
) -> HedgeInstruments {
    let mut out = HedgeInstruments::default();
    let n = history.len();
    for spec in &CATALOGUE {
        let skip = |reason: String| (spec.ticker.to_string(), reason);
        let (Some(col), Some(start)) = (
            market.column(spec.column),
            market.first_observation(spec.column),
        ) else {
            out.skipped.push(skip(format!(
                "the market data has no {} column",
                spec.column
            )));
            continue;
        };
        let months = n.saturating_sub(start);
        if months < MIN_INSTRUMENT_MONTHS {
            out.skipped.push(skip(format!(
                "{months} months of {} history; at least {MIN_INSTRUMENT_MONTHS} are needed",
                spec.column
            )));
            continue;
        }
        let excess: Vec<f64> = (start..n).map(|t| col[t] - rf[t]).collect();
        let x = DMatrix::from_fn(months, FACTORS.len(), |t, j| history[start + t][j]);
        match regression::ols_newey_west(&excess, &x, None, false) {
            Ok(hac) if hac.fit.residual_variance.is_finite() => {
                out.estimated.push(HedgeInstrument {
                    ticker: spec.ticker.into(),
                    betas: hac.fit.betas.clone(),
                    t_stats: hac.hac_t_stats.clone(),
                    newey_west_lags: hac.lags,
                    alpha: hac.fit.intercept,
                    r_squared: hac.fit.r_squared,
                    basis_vol: hac.fit.residual_variance.sqrt(),
                    months,
                    start,
                    excess_returns: excess,
                })
            }
            Ok(_) => out
                .skipped
                .push(skip("the regression is not finite".into())),
            Err(e) => out
                .skipped
                .push(skip(format!("the regression failed: {e}"))),
        }
    }
    out
}

/// What an overlay sizing needs of each instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgeLeg {
    pub betas: Vec<f64>,
    /// Monthly basis variance (residual variance, a fraction²).
    pub basis_variance: f64,
    /// Cost a year per unit of notional held short / held long.
    pub cost_short: f64,
    pub cost_long: f64,
}

impl From<&HedgeInstrument> for HedgeLeg {
    fn from(i: &HedgeInstrument) -> Self {
        HedgeLeg {
            betas: i.betas.clone(),
            basis_variance: i.basis_vol.powi(2),
            cost_short: i.spec().annual_cost(true),
            cost_long: i.spec().annual_cost(false),
        }
    }
}

/// Monthly variance of the hedged book's factor and basis P&L: `(b − Bh)ᵀΣ(b − Bh) +
/// Σᵢ hᵢ² σ²_basis,i`, `h` the notionals sold (negative = bought). Idiosyncratic risk
/// of the book is not included (no overlay touches it).
pub fn hedged_variance(book: &[f64], cov: &DMatrix<f64>, legs: &[HedgeLeg], h: &[f64]) -> f64 {
    let residual = DVector::from_fn(book.len(), |j, _| {
        book[j] - legs.iter().zip(h).map(|(l, x)| l.betas[j] * x).sum::<f64>()
    });
    (residual.transpose() * cov * &residual)[(0, 0)]
        + legs
            .iter()
            .zip(h)
            .map(|(l, x)| x * x * l.basis_variance)
            .sum::<f64>()
}

/// The overlay: notionals `h` to sell (negative = buy) of each leg that minimise
/// `Var(b − Bh) under Σ + Σᵢ hᵢ² σ²_basis,i + λ Σᵢ costᵢ(hᵢ)` — the minimum-variance
/// hedge with several instruments and basis risk (Ederington 1979, Journal of Finance
/// 34(1); Anderson & Danthine 1981, "Cross hedging", JPE 89(6)); basis residuals are
/// taken independent of the factors and of each other (they are regression residuals).
/// Without cost or cap: `h* = (BᵀΣB + S)⁻¹ BᵀΣ b`. `cost_penalty` λ is the monthly P&L
/// variance (base currency²) worth one unit of annual cost (0: pure minimum variance).
/// Unless `allow_net_short`, the hedged market exposure `b₀ − Σᵢ β_{i,0} hᵢ` keeps the
/// sign of the book's (a long book is never turned net short the market). Solved by
/// Clarabel ([`optimize::min_quadratic_with_costs`]) on a problem scaled to the book.
pub fn size_overlay(
    book: &[f64],
    cov: &DMatrix<f64>,
    legs: &[HedgeLeg],
    cost_penalty: f64,
    allow_net_short: bool,
) -> Result<Vec<f64>, AnalyticsError> {
    let m = legs.len();
    if m == 0 {
        return Ok(Vec::new());
    }
    let k = book.len();
    // Work in units of the book's largest exposure: the solver's tolerances are absolute.
    let scale = book.iter().fold(0.0_f64, |a, x| a.max(x.abs()));
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let b = DVector::from_fn(k, |j, _| book[j] / scale);
    let loadings = DMatrix::from_fn(k, m, |j, i| legs[i].betas[j]);
    let sigma_b = cov * &b;
    let mut gram = loadings.transpose() * cov * &loadings;
    for (i, l) in legs.iter().enumerate() {
        gram[(i, i)] += l.basis_variance;
    }
    let gram = (&gram + gram.transpose()) * 0.5;
    let linear = loadings.transpose() * sigma_b;
    let up: Vec<f64> = legs
        .iter()
        .map(|l| cost_penalty * l.cost_short / scale)
        .collect();
    let down: Vec<f64> = legs
        .iter()
        .map(|l| cost_penalty * l.cost_long / scale)
        .collect();
    let mut rows = Vec::new();
    if !allow_net_short {
        let sign = if book[0] >= 0.0 { 1.0 } else { -1.0 };
        rows.push((
            legs.iter().map(|l| sign * l.betas[0]).collect(),
            sign * b[0],
        ));
    }
    let opt = optimize::min_quadratic_with_costs(&gram, &linear, &up, &down, &rows)?;
    Ok(opt.weights.iter().map(|h| h * scale).collect())
}

/// Out-of-sample record of the index-future hedge.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkForward {
    pub first_month: usize,
    /// Monthly P&L of today's book (factor and residual moves), unhedged.
    pub unhedged: Vec<f64>,
    /// The same with the hedge re-sized each month on the trailing window, its actual
    /// return (basis included; the trailing intercept — the dividend drift — removed),
    /// less its running cost.
    pub hedged: Vec<f64>,
    /// The same hedge as if its instrument had no basis (only its factor part).
    pub without_basis: Vec<f64>,
    /// Hedge ratio each month (notional over the book's market exposure).
    pub ratios: Vec<f64>,
}

/// Monthly P&L of today's holdings in every history month: factor moves on today's
/// exposures plus the replayed residuals, `b·f_t + Σᵢ Aᵢ εᵢₜ` — the book's own excess
/// return series less its (constant) alpha, as the model holds it.
pub fn book_pnl(book: &[f64], history: &[Vec<f64>], residual_pnl: &[f64]) -> Vec<f64> {
    history
        .iter()
        .enumerate()
        .map(|(t, f)| {
            book.iter().zip(f).map(|(b, x)| b * x).sum::<f64>()
                + residual_pnl.get(t).copied().unwrap_or(0.0)
        })
        .collect()
}

/// The book's factor exposures as they would have been estimated on the history
/// months `rows` only: OLS (with intercept) of the book's monthly P&L on those months'
/// factor returns. The model's residuals are `r − α − β·f` with today's betas, so over
/// any window the book's P&L is its actual return less a constant, and the slope is the
/// book beta that window's data give (a trailing estimate: no month after `rows`).
/// None if the regression cannot be fitted (too few months, singular factors).
pub fn trailing_book_exposure(
    book_pnl: &[f64],
    history: &[Vec<f64>],
    rows: Range<usize>,
) -> Option<Vec<f64>> {
    let k = history.first()?.len();
    let x = DMatrix::from_fn(rows.len(), k, |i, j| history[rows.start + i][j]);
    regression::ols(&book_pnl[rows], &x)
        .ok()
        .map(|fit| fit.betas)
}

/// Walk-forward test (no look-ahead): for each month `t` after `window` months of the
/// instrument's history, estimate its betas and basis on months `t−window..t`, the
/// book's exposures ([`trailing_book_exposure`]) and the factor covariance on the same
/// months, size the overlay ([`size_overlay`], capped, no cost penalty), and apply it
/// to month `t`. `residual_pnl` is the book's non-factor P&L by history month (which
/// no factor hedge touches); today's holdings are replayed, their betas are not.
pub fn walk_forward_future(
    book: &[f64],
    history: &[Vec<f64>],
    residual_pnl: &[f64],
    instrument: &HedgeInstrument,
    window: usize,
) -> WalkForward {
    let k = book.len();
    let spec = instrument.spec();
    let first_month = instrument.start + window;
    let mut w = WalkForward {
        first_month,
        unhedged: Vec::new(),
        hedged: Vec::new(),
        without_basis: Vec::new(),
        ratios: Vec::new(),
    };
    let pnl_all = book_pnl(book, history, residual_pnl);
    for t in first_month..history.len() {
        let rows = t - window..t;
        let x = DMatrix::from_fn(window, k, |i, j| history[rows.start + i][j]);
        let y = &instrument.excess_returns[rows.start - instrument.start..t - instrument.start];
        let (Ok(fit), Ok(cov), Some(trailing)) = (
            regression::ols(y, &x),
            covariance::sample_covariance(&x),
            trailing_book_exposure(&pnl_all, history, rows.clone()),
        ) else {
            continue;
        };
        let leg = HedgeLeg {
            betas: fit.betas.clone(),
            basis_variance: fit.residual_variance,
            cost_short: spec.annual_cost(true),
            cost_long: spec.annual_cost(false),
        };
        let Ok(h) = size_overlay(&trailing, &cov, std::slice::from_ref(&leg), 0.0, false) else {
            continue;
        };
        let h = h[0];
        let f = &history[t];
        let factor_part: f64 = fit.betas.iter().zip(f).map(|(b, x)| b * x).sum();
        let actual = instrument.excess_returns[t - instrument.start] - fit.intercept;
        let cost = h.abs() * spec.annual_cost(h > 0.0) / 12.0;
        let pnl = pnl_all[t];
        w.unhedged.push(pnl);
        w.hedged.push(pnl - h * actual - cost);
        w.without_basis.push(pnl - h * factor_part - cost);
        w.ratios.push(if trailing[0] != 0.0 {
            h / trailing[0]
        } else {
            0.0
        });
    }
    w
}

/// The strategist's factor-hedge overlay with traded instruments: each instrument's
/// betas and basis, the overlay sized under the stressed covariance (index future
/// alone, then with the factor ETFs), per instrument its notional, cost, margin and
/// stressed VaR 99% reduction per unit of cost, and the future judged out of sample.
pub fn hedge_overlay_findings(f: &mut Findings, model: &FactorModel) {
    let cur = model.base_currency.as_str();
    let inst = &model.hedge_instruments;
    let available = f.figure(
        "overlay_instruments",
        "Traded hedge instruments with enough history to estimate (index future, factor ETFs)",
        inst.estimated.len() as f64,
        Unit::Count,
        Horizon::Point,
    );
    let skipped: Vec<String> = inst
        .skipped
        .iter()
        .map(|(t, r)| format!("{t}: {r}"))
        .collect();
    if available == 0.0 {
        f.recommend(
            format!(
                "No overlay with traded instruments is sized: the market data carries none with enough history ({}). Add monthly returns of the S&P 500 (SP500) and the iShares factor ETFs to size one — hedging the factor series themselves is not possible.",
                skipped.join("; ")
            ),
            &["overlay_instruments"],
        );
        return;
    }
    let b = &model.book_exposure;
    let b_mkt = b[0];
    let stressed = from_rows(&model.covariance_stressed);
    let all: Vec<&HedgeInstrument> = inst.estimated.iter().collect();
    let legs: Vec<HedgeLeg> = all.iter().map(|i| HedgeLeg::from(*i)).collect();
    let future = all
        .iter()
        .position(|i| i.spec().kind == InstrumentKind::IndexFuture);
    let var99 = |h: &[f64], legs: &[HedgeLeg]| {
        let v = hedged_variance(b, &stressed, legs, h) + model.idiosyncratic_variance;
        risk::parametric_var(v.max(0.0).sqrt(), 0.0, 0.99)
    };
    let before = f.figure(
        "overlay_var99_stressed_unhedged",
        "Stressed VaR 99% of the book without an overlay (parametric, stressed covariance, idiosyncratic included)",
        var99(&[], &[]),
        Unit::Money,
        Horizon::Months(1),
    );
    let sized = size_overlay(b, &stressed, &legs, 0.0, false);
    let future_only = future.map(|i| {
        (
            i,
            size_overlay(b, &stressed, std::slice::from_ref(&legs[i]), 0.0, false),
        )
    });
    let Ok(h) = sized else {
        f.recommend(
            format!(
                "The overlay could not be sized ({}); stressed VaR 99% stays {}.",
                sized.err().map(|e| e.to_string()).unwrap_or_default(),
                money(before, cur)
            ),
            &["overlay_var99_stressed_unhedged"],
        );
        return;
    };
    let cost_of = |i: usize, x: f64| x.abs() * all[i].spec().annual_cost(x > 0.0);
    let after_all = f.figure(
        "overlay_var99_stressed_all",
        "Stressed VaR 99% with the overlay over all instruments (basis risk included)",
        var99(&h, &legs),
        Unit::Money,
        Horizon::Months(1),
    );
    let cost_all = f.figure(
        "overlay_annual_cost_all",
        "Annual running cost of the overlay (roll, borrow fees, expense ratios; assumptions stated)",
        (0..all.len()).map(|i| cost_of(i, h[i])).sum(),
        Unit::Money,
        Horizon::Annualised,
    );
    let margin_all = f.figure(
        "overlay_margin_all",
        "Initial margin of the overlay: cash tied up, not a P&L cost",
        (0..all.len())
            .map(|i| h[i].abs() * all[i].spec().margin())
            .sum(),
        Unit::Money,
        Horizon::Point,
    );
    let market_after = f.figure(
        "overlay_market_exposure_after",
        "Book's market (MktRF) exposure after the overlay (capped: never net short)",
        b_mkt - (0..all.len()).map(|i| all[i].betas[0] * h[i]).sum::<f64>(),
        Unit::Money,
        Horizon::Point,
    );
    let mut table = Table::new(
        "Factor-hedge overlay with traded instruments (sized on the stressed covariance with each instrument's basis; sell = positive notional)",
        vec![
            Column::text("Instrument"),
            Column::text("Side"),
            Column::money("Notional", cur),
            Column::number("Hedge ratio (of market exposure)", 2),
            Column::signed("Beta MktRF", 2),
            Column::text("Beta to its target factor (NW t)"),
            Column::percent("Basis vol a year"),
            Column::number("Months", 0),
            Column::money("Annual cost", cur),
            Column::money("Margin (cash tied up)", cur),
            Column::money("Stressed VaR 99% reduction, 1 month (each instrument: incremental, given the rest; last row: the whole overlay, not the sum)", cur),
            Column::number("VaR reduction per unit of annual cost", 1),
        ],
    );
    let mut per_cost = Vec::with_capacity(all.len());
    for (i, ins) in all.iter().enumerate() {
        let spec = ins.spec();
        let key = |what: &str| format!("overlay_{}_{what}", spec.ticker.to_lowercase());
        let without: Vec<f64> = (0..h.len())
            .map(|j| if j == i { 0.0 } else { h[j] })
            .collect();
        let notional = f.figure(
            &key("notional"),
            &format!("{} notional sold (negative = bought)", spec.name),
            h[i],
            Unit::Money,
            Horizon::Point,
        );
        let cost = f.figure(
            &key("annual_cost"),
            &format!("{} annual running cost", spec.name),
            cost_of(i, h[i]),
            Unit::Money,
            Horizon::Annualised,
        );
        let margin = f.figure(
            &key("margin"),
            &format!("{} initial margin (cash tied up)", spec.name),
            h[i].abs() * spec.margin(),
            Unit::Money,
            Horizon::Point,
        );
        let reduction = f.figure(
            &key("var99_reduction"),
            &format!(
                "Stressed VaR 99% reduction from {} given the rest of the overlay (incremental)",
                spec.name
            ),
            var99(&without, &legs) - after_all,
            Unit::Money,
            Horizon::Months(1),
        );
        let ratio = f.figure(
            &key("reduction_per_cost"),
            &format!(
                "{}: stressed 1-month VaR 99% reduction per unit of annual cost",
                spec.name
            ),
            if cost > 0.0 { reduction / cost } else { 0.0 },
            Unit::Ratio,
            Horizon::Point,
        );
        per_cost.push(ratio);
        f.figure(
            &key("months"),
            &format!("Months of {} history behind its betas", spec.column),
            ins.months as f64,
            Unit::Count,
            Horizon::Point,
        );
        f.figure(
            &key("basis_vol"),
            &format!(
                "{} basis volatility against the four factors (residual, annualised, in-sample)",
                spec.name
            ),
            ins.basis_vol * 12f64.sqrt(),
            Unit::Fraction,
            Horizon::Annualised,
        );
        f.figure(
            &key("r_squared"),
            &format!("{} R² on the four factors (in-sample)", spec.name),
            ins.r_squared,
            Unit::Fraction,
            Horizon::Point,
        );
        let target = spec
            .target_factor
            .map(|j| {
                format!(
                    "{:+.2} {} (t {:.1})",
                    ins.betas[j], FACTORS[j], ins.t_stats[j]
                )
            })
            .unwrap_or_else(|| "none of the four".into());
        table.row(vec![
            format!("{} ({})", spec.name, spec.ticker).into(),
            if notional > 0.0 { "sell" } else { "buy" }.into(),
            notional.abs().into(),
            if b_mkt != 0.0 {
                (notional.abs() / b_mkt.abs()).into()
            } else {
                None::<f64>.into()
            },
            ins.betas[0].into(),
            target.into(),
            (ins.basis_vol * 12f64.sqrt()).into(),
            (ins.months as f64).into(),
            cost.into(),
            margin.into(),
            reduction.into(),
            if cost > 0.0 {
                ratio.into()
            } else {
                None::<f64>.into()
            },
        ]);
    }
    table.row(vec![
        "Overlay in all (reduction: whole overlay against none)".into(),
        "".into(),
        (0..h.len()).map(|i| h[i].abs()).sum::<f64>().into(),
        None::<f64>.into(),
        None::<f64>.into(),
        "".into(),
        None::<f64>.into(),
        None::<f64>.into(),
        cost_all.into(),
        margin_all.into(),
        (before - after_all).into(),
        if cost_all > 0.0 {
            ((before - after_all) / cost_all).into()
        } else {
            None::<f64>.into()
        },
    ]);
    f.tables.push(table);

    let etf_months = all
        .iter()
        .filter(|x| x.spec().kind == InstrumentKind::Etf)
        .map(|x| x.months)
        .min();
    // The future alone, and what the ETFs add on top of it.
    if let Some((i, Ok(hf))) = future_only {
        let spec = all[i].spec();
        let hf = hf[0];
        let after_future = f.figure(
            "overlay_var99_stressed_future_only",
            "Stressed VaR 99% with the index future alone (basis included)",
            var99(&[hf], std::slice::from_ref(&legs[i])),
            Unit::Money,
            Horizon::Months(1),
        );
        let uncapped = size_overlay(b, &stressed, std::slice::from_ref(&legs[i]), 0.0, true)
            .map_or(f64::NAN, |h| h[0]);
        let uncapped_ratio = f.figure(
            "overlay_future_only_ratio_uncapped",
            "E-mini notional over market exposure that minimum variance would sell without the never-net-short cap",
            uncapped / b_mkt,
            Unit::Ratio,
            Horizon::Point,
        );
        let notional_future = f.figure(
            "overlay_future_only_notional",
            "E-mini S&P 500 notional sold when it is the only hedge",
            hf,
            Unit::Money,
            Horizon::Point,
        );
        let cost_future = f.figure(
            "overlay_annual_cost_future_only",
            "Annual roll cost of the future-only hedge (assumption: 0.5 bp a quarterly roll)",
            cost_of(i, hf),
            Unit::Money,
            Horizon::Annualised,
        );
        let margin_future = f.figure(
            "overlay_margin_future_only",
            "Initial margin of the future-only hedge (assumption: 6% of notional; cash tied up, not a cost)",
            hf.abs() * spec.margin(),
            Unit::Money,
            Horizon::Point,
        );
        let etf_extra = f.figure(
            "overlay_etf_extra_reduction",
            "Further stressed VaR 99% reduction from adding the factor ETFs to the future",
            after_future - after_all,
            Unit::Money,
            Horizon::Months(1),
        );
        let etf_extra_cost = f.figure(
            "overlay_etf_extra_cost",
            "Extra annual cost of adding the factor ETFs",
            cost_all - cost_future,
            Unit::Money,
            Horizon::Annualised,
        );
        // What the future does to every factor exposure: it carries the S&P 500's
        // style betas, so selling it moves the style tilts too.
        let after_exposure: Vec<f64> = (0..b.len()).map(|j| b[j] - all[i].betas[j] * hf).collect();
        let mut exposures = Table::new(
            "The book's factor exposures before and after the hedge (sell = the future's betas × notional taken off each exposure; in-sample betas)",
            vec![
                Column::text("Factor"),
                Column::money("Before", cur),
                Column::signed("Future's beta", 3),
                Column::money("After the E-mini hedge", cur),
                Column::percent("Change, E-mini"),
                Column::money("After the overlay over all instruments", cur),
            ],
        );
        for (j, name) in FACTORS.iter().enumerate().take(b.len()) {
            f.figure(
                &format!("overlay_exposure_before_{}", name.to_lowercase()),
                &format!("Book's {name} exposure before any hedge (in-sample betas)"),
                b[j],
                Unit::Money,
                Horizon::Point,
            );
            let after = f.figure(
                &format!("overlay_future_only_exposure_{}", name.to_lowercase()),
                &format!("Book's {name} exposure after the E-mini hedge (in-sample betas)"),
                after_exposure[j],
                Unit::Money,
                Horizon::Point,
            );
            let after_all_j = b[j] - (0..all.len()).map(|x| all[x].betas[j] * h[x]).sum::<f64>();
            exposures.row(vec![
                (*name).into(),
                b[j].into(),
                all[i].betas[j].into(),
                after.into(),
                if b[j] != 0.0 {
                    (after / b[j] - 1.0).into()
                } else {
                    None::<f64>.into()
                },
                after_all_j.into(),
            ]);
        }
        f.tables.push(exposures);
        // The style exposure the future moves most, relative to where it was.
        let (worst, _) = (1..b.len()).fold((1, 0.0_f64), |(w, m), j| {
            let moved = (after_exposure[j] - b[j]).abs();
            if moved > m {
                (j, moved)
            } else {
                (w, m)
            }
        });
        let ins = all[i];
        let months = ins.months;
        let basis = ins.basis_vol * 12f64.sqrt();
        f.recommend(
            format!(
                "Hedge with the instrument that exists: sell {} of E-mini S&P 500 futures ({:.2}× the book's {} market exposure, which brings the hedged market exposure to the cap at zero; uncapped, minimum variance would sell {uncapped_ratio:.2}×). Against MktRF the S&P 500 has beta {:.3}, R² {:.3} and a basis of {} a year over {months} months; sized with that basis under the stressed covariance it takes stressed VaR 99% (1 month) from {} to {}, for {} a year of roll cost and {} of initial margin tied up (cash, not a cost). It also moves the style exposures: the S&P 500's {} beta is {:+.3}, so the book's {} exposure goes from {} to {} ({}); book exposures after the hedge: {}.",
                money(notional_future, cur),
                notional_future / b_mkt,
                money(b_mkt, cur),
                ins.betas[0],
                ins.r_squared,
                pct(basis),
                money(before, cur),
                money(after_future, cur),
                money(cost_future, cur),
                money(margin_future, cur),
                FACTORS[worst],
                ins.betas[worst],
                FACTORS[worst],
                money(b[worst], cur),
                money(after_exposure[worst], cur),
                if b[worst] != 0.0 {
                    format!("{:+.0}%", 100.0 * (after_exposure[worst] / b[worst] - 1.0))
                } else {
                    "from zero".to_string()
                },
                FACTORS
                    .iter()
                    .zip(&after_exposure)
                    .map(|(n, x)| format!("{n} {}", money(*x, cur)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[
                "overlay_exposure_before_mktrf",
                "overlay_exposure_before_smb",
                "overlay_exposure_before_hml",
                "overlay_exposure_before_mom",
                "overlay_future_only_exposure_mktrf",
                "overlay_future_only_exposure_smb",
                "overlay_future_only_exposure_hml",
                "overlay_future_only_exposure_mom",
                "overlay_future_only_notional",
                "overlay_future_only_ratio_uncapped",
                "overlay_es_months",
                "overlay_es_basis_vol",
                "overlay_es_r_squared",
                "overlay_var99_stressed_unhedged",
                "overlay_var99_stressed_future_only",
                "overlay_annual_cost_future_only",
                "overlay_margin_future_only",
            ],
        );
        if let Some(etf_months) = etf_months {
            let etf_per_cost = if etf_extra_cost > 0.0 {
                etf_extra / etf_extra_cost
            } else {
                0.0
            };
            f.figure(
                "overlay_etf_reduction_per_cost",
                "Further stressed 1-month VaR 99% reduction from the ETFs per unit of their extra annual cost",
                etf_per_cost,
                Unit::Ratio,
                Horizon::Point,
            );
            f.figure(
                "overlay_etf_months",
                "Months of factor-ETF history behind their betas (in-sample only)",
                etf_months as f64,
                Unit::Count,
                Horizon::Point,
            );
            let future_per_cost = per_cost[i];
            let etf_betas = all
                .iter()
                .filter(|x| x.spec().kind == InstrumentKind::Etf)
                .map(|x| x.betas[0]);
            let (lo, hi) = etf_betas.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), x| {
                (l.min(x), u.max(x))
            });
            let verdict = if etf_per_cost < future_per_cost {
                "the future buys more risk reduction per unit of cost"
            } else {
                "per unit of cost they beat the future, on betas that rest on little history"
            };
            f.recommend(
                format!(
                    "Adding the factor ETFs lowers stressed VaR 99% by a further {} for {} a year more ({cur} {etf_per_cost:.0} of stressed VaR reduction per {cur} 1 of annual cost, against {cur} {future_per_cost:.0} for the future): {verdict}. Their betas rest on {etf_months} months (in-sample; too few for an out-of-sample test), and their MktRF betas of {lo:.2}–{hi:.2} make each mostly a market position — treat any ETF leg as a trial size at most, and re-estimate before trading.",
                    money(etf_extra, cur),
                    money(etf_extra_cost, cur)
                ),
                &[
                    "overlay_etf_extra_reduction",
                    "overlay_etf_extra_cost",
                    "overlay_etf_reduction_per_cost",
                    "overlay_es_reduction_per_cost",
                    "overlay_etf_months",
                ],
            );
        }

        // Out of sample: the future hedge re-sized each month on the trailing window.
        let window = crate::model::ESTIMATION_MONTHS;
        let wf = walk_forward_future(
            b,
            &model.history,
            &model.replayed_residual_pnl(),
            ins,
            window,
        );
        let oos = f.figure(
            "overlay_oos_months",
            "Out-of-sample months of the walk-forward test of the futures hedge",
            wf.hedged.len() as f64,
            Unit::Count,
            Horizon::Point,
        );
        // The months, and why they are these: the future's walk-forward can only start
        // a full window after its own history does.
        let span = format!(
            "{oos:.0} months {} to {}: from {window} months after the {} series starts",
            model
                .history_dates
                .get(wf.first_month)
                .map_or("", String::as_str),
            model.history_dates.last().map_or("", String::as_str),
            ins.spec().column
        );
        if wf.hedged.len() >= MIN_OOS_MONTHS {
            let es = |x: &[f64]| risk::historical_var_es(x, 0.99).es;
            let es_none = f.figure(
                "overlay_oos_es99_unhedged",
                &format!(
                    "Walk-forward ES 99% of today's holdings, unhedged ({span}; out of sample)"
                ),
                es(&wf.unhedged),
                Unit::Money,
                Horizon::Months(1),
            );
            let es_hedged = f.figure(
                "overlay_oos_es99_future",
                &format!("Walk-forward ES 99% with the E-mini hedge, book betas and hedge re-estimated monthly on the trailing {window} months ({span}; out of sample, actual basis)"),
                es(&wf.hedged),
                Unit::Money,
                Horizon::Months(1),
            );
            let es_ideal = f.figure(
                "overlay_oos_es99_no_basis",
                &format!(
                    "Walk-forward ES 99% had the same hedge had no basis ({span}; out of sample)"
                ),
                es(&wf.without_basis),
                Unit::Money,
                Horizon::Months(1),
            );
            let tail = f.figure(
                "overlay_oos_tail_months",
                "Months the walk-forward ES 99% rests on",
                risk::historical_var_es(&wf.hedged, 0.99).tail_observations,
                Unit::Count,
                Horizon::Point,
            );
            let vol_none = f.figure(
                "overlay_oos_volatility_unhedged",
                &format!("Walk-forward monthly P&L volatility, unhedged ({span}; out of sample)"),
                stats::std_dev(&wf.unhedged),
                Unit::Money,
                Horizon::Months(1),
            );
            let vol_hedged = f.figure(
                "overlay_oos_volatility_future",
                &format!("Walk-forward monthly P&L volatility with the E-mini hedge ({span}; out of sample)"),
                stats::std_dev(&wf.hedged),
                Unit::Money,
                Horizon::Months(1),
            );
            let basis_pnl: Vec<f64> = wf
                .hedged
                .iter()
                .zip(&wf.without_basis)
                .map(|(a, b)| a - b)
                .collect();
            let basis_vol = f.figure(
                "overlay_oos_basis_pnl_volatility",
                "Monthly volatility of the hedge's basis P&L (out of sample)",
                stats::std_dev(&basis_pnl),
                Unit::Money,
                Horizon::Months(1),
            );
            let mean_ratio = f.figure(
                "overlay_oos_mean_hedge_ratio",
                "Average walk-forward futures hedge ratio (of the trailing market exposure)",
                stats::mean(&wf.ratios),
                Unit::Ratio,
                Horizon::Point,
            );
            f.recommend(
                format!(
                    "Out of sample — the book's betas and the hedge re-estimated each month on the trailing {window} months, {span} — the futures hedge (average ratio {mean_ratio:.2}) took ES 99% from {} to {} and monthly volatility from {} to {}; its basis added {} a month of volatility (ES 99% would have been {} with no basis; each ES 99% rests on {tail:.1} months). The ETF overlay cannot be judged this way: {} months of ETF history leave no out-of-sample tail.",
                    money(es_none, cur),
                    money(es_hedged, cur),
                    money(vol_none, cur),
                    money(vol_hedged, cur),
                    money(basis_vol, cur),
                    money(es_ideal, cur),
                    etf_months.map_or("no".into(), |m| m.to_string()),
                ),
                &[
                    "overlay_oos_months",
                    "overlay_oos_mean_hedge_ratio",
                    "overlay_oos_es99_unhedged",
                    "overlay_oos_es99_future",
                    "overlay_oos_volatility_unhedged",
                    "overlay_oos_volatility_future",
                    "overlay_oos_basis_pnl_volatility",
                    "overlay_oos_es99_no_basis",
                    "overlay_oos_tail_months",
                ],
            );
        } else {
            f.recommend(
                format!(
                    "The futures hedge cannot be judged out of sample: {oos:.0} walk-forward months (fewer than {MIN_OOS_MONTHS})."
                ),
                &["overlay_oos_months"],
            );
        }
    }
    f.recommend(
        format!(
            "The overlay over all {} instruments leaves the book's market exposure at {} (never net short unless asked) and stressed VaR 99% at {} (from {}), for {} a year and {} of margin tied up{}.{}",
            all.len(),
            // A residual of a few dollars on a USD 800m exposure is the solver's
            // tolerance, not a position: call it zero.
            if market_after.abs() < 1e-6 * b_mkt.abs().max(1.0) {
                "zero".to_owned()
            } else {
                money(market_after, cur)
            },
            money(after_all, cur),
            money(before, cur),
            money(cost_all, cur),
            money(margin_all, cur),
            etf_months.map_or(String::new(), |m| format!(" — its ETF legs rest on {m} months of in-sample betas")),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" Not used: {}.", skipped.join("; "))
            }
        ),
        &[
            "overlay_market_exposure_after",
            "overlay_var99_stressed_all",
            "overlay_var99_stressed_unhedged",
            "overlay_annual_cost_all",
            "overlay_margin_all",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(betas: [f64; 2], basis_sd: f64, cost: f64) -> HedgeLeg {
        HedgeLeg {
            betas: betas.to_vec(),
            basis_variance: basis_sd * basis_sd,
            cost_short: cost,
            cost_long: cost,
        }
    }

    /// Two factors, two instruments with basis: an index-like leg and a factor-ETF-like
    /// leg that is mostly market.
    fn two_by_two() -> (Vec<f64>, DMatrix<f64>, Vec<HedgeLeg>) {
        let cov = DMatrix::from_row_slice(2, 2, &[0.0025, 0.0004, 0.0004, 0.0009]);
        let legs = vec![leg([1.0, -0.1], 0.01, 0.0002), leg([0.9, 0.5], 0.02, 0.003)];
        (vec![100.0, 30.0], cov, legs)
    }

    #[test]
    fn basis_aware_sizing_is_the_closed_form_and_the_brute_force_minimum() {
        let (book, cov, legs) = two_by_two();
        let h = size_overlay(&book, &cov, &legs, 0.0, true).unwrap();
        // Closed form (BᵀΣB + S)⁻¹ BᵀΣb.
        let bm = DMatrix::from_row_slice(2, 2, &[1.0, 0.9, -0.1, 0.5]);
        let s = DMatrix::from_diagonal(&DVector::from_column_slice(&[1e-4, 4e-4]));
        let g = bm.transpose() * &cov * &bm + s;
        let c = bm.transpose() * &cov * DVector::from_column_slice(&book);
        let exact = g.lu().solve(&c).unwrap();
        for i in 0..2 {
            assert!((h[i] - exact[i]).abs() < 1e-5, "{h:?} vs {exact}");
        }
        // Brute force over a grid: nothing beats it.
        let v = |x: &[f64]| hedged_variance(&book, &cov, &legs, x);
        let best = v(&h);
        for i in 0..=300 {
            for j in 0..=300 {
                let x = [i as f64 * 0.5 - 25.0, j as f64 * 0.5 - 25.0];
                assert!(v(&x) >= best - 1e-9, "{x:?}: {} < {best}", v(&x));
            }
        }
        // Ignoring the basis would sell more of the noisier leg.
        let no_basis: Vec<HedgeLeg> = legs
            .iter()
            .map(|l| HedgeLeg {
                basis_variance: 0.0,
                ..l.clone()
            })
            .collect();
        let naive = size_overlay(&book, &cov, &no_basis, 0.0, true).unwrap();
        assert!(v(&naive) > best);
    }

    #[test]
    fn the_overlay_never_turns_the_book_net_short_unless_asked() {
        // Market and size move together: the unconstrained hedge of a long-market,
        // long-size book with a market-only future sells more than the market exposure.
        let cov = DMatrix::from_row_slice(2, 2, &[0.0025, 0.0012, 0.0012, 0.0009]);
        let legs = vec![leg([1.0, 0.0], 0.0, 0.0)];
        let book = [100.0, 80.0];
        let free = size_overlay(&book, &cov, &legs, 0.0, true).unwrap();
        let expected = (0.0025 * 100.0 + 0.0012 * 80.0) / 0.0025;
        assert!((free[0] - expected).abs() < 1e-5, "{free:?}");
        let capped = size_overlay(&book, &cov, &legs, 0.0, false).unwrap();
        assert!((capped[0] - 100.0).abs() < 1e-5, "{capped:?}");
        // A short-market book is never turned net long by buying.
        let short = size_overlay(&[-100.0, -80.0], &cov, &legs, 0.0, false).unwrap();
        assert!((short[0] + 100.0).abs() < 1e-5, "{short:?}");
    }

    #[test]
    fn a_cost_penalty_trims_the_costly_leg_first() {
        let (book, cov, legs) = two_by_two();
        let free = size_overlay(&book, &cov, &legs, 0.0, true).unwrap();
        let penalised = size_overlay(&book, &cov, &legs, 2.0, true).unwrap();
        // The objective with the penalty: brute force agrees with the solver.
        let obj = |x: &[f64]| {
            hedged_variance(&book, &cov, &legs, x)
                + 2.0 * (x[0].abs() * legs[0].cost_short + x[1].abs() * legs[1].cost_short)
        };
        let best = obj(&penalised);
        for i in 0..=200 {
            for j in 0..=200 {
                let x = [
                    penalised[0] - 1.0 + i as f64 * 0.01,
                    penalised[1] - 1.0 + j as f64 * 0.01,
                ];
                assert!(obj(&x) >= best - 1e-9, "{x:?}");
            }
        }
        let shrink = |i: usize| penalised[i].abs() / free[i].abs();
        assert!(shrink(1) < shrink(0), "{free:?} → {penalised:?}");
    }

    #[test]
    fn the_sp500_tracks_the_market_factor_closely_and_the_etfs_are_mostly_market() {
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        let inst = &model.hedge_instruments;
        assert!(inst.skipped.is_empty(), "{:?}", inst.skipped);
        let by = |t: &str| inst.estimated.iter().find(|i| i.ticker == t).unwrap();
        // Reference: statsmodels 0.14 OLS(SP500 − RF, add_constant(MktRF, SMB, HML, Mom))
        // .fit(cov_type="HAC", cov_kwds={"maxlags": 5}) on the 326 months 1990-02 …
        // 2017-03 of the sample CSV (maxlags = floor(4 (326/100)^(2/9)) = 5).
        let sp = by("ES");
        assert_eq!((sp.months, sp.newey_west_lags), (326, 5));
        let betas = [0.984501, -0.177773, 0.024695, -0.016156];
        let t = [129.7912, -17.9762, 3.4429, -2.0804];
        for j in 0..4 {
            assert!((sp.betas[j] - betas[j]).abs() < 2e-6, "{:?}", sp.betas);
            assert!((sp.t_stats[j] - t[j]).abs() < 2e-3, "{:?}", sp.t_stats);
        }
        assert!((sp.alpha + 0.001576).abs() < 2e-6);
        assert!((sp.r_squared - 0.993363).abs() < 2e-6);
        assert!((sp.basis_vol - 0.003386).abs() < 2e-6);
        // The economics: a market beta within 0.05 of one and R² above 0.98 — the
        // S&P 500 is the market factor up to a basis of about 1.2% a year.
        assert!((sp.betas[0] - 1.0).abs() < 0.05 && sp.r_squared > 0.98);
        // The ETFs: 38 months each; MTUM's momentum beta (statsmodels: 0.180706, t
        // 3.0747 with maxlags 3) and SIZE's size beta (−0.015205) — no size hedge.
        for etf in ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"] {
            assert_eq!(by(etf).months, 38, "{etf}");
        }
        let mtum = by("MTUM");
        assert!((mtum.betas[3] - 0.180706).abs() < 2e-6 && (mtum.t_stats[3] - 3.0747).abs() < 2e-3);
        assert!((by("SIZE").betas[1] + 0.015205).abs() < 2e-6);
    }

    #[test]
    fn market_data_without_instruments_gives_none_and_says_why() {
        let csv: String = {
            let (_, market) = crate::tests::sample();
            let keep = ["MktRF", "SMB", "HML", "Mom", "RF", "NoDur"];
            let cols: Vec<&[f64]> = keep.iter().map(|c| market.column(c).unwrap()).collect();
            let mut s = format!("dates,{}\n", keep.join(","));
            for (t, d) in market.dates.iter().enumerate() {
                let row: Vec<String> = cols.iter().map(|c| c[t].to_string()).collect();
                s.push_str(&format!("{d},{}\n", row.join(",")));
            }
            s
        };
        let market = stresslab_core::market_data::parse_market_data(csv.as_bytes()).unwrap();
        let book = stresslab_core::portfolio::parse_portfolio(
            "b.json",
            br#"{"portfolio_id":"b","base_currency":"USD","positions":[{"id":"p","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1000000,"factor":{"return_series":"NoDur"}}]}"#,
        )
        .unwrap();
        let model = crate::model::estimate(&book, &market).unwrap();
        assert!(model.hedge_instruments.estimated.is_empty());
        assert_eq!(model.hedge_instruments.skipped.len(), CATALOGUE.len());
        assert!(model.hedge_instruments.skipped[0]
            .1
            .contains("no SP500 column"));
        let mut f = Findings::new("t");
        hedge_overlay_findings(&mut f, &model);
        assert_eq!(f.get("overlay_instruments"), Some(0.0));
        assert_eq!(f.recommendations.len(), 1);
    }

    #[test]
    fn a_short_history_is_skipped_with_its_reason() {
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        // The same estimation on history cut to end 2015-12: the ETFs have 23 months.
        let end = market.index_of("2015-12").unwrap() + 1;
        let rf = market.column("RF").unwrap();
        let short = estimate_instruments(&market, &model.history[..end], &rf[..end]);
        assert_eq!(short.estimated.len(), 1);
        assert_eq!(short.skipped.len(), 5);
        assert!(
            short.skipped[0].1.starts_with("23 months of MTUM history"),
            "{:?}",
            short.skipped
        );
    }

    #[test]
    fn trailing_book_exposures_use_the_window_not_todays_betas() {
        // A book whose exposures changed: 2 × MktRF − 1 × SMB for 60 months, then
        // 1 × MktRF + 0.5 × SMB (today's). Closed form: a window inside either regime
        // recovers that regime's exposures exactly (no noise), whatever today's are.
        let history: Vec<Vec<f64>> = (0..120)
            .map(|t| {
                vec![
                    ((t * 37 % 11) as f64 - 5.0) / 100.0,
                    ((t * 17 % 7) as f64 - 3.0) / 100.0,
                ]
            })
            .collect();
        let pnl: Vec<f64> = history
            .iter()
            .enumerate()
            .map(|(t, f)| {
                if t < 60 {
                    2.0 * f[0] - f[1]
                } else {
                    f[0] + 0.5 * f[1]
                }
            })
            .collect();
        let early = trailing_book_exposure(&pnl, &history, 0..60).unwrap();
        let late = trailing_book_exposure(&pnl, &history, 60..120).unwrap();
        assert!(
            (early[0] - 2.0).abs() < 1e-9 && (early[1] + 1.0).abs() < 1e-9,
            "{early:?}"
        );
        assert!(
            (late[0] - 1.0).abs() < 1e-9 && (late[1] - 0.5).abs() < 1e-9,
            "{late:?}"
        );
        // The market-factor walk-forward sizes on the trailing exposures: in month 60
        // (window 0..60) it sells 2 × MktRF-equivalent, capped at the trailing market
        // exposure 2, not today's 1.
        let residual: Vec<f64> = pnl
            .iter()
            .zip(&history)
            .map(|(p, f)| p - (f[0] + 0.5 * f[1]))
            .collect();
        let wf = crate::personas::walk_forward(&[1.0, 0.5], &history, &residual, 60);
        let cov =
            covariance::sample_covariance(&DMatrix::from_fn(60, 2, |i, j| history[i][j])).unwrap();
        let (_, h) = crate::personas::min_variance_hedge(&early, &cov);
        assert_eq!(wf.months[0], 60);
        assert!((wf.hedged[0] - (pnl[60] - h * history[60][0])).abs() < 1e-12);
    }

    #[test]
    fn the_walk_forward_uses_no_future_month() {
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        let sp = model
            .hedge_instruments
            .estimated
            .iter()
            .find(|i| i.ticker == "ES")
            .unwrap();
        let residual = model.replayed_residual_pnl();
        let b = &model.book_exposure;
        let wf = walk_forward_future(b, &model.history, &residual, sp, 120);
        assert_eq!(wf.first_month, market.index_of("2000-02").unwrap());
        assert_eq!(wf.hedged.len(), 206);
        // Changing the last month's data changes nothing before it.
        let mut history = model.history.clone();
        let n = history.len();
        history[n - 1] = vec![-0.3, 0.1, 0.1, -0.2];
        let mut moved = sp.clone();
        *moved.excess_returns.last_mut().unwrap() = -0.3;
        let again = walk_forward_future(b, &history, &residual, &moved, 120);
        assert_eq!(again.ratios, wf.ratios);
        assert_eq!(again.hedged[..205], wf.hedged[..205]);
        assert_ne!(again.hedged[205], wf.hedged[205]);
        // A long book, capped: every month's hedge sells, and never much beyond the
        // market exposure (the cap is on beta × notional, trailing beta near one).
        assert!(
            wf.ratios.iter().all(|r| (0.0..=1.1).contains(r)),
            "{:?}",
            wf.ratios
        );
    }

    #[test]
    fn the_overlay_findings_on_the_sample_book_are_complete_and_capped() {
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        let mut f = Findings::new("t");
        hedge_overlay_findings(&mut f, &model);
        assert!(
            f.figures.iter().all(|x| x.value.is_finite()),
            "{:?}",
            f.figures
        );
        assert!(f.get("overlay_market_exposure_after").unwrap() >= -1e-3);
        assert!(
            f.get("overlay_var99_stressed_all").unwrap()
                <= f.get("overlay_var99_stressed_future_only").unwrap() + 1e-6
        );
        assert!(
            f.get("overlay_var99_stressed_future_only").unwrap()
                < f.get("overlay_var99_stressed_unhedged").unwrap()
        );
        assert_eq!(f.get("overlay_oos_months"), Some(206.0));
        assert!(f.tables.iter().any(|t| t
            .title()
            .starts_with("Factor-hedge overlay with traded instruments")));
        assert_eq!(f.recommendations.len(), 4);
    }
}
