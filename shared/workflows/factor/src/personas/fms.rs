//! Factor Modeling Specialist: how well the factors explain the book, how stable the
//! exposures are, and what the residuals hide.
//!
//! Everything here is in-sample description of the estimation window (or of the whole
//! history for the rolling and expanding betas), for the book as held today: the
//! book's monthly return is Σ_i A_i r_i / V with today's amounts A_i and value V, each
//! position's excess return r_i rebuilt exactly from the model as α_i + β_i·f_t + ε_i,t
//! (positions with given exposures contribute β_i·f_t only — no series, no residual).

use crate::model::{from_rows, FactorModel, PositionModel};
use nalgebra::DMatrix;
use stresslab_analytics::bootstrap::{ols_bootstrap_ci, StationaryBootstrap};
use stresslab_analytics::correlation_repair::nearest_correlation;
use stresslab_analytics::{covariance, pca, regression, stability, stats, AnalyticsError};
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{Cell, Column, Table};

/// Length of the rolling window for the book's betas (three years of months).
pub const ROLLING_MONTHS: usize = 36;
/// Stationary-bootstrap replications: enough for 5% / 95% percentiles to settle to
/// about ±0.01 in a beta, small enough to cost a few milliseconds.
pub const BOOTSTRAP_REPLICATIONS: usize = 500;
/// Confidence of the bootstrap intervals.
pub const BOOTSTRAP_CONFIDENCE: f64 = 0.90;
/// Fixed seed: the intervals are reproducible run to run.
pub const BOOTSTRAP_SEED: u64 = 0x0F5_B007;
/// Significance of the CUSUM test (Brown, Durbin & Evans 1975: a = 0.948 at 5%).
pub const CUSUM_SIGNIFICANCE: f64 = 0.05;
/// A hidden factor is named after a candidate series only when |correlation| reaches
/// this (a convention of this tool: half the variation shared is "material").
pub const LABEL_MIN_ABS_CORR: f64 = 0.5;
/// Hidden factors described in the report (the rest are counted).
pub const HIDDEN_FACTORS_SHOWN: usize = 3;
/// Correlation stress grid: α = 0, 0.05, …, 1.5 on C(α) = (1−α)·C_normal + α·C_stressed.
pub const SWEEP_STEPS: usize = 30;
pub const SWEEP_MAX_ALPHA: f64 = 1.5;

/// Factor-modeling specialist: how well the four factors explain the book, its tilts,
/// and how much the covariance estimate needed shrinking.
pub fn factor_modeling_specialist(model: &FactorModel) -> Findings {
    let mut f = Findings::new("factor-modeling-specialist");
    let tmv = model.total_market_value;
    let cur = model.base_currency.as_str();
    for (j, name) in model.factors.iter().enumerate() {
        f.figure(
            &format!("beta_{name}"),
            &format!("Book beta to {name}"),
            model.book_exposure[j] / tmv,
            Unit::Ratio,
            Horizon::Point,
        );
    }
    let mut r2: Vec<(f64, &str)> = model
        .positions
        .iter()
        .filter_map(|p| p.r_squared.map(|r| (r, p.id.as_str())))
        .collect();
    r2.sort_by(|a, b| a.0.total_cmp(&b.0));
    let sorted: Vec<f64> = r2.iter().map(|x| x.0).collect();
    f.figure(
        "shrinkage_intensity",
        "Ledoit-Wolf shrinkage intensity (constant-correlation target, estimation window)",
        model.shrinkage_intensity,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "estimation_months",
        "Estimation window (months)",
        model.window.months as f64,
        Unit::Months,
        Horizon::Point,
    );
    if !sorted.is_empty() {
        f.figure(
            "median_r_squared",
            "Median R² of positions",
            stats::quantile(&sorted, 0.5),
            Unit::Ratio,
            Horizon::Point,
        );
        f.figure(
            "min_r_squared",
            "Lowest R² of a position",
            sorted[0],
            Unit::Ratio,
            Horizon::Point,
        );
        let weak = sorted.iter().filter(|r| **r < 0.8).count();
        f.figure(
            "weakly_explained_positions",
            "Positions with R² below 0.80",
            weak as f64,
            Unit::Count,
            Horizon::Point,
        );
    }
    // Largest style tilt (beyond the market).
    let (tilt_j, tilt) = (1..model.factors.len())
        .map(|j| (j, model.book_exposure[j] / tmv))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap_or((0, 0.0));
    let tilt_name = &model.factors[tilt_j];
    let beta_mkt = model.book_exposure[0] / tmv;
    f.headline = format!(
        "The four-factor model puts the book's market beta at {beta_mkt:.2}; its largest style tilt is {tilt_name} at {tilt:+.2}."
    );
    let columns = [Column::text("Position"), Column::money("Market value", cur)]
        .into_iter()
        .chain(
            model
                .factors
                .iter()
                .map(|n| Column::signed(&format!("β {n}"), 2)),
        )
        .chain(
            model
                .factors
                .iter()
                .map(|n| Column::signed(&format!("t(NW) {n}"), 1)),
        )
        .chain([
            Column::number("R²", 2),
            Column::percent("Residual vol (ann.)"),
        ])
        .collect();
    let history = BookHistory::new(model);
    let series_t = history.series_nw_t_stats(model);
    // The report is for people: the largest positions by exposure amount, with every
    // position's numbers in results.json (a 50,000-row table would be a 10 MB page).
    let mut by_size: Vec<&crate::model::PositionModel> = model.positions.iter().collect();
    by_size.sort_by(|a, b| {
        b.exposure_amount
            .abs()
            .total_cmp(&a.exposure_amount.abs())
            .then(a.id.cmp(&b.id))
    });
    let listed = by_size.len().min(EXPOSURE_ROWS);
    let title = if listed < by_size.len() {
        format!(
            "Exposures of the {listed} largest of {} positions (all in results.json; OLS on monthly excess returns, in-sample {}–{}; t(NW): Newey-West t-statistics, {} lags; R² and t are — where exposures were given)",
            by_size.len(),
            model.window.start,
            model.window.end,
            history.nw_lags,
        )
    } else {
        format!(
            "Exposures (OLS on monthly excess returns, in-sample {}–{}; t(NW): Newey-West t-statistics, {} lags; R² and t are — where exposures were given)",
            model.window.start, model.window.end, history.nw_lags
        )
    };
    f.tables.push(
        Table::new(&title, columns).with_rows(by_size.into_iter().take(listed).map(|p| {
            [p.id.as_str().into(), p.market_value.into()]
                .into_iter()
                .chain(p.exposures.iter().map(|&b| b.into()))
                .chain((0..p.exposures.len()).map(|j| {
                    Cell::from(
                        p.residual_series
                            .and_then(|s| series_t[s as usize].as_ref())
                            .map(|t| t[j]),
                    )
                }))
                .chain([
                    Cell::from(p.r_squared),
                    (p.residual_vol * 12f64.sqrt()).into(),
                ])
                .collect()
        })),
    );
    if let (Some(min), Some(weak)) = (f.get("min_r_squared"), f.get("weakly_explained_positions")) {
        if weak > 0.0 {
            let names: Vec<&str> = r2
                .iter()
                .take_while(|x| x.0 < 0.8)
                .map(|x| x.1)
                .take(5)
                .collect();
            f.recommend(
                format!(
                    "{weak:.0} position(s) have R² below 0.80 (lowest {min:.2}: {}); the four factors leave material risk unexplained there — add hidden factors from the residuals before relying on factor hedges for them.",
                    names.join(", ")
                ),
                &["weakly_explained_positions", "min_r_squared"],
            );
        } else {
            f.recommend(
                format!("Every position's R² is at least {min:.2}: the four-factor model explains the book well enough to hedge with factor instruments."),
                &["min_r_squared"],
            );
        }
    }
    f.recommend(
        format!(
            "The largest style tilt is {tilt_name} at {tilt:+.2} per {cur} of book value; {tilt_name} reversal and crowding scenarios are where the book's style risk concentrates."
        ),
        &[&format!("beta_{tilt_name}")],
    );
    book_regression(&mut f, model, &history);
    beta_stability(&mut f, model, &history);
    hidden_factors(&mut f, model, &history);
    correlation_acceleration(&mut f, model);
    f
}

