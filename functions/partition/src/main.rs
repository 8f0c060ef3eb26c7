//! `partition` Lambda: one of the four operations, serving every workflow. The first state of every workflow's state machine. It validates the run request,
//! derives the run id, writes the scenario set and its partitions, and records the run;
//! its output is the Map state's item list.
//!
//! All the work is the registry's [`stresslab_registry::partition`], which dispatches on the
//! payload's workflow to the same stage function `stresslab run` calls locally.

use lambda_runtime::Error;
use stresslab_core::api::RunRequest;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stresslab_aws::lambda::serve_stage(|blobs, runs, request: RunRequest| async move {
        stresslab_registry::partition(blobs, runs, &request).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/partition.json");

    #[test]
    fn sample_event_is_a_valid_payload() -> Result<(), serde_json::Error> {
        let payload: RunRequest = serde_json::from_str(SAMPLE_EVENT)?;
        // Round trip: what the state machine passes on is what the handler reads.
        let again: RunRequest = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        Ok(())
    }
}
