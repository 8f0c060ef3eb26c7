//! The hedging workflow (issue 8): FX, rates and credit hedge programs for a pension,
//! judged across 1,000+ volatility scenarios × Monte Carlo paths.
//!
//! Layers, bottom up: the vocabulary ([`factors`]); calibration from real history
//! ([`calibration`]); the volatility scenario set ([`scenarios`]); the path engine
//! ([`paths`], the hot loop); the book ([`book`]); full revaluation on paths
//! ([`kernels`], [`valuation`]); the desks' candidate programs ([`programs`]); one
//! partition's evaluation ([`evaluate`]); prepare ([`model`]); the cross-scenario
//! analysis ([`analysis`]); the persona team ([`personas`]); the deliverables
//! ([`report`]). This file is the workflow behind the kernel's [`WorkflowEngine`]
//! contract; the registry lists it once.

pub mod analysis;
pub mod backtest;
pub mod bench;
pub mod book;
pub mod calibration;
pub mod evaluate;
pub mod factors;
pub mod kernels;
pub mod model;
pub mod paths;
pub mod personas;
pub mod programs;
pub mod report;
pub mod scenarios;
pub mod valuation;

use evaluate::{EvalModel, HedgingPartial, ScenarioResult};
use scenarios::{ScenarioConfig, ScenarioSpec};
use serde::{Deserialize, Serialize};
use stresslab_core::engine::{
    check_partitions, Deliverables, NarrativeDraft, PersonaRole, RunContext, WorkflowEngine,
    WorkflowInput,
};
use stresslab_core::findings::Findings;
use stresslab_core::market_data::MarketData;
use stresslab_core::portfolio::{Issue, Portfolio, Rejection};
use stresslab_core::stages::MAX_PARTITIONS;

/// Scenario bounds: at least one per (regime × FX case) cell. At most 10,000: each
/// scenario keeps its statistics for every combination of desk programs (~30 KB of JSON
/// with 120 combinations), so the aggregate every persona reads grows by ~300 MB per
/// 10,000 scenarios — the budget. Runs of 100,000 need the per-combination statistics
/// reduced to mergeable sketches first (not done yet).
pub const MIN_SCENARIOS: u32 = 12;
pub const MAX_SCENARIOS: u32 = 10_000;

/// Parameters of a hedging run (`parameters` in the request, flags on the CLI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HedgingParams {
    /// Volatility scenarios (`--scenarios`).
    pub scenarios: u32,
    /// Partitions the scenarios are split into (`--partitions`).
    pub partitions: u32,
    /// Monte Carlo paths per scenario (`--param paths=1000`).
    pub paths: u32,
    /// Business days to the horizon (`--param horizon_days=252`), at most one year.
    pub horizon_days: u32,
    /// Hedging objective: funded ratio at or above this (`--param funded_ratio_floor=0.85`).
    pub funded_ratio_floor: f64,
    /// Hedging objective: funding-ratio volatility below this, annualised.
    pub max_funding_ratio_vol: f64,
    /// Hedging objective: program cost at most this many bp of assets a year.
    pub max_cost_bp: f64,
    /// Every range of the scenario design (vol ranges, correlations, shares), each
    /// overridable (`--param 'scenario_ranges={"equity_vol":{"min":0.1,"max":0.6}}'`).
    pub scenario_ranges: ScenarioConfig,
}

impl Default for HedgingParams {
    fn default() -> Self {
        HedgingParams {
            scenarios: 1000,
            partitions: 4,
            paths: 1000,
            horizon_days: 252,
            funded_ratio_floor: 0.85,
            max_funding_ratio_vol: 0.08,
            max_cost_bp: 25.0,
            scenario_ranges: ScenarioConfig::default(),
        }
    }
}

/// The hedging team. The risk manager sets exposures and objectives; the three desk
/// specialists judge their candidates in parallel; the execution strategist plans the
/// trades of the programs they recommend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HedgingPersona {
    PortfolioRiskManager,
    CurrencyRiskSpecialist,
    InterestRateStrategist,
    CreditExposureAnalyst,
    ExecutionStrategist,
}

