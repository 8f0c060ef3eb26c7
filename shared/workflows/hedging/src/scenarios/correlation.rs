//! The 20×20 shock correlation of one scenario: built block by block from the
//! scenario's regime and FX case, repaired to the nearest correlation matrix when the
//! blocks do not fit together, and factored for the path engine.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use stresslab_analytics::correlation_repair::{min_eigenvalue, nearest_correlation};

use super::{CorrelationRegime, FxCorrelationCase, ScenarioConfig, ScenarioError, ScenarioSpec};
use crate::factors::{CurveComponent, FactorClass, RiskFactor, N_FACTORS};

/// How the scenario's matrix was made valid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CorrelationDiagnostics {
    /// Smallest eigenvalue of the block-built target.
    pub target_min_eigenvalue: f64,
    /// Whether the target was not positive definite and was replaced by its Higham
    /// nearest correlation matrix.
    pub repaired: bool,
    /// Frobenius distance of the repair (0 when none).
    pub repair_distance: f64,
    /// Weight δ of the identity in `(1−δ)·C + δ·I` needed for a Cholesky factor of a
    /// (repaired, hence singular) matrix; 0 when none was needed.
    pub identity_blend: f64,
}

/// Below this smallest eigenvalue the target is repaired: a positive definite matrix
/// with a tiny eigenvalue is valid, but its Cholesky factor amplifies rounding.
const MIN_EIGENVALUE: f64 = 1e-8;

fn is_safe_haven(config: &ScenarioConfig, f: RiskFactor) -> bool {
    f.fx_currency()
        .is_some_and(|c| config.fx_correlation.safe_havens.contains(&c))
}

/// The block-built target correlation of a scenario, before any repair.
///
/// Blocks (sign conventions in the module header of [`crate::scenarios`]):
/// - FX–FX: `base` or `stress` in those cases; `stress` with the safe havens' signs
///   flipped in `SafeHavenFlip`; in `Decoupling` every correlation of every FX factor,
///   with the crosses and with the other assets, is 0;
/// - rates: components of one curve uncorrelated (PCA scores are); the same component
///   across curves at `cross_currency_curve_correlation`;
/// - credit: IG–HY at the regime's `credit_ig_hy`;
/// - equity–equity at the regime's `equity_equity`;
/// - cross-asset (levels only among the rates factors): equity–FX `+equity_fx`,
///   equity–level `−equity_bonds`, FX–level `+fx_rates`, credit–equity `credit_equity`,
///   credit–FX `credit_equity · equity_fx` and credit–level `credit_equity ·
///   (−equity_bonds)` (implied through equity as the common risk factor, which keeps
///   the blocks consistent).
///
/// In `SafeHavenFlip` every correlation of a safe-haven currency changes sign (except
/// among safe havens): `D C D` with `D = diag(±1)`, which keeps a valid matrix valid.
pub fn target_correlation(spec: &ScenarioSpec, config: &ScenarioConfig) -> DMatrix<f64> {
    let g = config.regimes.get(spec.regime);
    let fx = &config.fx_correlation;
    let fx_fx = match spec.fx_correlation {
        FxCorrelationCase::Base => fx.base,
        FxCorrelationCase::Stress | FxCorrelationCase::SafeHavenFlip => fx.stress,
        FxCorrelationCase::Decoupling => 0.0,
    };
    let cross = config.cross_currency_curve_correlation;
    let equity_level = -g.equity_bonds;
    let pair = |a: RiskFactor, b: RiskFactor| -> f64 {
        use FactorClass::*;
        let level = |f: RiskFactor| f.curve().is_some_and(|(_, c)| c == CurveComponent::Level);
        match (a.class(), b.class()) {
            (Fx, Fx) => fx_fx,
            (Rates, Rates) => match (a.curve(), b.curve()) {
                (Some((ca, ka)), Some((cb, kb))) if ka == kb && ca != cb => match ka {
                    CurveComponent::Level => cross.level,
                    CurveComponent::Slope => cross.slope,
                    CurveComponent::Curvature => cross.curvature,
                },
                _ => 0.0,
            },
            (Credit, Credit) => g.credit_ig_hy,
            (Equity, Equity) => g.equity_equity,
            (Equity, Fx) | (Fx, Equity) => g.equity_fx,
            (Equity, Rates) if level(b) => equity_level,
            (Rates, Equity) if level(a) => equity_level,
            (Fx, Rates) if level(b) => g.fx_rates,
            (Rates, Fx) if level(a) => g.fx_rates,
            (Credit, Equity) | (Equity, Credit) => g.credit_equity,
            (Credit, Fx) | (Fx, Credit) => g.credit_equity * g.equity_fx,
            (Credit, Rates) if level(b) => g.credit_equity * equity_level,
            (Rates, Credit) if level(a) => g.credit_equity * equity_level,
            _ => 0.0,
        }
    };
    let flip = spec.fx_correlation == FxCorrelationCase::SafeHavenFlip;
    let decoupled = spec.fx_correlation == FxCorrelationCase::Decoupling;
    let sign = |f: RiskFactor| {
        if flip && is_safe_haven(config, f) {
            -1.0
        } else {
            1.0
        }
    };
    DMatrix::from_fn(N_FACTORS, N_FACTORS, |i, j| {
        if i == j {
            return 1.0;
        }
        let (a, b) = (RiskFactor::ALL[i], RiskFactor::ALL[j]);
        if decoupled && (a.class() == FactorClass::Fx || b.class() == FactorClass::Fx) {
            return 0.0;
        }
        sign(a) * sign(b) * pair(a, b)
    })
}

