//! portfolio-liquidity-optimizer (issue 7, must have 4): liquidity needs at 1/7/30/90
//! days, the redemption coverage ratio per scenario, the coverage of candidate buffer
//! compositions across the scenarios, the least-cost buffer that reaches the coverage
//! target, and the liquidity-aware constraints on the book.
//!
//! Everything is read from the scenario summaries ([`ScenarioOutcome`]); no cascade is
//! re-run, so the persona is O(scenarios × mixes of the grid) and takes milliseconds.
//!
//! **What the needs are.** `ScenarioOutcome::outflows[k]` are the cumulative
//! redemptions *dealt* by day `NEED_DAYS[k]` in the fund's base cascade — its own
//! buffer, strategy, gate and swing pricing, with feedback — as shares of initial NAV.
//! Requests the gate deferred past a day are not in that day's need. Because the
//! outflows come from the cascade with *today's* buffer, coverage of larger buffers is
//! conservative: a larger buffer means less forced selling, smaller fire-sale marks and
//! so less feedback into redemptions, which this persona does not credit.
//!
//! **"Share of scenarios" is not a probability.** The scenario set is a stress design
//! (equal thirds of moderate, severe and extreme severities per kind), so a coverage of
//! 98.5% means 98.5% of the designed scenarios, not a 98.5% confidence level.

use stresslab_analytics::stats;
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::portfolio as core;
use stresslab_core::report::{money, pct, Cell, Column, Table};

use crate::engine::{LiquidityRun, ScenarioOutcome, NEED_DAYS};
use crate::personas::upstream_figure;
use crate::types::AssetClass;
use crate::{LiquidityAggregate, LiquidityParams};

const PERSONA: &str = "portfolio-liquidity-optimizer";
const ANALYST: &str = "market-liquidity-analyst";

/// Percentiles of the liquidity needs (issue 7: 90/95/99%).
pub const NEED_PERCENTILES: [f64; 3] = [0.90, 0.95, 0.99];

/// Lower-tail percentiles of the redemption coverage ratio reported per need day.
pub const RCR_PERCENTILES: [f64; 3] = [0.01, 0.05, 0.50];

/// A redemption coverage ratio above this is reported as this value (a scenario with
/// no outflow by a day has an infinite ratio; percentiles need finite numbers). Only
/// the lower tail is read, so the cap never moves a reported low percentile.
pub const RCR_CAP: f64 = 100.0;

/// Market-value haircut on short sovereigns in a stress, on top of the scenario's
/// sale cost: 0%, the haircut of Level 1 assets (central-government debt) in the
/// Basel III liquidity coverage ratio (BCBS, "Basel III: The Liquidity Coverage Ratio
/// and liquidity risk monitoring tools", January 2013, ¶ 50), as Bouveret (2017, IMF
/// WP/17/226, § III) uses LCR haircuts for liquidity-weighted assets. An assumption: a
/// candidate buffer is a generic tier, not a holding the scenarios already price.
pub const SHORT_SOVEREIGN_VALUE_HAIRCUT: f64 = 0.0;

/// Market-value haircut on the liquid-credit tier (IG bonds / IG bond ETFs) in a
/// stress, on top of the scenario's sale cost: 15%, the Basel III LCR haircut of Level
/// 2A corporate debt (BCBS 2013 ¶ 52). An assumption standing in for the price fall of
/// a generic credit tier when spreads widen (the scenarios price the fund's own credit
/// holdings, not a candidate tier); without it a credit buffer would look as safe as
/// cash.
pub const LIQUID_CREDIT_VALUE_HAIRCUT: f64 = 0.15;

/// Most of the optimised buffer held in liquid credit: 40%, the Basel III LCR cap on
/// Level 2 assets in the stock of high-quality liquid assets (BCBS 2013 ¶ 49). An
/// assumption borrowed from bank regulation: no fund rule caps it.
pub const MAX_LIQUID_CREDIT_SHARE: f64 = 0.40;

/// Grid of buffer mixes searched by the optimiser: shares of the buffer in steps of
/// 1/`MIX_GRID_STEPS` (1%).
pub const MIX_GRID_STEPS: usize = 100;

/// Coverage targets at which the least-cost buffer is also reported (the run's target
/// is added when it is not among them): what each step of coverage costs.
pub const COVERAGE_LADDER: [f64; 4] = [0.80, 0.90, 0.95, 0.99];

/// The ladder's rung quoted in the figures and recommendations: 90% of scenarios.
pub const LADDER_REFERENCE: f64 = 0.90;

/// Mix grid of the coverage-target ladder: 2% steps (a quarter of the work of the main
/// grid; the ladder shows the price of coverage, the main optimum is on the 1% grid).
pub const LADDER_GRID_STEPS: usize = 50;

/// Step of the coverage vs buffer-size curve, share of NAV.
pub const CURVE_STEP: f64 = 0.01;

/// Absolute tolerance (share of NAV) when comparing buffer value with an outflow, so a
/// buffer sized exactly at a scenario's need covers it despite rounding.
const COVER_EPS: f64 = 1e-12;

/// A buffer composition, each part a fraction of NAV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Composition {
    pub cash: f64,
    pub short_sovereign: f64,
    pub liquid_credit: f64,
}

impl Composition {
    pub const fn new(cash: f64, short_sovereign: f64, liquid_credit: f64) -> Self {
        Composition {
            cash,
            short_sovereign,
            liquid_credit,
        }
    }
    pub fn parts(&self) -> [f64; 3] {
        [self.cash, self.short_sovereign, self.liquid_credit]
    }
    pub fn total(&self) -> f64 {
        self.parts().iter().sum()
    }
    /// The composition of `size` (share of NAV) at the mix `w` (shares of the buffer).
    pub fn at(w: [f64; 3], size: f64) -> Self {
        Composition::new(w[0] * size, w[1] * size, w[2] * size)
    }
    /// Shares of the buffer (zero for an empty buffer).
    pub fn mix(&self) -> [f64; 3] {
        let t = self.total();
        if t > 0.0 {
            self.parts().map(|x| x / t)
        } else {
            [0.0; 3]
        }
    }
    /// "50/30/20" (cash / short sovereigns / liquid credit, % of the buffer).
    pub fn mix_name(&self) -> String {
        let m = self.mix();
        format!(
            "{:.0}/{:.0}/{:.0}",
            100.0 * m[0],
            100.0 * m[1],
            100.0 * m[2]
        )
    }
}

