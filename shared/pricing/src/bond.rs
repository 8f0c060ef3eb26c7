//! Fixed-coupon bullet bonds: price off a zero curve and off a yield, yield from price,
//! Macaulay and modified duration, convexity (Fabozzi, "Bond Markets, Analysis and
//! Strategies", ch. 4), effective duration and convexity off the curve, and key-rate
//! durations (Ho 1992, triangular zero-rate bumps at [`KEY_TENORS`]).
//!
//! Conventions: per unit of face; coupons of `coupon/frequency` every 1/`frequency`
//! years rolled back from maturity (the first coupon period may have started before
//! today: the accrued interest is the elapsed share of that coupon). Prices are dirty
//! unless named clean. The yield is compounded `frequency` times a year with fractional
//! periods, P = Σ CFᵢ (1 + y/f)^{−f tᵢ} (street convention). Curve sensitivities use
//! central differences of ±1 bp in continuously compounded zero rates; because the
//! triangular key-rate bumps add up to the parallel bump, the key-rate durations add up
//! to the effective duration up to O(h²).

use crate::curve::{BumpedCurve, CurveBump, DiscountCurve};
use crate::{invalid, math::brent, PricingError};

/// Key tenors (years) for key-rate durations.
pub const KEY_TENORS: [f64; 7] = [0.25, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0];

/// Curve bump used for effective duration, convexity and key-rate durations (1 bp).
pub const CURVE_BUMP: f64 = 1e-4;

/// A fixed-coupon bullet bond seen from the valuation date.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedRateBond {
    coupon: f64,
    frequency: u32,
    times: Vec<f64>,
    amounts: Vec<f64>,
    accrued: f64,
}

/// Yield-based risk measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YieldRisk {
    /// Dirty price per unit face.
    pub dirty_price: f64,
    /// Years.
    pub macaulay_duration: f64,
    /// −(1/P) ∂P/∂y, years.
    pub modified_duration: f64,
    /// (1/P) ∂²P/∂y², years².
    pub convexity: f64,
}

impl FixedRateBond {
    /// `coupon` annual rate (decimal), `frequency` coupons a year, `maturity` years > 0.
    pub fn new(coupon: f64, frequency: u32, maturity: f64) -> Result<Self, PricingError> {
        if !(coupon.is_finite() && coupon >= 0.0) {
            return Err(invalid("coupon", "must be ≥ 0 and finite"));
        }
        if frequency == 0 || frequency > 12 {
            return Err(invalid("frequency", "between 1 and 12 coupons a year"));
        }
        if !(maturity > 0.0 && maturity <= 100.0) {
            return Err(invalid("maturity", "must be in (0, 100] years"));
        }
        let period = 1.0 / frequency as f64;
        let n = ((maturity / period) - 1e-9).ceil().max(1.0) as usize;
        let mut times = Vec::with_capacity(n);
        let mut amounts = Vec::with_capacity(n);
        for k in (0..n).rev() {
            times.push(maturity - k as f64 * period);
            amounts.push(coupon * period);
        }
        *amounts.last_mut().expect("n ≥ 1") += 1.0;
        let accrued = coupon * (period - times[0]).max(0.0);
        Ok(Self {
            coupon,
            frequency,
            times,
            amounts,
            accrued,
        })
    }

    pub fn coupon(&self) -> f64 {
        self.coupon
    }

    /// Cash-flow times (years) and amounts (per unit face).
    pub fn cash_flows(&self) -> (&[f64], &[f64]) {
        (&self.times, &self.amounts)
    }

    /// Accrued interest per unit face.
    pub fn accrued(&self) -> f64 {
        self.accrued
    }

    /// Dirty price discounting each cash flow on the curve.
    #[inline]
    pub fn dirty_price(&self, curve: &impl DiscountCurve) -> f64 {
        self.times
            .iter()
            .zip(&self.amounts)
            .map(|(&t, &cf)| cf * curve.discount(t))
            .sum()
    }

