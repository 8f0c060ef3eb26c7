//! liquidation-strategy-designer (issue 7, must have 5): how the fund should sell
//! beyond its buffer, and what each way of selling leaves to the investors who stay.
//!
//! Three strategies run in every scenario's cascade ([`crate::engine::STRATEGIES`]):
//! the **waterfall** (most liquid first), the pro-rata **slice** and the **hybrid**
//! (slice within the liquid layers, waterfall across liquid and less liquid). The ESMA
//! guidelines on liquidity stress testing in UCITS and AIFs (ESMA34-39-897, 2020,
//! § 29) name the trade-off this persona measures: the waterfall is cheapest now but
//! leaves remaining investors a less liquid fund; the slice keeps the fund's profile
//! and costs more now. Compared across the scenario set on liquidation cost, NAV
//! impact, dilution, fire-sale marks, style drift, the less-liquid and illiquid share
//! left and buffer shortfall (mean, median, 95th percentile, worst), overall and by
//! market-stress kind × severity; then one strategy is recommended by a stated rule
//! ([`choose_strategy`]).
//!
//! The recommended hierarchy is laid out per waterfall layer ([`layer_schedule`]):
//! value held, daily capacity at the participation cap (normal, and at the peak stress
//! of the scenarios at the median and 95th percentile of the market-stress
//! composite), days to sell and the cost at the cap. The worst scenario is re-run with
//! every strategy, recorded; the recommended strategy's sales are attributed to layers
//! day by day by replaying the cascade's allocation rule on its recorded daily totals
//! ([`replay_layers`]), checked against the cascade's own recorded costs and marks.
//!
//! The scenario set is a stress design (equal thirds of severities per kind), so a
//! "share of scenarios" is a share of that design, never a probability.

use crate::cascade::{
    class_index, waterfall_layer, CascadeWorkspace, DayRecord, ImpactModel, SaleConditions,
    FIRST_LESS_LIQUID_LAYER, N_CLASSES,
};
use crate::engine::{
    market_kind_name, severity_name, strategy_name, LiquidityRun, ScenarioDriver, ScenarioOutcome,
    ScenarioPaths, Simulator, VariantOutcome, IMPACT, STRATEGIES,
};
use crate::personas::upstream_figure;
use crate::scenarios::{market_path_for_class, MarketStressKind, ScenarioSpec};
use crate::types::{AssetClass, Holding, LiquidationStrategy, MarketStress, Severity};
use crate::LiquidityAggregate;
use stresslab_analytics::stats;
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{pct, Cell, Column, Table};

/// Share of scenarios in which a strategy must keep the illiquid share of what is left
/// within the run's illiquid limit to be eligible ([`choose_strategy`]). An assumption:
/// the same 95% level as the loss percentile the rule minimises, so the rule reads
/// "best 1-in-20 outcome among strategies that breach the limit in at most 1 in 20".
pub const ILLIQUID_COMPLIANCE: f64 = 0.95;

/// The percentile of the adverse tail reported and minimised: 95%.
pub const TAIL: f64 = 0.95;

/// Scenarios whose market-stress composite sits at these quantiles give the stressed
/// columns of the layer table: the median and the 95th percentile of severity.
pub const STRESS_QUANTILES: [f64; 2] = [0.5, 0.95];

/// Number of waterfall layers ([`waterfall_layer`]).
pub const LAYERS: usize = 7;

/// Names of the waterfall layers, in order.
pub const LAYER_NAMES: [&str; LAYERS] = [
    "Cash equivalents",
    "Sovereigns (short, then long)",
    "Liquid equities (large caps)",
    "Liquid credit (IG)",
    "Less liquid equities (mid, small, EM)",
    "Less liquid credit (HY, EM debt)",
    "Illiquid (alternatives)",
];

/// Days of the worst scenario shown one by one in the sales schedule; later days are
/// shown in blocks of [`SCHEDULE_BLOCK_DAYS`] (a report table, not a data dump).
pub const SCHEDULE_SINGLE_DAYS: usize = 20;
pub const SCHEDULE_BLOCK_DAYS: usize = 10;
/// Rows of the schedule selling at most this share of initial NAV are left out (the
/// trickle of feedback redemptions late in a cascade; 1e-6 of a $12bn fund is $12k).
pub const SCHEDULE_MIN_SALE: f64 = 1e-6;

// ---------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------

/// A share of NAV in basis points, for text: `0.00043` → `"4.3 bp"`.
pub fn bp(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} bp", 1e4 * x)
    } else {
        "n/a".into()
    }
}

/// Mean, median, adverse 95th percentile and worst of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub median: f64,
    /// The 95th percentile when higher is worse, the 5th when lower is worse.
    pub tail: f64,
    /// The maximum when higher is worse, the minimum when lower is worse.
    pub worst: f64,
}

/// Summary statistics of `values` (any order). Quantiles are Hyndman & Fan (1996)
/// definition 7, linear interpolation between order statistics (numpy's default),
/// via [`stats::quantile`]. `None` for an empty sample (no NaN reaches a figure).
pub fn summarise(values: &[f64], higher_is_worse: bool) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(Summary {
        mean: v.iter().sum::<f64>() / n as f64,
        median: stats::quantile(&v, 0.5),
        // The lower tail as the mirror of the upper one (quantile of −x at TAIL), so
        // both use the same interpolation point ((n − 1)·0.95, not (n − 1)·(1 − 0.95)
        // with its rounding).
        tail: if higher_is_worse {
            stats::quantile(&v, TAIL)
        } else {
            let neg: Vec<f64> = v.iter().rev().map(|x| -x).collect();
            -stats::quantile(&neg, TAIL)
        },
        worst: if higher_is_worse { v[n - 1] } else { v[0] },
    })
}

