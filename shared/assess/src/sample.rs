//! A reproducible sample portfolio for the assessment: a multi-asset fund of any size,
//! generated from a seed against whatever factors the model has (so the committed
//! sample, the benchmark's 1,000- and 10,000-position books and the tests all come from
//! one generator).
//!
//! Stated distributions (a house choice meant to look like a balanced institutional
//! fund, not a calibration to any real fund):
//! - **Mix by count**: 45% single stocks, 5% ETFs, 12% government bonds, 14% corporate
//!   bonds, 5% loans, 2% commitments, 10% equity options, 3% FX forwards, 2% commodity,
//!   2% cash.
//! - **Sizes**: log-normal market values: stocks median $1.6m (σ of log 0.9), ETFs $4m
//!   (0.6), government bonds $3m (0.7), corporate bonds $2.5m and loan facilities $2m
//!   (0.7), option notionals $3m (0.6), FX forward notionals $5m (0.5), commodities
//!   $1.5m (0.5), cash $4m (0.3).
//! - **Stocks**: a quarter are the model's named equity factors themselves (exposure =
//!   market value); the rest load on the index factor with beta ~ N(1, 0.25) and on one
//!   style ETF factor with loading ~ N(0, 0.2), with idiosyncratic vol uniform 15–45%.
//!   ADV log-normal around $150m a day; spreads 2–15 bp.
//! - **Government bonds**: modified duration uniform 1–10 years, DV01 = −MV × D × 1bp
//!   on the nearest key-rate factor; ADV $500m, spread 1 bp.
//! - **Corporate bonds and loans**: DV01 as above plus CS01 = DV01 on a credit spread
//!   factor; one-year PD log-uniform 0.03%–5% (bonds) and 0.3%–8% (loans); LGD 45% bonds,
//!   35% loans (secured); 80 issuers; ADV $2–20m (bonds), $0.1–1m (loans); spreads
//!   20–80 bp (bonds), 100–300 bp (loans). Commitments: drawn 40% of a facility, undrawn
//!   the rest.
//! - **Options**: on the index or a named stock, calls and puts equally, strikes
//!   ±15% around spot, expiries log-uniform from 1 month to 2 years and one in ten a
//!   weekly (2–10 trading days), implied vol 15–45%, a third written.
//! - **Liabilities**: redemptions of 1% of NAV in 1 day, 3% in 5 days and 8% in 21; a
//!   margin call of 0.5% tomorrow; borrowing of 5% of NAV at 80 bp over the risk-free rate.

use crate::market::option_value;
use crate::model::{FactorKind, MarketModel};
use crate::portfolio::{
    AssetClass, CreditTerms, Funding, LiquidityTerms, OptionTerms, OptionType, Outflow, Portfolio,
    Position,
};
use std::collections::BTreeMap;
use stresslab_analytics::rng::Xoshiro256;

const SECTORS: [&str; 11] = [
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
];

struct Draw(Xoshiro256);

impl Draw {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.uniform()
    }
    fn normal(&mut self) -> f64 {
        self.0.normal()
    }
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.0.uniform()).exp()
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.0.below(xs.len())]
    }
}

fn names(model: &MarketModel, kind: FactorKind) -> Vec<String> {
    model
        .factors
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.name.clone())
        .collect()
}

