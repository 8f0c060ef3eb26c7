//! The volatility scenario set: Latin hypercube samples of the volatility
//! hyperparameters, each turned into the [`PathSpec`] the path engine simulates.
//!
//! **What a scenario is.** A small [`ScenarioSpec`]: a cross-asset correlation regime,
//! an FX correlation case and eleven sampled volatilities — six FX pairs, the USD, EUR
//! and GBP curves (bp a year), the reference credit spread, equity. Paths are never
//! stored; [`path_spec`] rebuilds everything the engine needs from the spec, the
//! [`ScenarioConfig`] and the [`Calibration`].
//!
//! **Sampling** ([`generate_scenarios`]). The eleven vols by Latin hypercube (McKay,
//! Beckman & Conover 1979): each dimension's range is cut into `n` equal strata and
//! every stratum holds exactly one scenario. The strata are paired across dimensions by
//! Iman & Conover (1982) to a common Spearman rank correlation (default 0.5: when one
//! market's volatility is high the others' tend to be too). The regime is stratified:
//! each regime gets its share of the scenarios (largest remainder), and within each
//! regime so does each FX correlation case; which scenario gets which is a seeded
//! shuffle, independent of the vols — every regime sees the whole vol range, so a
//! hedge is judged on calm correlations with high vols and the reverse. Same config,
//! `n` and seed → the same bits.
//!
//! **Sign conventions** (in the factors of [`crate::factors`]):
//! - FX factors are log changes of USD per unit of foreign currency: a rise is the
//!   foreign currency strengthening. The dollar is the base case's safe haven: in a
//!   sell-off foreign currencies fall against it together, so corr(equity, FX) =
//!   `+equity_fx` for every pair, and the crosses co-move at `fx_correlation.base` /
//!   `.stress`.
//! - "Equity–rates" of the issue (−0.15 / −0.45 / −0.70) is read as equity against
//!   *bond returns* (the usual quotation); a bond return is minus duration times the
//!   yield change, so the matrix holds corr(equity, yield-level change) = +0.15 / +0.45
//!   / +0.70: flight to quality, yields fall when equities do.
//! - FX–rates (+0.10 / +0.30 / +0.55): corr(FX change, yield-level change), for every
//!   pair and every curve's level: in a flight to quality the dollar rises (FX falls)
//!   while yields fall. Slope and curvature carry no cross-asset correlation.
//! - Credit factors are log-spread changes (a rise is a widening): corr(credit, equity)
//!   = `credit_equity` < 0; with FX and rates credit correlates through equity
//!   (`credit_equity · equity_fx`, `credit_equity · (−equity_bonds)`): spreads widen
//!   as risk currencies and yields fall.
//!
//! **FX breakdown cases** ([`FxCorrelationCase`]): `SafeHavenFlip` — the yen and the
//!   franc (configurable) stop moving with the other crosses and rally with the dollar
//!   in a sell-off: every correlation of theirs changes sign (crosses at `−stress`
//!   against the risk currencies, `−equity_fx` against equity, `−fx_rates` against
//!   yields), the January-2016 / March-2020 pattern; `Decoupling` — FX correlations
//!   collapse to 0: the crosses move independently of each other *and* of the other
//!   assets (keeping the cross-asset correlations with uncorrelated crosses is not a
//!   valid correlation matrix once `equity_fx` exceeds ~0.4). A hedge that relies on
//!   diversification across currencies, on proxy-hedging one cross with another, or on
//!   FX offsetting equity losses is tested by both.
//!
//! **Repair.** The blocks are set one by one, so some combinations are not a valid
//! correlation matrix — with the defaults, only the crisis regime with the base FX case
//! (equity–FX 0.85 but crosses at 0.45). Those are replaced by Higham's nearest
//! correlation matrix and the repair is recorded ([`CorrelationDiagnostics`]).
//!
//! **Dynamics per factor** ([`path_spec`]):
//! - annual vols from the spec; rates components from the curve vol (see
//!   [`rate_component_vols`]);
//! - GJR-GARCH α, β, γ: FX from each currency's fit (EUR ← DEM, AUD ← CAD), equity from
//!   the S&P 500 fit (all three markets), persistence capped at
//!   [`MAX_GARCH_PERSISTENCE`] (only the CAD/AUD fit, integrated, is affected); rates: no daily history, so the mean of the
//!   five FX fits' symmetric `(α + γ/2, β)` with γ = 0 (a yield move's direction has no
//!   fixed risk sign) — an **assumption**; credit: the S&P 500 fit's persistence with
//!   its leverage folded into a symmetric α (`α + γ/2`, γ = 0), because equity and
//!   credit price the same firm value (Merton 1974) but a spread's volatility rises on
//!   *widenings* (positive shocks), which the engine's negative-shock indicator would
//!   get backwards — an **assumption**;
//! - mean reversion κ: rates level from the AR(1) of the 5y yield, slope and curvature
//!   from AR(1)s of their scores (US 1946–91, applied to all three curves — an
//!   **assumption**); credit from the AR(1) of the Baa − Aaa log spread; 0 for FX and
//!   equity (random walks);
//! - drift: the equity risk premium (assumption, 4% a year) for equity, 0 elsewhere;
//! - regime switch: the daily transition probabilities of a two-state HMM on S&P 500
//!   returns (calm spells ~75 days, stressed ~34) and, as the stressed multiplier, the
//!   ratio of GJR-standardised volatility in stressed over calm days (the part of the
//!   stressed spells the GARCH does not already produce, ~1.37); the probability of
//!   starting stressed is the regime's `start_stressed`.

