//! Synthetic CDO tranches under the one-factor Gaussian copula (Li, "On Default
//! Correlation: A Copula Function Approach", Journal of Fixed Income 9(4), 2000).
//!
//! Name i defaults by t when √ρ·M + √(1−ρ)·εᵢ < Φ⁻¹(pᵢ(t)), M and εᵢ independent
//! standard normals, so conditional on the common factor M the defaults are
//! independent with pᵢ(t|M) = Φ((Φ⁻¹(pᵢ(t)) − √ρ·M)/√(1−ρ)).
//!
//! Two pools:
//! - Large homogeneous pool (Vasicek, "Loan portfolio value", Risk, Dec 2002): the pool
//!   loss given M is deterministic, L(M) = (1−R)·p(t|M). The expected tranche loss is
//!   Φ(M_D) + ∫_{M_D}^{M_A} (L(M) − A)/(D − A) φ(M) dM, where L(M_K) = K; the integrand is
//!   smooth between the two kinks, so a 64-point Gauss–Legendre rule on that interval is
//!   exact to ~1e-12.
//! - Finite pool, homogeneous or not: Andersen, Sidenius & Basu, "All your hedges in one
//!   basket", Risk, Nov 2003 — conditional on M the loss distribution on a grid of loss
//!   units is built name by name, P⁽ⁱ⁾(k) = P⁽ⁱ⁻¹⁾(k)(1 − pᵢ) + P⁽ⁱ⁻¹⁾(k − uᵢ)pᵢ, then
//!   integrated over M. Two rules ([`FactorQuadrature`]): 64-point Gauss–Hermite, as in
//!   ASB, and — the default — composite 8-point Gauss–Legendre on 32 panels over
//!   [−8, 8]. Why the default is not Gauss–Hermite: as the pool grows the conditional
//!   tranche loss approaches a kinked function of M, and Hermite nodes are too sparse
//!   where the kinks sit. Against adaptive quadrature (scipy) for a 3–7% tranche at
//!   ρ = 0.3: 125 names, Hermite-64 errs by 1.3e-5, the composite rule by 1e-14; 800
//!   names, 1.8e-3 vs 3e-9 (`tests/oracle/tranche_oracle.py`). The loss unit is the
//!   smallest name loss (1−Rᵢ)wᵢ; other names' losses are rounded to whole units
//!   (exact for a homogeneous pool, stated as an approximation otherwise).
//!
//! ρ = 0 and ρ = 1 are handled exactly (independence; comonotone defaults, where names
//! default in order of their default probability as one uniform U = Φ(M) falls).
//!
//! Tranche legs per unit tranche notional on a premium schedule (mid-point
//! discretisation as in [`crate::cds`]): protection = Σ (ELⱼ − ELⱼ₋₁)·P(mⱼ);
//! RPV01 = Σ τⱼ·P(payⱼ)·(1 − (ELⱼ₋₁ + ELⱼ)/2), the premium accruing on the average
//! outstanding notional; fair spread = protection / RPV01. EL is the expected loss of the
//! tranche as a fraction of its notional, losses net of recovery.

use std::sync::OnceLock;

use crate::cds::{check_recovery, CdsLegs, HazardCurve, PremiumSchedule};
use crate::curve::DiscountCurve;
use crate::math::{norm_cdf, norm_inv};
use crate::{invalid, PricingError};

/// A tranche [attachment, detachment] as fractions of the pool notional.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tranche {
    attachment: f64,
    detachment: f64,
}

impl Tranche {
    pub fn new(attachment: f64, detachment: f64) -> Result<Self, PricingError> {
        if !(0.0..1.0).contains(&attachment) {
            return Err(invalid("attachment", "must be in [0, 1)"));
        }
        if !(detachment > attachment && detachment <= 1.0) {
            return Err(invalid("detachment", "must be in (attachment, 1]"));
        }
        Ok(Self {
            attachment,
            detachment,
        })
    }

