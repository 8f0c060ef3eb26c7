//! Tests of the cascade engine: limit cases, an independent one-pass reference, money
//! conservation over random funds and scenarios, gate and strategy comparisons.

use super::*;
use stresslab_analytics::rng::Xoshiro256;

const ALL_CLASSES: [AssetClass; 12] = [
    AssetClass::Cash,
    AssetClass::CashEquivalent,
    AssetClass::ShortSovereign,
    AssetClass::Sovereign,
    AssetClass::EquityLarge,
    AssetClass::EquityMid,
    AssetClass::EquitySmall,
    AssetClass::EquityEm,
    AssetClass::CreditIg,
    AssetClass::CreditHy,
    AssetClass::EmDebt,
    AssetClass::Alternatives,
];

fn holding(
    id: &str,
    class: AssetClass,
    mv: f64,
    adv: f64,
    spread_bps: f64,
    vol: f64,
    settle: u32,
) -> Holding {
    Holding {
        id: id.to_string(),
        asset_class: class,
        market_value: mv,
        adv,
        spread_bps,
        daily_vol: vol,
        settlement_days: settle,
    }
}

/// A 40-holding multi-asset fund shaped like the issue's seed ($12bn: equities 40%,
/// fixed income 30%, credit 15%, alternatives 15%; 7% buffer as 3% cash, 2% cash
/// equivalents, 2% short sovereigns). Illustrative liquidity fields.
fn seed_fund() -> CascadeFund {
    let nav = 12e9;
    let mut h = Vec::new();
    let mut add = |class, weight: f64, count: usize, adv_mult: f64, spread, vol, settle| {
        for k in 0..count {
            let mv = nav * weight / count as f64;
            // ADV as a multiple of the position, varied ±50% across the holdings.
            let vary = 0.5 + (k as f64 + 0.5) / count as f64;
            h.push(holding(
                &format!("{class:?}-{k}"),
                class,
                mv,
                mv * adv_mult * vary,
                spread,
                vol,
                settle,
            ));
        }
    };
    add(
        AssetClass::CashEquivalent,
        0.02,
        1,
        f64::INFINITY,
        0.0,
        0.0,
        0,
    );
    add(AssetClass::ShortSovereign, 0.02, 2, 200.0, 2.0, 0.002, 1);
    add(AssetClass::Sovereign, 0.23, 3, 50.0, 4.0, 0.005, 1);
    add(AssetClass::EquityLarge, 0.20, 8, 20.0, 5.0, 0.015, 2);
    add(AssetClass::EquityMid, 0.08, 4, 5.0, 15.0, 0.02, 2);
    add(AssetClass::EquitySmall, 0.04, 3, 1.0, 40.0, 0.025, 2);
    add(AssetClass::EquityEm, 0.08, 4, 2.0, 30.0, 0.022, 2);
    add(AssetClass::CreditIg, 0.08, 4, 2.0, 30.0, 0.004, 2);
    add(AssetClass::CreditHy, 0.05, 3, 0.5, 80.0, 0.008, 3);
    add(AssetClass::EmDebt, 0.02, 2, 0.5, 100.0, 0.01, 3);
    add(AssetClass::Alternatives, 0.15, 6, 0.02, 300.0, 0.01, 5);
    CascadeFund {
        holdings: h,
        cash: nav * 0.03,
        buffer_tiers: vec![AssetClass::CashEquivalent, AssetClass::ShortSovereign],
    }
}

fn severe() -> MarketStress {
    MarketStress {
        depth_reduction: 0.7,
        spread_multiplier: 5.0,
        volume_reduction: 0.5,
        vol_multiplier: 2.0,
    }
}

fn policy(strategy: LiquidationStrategy) -> LiquidationPolicy {
    LiquidationPolicy {
        strategy,
        participation_cap: 0.2,
    }
}

fn run_once(
    fund: &CascadeFund,
    terms: FundTerms,
    pol: LiquidationPolicy,
    stress: &[MarketStress],
    base: &[f64],
    phi: f64,
) -> CascadeOutcome {
    let engine = CascadeEngine::new(fund, terms, pol).unwrap();
    let mut ws = engine.workspace();
    let market = MarketPath {
        stress,
        class_returns: &[],
        class_stress: &[],
    };
    engine
        .run(
            &market,
            &DrawdownFeedback { base, phi },
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            false,
        )
        .unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1.0)
}

// ---- formulas -------------------------------------------------------------------

#[test]
fn spread_power_impact_matches_almgren_formula() {
    // 20 bp spread, σ = 2%, participation 10%: 0.001 + 0.142 · 0.02 · 0.1^0.6
    // = 0.0017133757465487207 (Python: 0.001 + 0.142*0.02*0.1**0.6).
    let sale = SaleConditions {
        participation: 0.1,
        spread_bps: 20.0,
        daily_vol: 0.02,
        stress: MarketStress::NONE,
    };
    let c = SpreadPowerImpact::ALMGREN_2005.cost_fraction(&sale);
    assert!((c - 0.0017133757465487207).abs() < 1e-15, "{c}");
    // Square root: 0.001 + 0.142 · 0.02 · √0.1.
    let c = SpreadPowerImpact::SQUARE_ROOT.cost_fraction(&sale);
    assert!((c - (0.001 + 0.142 * 0.02 * 0.1f64.sqrt())).abs() < 1e-15);
    // No trade size, no impact: only the half-spread.
    let c = SpreadPowerImpact::ALMGREN_2005.cost_fraction(&SaleConditions {
        participation: 0.0,
        ..sale
    });
    assert_eq!(c, 0.001);
}

