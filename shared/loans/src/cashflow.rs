//! Cash-flow arithmetic of an amortising loan: the level (annuity) payment, the
//! conversion of an annual prepayment rate to a monthly one, and the rate-sensitive
//! prepayment S-curve.

use serde::{Deserialize, Serialize};

/// Level payment that amortises `balance` over `periods` payments at `period_rate`:
/// `P = B·i / (1 − (1 + i)^{−n})`, and `B/n` when `i = 0`.
///
/// The standard annuity formula, e.g. Fabozzi (ed.), "The Handbook of Mortgage-Backed
/// Securities", 7th ed. (2016), ch. 1 (level-payment fixed-rate mortgage), or Brealey,
/// Myers and Allen, "Principles of Corporate Finance", ch. 2 (annuity factor).
/// `periods = 0` (nothing left to pay over) returns the whole balance.
pub fn annuity_payment(balance: f64, period_rate: f64, periods: u32) -> f64 {
    if periods == 0 {
        return balance;
    }
    let n = periods as i32;
    if period_rate.abs() < 1e-12 {
        return balance / periods as f64;
    }
    // 1 − (1+i)^−n through expm1/ln1p: exact for tiny rates where the direct form
    // cancels.
    let discount = -(-(n as f64) * period_rate.ln_1p()).exp_m1();
    balance * period_rate / discount
}

/// Single monthly mortality from an annual conditional prepayment rate:
/// `SMM = 1 − (1 − CPR)^{1/12}` (the PSA / SIFMA "Uniform Practices" convention,
/// Fabozzi 2016, ch. 1).
pub fn smm_from_cpr(cpr: f64) -> f64 {
    -((-cpr).ln_1p() / 12.0).exp_m1()
}

/// Rate-sensitive prepayment: an S-curve of the refinancing incentive,
/// `CPR(Δ) = floor + (cap − floor) / (1 + exp(−slope·(Δ − midpoint)))`,
/// where `Δ` is the loan's coupon minus the market rate at which the borrower could
/// refinance (annual decimals).
///
/// The logistic refinancing S-curve is the one of Richard and Roll (1989), "Prepayments
/// on fixed-rate mortgage-backed securities", J. Portfolio Management 15(3), 73–82 (they
/// use an arctangent; the logistic has the same shape and bounded range). `floor` is
/// turnover prepayment (moves, sales) that happens at any incentive; `cap` the fastest
/// refinancing wave. Defaults: floor 4%, cap 45%, midpoint +125 bp, slope 250 per unit
/// rate (CPR rises from 10% to 90% of its range over ≈ ±90 bp around the midpoint):
/// CPR ≈ 5.7% at no incentive, the order of a seasoned at-the-money pool. Stated house
/// parameters, configurable; `floor = cap = 0` switches prepayment off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrepaymentCurve {
    pub floor: f64,
    pub cap: f64,
    pub midpoint: f64,
    pub slope: f64,
}

impl Default for PrepaymentCurve {
    fn default() -> Self {
        PrepaymentCurve {
            floor: 0.04,
            cap: 0.45,
            midpoint: 0.0125,
            slope: 250.0,
        }
    }
}

impl PrepaymentCurve {
    /// No prepayment at any incentive.
    pub const NONE: PrepaymentCurve = PrepaymentCurve {
        floor: 0.0,
        cap: 0.0,
        midpoint: 0.0,
        slope: 0.0,
    };

    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.floor) || !(0.0..1.0).contains(&self.cap) {
            return Err("prepayment: floor and cap are annual CPRs in [0, 1)".into());
        }
        if self.cap < self.floor {
            return Err("prepayment: cap must be at least floor".into());
        }
        if !self.midpoint.is_finite() || !self.slope.is_finite() || self.slope < 0.0 {
            return Err("prepayment: midpoint must be finite and slope finite and >= 0".into());
        }
        Ok(())
    }

    /// Annual CPR at refinancing incentive `incentive` (coupon − market rate).
    pub fn cpr(&self, incentive: f64) -> f64 {
        self.floor
            + (self.cap - self.floor) / (1.0 + (-self.slope * (incentive - self.midpoint)).exp())
    }
}
