//! One combined scenario through the cascades: the evaluate step of the workflow.
//!
//! For every scenario the fund is run day by day over the horizon
//! ([`crate::cascade`]) several times, each run answering one question of the team:
//! - **base** — the fund as it is: its buffer tiers, its dealing terms (gate, swing
//!   pricing, notice), the chosen liquidation strategy, redemptions with feedback;
//! - **one pass** — the same without the feedback of NAV losses into redemptions: the
//!   difference is the second-round effect (ESMA 2020 guidelines on liquidity stress
//!   testing, §§ 47–49);
//! - **waterfall / slice / hybrid** — the base with each liquidation strategy;
//! - **ungated** — the base without its gate: what the gate protects, and the path on
//!   which the gate triggers are read (a trigger must fire before the gate exists);
//! - **gated from a trigger** — for each trigger that fires, the fund's gate switched
//!   on from the day it fires.
//!
//! Everything kept is a few numbers per scenario ([`ScenarioOutcome`]); day-by-day
//! records exist only while a scenario runs (the worst scenario is re-run for the
//! report, deterministically).

use serde::{Deserialize, Serialize};

use crate::cascade::{
    class_index, CascadeEngine, CascadeError, CascadeOutcome, CascadeWorkspace, DayRecord,
    FundTerms, Gate, ImpactModel, InvestorView, LiquidationPolicy, MarketPath, RedemptionDriver,
    SaleConditions, SpreadPowerImpact, N_CLASSES,
};
use crate::investors::{monthly_to_daily, InvestorBase, RedemptionModel, BUSINESS_DAYS_PER_MONTH};
use crate::model::LiquidityModel;
use crate::profile::class_defaults;
use crate::scenarios::{
    class_horizon_return, exogenous_redemptions, market_path_for_class, MarketStressKind,
    RedemptionShockKind, ScenarioConfig, ScenarioSpec,
};
use crate::types::{AssetClass, LiquidationStrategy, MarketStress, Severity};

/// Days at which liquidity needs and the redemption coverage ratio are measured
/// (business days of the cascade; issue 7's 1/7/30/90).
pub const NEED_DAYS: [u32; 4] = [1, 7, 30, 90];

/// The window of the first gate trigger: 21 business days ≈ 30 calendar days.
pub const TRIGGER_WINDOW_DAYS: usize = BUSINESS_DAYS_PER_MONTH as usize;

/// Thresholds at which the first crossing day of each trigger indicator is kept, so the
/// policy formulator can calibrate a threshold and measure its lead time without the
/// daily paths. Redemptions over the trailing window, share of initial NAV:
/// (wide enough that a calibrated threshold is not pinned at its top).
pub const REDEMPTION_TRIGGER_GRID: [f64; 10] =
    [0.05, 0.075, 0.10, 0.125, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50];
/// Liquidity on hand / redemptions pending:
pub const COVERAGE_TRIGGER_GRID: [f64; 7] = [0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0];

/// The three strategies in the order of [`ScenarioOutcome::by_strategy`].
pub const STRATEGIES: [LiquidationStrategy; 3] = [
    LiquidationStrategy::Waterfall,
    LiquidationStrategy::Slice,
    LiquidationStrategy::Hybrid,
];

/// The run's choices, from the parameters (see `LiquidityParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub horizon_days: u32,
    pub strategy: LiquidationStrategy,
    /// Most the fund sells of one holding per day, share of its stressed ADV.
    pub participation_cap: f64,
    /// Whether NAV losses feed back into redemptions (off: the one-pass cascade).
    pub feedback: bool,
    /// The gate used by trigger-activated runs when the fund's terms have none: the
    /// share of NAV dealt per day, the rest deferred.
    pub trigger_gate_threshold: f64,
    /// Trigger 1: redemptions over the trailing 21 business days, share of initial NAV.
    pub redemption_trigger: f64,
    /// Trigger 2: liquidity on hand below this multiple of redemptions pending.
    pub coverage_trigger: f64,
    /// Trigger 3: the market-stress composite at or above this level (0..1).
    pub stress_trigger: f64,
    /// A scenario needs a gate when, ungated, the costs borne by remaining investors
    /// reach this share of initial NAV (or the illiquid share passes its limit).
    pub distress_dilution: f64,
    /// The illiquid limit (SEC rule 22e-4: 15% of net assets).
    pub illiquid_limit: f64,
    /// Share of scenarios a buffer must cover, and by which need day (1, 7, 30 or 90).
    pub coverage_target: f64,
    pub coverage_horizon_days: u32,
    /// Liquidity-aware constraints of the book: most illiquid, least liquid within a
    /// day, most in one asset class (shares of NAV), least weighted 1–5 score.
    pub max_illiquid: f64,
    pub min_daily_liquid: f64,
    pub max_asset_class: f64,
    pub min_score: f64,
}

