//! Candidate hedge programs: what the currency, interest-rate and credit specialists
//! propose, sized on the pension's exposures at the snapshot.
//!
//! A program is a list of (instrument, notional); its cost is stated in bp of assets a
//! year as carry — what the position loses over the year if markets do not move (spot
//! FX and spreads unchanged, curves keeping their shape in remaining time): forward
//! points, fixed against floating net of roll-down, CDS premium, options' time decay;
//! computed by the same full revaluation as the scenarios (`model::prepare`) — plus
//! bid-ask (half the dealer spread on entry, from the stated quotes below — assumptions,
//! typical of large-ticket institutional trades). The options' upfront premium is shown
//! for information; its decay is inside carry.

use crate::book::{CashFlows, Curve, PensionBook, Rating};
use crate::factors::Currency;
use crate::scenarios::ScenarioConfig;
use crate::valuation::{garman_kohlhagen, CreditReference, Instrument};
use serde::{Deserialize, Serialize};

/// Which specialist proposes a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HedgeDesk {
    Currency,
    Rates,
    Credit,
}

/// The hedge programs' life: one year, rolled annually (the revaluation horizon is at
/// most one year, so every instrument's first period is inside it).
pub const PROGRAM_TENOR: f64 = 1.0;

/// Half bid-ask spreads (assumptions; typical institutional quotes):
/// FX forwards in G10 majors ~1 bp of notional (AUD, CAD, JPY, CHF included);
pub const HALF_SPREAD_FX_FORWARD: f64 = 1e-4;
/// FX options ~0.15 vol points on the vega;
pub const HALF_SPREAD_FX_OPTION_VOL: f64 = 0.0015;
/// swaps ~0.25 bp running on the annuity;
pub const HALF_SPREAD_SWAP: f64 = 0.25e-4;
/// swaptions ~1 bp normal vol on the vega;
pub const HALF_SPREAD_SWAPTION_VOL: f64 = 1e-4;
/// index CDS ~0.25 bp and single-name CDS ~2 bp running on the risky annuity.
pub const HALF_SPREAD_INDEX_CDS: f64 = 0.25e-4;
pub const HALF_SPREAD_SINGLE_NAME_CDS: f64 = 2e-4;
/// Tranches ~5 bp running (assumption).
pub const HALF_SPREAD_TRANCHE: f64 = 5e-4;

/// A candidate program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgeProgram {
    pub desk: HedgeDesk,
    /// Label for tables (`forwards 75%`).
    pub label: String,
    /// A few characters for chart labels (`F75`).
    #[serde(default)]
    pub code: String,
    pub legs: Vec<(Instrument, f64)>,
    /// Options' net upfront premium, bp of assets (informational: its decay is in carry).
    pub premium_bp: f64,
    /// Loss over a year if markets do not move, bp of assets (negative: the program
    /// earns). Set by `model::prepare`.
    pub carry_bp: f64,
    /// Half the bid-ask spread on entry, bp of assets.
    pub bid_ask_bp: f64,
}

impl HedgeProgram {
    fn none(desk: HedgeDesk) -> HedgeProgram {
        HedgeProgram {
            desk,
            label: "no hedge".into(),
            code: "—".into(),
            legs: Vec::new(),
            premium_bp: 0.0,
            carry_bp: 0.0,
            bid_ask_bp: 0.0,
        }
    }

    pub fn cost_bp(&self) -> f64 {
        self.carry_bp + self.bid_ask_bp
    }
}

/// Net exposure per currency (local units): assets − liabilities at the snapshot.
pub fn net_local_exposure(book: &PensionBook) -> [f64; 7] {
    let mut out = [0.0; 7];
    for e in &book.equities {
        out[e.currency.index()] += e.value_local;
    }
    for b in &book.bonds {
        out[b.currency.index()] += b.face
            * b.flows_per_face
                .present_value(book.market.curve(b.currency), b.spread);
    }
    for c in Currency::ALL {
        out[c.index()] += book.cash[c.index()] - book.liability_pv(c);
    }
    out
}

