//! `realtime-risk` Lambda: the real-time risk assessment (shared/api's assessment
//! router, the routes `stresslab serve` merges into its API) behind the stack's HTTP
//! API with IAM authorisation. Each request is assessed in memory on the calibrated
//! market model and its audit record stored in the run table (`ASSESSMENT#<id>`,
//! conditionally). A missing `RUN_TABLE` or a model that does not calibrate fails the
//! cold start with the reason.

use lambda_http::Error;
use realtime_risk::{lambda_config, DynamoAssessor};
use std::sync::Arc;
use stresslab_aws::config::{dynamodb_client, load_sdk_config, required_env, TABLE_ENV};
use stresslab_aws::lambda::init_tracing;
use stresslab_aws::DynamoRunStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env(TABLE_ENV)?;
    let sdk = load_sdk_config().await;
    let assessor = DynamoAssessor::new(DynamoRunStore::new(dynamodb_client(&sdk), table))?;
    lambda_http::run(stresslab_api::assessments::router(
        Arc::new(assessor),
        lambda_config(),
    ))
    .await
}

#[cfg(test)]
mod tests {
    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/realtime-risk.json");

    #[test]
    fn sample_event_is_an_iam_signed_assessment_request() {
        let request = lambda_http::request::from_str(SAMPLE_EVENT).expect("an HTTP API event");
        let (parts, body) = request.into_parts();
        assert_eq!(parts.method, "POST");
        assert_eq!(parts.uri.path(), "/assessments");
        assert_eq!(
            realtime_risk::iam_principal(&parts),
            "arn:aws:iam::123456789012:user/analyst"
        );
        let model = stresslab_assess::shared_model().expect("the calibrated model");
        stresslab_assess::AssessmentRequest::parse(&body, &model)
            .expect("the sample event's body is a valid assessment request");
    }
}
