//! The reverse liquidity stress test (issue 7, must have 7): the smallest redemption
//! shock, and the mildest market-liquidity state, at which the fund breaches its buffer,
//! breaches its illiquid limit, or must gate.
//!
//! ESMA (2020), "Guidelines on liquidity stress testing in UCITS and AIFs"
//! (ESMA34-39-897), §§ 45–46: reverse stress testing "to identify the point at which
//! the fund can no longer meet redemptions" — instead of asking what a given scenario
//! does to the fund, ask which scenario breaks it.
//!
//! The design, on the fund as it is (the [`Simulator`]'s base engine: its buffer tiers,
//! dealing terms, liquidation strategy and participation cap, with the run's redemption
//! feedback):
//! - **Redemption shock.** A one-parameter family: exogenous requests of total `r`
//!   (share of initial NAV) over one month of [`REDEMPTION_SHOCK_DAYS`] business days,
//!   front-loaded along the scenario set's profile `w_d = q^d / Σ_{j<21} q^j`,
//!   `q = 2^(−1/h)` (the formula of `scenarios::exogenous_redemptions`, replicated here
//!   without its lognormal noise so the family is deterministic and monotone in `r`),
//!   with the half-life `h` = [`REVERSE_HALF_LIFE_DAYS`]. The model's feedback adds
//!   redemptions on top as the NAV falls.
//! - **Market state.** No stress ([`MarketStress::NONE`]) and the market-wide stress of
//!   severity quantile `u` ([`market_shock`]`(MarketWide, u)`), per class and per day by
//!   [`market_path_for_class`] on a [`ScenarioSpec`] built here (the scenario set's own
//!   formula: the peak scaled by each class's loading, recovering with the severity's
//!   half-life). `u = 0` is already a *moderate* stress (the bottom of the scenario
//!   set's moderate band), hence the separate no-stress state.
//! - **Events** ([`Event`]), all read from one pair of cascades per `(state, r)`:
//!   buffer breached; illiquid limit breached; must gate (exact rules on [`Event`]).
//! - **Search.** For each state, every event's indicator is first evaluated on a grid of
//!   `r` ([`R_GRID_STEPS`] + 1 points on [0, 1]); an event that happens at a grid point
//!   and not at a later one is reported as not monotone (no threshold is claimed);
//!   otherwise the bracket around the first grid crossing is bisected to
//!   [`R_TOLERANCE`] (0.1% of NAV). The converse fixes `r` at the 99th percentile of
//!   the run's 30-day outflows and searches the severity `u` the same way
//!   ([`U_GRID_STEPS`], [`U_TOLERANCE`]), after checking the no-stress state.
//!
//! Cost: at most (grid + 3 × bisection steps) probes per state, two cascades per probe
//! when the fund has a gate (one otherwise): about 450 cascades, tens of milliseconds in
//! release (`ReverseStress::cascades` counts them).

use serde::Serialize;
use stresslab_analytics::stats::quantile;
use stresslab_core::findings::{Chart, ChartKind, ChartSeries, Findings, Horizon, Unit};
use stresslab_core::report::{money, pct, Cell, Column, Table};

use crate::anchors::MarketAnchors;
use crate::cascade::{class_index, CascadeWorkspace, DayRecord, MarketPath, N_CLASSES};
use crate::engine::{LiquidityRun, ScenarioDriver, Simulator, TRIGGER_WINDOW_DAYS};
use crate::scenarios::{
    market_path_for_class, market_shock, MarketStressKind, RedemptionShock, RedemptionShockKind,
    ScenarioSpec, REDEMPTION_HALF_LIFE_BANDS, REDEMPTION_SHOCK_DAYS,
};
use crate::types::{AssetClass, MarketStress, Severity};
use crate::LiquidityAggregate;

/// Half-life (business days) of the reverse test's front-loaded request profile: the
/// middle of the scenario set's *severe* band ([`REDEMPTION_HALF_LIFE_BANDS`], 7 → 4
/// days), 5.5 days, so 12.7% of the month's requests arrive on the first day and half by
/// the fifth. An assumption: the profile's shape is held fixed so that the shock has one
/// parameter, its size; a severe run's pace is the middle ground between a slow
/// moderate outflow and an extreme stampede.
pub const REVERSE_HALF_LIFE_DAYS: f64 =
    0.5 * (REDEMPTION_HALF_LIFE_BANDS[1][0] + REDEMPTION_HALF_LIFE_BANDS[1][1]);

/// Bisection tolerance on the redemption shock `r`: 0.1% of NAV.
pub const R_TOLERANCE: f64 = 0.001;

/// Grid intervals on `r ∈ [0, 1]` for the monotonicity check (steps of 5% of NAV). An
/// assumption: fine enough to see a breach that comes and goes over a few percent of
/// NAV, coarse enough to keep the search to ~40 probes per market state.
pub const R_GRID_STEPS: usize = 20;

/// Bisection tolerance on the severity quantile `u` (half a percent of the quantile
/// range; the scenario bands are thirds of it).
pub const U_TOLERANCE: f64 = 0.005;

/// Grid intervals on `u ∈ [0, 1]` for the converse's monotonicity check: twelfths, so
/// the band edges 1/3 and 2/3 are grid points.
pub const U_GRID_STEPS: usize = 12;

