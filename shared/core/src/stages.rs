//! The four generic operations (partition, compute-partition, aggregate, synthesize)
//! and the persona stage, as plain async functions over the storage traits. The
//! Lambda mains and the local runner call exactly these, so a local run and a Step
//! Functions run produce the same artifacts, bit for bit.
//!
//! Artifact layout under `runs/<run_id>/`: `input/portfolio.*`, `input/market_data.csv`,
//! `model.json`, `manifest.json`, `scenarios/<nnnn>.json`, `results/<nnnn>.json`,
//! `aggregate.json`, `findings/<persona>.json`, `results.json`, `summary.md`,
//! `report.html`.

use crate::api::*;
use crate::factor::{self, FactorWorkflow};
use crate::findings::Findings;
use crate::market_data::{parse_market_data, MarketData};
use crate::narrative::Narrator;
use crate::portfolio::{parse_portfolio, Portfolio};
use crate::storage::{
    BlobStore, Completion, PartitionStatus, RunRecord, RunStatus, RunStore, StageRecord, StoreError,
};
use crate::workflow::WorkflowEngine;
use crate::StageError;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const DEFAULT_PARTITIONS: u32 = 4;
pub const MAX_PARTITIONS: u32 = 256;
pub const DEFAULT_SEED: u64 = 42;

/// What partition writes once per run: how the scenario set was split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub workflow: Workflow,
    pub portfolio_id: String,
    pub portfolio_name: String,
    pub seed: u64,
    pub scenario_count: u32,
    pub partitions: Vec<ManifestPartition>,
    /// Version of the code that produced the run (part of the run id).
    pub engine_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestPartition {
    pub partition: u32,
    pub first_scenario: u32,
    pub scenario_count: u32,
    pub scenarios_key: String,
    pub result_key: String,
}

