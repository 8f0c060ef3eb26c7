//! The factor-model breakdown workflow: estimate the book's factor exposures, stress
//! them over a few hundred scenarios of four kinds, and hand the loss distribution to
//! four persona agents (modeling, risk decomposition, regime, optimisation).
//!
//! This crate is the whole workflow behind the kernel's [`WorkflowEngine`] contract;
//! the registry lists it once.

pub mod aggregate;
pub mod instruments;
pub mod library;
pub mod model;
pub mod personas;
pub mod report;
pub mod results;
pub mod scenarios;

use model::FactorModel;
use scenarios::{NonFactorShock, Scenario, ScenarioKind};
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

/// P&L of one scenario, split into what each factor and the residual contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    pub id: u32,
    pub kind: ScenarioKind,
    pub name: String,
    /// P&L of the book in its base currency (negative = loss).
    pub pnl: f64,
    /// P&L from each factor, in model order.
    pub factor_pnl: Vec<f64>,
    /// P&L from non-factor (residual / fire-sale) returns.
    pub residual_pnl: f64,
    /// The scenario's horizon: 1 for a one-month move, the episode's length for a
    /// compounded historical episode. Figures never pool different horizons.
    pub horizon_months: u32,
    /// Synthetic kinds: the historically calibrated severity of the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<scenarios::Severity>,
    /// Plausibility of the factor move: Mahalanobis distance under the normal and the
    /// stressed covariance (scaled to the horizon), and for one-month moves the share of
    /// history months at least as far out.
    pub mahalanobis_normal: f64,
    pub mahalanobis_stressed: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_exceedance: Option<f64>,
    /// Correlation breakdowns: loss minus the loss of the same market shock with the
    /// same vols under the normal correlations — what the correlations alone add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_effect: Option<f64>,
}

impl ScenarioOutcome {
    pub fn loss(&self) -> f64 {
        -self.pnl
    }
}

/// Parameters of a factor run (`parameters` in the request, flags on the CLI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FactorParams {
    /// Number of stress scenarios (`--scenarios`).
    pub scenarios: u32,
    /// Number of partitions the scenarios are split into (`--partitions`).
    pub partitions: u32,
    /// Largest share of stressed risk one factor (or sector, or position) may carry
    /// before the risk-decomposition engineer flags it
    /// (`--param factor_concentration_limit=0.25`).
    pub factor_concentration_limit: f64,
    /// Largest share of the mean loss in the worst 5% of one-month scenarios one source
    /// may carry before it is flagged (`--param conditional_contribution_limit=0.4`).
    pub conditional_contribution_limit: f64,
    /// Re-optimised books: long-only (`--param optimisation_long_only=true`).
    pub optimisation_long_only: bool,
    /// Largest weight of one position (`--param optimisation_max_weight=0.10`).
    pub optimisation_max_weight: f64,
    /// One-way turnover limit vs today's weights (`--param optimisation_turnover=0.30`).
    pub optimisation_turnover: f64,
    /// Style betas within ± this of today's book (`--param optimisation_style_beta_band=0.25`).
    pub optimisation_style_beta_band: f64,
    /// Market beta bounds (`--param optimisation_market_beta_min=0.8`, `..._max=1.1`).
    pub optimisation_market_beta_min: f64,
    pub optimisation_market_beta_max: f64,
}

impl FactorParams {
    /// The re-optimisation constraints these parameters describe.
    pub fn optimisation_limits(&self) -> model::OptimisationLimits {
        model::OptimisationLimits {
            long_only: self.optimisation_long_only,
            max_weight: self.optimisation_max_weight,
            turnover: self.optimisation_turnover,
            style_beta_band: self.optimisation_style_beta_band,
            market_beta_min: self.optimisation_market_beta_min,
            market_beta_max: self.optimisation_market_beta_max,
        }
    }
}

