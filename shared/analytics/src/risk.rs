//! Portfolio risk figures: volatility and its Euler decomposition, parametric and
//! historical VaR / expected shortfall, and the conditional (Gaussian) stress scenario.
//!
//! Sign convention: VaR and ES are reported as positive *losses*. P&L is positive for
//! a gain; losses are `-pnl`. `confidence` is the probability level `c` (0.99 for a
//! 99% VaR), never the tail probability `1 - c`.

use nalgebra::{DMatrix, DVector};

use crate::error::{ensure_finite, AnalyticsError};
use crate::linalg::ensure_square_finite;
use crate::stats::{normal_pdf, normal_quantile, quantile};

/// Portfolio volatility `sigma = sqrt(x' Sigma x)` for exposures `x` and covariance
/// `Sigma` (H. Markowitz (1952), "Portfolio selection", Journal of Finance 7(1),
/// 77–91). NaN when the dimensions disagree or `x' Sigma x < 0` (a covariance that is
/// not positive semidefinite — repair it with
/// [`crate::correlation_repair::nearest_correlation`] first).
pub fn portfolio_volatility(exposure: &DVector<f64>, cov: &DMatrix<f64>) -> f64 {
    let n = exposure.len();
    if cov.nrows() != n || cov.ncols() != n {
        return f64::NAN;
    }
    quadratic_form(cov, exposure).sqrt()
}

/// `x' Sigma x` without allocating (called per scenario in Monte Carlo loops).
fn quadratic_form(cov: &DMatrix<f64>, x: &DVector<f64>) -> f64 {
    let mut total = 0.0;
    for (j, col) in cov.column_iter().enumerate() {
        total += col.dot(x) * x[j];
    }
    total
}

/// Euler allocation of portfolio volatility to positions.
#[derive(Debug, Clone, PartialEq)]
pub struct EulerContributions {
    /// Portfolio volatility `sigma`.
    pub total: f64,
    /// `x_i (Sigma x)_i / sigma`, one per exposure; they sum to `total`.
    pub components: Vec<f64>,
}

/// Euler (marginal × position) risk contributions to volatility:
/// `RC_i = x_i (Sigma x)_i / sigma`, which sum to `sigma` because volatility is
/// positively homogeneous of degree one (Euler's theorem).
///
/// Reference: D. Tasche (1999), "Risk contributions and performance measurement",
/// Working paper, TU München (Euler allocation is the only allocation compatible
/// with RORAC performance measurement; volatility is his leading example).
///
/// Never fails: on a dimension mismatch `total` and every component are NaN; a zero
/// portfolio (sigma = 0) has all contributions 0.
pub fn euler_risk_contributions(exposure: &DVector<f64>, cov: &DMatrix<f64>) -> EulerContributions {
    let n = exposure.len();
    if cov.nrows() != n || cov.ncols() != n {
        return EulerContributions {
            total: f64::NAN,
            components: vec![f64::NAN; n],
        };
    }
    let marginal = cov * exposure;
    let variance = exposure.dot(&marginal);
    let sigma = variance.sqrt();
    let components = if sigma == 0.0 {
        vec![0.0; n]
    } else {
        exposure
            .iter()
            .zip(marginal.iter())
            .map(|(x, m)| x * m / sigma)
            .collect()
    };
    EulerContributions {
        total: sigma,
        components,
    }
}

/// Gaussian (variance–covariance) value at risk as a positive loss:
/// `VaR_c = z_c sigma - mu`, `z_c = Phi^{-1}(c)`, for P&L ~ N(mu, sigma^2)
/// (J.P. Morgan/Reuters (1996), *RiskMetrics — Technical Document*, 4th ed., Part II).
/// NaN for `confidence` outside (0, 1).
pub fn parametric_var(sigma: f64, mean: f64, confidence: f64) -> f64 {
    normal_quantile(confidence) * sigma - mean
}

/// Gaussian expected shortfall as a positive loss:
/// `ES_c = sigma phi(z_c) / (1 - c) - mu`, the mean loss beyond `VaR_c` for P&L
/// ~ N(mu, sigma^2) (C. Acerbi and D. Tasche (2002), "On the coherence of expected
/// shortfall", Journal of Banking & Finance 26(7), 1487–1503; the normal closed form
/// is e.g. in McNeil, Frey & Embrechts, *Quantitative Risk Management* (2005), §2.2.4).
/// NaN for `confidence` outside (0, 1).
pub fn parametric_es(sigma: f64, mean: f64, confidence: f64) -> f64 {
    let z = normal_quantile(confidence);
    sigma * normal_pdf(z) / (1.0 - confidence) - mean
}