/// Percentile of the run's 30-day outflows the converse holds fixed.
pub const CONVERSE_PERCENTILE: f64 = 0.99;

/// Index of the 30-day need in `ScenarioOutcome::outflows` (`NEED_DAYS[2] = 30`).
const OUTFLOW_30D: usize = 2;

/// The market states of the forward test: no stress, then market-wide severity
/// quantiles 0 (moderate, the mildest stress of the set), 1/3 (severe starts), 2/3
/// (extreme starts) and 1 (the extreme end).
pub const MARKET_QUANTILES: [f64; 4] = [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0];

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

/// The three breach events, in the order of every `[_; 3]` array of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The base cascade sells outside the buffer (cash and the buffer tiers) on some day
    /// of the horizon: `CascadeOutcome::buffer_exhaustion_day` is set — the buffer is
    /// used up, or its tiers cannot be sold fast enough under the participation cap.
    Buffer,
    /// The base cascade ends the horizon with its illiquid share above the run's
    /// illiquid limit. The share is `CascadeOutcome::illiquid_share_end`: alternatives
    /// over *invested* assets (cash and proceeds in settlement excluded), not over net
    /// assets as SEC rule 22e-4 measures it — a cascade that has paid out its cash holds
    /// little, so the two are close at the end of a run, but not equal.
    IlliquidLimit,
    /// The fund, run without its gate, would have to gate: on some day (i) the
    /// redemptions dealt over the trailing [`TRIGGER_WINDOW_DAYS`] business days exceed
    /// the run's redemption trigger (share of initial NAV; the engine's trigger 1), or
    /// (ii) the day's dealing exceeds the gate threshold (the share of shares
    /// outstanding the fund's gate deals, or the run's trigger gate when the fund has
    /// none): `deal / shares = dealt_value / ((1 − swing) · NAV_open) > threshold`.
    MustGate,
}

impl Event {
    pub const ALL: [Event; 3] = [Event::Buffer, Event::IlliquidLimit, Event::MustGate];

    pub fn name(self) -> &'static str {
        match self {
            Event::Buffer => "buffer breached",
            Event::IlliquidLimit => "illiquid limit breached",
            Event::MustGate => "must gate",
        }
    }

    /// Short key used in figure keys.
    pub fn key(self) -> &'static str {
        match self {
            Event::Buffer => "buffer",
            Event::IlliquidLimit => "illiquid",
            Event::MustGate => "gate",
        }
    }
}

/// A market-liquidity state of the reverse test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketState {
    /// Normal markets: [`MarketStress::NONE`] on every class every day.
    NoStress,
    /// Market-wide stress of severity quantile `u` ([`market_shock`]).
    MarketWide { u: f64 },
}

impl MarketState {
    pub fn label(self) -> String {
        match self {
            MarketState::NoStress => "no stress".into(),
            MarketState::MarketWide { u } => {
                let name = if u <= 0.0 {
                    "moderate"
                } else if (u - 1.0 / 3.0).abs() < 1e-12 {
                    "severe start"
                } else if (u - 2.0 / 3.0).abs() < 1e-12 {
                    "extreme start"
                } else if u >= 1.0 {
                    "extreme end"
                } else {
                    return format!("market-wide u = {u:.3}");
                };
                format!("{name} (u = {})", quantile_label(u))
            }
        }
    }

    /// Short key used in figure keys.
    pub fn key(self) -> String {
        match self {
            MarketState::NoStress => "none".into(),
            MarketState::MarketWide { u } if u <= 0.0 => "moderate".into(),
            MarketState::MarketWide { u } if (u - 1.0 / 3.0).abs() < 1e-12 => "severe".into(),
            MarketState::MarketWide { u } if (u - 2.0 / 3.0).abs() < 1e-12 => "extreme".into(),
            MarketState::MarketWide { u } if u >= 1.0 => "extreme_end".into(),
            MarketState::MarketWide { u } => format!("u{:03.0}", 1000.0 * u),
        }
    }

    /// Stress of a fully exposed class at the peak (day 0).
    pub fn peak(self, anchors: &MarketAnchors) -> MarketStress {
        match self {
            MarketState::NoStress => MarketStress::NONE,
            MarketState::MarketWide { u } => {
                market_shock(MarketStressKind::MarketWide, u, anchors).peak
            }
        }
    }

    pub fn severity(self, anchors: &MarketAnchors) -> Option<Severity> {
        match self {
            MarketState::NoStress => None,
            MarketState::MarketWide { u } => {
                Some(market_shock(MarketStressKind::MarketWide, u, anchors).severity)
            }
        }
    }

    /// The per-class stress of each day over `horizon` days (the last day persists in
    /// the cascade): no stress is one day of [`MarketStress::NONE`]; a market-wide state
    /// is [`market_path_for_class`] of a spec carrying [`market_shock`]`(MarketWide, u)`.
    pub fn class_stress(
        self,
        horizon: usize,
        anchors: &MarketAnchors,
    ) -> Vec<[MarketStress; N_CLASSES]> {
        match self {
            MarketState::NoStress => vec![[MarketStress::NONE; N_CLASSES]],
            MarketState::MarketWide { u } => {
                let spec = market_spec(u, anchors);
                (0..horizon.max(1) as u32)
                    .map(|day| {
                        let mut row = [MarketStress::NONE; N_CLASSES];
                        for c in ALL_CLASSES {
                            row[class_index(c)] = market_path_for_class(&spec, c, day);
                        }
                        row
                    })
                    .collect()
            }
        }
    }
}

