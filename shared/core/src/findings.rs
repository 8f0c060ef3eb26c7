//! What a persona agent hands on: figures (named numbers with units), tables for the
//! report, and recommendations — each recommendation citing, by key, the figures it
//! rests on, so a reader (or a check) can trace every claim to a computed number.

use crate::report::{money, pct};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// An amount in the run's base currency (the currency is the run's, not the
    /// figure's: one run, one base currency). `usd` is how artifacts written before
    /// figures became currency-neutral spell it.
    #[serde(alias = "usd")]
    Money,
    /// A fraction of one (0.05 = 5%), shown as a percentage. `percent` is how older
    /// artifacts spelt it.
    #[serde(alias = "percent")]
    Fraction,
    Ratio,
    Months,
    Count,
}

/// The period a figure is measured over. A risk committee must never read a 21-month
/// episode loss as a one-month VaR, so every figure says which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    /// Not a change over time: a level, exposure, ratio, share, count or amount held.
    Point,
    /// A P&L, return or loss over this many months (1 for a one-month VaR).
    Months(u32),
    /// An annualised rate (volatility, cost per year).
    Annualised,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub value: f64,
    pub unit: Unit,
    /// Figures written before horizons were recorded read as [`Horizon::Point`].
    #[serde(default = "point")]
    pub horizon: Horizon,
}

fn point() -> Horizon {
    Horizon::Point
}

/// How a chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Lines over ordered labels (months): e.g. regime probabilities through time.
    Timeline,
    /// Labelled points at (x, y): e.g. a frontier of proposals.
    Scatter,
}

/// One line (or set of points) of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    pub name: String,
    /// One value per label of the chart.
    pub values: Vec<f64>,
}

/// Numbers a persona hands to the report for a chart, serialised with its findings so
/// the report draws what the persona computed and never recomputes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub key: String,
    pub title: String,
    pub kind: ChartKind,
    /// One label per point: months for a timeline, proposal names for a scatter.
    pub labels: Vec<String>,
    /// A scatter's x values (one per label); empty for a timeline.
    #[serde(default)]
    pub x: Vec<f64>,
    pub x_label: String,
    pub x_unit: Unit,
    pub y_label: String,
    pub y_unit: Unit,
    pub series: Vec<ChartSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub text: String,
    /// Keys of the figures the recommendation rests on.
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub persona: String,
    pub headline: String,
    pub figures: Vec<Figure>,
    /// Tables as numbers with their units (see [`crate::report::Table`]).
    pub tables: Vec<crate::report::Table>,
    pub recommendations: Vec<Recommendation>,
    /// Chart data for the report (older artifacts have none).
    #[serde(default)]
    pub charts: Vec<Chart>,
}

impl Findings {
    pub fn new(persona: &str) -> Self {
        Findings {
            persona: persona.into(),
            headline: String::new(),
            figures: Vec::new(),
            tables: Vec::new(),
            recommendations: Vec::new(),
            charts: Vec::new(),
        }
    }

    /// Record a figure and return its value. `horizon` says what period it measures.
    pub fn figure(
        &mut self,
        key: &str,
        label: &str,
        value: f64,
        unit: Unit,
        horizon: Horizon,
    ) -> f64 {
        self.figures.push(Figure {
            key: key.into(),
            label: label.into(),
            value,
            unit,
            horizon,
        });
        value
    }

    pub fn get(&self, key: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.key == key).map(|f| f.value)
    }

    /// Add a recommendation; every cited key must be a figure of this persona.
    pub fn recommend(&mut self, text: String, cites: &[&str]) {
        debug_assert!(
            cites.iter().all(|c| self.get(c).is_some()),
            "recommendation cites an unknown figure: {cites:?}"
        );
        self.recommendations.push(Recommendation {
            text,
            cites: cites.iter().map(|c| c.to_string()).collect(),
        });
    }
}

impl Figure {
    /// The value as a reader sees it; `currency` is the run's base currency (ISO code).
    pub fn formatted(&self, currency: &str) -> String {
        match self.unit {
            Unit::Money => money(self.value, currency),
            Unit::Fraction => pct(self.value),
            Unit::Ratio => format!("{:.2}", self.value),
            Unit::Months | Unit::Count => format!("{:.0}", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_figures_use_the_base_currency() {
        let f = Figure {
            key: "var".into(),
            label: "VaR".into(),
            value: 83_049_000.0,
            unit: Unit::Money,
            horizon: Horizon::Months(1),
        };
        assert_eq!(f.formatted("USD"), "USD 83.0m");
        assert_eq!(f.formatted("EUR"), "EUR 83.0m");
    }

    #[test]
    fn findings_written_with_the_old_usd_unit_still_read() {
        let old: Figure =
            serde_json::from_str(r#"{"key":"k","label":"l","value":1.0,"unit":"usd"}"#).unwrap();
        assert_eq!(old.unit, Unit::Money);
        assert_eq!(old.horizon, Horizon::Point);
        assert_eq!(serde_json::to_string(&Unit::Money).unwrap(), r#""money""#);
    }
}