/// Rows of the exposures table in the report.
pub const EXPOSURE_ROWS: usize = 50;

/// The book's and each return series' monthly excess returns, rebuilt exactly from the
/// model (see the module comment), with the factor design of the estimation window.
struct BookHistory {
    /// First month of the estimation window in `model.history`.
    start: usize,
    /// Factor returns of the estimation window, months × factors.
    x_window: DMatrix<f64>,
    /// Book excess return per unit of book value, every month of the history.
    book: Vec<f64>,
    /// For each return series, a position that uses it (its α and β are the series').
    owner: Vec<Option<usize>>,
    /// Bartlett lags of the Newey-West estimator for the window's length.
    nw_lags: usize,
}

impl BookHistory {
    fn new(model: &FactorModel) -> Self {
        let n = model.history.len();
        let months = model.window.months.min(n);
        let start = n - months;
        let k = model.factors.len();
        let x_window = DMatrix::from_fn(months, k, |t, j| model.history[start + t][j]);
        let series = model.series_residuals.len();
        let mut owner = vec![None; series];
        // Amount riding on each series, and the book's monthly alpha: O(positions).
        let mut weight = vec![0.0; series];
        let mut alpha = 0.0;
        for (i, p) in model.positions.iter().enumerate() {
            if let Some(s) = p.residual_series {
                let s = s as usize;
                owner[s].get_or_insert(i);
                weight[s] += p.exposure_amount;
                alpha += p.exposure_amount * p.alpha;
            }
        }
        let value = model.total_market_value;
        let book = (0..n)
            .map(|t| {
                let factor: f64 = dot(&model.book_exposure, &model.history[t]);
                let residual: f64 = weight
                    .iter()
                    .zip(&model.series_residuals)
                    .map(|(w, e)| w * e[t])
                    .sum();
                (alpha + factor + residual) / value
            })
            .collect();
        BookHistory {
            start,
            x_window,
            book,
            owner,
            nw_lags: regression::newey_west_default_lag(months),
        }
    }

    fn book_window(&self) -> &[f64] {
        &self.book[self.start..]
    }

    /// Excess return of series `s` over the estimation window: α + β·f_t + ε_t, which
    /// is the market-data return less the risk-free rate the model regressed.
    fn series_window(&self, model: &FactorModel, s: usize) -> Option<Vec<f64>> {
        let p: &PositionModel = &model.positions[self.owner[s]?];
        let e = &model.series_residuals[s];
        Some(
            (self.start..model.history.len())
                .map(|t| p.alpha + dot(&p.exposures, &model.history[t]) + e[t])
                .collect(),
        )
    }

