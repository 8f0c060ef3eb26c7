//! The market model every market figure is computed on: a set of daily risk factors and
//! their covariance, the named stress scenarios expressed as moves of those factors, and
//! the provenance of both. Calibrated once per process from the real data embedded in
//! the binary ([`crate::calibrate`]) and shared by every assessment.

use serde::{Deserialize, Serialize};

/// What a factor measures, and so in which unit its moves are expressed and how a
/// position's exposure to it turns a move into P&L.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// Log return of an equity, equity index or ETF price. Exposure: dollars of
    /// market value times beta; P&L = exposure × move.
    EquityReturn,
    /// Log return of a commodity price (WTI crude).
    CommodityReturn,
    /// Log change of an implied-volatility index (VIX). Equity options' implied vols are
    /// taken to move proportionally with it.
    VolatilityLogChange,
    /// Change of a US Treasury zero-coupon yield, in basis points. Exposure: DV01
    /// (dollars gained per +1 bp, negative for a long bond); P&L = DV01 × move.
    RateChangeBp,
    /// Change of a credit spread, in basis points. Exposure: CS01, as DV01.
    CreditSpreadChangeBp,
    /// Log return of a currency's USD price (USD per unit of the currency).
    FxReturn,
}

impl FactorKind {
    /// Moves in basis points (rates, spreads) rather than as returns.
    pub fn is_basis_points(self) -> bool {
        matches!(
            self,
            FactorKind::RateChangeBp | FactorKind::CreditSpreadChangeBp
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Identifier positions use in their exposures: a ticker ("AAPL", "SPX", "MTUM"),
    /// "UST_5Y", "BAA_AAA", "DEM" …
    pub name: String,
    pub kind: FactorKind,
    /// What it is and where its history comes from.
    pub description: String,
}

/// A named stress scenario: every factor's move over the scenario's horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressScenario {
    pub name: String,
    /// Trading days the move spans (a one-month episode is 21).
    pub horizon_days: u32,
    /// How the moves were obtained (which episode, which factors were observed and
    /// which follow conditionally).
    pub source: String,
    /// One move per model factor, in the factor's unit.
    pub moves: Vec<f64>,
}

/// The calibrated model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketModel {
    /// Names the method and a hash of the data: goes into every audit record.
    pub version: String,
    pub factors: Vec<Factor>,
    /// Daily covariance of the factor moves, K×K row-major, in the factors' units.
    pub covariance: Vec<f64>,
    /// The estimator, windows and assumptions, in words, for the report and the audit.
    pub calibration: Vec<String>,
    pub stress_scenarios: Vec<StressScenario>,
    /// Degrees of freedom ν of the multivariate Student-t the factor moves (and the
    /// idiosyncratic returns) follow, as a normal variance mixture with the same
    /// covariance (McNeil, Frey & Embrechts 2015, §6.2); `None` = multivariate normal.
    /// Always > 2 (the covariance must exist).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "tail_dof"
    )]
    pub tail_dof: Option<f64>,
    /// How [`crate::market::SimulationSet`] draws the factor moves. `None`: a model
    /// written before `market-model/3`, whose `tail_dof` decides (Student-t when set,
    /// normal otherwise); see [`MarketModel::simulation_method`]. When set it wins over
    /// `tail_dof`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationMethod>,
    /// The residual history filtered historical simulation draws from (the daily equity
    /// block's common dates). Required by [`SimulationMethod::FilteredHistorical`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "filtered_history"
    )]
    pub filtered_history: Option<FilteredHistory>,
}

/// The distribution a simulation set's factor moves are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum SimulationMethod {
    /// Multivariate normal with the model's covariance.
    Normal,
    /// Multivariate Student-t with the model's covariance, a normal variance mixture
    /// (ν = `dof` > 2).
    StudentT { dof: f64 },
    /// Filtered historical simulation (Barone-Adesi, Giannopoulos & Vosper 1999) of the
    /// factors in [`MarketModel::filtered_history`] — today's EWMA vols times a
    /// historical day's EWMA-standardised residual vector — over the last
    /// `window_years` of their common history; every other factor normal conditional on
    /// them with the model's covariance.
    FilteredHistorical { window_years: u32 },
}

/// EWMA-standardised residual vectors of a block of factors with a common history, and
/// the block's current EWMA vols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilteredHistory {
    /// The block's factors, by name (each one a model factor).
    pub factors: Vec<String>,
    /// The day of each residual vector, ascending.
    pub dates: Vec<String>,
    /// `residuals[t * factors.len() + j]` = factor j's move on `dates[t]` divided by its
    /// EWMA volatility forecast for that day (λ = 0.94, data strictly before the day).
    pub residuals: Vec<f64>,
    /// Each factor's EWMA volatility forecast for the day after the last date, in its
    /// unit (the model's daily vol of that factor).
    pub current_vol: Vec<f64>,
    /// Per day, the multiplier of the idiosyncratic draw: the cross-sectional dispersion
    /// of that day's single-stock residuals, normalised to a mean square of 1 over the
    /// days (so the idiosyncratic variance is the stated one on average).
    pub idiosyncratic_scale: Vec<f64>,
}

