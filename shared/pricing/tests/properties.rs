//! Textbook properties and limits: parity, zero volatility, zero hazard, bootstraps that
//! reprice their inputs, key-rate durations that add up, index vs intrinsic.

use stresslab_pricing::bond::{FixedRateBond, KEY_TENORS};
use stresslab_pricing::cds::{
    bootstrap_hazard, midpoint_legs, HazardCurve, ParSpreadQuote, PremiumSchedule,
};
use stresslab_pricing::curve::{bootstrap, CurveBump, Deposit, ParSwapQuote};
use stresslab_pricing::fx::{
    self, forward_hedge, garman_kohlhagen, risk_reversal, seagull, SeagullLegs,
};
use stresslab_pricing::index_cds::{flat_spread_legs, index_basis, intrinsic_legs, Constituent};
use stresslab_pricing::swap::{FixedLegSchedule, InterestRateSwap, SwapDirection};
use stresslab_pricing::swaption::{self, SwaptionVol};
use stresslab_pricing::{DiscountCurve, OptionKind, ZeroCurve};

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.15}, want {want:.15}, diff {:e} > {tol:e}",
        got - want
    );
}

fn sample_curve() -> ZeroCurve {
    ZeroCurve::new(
        vec![0.25, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0],
        vec![0.031, 0.033, 0.034, 0.036, 0.039, 0.041, 0.040],
    )
    .unwrap()
}

// ---------------------------------------------------------------- FX

/// C − P = S e^{−r_f T} − K e^{−r_d T}, over a grid of moneyness, rates, vols and expiries.
#[test]
fn fx_put_call_parity() {
    for &(s, k) in &[(1.56, 1.60), (1.10, 0.90), (150.0, 160.0), (0.65, 0.65)] {
        for &(rd, rf) in &[(0.06, 0.08), (0.0, 0.0), (-0.005, 0.04)] {
            for &vol in &[0.05, 0.12, 0.35] {
                for &t in &[0.02, 0.5, 3.0] {
                    let c = garman_kohlhagen(OptionKind::Call, s, k, rd, rf, vol, t);
                    let p = garman_kohlhagen(OptionKind::Put, s, k, rd, rf, vol, t);
                    let rhs = s * (-rf * t).exp() - k * (-rd * t).exp();
                    close("parity price", c.price - p.price, rhs, 1e-13 * s);
                    close("parity delta", c.delta - p.delta, (-rf * t).exp(), 1e-14);
                    close("parity vega", c.vega, p.vega, 1e-13 * s);
                }
            }
        }
    }
}

/// σ → 0: the discounted intrinsic value of the forward, reached continuously.
#[test]
fn fx_zero_vol_is_discounted_intrinsic() {
    let (s, rd, rf, t) = (1.25, 0.04, 0.02, 1.5);
    let fwd = fx::forward_rate(s, rd, rf, t);
    for &k in &[1.20, 1.25, 1.30, 1.40] {
        let intrinsic_call = ((fwd - k) * (-rd * t).exp()).max(0.0);
        let intrinsic_put = ((k - fwd) * (-rd * t).exp()).max(0.0);
        close(
            "call σ=0",
            garman_kohlhagen(OptionKind::Call, s, k, rd, rf, 0.0, t).price,
            intrinsic_call,
            1e-15,
        );
        close(
            "put σ=0",
            garman_kohlhagen(OptionKind::Put, s, k, rd, rf, 0.0, t).price,
            intrinsic_put,
            1e-15,
        );
        close(
            "call σ=1e-9",
            garman_kohlhagen(OptionKind::Call, s, k, rd, rf, 1e-9, t).price,
            intrinsic_call,
            1e-9,
        );
    }
}

