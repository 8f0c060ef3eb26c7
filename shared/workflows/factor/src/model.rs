//! The factor model behind the factor workflow: exposures of every position to the
//! Carhart (1997) four factors — market excess return (MktRF), size (SMB), value (HML)
//! and momentum (Mom) — estimated by OLS on monthly excess returns (Fama & French 1993;
//! Carhart 1997), and the factor covariance under three views:
//! - **normal, sample**: the sample covariance of the estimation window;
//! - **normal, shrunk**: Ledoit & Wolf (2004, "Honey, I shrunk the sample covariance
//!   matrix") shrinkage of the same window towards the constant-correlation target —
//!   which keeps each factor's own variance (a scaled-identity target would pull the
//!   market's variance towards momentum's) — the workflow's "normal" risk model;
//! - **stressed**: the sample covariance of the most volatile 24-month window of the
//!   whole history *for this book* (its factor P&L volatility is largest there) — the
//!   Basel 2.5 "stressed VaR" idea (BCBS 2009, §718(lxxvi)) of calibrating to a
//!   continuous stress period found in the data — shrunk with the same estimator as
//!   the normal view, so normal and stressed differ by their data only.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use stresslab_analytics::{covariance, regression};
use stresslab_core::market_data::MarketData;
use stresslab_core::portfolio::{InstrumentType, Issue, Portfolio, Rejection};

/// The four Carhart factors, in model order.
pub const FACTORS: [&str; 4] = ["MktRF", "SMB", "HML", "Mom"];
/// Risk-free column used to turn total returns into excess returns.
pub const RISK_FREE: &str = "RF";
/// Exposures and the normal covariance use the most recent ten years.
pub const ESTIMATION_MONTHS: usize = 120;
/// Length of the stressed calibration window.
pub const STRESS_WINDOW_MONTHS: usize = 24;
/// Largest factor beta accepted as given: far beyond any real position (a 3× levered
/// ETF has a market beta near 3), so a larger one is a unit mistake, and it keeps every
/// product of betas, amounts and variances far from overflow.
pub const MAX_ABS_BETA: f64 = 50.0;
/// How stale the market data may be against the portfolio's as-of date.
pub const MAX_STALE_MONTHS: i64 = 3;
/// Fewest observations for a regression with an intercept and four slopes to mean much.
pub const MIN_OBSERVATIONS: usize = 36;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub months: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionModel {
    pub id: String,
    pub name: String,
    /// The position's own currency and the rate that converted it (base per unit).
    pub currency: String,
    pub fx_rate: f64,
    /// Market value in the base currency (what the position adds to the book's value).
    pub market_value: f64,
    /// The base-currency amount whose return the position earns: its market value for
    /// a cash instrument, its notional for a future (whose mark-to-market is near zero).
    /// Every P&L and risk figure scales with this, not with `market_value`.
    pub exposure_amount: f64,
    /// Betas to [`FACTORS`].
    pub exposures: Vec<f64>,
    /// Monthly alpha (intercept); 0 for given exposures.
    pub alpha: f64,
    /// `None` when exposures were given rather than estimated.
    pub r_squared: Option<f64>,
    pub t_stats: Vec<f64>,
    /// Monthly residual volatility (0 when exposures were given).
    pub residual_vol: f64,
    /// Return-series column, when estimated.
    pub return_series: Option<String>,
    /// Index into [`FactorModel::series_residuals`], when estimated.
    pub residual_series: Option<u32>,
    /// The position's sector (its own, else its credit section's); `None` groups as
    /// "Unclassified".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
}

