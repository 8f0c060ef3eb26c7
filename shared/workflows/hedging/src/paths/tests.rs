//! Tests of the path engine: streams and blocking, the f32 error against the f64
//! reference, and the dynamics against closed forms.

use super::kernel::{path_stream_seed, LaneRng};
use super::throughput::{cholesky_lower, representative_spec};
use super::*;
use crate::factors::RiskFactor;
use stresslab_analytics::rng::Xoshiro256;

fn identity_cholesky() -> Vec<f64> {
    let n = N_FACTORS;
    (0..n * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect()
}

fn calm() -> VolRegimeSwitch {
    VolRegimeSwitch {
        p_enter_stress: 0.0,
        p_leave_stress: 1.0,
        stress_vol_multiplier: 1.0,
        start_stressed: 0.0,
    }
}

/// Every factor with the same dynamics, independent shocks, one checkpoint.
fn uniform_spec(horizon_days: u32, f: FactorDynamics) -> PathSpec {
    PathSpec {
        horizon_days,
        checkpoints: vec![horizon_days],
        factors: [f; N_FACTORS],
        cholesky: identity_cholesky(),
        regime: calm(),
    }
}

fn constant_vol(annual_vol: f64) -> FactorDynamics {
    FactorDynamics {
        annual_vol,
        annual_drift: 0.0,
        mean_reversion: 0.0,
        garch_alpha: 0.0,
        garch_beta: 0.0,
        garch_gamma: 0.0,
        max_vol_multiple: 1e3,
    }
}

fn run(inner: InnerLoop, spec: &PathSpec, scenario: u64, first: u64, n: usize) -> PathBlock {
    let mut block = PathBlock::new();
    simulate_with(inner, spec, 11, scenario, first, n, &mut block).unwrap();
    block
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (
        m,
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0),
    )
}

#[test]
fn lane_streams_are_the_house_generator() {
    let mut lanes = LaneRng::<8>::new(3, 17, 40);
    let mut scalar: Vec<Xoshiro256> = (40..48)
        .map(|p| Xoshiro256::seed_from_u64(path_stream_seed(3, 17, p)))
        .collect();
    for _ in 0..100 {
        let out = lanes.next();
        for (k, g) in scalar.iter_mut().enumerate() {
            assert_eq!(out[k], g.next_u64());
        }
    }
    // The SIMD day fill: eleven outputs per lane and day, in the documented layout.
    let mut lanes = LaneRng::<16>::new(3, 17, 40);
    let mut scalar: Vec<Xoshiro256> = (40..56)
        .map(|p| Xoshiro256::seed_from_u64(path_stream_seed(3, 17, p)))
        .collect();
    let mut radius = [[0u32; 16]; N_FACTORS / 2];
    let mut angle = [[0u32; 16]; N_FACTORS / 2];
    let mut regime = [0u32; 16];
    for _day in 0..30 {
        lanes.fill_day(&mut radius, &mut angle, &mut regime);
        for (k, g) in scalar.iter_mut().enumerate() {
            for pair in 0..N_FACTORS / 2 {
                let r = g.next_u64();
                assert_eq!(radius[pair][k], r as u32);
                assert_eq!(angle[pair][k], (r >> 32) as u32);
            }
            assert_eq!(regime[k], (g.next_u64() >> 32) as u32);
        }
    }
    // Distinct (scenario, path) pairs get distinct streams.
    assert_ne!(path_stream_seed(1, 2, 3), path_stream_seed(1, 3, 2));
    assert_ne!(path_stream_seed(1, 2, 3), path_stream_seed(2, 2, 3));
}

#[test]
fn blocking_never_changes_a_path() {
    let spec = representative_spec(30);
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        let whole = run(inner, &spec, 5, 0, 64);
        for cuts in [vec![32], vec![5, 40], vec![1, 2, 3, 17, 63], vec![16, 48]] {
            let mut start = 0;
            for end in cuts.into_iter().chain(std::iter::once(64)) {
                let part = run(inner, &spec, 5, start as u64, end - start);
                for c in 0..spec.checkpoints.len() {
                    for f in 0..N_FACTORS {
                        for p in start..end {
                            assert_eq!(
                                part.value(c, f, p - start).to_bits(),
                                whole.value(c, f, p).to_bits(),
                                "{inner:?} checkpoint {c} factor {f} path {p}"
                            );
                        }
                    }
                }
                start = end;
            }
        }
    }
}

