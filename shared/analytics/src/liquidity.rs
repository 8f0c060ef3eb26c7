//! Market-liquidity numerics: what it costs to sell, how long it takes, and how
//! illiquid an instrument has been.
//!
//! Every function here is a plain function of numbers (trade size, average daily volume,
//! daily volatility, bid-ask spread, price/volume histories); the liquidity workflow
//! applies them to its holdings and stress scenarios. Conventions:
//! - amounts (trade size, ADV, market depth) are in one currency, ADV per trading day;
//! - `spread` is the full bid-ask spread as a fraction of price (0.0004 = 4 bp);
//! - `daily_vol` is the standard deviation of daily returns (0.02 = 2% a day);
//! - every cost is a *fraction of the value traded* (multiply by the size for money),
//!   except [`fire_sale_impact`], which is the fall of the *price* (and so of the
//!   marked value of what is still held).
//!
//! An ADV of `f64::INFINITY` is a market that absorbs any size (cash): impact is zero.
//! An ADV of zero is no market at all: selling a positive size there is refused (the
//! holding cannot be sold; the time to liquidate is infinite).

use crate::error::AnalyticsError;

/// The market an order meets on one day: the volume it is measured against, the
/// volatility that scales its impact, and the quoted spread it crosses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Market {
    /// Average daily volume (or stressed depth) the order is measured against, currency
    /// per day; `f64::INFINITY` for a market that absorbs any size, 0 for none.
    pub adv: f64,
    /// Daily return volatility, fraction.
    pub daily_vol: f64,
    /// Full bid-ask spread, fraction of price.
    pub spread: f64,
}

impl Market {
    /// Checks the fields: `adv` ≥ 0 (may be infinite, never NaN), `daily_vol` and
    /// `spread` finite and ≥ 0.
    pub fn validate(&self) -> Result<(), AnalyticsError> {
        if self.adv.is_nan() || self.adv < 0.0 {
            return Err(invalid("adv", self.adv, "must be ≥ 0 (∞ for cash)"));
        }
        if !self.daily_vol.is_finite() || self.daily_vol < 0.0 {
            return Err(invalid(
                "daily_vol",
                self.daily_vol,
                "must be finite and ≥ 0",
            ));
        }
        if !self.spread.is_finite() || self.spread < 0.0 {
            return Err(invalid("spread", self.spread, "must be finite and ≥ 0"));
        }
        Ok(())
    }
}

fn invalid(field: &str, value: f64, reason: &str) -> AnalyticsError {
    AnalyticsError::InvalidArgument(format!("{field} = {value}: {reason}"))
}

/// Kyle's linear-impact coefficient κ in `cost = κ σ (Q/V)`.
///
/// In Kyle's (1985) single auction the price moves by λ per unit of net order flow with
/// `λ = √Σ₀ / (2 σ_u)` (Σ₀ the variance of the asset's value, σ_u the standard deviation
/// of noise-trader flow). In return terms, for one day, `Δp/p = σ Q / (2 σ_u)`; taking the
/// standard deviation of the day's uninformed flow to be one ADV (`σ_u = V`, an
/// **assumption**: volume is mostly liquidity trading) gives κ = 1/2.
pub const KYLE_KAPPA: f64 = 0.5;

/// Temporary-impact coefficient η of Almgren, Thum, Hauptmann & Li (2005), fitted on
/// Citigroup US equity-desk orders: `J = η σ (X / (V T))^β` with η = 0.142.
pub const ATHL_ETA: f64 = 0.142;

/// Temporary-impact exponent β of Almgren, Thum, Hauptmann & Li (2005): 0.600 ± 0.038;
/// they reject the square root (β = 1/2) in favour of a 3/5 power law.
pub const ATHL_BETA: f64 = 0.6;

/// Square-root-law prefactor Y in `Y σ √(Q/V)`. Tóth, Lempérière, Deremble, de Lataillade,
/// Kockelkoren & Bouchaud (2011) find Y "of order unity"; we take 1 (an **assumption**
/// at the prudent end of that statement).
pub const TOTH_Y: f64 = 1.0;

/// Participation of ADV below which the threshold model charges no impact. An
/// **assumption**: slices of up to 5% of a day's volume are taken to be absorbed at the
/// quoted spread (the order is small against the natural flow of the day).
pub const DEFAULT_IMPACT_THRESHOLD: f64 = 0.05;

