//! The liquidity workflow (issue 7): redemption cascades with feedback, buffer sizing,
//! liquidation hierarchies and gate triggers for an open-ended fund, over 1,000+
//! combined market-liquidity × redemption scenarios.
//!
//! Layers, bottom up: the vocabulary ([`types`]); the pure engines — liquidity profile
//! and SEC rule 22e-4 ([`profile`]), investors and redemptions ([`investors`]), the
//! scenario set ([`scenarios`]), the day-by-day cascade ([`cascade`]); the prepare step
//! ([`model`]); one scenario through its cascades ([`engine`]); the persona team
//! ([`personas`]); the deliverables ([`report`]). This file is the workflow behind the
//! kernel's [`WorkflowEngine`] contract; the registry lists it once.

pub mod anchors;
pub mod cascade;
pub mod engine;
pub mod investors;
pub mod model;
pub mod personas;
pub mod profile;
pub mod report;
pub mod reverse;
pub mod scenarios;
pub mod types;

use anchors::MarketAnchors;
use engine::{LiquidityRun, ScenarioOutcome, ScenarioPaths, Settings, Simulator};
use investors::{FundType, RedemptionModel};
use scenarios::{ScenarioConfig, ScenarioSpec};
use serde::{Deserialize, Serialize};
use stresslab_core::engine::{
    check_partitions, Deliverables, NarrativeDraft, PersonaRole, RunContext, WorkflowEngine,
    WorkflowInput,
};
use stresslab_core::findings::Findings;
use stresslab_core::library::MarketDataSet;
use stresslab_core::market_data::MarketData;
use stresslab_core::portfolio::{Issue, Portfolio, Rejection};
use stresslab_core::stages::MAX_PARTITIONS;
use types::LiquidationStrategy;

/// Most scenarios one run may ask for (10,000 run in seconds; the bound keeps a run's
/// memory — a few hundred bytes per scenario summary — small).
pub const MAX_SCENARIOS: u32 = 20_000;

/// Parameters of a liquidity run (`parameters` in the request, flags on the CLI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiquidityParams {
    /// Combined scenarios (`--scenarios`), at least 36 (every kind × severity).
    pub scenarios: u32,
    /// Partitions the scenarios are split into (`--partitions`).
    pub partitions: u32,
    /// Business days each cascade runs at most (`--param horizon_days=90`).
    pub horizon_days: u32,
    /// How the fund sells beyond its buffer in the base cascade: `waterfall`, `slice`
    /// or `hybrid` (`--param liquidation_strategy=waterfall`). All three are compared.
    pub liquidation_strategy: LiquidationStrategy,
    /// Most the fund sells of one holding per day, share of its stressed ADV
    /// (`--param participation_cap=0.2`).
    pub participation_cap: f64,
    /// Whether NAV losses feed back into redemptions (`--param feedback=false` gives the
    /// one-pass cascade everywhere).
    pub feedback: bool,
    /// Spearman correlation of market and redemption severities (`--param rank_correlation=0.7`).
    pub rank_correlation: f64,
    /// Share of scenarios a buffer must cover (`--param coverage_target=0.985`).
    pub coverage_target: f64,
    /// The day by which a buffer must cover the cumulative redemptions: 1, 7, 30 or 90
    /// (`--param coverage_horizon_days=30`).
    pub coverage_horizon_days: u32,
    /// Liquidity-aware constraints the optimizer checks the book against.
    pub max_illiquid: f64,
    pub min_daily_liquid: f64,
    pub max_asset_class: f64,
    pub min_score: f64,
    /// Gate trigger 1: redemptions over 21 business days above this share of NAV.
    pub redemption_trigger: f64,
    /// Gate trigger 2: liquidity on hand below this multiple of pending redemptions.
    pub coverage_trigger: f64,
    /// Gate trigger 3: the market-stress composite (0..1) at or above this level.
    pub stress_trigger: f64,
    /// Share of NAV dealt per day under a trigger-activated gate, when the fund's terms
    /// have no gate of their own.
    pub trigger_gate_threshold: f64,
    /// A scenario "needs a gate" when, ungated, the costs borne by remaining investors
    /// reach this share of NAV (or the illiquid share ends above `illiquid_limit`).
    pub distress_dilution: f64,
    /// Illiquid limit (SEC rule 22e-4(b)(1)(iv): 15%).
    pub illiquid_limit: f64,
}

