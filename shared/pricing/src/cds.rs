//! Single-name credit default swaps on a piecewise-constant hazard-rate curve, priced
//! with the mid-point engine of the ISDA-style standard model (O'Kane & Turnbull,
//! "Valuation of Credit Default Swaps", Lehman Brothers QCR 2003; the same discretisation
//! as QuantLib's `MidPointCdsEngine`): in each premium period default is assumed at the
//! period's mid-point.
//!
//! Per period [s, e] paying at p with accrual fraction τ, survival S and discount P:
//! - premium leg (RPV01, per unit spread): τ·S(p)·P(p) + (S(s′) − S(e))·τ_acc(m)·P(m),
//!   where s′ = max(s, 0), m = (s′ + e)/2 (or a caller's day-rounded mid-point) and τ_acc(m) = τ·(m − s)/(e − s) is the
//!   premium accrued to default (accrual on default);
//! - protection leg: (1 − R)·(S(s′) − S(e))·P(m).
//!
//! Fair (par) spread = protection / RPV01; upfront for a running coupon c (paid by the
//! protection buyer, per unit notional) = protection − c·RPV01. [`bootstrap_hazard`]
//! solves one hazard rate per quoted maturity so that each par spread reprices.
//! Times are years on one axis shared with the discount curve; all values per unit
//! notional, spreads decimal (0.012 = 120 bp).

use crate::curve::DiscountCurve;
use crate::{invalid, math::brent, PricingError};

/// Piecewise-constant (left-open, right-closed) hazard rates: `hazards[k]` applies on
/// (`times[k−1]`, `times[k]`], the last one beyond.
#[derive(Debug, Clone, PartialEq)]
pub struct HazardCurve {
    times: Vec<f64>,
    hazards: Vec<f64>,
}

impl HazardCurve {
    pub fn new(times: Vec<f64>, hazards: Vec<f64>) -> Result<Self, PricingError> {
        if times.is_empty() || times.len() != hazards.len() {
            return Err(invalid(
                "hazards",
                "one hazard rate per node time, at least one",
            ));
        }
        if times[0].partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            || times.windows(2).any(|w| w[1] <= w[0])
            || times.iter().any(|t| !t.is_finite())
        {
            return Err(invalid("times", "must be positive, finite and increasing"));
        }
        if hazards.iter().any(|h| !(h.is_finite() && *h >= 0.0)) {
            return Err(invalid("hazards", "must be finite and ≥ 0"));
        }
        Ok(Self { times, hazards })
    }

    /// One hazard rate for all times.
    pub fn flat(hazard: f64) -> Result<Self, PricingError> {
        Self::new(vec![1.0], vec![hazard])
    }

    pub fn times(&self) -> &[f64] {
        &self.times
    }

    pub fn hazards(&self) -> &[f64] {
        &self.hazards
    }

    /// Survival probability to `t`: exp(−∫₀ᵗ λ).
    #[inline]
    pub fn survival(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        let mut integral = 0.0;
        let mut prev = 0.0;
        for (&node, &h) in self.times.iter().zip(&self.hazards) {
            if t <= node {
                return (-(integral + h * (t - prev))).exp();
            }
            integral += h * (node - prev);
            prev = node;
        }
        let last = *self.hazards.last().expect("validated non-empty");
        (-(integral + last * (t - prev))).exp()
    }

    /// Probability of default by `t`.
    #[inline]
    pub fn default_probability(&self, t: f64) -> f64 {
        1.0 - self.survival(t)
    }
}

/// Premium periods of a CDS: accrual start and end, payment time and accrual fraction.
#[derive(Debug, Clone, PartialEq)]
pub struct PremiumSchedule {
    periods: Vec<PremiumPeriod>,
}

/// One premium period (years from valuation; a start before 0 means the period is
/// running, protection counts from 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PremiumPeriod {
    pub accrual_start: f64,
    pub accrual_end: f64,
    pub payment: f64,
    pub accrual_fraction: f64,
    /// When default is assumed to happen in this period: the mid-point of
    /// [max(start, 0), end]. A caller working in dates may round it to a whole day, as
    /// QuantLib's `MidPointCdsEngine` does (that rounding alone moves a 10y spread by
    /// ~3e-7).
    pub default_time: f64,
}

impl PremiumPeriod {
    /// A period defaulting at its exact mid-point.
    pub fn new(accrual_start: f64, accrual_end: f64, payment: f64, accrual_fraction: f64) -> Self {
        Self {
            accrual_start,
            accrual_end,
            payment,
            accrual_fraction,
            default_time: 0.5 * (accrual_start.max(0.0) + accrual_end),
        }
    }
}

impl PremiumSchedule {
    /// Periods of 1/`frequency` years rolled back from `maturity`, the first a short stub
    /// starting today (a new trade: no accrued premium); accrual fraction = length.
    pub fn regular(maturity: f64, frequency: u32) -> Result<Self, PricingError> {
        let leg = crate::swap::FixedLegSchedule::regular(0.0, maturity, frequency)?;
        let mut prev = 0.0;
        let periods = leg
            .pay_times()
            .iter()
            .zip(leg.accruals())
            .map(|(&t, &tau)| {
                let p = PremiumPeriod::new(prev, t, t, tau);
                prev = t;
                p
            })
            .collect();
        Ok(Self { periods })
    }

