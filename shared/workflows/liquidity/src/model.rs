//! The liquidity workflow's model: what the prepare step builds once from the uploaded
//! portfolio and every later stage reads. Holdings completed from the class defaults
//! (with the list of what was defaulted, for the report's caveats), the fund's dealing
//! terms in the cascade's types, the investor base, NAV, the buffer, the allocation and
//! today's SEC rule 22e-4 classification in a normal market.
//!
//! [`prepare`] is the gate: a portfolio the workflow cannot model is rejected with every
//! problem named by its input path (`positions[3].liquidity: required by the liquidity
//! workflow`), in the same [`Rejection`] form the portfolio parser uses. Everything is
//! O(positions).

use serde::{Deserialize, Serialize};
use stresslab_analytics::liquidity::ImpactModel;
use stresslab_core::portfolio::{self as core, Issue, Portfolio, Rejection};

use crate::cascade::{CascadeFund, FundTerms, Gate, SwingPricing};
use crate::investors::{FundType, InvestorBase, InvestorGroup, InvestorType, RedemptionFrequency};
use crate::profile::{
    classify_22e4, HoldingInput, ProfileError, Rule22e4Assessment, Rule22e4Policy,
};
use crate::types::{AssetClass, Holding, MarketStress};

/// The impact model of today's 22e-4 classification: Almgren, Thum, Hauptmann & Li
/// (2005), the model the cascade charges sales with (see the crate README).
pub const CLASSIFICATION_IMPACT: ImpactModel = ImpactModel::ALMGREN_2005;

/// One holding as the engines see it, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedHolding {
    /// Index in the portfolio's `positions` (for messages and the report).
    pub position: usize,
    pub name: String,
    /// The position's broad class in the portfolio (the allocation's grouping).
    pub portfolio_class: core::AssetClass,
    /// Market value and ADV in the base currency. In JSON an unlimited ADV (cash) is
    /// `null`: JSON has no infinity.
    #[serde(with = "unlimited_adv")]
    pub holding: Holding,
    /// Input fields (`adv`, `bid_ask_bps`, `daily_vol`, `settlement_days`) filled from the
    /// class defaults ([`crate::profile::class_defaults`]).
    pub defaulted: Vec<String>,
}

/// [`Holding`] with `adv: null` for an unlimited ADV, which serde_json would write as
/// `null` and then refuse to read back as a number.
mod unlimited_adv {
    use super::{AssetClass, Holding};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        id: String,
        asset_class: AssetClass,
        market_value: f64,
        /// `None`: unlimited.
        adv: Option<f64>,
        spread_bps: f64,
        daily_vol: f64,
        settlement_days: u32,
    }

    pub fn serialize<S: Serializer>(h: &Holding, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            id: h.id.clone(),
            asset_class: h.asset_class,
            market_value: h.market_value,
            adv: (h.adv != f64::INFINITY).then_some(h.adv),
            spread_bps: h.spread_bps,
            daily_vol: h.daily_vol,
            settlement_days: h.settlement_days,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Holding, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(Holding {
            id: w.id,
            asset_class: w.asset_class,
            market_value: w.market_value,
            adv: w.adv.unwrap_or(f64::INFINITY),
            spread_bps: w.spread_bps,
            daily_vol: w.daily_vol,
            settlement_days: w.settlement_days,
        })
    }
}

/// The fund's dealing terms, in the cascade's types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealingTerms {
    /// How often the fund deals: requests wait for the next dealing date.
    pub dealing_frequency: RedemptionFrequency,
    /// Business days between a request and its dealing day.
    pub notice_days: u32,
    pub gate: Option<Gate>,
    pub swing: Option<SwingPricing>,
    /// The fund type whose empirical flow shocks apply, when the fund names one.
    pub peer_group: Option<FundType>,
}

impl DealingTerms {
    /// The cascade's terms for a run of `horizon_days` business days.
    pub fn cascade_terms(&self, horizon_days: usize) -> FundTerms {
        FundTerms {
            notice_days: self.notice_days,
            gate: self.gate,
            swing: self.swing,
            horizon_days,
            gate_from_day: 0,
            dealing_interval_days: self.dealing_frequency.interval_days(),
        }
    }
}

/// Value of one class (or layer) of the book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice<K> {
    pub class: K,
    /// Base currency.
    pub value: f64,
    /// Share of NAV.
    pub share: f64,
}

/// The liquidity buffer: cash, then the tiers in the order they are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buffer {
    /// Holdings of class cash, base currency.
    pub cash: f64,
    /// The tiers beyond cash, in drawing order (the cascade's `buffer_tiers`).
    pub tiers: Vec<Slice<AssetClass>>,
    /// Cash plus every tier, base currency.
    pub total: f64,
    /// `total / NAV`.
    pub share: f64,
}