mod config;
pub mod correlation;
pub mod sampling;

use serde::{Deserialize, Serialize};
use stresslab_analytics::rng::{SplitMix64, Xoshiro256};

use crate::calibration::{Calibration, GjrGarchFit};
use crate::factors::{Currency, CurveComponent, FactorClass, RiskFactor, N_FACTORS};
use crate::paths::{FactorDynamics, PathSpec, VolRegimeSwitch};
pub use config::{
    ComponentValues, FxCaseShares, FxCorrelationConfig, FxVolRanges, RateVolRanges,
    RatingMultipliers, RegimeSettings, Regimes, ScenarioConfig, SectorAmplification, VolRange,
};
pub use correlation::{
    scenario_correlation, target_correlation, CorrelationDiagnostics, CorrelationTable,
};

/// Why a scenario set or a path spec could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// A configuration field (dotted path, e.g. `fx_vol.eur.max`) is invalid.
    #[error("scenario config `{field}`: {reason}")]
    Config { field: String, reason: String },
    /// An argument of a call (e.g. `checkpoints`) is invalid.
    #[error("`{field}`: {reason}")]
    Argument { field: String, reason: String },
    /// A numerical step failed (should not happen for a validated config).
    #[error("{0}")]
    Numerical(String),
}

impl ScenarioError {
    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
    fn argument(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Argument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Cross-asset correlation regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationRegime {
    Normal,
    Stress,
    Crisis,
}

impl CorrelationRegime {
    pub const ALL: [CorrelationRegime; 3] = [Self::Normal, Self::Stress, Self::Crisis];
}

/// How the six dollar crosses co-move (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FxCorrelationCase {
    /// Crosses correlated at `fx_correlation.base` (0.45).
    Base,
    /// Crosses correlated at `fx_correlation.stress` (0.85).
    Stress,
    /// Breakdown: the safe havens' correlations change sign.
    SafeHavenFlip,
    /// Breakdown: every FX correlation (among crosses and with other assets) is 0.
    Decoupling,
}

impl FxCorrelationCase {
    pub const ALL: [FxCorrelationCase; 4] = [
        Self::Base,
        Self::Stress,
        Self::SafeHavenFlip,
        Self::Decoupling,
    ];
}

/// Issuer credit rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rating {
    #[serde(rename = "AAA")]
    Aaa,
    #[serde(rename = "AA")]
    Aa,
    #[serde(rename = "A")]
    A,
    #[serde(rename = "BBB")]
    Bbb,
    #[serde(rename = "BB")]
    Bb,
    #[serde(rename = "B")]
    B,
}

impl Rating {
    pub const ALL: [Rating; 6] = [
        Rating::Aaa,
        Rating::Aa,
        Rating::A,
        Rating::Bbb,
        Rating::Bb,
        Rating::B,
    ];

