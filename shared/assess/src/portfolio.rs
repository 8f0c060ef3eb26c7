//! What an assessment is asked about: one portfolio's positions, its liabilities, and
//! the limits to judge it by. Parsed strictly (unknown fields are errors) and then
//! validated as a whole, so a bad request lists every bad field by its path
//! (`positions[12].option.strike`) and nothing is computed on half-valid input.

use crate::model::{FactorKind, MarketModel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of instrument a position is. Decides which terms it must carry and how the
/// agents treat it (options are revalued, credit instruments carry default risk,
/// commitments have undrawn amounts, cash is liquid at no cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Equity,
    Etf,
    GovernmentBond,
    CorporateBond,
    Loan,
    /// An undrawn or partly drawn credit facility the portfolio has granted.
    Commitment,
    EquityOption,
    FxForward,
    Commodity,
    Cash,
}

impl AssetClass {
    /// Held against the single-issuer limit: equities, ETFs, corporate bonds, loans and
    /// commitments. Government bonds are not (UCITS Directive 2009/65/EC Art. 52(3)
    /// allows 35% per sovereign issuer, and many mandates exempt them), nor are cash,
    /// derivatives (their risk is in the underlying's factor) and commodities.
    pub fn under_issuer_limit(self) -> bool {
        matches!(
            self,
            AssetClass::Equity
                | AssetClass::Etf
                | AssetClass::CorporateBond
                | AssetClass::Loan
                | AssetClass::Commitment
        )
    }

    pub fn carries_credit_risk(self) -> bool {
        matches!(
            self,
            AssetClass::CorporateBond | AssetClass::Loan | AssetClass::Commitment
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    Call,
    Put,
}

/// A European equity option on one of the model's equity factors, priced by
/// Black–Scholes–Merton with a continuous dividend yield.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionTerms {
    /// The model factor of the underlying (an equity, ETF or index factor).
    pub underlying: String,
    #[serde(rename = "type")]
    pub option_type: OptionType,
    /// Underlying price today.
    pub spot: f64,
    pub strike: f64,
    /// Years to expiry.
    pub expiry_years: f64,
    /// Black–Scholes implied volatility, annual.
    pub implied_vol: f64,
    /// Signed number of underlying units controlled (contracts × multiplier); negative
    /// when written.
    pub quantity: f64,
    #[serde(default)]
    pub rate: f64,
    #[serde(default)]
    pub dividend_yield: f64,
}

/// Default risk of a bond, loan or commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditTerms {
    /// One-year probability of default.
    pub pd: f64,
    /// Loss given default, fraction of exposure. Default 45%: the Basel foundation-IRB
    /// value for senior unsecured corporate claims (BCBS 2006 ¶287).
    #[serde(default = "default_lgd")]
    pub lgd: f64,
    /// Drawn amount; defaults to the position's market value.
    #[serde(default)]
    pub drawn: Option<f64>,
    /// Committed but undrawn amount.
    #[serde(default)]
    pub undrawn: f64,
    /// Credit-conversion factor applied to the undrawn amount. Default 75%: the
    /// foundation-IRB CCF for committed facilities (BCBS 2006 ¶311).
    #[serde(default = "default_ccf")]
    pub ccf: f64,
    /// Effective maturity in years, for the IRB maturity adjustment (default 2.5, the
    /// foundation-IRB value, BCBS 2006 ¶318).
    #[serde(default = "default_maturity")]
    pub maturity_years: f64,
}

fn default_lgd() -> f64 {
    0.45
}
fn default_ccf() -> f64 {
    0.75
}
fn default_maturity() -> f64 {
    2.5
}

/// How fast a position turns into cash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidityTerms {
    /// Average daily traded value in the market, USD per day.
    pub adv: f64,
    /// Full quoted bid-ask spread, basis points.
    pub spread_bp: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub id: String,
    pub asset_class: AssetClass,
    /// Signed market value in USD (negative when short). Options: the option's value,
    /// which must agree with its terms (checked).
    pub market_value: f64,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub sector: Option<String>,
    /// Dollar sensitivities to the model factors: P&L = Σ exposure × move. For return
    /// factors (equity, commodity, FX, volatility) USD per unit log-move — a stock's
    /// market value × beta, an FX forward's notional; for rate and spread factors the
    /// DV01/CS01 in USD per +1 bp (negative for a long bond).
    #[serde(default)]
    pub exposures: BTreeMap<String, f64>,
    /// Annual volatility of the position's return not explained by the factors.
    #[serde(default)]
    pub idiosyncratic_vol: f64,
    #[serde(default)]
    pub option: Option<OptionTerms>,
    #[serde(default)]
    pub credit: Option<CreditTerms>,
    #[serde(default)]
    pub liquidity: Option<LiquidityTerms>,
}

