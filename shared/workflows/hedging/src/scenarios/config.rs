//! The scenario set's hyperparameters: every range and correlation of the issue, with
//! its default, overridable field by field in a request and validated with an error
//! that names the field.

use serde::{Deserialize, Serialize};

use super::{CorrelationRegime, CreditSector, FxCorrelationCase, Rating, ScenarioError};
use crate::factors::Currency;

/// A sampled volatility's range, `min ≤ max`, both positive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolRange {
    pub min: f64,
    pub max: f64,
}

impl VolRange {
    pub const fn new(min: f64, max: f64) -> Self {
        Self { min, max }
    }
    fn validate(&self, field: &str) -> Result<(), ScenarioError> {
        if !(self.min.is_finite() && self.min > 0.0) {
            return Err(ScenarioError::config(
                format!("{field}.min"),
                format!("must be a positive number, got {}", self.min),
            ));
        }
        if !(self.max.is_finite() && self.max >= self.min) {
            return Err(ScenarioError::config(
                format!("{field}.max"),
                format!("must be a number ≥ min ({}), got {}", self.min, self.max),
            ));
        }
        Ok(())
    }
}

/// Annual FX volatility (decimal) of each pair against the USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FxVolRanges {
    pub eur: VolRange,
    pub gbp: VolRange,
    pub jpy: VolRange,
    pub chf: VolRange,
    pub aud: VolRange,
    pub cad: VolRange,
}

impl Default for FxVolRanges {
    /// The issue: 5–35% for each of the six pairs.
    fn default() -> Self {
        let r = VolRange::new(0.05, 0.35);
        Self {
            eur: r,
            gbp: r,
            jpy: r,
            chf: r,
            aud: r,
            cad: r,
        }
    }
}

impl FxVolRanges {
    /// In the order of [`crate::factors::RiskFactor::FX`].
    pub fn as_array(&self) -> [(&'static str, VolRange); 6] {
        [
            ("fx_vol.eur", self.eur),
            ("fx_vol.gbp", self.gbp),
            ("fx_vol.jpy", self.jpy),
            ("fx_vol.chf", self.chf),
            ("fx_vol.aud", self.aud),
            ("fx_vol.cad", self.cad),
        ]
    }
}

/// Share of the scenarios given to each FX correlation case (sums to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FxCaseShares {
    pub base: f64,
    pub stress: f64,
    pub safe_haven_flip: f64,
    pub decoupling: f64,
}

impl Default for FxCaseShares {
    /// Assumption: most scenarios keep the usual co-movement of the dollar crosses
    /// (base and stress equally), a fifth break it, half of those each way.
    fn default() -> Self {
        Self {
            base: 0.4,
            stress: 0.4,
            safe_haven_flip: 0.1,
            decoupling: 0.1,
        }
    }
}

impl FxCaseShares {
    pub fn as_array(&self) -> [(FxCorrelationCase, f64); 4] {
        [
            (FxCorrelationCase::Base, self.base),
            (FxCorrelationCase::Stress, self.stress),
            (FxCorrelationCase::SafeHavenFlip, self.safe_haven_flip),
            (FxCorrelationCase::Decoupling, self.decoupling),
        ]
    }
}

/// Correlation among the six FX factors and its breakdown cases (see
/// [`FxCorrelationCase`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FxCorrelationConfig {
    /// Pairwise correlation of the dollar crosses in the base case (issue: 0.45).
    pub base: f64,
    /// … and in the stress case (issue: 0.85); the safe-haven flip uses its magnitude.
    pub stress: f64,
    /// The safe-haven currencies whose signs flip in [`FxCorrelationCase::SafeHavenFlip`]
    /// (default JPY and CHF).
    pub safe_havens: Vec<Currency>,
    pub shares: FxCaseShares,
}

impl Default for FxCorrelationConfig {
    fn default() -> Self {
        Self {
            base: 0.45,
            stress: 0.85,
            safe_havens: vec![Currency::JPY, Currency::CHF],
            shares: FxCaseShares::default(),
        }
    }
}

/// Annual zero-yield volatility in basis points, one range per curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateVolRanges {
    pub usd: VolRange,
    pub eur: VolRange,
    pub gbp: VolRange,
}

impl Default for RateVolRanges {
    /// The issue: 60–180 bp a year.
    fn default() -> Self {
        let r = VolRange::new(60.0, 180.0);
        Self {
            usd: r,
            eur: r,
            gbp: r,
        }
    }
}

/// One number per curve component.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentValues {
    pub level: f64,
    pub slope: f64,
    pub curvature: f64,
}

impl ComponentValues {
    pub fn as_array(&self) -> [f64; 3] {
        [self.level, self.slope, self.curvature]
    }