    /// Newey-West t-statistics of each return series' betas (one regression per series,
    /// however many positions share it).
    fn series_nw_t_stats(&self, model: &FactorModel) -> Vec<Option<Vec<f64>>> {
        (0..model.series_residuals.len())
            .map(|s| {
                let y = self.series_window(model, s)?;
                regression::ols_newey_west(&y, &self.x_window, Some(self.nw_lags), false)
                    .ok()
                    .map(|fit| fit.hac_t_stats)
            })
            .collect()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The book's own factor regression over the estimation window, with Newey-West
/// (1987) t-statistics (Bartlett kernel, lags by the Newey-West 1994 rule). Its betas
/// equal the model's book betas Σ A_i β_i / V (OLS is linear in y); what it adds is
/// whether each beta is distinguishable from zero once autocorrelation is allowed for.
fn book_regression(f: &mut Findings, model: &FactorModel, h: &BookHistory) {
    let Ok(fit) = regression::ols_newey_west(h.book_window(), &h.x_window, Some(h.nw_lags), false)
    else {
        return;
    };
    for (j, name) in model.factors.iter().enumerate() {
        f.figure(
            &format!("book_nw_t_{name}"),
            &format!(
                "Book beta to {name}: Newey-West t-statistic ({} lags, in-sample)",
                h.nw_lags
            ),
            fit.hac_t_stats[j],
            Unit::Ratio,
            Horizon::Point,
        );
    }
    f.figure(
        "book_r_squared",
        "R² of the book's factor regression (in-sample)",
        fit.fit.r_squared,
        Unit::Ratio,
        Horizon::Point,
    );
    let weak: Vec<&str> = model
        .factors
        .iter()
        .enumerate()
        .filter(|(j, _)| fit.hac_t_stats[*j].abs() < 2.0)
        .map(|(_, n)| n.as_str())
        .collect();
    if !weak.is_empty() {
        let keys: Vec<String> = weak.iter().map(|n| format!("book_nw_t_{n}")).collect();
        let cites: Vec<&str> = keys.iter().map(String::as_str).collect();
        f.recommend(
            format!(
                "The book's beta to {} is not distinguishable from zero (Newey-West |t| below 2 over {}–{}): do not pay to hedge a tilt the data cannot confirm.",
                weak.join(", "),
                model.window.start,
                model.window.end
            ),
            &cites,
        );
    }
}

/// Mean block length of the stationary bootstrap: T^(1/3), the rate of the optimal
/// block length for variance-type statistics (Hall, Horowitz & Jing 1995, Biometrika
/// 82(3); Politis & White 2004, Econometric Reviews 23(1)) — 4.9 months for T = 120.
fn block_length(months: usize) -> f64 {
    (months as f64).cbrt().max(1.0)
}

/// Stability of the book's betas: rolling and expanding windows over the whole history,
/// stationary-bootstrap intervals for the betas and factor correlations of the
/// estimation window, and the CUSUM test of the book's regression in that window.
fn beta_stability(f: &mut Findings, model: &FactorModel, h: &BookHistory) {
    let n = model.history.len();
    let k = model.factors.len();
    let x_all = DMatrix::from_fn(n, k, |t, j| model.history[t][j]);
    if n >= ROLLING_MONTHS {
        let ends: Vec<usize> = (ROLLING_MONTHS..=n).collect();
        let fit = |from: usize, to: usize| {
            regression::ols(&h.book[from..to], &x_all.rows(from, to - from).into_owned())
                .map(|f| f.betas)
                .unwrap_or_else(|_| vec![f64::NAN; k])
        };
        let rolling: Vec<Vec<f64>> = ends.iter().map(|&e| fit(e - ROLLING_MONTHS, e)).collect();
        let expanding = expanding_betas(&h.book, &x_all, &ends);
        let labels: Vec<String> = ends
            .iter()
            .map(|&e| model.history_dates[e - 1].clone())
            .collect();
        let (first, last) = (&labels[0], &labels[labels.len() - 1]);
        for (j, name) in model.factors.iter().enumerate() {
            let path: Vec<f64> = rolling
                .iter()
                .map(|b| b[j])
                .filter(|b| b.is_finite())
                .collect();
            if path.is_empty() {
                continue;
            }
            let lo = path.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = path.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            f.figure(
                &format!("rolling_beta_min_{name}"),
                &format!("Lowest book beta to {name} over rolling {ROLLING_MONTHS}-month windows ending {first}–{last} (in-sample, today's holdings)"),
                lo,
                Unit::Ratio,
                Horizon::Point,
            );
            f.figure(
                &format!("rolling_beta_max_{name}"),
                &format!("Highest book beta to {name} over rolling {ROLLING_MONTHS}-month windows ending {first}–{last} (in-sample, today's holdings)"),
                hi,
                Unit::Ratio,
                Horizon::Point,
            );
            if let Some(b) = expanding.last().map(|b| b[j]).filter(|b| b.is_finite()) {
                f.figure(
                    &format!("full_history_beta_{name}"),
                    &format!("Book beta to {name} over the whole history to {last} (expanding window's end, in-sample)"),
                    b,
                    Unit::Ratio,
                    Horizon::Point,
                );
            }
        }
        let chart = |key: &str, title: String, betas: &[Vec<f64>]| Chart {
            key: key.into(),
            title,
            kind: ChartKind::Timeline,
            labels: labels.clone(),
            x: Vec::new(),
            x_label: "Window end (month)".into(),
            x_unit: Unit::Months,
            y_label: "Book beta per unit of book value".into(),
            y_unit: Unit::Ratio,
            series: model
                .factors
                .iter()
                .enumerate()
                .map(|(j, name)| ChartSeries {
                    name: name.clone(),
                    values: betas.iter().map(|b| b[j]).collect(),
                })
                .collect(),
        };
        f.charts.push(chart(
            "rolling_betas",
            format!("Book betas over rolling {ROLLING_MONTHS}-month windows (today's holdings, in-sample OLS)"),
            &rolling,
        ));
        f.charts.push(chart(
            "expanding_betas",
            format!(
                "Book betas over expanding windows from {} (today's holdings, in-sample OLS)",
                model.history_dates[0]
            ),
            &expanding,
        ));
    }

    let months = h.x_window.nrows();
    let block = block_length(months);
    if let Ok(ci) = ols_bootstrap_ci(
        h.book_window(),
        &h.x_window,
        block,
        BOOTSTRAP_REPLICATIONS,
        BOOTSTRAP_CONFIDENCE,
        BOOTSTRAP_SEED,
    ) {
        let pct = BOOTSTRAP_CONFIDENCE * 100.0;
        for (j, name) in model.factors.iter().enumerate() {
            for (side, value) in [("lower", ci.lower[j]), ("upper", ci.upper[j])] {
                f.figure(
                    &format!("beta_{name}_ci_{side}"),
                    &format!("Book beta to {name}: {side} end of the {pct:.0}% stationary-bootstrap interval ({} resamples, mean block {block:.1} months, in-sample)", ci.replications),
                    value,
                    Unit::Ratio,
                    Horizon::Point,
                );
            }
        }
    }
    correlation_intervals(f, model, h, block);

    if let Ok(test) = stability::cusum_test(h.book_window(), &h.x_window, CUSUM_SIGNIFICANCE) {
        let peak = test
            .path
            .iter()
            .zip(&test.boundary)
            .map(|(w, b)| w.abs() / b)
            .fold(0.0, f64::max);
        let crossing = test
            .first_crossing
            .map(|i| model.history_dates[h.start + i].clone());
        f.figure(
            "cusum_crossed",
            &format!(
                "CUSUM test of the book's factor regression, {}–{}: 1 = the path crossed the {:.0}% boundary{}",
                model.window.start,
                model.window.end,
                CUSUM_SIGNIFICANCE * 100.0,
                crossing.as_deref().map(|d| format!(" (first in {d})")).unwrap_or_default()
            ),
            f64::from(u8::from(crossing.is_some())),
            Unit::Count,
            Horizon::Point,
        );
        f.figure(
            "cusum_peak_to_boundary",
            "Largest |CUSUM| as a multiple of its boundary (above 1 = structural break)",
            peak,
            Unit::Ratio,
            Horizon::Point,
        );
        let text = match &crossing {
            Some(date) => format!(
                "The book's factor regression fails the CUSUM stability test (Brown-Durbin-Evans, {:.0}%): the path first leaves the band in {date}, peaking at {peak:.2}× the boundary — its exposures shifted inside the {}–{} window; re-estimate on the months after {date} (or a shorter window) before sizing hedges on these betas.",
                CUSUM_SIGNIFICANCE * 100.0,
                model.window.start,
                model.window.end
            ),
            None => format!(
                "The book's factor regression passes the CUSUM stability test over {}–{} ({:.0}%; the path peaks at {peak:.2}× the boundary): no structural break in its exposures inside the estimation window.",
                model.window.start,
                model.window.end,
                CUSUM_SIGNIFICANCE * 100.0
            ),
        };
        f.recommend(text, &["cusum_crossed", "cusum_peak_to_boundary"]);
    }

    // The factor whose rolling beta moved most, with its bootstrap interval.
    let widest = model
        .factors
        .iter()
        .filter_map(|name| {
            let lo = f.get(&format!("rolling_beta_min_{name}"))?;
            let hi = f.get(&format!("rolling_beta_max_{name}"))?;
            f.get(&format!("beta_{name}_ci_lower"))?;
            Some((name, lo, hi))
        })
        .max_by(|a, b| (a.2 - a.1).total_cmp(&(b.2 - b.1)));
    if let Some((name, lo, hi)) = widest {
        let keys = [
            format!("rolling_beta_min_{name}"),
            format!("rolling_beta_max_{name}"),
            format!("beta_{name}_ci_lower"),
            format!("beta_{name}_ci_upper"),
        ];
        let (ci_lo, ci_hi) = (
            f.get(&keys[2]).unwrap_or(0.0),
            f.get(&keys[3]).unwrap_or(0.0),
        );
        let cites: Vec<&str> = keys.iter().map(String::as_str).collect();
        f.recommend(
            format!(
                "The book's {name} beta is the least stable: {lo:+.2} to {hi:+.2} across {ROLLING_MONTHS}-month windows of history, and {ci_lo:+.2} to {ci_hi:+.2} ({:.0}% bootstrap) in the estimation window — size {name} hedges and limits for the interval, not the point estimate, and re-check them each quarter.",
                BOOTSTRAP_CONFIDENCE * 100.0
            ),
            &cites,
        );
    }
}

/// OLS slopes of `y` on `[1 x]` over the expanding windows `0..e` for each `e` of
/// `ends` (ascending), from running sums of the normal equations `Z'Z b = Z'y` — one
/// pass over the history instead of a fresh QR per window. The design is five
/// well-scaled columns, so the normal equations lose nothing material (the test holds
/// the last window to the QR fit at 1e-9). A singular window gives NaN slopes.
fn expanding_betas(y: &[f64], x: &DMatrix<f64>, ends: &[usize]) -> Vec<Vec<f64>> {
    let k = x.ncols();
    let p = k + 1;
    let mut ztz = DMatrix::<f64>::zeros(p, p);
    let mut zty = nalgebra::DVector::<f64>::zeros(p);
    let mut z = nalgebra::DVector::<f64>::zeros(p);
    let mut added = 0;
    ends.iter()
        .map(|&end| {
            for t in added..end {
                z[0] = 1.0;
                for j in 0..k {
                    z[j + 1] = x[(t, j)];
                }
                ztz.ger(1.0, &z, &z, 1.0);
                zty.axpy(y[t], &z, 1.0);
            }
            added = end;
            match ztz.clone().cholesky() {
                Some(c) => c.solve(&zty).iter().skip(1).copied().collect(),
                None => vec![f64::NAN; k],
            }
        })
        .collect()
}

/// Pearson correlation of two equally long series.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (stats::mean(a), stats::mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

/// A correlation between columns `i < j`, with its bootstrap interval (NaN ends when
/// no resample gave a finite correlation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorrelationInterval {
    pub i: usize,
    pub j: usize,
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Percentile intervals for the pairwise correlations of the columns of `x`, resampling
/// its rows with the stationary bootstrap (Politis & Romano 1994; Efron & Tibshirani
/// 1993 §13.3): one per pair (i < j), in row-major order.
pub fn correlation_bootstrap(
    x: &DMatrix<f64>,
    mean_block_length: f64,
    replications: usize,
    confidence: f64,
    seed: u64,
) -> Result<Vec<CorrelationInterval>, AnalyticsError> {
    let (t, k) = x.shape();
    let cols: Vec<Vec<f64>> = (0..k)
        .map(|j| x.column(j).iter().copied().collect())
        .collect();
    let pairs: Vec<(usize, usize)> = (0..k)
        .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
        .collect();
    let mut draws = vec![Vec::with_capacity(replications); pairs.len()];
    let mut sampler = StationaryBootstrap::new(t, mean_block_length, seed)?;
    let mut resampled = vec![vec![0.0; t]; k];
    for _ in 0..replications {
        let idx = sampler.sample();
        for (dst, src) in resampled.iter_mut().zip(&cols) {
            for (d, &i) in dst.iter_mut().zip(&idx) {
                *d = src[i];
            }
        }
        for (d, &(i, j)) in draws.iter_mut().zip(&pairs) {
            let c = correlation(&resampled[i], &resampled[j]);
            if c.is_finite() {
                d.push(c);
            }
        }
    }
    let tail = (1.0 - confidence) / 2.0;
    Ok(pairs
        .iter()
        .zip(&mut draws)
        .map(|(&(i, j), d)| {
            d.sort_by(f64::total_cmp);
            let point = correlation(&cols[i], &cols[j]);
            let (lower, upper) = if d.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                (stats::quantile(d, tail), stats::quantile(d, 1.0 - tail))
            };
            CorrelationInterval {
                i,
                j,
                point,
                lower,
                upper,
            }
        })
        .collect())
}

fn correlation_intervals(f: &mut Findings, model: &FactorModel, h: &BookHistory, block: f64) {
    let Ok(pairs) = correlation_bootstrap(
        &h.x_window,
        block,
        BOOTSTRAP_REPLICATIONS,
        BOOTSTRAP_CONFIDENCE,
        BOOTSTRAP_SEED + 1,
    ) else {
        return;
    };
    let pct = BOOTSTRAP_CONFIDENCE * 100.0;
    let mut table = Table::new(
        &format!(
            "Factor correlations, {}–{} (sample, in-sample) with {pct:.0}% stationary-bootstrap intervals ({BOOTSTRAP_REPLICATIONS} resamples, mean block {block:.1} months)",
            model.window.start, model.window.end
        ),
        vec![
            Column::text("Pair"),
            Column::signed("Correlation", 2),
            Column::signed("Lower", 2),
            Column::signed("Upper", 2),
        ],
    );
    for CorrelationInterval {
        i,
        j,
        point,
        lower: lo,
        upper: hi,
    } in pairs
    {
        let (a, b) = (&model.factors[i], &model.factors[j]);
        let key = format!("corr_{a}_{b}");
        f.figure(
            &key,
            &format!("Correlation of {a} and {b}, estimation window (sample)"),
            point,
            Unit::Ratio,
            Horizon::Point,
        );
        for (side, v) in [("lower", lo), ("upper", hi)] {
            if v.is_finite() {
                f.figure(
                    &format!("{key}_ci_{side}"),
                    &format!("Correlation of {a} and {b}: {side} end of the {pct:.0}% stationary-bootstrap interval"),
                    v,
                    Unit::Ratio,
                    Horizon::Point,
                );
            }
        }
        table.row(vec![
            format!("{a}–{b}").into(),
            point.into(),
            Cell::from(Some(lo).filter(|v| v.is_finite())),
            Cell::from(Some(hi).filter(|v| v.is_finite())),
        ]);
    }
    f.tables.push(table);
}

/// A hidden factor: a principal component of the residuals above the Marchenko-Pastur
/// edge, with the candidate series it moves with most.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenFactor {
    pub eigenvalue: f64,
    /// Share of the residuals' standardised variance (eigenvalue / number of series).
    pub variance_share: f64,
    /// The candidate with the largest |correlation| (after removing the four factors
    /// from it), and that correlation.
    pub nearest: Option<(String, f64)>,
    /// Correlation with every candidate, in the candidates' order.
    pub correlations: Vec<(String, f64)>,
    /// Residual series ordered by |loading|, largest first: (series index, loading).
    pub loadings: Vec<(usize, f64)>,
}

