//! Named stress scenarios as moves of the model's daily factors.
//!
//! **Episodes by horizon.** The factor workflow's named episodes
//! ([`stresslab_factor::scenarios::EPISODES`], imported, so the two lists cannot drift)
//! are replayed from the Fama–French monthly data: the market, size, value and
//! momentum moves observed over each episode's window are mapped onto the daily
//! factors, and every other factor moves by its conditional expectation given them,
//! `E[f | A f = s] = Σ Aᵀ (A Σ Aᵀ)⁻¹ s` (P. H. Kupiec 1998, "Stress testing in a value
//! at risk framework", Journal of Derivatives 6(1), 7–24), with `Σ` the daily
//! covariance scaled to the horizon (`21 × months` trading days; the scale cancels in
//! the mean, but it is the horizon's covariance the formula is stated for).
//!
//! The mapping `A f = s`:
//! - market → `SPX`: `s = Σ ln(1 + Mkt)`, Mkt = Mkt−RF + RF over the window's months
//!   (SPX is a price index, so the dividend yield is a small discrepancy);
//! - size → `SIZE − SPX`, value → `VLUE − SPX`, momentum → `MTUM − SPX`: the iShares
//!   factor ETFs' log returns over the index's, set to the sum of the monthly SMB, HML
//!   and Mom long-short returns (a long-short return is to first order the difference
//!   of its legs' log returns). The ETFs are long-only tilts, so this takes the tilt to
//!   move as the academic factor does — a stated approximation.
//! - where the episode has observed rates and credit data, they are conditioned on
//!   too: zero-yield changes (to 1991-02), Baa − Aaa (to 2018-12) and Aaa − 10y zero
//!   (to 1991-02), in bp, from the month before the window to its last month (monthly
//!   averages for Moody's); GBP and DEM (the ECU/EUR monthly spot standing in) log
//!   changes where the monthly FX file covers the window (1979-01 … 2001-12).
//!
//! **One-day shocks** replay single days of the daily data: every factor with a close
//! that day and the trading day before moves as observed; the others (e.g. WTI and VIX
//! after 2019, rates, credit and FX) move by their conditional expectation given them.

use std::collections::HashMap;

use nalgebra::{DMatrix, DVector};
use stresslab_analytics::AnalyticsError;
use stresslab_factor::scenarios::EPISODES;

use crate::calibrate::{
    log_returns, numeric, rates_levels, CalibrationError, Core, Inputs, DAYS_PER_MONTH, FX,
};
use crate::model::StressScenario;

pub const METHOD_NOTE: &str = "Stress scenarios: the factor workflow's named episodes, their observed market, size, value and momentum moves (Fama–French monthly) mapped to SPX and the ETF long-shorts SIZE−SPX, VLUE−SPX, MTUM−SPX, plus the observed rate, spread and FX moves where the data cover the episode; every other factor at its conditional expectation E[f | Af = s] = ΣAᵀ(AΣAᵀ)⁻¹s (Kupiec 1998), horizon 21 trading days a month. One-day shocks: factors observed that day as observed, the rest conditional.";

/// The one-day shocks: (name, date); `None` is the worst S&P 500 day in the data.
pub const ONE_DAY_SHOCKS: [(&str, Option<&str>); 3] = [
    ("Worst S&P 500 day 1990-2022", None),
    ("2015-08-24 China devaluation sell-off", Some("2015-08-24")),
    (
        "2018-02-05 VIX spike (short-volatility unwind)",
        Some("2018-02-05"),
    ),
];

/// One linear condition `Σ_j row_j f_j = value` on the factor moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub label: String,
    pub row: Vec<(usize, f64)>,
    pub value: f64,
}