/// What a crowding-unwind scenario needs to price its fire-sale discount per position:
/// which side of each factor is crowded, the median position's beta, and the factor's
/// monthly volatility (normal, Ledoit-Wolf).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FireSaleInputs {
    pub crowded_side: Vec<f64>,
    pub median_beta: Vec<f64>,
    pub volatility: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorModel {
    pub factors: Vec<String>,
    /// The portfolio's base currency (ISO code): every amount in the model is in it.
    pub base_currency: String,
    pub total_market_value: f64,
    pub window: Window,
    pub positions: Vec<PositionModel>,
    /// Base-currency P&L per unit factor return: Σ_i A_i β_i, A_i the exposure amount.
    pub book_exposure: Vec<f64>,
    /// Σ_i A_i² σ²_ε,i — monthly idiosyncratic P&L variance, residuals independent.
    pub idiosyncratic_variance: f64,
    pub covariance_sample: Vec<Vec<f64>>,
    pub covariance_shrunk: Vec<Vec<f64>>,
    pub shrinkage_intensity: f64,
    /// Shrinkage of the stressed window's covariance: the same estimator as the normal
    /// one, so the two differ by their data, not by their method.
    pub stressed_shrinkage_intensity: f64,
    pub stressed_window: Window,
    pub covariance_stressed: Vec<Vec<f64>>,
    /// Full factor history (dates, rows of [`FACTORS`] returns) for historical
    /// simulation and the regime view.
    pub history_dates: Vec<String>,
    pub history: Vec<Vec<f64>>,
    /// Residual (non-factor) monthly returns over the whole history, one row per
    /// distinct return series the book uses — what a full-revaluation replay adds to the
    /// factor move. Kept per series, not per position, so memory grows with the market
    /// data, not with the book.
    pub series_residuals: Vec<Vec<f64>>,
    pub fire_sale: FireSaleInputs,
    /// What a scenario's plausibility is measured with.
    pub plausibility: Plausibility,
    /// Candidate economic labels for hidden (residual) factors, over the estimation
    /// window (oldest first): [`LABEL_LEVEL_COLUMNS`] as given and
    /// [`LABEL_RETURN_COLUMNS`] as excess returns, for those columns the market data
    /// has. A missing column just means no such label.
    #[serde(default)]
    pub label_series: Vec<(String, Vec<f64>)>,
    /// The concentration limits the run's parameters set (the personas get the model,
    /// not the parameters).
    #[serde(default)]
    pub limits: ConcentrationLimits,
    /// Traded hedge instruments (index future, factor ETFs) estimated against the
    /// factors, when the market data carries their returns.
    #[serde(default)]
    pub hedge_instruments: crate::instruments::HedgeInstruments,
    /// The re-optimisation constraints of this run (set from the run's parameters in
    /// `prepare`; the personas do not see the parameters).
    #[serde(default)]
    pub optimisation: OptimisationLimits,
}

/// Constraints on the strategist's re-optimised books (parameters `optimisation_*`).
/// Weights are shares of the book's total exposure amount, per position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimisationLimits {
    /// No short positions (`w ≥ 0`).
    pub long_only: bool,
    /// Largest weight of any one position.
    pub max_weight: f64,
    /// One-way turnover limit against today's weights: the share of the book bought
    /// (equal to the share sold, the budget being fixed), `½ Σ|w − w₀| ≤ limit`.
    pub turnover: f64,
    /// Each style factor's beta (SMB, HML, Mom) stays within ± this of today's book.
    pub style_beta_band: f64,
    /// The book's market beta stays within [min, max].
    pub market_beta_min: f64,
    pub market_beta_max: f64,
}

impl Default for OptimisationLimits {
    fn default() -> Self {
        OptimisationLimits {
            long_only: true,
            max_weight: 0.10,
            turnover: 0.30,
            style_beta_band: 0.25,
            market_beta_min: 0.8,
            market_beta_max: 1.1,
        }
    }
}

/// Risk-concentration limits a flag is raised above (`parameters.
/// factor_concentration_limit`, `parameters.conditional_contribution_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConcentrationLimits {
    /// Largest share of stressed risk (Euler, VaR 99%) one factor, sector or position
    /// may carry.
    pub factor_share: f64,
    /// Largest share of the mean loss in the worst 5% of one-month scenarios one source
    /// (a factor or the residual) may carry.
    pub conditional_share: f64,
}