#[test]
fn fire_sale_mark_matches_cont_schaanning_and_engine() {
    assert_eq!(fire_sale_factor(0.0, 1.0), 1.0);
    assert_eq!(fire_sale_factor(5.0, f64::INFINITY), 1.0);
    assert!((fire_sale_factor(1.0, 2.0) - (-0.5f64).exp()).abs() < 1e-15);
    // Engine: one class, two holdings. Sell 2e5 of A (cash 0, no buffer), B is marked by
    // exp(−q/D), D = ΣADV/σ · (1 − 0.5)/(0.314 · 2), ADV 5e6 and 1e300 ... keep B's ADV
    // equal: D = 2 · 5e6/0.02 · 0.5/(0.314 · 2).
    let fund = CascadeFund {
        holdings: vec![
            holding("A", AssetClass::EquityLarge, 1e6, 5e6, 0.0, 0.02, 0),
            holding("B", AssetClass::EquityLarge, 1e6, 5e6, 0.0, 0.02, 0),
        ],
        cash: 0.0,
        buffer_tiers: vec![],
    };
    let stress = MarketStress {
        depth_reduction: 0.5,
        spread_multiplier: 1.0,
        volume_reduction: 0.0,
        vol_multiplier: 2.0,
    };
    let engine = CascadeEngine::new(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Slice),
    )
    .unwrap();
    let mut ws = engine.workspace();
    let zero_cost = |_: &SaleConditions| 0.0;
    let out = engine
        .run(
            &MarketPath {
                stress: &[stress],
                class_returns: &[],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &[0.1],
                phi: 0.0,
            },
            &zero_cost,
            &mut ws,
            true,
        )
        .unwrap();
    // 10% of NAV 2e6 = 2e5 sold, 1e5 from each; remaining 1.8e6 marked.
    let depth = 2.0 * 5e6 / 0.02 * 0.5 / (PERMANENT_IMPACT_GAMMA * 2.0);
    let expected_loss = 1.8e6 * (1.0 - (-2e5 / depth).exp());
    assert!(
        (out.fire_sale_loss - expected_loss).abs() < 1e-6,
        "{} vs {expected_loss}",
        out.fire_sale_loss
    );
    assert_eq!(out.liquidation_cost, 0.0);
    // Paid on day 0 (T+0).
    assert_eq!(out.days_to_settle, Some(1));
}

// ---- limit cases ------------------------------------------------------------------

#[test]
fn no_redemptions_no_sales_nav_unchanged() {
    let fund = seed_fund();
    for strategy in [
        LiquidationStrategy::Waterfall,
        LiquidationStrategy::Slice,
        LiquidationStrategy::Hybrid,
    ] {
        let engine = CascadeEngine::new(&fund, FundTerms::default(), policy(strategy)).unwrap();
        let mut ws = engine.workspace();
        let out = engine
            .run(
                &MarketPath {
                    stress: &[severe()],
                    class_returns: &[],
                    class_stress: &[],
                },
                &DrawdownFeedback {
                    base: &[0.0; 30],
                    phi: 2.0,
                },
                &SpreadPowerImpact::ALMGREN_2005,
                &mut ws,
                true,
            )
            .unwrap();
        assert!(ws.days.iter().all(|d| d.gross_sold == 0.0 && d.paid == 0.0));
        assert_eq!(out.liquidation_cost, 0.0);
        assert_eq!(out.fire_sale_loss, 0.0);
        assert_eq!(out.final_nav_per_share, 1.0);
        assert_eq!(out.max_nav_drawdown, 0.0);
        assert_eq!(out.days_to_settle, Some(30));
        assert_eq!(out.buffer_exhaustion_day, None);
    }
    // With a market move but no redemptions: still no sales, NAV moves by the P&L only.
    let engine = CascadeEngine::new(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Slice),
    )
    .unwrap();
    let mut ws = engine.workspace();
    let mut r = [0.0; N_CLASSES];
    r[class_index(AssetClass::EquityLarge)] = -0.10;
    let out = engine
        .run(
            &MarketPath {
                stress: &[severe()],
                class_returns: &[r],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &[],
                phi: 0.0,
            },
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            false,
        )
        .unwrap();
    assert_eq!(out.liquidation_cost, 0.0);
    assert_eq!(out.redeemed_dealt, 0.0);
    // Large caps are 20% of NAV: −10% on them is −2% of NAV per share.
    assert!((out.final_nav_per_share - 0.98).abs() < 1e-12);
}

#[test]
fn infinite_depth_and_zero_spread_cost_nothing() {
    let mut fund = seed_fund();
    for h in &mut fund.holdings {
        h.adv = f64::INFINITY;
        h.spread_bps = 0.0;
    }
    for strategy in [
        LiquidationStrategy::Waterfall,
        LiquidationStrategy::Slice,
        LiquidationStrategy::Hybrid,
    ] {
        let out = run_once(
            &fund,
            FundTerms::default(),
            policy(strategy),
            &[severe()],
            &[0.1, 0.2, 0.1],
            1.0,
        );
        assert!(out.redeemed_paid > 0.3 * out.initial_nav);
        assert_eq!(out.liquidation_cost, 0.0);
        assert_eq!(out.fire_sale_loss, 0.0);
        assert_eq!(out.dilution, 0.0);
        assert!((out.final_nav_per_share - 1.0).abs() < 1e-12);
        assert!(
            out.max_unmet_redemptions > 0.0,
            "settlement lags still delay payment"
        );
    }
}

#[test]
fn a_holding_with_no_market_is_held_at_its_mark_and_never_sold() {
    // The seed fund with its listed alternatives replaced by private equity that has no
    // market (ADV 0, 120 days to cash): heavy redemptions sell everything else, never it.
    let mut fund = seed_fund();
    fund.holdings
        .retain(|h| h.asset_class != AssetClass::Alternatives);
    let private_value = 1.8e9;
    fund.holdings.push(holding(
        "PE",
        AssetClass::Alternatives,
        private_value,
        0.0,
        0.0,
        0.0,
        120,
    ));
    let index = fund
        .holdings
        .iter()
        .filter(|h| h.asset_class != AssetClass::Cash)
        .count()
        - 1;
    for strategy in [
        LiquidationStrategy::Waterfall,
        LiquidationStrategy::Slice,
        LiquidationStrategy::Hybrid,
    ] {
        let engine = CascadeEngine::new(&fund, FundTerms::default(), policy(strategy)).unwrap();
        let mut ws = engine.workspace();
        let out = engine
            .run(
                &MarketPath {
                    stress: &[severe()],
                    class_returns: &[],
                    class_stress: &[],
                },
                &DrawdownFeedback {
                    base: &[0.05; 10],
                    phi: 1.0,
                },
                &SpreadPowerImpact::ALMGREN_2005,
                &mut ws,
                true,
            )
            .unwrap();
        assert!(ws.days.iter().any(|d| d.gross_sold > 0.0), "{strategy:?}");
        assert_eq!(ws.mv[index], private_value, "{strategy:?}");
        // What is left is less liquid than what the fund started with.
        assert!(
            out.illiquid_share_end > private_value / 12e9,
            "{strategy:?}"
        );
    }
    // Negative ADV is still refused, naming the field.
    let mut bad = fund.clone();
    let last = bad.holdings.len() - 1;
    bad.holdings[last].adv = -1.0;
    let err = CascadeEngine::new(
        &bad,
        FundTerms::default(),
        policy(LiquidationStrategy::Slice),
    )
    .unwrap_err();
    assert!(err.to_string().contains("adv"), "{err}");
}

