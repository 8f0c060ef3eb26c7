//! The four generic operations (partition, compute-partition, aggregate, synthesize)
//! and the persona stage, as plain async functions over the storage traits, generic
//! over a [`WorkflowEngine`]. The Lambda mains and the local runner call exactly these
//! (through the registry), so a local run and a Step Functions run produce the same
//! artifacts, bit for bit.
//!
//! Artifact layout under `runs/<run_id>/`: `input/<portfolio file>`,
//! `input/market_data.csv`, `model.json`, `scenarios/<nnnn>.json`, `manifest.json`,
//! `results/<nnnn>.json`, `aggregate.json`, `findings/<persona>.json`, `results.json`,
//! `summary.md`, `report.html`, `audit.json`.
//!
//! **Nothing derived is trusted.** The run store is the index of digests: the run's
//! META item holds the manifest's SHA-256 (and the inputs'), the manifest holds the
//! model's and every scenario slice's, each DONE mark its result's, each stage record
//! its artifact's. Every read of a derived artifact checks its digest (and a partition
//! result also its run, partition and scenario range); one that is missing, truncated,
//! corrupt or belongs elsewhere is recomputed — it is derived data — by the stage that
//! owns it, and the recomputation must reproduce the recorded digest, or the stage fails
//! naming the nondeterminism: partition regenerates the prepared artifacts (manifest,
//! model, scenario slices) when a rerun finds them damaged, compute-partition and
//! aggregate recompute partition results, aggregate and the personas always rewrite
//! their own output. A stage never rewrites an artifact it does not own (its IAM role
//! could not): it fails NonRetryable naming the damage, and rerunning the same request
//! repairs it. A FAILED run can always be rerun.

use crate::api::*;
use crate::audit::Audit;
use crate::engine::{canonical_params, parse_params, PersonaRole, RunContext, WorkflowEngine};
use crate::findings::Findings;
use crate::library::{self, LibraryVersion};
use crate::market_data::{parse_market_data, MarketData, MAX_MARKET_DATA_BYTES};
use crate::narrative::{narrate_grounded, Narrator};
use crate::portfolio::{parse_portfolio, Issue, Portfolio, Rejection, MAX_PORTFOLIO_BYTES};
use crate::storage::{
    BlobStore, Completion, PartitionStatus, RunRecipe, RunRecord, RunStatus, RunStore, StageRecord,
    StoreError,
};
use crate::StageError;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Instant;

pub const DEFAULT_SEED: u64 = 42;
/// Largest fan-out of one run. The Step Functions Map runs 40 iterations at a time
/// inline; more partitions only queue.
pub const MAX_PARTITIONS: u32 = 256;
/// The work budget of one run: positions × scenarios. Per-scenario evaluation is linear
/// in the book, so this bounds compute time and is checked before anything is written.
pub const MAX_POSITION_SCENARIOS: u64 = 1_000_000_000;

/// What partition writes once per run: how the scenario set was made and split, and the
/// digests of everything it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub run: RunContext,
    pub model_key: String,
    pub model_sha256: String,
    pub portfolio_copy_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_data_copy_key: Option<String>,
    pub partitions: Vec<ManifestPartition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestPartition {
    pub partition: u32,
    pub first_scenario: u32,
    pub scenario_count: u32,
    pub scenarios_key: String,
    pub scenarios_sha256: String,
    pub result_key: String,
}

/// A stored partition result: the partial, and what it claims to be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionResult<P> {
    pub run_id: String,
    pub partition: u32,
    pub first_scenario: u32,
    pub scenario_count: u32,
    pub partial: P,
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
pub fn findings_key(run_id: &str, persona: &str) -> String {
    format!("runs/{run_id}/findings/{persona}.json")
}
pub fn deliverable_key(run_id: &str, file: &str) -> String {
    format!("runs/{run_id}/{file}")
}
/// The deliverables synthesize writes, in the order a reader wants them.
pub const DELIVERABLES: [&str; 4] = ["report.html", "results.json", "summary.md", "audit.json"];

pub const STAGE_PARTITION: &str = "partition";
pub const STAGE_AGGREGATE: &str = "aggregate";
pub const STAGE_SYNTHESIZE: &str = "synthesize";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StageError> {
    serde_json::to_vec(value).map_err(|e| StageError::NonRetryable(format!("serialise: {e}")))
}

fn elapsed_ms(started: Instant) -> u64 {
    started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64
}

/// Read a derived artifact and check it against its recorded digest. `Ok(None)` when
/// it is missing, altered or unreadable as `T` — the caller recomputes it; `Err` only
/// for storage faults that say nothing about the artifact (throttling, permissions).
async fn read_verified<B: BlobStore, T: DeserializeOwned>(
    blobs: &B,
    key: &str,
    sha256: &str,
) -> Result<Option<T>, StageError> {
    let bytes = match blobs.get(key).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => {
            tracing::warn!(key, "derived artifact missing; recomputing");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    if sha256_hex(&bytes) != sha256 {
        tracing::warn!(
            key,
            "derived artifact does not match its digest; recomputing"
        );
        return Ok(None);
    }
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) => {
            tracing::warn!(key, error = %e, "derived artifact unreadable; recomputing");
            Ok(None)
        }
    }
}