impl Default for ConcentrationLimits {
    fn default() -> Self {
        ConcentrationLimits {
            factor_share: 0.25,
            conditional_share: 0.40,
        }
    }
}

/// Market-data columns that can name a hidden factor, used as given: the monthly
/// change of Moody's Baa−Aaa spread (a credit factor).
pub const LABEL_LEVEL_COLUMNS: [&str; 1] = ["BaaAaaChange"];
/// Return columns that can name a hidden factor, as excess returns: the 12 Fama-French
/// industries and the 3×3 size/value portfolios.
pub const LABEL_RETURN_COLUMNS: [&str; 21] = [
    "NoDur", "Durbl", "Manuf", "Enrgy", "Chems", "BusEq", "Telcm", "Utils", "Shops", "Hlth",
    "Money", "Other", "S1V1", "S1V3", "S1V5", "S3V1", "S3V3", "S3V5", "S5V1", "S5V3", "S5V5",
];

/// How plausible a factor move is: its Mahalanobis distance under the normal and the
/// stressed covariance (Mahalanobis 1936; as a stress-test plausibility measure,
/// Breuer, Jandačka, Rheinberger & Summer 2009, "How to find plausible, severe and
/// useful stress scenarios", International Journal of Central Banking 5(3)), and where
/// a one-month move of that distance ranks among the months of history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plausibility {
    /// L⁻¹ for Σ = L Lᵀ (normal, Ledoit-Wolf; stressed): d(f) = ‖L⁻¹ f‖.
    pub whiten_normal: Vec<Vec<f64>>,
    pub whiten_stressed: Vec<Vec<f64>>,
    /// Every history month's distance under the normal covariance, ascending.
    pub history_distances: Vec<f64>,
}

impl Plausibility {
    fn new(normal: &DMatrix<f64>, stressed: &DMatrix<f64>, history: &[Vec<f64>]) -> Option<Self> {
        let whiten = |cov: &DMatrix<f64>| -> Option<Vec<Vec<f64>>> {
            let l = cov.clone().cholesky()?.l();
            Some(to_rows(&l.try_inverse()?))
        };
        let mut p = Plausibility {
            whiten_normal: whiten(normal)?,
            whiten_stressed: whiten(stressed)?,
            history_distances: Vec::new(),
        };
        let mut d: Vec<f64> = history.iter().map(|f| p.distance_normal(f, 1)).collect();
        d.sort_by(f64::total_cmp);
        p.history_distances = d;
        Some(p)
    }

    fn distance(whiten: &[Vec<f64>], f: &[f64], months: u32) -> f64 {
        let squared: f64 = whiten
            .iter()
            .map(|row| row.iter().zip(f).map(|(a, x)| a * x).sum::<f64>().powi(2))
            .sum();
        // Over h months the covariance is h Σ (independent months).
        (squared / f64::from(months.max(1))).sqrt()
    }

    /// Mahalanobis distance of a move over `months` under the normal covariance.
    pub fn distance_normal(&self, f: &[f64], months: u32) -> f64 {
        Self::distance(&self.whiten_normal, f, months)
    }

    /// The same under the stressed covariance.
    pub fn distance_stressed(&self, f: &[f64], months: u32) -> f64 {
        Self::distance(&self.whiten_stressed, f, months)
    }

    /// Share of history months whose move was at least as far out (normal metric).
    pub fn history_exceedance(&self, distance: f64) -> f64 {
        let n = self.history_distances.len();
        let below = self.history_distances.partition_point(|&d| d < distance);
        (n - below) as f64 / n.max(1) as f64
    }
}

pub fn to_rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| (0..m.ncols()).map(|j| m[(i, j)]).collect())
        .collect()
}

pub fn from_rows(rows: &[Vec<f64>]) -> DMatrix<f64> {
    let n = rows.len();
    let m = rows.first().map_or(0, Vec::len);
    DMatrix::from_fn(n, m, |i, j| rows[i][j])
}

