//! The portfolio's liquidity profile, in normal and stressed markets: the liquidation
//! ladder (share of NAV sold and settled within 1–30 days at 10–50% of ADV, and what it
//! costs), the SEC rule 22e-4 bucket and a 1–5 score per holding, the fund's share in
//! each bucket and its limit checks.
//!
//! Every function takes a [`MarketStress`], so one code path serves the normal market
//! ([`MarketStress::NONE`]) and every stressed one. How a stress reaches a holding's
//! market (see [`stressed_market`]): volume reduction cuts the ADV the fund may
//! participate in (how fast it can sell); depth reduction cuts the volume an order's
//! impact is measured against (how much the price gives); spread and volatility are
//! multiplied. The numerics live in `stresslab_analytics::liquidity`; this module only
//! applies them to holdings. Everything is O(holdings) (× the fixed ladder grid).
//!
//! Where a holding lacks market data, [`HoldingInput::complete`] fills it from the
//! documented per-class defaults ([`class_defaults`]) and records which fields it filled.

use std::fmt;

use serde::{Deserialize, Serialize};
use stresslab_analytics::liquidity::{self as lq, ImpactModel, Market};
use stresslab_analytics::AnalyticsError;

use crate::types::{AssetClass, Holding, LiquidityBucket, MarketStress};

/// Why a profile could not be computed; names the holding and field at fault.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileError {
    /// A holding's field is missing, negative, NaN, …
    Holding {
        id: String,
        field: &'static str,
        reason: String,
    },
    /// A `MarketStress` field is out of range.
    Stress { field: &'static str, reason: String },
    /// A policy or ladder parameter is out of range.
    Parameter { field: &'static str, reason: String },
    /// The book has no value to profile (no holdings, or all worth zero).
    EmptyBook,
    /// The numerics refused a holding's market (should not happen after validation).
    Analytics { id: String, source: AnalyticsError },
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Holding { id, field, reason } => write!(f, "holding {id}: {field} {reason}"),
            Self::Stress { field, reason } => write!(f, "market stress: {field} {reason}"),
            Self::Parameter { field, reason } => write!(f, "{field} {reason}"),
            Self::EmptyBook => write!(f, "the book has no holdings with a market value"),
            Self::Analytics { id, source } => write!(f, "holding {id}: {source}"),
        }
    }
}

impl std::error::Error for ProfileError {}

// ---------------------------------------------------------------------------------
// Default market parameters per asset class
// ---------------------------------------------------------------------------------

/// Where a default ADV comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAdv {
    /// Any size trades at once (cash, money-market shares redeemed at par).
    Unlimited,
    /// No secondary market: sold, if at all, by redemption after notice (ADV = 0).
    NoMarket,
    /// ADV = `daily_turnover` × the issue's outstanding amount. Without the outstanding
    /// amount, it is estimated as `market_value / position_share_of_issue`.
    Turnover {
        /// Share of the issue outstanding traded on an average day.
        daily_turnover: f64,
        /// The fund's position as a share of the issue, when the issue size is unknown.
        position_share_of_issue: f64,
    },
}

/// Market parameters used where a holding gives none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassDefaults {
    pub adv: DefaultAdv,
    /// Full bid-ask spread in normal markets, bp.
    pub spread_bps: f64,
    /// Daily price volatility, fraction.
    pub daily_vol: f64,
    /// Business days from trade to cash.
    pub settlement_days: u32,
}

/// Cash: already cash.
pub const CASH_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Unlimited,
    spread_bps: 0.0,
    daily_vol: 0.0,
    settlement_days: 0,
};

/// Money-market shares and T-bills. **Assumptions:** redeemed or sold at par in any size
/// (unlimited ADV), 1 bp spread (T-bill quotes are a fraction of a bp wide), 0.01%/day
/// volatility, settlement T+1 (the prudent end of T+0/T+1).
pub const CASH_EQUIVALENT_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Unlimited,
    spread_bps: 1.0,
    daily_vol: 0.0001,
    settlement_days: 1,
};

/// Short government bonds (< 3 years). Settlement T+1 (US Treasury market convention).
/// **Assumptions:** 2%/day turnover (the deepest bond market), position 0.4% of the
/// issue, 2 bp spread, 0.1%/day volatility (duration ≈ 1.9 × ≈ 5 bp daily yield moves).
pub const SHORT_SOVEREIGN_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.02,
        position_share_of_issue: 0.004,
    },
    spread_bps: 2.0,
    daily_vol: 0.001,
    settlement_days: 1,
};

/// Government bonds. Settlement T+1 (US Treasury convention). **Assumptions:** 1%/day
/// turnover, position 0.4% of the issue, 3 bp spread, 0.5%/day volatility (duration
/// ≈ 8 × ≈ 6 bp daily yield moves).
pub const SOVEREIGN_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.01,
        position_share_of_issue: 0.004,
    },
    spread_bps: 3.0,
    daily_vol: 0.005,
    settlement_days: 1,
};

/// Large-cap equities. Settlement T+1 (17 CFR 240.15c6-1 as amended in 2023, in force
/// 28 May 2024). Volatility 1.83%/day: the median daily-return standard deviation of the
/// 20 large US stocks in `sp500_20_stocks_daily_1990_2022.csv`, 1999–2018 (computed with
/// pandas). **Assumptions:** 0.4%/day turnover (≈ 100% a year), position 0.05% of the
/// company, 3 bp spread (the middle of the usual 2–5 bp).
pub const EQUITY_LARGE_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.004,
        position_share_of_issue: 0.0005,
    },
    spread_bps: 3.0,
    daily_vol: 0.0183,
    settlement_days: 1,
};

/// Mid-cap equities. Settlement T+1 (as large caps). **Assumptions:** 0.5%/day turnover,
/// position 0.2% of the company, 10 bp spread, 2.2%/day volatility.
pub const EQUITY_MID_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.005,
        position_share_of_issue: 0.002,
    },
    spread_bps: 10.0,
    daily_vol: 0.022,
    settlement_days: 1,
};

