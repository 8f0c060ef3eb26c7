//! Ordinary least squares with an intercept: the exposure estimate behind every factor
//! model (asset returns regressed on factor returns).
//!
//! Solved by Householder QR of the design matrix rather than the normal equations:
//! forming `X'X` squares the condition number, and factor returns are often strongly
//! collinear (market vs. size vs. value), so the normal equations lose digits exactly
//! where it matters.

use nalgebra::{DMatrix, DVector};

use crate::error::{ensure_finite, AnalyticsError};
use crate::stats::mean;

/// A column whose QR pivot is below this fraction of its own norm is treated as a
/// linear combination of the columns before it (condition number beyond ~1e10).
pub(crate) const RANK_TOLERANCE: f64 = 1e-10;

/// Result of [`ols`]: the fit and its classical (homoskedastic) inference.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsFit {
    /// Estimated constant term.
    pub intercept: f64,
    /// Slope on each regressor, in the column order of `x`.
    pub betas: Vec<f64>,
    /// `y - intercept - x * betas`, one per observation.
    pub residuals: Vec<f64>,
    /// Centred R^2, `1 - SSR/SST`. Defined as 0 when `y` is constant (SST = 0), where
    /// the intercept alone explains everything and the ratio is 0/0.
    pub r_squared: f64,
    /// Unbiased residual variance `SSR / (n - k - 1)`.
    pub residual_variance: f64,
    /// Standard error of each slope, `sqrt(s^2 [(X'X)^{-1}]_jj)`.
    pub beta_std_errors: Vec<f64>,
    /// `beta_j / se_j`. When `se_j` is exactly 0 (a perfect fit) this is 0 for a zero
    /// slope and signed infinity otherwise.
    pub t_stats: Vec<f64>,
}

/// Ordinary least squares `y = a + X b + e` with the intercept added internally.
///
/// Method: Householder QR of the design `[1 X] = QR`, then `R b = Q'y` by back
/// substitution, and `(X'X)^{-1} = R^{-1} R^{-T}` for the standard errors — G. H. Golub
/// (1965), "Numerical methods for solving linear least squares problems", Numerische
/// Mathematik 7, 206–216; see also Golub & Van Loan, *Matrix Computations* (4th ed.,
/// 2013), §5.3. Inference is the classical OLS one (W. H. Greene, *Econometric
/// Analysis*, ch. 4–5): `s^2 = SSR/(n - k - 1)`, `se_j = s sqrt([(X'X)^{-1}]_jj)`.
/// Matches `statsmodels.api.OLS(y, add_constant(X)).fit()`.
///
/// `x` is `n x k` (observations in rows, no constant column). Errors: row count differs
/// from `y.len()`; fewer than `k + 2` observations (no residual degree of freedom);
/// non-finite input; a regressor that is (numerically) a linear combination of the
/// constant and earlier regressors ([`AnalyticsError::RankDeficient`]).
pub fn ols(y: &[f64], x: &DMatrix<f64>) -> Result<OlsFit, AnalyticsError> {
    ols_with_inverse(y, x).map(|(fit, _)| fit)
}