/// Run id: a digest of everything that determines the numbers — workflow and its
/// engine version, portfolio id, the bytes of portfolio and market data, the
/// parameters with defaults filled in, the seed, and the pinned scenario library when
/// there is one. Same inputs and seed → same id, locally and on AWS; a numerics change
/// (engine version bump) → a new run; the same request pinned to two libraries → two
/// runs.
pub fn run_id<E: WorkflowEngine>(
    portfolio_id: &str,
    portfolio_sha256: &str,
    market_sha256: Option<&str>,
    params: &E::Params,
    seed: u64,
    library: Option<&LibraryVersion>,
) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        // Length-prefixed, so no two field lists hash alike.
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(b"stresslab-run-v2");
    field(E::NAME.as_bytes());
    field(E::ENGINE_VERSION.as_bytes());
    field(portfolio_id.as_bytes());
    field(portfolio_sha256.as_bytes());
    field(market_sha256.unwrap_or("-").as_bytes());
    field(canonical_params::<E>(params).as_bytes());
    field(&seed.to_le_bytes());
    // Only a pinned run hashes these two more fields, so every unpinned run keeps the
    // id it had before libraries existed (the fields are length-prefixed: no pinned
    // list can collide with an unpinned one).
    if let Some(version) = library {
        field(b"library");
        field(version.as_str().as_bytes());
    }
    format!("{}-{}", E::NAME, &hex(&h.finalize())[..20])
}

/// Resolve `relative` against the folder of `base_key` (S3-style keys).
pub fn sibling_key(base_key: &str, relative: &str) -> String {
    match base_key.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{relative}"),
        None => relative.to_owned(),
    }
}

fn base_name(key: &str) -> &str {
    key.rsplit_once('/').map_or(key, |(_, name)| name)
}

/// RFC 3339 UTC timestamp from the system clock.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Inputs of a run, read (size-capped) and validated.
pub struct LoadedInputs {
    /// The key the portfolio was read from; its name decides the format.
    pub portfolio_key: String,
    pub portfolio_bytes: Vec<u8>,
    pub portfolio: Portfolio,
    pub market_key: Option<String>,
    pub market_bytes: Option<Vec<u8>>,
    pub market: Option<MarketData>,
}

fn rejection(r: Rejection) -> StageError {
    StageError::invalid(r.to_string())
}

/// Read an input object with its size checked first, mapping problems to the field.
async fn read_input<B: BlobStore>(
    blobs: &B,
    field: &str,
    key: &str,
    limit: usize,
) -> Result<Vec<u8>, StageError> {
    blobs
        .get_limited(key, limit as u64)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => {
                StageError::invalid(format!("{field}: no object at {key:?}"))
            }
            StoreError::TooLarge { limit, .. } => StageError::invalid(format!(
                "{field}: {key:?} is larger than the limit of {limit} bytes"
            )),
            other => other.into(),
        })
}

/// Read and validate the portfolio and its market data. Every problem is NonRetryable
/// and names the field.
pub async fn load_inputs<B: BlobStore>(
    blobs: &B,
    request: &RunRequest,
) -> Result<LoadedInputs, StageError> {
    let portfolio_bytes = read_input(
        blobs,
        "portfolio_key",
        &request.portfolio_key,
        MAX_PORTFOLIO_BYTES,
    )
    .await?;
    let portfolio = parse_portfolio(&request.portfolio_key, &portfolio_bytes).map_err(rejection)?;
    let market_key = request.market_data_key.clone().or_else(|| {
        portfolio
            .market_data
            .as_ref()
            .map(|m| sibling_key(&request.portfolio_key, m))
    });
    let (market_bytes, market) = match &market_key {
        Some(key) => {
            let bytes = read_input(blobs, "market_data", key, MAX_MARKET_DATA_BYTES).await?;
            let parsed = parse_market_data(&bytes).map_err(rejection)?;
            (Some(bytes), Some(parsed))
        }
        None => (None, None),
    };
    Ok(LoadedInputs {
        portfolio_key: request.portfolio_key.clone(),
        portfolio_bytes,
        portfolio,
        market_key,
        market_bytes,
        market,
    })
}

