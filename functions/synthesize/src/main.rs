//! `synthesize` Lambda: one of the four operations, serving every workflow. The last state. It turns the personas' findings into `results.json`,
//! `summary.md`, `report.html`, `audit.json` and the narrative, and marks the run
//! SUCCEEDED. The narrator is the deterministic template narrator unless `NARRATOR=bedrock`
//! (then `BEDROCK_MODEL_ID`, see `stresslab_aws::bedrock`); with the template the bytes
//! match a local run (the state-machine harness checks it).
//!
//! All the work is the registry's [`stresslab_registry::synthesize`], which dispatches on the
//! payload's workflow to the same stage function `stresslab run` calls locally.

use lambda_runtime::Error;
use stresslab_aws::bedrock::ConfiguredNarrator;
use stresslab_core::api::RunRef;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Built once per cold start; a bad NARRATOR value fails the cold start, named.
    let narrator: &'static ConfiguredNarrator = Box::leak(Box::new(ConfiguredNarrator::from_env(
        &stresslab_aws::load_sdk_config().await,
    )?));
    stresslab_aws::lambda::serve_stage(move |blobs, runs, run: RunRef| async move {
        stresslab_registry::synthesize(blobs, runs, narrator, &run).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/synthesize.json");

    #[test]
    fn sample_event_is_a_valid_payload() -> Result<(), serde_json::Error> {
        let payload: RunRef = serde_json::from_str(SAMPLE_EVENT)?;
        // Round trip: what the state machine passes on is what the handler reads.
        let again: RunRef = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        Ok(())
    }
}
