//! Pure instrument maths for the hedging workflow (and any other that needs it): no I/O,
//! no serde in the pricing paths, every pricer checked against a published value.
//!
//! Conventions used throughout (units are part of the API):
//! - rates, yields, spreads, hazard rates and volatilities are decimals (`0.05` = 5%,
//!   `0.012` = 120 bp); a normal (Bachelier) volatility is in rate units per √year
//!   (`0.0080` = 80 bp/√y);
//! - times are year fractions from the valuation date, on whatever day count the caller
//!   used to build them (one time axis per valuation);
//! - values are per unit notional unless a function takes a notional;
//! - zero rates and hazard rates are continuously compounded.
//!
//! The hot-path functions (`fx::garman_kohlhagen`, the swaption formulas, curve look-ups)
//! take plain `f64`s, never allocate and never panic; they are called about 10⁶ times per
//! run in the Monte Carlo revaluation. Their inputs are validated once, where the
//! instrument is built (`…::new` and `check_inputs` returning [`PricingError`]).
//!
//! ```
//! use stresslab_pricing::{fx, swaption, swap::{FixedLegSchedule, SwapDirection}};
//! use stresslab_pricing::{OptionKind, ZeroCurve};
//!
//! // EUR put / USD call protecting a USD investor's EUR assets (spot USD per EUR).
//! let put = fx::garman_kohlhagen(OptionKind::Put, 1.10, 1.05, 0.045, 0.03, 0.09, 1.0);
//! assert!(put.price > 0.0 && put.delta < 0.0);
//!
//! // 5y into 10y receiver swaption off a flat 4% curve, normal vol 90 bp.
//! let curve = ZeroCurve::flat(0.04).unwrap();
//! let leg = FixedLegSchedule::regular(5.0, 15.0, 1).unwrap();
//! let v = swaption::on_curve(SwapDirection::Receiver, &leg, 0.035,
//!                            swaption::SwaptionVol::Bachelier(0.009), 5.0, &curve);
//! assert!(v > 0.0);
//! ```

pub mod bond;
pub mod cds;
pub mod curve;
pub mod fx;
pub mod index_cds;
mod math;
pub mod swap;
pub mod swaption;
pub mod tranche;

pub use curve::{BumpedCurve, CurveBump, DiscountCurve, ZeroCurve};

/// Bad input to a pricer or a calibration: the field and the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum PricingError {
    /// An input is outside its domain (negative time, recovery above one, …).
    InvalidInput { field: &'static str, reason: String },
    /// A calibration (bootstrap, implied yield) found no solution.
    NoSolution { what: &'static str, reason: String },
}

// Written out rather than derived with thiserror: one small enum does not justify a
// dependency (and a Cargo.lock change) for this crate.
impl std::fmt::Display for PricingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PricingError::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            PricingError::NoSolution { what, reason } => {
                write!(f, "{what} did not converge: {reason}")
            }
        }
    }
}

impl std::error::Error for PricingError {}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> PricingError {
    PricingError::InvalidInput {
        field,
        reason: reason.into(),
    }
}

/// Option right: the holder may buy (call) or sell (put) the underlying at the strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionKind {
    Call,
    Put,
}

impl OptionKind {
    /// +1 for a call, −1 for a put: the ω in ω(F·N(ωd₁) − K·N(ωd₂)).
    #[inline]
    pub fn sign(self) -> f64 {
        match self {
            OptionKind::Call => 1.0,
            OptionKind::Put => -1.0,
        }
    }
}
