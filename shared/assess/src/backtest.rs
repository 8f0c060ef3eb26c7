//! Out-of-sample VaR backtest of the model's estimator on the real daily data.
//!
//! Two books, each held fixed: an equally weighted portfolio of the 20 stocks (its
//! daily return is the mean of their log returns: the linear, delta P&L the market
//! agent computes for a linear book) and the S&P 500 index alone. Every day from
//! 1991-01-02 to 2022-12-28, the one-day 95% and 99% VaR is `z_c σ_t` (normal, zero
//! mean), where `σ_t² = wᵀ Σ_t w` and `Σ_t` is the RiskMetrics EWMA (λ = 0.94) of the
//! returns *strictly before* day t — the estimator of [`crate::calibrate`]'s daily
//! blocks. The EWMA is linear in `r rᵀ`, so `wᵀ Σ_t w` is exactly the EWMA of the
//! portfolio's own squared returns; the backtest runs that scalar recursion (a test
//! checks it against the matrix estimator). The market agent's Monte Carlo with 10,000
//! correlated normal scenarios converges to this normal VaR for a linear book (its
//! sampling error at 99% is about 2–3% of the VaR), so the backtest stands for it.
//!
//! A day is an exception when the realised return is below `−VaR`. Tests:
//! - Kupiec (1995), "Techniques for verifying the accuracy of risk measurement
//!   models", Journal of Derivatives 3(2): proportion of failures, LR χ²₁. Too *few*
//!   exceptions fail it as well as too many: a 95% VaR with 97.2% coverage is
//!   miscalibrated, not conservative-and-fine.
//! - Christoffersen (1998), "Evaluating interval forecasts", International Economic
//!   Review 39(4): independence (first-order Markov) LR χ²₁, and conditional coverage
//!   LR_cc = LR_pof + LR_ind, χ²₂.
//! - Basel Committee on Banking Supervision (1996), "Supervisory framework for the use
//!   of 'backtesting' in conjunction with the internal models approach to market risk
//!   capital requirements": 250 days at 99%, green 0–4 exceptions, yellow 5–9, red ≥ 10.
//!
//! A book passes at a confidence level when none of the three tests rejects at 5%.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use stresslab_analytics::stats::normal_quantile;

use crate::calibrate::{common_dates, log_returns, numeric, CalibrationError, Inputs, LAMBDA};

/// VaR confidence levels backtested.
pub const CONFIDENCES: [f64; 2] = [0.95, 0.99];
/// Significance of the tests.
pub const SIGNIFICANCE: f64 = 0.05;
/// First day VaR is forecast (1990 seeds the EWMA: 0.94^250 ≈ 2e-7 of weight missing).
pub const FIRST_DAY: &str = "1991-01-01";
/// Days of the Basel traffic-light window.
pub const BASEL_WINDOW: usize = 250;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> BacktestError {
    BacktestError::InvalidArgument {
        field,
        reason: reason.into(),
    }
}

/// A likelihood-ratio test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrTest {
    pub statistic: f64,
    pub degrees_of_freedom: u32,
    pub p_value: f64,
    /// Rejected at [`SIGNIFICANCE`].
    pub rejected: bool,
}

fn lr_test(statistic: f64, dof: u32) -> LrTest {
    // LR statistics are ≥ 0 up to rounding of the log-likelihoods.
    let statistic = statistic.max(0.0);
    let p_value = ChiSquared::new(f64::from(dof))
        .map(|d| d.sf(statistic))
        .unwrap_or(f64::NAN);
    LrTest {
        statistic,
        degrees_of_freedom: dof,
        p_value,
        rejected: p_value < SIGNIFICANCE,
    }
}

/// `k ln q`, with `0 ln 0 = 0` (the likelihood's convention for an empty cell).
fn xlogy(k: usize, q: f64) -> f64 {
    if k == 0 {
        0.0
    } else {
        k as f64 * q.ln()
    }
}

fn check_p(p: f64) -> Result<(), BacktestError> {
    if p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(invalid(
            "p",
            format!("exception probability must be in (0, 1), got {p}"),
        ))
    }
}