#[test]
fn settlement_lag_delays_payment() {
    // No cash, one T+3 holding: a 10% redemption is unmet for three days, paid on day 3.
    let fund = CascadeFund {
        holdings: vec![holding(
            "A",
            AssetClass::Sovereign,
            1e8,
            f64::INFINITY,
            0.0,
            0.0,
            3,
        )],
        cash: 0.0,
        buffer_tiers: vec![],
    };
    let engine = CascadeEngine::new(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Waterfall),
    )
    .unwrap();
    let mut ws = engine.workspace();
    let out = engine
        .run(
            &MarketPath {
                stress: &[MarketStress::NONE],
                class_returns: &[],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &[0.1],
                phi: 0.0,
            },
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            true,
        )
        .unwrap();
    let owed: Vec<f64> = ws.days.iter().map(|d| d.owed_close).collect();
    assert_eq!(owed, vec![1e7, 1e7, 1e7, 0.0]);
    assert_eq!(out.max_unmet_redemptions, 1e7);
    assert_eq!(out.buffer_exhaustion_day, Some(0));
    assert_eq!(out.days_to_settle, Some(4)); // paid on day 3
    assert_eq!(out.redeemed_paid, 1e7);
}

#[test]
fn notice_period_delays_dealing() {
    let fund = seed_fund();
    let terms = FundTerms {
        notice_days: 5,
        ..FundTerms::default()
    };
    let engine = CascadeEngine::new(&fund, terms, policy(LiquidationStrategy::Waterfall)).unwrap();
    let mut ws = engine.workspace();
    engine
        .run(
            &MarketPath {
                stress: &[severe()],
                class_returns: &[],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &[0.05],
                phi: 0.0,
            },
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            true,
        )
        .unwrap();
    for d in &ws.days[..5] {
        assert_eq!(d.dealt_value, 0.0, "day {}", d.day);
    }
    // Dealt on day 5 at NAV per share 1: 5% of 12bn.
    assert!((ws.days[5].dealt_value - 0.05 * 12e9).abs() < 1e-3);
}

#[test]
fn weekly_dealing_deals_every_request_on_the_next_dealing_date() {
    // Requests of 1% a day on days 0–9; weekly dealing (every 5 business days) deals
    // days 0's on day 0, days 1–5's on day 5, days 6–9's on day 10 — and nothing else.
    let fund = seed_fund();
    let terms = FundTerms {
        dealing_interval_days: 5,
        ..FundTerms::default()
    };
    let engine = CascadeEngine::new(&fund, terms, policy(LiquidationStrategy::Waterfall)).unwrap();
    let mut ws = engine.workspace();
    let base = [0.01; 10];
    engine
        .run(
            &MarketPath {
                stress: &[MarketStress::NONE],
                class_returns: &[],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &base,
                phi: 0.0,
            },
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            true,
        )
        .unwrap();
    for d in &ws.days {
        let dealing_date = d.day % 5 == 0;
        assert_eq!(
            d.dealt_value > 0.0,
            dealing_date && d.day <= 10,
            "day {}",
            d.day
        );
    }
    // Daily dealing deals the same requests; by day 10 both have dealt the same shares
    // (up to the NAV each was dealt at).
    let daily = CascadeEngine::new(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Waterfall),
    )
    .unwrap();
    let mut ws2 = daily.workspace();
    daily
        .run(
            &MarketPath {
                stress: &[MarketStress::NONE],
                class_returns: &[],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &base,
                phi: 0.0,
            },
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws2,
            true,
        )
        .unwrap();
    let dealt = |days: &[DayRecord]| days.iter().map(|d| d.dealt_value).sum::<f64>();
    assert!((dealt(&ws.days) - dealt(&ws2.days)).abs() < 1e-3 * dealt(&ws2.days));
    assert!(CascadeEngine::new(
        &fund,
        FundTerms {
            dealing_interval_days: 0,
            ..FundTerms::default()
        },
        policy(LiquidationStrategy::Waterfall)
    )
    .is_err());
}

#[test]
fn gate_deals_threshold_and_defers_pro_rata() {
    let fund = seed_fund();
    let terms = FundTerms {
        gate: Some(Gate { threshold: 0.1 }),
        ..FundTerms::default()
    };
    let engine = CascadeEngine::new(&fund, terms, policy(LiquidationStrategy::Waterfall)).unwrap();
    let mut ws = engine.workspace();
    let out = engine
        .run(
            &MarketPath {
                stress: &[MarketStress::NONE],
                class_returns: &[],
                class_stress: &[],
            },
            &DrawdownFeedback {
                base: &[0.25],
                phi: 0.0,
            },
            &|_: &SaleConditions| 0.0,
            &mut ws,
            true,
        )
        .unwrap();
    assert_eq!(out.gate_day, Some(0));
    // Shares: 12e9. Day 0 deals 10% (1.2e9), defers 1.8e9; day 1 deals 10% of 10.8e9,
    // defers 0.72e9; day 2 deals the 0.72e9 (< 10% of 9.72e9).
    assert!((ws.days[0].deferred_shares - 1.8e9).abs() < 1.0);
    assert!((ws.days[1].deferred_shares - 0.72e9).abs() < 1.0);
    assert_eq!(ws.days[2].deferred_shares, 0.0);
    let dealt: f64 = ws.days.iter().map(|d| d.dealt_value).sum();
    assert!((dealt - out.redeemed_dealt).abs() < 1e-3);
}