    /// The agencies' letters (`"BBB"`).
    pub fn code(self) -> &'static str {
        match self {
            Rating::Aaa => "AAA",
            Rating::Aa => "AA",
            Rating::A => "A",
            Rating::Bbb => "BBB",
            Rating::Bb => "BB",
            Rating::B => "B",
        }
    }

    pub fn from_code(code: &str) -> Option<Rating> {
        let c = code.trim().to_ascii_uppercase();
        Rating::ALL.into_iter().find(|r| r.code() == c)
    }

    /// AAA–BBB.
    pub fn investment_grade(self) -> bool {
        self.factor() == RiskFactor::CreditIg
    }

    /// The credit factor a rating's spread loads on: AAA–BBB investment grade, BB–B
    /// high yield.
    pub fn factor(self) -> RiskFactor {
        match self {
            Rating::Aaa | Rating::Aa | Rating::A | Rating::Bbb => RiskFactor::CreditIg,
            Rating::Bb | Rating::B => RiskFactor::CreditHy,
        }
    }
    /// The reference rating whose spread *is* the factor (BBB for IG — Moody's Baa
    /// calibrates it — and BB for HY).
    pub fn reference(self) -> Rating {
        match self.factor() {
            RiskFactor::CreditHy => Rating::Bb,
            _ => Rating::Bbb,
        }
    }
}

/// Issuer sector, for the credit spread vol amplification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditSector {
    Financials,
    Industrials,
    Utilities,
    Energy,
    Other,
}

impl CreditSector {
    /// A portfolio's free-text sector; anything without its own amplification is
    /// `Other` (amplification 1).
    pub fn from_name(name: &str) -> CreditSector {
        match name.trim().to_ascii_lowercase().as_str() {
            "financials" | "financial" | "banks" => CreditSector::Financials,
            "industrials" | "industrial" => CreditSector::Industrials,
            "utilities" | "utility" => CreditSector::Utilities,
            "energy" => CreditSector::Energy,
            _ => CreditSector::Other,
        }
    }
}

/// One volatility scenario. Vols are annual, decimal, except the curves' (bp a year).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub id: u32,
    pub regime: CorrelationRegime,
    pub fx_correlation: FxCorrelationCase,
    /// In the order of [`RiskFactor::FX`] (EUR, GBP, JPY, CHF, AUD, CAD).
    pub fx_vol: [f64; 6],
    /// USD, EUR, GBP curves: RMS over the key tenors of the yield-change vol, bp a year.
    pub rate_vol_bp: [f64; 3],
    /// Log-spread vol of the reference ratings (BBB, BB).
    pub credit_spread_vol: f64,
    pub equity_vol: f64,
}

/// The curves in the order of `ScenarioSpec::rate_vol_bp`.
pub const CURVES: [Currency; 3] = [Currency::USD, Currency::EUR, Currency::GBP];

/// Number of sampled (continuous) dimensions.
pub const SAMPLED_DIMENSIONS: usize = 11;

