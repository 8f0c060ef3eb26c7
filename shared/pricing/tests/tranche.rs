//! One-factor Gaussian copula tranches against numpy/scipy values
//! (`tests/oracle/tranche_oracle.py`, numpy 2.4.6, scipy 1.17.1) and the copula's limits.

use stresslab_pricing::cds::{midpoint_legs, HazardCurve, PremiumSchedule};
use stresslab_pricing::tranche::{
    lhp_expected_tranche_loss, tranche_legs, FactorQuadrature, FinitePool, Pool, PoolName, Tranche,
};
use stresslab_pricing::ZeroCurve;

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.15}, want {want:.15}, diff {:e} > {tol:e}",
        got - want
    );
}

/// p = 1 − e^{−0.02·5}: a flat 2% hazard over five years.
fn p5() -> f64 {
    1.0 - (-0.02f64 * 5.0).exp()
}

/// Vasicek LHP, R = 0.4, ρ = 0.3: scipy `quad` over the factor with the kinks as break
/// points, and the bivariate-normal closed form (they agree to 1e-15). Tolerance 1e-12.
#[test]
fn lhp_matches_scipy() {
    let cases = [
        (0.0, 0.03, 0.7432097059338687),
        (0.03, 0.07, 0.3988539603315357),
        (0.07, 0.10, 0.22808880570395695),
        (0.10, 0.15, 0.12787296525597427),
        (0.15, 0.30, 0.03458716146266656),
    ];
    for (a, d, want) in cases {
        let el = lhp_expected_tranche_loss(&Tranche::new(a, d).unwrap(), p5(), 0.4, 0.3).unwrap();
        close(&format!("LHP [{a}, {d}]"), el, want, 1e-12);
    }
}

/// Tranches tiling [0, 100%] add up to the pool's expected loss (1 − R)·p, whatever ρ.
#[test]
fn tranches_tile_the_pool_expected_loss() {
    let cuts = [0.0, 0.03, 0.07, 0.10, 0.15, 0.30, 0.60, 1.0];
    for rho in [0.0, 0.05, 0.3, 0.8, 1.0] {
        let total: f64 = cuts
            .windows(2)
            .map(|w| {
                (w[1] - w[0])
                    * lhp_expected_tranche_loss(&Tranche::new(w[0], w[1]).unwrap(), p5(), 0.4, rho)
                        .unwrap()
            })
            .sum();
        close(&format!("pool EL at rho {rho}"), total, 0.6 * p5(), 1e-13);
    }
}

/// Finite homogeneous pool (ASB recursion) against scipy (binomial conditional losses,
/// adaptive `quad` over the factor). Default composite Gauss–Legendre factor rule:
/// tolerance 1e-12. The 64-point Gauss–Hermite rule is kept for small pools: 1e-6 at 10
/// names (its error at 125 names, 1.3e-5, is why it is not the default).
#[test]
fn finite_homogeneous_pool_matches_scipy() {
    let hazard = HazardCurve::flat(0.02).unwrap();
    let tranche = Tranche::new(0.03, 0.07).unwrap();
    for (n, want) in [(10, 0.4198500333194758), (125, 0.3990313101557587)] {
        let pool = FinitePool::homogeneous(n, 0.4, hazard.clone()).unwrap();
        let el = pool.expected_tranche_loss(&tranche, 0.3, 5.0).unwrap();
        close(&format!("{n} names"), el, want, 1e-12);
    }
    let small = FinitePool::homogeneous(10, 0.4, hazard)
        .unwrap()
        .with_quadrature(FactorQuadrature::GaussHermite64);
    close(
        "10 names, Gauss-Hermite",
        small.expected_tranche_loss(&tranche, 0.3, 5.0).unwrap(),
        0.4198500333194758,
        1e-6,
    );
}

/// Heterogeneous pool (five names, different hazards, weights and recoveries, exact on
/// the loss grid) against brute-force enumeration of the 32 default sets under scipy
/// `quad`. Tolerance 1e-12.
#[test]
fn finite_heterogeneous_pool_matches_enumeration() {
    let hazards = [0.004, 0.01, 0.017, 0.021, 0.033];
    let weights = [1.0, 2.0, 1.0, 1.0, 3.0];
    let recoveries = [0.4, 0.7, 0.4, 0.4, 0.4];
    let names = (0..5)
        .map(|i| PoolName {
            weight: weights[i],
            recovery: recoveries[i],
            hazard: HazardCurve::flat(hazards[i]).unwrap(),
        })
        .collect();
    let pool = FinitePool::new(names).unwrap();
    let el = pool
        .expected_tranche_loss(&Tranche::new(0.05, 0.25).unwrap(), 0.25, 5.0)
        .unwrap();
    close("heterogeneous", el, 0.16854304361652547, 1e-12);
}

