//! Redemption Policy Formulator (issue 7, must have 6): the gate triggers measured as
//! predictors of distress, their thresholds calibrated on the scenarios, the protection
//! a gate gives remaining investors (and when it does not), early-warning lead times and
//! notice-period alternatives re-run through the cascade.
//!
//! What is predicted. A scenario is **in distress** when, on its *ungated* path, the
//! costs borne by remaining investors reach `distress_dilution` of NAV (or the illiquid
//! share ends above its limit): [`ScenarioOutcome::distress_day`]. Each trigger is read
//! on the same ungated path (a trigger must fire before the gate exists), so a trigger is
//! a binary classifier of "this scenario will be in distress", scored by the usual
//! confusion counts (Fawcett 2006, "An introduction to ROC analysis", Pattern
//! Recognition Letters 27(8), 861–874):
//! - hit rate (sensitivity) = distressed scenarios where it fires / distressed scenarios;
//! - miss rate = 1 − hit rate;
//! - false-alarm rate (1 − specificity) = calm scenarios where it fires / calm scenarios;
//! - lead time = distress day − fire day (business days) over the hits; a negative lead
//!   means the trigger fired after distress had already begun.
//!
//! Thresholds are calibrated by maximising Youden's J = hit rate − false-alarm rate
//! (W. J. Youden 1950, "Index for rating diagnostic tests", Cancer 3(1), 32–35) over
//! each trigger's grid. Everything is **in-sample over a stress design** (equal thirds of
//! severities, every market × redemption kind), not a probability of real-world events.

use stresslab_analytics::stats;
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{money, pct, Cell, Column, Table};

use crate::cascade::{CascadeWorkspace, FundTerms};
use crate::engine::{
    LiquidityRun, ScenarioDriver, ScenarioOutcome, ScenarioPaths, Simulator, Trigger,
    VariantOutcome, COVERAGE_TRIGGER_GRID, REDEMPTION_TRIGGER_GRID,
};
use crate::personas::upstream_figure;
use crate::scenarios::ScenarioSpec;
use crate::{scenario_set, LiquidityAggregate};

/// Levels of the market-stress composite (0..1) scored as trigger thresholds. The
/// composite is a scenario's peak (day-0) level, so every level fires on day 0 or never.
/// An evenly spaced grid over the composite's range (an assumption: no published scale
/// exists for this house indicator).
pub const STRESS_TRIGGER_GRID: [f64; 8] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

/// A gate "made remaining investors worse off" when their final NAV per share is lower
/// with the gate by more than this (the cascade's arithmetic noise on a NAV per share of
/// about 1; an assumption, far below any economically meaningful difference).
pub const WORSE_OFF_TOLERANCE: f64 = 1e-9;

/// Notice periods compared (business days between request and dealing).
pub const NOTICE_ALTERNATIVES: [u32; 4] = [0, 5, 10, 20];

/// Dealing frequencies compared, with their business days between dealing dates.
pub const DEALING_ALTERNATIVES: [(&str, u32); 3] = [("daily", 1), ("weekly", 5), ("monthly", 21)];

/// Most scenarios re-run under each notice alternative: a systematic sample of the set
/// ordered by (redemption severity, market severity, id), i.e. proportional to the
/// severity strata. Bounds the persona's work (4 cascades per scenario re-run) to about
/// 0.1 s in release for any run size (measured ~0.1 s with 1,000 scenarios).
pub const NOTICE_SUBSET_MAX: usize = 80;

/// Most worse-off (scenario, gate) pairs re-run without redemption feedback to see
/// whether the feedback explains them (2 cascades each).
pub const WORSE_OFF_DIAGNOSED_MAX: usize = 16;

/// One scenario seen by one trigger at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// First day the trigger fires, if it does.
    pub fire: Option<u32>,
    /// First day the ungated fund is in distress, if it is.
    pub distress: Option<u32>,
}

/// A trigger's confusion counts and what follows from them. Rates are `None` when their
/// denominator is empty (never NaN).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorRates {
    pub scenarios: usize,
    pub distressed: usize,
    pub calm: usize,
    pub fired: usize,
    /// Fired and distressed.
    pub hits: usize,
    /// Distressed, never fired.
    pub misses: usize,
    /// Fired, no distress.
    pub false_alarms: usize,
    pub hit_rate: Option<f64>,
    pub miss_rate: Option<f64>,
    pub false_alarm_rate: Option<f64>,
    /// Youden's J = hit rate − false-alarm rate (needs both classes).
    pub youden: Option<f64>,
    /// Median over the hits of distress day − fire day (business days; Hyndman–Fan 7).
    pub median_lead: Option<f64>,
    /// Share of the hits that fired on or before the distress day (lead ≥ 0).
    pub timely_share: Option<f64>,
}

/// The confusion counts of a trigger over scenarios (Fawcett 2006; see the module
/// docs), with the lead times of its hits.
pub fn error_rates(readings: impl IntoIterator<Item = Reading>) -> ErrorRates {
    let mut r = ErrorRates::default();
    let mut leads = Vec::new();
    for x in readings {
        r.scenarios += 1;
        r.fired += usize::from(x.fire.is_some());
        match (x.fire, x.distress) {
            (Some(f), Some(d)) => {
                r.distressed += 1;
                r.hits += 1;
                leads.push(f64::from(d) - f64::from(f));
            }
            (None, Some(_)) => {
                r.distressed += 1;
                r.misses += 1;
            }
            (Some(_), None) => {
                r.calm += 1;
                r.false_alarms += 1;
            }
            (None, None) => r.calm += 1,
        }
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    r.hit_rate = ratio(r.hits, r.distressed);
    r.miss_rate = ratio(r.misses, r.distressed);
    r.false_alarm_rate = ratio(r.false_alarms, r.calm);
    r.youden = r.hit_rate.zip(r.false_alarm_rate).map(|(h, f)| h - f);
    r.timely_share = ratio(leads.iter().filter(|l| **l >= 0.0).count(), leads.len());
    r.median_lead = median(&mut leads);
    r
}

/// Median (Hyndman & Fan 1996 definition 7, numpy's default; the mean of the two middle
/// values for an even count). `None` for no data.
pub fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(stats::quantile(xs, 0.5))
}

/// Share of the scenarios where both fire in which `early` fires strictly before `late`
/// (a count over the same pairs as [`median_days_ahead`]). `None` when they never both
/// fire.
pub fn share_strictly_ahead(
    pairs: impl IntoIterator<Item = (Option<u32>, Option<u32>)>,
) -> Option<f64> {
    let (mut both, mut ahead) = (0usize, 0usize);
    for (early, late) in pairs {
        if let (Some(e), Some(l)) = (early, late) {
            both += 1;
            ahead += usize::from(e < l);
        }
    }
    (both > 0).then(|| ahead as f64 / both as f64)
}

/// Median of `late − early` (business days) over the scenarios where both fire: how
/// much earlier an early-warning level crosses than the trigger it warns of (median as
/// in [`median`]). `None` when they never both fire.
pub fn median_days_ahead(
    pairs: impl IntoIterator<Item = (Option<u32>, Option<u32>)>,
) -> Option<f64> {
    let mut gaps: Vec<f64> = pairs
        .into_iter()
        .filter_map(|(early, late)| Some(f64::from(late?) - f64::from(early?)))
        .collect();
    median(&mut gaps)
}

/// Whether a scenario's distress is an illiquid-limit breach (its ungated dilution stayed
/// below the distress level) rather than dilution of remaining investors; either is
/// dated by the engine to the first day it happens.
pub fn end_dated_distress(o: &ScenarioOutcome, distress_dilution: f64) -> bool {
    o.distress_day.is_some() && o.ungated.dilution < distress_dilution
}