    /// The calibrated PCA variance shares of level, slope and curvature, rescaled to
    /// sum to 1: the history-based alternative to the 0.60 / 0.25 / 0.15.
    pub fn historical(rates: &crate::calibration::RatesCalibration) -> Self {
        let [l, s, c] = rates.variance_shares;
        let total = l + s + c;
        Self {
            level: l / total,
            slope: s / total,
            curvature: c / total,
        }
    }
}

/// Multiplier of the reference credit spread vol by rating.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RatingMultipliers {
    pub aaa: f64,
    pub aa: f64,
    pub a: f64,
    pub bbb: f64,
    pub bb: f64,
    pub b: f64,
}

impl Default for RatingMultipliers {
    /// 1 for every rating: spread changes are proportional to the spread level, so the
    /// *relative* (log) spread volatility is about the same across ratings — the
    /// "duration times spread" finding of A. Ben Dor, L. Dynkin, J. Hyman, P. Houweling,
    /// E. van Leeuwen & O. Penninga (2007), "DTS (Duration Times Spread)", Journal of
    /// Portfolio Management 33(2), 77–100. A B-rated spread still moves many times more
    /// basis points than an AAA one, because its level is higher. Override to tilt.
    fn default() -> Self {
        Self {
            aaa: 1.0,
            aa: 1.0,
            a: 1.0,
            bbb: 1.0,
            bb: 1.0,
            b: 1.0,
        }
    }
}

impl RatingMultipliers {
    pub fn get(&self, rating: Rating) -> f64 {
        match rating {
            Rating::Aaa => self.aaa,
            Rating::Aa => self.aa,
            Rating::A => self.a,
            Rating::Bbb => self.bbb,
            Rating::Bb => self.bb,
            Rating::B => self.b,
        }
    }
}

/// Sector amplification of a name's credit spread vol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SectorAmplification {
    pub financials: f64,
    pub industrials: f64,
    pub utilities: f64,
    pub energy: f64,
    /// Any other sector (not in the issue: 1, no amplification).
    pub other: f64,
}

impl Default for SectorAmplification {
    /// The issue: financials 1.4, industrials 1.1, utilities 0.9, energy 1.3.
    fn default() -> Self {
        Self {
            financials: 1.4,
            industrials: 1.1,
            utilities: 0.9,
            energy: 1.3,
            other: 1.0,
        }
    }
}

impl SectorAmplification {
    pub fn get(&self, sector: CreditSector) -> f64 {
        match sector {
            CreditSector::Financials => self.financials,
            CreditSector::Industrials => self.industrials,
            CreditSector::Utilities => self.utilities,
            CreditSector::Energy => self.energy,
            CreditSector::Other => self.other,
        }
    }
}

/// The correlations and path settings of one cross-asset regime. Sign conventions are
/// those of [`crate::scenarios`]' module header.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSettings {
    /// Share of the scenarios in this regime.
    pub share: f64,
    /// corr(equity return, risk-currency FX change) (issue: 0.25 / 0.65 / 0.85).
    pub equity_fx: f64,
    /// corr(equity return, *bond return*), the "equity–rates" (−0.15 / −0.45 /
    /// −0.70); the matrix holds corr(equity, yield level change) = −equity_bonds.
    pub equity_bonds: f64,
    /// corr(FX change, yield level change) (issue: 0.10 / 0.30 / 0.55).
    pub fx_rates: f64,
    /// corr between the US, European and UK equity returns (assumption).
    pub equity_equity: f64,
    /// corr(IG, HY log-spread changes) (assumption).
    pub credit_ig_hy: f64,
    /// corr(log-spread change, equity return) (assumption, negative: spreads widen as
    /// equities fall). Credit's correlations with FX and rates are implied through it.
    pub credit_equity: f64,
    /// Probability that a path starts in the stressed volatility state.
    pub start_stressed: f64,
}

/// The three cross-asset correlation regimes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Regimes {
    pub normal: RegimeSettings,
    pub stress: RegimeSettings,
    pub crisis: RegimeSettings,
}