impl Default for LiquidityParams {
    fn default() -> Self {
        LiquidityParams {
            scenarios: 1000,
            partitions: 4,
            horizon_days: 90,
            liquidation_strategy: LiquidationStrategy::Waterfall,
            participation_cap: 0.20,
            feedback: true,
            rank_correlation: scenarios::DEFAULT_RANK_CORRELATION,
            coverage_target: 0.985,
            coverage_horizon_days: 30,
            max_illiquid: 0.25,
            min_daily_liquid: 0.15,
            max_asset_class: 0.50,
            min_score: 3.0,
            redemption_trigger: 0.15,
            coverage_trigger: 1.2,
            stress_trigger: 0.5,
            trigger_gate_threshold: 0.10,
            distress_dilution: 0.005,
            illiquid_limit: 0.15,
        }
    }
}

impl LiquidityParams {
    pub fn settings(&self) -> Settings {
        Settings {
            horizon_days: self.horizon_days,
            strategy: self.liquidation_strategy,
            participation_cap: self.participation_cap,
            feedback: self.feedback,
            trigger_gate_threshold: self.trigger_gate_threshold,
            redemption_trigger: self.redemption_trigger,
            coverage_trigger: self.coverage_trigger,
            stress_trigger: self.stress_trigger,
            distress_dilution: self.distress_dilution,
            illiquid_limit: self.illiquid_limit,
            coverage_target: self.coverage_target,
            coverage_horizon_days: self.coverage_horizon_days,
            max_illiquid: self.max_illiquid,
            min_daily_liquid: self.min_daily_liquid,
            max_asset_class: self.max_asset_class,
            min_score: self.min_score,
        }
    }
}

fn check_range(issues: &mut Vec<Issue>, key: &str, value: f64, (lo, hi): (f64, f64), what: &str) {
    if !(value.is_finite() && value >= lo && value <= hi) {
        issues.push(Issue {
            path: format!("parameters.{key} (--param {key}=…)"),
            reason: format!("{what}: must be between {lo} and {hi}, got {value}"),
        });
    }
}

/// The liquidity team. The analyst's profile (illiquidity, scores) feeds the behaviour
/// modeler's first-mover amplification and the designer's layers; the optimizer needs
/// both the profile and the redemption needs; the policy formulator weighs the buffer
/// and the liquidation plan when it calibrates the gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiquidityPersona {
    MarketLiquidityAnalyst,
    InvestorBehaviorModeler,
    PortfolioLiquidityOptimizer,
    LiquidationStrategyDesigner,
    RedemptionPolicyFormulator,
}

impl PersonaRole for LiquidityPersona {
    const TEAM: &'static [LiquidityPersona] = &[
        LiquidityPersona::MarketLiquidityAnalyst,
        LiquidityPersona::InvestorBehaviorModeler,
        LiquidityPersona::PortfolioLiquidityOptimizer,
        LiquidityPersona::LiquidationStrategyDesigner,
        LiquidityPersona::RedemptionPolicyFormulator,
    ];
    fn name(self) -> &'static str {
        match self {
            LiquidityPersona::MarketLiquidityAnalyst => "market-liquidity-analyst",
            LiquidityPersona::InvestorBehaviorModeler => "investor-behavior-modeler",
            LiquidityPersona::PortfolioLiquidityOptimizer => "portfolio-liquidity-optimizer",
            LiquidityPersona::LiquidationStrategyDesigner => "liquidation-strategy-designer",
            LiquidityPersona::RedemptionPolicyFormulator => "redemption-policy-formulator",
        }
    }
    fn reads(self) -> &'static [LiquidityPersona] {
        use LiquidityPersona as P;
        match self {
            P::MarketLiquidityAnalyst => &[],
            P::InvestorBehaviorModeler => &[P::MarketLiquidityAnalyst],
            P::PortfolioLiquidityOptimizer => {
                &[P::MarketLiquidityAnalyst, P::InvestorBehaviorModeler]
            }
            P::LiquidationStrategyDesigner => &[P::MarketLiquidityAnalyst],
            P::RedemptionPolicyFormulator => &[
                P::InvestorBehaviorModeler,
                P::PortfolioLiquidityOptimizer,
                P::LiquidationStrategyDesigner,
            ],
        }
    }
    fn role(self) -> &'static str {
        match self {
            LiquidityPersona::MarketLiquidityAnalyst => {
                "Depth, spreads, ADV and impact per holding and class; the liquidation ladder, SEC 22e-4 buckets and 1–5 scores; the liquidity stress scenarios"
            }
            LiquidityPersona::InvestorBehaviorModeler => {
                "Investor base and concentration; the flow–performance redemption model with herding and first-mover effects; empirical and cascade redemption shocks"
            }
            LiquidityPersona::PortfolioLiquidityOptimizer => {
                "Liquidity needs at 1/7/30/90 days, redemption coverage ratios, buffer compositions and the least-cost buffer at the target coverage, liquidity constraints"
            }
            LiquidityPersona::LiquidationStrategyDesigner => {
                "Waterfall, slice and hybrid compared in the cascades; the recommended hierarchy with per-layer schedules under participation caps"
            }
            LiquidityPersona::RedemptionPolicyFormulator => {
                "Gate triggers calibrated with false-alarm and miss rates, early warnings with lead times, notice and dealing alternatives, the reverse liquidity stress test"
            }
        }
    }
}