    pub fn attachment(&self) -> f64 {
        self.attachment
    }

    pub fn detachment(&self) -> f64 {
        self.detachment
    }

    /// Tranche loss as a fraction of tranche notional for a pool loss fraction.
    #[inline]
    pub fn loss_fraction(&self, pool_loss: f64) -> f64 {
        ((pool_loss - self.attachment) / (self.detachment - self.attachment)).clamp(0.0, 1.0)
    }
}

fn check_rho(rho: f64) -> Result<(), PricingError> {
    if !(0.0..=1.0).contains(&rho) {
        return Err(invalid("rho", "correlation must be in [0, 1]"));
    }
    Ok(())
}

/// Vasicek large-homogeneous-pool expected tranche loss (fraction of tranche notional)
/// for a pool default probability `default_probability` by the horizon.
pub fn lhp_expected_tranche_loss(
    tranche: &Tranche,
    default_probability: f64,
    recovery: f64,
    rho: f64,
) -> Result<f64, PricingError> {
    check_rho(rho)?;
    check_recovery(recovery)?;
    if !(0.0..=1.0).contains(&default_probability) {
        return Err(invalid("default_probability", "must be in [0, 1]"));
    }
    let lgd = 1.0 - recovery;
    let p = default_probability;
    if rho == 0.0 || p == 0.0 || p == 1.0 {
        return Ok(tranche.loss_fraction(lgd * p));
    }
    if rho == 1.0 {
        return Ok(p * tranche.loss_fraction(lgd));
    }
    let c = norm_inv(p);
    let (sr, sq) = (rho.sqrt(), (1.0 - rho).sqrt());
    // Factor level at which the pool loss equals K (loss decreases in M).
    let kink = |k: f64| -> f64 {
        if k <= 0.0 {
            f64::INFINITY
        } else if k >= lgd {
            f64::NEG_INFINITY
        } else {
            (c - sq * norm_inv(k / lgd)) / sr
        }
    };
    const FACTOR_RANGE: f64 = 12.0; // Φ(−12) ≈ 2e-33: beyond it the mass is nil.
    let m_d = kink(tranche.detachment).max(-FACTOR_RANGE);
    let m_a = kink(tranche.attachment).min(FACTOR_RANGE);
    let mut el = norm_cdf(m_d);
    if m_a > m_d {
        let (nodes, weights) = gauss_legendre();
        let (half, centre) = (0.5 * (m_a - m_d), 0.5 * (m_a + m_d));
        let mut integral = 0.0;
        for (&x, &w) in nodes.iter().zip(weights) {
            let m = centre + half * x;
            let loss = lgd * norm_cdf((c - sr * m) / sq);
            integral += w * tranche.loss_fraction(loss) * crate::math::norm_pdf(m);
        }
        el += half * integral;
    }
    Ok(el.clamp(0.0, 1.0))
}

/// A name of a finite pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolName {
    /// Share of the pool notional (the pool's weights are normalised to sum to 1).
    pub weight: f64,
    pub recovery: f64,
    pub hazard: HazardCurve,
}

/// Quadrature over the common factor for a finite pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FactorQuadrature {
    /// 64-point Gauss–Hermite (ASB 2003): fine for small pools, coarse beyond ~100 names.
    GaussHermite64,
    /// Composite 8-point Gauss–Legendre on 32 equal panels of [−8, 8] (256 nodes).
    #[default]
    CompositeGaussLegendre,
}

/// A finite pool for the ASB recursion, with losses on an integer grid.
#[derive(Debug, Clone, PartialEq)]
pub struct FinitePool {
    quadrature: FactorQuadrature,
    names: Vec<PoolName>,
    /// Loss of each name in grid units.
    units: Vec<usize>,
    /// Pool-loss fraction of one grid unit.
    loss_unit: f64,
}

