//! GJR-GARCH(1,1) by Gaussian quasi-maximum likelihood.
//!
//! Model (L. R. Glosten, R. Jagannathan & D. E. Runkle (1993), "On the relation between
//! the expected value and the volatility of the nominal excess return on stocks",
//! Journal of Finance 48(5), 1779–1801), for daily returns `r_t` in percent:
//!
//! ```text
//! r_t = μ + ε_t,   h_t = ω + (α + γ·1[ε_{t−1} < 0])·ε²_{t−1} + β·h_{t−1}
//! ```
//!
//! Estimation maximises the Gaussian log-likelihood `−½ Σ (ln 2π + ln h_t + ε²_t/h_t)`;
//! with fat-tailed returns this is quasi-maximum likelihood, consistent for the
//! variance parameters, and its standard errors are the robust sandwich
//! `H⁻¹ J H⁻¹ / T` of T. Bollerslev & J. M. Wooldridge (1992), "Quasi-maximum
//! likelihood estimation and inference in dynamic models with time-varying
//! covariances", Econometric Reviews 11(2), 143–172 (`H` the Hessian of the average
//! log-likelihood, `J` the covariance of the per-observation scores, both by central
//! finite differences).
//!
//! The recursion is started as the Python `arch` package (K. Sheppard) starts it, so
//! the two estimates can be compared: `h` before the first observation and the squared
//! residual before it are the backcast `Σ_{i<τ} w_i ε̂²_i` with `w_i ∝ 0.94^i`,
//! `τ = min(75, T)` and `ε̂` the residuals around the sample mean; the asymmetric term
//! uses half the backcast.
//!
//! Optimiser: Nelder–Mead simplex (J. A. Nelder & R. Mead (1965), "A simplex method for
//! function minimization", Computer Journal 7(4), 308–313; coefficients 1, 2, ½, ½ as
//! in J. C. Lagarias et al. (1998), SIAM J. Optim. 9(1), 112–147) — derivative-free and
//! robust on this small, flat-ridged problem — over an unconstrained parameterisation
//! that satisfies the constraints by construction: `ω = e^{x₁}`, persistence
//! `P = α + γ/2 + β = logistic(x₂) < 1` (covariance stationarity), and the split of `P`
//! into `α/2`, `(α+γ)/2` and `β` by a softmax of `(x₃, x₄, 0)`, so `α ≥ 0`, `α + γ ≥ 0`
//! (a negative shock never lowers the variance; `γ` itself may be negative) and
//! `β ≥ 0`. The search starts from the best of a small grid and is restarted from its
//! own optimum until a restart no longer improves the likelihood (the usual guard
//! against the simplex collapsing early).

use serde::{Deserialize, Serialize};

use super::CalibrationError;

/// A fitted GJR-GARCH(1,1) on daily returns measured in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GjrGarchFit {
    /// Mean daily return, percent.
    pub mu: f64,
    /// Variance intercept, percent² per day.
    pub omega: f64,
    pub alpha: f64,
    /// Leverage: extra weight of negative shocks.
    pub gamma: f64,
    pub beta: f64,
    /// `α + γ/2 + β`: the decay per day of a variance shock (for symmetric shocks).
    pub persistence: f64,
    /// Unconditional volatility implied by the fit, `√(252 ω / (1 − P))`, decimal a year.
    pub unconditional_annual_vol: f64,
    /// Maximised Gaussian log-likelihood (percent returns).
    pub log_likelihood: f64,
    /// Robust (Bollerslev–Wooldridge) standard errors of `(μ, ω, α, γ, β)`.
    pub std_errors: [f64; 5],
    /// Largest conditional volatility the fitted model reached over its own sample, as a
    /// multiple of the sample's volatility: how far the history says volatility can run
    /// (the path engine's ceiling). Against the sample, not the model's unconditional
    /// variance, which an integrated fit (persistence 1) does not have.
    pub peak_vol_multiple: f64,
    pub observations: usize,
}

/// Natural parameters `(μ, ω, α, γ, β)`.
type Natural = [f64; 5];

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn to_natural(x: &[f64; 5]) -> Natural {
    let omega = x[1].exp();
    let p = logistic(x[2]);
    let m = x[3].max(x[4]).max(0.0);
    let (ea, eb, ec) = ((x[3] - m).exp(), (x[4] - m).exp(), (-m).exp());
    let s = ea + eb + ec;
    let alpha = 2.0 * p * ea / s;
    let alpha_plus_gamma = 2.0 * p * eb / s;
    let beta = p * ec / s;
    [x[0], omega, alpha, alpha_plus_gamma - alpha, beta]
}

