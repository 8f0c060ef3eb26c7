//! Throughput of the path engine, for `stresslab bench hedging` and the criterion
//! benchmark: scenarios spread over threads, path-steps per second (a path-step is one
//! day of all twenty factors of one path).

use super::{
    simulate_with, FactorDynamics, InnerLoop, PathBlock, PathSpec, PathSpecError, VolRegimeSwitch,
};
use crate::factors::{FactorClass, RiskFactor, N_FACTORS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub threads: usize,
    pub inner: InnerLoop,
    pub path_steps: u64,
    pub seconds: f64,
    /// Sum over paths of the terminal values: printed so the work cannot be optimised
    /// away, and a quick check that two runs computed the same thing.
    pub checksum: f64,
}

impl Throughput {
    pub fn path_steps_per_second(&self) -> f64 {
        self.path_steps as f64 / self.seconds
    }

    pub fn path_steps_per_second_per_thread(&self) -> f64 {
        self.path_steps_per_second() / self.threads as f64
    }
}

/// Simulates `n_scenarios` scenarios × `n_paths` paths of `spec` (scenario index c gives
/// different random streams; the spec is the same) on `threads` threads, which take
/// scenarios from a shared counter, and times it.
pub fn measure_throughput(
    spec: &PathSpec,
    seed: u64,
    n_scenarios: u64,
    n_paths: usize,
    threads: usize,
    inner: InnerLoop,
) -> Result<Throughput, PathSpecError> {
    spec.validate()?;
    let threads = threads.max(1);
    let next = AtomicU64::new(0);
    let started = Instant::now();
    let sums: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut block = PathBlock::new();
                    let mut sum = 0.0;
                    let last = spec.checkpoints.len() - 1;
                    loop {
                        let scenario = next.fetch_add(1, Ordering::Relaxed);
                        if scenario >= n_scenarios {
                            return sum;
                        }
                        simulate_with(inner, spec, seed, scenario, 0, n_paths, &mut block)
                            .expect("validated above");
                        sum += block.factor(last, RiskFactor::EquityUs).iter().sum::<f64>();
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker panicked"))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    Ok(Throughput {
        threads,
        inner,
        path_steps: n_scenarios * n_paths as u64 * u64::from(spec.horizon_days),
        seconds,
        checksum: sums.iter().sum(),
    })
}

/// A representative scenario for benchmarks and tests — magnitudes typical of the
/// markets (not a calibration): FX vols 7–11%, rate PCs 100/60/40 bp a year with mean
/// reversion on slope and curvature, credit log-spread vols 30/40% mean-reverting,
/// equity 16–18% with a strong leverage effect, a block correlation matrix in the
/// issue's normal regime, and a 3× stressed regime entered about once a year.
pub fn representative_spec(horizon_days: u32) -> PathSpec {
    let dynamics = |annual_vol, annual_drift, mean_reversion, (a, b, g)| FactorDynamics {
        annual_vol,
        annual_drift,
        mean_reversion,
        garch_alpha: a,
        garch_beta: b,
        garch_gamma: g,
        max_vol_multiple: 1e3,
    };
    let fx = (0.04, 0.94, 0.01);
    let rates = (0.05, 0.92, 0.02);
    let credit = (0.08, 0.86, 0.06);
    let equity = (0.03, 0.90, 0.12);
    use RiskFactor::*;
    let factors = RiskFactor::ALL.map(|f| match f {
        FxEur => dynamics(0.08, 0.0, 0.0, fx),
        FxGbp => dynamics(0.09, 0.0, 0.0, fx),
        FxJpy => dynamics(0.10, 0.0, 0.0, fx),
        FxChf => dynamics(0.08, 0.0, 0.0, fx),
        FxAud => dynamics(0.11, 0.0, 0.0, fx),
        FxCad => dynamics(0.07, 0.0, 0.0, fx),
        UsdLevel | EurLevel | GbpLevel => dynamics(0.010, 0.0, 0.1, rates),
        UsdSlope | EurSlope | GbpSlope => dynamics(0.006, 0.0, 0.5, rates),
        UsdCurvature | EurCurvature | GbpCurvature => dynamics(0.004, 0.0, 1.0, rates),
        CreditIg => dynamics(0.30, 0.0, 1.0, credit),
        CreditHy => dynamics(0.40, 0.0, 1.0, credit),
        EquityUs => dynamics(0.16, 0.05, 0.0, equity),
        EquityEurope => dynamics(0.18, 0.05, 0.0, equity),
        EquityUk => dynamics(0.17, 0.05, 0.0, equity),
    });
    let correlation = representative_correlation();
    let cholesky =
        cholesky_lower(&correlation).expect("the representative correlation is positive definite");
    PathSpec {
        horizon_days,
        checkpoints: [21, 63, 126, 252]
            .into_iter()
            .filter(|&d| d < horizon_days)
            .chain(std::iter::once(horizon_days))
            .collect(),
        factors,
        cholesky,
        regime: VolRegimeSwitch {
            p_enter_stress: 1.0 / 252.0,
            p_leave_stress: 1.0 / 21.0,
            stress_vol_multiplier: 3.0,
            start_stressed: (1.0 / 252.0) / (1.0 / 252.0 + 1.0 / 21.0),
        },
    }
}