/// Depth coefficient c in the fire-sale market depth `δ = c V / σ`. Chosen so that the
/// exponential impact `1 − exp(−Q/δ)` has, for small sales, the slope of Kyle's linear
/// impact (`1/δ = κ σ / V`), i.e. c = 1/κ = 2 — an **assumption** tying the two models
/// together rather than a value from Cont & Schaanning, who calibrate depth per asset
/// class from market data.
pub const DEFAULT_DEPTH_COEFFICIENT: f64 = 1.0 / KYLE_KAPPA;

/// A market-impact model: the *price* concession, as a fraction of value, paid on a
/// sale of size `Q` executed within one day against ADV `V` with daily volatility σ.
/// The spread is charged separately ([`half_spread_cost`]); [`trade_cost`] adds both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImpactModel {
    /// Linear (Kyle 1985): `κ σ (Q/V)`. Reference: A. S. Kyle (1985), "Continuous
    /// auctions and insider trading", Econometrica 53(6), 1315–1335; κ see [`KYLE_KAPPA`].
    Linear { kappa: f64 },
    /// Power law in the trading rate (Almgren, Thum, Hauptmann & Li 2005): `η σ (Q/V)^β`,
    /// with `Q/V` the day's participation (their `X/(VT)` with `T` = one day). Reference:
    /// R. Almgren, C. Thum, E. Hauptmann, H. Li (2005), "Direct estimation of equity market
    /// impact", Risk 18(7), 58–62: temporary impact η = 0.142, β = 0.6 for US equities.
    PowerLaw { eta: f64, beta: f64 },
    /// Square-root law: `Y σ √(Q/V)`. Reference: B. Tóth et al. (2011), "Anomalous price
    /// impact and the critical nature of liquidity in financial markets", Physical Review X
    /// 1, 021006; J.-P. Bouchaud (2010), "Price impact", Encyclopedia of Quantitative
    /// Finance. Y see [`TOTH_Y`].
    SquareRoot { y: f64 },
    /// Threshold (dead-zone) linear impact: nothing up to participation θ, Kyle-linear on
    /// the excess: `κ σ max(0, Q/V − θ)`. The linear model of Kyle (1985) applied only to
    /// the part of the order the day's natural flow cannot absorb; θ see
    /// [`DEFAULT_IMPACT_THRESHOLD`].
    Threshold { threshold: f64, kappa: f64 },
    /// Exponential fire-sale impact (Cont & Schaanning 2017): `1 − exp(−Q/δ)` with market
    /// depth `δ = c V / σ` — see [`fire_sale_impact`].
    Exponential { depth_coefficient: f64 },
}

impl ImpactModel {
    /// Kyle-linear with [`KYLE_KAPPA`].
    pub const KYLE: ImpactModel = ImpactModel::Linear { kappa: KYLE_KAPPA };
    /// Almgren et al. (2005) temporary impact, η = 0.142, β = 0.6.
    pub const ALMGREN_2005: ImpactModel = ImpactModel::PowerLaw {
        eta: ATHL_ETA,
        beta: ATHL_BETA,
    };
    /// Tóth et al. (2011) square root with Y = 1.
    pub const TOTH_2011: ImpactModel = ImpactModel::SquareRoot { y: TOTH_Y };
    /// Threshold at 5% participation, Kyle-linear beyond.
    pub const THRESHOLD_DEFAULT: ImpactModel = ImpactModel::Threshold {
        threshold: DEFAULT_IMPACT_THRESHOLD,
        kappa: KYLE_KAPPA,
    };
    /// Cont & Schaanning exponential impact with depth `2 V / σ`.
    pub const CONT_SCHAANNING: ImpactModel = ImpactModel::Exponential {
        depth_coefficient: DEFAULT_DEPTH_COEFFICIENT,
    };

