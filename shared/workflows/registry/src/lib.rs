//! The registry: the one list of workflows, and the one place that dispatches on it.
//!
//! Everything that must know which workflows exist — the CLI, the local runner, the
//! four operation Lambdas, the state-machine harness and the deployment-consistency
//! test — asks this crate. Adding a workflow is its crate, one line in the
//! `workflows!` invocation below, its ASL file, its template resources and its events.

use serde::Serialize;
use serde_json::{Map, Value};
use stresslab_core::api::*;
use stresslab_core::engine::{parse_params, team_levels, PersonaRole, WorkflowEngine};
use stresslab_core::library;
use stresslab_core::market_data::MarketData;
use stresslab_core::narrative::Narrator;
use stresslab_core::portfolio::{Issue, Portfolio, Rejection};
use stresslab_core::runner::{self, Event};
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStore};
use stresslab_core::StageError;

/// Declares the workflow enum and the `dispatch!` macro from one list, so the list
/// exists exactly once. (`$d` smuggles a `$` into the nested macro.)
macro_rules! workflows {
    ($d:tt $($variant:ident => $engine:ty),+ $(,)?) => {
        /// Every workflow StressLab runs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Workflow {
            $($variant),+
        }

        impl Workflow {
            pub const ALL: &'static [Workflow] = &[$(Workflow::$variant),+];
        }

        /// Evaluate `$body` with the type alias `$E` bound to the workflow's engine.
        macro_rules! dispatch {
            ($d workflow:expr, $d E:ident => $d body:expr) => {
                match $d workflow {
                    $(Workflow::$variant => {
                        type $d E = $engine;
                        $d body
                    })+
                }
            };
        }
    };
}

workflows!($
    Factor => stresslab_factor::FactorWorkflow,
    Liquidity => stresslab_liquidity::LiquidityWorkflow,
    Hedging => stresslab_hedging::HedgingWorkflow,
);

/// The four operation Lambdas; each serves every workflow.
pub mod upload;

pub const OPERATIONS: [&str; 4] = ["partition", "compute-partition", "aggregate", "synthesize"];

impl Workflow {
    pub fn name(self) -> &'static str {
        dispatch!(self, E => E::NAME)
    }

    pub fn from_name(name: &str) -> Option<Workflow> {
        Workflow::ALL.iter().copied().find(|w| w.name() == name)
    }

    /// The workflow a payload names; an unknown name is NonRetryable and lists the
    /// known ones.
    pub fn parse(name: &WorkflowName) -> Result<Workflow, StageError> {
        Workflow::from_name(name.as_str()).ok_or_else(|| {
            StageError::invalid(format!(
                "workflow: unknown {:?}; known workflows: {}",
                name.as_str(),
                names().join(", ")
            ))
        })
    }

    pub fn info(self) -> WorkflowInfo {
        dispatch!(self, E => info::<E>())
    }
}

pub fn names() -> Vec<&'static str> {
    Workflow::ALL.iter().map(|w| w.name()).collect()
}

/// What a workflow deploys and runs, for the CLI, the harness and the consistency test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub engine_version: &'static str,
    /// What the workflow reads besides the portfolio.
    pub inputs: &'static [stresslab_core::engine::WorkflowInput],
    /// `statemachines/<name>.asl.json`.
    pub state_machine: String,
    /// Personas in team order, each with the personas whose findings it reads.
    pub personas: Vec<PersonaInfo>,
    /// The personas in dependency levels (each level runs concurrently).
    pub persona_levels: Vec<Vec<&'static str>>,
    /// The default parameters, as the API takes them.
    pub default_parameters: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonaInfo {
    pub name: &'static str,
    pub role: &'static str,
    pub reads: Vec<&'static str>,
}

fn info<E: WorkflowEngine>() -> WorkflowInfo {
    WorkflowInfo {
        name: E::NAME,
        description: E::DESCRIPTION,
        engine_version: E::ENGINE_VERSION,
        inputs: E::INPUTS,
        state_machine: format!("statemachines/{}.asl.json", E::NAME),
        personas: E::Persona::TEAM
            .iter()
            .map(|p| PersonaInfo {
                name: p.name(),
                role: p.role(),
                reads: p.reads().iter().map(|r| r.name()).collect(),
            })
            .collect(),
        persona_levels: team_levels::<E::Persona>()
            .unwrap_or_default()
            .into_iter()
            .map(|level| level.into_iter().map(|p| p.name()).collect())
            .collect(),
        default_parameters: serde_json::to_value(E::Params::default()).unwrap_or_default(),
    }
}

