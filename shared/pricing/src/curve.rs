//! Zero / discount curve: continuously compounded zero rates on pillar times, with
//! log-linear interpolation of discount factors (equivalently, linear interpolation of
//! r(t)·t, i.e. piecewise-constant instantaneous forwards between pillars — the
//! "raw interpolation" of Hagan & West, "Interpolation Methods for Curve Construction",
//! Applied Mathematical Finance 13(2), 2006). Before the first pillar the first zero rate
//! is held flat; after the last pillar the last forward is held flat.
//!
//! Why log-linear: it is local (a pillar moves only its two neighbouring segments), so a
//! bootstrap solves one pillar at a time and forwards stay positive whenever discount
//! factors decrease.
//!
//! Risk bumps are applied to zero rates, r'(t) = r(t) + b(t), through [`BumpedCurve`],
//! which borrows the base curve and evaluates the bump on the fly: no copy, no
//! allocation, cheap enough for a Monte Carlo revaluation. Key-rate bumps are the
//! triangular ones of Ho, "Key Rate Durations: Measures of Interest Rate Risks",
//! Journal of Fixed Income 2(2), 1992: 1 at the key tenor, falling linearly to 0 at the
//! neighbouring keys, flat beyond the first and last keys — so the key-rate bumps of
//! a key set add up to a parallel bump at every maturity.
//!
//! [`bootstrap`] builds a single curve (discounting = projection, at-par floating legs)
//! from simple-rate deposits and spot-starting par swap rates.

use crate::{invalid, math::brent, PricingError};

/// Anything that discounts: the base curve, or a curve seen through a bump.
pub trait DiscountCurve {
    /// Continuously compounded zero rate to time `t` (years); at `t = 0` the short-end
    /// limit.
    fn zero_rate(&self, t: f64) -> f64;

    /// Discount factor P(0, t) = exp(−r(t)·t).
    #[inline]
    fn discount(&self, t: f64) -> f64 {
        (-self.zero_rate(t) * t).exp()
    }

    /// Continuously compounded forward rate between `t1` and `t2`:
    /// (r(t₂)t₂ − r(t₁)t₁)/(t₂ − t₁). For `t2 == t1` the zero rate at `t1`.
    #[inline]
    fn forward_rate(&self, t1: f64, t2: f64) -> f64 {
        if t2 == t1 {
            return self.zero_rate(t1);
        }
        (self.zero_rate(t2) * t2 - self.zero_rate(t1) * t1) / (t2 - t1)
    }
}

/// Zero curve on pillars (see the module header for interpolation and extrapolation).
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroCurve {
    times: Vec<f64>,
    zeros: Vec<f64>,
}

impl ZeroCurve {
    /// Pillar times (strictly increasing, > 0, years) and their continuously compounded
    /// zero rates (decimal).
    pub fn new(times: Vec<f64>, zeros: Vec<f64>) -> Result<Self, PricingError> {
        if times.is_empty() {
            return Err(invalid("times", "a curve needs at least one pillar"));
        }
        if times.len() != zeros.len() {
            return Err(invalid(
                "zeros",
                format!("{} rates for {} pillar times", zeros.len(), times.len()),
            ));
        }
        if times[0].partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(invalid("times", "the first pillar must be after time 0"));
        }
        if times.iter().any(|t| !t.is_finite()) || times.windows(2).any(|w| w[1] <= w[0]) {
            return Err(invalid(
                "times",
                "pillar times must be finite and strictly increasing",
            ));
        }
        if zeros.iter().any(|r| !r.is_finite()) {
            return Err(invalid("zeros", "zero rates must be finite"));
        }
        Ok(Self { times, zeros })
    }

    /// A flat curve: every zero and forward rate equals `rate`.
    pub fn flat(rate: f64) -> Result<Self, PricingError> {
        Self::new(vec![1.0], vec![rate])
    }

    pub fn times(&self) -> &[f64] {
        &self.times
    }

    pub fn zeros(&self) -> &[f64] {
        &self.zeros
    }

    /// A parallel or key-rate view of this curve (no copy).
    pub fn bumped(&self, bump: CurveBump) -> BumpedCurve<'_, Self> {
        BumpedCurve { base: self, bump }
    }

    /// −ln P(0,t) = r(t)·t, linear between pillars.
    #[inline]
    fn log_discount(&self, t: f64) -> f64 {
        let n = self.times.len();
        let t0 = self.times[0];
        if t <= t0 {
            return self.zeros[0] * t;
        }
        let tn = self.times[n - 1];
        if t >= tn {
            let yn = self.zeros[n - 1] * tn;
            let last_forward = if n == 1 {
                self.zeros[0]
            } else {
                let tp = self.times[n - 2];
                (yn - self.zeros[n - 2] * tp) / (tn - tp)
            };
            return yn + last_forward * (t - tn);
        }
        // First pillar strictly after t; 1 ≤ i ≤ n−1 here.
        let i = self.times.partition_point(|&x| x <= t);
        let (ta, tb) = (self.times[i - 1], self.times[i]);
        let (ya, yb) = (self.zeros[i - 1] * ta, self.zeros[i] * tb);
        ya + (yb - ya) * (t - ta) / (tb - ta)
    }
}

