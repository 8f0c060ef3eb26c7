use super::*;
use crate::tests::{params, seed_portfolio};
use crate::LiquidityWorkflow;
use stresslab_analytics::rng::Xoshiro256;
use stresslab_core::engine::WorkflowEngine;

fn seed_run(n: u32) -> (LiquidityRun, LiquidityAggregate) {
    let (run, set) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(n), 7).unwrap();
    let partial = LiquidityWorkflow::evaluate(&run, 0, &set);
    let agg = LiquidityWorkflow::merge(&run, vec![partial]);
    (run, agg)
}

/// Random scenarios: outflows growing with the day, factors in (0.5, 1].
fn random_cases(rng: &mut Xoshiro256, n: usize) -> Vec<CoverageCase> {
    (0..n)
        .map(|_| {
            let mut o = [0.0; 4];
            let mut acc = 0.0;
            for x in &mut o {
                acc += rng.uniform() * 0.06;
                *x = acc;
            }
            // A few scenarios with no outflow at all.
            if rng.uniform() < 0.05 {
                o = [0.0; 4];
            }
            CoverageCase {
                outflows: o,
                factors: [1.0, 0.5 + 0.5 * rng.uniform(), 0.5 + 0.5 * rng.uniform()],
            }
        })
        .collect()
}

fn random_composition(rng: &mut Xoshiro256, max: f64) -> Composition {
    Composition::new(
        rng.uniform() * max,
        rng.uniform() * max,
        rng.uniform() * max,
    )
}

#[test]
fn carry_matches_the_long_run_means_of_the_source_series() {
    // Reference: Python 3 `statistics.fmean` over the ORIGINAL files in
    // /work/shared/data (us_zero_yields_monthly_1946_1991.csv, columns r1/r12/r36/r60/
    // r120; moodys_aaa_baa_monthly_1919_2018.csv restricted to the same 531 months;
    // ff3_monthly_1926_2018.csv Mkt-RF × 12), divided by 100 — not the copy read here.
    let c = Carry::long_run().unwrap();
    assert_eq!(c.months, 531);
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    close(c.term_2y, 0.008534209039548022);
    close(c.term_5y, 0.01152854990583804);
    close(c.term_10y, 0.013373088512241053);
    close(c.credit_ig, 0.009419962335216572);
    close(c.equity, 0.07504632768361581);
}

#[test]
fn carry_refuses_bad_text() {
    assert!(Carry::from_csv("").is_err());
    assert!(Carry::from_csv("month,zero_1m\n1990-01,5\n").is_err());
    let header = "month,zero_1m,zero_12m,zero_36m,zero_60m,zero_120m,moodys_aaa,moodys_baa,mkt_rf";
    assert!(Carry::from_csv(&format!("{header}\n")).is_err());
    assert!(Carry::from_csv(&format!("{header}\n1990-01,5,6,7,8,9,8,9,x\n")).is_err());
    // One row: the premia are that row's spreads.
    let one = Carry::from_csv(&format!("{header}\n1990-01,5,6,7,8,9,8,9.5,1\n")).unwrap();
    assert!((one.term_2y - 0.015).abs() < 1e-15);
    assert!((one.term_5y - 0.03).abs() < 1e-15);
    assert!((one.term_10y - 0.04).abs() < 1e-15);
    assert!((one.credit_ig - 0.015).abs() < 1e-15);
    assert!((one.equity - 0.12).abs() < 1e-15);
}