// ---- money conservation -------------------------------------------------------------

fn random_fund(rng: &mut Xoshiro256) -> CascadeFund {
    let n = 3 + rng.below(38);
    let mut holdings = Vec::with_capacity(n);
    for k in 0..n {
        let class = ALL_CLASSES[rng.below(12)];
        let mv = 1e6 * (0.1 + 10.0 * rng.uniform());
        let adv = if class == AssetClass::CashEquivalent && rng.uniform() < 0.5 {
            f64::INFINITY
        } else {
            mv * (0.01 + 20.0 * rng.uniform())
        };
        holdings.push(holding(
            &format!("h{k}"),
            class,
            mv,
            adv,
            200.0 * rng.uniform(),
            0.04 * rng.uniform(),
            rng.below(6) as u32,
        ));
    }
    let total: f64 = holdings.iter().map(|h| h.market_value).sum();
    let buffer_tiers = match rng.below(3) {
        0 => vec![],
        1 => vec![AssetClass::CashEquivalent, AssetClass::ShortSovereign],
        _ => vec![AssetClass::ShortSovereign],
    };
    CascadeFund {
        holdings,
        cash: total * 0.1 * rng.uniform(),
        buffer_tiers,
    }
}

fn random_stress(rng: &mut Xoshiro256) -> MarketStress {
    MarketStress {
        depth_reduction: 0.95 * rng.uniform(),
        spread_multiplier: 1.0 + 19.0 * rng.uniform(),
        volume_reduction: 0.9 * rng.uniform(),
        vol_multiplier: 1.0 + 2.0 * rng.uniform(),
    }
}

fn random_terms(rng: &mut Xoshiro256) -> FundTerms {
    FundTerms {
        notice_days: rng.below(6) as u32,
        gate: (rng.uniform() < 0.5).then(|| Gate {
            threshold: 0.02 + 0.2 * rng.uniform(),
        }),
        swing: (rng.uniform() < 0.5).then(|| SwingPricing {
            threshold: 0.05 * rng.uniform(),
            max_factor: 0.03 * rng.uniform(),
        }),
        horizon_days: 1 + rng.below(DEFAULT_HORIZON_DAYS),
        gate_from_day: rng.below(10),
        dealing_interval_days: [1, 1, 5, 21][rng.below(4)],
    }
}

const STRATEGIES: [LiquidationStrategy; 3] = [
    LiquidationStrategy::Waterfall,
    LiquidationStrategy::Slice,
    LiquidationStrategy::Hybrid,
];

#[test]
fn money_is_conserved_every_day_of_random_cascades() {
    let mut rng = Xoshiro256::seed_from_u64(7);
    let mut ws = CascadeWorkspace::default();
    for case in 0..300 {
        let fund = random_fund(&mut rng);
        let terms = random_terms(&mut rng);
        let pol = LiquidationPolicy {
            strategy: STRATEGIES[rng.below(3)],
            participation_cap: 0.05 + 0.5 * rng.uniform(),
        };
        let stress: Vec<MarketStress> = (0..1 + rng.below(90))
            .map(|_| random_stress(&mut rng))
            .collect();
        let returns: Vec<[f64; N_CLASSES]> = (0..rng.below(20))
            .map(|_| std::array::from_fn(|_| 0.04 * (rng.uniform() - 0.6)))
            .collect();
        let base: Vec<f64> = (0..rng.below(30)).map(|_| 0.05 * rng.uniform()).collect();
        let phi = 3.0 * rng.uniform();
        // Half the cases stress each class differently (asset-class shocks, flights).
        let class_stress: Vec<[MarketStress; N_CLASSES]> = if rng.uniform() < 0.5 {
            (0..1 + rng.below(90))
                .map(|_| std::array::from_fn(|_| random_stress(&mut rng)))
                .collect()
        } else {
            Vec::new()
        };
        let engine = CascadeEngine::new(&fund, terms, pol).unwrap();
        let out = engine
            .run(
                &MarketPath {
                    stress: &stress,
                    class_returns: &returns,
                    class_stress: &class_stress,
                },
                &DrawdownFeedback { base: &base, phi },
                &SpreadPowerImpact::ALMGREN_2005,
                &mut ws,
                true,
            )
            .unwrap();
        let tol = 1e-9 * out.initial_nav;
        let mut nav_prev = out.initial_nav;
        for d in &ws.days {
            let ctx = format!("case {case} day {}", d.day);
            assert!(
                ((d.cash_close - d.cash_open) - (d.settled - d.paid)).abs() <= tol,
                "cash {ctx}"
            );
            assert!(
                ((d.receivables_close - d.receivables_open) - (d.gross_sold - d.cost - d.settled))
                    .abs()
                    <= tol,
                "receivables {ctx}"
            );
            // The issue's form: proceeds in − costs = paid + Δcash (+ Δ in-flight proceeds).
            assert!(
                ((d.gross_sold - d.cost)
                    - (d.paid
                        + (d.cash_close - d.cash_open)
                        + (d.receivables_close - d.receivables_open)))
                    .abs()
                    <= tol,
                "money {ctx}"
            );
            assert!(
                ((d.owed_close - d.owed_open) - (d.dealt_value - d.paid)).abs() <= tol,
                "owed {ctx}"
            );
            assert!((d.nav_open - nav_prev).abs() <= tol, "nav carry {ctx}");
            assert!(
                ((d.nav_close - d.nav_open)
                    - (d.market_pnl - d.cost - d.fire_sale_loss - d.dealt_value))
                    .abs()
                    <= tol,
                "nav {ctx}"
            );
            assert!(
                d.cash_close >= -tol && d.owed_close >= -tol && d.cost >= 0.0,
                "signs {ctx}"
            );
            nav_prev = d.nav_close;
        }
        let sum = |f: fn(&DayRecord) -> f64| ws.days.iter().map(f).sum::<f64>();
        assert!(
            rel(sum(|d| d.paid), out.redeemed_paid) < 1e-9,
            "case {case}"
        );
        assert!(
            rel(sum(|d| d.cost), out.liquidation_cost) < 1e-9,
            "case {case}"
        );
        assert!(rel(out.dilution, out.liquidation_cost - out.swing_retained) < 1e-12);
        assert!(out.dilution >= -1e-9 * out.initial_nav || terms.swing.is_some());
        assert_eq!(ws.days.len() as u32, out.days_run);
    }
}

