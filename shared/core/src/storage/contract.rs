//! The one contract every storage adapter must honour. The local adapters run it in
//! core's unit tests; the S3/DynamoDB adapters run it against a moto server in
//! `shared/aws/tests`. Each check panics with a message naming the broken rule.
//!
//! Callers pass a fresh `scope` (e.g. a unique run-id prefix) so suites can share one
//! bucket/table.

use super::*;

fn run_record(scope: &str, run_id: &str, portfolio_id: &str, created_at: &str) -> RunRecord {
    RunRecord {
        run_id: format!("{scope}{run_id}"),
        workflow: "factor".into(),
        portfolio_id: format!("{scope}{portfolio_id}"),
        created_at: created_at.into(),
        partition_count: 4,
        scenario_count: 500,
        seed: 7,
        status: RunStatus::Running,
        detail: None,
        engine_version: "factor/test".into(),
        recipe: RunRecipe {
            portfolio_key: "uploads/book.csv".into(),
            portfolio_sha256: "ab".repeat(32),
            market_data_key: Some("uploads/md.csv".into()),
            market_data_sha256: Some("cd".repeat(32)),
            parameters: r#"{"scenarios":500,"partitions":4}"#.into(),
            manifest_sha256: "ef".repeat(32),
        },
        started_by: Some("analyst@example".into()),
    }
}

/// Blob store: round trip, overwrite, not-found, sorted listing by prefix.
pub async fn blob_store_contract<B: BlobStore>(store: &B, scope: &str) {
    let k1 = format!("runs/{scope}/b/one.json");
    let k2 = format!("runs/{scope}/a/two.bin");
    let k3 = format!("runs/{scope}x/other.json");
    assert!(
        !store.exists(&k1).await.expect("exists on a missing key"),
        "exists() must be false for a missing key"
    );
    match store.get(&k1).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("get() of a missing key must be NotFound, got {other:?}"),
    }
    store
        .put(&k1, b"{\"v\":1}".to_vec(), "application/json")
        .await
        .expect("put");
    store
        .put(&k2, vec![0, 159, 146, 150], "application/octet-stream")
        .await
        .expect("put binary");
    store
        .put(&k3, b"x".to_vec(), "application/json")
        .await
        .expect("put");
    assert_eq!(store.get(&k1).await.expect("get"), b"{\"v\":1}");
    assert_eq!(store.get(&k2).await.expect("get"), vec![0, 159, 146, 150]);
    assert!(store.exists(&k1).await.expect("exists"));
    // Overwrite replaces the whole body.
    store
        .put(&k1, b"{\"v\":2}".to_vec(), "application/json")
        .await
        .expect("overwrite");
    assert_eq!(store.get(&k1).await.expect("get"), b"{\"v\":2}");
    // Capped reads: at the limit it is read, one byte under it is refused unread.
    assert_eq!(
        store
            .get_limited(&k1, 7)
            .await
            .expect("get_limited at the size"),
        b"{\"v\":2}"
    );
    match store.get_limited(&k1, 6).await {
        Err(StoreError::TooLarge { limit: 6, .. }) => {}
        other => panic!("get_limited() over the limit must be TooLarge, got {other:?}"),
    }
    match store.get_limited(&format!("{k1}.missing"), 6).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("get_limited() of a missing key must be NotFound, got {other:?}"),
    }
    let listed = store.list(&format!("runs/{scope}/")).await.expect("list");
    assert_eq!(
        listed,
        vec![k2.clone(), k1.clone()],
        "list() must return exactly the keys under the prefix, sorted"
    );
    let empty = store
        .list(&format!("runs/{scope}-nothing/"))
        .await
        .expect("list empty");
    assert!(empty.is_empty(), "list() of an unused prefix must be empty");
    // Write-if-absent (scenario libraries): the first write wins and is never replaced.
    let k4 = format!("libraries/{scope}/manifest.json");
    assert!(
        store
            .put_if_absent(&k4, b"first".to_vec(), "application/json")
            .await
            .expect("put_if_absent on a new key"),
        "put_if_absent() must write a new key"
    );
    assert!(
        !store
            .put_if_absent(&k4, b"second".to_vec(), "application/json")
            .await
            .expect("put_if_absent on an existing key"),
        "put_if_absent() must report an existing key"
    );
    assert_eq!(store.get(&k4).await.expect("get"), b"first");
}

