//! Run lifecycle on the local adapters: same inputs and seed → same run id and bytes;
//! retries never double-count; aggregate waits (retryably, naming them) for missing
//! partitions; invalid input creates no run.

use stresslab_core::api::*;
use stresslab_core::local::{DiskBlobStore, DiskRunStore};
use stresslab_core::narrative::TemplateNarrator;
use stresslab_core::runner;
use stresslab_core::stages;
use stresslab_core::storage::{BlobStore, RunStore};
use stresslab_core::StageError;

const BOOK: &[u8] = include_bytes!("../../../events/inputs/ff_multifactor_book.json");
const MARKET: &[u8] =
    include_bytes!("../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv");

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
    RunRequest {
        workflow: Workflow::Factor,
        portfolio_key: "uploads/book.json".into(),
        market_data_key: None,
        parameters: RunParameters {
            scenarios: Some(scenarios),
            partitions: Some(partitions),
        },
        seed: Some(seed),
    }
}

#[test]
fn same_inputs_and_seed_give_the_same_run_id_and_bytes() {
    let (a, b) = (env(), env());
    let req = request(150, 3, 11);
    let id_a = pollster::block_on(runner::run_workflow(
        &a.blobs,
        &a.runs,
        &TemplateNarrator,
        &req,
        |_| {},
    ))
    .unwrap();
    let id_b = pollster::block_on(runner::run_workflow(
        &b.blobs,
        &b.runs,
        &TemplateNarrator,
        &req,
        |_| {},
    ))
    .unwrap();
    assert_eq!(id_a, id_b);
    for file in ["aggregate.json", "results.json", "report.html"] {
        let key = stages::deliverable_key(&id_a, file);
        let x = pollster::block_on(a.blobs.get(&key)).unwrap();
        let y = pollster::block_on(b.blobs.get(&key)).unwrap();
        assert!(x == y, "{file} differs between identical runs");
    }
    let other =
        pollster::block_on(stages::partition(&a.blobs, &a.runs, &request(150, 3, 12))).unwrap();
    assert_ne!(other.run_id, id_a, "another seed must be another run");
}

#[test]
fn results_hold_the_scenarios_and_tail_figures() {
    let e = env();
    let id = pollster::block_on(runner::run_workflow(
        &e.blobs,
        &e.runs,
        &TemplateNarrator,
        &request(120, 4, 1),
        |_| {},
    ))
    .unwrap();
    let results: serde_json::Value = serde_json::from_slice(
        &pollster::block_on(e.blobs.get(&stages::deliverable_key(&id, "results.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(results["scenarios"].as_array().unwrap().len(), 120);
    let views = results["risk"].as_array().unwrap();
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
            let (var, es) = (t["var"].as_f64().unwrap(), t["es"].as_f64().unwrap());
            assert!(var > 0.0 && es >= var, "{v}");
        }
    }
    let run = pollster::block_on(e.runs.get_run(&id)).unwrap().unwrap();
    assert_eq!(run.status, stresslab_core::storage::RunStatus::Succeeded);
}

#[test]
fn retried_partitions_never_double_count_and_aggregate_waits_for_missing_ones() {
    let e = env();
    let plan =
        pollster::block_on(stages::partition(&e.blobs, &e.runs, &request(100, 4, 3))).unwrap();
    let run = RunRef {
        run_id: plan.run_id.clone(),
        workflow: Workflow::Factor,
    };
    // Partitions 0 and 2 only: aggregate must refuse, retryably, naming 1 and 3.
    for p in [0, 2] {
        let done = pollster::block_on(stages::compute_partition(
            &e.blobs,
            &e.runs,
            &plan.partitions[p],
        ))
        .unwrap();
        assert!(done.computed);
    }
    match pollster::block_on(stages::aggregate(&e.blobs, &e.runs, &run)) {
        Err(StageError::Retryable(msg)) => assert!(msg.ends_with("not DONE yet: 1, 3"), "{msg}"),
        other => panic!("aggregate must wait for partitions 1 and 3, got {other:?}"),
    }
    for task in &plan.partitions {
        pollster::block_on(stages::compute_partition(&e.blobs, &e.runs, task)).unwrap();
    }
    pollster::block_on(stages::aggregate(&e.blobs, &e.runs, &run)).unwrap();
    let first = pollster::block_on(e.blobs.get(&stages::aggregate_key(&run.run_id))).unwrap();
    // Retry everything: partition, every compute, aggregate. Nothing is recomputed and
    // the aggregate is byte-identical (no scenario counted twice).
    let again =
        pollster::block_on(stages::partition(&e.blobs, &e.runs, &request(100, 4, 3))).unwrap();
    assert_eq!(again, plan);
    for task in &plan.partitions {
        let retry = pollster::block_on(stages::compute_partition(&e.blobs, &e.runs, task)).unwrap();
        assert!(!retry.computed, "a DONE partition must not be recomputed");
    }
    pollster::block_on(stages::aggregate(&e.blobs, &e.runs, &run)).unwrap();
    let second = pollster::block_on(e.blobs.get(&stages::aggregate_key(&run.run_id))).unwrap();
    assert!(first == second);
    let agg: serde_json::Value = serde_json::from_slice(&second).unwrap();
    assert_eq!(agg["outcomes"].as_array().unwrap().len(), 100);
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
    match pollster::block_on(stages::partition(&e.blobs, &e.runs, &req)) {
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

    let mut small = request(99, 4, 1);
    small.parameters.partitions = Some(4);
    match pollster::block_on(stages::partition(&e.blobs, &e.runs, &small)) {
        Err(StageError::NonRetryable(msg)) => {
            assert!(msg.starts_with("parameters.scenarios"), "{msg}")
        }
        other => panic!("expected a parameter error, got {other:?}"),
    }
    let mut missing = request(100, 4, 1);
    missing.portfolio_key = "uploads/nope.json".into();
    match pollster::block_on(stages::partition(&e.blobs, &e.runs, &missing)) {
        Err(StageError::NonRetryable(msg)) => assert!(msg.starts_with("portfolio_key"), "{msg}"),
        other => panic!("expected a missing-object error, got {other:?}"),
    }
}
