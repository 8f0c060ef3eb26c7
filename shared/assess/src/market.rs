//! The market agent: Monte Carlo VaR and ES of the portfolio over the horizon, stress
//! P&L on the named scenarios, a Greeks summary and each position's contribution to ES.
//!
//! **Method.** Factor moves over the horizon are simulated once per (model, seed,
//! simulations, horizon) and reused by every assessment ([`SimulationSet`]), by the
//! model's [`MarketModel::simulation_method`]. The calibrated model uses filtered
//! historical simulation for the daily equity/commodity/volatility block (today's EWMA
//! vols times a uniformly drawn historical day's vector of EWMA-standardised residuals,
//! h independent days summed over an h-day horizon) and draws the rates/credit and FX
//! blocks normal conditional on it, `f_o = Σ_oe Σ_ee⁻¹ f_e + L z`,
//! `L Lᵀ = h(Σ_oo − Σ_oe Σ_ee⁻¹ Σ_eo)`; the idiosyncratic draw is normal times the drawn
//! days' cross-sectional dispersion scale. A model may instead ask for
//! correlated normal draws `A z` with `A Aᵀ = h Σ` (Σ the daily factor covariance, h
//! the horizon in days: square-root-of-time) or, when the model has fat tails
//! ([`MarketModel::tail_dof`] = ν), multivariate Student-t draws `A z √((ν−2)/W)`, W ~ χ²_ν,
//! one W per simulation for the factors and the idiosyncratic draw together — the same
//! covariance, jointly heavy tails. A portfolio is then reduced to a few
//! vectors of length K (the number of factors) before it meets the simulations:
//! - linear positions (equities, bonds, FX, commodities …): P&L = Σₖ eₖ fₖ with eₖ the
//!   position's dollar sensitivity to factor k, summed over positions into one vector;
//!   their idiosyncratic returns are independent normals, so their sum is one normal
//!   with variance Σᵢ (|MVᵢ| σᵢ √h)² — one extra draw per simulation;
//! - options by their second-order expansion (delta-gamma-vega with vanna and volga) in
//!   the log-moves of their underlying and of implied vol plus the horizon's time decay
//!   ([`Expansion`]), summed per underlying into linear, quadratic and cross
//!   coefficients;
//! - options where that expansion is not good enough (it misses a ±3σ horizon move's
//!   full-revaluation P&L by more than `full_revaluation_error`, or the option expires
//!   within the horizon) are revalued in full by Black–Scholes–Merton on a grid of
//!   underlying × volatility moves spanning the simulated range (97 × 9 nodes, summed
//!   per underlying), interpolated bilinearly per simulation — or, when the option
//!   expires within the horizon, by its exact payoff per simulation; which ones, and
//!   why, is reported. Tests hold the grid to 0.2% of the option's P&L range and VaR
//!   and ES to 0.5% of brute-force revaluation on every simulation.
//!
//! So the cost per assessment is O(positions + K·simulations), with no positions ×
//! simulations matrix except one column per fully revalued option.
//!
//! **ES contributions** are Euler allocations, `E[P&Lᵢ | portfolio in its 1% tail]`
//! (Tasche 1999, "Risk contributions and performance measurement"; Hallerbach 2003),
//! computed from the tail means of the factor moves: for a linear position
//! `Σₖ eᵢₖ E[fₖ | tail]`, and for its idiosyncratic part `(vᵢ / Σⱼvⱼ) E[ε | tail]`,
//! because for independent normals `E[εᵢ | Σⱼεⱼ] = (vᵢ/Σⱼvⱼ) Σⱼεⱼ`. They add up to the
//! ES exactly, for any joint distribution of the factors (the tail means are taken of
//! the simulated moves themselves). The idiosyncratic formula needs the εᵢ jointly
//! normal given everything else: under FHS they are, given the drawn days (one normal
//! times the days' scale, the same for every position). Under the Student-t mixture this stays exact: given W, the factors and
//! the εᵢ are jointly normal with every variance scaled by the same (ν−2)/W, so
//! `E[εᵢ | Σⱼεⱼ, W] = (vᵢ/Σⱼvⱼ) Σⱼεⱼ` for every W, and hence also given the tail event.
//!
//! **VaR and ES** (Acerbi & Tasche 2002, "On the coherence of expected shortfall"): with
//! n = ⌈S(1−α)⌉ tail scenarios out of S, VaR_α is the n-th largest loss and ES_α the
//! mean of the n largest. VaR's 95% confidence interval is the order-statistic interval
//! (the binomial count of losses above it; Dowd 2005, *Measuring Market Risk*, §7.2).

use crate::model::{FactorKind, MarketModel, SimulationMethod};
use crate::portfolio::{AssetClass, OptionTerms, OptionType, Portfolio, Position};
use crate::settings::Settings;
use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use stresslab_analytics::rng::Xoshiro256;
use stresslab_analytics::stats::normal_quantile;
use stresslab_pricing::fx::{garman_kohlhagen, gk_price};
use stresslab_pricing::OptionKind;

/// Trading days a year: converts the horizon into option time and annual vols into
/// daily ones.
pub const TRADING_DAYS: f64 = 252.0;

pub const AGENT: &str = "market";
/// Bumped when the method changes the numbers; goes into the audit record (2: the
/// Student-t variance mixture of [`SimulationSet::generate`]; 3: filtered historical
/// simulation of the equity block, the other blocks conditional normal).
pub const VERSION: &str = "market/3";

/// Grid of the full revaluation: underlying log-moves × implied-vol log-moves.
const GRID_UNDERLYING: usize = 97;
const GRID_VOL: usize = 9;

/// The simulated factor moves over a horizon, factor-major (`moves[k * S + s]`) so the
/// inner loop runs over simulations with unit stride.
pub struct SimulationSet {
    pub factors: usize,
    pub simulations: usize,
    pub horizon_days: u32,
    pub seed: u64,
    /// ν of the multivariate Student-t the set was drawn from; `None`: normal.
    pub tail_dof: Option<f64>,
    pub moves: Vec<f64>,
    /// Unit-variance draw of the aggregate idiosyncratic return, per simulation: a
    /// standard normal, times the simulation's mixing factor √((ν−2)/W) under the
    /// Student-t (so it is t-distributed and shares the factors' W).
    pub idiosyncratic: Vec<f64>,
    /// Smallest and largest simulated move of each factor (the full-revaluation grid
    /// spans them, so it never extrapolates).
    pub range: Vec<(f64, f64)>,
    /// How the set was drawn (the model's [`MarketModel::simulation_method`], or
    /// `Normal` when the model asks for a method its data cannot support: a Student-t
    /// with ν ≤ 2, a filtered history missing or naming factors the model lacks).
    pub method: SimulationMethod,
    /// Filtered historical simulation: the history day (index into the model's
    /// `filtered_history.dates`) each simulation drew for each of its `horizon_days`
    /// days, `days[s * horizon_days + d]`; empty for the other methods.
    pub days: Vec<u32>,
}

impl SimulationSet {
    pub fn generate(
        model: &MarketModel,
        simulations: usize,
        horizon_days: u32,
        seed: u64,
    ) -> SimulationSet {
        if let SimulationMethod::FilteredHistorical { .. } = model.simulation_method() {
            if let Some(set) = Self::filtered_historical(model, simulations, horizon_days, seed) {
                return set;
            }
        }
        let k = model.factor_count();
        let cov = DMatrix::from_row_slice(k, k, &model.covariance) * f64::from(horizon_days);
        // Eigen-factorisation rather than Cholesky: a repaired correlation matrix may be
        // only semi-definite; A = V·diag(√λ⁺) still gives A·Aᵀ = hΣ.
        let eig = SymmetricEigen::new(cov);
        let mut a = eig.eigenvectors.clone();
        for (j, lambda) in eig.eigenvalues.iter().enumerate() {
            let root = lambda.max(0.0).sqrt();
            a.column_mut(j).scale_mut(root);
        }
        // Multivariate Student-t as a normal variance mixture (McNeil, Frey & Embrechts
        // 2015, §6.2): every draw of the simulation — factors and idiosyncratic alike — is
        // scaled by the same √((ν−2)/W), W ~ χ²_ν, so the covariance stays hΣ
        // (E[(ν−2)/W] = 1) while the tails are jointly heavy. W is the inverse χ²_ν CDF
        // of one more uniform of the same stream, drawn after the normals, so the
        // normal model's draws are unchanged and any real ν is allowed. ν is fitted on
        // one-day residuals; over an h-day horizon the one W makes the h-day move t_ν
        // too (a sum of h independent daily t's would be closer to normal, but daily
        // volatility is not independent — it clusters — and the default horizon is one
        // day), a conservative choice for h > 1.
        // ν > 2 is the model's invariant (calibration bounds it, deserialisation checks
        // it); a model built in code that breaks it has no covariance to keep, and is
        // simulated as the normal — `tail_dof` of the set says which was used.
        let dof = match model.simulation_method() {
            SimulationMethod::StudentT { dof } => Some(dof),
            _ => None,
        };
        let mixing = dof
            .filter(|nu| nu.is_finite() && *nu > 2.0)
            .and_then(|nu| ChiSquared::new(nu).ok().map(|d| (nu, d)));
        let mut rng = Xoshiro256::seed_from_u64(seed);
        let mut moves = vec![0.0; k * simulations];
        let mut idiosyncratic = vec![0.0; simulations];
        let mut z = vec![0.0; k];
        for s in 0..simulations {
            for zj in z.iter_mut() {
                *zj = rng.normal();
            }
            let idio = rng.normal();
            let scale = match &mixing {
                Some((nu, chi2)) => ((nu - 2.0) / chi2.inverse_cdf(open_uniform(&mut rng))).sqrt(),
                None => 1.0,
            };
            for i in 0..k {
                let mut x = 0.0;
                for (j, zj) in z.iter().enumerate() {
                    x += a[(i, j)] * zj;
                }
                moves[i * simulations + s] = scale * x;
            }
            idiosyncratic[s] = scale * idio;
        }
        SimulationSet {
            factors: k,
            simulations,
            horizon_days,
            seed,
            tail_dof: mixing.map(|(nu, _)| nu),
            range: move_range(&moves, k, simulations),
            moves,
            idiosyncratic,
            method: match mixing {
                Some((dof, _)) => SimulationMethod::StudentT { dof },
                None => SimulationMethod::Normal,
            },
            days: Vec::new(),
        }
    }

