//! Run lifecycle on the local adapters, through the registry: same inputs and seed →
//! same run id and bytes; parallel and single-threaded runs are bit-identical; retries
//! never double-count; aggregate waits (retryably, naming them) for missing partitions;
//! damaged artifacts are recomputed, never trusted; a FAILED run can be rerun; invalid
//! input creates no run.

use std::collections::BTreeMap;
use stresslab_core::api::*;
use stresslab_core::local::{DiskBlobStore, DiskRunStore};
use stresslab_core::narrative::TemplateNarrator;
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStatus, RunStore};
use stresslab_core::StageError;
use stresslab_registry as registry;

const BOOK: &[u8] = include_bytes!("../../../../events/inputs/ff_multifactor_book.json");
const MARKET: &[u8] = include_bytes!(
    "../../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
);

struct Env {
    _dir: tempfile::TempDir,
    blobs: DiskBlobStore,
    runs: DiskRunStore,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let env = Env {
        blobs: DiskBlobStore::new(dir.path().join("store")),
        runs: DiskRunStore::new(dir.path().join("runstore")),
        _dir: dir,
    };
    pollster::block_on(async {
        env.blobs
            .put("uploads/book.json", BOOK.to_vec(), "application/json")
            .await
            .unwrap();
        env.blobs
            .put(
                "uploads/ff_factors_industries_portfolios_monthly_1949_2017.csv",
                MARKET.to_vec(),
                "text/csv",
            )
            .await
            .unwrap();
    });
    env
}

fn request(scenarios: u32, partitions: u32, seed: u64) -> RunRequest {
    serde_json::from_value(serde_json::json!({
        "workflow": "factor",
        "portfolio_key": "uploads/book.json",
        "parameters": {"scenarios": scenarios, "partitions": partitions},
        "seed": seed,
    }))
    .unwrap()
}

fn run(e: &Env, req: &RunRequest, workers: usize) -> Result<String, StageError> {
    registry::run_local(&e.blobs, &e.runs, &TemplateNarrator, req, workers, &|_| {})
}

/// Every artifact of a run but the audit record (which holds timings).
fn artifacts(e: &Env, run_id: &str) -> BTreeMap<String, Vec<u8>> {
    pollster::block_on(async {
        let mut out = BTreeMap::new();
        for key in e.blobs.list(&format!("runs/{run_id}/")).await.unwrap() {
            if !key.ends_with("/audit.json") {
                out.insert(key.clone(), e.blobs.get(&key).await.unwrap());
            }
        }
        out
    })
}

fn differing(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
}

#[test]
fn same_inputs_and_seed_give_the_same_run_id_and_bytes() {
    let (a, b) = (env(), env());
    let req = request(150, 3, 11);
    let id_a = run(&a, &req, 1).unwrap();
    let id_b = run(&b, &req, 1).unwrap();
    assert_eq!(id_a, id_b);
    assert!(differing(&artifacts(&a, &id_a), &artifacts(&b, &id_b)).is_empty());
    let other =
        pollster::block_on(registry::partition(&a.blobs, &a.runs, &request(150, 3, 12))).unwrap();
    assert_ne!(other.run_id, id_a, "another seed must be another run");
    // An explicit default is the same run as an omitted one.
    let mut defaults = request(500, 4, 11);
    defaults.parameters.clear();
    let explicit =
        pollster::block_on(registry::partition(&a.blobs, &a.runs, &request(500, 4, 11))).unwrap();
    let implicit = pollster::block_on(registry::partition(&a.blobs, &a.runs, &defaults)).unwrap();
    assert_eq!(explicit.run_id, implicit.run_id);
}

#[test]
fn parallel_and_single_threaded_runs_are_bit_identical() {
    let (one, many) = (env(), env());
    let req = request(160, 8, 5);
    let id_one = run(&one, &req, 1).unwrap();
    let id_many = run(&many, &req, 4).unwrap();
    assert_eq!(id_one, id_many);
    let (a, b) = (artifacts(&one, &id_one), artifacts(&many, &id_many));
    assert!(a.len() > 15, "{:?}", a.keys());
    assert!(differing(&a, &b).is_empty(), "{:?}", differing(&a, &b));
}