/// The sample request's portfolio: `positions` positions drawn from `seed`.
pub fn portfolio(model: &MarketModel, positions: usize, seed: u64) -> Portfolio {
    let mut d = Draw(Xoshiro256::seed_from_u64(seed));
    let equities = names(model, FactorKind::EquityReturn);
    let index = if equities.iter().any(|n| n == "SPX") {
        "SPX".to_string()
    } else {
        equities[0].clone()
    };
    let etfs: Vec<String> = ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
        .iter()
        .filter(|n| equities.iter().any(|e| e == *n))
        .map(|n| n.to_string())
        .collect();
    let stocks: Vec<String> = equities
        .iter()
        .filter(|n| **n != index && !etfs.contains(n))
        .cloned()
        .collect();
    let rates = names(model, FactorKind::RateChangeBp);
    let spreads = names(model, FactorKind::CreditSpreadChangeBp);
    let fx = names(model, FactorKind::FxReturn);
    let commodities = names(model, FactorKind::CommodityReturn);

    // Cumulative mix by count.
    let mix: [(AssetClass, f64); 10] = [
        (AssetClass::Equity, 0.45),
        (AssetClass::Etf, 0.05),
        (AssetClass::GovernmentBond, 0.12),
        (AssetClass::CorporateBond, 0.14),
        (AssetClass::Loan, 0.05),
        (AssetClass::Commitment, 0.02),
        (AssetClass::EquityOption, 0.10),
        (AssetClass::FxForward, 0.03),
        (AssetClass::Commodity, 0.02),
        (AssetClass::Cash, 0.02),
    ];
    let mut out = Vec::with_capacity(positions);
    let mut counts = Vec::with_capacity(mix.len());
    let mut assigned = 0;
    for (i, (_, share)) in mix.iter().enumerate() {
        let n = if i == mix.len() - 1 {
            positions - assigned
        } else {
            ((positions as f64) * share).round() as usize
        };
        let n = n.min(positions - assigned);
        counts.push(n);
        assigned += n;
    }
    let key_tenor = |duration: f64| -> String {
        // Nearest key rate by the years in its name (UST_5Y → 5).
        rates
            .iter()
            .min_by(|a, b| {
                let years = |n: &str| {
                    n.trim_start_matches("UST_")
                        .trim_end_matches('Y')
                        .parse::<f64>()
                        .unwrap_or(5.0)
                };
                (years(a) - duration)
                    .abs()
                    .total_cmp(&(years(b) - duration).abs())
            })
            .cloned()
            .unwrap_or_default()
    };
    let mut next = 0usize;
    let mut id = || {
        next += 1;
        format!("P{next:05}")
    };
    let issuers: Vec<String> = (1..=80).map(|i| format!("ISSUER-{i:03}")).collect();
    for (class, n) in mix.iter().map(|m| m.0).zip(counts) {
        for _ in 0..n {
            let mut p = Position {
                id: id(),
                asset_class: class,
                market_value: 0.0,
                issuer: None,
                sector: None,
                exposures: BTreeMap::new(),
                idiosyncratic_vol: 0.0,
                option: None,
                credit: None,
                liquidity: None,
            };
            match class {
                AssetClass::Equity => {
                    let mv = d.lognormal(1.6e6, 0.9);
                    p.market_value = mv;
                    p.sector = Some(d.pick(&SECTORS).to_string());
                    if !stocks.is_empty() && d.0.uniform() < 0.25 {
                        let s = d.pick(&stocks).clone();
                        p.issuer = Some(s.clone());
                        p.exposures.insert(s, mv);
                    } else {
                        let issuer = format!("EQ-{:04}", d.0.below(4 * positions.max(100)));
                        p.issuer = Some(issuer);
                        p.exposures
                            .insert(index.clone(), mv * (1.0 + 0.25 * d.normal()));
                        if !etfs.is_empty() {
                            let e = d.pick(&etfs).clone();
                            *p.exposures.entry(e).or_default() += mv * 0.2 * d.normal();
                        }
                        p.idiosyncratic_vol = d.uniform(0.15, 0.45);
                    }
                    p.liquidity = Some(LiquidityTerms {
                        adv: d.lognormal(150e6, 1.2),
                        spread_bp: d.uniform(2.0, 15.0),
                    });
                }
                AssetClass::Etf => {
                    let mv = d.lognormal(4e6, 0.6);
                    let f = if etfs.is_empty() {
                        index.clone()
                    } else {
                        d.pick(&etfs).clone()
                    };
                    p.market_value = mv;
                    p.issuer = Some(format!("iShares {f}"));
                    p.exposures.insert(f, mv);
                    p.liquidity = Some(LiquidityTerms {
                        adv: d.lognormal(200e6, 0.5),
                        spread_bp: d.uniform(1.0, 4.0),
                    });
                }
                AssetClass::GovernmentBond => {
                    let mv = d.lognormal(3e6, 0.7);
                    let duration = d.uniform(1.0, 10.0);
                    p.market_value = mv;
                    p.issuer = Some("US Treasury".into());
                    p.sector = Some("Sovereign".into());
                    if !rates.is_empty() {
                        p.exposures
                            .insert(key_tenor(duration), -mv * duration * 1e-4);
                    }
                    p.liquidity = Some(LiquidityTerms {
                        adv: 500e6,
                        spread_bp: 1.0,
                    });
                }
                AssetClass::CorporateBond | AssetClass::Loan | AssetClass::Commitment => {
                    let loan = class != AssetClass::CorporateBond;
                    let facility = d.lognormal(if loan { 2e6 } else { 2.5e6 }, 0.7);
                    let drawn = if class == AssetClass::Commitment {
                        0.4 * facility
                    } else {
                        facility
                    };
                    let duration = if loan {
                        d.uniform(0.25, 1.0)
                    } else {
                        d.uniform(2.0, 9.0)
                    };
                    p.market_value = drawn;
                    p.issuer = Some(d.pick(&issuers).clone());
                    p.sector = Some(d.pick(&SECTORS).to_string());
                    let dv01 = -drawn * duration * 1e-4;
                    if !rates.is_empty() && !loan {
                        p.exposures.insert(key_tenor(duration), dv01);
                    }
                    if !spreads.is_empty() {
                        let s = d.pick(&spreads).clone();
                        p.exposures
                            .insert(s, if loan { -drawn * 0.5 * 1e-4 } else { dv01 });
                    }
                    p.idiosyncratic_vol = if loan { 0.03 } else { d.uniform(0.02, 0.06) };
                    let (pd_lo, pd_hi) = if loan { (0.003, 0.08) } else { (0.0003, 0.05) };
                    p.credit = Some(CreditTerms {
                        pd: d.log_uniform(pd_lo, pd_hi),
                        lgd: if loan { 0.35 } else { 0.45 },
                        drawn: None,
                        undrawn: if class == AssetClass::Commitment {
                            facility - drawn
                        } else {
                            0.0
                        },
                        ccf: 0.75,
                        maturity_years: if loan {
                            d.uniform(1.0, 5.0)
                        } else {
                            duration * 1.1
                        },
                    });
                    p.liquidity = Some(if loan {
                        LiquidityTerms {
                            adv: d.uniform(0.1e6, 1e6),
                            spread_bp: d.uniform(100.0, 300.0),
                        }
                    } else {
                        LiquidityTerms {
                            adv: d.uniform(2e6, 20e6),
                            spread_bp: d.uniform(20.0, 80.0),
                        }
                    });
                }
                AssetClass::EquityOption => {
                    let underlying = if stocks.is_empty() || d.0.uniform() < 0.4 {
                        index.clone()
                    } else {
                        d.pick(&stocks).clone()
                    };
                    let spot = 100.0;
                    let kind = if d.0.uniform() < 0.5 {
                        OptionType::Call
                    } else {
                        OptionType::Put
                    };
                    let written = d.0.uniform() < 1.0 / 3.0;
                    let notional = d.lognormal(3e6, 0.6);
                    let mut o = OptionTerms {
                        underlying: underlying.clone(),
                        option_type: kind,
                        spot,
                        strike: spot * d.uniform(0.85, 1.15),
                        expiry_years: if d.0.uniform() < 0.1 {
                            d.log_uniform(2.0 / 252.0, 10.0 / 252.0)
                        } else {
                            d.log_uniform(21.0 / 252.0, 2.0)
                        },
                        implied_vol: d.uniform(0.15, 0.45),
                        quantity: 0.0,
                        rate: 0.03,
                        dividend_yield: 0.015,
                    };
                    o.quantity = (notional / spot).round() * if written { -1.0 } else { 1.0 };
                    p.market_value = option_value(&o, o.spot, o.implied_vol, 0.0);
                    p.issuer = Some(format!("{underlying} options"));
                    p.liquidity = Some(LiquidityTerms {
                        adv: d.lognormal(50e6, 0.8),
                        spread_bp: d.uniform(20.0, 150.0),
                    });
                    p.option = Some(o);
                }
                AssetClass::FxForward => {
                    let notional =
                        d.lognormal(5e6, 0.5) * if d.0.uniform() < 0.7 { -1.0 } else { 1.0 };
                    if !fx.is_empty() {
                        p.exposures.insert(d.pick(&fx).clone(), notional);
                    }
                    p.market_value = 0.0;
                    p.liquidity = Some(LiquidityTerms {
                        adv: 5e9,
                        spread_bp: 1.0,
                    });
                }
                AssetClass::Commodity => {
                    let mv = d.lognormal(1.5e6, 0.5);
                    p.market_value = mv;
                    if !commodities.is_empty() {
                        p.exposures.insert(d.pick(&commodities).clone(), mv);
                    }
                    p.idiosyncratic_vol = 0.05;
                    p.liquidity = Some(LiquidityTerms {
                        adv: d.lognormal(100e6, 0.5),
                        spread_bp: d.uniform(3.0, 10.0),
                    });
                }
                AssetClass::Cash => {
                    p.market_value = d.lognormal(4e6, 0.3);
                }
            }
            out.push(p);
        }
    }
    let assets: f64 = out.iter().map(|p| p.market_value).sum();
    let borrowing = 0.05 * assets / 1.05;
    let nav = assets - borrowing;
    Portfolio {
        portfolio_id: format!("sample-multi-asset-{positions}"),
        nav,
        capital: None,
        positions: out,
        outflows: vec![
            Outflow {
                label: "margin call".into(),
                due_in_days: 1,
                amount: 0.005 * nav,
            },
            Outflow {
                label: "redemptions, next day".into(),
                due_in_days: 1,
                amount: 0.01 * nav,
            },
            Outflow {
                label: "redemptions, first week".into(),
                due_in_days: 5,
                amount: 0.02 * nav,
            },
            Outflow {
                label: "redemptions, rest of the month".into(),
                due_in_days: 21,
                amount: 0.05 * nav,
            },
        ],
        funding: Funding {
            borrowing,
            spread_bp: 80.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_model;

    #[test]
    fn the_sample_is_valid_and_reproducible() {
        let model = test_model();
        let a = portfolio(&model, 1_000, 7);
        assert_eq!(a.positions.len(), 1_000);
        assert_eq!(a.validate(&model), vec![]);
        assert_eq!(a, portfolio(&model, 1_000, 7));
        assert_ne!(a, portfolio(&model, 1_000, 8));
        let options = a.positions.iter().filter(|p| p.option.is_some()).count();
        assert_eq!(options, 100);
    }
}