impl FinitePool {
    pub fn new(names: Vec<PoolName>) -> Result<Self, PricingError> {
        if names.is_empty() {
            return Err(invalid("names", "a pool needs at least one name"));
        }
        for n in &names {
            check_recovery(n.recovery)?;
            if !(n.weight > 0.0 && n.weight.is_finite()) {
                return Err(invalid("names.weight", "must be positive and finite"));
            }
        }
        let total: f64 = names.iter().map(|n| n.weight).sum();
        let losses: Vec<f64> = names
            .iter()
            .map(|n| (1.0 - n.recovery) * n.weight / total)
            .collect();
        let loss_unit = losses.iter().copied().fold(f64::INFINITY, f64::min);
        let units: Vec<usize> = losses
            .iter()
            .map(|l| (l / loss_unit).round().max(1.0) as usize)
            .collect();
        if units.iter().sum::<usize>() > 1_000_000 {
            return Err(invalid(
                "names.weight",
                "name losses are too dispersed for the loss grid (over 10⁶ units)",
            ));
        }
        Ok(Self {
            quadrature: FactorQuadrature::default(),
            names,
            units,
            loss_unit,
        })
    }

    /// The same pool integrated with another factor quadrature.
    pub fn with_quadrature(mut self, quadrature: FactorQuadrature) -> Self {
        self.quadrature = quadrature;
        self
    }

    /// A homogeneous pool of `n` names on one hazard curve.
    pub fn homogeneous(n: usize, recovery: f64, hazard: HazardCurve) -> Result<Self, PricingError> {
        Self::new(vec![
            PoolName {
                weight: 1.0,
                recovery,
                hazard
            };
            n
        ])
    }

    /// Expected tranche loss by `t` (fraction of tranche notional).
    pub fn expected_tranche_loss(
        &self,
        tranche: &Tranche,
        rho: f64,
        t: f64,
    ) -> Result<f64, PricingError> {
        check_rho(rho)?;
        let probs: Vec<f64> = self
            .names
            .iter()
            .map(|n| n.hazard.default_probability(t))
            .collect();
        if rho == 1.0 {
            return Ok(self.comonotone_loss(tranche, &probs));
        }
        let thresholds: Vec<f64> = probs.iter().map(|&p| norm_inv(p)).collect();
        let max_units: usize = self.units.iter().sum();
        let mut dist = vec![0.0; max_units + 1];
        let (sr, sq) = (rho.sqrt(), (1.0 - rho).sqrt());
        // At ρ = 0 the conditional probabilities do not depend on M: one node is exact.
        let (nodes, weights) = if rho == 0.0 {
            (&[0.0][..], &[1.0][..])
        } else {
            match self.quadrature {
                FactorQuadrature::GaussHermite64 => gauss_hermite(),
                FactorQuadrature::CompositeGaussLegendre => composite_legendre_factor_rule(),
            }
        };
        let mut el = 0.0;
        for (&m, &w) in nodes.iter().zip(weights) {
            dist.fill(0.0);
            dist[0] = 1.0;
            let mut reach = 0;
            for (&c, &u) in thresholds.iter().zip(&self.units) {
                let pm = norm_cdf((c - sr * m) / sq);
                reach += u;
                // Add the name's loss: iterate downwards so P(k − u) is still the old one.
                for k in (0..=reach).rev() {
                    let survive = dist[k] * (1.0 - pm);
                    let default = if k >= u { dist[k - u] * pm } else { 0.0 };
                    dist[k] = survive + default;
                }
            }
            let conditional: f64 = dist
                .iter()
                .enumerate()
                .map(|(k, &pk)| pk * tranche.loss_fraction(k as f64 * self.loss_unit))
                .sum();
            el += w * conditional;
        }
        Ok(el.clamp(0.0, 1.0))
    }