#[test]
fn workspace_reuse_gives_the_same_result_as_a_fresh_one() {
    let fund = seed_fund();
    let engine = CascadeEngine::new(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Hybrid),
    )
    .unwrap();
    let market = MarketPath {
        stress: &[severe()],
        class_returns: &[],
        class_stress: &[],
    };
    let driver = DrawdownFeedback {
        base: &[0.1, 0.05],
        phi: 2.0,
    };
    let mut ws = engine.workspace();
    let first = engine
        .run(
            &market,
            &driver,
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            false,
        )
        .unwrap();
    let other = DrawdownFeedback {
        base: &[0.3],
        phi: 0.0,
    };
    engine
        .run(
            &market,
            &other,
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            true,
        )
        .unwrap();
    let again = engine
        .run(
            &market,
            &driver,
            &SpreadPowerImpact::ALMGREN_2005,
            &mut ws,
            false,
        )
        .unwrap();
    assert_eq!(first, again);
}

// ---- zero feedback = one pass -------------------------------------------------------

/// Independent reference for φ = 0 (no gate, no swing, no market moves): the
/// redemption share schedule is computed first from the exogenous fractions alone (it
/// cannot depend on NAV), then money goes through the days once. Written naively on
/// purpose: settlement by calendar day in a plain vector, iterative water-filling,
/// bisection for the gross sale that nets the cash needed.
struct OnePass {
    cost: f64,
    paid: f64,
    fire_loss: f64,
    max_unmet: f64,
    final_nps: f64,
}

