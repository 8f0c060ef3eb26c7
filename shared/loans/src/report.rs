//! The results document of one simulation (`loan_results.json`, the body of
//! `POST /loan-simulations`, `schemas/loan-results.schema.json`) and the per-loan
//! projections CSV: what the CLI writes and the API returns, built once here so both
//! say the same thing.
//!
//! Keys are the seed's (PascalCase: `SimulationId`, `ProjectedDefaultRisk`,
//! `ProjectedBalance`, `OverallImpact`, compliance `Threshold` / `Actual` / `Status`),
//! and ours follow them. `Scenario.Shock` and `Scenario.Settings` are the engine's
//! inputs exactly as given, so a result names everything that produced it.
//! Amounts are in the book's currency; rates, PDs and shares are fractions of one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

use crate::simulate::{ComplianceStatus, Metric};
use crate::{LoanBook, RateShock, Results, Settings};

/// Version of the engine's numerics: part of the simulation id, so a change to the
/// method gives new ids rather than different numbers under an old one.
pub const ENGINE_VERSION: &str = "loans-1";

/// Version of this document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// `loans-<20 hex digits>`: a digest of the engine version, the book's bytes, the shock
/// and the settings (length-prefixed fields). Same inputs → same id, on the CLI and the
/// API alike.
pub fn simulation_id(book_sha256: &str, shock: &RateShock, settings: &Settings) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(b"stresslab-loans-v1");
    field(ENGINE_VERSION.as_bytes());
    field(book_sha256.as_bytes());
    // serde_json of these types is deterministic (struct field order, shortest
    // round-trip floats).
    field(serde_json::to_string(shock).unwrap_or_default().as_bytes());
    field(
        serde_json::to_string(settings)
            .unwrap_or_default()
            .as_bytes(),
    );
    format!("loans-{}", &sha256_hex(&h.finalize())[..20])
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A short human name of the shock, e.g. `+300 bp ramped over 12 months`.
pub fn describe(shock: &RateShock) -> String {
    match shock {
        RateShock::Parallel { bp } => format!("{bp:+} bp parallel"),
        RateShock::Ramp { bp, months } => format!("{bp:+} bp ramped over {months} months"),
        RateShock::Path { bp_by_month } => format!(
            "path of {} months ending at {:+} bp",
            bp_by_month.len(),
            bp_by_month.last().copied().unwrap_or(0.0)
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Scenario {
    pub name: String,
    pub shock: RateShock,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BookSummary {
    pub sha256: String,
    pub loans: usize,
    /// Sum of current balances (the exposure at default of the book).
    pub exposure: f64,
}

/// Book-level effect of the shock: baseline (no shock, through-the-cycle PD) against
/// stressed. Changes are stressed − baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OverallImpact {
    pub expected_loss_base: f64,
    pub expected_loss_stressed: f64,
    pub expected_loss_change: f64,
    pub capital_base: f64,
    pub capital_stressed: f64,
    pub capital_change: f64,
    pub risk_weighted_assets_stressed: f64,
    /// Defaults × LGD over the horizon, stressed projection.
    pub credit_loss_over_horizon: f64,
    pub net_interest_income_base: f64,
    pub net_interest_income_stressed: f64,
    pub net_interest_income_change: f64,
    pub balance_at_horizon_base: f64,
    pub balance_at_horizon_stressed: f64,
    /// Mean payment shock of the loans whose payment changes (floating), fraction.
    pub mean_payment_shock_floating: f64,
    pub loans_breaching_dscr_floor: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComplianceMetric {
    pub metric: Metric,
    pub threshold: f64,
    pub actual: f64,
    pub status: ComplianceStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonthRow {
    pub month: u32,
    /// Market rate shift applied this month, decimal.
    pub shift: f64,
    pub balance_base: f64,
    pub balance_stressed: f64,
    pub defaults_stressed: f64,
    pub prepayments_stressed: f64,
    pub scheduled_principal_stressed: f64,
    pub net_interest_income_base: f64,
    pub net_interest_income_stressed: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoanRow {
    pub loan_id: String,
    /// Stressed one-year PD (after the payment shock and the stated downturn).
    pub projected_default_risk: f64,
    /// Performing balance at the horizon, stressed projection.
    pub projected_balance: f64,
    pub baseline_default_risk: f64,
    pub payment_shock: f64,
    pub stressed_dscr: f64,
    pub breaches_dscr_floor: bool,
    pub expected_loss_stressed: f64,
    pub capital_stressed: f64,
}

/// The whole results document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoanSimulation {
    pub schema_version: u32,
    pub simulation_id: String,
    pub engine_version: String,
    pub as_of: Date,
    pub horizon_months: u32,
    pub book: BookSummary,
    pub scenario: Scenario,
    pub overall_impact: OverallImpact,
    pub compliance_metrics: Vec<ComplianceMetric>,
    pub monthly: Vec<MonthRow>,
    /// One row per loan, in book order; empty when the caller asked for totals only.
    pub loans: Vec<LoanRow>,
}

impl LoanSimulation {
    /// The document of `results`, simulated from the book whose bytes hash to
    /// `book_sha256`. `with_loans = false` leaves the per-loan rows out.
    pub fn new(
        book: &LoanBook,
        book_sha256: &str,
        shock: &RateShock,
        settings: &Settings,
        results: &Results,
        with_loans: bool,
    ) -> LoanSimulation {
        let t = &results.totals;
        let l = &results.loans;
        let m = &results.months;
        let floating: Vec<f64> = book
            .loans
            .iter()
            .zip(&l.payment_shock)
            .filter(|(loan, _)| loan.loan_type.basis == crate::RateBasis::Floating)
            .map(|(_, s)| *s)
            .collect();
        let last = |v: &[f64]| v.last().copied().unwrap_or(0.0);
        let overall = OverallImpact {
            expected_loss_base: t.expected_loss_base,
            expected_loss_stressed: t.expected_loss_stressed,
            expected_loss_change: t.expected_loss_stressed - t.expected_loss_base,
            capital_base: t.capital_base,
            capital_stressed: t.capital_stressed,
            capital_change: t.capital_stressed - t.capital_base,
            risk_weighted_assets_stressed: t.risk_weighted_assets_stressed,
            credit_loss_over_horizon: t.loss_stressed,
            net_interest_income_base: t.net_interest_income_base,
            net_interest_income_stressed: t.net_interest_income_stressed,
            net_interest_income_change: t.net_interest_income_change,
            balance_at_horizon_base: last(&m.balance_base),
            balance_at_horizon_stressed: last(&m.balance_stressed),
            mean_payment_shock_floating: if floating.is_empty() {
                0.0
            } else {
                floating.iter().sum::<f64>() / floating.len() as f64
            },
            loans_breaching_dscr_floor: l.breaches_dscr_floor.iter().filter(|b| **b).count(),
        };
        let monthly = (0..m.balance_base.len())
            .map(|i| MonthRow {
                month: i as u32 + 1,
                shift: results.shifts[i],
                balance_base: m.balance_base[i],
                balance_stressed: m.balance_stressed[i],
                defaults_stressed: m.defaults_stressed[i],
                prepayments_stressed: m.prepayments_stressed[i],
                scheduled_principal_stressed: m.scheduled_principal_stressed[i],
                net_interest_income_base: m.net_interest_income_base[i],
                net_interest_income_stressed: m.net_interest_income_stressed[i],
            })
            .collect();
        let loans = if with_loans {
            book.loans
                .iter()
                .enumerate()
                .map(|(i, loan)| LoanRow {
                    loan_id: loan.loan_id.0.clone(),
                    projected_default_risk: l.pd_stressed[i],
                    projected_balance: l.balance_end_stressed[i],
                    baseline_default_risk: l.pd_base[i],
                    payment_shock: l.payment_shock[i],
                    stressed_dscr: l.dscr_stressed[i],
                    breaches_dscr_floor: l.breaches_dscr_floor[i],
                    expected_loss_stressed: l.expected_loss_stressed[i],
                    capital_stressed: l.capital_stressed[i],
                })
                .collect()
        } else {
            Vec::new()
        };
        LoanSimulation {
            schema_version: SCHEMA_VERSION,
            simulation_id: simulation_id(book_sha256, shock, settings),
            engine_version: ENGINE_VERSION.to_owned(),
            as_of: settings.as_of,
            horizon_months: settings.horizon_months,
            book: BookSummary {
                sha256: book_sha256.to_owned(),
                loans: book.loans.len(),
                exposure: t.exposure,
            },
            scenario: Scenario {
                name: describe(shock),
                shock: shock.clone(),
                settings: settings.clone(),
            },
            overall_impact: overall,
            compliance_metrics: results
                .compliance
                .iter()
                .map(|c| ComplianceMetric {
                    metric: c.metric,
                    threshold: c.threshold,
                    actual: c.actual,
                    status: c.status,
                })
                .collect(),
            monthly,
            loans,
        }
    }

    /// A few lines for a terminal: the headline figures and each compliance metric.
    pub fn summary(&self) -> String {
        let o = &self.overall_impact;
        let money = |x: f64| format!("{x:.0}");
        let mut s = format!(
            "simulation {} — {} on {} loans (exposure {}), as of {}, {} months\n",
            self.simulation_id,
            self.scenario.name,
            self.book.loans,
            money(self.book.exposure),
            self.as_of,
            self.horizon_months
        );
        s.push_str(&format!(
            "  expected loss  {} → {} ({:+})\n  IRB capital    {} → {} ({:+})\n  NII over horizon {} → {} ({:+})\n  credit loss over horizon {}; {} loans below the DSCR floor\n",
            money(o.expected_loss_base),
            money(o.expected_loss_stressed),
            o.expected_loss_change.round(),
            money(o.capital_base),
            money(o.capital_stressed),
            o.capital_change.round(),
            money(o.net_interest_income_base),
            money(o.net_interest_income_stressed),
            o.net_interest_income_change.round(),
            money(o.credit_loss_over_horizon),
            o.loans_breaching_dscr_floor
        ));
        for c in &self.compliance_metrics {
            let status = match c.status {
                ComplianceStatus::Compliant => "Compliant",
                ComplianceStatus::NonCompliant => "Non-Compliant",
            };
            let name = match c.metric {
                Metric::ExpectedLossToCapital => "EL / capital",
                Metric::DscrBreachShare => "share below DSCR floor",
            };
            s.push_str(&format!(
                "  {name:<24} {:.4} (limit {:.4}): {status}\n",
                c.actual, c.threshold
            ));
        }
        s
    }
}

/// Per-loan projections as CSV, one row per loan in book order (fields quoted where
/// the CSV rules need it).
pub fn projections_csv(book: &LoanBook, results: &Results) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "LoanId",
        "CustomerId",
        "LoanType",
        "CurrentBalance",
        "BaselineDefaultRisk",
        "ProjectedDefaultRisk",
        "PaymentBase",
        "PaymentStressed",
        "PaymentShock",
        "StressedDscr",
        "BreachesDscrFloor",
        "ProjectedBalance",
        "BaselineBalance",
        "CreditLossOverHorizon",
        "ExpectedLossStressed",
        "CapitalStressed",
    ])?;
    let l = &results.loans;
    for (i, loan) in book.loans.iter().enumerate() {
        let product = match loan.loan_type.class {
            crate::AssetClass::ResidentialMortgage => "Mortgage",
            crate::AssetClass::OtherRetail => "Consumer",
            crate::AssetClass::Corporate => "Corporate",
        };
        let basis = match loan.loan_type.basis {
            crate::RateBasis::Fixed => "Fixed",
            crate::RateBasis::Floating => "Floating",
        };
        w.write_record([
            loan.loan_id.0.clone(),
            loan.customer_id.0.clone(),
            format!("{product}-{basis}"),
            format!("{:.2}", loan.current_balance),
            format!("{:.6}", l.pd_base[i]),
            format!("{:.6}", l.pd_stressed[i]),
            format!("{:.2}", l.payment_base[i]),
            format!("{:.2}", l.payment_stressed[i]),
            format!("{:.6}", l.payment_shock[i]),
            format!("{:.4}", l.dscr_stressed[i]),
            l.breaches_dscr_floor[i].to_string(),
            format!("{:.2}", l.balance_end_stressed[i]),
            format!("{:.2}", l.balance_end_base[i]),
            format!("{:.2}", l.loss_stressed[i]),
            format!("{:.2}", l.expected_loss_stressed[i]),
            format!("{:.2}", l.capital_stressed[i]),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
