// Index loops read like the formulas they check; oracle values are pasted exactly as
// the tool printed them (17 significant digits), beyond f64's exact decimal precision.
#![allow(clippy::needless_range_loop, clippy::excessive_precision)]

use super::*;
use crate::calibration::{calibrate, CalibrationInputs};
use nalgebra::DMatrix;
use std::sync::OnceLock;
use stresslab_analytics::correlation_repair::is_positive_semidefinite;

fn calibration() -> &'static Calibration {
    static C: OnceLock<Calibration> = OnceLock::new();
    C.get_or_init(|| calibrate(&CalibrationInputs::bundled()).expect("bundled inputs calibrate"))
}

fn spec(regime: CorrelationRegime, fx: FxCorrelationCase) -> ScenarioSpec {
    ScenarioSpec {
        id: 0,
        regime,
        fx_correlation: fx,
        fx_vol: [0.1, 0.1, 0.12, 0.12, 0.14, 0.08],
        rate_vol_bp: [100.0, 90.0, 110.0],
        credit_spread_vol: 0.4,
        equity_vol: 0.2,
    }
}

const CASES: [FxCorrelationCase; 4] = [
    FxCorrelationCase::Base,
    FxCorrelationCase::Stress,
    FxCorrelationCase::SafeHavenFlip,
    FxCorrelationCase::Decoupling,
];

#[test]
fn every_dimension_has_one_sample_per_stratum() {
    let config = ScenarioConfig::default();
    for n in [1usize, 2, 37, 1000] {
        let set = generate_scenarios(&config, n, 11).unwrap();
        assert_eq!(set.len(), n);
        for (j, (field, r)) in sampled_ranges(&config).iter().enumerate() {
            let mut hit = vec![0usize; n];
            for s in &set {
                let x = s.sampled()[j];
                assert!(
                    x > r.min && x < r.max,
                    "{field} = {x} outside ({}, {})",
                    r.min,
                    r.max
                );
                let stratum = ((x - r.min) / (r.max - r.min) * n as f64).floor() as usize;
                hit[stratum] += 1;
            }
            assert!(hit.iter().all(|&h| h == 1), "{field}: strata {hit:?}");
        }
        for (i, s) in set.iter().enumerate() {
            assert_eq!(s.id as usize, i);
        }
    }
}

#[test]
fn same_seed_same_bits_other_seed_other_set() {
    let config = ScenarioConfig::default();
    let a = generate_scenarios(&config, 500, 42).unwrap();
    let b = generate_scenarios(&config, 500, 42).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let c = generate_scenarios(&config, 500, 43).unwrap();
    assert_ne!(a, c);
    // A spec survives a JSON round trip bit for bit (how it crosses partitions).
    let back: Vec<ScenarioSpec> =
        serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(a, back);
}

#[test]
fn regimes_and_fx_cases_get_their_shares() {
    let config = ScenarioConfig::default();
    for n in [1000usize, 999, 10] {
        let set = generate_scenarios(&config, n, 5).unwrap();
        let shares = CorrelationRegime::ALL.map(|r| config.regimes.get(r).share);
        let expected = sampling::apportion(n, &shares);
        for (r, want) in CorrelationRegime::ALL.into_iter().zip(expected) {
            let in_regime: Vec<&ScenarioSpec> = set.iter().filter(|s| s.regime == r).collect();
            assert_eq!(in_regime.len(), want, "{r:?} of {n}");
            let case_expected =
                sampling::apportion(want, &config.fx_correlation.shares.as_array().map(|c| c.1));
            for (case, w) in CASES.into_iter().zip(case_expected) {
                assert_eq!(
                    in_regime
                        .iter()
                        .filter(|s| s.fx_correlation == case)
                        .count(),
                    w
                );
            }
        }
    }
    let set = generate_scenarios(&config, 1000, 5).unwrap();
    let count = |r| set.iter().filter(|s| s.regime == r).count();
    assert_eq!(
        (
            count(CorrelationRegime::Normal),
            count(CorrelationRegime::Stress),
            count(CorrelationRegime::Crisis)
        ),
        (500, 300, 200)
    );
}

fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let rank = |v: &[f64]| {
        let mut o: Vec<usize> = (0..v.len()).collect();
        o.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        for (k, &i) in o.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let (rx, ry) = (rank(x), rank(y));
    let m = (x.len() as f64 - 1.0) / 2.0;
    let num: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - m) * (b - m)).sum();
    let den: f64 = rx.iter().map(|a| (a - m) * (a - m)).sum();
    num / den
}

#[test]
fn vols_rise_together_at_the_target_rank_correlation() {
    let mut config = ScenarioConfig::default();
    let set = generate_scenarios(&config, 1000, 3).unwrap();
    let col = |j: usize| set.iter().map(|s| s.sampled()[j]).collect::<Vec<_>>();
    let mut total = 0.0;
    let mut pairs = 0.0;
    for a in 0..SAMPLED_DIMENSIONS {
        for b in 0..a {
            let r = spearman(&col(a), &col(b));
            // Iman–Conover hits the target in normal scores exactly; rank correlation of
            // 1000 samples scatters around it by ~1/√n.
            assert!((r - 0.5).abs() < 0.06, "Spearman({a}, {b}) = {r}");
            total += r;
            pairs += 1.0;
        }
    }
    assert!((total / pairs - 0.5).abs() < 0.02);
    config.vol_rank_correlation = 0.0;
    let set = generate_scenarios(&config, 1000, 3).unwrap();
    let col = |j: usize| set.iter().map(|s| s.sampled()[j]).collect::<Vec<_>>();
    assert!(spearman(&col(0), &col(10)).abs() < 0.1);
}

#[test]
fn ranges_are_respected_and_overridable() {
    let config: ScenarioConfig = serde_json::from_str(
        r#"{"fx_vol": {"jpy": {"min": 0.2, "max": 0.25}}, "equity_vol": {"min": 0.3, "max": 0.31},
            "regimes": {"normal": {"share": 0.0, "equity_fx": 0.25, "equity_bonds": -0.15, "fx_rates": 0.1,
              "equity_equity": 0.75, "credit_ig_hy": 0.75, "credit_equity": -0.4, "start_stressed": 0.0},
              "stress": {"share": 0.5, "equity_fx": 0.65, "equity_bonds": -0.45, "fx_rates": 0.3,
              "equity_equity": 0.85, "credit_ig_hy": 0.85, "credit_equity": -0.6, "start_stressed": 0.5},
              "crisis": {"share": 0.5, "equity_fx": 0.85, "equity_bonds": -0.7, "fx_rates": 0.55,
              "equity_equity": 0.9, "credit_ig_hy": 0.9, "credit_equity": -0.75, "start_stressed": 1.0}}}"#,
    )
    .unwrap();
    // Untouched fields keep their defaults.
    assert_eq!(config.fx_vol.eur, VolRange::new(0.05, 0.35));
    assert_eq!(config.rate_vol_bp, RateVolRanges::default());
    let set = generate_scenarios(&config, 200, 1).unwrap();
    for s in &set {
        assert!(s.fx_vol[2] >= 0.2 && s.fx_vol[2] <= 0.25);
        assert!(s.fx_vol[0] >= 0.05 && s.fx_vol[0] <= 0.35);
        assert!(s.equity_vol >= 0.3 && s.equity_vol <= 0.31);
        assert!(s.rate_vol_bp.iter().all(|v| (60.0..=180.0).contains(v)));
        assert!((0.15..=0.75).contains(&s.credit_spread_vol));
        assert_ne!(s.regime, CorrelationRegime::Normal);
    }
}

