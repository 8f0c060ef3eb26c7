//! The liquidity agent: how long each position takes to sell and what selling costs,
//! the cash-flow gap by horizon, funding cost, and the SEC Rule 22e-4 liquidity
//! classification — on the liquidity workflow's impact models
//! (`stresslab_analytics::liquidity`: half the quoted spread plus the square-root
//! impact law of Tóth et al. 2011, at the stated participation of daily volume).
//!
//! A position is sold at `participation` × ADV a day, each day's slice paying the same
//! cost fraction; so the value raised by day h is `min(|MV|, p·ADV·h)·(1 − cost)`.
//! Outflows are the portfolio's stated outflows plus expected draws on undrawn
//! commitments: 10% of the undrawn amount within 30 days, the Basel III LCR outflow
//! rate for committed facilities to non-financial corporates (BCBS 2013 ¶131(b)),
//! placed at day 21 (30 calendar days in business days).

use crate::model::MarketModel;
use crate::portfolio::{AssetClass, Portfolio, Position};
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use stresslab_analytics::liquidity::{trade_cost, ImpactModel, Market};

pub const AGENT: &str = "liquidity";
pub const VERSION: &str = "liquidity/1";

/// Horizons of the cash-flow ladder, business days (1 day, 1 week, 1 month, 1 quarter).
pub const LADDER_DAYS: [u32; 4] = [1, 5, 21, 63];
/// The LCR horizon: 30 calendar days.
pub const COVERAGE_DAYS: u32 = 21;
/// LCR outflow rate on undrawn committed facilities (BCBS 2013 ¶131(b)).
pub const COMMITMENT_DRAW_RATE: f64 = 0.10;
/// Rule 22e-4 buckets by business days to sell without moving the price: highly liquid
/// within 3 business days; moderately liquid within 7 calendar days (5 business days);
/// illiquid beyond. "Less liquid" (sold within 7 days, settled later) needs settlement
/// data the positions do not carry and is counted as moderately liquid.
pub const HIGHLY_LIQUID_DAYS: f64 = 3.0;
pub const SEVEN_CALENDAR_DAYS: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidityBucket {
    HighlyLiquid,
    ModeratelyLiquid,
    Illiquid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderStep {
    pub horizon_days: u32,
    /// Cash plus what long positions raise by then, net of cost, USD.
    pub available: f64,
    /// Outflows due by then, USD.
    pub outflows: f64,
    pub gap: f64,
    /// available / outflows (∞ when nothing is due).
    pub coverage: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketShare {
    pub bucket: LiquidityBucket,
    pub market_value: f64,
    pub share_of_nav: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowPosition {
    pub position_id: String,
    pub days_to_liquidate: f64,
    pub market_value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityFindings {
    pub participation: f64,
    pub ladder: Vec<LadderStep>,
    /// Coverage at 30 days (the LCR horizon).
    pub coverage_30d: f64,
    pub buckets: Vec<BucketShare>,
    pub illiquid_share: f64,
    /// Cost of liquidating every long position at the participation rate, USD: the
    /// half-spread part and the impact part (both scale with volatility under stress).
    pub liquidation_cost_spread: f64,
    pub liquidation_cost_impact: f64,
    pub liquidation_cost_pct_nav: f64,
    /// Cost of raising the 30-day outflows by selling the cheapest positions first, USD.
    pub cost_to_meet_30d_outflows: f64,
    /// Annual cost of the stated borrowing at its spread, USD.
    pub funding_cost_annual: f64,
    /// Extra funding cost of borrowing the largest ladder shortfall for its horizon, USD.
    pub shortfall_funding_cost: f64,
    /// Share of the sellable value that needs more than 30 days to sell: the ladder
    /// beyond that horizon rests on today's volumes holding for months.
    pub beyond_30d_share: f64,
    /// Slowest positions to sell, slowest first.
    pub slowest: Vec<SlowPosition>,
    /// Each sellable position's sale profile (by position index), kept so the
    /// consensus's stressed recomputation does not redo the per-position work.
    #[serde(skip)]
    sales: Vec<(usize, Sale)>,
}

/// One position's sale profile.
#[derive(Debug, Clone, PartialEq)]
struct Sale {
    value: f64,
    daily_capacity: f64,
    spread_cost: f64,
    impact_cost: f64,
    days: f64,
}

impl Sale {
    fn cost(&self) -> f64 {
        self.spread_cost + self.impact_cost
    }
    fn raised_by(&self, days: f64, stress: f64) -> f64 {
        (self.daily_capacity * days).min(self.value) * (1.0 - stress * self.cost()).max(0.0)
    }
}

/// Daily return volatility of a position: its factor variance plus its specific one.
pub fn daily_vol(p: &Position, model: &MarketModel, lookup: &HashMap<&str, usize>) -> f64 {
    let mv = p.market_value.abs();
    if mv == 0.0 {
        return 0.0;
    }
    let k = model.factor_count();
    let idx: Vec<(usize, f64)> = match &p.option {
        Some(o) => {
            // An option's value moves with its dollar delta on the underlying.
            let u = lookup[o.underlying.as_str()];
            let delta = crate::market::gross_exposure(p);
            vec![(u, delta)]
        }
        None => p
            .exposures
            .iter()
            .filter_map(|(n, e)| lookup.get(n.as_str()).map(|&j| (j, *e)))
            .collect(),
    };
    let mut var = 0.0;
    for &(i, ei) in &idx {
        for &(j, ej) in &idx {
            var += ei * ej * model.covariance[i * k + j];
        }
    }
    let idio = mv * p.idiosyncratic_vol / crate::market::TRADING_DAYS.sqrt();
    ((var + idio * idio).sqrt() / mv).min(1.0)
}

fn sale(
    p: &Position,
    model: &MarketModel,
    lookup: &HashMap<&str, usize>,
    participation: f64,
) -> Option<Sale> {
    if p.market_value <= 0.0 {
        return None; // shorts and liabilities raise no cash
    }
    if p.asset_class == AssetClass::Cash {
        return Some(Sale {
            value: p.market_value,
            daily_capacity: f64::INFINITY,
            spread_cost: 0.0,
            impact_cost: 0.0,
            days: 0.0,
        });
    }
    let l = p.liquidity.as_ref()?;
    let daily_capacity = participation * l.adv;
    let market = Market {
        adv: l.adv,
        daily_vol: daily_vol(p, model, lookup),
        spread: l.spread_bp * 1e-4,
    };
    let slice = p.market_value.min(daily_capacity);
    let spread_cost = market.spread / 2.0;
    let total = if l.adv > 0.0 {
        trade_cost(slice, &market, &ImpactModel::TOTH_2011).unwrap_or(1.0)
    } else {
        1.0
    };
    Some(Sale {
        value: p.market_value,
        daily_capacity,
        spread_cost,
        impact_cost: (total - spread_cost).max(0.0),
        days: if daily_capacity > 0.0 {
            p.market_value / daily_capacity
        } else {
            f64::INFINITY
        },
    })
}

/// Cumulative outflows due within `days`, commitments' expected draws included.
fn outflows_within(portfolio: &Portfolio, days: u32) -> f64 {
    let stated: f64 = portfolio
        .outflows
        .iter()
        .filter(|o| o.due_in_days <= days)
        .map(|o| o.amount)
        .sum();
    let draws = if days >= COVERAGE_DAYS {
        portfolio
            .positions
            .iter()
            .filter_map(|p| p.credit.as_ref())
            .map(|c| COMMITMENT_DRAW_RATE * c.undrawn)
            .sum()
    } else {
        0.0
    };
    stated + draws
}

pub fn assess(
    portfolio: &Portfolio,
    model: &MarketModel,
    settings: &Settings,
) -> LiquidityFindings {
    let lookup = crate::market::factor_lookup(model);
    let sales: Vec<(usize, Sale)> = portfolio
        .positions
        .iter()
        .enumerate()
        .filter_map(|(i, pos)| sale(pos, model, &lookup, settings.participation).map(|s| (i, s)))
        .collect();
    findings(portfolio, settings, sales, 1.0)
}

impl LiquidityFindings {
    /// The same findings with every spread and volatility scaled by `stress` (the
    /// consensus's market → liquidity adjustment; 1 is today's market), from the sale
    /// profiles already computed.
    pub fn stressed(
        &self,
        portfolio: &Portfolio,
        settings: &Settings,
        stress: f64,
    ) -> LiquidityFindings {
        findings(portfolio, settings, self.sales.clone(), stress)
    }
}

fn findings(
    portfolio: &Portfolio,
    settings: &Settings,
    sales: Vec<(usize, Sale)>,
    stress: f64,
) -> LiquidityFindings {
    let p = settings.participation;
    let nav = portfolio.nav;
    let ladder: Vec<LadderStep> = LADDER_DAYS
        .iter()
        .map(|&d| {
            let available: f64 = sales
                .iter()
                .map(|(_, s)| s.raised_by(f64::from(d), stress))
                .sum();
            let outflows = outflows_within(portfolio, d);
            LadderStep {
                horizon_days: d,
                available,
                outflows,
                gap: available - outflows,
                coverage: if outflows > 0.0 {
                    available / outflows
                } else {
                    f64::INFINITY
                },
            }
        })
        .collect();
    let coverage_30d = ladder
        .iter()
        .find(|l| l.horizon_days == COVERAGE_DAYS)
        .map_or(f64::INFINITY, |l| l.coverage);

    let mut buckets = [0.0; 3];
    for (_, s) in &sales {
        let b = if s.days <= HIGHLY_LIQUID_DAYS {
            0
        } else if s.days <= SEVEN_CALENDAR_DAYS {
            1
        } else {
            2
        };
        buckets[b] += s.value;
    }
    let bucket_shares = [
        LiquidityBucket::HighlyLiquid,
        LiquidityBucket::ModeratelyLiquid,
        LiquidityBucket::Illiquid,
    ]
    .iter()
    .zip(buckets)
    .map(|(&bucket, mv)| BucketShare {
        bucket,
        market_value: mv,
        share_of_nav: mv / nav,
    })
    .collect();

    let spread: f64 = sales
        .iter()
        .map(|(_, s)| stress * s.spread_cost * s.value)
        .sum();
    let impact: f64 = sales
        .iter()
        .map(|(_, s)| stress * s.impact_cost * s.value)
        .sum();

    // Waterfall: cheapest first, each within what it can raise in 30 days.
    let need = outflows_within(portfolio, COVERAGE_DAYS);
    let mut by_cost: Vec<&Sale> = sales.iter().map(|(_, s)| s).collect();
    by_cost.sort_by(|a, b| a.cost().total_cmp(&b.cost()));
    let (mut raised, mut cost) = (0.0, 0.0);
    for s in by_cost {
        if raised >= need {
            break;
        }
        let c = (stress * s.cost()).min(1.0);
        let can = (s.daily_capacity * f64::from(COVERAGE_DAYS)).min(s.value) * (1.0 - c);
        let take = can.min(need - raised);
        if take > 0.0 && c < 1.0 {
            raised += take;
            cost += take * c / (1.0 - c);
        }
    }

    let spread_rate = portfolio.funding.spread_bp * 1e-4;
    let shortfall_funding_cost = ladder
        .iter()
        .map(|l| {
            (-l.gap).max(0.0) * spread_rate * f64::from(l.horizon_days)
                / crate::market::TRADING_DAYS
        })
        .fold(0.0, f64::max);

    let mut slowest: Vec<SlowPosition> = sales
        .iter()
        .filter(|(_, s)| s.days > SEVEN_CALENDAR_DAYS)
        .map(|(i, s)| SlowPosition {
            position_id: portfolio.positions[*i].id.clone(),
            days_to_liquidate: s.days,
            market_value: s.value,
        })
        .collect();
    slowest.sort_by(|a, b| b.days_to_liquidate.total_cmp(&a.days_to_liquidate));
    slowest.truncate(10);

    let sellable: f64 = sales.iter().map(|(_, s)| s.value).sum();
    let beyond: f64 = sales
        .iter()
        .filter(|(_, s)| s.days > f64::from(COVERAGE_DAYS))
        .map(|(_, s)| s.value)
        .sum();
    LiquidityFindings {
        participation: p,
        beyond_30d_share: if sellable > 0.0 {
            beyond / sellable
        } else {
            0.0
        },
        ladder,
        coverage_30d,
        illiquid_share: buckets[2] / nav,
        buckets: bucket_shares,
        liquidation_cost_spread: spread,
        liquidation_cost_impact: impact,
        liquidation_cost_pct_nav: (spread + impact) / nav,
        cost_to_meet_30d_outflows: cost,
        funding_cost_annual: portfolio.funding.borrowing * spread_rate,
        shortfall_funding_cost,
        slowest,
        sales,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_model;
    use crate::portfolio::{LiquidityTerms, Outflow, Position};

    /// One stock of $100m with an ADV of $100m sold at 20% a day: $20m a day for five
    /// days, each slice paying half the spread plus σ√0.2 (Tóth et al.'s square root with
    /// Y = 1), σ its daily vol (1.1 × the index's 1% a day).
    #[test]
    fn ladder_buckets_and_costs_of_a_simple_book() {
        let model = test_model();
        let stock = Position {
            id: "s".into(),
            asset_class: AssetClass::Equity,
            market_value: 100e6,
            issuer: None,
            sector: None,
            exposures: [("SPX".to_string(), 110e6)].into_iter().collect(),
            idiosyncratic_vol: 0.0,
            option: None,
            credit: None,
            liquidity: Some(LiquidityTerms {
                adv: 100e6,
                spread_bp: 10.0,
            }),
        };
        let cash = Position {
            id: "c".into(),
            asset_class: AssetClass::Cash,
            market_value: 10e6,
            liquidity: None,
            ..stock.clone()
        };
        let p = Portfolio {
            portfolio_id: "l".into(),
            nav: 110e6,
            capital: None,
            positions: vec![
                stock,
                Position {
                    exposures: Default::default(),
                    ..cash
                },
            ],
            outflows: vec![Outflow {
                label: "redemption".into(),
                due_in_days: 5,
                amount: 50e6,
            }],
            funding: Default::default(),
        };
        let l = assess(&p, &model, &Settings::default());
        let cost = 0.0005 + 0.011 * 0.2f64.sqrt();
        let day1 = 10e6 + 20e6 * (1.0 - cost);
        assert!(
            (l.ladder[0].available - day1).abs() < 1.0,
            "{} vs {day1}",
            l.ladder[0].available
        );
        assert!((l.ladder[1].available - (10e6 + 100e6 * (1.0 - cost))).abs() < 1.0);
        assert_eq!(l.ladder[0].outflows, 0.0);
        assert_eq!(l.ladder[1].outflows, 50e6);
        // Five days to sell: moderately liquid, nothing illiquid.
        assert!((l.buckets[1].market_value - 100e6).abs() < 1e-6);
        assert_eq!(l.illiquid_share, 0.0);
        assert!((l.liquidation_cost_spread + l.liquidation_cost_impact - 100e6 * cost).abs() < 1.0);
        // Doubling vol and spreads doubles the cost.
        let s = l.stressed(&p, &Settings::default(), 2.0);
        assert!((s.liquidation_cost_pct_nav / l.liquidation_cost_pct_nav - 2.0).abs() < 1e-12);
    }
}