/// Runtime dispatch picks AVX-512, AVX2 or plain scalar code; all must agree to the bit
/// (IEEE operations with explicit FMAs only), or results would depend on the machine.
#[test]
fn every_simd_level_gives_the_same_paths() {
    let spec = representative_spec(40);
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        let mut scalar = PathBlock::new();
        simulate_on(pulp::Scalar::new(), inner, &spec, 9, 3, 40, &mut scalar);
        let mut levels = vec![run(inner, &spec, 3, 0, 40)];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(v3) = pulp::x86::V3::try_new() {
                let mut block = PathBlock::new();
                simulate_on(v3, inner, &spec, 11, 3, 40, &mut block);
                levels.push(block);
            }
            if let Some(v4) = pulp::x86::V4::try_new() {
                let mut block = PathBlock::new();
                simulate_on(v4, inner, &spec, 11, 3, 40, &mut block);
                levels.push(block);
            }
        }
        let mut reference = PathBlock::new();
        simulate_on(pulp::Scalar::new(), inner, &spec, 11, 3, 40, &mut reference);
        assert_ne!(scalar.values(), reference.values(), "the seed matters");
        for block in &levels {
            let same = block
                .values()
                .iter()
                .zip(reference.values())
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{inner:?}: a SIMD level differs from scalar");
        }
        eprintln!("{inner:?}: {} SIMD levels agree with scalar", levels.len());
    }
}

/// The f32 inner loop (and f32 Box–Muller) against the scalar f64 reference (Box–Muller
/// in f64) on the same streams. Measured on 2,000 paths of the representative spec over
/// 252 days (all 20 factors, terminal values, in units of each factor's cross-path
/// standard deviation): f32 max 1.9e-5 sd, RMS 1.8e-6 sd; f64 inner loop (only the
/// normals are f32) max 7.5e-7 sd, RMS 5.9e-8 sd. The Monte Carlo standard error of a
/// mean from 1,000 paths is 0.032 sd: the f32 error is < 6e-4 of it at worst.
#[test]
fn f32_paths_track_the_f64_reference() {
    let spec = representative_spec(252);
    let n = 2_000;
    let mut reference = PathBlock::new();
    simulate_reference(&spec, 11, 2, 0, n, &mut reference).unwrap();
    let last = spec.checkpoints.len() - 1;
    for (inner, max_bound, rms_bound) in
        [(InnerLoop::F32, 1e-4, 1e-5), (InnerLoop::F64, 1e-5, 1e-6)]
    {
        let fast = run(inner, &spec, 2, 0, n);
        let (mut worst, mut sum_sq, mut count) = (0.0f64, 0.0, 0.0);
        for f in RiskFactor::ALL {
            let r = reference.factor(last, f);
            let (_, var) = mean_var(r);
            let sd = var.sqrt();
            for (a, b) in fast.factor(last, f).iter().zip(r) {
                let e = (a - b).abs() / sd;
                worst = worst.max(e);
                sum_sq += e * e;
                count += 1.0;
            }
        }
        let rms = (sum_sq / count).sqrt();
        eprintln!("{inner:?} vs reference: max {worst:.2e} sd, RMS {rms:.2e} sd");
        assert!(worst < max_bound, "{inner:?} max error {worst:e} sd");
        assert!(rms < rms_bound, "{inner:?} RMS error {rms:e} sd");
    }
}

#[test]
fn zero_vol_paths_are_pure_drift() {
    let mut f = constant_vol(0.0);
    f.annual_drift = 0.05;
    f.garch_alpha = 0.05;
    f.garch_beta = 0.9;
    let mut spec = uniform_spec(252, f);
    spec.factors[3].mean_reversion = 2.0;
    spec.checkpoints = vec![126, 252];
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        let block = run(inner, &spec, 0, 0, 40);
        for p in 0..40 {
            for (c, day) in [(0, 126.0), (1, 252.0)] {
                let t = day / DAYS_PER_YEAR;
                assert!((block.value(c, 0, p) - 0.05 * t).abs() < 1e-6);
                // OU with drift μ: x_t = μ(1 − e^{−κt})/κ.
                let ou = 0.05 * (1.0 - (-2.0f64 * t).exp()) / 2.0;
                assert!((block.value(c, 3, p) - ou).abs() < 1e-6);
            }
        }
    }
}