/// One outcome measure of a strategy's cascade.
pub struct Metric {
    pub label: &'static str,
    pub higher_is_worse: bool,
    /// Shown in basis points of initial NAV (costs and NAV impact, small numbers);
    /// otherwise in percent (shares of what is left).
    pub in_bp: bool,
    pub get: fn(&VariantOutcome) -> f64,
}

/// What the liquidation itself costs those who stay, share of initial NAV: the costs
/// not swung onto leavers (dilution) plus the fire-sale marks on what is left. The
/// market's own fall is left out on purpose: it depends on what the fund still holds,
/// so a strategy that keeps appraisal-marked alternatives (which fall less) would look
/// better for the wrong reason.
pub fn remaining_loss(v: &VariantOutcome) -> f64 {
    v.dilution + v.fire_sale_loss
}

/// The measures compared, in table order.
pub const METRICS: [Metric; 9] = [
    Metric {
        label: "Liquidation cost (spread + impact), share of initial NAV",
        higher_is_worse: true,
        in_bp: true,
        get: |v| v.liquidation_cost,
    },
    Metric {
        label: "Dilution borne by remaining investors, share of initial NAV",
        higher_is_worse: true,
        in_bp: true,
        get: |v| v.dilution,
    },
    Metric {
        label: "Fire-sale marks on holdings kept, share of initial NAV",
        higher_is_worse: true,
        in_bp: true,
        get: |v| v.fire_sale_loss,
    },
    Metric {
        label: "Max drawdown of NAV per share (share of the running peak)",
        higher_is_worse: true,
        in_bp: true,
        get: |v| v.max_drawdown,
    },
    Metric {
        label: "Liquidation loss to remaining investors: dilution + fire-sale marks, share of initial NAV (the market's own fall excluded)",
        higher_is_worse: true,
        in_bp: true,
        get: remaining_loss,
    },
    Metric {
        label: "Style drift (half L1 distance of class weights, end vs start)",
        higher_is_worse: true,
        in_bp: false,
        get: |v| v.style_drift,
    },
    Metric {
        label: "Less-liquid share of invested assets at the end",
        higher_is_worse: true,
        in_bp: false,
        get: |v| v.less_liquid_share_end,
    },
    Metric {
        label: "Illiquid share of invested assets at the end",
        higher_is_worse: true,
        in_bp: false,
        get: |v| v.illiquid_share_end,
    },
    Metric {
        label: "Buffer shortfall (largest unpaid redemptions), share of initial NAV",
        higher_is_worse: true,
        in_bp: false,
        get: |v| v.shortfall,
    },
];

fn column(outcomes: &[&ScenarioOutcome], k: usize, get: fn(&VariantOutcome) -> f64) -> Vec<f64> {
    outcomes.iter().map(|o| get(&o.by_strategy[k])).collect()
}

// ---------------------------------------------------------------------------------
// The recommendation rule
// ---------------------------------------------------------------------------------

/// The rule's reading of each strategy and its choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Index into [`STRATEGIES`].
    pub strategy: usize,
    /// 95th percentile of [`remaining_loss`] per strategy.
    pub loss_tail: [f64; 3],
    /// Share of scenarios whose illiquid share at the end is within the limit.
    pub within_limit: [f64; 3],
    /// Whether each strategy meets [`ILLIQUID_COMPLIANCE`].
    pub eligible: [bool; 3],
    /// False when no strategy was eligible (the fallback chose).
    pub constrained: bool,
}

/// The recommendation rule: among the strategies that keep the illiquid share of
/// invested assets within `illiquid_limit` in at least [`ILLIQUID_COMPLIANCE`] of the
/// scenarios, the one with the smallest 95th percentile of the loss to remaining
/// investors ([`remaining_loss`]); ties go to the larger share within the limit,
/// then to the order of [`STRATEGIES`]. If none is eligible, the one within the limit
/// in the most scenarios, then the smallest loss percentile. A minimax-regret flavour
/// of ESMA 2020 § 29: protect those who stay, subject to not handing them a fund that
/// breaches its illiquid limit (SEC rule 22e-4(b)(1)(iv)). `None` without outcomes.
pub fn choose_strategy(outcomes: &[&ScenarioOutcome], illiquid_limit: f64) -> Option<Choice> {
    if outcomes.is_empty() {
        return None;
    }
    let n = outcomes.len() as f64;
    let mut loss_tail = [0.0; 3];
    let mut within_limit = [0.0; 3];
    for k in 0..3 {
        let losses = column(outcomes, k, remaining_loss);
        loss_tail[k] = summarise(&losses, true).map_or(0.0, |s| s.tail);
        within_limit[k] = outcomes
            .iter()
            .filter(|o| o.by_strategy[k].illiquid_share_end <= illiquid_limit)
            .count() as f64
            / n;
    }
    let eligible = within_limit.map(|w| w >= ILLIQUID_COMPLIANCE);
    let constrained = eligible.iter().any(|e| *e);
    let by_loss = |a: &usize, b: &usize| {
        loss_tail[*a]
            .total_cmp(&loss_tail[*b])
            .then(within_limit[*b].total_cmp(&within_limit[*a]))
            .then(a.cmp(b))
    };
    let strategy = if constrained {
        (0..3).filter(|k| eligible[*k]).min_by(by_loss)
    } else {
        (0..3).min_by(|a, b| {
            within_limit[*b]
                .total_cmp(&within_limit[*a])
                .then(by_loss(a, b))
        })
    }?;
    Some(Choice {
        strategy,
        loss_tail,
        within_limit,
        eligible,
        constrained,
    })
}

// ---------------------------------------------------------------------------------
// Layers: capacity, days and cost at the participation cap
// ---------------------------------------------------------------------------------

/// Most of one holding the fund can sell in a day at participation `cap` of its
/// stressed volume: `cap × ADV × (1 − volume_reduction)` (the cascade's cap; ∞ for an
/// unlimited ADV, 0 with no market).
pub fn daily_capacity(h: &Holding, cap: f64, s: &MarketStress) -> f64 {
    if h.adv.is_infinite() {
        f64::INFINITY
    } else {
        (cap * h.adv * (1.0 - s.volume_reduction)).max(0.0)
    }
}