/// `E[f | A f = s] = Σ Aᵀ (A Σ Aᵀ)⁻¹ s` for a covariance `Σ` (K×K), conditions `A`
/// (m×K) and observed values `s` (Kupiec 1998). `A Σ Aᵀ` is factorised by Cholesky:
/// conditions that are linearly dependent under `Σ` are an error, not a pseudo-inverse.
pub fn conditional_move(
    cov: &DMatrix<f64>,
    a: &DMatrix<f64>,
    s: &[f64],
) -> Result<Vec<f64>, AnalyticsError> {
    if !cov.is_square() || a.ncols() != cov.nrows() {
        return Err(AnalyticsError::DimensionMismatch {
            what: "conditions' columns vs factors",
            expected: cov.nrows(),
            found: a.ncols(),
        });
    }
    if a.nrows() != s.len() {
        return Err(AnalyticsError::DimensionMismatch {
            what: "observed values vs conditions",
            expected: a.nrows(),
            found: s.len(),
        });
    }
    if a.iter().chain(s).chain(cov.iter()).any(|v| !v.is_finite()) {
        return Err(AnalyticsError::InvalidArgument(
            "conditional_move: non-finite input".into(),
        ));
    }
    let sigma_at = cov * a.transpose();
    let m = a * &sigma_at;
    let chol = nalgebra::linalg::Cholesky::new(m).ok_or(AnalyticsError::NotPositiveDefinite)?;
    let w = chol.solve(&DVector::from_column_slice(s));
    Ok((sigma_at * w).as_slice().to_vec())
}

fn conditions_matrix(k: usize, conditions: &[Condition]) -> (DMatrix<f64>, Vec<f64>) {
    let mut a = DMatrix::zeros(conditions.len(), k);
    for (i, c) in conditions.iter().enumerate() {
        for &(j, w) in &c.row {
            a[(i, j)] += w;
        }
    }
    (a, conditions.iter().map(|c| c.value).collect())
}

fn previous_month(month: &str) -> Option<String> {
    let y: i32 = month.get(..4)?.parse().ok()?;
    let m: u32 = month.get(5..7)?.parse().ok()?;
    Some(if m == 1 {
        format!("{:04}-12", y - 1)
    } else {
        format!("{y:04}-{:02}", m - 1)
    })
}

/// The conditions an episode imposes, and its length in months; `None` if the
/// Fama–French data do not cover it.
pub(crate) fn episode_conditions(
    inputs: &Inputs,
    index: &HashMap<&str, usize>,
    start: &str,
    end: &str,
) -> Result<Option<(usize, Vec<Condition>)>, CalibrationError> {
    let ff = &inputs.ff;
    let (Some(a), Some(b)) = (
        ff.dates.iter().position(|d| d == start),
        ff.dates.iter().position(|d| d == end),
    ) else {
        return Ok(None);
    };
    let idx = |name: &str| {
        index
            .get(name)
            .copied()
            .ok_or_else(|| numeric("stress scenarios", format!("model has no factor {name}")))
    };
    let (mkt, rf) = (ff.column("MktRF")?, ff.column("RF")?);
    let sum = |c: &[f64]| c[a..=b].iter().sum::<f64>();
    let market: f64 = (a..=b).map(|t| (1.0 + mkt[t] + rf[t]).ln()).sum();
    let spx = idx("SPX")?;
    let mut out = vec![Condition {
        label: "market → SPX".into(),
        row: vec![(spx, 1.0)],
        value: market,
    }];
    for (label, col, etf) in [
        ("size", "SMB", "SIZE"),
        ("value", "HML", "VLUE"),
        ("momentum", "Mom", "MTUM"),
    ] {
        out.push(Condition {
            label: format!("{label} ({col}) → {etf} − SPX"),
            row: vec![(idx(etf)?, 1.0), (spx, -1.0)],
            value: sum(ff.column(col)?),
        });
    }
    let before = previous_month(start).unwrap_or_default();
    // Rates and credit levels (bp) by month, where both files exist.
    let lv = rates_levels(inputs)?;
    let pos = |m: &str| lv.months.iter().position(|x| x == m);
    if let (Some(p), Some(q)) = (pos(&before), pos(end)) {
        for (j, name) in lv.names.iter().enumerate() {
            out.push(Condition {
                label: format!("{name} observed"),
                row: vec![(idx(name)?, 1.0)],
                value: lv.levels[j][q] - lv.levels[j][p],
            });
        }
    } else {
        // Moody's alone runs to 2018: Baa − Aaa.
        let m = &inputs.moodys;
        let (aaa, baa) = (m.column("AAA")?, m.column("BAA")?);
        let mpos = |x: &str| m.dates.iter().position(|d| d == x);
        if let (Some(p), Some(q)) = (mpos(&before), mpos(end)) {
            out.push(Condition {
                label: "BAA_AAA observed".into(),
                row: vec![(idx("BAA_AAA")?, 1.0)],
                value: ((baa[q] - aaa[q]) - (baa[p] - aaa[p])) * 100.0,
            });
        }
    }
    let fm = &inputs.fx_monthly;
    let fpos = |x: &str| fm.dates.iter().position(|d| d == x);
    if let (Some(p), Some(q)) = (fpos(&before), fpos(end)) {
        for (name, col) in [("DEM", "usdeuro"), ("GBP", "usdbp")] {
            let c = fm.column(col)?;
            out.push(Condition {
                label: format!("{name} observed ({col})"),
                row: vec![(idx(name)?, 1.0)],
                value: (c[q] / c[p]).ln(),
            });
        }
    }
    Ok(Some((b - a + 1, out)))
}