/// Everything `run` checks before it writes anything: parameters, the work budget, and
/// the workflow's own preparation. `validate` calls exactly this.
pub fn check_run<E: WorkflowEngine>(
    portfolio: &Portfolio,
    market: Option<&MarketData>,
    params: &E::Params,
    seed: u64,
    library: Option<&E::Library>,
) -> Result<(E::Model, Vec<E::Scenario>), Rejection> {
    let work = portfolio.positions.len() as u64 * u64::from(E::scenario_count(params));
    if work > MAX_POSITION_SCENARIOS {
        return Err(Rejection {
            issues: vec![Issue {
                path: "parameters.scenarios (--scenarios)".into(),
                reason: format!(
                    "{} positions × {} scenarios = {work} position-scenarios; the supported maximum is {MAX_POSITION_SCENARIOS} (use fewer scenarios or split the book)",
                    portfolio.positions.len(),
                    E::scenario_count(params)
                ),
            }],
        });
    }
    if E::INPUTS.contains(&crate::engine::WorkflowInput::MarketData) && market.is_none() {
        return Err(Rejection {
            issues: vec![Issue {
                path: "market_data".into(),
                reason: format!(
                    "the {} workflow needs market data: set market_data in the portfolio, or pass it with the request (market_data_key, --market-data)",
                    E::NAME
                ),
            }],
        });
    }
    E::prepare_with_library(portfolio, market, params, seed, library)
}

/// The upload trigger's verdict on a request, before anything is written: the run id
/// `partition` would give it, or every problem found (each naming its field or line).
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    Admit { run_id: String },
    Reject(Vec<Issue>),
}

/// Exactly `partition`'s reading and checks (portfolio, its market data, parameters,
/// the workflow's preparation) and its run id, with the problems kept as structured
/// issues for a rejection report. `Err` only for faults that are not the input's
/// (storage unavailable): the caller retries those.
pub async fn admit<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    request: &RunRequest,
) -> Result<Admission, StageError> {
    let issue = |path: &str, reason: String| {
        Admission::Reject(vec![Issue {
            path: path.into(),
            reason,
        }])
    };
    let read = |field: &'static str, key: String, limit: usize| async move {
        match read_input(blobs, field, &key, limit).await {
            Ok(bytes) => Ok(Ok(bytes)),
            Err(StageError::NonRetryable(reason)) => Ok(Err(reason)),
            Err(e) => Err(e),
        }
    };
    let params = match parse_params::<E>(&request.parameters) {
        Ok(p) => p,
        Err(r) => return Ok(Admission::Reject(r.issues)),
    };
    let seed = request.seed.unwrap_or(DEFAULT_SEED);
    let portfolio_bytes = match read(
        "portfolio_key",
        request.portfolio_key.clone(),
        MAX_PORTFOLIO_BYTES,
    )
    .await?
    {
        Ok(b) => b,
        Err(reason) => return Ok(issue("file", reason)),
    };
    let portfolio = match parse_portfolio(&request.portfolio_key, &portfolio_bytes) {
        Ok(p) => p,
        Err(r) => return Ok(Admission::Reject(r.issues)),
    };
    let market_key = request.market_data_key.clone().or_else(|| {
        portfolio
            .market_data
            .as_ref()
            .map(|m| sibling_key(&request.portfolio_key, m))
    });
    let (market_bytes, market) = match market_key {
        Some(key) => {
            let bytes = match read("market_data", key, MAX_MARKET_DATA_BYTES).await? {
                Ok(b) => b,
                Err(reason) => return Ok(issue("market_data", reason)),
            };
            match parse_market_data(&bytes) {
                Ok(m) => (Some(bytes), Some(m)),
                Err(r) => return Ok(Admission::Reject(r.issues)),
            }
        }
        None => (None, None),
    };
    // A pinned scenario library, read as partition reads it.
    let pinned = match request.library_version.as_deref() {
        None => None,
        Some(v) => {
            let version = match LibraryVersion::parse(v) {
                Ok(version) => version,
                Err(r) => return Ok(Admission::Reject(r.issues)),
            };
            match library::load_section::<E, B>(blobs, &version).await {
                Ok(section) => Some(Pinned { version, section }),
                Err(StageError::NonRetryable(reason)) => {
                    return Ok(issue("library_version", reason))
                }
                Err(e) => return Err(e),
            }
        }
    };
    if let Err(r) = check_run::<E>(
        &portfolio,
        market.as_ref(),
        &params,
        seed,
        pinned.as_ref().map(|p| &p.section),
    ) {
        return Ok(Admission::Reject(r.issues));
    }
    Ok(Admission::Admit {
        run_id: run_id::<E>(
            &portfolio.portfolio_id,
            &sha256_hex(&portfolio_bytes),
            market_bytes.as_deref().map(sha256_hex).as_deref(),
            &params,
            seed,
            pinned.as_ref().map(|p| &p.version),
        ),
    })
}

/// Derived artifacts of a run's preparation, serialised and digested, not yet stored.
struct PreparedArtifacts {
    model_bytes: Vec<u8>,
    slices: Vec<(String, Vec<u8>)>,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
}

fn portfolio_copy_key(run_id: &str, portfolio_key: &str) -> String {
    format!("{}/input/{}", run_prefix(run_id), base_name(portfolio_key))
}
fn market_copy_key(run_id: &str) -> String {
    format!("{}/input/market_data.csv", run_prefix(run_id))
}