/// Everything evaluation needs: the fund, the run's settings, the scenario generator's
/// configuration (personas regenerate the scenarios to re-run alternatives) and the
/// redemption feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityRun {
    pub fund: LiquidityModel,
    pub settings: Settings,
    pub scenarios: ScenarioConfig,
    pub redemption_model: RedemptionModel,
    /// Monthly redemptions per unit of NAV drawdown: the behavioural model linearised
    /// in the fund's loss (see [`feedback_slope`]).
    pub feedback_slope: f64,
}

/// `∂(monthly redemptions)/∂(loss)` of the redemption model for a loss of the fund's
/// own making: its liquidation costs and fire-sale marks, which peers do not share, so
/// the fund is down `d` both absolutely and against its peers and each group's monthly
/// requests rise by `(loss_slope + down_slope (1 + κ·illiq)) · d` (the model's formula,
/// exact while no group's rate is clamped at 0 or 1). AUM-weighted over the investor
/// base. The market's own fall is a first-round driver, already in the scenario's
/// redemption shock (empirical stress flows, or the model at stressed returns).
pub fn feedback_slope(base: &InvestorBase, model: &RedemptionModel, illiquidity: f64) -> f64 {
    base.groups()
        .iter()
        .map(|g| {
            let s = model.sensitivity(g.investor_type);
            g.aum_share
                * (s.loss_slope + s.down_slope * (1.0 + s.illiquidity_amplifier * illiquidity))
        })
        .sum()
}

/// One cascade's result, amounts as shares of initial NAV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VariantOutcome {
    /// Buffer shortfall: redemptions the buffer could not cover, raised by selling
    /// outside cash and the buffer tiers (gross).
    pub beyond_buffer: f64,
    /// Largest redemption payable awaiting cash at a day's close (sales in settlement
    /// included).
    pub shortfall: f64,
    /// First day the fund sold outside its buffer (cash and buffer tiers).
    pub exhaustion_day: Option<u32>,
    /// Spread and impact paid on sales.
    pub liquidation_cost: f64,
    /// Marks lost on holdings still held, from the fund's own fire sales.
    pub fire_sale_loss: f64,
    /// Largest drawdown of NAV per share.
    pub max_drawdown: f64,
    pub gate_day: Option<u32>,
    /// Liquidation costs borne by remaining investors (costs less swing adjustments).
    pub dilution: f64,
    /// Redemptions dealt.
    pub redeemed: f64,
    pub less_liquid_share_end: f64,
    /// Share of invested assets in illiquid holdings (alternatives) at the end.
    pub illiquid_share_end: f64,
    pub style_drift: f64,
    /// NAV per share at the end (1 at the start): what a remaining investor holds.
    pub final_nav_per_share: f64,
    /// Redemptions dealt but unpaid, and shares still queued (notice or gate), at the end.
    pub unmet_at_end: f64,
    pub queued_at_end: f64,
    pub days_to_settle: Option<u32>,
}

impl VariantOutcome {
    fn from_cascade(o: &CascadeOutcome) -> Self {
        let n = o.initial_nav;
        VariantOutcome {
            beyond_buffer: o.sold_beyond_buffer / n,
            shortfall: o.max_unmet_redemptions / n,
            exhaustion_day: o.buffer_exhaustion_day,
            liquidation_cost: o.liquidation_cost / n,
            fire_sale_loss: o.fire_sale_loss / n,
            max_drawdown: o.max_nav_drawdown,
            gate_day: o.gate_day,
            dilution: o.dilution / n,
            redeemed: o.redeemed_dealt / n,
            less_liquid_share_end: o.less_liquid_share_end,
            illiquid_share_end: o.illiquid_share_end,
            style_drift: o.style_drift,
            final_nav_per_share: o.final_nav_per_share,
            unmet_at_end: o.unmet_at_end / n,
            queued_at_end: o.pending_shares_at_end / n,
            days_to_settle: o.days_to_settle,
        }
    }
}