/// Observed one-day log moves on `date` of every daily series that has it.
pub(crate) fn day_conditions(
    inputs: &Inputs,
    index: &HashMap<&str, usize>,
    date: &str,
) -> Result<Vec<Condition>, CalibrationError> {
    let mut out = Vec::new();
    let mut series: Vec<(&crate::calibrate::Table, String, String)> = Vec::new();
    for n in &inputs.stocks.names {
        series.push((&inputs.stocks, n.clone(), n.clone()));
    }
    series.push((&inputs.spx, inputs.spx.names[0].clone(), "SPX".into()));
    for n in &inputs.etfs.names {
        series.push((&inputs.etfs, n.clone(), n.clone()));
    }
    series.push((&inputs.wti, inputs.wti.names[0].clone(), "WTI".into()));
    series.push((&inputs.vix, inputs.vix.names[0].clone(), "VIX".into()));
    for (name, col, _) in FX {
        series.push((&inputs.fx_daily, col.to_owned(), name.to_owned()));
    }
    for (table, col, factor) in series {
        let Some(t) = table.dates.iter().position(|d| d == date) else {
            continue;
        };
        if t == 0 {
            continue;
        }
        let c = table.column(&col)?;
        let r = log_returns(table.file, &col, &c[t - 1..=t])?[0];
        let j = index
            .get(factor.as_str())
            .copied()
            .ok_or_else(|| numeric("stress scenarios", format!("model has no factor {factor}")))?;
        out.push(Condition {
            label: factor,
            row: vec![(j, 1.0)],
            value: r,
        });
    }
    Ok(out)
}

/// The worst S&P 500 daily log return in the data: (date, return).
pub(crate) fn worst_spx_day(inputs: &Inputs) -> Result<(String, f64), CalibrationError> {
    let spx = &inputs.spx;
    let r = log_returns(spx.file, &spx.names[0], &spx.columns[0])?;
    let (i, v) = r
        .iter()
        .enumerate()
        .min_by(|x, y| x.1.total_cmp(y.1))
        .ok_or_else(|| numeric("stress scenarios", "S&P 500 series is empty"))?;
    Ok((spx.dates[i + 1].clone(), *v))
}