/// A pinned library: its version and this workflow's section of it.
struct Pinned<L> {
    version: LibraryVersion,
    section: L,
}

fn prepare_artifacts<E: WorkflowEngine>(
    run_id: &str,
    inputs: &LoadedInputs,
    params: &E::Params,
    seed: u64,
    pinned: Option<&Pinned<E::Library>>,
) -> Result<PreparedArtifacts, StageError> {
    let (model, scenarios) = check_run::<E>(
        &inputs.portfolio,
        inputs.market.as_ref(),
        params,
        seed,
        pinned.map(|p| &p.section),
    )
    .map_err(rejection)?;
    let scenario_count = E::scenario_count(params);
    let partition_count = E::partition_count(params);
    if scenarios.len() != scenario_count as usize {
        return Err(StageError::NonRetryable(format!(
            "{} prepared {} scenarios, {scenario_count} were asked for",
            E::NAME,
            scenarios.len()
        )));
    }
    let prefix = run_prefix(run_id);
    let model_bytes = to_json(&model)?;
    // Contiguous, near-equal slices: the first `extra` partitions get one more.
    let base = scenario_count / partition_count;
    let extra = scenario_count % partition_count;
    let mut slices = Vec::with_capacity(partition_count as usize);
    let mut parts = Vec::with_capacity(partition_count as usize);
    let mut first = 0u32;
    for p in 0..partition_count {
        let count = base + u32::from(p < extra);
        let bytes = to_json(&&scenarios[first as usize..(first + count) as usize])?;
        let scenarios_key = format!("{prefix}/scenarios/{p:04}.json");
        parts.push(ManifestPartition {
            partition: p,
            first_scenario: first,
            scenario_count: count,
            scenarios_sha256: sha256_hex(&bytes),
            scenarios_key: scenarios_key.clone(),
            result_key: format!("{prefix}/results/{p:04}.json"),
        });
        slices.push((scenarios_key, bytes));
        first += count;
    }
    let portfolio = &inputs.portfolio;
    let manifest = Manifest {
        run: RunContext {
            run_id: run_id.to_owned(),
            workflow: E::NAME.into(),
            engine_version: E::ENGINE_VERSION.into(),
            portfolio_id: portfolio.portfolio_id.clone(),
            portfolio_name: portfolio.name.clone(),
            base_currency: portfolio.base_currency.clone(),
            as_of: portfolio.as_of.clone(),
            seed,
            scenario_count,
            partition_count,
            library_version: pinned.map(|p| p.version.to_string()),
        },
        model_key: model_key(run_id),
        model_sha256: sha256_hex(&model_bytes),
        portfolio_copy_key: portfolio_copy_key(run_id, &inputs.portfolio_key),
        market_data_copy_key: inputs
            .market_bytes
            .as_ref()
            .map(|_| market_copy_key(run_id)),
        partitions: parts,
    };
    let manifest_bytes = to_json(&manifest)?;
    Ok(PreparedArtifacts {
        model_bytes,
        slices,
        manifest,
        manifest_bytes,
    })
}

/// Store prepared artifacts; the manifest goes last, so its presence (with the right
/// digest) means everything it names was written.
async fn store_prepared<B: BlobStore>(
    blobs: &B,
    run_id: &str,
    inputs: &LoadedInputs,
    artifacts: &PreparedArtifacts,
) -> Result<(), StageError> {
    blobs
        .put(
            &artifacts.manifest.portfolio_copy_key,
            inputs.portfolio_bytes.clone(),
            "application/octet-stream",
        )
        .await?;
    if let Some(m) = &inputs.market_bytes {
        blobs
            .put(&market_copy_key(run_id), m.clone(), "text/csv")
            .await?;
    }
    blobs
        .put(
            &artifacts.manifest.model_key,
            artifacts.model_bytes.clone(),
            "application/json",
        )
        .await?;
    for (key, bytes) in &artifacts.slices {
        blobs.put(key, bytes.clone(), "application/json").await?;
    }
    blobs
        .put(
            &manifest_key(run_id),
            artifacts.manifest_bytes.clone(),
            "application/json",
        )
        .await?;
    Ok(())
}