#[test]
fn bad_config_is_an_error_naming_the_field() {
    let field_of = |json: &str| -> String {
        match serde_json::from_str::<ScenarioConfig>(json) {
            Err(e) => e.to_string(),
            Ok(c) => match generate_scenarios(&c, 10, 1) {
                Err(ScenarioError::Config { field, .. }) => field,
                other => panic!("expected a config error, got {other:?}"),
            },
        }
    };
    assert_eq!(
        field_of(r#"{"fx_vol": {"eur": {"min": 0.3, "max": 0.2}}}"#),
        "fx_vol.eur.max"
    );
    assert_eq!(
        field_of(r#"{"fx_vol": {"cad": {"min": -0.1, "max": 0.2}}}"#),
        "fx_vol.cad.min"
    );
    assert_eq!(
        field_of(r#"{"rate_vol_bp": {"gbp": {"min": 0, "max": 10}}}"#),
        "rate_vol_bp.gbp.min"
    );
    assert_eq!(
        field_of(r#"{"fx_correlation": {"stress": 1.5}}"#),
        "fx_correlation.stress"
    );
    assert_eq!(
        field_of(r#"{"fx_correlation": {"shares": {"base": 0.9}}}"#),
        "fx_correlation.shares"
    );
    assert_eq!(
        field_of(r#"{"fx_correlation": {"safe_havens": ["USD"]}}"#),
        "fx_correlation.safe_havens"
    );
    assert_eq!(
        field_of(r#"{"rate_component_weights": {"level": 0.6, "slope": 0.25, "curvature": 0.25}}"#),
        "rate_component_weights"
    );
    assert_eq!(
        field_of(r#"{"sector_amplification": {"energy": 0}}"#),
        "sector_amplification.energy"
    );
    assert_eq!(
        field_of(r#"{"rating_multipliers": {"bb": -1}}"#),
        "rating_multipliers.bb"
    );
    assert_eq!(
        field_of(r#"{"vol_rank_correlation": 0.99}"#),
        "vol_rank_correlation"
    );
    let mut c = ScenarioConfig::default();
    c.regimes.crisis.equity_fx = 1.2;
    assert!(
        matches!(c.validate(), Err(ScenarioError::Config { field, .. }) if field == "regimes.crisis.equity_fx")
    );
    // Unknown fields are refused by name, at any depth.
    let e = field_of(r#"{"fx_vols": {}}"#);
    assert!(e.contains("unknown field `fx_vols`"), "{e}");
    let e = field_of(r#"{"fx_vol": {"usd": {"min": 0.1, "max": 0.2}}}"#);
    assert!(e.contains("unknown field `usd`"), "{e}");
    let e = generate_scenarios(&ScenarioConfig::default(), 0, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`scenarios`"), "{e}");
}

#[test]
fn regime_targets_land_in_the_matrix_before_repair() {
    use RiskFactor::*;
    let config = ScenarioConfig::default();
    for regime in CorrelationRegime::ALL {
        let g = config.regimes.get(regime);
        for case in CASES {
            let c = target_correlation(&spec(regime, case), &config);
            let at = |a: RiskFactor, b: RiskFactor| c[(a.index(), b.index())];
            // Symmetric, unit diagonal.
            assert_eq!(c.clone().transpose(), c);
            assert!((0..N_FACTORS).all(|i| c[(i, i)] == 1.0));
            if case == FxCorrelationCase::Decoupling {
                for f in RiskFactor::FX {
                    for x in RiskFactor::ALL {
                        assert_eq!(at(f, x), if f == x { 1.0 } else { 0.0 }, "{f:?}–{x:?}");
                    }
                }
                assert_eq!(at(EquityUs, UsdLevel), -g.equity_bonds);
                assert_eq!(at(CreditIg, EquityUs), g.credit_equity);
                continue;
            }
            // Risk currencies keep the regime's signs in every other case.
            assert_eq!(at(EquityUs, FxEur), g.equity_fx);
            assert_eq!(at(EquityUk, FxAud), g.equity_fx);
            assert_eq!(at(EquityUs, UsdLevel), -g.equity_bonds);
            assert_eq!(at(EquityEurope, GbpLevel), -g.equity_bonds);
            assert_eq!(at(FxEur, UsdLevel), g.fx_rates);
            assert_eq!(at(FxCad, EurLevel), g.fx_rates);
            assert_eq!(at(EquityUs, EquityEurope), g.equity_equity);
            assert_eq!(at(CreditIg, CreditHy), g.credit_ig_hy);
            assert_eq!(at(CreditIg, EquityUs), g.credit_equity);
            assert_eq!(at(CreditHy, FxGbp), g.credit_equity * g.equity_fx);
            assert_eq!(at(CreditHy, UsdLevel), g.credit_equity * -g.equity_bonds);
            // Curves: components uncorrelated within a currency, matched across.
            assert_eq!(at(UsdLevel, UsdSlope), 0.0);
            assert_eq!(at(EurSlope, EurCurvature), 0.0);
            assert_eq!(at(UsdLevel, EurLevel), 0.6);
            assert_eq!(at(EurSlope, GbpSlope), 0.3);
            assert_eq!(at(UsdLevel, GbpSlope), 0.0);
            assert_eq!(at(UsdSlope, EquityUs), 0.0);
            // FX block and the safe havens.
            let (fx, haven_sign) = match case {
                FxCorrelationCase::Base => (0.45, 1.0),
                FxCorrelationCase::Stress => (0.85, 1.0),
                FxCorrelationCase::SafeHavenFlip => (0.85, -1.0),
                FxCorrelationCase::Decoupling => unreachable!("checked above"),
            };
            assert_eq!(at(FxEur, FxGbp), fx);
            assert_eq!(at(FxAud, FxCad), fx);
            assert_eq!(at(FxJpy, FxChf), fx);
            assert_eq!(at(FxEur, FxJpy), haven_sign * fx);
            assert_eq!(at(FxChf, EquityUs), haven_sign * g.equity_fx);
            assert_eq!(at(FxJpy, UsdLevel), haven_sign * g.fx_rates);
        }
    }
}

#[test]
fn every_scenario_matrix_is_a_valid_correlation_and_factors_back() {
    let config = ScenarioConfig::default();
    let mut repaired = 0;
    for regime in CorrelationRegime::ALL {
        for case in CASES {
            let s = spec(regime, case);
            let (m, l, d) = scenario_correlation(&s, &config).unwrap();
            assert!(is_positive_semidefinite(&m, 1e-12), "{regime:?} {case:?}");
            assert!((0..N_FACTORS).all(|i| (m[(i, i)] - 1.0).abs() < 1e-14));
            let l = DMatrix::from_row_slice(N_FACTORS, N_FACTORS, &l);
            assert!(
                (0..N_FACTORS).all(|i| (i + 1..N_FACTORS).all(|j| l[(i, j)] == 0.0)),
                "lower"
            );
            let back = &l * l.transpose();
            assert!((back - &m).amax() < 1e-12);
            assert_eq!(d.repaired, d.target_min_eigenvalue < 1e-8);
            if d.repaired {
                repaired += 1;
                // The repair is the least change that makes the blocks coherent.
                let t = target_correlation(&s, &config);
                assert!(((&m - &t).norm() - d.repair_distance).abs() < 1e-6);
            } else {
                assert_eq!(m, target_correlation(&s, &config));
            }
        }
    }
    // The safe-haven flip is D·C·D of the stress case: same eigenvalues, same repair.
    for regime in CorrelationRegime::ALL {
        let a = scenario_correlation(&spec(regime, FxCorrelationCase::Stress), &config)
            .unwrap()
            .2;
        let b = scenario_correlation(&spec(regime, FxCorrelationCase::SafeHavenFlip), &config)
            .unwrap()
            .2;
        assert!((a.target_min_eigenvalue - b.target_min_eigenvalue).abs() < 1e-12);
        assert_eq!(a.repaired, b.repaired);
    }
    // With the defaults only crisis × base FX is incoherent (equity–FX 0.85 with the
    // crosses at 0.45): every other cell is used exactly as targeted.
    assert_eq!(repaired, 1);
}

#[test]
fn rate_vol_splits_into_the_component_weights() {
    let config = ScenarioConfig::default();
    let cal = calibration();
    let s = rate_component_vols(120.0, &config, cal);
    let key = &cal.rates.key_tenor_loadings;
    let mut total = 0.0;
    let mut by_component = [0.0; 3];
    for t in 0..10 {
        for k in 0..3 {
            let v = (s[k] * key[k][t]).powi(2) / 10.0;
            total += v;
            by_component[k] += v;
        }
    }
    assert!(
        (total.sqrt() - 0.0120).abs() < 1e-15,
        "RMS {}",
        total.sqrt()
    );
    for (k, w) in [0.60, 0.25, 0.15].into_iter().enumerate() {
        assert!((by_component[k] / total - w).abs() < 1e-12);
    }
}

#[test]
fn historical_component_weights_are_valid_and_can_replace_the_issues() {
    let config = ScenarioConfig {
        rate_component_weights: ComponentValues::historical(&calibration().rates),
        ..ScenarioConfig::default()
    };
    let w = config.rate_component_weights;
    assert!((w.level + w.slope + w.curvature - 1.0).abs() < 1e-15);
    assert!(w.level > 0.85 && w.slope > w.curvature);
    assert!(generate_scenarios(&config, 10, 1).is_ok());
}

#[test]
fn credit_vol_by_rating_and_sector() {
    let mut config = ScenarioConfig::default();
    let s = spec(CorrelationRegime::Normal, FxCorrelationCase::Base);
    let v = |c: &ScenarioConfig, r, sec| credit_spread_vol(&s, c, r, sec);
    assert_eq!(v(&config, Rating::Bbb, CreditSector::Other), 0.4);
    assert!((v(&config, Rating::A, CreditSector::Financials) - 0.56).abs() < 1e-15);
    assert!((v(&config, Rating::B, CreditSector::Utilities) - 0.36).abs() < 1e-15);
    assert!((v(&config, Rating::Bb, CreditSector::Energy) - 0.52).abs() < 1e-15);
    assert!((v(&config, Rating::Aa, CreditSector::Industrials) - 0.44).abs() < 1e-15);
    config.rating_multipliers.b = 1.25;
    assert!((v(&config, Rating::B, CreditSector::Other) - 0.5).abs() < 1e-15);
    assert_eq!(Rating::Bbb.factor(), RiskFactor::CreditIg);
    assert_eq!(Rating::B.factor(), RiskFactor::CreditHy);
    assert_eq!(Rating::B.reference(), Rating::Bb);
    assert_eq!(serde_json::to_string(&Rating::Bbb).unwrap(), "\"BBB\"");
}

#[test]
fn path_spec_carries_the_calibrated_dynamics() {
    let config = ScenarioConfig::default();
    let cal = calibration();
    let s = spec(CorrelationRegime::Crisis, FxCorrelationCase::SafeHavenFlip);
    let p = path_spec(&s, &config, cal, 252, &[21, 63, 126, 252]).unwrap();
    assert_eq!(p.horizon_days, 252);
    assert_eq!(p.cholesky.len(), N_FACTORS * N_FACTORS);
    let f = |x: RiskFactor| p.factors[x.index()];
    let cad = &cal.fx.series_for(Currency::CAD).unwrap().garch;
    let dem = &cal.fx.series_for(Currency::EUR).unwrap().garch;
    // The CAD fit is integrated (persistence 1.0000): its β gives way to the cap.
    assert!(cad.persistence > 0.9999);
    assert_eq!(f(RiskFactor::FxAud).garch_alpha, cad.alpha);
    let aud = f(RiskFactor::FxAud);
    assert!(
        (aud.garch_alpha + aud.garch_gamma / 2.0 + aud.garch_beta - MAX_GARCH_PERSISTENCE).abs()
            < 1e-15
    );
    assert_eq!(f(RiskFactor::FxEur).garch_beta, dem.beta);
    assert_eq!(f(RiskFactor::FxAud).annual_vol, 0.14);
    assert_eq!(f(RiskFactor::FxEur).garch_gamma, dem.gamma);
    assert_eq!(f(RiskFactor::EquityUk).garch_gamma, cal.equity.garch.gamma);
    assert_eq!(f(RiskFactor::EquityUs).annual_drift, 0.04);
    assert_eq!(f(RiskFactor::FxJpy).mean_reversion, 0.0);
    assert_eq!(
        f(RiskFactor::EurLevel).mean_reversion,
        cal.rates.level_kappa
    );
    assert_eq!(f(RiskFactor::GbpSlope).garch_gamma, 0.0);
    assert_eq!(
        f(RiskFactor::CreditHy).mean_reversion,
        cal.credit.log_spread_kappa
    );
    assert_eq!(f(RiskFactor::CreditIg).annual_vol, 0.4);
    assert_eq!(f(RiskFactor::CreditIg).garch_gamma, 0.0);
    let usd = rate_component_vols(100.0, &config, cal);
    assert_eq!(f(RiskFactor::UsdCurvature).annual_vol, usd[2]);
    for d in p.factors {
        // Every GARCH is covariance-stationary.
        assert!(d.garch_alpha >= 0.0 && d.garch_beta >= 0.0);
        assert!(
            d.garch_alpha + d.garch_gamma / 2.0 + d.garch_beta <= MAX_GARCH_PERSISTENCE + 1e-15
        );
    }
    assert_eq!(p.regime.start_stressed, 1.0);
    assert!(p.regime.stress_vol_multiplier >= 1.0);
    assert_eq!(p.regime.p_enter_stress, cal.equity.regime.p_enter_stress);

    let err = |cp: &[u32], h: u32| path_spec(&s, &config, cal, h, cp).unwrap_err().to_string();
    assert!(err(&[21, 63], 252).contains("`checkpoints`"));
    assert!(err(&[63, 21, 252], 252).contains("`checkpoints`"));
    assert!(err(&[0, 252], 252).contains("`checkpoints`"));
    assert!(err(&[], 252).contains("`checkpoints`"));
    assert!(err(&[0], 0).contains("`horizon_days`"));
}

#[test]
fn a_whole_default_set_builds_path_specs_and_the_table_agrees() {
    let config = ScenarioConfig::default();
    let cal = calibration();
    let table = CorrelationTable::build(&config).unwrap();
    let set = generate_scenarios(&config, 120, 9).unwrap();
    let mut repaired = 0;
    for s in &set {
        let (p, d) = path_spec_with_diagnostics(s, &config, cal, 252, &[252]).unwrap();
        assert!(p.cholesky.iter().all(|x| x.is_finite()));
        let q = path_spec_from_table(s, &config, cal, &table, 252, &[252]).unwrap();
        assert_eq!(p, q);
        assert_eq!(d, table.get(s.regime, s.fx_correlation).1);
        repaired += d.repaired as usize;
    }
    // Crisis (20%) × base FX (40%): 8% of the set.
    assert_eq!(
        repaired,
        set.iter()
            .filter(|s| s.regime == CorrelationRegime::Crisis
                && s.fx_correlation == FxCorrelationCase::Base)
            .count()
    );
    assert!(repaired > 0);
}

#[test]
fn any_valid_config_gives_valid_factorable_matrices() {
    // Property over random configs (seeded): whatever correlations a request sets within
    // their validated ranges, every cell comes out a correlation matrix whose Cholesky
    // factor rebuilds it.
    use stresslab_analytics::rng::Xoshiro256;
    let mut rng = Xoshiro256::seed_from_u64(2024);
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.uniform();
    for _ in 0..15 {
        let mut config = ScenarioConfig::default();
        config.fx_correlation.base = u(0.0, 0.99);
        config.fx_correlation.stress = u(0.0, 0.99);
        config.cross_currency_curve_correlation = ComponentValues {
            level: u(-0.5, 1.0),
            slope: u(-0.5, 1.0),
            curvature: u(-0.5, 1.0),
        };
        for g in [
            &mut config.regimes.normal,
            &mut config.regimes.stress,
            &mut config.regimes.crisis,
        ] {
            g.equity_fx = u(-1.0, 1.0);
            g.equity_bonds = u(-1.0, 1.0);
            g.fx_rates = u(-1.0, 1.0);
            g.equity_equity = u(-0.5, 1.0);
            g.credit_ig_hy = u(-1.0, 1.0);
            g.credit_equity = u(-1.0, 1.0);
        }
        config.validate().unwrap();
        let table = CorrelationTable::build(&config).unwrap();
        for regime in CorrelationRegime::ALL {
            for case in FxCorrelationCase::ALL {
                let (m, l, _) = scenario_correlation(&spec(regime, case), &config).unwrap();
                assert!(is_positive_semidefinite(&m, 1e-12));
                assert!((0..N_FACTORS).all(|i| (m[(i, i)] - 1.0).abs() < 1e-14));
                let l = DMatrix::from_row_slice(N_FACTORS, N_FACTORS, &l);
                assert!((&l * l.transpose() - &m).amax() < 1e-12);
                assert_eq!(table.get(regime, case).0, l.transpose().as_slice());
            }
        }
    }
}