#[test]
fn coverage_is_monotone_in_buffer_size() {
    // Property: scaling a random composition up (or adding to any one tier) never
    // covers fewer scenarios, at any need day — on random scenarios and on the seed's.
    let mut rng = Xoshiro256::seed_from_u64(11);
    let (_, agg) = seed_run(72);
    let seed_cases: Vec<CoverageCase> = agg
        .outcomes
        .iter()
        .map(CoverageCase::from_outcome)
        .collect();
    let random = random_cases(&mut rng, 300);
    for cases in [&random, &seed_cases] {
        for _ in 0..400 {
            let b = random_composition(&mut rng, 0.15);
            let lambda = 1.0 + 2.0 * rng.uniform();
            let bigger = Composition::at(b.mix(), b.total() * lambda);
            let mut plus = b;
            match rng.below(3) {
                0 => plus.cash += 0.02 * rng.uniform(),
                1 => plus.short_sovereign += 0.02 * rng.uniform(),
                _ => plus.liquid_credit += 0.02 * rng.uniform(),
            }
            for k in 0..4 {
                let base = coverage_count(cases, &b, k);
                assert!(
                    coverage_count(cases, &bigger, k) >= base,
                    "{b:?} × {lambda}, day {k}"
                );
                assert!(
                    coverage_count(cases, &plus, k) >= base,
                    "{b:?} → {plus:?}, day {k}"
                );
            }
        }
    }
}

#[test]
fn coverage_equals_a_direct_count_from_the_scenario_outcomes() {
    // Independent count straight from ScenarioOutcome fields and the stated formula.
    let (_, agg) = seed_run(72);
    let cases: Vec<CoverageCase> = agg
        .outcomes
        .iter()
        .map(CoverageCase::from_outcome)
        .collect();
    let mut comps: Vec<Composition> = SEED_CANDIDATES.to_vec();
    comps.push(Composition::new(0.01, 0.0, 0.0));
    comps.push(Composition::new(0.0, 0.0, 0.08));
    comps.push(Composition::new(0.0, 0.0, 0.0));
    for b in &comps {
        for k in 0..4 {
            let mut direct = 0;
            for o in &agg.outcomes {
                let [hs, he] = o.buffer_haircuts;
                let value = b.cash
                    + b.short_sovereign * (1.0 - hs) * (1.0 - SHORT_SOVEREIGN_VALUE_HAIRCUT)
                    + b.liquid_credit * (1.0 - he) * (1.0 - LIQUID_CREDIT_VALUE_HAIRCUT);
                if value + 1e-12 >= o.outflows[k] {
                    direct += 1;
                }
            }
            assert_eq!(coverage_count(&cases, b, k), direct, "{b:?} day {k}");
        }
    }
    // Limit cases: no buffer covers exactly the scenarios without outflow; a buffer of
    // all of NAV in cash covers every scenario (outflows are at most NAV).
    let zero = Composition::new(0.0, 0.0, 0.0);
    let all = Composition::new(1.0, 0.0, 0.0);
    for k in 0..4 {
        let no_outflow = agg.outcomes.iter().filter(|o| o.outflows[k] <= 0.0).count();
        assert_eq!(coverage_count(&cases, &zero, k), no_outflow);
        assert_eq!(coverage_count(&cases, &all, k), cases.len());
    }
}

#[test]
fn required_count_is_the_ceiling_of_target_times_n() {
    assert_eq!(required_count(0.985, 1000), 985);
    assert_eq!(required_count(0.985, 120), 119); // 118.2 → 119
    assert_eq!(required_count(0.5, 3), 2);
    assert_eq!(required_count(0.9999, 10_000), 9999);
    assert_eq!(required_count(0.985, 0), 0);
    assert_eq!(required_count(1.0, 7), 7);
}