/// Block correlations of the normal regime (equity–FX 0.25, equity–rates
/// −0.15, FX–rates 0.10), FX pairs 0.45, equity markets 0.75, curve levels 0.6 and
/// slopes 0.4 across currencies, IG–HY 0.7, credit–equity −0.5.
fn representative_correlation() -> Vec<f64> {
    let n = N_FACTORS;
    let mut c = vec![0.0; n * n];
    for (i, a) in RiskFactor::ALL.into_iter().enumerate() {
        for (j, b) in RiskFactor::ALL.into_iter().enumerate() {
            let rho = if i == j {
                1.0
            } else {
                use FactorClass::*;
                match (a.class(), b.class()) {
                    (Fx, Fx) => 0.45,
                    (Equity, Equity) => 0.75,
                    (Credit, Credit) => 0.7,
                    (Rates, Rates) => match (a.curve(), b.curve()) {
                        (Some((_, ca)), Some((_, cb))) if ca == cb => match ca {
                            crate::factors::CurveComponent::Level => 0.6,
                            crate::factors::CurveComponent::Slope => 0.4,
                            crate::factors::CurveComponent::Curvature => 0.2,
                        },
                        _ => 0.0,
                    },
                    (Equity, Fx) | (Fx, Equity) => 0.25,
                    (Equity, Rates) | (Rates, Equity) => level_only(a, b, -0.15),
                    (Fx, Rates) | (Rates, Fx) => level_only(a, b, 0.10),
                    (Credit, Equity) | (Equity, Credit) => -0.5,
                    (Credit, Rates) | (Rates, Credit) => level_only(a, b, -0.2),
                    (Credit, Fx) | (Fx, Credit) => -0.1,
                }
            };
            c[i * n + j] = rho;
        }
    }
    c
}

/// Cross-asset correlations with a curve act on its level only (slope and curvature
/// scores are uncorrelated with the rest here).
fn level_only(a: RiskFactor, b: RiskFactor, rho: f64) -> f64 {
    let is_level =
        |f: RiskFactor| matches!(f.curve(), Some((_, crate::factors::CurveComponent::Level)));
    if is_level(a) || is_level(b) {
        rho
    } else {
        0.0
    }
}

/// Lower Cholesky factor of a symmetric positive-definite N×N row-major matrix
/// (Cholesky–Banachiewicz); `None` if it is not positive definite.
pub fn cholesky_lower(a: &[f64]) -> Option<Vec<f64>> {
    let n = N_FACTORS;
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}