fn forward(book: &PensionBook, c: Currency, t: f64) -> f64 {
    let (d, f) = (book.market.curve(Currency::USD), book.market.curve(c));
    book.market.fx_spot[c.index()] * f.discount(t) / d.discount(t)
}

/// FX option legs of an overlay on `notional` foreign units of exposure (positive =
/// long the currency, hurt by its fall): (call?, strike as a multiple of the forward,
/// quantity per unit exposure; positive = bought).
fn overlay_legs(long_currency: bool, seagull: bool) -> Vec<(bool, f64, f64)> {
    match (long_currency, seagull) {
        // Risk reversal: buy the protective 95% put, sell the 105% call.
        (true, false) => vec![(false, 0.95, 1.0), (true, 1.05, -1.0)],
        // Seagull: put spread 95/85 financed by a 107% call.
        (true, true) => vec![(false, 0.95, 1.0), (false, 0.85, -1.0), (true, 1.07, -1.0)],
        // Short the currency (liabilities exceed assets): mirror images.
        (false, false) => vec![(true, 1.05, 1.0), (false, 0.95, -1.0)],
        (false, true) => vec![(true, 1.05, 1.0), (true, 1.15, -1.0), (false, 0.93, -1.0)],
    }
}

/// The currency specialist's candidates: forward hedges of 50/75/95% of each net
/// foreign exposure, and 50% forwards with a risk-reversal or seagull overlay on the
/// unhedged half.
pub fn currency_programs(book: &PensionBook) -> Vec<HedgeProgram> {
    let exposure = net_local_exposure(book);
    let assets = book.assets_usd;
    let mut out = vec![HedgeProgram::none(HedgeDesk::Currency)];
    let specs: [(&str, &str, f64, Option<bool>); 5] = [
        ("forwards 50%", "F50", 0.50, None),
        ("forwards 75%", "F75", 0.75, None),
        ("forwards 95%", "F95", 0.95, None),
        ("forwards 50% + risk reversal", "F50+RR", 0.50, Some(false)),
        ("forwards 50% + seagull", "F50+SG", 0.50, Some(true)),
    ];
    for (label, code, ratio, overlay) in specs {
        let mut p = HedgeProgram::none(HedgeDesk::Currency);
        p.label = label.into();
        p.code = code.into();
        for c in Currency::ALL.into_iter().filter(|c| *c != Currency::USD) {
            let e = exposure[c.index()];
            if e.abs() < 1e-9 * assets {
                continue;
            }
            let spot = book.market.fx_spot[c.index()];
            let f = forward(book, c, PROGRAM_TENOR);
            let n = -ratio * e;
            p.legs.push((
                Instrument::FxForward {
                    currency: c,
                    strike: f,
                    maturity: PROGRAM_TENOR,
                },
                n,
            ));
            p.bid_ask_bp += n.abs() * spot * HALF_SPREAD_FX_FORWARD / assets * 1e4;
            if let Some(seagull) = overlay {
                let vol = book.market.fx_vols[c.index()].unwrap_or(0.1);
                let (dd, df) = (
                    book.market.curve(Currency::USD).discount(PROGRAM_TENOR),
                    book.market.curve(c).discount(PROGRAM_TENOR),
                );
                let residual = (1.0 - ratio) * e.abs();
                for (call, k, q) in overlay_legs(e > 0.0, seagull) {
                    let strike = k * f;
                    let n = q * residual;
                    let sd = vol * PROGRAM_TENOR.sqrt();
                    let premium = garman_kohlhagen(call, spot * df, strike * dd, sd);
                    let vega = {
                        let up = garman_kohlhagen(
                            call,
                            spot * df,
                            strike * dd,
                            sd + 1e-4 * PROGRAM_TENOR.sqrt(),
                        );
                        (up - premium) / 1e-4
                    };
                    p.legs.push((
                        Instrument::FxOption {
                            currency: c,
                            call,
                            strike,
                            maturity: PROGRAM_TENOR,
                        },
                        n,
                    ));
                    p.premium_bp += n * premium / assets * 1e4;
                    p.bid_ask_bp += n.abs() * vega * HALF_SPREAD_FX_OPTION_VOL / assets * 1e4;
                }
            }
        }
        out.push(p);
    }
    out
}

