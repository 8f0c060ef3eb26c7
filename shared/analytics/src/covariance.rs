//! Covariance estimators for factor and asset returns.
//!
//! Three estimators with different jobs: the unbiased sample covariance (the textbook
//! baseline), Ledoit–Wolf shrinkage (well conditioned when the history is short
//! relative to the number of factors, so it can be inverted and optimised against),
//! and the RiskMetrics EWMA (reacts to the latest volatility regime). Conversions
//! between covariance and correlation sit here too, because stress scenarios are
//! written as correlation shocks on top of today's volatilities.
//!
//! Convention throughout: data matrices are `n x p`, observations in rows (oldest
//! first), variables in columns.

use nalgebra::DMatrix;

use crate::error::{ensure_finite, AnalyticsError};

/// A shrunk covariance estimate and the weight put on the shrinkage target.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrinkage {
    /// `(1 - intensity) S + intensity * mu * I`.
    pub covariance: DMatrix<f64>,
    /// Shrinkage intensity in [0, 1].
    pub intensity: f64,
}

fn ensure_data(what: &'static str, x: &DMatrix<f64>, needed: usize) -> Result<(), AnalyticsError> {
    if x.ncols() == 0 {
        return Err(AnalyticsError::InvalidArgument(format!(
            "{what}: data has no variables"
        )));
    }
    if x.nrows() < needed {
        return Err(AnalyticsError::NotEnoughObservations {
            needed,
            found: x.nrows(),
        });
    }
    ensure_finite(what, x.iter())
}

/// The data with each column's mean removed (two-pass centring: the mean is formed
/// first, so no catastrophic cancellation as in the one-pass `E[x^2] - E[x]^2`).
fn centred(x: &DMatrix<f64>) -> DMatrix<f64> {
    let mut xc = x.clone();
    for mut col in xc.column_iter_mut() {
        let m = col.mean();
        col.add_scalar_mut(-m);
    }
    xc
}

/// Unbiased sample covariance `S = X_c' X_c / (n - 1)` of an `n x p` data matrix, with
/// `X_c` the column-centred data (two-pass algorithm; Chan, Golub & LeVeque (1983),
/// "Algorithms for computing the sample variance", The American Statistician 37(3)).
/// Matches `numpy.cov(x, rowvar=False)`.
///
/// Errors: fewer than 2 observations, no variables, non-finite entries.
pub fn sample_covariance(x: &DMatrix<f64>) -> Result<DMatrix<f64>, AnalyticsError> {
    ensure_data("sample_covariance", x, 2)?;
    let xc = centred(x);
    let mut s = xc.tr_mul(&xc);
    s /= (x.nrows() - 1) as f64;
    Ok(s)
}

/// Correlation matrix `R = D^{-1/2} S D^{-1/2}` with `D = diag(S)` (the definition of
/// Pearson correlation applied to a covariance matrix).
///
/// Total function, so it never fails: a variable with exactly zero variance (e.g. a
/// cash line with constant returns) has no defined correlation; it gets 1 on the
/// diagonal and 0 elsewhere, which leaves any portfolio risk computed from the result
/// unchanged. Negative or non-finite variances, or a non-square input, make the
/// affected entries (or the whole matrix) NaN rather than inventing a value.
pub fn correlation_from_covariance(cov: &DMatrix<f64>) -> DMatrix<f64> {
    if !cov.is_square() {
        return DMatrix::from_element(cov.nrows(), cov.ncols(), f64::NAN);
    }
    let n = cov.nrows();
    let inv_vol: Vec<f64> = (0..n)
        .map(|i| {
            let v = cov[(i, i)];
            if v > 0.0 && v.is_finite() {
                1.0 / v.sqrt()
            } else if v == 0.0 {
                0.0
            } else {
                f64::NAN
            }
        })
        .collect();
    DMatrix::from_fn(n, n, |i, j| {
        if i == j {
            if inv_vol[i].is_nan() {
                f64::NAN
            } else {
                1.0
            }
        } else {
            cov[(i, j)] * inv_vol[i] * inv_vol[j]
        }
    })
}