fn one_pass(
    fund: &CascadeFund,
    notice: usize,
    pol: LiquidationPolicy,
    stress: &[MarketStress],
    base: &[f64],
    horizon: usize,
    impact: &SpreadPowerImpact,
) -> OnePass {
    let hs: Vec<&Holding> = fund
        .holdings
        .iter()
        .filter(|h| h.asset_class != AssetClass::Cash)
        .collect();
    let mut cash = fund.cash
        + fund
            .holdings
            .iter()
            .filter(|h| h.asset_class == AssetClass::Cash)
            .map(|h| h.market_value)
            .sum::<f64>();
    let mut mv: Vec<f64> = hs.iter().map(|h| h.market_value).collect();
    let nav0 = cash + mv.iter().sum::<f64>();

    // Pass 1: shares requested and dealt per day, from the exogenous fractions only.
    let mut deal = vec![0.0; horizon + notice + 1];
    let (mut shares, mut pending) = (nav0, 0.0);
    for t in 0..horizon {
        let f = base.get(t).copied().unwrap_or(0.0);
        let req = (f * (shares - pending)).min(shares - pending);
        deal[t + notice] += req;
        pending += req - deal[t];
        shares -= deal[t];
    }

    // Selling groups: buffer tiers in order, then the strategy's layers.
    let tier = |h: &Holding| fund.buffer_tiers.iter().position(|c| *c == h.asset_class);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for k in 0..fund.buffer_tiers.len() {
        groups.push((0..hs.len()).filter(|&i| tier(hs[i]) == Some(k)).collect());
    }
    let bands: Vec<(usize, usize)> = match pol.strategy {
        LiquidationStrategy::Waterfall => (0..7).map(|l| (l, l + 1)).collect(),
        LiquidationStrategy::Slice => vec![(0, 7)],
        LiquidationStrategy::Hybrid => vec![(0, 4), (4, 7)],
    };
    for (lo, hi) in bands {
        groups.push(
            (0..hs.len())
                .filter(|&i| {
                    tier(hs[i]).is_none() && (lo..hi).contains(&waterfall_layer(hs[i].asset_class))
                })
                .collect(),
        );
    }

    // Pass 2: money.
    let mut arriving = vec![0.0; horizon + 70];
    let (mut owed, mut shares) = (0.0, nav0);
    let mut out = OnePass {
        cost: 0.0,
        paid: 0.0,
        fire_loss: 0.0,
        max_unmet: 0.0,
        final_nps: 1.0,
    };
    for t in 0..horizon {
        let s = stress[t.min(stress.len() - 1)];
        cash += arriving[t];
        arriving[t] = 0.0;
        let in_flight: f64 = arriving[t + 1..].iter().sum();
        let nav = cash + in_flight + mv.iter().sum::<f64>() - owed;
        owed += deal[t] * nav / shares;
        shares -= deal[t];
        let pay = owed.min(cash);
        cash -= pay;
        owed -= pay;
        out.paid += pay;
        let need = owed - in_flight;
        if need > 1e-12 * nav0 {
            let caps: Vec<f64> = (0..hs.len())
                .map(|i| {
                    (pol.participation_cap * hs[i].adv * (1.0 - s.volume_reduction)).min(mv[i])
                })
                .collect();
            // Gross plan for a target: groups in order, iterative water-filling inside.
            let plan = |target: f64| -> Vec<f64> {
                let mut q = vec![0.0; hs.len()];
                let mut rem = target;
                for g in &groups {
                    let mut active: Vec<usize> =
                        g.iter().copied().filter(|&i| mv[i] > 0.0).collect();
                    loop {
                        if rem <= 0.0 || active.is_empty() {
                            break;
                        }
                        let total: f64 = active.iter().map(|&i| mv[i]).sum();
                        let alpha = rem / total;
                        let capped: Vec<usize> = active
                            .iter()
                            .copied()
                            .filter(|&i| caps[i] <= alpha * mv[i])
                            .collect();
                        if capped.is_empty() {
                            for &i in &active {
                                q[i] = alpha * mv[i];
                            }
                            rem = 0.0;
                            break;
                        }
                        for &i in &capped {
                            q[i] = caps[i];
                            rem -= caps[i];
                        }
                        active.retain(|i| !capped.contains(i));
                    }
                }
                q
            };
            let costs = |q: &[f64]| -> Vec<f64> {
                (0..hs.len())
                    .map(|i| {
                        if q[i] <= 0.0 {
                            return 0.0;
                        }
                        let vol = hs[i].adv * (1.0 - s.volume_reduction);
                        let sale = SaleConditions {
                            participation: if vol.is_infinite() { 0.0 } else { q[i] / vol },
                            spread_bps: hs[i].spread_bps * s.spread_multiplier,
                            daily_vol: hs[i].daily_vol * s.vol_multiplier,
                            stress: s,
                        };
                        q[i] * impact.cost_fraction(&sale).clamp(0.0, 1.0)
                    })
                    .collect()
            };
            let net = |target: f64| {
                let q = plan(target);
                let c = costs(&q);
                q.iter().sum::<f64>() - c.iter().sum::<f64>()
            };
            let capacity: f64 = caps.iter().sum();
            let gross = if net(capacity) <= need {
                capacity
            } else {
                let (mut lo, mut hi) = (0.0, capacity);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if net(mid) < need {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                hi
            };
            let q = plan(gross);
            let c = costs(&q);
            let mut sold = [0.0; N_CLASSES];
            for i in 0..hs.len() {
                mv[i] -= q[i];
                arriving[t + hs[i].settlement_days as usize] += q[i] - c[i];
                sold[class_index(hs[i].asset_class)] += q[i];
                out.cost += c[i];
            }
            cash += arriving[t];
            arriving[t] = 0.0;
            let pay = owed.min(cash);
            cash -= pay;
            owed -= pay;
            out.paid += pay;
            for (k, &sold_k) in sold.iter().enumerate() {
                if sold_k <= 0.0 {
                    continue;
                }
                let depth: f64 = hs
                    .iter()
                    .filter(|h| class_index(h.asset_class) == k)
                    .map(|h| {
                        if h.daily_vol == 0.0 {
                            f64::INFINITY
                        } else {
                            h.adv / h.daily_vol
                        }
                    })
                    .sum::<f64>()
                    * (1.0 - s.depth_reduction)
                    / (PERMANENT_IMPACT_GAMMA * s.vol_multiplier);
                let keep = (-sold_k / depth).exp();
                for i in 0..hs.len() {
                    if class_index(hs[i].asset_class) == k {
                        out.fire_loss += mv[i] * (1.0 - keep);
                        mv[i] *= keep;
                    }
                }
            }
        }
        out.max_unmet = out.max_unmet.max(owed);
        let in_flight: f64 = arriving[t + 1..].iter().sum();
        let nav = cash + in_flight + mv.iter().sum::<f64>() - owed;
        if shares > 0.0 {
            out.final_nps = nav / shares;
        }
    }
    out
}

#[test]
fn zero_feedback_cascade_equals_the_one_pass_computation() {
    let mut rng = Xoshiro256::seed_from_u64(11);
    let impact = SpreadPowerImpact::ALMGREN_2005;
    let mut ws = CascadeWorkspace::default();
    let mut costly = 0;
    for case in 0..60 {
        let fund = if case == 0 {
            seed_fund()
        } else {
            random_fund(&mut rng)
        };
        let notice = rng.below(4);
        let horizon = 10 + rng.below(50);
        let pol = LiquidationPolicy {
            strategy: STRATEGIES[case % 3],
            participation_cap: 0.05 + 0.3 * rng.uniform(),
        };
        let stress: Vec<MarketStress> = (0..1 + rng.below(40))
            .map(|_| random_stress(&mut rng))
            .collect();
        let worst = stress
            .iter()
            .map(|s| s.spread_multiplier)
            .fold(0.0, f64::max);
        let base: Vec<f64> = (0..1 + rng.below(15))
            .map(|_| 0.08 * rng.uniform())
            .collect();
        let terms = FundTerms {
            notice_days: notice as u32,
            horizon_days: horizon,
            ..FundTerms::default()
        };
        let engine = CascadeEngine::new(&fund, terms, pol).unwrap();
        let out = engine
            .run(
                &MarketPath {
                    stress: &stress,
                    class_returns: &[],
                    class_stress: &[],
                },
                &DrawdownFeedback {
                    base: &base,
                    phi: 0.0,
                },
                &impact,
                &mut ws,
                false,
            )
            .unwrap();
        let reference = one_pass(&fund, notice, pol, &stress, &base, horizon, &impact);
        let nav0 = out.initial_nav;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * nav0;
        if out.liquidation_cost > 0.0 && out.fire_sale_loss > 0.0 {
            costly += 1;
        }
        assert!(
            close(out.liquidation_cost, reference.cost),
            "case {case}: cost {} vs {} worst {worst}",
            out.liquidation_cost,
            reference.cost
        );
        assert!(
            close(out.redeemed_paid, reference.paid),
            "case {case}: paid {} vs {}",
            out.redeemed_paid,
            reference.paid
        );
        assert!(
            close(out.fire_sale_loss, reference.fire_loss),
            "case {case}: marks"
        );
        assert!(
            close(out.max_unmet_redemptions, reference.max_unmet),
            "case {case}: unmet"
        );
        assert!(
            (out.final_nav_per_share - reference.final_nps).abs() < 1e-8,
            "case {case}: nps"
        );
    }
    // The comparison is not vacuous: most cases sold at a cost and marked holdings.
    assert!(costly > 30, "{costly}");
}

#[test]
fn feedback_amplifies_the_cascade() {
    let fund = seed_fund();
    let base = [0.08, 0.04];
    let calm = run_once(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Waterfall),
        &[severe()],
        &base,
        0.0,
    );
    let run = run_once(
        &fund,
        FundTerms::default(),
        policy(LiquidationStrategy::Waterfall),
        &[severe()],
        &base,
        5.0,
    );
    assert!(run.redeemed_dealt > calm.redeemed_dealt);
    assert!(run.liquidation_cost > calm.liquidation_cost);
    assert!(run.max_nav_drawdown > calm.max_nav_drawdown);
}