/// Delta and vega against central finite differences (step 1e-5, tolerance 1e-8).
#[test]
fn fx_greeks_match_finite_differences() {
    let (s, k, rd, rf, vol, t) = (1.56, 1.60, 0.06, 0.08, 0.12, 0.5);
    for kind in [OptionKind::Call, OptionKind::Put] {
        let g = garman_kohlhagen(kind, s, k, rd, rf, vol, t);
        let h = 1e-5;
        let fd_delta = (fx::gk_price(kind, s + h, k, rd, rf, vol, t)
            - fx::gk_price(kind, s - h, k, rd, rf, vol, t))
            / (2.0 * h);
        let fd_vega = (fx::gk_price(kind, s, k, rd, rf, vol + h, t)
            - fx::gk_price(kind, s, k, rd, rf, vol - h, t))
            / (2.0 * h);
        close("delta", g.delta, fd_delta, 1e-8);
        close("vega", g.vega, fd_vega, 1e-8);
    }
}

/// The hedger's structures: a forward struck at the forward is worth nothing; the risk
/// reversal and seagull are their legs; at σ = 0 each is the discounted payoff at the
/// forward (floor, put spread, capped upside).
#[test]
fn fx_structures_for_a_foreign_currency_hedger() {
    let (s, rd, rf, t) = (1.10, 0.045, 0.03, 1.0);
    let fwd = fx::forward_rate(s, rd, rf, t);
    close(
        "forward at F",
        forward_hedge(s, fwd, rd, rf, t).price,
        0.0,
        1e-15,
    );
    let df = (-rd * t).exp();
    let rr = risk_reversal(s, 1.05, 1.18, rd, rf, 0.095, 0.085, t);
    let legs = garman_kohlhagen(OptionKind::Put, s, 1.05, rd, rf, 0.095, t).price
        - garman_kohlhagen(OptionKind::Call, s, 1.18, rd, rf, 0.085, t).price;
    close("risk reversal legs", rr.price, legs, 1e-15);
    let legs = SeagullLegs {
        low_put_strike: 0.98,
        low_put_vol: 0.0,
        put_strike: 1.05,
        put_vol: 0.0,
        call_strike: 1.18,
        call_vol: 0.0,
    };
    // Move the forward through each region via the spot; σ = 0 → payoff at F, discounted.
    for &spot in &[0.90, 1.0, 1.10, 1.25] {
        let f = fx::forward_rate(spot, rd, rf, t);
        let payoff = (1.05 - f).max(0.0) - (0.98 - f).max(0.0) - (f - 1.18).max(0.0);
        close(
            "seagull σ=0",
            seagull(spot, &legs, rd, rf, t).price,
            payoff * df,
            1e-15,
        );
        let rr0 = risk_reversal(spot, 1.05, 1.18, rd, rf, 0.0, 0.0, t).price;
        close(
            "risk reversal σ=0",
            rr0,
            ((1.05 - f).max(0.0) - (f - 1.18).max(0.0)) * df,
            1e-15,
        );
    }
    // Protection against a fall: the seagull's delta is negative at the money.
    assert!(
        seagull(
            s,
            &SeagullLegs {
                low_put_vol: 0.1,
                put_vol: 0.09,
                call_vol: 0.085,
                ..legs
            },
            rd,
            rf,
            t
        )
        .delta
            < 0.0
    );
}

// ---------------------------------------------------------------- curve and swaps

/// The bootstrap reprices every deposit and par swap it was given (1e-12).
#[test]
fn bootstrap_reprices_its_inputs() {
    let deposits = [
        Deposit {
            maturity: 0.25,
            rate: 0.0410,
        },
        Deposit {
            maturity: 0.5,
            rate: 0.0420,
        },
        Deposit {
            maturity: 1.0,
            rate: 0.0425,
        },
    ];
    let swaps = [
        ParSwapQuote {
            maturity: 2.0,
            rate: 0.0405,
            fixed_frequency: 2,
        },
        ParSwapQuote {
            maturity: 3.0,
            rate: 0.0398,
            fixed_frequency: 2,
        },
        ParSwapQuote {
            maturity: 5.0,
            rate: 0.0392,
            fixed_frequency: 2,
        },
        ParSwapQuote {
            maturity: 7.0,
            rate: 0.0395,
            fixed_frequency: 1,
        },
        ParSwapQuote {
            maturity: 10.0,
            rate: 0.0401,
            fixed_frequency: 2,
        },
        ParSwapQuote {
            maturity: 30.0,
            rate: 0.0410,
            fixed_frequency: 2,
        },
    ];
    let curve = bootstrap(&deposits, &swaps).unwrap();
    for d in &deposits {
        close(
            "deposit",
            (1.0 / curve.discount(d.maturity) - 1.0) / d.maturity,
            d.rate,
            1e-13,
        );
    }
    for s in &swaps {
        let leg = FixedLegSchedule::regular(0.0, s.maturity, s.fixed_frequency).unwrap();
        close("par swap", leg.par_rate(&curve), s.rate, 1e-12);
    }
    assert!(bootstrap(
        &deposits,
        &[ParSwapQuote {
            maturity: 0.5,
            rate: 0.04,
            fixed_frequency: 2
        }]
    )
    .is_err());
}