/// Every workflow's description.
pub fn catalog() -> Vec<WorkflowInfo> {
    Workflow::ALL.iter().map(|w| w.info()).collect()
}

/// Lambdas outside the state machines: the monthly scenario-library refresh
/// (EventBridge Scheduler).
pub const SERVICES: [&str; 1] = ["scenario-refresh"];

/// Every Lambda the deployment has: the operations, each workflow's personas, then the
/// services.
pub fn lambda_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = OPERATIONS.to_vec();
    for w in catalog() {
        names.extend(w.personas.iter().map(|p| p.name));
    }
    names.extend(SERVICES);
    names
}

/// What `validate` reports for input that would run.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub scenario_count: u32,
    pub partition_count: u32,
}

/// Exactly the checks `run` makes before it writes anything: the parameters, the work
/// budget and the workflow's own preparation (model estimation, scenario generation).
pub fn check(
    workflow: Workflow,
    portfolio: &Portfolio,
    market: Option<&MarketData>,
    parameters: &Map<String, Value>,
    seed: u64,
    library: Option<&Value>,
) -> Result<Checked, Rejection> {
    dispatch!(workflow, E => {
        let params = parse_params::<E>(parameters)?;
        // A pinned library section, as `library_section` loaded and verified it.
        let section: Option<<E as WorkflowEngine>::Library> = library
            .map(|v| serde_json::from_value(v.clone()))
            .transpose()
            .map_err(|e| Rejection {
                issues: vec![Issue {
                    path: "library_version".into(),
                    reason: format!("the library's {} section does not read: {e}", E::NAME),
                }],
            })?;
        stages::check_run::<E>(portfolio, market, &params, seed, section.as_ref())?;
        Ok(Checked {
            scenario_count: E::scenario_count(&params),
            partition_count: E::partition_count(&params),
        })
    })
}

/// `workflow`'s section of scenario library `version`, read and verified as a pinned
/// run's partition stage reads it (manifest, digest, engine version), as JSON for
/// [`check`]. An unknown or damaged version is `NonRetryable` naming `library_version`.
pub async fn library_section<B: BlobStore>(
    blobs: &B,
    workflow: Workflow,
    version: &library::LibraryVersion,
) -> Result<Value, StageError> {
    dispatch!(workflow, E => {
        let section = library::load_section::<E, B>(blobs, version).await?;
        serde_json::to_value(section)
            .map_err(|e| StageError::invalid(format!("library_version: {e}")))
    })
}

/// Every workflow's engine version, by name: what a scenario library's version hashes
/// besides its month and data.
pub fn engine_versions() -> std::collections::BTreeMap<String, String> {
    Workflow::ALL
        .iter()
        .map(|&w| {
            (
                w.name().to_owned(),
                dispatch!(w, E => E::ENGINE_VERSION).to_owned(),
            )
        })
        .collect()
}

/// The monthly refresh: estimate every workflow's library section from `market` and
/// store them as one scenario library for `month` — or, when that version (same month,
/// data and engines) exists, find it and write nothing.
pub async fn refresh_library<B: BlobStore>(
    blobs: &B,
    month: &library::Month,
    market: &library::MarketDataSet,
) -> Result<library::RefreshOutcome, StageError> {
    library::refresh(blobs, month, market, engine_versions(), |set| {
        // Every workflow's problems at once, so one look at the market data fixes all.
        let mut sections = Vec::new();
        let mut issues = Vec::new();
        for &w in Workflow::ALL {
            match dispatch!(w, E => library::build_section::<E>(set)) {
                Ok(Some(section)) => sections.push(section),
                Ok(None) => {}
                Err(r) => issues.extend(r.issues.into_iter().map(|i| Issue {
                    path: i.path,
                    reason: format!("{} ({} workflow)", i.reason, w.name()),
                })),
            }
        }
        if issues.is_empty() {
            Ok(sections)
        } else {
            Err(Rejection { issues })
        }
    })
    .await
}