/// [`ols`] plus `R^{-1}` of the QR of the design `[1 X]`, so that callers needing
/// `(X'X)^{-1} = R^{-1} R^{-T}` (sandwich estimators) reuse the same factorisation.
fn ols_with_inverse(y: &[f64], x: &DMatrix<f64>) -> Result<(OlsFit, DMatrix<f64>), AnalyticsError> {
    let n = y.len();
    let k = x.ncols();
    if x.nrows() != n {
        return Err(AnalyticsError::DimensionMismatch {
            what: "ols: rows of x vs length of y",
            expected: n,
            found: x.nrows(),
        });
    }
    if n < k + 2 {
        return Err(AnalyticsError::NotEnoughObservations {
            needed: k + 2,
            found: n,
        });
    }
    ensure_finite("ols: y", y)?;
    ensure_finite("ols: x", x.iter())?;

    let p = k + 1;
    let design = DMatrix::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { x[(i, j - 1)] });
    let column_norms: Vec<f64> = design.column_iter().map(|c| c.norm()).collect();
    let qr = design.qr();
    let r = qr.r();
    let rank = (0..p)
        .filter(|&j| r[(j, j)].abs() > RANK_TOLERANCE * column_norms[j])
        .count();
    if rank < p {
        return Err(AnalyticsError::RankDeficient { rank, columns: p });
    }

    let mut qty = DVector::from_column_slice(y);
    qr.q_tr_mul(&mut qty);
    let coef = r
        .solve_upper_triangular(&qty.rows(0, p).into_owned())
        .ok_or(AnalyticsError::RankDeficient { rank, columns: p })?;

    // Residuals from the original data (not from the tail of Q'y) so they are exactly
    // consistent with the reported coefficients.
    let mut residuals = Vec::with_capacity(n);
    for (i, &yi) in y.iter().enumerate() {
        let mut fitted = coef[0];
        for j in 0..k {
            fitted += x[(i, j)] * coef[j + 1];
        }
        residuals.push(yi - fitted);
    }
    let ssr: f64 = residuals.iter().map(|e| e * e).sum();
    let y_bar = mean(y);
    let sst: f64 = y.iter().map(|v| (v - y_bar) * (v - y_bar)).sum();
    let r_squared = if sst > 0.0 { 1.0 - ssr / sst } else { 0.0 };
    let residual_variance = ssr / (n - p) as f64;

    let r_inv = r
        .solve_upper_triangular(&DMatrix::identity(p, p))
        .ok_or(AnalyticsError::RankDeficient { rank, columns: p })?;
    let mut beta_std_errors = Vec::with_capacity(k);
    let mut t_stats = Vec::with_capacity(k);
    for j in 1..p {
        // [(X'X)^{-1}]_jj = ||row j of R^{-1}||^2.
        let xtx_inv_jj = r_inv.row(j).norm_squared();
        let se = (residual_variance * xtx_inv_jj).sqrt();
        beta_std_errors.push(se);
        t_stats.push(t_stat(coef[j], se));
    }

    let fit = OlsFit {
        intercept: coef[0],
        betas: coef.iter().skip(1).copied().collect(),
        residuals,
        r_squared,
        residual_variance,
        beta_std_errors,
        t_stats,
    };
    Ok((fit, r_inv))
}

/// `b / se`, with the conventions of [`OlsFit::t_stats`] when `se` is 0.
fn t_stat(b: f64, se: f64) -> f64 {
    if se > 0.0 {
        b / se
    } else if b == 0.0 {
        0.0
    } else {
        b.signum() * f64::INFINITY
    }
}

/// Result of [`ols_newey_west`]: the unchanged OLS fit plus Newey–West (HAC) inference.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsHacFit {
    /// Exactly what [`ols`] returns for the same data (classical inference included).
    pub fit: OlsFit,
    /// Bartlett truncation lag `L` actually used (given, or the automatic rule).
    pub lags: usize,
    /// Whether the `n / (n - k - 1)` small-sample factor was applied.
    pub small_sample_correction: bool,
    /// HAC covariance of `[intercept, betas...]`, `(k + 1) x (k + 1)`.
    pub hac_covariance: DMatrix<f64>,
    /// HAC standard error of the intercept.
    pub hac_intercept_std_error: f64,
    /// HAC standard error of each slope, in the column order of `x`.
    pub hac_std_errors: Vec<f64>,
    /// `beta_j / hac_se_j` (same zero-`se` conventions as [`OlsFit::t_stats`]).
    pub hac_t_stats: Vec<f64>,
}