#[test]
fn the_portfolio_id_is_part_of_the_run_id() {
    let e = env();
    let renamed = String::from_utf8(BOOK.to_vec()).unwrap().replacen(
        "\"portfolio_id\": \"",
        "\"portfolio_id\": \"other-",
        1,
    );
    assert_ne!(
        renamed.as_bytes(),
        BOOK,
        "the sample names its portfolio_id"
    );
    pollster::block_on(e.blobs.put(
        "uploads/other.json",
        renamed.into_bytes(),
        "application/json",
    ))
    .unwrap();
    let mut req = request(100, 2, 1);
    let a = pollster::block_on(registry::partition(&e.blobs, &e.runs, &req)).unwrap();
    req.portfolio_key = "uploads/other.json".into();
    let b = pollster::block_on(registry::partition(&e.blobs, &e.runs, &req)).unwrap();
    assert_ne!(a.run_id, b.run_id);
}

/// The tamper cases: each damaged artifact is recomputed on the rerun (it is derived
/// data), and the run ends byte-identical to a clean one.
#[test]
fn damaged_artifacts_are_recomputed_and_the_rerun_is_byte_identical() {
    type Tamper = fn(&Env, &str);
    let cases: [(&str, Tamper); 7] = [
        (
            "a partition result replaced by another partition's",
            |e, id| {
                let other =
                    pollster::block_on(e.blobs.get(&format!("runs/{id}/results/0000.json")))
                        .unwrap();
                pollster::block_on(e.blobs.put(
                    &format!("runs/{id}/results/0001.json"),
                    other,
                    "x",
                ))
                .unwrap();
            },
        ),
        ("model.json truncated", |e, id| {
            let key = format!("runs/{id}/model.json");
            let bytes = pollster::block_on(e.blobs.get(&key)).unwrap();
            pollster::block_on(e.blobs.put(&key, bytes[..bytes.len() / 3].to_vec(), "x")).unwrap();
        }),
        ("a result deleted while its DONE mark exists", |e, id| {
            std::fs::remove_file(e.blobs.root().join(format!("runs/{id}/results/0002.json")))
                .unwrap();
        }),
        ("a number altered inside a valid result", |e, id| {
            let key = format!("runs/{id}/results/0000.json");
            let text = String::from_utf8(pollster::block_on(e.blobs.get(&key)).unwrap()).unwrap();
            let altered = text.replacen("\"pnl\":-", "\"pnl\":-9", 1);
            assert_ne!(altered, text);
            pollster::block_on(e.blobs.put(&key, altered.into_bytes(), "x")).unwrap();
        }),
        ("the manifest deleted", |e, id| {
            std::fs::remove_file(e.blobs.root().join(format!("runs/{id}/manifest.json"))).unwrap();
        }),
        ("a scenario slice truncated", |e, id| {
            let key = format!("runs/{id}/scenarios/0001.json");
            pollster::block_on(e.blobs.put(&key, b"[".to_vec(), "x")).unwrap();
        }),
        ("aggregate and findings garbled", |e, id| {
            pollster::block_on(e.blobs.put(
                &format!("runs/{id}/aggregate.json"),
                b"{}".to_vec(),
                "x",
            ))
            .unwrap();
            pollster::block_on(e.blobs.put(
                &format!("runs/{id}/findings/risk-decomposition-engineer.json"),
                b"null".to_vec(),
                "x",
            ))
            .unwrap();
        }),
    ];
    let clean_env = env();
    let req = request(120, 3, 21);
    let id = run(&clean_env, &req, 2).unwrap();
    let clean = artifacts(&clean_env, &id);
    for (what, tamper) in cases {
        let e = env();
        assert_eq!(run(&e, &req, 2).unwrap(), id);
        tamper(&e, &id);
        assert_eq!(
            run(&e, &req, 2).unwrap_or_else(|err| panic!("{what}: {err}")),
            id
        );
        let diff = differing(&clean, &artifacts(&e, &id));
        assert!(
            diff.is_empty(),
            "{what}: differs from the clean run: {diff:?}"
        );
    }
}

#[test]
fn a_failed_run_can_be_rerun() {
    let e = env();
    let req = request(100, 2, 8);
    let plan = pollster::block_on(registry::partition(&e.blobs, &e.runs, &req)).unwrap();
    pollster::block_on(e.runs.set_run_status(
        &plan.run_id,
        RunStatus::Failed,
        Some("Lambda timed out"),
    ))
    .unwrap();
    assert_eq!(run(&e, &req, 1).unwrap(), plan.run_id);
    let meta = pollster::block_on(e.runs.get_run(&plan.run_id))
        .unwrap()
        .unwrap();
    assert_eq!(meta.status, RunStatus::Succeeded);
    assert_eq!(meta.detail, None);
}