/// A gate trigger's reading in one scenario, on the ungated path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TriggerOutcome {
    /// First day the trigger fires at the configured threshold.
    pub fire_day: Option<u32>,
    /// The fund's gate switched on from that day (only when it fires).
    pub gated: Option<VariantOutcome>,
}

/// The three gate triggers of issue 7, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Redemptions over the trailing 21 business days above a share of NAV.
    Redemptions,
    /// Liquidity on hand below a multiple of the redemptions pending.
    LiquidityCoverage,
    /// The market-stress composite above a level.
    MarketStress,
}

impl Trigger {
    pub const ALL: [Trigger; 3] = [
        Trigger::Redemptions,
        Trigger::LiquidityCoverage,
        Trigger::MarketStress,
    ];
}

/// One scenario's summary: a few numbers per question, no daily arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    pub id: u32,
    pub market_kind: MarketStressKind,
    pub market_severity: Severity,
    pub market_quantile: f64,
    pub redemption_kind: RedemptionShockKind,
    pub redemption_severity: Severity,
    pub redemption_quantile: f64,
    /// Exogenous requests over the horizon (the shock before feedback), share of NAV.
    pub exogenous_requests: f64,
    pub base: VariantOutcome,
    /// The base without redemption feedback.
    pub one_pass: VariantOutcome,
    /// The base with each strategy of [`STRATEGIES`].
    pub by_strategy: [VariantOutcome; 3],
    /// The base without a gate.
    pub ungated: VariantOutcome,
    /// Cumulative redemptions dealt by each of [`NEED_DAYS`] in the base run (the
    /// liquidity needs), share of initial NAV.
    pub outflows: [f64; 4],
    /// Liquidity-weighted assets by each of [`NEED_DAYS`]: cash plus what the fund could
    /// sell of each holding by then at its participation cap in the scenario's peak
    /// stress, net of that stress's spread and impact (Bouveret 2017's
    /// liquidity-weighted assets; ESMA 2020 § 42 redemption coverage ratio numerator).
    pub liquid_assets: [f64; 4],
    /// Cost of selling a representative short sovereign and liquid credit (IG) holding
    /// at the participation cap in the scenario's peak stress: the haircuts of the
    /// buffer candidates' second and third tiers.
    pub buffer_haircuts: [f64; 2],
    /// Peak of the market-stress composite (0..1) over the fund's class weights.
    pub stress_composite: f64,
    /// Ungated path: largest trailing-window redemptions (share of NAV) and the first
    /// day each [`REDEMPTION_TRIGGER_GRID`] level was crossed.
    pub peak_window_redemptions: f64,
    pub redemption_crossings: [Option<u32>; 10],
    /// Ungated path: smallest liquidity on hand / pending ratio on days with redemptions
    /// pending, and the first day it fell below each [`COVERAGE_TRIGGER_GRID`] level.
    pub min_liquidity_coverage: Option<f64>,
    pub coverage_crossings: [Option<u32>; 7],
    /// The three triggers at their configured thresholds, in [`Trigger::ALL`] order.
    pub triggers: [TriggerOutcome; 3],
    /// First day the ungated fund is in distress, if it ever is: the costs borne by
    /// remaining investors reach the distress level, or the illiquid share of its
    /// holdings passes the illiquid limit.
    pub distress_day: Option<u32>,
}

impl ScenarioOutcome {
    /// A short name for tables: "market-wide severe × model-driven extreme".
    pub fn name(&self) -> String {
        format!(
            "{} {} × {} {}",
            market_kind_name(&self.market_kind),
            severity_name(self.market_severity),
            redemption_kind_name(self.redemption_kind),
            severity_name(self.redemption_severity)
        )
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Moderate => "moderate",
        Severity::Severe => "severe",
        Severity::Extreme => "extreme",
    }
}

pub fn market_kind_name(k: &MarketStressKind) -> String {
    match k {
        MarketStressKind::MarketWide => "market-wide".into(),
        MarketStressKind::AssetClassSpecific { class } => {
            format!("{}-specific", class_name(*class))
        }
        MarketStressKind::FlightToQuality => "flight to quality".into(),
        MarketStressKind::FundingShock => "funding shock".into(),
    }
}