/// Parse and bound-check parameters only (the CLI checks flags before reading files).
pub fn check_parameters(
    workflow: Workflow,
    parameters: &Map<String, Value>,
) -> Result<(), Vec<Issue>> {
    dispatch!(workflow, E => parse_params::<E>(parameters).map(|_| ()).map_err(|r| r.issues))
}

pub async fn partition<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: &RunRequest,
) -> Result<PartitionPlan, StageError> {
    dispatch!(Workflow::parse(&request.workflow)?, E => stages::partition::<E, B, R>(blobs, runs, request).await)
}

pub async fn compute_partition<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    task: &PartitionTask,
) -> Result<PartitionOutcome, StageError> {
    dispatch!(Workflow::parse(&task.workflow)?, E => stages::compute_partition::<E, B, R>(blobs, runs, task).await)
}

pub async fn aggregate<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    dispatch!(Workflow::parse(&run.workflow)?, E => stages::aggregate::<E, B, R>(blobs, runs, run).await)
}

/// A persona by name, for callers that hold a name rather than a persona type (tests,
/// tools). The persona Lambdas call their engine's typed stage directly.
pub async fn persona<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    persona: &str,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    dispatch!(Workflow::parse(&run.workflow)?, E => {
        let Some(p) = <E as WorkflowEngine>::Persona::from_name(persona) else {
            return Err(StageError::invalid(format!(
                "persona: the {} workflow has no persona {persona:?}",
                E::NAME
            )));
        };
        stages::persona::<E, B, R>(blobs, runs, p, run).await
    })
}

pub async fn synthesize<B: BlobStore, R: RunStore, N: Narrator>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    dispatch!(Workflow::parse(&run.workflow)?, E => stages::synthesize::<E, B, R, N>(blobs, runs, narrator, run).await)
}

/// The embedded runner for the request's workflow (see [`runner::run_workflow`]).
pub fn run_local<B: BlobStore, R: RunStore, N: Narrator>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    request: &RunRequest,
    workers: usize,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<String, StageError> {
    dispatch!(Workflow::parse(&request.workflow)?, E => runner::run_workflow::<E, B, R, N>(blobs, runs, narrator, request, workers, on_event))
}

/// Progress steps of a run of `workflow` with `partitions` partitions.
pub fn progress_steps(workflow: Workflow, partitions: u32) -> u64 {
    dispatch!(workflow, E => runner::progress_steps::<E>(partitions))
}

