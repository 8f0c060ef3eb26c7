//! market-liquidity-analyst: the book's market liquidity today and under stress.
//!
//! Per holding and per liquidity class: value, ADV, bid-ask spread, daily volatility, a
//! turnover proxy (ADV / position), days to liquidate at the run's participation cap,
//! the SEC rule 22e-4 bucket and 1–5 score (Amihud illiquidity only where a price/volume
//! history exists — the liquidity input carries none, so it is not computed). The
//! liquidation ladder (ESMA34-39-897, 2020: share of the portfolio liquidatable within
//! n days) in a normal market and at the peak of the run's median market-wide scenario,
//! with its cost; the 22e-4 bucket shares against the 15% illiquid limit and the
//! highly-liquid minimum; the impact models with their parameters and what a
//! representative slice of each class costs under each; and the liquidity stress
//! scenarios of the run by type × severity, with the Baa−Aaa 2008 anchor.
//!
//! Everything is O(holdings × ladder grid + scenarios): no cascade is re-run.

use std::collections::BTreeMap;

use stresslab_analytics::liquidity::{self as lq, ImpactModel, Market};
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{money, pct, Cell, Column, Table};

use crate::engine::{class_name, market_kind_name, severity_name, LiquidityRun};
use crate::model::CLASSIFICATION_IMPACT;
use crate::profile::{
    liquidity_ladder, stressed_market, LadderCell, LiquidityLadder, ProfileError, LADDER_HORIZONS,
    LADDER_PARTICIPATIONS,
};
use crate::scenarios::{market_path_for_class, CorrelationRegime, MarketStressKind, ScenarioSpec};
use crate::types::{AssetClass, Holding, LiquidityBucket, MarketStress, Severity};
use crate::LiquidityAggregate;

/// The persona's name (the figure contract's namespace).
pub const NAME: &str = "market-liquidity-analyst";

/// Size of the representative sale of each class in the impact-model table, share of
/// NAV. An **assumption**: 1% of NAV is a typical day's redemptions in a stressed month
/// for an open-ended fund (the seed's empirical 5th percentile of monthly flows is 5%,
/// about 0.25% a business day; a 1% slice is a heavy day), small enough to come from
/// one class.
pub const REPRESENTATIVE_SLICE: f64 = 0.01;

/// The impact models compared, with their stated parameters and references (the
/// numerics and parameter choices live in `stresslab_analytics::liquidity`).
pub const IMPACT_MODELS: [(&str, ImpactModel, &str, &str); 4] = [
    (
        "Kyle linear",
        ImpactModel::KYLE,
        "κ σ (q/V), κ = 0.5 (σ_u = one ADV, an assumption)",
        "Kyle (1985), Econometrica 53(6)",
    ),
    (
        "Almgren 2005 power law",
        ImpactModel::ALMGREN_2005,
        "η σ (q/V)^β, η = 0.142, β = 0.6 (fitted on US equity orders)",
        "Almgren, Thum, Hauptmann & Li (2005), Risk 18(7)",
    ),
    (
        "Square root",
        ImpactModel::TOTH_2011,
        "Y σ √(q/V), Y = 1 (\"of order unity\", prudent end)",
        "Tóth et al. (2011), Phys. Rev. X 1, 021006",
    ),
    (
        "Threshold",
        ImpactModel::THRESHOLD_DEFAULT,
        "κ σ max(0, q/V − θ), θ = 5% of ADV (assumption), κ = 0.5",
        "Kyle (1985) beyond a dead zone",
    ),
];