    /// Checks the model's parameters: coefficients finite and ≥ 0, exponent β and depth
    /// coefficient finite and > 0.
    pub fn validate(&self) -> Result<(), AnalyticsError> {
        let nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(name, v, "impact parameter must be finite and ≥ 0"))
            }
        };
        match *self {
            ImpactModel::Linear { kappa } => nonneg("kappa", kappa),
            ImpactModel::PowerLaw { eta, beta } => {
                nonneg("eta", eta)?;
                if beta.is_finite() && beta > 0.0 {
                    Ok(())
                } else {
                    Err(invalid(
                        "beta",
                        beta,
                        "impact exponent must be finite and > 0",
                    ))
                }
            }
            ImpactModel::SquareRoot { y } => nonneg("y", y),
            ImpactModel::Threshold { threshold, kappa } => {
                nonneg("threshold", threshold)?;
                nonneg("kappa", kappa)
            }
            ImpactModel::Exponential { depth_coefficient } => {
                if depth_coefficient.is_finite() && depth_coefficient > 0.0 {
                    Ok(())
                } else {
                    Err(invalid(
                        "depth_coefficient",
                        depth_coefficient,
                        "must be finite and > 0",
                    ))
                }
            }
        }
    }

    /// Price impact of selling `size` within one day in `market`, fraction of value.
    /// Zero for a zero size, an infinite ADV, or (for the σ-scaled models) zero volatility.
    /// Errors: a negative or non-finite size, an invalid market or model, or a positive
    /// size against zero ADV (no market to sell into).
    pub fn impact(&self, size: f64, market: &Market) -> Result<f64, AnalyticsError> {
        let x = participation_of(size, market)?;
        self.validate()?;
        Ok(self.impact_at(x, market.adv, size, market.daily_vol))
    }

    /// Impact given a validated participation `x = Q/V` (the inner loop's entry point).
    fn impact_at(&self, x: f64, adv: f64, size: f64, sigma: f64) -> f64 {
        if x == 0.0 {
            return 0.0;
        }
        match *self {
            ImpactModel::Linear { kappa } => kappa * sigma * x,
            ImpactModel::PowerLaw { eta, beta } => eta * sigma * x.powf(beta),
            ImpactModel::SquareRoot { y } => y * sigma * x.sqrt(),
            ImpactModel::Threshold { threshold, kappa } => kappa * sigma * (x - threshold).max(0.0),
            ImpactModel::Exponential { depth_coefficient } => {
                fire_sale_impact(size, market_depth(adv, sigma, depth_coefficient))
            }
        }
    }

    /// The largest one-day sale whose impact stays at or below `max_impact` — the
    /// closed-form inverse of [`ImpactModel::impact`]. `f64::INFINITY` when no size
    /// reaches it (infinite ADV, zero volatility, a zero coefficient, or an exponential
    /// impact asked for `max_impact ≥ 1`); 0 when the market has no volume.
    pub fn max_size_for_impact(
        &self,
        max_impact: f64,
        market: &Market,
    ) -> Result<f64, AnalyticsError> {
        market.validate()?;
        self.validate()?;
        if !max_impact.is_finite() || max_impact < 0.0 {
            return Err(invalid("max_impact", max_impact, "must be finite and ≥ 0"));
        }
        let (v, sigma, tau) = (market.adv, market.daily_vol, max_impact);
        if v == 0.0 {
            return Ok(0.0);
        }
        if v.is_infinite() || sigma == 0.0 {
            return Ok(f64::INFINITY);
        }
        let x = match *self {
            ImpactModel::Linear { kappa } => tau / (kappa * sigma),
            ImpactModel::PowerLaw { eta, beta } => (tau / (eta * sigma)).powf(1.0 / beta),
            ImpactModel::SquareRoot { y } => (tau / (y * sigma)).powi(2),
            ImpactModel::Threshold { threshold, kappa } => threshold + tau / (kappa * sigma),
            ImpactModel::Exponential { depth_coefficient } => {
                if tau >= 1.0 {
                    return Ok(f64::INFINITY);
                }
                // Q = −δ ln(1 − τ), δ = c V / σ; expressed as a participation.
                depth_coefficient / sigma * -(-tau).ln_1p()
            }
        };
        // x/0 = ∞ for a zero coefficient: no size moves the price, as stated.
        Ok(if x.is_nan() { f64::INFINITY } else { x * v })
    }
}

/// Validates a sale and returns its participation `Q/V` (0 for zero size or infinite V).
fn participation_of(size: f64, market: &Market) -> Result<f64, AnalyticsError> {
    market.validate()?;
    if !size.is_finite() || size < 0.0 {
        return Err(invalid("size", size, "trade size must be finite and ≥ 0"));
    }
    if size == 0.0 || market.adv.is_infinite() {
        return Ok(0.0);
    }
    if market.adv == 0.0 {
        return Err(invalid(
            "adv",
            0.0,
            "no traded volume: a positive size cannot be sold into this market",
        ));
    }
    Ok(size / market.adv)
}