fn quantile_label(u: f64) -> String {
    if u <= 0.0 {
        "0".into()
    } else if (u - 1.0 / 3.0).abs() < 1e-12 {
        "1/3".into()
    } else if (u - 2.0 / 3.0).abs() < 1e-12 {
        "2/3".into()
    } else if u >= 1.0 {
        "1".into()
    } else {
        format!("{u:.3}")
    }
}

/// A scenario spec carrying only the market-wide shock of quantile `u` (its redemption
/// side is empty: the reverse test supplies its own requests).
fn market_spec(u: f64, anchors: &MarketAnchors) -> ScenarioSpec {
    let market = market_shock(MarketStressKind::MarketWide, u, anchors);
    ScenarioSpec {
        id: 0,
        seed: 0,
        redemption: RedemptionShock {
            kind: RedemptionShockKind::Empirical,
            severity: market.severity,
            quantile: u,
            first_month_fraction: 0.0,
            half_life_days: REVERSE_HALF_LIFE_DAYS,
            exits: Vec::new(),
        },
        market,
    }
}

/// Weights of the front-loaded month: `w_d = q^d / Σ_{j<D} q^j`, `q = 2^(−1/h)`,
/// `D` = [`REDEMPTION_SHOCK_DAYS`] (the scenario set's profile, without noise). They sum
/// to one.
pub fn profile_weights(half_life_days: f64) -> Vec<f64> {
    let q = (-1.0 / half_life_days).exp2();
    let raw: Vec<f64> = (0..REDEMPTION_SHOCK_DAYS as i32)
        .map(|d| q.powi(d))
        .collect();
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|w| w / total).collect()
}

/// Where an event starts along a search bracket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Threshold {
    /// The event already happens at the bottom of the bracket (r = 0, or u = 0).
    AtStart,
    /// The event does not happen at `below` and does at `at` (`at − below` within the
    /// tolerance); `at` is the reported smallest value.
    Found { below: f64, at: f64 },
    /// The event does not happen anywhere on the grid, the top of the bracket included.
    NotReached,
    /// The indicator is not monotone on the grid: the event happens at `first_at` and
    /// not at the later grid point `lapses_at`. No threshold is claimed.
    NonMonotone { first_at: f64, lapses_at: f64 },
}

impl Threshold {
    /// The smallest value at which the event was seen to happen, if it was: `at`, the
    /// bottom of the bracket for [`Threshold::AtStart`], the first grid point for a
    /// non-monotone indicator.
    pub fn first_seen(&self, lo: f64) -> Option<f64> {
        match *self {
            Threshold::AtStart => Some(lo),
            Threshold::Found { at, .. } => Some(at),
            Threshold::NotReached => None,
            Threshold::NonMonotone { first_at, .. } => Some(first_at),
        }
    }