/// The seed's four candidate buffers (issue 7): cash / short sovereigns / liquid
/// credit, % of NAV.
pub const SEED_CANDIDATES: [Composition; 4] = [
    Composition::new(0.05, 0.03, 0.02),
    Composition::new(0.07, 0.05, 0.03),
    Composition::new(0.10, 0.07, 0.05),
    Composition::new(0.15, 0.10, 0.05),
];

/// One scenario as the coverage test sees it: the needs and what a unit of NAV held in
/// each buffer tier raises in that scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageCase {
    /// Cumulative redemptions dealt by each of [`NEED_DAYS`], share of initial NAV.
    pub outflows: [f64; 4],
    /// Cash raised per unit held: cash 1; short sovereigns `(1 − h_s)(1 − v_s)`;
    /// liquid credit `(1 − h_e)(1 − v_e)`, with `h` the scenario's sale cost at the
    /// participation cap in its peak stress and `v` the value haircuts above.
    pub factors: [f64; 3],
}

impl CoverageCase {
    pub fn from_outcome(o: &ScenarioOutcome) -> Self {
        let [h_s, h_e] = o.buffer_haircuts;
        CoverageCase {
            outflows: o.outflows,
            factors: [
                1.0,
                ((1.0 - h_s) * (1.0 - SHORT_SOVEREIGN_VALUE_HAIRCUT)).clamp(0.0, 1.0),
                ((1.0 - h_e) * (1.0 - LIQUID_CREDIT_VALUE_HAIRCUT)).clamp(0.0, 1.0),
            ],
        }
    }

    /// Cash the buffer raises in this scenario (share of NAV).
    pub fn buffer_value(&self, b: &Composition) -> f64 {
        b.cash * self.factors[0]
            + b.short_sovereign * self.factors[1]
            + b.liquid_credit * self.factors[2]
    }

    /// Whether the buffer alone pays the cumulative redemptions by `NEED_DAYS[k]`:
    /// `c + s(1 − h_s)(1 − v_s) + e(1 − h_e)(1 − v_e) ≥ outflow` (the redemption
    /// coverage test of ESMA 2020, *Guidelines on liquidity stress testing in UCITS and
    /// AIFs*, ESMA34-39-897, § 42, with the buffer as the liquidity-weighted assets).
    pub fn covered(&self, b: &Composition, k: usize) -> bool {
        self.buffer_value(b) >= self.outflows[k] - COVER_EPS
    }
}

/// Scenarios whose needs the buffer `b` covers by `NEED_DAYS[k]`.
pub fn coverage_count(cases: &[CoverageCase], b: &Composition, k: usize) -> usize {
    cases.iter().filter(|c| c.covered(b, k)).count()
}

/// Share of scenarios covered (0 for no scenarios).
pub fn coverage_share(cases: &[CoverageCase], b: &Composition, k: usize) -> f64 {
    if cases.is_empty() {
        0.0
    } else {
        coverage_count(cases, b, k) as f64 / cases.len() as f64
    }
}

/// Fewest covered scenarios out of `n` that reach a coverage `target`:
/// `⌈target · n⌉` (with a guard against `0.985 · 1000 = 985.0000000000001`).
pub fn required_count(target: f64, n: usize) -> usize {
    let x = target * n as f64;
    let r = (x - 1e-9 * x.max(1.0)).ceil();
    (r.max(0.0) as usize).min(n)
}

/// The smallest buffer size (share of NAV) at the mix `w` (shares of the buffer) that
/// covers at least `needed` scenarios by `NEED_DAYS[k]`; `None` if no size does.
///
/// Exact, no search: at size `t` the buffer raises `t · (w · f_i)` in scenario `i`, so
/// it covers `i` exactly when `t ≥ t_i = outflow_i / (w · f_i)` (0 when the outflow is
/// not positive, ∞ when the mix raises nothing). Coverage is a step function of `t`,
/// non-decreasing (all factors are ≥ 0), and the smallest size covering `needed`
/// scenarios is the `needed`-th smallest `t_i` — an order statistic, found by selection
/// in O(n) (Hoare's quickselect, as `select_nth_unstable`).
pub fn min_size_for_mix(
    cases: &[CoverageCase],
    w: [f64; 3],
    k: usize,
    needed: usize,
    scratch: &mut Vec<f64>,
) -> Option<f64> {
    if needed == 0 {
        return Some(0.0);
    }
    if needed > cases.len() {
        return None;
    }
    scratch.clear();
    scratch.extend(cases.iter().map(|c| {
        let o = c.outflows[k];
        if o <= 0.0 {
            return 0.0;
        }
        let per_unit = w[0] * c.factors[0] + w[1] * c.factors[1] + w[2] * c.factors[2];
        if per_unit > 0.0 {
            o / per_unit
        } else {
            f64::INFINITY
        }
    }));
    let (_, t, _) = scratch.select_nth_unstable_by(needed - 1, f64::total_cmp);
    t.is_finite().then_some(*t)
}

/// The least-cost buffer found by [`optimise`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Optimum {
    pub composition: Composition,
    /// Annual opportunity cost, share of NAV.
    pub cost: f64,
}

/// What the optimiser must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BufferProblem {
    /// Index in [`NEED_DAYS`] of the coverage horizon.
    pub horizon: usize,
    /// Scenarios the whole buffer must cover by the horizon.
    pub needed: usize,
    /// Cash (share of NAV) the buffer must hold at least: the first-day need (sales
    /// settle T+1 at the soonest, so the first day's redemptions are paid from cash).
    pub cash_floor: f64,
    /// Annual opportunity cost per unit of NAV held in cash, short sovereigns and
    /// liquid credit.
    pub unit_costs: [f64; 3],
    /// Most of the buffer in liquid credit.
    pub max_credit_share: f64,
    /// Mix grid: shares in steps of `1/steps`.
    pub steps: usize,
}