/// Historical-simulation VaR and ES, both positive losses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailRisk {
    pub var: f64,
    pub es: f64,
    /// How many observations the ES rests on, `n (1 − confidence)` (fractional): below
    /// about 3 the tail is one or two data points and a reader should be told.
    pub tail_observations: f64,
}

/// Historical-simulation VaR and expected shortfall from a P&L sample.
///
/// Exactly: `losses = -pnl`; `var = quantile(losses, confidence)` with linear
/// interpolation (Hyndman & Fan 1996 type 7, `numpy.quantile` default, see
/// [`crate::stats::quantile`]); `es` is the estimator of C. Acerbi and D. Tasche (2002),
/// "On the coherence of expected shortfall", Journal of Banking & Finance 26(7),
/// 1487–1503, eq. (2.8): with the losses sorted worst first, `L₁ ≥ L₂ ≥ …`, and
/// `m = n (1 − confidence)`,
/// `es = (L₁ + … + L_⌊m⌋ + (m − ⌊m⌋) L_⌊m⌋₊₁) / m` — the worst `m` observations,
/// the boundary one weighted by its fraction. Unlike the mean of the losses beyond the
/// VaR it is coherent and does not jump as `confidence` crosses an observation. When
/// `m < 1` (or `confidence = 1`) it is the worst loss.
///
/// Both are NaN for an empty sample, a non-finite P&L, or `confidence` outside [0, 1].
pub fn historical_var_es(pnl: &[f64], confidence: f64) -> TailRisk {
    let undefined = TailRisk {
        var: f64::NAN,
        es: f64::NAN,
        tail_observations: f64::NAN,
    };
    if pnl.is_empty() || !(0.0..=1.0).contains(&confidence) || pnl.iter().any(|v| !v.is_finite()) {
        return undefined;
    }
    let mut losses: Vec<f64> = pnl.iter().map(|v| -v).collect();
    losses.sort_unstable_by(f64::total_cmp);
    let var = quantile(&losses, confidence);
    let n = losses.len();
    // n(1 − c) in floating point lands a hair off an integer (40 × (1 − 0.9) =
    // 3.9999999999999996); snap it, or the worst 4 would be weighed as 3 and 0.99…
    let raw = n as f64 * (1.0 - confidence);
    let m = if (raw - raw.round()).abs() < 1e-9 {
        raw.round()
    } else {
        raw
    };
    let worst_first = losses.iter().rev();
    let es = if m < 1.0 {
        losses[n - 1]
    } else {
        let whole = m.floor() as usize;
        let full: f64 = worst_first.clone().take(whole).sum();
        let partial = losses
            .get(n.wrapping_sub(whole + 1))
            .filter(|_| whole < n)
            .map_or(0.0, |l| (m - whole as f64) * l);
        (full + partial) / m
    };
    TailRisk {
        var,
        es,
        tail_observations: m,
    }
}

