//! Daily Monte Carlo paths of the twenty risk factors: the hot loop of the product.
//!
//! Interface (fixed; the implementation lives below it): a [`PathSpec`] says how every
//! factor moves in one volatility scenario; [`simulate`] fills a [`PathBlock`] with the
//! factor values (cumulative change since day 0, in the units of [`crate::factors`]) at
//! the spec's checkpoint days, for paths `first_path..first_path + n` of scenario
//! `scenario` — each path from its own (seed, scenario, path) random stream, so the
//! numbers never depend on how paths are blocked, partitioned or threaded.

use crate::factors::N_FACTORS;
use serde::{Deserialize, Serialize};

/// How one factor moves, per year. Daily steps are 1/252 of a year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FactorDynamics {
    /// Long-run (unconditional, calm-regime) volatility per √year, in the factor's units.
    pub annual_vol: f64,
    /// Drift per year (e.g. an equity risk premium); 0 for FX, rates and spreads.
    pub annual_drift: f64,
    /// Mean-reversion speed κ per year of the factor's level towards 0 (Ornstein–
    /// Uhlenbeck); 0 for a random walk (FX, equity).
    pub mean_reversion: f64,
    /// GJR-GARCH(1,1) daily variance recursion h' = ω + (α + γ·1[ε<0])·ε² + β·h, with
    /// ω set so the unconditional variance is `annual_vol²/252`.
    pub garch_alpha: f64,
    pub garch_beta: f64,
    /// Leverage: extra weight of negative shocks (0 = symmetric GARCH).
    pub garch_gamma: f64,
}

/// A two-state Markov switch of volatility (calm ↔ stressed), path by path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VolRegimeSwitch {
    /// Daily probability of moving from calm to stressed.
    pub p_enter_stress: f64,
    /// Daily probability of moving from stressed back to calm.
    pub p_leave_stress: f64,
    /// Volatility multiplier in the stressed regime (≥ 1).
    pub stress_vol_multiplier: f64,
    /// Probability a path starts in the stressed regime.
    pub start_stressed: f64,
}

/// Everything the path engine needs for one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathSpec {
    pub horizon_days: u32,
    /// Days at which factor values are recorded, strictly ascending, the last equal to
    /// `horizon_days`.
    pub checkpoints: Vec<u32>,
    pub factors: [FactorDynamics; N_FACTORS],
    /// Lower Cholesky factor of the shocks' correlation matrix, row-major N×N.
    pub cholesky: Vec<f64>,
    pub regime: VolRegimeSwitch,
}
