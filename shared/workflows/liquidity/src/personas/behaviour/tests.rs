//! The behaviour modeler against independent values: the seed register's concentration
//! by hand, percentiles against numpy and a sorted brute force, the feedback share
//! against a direct sum, the drivers' midpoints, and the empty aggregate.

use super::*;
use crate::personas::analyst::market_liquidity_analyst;
use crate::tests::{params, seed_portfolio};
use crate::LiquidityWorkflow;
use stresslab_core::engine::WorkflowEngine;

fn seed_run(n: u32) -> (LiquidityRun, LiquidityAggregate) {
    let (run, set) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(n), 7).unwrap();
    let partial = LiquidityWorkflow::evaluate(&run, 0, &set);
    let agg = LiquidityWorkflow::merge(&run, vec![partial]);
    (run, agg)
}

fn empty() -> LiquidityAggregate {
    LiquidityAggregate {
        outcomes: Vec::new(),
        failures: Vec::new(),
    }
}

/// The sorted brute force of Hyndman–Fan definition 7: h = (n − 1)p, interpolate
/// between the order statistics around it.
fn brute_quantile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

#[test]
fn seed_register_concentration_by_hand() {
    let (run, _) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(36), 7).unwrap();
    let f = investor_behavior_modeler(&run, &empty(), &[]);
    // Ten single holders (8, 7, 6, 5, 4.5, 4, 3.5, 3, 2.2, 1.8%), 40 platforms sharing
    // 30% and 120,000 retail holders sharing 25%:
    // HHI = Σ s² + 0.3²/40 + 0.25²/120000 = 0.026208520833333332 (Python).
    assert!((f.get("hhi").unwrap() - 0.026_208_520_833_333_332).abs() < 1e-15);
    // The ten single holders (each above a platform's 0.75%) hold 45%.
    assert!((f.get("top10_share").unwrap() - 0.45).abs() < 1e-12);
    assert!((f.get("effective_investors").unwrap() - 38.155_529_888_895_87).abs() < 1e-9);
}

#[test]
fn percentiles_match_numpy_and_the_brute_force() {
    let x: Vec<f64> = (0..23).map(|i| f64::from((i * 37) % 101) / 7.0).collect();
    let mut v = x.clone();
    let p = percentiles(&mut v, &PERCENTILES).unwrap();
    // numpy.quantile(x, [0.5, 0.9, 0.95, 0.99]) on the same 23 values.
    let numpy = [
        6.714_285_714_285_714,
        12.342_857_142_857_143,
        13.328_571_428_571_427,
        13.762_857_142_857_143,
    ];
    for (a, b) in p.iter().zip(numpy) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    for (a, q) in p.iter().zip(PERCENTILES) {
        assert!((a - brute_quantile(&x, q)).abs() < 1e-12);
    }
    let mut nan = vec![f64::NAN];
    assert_eq!(percentiles(&mut nan, &PERCENTILES), None);
    let mut one = vec![0.3];
    assert_eq!(percentiles(&mut one, &PERCENTILES), Some([0.3; 4]));
}

#[test]
fn feedback_share_against_a_direct_sum() {
    let (run, mut agg) = seed_run(72);
    let (share, max, id) = feedback_effect(&agg).unwrap();
    let mut added = 0.0;
    let mut total = 0.0;
    let mut best = f64::NEG_INFINITY;
    for o in &agg.outcomes {
        added += o.base.redeemed - o.one_pass.redeemed;
        total += o.base.redeemed;
        if o.base.redeemed > 0.0 {
            best = best.max((o.base.redeemed - o.one_pass.redeemed) / o.base.redeemed);
        }
    }
    assert!((share - added / total).abs() < 1e-12);
    assert_eq!(max, best);
    let o = agg.outcomes.iter().find(|o| o.id == id).unwrap();
    assert_eq!(
        (o.base.redeemed - o.one_pass.redeemed) / o.base.redeemed,
        best
    );
    // Feedback on, the NAV falls in stress: it adds redemptions.
    assert!(share > 0.0);
    let f = investor_behavior_modeler(&run, &agg, &[]);
    assert_eq!(f.get("feedback_share"), Some(share));

    // Two hand-made scenarios: base 0.10 vs one pass 0.08, base 0.20 vs 0.20.
    agg.outcomes.truncate(2);
    agg.outcomes[0].base.redeemed = 0.10;
    agg.outcomes[0].one_pass.redeemed = 0.08;
    agg.outcomes[1].base.redeemed = 0.20;
    agg.outcomes[1].one_pass.redeemed = 0.20;
    let (share, max, id) = feedback_effect(&agg).unwrap();
    assert!((share - 0.02 / 0.30).abs() < 1e-15);
    assert!((max - 0.2).abs() < 1e-15);
    assert_eq!(id, agg.outcomes[0].id);
    // Nothing redeemed: no share at all, rather than 0/0.
    for o in &mut agg.outcomes {
        o.base.redeemed = 0.0;
    }
    assert_eq!(feedback_effect(&agg), None);
}

