//! Index CDS (CDX / iTraxx style) as an equally weighted portfolio of single-name CDS
//! sharing one premium schedule and coupon (O'Kane, "Modelling Single-name and
//! Multi-name Credit Derivatives", Wiley 2008, ch. 10).
//!
//! - Intrinsic value: the average of the constituents' legs, each on its own hazard
//!   curve and recovery. The intrinsic spread is Σ protectionᵢ / Σ RPV01ᵢ — the
//!   RPV01-weighted average of the names' par spreads, not their plain average.
//! - Flat-spread convention (how index trades are quoted and settled): one flat hazard
//!   rate, with the index recovery, is solved so that a single-name CDS on the index
//!   schedule has the quoted spread as its par spread; the upfront for the fixed coupon
//!   is protection − coupon·RPV01 on that flat curve.
//! - Index basis = quoted spread − intrinsic spread.

use crate::cds::{check_recovery, midpoint_legs, CdsLegs, HazardCurve, PremiumSchedule};
use crate::curve::DiscountCurve;
use crate::{invalid, math::brent, PricingError};

/// One index constituent (equal weight).
#[derive(Debug, Clone, PartialEq)]
pub struct Constituent {
    pub hazard: HazardCurve,
    pub recovery: f64,
}

/// Intrinsic legs of the index per unit index notional: the average of the names' legs.
pub fn intrinsic_legs(
    schedule: &PremiumSchedule,
    names: &[Constituent],
    discount: &impl DiscountCurve,
) -> Result<CdsLegs, PricingError> {
    if names.is_empty() {
        return Err(invalid("names", "an index needs at least one constituent"));
    }
    let (mut protection, mut rpv01) = (0.0, 0.0);
    for name in names {
        check_recovery(name.recovery)?;
        let legs = midpoint_legs(schedule, name.recovery, &name.hazard, discount);
        protection += legs.protection;
        rpv01 += legs.rpv01;
    }
    let n = names.len() as f64;
    Ok(CdsLegs {
        protection: protection / n,
        rpv01: rpv01 / n,
    })
}

/// Legs under the flat-spread quoting convention for `quoted_spread`.
pub fn flat_spread_legs(
    schedule: &PremiumSchedule,
    quoted_spread: f64,
    recovery: f64,
    discount: &impl DiscountCurve,
) -> Result<CdsLegs, PricingError> {
    check_recovery(recovery)?;
    if !(quoted_spread > 0.0 && quoted_spread.is_finite()) {
        return Err(invalid("quoted_spread", "must be positive and finite"));
    }
    let legs_at = |h: f64| {
        let curve = HazardCurve::flat(h).expect("non-negative finite hazard");
        midpoint_legs(schedule, recovery, &curve, discount)
    };
    let h = brent(
        |h| {
            let l = legs_at(h);
            l.protection - quoted_spread * l.rpv01
        },
        0.0,
        50.0,
        1e-15,
    )
    .ok_or_else(|| PricingError::NoSolution {
        what: "flat index hazard",
        reason: format!("no hazard rate gives a par spread of {quoted_spread}"),
    })?;
    Ok(legs_at(h))
}

/// Index basis: quoted spread minus the intrinsic spread of the constituents.
pub fn index_basis(
    schedule: &PremiumSchedule,
    quoted_spread: f64,
    names: &[Constituent],
    discount: &impl DiscountCurve,
) -> Result<f64, PricingError> {
    Ok(quoted_spread - intrinsic_legs(schedule, names, discount)?.fair_spread())
}