    /// ρ = 1: name i defaults iff U < pᵢ for one uniform U.
    fn comonotone_loss(&self, tranche: &Tranche, probs: &[f64]) -> f64 {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let mut el = 0.0;
        let mut cumulative_units = 0;
        for (rank, &i) in order.iter().enumerate() {
            cumulative_units += self.units[i];
            let next = order.get(rank + 1).map_or(0.0, |&j| probs[j]);
            el +=
                (probs[i] - next) * tranche.loss_fraction(cumulative_units as f64 * self.loss_unit);
        }
        el
    }
}

/// The pool behind a tranche.
#[derive(Debug, Clone, PartialEq)]
pub enum Pool {
    /// Vasicek's limit: infinitely many equal names on one hazard curve.
    LargeHomogeneous { hazard: HazardCurve, recovery: f64 },
    /// Named constituents, ASB recursion.
    Finite(FinitePool),
}

impl Pool {
    /// Expected tranche loss by `t` (fraction of tranche notional).
    pub fn expected_tranche_loss(
        &self,
        tranche: &Tranche,
        rho: f64,
        t: f64,
    ) -> Result<f64, PricingError> {
        match self {
            Pool::LargeHomogeneous { hazard, recovery } => {
                lhp_expected_tranche_loss(tranche, hazard.default_probability(t), *recovery, rho)
            }
            Pool::Finite(pool) => pool.expected_tranche_loss(tranche, rho, t),
        }
    }
}

/// Protection leg and RPV01 of a tranche (per unit tranche notional).
pub fn tranche_legs(
    pool: &Pool,
    tranche: &Tranche,
    rho: f64,
    schedule: &PremiumSchedule,
    discount: &impl DiscountCurve,
) -> Result<CdsLegs, PricingError> {
    let (mut protection, mut rpv01) = (0.0, 0.0);
    let mut el_prev: Option<f64> = None;
    for p in schedule.periods() {
        if p.payment <= 0.0 {
            continue;
        }
        let start = p.accrual_start.max(0.0);
        let el_start = match el_prev {
            Some(v) => v,
            None => pool.expected_tranche_loss(tranche, rho, start)?,
        };
        let el_end = pool.expected_tranche_loss(tranche, rho, p.accrual_end)?;
        protection += (el_end - el_start) * discount.discount(p.default_time);
        rpv01 +=
            p.accrual_fraction * discount.discount(p.payment) * (1.0 - 0.5 * (el_start + el_end));
        el_prev = Some(el_end);
    }
    Ok(CdsLegs { protection, rpv01 })
}

const QUADRATURE_POINTS: usize = 64;

/// Gauss–Legendre nodes and weights on [−1, 1] (Newton on Pₙ; Press et al., Numerical
/// Recipes, 3rd ed., §4.6 `gauleg`).
fn legendre_rule(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut pp = 0.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = ((2 * j + 1) as f64 * z * p2 - j as f64 * p3) / (j + 1) as f64;
            }
            pp = n as f64 * (z * p1 - p2) / (z * z - 1.0);
            let dz = p1 / pp;
            z -= dz;
            if dz.abs() < 1e-15 {
                break;
            }
        }
        x[i] = -z;
        x[n - 1 - i] = z;
        w[i] = 2.0 / ((1.0 - z * z) * pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

/// The 64-point Gauss–Legendre rule for the LHP integral.
fn gauss_legendre() -> (&'static [f64], &'static [f64]) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    let (x, w) = RULE.get_or_init(|| legendre_rule(QUADRATURE_POINTS));
    (x, w)
}

