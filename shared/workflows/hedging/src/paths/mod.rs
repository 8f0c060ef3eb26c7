//! Daily Monte Carlo paths of the twenty risk factors: the hot loop of the product.
//!
//! Interface (fixed; the implementation lives below it): a [`PathSpec`] says how every
//! factor moves in one volatility scenario; [`simulate`] fills a [`PathBlock`] with the
//! factor values (cumulative change since day 0, in the units of [`crate::factors`]) at
//! the spec's checkpoint days, for paths `first_path..first_path + n` of scenario
//! `scenario` — each path from its own (seed, scenario, path) random stream, so the
//! numbers never depend on how paths are blocked, partitioned or threaded.
//!
//! Dynamics of factor f on day t (Δ = 1/252 year), for each path:
//! - ε_t = 20 independent standard normals ([`normal`]: Box–Muller in f32, a pair from
//!   each 64-bit output of the path's xoshiro256** stream), z_t = L·ε_t with L
//!   [`PathSpec::cholesky`];
//! - GJR-GARCH(1,1) (L. R. Glosten, R. Jagannathan & D. E. Runkle (1993), J. Finance
//!   48(5)) on the calm-regime shock e_t = √h_t·z_t: h_{t+1} = ω + (α + γ·1[z_t<0])·e_t²
//!   + β·h_t, ω = σ_d²(1 − α − β − γ/2), σ_d² = annual_vol²/252, h_1 = σ_d²;
//! - a two-state Markov regime per path (J. D. Hamilton (1989), Econometrica 57(2)):
//!   the stressed state multiplies the day's shock by `stress_vol_multiplier`. It scales
//!   the shock *after* the GARCH recursion rather than feeding it: fed back, a 3×
//!   multiplier would make any GARCH with β + 9(α + γ/2) ≥ 1 explosive in stress;
//! - the factor level x (cumulative change since day 0) follows an Ornstein–Uhlenbeck
//!   process towards 0, discretised exactly for a vol constant within the day:
//!   x_{t+1} = e^{−κΔ}x_t + μ(1 − e^{−κΔ})/κ + g_t·s·e_t with g_t the regime gain and
//!   s = √((1 − e^{−2κΔ})/(2κΔ)) (→ 1, and the drift → μΔ, for κ = 0: a random walk).
//!
//! Random numbers: path p of scenario c under seed S draws from xoshiro256** seeded
//! (SplitMix64, as `Xoshiro256::seed_from_u64`) with [`path_stream_seed`]`(S, c, p)`.
//! Each day takes 11 outputs: output k < 10 gives the Box–Muller pair of factors 2k
//! (R cos θ) and 2k + 1 (R sin θ), low 32 bits → R, high → θ; output 10's high 32 bits
//! are the regime draw. The layout does not depend
//! on the spec, so two scenarios share their random numbers path by path (common random
//! numbers across scenarios and across candidate hedge programs).
//!
//! Precision: the default inner loop is f32 (16 paths per AVX-512 register) — normals,
//! Cholesky product, GARCH variance and levels; only the checkpoint values are widened
//! to f64. [`InnerLoop::F64`] runs the recursion in f64 (normals still f32), and
//! [`simulate_reference`] is a scalar f64 implementation with Box–Muller in f64. Against
//! it (test `f32_paths_track_the_f64_reference`, 2,000 paths × 252 days × 20 factors of
//! the representative spec, terminal values): f32 max 1.9·10⁻⁵ and RMS 1.8·10⁻⁶ of a
//! factor's cross-path standard deviation, i.e. ≤ 6·10⁻⁴ of the Monte Carlo standard
//! error of a 1,000-path mean (0.032 sd).

// Lane loops index several arrays by the same lane k: an index is clearer than zips.
#[allow(clippy::needless_range_loop)]
mod kernel;
#[allow(clippy::needless_range_loop)]
pub mod normal;
mod reference;
#[cfg(test)]
mod tests;
pub mod throughput;

pub use kernel::path_stream_seed;
pub use reference::simulate_reference;

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
    /// Leverage: extra weight of negative shocks (0 = symmetric GARCH; negative, down to
    /// −α, when positive shocks raise volatility more).
    pub garch_gamma: f64,
    /// Ceiling of the conditional volatility, as a multiple of `annual_vol` (≥ 1).
    /// Simulated GARCH with Gaussian shocks has power-law tails in its variance: with a
    /// persistence near 0.99, a million paths reach conditional vols of 20–30× the
    /// unconditional (daily FX moves of 100%), which no market has shown and which would
    /// dominate every tail figure. The ceiling is the largest conditional-to-
    /// unconditional vol ratio the fitted model reached on its own history (see
    /// `GjrGarchFit::peak_vol_multiple`): as bad as the data, not worse.
    pub max_vol_multiple: f64,
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

