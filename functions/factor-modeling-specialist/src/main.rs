//! `factor-modeling-specialist` Lambda: one persona agent of the factor workflow. It
//! reports the book's estimated factor exposures, how well the four factors explain each
//! position (R²) and how much the covariance needed shrinking, and writes its findings.
//!
//! All the work is [`stresslab_core::stages::persona`] with
//! [`Persona::FactorModelingSpecialist`], the call the local runner makes, bound to the Lambda runtime
//! by [`stresslab_aws::lambda::serve_persona`].

use lambda_runtime::Error;
use stresslab_core::api::Persona;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stresslab_aws::lambda::serve_persona(Persona::FactorModelingSpecialist).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_core::api::RunRef;

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/factor-modeling-specialist.json");

    #[test]
    fn sample_event_is_a_valid_payload() -> Result<(), serde_json::Error> {
        let payload: RunRef = serde_json::from_str(SAMPLE_EVENT)?;
        // Round trip: what the state machine passes on is what the handler reads.
        let again: RunRef = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        Ok(())
    }

    /// The crate name is the Lambda name the state machine and `cargo lambda watch`
    /// route by; it must be the persona's own name, or a run would record the wrong stage.
    #[test]
    fn crate_is_named_after_its_persona() {
        assert_eq!(
            Persona::FactorModelingSpecialist.name(),
            env!("CARGO_PKG_NAME")
        );
    }
}