/// Covariance `S = D R D` from a correlation matrix and volatilities, `D = diag(vols)`
/// (the inverse of [`correlation_from_covariance`]; the RiskMetrics Technical
/// Document (1996) stores volatilities and correlations and rebuilds covariances so).
///
/// A non-square `corr` or a `vols` of the wrong length yields an all-NaN matrix of
/// the shape of `corr` (the function is total by signature, so it cannot return an
/// error).
pub fn covariance_from_correlation(corr: &DMatrix<f64>, vols: &[f64]) -> DMatrix<f64> {
    if !corr.is_square() || corr.nrows() != vols.len() {
        return DMatrix::from_element(corr.nrows(), corr.ncols(), f64::NAN);
    }
    let n = vols.len();
    DMatrix::from_fn(n, n, |i, j| vols[i] * corr[(i, j)] * vols[j])
}

/// Ledoit–Wolf shrinkage towards a scaled identity.
///
/// O. Ledoit and M. Wolf (2004), "A well-conditioned estimator for large-dimensional
/// covariance matrices", Journal of Multivariate Analysis 88(2), 365–411, §3: `Sigma* = (1 - d) S + d mu I`, `mu = tr(S)/p`, with the
/// intensity `d = min(b^2, d^2) / d^2` estimated from the data.
///
/// Convention (chosen to reproduce `sklearn.covariance.LedoitWolf().fit(x)` exactly,
/// `covariance_` and `shrinkage_`): the data are centred by their column means, and
/// `S` is the maximum-likelihood covariance `X_c' X_c / n` — divided by `n`, **not**
/// `n - 1` — as in the paper. With `x_k` the k-th centred observation:
/// `d^2 = ||S - mu I||_F^2 / p`, `b^2 = (1/(p n)) [ (1/n) sum_k (x_k'x_k)^2 - ||S||_F^2 ]`
/// (the sums `sum_k (x_k'x_k)^2 = sum_ij [X2'X2]_ij` of scikit-learn, evaluated in O(np)).
/// A single variable gets intensity 0 (shrinking a scalar to itself changes nothing).
///
/// Errors: fewer than 2 observations, no variables, non-finite entries.
pub fn ledoit_wolf(x: &DMatrix<f64>) -> Result<Shrinkage, AnalyticsError> {
    ensure_data("ledoit_wolf", x, 2)?;
    let (n, p) = x.shape();
    let nf = n as f64;
    let pf = p as f64;
    let xc = centred(x);
    let mut s = xc.tr_mul(&xc);
    s /= nf;
    let trace = s.trace();
    let mu = trace / pf;
    if p == 1 {
        return Ok(Shrinkage {
            covariance: s,
            intensity: 0.0,
        });
    }

    // beta_ = sum_k (sum_i x_ki^2)^2 ; delta_ = ||X'X||_F^2 / n^2 = ||S||_F^2.
    let beta_raw: f64 = xc
        .row_iter()
        .map(|row| {
            let sq = row.norm_squared();
            sq * sq
        })
        .sum();
    let delta_raw = s.norm_squared();
    let beta = (beta_raw / nf - delta_raw) / (pf * nf);
    let delta = (delta_raw - 2.0 * mu * trace + pf * mu * mu) / pf;
    let beta = beta.min(delta);
    let intensity = if beta == 0.0 { 0.0 } else { beta / delta };

    let mut covariance = s * (1.0 - intensity);
    for i in 0..p {
        covariance[(i, i)] += intensity * mu;
    }
    Ok(Shrinkage {
        covariance,
        intensity,
    })
}

