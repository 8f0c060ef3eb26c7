use super::*;
use crate::tests::{params, seed_portfolio};
use crate::LiquidityWorkflow;
use stresslab_core::engine::WorkflowEngine;

fn sample(n: u32) -> (LiquidityRun, LiquidityAggregate) {
    let (run, set) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(n), 5).unwrap();
    let half = set.len() / 2;
    let partials = vec![
        LiquidityWorkflow::evaluate(&run, 0, &set[..half]),
        LiquidityWorkflow::evaluate(&run, half as u32, &set[half..]),
    ];
    let agg = LiquidityWorkflow::merge(&run, partials);
    (run, agg)
}

fn ctx() -> RunContext {
    RunContext {
        run_id: "liquidity-test".into(),
        workflow: "liquidity".into(),
        engine_version: "liquidity/1".into(),
        portfolio_id: "seed".into(),
        portfolio_name: "Seed".into(),
        base_currency: "USD".into(),
        as_of: Some("2024-06-28".into()),
        seed: 5,
        scenario_count: 72,
        partition_count: 2,
        library_version: None,
    }
}

#[test]
fn the_summary_counts_every_scenario_once() {
    let (run, agg) = sample(72);
    let c = cascade_summary(&run, &agg).unwrap();
    assert_eq!(c.scenarios, 72);
    let binned: u64 = c.exhaustion_counts.iter().sum();
    let exhausted = agg
        .outcomes
        .iter()
        .filter(|o| o.base.exhaustion_day.is_some())
        .count();
    assert_eq!(binned as usize, exhausted);
    assert_eq!(c.exhausted, exhausted);
    // The worst is the largest value, the median the middle of the sorted values.
    let mut d: Vec<f64> = agg.outcomes.iter().map(|o| o.base.dilution).collect();
    d.sort_by(f64::total_cmp);
    assert_eq!(c.dilution[3], d[71]);
    assert_eq!(c.dilution[0], 0.5 * (d[35] + d[36]));
    // Selling beyond the buffer means the buffer was exhausted that day.
    for o in &agg.outcomes {
        if o.base.beyond_buffer > 0.0 {
            assert!(o.base.exhaustion_day.is_some(), "scenario {}", o.id);
        }
    }
    assert!(c.with_beyond_buffer <= c.exhausted);
}

#[test]
fn the_worst_scenario_rerun_reproduces_its_aggregate_row() {
    let (run, agg) = sample(72);
    let (worst, days) = worst_days(&run, &agg).unwrap();
    assert_eq!(worst.id, agg.worst().unwrap().id);
    let last = days.last().unwrap();
    assert_eq!(last.nav_per_share, worst.base.final_nav_per_share);
    let dealt: f64 = days.iter().map(|d| d.dealt_value).sum();
    assert!((dealt / run.fund.nav - worst.base.redeemed).abs() < 1e-12);
    // No other scenario costs remaining investors more in liquidation.
    let loss = |o: &ScenarioOutcome| o.base.dilution + o.base.fire_sale_loss;
    assert!(agg.outcomes.iter().all(|o| loss(o) <= loss(&worst)));
}

#[test]
fn the_report_has_the_committee_sections_and_results_parse() {
    let (run, agg) = sample(72);
    let findings: Vec<Findings> = LiquidityPersona::TEAM
        .iter()
        .map(|p| Findings::new(p.name()))
        .collect();
    let d = render(&ctx(), &run, &agg, &findings, "narrative");
    for section in [
        "Executive summary",
        "Liquidity profile",
        "Investors and redemption shocks",
        "Redemption cascades",
        "Buffer",
        "Liquidation strategy",
        "Gates and redemption terms",
        "Worst scenario, day by day",
        "How to read this report",
    ] {
        assert!(
            d.report_html.contains(&format!("<h2>{section}</h2>")),
            "{section}"
        );
    }
    assert!(!d.report_html.contains("NaN"));
    let v: Value = serde_json::from_slice(&d.results_json).unwrap();
    assert_eq!(v["results"]["scenario_count"], 72);
    assert_eq!(v["results"]["scenarios"].as_array().unwrap().len(), 72);
    assert_eq!(
        v["results"]["worst_scenario"]["days"]
            .as_array()
            .unwrap()
            .len() as u32,
        agg.worst()
            .unwrap()
            .base
            .days_to_settle
            .unwrap_or(run.settings.horizon_days)
    );
}

#[test]
fn an_empty_aggregate_still_renders() {
    let (run, _) = sample(36);
    let empty = LiquidityAggregate {
        outcomes: Vec::new(),
        failures: vec![crate::ScenarioFailure {
            id: 0,
            reason: "test".into(),
        }],
    };
    assert!(cascade_summary(&run, &empty).is_none());
    let d = render(&ctx(), &run, &empty, &[], "n");
    assert!(d.report_html.contains("No scenario produced a result"));
    assert!(d.report_html.contains("could not be run"));
}