/// Quotes generated from a flat 4% continuous curve bootstrap back to it.
#[test]
fn bootstrap_recovers_a_flat_curve() {
    let r: f64 = 0.04;
    let flat = ZeroCurve::flat(r).unwrap();
    let deposits = [Deposit {
        maturity: 0.5,
        rate: ((r * 0.5).exp() - 1.0) / 0.5,
    }];
    let swaps: Vec<ParSwapQuote> = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|&m| ParSwapQuote {
            maturity: m,
            rate: FixedLegSchedule::regular(0.0, m, 2)
                .unwrap()
                .par_rate(&flat),
            fixed_frequency: 2,
        })
        .collect();
    let curve = bootstrap(&deposits, &swaps).unwrap();
    for &z in curve.zeros() {
        close("zero", z, r, 1e-12);
    }
}

#[test]
fn curve_bumps_and_forwards_are_consistent() {
    let c = sample_curve();
    let up = c.bumped(CurveBump::Parallel(0.001));
    for &t in &[0.1, 0.7, 3.0, 12.0, 40.0] {
        close(
            "parallel bump",
            up.discount(t),
            c.discount(t) * (-0.001 * t).exp(),
            1e-15,
        );
        let (t1, t2) = (t, t + 0.37);
        close(
            "forward",
            (c.discount(t1) / c.discount(t2)).ln() / (t2 - t1),
            c.forward_rate(t1, t2),
            1e-13,
        );
    }
    // A key-rate bump moves only its own triangle.
    let krd5 = c.bumped(CurveBump::key_rate(&KEY_TENORS, 3, 1e-4).unwrap());
    close(
        "outside triangle",
        krd5.zero_rate(1.5),
        c.zero_rate(1.5),
        0.0,
    );
    close(
        "at the key",
        krd5.zero_rate(5.0),
        c.zero_rate(5.0) + 1e-4,
        1e-17,
    );
    close(
        "half way",
        krd5.zero_rate(7.5),
        c.zero_rate(7.5) + 0.5e-4,
        1e-17,
    );
}

/// A swap at its par rate is worth zero; payer = −receiver; PV01 (a one-sided +1 bp
/// difference) matches the Taylor expansion h·PV′ + ½h²·PV″ of the single-curve PV
/// under a parallel zero shift s, PV(s) = P₀e^{−st₀} − Pₙe^{−stₙ} − KΣτᵢPᵢe^{−stᵢ}
/// (remainder h³/6·PV‴ ≈ 1e-10 per unit notional: tolerance 1e-9).
#[test]
fn swap_par_rate_pv_and_pv01() {
    let c = sample_curve();
    let leg = FixedLegSchedule::regular(1.0, 11.0, 2).unwrap();
    let par = leg.par_rate(&c);
    let at_par = InterestRateSwap::new(SwapDirection::Payer, 1e6, par, leg.clone()).unwrap();
    close("PV at par", at_par.pv(&c), 0.0, 1e-9);
    let payer = InterestRateSwap::new(SwapDirection::Payer, 1.0, 0.045, leg.clone()).unwrap();
    let receiver = InterestRateSwap::new(SwapDirection::Receiver, 1.0, 0.045, leg.clone()).unwrap();
    close("payer = -receiver", payer.pv(&c), -receiver.pv(&c), 1e-16);
    close(
        "PV = A(S-K)",
        payer.pv(&c),
        payer.annuity(&c) * (par - 0.045),
        1e-15,
    );
    let (t0, tn) = (leg.start(), leg.maturity());
    // k-th derivative of PV in s at s = 0.
    let derivative = |k: i32| {
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        let fixed: f64 = leg
            .pay_times()
            .iter()
            .zip(leg.accruals())
            .map(|(&t, &a)| a * t.powi(k) * c.discount(t))
            .sum();
        sign * (t0.powi(k) * c.discount(t0) - tn.powi(k) * c.discount(tn) - 0.045 * fixed)
    };
    let h = 1e-4;
    close(
        "PV01",
        payer.pv01(&c),
        h * derivative(1) + 0.5 * h * h * derivative(2),
        1e-9,
    );
    assert!(payer.pv01(&c) > 0.0 && receiver.pv01(&c) < 0.0);
}