    /// The threshold, when one is claimed (monotone indicator, event reached).
    pub fn value(&self, lo: f64) -> Option<f64> {
        match *self {
            Threshold::AtStart => Some(lo),
            Threshold::Found { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// Smallest `x ∈ [lo, hi]` at which each of `K` event indicators turns on.
///
/// Grid first, then bisection: `eval` is called on `grid_steps + 1` equally spaced
/// points; an indicator that is on at some grid point and off at a later one is
/// reported [`Threshold::NonMonotone`]; one that is on at `lo` is
/// [`Threshold::AtStart`]; one that never comes on is [`Threshold::NotReached`];
/// otherwise the grid interval holding its first crossing is bisected until it is at
/// most `tol` wide (bisection method: Burden & Faires, *Numerical Analysis*, § 2.1;
/// exact for an indicator that switches once inside the interval). One call of `eval`
/// answers all `K` indicators, and repeated points are not re-evaluated. Returns the
/// thresholds and the number of evaluations.
pub fn search_thresholds<const K: usize, E>(
    lo: f64,
    hi: f64,
    grid_steps: usize,
    tol: f64,
    mut eval: impl FnMut(f64) -> Result<[bool; K], E>,
) -> Result<([Threshold; K], usize), E> {
    let steps = grid_steps.max(1);
    let grid: Vec<f64> = (0..=steps)
        .map(|i| {
            if i == steps {
                hi
            } else {
                lo + (hi - lo) * i as f64 / steps as f64
            }
        })
        .collect();
    let mut memo: Vec<(f64, [bool; K])> = Vec::new();
    let mut probe = |x: f64, memo: &mut Vec<(f64, [bool; K])>| -> Result<[bool; K], E> {
        if let Some((_, v)) = memo.iter().find(|(y, _)| *y == x) {
            return Ok(*v);
        }
        let v = eval(x)?;
        memo.push((x, v));
        Ok(v)
    };
    let mut on_grid = Vec::with_capacity(grid.len());
    for &x in &grid {
        on_grid.push(probe(x, &mut memo)?);
    }
    let mut out = [Threshold::NotReached; K];
    for (k, slot) in out.iter_mut().enumerate() {
        let Some(i) = on_grid.iter().position(|v| v[k]) else {
            continue;
        };
        if let Some(j) = (i + 1..grid.len()).find(|&j| !on_grid[j][k]) {
            *slot = Threshold::NonMonotone {
                first_at: grid[i],
                lapses_at: grid[j],
            };
            continue;
        }
        if i == 0 {
            *slot = Threshold::AtStart;
            continue;
        }
        let (mut below, mut at) = (grid[i - 1], grid[i]);
        while at - below > tol {
            let mid = 0.5 * (below + at);
            if probe(mid, &mut memo)?[k] {
                at = mid;
            } else {
                below = mid;
            }
        }
        *slot = Threshold::Found { below, at };
    }
    Ok((out, memo.len()))
}

/// The forward test's result in one market state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateThresholds {
    pub state: MarketState,
    pub label: String,
    /// Severity band of the state (none for no stress).
    pub severity: Option<Severity>,
    /// Peak stress of a fully exposed class (day 0; it recovers with the severity's
    /// half-life).
    pub peak: MarketStress,
    /// Smallest one-month redemption shock `r` (share of initial NAV) per [`Event`].
    pub thresholds: [Threshold; 3],
}

/// The converse: the 99th-percentile 30-day outflow held fixed, the mildest market.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Converse {
    /// The redemption shock used: the 99th percentile (Hyndman–Fan definition 7) across
    /// the run's scenarios of the redemptions dealt by day 30 of the base cascade, share
    /// of initial NAV. It already includes those scenarios' feedback, and the reverse
    /// cascade adds its own on top: a conservative use of it.
    pub outflow_30d_p99: f64,
    pub scenarios: usize,
    /// Whether each event happens at this shock with no market stress at all.
    pub at_no_stress: [bool; 3],
    /// Mildest market-wide severity quantile `u` per event (meaningful when the event
    /// does not already happen with no stress).
    pub by_u: [Threshold; 3],
}

impl Converse {
    /// The mildest state at which event `k` happens: no stress, a quantile, or none.
    pub fn mildest(&self, k: usize) -> Option<MarketState> {
        if self.at_no_stress[k] {
            return Some(MarketState::NoStress);
        }
        self.by_u[k]
            .first_seen(0.0)
            .map(|u| MarketState::MarketWide { u })
    }
}

/// The reverse liquidity stress test of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReverseStress {
    /// Half-life of the request profile and the days it spans.
    pub profile_half_life_days: f64,
    pub profile_days: u32,
    /// Share of the month's requests on its first day.
    pub first_day_weight: f64,
    pub r_tolerance: f64,
    pub u_tolerance: f64,
    pub horizon_days: u32,
    pub feedback: bool,
    pub illiquid_limit: f64,
    /// Alternatives over invested assets at the start (before any redemption).
    pub illiquid_share_start: f64,
    /// Cash and buffer tiers, share of NAV.
    pub buffer_share: f64,
    pub redemption_trigger: f64,
    /// The gate threshold rule (ii) of [`Event::MustGate`] reads, and whether it is the
    /// fund's own gate (else the run's trigger gate).
    pub gate_threshold: f64,
    pub gate_is_funds_own: bool,
    /// One entry per market state: no stress, then [`MARKET_QUANTILES`].
    pub states: Vec<StateThresholds>,
    /// `None` when the aggregate holds no scenario outcome.
    pub converse: Option<Converse>,
    /// Cascades run (the work done).
    pub cascades: usize,
    /// Why the test could not run, if it could not (the fund failed the cascade's checks).
    pub error: Option<String>,
    /// The market anchors the states were read with (the run's: bundled or pinned), so
    /// a converse threshold's peak stress is described with the same bands.
    #[serde(skip)]
    pub anchors: MarketAnchors,
}

/// Probes the fund: one `(state, r)` → the three events, from one base cascade and,
/// when the fund has a gate, one recorded ungated cascade.
struct Prober<'s, 'r> {
    sim: &'s Simulator<'r>,
    ws: CascadeWorkspace,
    weights: Vec<f64>,
    exogenous: Vec<f64>,
    slope: f64,
    nav0: f64,
    has_gate: bool,
    cascades: usize,
}

impl<'s, 'r> Prober<'s, 'r> {
    fn new(sim: &'s Simulator<'r>) -> Self {
        let run = sim.run;
        Prober {
            sim,
            ws: sim.base.workspace(),
            weights: profile_weights(REVERSE_HALF_LIFE_DAYS),
            exogenous: Vec::with_capacity(REDEMPTION_SHOCK_DAYS as usize),
            slope: if run.settings.feedback {
                run.feedback_slope
            } else {
                0.0
            },
            nav0: sim.base.initial_nav(),
            has_gate: run.fund.terms.gate.is_some(),
            cascades: 0,
        }
    }