/// One threshold of a trigger's grid and its error rates.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    pub level: f64,
    pub rates: ErrorRates,
}

/// The grid point maximising Youden's J (Youden 1950). Ties (within 1e-12) go to the
/// higher hit rate (a missed distress costs remaining investors more than a needless
/// gate), then to the earlier grid point. `None` when no point has J defined (the
/// scenarios hold only one class).
pub fn youden_best(points: &[GridPoint]) -> Option<usize> {
    let mut best: Option<(usize, f64, f64)> = None;
    for (i, p) in points.iter().enumerate() {
        let (Some(j), Some(h)) = (p.rates.youden, p.rates.hit_rate) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, bj, bh)) => j > bj + 1e-12 || ((j - bj).abs() <= 1e-12 && h > bh + 1e-12),
        };
        if better {
            best = Some((i, j, h));
        }
    }
    best.map(|(i, _, _)| i)
}

/// The threshold grid of a trigger.
pub fn trigger_grid(t: Trigger) -> &'static [f64] {
    match t {
        Trigger::Redemptions => &REDEMPTION_TRIGGER_GRID,
        Trigger::LiquidityCoverage => &COVERAGE_TRIGGER_GRID,
        Trigger::MarketStress => &STRESS_TRIGGER_GRID,
    }
}

/// The day trigger `t` fires at grid point `i` in scenario `o` (ungated path).
pub fn fire_at(o: &ScenarioOutcome, t: Trigger, i: usize) -> Option<u32> {
    match t {
        Trigger::Redemptions => o.redemption_crossings[i],
        Trigger::LiquidityCoverage => o.coverage_crossings[i],
        Trigger::MarketStress => (o.stress_composite >= STRESS_TRIGGER_GRID[i]).then_some(0),
    }
}

/// The day the second of the three configured triggers fires (two-of-three rule).
pub fn two_of_three(o: &ScenarioOutcome) -> Option<u32> {
    let mut days: Vec<u32> = o.triggers.iter().filter_map(|t| t.fire_day).collect();
    days.sort_unstable();
    days.get(1).copied()
}

/// The day the first of the three configured triggers fires (any-of-three rule).
pub fn any_of_three(o: &ScenarioOutcome) -> Option<u32> {
    o.triggers.iter().filter_map(|t| t.fire_day).min()
}

/// Error rates of trigger `t` at every point of its grid.
pub fn grid_rates(outcomes: &[ScenarioOutcome], t: Trigger) -> Vec<GridPoint> {
    trigger_grid(t)
        .iter()
        .enumerate()
        .map(|(i, level)| GridPoint {
            level: *level,
            rates: error_rates(outcomes.iter().map(|o| Reading {
                fire: fire_at(o, t, i),
                distress: o.distress_day,
            })),
        })
        .collect()
}

/// What a gate did for those who stayed, over the scenarios where it was applied:
/// differences are gated − ungated in the same scenario (shares of initial NAV; NAV per
/// share starts at 1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Protection {
    pub scenarios: usize,
    /// Scenarios where the gate actually deferred redemptions.
    pub gate_bound: usize,
    pub mean_nav_gain: f64,
    pub mean_dilution_saved: f64,
    pub mean_shortfall_change: f64,
    /// Scenarios where remaining investors end with a lower NAV per share with the gate
    /// (by more than [`WORSE_OFF_TOLERANCE`]).
    pub worse_off: usize,
    /// Largest and mean loss of NAV per share in those scenarios (0 when none).
    pub worst_loss: f64,
    pub mean_worse_loss: f64,
    /// Ids of the worse-off scenarios.
    pub worse_ids: Vec<u32>,
}

/// Compares gated and ungated outcomes scenario by scenario (see [`Protection`]).
pub fn protection<'a>(
    pairs: impl IntoIterator<Item = (u32, &'a VariantOutcome, &'a VariantOutcome)>,
) -> Protection {
    let mut p = Protection::default();
    let (mut gain, mut saved, mut short, mut worse) = (0.0, 0.0, 0.0, 0.0);
    for (id, gated, ungated) in pairs {
        p.scenarios += 1;
        p.gate_bound += usize::from(gated.gate_day.is_some());
        let d = gated.final_nav_per_share - ungated.final_nav_per_share;
        gain += d;
        saved += ungated.dilution - gated.dilution;
        short += gated.beyond_buffer - ungated.beyond_buffer;
        if d < -WORSE_OFF_TOLERANCE {
            p.worse_off += 1;
            worse += -d;
            p.worst_loss = p.worst_loss.max(-d);
            p.worse_ids.push(id);
        }
    }
    if p.scenarios > 0 {
        let n = p.scenarios as f64;
        p.mean_nav_gain = gain / n;
        p.mean_dilution_saved = saved / n;
        p.mean_shortfall_change = short / n;
    }
    if p.worse_off > 0 {
        p.mean_worse_loss = worse / p.worse_off as f64;
    }
    p
}

/// One notice period's cascades over the re-run subset (shares of initial NAV).
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeResult {
    pub notice_days: u32,
    /// Business days between dealing dates (1 daily, 5 weekly, 21 monthly).
    pub dealing_interval_days: u32,
    pub scenarios: usize,
    pub mean_shortfall: f64,
    pub p95_shortfall: f64,
    pub mean_dilution: f64,
    pub p95_dilution: f64,
    /// Mean number of days the gate deferred redemptions, and the share of scenarios
    /// where it deferred on any day.
    pub mean_gate_days: f64,
    pub gated_share: f64,
    pub mean_final_nav: f64,
    pub min_final_nav: f64,
    /// Redemptions still queued (under notice or deferred) at the horizon: outflows a
    /// longer notice pushes past the window measured.
    pub mean_queued_at_end: f64,
}

/// The subset re-run under the alternatives: every k-th scenario of the set ordered by
/// (redemption severity, market severity, id), k = ⌈n / max⌉ — a systematic sample
/// proportional to the severity strata (Cochran 1977, "Sampling Techniques", ch. 8).
pub fn stratified_subset(outcomes: &[ScenarioOutcome], max: usize) -> Vec<u32> {
    if outcomes.is_empty() || max == 0 {
        return Vec::new();
    }
    let mut order: Vec<&ScenarioOutcome> = outcomes.iter().collect();
    order.sort_by_key(|o| (o.redemption_severity, o.market_severity, o.id));
    let k = outcomes.len().div_ceil(max);
    order.iter().step_by(k).map(|o| o.id).collect()
}

fn spec_of(specs: &[ScenarioSpec], id: u32) -> Option<&ScenarioSpec> {
    specs
        .get(id as usize)
        .filter(|s| s.id == id)
        .or_else(|| specs.iter().find(|s| s.id == id))
}

fn quantile_of(mut xs: Vec<f64>, p: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    stats::quantile(&xs, p)
}

/// One re-run cascade's numbers (shares of initial NAV; gate days a count).
#[derive(Debug, Clone, Copy)]
struct NoticeRun {
    shortfall: f64,
    dilution: f64,
    gate_days: f64,
    final_nav: f64,
    queued: f64,
}