    /// Filtered historical simulation of the model's history block, the other factors
    /// normal conditional on it; `None` when the model has no usable history (the
    /// caller then draws the normal).
    ///
    /// Per simulation: `h` history days drawn uniformly with replacement from the
    /// stream (`Xoshiro256::below`, no modulo bias), the block's move
    /// `f_e = Σ_d σ_now ⊙ z_{t_d}`; then one normal per other factor,
    /// `f_o = B f_e + A z` with `B = Σ_oe Σ_ee⁺` and `A Aᵀ = h(Σ_oo − B Σ_eo)` (Σ the
    /// daily covariance; B does not depend on h); then the idiosyncratic normal, times
    /// `√(mean_d s_{t_d}²)` with `s_t` the day's dispersion scale. Summing h i.i.d. days
    /// costs h × (block size) operations a simulation (under 3 M for 10,000 × 10 × 28),
    /// so it is done rather than √h-scaling one day: the sum's tails thin with h as
    /// historical multi-day sums of independent days do, where √h-scaling one day would
    /// keep the one-day shape at every horizon.
    fn filtered_historical(
        model: &MarketModel,
        simulations: usize,
        horizon_days: u32,
        seed: u64,
    ) -> Option<SimulationSet> {
        let history = model.filtered_history.as_ref()?;
        history.check().ok()?;
        let k = model.factor_count();
        let e: Vec<usize> = history
            .factors
            .iter()
            .map(|n| model.factor_index(n))
            .collect::<Option<_>>()?;
        let mut in_block = vec![false; k];
        for &j in &e {
            if std::mem::replace(&mut in_block[j], true) {
                return None;
            }
        }
        let o: Vec<usize> = (0..k).filter(|&j| !in_block[j]).collect();
        let days = u32::try_from(history.days()).ok()?;
        let (m, q) = (e.len(), o.len());
        let h = f64::from(horizon_days);
        let cov = |a: usize, b: usize| model.covariance[a * k + b];
        // Σ_ee⁺ by eigen-decomposition: the repaired matrix may be only semi-definite;
        // eigenvalues below 1e-12 of the largest are treated as zero.
        let see = DMatrix::from_fn(m, m, |a, b| cov(e[a], e[b]));
        let eig = SymmetricEigen::new(see);
        let top = eig.eigenvalues.iter().fold(0.0_f64, |x, &l| x.max(l));
        let mut inv = DMatrix::<f64>::zeros(m, m);
        for (c, &l) in eig.eigenvalues.iter().enumerate() {
            if l > 1e-12 * top {
                let v = eig.eigenvectors.column(c);
                inv += (v * v.transpose()) / l;
            }
        }
        let soe = DMatrix::from_fn(q, m, |a, b| cov(o[a], e[b]));
        let b = &soe * inv;
        let mut cond = DMatrix::from_fn(q, q, |a, c| cov(o[a], o[c])) - &b * soe.transpose();
        for a in 0..q {
            for c in 0..a {
                let mean = 0.5 * (cond[(a, c)] + cond[(c, a)]);
                cond[(a, c)] = mean;
                cond[(c, a)] = mean;
            }
        }
        let eig = SymmetricEigen::new(cond * h);
        let mut a = eig.eigenvectors.clone();
        for (c, l) in eig.eigenvalues.iter().enumerate() {
            a.column_mut(c).scale_mut(l.max(0.0).sqrt());
        }
        let mut rng = Xoshiro256::seed_from_u64(seed);
        let steps = horizon_days as usize;
        let mut moves = vec![0.0; k * simulations];
        let mut idiosyncratic = vec![0.0; simulations];
        let mut drawn = Vec::with_capacity(simulations * steps);
        let mut fe = vec![0.0; m];
        let mut z = vec![0.0; q];
        for s in 0..simulations {
            fe.iter_mut().for_each(|x| *x = 0.0);
            let mut scale2 = 0.0;
            for _ in 0..steps {
                let t = rng.below(days as usize);
                drawn.push(t as u32);
                for ((x, zt), vol) in fe.iter_mut().zip(history.day(t)).zip(&history.current_vol) {
                    *x += vol * zt;
                }
                scale2 += history.idiosyncratic_scale[t].powi(2);
            }
            for zj in z.iter_mut() {
                *zj = rng.normal();
            }
            let idio = rng.normal();
            for (a_idx, &j) in e.iter().enumerate() {
                moves[j * simulations + s] = fe[a_idx];
            }
            for (r, &j) in o.iter().enumerate() {
                let mut x = 0.0;
                for (c, fc) in fe.iter().enumerate() {
                    x += b[(r, c)] * fc;
                }
                for (c, zc) in z.iter().enumerate() {
                    x += a[(r, c)] * zc;
                }
                moves[j * simulations + s] = x;
            }
            idiosyncratic[s] = idio * (scale2 / h).sqrt();
        }
        Some(SimulationSet {
            factors: k,
            simulations,
            horizon_days,
            seed,
            tail_dof: None,
            range: move_range(&moves, k, simulations),
            moves,
            idiosyncratic,
            method: model.simulation_method(),
            days: drawn,
        })
    }

    fn factor(&self, k: usize) -> &[f64] {
        &self.moves[k * self.simulations..(k + 1) * self.simulations]
    }
}

/// Smallest and largest move of each of the `k` factors of factor-major `moves`.
fn move_range(moves: &[f64], k: usize, simulations: usize) -> Vec<(f64, f64)> {
    (0..k)
        .map(|i| {
            moves[i * simulations..(i + 1) * simulations]
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                })
        })
        .collect()
}

/// A uniform on (0, 1): 0 (which the quantile functions map to −∞ or 0) is redrawn.
fn open_uniform(rng: &mut Xoshiro256) -> f64 {
    loop {
        let u = rng.uniform();
        if u > 0.0 {
            return u;
        }
    }
}

type SetKey = (String, usize, u32, u64);

/// The simulation set for these settings, generated on first use and then shared. At
/// most a few sets are kept (each is K × S × 8 bytes, 3 MB for 40 × 10,000).
pub fn simulation_set(model: &MarketModel, settings: &Settings) -> Arc<SimulationSet> {
    static CACHE: OnceLock<Mutex<HashMap<SetKey, Arc<SimulationSet>>>> = OnceLock::new();
    const KEEP: usize = 8;
    let key = (
        model.version.clone(),
        settings.simulations as usize,
        settings.horizon_days,
        settings.seed,
    );
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(set) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return set.clone();
    }
    let set = Arc::new(SimulationSet::generate(model, key.1, key.2, key.3));
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= KEEP {
        map.clear();
    }
    map.insert(key, set.clone());
    set
}

fn kind(o: &OptionTerms) -> OptionKind {
    match o.option_type {
        OptionType::Call => OptionKind::Call,
        OptionType::Put => OptionKind::Put,
    }
}

/// Value of the whole option position (quantity × Black–Scholes–Merton price) at this
/// spot and vol, `elapsed_years` after today (never past expiry: then intrinsic).
pub fn option_value(o: &OptionTerms, spot: f64, vol: f64, elapsed_years: f64) -> f64 {
    let t = (o.expiry_years - elapsed_years).max(0.0);
    o.quantity * gk_price(kind(o), spot, o.strike, o.rate, o.dividend_yield, vol, t)
}

fn d1_d2(o: &OptionTerms) -> (f64, f64) {
    let t = o.expiry_years;
    let sd = o.implied_vol * t.sqrt();
    let d1 = ((o.spot / o.strike).ln() + (o.rate - o.dividend_yield) * t) / sd + 0.5 * sd;
    (d1, d1 - sd)
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Black–Scholes–Merton gamma per unit: e^{−qT} φ(d₁) / (S σ √T).
fn option_gamma(o: &OptionTerms) -> f64 {
    let (d1, _) = d1_d2(o);
    (-o.dividend_yield * o.expiry_years).exp() * normal_pdf(d1)
        / (o.spot * o.implied_vol * o.expiry_years.sqrt())
}

/// An option's second-order (delta-gamma-vega, with vanna and volga) expansion in the
/// log-moves of its underlying (r) and of implied vol (v), over a horizon of τ years:
/// `V(S e^r, σ e^v) − V ≈ θτ + ΔS·r + ½(ΔS + ΓS²)·r² + νσ·v + ½(νσ + volga·σ²)·v² +
/// vanna·Sσ·r·v` (the chain rule of the log-moves). Black–Scholes–Merton Greeks from
/// Haug 2007, *The Complete Guide to Option Pricing Formulas*, §2.2, with
/// vanna = −e^{−qT}φ(d₁)d₂/σ and volga = ν d₁d₂/σ.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expansion {
    /// ΔS: P&L per unit log-move of the underlying.
    linear: f64,
    /// ½(ΔS + ΓS²): the second-order term in the log-move.
    quadratic: f64,
    /// ν σ: P&L per unit log-move of implied vol.
    vega: f64,
    /// ½(νσ + volga σ²).
    vol_quadratic: f64,
    /// vanna S σ: the cross term r·v.
    cross: f64,
    /// Time decay over the horizon at unchanged market.
    carry: f64,
    /// Today's value of the position (the base every revaluation is measured from).
    base: f64,
}

impl Expansion {
    fn of(o: &OptionTerms, tau: f64) -> Expansion {
        let g = garman_kohlhagen(
            kind(o),
            o.spot,
            o.strike,
            o.rate,
            o.dividend_yield,
            o.implied_vol,
            o.expiry_years,
        );
        let q = o.quantity;
        let sigma = o.implied_vol;
        let base = option_value(o, o.spot, o.implied_vol, 0.0);
        let delta_s = g.delta * o.spot;
        let gamma_s2 = option_gamma(o) * o.spot * o.spot;
        let (d1, d2) = d1_d2(o);
        let vanna = -(-o.dividend_yield * o.expiry_years).exp() * normal_pdf(d1) * d2 / sigma;
        let volga = g.vega * d1 * d2 / sigma;
        Expansion {
            linear: q * delta_s,
            quadratic: q * 0.5 * (delta_s + gamma_s2),
            vega: q * g.vega * sigma,
            vol_quadratic: q * 0.5 * (g.vega * sigma + volga * sigma * sigma),
            cross: q * vanna * o.spot * sigma,
            carry: option_value(o, o.spot, o.implied_vol, tau) - base,
            base,
        }
    }