/// Everything the liquidity workflow knows about the fund before any scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityModel {
    pub portfolio_id: String,
    pub name: String,
    pub base_currency: String,
    pub as_of: Option<String>,
    /// Net asset value: the sum of the positions' base-currency market values.
    pub nav: f64,
    pub holdings: Vec<PreparedHolding>,
    pub terms: DealingTerms,
    pub buffer: Buffer,
    pub investors: InvestorBase,
    /// By the portfolio's broad class, in order of first appearance.
    pub allocation: Vec<Slice<core::AssetClass>>,
    /// By liquidity class, in the class order.
    pub liquidity_classes: Vec<Slice<AssetClass>>,
    /// Today's SEC rule 22e-4 classification, normal market ([`MarketStress::NONE`]),
    /// [`CLASSIFICATION_IMPACT`], default policy.
    pub classification: Rule22e4Assessment,
}

impl LiquidityModel {
    /// The holdings in the engines' form.
    pub fn engine_holdings(&self) -> Vec<Holding> {
        self.holdings.iter().map(|h| h.holding.clone()).collect()
    }

    /// The fund as the cascade starts it: the holdings (cash holdings count as cash) and
    /// the buffer tiers beyond cash.
    pub fn cascade_fund(&self) -> CascadeFund {
        CascadeFund {
            holdings: self.engine_holdings(),
            cash: 0.0,
            buffer_tiers: self.buffer.tiers.iter().map(|t| t.class).collect(),
        }
    }
}

/// A liquidity class from its input name (`core::LIQUIDITY_CLASSES`).
pub fn liquidity_class(name: &str) -> Option<AssetClass> {
    from_name(name)
}

/// An investor type from its input name (`core::INVESTOR_TYPES`).
pub fn investor_type(name: &str) -> Option<InvestorType> {
    from_name(name)
}

/// A peer group from its input name (`core::PEER_GROUPS`).
pub fn fund_type(name: &str) -> Option<FundType> {
    from_name(name)
}

/// The crate's snake_case serde names are the input names; one mapping, no table to
/// keep in step (the tests check both lists match).
fn from_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

fn frequency(f: core::DealingFrequency) -> RedemptionFrequency {
    match f {
        core::DealingFrequency::Daily => RedemptionFrequency::Daily,
        core::DealingFrequency::Weekly => RedemptionFrequency::Weekly,
        core::DealingFrequency::Monthly => RedemptionFrequency::Monthly,
        core::DealingFrequency::Quarterly => RedemptionFrequency::Quarterly,
    }
}

/// Problems found while preparing, with their input paths.
struct Issues(Vec<Issue>);

impl Issues {
    fn add(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(Issue {
            path: path.into(),
            reason: reason.into(),
        });
    }
}

/// The input name of a holding field the profile reports.
fn input_field(field: &str) -> &str {
    match field {
        "spread_bps" => "bid_ask_bps",
        other => other,
    }
}