impl Default for Regimes {
    /// Cross-asset numbers from the issue. Assumptions: the shares (half normal, 30%
    /// stress, 20% crisis — a stress design over-weights bad regimes), the equity
    /// markets' mutual correlation (0.75 / 0.85 / 0.90: developed markets co-move more
    /// in sell-offs, F. Longin & B. Solnik (2001), "Extreme correlation of international
    /// equity markets", Journal of Finance 56(2)), IG–HY (0.75 / 0.85 / 0.90), credit–
    /// equity (−0.40 / −0.60 / −0.75: equity and credit are claims on the same firm
    /// value, R. C. Merton (1974), Journal of Finance 29(2)), and the start of the
    /// paths: calm in the normal regime, even odds in stress, stressed in a crisis.
    fn default() -> Self {
        Self {
            normal: RegimeSettings {
                share: 0.5,
                equity_fx: 0.25,
                equity_bonds: -0.15,
                fx_rates: 0.10,
                equity_equity: 0.75,
                credit_ig_hy: 0.75,
                credit_equity: -0.40,
                start_stressed: 0.0,
            },
            stress: RegimeSettings {
                share: 0.3,
                equity_fx: 0.65,
                equity_bonds: -0.45,
                fx_rates: 0.30,
                equity_equity: 0.85,
                credit_ig_hy: 0.85,
                credit_equity: -0.60,
                start_stressed: 0.5,
            },
            crisis: RegimeSettings {
                share: 0.2,
                equity_fx: 0.85,
                equity_bonds: -0.70,
                fx_rates: 0.55,
                equity_equity: 0.90,
                credit_ig_hy: 0.90,
                credit_equity: -0.75,
                start_stressed: 1.0,
            },
        }
    }
}

impl Regimes {
    pub fn get(&self, regime: CorrelationRegime) -> &RegimeSettings {
        match regime {
            CorrelationRegime::Normal => &self.normal,
            CorrelationRegime::Stress => &self.stress,
            CorrelationRegime::Crisis => &self.crisis,
        }
    }
}

/// Everything that shapes the scenario set. Every field has the default (or a
/// stated assumption) and may be overridden alone in a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioConfig {
    pub fx_vol: FxVolRanges,
    pub fx_correlation: FxCorrelationConfig,
    /// Annual zero-yield vol in bp: the root mean square, over the ten key tenors 3M–30Y,
    /// of each tenor's yield-change volatility.
    pub rate_vol_bp: RateVolRanges,
    /// Share of that variance carried by level, slope and curvature (issue: 0.60 /
    /// 0.25 / 0.15 — more slope and curvature than the 1946–91 history's 0.85 / 0.10 /
    /// 0.03, on purpose: hedges matched on a few key rates must also survive twists).
    pub rate_component_weights: ComponentValues,
    /// Correlation of the same component across the USD, EUR and GBP curves
    /// (assumption: level 0.6, slope 0.3, curvature 0 — global bond yields share a level
    /// factor, the curves' shapes follow their own central banks).
    pub cross_currency_curve_correlation: ComponentValues,
    /// Annual vol of the log spread of the reference ratings (BBB on the IG factor, BB
    /// on the HY factor), decimal (issue: 15–75%).
    pub credit_spread_vol: VolRange,
    pub rating_multipliers: RatingMultipliers,
    pub sector_amplification: SectorAmplification,
    /// Annual equity vol, decimal (issue: 12–55%), for all three markets.
    pub equity_vol: VolRange,
    pub regimes: Regimes,
    /// Target Spearman rank correlation between every pair of sampled vols (Iman–
    /// Conover): volatilities rise together across markets. 0 = independent.
    pub vol_rank_correlation: f64,
    /// Equity drift per year over the risk-free rate (assumption: 4%).
    pub equity_risk_premium: f64,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        Self {
            fx_vol: FxVolRanges::default(),
            fx_correlation: FxCorrelationConfig::default(),
            rate_vol_bp: RateVolRanges::default(),
            rate_component_weights: ComponentValues {
                level: 0.60,
                slope: 0.25,
                curvature: 0.15,
            },
            cross_currency_curve_correlation: ComponentValues {
                level: 0.6,
                slope: 0.3,
                curvature: 0.0,
            },
            credit_spread_vol: VolRange::new(0.15, 0.75),
            rating_multipliers: RatingMultipliers::default(),
            sector_amplification: SectorAmplification::default(),
            equity_vol: VolRange::new(0.12, 0.55),
            regimes: Regimes::default(),
            vol_rank_correlation: 0.5,
            equity_risk_premium: 0.04,
        }
    }
}

fn correlation(field: &str, v: f64) -> Result<(), ScenarioError> {
    if !(v.is_finite() && (-1.0..=1.0).contains(&v)) {
        return Err(ScenarioError::config(
            field,
            format!("must be a correlation in [-1, 1], got {v}"),
        ));
    }
    Ok(())
}

fn positive(field: &str, v: f64) -> Result<(), ScenarioError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(ScenarioError::config(
            field,
            format!("must be a positive number, got {v}"),
        ));
    }
    Ok(())
}

fn shares(field: &str, values: &[(&str, f64)]) -> Result<(), ScenarioError> {
    for (name, v) in values {
        if !(v.is_finite() && *v >= 0.0) {
            return Err(ScenarioError::config(
                format!("{field}.{name}"),
                format!("must be a share ≥ 0, got {v}"),
            ));
        }
    }
    let total: f64 = values.iter().map(|v| v.1).sum();
    if (total - 1.0).abs() > 1e-9 {
        return Err(ScenarioError::config(
            field,
            format!("shares must sum to 1, got {total}"),
        ));
    }
    Ok(())
}