pub fn run_prefix(run_id: &str) -> String {
    format!("runs/{run_id}")
}
pub fn manifest_key(run_id: &str) -> String {
    format!("runs/{run_id}/manifest.json")
}
pub fn model_key(run_id: &str) -> String {
    format!("runs/{run_id}/model.json")
}
pub fn aggregate_key(run_id: &str) -> String {
    format!("runs/{run_id}/aggregate.json")
}
pub fn findings_key(run_id: &str, persona: Persona) -> String {
    format!("runs/{run_id}/findings/{}.json", persona.name())
}
pub fn deliverable_key(run_id: &str, file: &str) -> String {
    format!("runs/{run_id}/{file}")
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StageError> {
    serde_json::to_vec(value).map_err(|e| StageError::NonRetryable(format!("serialise: {e}")))
}

async fn read_json<B: BlobStore, T: DeserializeOwned>(
    blobs: &B,
    key: &str,
) -> Result<T, StageError> {
    let bytes = blobs.get(key).await.map_err(|e| match e {
        StoreError::NotFound(_) => StageError::NonRetryable(format!("missing artifact {key}")),
        other => other.into(),
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StageError::NonRetryable(format!("corrupt artifact {key}: {e}")))
}

async fn put_json<B: BlobStore, T: Serialize>(
    blobs: &B,
    key: &str,
    value: &T,
) -> Result<(), StageError> {
    Ok(blobs.put(key, to_json(value)?, "application/json").await?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Run id: a digest of everything that determines the numbers — workflow, the bytes of
/// portfolio and market data, scenario and partition counts, seed, engine version.
/// Same inputs and seed → same id, locally and on AWS.
pub fn run_id(
    workflow: Workflow,
    portfolio: &[u8],
    market: Option<&[u8]>,
    scenarios: u32,
    partitions: u32,
    seed: u64,
) -> String {
    let mut h = Sha256::new();
    h.update(b"stresslab-run-v1\0");
    h.update(workflow.as_str().as_bytes());
    h.update(Sha256::digest(portfolio));
    h.update(
        market
            .map(|m| Sha256::digest(m).to_vec())
            .unwrap_or_default(),
    );
    h.update(scenarios.to_le_bytes());
    h.update(partitions.to_le_bytes());
    h.update(seed.to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    format!("{}-{}", workflow.as_str(), &hex(&h.finalize())[..20])
}

/// Resolve `relative` against the folder of `base_key` (S3-style keys).
pub fn sibling_key(base_key: &str, relative: &str) -> String {
    match base_key.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{relative}"),
        None => relative.to_owned(),
    }
}

/// Bounds of the run's size, with messages that name the parameter.
pub fn resolve_sizes<E: WorkflowEngine>(params: &RunParameters) -> Result<(u32, u32), StageError> {
    let scenarios = params.scenarios.unwrap_or(E::DEFAULT_SCENARIOS);
    let partitions = params.partitions.unwrap_or(DEFAULT_PARTITIONS);
    if !(E::MIN_SCENARIOS..=E::MAX_SCENARIOS).contains(&scenarios) {
        return Err(StageError::invalid(format!(
            "parameters.scenarios: must be between {} and {}, got {scenarios}",
            E::MIN_SCENARIOS,
            E::MAX_SCENARIOS
        )));
    }
    if !(1..=MAX_PARTITIONS).contains(&partitions) || partitions > scenarios {
        return Err(StageError::invalid(format!(
            "parameters.partitions: must be between 1 and {} and at most the scenario count, got {partitions}",
            MAX_PARTITIONS.min(scenarios)
        )));
    }
    Ok((scenarios, partitions))
}

/// RFC 3339 UTC timestamp from the system clock (civil-from-days, Hinnant 2013).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Inputs of a run, read and validated.
pub struct LoadedInputs {
    pub portfolio_bytes: Vec<u8>,
    pub portfolio_name: String,
    pub portfolio: Portfolio,
    pub market_bytes: Option<Vec<u8>>,
    pub market: Option<MarketData>,
}

/// Read and validate the portfolio and its market data. Every problem is NonRetryable
/// and names the field.
pub async fn load_inputs<B: BlobStore>(
    blobs: &B,
    request: &RunRequest,
) -> Result<LoadedInputs, StageError> {
    fn missing(what: &str, key: &str) -> impl FnOnce(StoreError) -> StageError {
        let message = format!("{what}: no object at {key:?}");
        move |e| match e {
            StoreError::NotFound(_) => StageError::invalid(message),
            other => other.into(),
        }
    }
    let portfolio_bytes = blobs
        .get(&request.portfolio_key)
        .await
        .map_err(missing("portfolio_key", &request.portfolio_key))?;
    let portfolio = parse_portfolio(&request.portfolio_key, &portfolio_bytes)
        .map_err(|r| StageError::invalid(r.to_string()))?;
    let market_key = request.market_data_key.clone().or_else(|| {
        portfolio
            .market_data
            .as_ref()
            .map(|m| sibling_key(&request.portfolio_key, m))
    });
    let (market_bytes, market) = match market_key {
        Some(key) => {
            let bytes = blobs
                .get(&key)
                .await
                .map_err(missing("market_data", &key))?;
            let parsed =
                parse_market_data(&bytes).map_err(|r| StageError::invalid(r.to_string()))?;
            (Some(bytes), Some(parsed))
        }
        None => (None, None),
    };
    let portfolio_name = if request.portfolio_key.to_ascii_lowercase().ends_with(".csv") {
        "portfolio.csv"
    } else {
        "portfolio.json"
    };
    Ok(LoadedInputs {
        portfolio_bytes,
        portfolio_name: portfolio_name.into(),
        portfolio,
        market_bytes,
        market,
    })
}

/// Validate the portfolio, derive the run id, generate and split the scenario set,
/// write the manifest and scenario partitions, record the run and its partitions.
///
/// Idempotent: re-running with the same inputs finds the manifest and returns the same
/// plan without regenerating anything.
pub async fn partition<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: &RunRequest,
) -> Result<PartitionPlan, StageError> {
    match request.workflow {
        Workflow::Factor => partition_with::<FactorWorkflow, B, R>(blobs, runs, request).await,
    }
}

async fn partition_with<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: &RunRequest,
) -> Result<PartitionPlan, StageError> {
    let (scenario_count, partition_count) = resolve_sizes::<E>(&request.parameters)?;
    let seed = request.seed.unwrap_or(DEFAULT_SEED);
    let inputs = load_inputs(blobs, request).await?;
    let id = run_id(
        E::WORKFLOW,
        &inputs.portfolio_bytes,
        inputs.market_bytes.as_deref(),
        scenario_count,
        partition_count,
        seed,
    );
    let manifest = match blobs.exists(&manifest_key(&id)).await? {
        true => read_json::<B, Manifest>(blobs, &manifest_key(&id)).await?,
        false => {
            let (model, scenarios) = E::prepare(
                &inputs.portfolio,
                inputs.market.as_ref(),
                scenario_count,
                seed,
            )
            .map_err(|r| StageError::invalid(r.to_string()))?;
            let prefix = run_prefix(&id);
            blobs
                .put(
                    &format!("{prefix}/input/{}", inputs.portfolio_name),
                    inputs.portfolio_bytes.clone(),
                    "application/octet-stream",
                )
                .await?;
            if let Some(m) = &inputs.market_bytes {
                blobs
                    .put(
                        &format!("{prefix}/input/market_data.csv"),
                        m.clone(),
                        "text/csv",
                    )
                    .await?;
            }
            put_json(blobs, &model_key(&id), &model).await?;
            // Contiguous, near-equal slices: the first `extra` partitions get one more.
            let base = scenario_count / partition_count;
            let extra = scenario_count % partition_count;
            let mut parts = Vec::new();
            let mut first = 0u32;
            for p in 0..partition_count {
                let count = base + u32::from(p < extra);
                let slice = &scenarios[first as usize..(first + count) as usize];
                let scenarios_key = format!("{prefix}/scenarios/{p:04}.json");
                put_json(blobs, &scenarios_key, &slice).await?;
                parts.push(ManifestPartition {
                    partition: p,
                    first_scenario: first,
                    scenario_count: count,
                    scenarios_key,
                    result_key: format!("{prefix}/results/{p:04}.json"),
                });
                first += count;
            }
            let manifest = Manifest {
                run_id: id.clone(),
                workflow: E::WORKFLOW,
                portfolio_id: inputs.portfolio.portfolio_id.clone(),
                portfolio_name: inputs.portfolio.name.clone(),
                seed,
                scenario_count,
                partitions: parts,
                engine_version: env!("CARGO_PKG_VERSION").into(),
            };
            // The manifest goes last: its presence means every input artifact exists.
            put_json(blobs, &manifest_key(&id), &manifest).await?;
            manifest
        }
    };
    runs.create_run(&RunRecord {
        run_id: id.clone(),
        workflow: E::WORKFLOW.as_str().into(),
        portfolio_id: manifest.portfolio_id.clone(),
        created_at: now_rfc3339(),
        partition_count,
        scenario_count,
        seed,
        status: RunStatus::Running,
        detail: None,
    })
    .await?;
    runs.register_partitions(&id, partition_count).await?;
    runs.record_stage(
        &id,
        &StageRecord {
            stage: "partition".into(),
            artifact_key: manifest_key(&id),
        },
    )
    .await?;
    Ok(PartitionPlan {
        run_id: id.clone(),
        workflow: E::WORKFLOW,
        scenario_count,
        partitions: (0..partition_count)
            .map(|partition| PartitionTask {
                run_id: id.clone(),
                workflow: E::WORKFLOW,
                partition,
            })
            .collect(),
    })
}

/// Evaluate one partition idempotently: a DONE partition is a no-op, and the result is
/// written to a fixed key before the conditional DONE mark, so a crash in between only
/// means the (identical) result is written again on retry.
pub async fn compute_partition<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    task: &PartitionTask,
) -> Result<PartitionOutcome, StageError> {
    match task.workflow {
        Workflow::Factor => compute_with::<FactorWorkflow, B, R>(blobs, runs, task).await,
    }
}

async fn compute_with<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    task: &PartitionTask,
) -> Result<PartitionOutcome, StageError> {
    let parts = runs.partitions(&task.run_id).await?;
    let Some(record) = parts.iter().find(|p| p.partition == task.partition) else {
        return Err(StageError::invalid(format!(
            "partition: run {} has no partition {} ({} registered)",
            task.run_id,
            task.partition,
            parts.len()
        )));
    };
    let manifest: Manifest = read_json(blobs, &manifest_key(&task.run_id)).await?;
    let slice = manifest
        .partitions
        .iter()
        .find(|p| p.partition == task.partition)
        .ok_or_else(|| {
            StageError::invalid(format!(
                "partition {} is not in the manifest",
                task.partition
            ))
        })?;
    if record.status == PartitionStatus::Done {
        return Ok(PartitionOutcome {
            run_id: task.run_id.clone(),
            partition: task.partition,
            result_key: slice.result_key.clone(),
            computed: false,
        });
    }
    let model: E::Model = read_json(blobs, &model_key(&task.run_id)).await?;
    let scenarios: Vec<E::Scenario> = read_json(blobs, &slice.scenarios_key).await?;
    let outcomes = E::evaluate(&model, &scenarios);
    put_json(blobs, &slice.result_key, &outcomes).await?;
    let completion = runs
        .complete_partition(&task.run_id, task.partition, &slice.result_key)
        .await?;
    Ok(PartitionOutcome {
        run_id: task.run_id.clone(),
        partition: task.partition,
        result_key: slice.result_key.clone(),
        computed: completion == Completion::Completed,
    })
}

