//! Merge of all partitions: the scenario loss distribution and the VaR / ES figures a
//! risk manager compares — one-month, at 95% and 99%, under the normal covariance
//! (sample and Ledoit-Wolf) versus the stressed-period covariance, by parametric
//! (Gaussian) and historical simulation, and across the stress scenario set itself.

use crate::model::{from_rows, to_rows, FactorModel};
use crate::scenarios::ScenarioKind;
use crate::ScenarioOutcome;
use serde::{Deserialize, Serialize};
use stresslab_analytics::{covariance, histogram, risk};

pub const CONFIDENCES: [f64; 2] = [0.95, 0.99];
/// How many worst scenarios the report lists.
pub const WORST_LISTED: usize = 20;
pub const HISTOGRAM_BINS: usize = 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TailFigures {
    pub confidence: f64,
    /// Loss not exceeded with this confidence, in the base currency (positive = loss).
    pub var: f64,
    /// Expected shortfall in the base currency: the Gaussian tail mean for parametric
    /// views, the Acerbi-Tasche estimator for empirical ones.
    pub es: f64,
    /// Empirical views: how many observations the ES rests on, n (1 − confidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_observations: Option<f64>,
    /// Empirical views whose tail rests on fewer than one observation (n (1 − c) < 1):
    /// why VaR and ES at this confidence are not reported. `var` and `es` still hold
    /// the estimator's output (the worst observations) for reference, but the report
    /// and results.json show them as n/a / null with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_reported: Option<String>,
}

impl TailFigures {
    /// VaR and ES as reported: `None` where the tail rests on fewer than one
    /// observation.
    pub fn reported(&self) -> Option<(f64, f64)> {
        self.not_reported.is_none().then_some((self.var, self.es))
    }
}

/// An empirical tail needs at least this many observations beyond the quantile,
/// n (1 − c), to be reported: below one, "VaR / ES 99%" would be the worst month (or an
/// interpolation between the two worst) dressed up as a 1-in-100 figure.
pub const MIN_TAIL_OBSERVATIONS: f64 = 1.0;

/// One way of measuring the book's one-month tail risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskView {
    /// Stable key: `normal_sample`, `normal_shrunk`, `stressed_period`,
    /// `historical_full`, `historical_stressed`, `scenario_set`.
    pub key: String,
    pub label: String,
    /// Monthly P&L volatility in the base currency (parametric views).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatility: Option<f64>,
    pub tails: Vec<TailFigures>,
}