/// Cost, as a fraction of the amount sold, of selling at participation `cap` of the
/// stressed volume: half the stressed spread plus the temporary impact of Almgren,
/// Thum, Hauptmann & Li (2005), `η σ cap^β` with η = 0.142, β = 0.6 and σ the stressed
/// daily volatility — [`IMPACT`], the model the cascade charges. An unlimited ADV
/// means no impact (as in the cascade).
pub fn cost_at_cap(h: &Holding, cap: f64, s: &MarketStress) -> f64 {
    let volume = h.adv * (1.0 - s.volume_reduction);
    IMPACT
        .cost_fraction(&SaleConditions {
            participation: if volume.is_infinite() { 0.0 } else { cap },
            spread_bps: h.spread_bps * s.spread_multiplier,
            daily_vol: h.daily_vol * s.vol_multiplier,
            stress: *s,
        })
        .clamp(0.0, 1.0)
}

/// One waterfall layer under one market state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerCapacity {
    /// Σ daily capacity of the layer's holdings (∞ if any is unlimited).
    pub per_day: f64,
    /// Business days to sell the whole layer with every holding sold at its cap in
    /// parallel: `max_i value_i / capacity_i` (∞ if a holding has no market).
    pub days: f64,
    /// Value-weighted cost fraction at the cap over the layer's sellable holdings.
    pub cost: f64,
}

/// Capacity, days and cost of the holdings in `holdings` (one layer) in state `stress`
/// (per class). Empty or unsellable layers give zero capacity.
pub fn layer_capacity(
    holdings: &[&Holding],
    cap: f64,
    stress: &[MarketStress; N_CLASSES],
) -> LayerCapacity {
    let mut per_day = 0.0;
    let mut days: f64 = 0.0;
    let (mut cost, mut sellable) = (0.0, 0.0);
    for h in holdings {
        let s = &stress[class_index(h.asset_class)];
        let c = daily_capacity(h, cap, s);
        per_day += c;
        if h.market_value > 0.0 {
            days = days.max(if c > 0.0 {
                h.market_value / c
            } else {
                f64::INFINITY
            });
            if c > 0.0 {
                cost += h.market_value * cost_at_cap(h, cap, s);
                sellable += h.market_value;
            }
        }
    }
    LayerCapacity {
        per_day,
        days,
        cost: if sellable > 0.0 { cost / sellable } else { 0.0 },
    }
}

/// Day-0 (peak) stress of every class in a scenario.
pub fn peak_stress(spec: &ScenarioSpec) -> [MarketStress; N_CLASSES] {
    let mut row = [MarketStress::NONE; N_CLASSES];
    for c in ALL_CLASSES {
        row[class_index(c)] = market_path_for_class(spec, c, 0);
    }
    row
}

const ALL_CLASSES: [AssetClass; N_CLASSES] = [
    AssetClass::Cash,
    AssetClass::CashEquivalent,
    AssetClass::ShortSovereign,
    AssetClass::Sovereign,
    AssetClass::EquityLarge,
    AssetClass::EquityMid,
    AssetClass::EquitySmall,
    AssetClass::EquityEm,
    AssetClass::CreditIg,
    AssetClass::CreditHy,
    AssetClass::EmDebt,
    AssetClass::Alternatives,
];

/// The scenario at quantile `q` of the peak market-stress composite (order statistic
/// `round(q (n − 1))`, ties by id).
pub fn scenario_at_stress_quantile<'a>(
    outcomes: &[&'a ScenarioOutcome],
    q: f64,
) -> Option<&'a ScenarioOutcome> {
    let mut v: Vec<&ScenarioOutcome> = outcomes.to_vec();
    v.sort_by(|a, b| {
        a.stress_composite
            .total_cmp(&b.stress_composite)
            .then(a.id.cmp(&b.id))
    });
    let i = (q * (v.len() as f64 - 1.0)).round();
    (!v.is_empty()).then(|| v[(i.max(0.0) as usize).min(v.len() - 1)])
}

/// Where a class is sold under `strategy`: a buffer tier first (in tier order), else
/// the strategy's stage (waterfall: its layer; slice: one stage; hybrid: liquid, then
/// less liquid).
pub fn stage_name(
    class: AssetClass,
    tiers: &[AssetClass],
    strategy: LiquidationStrategy,
) -> String {
    if class == AssetClass::Cash {
        return "pays first (cash)".into();
    }
    if let Some(k) = tiers.iter().position(|t| *t == class) {
        return format!("buffer tier {}", k + 1);
    }
    let layer = waterfall_layer(class);
    match strategy {
        LiquidationStrategy::Waterfall => format!("stage {} (layer by layer)", layer + 1),
        LiquidationStrategy::Slice => "one stage, pro rata to value".into(),
        LiquidationStrategy::Hybrid => {
            if layer < FIRST_LESS_LIQUID_LAYER {
                "stage 1: liquid layers pro rata".into()
            } else {
                "stage 2: less liquid layers pro rata".into()
            }
        }
    }
}