/// E[h_t] = σ_d² on every day when h_1 = σ_d² (the GARCH expectation recursion), so the
/// daily changes have variance annual_vol²/252 and the terminal level of a random walk
/// annual_vol²·T/252 — for any α, β, γ with α + β + γ/2 < 1.
#[test]
fn garch_keeps_the_unconditional_variance() {
    let f = FactorDynamics {
        annual_vol: 0.2,
        annual_drift: 0.0,
        mean_reversion: 0.0,
        garch_alpha: 0.06,
        garch_beta: 0.88,
        garch_gamma: 0.08,
        max_vol_multiple: 1e3,
    };
    let mut spec = uniform_spec(100, f);
    spec.checkpoints = (1..=100).collect();
    let n = 1_000;
    let block = run(InnerLoop::F32, &spec, 1, 0, n);
    let daily = 0.04 / DAYS_PER_YEAR;
    // Pool the 20 independent factors: 2·10^6 daily changes.
    let mut changes = Vec::with_capacity(20 * 100 * n);
    let mut terminal = Vec::with_capacity(20 * n);
    for f in RiskFactor::ALL {
        for c in 0..100 {
            let now = block.factor(c, f);
            if c == 0 {
                changes.extend_from_slice(now);
            } else {
                let before = block.factor(c - 1, f);
                changes.extend(now.iter().zip(before).map(|(a, b)| a - b));
            }
        }
        terminal.extend_from_slice(block.factor(99, f));
    }
    let (_, v) = mean_var(&changes);
    assert!(
        (v / daily - 1.0).abs() < 0.03,
        "daily variance ratio {}",
        v / daily
    );
    let (_, vt) = mean_var(&terminal);
    // 20,000 terminal values: the variance's standard error is ~1.5% (fatter tails).
    assert!(
        (vt / (100.0 * daily) - 1.0).abs() < 0.06,
        "terminal ratio {}",
        vt / (100.0 * daily)
    );
    // Clustering: squared changes are autocorrelated under GARCH.
    let pairs: Vec<(f64, f64)> = changes
        .chunks(n)
        .collect::<Vec<_>>()
        .windows(2)
        .flat_map(|w| w[0].iter().zip(w[1]).map(|(a, b)| (a * a, b * b)))
        .collect();
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / pairs.len() as f64;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / pairs.len() as f64;
    let cov = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>();
    let vx = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
    let vy = pairs.iter().map(|p| (p.1 - my).powi(2)).sum::<f64>();
    assert!(cov / (vx * vy).sqrt() > 0.05, "no volatility clustering");
}

/// Constant vol OU: Var x_T = σ²(1 − e^{−2κT})/(2κ), exactly under the discretisation.
#[test]
fn ou_terminal_variance_matches_the_closed_form() {
    let mut f = constant_vol(0.01);
    f.mean_reversion = 2.0;
    let spec = uniform_spec(252, f);
    let n = 2_000;
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        let block = run(inner, &spec, 3, 0, n);
        let values: Vec<f64> = RiskFactor::ALL
            .iter()
            .flat_map(|&f| block.factor(0, f).to_vec())
            .collect();
        let (_, v) = mean_var(&values);
        let expected = 1e-4 * (1.0 - (-4.0f64).exp()) / 4.0;
        // 40,000 normal values: the variance's standard error is √(2/40000) = 0.7%.
        assert!(
            (v / expected - 1.0).abs() < 0.03,
            "{inner:?}: ratio {}",
            v / expected
        );
    }
}

#[test]
fn daily_shocks_have_the_spec_correlation() {
    let mut spec = representative_spec(1);
    for f in spec.factors.iter_mut() {
        f.mean_reversion = 0.0;
    }
    // The stressed regime scales all factors of a path alike, which leaves correlations
    // unchanged but fattens the tails and so the sampling error; switched off here.
    spec.regime = calm();
    let n = 20_000;
    let block = run(InnerLoop::F32, &spec, 4, 0, n);
    let l = &spec.cholesky;
    let mut worst = 0.0f64;
    for i in 0..N_FACTORS {
        for j in 0..i {
            let target: f64 = (0..N_FACTORS)
                .map(|k| l[i * N_FACTORS + k] * l[j * N_FACTORS + k])
                .sum();
            let (a, b) = (
                block.factor(0, RiskFactor::ALL[i]),
                block.factor(0, RiskFactor::ALL[j]),
            );
            let (ma, va) = mean_var(a);
            let (mb, vb) = mean_var(b);
            let cov = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - ma) * (y - mb))
                .sum::<f64>()
                / (n as f64 - 1.0);
            worst = worst.max((cov / (va * vb).sqrt() - target).abs());
        }
    }
    // Standard error of a sample correlation ≤ 1/√n = 0.007; 190 pairs, max within 4.5 se.
    assert!(worst < 0.032, "worst correlation error {worst}");
}

/// With vol constant but for the regime, Var x_T = σ_d² Σ_t E[g_t²], and started in the
/// stationary distribution E[g_t²] = 1 + π(m² − 1) with π = p_enter/(p_enter + p_leave).
#[test]
fn regime_spends_its_stationary_share_in_stress() {
    let mut spec = uniform_spec(252, constant_vol(0.1));
    let (p_enter, p_leave, m) = (0.02, 0.08, 3.0);
    let share = p_enter / (p_enter + p_leave);
    spec.regime = VolRegimeSwitch {
        p_enter_stress: p_enter,
        p_leave_stress: p_leave,
        stress_vol_multiplier: m,
        start_stressed: share,
    };
    let n = 4_000;
    let block = run(InnerLoop::F32, &spec, 6, 0, n);
    // Per path, the mean of x_T² over the 20 factors (which share the regime).
    let per_path: Vec<f64> = (0..n)
        .map(|p| {
            (0..N_FACTORS)
                .map(|f| block.value(0, f, p).powi(2))
                .sum::<f64>()
                / N_FACTORS as f64
        })
        .collect();
    let (mean, var) = mean_var(&per_path);
    let se = (var / n as f64).sqrt();
    let expected = 0.01 * (1.0 + share * (m * m - 1.0));
    assert!(
        (mean - expected).abs() < 4.0 * se,
        "E x_T² {mean} vs {expected} (se {se})"
    );
    // The implied stressed share.
    let implied = (mean / 0.01 - 1.0) / (m * m - 1.0);
    assert!(
        (implied - share).abs() < 0.02,
        "stressed share {implied} vs {share}"
    );
}

