//! The redemption policy formulator against independent values: brute-force confusion
//! counts, a synthetic case with a known best threshold, lead-time medians by hand, an
//! empty aggregate, and the notice re-run reproducing the base cascade.

use super::*;
use crate::engine::TriggerOutcome;
use crate::scenarios::{MarketStressKind, RedemptionShockKind};
use crate::tests::{params, seed_portfolio};
use crate::types::Severity;
use crate::LiquidityWorkflow;
use stresslab_analytics::rng::Xoshiro256;
use stresslab_core::engine::WorkflowEngine;

fn variant(final_nav: f64, dilution: f64, shortfall: f64, gate_day: Option<u32>) -> VariantOutcome {
    VariantOutcome {
        beyond_buffer: shortfall,
        shortfall,
        exhaustion_day: None,
        liquidation_cost: dilution,
        fire_sale_loss: 0.0,
        max_drawdown: 1.0 - final_nav,
        gate_day,
        dilution,
        redeemed: 0.0,
        less_liquid_share_end: 0.0,
        illiquid_share_end: 0.0,
        style_drift: 0.0,
        final_nav_per_share: final_nav,
        unmet_at_end: 0.0,
        queued_at_end: 0.0,
        days_to_settle: None,
    }
}

/// A synthetic outcome: the redemption window peaks at `peak` on day `peak_day`
/// (crossings of every grid level below it on that day), distress on `distress`.
fn outcome(id: u32, peak: f64, peak_day: u32, distress: Option<u32>) -> ScenarioOutcome {
    let v = variant(1.0, 0.0, 0.0, None);
    ScenarioOutcome {
        id,
        market_kind: MarketStressKind::MarketWide,
        market_severity: Severity::Moderate,
        market_quantile: 0.5,
        redemption_kind: RedemptionShockKind::Empirical,
        redemption_severity: Severity::Moderate,
        redemption_quantile: 0.5,
        exogenous_requests: peak,
        base: v,
        one_pass: v,
        by_strategy: [v; 3],
        ungated: v,
        outflows: [0.0; 4],
        liquid_assets: [0.0; 4],
        buffer_haircuts: [0.0; 2],
        stress_composite: 0.0,
        peak_window_redemptions: peak,
        redemption_crossings: REDEMPTION_TRIGGER_GRID.map(|x| (peak > x).then_some(peak_day)),
        min_liquidity_coverage: None,
        coverage_crossings: [None; 7],
        triggers: [TriggerOutcome {
            fire_day: None,
            gated: None,
        }; 3],
        distress_day: distress,
    }
}

#[test]
fn error_rates_match_a_brute_force_count() {
    let mut rng = Xoshiro256::seed_from_u64(42);
    for _ in 0..50 {
        let n = rng.below(60);
        let readings: Vec<Reading> = (0..n)
            .map(|_| Reading {
                fire: (rng.uniform() < 0.5).then(|| rng.below(90) as u32),
                distress: (rng.uniform() < 0.4).then(|| rng.below(90) as u32),
            })
            .collect();
        let r = error_rates(readings.iter().copied());
        // Brute force, each count by its own filter.
        let tp = readings
            .iter()
            .filter(|x| x.fire.is_some() && x.distress.is_some())
            .count();
        let fp = readings
            .iter()
            .filter(|x| x.fire.is_some() && x.distress.is_none())
            .count();
        let fneg = readings
            .iter()
            .filter(|x| x.fire.is_none() && x.distress.is_some())
            .count();
        let tn = readings
            .iter()
            .filter(|x| x.fire.is_none() && x.distress.is_none())
            .count();
        assert_eq!((r.hits, r.false_alarms, r.misses), (tp, fp, fneg));
        assert_eq!(r.distressed, tp + fneg);
        assert_eq!(r.calm, fp + tn);
        assert_eq!(r.fired, tp + fp);
        let check = |got: Option<f64>, num: usize, den: usize| match got {
            Some(v) => assert!((v - num as f64 / den as f64).abs() < 1e-15),
            None => assert_eq!(den, 0),
        };
        check(r.hit_rate, tp, tp + fneg);
        check(r.miss_rate, fneg, tp + fneg);
        check(r.false_alarm_rate, fp, fp + tn);
        if let (Some(h), Some(m)) = (r.hit_rate, r.miss_rate) {
            assert!((h + m - 1.0).abs() < 1e-15);
        }
        // Median lead: sort the brute-force leads and take the middle by hand.
        let mut leads: Vec<i64> = readings
            .iter()
            .filter_map(|x| Some(i64::from(x.distress?) - i64::from(x.fire?)))
            .collect();
        leads.sort_unstable();
        let expected = match leads.len() {
            0 => None,
            m if m % 2 == 1 => Some(leads[m / 2] as f64),
            m => Some((leads[m / 2 - 1] + leads[m / 2]) as f64 / 2.0),
        };
        assert_eq!(r.median_lead, expected);
    }
}