/// Key tenors of the key-rate durations (years).
pub const KEY_TENORS: [f64; 6] = [2.0, 5.0, 10.0, 15.0, 20.0, 30.0];
/// Swap maturities the rates specialist hedges with.
/// One per key tenor, so a key-rate profile can be matched exactly (LDI practice: a
/// strip of swaps along the curve).
pub const SWAP_TENORS: [u32; 6] = [2, 5, 10, 15, 20, 30];

/// Triangular weight of key tenor `k` at time `t` (1 at the key, falling linearly to 0
/// at its neighbours, flat beyond the first and last): the key-rate bumps of Ho (1992),
/// "Key rate durations", Journal of Fixed Income 2(2). They sum to 1 at every t.
pub fn key_rate_weight(k: usize, t: f64) -> f64 {
    let keys = KEY_TENORS;
    let n = keys.len();
    if t <= keys[0] {
        return if k == 0 { 1.0 } else { 0.0 };
    }
    if t >= keys[n - 1] {
        return if k == n - 1 { 1.0 } else { 0.0 };
    }
    let j = keys.partition_point(|&x| x <= t);
    let w = (t - keys[j - 1]) / (keys[j] - keys[j - 1]);
    if k == j - 1 {
        1.0 - w
    } else if k == j {
        w
    } else {
        0.0
    }
}

/// Key-rate PV01s of cash flows on a curve: the value gained per 1 bp fall of the zero
/// rate around each key tenor (per unit of the flows).
pub fn key_rate_pv01(flows: &CashFlows, curve: &Curve, spread: f64) -> [f64; 6] {
    let mut out = [0.0; 6];
    for (&t, &a) in flows.times.iter().zip(&flows.amounts) {
        let v = a * t * (-(curve.zero(t) + spread) * t).exp() * 1e-4;
        for (k, o) in out.iter_mut().enumerate() {
            *o += v * key_rate_weight(k, t);
        }
    }
    out
}

/// Key-rate PV01s of a par receiver swap per unit notional (fixed leg less the floating
/// leg, whose rate risk is the first year's discounting only).
pub fn swap_key_rate_pv01(curve: &Curve, years: u32) -> ([f64; 6], f64, f64) {
    let annuity: f64 = (1..=years).map(|i| curve.discount(i as f64)).sum();
    let par = (1.0 - curve.discount(years as f64)) / annuity;
    let fixing = 1.0 / curve.discount(1.0) - 1.0;
    let mut fixed = CashFlows::default();
    for i in 1..=years {
        fixed.times.push(i as f64);
        fixed.amounts.push(par + if i == years { 1.0 } else { 0.0 });
    }
    let mut k = key_rate_pv01(&fixed, curve, 0.0);
    let float = key_rate_pv01(
        &CashFlows {
            times: vec![1.0],
            amounts: vec![1.0 + fixing],
        },
        curve,
        0.0,
    );
    for i in 0..6 {
        k[i] -= float[i];
    }
    (k, par, fixing)
}

/// Least-squares fit of `b` by the columns `a[j]` (all of `b`'s length), by SVD so a
/// rank-deficient set (two swaps with the same profile) still gets the minimum-norm
/// answer. Signed: a hedge may pay fixed at one tenor while receiving at another.
pub fn least_squares(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let (rows, m) = (b.len(), a.len());
    let mat = nalgebra::DMatrix::from_fn(rows, m, |r, j| a[j][r]);
    let rhs = nalgebra::DVector::from_column_slice(b);
    match mat.svd(true, true).solve(&rhs, 1e-12) {
        Ok(x) => x.iter().copied().collect(),
        Err(_) => vec![0.0; m],
    }
}

/// Net key-rate PV01 the pension is short per currency (liabilities − bonds), local
/// units per bp: positive where falling rates hurt the surplus.
pub fn net_key_rate_exposure(book: &PensionBook, c: Currency) -> [f64; 6] {
    let curve = book.market.curve(c);
    let mut out = key_rate_pv01(&book.liabilities[c.index()], curve, book.liability_spread);
    for b in book.bonds.iter().filter(|b| b.currency == c) {
        let k = key_rate_pv01(&b.flows_per_face, curve, b.spread);
        for i in 0..6 {
            out[i] -= b.face * k[i];
        }
    }
    out
}