/// Run store: conditional creates, idempotent partition completion, consistent reads,
/// stage records, run status, runs by portfolio newest first.
pub async fn run_store_contract<R: RunStore>(store: &R, scope: &str) {
    let run = run_record(scope, "run-a", "pf-1", "2026-01-01T00:00:00Z");
    let run_id = run.run_id.clone();

    assert_eq!(store.get_run(&run_id).await.expect("get_run"), None);
    assert_eq!(store.create_run(&run).await.expect("create"), Created::New);
    match store.create_run(&run).await.expect("create again") {
        Created::Existing(existing) => assert_eq!(existing, run),
        Created::New => panic!("a second create_run must not overwrite the first"),
    }
    assert_eq!(
        store.get_run(&run_id).await.expect("get_run"),
        Some(run.clone())
    );

    // Partitions: register, complete once, retry is a no-op, re-register keeps DONE.
    store
        .register_partitions(&run_id, 3)
        .await
        .expect("register");
    let parts = store.partitions(&run_id).await.expect("partitions");
    assert_eq!(parts.len(), 3);
    assert!(parts
        .iter()
        .enumerate()
        .all(|(i, p)| p.partition == i as u32 && p.status == PartitionStatus::Pending));

    let key1 = format!("runs/{run_id}/partitions/0001.json");
    let digest1 = "0f".repeat(32);
    assert_eq!(
        store
            .complete_partition(&run_id, 1, &key1, &digest1, 12)
            .await
            .expect("complete"),
        Completion::Completed
    );
    assert_eq!(
        store
            .complete_partition(&run_id, 1, &key1, &digest1, 99)
            .await
            .expect("complete again"),
        Completion::AlreadyDone,
        "completing a DONE partition must be a no-op"
    );
    match store.complete_partition(&run_id, 9, "k", &digest1, 1).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("completing an unregistered partition must be NotFound, got {other:?}"),
    }
    store
        .register_partitions(&run_id, 3)
        .await
        .expect("register again");
    let parts = store.partitions(&run_id).await.expect("partitions");
    assert_eq!(
        parts[1].status,
        PartitionStatus::Done,
        "re-register must keep DONE"
    );
    assert_eq!(parts[1].result_key.as_deref(), Some(key1.as_str()));
    assert_eq!(
        parts[1].result_sha256.as_deref(),
        Some(digest1.as_str()),
        "a DONE partition keeps its result digest"
    );
    assert_eq!(
        parts[1].duration_ms,
        Some(12),
        "a DONE partition keeps the duration of the call that completed it"
    );
    assert_eq!(parts[0].status, PartitionStatus::Pending);
    assert_eq!(parts[2].status, PartitionStatus::Pending);

    // Stages: recorded, overwritten, listed.
    let stage = StageRecord {
        stage: "aggregate".into(),
        artifact_key: format!("runs/{run_id}/aggregate.json"),
        sha256: "12".repeat(32),
        duration_ms: 42,
    };
    store.record_stage(&run_id, &stage).await.expect("stage");
    store
        .record_stage(&run_id, &stage)
        .await
        .expect("stage again");
    let synth = StageRecord {
        stage: "synthesize".into(),
        artifact_key: format!("runs/{run_id}/report.html"),
        sha256: "34".repeat(32),
        duration_ms: 7,
    };
    store.record_stage(&run_id, &synth).await.expect("stage");
    let mut stages = store.stages(&run_id).await.expect("stages");
    stages.sort_by(|a, b| a.stage.cmp(&b.stage));
    assert_eq!(stages, vec![stage, synth]);

    // Status.
    store
        .set_run_status(&run_id, RunStatus::Failed, Some("boom"))
        .await
        .expect("status");
    let got = store.get_run(&run_id).await.expect("get").expect("present");
    assert_eq!(
        (&got.recipe, &got.engine_version, &got.started_by),
        (&run.recipe, &run.engine_version, &run.started_by),
        "the recipe, engine version and starter round-trip"
    );
    assert_eq!(got.status, RunStatus::Failed);
    assert_eq!(got.detail.as_deref(), Some("boom"));
    store
        .set_run_status(&run_id, RunStatus::Succeeded, None)
        .await
        .expect("status");
    let got = store.get_run(&run_id).await.expect("get").expect("present");
    assert_eq!(got.status, RunStatus::Succeeded);
    assert_eq!(got.detail, None);

    // Runs by portfolio, newest first; other portfolios excluded.
    let newer = run_record(scope, "run-b", "pf-1", "2026-02-01T00:00:00Z");
    let other = run_record(scope, "run-c", "pf-2", "2026-03-01T00:00:00Z");
    store.create_run(&newer).await.expect("create");
    store.create_run(&other).await.expect("create");
    let runs = store
        .runs_for_portfolio(&run.portfolio_id)
        .await
        .expect("runs_for_portfolio");
    let ids: Vec<_> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, vec![newer.run_id.as_str(), run_id.as_str()]);
}