/// Trading days per year: the daily step is 1/252 year.
pub const DAYS_PER_YEAR: f64 = 252.0;

/// A spec field that cannot drive the path engine, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathSpecError {
    #[error("horizon_days must be at least 1")]
    EmptyHorizon,
    #[error("checkpoints: {0}")]
    Checkpoints(&'static str),
    #[error("factors[{factor}] ({name}).{field}: {reason}")]
    Factor {
        factor: usize,
        name: &'static str,
        field: &'static str,
        reason: &'static str,
    },
    #[error("cholesky: {0}")]
    Cholesky(String),
    #[error("regime.{field}: {reason}")]
    Regime {
        field: &'static str,
        reason: &'static str,
    },
}

impl PathSpec {
    /// Checks every field the engine relies on; the first problem found is returned.
    pub fn validate(&self) -> Result<(), PathSpecError> {
        if self.horizon_days == 0 {
            return Err(PathSpecError::EmptyHorizon);
        }
        if self.checkpoints.is_empty() {
            return Err(PathSpecError::Checkpoints("at least one day is needed"));
        }
        if self.checkpoints[0] == 0 {
            return Err(PathSpecError::Checkpoints(
                "days start at 1 (day 0 is all zeros)",
            ));
        }
        if self.checkpoints.windows(2).any(|w| w[0] >= w[1]) {
            return Err(PathSpecError::Checkpoints("must be strictly ascending"));
        }
        if self.checkpoints.last() != Some(&self.horizon_days) {
            return Err(PathSpecError::Checkpoints(
                "the last must equal horizon_days",
            ));
        }
        for (i, f) in self.factors.iter().enumerate() {
            let bad = |field, reason| PathSpecError::Factor {
                factor: i,
                name: crate::factors::RiskFactor::ALL[i].name(),
                field,
                reason,
            };
            let fields = [
                ("annual_vol", f.annual_vol),
                ("annual_drift", f.annual_drift),
                ("mean_reversion", f.mean_reversion),
                ("garch_alpha", f.garch_alpha),
                ("garch_beta", f.garch_beta),
                ("garch_gamma", f.garch_gamma),
            ];
            for (field, v) in fields {
                if !v.is_finite() {
                    return Err(bad(field, "must be finite"));
                }
                if field != "annual_drift" && field != "garch_gamma" && v < 0.0 {
                    return Err(bad(field, "must be ≥ 0"));
                }
            }
            if f.max_vol_multiple.is_nan() || f.max_vol_multiple < 1.0 {
                return Err(bad(
                    "max_vol_multiple",
                    "must be ≥ 1 (a ceiling above the unconditional vol)",
                ));
            }
            // A negative γ (volatility rising more after *positive* shocks, as the
            // safe-haven yen's fit shows: it rallies in sell-offs) is a valid GJR model
            // as long as the variance stays positive: α + γ ≥ 0 (Glosten, Jagannathan &
            // Runkle 1993).
            if f.garch_alpha + f.garch_gamma < 0.0 {
                return Err(bad("garch_gamma", "α + γ must be ≥ 0 (positive variance)"));
            }
            if f.garch_alpha + f.garch_beta + 0.5 * f.garch_gamma >= 1.0 {
                return Err(bad(
                    "garch_beta",
                    "α + β + γ/2 must be < 1 for a finite unconditional variance",
                ));
            }
        }
        self.validate_cholesky()?;
        let r = &self.regime;
        for (field, p) in [
            ("p_enter_stress", r.p_enter_stress),
            ("p_leave_stress", r.p_leave_stress),
            ("start_stressed", r.start_stressed),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(PathSpecError::Regime {
                    field,
                    reason: "a probability must lie in [0, 1]",
                });
            }
        }
        if !(r.stress_vol_multiplier.is_finite() && r.stress_vol_multiplier >= 1.0) {
            return Err(PathSpecError::Regime {
                field: "stress_vol_multiplier",
                reason: "must be finite and ≥ 1",
            });
        }
        Ok(())
    }

    fn validate_cholesky(&self) -> Result<(), PathSpecError> {
        let n = N_FACTORS;
        if self.cholesky.len() != n * n {
            return Err(PathSpecError::Cholesky(format!(
                "{} entries, expected {} (row-major {n}×{n})",
                self.cholesky.len(),
                n * n
            )));
        }
        for i in 0..n {
            let row = &self.cholesky[i * n..(i + 1) * n];
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return Err(PathSpecError::Cholesky(format!("[{i}][{j}] is not finite")));
            }
            if let Some(j) = row[i + 1..].iter().position(|v| *v != 0.0) {
                return Err(PathSpecError::Cholesky(format!(
                    "[{i}][{}] above the diagonal must be 0 (lower factor)",
                    i + 1 + j
                )));
            }
            if row[i] < 0.0 {
                return Err(PathSpecError::Cholesky(format!(
                    "diagonal [{i}][{i}] is negative"
                )));
            }
            // A correlation matrix has a unit diagonal: each row of L has unit length.
            let norm2: f64 = row.iter().map(|v| v * v).sum();
            if (norm2 - 1.0).abs() > 1e-6 {
                return Err(PathSpecError::Cholesky(format!(
                    "row {i} has squared length {norm2}, not 1: L·Lᵀ must be a correlation matrix"
                )));
            }
        }
        Ok(())
    }
}