/// Cost of crossing half the quoted bid-ask spread, fraction of value: `s / 2`. A sale
/// at the bid gives up half the spread against the mid at which the holding is marked
/// (Roll (1984), "A simple implicit measure of the effective bid-ask spread", Journal of
/// Finance 39(4): the effective cost of a round trip is the spread, of one side half).
pub fn half_spread_cost(spread: f64) -> Result<f64, AnalyticsError> {
    if !spread.is_finite() || spread < 0.0 {
        return Err(invalid("spread", spread, "must be finite and ≥ 0"));
    }
    Ok(0.5 * spread)
}

/// Total cost of a one-day sale, fraction of value: half spread plus the model's impact.
/// Zero size costs nothing (not even the spread: no trade is made).
pub fn trade_cost(size: f64, market: &Market, model: &ImpactModel) -> Result<f64, AnalyticsError> {
    let impact = model.impact(size, market)?;
    if size == 0.0 {
        return Ok(0.0);
    }
    Ok(0.5 * market.spread + impact)
}

/// Market depth for the exponential fire-sale impact, `δ = c V / σ` (currency): deep
/// where much trades and prices move little. ∞ for an infinite ADV or zero volatility.
pub fn market_depth(adv: f64, daily_vol: f64, depth_coefficient: f64) -> f64 {
    if adv.is_infinite() || daily_vol == 0.0 {
        f64::INFINITY
    } else {
        depth_coefficient * adv / daily_vol
    }
}

/// Fire-sale price impact `Ψ(q) = 1 − exp(−q/δ)`: the fraction by which the price — and
/// so the marked value of every unit still held — falls after `q` is sold into a market
/// of depth `δ`. Concave, 0 at q = 0, tends to 1 (a total loss) as q/δ grows; linear
/// `q/δ` for small sales. ∞ depth → 0. Reference: R. Cont & E. Schaanning (2017), "Fire
/// sales, indirect contagion and systemic stress testing", Norges Bank Working Paper
/// 2/2017 (the price impact function of their deleveraging cascade).
///
/// Never fails: a non-positive or NaN `q` or `depth` gives 0 impact for `q ≤ 0` and a
/// total loss (1) for a positive sale into zero depth.
pub fn fire_sale_impact(q: f64, depth: f64) -> f64 {
    if q.is_nan() || q <= 0.0 || depth.is_infinite() {
        return 0.0;
    }
    if depth.is_nan() || depth <= 0.0 {
        return 1.0;
    }
    // −expm1(−x) keeps full precision for the small sales that dominate.
    -(-q / depth).exp_m1()
}

/// Trading days to sell `value` at `participation` of `adv` a day: `value / (p V)`
/// (continuous; a remainder is a fraction of a day). 0 for nothing to sell or an
/// infinite ADV, ∞ for zero ADV. Errors: negative or non-finite value, participation
/// outside (0, 1], NaN or negative ADV.
pub fn days_to_liquidate(value: f64, adv: f64, participation: f64) -> Result<f64, AnalyticsError> {
    if !value.is_finite() || value < 0.0 {
        return Err(invalid("value", value, "must be finite and ≥ 0"));
    }
    check_participation(participation)?;
    if adv.is_nan() || adv < 0.0 {
        return Err(invalid("adv", adv, "must be ≥ 0 (∞ for cash)"));
    }
    if value == 0.0 || adv.is_infinite() {
        return Ok(0.0);
    }
    if adv == 0.0 {
        return Ok(f64::INFINITY);
    }
    Ok(value / (participation * adv))
}

fn check_participation(p: f64) -> Result<(), AnalyticsError> {
    if p.is_finite() && p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(invalid("participation", p, "must be in (0, 1] of ADV"))
    }
}

/// What a sale spread over days costs: see [`schedule_cost`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledSale {
    /// Amount sold (≤ the amount asked; less when the horizon runs out), currency.
    pub sold: f64,
    /// Half spread plus impact on every day's slice, currency.
    pub cost: f64,
}