pub fn redemption_kind_name(k: RedemptionShockKind) -> &'static str {
    match k {
        RedemptionShockKind::Empirical => "empirical flows",
        RedemptionShockKind::ModelDriven => "model-driven",
        RedemptionShockKind::ConcentratedExit => "large-holder exits",
    }
}

/// The input name of a class, with spaces: "equity large".
pub fn class_name(c: AssetClass) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

pub fn strategy_name(s: LiquidationStrategy) -> &'static str {
    match s {
        LiquidationStrategy::Waterfall => "waterfall",
        LiquidationStrategy::Slice => "slice",
        LiquidationStrategy::Hybrid => "hybrid",
    }
}

/// Today's requests: the scenario's exogenous requests (a share of initial NAV, turned
/// into a share of the holdings not yet redeemed) plus, with feedback, the redemption
/// model's response to the fund's own liquidation losses so far (the second-round
/// effect, ESMA 2020 §§ 47–49), as a daily rate.
pub struct ScenarioDriver<'a> {
    pub exogenous: &'a [f64],
    /// Monthly redemptions per unit of drawdown; 0 switches feedback off.
    pub feedback_slope: f64,
}

impl RedemptionDriver for ScenarioDriver<'_> {
    fn requested(&self, view: &InvestorView) -> f64 {
        let remaining = (1.0 - view.redeemed_so_far).max(1e-12);
        let exogenous = self.exogenous.get(view.day).copied().unwrap_or(0.0) / remaining;
        let feedback = if self.feedback_slope > 0.0 && view.liquidation_loss > 0.0 {
            monthly_to_daily((self.feedback_slope * view.liquidation_loss).min(1.0))
        } else {
            0.0
        };
        (exogenous + feedback).min(1.0)
    }
    fn exogenous_until(&self) -> usize {
        self.exogenous.len()
    }
}

/// The per-day paths of one scenario, in reusable buffers.
#[derive(Debug, Clone, Default)]
pub struct ScenarioPaths {
    pub class_stress: Vec<[MarketStress; N_CLASSES]>,
    /// Each class's price return per day ([`crate::scenarios::class_return`]).
    pub class_returns: Vec<[f64; N_CLASSES]>,
    pub exogenous: Vec<f64>,
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

impl ScenarioPaths {
    /// Fills the paths of `spec` over `horizon` days. Exogenous requests stop after
    /// the last day with any (so a settled cascade may stop early).
    pub fn fill(&mut self, spec: &ScenarioSpec, horizon: usize) {
        self.class_stress.clear();
        self.class_returns.clear();
        self.exogenous.clear();
        let mut total_log = [0.0; N_CLASSES];
        for c in ALL_CLASSES {
            total_log[class_index(c)] = class_horizon_return(spec, c).ln_1p();
        }
        let q = (-1.0 / spec.market.recovery_half_life_days).exp2();
        let norm = (1.0 - q) / (1.0 - q.powi(horizon as i32));
        for day in 0..horizon as u32 {
            let mut row = [MarketStress::NONE; N_CLASSES];
            for c in ALL_CLASSES {
                row[class_index(c)] = market_path_for_class(spec, c, day);
            }
            self.class_stress.push(row);
            // As `class_return`, with the day weight computed once for every class.
            let w = q.powi(day as i32) * norm;
            self.class_returns.push(total_log.map(|l| (w * l).exp_m1()));
            self.exogenous.push(exogenous_redemptions(spec, day));
        }
        while self.exogenous.last() == Some(&0.0) {
            self.exogenous.pop();
        }
    }

    pub fn market(&self) -> MarketPath<'_> {
        MarketPath {
            stress: &[],
            class_returns: &self.class_returns,
            class_stress: &self.class_stress,
        }
    }
}

/// The cascades of a run, laid out once per partition.
pub struct Simulator<'r> {
    pub run: &'r LiquidityRun,
    pub base: CascadeEngine,
    pub by_strategy: [CascadeEngine; 3],
    pub ungated: CascadeEngine,
    /// The gate a trigger switches on (the fund's own, or the settings' when it has none).
    pub trigger_gate: Gate,
    pub impact: SpreadPowerImpact,
}