impl DiscountCurve for ZeroCurve {
    #[inline]
    fn zero_rate(&self, t: f64) -> f64 {
        if t <= self.times[0] {
            return self.zeros[0];
        }
        self.log_discount(t) / t
    }

    #[inline]
    fn discount(&self, t: f64) -> f64 {
        (-self.log_discount(t)).exp()
    }
}

/// A shift of the zero curve, in decimal rate (0.0001 = 1 bp).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CurveBump {
    /// The same shift at every maturity.
    Parallel(f64),
    /// A triangular key-rate shift: `size` at `centre`, linear to 0 at `left` and
    /// `right`; `left = −∞` (first key) or `right = +∞` (last key) keep it flat outward.
    KeyRate {
        left: f64,
        centre: f64,
        right: f64,
        size: f64,
    },
}

impl CurveBump {
    /// The triangular bump of `size` on key tenor `keys[index]`; `keys` strictly
    /// increasing (years).
    pub fn key_rate(keys: &[f64], index: usize, size: f64) -> Result<Self, PricingError> {
        if index >= keys.len() {
            return Err(invalid(
                "index",
                format!("key {index} out of {} keys", keys.len()),
            ));
        }
        if keys.windows(2).any(|w| w[1] <= w[0]) || keys.iter().any(|k| !k.is_finite()) {
            return Err(invalid("keys", "key tenors must be finite and increasing"));
        }
        Ok(CurveBump::KeyRate {
            left: if index == 0 {
                f64::NEG_INFINITY
            } else {
                keys[index - 1]
            },
            centre: keys[index],
            right: keys.get(index + 1).copied().unwrap_or(f64::INFINITY),
            size,
        })
    }

    /// The zero-rate shift at maturity `t`.
    #[inline]
    pub fn shift(&self, t: f64) -> f64 {
        match *self {
            CurveBump::Parallel(s) => s,
            CurveBump::KeyRate {
                left,
                centre,
                right,
                size,
            } => {
                let w = if t <= centre {
                    if left == f64::NEG_INFINITY {
                        1.0
                    } else {
                        ((t - left) / (centre - left)).max(0.0)
                    }
                } else if right == f64::INFINITY {
                    1.0
                } else {
                    ((right - t) / (right - centre)).max(0.0)
                };
                size * w
            }
        }
    }
}

/// A curve seen through a bump: r'(t) = r(t) + bump(t). Borrowing, allocation-free.
#[derive(Debug, Clone, Copy)]
pub struct BumpedCurve<'a, C: DiscountCurve> {
    pub base: &'a C,
    pub bump: CurveBump,
}

impl<C: DiscountCurve> DiscountCurve for BumpedCurve<'_, C> {
    #[inline]
    fn zero_rate(&self, t: f64) -> f64 {
        self.base.zero_rate(t) + self.bump.shift(t)
    }
}

/// A money-market deposit: simple interest, P(0,T) = 1/(1 + rate·T).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deposit {
    /// Years.
    pub maturity: f64,
    /// Simple rate, decimal.
    pub rate: f64,
}

/// A spot-starting par swap rate: the fixed rate S with S·Σ τᵢP(0,tᵢ) = 1 − P(0,T).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParSwapQuote {
    /// Years.
    pub maturity: f64,
    /// Par fixed rate, decimal.
    pub rate: f64,
    /// Fixed payments per year (1 annual, 2 semi-annual, 4 quarterly).
    pub fixed_frequency: u32,
}