/// True when the manifest, model and every scenario slice match their digests and read
/// back as this engine's types (so a later stage cannot fail on them).
async fn prepared_intact<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    meta: &RunRecord,
) -> Result<bool, StageError> {
    let Some(manifest) = read_verified::<B, Manifest>(
        blobs,
        &manifest_key(&meta.run_id),
        &meta.recipe.manifest_sha256,
    )
    .await?
    else {
        return Ok(false);
    };
    let model_ok = read_verified::<B, E::Model>(blobs, &manifest.model_key, &manifest.model_sha256)
        .await?
        .is_some();
    if !model_ok {
        return Ok(false);
    }
    for p in &manifest.partitions {
        let slice =
            read_verified::<B, Vec<E::Scenario>>(blobs, &p.scenarios_key, &p.scenarios_sha256)
                .await?;
        if slice.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The run's META item, checked to belong to this workflow.
async fn load_run<E: WorkflowEngine, R: RunStore>(
    runs: &R,
    run_id: &str,
) -> Result<RunRecord, StageError> {
    let meta = runs
        .get_run(run_id)
        .await?
        .ok_or_else(|| StageError::invalid(format!("run {run_id} does not exist")))?;
    if meta.workflow != E::NAME {
        return Err(StageError::invalid(format!(
            "run {run_id} is a {} run, not {}",
            meta.workflow,
            E::NAME
        )));
    }
    Ok(meta)
}

// Only the partition stage (re)writes prepared artifacts: it holds the request, and the
// other stages' IAM roles cannot write them. A damaged one found later is a
// NonRetryable error; rerunning the run's request has partition regenerate it.
async fn load_manifest<B: BlobStore>(blobs: &B, meta: &RunRecord) -> Result<Manifest, StageError> {
    read_verified(
        blobs,
        &manifest_key(&meta.run_id),
        &meta.recipe.manifest_sha256,
    )
    .await?
    .ok_or_else(|| damaged(&meta.run_id, "manifest.json"))
}

async fn load_model<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    manifest: &Manifest,
) -> Result<E::Model, StageError> {
    read_verified(blobs, &manifest.model_key, &manifest.model_sha256)
        .await?
        .ok_or_else(|| damaged(&manifest.run.run_id, "model.json"))
}

async fn load_scenarios<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    manifest: &Manifest,
    slice: &ManifestPartition,
) -> Result<Vec<E::Scenario>, StageError> {
    read_verified(blobs, &slice.scenarios_key, &slice.scenarios_sha256)
        .await?
        .ok_or_else(|| damaged(&manifest.run.run_id, &slice.scenarios_key))
}

/// Validate the request, derive the run id, generate and split the scenario set, write
/// the manifest and scenario partitions, record the run and its partitions.
///
/// Idempotent: with the same inputs it finds the run and, if every prepared artifact
/// still matches its digest, writes nothing; anything damaged is regenerated. A FAILED
/// run is set RUNNING again, so it can be rerun.
pub async fn partition<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: &RunRequest,
) -> Result<PartitionPlan, StageError> {
    let started = Instant::now();
    if request.workflow.as_str() != E::NAME {
        return Err(StageError::invalid(format!(
            "workflow: the request is for {}, this engine runs {}",
            request.workflow,
            E::NAME
        )));
    }
    let params = parse_params::<E>(&request.parameters).map_err(rejection)?;
    let seed = request.seed.unwrap_or(DEFAULT_SEED);
    // The version is checked (it becomes part of a key) before any input is read.
    let library_version = request
        .library_version
        .as_deref()
        .map(LibraryVersion::parse)
        .transpose()
        .map_err(rejection)?;
    let inputs = load_inputs(blobs, request).await?;
    let pinned = match library_version {
        Some(version) => Some(Pinned {
            section: library::load_section::<E, B>(blobs, &version).await?,
            version,
        }),
        None => None,
    };
    let portfolio_sha256 = sha256_hex(&inputs.portfolio_bytes);
    let market_sha256 = inputs.market_bytes.as_deref().map(sha256_hex);
    let id = run_id::<E>(
        &inputs.portfolio.portfolio_id,
        &portfolio_sha256,
        market_sha256.as_deref(),
        &params,
        seed,
        pinned.as_ref().map(|p| &p.version),
    );
    let existing = runs.get_run(&id).await?;
    let intact = match &existing {
        Some(meta) => prepared_intact::<E, B>(blobs, meta).await?,
        None => false,
    };
    let manifest_sha256 = if intact {
        existing
            .as_ref()
            .map(|m| m.recipe.manifest_sha256.clone())
            .unwrap_or_default()
    } else {
        let artifacts = prepare_artifacts::<E>(&id, &inputs, &params, seed, pinned.as_ref())?;
        store_prepared(blobs, &id, &inputs, &artifacts).await?;
        sha256_hex(&artifacts.manifest_bytes)
    };
    let record = RunRecord {
        run_id: id.clone(),
        workflow: E::NAME.into(),
        portfolio_id: inputs.portfolio.portfolio_id.clone(),
        created_at: now_rfc3339(),
        partition_count: E::partition_count(&params),
        scenario_count: E::scenario_count(&params),
        seed,
        status: RunStatus::Running,
        detail: None,
        engine_version: E::ENGINE_VERSION.into(),
        recipe: RunRecipe {
            portfolio_key: request.portfolio_key.clone(),
            portfolio_sha256,
            market_data_key: inputs.market_key.clone(),
            market_data_sha256: market_sha256,
            parameters: canonical_params::<E>(&params),
            manifest_sha256: manifest_sha256.clone(),
        },
        started_by: request.started_by.clone(),
    };
    if let crate::storage::Created::Existing(old) = runs.create_run(&record).await? {
        if old.recipe.manifest_sha256 != manifest_sha256 {
            return Err(StageError::NonRetryable(format!(
                "run {id}: regenerating its scenarios gave a different manifest than recorded — the preparation is not deterministic"
            )));
        }
        if old.status == RunStatus::Failed {
            runs.set_run_status(&id, RunStatus::Running, None).await?;
        }
    }
    runs.register_partitions(&id, record.partition_count)
        .await?;
    runs.record_stage(
        &id,
        &StageRecord {
            stage: STAGE_PARTITION.into(),
            artifact_key: manifest_key(&id),
            sha256: manifest_sha256,
            duration_ms: elapsed_ms(started),
        },
    )
    .await?;
    let workflow = WorkflowName::new(E::NAME);
    Ok(PartitionPlan {
        run_id: id.clone(),
        workflow: workflow.clone(),
        scenario_count: record.scenario_count,
        partitions: (0..record.partition_count)
            .map(|partition| PartitionTask {
                run_id: id.clone(),
                workflow: workflow.clone(),
                partition,
            })
            .collect(),
    })
}