    fn events(
        &mut self,
        class_stress: &[[MarketStress; N_CLASSES]],
        r: f64,
    ) -> Result<[bool; 3], String> {
        let settings = &self.sim.run.settings;
        self.exogenous.clear();
        self.exogenous.extend(self.weights.iter().map(|w| r * w));
        let driver = ScenarioDriver {
            exogenous: &self.exogenous,
            feedback_slope: self.slope,
        };
        let market = MarketPath {
            stress: &[],
            class_returns: &[],
            class_stress,
        };
        let impact = &self.sim.impact;
        // Without a gate the base engine is the ungated fund: one recorded run answers all.
        let base = self
            .sim
            .base
            .run(&market, &driver, impact, &mut self.ws, !self.has_gate)
            .map_err(|e| e.to_string())?;
        self.cascades += 1;
        let buffer = base.buffer_exhaustion_day.is_some();
        let illiquid = base.illiquid_share_end > settings.illiquid_limit;
        if self.has_gate {
            self.sim
                .ungated
                .run(&market, &driver, impact, &mut self.ws, true)
                .map_err(|e| e.to_string())?;
            self.cascades += 1;
        }
        let gate = must_gate(
            &self.ws.days,
            self.nav0,
            settings.redemption_trigger,
            self.sim.trigger_gate.threshold,
        );
        Ok([buffer, illiquid, gate.is_some()])
    }
}

/// Which rule of [`Event::MustGate`] fires first on a recorded ungated path, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateNeed {
    pub day: u32,
    /// Rule (i): trailing-window redemptions above the trigger.
    pub window: bool,
    /// Rule (ii): the day's dealing above the gate threshold.
    pub dealing: bool,
}

/// Reads [`Event::MustGate`] off an ungated cascade's days: the first day on which (i)
/// the redemptions dealt over the trailing [`TRIGGER_WINDOW_DAYS`] days exceed `trigger`
/// of initial NAV, or (ii) the day's dealt shares exceed `gate_threshold` of the shares
/// outstanding. The dealt share is recovered from the record: the cascade deals `deal`
/// shares at the dealing NAV per share `p = (NAV_open + market P&L) / shares` (prices
/// move before dealing, trades after) and pays `deal · p · (1 − s)`, `s` the swing
/// factor, so `deal / shares = dealt_value / ((1 − s)(NAV_open + market P&L))`.
pub fn must_gate(
    days: &[DayRecord],
    nav0: f64,
    trigger: f64,
    gate_threshold: f64,
) -> Option<GateNeed> {
    let mut sum = 0.0;
    for (t, d) in days.iter().enumerate() {
        sum += d.dealt_value;
        if t >= TRIGGER_WINDOW_DAYS {
            sum -= days[t - TRIGGER_WINDOW_DAYS].dealt_value;
        }
        let window = nav0 > 0.0 && sum / nav0 > trigger;
        let gross = if d.swing_factor < 1.0 {
            d.dealt_value / (1.0 - d.swing_factor)
        } else {
            d.dealt_value
        };
        let nav_deal = d.nav_open + d.market_pnl;
        let dealing = nav_deal > 0.0 && gross / nav_deal > gate_threshold;
        if window || dealing {
            return Some(GateNeed {
                day: d.day,
                window,
                dealing,
            });
        }
    }
    None
}

