//! The analytics against independent values.
//!
//! Reference numbers were computed once with numpy 2.4.6 / scipy 1.17.1
//! (`scipy.stats.norm.cdf/ppf`), by the script kept verbatim in the comments below, or
//! are published: BCBS (2006), Basel II comprehensive version, Annex 5 "Illustrative
//! IRB risk weights" (M = 2.5 years), quoted to 0.01 percentage point.

use stresslab_loans::cashflow::{annuity_payment, smm_from_cpr, PrepaymentCurve};
use stresslab_loans::credit::{
    conditional_pd, irb_capital, maturity_adjustment, AssetClass, ScoreToPd,
};

fn close(actual: f64, expected: f64, rel: f64) {
    assert!(
        (actual - expected).abs() <= rel * expected.abs(),
        "{actual} vs {expected} (rel tol {rel})"
    );
}

/// `norm.cdf((norm.ppf(pd) - sqrt(rho)*z) / sqrt(1-rho))`.
#[test]
fn vasicek_conditional_pd_matches_scipy() {
    for (pd, rho, z, expected) in [
        (0.02, 0.15, -1.6448536269514722, 0.062192372140852055),
        // z = norm.ppf(0.001): the IRB 99.9% state for a QRRE-like ρ.
        (0.005, 0.04, -3.090232306167813, 0.022849997182401525),
        // A benign state (z = +1) lowers the PD.
        (0.1, 0.24, 1.0, 0.021077235376578105),
    ] {
        close(conditional_pd(pd, rho, z), expected, 1e-12);
    }
}

#[test]
fn with_no_correlation_the_conditional_pd_is_the_pd() {
    for pd in [0.0003, 0.01, 0.2, 0.7] {
        for z in [-3.0, -1.0, 0.0, 2.5] {
            close(conditional_pd(pd, 0.0, z), pd, 1e-13);
            // and continuously so as ρ → 0
            close(conditional_pd(pd, 1e-12, z), pd, 1e-4);
        }
    }
}

/// Annex 5 of Basel II: risk weight = 12.5 K, in percent, M = 2.5.
#[test]
fn irb_risk_weights_match_basel_annex_5() {
    use AssetClass::*;
    for (class, pd, lgd, published_rw) in [
        (Corporate, 0.01, 0.45, 92.32),
        (Corporate, 0.0003, 0.45, 14.44),
        (ResidentialMortgage, 0.01, 0.45, 56.40),
        (ResidentialMortgage, 0.01, 0.25, 31.33),
        (ResidentialMortgage, 0.0003, 0.45, 4.15),
        (OtherRetail, 0.01, 0.45, 45.77),
        (OtherRetail, 0.01, 0.85, 86.46),
        (OtherRetail, 0.0003, 0.45, 4.45),
    ] {
        let rw = 12.5 * 100.0 * irb_capital(class, pd, lgd, 2.5);
        assert!(
            (rw - published_rw).abs() <= 0.005 + 1e-9,
            "{class:?} PD {pd} LGD {lgd}: {rw} vs {published_rw}"
        );
    }
}

/// The same formulas in scipy at full precision, including maturities ≠ 2.5 (one
/// clamped to Basel's 1-year floor) and retail, where M must not matter.
#[test]
fn irb_capital_matches_scipy() {
    use AssetClass::*;
    for (class, pd, lgd, m, expected) in [
        (Corporate, 0.01, 0.45, 2.5, 0.07385344111364114),
        (Corporate, 0.02, 0.45, 4.0, 0.10715020659132397),
        (Corporate, 0.05, 0.40, 0.25, 0.09379512771466739),
        (ResidentialMortgage, 0.01, 0.25, 30.0, 0.02506618913868654),
        (OtherRetail, 0.01, 0.85, 0.5, 0.0691676727156332),
    ] {
        close(irb_capital(class, pd, lgd, m), expected, 1e-11);
    }
    // M = 1 and M = 2.5 bracket; the adjustment is 1 at M = 1 only when b = 0, so just
    // check it is increasing in M and clamped.
    assert!(maturity_adjustment(0.01, 5.0) > maturity_adjustment(0.01, 2.5));
    assert_eq!(
        maturity_adjustment(0.01, 9.0),
        maturity_adjustment(0.01, 5.0)
    );
}

#[test]
fn the_pd_floor_applies_in_capital() {
    let floored = irb_capital(AssetClass::Corporate, 0.0003, 0.45, 2.5);
    assert_eq!(irb_capital(AssetClass::Corporate, 1e-6, 0.45, 2.5), floored);
}

/// $200,000 over 30 years at 6%: $1,199.10 a month, the textbook mortgage example;
/// scipy-side value `200000*i/(1-(1+i)**-360)`, i = 0.005.
#[test]
fn annuity_payment_matches_the_textbook() {
    close(
        annuity_payment(200_000.0, 0.06 / 12.0, 360),
        1199.1010503055138,
        1e-13,
    );
    close(
        annuity_payment(1e6, 0.05 / 4.0, 20),
        56820.389631804566,
        1e-13,
    );
    assert_eq!(annuity_payment(1200.0, 0.0, 12), 100.0);
    assert_eq!(annuity_payment(1200.0, 0.01, 0), 1200.0);
}

/// 6% CPR is 0.5143% SMM (Fabozzi, Handbook of MBS); `1-(1-cpr)**(1/12)`.
#[test]
fn smm_from_cpr_matches_the_psa_convention() {
    close(smm_from_cpr(0.06), 0.005143012831822946, 1e-13);
    close(smm_from_cpr(0.20), 0.018423470126248342, 1e-13);
    assert_eq!(smm_from_cpr(0.0), 0.0);
    assert_eq!(PrepaymentCurve::NONE.cpr(0.05), 0.0);
}

#[test]
fn score_map_hits_its_anchors_and_scipy() {
    let map = ScoreToPd::default();
    close(map.pd(0.0), 0.0003, 1e-12);
    close(map.pd(100.0), 0.30, 1e-12);
    close(map.pd(50.0), 0.011213467565808615, 1e-12);
    close(map.pd(40.0), 0.005454873917281946, 1e-12);
}

#[test]
fn prepayment_curve_falls_as_rates_rise() {
    let c = PrepaymentCurve::default();
    assert!(c.cpr(-0.03) < c.cpr(0.0) && c.cpr(0.0) < c.cpr(0.02));
    assert!(c.cpr(-1.0) >= c.floor && c.cpr(1.0) <= c.cap);
}