/// Kupiec (1995) proportion-of-failures test: `n` days, `exceptions` of them, expected
/// probability `p` (0.01 for a 99% VaR). `LR = −2 ln[(1−p)^{n−x} p^x / ((1−x/n)^{n−x} (x/n)^x)]`, χ²₁.
pub fn kupiec(n: usize, exceptions: usize, p: f64) -> Result<LrTest, BacktestError> {
    check_p(p)?;
    if n == 0 {
        return Err(invalid("n", "no days to test"));
    }
    if exceptions > n {
        return Err(invalid(
            "exceptions",
            format!("{exceptions} exceptions in {n} days"),
        ));
    }
    let rate = exceptions as f64 / n as f64;
    let null = xlogy(n - exceptions, 1.0 - p) + xlogy(exceptions, p);
    let alt = xlogy(n - exceptions, 1.0 - rate) + xlogy(exceptions, rate);
    Ok(lr_test(-2.0 * (null - alt), 1))
}

/// Christoffersen (1998) independence and conditional-coverage tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Christoffersen {
    /// `[[n00, n01], [n10, n11]]`: day-to-day transitions (0 = no exception).
    pub transitions: [[usize; 2]; 2],
    /// LR_ind, χ²₁: exceptions independent of whether the day before was one.
    pub independence: LrTest,
    /// LR_cc = LR_pof + LR_ind, χ²₂ (LR_pof over all days, as Christoffersen's
    /// decomposition uses it in practice).
    pub conditional_coverage: LrTest,
}

pub fn christoffersen(exceptions: &[bool], p: f64) -> Result<Christoffersen, BacktestError> {
    check_p(p)?;
    if exceptions.len() < 2 {
        return Err(invalid("exceptions", "need at least two days"));
    }
    let mut t = [[0usize; 2]; 2];
    for w in exceptions.windows(2) {
        t[usize::from(w[0])][usize::from(w[1])] += 1;
    }
    let [[n00, n01], [n10, n11]] = t;
    let ratio = |a: usize, b: usize| {
        if a + b == 0 {
            0.0
        } else {
            b as f64 / (a + b) as f64
        }
    };
    let pi01 = ratio(n00, n01);
    let pi11 = ratio(n10, n11);
    let pi = ratio(n00 + n10, n01 + n11);
    let null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi);
    let alt = xlogy(n00, 1.0 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1.0 - pi11) + xlogy(n11, pi11);
    let independence = lr_test(-2.0 * (null - alt), 1);
    let x = exceptions.iter().filter(|e| **e).count();
    let pof = kupiec(exceptions.len(), x, p)?;
    let conditional_coverage = lr_test(pof.statistic + independence.statistic, 2);
    Ok(Christoffersen {
        transitions: t,
        independence,
        conditional_coverage,
    })
}

/// Basel (1996) traffic-light zone of a 99% VaR over 250 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Green,
    Yellow,
    Red,
}