/// Re-runs the base cascade (the fund's terms, strategy and feedback) of the `ids`
/// under each notice period of `notices`; days the gate deferred are counted from the
/// recorded days.
pub fn notice_alternatives(
    run: &LiquidityRun,
    specs: &[ScenarioSpec],
    ids: &[u32],
    notices: &[u32],
    dealing_interval_days: u32,
) -> Vec<NoticeResult> {
    let Ok(sim) = Simulator::new(run) else {
        return Vec::new();
    };
    let slope = if run.settings.feedback {
        run.feedback_slope
    } else {
        0.0
    };
    let base_terms = run
        .fund
        .terms
        .cascade_terms(run.settings.horizon_days as usize);
    let engines: Vec<_> = notices
        .iter()
        .filter_map(|n| {
            sim.base
                .with_terms(FundTerms {
                    notice_days: *n,
                    dealing_interval_days,
                    ..base_terms
                })
                .ok()
                .map(|e| (*n, e))
        })
        .collect();
    let mut paths = ScenarioPaths::default();
    let mut ws: CascadeWorkspace = sim.base.workspace();
    let mut rows: Vec<Vec<NoticeRun>> = vec![Vec::new(); engines.len()];
    for id in ids {
        let Some(spec) = spec_of(specs, *id) else {
            continue;
        };
        paths.fill(spec, run.settings.horizon_days as usize);
        let driver = ScenarioDriver {
            exogenous: &paths.exogenous,
            feedback_slope: slope,
        };
        for (k, (_, engine)) in engines.iter().enumerate() {
            let Ok(o) = engine.run(&paths.market(), &driver, &sim.impact, &mut ws, true) else {
                continue;
            };
            let gate_days = ws.days.iter().filter(|d| d.deferred_shares > 0.0).count();
            let n = o.initial_nav;
            rows[k].push(NoticeRun {
                shortfall: o.sold_beyond_buffer / n,
                dilution: o.dilution / n,
                gate_days: gate_days as f64,
                final_nav: o.final_nav_per_share,
                queued: o.pending_shares_at_end / n,
            });
        }
    }
    engines
        .iter()
        .zip(rows)
        .map(|((notice, _), r)| {
            let m = r.len().max(1) as f64;
            let col = |f: fn(&NoticeRun) -> f64| r.iter().map(f).collect::<Vec<_>>();
            NoticeResult {
                notice_days: *notice,
                dealing_interval_days,
                scenarios: r.len(),
                mean_shortfall: col(|x| x.shortfall).iter().sum::<f64>() / m,
                p95_shortfall: quantile_of(col(|x| x.shortfall), 0.95),
                mean_dilution: col(|x| x.dilution).iter().sum::<f64>() / m,
                p95_dilution: quantile_of(col(|x| x.dilution), 0.95),
                mean_gate_days: col(|x| x.gate_days).iter().sum::<f64>() / m,
                gated_share: r.iter().filter(|x| x.gate_days > 0.0).count() as f64 / m,
                mean_final_nav: if r.is_empty() {
                    1.0
                } else {
                    col(|x| x.final_nav).iter().sum::<f64>() / m
                },
                min_final_nav: col(|x| x.final_nav)
                    .into_iter()
                    .reduce(f64::min)
                    .unwrap_or(1.0),
                mean_queued_at_end: col(|x| x.queued).iter().sum::<f64>() / m,
            }
        })
        .collect()
}

/// Which gate a worse-off pair came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GateSource {
    /// The fund's own gate, on from day 0 (base vs ungated).
    Fund,
    /// The trigger's gate, on from its fire day.
    Trigger(Trigger),
}

/// Re-runs worse-off (scenario, gate) pairs without redemption feedback, keeping the
/// gate's start day: how many stay worse off (the rest are explained by the feedback,
/// condition 5 of the crate README). Returns (re-run, still worse off).
pub fn diagnose_without_feedback(
    run: &LiquidityRun,
    specs: &[ScenarioSpec],
    agg: &LiquidityAggregate,
    pairs: &[(u32, GateSource)],
) -> (usize, usize) {
    let Ok(sim) = Simulator::new(run) else {
        return (0, 0);
    };
    let terms = run
        .fund
        .terms
        .cascade_terms(run.settings.horizon_days as usize);
    let mut paths = ScenarioPaths::default();
    let mut ws = sim.base.workspace();
    let (mut n, mut still) = (0, 0);
    for (id, source) in pairs {
        let (Some(spec), Ok(k)) = (
            spec_of(specs, *id),
            agg.outcomes.binary_search_by_key(id, |o| o.id),
        ) else {
            continue;
        };
        let o = &agg.outcomes[k];
        let gated = match source {
            GateSource::Fund => Some(sim.base.clone()),
            GateSource::Trigger(t) => {
                let idx = Trigger::ALL.iter().position(|x| x == t).unwrap_or(0);
                o.triggers[idx].fire_day.and_then(|day| {
                    sim.ungated
                        .with_terms(FundTerms {
                            gate: Some(sim.trigger_gate),
                            gate_from_day: day as usize,
                            ..terms
                        })
                        .ok()
                })
            }
        };
        let Some(gated) = gated else { continue };
        paths.fill(spec, run.settings.horizon_days as usize);
        let driver = ScenarioDriver {
            exogenous: &paths.exogenous,
            feedback_slope: 0.0,
        };
        let market = paths.market();
        let (Ok(g), Ok(u)) = (
            gated.run(&market, &driver, &sim.impact, &mut ws, false),
            sim.ungated
                .run(&market, &driver, &sim.impact, &mut ws, false),
        ) else {
            continue;
        };
        n += 1;
        if g.final_nav_per_share < u.final_nav_per_share - WORSE_OFF_TOLERANCE {
            still += 1;
        }
    }
    (n, still)
}

fn trigger_key(t: Trigger) -> &'static str {
    match t {
        Trigger::Redemptions => "redemption",
        Trigger::LiquidityCoverage => "coverage",
        Trigger::MarketStress => "stress",
    }
}

fn trigger_label(t: Trigger) -> &'static str {
    match t {
        Trigger::Redemptions => "Redemptions over 21 business days",
        Trigger::LiquidityCoverage => "Liquidity on hand / pending redemptions",
        Trigger::MarketStress => "Market-stress composite (peak)",
    }
}

fn level_text(t: Trigger, level: f64) -> String {
    match t {
        Trigger::Redemptions => format!("> {} of NAV", pct(level)),
        Trigger::LiquidityCoverage => format!("< {level:.1}×"),
        Trigger::MarketStress => format!("≥ {level:.2}"),
    }
}

fn configured_level(run: &LiquidityRun, t: Trigger) -> f64 {
    match t {
        Trigger::Redemptions => run.settings.redemption_trigger,
        Trigger::LiquidityCoverage => run.settings.coverage_trigger,
        Trigger::MarketStress => run.settings.stress_trigger,
    }
}

/// More sensitive than the configured level (fires earlier and more often).
fn is_earlier(t: Trigger, level: f64, configured: f64) -> bool {
    match t {
        Trigger::Redemptions | Trigger::MarketStress => level < configured - 1e-12,
        Trigger::LiquidityCoverage => level > configured + 1e-12,
    }
}

fn opt_cell(x: Option<f64>) -> Cell {
    x.map_or(Cell::Missing, Cell::from)
}

fn rates_row(name: String, level: String, r: &ErrorRates) -> Vec<Cell> {
    vec![
        Cell::from(name),
        Cell::from(level),
        Cell::from(r.fired as f64),
        opt_cell(r.hit_rate),
        opt_cell(r.miss_rate),
        opt_cell(r.false_alarm_rate),
        opt_cell(r.youden),
        opt_cell(r.median_lead),
        opt_cell(r.timely_share),
    ]
}