impl HiddenFactor {
    /// The economic label, when the correlation is material
    /// (|corr| ≥ [`LABEL_MIN_ABS_CORR`]).
    pub fn label(&self) -> Option<(&str, f64)> {
        self.nearest
            .as_ref()
            .filter(|(_, c)| c.abs() >= LABEL_MIN_ABS_CORR)
            .map(|(n, c)| (n.as_str(), *c))
    }
}

/// Hidden factors of a months × series residual panel: PCA of the residual correlation
/// matrix with the Marchenko-Pastur cutoff ([`pca::residual_pca`]; Laloux et al. 1999),
/// each retained component labelled by the candidate series its scores correlate with
/// most. Candidates are first regressed on the model's factors `x` (OLS with intercept)
/// and only their residuals are used — the component is orthogonal to the factors by
/// construction, so this is the partial correlation given the factors (Greene,
/// *Econometric Analysis*, §3.4), not diluted by the candidate's own market beta.
/// Returns the PCA and up to `shown` components.
pub fn find_hidden_factors(
    panel: &DMatrix<f64>,
    x: &DMatrix<f64>,
    candidates: &[(String, Vec<f64>)],
    shown: usize,
) -> Result<(pca::ResidualPca, Vec<HiddenFactor>), AnalyticsError> {
    let pca = pca::residual_pca(panel)?;
    let months = panel.nrows();
    let unexplained: Vec<(&str, Vec<f64>)> = candidates
        .iter()
        .filter(|(_, v)| v.len() == months)
        .filter_map(|(name, v)| {
            regression::ols(v, x)
                .ok()
                .map(|fit| (name.as_str(), fit.residuals))
        })
        .collect();
    let factors = (0..pca.n_factors.min(shown))
        .map(|c| {
            let scores: Vec<f64> = pca.scores.column(c).iter().copied().collect();
            let correlations: Vec<(String, f64)> = unexplained
                .iter()
                .map(|(name, v)| (name.to_string(), correlation(&scores, v)))
                .filter(|(_, r)| r.is_finite())
                .collect();
            let nearest = correlations
                .iter()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .cloned();
            let mut loadings: Vec<(usize, f64)> =
                pca.loadings.column(c).iter().copied().enumerate().collect();
            loadings.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            HiddenFactor {
                eigenvalue: pca.eigenvalues[c],
                variance_share: pca.variance_explained[c],
                nearest,
                correlations,
                loadings,
            }
        })
        .collect();
    Ok((pca, factors))
}