/// Small-cap equities. Settlement T+1. **Assumptions:** 0.4%/day turnover, position
/// 0.5% of the company, 35 bp spread (the middle of 20–50 bp), 3%/day volatility.
pub const EQUITY_SMALL_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.004,
        position_share_of_issue: 0.005,
    },
    spread_bps: 35.0,
    daily_vol: 0.03,
    settlement_days: 1,
};

/// Emerging-market equities. Settlement T+2 (the convention of most EM exchanges).
/// **Assumptions:** 0.4%/day turnover, position 0.2% of the company, 20 bp spread,
/// 2%/day volatility.
pub const EQUITY_EM_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.004,
        position_share_of_issue: 0.002,
    },
    spread_bps: 20.0,
    daily_vol: 0.02,
    settlement_days: 2,
};

/// Investment-grade corporate bonds. Settlement T+1 (US corporate bonds fall under
/// 15c6-1). **Assumptions:** 0.4%/day turnover of the issue, position 0.25% of the
/// issue, 20 bp spread (the middle of 10–30 bp), 0.4%/day volatility.
pub const CREDIT_IG_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.004,
        position_share_of_issue: 0.0025,
    },
    spread_bps: 20.0,
    daily_vol: 0.004,
    settlement_days: 1,
};

/// High-yield corporate bonds. Settlement T+1. **Assumptions:** 0.5%/day turnover,
/// position 0.5% of the issue, 75 bp spread (the middle of 50–100 bp), 0.6%/day
/// volatility.
pub const CREDIT_HY_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.005,
        position_share_of_issue: 0.005,
    },
    spread_bps: 75.0,
    daily_vol: 0.006,
    settlement_days: 1,
};

/// Emerging-market debt (hard currency). Settlement T+2 (Euroclear/Clearstream
/// convention for Eurobonds). **Assumptions:** 0.3%/day turnover, position 0.25% of the
/// issue, 100 bp spread (the middle of 50–150 bp), 0.7%/day volatility.
pub const EM_DEBT_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::Turnover {
        daily_turnover: 0.003,
        position_share_of_issue: 0.0025,
    },
    spread_bps: 100.0,
    daily_vol: 0.007,
    settlement_days: 2,
};

/// Alternatives (private equity, real estate, hedge-fund interests): no secondary market
/// to participate in. **Assumptions:** cash 90 days after a redemption notice
/// (quarterly dealing with a quarter's notice); spread and volatility unused (0).
pub const ALTERNATIVES_DEFAULTS: ClassDefaults = ClassDefaults {
    adv: DefaultAdv::NoMarket,
    spread_bps: 0.0,
    daily_vol: 0.0,
    settlement_days: 90,
};

/// The default market parameters of an asset class.
pub const fn class_defaults(class: AssetClass) -> ClassDefaults {
    match class {
        AssetClass::Cash => CASH_DEFAULTS,
        AssetClass::CashEquivalent => CASH_EQUIVALENT_DEFAULTS,
        AssetClass::ShortSovereign => SHORT_SOVEREIGN_DEFAULTS,
        AssetClass::Sovereign => SOVEREIGN_DEFAULTS,
        AssetClass::EquityLarge => EQUITY_LARGE_DEFAULTS,
        AssetClass::EquityMid => EQUITY_MID_DEFAULTS,
        AssetClass::EquitySmall => EQUITY_SMALL_DEFAULTS,
        AssetClass::EquityEm => EQUITY_EM_DEFAULTS,
        AssetClass::CreditIg => CREDIT_IG_DEFAULTS,
        AssetClass::CreditHy => CREDIT_HY_DEFAULTS,
        AssetClass::EmDebt => EM_DEBT_DEFAULTS,
        AssetClass::Alternatives => ALTERNATIVES_DEFAULTS,
    }
}

/// A holding as supplied: market fields optional, filled from [`class_defaults`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldingInput {
    pub id: String,
    pub asset_class: AssetClass,
    pub market_value: f64,
    #[serde(default)]
    pub adv: Option<f64>,
    #[serde(default)]
    pub spread_bps: Option<f64>,
    #[serde(default)]
    pub daily_vol: Option<f64>,
    #[serde(default)]
    pub settlement_days: Option<u32>,
    /// Amount of the issue outstanding (currency), for a turnover-based default ADV.
    #[serde(default)]
    pub issue_outstanding: Option<f64>,
}

/// A holding ready for the engines, and which of its fields came from defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletedHolding {
    pub holding: Holding,
    /// Names of the fields filled from the class defaults (for the report's caveats).
    pub defaulted: Vec<&'static str>,
}

impl HoldingInput {
    /// Fills missing market fields from the class defaults and validates the result.
    pub fn complete(&self) -> Result<CompletedHolding, ProfileError> {
        let d = class_defaults(self.asset_class);
        let mut defaulted = Vec::new();
        let adv = match self.adv {
            Some(v) => v,
            None => {
                defaulted.push("adv");
                match d.adv {
                    DefaultAdv::Unlimited => f64::INFINITY,
                    DefaultAdv::NoMarket => 0.0,
                    DefaultAdv::Turnover {
                        daily_turnover,
                        position_share_of_issue,
                    } => match self.issue_outstanding {
                        Some(out) if out.is_finite() && out >= 0.0 => daily_turnover * out,
                        Some(out) => {
                            return Err(self.bad(
                                "issue_outstanding",
                                out,
                                "must be finite and ≥ 0",
                            ))
                        }
                        None => daily_turnover * self.market_value / position_share_of_issue,
                    },
                }
            }
        };
        let mut pick = |given: Option<f64>, default: f64, name: &'static str| {
            given.unwrap_or_else(|| {
                defaulted.push(name);
                default
            })
        };
        let spread_bps = pick(self.spread_bps, d.spread_bps, "spread_bps");
        let daily_vol = pick(self.daily_vol, d.daily_vol, "daily_vol");
        let settlement_days = self.settlement_days.unwrap_or_else(|| {
            defaulted.push("settlement_days");
            d.settlement_days
        });
        let holding = Holding {
            id: self.id.clone(),
            asset_class: self.asset_class,
            market_value: self.market_value,
            adv,
            spread_bps,
            daily_vol,
            settlement_days,
        };
        validate_holding(&holding)?;
        Ok(CompletedHolding { holding, defaulted })
    }

    fn bad(&self, field: &'static str, value: f64, reason: &str) -> ProfileError {
        ProfileError::Holding {
            id: self.id.clone(),
            field,
            reason: format!("= {value}: {reason}"),
        }
    }
}

