//! The API Lambda's router and AWS backend against moto (S3, DynamoDB, Step Functions):
//! requests go through shared/api's router exactly as lambda_http hands them over
//! (built from HTTP API payload-2.0 events, the IAM principal in the request context),
//! and what they did is read back from moto.
//!
//! - `POST /runs` → 202 and exactly one execution, on the workflow's state machine,
//!   named by the run id, its input the RunRequest with the caller's IAM ARN as
//!   `started_by`; the same request again → 200 `created: false`, still one execution;
//! - `GET /runs/{id}`: QUEUED from the execution before the partition stage recorded the
//!   run, then the run store's META and partitions once the real partition stage has
//!   run on the same S3 bucket and DynamoDB table;
//! - `GET /runs/{id}/report`: 409 while RUNNING; a presigned URL that fetches
//!   `runs/<id>/report.html` once the record says SUCCEEDED;
//! - history by portfolio (the ByPortfolio index) and `GET /runs` (ListExecutions);
//! - an inline portfolio is stored content-addressed under `inputs/` before its run
//!   starts; a key outside the readable prefixes is a 400 naming the field;
//! - `POST /loan-simulations` runs in the function itself, within its 4 MiB answer cap.
//!
//! moto is a hard requirement (scripts/setup.sh installs `moto[server,stepfunctions]`).

use api::{lambda_config, AwsBackend, REPORT_LINK_EXPIRY};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use stresslab_api::axum::body::Body;
use stresslab_api::axum::http::{Request, StatusCode};
use stresslab_api::axum::Router;
use stresslab_aws::config::{dynamodb_client, s3_client};
use stresslab_aws::moto::MotoServer;
use stresslab_aws::sfn::{StateMachines, StepFunctionsLauncher};
use stresslab_aws::{ensure_bucket_and_table, DynamoRunStore, S3BlobStore};
use stresslab_core::api::RunRequest;
use stresslab_core::storage::{BlobStore, RunStatus, RunStore};
use stresslab_registry::Workflow;
use tower::ServiceExt;

const BUCKET: &str = "stresslab-api-test";
const TABLE: &str = "stresslab-api-runs";
const ANALYST: &str = "arn:aws:iam::123456789012:user/analyst";
/// The smallest valid definition: moto records executions, it does not run them.
const DEFINITION: &str = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;
const BOOK: &[u8] = include_bytes!("../../../events/inputs/ff_multifactor_book.json");
const MARKET_FILE: &str = "ff_factors_industries_portfolios_monthly_1949_2017.csv";
const MARKET: &[u8] =
    include_bytes!("../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv");
const SAMPLE_EVENT: &str = include_str!("../../../events/api.json");

struct Fixture {
    router: Router,
    blobs: S3BlobStore,
    runs: DynamoRunStore,
    sfn: aws_sdk_sfn::Client,
    machines: StateMachines,
    _moto: MotoServer,
}

impl Fixture {
    async fn start() -> Self {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let (s3, ddb) = (s3_client(&sdk), dynamodb_client(&sdk));
        ensure_bucket_and_table(&s3, &ddb, BUCKET, TABLE)
            .await
            .unwrap();
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        let mut arns = std::collections::BTreeMap::new();
        for &workflow in Workflow::ALL {
            let created = sfn
                .create_state_machine()
                .name(format!("{}-state-machine", workflow.name()))
                .definition(DEFINITION)
                .role_arn("arn:aws:iam::123456789012:role/stresslab-test")
                .send()
                .await
                .unwrap();
            arns.insert(
                StateMachines::env_var(workflow),
                created.state_machine_arn().to_owned(),
            );
        }
        let machines = StateMachines::from_lookup(|name| {
            arns.get(name)
                .cloned()
                .ok_or_else(|| format!("{name} unset"))
        })
        .unwrap();
        let blobs = S3BlobStore::new(s3, BUCKET);
        let runs = DynamoRunStore::new(ddb, TABLE);
        let backend = AwsBackend::new(
            blobs.clone(),
            runs.clone(),
            machines.clone(),
            StepFunctionsLauncher::new(sfn.clone()),
        );
        // The sample event's portfolio, its market data beside it.
        blobs
            .put(
                "portfolios/factor/ff_multifactor_book.json",
                BOOK.to_vec(),
                "application/json",
            )
            .await
            .unwrap();
        blobs
            .put(
                &format!("portfolios/factor/{MARKET_FILE}"),
                MARKET.to_vec(),
                "text/csv",
            )
            .await
            .unwrap();
        Fixture {
            router: stresslab_api::router(Arc::new(backend), lambda_config()),
            blobs,
            runs,
            sfn,
            machines,
            _moto: moto,
        }
    }