/// A reader's name for a candidate label column (the Fama-French 12-industry and
/// size/value portfolio definitions; Moody's seasoned Baa and Aaa yields).
pub fn label_name(column: &str) -> String {
    let industry = match column {
        "NoDur" => Some("consumer non-durables"),
        "Durbl" => Some("consumer durables"),
        "Manuf" => Some("manufacturing"),
        "Enrgy" => Some("energy"),
        "Chems" => Some("chemicals"),
        "BusEq" => Some("business equipment (tech)"),
        "Telcm" => Some("telecoms"),
        "Utils" => Some("utilities"),
        "Shops" => Some("retail"),
        "Hlth" => Some("healthcare"),
        "Money" => Some("finance"),
        "Other" => Some("other industries"),
        "BaaAaaChange" => Some("credit spread (Baa−Aaa change)"),
        _ => None,
    };
    if let Some(name) = industry {
        return format!("{name} ({column})");
    }
    // S{size}V{value}: quintile 1, 3, 5 of size and of book-to-market.
    let b = column.as_bytes();
    if b.len() == 4 && b[0] == b'S' && b[2] == b'V' {
        let size = match b[1] {
            b'1' => "small",
            b'3' => "mid-cap",
            _ => "large",
        };
        let style = match b[3] {
            b'1' => "growth",
            b'3' => "blend",
            _ => "value",
        };
        return format!("{size} {style} ({column})");
    }
    column.to_owned()
}

/// The series a hidden factor may be named after: the model's label candidates less
/// every series a position holds (`positions[].return_series`). A held series' own
/// residual is one of the columns the PCA runs on, so its correlation with a component
/// that loads on it is partly built in — naming the factor after it, and advising a
/// hedge in it, would be circular. Unheld columns and the credit spread stay.
pub fn label_candidates(model: &FactorModel) -> Vec<(String, Vec<f64>)> {
    let held: std::collections::HashSet<&str> = model
        .positions
        .iter()
        .filter_map(|p| p.return_series.as_deref())
        .collect();
    model
        .label_series
        .iter()
        .filter(|(name, _)| !held.contains(name.as_str()))
        .cloned()
        .collect()
}

fn hidden_factors(f: &mut Findings, model: &FactorModel, h: &BookHistory) {
    let series = model.series_residuals.len();
    if series < 2 {
        return; // One residual series has no cross-section to find a factor in.
    }
    let months = h.x_window.nrows();
    let panel = DMatrix::from_fn(months, series, |t, s| {
        model.series_residuals[s][h.start + t]
    });
    let candidates = label_candidates(model);
    let Ok((pca, factors)) =
        find_hidden_factors(&panel, &h.x_window, &candidates, HIDDEN_FACTORS_SHOWN)
    else {
        return;
    };
    let position_of = |s: usize| -> String {
        let owner = h.owner[s].map(|i| model.positions[i].id.as_str());
        let shared = model
            .positions
            .iter()
            .filter(|p| p.residual_series == Some(s as u32))
            .count();
        match (owner, shared) {
            (Some(id), 1) => id.to_owned(),
            (Some(id), n) => format!("{id} (+{} on the same series)", n - 1),
            (None, _) => format!("series {s}"),
        }
    };
    f.figure(
        "hidden_factors",
        &format!(
            "Hidden factors: residual components above the Marchenko-Pastur edge ({series} return series, {}–{}, in-sample)",
            model.window.start, model.window.end
        ),
        pca.n_factors as f64,
        Unit::Count,
        Horizon::Point,
    );
    f.figure(
        "mp_upper_edge",
        "Marchenko-Pastur upper edge (largest eigenvalue pure noise gives)",
        pca.mp_upper_edge,
        Unit::Ratio,
        Horizon::Point,
    );
    let mut table = Table::new(
        &format!(
            "Hidden factors in the residuals, {}–{}{} (PCA of the residual correlation matrix; retained above the Marchenko-Pastur edge {:.2}; labelled when |partial correlation| ≥ {LABEL_MIN_ABS_CORR} with a candidate series the book does not hold ({} left; held series are excluded, their match would be built in)",
            model.window.start,
            model.window.end,
            if pca.n_factors > factors.len() {
                format!(": first {} of {} shown", factors.len(), pca.n_factors)
            } else {
                String::new()
            },
            pca.mp_upper_edge,
            candidates.len()
        ),
        vec![
            Column::text("Component"),
            Column::number("Eigenvalue", 2),
            Column::percent("Share of residual variance"),
            Column::text("Label"),
            Column::signed("Correlation with nearest candidate", 2),
            Column::signed("Correlation with credit spread", 2),
            Column::text("Largest loadings"),
        ],
    );
    for (c, hf) in factors.iter().enumerate() {
        let key = format!("hidden_factor_{}", c + 1);
        f.figure(
            &format!("{key}_variance_share"),
            &format!(
                "Hidden factor {}: share of standardised residual variance (in-sample)",
                c + 1
            ),
            hf.variance_share,
            Unit::Fraction,
            Horizon::Point,
        );
        if let Some((name, r)) = &hf.nearest {
            f.figure(
                &format!("{key}_label_corr"),
                &format!("Hidden factor {}: correlation with {} (after removing the four factors from it)", c + 1, label_name(name)),
                *r,
                Unit::Ratio,
                Horizon::Point,
            );
        }
        let top: Vec<String> = hf
            .loadings
            .iter()
            .take(3)
            .map(|&(s, l)| format!("{} {l:+.2}", position_of(s)))
            .collect();
        table.row(vec![
            format!("{}", c + 1).into(),
            hf.eigenvalue.into(),
            hf.variance_share.into(),
            hf.label()
                .map_or("unlabelled".to_owned(), |(n, _)| label_name(n))
                .into(),
            Cell::from(hf.nearest.as_ref().map(|(_, r)| *r)),
            Cell::from(
                hf.correlations
                    .iter()
                    .find(|(n, _)| n == "BaaAaaChange")
                    .map(|(_, r)| *r),
            ),
            top.join(", ").into(),
        ]);
    }
    f.tables.push(table);

    match factors.first() {
        Some(first) => {
            let top: Vec<String> = first
                .loadings
                .iter()
                .take(3)
                .map(|&(s, _)| position_of(s))
                .collect();
            let share = first.variance_share * 100.0;
            let what = match first.label() {
                Some((name, r)) => {
                    let name = label_name(name);
                    format!("it moves with {name} (partial correlation {r:+.2}, four factors removed) — an unmodelled {name} factor; add it to the model or hedge it with a {name} instrument")
                }
                None => format!("no candidate series explains it (best |correlation| below {LABEL_MIN_ABS_CORR}), so treat it as an unlabelled common risk and cap the positions loading on it"),
            };
            let mut cites = vec!["hidden_factors", "mp_upper_edge", "hidden_factor_1_variance_share"];
            if first.nearest.is_some() {
                cites.push("hidden_factor_1_label_corr");
            }
            f.recommend(
                format!(
                    "The residuals hold {} hidden factor(s) above the Marchenko-Pastur edge; the first carries {share:.0}% of residual variance, loads most on {}, and {what}.",
                    pca.n_factors,
                    top.join(", ")
                ),
                &cites,
            );
        }
        None => f.recommend(
            format!(
                "No residual component rises above the Marchenko-Pastur edge ({:.2}): the residuals look like noise, with no hidden common factor to add.",
                pca.mp_upper_edge
            ),
            &["hidden_factors", "mp_upper_edge"],
        ),
    }
}

/// One level of the correlation stress sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// Blend weight on the stressed correlations (0 normal, 1 stressed, >1 beyond).
    pub alpha: f64,
    /// Mean |off-diagonal correlation| of the (repaired) matrix.
    pub mean_abs_corr: f64,
    /// Book factor volatility, √(bᵀ D C D b), in the units of `exposure × vols`.
    pub vol: f64,
    /// Whether the blend was not a valid correlation matrix and was repaired.
    pub repaired: bool,
}

