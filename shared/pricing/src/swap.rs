//! Fixed-for-floating interest-rate swaps off one curve (single-curve: the floating leg is
//! projected and discounted on the same curve, so with at-par coupons it is worth
//! N·(P(0,T₀) − P(0,Tₙ)) — Hull, "Options, Futures and Other Derivatives", ch. 7).
//!
//! - annuity A = Σ τᵢ P(0,tᵢ) over the fixed leg (per unit notional);
//! - par rate S = (P(0,T₀) − P(0,Tₙ)) / A;
//! - PV (payer, pays fixed K) = N·(P(0,T₀) − P(0,Tₙ) − K·A) = N·A·(S − K); a receiver is
//!   the negative;
//! - PV01 = PV(curve + 1 bp parallel in zero rates) − PV(curve), per the swap's notional.

use crate::curve::{CurveBump, DiscountCurve};
use crate::{invalid, PricingError};

/// Which side of the fixed leg: a payer pays fixed (gains when rates rise), a receiver
/// receives fixed (gains when rates fall — the liability hedger's side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwapDirection {
    Payer,
    Receiver,
}

impl SwapDirection {
    /// +1 payer, −1 receiver.
    #[inline]
    pub fn sign(self) -> f64 {
        match self {
            SwapDirection::Payer => 1.0,
            SwapDirection::Receiver => -1.0,
        }
    }
}

/// The fixed leg: accrual start of the swap, payment times and accrual fractions (years).
#[derive(Debug, Clone, PartialEq)]
pub struct FixedLegSchedule {
    start: f64,
    pay_times: Vec<f64>,
    accruals: Vec<f64>,
}

impl FixedLegSchedule {
    /// Regular periods of 1/`frequency` years rolled back from `maturity`, with a short
    /// first stub if `maturity − start` is not a whole number of periods; accrual
    /// fraction = period length.
    pub fn regular(start: f64, maturity: f64, frequency: u32) -> Result<Self, PricingError> {
        if !(start >= 0.0 && start.is_finite()) {
            return Err(invalid("start", "must be ≥ 0 and finite"));
        }
        if !(maturity > start && maturity.is_finite()) {
            return Err(invalid("maturity", "must be after the start"));
        }
        if frequency == 0 || frequency > 12 {
            return Err(invalid("frequency", "between 1 and 12 payments a year"));
        }
        let f = frequency as f64;
        let periods = (maturity - start) * f;
        // Snap to a whole number of periods when within a day's rounding.
        let n = if (periods - periods.round()).abs() < 1e-6 {
            periods.round()
        } else {
            periods.ceil()
        } as usize;
        let n = n.max(1);
        let mut pay_times = Vec::with_capacity(n);
        let mut accruals = Vec::with_capacity(n);
        let mut prev = start;
        for k in 0..n {
            let t = if k + 1 == n {
                maturity
            } else {
                maturity - (n - 1 - k) as f64 / f
            };
            pay_times.push(t);
            accruals.push(t - prev);
            prev = t;
        }
        Ok(Self {
            start,
            pay_times,
            accruals,
        })
    }

    /// An explicit schedule (e.g. from a date library): accrual start, payment times
    /// (increasing, after `start`) and each period's accrual fraction on the leg's day
    /// count.
    pub fn from_periods(
        start: f64,
        pay_times: Vec<f64>,
        accruals: Vec<f64>,
    ) -> Result<Self, PricingError> {
        if !(start.is_finite() && start >= 0.0) {
            return Err(invalid("start", "must be ≥ 0 and finite"));
        }
        if pay_times.is_empty() || pay_times.len() != accruals.len() {
            return Err(invalid(
                "accruals",
                "one accrual fraction per payment time, at least one period",
            ));
        }
        if pay_times[0] <= start || pay_times.windows(2).any(|w| w[1] <= w[0]) {
            return Err(invalid(
                "pay_times",
                "must be increasing and after the start",
            ));
        }
        if accruals.iter().any(|a| !(a.is_finite() && *a > 0.0)) {
            return Err(invalid("accruals", "must be positive"));
        }
        Ok(Self {
            start,
            pay_times,
            accruals,
        })
    }

    pub fn start(&self) -> f64 {
        self.start
    }

    /// Last payment (= floating leg end under the single-curve, at-par convention).
    pub fn maturity(&self) -> f64 {
        *self.pay_times.last().expect("validated non-empty")
    }

    pub fn pay_times(&self) -> &[f64] {
        &self.pay_times
    }

    pub fn accruals(&self) -> &[f64] {
        &self.accruals
    }

    /// Annuity Σ τᵢ P(0,tᵢ), per unit notional.
    #[inline]
    pub fn annuity(&self, curve: &impl DiscountCurve) -> f64 {
        self.pay_times
            .iter()
            .zip(&self.accruals)
            .map(|(&t, &tau)| tau * curve.discount(t))
            .sum()
    }

    /// Floating leg value at par, P(0,T₀) − P(0,Tₙ), per unit notional.
    #[inline]
    pub fn floating_leg(&self, curve: &impl DiscountCurve) -> f64 {
        curve.discount(self.start) - curve.discount(self.maturity())
    }

    /// Forward par swap rate S = (P(0,T₀) − P(0,Tₙ))/A.
    #[inline]
    pub fn par_rate(&self, curve: &impl DiscountCurve) -> f64 {
        self.floating_leg(curve) / self.annuity(curve)
    }
}

/// A vanilla fixed-for-floating swap.
#[derive(Debug, Clone, PartialEq)]
pub struct InterestRateSwap {
    pub direction: SwapDirection,
    pub notional: f64,
    pub fixed_rate: f64,
    pub fixed_leg: FixedLegSchedule,
}

impl InterestRateSwap {
    pub fn new(
        direction: SwapDirection,
        notional: f64,
        fixed_rate: f64,
        fixed_leg: FixedLegSchedule,
    ) -> Result<Self, PricingError> {
        if !notional.is_finite() {
            return Err(invalid("notional", "must be finite"));
        }
        if !fixed_rate.is_finite() {
            return Err(invalid("fixed_rate", "must be finite"));
        }
        Ok(Self {
            direction,
            notional,
            fixed_rate,
            fixed_leg,
        })
    }

    /// Present value to the holder.
    #[inline]
    pub fn pv(&self, curve: &impl DiscountCurve) -> f64 {
        let float = self.fixed_leg.floating_leg(curve);
        let fixed = self.fixed_rate * self.fixed_leg.annuity(curve);
        self.direction.sign() * self.notional * (float - fixed)
    }

    /// Forward par rate of the swap's fixed leg.
    #[inline]
    pub fn par_rate(&self, curve: &impl DiscountCurve) -> f64 {
        self.fixed_leg.par_rate(curve)
    }

    /// Annuity times notional: the value of 1.00 (decimal) of fixed rate.
    #[inline]
    pub fn annuity(&self, curve: &impl DiscountCurve) -> f64 {
        self.notional * self.fixed_leg.annuity(curve)
    }

    /// Change in PV for a +1 bp parallel shift of zero rates (positive for a payer).
    #[inline]
    pub fn pv01<C: DiscountCurve>(&self, curve: &C) -> f64 {
        let up = crate::curve::BumpedCurve {
            base: curve,
            bump: CurveBump::Parallel(1e-4),
        };
        self.pv(&up) - self.pv(curve)
    }
}