/// Checks a holding: market value finite and ≥ 0 (long positions), ADV ≥ 0 (∞ allowed),
/// spread and volatility finite and ≥ 0.
pub fn validate_holding(h: &Holding) -> Result<(), ProfileError> {
    let bad = |field: &'static str, value: f64, reason: &str| ProfileError::Holding {
        id: h.id.clone(),
        field,
        reason: format!("= {value}: {reason}"),
    };
    if !h.market_value.is_finite() || h.market_value < 0.0 {
        return Err(bad(
            "market_value",
            h.market_value,
            "must be finite and ≥ 0",
        ));
    }
    if h.adv.is_nan() || h.adv < 0.0 {
        return Err(bad(
            "adv",
            h.adv,
            "must be ≥ 0 (∞ for cash, 0 for no market)",
        ));
    }
    if !h.spread_bps.is_finite() || h.spread_bps < 0.0 {
        return Err(bad("spread_bps", h.spread_bps, "must be finite and ≥ 0"));
    }
    if !h.daily_vol.is_finite() || h.daily_vol < 0.0 {
        return Err(bad("daily_vol", h.daily_vol, "must be finite and ≥ 0"));
    }
    Ok(())
}

/// Checks a stress: reductions in [0, 1] (depth strictly below 1: with no depth at all
/// every sale would move the price without bound), multipliers finite and ≥ 1.
pub fn validate_stress(s: &MarketStress) -> Result<(), ProfileError> {
    let bad = |field: &'static str, value: f64, reason: &str| ProfileError::Stress {
        field,
        reason: format!("= {value}: {reason}"),
    };
    // Negative reductions are a safe haven's extra depth and volume in a flight to
    // quality (at most double the normal).
    if !(-1.0..1.0).contains(&s.depth_reduction) {
        return Err(bad(
            "depth_reduction",
            s.depth_reduction,
            "must be in [-1, 1)",
        ));
    }
    if !(-1.0..=1.0).contains(&s.volume_reduction) {
        return Err(bad(
            "volume_reduction",
            s.volume_reduction,
            "must be in [-1, 1]",
        ));
    }
    if !s.spread_multiplier.is_finite() || s.spread_multiplier < 1.0 {
        return Err(bad(
            "spread_multiplier",
            s.spread_multiplier,
            "must be finite and ≥ 1",
        ));
    }
    if !s.vol_multiplier.is_finite() || s.vol_multiplier < 1.0 {
        return Err(bad(
            "vol_multiplier",
            s.vol_multiplier,
            "must be finite and ≥ 1",
        ));
    }
    Ok(())
}

/// A holding's market under a stress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StressedMarket {
    /// ADV the fund may participate in: `adv · (1 − volume_reduction)`.
    pub volume: f64,
    /// What an order's impact meets: depth `adv · (1 − depth_reduction)`, volatility
    /// `daily_vol · vol_multiplier`, spread `spread_bps · spread_multiplier / 10⁴`.
    pub impact: Market,
}

/// Applies a (validated) stress to a (validated) holding's market.
pub fn stressed_market(h: &Holding, s: &MarketStress) -> StressedMarket {
    StressedMarket {
        volume: h.adv * (1.0 - s.volume_reduction),
        impact: Market {
            adv: h.adv * (1.0 - s.depth_reduction),
            daily_vol: h.daily_vol * s.vol_multiplier,
            spread: h.spread_bps * s.spread_multiplier * 1e-4,
        },
    }
}

/// Validates the book and stress; returns NAV (the sum of market values).
fn checked_nav(holdings: &[Holding], stress: &MarketStress) -> Result<f64, ProfileError> {
    validate_stress(stress)?;
    let mut nav = 0.0;
    for h in holdings {
        validate_holding(h)?;
        nav += h.market_value;
    }
    if nav > 0.0 {
        Ok(nav)
    } else {
        Err(ProfileError::EmptyBook)
    }
}

fn analytics_err(h: &Holding) -> impl Fn(AnalyticsError) -> ProfileError + '_ {
    |source| ProfileError::Analytics {
        id: h.id.clone(),
        source,
    }
}

fn check_model(model: &ImpactModel) -> Result<(), ProfileError> {
    model.validate().map_err(|e| ProfileError::Parameter {
        field: "impact_model",
        reason: e.to_string(),
    })
}

fn check_participation(field: &'static str, p: f64) -> Result<(), ProfileError> {
    if p.is_finite() && p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(ProfileError::Parameter {
            field,
            reason: format!("= {p}: must be in (0, 1] of ADV"),
        })
    }
}

// ---------------------------------------------------------------------------------
// Liquidation ladder
// ---------------------------------------------------------------------------------

/// The ladder's horizons, business days (issue 7).
pub const LADDER_HORIZONS: [u32; 6] = [1, 3, 5, 10, 20, 30];
/// The ladder's participation rates, share of (stressed) ADV (issue 7).
pub const LADDER_PARTICIPATIONS: [f64; 4] = [0.10, 0.20, 0.30, 0.50];