/// PV01-weighted average key tenor: the "duration" point of a key-rate profile.
pub fn key_rate_centre(k: &[f64; 6]) -> f64 {
    let total: f64 = k.iter().sum();
    if total.abs() < 1e-300 {
        return 0.0;
    }
    k.iter().zip(KEY_TENORS).map(|(v, t)| v * t).sum::<f64>() / total
}

/// A swap overlay for one currency: swaps in [`SWAP_TENORS`] (receive fixed where the
/// notional is positive, pay where negative) matching
/// `ratio` of the net key-rate exposure, and how far its key-rate centre drifts from
/// the exposure's (years).
pub struct SwapOverlay {
    pub currency: Currency,
    pub notionals: Vec<(u32, f64, f64, f64)>,
    pub drift_years: f64,
    pub hedged_pv01: f64,
    pub target_pv01: f64,
}

/// Weight of the total-PV01 row in the key-rate fit: the overlay must hedge the whole
/// PV01 it is sized for, and spread it across tenors as well as the strip can.
pub const TOTAL_PV01_WEIGHT: f64 = 4.0;

pub fn swap_overlay(book: &PensionBook, c: Currency, ratio: f64) -> SwapOverlay {
    let curve = book.market.curve(c);
    let target = net_key_rate_exposure(book, c).map(|v| v * ratio);
    let swaps: Vec<([f64; 6], f64, f64)> = SWAP_TENORS
        .iter()
        .map(|&y| swap_key_rate_pv01(curve, y))
        .collect();
    let with_total = |k: &[f64; 6]| {
        let mut v = k.to_vec();
        v.push(TOTAL_PV01_WEIGHT * k.iter().sum::<f64>());
        v
    };
    let a: Vec<[f64; 6]> = swaps.iter().map(|s| s.0).collect();
    let columns: Vec<Vec<f64>> = a.iter().map(with_total).collect();
    let x = least_squares(&columns, &with_total(&target));
    let mut hedge = [0.0; 6];
    for (j, n) in x.iter().enumerate() {
        for i in 0..6 {
            hedge[i] += n * a[j][i];
        }
    }
    SwapOverlay {
        currency: c,
        notionals: SWAP_TENORS
            .iter()
            .zip(&x)
            .zip(&swaps)
            .filter(|((_, n), _)| **n != 0.0)
            .map(|((&y, &n), s)| (y, n, s.1, s.2))
            .collect(),
        drift_years: (key_rate_centre(&hedge) - key_rate_centre(&target)).abs(),
        hedged_pv01: hedge.iter().sum(),
        target_pv01: target.iter().sum(),
    }
}

/// Swaption collar terms: buy a 1y × 10y receiver 50 bp below the forward swap rate,
/// sell a payer 50 bp above (assumption: a common zero-ish-cost collar width).
pub const COLLAR_HALF_WIDTH: f64 = 0.005;
pub const COLLAR_TENOR: u32 = 10;

