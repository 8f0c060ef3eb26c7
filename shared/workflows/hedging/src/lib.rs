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

use calibration::{calibrate, Calibration, CalibrationInputs};
use evaluate::{EvalModel, HedgingResults};

/// The run's results: per-scenario summaries and mergeable distributions across
/// scenarios (a partition's result has the same shape; merging is adding).
pub type HedgingAggregate = HedgingResults;
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

/// Scenario bounds: at least one per (regime × FX case) cell; at most 100,000. The
/// aggregate keeps ~0.5 KB of JSON per scenario (its design point and the unhedged
/// statistics: ~50 MB at the cap) plus the combinations' and programs' distributions,
/// whose size is bounded by their grids whatever the count; compute time is linear
/// (~15 ms per scenario per core at 1,000 paths).
pub const MIN_SCENARIOS: u32 = 12;
pub const MAX_SCENARIOS: u32 = 100_000;

/// Partitions of one run. The scenario fan-out is a Step Functions Distributed Map over
/// the partition plan carried in the state: each item is ~80 bytes, so 2,000 of them
/// stay well inside the 256 KiB state cap (tested in tests/harness); 2,000 partitions of
/// 50 scenarios each reach the 100,000-scenario cap with each child under a minute.
pub const MAX_PARTITIONS: u32 = 2_000;

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
    /// calibration data are compiled in (or pinned from a scenario library).
    const INPUTS: &'static [WorkflowInput] = &[];
    /// The calibration (FX GJR fits and correlations, zero-curve PCA, Baa − Aaa, S&P
    /// 500 GJR + regime): what an unpinned run measures from the bundled history.
    type Library = Calibration;
    type Params = HedgingParams;
    type Model = HedgingRun;
    type Scenario = ScenarioSpec;
    type Partial = HedgingResults;
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

    /// The same four histories the bundled calibration reads, from the refresh's
    /// market data: each `<stem>.csv` or `<stem>_<years>.csv`, the latest by its years.
    fn refresh(market: &MarketDataSet) -> Result<Option<Calibration>, Rejection> {
        let (fx_name, fx) = market.latest("fx_daily")?;
        let (zero_name, zero) = market.latest("us_zero_yields_monthly")?;
        let (moodys_name, moodys) = market.latest("moodys_aaa_baa_monthly")?;
        let (sp_name, sp) = market.latest("sp500_index_daily")?;
        let inputs = CalibrationInputs {
            fx_daily: (fx_name, fx),
            zero_yields: (zero_name, zero),
            moodys: (moodys_name, moodys),
            sp500: (sp_name, sp),
        };
        calibrate(&inputs).map(Some).map_err(|e| Rejection {
            issues: vec![issue("market_data", format!("hedging calibration: {e}"))],
        })
    }

    fn prepare_with_library(
        portfolio: &Portfolio,
        _market: Option<&MarketData>,
        params: &HedgingParams,
        seed: u64,
        library: Option<&Calibration>,
    ) -> Result<(HedgingRun, Vec<ScenarioSpec>), Rejection> {
        let (eval, specs) = model::prepare(
            portfolio,
            &model::RunSettings {
                scenarios: params.scenarios,
                paths: params.paths,
                horizon_days: params.horizon_days,
                funded_ratio_floor: params.funded_ratio_floor,
                max_funding_ratio_vol: params.max_funding_ratio_vol,
                config: &params.scenario_ranges,
                seed,
            },
            library,
        )?;
        Ok((
            HedgingRun {
                eval,
                params: params.clone(),
            },
            specs,
        ))
    }

    fn evaluate(run: &HedgingRun, _first: u32, scenarios: &[ScenarioSpec]) -> HedgingResults {
        evaluate::evaluate_slice(&run.eval, scenarios)
    }

    type Accumulator = HedgingResults;
    fn merge_start(run: &HedgingRun) -> HedgingResults {
        HedgingResults::empty(&run.eval)
    }
    fn merge_add(_run: &HedgingRun, acc: &mut HedgingResults, partial: HedgingResults) {
        acc.merge(partial);
    }
    fn merge_finish(_run: &HedgingRun, mut acc: HedgingResults) -> HedgingResults {
        acc.finish();
        acc
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
        let integration = report::integration(run, agg);
        NarrativeDraft {
            facts: report::facts(ctx, run, agg, integration.as_ref(), findings),
            template: report::template_narrative(run, agg, integration.as_ref()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{VolDimension, FR_RESOLUTION};
    use stresslab_analytics::stats::quantile;

    fn small_run() -> (HedgingRun, Vec<ScenarioSpec>) {
        let params = HedgingParams {
            scenarios: 24,
            partitions: 3,
            paths: 200,
            horizon_days: 63,
            ..HedgingParams::default()
        };
        assert!(HedgingWorkflow::check_params(&params).is_empty());
        HedgingWorkflow::prepare(&crate::book::tests::seed(), None, &params, 11).unwrap()
    }

    /// Merging is adding: however the scenarios are split, the merged results are the
    /// same bits as one partition holding them all.
    #[test]
    fn results_do_not_depend_on_the_partitioning() {
        let (run, specs) = small_run();
        let whole = HedgingWorkflow::merge(&run, vec![HedgingWorkflow::evaluate(&run, 0, &specs)]);
        let parts: Vec<HedgingResults> = [&specs[..5], &specs[5..17], &specs[17..]]
            .into_iter()
            .rev()
            .map(|s| HedgingWorkflow::evaluate(&run, s[0].id, s))
            .collect();
        let split = HedgingWorkflow::merge(&run, parts);
        assert_eq!(split, whole);
        assert_eq!(whole.scenarios.len(), 24);
        assert!(whole.scenarios.windows(2).all(|w| w[0].id() < w[1].id()));
        let json = serde_json::to_vec(&whole).unwrap();
        let back: HedgingResults = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, whole);
    }

    /// The distributions answer what the per-scenario figures would: the unhedged
    /// combination's statistics are also kept per scenario, so its medians can be
    /// checked against the exact ones (within half a grid step), its extremes exactly,
    /// its objective count exactly.
    #[test]
    fn distributions_agree_with_the_per_scenario_figures() {
        let (run, specs) = small_run();
        let agg = HedgingWorkflow::merge(&run, vec![HedgingWorkflow::evaluate(&run, 0, &specs)]);
        let u = &agg.combos[run.eval.combo(0, 0, 0)];
        let exact = |f: &dyn Fn(&evaluate::ComboStats) -> f32| {
            let mut v: Vec<f64> = agg
                .scenarios
                .iter()
                .map(|s| f64::from(f(&s.unhedged)))
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let cvar = exact(&|c| c.fr_cvar95);
        assert!((u.fr_cvar95.median() - quantile(&cvar, 0.5)).abs() <= FR_RESOLUTION / 2.0 + 1e-12);
        assert_eq!(u.fr_cvar95.min(), cvar[0]);
        let vol = exact(&|c| c.fr_vol);
        assert!((u.fr_vol().median() - quantile(&vol, 0.5)).abs() <= FR_RESOLUTION / 2.0 + 1e-12);
        assert_eq!(u.fr_vol().max(), vol[vol.len() - 1]);
        let meeting = vol
            .iter()
            .filter(|&&v| v < run.params.max_funding_ratio_vol)
            .count();
        assert_eq!(u.share_meeting_vol_target(), meeting as f64 / 24.0);
        // Terciles of the design hold a third of the scenarios each (24 → 8, 8, 8).
        let per_tercile: Vec<u64> = u.fr_vol_by_equity_tercile.iter().map(|s| s.len()).collect();
        assert_eq!(per_tercile, vec![8, 8, 8]);
        for s in &agg.scenarios {
            let b = run.eval.terciles.bucket(VolDimension::Equity, &s.spec);
            let [t1, t2] = run.eval.terciles.cuts[3];
            let v = s.spec.equity_vol;
            assert_eq!(b, usize::from(v > t1) + usize::from(v > t2));
        }
    }

    /// The integration's "best in the median scenario" re-evaluates that scenario: the
    /// recomputed unhedged statistics are the stored ones, bit for bit (evaluation is a
    /// pure function of model and scenario), and the median scenario is the one with
    /// the median unhedged FR vol.
    #[test]
    fn the_median_scenario_is_recomputed_exactly() {
        let (run, specs) = small_run();
        let agg = HedgingWorkflow::merge(&run, vec![HedgingWorkflow::evaluate(&run, 0, &specs)]);
        let i = analysis::integrate(&run.eval, &agg, run.params.max_cost_bp).unwrap();
        let stored = agg
            .scenarios
            .iter()
            .find(|s| s.id() == i.median_scenario)
            .unwrap();
        let below = agg
            .scenarios
            .iter()
            .filter(|s| s.unhedged.fr_vol < stored.unhedged.fr_vol)
            .count();
        assert_eq!(below, 11, "lower median of 24");
        let mut hist = vec![vec![0; evaluate::FR_HIST_BINS + 2]; run.eval.combos()];
        let again = evaluate::evaluate_scenario(
            &run.eval,
            &stored.spec,
            &mut evaluate::Workspace::default(),
            &mut hist,
        )
        .unwrap();
        assert_eq!(again.combos[i.unhedged], stored.unhedged);
        // The median-best choice is the affordable combination with the best tail FR there.
        let best = (0..run.eval.combos())
            .filter(|&k| i.combos[k].affordable)
            .map(|k| again.combos[k].fr_cvar95)
            .fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(again.combos[i.median_best].fr_cvar95, best);
    }
}

#[cfg(test)]
mod fan_out_tests {
    use super::*;
    use stresslab_core::api::{PartitionPlan, PartitionTask, WorkflowName};

    /// The Distributed Map reads its items from the state (ItemsPath): the partition
    /// plan of the largest run must stay inside Step Functions' 256 KiB state cap.
    #[test]
    fn the_largest_partition_plan_fits_the_state_cap() {
        let run_id = format!("hedging-{}", "f".repeat(20));
        let workflow = WorkflowName::new(HedgingWorkflow::NAME);
        let plan = PartitionPlan {
            run_id: run_id.clone(),
            workflow: workflow.clone(),
            scenario_count: MAX_SCENARIOS,
            partitions: (0..MAX_PARTITIONS)
                .map(|partition| PartitionTask {
                    run_id: run_id.clone(),
                    workflow: workflow.clone(),
                    partition,
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&plan).unwrap().len();
        assert!(bytes < 200 * 1024, "{bytes} bytes: too close to 256 KiB");
        let most = HedgingParams {
            scenarios: MAX_SCENARIOS,
            partitions: MAX_PARTITIONS,
            ..HedgingParams::default()
        };
        assert!(HedgingWorkflow::check_params(&most).is_empty());
        let too_many = HedgingParams {
            partitions: MAX_PARTITIONS + 1,
            ..most
        };
        let issues = HedgingWorkflow::check_params(&too_many);
        assert!(issues[0].path.contains("--partitions"), "{issues:?}");
    }
}