/// The buffer of least annual opportunity cost `t · (w · κ)` that covers
/// `problem.needed` scenarios by the horizon, holds at least `cash_floor` in cash and
/// at most `max_credit_share` of the buffer in liquid credit; `None` if no mix does.
///
/// Method: enumerate the mixes `w` of the simplex grid (step `1/steps`); for each, the
/// least size is exact ([`min_size_for_mix`], raised to `cash_floor / w_cash` when the
/// cash floor binds — both constraints are monotone in size), and its cost is linear in
/// size, so the cheapest size of a mix is its least feasible size. The optimum is
/// exact on the grid (a chance-constrained problem is not convex, so a grid over the
/// mix with an exact size per mix is the simple exact method; Pagnoncelli, Ahmed &
/// Shapiro 2009, "Sample average approximation method for chance constrained
/// programming", JOTA 142, treat the same scenario-count constraint). Ties go to the
/// smaller buffer, then to more cash.
pub fn optimise(cases: &[CoverageCase], p: &BufferProblem) -> Option<Optimum> {
    let steps = p.steps.max(1);
    let mut scratch = Vec::with_capacity(cases.len());
    let mut best: Option<Optimum> = None;
    for i in (0..=steps).rev() {
        for j in (0..=steps - i).rev() {
            let l = steps - i - j;
            let w = [i, j, l].map(|x| x as f64 / steps as f64);
            if w[2] > p.max_credit_share + 1e-12 {
                continue;
            }
            let Some(mut t) = min_size_for_mix(cases, w, p.horizon, p.needed, &mut scratch) else {
                continue;
            };
            if p.cash_floor > 0.0 {
                if w[0] <= 0.0 {
                    continue;
                }
                t = t.max(p.cash_floor / w[0]);
            }
            let cost =
                t * (w[0] * p.unit_costs[0] + w[1] * p.unit_costs[1] + w[2] * p.unit_costs[2]);
            let better = match &best {
                None => true,
                Some(b) => {
                    cost < b.cost - 1e-15
                        || (cost <= b.cost + 1e-15 && t < b.composition.total() - 1e-15)
                }
            };
            if better {
                best = Some(Optimum {
                    composition: Composition::at(w, t),
                    cost,
                });
            }
        }
    }
    best
}

// ---------------------------------------------------------------------------------
// Carry: expected excess returns over cash, from long-run history
// ---------------------------------------------------------------------------------

/// Long-run average premia over the one-month bill, fractions per year, measured over
/// 1946-12 … 1991-02 (the one window where every series in
/// `events/inputs/carry_monthly_1946_1991.csv` exists): the historical-average estimate
/// of expected excess returns (e.g. Ilmanen 2011, *Expected Returns*, ch. 8–10). The data
/// do not reach the fund's as-of date, so these are long-run premia, not the 2024
/// curve (which was inverted: cash then out-yielded two-year notes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Carry {
    /// Mean two-year zero yield (linear between the 12- and 36-month points) minus the
    /// one-month yield (McCulloch–Kwon zero curve).
    pub term_2y: f64,
    /// Mean five-year zero yield minus the one-month yield.
    pub term_5y: f64,
    /// Mean ten-year zero yield minus the one-month yield.
    pub term_10y: f64,
    /// Mean Moody's Baa − Aaa yield spread: the credit premium of IG over
    /// same-duration sovereigns (an assumption: the spread across the IG rating range
    /// stands in for IG over Treasuries net of expected default losses).
    pub credit_ig: f64,
    /// Mean monthly Mkt−RF × 12 (Fama–French market excess return, arithmetic).
    pub equity: f64,
    /// Months averaged.
    pub months: usize,
}

/// The carry inputs, compiled in (the project runs without `../shared`).
pub const CARRY_CSV: &str =
    include_str!("../../../../../events/inputs/carry_monthly_1946_1991.csv");

impl Carry {
    /// Means of the columns of [`CARRY_CSV`]-shaped text (percent per year for yields,
    /// percent per month for `mkt_rf`).
    pub fn from_csv(text: &str) -> Result<Carry, String> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .ok_or("carry: empty file")?
            .split(',')
            .map(str::trim)
            .collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .ok_or(format!("carry: no column {name}"))
        };
        let cols = [
            col("zero_1m")?,
            col("zero_12m")?,
            col("zero_36m")?,
            col("zero_60m")?,
            col("zero_120m")?,
            col("moodys_aaa")?,
            col("moodys_baa")?,
            col("mkt_rf")?,
        ];
        let mut sums = [0.0; 5];
        let mut n = 0usize;
        for (row, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split(',').collect();
            let mut v = [0.0; 8];
            for (slot, &c) in v.iter_mut().zip(&cols) {
                *slot = cells
                    .get(c)
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|x| x.is_finite())
                    .ok_or(format!("carry: row {} column {c} is not a number", row + 2))?;
            }
            let [z1, z12, z36, z60, z120, aaa, baa, mkt] = v;
            sums[0] += 0.5 * (z12 + z36) - z1;
            sums[1] += z60 - z1;
            sums[2] += z120 - z1;
            sums[3] += baa - aaa;
            sums[4] += 12.0 * mkt;
            n += 1;
        }
        if n == 0 {
            return Err("carry: no rows".into());
        }
        let m = sums.map(|s| s / n as f64 / 100.0);
        Ok(Carry {
            term_2y: m[0],
            term_5y: m[1],
            term_10y: m[2],
            credit_ig: m[3],
            equity: m[4],
            months: n,
        })
    }

    /// The compiled-in long-run carry.
    pub fn long_run() -> Result<Carry, String> {
        Carry::from_csv(CARRY_CSV)
    }

    /// Expected excess return over cash of a liquidity class, a year. Cash and cash
    /// equivalents 0 (they earn the bill rate); short sovereigns the 2-year term
    /// premium; sovereigns the 10-year; IG credit the 5-year term premium plus the IG
    /// credit premium; high yield and EM debt halfway between IG credit and equities
    /// (an assumption: HY behaves about half like equity); equities and alternatives
    /// the equity premium (an assumption: no illiquidity premium is counted, so the
    /// cost of displacing alternatives is, if anything, understated).
    pub fn premium(&self, class: AssetClass) -> f64 {
        let ig = self.term_5y + self.credit_ig;
        match class {
            AssetClass::Cash | AssetClass::CashEquivalent => 0.0,
            AssetClass::ShortSovereign => self.term_2y,
            AssetClass::Sovereign => self.term_10y,
            AssetClass::CreditIg => ig,
            AssetClass::CreditHy | AssetClass::EmDebt => 0.5 * (ig + self.equity),
            AssetClass::EquityLarge
            | AssetClass::EquityMid
            | AssetClass::EquitySmall
            | AssetClass::EquityEm
            | AssetClass::Alternatives => self.equity,
        }
    }

    /// Premia of the three buffer tiers: cash, short sovereigns, liquid credit (IG).
    pub fn tier_premia(&self) -> [f64; 3] {
        [
            0.0,
            self.premium(AssetClass::ShortSovereign),
            self.premium(AssetClass::CreditIg),
        ]
    }
}

