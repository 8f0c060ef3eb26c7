//! The `realtime-risk` Lambda's router over DynamoDB on moto, driven by HTTP API events
//! as lambda_http builds them: the sample event is assessed, its audit record stored
//! under `ASSESSMENT#<id>` with the IAM caller and read back by `GET /assessments/{id}`;
//! a bad request is 400 with its fields and stores nothing.
//!
//! moto is a hard requirement (scripts/setup.sh installs `moto[server,stepfunctions]`).

use http_body_util::BodyExt;
use realtime_risk::{lambda_config, DynamoAssessor};
use serde_json::{json, Value};
use std::sync::Arc;
use stresslab_api::axum::body::Body;
use stresslab_api::axum::http::{Request, StatusCode};
use stresslab_api::axum::Router;
use stresslab_aws::config::{dynamodb_client, s3_client};
use stresslab_aws::moto::MotoServer;
use stresslab_aws::{ensure_bucket_and_table, DynamoRunStore};
use tower::ServiceExt;

const SAMPLE_EVENT: &str = include_str!("../../../events/realtime-risk.json");
const TABLE: &str = "stresslab-runs";

async fn fixture() -> (Router, DynamoRunStore, MotoServer) {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let ddb = dynamodb_client(&sdk);
    ensure_bucket_and_table(&s3_client(&sdk), &ddb, "stresslab-artifacts", TABLE)
        .await
        .unwrap();
    let store = DynamoRunStore::new(ddb, TABLE);
    let assessor = DynamoAssessor::new(store.clone()).expect("the calibrated model");
    (
        stresslab_api::assessments::router(Arc::new(assessor), lambda_config()),
        store,
        moto,
    )
}

async fn send(router: &Router, request: lambda_http::Request) -> (StatusCode, Value) {
    let (parts, body) = request.into_parts();
    let response = router
        .clone()
        .oneshot(Request::from_parts(parts, Body::from(body.to_vec())))
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"));
    (status, json)
}

fn event_with(method: &str, path: &str, body: Option<String>) -> lambda_http::Request {
    let mut event: Value = serde_json::from_str(SAMPLE_EVENT).unwrap();
    event["routeKey"] = json!(format!("{method} {path}"));
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = body.map_or(Value::Null, Value::String);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::test]
async fn the_sample_event_is_assessed_and_its_audit_record_stored_in_dynamodb() {
    let (router, store, _moto) = fixture().await;
    let request = lambda_http::request::from_str(SAMPLE_EVENT).unwrap();
    let (status, body) = send(&router, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let audit = &body["audit"];
    let id = audit["assessment_id"].as_str().unwrap();
    assert_eq!(audit["portfolio_id"], "sample-event-10");
    assert_eq!(audit["agents"].as_array().unwrap().len(), 4);

    // The item, as DynamoDB holds it.
    use stresslab_core::storage::AssessmentStore;
    let stored = store.get_assessment(id).await.unwrap().expect("stored");
    assert_eq!(&stored.audit, audit);
    assert_eq!(
        stored.requested_by.as_deref(),
        Some("arn:aws:iam::123456789012:user/analyst")
    );
    let listed = store
        .assessments_for_portfolio("sample-event-10")
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    let (status, read) = send(
        &router,
        event_with("GET", &format!("/assessments/{id}"), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(&read["audit"], audit);
}

#[tokio::test]
async fn a_bad_request_is_400_with_its_fields_and_nothing_is_stored() {
    let (router, store, _moto) = fixture().await;
    let mut request: Value = serde_json::from_str(
        serde_json::from_str::<Value>(SAMPLE_EVENT).unwrap()["body"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    request["portfolio"]["portfolio_id"] = json!("bad-one");
    request["portfolio"]["positions"][0]["market_value"] = json!("lots");
    let (status, body) = send(
        &router,
        event_with("POST", "/assessments", Some(request.to_string())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["problems"][0]["path"], "body");

    request["portfolio"]["positions"][0]["market_value"] = json!(f64::MAX);
    request["settings"]["seed"] = json!(-1);
    let (status, body) = send(
        &router,
        event_with("POST", "/assessments", Some(request.to_string())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    use stresslab_core::storage::AssessmentStore;
    assert!(store
        .assessments_for_portfolio("bad-one")
        .await
        .unwrap()
        .is_empty());
    let (status, _) = send(
        &router,
        event_with("GET", "/assessments/asm-00000000000000000000", None),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