/// The layer table: per waterfall layer (and a cash row), value held, the stage the
/// recommended strategy sells it in, and capacity / days / cost at the participation
/// cap in a normal market and at each `stressed` state.
pub fn layer_schedule(
    run: &LiquidityRun,
    strategy: LiquidationStrategy,
    stressed: &[Option<[MarketStress; N_CLASSES]>; 2],
) -> Table {
    let cur = run.fund.base_currency.as_str();
    let cap = run.settings.participation_cap;
    let tiers: Vec<AssetClass> = run.fund.buffer.tiers.iter().map(|t| t.class).collect();
    let mut t = Table::new(
        &format!(
            "Liquidation hierarchy ({}) with capacity at the {} participation cap: normal market, and the peak (day-0) stress of the scenarios at the median and 95th percentile of the market-stress composite, held constant (so days are an upper bound while stress fades). Capacity and days: every holding sold at its cap in parallel; days = max over holdings of value / daily capacity. Cost: half the stressed spread + Almgren et al. (2005) impact at the cap, value-weighted. — means unlimited capacity (no impact) or, for days, never sellable (no market)",
            strategy_name(strategy),
            pct(cap)
        ),
        vec![
            Column::text("Layer"),
            Column::text("Sold in"),
            Column::money("Value", cur),
            Column::percent("Share of NAV"),
            Column::money("Capacity/day, normal", cur),
            Column::number("Days, normal", 1),
            Column::money("Capacity/day, median stress", cur),
            Column::number("Days, median stress", 1),
            Column::money("Capacity/day, 95th pct stress", cur),
            Column::number("Days, 95th pct stress", 1),
            Column::percent("Cost at cap, normal"),
            Column::percent("Cost at cap, 95th pct stress"),
        ],
    );
    let cash: f64 = run
        .fund
        .holdings
        .iter()
        .filter(|h| h.holding.asset_class == AssetClass::Cash)
        .map(|h| h.holding.market_value)
        .sum();
    let nav = run.fund.nav.max(f64::MIN_POSITIVE);
    if cash > 0.0 {
        let mut row = vec![
            Cell::from("Cash"),
            Cell::from(stage_name(AssetClass::Cash, &tiers, strategy)),
            Cell::from(cash),
            Cell::from(cash / nav),
        ];
        row.extend(std::iter::repeat_n(Cell::Missing, 8));
        t.row(row);
    }
    let normal = [MarketStress::NONE; N_CLASSES];
    let finite = |x: f64| x.is_finite().then_some(x);
    for (layer, name) in LAYER_NAMES.iter().enumerate() {
        let members: Vec<&Holding> = run
            .fund
            .holdings
            .iter()
            .map(|h| &h.holding)
            .filter(|h| {
                h.asset_class != AssetClass::Cash && waterfall_layer(h.asset_class) == layer
            })
            .collect();
        let value: f64 = members.iter().map(|h| h.market_value).sum();
        if members.is_empty() || value <= 0.0 {
            continue;
        }
        // Stage names of the classes present, deduplicated.
        let mut stages: Vec<String> = Vec::new();
        for h in &members {
            let s = stage_name(h.asset_class, &tiers, strategy);
            if !stages.contains(&s) {
                stages.push(s);
            }
        }
        let n = layer_capacity(&members, cap, &normal);
        let s: Vec<Option<LayerCapacity>> = stressed
            .iter()
            .map(|st| st.as_ref().map(|st| layer_capacity(&members, cap, st)))
            .collect();
        let capacity = |c: Option<LayerCapacity>| Cell::from(c.and_then(|c| finite(c.per_day)));
        let days = |c: Option<LayerCapacity>| Cell::from(c.and_then(|c| finite(c.days)));
        t.row(vec![
            Cell::from(*name),
            Cell::from(stages.join("; ")),
            Cell::from(value),
            Cell::from(value / nav),
            capacity(Some(n)),
            days(Some(n)),
            capacity(s[0]),
            days(s[0]),
            capacity(s[1]),
            days(s[1]),
            Cell::from(n.cost),
            Cell::from(s[1].map(|c| c.cost)),
        ]);
    }
    t
}

// ---------------------------------------------------------------------------------
// The worst scenario, day by day
// ---------------------------------------------------------------------------------

/// Sales of one recorded cascade attributed to waterfall layers, day by day.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// `sold[t][layer]`: gross sold on day `t` (base currency).
    pub sold: Vec<[f64; LAYERS]>,
    /// The day's sale costs and fire-sale marks, as recorded.
    pub cost: Vec<f64>,
    pub fire_sale: Vec<f64>,
}

/// Each recorded day's gross sales by layer, from the cascade's own per-class record
/// (`DayRecord::class_sold`), with the day's costs and fire-sale marks as recorded.
pub fn replay_layers(days: &[DayRecord]) -> Replay {
    let mut out = Replay {
        sold: Vec::with_capacity(days.len()),
        cost: Vec::with_capacity(days.len()),
        fire_sale: Vec::with_capacity(days.len()),
    };
    for d in days {
        let mut layer_sold = [0.0; LAYERS];
        for c in ALL_CLASSES {
            layer_sold[waterfall_layer(c)] += d.class_sold[class_index(c)];
        }
        out.sold.push(layer_sold);
        out.cost.push(d.cost);
        out.fire_sale.push(d.fire_sale_loss);
    }
    out
}

/// The worst scenario re-run with each strategy, recorded.
pub struct WorstRuns {
    pub spec: ScenarioSpec,
    /// Per strategy: the recorded days.
    pub days: [Vec<DayRecord>; 3],
    pub class_stress: Vec<[MarketStress; N_CLASSES]>,
}

/// Re-runs `spec` with every strategy's engine, recording days (three cascades).
pub fn rerun_worst(run: &LiquidityRun, spec: &ScenarioSpec) -> Option<WorstRuns> {
    let sim = Simulator::new(run).ok()?;
    let mut paths = ScenarioPaths::default();
    paths.fill(spec, run.settings.horizon_days as usize);
    let driver = ScenarioDriver {
        exogenous: &paths.exogenous,
        feedback_slope: if run.settings.feedback {
            run.feedback_slope
        } else {
            0.0
        },
    };
    let mut ws: CascadeWorkspace = sim.base.workspace();
    let mut days: [Vec<DayRecord>; 3] = Default::default();
    for (k, engine) in sim.by_strategy.iter().enumerate() {
        engine
            .run(&paths.market(), &driver, &sim.impact, &mut ws, true)
            .ok()?;
        days[k] = std::mem::take(&mut ws.days);
    }
    Some(WorstRuns {
        spec: spec.clone(),
        days,
        class_stress: paths.class_stress.clone(),
    })
}

