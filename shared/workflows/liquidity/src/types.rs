//! The liquidity workflow's vocabulary: what a position, the fund, an investor, a
//! stress scenario and a day of a cascade are. Amounts are in the fund's base currency;
//! fractions are of one (0.05 = 5%); spreads are full bid-ask spreads in basis points.

use serde::{Deserialize, Serialize};

/// Liquidity class of a holding: picks the stress behaviour of its market and, where the
/// holder gives no market data, the documented default depth, spread and volatility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Cash,
    /// Money-market funds, T-bills: settle T+0/T+1 at par.
    CashEquivalent,
    /// Government bonds, short maturities (< 3 years).
    ShortSovereign,
    Sovereign,
    EquityLarge,
    EquityMid,
    EquitySmall,
    EquityEm,
    CreditIg,
    CreditHy,
    EmDebt,
    /// Private equity, real estate, hedge-fund interests: sold, if at all, after long
    /// notice and at a discount.
    Alternatives,
}

/// SEC rule 22e-4 liquidity classification (17 CFR 270.22e-4(b)(1)(ii)): the number of
/// days in which the position could be converted to cash (or, for less liquid,
/// sold) in current market conditions without significantly changing its market value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidityBucket {
    /// Convertible to cash in 3 business days or less.
    HighlyLiquid,
    /// Convertible to cash in more than 3 but at most 7 calendar days.
    ModeratelyLiquid,
    /// Sellable in 7 calendar days or less, but settlement takes longer.
    LessLiquid,
    /// Not sellable in 7 calendar days without significantly changing its value.
    Illiquid,
}

/// One holding as the liquidity engines see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    pub id: String,
    pub asset_class: AssetClass,
    /// Market value today, base currency.
    pub market_value: f64,
    /// Average daily traded volume of the instrument, base currency per day (market-wide,
    /// not the fund's share). `f64::INFINITY` for cash.
    pub adv: f64,
    /// Full bid-ask spread in normal markets, basis points of price.
    pub spread_bps: f64,
    /// Daily price volatility (fraction), for square-root impact.
    pub daily_vol: f64,
    /// Business days from trade to cash (T+n).
    pub settlement_days: u32,
}

/// A day's market-liquidity stress applied to every holding of a class: the scenario's
/// state on that day (the cascade may deepen it through the fund's own sales).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarketStress {
    /// Share of normal depth (the volume impact is measured against) that disappears,
    /// below 1. Negative for a safe haven in a flight to quality: depth grows.
    pub depth_reduction: f64,
    /// Multiplier on the normal bid-ask spread, ≥ 1.
    pub spread_multiplier: f64,
    /// Share of normal daily volume (what the fund can take part in, so how fast it
    /// can sell) that disappears, below 1; negative for a safe haven.
    pub volume_reduction: f64,
    /// Multiplier on daily volatility, ≥ 1.
    pub vol_multiplier: f64,
}

impl MarketStress {
    pub const NONE: MarketStress = MarketStress {
        depth_reduction: 0.0,
        spread_multiplier: 1.0,
        volume_reduction: 0.0,
        vol_multiplier: 1.0,
    };
}

/// How a fund raises cash for redemptions beyond its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidationStrategy {
    /// Most liquid first (cash equivalents → short sovereigns → liquid equities → liquid
    /// credit → less liquid equities → less liquid credit → illiquid): cheapest now,
    /// leaves remaining investors a less liquid fund (ESMA 2020 guidelines, §29).
    Waterfall,
    /// Pro-rata ("vertical slice"): every holding in proportion; keeps the fund's
    /// profile, costs more now.
    Slice,
    /// Slice within the liquid layers, waterfall across them: the liquid part of the
    /// fund is sold pro rata, less liquid holdings only once it is used up.
    Hybrid,
}

/// Severity of a stress, calibrated per dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Moderate,
    Severe,
    Extreme,
}
