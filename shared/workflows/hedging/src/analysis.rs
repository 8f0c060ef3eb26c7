//! Across scenarios: how each combination of desk programs fares over the whole
//! volatility design, the robust choice, the choice that is best in the typical
//! scenario, and what robustness costs.
//!
//! Statistics across scenarios are over the scenario *design* (Latin hypercube samples
//! of volatility hyperparameters), not a probability distribution: "worst case" is the
//! worst scenario of the design, "median" its median. The report says so.
//!
//! Worst cases are exact; medians across scenarios are read from the mergeable
//! distributions of [`crate::evaluate::HedgingResults`] (within 0.00005 of the exact
//! median of the per-scenario figures). The "best in the median scenario" choice is exact:
//! that one scenario is re-evaluated in full.

use crate::evaluate::{evaluate_scenario, EvalModel, ScenarioEvaluation, Workspace, FR_HIST_BINS};
use crate::HedgingAggregate;
use serde::{Deserialize, Serialize};

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
    /// Median over scenarios of the mean drawdown by the horizon (FR points).
    pub median_horizon_drawdown: f64,
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

/// The scenario with the median unhedged funding-ratio volatility (the lower median on
/// an even count; ties by id), and its evaluation recomputed: evaluation is a pure
/// function of (model, scenario), so this is the partition's result for it, bit for bit.
fn median_scenario(model: &EvalModel, agg: &HedgingAggregate) -> Option<(u32, ScenarioEvaluation)> {
    let mut by_vol: Vec<(f64, u32, usize)> = agg
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| (f64::from(s.unhedged.fr_vol), s.id(), i))
        .collect();
    by_vol.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let &(_, id, i) = by_vol.get(by_vol.len().checked_sub(1)? / 2)?;
    let mut hist = vec![vec![0; FR_HIST_BINS + 2]; model.combos()];
    let e = evaluate_scenario(
        model,
        &agg.scenarios[i].spec,
        &mut Workspace::default(),
        &mut hist,
    )
    .ok()?;
    Some((id, e))
}

/// `max_vol`, the FR-vol objective, is the model's (scenarios meeting it were counted as
/// they were evaluated).
pub fn integrate(
    model: &EvalModel,
    agg: &HedgingAggregate,
    max_cost_bp: f64,
) -> Option<Integration> {
    if agg.scenarios.is_empty() {
        return None;
    }
    let mut combos: Vec<ComboSummary> = agg
        .combos
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let cost = model.combo_cost_bp(k);
            let vol = d.fr_vol();
            ComboSummary {
                combo: k,
                label: model.combo_label(k),
                cost_bp: cost,
                worst_fr_cvar95: d.fr_cvar95.min(),
                median_fr_cvar95: d.fr_cvar95.median(),
                median_fr_vol: vol.median(),
                worst_fr_vol: vol.max(),
                share_meeting_vol_target: d.share_meeting_vol_target(),
                median_p_below_floor: d.p_below_floor.median(),
                worst_p_below_floor: d.p_below_floor.max(),
                median_surplus_cvar95: d.surplus_cvar95.median(),
                worst_surplus_cvar99: d.surplus_cvar99.max(),
                median_horizon_drawdown: d.horizon_drawdown.median(),
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
    let (median_id, in_median_scenario) = median_scenario(model, agg)?;
    let in_median = |k: usize| f64::from(in_median_scenario.combos[k].fr_cvar95);
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