#[test]
fn min_size_for_mix_equals_bisection_on_the_coverage_count() {
    let mut rng = Xoshiro256::seed_from_u64(5);
    let cases = random_cases(&mut rng, 200);
    let mut scratch = Vec::new();
    for _ in 0..50 {
        let mut w = [rng.uniform(), rng.uniform(), rng.uniform()];
        let s: f64 = w.iter().sum();
        w = w.map(|x| x / s);
        let k = rng.below(4);
        let needed = 1 + rng.below(200);
        let t = min_size_for_mix(&cases, w, k, needed, &mut scratch).unwrap();
        // Bisection on size, using only the direct count.
        let count = |t: f64| coverage_count(&cases, &Composition::at(w, t), k);
        let (mut lo, mut hi) = (0.0, 10.0);
        assert!(count(hi) >= needed);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if count(mid) >= needed {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        assert!((t - hi).abs() < 1e-9, "{t} vs bisection {hi}");
        assert!(count(t) >= needed);
        assert!(t == 0.0 || count(t * (1.0 - 1e-9)) < needed);
    }
    // A mix that raises nothing cannot cover a positive outflow.
    let dead = vec![CoverageCase {
        outflows: [0.1; 4],
        factors: [1.0, 0.0, 0.0],
    }];
    assert_eq!(
        min_size_for_mix(&dead, [0.0, 1.0, 0.0], 2, 1, &mut scratch),
        None
    );
    assert_eq!(
        min_size_for_mix(&dead, [0.0, 1.0, 0.0], 2, 0, &mut scratch),
        Some(0.0)
    );
    assert_eq!(
        min_size_for_mix(&dead, [1.0, 0.0, 0.0], 2, 1, &mut scratch),
        Some(0.1)
    );
}

/// The optimum by brute force: every grid mix, every size at which some scenario's
/// coverage (or the cash floor) switches on, each checked with direct counts.
fn brute_force(cases: &[CoverageCase], p: &BufferProblem) -> Option<f64> {
    let mut best: Option<f64> = None;
    let s = p.steps;
    for i in 0..=s {
        for j in 0..=s {
            for l in 0..=s {
                if i + j + l != s {
                    continue;
                }
                let w = [
                    i as f64 / s as f64,
                    j as f64 / s as f64,
                    l as f64 / s as f64,
                ];
                if w[2] > p.max_credit_share + 1e-12 {
                    continue;
                }
                let mut sizes: Vec<f64> = cases
                    .iter()
                    .map(|c| {
                        let per = w[0] * c.factors[0] + w[1] * c.factors[1] + w[2] * c.factors[2];
                        if c.outflows[p.horizon] <= 0.0 {
                            0.0
                        } else {
                            c.outflows[p.horizon] / per
                        }
                    })
                    .filter(|t| t.is_finite())
                    .collect();
                if w[0] > 0.0 {
                    sizes.push(p.cash_floor / w[0]);
                }
                for t in sizes {
                    let b = Composition::at(w, t);
                    let cash_ok = b.cash >= p.cash_floor - 1e-12;
                    if cash_ok && coverage_count(cases, &b, p.horizon) >= p.needed {
                        let cost = annual_cost(&b, &p.unit_costs);
                        if best.is_none_or(|c| cost < c) {
                            best = Some(cost);
                        }
                    }
                }
            }
        }
    }
    best
}

#[test]
fn the_optimiser_matches_brute_force_on_a_small_grid() {
    let mut rng = Xoshiro256::seed_from_u64(3);
    for trial in 0..12 {
        let cases = random_cases(&mut rng, 40);
        let needed = 30 + rng.below(11);
        let mut first: Vec<f64> = cases.iter().map(|c| c.outflows[0]).collect();
        first.sort_by(f64::total_cmp);
        let p = BufferProblem {
            horizon: rng.below(4),
            needed,
            cash_floor: if trial % 2 == 0 {
                first[needed - 1]
            } else {
                0.0
            },
            unit_costs: [
                0.03 + 0.03 * rng.uniform(),
                0.02 + 0.03 * rng.uniform(),
                0.01 + 0.03 * rng.uniform(),
            ],
            max_credit_share: if trial % 3 == 0 { 1.0 } else { 0.4 },
            steps: 10,
        };
        let o = optimise(&cases, &p).unwrap();
        let bf = brute_force(&cases, &p).unwrap();
        assert!(
            (o.cost - bf).abs() < 1e-12,
            "trial {trial}: {} vs {bf}",
            o.cost
        );
        // The optimum meets every constraint.
        let b = o.composition;
        assert!(coverage_count(&cases, &b, p.horizon) >= needed);
        assert!(b.cash >= p.cash_floor - 1e-12);
        assert!(b.liquid_credit <= p.max_credit_share * b.total() + 1e-12);
        assert!((annual_cost(&b, &p.unit_costs) - o.cost).abs() < 1e-15);
    }
}

#[test]
fn with_equal_costs_the_cheapest_buffer_is_the_smallest_one() {
    // Limit case: equal unit costs and no haircuts → every mix raises the same per unit,
    // so the optimum is the `needed`-th smallest outflow, at any mix.
    let mut rng = Xoshiro256::seed_from_u64(9);
    let mut cases = random_cases(&mut rng, 50);
    for c in &mut cases {
        c.factors = [1.0; 3];
    }
    let p = BufferProblem {
        horizon: 2,
        needed: 45,
        cash_floor: 0.0,
        unit_costs: [0.05; 3],
        max_credit_share: 1.0,
        steps: 20,
    };
    let o = optimise(&cases, &p).unwrap();
    let mut out: Vec<f64> = cases.iter().map(|c| c.outflows[2]).collect();
    out.sort_by(f64::total_cmp);
    assert!((o.composition.total() - out[44]).abs() < 1e-12);
    assert!((o.cost - 0.05 * out[44]).abs() < 1e-12);
}

#[test]
fn needs_percentiles_match_a_sorted_brute_force() {
    let (_, agg) = seed_run(72);
    for k in 0..4 {
        let mut v: Vec<f64> = agg.outcomes.iter().map(|o| o.outflows[k]).collect();
        let q = percentiles(&mut v.clone(), &NEED_PERCENTILES).unwrap();
        // Hyndman–Fan 7 by hand: h = (n − 1)p, interpolate between order statistics.
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for (p, got) in NEED_PERCENTILES.iter().zip(&q) {
            let h = (v.len() - 1) as f64 * p;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(v.len() - 1);
            let want = v[lo] + (h - lo as f64) * (v[hi] - v[lo]);
            assert!((got - want).abs() < 1e-14, "day {k} p {p}: {got} vs {want}");
            assert!(*got >= v[lo] && *got <= v[hi]);
        }
    }
    // A fixed vector: numpy.quantile([.05,.01,.03,.2,.07,.11,.02], [.9,.95,.99]) by hand:
    // sorted .01 .02 .03 .05 .07 .11 .2; h = 5.4, 5.7, 5.94 →
    // .11 + .4·.09 = .146, .11 + .7·.09 = .173, .11 + .94·.09 = .1946.
    let mut x = vec![0.05, 0.01, 0.03, 0.2, 0.07, 0.11, 0.02];
    let q = percentiles(&mut x, &NEED_PERCENTILES).unwrap();
    for (got, want) in q.iter().zip([0.146, 0.173, 0.1946]) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert_eq!(percentiles(&mut [], &NEED_PERCENTILES), None);
}

#[test]
fn rcr_is_liquid_assets_over_outflows_and_capped() {
    let (_, agg) = seed_run(72);
    let o = &agg.outcomes[0];
    for k in 0..4 {
        let r = rcr(o, k);
        if o.outflows[k] > 0.0 && o.liquid_assets[k] / o.outflows[k] < RCR_CAP {
            assert!((r - o.liquid_assets[k] / o.outflows[k]).abs() < 1e-12);
        } else {
            assert_eq!(r, RCR_CAP);
        }
    }
    let mut none = o.clone();
    none.outflows = [0.0; 4];
    assert_eq!(rcr(&none, 2), RCR_CAP);
}

#[test]
fn horizon_index_picks_the_need_day_within_the_cascade() {
    assert_eq!(horizon_index(30, 90), 2);
    assert_eq!(horizon_index(90, 90), 3);
    assert_eq!(horizon_index(1, 90), 0);
    assert_eq!(horizon_index(30, 21), 1); // day 30 beyond a 21-day cascade → day 7
    assert_eq!(horizon_index(15, 90), 3); // not a need day → the last within the horizon
}

#[test]
fn todays_buffer_and_constraints_of_the_seed_fund() {
    let (run, _) = seed_run(36);
    let b = todays_buffer(&run);
    // The seed: cash 1% + cash equivalents 2% → 3% cash; short sovereigns 4%.
    assert!((b.cash - 0.03).abs() < 1e-9, "{b:?}");
    assert!((b.short_sovereign - 0.04).abs() < 1e-9);
    assert_eq!(b.liquid_credit, 0.0);
    assert!((b.total() - run.fund.buffer.share).abs() < 1e-12);

    let p = LiquidityParams::default();
    let own = constraints(&run, &[], &p);
    assert_eq!(own.len(), 4);
    assert!(own.iter().all(|c| c.source != "market-liquidity-analyst"));
    // Illiquid 10% ≤ 25%; the largest broad class 40% equities ≤ 50%.
    assert!((own[0].value - run.fund.classification.shares.illiquid).abs() < 1e-12);
    assert!(own[0].met());
    assert!((own[2].value - 0.40).abs() < 1e-9, "{:?}", own[2]);
    assert!(own[2].met());
    // The analyst's figures take precedence.
    let mut analyst = Findings::new("market-liquidity-analyst");
    analyst.figure("illiquid_share", "x", 0.30, Unit::Fraction, Horizon::Point);
    analyst.figure("liquidatable_1d", "x", 0.10, Unit::Fraction, Horizon::Point);
    let read = constraints(&run, &[analyst], &p);
    assert_eq!(read[0].value, 0.30);
    assert!(!read[0].met());
    assert_eq!(read[1].value, 0.10);
    assert!(!read[1].met());
    assert_eq!(read[3].source, "today's 22e-4 classification");
}

#[test]
fn an_empty_aggregate_gives_a_headline_and_no_nan() {
    let (run, _) = seed_run(36);
    let empty = LiquidityAggregate {
        outcomes: vec![],
        failures: vec![],
    };
    let f = portfolio_liquidity_optimizer(&run, &empty, &[]);
    assert!(f.headline.contains("No scenario"), "{}", f.headline);
    assert!(
        f.figures.iter().all(|x| x.value.is_finite()),
        "{:?}",
        f.figures
    );
    assert!(f.get("coverage_target").is_some());
    assert!(f.get("current_buffer_share").is_some());
    assert!(f.get("optimal_buffer_share").is_none());
}

#[test]
fn the_persona_on_the_seed_fund_publishes_the_contract() {
    let (run, agg) = seed_run(120);
    let f = portfolio_liquidity_optimizer(&run, &agg, &[]);
    println!("{}", f.headline);
    for fig in &f.figures {
        println!("{:40} {:>12.6}  {}", fig.key, fig.value, fig.label);
    }
    for key in [
        "current_buffer_share",
        "current_buffer_coverage",
        "optimal_buffer_share",
        "optimal_buffer_cost",
        "coverage_target",
    ] {
        let v = f.get(key).unwrap_or_else(|| panic!("{key} missing"));
        assert!(v.is_finite(), "{key}");
    }
    assert!(f.figures.iter().all(|x| x.value.is_finite()));
    let target = f.get("coverage_target").unwrap();
    assert!(f.get("optimal_buffer_coverage").unwrap() >= target - 1e-12);
    // Recommendations cite only this persona's figures.
    for r in &f.recommendations {
        assert!(r.cites.iter().all(|c| f.get(c).is_some()), "{r:?}");
    }
    // Needs rise with the day (cumulative) at every percentile.
    for p in ["p90", "p95", "p99"] {
        let v: Vec<f64> = NEED_DAYS
            .iter()
            .map(|d| f.get(&format!("need_{d}d_{p}")).unwrap())
            .collect();
        assert!(v.windows(2).all(|w| w[0] <= w[1] + 1e-15), "{p}: {v:?}");
    }
    // The curve is non-decreasing in size for every series.
    let chart = &f.charts[0];
    for s in &chart.series {
        assert!(s.values.windows(2).all(|w| w[0] <= w[1]), "{}", s.name);
    }
}