/// Ranges of the sampled dimensions, in spec order (fx ×6, rates ×3, credit, equity),
/// with their config field names.
pub fn sampled_ranges(config: &ScenarioConfig) -> [(&'static str, VolRange); SAMPLED_DIMENSIONS] {
    let fx = config.fx_vol.as_array();
    [
        fx[0],
        fx[1],
        fx[2],
        fx[3],
        fx[4],
        fx[5],
        ("rate_vol_bp.usd", config.rate_vol_bp.usd),
        ("rate_vol_bp.eur", config.rate_vol_bp.eur),
        ("rate_vol_bp.gbp", config.rate_vol_bp.gbp),
        ("credit_spread_vol", config.credit_spread_vol),
        ("equity_vol", config.equity_vol),
    ]
}

impl ScenarioSpec {
    /// The sampled values in the order of [`sampled_ranges`].
    pub fn sampled(&self) -> [f64; SAMPLED_DIMENSIONS] {
        let mut out = [0.0; SAMPLED_DIMENSIONS];
        out[..6].copy_from_slice(&self.fx_vol);
        out[6..9].copy_from_slice(&self.rate_vol_bp);
        out[9] = self.credit_spread_vol;
        out[10] = self.equity_vol;
        out
    }
}

/// Largest scenario set one call builds (the Iman–Conover pairing holds an n × 11
/// score matrix: 10⁶ scenarios take ~90 MB while sampling).
pub const MAX_SCENARIOS: usize = 1_000_000;

/// The scenario set (see the module header). Deterministic in `(config, n, seed)`.
pub fn generate_scenarios(
    config: &ScenarioConfig,
    n: usize,
    seed: u64,
) -> Result<Vec<ScenarioSpec>, ScenarioError> {
    config.validate()?;
    if n == 0 || n > MAX_SCENARIOS {
        return Err(ScenarioError::argument(
            "scenarios",
            format!("must be between 1 and {MAX_SCENARIOS}, got {n}"),
        ));
    }
    // Three independent streams: strata jitter, Iman–Conover pairing, category shuffle.
    let mut seeder = SplitMix64(seed ^ 0x4845_4447_4553_4345); // "HEDGESCE"
    let mut jitter = Xoshiro256::seed_from_u64(seeder.next_u64());
    let mut pairing = Xoshiro256::seed_from_u64(seeder.next_u64());
    let mut categories = Xoshiro256::seed_from_u64(seeder.next_u64());

    let ranges = sampled_ranges(config);
    let sorted: Vec<Vec<f64>> = ranges
        .iter()
        .map(|(_, r)| {
            sampling::lhs_sorted(n, &mut jitter)
                .into_iter()
                .map(|u| r.min + u * (r.max - r.min))
                .collect()
        })
        .collect();
    let ranks = sampling::iman_conover_ranks(
        n,
        SAMPLED_DIMENSIONS,
        config.vol_rank_correlation,
        &mut pairing,
    );

    let mut cells = Vec::with_capacity(n);
    let regime_counts = sampling::apportion(
        n,
        &CorrelationRegime::ALL.map(|r| config.regimes.get(r).share),
    );
    let fx_cases = config.fx_correlation.shares.as_array();
    for (regime, count) in CorrelationRegime::ALL.into_iter().zip(regime_counts) {
        let case_counts = sampling::apportion(count, &fx_cases.map(|c| c.1));
        for ((case, _), c) in fx_cases.iter().zip(case_counts) {
            cells.extend(std::iter::repeat_n((regime, *case), c));
        }
    }
    sampling::shuffle(&mut cells, &mut categories);

    Ok((0..n)
        .map(|i| {
            let v = |j: usize| sorted[j][ranks[j][i]];
            ScenarioSpec {
                id: i as u32,
                regime: cells[i].0,
                fx_correlation: cells[i].1,
                fx_vol: [v(0), v(1), v(2), v(3), v(4), v(5)],
                rate_vol_bp: [v(6), v(7), v(8)],
                credit_spread_vol: v(9),
                equity_vol: v(10),
            }
        })
        .collect())
}

/// Annual log-spread vol of an issuer: the reference vol × its rating's multiplier ×
/// its sector's amplification. Its spread change is `rating multiplier / reference
/// rating multiplier × sector amplification` times its factor's (IG or HY) change.
pub fn credit_spread_vol(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
    rating: Rating,
    sector: CreditSector,
) -> f64 {
    spec.credit_spread_vol
        * config.rating_multipliers.get(rating)
        * config.sector_amplification.get(sector)
}

/// Annual vols (decimal yield) of the level, slope and curvature scores of a curve whose
/// RMS yield-change vol over the key tenors is `rate_vol_bp`, with component `k`
/// carrying the share `w_k` of that variance:
/// `s_k = σ √(w_k / mean_τ L_k(τ)²)`, `L_k` the calibrated loadings at the key tenors,
/// so that `mean_τ Σ_k s_k² L_k(τ)² = σ²` and component `k` contributes `w_k σ²`.
pub fn rate_component_vols(
    rate_vol_bp: f64,
    config: &ScenarioConfig,
    calibration: &Calibration,
) -> [f64; 3] {
    let sigma = rate_vol_bp / 1e4;
    let w = config.rate_component_weights.as_array();
    let mut out = [0.0; 3];
    for k in 0..3 {
        let l = &calibration.rates.key_tenor_loadings[k];
        let mean_sq = l.iter().map(|x| x * x).sum::<f64>() / l.len() as f64;
        out[k] = sigma * (w[k] / mean_sq).sqrt();
    }
    out
}

/// Highest GARCH persistence `α + γ/2 + β` handed to the path engine. A fit on the
/// stationarity boundary (the CAD's, 1980–87: 1.0000 — an integrated GARCH, as `arch`
/// finds too) has no finite unconditional variance, so the engine's
/// `ω = (annual_vol²/252)(1 − P)` would vanish and the sampled vol would mean nothing;
/// such a fit keeps its α and γ and gives up β down to this cap (a variance shock's
/// half-life of ln ½ / ln 0.995 ≈ 138 trading days). An **assumption**.
pub const MAX_GARCH_PERSISTENCE: f64 = 0.995;

fn dynamics_from_fit(annual_vol: f64, fit: &GjrGarchFit) -> FactorDynamics {
    let shock = fit.alpha + fit.gamma / 2.0;
    FactorDynamics {
        annual_vol,
        annual_drift: 0.0,
        mean_reversion: 0.0,
        garch_alpha: fit.alpha,
        garch_beta: fit.beta.min(MAX_GARCH_PERSISTENCE - shock).max(0.0),
        garch_gamma: fit.gamma,
        max_vol_multiple: fit.peak_vol_multiple.max(1.0),
    }
}

/// Per-factor dynamics of a scenario (see the module header).
pub fn factor_dynamics(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
    calibration: &Calibration,
) -> Result<[FactorDynamics; N_FACTORS], ScenarioError> {
    let equity_fit = &calibration.equity.garch;
    let (rates_alpha, rates_beta) = calibration.fx.mean_alpha_beta();
    let rates = &calibration.rates;
    let credit = &calibration.credit;
    let mut out = [FactorDynamics {
        annual_vol: 0.0,
        annual_drift: 0.0,
        mean_reversion: 0.0,
        garch_alpha: 0.0,
        garch_beta: 0.0,
        garch_gamma: 0.0,
        max_vol_multiple: 1.0,
    }; N_FACTORS];
    for (i, f) in RiskFactor::ALL.into_iter().enumerate() {
        out[i] = match f.class() {
            FactorClass::Fx => {
                let (k, c) = RiskFactor::FX
                    .iter()
                    .enumerate()
                    .find(|(_, x)| **x == f)
                    .and_then(|(k, x)| x.fx_currency().map(|c| (k, c)))
                    .ok_or_else(|| {
                        ScenarioError::Numerical(format!("{f:?} is not an FX factor"))
                    })?;
                let series = calibration.fx.series_for(c).ok_or_else(|| {
                    ScenarioError::Numerical(format!("the calibration has no FX series for {c:?}"))
                })?;
                dynamics_from_fit(spec.fx_vol[k], &series.garch)
            }
            FactorClass::Rates => {
                let (currency, component) = f
                    .curve()
                    .ok_or_else(|| ScenarioError::Numerical(format!("{f:?} has no curve")))?;
                let curve = CURVES.iter().position(|c| *c == currency).unwrap_or(0);
                let vols = rate_component_vols(spec.rate_vol_bp[curve], config, calibration);
                let (k, kappa) = match component {
                    CurveComponent::Level => (0, rates.level_kappa),
                    CurveComponent::Slope => (1, rates.slope_kappa),
                    CurveComponent::Curvature => (2, rates.curvature_kappa),
                };
                FactorDynamics {
                    annual_vol: vols[k],
                    annual_drift: 0.0,
                    mean_reversion: kappa,
                    garch_alpha: rates_alpha,
                    garch_beta: rates_beta,
                    garch_gamma: 0.0,
                    max_vol_multiple: rates.peak_vol_multiple.max(1.0),
                }
            }
            FactorClass::Credit => {
                let reference = if f == RiskFactor::CreditHy {
                    Rating::Bb
                } else {
                    Rating::Bbb
                };
                FactorDynamics {
                    annual_vol: spec.credit_spread_vol * config.rating_multipliers.get(reference),
                    annual_drift: 0.0,
                    mean_reversion: credit.log_spread_kappa,
                    garch_alpha: equity_fit.alpha + equity_fit.gamma / 2.0,
                    garch_beta: equity_fit.beta,
                    garch_gamma: 0.0,
                    max_vol_multiple: credit.peak_vol_multiple.max(1.0),
                }
            }
            FactorClass::Equity => FactorDynamics {
                annual_drift: config.equity_risk_premium,
                ..dynamics_from_fit(spec.equity_vol, equity_fit)
            },
        };
    }
    Ok(out)
}

/// The calm ↔ stressed switch of a scenario's paths (see the module header).
pub fn vol_regime_switch(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
    calibration: &Calibration,
) -> VolRegimeSwitch {
    let r = &calibration.equity.regime;
    VolRegimeSwitch {
        p_enter_stress: r.p_enter_stress,
        p_leave_stress: r.p_leave_stress,
        stress_vol_multiplier: r.residual_vol_multiplier.max(1.0),
        start_stressed: config.regimes.get(spec.regime).start_stressed,
    }
}

/// Longest horizon a path spec accepts (ten years of trading days).
pub const MAX_HORIZON_DAYS: u32 = 2520;

fn check_horizon(horizon_days: u32, checkpoints: &[u32]) -> Result<(), ScenarioError> {
    if horizon_days == 0 || horizon_days > MAX_HORIZON_DAYS {
        return Err(ScenarioError::argument(
            "horizon_days",
            format!("must be between 1 and {MAX_HORIZON_DAYS}, got {horizon_days}"),
        ));
    }
    if checkpoints.last() != Some(&horizon_days) {
        return Err(ScenarioError::argument(
            "checkpoints",
            format!(
                "the last checkpoint must be the horizon ({horizon_days} days), got {:?}",
                checkpoints.last()
            ),
        ));
    }
    if checkpoints[0] == 0 || checkpoints.windows(2).any(|w| w[1] <= w[0]) {
        return Err(ScenarioError::argument(
            "checkpoints",
            "must be strictly ascending days ≥ 1",
        ));
    }
    Ok(())
}

/// [`path_spec`] with the correlation taken from a [`CorrelationTable`] built once for
/// the run's config (the fast path for thousands of scenarios; same result).
pub fn path_spec_from_table(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
    calibration: &Calibration,
    table: &CorrelationTable,
    horizon_days: u32,
    checkpoints: &[u32],
) -> Result<PathSpec, ScenarioError> {
    check_horizon(horizon_days, checkpoints)?;
    Ok(PathSpec {
        horizon_days,
        checkpoints: checkpoints.to_vec(),
        factors: factor_dynamics(spec, config, calibration)?,
        cholesky: table.get(spec.regime, spec.fx_correlation).0.to_vec(),
        regime: vol_regime_switch(spec, config, calibration),
    })
}

/// Everything the path engine needs for a scenario, with how its correlation matrix
/// was made valid.
pub fn path_spec_with_diagnostics(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
    calibration: &Calibration,
    horizon_days: u32,
    checkpoints: &[u32],
) -> Result<(PathSpec, CorrelationDiagnostics), ScenarioError> {
    check_horizon(horizon_days, checkpoints)?;
    let (_, cholesky, diagnostics) = scenario_correlation(spec, config)?;
    Ok((
        PathSpec {
            horizon_days,
            checkpoints: checkpoints.to_vec(),
            factors: factor_dynamics(spec, config, calibration)?,
            cholesky,
            regime: vol_regime_switch(spec, config, calibration),
        },
        diagnostics,
    ))
}

/// [`path_spec_with_diagnostics`] without the diagnostics.
pub fn path_spec(
    spec: &ScenarioSpec,
    config: &ScenarioConfig,
    calibration: &Calibration,
    horizon_days: u32,
    checkpoints: &[u32],
) -> Result<PathSpec, ScenarioError> {
    path_spec_with_diagnostics(spec, config, calibration, horizon_days, checkpoints).map(|p| p.0)
}

#[cfg(test)]
mod tests;