/// Barrier + merge: refuses (Retryable, naming them) while any partition is not DONE.
pub async fn aggregate<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    match run.workflow {
        Workflow::Factor => aggregate_with::<FactorWorkflow, B, R>(blobs, runs, run).await,
    }
}

async fn aggregate_with<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    let manifest: Manifest = read_json(blobs, &manifest_key(&run.run_id)).await?;
    let parts = runs.partitions(&run.run_id).await?;
    let missing: Vec<String> = manifest
        .partitions
        .iter()
        .filter(|m| {
            !parts
                .iter()
                .any(|p| p.partition == m.partition && p.status == PartitionStatus::Done)
        })
        .map(|m| m.partition.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(StageError::Retryable(format!(
            "aggregate: run {} has partitions not DONE yet: {}",
            run.run_id,
            missing.join(", ")
        )));
    }
    let model: E::Model = read_json(blobs, &model_key(&run.run_id)).await?;
    let mut outcomes = Vec::with_capacity(manifest.scenario_count as usize);
    for p in &manifest.partitions {
        let mut part: Vec<E::Outcome> = read_json(blobs, &p.result_key).await?;
        outcomes.append(&mut part);
    }
    let merged = E::merge(&model, outcomes);
    let key = aggregate_key(&run.run_id);
    put_json(blobs, &key, &merged).await?;
    finish_stage(runs, run, "aggregate", key).await
}

