//! FX forwards and options.
//!
//! Quotes are domestic currency per unit of foreign currency (EURUSD 1.10: USD per EUR,
//! domestic USD); `r_d`, `r_f` are continuously compounded domestic and foreign rates.
//!
//! - Forward by covered interest parity: F = S·e^{(r_d − r_f)T}.
//! - Options: Garman & Kohlhagen, "Foreign Currency Option Values", Journal of
//!   International Money and Finance 2(3), 1983 — Black–Scholes with the foreign rate as
//!   a continuous dividend yield: C = S e^{−r_f T} N(d₁) − K e^{−r_d T} N(d₂).
//!   Delta is the spot delta (∂V/∂S, foreign-discounted), vega is ∂V/∂σ per unit of σ.
//!
//! Structures are read from the seat of a hedger who owns foreign-currency assets and is
//! hurt when the foreign currency falls (a USD pension holding EUR bonds):
//! - [`forward_hedge`]: sell foreign forward at K, worth (K − F)e^{−r_d T};
//! - [`risk_reversal`]: long an OTM put (K_put < F), short an OTM call (K_call > F) — the
//!   zero-cost collar; floor at K_put, upside given away above K_call;
//! - [`seagull`]: long put at K_put, short a lower put at K_low (the put spread stops
//!   paying below K_low) and short a call at K_call, which finances the spread.
//!
//! Every function here is a plain `fn` on `f64`, allocation-free and panic-free: they sit
//! in the Monte Carlo revaluation loop. A zero or negative σ√T is priced as the
//! discounted intrinsic value of the forward (the σ → 0 limit).

use crate::math::{norm_cdf, norm_pdf};
use crate::{invalid, OptionKind, PricingError};

/// Price and first-order sensitivities of an FX position, per unit of foreign notional.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FxGreeks {
    /// Present value, domestic currency.
    pub price: f64,
    /// ∂price/∂spot.
    pub delta: f64,
    /// ∂price/∂σ (per 1.00 of volatility; divide by 100 for per vol point).
    pub vega: f64,
}

impl std::ops::Add for FxGreeks {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        FxGreeks {
            price: self.price + o.price,
            delta: self.delta + o.delta,
            vega: self.vega + o.vega,
        }
    }
}

impl std::ops::Sub for FxGreeks {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        FxGreeks {
            price: self.price - o.price,
            delta: self.delta - o.delta,
            vega: self.vega - o.vega,
        }
    }
}

/// Outright forward rate by covered interest parity, F = S·e^{(r_d − r_f)T}.
#[inline]
pub fn forward_rate(spot: f64, r_d: f64, r_f: f64, t: f64) -> f64 {
    spot * ((r_d - r_f) * t).exp()
}

/// Garman–Kohlhagen price, spot delta and vega of a European FX option.
#[inline]
pub fn garman_kohlhagen(
    kind: OptionKind,
    spot: f64,
    strike: f64,
    r_d: f64,
    r_f: f64,
    vol: f64,
    t: f64,
) -> FxGreeks {
    let w = kind.sign();
    let df_d = (-r_d * t).exp();
    let df_f = (-r_f * t).exp();
    let sd = vol * t.max(0.0).sqrt();
    if sd.is_nan() || sd <= 0.0 || strike <= 0.0 || spot <= 0.0 {
        // σ√T → 0: the option is the discounted intrinsic value of the forward.
        let fwd_pv = spot * df_f;
        let k_pv = strike * df_d;
        let in_the_money = w * (fwd_pv - k_pv) > 0.0;
        return if in_the_money {
            FxGreeks {
                price: w * (fwd_pv - k_pv),
                delta: w * df_f,
                vega: 0.0,
            }
        } else {
            FxGreeks::default()
        };
    }
    let d1 = ((spot / strike).ln() + (r_d - r_f) * t) / sd + 0.5 * sd;
    let d2 = d1 - sd;
    let nd1 = norm_cdf(w * d1);
    let nd2 = norm_cdf(w * d2);
    FxGreeks {
        price: w * (spot * df_f * nd1 - strike * df_d * nd2),
        delta: w * df_f * nd1,
        vega: spot * df_f * norm_pdf(d1) * t.sqrt(),
    }
}