/// One rung of the ladder: selling every holding at `participation` of its ADV for
/// `horizon_days` sessions (today and the next `horizon_days − 1`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LadderCell {
    pub horizon_days: u32,
    pub participation: f64,
    /// Value sold, currency.
    pub sold: f64,
    /// Value sold as a share of NAV.
    pub sold_share: f64,
    /// Share of NAV whose sale proceeds have also settled within the horizon (sessions
    /// k = 0, 1, … whose T+n lands on or before day `horizon_days − 1`).
    pub settled_share: f64,
    /// Half spreads plus impact on every day's slice, currency.
    pub cost: f64,
    /// Cost as a share of the value sold (0 when nothing is sold).
    pub cost_share_of_sold: f64,
}

/// The liquidation ladder of a book under one market state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiquidityLadder {
    pub nav: f64,
    /// Horizon-major: all participations of the first horizon, then the next.
    pub cells: Vec<LadderCell>,
}

impl LiquidityLadder {
    /// The cell for a horizon and participation, if the ladder has it.
    pub fn cell(&self, horizon_days: u32, participation: f64) -> Option<&LadderCell> {
        self.cells
            .iter()
            .find(|c| c.horizon_days == horizon_days && c.participation == participation)
    }
}

/// The liquidation ladder: for each horizon `h` and participation `p`, each holding sells
/// `min(M, h · p · V')` (V' its stressed ADV) in daily slices of `p · V'`, paying the
/// stressed half spread and the model's impact on each slice
/// ([`lq::schedule_cost`]); its proceeds settle T+n. This is the "share of the
/// portfolio that can be liquidated within n days" of ESMA's liquidity stress-testing
/// guidelines (ESMA34-39-897, 2020, on asset-side liquidity) and the
/// days-to-liquidate measure behind SEC rule 22e-4; the participation cap is the usual
/// way to make "without significantly changing the price" concrete.
pub fn liquidity_ladder(
    holdings: &[Holding],
    stress: &MarketStress,
    model: &ImpactModel,
    horizons: &[u32],
    participations: &[f64],
) -> Result<LiquidityLadder, ProfileError> {
    let nav = checked_nav(holdings, stress)?;
    check_model(model)?;
    for &p in participations {
        check_participation("participation", p)?;
    }
    let mut cells = Vec::with_capacity(horizons.len() * participations.len());
    for &h in horizons {
        for &p in participations {
            let (mut sold, mut settled, mut cost) = (0.0, 0.0, 0.0);
            for hold in holdings {
                let m = stressed_market(hold, stress);
                let capacity = p * m.volume;
                let sale = lq::schedule_cost(hold.market_value, capacity, h, &m.impact, model)
                    .map_err(analytics_err(hold))?;
                sold += sale.sold;
                cost += sale.cost;
                let settled_sessions = h.saturating_sub(hold.settlement_days);
                if settled_sessions > 0 {
                    settled += hold
                        .market_value
                        .min(capacity * f64::from(settled_sessions));
                }
            }
            cells.push(LadderCell {
                horizon_days: h,
                participation: p,
                sold,
                sold_share: sold / nav,
                settled_share: settled / nav,
                cost,
                cost_share_of_sold: if sold > 0.0 { cost / sold } else { 0.0 },
            });
        }
    }
    Ok(LiquidityLadder { nav, cells })
}

// ---------------------------------------------------------------------------------
// SEC rule 22e-4 classification and the 1–5 score
// ---------------------------------------------------------------------------------

/// The fund's 22e-4 policy: how "without significantly changing the market value" is
/// made concrete, and the limits the classification is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rule22e4Policy {
    /// Most of a day's (stressed) ADV the fund sells in one day. Default 20%, an
    /// **assumption** (a common practitioner cap: above it a seller is the market).
    pub participation_cap: f64,
    /// Largest price impact of one day's sale that does not "significantly change"
    /// the market value. Default 1%, an **assumption**. The spread is not counted: it
    /// is a cost of trading, not a change in the price at which the holding is marked.
    pub max_daily_impact: f64,
    /// Illiquid-investment limit, share of net assets: 15% (17 CFR
    /// 270.22e-4(b)(1)(iv)).
    pub illiquid_limit: f64,
    /// Highly liquid investment minimum, share of net assets. The rule leaves its level
    /// to the fund (17 CFR 270.22e-4(b)(1)(iii)); default 10%, an illustrative
    /// **assumption** to be set per fund.
    pub highly_liquid_minimum: f64,
    /// Participation at which the 1–5 score's days to liquidate are measured (default
    /// 20%, the same cap).
    pub score_participation: f64,
}

impl Default for Rule22e4Policy {
    fn default() -> Self {
        Self {
            participation_cap: 0.20,
            max_daily_impact: 0.01,
            illiquid_limit: 0.15,
            highly_liquid_minimum: 0.10,
            score_participation: 0.20,
        }
    }
}

impl Rule22e4Policy {
    fn validate(&self) -> Result<(), ProfileError> {
        check_participation("participation_cap", self.participation_cap)?;
        check_participation("score_participation", self.score_participation)?;
        for (field, v) in [
            ("max_daily_impact", self.max_daily_impact),
            ("illiquid_limit", self.illiquid_limit),
            ("highly_liquid_minimum", self.highly_liquid_minimum),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(ProfileError::Parameter {
                    field,
                    reason: format!("= {v}: must be in [0, 1]"),
                });
            }
        }
        Ok(())
    }
}

/// Which cap sets the most the fund sells of a holding in a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DailySaleLimit {
    /// The participation cap.
    Participation,
    /// The impact threshold (it allows less than the participation cap).
    Impact,
}