// ---------------------------------------------------------------- swaptions

/// Payer − receiver = A·(F − K) in both models; σ = 0 gives A·max(ω(F − K), 0); the
/// collar struck at one strike is a short forward-starting payer swap.
#[test]
fn swaption_parity_zero_vol_and_collar() {
    let (a, t) = (4.3, 2.0);
    for &(f, k) in &[(0.04, 0.035), (0.04, 0.04), (0.04, 0.05)] {
        for vol in [SwaptionVol::Black(0.25), SwaptionVol::Bachelier(0.009)] {
            let p = swaption::value(SwapDirection::Payer, f, k, vol, t, a);
            let r = swaption::value(SwapDirection::Receiver, f, k, vol, t, a);
            close("parity", p - r, a * (f - k), 1e-15);
            let c = swaption::collar(f, k, vol, k, vol, t, a);
            close("collar at one strike", c, -a * (f - k), 1e-15);
        }
        for zero in [SwaptionVol::Black(0.0), SwaptionVol::Bachelier(0.0)] {
            close(
                "payer σ=0",
                swaption::value(SwapDirection::Payer, f, k, zero, t, a),
                a * (f - k).max(0.0),
                0.0,
            );
            close(
                "receiver σ=0",
                swaption::value(SwapDirection::Receiver, f, k, zero, t, a),
                a * (k - f).max(0.0),
                0.0,
            );
        }
    }
    assert!(swaption::check_inputs(-0.01, SwaptionVol::Black(0.2), 1.0)
        .unwrap_err()
        .to_string()
        .contains("strike"));
    assert!(swaption::check_inputs(-0.01, SwaptionVol::Bachelier(0.01), 1.0).is_ok());
    assert!(fx::check_inputs(1.1, 1.2, -0.1, 1.0)
        .unwrap_err()
        .to_string()
        .contains("vol"));
    // ATM: Bachelier value is A·σ√T/√(2π) exactly.
    let atm = swaption::bachelier(SwapDirection::Payer, 0.04, 0.04, 0.01, 2.0, a);
    close(
        "ATM Bachelier",
        atm,
        a * 0.01 * 2f64.sqrt() / (2.0 * std::f64::consts::PI).sqrt(),
        1e-17,
    );
}

// ---------------------------------------------------------------- bonds

/// Key-rate durations at 0.25…30y add up to the effective duration (the triangles add up
/// to a parallel bump; the gap is the third-order term of the central differences,
/// h²/6·ΣCF·t³·(1 − Σwᵢ(t)³)·D/P ≤ h²T³/6 — 4e-5 years for a 30y bond, 4e-6 for 14y —
/// which is the tolerance used). Keys beyond the last cash flow's triangle are exactly zero.
#[test]
fn key_rate_durations_sum_to_effective_duration() {
    let c = sample_curve();
    for &(coupon, freq, maturity) in &[
        (0.05, 2, 7.0),
        (0.0, 1, 30.0),
        (0.035, 2, 14.3),
        (0.08, 4, 0.9),
    ] {
        let bond = FixedRateBond::new(coupon, freq, maturity).unwrap();
        let krd = bond.key_rate_durations(&c);
        let sum: f64 = krd.iter().sum();
        close(
            "sum of KRDs",
            sum,
            bond.effective_duration(&c),
            1e-8 * maturity.powi(3) / 6.0,
        );
        if maturity < 10.0 {
            assert_eq!(krd[5], 0.0, "20y KRD of a {maturity}y bond");
            assert_eq!(krd[6], 0.0, "30y KRD of a {maturity}y bond");
        }
    }
}