impl FactorModel {
    /// Today's book's non-factor P&L in every history month, `Σᵢ Aᵢ εᵢₜ`: each
    /// position's replayed residual on today's exposure amount. Summed per return series
    /// first, so the cost is O(positions + series × months), not positions × months.
    pub fn replayed_residual_pnl(&self) -> Vec<f64> {
        let mut amount_by_series = vec![0.0; self.series_residuals.len()];
        for p in &self.positions {
            if let Some(s) = p.residual_series {
                amount_by_series[s as usize] += p.exposure_amount;
            }
        }
        (0..self.history.len())
            .map(|t| {
                amount_by_series
                    .iter()
                    .zip(&self.series_residuals)
                    .map(|(a, r)| a * r[t])
                    .sum()
            })
            .collect()
    }

    /// Today's book replayed over every month of history: factor P&L `b·fₜ` plus the
    /// replayed residuals ([`Self::replayed_residual_pnl`]).
    pub fn replayed_monthly_pnl(&self) -> Vec<f64> {
        crate::instruments::book_pnl(
            &self.book_exposure,
            &self.history,
            &self.replayed_residual_pnl(),
        )
    }

    pub fn exposure_vector(&self) -> DVector<f64> {
        DVector::from_column_slice(&self.book_exposure)
    }
    /// Monthly P&L volatility (base currency) under a factor covariance, idiosyncratic
    /// included.
    pub fn pnl_volatility(&self, factor_cov: &DMatrix<f64>) -> f64 {
        let b = self.exposure_vector();
        ((b.transpose() * factor_cov * &b)[(0, 0)] + self.idiosyncratic_variance).sqrt()
    }
}