#[test]
fn lead_time_median_and_timely_share_by_hand() {
    // Leads: 10 − 3 = 7, 5 − 6 = −1, 20 − 2 = 18, 8 − 8 = 0; a miss and a false alarm
    // add none. Sorted −1, 0, 7, 18: median (0 + 7)/2 = 3.5; 3 of 4 on or before distress.
    let rs = [
        (Some(3), Some(10)),
        (Some(6), Some(5)),
        (Some(2), Some(20)),
        (Some(8), Some(8)),
        (None, Some(4)),
        (Some(1), None),
        (None, None),
    ]
    .map(|(fire, distress)| Reading { fire, distress });
    let r = error_rates(rs);
    assert_eq!(r.median_lead, Some(3.5));
    assert_eq!(r.timely_share, Some(0.75));
    assert_eq!(r.hit_rate, Some(0.8)); // 4 of 5 distressed
    assert_eq!(r.false_alarm_rate, Some(0.5)); // 1 of 2 calm
    assert_eq!(r.youden, Some(0.8 - 0.5));
    // Odd count: leads 7, −1, 18 → median 7.
    assert_eq!(error_rates(rs[..3].iter().copied()).median_lead, Some(7.0));
}

#[test]
fn rates_are_none_not_nan_without_a_class() {
    let none = error_rates(std::iter::empty());
    assert_eq!(none, ErrorRates::default());
    let only_calm = error_rates([Reading {
        fire: Some(1),
        distress: None,
    }]);
    assert_eq!(only_calm.hit_rate, None);
    assert_eq!(only_calm.false_alarm_rate, Some(1.0));
    assert_eq!(only_calm.youden, None);
    assert_eq!(
        youden_best(&[GridPoint {
            level: 0.1,
            rates: only_calm
        }]),
        None
    );
}

#[test]
fn youden_calibration_finds_the_known_best_threshold() {
    // Distress exactly when the window peaks above 10% of NAV; peaks avoid grid points.
    // The 10% threshold separates the classes perfectly (J = 1); every other grid point
    // misclassifies some scenarios, so it is the unique maximum.
    let mut rng = Xoshiro256::seed_from_u64(3);
    let outcomes: Vec<ScenarioOutcome> = (0..400)
        .map(|id| {
            let mut peak = 0.32 * rng.uniform();
            if REDEMPTION_TRIGGER_GRID
                .iter()
                .any(|g| (peak - g).abs() < 1e-9)
            {
                peak += 1e-6;
            }
            let day = rng.below(40) as u32;
            let distress = (peak > 0.10).then_some(day + 5);
            outcome(id, peak, day, distress)
        })
        .collect();
    let grid = grid_rates(&outcomes, Trigger::Redemptions);
    let best = youden_best(&grid).unwrap();
    assert_eq!(grid[best].level, 0.10);
    assert_eq!(grid[best].rates.youden, Some(1.0));
    assert_eq!(grid[best].rates.median_lead, Some(5.0));
    for (i, p) in grid.iter().enumerate() {
        if i != best {
            assert!(p.rates.youden.unwrap() < 1.0, "{}", p.level);
        }
    }
}

#[test]
fn youden_ties_go_to_the_higher_hit_rate() {
    let point = |level, hits, misses, fas, calm| GridPoint {
        level,
        rates: error_rates(
            std::iter::repeat_n((Some(0), Some(1)), hits)
                .chain(std::iter::repeat_n((None, Some(1)), misses))
                .chain(std::iter::repeat_n((Some(0), None), fas))
                .chain(std::iter::repeat_n((None, None), calm))
                .map(|(fire, distress)| Reading { fire, distress }),
        ),
    };
    // J = 0.5 − 0.0 and 0.8 − 0.3 = 0.5: the second (more hits) wins; the third is lower.
    let grid = [
        point(1.0, 5, 5, 0, 10),
        point(2.0, 8, 2, 3, 7),
        point(3.0, 9, 1, 6, 4),
    ];
    assert_eq!(youden_best(&grid), Some(1));
}

