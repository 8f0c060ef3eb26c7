//! The upload trigger end to end against moto (S3 and Step Functions): the bucket and
//! the three state machines created there, files uploaded with PutObject, the handler
//! invoked with the EventBridge event S3 would send, and the executions counted with
//! ListExecutions.
//!
//! - a valid factor portfolio → exactly one execution, on the factor state machine,
//!   named by the run id `registry::partition` gives the same request, with the
//!   RunRequest as input; the same event again → still one execution, whether the
//!   first is still running (StartExecution answers with it) or has ended
//!   (ExecutionAlreadyExists);
//! - an invalid file → a rejection report beside it, no execution;
//! - an unknown workflow prefix → a report, no execution;
//! - its market data under `data/`, and a rejection report's own event → ignored.
//!
//! moto is a hard requirement (scripts/setup.sh installs `moto[server,stepfunctions]`).

mod common;

use common::{sample_upload, SAMPLE_BOOK_KEY};
use stresslab_aws::config::s3_client;
use stresslab_aws::moto::MotoServer;
use stresslab_aws::S3BlobStore;
use stresslab_core::api::RunRequest;
use stresslab_core::local::DiskRunStore;
use stresslab_core::storage::BlobStore;
use stresslab_registry::upload::REJECTION_SUFFIX;
use stresslab_registry::Workflow;
use upload_trigger::*;

const BUCKET: &str = "stresslab-upload-test";
const INVALID: &[u8] = include_bytes!("../../../events/inputs/invalid_portfolio.json");
/// The smallest valid definition: moto records executions, it does not run them.
const DEFINITION: &str = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;

struct Fixture {
    blobs: S3BlobStore,
    sfn: aws_sdk_sfn::Client,
    machines: StateMachines,
    launcher: StepFunctionsLauncher,
    _moto: MotoServer,
}

impl Fixture {
    async fn start() -> Self {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let s3 = s3_client(&sdk);
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
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
        Fixture {
            blobs: S3BlobStore::new(s3, BUCKET),
            launcher: StepFunctionsLauncher::new(sfn.clone()),
            sfn,
            machines,
            _moto: moto,
        }
    }

    async fn upload(&self, key: &str, bytes: &[u8]) {
        self.blobs
            .put(key, bytes.to_vec(), "application/octet-stream")
            .await
            .unwrap();
    }

    async fn trigger(&self, key: &str) -> Outcome {
        handle(
            &self.blobs,
            BUCKET,
            &self.machines,
            &self.launcher,
            &ObjectCreated::new(BUCKET, key),
        )
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    /// (state machine's workflow, execution name) of every execution in moto.
    async fn executions(&self) -> Vec<(Workflow, String)> {
        let mut all = Vec::new();
        for &workflow in Workflow::ALL {
            let listed = self
                .sfn
                .list_executions()
                .state_machine_arn(self.machines.arn(workflow).unwrap())
                .send()
                .await
                .unwrap();
            all.extend(
                listed
                    .executions()
                    .iter()
                    .map(|e| (workflow, e.name().to_owned())),
            );
        }
        all
    }
}

#[tokio::test]
async fn an_upload_starts_its_workflow_once_and_bad_uploads_get_a_report() {
    let f = Fixture::start().await;
    // Market data first, under data/ (its own event is ignored), then the portfolio.
    for (key, bytes) in sample_upload() {
        f.upload(&key, &bytes).await;
        if key != SAMPLE_BOOK_KEY {
            assert!(
                matches!(f.trigger(&key).await, Outcome::Ignored { .. }),
                "{key}"
            );
        }
    }
    assert!(f.executions().await.is_empty(), "market data started a run");

    let Outcome::Started { workflow, run_id } = f.trigger(SAMPLE_BOOK_KEY).await else {
        panic!("the sample book was not started");
    };
    assert_eq!(workflow, "factor");
    assert_eq!(
        f.executions().await,
        vec![(Workflow::Factor, run_id.clone())]
    );

    // The execution's input is the request partition gets, and partition gives it
    // the very run id the execution is named by.
    let arn = f.machines.arn(Workflow::Factor).unwrap();
    let execution_arn = format!(
        "{}:{run_id}",
        arn.replacen(":stateMachine:", ":execution:", 1)
    );
    let described = f
        .sfn
        .describe_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .unwrap();
    let request: RunRequest = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(request.portfolio_key, SAMPLE_BOOK_KEY);
    let runs_dir = tempfile::tempdir().unwrap();
    let runs = DiskRunStore::new(runs_dir.path());
    let plan = stresslab_registry::partition(&f.blobs, &runs, &request)
        .await
        .unwrap();
    assert_eq!(plan.run_id, run_id);

    // The same event again (a duplicate delivery or a replay): still one execution.
    let again = f.trigger(SAMPLE_BOOK_KEY).await;
    assert!(
        matches!(&again, Outcome::AlreadyStarted { run_id: r, .. } | Outcome::Started { run_id: r, .. } if *r == run_id),
        "{again:?}"
    );
    assert_eq!(
        f.executions().await,
        vec![(Workflow::Factor, run_id.clone())]
    );
    // Once the run has ended, Step Functions refuses the name outright
    // (ExecutionAlreadyExists): success, and still one execution.
    f.sfn
        .stop_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        f.trigger(SAMPLE_BOOK_KEY).await,
        Outcome::AlreadyStarted {
            workflow: "factor".into(),
            run_id: run_id.clone()
        }
    );
    assert_eq!(
        f.executions().await,
        vec![(Workflow::Factor, run_id.clone())]
    );

    // An invalid file: a report beside it naming the problems, nothing started.
    let broken = "portfolios/factor/broken.json";
    f.upload(broken, INVALID).await;
    let report_key = format!("{broken}{REJECTION_SUFFIX}");
    assert_eq!(
        f.trigger(broken).await,
        Outcome::Rejected {
            report_key: report_key.clone()
        }
    );
    let report: serde_json::Value =
        serde_json::from_slice(&f.blobs.get(&report_key).await.unwrap()).unwrap();
    assert_eq!(report["key"], broken);
    let problems = report["problems"].as_array().unwrap();
    assert!(problems.len() >= 4, "{report}");
    assert!(problems
        .iter()
        .all(|p| p["field"].as_str().unwrap().starts_with("positions")));
    // The report's own Object Created event does nothing.
    assert!(matches!(
        f.trigger(&report_key).await,
        Outcome::Ignored { .. }
    ));

    // An unknown workflow prefix: a report naming the known workflows, nothing started.
    let (_, book) = &sample_upload()[0];
    let unknown = "portfolios/credit/book.json";
    f.upload(unknown, book).await;
    let unknown_report = format!("{unknown}{REJECTION_SUFFIX}");
    assert_eq!(
        f.trigger(unknown).await,
        Outcome::Rejected {
            report_key: unknown_report.clone()
        }
    );
    let report: serde_json::Value =
        serde_json::from_slice(&f.blobs.get(&unknown_report).await.unwrap()).unwrap();
    assert_eq!(report["problems"][0]["field"], "key");
    assert!(
        report["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("factor"),
        "{report}"
    );

    // A file in the data/ folder is never a portfolio: no report, no run.
    let data_key = "portfolios/liquidity/data/book.json";
    f.upload(data_key, book).await;
    assert!(matches!(f.trigger(data_key).await, Outcome::Ignored { .. }));
    assert!(!f
        .blobs
        .exists(&format!("{data_key}{REJECTION_SUFFIX}"))
        .await
        .unwrap());

    assert_eq!(f.executions().await, vec![(Workflow::Factor, run_id)]);
}
