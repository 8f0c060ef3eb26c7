//! The engine contract: everything a stress workflow provides so the kernel can run it
//! end to end — typed parameters with their bounds, prepare (model + scenario specs),
//! evaluate one slice into an already-reduced partial result, merge the partials in
//! partition order, the persona team and its dependency graph, and rendering.
//!
//! The kernel (stages, runner, storage) is generic over [`WorkflowEngine`]; the one
//! place that maps a workflow name to an engine is the registry crate.

use crate::findings::Findings;
use crate::library::MarketDataSet;
use crate::market_data::MarketData;
use crate::portfolio::{Issue, Portfolio, Rejection};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};
use std::fmt::Debug;
use std::hash::Hash;

/// A persona agent of a workflow's team: one Lambda, one findings artifact.
pub trait PersonaRole: Copy + Eq + Hash + Debug + Send + Sync + 'static {
    /// The whole team, in report order.
    const TEAM: &'static [Self];
    /// Kebab-case name: the Lambda crate name and the stage name in the run store.
    fn name(self) -> &'static str;
    /// The personas whose findings this one reads. The graph must be acyclic; personas
    /// with no path between them run concurrently (threads locally, a Parallel state in
    /// the ASL).
    fn reads(self) -> &'static [Self];
    /// One line: what this persona does, for the catalog and the Lambda description.
    fn role(self) -> &'static str;

    fn from_name(name: &str) -> Option<Self> {
        Self::TEAM.iter().copied().find(|p| p.name() == name)
    }
}

/// The team in dependency levels: every persona of level `n` reads only personas of
/// levels `< n`, so each level can run concurrently. `Err` names a persona on a cycle.
pub fn team_levels<P: PersonaRole>() -> Result<Vec<Vec<P>>, String> {
    let mut placed: Vec<P> = Vec::new();
    let mut levels = Vec::new();
    while placed.len() < P::TEAM.len() {
        let level: Vec<P> = P::TEAM
            .iter()
            .copied()
            .filter(|p| !placed.contains(p) && p.reads().iter().all(|d| placed.contains(d)))
            .collect();
        if level.is_empty() {
            let stuck = P::TEAM.iter().find(|p| !placed.contains(p));
            return Err(format!(
                "persona dependency cycle through {}",
                stuck.map_or("?", |p| p.name())
            ));
        }
        placed.extend(&level);
        levels.push(level);
    }
    Ok(levels)
}

/// Identity of a run, for headers, results.json and audit.json.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RunContext {
    pub run_id: String,
    pub workflow: String,
    pub engine_version: String,
    pub portfolio_id: String,
    pub portfolio_name: String,
    pub base_currency: String,
    /// As-of date of the portfolio, when it states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    pub seed: u64,
    pub scenario_count: u32,
    pub partition_count: u32,
    /// The scenario library the run pinned (its market models instead of estimating
    /// them), when it pinned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_version: Option<String>,
}

/// A run's deliverables, rendered by the workflow.
pub struct Deliverables {
    pub results_json: Vec<u8>,
    pub summary_md: String,
    pub report_html: String,
}

/// What a narrator gets: the facts it may cite, and the deterministic template text.
pub struct NarrativeDraft {
    pub facts: Value,
    pub template: String,
}

/// An input a workflow reads besides the portfolio. The kernel refuses a run (and
/// `validate --workflow`) that lacks one, naming the field, before any work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowInput {
    /// A market-data CSV: the request's `market_data_key` / `--market-data`, or the
    /// portfolio's own `market_data` reference.
    MarketData,
}