impl FilteredHistory {
    pub fn days(&self) -> usize {
        self.dates.len()
    }

    /// Day `t`'s residual vector.
    pub fn day(&self, t: usize) -> &[f64] {
        let m = self.factors.len();
        &self.residuals[t * m..(t + 1) * m]
    }

    /// Shapes agree, at least one day and one factor, every number finite, vols and
    /// scales positive/non-negative.
    pub fn check(&self) -> Result<(), String> {
        let (m, n) = (self.factors.len(), self.dates.len());
        if m == 0 || n == 0 {
            return Err(format!(
                "needs at least one factor and one day, got {m} factors and {n} days"
            ));
        }
        if self.residuals.len() != m * n {
            return Err(format!(
                "residuals: {} values for {n} days × {m} factors",
                self.residuals.len()
            ));
        }
        if self.current_vol.len() != m {
            return Err(format!(
                "current_vol: {} values for {m} factors",
                self.current_vol.len()
            ));
        }
        if self.idiosyncratic_scale.len() != n {
            return Err(format!(
                "idiosyncratic_scale: {} values for {n} days",
                self.idiosyncratic_scale.len()
            ));
        }
        if let Some(x) = self.residuals.iter().find(|x| !x.is_finite()) {
            return Err(format!("residuals: {x} is not finite"));
        }
        if let Some(x) = self
            .current_vol
            .iter()
            .find(|x| !(x.is_finite() && **x > 0.0))
        {
            return Err(format!("current_vol: {x} is not a positive number"));
        }
        if let Some(x) = self
            .idiosyncratic_scale
            .iter()
            .find(|x| !(x.is_finite() && **x >= 0.0))
        {
            return Err(format!(
                "idiosyncratic_scale: {x} is not a non-negative number"
            ));
        }
        Ok(())
    }
}

fn filtered_history<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<FilteredHistory>, D::Error> {
    let v = Option::<FilteredHistory>::deserialize(d)?;
    if let Some(h) = &v {
        h.check()
            .map_err(|e| serde::de::Error::custom(format!("filtered_history: {e}")))?;
    }
    Ok(v)
}

/// `tail_dof` must be finite and > 2 (else the covariance does not exist).
fn tail_dof<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    match v {
        Some(nu) if !(nu.is_finite() && nu > 2.0) => Err(serde::de::Error::custom(format!(
            "tail_dof: degrees of freedom must be finite and > 2, got {nu}"
        ))),
        _ => Ok(v),
    }
}

impl MarketModel {
    pub fn factor_count(&self) -> usize {
        self.factors.len()
    }

    pub fn factor_index(&self, name: &str) -> Option<usize> {
        self.factors.iter().position(|f| f.name == name)
    }

    /// The simulation method in force: `simulation` if set, else the legacy reading of
    /// `tail_dof` (Student-t when set, normal otherwise).
    pub fn simulation_method(&self) -> SimulationMethod {
        self.simulation.unwrap_or(match self.tail_dof {
            Some(dof) => SimulationMethod::StudentT { dof },
            None => SimulationMethod::Normal,
        })
    }

    /// Daily volatility of factor `j`.
    pub fn daily_vol(&self, j: usize) -> f64 {
        let k = self.factor_count();
        self.covariance[j * k + j].sqrt()
    }
}

/// A small hand-made model for the tests: SPX, VIX, the 5-year Treasury and DEM, with
/// plausible daily vols and correlations, and one named stress.
#[cfg(test)]
pub(crate) fn test_model() -> MarketModel {
    let names = [
        ("SPX", FactorKind::EquityReturn),
        ("VIX", FactorKind::VolatilityLogChange),
        ("UST_5Y", FactorKind::RateChangeBp),
        ("DEM", FactorKind::FxReturn),
    ];
    let vols = [0.01, 0.06, 6.0, 0.006];
    let corr = [
        [1.0, -0.7, 0.3, 0.1],
        [-0.7, 1.0, -0.2, 0.0],
        [0.3, -0.2, 1.0, 0.2],
        [0.1, 0.0, 0.2, 1.0],
    ];
    let mut covariance = Vec::new();
    for i in 0..4 {
        for j in 0..4 {
            covariance.push(corr[i][j] * vols[i] * vols[j]);
        }
    }
    MarketModel {
        version: "test-model".into(),
        factors: names
            .iter()
            .map(|(n, k)| Factor {
                name: n.to_string(),
                kind: *k,
                description: format!("test factor {n}"),
            })
            .collect(),
        covariance,
        calibration: vec!["hand-made for tests".into()],
        stress_scenarios: vec![StressScenario {
            name: "test crash".into(),
            horizon_days: 21,
            source: "hand-made".into(),
            moves: vec![-0.10, 0.5, -20.0, 0.02],
        }],
        tail_dof: None,
        simulation: None,
        filtered_history: None,
    }
}