/// GJR: h_2 = ω + (α + γ·1[z_1<0])·σ_d² z_1² + β σ_d², so
/// Var(x_2 − x_1 | x_1 < 0) = ω + (α + γ + β)σ_d² > ω + (α + β)σ_d² = Var(· | x_1 > 0).
#[test]
fn negative_shocks_raise_next_day_variance_more() {
    let f = FactorDynamics {
        annual_vol: 0.2,
        annual_drift: 0.0,
        mean_reversion: 0.0,
        garch_alpha: 0.05,
        garch_beta: 0.8,
        garch_gamma: 0.2,
        max_vol_multiple: 1e3,
    };
    let mut spec = uniform_spec(2, f);
    spec.checkpoints = vec![1, 2];
    let n = 10_000;
    let block = run(InnerLoop::F32, &spec, 8, 0, n);
    let (mut down, mut up) = (Vec::new(), Vec::new());
    for f in RiskFactor::ALL {
        for (x1, x2) in block.factor(0, f).iter().zip(block.factor(1, f)) {
            let day2 = (x2 - x1).powi(2);
            if *x1 < 0.0 {
                down.push(day2)
            } else {
                up.push(day2)
            }
        }
    }
    let s2 = 0.04 / DAYS_PER_YEAR;
    let omega = s2 * (1.0 - 0.05 - 0.8 - 0.1);
    for (sample, expected) in [(&down, omega + 1.05 * s2), (&up, omega + 0.85 * s2)] {
        let (m, v) = mean_var(sample);
        let se = (v / sample.len() as f64).sqrt();
        assert!(
            (m - expected).abs() < 4.0 * se,
            "{m} vs {expected} (se {se})"
        );
    }
    assert!(mean_var(&down).0 > 1.1 * mean_var(&up).0);
}

#[test]
fn bad_specs_are_refused_with_the_field_named() {
    let good = representative_spec(252);
    assert_eq!(good.validate(), Ok(()));
    let mut block = PathBlock::new();
    let refuse = |spec: &PathSpec, needle: &str| {
        let err = simulate(spec, 1, 0, 0, 8, &mut PathBlock::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err:?} should name {needle}");
    };
    let mut s = good.clone();
    s.checkpoints = vec![21, 21, 252];
    refuse(&s, "checkpoints");
    let mut s = good.clone();
    s.checkpoints = vec![21, 63];
    refuse(&s, "horizon_days");
    let mut s = good.clone();
    s.factors[17].garch_beta = 0.99;
    refuse(&s, "factors[17] (US equity).garch_beta");
    let mut s = good.clone();
    s.factors[2].annual_vol = f64::NAN;
    refuse(&s, "annual_vol");
    let mut s = good.clone();
    s.cholesky[1] = 0.1;
    refuse(&s, "above the diagonal");
    let mut s = good.clone();
    s.cholesky[0] = 2.0;
    refuse(&s, "correlation");
    let mut s = good.clone();
    s.cholesky.pop();
    refuse(&s, "entries");
    let mut s = good.clone();
    s.regime.p_leave_stress = 1.5;
    refuse(&s, "regime.p_leave_stress");
    let mut s = good.clone();
    s.regime.stress_vol_multiplier = 0.5;
    refuse(&s, "stress_vol_multiplier");
    // Zero paths is not an error: an empty block.
    simulate(&good, 1, 0, 0, 0, &mut block).unwrap();
    assert!(block.values().is_empty());
}

#[test]
fn cholesky_rebuilds_its_matrix() {
    let spec = representative_spec(10);
    let l = &spec.cholesky;
    let n = N_FACTORS;
    for i in 0..n {
        let diag: f64 = (0..n).map(|k| l[i * n + k] * l[i * n + k]).sum();
        assert!((diag - 1.0).abs() < 1e-12);
    }
    let not_pd = {
        let mut a = identity_cholesky();
        a[1] = 1.5;
        a[n] = 1.5;
        a
    };
    assert!(cholesky_lower(&not_pd).is_none());
}