#[test]
fn two_of_three_fires_on_the_second_trigger() {
    let mut o = outcome(0, 0.0, 0, None);
    let days = [Some(7), None, Some(0)];
    for (k, d) in days.iter().enumerate() {
        o.triggers[k].fire_day = *d;
    }
    assert_eq!(two_of_three(&o), Some(7));
    assert_eq!(any_of_three(&o), Some(0));
    o.triggers[0].fire_day = None;
    assert_eq!(two_of_three(&o), None);
    assert_eq!(any_of_three(&o), Some(0));
}

#[test]
fn protection_counts_and_sizes_the_worse_off_scenarios() {
    let u = variant(0.98, 0.010, 0.02, None);
    let better = variant(0.99, 0.004, 0.01, Some(3)); // +0.01
    let worse = variant(0.975, 0.012, 0.02, Some(2)); // −0.005
    let noise = variant(0.98 - 1e-12, 0.010, 0.02, None); // within tolerance
    let p = protection([(1, &better, &u), (2, &worse, &u), (3, &noise, &u)]);
    assert_eq!(p.scenarios, 3);
    assert_eq!(p.gate_bound, 2);
    assert_eq!(p.worse_off, 1);
    assert_eq!(p.worse_ids, vec![2]);
    assert!((p.worst_loss - 0.005).abs() < 1e-12);
    assert!((p.mean_worse_loss - 0.005).abs() < 1e-12);
    assert!((p.mean_nav_gain - (0.01 - 0.005 - 1e-12) / 3.0).abs() < 1e-12);
    assert!((p.mean_dilution_saved - (0.006 - 0.002 + 0.0) / 3.0).abs() < 1e-12);
    assert!((p.mean_shortfall_change - (-0.01) / 3.0).abs() < 1e-12);
    let empty = protection(std::iter::empty());
    assert_eq!(empty, Protection::default());
}

#[test]
fn the_stratified_subset_is_bounded_and_keeps_the_severity_mix() {
    let sev = [Severity::Moderate, Severity::Severe, Severity::Extreme];
    let outcomes: Vec<ScenarioOutcome> = (0..999)
        .map(|id| {
            let mut o = outcome(id, 0.0, 0, None);
            o.redemption_severity = sev[id as usize % 3];
            o.market_severity = sev[(id as usize / 3) % 3];
            o
        })
        .collect();
    let ids = stratified_subset(&outcomes, 100);
    assert!(ids.len() <= 100 && ids.len() >= 90, "{}", ids.len());
    for s in sev {
        let count = ids
            .iter()
            .filter(|id| outcomes[**id as usize].redemption_severity == s)
            .count();
        // 333 per stratum, every 10th of the ordered set: 33 or 34 each.
        assert!((33..=34).contains(&count), "{s:?}: {count}");
    }
    assert!(stratified_subset(&[], 100).is_empty());
    assert_eq!(stratified_subset(&outcomes[..50], 100).len(), 50);
}

#[test]
fn an_empty_aggregate_gives_a_headline_and_no_nan() {
    let (run, _) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(36), 7).unwrap();
    let agg = LiquidityAggregate {
        outcomes: Vec::new(),
        failures: Vec::new(),
    };
    let f = redemption_policy_formulator(&run, &agg, &[]);
    assert!(!f.headline.is_empty());
    assert!(f.figures.iter().all(|x| x.value.is_finite()));
    assert!(f.recommendations.is_empty());
}