/// The impact model sales are charged with (Almgren et al. 2005; see the crate README).
pub const IMPACT: SpreadPowerImpact = SpreadPowerImpact::ALMGREN_2005;

impl<'r> Simulator<'r> {
    pub fn new(run: &'r LiquidityRun) -> Result<Self, CascadeError> {
        let fund = run.fund.cascade_fund();
        let terms = run
            .fund
            .terms
            .cascade_terms(run.settings.horizon_days as usize);
        let policy = |strategy| LiquidationPolicy {
            strategy,
            participation_cap: run.settings.participation_cap,
        };
        let engine =
            |terms: FundTerms, strategy| CascadeEngine::new(&fund, terms, policy(strategy));
        Ok(Simulator {
            run,
            base: engine(terms, run.settings.strategy)?,
            by_strategy: [
                engine(terms, STRATEGIES[0])?,
                engine(terms, STRATEGIES[1])?,
                engine(terms, STRATEGIES[2])?,
            ],
            ungated: engine(
                FundTerms {
                    gate: None,
                    ..terms
                },
                run.settings.strategy,
            )?,
            trigger_gate: terms.gate.unwrap_or(Gate {
                threshold: run.settings.trigger_gate_threshold,
            }),
            impact: IMPACT,
        })
    }

    fn slope(&self) -> f64 {
        if self.run.settings.feedback {
            self.run.feedback_slope
        } else {
            0.0
        }
    }

    /// The base run of `spec` with its days recorded in `ws.days` (for the report's
    /// worst scenario and the tests).
    pub fn run_recorded(
        &self,
        spec: &ScenarioSpec,
        paths: &mut ScenarioPaths,
        ws: &mut CascadeWorkspace,
    ) -> Result<CascadeOutcome, CascadeError> {
        paths.fill(spec, self.run.settings.horizon_days as usize);
        let driver = ScenarioDriver {
            exogenous: &paths.exogenous,
            feedback_slope: self.slope(),
        };
        self.base
            .run(&paths.market(), &driver, &self.impact, ws, true)
    }

    /// Every cascade of one scenario, summarised.
    pub fn evaluate(
        &self,
        spec: &ScenarioSpec,
        paths: &mut ScenarioPaths,
        ws: &mut CascadeWorkspace,
    ) -> Result<ScenarioOutcome, CascadeError> {
        let s = &self.run.settings;
        paths.fill(spec, s.horizon_days as usize);
        let market = paths.market();
        let with_feedback = ScenarioDriver {
            exogenous: &paths.exogenous,
            feedback_slope: self.slope(),
        };
        let one_pass_driver = ScenarioDriver {
            exogenous: &paths.exogenous,
            feedback_slope: 0.0,
        };
        let impact = &self.impact;
        let nav0 = self.base.initial_nav();

        // Base, recorded for the liquidity needs.
        let base = self.base.run(&market, &with_feedback, impact, ws, true)?;
        let mut outflows = [0.0; 4];
        cumulative_at(&ws.days, |d| d.dealt_value / nav0, &mut outflows);
        // A gate that never bound changed nothing: the ungated path is the base path, day
        // for day, so its trigger reading comes from the base record (saves a cascade in
        // most scenarios).
        let base_reading = base
            .gate_day
            .is_none()
            .then(|| TriggerReading::read(&ws.days, nav0, s.distress_dilution, s.illiquid_limit));

        let one_pass = self
            .base
            .run(&market, &one_pass_driver, impact, ws, false)?;
        let mut by_strategy = [VariantOutcome::from_cascade(&base); 3];
        for (k, strategy) in STRATEGIES.iter().enumerate() {
            if *strategy != s.strategy {
                let o = self.by_strategy[k].run(&market, &with_feedback, impact, ws, false)?;
                by_strategy[k] = VariantOutcome::from_cascade(&o);
            }
        }

        // Ungated, recorded: the triggers read this path.
        let (ungated, reading) = match base_reading {
            Some(reading) => (base.clone(), reading),
            None => {
                let ungated = self
                    .ungated
                    .run(&market, &with_feedback, impact, ws, true)?;
                let reading =
                    TriggerReading::read(&ws.days, nav0, s.distress_dilution, s.illiquid_limit);
                (ungated, reading)
            }
        };
        let distress_day = reading.distress_day;
        let stress_composite = self.stress_composite(&paths.class_stress[0]);

        let fire_days = [
            reading.first_window_above(s.redemption_trigger),
            reading.first_coverage_below(s.coverage_trigger),
            (stress_composite >= s.stress_trigger).then_some(0),
        ];
        let mut triggers = [TriggerOutcome {
            fire_day: None,
            gated: None,
        }; 3];
        for (k, day) in fire_days.iter().enumerate() {
            triggers[k].fire_day = *day;
            if let Some(day) = day {
                let terms = FundTerms {
                    gate: Some(self.trigger_gate),
                    gate_from_day: *day as usize,
                    ..self.ungated_terms()
                };
                let engine = self.ungated.with_terms(terms)?;
                let o = engine.run(&market, &with_feedback, impact, ws, false)?;
                triggers[k].gated = Some(VariantOutcome::from_cascade(&o));
            }
        }

        let (liquid_assets, buffer_haircuts) = self.liquid_assets(&paths.class_stress[0]);
        Ok(ScenarioOutcome {
            id: spec.id,
            market_kind: spec.market.kind,
            market_severity: spec.market.severity,
            market_quantile: spec.market.quantile,
            redemption_kind: spec.redemption.kind,
            redemption_severity: spec.redemption.severity,
            redemption_quantile: spec.redemption.quantile,
            exogenous_requests: paths.exogenous.iter().sum(),
            base: VariantOutcome::from_cascade(&base),
            one_pass: VariantOutcome::from_cascade(&one_pass),
            by_strategy,
            ungated: VariantOutcome::from_cascade(&ungated),
            outflows,
            liquid_assets,
            buffer_haircuts,
            stress_composite,
            peak_window_redemptions: reading.peak_window,
            redemption_crossings: REDEMPTION_TRIGGER_GRID.map(|x| reading.first_window_above(x)),
            min_liquidity_coverage: reading.min_coverage,
            coverage_crossings: COVERAGE_TRIGGER_GRID.map(|x| reading.first_coverage_below(x)),
            triggers,
            distress_day,
        })
    }