/// The interest-rate specialist's candidates: receiver swaps matched on key-rate
/// exposure at 50/75/100% of the net PV01 of each liability currency, and 75% with a
/// swaption collar on the rest.
pub fn rates_programs(book: &PensionBook) -> Vec<HedgeProgram> {
    let assets = book.assets_usd;
    let mut out = vec![HedgeProgram::none(HedgeDesk::Rates)];
    for (label, code, ratio, collar) in [
        ("swaps 50% of PV01", "S50", 0.5, false),
        ("swaps 75% of PV01", "S75", 0.75, false),
        ("swaps 100% of PV01", "S100", 1.0, false),
        ("swaps 75% + swaption collar", "S75+C", 0.75, true),
    ] {
        let mut p = HedgeProgram::none(HedgeDesk::Rates);
        p.label = label.into();
        p.code = code.into();
        for c in book.liability_currencies() {
            let fx = book.market.fx_spot[c.index()];
            let curve = book.market.curve(c);
            let o = swap_overlay(book, c, ratio);
            for (years, n, par, fixing) in &o.notionals {
                p.legs.push((
                    Instrument::Swap {
                        currency: c,
                        fixed_rate: *par,
                        years: *years,
                        first_fixing: *fixing,
                    },
                    *n,
                ));
                let annuity: f64 = (1..=*years).map(|i| curve.discount(i as f64)).sum();
                p.bid_ask_bp += n * annuity * HALF_SPREAD_SWAP * fx / assets * 1e4;
            }
            if collar {
                let expiry = PROGRAM_TENOR;
                let ann: f64 = (1..=COLLAR_TENOR)
                    .map(|i| curve.discount(expiry + i as f64))
                    .sum();
                let fwd =
                    (curve.discount(expiry) - curve.discount(expiry + COLLAR_TENOR as f64)) / ann;
                // Size: the collar's receiver covers the unhedged quarter of the PV01.
                let pv01_per_unit = ann * 1e-4;
                let net_pv01 = o.target_pv01 / ratio;
                let n = ((1.0 - ratio) * net_pv01 / pv01_per_unit).max(0.0);
                let vol = book.market.swaption_normal_vols[c.index()].unwrap_or(0.01);
                let sd = vol * expiry.sqrt();
                for (receiver, strike, q) in [
                    (true, fwd - COLLAR_HALF_WIDTH, 1.0),
                    (false, fwd + COLLAR_HALF_WIDTH, -1.0),
                ] {
                    let w = if receiver { strike - fwd } else { fwd - strike };
                    let d = w / sd;
                    let premium = ann
                        * (w * crate::valuation::norm_cdf(d) + sd * crate::valuation::norm_pdf(d));
                    let vega = ann * expiry.sqrt() * crate::valuation::norm_pdf(d);
                    p.legs.push((
                        Instrument::Swaption {
                            currency: c,
                            receiver,
                            strike,
                            expiry,
                            tenor: COLLAR_TENOR,
                        },
                        q * n,
                    ));
                    p.premium_bp += q * n * premium * fx / assets * 1e4;
                    p.bid_ask_bp += n * vega * HALF_SPREAD_SWAPTION_VOL * fx / assets * 1e4;
                }
            }
        }
        out.push(p);
    }
    out
}

/// CDS maturity for credit hedges (the liquid five-year point).
pub const CDS_MATURITY: f64 = 5.0;
/// Recovery rate assumed for senior unsecured names and the index (market convention).
pub const CDS_RECOVERY: f64 = 0.4;
/// Share of the investment-grade bonds' spread risk (CS01) the index hedge offsets.
pub const INDEX_HEDGE_RATIO: f64 = 0.5;

/// Risky annuity Σ_q 0.25·DF(t_q)·e^{−λ t_q} on the USD curve, λ = S/(1 − R).
pub fn risky_annuity(book: &PensionBook, spread: f64) -> f64 {
    let usd = book.market.curve(Currency::USD);
    let lambda = spread / (1.0 - CDS_RECOVERY);
    (1..=(CDS_MATURITY * 4.0) as u32)
        .map(|q| {
            let t = q as f64 * 0.25;
            0.25 * usd.discount(t) * (-lambda * t).exp()
        })
        .sum()
}

/// Spread PV01 (value lost per 1 bp of spread, USD) of a bond holding.
pub fn bond_cs01(book: &PensionBook, b: &crate::book::BondHolding) -> f64 {
    let curve = book.market.curve(b.currency);
    let v0 = b.flows_per_face.present_value(curve, b.spread);
    let v1 = b.flows_per_face.present_value(curve, b.spread + 1e-4);
    (v0 - v1) * b.face * book.market.fx_spot[b.currency.index()]
}

/// The mezzanine tranche bought: 3–7% of the IG index, five years.
pub const TRANCHE_ATTACHMENT: f64 = 0.03;
pub const TRANCHE_DETACHMENT: f64 = 0.07;
/// Flat copula correlation for the tranche (an assumption: base correlations of
/// investment-grade mezzanine tranches have mostly quoted between 0.2 and 0.4).
pub const TRANCHE_CORRELATION: f64 = 0.3;
/// The grid of IG log-spread changes the tranche is priced on (spreads ×0.08 to ×33:
/// beyond every path the calibrated ceilings allow in a year), and its step.
pub const TRANCHE_GRID_X: (f64, f64, usize) = (-2.5, 3.5, 241);