    /// Clean price off the curve (dirty − accrued).
    #[inline]
    pub fn clean_price(&self, curve: &impl DiscountCurve) -> f64 {
        self.dirty_price(curve) - self.accrued
    }

    /// Dirty price at yield `y`, with durations and convexity.
    pub fn yield_risk(&self, y: f64) -> YieldRisk {
        let f = self.frequency as f64;
        let base = 1.0 + y / f;
        let (mut p, mut dt, mut cx) = (0.0, 0.0, 0.0);
        for (&t, &cf) in self.times.iter().zip(&self.amounts) {
            let pv = cf * base.powf(-f * t);
            p += pv;
            dt += t * pv;
            cx += t * (t + 1.0 / f) * pv;
        }
        let macaulay = dt / p;
        YieldRisk {
            dirty_price: p,
            macaulay_duration: macaulay,
            modified_duration: macaulay / base,
            convexity: cx / (p * base * base),
        }
    }

    /// Dirty price at yield `y`.
    pub fn price_from_yield(&self, y: f64) -> f64 {
        self.yield_risk(y).dirty_price
    }

    /// The yield (compounded `frequency` times a year) that gives `dirty_price`.
    pub fn yield_from_price(&self, dirty_price: f64) -> Result<f64, PricingError> {
        if !(dirty_price > 0.0 && dirty_price.is_finite()) {
            return Err(invalid("dirty_price", "must be positive and finite"));
        }
        let f = self.frequency as f64;
        brent(
            |y| self.price_from_yield(y) - dirty_price,
            -0.99 * f,
            10.0,
            1e-14,
        )
        .ok_or_else(|| PricingError::NoSolution {
            what: "yield from price",
            reason: format!("no yield in [-99%·f, 1000%] gives a dirty price of {dirty_price}"),
        })
    }

    /// Effective (curve) duration: −(P₊ − P₋)/(2hP) under ±1 bp parallel zero shifts.
    pub fn effective_duration<C: DiscountCurve>(&self, curve: &C) -> f64 {
        self.bump_duration(
            curve,
            CurveBump::Parallel(CURVE_BUMP),
            CurveBump::Parallel(-CURVE_BUMP),
        )
    }

    /// Effective convexity: (P₊ + P₋ − 2P)/(h²P).
    pub fn effective_convexity<C: DiscountCurve>(&self, curve: &C) -> f64 {
        let p = self.dirty_price(curve);
        let up = self.dirty_price(&BumpedCurve {
            base: curve,
            bump: CurveBump::Parallel(CURVE_BUMP),
        });
        let dn = self.dirty_price(&BumpedCurve {
            base: curve,
            bump: CurveBump::Parallel(-CURVE_BUMP),
        });
        (up + dn - 2.0 * p) / (CURVE_BUMP * CURVE_BUMP * p)
    }

    /// Key-rate durations at [`KEY_TENORS`], same order.
    pub fn key_rate_durations<C: DiscountCurve>(&self, curve: &C) -> [f64; KEY_TENORS.len()] {
        std::array::from_fn(|i| {
            let up = CurveBump::key_rate(&KEY_TENORS, i, CURVE_BUMP).expect("fixed keys are valid");
            let dn =
                CurveBump::key_rate(&KEY_TENORS, i, -CURVE_BUMP).expect("fixed keys are valid");
            self.bump_duration(curve, up, dn)
        })
    }

    fn bump_duration<C: DiscountCurve>(&self, curve: &C, up: CurveBump, down: CurveBump) -> f64 {
        let p = self.dirty_price(curve);
        let pu = self.dirty_price(&BumpedCurve {
            base: curve,
            bump: up,
        });
        let pd = self.dirty_price(&BumpedCurve {
            base: curve,
            bump: down,
        });
        -(pu - pd) / (2.0 * CURVE_BUMP * p)
    }
}
