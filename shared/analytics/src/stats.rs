//! Univariate building blocks: moments, the standard normal distribution and empirical
//! quantiles.
//!
//! Every risk figure downstream (parametric VaR, expected shortfall, t-statistics,
//! historical VaR) bottoms out here, so each is good to full double precision rather
//! than a quick approximation such as Abramowitz–Stegun 26.2.17 (only ~1e-7).
//!
//! The normal quantile comes from `statrs`. The normal CDF and density stay
//! hand-written because statrs 0.19's are measurably less accurate (CDF ~1e-10
//! relative everywhere, density ~d^2/2 ulps in the tail); the tests
//! `statrs_normal_cdf_is_less_accurate_than_ours` and
//! `statrs_normal_pdf_loses_precision_in_the_tail` show it against mpmath.
//!
//! Bad input never panics: the functions return `f64`, so they signal "undefined" with
//! NaN (empty data, a probability outside its domain).

// The Cody coefficient tables are reproduced at their published precision
// (more digits than an f64 holds); the compiler rounds them to the nearest f64.
#![allow(clippy::excessive_precision)]

use statrs::distribution::{ContinuousCDF, Normal};
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

/// `1/sqrt(2) - FRAC_1_SQRT_2`: the low half of a double-double `1/sqrt(2)`, so that
/// `x/sqrt(2)` is known to ~1e-32 and the normal tail keeps full relative precision.
const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_456_518_6e-17;
/// `1/sqrt(2*pi)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_1;

/// Sum with Neumaier's compensated summation.
///
/// Reference: A. Neumaier (1974), "Rundungsfehleranalyse einiger Verfahren zur
/// Summation endlicher Summen", ZAMM 54, 39–51 (the improved Kahan–Babuška sum).
/// The error is O(eps) independent of `n`, which matters for long return series.
pub(crate) fn compensated_sum(x: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut carry = 0.0_f64;
    for v in x {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            carry += (sum - t) + v;
        } else {
            carry += (v - t) + sum;
        }
        sum = t;
    }
    sum + carry
}

/// Arithmetic mean, summed with Neumaier's compensated summation (Neumaier 1974,
/// ZAMM 54) so the result does not depend on the length of the series.
///
/// Returns NaN for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    compensated_sum(x.iter().copied()) / x.len() as f64
}

/// Sample Pearson correlation of two equal-length series (means removed; compensated
/// means as in [`mean`]). NaN if either series is constant. Matches
/// `numpy.corrcoef(x, y)[0, 1]`.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Sample standard deviation with the `n - 1` (Bessel) denominator.
///
/// Uses the corrected two-pass algorithm of T. F. Chan, G. H. Golub and R. J. LeVeque
/// (1983), "Algorithms for computing the sample variance: analysis and
/// recommendations", The American Statistician 37(3), 242–247:
/// `S = sum (x_i - m)^2 - (sum (x_i - m))^2 / n`, which removes the rounding error of
/// the computed mean `m`. Matches `numpy.std(x, ddof=1)`.
///
/// Returns NaN when fewer than two observations are given.
pub fn std_dev(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    let (mut sum_sq, mut sum_dev) = (0.0, 0.0);
    for &v in x {
        let d = v - m;
        sum_sq += d * d;
        sum_dev += d;
    }
    let ss = (sum_sq - sum_dev * sum_dev / n as f64).max(0.0);
    (ss / (n - 1) as f64).sqrt()
}

// W. J. Cody (1969) CALERF coefficient sets as published in Netlib SPECFUN `erf`:
// A/B give erf on |y| <= 0.46875, C/D give exp(y^2) erfc(y) on (0.46875, 4],
// P/Q give the asymptotic exp(y^2) erfc(y) on (4, inf).
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
pub(crate) fn erfc(x: f64) -> f64 {
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
/// Kept hand-written rather than `statrs::distribution::Normal::cdf`: statrs 0.19 is
/// only good to ~1e-10 relative (test `statrs_normal_cdf_is_less_accurate_than_ours`).
pub fn normal_cdf(x: f64) -> f64 {
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

/// Standard normal density `phi(x) = exp(-x^2/2) / sqrt(2 pi)`.
///
/// The exponent is split as in Cody (1969) (`x = t + (x - t)` with `t` a multiple of
/// 1/16, so `t^2` is exact), which keeps ~1e-15 relative accuracy far into the tail.
/// NaN in, NaN out; 0 beyond |x| = 40 (where the density underflows anyway).
///
/// Kept hand-written rather than `statrs::distribution::Normal::pdf`, whose rounded
/// `x^2` costs up to ~x^2/2 ulps (test `statrs_normal_pdf_loses_precision_in_the_tail`).
pub fn normal_pdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() >= 40.0 {
        return 0.0;
    }
    let t = (16.0 * x).trunc() / 16.0;
    let del = (x - t) * (x + t);
    FRAC_1_SQRT_2PI * (-0.5 * t * t).exp() * (-0.5 * del).exp()
}

/// Standard normal quantile `Phi^{-1}(p)`, a thin wrapper over
/// `statrs::distribution::Normal::standard().inverse_cdf(p)`.
///
/// statrs computes `-sqrt(2) erfc^{-1}(2p)` with its port of the Boost.Math inverse
/// error function (rational minimax approximations in `sqrt(-ln q)` over several
/// intervals, Boost's `erf_inv_imp`). Against mpmath at 50 digits over 600 points
/// (p from 1e-300 to 1 - 1e-12, 300 of them in the VaR/ES range 0.9–0.999) it is within
/// 3 ulps everywhere and on average slightly closer than the AS 241 (Wichura 1988)
/// code it replaced, so the team rule (use the maintained crate) applies; see the
/// `normal_quantile_matches_mpmath` test for the reference values and tolerance.
///
/// Returns NaN for `p` outside the open interval (0, 1) — including exactly 0 and 1 —
/// and for NaN (statrs itself would return ±inf at 0 and 1 and panic outside [0, 1]).
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    Normal::standard().inverse_cdf(p)
}