/// Business days within which a bucket's test must be met, counting the trade date as
/// day 0 (a T+2 sale today is cash on day 2). The definitions of rule 22e-4(a): highly
/// liquid = cash in ≤ 3 business days; moderately = cash in ≤ 7 calendar days; less
/// liquid = *sold* in ≤ 7 calendar days. Seven calendar days are five business days
/// from any weekday (holidays ignored, an assumption).
pub const HIGHLY_LIQUID_BUSINESS_DAYS: u64 = 3;
/// Seven calendar days in business days (see [`HIGHLY_LIQUID_BUSINESS_DAYS`]).
pub const SEVEN_CALENDAR_DAYS_IN_BUSINESS_DAYS: u64 = 5;

/// One holding's 22e-4 classification and score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldingLiquidity {
    pub id: String,
    pub asset_class: AssetClass,
    pub market_value: f64,
    /// Share of NAV.
    pub weight: f64,
    /// Most the fund sells in a day under the policy (currency); `None` for unlimited.
    pub daily_sale_cap: Option<f64>,
    pub binding_limit: DailySaleLimit,
    /// Business day (trade date = 0) of the last sale; `None` if it never sells.
    pub last_sale_day: Option<u64>,
    /// Business day the last proceeds are cash; `None` if never.
    pub cash_day: Option<u64>,
    pub bucket: LiquidityBucket,
    /// Trading days to liquidate at the score participation (continuous); `None` = ∞.
    pub days_to_liquidate: Option<f64>,
    /// 1 (least) … 5 (most liquid), see [`liquidity_score`].
    pub score: u8,
}

/// The fund's share of net assets in each bucket.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BucketShares {
    pub highly_liquid: f64,
    pub moderately_liquid: f64,
    pub less_liquid: f64,
    pub illiquid: f64,
}

impl BucketShares {
    fn add(&mut self, bucket: LiquidityBucket, w: f64) {
        match bucket {
            LiquidityBucket::HighlyLiquid => self.highly_liquid += w,
            LiquidityBucket::ModeratelyLiquid => self.moderately_liquid += w,
            LiquidityBucket::LessLiquid => self.less_liquid += w,
            LiquidityBucket::Illiquid => self.illiquid += w,
        }
    }
}

/// The fund's 22e-4 picture under one market state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule22e4Assessment {
    pub nav: f64,
    pub holdings: Vec<HoldingLiquidity>,
    pub shares: BucketShares,
    /// Illiquid share above the 15% limit (the fund may buy no more illiquid
    /// investments and must report to its board, 22e-4(b)(1)(iv)).
    pub illiquid_limit_breached: bool,
    /// Highly liquid share below the fund's minimum (22e-4(b)(1)(iii)).
    pub highly_liquid_minimum_breached: bool,
    /// Value-weighted mean of the 1–5 scores.
    pub weighted_score: f64,
    pub policy: Rule22e4Policy,
}

/// The 1–5 liquidity score from trading days to liquidate at the score participation:
/// ≤ 1 day → 5; ≤ 3 (the highly-liquid window) → 4; ≤ 10 (two weeks) → 3; ≤ 30 (the
/// ladder's last rung, about a month) → 2; longer or never → 1. A house definition
/// (issue 7), stated here so the report can quote it.
pub fn liquidity_score(days_to_liquidate: f64) -> u8 {
    match days_to_liquidate {
        d if d <= 1.0 => 5,
        d if d <= 3.0 => 4,
        d if d <= 10.0 => 3,
        d if d <= 30.0 => 2,
        _ => 1,
    }
}

/// Tolerance when counting whole sessions, so 3.0000000001 days of rounding noise is
/// three sessions, not four.
const SESSION_TOLERANCE: f64 = 1e-9;

/// Classifies every holding into its SEC rule 22e-4 bucket (17 CFR 270.22e-4(b)(1)(ii))
/// and scores it, and checks the fund against its limits.
///
/// "Convertible to cash without significantly changing the market value" is made
/// concrete as: each day the fund sells at most `min(participation_cap · V',
/// Q_max)` of a holding, where V' is the stressed ADV and `Q_max` the largest sale
/// whose price impact ([`ImpactModel::max_size_for_impact`]) stays within
/// `max_daily_impact`. The whole position is the trade size (conservative: the rule
/// allows a "reasonably anticipated trade size"). Sales run on sessions 0, 1, …
/// (today = 0); the last needs `⌈M/q⌉ − 1` days and its cash `settlement_days` more.
/// Buckets: cash by day 3 → highly liquid; by day 5 (7 calendar days) → moderately;
/// sold by day 5 but cash later → less liquid; otherwise illiquid.
pub fn classify_22e4(
    holdings: &[Holding],
    stress: &MarketStress,
    model: &ImpactModel,
    policy: &Rule22e4Policy,
) -> Result<Rule22e4Assessment, ProfileError> {
    let nav = checked_nav(holdings, stress)?;
    check_model(model)?;
    policy.validate()?;
    let mut shares = BucketShares::default();
    let mut score_sum = 0.0;
    let mut out = Vec::with_capacity(holdings.len());
    for h in holdings {
        let m = stressed_market(h, stress);
        let by_participation = policy.participation_cap * m.volume;
        let by_impact = model
            .max_size_for_impact(policy.max_daily_impact, &m.impact)
            .map_err(analytics_err(h))?;
        let (cap, binding_limit) = if by_impact < by_participation {
            (by_impact, DailySaleLimit::Impact)
        } else {
            (by_participation, DailySaleLimit::Participation)
        };
        let sessions = sessions_needed(h.market_value, cap);
        let last_sale_day = sessions.map(|n| n.saturating_sub(1));
        let cash_day = last_sale_day.map(|d| d + u64::from(h.settlement_days));
        let bucket = match (last_sale_day, cash_day) {
            _ if h.market_value == 0.0 => LiquidityBucket::HighlyLiquid,
            (_, Some(c)) if c <= HIGHLY_LIQUID_BUSINESS_DAYS => LiquidityBucket::HighlyLiquid,
            (_, Some(c)) if c <= SEVEN_CALENDAR_DAYS_IN_BUSINESS_DAYS => {
                LiquidityBucket::ModeratelyLiquid
            }
            (Some(s), _) if s <= SEVEN_CALENDAR_DAYS_IN_BUSINESS_DAYS => {
                LiquidityBucket::LessLiquid
            }
            _ => LiquidityBucket::Illiquid,
        };
        let days = lq::days_to_liquidate(h.market_value, m.volume, policy.score_participation)
            .map_err(analytics_err(h))?;
        let score = liquidity_score(days);
        let weight = h.market_value / nav;
        shares.add(bucket, weight);
        score_sum += weight * f64::from(score);
        out.push(HoldingLiquidity {
            id: h.id.clone(),
            asset_class: h.asset_class,
            market_value: h.market_value,
            weight,
            daily_sale_cap: cap.is_finite().then_some(cap),
            binding_limit,
            last_sale_day,
            cash_day,
            bucket,
            days_to_liquidate: days.is_finite().then_some(days),
            score,
        });
    }
    Ok(Rule22e4Assessment {
        nav,
        holdings: out,
        illiquid_limit_breached: shares.illiquid > policy.illiquid_limit,
        highly_liquid_minimum_breached: shares.highly_liquid < policy.highly_liquid_minimum,
        shares,
        weighted_score: score_sum,
        policy: *policy,
    })
}

