//! The compliance agent: a rule engine over configurable limits. It runs after the
//! other three (its rules read their figures); a rule whose agent did not finish is
//! reported as not evaluated, never as passed.

use crate::credit::CreditFindings;
use crate::liquidity::LiquidityFindings;
use crate::market::{gross_exposure, MarketFindings};
use crate::portfolio::Portfolio;
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const AGENT: &str = "compliance";
pub const VERSION: &str = "compliance/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 99% VaR over the horizon ≤ limit × NAV.
    VarLimit,
    /// Worst named stress scenario's loss ≤ limit × NAV.
    StressLoss,
    /// Market value in one issuer ≤ limit × NAV.
    IssuerConcentration,
    /// Credit EAD to one issuer ≤ limit × capital.
    SingleNameCredit,
    /// Credit EAD to one sector ≤ limit × capital.
    SectorCredit,
    /// ASRF unexpected credit loss ≤ limit × capital.
    CreditCapital,
    /// Gross exposure ≤ limit × NAV (commitment approach).
    Leverage,
    /// 30-day liquidity coverage ≥ limit.
    LiquidityCoverage,
    /// Illiquid investments ≤ limit × net assets (SEC Rule 22e-4).
    IlliquidShare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    AtMost,
    AtLeast,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RuleStatus {
    Pass,
    Breach,
    NotEvaluated { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub rule: Rule,
    /// What was measured (the issuer or sector for concentration rules).
    pub subject: String,
    pub figure: Option<f64>,
    pub threshold: f64,
    pub bound: Bound,
    #[serde(flatten)]
    pub status: RuleStatus,
    /// figure / threshold (threshold / figure for an at-least rule): above 1 is a breach.
    pub utilisation: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceFindings {
    pub rules: Vec<RuleResult>,
    pub breaches: usize,
    pub not_evaluated: usize,
}

fn check(rule: Rule, subject: &str, figure: f64, threshold: f64, bound: Bound) -> RuleResult {
    let (ok, utilisation) = match bound {
        Bound::AtMost => (figure <= threshold, figure / threshold),
        Bound::AtLeast => (
            figure >= threshold,
            if figure > 0.0 {
                threshold / figure
            } else {
                f64::INFINITY
            },
        ),
    };
    RuleResult {
        rule,
        subject: subject.to_string(),
        figure: Some(figure),
        threshold,
        bound,
        status: if ok {
            RuleStatus::Pass
        } else {
            RuleStatus::Breach
        },
        utilisation: Some(utilisation),
    }
}

fn missing(rule: Rule, agent: &str, threshold: f64, bound: Bound) -> RuleResult {
    RuleResult {
        rule,
        subject: "portfolio".into(),
        figure: None,
        threshold,
        bound,
        status: RuleStatus::NotEvaluated {
            reason: format!("the {agent} agent did not complete"),
        },
        utilisation: None,
    }
}

pub fn assess(
    portfolio: &Portfolio,
    settings: &Settings,
    market: Option<&MarketFindings>,
    credit: Option<&CreditFindings>,
    liquidity: Option<&LiquidityFindings>,
) -> ComplianceFindings {
    let l = &settings.limits;
    let nav = portfolio.nav;
    let mut rules = Vec::new();
    match market {
        Some(m) => {
            rules.push(check(
                Rule::VarLimit,
                "portfolio",
                m.var99.var_pct_nav,
                l.var99,
                Bound::AtMost,
            ));
            if let Some(worst) = m.worst_stress_within(l.stress_horizon_days) {
                rules.push(check(
                    Rule::StressLoss,
                    &worst.name,
                    (-worst.pnl_pct_nav).max(0.0),
                    l.stress_loss,
                    Bound::AtMost,
                ));
            }
        }
        None => {
            rules.push(missing(Rule::VarLimit, "market", l.var99, Bound::AtMost));
            rules.push(missing(
                Rule::StressLoss,
                "market",
                l.stress_loss,
                Bound::AtMost,
            ));
        }
    }
    // Issuer holdings: long market value per issuer, in the securities the issuer limit
    // is about (see `AssetClass::under_issuer_limit`).
    let mut by_issuer: BTreeMap<&str, f64> = BTreeMap::new();
    for p in &portfolio.positions {
        if !p.asset_class.under_issuer_limit() {
            continue;
        }
        if let Some(i) = &p.issuer {
            *by_issuer.entry(i).or_default() += p.market_value.max(0.0);
        }
    }
    let mut issuers: Vec<(&str, f64)> = by_issuer.into_iter().collect();
    issuers.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let breaching: Vec<&(&str, f64)> = issuers
        .iter()
        .filter(|(_, v)| v / nav > l.issuer_holding)
        .collect();
    if breaching.is_empty() {
        if let Some((name, v)) = issuers.first() {
            rules.push(check(
                Rule::IssuerConcentration,
                name,
                v / nav,
                l.issuer_holding,
                Bound::AtMost,
            ));
        }
    } else {
        for (name, v) in breaching {
            rules.push(check(
                Rule::IssuerConcentration,
                name,
                v / nav,
                l.issuer_holding,
                Bound::AtMost,
            ));
        }
    }
    match credit {
        Some(c) => {
            for (rule, list, limit) in [
                (
                    Rule::SingleNameCredit,
                    &c.single_names,
                    l.single_name_credit,
                ),
                (Rule::SectorCredit, &c.sectors, l.sector_credit),
            ] {
                let breaches: Vec<_> = list.iter().filter(|x| x.breached).collect();
                let shown: Vec<_> = if breaches.is_empty() {
                    list.iter().take(1).collect()
                } else {
                    breaches
                };
                for x in shown {
                    rules.push(check(
                        rule,
                        &x.name,
                        x.share_of_capital,
                        limit,
                        Bound::AtMost,
                    ));
                }
            }
            rules.push(check(
                Rule::CreditCapital,
                "portfolio",
                c.unexpected_loss_pct_capital,
                l.credit_capital,
                Bound::AtMost,
            ));
        }
        None => {
            rules.push(missing(
                Rule::SingleNameCredit,
                "credit",
                l.single_name_credit,
                Bound::AtMost,
            ));
            rules.push(missing(
                Rule::SectorCredit,
                "credit",
                l.sector_credit,
                Bound::AtMost,
            ));
            rules.push(missing(
                Rule::CreditCapital,
                "credit",
                l.credit_capital,
                Bound::AtMost,
            ));
        }
    }
    let gross: f64 = portfolio.positions.iter().map(gross_exposure).sum();
    rules.push(check(
        Rule::Leverage,
        "portfolio",
        gross / nav,
        l.leverage,
        Bound::AtMost,
    ));
    match liquidity {
        Some(q) => {
            rules.push(check(
                Rule::LiquidityCoverage,
                "portfolio",
                q.coverage_30d,
                l.liquidity_coverage,
                Bound::AtLeast,
            ));
            rules.push(check(
                Rule::IlliquidShare,
                "portfolio",
                q.illiquid_share,
                l.illiquid_share,
                Bound::AtMost,
            ));
        }
        None => {
            rules.push(missing(
                Rule::LiquidityCoverage,
                "liquidity",
                l.liquidity_coverage,
                Bound::AtLeast,
            ));
            rules.push(missing(
                Rule::IlliquidShare,
                "liquidity",
                l.illiquid_share,
                Bound::AtMost,
            ));
        }
    }
    let breaches = rules
        .iter()
        .filter(|r| r.status == RuleStatus::Breach)
        .count();
    let not_evaluated = rules
        .iter()
        .filter(|r| matches!(r.status, RuleStatus::NotEvaluated { .. }))
        .count();
    ComplianceFindings {
        rules,
        breaches,
        not_evaluated,
    }
}
