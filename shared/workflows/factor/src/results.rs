//! The factor run's `results.json` body: every number the report shows, as numbers,
//! in the conventions the kernel's envelope states (base currency, losses positive,
//! fractions of one). Its shape is `schemas/factor-results.schema.json`, checked by a
//! real JSON Schema validator in the tests.

use crate::aggregate::FactorAggregate;
use crate::model::{from_rows, FactorModel};
use crate::personas::{factor_contributions, position_contributions};
use serde_json::{json, Map, Value};
use stresslab_analytics::stats;
use stresslab_core::engine::RunContext;
use stresslab_core::findings::Findings;
use stresslab_core::results::{envelope, Horizon};

/// What the factor figures measure over: VaR/ES, historical simulation and most
/// scenarios are one-month moves; named episodes replayed whole say "compounded".
pub const HORIZON: &str =
    "one month (scenarios named \"compounded\" replay a whole multi-month episode)";

/// Confidence of the Euler (component) VaR tables.
const CONTRIBUTION_CONFIDENCE: f64 = 0.99;

fn by_factor(model: &FactorModel, cov: &[Vec<f64>]) -> Value {
    let z = stats::normal_quantile(CONTRIBUTION_CONFIDENCE);
    let c = factor_contributions(model, &from_rows(cov));
    let sources = model
        .factors
        .iter()
        .cloned()
        .chain(["Idiosyncratic".to_owned()]);
    json!({
        "var": z * c.total,
        "by_source": sources.zip(&c.components).map(|(source, part)| json!({
            "source": source,
            "var": z * part,
            "fraction": part / c.total,
        })).collect::<Vec<_>>(),
    })
}

pub fn results_json(
    run: &RunContext,
    model: &FactorModel,
    agg: &FactorAggregate,
    findings: &[Findings],
    narrative: &str,
) -> Vec<u8> {
    let tmv = model.total_market_value;
    let named = |values: &[f64]| -> Value {
        Value::Object(
            model
                .factors
                .iter()
                .zip(values)
                .map(|(f, v)| (f.clone(), json!(v)))
                .collect::<Map<String, Value>>(),
        )
    };
    let z = stats::normal_quantile(CONTRIBUTION_CONFIDENCE);
    let stressed_positions = position_contributions(model, &from_rows(&model.covariance_stressed));
    let body = json!({
        "model": {
            "factors": model.factors,
            "estimation_window": model.window,
            "stressed_window": model.stressed_window,
            "book_betas": named(&model.book_exposure.iter().map(|b| b / tmv).collect::<Vec<_>>()),
            "book_exposure": named(&model.book_exposure),
            "idiosyncratic_variance": model.idiosyncratic_variance,
            "shrinkage_intensity": model.shrinkage_intensity,
            "stressed_shrinkage_intensity": model.stressed_shrinkage_intensity,
            "shrinkage_target": "constant_correlation",
            "covariance": {
                "sample": model.covariance_sample,
                "ledoit_wolf": model.covariance_shrunk,
                "stressed": model.covariance_stressed,
            },
            "positions": model.positions.iter().map(|p| json!({
                "id": p.id,
                "name": p.name,
                "currency": p.currency,
                "fx_rate": p.fx_rate,
                "market_value": p.market_value,
                "exposure_amount": p.exposure_amount,
                "exposures": named(&p.exposures),
                "alpha_monthly": p.alpha,
                "r_squared": p.r_squared,
                "residual_volatility_monthly": p.residual_vol,
                "estimated": p.return_series.is_some(),
            })).collect::<Vec<_>>(),
        },
        "risk_views": agg.risk_views.iter().map(|v| json!({
            "key": v.key,
            "label": v.label,
            "volatility": v.volatility,
            "tails": v.tails.iter().map(|t| json!({
                "confidence": t.confidence,
                // null, with the reason, where the tail rests on < 1 observation.
                "var": t.reported().map(|(var, _)| var),
                "es": t.reported().map(|(_, es)| es),
                "var_fraction_of_value": t.reported().map(|(var, _)| var / tmv),
                "es_fraction_of_value": t.reported().map(|(_, es)| es / tmv),
                "tail_observations": t.tail_observations,
                "not_reported_reason": t.not_reported,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "risk_contributions": {
            "confidence": CONTRIBUTION_CONFIDENCE,
            "method": "Euler allocation of parametric VaR (components sum to the total)",
            "normal_ledoit_wolf": by_factor(model, &model.covariance_shrunk),
            "stressed": by_factor(model, &model.covariance_stressed),
            "positions_stressed": model.positions.iter().zip(&stressed_positions.components).map(|(p, c)| json!({
                "id": p.id,
                "var": z * c,
                "fraction_of_risk": c / stressed_positions.total,
                "fraction_of_value": p.market_value / tmv,
            })).collect::<Vec<_>>(),
        },
        "scenarios": agg.outcomes.iter().map(|o| json!({
            "id": o.id,
            "kind": o.kind,
            "name": o.name,
            "horizon_months": o.horizon_months,
            "severity": o.severity,
            "loss": o.loss(),
            "loss_fraction_of_value": o.loss() / tmv,
            "factor_loss": named(&o.factor_pnl.iter().map(|x| -x).collect::<Vec<_>>()),
            "residual_loss": -o.residual_pnl,
            "mahalanobis_normal": o.mahalanobis_normal,
            "mahalanobis_stressed": o.mahalanobis_stressed,
            "history_exceedance_fraction": o.history_exceedance,
            "correlation_effect_loss": o.correlation_effect,
        })).collect::<Vec<_>>(),
        "worst_scenario_ids": agg.worst,
        "episode_ids": agg.episodes,
        "one_month_scenario_count": agg.one_month_count,
        "correlation_effect": agg.correlation_effect,
        "by_kind": agg.by_kind,
        "loss_histogram": agg.loss_histogram,
        "correlation": {"normal": agg.correlation_normal, "stressed": agg.correlation_stressed},
    });
    let doc = envelope(
        run,
        tmv,
        Horizon {
            description: HORIZON,
        },
        narrative,
        findings,
        body,
    );
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}