    fn ungated_terms(&self) -> FundTerms {
        self.run
            .fund
            .terms
            .cascade_terms(self.run.settings.horizon_days as usize)
    }

    /// The market-stress composite of a day: the mean of four normalised dimensions —
    /// depth and volume reductions, `ln(spread multiplier)/ln(20)` (20× is the issue's
    /// widest spread stress) and `(vol multiplier − 1)/5` (6× the widest volatility
    /// stress) — each weighted by the fund's invested value per class, clamped to
    /// [0, 1]. A house indicator (issue 7 asks for "a market-stress composite"); equal
    /// weights are an assumption.
    pub fn stress_composite(&self, day: &[MarketStress; N_CLASSES]) -> f64 {
        let mut weighted = 0.0;
        let mut total = 0.0;
        for h in &self.run.fund.holdings {
            let c = h.holding.asset_class;
            if c == AssetClass::Cash {
                continue;
            }
            let s = &day[class_index(c)];
            let parts = [
                s.depth_reduction.clamp(0.0, 1.0),
                s.volume_reduction.clamp(0.0, 1.0),
                (s.spread_multiplier.ln() / 20f64.ln()).clamp(0.0, 1.0),
                ((s.vol_multiplier - 1.0) / 5.0).clamp(0.0, 1.0),
            ];
            weighted += h.holding.market_value * parts.iter().sum::<f64>() / 4.0;
            total += h.holding.market_value;
        }
        if total > 0.0 {
            weighted / total
        } else {
            0.0
        }
    }

