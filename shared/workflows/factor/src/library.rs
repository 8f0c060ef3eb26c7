//! The factor workflow's section of a scenario library: the market-wide history every
//! factor model of that month is estimated from — the four factors and the risk-free
//! rate (the covariances, stressed windows, replays and regime view all read them), the
//! hidden-factor label columns and the hedge instruments' returns — and the
//! estimation-window factor covariances (sample and Ledoit–Wolf) it gives.
//!
//! The book-specific parts of the model cannot be pinned by a monthly job: betas are
//! regressions of each position's own return series, and the stressed window is the
//! one worst *for this book*. A pinned run therefore estimates them against the
//! library's market history, taking only its positions' return series from the run's
//! own market-data file (aligned by month), and checks that the factor covariances it
//! gets are the library's, bit for bit.

use crate::instruments::CATALOGUE;
use crate::model::{
    self, to_rows, Window, ESTIMATION_MONTHS, FACTORS, LABEL_LEVEL_COLUMNS, LABEL_RETURN_COLUMNS,
    RISK_FREE, STRESS_WINDOW_MONTHS,
};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use stresslab_analytics::covariance;
use stresslab_core::library::MarketDataSet;
use stresslab_core::market_data::{parse_market_data, MarketData};
use stresslab_core::portfolio::{Issue, Rejection};

/// The market-data file the refresh reads (`<stem>.csv` or `<stem>_<years>.csv`).
pub const FACTOR_DATA_STEM: &str = "ff_factors_industries_portfolios_monthly";

fn reject(path: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        issues: vec![Issue {
            path: path.into(),
            reason: reason.into(),
        }],
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorLibrary {
    /// The file it was read from.
    pub source: String,
    /// Months (`YYYY-MM`), oldest first.
    pub dates: Vec<String>,
    /// The market-wide columns; `None` before a series' first value (an ETF launched
    /// after the factor history starts).
    pub columns: Vec<(String, Vec<Option<f64>>)>,
    /// The factor covariances of the estimation window.
    pub window: Window,
    pub covariance_sample: Vec<Vec<f64>>,
    pub covariance_shrunk: Vec<Vec<f64>>,
    pub shrinkage_intensity: f64,
}

/// Whether a column is market-wide (pinned) rather than a position's own series.
fn is_market_column(name: &str) -> bool {
    FACTORS.contains(&name)
        || name == RISK_FREE
        || LABEL_LEVEL_COLUMNS.contains(&name)
        || LABEL_RETURN_COLUMNS.contains(&name)
        || CATALOGUE.iter().any(|s| s.column == name)
}

impl FactorLibrary {
    /// The refresh: read the factor history and estimate its window covariances.
    pub fn refresh(set: &MarketDataSet) -> Result<FactorLibrary, Rejection> {
        let (name, text) = set.latest(FACTOR_DATA_STEM)?;
        let path = format!("market_data/{name}");
        let market = parse_market_data(text.as_bytes()).map_err(|r| Rejection {
            issues: r
                .issues
                .into_iter()
                .map(|i| Issue {
                    path: format!("{path}: {}", i.path),
                    reason: i.reason,
                })
                .collect(),
        })?;
        let mut factor_cols = Vec::with_capacity(FACTORS.len());
        for f in FACTORS.iter().chain([&RISK_FREE]) {
            match (market.column(f), market.first_observation(f)) {
                (Some(col), Some(0)) => factor_cols.push(col),
                (Some(_), Some(_)) => {
                    return Err(reject(
                        &path,
                        format!("column {f:?} must cover every month"),
                    ))
                }
                _ => return Err(reject(&path, format!("has no {f} column"))),
            }
        }
        let n = market.len();
        if n < ESTIMATION_MONTHS.max(STRESS_WINDOW_MONTHS) {
            return Err(reject(
                &path,
                format!("has {n} months; the factor model needs at least {ESTIMATION_MONTHS}"),
            ));
        }
        // The estimation window exactly as `model::estimate` builds it.
        let start = n - ESTIMATION_MONTHS;
        let x = DMatrix::from_fn(ESTIMATION_MONTHS, FACTORS.len(), |t, j| {
            factor_cols[j][start + t]
        });
        let numeric = |what: &str, e: stresslab_analytics::AnalyticsError| {
            reject(&path, format!("{what}: {e}"))
        };
        let sample =
            covariance::sample_covariance(&x).map_err(|e| numeric("sample covariance", e))?;
        let shrunk = covariance::ledoit_wolf_constant_correlation(&x)
            .map_err(|e| numeric("Ledoit-Wolf", e))?;
        let columns = market
            .columns
            .iter()
            .filter(|c| is_market_column(c))
            .filter_map(|c| Some((c.clone(), market.column_values(c)?)))
            .collect();
        Ok(FactorLibrary {
            source: name.to_owned(),
            dates: market.dates.clone(),
            columns,
            window: Window {
                start: market.dates[start].clone(),
                end: market.dates[n - 1].clone(),
                months: ESTIMATION_MONTHS,
            },
            covariance_sample: to_rows(&sample),
            covariance_shrunk: to_rows(&shrunk.covariance),
            shrinkage_intensity: shrunk.intensity,
        })
    }

    /// The market a pinned run estimates against: the library's history and columns,
    /// plus each column of the run's own file that the library does not pin (the
    /// positions' return series), aligned on the library's months. A run column that
    /// does not run without a gap to the library's last month is left out (a position
    /// reading it is then refused, naming its `return_series`).
    pub fn market(&self, run: Option<&MarketData>) -> Result<MarketData, Rejection> {
        let mut columns = self.columns.clone();
        if let Some(run) = run {
            let rows: Vec<Option<usize>> = self.dates.iter().map(|d| run.index_of(d)).collect();
            for name in &run.columns {
                if columns.iter().any(|(c, _)| c == name) {
                    continue;
                }
                let Some(values) = run.column_values(name) else {
                    continue;
                };
                let aligned: Vec<Option<f64>> =
                    rows.iter().map(|r| r.and_then(|r| values[r])).collect();
                let start = aligned.iter().position(Option::is_some);
                if start.is_some_and(|s| aligned[s..].iter().all(Option::is_some)) {
                    columns.push((name.clone(), aligned));
                }
            }
        }
        MarketData::from_columns(self.dates.clone(), columns)
            .map_err(|e| reject("library_version", format!("factor section: {e}")))
    }

    /// A pinned run's model must carry the library's factor covariances: the
    /// same history through the same estimator. A difference means the library was
    /// written by other numerics, and the run is refused rather than mislabelled.
    pub fn check(&self, model: &model::FactorModel) -> Result<(), Rejection> {
        if model.window == self.window
            && model.covariance_sample == self.covariance_sample
            && model.covariance_shrunk == self.covariance_shrunk
            && model.shrinkage_intensity == self.shrinkage_intensity
        {
            Ok(())
        } else {
            Err(reject(
                "library_version",
                "the factor covariances estimated from the library's history differ from the ones it stores: refresh the library with this build",
            ))
        }
    }
}
