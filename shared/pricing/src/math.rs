//! Small numerical kernels shared by the pricers: the standard normal distribution and a
//! bracketed root finder.
//!
//! The normal CDF is Cody's erfc, copied from `stresslab_analytics::stats` (same
//! coefficients, same double-double argument) so this crate stays free of that crate's
//! nalgebra/clarabel dependencies; statrs 0.19's erfc is only good to ~1e-12 here.

// Published coefficients are kept digit for digit, beyond f64 precision.
#![allow(clippy::excessive_precision)]

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

/// Standard normal CDF Φ(x) (Cody 1969 erfc, ~1e-15 relative in both tails).
#[inline]
pub(crate) fn norm_cdf(x: f64) -> f64 {
    normal_cdf(x)
}

/// Standard normal density φ(x), the exponent split as in Cody (1969) so the tail keeps
/// ~1e-15 relative accuracy.
#[inline]
pub(crate) fn norm_pdf(x: f64) -> f64 {
    if x.abs() >= 40.0 {
        return 0.0;
    }
    let t = (16.0 * x).trunc() / 16.0;
    let del = (x - t) * (x + t);
    FRAC_1_SQRT_2PI * (-0.5 * t * t).exp() * (-0.5 * del).exp()
}

/// Inverse of Φ (statrs' erfc_inv), used once per name and date, not in a hot loop.
pub(crate) fn norm_inv(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p)
}

/// Brent's method (Brent 1973, "Algorithms for Minimization without Derivatives", ch. 4)
/// on a bracket [a, b] with f(a)·f(b) ≤ 0. Returns `None` if the bracket does not
/// straddle a root or the iteration budget runs out.
pub(crate) fn brent(
    mut f: impl FnMut(f64) -> f64,
    mut a: f64,
    mut b: f64,
    tol: f64,
) -> Option<f64> {
    let mut fa = f(a);
    let mut fb = f(b);
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    if !(fa.is_finite() && fb.is_finite()) || fa * fb > 0.0 {
        return None;
    }
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if fb * fc > 0.0 {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * tol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol1 || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * xm * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * xm * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            let min1 = 3.0 * xm * q - (tol1 * q).abs();
            let min2 = (e * q).abs();
            if 2.0 * p < min1.min(min2) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b);
    }
    None
}

const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_456_518_6e-17;
/// `1/sqrt(2*pi)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_1;
const CODY_A: [f64; 5] = [
    3.16112374387056560e0,
    1.13864154151050156e2,
    3.77485237685302021e2,
    3.20937758913846947e3,
    1.85777706184603153e-1,
];
const CODY_B: [f64; 4] = [
    2.36012909523441209e1,
    2.44024637934444173e2,
    1.28261652607737228e3,
    2.84423683343917062e3,
];
const CODY_C: [f64; 9] = [
    5.64188496988670089e-1,
    8.88314979438837594e0,
    6.61191906371416295e1,
    2.98635138197400131e2,
    8.81952221241769090e2,
    1.71204761263407058e3,
    2.05107837782607147e3,
    1.23033935479799725e3,
    2.15311535474403846e-8,
];
const CODY_D: [f64; 8] = [
    1.57449261107098347e1,
    1.17693950891312499e2,
    5.37181101862009858e2,
    1.62138957456669019e3,
    3.29079923573345963e3,
    4.36261909014324716e3,
    3.43936767414372164e3,
    1.23033935480374942e3,
];
const CODY_P: [f64; 6] = [
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
];
const CODY_Q: [f64; 5] = [
    2.56852019228982242e0,
    1.87295284992346047e0,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
];
/// 1/sqrt(pi).
const CODY_SQRPI: f64 = 5.6418958354775628695e-1;
/// Beyond this argument erfc underflows (Cody's XBIG for IEEE double).
const CODY_XBIG: f64 = 26.543;