/// Bounds of the re-optimisation parameters, each issue naming its CLI flag.
fn check_optimisation_params(params: &FactorParams) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut check = |key: &str, value: f64, lo: f64, hi: f64, what: &str| {
        if !(value.is_finite() && value >= lo && value <= hi) {
            issues.push(Issue {
                path: format!("parameters.{key} (--param {key}=…)"),
                reason: format!("{what}: must be between {lo} and {hi}, got {value}"),
            });
        }
    };
    check(
        "optimisation_max_weight",
        params.optimisation_max_weight,
        1e-4,
        1.0,
        "largest weight of one position, a fraction of the book",
    );
    check(
        "optimisation_turnover",
        params.optimisation_turnover,
        0.0,
        1.0,
        "one-way turnover, a fraction of the book",
    );
    check(
        "optimisation_style_beta_band",
        params.optimisation_style_beta_band,
        0.0,
        5.0,
        "allowed change of each style beta",
    );
    check(
        "optimisation_market_beta_min",
        params.optimisation_market_beta_min,
        -5.0,
        5.0,
        "lowest market beta",
    );
    check(
        "optimisation_market_beta_max",
        params.optimisation_market_beta_max,
        -5.0,
        5.0,
        "highest market beta",
    );
    if issues.is_empty()
        && params.optimisation_market_beta_min > params.optimisation_market_beta_max
    {
        issues.push(Issue {
            path:
                "parameters.optimisation_market_beta_min (--param optimisation_market_beta_min=…)"
                    .into(),
            reason: format!(
                "must not exceed optimisation_market_beta_max ({} > {})",
                params.optimisation_market_beta_min, params.optimisation_market_beta_max
            ),
        });
    }
    issues
}

impl Default for FactorParams {
    fn default() -> Self {
        let limits = model::ConcentrationLimits::default();
        let optimisation = model::OptimisationLimits::default();
        FactorParams {
            scenarios: scenarios::DEFAULT_SCENARIOS,
            partitions: 4,
            factor_concentration_limit: limits.factor_share,
            conditional_contribution_limit: limits.conditional_share,
            optimisation_long_only: optimisation.long_only,
            optimisation_max_weight: optimisation.max_weight,
            optimisation_turnover: optimisation.turnover,
            optimisation_style_beta_band: optimisation.style_beta_band,
            optimisation_market_beta_min: optimisation.market_beta_min,
            optimisation_market_beta_max: optimisation.market_beta_max,
        }
    }
}

/// The factor team. The optimisation strategist reads the risk-decomposition
/// engineer's VaR figures for its "before" column and the regime analyst's regime
/// covariances for its worst-case optimiser; the other three are independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactorPersona {
    FactorModelingSpecialist,
    RiskDecompositionEngineer,
    MarketRegimeAnalyst,
    PortfolioOptimizationStrategist,
}

impl PersonaRole for FactorPersona {
    const TEAM: &'static [FactorPersona] = &[
        FactorPersona::FactorModelingSpecialist,
        FactorPersona::RiskDecompositionEngineer,
        FactorPersona::MarketRegimeAnalyst,
        FactorPersona::PortfolioOptimizationStrategist,
    ];
    fn name(self) -> &'static str {
        match self {
            FactorPersona::FactorModelingSpecialist => "factor-modeling-specialist",
            FactorPersona::RiskDecompositionEngineer => "risk-decomposition-engineer",
            FactorPersona::MarketRegimeAnalyst => "market-regime-analyst",
            FactorPersona::PortfolioOptimizationStrategist => "portfolio-optimization-strategist",
        }
    }
    fn reads(self) -> &'static [FactorPersona] {
        match self {
            FactorPersona::PortfolioOptimizationStrategist => &[
                FactorPersona::RiskDecompositionEngineer,
                FactorPersona::MarketRegimeAnalyst,
            ],
            _ => &[],
        }
    }
    fn role(self) -> &'static str {
        match self {
            FactorPersona::FactorModelingSpecialist => {
                "Factor exposures, R² and covariance shrinkage of the book"
            }
            FactorPersona::RiskDecompositionEngineer => {
                "Normal vs stressed VaR/ES; marginal, component and incremental risk by factor, sector and position; tail contributions, concentration flags, drawdowns, reverse stress"
            }
            FactorPersona::MarketRegimeAnalyst => {
                "Gaussian HMM regimes of the factors (K by BIC), stress early warning, the book by regime, factor crowding"
            }
            FactorPersona::PortfolioOptimizationStrategist => {
                "The market hedge and re-optimised books (minimum CVaR, minimum variance, risk parity, maximum diversification, worst case over regimes), judged in and out of sample, with a phased plan"
            }
        }
    }
}

/// The factor workflow as a [`WorkflowEngine`].
pub struct FactorWorkflow;