impl PersonaRole for HedgingPersona {
    const TEAM: &'static [HedgingPersona] = &[
        HedgingPersona::PortfolioRiskManager,
        HedgingPersona::CurrencyRiskSpecialist,
        HedgingPersona::InterestRateStrategist,
        HedgingPersona::CreditExposureAnalyst,
        HedgingPersona::ExecutionStrategist,
    ];
    fn name(self) -> &'static str {
        match self {
            HedgingPersona::PortfolioRiskManager => "portfolio-risk-manager",
            HedgingPersona::CurrencyRiskSpecialist => "currency-risk-specialist",
            HedgingPersona::InterestRateStrategist => "interest-rate-strategist",
            HedgingPersona::CreditExposureAnalyst => "credit-exposure-analyst",
            HedgingPersona::ExecutionStrategist => "execution-strategist",
        }
    }
    fn reads(self) -> &'static [HedgingPersona] {
        use HedgingPersona as P;
        match self {
            P::PortfolioRiskManager => &[],
            P::CurrencyRiskSpecialist | P::InterestRateStrategist | P::CreditExposureAnalyst => {
                &[P::PortfolioRiskManager]
            }
            P::ExecutionStrategist => &[
                P::CurrencyRiskSpecialist,
                P::InterestRateStrategist,
                P::CreditExposureAnalyst,
            ],
        }
    }
    fn role(self) -> &'static str {
        match self {
            HedgingPersona::PortfolioRiskManager => {
                "Exposures by factor, currency, maturity and rating; surplus VaR/CVaR, funding-ratio volatility, shortfall probability and drawdowns per scenario; critical exposures and hedging objectives"
            }
            HedgingPersona::CurrencyRiskSpecialist => {
                "FX forward hedge ratios and option overlays judged across every scenario: effectiveness, cost, tail-loss reduction"
            }
            HedgingPersona::InterestRateStrategist => {
                "Key-rate matched swap strips and swaption collars; deterministic curve shocks; effectiveness, cost, tail-loss reduction"
            }
            HedgingPersona::CreditExposureAnalyst => {
                "Index and single-name CDS against the credit book's spread risk: effectiveness, cost, tail-loss reduction"
            }
            HedgingPersona::ExecutionStrategist => {
                "Per-instrument liquidity and impact; immediate, phased, opportunistic and volatility-adaptive execution under volume and impact limits; the sequenced plan"
            }
        }
    }
}

/// The merged partitions: one result per scenario, pooled histograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgingAggregate {
    pub results: Vec<ScenarioResult>,
    pub fr_histograms: Vec<Vec<u32>>,
    pub failures: Vec<(u32, String)>,
}

/// The run's model: the evaluation model plus the run's objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HedgingRun {
    pub eval: EvalModel,
    pub params: HedgingParams,
}

pub struct HedgingWorkflow;

fn issue(path: &str, reason: String) -> Issue {
    Issue {
        path: path.into(),
        reason,
    }
}

impl WorkflowEngine for HedgingWorkflow {
    const NAME: &'static str = "hedging";
    /// Bump with any change that can move a number.
    const ENGINE_VERSION: &'static str = "hedging/2";
    const DESCRIPTION: &'static str =
        "Hedge programs (FX, rates, credit) for a pension judged across volatility scenarios × Monte Carlo paths";
    /// Everything is in the portfolio: assets, liabilities and the market snapshot; the
    /// calibration data are compiled in.
    const INPUTS: &'static [WorkflowInput] = &[];
    type Params = HedgingParams;
    type Model = HedgingRun;
    type Scenario = ScenarioSpec;
    type Partial = HedgingPartial;
    type Aggregate = HedgingAggregate;
    type Persona = HedgingPersona;

