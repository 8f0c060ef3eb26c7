//! `api` Lambda: the StressLab HTTP API (shared/api's router, the same one
//! `stresslab serve` runs) behind an API Gateway HTTP API with IAM authorisation, over
//! S3, DynamoDB and Step Functions ([`api::AwsBackend`]). lambda_http turns each
//! payload-2.0 event into an `http::Request` (its request context, with the IAM
//! principal, in the extensions) and runs the axum Router on it. A missing
//! `ARTIFACT_BUCKET`, `RUN_TABLE` or `<WORKFLOW>_STATE_MACHINE_ARN` fails the cold start
//! with the variable's name.

use api::{lambda_config, AwsBackend};
use lambda_http::Error;
use std::sync::Arc;
use stresslab_aws::config::{
    dynamodb_client, load_sdk_config, required_env, s3_client, BUCKET_ENV, TABLE_ENV,
};
use stresslab_aws::lambda::init_tracing;
use stresslab_aws::sfn::{StateMachines, StepFunctionsLauncher};
use stresslab_aws::{DynamoRunStore, S3BlobStore};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let bucket = required_env(BUCKET_ENV);
    let table = required_env(TABLE_ENV);
    let machines = StateMachines::from_env();
    let (bucket, table, machines) = match (bucket, table, machines) {
        (Ok(b), Ok(t), Ok(m)) => (b, t, m),
        (b, t, m) => {
            let errors: Vec<String> = [b.err(), t.err(), m.err()].into_iter().flatten().collect();
            return Err(errors.join("; ").into());
        }
    };
    let sdk = load_sdk_config().await;
    let backend = AwsBackend::new(
        S3BlobStore::new(s3_client(&sdk), bucket),
        DynamoRunStore::new(dynamodb_client(&sdk), table),
        machines,
        StepFunctionsLauncher::new(aws_sdk_sfn::Client::new(&sdk)),
    );
    lambda_http::run(stresslab_api::router(Arc::new(backend), lambda_config())).await
}

#[cfg(test)]
mod tests {

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/api.json");

    #[test]
    fn sample_event_is_an_iam_signed_http_api_request() {
        let request = lambda_http::request::from_str(SAMPLE_EVENT).expect("an HTTP API event");
        let (parts, _) = request.into_parts();
        assert_eq!(parts.method, "POST");
        assert_eq!(parts.uri.path(), "/runs");
        assert_eq!(
            api::iam_principal(&parts),
            "arn:aws:iam::123456789012:user/analyst"
        );
    }
}