fn describe(conditions: &[Condition]) -> String {
    conditions
        .iter()
        .map(|c| format!("{} {:+.4}", c.label, c.value))
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn scenarios(
    inputs: &Inputs,
    core: &Core,
) -> Result<Vec<StressScenario>, CalibrationError> {
    let k = core.factors.len();
    let index: HashMap<&str, usize> = core
        .factors
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for e in EPISODES.iter() {
        let Some((months, conditions)) = episode_conditions(inputs, &index, e.start, e.end)? else {
            continue;
        };
        let horizon = (DAYS_PER_MONTH as usize * months) as u32;
        let cov_h = &core.covariance * f64::from(horizon);
        let (a, s) = conditions_matrix(k, &conditions);
        let moves = conditional_move(&cov_h, &a, &s)
            .map_err(|err| numeric(format!("stress scenario {}", e.name), err))?;
        out.push(StressScenario {
            name: format!("{} ({} to {})", e.name, e.start, e.end),
            horizon_days: horizon,
            source: format!(
                "Episode of the factor workflow, {months} months {} … {} (Fama–French monthly; Moody's, zero yields and monthly FX where they cover it). Observed: {}. Every other factor: conditional expectation given these (Kupiec 1998), covariance scaled to {horizon} trading days.",
                e.start,
                e.end,
                describe(&conditions)
            ),
            moves,
        });
    }
    let (worst_date, _) = worst_spx_day(inputs)?;
    for (name, date) in ONE_DAY_SHOCKS {
        let date = date.unwrap_or(&worst_date);
        let conditions = day_conditions(inputs, &index, date)?;
        if conditions.is_empty() {
            continue;
        }
        let (a, s) = conditions_matrix(k, &conditions);
        let moves = conditional_move(&core.covariance, &a, &s)
            .map_err(|err| numeric(format!("one-day shock {date}"), err))?;
        let observed: Vec<&str> = conditions.iter().map(|c| c.label.as_str()).collect();
        out.push(StressScenario {
            name: if name.contains(date) {
                name.to_owned()
            } else {
                format!("{name} ({date})")
            },
            horizon_days: 1,
            source: format!(
                "One day of the daily data, {date}: {} factors as observed ({}); the other {} at their conditional expectation given them (Kupiec 1998), one-day covariance.",
                observed.len(),
                observed.join(", "),
                k - observed.len()
            ),
            moves,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_factor_closed_form() {
        // Conditioning one of two jointly normal factors: E[f2 | f1 = s] = ρ σ2/σ1 s.
        let (s1, s2, rho) = (0.012, 35.0, -0.4);
        let cov = DMatrix::from_row_slice(2, 2, &[s1 * s1, rho * s1 * s2, rho * s1 * s2, s2 * s2]);
        let a = DMatrix::from_row_slice(1, 2, &[1.0, 0.0]);
        let m = conditional_move(&cov, &a, &[-0.1]).unwrap();
        assert!((m[0] + 0.1).abs() < 1e-15);
        assert!((m[1] - rho * s2 / s1 * -0.1).abs() < 1e-10);
        // Conditioning a long-short f1 − f2 = d: E[f] = Σ a (aᵀΣa)⁻¹ d.
        let a = DMatrix::from_row_slice(1, 2, &[1.0, -1.0]);
        let var = s1 * s1 + s2 * s2 - 2.0 * rho * s1 * s2;
        let m = conditional_move(&cov, &a, &[0.5]).unwrap();
        assert!((m[0] - (s1 * s1 - rho * s1 * s2) / var * 0.5).abs() < 1e-12);
        assert!((m[1] - (rho * s1 * s2 - s2 * s2) / var * 0.5).abs() < 1e-12);
        assert!((m[0] - m[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn three_factor_against_schur_complement() {
        // Independent computation: partition Σ into observed (o) and unobserved (u),
        // E[f_u | f_o = s] = Σ_uo Σ_oo⁻¹ s, inverse by the 2×2 closed form.
        let cov = DMatrix::from_row_slice(3, 3, &[4.0, 1.2, -0.8, 1.2, 2.25, 0.3, -0.8, 0.3, 1.0]);
        let a = DMatrix::from_row_slice(2, 3, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let s = [1.5, -0.7];
        let m = conditional_move(&cov, &a, &s).unwrap();
        let det = 4.0 * 2.25 - 1.2 * 1.2;
        let inv = [[2.25 / det, -1.2 / det], [-1.2 / det, 4.0 / det]];
        let w = [
            inv[0][0] * s[0] + inv[0][1] * s[1],
            inv[1][0] * s[0] + inv[1][1] * s[1],
        ];
        assert!((m[0] - 1.5).abs() < 1e-14 && (m[1] + 0.7).abs() < 1e-14);
        assert!((m[2] - (-0.8 * w[0] + 0.3 * w[1])).abs() < 1e-14);
    }

    #[test]
    fn bad_conditions_are_errors() {
        let cov = DMatrix::<f64>::identity(2, 2);
        let dup = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 2.0, 0.0]);
        assert_eq!(
            conditional_move(&cov, &dup, &[1.0, 2.0]),
            Err(AnalyticsError::NotPositiveDefinite)
        );
        let a = DMatrix::from_row_slice(1, 2, &[1.0, 0.0]);
        assert!(conditional_move(&cov, &a, &[1.0, 2.0]).is_err());
        assert!(conditional_move(&cov, &DMatrix::zeros(1, 3), &[1.0]).is_err());
        assert!(conditional_move(&cov, &a, &[f64::NAN]).is_err());
    }

    #[test]
    fn previous_month_wraps_the_year() {
        assert_eq!(previous_month("1973-01").as_deref(), Some("1972-12"));
        assert_eq!(previous_month("2008-09").as_deref(), Some("2008-08"));
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::calibrate::{core, shared};

    #[test]
    fn every_scenario_reproduces_its_observed_moves_exactly() {
        let inputs = Inputs::parse().unwrap();
        let m = shared().unwrap();
        let index: HashMap<&str, usize> = m
            .factors
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect();
        let check = |moves: &[f64], conditions: &[Condition]| {
            for c in conditions {
                let got: f64 = c.row.iter().map(|&(j, w)| w * moves[j]).sum();
                assert!(
                    (got - c.value).abs() <= 1e-9 * c.value.abs().max(1e-6),
                    "{}: {got} vs {}",
                    c.label,
                    c.value
                );
            }
        };
        assert_eq!(
            m.stress_scenarios.len(),
            EPISODES.len() + ONE_DAY_SHOCKS.len()
        );
        for (e, s) in EPISODES.iter().zip(&m.stress_scenarios) {
            assert!(s.name.starts_with(e.name));
            let (months, conditions) = episode_conditions(&inputs, &index, e.start, e.end)
                .unwrap()
                .unwrap();
            assert_eq!(s.horizon_days, 21 * months as u32);
            assert_eq!(s.moves.len(), m.factor_count());
            assert!(s.moves.iter().all(|v| v.is_finite()));
            check(&s.moves, &conditions);
        }
        let (worst, r) = worst_spx_day(&inputs).unwrap();
        // pandas: numpy.log(spx).diff().idxmin() → 2020-03-16, -0.1276521...
        assert_eq!(worst, "2020-03-16");
        assert!((r - (2386.13f64 / 2711.02).ln()).abs() < 1e-12);
        for ((_, date), s) in ONE_DAY_SHOCKS
            .iter()
            .zip(&m.stress_scenarios[EPISODES.len()..])
        {
            let date = date.unwrap_or(&worst);
            assert_eq!(s.horizon_days, 1);
            let conditions = day_conditions(&inputs, &index, date).unwrap();
            assert!(conditions.len() >= 26, "{date}");
            check(&s.moves, &conditions);
        }
    }

    #[test]
    fn episode_inputs_match_the_data() {
        // October 1987, 1987-09 … 1987-11, from the files directly: Baa−Aaa 1987-08
        // 113 bp → 1987-11 122 bp (pandas on moodys_aaa_baa_monthly_1919_2018.csv).
        let inputs = Inputs::parse().unwrap();
        let c = core(&inputs).unwrap();
        let index: HashMap<&str, usize> = c
            .factors
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect();
        let (months, conds) = episode_conditions(&inputs, &index, "1987-09", "1987-11")
            .unwrap()
            .unwrap();
        assert_eq!(months, 3);
        let baa = conds
            .iter()
            .find(|c| c.label == "BAA_AAA observed")
            .unwrap();
        assert!((baa.value - 9.0).abs() < 1e-9);
        // Rates observed (zero yields run to 1991) and FX (monthly file from 1979).
        assert!(conds.iter().any(|c| c.label == "UST_10Y observed"));
        assert!(conds.iter().any(|c| c.label.starts_with("GBP observed")));
        // 2008: only equity styles and Baa−Aaa (+130 bp, 2008-08 151 → 2009-02 281).
        let (_, conds) = episode_conditions(&inputs, &index, "2008-09", "2009-02")
            .unwrap()
            .unwrap();
        assert_eq!(conds.len(), 5);
        assert!((conds[4].value - 130.0).abs() < 1e-9);
        assert!(episode_conditions(&inputs, &index, "1930-01", "1930-02")
            .unwrap()
            .is_none());
    }
}
