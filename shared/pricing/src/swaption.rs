//! European swaptions on the annuity measure.
//!
//! With A the fixed-leg annuity, F the forward par swap rate and T the expiry:
//! - Black (lognormal forward; Black, "The pricing of commodity contracts", JFE 3, 1976):
//!   payer = A·[F N(d₁) − K N(d₂)], d₁,₂ = (ln(F/K) ± ½σ²T)/(σ√T);
//! - Bachelier (normal forward; Bachelier 1900, in swaption form e.g. Andersen &
//!   Piterbarg, "Interest Rate Modeling", vol. I, §7.2): payer = A·[(F − K)N(d) + σ√T φ(d)],
//!   d = (F − K)/(σ√T), σ in rate units per √year;
//! - receivers by the ω = −1 forms (put–call parity: payer − receiver = A·(F − K)).
//!
//! [`collar`] is the liability hedger's rate collar: long a receiver at `floor_strike`
//! (pays when rates fall below it, as liabilities grow), short a payer at `cap_strike`
//! (gives away gains above it), typically struck for zero premium.
//!
//! Physical settlement is assumed (the annuity is the swap's); σ√T ≤ 0 gives the
//! discounted intrinsic value A·max(ω(F − K), 0). Plain `fn`s, allocation-free.

use crate::curve::DiscountCurve;
use crate::math::{norm_cdf, norm_pdf};
use crate::swap::{FixedLegSchedule, SwapDirection};
use crate::{invalid, PricingError};

/// Black (lognormal) swaption value: `annuity` × Black(F, K, σ, T), ω = +1 payer.
#[inline]
pub fn black(
    direction: SwapDirection,
    forward: f64,
    strike: f64,
    vol: f64,
    expiry: f64,
    annuity: f64,
) -> f64 {
    let w = direction.sign();
    let sd = vol * expiry.max(0.0).sqrt();
    if sd.is_nan() || sd <= 0.0 || forward <= 0.0 || strike <= 0.0 {
        return annuity * (w * (forward - strike)).max(0.0);
    }
    let d1 = (forward / strike).ln() / sd + 0.5 * sd;
    let d2 = d1 - sd;
    annuity * w * (forward * norm_cdf(w * d1) - strike * norm_cdf(w * d2))
}

/// Bachelier (normal) swaption value; `normal_vol` in rate units per √year.
#[inline]
pub fn bachelier(
    direction: SwapDirection,
    forward: f64,
    strike: f64,
    normal_vol: f64,
    expiry: f64,
    annuity: f64,
) -> f64 {
    let w = direction.sign();
    let sd = normal_vol * expiry.max(0.0).sqrt();
    let intrinsic = w * (forward - strike);
    if sd.is_nan() || sd <= 0.0 {
        return annuity * intrinsic.max(0.0);
    }
    let d = intrinsic / sd;
    annuity * (intrinsic * norm_cdf(d) + sd * norm_pdf(d))
}

/// Swaption model and its volatility.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SwaptionVol {
    /// Lognormal σ (decimal, e.g. 0.20).
    Black(f64),
    /// Normal σ (rate units per √year, e.g. 0.0080 = 80 bp).
    Bachelier(f64),
}

/// Value of a swaption under either model.
#[inline]
pub fn value(
    direction: SwapDirection,
    forward: f64,
    strike: f64,
    vol: SwaptionVol,
    expiry: f64,
    annuity: f64,
) -> f64 {
    match vol {
        SwaptionVol::Black(s) => black(direction, forward, strike, s, expiry, annuity),
        SwaptionVol::Bachelier(s) => bachelier(direction, forward, strike, s, expiry, annuity),
    }
}

/// Liability hedger's collar: long receiver at `floor_strike`, short payer at
/// `cap_strike` (each at its own smile vol, same model).
#[inline]
pub fn collar(
    forward: f64,
    floor_strike: f64,
    floor_vol: SwaptionVol,
    cap_strike: f64,
    cap_vol: SwaptionVol,
    expiry: f64,
    annuity: f64,
) -> f64 {
    value(
        SwapDirection::Receiver,
        forward,
        floor_strike,
        floor_vol,
        expiry,
        annuity,
    ) - value(
        SwapDirection::Payer,
        forward,
        cap_strike,
        cap_vol,
        expiry,
        annuity,
    )
}

/// A physically settled swaption on the swap whose fixed leg is `leg`, priced off
/// `curve`: the forward par rate and annuity of that leg (single curve, at-par floating
/// coupons), then [`value`]. Per unit notional.
#[inline]
pub fn on_curve(
    direction: SwapDirection,
    leg: &FixedLegSchedule,
    strike: f64,
    vol: SwaptionVol,
    expiry: f64,
    curve: &impl DiscountCurve,
) -> f64 {
    let annuity = leg.annuity(curve);
    value(
        direction,
        leg.floating_leg(curve) / annuity,
        strike,
        vol,
        expiry,
        annuity,
    )
}

/// Validates swaption inputs once, where a position is built (the pricing functions
/// above do not, to stay branch-light in the revaluation loop).
pub fn check_inputs(strike: f64, vol: SwaptionVol, expiry: f64) -> Result<(), PricingError> {
    if !strike.is_finite() {
        return Err(invalid("strike", "must be finite"));
    }
    let (SwaptionVol::Black(s) | SwaptionVol::Bachelier(s)) = vol;
    if !(s.is_finite() && s >= 0.0) {
        return Err(invalid("vol", "must be finite and ≥ 0"));
    }
    if matches!(vol, SwaptionVol::Black(_)) && strike <= 0.0 {
        return Err(invalid(
            "strike",
            "a lognormal (Black) swaption needs a positive strike",
        ));
    }
    if !(expiry.is_finite() && expiry >= 0.0) {
        return Err(invalid("expiry", "must be finite and ≥ 0 years"));
    }
    Ok(())
}
