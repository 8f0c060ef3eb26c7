//! Parameter stability of a regression over time: has a factor exposure (or the
//! intercept) shifted during the sample?
//!
//! The CUSUM test of Brown, Durbin & Evans works on recursive residuals — one-step-
//! ahead forecast errors of the regression fitted on all earlier observations — which
//! are i.i.d. `N(0, sigma^2)` under a stable model, so their cumulative sum wanders
//! like a random walk; a break makes it drift out of a pair of straight-line bounds.

use nalgebra::{DMatrix, DVector};

use crate::error::{ensure_finite, AnalyticsError};
use crate::regression::RANK_TOLERANCE;

/// Result of [`cusum_test`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cusum {
    /// Recursive residuals `w_r` for observations `r = p .. n-1` (0-based, `p = k + 1`
    /// coefficients including the intercept): `n - p` values.
    pub recursive_residuals: Vec<f64>,
    /// `sigma_hat = sqrt(sum w_r^2 / (n - p))`, the full-sample OLS standard error.
    pub sigma: f64,
    /// CUSUM path `W_r = sum_{j <= r} w_j / sigma_hat`, aligned with
    /// `recursive_residuals`.
    pub path: Vec<f64>,
    /// Upper boundary `a [sqrt(n - p) + 2 (r - p) / sqrt(n - p)]` at each point of the
    /// path (`r - p = 1, 2, ..., n - p`); the lower boundary is its negative.
    pub boundary: Vec<f64>,
    /// The boundary constant `a` for the requested significance level.
    pub a: f64,
    /// Observation index (0-based, into `y`) where `|W_r|` first exceeds the
    /// boundary, or `None` if the path stays inside: stability is rejected at the
    /// requested level exactly when this is `Some`.
    pub first_crossing: Option<usize>,
}

impl Cusum {
    /// Whether the path leaves the band (parameter constancy rejected).
    pub fn rejects_stability(&self) -> bool {
        self.first_crossing.is_some()
    }
}

/// Recursive residuals of `y = a + X b + e` (intercept added internally):
/// `w_r = (y_r - z_r' b_{r-1}) / sqrt(1 + z_r' (Z_{r-1}' Z_{r-1})^{-1} z_r)` for
/// `r = p .. n-1` (0-based), with `b_{r-1}` the OLS fit on observations `0 .. r-1`.
///
/// Reference: R. L. Brown, J. Durbin & J. M. Evans (1975), "Techniques for testing the
/// constancy of regression relationships over time", JRSS B 37(2), 149–192, eq. (2).
/// Each fit is a fresh Householder QR of the first `r` rows (no rank-one updating of
/// `(Z'Z)^{-1}`, which accumulates rounding error), and
/// `z' (Z'Z)^{-1} z = ||R^{-T} z||^2`. Matches `rresid_scaled[p:]` of
/// `statsmodels.stats.diagnostic.recursive_olsresiduals(OLS(y, add_constant(X)).fit())`.
///
/// Errors: shape mismatch, non-finite input, fewer than `p + 1` observations, or first
/// `p` rows of `[1 X]` not of full rank ([`AnalyticsError::RankDeficient`]).
pub fn recursive_residuals(y: &[f64], x: &DMatrix<f64>) -> Result<Vec<f64>, AnalyticsError> {
    let n = y.len();
    let p = x.ncols() + 1;
    if x.nrows() != n {
        return Err(AnalyticsError::DimensionMismatch {
            what: "recursive_residuals: rows of x vs length of y",
            expected: n,
            found: x.nrows(),
        });
    }
    if n < p + 1 {
        return Err(AnalyticsError::NotEnoughObservations {
            needed: p + 1,
            found: n,
        });
    }
    ensure_finite("recursive_residuals: y", y)?;
    ensure_finite("recursive_residuals: x", x.iter())?;

    let z_row = |i: usize| DVector::from_fn(p, |j, _| if j == 0 { 1.0 } else { x[(i, j - 1)] });
    let mut out = Vec::with_capacity(n - p);
    for r in p..n {
        let design = DMatrix::from_fn(r, p, |i, j| if j == 0 { 1.0 } else { x[(i, j - 1)] });
        let norms: Vec<f64> = design.column_iter().map(|c| c.norm()).collect();
        let qr = design.qr();
        let rr = qr.r();
        let rank = (0..p)
            .filter(|&j| rr[(j, j)].abs() > RANK_TOLERANCE * norms[j])
            .count();
        if rank < p {
            return Err(AnalyticsError::RankDeficient { rank, columns: p });
        }
        let mut qty = DVector::from_column_slice(&y[..r]);
        qr.q_tr_mul(&mut qty);
        let b = rr
            .solve_upper_triangular(&qty.rows(0, p).into_owned())
            .ok_or(AnalyticsError::RankDeficient { rank, columns: p })?;
        let z = z_row(r);
        let h = rr
            .tr_solve_upper_triangular(&z)
            .ok_or(AnalyticsError::RankDeficient { rank, columns: p })?;
        out.push((y[r] - z.dot(&b)) / (1.0 + h.norm_squared()).sqrt());
    }
    Ok(out)
}