#[test]
fn results_hold_the_scenarios_and_tail_figures() {
    let e = env();
    let id = run(&e, &request(120, 4, 1), 0).unwrap();
    let results: serde_json::Value = serde_json::from_slice(
        &pollster::block_on(e.blobs.get(&stages::deliverable_key(&id, "results.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        results["results"]["scenarios"].as_array().unwrap().len(),
        120
    );
    let views = results["results"]["risk_views"].as_array().unwrap();
    let keys: Vec<&str> = views.iter().map(|v| v["key"].as_str().unwrap()).collect();
    for k in [
        "normal_sample",
        "normal_shrunk",
        "stressed_period",
        "scenario_set",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    for v in views {
        for t in v["tails"].as_array().unwrap() {
            // A tail resting on under one observation is not estimated, and says why.
            if t["var"].is_null() {
                assert!(
                    t["es"].is_null() && t["not_reported_reason"].is_string(),
                    "{v}"
                );
                continue;
            }
            let (var, es) = (t["var"].as_f64().unwrap(), t["es"].as_f64().unwrap());
            assert!(var > 0.0 && es >= var, "{v}");
        }
    }
    let run = pollster::block_on(e.runs.get_run(&id)).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    let audit: stresslab_core::audit::Audit = serde_json::from_slice(
        &pollster::block_on(e.blobs.get(&stages::deliverable_key(&id, "audit.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(audit.run_id, id);
    assert_eq!(audit.engine_version, stresslab_factor_version());
    assert_eq!(
        audit.inputs.len(),
        2,
        "portfolio and market data, with digests"
    );
    // The audit records every parameter the run used, defaults included.
    assert_eq!(
        audit.parameters,
        serde_json::to_value(stresslab_factor::FactorParams {
            scenarios: 120,
            partitions: 4,
            ..Default::default()
        })
        .unwrap()
    );
    let stage_names: Vec<&str> = audit.stages.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(stage_names.first(), Some(&"partition"));
    assert_eq!(
        stage_names.len(),
        11,
        "partition, four partitions, aggregate, four personas, synthesize: {stage_names:?}"
    );
    assert!(
        stage_names.contains(&"compute-partition 0003"),
        "{stage_names:?}"
    );
    assert_eq!(stage_names.last(), Some(&"synthesize (until audit.json)"));
    assert_eq!(audit.narrator, "template");
}

#[test]
fn retried_partitions_never_double_count_and_aggregate_waits_for_missing_ones() {
    let e = env();
    let plan =
        pollster::block_on(registry::partition(&e.blobs, &e.runs, &request(100, 4, 3))).unwrap();
    let run = RunRef {
        run_id: plan.run_id.clone(),
        workflow: plan.workflow.clone(),
    };
    // Partitions 0 and 2 only: aggregate must refuse, retryably, naming 1 and 3.
    for p in [0, 2] {
        let done = pollster::block_on(registry::compute_partition(
            &e.blobs,
            &e.runs,
            &plan.partitions[p],
        ))
        .unwrap();
        assert!(done.computed);
    }
    match pollster::block_on(registry::aggregate(&e.blobs, &e.runs, &run)) {
        Err(StageError::Retryable(msg)) => assert!(msg.ends_with("not DONE yet: 1, 3"), "{msg}"),
        other => panic!("aggregate must wait for partitions 1 and 3, got {other:?}"),
    }
    for task in &plan.partitions {
        pollster::block_on(registry::compute_partition(&e.blobs, &e.runs, task)).unwrap();
    }
    pollster::block_on(registry::aggregate(&e.blobs, &e.runs, &run)).unwrap();
    let first = pollster::block_on(e.blobs.get(&stages::aggregate_key(&run.run_id))).unwrap();
    // Retry everything: partition, every compute, aggregate. Nothing is recomputed and
    // the aggregate is byte-identical (no scenario counted twice).
    let again =
        pollster::block_on(registry::partition(&e.blobs, &e.runs, &request(100, 4, 3))).unwrap();
    assert_eq!(again, plan);
    for task in &plan.partitions {
        let retry =
            pollster::block_on(registry::compute_partition(&e.blobs, &e.runs, task)).unwrap();
        assert!(!retry.computed, "a DONE partition must not be recomputed");
    }
    pollster::block_on(registry::aggregate(&e.blobs, &e.runs, &run)).unwrap();
    let second = pollster::block_on(e.blobs.get(&stages::aggregate_key(&run.run_id))).unwrap();
    assert!(first == second);
    let agg: serde_json::Value = serde_json::from_slice(&second).unwrap();
    assert_eq!(agg["outcomes"].as_array().unwrap().len(), 100);
    // A retried DONE partition whose result verifies is not recomputed.
    let retry = pollster::block_on(registry::compute_partition(
        &e.blobs,
        &e.runs,
        &plan.partitions[0],
    ))
    .unwrap();
    assert!(!retry.computed);
}

#[test]
fn invalid_input_creates_no_run() {
    let e = env();
    let bad = br#"{"portfolio_id":"bad","base_currency":"USD","positions":[{"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":-1}]}"#;
    pollster::block_on(
        e.blobs
            .put("uploads/bad.json", bad.to_vec(), "application/json"),
    )
    .unwrap();
    let mut req = request(100, 4, 1);
    req.portfolio_key = "uploads/bad.json".into();
    match pollster::block_on(registry::partition(&e.blobs, &e.runs, &req)) {
        Err(StageError::NonRetryable(msg)) => {
            assert!(msg.contains("positions[0].market_value"), "{msg}")
        }
        other => panic!("expected a NonRetryable rejection, got {other:?}"),
    }
    assert!(pollster::block_on(e.runs.runs_for_portfolio("bad"))
        .unwrap()
        .is_empty());
    assert!(pollster::block_on(e.blobs.list("runs/"))
        .unwrap()
        .is_empty());

    let small = request(99, 4, 1);
    match pollster::block_on(registry::partition(&e.blobs, &e.runs, &small)) {
        Err(StageError::NonRetryable(msg)) => {
            assert!(msg.contains("parameters.scenarios (--scenarios)"), "{msg}")
        }
        other => panic!("expected a parameter error, got {other:?}"),
    }
    let mut missing = request(100, 4, 1);
    missing.portfolio_key = "uploads/nope.json".into();
    match pollster::block_on(registry::partition(&e.blobs, &e.runs, &missing)) {
        Err(StageError::NonRetryable(msg)) => assert!(msg.starts_with("portfolio_key"), "{msg}"),
        other => panic!("expected a missing-object error, got {other:?}"),
    }
}

/// What is not there will not appear by retrying: every operation answers
/// `NonRetryable` (not `Retryable`, which the state machine retries with backoff) for a
/// run that does not exist, and for a workflow the registry does not know — driven by
/// each operation Lambda's own sample event.
#[test]
fn every_operation_refuses_unknown_runs_and_workflows_without_retrying() {
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../events");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(events.join(format!("{name}.json"))).unwrap())
            .unwrap()
    };
    for workflow in [None, Some("no-such-workflow")] {
        let e = Env {
            _dir: tempfile::tempdir().unwrap(),
            blobs: DiskBlobStore::new(std::env::temp_dir().join("stresslab-empty-never-written")),
            runs: DiskRunStore::new(
                std::env::temp_dir().join("stresslab-empty-never-written-runs"),
            ),
        };
        let with = |mut v: serde_json::Value| {
            if let Some(w) = workflow {
                v["workflow"] = w.into();
            }
            v
        };
        let results: Vec<(&str, Result<(), StageError>)> = vec![
            (
                "partition",
                pollster::block_on(registry::partition(
                    &e.blobs,
                    &e.runs,
                    &serde_json::from_value(with(read("partition"))).unwrap(),
                ))
                .map(|_| ()),
            ),
            (
                "compute-partition",
                pollster::block_on(registry::compute_partition(
                    &e.blobs,
                    &e.runs,
                    &serde_json::from_value(with(read("compute-partition"))).unwrap(),
                ))
                .map(|_| ()),
            ),
            (
                "aggregate",
                pollster::block_on(registry::aggregate(
                    &e.blobs,
                    &e.runs,
                    &serde_json::from_value(with(read("aggregate"))).unwrap(),
                ))
                .map(|_| ()),
            ),
            (
                "synthesize",
                pollster::block_on(registry::synthesize(
                    &e.blobs,
                    &e.runs,
                    &TemplateNarrator,
                    &serde_json::from_value(with(read("synthesize"))).unwrap(),
                ))
                .map(|_| ()),
            ),
        ];
        for (op, result) in results {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{op} ran without its inputs"));
            assert_eq!(err.error_type(), "NonRetryable", "{op}: {err}");
            if let Some(w) = workflow {
                assert!(err.to_string().contains(w), "{op}: {err}");
            }
        }
        // Every persona of every workflow, by name, the same way.
        for info in registry::catalog() {
            for p in &info.personas {
                let run: RunRef = serde_json::from_value(with(read(p.name))).unwrap();
                let err = pollster::block_on(registry::persona(&e.blobs, &e.runs, p.name, &run))
                    .unwrap_err();
                assert_eq!(err.error_type(), "NonRetryable", "{}: {err}", p.name);
            }
        }
    }
}

fn stresslab_factor_version() -> &'static str {
    registry::Workflow::from_name("factor")
        .map(|w| w.info().engine_version)
        .unwrap_or_default()
}
