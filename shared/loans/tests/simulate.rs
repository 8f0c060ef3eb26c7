//! The shock engine end to end: an independent Python projection, the limit cases,
//! conservation of principal, and the book's rejection rules.

use stresslab_loans::cashflow::PrepaymentCurve;
use stresslab_loans::simulate::{ComplianceStatus, Metric};
use stresslab_loans::{simulate, LoanBook, RateShock, Settings};
use time::macros::date;

const HEADER: &str = "LoanId,CustomerId,LoanAmount,InterestRate,StartDate,EndDate,LoanType,RepaymentSchedule,CurrentBalance,DefaultRiskScore\n";

fn book(rows: &[&str]) -> LoanBook {
    let text = format!("{HEADER}{}\n", rows.join("\n"));
    LoanBook::from_csv(text.as_bytes()).unwrap()
}

fn settings(horizon: u32) -> Settings {
    let mut s = Settings::new(date!(2025 - 01 - 15));
    s.horizon_months = horizon;
    s
}

fn close(actual: f64, expected: f64, rel: f64) {
    assert!(
        (actual - expected).abs() <= rel * expected.abs(),
        "{actual} vs {expected} (rel tol {rel})"
    );
}

/// One floating monthly mortgage (200,000 at 5%, 240 months left, score 40), +300 bp
/// ramped over 12 months, default settings, projected 12 months by this independent
/// loop (numpy 2.4.6, scipy 1.17.1):
///
/// ```python
/// pay = lambda B, r, n: B*(r/12)/(1-(1+r/12)**-n)
/// ratio = pay(B0, r0+0.03, 240)/pay(B0, r0, 240)
/// pd0 = score_pd(40); pd_ds = norm.cdf(norm.ppf(pd0) + 0.45*log(ratio))
/// pdz = norm.cdf((norm.ppf(pd_ds) - sqrt(0.15)*(-1.6448536269514722))/sqrt(0.85))
/// mdr = 1-(1-pdz)**(1/12); smm = 1-(1-cpr(0.0))**(1/12)
/// for t in 1..12: s = 0.03*t/12; r = r0+s
///     d = B*mdr; B -= d; loss += d*0.25; nii += B*(r/12 - (0.03+s)/12)
///     n = 240-t+1; i = r/12; P = B*i/(1-(1+i)**-n); B -= P - B*i; B -= B*smm
/// ```
#[test]
fn twelve_month_projection_matches_an_independent_python_loop() {
    let b = book(&["L1,C1,250000,0.05,2020-01-15,2045-01-15,Mortgage-Floating,Monthly,200000,40"]);
    let r = simulate(
        &b,
        &RateShock::Ramp {
            bp: 300.0,
            months: 12,
        },
        &settings(12),
    )
    .unwrap();
    close(r.loans.payment_shock[0] + 1.0, 1.2674184332214273, 1e-12);
    close(r.loans.pd_base[0], 0.005454873917281946, 1e-12);
    close(r.loans.pd_debt_service[0], 0.0073653193411613955, 1e-11);
    close(r.loans.pd_stressed[0], 0.02532583464042612, 1e-11);
    let python = [
        198125.38416525998,
        196278.5841125752,
        194458.87652620018,
        192665.56237172545,
        190897.9660560416,
        189155.4346136951,
        187437.33691895843,
        185743.06292295363,
        184072.02291518083,
        182423.64680881763,
        180797.38344916704,
        179192.6999446436,
    ];
    for (t, (&ours, &theirs)) in r.months.balance_stressed.iter().zip(&python).enumerate() {
        assert!(
            (ours / theirs - 1.0).abs() < 1e-11,
            "month {}: {ours} vs {theirs}",
            t + 1
        );
    }
    close(r.loans.balance_end_stressed[0], 179192.6999446436, 1e-11);
    close(r.totals.loss_stressed, 1218.2683031518015, 1e-10);
    close(
        r.totals.net_interest_income_stressed,
        3795.3036460799476,
        1e-10,
    );
}