impl WorkflowEngine for FactorWorkflow {
    const NAME: &'static str = "factor";
    /// Bump with any change that can move a number.
    const ENGINE_VERSION: &'static str = "factor/4";
    const DESCRIPTION: &'static str =
        "Factor-model breakdown: correlation breakdowns, regime shifts, style rotations, crowding";
    /// Factor and asset return history: exposures, covariances and replays come from it.
    const INPUTS: &'static [WorkflowInput] = &[WorkflowInput::MarketData];
    type Params = FactorParams;
    type Model = FactorModel;
    type Scenario = Scenario;
    type Partial = Vec<ScenarioOutcome>;
    type Aggregate = aggregate::FactorAggregate;
    type Persona = FactorPersona;

    fn check_params(params: &FactorParams) -> Vec<Issue> {
        let mut issues = Vec::new();
        let (min, max) = (scenarios::MIN_SCENARIOS, scenarios::MAX_SCENARIOS);
        if !(min..=max).contains(&params.scenarios) {
            issues.push(Issue {
                path: "parameters.scenarios (--scenarios)".into(),
                reason: format!("must be between {min} and {max}, got {}", params.scenarios),
            });
        }
        for (key, value) in [
            (
                "factor_concentration_limit",
                params.factor_concentration_limit,
            ),
            (
                "conditional_contribution_limit",
                params.conditional_contribution_limit,
            ),
        ] {
            // A share: above 0 (a zero limit flags everything) and at most 1.
            if !(value > 0.0 && value <= 1.0) {
                issues.push(Issue {
                    path: format!("parameters.{key} (--param {key}=…)"),
                    reason: format!(
                        "must be a share of risk above 0 and at most 1 (0.25 = 25%), got {value}"
                    ),
                });
            }
        }
        // The partition bound depends on the scenario count: only check it against a
        // valid one, or one mistake would be reported twice.
        if !issues
            .iter()
            .any(|i| i.path.starts_with("parameters.scenarios"))
        {
            issues.extend(check_partitions(
                params.partitions,
                params.scenarios,
                MAX_PARTITIONS,
            ));
        }
        issues.extend(check_optimisation_params(params));
        issues
    }
    fn scenario_count(params: &FactorParams) -> u32 {
        params.scenarios
    }
    fn partition_count(params: &FactorParams) -> u32 {
        params.partitions
    }

    /// The month's market-wide history (factors, risk-free rate, label and hedge
    /// instrument columns) and its estimation-window covariances; see [`library`].
    type Library = library::FactorLibrary;
    fn refresh(market: &MarketDataSet) -> Result<Option<library::FactorLibrary>, Rejection> {
        library::FactorLibrary::refresh(market).map(Some)
    }

    fn prepare_with_library(
        portfolio: &Portfolio,
        market: Option<&MarketData>,
        params: &FactorParams,
        seed: u64,
        library: Option<&library::FactorLibrary>,
    ) -> Result<(FactorModel, Vec<Scenario>), Rejection> {
        let Some(market) = market else {
            return Err(Rejection {
                issues: vec![Issue {
                    path: "market_data".into(),
                    reason: "the factor workflow needs market data: set market_data in the portfolio or pass it with the request (--market-data)".into(),
                }],
            });
        };
        let mut model = match library {
            Some(lib) => {
                let pinned = lib.market(Some(market))?;
                let model = model::estimate(portfolio, &pinned)?;
                lib.check(&model)?;
                model
            }
            None => model::estimate(portfolio, market)?,
        };
        model.limits = model::ConcentrationLimits {
            factor_share: params.factor_concentration_limit,
            conditional_share: params.conditional_contribution_limit,
        };
        model.optimisation = params.optimisation_limits();
        let set = scenarios::generate(&model, params.scenarios, seed);
        Ok((model, set))
    }

    fn evaluate(model: &FactorModel, _first: u32, scenarios: &[Scenario]) -> Vec<ScenarioOutcome> {
        scenarios
            .iter()
            .map(|s| evaluate_scenario(model, s))
            .collect()
    }

    /// The factor aggregate needs every scenario's outcome at once (rankings, reverse
    /// stress); outcomes are a few numbers each, bounded by `MAX_SCENARIOS`.
    type Accumulator = Vec<ScenarioOutcome>;
    fn merge_start(_model: &FactorModel) -> Vec<ScenarioOutcome> {
        Vec::new()
    }
    fn merge_add(
        _model: &FactorModel,
        acc: &mut Vec<ScenarioOutcome>,
        partial: Vec<ScenarioOutcome>,
    ) {
        acc.extend(partial);
    }
    fn merge_finish(model: &FactorModel, acc: Vec<ScenarioOutcome>) -> aggregate::FactorAggregate {
        aggregate::merge(model, acc)
    }