/// Empirical quantile of already-sorted data by linear interpolation between order
/// statistics: R. J. Hyndman and Y. Fan (1996), "Sample quantiles in statistical
/// packages", The American Statistician 50(4), 361–365, definition 7 (the default of
/// `numpy.quantile` and R's `quantile`): with `h = (n - 1) p`,
/// `Q(p) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`.
///
/// The interpolation is evaluated as numpy's `_lerp` does (from the upper point when
/// the weight is >= 1/2), so results agree with numpy to the last bit.
/// `sorted` must be ascending; this is not checked. Returns NaN for empty input or
/// `p` outside [0, 1].
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor();
    let i = lo as usize;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    let t = h - lo;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_matches_numpy() {
        // numpy 2.4.6: np.corrcoef([0.3,-1.2,2.5,0.7,-0.4,1.1], [1.0,-0.5,2.0,0.1,0.3,0.9])[0,1]
        let x = [0.3, -1.2, 2.5, 0.7, -0.4, 1.1];
        let y = [1.0, -0.5, 2.0, 0.1, 0.3, 0.9];
        assert!((pearson(&x, &y) - 0.8937296755917713).abs() < 1e-15);
        assert!(pearson(&x, &[1.0; 6]).is_nan());
    }
    use statrs::distribution::Continuous;

    fn assert_rel(actual: f64, expected: f64, rel: f64) {
        let err = ((actual - expected) / expected).abs();
        assert!(
            err <= rel || actual == expected,
            "actual {actual:e} expected {expected:e} rel err {err:e} > {rel:e}"
        );
    }

    // Oracle: mpmath 1.3 at 50 digits, `mpmath.ncdf(x)`, printed to 20 significant
    // digits. Relative tolerance 2e-15 over 30 orders of magnitude of the tail.
    const CDF_CASES: [(f64, f64); 18] = [
        (-30.0, 4.9067139271481870595e-198),
        (-20.0, 2.7536241186062336951e-89),
        (-10.0, 7.619853024160526066e-24),
        (-8.0, 6.2209605742717841235e-16),
        (-5.0, 2.8665157187919391167e-7),
        (-3.0, 1.3498980316300945267e-3),
        (-1.96, 2.4997895148220436213e-2),
        (-1.0, 1.5865525393145705141e-1),
        (-0.5, 3.0853753872598689636e-1),
        (-0.1, 4.6017216272297101633e-1),
        (0.0, 0.5),
        (0.3, 6.1791142218895263307e-1),
        (0.75, 7.7337264762313180067e-1),
        (1.0, 8.4134474606854294859e-1),
        (1.5, 9.33192798731141934e-1),
        (2.5, 9.9379033467422386483e-1),
        (3.5, 9.9976737092096447496e-1),
        (6.0, 9.9999999901341235496e-1),
    ];

    #[test]
    fn normal_cdf_matches_mpmath_to_machine_precision() {
        for (x, expected) in CDF_CASES {
            assert_rel(normal_cdf(x), expected, 2e-15);
        }
    }

    #[test]
    fn normal_cdf_edges_and_symmetry() {
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert!(normal_cdf(f64::NAN).is_nan());
        // True value 2.885e-316 is subnormal; Cody's erfc flushes beyond y = 26.543.
        assert!(normal_cdf(-38.0) < 1e-300);
        // Phi(x) + Phi(-x) = 1.
        for x in [0.1, 0.7, 1.3, 2.9] {
            assert!((normal_cdf(x) + normal_cdf(-x) - 1.0).abs() < 2e-16);
        }
    }

    #[test]
    fn erfc_known_values() {
        // Closed forms: erfc(0) = 1; erfc(-x) = 2 - erfc(x).
        assert_eq!(erfc(0.0), 1.0);
        for x in [0.2, 1.5, 5.0] {
            assert!((erfc(-x) - (2.0 - erfc(x))).abs() < 1e-16);
        }
        // mpmath.erfc(1) = 0.15729920705028513066; mpmath.erfc(5) = 1.5374597944280348502e-12.
        assert_rel(erfc(1.0), 0.157_299_207_050_285_130_66, 2e-16 * 4.0);
        assert_rel(erfc(5.0), 1.537_459_794_428_034_850_2e-12, 2e-15);
    }

    #[test]
    fn normal_pdf_matches_mpmath() {
        // Oracle: mpmath `npdf(x)` at 50 digits.
        let cases = [
            (0.0, 3.9894228040143267794e-1),
            (1.0, 2.419707245191433498e-1),
            (-2.0, 5.3990966513188051951e-2),
            (5.0, 1.4867195147342977079e-6),
            (-12.5, 4.6951953579751459996e-35),
            (30.0, 1.473646134878547519e-196),
        ];
        for (x, expected) in cases {
            assert_rel(normal_pdf(x), expected, 2e-15);
        }
        assert_eq!(normal_pdf(45.0), 0.0);
        assert!(normal_pdf(f64::NAN).is_nan());
    }

    #[test]
    fn normal_quantile_matches_mpmath() {
        // Oracle: mpmath 1.3 at 50 digits, the exact quantile of the double nearest to p:
        // with t = min(p, 1 - p) (1 - p exact in mpmath), the root z < 0 of
        // `log(ncdf(z)) = log(t)` by `findroot` from z0 = -sqrt(-2 log t), negated for
        // p > 1/2. Printed to 20 significant digits.
        // Tolerance 1e-15 relative (about 4 ulps of z): statrs (Boost's erf_inv) was
        // measured within 3 ulps over 600 points from 1e-300 to 1 - 1e-12, and these
        // points, VaR/ES's 0.9–0.999 among them, are within 2.
        let cases = [
            (1e-300, -3.7047096299361199237e+1),
            (1e-20, -9.2623400897984075796),
            (1e-15, -7.9413453261709967713),
            (1e-10, -6.3613409024040561991),
            (1e-6, -4.7534243088228989573),
            (1e-5, -4.2648907939228246102),
            (0.001, -3.0902323061678135354),
            (0.01, -2.3263478740408410931),
            (0.025, -1.9599639845400542118),
            (0.05, -1.644853626951472688),
            (0.1, -1.2815515655446004353),
            (0.3, -5.2440051270804081597e-1),
            (0.6, 2.5334710313579974132e-1),
            (0.9, 1.2815515655446005935),
            (0.95, 1.6448536269514722843),
            (0.975, 1.9599639845400538556),
            (0.99, 2.3263478740408407676),
            (0.995, 2.5758293035489004539),
            (0.999, 3.0902323061678132778),
            (1.0 - 1e-10, 6.3613408896974218642),
        ];
        for (p, expected) in cases {
            assert_rel(normal_quantile(p), expected, 1e-15);
        }
        assert_eq!(normal_quantile(0.5), 0.0);
    }

    // Why `normal_cdf` stays hand-written: statrs 0.19's `Normal::cdf` is
    // `0.5 * erfc(-x / sqrt 2)` with the Boost-derived `erf_impl`, whose per-interval
    // constants were transcribed to only 10 significant digits (fixed upstream in
    // statrs-dev/statrs PR #412, not in a release as of 0.19.1). Its relative error is
    // ~1e-11 to 1e-10 across the whole body of the distribution, 4–5 orders of magnitude
    // above ours. Oracle: mpmath 1.3 `ncdf(x)` at 50 digits. When this test fails
    // because statrs got accurate, switch `normal_cdf` to it (team rule).
    #[test]
    fn statrs_normal_cdf_is_less_accurate_than_ours() {
        let statrs_normal = Normal::standard();
        let cases = [
            (-20.0, 2.7536241186062336951e-89),
            (-8.0, 6.2209605742717841235e-16),
            (-3.0, 1.3498980316300945267e-3),
            (-2.3263478740408408, 1.0000000000000009153e-2),
            (-1.0, 1.5865525393145705141e-1),
            (-0.760636574275253, 2.2343708398014546338e-1),
            (1.0, 8.4134474606854294859e-1),
            (2.3263478740408408, 9.8999999999999999085e-1),
            (3.0, 9.9865010196836990547e-1),
        ];
        for (x, expected) in cases {
            let ours = ((normal_cdf(x) - expected) / expected).abs();
            let theirs = ((statrs_normal.cdf(x) - expected) / expected).abs();
            assert!(ours <= 1e-15, "x = {x}: ours rel err {ours:e}");
            assert!(
                theirs > 1e-14 && theirs > 50.0 * ours.max(f64::EPSILON),
                "x = {x}: statrs rel err {theirs:e} is now close to ours {ours:e}: reconsider statrs"
            );
        }
        // Where statrs is better: below x = -37.5 the true value is subnormal; Cody's
        // erfc flushes it to 0, statrs returns it (Phi(-38) = 2.8854283600687843e-316).
        // No risk figure uses probabilities below 1e-300 (see normal_cdf_edges_and_symmetry).
        assert_eq!(normal_cdf(-38.0), 0.0);
        assert!(statrs_normal.cdf(-38.0) > 0.0);
    }

    // Why `normal_pdf` stays hand-written: statrs 0.19's `Normal::pdf` evaluates
    // `exp(-0.5 d d)` with `d d` rounded, which costs ~d^2/2 ulps: 5.6e-14 relative at
    // |x| = 34, and up to 5.9e-16 (≈5 ulps) at the expected-shortfall points |z| <= 3.1,
    // against <= 2 ulps for ours (Cody's exact split of x^2). Oracle: mpmath 1.3 `npdf(x)`
    // at 50 digits. When this fails because statrs got accurate, switch to it.
    #[test]
    fn statrs_normal_pdf_loses_precision_in_the_tail() {
        let statrs_normal = Normal::standard();
        let cases = [
            (-33.92362623469863, 5.0718789601893727931e-251, 1e-14),
            (-36.92748800283986, 3.0930231740278180982e-297, 1e-14),
            (3.062956119571181, 3.6618432855580956362e-3, 4e-16),
            (-3.432470581000638, 1.1028410259073779608e-3, 4e-16),
        ];
        for (x, expected, statrs_at_least) in cases {
            let ours = ((normal_pdf(x) - expected) / expected).abs();
            let theirs = ((statrs_normal.pdf(x) - expected) / expected).abs();
            assert!(ours <= 4.5e-16, "x = {x}: ours rel err {ours:e}");
            assert!(
                theirs > statrs_at_least,
                "x = {x}: statrs rel err {theirs:e} is now <= {statrs_at_least:e}: reconsider statrs"
            );
        }
    }

    #[test]
    fn normal_quantile_rejects_outside_open_unit_interval() {
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(normal_quantile(p).is_nan(), "p = {p}");
        }
    }

    #[test]
    fn quantile_inverts_cdf() {
        for p in [1e-12, 0.003, 0.2, 0.5, 0.77, 0.999_9] {
            assert_rel(normal_cdf(normal_quantile(p)), p, 1e-14);
        }
    }

    #[test]
    fn mean_and_std_match_numpy() {
        // numpy: x = [3.1, -2.0, 0.5, 7.25, 1.0, -0.75, 4.0];
        // np.mean(x) = 1.8714285714285714, np.std(x, ddof=1) = 3.148261046839607.
        let x = [3.1, -2.0, 0.5, 7.25, 1.0, -0.75, 4.0];
        assert!((mean(&x) - 1.871_428_571_428_571_4).abs() < 1e-15);
        assert!((std_dev(&x) - 3.148_261_046_839_607).abs() < 1e-14);
        assert!(mean(&[]).is_nan());
        assert!(std_dev(&[1.0]).is_nan());
        assert_eq!(std_dev(&[2.5; 10]), 0.0);
    }

    #[test]
    fn compensated_mean_survives_cancellation() {
        // Closed form: mean of [1e16, 1, -1e16, 1] is 0.5; naive summation gives 0.
        assert_eq!(mean(&[1e16, 1.0, -1e16, 1.0]), 0.5);
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        // numpy 2.x: np.quantile([3.1, -2.0, 0.5, 7.25, 1.0, -0.75, 4.0], p) (method
        // "linear", the default). Exact agreement expected (same lerp formula).
        let sorted = [-2.0, -0.75, 0.5, 1.0, 3.1, 4.0, 7.25];
        let cases = [
            (0.0, -2.0),
            (0.1, -1.25),
            (0.25, -0.125),
            (0.5, 1.0),
            (0.9, 5.300000000000001),
            (0.95, 6.274999999999998),
            (0.99, 7.054999999999998),
            (1.0, 7.25),
        ];
        for (p, expected) in cases {
            assert_eq!(quantile(&sorted, p), expected, "p = {p}");
        }
        assert!(quantile(&[], 0.5).is_nan());
        assert!(quantile(&sorted, 1.5).is_nan());
        assert!(quantile(&sorted, f64::NAN).is_nan());
        assert_eq!(quantile(&[4.0], 0.3), 4.0);
    }
}