/// Bootstraps a single curve from deposits and par swaps, one pillar per instrument at
/// its maturity, shortest first. Each swap's pillar is solved (Brent) so that the swap
/// reprices to par given the pillars already found; coupon dates between pillars are
/// interpolated log-linearly as above. Single curve: the floating leg is worth
/// 1 − P(0,T) (no basis between projection and discounting).
pub fn bootstrap(deposits: &[Deposit], swaps: &[ParSwapQuote]) -> Result<ZeroCurve, PricingError> {
    let mut times = Vec::with_capacity(deposits.len() + swaps.len());
    let mut zeros = Vec::with_capacity(times.capacity());
    for d in deposits {
        if !(d.maturity > 0.0 && d.maturity.is_finite()) {
            return Err(invalid("deposits.maturity", "must be positive and finite"));
        }
        if !(d.rate.is_finite() && 1.0 + d.rate * d.maturity > 0.0) {
            return Err(invalid(
                "deposits.rate",
                "must give a positive discount factor",
            ));
        }
        push_pillar(
            &mut times,
            &mut zeros,
            d.maturity,
            (1.0 + d.rate * d.maturity).ln() / d.maturity,
        )?;
    }
    for s in swaps {
        if !(s.maturity > 0.0 && s.maturity.is_finite()) {
            return Err(invalid("swaps.maturity", "must be positive and finite"));
        }
        if s.fixed_frequency == 0 || s.fixed_frequency > 12 {
            return Err(invalid(
                "swaps.fixed_frequency",
                "between 1 and 12 payments a year",
            ));
        }
        if !s.rate.is_finite() {
            return Err(invalid("swaps.rate", "must be finite"));
        }
        if times.last().is_some_and(|&t| s.maturity <= t) {
            return Err(invalid(
                "swaps.maturity",
                "instruments must have increasing maturities (deposits first)",
            ));
        }
        let schedule = crate::swap::FixedLegSchedule::regular(0.0, s.maturity, s.fixed_frequency)?;
        let mut trial_times = times.clone();
        trial_times.push(s.maturity);
        let mut trial_zeros = zeros.clone();
        trial_zeros.push(0.0);
        let mismatch = |z: f64| {
            *trial_zeros.last_mut().expect("pushed above") = z;
            let curve = ZeroCurve {
                times: trial_times.clone(),
                zeros: trial_zeros.clone(),
            };
            s.rate * schedule.annuity(&curve) - (1.0 - curve.discount(s.maturity))
        };
        let z = brent(mismatch, -0.5, 2.0, 1e-15).ok_or_else(|| PricingError::NoSolution {
            what: "curve bootstrap",
            reason: format!(
                "no zero rate in [-50%, 200%] reprices the {}y swap",
                s.maturity
            ),
        })?;
        push_pillar(&mut times, &mut zeros, s.maturity, z)?;
    }
    ZeroCurve::new(times, zeros)
}

fn push_pillar(
    times: &mut Vec<f64>,
    zeros: &mut Vec<f64>,
    t: f64,
    z: f64,
) -> Result<(), PricingError> {
    if times.last().is_some_and(|&last| t <= last) {
        return Err(invalid(
            "deposits.maturity",
            "instruments must have increasing maturities (deposits first)",
        ));
    }
    times.push(t);
    zeros.push(z);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rate_bumps_add_up_to_a_parallel_bump() {
        let keys = [0.25, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0];
        for &t in &[0.0, 0.1, 0.25, 0.7, 1.0, 3.3, 7.0, 19.0, 25.0, 30.0, 45.0] {
            let total: f64 = (0..keys.len())
                .map(|i| CurveBump::key_rate(&keys, i, 1e-4).unwrap().shift(t))
                .sum();
            assert!((total - 1e-4).abs() < 1e-18, "t = {t}: {total}");
        }
    }

    #[test]
    fn interpolation_is_log_linear_in_discount_factors() {
        let c = ZeroCurve::new(vec![1.0, 3.0], vec![0.02, 0.04]).unwrap();
        // ln P at 2y is the average of ln P at 1y and 3y.
        let expected = (-(0.02 * 1.0 + 0.04 * 3.0) / 2.0f64).exp();
        assert!((c.discount(2.0) - expected).abs() < 1e-16);
        // Flat forward between the pillars: (0.12 − 0.02)/2 = 5%.
        assert!((c.forward_rate(1.2, 2.7) - 0.05).abs() < 1e-15);
        // Flat zero before the first pillar, flat forward after the last.
        assert!((c.zero_rate(0.5) - 0.02).abs() < 1e-16);
        assert!((c.forward_rate(3.0, 10.0) - 0.05).abs() < 1e-15);
    }

    #[test]
    fn bad_pillars_are_rejected_with_the_field_named() {
        let e = ZeroCurve::new(vec![1.0, 1.0], vec![0.01, 0.02]).unwrap_err();
        assert!(e.to_string().contains("times"));
        let e = ZeroCurve::new(vec![1.0], vec![0.01, 0.02]).unwrap_err();
        assert!(e.to_string().contains("zeros"));
        assert!(CurveBump::key_rate(&[1.0, 2.0], 2, 1e-4).is_err());
    }
}
