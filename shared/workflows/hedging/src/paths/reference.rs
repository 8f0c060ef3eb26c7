//! The scalar f64 reference of the path engine: one path at a time, straight from the
//! equations of the module doc, the house `Xoshiro256` stream and Box–Muller in f64
//! with std's ln, sin, cos. Slow by design; the tests hold the fast kernels against it.

use super::kernel::{path_stream_seed, probability_threshold};
use super::normal::exact_normal_pair_from_bits;
use super::{DailyCoefficients, PathBlock, PathSpec, PathSpecError};
use crate::factors::N_FACTORS;
use stresslab_analytics::rng::Xoshiro256;

/// Same contract and random streams as [`super::simulate`], in scalar f64 with the
/// Box–Muller transform evaluated in f64 (std's ln, sin, cos).
pub fn simulate_reference(
    spec: &PathSpec,
    seed: u64,
    scenario: u64,
    first_path: u64,
    n_paths: usize,
    out: &mut PathBlock,
) -> Result<(), PathSpecError> {
    spec.validate()?;
    out.reset(spec.checkpoints.len(), n_paths);
    let n = N_FACTORS;
    let c: Vec<DailyCoefficients> = spec.factors.iter().map(DailyCoefficients::of).collect();
    let start = probability_threshold(spec.regime.start_stressed);
    let enter = probability_threshold(spec.regime.p_enter_stress);
    let leave = probability_threshold(spec.regime.p_leave_stress);
    for p in 0..n_paths {
        let mut rng =
            Xoshiro256::seed_from_u64(path_stream_seed(seed, scenario, first_path + p as u64));
        let mut h: Vec<f64> = c.iter().map(|c| c.variance).collect();
        let mut x = vec![0.0; n];
        let mut stressed = false;
        let mut next_checkpoint = 0;
        let mut eps = vec![0.0; n];
        for day in 1..=spec.horizon_days {
            for pair in 0..n / 2 {
                let r = rng.next_u64();
                (eps[2 * pair], eps[2 * pair + 1]) = exact_normal_pair_from_bits(r);
            }
            let u = (rng.next_u64() >> 32) as i64;
            stressed = if day == 1 {
                u < start
            } else if stressed {
                u >= leave
            } else {
                u < enter
            };
            let gain = if stressed {
                spec.regime.stress_vol_multiplier
            } else {
                1.0
            };
            for f in 0..n {
                let z: f64 = (0..=f).map(|j| spec.cholesky[f * n + j] * eps[j]).sum();
                let shock = h[f].sqrt() * c[f].shock_scale * gain * z;
                x[f] = c[f].decay * x[f] + c[f].drift + shock;
                let weight = c[f].alpha + if z < 0.0 { c[f].gamma } else { 0.0 };
                h[f] =
                    (c[f].omega + weight * h[f] * z * z + c[f].beta * h[f]).min(c[f].variance_cap);
            }
            if spec.checkpoints.get(next_checkpoint) == Some(&day) {
                for (f, level) in x.iter().enumerate() {
                    out.values[(next_checkpoint * n + f) * n_paths + p] = *level;
                }
                next_checkpoint += 1;
            }
        }
    }
    Ok(())
}