    fn persona(
        persona: FactorPersona,
        model: &FactorModel,
        agg: &aggregate::FactorAggregate,
        upstream: &[Findings],
    ) -> Findings {
        match persona {
            FactorPersona::FactorModelingSpecialist => personas::factor_modeling_specialist(model),
            FactorPersona::RiskDecompositionEngineer => {
                personas::risk_decomposition_engineer(model, agg)
            }
            FactorPersona::MarketRegimeAnalyst => personas::market_regime_analyst(model),
            FactorPersona::PortfolioOptimizationStrategist => {
                personas::portfolio_optimization_strategist(
                    model,
                    agg,
                    upstream.first(),
                    upstream.get(1),
                )
            }
        }
    }

    fn narrative(
        run: &RunContext,
        model: &FactorModel,
        agg: &aggregate::FactorAggregate,
        findings: &[Findings],
    ) -> NarrativeDraft {
        NarrativeDraft {
            facts: report::facts(run, model, agg, findings),
            template: report::template_narrative(run, model, agg, findings),
        }
    }

    fn deliverables(
        run: &RunContext,
        model: &FactorModel,
        agg: &aggregate::FactorAggregate,
        findings: &[Findings],
        narrative: &str,
    ) -> Deliverables {
        report::render(run, model, agg, findings, narrative)
    }
}

/// Revaluation. A one-month move is linear: factor P&L is exposure amount × beta ×
/// factor return, and non-factor moves (replayed residuals, fire-sale discounts) add
/// amount × return, computed here from the model rather than stored per position in
/// every scenario — exact for the delta-one instruments the factor workflow accepts. A
/// multi-month episode is revalued month by month instead (see [`episode_outcome`]).
pub fn evaluate_scenario(model: &FactorModel, scenario: &Scenario) -> ScenarioOutcome {
    if let NonFactorShock::ResidualEpisode { first, last } = scenario.non_factor {
        return with_plausibility(
            model,
            scenario,
            episode_outcome(model, scenario, first as usize, last as usize),
        );
    }
    let factor_pnl: Vec<f64> = model
        .book_exposure
        .iter()
        .zip(&scenario.factor_shocks)
        .map(|(b, f)| b * f)
        .collect();
    let residual_pnl = non_factor_pnl(model, &scenario.non_factor);
    let outcome = ScenarioOutcome {
        id: scenario.id,
        kind: scenario.kind,
        name: scenario.name.clone(),
        pnl: factor_pnl.iter().sum::<f64>() + residual_pnl,
        factor_pnl,
        residual_pnl,
        horizon_months: 1,
        severity: None,
        mahalanobis_normal: 0.0,
        mahalanobis_stressed: 0.0,
        history_exceedance: None,
        correlation_effect: None,
    };
    with_plausibility(model, scenario, outcome)
}

/// Adds the plausibility of the scenario's factor move and, for a correlation
/// breakdown, the loss its correlations alone add.
fn with_plausibility(
    model: &FactorModel,
    scenario: &Scenario,
    mut outcome: ScenarioOutcome,
) -> ScenarioOutcome {
    let p = &model.plausibility;
    let months = outcome.horizon_months;
    outcome.severity = scenario.severity;
    outcome.mahalanobis_normal = p.distance_normal(&scenario.factor_shocks, months);
    outcome.mahalanobis_stressed = p.distance_stressed(&scenario.factor_shocks, months);
    outcome.history_exceedance =
        (months == 1).then(|| p.history_exceedance(outcome.mahalanobis_normal));
    outcome.correlation_effect = scenario.reference_shocks.as_ref().map(|reference| {
        let reference_loss: f64 = -model
            .book_exposure
            .iter()
            .zip(reference)
            .map(|(b, f)| b * f)
            .sum::<f64>();
        outcome.loss() - reference_loss
    });
    outcome
}

