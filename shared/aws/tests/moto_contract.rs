//! The shared storage contract, run against the S3 and DynamoDB adapters on a real
//! (emulated) AWS API: a moto server this test starts on a free loopback port and stops
//! when it is done. Plus the adapter-specific promises the contract cannot see: the
//! stored item shape the state machine and the GSI rely on, pagination, and error kinds.
//!
//! moto is a hard requirement, not an optional extra: without `moto_server` on PATH the
//! tests fail (CI installs it with `pip install 'moto[server,stepfunctions]==5.2.5'`).

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::{SystemTime, UNIX_EPOCH};
use stresslab_aws::config::{dynamodb_client, s3_client};
use stresslab_aws::{ensure_bucket_and_table, from_sdk_config, DynamoRunStore, S3BlobStore};
use stresslab_core::storage::contract::{
    assessment_store_contract, blob_store_contract, run_store_contract,
};
use stresslab_core::storage::*;

// The moto server the other crates' tests use (feature `moto`), shared by source so
// this suite needs no feature of its own crate.
#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
use moto::MotoServer;

/// A scope no other run of this suite shares.
fn unique_scope() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("t{}-{nanos}", std::process::id())
}

struct Fixture {
    // Declared first so the stores (and their clients) drop before the server.
    blobs: S3BlobStore,
    runs: DynamoRunStore,
    sdk: SdkConfig,
    _moto: MotoServer,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let (bucket, table) = ("stresslab-artifacts", "stresslab-runs");
    ensure_bucket_and_table(&s3_client(&sdk), &dynamodb_client(&sdk), bucket, table)
        .await
        .expect("provision bucket and table on moto");
    let (blobs, runs) = from_sdk_config(&sdk, bucket, table);
    Fixture {
        blobs,
        runs,
        sdk,
        _moto: moto,
    }
}

#[tokio::test]
async fn s3_blob_store_honours_the_storage_contract() {
    let fx = fixture().await;
    blob_store_contract(&fx.blobs, &unique_scope()).await;
}

#[tokio::test]
async fn dynamo_run_store_honours_the_storage_contract() {
    let fx = fixture().await;
    run_store_contract(&fx.runs, &unique_scope()).await;
}

#[tokio::test]
async fn dynamo_run_store_honours_the_assessment_contract() {
    let fx = fixture().await;
    // Pages of one item: the portfolio listing must follow every page.
    assessment_store_contract(&fx.runs.clone().with_page_size(1), &unique_scope()).await;
}

#[tokio::test]
async fn s3_list_follows_continuation_tokens() {
    let fx = fixture().await;
    let store = fx.blobs.clone().with_list_page_size(2);
    let scope = unique_scope();
    let mut expected: Vec<String> = (0..7)
        .rev()
        .map(|i| format!("runs/{scope}/partitions/{i:04}.json"))
        .collect();
    for key in &expected {
        store
            .put(key, b"{}".to_vec(), "application/json")
            .await
            .expect("put");
    }
    expected.sort();
    let listed = store.list(&format!("runs/{scope}/")).await.expect("list");
    assert_eq!(listed, expected, "every page must be read, keys sorted");
}

#[tokio::test]
async fn s3_put_sets_the_content_type() {
    let fx = fixture().await;
    let key = format!("runs/{}/report.html", unique_scope());
    fx.blobs
        .put(&key, b"<html></html>".to_vec(), "text/html; charset=utf-8")
        .await
        .expect("put");
    let head = fx
        .blobs
        .client()
        .head_object()
        .bucket(fx.blobs.bucket())
        .key(&key)
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));
}