#[test]
fn outflow_percentile_figure_is_the_sorted_brute_force() {
    let (run, agg) = seed_run(120);
    let f = investor_behavior_modeler(&run, &agg, &[]);
    let day30: Vec<f64> = agg.outcomes.iter().map(|o| o.outflows[2]).collect();
    assert_eq!(day30.len(), 120);
    let want = brute_quantile(&day30, 0.99);
    assert!((f.get("outflow_30d_p99").unwrap() - want).abs() < 1e-15);
    // Cumulative outflows grow with the need day at every percentile.
    let chart = f
        .charts
        .iter()
        .find(|c| c.key == "outflow_percentiles")
        .unwrap();
    assert_eq!(chart.labels, vec!["day 1", "day 7", "day 30", "day 90"]);
    for s in &chart.series {
        assert!(s.values.windows(2).all(|w| w[1] >= w[0]));
    }
    for w in chart.series.windows(2) {
        for (a, b) in w[0].values.iter().zip(&w[1].values) {
            assert!(b >= a);
        }
    }
    for r in &f.recommendations {
        for c in &r.cites {
            assert!(f.get(c).is_some(), "{c}");
        }
    }
}

#[test]
fn drivers_are_the_band_midpoints_and_the_model_is_reproduced() {
    let d = severity_drivers(Severity::Severe, 0.5);
    // Severe bands: return −8%…−15%, volatility 30…45%, peer outflows 5…10%.
    assert!((d.fund_return + 0.115).abs() < 1e-15);
    assert!((d.peer_return + 0.0575).abs() < 1e-15);
    assert!((d.volatility - 0.375).abs() < 1e-15);
    assert!((d.peer_redemptions - 0.075).abs() < 1e-15);
    // Retail by hand: amplifier 1 + 1.5·0.5 = 1.75; underperformance 5.75%.
    // 0.010 + 0.40·1.75·0.0575 + 0.10·0.115 + 0.02·(0.375 − 0.15) + 0.30·1.75·0.075
    let want = 0.010 + 0.40 * 1.75 * 0.0575 + 0.10 * 0.115 + 0.02 * 0.225 + 0.30 * 1.75 * 0.075;
    let m = RedemptionModel::default();
    let r = m.expected_monthly(InvestorType::Retail, &d).unwrap();
    assert!((r - want).abs() < 1e-15, "{r} vs {want}");
}

#[test]
fn illiquidity_comes_from_the_analyst_or_falls_back() {
    let (run, agg) = seed_run(36);
    let analyst = market_liquidity_analyst(&run, &agg);
    let hl = analyst.get("highly_liquid_share").unwrap();
    let f = investor_behavior_modeler(&run, &agg, std::slice::from_ref(&analyst));
    assert!((f.get("illiquidity_used").unwrap() - (1.0 - hl)).abs() < 1e-15);
    let label = |f: &Findings| {
        f.figures
            .iter()
            .find(|x| x.key == "illiquidity_used")
            .unwrap()
            .label
            .clone()
    };
    assert!(label(&f).contains("analyst"));
    let g = investor_behavior_modeler(&run, &agg, &[]);
    assert_eq!(
        g.get("illiquidity_used"),
        Some(run.scenarios.fund_illiquidity)
    );
    assert!(label(&g).contains("not available"));
    // First mover: redemptions rise with illiquidity for the fund as a whole.
    assert!(f.get("first_mover_uplift").unwrap() > 1.0);
    assert!(f.get("first_mover_uplift_current").unwrap() >= 1.0);
}

#[test]
fn empty_aggregate_gives_finite_figures_and_says_so() {
    let (run, _) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(36), 7).unwrap();
    let f = investor_behavior_modeler(&run, &empty(), &[]);
    for fig in &f.figures {
        assert!(fig.value.is_finite(), "{} = {}", fig.key, fig.value);
    }
    assert!(f.get("hhi").is_some() && f.get("top10_share").is_some());
    assert_eq!(f.get("outflow_30d_p99"), None);
    assert_eq!(f.get("feedback_share"), None);
    assert!(
        f.headline.contains("no scenario outcomes"),
        "{}",
        f.headline
    );
    assert!(f.charts.is_empty());
}