/// The valid correlation matrix of a scenario and its lower Cholesky factor
/// (row-major N×N), with how it was obtained.
pub fn scenario_correlation(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
) -> Result<(DMatrix<f64>, Vec<f64>, CorrelationDiagnostics), ScenarioError> {
    let target = target_correlation(spec, config);
    let target_min_eigenvalue = min_eigenvalue(&target);
    let mut diagnostics = CorrelationDiagnostics {
        target_min_eigenvalue,
        repaired: false,
        repair_distance: 0.0,
        identity_blend: 0.0,
    };
    let mut matrix = if target_min_eigenvalue >= MIN_EIGENVALUE {
        target
    } else {
        // N. J. Higham (2002), IMA J. Numer. Anal. 22(3): nearest correlation matrix.
        let repair = nearest_correlation(&target, 1e-12, 100_000).map_err(|e| {
            ScenarioError::Numerical(format!(
                "scenario {}: correlation repair failed: {e}",
                spec.id
            ))
        })?;
        diagnostics.repaired = true;
        diagnostics.repair_distance = repair.frobenius_distance;
        repair.matrix
    };
    // The repaired matrix sits on the boundary of the PSD cone (some eigenvalues 0): the
    // smallest blend with the identity that clears MIN_EIGENVALUE makes it factorable.
    let lambda_min = min_eigenvalue(&matrix);
    if lambda_min < MIN_EIGENVALUE {
        let delta = ((MIN_EIGENVALUE - lambda_min) / (1.0 - lambda_min)).clamp(0.0, 1.0) * 1.01;
        matrix = matrix.scale(1.0 - delta) + DMatrix::identity(N_FACTORS, N_FACTORS).scale(delta);
        diagnostics.identity_blend = delta;
    }
    let chol = matrix.clone().cholesky().ok_or_else(|| {
        ScenarioError::Numerical(format!(
            "scenario {}: correlation matrix has no Cholesky factor",
            spec.id
        ))
    })?;
    let l = chol.l();
    let mut row_major = Vec::with_capacity(N_FACTORS * N_FACTORS);
    for i in 0..N_FACTORS {
        for j in 0..N_FACTORS {
            row_major.push(l[(i, j)]);
        }
    }
    Ok((matrix, row_major, diagnostics))
}

/// The correlation of a scenario depends only on its regime and FX case: the twelve
/// matrices, repaired and factored once per run, so that building a path spec per
/// scenario costs no eigen-decomposition (a repair takes ~1 ms; 1,000 specs would
/// spend 0.2 s on repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationTable {
    cells: Vec<(
        CorrelationRegime,
        FxCorrelationCase,
        Vec<f64>,
        CorrelationDiagnostics,
    )>,
}

impl CorrelationTable {
    pub fn build(config: &ScenarioConfig) -> Result<Self, ScenarioError> {
        let mut cells = Vec::with_capacity(12);
        for regime in CorrelationRegime::ALL {
            for case in FxCorrelationCase::ALL {
                let probe = ScenarioSpec {
                    id: 0,
                    regime,
                    fx_correlation: case,
                    fx_vol: [0.0; 6],
                    rate_vol_bp: [0.0; 3],
                    credit_spread_vol: 0.0,
                    equity_vol: 0.0,
                };
                let (_, cholesky, diagnostics) = scenario_correlation(&probe, config)?;
                cells.push((regime, case, cholesky, diagnostics));
            }
        }
        Ok(Self { cells })
    }

    /// Lower Cholesky factor (row-major) and diagnostics of a cell.
    pub fn get(
        &self,
        regime: CorrelationRegime,
        case: FxCorrelationCase,
    ) -> (&[f64], CorrelationDiagnostics) {
        let i = CorrelationRegime::ALL
            .iter()
            .position(|r| *r == regime)
            .unwrap_or(0)
            * 4
            + FxCorrelationCase::ALL
                .iter()
                .position(|c| *c == case)
                .unwrap_or(0);
        (&self.cells[i].2, self.cells[i].3)
    }
}
