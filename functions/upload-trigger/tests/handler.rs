//! The trigger's decisions on the disk blob store with a recording launcher: what it
//! starts (one execution, named by the run id, on the workflow's state machine), and
//! how a launcher's faults come back (transient → a failed invocation to retry;
//! permanent → logged and dropped; an existing execution → success).

mod common;

use common::{sample_upload, SAMPLE_BOOK_KEY};
use std::sync::Mutex;
use stresslab_core::local::DiskBlobStore;
use stresslab_core::storage::{BlobStore, StoreError};
use stresslab_core::StageError;
use stresslab_registry::upload;
use stresslab_registry::Workflow;
use upload_trigger::*;

/// Records starts; answers with a fixed result.
struct Recording {
    answer: fn() -> Result<Launch, StoreError>,
    calls: Mutex<Vec<(String, String, String)>>,
}

impl Launcher for Recording {
    async fn start(&self, arn: &str, name: &str, input: &str) -> Result<Launch, StoreError> {
        self.calls
            .lock()
            .unwrap()
            .push((arn.into(), name.into(), input.into()));
        (self.answer)()
    }
}

fn machines() -> StateMachines {
    StateMachines::from_lookup(|name| Ok(format!("arn:test:{name}"))).unwrap()
}

/// The factor sample book at `portfolios/factor/book.json`, its market data under
/// `data/` beside it (the layout the trigger expects).
fn with_book(
    answer: fn() -> Result<Launch, StoreError>,
) -> (tempfile::TempDir, DiskBlobStore, Recording) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = DiskBlobStore::new(dir.path());
    for (key, bytes) in sample_upload() {
        pollster::block_on(blobs.put(&key, bytes, "application/octet-stream")).unwrap();
    }
    let recording = Recording {
        answer,
        calls: Mutex::new(Vec::new()),
    };
    (dir, blobs, recording)
}

fn valid_event() -> ObjectCreated {
    ObjectCreated::new("art", SAMPLE_BOOK_KEY)
}

#[test]
fn a_valid_upload_starts_one_execution_named_by_its_run_id() {
    let (_dir, blobs, launcher) = with_book(|| Ok(Launch::Started));
    let out = pollster::block_on(handle(
        &blobs,
        "art",
        &machines(),
        &launcher,
        &valid_event(),
    ))
    .unwrap();
    let Outcome::Started { workflow, run_id } = out else {
        panic!("not started: {out:?}");
    };
    assert_eq!(workflow, "factor");
    let calls = launcher.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    let (arn, name, input) = &calls[0];
    assert_eq!(arn, "arn:test:FACTOR_STATE_MACHINE_ARN");
    assert_eq!(name, &run_id);
    let request: stresslab_core::api::RunRequest = serde_json::from_str(input).unwrap();
    assert_eq!(request.portfolio_key, SAMPLE_BOOK_KEY);
    assert_eq!(
        request.started_by.as_deref(),
        Some(upload::UPLOAD_PRINCIPAL)
    );
}

#[test]
fn an_existing_execution_is_success_and_starts_nothing_new() {
    let (_dir, blobs, launcher) = with_book(|| Ok(Launch::AlreadyExists));
    let out = pollster::block_on(handle(
        &blobs,
        "art",
        &machines(),
        &launcher,
        &valid_event(),
    ))
    .unwrap();
    assert!(matches!(out, Outcome::AlreadyStarted { .. }), "{out:?}");
}

#[test]
fn a_transient_fault_fails_the_invocation_for_a_retry() {
    let (_dir, blobs, launcher) =
        with_book(|| Err(StoreError::Transient("ThrottlingException".into())));
    let err = pollster::block_on(handle(
        &blobs,
        "art",
        &machines(),
        &launcher,
        &valid_event(),
    ))
    .unwrap_err();
    assert!(matches!(err, StageError::Retryable(_)), "{err:?}");
}

#[test]
fn a_permanent_fault_is_logged_and_dropped() {
    let (_dir, blobs, launcher) =
        with_book(|| Err(StoreError::Permanent("AccessDeniedException".into())));
    let out = pollster::block_on(handle(
        &blobs,
        "art",
        &machines(),
        &launcher,
        &valid_event(),
    ))
    .unwrap();
    assert!(
        matches!(&out, Outcome::Dropped { reason } if reason.contains("AccessDenied")),
        "{out:?}"
    );
}

#[test]
fn every_missing_state_machine_variable_is_named() {
    let err = StateMachines::from_lookup(|name| {
        if name == "FACTOR_STATE_MACHINE_ARN" {
            Ok("arn".into())
        } else {
            Err(format!("environment variable {name} is not set"))
        }
    })
    .unwrap_err();
    assert!(err.contains("LIQUIDITY_STATE_MACHINE_ARN"), "{err}");
    assert!(err.contains("HEDGING_STATE_MACHINE_ARN"), "{err}");
    assert!(!err.contains("FACTOR_STATE_MACHINE_ARN"), "{err}");
    let all = machines();
    for &w in Workflow::ALL {
        assert_eq!(
            all.arn(w),
            Some(format!("arn:test:{}", StateMachines::env_var(w)).as_str())
        );
    }
}

#[test]
fn events_for_another_bucket_or_of_another_kind_are_ignored() {
    let (_dir, blobs, launcher) = with_book(|| Ok(Launch::Started));
    let mut other_bucket = ObjectCreated::new("someone-else", "portfolios/factor/b.json");
    let out =
        pollster::block_on(handle(&blobs, "art", &machines(), &launcher, &other_bucket)).unwrap();
    assert!(matches!(out, Outcome::Ignored { .. }), "{out:?}");
    other_bucket.detail.bucket.name = "art".into();
    other_bucket.detail_type = "Object Deleted".into();
    let out =
        pollster::block_on(handle(&blobs, "art", &machines(), &launcher, &other_bucket)).unwrap();
    assert!(matches!(out, Outcome::Ignored { .. }), "{out:?}");
    assert!(launcher.calls.lock().unwrap().is_empty());
}