/// A contractual or expected cash outflow: redemptions, margin calls, maturing
/// borrowing, expected draws on commitments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outflow {
    pub label: String,
    /// Business days from today when it falls due.
    pub due_in_days: u32,
    pub amount: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Funding {
    /// Short-term borrowing outstanding, USD.
    #[serde(default)]
    pub borrowing: f64,
    /// Spread over the risk-free rate paid on borrowing, basis points a year.
    #[serde(default)]
    pub spread_bp: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portfolio {
    pub portfolio_id: String,
    /// Net asset value, USD.
    pub nav: f64,
    /// Capital the credit limits are measured against; defaults to the NAV (for a fund
    /// the NAV is its capital; a bank would give its Tier 1).
    #[serde(default)]
    pub capital: Option<f64>,
    pub positions: Vec<Position>,
    #[serde(default)]
    pub outflows: Vec<Outflow>,
    #[serde(default)]
    pub funding: Funding,
}

impl Portfolio {
    pub fn capital(&self) -> f64 {
        self.capital.unwrap_or(self.nav)
    }
}

/// One bad field: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldIssue {
    /// JSON path of the field, e.g. `positions[12].option.strike`.
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// A position's field path, formatted only when the field is bad (validation of a
/// 10,000-position book would otherwise build 100,000 strings it never shows).
#[derive(Clone, Copy)]
struct At<'a> {
    position: usize,
    group: &'a str,
    field: &'a str,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "positions[{}].{}{}",
            self.position, self.group, self.field
        )
    }
}

struct Issues(Vec<FieldIssue>);

type Field<'a> = &'a dyn std::fmt::Display;

impl Issues {
    fn add(&mut self, field: impl std::fmt::Display, reason: impl Into<String>) {
        self.0.push(FieldIssue {
            field: field.to_string(),
            reason: reason.into(),
        });
    }
    fn finite(&mut self, field: Field, v: f64) -> bool {
        if v.is_finite() {
            true
        } else {
            self.add(field, format!("{v} is not a finite number"));
            false
        }
    }
    fn in_range(&mut self, field: Field, v: f64, lo: f64, hi: f64, what: &str) {
        if self.finite(field, v) && !(lo..=hi).contains(&v) {
            self.add(field, format!("{v} {what}"));
        }
    }
    fn positive(&mut self, field: Field, v: f64) {
        if self.finite(field, v) && v <= 0.0 {
            self.add(field, format!("{v} must be > 0"));
        }
    }
    fn non_negative(&mut self, field: Field, v: f64) {
        if self.finite(field, v) && v < 0.0 {
            self.add(field, format!("{v} must be ≥ 0"));
        }
    }
}

/// Largest book an assessment accepts: memory is linear in it (a few hundred bytes a
/// position) and the latency budget is stated up to 10,000 positions.
pub const MAX_POSITIONS: usize = 100_000;

/// Relative tolerance between an option's stated market value and its model price
/// (quantity × Black–Scholes): a mismatch means the terms or the value are wrong.
pub const OPTION_VALUE_TOLERANCE: f64 = 0.02;