fn mean_abs_offdiagonal(c: &DMatrix<f64>) -> f64 {
    let k = c.nrows();
    if k < 2 {
        return 0.0;
    }
    let sum: f64 = (0..k)
        .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
        .map(|(i, j)| c[(i, j)].abs())
        .sum();
    sum / (k * (k - 1) / 2) as f64
}

/// Correlation stress sweep at fixed (normal) volatilities: for each α,
/// `C(α) = (1 − α) C_normal + α C_stressed`, and for α > 1 (beyond the stressed window,
/// where the blend can leave the set of correlation matrices) the nearest correlation
/// matrix in Frobenius norm (Higham 2002, IMA J. Numer. Anal. 22(3)); then the book's
/// factor volatility `√(bᵀ D C(α) D b)`, D = diag(vols).
///
/// Note: the book's variance is affine in the correlations, so along the unrepaired
/// path the volatility is the square root of a linear function of α — concave. Any
/// acceleration therefore comes from how correlations move relative to their mean
/// |level| (a correlation crossing zero moves the level little while the book's vol
/// still changes) or from the repair; [`steepest_rise`] reports where that is.
pub fn correlation_sweep(
    exposure: &[f64],
    vols: &[f64],
    normal: &DMatrix<f64>,
    stressed: &DMatrix<f64>,
    alphas: &[f64],
) -> Result<Vec<SweepPoint>, AnalyticsError> {
    let k = exposure.len();
    let scaled = nalgebra::DVector::from_fn(k, |i, _| exposure[i] * vols[i]);
    alphas
        .iter()
        .map(|&alpha| {
            let blend = normal * (1.0 - alpha) + stressed * alpha;
            let repaired = nearest_correlation(&blend, 1e-10, 10_000)?;
            let c = repaired.matrix;
            let var = (scaled.transpose() * &c * &scaled)[(0, 0)];
            Ok(SweepPoint {
                alpha,
                mean_abs_corr: mean_abs_offdiagonal(&c),
                vol: var.max(0.0).sqrt(),
                repaired: repaired.iterations > 0,
            })
        })
        .collect()
}

/// Where the book's volatility rises fastest per unit of correlation level.
///
/// Criterion: over consecutive sweep points `k, k+1` at which the mean |correlation|
/// rises (`m_{k+1} − m_k > 1e-9`), the slope `s_k = (σ_{k+1} − σ_k) / (m_{k+1} − m_k)`
/// (a forward difference of σ with respect to m). The acceleration level is `m_k` of
/// the segment with the largest positive slope: beyond it, each unit of added
/// correlation costs the most volatility. Returns `(k, s_k, s_0)` with `s_0` the slope
/// of the first segment (at today's correlations) when the level rises there, or
/// `None` if the volatility never rises with correlation. `k = 0` means the curve is
/// steepest at today's correlations — concave: the first rise costs the most.
pub fn steepest_rise(points: &[SweepPoint]) -> Option<(usize, f64, Option<f64>)> {
    let slopes: Vec<(usize, f64)> = points
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1].mean_abs_corr - w[0].mean_abs_corr > 1e-9)
        .map(|(k, w)| {
            (
                k,
                (w[1].vol - w[0].vol) / (w[1].mean_abs_corr - w[0].mean_abs_corr),
            )
        })
        .collect();
    let first = slopes.first().filter(|(k, _)| *k == 0).map(|(_, s)| *s);
    slopes
        .iter()
        .copied()
        .filter(|(_, s)| *s > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, s)| (k, s, first))
}