#[test]
fn on_the_seed_fund_figures_are_finite_and_the_notice_rerun_reproduces_the_base() {
    let (run, set) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(72), 7).unwrap();
    let partial = LiquidityWorkflow::evaluate(&run, 0, &set);
    let agg = LiquidityWorkflow::merge(&run, vec![partial]);
    let f = redemption_policy_formulator(&run, &agg, &[]);
    for x in &f.figures {
        assert!(x.value.is_finite(), "{}: {}", x.key, x.value);
    }
    for r in &f.recommendations {
        for c in &r.cites {
            assert!(f.get(c).is_some(), "{c}");
        }
    }
    assert!(!f.headline.is_empty());
    // The configured redemption trigger (15%) is a grid point: both readings agree.
    let i = REDEMPTION_TRIGGER_GRID
        .iter()
        .position(|x| *x == run.settings.redemption_trigger)
        .unwrap();
    let grid = grid_rates(&agg.outcomes, Trigger::Redemptions);
    let conf = error_rates(agg.outcomes.iter().map(|o| Reading {
        fire: o.triggers[0].fire_day,
        distress: o.distress_day,
    }));
    assert_eq!(grid[i].rates, conf);
    // Re-running the fund's own notice period reproduces the base cascades of the
    // evaluate step (same engine, same paths): an independent path to the same numbers.
    let ids = stratified_subset(&agg.outcomes, 20);
    let own = run.fund.terms.notice_days;
    let rerun = notice_alternatives(&run, &set, &ids, &[own], 1);
    let base: Vec<&VariantOutcome> = ids
        .iter()
        .map(|id| &agg.outcomes[*id as usize].base)
        .collect();
    let m = base.len() as f64;
    let mean = |g: fn(&VariantOutcome) -> f64| base.iter().map(|v| g(v)).sum::<f64>() / m;
    assert_eq!(rerun[0].scenarios, ids.len());
    assert!((rerun[0].mean_shortfall - mean(|v| v.beyond_buffer)).abs() < 1e-12);
    assert!((rerun[0].mean_dilution - mean(|v| v.dilution)).abs() < 1e-12);
    assert!((rerun[0].mean_final_nav - mean(|v| v.final_nav_per_share)).abs() < 1e-12);
    let gated = base.iter().filter(|v| v.gate_day.is_some()).count() as f64 / m;
    assert!((rerun[0].gated_share - gated).abs() < 1e-12);
}

/// The seed fund's numbers on 1,000 scenarios, for the hand-over (run with
/// `cargo test --release -p stresslab-liquidity seed_policy_report -- --ignored --nocapture`).
#[test]
#[ignore = "prints the seed fund's 1,000-scenario policy figures for the hand-over; minutes in debug"]
fn seed_policy_report() {
    let (run, set) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(1000), 7).unwrap();
    let partial = LiquidityWorkflow::evaluate(&run, 0, &set);
    let agg = LiquidityWorkflow::merge(&run, vec![partial]);
    let t = std::time::Instant::now();
    let f = redemption_policy_formulator(&run, &agg, &[]);
    let elapsed = t.elapsed();
    println!("persona time: {elapsed:?}");
    println!("HEADLINE: {}", f.headline);
    for x in &f.figures {
        println!("{:55} {:>12.6}  {}", x.key, x.value, x.label);
    }
    for t in &f.tables {
        println!("{}", t.to_markdown());
    }
    for r in &f.recommendations {
        println!("REC: {} {:?}", r.text, r.cites);
    }
}

#[test]
fn days_ahead_of_the_trigger_by_hand() {
    // Gaps late − early where both fire: 9 − 2 = 7, 4 − 4 = 0, 30 − 10 = 20; the others
    // (one side missing) add none. Sorted 0, 7, 20: median 7.
    let pairs = [
        (Some(2), Some(9)),
        (Some(4), Some(4)),
        (Some(10), Some(30)),
        (Some(1), None),
        (None, Some(5)),
    ];
    assert_eq!(median_days_ahead(pairs), Some(7.0));
    assert_eq!(median_days_ahead(pairs[..2].iter().copied()), Some(3.5));
    assert_eq!(median_days_ahead(pairs[3..].iter().copied()), None);
}

#[test]
fn end_dated_distress_is_the_illiquid_breach_without_dilution_distress() {
    let mut o = outcome(0, 0.2, 3, Some(89));
    o.ungated.dilution = 0.001;
    assert!(end_dated_distress(&o, 0.005));
    o.ungated.dilution = 0.006;
    assert!(!end_dated_distress(&o, 0.005));
    o.distress_day = None;
    assert!(!end_dated_distress(&o, 0.005));
}

#[test]
fn share_strictly_ahead_by_hand() {
    // Both fire in three: 2 < 9 yes, 4 < 4 no, 10 < 30 yes → 2/3.
    let pairs = [
        (Some(2), Some(9)),
        (Some(4), Some(4)),
        (Some(10), Some(30)),
        (Some(1), None),
        (None, Some(5)),
    ];
    assert_eq!(share_strictly_ahead(pairs), Some(2.0 / 3.0));
    assert_eq!(share_strictly_ahead(pairs[3..].iter().copied()), None);
}