    /// Send a request lambda_http built from an HTTP API event; (status, JSON body).
    async fn send(&self, request: lambda_http::Request) -> (StatusCode, Value) {
        let (parts, body) = request.into_parts();
        let body = Body::from(body.to_vec());
        let response = self
            .router
            .clone()
            .oneshot(Request::from_parts(parts, body))
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"));
        (status, json)
    }

    /// The sample event (POST /runs, IAM-signed by ANALYST) with `body` instead.
    fn post_runs(&self, body: &Value) -> lambda_http::Request {
        let mut event: Value = serde_json::from_str(SAMPLE_EVENT).unwrap();
        event["body"] = Value::String(body.to_string());
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    /// A GET of `path` (query string after `?`) as an HTTP API event, IAM-signed by
    /// ANALYST.
    fn get(&self, path: &str) -> lambda_http::Request {
        let mut event: Value = serde_json::from_str(SAMPLE_EVENT).unwrap();
        let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
        event["routeKey"] = json!("$default");
        event["rawPath"] = json!(raw_path);
        event["rawQueryString"] = json!(query);
        event["requestContext"]["http"]["method"] = json!("GET");
        event["requestContext"]["http"]["path"] = json!(raw_path);
        event["body"] = Value::Null;
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    /// (workflow, execution name, input) of every execution in moto.
    async fn executions(&self) -> Vec<(Workflow, String, String)> {
        let mut all = Vec::new();
        for &workflow in Workflow::ALL {
            let listed = self
                .sfn
                .list_executions()
                .state_machine_arn(self.machines.arn(workflow).unwrap())
                .send()
                .await
                .unwrap();
            for e in listed.executions() {
                let described = self
                    .sfn
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .unwrap();
                all.push((
                    workflow,
                    e.name().to_owned(),
                    described.input().unwrap_or_default().to_owned(),
                ));
            }
        }
        all
    }
}

fn sample_body() -> Value {
    let event: Value = serde_json::from_str(SAMPLE_EVENT).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_run_starts_once_by_its_id_and_is_followed_to_its_presigned_report() {
    let f = Fixture::start().await;
    let body = sample_body();

    let (status, accepted) = f.send(f.post_runs(&body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["created"], true);
    assert_eq!(accepted["status"], "QUEUED");
    assert_eq!(accepted["workflow"], "factor");
    let run_id = accepted["run_id"].as_str().unwrap().to_owned();
    assert!(run_id.starts_with("factor-"), "{run_id}");

    let executions = f.executions().await;
    assert_eq!(executions.len(), 1, "{executions:?}");
    let (workflow, name, input) = &executions[0];
    assert_eq!(
        (*workflow, name.as_str()),
        (Workflow::Factor, run_id.as_str())
    );
    let request: RunRequest = serde_json::from_str(input).unwrap();
    assert_eq!(request.started_by.as_deref(), Some(ANALYST));
    assert_eq!(
        request.portfolio_key,
        "portfolios/factor/ff_multifactor_book.json"
    );

    // The same request again: the existing run, nothing new started.
    let (status, again) = f.send(f.post_runs(&body)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(again["run_id"], run_id.as_str());
    assert_eq!(f.executions().await.len(), 1);

    // Before partition has recorded it, the run is its execution: QUEUED.
    let (status, view) = f.send(f.get(&format!("/runs/{run_id}"))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "QUEUED");
    assert_eq!(view["started_by"], ANALYST);

    // The workflow's real first stage, on the same bucket and table, with the
    // execution's input: the run store now holds META and PENDING partitions.
    let plan = stresslab_registry::partition(&f.blobs, &f.runs, &request)
        .await
        .unwrap();
    assert_eq!(plan.run_id, run_id, "the API and partition derive one id");
    let (status, view) = f.send(f.get(&format!("/runs/{run_id}"))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "RUNNING");
    assert_eq!(view["started_by"], ANALYST);
    let partitions = view["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), plan.partitions.len());
    assert!(
        partitions.iter().all(|p| p["status"] == "PENDING"),
        "{view}"
    );
    assert_eq!(view["progress"]["partitions_done"], 0);
    assert_eq!(
        view["progress"]["partitions_total"],
        plan.partitions.len() as u64
    );
    // audit.json's principal comes from the run record partition wrote.
    let meta = f.runs.get_run(&run_id).await.unwrap().unwrap();
    assert_eq!(meta.started_by.as_deref(), Some(ANALYST));

    let (status, refused) = f.send(f.get(&format!("/runs/{run_id}/report"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");

    // Finished: the record says SUCCEEDED and the report is in the bucket.
    let report = b"<!doctype html><title>report</title>".to_vec();
    f.blobs
        .put(
            &format!("runs/{run_id}/report.html"),
            report.clone(),
            "text/html",
        )
        .await
        .unwrap();
    f.runs
        .set_run_status(&run_id, RunStatus::Succeeded, None)
        .await
        .unwrap();
    let (status, link) = f.send(f.get(&format!("/runs/{run_id}/report"))).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("/{BUCKET}/runs/{run_id}/report.html?")),
        "{url}"
    );
    assert!(
        url.contains(&format!("X-Amz-Expires={}", REPORT_LINK_EXPIRY.as_secs())),
        "{url}"
    );
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let fetched = tokio::task::spawn_blocking({
        let url = url.to_owned();
        move || {
            ureq::get(&url)
                .call()
                .unwrap()
                .into_body()
                .read_to_vec()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(fetched, report);

    // History of the portfolio (ByPortfolio) and the recent runs (ListExecutions).
    let portfolio = meta.portfolio_id.clone();
    let (status, history) = f.send(f.get(&format!("/runs?portfolio={portfolio}"))).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let ids: Vec<&str> = history["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [run_id.as_str()]);
    assert_eq!(history["runs"][0]["status"], "SUCCEEDED");
    let (status, recent) = f.send(f.get("/runs")).await;
    assert_eq!(status, StatusCode::OK, "{recent}");
    assert_eq!(recent["runs"][0]["run_id"], run_id.as_str());
}

#[tokio::test]
async fn inline_inputs_are_stored_first_and_keys_outside_the_inputs_are_refused() {
    let f = Fixture::start().await;
    let mut book: Value = serde_json::from_slice(BOOK).unwrap();
    book.as_object_mut().unwrap().remove("market_data");
    let body = json!({
        "workflow": "factor",
        "portfolio": book,
        "market_data": String::from_utf8(MARKET.to_vec()).unwrap(),
        "parameters": {"scenarios": 200, "partitions": 4},
        "seed": 7,
    });
    let (status, accepted) = f.send(f.post_runs(&body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let executions = f.executions().await;
    assert_eq!(executions.len(), 1);
    let request: RunRequest = serde_json::from_str(&executions[0].2).unwrap();
    assert!(
        request.portfolio_key.starts_with("inputs/"),
        "{}",
        request.portfolio_key
    );
    // The execution's inputs are in the bucket, where partition will read them.
    assert!(f.blobs.exists(&request.portfolio_key).await.unwrap());
    let market_key = request.market_data_key.clone().unwrap();
    assert!(market_key.starts_with("inputs/"), "{market_key}");
    assert_eq!(f.blobs.get(&market_key).await.unwrap(), MARKET);

    // A key the workflow could not read: a 400 naming the field, nothing started.
    f.blobs
        .put("elsewhere/book.json", BOOK.to_vec(), "application/json")
        .await
        .unwrap();
    let mut elsewhere = sample_body();
    elsewhere["portfolio_key"] = json!("elsewhere/book.json");
    let (status, refused) = f.send(f.post_runs(&elsewhere)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["problems"][0]["path"], "portfolio_key");
    assert_eq!(f.executions().await.len(), 1);
}

/// `POST /loan-simulations` through the Lambda's router and AWS backend, as API Gateway
/// delivers it: the sample book answers 200 with per-loan rows (under the Lambda's
/// 4 MiB answer cap); a book whose rows would exceed the cap is a 400 naming
/// `include_loans`, and its totals are answered.
#[tokio::test]
async fn a_loan_simulation_runs_in_the_lambda_and_respects_its_response_cap() {
    let f = Fixture::start().await;
    let post = |body: &Value| {
        let mut event: Value = serde_json::from_str(SAMPLE_EVENT).unwrap();
        event["routeKey"] = json!("POST /loan-simulations");
        event["rawPath"] = json!("/loan-simulations");
        event["requestContext"]["http"]["path"] = json!("/loan-simulations");
        event["body"] = Value::String(body.to_string());
        lambda_http::request::from_str(&event.to_string()).unwrap()
    };
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/inputs/loan_book_10000.csv"
    ))
    .unwrap();
    let mut request = json!({
        "book_csv": sample,
        "shock": {"kind": "ramp", "bp": 300, "months": 12},
        "as_of": "2025-06-30",
    });
    let (status, body) = f.send(post(&request)).await;
    assert_eq!(status, StatusCode::OK, "{}", body["problems"]);
    assert_eq!(body["Loans"].as_array().unwrap().len(), 10_000);
    assert!(body["SimulationId"].as_str().unwrap().starts_with("loans-"));

    request["book_csv"] = stresslab_loans::sample::generate(20_000, 7).into();
    let (status, problems) = f.send(post(&request)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problems["problems"][0]["path"], "include_loans");
    request["include_loans"] = false.into();
    let (status, totals) = f.send(post(&request)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(totals["Book"]["Loans"], 20_000);
    // Nothing was started: a loan simulation is not a run.
    assert!(f.executions().await.is_empty());
}