/// ρ = 1: every name defaults together, so the tranche loses p·fraction(1 − R) — one
/// name's loss distribution — in the LHP and in any finite pool; the LHP approaches it
/// continuously as ρ → 1.
#[test]
fn comonotone_limit() {
    let hazard = HazardCurve::flat(0.02).unwrap();
    for (a, d) in [(0.0, 0.03), (0.03, 0.07), (0.3, 1.0), (0.7, 1.0)] {
        let tranche = Tranche::new(a, d).unwrap();
        let want = p5() * tranche.loss_fraction(0.6);
        close(
            "LHP rho=1",
            lhp_expected_tranche_loss(&tranche, p5(), 0.4, 1.0).unwrap(),
            want,
            1e-15,
        );
        for n in [1, 7, 125] {
            let pool = FinitePool::homogeneous(n, 0.4, hazard.clone()).unwrap();
            close(
                "finite rho=1",
                pool.expected_tranche_loss(&tranche, 1.0, 5.0).unwrap(),
                want,
                1e-15,
            );
        }
        let near = lhp_expected_tranche_loss(&tranche, p5(), 0.4, 1.0 - 1e-8).unwrap();
        close("LHP rho→1", near, want, 1e-3);
    }
}

/// ρ = 0: the LHP loss is deterministic, (1 − R)·p, so the tranche loss is its clamp;
/// a finite pool's binomial loss concentrates there as names are added (error shrinking
/// with n; within 1e-3 at 4,000 names for a tranche whose edges are ≥ 3σ from the mean).
#[test]
fn independent_limit() {
    let tranche = Tranche::new(0.03, 0.07).unwrap();
    let deterministic = tranche.loss_fraction(0.6 * p5());
    close(
        "LHP rho=0",
        lhp_expected_tranche_loss(&tranche, p5(), 0.4, 0.0).unwrap(),
        deterministic,
        1e-15,
    );
    let hazard = HazardCurve::flat(0.02).unwrap();
    let mut last = f64::INFINITY;
    for n in [250, 1000, 4000] {
        let pool = FinitePool::homogeneous(n, 0.4, hazard.clone()).unwrap();
        let err = (pool.expected_tranche_loss(&tranche, 0.0, 5.0).unwrap() - deterministic).abs();
        assert!(err < last, "{n} names: error {err} not below {last}");
        last = err;
    }
    assert!(last < 1e-3, "4000 names: error {last}");
}

/// Finite homogeneous pools converge to the LHP as names are added (error shrinking
/// with n; within 2e-3 at 800 names).
#[test]
fn finite_pool_converges_to_lhp() {
    let hazard = HazardCurve::flat(0.02).unwrap();
    let tranche = Tranche::new(0.03, 0.07).unwrap();
    let lhp = lhp_expected_tranche_loss(&tranche, p5(), 0.4, 0.3).unwrap();
    let mut last = f64::INFINITY;
    for n in [25, 100, 400, 800] {
        let pool = FinitePool::homogeneous(n, 0.4, hazard.clone()).unwrap();
        let err = (pool.expected_tranche_loss(&tranche, 0.3, 5.0).unwrap() - lhp).abs();
        assert!(err < last, "{n} names: error {err} not below {last}");
        last = err;
    }
    assert!(last < 2e-3, "800 names: error {last}");
}

/// Legs: zero hazard → no protection and RPV01 = the risk-free annuity; the [0, 100%]
/// tranche's protection leg is the index's (same mid-point discretisation); fair spreads
/// fall with seniority.
#[test]
fn tranche_legs_limits_and_ordering() {
    let curve = ZeroCurve::flat(0.03).unwrap();
    let sched = PremiumSchedule::regular(5.0, 4).unwrap();
    let mezz = Tranche::new(0.03, 0.07).unwrap();
    let riskless = Pool::LargeHomogeneous {
        hazard: HazardCurve::flat(0.0).unwrap(),
        recovery: 0.4,
    };
    let legs = tranche_legs(&riskless, &mezz, 0.3, &sched, &curve).unwrap();
    assert_eq!(legs.protection, 0.0);
    let cds = midpoint_legs(&sched, 0.4, &HazardCurve::flat(0.0).unwrap(), &curve);
    close("riskless RPV01", legs.rpv01, cds.rpv01, 1e-15);

    let hazard = HazardCurve::flat(0.02).unwrap();
    let pool = Pool::LargeHomogeneous {
        hazard: hazard.clone(),
        recovery: 0.4,
    };
    let whole = tranche_legs(&pool, &Tranche::new(0.0, 1.0).unwrap(), 0.3, &sched, &curve).unwrap();
    let index = midpoint_legs(&sched, 0.4, &hazard, &curve);
    close(
        "[0,100%] protection = index protection",
        whole.protection,
        index.protection,
        1e-12,
    );

    let spreads: Vec<f64> = [(0.0, 0.03), (0.03, 0.07), (0.07, 0.10), (0.15, 0.30)]
        .iter()
        .map(|&(a, d)| {
            tranche_legs(&pool, &Tranche::new(a, d).unwrap(), 0.3, &sched, &curve)
                .unwrap()
                .fair_spread()
        })
        .collect();
    assert!(spreads.windows(2).all(|w| w[0] > w[1]), "{spreads:?}");
    let finite = Pool::Finite(FinitePool::homogeneous(125, 0.4, hazard).unwrap());
    let f = tranche_legs(&finite, &mezz, 0.3, &sched, &curve)
        .unwrap()
        .fair_spread();
    close(
        "125 names vs LHP, mezzanine spread",
        f,
        spreads[1],
        0.05 * spreads[1],
    );
    assert!(Tranche::new(0.07, 0.03)
        .unwrap_err()
        .to_string()
        .contains("detachment"));
    assert!(lhp_expected_tranche_loss(&mezz, 0.1, 0.4, 1.2)
        .unwrap_err()
        .to_string()
        .contains("rho"));
}