fn usd_pricing_curve(book: &PensionBook) -> Result<stresslab_pricing::ZeroCurve, String> {
    let c = book.market.curve(Currency::USD);
    stresslab_pricing::ZeroCurve::new(c.tenors.clone(), c.zero_rates.clone())
        .map_err(|e| e.to_string())
}

/// Tranche value per unit notional (protection − coupon × RPV01) at date `s` for an
/// index spread `spread`.
pub fn tranche_value(book: &PensionBook, spread: f64, coupon: f64, s: f64) -> Result<f64, String> {
    use stresslab_pricing::cds::{HazardCurve, PremiumSchedule};
    use stresslab_pricing::tranche::{tranche_legs, Pool, Tranche};
    let remaining = CDS_MATURITY - s;
    if remaining <= 1e-9 {
        return Ok(0.0);
    }
    let err = |e: stresslab_pricing::PricingError| e.to_string();
    let pool = Pool::LargeHomogeneous {
        hazard: HazardCurve::flat(spread / (1.0 - CDS_RECOVERY)).map_err(err)?,
        recovery: CDS_RECOVERY,
    };
    let tranche = Tranche::new(TRANCHE_ATTACHMENT, TRANCHE_DETACHMENT).map_err(err)?;
    let schedule = PremiumSchedule::regular(remaining, 4).map_err(err)?;
    let legs = tranche_legs(
        &pool,
        &tranche,
        TRANCHE_CORRELATION,
        &schedule,
        &usd_pricing_curve(book)?,
    )
    .map_err(err)?;
    Ok(legs.protection - coupon * legs.rpv01)
}

/// The tranche's fair running spread at the snapshot.
pub fn tranche_fair_spread(book: &PensionBook, index_spread: f64) -> Result<f64, String> {
    use stresslab_pricing::cds::{HazardCurve, PremiumSchedule};
    use stresslab_pricing::tranche::{tranche_legs, Pool, Tranche};
    let err = |e: stresslab_pricing::PricingError| e.to_string();
    let pool = Pool::LargeHomogeneous {
        hazard: HazardCurve::flat(index_spread / (1.0 - CDS_RECOVERY)).map_err(err)?,
        recovery: CDS_RECOVERY,
    };
    let tranche = Tranche::new(TRANCHE_ATTACHMENT, TRANCHE_DETACHMENT).map_err(err)?;
    let schedule = PremiumSchedule::regular(CDS_MATURITY, 4).map_err(err)?;
    let legs = tranche_legs(
        &pool,
        &tranche,
        TRANCHE_CORRELATION,
        &schedule,
        &usd_pricing_curve(book)?,
    )
    .map_err(err)?;
    Ok(legs.fair_spread())
}

/// The tranche grid at `dates` (years after the snapshot).
pub fn tranche_grid(
    book: &PensionBook,
    index_spread: f64,
    coupon: f64,
    dates: &[f64],
) -> Result<crate::valuation::TrancheGrid, String> {
    let (lo, hi, n) = TRANCHE_GRID_X;
    let x: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect();
    let mut values = Vec::with_capacity(dates.len() * n);
    for &s in dates {
        for &xi in &x {
            values.push(tranche_value(book, index_spread * xi.exp(), coupon, s)?);
        }
    }
    Ok(crate::valuation::TrancheGrid {
        dates: dates.to_vec(),
        x,
        values,
    })
}

