//! The analyst against independent values: hand-computed ladders and slice costs,
//! brute-force medians and design counts, and the persona's figures on the seed fund.

use super::*;
use crate::scenarios::{
    class_loading, DEPTH_REDUCTION_BANDS, VOLUME_REDUCTION_BANDS, VOL_MULTIPLIER_BANDS,
};
use crate::tests::{params, seed_portfolio};
use crate::LiquidityWorkflow;
use stresslab_core::engine::WorkflowEngine;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn holding(id: &str, class: AssetClass, mv: f64, adv: f64, spread: f64, vol: f64) -> Holding {
    Holding {
        id: id.into(),
        asset_class: class,
        market_value: mv,
        adv,
        spread_bps: spread,
        daily_vol: vol,
        settlement_days: 1,
    }
}

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

#[test]
fn one_holding_ladder_by_hand_under_its_class_stress() {
    // 180 worth, ADV 200 (the seed's CR-HY-3 in millions), 100 bp, 0.6%/day, T+1.
    let book = vec![holding(
        "hy",
        AssetClass::CreditHy,
        180.0,
        200.0,
        100.0,
        0.006,
    )];
    let stress = MarketStress {
        depth_reduction: 0.5,
        spread_multiplier: 2.0,
        volume_reduction: 0.5,
        vol_multiplier: 2.0,
    };
    let l = class_stressed_ladder(
        &book,
        |_| stress,
        &ImpactModel::ALMGREN_2005,
        &[1, 3, 30],
        &[0.1],
    )
    .unwrap();
    // 10% of the stressed volume 200·(1 − 0.5) = 10 a day.
    assert!(close(l.cell(1, 0.1).unwrap().sold, 10.0, 1e-12));
    assert!(close(
        l.cell(3, 0.1).unwrap().sold_share,
        30.0 / 180.0,
        1e-12
    ));
    // Settled: T+1, so 3 days settle two sessions' 20.
    assert!(close(
        l.cell(3, 0.1).unwrap().settled_share,
        20.0 / 180.0,
        1e-12
    ));
    // 30 days: 18 sessions sell it all.
    assert!(close(l.cell(30, 0.1).unwrap().sold_share, 1.0, 1e-12));
    // Cost per unit: half of 200 bp + 0.142 · 0.012 · (10/100)^0.6 against the depth
    // 200·(1 − 0.5) = 100. 0.1^0.6 = 0.251188643150958 (numpy).
    let unit = 0.01 + 0.142 * 0.012 * 0.251_188_643_150_958;
    assert!(close(l.cell(3, 0.1).unwrap().cost, 30.0 * unit, 1e-12));
    assert!(close(
        l.cell(1, 0.1).unwrap().cost_share_of_sold,
        unit,
        1e-12
    ));
}

#[test]
fn a_uniform_stress_gives_the_whole_book_ladder() {
    let book = vec![
        holding("cash", AssetClass::Cash, 10.0, f64::INFINITY, 0.0, 0.0),
        holding("a", AssetClass::EquityLarge, 100.0, 300.0, 3.0, 0.02),
        holding("b", AssetClass::EquityLarge, 50.0, 40.0, 4.0, 0.02),
        holding("c", AssetClass::CreditIg, 80.0, 60.0, 20.0, 0.004),
        holding("pe", AssetClass::Alternatives, 30.0, 0.0, 0.0, 0.0),
    ];
    let s = MarketStress {
        depth_reduction: 0.7,
        spread_multiplier: 3.0,
        volume_reduction: 0.6,
        vol_multiplier: 2.5,
    };
    let whole = liquidity_ladder(
        &book,
        &s,
        &ImpactModel::ALMGREN_2005,
        &LADDER_HORIZONS,
        &LADDER_PARTICIPATIONS,
    )
    .unwrap();
    let split = class_stressed_ladder(
        &book,
        |_| s,
        &ImpactModel::ALMGREN_2005,
        &LADDER_HORIZONS,
        &LADDER_PARTICIPATIONS,
    )
    .unwrap();
    assert_eq!(whole.nav, split.nav);
    for (a, b) in whole.cells.iter().zip(&split.cells) {
        assert!(close(a.sold_share, b.sold_share, 1e-12));
        assert!(close(a.settled_share, b.settled_share, 1e-12));
        assert!(close(a.cost, b.cost, 1e-12));
        assert!(close(a.cost_share_of_sold, b.cost_share_of_sold, 1e-12));
    }
    assert_eq!(
        class_stressed_ladder(&[], |_| s, &ImpactModel::KYLE, &[1], &[0.1]),
        Err(ProfileError::EmptyBook)
    );
}