/// E[f(M)] for M ~ N(0,1) by composite 8-point Gauss–Legendre on 32 panels of [−8, 8]
/// (the mass beyond ±8 is 1.2e-15); weights include the density φ(M).
fn composite_legendre_factor_rule() -> (&'static [f64], &'static [f64]) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    let (x, w) = RULE.get_or_init(|| {
        const PANELS: usize = 32;
        const RANGE: f64 = 8.0;
        let (px, pw) = legendre_rule(8);
        let half = RANGE / PANELS as f64;
        let mut nodes = Vec::with_capacity(PANELS * px.len());
        let mut weights = Vec::with_capacity(nodes.capacity());
        for panel in 0..PANELS {
            let centre = -RANGE + (2 * panel + 1) as f64 * half;
            for (&x, &w) in px.iter().zip(&pw) {
                let m = centre + half * x;
                nodes.push(m);
                weights.push(half * w * crate::math::norm_pdf(m));
            }
        }
        (nodes, weights)
    });
    (x, w)
}

/// Gauss–Hermite rule for E[f(M)], M ~ N(0,1): nodes √2·xᵢ and weights wᵢ/√π of the
/// physicists' rule for e^{−x²} (Newton on normalised Hermite polynomials; Numerical
/// Recipes, 3rd ed., §4.6 `gauher`).
fn gauss_hermite() -> (&'static [f64], &'static [f64]) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    let (x, w) = RULE.get_or_init(|| {
        let n = QUADRATURE_POINTS;
        let pim4 = std::f64::consts::PI.powf(-0.25);
        let mut x = vec![0.0; n];
        let mut w = vec![0.0; n];
        let mut z: f64 = 0.0;
        for i in 0..n / 2 {
            z = match i {
                0 => {
                    (2.0 * n as f64 + 1.0).sqrt()
                        - 1.85575 * (2.0 * n as f64 + 1.0).powf(-1.0 / 6.0)
                }
                1 => z - 1.14 * (n as f64).powf(0.426) / z,
                2 => 1.86 * z - 0.86 * x[0],
                3 => 1.91 * z - 0.91 * x[1],
                _ => 2.0 * z - x[i - 2],
            };
            let mut pp = 0.0;
            for _ in 0..100 {
                let (mut p1, mut p2) = (pim4, 0.0);
                for j in 0..n {
                    let p3 = p2;
                    p2 = p1;
                    p1 = z * (2.0 / (j + 1) as f64).sqrt() * p2
                        - (j as f64 / (j + 1) as f64).sqrt() * p3;
                }
                pp = (2.0 * n as f64).sqrt() * p2;
                let dz = p1 / pp;
                z -= dz;
                if dz.abs() < 1e-14 {
                    break;
                }
            }
            x[i] = z;
            x[n - 1 - i] = -z;
            w[i] = 2.0 / (pp * pp);
            w[n - 1 - i] = w[i];
        }
        let scale = std::f64::consts::PI.sqrt();
        let nodes = x.iter().map(|v| v * std::f64::consts::SQRT_2).collect();
        let weights = w.iter().map(|v| v / scale).collect();
        (nodes, weights)
    });
    (x, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrature_rules_integrate_moments() {
        let (x, w) = gauss_hermite();
        let m0: f64 = w.iter().sum();
        let m2: f64 = x.iter().zip(w).map(|(x, w)| w * x * x).sum();
        let m4: f64 = x.iter().zip(w).map(|(x, w)| w * x.powi(4)).sum();
        assert!((m0 - 1.0).abs() < 1e-13 && (m2 - 1.0).abs() < 1e-12 && (m4 - 3.0).abs() < 1e-11);
        let (x, w) = gauss_legendre();
        let i: f64 = x.iter().zip(w).map(|(x, w)| w * x.powi(10)).sum();
        assert!((i - 2.0 / 11.0).abs() < 1e-14);
        let (x, w) = composite_legendre_factor_rule();
        let m0: f64 = w.iter().sum();
        let m4: f64 = x.iter().zip(w).map(|(x, w)| w * x.powi(4)).sum();
        // Truncation at ±8 leaves 1.2e-15 of mass and 5.4e-12 of the fourth moment.
        assert!(
            (m0 - 1.0).abs() < 1e-14 && (m4 - 3.0).abs() < 1e-11,
            "{m0} {m4}"
        );
    }
}