fn assessment_record(
    scope: &str,
    id: &str,
    portfolio_id: &str,
    requested_at: &str,
    score: f64,
) -> AssessmentRecord {
    AssessmentRecord {
        assessment_id: format!("{scope}{id}"),
        portfolio_id: format!("{scope}{portfolio_id}"),
        requested_at: requested_at.into(),
        requested_by: Some("analyst@example".into()),
        input_hash: "ab".repeat(32),
        // Nested values, a float that needs every digit, a large integer and unicode:
        // the record must come back exactly as stored.
        audit: serde_json::json!({
            "assessment_id": format!("{scope}{id}"),
            "score": score,
            "seed": u64::MAX,
            "tier": "human_review",
            "agents": [{"agent": "market", "processing_ms": 1.2345678901234567, "status": "completed"}],
            "breaches": ["Var99: portfolio 0.0312 vs 0.0300 — ≥ limit"],
        }),
    }
}

/// Assessment store: conditional put (a retry is a no-op answered with the stored
/// record), exact round trip, unknown ids, listing by portfolio newest first.
pub async fn assessment_store_contract<A: AssessmentStore + RunStore>(store: &A, scope: &str) {
    let first = assessment_record(scope, "asm-a", "pf-1", "2026-01-01T00:00:00Z", 41.25);
    let id = first.assessment_id.clone();
    assert_eq!(
        store.get_assessment(&id).await.expect("get_assessment"),
        None,
        "an unknown assessment id must read as None"
    );
    assert_eq!(
        store.put_assessment(&first).await.expect("put"),
        Created::New
    );
    // A retry carrying different numbers (a re-computation) must not replace it.
    let mut retry = first.clone();
    retry.audit["score"] = serde_json::json!(99.0);
    match store.put_assessment(&retry).await.expect("put again") {
        Created::Existing(existing) => assert_eq!(
            existing, first,
            "a second put must answer with the first record"
        ),
        Created::New => panic!("a second put_assessment with one id must not write"),
    }
    assert_eq!(
        store.get_assessment(&id).await.expect("get"),
        Some(first.clone()),
        "the record must round-trip exactly"
    );

    let mut anonymous = assessment_record(scope, "asm-b", "pf-1", "2026-02-01T00:00:00Z", 12.0);
    anonymous.requested_by = None;
    let other = assessment_record(scope, "asm-c", "pf-2", "2026-03-01T00:00:00Z", 70.0);
    store.put_assessment(&anonymous).await.expect("put");
    store.put_assessment(&other).await.expect("put");
    assert_eq!(
        store
            .get_assessment(&anonymous.assessment_id)
            .await
            .expect("get"),
        Some(anonymous.clone())
    );
    let listed = store
        .assessments_for_portfolio(&first.portfolio_id)
        .await
        .expect("assessments_for_portfolio");
    let ids: Vec<_> = listed.iter().map(|a| a.assessment_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![anonymous.assessment_id.as_str(), id.as_str()],
        "a portfolio's assessments, newest first, no other portfolio's"
    );
    assert!(store
        .assessments_for_portfolio(&format!("{scope}pf-none"))
        .await
        .expect("empty listing")
        .is_empty());
    // Assessments share the run store, never its run history.
    assert!(
        store
            .runs_for_portfolio(&first.portfolio_id)
            .await
            .expect("runs_for_portfolio")
            .is_empty(),
        "an assessment must not be listed as a run of its portfolio"
    );
}
