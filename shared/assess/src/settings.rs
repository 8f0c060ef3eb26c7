//! How an assessment is run and judged: simulation size, horizon, seed, the limits the
//! compliance rules and scores use, and each agent's time budget. Every field has a
//! stated default; a request overrides only what it names.

use crate::portfolio::FieldIssue;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Monte Carlo scenarios of the factor moves (default 10,000).
    pub simulations: u32,
    /// VaR / ES horizon in trading days (default 1). The factor covariance is scaled by
    /// it (square-root-of-time: moves taken independent from day to day).
    pub horizon_days: u32,
    pub seed: u64,
    /// Share of a day's traded value the portfolio may take when selling (default 20%).
    pub participation: f64,
    /// An option is revalued in full when its delta-gamma-vega P&L misses the full
    /// revaluation by more than this share of its largest P&L over the ±3σ horizon moves
    /// (default 5%).
    pub full_revaluation_error: f64,
    pub limits: Limits,
    pub budgets: Budgets,
    pub tiers: Tiers,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            simulations: 10_000,
            horizon_days: 1,
            seed: 42,
            participation: 0.20,
            full_revaluation_error: 0.05,
            limits: Limits::default(),
            budgets: Budgets::default(),
            tiers: Tiers::default(),
        }
    }
}

/// The limits the compliance rules check and the agents' scores are measured against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// 99% VaR over the horizon, share of NAV (default 3%).
    pub var99: f64,
    /// Worst named stress scenario's loss, share of NAV (default 20%), over the
    /// scenarios of at most `stress_horizon_days`.
    pub stress_loss: f64,
    /// Longest scenario the stress limit applies to, trading days (default 63, a
    /// quarter: a fund can de-risk within a multi-year bear market, so the 1973-74 and
    /// 2000-02 replays are reported but not held against the limit).
    pub stress_horizon_days: u32,
    /// Credit exposure (EAD) to one issuer, share of capital (default 10%).
    pub single_name_credit: f64,
    /// Credit exposure (EAD) to one sector, share of capital (default 10%).
    pub sector_credit: f64,
    /// Market value held in one issuer's securities, share of NAV (default 10%).
    pub issuer_holding: f64,
    /// Gross exposure (Σ|market value| + options' delta-equivalent notional) over NAV
    /// (default 2.0: the UCITS commitment-approach cap of 100% of NAV on top of NAV).
    pub leverage: f64,
    /// Cash and what can be sold within 30 days over the outflows due in 30 days
    /// (default 1.0, the LCR's 100% floor).
    pub liquidity_coverage: f64,
    /// Illiquid investments, share of net assets (default 15%, SEC Rule 22e-4(b)(1)(iv)).
    pub illiquid_share: f64,
    /// Unexpected credit loss (ASRF, 99.9%) over capital (default 8%).
    pub credit_capital: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            var99: 0.03,
            stress_loss: 0.20,
            stress_horizon_days: 63,
            single_name_credit: 0.10,
            sector_credit: 0.10,
            issuer_holding: 0.10,
            leverage: 2.0,
            liquidity_coverage: 1.0,
            illiquid_share: 0.15,
            credit_capital: 0.08,
        }
    }
}

/// Wall-clock budget per agent, milliseconds. An agent that runs over is marked
/// `timed_out` and the consensus goes on without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budgets {
    pub market_ms: u64,
    pub credit_ms: u64,
    pub liquidity_ms: u64,
    pub compliance_ms: u64,
}

impl Default for Budgets {
    /// Generous against the measured medians (≈ 1–10 ms in release for 1,000–10,000
    /// positions), so only a genuine stall trips them.
    fn default() -> Self {
        Budgets {
            market_ms: 2_000,
            credit_ms: 1_000,
            liquidity_ms: 1_000,
            compliance_ms: 500,
        }
    }
}

/// Where the combined score sends an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tiers {
    /// At or above: a risk officer reviews (default 40).
    pub human_review: f64,
    /// At or above: escalated to the executive risk committee (default 70).
    pub executive: f64,
}

impl Default for Tiers {
    fn default() -> Self {
        Tiers {
            human_review: 40.0,
            executive: 70.0,
        }
    }
}

pub const MIN_SIMULATIONS: u32 = 1_000;
pub const MAX_SIMULATIONS: u32 = 200_000;
pub const MAX_HORIZON_DAYS: u32 = 60;

impl Settings {
    pub fn validate(&self) -> Vec<FieldIssue> {
        let mut out = Vec::new();
        let mut bad = |field: &str, reason: String| {
            out.push(FieldIssue {
                field: format!("settings.{field}"),
                reason,
            })
        };
        if !(MIN_SIMULATIONS..=MAX_SIMULATIONS).contains(&self.simulations) {
            bad(
                "simulations",
                format!(
                    "{} is outside {MIN_SIMULATIONS}..={MAX_SIMULATIONS}",
                    self.simulations
                ),
            );
        }
        if !(1..=MAX_HORIZON_DAYS).contains(&self.horizon_days) {
            bad(
                "horizon_days",
                format!("{} is outside 1..={MAX_HORIZON_DAYS}", self.horizon_days),
            );
        }
        let fractions = [
            ("participation", self.participation),
            ("full_revaluation_error", self.full_revaluation_error),
            ("limits.var99", self.limits.var99),
            ("limits.stress_loss", self.limits.stress_loss),
            ("limits.single_name_credit", self.limits.single_name_credit),
            ("limits.sector_credit", self.limits.sector_credit),
            ("limits.issuer_holding", self.limits.issuer_holding),
            ("limits.illiquid_share", self.limits.illiquid_share),
            ("limits.credit_capital", self.limits.credit_capital),
        ];
        for (field, v) in fractions {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                bad(field, format!("{v} must be a fraction in (0, 1]"));
            }
        }
        for (field, v) in [
            ("limits.leverage", self.limits.leverage),
            ("limits.liquidity_coverage", self.limits.liquidity_coverage),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 100.0) {
                bad(field, format!("{v} must be a positive ratio up to 100"));
            }
        }
        if !(1..=2_520).contains(&self.limits.stress_horizon_days) {
            bad(
                "limits.stress_horizon_days",
                format!("{} is outside 1..=2520", self.limits.stress_horizon_days),
            );
        }
        let t = &self.tiers;
        if !(t.human_review.is_finite()
            && t.executive.is_finite()
            && 0.0 < t.human_review
            && t.human_review < t.executive
            && t.executive <= 100.0)
        {
            bad(
                "tiers",
                format!(
                    "need 0 < human_review ({}) < executive ({}) ≤ 100",
                    t.human_review, t.executive
                ),
            );
        }
        for (field, v) in [
            ("budgets.market_ms", self.budgets.market_ms),
            ("budgets.credit_ms", self.budgets.credit_ms),
            ("budgets.liquidity_ms", self.budgets.liquidity_ms),
            ("budgets.compliance_ms", self.budgets.compliance_ms),
        ] {
            if !(1..=60_000).contains(&v) {
                bad(field, format!("{v} ms is outside 1..=60000"));
            }
        }
        out
    }
}