/// Expected excess return of the book outside today's buffer (cash and the buffer
/// tiers' classes), value-weighted: what a larger buffer displaces (the buffer is
/// raised pro rata from the rest of the book). 0 for a book that is all buffer.
pub fn displaced_premium(run: &LiquidityRun, carry: &Carry) -> f64 {
    let buffer_classes: Vec<AssetClass> = std::iter::once(AssetClass::Cash)
        .chain(run.fund.buffer.tiers.iter().map(|t| t.class))
        .collect();
    let (mut v, mut r) = (0.0, 0.0);
    for h in &run.fund.holdings {
        let c = h.holding.asset_class;
        if buffer_classes.contains(&c) {
            continue;
        }
        v += h.holding.market_value;
        r += h.holding.market_value * carry.premium(c);
    }
    if v > 0.0 {
        r / v
    } else {
        0.0
    }
}

/// Annual opportunity cost per unit of NAV held in each tier: the displaced book's
/// expected excess return minus the tier's, floored at 0 (an assumption: a buffer
/// asset is never counted as earning more than the book it displaces).
pub fn unit_costs(displaced: f64, carry: &Carry) -> [f64; 3] {
    carry.tier_premia().map(|p| (displaced - p).max(0.0))
}

/// Annual opportunity cost of a composition, share of NAV.
pub fn annual_cost(b: &Composition, costs: &[f64; 3]) -> f64 {
    b.parts().iter().zip(costs).map(|(x, k)| x * k).sum()
}

/// Today's buffer as a composition: cash and cash equivalents count as cash (T-bills
/// and money-market shares settle at par in a day), short and long sovereign tiers as
/// short sovereigns, any other tier as liquid credit.
pub fn todays_buffer(run: &LiquidityRun) -> Composition {
    let nav = run.fund.nav;
    let mut b = Composition::new(0.0, 0.0, 0.0);
    if nav.is_nan() || nav <= 0.0 {
        return b;
    }
    b.cash = run.fund.buffer.cash / nav;
    for t in &run.fund.buffer.tiers {
        let share = t.value / nav;
        match t.class {
            AssetClass::Cash | AssetClass::CashEquivalent => b.cash += share,
            AssetClass::ShortSovereign | AssetClass::Sovereign => b.short_sovereign += share,
            _ => b.liquid_credit += share,
        }
    }
    b
}

// ---------------------------------------------------------------------------------
// Needs and the redemption coverage ratio
// ---------------------------------------------------------------------------------

/// Percentiles of `values` (Hyndman & Fan 1996 definition 7, numpy's default; see
/// [`stats::quantile`]); `None` for no values.
pub fn percentiles(values: &mut [f64], ps: &[f64]) -> Option<Vec<f64>> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(ps.iter().map(|p| stats::quantile(values, *p)).collect())
}

/// The redemption coverage ratio of a scenario by `NEED_DAYS[k]` (ESMA 2020 guidelines
/// § 42: liquidity-weighted assets over redemption outflows; here the whole book's
/// liquidity-weighted assets in the scenario's peak stress, `liquid_assets[k]`, over the
/// cumulative redemptions dealt by then), capped at [`RCR_CAP`] (no outflow: the cap).
pub fn rcr(o: &ScenarioOutcome, k: usize) -> f64 {
    let out = o.outflows[k];
    if out <= 0.0 {
        return RCR_CAP;
    }
    (o.liquid_assets[k] / out).clamp(0.0, RCR_CAP)
}

/// Index in [`NEED_DAYS`] of the coverage horizon: the configured day if it is a need
/// day within the cascade's horizon, else the last need day within it.
pub fn horizon_index(coverage_days: u32, horizon_days: u32) -> usize {
    if let Some(k) = NEED_DAYS
        .iter()
        .position(|d| *d == coverage_days && *d <= horizon_days)
    {
        return k;
    }
    NEED_DAYS
        .iter()
        .rposition(|d| *d <= horizon_days)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// Liquidity-aware constraints
// ---------------------------------------------------------------------------------

/// One constraint on the book and its reading.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstraintCheck {
    pub key: &'static str,
    pub name: String,
    /// True for a ceiling (value ≤ limit), false for a floor.
    pub ceiling: bool,
    pub limit: f64,
    pub value: f64,
    pub source: &'static str,
}

impl ConstraintCheck {
    pub fn met(&self) -> bool {
        if self.ceiling {
            self.value <= self.limit + 1e-12
        } else {
            self.value >= self.limit - 1e-12
        }
    }
}

/// Share of NAV sellable in one day in a normal market under the 22e-4 policy: each
/// holding up to its daily sale cap (cash and unlimited holdings in full). The fallback
/// when the analyst's `liquidatable_1d` is missing.
pub fn liquidatable_1d_fallback(run: &LiquidityRun) -> f64 {
    let a = &run.fund.classification;
    if a.nav.is_nan() || a.nav <= 0.0 {
        return 0.0;
    }
    a.holdings
        .iter()
        .map(|h| match h.daily_sale_cap {
            None => h.market_value,
            Some(cap) => h.market_value.min(cap.max(0.0)),
        })
        .sum::<f64>()
        / a.nav
}