pub trait WorkflowEngine: Send + Sync + 'static {
    /// Payload and run-id name (`factor`).
    const NAME: &'static str;
    /// Version of the numerics, hashed into the run id: bump it with any change that can
    /// change a number, so old artifacts are never reused for new code.
    const ENGINE_VERSION: &'static str;
    /// One line for `--help` and the catalog.
    const DESCRIPTION: &'static str;
    /// What the workflow reads besides the portfolio.
    const INPUTS: &'static [WorkflowInput];

    /// Typed parameters (`deny_unknown_fields`, defaults for every field).
    type Params: Debug + Clone + Default + Serialize + DeserializeOwned + Send + Sync;
    /// Everything evaluation needs besides the scenarios (estimated once, in partition).
    type Model: Serialize + DeserializeOwned + Send + Sync;
    /// A small scenario spec; anything bulky (paths, per-position moves) is recomputed
    /// from the model during evaluation, never stored.
    type Scenario: Serialize + DeserializeOwned + Send + Sync;
    /// One partition's result, already reduced (sums, histograms, per-scenario summaries),
    /// never per-path data.
    type Partial: Serialize + DeserializeOwned + Send + Sync;
    type Aggregate: Serialize + DeserializeOwned + Send + Sync;
    type Persona: PersonaRole;

    /// Bounds of the parameters. Each issue names the API field and the CLI flag, e.g.
    /// `parameters.scenarios (--scenarios)`.
    fn check_params(params: &Self::Params) -> Vec<Issue>;
    fn scenario_count(params: &Self::Params) -> u32;
    fn partition_count(params: &Self::Params) -> u32;

    /// The market models this workflow estimates from market data, as a scenario
    /// library stores them (see [`crate::library`]): what a pinned run uses instead of
    /// estimating.
    type Library: Serialize + DeserializeOwned + Send + Sync;

    /// Estimate this workflow's library section from the month's market data (the
    /// monthly refresh). Pure: the same files give the same bits. `None`: the workflow
    /// contributes no section (its `Library` is [`crate::library::NoLibrary`]), and a
    /// run of it pinned to a library is refused naming `library_version`.
    fn refresh(market: &MarketDataSet) -> Result<Option<Self::Library>, Rejection>;

    /// Model and scenario specs; with `library`, its market models are used instead of
    /// being estimated (a pinned run). Every refusal names the input field; `validate`
    /// runs exactly this, so what `validate` accepts, `run` accepts.
    fn prepare_with_library(
        portfolio: &Portfolio,
        market: Option<&MarketData>,
        params: &Self::Params,
        seed: u64,
        library: Option<&Self::Library>,
    ) -> Result<(Self::Model, Vec<Self::Scenario>), Rejection>;

    /// An unpinned preparation: every market model estimated afresh.
    fn prepare(
        portfolio: &Portfolio,
        market: Option<&MarketData>,
        params: &Self::Params,
        seed: u64,
    ) -> Result<(Self::Model, Vec<Self::Scenario>), Rejection> {
        Self::prepare_with_library(portfolio, market, params, seed, None)
    }

    /// Pure and deterministic: the same slice gives the same bits on every retry.
    /// `first_scenario` is the id of `scenarios[0]` in the whole set.
    fn evaluate(
        model: &Self::Model,
        first_scenario: u32,
        scenarios: &[Self::Scenario],
    ) -> Self::Partial;

    /// The merge is a fold over the partials, given in partition order (so the result is
    /// bit-stable): the aggregate stage loads, absorbs and drops one partial at a time, so
    /// its memory is the accumulator plus one partial, whatever the partition count. A
    /// workflow whose aggregate needs every scenario at once accumulates them (a `Vec`);
    /// one that reduces to mergeable distributions keeps only those.
    type Accumulator: Send;
    fn merge_start(model: &Self::Model) -> Self::Accumulator;
    fn merge_add(model: &Self::Model, acc: &mut Self::Accumulator, partial: Self::Partial);
    fn merge_finish(model: &Self::Model, acc: Self::Accumulator) -> Self::Aggregate;

    /// The fold over partials already in memory (tests, benchmarks).
    fn merge(model: &Self::Model, partials: Vec<Self::Partial>) -> Self::Aggregate {
        let mut acc = Self::merge_start(model);
        for p in partials {
            Self::merge_add(model, &mut acc, p);
        }
        Self::merge_finish(model, acc)
    }

    /// One persona's findings; `upstream` holds the findings of `persona.reads()`, in
    /// that order.
    fn persona(
        persona: Self::Persona,
        model: &Self::Model,
        aggregate: &Self::Aggregate,
        upstream: &[Findings],
    ) -> Findings;

    /// Facts and template prose for the narrator; `findings` in team order.
    fn narrative(
        run: &RunContext,
        model: &Self::Model,
        aggregate: &Self::Aggregate,
        findings: &[Findings],
    ) -> NarrativeDraft;

    fn deliverables(
        run: &RunContext,
        model: &Self::Model,
        aggregate: &Self::Aggregate,
        findings: &[Findings],
        narrative: &str,
    ) -> Deliverables;
}

/// Parse the request's parameter object into the engine's typed parameters and check
/// their bounds. Unknown or mistyped fields are named (`parameters.scenarios: …`).
pub fn parse_params<E: WorkflowEngine>(raw: &Map<String, Value>) -> Result<E::Params, Rejection> {
    // The path to the offending field, so `"scenarios": "abc"` is reported at
    // `parameters.scenarios`, not somewhere in `parameters`.
    let params: E::Params =
        serde_path_to_error::deserialize(Value::Object(raw.clone())).map_err(|e| {
            let field = e.path().to_string();
            let path = if field == "." || field.is_empty() {
                "parameters".to_owned()
            } else {
                format!("parameters.{field}")
            };
            Rejection {
                issues: vec![Issue {
                    path,
                    reason: format!("{} (workflow {})", e.inner(), E::NAME),
                }],
            }
        })?;
    let issues = E::check_params(&params);
    if issues.is_empty() {
        Ok(params)
    } else {
        Err(Rejection { issues })
    }
}

/// The parameters with every default filled in, as canonical JSON: what the run id
/// hashes, so an explicit default and an omitted one give the same run.
pub fn canonical_params<E: WorkflowEngine>(params: &E::Params) -> String {
    serde_json::to_string(params).unwrap_or_default()
}

/// The partition-count rule every workflow shares.
pub fn check_partitions(partitions: u32, scenarios: u32, max: u32) -> Option<Issue> {
    (!(1..=max.min(scenarios)).contains(&partitions)).then(|| Issue {
        path: "parameters.partitions (--partitions)".into(),
        reason: format!(
            "must be between 1 and {} (and at most the scenario count), got {partitions}",
            max.min(scenarios)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum P {
        A,
        B,
        C,
    }
    impl PersonaRole for P {
        const TEAM: &'static [P] = &[P::A, P::B, P::C];
        fn name(self) -> &'static str {
            match self {
                P::A => "a",
                P::B => "b",
                P::C => "c",
            }
        }
        fn reads(self) -> &'static [P] {
            match self {
                P::C => &[P::A],
                _ => &[],
            }
        }
        fn role(self) -> &'static str {
            "test"
        }
    }

    #[test]
    fn independent_personas_share_a_level() {
        assert_eq!(
            team_levels::<P>().unwrap(),
            vec![vec![P::A, P::B], vec![P::C]]
        );
        assert_eq!(P::from_name("c"), Some(P::C));
        assert_eq!(P::from_name("d"), None);
    }

    #[test]
    fn partition_bounds_name_the_flag() {
        assert!(check_partitions(4, 500, 256).is_none());
        let issue = check_partitions(0, 500, 256).unwrap();
        assert!(issue.path.contains("--partitions"), "{issue}");
        assert!(check_partitions(300, 200, 256).is_some());
    }
}