/// Per-day coefficients of one factor, in f64 (the kernels round them to their type).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DailyCoefficients {
    pub(crate) omega: f64,
    pub(crate) alpha: f64,
    pub(crate) gamma: f64,
    pub(crate) beta: f64,
    pub(crate) variance: f64,
    pub(crate) decay: f64,
    pub(crate) shock_scale: f64,
    pub(crate) drift: f64,
    /// Ceiling of the daily variance: `variance · max_vol_multiple²`.
    pub(crate) variance_cap: f64,
}

impl DailyCoefficients {
    pub(crate) fn of(f: &FactorDynamics) -> Self {
        let dt = 1.0 / DAYS_PER_YEAR;
        let variance = f.annual_vol * f.annual_vol * dt;
        let persistence = f.garch_alpha + f.garch_beta + 0.5 * f.garch_gamma;
        let k = f.mean_reversion;
        let (decay, shock_scale, drift) = if k > 0.0 {
            let decay = (-k * dt).exp();
            // -expm1 keeps the digits for small κΔ.
            let one_minus_decay = -(-k * dt).exp_m1();
            let one_minus_decay2 = -(-2.0 * k * dt).exp_m1();
            (
                decay,
                (one_minus_decay2 / (2.0 * k * dt)).sqrt(),
                f.annual_drift * one_minus_decay / k,
            )
        } else {
            (1.0, 1.0, f.annual_drift * dt)
        };
        Self {
            omega: variance * (1.0 - persistence),
            alpha: f.garch_alpha,
            gamma: f.garch_gamma,
            beta: f.garch_beta,
            variance,
            decay,
            shock_scale,
            drift,
            variance_cap: variance * f.max_vol_multiple * f.max_vol_multiple,
        }
    }
}

/// Factor values of a block of paths at the spec's checkpoints, structure of arrays:
/// `values[(checkpoint · N_FACTORS + factor) · n_paths + path]` (path relative to the
/// block's first path), so one factor at one checkpoint is a contiguous slice over
/// paths — the layout the valuation loops want. Reuse one block across calls: it only
/// allocates when it has to grow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathBlock {
    n_paths: usize,
    n_checkpoints: usize,
    values: Vec<f64>,
}

impl PathBlock {
    pub fn new() -> Self {
        Self::default()
    }

    fn reset(&mut self, n_checkpoints: usize, n_paths: usize) {
        self.n_paths = n_paths;
        self.n_checkpoints = n_checkpoints;
        self.values.clear();
        self.values.resize(n_checkpoints * N_FACTORS * n_paths, 0.0);
    }

    pub fn n_paths(&self) -> usize {
        self.n_paths
    }

    pub fn n_checkpoints(&self) -> usize {
        self.n_checkpoints
    }

    /// All values, in the documented layout.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// One factor at one checkpoint (index into `spec.checkpoints`), over the paths.
    pub fn factor(&self, checkpoint: usize, factor: crate::factors::RiskFactor) -> &[f64] {
        let start = (checkpoint * N_FACTORS + factor.index()) * self.n_paths;
        &self.values[start..start + self.n_paths]
    }

    pub fn value(&self, checkpoint: usize, factor: usize, path: usize) -> f64 {
        self.values[(checkpoint * N_FACTORS + factor) * self.n_paths + path]
    }
}

/// The arithmetic of the inner loop (the normals are f32 in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InnerLoop {
    /// Variance, shocks and levels in f32: 16 paths per AVX-512 register. The default.
    F32,
    /// The same recursion in f64 (normals still f32): half the lanes, ~2/3 the speed.
    F64,
}