/// Evaluate one slice into its stored form.
async fn evaluate_slice<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    manifest: &Manifest,
    model: &E::Model,
    slice: &ManifestPartition,
) -> Result<(PartitionResult<E::Partial>, Vec<u8>), StageError> {
    let scenarios = load_scenarios::<E, B>(blobs, manifest, slice).await?;
    let result = PartitionResult {
        run_id: manifest.run.run_id.clone(),
        partition: slice.partition,
        first_scenario: slice.first_scenario,
        scenario_count: slice.scenario_count,
        partial: E::evaluate(model, slice.first_scenario, &scenarios),
    };
    let bytes = to_json(&result)?;
    Ok((result, bytes))
}

/// A stored result is trusted only if its bytes match the DONE mark's digest and it
/// says it is this run's slice.
async fn verified_result<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    run_id: &str,
    slice: &ManifestPartition,
    sha256: Option<&str>,
) -> Result<Option<PartitionResult<E::Partial>>, StageError> {
    let Some(sha256) = sha256 else {
        return Ok(None);
    };
    let stored: Option<PartitionResult<E::Partial>> =
        read_verified(blobs, &slice.result_key, sha256).await?;
    Ok(stored.filter(|r| {
        let matches = r.run_id == run_id
            && r.partition == slice.partition
            && r.first_scenario == slice.first_scenario
            && r.scenario_count == slice.scenario_count;
        if !matches {
            tracing::warn!(key = %slice.result_key, "partition result belongs to another slice; recomputing");
        }
        matches
    }))
}

/// Recompute a DONE partition whose stored result is bad, and store it again. It must
/// reproduce the digest its DONE mark recorded.
async fn repair_result<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    meta: &RunRecord,
    manifest: &Manifest,
    model: &E::Model,
    slice: &ManifestPartition,
    recorded_sha256: Option<&str>,
) -> Result<PartitionResult<E::Partial>, StageError> {
    let (result, bytes) = evaluate_slice::<E, B>(blobs, manifest, model, slice).await?;
    if recorded_sha256.is_some_and(|sha| sha != sha256_hex(&bytes)) {
        return Err(StageError::NonRetryable(format!(
            "run {} partition {}: recomputing gave a different result than the one recorded DONE — the evaluation is not deterministic",
            meta.run_id, slice.partition
        )));
    }
    blobs
        .put(&slice.result_key, bytes, "application/json")
        .await?;
    Ok(result)
}

/// Evaluate one partition idempotently. A DONE partition whose stored result verifies
/// is a no-op; one whose result is damaged is recomputed (and must match its digest).
/// A fresh result is written to its fixed key before the conditional DONE mark, so a
/// crash in between only means the identical result is written again on retry.
pub async fn compute_partition<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    task: &PartitionTask,
) -> Result<PartitionOutcome, StageError> {
    let meta = load_run::<E, R>(runs, &task.run_id).await?;
    let parts = runs.partitions(&task.run_id).await?;
    let Some(record) = parts.iter().find(|p| p.partition == task.partition) else {
        return Err(StageError::invalid(format!(
            "partition: run {} has no partition {} ({} registered)",
            task.run_id,
            task.partition,
            parts.len()
        )));
    };
    let manifest = load_manifest(blobs, &meta).await?;
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
    let outcome = |computed| PartitionOutcome {
        run_id: task.run_id.clone(),
        partition: task.partition,
        result_key: slice.result_key.clone(),
        computed,
    };
    if record.status == PartitionStatus::Done {
        let sha = record.result_sha256.as_deref();
        if verified_result::<E, B>(blobs, &task.run_id, slice, sha)
            .await?
            .is_some()
        {
            return Ok(outcome(false));
        }
        let model = load_model::<E, B>(blobs, &manifest).await?;
        repair_result::<E, B>(blobs, &meta, &manifest, &model, slice, sha).await?;
        return Ok(outcome(true));
    }
    let started = Instant::now();
    let model = load_model::<E, B>(blobs, &manifest).await?;
    let (_, bytes) = evaluate_slice::<E, B>(blobs, &manifest, &model, slice).await?;
    let sha = sha256_hex(&bytes);
    blobs
        .put(&slice.result_key, bytes, "application/json")
        .await?;
    let completion = runs
        .complete_partition(
            &task.run_id,
            task.partition,
            &slice.result_key,
            &sha,
            elapsed_ms(started),
        )
        .await?;
    Ok(outcome(completion == Completion::Completed))
}