/// Automatic Newey–West lag `floor(4 (n / 100)^(2/9))`: the rule of thumb of
/// W. K. Newey & K. D. West (1994), "Automatic lag selection in covariance matrix
/// estimation", Review of Economic Studies 61(4), 631–653 (the `4 (T/100)^(2/9)`
/// starting bandwidth for the Bartlett kernel), and the default of statsmodels'
/// `sandwich_covariance.S_hac_simple(nlags=None)`. Gives 2 for n = 24, 3 for 60,
/// 4 for 100–250, 6 for 1000.
pub fn newey_west_default_lag(n: usize) -> usize {
    (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize
}

/// OLS ([`ols`], unchanged) with Newey–West heteroskedasticity- and
/// autocorrelation-consistent (HAC) standard errors and t-statistics.
///
/// Method: W. K. Newey & K. D. West (1987), "A simple, positive semi-definite,
/// heteroskedasticity and autocorrelation consistent covariance matrix",
/// Econometrica 55(3), 703–708. With design `Z = [1 X]`, residuals `e` and scores
/// `g_t = z_t e_t`,
/// `S = sum_t g_t g_t' + sum_{l=1..L} w_l sum_{t>l} (g_t g_{t-l}' + g_{t-l} g_t')`,
/// Bartlett weights `w_l = 1 - l / (L + 1)`, and
/// `V = (Z'Z)^{-1} S (Z'Z)^{-1}`, times `n / (n - k - 1)` when
/// `small_sample_correction` is set. `L = 0` is White's HC0.
///
/// Convention: `lags = None` uses [`newey_west_default_lag`]. With
/// `small_sample_correction = false` this matches
/// `statsmodels.api.OLS(y, add_constant(X)).fit(cov_type="HAC",
/// cov_kwds={"maxlags": L})` exactly (statsmodels' default `use_correction=False`);
/// with `true` it matches `cov_kwds={"maxlags": L, "use_correction": True}`.
/// `(Z'Z)^{-1}` comes from the same Householder QR as the fit (`R^{-1} R^{-T}`).
///
/// Errors: those of [`ols`], and `lags >= n` ([`AnalyticsError::InvalidArgument`]).
pub fn ols_newey_west(
    y: &[f64],
    x: &DMatrix<f64>,
    lags: Option<usize>,
    small_sample_correction: bool,
) -> Result<OlsHacFit, AnalyticsError> {
    let (fit, r_inv) = ols_with_inverse(y, x)?;
    let n = y.len();
    let k = x.ncols();
    let p = k + 1;
    let lags = lags.unwrap_or_else(|| newey_west_default_lag(n));
    if lags >= n {
        return Err(AnalyticsError::InvalidArgument(format!(
            "ols_newey_west: lag {lags} must be below the number of observations {n}"
        )));
    }
    // Scores g_t = z_t e_t, one row per observation.
    let scores = DMatrix::from_fn(n, p, |t, j| {
        let z = if j == 0 { 1.0 } else { x[(t, j - 1)] };
        z * fit.residuals[t]
    });
    let mut meat = scores.tr_mul(&scores);
    for l in 1..=lags {
        let w = 1.0 - l as f64 / (lags as f64 + 1.0);
        let lead = scores.rows(l, n - l);
        let lagged = scores.rows(0, n - l);
        let gamma = lead.tr_mul(&lagged);
        meat += (&gamma + gamma.transpose()) * w;
    }
    let xtx_inv = &r_inv * r_inv.transpose();
    let mut cov = &xtx_inv * meat * &xtx_inv;
    if small_sample_correction {
        cov *= n as f64 / (n - p) as f64;
    }
    // Symmetrise away the rounding of the triple product.
    let cov = DMatrix::from_fn(p, p, |i, j| 0.5 * (cov[(i, j)] + cov[(j, i)]));
    let se: Vec<f64> = (0..p).map(|j| cov[(j, j)].max(0.0).sqrt()).collect();
    let hac_t_stats = (0..k).map(|j| t_stat(fit.betas[j], se[j + 1])).collect();
    Ok(OlsHacFit {
        hac_intercept_std_error: se[0],
        hac_std_errors: se[1..].to_vec(),
        hac_t_stats,
        hac_covariance: cov,
        lags,
        small_sample_correction,
        fit,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Data: numpy.random.default_rng(20240611); n, k = 24, 3;
    // X = rng.normal(size=(n, k)) * [0.02, 0.01, 0.05];
    // y = 0.001 + X @ [1.2, -0.4, 0.3] + rng.normal(scale=0.01, size=n).
    pub(crate) const X_ROWS: [[f64; 3]; 24] = [
        [
            -0.004223782411145827,
            -0.005177334709845255,
            0.007479791848123115,
        ],
        [
            -0.03579793687355952,
            0.002844522535691842,
            -0.016084780324184506,
        ],
        [
            -0.014521006488986039,
            0.0009853727513129667,
            -0.09757369242032403,
        ],
        [
            -0.0031682577125431346,
            -0.007312848653804448,
            0.020484767894677566,
        ],
        [
            0.008848834755326357,
            -0.009278626907702292,
            -0.0466583976385925,
        ],
        [
            -0.02940074327977923,
            -0.007876892940867894,
            0.01597071960081499,
        ],
        [
            0.017145407322495348,
            0.0022879972296310867,
            0.001739962632757804,
        ],
        [
            -0.017348942208869133,
            0.0019577021284431775,
            -0.04078447657628351,
        ],
        [
            0.004792577697973622,
            -0.0020259332624012354,
            0.04280090517427164,
        ],
        [
            0.004049407051079579,
            0.013688252896097017,
            -0.020410722373579507,
        ],
        [
            0.015118901648932646,
            0.002251607240745753,
            0.0848277910053447,
        ],
        [
            -0.039241079094381175,
            0.008742582951813314,
            -0.05118258050354703,
        ],
        [
            -0.01737293477950011,
            -0.00018363115062379937,
            -0.07552796805532348,
        ],
        [
            -0.02389162053157117,
            -0.005055418749192547,
            -0.016124191581349787,
        ],
        [
            -0.03807357856179551,
            -0.008736312382373598,
            -0.007295678345311677,
        ],
        [
            -0.002638551695412443,
            -0.006623081572224156,
            -0.0002044394553148444,
        ],
        [
            -0.010267488541715676,
            0.011734987782299332,
            -0.04045675910039558,
        ],
        [
            0.001182075975979585,
            -0.004895950062802856,
            0.0427281226565543,
        ],
        [
            -0.019430970231377454,
            0.008766026328650388,
            -0.05976508964998322,
        ],
        [
            -0.02733993794243094,
            -0.005484695736103665,
            0.004606342813559522,
        ],
        [
            -0.030420472266599365,
            -0.005041894554335144,
            -0.00019852328546592432,
        ],
        [
            -0.0007111530779192867,
            0.008755659365466597,
            0.03921367673927604,
        ],
        [
            0.006656624961852328,
            0.009134330350514332,
            0.04698631039840801,
        ],
        [
            -0.022183247425843905,
            0.02185262079056387,
            -0.002446349135022962,
        ],
    ];
    pub(crate) const Y: [f64; 24] = [
        -0.005813091407504911,
        -0.04191927414283709,
        -0.050977236129339354,
        0.012540230896152495,
        -0.010681455593302287,
        -0.019085334175386624,
        0.008542542221285416,
        -0.029079828873577594,
        0.018269487486592507,
        -0.010754059101591787,
        0.045221110917661234,
        -0.07069418623384874,
        -0.05015188915339902,
        -0.026535969838234884,
        -0.024070404350397732,
        -0.009555929995877658,
        -0.016600335930548514,
        0.02801088493237057,
        -0.05495390408762272,
        -0.026329798338792076,
        -0.028306974919965387,
        -0.0007001050575408587,
        0.030222288625654924,
        -0.026315752066761105,
    ];

    fn design() -> DMatrix<f64> {
        DMatrix::from_fn(24, 3, |i, j| X_ROWS[i][j])
    }

    fn assert_close(actual: f64, expected: f64, rel: f64) {
        let err = (actual - expected).abs() / expected.abs();
        assert!(
            err <= rel,
            "actual {actual:e} expected {expected:e} rel {err:e}"
        );
    }

    #[test]
    fn matches_statsmodels_ols() {
        // Oracle: statsmodels 0.14, sm.OLS(y, sm.add_constant(X)).fit() — params, bse,
        // tvalues, rsquared, scale, resid. Tolerance 1e-10 relative (different QR /
        // pinv paths agree to ~1e-13 here).
        let fit = ols(&Y, &design()).unwrap();
        assert_close(fit.intercept, -0.0014958352468145697, 1e-10);
        let betas = [0.8813047630910289, -0.3342002288138277, 0.4178595968979723];
        let bse = [0.09980743685172988, 0.1876846488108999, 0.03991505905414768];
        let tvalues = [8.830051055216073, -1.7806476498274952, 10.468720497973342];
        for j in 0..3 {
            assert_close(fit.betas[j], betas[j], 1e-10);
            assert_close(fit.beta_std_errors[j], bse[j], 1e-10);
            assert_close(fit.t_stats[j], tvalues[j], 1e-10);
        }
        assert_close(fit.r_squared, 0.943496796147824, 1e-12);
        assert_close(fit.residual_variance, 5.4004342712189824e-05, 1e-10);
        assert_eq!(fit.residuals.len(), 24);
        assert_close(fit.residuals[0], -0.005450585854700934, 1e-9);
        assert_close(fit.residuals[23], 0.0030556661290971586, 1e-9);
    }

    #[test]
    fn residuals_are_orthogonal_to_regressors() {
        // Textbook property of least squares: X'e = 0 and sum(e) = 0.
        let x = design();
        let fit = ols(&Y, &x).unwrap();
        let e = DVector::from_vec(fit.residuals.clone());
        assert!(e.sum().abs() < 1e-15);
        for j in 0..3 {
            assert!(x.column(j).dot(&e).abs() < 1e-16);
        }
    }

    #[test]
    fn exact_line_is_recovered() {
        // Closed form: y = 2 + 3 x exactly -> intercept 2, beta 3, R^2 = 1.
        let x = DMatrix::from_column_slice(5, 1, &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let y: Vec<f64> = (0..5).map(|i| 2.0 + 3.0 * i as f64).collect();
        let fit = ols(&y, &x).unwrap();
        assert!((fit.intercept - 2.0).abs() < 1e-14);
        assert!((fit.betas[0] - 3.0).abs() < 1e-14);
        assert!((fit.r_squared - 1.0).abs() < 1e-14);
    }

    #[test]
    fn constant_response_is_not_nan() {
        let x = DMatrix::from_column_slice(4, 1, &[0.1, -0.2, 0.3, 0.0]);
        let fit = ols(&[0.0; 4], &x).unwrap();
        assert_eq!(fit.r_squared, 0.0);
        assert_eq!(fit.betas[0], 0.0);
        assert_eq!(fit.t_stats[0], 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = design();
        assert!(matches!(
            ols(&Y[..10], &x),
            Err(AnalyticsError::DimensionMismatch { .. })
        ));
        let small = DMatrix::from_fn(4, 3, |i, j| X_ROWS[i][j]);
        assert!(matches!(
            ols(&Y[..4], &small),
            Err(AnalyticsError::NotEnoughObservations {
                needed: 5,
                found: 4
            })
        ));
        let mut with_nan = Y;
        with_nan[3] = f64::NAN;
        assert!(matches!(
            ols(&with_nan, &x),
            Err(AnalyticsError::InvalidArgument(_))
        ));
        // Third column = first + second: collinear.
        let collinear = DMatrix::from_fn(24, 3, |i, j| {
            if j < 2 {
                X_ROWS[i][j]
            } else {
                X_ROWS[i][0] + X_ROWS[i][1]
            }
        });
        assert!(matches!(
            ols(&Y, &collinear),
            Err(AnalyticsError::RankDeficient {
                rank: 3,
                columns: 4
            })
        ));
    }

    // Oracle for the HAC tests (statsmodels 0.14, numpy 2; same data as above):
    //   import numpy as np, statsmodels.api as sm
    //   rng = np.random.default_rng(20240611); n, k = 24, 3
    //   X = rng.normal(size=(n, k)) * [0.02, 0.01, 0.05]
    //   y = 0.001 + X @ [1.2, -0.4, 0.3] + rng.normal(scale=0.01, size=n)
    //   r = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HAC",
    //           cov_kwds={"maxlags": L, "use_correction": corr})
    //   r.bse, r.tvalues          # [const, x1, x2, x3]
    fn assert_hac(fit: &OlsHacFit, bse: [f64; 4], tvalues: [f64; 4]) {
        assert_close(fit.hac_intercept_std_error, bse[0], 1e-8);
        for j in 0..3 {
            assert_close(fit.hac_std_errors[j], bse[j + 1], 1e-8);
            assert_close(fit.hac_t_stats[j], tvalues[j + 1], 1e-8);
        }
        assert_close(
            fit.fit.intercept / fit.hac_intercept_std_error,
            tvalues[0],
            1e-8,
        );
    }

    #[test]
    fn newey_west_matches_statsmodels_hac() {
        // L = 3, use_correction=False (statsmodels' default for cov_type="HAC").
        let hac = ols_newey_west(&Y, &design(), Some(3), false).unwrap();
        assert_eq!(hac.lags, 3);
        assert_hac(
            &hac,
            [
                0.0010400495870044057,
                0.07055048199022304,
                0.12248713163493273,
                0.019842904387834436,
            ],
            [
                -1.4382345471843674,
                12.491831922752294,
                -2.7284517512410704,
                21.05838886943181,
            ],
        );
        // L = 3, use_correction=True: V * n / (n - 4).
        let hac = ols_newey_west(&Y, &design(), Some(3), true).unwrap();
        assert_hac(
            &hac,
            [
                0.0011393172394524899,
                0.07728418085781426,
                0.13417793000111458,
                0.021736812679270322,
            ],
            [
                -1.312922507460177,
                11.40343021442427,
                -2.4907242853653475,
                19.223591014172523,
            ],
        );
        // L = 0 is White's HC0 (statsmodels maxlags=0).
        let hac = ols_newey_west(&Y, &design(), Some(0), false).unwrap();
        assert_hac(
            &hac,
            [
                0.0015016352185631603,
                0.07742869111518406,
                0.1724008818179171,
                0.03000327147779111,
            ],
            [
                -0.9961375627869595,
                11.382147242809348,
                -1.9385064930630493,
                13.927134486226894,
            ],
        );
    }

    #[test]
    fn newey_west_automatic_lag_and_unchanged_ols() {
        // floor(4 (24/100)^(2/9)) = 2; statsmodels maxlags=2, use_correction=False.
        let hac = ols_newey_west(&Y, &design(), None, false).unwrap();
        assert_eq!(hac.lags, 2);
        assert_hac(
            &hac,
            [
                0.0011641253499642375,
                0.07937279183868778,
                0.1296751607305793,
                0.022580270976126603,
            ],
            [
                -1.2849434529198445,
                11.103361021773514,
                -2.5772108315190883,
                18.50551737575523,
            ],
        );
        // The OLS part is bit-for-bit what `ols` returns.
        assert_eq!(hac.fit, ols(&Y, &design()).unwrap());
        // Python: [int(np.floor(4 * (t / 100.0) ** (2.0 / 9.0))) for t in (1, 60, 100, 250, 1000)]
        let lags: Vec<usize> = [1, 60, 100, 250, 1000]
            .iter()
            .map(|&t| newey_west_default_lag(t))
            .collect();
        assert_eq!(lags, vec![1, 3, 4, 4, 6]);
    }

    #[test]
    fn newey_west_rejects_bad_lag() {
        assert!(matches!(
            ols_newey_west(&Y, &design(), Some(24), false),
            Err(AnalyticsError::InvalidArgument(_))
        ));
        assert!(matches!(
            ols_newey_west(&Y[..10], &design(), Some(1), false),
            Err(AnalyticsError::DimensionMismatch { .. })
        ));
    }
}