/// A historical episode replayed on today's book: each position's modelled monthly
/// return (betas × that month's factor returns, plus its replayed residual; alpha left
/// out — a replay is about the shock, not the drift) is compounded over the episode, so
/// the loss is Σᵢ Aᵢ (Πₜ(1 + rᵢₜ) − 1). Compounding the factors first and applying the
/// betas once would understate a long episode (the 2000-02 bust by about a third).
///
/// The attribution is exact and additive: month t's P&L is split by source on the
/// position values carried into that month, Vᵢ,ₜ₋₁ (βᵢ·fₜ + εᵢₜ), and the months sum
/// (telescoping) to the compounded total.
pub fn episode_outcome(
    model: &FactorModel,
    scenario: &Scenario,
    first: usize,
    last: usize,
) -> ScenarioOutcome {
    let k = model.factors.len();
    let mut factor_pnl = vec![0.0; k];
    let mut residual_pnl = 0.0;
    let mut pnl = 0.0;
    for p in &model.positions {
        let mut value = p.exposure_amount;
        for t in first..=last.min(model.history.len().saturating_sub(1)) {
            let residual = p
                .residual_series
                .map_or(0.0, |s| model.series_residuals[s as usize][t]);
            let mut r = residual;
            for (j, (beta, f)) in p.exposures.iter().zip(&model.history[t]).enumerate() {
                factor_pnl[j] += value * beta * f;
                r += beta * f;
            }
            residual_pnl += value * residual;
            value *= 1.0 + r;
        }
        pnl += value - p.exposure_amount;
    }
    ScenarioOutcome {
        id: scenario.id,
        kind: scenario.kind,
        name: scenario.name.clone(),
        pnl,
        factor_pnl,
        residual_pnl,
        horizon_months: (last + 1 - first) as u32,
        severity: None,
        mahalanobis_normal: 0.0,
        mahalanobis_stressed: 0.0,
        history_exceedance: None,
        correlation_effect: None,
    }
}

/// P&L of a scenario's non-factor moves, position by position in book order.
fn non_factor_pnl(model: &FactorModel, shock: &NonFactorShock) -> f64 {
    match shock {
        NonFactorShock::None => 0.0,
        NonFactorShock::ResidualMonth { month } => {
            let t = *month as usize;
            let by_series: Vec<f64> = model.series_residuals.iter().map(|r| r[t]).collect();
            residual_replay_pnl(model, &by_series)
        }
        NonFactorShock::ResidualEpisode { first, last } => {
            // Compounded over the window, as the factor returns are.
            let by_series: Vec<f64> = model
                .series_residuals
                .iter()
                .map(|r| {
                    let mut acc = 1.0;
                    for residual in &r[*first as usize..=*last as usize] {
                        acc *= 1.0 + residual;
                    }
                    acc - 1.0
                })
                .collect();
            residual_replay_pnl(model, &by_series)
        }
        NonFactorShock::FireSale { factors, discount } => {
            let fs = &model.fire_sale;
            model
                .positions
                .iter()
                .map(|p| {
                    let extra: f64 = factors
                        .iter()
                        .map(|&j| {
                            let j = j as usize;
                            let excess = (fs.crowded_side[j]
                                * (p.exposures[j] - fs.median_beta[j]))
                                .max(0.0);
                            -discount * excess * fs.volatility[j]
                        })
                        .sum();
                    if extra != 0.0 {
                        p.exposure_amount * extra
                    } else {
                        0.0
                    }
                })
                .sum()
        }
    }
}