/// The twelve liquidity classes in the vocabulary's order.
pub const CLASSES: [AssetClass; 12] = [
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

/// The liquidation ladder of a book when each class meets its own market stress
/// (`stress(class)`): [`liquidity_ladder`] (ESMA 2020 asset-side liquidity: share sold
/// within n days at a participation of stressed ADV, with half-spread and impact costs)
/// run per class and summed — sold value, settled value and cost add across holdings,
/// shares are re-based on the whole book's NAV. With the same stress for every class it
/// equals `liquidity_ladder` on the whole book (tested). Classes worth nothing are
/// skipped; a book worth nothing is [`ProfileError::EmptyBook`].
pub fn class_stressed_ladder(
    holdings: &[Holding],
    stress: impl Fn(AssetClass) -> MarketStress,
    model: &ImpactModel,
    horizons: &[u32],
    participations: &[f64],
) -> Result<LiquidityLadder, ProfileError> {
    let mut by_class: BTreeMap<AssetClass, Vec<Holding>> = BTreeMap::new();
    for h in holdings {
        by_class.entry(h.asset_class).or_default().push(h.clone());
    }
    let mut nav = 0.0;
    let mut cells: Vec<LadderCell> = Vec::new();
    for (class, book) in &by_class {
        if book.iter().map(|h| h.market_value).sum::<f64>() <= 0.0 {
            continue;
        }
        let part = liquidity_ladder(book, &stress(*class), model, horizons, participations)?;
        nav += part.nav;
        if cells.is_empty() {
            cells = part
                .cells
                .iter()
                .map(|c| LadderCell {
                    sold: c.sold,
                    settled_share: c.settled_share * part.nav,
                    cost: c.cost,
                    ..*c
                })
                .collect();
        } else {
            for (acc, c) in cells.iter_mut().zip(&part.cells) {
                acc.sold += c.sold;
                acc.settled_share += c.settled_share * part.nav;
                acc.cost += c.cost;
            }
        }
    }
    if nav <= 0.0 {
        return Err(ProfileError::EmptyBook);
    }
    for c in &mut cells {
        c.sold_share = c.sold / nav;
        c.settled_share /= nav;
        c.cost_share_of_sold = if c.sold > 0.0 { c.cost / c.sold } else { 0.0 };
    }
    Ok(LiquidityLadder { nav, cells })
}

/// The run's median market-wide scenario: the market-wide scenarios ordered by their
/// market severity quantile (ties by id), the lower median `⌊(n − 1)/2⌋`. Every market
/// parameter rises with the quantile, so this is the scenario whose stress is the
/// median of the market-wide set in every dimension. `None` if there is none.
pub fn median_market_wide(set: &[ScenarioSpec]) -> Option<&ScenarioSpec> {
    let mut wide: Vec<&ScenarioSpec> = set
        .iter()
        .filter(|s| s.market.kind == MarketStressKind::MarketWide)
        .collect();
    if wide.is_empty() {
        return None;
    }
    wide.sort_by(|a, b| {
        a.market
            .quantile
            .total_cmp(&b.market.quantile)
            .then(a.id.cmp(&b.id))
    });
    Some(wide[(wide.len() - 1) / 2])
}

/// What selling a slice of one class costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceCost {
    /// Value sold (less than asked when the class's sellable holdings are worth less).
    pub sold: f64,
    /// Half spreads plus impact, currency.
    pub cost: f64,
    /// Trading days the sale takes at the participation cap (the slowest holding).
    pub days: u32,
}

/// Cost of selling `amount` of a class pro rata across its holdings that have a
/// market (ADV > 0), each at no more than `participation` of its stressed ADV a day,
/// each day's slice paying the half spread plus `model`'s impact ([`lq::schedule_cost`]:
/// temporary impact decays overnight, the Almgren et al. 2005 reading). `None` when no
/// holding of the class can be sold.
pub fn class_slice_cost(
    holdings: &[&Holding],
    amount: f64,
    participation: f64,
    stress: &MarketStress,
    model: &ImpactModel,
) -> Option<SliceCost> {
    let sellable: f64 = holdings
        .iter()
        .filter(|h| h.adv > 0.0)
        .map(|h| h.market_value)
        .sum();
    if sellable <= 0.0 || amount <= 0.0 {
        return None;
    }
    let target = amount.min(sellable);
    let mut out = SliceCost {
        sold: 0.0,
        cost: 0.0,
        days: 0,
    };
    for h in holdings.iter().filter(|h| h.adv > 0.0) {
        let q = target * h.market_value / sellable;
        let m = stressed_market(h, stress);
        let capacity = participation * m.volume;
        if capacity <= 0.0 {
            continue;
        }
        let days = if capacity.is_infinite() {
            1.0
        } else {
            (q / capacity).ceil().max(1.0)
        };
        let d = days.min(f64::from(u32::MAX)) as u32;
        let sale = lq::schedule_cost(q, capacity, d, &m.impact, model).ok()?;
        out.sold += sale.sold;
        out.cost += sale.cost;
        out.days = out.days.max(d);
    }
    (out.sold > 0.0).then_some(out)
}

/// The run's stress scenarios in one (type, severity) cell: how many, and the range of
/// each peak parameter (the stress of a fully exposed class on day 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StressCell {
    pub count: usize,
    pub depth_reduction: [f64; 2],
    pub spread_multiplier: [f64; 2],
    pub volume_reduction: [f64; 2],
    pub vol_multiplier: [f64; 2],
    pub recovery_half_life_days: [f64; 2],
    /// Regimes present, in order normal, stressed, crisis.
    pub regimes: [bool; 3],
}

fn widen(r: &mut [f64; 2], x: f64) {
    r[0] = r[0].min(x);
    r[1] = r[1].max(x);
}

