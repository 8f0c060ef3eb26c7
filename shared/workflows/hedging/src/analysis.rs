//! Across scenarios: how each combination of desk programs fares over the whole
//! volatility design, the robust choice, the choice that is best in the typical
//! scenario, and what robustness costs.
//!
//! Statistics across scenarios are over the scenario *design* (Latin hypercube samples
//! of volatility hyperparameters), not a probability distribution: "worst case" is the
//! worst scenario of the design, "median" its median. The report says so.

use crate::evaluate::{ComboStats, EvalModel};
use crate::HedgingAggregate;
use serde::{Deserialize, Serialize};
use stresslab_analytics::stats::quantile;

/// One combination over all scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComboSummary {
    pub combo: usize,
    pub label: String,
    pub cost_bp: f64,
    /// Worst (lowest) scenario's mean of the worst 5% horizon funding ratios.
    pub worst_fr_cvar95: f64,
    pub median_fr_cvar95: f64,
    pub median_fr_vol: f64,
    pub worst_fr_vol: f64,
    /// Share of scenarios whose funding-ratio volatility is below the target.
    pub share_meeting_vol_target: f64,
    pub median_p_below_floor: f64,
    pub worst_p_below_floor: f64,
    pub median_surplus_cvar95: f64,
    pub worst_surplus_cvar99: f64,
    /// Median over scenarios of the mean drawdown by 21/63/126/252 days.
    pub median_drawdown: [f64; 4],
    pub affordable: bool,
    /// No other affordable combination is both cheaper and better in the worst case.
    pub efficient: bool,
}

/// The cross-scenario comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub combos: Vec<ComboSummary>,
    /// Best worst-case tail funding ratio among affordable combinations.
    pub robust: usize,
    /// The scenario with the median unhedged funding-ratio volatility.
    pub median_scenario: u32,
    /// Best tail funding ratio in the median scenario among affordable combinations.
    pub median_best: usize,
    /// cost(robust) − cost(median best), bp a year.
    pub cost_of_robustness_bp: f64,
    /// Worst-case tail funding ratio, robust − median best (FR points; ≥ 0).
    pub worst_case_gain: f64,
    /// Median-scenario tail funding ratio, median best − robust (FR points; ≥ 0).
    pub median_case_cost: f64,
    pub unhedged: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

fn stat(agg: &HedgingAggregate, k: usize, f: impl Fn(&ComboStats) -> f64) -> Vec<f64> {
    agg.results.iter().map(|r| f(&r.combos[k])).collect()
}

pub fn integrate(
    model: &EvalModel,
    agg: &HedgingAggregate,
    max_vol: f64,
    max_cost_bp: f64,
) -> Option<Integration> {
    if agg.results.is_empty() {
        return None;
    }
    let n = agg.results.len() as f64;
    let mut combos: Vec<ComboSummary> = (0..model.combos())
        .map(|k| {
            let cvar = stat(agg, k, |c| f64::from(c.fr_cvar95));
            let vol = stat(agg, k, |c| f64::from(c.fr_vol));
            let below = stat(agg, k, |c| f64::from(c.p_below_floor));
            let cost = model.combo_cost_bp(k);
            ComboSummary {
                combo: k,
                label: model.combo_label(k),
                cost_bp: cost,
                worst_fr_cvar95: cvar.iter().copied().fold(f64::INFINITY, f64::min),
                median_fr_cvar95: median(cvar),
                median_fr_vol: median(vol.clone()),
                worst_fr_vol: vol.iter().copied().fold(0.0, f64::max),
                share_meeting_vol_target: vol.iter().filter(|&&v| v < max_vol).count() as f64 / n,
                median_p_below_floor: median(below.clone()),
                worst_p_below_floor: below.iter().copied().fold(0.0, f64::max),
                median_surplus_cvar95: median(stat(agg, k, |c| f64::from(c.surplus_cvar95))),
                worst_surplus_cvar99: stat(agg, k, |c| f64::from(c.surplus_cvar99))
                    .into_iter()
                    .fold(f64::NEG_INFINITY, f64::max),
                median_drawdown: [0, 1, 2, 3]
                    .map(|h| median(stat(agg, k, |c| f64::from(c.drawdown[h])))),
                affordable: cost <= max_cost_bp,
                efficient: false,
            }
        })
        .collect();
    for i in 0..combos.len() {
        let (c, w) = (combos[i].cost_bp, combos[i].worst_fr_cvar95);
        combos[i].efficient = combos[i].affordable
            && !combos.iter().any(|o| {
                o.affordable
                    && o.cost_bp <= c
                    && o.worst_fr_cvar95 >= w
                    && (o.cost_bp < c || o.worst_fr_cvar95 > w)
            });
    }
    let better = |a: &ComboSummary, b: &ComboSummary, x: f64, y: f64| {
        x > y || (x == y && a.cost_bp < b.cost_bp)
    };
    let unhedged = model.combo(0, 0, 0);
    let mut robust = unhedged;
    for c in &combos {
        if c.affordable
            && better(
                c,
                &combos[robust],
                c.worst_fr_cvar95,
                combos[robust].worst_fr_cvar95,
            )
        {
            robust = c.combo;
        }
    }
    // The median scenario by unhedged funding-ratio volatility (lower median on ties).
    let mut by_vol: Vec<(f64, u32, usize)> = agg
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| (f64::from(r.combos[unhedged].fr_vol), r.id, i))
        .collect();
    by_vol.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (_, median_id, mi) = by_vol[(by_vol.len() - 1) / 2];
    let in_median = |k: usize| f64::from(agg.results[mi].combos[k].fr_cvar95);
    let mut median_best = unhedged;
    for c in &combos {
        if c.affordable
            && better(
                c,
                &combos[median_best],
                in_median(c.combo),
                in_median(median_best),
            )
        {
            median_best = c.combo;
        }
    }
    Some(Integration {
        cost_of_robustness_bp: combos[robust].cost_bp - combos[median_best].cost_bp,
        worst_case_gain: combos[robust].worst_fr_cvar95 - combos[median_best].worst_fr_cvar95,
        median_case_cost: in_median(median_best) - in_median(robust),
        combos,
        robust,
        median_scenario: median_id,
        median_best,
        unhedged,
    })
}