/// Sells up to `amount` at no more than `daily_capacity` a day for at most
/// `max_days` days, each day's slice paying the half spread and the model's impact
/// (`Σ_d q_d (s/2 + I(q_d))`): full slices, then one partial. O(1).
///
/// Each day is a separate one-day order: temporary impact is assumed to decay overnight.
/// That is the Almgren et al. (2005) reading (impact depends on the trading *rate*); for
/// the square-root law of a multi-day metaorder (Tóth et al. 2011) it understates, as
/// the impact of the whole order grows with its total size.
pub fn schedule_cost(
    amount: f64,
    daily_capacity: f64,
    max_days: u32,
    market: &Market,
    model: &ImpactModel,
) -> Result<ScheduledSale, AnalyticsError> {
    if !amount.is_finite() || amount < 0.0 {
        return Err(invalid("amount", amount, "must be finite and ≥ 0"));
    }
    if daily_capacity.is_nan() || daily_capacity < 0.0 {
        return Err(invalid("daily_capacity", daily_capacity, "must be ≥ 0"));
    }
    market.validate()?;
    model.validate()?;
    let sold = amount.min(daily_capacity * f64::from(max_days));
    if sold == 0.0 || max_days == 0 {
        return Ok(ScheduledSale {
            sold: 0.0,
            cost: 0.0,
        });
    }
    let slice_cost =
        |q: f64| -> Result<f64, AnalyticsError> { Ok(q * trade_cost(q, market, model)?) };
    if daily_capacity.is_infinite() {
        return Ok(ScheduledSale {
            sold,
            cost: slice_cost(sold)?,
        });
    }
    let full_days = (sold / daily_capacity).floor();
    let remainder = (sold - full_days * daily_capacity).max(0.0);
    let cost = full_days * slice_cost(daily_capacity)? + slice_cost(remainder)?;
    Ok(ScheduledSale { sold, cost })
}