fn correlation_acceleration(f: &mut Findings, model: &FactorModel) {
    let shrunk = from_rows(&model.covariance_shrunk);
    let normal = covariance::correlation_from_covariance(&shrunk);
    let stressed = covariance::correlation_from_covariance(&from_rows(&model.covariance_stressed));
    // Annualised, per unit of book value: the book's factor vol as a fraction.
    let scale = 12f64.sqrt() / model.total_market_value;
    let vols: Vec<f64> = (0..shrunk.nrows())
        .map(|i| shrunk[(i, i)].max(0.0).sqrt() * scale)
        .collect();
    let alphas: Vec<f64> = (0..=SWEEP_STEPS)
        .map(|i| SWEEP_MAX_ALPHA * i as f64 / SWEEP_STEPS as f64)
        .collect();
    let Ok(points) = correlation_sweep(&model.book_exposure, &vols, &normal, &stressed, &alphas)
    else {
        return;
    };
    let at = |a: f64| points.iter().find(|p| (p.alpha - a).abs() < 1e-12);
    let (Some(p0), Some(p1), Some(pmax)) = (at(0.0), at(1.0), points.last()) else {
        return;
    };
    let level = |f: &mut Findings, key: &str, label: &str, v: f64| {
        f.figure(key, label, v, Unit::Ratio, Horizon::Point);
    };
    let vol = |f: &mut Findings, key: &str, label: &str, v: f64| {
        f.figure(key, label, v, Unit::Fraction, Horizon::Annualised);
    };
    level(
        f,
        "sweep_mean_abs_corr_normal",
        "Mean |factor correlation|, normal (Ledoit-Wolf)",
        p0.mean_abs_corr,
    );
    level(
        f,
        "sweep_mean_abs_corr_stressed",
        &format!(
            "Mean |factor correlation|, stressed window {}–{}",
            model.stressed_window.start, model.stressed_window.end
        ),
        p1.mean_abs_corr,
    );
    vol(
        f,
        "book_factor_vol_normal_corr",
        "Book factor volatility at normal correlations (normal vols; annualised, of book value)",
        p0.vol,
    );
    vol(
        f,
        "book_factor_vol_stressed_corr",
        "Book factor volatility at stressed correlations, normal vols (annualised)",
        p1.vol,
    );
    vol(f, "book_factor_vol_extreme_corr", &format!("Book factor volatility at {SWEEP_MAX_ALPHA}× the normal-to-stressed correlation move, repaired to a valid matrix, normal vols (annualised)"), pmax.vol);
    f.charts.push(Chart {
        key: "vol_vs_correlation".into(),
        title: format!("Book factor volatility as factor correlations move from normal (α = 0) to stressed (α = 1) and beyond (α = {SWEEP_MAX_ALPHA}), vols held at normal"),
        kind: ChartKind::Scatter,
        labels: points.iter().map(|p| format!("α={:.2}", p.alpha)).collect(),
        x: points.iter().map(|p| p.mean_abs_corr).collect(),
        x_label: "Mean |factor correlation|".into(),
        x_unit: Unit::Ratio,
        y_label: "Book factor volatility (annualised, of book value)".into(),
        y_unit: Unit::Fraction,
        series: vec![ChartSeries {
            name: "Book factor volatility".into(),
            values: points.iter().map(|p| p.vol).collect(),
        }],
    });
    let mut cites = vec![
        "sweep_mean_abs_corr_normal",
        "sweep_mean_abs_corr_stressed",
        "book_factor_vol_normal_corr",
        "book_factor_vol_stressed_corr",
        "book_factor_vol_extreme_corr",
    ];
    let move_text = format!(
        "Holding factor vols at normal, moving factor correlations from normal (mean |corr| {:.2}) to the stressed window's ({:.2}) takes the book's annualised factor vol from {:.1}% to {:.1}% ({:.1}% at {SWEEP_MAX_ALPHA}× the move)",
        p0.mean_abs_corr,
        p1.mean_abs_corr,
        p0.vol * 100.0,
        p1.vol * 100.0,
        pmax.vol * 100.0
    );
    let tail = match steepest_rise(&points) {
        Some((k, slope, first)) => {
            let m = points[k].mean_abs_corr;
            level(f, "vol_acceleration_corr_level", "Mean |factor correlation| beyond which the book's factor vol rises fastest per unit of correlation (normal vols)", m);
            vol(f, "vol_acceleration_slope", "Largest rise in book factor vol per unit of mean |correlation| (annualised)", slope);
            cites.extend(["vol_acceleration_corr_level", "vol_acceleration_slope"]);
            let today = first.map(|s| {
                vol(f, "vol_slope_at_normal_corr", "Rise in book factor vol per unit of mean |correlation| at normal correlations (annualised)", s);
                cites.push("vol_slope_at_normal_corr");
                format!(" against {:.1} at today's correlations", s * 100.0)
            });
            if k == 0 {
                format!("; the curve is concave — vol rises fastest from today's correlations ({:.1} points of vol per unit of mean |corr|), so there is no threshold to wait for: the first rise in correlation is the costliest.", slope * 100.0)
            } else {
                format!("; vol accelerates beyond mean |corr| {m:.2} ({}), rising {:.1} points of vol per unit of mean |corr| there{} — set a correlation trigger below {m:.2}.", if points[k + 1].repaired { "where the stressed blend needs repair to stay a valid correlation matrix" } else { "where a correlation crosses zero or turns against the book" }, slope * 100.0, today.unwrap_or_default())
            }
        }
        None => ": the book's factor vol does not rise as correlations move towards the stressed pattern — its factor bets are hedged against that correlation move.".into(),
    };
    f.recommend(format!("{move_text}{tail}"), &cites);
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_analytics::rng::Xoshiro256;

    fn sample_model() -> FactorModel {
        let (portfolio, market) = crate::tests::sample();
        crate::model::estimate(&portfolio, &market).unwrap()
    }

    fn normal(rng: &mut Xoshiro256) -> f64 {
        // Box-Muller from two uniforms in (0, 1].
        let u = 1.0 - rng.uniform();
        let v = rng.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    #[test]
    fn newey_west_t_stats_match_statsmodels_on_the_sample_window() {
        // Oracle: statsmodels 0.14 on the sample CSV, months 2007-04..2017-03 (the
        // model's window), y = NoDur − RF (resp. Utils − RF), X = MktRF SMB HML Mom:
        //   sm.OLS(y, sm.add_constant(X)).fit(cov_type='HAC', cov_kwds={'maxlags': 4})
        // .params[1:] and .tvalues[1:].
        let expected = [
            (
                "NoDur",
                [
                    0.7376406660046806,
                    -0.31023707758414104,
                    -0.0525979558211682,
                    0.05158514765876586,
                ],
                [
                    21.64030072892474,
                    -2.9668322636808027,
                    -0.6322591970315883,
                    1.9081060831725254,
                ],
            ),
            (
                "Utils",
                [
                    0.6658217299104929,
                    -0.23816635635534233,
                    -0.1744599941329333,
                    0.1566585325910611,
                ],
                [
                    8.899775282343636,
                    -1.5252317048618447,
                    -1.3700642984129743,
                    3.0552631679255144,
                ],
            ),
        ];
        let model = sample_model();
        let h = BookHistory::new(&model);
        assert_eq!(h.nw_lags, 4);
        let t = h.series_nw_t_stats(&model);
        for (series, betas, t_stats) in expected {
            let p = model
                .positions
                .iter()
                .find(|p| p.return_series.as_deref() == Some(series))
                .unwrap();
            let s = p.residual_series.unwrap() as usize;
            for j in 0..4 {
                assert!((p.exposures[j] - betas[j]).abs() < 1e-10, "{series} β{j}");
                let got = t[s].as_ref().unwrap()[j];
                assert!(
                    (got - t_stats[j]).abs() < 1e-8 * t_stats[j].abs(),
                    "{series} t{j}: {got}"
                );
            }
        }
    }

    #[test]
    fn the_books_own_regression_reproduces_the_model_betas() {
        let model = sample_model();
        let h = BookHistory::new(&model);
        let fit = regression::ols(h.book_window(), &h.x_window).unwrap();
        for j in 0..4 {
            let beta = model.book_exposure[j] / model.total_market_value;
            assert!(
                (fit.betas[j] - beta).abs() < 1e-10,
                "{j}: {} vs {beta}",
                fit.betas[j]
            );
        }
    }

    #[test]
    fn the_sample_book_gets_every_figure_and_intervals_cover_the_estimates() {
        let model = sample_model();
        let f = factor_modeling_specialist(&model);
        for name in &model.factors {
            let beta = f.get(&format!("beta_{name}")).unwrap();
            let lo = f.get(&format!("beta_{name}_ci_lower")).unwrap();
            let hi = f.get(&format!("beta_{name}_ci_upper")).unwrap();
            assert!(lo < beta && beta < hi, "{name}: {lo} {beta} {hi}");
            let (rmin, rmax) = (
                f.get(&format!("rolling_beta_min_{name}")).unwrap(),
                f.get(&format!("rolling_beta_max_{name}")).unwrap(),
            );
            assert!(rmin < rmax);
            assert!(f.get(&format!("book_nw_t_{name}")).unwrap().is_finite());
        }
        for (i, a) in model.factors.iter().enumerate() {
            for b in &model.factors[i + 1..] {
                let key = format!("corr_{a}_{b}");
                let c = f.get(&key).unwrap();
                let lo = f.get(&format!("{key}_ci_lower")).unwrap();
                let hi = f.get(&format!("{key}_ci_upper")).unwrap();
                assert!(lo < c && c < hi, "{key}: {lo} {c} {hi}");
            }
        }
        for key in [
            "cusum_crossed",
            "cusum_peak_to_boundary",
            "hidden_factors",
            "book_factor_vol_stressed_corr",
            "vol_acceleration_corr_level",
        ] {
            assert!(f.get(key).is_some_and(f64::is_finite), "{key}");
        }
        let keys: Vec<&str> = f.charts.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            ["rolling_betas", "expanding_betas", "vol_vs_correlation"]
        );
        for c in &f.charts {
            for s in &c.series {
                assert_eq!(s.values.len(), c.labels.len(), "{}", c.key);
            }
        }
        // The rolling window's last point is the last 36 months' OLS.
        let rolling = &f.charts[0];
        let h = BookHistory::new(&model);
        let n = model.history.len();
        let x = DMatrix::from_fn(ROLLING_MONTHS, 4, |t, j| {
            model.history[n - ROLLING_MONTHS + t][j]
        });
        let last = regression::ols(&h.book[n - ROLLING_MONTHS..], &x).unwrap();
        assert_eq!(rolling.labels.last(), model.history_dates.last());
        assert!((rolling.series[1].values.last().unwrap() - last.betas[1]).abs() < 1e-12);
        // The expanding window's last point is the whole history's OLS (QR).
        let x = DMatrix::from_fn(n, 4, |t, j| model.history[t][j]);
        let all = regression::ols(&h.book, &x).unwrap();
        for (j, name) in model.factors.iter().enumerate() {
            let got = f.charts[1].series[j].values.last().unwrap();
            assert!(
                (got - all.betas[j]).abs() < 1e-9,
                "{got} vs {}",
                all.betas[j]
            );
            assert_eq!(f.get(&format!("full_history_beta_{name}")), Some(*got));
        }
    }

    /// Two factors, normal vols s1, s2, exposures b1, b2: σ(ρ) = √(b1²s1² + b2²s2² +
    /// 2ρ b1 b2 s1 s2); on the blend path ρ(α) = (1−α)ρn + αρs.
    fn two_factor(rho_n: f64, rho_s: f64, b: [f64; 2]) -> (Vec<SweepPoint>, impl Fn(f64) -> f64) {
        let s = [0.045, 0.03];
        let corr = |r: f64| DMatrix::from_row_slice(2, 2, &[1.0, r, r, 1.0]);
        let alphas: Vec<f64> = (0..=30).map(|i| 1.5 * i as f64 / 30.0).collect();
        let points = correlation_sweep(&b, &s, &corr(rho_n), &corr(rho_s), &alphas).unwrap();
        let sigma = move |r: f64| {
            ((b[0] * s[0]).powi(2) + (b[1] * s[1]).powi(2) + 2.0 * r * b[0] * b[1] * s[0] * s[1])
                .sqrt()
        };
        (points, sigma)
    }

    #[test]
    fn the_vol_curve_is_concave_when_correlation_only_rises() {
        // ρ from 0.1 to 0.5 (0.7 at α = 1.5), same-signed bets: σ is √(linear in ρ), so
        // the steepest rise is the first segment, slope (σ(ρ1) − σ(ρ0)) / (ρ1 − ρ0).
        let (points, sigma) = two_factor(0.1, 0.5, [1.0, 0.8]);
        for p in &points {
            let rho = 0.1 + 0.4 * p.alpha;
            assert!((p.vol - sigma(rho)).abs() < 1e-14);
            assert!((p.mean_abs_corr - rho).abs() < 1e-14);
            assert!(!p.repaired);
        }
        let (k, slope, first) = steepest_rise(&points).unwrap();
        assert_eq!(k, 0);
        let (r0, r1) = (0.1, 0.1 + 0.4 * 0.05);
        let expected = (sigma(r1) - sigma(r0)) / (r1 - r0);
        assert!(
            (slope - expected).abs() < 1e-9 * expected,
            "{slope} vs {expected}"
        );
        assert_eq!(Some(slope), first);
    }

    #[test]
    fn the_vol_curve_steepens_where_a_correlation_crosses_zero() {
        // ρ from −0.25 to 0.55: the mean |ρ| falls to 0.01 (α = 0.30), then the segment
        // ρ −0.01 → +0.03 raises |ρ| by only 0.02 while σ rises over a 0.04 move in ρ —
        // twice the slope of any later segment, so the acceleration level is 0.01.
        let (points, sigma) = two_factor(-0.25, 0.55, [1.0, 0.8]);
        let (k, slope, first) = steepest_rise(&points).unwrap();
        assert_eq!(k, 6);
        assert!((points[k].mean_abs_corr - 0.01).abs() < 1e-12);
        let expected = (sigma(0.03) - sigma(-0.01)) / 0.02;
        assert!(
            (slope - expected).abs() < 1e-6 * expected,
            "{slope} vs {expected}"
        );
        // The first segments lower the level (ρ −0.25 → −0.21): no slope "at today's".
        assert_eq!(first, None);
        // Opposite bets: vol falls as ρ rises — no rise to report.
        let (points, _) = two_factor(0.1, 0.5, [1.0, -0.8]);
        assert!(steepest_rise(&points).is_none());
    }

    #[test]
    fn a_planted_hidden_factor_is_found_and_labelled() {
        // 120 months, 4 observed factors, 20 residual series of which the first 8 load
        // on a hidden driver z; candidate labels: pure noise, and "Planted" = z plus a
        // factor exposure (which the partial correlation removes) plus a little noise.
        let mut rng = Xoshiro256::seed_from_u64(7);
        let (t, n) = (120, 20);
        let x = DMatrix::from_fn(t, 4, |_, _| 0.04 * normal(&mut rng));
        let z: Vec<f64> = (0..t).map(|_| 0.03 * normal(&mut rng)).collect();
        let panel = DMatrix::from_fn(t, n, |r, s| {
            let load = if s < 8 { 1.0 } else { 0.0 };
            load * z[r] + 0.02 * normal(&mut rng)
        });
        let noise: Vec<f64> = (0..t).map(|_| normal(&mut rng)).collect();
        let planted: Vec<f64> = (0..t)
            .map(|r| z[r] + 1.5 * x[(r, 0)] + 0.005 * normal(&mut rng))
            .collect();
        let candidates = vec![("Noise".to_owned(), noise), ("Planted".to_owned(), planted)];
        let (pca, found) = find_hidden_factors(&panel, &x, &candidates, 3).unwrap();
        assert_eq!(pca.n_factors, 1, "{:?}", &pca.eigenvalues[..3]);
        let first = &found[0];
        let (name, r) = first.label().unwrap();
        assert_eq!(name, "Planted");
        assert!(r.abs() > 0.9, "{r}");
        // Its loadings pick out the eight exposed series.
        let mut top: Vec<usize> = first.loadings.iter().take(8).map(|l| l.0).collect();
        top.sort_unstable();
        assert_eq!(top, (0..8).collect::<Vec<_>>());
        // Without the planted candidate nothing material is left: unlabelled.
        let (_, found) = find_hidden_factors(&panel, &x, &candidates[..1], 3).unwrap();
        assert!(found[0].label().is_none());
    }

    #[test]
    fn hidden_factors_are_never_named_after_a_series_the_book_holds() {
        let mut model = sample_model();
        // The sample book holds all 21 return columns; only the credit spread is left.
        let names: Vec<String> = label_candidates(&model).into_iter().map(|c| c.0).collect();
        assert_eq!(names, ["BaaAaaChange"]);
        let f = factor_modeling_specialist(&model);
        let table = f
            .tables
            .iter()
            .find(|t| t.title().starts_with("Hidden factors in the residuals"))
            .unwrap();
        let n = f.get("hidden_factors").unwrap();
        let rows = serde_json::to_value(table).unwrap()["rows"]
            .as_array()
            .unwrap()
            .len();
        assert!(rows as f64 <= n);
        if (rows as f64) < n {
            assert!(table
                .title()
                .contains(&format!("first {rows} of {n} shown")));
        }
        let held: Vec<&str> = model
            .positions
            .iter()
            .filter_map(|p| p.return_series.as_deref())
            .collect();
        for rec in &f.recommendations {
            for s in &held {
                assert!(
                    !rec.text.contains(&format!("({s}) instrument")),
                    "{}",
                    rec.text
                );
            }
        }
        // A position the book drops frees its series as a candidate again.
        let freed = model.positions[0].return_series.clone().unwrap();
        model
            .positions
            .retain(|p| p.return_series.as_deref() != Some(freed.as_str()));
        let names: Vec<String> = label_candidates(&model).into_iter().map(|c| c.0).collect();
        assert!(names.contains(&freed) && names.contains(&"BaaAaaChange".to_owned()));
    }

    #[test]
    fn correlation_intervals_cover_the_sample_correlation() {
        let mut rng = Xoshiro256::seed_from_u64(3);
        let x = DMatrix::from_fn(120, 3, |_, _| normal(&mut rng));
        let x = DMatrix::from_fn(120, 3, |t, j| {
            x[(t, j)] + if j == 1 { 0.8 * x[(t, 0)] } else { 0.0 }
        });
        let pairs = correlation_bootstrap(&x, 4.9, 500, 0.9, 11).unwrap();
        assert_eq!(pairs.len(), 3);
        for c in pairs {
            assert!(c.lower < c.point && c.point < c.upper, "{c:?}");
        }
        // Same seed, same intervals.
        assert_eq!(
            correlation_bootstrap(&x, 4.9, 50, 0.9, 11).unwrap(),
            correlation_bootstrap(&x, 4.9, 50, 0.9, 11).unwrap()
        );
    }
}