impl Portfolio {
    /// Every problem with the portfolio against the model, by field path; empty when
    /// it can be assessed.
    pub fn validate(&self, model: &MarketModel) -> Vec<FieldIssue> {
        let mut issues = Issues(Vec::new());
        let lookup = crate::market::factor_lookup(model);
        if self.portfolio_id.trim().is_empty() {
            issues.add("portfolio_id", "must not be empty");
        }
        issues.positive(&"nav", self.nav);
        if let Some(c) = self.capital {
            issues.positive(&"capital", c);
        }
        if self.positions.is_empty() {
            issues.add("positions", "the portfolio has no positions");
        }
        if self.positions.len() > MAX_POSITIONS {
            issues.add(
                "positions",
                format!(
                    "{} positions; at most {MAX_POSITIONS} per assessment",
                    self.positions.len()
                ),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.positions.iter().enumerate() {
            let at = |field: &'static str| At {
                position: i,
                group: "",
                field,
            };
            if p.id.trim().is_empty() {
                issues.add(at("id"), "must not be empty");
            } else if !seen.insert(p.id.as_str()) {
                issues.add(at("id"), format!("duplicate position id {:?}", p.id));
            }
            issues.finite(&at("market_value"), p.market_value);
            issues.in_range(
                &at("idiosyncratic_vol"),
                p.idiosyncratic_vol,
                0.0,
                5.0,
                "must be an annual volatility between 0 and 5 (500%)",
            );
            for (name, beta) in &p.exposures {
                let field = At {
                    position: i,
                    group: "exposures.",
                    field: name,
                };
                if !lookup.contains_key(name.as_str()) {
                    issues.add(field, format!("unknown factor {name:?}"));
                }
                issues.finite(&field, *beta);
            }
            match (p.asset_class, &p.option) {
                (AssetClass::EquityOption, None) => {
                    issues.add(at("option"), "an equity_option needs its option terms")
                }
                (AssetClass::EquityOption, Some(o)) => {
                    let before = issues.0.len();
                    validate_option(&mut issues, i, o, model);
                    if !p.exposures.is_empty() {
                        issues.add(
                            at("exposures"),
                            "an option's exposures come from its terms; leave them out",
                        );
                    }
                    if issues.0.len() == before {
                        let value = crate::market::option_value(o, o.spot, o.implied_vol, 0.0);
                        let tolerance = OPTION_VALUE_TOLERANCE
                            * value.abs().max(o.spot.abs() * o.quantity.abs() * 1e-3);
                        if p.market_value.is_finite() && (p.market_value - value).abs() > tolerance
                        {
                            issues.add(
                                at("market_value"),
                                format!(
                                    "{} disagrees with the option's terms, which value it at {value:.2}",
                                    p.market_value
                                ),
                            );
                        }
                    }
                }
                (_, Some(_)) => issues.add(at("option"), "only an equity_option has option terms"),
                (_, None) => {}
            }
            match (&p.credit, p.asset_class.carries_credit_risk()) {
                (Some(c), true) => validate_credit(&mut issues, i, c),
                (Some(_), false) => issues.add(
                    at("credit"),
                    "credit terms belong to corporate bonds, loans and commitments",
                ),
                (None, true) => issues.add(
                    at("credit"),
                    "a corporate bond, loan or commitment needs its credit terms (pd at least)",
                ),
                (None, false) => {}
            }
            if p.asset_class.carries_credit_risk() && p.issuer.is_none() {
                issues.add(at("issuer"), "a credit position needs its issuer");
            }
            if let Some(l) = &p.liquidity {
                issues.non_negative(&at("liquidity.adv"), l.adv);
                issues.in_range(
                    &at("liquidity.spread_bp"),
                    l.spread_bp,
                    0.0,
                    10_000.0,
                    "must be between 0 and 10,000 bp",
                );
            } else if p.asset_class != AssetClass::Cash {
                issues.add(
                    at("liquidity"),
                    "needs adv and spread_bp (only cash is liquid without them)",
                );
            }
        }
        for (i, o) in self.outflows.iter().enumerate() {
            issues.non_negative(&format!("outflows[{i}].amount"), o.amount);
        }
        issues.non_negative(&"funding.borrowing", self.funding.borrowing);
        issues.in_range(
            &"funding.spread_bp",
            self.funding.spread_bp,
            0.0,
            10_000.0,
            "must be between 0 and 10,000 bp",
        );
        issues.0
    }
}

fn validate_option(issues: &mut Issues, position: usize, o: &OptionTerms, model: &MarketModel) {
    let f = |field: &'static str| At {
        position,
        group: "option.",
        field,
    };
    match model.factor_index(&o.underlying) {
        None => issues.add(
            f("underlying"),
            format!("unknown factor {:?}", o.underlying),
        ),
        Some(j) if model.factors[j].kind != FactorKind::EquityReturn => issues.add(
            f("underlying"),
            format!("{:?} is not an equity factor", o.underlying),
        ),
        Some(_) => {}
    }
    issues.positive(&f("spot"), o.spot);
    issues.positive(&f("strike"), o.strike);
    issues.in_range(
        &f("expiry_years"),
        o.expiry_years,
        1e-6,
        30.0,
        "must be between 0 (exclusive) and 30 years",
    );
    issues.in_range(
        &f("implied_vol"),
        o.implied_vol,
        1e-4,
        5.0,
        "must be between 0.0001 and 5",
    );
    issues.finite(&f("quantity"), o.quantity);
    issues.in_range(
        &f("rate"),
        o.rate,
        -0.1,
        0.5,
        "must be between -10% and 50%",
    );
    issues.in_range(
        &f("dividend_yield"),
        o.dividend_yield,
        -0.1,
        0.5,
        "must be between -10% and 50%",
    );
}

fn validate_credit(issues: &mut Issues, position: usize, c: &CreditTerms) {
    let f = |field: &'static str| At {
        position,
        group: "credit.",
        field,
    };
    issues.in_range(
        &f("pd"),
        c.pd,
        0.0,
        1.0,
        "must be a probability between 0 and 1",
    );
    issues.in_range(
        &f("lgd"),
        c.lgd,
        0.0,
        1.0,
        "must be a fraction between 0 and 1",
    );
    if let Some(d) = c.drawn {
        issues.non_negative(&f("drawn"), d);
    }
    issues.non_negative(&f("undrawn"), c.undrawn);
    issues.in_range(
        &f("ccf"),
        c.ccf,
        0.0,
        1.0,
        "must be a fraction between 0 and 1",
    );
    issues.in_range(
        &f("maturity_years"),
        c.maturity_years,
        0.0,
        50.0,
        "must be between 0 and 50 years",
    );
}