    fn pnl(&self, r: f64, v: f64) -> f64 {
        self.carry
            + self.linear * r
            + self.quadratic * r * r
            + self.vega * v
            + self.vol_quadratic * v * v
            + self.cross * r * v
    }
}

/// Full revaluation P&L of an option position for log-moves r (underlying) and v
/// (implied vol) over τ years.
#[cfg(test)]
fn full_pnl(o: &OptionTerms, r: f64, v: f64, tau: f64) -> f64 {
    full_pnl_from(o, option_value(o, o.spot, o.implied_vol, 0.0), r, v, tau)
}

/// [`full_pnl`] with today's value already known.
fn full_pnl_from(o: &OptionTerms, base: f64, r: f64, v: f64, tau: f64) -> f64 {
    option_value(o, o.spot * r.exp(), o.implied_vol * v.exp(), tau) - base
}

/// Why an option is revalued in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum FullRevaluationReason {
    /// It expires within the VaR horizon: its payoff kinks inside the simulated range.
    ExpiresWithinHorizon { expiry_days: f64 },
    /// Delta-gamma-vega missed the full revaluation at a ±3σ horizon move by this share
    /// of the largest P&L among the ±3σ moves tried.
    ExpansionError {
        worst_relative_error: f64,
        at_underlying_move: f64,
        at_vol_move: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FullRevaluation {
    pub position_id: String,
    #[serde(flatten)]
    pub reason: FullRevaluationReason,
}

/// Decides whether delta-gamma-vega is good enough for an option: compares it with full
/// revaluation at the ±3σ horizon moves of its underlying and of implied vol, alone and
/// together (a crash with a vol spike, a rally with vol crush).
fn needs_full_revaluation(
    o: &OptionTerms,
    e: &Expansion,
    sd_underlying: f64,
    sd_vol: f64,
    tau: f64,
    tolerance: f64,
) -> Option<FullRevaluationReason> {
    if o.expiry_years <= tau {
        return Some(FullRevaluationReason::ExpiresWithinHorizon {
            expiry_days: o.expiry_years * TRADING_DAYS,
        });
    }
    let (r, v) = (3.0 * sd_underlying, 3.0 * sd_vol);
    let probes = [(-r, 0.0), (r, 0.0), (0.0, v), (0.0, -v), (-r, v), (r, -v)];
    // Errors are measured against the largest P&L among the probes, not each probe's
    // own: where delta and vega offset (a crash with a vol spike) the P&L is near zero
    // and any error would look huge relative to it.
    let mut scale = 1e-9 * o.quantity.abs() * o.spot;
    let mut worst: Option<(f64, f64, f64)> = None;
    for (dr, dv) in probes {
        let full = full_pnl_from(o, e.base, dr, dv, tau);
        scale = scale.max(full.abs());
        let err = (e.pnl(dr, dv) - full).abs();
        if worst.is_none_or(|(w, _, _)| err > w) {
            worst = Some((err, dr, dv));
        }
    }
    let worst = worst.map(|(err, dr, dv)| (err / scale, dr, dv));
    match worst {
        Some((rel, dr, dv)) if rel > tolerance => Some(FullRevaluationReason::ExpansionError {
            worst_relative_error: rel,
            at_underlying_move: dr,
            at_vol_move: dv,
        }),
        _ => None,
    }
}

/// How a position meets the simulations.
enum Treatment {
    /// Σₖ eₖ fₖ plus an idiosyncratic normal of variance `idio_var`.
    Linear {
        exposures: Vec<(usize, f64)>,
        idio_var: f64,
    },
    DeltaGamma {
        underlying: usize,
        expansion: Expansion,
    },
    /// Index into the fully revalued columns.
    Full { column: usize, base: f64 },
}

/// A bilinear full-revaluation grid: P&L over underlying × implied-vol log-moves. Built
/// per option; options on the same underlying share node positions (the simulated
/// range of that underlying and of the vol factor), so their grids add up into one and
/// the simulations are interpolated once per underlying, not once per option.
#[derive(Clone)]
struct Grid {
    underlying: usize,
    r0: f64,
    dr: f64,
    v0: f64,
    dv: f64,
    values: Vec<f64>,
    /// An option that expires within the horizon is worth its payoff there: computed
    /// exactly per simulation (a grid would smear its kink at the strike).
    expiring: Option<Payoff>,
}

#[derive(Clone, Copy)]
struct Payoff {
    spot: f64,
    strike: f64,
    sign: f64,
    quantity: f64,
    base: f64,
}

impl Payoff {
    #[inline]
    fn at(&self, r: f64) -> f64 {
        self.quantity * (self.sign * (self.spot * r.exp() - self.strike)).max(0.0) - self.base
    }
}

impl Grid {
    /// Black–Scholes–Merton on the nodes in log-moneyness form: with the spot at
    /// `S·e^r`, `ln(S e^r / K) = ln(S/K) + r`, so a node costs two Φ and no logarithm.
    fn build(
        o: &OptionTerms,
        underlying: usize,
        set: &SimulationSet,
        vol: Option<usize>,
        tau: f64,
    ) -> Grid {
        let (r_lo, r_hi) = set.range[underlying];
        let (v_lo, v_hi) = vol.map_or((0.0, 0.0), |j| set.range[j]);
        let dr = (r_hi - r_lo) / (GRID_UNDERLYING - 1) as f64;
        let dv = (v_hi - v_lo) / (GRID_VOL - 1) as f64;
        let base = option_value(o, o.spot, o.implied_vol, 0.0);
        let t = o.expiry_years - tau;
        let w = kind(o).sign();
        if t <= 0.0 {
            return Grid {
                underlying,
                r0: r_lo,
                dr,
                v0: v_lo,
                dv,
                values: Vec::new(),
                expiring: Some(Payoff {
                    spot: o.spot,
                    strike: o.strike,
                    sign: w,
                    quantity: o.quantity,
                    base,
                }),
            };
        }
        let fwd_df = (-o.dividend_yield * t.max(0.0)).exp();
        let k_df = o.strike * (-o.rate * t.max(0.0)).exp();
        let drift = (o.rate - o.dividend_yield) * t.max(0.0);
        let log_moneyness = (o.spot / o.strike).ln();
        let vols: Vec<f64> = (0..GRID_VOL)
            .map(|j| o.implied_vol * (v_lo + dv * j as f64).exp() * t.max(0.0).sqrt())
            .collect();
        let mut values = Vec::with_capacity(GRID_UNDERLYING * GRID_VOL);
        for i in 0..GRID_UNDERLYING {
            let r = r_lo + dr * i as f64;
            let spot = o.spot * r.exp();
            for &sd in &vols {
                let unit = if t <= 0.0 || sd <= 0.0 {
                    (w * (spot * fwd_df - k_df)).max(0.0)
                } else {
                    let d1 = (log_moneyness + r + drift) / sd + 0.5 * sd;
                    let d2 = d1 - sd;
                    w * (spot * fwd_df * grid_normal_cdf(w * d1) - k_df * grid_normal_cdf(w * d2))
                };
                values.push(o.quantity * unit - base);
            }
        }
        Grid {
            underlying,
            r0: r_lo,
            dr,
            v0: v_lo,
            dv,
            values,
            expiring: None,
        }
    }

    fn add(&mut self, other: &Grid) {
        for (a, b) in self.values.iter_mut().zip(&other.values) {
            *a += b;
        }
    }

    #[inline]
    fn at(&self, r: f64, v: f64) -> f64 {
        if let Some(p) = &self.expiring {
            return p.at(r);
        }
        let (j, b) = cell(v, self.v0, self.dv, GRID_VOL);
        self.at_cell(r, j, b)
    }

    /// [`Grid::at`] with the vol cell already found.
    #[inline]
    fn at_cell(&self, r: f64, j: usize, b: f64) -> f64 {
        let (i, a) = cell(r, self.r0, self.dr, GRID_UNDERLYING);
        let g = |i: usize, j: usize| self.values[i * GRID_VOL + j];
        (1.0 - a) * ((1.0 - b) * g(i, j) + b * g(i, j + 1))
            + a * ((1.0 - b) * g(i + 1, j) + b * g(i + 1, j + 1))
    }
}

/// Standard normal CDF by Hart's (1968) algorithm 5666 as given by G. West (2005),
/// "Better approximations to cumulative normal functions", Wilmott Magazine, Fig. 2:
/// double precision (tested to 1e-15 absolute against the crate's Cody-based Φ) with
/// one exponential, where the reference Φ spends four — the grid's nodes call it twice
/// each, and it was most of a 10,000-position assessment's time.
#[inline]
fn grid_normal_cdf(x: f64) -> f64 {
    let a = x.abs();
    let tail = if a > 37.0 {
        0.0
    } else {
        let e = (-0.5 * a * a).exp();
        if a < 7.071_067_811_865_47 {
            let mut n = 3.526_249_659_989_11e-2 * a + 0.700_383_064_443_688;
            n = n * a + 6.373_962_203_531_65;
            n = n * a + 33.912_866_078_383;
            n = n * a + 112.079_291_497_871;
            n = n * a + 221.213_596_169_931;
            n = n * a + 220.206_867_912_376;
            let mut d = 8.838_834_764_831_84e-2 * a + 1.755_667_163_182_64;
            d = d * a + 16.064_177_579_207;
            d = d * a + 86.780_732_202_946_1;
            d = d * a + 296.564_248_779_674;
            d = d * a + 637.333_633_378_831;
            d = d * a + 793.826_512_519_948;
            d = d * a + 440.413_735_824_752;
            e * n / d
        } else {
            let mut b = a + 0.65;
            b = a + 4.0 / b;
            b = a + 3.0 / b;
            b = a + 2.0 / b;
            b = a + 1.0 / b;
            e / b / 2.506_628_274_631
        }
    };
    if x > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Cell index and weight of x on a uniform grid of n nodes from x0 by dx (clamped).
#[inline]
fn cell(x: f64, x0: f64, dx: f64, n: usize) -> (usize, f64) {
    if dx <= 0.0 {
        return (0, 0.0);
    }
    let t = ((x - x0) / dx).clamp(0.0, (n - 1) as f64);
    let i = (t as usize).min(n - 2);
    (i, t - i as f64)
}

/// The portfolio reduced for the simulations.
struct Reduced {
    treatments: Vec<Treatment>,
    /// Σ of linear coefficients over positions (incl. options' ΔS and νσ).
    linear: Vec<f64>,
    quadratic: Vec<f64>,
    /// Coefficient of (underlying move × vol move), per underlying.
    cross: Vec<f64>,
    carry: f64,
    idio_var: f64,
    grids: Vec<Grid>,
    vol_factor: Option<usize>,
    full_revaluations: Vec<FullRevaluation>,
}

fn reduce(
    portfolio: &Portfolio,
    model: &MarketModel,
    set: &SimulationSet,
    settings: &Settings,
) -> Reduced {
    let k = model.factor_count();
    let h = f64::from(settings.horizon_days);
    let tau = h / TRADING_DAYS;
    let vol_factor = model
        .factors
        .iter()
        .position(|f| f.kind == FactorKind::VolatilityLogChange);
    let sd_vol = vol_factor.map_or(0.0, |j| model.daily_vol(j) * h.sqrt());
    let mut r = Reduced {
        treatments: Vec::with_capacity(portfolio.positions.len()),
        linear: vec![0.0; k],
        quadratic: vec![0.0; k],
        cross: vec![0.0; k],
        carry: 0.0,
        idio_var: 0.0,
        grids: Vec::new(),
        vol_factor,
        full_revaluations: Vec::new(),
    };
    let lookup = factor_lookup(model);
    for p in &portfolio.positions {
        let t = match &p.option {
            Some(o) => {
                let u = lookup[o.underlying.as_str()];
                let e = Expansion::of(o, tau);
                let sd_u = model.daily_vol(u) * h.sqrt();
                match needs_full_revaluation(
                    o,
                    &e,
                    sd_u,
                    sd_vol,
                    tau,
                    settings.full_revaluation_error,
                ) {
                    Some(reason) => {
                        r.full_revaluations.push(FullRevaluation {
                            position_id: p.id.clone(),
                            reason,
                        });
                        r.grids.push(Grid::build(o, u, set, vol_factor, tau));
                        Treatment::Full {
                            column: r.grids.len() - 1,
                            base: e.base,
                        }
                    }
                    None => {
                        r.linear[u] += e.linear;
                        r.quadratic[u] += e.quadratic;
                        if let Some(v) = vol_factor {
                            r.linear[v] += e.vega;
                            r.quadratic[v] += e.vol_quadratic;
                            r.cross[u] += e.cross;
                        }
                        r.carry += e.carry;
                        Treatment::DeltaGamma {
                            underlying: u,
                            expansion: e,
                        }
                    }
                }
            }
            None => {
                let exposures: Vec<(usize, f64)> = p
                    .exposures
                    .iter()
                    .map(|(name, e)| (lookup[name.as_str()], *e))
                    .collect();
                for &(j, e) in &exposures {
                    r.linear[j] += e;
                }
                let sd = p.market_value.abs() * p.idiosyncratic_vol * (h / TRADING_DAYS).sqrt();
                r.idio_var += sd * sd;
                Treatment::Linear {
                    exposures,
                    idio_var: sd * sd,
                }
            }
        };
        r.treatments.push(t);
    }
    r
}

/// Factor name → index, built once per call: books name factors per exposure, and a
/// linear scan of 40 names per exposure adds up over 10,000 positions.
pub fn factor_lookup(model: &MarketModel) -> std::collections::HashMap<&str, usize> {
    model
        .factors
        .iter()
        .enumerate()
        .map(|(j, f)| (f.name.as_str(), j))
        .collect()
}

/// VaR and ES at one confidence level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TailRisk {
    pub confidence: f64,
    /// Loss, USD (positive = a loss).
    pub var: f64,
    pub var_pct_nav: f64,
    /// 95% order-statistic confidence interval of the VaR estimate, USD.
    pub var_interval: (f64, f64),
    pub es: f64,
    pub es_pct_nav: f64,
    /// Monte Carlo standard error of the ES estimate (tail losses' s.d. / √n), USD.
    pub es_standard_error: f64,
    /// Scenarios in the tail.
    pub tail_scenarios: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressResult {
    pub name: String,
    pub horizon_days: u32,
    pub pnl: f64,
    pub pnl_pct_nav: f64,
    /// The positions losing most in it, worst first.
    pub worst_positions: Vec<PositionPnl>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionPnl {
    pub position_id: String,
    pub pnl: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorExposure {
    pub factor: String,
    pub kind: FactorKind,
    /// USD per unit move (returns) or per +1 bp (rates, spreads), options by delta.
    pub exposure: f64,
    /// Its stand-alone 99% VaR over the horizon (normal), USD.
    pub standalone_var99: f64,
}

/// Option Greeks of the whole book, USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionGreeks {
    pub positions: usize,
    /// Σ quantity × Δ × S: P&L of a +100% move to first order (dollar delta).
    pub dollar_delta: f64,
    /// P&L from gamma of a 1% move of every underlying: Σ ½ Γ S² (1%)².
    pub gamma_per_1pct: f64,
    /// P&L of a +1 vol point move of every implied vol.
    pub vega_per_vol_point: f64,
    /// Time decay per trading day at an unchanged market.
    pub theta_per_day: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Greeks {
    /// Net sensitivities per factor, largest stand-alone VaR first.
    pub factors: Vec<FactorExposure>,
    pub equity_delta: f64,
    pub dv01: f64,
    pub cs01: f64,
    pub fx_delta: f64,
    pub commodity_delta: f64,
    pub options: OptionGreeks,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsContribution {
    pub position_id: String,
    /// Expected loss of this position in the portfolio's ES99 tail, USD; they sum to ES99.
    pub es99: f64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketFindings {
    pub horizon_days: u32,
    pub simulations: usize,
    pub seed: u64,
    pub model_version: String,
    pub var95: TailRisk,
    pub var99: TailRisk,
    /// Expected P&L over the horizon (the options' time decay; factor means are zero).
    pub expected_pnl: f64,
    pub stress: Vec<StressResult>,
    pub greeks: Greeks,
    /// Options revalued in full instead of by delta-gamma-vega, and why.
    pub full_revaluations: Vec<FullRevaluation>,
    pub options_by_delta_gamma: usize,
    /// Every position's contribution, in portfolio order.
    pub es_contributions: Vec<EsContribution>,
    /// Mean log-move of the volatility factor in the ES99 tail: how far implied vol (and
    /// with it spreads and impact) rises in the scenarios that make the ES. Used by the
    /// consensus for the market → liquidity cross-risk adjustment.
    pub tail_vol_move: f64,
}

impl MarketFindings {
    /// The worst named stress of at most `horizon_days` (the ones a stress limit holds).
    pub fn worst_stress_within(&self, horizon_days: u32) -> Option<&StressResult> {
        self.stress
            .iter()
            .filter(|s| s.horizon_days <= horizon_days)
            .min_by(|a, b| a.pnl.total_cmp(&b.pnl))
    }
}

/// Runs the market agent.
pub fn assess(portfolio: &Portfolio, model: &MarketModel, settings: &Settings) -> MarketFindings {
    let set = simulation_set(model, settings);
    assess_with(portfolio, model, settings, &set)
}

pub fn assess_with(
    portfolio: &Portfolio,
    model: &MarketModel,
    settings: &Settings,
    set: &SimulationSet,
) -> MarketFindings {
    let reduced = reduce(portfolio, model, set, settings);
    let s = set.simulations;
    let idio_sd = reduced.idio_var.sqrt();

    // P&L per simulation: factor by factor over contiguous simulations.
    let mut pnl = vec![reduced.carry; s];
    for (k, (&lin, &quad)) in reduced.linear.iter().zip(&reduced.quadratic).enumerate() {
        if lin == 0.0 && quad == 0.0 {
            continue;
        }
        let f = set.factor(k);
        if quad == 0.0 {
            for (p, &x) in pnl.iter_mut().zip(f) {
                *p += lin * x;
            }
        } else {
            for (p, &x) in pnl.iter_mut().zip(f) {
                *p += (lin + quad * x) * x;
            }
        }
    }
    if let Some(v) = reduced.vol_factor {
        let fv = set.factor(v);
        for (u, &c) in reduced.cross.iter().enumerate() {
            if c != 0.0 {
                for ((p, &x), &w) in pnl.iter_mut().zip(set.factor(u)).zip(fv) {
                    *p += c * x * w;
                }
            }
        }
    }
    if idio_sd > 0.0 {
        for (p, &z) in pnl.iter_mut().zip(&set.idiosyncratic) {
            *p += idio_sd * z;
        }
    }
    // Fully revalued options: one summed grid per underlying, interpolated per
    // simulation.
    let mut by_underlying: Vec<Grid> = Vec::new();
    for g in reduced.grids.iter().filter(|g| g.expiring.is_none()) {
        match by_underlying
            .iter_mut()
            .find(|h| h.underlying == g.underlying)
        {
            Some(h) => h.add(g),
            None => by_underlying.push(g.clone()),
        }
    }
    let zeros = vec![0.0; s];
    let fv = reduced.vol_factor.map_or(&zeros[..], |v| set.factor(v));
    // Every grid spans the same vol nodes: each simulation's vol cell is found once.
    let vol_cells: Vec<(usize, f64)> = match by_underlying.first() {
        Some(g) => fv.iter().map(|&w| cell(w, g.v0, g.dv, GRID_VOL)).collect(),
        None => Vec::new(),
    };
    for g in &by_underlying {
        for ((p, &r), &(j, b)) in pnl.iter_mut().zip(set.factor(g.underlying)).zip(&vol_cells) {
            *p += g.at_cell(r, j, b);
        }
    }
    for g in reduced
        .grids
        .iter()
        .filter_map(|g| g.expiring.map(|e| (g.underlying, e)))
    {
        for (p, &r) in pnl.iter_mut().zip(set.factor(g.0)) {
            *p += g.1.at(r);
        }
    }

    // Losses sorted worst first, with their simulation index.
    let mut order: Vec<(f64, u32)> = pnl
        .iter()
        .enumerate()
        .map(|(i, &p)| (-p, i as u32))
        .collect();
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let nav = portfolio.nav;
    let var95 = tail_risk(&order, 0.95, nav);
    let var99 = tail_risk(&order, 0.99, nav);
    let expected_pnl = pnl.iter().sum::<f64>() / s as f64;

    // Tail means for the Euler contributions to ES99.
    let tail: Vec<usize> = order[..var99.tail_scenarios]
        .iter()
        .map(|&(_, i)| i as usize)
        .collect();
    let n_tail = tail.len() as f64;
    let tail_mean = |x: &[f64]| tail.iter().map(|&i| x[i]).sum::<f64>() / n_tail;
    let k = model.factor_count();
    let mut m1 = vec![0.0; k];
    let mut m2 = vec![0.0; k];
    for j in 0..k {
        if reduced.linear[j] != 0.0 || reduced.quadratic[j] != 0.0 {
            let f = set.factor(j);
            m1[j] = tail_mean(f);
            m2[j] = tail.iter().map(|&i| f[i] * f[i]).sum::<f64>() / n_tail;
        }
    }
    let m_idio = tail_mean(&set.idiosyncratic);
    let m_vol = reduced.vol_factor.map_or(0.0, |v| tail_mean(set.factor(v)));
    let m_vol2 = reduced.vol_factor.map_or(0.0, |v| m2[v]);
    let mut m_cross = vec![0.0; k];
    if let Some(v) = reduced.vol_factor {
        let fv = set.factor(v);
        for (u, m) in m_cross.iter_mut().enumerate() {
            if reduced.cross[u] != 0.0 {
                let fu = set.factor(u);
                *m = tail.iter().map(|&i| fu[i] * fv[i]).sum::<f64>() / n_tail;
            }
        }
    }
    let es_contributions = portfolio
        .positions
        .iter()
        .zip(&reduced.treatments)
        .map(|(p, t)| {
            let tail_pnl = match t {
                Treatment::Linear {
                    exposures,
                    idio_var,
                } => {
                    let systematic: f64 = exposures.iter().map(|&(j, e)| e * m1[j]).sum();
                    let specific = if idio_sd > 0.0 {
                        idio_var / idio_sd * m_idio
                    } else {
                        0.0
                    };
                    systematic + specific
                }
                Treatment::DeltaGamma {
                    underlying,
                    expansion,
                } => {
                    expansion.carry
                        + expansion.linear * m1[*underlying]
                        + expansion.quadratic * m2[*underlying]
                        + expansion.vega * m_vol
                        + expansion.vol_quadratic * m_vol2
                        + expansion.cross * m_cross[*underlying]
                }
                Treatment::Full { column, .. } => {
                    let g = &reduced.grids[*column];
                    let fu = set.factor(g.underlying);
                    tail.iter().map(|&i| g.at(fu[i], fv[i])).sum::<f64>() / n_tail
                }
            };
            let es99 = -tail_pnl;
            EsContribution {
                position_id: p.id.clone(),
                es99,
                share: if var99.es != 0.0 {
                    es99 / var99.es
                } else {
                    0.0
                },
            }
        })
        .collect();

    MarketFindings {
        horizon_days: settings.horizon_days,
        simulations: s,
        seed: set.seed,
        model_version: model.version.clone(),
        stress: stress(portfolio, model, &reduced),
        greeks: greeks(portfolio, model, &reduced, settings),
        options_by_delta_gamma: reduced
            .treatments
            .iter()
            .filter(|t| matches!(t, Treatment::DeltaGamma { .. }))
            .count(),
        full_revaluations: reduced.full_revaluations,
        var95,
        var99,
        expected_pnl,
        es_contributions,
        tail_vol_move: m_vol,
    }
}

fn tail_risk(order: &[(f64, u32)], confidence: f64, nav: f64) -> TailRisk {
    let s = order.len();
    let n = (((s as f64) * (1.0 - confidence)) - 1e-9).ceil().max(1.0) as usize;
    let var = order[n - 1].0;
    let tail = &order[..n];
    let es = tail.iter().map(|x| x.0).sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (tail.iter().map(|x| (x.0 - es).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    // Order-statistic interval: the count of losses above the true VaR is
    // Binomial(S, 1−α); ±1.96 of its s.d. in rank.
    let half = 1.96 * ((s as f64) * confidence * (1.0 - confidence)).sqrt();
    let rank = |r: f64| order[(r.round() as usize).clamp(1, s) - 1].0;
    TailRisk {
        confidence,
        var,
        var_pct_nav: var / nav,
        var_interval: (rank(n as f64 + half), rank(n as f64 - half)),
        es,
        es_pct_nav: es / nav,
        es_standard_error: sd / (n as f64).sqrt(),
        tail_scenarios: n,
    }
}

/// Stress P&L: linear positions by their sensitivities, every option revalued in full
/// at the scenario's moves and horizon (the moves are large: no expansion). The
/// idiosyncratic returns are zero in expectation and left out.
fn stress(portfolio: &Portfolio, model: &MarketModel, reduced: &Reduced) -> Vec<StressResult> {
    model
        .stress_scenarios
        .iter()
        .map(|sc| {
            let tau = f64::from(sc.horizon_days) / TRADING_DAYS;
            let v = reduced.vol_factor.map_or(0.0, |j| sc.moves[j]);
            let per: Vec<f64> = portfolio
                .positions
                .iter()
                .zip(&reduced.treatments)
                .map(|(p, t)| match (t, &p.option) {
                    (Treatment::Linear { exposures, .. }, _) => {
                        exposures.iter().map(|&(j, e)| e * sc.moves[j]).sum()
                    }
                    (
                        Treatment::DeltaGamma {
                            underlying,
                            expansion,
                        },
                        Some(o),
                    ) => full_pnl_from(o, expansion.base, sc.moves[*underlying], v, tau),
                    (Treatment::Full { column, base }, Some(o)) => {
                        let u = reduced.grids[*column].underlying;
                        full_pnl_from(o, *base, sc.moves[u], v, tau)
                    }
                    (_, None) => 0.0,
                })
                .collect();
            let total: f64 = per.iter().sum();
            // The five worst, by index: ids are copied for those only.
            let mut order: Vec<usize> = (0..per.len()).collect();
            let worst = 5.min(per.len());
            if worst > 0 {
                order.select_nth_unstable_by(worst - 1, |&a, &b| per[a].total_cmp(&per[b]));
                order.truncate(worst);
                order.sort_by(|&a, &b| per[a].total_cmp(&per[b]));
            }
            let per: Vec<PositionPnl> = order
                .into_iter()
                .map(|i| PositionPnl {
                    position_id: portfolio.positions[i].id.clone(),
                    pnl: per[i],
                })
                .collect();
            StressResult {
                name: sc.name.clone(),
                horizon_days: sc.horizon_days,
                pnl: total,
                pnl_pct_nav: total / portfolio.nav,
                worst_positions: per,
            }
        })
        .collect()
}

fn greeks(
    portfolio: &Portfolio,
    model: &MarketModel,
    reduced: &Reduced,
    settings: &Settings,
) -> Greeks {
    let h = f64::from(settings.horizon_days);
    let z99 = normal_quantile(0.99);
    // Net sensitivities with fully revalued options by their delta (and vega).
    let mut net = reduced.linear.clone();
    let mut options = OptionGreeks {
        positions: 0,
        dollar_delta: 0.0,
        gamma_per_1pct: 0.0,
        vega_per_vol_point: 0.0,
        theta_per_day: 0.0,
    };
    for (p, t) in portfolio.positions.iter().zip(&reduced.treatments) {
        let Some(o) = &p.option else { continue };
        let e = Expansion::of(o, 1.0 / TRADING_DAYS);
        if let Treatment::Full { column, .. } = t {
            let u = reduced.grids[*column].underlying;
            net[u] += e.linear;
            if let Some(v) = reduced.vol_factor {
                net[v] += e.vega;
            }
        }
        options.positions += 1;
        options.dollar_delta += e.linear;
        options.gamma_per_1pct += 0.5 * option_gamma(o) * o.quantity * o.spot * o.spot * 1e-4;
        let g = garman_kohlhagen(
            kind(o),
            o.spot,
            o.strike,
            o.rate,
            o.dividend_yield,
            o.implied_vol,
            o.expiry_years,
        );
        options.vega_per_vol_point += o.quantity * g.vega * 0.01;
        options.theta_per_day += e.carry;
    }
    let sum = |kind: FactorKind| -> f64 {
        model
            .factors
            .iter()
            .zip(&net)
            .filter(|(f, _)| f.kind == kind)
            .map(|(_, e)| e)
            .sum()
    };
    let (equity_delta, dv01, cs01, fx_delta, commodity_delta) = (
        sum(FactorKind::EquityReturn),
        sum(FactorKind::RateChangeBp),
        sum(FactorKind::CreditSpreadChangeBp),
        sum(FactorKind::FxReturn),
        sum(FactorKind::CommodityReturn),
    );
    let mut factors: Vec<FactorExposure> = model
        .factors
        .iter()
        .enumerate()
        .filter(|&(j, _)| net[j] != 0.0)
        .map(|(j, f)| FactorExposure {
            factor: f.name.clone(),
            kind: f.kind,
            exposure: net[j],
            standalone_var99: z99 * net[j].abs() * model.daily_vol(j) * h.sqrt(),
        })
        .collect();
    factors.sort_by(|a, b| b.standalone_var99.total_cmp(&a.standalone_var99));
    Greeks {
        factors,
        equity_delta,
        dv01,
        cs01,
        fx_delta,
        commodity_delta,
        options,
    }
}

/// Gross exposure for the leverage rule: |market value| of every position, options by
/// the absolute dollar delta of their underlying (the commitment approach, ESMA
/// 10-788 Box 2).
pub fn gross_exposure(p: &Position) -> f64 {
    match (&p.option, p.asset_class) {
        (Some(o), _) => Expansion::of(o, 0.0).linear.abs(),
        (None, AssetClass::FxForward) => p
            .exposures
            .values()
            .map(|e| e.abs())
            .sum::<f64>()
            .max(p.market_value.abs()),
        (None, _) => p.market_value.abs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_model;
    use crate::portfolio::{LiquidityTerms, Portfolio, Position};
    use std::collections::BTreeMap;

    fn linear(id: &str, mv: f64, exposures: &[(&str, f64)], idio: f64) -> Position {
        Position {
            id: id.into(),
            asset_class: AssetClass::Equity,
            market_value: mv,
            issuer: None,
            sector: None,
            exposures: exposures
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>(),
            idiosyncratic_vol: idio,
            option: None,
            credit: None,
            liquidity: Some(LiquidityTerms {
                adv: 1e9,
                spread_bp: 2.0,
            }),
        }
    }

    fn option(id: &str, terms: OptionTerms) -> Position {
        let mv = option_value(&terms, terms.spot, terms.implied_vol, 0.0);
        Position {
            id: id.into(),
            asset_class: AssetClass::EquityOption,
            market_value: mv,
            issuer: None,
            sector: None,
            exposures: BTreeMap::new(),
            idiosyncratic_vol: 0.0,
            option: Some(terms),
            credit: None,
            liquidity: Some(LiquidityTerms {
                adv: 1e8,
                spread_bp: 20.0,
            }),
        }
    }

    fn spx_option(kind: OptionType, strike: f64, expiry_years: f64, quantity: f64) -> OptionTerms {
        OptionTerms {
            underlying: "SPX".into(),
            option_type: kind,
            spot: 100.0,
            strike,
            expiry_years,
            implied_vol: 0.2,
            quantity,
            rate: 0.03,
            dividend_yield: 0.01,
        }
    }

    fn book(positions: Vec<Position>) -> Portfolio {
        Portfolio {
            portfolio_id: "test".into(),
            nav: 100e6,
            capital: None,
            positions,
            outflows: vec![],
            funding: Default::default(),
        }
    }

    fn settings(simulations: u32) -> Settings {
        Settings {
            simulations,
            ..Settings::default()
        }
    }

    /// A linear book's P&L is normal with variance eᵀΣe + Σ idio²: VaR_α = z_α σ and
    /// ES_α = σ φ(z_α)/(1−α) (closed forms), matched by the simulation within a few of
    /// its standard errors.
    #[test]
    fn linear_book_matches_the_normal_closed_form() {
        let model = test_model();
        let p = book(vec![
            linear("a", 60e6, &[("SPX", 60e6 * 1.1), ("DEM", 5e6)], 0.25),
            linear("b", 40e6, &[("UST_5Y", -35_000.0)], 0.0),
        ]);
        let s = settings(100_000);
        let m = assess(&p, &model, &s);
        let e = [66e6, 0.0, -35_000.0, 5e6];
        let mut var = 0.0;
        for i in 0..4 {
            for j in 0..4 {
                var += e[i] * e[j] * model.covariance[i * 4 + j];
            }
        }
        var += (60e6 * 0.25_f64 / 252f64.sqrt()).powi(2);
        let sigma = var.sqrt();
        for (risk, alpha) in [(&m.var95, 0.95), (&m.var99, 0.99)] {
            let z = normal_quantile(alpha);
            let es =
                sigma * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() / (1.0 - alpha);
            assert!(
                (risk.var / (z * sigma) - 1.0).abs() < 0.02,
                "VaR {alpha}: {} vs {}",
                risk.var,
                z * sigma
            );
            assert!(
                (risk.es - es).abs() < 4.0 * risk.es_standard_error,
                "ES {alpha}: {} vs {es} ± {}",
                risk.es,
                risk.es_standard_error
            );
            assert!(risk.var_interval.0 <= risk.var && risk.var <= risk.var_interval.1);
        }
    }

    /// The Euler contributions add up to the ES exactly, and for a linear book they
    /// agree with the normal closed form (Σe)ᵢ/σ · ES (Tasche 1999) within MC error.
    #[test]
    fn es_contributions_add_up_and_match_the_closed_form() {
        let model = test_model();
        let p = book(vec![
            linear("a", 50e6, &[("SPX", 50e6)], 0.3),
            linear("b", 30e6, &[("SPX", -10e6), ("UST_5Y", -30_000.0)], 0.1),
            linear("c", 20e6, &[("DEM", 20e6)], 0.0),
            option("d", spx_option(OptionType::Put, 95.0, 0.5, 50_000.0)),
        ]);
        let s = settings(100_000);
        let m = assess(&p, &model, &s);
        let total: f64 = m.es_contributions.iter().map(|c| c.es99).sum();
        assert!(
            (total / m.var99.es - 1.0).abs() < 1e-9,
            "{total} vs {}",
            m.var99.es
        );

        let lin = book(p.positions[..3].to_vec());
        let m = assess(&lin, &model, &s);
        let e: [[f64; 4]; 3] = [
            [50e6, 0., 0., 0.],
            [-10e6, 0., -30_000., 0.],
            [0., 0., 0., 20e6],
        ];
        let idio = [50e6 * 0.3 / 252f64.sqrt(), 30e6 * 0.1 / 252f64.sqrt(), 0.0];
        let tot: Vec<f64> = (0..4).map(|k| e.iter().map(|r| r[k]).sum()).collect();
        let sig_e: Vec<f64> = (0..4)
            .map(|i| (0..4).map(|j| model.covariance[i * 4 + j] * tot[j]).sum())
            .collect();
        let var: f64 = (0..4).map(|i| tot[i] * sig_e[i]).sum::<f64>()
            + idio.iter().map(|x| x * x).sum::<f64>();
        let sigma = var.sqrt();
        let z = normal_quantile(0.99);
        let es = sigma * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() / 0.01;
        for (i, c) in m.es_contributions.iter().enumerate() {
            let cov_i: f64 = (0..4).map(|k| e[i][k] * sig_e[k]).sum::<f64>() + idio[i] * idio[i];
            let expected = cov_i / var * es;
            assert!(
                (c.es99 - expected).abs() < 0.05 * es,
                "{}: {} vs {expected}",
                c.position_id,
                c.es99
            );
        }
    }

    /// The expansion's coefficients against central finite differences of the price.
    #[test]
    fn delta_gamma_vega_match_finite_differences() {
        let o = spx_option(OptionType::Call, 105.0, 0.75, 1_000.0);
        let e = Expansion::of(&o, 0.0);
        let h = 1e-4;
        let v = |r: f64, w: f64| full_pnl(&o, r, w, 0.0);
        let d1 = (v(h, 0.0) - v(-h, 0.0)) / (2.0 * h);
        let d2 = (v(h, 0.0) - 2.0 * v(0.0, 0.0) + v(-h, 0.0)) / (h * h);
        let dv = (v(0.0, h) - v(0.0, -h)) / (2.0 * h);
        assert!(
            (e.linear - d1).abs() < 1e-4 * d1.abs(),
            "{} vs {d1}",
            e.linear
        );
        assert!(
            (2.0 * e.quadratic - d2).abs() < 1e-3 * d2.abs(),
            "{} vs {d2}",
            2.0 * e.quadratic
        );
        assert!((e.vega - dv).abs() < 1e-4 * dv.abs(), "{} vs {dv}", e.vega);
        let dvv = (v(0.0, h) - 2.0 * v(0.0, 0.0) + v(0.0, -h)) / (h * h);
        let drv = (v(h, h) - v(h, -h) - v(-h, h) + v(-h, -h)) / (4.0 * h * h);
        assert!(
            (2.0 * e.vol_quadratic - dvv).abs() < 1e-3 * dvv.abs(),
            "{} vs {dvv}",
            2.0 * e.vol_quadratic
        );
        assert!(
            (e.cross - drv).abs() < 1e-3 * drv.abs(),
            "{} vs {drv}",
            e.cross
        );
    }

    /// The full-revaluation grid reproduces exact Black–Scholes revaluation on every
    /// simulated move to a small fraction of the option's P&L range.
    #[test]
    fn revaluation_grid_matches_exact_revaluation() {
        let model = test_model();
        let s = settings(2_000);
        let set = SimulationSet::generate(&model, 2_000, 1, 7);
        let o = spx_option(OptionType::Put, 100.0, 3.0 / 252.0, -2_000.0);
        let g = Grid::build(&o, 0, &set, Some(1), 1.0 / 252.0);
        let (mut worst, mut range) = (0.0_f64, 0.0_f64);
        for i in 0..set.simulations {
            let (r, v) = (set.factor(0)[i], set.factor(1)[i]);
            let exact = full_pnl(&o, r, v, 1.0 / 252.0);
            worst = worst.max((g.at(r, v) - exact).abs());
            range = range.max(exact.abs());
        }
        assert!(
            worst < 2e-3 * range,
            "grid error {worst} of a P&L range {range}"
        );
        let _ = s;
    }

    /// Short-dated at-the-money options and options expiring within the horizon are
    /// revalued in full; a long-dated one is fine by delta-gamma-vega.
    #[test]
    fn full_revaluation_is_chosen_where_the_expansion_fails() {
        let model = test_model();
        let p = book(vec![
            option(
                "long-dated",
                spx_option(OptionType::Call, 100.0, 1.0, 1_000.0),
            ),
            option(
                "expiring",
                spx_option(OptionType::Call, 100.0, 0.5 / 252.0, 1_000.0),
            ),
            option(
                "weekly-otm",
                spx_option(OptionType::Put, 96.0, 4.0 / 252.0, 1_000.0),
            ),
        ]);
        let m = assess(&p, &model, &settings(10_000));
        let ids: Vec<&str> = m
            .full_revaluations
            .iter()
            .map(|f| f.position_id.as_str())
            .collect();
        assert_eq!(ids, ["expiring", "weekly-otm"], "{:?}", m.full_revaluations);
        assert_eq!(m.options_by_delta_gamma, 1);
        assert!(matches!(
            m.full_revaluations[0].reason,
            FullRevaluationReason::ExpiresWithinHorizon { .. }
        ));
    }

    /// A book of long-dated options: delta-gamma-vega VaR within 2% of brute-force full
    /// revaluation on the same simulations.
    #[test]
    fn delta_gamma_var_agrees_with_brute_force_revaluation() {
        let model = test_model();
        let terms = [
            spx_option(OptionType::Call, 100.0, 1.0, 3_000.0),
            spx_option(OptionType::Put, 90.0, 0.5, -2_000.0),
        ];
        let p = book(
            terms
                .iter()
                .enumerate()
                .map(|(i, t)| option(&format!("o{i}"), t.clone()))
                .collect(),
        );
        let s = settings(20_000);
        let m = assess(&p, &model, &s);
        assert!(m.full_revaluations.is_empty());
        let set = simulation_set(&model, &s);
        let tau = 1.0 / 252.0;
        let mut losses: Vec<f64> = (0..set.simulations)
            .map(|i| {
                -terms
                    .iter()
                    .map(|t| full_pnl(t, set.factor(0)[i], set.factor(1)[i], tau))
                    .sum::<f64>()
            })
            .collect();
        losses.sort_by(|a, b| b.total_cmp(a));
        let brute = losses[m.var99.tail_scenarios - 1];
        assert!(
            (m.var99.var / brute - 1.0).abs() < 0.02,
            "{} vs {brute}",
            m.var99.var
        );
    }

    /// A book of short-dated options, revalued in full on the grids: VaR and ES within
    /// 0.5% of brute-force Black–Scholes revaluation of every option on every
    /// simulation, and each option's ES contribution matches its brute-force tail mean.
    #[test]
    fn full_revaluation_agrees_with_brute_force_revaluation() {
        let model = test_model();
        let terms = [
            spx_option(OptionType::Put, 98.0, 3.0 / 252.0, -5_000.0),
            spx_option(OptionType::Call, 101.0, 5.0 / 252.0, 4_000.0),
            spx_option(OptionType::Put, 100.0, 0.5 / 252.0, 3_000.0),
        ];
        let p = book(
            terms
                .iter()
                .enumerate()
                .map(|(i, t)| option(&format!("o{i}"), t.clone()))
                .collect(),
        );
        let s = settings(20_000);
        let m = assess(&p, &model, &s);
        assert_eq!(m.full_revaluations.len(), 3, "{:?}", m.full_revaluations);
        let set = simulation_set(&model, &s);
        let tau = 1.0 / 252.0;
        let per: Vec<Vec<f64>> = terms
            .iter()
            .map(|t| {
                (0..set.simulations)
                    .map(|i| full_pnl(t, set.factor(0)[i], set.factor(1)[i], tau))
                    .collect()
            })
            .collect();
        let mut order: Vec<(f64, usize)> = (0..set.simulations)
            .map(|i| (-per.iter().map(|c| c[i]).sum::<f64>(), i))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let n = m.var99.tail_scenarios;
        let brute_var = order[n - 1].0;
        let brute_es = order[..n].iter().map(|x| x.0).sum::<f64>() / n as f64;
        assert!(
            (m.var99.var / brute_var - 1.0).abs() < 0.005,
            "{} vs {brute_var}",
            m.var99.var
        );
        assert!(
            (m.var99.es / brute_es - 1.0).abs() < 0.005,
            "{} vs {brute_es}",
            m.var99.es
        );
        for (c, col) in m.es_contributions.iter().zip(&per) {
            let brute = -order[..n].iter().map(|&(_, i)| col[i]).sum::<f64>() / n as f64;
            assert!(
                (c.es99 - brute).abs() < 0.01 * brute_es,
                "{}: {} vs {brute}",
                c.position_id,
                c.es99
            );
        }
    }

    #[test]
    fn grid_normal_cdf_is_double_precision() {
        let mut worst = 0.0_f64;
        for i in -4000..=4000 {
            let x = f64::from(i) * 0.01;
            let reference = stresslab_analytics::stats::normal_cdf(x);
            worst = worst.max((grid_normal_cdf(x) - reference).abs());
        }
        assert!(worst < 1e-15, "{worst}");
        assert_eq!(grid_normal_cdf(-40.0), 0.0);
        assert_eq!(grid_normal_cdf(40.0), 1.0);
    }

    #[test]
    fn stress_pnl_is_exposure_times_move_and_options_in_full() {
        let model = test_model();
        let put = spx_option(OptionType::Put, 95.0, 0.5, 10_000.0);
        let p = book(vec![
            linear("a", 50e6, &[("SPX", 50e6), ("UST_5Y", -20_000.0)], 0.2),
            option("p", put.clone()),
        ]);
        let m = assess(&p, &model, &settings(1_000));
        let sc = &m.stress[0];
        let linear = 50e6 * -0.10 + -20_000.0 * -20.0;
        let opt = full_pnl(&put, -0.10, 0.5, 21.0 / 252.0);
        assert!((sc.pnl - (linear + opt)).abs() < 1e-6 * linear.abs());
        assert_eq!(sc.worst_positions[0].position_id, "a");
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let model = test_model();
        let p = book(vec![linear("a", 50e6, &[("SPX", 50e6)], 0.2)]);
        let a = assess(&p, &model, &settings(5_000));
        let b = assess_with(
            &p,
            &model,
            &settings(5_000),
            &SimulationSet::generate(&model, 5_000, 1, 42),
        );
        assert_eq!(a, b);
    }
    /// Under the multivariate Student-t (ν = 5) a linear book's P&L is σ·T with T the
    /// standardized t: VaR_α = σ√((ν−2)/ν) t_ν⁻¹(α) and ES_α = σ√((ν−2)/ν)
    /// g_ν(t_ν⁻¹(α))/(1−α) · (ν + t_ν⁻¹(α)²)/(ν−1) (McNeil, Frey & Embrechts 2015, (2.23)),
    /// the covariance unchanged; the simulation matches within its error.
    #[test]
    fn linear_book_matches_the_student_t_closed_form() {
        let model = MarketModel {
            tail_dof: Some(5.0),
            ..test_model()
        };
        let p = book(vec![
            linear("a", 60e6, &[("SPX", 60e6 * 1.1), ("DEM", 5e6)], 0.25),
            linear("b", 40e6, &[("UST_5Y", -35_000.0)], 0.0),
        ]);
        let s = settings(100_000);
        let set = SimulationSet::generate(&model, 100_000, 1, s.seed);
        assert_eq!(set.tail_dof, Some(5.0));
        let m = assess_with(&p, &model, &s, &set);
        let e = [66e6, 0.0, -35_000.0, 5e6];
        let mut var = 0.0;
        for i in 0..4 {
            for j in 0..4 {
                var += e[i] * e[j] * model.covariance[i * 4 + j];
            }
        }
        var += (60e6 * 0.25_f64 / 252f64.sqrt()).powi(2);
        let sigma = var.sqrt();
        // scipy 1.17: q = t.ppf(a, 5); sqrt(3/5)*q and
        // sqrt(3/5)*t.pdf(q, 5)/(1-a)*(5+q*q)/4 (checked by quad of x·t.pdf over the tail).
        let closed = [
            (&m.var95, 1.5608497583442291, 2.23868425546152, 0.03),
            (&m.var99, 2.606463569384279, 3.448836760048015, 0.05),
        ];
        for (risk, q, es, tol) in closed {
            assert!(
                (risk.var / (q * sigma) - 1.0).abs() < tol,
                "VaR {}: {} vs {}",
                risk.confidence,
                risk.var,
                q * sigma
            );
            assert!(
                (risk.es - es * sigma).abs() < 4.0 * risk.es_standard_error,
                "ES {}: {} vs {} ± {}",
                risk.confidence,
                risk.es,
                es * sigma,
                risk.es_standard_error
            );
        }
        // Fatter than the normal at 99% (z = 2.326), thinner at 95% (1.645): the
        // mixture moves mass into the tails without changing the variance.
        assert!(m.var99.var > 1.06 * 2.3263478740408408 * sigma);
        assert!(m.var95.var < 0.98 * 1.6448536269514722 * sigma);
        // The P&L variance is still eᵀΣe + idio² (t₅'s sample variance has a relative
        // s.d. of about 1% at 100,000 draws).
        let pnl: Vec<f64> = (0..set.simulations)
            .map(|i| {
                66e6 * set.moves[i] - 35_000.0 * set.moves[2 * set.simulations + i]
                    + 5e6 * set.moves[3 * set.simulations + i]
                    + 60e6 * 0.25 / 252f64.sqrt() * set.idiosyncratic[i]
            })
            .collect();
        let v = pnl.iter().map(|x| x * x).sum::<f64>() / pnl.len() as f64;
        assert!((v / var - 1.0).abs() < 0.04, "{v} vs {var}");
        // The Euler contributions still add up to the ES.
        let total: f64 = m.es_contributions.iter().map(|c| c.es99).sum();
        assert!((total - m.var99.es).abs() < 1e-6 * m.var99.es);
        // Deterministic: the same seed draws the same set.
        let again = SimulationSet::generate(&model, 100_000, 1, s.seed);
        assert_eq!(again.moves, set.moves);
        assert_eq!(again.idiosyncratic, set.idiosyncratic);
    }

    #[test]
    fn the_normal_model_draws_are_unchanged_and_bad_tail_dof_is_refused() {
        // The mixing uniform comes after a simulation's normals: with tail_dof None the
        // stream is the plain normal one, and the t set's first simulation is the normal
        // set's first, scaled by one positive factor (later ones differ, since each t
        // simulation takes one more uniform from the stream).
        let normal = test_model();
        let t = MarketModel {
            tail_dof: Some(8.0),
            ..test_model()
        };
        let a = SimulationSet::generate(&normal, 1_000, 1, 5);
        let b = SimulationSet::generate(&t, 1_000, 1, 5);
        assert_eq!(a.tail_dof, None);
        let ratio = b.idiosyncratic[0] / a.idiosyncratic[0];
        assert!(ratio > 0.0 && ratio != 1.0);
        for k in 0..4 {
            let (x, y) = (a.moves[k * 1_000], b.moves[k * 1_000]);
            assert!((y - ratio * x).abs() <= 1e-12 * y.abs());
        }
        // Deserialising a model with ν ≤ 2 is an error naming the field.
        let mut json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["tail_dof"], 8.0);
        json["tail_dof"] = serde_json::json!(2.0);
        let err = serde_json::from_value::<MarketModel>(json).unwrap_err();
        assert!(err.to_string().contains("tail_dof"), "{err}");
        // Absent: normal.
        let mut json = serde_json::to_value(&normal).unwrap();
        assert!(json.get("tail_dof").is_none());
        json.as_object_mut().unwrap().remove("tail_dof");
        assert_eq!(serde_json::from_value::<MarketModel>(json).unwrap(), normal);
    }

    fn fhs_model() -> &'static MarketModel {
        crate::calibrate::shared().unwrap()
    }

    /// A simulation's equity-block moves are σ_now ⊙ z_t for the day it drew (the sum
    /// over its days for h > 1), bit for bit; σ_now are the model's vols; the same seed
    /// draws the same set.
    #[test]
    fn fhs_draws_reproduce_the_stored_residual_vectors() {
        let model = fhs_model();
        let h = model.filtered_history.as_ref().unwrap();
        assert_eq!(h.factors.len(), 28);
        assert_eq!(h.factors[20], "SPX");
        assert!(h.days() > 1_200, "{} days", h.days());
        for (j, name) in h.factors.iter().enumerate() {
            let vol = model.daily_vol(model.factor_index(name).unwrap());
            assert!((h.current_vol[j] / vol - 1.0).abs() < 1e-12, "{name}");
        }
        for horizon in [1u32, 3] {
            let set = SimulationSet::generate(model, 2_000, horizon, 11);
            assert_eq!(
                set.method,
                SimulationMethod::FilteredHistorical { window_years: 5 }
            );
            assert_eq!(set.days.len(), 2_000 * horizon as usize);
            for s in 0..set.simulations {
                let days = &set.days[s * horizon as usize..(s + 1) * horizon as usize];
                for (j, name) in h.factors.iter().enumerate() {
                    let k = model.factor_index(name).unwrap();
                    let mut expected = 0.0;
                    for &t in days {
                        expected += h.current_vol[j] * h.day(t as usize)[j];
                    }
                    assert_eq!(set.moves[k * set.simulations + s], expected);
                }
            }
            // Days are drawn across the whole window.
            let distinct: std::collections::HashSet<u32> = set.days.iter().copied().collect();
            assert!(distinct.len() > h.days() / 2);
            let again = SimulationSet::generate(model, 2_000, horizon, 11);
            assert_eq!(again.moves, set.moves);
            assert_eq!(again.idiosyncratic, set.idiosyncratic);
            assert_eq!(again.days, set.days);
            let other = SimulationSet::generate(model, 2_000, horizon, 12);
            assert_ne!(other.days, set.days);
        }
    }

    /// The conditional-normal blocks' covariance with the equity block is
    /// Σ_oe Σ_ee⁻¹ Cov(f_e) (Cov the simulated, historical-filtered one) within Monte
    /// Carlo error, and their own variance Σ_oe Σ_ee⁻¹ Cov(f_e) Σ_ee⁻¹ Σ_eo + the
    /// conditional variance; B computed here by an LU solve, not the eigen pseudo-inverse.
    #[test]
    fn conditional_blocks_keep_the_model_covariance_given_the_equity_draw() {
        let model = fhs_model();
        let k = model.factor_count();
        let hist = model.filtered_history.as_ref().unwrap();
        let e: Vec<usize> = hist
            .factors
            .iter()
            .map(|n| model.factor_index(n).unwrap())
            .collect();
        let o: Vec<usize> = (0..k).filter(|j| !e.contains(j)).collect();
        let (m, q) = (e.len(), o.len());
        assert_eq!(q, 12);
        let sims = 40_000;
        let set = SimulationSet::generate(model, sims, 1, 3);
        let cov = |a: usize, b: usize| model.covariance[a * k + b];
        let see = DMatrix::from_fn(m, m, |a, b| cov(e[a], e[b]));
        let seo = DMatrix::from_fn(m, q, |a, b| cov(e[a], o[b]));
        // B = Σ_oe Σ_ee⁻¹ = (Σ_ee⁻¹ Σ_eo)ᵀ.
        let b = see.lu().solve(&seo).unwrap().transpose();
        let mean = |j: usize| set.factor(j).iter().sum::<f64>() / sims as f64;
        let means: Vec<f64> = (0..k).map(mean).collect();
        let scov = |a: usize, c: usize| {
            set.factor(a)
                .iter()
                .zip(set.factor(c))
                .map(|(x, y)| (x - means[a]) * (y - means[c]))
                .sum::<f64>()
                / (sims - 1) as f64
        };
        let cee = DMatrix::from_fn(m, m, |a, c| scov(e[a], e[c]));
        let implied = &b * &cee;
        let mut worst: f64 = 0.0;
        for (r, &oj) in o.iter().enumerate() {
            let cond_var = cov(oj, oj) - (b.row(r) * seo.column(r))[(0, 0)];
            for (c, &ej) in e.iter().enumerate() {
                let got = scov(oj, ej);
                // s.d. of the sample covariance of the independent normal part with f_e.
                let sd = (cond_var * cee[(c, c)] / sims as f64).sqrt();
                let dev = (got - implied[(r, c)]) / sd;
                worst = worst.max(dev.abs());
                assert!(dev.abs() < 5.0, "{} × {}: {dev:.2} s.d.", oj, ej);
            }
            let var_implied = (b.row(r) * &cee * b.row(r).transpose())[(0, 0)] + cond_var;
            let v = scov(oj, oj);
            assert!(
                (v / var_implied - 1.0).abs() < 0.04,
                "{}: {v} vs {var_implied}",
                model.factors[oj].name
            );
        }
        assert!(worst > 0.0);
        // The idiosyncratic draw has unit variance on average (the dispersion scale is
        // normalised to a mean square of 1 and drawn uniformly).
        let v = set.idiosyncratic.iter().map(|x| x * x).sum::<f64>() / sims as f64;
        assert!((v - 1.0).abs() < 0.05, "{v}");
    }

    /// SPX alone: the simulated 99% VaR is σ_now(SPX) × minus the 1% quantile of the
    /// stored SPX residuals, to the discreteness of the window (10,000 draws put the
    /// 100th-worst between its 0.6% and 1.4% quantiles with > 99.99% probability).
    #[test]
    fn spx_var_is_todays_vol_times_the_residual_quantile() {
        let model = fhs_model();
        let hist = model.filtered_history.as_ref().unwrap();
        let j = hist.factors.iter().position(|n| n == "SPX").unwrap();
        let mut z: Vec<f64> = (0..hist.days()).map(|t| hist.day(t)[j]).collect();
        z.sort_unstable_by(f64::total_cmp);
        let n = z.len();
        // numpy's default (type 7) quantile.
        let quantile = |p: f64| {
            let h = (n - 1) as f64 * p;
            let lo = h.floor() as usize;
            z[lo] + (h - lo as f64) * (z[lo + 1] - z[lo])
        };
        let p = book(vec![linear("spx", 100e6, &[("SPX", 100e6)], 0.0)]);
        let m = assess(&p, model, &settings(10_000));
        let sigma = hist.current_vol[j] * 100e6;
        let got = m.var99.var / sigma;
        let (lo, hi) = (-quantile(0.014), -quantile(0.006));
        assert!(lo < got && got < hi, "{got} not in ({lo}, {hi})");
        assert!(
            (got / -quantile(0.01) - 1.0).abs() < 0.08,
            "{got} vs {}",
            -quantile(0.01)
        );
        // Fatter than the normal at 99% with the same vol (the residuals' 1% quantile
        // is below −2.33).
        assert!(-quantile(0.01) > 2.33 && got > 2.33, "{got}");
        // A VaR is a historical residual times today's vol: the 100th-worst move is one
        // of the stored days'.
        let moves = SimulationSet::generate(model, 10_000, 1, 42);
        let spx = model.factor_index("SPX").unwrap();
        let mut pnl: Vec<f64> = moves.factor(spx).iter().map(|x| x * 100e6).collect();
        pnl.sort_unstable_by(f64::total_cmp);
        let r = -pnl[99] / sigma;
        assert!(z.iter().any(|x| (-x - r).abs() < 1e-12 * r), "{r}");
        assert!((m.var99.var - -pnl[99]).abs() < 1e-6 * m.var99.var);
    }

    /// Euler ES contributions add up exactly under FHS, across blocks and with
    /// idiosyncratic risk.
    #[test]
    fn fhs_es_contributions_add_up() {
        let model = fhs_model();
        let p = book(vec![
            linear("a", 40e6, &[("AAPL", 40e6)], 0.25),
            linear("b", 30e6, &[("SPX", 30e6), ("JPY", 5e6)], 0.1),
            linear(
                "c",
                30e6,
                &[("UST_10Y", -30_000.0), ("BAA_AAA", -10_000.0)],
                0.05,
            ),
            option("d", spx_option(OptionType::Put, 95.0, 0.5, -2e5)),
        ]);
        for horizon in [1, 10] {
            let s = Settings {
                horizon_days: horizon,
                ..settings(10_000)
            };
            let m = assess(&p, model, &s);
            let total: f64 = m.es_contributions.iter().map(|c| c.es99).sum();
            assert!(
                (total - m.var99.es).abs() < 1e-6 * m.var99.es,
                "{total} vs {}",
                m.var99.es
            );
            assert!(m.var99.var > m.var95.var && m.var99.es > m.var99.var);
        }
    }

    /// The model's method: legacy models (no `simulation`) read `tail_dof`; a bad
    /// filtered history is refused naming the field; a history the model cannot place
    /// falls back to the normal and the set says so.
    #[test]
    fn simulation_method_round_trips_and_bad_history_is_refused() {
        assert_eq!(test_model().simulation_method(), SimulationMethod::Normal);
        let t = MarketModel {
            tail_dof: Some(6.0),
            ..test_model()
        };
        assert_eq!(
            t.simulation_method(),
            SimulationMethod::StudentT { dof: 6.0 }
        );
        let set = SimulationSet::generate(&t, 100, 1, 1);
        assert_eq!(set.method, SimulationMethod::StudentT { dof: 6.0 });
        assert!(set.days.is_empty());
        let model = fhs_model();
        let json = serde_json::to_value(model).unwrap();
        assert_eq!(json["simulation"]["method"], "filtered_historical");
        assert_eq!(json["simulation"]["window_years"], 5);
        let back: MarketModel = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(&back, model);
        let mut bad = json.clone();
        bad["filtered_history"]["current_vol"] = serde_json::json!([0.01]);
        let err = serde_json::from_value::<MarketModel>(bad).unwrap_err();
        assert!(
            err.to_string().contains("filtered_history: current_vol"),
            "{err}"
        );
        let mut stray = model.clone();
        if let Some(h) = stray.filtered_history.as_mut() {
            h.factors[0] = "NOT_A_FACTOR".into();
        }
        let set = SimulationSet::generate(&stray, 100, 1, 1);
        assert_eq!(set.method, SimulationMethod::Normal);
        assert!(set.days.is_empty());
    }
}