/// On a flat continuous curve r, the curve price equals the yield price at
/// y = f(e^{r/f} − 1); effective duration = continuous Macaulay duration, effective
/// convexity = Σt²CF·D/P (both up to the central differences' O(h²) error, ~h²t³/6 ≈
/// 2e-6 years here: tolerance 5e-6); yield from price inverts the price.
#[test]
fn bond_curve_and_yield_agree_on_a_flat_curve() {
    let r: f64 = 0.042;
    let flat = ZeroCurve::flat(r).unwrap();
    let bond = FixedRateBond::new(0.05, 2, 9.75).unwrap();
    close(
        "accrued (a quarter year into a half-year coupon)",
        bond.accrued(),
        0.05 * 0.25,
        1e-16,
    );
    let y = 2.0 * ((r / 2.0).exp() - 1.0);
    close(
        "curve vs yield price",
        bond.dirty_price(&flat),
        bond.price_from_yield(y),
        1e-14,
    );
    close(
        "clean",
        bond.clean_price(&flat),
        bond.dirty_price(&flat) - bond.accrued(),
        1e-16,
    );
    let (times, cfs) = bond.cash_flows();
    let p = bond.dirty_price(&flat);
    let mac: f64 = times
        .iter()
        .zip(cfs)
        .map(|(&t, &cf)| t * cf * flat.discount(t))
        .sum::<f64>()
        / p;
    let cx: f64 = times
        .iter()
        .zip(cfs)
        .map(|(&t, &cf)| t * t * cf * flat.discount(t))
        .sum::<f64>()
        / p;
    close(
        "effective duration",
        bond.effective_duration(&flat),
        mac,
        5e-6,
    );
    close(
        "effective convexity",
        bond.effective_convexity(&flat),
        cx,
        1e-3,
    );
    close(
        "yield round trip",
        bond.yield_from_price(bond.price_from_yield(0.061)).unwrap(),
        0.061,
        1e-13,
    );
    // Modified duration is the derivative of the yield price.
    let h = 1e-6;
    let fd = -(bond.price_from_yield(y + h) - bond.price_from_yield(y - h))
        / (2.0 * h * bond.price_from_yield(y));
    close(
        "modified duration",
        bond.yield_risk(y).modified_duration,
        fd,
        1e-7,
    );
    assert!(FixedRateBond::new(0.05, 0, 5.0)
        .unwrap_err()
        .to_string()
        .contains("frequency"));
}

// ---------------------------------------------------------------- CDS and index

fn ois() -> ZeroCurve {
    ZeroCurve::new(vec![1.0, 5.0, 10.0], vec![0.03, 0.035, 0.038]).unwrap()
}

/// Zero hazard: no protection, and the RPV01 is the risk-free annuity.
#[test]
fn cds_zero_hazard_has_no_protection() {
    let sched = PremiumSchedule::regular(5.0, 4).unwrap();
    let legs = midpoint_legs(&sched, 0.4, &HazardCurve::flat(0.0).unwrap(), &ois());
    assert_eq!(legs.protection, 0.0);
    let annuity = FixedLegSchedule::regular(0.0, 5.0, 4)
        .unwrap()
        .annuity(&ois());
    close("RPV01 = annuity", legs.rpv01, annuity, 1e-15);
}