impl ScenarioConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        for (field, r) in self.fx_vol.as_array() {
            r.validate(field)?;
        }
        let fx = &self.fx_correlation;
        for (field, v) in [
            ("fx_correlation.base", fx.base),
            ("fx_correlation.stress", fx.stress),
        ] {
            if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                return Err(ScenarioError::config(
                    field,
                    format!("must be in [0, 1) (the dollar crosses co-move; breakdowns are separate cases), got {v}"),
                ));
            }
        }
        for c in &fx.safe_havens {
            if matches!(c, Currency::USD) {
                return Err(ScenarioError::config(
                    "fx_correlation.safe_havens",
                    "the USD is the base currency, not an FX factor",
                ));
            }
        }
        let s = &fx.shares;
        shares(
            "fx_correlation.shares",
            &[
                ("base", s.base),
                ("stress", s.stress),
                ("safe_haven_flip", s.safe_haven_flip),
                ("decoupling", s.decoupling),
            ],
        )?;
        self.rate_vol_bp.usd.validate("rate_vol_bp.usd")?;
        self.rate_vol_bp.eur.validate("rate_vol_bp.eur")?;
        self.rate_vol_bp.gbp.validate("rate_vol_bp.gbp")?;
        let w = &self.rate_component_weights;
        shares(
            "rate_component_weights",
            &[
                ("level", w.level),
                ("slope", w.slope),
                ("curvature", w.curvature),
            ],
        )?;
        let c = &self.cross_currency_curve_correlation;
        for (name, v) in [
            ("level", c.level),
            ("slope", c.slope),
            ("curvature", c.curvature),
        ] {
            if !(v.is_finite() && (-0.5..=1.0).contains(&v)) {
                // Three curves equicorrelated at ρ are a valid correlation only for ρ ≥ −1/2.
                return Err(ScenarioError::config(
                    format!("cross_currency_curve_correlation.{name}"),
                    format!("must be in [-0.5, 1] (three equicorrelated curves), got {v}"),
                ));
            }
        }
        self.credit_spread_vol.validate("credit_spread_vol")?;
        let m = &self.rating_multipliers;
        for (name, v) in [
            ("aaa", m.aaa),
            ("aa", m.aa),
            ("a", m.a),
            ("bbb", m.bbb),
            ("bb", m.bb),
            ("b", m.b),
        ] {
            positive(&format!("rating_multipliers.{name}"), v)?;
        }
        let a = &self.sector_amplification;
        for (name, v) in [
            ("financials", a.financials),
            ("industrials", a.industrials),
            ("utilities", a.utilities),
            ("energy", a.energy),
            ("other", a.other),
        ] {
            positive(&format!("sector_amplification.{name}"), v)?;
        }
        self.equity_vol.validate("equity_vol")?;
        let r = &self.regimes;
        shares(
            "regimes",
            &[
                ("normal.share", r.normal.share),
                ("stress.share", r.stress.share),
                ("crisis.share", r.crisis.share),
            ],
        )?;
        for (name, g) in [
            ("normal", &r.normal),
            ("stress", &r.stress),
            ("crisis", &r.crisis),
        ] {
            for (f, v) in [
                ("equity_fx", g.equity_fx),
                ("equity_bonds", g.equity_bonds),
                ("fx_rates", g.fx_rates),
                ("credit_ig_hy", g.credit_ig_hy),
                ("credit_equity", g.credit_equity),
            ] {
                correlation(&format!("regimes.{name}.{f}"), v)?;
            }
            if !(g.equity_equity.is_finite() && (-0.5..=1.0).contains(&g.equity_equity)) {
                return Err(ScenarioError::config(
                    format!("regimes.{name}.equity_equity"),
                    format!(
                        "must be in [-0.5, 1] (three equicorrelated markets), got {}",
                        g.equity_equity
                    ),
                ));
            }
            if !(g.start_stressed.is_finite() && (0.0..=1.0).contains(&g.start_stressed)) {
                return Err(ScenarioError::config(
                    format!("regimes.{name}.start_stressed"),
                    format!("must be a probability, got {}", g.start_stressed),
                ));
            }
        }
        let v = self.vol_rank_correlation;
        if !(v.is_finite() && (0.0..0.95).contains(&v)) {
            return Err(ScenarioError::config(
                "vol_rank_correlation",
                format!("must be in [0, 0.95), got {v}"),
            ));
        }
        if !(self.equity_risk_premium.is_finite() && self.equity_risk_premium.abs() <= 0.5) {
            return Err(ScenarioError::config(
                "equity_risk_premium",
                format!(
                    "must be a yearly drift within ±50%, got {}",
                    self.equity_risk_premium
                ),
            ));
        }
        Ok(())
    }
}