fn mixed_book() -> LoanBook {
    book(&[
        "M1,C1,300000,0.045,2021-03-01,2051-03-01,Mortgage-Floating,Monthly,280000,35",
        "M2,C2,300000,0.045,2021-03-01,2051-03-01,Mortgage-Fixed,Monthly,280000,35",
        "A1,C3,30000,0.07,2023-06-10,2029-06-10,Consumer-Floating,Monthly,21000,60",
        "K1,C4,5000000,0.06,2022-01-31,2030-01-31,Corporate-Floating,Quarterly,4000000,50",
        "K2,C5,2000000,0.055,2024-05-01,2029-05-01,Corporate-Fixed,InterestOnly,2000000,20",
        "K3,C6,1000000,0.08,2024-05-01,2027-05-01,corporate-floating,bullet,1000000,90",
    ])
}

#[test]
fn zero_shock_leaves_payments_and_pds_unchanged() {
    let b = mixed_book();
    let r = simulate(&b, &RateShock::NONE, &settings(60)).unwrap();
    for i in 0..b.loans.len() {
        assert_eq!(r.loans.payment_stressed[i], r.loans.payment_base[i]);
        assert_eq!(r.loans.payment_shock[i], 0.0);
        assert_eq!(r.loans.pd_debt_service[i], r.loans.pd_base[i]);
    }
    // The baseline and stressed runs then differ only by the systematic factor's PD.
    assert!(r.totals.expected_loss_stressed > r.totals.expected_loss_base);
}

#[test]
fn fixed_loans_keep_their_payment_and_floating_ones_pay_more() {
    let b = mixed_book();
    let r = simulate(&b, &RateShock::Parallel { bp: 300.0 }, &settings(60)).unwrap();
    for (i, loan) in b.loans.iter().enumerate() {
        match loan.loan_type.basis {
            stresslab_loans::RateBasis::Fixed => {
                assert_eq!(r.loans.payment_shock[i], 0.0, "{}", loan.loan_id.0)
            }
            stresslab_loans::RateBasis::Floating => {
                assert!(r.loans.payment_shock[i] > 0.0, "{}", loan.loan_id.0);
                assert!(r.loans.pd_debt_service[i] > r.loans.pd_base[i]);
            }
        }
    }
    // Interest-only at 8% → 11%: the payment is interest, up by exactly 3/8.
    close(r.loans.payment_shock[5], 3.0 / 8.0, 1e-12);
    // A fixed loan loses its refinancing incentive: it prepays less than baseline.
    let m2_end = r.loans.balance_end_stressed[1] / r.loans.balance_end_base[1];
    assert!(
        m2_end > 1.0 - 1e-3,
        "fixed loan should run off no faster: {m2_end}"
    );
}

#[test]
fn a_bigger_shock_stresses_more() {
    let b = mixed_book();
    let s = settings(60);
    let small = simulate(&b, &RateShock::Parallel { bp: 100.0 }, &s).unwrap();
    let big = simulate(&b, &RateShock::Parallel { bp: 400.0 }, &s).unwrap();
    assert!(big.totals.expected_loss_stressed > small.totals.expected_loss_stressed);
    assert!(big.totals.capital_stressed > small.totals.capital_stressed);
    assert!(big.loans.dscr_stressed[0] < small.loans.dscr_stressed[0]);
}

/// Without prepayment, a fixed monthly loan's balance is its scheduled amortisation
/// `A_t = A_0·((1+i)^n − (1+i)^t)/((1+i)^n − 1)` times survival `(1 − MDR)^t`.
#[test]
fn zero_cpr_means_no_prepayment_and_scheduled_amortisation() {
    let b = book(&["F1,C1,250000,0.06,2020-01-15,2045-01-15,Mortgage-Fixed,Monthly,200000,30"]);
    let mut s = settings(60);
    s.prepayment = PrepaymentCurve::NONE;
    let r = simulate(&b, &RateShock::Parallel { bp: 200.0 }, &s).unwrap();
    assert!(r.months.prepayments_stressed.iter().all(|&p| p == 0.0));
    assert!(r.months.prepayments_base.iter().all(|&p| p == 0.0));
    let i: f64 = 0.06 / 12.0;
    let n = 240.0;
    let mdr = 1.0 - (1.0 - r.loans.pd_stressed[0]).powf(1.0 / 12.0);
    for (t, &bal) in r.months.balance_stressed.iter().enumerate() {
        let t = (t + 1) as f64;
        let scheduled =
            200000.0 * ((1.0 + i).powf(n) - (1.0 + i).powf(t)) / ((1.0 + i).powf(n) - 1.0);
        close(bal, scheduled * (1.0 - mdr).powf(t), 1e-10);
    }
}