/// The hazard bootstrap reprices every quoted par spread (1e-12); upfront at the par
/// spread is zero; a flat hazard obeys the credit triangle s ≈ λ(1 − R) to 0.5%.
#[test]
fn hazard_bootstrap_reprices_par_spreads() {
    let quotes = [
        ParSpreadQuote {
            maturity: 1.0,
            spread: 0.0060,
        },
        ParSpreadQuote {
            maturity: 3.0,
            spread: 0.0085,
        },
        ParSpreadQuote {
            maturity: 5.0,
            spread: 0.0110,
        },
        ParSpreadQuote {
            maturity: 7.0,
            spread: 0.0122,
        },
        ParSpreadQuote {
            maturity: 10.0,
            spread: 0.0130,
        },
    ];
    let hazard = bootstrap_hazard(&quotes, 4, 0.4, &ois()).unwrap();
    for q in &quotes {
        let legs = midpoint_legs(
            &PremiumSchedule::regular(q.maturity, 4).unwrap(),
            0.4,
            &hazard,
            &ois(),
        );
        close("par spread", legs.fair_spread(), q.spread, 1e-12);
        close("upfront at par", legs.upfront(q.spread), 0.0, 1e-12);
    }
    assert!(hazard.hazards().iter().all(|&h| h > 0.0));
    let legs = midpoint_legs(
        &PremiumSchedule::regular(5.0, 4).unwrap(),
        0.4,
        &HazardCurve::flat(0.02).unwrap(),
        &ois(),
    );
    close(
        "credit triangle",
        legs.fair_spread() / (0.02 * 0.6),
        1.0,
        5e-3,
    );
    // A 100bp-coupon contract on a name at 110bp costs the buyer an upfront.
    let five = midpoint_legs(
        &PremiumSchedule::regular(5.0, 4).unwrap(),
        0.4,
        &hazard,
        &ois(),
    );
    assert!(five.upfront(0.01) > 0.0);
    assert!(bootstrap_hazard(&quotes, 4, 1.0, &ois())
        .unwrap_err()
        .to_string()
        .contains("recovery"));
}

fn names() -> Vec<Constituent> {
    [0.004, 0.01, 0.02, 0.035, 0.08]
        .iter()
        .zip([0.4, 0.4, 0.35, 0.4, 0.25])
        .map(|(&h, r)| Constituent {
            hazard: HazardCurve::flat(h).unwrap(),
            recovery: r,
        })
        .collect()
}

/// Intrinsic spread = RPV01-weighted average of the names' par spreads (not the plain
/// average); identical names give the single-name spread and zero basis; the flat-spread
/// convention reprices the quoted spread and, for identical flat names quoted at their
/// spread, gives the intrinsic upfront.
#[test]
fn index_intrinsic_and_flat_spread_conventions() {
    let sched = PremiumSchedule::regular(5.0, 4).unwrap();
    let names = names();
    let each: Vec<_> = names
        .iter()
        .map(|n| midpoint_legs(&sched, n.recovery, &n.hazard, &ois()))
        .collect();
    let weighted = each.iter().map(|l| l.fair_spread() * l.rpv01).sum::<f64>()
        / each.iter().map(|l| l.rpv01).sum::<f64>();
    let plain = each.iter().map(|l| l.fair_spread()).sum::<f64>() / each.len() as f64;
    let intrinsic = intrinsic_legs(&sched, &names, &ois()).unwrap();
    close(
        "intrinsic = RPV01-weighted",
        intrinsic.fair_spread(),
        weighted,
        1e-15,
    );
    assert!(
        intrinsic.fair_spread() < plain,
        "riskier names have smaller RPV01s"
    );

    let same = vec![names[2].clone(); 4];
    let single = midpoint_legs(&sched, same[0].recovery, &same[0].hazard, &ois());
    let idx = intrinsic_legs(&sched, &same, &ois()).unwrap();
    close(
        "identical names",
        idx.fair_spread(),
        single.fair_spread(),
        1e-15,
    );
    close(
        "zero basis",
        index_basis(&sched, single.fair_spread(), &same, &ois()).unwrap(),
        0.0,
        1e-15,
    );
    let flat = flat_spread_legs(&sched, single.fair_spread(), 0.35, &ois()).unwrap();
    close(
        "flat reprices quote",
        flat.fair_spread(),
        single.fair_spread(),
        1e-13,
    );
    close(
        "flat upfront = intrinsic",
        flat.upfront(0.01),
        idx.upfront(0.01),
        1e-12,
    );

    let basis = index_basis(&sched, 0.0150, &names, &ois()).unwrap();
    close("basis", basis, 0.0150 - intrinsic.fair_spread(), 1e-16);
    assert!(intrinsic_legs(&sched, &[], &ois()).is_err());
}