/// The run id a request for `workflow` gets, exactly as its partition stage derives it
/// (the same [`stages::run_id`] over the same fields), computed without writing
/// anything — so an API can answer with the id, and refuse a duplicate, before the run
/// starts. Parameters are parsed (and bound-checked) as `run` parses them.
pub fn run_id(
    workflow: Workflow,
    portfolio_id: &str,
    portfolio_sha256: &str,
    market_sha256: Option<&str>,
    parameters: &Map<String, Value>,
    seed: u64,
    library: Option<&stresslab_core::library::LibraryVersion>,
) -> Result<String, Vec<Issue>> {
    dispatch!(workflow, E => {
        let params = parse_params::<E>(parameters).map_err(|r| r.issues)?;
        Ok(stages::run_id::<E>(portfolio_id, portfolio_sha256, market_sha256, &params, seed, library))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused_by_name() {
        for w in Workflow::ALL {
            assert_eq!(Workflow::from_name(w.name()), Some(*w));
        }
        let err = Workflow::parse(&WorkflowName::new("liquidty")).unwrap_err();
        assert_eq!(err.error_type(), "NonRetryable");
        assert!(
            err.to_string().contains("liquidty") && err.to_string().contains("factor"),
            "{err}"
        );
    }

    /// Unpinned runs keep the ids they had before scenario libraries: the id is still
    /// the SHA-256 of exactly the `stresslab-run-v2` field list (recomputed here by
    /// hand), and only a pinned run hashes its library — a different one per version.
    #[test]
    fn unpinned_run_ids_are_unchanged_and_each_pinned_version_gets_its_own() {
        use sha2::{Digest, Sha256};
        use stresslab_core::engine::canonical_params;
        use stresslab_core::library::LibraryVersion;
        type E = stresslab_hedging::HedgingWorkflow;
        let params = parse_params::<E>(&Map::new()).unwrap();
        let unpinned = stages::run_id::<E>("p1", "abc", None, &params, 42, None);
        let mut h = Sha256::new();
        let canonical = canonical_params::<E>(&params);
        let fields: [&[u8]; 8] = [
            b"stresslab-run-v2",
            b"hedging",
            <E as WorkflowEngine>::ENGINE_VERSION.as_bytes(),
            b"p1",
            b"abc",
            b"-",
            canonical.as_bytes(),
            &42u64.to_le_bytes(),
        ];
        for f in fields {
            h.update((f.len() as u64).to_le_bytes());
            h.update(f);
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(unpinned, format!("hedging-{}", &hex[..20]));
        let v1 = LibraryVersion::parse("2026-12-0123456789ab").unwrap();
        let v2 = LibraryVersion::parse("2027-01-0123456789ab").unwrap();
        let p1 = stages::run_id::<E>("p1", "abc", None, &params, 42, Some(&v1));
        let p2 = stages::run_id::<E>("p1", "abc", None, &params, 42, Some(&v2));
        assert!(p1 != unpinned && p2 != unpinned && p1 != p2);
        assert_eq!(
            p1,
            stages::run_id::<E>("p1", "abc", None, &params, 42, Some(&v1))
        );
    }

    /// A pinned run trusts a library section only through its manifest: a missing
    /// section, one written by another engine version, or altered bytes are refused.
    #[test]
    fn a_library_section_is_read_only_when_its_manifest_vouches_for_it() {
        use stresslab_core::library::{self, MarketDataSet, Month};
        use stresslab_core::local::DiskBlobStore;
        use stresslab_core::storage::BlobStore;
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobStore::new(dir.path());
        let mut set = MarketDataSet::new();
        let inputs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../events/inputs");
        for e in std::fs::read_dir(inputs).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            set.insert(name, std::fs::read(&p).unwrap());
        }
        let month = Month::parse("2026-12").unwrap();
        pollster::block_on(async {
            let out = refresh_library(&blobs, &month, &set).await.unwrap();
            let v = out.manifest.version.clone();
            type H = stresslab_hedging::HedgingWorkflow;
            type L = stresslab_liquidity::LiquidityWorkflow;
            let calibration = library::load_section::<H, _>(&blobs, &v).await.unwrap();
            assert_eq!(
                calibration,
                stresslab_hedging::calibration::calibrate(
                    &stresslab_hedging::calibration::CalibrationInputs::bundled()
                )
                .unwrap()
            );
            // Altered section bytes: refused as damaged.
            let key = library::section_key(&v, "hedging");
            let mut bytes = blobs.get(&key).await.unwrap();
            bytes.push(b' ');
            blobs.put(&key, bytes, "application/json").await.unwrap();
            let e = library::load_section::<H, _>(&blobs, &v).await.unwrap_err();
            assert!(e.to_string().contains("damaged"), "{e}");
            // A manifest without the liquidity section, or from another engine version.
            let mut m = out.manifest.clone();
            m.sections.retain(|s| s.workflow != "liquidity");
            let manifest_key = library::manifest_key(&v);
            let write = |m: &library::LibraryManifest| serde_json::to_vec(m).unwrap();
            blobs
                .put(&manifest_key, write(&m), "application/json")
                .await
                .unwrap();
            let e = library::load_section::<L, _>(&blobs, &v).await.unwrap_err();
            assert!(e.to_string().contains("has no liquidity section"), "{e}");
            let mut m = out.manifest.clone();
            for s in &mut m.sections {
                s.engine_version = format!("{}-old", s.engine_version);
            }
            blobs
                .put(&manifest_key, write(&m), "application/json")
                .await
                .unwrap();
            let e = library::load_section::<L, _>(&blobs, &v).await.unwrap_err();
            assert!(
                e.to_string().contains("library_version") && e.to_string().contains("-old"),
                "{e}"
            );
        });
    }

    #[test]
    fn every_persona_graph_is_acyclic_and_names_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for name in lambda_names() {
            assert!(seen.insert(name), "{name} is listed twice");
        }
        for w in catalog() {
            let flat: Vec<&str> = w.persona_levels.concat();
            assert_eq!(
                flat.len(),
                w.personas.len(),
                "{}: a dependency cycle",
                w.name
            );
        }
    }
}