/// The book against the liquidity-aware constraints of `params`: max illiquid
/// (22e-4 illiquid bucket), min daily-liquid (sellable in one day), max asset class
/// (largest broad class of the allocation), min value-weighted 1–5 score. Analyst
/// figures when present, else the run's own classification.
pub fn constraints(
    run: &LiquidityRun,
    upstream: &[Findings],
    params: &LiquidityParams,
) -> Vec<ConstraintCheck> {
    let read = |key: &str, fallback: f64| match upstream_figure(upstream, ANALYST, key) {
        Some(v) if v.is_finite() => (v, "market-liquidity-analyst"),
        _ => (fallback, "today's 22e-4 classification"),
    };
    let cls = &run.fund.classification;
    let (illiquid, s1) = read("illiquid_share", cls.shares.illiquid);
    let (daily, s2) = read("liquidatable_1d", liquidatable_1d_fallback(run));
    let (score, s4) = read("weighted_score", cls.weighted_score);
    let largest = run
        .fund
        .allocation
        .iter()
        .max_by(|a, b| a.share.total_cmp(&b.share));
    let (class_name, class_share) = largest.map_or((String::from("none"), 0.0), |s| {
        (broad_name(s.class), s.share)
    });
    vec![
        ConstraintCheck {
            key: "constraint_illiquid",
            name: "Illiquid share (22e-4 illiquid bucket), at most".into(),
            ceiling: true,
            limit: params.max_illiquid,
            value: illiquid,
            source: s1,
        },
        ConstraintCheck {
            key: "constraint_daily_liquid",
            name: "Sellable in one day (normal market), at least".into(),
            ceiling: false,
            limit: params.min_daily_liquid,
            value: daily,
            source: s2,
        },
        ConstraintCheck {
            key: "constraint_asset_class",
            name: format!("Largest asset class ({class_name}), at most"),
            ceiling: true,
            limit: params.max_asset_class,
            value: class_share,
            source: "the allocation",
        },
        ConstraintCheck {
            key: "constraint_score",
            name: "Value-weighted liquidity score (1–5), at least".into(),
            ceiling: false,
            limit: params.min_score,
            value: score,
            source: s4,
        },
    ]
}

fn broad_name(c: core::AssetClass) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_else(|| format!("{c:?}"))
}

// ---------------------------------------------------------------------------------
// The persona
// ---------------------------------------------------------------------------------

/// The run's optimiser parameters: the coverage target and horizon and the liquidity
/// constraints, from the run's settings.
fn optimiser_params(run: &LiquidityRun) -> LiquidityParams {
    let s = &run.settings;
    LiquidityParams {
        coverage_target: s.coverage_target,
        coverage_horizon_days: s.coverage_horizon_days,
        max_illiquid: s.max_illiquid,
        min_daily_liquid: s.min_daily_liquid,
        max_asset_class: s.max_asset_class,
        min_score: s.min_score,
        ..LiquidityParams::default()
    }
}