/// The reverse liquidity stress test of `run` (ESMA 2020 guidelines on liquidity stress
/// testing, §§ 45–46), with the converse read at the 99th-percentile 30-day outflow of
/// `agg`'s scenarios. Never panics: a fund the cascade refuses gives an empty result
/// with the reason in `error`; an empty aggregate gives no converse.
pub fn reverse_stress(run: &LiquidityRun, agg: &LiquidityAggregate) -> ReverseStress {
    let weights = profile_weights(REVERSE_HALF_LIFE_DAYS);
    let mut rs = ReverseStress {
        profile_half_life_days: REVERSE_HALF_LIFE_DAYS,
        profile_days: REDEMPTION_SHOCK_DAYS,
        first_day_weight: weights.first().copied().unwrap_or(0.0),
        r_tolerance: R_TOLERANCE,
        u_tolerance: U_TOLERANCE,
        horizon_days: run.settings.horizon_days,
        feedback: run.settings.feedback,
        illiquid_limit: run.settings.illiquid_limit,
        illiquid_share_start: illiquid_share_start(run),
        buffer_share: finite_or_zero(run.fund.buffer.share),
        redemption_trigger: run.settings.redemption_trigger,
        gate_threshold: run
            .fund
            .terms
            .gate
            .map_or(run.settings.trigger_gate_threshold, |g| g.threshold),
        gate_is_funds_own: run.fund.terms.gate.is_some(),
        states: Vec::new(),
        converse: None,
        cascades: 0,
        error: None,
        anchors: run.scenarios.anchors,
    };
    let sim = match Simulator::new(run) {
        Ok(sim) => sim,
        Err(e) => {
            rs.error = Some(e.to_string());
            return rs;
        }
    };
    let horizon = run.settings.horizon_days as usize;
    let mut prober = Prober::new(&sim);

    let mut states = vec![MarketState::NoStress];
    states.extend(MARKET_QUANTILES.map(|u| MarketState::MarketWide { u }));
    for state in states {
        let stress = state.class_stress(horizon, &run.scenarios.anchors);
        match search_thresholds(0.0, 1.0, R_GRID_STEPS, R_TOLERANCE, |r| {
            prober.events(&stress, r)
        }) {
            Ok((thresholds, _)) => rs.states.push(StateThresholds {
                state,
                label: state.label(),
                severity: state.severity(&run.scenarios.anchors),
                peak: state.peak(&run.scenarios.anchors),
                thresholds,
            }),
            Err(e) => {
                rs.error = Some(e);
                rs.cascades = prober.cascades;
                return rs;
            }
        }
    }

    let mut outflows: Vec<f64> = agg
        .outcomes
        .iter()
        .map(|o| o.outflows[OUTFLOW_30D])
        .filter(|x| x.is_finite())
        .collect();
    if !outflows.is_empty() {
        outflows.sort_by(f64::total_cmp);
        let r = quantile(&outflows, CONVERSE_PERCENTILE).clamp(0.0, 1.0);
        let none = MarketState::NoStress.class_stress(horizon, &run.scenarios.anchors);
        let converse = prober.events(&none, r).and_then(|at_no_stress| {
            let mut stress_of = |u: f64| {
                let s = MarketState::MarketWide { u }.class_stress(horizon, &run.scenarios.anchors);
                prober.events(&s, r)
            };
            search_thresholds(0.0, 1.0, U_GRID_STEPS, U_TOLERANCE, &mut stress_of).map(
                |(by_u, _)| Converse {
                    outflow_30d_p99: r,
                    scenarios: outflows.len(),
                    at_no_stress,
                    by_u,
                },
            )
        });
        match converse {
            Ok(c) => rs.converse = Some(c),
            Err(e) => rs.error = Some(e),
        }
    }
    rs.cascades = prober.cascades;
    rs
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Alternatives over invested (non-cash) holdings today: the measure
/// `CascadeOutcome::illiquid_share_end` takes at the end of a cascade.
fn illiquid_share_start(run: &LiquidityRun) -> f64 {
    let (mut invested, mut illiquid) = (0.0, 0.0);
    for h in &run.fund.holdings {
        let h = &h.holding;
        if h.asset_class == AssetClass::Cash {
            continue;
        }
        invested += h.market_value;
        if h.asset_class == AssetClass::Alternatives {
            illiquid += h.market_value;
        }
    }
    if invested > 0.0 {
        illiquid / invested
    } else {
        0.0
    }
}

fn state_at(rs: &ReverseStress, key: &str) -> Option<usize> {
    rs.states.iter().position(|s| s.state.key() == key)
}

fn describe(t: &Threshold, nav: f64, currency: &str) -> String {
    match *t {
        Threshold::AtStart => "already without redemptions".into(),
        Threshold::Found { at, .. } => format!("{} ({})", pct(at), money(at * nav, currency)),
        Threshold::NotReached => "not even at 100% of NAV".into(),
        Threshold::NonMonotone {
            first_at,
            lapses_at,
        } => format!(
            "not monotone (happens at {}, not at {})",
            pct(first_at),
            pct(lapses_at)
        ),
    }
}

/// One sentence for the policy formulator's headline: the smallest shock per event with
/// no market stress and in a severe market, and the converse.
pub fn summary(rs: &ReverseStress, currency: &str, nav: f64) -> String {
    if let Some(e) = &rs.error {
        return format!("The reverse liquidity stress test could not run: {e}.");
    }
    let mut parts = Vec::new();
    for key in ["none", "severe"] {
        if let Some(i) = state_at(rs, key) {
            let s = &rs.states[i];
            let each: Vec<String> = Event::ALL
                .iter()
                .zip(&s.thresholds)
                .map(|(e, t)| format!("{} {}", e.name(), describe(t, nav, currency)))
                .collect();
            parts.push(format!("{}: {}", s.label, each.join(", ")));
        }
    }
    let mut text = format!(
        "Reverse stress (smallest one-month redemption shock, share of NAV) — {}.",
        parts.join("; ")
    );
    match &rs.converse {
        Some(c) => {
            let each: Vec<String> = (0..3)
                .map(|k| {
                    let state = c
                        .mildest(k)
                        .map_or("in no market state tested".into(), |s| s.label());
                    format!("{} {}", Event::ALL[k].name(), state)
                })
                .collect();
            text.push_str(&format!(
                " At the 99th-percentile 30-day outflow ({}): {}.",
                pct(c.outflow_30d_p99),
                each.join(", ")
            ));
        }
        None => text.push_str(" No scenario outcomes: the converse (mildest market state at the 99th-percentile outflow) is not available."),
    }
    text
}

/// Adds the reverse stress test to a persona's findings: figures (`reverse_…`), the
/// market state × event table, the converse table, a chart of the thresholds over the
/// market states, and recommendations citing the figures.
pub fn add_to_findings(rs: &ReverseStress, f: &mut Findings, currency: &str, nav: f64) {
    let nav = finite_or_zero(nav);
    f.figure(
        "reverse_cascades",
        "Reverse stress test: cascades run",
        rs.cascades as f64,
        Unit::Count,
        Horizon::Point,
    );
    if let Some(e) = &rs.error {
        f.recommend(
            format!("The reverse liquidity stress test could not run ({e}); fix the fund data before relying on the breach points."),
            &["reverse_cascades"],
        );
        return;
    }
    let profile = format!(
        "requests front-loaded over {} business days, half-life {} days, with feedback {}",
        rs.profile_days,
        rs.profile_half_life_days,
        if rs.feedback { "on" } else { "off" }
    );

    // Figures: every claimed threshold, per event and state.
    for s in &rs.states {
        for (e, t) in Event::ALL.iter().zip(&s.thresholds) {
            if let Some(v) = t.value(0.0) {
                f.figure(
                    &format!("reverse_{}_r_{}", e.key(), s.state.key()),
                    &format!(
                        "Smallest one-month redemption shock with {}, {} (share of NAV; {profile})",
                        e.name(),
                        s.label
                    ),
                    v,
                    Unit::Fraction,
                    Horizon::Point,
                );
            }
        }
    }
    f.figure(
        "reverse_illiquid_share_start",
        "Illiquid share of invested assets today (alternatives over non-cash holdings)",
        rs.illiquid_share_start,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "reverse_illiquid_limit",
        "Illiquid limit tested (share of invested assets in the reverse test)",
        rs.illiquid_limit,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "reverse_buffer_share",
        "Buffer today: cash and buffer tiers (share of NAV)",
        rs.buffer_share,
        Unit::Fraction,
        Horizon::Point,
    );
    if let Some(c) = &rs.converse {
        f.figure(
            "reverse_outflow_30d_p99",
            "Outflow by day 30, 99th percentile of the scenarios (the converse's shock; share of NAV)",
            c.outflow_30d_p99,
            Unit::Fraction,
            Horizon::Point,
        );
        for (k, e) in Event::ALL.iter().enumerate() {
            if !c.at_no_stress[k] {
                if let Some(u) = c.by_u[k].value(0.0) {
                    f.figure(
                        &format!("reverse_{}_u_p99", e.key()),
                        &format!(
                            "Mildest market-wide severity quantile (0 = moderate start, 1/3 severe, 2/3 extreme) with {} at the 99th-percentile 30-day outflow",
                            e.name()
                        ),
                        u,
                        Unit::Ratio,
                        Horizon::Point,
                    );
                }
            }
        }
    }

    // Table: market state × event.
    let mut columns = vec![
        Column::text("Market state"),
        Column::number("Peak spread ×", 1),
        Column::percent("Peak volume lost"),
    ];
    for e in Event::ALL {
        columns.push(Column::percent(&format!("{}: r", capitalise(e.name()))));
        columns.push(Column::money(
            &format!("{}: amount", capitalise(e.name())),
            currency,
        ));
    }
    let mut table = Table::new(
        &format!(
            "Reverse stress test: smallest one-month redemption shock r (share of NAV; {profile}) at which each event happens, by market-wide liquidity state (peak of a fully exposed class, recovering over the horizon; u = 0 is already a moderate stress). Bisection to {} of NAV after a monotonicity check on a 5% grid. The illiquid share is alternatives over invested assets at the end of {} business days. — : not reached with r up to 100% of NAV.",
            pct(rs.r_tolerance),
            rs.horizon_days
        ),
        columns,
    );
    for s in &rs.states {
        let mut row = vec![
            Cell::from(s.label.clone()),
            Cell::from(s.peak.spread_multiplier),
            Cell::from(s.peak.volume_reduction),
        ];
        for t in &s.thresholds {
            match *t {
                Threshold::NonMonotone { .. } => {
                    row.push(Cell::from("not monotone"));
                    row.push(Cell::from(describe(t, nav, currency)));
                }
                _ => {
                    let v = t.value(0.0);
                    row.push(Cell::from(v));
                    row.push(Cell::from(v.map(|v| v * nav)));
                }
            }
        }
        table.row(row);
    }
    f.tables.push(table);

    if let Some(c) = &rs.converse {
        let mut t = Table::new(
            &format!(
                "Reverse stress test, converse: at the 99th-percentile 30-day outflow of the scenarios ({}, from {} scenarios — a stress design with equal thirds of severities, not a forecast), the mildest market state at which each event happens (bisection on the market-wide severity quantile u to {:.3}).",
                pct(c.outflow_30d_p99),
                c.scenarios,
                rs.u_tolerance
            ),
            vec![
                Column::text("Event"),
                Column::text("Mildest market state"),
                Column::number("Severity quantile u", 3),
                Column::number("Peak spread ×", 1),
                Column::percent("Peak volume lost"),
            ],
        );
        for (k, e) in Event::ALL.iter().enumerate() {
            let (state, u, peak) = if c.at_no_stress[k] {
                (
                    "already with no market stress".to_string(),
                    None,
                    Some(MarketStress::NONE),
                )
            } else {
                match c.by_u[k] {
                    Threshold::NotReached => ("not reached (u ≤ 1)".to_string(), None, None),
                    Threshold::NonMonotone {
                        first_at,
                        lapses_at,
                    } => (
                        format!("not monotone in u (at {first_at:.3}, not at {lapses_at:.3})"),
                        None,
                        None,
                    ),
                    t => {
                        let u = t.value(0.0).unwrap_or(0.0);
                        let state = MarketState::MarketWide { u };
                        (state.label(), Some(u), Some(state.peak(&rs.anchors)))
                    }
                }
            };
            t.row(vec![
                Cell::from(capitalise(e.name())),
                Cell::from(state),
                Cell::from(u),
                Cell::from(peak.map(|p| p.spread_multiplier)),
                Cell::from(peak.map(|p| p.volume_reduction)),
            ]);
        }
        f.tables.push(t);
    }

    // Chart: thresholds over the market states; an event not reached is drawn at 100%.
    if rs.states.len() >= 2 {
        f.charts.push(Chart {
            key: "reverse_thresholds".into(),
            title: "Reverse stress: smallest one-month redemption shock per event, by market state (100% = not reached)".into(),
            kind: ChartKind::Timeline,
            labels: rs.states.iter().map(|s| s.label.clone()).collect(),
            x: Vec::new(),
            x_label: "Market-wide liquidity state".into(),
            x_unit: Unit::Ratio,
            y_label: "Redemption shock (share of NAV)".into(),
            y_unit: Unit::Fraction,
            series: Event::ALL
                .iter()
                .enumerate()
                .map(|(k, e)| ChartSeries {
                    name: capitalise(e.name()),
                    values: rs
                        .states
                        .iter()
                        .map(|s| s.thresholds[k].first_seen(0.0).unwrap_or(1.0))
                        .collect(),
                })
                .collect(),
        });
    }

    recommend(rs, f, currency, nav);
}

fn recommend(rs: &ReverseStress, f: &mut Findings, currency: &str, nav: f64) {
    let key = |e: Event, s: &str| format!("reverse_{}_r_{}", e.key(), s);
    let has = |f: &Findings, k: &str| f.get(k).is_some();
    let p99 = rs.converse.as_ref().map(|c| c.outflow_30d_p99);

    // The buffer: the weakest point in the mildest stress against the tail outflow.
    let buffer_severe = key(Event::Buffer, "severe");
    let buffer_none = key(Event::Buffer, "none");
    if has(f, &buffer_none) && has(f, &buffer_severe) {
        let (r0, r1) = (
            f.get(&buffer_none).unwrap_or(0.0),
            f.get(&buffer_severe).unwrap_or(0.0),
        );
        let mut cites = vec![
            buffer_none.as_str(),
            buffer_severe.as_str(),
            "reverse_buffer_share",
        ];
        let mut text = format!(
            "The buffer ({} of NAV) is breached by a one-month redemption shock of {} ({}) in normal markets and {} ({}) at the start of the severe band",
            pct(rs.buffer_share),
            pct(r0),
            money(r0 * nav, currency),
            pct(r1),
            money(r1 * nav, currency)
        );
        if let Some(p) = p99 {
            cites.push("reverse_outflow_30d_p99");
            if p > r1 {
                text.push_str(&format!(
                    ", below the scenarios' 99th-percentile 30-day outflow of {}: size the buffer to at least that outflow, or plan the sales beyond it (the liquidation strategy) as a normal event rather than an emergency.",
                    pct(p)
                ));
            } else {
                text.push_str(&format!(
                    ", above the scenarios' 99th-percentile 30-day outflow of {}: the buffer holds in the tail the scenarios design; monitor the distance to the breach point.",
                    pct(p)
                ));
            }
        } else {
            text.push('.');
        }
        f.recommend(text, &cites);
    }

    // The illiquid limit: how much must leave before the limit binds.
    let ill_none = key(Event::IlliquidLimit, "none");
    let ill_severe = key(Event::IlliquidLimit, "severe");
    if has(f, &ill_none) {
        let r0 = f.get(&ill_none).unwrap_or(0.0);
        let mut cites = vec![
            ill_none.as_str(),
            "reverse_illiquid_share_start",
            "reverse_illiquid_limit",
        ];
        let mut text = format!(
            "Redemptions of {} of NAV in a month ({}) push alternatives from {} to above the {} limit of invested assets",
            pct(r0),
            money(r0 * nav, currency),
            pct(rs.illiquid_share_start),
            pct(rs.illiquid_limit)
        );
        if has(f, &ill_severe) {
            cites.push(ill_severe.as_str());
            text.push_str(&format!(
                " ({} at the start of the severe band)",
                pct(f.get(&ill_severe).unwrap_or(0.0))
            ));
        }
        text.push_str(": those who stay inherit the illiquid part. Pre-agree when sales switch from the waterfall to a slice of the less liquid layers, or cap the alternatives' allocation, before outflows approach this point.");
        f.recommend(text, &cites);
    }

    // The gate: the shock at which the fund must gate, against the tail outflow.
    let gate_none = key(Event::MustGate, "none");
    if has(f, &gate_none) {
        let r0 = f.get(&gate_none).unwrap_or(0.0);
        let mut cites = vec![gate_none.as_str()];
        let mut text = format!(
            "Without its gate the fund would have to gate (redemptions over 21 business days above {} of NAV, or a day's dealing above {} of shares) from a one-month shock of {} ({})",
            pct(rs.redemption_trigger),
            pct(rs.gate_threshold),
            pct(r0),
            money(r0 * nav, currency)
        );
        if let Some(p) = p99 {
            cites.push("reverse_outflow_30d_p99");
            if p >= r0 {
                text.push_str(&format!(
                    ", within the scenarios' 99th-percentile 30-day outflow of {}: keep the gate's terms operational and tested, and disclose them.",
                    pct(p)
                ));
            } else {
                text.push_str(&format!(
                    ", beyond the scenarios' 99th-percentile 30-day outflow of {}.",
                    pct(p)
                ));
            }
        } else {
            text.push('.');
        }
        f.recommend(text, &cites);
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