/// Paths per kernel call in the f32 loop: one AVX-512 register (two AVX2 ones) per
/// quantity. 32 measured no faster and wastes more lanes on 1,000 paths.
const LANES_F32: usize = 16;
/// Paths per kernel call in the f64 loop.
const LANES_F64: usize = 8;

/// Fills `out` with paths `first_path..first_path + n_paths` of scenario `scenario`
/// under `seed` (f32 inner loop). The numbers of a path depend only on (spec, seed,
/// scenario, path): any blocking of the path range gives the same bits.
pub fn simulate(
    spec: &PathSpec,
    seed: u64,
    scenario: u64,
    first_path: u64,
    n_paths: usize,
    out: &mut PathBlock,
) -> Result<(), PathSpecError> {
    simulate_with(
        InnerLoop::F32,
        spec,
        seed,
        scenario,
        first_path,
        n_paths,
        out,
    )
}

/// [`simulate`] with a chosen inner-loop precision.
pub fn simulate_with(
    inner: InnerLoop,
    spec: &PathSpec,
    seed: u64,
    scenario: u64,
    first_path: u64,
    n_paths: usize,
    out: &mut PathBlock,
) -> Result<(), PathSpecError> {
    spec.validate()?;
    out.reset(spec.checkpoints.len(), n_paths);
    match inner {
        InnerLoop::F32 => run::<f32, LANES_F32>(spec, seed, scenario, first_path, n_paths, out),
        InnerLoop::F64 => run::<f64, LANES_F64>(spec, seed, scenario, first_path, n_paths, out),
    }
    Ok(())
}

fn run<T: kernel::Real, const L: usize>(
    spec: &PathSpec,
    seed: u64,
    scenario: u64,
    first_path: u64,
    n_paths: usize,
    out: &mut PathBlock,
) {
    let model = kernel::Model::<T>::new(spec);
    // The widest instruction set this CPU has (AVX-512 → AVX2 → scalar on x86-64, NEON
    // on aarch64), detected at run time: the loops below are compiled once per level.
    // Every level gives the same bits (test `every_simd_level_gives_the_same_paths`).
    pulp::Arch::new().dispatch(Blocks::<T, L> {
        model: &model,
        spec,
        seed,
        scenario,
        first_path,
        n_paths,
        values: &mut out.values,
    });
}

/// [`simulate_with`] on one explicit SIMD level, for the cross-level test.
#[cfg(test)]
pub(crate) fn simulate_on<S: pulp::Simd>(
    simd: S,
    inner: InnerLoop,
    spec: &PathSpec,
    seed: u64,
    scenario: u64,
    n_paths: usize,
    out: &mut PathBlock,
) {
    spec.validate().expect("valid spec");
    out.reset(spec.checkpoints.len(), n_paths);
    fn blocks<'a, T: kernel::Real, const L: usize>(
        model: &'a kernel::Model<T>,
        spec: &'a PathSpec,
        seed: u64,
        scenario: u64,
        n_paths: usize,
        values: &'a mut [f64],
    ) -> Blocks<'a, T, L> {
        Blocks {
            model,
            spec,
            seed,
            scenario,
            first_path: 0,
            n_paths,
            values,
        }
    }
    match inner {
        InnerLoop::F32 => {
            let model = kernel::Model::<f32>::new(spec);
            simd.vectorize(blocks::<f32, LANES_F32>(
                &model,
                spec,
                seed,
                scenario,
                n_paths,
                &mut out.values,
            ))
        }
        InnerLoop::F64 => {
            let model = kernel::Model::<f64>::new(spec);
            simd.vectorize(blocks::<f64, LANES_F64>(
                &model,
                spec,
                seed,
                scenario,
                n_paths,
                &mut out.values,
            ))
        }
    }
}

struct Blocks<'a, T, const L: usize> {
    model: &'a kernel::Model<T>,
    spec: &'a PathSpec,
    seed: u64,
    scenario: u64,
    first_path: u64,
    n_paths: usize,
    values: &'a mut [f64],
}

impl<T: kernel::Real, const L: usize> pulp::WithSimd for Blocks<'_, T, L> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let mut offset = 0usize;
        while offset < self.n_paths {
            let mut rng = kernel::LaneRng::<L>::new(
                self.seed,
                self.scenario,
                self.first_path + offset as u64,
            );
            kernel::simulate_lanes(
                self.model,
                &self.spec.checkpoints,
                self.spec.horizon_days,
                &mut rng,
                kernel::BlockOutput {
                    values: &mut *self.values,
                    stride: self.n_paths,
                    offset,
                    valid: L.min(self.n_paths - offset),
                },
            );
            offset += L;
        }
    }
}