/// Whole sessions needed to sell `value` at `cap` a day: `⌈value/cap⌉` (at least one for
/// a positive value); `None` when nothing can be sold (or it would take beyond any
/// horizon worth counting, 10¹² days).
fn sessions_needed(value: f64, cap: f64) -> Option<u64> {
    if value == 0.0 {
        return Some(0);
    }
    if cap.is_infinite() {
        return Some(1);
    }
    if cap <= 0.0 {
        return None;
    }
    let n = (value / cap - SESSION_TOLERANCE).ceil().max(1.0);
    // Exact for n ≤ 2⁵³; anything longer than 10¹² days is "never".
    (n <= 1e12).then_some(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(
        id: &str,
        class: AssetClass,
        mv: f64,
        adv: f64,
        spread_bps: f64,
        vol: f64,
        settle: u32,
    ) -> Holding {
        Holding {
            id: id.into(),
            asset_class: class,
            market_value: mv,
            adv,
            spread_bps,
            daily_vol: vol,
            settlement_days: settle,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// Cash 10 and one stock worth 100 trading 100 a day (4 bp, 2%/day, T+1).
    fn two_line_book() -> Vec<Holding> {
        vec![
            holding("cash", AssetClass::Cash, 10.0, f64::INFINITY, 0.0, 0.0, 0),
            holding("stock", AssetClass::EquityLarge, 100.0, 100.0, 4.0, 0.02, 1),
        ]
    }

    #[test]
    fn ladder_matches_hand_values() {
        let ladder = liquidity_ladder(
            &two_line_book(),
            &MarketStress::NONE,
            &ImpactModel::KYLE,
            &LADDER_HORIZONS,
            &LADDER_PARTICIPATIONS,
        )
        .unwrap();
        assert_eq!(ladder.nav, 110.0);
        assert_eq!(ladder.cells.len(), 24);
        // 1 day at 10%: cash 10 + one slice of 10; only the cash has settled. The slice
        // pays 2 bp half spread + Kyle 0.5 · 0.02 · 0.1 = 10 bp.
        let c = ladder.cell(1, 0.10).unwrap();
        assert!(close(c.sold, 20.0));
        assert!(close(c.settled_share, 10.0 / 110.0));
        assert!(close(c.cost, 10.0 * 0.0012));
        // 3 days at 30%: 90 of the stock sold, 2 sessions' (60) settled.
        let c = ladder.cell(3, 0.30).unwrap();
        assert!(close(c.sold_share, 100.0 / 110.0));
        assert!(close(c.settled_share, 70.0 / 110.0));
        assert!(close(c.cost, 90.0 * (0.0002 + 0.5 * 0.02 * 0.3)));
        // 30 days at 50%: everything, the stock in two slices of 50.
        let c = ladder.cell(30, 0.50).unwrap();
        assert!(close(c.sold_share, 1.0));
        assert!(close(c.settled_share, 1.0));
        assert!(close(c.cost, 100.0 * (0.0002 + 0.5 * 0.02 * 0.5)));
        assert!(close(c.cost_share_of_sold, 0.52 / 110.0));
    }

    #[test]
    fn stress_slows_and_dearens_the_ladder() {
        let stress = MarketStress {
            depth_reduction: 0.5,
            spread_multiplier: 2.0,
            volume_reduction: 0.5,
            vol_multiplier: 2.0,
        };
        let ladder =
            liquidity_ladder(&two_line_book(), &stress, &ImpactModel::KYLE, &[1], &[0.10]).unwrap();
        let c = ladder.cells[0];
        // Capacity 10% of 50 = 5; impact 0.5 · 0.04 · 5/50 = 0.002; half spread 4 bp.
        assert!(close(c.sold, 15.0));
        assert!(close(c.cost, 5.0 * (0.0004 + 0.002)));
    }

    #[test]
    fn unlimited_markets_cost_only_their_spread() {
        let book = vec![holding(
            "bills",
            AssetClass::CashEquivalent,
            1e9,
            f64::INFINITY,
            1.0,
            0.0001,
            1,
        )];
        for model in [
            ImpactModel::KYLE,
            ImpactModel::TOTH_2011,
            ImpactModel::CONT_SCHAANNING,
        ] {
            let ladder =
                liquidity_ladder(&book, &MarketStress::NONE, &model, &[1], &[0.1]).unwrap();
            assert_eq!(ladder.cells[0].sold, 1e9);
            assert!(close(ladder.cells[0].cost, 1e9 * 0.5e-4));
            // Settles T+1: nothing is cash within one day.
            assert_eq!(ladder.cells[0].settled_share, 0.0);
        }
    }

    /// A book of every class, market data from the defaults.
    fn default_book() -> Vec<Holding> {
        use AssetClass::*;
        [
            (Cash, 7e8),
            (CashEquivalent, 3e8),
            (ShortSovereign, 5e8),
            (Sovereign, 1e9),
            (EquityLarge, 2e9),
            (EquityMid, 1e9),
            (EquitySmall, 5e8),
            (EquityEm, 5e8),
            (CreditIg, 1e9),
            (CreditHy, 5e8),
            (EmDebt, 3e8),
            (Alternatives, 1.2e9),
        ]
        .iter()
        .map(|&(class, mv)| {
            HoldingInput {
                id: format!("{class:?}"),
                asset_class: class,
                market_value: mv,
                adv: None,
                spread_bps: None,
                daily_vol: None,
                settlement_days: None,
                issue_outstanding: None,
            }
            .complete()
            .unwrap()
            .holding
        })
        .collect()
    }

    #[test]
    fn ladder_is_monotone_and_settled_never_exceeds_sold() {
        let book = default_book();
        let normal = liquidity_ladder(
            &book,
            &MarketStress::NONE,
            &ImpactModel::ALMGREN_2005,
            &LADDER_HORIZONS,
            &LADDER_PARTICIPATIONS,
        )
        .unwrap();
        let severe = MarketStress {
            depth_reduction: 0.8,
            spread_multiplier: 5.0,
            volume_reduction: 0.6,
            vol_multiplier: 2.5,
        };
        let stressed = liquidity_ladder(
            &book,
            &severe,
            &ImpactModel::ALMGREN_2005,
            &LADDER_HORIZONS,
            &LADDER_PARTICIPATIONS,
        )
        .unwrap();
        for ladder in [&normal, &stressed] {
            for c in &ladder.cells {
                assert!(c.settled_share <= c.sold_share + 1e-15);
                assert!(c.sold_share <= 1.0 + 1e-12);
                for d in &ladder.cells {
                    if d.horizon_days >= c.horizon_days && d.participation >= c.participation {
                        assert!(d.sold_share >= c.sold_share - 1e-15);
                        assert!(d.settled_share >= c.settled_share - 1e-15);
                    }
                }
            }
            // Alternatives (no market) are never sold.
            assert!(ladder
                .cells
                .iter()
                .all(|c| c.sold_share <= 1.0 - 1.2e9 / 9.5e9 + 1e-12));
        }
        for (n, s) in normal.cells.iter().zip(&stressed.cells) {
            assert!(s.sold_share <= n.sold_share + 1e-15);
        }
        // Same sale, worse market: the first day at 10% costs more per unit when stressed.
        let (n, s) = (normal.cell(1, 0.1).unwrap(), stressed.cell(1, 0.1).unwrap());
        assert!(s.cost_share_of_sold > n.cost_share_of_sold);
    }

    /// One holding of each bucket (and one held back by the impact threshold).
    fn bucket_book() -> Vec<Holding> {
        use AssetClass::*;
        vec![
            holding("cash", Cash, 10.0, f64::INFINITY, 0.0, 0.0, 0),
            // 100 at 20% of 1000: one session, T+1 → cash day 1.
            holding("fast", EquityLarge, 100.0, 1000.0, 4.0, 0.02, 1),
            // Exactly 3 sessions → last sale day 2, cash day 3: still highly liquid.
            holding("edge", EquityLarge, 600.0, 1000.0, 4.0, 0.02, 1),
            // 3.5 → 4 sessions, cash day 4.
            holding("week", EquityMid, 700.0, 1000.0, 10.0, 0.02, 1),
            // 5 sessions, sold day 4, T+5 → cash day 9.
            holding("slow_settle", EmDebt, 1000.0, 1000.0, 100.0, 0.007, 5),
            // 50 sessions.
            holding("small", EquitySmall, 10_000.0, 1000.0, 35.0, 0.03, 1),
            // 20% would be 200, but 1% impact allows κσ: 0.01 / (0.5 · 0.2) = 10% = 100.
            holding("volatile", EquitySmall, 500.0, 1000.0, 35.0, 0.2, 1),
            holding("fund_of_funds", Alternatives, 400.0, 0.0, 0.0, 0.0, 90),
        ]
    }

    #[test]
    fn rule_22e4_buckets_by_hand() {
        let a = classify_22e4(
            &bucket_book(),
            &MarketStress::NONE,
            &ImpactModel::KYLE,
            &Rule22e4Policy::default(),
        )
        .unwrap();
        use LiquidityBucket::*;
        let expect = [
            ("cash", HighlyLiquid, Some(0), 5),
            ("fast", HighlyLiquid, Some(1), 5),
            ("edge", HighlyLiquid, Some(3), 4),
            ("week", ModeratelyLiquid, Some(4), 3),
            ("slow_settle", LessLiquid, Some(9), 3),
            ("small", Illiquid, Some(50), 1),
            ("volatile", ModeratelyLiquid, Some(5), 4),
            ("fund_of_funds", Illiquid, None, 1),
        ];
        for (h, (id, bucket, cash_day, score)) in a.holdings.iter().zip(expect) {
            assert_eq!(h.id, id);
            assert_eq!(h.bucket, bucket, "{id}");
            assert_eq!(h.cash_day, cash_day, "{id}");
            assert_eq!(h.score, score, "{id}");
        }
        let volatile = &a.holdings[6];
        assert_eq!(volatile.binding_limit, DailySaleLimit::Impact);
        assert!(close(volatile.daily_sale_cap.unwrap(), 100.0));
        assert_eq!(a.holdings[1].binding_limit, DailySaleLimit::Participation);
        assert_eq!(a.holdings[7].days_to_liquidate, None);

        let nav = 13_310.0;
        assert!(close(a.nav, nav));
        assert!(close(a.shares.highly_liquid, 710.0 / nav));
        assert!(close(a.shares.moderately_liquid, 1200.0 / nav));
        assert!(close(a.shares.less_liquid, 1000.0 / nav));
        assert!(close(a.shares.illiquid, 10_400.0 / nav));
        assert!(a.illiquid_limit_breached);
        assert!(a.highly_liquid_minimum_breached);
        let s = &a.shares;
        assert!(close(
            s.highly_liquid + s.moderately_liquid + s.less_liquid + s.illiquid,
            1.0
        ));
    }

    #[test]
    fn a_liquid_book_meets_its_limits_until_markets_dry_up() {
        let book = vec![
            holding("cash", AssetClass::Cash, 100.0, f64::INFINITY, 0.0, 0.0, 0),
            holding(
                "stock",
                AssetClass::EquityLarge,
                700.0,
                1000.0,
                4.0,
                0.02,
                1,
            ),
            holding("pe", AssetClass::Alternatives, 100.0, 0.0, 0.0, 0.0, 90),
        ];
        let policy = Rule22e4Policy::default();
        let calm = classify_22e4(&book, &MarketStress::NONE, &ImpactModel::KYLE, &policy).unwrap();
        assert!(!calm.illiquid_limit_breached); // 100/900 = 11.1% ≤ 15%
        assert!(!calm.highly_liquid_minimum_breached); // cash 11.1% ≥ 10%
        assert_eq!(calm.holdings[1].bucket, LiquidityBucket::ModeratelyLiquid);
        // Volume halves: 700 at 20% of 500 takes 7 sessions → illiquid, 88.9% of NAV.
        let dry = MarketStress {
            volume_reduction: 0.5,
            ..MarketStress::NONE
        };
        let stressed = classify_22e4(&book, &dry, &ImpactModel::KYLE, &policy).unwrap();
        assert_eq!(stressed.holdings[1].bucket, LiquidityBucket::Illiquid);
        assert!(stressed.illiquid_limit_breached);
        // Twice the days at the score participation (3.5 → 7); both score 3.
        assert_eq!(calm.holdings[1].days_to_liquidate, Some(3.5));
        assert_eq!(stressed.holdings[1].days_to_liquidate, Some(7.0));
        assert!(stressed.weighted_score <= calm.weighted_score);
    }

    #[test]
    fn score_thresholds() {
        let cases = [
            (0.0, 5),
            (1.0, 5),
            (1.0001, 4),
            (3.0, 4),
            (10.0, 3),
            (30.0, 2),
            (30.5, 1),
            (f64::INFINITY, 1),
        ];
        for (days, score) in cases {
            assert_eq!(liquidity_score(days), score, "{days}");
        }
    }

    #[test]
    fn defaults_fill_missing_fields_and_say_so() {
        let input = HoldingInput {
            id: "AAPL".into(),
            asset_class: AssetClass::EquityLarge,
            market_value: 1e7,
            adv: None,
            spread_bps: Some(2.0),
            daily_vol: None,
            settlement_days: None,
            issue_outstanding: None,
        };
        let done = input.complete().unwrap();
        // 0.4%/day of an issue of which the fund holds 0.05%: 0.004 · 1e7 / 0.0005.
        assert!(close(done.holding.adv, 8e7));
        assert_eq!(done.holding.spread_bps, 2.0);
        assert_eq!(done.holding.daily_vol, EQUITY_LARGE_DEFAULTS.daily_vol);
        assert_eq!(done.holding.settlement_days, 1);
        assert_eq!(done.defaulted, vec!["adv", "daily_vol", "settlement_days"]);
        // With the issue size: turnover × outstanding.
        let sized = HoldingInput {
            issue_outstanding: Some(1e9),
            ..input.clone()
        };
        assert!(close(sized.complete().unwrap().holding.adv, 4e6));
        // Classes without a market or without limits.
        let alt = HoldingInput {
            asset_class: AssetClass::Alternatives,
            ..input.clone()
        };
        assert_eq!(alt.complete().unwrap().holding.adv, 0.0);
        let cash = HoldingInput {
            asset_class: AssetClass::Cash,
            ..input.clone()
        };
        assert_eq!(cash.complete().unwrap().holding.adv, f64::INFINITY);
        // Every class has defaults that pass validation.
        assert_eq!(default_book().len(), 12);
    }

    #[test]
    fn bad_inputs_name_the_holding_and_field() {
        let mut book = two_line_book();
        book[1].daily_vol = f64::NAN;
        let err = liquidity_ladder(&book, &MarketStress::NONE, &ImpactModel::KYLE, &[1], &[0.1])
            .unwrap_err()
            .to_string();
        assert!(err.contains("stock") && err.contains("daily_vol"), "{err}");

        let no_depth = MarketStress {
            depth_reduction: 1.0,
            ..MarketStress::NONE
        };
        let err = classify_22e4(
            &two_line_book(),
            &no_depth,
            &ImpactModel::KYLE,
            &Rule22e4Policy::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("depth_reduction"), "{err}");

        let err = liquidity_ladder(
            &two_line_book(),
            &MarketStress::NONE,
            &ImpactModel::KYLE,
            &[1],
            &[0.0],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("participation"), "{err}");

        assert_eq!(
            liquidity_ladder(&[], &MarketStress::NONE, &ImpactModel::KYLE, &[1], &[0.1]),
            Err(ProfileError::EmptyBook)
        );
        let negative = HoldingInput {
            id: "x".into(),
            asset_class: AssetClass::Sovereign,
            market_value: -5.0,
            adv: None,
            spread_bps: None,
            daily_vol: None,
            settlement_days: None,
            issue_outstanding: None,
        };
        let err = negative.complete().unwrap_err().to_string();
        assert!(
            err.contains("holding x") && err.contains("market_value"),
            "{err}"
        );
    }
}