/// Portfolio liquidity optimizer: needs, coverage ratios, buffer candidates and the
/// least-cost buffer at the target coverage, and the liquidity-aware constraints.
pub fn portfolio_liquidity_optimizer(
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    upstream: &[Findings],
) -> Findings {
    let mut f = Findings::new(PERSONA);
    let cur = run.fund.base_currency.as_str();
    let nav = run.fund.nav;
    let params = optimiser_params(run);
    let target = params.coverage_target;
    let k_h = horizon_index(params.coverage_horizon_days, run.settings.horizon_days);
    let h_day = NEED_DAYS[k_h];
    let today = todays_buffer(run);

    f.figure(
        "coverage_target",
        &format!("Coverage target: share of scenarios a buffer must cover by day {h_day}"),
        target,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "current_buffer_share",
        "Today's buffer (cash, cash equivalents and buffer tiers), share of NAV",
        today.total(),
        Unit::Fraction,
        Horizon::Point,
    );

    let checks = constraints(run, upstream, &params);
    let n_met = checks.iter().filter(|c| c.met()).count();

    let n = agg.outcomes.len();
    if n == 0 {
        constraint_findings(&mut f, &checks);
        f.headline = format!(
            "No scenario was evaluated ({} failed), so no liquidity need, coverage or buffer could be measured; today's buffer is {} of NAV and the book meets {n_met} of {} liquidity constraints.",
            agg.failures.len(),
            pct(today.total()),
            checks.len()
        );
        return f;
    }

    let cases: Vec<CoverageCase> = agg
        .outcomes
        .iter()
        .map(CoverageCase::from_outcome)
        .collect();

    // Needs.
    let mut needs = [[0.0; 3]; 4];
    let mut needs_table = Table::new(
        &format!(
            "Liquidity needs: cumulative redemptions dealt by each day in the base cascade (today's buffer, gate and strategy, with feedback), percentiles across {n} scenarios"
        ),
        vec![
            Column::text("By day"),
            Column::percent("90th pct, NAV"),
            Column::percent("95th pct, NAV"),
            Column::percent("99th pct, NAV"),
            Column::money("90th pct", cur),
            Column::money("95th pct", cur),
            Column::money("99th pct", cur),
        ],
    );
    for (k, d) in NEED_DAYS.iter().enumerate() {
        let mut v: Vec<f64> = agg.outcomes.iter().map(|o| o.outflows[k]).collect();
        let q = percentiles(&mut v, &NEED_PERCENTILES).unwrap_or_default();
        needs[k].copy_from_slice(&q);
        for (j, p) in NEED_PERCENTILES.iter().enumerate() {
            let pc = (p * 100.0).round() as u32;
            f.figure(
                &format!("need_{d}d_p{pc}"),
                &format!("Redemptions dealt by day {d}, {pc}th percentile across scenarios, share of NAV"),
                q[j],
                Unit::Fraction,
                Horizon::Point,
            );
        }
        let mut row = vec![Cell::from(format!("{d}"))];
        row.extend(q.iter().map(|x| Cell::from(*x)));
        row.extend(q.iter().map(|x| Cell::from(x * nav)));
        needs_table.row(row);
    }
    f.figure(
        &format!("need_{h_day}d_p99_money"),
        &format!("Redemptions dealt by day {h_day}, 99th percentile across scenarios"),
        needs[k_h][2] * nav,
        Unit::Money,
        Horizon::Point,
    );
    let gated = agg
        .outcomes
        .iter()
        .filter(|o| o.base.gate_day.is_some())
        .count() as f64
        / n as f64;
    f.figure(
        "gated_share",
        "Share of scenarios in which the fund's gate deferred redemptions in the base cascade (their needs exclude what was deferred)",
        gated,
        Unit::Fraction,
        Horizon::Point,
    );
    f.tables.push(needs_table);

    // Redemption coverage ratio.
    let mut rcr_table = Table::new(
        &format!(
            "Redemption coverage ratio (ESMA 2020 § 42): the whole book's liquidity-weighted assets in the scenario's peak stress over the redemptions dealt by each day; lower percentiles across scenarios (capped at {RCR_CAP:.0})"
        ),
        vec![
            Column::text("By day"),
            Column::number("1st pct", 2),
            Column::number("5th pct", 2),
            Column::number("Median", 2),
            Column::percent("Scenarios with RCR < 1"),
        ],
    );
    let mut below1 = [0.0; 4];
    for (k, d) in NEED_DAYS.iter().enumerate() {
        let mut v: Vec<f64> = agg.outcomes.iter().map(|o| rcr(o, k)).collect();
        let q = percentiles(&mut v, &RCR_PERCENTILES).unwrap_or_default();
        below1[k] = agg
            .outcomes
            .iter()
            .filter(|o| o.liquid_assets[k] < o.outflows[k])
            .count() as f64
            / n as f64;
        f.figure(
            &format!("rcr_{d}d_p5"),
            &format!("Redemption coverage ratio by day {d}, 5th percentile across scenarios"),
            q[1],
            Unit::Ratio,
            Horizon::Point,
        );
        f.figure(
            &format!("rcr_below_1_{d}d"),
            &format!("Share of scenarios with a redemption coverage ratio below 1 by day {d}"),
            below1[k],
            Unit::Fraction,
            Horizon::Point,
        );
        rcr_table.row(vec![
            Cell::from(format!("{d}")),
            Cell::from(q[0]),
            Cell::from(q[1]),
            Cell::from(q[2]),
            Cell::from(below1[k]),
        ]);
    }
    f.tables.push(rcr_table);

    // Carry and costs.
    let carry = match Carry::long_run() {
        Ok(c) => c,
        Err(e) => {
            constraint_findings(&mut f, &checks);
            f.headline = format!(
                "The carry inputs could not be read ({e}): buffer costs were not computed."
            );
            return f;
        }
    };
    let displaced = displaced_premium(run, &carry);
    let costs = unit_costs(displaced, &carry);
    f.figure(
        "displaced_premium",
        "Expected excess return over cash of the book outside the buffer (long-run premia 1946–1991), a year",
        displaced,
        Unit::Fraction,
        Horizon::Annualised,
    );
    let mut carry_table = Table::new(
        &format!(
            "Carry assumptions: expected excess returns over the one-month bill from long-run averages over {} months, 1946-12 … 1991-02 (zero curve, Moody's Aaa/Baa, Fama–French Mkt−RF); the cost of a unit of NAV in a buffer tier is the displaced book's premium less the tier's",
            carry.months
        ),
        vec![
            Column::text("Buffer tier"),
            Column::percent("Premium over cash, a year"),
            Column::percent("Opportunity cost, a year"),
            Column::percent("Value haircut in stress"),
        ],
    );
    let tier_names = ["Cash", "Short sovereigns (2y)", "Liquid credit (IG)"];
    let value_haircuts = [
        0.0,
        SHORT_SOVEREIGN_VALUE_HAIRCUT,
        LIQUID_CREDIT_VALUE_HAIRCUT,
    ];
    for t in 0..3 {
        carry_table.row(vec![
            Cell::from(tier_names[t]),
            Cell::from(carry.tier_premia()[t]),
            Cell::from(costs[t]),
            Cell::from(value_haircuts[t]),
        ]);
    }
    f.tables.push(carry_table);

    // Optimise.
    let needed = required_count(target, n);
    let mut first_day: Vec<f64> = cases.iter().map(|c| c.outflows[0].max(0.0)).collect();
    let cash_floor = if needed == 0 {
        0.0
    } else {
        *first_day
            .select_nth_unstable_by(needed - 1, f64::total_cmp)
            .1
    };
    let problem = BufferProblem {
        horizon: k_h,
        needed,
        cash_floor,
        unit_costs: costs,
        max_credit_share: MAX_LIQUID_CREDIT_SHARE,
        steps: MIX_GRID_STEPS,
    };
    let optimum = optimise(&cases, &problem);

    // The price of coverage: the least-cost buffer at other targets.
    let mut ladder = Table::new(
        &format!(
            "Least-cost buffer by coverage target (share of scenarios covered by day {h_day}; first-day need in cash at the same share; liquid credit at most {} of the buffer; mixes on a 2% grid, so the run's target may cost slightly more here than the 1%-grid optimum)",
            pct(MAX_LIQUID_CREDIT_SHARE)
        ),
        vec![
            Column::percent("Target"),
            Column::percent("Size"),
            Column::percent("Cash"),
            Column::percent("Short sov."),
            Column::percent("Liquid credit"),
            Column::money("Cost a year", cur),
            Column::number("Cost, bp of NAV", 1),
        ],
    );
    let mut at_reference: Option<Optimum> = None;
    let mut targets: Vec<f64> = COVERAGE_LADDER.to_vec();
    if !targets.iter().any(|t| (t - target).abs() < 1e-9) {
        targets.push(target);
        targets.sort_by(f64::total_cmp);
    }
    for t in targets {
        let m = required_count(t, n);
        let floor = if m == 0 {
            0.0
        } else {
            *first_day.select_nth_unstable_by(m - 1, f64::total_cmp).1
        };
        let o = optimise(
            &cases,
            &BufferProblem {
                needed: m,
                cash_floor: floor,
                steps: LADDER_GRID_STEPS,
                ..problem
            },
        );
        let mut row = vec![Cell::from(t)];
        match o {
            Some(o) => {
                if (t - LADDER_REFERENCE).abs() < 1e-9 {
                    at_reference = Some(o);
                }
                let c = o.composition;
                row.extend([c.total(), c.cash, c.short_sovereign, c.liquid_credit].map(Cell::from));
                row.push(Cell::from(o.cost * nav));
                row.push(Cell::from(o.cost * 1e4));
            }
            None => row.extend((0..6).map(|_| Cell::Missing)),
        }
        ladder.row(row);
    }

    // Candidates.
    let today_cov = f.figure(
        "current_buffer_coverage",
        &format!("Share of scenarios today's buffer alone covers by day {h_day}"),
        coverage_share(&cases, &today, k_h),
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "current_buffer_cash",
        "Today's cash and cash equivalents, share of NAV",
        today.cash,
        Unit::Fraction,
        Horizon::Point,
    );
    let today_cost = f.figure(
        "current_buffer_cost",
        "Annual opportunity cost of today's buffer, share of NAV",
        annual_cost(&today, &costs),
        Unit::Fraction,
        Horizon::Annualised,
    );
    let mut candidates: Vec<(String, Composition)> = SEED_CANDIDATES
        .iter()
        .map(|c| {
            (
                format!(
                    "Seed {:.0}/{:.0}/{:.0}",
                    100.0 * c.cash,
                    100.0 * c.short_sovereign,
                    100.0 * c.liquid_credit
                ),
                *c,
            )
        })
        .collect();
    candidates.insert(0, ("Today's buffer".into(), today));
    if let Some(o) = &optimum {
        candidates.push(("Optimised".into(), o.composition));
    }
    let mut scratch = Vec::with_capacity(n);
    let mut cand_table = Table::new(
        &format!(
            "Buffer candidates (cash / short sovereigns / liquid credit, share of NAV): share of scenarios the buffer alone covers by each day (after the scenario's sale cost and the value haircuts), annual opportunity cost, and the size this mix needs to cover {} by day {h_day}",
            pct(target)
        ),
        vec![
            Column::text("Candidate"),
            Column::percent("Size"),
            Column::percent("Cash"),
            Column::percent("Short sov."),
            Column::percent("Liquid credit"),
            Column::percent("Covered d1"),
            Column::percent("Covered d7"),
            Column::percent("Covered d30"),
            Column::percent("Covered d90"),
            Column::money("Cost a year", cur),
            Column::number("Cost, bp of NAV", 1),
            Column::percent("Size needed at this mix"),
        ],
    );
    for (name, c) in &candidates {
        let mut row = vec![
            Cell::from(name.as_str()),
            Cell::from(c.total()),
            Cell::from(c.cash),
            Cell::from(c.short_sovereign),
            Cell::from(c.liquid_credit),
        ];
        row.extend((0..4).map(|k| Cell::from(coverage_share(&cases, c, k))));
        let cost = annual_cost(c, &costs);
        row.push(Cell::from(cost * nav));
        row.push(Cell::from(cost * 1e4));
        let needed_size = if c.total() > 0.0 {
            min_size_for_mix(&cases, c.mix(), k_h, needed, &mut scratch)
        } else {
            None
        };
        row.push(Cell::from(needed_size));
        cand_table.row(row);
    }
    f.tables.push(cand_table);
    f.tables.push(ladder);

    // The coverage vs size curve.
    let seed_mix = SEED_CANDIDATES[0].mix();
    let mut series_mixes: Vec<(String, [f64; 3])> = vec![
        (format!("Today's mix {}", today.mix_name()), today.mix()),
        (
            format!("Seed mix {}", SEED_CANDIDATES[0].mix_name()),
            seed_mix,
        ),
    ];
    if let Some(o) = &optimum {
        series_mixes.push((
            format!("Optimised mix {}", o.composition.mix_name()),
            o.composition.mix(),
        ));
    }
    let largest_needed = series_mixes
        .iter()
        .filter_map(|(_, w)| min_size_for_mix(&cases, *w, k_h, needed, &mut scratch))
        .fold(0.0, f64::max);
    let top = (largest_needed + 0.03).clamp(0.20, 0.60);
    let points = (top / CURVE_STEP).ceil() as usize;
    let sizes: Vec<f64> = (0..=points).map(|i| i as f64 * CURVE_STEP).collect();
    f.charts.push(Chart {
        key: "coverage_vs_buffer_size".into(),
        title: format!(
            "Share of scenarios the buffer alone covers by day {h_day}, by buffer size (target {})",
            pct(target)
        ),
        kind: ChartKind::Timeline,
        labels: sizes.iter().map(|s| pct(*s)).collect(),
        x: Vec::new(),
        x_label: "Buffer size, share of NAV".into(),
        x_unit: Unit::Fraction,
        y_label: "Scenarios covered".into(),
        y_unit: Unit::Fraction,
        series: series_mixes
            .iter()
            .map(|(name, w)| ChartSeries {
                name: name.clone(),
                values: sizes
                    .iter()
                    .map(|s| coverage_share(&cases, &Composition::at(*w, *s), k_h))
                    .collect(),
            })
            .collect(),
    });

    let opt_figs = optimum.map(|o| {
        let c = o.composition;
        let share = f.figure(
            "optimal_buffer_share",
            &format!(
                "Least-cost buffer covering {} of scenarios by day {h_day} (and the first day's need in cash), share of NAV",
                pct(target)
            ),
            c.total(),
            Unit::Fraction,
            Horizon::Point,
        );
        let cost = f.figure(
            "optimal_buffer_cost",
            "Annual opportunity cost of the least-cost buffer, share of NAV",
            o.cost,
            Unit::Fraction,
            Horizon::Annualised,
        );
        f.figure(
            "optimal_buffer_cash",
            "Least-cost buffer: cash, share of NAV",
            c.cash,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            "optimal_buffer_short_sovereign",
            "Least-cost buffer: short sovereigns, share of NAV",
            c.short_sovereign,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            "optimal_buffer_liquid_credit",
            "Least-cost buffer: liquid credit, share of NAV",
            c.liquid_credit,
            Unit::Fraction,
            Horizon::Point,
        );
        f.figure(
            "optimal_buffer_coverage",
            &format!("Share of scenarios the least-cost buffer covers by day {h_day}"),
            coverage_share(&cases, &c, k_h),
            Unit::Fraction,
            Horizon::Point,
        );
        (share, cost, c)
    });
    f.figure(
        "first_day_cash_floor",
        &format!(
            "Cash needed to pay the first day's redemptions in {} of scenarios, share of NAV",
            pct(target)
        ),
        cash_floor,
        Unit::Fraction,
        Horizon::Point,
    );

    constraint_findings(&mut f, &checks);

    // Headline and recommendations.
    let need_h = needs[k_h][2];
    let mut headline = format!(
        "Redemptions dealt by day {h_day} reach {} of NAV ({}) at the 99th percentile across {n} scenarios; today's {} buffer alone covers {} of them against a {} target",
        pct(need_h),
        money(need_h * nav, cur),
        pct(today.total()),
        pct(today_cov),
        pct(target)
    );
    match &opt_figs {
        Some((share, cost, c)) => headline.push_str(&format!(
            "; the least-cost buffer reaching it is {} of NAV ({} cash / {} short sovereigns / {} liquid credit) at {:.0} bp a year ({}) against {:.0} bp for today's",
            pct(*share),
            pct(c.cash),
            pct(c.short_sovereign),
            pct(c.liquid_credit),
            cost * 1e4,
            money(cost * nav, cur),
            today_cost * 1e4
        )),
        None => headline.push_str("; no buffer mix on the grid reaches the target"),
    }
    headline.push_str(&format!(
        "; the book meets {n_met} of {} liquidity constraints.",
        checks.len()
    ));
    f.headline = headline;

    let need_key = format!("need_{h_day}d_p99");
    match &opt_figs {
        Some((share, cost, _)) if today_cov + 1e-12 < target => f.recommend(
            format!(
                "To reach the target from the buffer alone, raise it from {} to {} of NAV in the optimised mix: today's buffer covers {} of scenarios by day {h_day}, short of the {} target; the extra annual carry is {:.0} bp of NAV.",
                pct(today.total()),
                pct(*share),
                pct(today_cov),
                pct(target),
                (cost - today_cost) * 1e4
            ),
            &[
                "current_buffer_share",
                "current_buffer_coverage",
                "coverage_target",
                "optimal_buffer_share",
                "optimal_buffer_cost",
                "current_buffer_cost",
            ],
        ),
        Some((share, cost, _)) => f.recommend(
            format!(
                "Today's buffer ({}) already covers {} of scenarios by day {h_day}; a {} buffer in the optimised mix reaches the {} target at {:.0} bp a year instead of {:.0} bp.",
                pct(today.total()),
                pct(today_cov),
                pct(*share),
                pct(target),
                cost * 1e4,
                today_cost * 1e4
            ),
            &[
                "current_buffer_share",
                "current_buffer_coverage",
                "optimal_buffer_share",
                "optimal_buffer_cost",
                "current_buffer_cost",
            ],
        ),
        None => f.recommend(
            format!(
                "No buffer mix reaches {} coverage by day {h_day}: the 99th-percentile need is {} of NAV; pair the buffer with a gate or notice period.",
                pct(target),
                pct(need_h)
            ),
            &["coverage_target", need_key.as_str()],
        ),
    }
    let k30 = k_h;
    if let (Some(r), Some((share, cost, _))) = (&at_reference, &opt_figs) {
        let rs = f.figure(
            "buffer_share_at_90pct",
            &format!("Least-cost buffer covering 90% of scenarios by day {h_day}, share of NAV"),
            r.composition.total(),
            Unit::Fraction,
            Horizon::Point,
        );
        let rc = f.figure(
            "buffer_cost_at_90pct",
            "Annual opportunity cost of the least-cost buffer covering 90% of scenarios, share of NAV",
            r.cost,
            Unit::Fraction,
            Horizon::Annualised,
        );
        let key = format!("rcr_below_1_{h_day}d");
        if below1[k30] <= 0.0 && *share > 2.0 * today.total() {
            f.recommend(
                format!(
                    "A buffer that alone pays the tail is expensive ({} of NAV, {:.0} bp a year; {} and {:.0} bp for 90% of scenarios), while the whole book's liquidity-weighted assets cover the redemptions dealt by day {h_day} in every scenario (no RCR below 1): size the buffer for the body of the distribution and meet the tail with the liquidation plan and the gate, whose costs the strategy designer and the policy formulator measure.",
                    pct(*share),
                    cost * 1e4,
                    pct(rs),
                    rc * 1e4
                ),
                &[
                    "optimal_buffer_share",
                    "optimal_buffer_cost",
                    "buffer_share_at_90pct",
                    "buffer_cost_at_90pct",
                    key.as_str(),
                ],
            );
        }
    }
    if f.get("first_day_cash_floor").unwrap_or(0.0) > today.cash {
        f.recommend(
            format!(
                "Hold at least {} of NAV in cash and cash equivalents (today {}): sales settle T+1 at the soonest, and that is the first day's redemptions in {} of scenarios.",
                pct(cash_floor),
                pct(today.cash),
                pct(target)
            ),
            &["first_day_cash_floor", "current_buffer_cash"],
        );
    }
    if below1[k30] > 0.0 {
        let key = format!("rcr_below_1_{h_day}d");
        f.recommend(
            format!(
                "In {} of scenarios the whole book's liquidity-weighted assets fall short of the redemptions dealt by day {h_day} (RCR < 1): no buffer size fixes that alone; these are the scenarios for gates and the liquidation plan.",
                pct(below1[k30])
            ),
            &[key.as_str()],
        );
    }
    for c in checks.iter().filter(|c| !c.met()) {
        f.recommend(
            format!(
                "The book breaches a liquidity constraint: {} {} (reads {}).",
                c.name.to_lowercase(),
                fmt_limit(c.key, c.limit),
                fmt_limit(c.key, c.value)
            ),
            &[c.key],
        );
    }
    f
}

