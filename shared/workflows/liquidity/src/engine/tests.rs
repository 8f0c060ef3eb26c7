use super::*;
use crate::investors::FlowDrivers;
use crate::scenarios::class_return;
use crate::tests::{params, seed_portfolio};
use crate::LiquidityWorkflow;
use stresslab_core::engine::WorkflowEngine;

fn seed_run(scenarios: u32) -> (LiquidityRun, Vec<ScenarioSpec>) {
    LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(scenarios), 11).unwrap()
}

#[test]
fn the_feedback_slope_is_the_redemption_models_own_derivative() {
    // Central difference of the model's fund-level monthly redemptions in a loss d of
    // the fund's own making (peers flat), away from any clamp.
    let (run, _) = seed_run(36);
    let model = &run.redemption_model;
    let illiq = run.scenarios.fund_illiquidity;
    let at = |d: f64| {
        model
            .fund_expected_monthly(
                &run.fund.investors,
                &FlowDrivers {
                    fund_return: -d,
                    peer_return: 0.0,
                    volatility: 0.10,
                    peer_redemptions: 0.0,
                    illiquidity: illiq,
                },
            )
            .unwrap()
    };
    let (d, h) = (0.05, 1e-4);
    let numeric = (at(d + h) - at(d - h)) / (2.0 * h);
    assert!(
        (numeric - run.feedback_slope).abs() < 1e-9,
        "{numeric} vs {}",
        run.feedback_slope
    );
    assert!(run.feedback_slope > 0.0);
}

#[test]
fn liquidity_needs_accumulate_the_days_before_each_need_day() {
    let day = |t: u32, v: f64| DayRecord {
        day: t,
        dealt_value: v,
        ..DayRecord::default()
    };
    // Days 0..=9 each deal 1; day 1 counts day 0 only, day 7 days 0..=6, the rest all.
    let days: Vec<DayRecord> = (0..10).map(|t| day(t, 1.0)).collect();
    let mut out = [0.0; 4];
    cumulative_at(&days, |d| d.dealt_value, &mut out);
    assert_eq!(out, [1.0, 7.0, 10.0, 10.0]);
}

#[test]
fn without_feedback_the_base_is_the_one_pass_cascade() {
    let (mut run, set) = seed_run(36);
    run.settings.feedback = false;
    let sim = Simulator::new(&run).unwrap();
    let mut paths = ScenarioPaths::default();
    let mut ws = sim.base.workspace();
    for spec in set.iter().take(12) {
        let o = sim.evaluate(spec, &mut paths, &mut ws).unwrap();
        assert_eq!(o.base, o.one_pass, "scenario {}", spec.id);
    }
}

#[test]
fn feedback_only_adds_redemptions() {
    let (run, set) = seed_run(72);
    let sim = Simulator::new(&run).unwrap();
    let mut paths = ScenarioPaths::default();
    let mut ws = sim.base.workspace();
    let mut more = 0;
    for spec in &set {
        let o = sim.evaluate(spec, &mut paths, &mut ws).unwrap();
        assert!(
            o.base.redeemed >= o.one_pass.redeemed - 1e-12,
            "scenario {}: {} < {}",
            spec.id,
            o.base.redeemed,
            o.one_pass.redeemed
        );
        more += usize::from(o.base.redeemed > o.one_pass.redeemed + 1e-9);
    }
    assert!(more > 0, "feedback never added a redemption");
}

#[test]
fn a_strategy_run_equal_to_the_base_is_the_base() {
    let (run, set) = seed_run(36);
    let sim = Simulator::new(&run).unwrap();
    let mut paths = ScenarioPaths::default();
    let mut ws = sim.base.workspace();
    let k = STRATEGIES
        .iter()
        .position(|s| *s == run.settings.strategy)
        .unwrap();
    let o = sim.evaluate(&set[0], &mut paths, &mut ws).unwrap();
    assert_eq!(o.by_strategy[k], o.base);
    // And the recorded re-run of the base gives the same numbers.
    let again = sim.run_recorded(&set[0], &mut paths, &mut ws).unwrap();
    assert_eq!(VariantOutcome::from_cascade(&again), o.base);
}

#[test]
fn the_stress_composite_is_zero_calm_and_one_at_the_widest_stress() {
    let (run, _) = seed_run(36);
    let sim = Simulator::new(&run).unwrap();
    assert_eq!(sim.stress_composite(&[MarketStress::NONE; N_CLASSES]), 0.0);
    let widest = MarketStress {
        depth_reduction: 1.0 - 1e-12,
        spread_multiplier: 20.0,
        volume_reduction: 1.0,
        vol_multiplier: 6.0,
    };
    assert!((sim.stress_composite(&[widest; N_CLASSES]) - 1.0).abs() < 1e-9);
}

#[test]
fn the_paths_carry_each_classs_price_return() {
    let (run, set) = seed_run(36);
    let mut paths = ScenarioPaths::default();
    for spec in set.iter().take(12) {
        paths.fill(spec, 90);
        for day in [0u32, 7, 89] {
            for c in ALL_CLASSES {
                let expected = class_return(spec, c, day, 90);
                let got = paths.class_returns[day as usize][class_index(c)];
                assert!((got - expected).abs() < 1e-15, "{got} vs {expected}");
            }
        }
    }
    let _ = run;
}

#[test]
fn the_ungated_outcome_is_a_run_without_the_gate() {
    // Reused from the base when the gate never bound, run separately when it did:
    // either way it equals an explicit ungated cascade.
    let (run, set) = seed_run(72);
    let sim = Simulator::new(&run).unwrap();
    let mut paths = ScenarioPaths::default();
    let mut ws = sim.base.workspace();
    let mut reused = 0;
    for spec in &set {
        let o = sim.evaluate(spec, &mut paths, &mut ws).unwrap();
        paths.fill(spec, run.settings.horizon_days as usize);
        let driver = ScenarioDriver {
            exogenous: &paths.exogenous,
            feedback_slope: run.feedback_slope,
        };
        let explicit = sim
            .ungated
            .run(&paths.market(), &driver, &sim.impact, &mut ws, false)
            .unwrap();
        assert_eq!(
            o.ungated,
            VariantOutcome::from_cascade(&explicit),
            "scenario {}",
            spec.id
        );
        reused += usize::from(o.base.gate_day.is_none());
    }
    assert!(reused > 0 && reused < set.len(), "{reused}");
}