    fn check_params(p: &HedgingParams) -> Vec<Issue> {
        let mut issues = Vec::new();
        if !(MIN_SCENARIOS..=MAX_SCENARIOS).contains(&p.scenarios) {
            issues.push(issue(
                "parameters.scenarios (--scenarios)",
                format!(
                    "must be between {MIN_SCENARIOS} (one per correlation regime × FX case) and {MAX_SCENARIOS}, got {}",
                    p.scenarios
                ),
            ));
        } else {
            issues.extend(check_partitions(p.partitions, p.scenarios, MAX_PARTITIONS));
        }
        if !(100..=10_000).contains(&p.paths) {
            issues.push(issue(
                "parameters.paths (--param paths=…)",
                format!(
                    "Monte Carlo paths per scenario: must be between 100 and 10000, got {}",
                    p.paths
                ),
            ));
        }
        if !(21..=252).contains(&p.horizon_days) {
            issues.push(issue(
                "parameters.horizon_days (--param horizon_days=…)",
                format!(
                    "business days to the horizon: between 21 and 252 (the programs are one-year programs), got {}",
                    p.horizon_days
                ),
            ));
        }
        let mut range = |key: &str, v: f64, (lo, hi): (f64, f64), what: &str| {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                issues.push(issue(
                    &format!("parameters.{key} (--param {key}=…)"),
                    format!("{what}: must be between {lo} and {hi}, got {v}"),
                ));
            }
        };
        range(
            "funded_ratio_floor",
            p.funded_ratio_floor,
            (0.3, 1.5),
            "funded ratio",
        );
        range(
            "max_funding_ratio_vol",
            p.max_funding_ratio_vol,
            (0.001, 1.0),
            "annualised funding-ratio volatility",
        );
        range(
            "max_cost_bp",
            p.max_cost_bp,
            (0.0, 1000.0),
            "bp of assets a year",
        );
        if let Err(e) = p.scenario_ranges.validate() {
            issues.push(issue("parameters.scenario_ranges", e.to_string()));
        }
        issues
    }
    fn scenario_count(p: &HedgingParams) -> u32 {
        p.scenarios
    }
    fn partition_count(p: &HedgingParams) -> u32 {
        p.partitions
    }

    fn prepare(
        portfolio: &Portfolio,
        _market: Option<&MarketData>,
        params: &HedgingParams,
        seed: u64,
    ) -> Result<(HedgingRun, Vec<ScenarioSpec>), Rejection> {
        let (eval, specs) = model::prepare(
            portfolio,
            &model::RunSettings {
                scenarios: params.scenarios,
                paths: params.paths,
                horizon_days: params.horizon_days,
                funded_ratio_floor: params.funded_ratio_floor,
                config: &params.scenario_ranges,
                seed,
            },
        )?;
        Ok((
            HedgingRun {
                eval,
                params: params.clone(),
            },
            specs,
        ))
    }

    fn evaluate(run: &HedgingRun, _first: u32, scenarios: &[ScenarioSpec]) -> HedgingPartial {
        evaluate::evaluate_slice(&run.eval, scenarios)
    }

    fn merge(run: &HedgingRun, partials: Vec<HedgingPartial>) -> HedgingAggregate {
        let combos = run.eval.combos();
        let mut agg = HedgingAggregate {
            results: Vec::new(),
            fr_histograms: vec![vec![0; evaluate::FR_HIST_BINS + 2]; combos],
            failures: Vec::new(),
        };
        for p in partials {
            agg.results.extend(p.results);
            agg.failures.extend(p.failures);
            for (acc, h) in agg.fr_histograms.iter_mut().zip(&p.fr_histograms) {
                for (a, b) in acc.iter_mut().zip(h) {
                    *a += b;
                }
            }
        }
        agg.results.sort_by_key(|r| r.id);
        agg.failures.sort_by_key(|f| f.0);
        agg
    }

    fn persona(
        persona: HedgingPersona,
        run: &HedgingRun,
        agg: &HedgingAggregate,
        upstream: &[Findings],
    ) -> Findings {
        personas::persona(persona, run, agg, upstream)
    }

    fn narrative(
        ctx: &RunContext,
        run: &HedgingRun,
        agg: &HedgingAggregate,
        findings: &[Findings],
    ) -> NarrativeDraft {
        NarrativeDraft {
            facts: report::facts(ctx, run, agg, findings),
            template: report::template_narrative(run, agg),
        }
    }

    fn deliverables(
        ctx: &RunContext,
        run: &HedgingRun,
        agg: &HedgingAggregate,
        findings: &[Findings],
        narrative: &str,
    ) -> Deliverables {
        report::render(ctx, run, agg, findings, narrative)
    }
}