/// Green 0–4 exceptions, yellow 5–9, red 10 or more (Basel Committee 1996, Table 2).
pub fn traffic_light(exceptions_in_250: usize) -> Zone {
    match exceptions_in_250 {
        0..=4 => Zone::Green,
        5..=9 => Zone::Yellow,
        _ => Zone::Red,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficLight {
    /// The last 250 days.
    pub last_window: (String, String),
    pub last_window_exceptions: usize,
    pub zone: Zone,
    /// Every window of 250 consecutive backtest days.
    pub windows: usize,
    pub share_green: f64,
    pub share_yellow: f64,
    pub share_red: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelResult {
    pub confidence: f64,
    pub days: usize,
    pub exceptions: usize,
    pub expected_exceptions: f64,
    pub exception_rate: f64,
    /// 1 − exception rate: meant to equal `confidence`.
    pub coverage: f64,
    pub kupiec: LrTest,
    pub christoffersen: Christoffersen,
    /// No test rejects at [`SIGNIFICANCE`].
    pub passes: bool,
    /// The verdict in words.
    pub verdict: String,
    /// At 99% only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_light: Option<TrafficLight>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookBacktest {
    pub book: String,
    pub first_day: String,
    pub last_day: String,
    pub days: usize,
    pub levels: Vec<LevelResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// Estimator and tests, in words.
    pub method: Vec<String>,
    pub books: Vec<BookBacktest>,
}

/// Walk-forward EWMA variance forecasts: `out[t]` uses `returns[..t]` only.
pub fn ewma_forecasts(returns: &[f64], lambda: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(returns.len());
    let mut var = 0.0;
    for r in returns {
        out.push(var);
        var = lambda * var + (1.0 - lambda) * r * r;
    }
    out
}

fn verdict(level: f64, coverage: f64, kupiec: &LrTest, c: &Christoffersen) -> String {
    let side = if coverage > level {
        "too few exceptions (over-conservative)"
    } else {
        "too many exceptions"
    };
    let mut parts = vec![format!(
        "coverage {:.2}% for a {:.0}% VaR",
        coverage * 100.0,
        level * 100.0
    )];
    parts.push(if kupiec.rejected {
        format!("Kupiec rejects ({side}, p = {:.3})", kupiec.p_value)
    } else {
        format!("Kupiec does not reject (p = {:.3})", kupiec.p_value)
    });
    parts.push(if c.independence.rejected {
        format!(
            "exceptions cluster (Christoffersen independence p = {:.3})",
            c.independence.p_value
        )
    } else {
        format!(
            "no clustering detected (independence p = {:.3})",
            c.independence.p_value
        )
    });
    parts.push(format!(
        "conditional coverage p = {:.3}",
        c.conditional_coverage.p_value
    ));
    parts.join("; ")
}

/// Backtest one book's daily returns (`dates[i]` is the day of `returns[i]`), VaR from
/// the EWMA of the returns before each day, scored from the first day ≥ `first_day`.
pub fn backtest_book(
    book: &str,
    dates: &[String],
    returns: &[f64],
    first_day: &str,
) -> Result<BookBacktest, BacktestError> {
    if dates.len() != returns.len() {
        return Err(invalid("dates", "one date per return"));
    }
    let start = dates
        .iter()
        .position(|d| d.as_str() >= first_day)
        .ok_or_else(|| invalid("first_day", format!("no data on or after {first_day}")))?;
    let var = ewma_forecasts(returns, LAMBDA);
    let days = returns.len() - start;
    if days < BASEL_WINDOW {
        return Err(invalid(
            "returns",
            format!("{days} backtest days, need {BASEL_WINDOW}"),
        ));
    }
    let mut levels = Vec::new();
    for c in CONFIDENCES {
        let z = -normal_quantile(1.0 - c);
        let exc: Vec<bool> = (start..returns.len())
            .map(|t| returns[t] < -z * var[t].sqrt())
            .collect();
        let x = exc.iter().filter(|e| **e).count();
        let p = 1.0 - c;
        let kup = kupiec(days, x, p)?;
        let chr = christoffersen(&exc, p)?;
        let rate = x as f64 / days as f64;
        let traffic = if (c - 0.99).abs() < 1e-12 {
            let counts: Vec<usize> = exc
                .windows(BASEL_WINDOW)
                .map(|w| w.iter().filter(|e| **e).count())
                .collect();
            let share = |z: Zone| {
                counts.iter().filter(|n| traffic_light(**n) == z).count() as f64
                    / counts.len() as f64
            };
            let last = counts[counts.len() - 1];
            Some(TrafficLight {
                last_window: (
                    dates[returns.len() - BASEL_WINDOW].clone(),
                    dates[returns.len() - 1].clone(),
                ),
                last_window_exceptions: last,
                zone: traffic_light(last),
                windows: counts.len(),
                share_green: share(Zone::Green),
                share_yellow: share(Zone::Yellow),
                share_red: share(Zone::Red),
            })
        } else {
            None
        };
        levels.push(LevelResult {
            confidence: c,
            days,
            exceptions: x,
            expected_exceptions: p * days as f64,
            exception_rate: rate,
            coverage: 1.0 - rate,
            passes: !kup.rejected
                && !chr.independence.rejected
                && !chr.conditional_coverage.rejected,
            verdict: verdict(c, 1.0 - rate, &kup, &chr),
            kupiec: kup,
            christoffersen: chr,
            traffic_light: traffic,
        });
    }
    Ok(BookBacktest {
        book: book.to_owned(),
        first_day: dates[start].clone(),
        last_day: dates[returns.len() - 1].clone(),
        days,
        levels,
    })
}

/// The two books' daily log returns: (dates, equally weighted 20 stocks, SPX).
type BookReturns = (Vec<String>, Vec<f64>, Vec<f64>);

pub(crate) fn book_returns(inputs: &Inputs) -> Result<BookReturns, CalibrationError> {
    let (dates, rows) = common_dates(&[&inputs.stocks, &inputs.spx]);
    if dates.len() < 2 {
        return Err(numeric("backtest", "stocks and SPX share no dates"));
    }
    let k = inputs.stocks.names.len();
    let mut ew = vec![0.0; dates.len() - 1];
    for (j, name) in inputs.stocks.names.iter().enumerate() {
        let prices: Vec<f64> = rows[0]
            .iter()
            .map(|&r| inputs.stocks.columns[j][r])
            .collect();
        for (acc, r) in ew
            .iter_mut()
            .zip(log_returns(inputs.stocks.file, name, &prices)?)
        {
            *acc += r / k as f64;
        }
    }
    let spx_prices: Vec<f64> = rows[1].iter().map(|&r| inputs.spx.columns[0][r]).collect();
    let spx = log_returns(inputs.spx.file, "SP500", &spx_prices)?;
    Ok((dates[1..].to_vec(), ew, spx))
}

pub(crate) fn run(inputs: &Inputs) -> Result<BacktestReport, CalibrationError> {
    let (dates, ew, spx) = book_returns(inputs)?;
    let bt = |name: &str, r: &[f64]| {
        backtest_book(name, &dates, r, FIRST_DAY).map_err(|e| numeric("backtest", e))
    };
    let books = vec![
        bt("equally weighted 20 stocks", &ew)?,
        bt("S&P 500 index", &spx)?,
    ];
    let method = vec![
        format!("One-day normal VaR z·σ_t, σ_t² the RiskMetrics EWMA (λ = {LAMBDA}, zero mean) of the book's returns strictly before day t — the market model's daily estimator; exceptions are days with a log return below −VaR. Walk-forward from {FIRST_DAY}, the EWMA seeded on 1990."),
        "Equally weighted book: mean of the 20 stocks' daily log returns (the linear P&L), rebalanced daily. The market agent's 10,000-scenario Monte Carlo converges to this normal VaR for a linear book.".into(),
        format!("Kupiec (1995) POF LR, χ²₁; Christoffersen (1998) independence LR, χ²₁, and conditional coverage LR, χ²₂; a book passes when no test rejects at {:.0}%. Too few exceptions fail as well as too many.", SIGNIFICANCE * 100.0),
        format!("Basel Committee (1996) traffic light at 99% over {BASEL_WINDOW} days: green 0–4, yellow 5–9, red ≥ 10; the last window and the share of all rolling windows in each zone."),
    ];
    Ok(BacktestReport { method, books })
}

/// The backtest, run once per process on the embedded data.
pub fn report() -> Result<&'static BacktestReport, CalibrationError> {
    static REPORT: OnceLock<Result<BacktestReport, CalibrationError>> = OnceLock::new();
    REPORT
        .get_or_init(|| run(&Inputs::parse()?))
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use stresslab_analytics::covariance::ewma_covariance;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn kupiec_matches_scipy() {
        // scipy 1.x: r = x/n; lr = -2*((n-x)*log(1-p) + x*log(p) - (n-x)*log(1-r) - x*log(r))
        // (0·log 0 = 0); p = scipy.stats.chi2.sf(lr, 1).
        let cases = [
            ((8060, 426, 0.05), 1.3575286311747732, 0.2439662509610655),
            ((250, 0, 0.01), 5.025167926750726, 0.02498150305344973),
            ((250, 10, 0.01), 12.955491062356018, 0.0003189845082133835),
            // Too few exceptions is a rejection too.
            ((1000, 3, 0.01), 6.825541879450618, 0.00898632873817602),
        ];
        for ((n, x, p), lr, pv) in cases {
            let t = kupiec(n, x, p).unwrap();
            assert!(close(t.statistic, lr, 1e-9), "{n} {x}: {}", t.statistic);
            assert!(close(t.p_value, pv, 1e-9), "{n} {x}: {}", t.p_value);
            assert_eq!(t.rejected, pv < 0.05);
            assert_eq!(t.degrees_of_freedom, 1);
        }
        // Exactly the expected rate: LR 0, p 1.
        let t = kupiec(500, 25, 0.05).unwrap();
        assert!(t.statistic.abs() < 1e-12 && (t.p_value - 1.0).abs() < 1e-12);
    }

    #[test]
    fn christoffersen_matches_scipy() {
        // e[t] = t%7==0 or (t%11==0 and t%3==0) or t in (100,101,102), t < 500, p = 0.05;
        // transitions counted in numpy, LRs as in Christoffersen (1998), p-values
        // scipy.stats.chi2.sf(lr_ind, 1) and chi2.sf(lr_pof + lr_ind, 2).
        let e: Vec<bool> = (0..500)
            .map(|t| t % 7 == 0 || (t % 11 == 0 && t % 3 == 0) || (100..=102).contains(&t))
            .collect();
        let c = christoffersen(&e, 0.05).unwrap();
        assert_eq!(c.transitions, [[331, 80], [81, 7]]);
        assert!(close(c.independence.statistic, 7.764860577185345, 1e-9));
        assert!(close(c.independence.p_value, 0.005327240862809921, 1e-9));
        assert!(close(
            c.conditional_coverage.statistic,
            112.00583608801185,
            1e-9
        ));
        assert!(close(
            c.conditional_coverage.p_value,
            4.766962362884172e-25,
            1e-7
        ));
        assert_eq!(c.conditional_coverage.degrees_of_freedom, 2);
        assert!(c.independence.rejected && c.conditional_coverage.rejected);
    }

    #[test]
    fn chi_square_critical_values() {
        // scipy.stats.chi2.ppf(0.95, 1) = 3.841458820694124, chi2.ppf(0.95, 2) = 5.991464547107979.
        assert!((lr_test(3.841458820694124, 1).p_value - 0.05).abs() < 1e-12);
        assert!((lr_test(5.991464547107979, 2).p_value - 0.05).abs() < 1e-12);
    }

    #[test]
    fn traffic_light_zones_of_basel_1996() {
        let zones: Vec<Zone> = (0..=12).map(traffic_light).collect();
        assert!(zones[..5].iter().all(|z| *z == Zone::Green));
        assert!(zones[5..10].iter().all(|z| *z == Zone::Yellow));
        assert!(zones[10..].iter().all(|z| *z == Zone::Red));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_field() {
        let field = |e: BacktestError| match e {
            BacktestError::InvalidArgument { field, .. } => field,
        };
        assert_eq!(field(kupiec(0, 0, 0.01).unwrap_err()), "n");
        assert_eq!(field(kupiec(10, 11, 0.01).unwrap_err()), "exceptions");
        assert_eq!(field(kupiec(10, 1, 1.0).unwrap_err()), "p");
        assert_eq!(field(kupiec(10, 1, f64::NAN).unwrap_err()), "p");
        assert_eq!(
            field(christoffersen(&[true], 0.01).unwrap_err()),
            "exceptions"
        );
        let d = vec!["2000-01-03".to_owned(); 3];
        assert_eq!(
            field(backtest_book("x", &d, &[0.0; 2], "2000-01-01").unwrap_err()),
            "dates"
        );
        assert_eq!(
            field(backtest_book("x", &d, &[0.0; 3], "2001-01-01").unwrap_err()),
            "first_day"
        );
        assert_eq!(
            field(backtest_book("x", &d, &[0.0; 3], "2000-01-01").unwrap_err()),
            "returns"
        );
    }

    #[test]
    fn scalar_recursion_is_the_matrix_ewma_of_the_book() {
        // wᵀ Σ_t w with Σ_t the analytics crate's EWMA of the 20 stocks' returns before
        // day t equals the scalar EWMA of the book's returns.
        let inputs = Inputs::parse().unwrap();
        let (dates, rows) = common_dates(&[&inputs.stocks]);
        let k = inputs.stocks.names.len();
        let t = 300;
        let x = DMatrix::from_fn(t, k, |i, j| {
            let c = &inputs.stocks.columns[j];
            (c[rows[0][i + 1]] / c[rows[0][i]]).ln()
        });
        assert!(dates.len() > t);
        let sigma = ewma_covariance(&x, LAMBDA).unwrap();
        let w = nalgebra::DVector::from_element(k, 1.0 / k as f64);
        let matrix = (w.transpose() * &sigma * &w)[(0, 0)];
        let book: Vec<f64> = (0..=t)
            .map(|i| if i < t { x.row(i).mean() } else { 0.0 })
            .collect();
        let scalar = ewma_forecasts(&book, LAMBDA)[t];
        assert!(close(scalar, matrix, 1e-12), "{scalar} vs {matrix}");
    }

    #[test]
    fn report_matches_an_independent_numpy_backtest() {
        // numpy/pandas 2.x on the same files: log returns of the dates where all 20
        // stocks and SPX have a close; EWMA (λ 0.94, zero mean, seeded 0) of the returns
        // before each day; z = scipy.stats.norm.ppf(c); days from 1991-01-01. Gave
        // (exceptions, last-250 exceptions, Kupiec p, independence p, cc p):
        let expected = [
            (
                "equally weighted 20 stocks",
                0.95,
                426,
                15,
                0.24396625096122343,
                0.5867885523539276,
                0.43759646667248653,
            ),
            (
                "equally weighted 20 stocks",
                0.99,
                178,
                6,
                5.221007863155997e-21,
                0.024314507758898325,
                4.926649163726372e-21,
            ),
            (
                "S&P 500 index",
                0.95,
                437,
                20,
                0.08629022764423439,
                0.36207688455100906,
                0.15160670613839716,
            ),
            (
                "S&P 500 index",
                0.99,
                176,
                4,
                2.6266312634507803e-20,
                0.007046387738615048,
                8.14769957349732e-21,
            ),
        ];
        let r = report().unwrap();
        assert_eq!(r.books.len(), 2);
        for (book, c, x, last, kp, ip, cp) in expected {
            let b = r.books.iter().find(|b| b.book == book).unwrap();
            assert_eq!(b.days, 8060);
            assert_eq!(b.first_day, "1991-01-02");
            assert_eq!(b.last_day, "2022-12-28");
            let l = b.levels.iter().find(|l| l.confidence == c).unwrap();
            assert_eq!(l.exceptions, x, "{book} {c}");
            assert!((l.coverage - (1.0 - x as f64 / 8060.0)).abs() < 1e-15);
            assert!(close(l.kupiec.p_value, kp, 1e-6), "{book} {c}");
            assert!(close(l.christoffersen.independence.p_value, ip, 1e-6));
            assert!(close(
                l.christoffersen.conditional_coverage.p_value,
                cp,
                1e-6
            ));
            assert_eq!(l.passes, kp >= 0.05 && ip >= 0.05 && cp >= 0.05);
            if c == 0.99 {
                let tl = l.traffic_light.as_ref().unwrap();
                assert_eq!(tl.last_window_exceptions, last);
                assert_eq!(tl.zone, traffic_light(last));
                assert_eq!(tl.windows, 8060 - 250 + 1);
                assert!((tl.share_green + tl.share_yellow + tl.share_red - 1.0).abs() < 1e-12);
            } else {
                assert!(l.traffic_light.is_none());
            }
        }
        // Serialisable for the market agent's findings.
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(
            json["books"][0]["levels"][1]["traffic_light"]["zone"],
            "yellow"
        );
    }
}