/// Cumulative gross sold by the end of each day, share of initial NAV, over `horizon`
/// days (a cascade that settled early keeps its last value).
pub fn cumulative_sold(days: &[DayRecord], nav0: f64, horizon: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(horizon);
    let mut acc = 0.0;
    for t in 0..horizon {
        if let Some(d) = days.iter().find(|d| d.day as usize == t) {
            acc += d.gross_sold / nav0;
        }
        out.push(acc);
    }
    out
}

fn schedule_table(
    run: &LiquidityRun,
    name: &str,
    strategy: LiquidationStrategy,
    days: &[DayRecord],
    replay: &Replay,
) -> Table {
    let cur = run.fund.base_currency.as_str();
    let nav0 = run.fund.nav.max(f64::MIN_POSITIVE);
    // Layers the fund holds (stable columns for this fund).
    let held: Vec<usize> = (0..LAYERS)
        .filter(|l| {
            run.fund.holdings.iter().any(|h| {
                h.holding.asset_class != AssetClass::Cash
                    && waterfall_layer(h.holding.asset_class) == *l
                    && h.holding.market_value > 0.0
            })
        })
        .collect();
    let mut columns = vec![Column::text("Business day(s)")];
    for l in &held {
        columns.push(Column::money(LAYER_NAMES[*l], cur));
    }
    columns.push(Column::money("Total sold", cur));
    columns.push(Column::money("Sale costs", cur));
    columns.push(Column::money("Redemptions dealt", cur));
    let mut t = Table::new(
        &format!(
            "Worst scenario ({name}): what the {} strategy sold, by waterfall layer and business day (day 1 = the first day of the shock; later days in blocks of {SCHEDULE_BLOCK_DAYS}). Rows selling at most 0.0001% of initial NAV are left out. Sales per layer are the cascade's own per-class record.",
            strategy_name(strategy),
        ),
        columns,
    )
    .one_money_scale();
    let mut push = |label: String, rows: &[usize]| {
        let mut layer = [0.0; LAYERS];
        let (mut total, mut cost, mut dealt) = (0.0, 0.0, 0.0);
        for &r in rows {
            for (l, v) in replay.sold[r].iter().enumerate() {
                layer[l] += v;
            }
            total += days[r].gross_sold;
            cost += days[r].cost;
            dealt += days[r].dealt_value;
        }
        if total <= SCHEDULE_MIN_SALE * nav0 {
            return;
        }
        let mut cells = vec![Cell::from(label)];
        for l in &held {
            cells.push(Cell::from(layer[*l]));
        }
        cells.extend([Cell::from(total), Cell::from(cost), Cell::from(dealt)]);
        t.row(cells);
    };
    let n = days.len().min(replay.sold.len());
    for (r, d) in days.iter().enumerate().take(n.min(SCHEDULE_SINGLE_DAYS)) {
        push(format!("{}", d.day + 1), &[r]);
    }
    let mut start = SCHEDULE_SINGLE_DAYS;
    while start < n {
        let end = (start + SCHEDULE_BLOCK_DAYS).min(n);
        let rows: Vec<usize> = (start..end).collect();
        push(
            format!("{}–{}", days[start].day + 1, days[end - 1].day + 1),
            &rows,
        );
        start = end;
    }
    t
}

// ---------------------------------------------------------------------------------
// The persona
// ---------------------------------------------------------------------------------

fn kind_label(k: &MarketStressKind) -> String {
    match k {
        MarketStressKind::AssetClassSpecific { .. } => "asset-class specific".into(),
        other => market_kind_name(other),
    }
}

const SEVERITIES: [Severity; 3] = [Severity::Moderate, Severity::Severe, Severity::Extreme];