async fn finish_stage<R: RunStore>(
    runs: &R,
    run: &RunRef,
    stage: &str,
    key: String,
) -> Result<StageOutput, StageError> {
    runs.record_stage(
        &run.run_id,
        &StageRecord {
            stage: stage.into(),
            artifact_key: key.clone(),
        },
    )
    .await?;
    Ok(StageOutput {
        run_id: run.run_id.clone(),
        workflow: run.workflow,
        stage: stage.into(),
        artifact_key: key,
    })
}

/// One persona agent: reads the model and aggregate, writes its findings.
pub async fn persona<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    persona: Persona,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    let model: factor::model::FactorModel = read_json(blobs, &model_key(&run.run_id)).await?;
    let agg: factor::aggregate::FactorAggregate =
        read_json(blobs, &aggregate_key(&run.run_id)).await?;
    let findings = match persona {
        Persona::FactorModelingSpecialist => factor::personas::factor_modeling_specialist(&model),
        Persona::RiskDecompositionEngineer => {
            factor::personas::risk_decomposition_engineer(&model, &agg)
        }
        Persona::MarketRegimeAnalyst => factor::personas::market_regime_analyst(&model),
        Persona::PortfolioOptimizationStrategist => {
            factor::personas::portfolio_optimization_strategist(&model, &agg)
        }
    };
    let key = findings_key(&run.run_id, persona);
    put_json(blobs, &key, &findings).await?;
    finish_stage(runs, run, persona.name(), key).await
}

/// Findings → results.json, summary.md, report.html and the narrative; marks the run
/// SUCCEEDED.
pub async fn synthesize<B: BlobStore, R: RunStore, N: Narrator>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    let manifest: Manifest = read_json(blobs, &manifest_key(&run.run_id)).await?;
    let model: factor::model::FactorModel = read_json(blobs, &model_key(&run.run_id)).await?;
    let agg: factor::aggregate::FactorAggregate =
        read_json(blobs, &aggregate_key(&run.run_id)).await?;
    let mut findings: Vec<Findings> = Vec::new();
    for p in Persona::FACTOR_TEAM {
        findings.push(
            read_json(blobs, &findings_key(&run.run_id, p))
                .await
                .map_err(|e| {
                    StageError::NonRetryable(format!(
                        "synthesize: findings of {} are missing ({e})",
                        p.name()
                    ))
                })?,
        );
    }
    let header = factor::report::RunHeader {
        run_id: run.run_id.clone(),
        workflow: run.workflow.as_str().into(),
        portfolio_id: manifest.portfolio_id.clone(),
        portfolio_name: manifest.portfolio_name.clone(),
        seed: manifest.seed,
        scenario_count: manifest.scenario_count,
        partition_count: manifest.partitions.len() as u32,
    };
    let template = factor::report::template_narrative(&header, &model, &agg, &findings);
    let facts = factor::report::facts(&header, &model, &agg, &findings);
    let narrative = narrator.narrate(&facts, &template).await?;
    let out = factor::report::render(&header, &model, &agg, &findings, &narrative);
    let id = &run.run_id;
    blobs
        .put(
            &deliverable_key(id, "results.json"),
            out.results_json,
            "application/json",
        )
        .await?;
    blobs
        .put(
            &deliverable_key(id, "summary.md"),
            out.summary_md.into_bytes(),
            "text/markdown; charset=utf-8",
        )
        .await?;
    blobs
        .put(
            &deliverable_key(id, "report.html"),
            out.report_html.into_bytes(),
            "text/html; charset=utf-8",
        )
        .await?;
    let result = finish_stage(runs, run, "synthesize", deliverable_key(id, "report.html")).await?;
    runs.set_run_status(id, RunStatus::Succeeded, None).await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }

    #[test]
    fn sibling_keys_resolve_relative_to_the_folder() {
        assert_eq!(
            sibling_key("uploads/a/book.json", "md.csv"),
            "uploads/a/md.csv"
        );
        assert_eq!(sibling_key("book.json", "md.csv"), "md.csv");
    }
}