/// Barrier + merge: refuses (Retryable, naming them) while any partition is not DONE;
/// any stored result that does not verify is recomputed before the merge.
pub async fn aggregate<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    let started = Instant::now();
    let meta = load_run::<E, R>(runs, &run.run_id).await?;
    let (bytes, _) = aggregate_bytes::<E, B, R>(blobs, runs, &meta).await?;
    let key = aggregate_key(&run.run_id);
    let sha = sha256_hex(&bytes);
    blobs.put(&key, bytes, "application/json").await?;
    finish_stage(runs, run, STAGE_AGGREGATE, key, sha, started).await
}

async fn aggregate_bytes<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    meta: &RunRecord,
) -> Result<(Vec<u8>, E::Aggregate), StageError> {
    let manifest = load_manifest(blobs, meta).await?;
    let parts = runs.partitions(&meta.run_id).await?;
    let done = |p: u32| {
        parts
            .iter()
            .find(|r| r.partition == p && r.status == PartitionStatus::Done)
    };
    let missing: Vec<String> = manifest
        .partitions
        .iter()
        .filter(|m| done(m.partition).is_none())
        .map(|m| m.partition.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(StageError::Retryable(format!(
            "aggregate: run {} has partitions not DONE yet: {}",
            meta.run_id,
            missing.join(", ")
        )));
    }
    let model = load_model::<E, B>(blobs, &manifest).await?;
    let mut acc = E::merge_start(&model);
    for slice in &manifest.partitions {
        let sha = done(slice.partition).and_then(|r| r.result_sha256.as_deref());
        let result = match verified_result::<E, B>(blobs, &meta.run_id, slice, sha).await? {
            Some(result) => result,
            None => repair_result::<E, B>(blobs, meta, &manifest, &model, slice, sha).await?,
        };
        E::merge_add(&model, &mut acc, result.partial);
    }
    let merged = E::merge_finish(&model, acc);
    Ok((to_json(&merged)?, merged))
}

async fn finish_stage<R: RunStore>(
    runs: &R,
    run: &RunRef,
    stage: &str,
    key: String,
    sha256: String,
    started: Instant,
) -> Result<StageOutput, StageError> {
    runs.record_stage(
        &run.run_id,
        &StageRecord {
            stage: stage.into(),
            artifact_key: key.clone(),
            sha256,
            duration_ms: elapsed_ms(started),
        },
    )
    .await?;
    Ok(StageOutput {
        run_id: run.run_id.clone(),
        workflow: run.workflow.clone(),
        stage: stage.into(),
        artifact_key: key,
    })
}

/// What the personas and synthesize read: model and aggregate, each verified against
/// its recorded digest. They never rewrite another stage's artifact (their IAM role
/// cannot): a damaged one is a NonRetryable error naming it, and rerunning the run
/// (the same request) has the owning stage recompute it.
struct Merged<E: WorkflowEngine> {
    meta: RunRecord,
    manifest: Manifest,
    model: E::Model,
    aggregate: E::Aggregate,
    stages: Vec<StageRecord>,
}

fn damaged(run_id: &str, what: &str) -> StageError {
    StageError::NonRetryable(format!(
        "run {run_id}: {what} is missing or does not match its recorded digest; rerun the run with the same request (the stage that owns it recomputes it)"
    ))
}

async fn load_merged<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
) -> Result<Merged<E>, StageError> {
    let meta = load_run::<E, R>(runs, &run.run_id).await?;
    let id = &run.run_id;
    let manifest: Manifest = read_verified(blobs, &manifest_key(id), &meta.recipe.manifest_sha256)
        .await?
        .ok_or_else(|| damaged(id, "manifest.json"))?;
    let model = read_verified(blobs, &manifest.model_key, &manifest.model_sha256)
        .await?
        .ok_or_else(|| damaged(id, "model.json"))?;
    let stages = runs.stages(id).await?;
    let recorded = stages
        .iter()
        .find(|s| s.stage == STAGE_AGGREGATE)
        .ok_or_else(|| {
            StageError::NonRetryable(format!("run {id}: the aggregate stage has not run"))
        })?;
    let aggregate = read_verified(blobs, &recorded.artifact_key, &recorded.sha256)
        .await?
        .ok_or_else(|| damaged(id, "aggregate.json"))?;
    Ok(Merged {
        meta,
        manifest,
        model,
        aggregate,
        stages,
    })
}

