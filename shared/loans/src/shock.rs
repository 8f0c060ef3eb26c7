//! The interest-rate scenario: a shift of the market rate, month by month.

use serde::{Deserialize, Serialize};

/// A shock to market rates, in basis points, applied to month `t = 1..=horizon`.
///
/// Floating loans pass it through to their coupon in full at each payment date (the
/// book's `InterestRate` is the all-in rate at the valuation date); fixed loans keep
/// their coupon and feel the shock only through prepayment (a higher market rate takes
/// away the incentive to refinance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateShock {
    /// The whole shift from month 1.
    Parallel { bp: f64 },
    /// Linear from `bp/months` in month 1 to `bp` in month `months`, held after.
    Ramp { bp: f64, months: u32 },
    /// An explicit path: shift of month `t` is `bp_by_month[t − 1]`; the last value is
    /// held beyond the path's end.
    Path { bp_by_month: Vec<f64> },
}

impl RateShock {
    /// No shock.
    pub const NONE: RateShock = RateShock::Parallel { bp: 0.0 };

    pub fn validate(&self) -> Result<(), String> {
        let finite = |bp: f64| bp.is_finite() && bp.abs() <= 5_000.0;
        match self {
            RateShock::Parallel { bp } if !finite(*bp) => {
                Err("shock.bp: must be finite and within ±5000 bp".into())
            }
            RateShock::Ramp { bp, .. } if !finite(*bp) => {
                Err("shock.bp: must be finite and within ±5000 bp".into())
            }
            RateShock::Ramp { months: 0, .. } => Err("shock.months: must be at least 1".into()),
            RateShock::Path { bp_by_month } if bp_by_month.is_empty() => {
                Err("shock.bp_by_month: needs at least one month".into())
            }
            RateShock::Path { bp_by_month } => match bp_by_month.iter().position(|b| !finite(*b)) {
                Some(i) => Err(format!(
                    "shock.bp_by_month[{i}]: must be finite and within ±5000 bp"
                )),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Shift (annual decimal, 100 bp = 0.01) of each month `1..=horizon`.
    pub fn monthly_shifts(&self, horizon: u32) -> Vec<f64> {
        (1..=horizon)
            .map(|t| {
                let bp = match self {
                    RateShock::Parallel { bp } => *bp,
                    RateShock::Ramp { bp, months } => bp * (t.min(*months) as f64) / *months as f64,
                    RateShock::Path { bp_by_month } => {
                        let i = (t as usize - 1).min(bp_by_month.len() - 1);
                        bp_by_month[i]
                    }
                };
                bp / 10_000.0
            })
            .collect()
    }

    /// The largest shift over the horizon, in absolute value with its sign: the state
    /// at which the payment shock is measured.
    pub fn peak_shift(&self, horizon: u32) -> f64 {
        self.monthly_shifts(horizon)
            .into_iter()
            .fold(0.0, |acc: f64, s| if s.abs() > acc.abs() { s } else { acc })
    }
}