/// Liquidation strategy designer: waterfall, slice and hybrid compared in the
/// cascades; the recommended hierarchy with per-layer schedules under the caps.
pub fn liquidation_strategy_designer(
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    upstream: &[Findings],
) -> Findings {
    let mut f = Findings::new("liquidation-strategy-designer");
    let outcomes: Vec<&ScenarioOutcome> = agg.outcomes.iter().collect();
    let horizon = run.settings.horizon_days;
    let limit = run.settings.illiquid_limit;
    let names = STRATEGIES.map(strategy_name);

    // Start of the cascade: the less-liquid and illiquid share of invested assets.
    let invested: f64 = run
        .fund
        .holdings
        .iter()
        .filter(|h| h.holding.asset_class != AssetClass::Cash)
        .map(|h| h.holding.market_value)
        .sum();
    let part = |pred: fn(AssetClass) -> bool| -> f64 {
        let v: f64 = run
            .fund
            .holdings
            .iter()
            .filter(|h| h.holding.asset_class != AssetClass::Cash && pred(h.holding.asset_class))
            .map(|h| h.holding.market_value)
            .sum();
        if invested > 0.0 {
            v / invested
        } else {
            0.0
        }
    };
    let less_liquid_start = part(|c| waterfall_layer(c) >= FIRST_LESS_LIQUID_LAYER);
    let illiquid_start = part(|c| c == AssetClass::Alternatives);

    let Some(choice) = choose_strategy(&outcomes, limit) else {
        f.headline = format!(
            "No scenario outcomes to compare ({} failed): no liquidation strategy can be recommended from this run.",
            agg.failures.len()
        );
        f.figure(
            "less_liquid_share_start",
            "Less-liquid share of invested assets today (layers: mid/small/EM equity, HY/EM debt, alternatives)",
            less_liquid_start,
            Unit::Fraction,
            Horizon::Point,
        );
        f.tables
            .push(layer_schedule(run, run.settings.strategy, &[None, None]));
        return f;
    };
    let rec = choice.strategy;
    let rec_strategy = STRATEGIES[rec];

    // Comparison tables and per-strategy statistics.
    let design = format!(
        "across {} scenarios, each run day by day over {horizon} business days with redemption feedback; \"95th pct\" is the adverse 95th percentile, \"worst\" the worst single scenario. Prices fall in every scenario; the comparison measures what the liquidation itself costs (sale costs net of swing pricing charged to leavers, and fire-sale marks), not the market's fall. The scenario set is a stress design (equal thirds of severities), so percentiles describe the design, not probabilities",
        outcomes.len()
    );
    let stat_columns = |unit: &str| {
        let c = |h: &str| {
            if unit == "bp" {
                Column::number(&format!("{h} (bp)"), 1)
            } else {
                Column::percent(h)
            }
        };
        vec![
            Column::text("Measure"),
            Column::text("Strategy"),
            c("Mean"),
            c("Median"),
            c("95th pct"),
            c("Worst"),
        ]
    };
    let mut impact_table = Table::new(
        &format!("Waterfall vs slice vs hybrid — cost and NAV impact, in basis points of initial NAV, {design}"),
        stat_columns("bp"),
    );
    let mut left_table = Table::new(
        &format!(
            "Waterfall vs slice vs hybrid — what is left to remaining investors (the vertical-slice problem): shares of invested assets at the end (less-liquid today {}, illiquid today {}), style drift, and the buffer shortfall as a share of initial NAV, {design}",
            pct(less_liquid_start),
            pct(illiquid_start)
        ),
        stat_columns("pct"),
    );
    let mut table_stats: Vec<[Summary; 3]> = Vec::new();
    for m in &METRICS {
        let mut row = [Summary {
            mean: 0.0,
            median: 0.0,
            tail: 0.0,
            worst: 0.0,
        }; 3];
        for (k, r) in row.iter_mut().enumerate() {
            if let Some(s) = summarise(&column(&outcomes, k, m.get), m.higher_is_worse) {
                *r = s;
            }
            let scale = if m.in_bp { 1e4 } else { 1.0 };
            let cells = vec![
                Cell::from(m.label),
                Cell::from(names[k]),
                Cell::from(r.mean * scale),
                Cell::from(r.median * scale),
                Cell::from(r.tail * scale),
                Cell::from(r.worst * scale),
            ];
            if m.in_bp {
                impact_table.row(cells);
            } else {
                left_table.row(cells);
            }
        }
        table_stats.push(row);
    }
    let metric = |label_start: &str| -> usize {
        METRICS
            .iter()
            .position(|m| m.label.starts_with(label_start))
            .unwrap_or(0)
    };
    let (i_cost, i_dil, i_fire, i_ll, i_ill) = (
        metric("Liquidation cost"),
        metric("Dilution"),
        metric("Fire-sale"),
        metric("Less-liquid"),
        metric("Illiquid"),
    );
    let i_loss = metric("Loss to remaining");
    let i_drift = metric("Style drift");

    // Figures.
    for k in 0..3 {
        let s = &table_stats[i_dil][k];
        f.figure(
            &format!("dilution_p95_{}", names[k]),
            &format!(
                "Dilution borne by remaining investors over the {horizon}-business-day cascade, 95th percentile across scenarios — {} (share of initial NAV)",
                names[k]
            ),
            s.tail,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    for k in 0..3 {
        f.figure(
            &format!("loss_p95_{}", names[k]),
            &format!(
                "Liquidation loss to remaining investors (dilution + fire-sale marks) after the {horizon}-business-day cascade, 95th percentile across scenarios — {}",
                names[k]
            ),
            choice.loss_tail[k],
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            &format!("cost_mean_{}", names[k]),
            &format!(
                "Liquidation cost (spread + impact) over the {horizon}-business-day cascade, mean across scenarios — {} (share of initial NAV)",
                names[k]
            ),
            table_stats[i_cost][k].mean,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            &format!("less_liquid_end_mean_{}", names[k]),
            &format!(
                "Less-liquid share of invested assets left after the {horizon}-business-day cascade, mean across scenarios — {}",
                names[k]
            ),
            table_stats[i_ll][k].mean,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            &format!("illiquid_within_limit_{}", names[k]),
            &format!(
                "Share of scenarios whose illiquid share of invested assets ends within the {} limit — {} (share of the stress design, not a probability)",
                pct(limit),
                names[k]
            ),
            choice.within_limit[k],
            Unit::Fraction,
            Horizon::Point,
        );
    }
    f.figure(
        "less_liquid_share_start",
        "Less-liquid share of invested assets today (mid/small/EM equity, HY/EM debt, alternatives)",
        less_liquid_start,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "illiquid_share_start",
        "Illiquid share of invested assets today (alternatives)",
        illiquid_start,
        Unit::Fraction,
        Horizon::Point,
    );
    f.tables.push(impact_table);
    f.tables.push(left_table);

    // By market-stress kind × severity.
    let mut by_kind = Table::new(
        "By market-stress kind and severity: mean dilution borne by remaining investors, 95th percentile of their liquidation loss (dilution + fire-sale marks) and mean less-liquid share left, per strategy (W = waterfall, S = slice, H = hybrid). Dilution and loss in basis points of initial NAV; the less-liquid share left in percent of invested assets",
        vec![
            Column::text("Market stress"),
            Column::text("Severity"),
            Column::number("Scenarios", 0),
            Column::number("Dilution mean W (bp)", 1),
            Column::number("Dilution mean S (bp)", 1),
            Column::number("Dilution mean H (bp)", 1),
            Column::number("Loss 95th pct W (bp)", 1),
            Column::number("Loss 95th pct S (bp)", 1),
            Column::number("Loss 95th pct H (bp)", 1),
            Column::percent("Less-liquid left W"),
            Column::percent("Less-liquid left S"),
            Column::percent("Less-liquid left H"),
        ],
    );
    let mut kinds: Vec<(usize, String)> = Vec::new();
    for o in &outcomes {
        let i = o.market_kind.index();
        if !kinds.iter().any(|(j, _)| *j == i) {
            kinds.push((i, kind_label(&o.market_kind)));
        }
    }
    kinds.sort();
    for (ki, kname) in &kinds {
        for sev in SEVERITIES {
            let cell: Vec<&ScenarioOutcome> = outcomes
                .iter()
                .copied()
                .filter(|o| o.market_kind.index() == *ki && o.market_severity == sev)
                .collect();
            if cell.is_empty() {
                continue;
            }
            let mut row = vec![
                Cell::from(kname.as_str()),
                Cell::from(severity_name(sev)),
                Cell::from(cell.len() as f64),
            ];
            for (mi, tail, scale) in [(i_dil, false, 1e4), (i_loss, true, 1e4), (i_ll, false, 1.0)]
            {
                for k in 0..3 {
                    let s = summarise(&column(&cell, k, METRICS[mi].get), true);
                    row.push(Cell::from(
                        s.map(|s| scale * if tail { s.tail } else { s.mean }),
                    ));
                }
            }
            by_kind.row(row);
        }
    }
    f.tables.push(by_kind);

    // Layers under the recommended strategy.
    let specs = crate::scenario_set(run).ok();
    let spec_of = |id: u32| -> Option<&ScenarioSpec> {
        specs.as_ref().and_then(|s| s.iter().find(|x| x.id == id))
    };
    let stressed_scen = STRESS_QUANTILES.map(|q| scenario_at_stress_quantile(&outcomes, q));
    let stressed = stressed_scen.map(|o| o.and_then(|o| spec_of(o.id)).map(peak_stress));
    f.tables.push(layer_schedule(run, rec_strategy, &stressed));
    let cap = run.settings.participation_cap;
    let liquid_members: Vec<&Holding> = run
        .fund
        .holdings
        .iter()
        .map(|h| &h.holding)
        .filter(|h| {
            h.asset_class != AssetClass::Cash
                && waterfall_layer(h.asset_class) < FIRST_LESS_LIQUID_LAYER
        })
        .collect();
    let liquid_value: f64 = liquid_members.iter().map(|h| h.market_value).sum();
    if let Some(st) = &stressed[1] {
        let c = layer_capacity(&liquid_members, cap, st);
        if c.days.is_finite() {
            f.figure(
                "liquid_layers_days_p95_stress",
                "Business days to sell every liquid layer (cash equivalents to IG credit) at the participation cap, at the peak stress of the 95th-percentile-severity scenario held constant",
                c.days,
                Unit::Count,
                Horizon::Point,
            );
        }
    }
    f.figure(
        "liquid_layers_share",
        "Liquid layers (cash equivalents, sovereigns, large caps, IG credit), share of NAV today",
        liquid_value / run.fund.nav.max(f64::MIN_POSITIVE),
        Unit::Fraction,
        Horizon::Point,
    );

    // The worst scenario, re-run with each strategy.
    let nav0 = run.fund.nav.max(f64::MIN_POSITIVE);
    if let Some(worst) = agg.worst() {
        if let Some(w) = spec_of(worst.id).and_then(|s| rerun_worst(run, s)) {
            let h = horizon as usize;
            let labels: Vec<String> = (1..=h).map(|d| format!("Day {d}")).collect();
            let series: Vec<ChartSeries> = (0..3)
                .map(|k| ChartSeries {
                    name: names[k].into(),
                    values: cumulative_sold(&w.days[k], nav0, h),
                })
                .collect();
            let sold_total: Vec<f64> = series
                .iter()
                .map(|s| s.values.last().copied().unwrap_or(0.0))
                .collect();
            f.charts.push(Chart {
                key: "worst_cumulative_sold".into(),
                title: format!(
                    "Worst scenario ({}): cumulative share of initial NAV sold by each strategy, by business day",
                    worst.name()
                ),
                kind: ChartKind::Timeline,
                labels,
                x: Vec::new(),
                x_label: "Business day".into(),
                x_unit: Unit::Count,
                y_label: "Sold, share of initial NAV".into(),
                y_unit: Unit::Fraction,
                series,
            });
            f.figure(
                "worst_sold_recommended",
                &format!(
                    "Worst scenario: share of initial NAV sold over {horizon} business days by the recommended strategy ({})",
                    names[rec]
                ),
                sold_total[rec],
                Unit::Fraction,
                Horizon::Point,
            );
            let replay = replay_layers(&w.days[rec]);
            f.tables.push(schedule_table(
                run,
                &worst.name(),
                rec_strategy,
                &w.days[rec],
                &replay,
            ));
        }
    }

    // Headline and recommendations.
    let w_ = 0; // waterfall
    let s_ = 1; // slice
    let rule = format!(
        "minimise the 95th percentile of remaining investors' liquidation loss (dilution + fire-sale marks) among strategies that keep the illiquid share of invested assets within {} in at least {} of scenarios",
        pct(limit),
        pct(ILLIQUID_COMPLIANCE)
    );
    let eligible_names: Vec<&str> = (0..3)
        .filter(|k| choice.eligible[*k])
        .map(|k| names[k])
        .collect();
    f.headline = format!(
        "Recommended liquidation strategy: {} ({}) — 95th-percentile liquidation loss to remaining investors {} vs waterfall {}, slice {}, hybrid {}; dilution 95th percentile {} / {} / {} (waterfall / slice / hybrid); the waterfall costs {} of NAV on average against the slice's {} but leaves a less-liquid share of {} on average (today {}).",
        names[rec],
        if choice.constrained {
            format!(
                "the cheapest of those keeping the illiquid share within {} in {} of scenarios: {}",
                pct(run.settings.illiquid_limit),
                pct(ILLIQUID_COMPLIANCE),
                eligible_names.join(", ")
            )
        } else {
            format!(
                "no strategy keeps the illiquid share within {} in {} of scenarios; this one does so most often",
                pct(run.settings.illiquid_limit),
                pct(ILLIQUID_COMPLIANCE)
            )
        },
        bp(choice.loss_tail[rec]),
        bp(choice.loss_tail[0]),
        bp(choice.loss_tail[1]),
        bp(choice.loss_tail[2]),
        bp(table_stats[i_dil][0].tail),
        bp(table_stats[i_dil][1].tail),
        bp(table_stats[i_dil][2].tail),
        bp(table_stats[i_cost][w_].mean),
        bp(table_stats[i_cost][s_].mean),
        pct(table_stats[i_ll][w_].mean),
        pct(less_liquid_start),
    );
    let rk = |key: &str| format!("{key}_{}", names[rec]);
    let (k_loss, k_dil, k_within) = (
        rk("loss_p95"),
        rk("dilution_p95"),
        rk("illiquid_within_limit"),
    );
    let why = if choice.constrained {
        format!(
            "Rule: {rule}. Eligible: {}. {} has the smallest 95th-percentile loss among them ({}); its illiquid share stays within the limit in {} of scenarios and its dilution 95th percentile is {}.",
            eligible_names.join(", "),
            names[rec],
            bp(choice.loss_tail[rec]),
            pct(choice.within_limit[rec]),
            bp(table_stats[i_dil][rec].tail)
        )
    } else if choice
        .within_limit
        .iter()
        .all(|w| *w == choice.within_limit[rec])
    {
        format!(
            "Rule: {rule}. No strategy meets the illiquid condition, and all three are within the limit in the same {} of scenarios (alternatives have no market, so the illiquid share rises with what is sold, whichever way it is sold): the loss percentile decides, {} ({}). The illiquid limit is a property of the book, not of the selling order: the optimizer's constraints are where to act.",
            pct(choice.within_limit[rec]),
            names[rec],
            bp(choice.loss_tail[rec])
        )
    } else {
        format!(
            "Rule: {rule}. No strategy meets the illiquid condition (within the limit in {} / {} / {} of scenarios, waterfall / slice / hybrid): the fallback picks the one within the limit most often, {} ({}), then the smaller loss percentile ({}). The illiquid limit is a property of the book as much as of the selling order: the optimizer's constraints are where to act.",
            pct(choice.within_limit[0]),
            pct(choice.within_limit[1]),
            pct(choice.within_limit[2]),
            names[rec],
            pct(choice.within_limit[rec]),
            bp(choice.loss_tail[rec])
        )
    };
    f.recommend(
        format!(
            "Adopt the {} as the liquidation policy beyond the buffer. {why}",
            names[rec]
        ),
        &[&k_loss, &k_dil, &k_within],
    );
    f.recommend(
        format!(
            "The trade-off (ESMA 2020 § 29): the waterfall is cheapest now — mean liquidation cost {} of NAV against {} for the slice and {} for the hybrid — but sells the liquid layers first, so those who stay hold a less-liquid share of {} on average (from {} today; slice {}, hybrid {}) and a style drift of {} (slice {}); in the worst scenario for that measure the less-liquid share reaches {} under the waterfall against {} under the slice. The slice keeps the profile and pays for it now, in fire-sale marks ({} vs {} of NAV on average) and in the loss of those who stay (95th percentile {} vs {}). A board that weighs the fund left after the stress above the cost of getting there should prefer the slice.",
            bp(table_stats[i_cost][0].mean),
            bp(table_stats[i_cost][1].mean),
            bp(table_stats[i_cost][2].mean),
            pct(table_stats[i_ll][0].mean),
            pct(less_liquid_start),
            pct(table_stats[i_ll][1].mean),
            pct(table_stats[i_ll][2].mean),
            pct(table_stats[i_drift][0].mean),
            pct(table_stats[i_drift][1].mean),
            pct(table_stats[i_ll][0].worst),
            pct(table_stats[i_ll][1].worst),
            bp(table_stats[i_fire][1].mean),
            bp(table_stats[i_fire][0].mean),
            bp(choice.loss_tail[1]),
            bp(choice.loss_tail[0]),
        ),
        &[
            "cost_mean_waterfall",
            "cost_mean_slice",
            "cost_mean_hybrid",
            "less_liquid_end_mean_waterfall",
            "less_liquid_end_mean_slice",
            "less_liquid_end_mean_hybrid",
            "less_liquid_share_start",
            "loss_p95_waterfall",
            "loss_p95_slice",
        ],
    );
    let ill_worst = table_stats[i_ill][rec].worst;
    let mut layers_text = format!(
        "Keep the liquid layers (cash equivalents to IG credit, {} of NAV) as the first line after the buffer, sold at no more than {} of daily volume;",
        pct(liquid_value / nav0),
        pct(cap)
    );
    let mut cites = vec!["liquid_layers_share"];
    if let Some(days) = f.get("liquid_layers_days_p95_stress") {
        layers_text.push_str(&format!(
            " at the 95th-percentile scenario's peak stress they take {days:.1} business days to sell in full at that cap."
        ));
        cites.push("liquid_layers_days_p95_stress");
    } else {
        layers_text.push_str(" their stressed capacity could not be measured in this run.");
    }
    layers_text.push_str(&format!(
        " The illiquid share left to remaining investors reaches {} in the worst scenario under the {} (today {}): alternatives have no market in the cascade, so every sale raises it.",
        pct(ill_worst),
        names[rec],
        pct(illiquid_start)
    ));
    cites.push("illiquid_share_start");
    if let Some(l1) = upstream_figure(upstream, "market-liquidity-analyst", "liquidatable_1d") {
        layers_text.push_str(&format!(
            " (The market liquidity analyst finds {} of NAV sellable in one day at the cap in a normal market.)",
            pct(l1)
        ));
    }
    f.recommend(layers_text, &cites);
    f
}

#[cfg(test)]
mod tests;