// ---- strategies and anti-dilution tools ------------------------------------------------

#[test]
fn waterfall_leaves_a_less_liquid_fund_and_slice_costs_more_now() {
    let fund = seed_fund();
    let base = [0.15];
    let terms = FundTerms::default();
    let w = run_once(
        &fund,
        terms,
        policy(LiquidationStrategy::Waterfall),
        &[severe()],
        &base,
        0.0,
    );
    let s = run_once(
        &fund,
        terms,
        policy(LiquidationStrategy::Slice),
        &[severe()],
        &base,
        0.0,
    );
    let h = run_once(
        &fund,
        terms,
        policy(LiquidationStrategy::Hybrid),
        &[severe()],
        &base,
        0.0,
    );
    assert!(
        w.less_liquid_share_end > s.less_liquid_share_end,
        "{} vs {}",
        w.less_liquid_share_end,
        s.less_liquid_share_end
    );
    assert!(w.less_liquid_share_end > w.less_liquid_share_start);
    assert!(
        s.liquidation_cost > w.liquidation_cost,
        "{} vs {}",
        s.liquidation_cost,
        w.liquidation_cost
    );
    // The hybrid sits between the two on both counts.
    // The hybrid costs between the two; here the liquid layers cover the redemption, so it
    // leaves the same less liquid share as the waterfall up to the marks of what it sold.
    assert!(h.liquidation_cost > w.liquidation_cost && h.liquidation_cost < s.liquidation_cost);
    assert!(h.less_liquid_share_end > s.less_liquid_share_end);
    assert!((h.less_liquid_share_end - w.less_liquid_share_end).abs() < 1e-3);
}

#[test]
fn full_swing_pricing_leaves_no_dilution_when_sales_complete_the_same_day() {
    // Liquid enough that no cap binds: the day's cost is the estimated cost exactly.
    let mut fund = seed_fund();
    for h in &mut fund.holdings {
        h.adv *= 1e3;
        h.settlement_days = 0;
    }
    let pol = policy(LiquidationStrategy::Slice);
    let no_swing = run_once(&fund, FundTerms::default(), pol, &[severe()], &[0.2], 0.0);
    let terms = FundTerms {
        swing: Some(SwingPricing {
            threshold: 0.0,
            max_factor: 0.5,
        }),
        ..FundTerms::default()
    };
    let swung = run_once(&fund, terms, pol, &[severe()], &[0.2], 0.0);
    assert!(no_swing.dilution > 0.0 && no_swing.dilution == no_swing.liquidation_cost);
    assert!(
        swung.dilution.abs() <= 1e-6 * no_swing.dilution,
        "dilution {} vs {}",
        swung.dilution,
        no_swing.dilution
    );
    // Leavers paid for it: remaining investors keep more per share.
    assert!(swung.final_nav_per_share > no_swing.final_nav_per_share);
    // A capped swing factor leaves the excess with the remaining investors.
    let capped = FundTerms {
        swing: Some(SwingPricing {
            threshold: 0.0,
            max_factor: 1e-4,
        }),
        ..FundTerms::default()
    };
    let partial = run_once(&fund, capped, pol, &[severe()], &[0.2], 0.0);
    assert!(partial.dilution > 0.0 && partial.dilution < no_swing.dilution);
    // Below the threshold nothing swings.
    let high = FundTerms {
        swing: Some(SwingPricing {
            threshold: 0.5,
            max_factor: 0.5,
        }),
        ..FundTerms::default()
    };
    assert_eq!(
        run_once(&fund, high, pol, &[severe()], &[0.2], 0.0).swing_retained,
        0.0
    );
}

// ---- bad input ---------------------------------------------------------------------------

#[test]
fn bad_inputs_are_refused_with_the_field_named() {
    let fund = seed_fund();
    let pol = policy(LiquidationStrategy::Waterfall);
    let err = |f: &CascadeFund, t: FundTerms, p: LiquidationPolicy| {
        CascadeEngine::new(f, t, p).unwrap_err().field
    };
    let mut bad = fund.clone();
    bad.holdings[3].adv = f64::NAN;
    assert!(err(&bad, FundTerms::default(), pol).ends_with(".adv"));
    let mut bad = fund.clone();
    bad.holdings[0].settlement_days = 400;
    assert!(err(&bad, FundTerms::default(), pol).ends_with(".settlement_days"));
    let mut bad = fund.clone();
    bad.buffer_tiers.push(AssetClass::CashEquivalent);
    assert_eq!(err(&bad, FundTerms::default(), pol), "fund.buffer_tiers[2]");
    let gate = FundTerms {
        gate: Some(Gate { threshold: 0.0 }),
        ..FundTerms::default()
    };
    assert_eq!(err(&fund, gate, pol), "terms.gate.threshold");
    assert_eq!(
        err(
            &fund,
            FundTerms::default(),
            LiquidationPolicy {
                participation_cap: 1.5,
                ..pol
            }
        ),
        "policy.participation_cap"
    );
    let empty = CascadeFund {
        holdings: vec![],
        cash: 0.0,
        buffer_tiers: vec![],
    };
    assert_eq!(err(&empty, FundTerms::default(), pol), "fund");

    let engine = CascadeEngine::new(&fund, FundTerms::default(), pol).unwrap();
    let mut ws = engine.workspace();
    let impact = SpreadPowerImpact::ALMGREN_2005;
    let driver = DrawdownFeedback {
        base: &[0.1],
        phi: 0.0,
    };
    let bad_stress = MarketStress {
        depth_reduction: 1.0,
        ..severe()
    };
    let e = engine.run(
        &MarketPath {
            stress: &[bad_stress],
            class_returns: &[],
            class_stress: &[],
        },
        &driver,
        &impact,
        &mut ws,
        false,
    );
    assert_eq!(e.unwrap_err().field, "market.stress[0].depth_reduction");
    let e = engine.run(
        &MarketPath {
            stress: &[],
            class_returns: &[],
            class_stress: &[],
        },
        &driver,
        &impact,
        &mut ws,
        false,
    );
    assert_eq!(e.unwrap_err().field, "market.stress");
    let nan = FnDriver {
        f: |_: &InvestorView| f64::NAN,
        exogenous_until: 1,
    };
    let e = engine.run(
        &MarketPath {
            stress: &[severe()],
            class_returns: &[],
            class_stress: &[],
        },
        &nan,
        &impact,
        &mut ws,
        false,
    );
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("driver.requested(day 0)"));
}

