//! `upload-trigger` Lambda: S3 "Object Created" under `portfolios/<workflow>/` (via an
//! EventBridge rule) → that workflow's state machine, the execution named by the run id.
//! All the work is [`upload_trigger::handle`]; this builds its clients once per cold
//! start. A missing `ARTIFACT_BUCKET` or `<WORKFLOW>_STATE_MACHINE_ARN` fails the cold
//! start with the variable's name.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::future::Future;
use std::pin::Pin;
use stresslab_aws::config::{load_sdk_config, required_env, s3_client, BUCKET_ENV};
use stresslab_aws::lambda::{init_tracing, LambdaFailure};
use stresslab_aws::S3BlobStore;
use upload_trigger::{handle, ObjectCreated, Outcome, StateMachines, StepFunctionsLauncher};

struct Trigger {
    blobs: S3BlobStore,
    bucket: String,
    machines: StateMachines,
    launcher: StepFunctionsLauncher,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let bucket = required_env(BUCKET_ENV);
    let machines = StateMachines::from_env();
    let (bucket, machines) = match (bucket, machines) {
        (Ok(b), Ok(m)) => (b, m),
        (b, m) => {
            let errors: Vec<String> = [b.err(), m.err()].into_iter().flatten().collect();
            return Err(errors.join("; ").into());
        }
    };
    let sdk = load_sdk_config().await;
    // Kept for the execution environment's lifetime, so the handler borrows it 'static.
    let trigger: &'static Trigger = Box::leak(Box::new(Trigger {
        blobs: S3BlobStore::new(s3_client(&sdk), bucket.clone()),
        bucket,
        machines,
        launcher: StepFunctionsLauncher::new(aws_sdk_sfn::Client::new(&sdk)),
    }));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ObjectCreated>| {
        // Boxed, like the other mains: the generic stage futures nest deeply.
        let call: Pin<Box<dyn Future<Output = Result<Outcome, LambdaFailure>> + Send>> =
            Box::pin(async move {
                handle(
                    &trigger.blobs,
                    &trigger.bucket,
                    &trigger.machines,
                    &trigger.launcher,
                    &event.payload,
                )
                .await
                .map_err(LambdaFailure)
            });
        call
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/upload-trigger.json");

    #[test]
    fn sample_event_is_an_object_created_event() -> Result<(), serde_json::Error> {
        let event: ObjectCreated = serde_json::from_str(SAMPLE_EVENT)?;
        assert_eq!(event.detail_type, "Object Created");
        assert!(event.detail.object.key.starts_with("portfolios/factor/"));
        Ok(())
    }
}