/// Ledoit–Wolf shrinkage towards the constant-correlation target: every pair keeps its
/// own two variances and shares the average sample correlation `r̄`.
///
/// O. Ledoit and M. Wolf (2004), "Honey, I shrunk the sample covariance matrix",
/// Journal of Portfolio Management 30(4), 110–119, and its appendix (Ledoit & Wolf
/// 2003, "Improved estimation of the covariance matrix of stock returns", Journal of
/// Empirical Finance 10(5), §2 and Appendix B). The scaled-identity target of
/// [`ledoit_wolf`] pulls every variance towards their mean, which distorts factors
/// whose variances differ several-fold (the market factor against momentum); this
/// target leaves the variances alone and shrinks only the correlations, so it fits
/// factor returns. `Sigma* = d F + (1 - d) S` with `F_ii = s_ii`,
/// `F_ij = r̄ √(s_ii s_jj)` and `d = max(0, min(1, (π̂ − ρ̂) / (γ̂ T)))`, where
/// `π̂ = Σ_ij (1/T) Σ_t ((x_ti x_tj − s_ij)²)`,
/// `ρ̂ = Σ_i π̂_ii + r̄ Σ_{i≠j} √(s_jj/s_ii) θ̂_ii,ij`,
/// `θ̂_ii,ij = (1/T) Σ_t (x_ti² − s_ii)(x_ti x_tj − s_ij)`, `γ̂ = ‖S − F‖²_F`.
///
/// Convention: `S` is the maximum-likelihood covariance `X_c' X_c / T` of the centred
/// data, as in the paper and as [`ledoit_wolf`]. Tested against PyPortfolioOpt 1.6.0's
/// `CovarianceShrinkage._ledoit_wolf_constant_correlation` with the same `S`.
///
/// Errors: fewer than 2 observations, no variables, non-finite entries, a variable
/// with zero variance (its correlations are undefined).
pub fn ledoit_wolf_constant_correlation(x: &DMatrix<f64>) -> Result<Shrinkage, AnalyticsError> {
    ensure_data("ledoit_wolf_constant_correlation", x, 2)?;
    let (t, p) = x.shape();
    let tf = t as f64;
    let xc = centred(x);
    let s = xc.tr_mul(&xc) / tf;
    if p == 1 {
        return Ok(Shrinkage {
            covariance: s,
            intensity: 0.0,
        });
    }
    let sd: Vec<f64> = (0..p).map(|i| s[(i, i)].sqrt()).collect();
    if sd.iter().any(|v| *v <= 0.0 || !v.is_finite()) {
        return Err(AnalyticsError::InvalidArgument(
            "ledoit_wolf_constant_correlation: a variable has zero variance".into(),
        ));
    }
    let mut r_sum = 0.0;
    for i in 0..p {
        for j in 0..p {
            if i != j {
                r_sum += s[(i, j)] / (sd[i] * sd[j]);
            }
        }
    }
    let r_bar = r_sum / (p * (p - 1)) as f64;
    let target = DMatrix::from_fn(p, p, |i, j| {
        if i == j {
            s[(i, i)]
        } else {
            r_bar * sd[i] * sd[j]
        }
    });
    // π̂_ij and θ̂_ii,ij in one pass over the observations: O(T p²).
    let mut pi = DMatrix::<f64>::zeros(p, p);
    let mut theta = DMatrix::<f64>::zeros(p, p);
    for row in xc.row_iter() {
        for i in 0..p {
            let sq_dev = row[i] * row[i] - s[(i, i)];
            for j in 0..p {
                let dev = row[i] * row[j] - s[(i, j)];
                pi[(i, j)] += dev * dev;
                theta[(i, j)] += sq_dev * dev;
            }
        }
    }
    pi /= tf;
    theta /= tf;
    let pi_hat = pi.sum();
    let mut rho_hat: f64 = (0..p).map(|i| pi[(i, i)]).sum();
    for i in 0..p {
        for j in 0..p {
            if i != j {
                rho_hat += r_bar * (sd[j] / sd[i]) * theta[(i, j)];
            }
        }
    }
    let gamma_hat = (&s - &target).norm_squared();
    let intensity = if gamma_hat > 0.0 {
        ((pi_hat - rho_hat) / gamma_hat / tf).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok(Shrinkage {
        covariance: target * intensity + s * (1.0 - intensity),
        intensity,
    })
}

/// Exponentially weighted (RiskMetrics) covariance with decay `lambda`, zero mean.
///
/// J.P. Morgan/Reuters (1996), *RiskMetrics — Technical Document*, 4th ed., §5.2.1,
/// eqs. (5.1)–(5.3) and Table 5.1: returns are assumed to have zero mean and
/// `Sigma_t = lambda Sigma_{t-1} + (1 - lambda) r_t r_t'`. The recursion is seeded
/// with `Sigma_0 = 0`, so the result is exactly the Technical Document's finite-sample
/// sum `(1 - lambda) sum_{j=0}^{T-1} lambda^j r_{T-j} r_{T-j}'` (the last row is the
/// most recent observation and carries weight `1 - lambda`). The weights sum to
/// `1 - lambda^T`, not 1: use at least `ln(0.01)/ln(lambda)` observations (≈ 75 for
/// the daily `lambda = 0.94`) to keep the missing mass under 1%, the Technical
/// Document's tolerance-level rule for the effective number of observations.
///
/// Errors: `lambda` outside (0, 1), no observations or variables, non-finite entries.
pub fn ewma_covariance(x: &DMatrix<f64>, lambda: f64) -> Result<DMatrix<f64>, AnalyticsError> {
    if !(lambda > 0.0 && lambda < 1.0) {
        return Err(AnalyticsError::InvalidArgument(format!(
            "ewma_covariance: lambda must be in (0, 1), got {lambda}"
        )));
    }
    ensure_data("ewma_covariance", x, 1)?;
    let p = x.ncols();
    let w = 1.0 - lambda;
    let mut sigma = DMatrix::<f64>::zeros(p, p);
    for r in x.row_iter() {
        // Upper triangle only; mirrored once at the end.
        for j in 0..p {
            let wr_j = w * r[j];
            for i in 0..=j {
                sigma[(i, j)] = lambda * sigma[(i, j)] + wr_j * r[i];
            }
        }
    }
    for j in 0..p {
        for i in 0..j {
            sigma[(j, i)] = sigma[(i, j)];
        }
    }
    Ok(sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Data: numpy.random.default_rng(7); A = [[1,0,0,0],[.6,.8,0,0],[.3,-.2,.9,0],
    // [.1,.4,.2,.7]]; X = rng.normal(size=(12, 4)) @ A.T * 0.01 + 0.002.
    const X: [[f64; 4]; 12] = [
        [
            0.0020123015335748256,
            0.004397345220212655,
            -0.0010610413132044502,
            -0.0035862062786339915,
        ],
        [
            -0.002546707851717226,
            -0.008661197151002036,
            0.003160573177854704,
            0.007080536918919039,
        ],
        [
            -0.0029220651855132963,
            -0.005917038309867501,
            0.0061729086956526765,
            0.0025037870396597307,
        ],
        [
            0.0030541424899789855,
            -0.004811258863678247,
            0.003913912434240644,
            0.003192160786446547,
        ],
        [
            -0.01144214547285082,
            -0.009726213372032238,
            -0.018228416777982405,
            -0.014003887249542475,
        ],
        [
            -0.016417350377917327,
            -0.010931139275347843,
            -0.014462041184219164,
            -0.0014181420132259532,
        ],
        [
            0.003567510866242252,
            0.0014450589627057159,
            -0.019806722248252036,
            -0.007395342384463075,
        ],
        [
            0.0015149905459892802,
            0.0026154662156200287,
            -0.012143342697758375,
            -0.003999809464636144,
        ],
        [
            -0.007785190780566395,
            -0.01034181238374463,
            0.010230204855155989,
            -0.005744813516310155,
        ],
        [
            0.001674782950544794,
            0.008879988709392269,
            -0.005118748744292628,
            0.003555923252011454,
        ],
        [
            0.003104641432494806,
            0.0031730390535373793,
            -0.008821673556520923,
            0.000448461200073398,
        ],
        [
            0.015588234217415377,
            -0.0022242168945786345,
            0.01690520381367596,
            -0.0002755117348531271,
        ],
    ];

    #[test]
    fn constant_correlation_shrinkage_matches_pyportfolioopt() {
        // Reference: PyPortfolioOpt 1.6.0 CovarianceShrinkage._ledoit_wolf_constant_correlation
        // on the same 60×4 series, with S set to the 1/T covariance (as the paper).
        let x = DMatrix::from_fn(60, 4, |t, j| {
            (((t * 7 + j * 13) % 17) as f64 - 8.0) / 100.0
                + (((t * 3) % 5) as f64 - 2.0) / 100.0 * (j + 1) as f64 * 0.5
        });
        let lw = ledoit_wolf_constant_correlation(&x).unwrap();
        assert!(
            (lw.intensity - 0.38991798360594127).abs() < 1e-12,
            "{}",
            lw.intensity
        );
        let expected = [
            [
                0.0026953055555555567,
                -4.558442106753395e-05,
                -0.0005991207250651929,
                -9.605703002324298e-05,
            ],
            [
                -4.558442106753395e-05,
                0.0024894166666666667,
                -0.00026177199765445427,
                -0.0007481978311838621,
            ],
            [
                -0.0005991207250651929,
                -0.00026177199765445427,
                0.002412333333333333,
                -0.00012548096752551082,
            ],
            [
                -9.605703002324298e-05,
                -0.0007481978311838621,
                -0.00012548096752551082,
                0.002886222222222221,
            ],
        ];
        assert_matrix_close(&lw.covariance, &expected, 1e-10);
        // The variances are the sample's: only correlations shrink.
        let s = sample_covariance(&x).unwrap() * (59.0 / 60.0);
        for i in 0..4 {
            assert!((lw.covariance[(i, i)] - s[(i, i)]).abs() < 1e-15);
        }
        // A clamped case (PyPortfolioOpt gives intensity 1 on the 12×4 fixture).
        let tiny = ledoit_wolf_constant_correlation(&data()).unwrap();
        assert_eq!(tiny.intensity, 1.0);
    }

    fn data() -> DMatrix<f64> {
        DMatrix::from_fn(12, 4, |i, j| X[i][j])
    }

    fn assert_matrix_close<const P: usize>(
        actual: &DMatrix<f64>,
        expected: &[[f64; P]; P],
        rel: f64,
    ) {
        assert_eq!(actual.shape(), (P, P));
        let scale = expected
            .iter()
            .flatten()
            .fold(0.0_f64, |m, v| m.max(v.abs()));
        for i in 0..P {
            for j in 0..P {
                let err = (actual[(i, j)] - expected[i][j]).abs();
                assert!(
                    err <= rel * scale,
                    "({i},{j}): actual {:e} expected {:e}",
                    actual[(i, j)],
                    expected[i][j]
                );
            }
        }
    }

    #[test]
    fn sample_covariance_matches_numpy() {
        // Oracle: numpy 2.x np.cov(X, rowvar=False). Tolerance 1e-13 of the largest entry.
        let expected = [
            [
                6.8233082271346e-05,
                3.414409290127239e-05,
                4.126575054368134e-05,
                1.4426356040260226e-05,
            ],
            [
                3.414409290127239e-05,
                4.458863127472391e-05,
                -1.2206277690902972e-05,
                5.79689841133974e-06,
            ],
            [
                4.126575054368134e-05,
                -1.2206277690902972e-05,
                0.0001374325095162395,
                3.410089717615763e-05,
            ],
            [
                1.4426356040260226e-05,
                5.79689841133974e-06,
                3.410089717615763e-05,
                3.291221120822148e-05,
            ],
        ];
        assert_matrix_close(&sample_covariance(&data()).unwrap(), &expected, 1e-13);
    }

    #[test]
    fn ledoit_wolf_matches_sklearn() {
        // Oracle: scikit-learn 1.x, LedoitWolf().fit(X).covariance_ and .shrinkage_.
        // Tolerance 1e-12 relative (summation order differs from sklearn's BLAS calls).
        let expected = [
            [
                6.367600158848812e-05,
                1.6231873080536708e-05,
                1.9617461425462647e-05,
                6.858193039048689e-06,
            ],
            [
                1.6231873080536708e-05,
                5.2435587946635674e-05,
                -5.802782661042381e-06,
                2.7558066792316234e-06,
            ],
            [
                1.9617461425462647e-05,
                -5.802782661042381e-06,
                9.657294582809003e-05,
                1.621133812212642e-05,
            ],
            [
                6.858193039048689e-06,
                2.7558066792316234e-06,
                1.621133812212642e-05,
                4.688469605143946e-05,
            ],
        ];
        let lw = ledoit_wolf(&data()).unwrap();
        assert!((lw.intensity - 0.4813891246945334).abs() < 1e-12);
        assert_matrix_close(&lw.covariance, &expected, 1e-12);
    }

    #[test]
    fn ledoit_wolf_matches_sklearn_when_variables_outnumber_observations() {
        // Oracle: continuing the same rng, X2 = rng.normal(size=(5, 7)) *
        // [1,2,3,1,0.5,1,2] * 0.01; LedoitWolf().fit(X2). n < p: S is singular, the
        // shrunk estimate must be positive definite.
        const X2: [[f64; 7]; 5] = [
            [
                -0.006414703941072214,
                0.04000833092684846,
                0.022867791362541353,
                -0.011992889021052234,
                0.00037258114385731715,
                0.005766895836701853,
                -0.0037756425070149865,
            ],
            [
                0.00682910267195206,
                -0.0013303464029883114,
                0.020017426825029837,
                0.01438522591656152,
                -0.0033783112550282643,
                0.0020313861038960906,
                -0.009266151530768303,
            ],
            [
                0.0012726841122583082,
                -0.023743890557002798,
                -0.0173790478950802,
                -0.001961959728044967,
                0.004493819360502039,
                0.01145222007454132,
                -0.0264705558496851,
            ],
            [
                -0.007946423659870496,
                0.012938068451468436,
                -0.059772593525234834,
                -0.004631698649523669,
                -0.00048643462835044513,
                0.012570149772868197,
                0.013788078011415112,
            ],
            [
                -0.0032721342022219786,
                -0.007371517881999182,
                -0.007505862015537748,
                0.015235294004561601,
                -0.0021401247128643363,
                -0.003036803883647294,
                0.007051781345705307,
            ],
        ];
        let expected = [
            [
                0.00015987729187513268,
                -2.7193598772833184e-05,
                3.142760130434287e-05,
                1.4640743736261005e-05,
                -8.949860983160329e-07,
                -3.5354509324994455e-06,
                -1.9529472058193945e-05,
            ],
            [
                -2.7193598772833184e-05,
                0.00033482743705082435,
                6.111894216922292e-05,
                -5.4284288082686664e-05,
                -5.928093799612245e-06,
                1.872278399211518e-06,
                5.614100427705803e-05,
            ],
            [
                3.142760130434287e-05,
                6.111894216922292e-05,
                0.0005132700702659871,
                2.4513033922514324e-05,
                -8.231742098065749e-06,
                -4.17012223647693e-05,
                -6.846864738688466e-05,
            ],
            [
                1.4640743736261005e-05,
                -5.4284288082686664e-05,
                2.4513033922514324e-05,
                0.00019543324615453917,
                -7.271183325479407e-06,
                -1.8673059065021316e-05,
                3.94662657277549e-06,
            ],
            [
                -8.949860983160329e-07,
                -5.928093799612245e-06,
                -8.231742098065749e-06,
                -7.271183325479407e-06,
                0.00015106140127871912,
                4.3509579992682716e-06,
                -9.328328588281646e-06,
            ],
            [
                -3.5354509324994455e-06,
                1.872278399211518e-06,
                -4.17012223647693e-05,
                -1.8673059065021316e-05,
                4.3509579992682716e-06,
                0.00016190154770158108,
                -6.835519038000399e-06,
            ],
            [
                -1.9529472058193945e-05,
                5.614100427705803e-05,
                -6.846864738688466e-05,
                3.94662657277549e-06,
                -9.328328588281646e-06,
                -6.835519038000399e-06,
                0.00022680266400473565,
            ],
        ];
        let x2 = DMatrix::from_fn(5, 7, |i, j| X2[i][j]);
        let lw = ledoit_wolf(&x2).unwrap();
        assert!((lw.intensity - 0.5947974757670298).abs() < 1e-12);
        assert_matrix_close(&lw.covariance, &expected, 1e-12);
        assert!(lw.covariance.clone().cholesky().is_some());
    }

    #[test]
    fn ledoit_wolf_single_variable_is_mle_variance() {
        // sklearn: LedoitWolf().fit([[1],[2],[4]]) -> covariance_ [[14/9]], shrinkage_ 0.
        let x = DMatrix::from_column_slice(3, 1, &[1.0, 2.0, 4.0]);
        let lw = ledoit_wolf(&x).unwrap();
        assert_eq!(lw.intensity, 0.0);
        assert!((lw.covariance[(0, 0)] - 14.0 / 9.0).abs() < 1e-15);
    }

    #[test]
    fn ewma_matches_direct_weighted_sum() {
        // Oracle: direct python sum (1-lam) * sum_j lam**j * outer(X[T-1-j], X[T-1-j])
        // with lam = 0.94 over the 12 rows above. Tolerance 1e-13 of the largest entry.
        let expected = [
            [
                3.617807702532649e-05,
                1.6485743353233594e-05,
                2.330481377586743e-05,
                7.4210879977722395e-06,
            ],
            [
                1.6485743353233594e-05,
                2.447630206284568e-05,
                -3.7942777553161357e-06,
                6.200466610731477e-06,
            ],
            [
                2.330481377586743e-05,
                -3.7942777553161357e-06,
                7.613660679040096e-05,
                1.6937115311790255e-05,
            ],
            [
                7.4210879977722395e-06,
                6.200466610731477e-06,
                1.6937115311790255e-05,
                1.5801341328331688e-05,
            ],
        ];
        assert_matrix_close(&ewma_covariance(&data(), 0.94).unwrap(), &expected, 1e-13);
    }

    #[test]
    fn ewma_weights_have_closed_form() {
        // Constant return c for T days: sigma^2 = c^2 (1 - lambda^T) (geometric series).
        let x = DMatrix::from_element(30, 1, 0.02);
        let s = ewma_covariance(&x, 0.97).unwrap();
        let expected = 0.02 * 0.02 * (1.0 - 0.97_f64.powi(30));
        assert!((s[(0, 0)] - expected).abs() < 1e-16);
        // A single observation gets weight (1 - lambda).
        let one = DMatrix::from_row_slice(1, 2, &[0.1, -0.2]);
        let s1 = ewma_covariance(&one, 0.9).unwrap();
        assert!((s1[(0, 1)] - 0.1 * 0.1 * -0.2).abs() < 1e-17);
    }

    #[test]
    fn correlation_round_trip() {
        let cov = sample_covariance(&data()).unwrap();
        let corr = correlation_from_covariance(&cov);
        let vols: Vec<f64> = (0..4).map(|i| cov[(i, i)].sqrt()).collect();
        for i in 0..4 {
            assert_eq!(corr[(i, i)], 1.0);
        }
        // np.corrcoef(X, rowvar=False)[0, 1] = 0.6190218998805546 (numpy 2.x).
        assert!((corr[(0, 1)] - 0.6190218998805546).abs() < 1e-14);
        let back = covariance_from_correlation(&corr, &vols);
        assert!((back - &cov).amax() < 1e-18);
    }

    #[test]
    fn correlation_edge_cases() {
        let cov = DMatrix::from_row_slice(2, 2, &[0.04, 0.0, 0.0, 0.0]);
        let corr = correlation_from_covariance(&cov);
        assert_eq!(corr, DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]));
        let bad = correlation_from_covariance(&DMatrix::from_row_slice(1, 2, &[1.0, 2.0]));
        assert!(bad.iter().all(|v| v.is_nan()));
        let mismatch = covariance_from_correlation(&DMatrix::identity(2, 2), &[0.1]);
        assert!(mismatch.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn bad_input_is_an_error() {
        let one_row = DMatrix::from_row_slice(1, 2, &[1.0, 2.0]);
        assert!(matches!(
            sample_covariance(&one_row),
            Err(AnalyticsError::NotEnoughObservations {
                needed: 2,
                found: 1
            })
        ));
        assert!(ledoit_wolf(&one_row).is_err());
        assert!(ledoit_wolf(&DMatrix::zeros(5, 0)).is_err());
        let mut nan = data();
        nan[(3, 2)] = f64::NAN;
        assert!(matches!(
            sample_covariance(&nan),
            Err(AnalyticsError::InvalidArgument(_))
        ));
        for lam in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(ewma_covariance(&data(), lam).is_err());
        }
        assert!(ewma_covariance(&DMatrix::zeros(0, 3), 0.94).is_err());
    }
}