/// `exp(-y^2)` computed as `exp(-t^2) exp(-(y-t)(y+t))` with `t = trunc(16 y)/16`, so
/// `t^2` is exact and the large exponent carries no rounding error (Cody 1969).
fn exp_minus_square(y: f64) -> f64 {
    let t = (16.0 * y).trunc() / 16.0;
    let del = (y - t) * (y + t);
    (-t * t).exp() * (-del).exp()
}

/// Complementary error function, W. J. Cody (1969), "Rational Chebyshev approximations
/// for the error function", Mathematics of Computation 23(107), 631–637; the
/// coefficients and evaluation scheme of Netlib SPECFUN `CALERF` (jint = 1).
/// Relative accuracy is close to machine precision over the whole range.
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.46875 {
        let ysq = if y > 1.11e-16 { y * y } else { 0.0 };
        let mut num = CODY_A[4] * ysq;
        let mut den = ysq;
        for i in 0..3 {
            num = (num + CODY_A[i]) * ysq;
            den = (den + CODY_B[i]) * ysq;
        }
        return 1.0 - x * (num + CODY_A[3]) / (den + CODY_B[3]);
    }
    let tail = if y <= 4.0 {
        let mut num = CODY_C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + CODY_C[i]) * y;
            den = (den + CODY_D[i]) * y;
        }
        exp_minus_square(y) * (num + CODY_C[7]) / (den + CODY_D[7])
    } else if y < CODY_XBIG {
        let ysq = 1.0 / (y * y);
        let mut num = CODY_P[5] * ysq;
        let mut den = ysq;
        for i in 0..4 {
            num = (num + CODY_P[i]) * ysq;
            den = (den + CODY_Q[i]) * ysq;
        }
        let r = ysq * (num + CODY_P[4]) / (den + CODY_Q[4]);
        exp_minus_square(y) * (CODY_SQRPI - r) / y
    } else {
        0.0
    };
    if x < 0.0 {
        2.0 - tail
    } else {
        tail
    }
}

/// Standard normal cumulative distribution function `Phi(x) = erfc(-x/sqrt 2) / 2`.
///
/// The complementary error function is W. J. Cody (1969), "Rational Chebyshev
/// approximations for the error function", Math. Comp. 23, 631–637 (Netlib SPECFUN
/// `CALERF`). The argument `-x/sqrt 2` is formed in double-double and its rounding
/// error fed back through `erfc'(y) = -2/sqrt(pi) exp(-y^2)`, so the lower tail keeps
/// ~1e-15 *relative* accuracy (a naive `0.5 * erfc(-x / SQRT_2)` loses ~x^2 ulps).
/// Underflows to 0 below x ≈ -37.5. NaN in, NaN out.
///
fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { 0.0 };
    }
    let y = -x * FRAC_1_SQRT_2;
    let y_err = (-x).mul_add(FRAC_1_SQRT_2, -y) + (-x) * FRAC_1_SQRT_2_LO;
    let e = erfc(y);
    let correction = y_err * FRAC_2_SQRT_PI * exp_minus_square(y);
    0.5 * (e - correction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        // Φ(1.96) = 0.9750021048517795 (scipy.stats.norm.cdf, scipy 1.17.1; Φ⁻¹(0.3) likewise).
        let err = norm_cdf(1.96) - 0.975_002_104_851_779_5;
        assert!(err.abs() < 1e-15, "{err:e}");
        let err = norm_inv(0.3) + 0.524_400_512_708_040_9;
        assert!(err.abs() < 1e-14, "{err:e}");
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-16);
        assert!((norm_inv(norm_cdf(-2.3)) + 2.3).abs() < 1e-12);
    }

    #[test]
    fn brent_finds_cube_root_of_two() {
        let r = brent(|x| x * x * x - 2.0, 0.0, 2.0, 1e-14).unwrap();
        assert!((r - 2f64.cbrt()).abs() < 1e-13);
        assert!(brent(|x| x * x + 1.0, -1.0, 1.0, 1e-12).is_none());
    }
}