/// One partition's result: a summary per scenario, and any scenario the cascade
/// refused (named, never silently dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityPartial {
    pub outcomes: Vec<ScenarioOutcome>,
    pub failures: Vec<ScenarioFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioFailure {
    pub id: u32,
    pub reason: String,
}

/// Every scenario's summary, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityAggregate {
    pub outcomes: Vec<ScenarioOutcome>,
    pub failures: Vec<ScenarioFailure>,
}

impl LiquidityAggregate {
    /// The worst liquidity scenario: the base cascade whose liquidation costs those who
    /// stay the most (dilution plus fire-sale marks, share of NAV; ties: more sold beyond
    /// the buffer, then the lower id). Not the largest market fall — that is the
    /// scenario's, not the fund's liquidity's doing.
    pub fn worst(&self) -> Option<&ScenarioOutcome> {
        let loss = |o: &ScenarioOutcome| o.base.dilution + o.base.fire_sale_loss;
        self.outcomes.iter().max_by(|a, b| {
            loss(a)
                .total_cmp(&loss(b))
                .then(a.base.beyond_buffer.total_cmp(&b.base.beyond_buffer))
                .then(b.id.cmp(&a.id))
        })
    }
}

/// The scenario set of a run, regenerated from its configuration (personas re-run
/// alternatives on it).
pub fn scenario_set(run: &LiquidityRun) -> Result<Vec<ScenarioSpec>, investors::InputError> {
    scenarios::generate_scenarios(&run.scenarios, &run.fund.investors, &run.redemption_model)
}

/// The liquidity workflow as a [`WorkflowEngine`].
pub struct LiquidityWorkflow;

impl WorkflowEngine for LiquidityWorkflow {
    const NAME: &'static str = "liquidity";
    /// Bump with any change that can move a number.
    const ENGINE_VERSION: &'static str = "liquidity/1";
    const DESCRIPTION: &'static str =
        "Liquidity stress: redemption cascades with feedback, buffers, liquidation hierarchy and gate triggers";
    /// Everything is in the portfolio: positions with liquidity fields, fund terms and
    /// the investor register.
    const INPUTS: &'static [WorkflowInput] = &[];
    type Params = LiquidityParams;
    type Model = LiquidityRun;
    type Scenario = ScenarioSpec;
    type Partial = LiquidityPartial;
    type Aggregate = LiquidityAggregate;
    type Persona = LiquidityPersona;