    /// Liquidity-weighted assets by each of [`NEED_DAYS`] and the two buffer-tier
    /// haircuts, in the given (peak) stress.
    fn liquid_assets(&self, day: &[MarketStress; N_CLASSES]) -> ([f64; 4], [f64; 2]) {
        let cap = self.run.settings.participation_cap;
        let nav = self.base.initial_nav();
        let mut out = [0.0; 4];
        for h in &self.run.fund.holdings {
            let h = &h.holding;
            if h.asset_class == AssetClass::Cash || h.adv.is_infinite() {
                for v in &mut out {
                    *v += h.market_value;
                }
                continue;
            }
            let stress = &day[class_index(h.asset_class)];
            let daily = cap * h.adv * (1.0 - stress.volume_reduction);
            if daily <= 0.0 {
                continue;
            }
            let cost = self.cost_at_cap(h.spread_bps, h.daily_vol, stress);
            for (k, d) in NEED_DAYS.iter().enumerate() {
                let sold = h.market_value.min(daily * f64::from(*d));
                out[k] += sold * (1.0 - cost);
            }
        }
        let tier = |class: AssetClass| {
            let d = class_defaults(class);
            self.cost_at_cap(d.spread_bps, d.daily_vol, &day[class_index(class)])
        };
        (
            out.map(|v| v / nav),
            [tier(AssetClass::ShortSovereign), tier(AssetClass::CreditIg)],
        )
    }

    fn cost_at_cap(&self, spread_bps: f64, daily_vol: f64, stress: &MarketStress) -> f64 {
        self.impact
            .cost_fraction(&SaleConditions {
                participation: self.run.settings.participation_cap,
                spread_bps: spread_bps * stress.spread_multiplier,
                daily_vol: daily_vol * stress.vol_multiplier,
                stress: *stress,
            })
            .clamp(0.0, 1.0)
    }
}

/// `out[k]` = Σ of `f(day)` over the days before [`NEED_DAYS`]`[k]` (a settled cascade's
/// missing days add nothing).
fn cumulative_at(days: &[DayRecord], f: impl Fn(&DayRecord) -> f64, out: &mut [f64; 4]) {
    let mut acc = 0.0;
    let mut k = 0;
    for d in days {
        while k < 4 && d.day >= NEED_DAYS[k] {
            out[k] = acc;
            k += 1;
        }
        acc += f(d);
    }
    while k < 4 {
        out[k] = acc;
        k += 1;
    }
}

/// The trigger indicators of one recorded (ungated) path.
struct TriggerReading {
    /// Trailing-window redemptions dealt per day, share of initial NAV.
    window: Vec<f64>,
    peak_window: f64,
    /// Liquidity on hand / pending per day (`None` on days with nothing pending).
    coverage: Vec<Option<f64>>,
    min_coverage: Option<f64>,
    distress_day: Option<u32>,
}

impl TriggerReading {
    fn read(days: &[DayRecord], nav0: f64, distress: f64, illiquid_limit: f64) -> Self {
        let mut window = Vec::with_capacity(days.len());
        let mut coverage = Vec::with_capacity(days.len());
        let mut sum = 0.0;
        let mut dilution = 0.0;
        let mut distress_day = None;
        for (t, d) in days.iter().enumerate() {
            sum += d.dealt_value;
            if t >= TRIGGER_WINDOW_DAYS {
                sum -= days[t - TRIGGER_WINDOW_DAYS].dealt_value;
            }
            window.push(sum / nav0);
            // Pending: dealt today, still owed, queued.
            let pending = d.dealt_value.max(0.0) + d.pending_value;
            coverage.push((pending > 1e-9 * nav0).then(|| d.liquid_assets / pending));
            // Costs borne by those who stay: the day's cost less what swing pricing
            // charged leavers (s·V, with V(1 − s) the dealt value).
            let swung = if d.swing_factor < 1.0 {
                d.dealt_value * d.swing_factor / (1.0 - d.swing_factor)
            } else {
                0.0
            };
            dilution += d.cost - swung;
            if distress_day.is_none()
                && (dilution >= distress * nav0 || d.illiquid_share > illiquid_limit)
            {
                distress_day = Some(d.day);
            }
        }
        let peak_window = window.iter().copied().fold(0.0, f64::max);
        let min_coverage = coverage.iter().flatten().copied().reduce(f64::min);
        TriggerReading {
            window,
            peak_window,
            coverage,
            min_coverage,
            distress_day,
        }
    }

    fn first_window_above(&self, level: f64) -> Option<u32> {
        self.window
            .iter()
            .position(|w| *w > level)
            .map(|t| t as u32)
    }

    fn first_coverage_below(&self, level: f64) -> Option<u32> {
        self.coverage
            .iter()
            .position(|c| c.is_some_and(|c| c < level))
            .map(|t| t as u32)
    }
}

#[cfg(test)]
mod tests;