#[tokio::test]
async fn a_missing_bucket_is_a_permanent_error_not_a_missing_key() {
    let fx = fixture().await;
    let (blobs, _) = from_sdk_config(&fx.sdk, "no-such-bucket-here", "unused");
    match blobs.get("runs/x/y.json").await {
        Err(StoreError::Permanent(msg)) => assert!(msg.contains("NoSuchBucket"), "{msg}"),
        other => panic!("a missing bucket must be Permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_table_is_a_permanent_error() {
    let fx = fixture().await;
    let (_, runs) = from_sdk_config(&fx.sdk, "unused", "no-such-table");
    match runs.get_run("r").await {
        Err(StoreError::Permanent(_)) => {}
        other => panic!("a missing table must be Permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn provisioning_twice_is_harmless() {
    let fx = fixture().await;
    ensure_bucket_and_table(
        fx.blobs.client(),
        fx.runs.client(),
        fx.blobs.bucket(),
        fx.runs.table(),
    )
    .await
    .expect("second provisioning is a no-op");
    let table = fx
        .runs
        .client()
        .describe_table()
        .table_name(fx.runs.table())
        .send()
        .await
        .expect("describe");
    let index_names: Vec<_> = table
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(index_names, vec!["ByPortfolio"]);
    let ttl = fx
        .runs
        .client()
        .describe_time_to_live()
        .table_name(fx.runs.table())
        .send()
        .await
        .expect("describe ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires_at")
    );
}

fn run_record(run_id: &str, portfolio_id: &str) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        workflow: "factor".into(),
        portfolio_id: portfolio_id.into(),
        created_at: "2026-04-01T12:00:00Z".into(),
        partition_count: 5,
        scenario_count: 500,
        seed: u64::MAX,
        status: RunStatus::Running,
        detail: None,
        engine_version: "factor/test".into(),
        recipe: RunRecipe {
            portfolio_key: "uploads/book.json".into(),
            portfolio_sha256: "ab".repeat(32),
            market_data_key: None,
            market_data_sha256: None,
            parameters: "{}".into(),
            manifest_sha256: "cd".repeat(32),
        },
        started_by: None,
    }
}

#[tokio::test]
async fn meta_item_carries_the_index_and_ttl_attributes() {
    let fx = fixture().await;
    let scope = unique_scope();
    let run = run_record(&format!("{scope}-run"), &format!("{scope}-pf"));
    fx.runs.create_run(&run).await.expect("create");
    let item = fx
        .runs
        .client()
        .get_item()
        .table_name(fx.runs.table())
        .key("PK", AttributeValue::S(format!("RUN#{}", run.run_id)))
        .key("SK", AttributeValue::S("META".into()))
        .send()
        .await
        .expect("get item")
        .item
        .expect("META item present");
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(
        text("GSI1PK"),
        Some(format!("PORTFOLIO#{}", run.portfolio_id))
    );
    assert_eq!(
        text("GSI1SK"),
        Some(format!("{}#{}", run.created_at, run.run_id))
    );
    assert_eq!(text("status").as_deref(), Some("RUNNING"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let expires_at: u64 = item
        .get("expires_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .expect("numeric expires_at");
    assert!(expires_at > now + 89 * 86_400 && expires_at < now + 91 * 86_400);
    // u64::MAX survives the trip through a DynamoDB number.
    assert_eq!(
        fx.runs
            .get_run(&run.run_id)
            .await
            .expect("get")
            .map(|r| r.seed),
        Some(u64::MAX)
    );
}

/// The state machine's Catch marks a run FAILED with a Step Functions DynamoDB
/// UpdateItem that writes `status` and `detail` directly; the adapter must read it.
#[tokio::test]
async fn a_failure_written_by_the_state_machine_is_read_back() {
    let fx = fixture().await;
    let scope = unique_scope();
    let run = run_record(&format!("{scope}-run"), "pf");
    fx.runs.create_run(&run).await.expect("create");
    fx.runs
        .client()
        .update_item()
        .table_name(fx.runs.table())
        .key("PK", AttributeValue::S(format!("RUN#{}", run.run_id)))
        .key("SK", AttributeValue::S("META".into()))
        .update_expression("SET #s = :s, #d = :d")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#d", "detail")
        .expression_attribute_values(":s", AttributeValue::S("FAILED".into()))
        .expression_attribute_values(":d", AttributeValue::S("States.TaskFailed".into()))
        .send()
        .await
        .expect("raw update");
    let got = fx
        .runs
        .get_run(&run.run_id)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(got.status, RunStatus::Failed);
    assert_eq!(got.detail.as_deref(), Some("States.TaskFailed"));
}

#[tokio::test]
async fn status_of_an_unknown_run_is_not_found_and_creates_nothing() {
    let fx = fixture().await;
    let run_id = format!("{}-ghost", unique_scope());
    match fx
        .runs
        .set_run_status(&run_id, RunStatus::Failed, Some("x"))
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(fx.runs.get_run(&run_id).await.expect("get"), None);
}

#[tokio::test]
async fn partitions_and_runs_are_read_across_pages() {
    let fx = fixture().await;
    let runs = fx.runs.clone().with_page_size(2);
    let scope = unique_scope();
    let portfolio = format!("{scope}-pf");
    let run = run_record(&format!("{scope}-run"), &portfolio);
    runs.create_run(&run).await.expect("create");
    runs.register_partitions(&run.run_id, 5)
        .await
        .expect("register");
    let parts = runs.partitions(&run.run_id).await.expect("partitions");
    assert_eq!(
        parts.iter().map(|p| p.partition).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    for i in 0..5 {
        let stage = StageRecord {
            stage: format!("stage-{i}"),
            artifact_key: format!("runs/{}/{i}.json", run.run_id),
            sha256: "00".repeat(32),
            duration_ms: i,
        };
        runs.record_stage(&run.run_id, &stage).await.expect("stage");
    }
    assert_eq!(runs.stages(&run.run_id).await.expect("stages").len(), 5);

    let mut ids = Vec::new();
    for day in 1..=5 {
        let mut r = run_record(&format!("{scope}-run-{day}"), &portfolio);
        r.created_at = format!("2026-05-0{day}T00:00:00Z");
        runs.create_run(&r).await.expect("create");
        ids.push(r.run_id);
    }
    ids.reverse();
    let listed: Vec<_> = runs
        .runs_for_portfolio(&portfolio)
        .await
        .expect("runs")
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    // Newest first; the first run (April) is the oldest.
    ids.push(run.run_id.clone());
    assert_eq!(listed, ids);
}

/// Run every stage of a request through the registry on the S3/DynamoDB adapters, in
/// the state machine's order. Returns the run id.
async fn run_all<B: BlobStore, R: RunStore>(
    blobs: &B,
    runs: &R,
    request: &stresslab_core::api::RunRequest,
) -> String {
    use stresslab_core::api::RunRef;
    let plan = stresslab_registry::partition(blobs, runs, request)
        .await
        .expect("partition");
    for task in &plan.partitions {
        stresslab_registry::compute_partition(blobs, runs, task)
            .await
            .expect("compute");
    }
    let run = RunRef {
        run_id: plan.run_id.clone(),
        workflow: plan.workflow.clone(),
    };
    stresslab_registry::aggregate(blobs, runs, &run)
        .await
        .expect("aggregate");
    let info = stresslab_registry::Workflow::parse(&run.workflow)
        .expect("workflow")
        .info();
    for level in info.persona_levels {
        for persona in level {
            stresslab_registry::persona(blobs, runs, persona, &run)
                .await
                .expect("persona");
        }
    }
    stresslab_registry::synthesize(
        blobs,
        runs,
        &stresslab_core::narrative::TemplateNarrator,
        &run,
    )
    .await
    .expect("synthesize");
    plan.run_id
}

/// Everything under `runs/<id>/` but the audit record (which holds timings).
async fn snapshot<B: BlobStore>(
    blobs: &B,
    run_id: &str,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for key in blobs.list(&format!("runs/{run_id}/")).await.expect("list") {
        if !key.ends_with("/audit.json") {
            let bytes = blobs.get(&key).await.expect("get");
            out.insert(key, bytes);
        }
    }
    out
}

/// The lifecycle cannot be fooled on AWS either: a partition result swapped for
/// another's, a truncated model and a deleted result whose DONE mark exists are all
/// recomputed on the rerun, which ends byte-identical to the clean run.
#[tokio::test]
async fn tampered_artifacts_are_recomputed_on_s3_and_dynamodb() {
    let fx = fixture().await;
    let inputs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/inputs");
    for file in [
        "ff_multifactor_book.json",
        "ff_factors_industries_portfolios_monthly_1949_2017.csv",
    ] {
        let body = std::fs::read(inputs.join(file)).expect("sample input");
        fx.blobs
            .put(&format!("uploads/{file}"), body, "application/octet-stream")
            .await
            .expect("upload");
    }
    let request: stresslab_core::api::RunRequest = serde_json::from_value(serde_json::json!({
        "workflow": "factor",
        "portfolio_key": "uploads/ff_multifactor_book.json",
        "parameters": {"scenarios": 120, "partitions": 3},
        "seed": 11
    }))
    .expect("request");
    let run_id = run_all(&fx.blobs, &fx.runs, &request).await;
    let clean = snapshot(&fx.blobs, &run_id).await;
    assert!(clean.keys().any(|k| k.ends_with("/aggregate.json")));

    let key = |rest: &str| format!("runs/{run_id}/{rest}");
    let other = fx
        .blobs
        .get(&key("results/0000.json"))
        .await
        .expect("result 0");
    fx.blobs
        .put(&key("results/0001.json"), other, "application/json")
        .await
        .expect("swap");
    let model = fx.blobs.get(&key("model.json")).await.expect("model");
    fx.blobs
        .put(
            &key("model.json"),
            model[..model.len() / 2].to_vec(),
            "application/json",
        )
        .await
        .expect("truncate");
    fx.blobs
        .client()
        .delete_object()
        .bucket(fx.blobs.bucket())
        .key(key("results/0002.json"))
        .send()
        .await
        .expect("delete");

    let again = run_all(&fx.blobs, &fx.runs, &request).await;
    assert_eq!(again, run_id);
    let rerun = snapshot(&fx.blobs, &run_id).await;
    let differing: Vec<&String> = clean
        .iter()
        .filter(|(k, v)| rerun.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        differing.is_empty(),
        "differs from the clean run: {differing:?}"
    );
    assert_eq!(rerun.len(), clean.len());
    let meta = fx.runs.get_run(&run_id).await.expect("get").expect("run");
    assert_eq!(meta.status, RunStatus::Succeeded);
}