/// Garman–Kohlhagen price only.
#[inline]
pub fn gk_price(
    kind: OptionKind,
    spot: f64,
    strike: f64,
    r_d: f64,
    r_f: f64,
    vol: f64,
    t: f64,
) -> f64 {
    garman_kohlhagen(kind, spot, strike, r_d, r_f, vol, t).price
}

/// Value of selling one unit of foreign currency forward at `strike` (domestic per
/// foreign) for delivery at `t`: (K − F)·e^{−r_d T}. Positive when the foreign currency
/// has fallen below the contracted rate.
#[inline]
pub fn forward_hedge(spot: f64, strike: f64, r_d: f64, r_f: f64, t: f64) -> FxGreeks {
    let df_d = (-r_d * t).exp();
    FxGreeks {
        price: (strike - forward_rate(spot, r_d, r_f, t)) * df_d,
        delta: -(-r_f * t).exp(),
        vega: 0.0,
    }
}

/// Hedger's risk reversal (zero-cost collar on a foreign-currency asset): long a put at
/// `put_strike`, short a call at `call_strike`, each at its own (smile) volatility.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn risk_reversal(
    spot: f64,
    put_strike: f64,
    call_strike: f64,
    r_d: f64,
    r_f: f64,
    put_vol: f64,
    call_vol: f64,
    t: f64,
) -> FxGreeks {
    garman_kohlhagen(OptionKind::Put, spot, put_strike, r_d, r_f, put_vol, t)
        - garman_kohlhagen(OptionKind::Call, spot, call_strike, r_d, r_f, call_vol, t)
}

/// Strikes and smile volatilities of a seagull: `low_put_strike < put_strike < call_strike`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeagullLegs {
    pub low_put_strike: f64,
    pub low_put_vol: f64,
    pub put_strike: f64,
    pub put_vol: f64,
    pub call_strike: f64,
    pub call_vol: f64,
}

/// Hedger's seagull: long put spread (long put at `put_strike`, short put at
/// `low_put_strike`) financed by a short call at `call_strike`.
#[inline]
pub fn seagull(spot: f64, legs: &SeagullLegs, r_d: f64, r_f: f64, t: f64) -> FxGreeks {
    garman_kohlhagen(
        OptionKind::Put,
        spot,
        legs.put_strike,
        r_d,
        r_f,
        legs.put_vol,
        t,
    ) - garman_kohlhagen(
        OptionKind::Put,
        spot,
        legs.low_put_strike,
        r_d,
        r_f,
        legs.low_put_vol,
        t,
    ) - garman_kohlhagen(
        OptionKind::Call,
        spot,
        legs.call_strike,
        r_d,
        r_f,
        legs.call_vol,
        t,
    )
}

/// Validates option inputs once, where a position is built (the pricing functions above
/// do not, to stay branch-light in the revaluation loop).
pub fn check_inputs(spot: f64, strike: f64, vol: f64, expiry: f64) -> Result<(), PricingError> {
    if !(spot.is_finite() && spot > 0.0) {
        return Err(invalid(
            "spot",
            "must be positive and finite (domestic per foreign)",
        ));
    }
    if !(strike.is_finite() && strike > 0.0) {
        return Err(invalid("strike", "must be positive and finite"));
    }
    if !(vol.is_finite() && vol >= 0.0) {
        return Err(invalid("vol", "must be finite and ≥ 0"));
    }
    if !(expiry.is_finite() && expiry >= 0.0) {
        return Err(invalid("expiry", "must be finite and ≥ 0 years"));
    }
    Ok(())
}