fn residual_replay_pnl(model: &FactorModel, by_series: &[f64]) -> f64 {
    model
        .positions
        .iter()
        .filter_map(|p| {
            p.residual_series
                .map(|s| p.exposure_amount * by_series[s as usize])
        })
        .sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use stresslab_core::market_data::parse_market_data;
    use stresslab_core::portfolio::parse_portfolio;

    pub fn params(scenarios: u32) -> FactorParams {
        FactorParams {
            scenarios,
            partitions: 4,
            ..FactorParams::default()
        }
    }

    pub fn sample() -> (Portfolio, MarketData) {
        let portfolio = parse_portfolio(
            "ff_multifactor_book.json",
            include_bytes!("../../../../events/inputs/ff_multifactor_book.json"),
        )
        .expect("sample portfolio is valid");
        let market = parse_market_data(include_bytes!(
            "../../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
        ))
        .expect("sample market data is valid");
        (portfolio, market)
    }

    #[test]
    fn the_sample_book_gives_500_scenarios_of_four_kinds() {
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(500), 42).unwrap();
        assert_eq!(set.len(), 500);
        for kind in ScenarioKind::ALL {
            assert!(
                set.iter().filter(|s| s.kind == kind).count() >= 50,
                "{kind:?}"
            );
        }
        assert!(set.iter().enumerate().all(|(i, s)| s.id == i as u32));
        // Named episodes found in the data, replayed in full.
        for needle in [
            "October 1987 crash",
            "2008-09 global financial crisis",
            "2009 momentum crash",
        ] {
            assert!(set.iter().any(|s| s.name.starts_with(needle)), "{needle}");
        }
        // The momentum crash replay really is a momentum crash in the data: Mom lost
        // more than 40% over March–May 2009 (Daniel & Moskowitz 2016, Table 1 context).
        let crash = set
            .iter()
            .find(|s| s.name.starts_with("2009 momentum crash ("))
            .unwrap();
        assert!(crash.factor_shocks[3] < -0.40, "{:?}", crash.factor_shocks);
        // A long-only equity book has a market beta near one.
        let beta = model.book_exposure[0] / model.total_market_value;
        assert!((0.8..1.3).contains(&beta), "{beta}");
    }

    #[test]
    fn a_replay_revalues_the_book_exactly() {
        // Replaying a single month must reproduce the book's actual excess return that
        // month, up to the alpha the replay leaves out.
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(500), 1).unwrap();
        let s = set.iter().find(|s| s.name.ends_with("— 1987-10")).unwrap();
        let outcome = evaluate_scenario(&model, s);
        let t = market.index_of("1987-10").unwrap();
        let rf = market.column("RF").unwrap()[t];
        let actual: f64 = model
            .positions
            .iter()
            .map(|p| {
                let r = market.column(p.return_series.as_deref().unwrap()).unwrap()[t];
                p.market_value * (r - rf - p.alpha)
            })
            .sum();
        assert!(
            (outcome.pnl - actual).abs() < 1e-6 * actual.abs(),
            "{} vs {actual}",
            outcome.pnl
        );
        assert!(outcome.pnl < -0.15 * model.total_market_value);
    }

    #[test]
    fn same_seed_same_scenarios_other_seed_other_scenarios() {
        let (portfolio, market) = sample();
        let a = FactorWorkflow::prepare(&portfolio, Some(&market), &params(200), 9)
            .unwrap()
            .1;
        let b = FactorWorkflow::prepare(&portfolio, Some(&market), &params(200), 9)
            .unwrap()
            .1;
        let c = FactorWorkflow::prepare(&portfolio, Some(&market), &params(200), 10)
            .unwrap()
            .1;
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    fn book(positions: &str, extra: &str) -> Portfolio {
        parse_portfolio(
            "b.json",
            format!(
                r#"{{"portfolio_id":"b","base_currency":"USD"{extra},"positions":[{positions}]}}"#
            )
            .as_bytes(),
        )
        .expect("valid book")
    }

    const STOCK: &str = r#"{"id":"s","asset_class":"equity","instrument_type":"stock","currency":"CUR","market_value":1000000,"factor":{"exposures":{"MktRF":1.1,"SMB":0.2,"HML":-0.1,"Mom":0.05}}}"#;

    #[test]
    fn a_foreign_currency_book_is_valued_in_the_base_currency() {
        let (_, market) = sample();
        let usd = book(&STOCK.replace("CUR", "USD"), "");
        let eur = book(&STOCK.replace("CUR", "EUR"), r#","fx_rates":{"EUR":1.25}"#);
        let (m_usd, s_usd) = FactorWorkflow::prepare(&usd, Some(&market), &params(100), 3).unwrap();
        let (m_eur, s_eur) = FactorWorkflow::prepare(&eur, Some(&market), &params(100), 3).unwrap();
        assert!((m_eur.total_market_value - 1.25 * m_usd.total_market_value).abs() < 1e-6);
        for (a, b) in s_usd.iter().zip(&s_eur).take(50) {
            let (x, y) = (
                evaluate_scenario(&m_usd, a).pnl,
                evaluate_scenario(&m_eur, b).pnl,
            );
            assert!(
                (y - 1.25 * x).abs() <= 1e-9 * x.abs().max(1.0),
                "{} vs {}",
                y,
                x
            );
        }
    }

    #[test]
    fn a_futures_overlay_hedges_through_its_notional() {
        let (_, market) = sample();
        let future = r#"{"id":"es","asset_class":"equity","instrument_type":"future","currency":"USD","market_value":0,"notional":-400000,"factor":{"exposures":{"MktRF":1,"SMB":0,"HML":0,"Mom":0}}}"#;
        let hedged = book(&format!("{},{future}", STOCK.replace("CUR", "USD")), "");
        let (model, _) = FactorWorkflow::prepare(&hedged, Some(&market), &params(100), 3).unwrap();
        assert!(
            (model.book_exposure[0] - (1.1e6 - 4e5)).abs() < 1e-6,
            "{:?}",
            model.book_exposure
        );
        assert_eq!(
            model.total_market_value, 1e6,
            "a future adds exposure, not value"
        );
    }

    #[test]
    fn positions_the_factor_model_cannot_revalue_are_refused_by_field() {
        let (_, market) = sample();
        let option = STOCK
            .replace("CUR", "USD")
            .replace("\"stock\"", "\"option\"")
            .replace("\"id\":\"s\"", "\"id\":\"o\"");
        let bare_future = STOCK
            .replace("CUR", "USD")
            .replace("\"stock\"", "\"future\"")
            .replace("\"id\":\"s\"", "\"id\":\"f\"");
        let refused = book(&format!("{option},{bare_future}"), "");
        let err = FactorWorkflow::prepare(&refused, Some(&market), &params(100), 3).unwrap_err();
        let paths: Vec<&str> = err.issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            ["positions[0].instrument_type", "positions[1].notional"],
            "{err}"
        );
    }

    #[test]
    fn the_as_of_date_must_match_the_market_data() {
        let (_, market) = sample();
        let last = market.dates.last().unwrap().clone();
        for (as_of, ok) in [
            (format!("{last}-28"), true),
            ("2016-12-31".to_owned(), false),
            ("2099-01-31".to_owned(), false),
        ] {
            let b = book(
                &STOCK.replace("CUR", "USD"),
                &format!(r#","as_of":"{as_of}""#),
            );
            let result = FactorWorkflow::prepare(&b, Some(&market), &params(100), 3);
            match (ok, result) {
                (true, Ok(_)) => {}
                (false, Err(e)) => assert_eq!(e.issues[0].path, "as_of", "{e}"),
                (ok, other) => panic!("as_of {as_of}: expected ok={ok}, got {:?}", other.err()),
            }
        }
    }

    #[test]
    fn implausible_given_betas_are_refused_before_they_overflow() {
        let (_, market) = sample();
        let huge = STOCK
            .replace("CUR", "USD")
            .replace("\"MktRF\":1.1", "\"MktRF\":1e160");
        let err =
            FactorWorkflow::prepare(&book(&huge, ""), Some(&market), &params(100), 3).unwrap_err();
        assert_eq!(
            err.issues[0].path, "positions[0].factor.exposures.MktRF",
            "{err}"
        );
    }

    #[test]
    fn an_episode_compounds_each_positions_modelled_monthly_return() {
        // The loss of a replayed episode is Σᵢ Aᵢ (Πₜ(1 + rᵢₜ) − 1) with rᵢₜ the position's
        // own excess return less its alpha — recomputed here from the raw market data.
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(500), 2).unwrap();
        let s = set
            .iter()
            .find(|s| s.name.starts_with("2000-02 dot-com bust"))
            .unwrap();
        let NonFactorShock::ResidualEpisode { first, last } = s.non_factor else {
            panic!("{s:?}")
        };
        let rf = market.column("RF").unwrap();
        let expected: f64 = model
            .positions
            .iter()
            .map(|p| {
                let col = market.column(p.return_series.as_deref().unwrap()).unwrap();
                let growth = (first as usize..=last as usize)
                    .fold(1.0, |g, t| g * (1.0 + col[t] - rf[t] - p.alpha));
                p.exposure_amount * (growth - 1.0)
            })
            .sum();
        let o = evaluate_scenario(&model, s);
        assert_eq!(o.horizon_months, 25);
        assert!(
            (o.pnl - expected).abs() < 1e-6 * expected.abs(),
            "{} vs {expected}",
            o.pnl
        );
        // The attribution is exact: sources sum to the total.
        let parts = o.factor_pnl.iter().sum::<f64>() + o.residual_pnl;
        assert!(
            (parts - o.pnl).abs() < 1e-6 * o.pnl.abs(),
            "{parts} vs {}",
            o.pnl
        );
        // Applying compounded factor returns linearly (the old replay) misstates it.
        let linear: f64 = model
            .book_exposure
            .iter()
            .zip(&s.factor_shocks)
            .map(|(b, f)| b * f)
            .sum();
        assert!(
            (linear - o.pnl).abs() > 0.05 * o.pnl.abs(),
            "{linear} vs {}",
            o.pnl
        );
    }

    #[test]
    fn no_one_month_figure_pools_an_episode() {
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(500), 2).unwrap();
        let outcomes: Vec<ScenarioOutcome> =
            set.iter().map(|s| evaluate_scenario(&model, s)).collect();
        let agg = aggregate::merge(&model, outcomes);
        assert!(agg.episodes.len() >= 5, "{}", agg.episodes.len());
        for id in agg
            .worst
            .iter()
            .chain(agg.by_kind.iter().map(|_| &0).take(0))
        {
            assert_eq!(agg.outcome(*id).unwrap().horizon_months, 1);
        }
        for id in &agg.episodes {
            assert!(agg.outcome(*id).unwrap().horizon_months > 1);
        }
        assert_eq!(agg.one_month_count + agg.episodes.len(), agg.scenario_count);
        let counted: usize = agg.by_kind.iter().map(|k| k.count).sum();
        assert_eq!(counted, agg.one_month_count);
        let in_histogram: u64 = agg.loss_histogram.counts.iter().sum();
        assert_eq!(in_histogram as usize, agg.one_month_count);
    }
    #[test]
    fn plausibility_is_the_mahalanobis_distance_and_ranks_history() {
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(200), 4).unwrap();
        let cov = model::from_rows(&model.covariance_shrunk);
        let inverse = cov.clone().try_inverse().unwrap();
        for s in set.iter().take(40) {
            let o = evaluate_scenario(&model, s);
            let f = nalgebra::DVector::from_column_slice(&s.factor_shocks);
            let d2 = (f.transpose() * &inverse * &f)[(0, 0)] / f64::from(o.horizon_months);
            assert!((o.mahalanobis_normal - d2.sqrt()).abs() < 1e-9 * d2.sqrt().max(1.0));
            assert_eq!(o.history_exceedance.is_some(), o.horizon_months == 1);
        }
        // The most extreme month of history is matched by itself alone.
        let p = &model.plausibility;
        let top = *p.history_distances.last().unwrap();
        assert_eq!(
            p.history_exceedance(top),
            1.0 / p.history_distances.len() as f64
        );
        assert_eq!(p.history_exceedance(0.0), 1.0);
    }

    #[test]
    fn a_breakdown_reports_what_its_correlations_add() {
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(200), 4).unwrap();
        let breakdowns: Vec<&Scenario> = set
            .iter()
            .filter(|s| s.kind == ScenarioKind::CorrelationBreakdown)
            .collect();
        assert!(!breakdowns.is_empty());
        for s in breakdowns {
            let o = evaluate_scenario(&model, s);
            let reference = s.reference_shocks.as_ref().unwrap();
            // Same market shock in both; only the other factors differ.
            assert_eq!(reference[0], s.factor_shocks[0]);
            let reference_loss: f64 = -model
                .book_exposure
                .iter()
                .zip(reference)
                .map(|(b, f)| b * f)
                .sum::<f64>();
            assert!((o.correlation_effect.unwrap() - (o.loss() - reference_loss)).abs() < 1e-6);
        }
        let other = set
            .iter()
            .find(|s| s.kind == ScenarioKind::StyleRotation)
            .unwrap();
        assert_eq!(evaluate_scenario(&model, other).correlation_effect, None);
    }

    #[test]
    fn synthetic_severities_are_the_factors_own_historical_quantiles() {
        let (portfolio, market) = sample();
        let (model, set) =
            FactorWorkflow::prepare(&portfolio, Some(&market), &params(500), 8).unwrap();
        let mut market_history: Vec<f64> = model.history.iter().map(|r| r[0]).collect();
        market_history.sort_by(f64::total_cmp);
        let worst_month = market_history[0];
        let p1 = stresslab_analytics::stats::quantile(&market_history, 0.01);
        let p5 = stresslab_analytics::stats::quantile(&market_history, 0.05);
        let mut seen = std::collections::BTreeSet::new();
        for s in set
            .iter()
            .filter(|s| s.kind == ScenarioKind::CorrelationBreakdown)
        {
            let expected = match s.severity.unwrap() {
                scenarios::Severity::Moderate => p5,
                scenarios::Severity::Severe => p1,
                scenarios::Severity::Extreme => worst_month,
            };
            assert_eq!(s.factor_shocks[0], expected, "{}", s.name);
            // No breakdown is worse than the worst month on record (October 1987).
            assert!(s.factor_shocks[0] >= worst_month);
            seen.insert(s.severity.unwrap());
        }
        assert_eq!(seen.len(), 3, "all three severities drawn");
        assert!(set
            .iter()
            .filter(|s| s.kind == ScenarioKind::HistoricalReplay)
            .all(|s| s.severity.is_none()));
    }
}