/// Conditional expectation of all factors given shocks to a subset, for zero-mean
/// jointly Gaussian factors with covariance `Sigma`:
/// `E[f_o | f_s = s] = Sigma_os Sigma_ss^{-1} s` (the Gaussian conditioning formula,
/// e.g. T. W. Anderson, *An Introduction to Multivariate Statistical Analysis*, §2.5),
/// as proposed for stress testing by P. H. Kupiec (1998), "Stress testing in a value
/// at risk framework", Journal of Derivatives 6(1), 7–24.
///
/// Returns the full factor vector (length = size of `cov`), with the shocked entries
/// equal to the given shocks. `Sigma_ss` is factorised by Cholesky. No shocks at all
/// gives the unconditional mean, zero.
///
/// Errors: `cov` empty / non-square / non-finite; `shocked` and `shocks` of different
/// lengths; an index out of range or repeated; a non-finite shock;
/// [`AnalyticsError::NotPositiveDefinite`] when `Sigma_ss` is singular (e.g. two
/// shocked factors perfectly correlated).
pub fn conditional_scenario(
    cov: &DMatrix<f64>,
    shocked: &[usize],
    shocks: &[f64],
) -> Result<DVector<f64>, AnalyticsError> {
    ensure_square_finite("conditional_scenario: covariance", cov)?;
    let n = cov.nrows();
    let m = shocked.len();
    if shocks.len() != m {
        return Err(AnalyticsError::DimensionMismatch {
            what: "conditional_scenario: shocks vs shocked indices",
            expected: m,
            found: shocks.len(),
        });
    }
    ensure_finite("conditional_scenario: shocks", shocks)?;
    let mut seen = vec![false; n];
    for &i in shocked {
        if i >= n {
            return Err(AnalyticsError::InvalidArgument(format!(
                "conditional_scenario: shocked index {i} out of range for {n} factors"
            )));
        }
        if seen[i] {
            return Err(AnalyticsError::InvalidArgument(format!(
                "conditional_scenario: factor {i} shocked twice"
            )));
        }
        seen[i] = true;
    }
    let mut out = DVector::zeros(n);
    if m == 0 {
        return Ok(out);
    }
    let sigma_ss = DMatrix::from_fn(m, m, |a, b| cov[(shocked[a], shocked[b])]);
    let chol = sigma_ss
        .cholesky()
        .ok_or(AnalyticsError::NotPositiveDefinite)?;
    let weights = chol.solve(&DVector::from_column_slice(shocks));
    for o in 0..n {
        out[o] = if seen[o] {
            0.0
        } else {
            shocked
                .iter()
                .zip(weights.iter())
                .map(|(&s, w)| cov[(o, s)] * w)
                .sum()
        };
    }
    for (&s, &v) in shocked.iter().zip(shocks) {
        out[s] = v;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_asset(s1: f64, s2: f64, rho: f64) -> DMatrix<f64> {
        DMatrix::from_row_slice(2, 2, &[s1 * s1, rho * s1 * s2, rho * s1 * s2, s2 * s2])
    }

    #[test]
    fn volatility_two_asset_closed_form() {
        // sigma^2 = x1^2 s1^2 + 2 x1 x2 rho s1 s2 + x2^2 s2^2.
        let cov = two_asset(0.2, 0.1, 0.3);
        let x = DVector::from_vec(vec![0.6, 0.4]);
        let expected = (0.36_f64 * 0.04 + 2.0 * 0.24 * 0.3 * 0.02 + 0.16 * 0.01).sqrt();
        assert!((portfolio_volatility(&x, &cov) - expected).abs() < 1e-16);
        assert!(portfolio_volatility(&DVector::from_vec(vec![1.0]), &cov).is_nan());
    }

    #[test]
    fn euler_contributions_two_asset_closed_form_and_sum() {
        // RC_1 = (x1^2 s1^2 + x1 x2 rho s1 s2) / sigma, RC_2 likewise; sum = sigma.
        let (s1, s2, rho) = (0.25, 0.15, -0.4);
        let (x1, x2) = (1.5e6, -0.8e6);
        let cov = two_asset(s1, s2, rho);
        let x = DVector::from_vec(vec![x1, x2]);
        let sigma = (x1 * x1 * s1 * s1 + 2.0 * x1 * x2 * rho * s1 * s2 + x2 * x2 * s2 * s2).sqrt();
        let rc1 = (x1 * x1 * s1 * s1 + x1 * x2 * rho * s1 * s2) / sigma;
        let rc2 = (x2 * x2 * s2 * s2 + x1 * x2 * rho * s1 * s2) / sigma;
        let e = euler_risk_contributions(&x, &cov);
        assert!((e.total - sigma).abs() < 1e-9);
        assert!((e.components[0] - rc1).abs() < 1e-9);
        assert!((e.components[1] - rc2).abs() < 1e-9);
        let sum: f64 = e.components.iter().sum();
        assert!((sum - e.total).abs() < 1e-9 * e.total);
    }

    #[test]
    fn euler_contributions_sum_to_total_in_higher_dimension() {
        let cov = DMatrix::from_row_slice(
            3,
            3,
            &[
                0.04, 0.012, -0.006, 0.012, 0.09, 0.018, -0.006, 0.018, 0.0225,
            ],
        );
        let x = DVector::from_vec(vec![3.0, -1.0, 2.5]);
        let e = euler_risk_contributions(&x, &cov);
        let sum: f64 = e.components.iter().sum();
        assert!((sum - e.total).abs() < 1e-14);
        assert!((e.total - portfolio_volatility(&x, &cov)).abs() < 1e-15);
        let zero = euler_risk_contributions(&DVector::zeros(3), &cov);
        assert_eq!(zero.total, 0.0);
        assert_eq!(zero.components, vec![0.0; 3]);
        let bad = euler_risk_contributions(&DVector::zeros(2), &cov);
        assert!(bad.total.is_nan() && bad.components.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn parametric_var_es_match_scipy() {
        // Oracle: scipy.stats.norm: var = norm.ppf(c)*s - mu; es = s*norm.pdf(norm.ppf(c))/(1-c)
        // - mu. Independently, norm.expect(lambda x: x, loc=-mu, scale=s, lb=var,
        // conditional=True) agrees with es to 1e-15 for the first and third cases.
        let cases = [
            (0.02, 0.001, 0.99, 0.04552695748081682, 0.05230428440691612),
            (1.5e6, -2e4, 0.975, 2959945.976810081, 3526704.1883021197),
            (0.1, 0.0, 0.95, 0.16448536269514724, 0.2062712807507426),
        ];
        for (s, mu, c, var, es) in cases {
            assert!((parametric_var(s, mu, c) - var).abs() <= 1e-14 * var.abs());
            assert!((parametric_es(s, mu, c) - es).abs() <= 1e-14 * es.abs());
        }
        assert!(parametric_var(0.1, 0.0, 1.0).is_nan());
        assert!(parametric_es(0.1, 0.0, 0.0).is_nan());
    }

    #[test]
    fn historical_var_es_match_numpy() {
        // Data: np.round(np.random.default_rng(99).standard_t(4, size=40) * 1000, 2).
        // Oracle: losses = -pnl; v = np.quantile(losses, c); es by Acerbi-Tasche in exact
        // rational arithmetic (Python fractions): m = 40(1-c), worst ⌊m⌋ plus the
        // fractional next one, over m. At c = 0.93 (m = 2.8) it differs from the mean of
        // the losses beyond the VaR (2245.52).
        let pnl = [
            109.45, 1861.21, -644.54, 802.14, 886.51, 1506.29, 504.03, -303.38, 1068.44, 1376.85,
            809.27, -381.05, -1283.09, 1051.76, -544.8, 2178.92, 1054.94, -381.39, -281.01,
            -1597.33, -708.37, 284.59, -1506.93, -333.47, 879.18, -1902.84, -685.33, -73.91, 33.81,
            2753.52, -231.78, 1069.74, 88.44, 225.83, -175.07, -1627.21, 1690.85, -1933.36,
            -133.85, -2900.36,
        ];
        let cases = [
            (0.8, 689.9380000000001, 1682.43625),
            (0.93, 1701.6301000000008, 2269.997142857143),
            (0.9, 1600.318, 2090.9425),
            (0.95, 1904.3659999999998, 2416.86),
            (0.975, 1957.5349999999985, 2900.36),
            (0.99, 2523.2299999999996, 2900.36),
        ];
        for (c, var, es) in cases {
            let t = historical_var_es(&pnl, c);
            assert!((t.var - var).abs() < 1e-9, "c {c}: var {}", t.var);
            assert!((t.es - es).abs() < 1e-9, "c {c}: es {}", t.es);
        }
        // Closed form: confidence 1 gives the worst loss for both.
        let worst = historical_var_es(&pnl, 1.0);
        assert_eq!((worst.var, worst.es), (2900.36, 2900.36));
        assert!(historical_var_es(&[], 0.99).var.is_nan());
        assert!(historical_var_es(&[1.0, f64::NAN], 0.99).es.is_nan());
        assert!(historical_var_es(&pnl, 1.2).var.is_nan());
    }

    #[test]
    fn conditional_scenario_two_factor_closed_form() {
        // E[f_o | f_s = s] = rho sigma_o / sigma_s * s.
        let (s_o, s_s, rho) = (0.3, 0.2, 0.6);
        let cov = two_asset(s_s, s_o, rho);
        let out = conditional_scenario(&cov, &[0], &[-0.25]).unwrap();
        assert_eq!(out[0], -0.25);
        assert!((out[1] - rho * s_o / s_s * -0.25).abs() < 1e-16);
    }

    #[test]
    fn conditional_scenario_matches_numpy() {
        // Oracle: numpy, cov[[1]][:, [0, 2]] @ np.linalg.solve(cov[[0, 2]][:, [0, 2]],
        // [-0.1, 0.05])[0] = 0.0020833333333333394 (1/480 in exact arithmetic).
        let cov = DMatrix::from_row_slice(
            3,
            3,
            &[
                0.04, 0.012, -0.006, 0.012, 0.09, 0.018, -0.006, 0.018, 0.0225,
            ],
        );
        let out = conditional_scenario(&cov, &[2, 0], &[0.05, -0.1]).unwrap();
        assert_eq!(out[0], -0.1);
        assert_eq!(out[2], 0.05);
        assert!((out[1] - 1.0 / 480.0).abs() < 1e-16);
        assert_eq!(
            conditional_scenario(&cov, &[], &[]).unwrap(),
            DVector::zeros(3)
        );
    }

    #[test]
    fn conditional_scenario_bad_input() {
        let cov = two_asset(0.2, 0.1, 1.0);
        assert!(matches!(
            conditional_scenario(&cov, &[0, 1], &[0.1, 0.1]),
            Err(AnalyticsError::NotPositiveDefinite)
        ));
        assert!(conditional_scenario(&cov, &[0], &[0.1, 0.2]).is_err());
        assert!(conditional_scenario(&cov, &[2], &[0.1]).is_err());
        assert!(conditional_scenario(&cov, &[0, 0], &[0.1, 0.1]).is_err());
        assert!(conditional_scenario(&cov, &[0], &[f64::NAN]).is_err());
        assert!(conditional_scenario(&DMatrix::zeros(2, 3), &[0], &[0.1]).is_err());
    }
}