#[test]
fn slice_cost_by_hand() {
    // 300 from a holding of 1000 trading 1000 a day at a 20% cap: 200 on day one
    // (participation 0.2), 100 on day two (0.1). Kyle κ = 0.5, σ = 2%, 10 bp spread:
    // 200·(0.0005 + 0.5·0.02·0.2) + 100·(0.0005 + 0.5·0.02·0.1) = 0.5 + 0.15.
    let h = holding("x", AssetClass::EquityMid, 1000.0, 1000.0, 10.0, 0.02);
    let c = class_slice_cost(&[&h], 300.0, 0.2, &MarketStress::NONE, &ImpactModel::KYLE).unwrap();
    assert!(close(c.sold, 300.0, 1e-12));
    assert!(close(c.cost, 0.65, 1e-12));
    assert_eq!(c.days, 2);
    // Pro rata over two holdings, capped at what the class holds with a market.
    let g = holding("y", AssetClass::EquityMid, 3000.0, 1e12, 10.0, 0.02);
    let pe = holding("pe", AssetClass::EquityMid, 5000.0, 0.0, 0.0, 0.0);
    let c = class_slice_cost(
        &[&h, &g, &pe],
        400.0,
        0.2,
        &MarketStress::NONE,
        &ImpactModel::KYLE,
    )
    .unwrap();
    // 100 from x (one day at 10%: 100·(0.0005 + 0.001)), 300 from y (≈ no impact).
    assert!(close(c.sold, 400.0, 1e-12));
    let want = 100.0 * 0.0015 + 300.0 * (0.0005 + 0.5 * 0.02 * 300.0 / 1e12);
    assert!(close(c.cost, want, 1e-12));
    assert_eq!(c.days, 1);
    assert_eq!(
        class_slice_cost(&[&pe], 400.0, 0.2, &MarketStress::NONE, &ImpactModel::KYLE),
        None
    );
}

#[test]
fn median_market_wide_and_design_counts_by_brute_force() {
    let (run, _) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(240), 3).unwrap();
    let set = crate::scenario_set(&run).unwrap();
    let m = median_market_wide(&set).unwrap();
    assert_eq!(m.market.kind, MarketStressKind::MarketWide);
    let wide: Vec<_> = set
        .iter()
        .filter(|s| s.market.kind == MarketStressKind::MarketWide)
        .collect();
    let below = wide
        .iter()
        .filter(|s| s.market.quantile < m.market.quantile)
        .count();
    let above = wide
        .iter()
        .filter(|s| s.market.quantile > m.market.quantile)
        .count();
    assert_eq!(below, (wide.len() - 1) / 2);
    assert_eq!(above, wide.len() - 1 - below);

    let design = stress_design(&set);
    let mut total = 0;
    for (k, row) in design.iter().enumerate() {
        for (s, cell) in row.iter().enumerate() {
            let c = cell.expect("every type × severity is covered");
            let direct: Vec<_> = set
                .iter()
                .filter(|x| x.market.kind.index() == k && x.market.severity as usize == s)
                .collect();
            assert_eq!(c.count, direct.len());
            total += c.count;
            let lo = direct
                .iter()
                .map(|x| x.market.peak.depth_reduction)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(c.depth_reduction[0], lo);
            // Inside the severity's bands.
            assert!(c.depth_reduction[0] >= DEPTH_REDUCTION_BANDS[s][0] - 1e-12);
            assert!(c.depth_reduction[1] <= DEPTH_REDUCTION_BANDS[s][1] + 1e-12);
            assert!(c.volume_reduction[0] >= VOLUME_REDUCTION_BANDS[s][0] - 1e-12);
            assert!(c.volume_reduction[1] <= VOLUME_REDUCTION_BANDS[s][1] + 1e-12);
            assert!(c.vol_multiplier[1] <= VOL_MULTIPLIER_BANDS[s][1] + 1e-12);
            let sb = crate::scenarios::spread_multiplier_bands()[s];
            assert!(c.spread_multiplier[0] >= sb[0] - 1e-9);
            assert!(c.spread_multiplier[1] <= sb[1] + 1e-9);
            // One correlation regime per severity.
            assert_eq!(c.regimes.iter().filter(|r| **r).count(), 1);
            assert!(c.regimes[s]);
        }
    }
    assert_eq!(total, set.len());
}

