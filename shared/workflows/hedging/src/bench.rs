//! `stresslab bench --workflow hedging`'s kernel section: path-steps per second per
//! core, the time per scenario by stage, and the scaling from one to two threads —
//! measured, never asserted in a test (the machine is shared and noisy).

use crate::evaluate::{evaluate_scenario, HedgingResults, Workspace};
use crate::model::{prepare, RunSettings};
use crate::paths::throughput::measure_throughput;
use crate::paths::InnerLoop;
use crate::scenarios::{path_spec, ScenarioConfig};
use stresslab_core::portfolio::Portfolio;

/// Scenarios timed stage by stage on one thread.
pub const STAGE_SCENARIOS: usize = 48;
/// Scenarios of the path-engine throughput runs (1,000 paths × 252 days each).
pub const THROUGHPUT_SCENARIOS: u64 = 96;

pub fn kernel_report(portfolio: &Portfolio, seed: u64) -> Result<String, String> {
    let config = ScenarioConfig::default();
    let settings = RunSettings {
        scenarios: STAGE_SCENARIOS as u32,
        paths: 1000,
        horizon_days: 252,
        funded_ratio_floor: 0.85,
        max_funding_ratio_vol: 0.08,
        config: &config,
        seed,
    };
    let (model, specs) = prepare(portfolio, &settings, None).map_err(|r| r.to_string())?;
    let mut ws = Workspace::default();
    let mut results = HedgingResults::empty(&model);
    let started = std::time::Instant::now();
    let mut folding = 0.0;
    for spec in &specs {
        let e = evaluate_scenario(&model, spec, &mut ws, &mut results.fr_histograms)?;
        let t = std::time::Instant::now();
        results.add(&model, spec, &e);
        folding += t.elapsed().as_secs_f64();
    }
    let per_scenario = started.elapsed().as_secs_f64() / specs.len() as f64;
    let [paths, valuation, combos] = ws.timing.map(|t| t / specs.len() as f64 * 1e3);
    let mut out = vec![format!(
        "hedging kernels, one thread, {} scenarios × 1000 paths × 252 days, {} combinations: {:.1} ms per scenario = paths {:.1} + full revaluation at {} dates {:.1} + combination statistics {:.1} + folding into the mergeable distributions {:.2}",
        specs.len(),
        model.combos(),
        per_scenario * 1e3,
        paths,
        model.checkpoints.len(),
        valuation,
        combos,
        folding / specs.len() as f64 * 1e3
    )];
    let spec = path_spec(
        &specs[0],
        &model.config,
        &model.calibration,
        252,
        &model.checkpoints,
    )
    .map_err(|e| e.to_string())?;
    let mut single = 0.0;
    for threads in [1usize, 2] {
        for inner in [InnerLoop::F32, InnerLoop::F64] {
            let t = measure_throughput(&spec, seed, THROUGHPUT_SCENARIOS, 1000, threads, inner)
                .map_err(|e| e.to_string())?;
            let per_core = t.path_steps_per_second_per_thread();
            if threads == 1 && inner == InnerLoop::F32 {
                single = per_core;
            }
            out.push(format!(
                "path engine ({inner:?} inner loop), {threads} thread(s): {:.2e} path-steps/s in all, {:.2e} per core{}",
                t.path_steps_per_second(),
                per_core,
                if threads == 2 && inner == InnerLoop::F32 && single > 0.0 {
                    format!(" (scaling 1→2 threads: {:.2}×)", t.path_steps_per_second() / single)
                } else {
                    String::new()
                }
            ));
        }
    }
    let projected = per_scenario * 1000.0 / 2.0;
    out.push(format!(
        "projected 1,000 scenarios on 2 perfectly scaling cores: {projected:.1} s (the full run above includes prepare and the personas)"
    ));
    Ok(out.join("\n"))
}