    fn check_params(p: &LiquidityParams) -> Vec<Issue> {
        let mut issues = Vec::new();
        let min = scenarios::MIN_SCENARIOS as u32;
        if !(min..=MAX_SCENARIOS).contains(&p.scenarios) {
            issues.push(Issue {
                path: "parameters.scenarios (--scenarios)".into(),
                reason: format!(
                    "must be between {min} (every market × redemption kind at every severity) and {MAX_SCENARIOS}, got {}",
                    p.scenarios
                ),
            });
        } else {
            issues.extend(check_partitions(p.partitions, p.scenarios, MAX_PARTITIONS));
        }
        if !(21..=250).contains(&p.horizon_days) {
            issues.push(Issue {
                path: "parameters.horizon_days (--param horizon_days=…)".into(),
                reason: format!(
                    "business days of each cascade: must be between 21 and 250, got {}",
                    p.horizon_days
                ),
            });
        }
        if !engine::NEED_DAYS.contains(&p.coverage_horizon_days)
            || p.coverage_horizon_days > p.horizon_days
        {
            issues.push(Issue {
                path: "parameters.coverage_horizon_days (--param coverage_horizon_days=…)".into(),
                reason: format!(
                    "must be one of 1, 7, 30, 90 and within horizon_days, got {}",
                    p.coverage_horizon_days
                ),
            });
        }
        let mut range = |key: &str, v: f64, bounds: (f64, f64), what: &str| {
            check_range(&mut issues, key, v, bounds, what)
        };
        range(
            "participation_cap",
            p.participation_cap,
            (0.01, 1.0),
            "share of stressed ADV sold per day",
        );
        range(
            "rank_correlation",
            p.rank_correlation,
            (-0.95, 0.95),
            "Spearman correlation",
        );
        range(
            "coverage_target",
            p.coverage_target,
            (0.5, 0.9999),
            "share of scenarios covered",
        );
        range("max_illiquid", p.max_illiquid, (0.0, 1.0), "share of NAV");
        range(
            "min_daily_liquid",
            p.min_daily_liquid,
            (0.0, 1.0),
            "share of NAV",
        );
        range(
            "max_asset_class",
            p.max_asset_class,
            (0.01, 1.0),
            "share of NAV",
        );
        range("min_score", p.min_score, (1.0, 5.0), "liquidity score");
        range(
            "redemption_trigger",
            p.redemption_trigger,
            (0.001, 1.0),
            "share of NAV over 21 business days",
        );
        range(
            "coverage_trigger",
            p.coverage_trigger,
            (0.1, 10.0),
            "multiple of pending redemptions",
        );
        range(
            "stress_trigger",
            p.stress_trigger,
            (0.0, 1.0),
            "composite level",
        );
        range(
            "trigger_gate_threshold",
            p.trigger_gate_threshold,
            (0.001, 1.0),
            "share of NAV dealt per day",
        );
        range(
            "distress_dilution",
            p.distress_dilution,
            (0.0001, 0.5),
            "share of NAV",
        );
        range(
            "illiquid_limit",
            p.illiquid_limit,
            (0.0, 1.0),
            "share of NAV",
        );
        issues
    }
    fn scenario_count(p: &LiquidityParams) -> u32 {
        p.scenarios
    }
    fn partition_count(p: &LiquidityParams) -> u32 {
        p.partitions
    }

    /// The market anchors of the severity bands (three-month S&P 500 return
    /// percentiles; the 2008 Baa − Aaa widening and its half-life). Unpinned runs use
    /// the bundled ones ([`MarketAnchors::BUNDLED`]); the refresh re-estimates them from
    /// the month's `moodys_aaa_baa_monthly` and `sp500_index_daily` files. The rest of
    /// the liquidity model is the fund's own (holdings, terms, investors) or a stated
    /// assumption, not market data.
    type Library = MarketAnchors;
    fn refresh(market: &MarketDataSet) -> Result<Option<MarketAnchors>, Rejection> {
        let moodys = market.latest("moodys_aaa_baa_monthly")?;
        let sp500 = market.latest("sp500_index_daily")?;
        MarketAnchors::estimate(moodys, sp500)
            .map(Some)
            .map_err(|reason| Rejection {
                issues: vec![Issue {
                    path: "market_data".into(),
                    reason: format!("liquidity anchors: {reason}"),
                }],
            })
    }