#[test]
fn seed_figures_against_direct_sums() {
    let (run, agg) = seed_run(72);
    let f = market_liquidity_analyst(&run, &agg);
    let nav = run.fund.nav;
    let cap = run.settings.participation_cap;
    // Sellable in one day at the cap: Σ min(value, cap · ADV) / NAV (cash: all of it;
    // no market: nothing).
    let direct: f64 = run
        .fund
        .holdings
        .iter()
        .map(|p| p.holding.market_value.min(cap * p.holding.adv))
        .sum::<f64>()
        / nav;
    assert!(close(f.get("liquidatable_1d").unwrap(), direct, 1e-12));
    // Stressed: each holding's ADV cut by its class's share of the median market-wide
    // scenario's peak volume reduction.
    let set = crate::scenario_set(&run).unwrap();
    let m = median_market_wide(&set).unwrap();
    let stressed: f64 = run
        .fund
        .holdings
        .iter()
        .map(|p| {
            let h = &p.holding;
            let vr = m.market.peak.volume_reduction * class_loading(m.market.kind, h.asset_class);
            h.market_value.min(cap * h.adv * (1.0 - vr))
        })
        .sum::<f64>()
        / nav;
    assert!(close(
        f.get("liquidatable_1d_stressed").unwrap(),
        stressed,
        1e-12
    ));
    assert!(stressed < direct);
    // The holdings table's stressed depth and days for one holding, by hand: US
    // high-yield sleeve 3 (180m, ADV 200m; credit HY bears the market-wide stress fully).
    let table = f
        .tables
        .iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .find(|t| t["title"].as_str().unwrap().starts_with("Holdings"))
        .unwrap();
    let col = |name: &str| {
        table["columns"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["name"] == name)
            .unwrap()
    };
    let row = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "US high-yield sleeve 3")
        .unwrap();
    let peak = m.market.peak;
    let depth = row[col("Depth, stressed")].as_f64().unwrap();
    assert!(close(depth, 2e8 * (1.0 - peak.depth_reduction), 1e-12));
    let days = row[col("Days at cap, stressed")].as_f64().unwrap();
    assert!(close(
        days,
        1.8e8 / (cap * 2e8 * (1.0 - peak.volume_reduction)),
        1e-12
    ));
    let spread = row[col("Spread, stressed (bp)")].as_f64().unwrap();
    assert!(close(spread, 100.0 * peak.spread_multiplier, 1e-12));
    // Buckets sum to one and are the model's classification.
    let s = [
        "highly_liquid_share",
        "moderately_liquid_share",
        "less_liquid_share",
        "illiquid_share",
    ]
    .map(|k| f.get(k).unwrap());
    assert!(close(s.iter().sum::<f64>(), 1.0, 1e-12));
    assert_eq!(s[3], run.fund.classification.shares.illiquid);
    // The seed's alternatives (no market): 1.2bn of 12bn are illiquid at least.
    assert!(s[3] >= 1.2e9 / nav - 1e-12);
    let score = f.get("weighted_score").unwrap();
    assert!((1.0..=5.0).contains(&score));
    assert_eq!(
        f.get("baa_aaa_2008_multiple"),
        Some(crate::scenarios::BAA_AAA_2008_MULTIPLE)
    );
    assert_eq!(f.get("stress_scenarios"), Some(72.0));
    // The ladder chart: one series per participation over the six horizons, monotone.
    let chart = f
        .charts
        .iter()
        .find(|c| c.key == "liquidity_ladder")
        .unwrap();
    assert_eq!(chart.labels, vec!["1", "3", "5", "10", "20", "30"]);
    assert_eq!(chart.series.len(), 4);
    for s in &chart.series {
        assert!(s.values.windows(2).all(|w| w[1] >= w[0] - 1e-15));
    }
    assert!(!f.headline.is_empty());
    assert!(!f.recommendations.is_empty());
}

#[test]
fn empty_aggregate_gives_finite_contract_figures() {
    let (run, _) = LiquidityWorkflow::prepare(&seed_portfolio(), None, &params(36), 7).unwrap();
    let f = market_liquidity_analyst(&run, &empty());
    for key in [
        "highly_liquid_share",
        "moderately_liquid_share",
        "less_liquid_share",
        "illiquid_share",
        "weighted_score",
        "liquidatable_1d",
        "liquidatable_1d_stressed",
    ] {
        assert!(f.get(key).is_some(), "{key} missing");
    }
    for fig in &f.figures {
        assert!(fig.value.is_finite(), "{} = {}", fig.key, fig.value);
    }
    assert!(
        f.headline.contains("0 scenarios evaluated"),
        "{}",
        f.headline
    );
    for r in &f.recommendations {
        for c in &r.cites {
            assert!(f.get(c).is_some(), "{c}");
        }
    }
}
