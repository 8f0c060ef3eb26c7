//! What a persona agent hands on: figures (named numbers with units), tables for the
//! report, and recommendations — each recommendation citing, by key, the figures it
//! rests on, so a reader (or a check) can trace every claim to a computed number.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Usd,
    /// A fraction shown as a percentage (0.05 = 5%).
    Percent,
    Ratio,
    Months,
    Count,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub value: f64,
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub text: String,
    /// Keys of the figures the recommendation rests on.
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub persona: String,
    pub headline: String,
    pub figures: Vec<Figure>,
    pub tables: Vec<Table>,
    pub recommendations: Vec<Recommendation>,
}

impl Findings {
    pub fn new(persona: &str) -> Self {
        Findings {
            persona: persona.into(),
            headline: String::new(),
            figures: Vec::new(),
            tables: Vec::new(),
            recommendations: Vec::new(),
        }
    }

    pub fn figure(&mut self, key: &str, label: &str, value: f64, unit: Unit) -> f64 {
        self.figures.push(Figure {
            key: key.into(),
            label: label.into(),
            value,
            unit,
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

/// Human formatting shared by findings, the narrative and the report.
pub fn usd(x: f64) -> String {
    let abs = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if abs >= 1e9 {
        format!("{sign}${:.2}bn", abs / 1e9)
    } else if abs >= 1e6 {
        format!("{sign}${:.1}m", abs / 1e6)
    } else if abs >= 1e3 {
        format!("{sign}${:.1}k", abs / 1e3)
    } else {
        format!("{sign}${abs:.0}")
    }
}

pub fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

impl Figure {
    pub fn formatted(&self) -> String {
        match self.unit {
            Unit::Usd => usd(self.value),
            Unit::Percent => pct(self.value),
            Unit::Ratio => format!("{:.2}", self.value),
            Unit::Months | Unit::Count => format!("{:.0}", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_readable() {
        assert_eq!(usd(1_234_567.0), "$1.2m");
        assert_eq!(usd(-2_500_000_000.0), "-$2.50bn");
        assert_eq!(usd(950.0), "$950");
        assert_eq!(pct(0.1234), "12.3%");
    }
}
