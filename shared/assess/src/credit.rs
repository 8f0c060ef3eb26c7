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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::{AssetClass, CreditTerms, LiquidityTerms, Position};

    fn loan(id: &str, issuer: &str, sector: &str, drawn: f64, undrawn: f64, pd: f64) -> Position {
        Position {
            id: id.into(),
            asset_class: if undrawn > 0.0 {
                AssetClass::Commitment
            } else {
                AssetClass::Loan
            },
            market_value: drawn,
            issuer: Some(issuer.into()),
            sector: Some(sector.into()),
            exposures: Default::default(),
            idiosyncratic_vol: 0.0,
            option: None,
            credit: Some(CreditTerms {
                pd,
                lgd: 0.45,
                drawn: None,
                undrawn,
                ccf: 0.75,
                maturity_years: 2.5,
            }),
            liquidity: Some(LiquidityTerms {
                adv: 1e6,
                spread_bp: 100.0,
            }),
        }
    }

    /// EL = PD·LGD·EAD with EAD = drawn + CCF·undrawn; UL = K·EAD with K the IRB
    /// corporate capital, which at PD 1%, LGD 45%, M 2.5 is the Basel II Annex 5
    /// illustrative risk weight 92.32% / 12.5.
    #[test]
    fn expected_and_unexpected_loss_and_concentration() {
        let p = Portfolio {
            portfolio_id: "c".into(),
            nav: 100e6,
            capital: Some(50e6),
            positions: vec![
                loan("a", "ACME", "Industrials", 4e6, 0.0, 0.01),
                loan("b", "ACME", "Industrials", 2e6, 4e6, 0.01),
                loan("c", "BETA", "Energy", 1e6, 0.0, 0.01),
            ],
            outflows: vec![],
            funding: Default::default(),
        };
        let c = assess(&p, &Settings::default());
        let ead = 4e6 + 2e6 + 0.75 * 4e6 + 1e6;
        assert!((c.total_ead - ead).abs() < 1e-6);
        assert!((c.expected_loss - 0.01 * 0.45 * ead).abs() < 1e-6);
        let k = 0.9232 / 12.5;
        assert!(
            (c.unexpected_loss / (k * ead) - 1.0).abs() < 1e-4,
            "{} vs {}",
            c.unexpected_loss,
            k * ead
        );
        assert_eq!(c.single_names[0].name, "ACME");
        assert!((c.single_names[0].share_of_capital - 9e6 / 50e6).abs() < 1e-12);
        assert!(c.single_names[0].breached); // 18% > 10%
        assert!(!c.single_names[1].breached); // BETA 2%
        assert!(c.sectors[0].breached);
    }
}
