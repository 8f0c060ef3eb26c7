//! The credit agent: expected loss PD × LGD × EAD, single-name and sector
//! concentration against capital, and the unexpected loss of the asymptotic single risk
//! factor model at 99.9% (Vasicek 2002; the Basel IRB formula, BCBS 2005 "An
//! Explanatory Note on the Basel II IRB Risk Weight Functions"), reusing the loan
//! book's implementation of the formula.
//!
//! EAD = drawn + CCF × undrawn (BCBS 2006 ¶310–316: the credit-conversion factor turns
//! the undrawn part of a commitment into the amount expected to be drawn by default).

use crate::portfolio::Portfolio;
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use stresslab_loans::credit::{irb_capital, PD_FLOOR};
use stresslab_loans::AssetClass as IrbClass;

pub const AGENT: &str = "credit";
pub const VERSION: &str = "credit/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// Issuer or sector.
    pub name: String,
    pub ead: f64,
    /// EAD over capital.
    pub share_of_capital: f64,
    pub limit: f64,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditFindings {
    pub exposures: usize,
    pub total_ead: f64,
    /// Of which from undrawn commitments (CCF × undrawn).
    pub undrawn_ead: f64,
    /// One-year expected loss Σ PD × LGD × EAD, USD.
    pub expected_loss: f64,
    /// ASRF unexpected loss at 99.9% (Σ K × EAD, corporate correlation and maturity
    /// adjustment, PD floored at 0.03%), USD.
    pub unexpected_loss: f64,
    pub unexpected_loss_pct_capital: f64,
    pub capital: f64,
    /// Largest issuers by EAD, largest first (all breaches included).
    pub single_names: Vec<Concentration>,
    pub sectors: Vec<Concentration>,
    /// Exposure-weighted PD.
    pub average_pd: f64,
}

pub fn assess(portfolio: &Portfolio, settings: &Settings) -> CreditFindings {
    let capital = portfolio.capital();
    let mut by_issuer: BTreeMap<&str, f64> = BTreeMap::new();
    let mut by_sector: BTreeMap<&str, f64> = BTreeMap::new();
    let (mut total, mut undrawn, mut el, mut ul, mut pd_weighted, mut n) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0);
    for p in &portfolio.positions {
        let Some(c) = &p.credit else { continue };
        let drawn = c.drawn.unwrap_or(p.market_value.max(0.0));
        let ead = drawn + c.ccf * c.undrawn;
        n += 1;
        total += ead;
        undrawn += c.ccf * c.undrawn;
        el += c.pd * c.lgd * ead;
        pd_weighted += c.pd * ead;
        let pd = c.pd.max(PD_FLOOR);
        ul += irb_capital(
            IrbClass::Corporate,
            pd,
            c.lgd,
            c.maturity_years.clamp(1.0, 5.0),
        ) * ead;
        *by_issuer
            .entry(p.issuer.as_deref().unwrap_or(&p.id))
            .or_default() += ead;
        *by_sector
            .entry(p.sector.as_deref().unwrap_or("unclassified"))
            .or_default() += ead;
    }
    let limits = &settings.limits;
    CreditFindings {
        exposures: n,
        total_ead: total,
        undrawn_ead: undrawn,
        expected_loss: el,
        unexpected_loss: ul,
        unexpected_loss_pct_capital: ul / capital,
        capital,
        single_names: concentrations(by_issuer, capital, limits.single_name_credit, 10),
        sectors: concentrations(by_sector, capital, limits.sector_credit, 10),
        average_pd: if total > 0.0 {
            pd_weighted / total
        } else {
            0.0
        },
    }
}

/// The `top` largest, plus every breach beyond them.
fn concentrations(
    groups: BTreeMap<&str, f64>,
    capital: f64,
    limit: f64,
    top: usize,
) -> Vec<Concentration> {
    let mut v: Vec<Concentration> = groups
        .into_iter()
        .map(|(name, ead)| Concentration {
            name: name.to_string(),
            ead,
            share_of_capital: ead / capital,
            limit,
            breached: ead / capital > limit,
        })
        .collect();
    v.sort_by(|a, b| b.ead.total_cmp(&a.ead).then_with(|| a.name.cmp(&b.name)));
    let keep = v.iter().filter(|c| c.breached).count().max(top);
    v.truncate(keep);
    v
}