/// Counts and parameter ranges of a scenario set by market-stress type
/// ([`MarketStressKind::index`]: market-wide, asset-class specific, flight to quality,
/// funding shock) × severity. `None` where a cell is empty.
pub fn stress_design(set: &[ScenarioSpec]) -> [[Option<StressCell>; 3]; 4] {
    let mut out = [[None; 3]; 4];
    for s in set {
        let m = &s.market;
        let p = &m.peak;
        let regime = match m.correlation_regime {
            CorrelationRegime::Normal => 0,
            CorrelationRegime::Stressed => 1,
            CorrelationRegime::Crisis => 2,
        };
        let cell: &mut Option<StressCell> = &mut out[m.kind.index()][m.severity as usize];
        match cell {
            None => {
                let mut regimes = [false; 3];
                regimes[regime] = true;
                *cell = Some(StressCell {
                    count: 1,
                    depth_reduction: [p.depth_reduction; 2],
                    spread_multiplier: [p.spread_multiplier; 2],
                    volume_reduction: [p.volume_reduction; 2],
                    vol_multiplier: [p.vol_multiplier; 2],
                    recovery_half_life_days: [m.recovery_half_life_days; 2],
                    regimes,
                });
            }
            Some(c) => {
                c.count += 1;
                widen(&mut c.depth_reduction, p.depth_reduction);
                widen(&mut c.spread_multiplier, p.spread_multiplier);
                widen(&mut c.volume_reduction, p.volume_reduction);
                widen(&mut c.vol_multiplier, p.vol_multiplier);
                widen(&mut c.recovery_half_life_days, m.recovery_half_life_days);
                c.regimes[regime] = true;
            }
        }
    }
    out
}

const KIND_NAMES: [&str; 4] = [
    "market-wide",
    "asset-class specific",
    "flight to quality",
    "funding shock",
];
const SEVERITIES: [Severity; 3] = [Severity::Moderate, Severity::Severe, Severity::Extreme];

fn bucket_name(b: LiquidityBucket) -> &'static str {
    match b {
        LiquidityBucket::HighlyLiquid => "highly liquid",
        LiquidityBucket::ModeratelyLiquid => "moderately liquid",
        LiquidityBucket::LessLiquid => "less liquid",
        LiquidityBucket::Illiquid => "illiquid",
    }
}

/// A finite number or a missing cell (∞ ADV, never liquidated).
fn finite(x: f64) -> Cell {
    if x.is_finite() {
        Cell::Number(x)
    } else {
        Cell::Missing
    }
}

fn range_text(r: [f64; 2], scale: f64, suffix: &str, decimals: usize) -> String {
    format!(
        "{:.d$}–{:.d$}{suffix}",
        r[0] * scale,
        r[1] * scale,
        d = decimals
    )
}