fn fmt_limit(key: &str, x: f64) -> String {
    if key == "constraint_score" {
        format!("{x:.2}")
    } else {
        pct(x)
    }
}

fn constraint_findings(f: &mut Findings, checks: &[ConstraintCheck]) {
    let mut t = Table::new(
        "Liquidity-aware constraints on the book (limits are the run's parameters)",
        vec![
            Column::text("Constraint"),
            Column::text("Limit"),
            Column::text("Book"),
            Column::text("Met"),
            Column::text("Read from"),
        ],
    );
    for c in checks {
        let unit = if c.key == "constraint_score" {
            Unit::Ratio
        } else {
            Unit::Fraction
        };
        f.figure(c.key, &c.name, c.value, unit, Horizon::Point);
        t.row(vec![
            Cell::from(c.name.as_str()),
            Cell::from(fmt_limit(c.key, c.limit)),
            Cell::from(fmt_limit(c.key, c.value)),
            Cell::from(if c.met() { "yes" } else { "no" }),
            Cell::from(c.source),
        ]);
    }
    f.figure(
        "constraints_met",
        "Liquidity-aware constraints the book meets",
        checks.iter().filter(|c| c.met()).count() as f64,
        Unit::Count,
        Horizon::Point,
    );
    f.tables.push(t);
}

#[cfg(test)]
mod tests;