fn issue(path: impl Into<String>, reason: impl Into<String>) -> Issue {
    Issue {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Estimate the model for a portfolio. Every position needs a return series in the
/// market data or given exposures to all four factors.
pub fn estimate(portfolio: &Portfolio, market: &MarketData) -> Result<FactorModel, Rejection> {
    let mut issues = Vec::new();
    let factor_cols: Vec<&[f64]> = FACTORS
        .iter()
        .filter_map(|f| {
            let col = market.column(f);
            if col.is_none() {
                issues.push(issue("market_data", format!("has no {f} column")));
            }
            col
        })
        .collect();
    let rf = market.column(RISK_FREE);
    if rf.is_none() {
        issues.push(issue("market_data", format!("has no {RISK_FREE} column")));
    }
    // The factor history is the whole file (every replay, stressed window and regime
    // reads it): the factors and RF must cover it, not start later.
    for name in FACTORS.iter().chain([&RISK_FREE]) {
        if let Some(first) = market.first_observation(name).filter(|&f| f > 0) {
            issues.push(issue(
                "market_data",
                format!(
                    "column {name:?} starts {}; the factor model needs every factor and {RISK_FREE} from the file's first month ({}) — cut the market data to start at {}",
                    market.dates[first],
                    market.dates[0],
                    market.dates[first]
                ),
            ));
        }
    }
    if market.len() < ESTIMATION_MONTHS.max(STRESS_WINDOW_MONTHS) {
        issues.push(issue(
            "market_data",
            format!(
                "has {} months; the factor model needs at least {ESTIMATION_MONTHS}",
                market.len()
            ),
        ));
    }
    issues.extend(check_as_of(portfolio, market));
    if !issues.is_empty() {
        return Err(Rejection { issues });
    }
    let rf = rf.unwrap_or_default();
    let n = market.len();
    let start = n - ESTIMATION_MONTHS;
    let k = FACTORS.len();
    let x = DMatrix::from_fn(ESTIMATION_MONTHS, k, |t, j| factor_cols[j][start + t]);

    let mut positions = Vec::with_capacity(portfolio.positions.len());
    // One regression per distinct return series, however many positions share it.
    let mut fits: HashMap<&str, (u32, regression::OlsFit)> = HashMap::new();
    let mut series_columns: Vec<&[f64]> = Vec::new();
    for (i, p) in portfolio.positions.iter().enumerate() {
        let path = format!("positions[{i}].factor");
        let market_value = portfolio.base_market_value(p);
        let exposure_amount = match p.instrument_type {
            InstrumentType::Future => match portfolio.base_notional(p) {
                Some(notional) => notional,
                None => {
                    issues.push(issue(
                        format!("positions[{i}].notional"),
                        "a future needs its notional: its factor exposure is notional × betas, not its mark-to-market",
                    ));
                    continue;
                }
            },
            t if t.is_derivative() => {
                issues.push(issue(
                    format!("positions[{i}].instrument_type"),
                    format!(
                        "the factor workflow revalues delta-one equity positions only (amount × factor betas); a {} cannot be revalued that way — remove it, or state its delta-equivalent exposure as a future with a notional",
                        serde_json::to_value(t)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    ),
                ));
                continue;
            }
            _ => market_value,
        };
        let Some(inputs) = &p.factor else {
            issues.push(issue(
                path,
                "is required by the factor workflow (a return_series or exposures)",
            ));
            continue;
        };
        let model = if let Some(series) = &inputs.return_series {
            let Some(col) = market.column(series) else {
                issues.push(issue(
                    format!("{path}.return_series"),
                    format!("column {series:?} is not in the market data"),
                ));
                continue;
            };
            // Its residuals are replayed over every month of the factor history.
            if let Some(first) = market.first_observation(series).filter(|&f| f > 0) {
                issues.push(issue(
                    format!("{path}.return_series"),
                    format!(
                        "{series:?} starts {}; the factor history starts {}: a position's return series must cover the whole history (its residuals are replayed in every historical month) — give the position's factor exposures instead",
                        market.dates[first], market.dates[0]
                    ),
                ));
                continue;
            }
            let fitted = match fits.get(series.as_str()) {
                Some((index, fit)) => Ok((*index, fit.clone())),
                None => {
                    let y: Vec<f64> = (start..n).map(|t| col[t] - rf[t]).collect();
                    regression::ols(&y, &x).map(|fit| {
                        let index = series_columns.len() as u32;
                        series_columns.push(col);
                        fits.insert(series.as_str(), (index, fit.clone()));
                        (index, fit)
                    })
                }
            };
            match fitted {
                Ok((index, fit)) => PositionModel {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    currency: p.currency.clone(),
                    fx_rate: portfolio.fx_rate(&p.currency),
                    market_value,
                    exposure_amount,
                    exposures: fit.betas.clone(),
                    alpha: fit.intercept,
                    r_squared: Some(fit.r_squared),
                    t_stats: fit.t_stats.clone(),
                    residual_vol: fit.residual_variance.sqrt(),
                    return_series: Some(series.clone()),
                    residual_series: Some(index),
                    sector: sector_of(p),
                },
                Err(e) => {
                    issues.push(issue(
                        format!("{path}.return_series"),
                        format!("regression failed: {e}"),
                    ));
                    continue;
                }
            }
        } else {
            let missing: Vec<&str> = FACTORS
                .iter()
                .copied()
                .filter(|f| !inputs.exposures.contains_key(*f))
                .collect();
            let unknown: Vec<&str> = inputs
                .exposures
                .keys()
                .map(String::as_str)
                .filter(|f| !FACTORS.contains(f))
                .collect();
            for f in &unknown {
                issues.push(issue(
                    format!("{path}.exposures.{f}"),
                    format!(
                        "is not a factor of the model (its factors are {})",
                        FACTORS.join(", ")
                    ),
                ));
            }
            if !missing.is_empty() {
                issues.push(issue(
                    format!("{path}.exposures"),
                    format!("missing {}", missing.join(", ")),
                ));
            }
            for (f, beta) in &inputs.exposures {
                if FACTORS.contains(&f.as_str()) && beta.abs() > MAX_ABS_BETA {
                    issues.push(issue(
                        format!("{path}.exposures.{f}"),
                        format!(
                            "{beta:e} is not a plausible factor beta (the limit is ±{MAX_ABS_BETA}): betas are per unit of the position's value"
                        ),
                    ));
                }
            }
            if !missing.is_empty()
                || !unknown.is_empty()
                || inputs.exposures.values().any(|b| b.abs() > MAX_ABS_BETA)
            {
                continue;
            }
            PositionModel {
                id: p.id.clone(),
                name: p.name.clone(),
                currency: p.currency.clone(),
                fx_rate: portfolio.fx_rate(&p.currency),
                market_value,
                exposure_amount,
                exposures: FACTORS.iter().map(|f| inputs.exposures[*f]).collect(),
                alpha: 0.0,
                r_squared: None,
                t_stats: Vec::new(),
                residual_vol: 0.0,
                return_series: None,
                residual_series: None,
                sector: sector_of(p),
            }
        };
        positions.push(model);
    }
    if !issues.is_empty() {
        return Err(Rejection { issues });
    }

    let reject_numeric = |what: &str, e: stresslab_analytics::AnalyticsError| Rejection {
        issues: vec![issue("market_data", format!("{what}: {e}"))],
    };
    let covariance_sample =
        covariance::sample_covariance(&x).map_err(|e| reject_numeric("sample covariance", e))?;
    let shrunk = covariance::ledoit_wolf_constant_correlation(&x)
        .map_err(|e| reject_numeric("Ledoit-Wolf", e))?;

    let book_exposure: Vec<f64> = (0..k)
        .map(|j| {
            positions
                .iter()
                .map(|p| p.exposure_amount * p.exposures[j])
                .sum()
        })
        .collect();
    let idiosyncratic_variance = positions
        .iter()
        .map(|p| (p.exposure_amount * p.residual_vol).powi(2))
        .sum();

    let history: Vec<Vec<f64>> = (0..n)
        .map(|t| factor_cols.iter().map(|c| c[t]).collect())
        .collect();
    let (stress_start, stressed) =
        most_stressed_window(&history, &book_exposure, STRESS_WINDOW_MONTHS)
            .map_err(|e| reject_numeric("stressed covariance", e))?;

    // Residual returns of each distinct series over the whole history: excess return
    // minus the factor-explained part (alpha excluded: a replay is about the shock, not
    // the drift).
    let mut by_index: Vec<(&u32, &regression::OlsFit)> =
        fits.values().map(|(i, f)| (i, f)).collect();
    by_index.sort_by_key(|(i, _)| **i);
    let series_residuals: Vec<Vec<f64>> = by_index
        .iter()
        .map(|(i, fit)| {
            let col = series_columns[**i as usize];
            (0..n)
                .map(|t| {
                    let explained: f64 =
                        fit.betas.iter().zip(&history[t]).map(|(b, f)| b * f).sum();
                    col[t] - rf[t] - fit.intercept - explained
                })
                .collect()
        })
        .collect();

    let mut model = FactorModel {
        factors: FACTORS.iter().map(|f| f.to_string()).collect(),
        base_currency: portfolio.base_currency.clone(),
        total_market_value: portfolio.total_market_value(),
        window: Window {
            start: market.dates[start].clone(),
            end: market.dates[n - 1].clone(),
            months: ESTIMATION_MONTHS,
        },
        positions,
        book_exposure,
        idiosyncratic_variance,
        covariance_sample: to_rows(&covariance_sample),
        covariance_shrunk: to_rows(&shrunk.covariance),
        shrinkage_intensity: shrunk.intensity,
        stressed_window: Window {
            start: market.dates[stress_start].clone(),
            end: market.dates[stress_start + STRESS_WINDOW_MONTHS - 1].clone(),
            months: STRESS_WINDOW_MONTHS,
        },
        covariance_stressed: to_rows(&stressed.covariance),
        stressed_shrinkage_intensity: stressed.intensity,
        history_dates: market.dates.clone(),
        history,
        series_residuals,
        fire_sale: FireSaleInputs::default(),
        plausibility: Plausibility::default(),
        label_series: label_series(market, rf, start),
        limits: ConcentrationLimits::default(),
        hedge_instruments: Default::default(),
        optimisation: OptimisationLimits::default(),
    };
    model.plausibility =
        Plausibility::new(&shrunk.covariance, &stressed.covariance, &model.history).ok_or_else(
            || Rejection {
                issues: vec![issue(
            "market_data",
            "the factor covariance is not positive definite: the factors are collinear in the data",
        )],
            },
        )?;
    model.fire_sale = crate::scenarios::fire_sale_inputs(&model);
    model.hedge_instruments = crate::instruments::estimate_instruments(market, &model.history, rf);
    check_finite(&model)?;
    Ok(model)
}

/// The candidate label series over the estimation window (`start..`), see
/// [`FactorModel::label_series`].
fn label_series(market: &MarketData, rf: &[f64], start: usize) -> Vec<(String, Vec<f64>)> {
    let n = market.len();
    let levels = LABEL_LEVEL_COLUMNS.iter().filter_map(|c| {
        let col = market.column(c)?;
        Some((c.to_string(), col[start..n].to_vec()))
    });
    let returns = LABEL_RETURN_COLUMNS.iter().filter_map(|c| {
        let col = market.column(c)?;
        Some((c.to_string(), (start..n).map(|t| col[t] - rf[t]).collect()))
    });
    levels
        .chain(returns)
        .filter(|(_, v): &(String, Vec<f64>)| v.iter().all(|x| x.is_finite()))
        .collect()
}

/// A position's sector: its own, else its credit section's.
fn sector_of(p: &stresslab_core::portfolio::Position) -> Option<String> {
    p.sector
        .clone()
        .or_else(|| p.credit.as_ref().and_then(|c| c.sector.clone()))
}

/// Months since year 0 of a `YYYY-MM[-DD]` date.
fn month_index(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    Some(y * 12 + m - 1)
}

/// The model must describe the book as of its date: market data that runs past the
/// as-of date would let the model use returns the book could not have known; data that
/// ends long before it is stale.
pub fn check_as_of(portfolio: &Portfolio, market: &MarketData) -> Vec<Issue> {
    let (Some(as_of), Some(last)) = (portfolio.as_of.as_deref(), market.dates.last()) else {
        return Vec::new();
    };
    let (Some(a), Some(l)) = (month_index(as_of), month_index(last)) else {
        return Vec::new();
    };
    if l > a {
        vec![issue(
            "as_of",
            format!(
                "{as_of} is before the end of the market data ({last}): the model would use returns after the as-of date — cut the market data at {as_of}"
            ),
        )]
    } else if a - l > MAX_STALE_MONTHS {
        vec![issue(
            "as_of",
            format!(
                "{as_of} is {} months after the market data ends ({last}); the limit is {MAX_STALE_MONTHS} — refresh the market data",
                a - l
            ),
        )]
    } else {
        Vec::new()
    }
}

/// Every number the later stages rely on must be finite: a NaN or infinity would be
/// written to JSON as `null` and fail the run after it started.
fn check_finite(model: &FactorModel) -> Result<(), Rejection> {
    let matrices = [
        &model.covariance_sample,
        &model.covariance_shrunk,
        &model.covariance_stressed,
    ];
    let finite = model.book_exposure.iter().all(|x| x.is_finite())
        && model.idiosyncratic_variance.is_finite()
        && model.total_market_value.is_finite()
        && matrices
            .iter()
            .all(|m| m.iter().flatten().all(|x| x.is_finite()))
        && model
            .series_residuals
            .iter()
            .flatten()
            .all(|x| x.is_finite())
        && model
            .positions
            .iter()
            .all(|p| p.exposure_amount.is_finite() && p.exposures.iter().all(|x| x.is_finite()))
        && model
            .pnl_volatility(&from_rows(&model.covariance_stressed))
            .is_finite();
    if finite {
        Ok(())
    } else {
        Err(Rejection {
            issues: vec![issue(
                "positions",
                "the book's exposures and the market data give a non-finite risk (an overflow): check the magnitudes of exposures, amounts and returns",
            )],
        })
    }
}

/// The `len`-month window where the book's factor P&L is most volatile, and its sample
/// covariance. Ties go to the earliest window so the choice is deterministic.
pub(crate) fn most_stressed_window(
    history: &[Vec<f64>],
    exposure: &[f64],
    len: usize,
) -> Result<(usize, covariance::Shrinkage), stresslab_analytics::AnalyticsError> {
    let b = DVector::from_column_slice(exposure);
    let k = exposure.len();
    let mut best: Option<(usize, f64, DMatrix<f64>)> = None;
    for start in 0..=history.len() - len {
        let window = DMatrix::from_fn(len, k, |t, j| history[start + t][j]);
        let cov = covariance::sample_covariance(&window)?;
        let variance = (b.transpose() * &cov * &b)[(0, 0)];
        if best.as_ref().is_none_or(|(_, v, _)| variance > *v) {
            best = Some((start, variance, cov));
        }
    }
    let (start, _, _) = best.expect("history has at least one window");
    // The window is chosen on the sample covariance (which window was worst is a fact
    // of the data); its covariance is then estimated as the normal one is.
    let window = DMatrix::from_fn(len, k, |t, j| history[start + t][j]);
    Ok((
        start,
        covariance::ledoit_wolf_constant_correlation(&window)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::sample;
    use stresslab_core::market_data::parse_market_data;
    use stresslab_core::portfolio::parse_portfolio;

    fn book_on(series: &[&str]) -> Portfolio {
        let positions: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    r#"{{"id":"p{i}","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1000000,"factor":{{"return_series":"{s}"}}}}"#
                )
            })
            .collect();
        let json = format!(
            r#"{{"portfolio_id":"b","base_currency":"USD","positions":[{}]}}"#,
            positions.join(",")
        );
        parse_portfolio("b.json", json.as_bytes()).expect("valid book")
    }

    #[test]
    fn a_position_on_a_late_starting_series_is_refused_by_field() {
        let (_, market) = sample();
        let err = estimate(&book_on(&["NoDur", "MTUM", "SP500"]), &market).unwrap_err();
        assert_eq!(err.issues.len(), 2, "{err}");
        assert_eq!(err.issues[0].path, "positions[1].factor.return_series");
        assert!(
            err.issues[0]
                .reason
                .starts_with("\"MTUM\" starts 2014-02; the factor history starts 1949-01"),
            "{err}"
        );
        assert_eq!(err.issues[1].path, "positions[2].factor.return_series");
        assert!(err.issues[1].reason.contains("starts 1990-02"), "{err}");
        // A complete series is accepted as before.
        assert!(estimate(&book_on(&["NoDur"]), &market).is_ok());
    }

    #[test]
    fn a_late_starting_factor_is_refused() {
        let text = std::str::from_utf8(include_bytes!(
            "../../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
        ))
        .unwrap();
        // Blank MktRF in the first month: the column now starts 1949-02.
        let first_row = text.find("\n1949-01-01,").unwrap() + "\n1949-01-01,".len();
        let value_end = first_row + text[first_row..].find(',').unwrap();
        let edited = format!("{}{}", &text[..first_row], &text[value_end..]);
        let market = parse_market_data(edited.as_bytes()).expect("a late start is readable");
        let err = estimate(&book_on(&["NoDur"]), &market).unwrap_err();
        assert_eq!(err.issues.len(), 1, "{err}");
        assert_eq!(err.issues[0].path, "market_data");
        assert!(
            err.issues[0]
                .reason
                .starts_with("column \"MktRF\" starts 1949-02"),
            "{err}"
        );
    }
}
