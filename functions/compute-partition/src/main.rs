//! `compute-partition` Lambda: one of the four operations, serving every workflow. One Map iteration of any workflow. It evaluates one slice of the scenario set
//! and marks its partition DONE with a conditional write, so the retries the state
//! machine makes never count a slice twice; a DONE partition whose stored result no
//! longer verifies is recomputed.
//!
//! All the work is the registry's [`stresslab_registry::compute_partition`], which dispatches on the
//! payload's workflow to the same stage function `stresslab run` calls locally.

use lambda_runtime::Error;
use stresslab_core::api::PartitionTask;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stresslab_aws::lambda::serve_stage(|blobs, runs, task: PartitionTask| async move {
        stresslab_registry::compute_partition(blobs, runs, &task).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/compute-partition.json");

    #[test]
    fn sample_event_is_a_valid_payload() -> Result<(), serde_json::Error> {
        let payload: PartitionTask = serde_json::from_str(SAMPLE_EVENT)?;
        // Round trip: what the state machine passes on is what the handler reads.
        let again: PartitionTask = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        Ok(())
    }
}