    /// An explicit schedule (e.g. dates from a calendar library mapped to year fractions).
    pub fn from_periods(periods: Vec<PremiumPeriod>) -> Result<Self, PricingError> {
        if periods.is_empty() {
            return Err(invalid("periods", "at least one premium period"));
        }
        for p in &periods {
            if !(p.accrual_end > p.accrual_start
                && p.accrual_end.is_finite()
                && p.accrual_start.is_finite())
            {
                return Err(invalid(
                    "periods.accrual_end",
                    "must be after the accrual start",
                ));
            }
            if !(p.payment >= p.accrual_start && p.payment.is_finite()) {
                return Err(invalid(
                    "periods.payment",
                    "must be finite and after the accrual start",
                ));
            }
            let protection_start = p.accrual_start.max(0.0);
            if !(p.default_time >= protection_start && p.default_time <= p.accrual_end) {
                return Err(invalid(
                    "periods.default_time",
                    "must lie in the period's protection window [max(start, 0), end]",
                ));
            }
            if !(p.accrual_fraction > 0.0 && p.accrual_fraction.is_finite()) {
                return Err(invalid("periods.accrual_fraction", "must be positive"));
            }
        }
        Ok(Self { periods })
    }

    pub fn periods(&self) -> &[PremiumPeriod] {
        &self.periods
    }

    pub fn maturity(&self) -> f64 {
        self.periods
            .last()
            .expect("validated non-empty")
            .accrual_end
    }
}

/// Present values of the two legs of a CDS, per unit notional.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CdsLegs {
    /// Protection (default) leg, (1 − R)-weighted.
    pub protection: f64,
    /// Risky annuity: premium leg value per unit of spread, with accrual on default.
    pub rpv01: f64,
}

impl CdsLegs {
    /// Par spread: protection / RPV01.
    #[inline]
    pub fn fair_spread(&self) -> f64 {
        self.protection / self.rpv01
    }

    /// Upfront paid by the protection buyer for a running `coupon`:
    /// protection − coupon·RPV01 (per unit notional; negative means received).
    #[inline]
    pub fn upfront(&self, coupon: f64) -> f64 {
        self.protection - coupon * self.rpv01
    }
}

/// Mid-point engine: both legs of a CDS with `recovery` (0 ≤ R < 1).
pub fn midpoint_legs(
    schedule: &PremiumSchedule,
    recovery: f64,
    hazard: &HazardCurve,
    discount: &impl DiscountCurve,
) -> CdsLegs {
    let (mut protection, mut rpv01) = (0.0, 0.0);
    for p in &schedule.periods {
        if p.payment <= 0.0 {
            continue;
        }
        let start = p.accrual_start.max(0.0);
        let mid = p.default_time;
        let default_prob = hazard.survival(start) - hazard.survival(p.accrual_end);
        let df_mid = discount.discount(mid);
        let accrued_to_default =
            p.accrual_fraction * (mid - p.accrual_start) / (p.accrual_end - p.accrual_start);
        rpv01 += p.accrual_fraction * hazard.survival(p.payment) * discount.discount(p.payment)
            + default_prob * accrued_to_default * df_mid;
        protection += (1.0 - recovery) * default_prob * df_mid;
    }
    CdsLegs { protection, rpv01 }
}

/// A quoted par spread for a CDS maturity (regular schedule, `frequency` payments/yr).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParSpreadQuote {
    pub maturity: f64,
    pub spread: f64,
}

/// Bootstraps piecewise-constant hazard rates (nodes at the quoted maturities) so that
/// each regular-schedule CDS reprices to its par spread under the mid-point engine.
pub fn bootstrap_hazard(
    quotes: &[ParSpreadQuote],
    frequency: u32,
    recovery: f64,
    discount: &impl DiscountCurve,
) -> Result<HazardCurve, PricingError> {
    check_recovery(recovery)?;
    if quotes.is_empty() {
        return Err(invalid("quotes", "at least one par spread"));
    }
    let mut times: Vec<f64> = Vec::with_capacity(quotes.len());
    let mut hazards: Vec<f64> = Vec::with_capacity(quotes.len());
    for q in quotes {
        if !(q.spread > 0.0 && q.spread.is_finite()) {
            return Err(invalid("quotes.spread", "must be positive and finite"));
        }
        if times.last().is_some_and(|&t| q.maturity <= t)
            || q.maturity.is_nan()
            || q.maturity <= 0.0
        {
            return Err(invalid(
                "quotes.maturity",
                "must be positive and increasing",
            ));
        }
        let schedule = PremiumSchedule::regular(q.maturity, frequency)?;
        let mut trial_t = times.clone();
        trial_t.push(q.maturity);
        let mut trial_h = hazards.clone();
        trial_h.push(0.0);
        let mismatch = |h: f64| {
            *trial_h.last_mut().expect("pushed above") = h;
            let curve = HazardCurve {
                times: trial_t.clone(),
                hazards: trial_h.clone(),
            };
            let legs = midpoint_legs(&schedule, recovery, &curve, discount);
            legs.protection - q.spread * legs.rpv01
        };
        let h = brent(mismatch, 0.0, 50.0, 1e-15).ok_or_else(|| PricingError::NoSolution {
            what: "hazard bootstrap",
            reason: format!(
                "no non-negative hazard reprices the {}y spread of {} (inverted curve?)",
                q.maturity, q.spread
            ),
        })?;
        times.push(q.maturity);
        hazards.push(h);
    }
    HazardCurve::new(times, hazards)
}

pub(crate) fn check_recovery(recovery: f64) -> Result<(), PricingError> {
    if !(0.0..1.0).contains(&recovery) {
        return Err(invalid("recovery", "must be in [0, 1)"));
    }
    Ok(())
}