/// The credit specialist's candidates: an IG index CDS offsetting half the IG bonds'
/// spread risk, single-name CDS on the five largest credit exposures, and protection on
/// the 3–7% mezzanine tranche of the index sized to the same spread risk as the index
/// hedge. `dates` are the revaluation dates the tranche grid is built at.
pub fn credit_programs(
    book: &PensionBook,
    config: &ScenarioConfig,
    dates: &[f64],
) -> Vec<HedgeProgram> {
    let assets = book.assets_usd;
    let mut out = vec![HedgeProgram::none(HedgeDesk::Credit)];
    let credit: Vec<&crate::book::BondHolding> =
        book.bonds.iter().filter(|b| b.credit.is_some()).collect();
    if credit.is_empty() {
        return out;
    }
    let ig_cs01: f64 = credit
        .iter()
        .filter(|b| {
            b.credit
                .as_ref()
                .is_some_and(|c| c.rating.investment_grade())
        })
        .map(|b| bond_cs01(book, b))
        .sum();
    let index_spread = book.market.credit_spreads[Rating::A as usize].unwrap_or(0.0085);
    if ig_cs01 > 0.0 {
        let ann = risky_annuity(book, index_spread);
        let n = INDEX_HEDGE_RATIO * ig_cs01 / (ann * 1e-4);
        let mut p = HedgeProgram::none(HedgeDesk::Credit);
        p.label = "IG index CDS 50% of CS01".into();
        p.code = "IDX".into();
        p.legs.push((
            Instrument::Cds {
                reference: CreditReference::IgIndex,
                spread0: index_spread,
                spread_beta: 1.0,
                coupon: index_spread,
                maturity: CDS_MATURITY,
                recovery: CDS_RECOVERY,
            },
            n,
        ));
        p.bid_ask_bp = n * ann * HALF_SPREAD_INDEX_CDS / assets * 1e4;
        out.push(p);
        // The tranche: same spread risk (value change for +1 bp of index spread) as the
        // index hedge above.
        if let Ok(coupon) = tranche_fair_spread(book, index_spread) {
            let bump = |sp: f64| tranche_value(book, sp, coupon, 0.0);
            if let (Ok(v0), Ok(v1), Ok(grid)) = (
                bump(index_spread),
                bump(index_spread + 1e-4),
                tranche_grid(book, index_spread, coupon, dates),
            ) {
                let tranche_cs01 = v1 - v0;
                if tranche_cs01 > 0.0 {
                    let n = INDEX_HEDGE_RATIO * ig_cs01 / tranche_cs01;
                    let mut p = HedgeProgram::none(HedgeDesk::Credit);
                    p.label = format!(
                        "{:.0}–{:.0}% IG tranche protection",
                        TRANCHE_ATTACHMENT * 100.0,
                        TRANCHE_DETACHMENT * 100.0
                    );
                    p.code = "TR".into();
                    p.legs.push((
                        Instrument::Tranche(crate::valuation::TrancheHedge {
                            attachment: TRANCHE_ATTACHMENT,
                            detachment: TRANCHE_DETACHMENT,
                            index_spread,
                            coupon,
                            maturity: CDS_MATURITY,
                            recovery: CDS_RECOVERY,
                            correlation: TRANCHE_CORRELATION,
                            grid,
                        }),
                        n,
                    ));
                    // Tranche quotes are wider: ~5 bp running on the risky annuity
                    // (assumption), here on the tranche's own RPV01 ≈ CS01 / 1 bp.
                    p.bid_ask_bp = n * (tranche_cs01 / 1e-4) * HALF_SPREAD_TRANCHE / assets * 1e4;
                    out.push(p);
                }
            }
        }
    }
    let mut by_size = credit.clone();
    by_size.sort_by(|a, b| {
        let va = a.face
            * a.flows_per_face
                .present_value(book.market.curve(a.currency), a.spread)
            * book.market.fx_spot[a.currency.index()];
        let vb = b.face
            * b.flows_per_face
                .present_value(book.market.curve(b.currency), b.spread)
            * book.market.fx_spot[b.currency.index()];
        vb.total_cmp(&va).then_with(|| a.id.cmp(&b.id))
    });
    let mut p = HedgeProgram::none(HedgeDesk::Credit);
    p.label = "single-name CDS on the top five".into();
    p.code = "5N".into();
    for b in by_size.iter().take(5) {
        let cr = b.credit.as_ref().expect("filtered on credit");
        let ann = risky_annuity(book, b.spread);
        // Notional matching the bond's spread risk.
        let n = bond_cs01(book, b) / (ann * 1e-4);
        p.legs.push((
            Instrument::Cds {
                reference: CreditReference::Name {
                    issuer: b.name.clone(),
                    rating: cr.rating,
                    sector: cr.sector,
                },
                spread0: b.spread,
                spread_beta: crate::valuation::credit_beta(config, cr.rating, cr.sector),
                coupon: b.spread,
                maturity: CDS_MATURITY,
                recovery: CDS_RECOVERY,
            },
            n,
        ));
        p.bid_ask_bp += n * ann * HALF_SPREAD_SINGLE_NAME_CDS / assets * 1e4;
    }
    out.push(p);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{prepare_book, tests::seed};

    #[test]
    fn key_rate_weights_sum_to_one_everywhere() {
        for i in 0..400 {
            let t = i as f64 * 0.1;
            let s: f64 = (0..6).map(|k| key_rate_weight(k, t)).sum();
            assert!((s - 1.0).abs() < 1e-12, "{t}: {s}");
        }
    }

    #[test]
    fn least_squares_recovers_an_exact_fit() {
        let a = [vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 1.0]];
        let x = least_squares(&a, &[2.0, -3.0, -3.0]);
        assert!((x[0] - 2.0).abs() < 1e-12 && (x[1] + 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_seed_swap_overlays_match_pv01_within_the_duration_drift_limit() {
        let book = prepare_book(&seed()).unwrap();
        for c in book.liability_currencies() {
            let o = swap_overlay(&book, c, 1.0);
            assert!(o.target_pv01 > 0.0, "{c:?}: the seed is short duration");
            assert!(
                (o.hedged_pv01 / o.target_pv01 - 1.0).abs() < 0.05,
                "{c:?}: {} vs {}",
                o.hedged_pv01,
                o.target_pv01
            );
            // Issue 8: key-rate matched with a duration drift of at most 0.25 years.
            assert!(o.drift_years <= 0.25, "{c:?}: drift {}", o.drift_years);
        }
    }

    #[test]
    fn forward_hedges_cover_their_ratio() {
        let book = prepare_book(&seed()).unwrap();
        let e = net_local_exposure(&book);
        // The seed is short EUR (EUR liabilities exceed EUR assets) and long JPY.
        assert!(e[Currency::EUR.index()] < 0.0 && e[Currency::JPY.index()] > 0.0);
        let progs = currency_programs(&book);
        let f95 = progs.iter().find(|p| p.label == "forwards 95%").unwrap();
        for (inst, n) in &f95.legs {
            let Instrument::FxForward { currency, .. } = inst else {
                panic!()
            };
            assert!((n + 0.95 * e[currency.index()]).abs() < 1e-6 * e[currency.index()].abs());
        }
        assert!(progs.iter().all(|p| p.bid_ask_bp >= 0.0));
    }
}

#[cfg(test)]
mod tranche_tests {
    use super::*;
    use crate::book::{prepare_book, tests::seed};

    /// The grid is exact at its nodes and within 0.1% of the tranche notional's value
    /// change between them (linear interpolation of a smooth function on a 0.025 step
    /// in log-spread); protection gains as spreads widen; worth nothing at inception.
    #[test]
    fn the_tranche_grid_reprices_between_its_nodes() {
        let book = prepare_book(&seed()).unwrap();
        let s0 = 0.0085;
        let coupon = tranche_fair_spread(&book, s0).unwrap();
        assert!(
            coupon > s0,
            "a mezzanine tranche pays more than its index: {coupon}"
        );
        let dates = [0.0, 0.5];
        let grid = tranche_grid(&book, s0, coupon, &dates).unwrap();
        assert!(grid.value(0, 0.0).abs() < 1e-12, "{}", grid.value(0, 0.0));
        let mut worst: f64 = 0.0;
        for i in 0..40 {
            let x = -1.0 + 0.0731 * i as f64;
            let direct = tranche_value(&book, s0 * x.exp(), coupon, 0.5).unwrap();
            worst = worst.max((grid.value(1, x) - direct).abs());
        }
        assert!(worst < 1e-3, "{worst}");
        assert!(
            grid.value(1, 1.0) > grid.value(1, 0.0) && grid.value(1, 0.0) > grid.value(1, -1.0)
        );
    }
}