impl RiskView {
    pub fn tail(&self, confidence: f64) -> Option<&TailFigures> {
        self.tails
            .iter()
            .find(|t| (t.confidence - confidence).abs() < 1e-12)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindSummary {
    pub kind: ScenarioKind,
    pub count: usize,
    pub worst_loss: f64,
    pub mean_loss: f64,
    /// How many of the 5% worst scenarios are of this kind.
    pub in_worst_5pct: usize,
}

/// The correlation breakdowns against the same market shocks under normal correlations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationEffect {
    pub scenarios: usize,
    pub mean_loss: f64,
    /// Mean loss of the same market shocks with the same vols, normal correlations.
    pub mean_loss_normal_correlation: f64,
    /// `mean_loss − mean_loss_normal_correlation`.
    pub mean_effect: f64,
    pub largest_effect: f64,
    /// Share of breakdowns whose correlations add to the loss.
    pub fraction_adding_loss: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossHistogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorAggregate {
    pub scenario_count: usize,
    pub total_market_value: f64,
    /// Every scenario's outcome, by id.
    pub outcomes: Vec<ScenarioOutcome>,
    /// Ids of the worst one-month scenarios, worst first.
    pub worst: Vec<u32>,
    /// Ids of the multi-month historical episodes (compounded), worst first. They are
    /// never pooled with the one-month scenarios: not in `worst`, the histogram, the
    /// kind table or the scenario-set view.
    #[serde(default)]
    pub episodes: Vec<u32>,
    /// How many scenarios are one-month moves.
    #[serde(default)]
    pub one_month_count: usize,
    /// What the correlation breakdowns' correlations alone add to their losses.
    #[serde(default)]
    pub correlation_effect: Option<CorrelationEffect>,
    pub loss_histogram: LossHistogram,
    pub risk_views: Vec<RiskView>,
    pub by_kind: Vec<KindSummary>,
    /// Factor correlation, normal (Ledoit-Wolf) and stressed period.
    pub correlation_normal: Vec<Vec<f64>>,
    pub correlation_stressed: Vec<Vec<f64>>,
}

impl FactorAggregate {
    pub fn view(&self, key: &str) -> Option<&RiskView> {
        self.risk_views.iter().find(|v| v.key == key)
    }
    pub fn outcome(&self, id: u32) -> Option<&ScenarioOutcome> {
        self.outcomes.get(id as usize).filter(|o| o.id == id)
    }
}

fn parametric(key: &str, label: String, model: &FactorModel, cov: &[Vec<f64>]) -> RiskView {
    let sigma = model.pnl_volatility(&from_rows(cov));
    RiskView {
        key: key.into(),
        label,
        volatility: Some(sigma),
        tails: CONFIDENCES
            .iter()
            .map(|&c| TailFigures {
                confidence: c,
                var: risk::parametric_var(sigma, 0.0, c),
                es: risk::parametric_es(sigma, 0.0, c),
                tail_observations: None,
                not_reported: None,
            })
            .collect(),
    }
}

fn empirical(key: &str, label: String, pnl: &[f64], currency: &str) -> RiskView {
    RiskView {
        key: key.into(),
        label,
        volatility: None,
        tails: CONFIDENCES
            .iter()
            .map(|&c| {
                let t = risk::historical_var_es(pnl, c);
                let worst = pnl.iter().map(|x| -x).fold(f64::NEG_INFINITY, f64::max);
                TailFigures {
                    confidence: c,
                    var: t.var,
                    es: t.es,
                    tail_observations: Some(t.tail_observations),
                    not_reported: (t.tail_observations < MIN_TAIL_OBSERVATIONS).then(|| {
                        format!(
                            "{} observations give {:.2} beyond the {:.0}% quantile, fewer than one: VaR and ES at {:.0}% are not estimated (the worst observation lost {})",
                            pnl.len(),
                            t.tail_observations,
                            c * 100.0,
                            c * 100.0,
                            stresslab_core::report::money(worst, currency)
                        )
                    }),
                }
            })
            .collect(),
    }
}

fn correlation_effect(one_month: &[&ScenarioOutcome]) -> Option<CorrelationEffect> {
    let with: Vec<(f64, f64)> = one_month
        .iter()
        .filter_map(|o| o.correlation_effect.map(|e| (o.loss(), e)))
        .collect();
    if with.is_empty() {
        return None;
    }
    let n = with.len() as f64;
    let mean_loss = with.iter().map(|(l, _)| l).sum::<f64>() / n;
    let mean_effect = with.iter().map(|(_, e)| e).sum::<f64>() / n;
    Some(CorrelationEffect {
        scenarios: with.len(),
        mean_loss,
        mean_loss_normal_correlation: mean_loss - mean_effect,
        mean_effect,
        largest_effect: with.iter().map(|(_, e)| *e).fold(f64::MIN, f64::max),
        fraction_adding_loss: with.iter().filter(|(_, e)| *e > 0.0).count() as f64 / n,
    })
}

pub fn merge(model: &FactorModel, mut outcomes: Vec<ScenarioOutcome>) -> FactorAggregate {
    outcomes.sort_by_key(|o| o.id);
    // One horizon per figure: the one-month moves make up the scenario distribution;
    // multi-month episodes are reported on their own.
    let one_month: Vec<&ScenarioOutcome> =
        outcomes.iter().filter(|o| o.horizon_months == 1).collect();
    let mut episodes: Vec<&ScenarioOutcome> =
        outcomes.iter().filter(|o| o.horizon_months > 1).collect();
    episodes.sort_by(|a, b| b.loss().total_cmp(&a.loss()).then(a.id.cmp(&b.id)));
    let pnl: Vec<f64> = one_month.iter().map(|o| o.pnl).collect();
    let losses: Vec<f64> = one_month.iter().map(|o| o.loss()).collect();

    let mut by_loss: Vec<&ScenarioOutcome> = one_month.clone();
    by_loss.sort_by(|a, b| b.loss().total_cmp(&a.loss()).then(a.id.cmp(&b.id)));
    let worst: Vec<u32> = by_loss.iter().take(WORST_LISTED).map(|o| o.id).collect();
    let tail_count = (one_month.len() as f64 * 0.05).ceil() as usize;
    // Membership by id in O(1): a `Vec::contains` per scenario would make this
    // quadratic in the scenario count (5·10⁸ steps at 100,000 scenarios).
    let tail_ids: std::collections::HashSet<u32> =
        by_loss.iter().take(tail_count).map(|o| o.id).collect();

    let by_kind = ScenarioKind::ALL
        .iter()
        .filter_map(|&kind| {
            let of_kind: Vec<&ScenarioOutcome> = one_month
                .iter()
                .copied()
                .filter(|o| o.kind == kind)
                .collect();
            if of_kind.is_empty() {
                return None;
            }
            Some(KindSummary {
                kind,
                count: of_kind.len(),
                worst_loss: of_kind.iter().map(|o| o.loss()).fold(f64::MIN, f64::max),
                mean_loss: of_kind.iter().map(|o| o.loss()).sum::<f64>() / of_kind.len() as f64,
                in_worst_5pct: of_kind.iter().filter(|o| tail_ids.contains(&o.id)).count(),
            })
        })
        .collect();

    let hist = histogram::histogram(&losses, HISTOGRAM_BINS);

    // Historical simulation on today's exposures: factor P&L of every month in the
    // history, and of the stressed window only.
    let factor_history_pnl: Vec<f64> = model
        .history
        .iter()
        .map(|f| model.book_exposure.iter().zip(f).map(|(b, x)| b * x).sum())
        .collect();
    let stress_start = model
        .history_dates
        .iter()
        .position(|d| *d == model.stressed_window.start)
        .unwrap_or(0);
    let stress_end = (stress_start + model.stressed_window.months).min(factor_history_pnl.len());
    let w = &model.window;
    let s = &model.stressed_window;
    let risk_views = vec![
        parametric(
            "normal_sample",
            format!("Normal, sample covariance ({} to {})", w.start, w.end),
            model,
            &model.covariance_sample,
        ),
        parametric(
            "normal_shrunk",
            format!(
                "Normal, Ledoit-Wolf constant-correlation covariance (shrinkage {:.2})",
                model.shrinkage_intensity
            ),
            model,
            &model.covariance_shrunk,
        ),
        parametric(
            "stressed_period",
            format!("Stressed covariance ({} to {})", s.start, s.end),
            model,
            &model.covariance_stressed,
        ),
        empirical(
            "historical_full",
            format!(
                "Historical simulation, factor P&L, {} to {}",
                model.history_dates.first().map_or("", String::as_str),
                model.history_dates.last().map_or("", String::as_str)
            ),
            &factor_history_pnl,
            &model.base_currency,
        ),
        empirical(
            "historical_stressed",
            format!(
                "Historical simulation, stressed window ({} to {})",
                s.start, s.end
            ),
            &factor_history_pnl[stress_start..stress_end],
            &model.base_currency,
        ),
        empirical(
            "scenario_set",
            format!(
                "Across the {} one-month stress scenarios (equal weight: a summary of the set, not a probability)",
                one_month.len()
            ),
            &pnl,
            &model.base_currency,
        ),
    ];

    let correlation =
        |rows: &[Vec<f64>]| to_rows(&covariance::correlation_from_covariance(&from_rows(rows)));
    FactorAggregate {
        scenario_count: outcomes.len(),
        total_market_value: model.total_market_value,
        worst,
        episodes: episodes.iter().map(|o| o.id).collect(),
        one_month_count: one_month.len(),
        correlation_effect: correlation_effect(&one_month),
        loss_histogram: LossHistogram {
            edges: hist.edges,
            counts: hist.counts,
        },
        risk_views,
        by_kind,
        correlation_normal: correlation(&model.covariance_shrunk),
        correlation_stressed: correlation(&model.covariance_stressed),
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_on_fewer_than_one_observation_is_not_reported() {
        // 24 months: 24 × 1% = 0.24 observations behind VaR / ES 99% (not reported),
        // 24 × 5% = 1.2 behind 95% (reported).
        let pnl: Vec<f64> = (0..24).map(|i| f64::from(i) - 20.0).collect();
        let v = empirical("historical_stressed", "h".into(), &pnl, "USD");
        let t99 = v.tail(0.99).unwrap();
        assert!((t99.tail_observations.unwrap() - 0.24).abs() < 1e-12);
        assert_eq!(t99.reported(), None);
        let reason = t99.not_reported.as_deref().unwrap();
        assert!(reason.starts_with("24 observations give 0.24"), "{reason}");
        assert!(reason.contains("lost USD 20"), "{reason}");
        let t95 = v.tail(0.95).unwrap();
        assert_eq!(t95.reported(), Some((t95.var, t95.es)));
        assert!(t95.not_reported.is_none());
    }
}