fn rates_columns() -> Vec<Column> {
    vec![
        Column::text("Trigger"),
        Column::text("Threshold"),
        Column::number("Scenarios fired", 0),
        Column::percent("Hit rate"),
        Column::percent("Miss rate"),
        Column::percent("False-alarm rate"),
        Column::signed("Youden J", 2),
        Column::signed("Median lead (business days)", 1),
        Column::percent("Hits fired by distress day"),
    ]
}

/// Publishes the error-rate figures of one rule under `prefix`.
fn rate_figures(f: &mut Findings, prefix: &str, what: &str, r: &ErrorRates) {
    let scen = "share of scenarios of the stress design, ungated path, not a probability";
    if let Some(v) = r.hit_rate {
        f.figure(
            &format!("{prefix}_hit_rate"),
            &format!("{what}: hit rate (distressed scenarios where it fires; {scen})"),
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if let Some(v) = r.miss_rate {
        f.figure(
            &format!("{prefix}_miss_rate"),
            &format!("{what}: miss rate (distressed scenarios where it never fires; {scen})"),
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if let Some(v) = r.false_alarm_rate {
        f.figure(
            &format!("{prefix}_false_alarm_rate"),
            &format!("{what}: false-alarm rate (calm scenarios where it fires; {scen})"),
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if let Some(v) = r.median_lead {
        f.figure(
            &format!("{prefix}_lead_median_days"),
            &format!("{what}: median lead time over its hits, distress day − fire day (business days; negative = after distress began)"),
            v,
            Unit::Count,
            Horizon::Point,
        );
    }
    if let Some(v) = r.timely_share {
        f.figure(
            &format!("{prefix}_timely_share"),
            &format!("{what}: share of its hits that fired on or before the distress day"),
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }
}

/// Redemption Policy Formulator: gate triggers calibrated with false-alarm and miss
/// rates, the protection gates give remaining investors, early warnings with lead
/// times, notice-period alternatives (see the module docs for methods and references).
pub fn redemption_policy_formulator(
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    upstream: &[Findings],
) -> Findings {
    let mut f = Findings::new("redemption-policy-formulator");
    let outcomes = &agg.outcomes;
    let s = &run.settings;
    let cur = run.fund.base_currency.as_str();
    if outcomes.is_empty() {
        f.headline = format!(
            "No scenario outcomes to calibrate gate triggers on ({} scenarios failed): no error rates, lead times or gate protection can be measured.",
            agg.failures.len()
        );
        f.figure(
            "scenarios",
            "Scenarios evaluated",
            0.0,
            Unit::Count,
            Horizon::Point,
        );
        return f;
    }
    let n = outcomes.len();
    f.figure(
        "scenarios",
        "Scenarios evaluated",
        n as f64,
        Unit::Count,
        Horizon::Point,
    );
    let distressed = outcomes.iter().filter(|o| o.distress_day.is_some()).count();
    f.figure(
        "distress_share",
        &format!(
            "Share of scenarios in distress without a gate (costs borne by remaining investors ≥ {} of NAV, or illiquid share above {} of holdings, within {} business days; share of the stress design, not a probability)",
            pct(s.distress_dilution),
            pct(s.illiquid_limit),
            s.horizon_days
        ),
        distressed as f64 / n as f64,
        Unit::Fraction,
        Horizon::Point,
    );
    let end_dated = outcomes
        .iter()
        .filter(|o| end_dated_distress(o, s.distress_dilution))
        .count();
    f.figure(
        "distress_illiquid_limit_count",
        &format!(
            "Distressed scenarios whose distress is the illiquid share passing {} of holdings (dated to the first day it does)",
            pct(s.illiquid_limit)
        ),
        end_dated as f64,
        Unit::Count,
        Horizon::Point,
    );
    f.figure(
        "distress_dilution_count",
        &format!(
            "Distressed scenarios whose distress is dilution of remaining investors reaching {} of NAV (dated to the day it happens)",
            pct(s.distress_dilution)
        ),
        (distressed - end_dated) as f64,
        Unit::Count,
        Horizon::Point,
    );

    // ---- Error rates at the configured thresholds and over the grids --------------
    let configured: Vec<ErrorRates> = (0..3)
        .map(|k| {
            error_rates(outcomes.iter().map(|o| Reading {
                fire: o.triggers[k].fire_day,
                distress: o.distress_day,
            }))
        })
        .collect();
    let grids: Vec<Vec<GridPoint>> = Trigger::ALL
        .iter()
        .map(|t| grid_rates(outcomes, *t))
        .collect();
    let best: Vec<Option<usize>> = grids.iter().map(|g| youden_best(g)).collect();
    let combos = [
        (
            "two_of_three",
            "Two of the three triggers (the second one's fire day)",
            error_rates(outcomes.iter().map(|o| Reading {
                fire: two_of_three(o),
                distress: o.distress_day,
            })),
        ),
        (
            "any_of_three",
            "Any of the three triggers (the first one's fire day)",
            error_rates(outcomes.iter().map(|o| Reading {
                fire: any_of_three(o),
                distress: o.distress_day,
            })),
        ),
    ];

    for (k, t) in Trigger::ALL.iter().enumerate() {
        let key = trigger_key(*t);
        let what = format!(
            "{} {} (configured)",
            trigger_label(*t),
            level_text(*t, configured_level(run, *t))
        );
        rate_figures(&mut f, key, &what, &configured[k]);
        if let Some(i) = best[k] {
            let p = &grids[k][i];
            f.figure(
                &format!("{key}_calibrated_threshold"),
                &format!("{}: threshold maximising Youden's J over its grid (in-sample over the stress design)", trigger_label(*t)),
                p.level,
                Unit::Ratio,
                Horizon::Point,
            );
            if let Some(j) = p.rates.youden {
                f.figure(
                    &format!("{key}_calibrated_youden"),
                    &format!("{}: Youden's J at the calibrated threshold (hit rate − false-alarm rate, in-sample)", trigger_label(*t)),
                    j,
                    Unit::Ratio,
                    Horizon::Point,
                );
            }
            rate_figures(
                &mut f,
                &format!("{key}_calibrated"),
                &format!(
                    "{} {} (calibrated, in-sample)",
                    trigger_label(*t),
                    level_text(*t, p.level)
                ),
                &p.rates,
            );
        }
    }
    for (key, what, r) in &combos {
        rate_figures(&mut f, key, what, r);
    }

    let mut table = Table::new(
        &format!(
            "Gate triggers as predictors of distress, at the configured thresholds and calibrated by Youden's J (in-sample over {n} scenarios of a stress design with equal thirds of severities; {distressed} in distress on the ungated path). Lead = distress day − fire day over the hits."
        ),
        rates_columns(),
    );
    for (k, t) in Trigger::ALL.iter().enumerate() {
        table.row(rates_row(
            format!("{} (configured)", trigger_label(*t)),
            level_text(*t, configured_level(run, *t)),
            &configured[k],
        ));
        if let Some(i) = best[k] {
            table.row(rates_row(
                format!("{} (calibrated)", trigger_label(*t)),
                level_text(*t, grids[k][i].level),
                &grids[k][i].rates,
            ));
        }
    }
    for (_, what, r) in &combos {
        table.row(rates_row(what.to_string(), "configured levels".into(), r));
    }
    f.tables.push(table);

    let mut grid_table = Table::new(
        "Every threshold of each trigger's grid (the ROC points; in-sample, share of scenarios of the stress design)",
        rates_columns(),
    );
    for (k, t) in Trigger::ALL.iter().enumerate() {
        for p in &grids[k] {
            grid_table.row(rates_row(
                trigger_label(*t).into(),
                level_text(*t, p.level),
                &p.rates,
            ));
        }
    }
    f.tables.push(grid_table);

    // ROC scatter: every grid point with both rates defined.
    let mut labels = Vec::new();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for (k, t) in Trigger::ALL.iter().enumerate() {
        for p in &grids[k] {
            if let (Some(x), Some(y)) = (p.rates.false_alarm_rate, p.rates.hit_rate) {
                let short = match t {
                    Trigger::Redemptions => "Redemptions",
                    Trigger::LiquidityCoverage => "Coverage",
                    Trigger::MarketStress => "Stress",
                };
                labels.push(format!("{short} {}", level_text(*t, p.level)));
                xs.push(x);
                ys.push(y);
            }
        }
    }
    if !labels.is_empty() {
        f.charts.push(Chart {
            key: "trigger_roc".into(),
            title: "Gate triggers: hit rate against false-alarm rate over each trigger's threshold grid (ROC points, in-sample over the stress design)".into(),
            kind: ChartKind::Scatter,
            labels,
            x: xs,
            x_label: "False-alarm rate (calm scenarios where it fires)".into(),
            x_unit: Unit::Fraction,
            y_label: "Hit rate (distressed scenarios where it fires)".into(),
            y_unit: Unit::Fraction,
            series: vec![ChartSeries {
                name: "Hit rate".into(),
                values: ys,
            }],
        });
    }

    // ---- Early warnings ------------------------------------------------------------
    let mut early_cols = rates_columns();
    early_cols.push(Column::percent(
        "Crossed strictly before the redemption trigger",
    ));
    early_cols.insert(
        early_cols.len() - 1,
        Column::signed("Median days ahead of the redemption trigger", 1),
    );
    let mut early = Table::new(
        &format!(
            "Early-warning indicators: the trigger indicators at more sensitive levels than the configured triggers, with lead times measured in the simulations — before distress over the distressed scenarios where they fire ({end_dated} of {distressed} distressed scenarios are illiquid-limit breaches, dated to the first day the limit is passed), and ahead of the configured redemption trigger ({} of NAV over 21 business days, the gate's first trigger) over the scenarios where both fire", pct(s.redemption_trigger)
        ),
        early_cols,
    );
    let mut early_rows = 0;
    let mut early_ahead: Vec<(Trigger, String, f64, f64, f64)> = Vec::new();
    for (k, t) in Trigger::ALL.iter().enumerate() {
        let conf = configured_level(run, *t);
        for p in grids[k].iter().filter(|p| is_earlier(*t, p.level, conf)) {
            let i = grids[k]
                .iter()
                .position(|q| q.level == p.level)
                .unwrap_or(0);
            let pairs = || {
                outcomes
                    .iter()
                    .map(|o| (fire_at(o, *t, i), o.triggers[0].fire_day))
            };
            let ahead = median_days_ahead(pairs());
            let strictly = share_strictly_ahead(pairs());
            let mut row = rates_row(trigger_label(*t).into(), level_text(*t, p.level), &p.rates);
            row.push(opt_cell(ahead));
            row.push(opt_cell(strictly));
            early.row(row);
            early_rows += 1;
            let stem = format!(
                "early_{}_{}",
                trigger_key(*t),
                format!("{:.3}", p.level)
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .replace('.', "_")
            );
            if let Some(a) = ahead {
                let key = format!("{stem}_ahead_median_days");
                f.figure(
                    &key,
                    &format!(
                        "Early warning {} {}: median business days it crosses before the redemption trigger ({} of NAV over 21 business days) fires (scenarios where both fire; in-sample)",
                        trigger_label(*t),
                        level_text(*t, p.level),
                        pct(s.redemption_trigger)
                    ),
                    a,
                    Unit::Count,
                    Horizon::Point,
                );
                early_ahead.push((*t, key, a, p.level, p.rates.false_alarm_rate.unwrap_or(1.0)));
            }
            if let Some(x) = strictly {
                f.figure(
                    &format!("{stem}_strictly_ahead_share"),
                    &format!(
                        "Early warning {} {}: share of the scenarios where both fire in which it crosses strictly before the redemption trigger (in-sample)",
                        trigger_label(*t),
                        level_text(*t, p.level)
                    ),
                    x,
                    Unit::Fraction,
                    Horizon::Point,
                );
            }
            if let Some(lead) = p.rates.median_lead {
                let key = format!("{stem}_lead_median_days");
                f.figure(
                    &key,
                    &format!(
                        "Early warning {} {}: median business days from first crossing to distress (over the distressed scenarios where it fires; in-sample)",
                        trigger_label(*t),
                        level_text(*t, p.level)
                    ),
                    lead,
                    Unit::Count,
                    Horizon::Point,
                );
            }
        }
    }
    if early_rows > 0 {
        f.tables.push(early);
    }

    // ---- Protection given to remaining investors -------------------------------------
    let mut prot_rows: Vec<(String, String, Protection)> = Vec::new();
    for (k, t) in Trigger::ALL.iter().enumerate() {
        let p = protection(
            outcomes
                .iter()
                .filter_map(|o| o.triggers[k].gated.as_ref().map(|g| (o.id, g, &o.ungated))),
        );
        prot_rows.push((
            trigger_key(*t).into(),
            format!("{} gate from its fire day", trigger_label(*t)),
            p,
        ));
    }
    let fund_gate = run.fund.terms.gate;
    if fund_gate.is_some() {
        let p = protection(outcomes.iter().map(|o| (o.id, &o.base, &o.ungated)));
        prot_rows.push((
            "fund_gate".into(),
            "The fund's own gate, always on".into(),
            p,
        ));
    }
    let gate_threshold = fund_gate.map_or(s.trigger_gate_threshold, |g| g.threshold);
    let mut prot_table = Table::new(
        &format!(
            "Protection of remaining investors: gated − ungated in the same scenario, over the scenarios where the gate applies (the gate deals at most {} of NAV a day and defers the rest pro rata). Worse off: final NAV per share lower with the gate by more than {WORSE_OFF_TOLERANCE:e}.",
            pct(gate_threshold)
        ),
        vec![
            Column::text("Gate"),
            Column::number("Scenarios", 0),
            Column::number("Gate deferred (scenarios)", 0),
            Column::signed("Mean final NAV per share gain (×10⁴)", 2),
            Column::signed("Mean dilution saved (bp of NAV)", 3),
            Column::percent("Mean shortfall change"),
            Column::number("Worse off (scenarios)", 0),
            Column::signed("Largest NAV per share loss (×10⁴)", 3),
            Column::money("Largest loss on the fund", cur),
        ],
    );
    for (key, name, p) in &prot_rows {
        prot_table.row(vec![
            Cell::from(name.clone()),
            Cell::from(p.scenarios as f64),
            Cell::from(p.gate_bound as f64),
            Cell::from(p.mean_nav_gain * 1e4),
            Cell::from(p.mean_dilution_saved * 1e4),
            Cell::from(p.mean_shortfall_change),
            Cell::from(p.worse_off as f64),
            Cell::from(p.worst_loss * 1e4),
            Cell::from(p.worst_loss * run.fund.nav),
        ]);
        if p.scenarios == 0 {
            continue;
        }
        f.figure(
            &format!("{key}_gate_scenarios"),
            &format!("{name}: scenarios where it applies"),
            p.scenarios as f64,
            Unit::Count,
            Horizon::Point,
        );
        f.figure(
            &format!("{key}_gate_deferred_scenarios"),
            &format!("{name}: scenarios where it actually deferred redemptions"),
            p.gate_bound as f64,
            Unit::Count,
            Horizon::Point,
        );
        f.figure(
            &format!("{key}_gate_nav_gain_mean"),
            &format!("{name}: mean gain in remaining investors' final NAV per share vs no gate (NAV per share starts at 1; over the {} business-day horizon)", s.horizon_days),
            p.mean_nav_gain,
            Unit::Ratio,
            Horizon::Point,
        );
        f.figure(
            &format!("{key}_gate_dilution_saved_mean"),
            &format!("{name}: mean dilution of remaining investors saved vs no gate (share of initial NAV)"),
            p.mean_dilution_saved,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            &format!("{key}_gate_worse_off_count"),
            &format!("{name}: scenarios where remaining investors end worse off than with no gate"),
            p.worse_off as f64,
            Unit::Count,
            Horizon::Point,
        );
        f.figure(
            &format!("{key}_gate_worse_off_max"),
            &format!("{name}: largest loss of final NAV per share vs no gate, on the fund"),
            p.worst_loss * run.fund.nav,
            Unit::Money,
            Horizon::Point,
        );
    }
    f.tables.push(prot_table);

    // Worse-off pairs, re-run without feedback (bounded).
    let specs = scenario_set(run).unwrap_or_default();
    let mut worse_pairs: Vec<(u32, GateSource)> = Vec::new();
    for (k, t) in Trigger::ALL.iter().enumerate() {
        for id in &prot_rows[k].2.worse_ids {
            worse_pairs.push((*id, GateSource::Trigger(*t)));
        }
    }
    if let Some((_, _, p)) = prot_rows.get(3) {
        for id in &p.worse_ids {
            worse_pairs.push((*id, GateSource::Fund));
        }
    }
    let total_worse = worse_pairs.len();
    worse_pairs.sort_by_key(|(id, _)| *id);
    let step = total_worse.div_ceil(WORSE_OFF_DIAGNOSED_MAX).max(1);
    let sample: Vec<(u32, GateSource)> = worse_pairs.iter().step_by(step).copied().collect();
    let diagnosis = (s.feedback && !sample.is_empty())
        .then(|| diagnose_without_feedback(run, &specs, agg, &sample));
    if let Some((rerun, still)) = diagnosis {
        if rerun > 0 {
            f.figure(
                "worse_off_still_without_feedback_share",
                &format!("Of {rerun} worse-off (scenario, gate) pairs re-run without redemption feedback (gate start kept), the share still worse off"),
                still as f64 / rerun as f64,
                Unit::Fraction,
                Horizon::Point,
            );
        }
    }

    // ---- Notice-period alternatives ---------------------------------------------------
    let ids = stratified_subset(outcomes, NOTICE_SUBSET_MAX);
    let notice = notice_alternatives(run, &specs, &ids, &NOTICE_ALTERNATIVES, 1);
    if !notice.is_empty() && notice[0].scenarios > 0 {
        let m = notice[0].scenarios;
        let mut t = Table::new(
            &format!(
                "Notice-period alternatives: the base cascade (the fund's gate, swing pricing, strategy{}) re-run on {m} of {n} scenarios (every {}-th of the set ordered by redemption severity, market severity and id, so each severity stratum is represented in proportion) with the notice period changed (daily dealing).",
                if s.feedback { " and feedback" } else { "" },
                n.div_ceil(NOTICE_SUBSET_MAX)
            ),
            vec![
                Column::number("Notice (business days)", 0),
                Column::percent("Mean shortfall"),
                Column::percent("95th pct shortfall"),
                Column::number("Mean dilution (bp of NAV)", 3),
                Column::number("95th pct dilution (bp of NAV)", 3),
                Column::number("Mean gate days", 1),
                Column::percent("Scenarios gated"),
                Column::number("Mean final NAV per share", 4),
                Column::number("Lowest final NAV per share", 4),
                Column::percent("Still queued at the horizon"),
            ],
        );
        for r in &notice {
            t.row(vec![
                Cell::from(f64::from(r.notice_days)),
                Cell::from(r.mean_shortfall),
                Cell::from(r.p95_shortfall),
                Cell::from(r.mean_dilution * 1e4),
                Cell::from(r.p95_dilution * 1e4),
                Cell::from(r.mean_gate_days),
                Cell::from(r.gated_share),
                Cell::from(r.mean_final_nav),
                Cell::from(r.min_final_nav),
                Cell::from(r.mean_queued_at_end),
            ]);
            let d = r.notice_days;
            f.figure(
                &format!("notice_{d}_shortfall_mean"),
                &format!("Notice {d} business days: mean buffer shortfall over the {m} re-run scenarios (share of NAV)"),
                r.mean_shortfall,
                Unit::Fraction,
                Horizon::Point,
            );
            f.figure(
                &format!("notice_{d}_dilution_p95"),
                &format!("Notice {d} business days: 95th percentile dilution of remaining investors over the {m} re-run scenarios (share of NAV, {} business days)", s.horizon_days),
                r.p95_dilution,
                Unit::Fraction,
                Horizon::Point,
            );
            f.figure(
                &format!("notice_{d}_gate_days_mean"),
                &format!("Notice {d} business days: mean days the gate deferred redemptions over the {m} re-run scenarios"),
                r.mean_gate_days,
                Unit::Count,
                Horizon::Point,
            );
            f.figure(
                &format!("notice_{d}_final_nav_mean"),
                &format!("Notice {d} business days: mean final NAV per share of remaining investors over the {m} re-run scenarios"),
                r.mean_final_nav,
                Unit::Ratio,
                Horizon::Point,
            );
            f.figure(
                &format!("notice_{d}_queued_at_end_mean"),
                &format!("Notice {d} business days: mean redemptions still queued at the horizon (share of NAV; pushed beyond the window, not avoided)"),
                r.mean_queued_at_end,
                Unit::Fraction,
                Horizon::Point,
            );
        }
        f.tables.push(t);
        f.charts.push(Chart {
            key: "notice_alternatives".into(),
            title: format!("Notice period against shortfall, dilution and redemptions still queued at the horizon ({m} re-run scenarios)"),
            kind: ChartKind::Timeline,
            labels: notice.iter().map(|r| format!("{} days", r.notice_days)).collect(),
            x: Vec::new(),
            x_label: "Notice period (business days)".into(),
            x_unit: Unit::Count,
            y_label: "Share of initial NAV".into(),
            y_unit: Unit::Fraction,
            series: vec![
                ChartSeries {
                    name: "Mean shortfall".into(),
                    values: notice.iter().map(|r| r.mean_shortfall).collect(),
                },
                ChartSeries {
                    name: "95th pct dilution".into(),
                    values: notice.iter().map(|r| r.p95_dilution).collect(),
                },
                ChartSeries {
                    name: "Mean still queued at horizon".into(),
                    values: notice.iter().map(|r| r.mean_queued_at_end).collect(),
                },
            ],
        });
    }

    // ---- Dealing-frequency alternatives ------------------------------------------------
    let dealing: Vec<NoticeResult> = DEALING_ALTERNATIVES
        .iter()
        .flat_map(|(_, k)| {
            notice_alternatives(run, &specs, &ids, &[run.fund.terms.notice_days], *k)
        })
        .collect();
    if dealing.len() == DEALING_ALTERNATIVES.len() && dealing[0].scenarios > 0 {
        let m = dealing[0].scenarios;
        let mut t = Table::new(
            &format!(
                "Dealing-frequency alternatives: the same {m} scenarios re-run with the fund's notice ({} business days) and dealing daily, weekly (every 5 business days) or monthly (every 21): requests wait for the next dealing date and deal together there, through the fund's gate and swing pricing.",
                run.fund.terms.notice_days
            ),
            vec![
                Column::text("Dealing"),
                Column::percent("Mean shortfall"),
                Column::percent("95th pct shortfall"),
                Column::number("95th pct dilution (bp of NAV)", 3),
                Column::percent("Scenarios gated"),
                Column::number("Mean final NAV per share", 4),
                Column::percent("Still queued at the horizon"),
            ],
        );
        for ((name, _), r) in DEALING_ALTERNATIVES.iter().zip(&dealing) {
            t.row(vec![
                Cell::from(*name),
                Cell::from(r.mean_shortfall),
                Cell::from(r.p95_shortfall),
                Cell::from(r.p95_dilution * 1e4),
                Cell::from(r.gated_share),
                Cell::from(r.mean_final_nav),
                Cell::from(r.mean_queued_at_end),
            ]);
            f.figure(
                &format!("dealing_{name}_shortfall_mean"),
                &format!("Dealing {name}: mean buffer shortfall (sold beyond the buffer) over the {m} re-run scenarios (share of NAV)"),
                r.mean_shortfall,
                Unit::Fraction,
                Horizon::Point,
            );
            f.figure(
                &format!("dealing_{name}_gated_share"),
                &format!("Dealing {name}: share of the {m} re-run scenarios in which the gate deferred redemptions (a stress design, not a probability)"),
                r.gated_share,
                Unit::Fraction,
                Horizon::Point,
            );
            f.figure(
                &format!("dealing_{name}_final_nav_mean"),
                &format!("Dealing {name}: mean final NAV per share of remaining investors over the {m} re-run scenarios"),
                r.mean_final_nav,
                Unit::Ratio,
                Horizon::Point,
            );
        }
        f.tables.push(t);
        let (daily, monthly) = (&dealing[0], &dealing[dealing.len() - 1]);
        f.recommend(
            format!(
                "Dealing frequency: monthly dealing changes the mean buffer shortfall from {} (daily) to {} and the share of scenarios gated from {} to {}; it bunches a month's requests on one date rather than preventing them — weigh it against investors' access to their money.",
                pct(daily.mean_shortfall),
                pct(monthly.mean_shortfall),
                pct(daily.gated_share),
                pct(monthly.gated_share)
            ),
            &[
                "dealing_daily_shortfall_mean",
                "dealing_monthly_shortfall_mean",
                "dealing_daily_gated_share",
                "dealing_monthly_gated_share",
            ],
        );
    }

    // ---- Upstream framing ------------------------------------------------------------
    let up_outflow = upstream_figure(upstream, "investor-behavior-modeler", "outflow_30d_p99");
    let up_buffer = upstream_figure(
        upstream,
        "portfolio-liquidity-optimizer",
        "optimal_buffer_share",
    );
    let strategy_key = match s.strategy {
        crate::types::LiquidationStrategy::Waterfall => "dilution_p95_waterfall",
        crate::types::LiquidationStrategy::Slice => "dilution_p95_slice",
        crate::types::LiquidationStrategy::Hybrid => "dilution_p95_hybrid",
    };
    let up_dilution = upstream_figure(upstream, "liquidation-strategy-designer", strategy_key);
    if let Some(v) = up_outflow.filter(|v| v.is_finite()) {
        f.figure(
            "upstream_outflow_30d_p99",
            "Outflow by day 30, 99th percentile across scenarios (from the investor-behavior-modeler)",
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if let Some(v) = up_buffer.filter(|v| v.is_finite()) {
        f.figure(
            "upstream_optimal_buffer_share",
            "Least-cost buffer reaching the coverage target, share of NAV (from the portfolio-liquidity-optimizer)",
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if let Some(v) = up_dilution.filter(|v| v.is_finite()) {
        f.figure(
            "upstream_dilution_p95",
            &format!("95th percentile dilution of remaining investors under the run's strategy, {} (from the liquidation-strategy-designer)", strategy_key.trim_start_matches("dilution_p95_")),
            v,
            Unit::Fraction,
            Horizon::Point,
        );
    }

    // ---- Headline and recommendations -----------------------------------------------
    let r0 = &configured[0];
    let fmt_rate = |x: Option<f64>| x.map_or("n/a".to_string(), pct);
    let fund_prot = prot_rows
        .iter()
        .find(|(k, _, _)| k == "fund_gate")
        .map(|(_, _, p)| p);
    let worse_text = match fund_prot {
        Some(p) => format!(
            "the fund's own gate left remaining investors worse off than no gate in {} of {} scenarios (at most {} on the fund)",
            p.worse_off,
            p.scenarios,
            money(p.worst_loss * run.fund.nav, cur)
        ),
        None => "the fund has no gate of its own".into(),
    };
    let calib_text = best[0]
        .map(|i| {
            format!(
                "; calibrated in-sample by Youden's J the redemption threshold is {} of NAV (hit rate {}, false alarms {})",
                pct(grids[0][i].level),
                fmt_rate(grids[0][i].rates.hit_rate),
                fmt_rate(grids[0][i].rates.false_alarm_rate)
            )
        })
        .unwrap_or_default();
    f.headline = format!(
        "{} of {n} scenarios end in distress without a gate ({end_dated} of them by the illiquid share passing its limit); the redemption trigger ({} of NAV over 21 business days) misses {} of them with a false-alarm rate of {}{}; {} (in-sample over a stress design, not probabilities).",
        distressed,
        pct(s.redemption_trigger),
        fmt_rate(r0.miss_rate),
        fmt_rate(r0.false_alarm_rate),
        calib_text,
        worse_text
    );

    // Recommendation 1: thresholds.
    for (k, t) in Trigger::ALL.iter().enumerate() {
        let key = trigger_key(*t);
        let (Some(i), Some(miss), Some(fa)) = (
            best[k],
            configured[k].miss_rate,
            configured[k].false_alarm_rate,
        ) else {
            continue;
        };
        let p = &grids[k][i];
        let (Some(cm), Some(cf)) = (p.rates.miss_rate, p.rates.false_alarm_rate) else {
            continue;
        };
        let conf = configured_level(run, *t);
        let edge = if i + 1 == grids[k].len() || i == 0 {
            " It sits at the edge of the grid scored, so the best level may lie beyond it."
        } else {
            ""
        };
        if (p.level - conf).abs() < 1e-12 {
            f.recommend(
                format!(
                    "Keep the {} trigger at {}: it is already the threshold with the best Youden's J on these scenarios (miss rate {}, false-alarm rate {}; in-sample over a stress design).{edge}",
                    trigger_label(*t).to_lowercase(),
                    level_text(*t, conf),
                    pct(miss),
                    pct(fa)
                ),
                &[&format!("{key}_miss_rate"), &format!("{key}_false_alarm_rate"), &format!("{key}_calibrated_threshold")],
            );
        } else {
            f.recommend(
                format!(
                    "Move the {} trigger from {} to {}: the miss rate goes from {} to {} and the false-alarm rate from {} to {} (Youden's J, in-sample over a stress design — validate on history before adopting).{edge}",
                    trigger_label(*t).to_lowercase(),
                    level_text(*t, conf),
                    level_text(*t, p.level),
                    pct(miss),
                    pct(cm),
                    pct(fa),
                    pct(cf)
                ),
                &[
                    &format!("{key}_miss_rate"),
                    &format!("{key}_false_alarm_rate"),
                    &format!("{key}_calibrated_threshold"),
                    &format!("{key}_calibrated_miss_rate"),
                    &format!("{key}_calibrated_false_alarm_rate"),
                ],
            );
        }
    }
    // Recommendation 2: combination.
    if let (Some(h2), Some(fa2), Some(fa0)) = (
        combos[0].2.hit_rate,
        combos[0].2.false_alarm_rate,
        configured[0].false_alarm_rate,
    ) {
        let hit0 = configured[0].hit_rate.unwrap_or(0.0);
        let verdict = if h2 >= hit0 && fa2 <= fa0 {
            "use it as the gate's decision rule: it is at least as sensitive and no more alarmist than the redemption trigger alone"
        } else if fa2 < fa0 {
            "consider it to cut needless gates, at the price of the misses shown"
        } else {
            "it does not beat the redemption trigger alone here; keep it as a confirmation signal only"
        };
        f.recommend(
            format!(
                "Two-of-three rule at the configured levels: hit rate {}, false-alarm rate {} (redemption trigger alone: {}, {}) — {verdict}.",
                pct(h2),
                pct(fa2),
                pct(hit0),
                pct(fa0)
            ),
            &["two_of_three_hit_rate", "two_of_three_false_alarm_rate", "redemption_hit_rate", "redemption_false_alarm_rate"],
        );
    }
    // Recommendation 3: early warning.
    // The early warning with the longest median warning ahead of the redemption trigger;
    // ties go to the lowest false-alarm rate.
    let own_flows = early_ahead
        .iter()
        .filter(|e| e.0 == Trigger::Redemptions)
        .map(|e| {
            (
                e.2,
                format!(
                    "{}_strictly_ahead_share",
                    e.1.trim_end_matches("_ahead_median_days")
                ),
            )
        })
        .next();
    if let Some((t, key, ahead, level, fa)) = early_ahead
        .iter()
        .filter(|e| e.2 > 0.0)
        .max_by(|a, b| a.2.total_cmp(&b.2).then(b.4.total_cmp(&a.4)))
        .cloned()
    {
        let mut cites = vec![key.as_str()];
        let mut text = format!(
            "Use {} {} as the early warning: it crosses a median {ahead:.0} business days before the {} redemption trigger fires in the simulations (false-alarm rate {} as a predictor of distress)",
            trigger_label(t).to_lowercase(),
            level_text(t, level),
            pct(s.redemption_trigger),
            pct(fa)
        );
        let own_key;
        if let Some((own_ahead, k)) = own_flows.filter(|_| t != Trigger::Redemptions) {
            if let Some(share) = f.get(&k) {
                text.push_str(&format!(
                    "; the lowest redemption-window level scored crosses a median {own_ahead:.0} days ahead and strictly earlier in only {} of the scenarios where both fire (redemption shocks arrive in lumps)",
                    pct(share)
                ));
                own_key = k;
                cites.push(own_key.as_str());
            }
        }
        if let Some(v) = up_outflow.filter(|v| v.is_finite()) {
            text.push_str(&format!(
                "; the 99th-percentile outflow by day 30 is {} (investor-behavior-modeler), {} the {} gate trigger",
                pct(v),
                if v > s.redemption_trigger { "above" } else { "below" },
                pct(s.redemption_trigger)
            ));
            cites.push("upstream_outflow_30d_p99");
        }
        text.push('.');
        f.recommend(text, &cites);
    }
    // Recommendation 4: gate protection and its limits.
    if let Some(p) = fund_prot {
        let mut cites = vec![
            "fund_gate_gate_nav_gain_mean",
            "fund_gate_gate_worse_off_count",
            "fund_gate_gate_worse_off_max",
            "distress_share",
        ];
        let mut text = format!(
            "The fund's gate ({} of NAV a day) raises remaining investors' final NAV per share by {:.2e} on average and defers redemptions in {} of {} scenarios; it leaves them worse off in {} (at most {}). In this model that can happen when a capped slice sells illiquid holdings on more days, when a buffer or settlement lag lets leavers escape costs without swing pricing, when liquidity worsens during the deferral, when deferred sales meet the fund's own fire-sale marks, or when feedback lengthens the drawdown (crate README)",
            pct(gate_threshold),
            p.mean_nav_gain,
            p.gate_bound,
            p.scenarios,
            p.worse_off,
            money(p.worst_loss * run.fund.nav, cur)
        );
        if f.get("worse_off_still_without_feedback_share").is_some() {
            text.push_str(&format!(
                "; re-run without feedback, {} of the worse-off cases remain",
                pct(f
                    .get("worse_off_still_without_feedback_share")
                    .unwrap_or(0.0))
            ));
            cites.push("worse_off_still_without_feedback_share");
        }
        if let Some(v) = up_dilution.filter(|v| v.is_finite()) {
            text.push_str(&format!(
                "; set against a 95th-percentile dilution of {} under the {} strategy (liquidation-strategy-designer)",
                pct(v),
                strategy_key.trim_start_matches("dilution_p95_")
            ));
            cites.push("upstream_dilution_p95");
        }
        match run.fund.terms.swing {
            Some(sw) => text.push_str(&format!(
                ". The fund swings its price only on days with outflows above {} of NAV: below that, leavers dealt before their costs are realised escape them, so a lower swing threshold would close the buffer route (condition 2).",
                pct(sw.threshold)
            )),
            None => text.push_str(
                ". Pair the gate with swing pricing so leavers bear their own costs (the fund has none).",
            ),
        }
        f.recommend(text, &cites);
    }
    // Recommendation 5: notice.
    if notice.len() >= 2 && notice[0].scenarios > 0 {
        let first = &notice[0];
        let last = &notice[notice.len() - 1];
        let mut cites = vec![];
        let k0 = format!("notice_{}_shortfall_mean", first.notice_days);
        let k1 = format!("notice_{}_shortfall_mean", last.notice_days);
        let q1 = format!("notice_{}_queued_at_end_mean", last.notice_days);
        let d0 = format!("notice_{}_dilution_p95", first.notice_days);
        let d1 = format!("notice_{}_dilution_p95", last.notice_days);
        cites.extend([
            k0.as_str(),
            k1.as_str(),
            q1.as_str(),
            d0.as_str(),
            d1.as_str(),
        ]);
        let mut text = format!(
            "A {}-business-day notice period (against {}) moves the mean shortfall from {} to {} and the 95th-percentile dilution from {:.2} to {:.2} bp of NAV on the re-run subset, and leaves {:.2} bp of NAV still queued at the horizon (redemptions delayed, not avoided): in this cascade, where sales start only once requests deal, notice buys little; the cascade does not model weekly or monthly dealing, so redemption frequency is not assessed",
            last.notice_days,
            first.notice_days,
            pct(first.mean_shortfall),
            pct(last.mean_shortfall),
            first.p95_dilution * 1e4,
            last.p95_dilution * 1e4,
            last.mean_queued_at_end * 1e4
        );
        if let Some(v) = up_buffer.filter(|v| v.is_finite()) {
            text.push_str(&format!(
                "; a notice period is a complement to, not a substitute for, the least-cost buffer of {} of NAV (portfolio-liquidity-optimizer)",
                pct(v)
            ));
            cites.push("upstream_optimal_buffer_share");
        }
        text.push('.');
        f.recommend(text, &cites);
    }
    // Issue 7, must have 7: the reverse liquidity stress test closes the policy work —
    // where the buffer, the illiquid limit and the need to gate give way.
    let rs = crate::reverse::reverse_stress(run, agg);
    crate::reverse::add_to_findings(&rs, &mut f, cur, run.fund.nav);
    f.headline = format!(
        "{} {}",
        f.headline,
        crate::reverse::summary(&rs, cur, run.fund.nav)
    );
    f
}

#[cfg(test)]
mod tests;