#[test]
fn principal_is_conserved_and_matured_loans_run_off() {
    let b = mixed_book();
    let r = simulate(
        &b,
        &RateShock::Ramp {
            bp: 300.0,
            months: 12,
        },
        &settings(60),
    )
    .unwrap();
    let start: f64 = b.loans.iter().map(|l| l.current_balance).sum();
    let m = &r.months;
    let out: f64 = [
        &m.defaults_stressed,
        &m.prepayments_stressed,
        &m.scheduled_principal_stressed,
    ]
    .iter()
    .map(|v| v.iter().sum::<f64>())
    .sum();
    let end = *m.balance_stressed.last().unwrap();
    close(start - out, end, 1e-12);
    // K3's bullet (May 2027) and A1 (June 2029) mature inside 60 months.
    assert_eq!(r.loans.balance_end_stressed[5], 0.0);
    assert_eq!(r.loans.balance_end_stressed[2], 0.0);
    assert!(r.loans.balance_end_stressed[0] > 0.0);
}

#[test]
fn compliance_follows_the_thresholds() {
    let b = mixed_book();
    let mut s = settings(60);
    let shock = RateShock::Parallel { bp: 300.0 };
    let r = simulate(&b, &shock, &s).unwrap();
    let dscr = |r: &stresslab_loans::Results| {
        *r.compliance
            .iter()
            .find(|c| c.metric == Metric::DscrBreachShare)
            .unwrap()
    };
    let breaches = r.loans.breaches_dscr_floor.iter().filter(|&&x| x).count();
    assert_eq!(dscr(&r).actual, breaches as f64 / 6.0);
    assert!(
        breaches > 0,
        "a +300 bp shock should push the score-90 bullet below 1.0"
    );
    s.thresholds.max_dscr_breach_share = 1.0;
    assert_eq!(
        dscr(&simulate(&b, &shock, &s).unwrap()).status,
        ComplianceStatus::Compliant
    );
    s.thresholds.max_dscr_breach_share = 0.0;
    assert_eq!(
        dscr(&simulate(&b, &shock, &s).unwrap()).status,
        ComplianceStatus::NonCompliant
    );
    let el = r
        .compliance
        .iter()
        .find(|c| c.metric == Metric::ExpectedLossToCapital)
        .unwrap();
    close(
        el.actual,
        r.totals.expected_loss_stressed / r.totals.capital_stressed,
        1e-15,
    );
}

#[test]
fn loans_not_live_at_the_valuation_date_and_bad_settings_are_all_reported() {
    let b = book(&[
        "OK,C1,1000,0.05,2020-01-01,2030-01-01,Consumer-Fixed,Monthly,500,10",
        "OLD,C2,1000,0.05,2010-01-01,2020-01-01,Consumer-Fixed,Monthly,500,10",
        "NEW,C3,1000,0.05,2026-01-01,2030-01-01,Consumer-Fixed,Monthly,500,10",
    ]);
    let mut s = settings(0);
    s.lgd.corporate = 1.5;
    let e = simulate(
        &b,
        &RateShock::Ramp {
            bp: 300.0,
            months: 0,
        },
        &s,
    )
    .unwrap_err();
    let lines: Vec<(usize, &str)> = e.loans.iter().map(|i| (i.line, i.field.as_str())).collect();
    assert_eq!(lines, [(3, "EndDate"), (4, "StartDate")]);
    let text = e.to_string();
    for needle in ["horizon_months", "lgd", "shock.months"] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
}

#[test]
fn results_serialise() {
    let r = simulate(
        &mixed_book(),
        &RateShock::Parallel { bp: 300.0 },
        &settings(24),
    )
    .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["compliance"][0]["status"]
            .as_str()
            .map(|s| s == "Compliant" || s == "Non-Compliant"),
        Some(true)
    );
}