fn from_natural(n: &Natural) -> [f64; 5] {
    let [mu, omega, alpha, gamma, beta] = *n;
    let p = alpha + gamma / 2.0 + beta;
    let (qa, qb, qc) = (alpha / 2.0 / p, (alpha + gamma) / 2.0 / p, beta / p);
    [
        mu,
        omega.ln(),
        (p / (1.0 - p)).ln(),
        (qa / qc).ln(),
        (qb / qc).ln(),
    ]
}

/// `arch`'s backcast of the initial variance (see the module header).
fn backcast(returns: &[f64]) -> f64 {
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let tau = returns.len().min(75);
    let (mut num, mut den, mut w) = (0.0, 0.0, 1.0);
    for &r in &returns[..tau] {
        num += w * (r - mean) * (r - mean);
        den += w;
        w *= 0.94;
    }
    num / den
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Per-observation log-likelihood contributions into `out` (if given); returns the sum.
fn log_likelihood(
    p: &Natural,
    returns: &[f64],
    backcast: f64,
    mut out: Option<&mut Vec<f64>>,
) -> f64 {
    let [mu, omega, alpha, gamma, beta] = *p;
    let mut h_prev = backcast;
    let mut e2_prev = backcast;
    let mut neg_prev = 0.5 * backcast;
    let mut total = 0.0;
    if let Some(o) = out.as_deref_mut() {
        o.clear();
    }
    for &r in returns {
        let h = omega + alpha * e2_prev + gamma * neg_prev + beta * h_prev;
        let e = r - mu;
        let ll = -0.5 * (LN_2PI + h.ln() + e * e / h);
        total += ll;
        if let Some(o) = out.as_deref_mut() {
            o.push(ll);
        }
        h_prev = h;
        e2_prev = e * e;
        neg_prev = if e < 0.0 { e * e } else { 0.0 };
    }
    total
}

/// The largest conditional variance of the GJR filter over `returns` (the same
/// recursion as the likelihood, from the same backcast).
fn peak_conditional_variance(p: &Natural, returns: &[f64], backcast: f64) -> f64 {
    let [mu, omega, alpha, gamma, beta] = *p;
    let (mut h_prev, mut e2_prev, mut neg_prev) = (backcast, backcast, 0.5 * backcast);
    let mut peak: f64 = 0.0;
    for &r in returns {
        let h = omega + alpha * e2_prev + gamma * neg_prev + beta * h_prev;
        peak = peak.max(h);
        let e = r - mu;
        h_prev = h;
        e2_prev = e * e;
        neg_prev = if e < 0.0 { e * e } else { 0.0 };
    }
    peak
}

/// Nelder–Mead minimisation of `f` from `x0` with initial steps `step`; returns the
/// best point and value.
pub(crate) fn nelder_mead<const N: usize>(
    f: &mut dyn FnMut(&[f64; N]) -> f64,
    x0: [f64; N],
    step: [f64; N],
    max_evals: usize,
    ftol: f64,
) -> ([f64; N], f64) {
    let mut simplex: Vec<([f64; N], f64)> = Vec::with_capacity(N + 1);
    simplex.push((x0, f(&x0)));
    for i in 0..N {
        let mut x = x0;
        x[i] += step[i];
        simplex.push((x, f(&x)));
    }
    let mut evals = N + 1;
    let nan_last = |a: &([f64; N], f64), b: &([f64; N], f64)| {
        let fa = if a.1.is_nan() { f64::INFINITY } else { a.1 };
        let fb = if b.1.is_nan() { f64::INFINITY } else { b.1 };
        fa.total_cmp(&fb)
    };
    while evals < max_evals {
        simplex.sort_by(nan_last);
        let best = simplex[0].1;
        let worst = simplex[N].1;
        if (worst - best).abs() <= ftol * (1.0 + best.abs()) {
            break;
        }
        let mut centroid = [0.0; N];
        for (x, _) in &simplex[..N] {
            for j in 0..N {
                centroid[j] += x[j] / N as f64;
            }
        }
        let along = |t: f64| {
            let mut y = [0.0; N];
            for j in 0..N {
                y[j] = centroid[j] + t * (simplex[N].0[j] - centroid[j]);
            }
            y
        };
        let xr = along(-1.0);
        let fr = f(&xr);
        evals += 1;
        let second_worst = simplex[N - 1].1;
        if fr < best {
            let xe = along(-2.0);
            let fe = f(&xe);
            evals += 1;
            simplex[N] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < second_worst {
            simplex[N] = (xr, fr);
        } else {
            let (xc, fc) = if fr < worst {
                let xc = along(-0.5);
                (xc, f(&xc))
            } else {
                let xc = along(0.5);
                (xc, f(&xc))
            };
            evals += 1;
            if fc < fr.min(worst) {
                simplex[N] = (xc, fc);
            } else {
                let x_best = simplex[0].0;
                for v in simplex.iter_mut().skip(1) {
                    for (x, b) in v.0.iter_mut().zip(&x_best) {
                        *x = b + 0.5 * (*x - b);
                    }
                    v.1 = f(&v.0);
                }
                evals += N;
            }
        }
    }
    simplex.sort_by(nan_last);
    simplex.swap_remove(0)
}

/// Fit GJR-GARCH(1,1) to daily returns in percent (see the module header).
///
/// Errors: fewer than 100 observations, a non-finite return, a constant series, or no
/// finite likelihood at the optimum.
pub fn fit_gjr_garch(series: &str, returns_pct: &[f64]) -> Result<GjrGarchFit, CalibrationError> {
    let fail = |reason: String| CalibrationError::Estimation {
        what: format!("GJR-GARCH fit of {series}"),
        reason,
    };
    let t = returns_pct.len();
    if t < 100 {
        return Err(fail(format!("needs at least 100 returns, got {t}")));
    }
    if let Some(i) = returns_pct.iter().position(|r| !r.is_finite()) {
        return Err(fail(format!("return {i} is not finite")));
    }
    let mean = returns_pct.iter().sum::<f64>() / t as f64;
    let var = returns_pct
        .iter()
        .map(|r| (r - mean) * (r - mean))
        .sum::<f64>()
        / t as f64;
    if var <= 0.0 {
        return Err(fail("the series is constant".into()));
    }
    let bc = backcast(returns_pct);
    let mut objective = |x: &[f64; 5]| {
        let ll = log_likelihood(&to_natural(x), returns_pct, bc, None);
        if ll.is_finite() {
            -ll
        } else {
            f64::INFINITY
        }
    };

    // Starting grid (persistence × α × γ), ω matching the sample variance.
    let mut start = [0.0; 5];
    let mut start_f = f64::INFINITY;
    for &p in &[0.90, 0.97, 0.99] {
        for &alpha in &[0.03, 0.08] {
            for &gamma in &[0.0, 0.05] {
                let beta = p - alpha - gamma / 2.0;
                let x = from_natural(&[mean, var * (1.0 - p), alpha, gamma.max(1e-4), beta]);
                let f = objective(&x);
                if f < start_f {
                    start = x;
                    start_f = f;
                }
            }
        }
    }
    let sd = var.sqrt();
    let step = [0.1 * sd, 0.5, 0.5, 0.5, 0.5];
    let (mut x, mut f) = nelder_mead(&mut objective, start, step, 20_000, 1e-14);
    for _ in 0..50 {
        let (x2, f2) = nelder_mead(&mut objective, x, step, 20_000, 1e-14);
        let improved = f - f2 > 1e-10;
        if f2 <= f {
            x = x2;
            f = f2;
        }
        if !improved {
            break;
        }
    }
    if !f.is_finite() {
        return Err(fail("no finite likelihood found".into()));
    }
    let p = to_natural(&x);
    let std_errors = robust_std_errors(&p, returns_pct, bc).map_err(fail)?;
    let persistence = p[2] + p[3] / 2.0 + p[4];
    let sample_variance = {
        let n = returns_pct.len() as f64;
        let m = returns_pct.iter().sum::<f64>() / n;
        returns_pct.iter().map(|r| (r - m) * (r - m)).sum::<f64>() / (n - 1.0)
    };
    let peak = peak_conditional_variance(&p, returns_pct, bc);
    Ok(GjrGarchFit {
        peak_vol_multiple: (peak / sample_variance).sqrt(),
        mu: p[0],
        omega: p[1],
        alpha: p[2],
        gamma: p[3],
        beta: p[4],
        persistence,
        unconditional_annual_vol: (252.0 * p[1] / (1.0 - persistence)).sqrt() / 100.0,
        log_likelihood: -f,
        std_errors,
        observations: t,
    })
}

/// Bollerslev–Wooldridge sandwich standard errors at the natural parameters.
fn robust_std_errors(p: &Natural, returns: &[f64], bc: f64) -> Result<[f64; 5], String> {
    let t = returns.len();
    // Steps of statsmodels' `approx_fprime` / `approx_hess` (which `arch` uses):
    // ε^{1/3}·max(|θ|, 0.1) for first and ε^{1/4}·max(|θ|, 0.1) for second differences.
    let hs: Vec<f64> = p
        .iter()
        .map(|v| f64::EPSILON.cbrt() * v.abs().max(0.1))
        .collect();
    let h: Vec<f64> = p
        .iter()
        .map(|v| f64::EPSILON.powf(0.25) * v.abs().max(0.1))
        .collect();
    let shifted = |i: usize, d: f64| {
        let mut q = *p;
        q[i] += d;
        q
    };
    // Per-observation scores by central differences.
    let mut scores = vec![[0.0; 5]; t];
    let (mut up, mut down) = (Vec::with_capacity(t), Vec::with_capacity(t));
    for i in 0..5 {
        log_likelihood(&shifted(i, hs[i]), returns, bc, Some(&mut up));
        log_likelihood(&shifted(i, -hs[i]), returns, bc, Some(&mut down));
        for k in 0..t {
            scores[k][i] = (up[k] - down[k]) / (2.0 * hs[i]);
        }
    }
    // Hessian of the average log-likelihood.
    let ll = |q: &Natural| log_likelihood(q, returns, bc, None) / t as f64;
    let mut hess = nalgebra::Matrix5::<f64>::zeros();
    for i in 0..5 {
        for j in i..5 {
            let mut pp = *p;
            let mut pm = *p;
            let mut mp = *p;
            let mut mm = *p;
            pp[i] += h[i];
            pp[j] += h[j];
            pm[i] += h[i];
            pm[j] -= h[j];
            mp[i] -= h[i];
            mp[j] += h[j];
            mm[i] -= h[i];
            mm[j] -= h[j];
            let v = (ll(&pp) - ll(&pm) - ll(&mp) + ll(&mm)) / (4.0 * h[i] * h[j]);
            hess[(i, j)] = v;
            hess[(j, i)] = v;
        }
    }
    let inv = hess
        .try_inverse()
        .ok_or_else(|| "the Hessian of the log-likelihood is singular".to_string())?;
    // Score covariance (demeaned, T − 1, as numpy's `cov`).
    let mut mean = [0.0; 5];
    for s in &scores {
        for i in 0..5 {
            mean[i] += s[i] / t as f64;
        }
    }
    let mut j = nalgebra::Matrix5::<f64>::zeros();
    for s in &scores {
        for a in 0..5 {
            for b in 0..5 {
                j[(a, b)] += (s[a] - mean[a]) * (s[b] - mean[b]) / (t - 1) as f64;
            }
        }
    }
    let cov = inv * j * inv / t as f64;
    let mut out = [0.0; 5];
    for i in 0..5 {
        let v = cov[(i, i)];
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("robust variance of parameter {i} is {v}"));
        }
        out[i] = v.sqrt();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameterisation_round_trips() {
        let n = [0.02, 0.011, 0.079, -0.035, 0.89];
        let back = to_natural(&from_natural(&n));
        for i in 0..5 {
            assert!(
                (back[i] - n[i]).abs() < 1e-12,
                "{i}: {} vs {}",
                back[i],
                n[i]
            );
        }
    }

    #[test]
    fn nelder_mead_finds_the_rosenbrock_minimum() {
        let mut f = |x: &[f64; 2]| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2);
        let (x, v) = nelder_mead(&mut f, [-1.2, 1.0], [0.5, 0.5], 10_000, 1e-16);
        assert!(
            v < 1e-10 && (x[0] - 1.0).abs() < 1e-4 && (x[1] - 1.0).abs() < 1e-4,
            "{x:?} {v}"
        );
    }

    #[test]
    fn rejects_short_or_bad_series() {
        assert!(fit_gjr_garch("x", &[0.1; 10]).is_err());
        let mut r = vec![0.1; 200];
        r[5] = f64::NAN;
        let e = fit_gjr_garch("x", &r).unwrap_err().to_string();
        assert!(e.contains("return 5"), "{e}");
        assert!(fit_gjr_garch("x", &[0.1; 200]).is_err());
    }
}