/// Boundary constant `a` of the CUSUM band for significance 0.10, 0.05 or 0.01:
/// 0.850, 0.948, 1.143 (Brown, Durbin & Evans 1975, §2.3, from the crossing
/// probability of a Brownian motion over a line).
fn cusum_boundary_constant(significance: f64) -> Option<f64> {
    [(0.10, 0.850), (0.05, 0.948), (0.01, 1.143)]
        .iter()
        .find(|(s, _)| (s - significance).abs() < 1e-12)
        .map(|&(_, a)| a)
}

/// CUSUM test of parameter constancy of `y = a + X b + e` (intercept added
/// internally) — Brown, Durbin & Evans (1975), JRSS B 37(2), 149–192, §2.3.
///
/// `W_r = (1/sigma_hat) sum_{j=p}^{r} w_j` over the [`recursive_residuals`], with
/// `sigma_hat^2 = sum w_j^2 / (n - p)` (BDE's choice; it equals the full-sample OLS
/// `s^2`). The model is rejected at `significance` (0.10, 0.05 or 0.01, i.e.
/// `a` = 0.850, 0.948, 1.143) when the path crosses
/// `±a [sqrt(n - p) + 2 (r - p) / sqrt(n - p)]`.
///
/// Note: statsmodels' `recursive_olsresiduals` scales its `rcusum` by the *sample
/// standard deviation* of the `w_j` (mean removed, Harvey's variant) instead; the
/// recursive residuals themselves are identical.
///
/// Errors: those of [`recursive_residuals`]; a significance other than the three
/// tabulated ones; all recursive residuals zero (perfect fit, the path is 0/0).
pub fn cusum_test(y: &[f64], x: &DMatrix<f64>, significance: f64) -> Result<Cusum, AnalyticsError> {
    let a = cusum_boundary_constant(significance).ok_or_else(|| {
        AnalyticsError::InvalidArgument(format!(
            "cusum_test: significance {significance} is not one of 0.10, 0.05, 0.01"
        ))
    })?;
    let w = recursive_residuals(y, x)?;
    let m = w.len();
    let sigma = (w.iter().map(|v| v * v).sum::<f64>() / m as f64).sqrt();
    if sigma == 0.0 {
        return Err(AnalyticsError::InvalidArgument(
            "cusum_test: all recursive residuals are zero (perfect fit)".into(),
        ));
    }
    let p = x.ncols() + 1;
    let root = (m as f64).sqrt();
    let mut path = Vec::with_capacity(m);
    let mut boundary = Vec::with_capacity(m);
    let mut first_crossing = None;
    let mut acc = 0.0;
    for (i, wi) in w.iter().enumerate() {
        acc += wi / sigma;
        let bound = a * (root + 2.0 * (i + 1) as f64 / root);
        if first_crossing.is_none() && acc.abs() > bound {
            first_crossing = Some(p + i);
        }
        path.push(acc);
        boundary.push(bound);
    }
    Ok(Cusum {
        recursive_residuals: w,
        sigma,
        path,
        boundary,
        a,
        first_crossing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regression::ols;
    use crate::regression::tests::{X_ROWS, Y};
    use crate::rng::Xoshiro256;

    // Same data as the OLS tests in `regression`:
    //   rng = np.random.default_rng(20240611); n, k = 24, 3
    //   X = rng.normal(size=(n, k)) * [0.02, 0.01, 0.05]
    //   y = 0.001 + X @ [1.2, -0.4, 0.3] + rng.normal(scale=0.01, size=n)
    fn data() -> (Vec<f64>, DMatrix<f64>) {
        (Y.to_vec(), DMatrix::from_fn(24, 3, |i, j| X_ROWS[i][j]))
    }

    #[test]
    fn recursive_residuals_match_statsmodels() {
        // Oracle (statsmodels 0.14):
        //   from statsmodels.stats.diagnostic import recursive_olsresiduals
        //   res = sm.OLS(y, sm.add_constant(X)).fit()
        //   w = recursive_olsresiduals(res)[4][4:]          # rresid_scaled[skip:]
        //   sig = np.sqrt((w**2).sum() / (n - 4)); path = np.cumsum(w) / sig
        //   r = np.arange(5, n + 1)
        //   bound = 0.948 * (np.sqrt(n - 4) + 2 * (r - 4) / np.sqrt(n - 4))
        let w_ref = [
            -0.008634715132934906,
            -0.001637986213414178,
            -0.0018516060362214989,
            0.004918856944374686,
            0.0007201098403385904,
            0.001857932862403062,
            0.003164206464725479,
            -0.009824943154719986,
            -0.0020397320193898225,
            0.0017143117744247121,
            0.009705270396081975,
            -0.008596231449635047,
            0.015740678895274057,
            0.009453458650639773,
            -0.008835068248858782,
            -0.005310693265921932,
            -0.001891423926651738,
            -0.01004451499583843,
            0.011263654416766777,
            0.0038450623857892332,
        ];
        let path_ref = [
            -1.1749886515270151,
            -1.3978813796007434,
            -1.6498429146560054,
            -0.9804981824736662,
            -0.8825075855374148,
            -0.62968511310911,
            -0.19910846641003677,
            -1.5360601238725555,
            -1.8136213332514115,
            -1.5803424295334236,
            -0.2596755169793105,
            -1.429427413100948,
            0.7125215434700597,
            1.998922595638431,
            0.7966704346748731,
            0.07400567699244352,
            -0.18337416876131812,
            -1.5502045677384249,
            -0.01747697792566258,
            0.5057486986786935,
        ];
        let (y, x) = data();
        let c = cusum_test(&y, &x, 0.05).unwrap();
        assert_eq!(c.recursive_residuals.len(), 20);
        for i in 0..20 {
            assert!((c.recursive_residuals[i] - w_ref[i]).abs() < 1e-8 * w_ref[i].abs().max(1e-3));
            assert!((c.path[i] - path_ref[i]).abs() < 1e-8);
        }
        assert!((c.boundary[0] - 4.663543373873562).abs() < 1e-12);
        assert!((c.boundary[19] - 12.718754656018804).abs() < 1e-12);
        assert_eq!(c.first_crossing, None);
        // BDE identity: sum of squared recursive residuals = full-sample SSR.
        let fit = ols(&y, &x).unwrap();
        let ssr: f64 = fit.residuals.iter().map(|e| e * e).sum();
        assert!((c.sigma * c.sigma * 20.0 - ssr).abs() < 1e-12 * ssr.max(1.0));
    }

    /// `y_t = 1 + 0.5 x_t + shift [t >= n/2] + e_t`, `x, e ~ N(0, 1)`.
    fn simulated(seed: u64, n: usize, shift: f64) -> (Vec<f64>, DMatrix<f64>) {
        let mut g = Xoshiro256::seed_from_u64(seed);
        let x = DMatrix::from_fn(n, 1, |_, _| g.normal());
        let y = (0..n)
            .map(|t| 1.0 + 0.5 * x[(t, 0)] + if t >= n / 2 { shift } else { 0.0 } + g.normal())
            .collect();
        (y, x)
    }

    #[test]
    fn planted_break_is_detected_after_it_happens() {
        for seed in 1..=20 {
            let (y, x) = simulated(seed, 120, 1.5);
            let c = cusum_test(&y, &x, 0.05).unwrap();
            let at = c
                .first_crossing
                .expect("break of 1.5 sigma at t = 60 not detected");
            assert!(at >= 60, "seed {seed}: crossing at {at} before the break");
        }
    }

    #[test]
    fn stable_model_rejects_at_most_about_the_nominal_rate() {
        // Under H0 the 5% band is crossed with probability <= 5% asymptotically
        // (BDE 1975; the test is conservative in finite samples). 200 replications:
        // binomial(200, 0.05) exceeds 20 with probability < 0.2%.
        let rejections = (1..=200)
            .filter(|&seed| {
                let (y, x) = simulated(1000 + seed, 120, 0.0);
                cusum_test(&y, &x, 0.05).unwrap().rejects_stability()
            })
            .count();
        assert!(
            rejections <= 20,
            "{rejections} of 200 stable series rejected"
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let (y, x) = data();
        assert!(matches!(
            cusum_test(&y, &x, 0.07),
            Err(AnalyticsError::InvalidArgument(_))
        ));
        assert!(matches!(
            recursive_residuals(&y[..4], &DMatrix::from_fn(4, 3, |i, j| X_ROWS[i][j])),
            Err(AnalyticsError::NotEnoughObservations {
                needed: 5,
                found: 4
            })
        ));
        // First p rows cannot identify the coefficients: x constant at the start.
        let xs = DMatrix::from_fn(10, 1, |i, _| if i < 3 { 1.0 } else { i as f64 });
        let ys: Vec<f64> = (0..10).map(|i| i as f64 * 0.3 + (i % 3) as f64).collect();
        assert!(matches!(
            recursive_residuals(&ys, &xs),
            Err(AnalyticsError::RankDeficient { .. })
        ));
        // Exact line on small integers: every recursive residual is exactly 0 and the
        // CUSUM (0/0) is refused.
        let yl: Vec<f64> = (0..10).map(|i| 2.0 + 3.0 * i as f64).collect();
        let xl = DMatrix::from_fn(10, 1, |i, _| i as f64);
        if let Ok(c) = cusum_test(&yl, &xl, 0.05) {
            assert!(c.sigma < 1e-12, "perfect fit gave sigma {}", c.sigma);
        }
    }
}