/// Amihud (2002) illiquidity over a window: `ILLIQ = (1/D) Σ_t |r_t| / DVOL_t`, the
/// average absolute return per unit of currency traded, from `prices` (closes, one per
/// day) and `volumes` (units traded that day). Returns are `P_t / P_{t−1} − 1` and the
/// day's currency volume `P_t · volume_t`, for t = 1..n−1 (the first day only gives
/// the base price); days with zero volume are left out, as Amihud averages over the
/// days with trading. Pass the window's slice (window + 1 prices). The raw ratio is
/// returned (Amihud reports it × 10⁶ for dollar volume).
///
/// Reference: Y. Amihud (2002), "Illiquidity and stock returns: cross-section and
/// time-series effects", Journal of Financial Markets 5(1), 31–56, eq. (1).
///
/// Errors: slices of different lengths, fewer than 2 prices, a non-positive or
/// non-finite price, a negative or non-finite volume, or no day with volume.
pub fn amihud_illiquidity(prices: &[f64], volumes: &[f64]) -> Result<f64, AnalyticsError> {
    if prices.len() != volumes.len() {
        return Err(AnalyticsError::DimensionMismatch {
            what: "Amihud prices vs volumes",
            expected: prices.len(),
            found: volumes.len(),
        });
    }
    if prices.len() < 2 {
        return Err(AnalyticsError::NotEnoughObservations {
            needed: 2,
            found: prices.len(),
        });
    }
    for (t, (&p, &v)) in prices.iter().zip(volumes).enumerate() {
        if !p.is_finite() || p <= 0.0 {
            return Err(invalid(
                &format!("prices[{t}]"),
                p,
                "must be finite and > 0",
            ));
        }
        if !v.is_finite() || v < 0.0 {
            return Err(invalid(
                &format!("volumes[{t}]"),
                v,
                "must be finite and ≥ 0",
            ));
        }
    }
    let (mut sum, mut days) = (0.0, 0_usize);
    for t in 1..prices.len() {
        if volumes[t] > 0.0 {
            let r = prices[t] / prices[t - 1] - 1.0;
            sum += r.abs() / (prices[t] * volumes[t]);
            days += 1;
        }
    }
    if days == 0 {
        return Err(AnalyticsError::InvalidArgument(
            "volumes: no day with positive volume in the window".into(),
        ));
    }
    Ok(sum / days as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A liquid large cap: ADV 50m a day, 2% daily volatility, 4 bp spread.
    const MKT: Market = Market {
        adv: 5e7,
        daily_vol: 0.02,
        spread: 0.0004,
    };

    const ALL_MODELS: [ImpactModel; 5] = [
        ImpactModel::KYLE,
        ImpactModel::ALMGREN_2005,
        ImpactModel::TOTH_2011,
        ImpactModel::THRESHOLD_DEFAULT,
        ImpactModel::CONT_SCHAANNING,
    ];

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn impact_models_match_their_formulas() {
        // Oracle: numpy 2.x on V = 5e7, σ = 0.02, Q = 5e6 (participation 10%):
        // 0.5*s*x; 0.142*s*x**0.6; s*np.sqrt(x); 0.5*s*max(0, x-0.05);
        // -np.expm1(-Q/(2*V/s)).
        let q = 5e6;
        let cases = [
            (ImpactModel::KYLE, 0.001),
            (ImpactModel::ALMGREN_2005, 0.000_713_375_746_548_720_7),
            (ImpactModel::TOTH_2011, 0.006_324_555_320_336_759),
            (ImpactModel::THRESHOLD_DEFAULT, 0.0005),
            (ImpactModel::CONT_SCHAANNING, 0.000_999_500_166_625_008_5),
        ];
        for (model, expected) in cases {
            let got = model.impact(q, &MKT).unwrap();
            assert!(
                close(got, expected, 1e-12),
                "{model:?}: {got} vs {expected}"
            );
        }
        assert_eq!(half_spread_cost(0.0004).unwrap(), 0.0002);
        let total = trade_cost(q, &MKT, &ImpactModel::KYLE).unwrap();
        assert!(close(total, 0.0012, 1e-12));
    }

    #[test]
    fn threshold_model_is_free_below_its_threshold_and_linear_beyond() {
        let m = ImpactModel::THRESHOLD_DEFAULT;
        // 4% participation: under the 5% threshold.
        assert_eq!(m.impact(2e6, &MKT).unwrap(), 0.0);
        // 25%: κσ(0.25 − 0.05) = 0.5 · 0.02 · 0.20 = 0.002.
        assert!(close(m.impact(1.25e7, &MKT).unwrap(), 0.002, 1e-12));
    }

    #[test]
    fn zero_size_costs_nothing() {
        for model in ALL_MODELS {
            assert_eq!(model.impact(0.0, &MKT).unwrap(), 0.0, "{model:?}");
            assert_eq!(trade_cost(0.0, &MKT, &model).unwrap(), 0.0);
            // Even in a market that does not trade.
            let dead = Market { adv: 0.0, ..MKT };
            assert_eq!(model.impact(0.0, &dead).unwrap(), 0.0);
        }
        assert_eq!(fire_sale_impact(0.0, 1e9), 0.0);
    }

    #[test]
    fn infinite_depth_gives_zero_impact() {
        let deep = Market {
            adv: f64::INFINITY,
            ..MKT
        };
        for model in ALL_MODELS {
            assert_eq!(model.impact(1e12, &deep).unwrap(), 0.0, "{model:?}");
            // Only the spread is paid.
            assert_eq!(trade_cost(1e12, &deep, &model).unwrap(), 0.0002);
            assert_eq!(
                model.max_size_for_impact(0.01, &deep).unwrap(),
                f64::INFINITY
            );
        }
        assert_eq!(fire_sale_impact(1e12, f64::INFINITY), 0.0);
        assert_eq!(market_depth(f64::INFINITY, 0.02, 2.0), f64::INFINITY);
        // And the limit approaches it: impact falls towards zero as ADV grows.
        for model in ALL_MODELS {
            let mut last = f64::INFINITY;
            for adv in [1e7, 1e9, 1e11, 1e13, 1e15, 1e17] {
                let i = model.impact(5e6, &Market { adv, ..MKT }).unwrap();
                assert!(i <= last, "{model:?} not falling in ADV");
                last = i;
            }
            assert!(last < 1e-6, "{model:?}: {last}");
        }
    }

    #[test]
    fn impact_is_monotone_in_size() {
        for model in ALL_MODELS {
            let mut last = 0.0;
            for k in 1..=200 {
                let q = f64::from(k) * 1e6; // up to 4× ADV
                let i = model.impact(q, &MKT).unwrap();
                assert!(i >= last, "{model:?} falls at {q}");
                last = i;
            }
            assert!(last > 0.0);
        }
        // The strictly increasing models are strictly so.
        for model in [
            ImpactModel::KYLE,
            ImpactModel::ALMGREN_2005,
            ImpactModel::TOTH_2011,
        ] {
            assert!(model.impact(2e6, &MKT).unwrap() < model.impact(3e6, &MKT).unwrap());
        }
    }

    #[test]
    fn fire_sale_impact_is_a_concave_loss_below_one() {
        let d = 1e9;
        // Closed form at q = δ: 1 − e⁻¹.
        assert!(close(fire_sale_impact(d, d), 1.0 - (-1.0_f64).exp(), 1e-15));
        // Small sales: ≈ q/δ.
        assert!(close(fire_sale_impact(1e3, d), 1e-6, 1e-6));
        // Concave: the second million costs less than the first.
        let a = fire_sale_impact(1e6, d);
        let b = fire_sale_impact(2e6, d) - a;
        assert!(b < a);
        assert!(fire_sale_impact(1e15, d) <= 1.0);
        assert_eq!(fire_sale_impact(1.0, 0.0), 1.0);
    }

    #[test]
    fn max_size_inverts_the_impact() {
        // Oracle: numpy, τ = 0.01 on MKT: V τ/(κσ); V (τ/(ησ))^(1/β); V (τ/σ)²;
        // V (θ + τ/(κσ)); −(2V/σ) log1p(−τ).
        let cases = [
            (ImpactModel::KYLE, 5e7),
            (ImpactModel::ALMGREN_2005, 407_479_818.701_797_3),
            (ImpactModel::TOTH_2011, 1.25e7),
            (ImpactModel::THRESHOLD_DEFAULT, 5.25e7),
            (ImpactModel::CONT_SCHAANNING, 50_251_679.267_507_21),
        ];
        for (model, expected) in cases {
            let q = model.max_size_for_impact(0.01, &MKT).unwrap();
            assert!(close(q, expected, 1e-12), "{model:?}: {q}");
            // Round trip: the impact at that size is the cap.
            assert!(
                close(model.impact(q, &MKT).unwrap(), 0.01, 1e-12),
                "{model:?}"
            );
        }
        let still = Market {
            daily_vol: 0.0,
            ..MKT
        };
        assert_eq!(
            ImpactModel::KYLE.max_size_for_impact(0.01, &still).unwrap(),
            f64::INFINITY
        );
        let dead = Market { adv: 0.0, ..MKT };
        assert_eq!(
            ImpactModel::KYLE.max_size_for_impact(0.01, &dead).unwrap(),
            0.0
        );
    }

    #[test]
    fn days_to_liquidate_is_value_over_daily_capacity() {
        // 30m at 20% of 50m a day: 3 days.
        assert_eq!(days_to_liquidate(3e7, 5e7, 0.2).unwrap(), 3.0);
        assert_eq!(days_to_liquidate(0.0, 0.0, 0.2).unwrap(), 0.0);
        assert_eq!(days_to_liquidate(1.0, f64::INFINITY, 0.1).unwrap(), 0.0);
        assert_eq!(days_to_liquidate(1.0, 0.0, 0.1).unwrap(), f64::INFINITY);
        assert!(days_to_liquidate(1.0, 1.0, 0.0).is_err());
        assert!(days_to_liquidate(1.0, 1.0, 1.5).is_err());
        assert!(days_to_liquidate(-1.0, 1.0, 0.1).is_err());
    }

    #[test]
    fn schedule_cost_sums_daily_slices() {
        // Oracle: numpy, 12m at 5m a day, Almgren model: 2·c(5e6) + c(2e6),
        // c(q) = q (s/2 + 0.142 σ (q/V)^0.6).
        let sale = schedule_cost(1.2e7, 5e6, 5, &MKT, &ImpactModel::ALMGREN_2005).unwrap();
        assert_eq!(sale.sold, 1.2e7);
        assert!(
            close(sale.cost, 10_357.107_163_425_067, 1e-12),
            "{}",
            sale.cost
        );
        // The horizon binds: 2 days sell 10m.
        let short = schedule_cost(1.2e7, 5e6, 2, &MKT, &ImpactModel::ALMGREN_2005).unwrap();
        assert_eq!(short.sold, 1e7);
        // Nothing sells without capacity or days.
        assert_eq!(
            schedule_cost(1e6, 0.0, 5, &MKT, &ImpactModel::KYLE)
                .unwrap()
                .sold,
            0.0
        );
        assert_eq!(
            schedule_cost(1e6, f64::INFINITY, 0, &MKT, &ImpactModel::KYLE)
                .unwrap()
                .cost,
            0.0
        );
    }

    #[test]
    fn bad_inputs_are_named() {
        let err = ImpactModel::KYLE
            .impact(-1.0, &MKT)
            .unwrap_err()
            .to_string();
        assert!(err.contains("size"), "{err}");
        let dead = Market { adv: 0.0, ..MKT };
        let err = ImpactModel::KYLE
            .impact(1.0, &dead)
            .unwrap_err()
            .to_string();
        assert!(err.contains("adv"), "{err}");
        let nan_vol = Market {
            daily_vol: f64::NAN,
            ..MKT
        };
        assert!(ImpactModel::KYLE
            .impact(1.0, &nan_vol)
            .unwrap_err()
            .to_string()
            .contains("daily_vol"));
        let bad = ImpactModel::PowerLaw {
            eta: 0.1,
            beta: 0.0,
        };
        assert!(bad
            .impact(1.0, &MKT)
            .unwrap_err()
            .to_string()
            .contains("beta"));
        assert!(half_spread_cost(-0.1).is_err());
    }

    #[test]
    fn amihud_on_a_hand_series() {
        // Prices 100 → 110 → 99, volumes (units) 0, 1000, 2000:
        // |0.1|/(110·1000) and |−0.1|/(99·2000), averaged.
        let illiq = amihud_illiquidity(&[100.0, 110.0, 99.0], &[0.0, 1000.0, 2000.0]).unwrap();
        let expected = (0.1 / 110_000.0 + 0.1 / 198_000.0) / 2.0;
        assert!(close(illiq, expected, 1e-12), "{illiq} vs {expected}");
        // A zero-volume day is left out of the average, not counted as zero.
        let skip = amihud_illiquidity(&[100.0, 110.0, 99.0], &[0.0, 0.0, 2000.0]).unwrap();
        assert!(close(skip, 0.1 / 198_000.0, 1e-12));
    }

    /// S&P 500 closes and volumes (Yahoo Finance via the `arch` package datasets, NCSA
    /// licence), 2008-09-30 … 2008-10-31: the October 2008 crash.
    const SP500_OCT_2008: [(f64, f64); 24] = [
        (1166.359985, 4937680000.0), // 2008-09-30
        (1161.060059, 5782130000.0), // 2008-10-01
        (1114.280029, 6285640000.0), // 2008-10-02
        (1099.22998, 6716120000.0),  // 2008-10-03
        (1056.890015, 7956020000.0), // 2008-10-06
        (996.22998, 7069210000.0),   // 2008-10-07
        (984.940002, 8716330000.0),  // 2008-10-08
        (909.919983, 6819000000.0),  // 2008-10-09
        (899.219971, 11456230000.0), // 2008-10-10
        (1003.349976, 7263370000.0), // 2008-10-13
        (998.01001, 8161990000.0),   // 2008-10-14
        (907.840027, 6542330000.0),  // 2008-10-15
        (946.429993, 7984500000.0),  // 2008-10-16
        (940.549988, 6581780000.0),  // 2008-10-17
        (985.400024, 5175640000.0),  // 2008-10-20
        (955.049988, 5121830000.0),  // 2008-10-21
        (896.780029, 6147980000.0),  // 2008-10-22
        (908.109985, 7189900000.0),  // 2008-10-23
        (876.77002, 6550050000.0),   // 2008-10-24
        (848.919983, 5558050000.0),  // 2008-10-27
        (940.51001, 7096950000.0),   // 2008-10-28
        (930.090027, 7077800000.0),  // 2008-10-29
        (954.090027, 6175830000.0),  // 2008-10-30
        (968.75, 6394350000.0),      // 2008-10-31
    ];

    #[test]
    fn amihud_matches_numpy_on_october_2008() {
        // Oracle: numpy on sp500_daily_1999_2018.csv rows 2008-09-30 … 2008-10-31:
        // p = Close, v = Volume; r = p[1:]/p[:-1] − 1; mean(|r| / (p[1:]·v[1:])).
        let (p, v): (Vec<f64>, Vec<f64>) = SP500_OCT_2008.iter().copied().unzip();
        let illiq = amihud_illiquidity(&p, &v).unwrap();
        assert!(close(illiq, 6.095_916_175_755_821e-15, 1e-12), "{illiq}");
        // Same file, calm July 2017 (numpy, same recipe): 3.2619875701312233e-16 —
        // the crash month was ~19× less liquid per dollar traded.
        assert!(illiq / 3.261_987_570_131_223_3e-16 > 10.0);
    }

    #[test]
    fn amihud_refuses_bad_histories() {
        assert!(matches!(
            amihud_illiquidity(&[1.0, 2.0], &[1.0]),
            Err(AnalyticsError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            amihud_illiquidity(&[1.0], &[1.0]),
            Err(AnalyticsError::NotEnoughObservations { .. })
        ));
        let err = amihud_illiquidity(&[1.0, 0.0], &[1.0, 1.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("prices[1]"), "{err}");
        assert!(amihud_illiquidity(&[1.0, 2.0], &[1.0, 0.0]).is_err());
    }
}