/// Market Liquidity Analyst: the liquidity profile of the book today and under the
/// run's stress scenarios (see the module documentation for methods and references).
pub fn market_liquidity_analyst(run: &LiquidityRun, agg: &LiquidityAggregate) -> Findings {
    let mut f = Findings::new(NAME);
    let fund = &run.fund;
    let cur = fund.base_currency.as_str();
    let cap = run.settings.participation_cap;
    let holdings = fund.engine_holdings();
    let model = CLASSIFICATION_IMPACT;
    let class_ = &fund.classification;

    // ---- 22e-4 buckets, limits, score (today's classification, normal market). ----
    let shares = class_.shares;
    let hl = f.figure(
        "highly_liquid_share",
        "SEC 22e-4 highly liquid share of NAV (cash within 3 business days; normal market)",
        shares.highly_liquid,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "moderately_liquid_share",
        "SEC 22e-4 moderately liquid share of NAV (cash within 7 calendar days; normal market)",
        shares.moderately_liquid,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "less_liquid_share",
        "SEC 22e-4 less liquid share of NAV (sold within 7 calendar days, settles later; normal market)",
        shares.less_liquid,
        Unit::Fraction,
        Horizon::Point,
    );
    let illiquid = f.figure(
        "illiquid_share",
        "SEC 22e-4 illiquid share of NAV (not sellable within 7 calendar days; normal market)",
        shares.illiquid,
        Unit::Fraction,
        Horizon::Point,
    );
    let limit = f.figure(
        "illiquid_limit",
        "Illiquid limit (SEC rule 22e-4(b)(1)(iv); run parameter)",
        run.settings.illiquid_limit,
        Unit::Fraction,
        Horizon::Point,
    );
    let hl_min = f.figure(
        "highly_liquid_minimum",
        "Highly liquid investment minimum (set by the fund; illustrative assumption)",
        class_.policy.highly_liquid_minimum,
        Unit::Fraction,
        Horizon::Point,
    );
    let score = f.figure(
        "weighted_score",
        "Value-weighted liquidity score (1 least … 5 most liquid; days to liquidate at 20% of ADV)",
        class_.weighted_score,
        Unit::Ratio,
        Horizon::Point,
    );
    let illiquid_breach = illiquid > limit;
    let hl_breach = hl < hl_min;

    // ---- Stressed market: the median market-wide scenario's peak (day 0). ----
    let set = crate::scenario_set(run).ok();
    let median = set.as_deref().and_then(median_market_wide);
    let stress_of = |c: AssetClass| match median {
        Some(s) => market_path_for_class(s, c, 0),
        None => MarketStress::NONE,
    };

    // ---- Per holding. ----
    let mut t = Table::new(
        &format!(
            "Holdings: market data, days to liquidate at the {} participation cap, SEC 22e-4 bucket and score (normal market); depth (the volume impact is measured against), spread and days at the peak of the median market-wide scenario{}. Amihud illiquidity: not computed — the input has no price/volume history (a single ADV per holding), and it is not approximated",
            pct(cap),
            median.map_or(" (unavailable)".to_string(), |s| format!(" (#{})", s.id))
        ),
        vec![
            Column::text("Holding"),
            Column::text("Class"),
            Column::money("Value", cur),
            Column::percent("Share of NAV"),
            Column::money("ADV", cur),
            Column::number("Spread (bp)", 1),
            Column::percent("Daily vol"),
            Column::number("Turnover proxy ADV/position (×)", 2),
            Column::number("Days to liquidate at cap", 2),
            Column::money("Depth, stressed", cur),
            Column::number("Spread, stressed (bp)", 1),
            Column::number("Days at cap, stressed", 2),
            Column::text("22e-4 bucket"),
            Column::number("Score (1–5)", 0),
            Column::text("Amihud"),
            Column::text("Defaulted fields"),
        ],
    );
    let mut defaulted_count = 0usize;
    for (p, c) in fund.holdings.iter().zip(&class_.holdings) {
        let h = &p.holding;
        let days = lq::days_to_liquidate(h.market_value, h.adv, cap).unwrap_or(f64::INFINITY);
        if !p.defaulted.is_empty() {
            defaulted_count += 1;
        }
        let stressed = median.map(|_| stressed_market(h, &stress_of(h.asset_class)));
        t.row(vec![
            p.name.as_str().into(),
            class_name(h.asset_class).into(),
            h.market_value.into(),
            (h.market_value / fund.nav).into(),
            finite(h.adv),
            h.spread_bps.into(),
            h.daily_vol.into(),
            if h.market_value > 0.0 {
                finite(h.adv / h.market_value)
            } else {
                Cell::Missing
            },
            finite(days),
            stressed
                .map(|m| finite(m.impact.adv))
                .unwrap_or(Cell::Missing),
            stressed.map(|m| 1e4 * m.impact.spread).into(),
            stressed
                .map(|m| {
                    finite(
                        lq::days_to_liquidate(h.market_value, m.volume, cap)
                            .unwrap_or(f64::INFINITY),
                    )
                })
                .unwrap_or(Cell::Missing),
            bucket_name(c.bucket).into(),
            f64::from(c.score).into(),
            "n/a: no history".into(),
            if p.defaulted.is_empty() {
                Cell::Missing
            } else {
                p.defaulted.join(", ").into()
            },
        ]);
    }
    f.tables.push(t);
    f.figure(
        "holdings_with_defaults",
        "Holdings with market data filled from the class defaults",
        defaulted_count as f64,
        Unit::Count,
        Horizon::Point,
    );

    // ---- Per class. ----
    let mut t = Table::new(
        &format!(
            "Liquidity classes: ADV summed over holdings, spread and volatility value-weighted, days to liquidate at the {} cap for the slowest holding (normal market; ∞ shown as —)",
            pct(cap)
        ),
        vec![
            Column::text("Class"),
            Column::number("Holdings", 0),
            Column::money("Value", cur),
            Column::percent("Share of NAV"),
            Column::money("ADV", cur),
            Column::number("Spread (bp)", 1),
            Column::percent("Daily vol"),
            Column::number("Turnover proxy ADV/position (×)", 2),
            Column::number("Days to liquidate (slowest)", 2),
            Column::number("Score (value-weighted)", 2),
            Column::percent("Highly liquid share of class"),
        ],
    );
    let mut not_held = Vec::new();
    for class in CLASSES {
        let rows: Vec<usize> = (0..fund.holdings.len())
            .filter(|&i| fund.holdings[i].holding.asset_class == class)
            .collect();
        let value: f64 = rows
            .iter()
            .map(|&i| fund.holdings[i].holding.market_value)
            .sum();
        if rows.is_empty() || value <= 0.0 {
            not_held.push(class_name(class));
            continue;
        }
        let w = |g: &dyn Fn(&Holding) -> f64| {
            rows.iter()
                .map(|&i| {
                    let h = &fund.holdings[i].holding;
                    h.market_value * g(h)
                })
                .sum::<f64>()
                / value
        };
        let adv: f64 = rows.iter().map(|&i| fund.holdings[i].holding.adv).sum();
        let slowest = rows
            .iter()
            .map(|&i| {
                let h = &fund.holdings[i].holding;
                lq::days_to_liquidate(h.market_value, h.adv, cap).unwrap_or(f64::INFINITY)
            })
            .fold(0.0, f64::max);
        let score = rows
            .iter()
            .map(|&i| class_.holdings[i].weight * f64::from(class_.holdings[i].score))
            .sum::<f64>()
            / (value / fund.nav);
        let hl_value: f64 = rows
            .iter()
            .filter(|&&i| class_.holdings[i].bucket == LiquidityBucket::HighlyLiquid)
            .map(|&i| fund.holdings[i].holding.market_value)
            .sum();
        t.row(vec![
            class_name(class).into(),
            (rows.len() as f64).into(),
            value.into(),
            (value / fund.nav).into(),
            finite(adv),
            w(&|h| h.spread_bps).into(),
            w(&|h| h.daily_vol).into(),
            finite(adv / value),
            finite(slowest),
            score.into(),
            (hl_value / value).into(),
        ]);
    }
    f.tables.push(t);

    // ---- The ladder: grid, and at the run's cap. ----
    let normal = liquidity_ladder(
        &holdings,
        &MarketStress::NONE,
        &model,
        &LADDER_HORIZONS,
        &LADDER_PARTICIPATIONS,
    )
    .ok();
    let stressed = median.and_then(|_| {
        class_stressed_ladder(
            &holdings,
            stress_of,
            &model,
            &LADDER_HORIZONS,
            &LADDER_PARTICIPATIONS,
        )
        .ok()
    });
    let at_cap_normal = liquidity_ladder(
        &holdings,
        &MarketStress::NONE,
        &model,
        &LADDER_HORIZONS,
        &[cap],
    )
    .ok();
    let at_cap_stressed = median.and_then(|_| {
        class_stressed_ladder(&holdings, stress_of, &model, &LADDER_HORIZONS, &[cap]).ok()
    });
    let cell =
        |l: &Option<LiquidityLadder>, d: u32| l.as_ref().and_then(|l| l.cell(d, cap)).copied();

    let mut l1 = None;
    let mut l1s = None;
    if let Some(c) = cell(&at_cap_normal, 1) {
        l1 = Some(f.figure(
            "liquidatable_1d",
            &format!("Share of NAV sellable in 1 business day at {} of ADV (normal market; sold, before settlement)", pct(cap)),
            c.sold_share,
            Unit::Fraction,
            Horizon::Point,
        ));
        f.figure(
            "liquidation_cost_1d",
            &format!("Cost of the 1-day sale at {} of ADV, share of value sold (half spread + Almgren 2005 impact; normal market)", pct(cap)),
            c.cost_share_of_sold,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    for d in [5u32, 30] {
        if let Some(c) = cell(&at_cap_normal, d) {
            f.figure(
                &format!("liquidatable_{d}d"),
                &format!(
                    "Share of NAV sellable in {d} business days at {} of ADV (normal market)",
                    pct(cap)
                ),
                c.sold_share,
                Unit::Fraction,
                Horizon::Point,
            );
        }
    }
    if let (Some(c), Some(s)) = (cell(&at_cap_stressed, 1), median) {
        l1s = Some(f.figure(
            "liquidatable_1d_stressed",
            &format!(
                "Share of NAV sellable in 1 business day at {} of stressed ADV, at the peak of the median market-wide scenario (#{})",
                pct(cap),
                s.id
            ),
            c.sold_share,
            Unit::Fraction,
            Horizon::Point,
        ));
        f.figure(
            "liquidation_cost_1d_stressed",
            &format!("Cost of the 1-day sale at {} of stressed ADV, share of value sold (median market-wide peak)", pct(cap)),
            c.cost_share_of_sold,
            Unit::Fraction,
            Horizon::Point,
        );
        for d in [5u32, 30] {
            if let Some(c) = cell(&at_cap_stressed, d) {
                f.figure(
                    &format!("liquidatable_{d}d_stressed"),
                    &format!("Share of NAV sellable in {d} business days at {} of stressed ADV, the peak stress held throughout (median market-wide scenario)", pct(cap)),
                    c.sold_share,
                    Unit::Fraction,
                    Horizon::Point,
                );
            }
        }
        let p = s.market.peak;
        f.figure(
            "median_stress_depth_reduction",
            "Median market-wide scenario: peak depth reduction (fully exposed class)",
            p.depth_reduction,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            "median_stress_spread_multiplier",
            "Median market-wide scenario: peak bid-ask spread multiplier (fully exposed class)",
            p.spread_multiplier,
            Unit::Ratio,
            Horizon::Point,
        );
        f.figure(
            "median_stress_volume_reduction",
            "Median market-wide scenario: peak volume reduction (fully exposed class)",
            p.volume_reduction,
            Unit::Fraction,
            Horizon::Point,
        );
    }
    if let Some(n) = cell(&at_cap_normal, 30) {
        f.figure(
            "liquidation_cost_30d",
            &format!(
                "Cost of selling what is sellable in 30 business days at {} of ADV (normal market)",
                pct(cap)
            ),
            n.cost,
            Unit::Money,
            Horizon::Point,
        );
    }
    if let Some(c) = cell(&at_cap_stressed, 30) {
        f.figure(
            "liquidation_cost_30d_stressed",
            &format!("Cost of selling what is sellable in 30 business days at {} of stressed ADV (median market-wide peak held throughout)", pct(cap)),
            c.cost,
            Unit::Money,
            Horizon::Point,
        );
    }

    if let Some(n) = &normal {
        let mut t = Table::new(
            &format!(
                "Liquidation ladder (ESMA 2020): share of NAV sold and settled within n business days at a participation of ADV, with half-spread + Almgren 2005 impact cost; stressed = the peak of the median market-wide scenario{} held throughout (a floor on liquidity: the scenarios recover)",
                median.map_or(" (unavailable)".to_string(), |s| format!(" (#{})", s.id))
            ),
            vec![
                Column::number("Days", 0),
                Column::percent("Participation of ADV"),
                Column::percent("Sold (normal)"),
                Column::percent("Settled (normal)"),
                Column::percent("Cost / sold (normal)"),
                Column::money("Cost (normal)", cur),
                Column::percent("Sold (stressed)"),
                Column::percent("Settled (stressed)"),
                Column::percent("Cost / sold (stressed)"),
                Column::money("Cost (stressed)", cur),
            ],
        );
        for (i, c) in n.cells.iter().enumerate() {
            let s = stressed.as_ref().map(|l| l.cells[i]);
            t.row(vec![
                f64::from(c.horizon_days).into(),
                c.participation.into(),
                c.sold_share.into(),
                c.settled_share.into(),
                c.cost_share_of_sold.into(),
                c.cost.into(),
                s.map(|s| s.sold_share).into(),
                s.map(|s| s.settled_share).into(),
                s.map(|s| s.cost_share_of_sold).into(),
                s.map(|s| s.cost).into(),
            ]);
        }
        f.tables.push(t);
        let labels: Vec<String> = LADDER_HORIZONS.iter().map(|d| d.to_string()).collect();
        let chart = |l: &LiquidityLadder, key: &str, title: String| Chart {
            key: key.into(),
            title,
            kind: ChartKind::Timeline,
            labels: labels.clone(),
            x: Vec::new(),
            x_label: "Business days".into(),
            x_unit: Unit::Count,
            y_label: "Share of NAV sold".into(),
            y_unit: Unit::Fraction,
            series: LADDER_PARTICIPATIONS
                .iter()
                .map(|&p| ChartSeries {
                    name: format!("{} of ADV", pct(p)),
                    values: LADDER_HORIZONS
                        .iter()
                        .map(|&d| l.cell(d, p).map_or(0.0, |c| c.sold_share))
                        .collect(),
                })
                .collect(),
        };
        f.charts.push(chart(
            n,
            "liquidity_ladder",
            "Liquidation ladder, normal market: share of NAV sellable within n business days"
                .into(),
        ));
        if let (Some(s), Some(m)) = (&stressed, median) {
            f.charts.push(chart(
                s,
                "liquidity_ladder_stressed",
                format!(
                    "Liquidation ladder at the peak of the median market-wide scenario (#{}, {}), held throughout",
                    m.id,
                    severity_name(m.market.severity)
                ),
            ));
        }
    }

    // ---- Impact models: a representative slice of each class. ----
    let slice = REPRESENTATIVE_SLICE * fund.nav;
    let mut cols = vec![Column::text("Class")];
    for (name, _, _, _) in IMPACT_MODELS {
        cols.push(Column::number(&format!("{name} (bp)"), 1));
    }
    cols.push(Column::number(
        "Almgren 2005, median market-wide peak (bp)",
        1,
    ));
    cols.push(Column::number("Days at cap (normal)", 0));
    let mut t = Table::new(
        &format!(
            "Cost of selling {} of NAV ({}) from each class, pro rata over its holdings with a market, at most {} of ADV a day; half spread + impact, basis points of the value sold",
            pct(REPRESENTATIVE_SLICE),
            money(slice, cur),
            pct(cap)
        ),
        cols,
    );
    let mut slice_costs: Vec<(AssetClass, f64)> = Vec::new();
    for class in CLASSES {
        let rows: Vec<&Holding> = fund
            .holdings
            .iter()
            .map(|p| &p.holding)
            .filter(|h| h.asset_class == class && h.market_value > 0.0)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut cells: Vec<Cell> = vec![class_name(class).into()];
        let mut days = None;
        for (_, m, _, _) in IMPACT_MODELS {
            let c = class_slice_cost(&rows, slice, cap, &MarketStress::NONE, &m);
            if let Some(c) = c {
                days = Some(c.days);
                if m == CLASSIFICATION_IMPACT {
                    slice_costs.push((class, c.cost / c.sold));
                }
            }
            cells.push(c.map(|c| 1e4 * c.cost / c.sold).into());
        }
        let st = median
            .and_then(|_| class_slice_cost(&rows, slice, cap, &stress_of(class), &model))
            .map(|c| 1e4 * c.cost / c.sold);
        cells.push(st.into());
        cells.push(days.map(f64::from).into());
        t.row(cells);
    }
    f.tables.push(t);
    f.tables.push(
        Table::new(
            "Market-impact models: price concession of a one-day sale q against ADV V with daily volatility σ (the spread is charged on top: half spread per sale, Roll 1984); the cascade and the ladder use Almgren 2005",
            vec![
                Column::text("Model"),
                Column::text("Formula and parameters"),
                Column::text("Reference"),
                Column::number("Impact at 20% of ADV, σ = 2% (bp)", 1),
            ],
        )
        .with_rows(IMPACT_MODELS.iter().map(|(name, m, params, reference)| {
            let market = Market {
                adv: 1.0,
                daily_vol: 0.02,
                spread: 0.0,
            };
            vec![
                (*name).into(),
                (*params).into(),
                (*reference).into(),
                m.impact(0.2, &market).ok().map(|x| 1e4 * x).into(),
            ]
        })),
    );
    let costliest = slice_costs
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((class, c)) = costliest {
        f.figure(
            "max_slice_cost",
            &format!(
                "Costliest class to sell a {} of NAV slice from ({}), half spread + Almgren 2005 impact, share of value sold (normal market)",
                pct(REPRESENTATIVE_SLICE),
                class_name(class)
            ),
            c,
            Unit::Fraction,
            Horizon::Point,
        );
    }

    // ---- Stress scenarios by type × severity. ----
    // The run's anchors: the bundled ones, or a pinned scenario library's.
    let anchors = &run.scenarios.anchors;
    f.figure(
        "baa_aaa_2008_multiple",
        "Baa−Aaa 2008 widening: Dec-2008 peak over the 2007 mean (Moody's via FRED); the severe band's lower spread multiplier",
        anchors.baa_aaa_2008_multiple(),
        Unit::Ratio,
        Horizon::Point,
    );
    if let Some(set) = &set {
        f.figure(
            "stress_scenarios",
            "Combined scenarios in the run's design (each market type × severity cell equally covered; a stress design, not a forecast)",
            set.len() as f64,
            Unit::Count,
            Horizon::Point,
        );
        let design = stress_design(set);
        let mut t = Table::new(
            &format!(
                "Liquidity stress scenarios of this run by type × severity: peak parameters for a fully exposed class (ranges actually drawn). Spread bands anchored on the 2008 Baa−Aaa widening ({:.2} → {:.2} percentage points, {:.2}×): severe starts there; bands {}",
                anchors.baa_aaa_2007_mean,
                anchors.baa_aaa_2008_peak,
                anchors.baa_aaa_2008_multiple(),
                anchors.spread_multiplier_bands()
                    .iter()
                    .map(|b| format!("{:.2}–{:.2}×", b[0], b[1]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            vec![
                Column::text("Type"),
                Column::text("Severity"),
                Column::number("Scenarios", 0),
                Column::text("Depth reduction"),
                Column::text("Spread multiplier"),
                Column::text("Volume reduction"),
                Column::text("Volatility multiplier"),
                Column::text("Correlation regime"),
                Column::text("Recovery half-life (business days)"),
            ],
        );
        for (k, row) in design.iter().enumerate() {
            for (s, c) in row.iter().enumerate() {
                let Some(c) = c else {
                    t.row(vec![
                        KIND_NAMES[k].into(),
                        severity_name(SEVERITIES[s]).into(),
                        0.0.into(),
                        Cell::Missing,
                        Cell::Missing,
                        Cell::Missing,
                        Cell::Missing,
                        Cell::Missing,
                        Cell::Missing,
                    ]);
                    continue;
                };
                let regimes: Vec<&str> = ["normal", "stressed", "crisis"]
                    .iter()
                    .zip(c.regimes)
                    .filter(|(_, on)| *on)
                    .map(|(n, _)| *n)
                    .collect();
                t.row(vec![
                    KIND_NAMES[k].into(),
                    severity_name(SEVERITIES[s]).into(),
                    (c.count as f64).into(),
                    range_text(c.depth_reduction, 100.0, "%", 0).into(),
                    range_text(c.spread_multiplier, 1.0, "×", 2).into(),
                    range_text(c.volume_reduction, 100.0, "%", 0).into(),
                    range_text(c.vol_multiplier, 1.0, "×", 2).into(),
                    regimes.join(", ").into(),
                    range_text(c.recovery_half_life_days, 1.0, "", 0).into(),
                ]);
            }
        }
        f.tables.push(t);
    }

    // ---- Headline and recommendations. ----
    let evaluated = format!(
        "{} scenario{} evaluated{}",
        agg.outcomes.len(),
        if agg.outcomes.len() == 1 { "" } else { "s" },
        if agg.failures.is_empty() {
            String::new()
        } else {
            format!(", {} refused", agg.failures.len())
        }
    );
    let stressed_text = match (l1s, median) {
        (Some(v), Some(s)) => format!(
            ", {} at the peak of the median market-wide scenario ({} {}: depth −{}, spreads ×{:.1}, volume −{})",
            pct(v),
            market_kind_name(&s.market.kind),
            severity_name(s.market.severity),
            pct(s.market.peak.depth_reduction),
            s.market.peak.spread_multiplier,
            pct(s.market.peak.volume_reduction)
        ),
        _ => ", no stressed ladder (the run's scenario set could not be regenerated)".into(),
    };
    f.headline = format!(
        "{} of NAV is highly liquid and {} illiquid under SEC 22e-4 ({} the {} limit{}), weighted liquidity score {score:.2}/5; {} of NAV can be sold in one day at {} of ADV in a normal market{stressed_text} ({evaluated}).",
        pct(hl),
        pct(illiquid),
        if illiquid_breach { "above" } else { "within" },
        pct(limit),
        if hl_breach {
            format!("; highly liquid below the {} minimum", pct(hl_min))
        } else {
            String::new()
        },
        l1.map_or("n/a".into(), pct),
        pct(cap),
    );
    if illiquid_breach {
        f.recommend(
            format!(
                "The illiquid share ({}) is above the {} limit: rule 22e-4(b)(1)(iv) bars further illiquid purchases and requires a board report; reduce alternatives or other illiquid holdings first.",
                pct(illiquid),
                pct(limit)
            ),
            &["illiquid_share", "illiquid_limit"],
        );
    } else {
        f.recommend(
            format!(
                "The illiquid share ({}) leaves {} of headroom under the {} limit: a redemption-driven waterfall that sells liquid assets first raises the illiquid share of what remains — monitor it through any stress.",
                pct(illiquid),
                pct(limit - illiquid),
                pct(limit)
            ),
            &["illiquid_share", "illiquid_limit"],
        );
    }
    if hl_breach {
        f.recommend(
            format!(
                "Highly liquid assets ({}) are below the fund's minimum ({}): rebuild the highly liquid buffer before adding less liquid exposure.",
                pct(hl),
                pct(hl_min)
            ),
            &["highly_liquid_share", "highly_liquid_minimum"],
        );
    }
    if let (Some(n), Some(s)) = (l1, l1s) {
        f.recommend(
            format!(
                "Plan day-one liquidity on the stressed figure: at the median market-wide peak only {} of NAV is sellable in one day at {} of ADV against {} in normal markets.",
                pct(s),
                pct(cap),
                pct(n)
            ),
            &["liquidatable_1d_stressed", "liquidatable_1d"],
        );
    }
    if let Some((class, c)) = costliest {
        f.recommend(
            format!(
                "Selling a {} of NAV slice costs most in {} ({} of the value sold in a normal market, more under stress): keep it late in the liquidation order and out of the buffer.",
                pct(REPRESENTATIVE_SLICE),
                class_name(class),
                pct(c)
            ),
            &["max_slice_cost"],
        );
    }
    if defaulted_count > 0 {
        f.recommend(
            format!(
                "{defaulted_count} holding(s) use class-default market data (see the holdings table); replace them with observed ADV, spreads and volatility — and supply price/volume histories so Amihud illiquidity can be measured."
            ),
            &["holdings_with_defaults"],
        );
    }
    f
}

#[cfg(test)]
mod tests;