    fn prepare_with_library(
        portfolio: &Portfolio,
        _market: Option<&MarketData>,
        params: &LiquidityParams,
        seed: u64,
        library: Option<&MarketAnchors>,
    ) -> Result<(LiquidityRun, Vec<ScenarioSpec>), Rejection> {
        let fund = model::prepare(portfolio)?;
        let illiquidity = 1.0 - fund.classification.shares.highly_liquid;
        let redemption_model = RedemptionModel::default();
        let feedback_slope =
            engine::feedback_slope(&fund.investors, &redemption_model, illiquidity);
        let run = LiquidityRun {
            scenarios: ScenarioConfig {
                n_scenarios: params.scenarios as usize,
                seed,
                rank_correlation: params.rank_correlation,
                fund_type: fund.terms.peer_group.unwrap_or(FundType::Mixed),
                fund_illiquidity: illiquidity.clamp(0.0, 1.0),
                anchors: library.copied().unwrap_or(MarketAnchors::BUNDLED),
            },
            settings: params.settings(),
            redemption_model,
            feedback_slope,
            fund,
        };
        let refuse = |path: &str, reason: String| Rejection {
            issues: vec![Issue {
                path: path.into(),
                reason,
            }],
        };
        // The cascades validate the fund and terms once here, so evaluation cannot fail
        // on them later.
        Simulator::new(&run).map_err(|e| refuse("fund", e.to_string()))?;
        let set = scenario_set(&run).map_err(|e| refuse("investors", e.to_string()))?;
        Ok((run, set))
    }

    fn evaluate(run: &LiquidityRun, _first: u32, scenarios: &[ScenarioSpec]) -> LiquidityPartial {
        let mut partial = LiquidityPartial {
            outcomes: Vec::with_capacity(scenarios.len()),
            failures: Vec::new(),
        };
        let sim = match Simulator::new(run) {
            Ok(sim) => sim,
            Err(e) => {
                partial.failures = scenarios
                    .iter()
                    .map(|s| ScenarioFailure {
                        id: s.id,
                        reason: e.to_string(),
                    })
                    .collect();
                return partial;
            }
        };
        let mut paths = ScenarioPaths::default();
        let mut ws = sim.base.workspace();
        for spec in scenarios {
            match sim.evaluate(spec, &mut paths, &mut ws) {
                Ok(o) => partial.outcomes.push(o),
                Err(e) => partial.failures.push(ScenarioFailure {
                    id: spec.id,
                    reason: e.to_string(),
                }),
            }
        }
        partial
    }

    /// Every scenario's outcome is kept (the personas rank and condition on them); an
    /// outcome is a few hundred bytes, bounded by `MAX_SCENARIOS`.
    type Accumulator = LiquidityAggregate;
    fn merge_start(_run: &LiquidityRun) -> LiquidityAggregate {
        LiquidityAggregate {
            outcomes: Vec::new(),
            failures: Vec::new(),
        }
    }
    fn merge_add(_run: &LiquidityRun, agg: &mut LiquidityAggregate, p: LiquidityPartial) {
        agg.outcomes.extend(p.outcomes);
        agg.failures.extend(p.failures);
    }
    fn merge_finish(_run: &LiquidityRun, mut agg: LiquidityAggregate) -> LiquidityAggregate {
        agg.outcomes.sort_by_key(|o| o.id);
        agg.failures.sort_by_key(|f| f.id);
        agg
    }

    fn persona(
        persona: LiquidityPersona,
        run: &LiquidityRun,
        agg: &LiquidityAggregate,
        upstream: &[Findings],
    ) -> Findings {
        use LiquidityPersona as P;
        match persona {
            P::MarketLiquidityAnalyst => personas::analyst::market_liquidity_analyst(run, agg),
            P::InvestorBehaviorModeler => {
                personas::behaviour::investor_behavior_modeler(run, agg, upstream)
            }
            P::PortfolioLiquidityOptimizer => {
                personas::optimizer::portfolio_liquidity_optimizer(run, agg, upstream)
            }
            P::LiquidationStrategyDesigner => {
                personas::liquidation::liquidation_strategy_designer(run, agg, upstream)
            }
            P::RedemptionPolicyFormulator => {
                personas::policy::redemption_policy_formulator(run, agg, upstream)
            }
        }
    }

    fn narrative(
        ctx: &RunContext,
        run: &LiquidityRun,
        agg: &LiquidityAggregate,
        findings: &[Findings],
    ) -> NarrativeDraft {
        NarrativeDraft {
            facts: report::facts(ctx, run, agg, findings),
            template: report::template_narrative(ctx, run, agg, findings),
        }
    }

    fn deliverables(
        ctx: &RunContext,
        run: &LiquidityRun,
        agg: &LiquidityAggregate,
        findings: &[Findings],
        narrative: &str,
    ) -> Deliverables {
        report::render(ctx, run, agg, findings, narrative)
    }
}

#[cfg(test)]
mod tests;