// ---- gates --------------------------------------------------------------------------------

/// Remaining investors' NAV per share at the horizon, with and without a gate.
fn gate_pair(
    fund: &CascadeFund,
    pol: LiquidationPolicy,
    stress: &[MarketStress],
    base: &[f64],
    g: f64,
) -> (f64, f64, bool) {
    let mut ws = CascadeWorkspace::default();
    let market = MarketPath {
        stress,
        class_returns: &[],
        class_stress: &[],
    };
    let d = DrawdownFeedback { base, phi: 0.0 };
    let run = |terms: FundTerms, ws: &mut CascadeWorkspace| {
        CascadeEngine::new(fund, terms, pol)
            .unwrap()
            .run(&market, &d, &SpreadPowerImpact::ALMGREN_2005, ws, false)
            .unwrap()
    };
    let without = run(FundTerms::default(), &mut ws);
    let with = run(
        FundTerms {
            gate: Some(Gate { threshold: g }),
            ..FundTerms::default()
        },
        &mut ws,
    );
    (
        with.final_nav_per_share,
        without.final_nav_per_share,
        with.gate_day.is_some(),
    )
}

/// Where every day's dealing is paid by that day's sales (no cash buffer, T+0, one
/// risky holding whose daily cap does not bind, a constant market, no feedback), a gate
/// never leaves remaining investors worse off: deferred leavers deal at a NAV that
/// already carries the earlier days' costs and marks, and smaller daily sales cost less
/// (impact is convex in size). See `gate_can_hurt_remaining_investors_when_*` for the
/// conditions under which this stops being true.
#[test]
fn gate_never_hurts_remaining_investors_when_splitting_sales_cannot_cost_more() {
    let mut rng = Xoshiro256::seed_from_u64(5);
    let mut gated = 0;
    for case in 0..300 {
        let mv = 1e8;
        let class = [
            AssetClass::EquityLarge,
            AssetClass::CreditHy,
            AssetClass::Sovereign,
        ][rng.below(3)];
        let fund = CascadeFund {
            holdings: vec![holding(
                "r",
                class,
                mv,
                mv * 1e4,
                300.0 * rng.uniform(),
                0.03 * rng.uniform(),
                0,
            )],
            cash: 0.0,
            buffer_tiers: vec![],
        };
        let pol = LiquidationPolicy {
            strategy: STRATEGIES[rng.below(3)],
            participation_cap: 0.05 + 0.3 * rng.uniform(),
        };
        let stress = [random_stress(&mut rng)];
        let base: Vec<f64> = (0..1 + rng.below(10))
            .map(|_| 0.15 * rng.uniform())
            .collect();
        let g = 0.02 + 0.1 * rng.uniform();
        let (with, without, was_gated) = gate_pair(&fund, pol, &stress, &base, g);
        gated += usize::from(was_gated);
        assert!(with >= without - 1e-12, "case {case}: {with} < {without}");
    }
    assert!(gated > 200, "{gated}");
}

/// Found by search over random scenarios; the conditions under which a gate can lower
/// remaining investors' NAV per share in this model, each seen in the search:
///
/// 1. A pro-rata slice under daily participation caps: each day's slice sells the
///    capped (illiquid, wide-spread) holdings up to their cap and spreads the rest over
///    the liquid ones. A gate spreads the same redemptions over more days, so the capped
///    holdings are sold on more days: more of the expensive holdings are sold in total,
///    which costs the remaining investors more now (they keep a fund closer to its
///    original profile, the point of a slice). Up to ~0.2% of NAV per share.
/// 2. A cash buffer or settlement lag without swing pricing: leavers dealt before the
///    costs of raising their cash are realised escape them (forward pricing at the
///    pre-trade NAV). When the buffer pays the first gated tranche, the deferred
///    tranche still deals at the untouched NAV, whereas without the gate the later
///    requesters would have dealt after the first day's costs. ~1e-6 of NAV.
/// 3. Market liquidity that worsens over the deferral: sales are pushed into a worse
///    market.
/// 4. Binding caps with permanent fire-sale marks: deferred sales execute at prices
///    the fund's own earlier sales depressed (~1e-5 of NAV with one holding).
/// 5. Feedback (φ > 0): the gate lengthens the period of drawdown-driven requests.
///
/// Swing pricing removes 2 (leavers pay their own costs). This test pins case 1.
#[test]
fn gate_can_hurt_remaining_investors_when_a_capped_slice_sells_illiquid_holdings_on_more_days() {
    let fund = CascadeFund {
        holdings: vec![
            holding("liquid", AssetClass::EquityLarge, 5e7, 5e9, 5.0, 0.01, 0),
            holding("illiquid", AssetClass::CreditHy, 5e7, 5e6, 300.0, 0.01, 0),
        ],
        cash: 0.0,
        buffer_tiers: vec![],
    };
    let pol = LiquidationPolicy {
        strategy: LiquidationStrategy::Slice,
        participation_cap: 0.2,
    };
    // 20% redemptions, gate at 5%: the illiquid holding sells its 1e6 cap on every day.
    let (with, without, was_gated) = gate_pair(&fund, pol, &[MarketStress::NONE], &[0.2], 0.05);
    assert!(was_gated);
    assert!(with < without, "{with} vs {without}");
    // The same scenario under a waterfall (liquid holding first): the gate helps.
    let pol = LiquidationPolicy {
        strategy: LiquidationStrategy::Waterfall,
        ..pol
    };
    let (with, without, _) = gate_pair(&fund, pol, &[MarketStress::NONE], &[0.2], 0.05);
    assert!(with >= without, "{with} vs {without}");
}