/// Builds the model from a parsed (so structurally valid) portfolio. Rejects, naming
/// each field: a position without a `liquidity` section; a derivative (the workflow
/// holds long cash positions: a derivative's liquidity is its margin, not modelled
/// yet); a missing `fund` or `investors` section; a holding whose completed market data
/// the profile refuses. Weekly and slower dealing runs: requests wait for the next
/// dealing date.
pub fn prepare(portfolio: &Portfolio) -> Result<LiquidityModel, Rejection> {
    let mut issues = Issues(Vec::new());
    let nav = portfolio.total_market_value();

    let mut holdings = Vec::with_capacity(portfolio.positions.len());
    for (i, p) in portfolio.positions.iter().enumerate() {
        let at = format!("positions[{i}]");
        if p.instrument_type.is_derivative() {
            issues.add(
                format!("{at}.instrument_type"),
                "derivatives are not modelled by the liquidity workflow yet (their liquidity \
                 need is margin, not a sale): remove the position or hold its cash equivalent",
            );
            continue;
        }
        let Some(liq) = &p.liquidity else {
            issues.add(
                format!("{at}.liquidity"),
                "required by the liquidity workflow (at least its asset_class)",
            );
            continue;
        };
        let Some(class) = liquidity_class(&liq.asset_class) else {
            issues.add(
                format!("{at}.liquidity.asset_class"),
                format!("{:?} has no liquidity class", liq.asset_class),
            );
            continue;
        };
        let input = HoldingInput {
            id: p.id.clone(),
            asset_class: class,
            market_value: portfolio.base_market_value(p),
            adv: liq.adv,
            spread_bps: liq.bid_ask_bps,
            daily_vol: liq.daily_vol,
            settlement_days: liq.settlement_days,
            issue_outstanding: liq.issue_outstanding,
        };
        match input.complete() {
            Ok(done) => holdings.push(PreparedHolding {
                position: i,
                name: p.name.clone(),
                portfolio_class: p.asset_class,
                holding: done.holding,
                defaulted: done
                    .defaulted
                    .iter()
                    .map(|f| input_field(f).to_owned())
                    .collect(),
            }),
            Err(ProfileError::Holding { field, reason, .. }) => issues.add(
                format!("{at}.liquidity.{}", input_field(field)),
                reason.trim_start_matches("= ").to_owned(),
            ),
            Err(other) => issues.add(format!("{at}.liquidity"), other.to_string()),
        }
    }

    let terms = match &portfolio.fund {
        None => {
            issues.add(
                "fund",
                "required by the liquidity workflow (the dealing terms: dealing_frequency, \
                 notice_days, gate, swing_pricing, buffer_tiers)",
            );
            None
        }
        Some(f) => Some(DealingTerms {
            dealing_frequency: frequency(f.dealing_frequency),
            notice_days: f.notice_days,
            gate: f.gate.map(|g| Gate {
                threshold: g.threshold,
            }),
            swing: f.swing_pricing.map(|s| SwingPricing {
                threshold: s.threshold,
                max_factor: s.max_factor,
            }),
            peer_group: f.peer_group.as_deref().and_then(fund_type),
        }),
    };
    let tier_classes: Vec<AssetClass> = portfolio
        .fund
        .iter()
        .flat_map(|f| f.buffer_tiers.iter())
        .filter_map(|name| liquidity_class(name))
        .filter(|c| *c != AssetClass::Cash)
        .collect();

    let investors = if portfolio.investors.is_empty() {
        issues.add(
            "investors",
            "required by the liquidity workflow (the share register: who holds the fund, \
             on what terms)",
        );
        None
    } else {
        let fund_notice = portfolio.fund.as_ref().map_or(0, |f| f.notice_days);
        let fund_dealing = portfolio
            .fund
            .as_ref()
            .map_or(core::DealingFrequency::Daily, |f| f.dealing_frequency);
        let mut groups = Vec::with_capacity(portfolio.investors.len());
        for (i, inv) in portfolio.investors.iter().enumerate() {
            let Some(ty) = investor_type(&inv.investor_type) else {
                issues.add(
                    format!("investors[{i}].type"),
                    format!("{:?} has no investor type", inv.investor_type),
                );
                continue;
            };
            groups.push(InvestorGroup {
                id: inv.id.clone(),
                investor_type: ty,
                aum_share: inv.aum_share,
                holders: inv.holders,
                horizon_years: inv.horizon_years,
                notice_days: inv.notice_days.unwrap_or(fund_notice),
                frequency: frequency(inv.redemption_frequency.unwrap_or(fund_dealing)),
            });
        }
        match InvestorBase::new(groups) {
            Ok(base) => Some(base),
            Err(e) => {
                issues.add(e.field, e.reason);
                None
            }
        }
    };

    let engine: Vec<Holding> = holdings.iter().map(|h| h.holding.clone()).collect();
    let classification = if issues.0.is_empty() {
        match classify_22e4(
            &engine,
            &MarketStress::NONE,
            &CLASSIFICATION_IMPACT,
            &Rule22e4Policy::default(),
        ) {
            Ok(a) => Some(a),
            Err(e) => {
                let path = match &e {
                    ProfileError::Holding { id, field, .. } => holdings
                        .iter()
                        .find(|h| h.holding.id == *id)
                        .map_or("positions".to_owned(), |h| {
                            format!("positions[{}].liquidity.{}", h.position, input_field(field))
                        }),
                    _ => "positions".to_owned(),
                };
                issues.add(path, e.to_string());
                None
            }
        }
    } else {
        None
    };

    let (Some(terms), Some(investors), Some(classification), true) =
        (terms, investors, classification, issues.0.is_empty())
    else {
        return Err(Rejection { issues: issues.0 });
    };

    let share = |v: f64| v / nav;
    let cash: f64 = holdings
        .iter()
        .filter(|h| h.holding.asset_class == AssetClass::Cash)
        .map(|h| h.holding.market_value)
        .sum();
    let tiers: Vec<Slice<AssetClass>> = tier_classes
        .iter()
        .map(|&class| {
            let value = holdings
                .iter()
                .filter(|h| h.holding.asset_class == class)
                .map(|h| h.holding.market_value)
                .sum();
            Slice {
                class,
                value,
                share: share(value),
            }
        })
        .collect();
    let total = cash + tiers.iter().map(|t| t.value).sum::<f64>();
    let buffer = Buffer {
        cash,
        tiers,
        total,
        share: share(total),
    };

    let mut allocation: Vec<Slice<core::AssetClass>> = Vec::new();
    let mut by_liquidity: std::collections::BTreeMap<AssetClass, f64> = Default::default();
    for h in &holdings {
        let v = h.holding.market_value;
        match allocation.iter_mut().find(|s| s.class == h.portfolio_class) {
            Some(s) => s.value += v,
            None => allocation.push(Slice {
                class: h.portfolio_class,
                value: v,
                share: 0.0,
            }),
        }
        *by_liquidity.entry(h.holding.asset_class).or_default() += v;
    }
    for s in &mut allocation {
        s.share = share(s.value);
    }
    let liquidity_classes = by_liquidity
        .into_iter()
        .map(|(class, value)| Slice {
            class,
            value,
            share: share(value),
        })
        .collect();

    Ok(LiquidityModel {
        portfolio_id: portfolio.portfolio_id.clone(),
        name: portfolio.name.clone(),
        base_currency: portfolio.base_currency.clone(),
        as_of: portfolio.as_of.clone(),
        nav,
        holdings,
        terms,
        buffer,
        investors,
        allocation,
        liquidity_classes,
        classification,
    })
}

#[cfg(test)]
mod tests;