/// Verified findings of `wanted`, in that order; `recompute` (the persona stage's own
/// persona) is computed afresh from its verified upstream findings and stored.
async fn team_findings<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    run: &RunRef,
    merged: &Merged<E>,
    wanted: &[E::Persona],
    recompute: Option<E::Persona>,
) -> Result<Vec<Findings>, StageError> {
    let mut out = Vec::with_capacity(wanted.len());
    for &persona in wanted {
        if recompute == Some(persona) {
            let started = Instant::now();
            let upstream = Box::pin(team_findings::<E, B, R>(
                blobs,
                runs,
                run,
                merged,
                persona.reads(),
                None,
            ))
            .await?;
            let findings = E::persona(persona, &merged.model, &merged.aggregate, &upstream);
            let bytes = to_json(&findings)?;
            let key = findings_key(&run.run_id, persona.name());
            let sha = sha256_hex(&bytes);
            blobs.put(&key, bytes, "application/json").await?;
            finish_stage(runs, run, persona.name(), key, sha, started).await?;
            out.push(findings);
            continue;
        }
        let recorded = merged
            .stages
            .iter()
            .find(|s| s.stage == persona.name())
            .ok_or_else(|| {
                StageError::NonRetryable(format!(
                    "run {}: persona {} has not run yet",
                    run.run_id,
                    persona.name()
                ))
            })?;
        let findings =
            read_verified::<B, Findings>(blobs, &recorded.artifact_key, &recorded.sha256)
                .await?
                .ok_or_else(|| {
                    damaged(&run.run_id, &format!("the findings of {}", persona.name()))
                })?;
        out.push(findings);
    }
    Ok(out)
}

/// One persona agent: reads the model, the aggregate and the findings of the personas
/// it depends on; (re)writes its own findings.
pub async fn persona<E: WorkflowEngine, B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    persona: E::Persona,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    let merged = load_merged::<E, B, R>(blobs, runs, run).await?;
    team_findings::<E, B, R>(blobs, runs, run, &merged, &[persona], Some(persona)).await?;
    Ok(StageOutput {
        run_id: run.run_id.clone(),
        workflow: run.workflow.clone(),
        stage: persona.name().into(),
        artifact_key: findings_key(&run.run_id, persona.name()),
    })
}

/// Findings → results.json, summary.md, report.html, audit.json and the narrative;
/// marks the run SUCCEEDED.
pub async fn synthesize<E: WorkflowEngine, B: BlobStore, R: RunStore, N: Narrator>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    run: &RunRef,
) -> Result<StageOutput, StageError> {
    let started = Instant::now();
    let merged = load_merged::<E, B, R>(blobs, runs, run).await?;
    let findings =
        team_findings::<E, B, R>(blobs, runs, run, &merged, E::Persona::TEAM, None).await?;
    let ctx = &merged.manifest.run;
    let draft = E::narrative(ctx, &merged.model, &merged.aggregate, &findings);
    let (narrative, narration) = narrate_grounded(narrator, &draft.facts, &draft.template).await?;
    let out = E::deliverables(ctx, &merged.model, &merged.aggregate, &findings, &narrative);
    let id = &run.run_id;
    let report_sha = sha256_hex(out.report_html.as_bytes());
    let deliverables: [(&str, Vec<u8>, &str); 3] = [
        ("results.json", out.results_json, "application/json"),
        (
            "summary.md",
            out.summary_md.into_bytes(),
            "text/markdown; charset=utf-8",
        ),
        (
            "report.html",
            out.report_html.into_bytes(),
            "text/html; charset=utf-8",
        ),
    ];
    let mut digests = Vec::new();
    for (file, bytes, content_type) in deliverables {
        digests.push((file.to_owned(), sha256_hex(&bytes)));
        blobs
            .put(&deliverable_key(id, file), bytes, content_type)
            .await?;
    }
    // The audit record reads the stage records as they are now, so it includes every
    // stage that ran (and recomputations this call made).
    let stages = runs.stages(id).await?;
    let partitions = runs.partitions(id).await?;
    let mut audit = Audit::new::<E>(
        &merged.meta,
        ctx,
        &stages,
        &partitions,
        elapsed_ms(started),
        narrator.name(),
        digests,
    );
    audit.narration = Some(narration);
    blobs
        .put(
            &deliverable_key(id, "audit.json"),
            audit.to_json(),
            "application/json",
        )
        .await?;
    let result = finish_stage(
        runs,
        run,
        STAGE_SYNTHESIZE,
        deliverable_key(id, "report.html"),
        report_sha,
        started,
    )
    .await?;
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

    #[test]
    fn digests_are_lowercase_hex_sha256() {
        // FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
