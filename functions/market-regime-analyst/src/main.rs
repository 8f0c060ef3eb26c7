//! `market-regime-analyst` Lambda: one persona agent of the factor workflow. It
//! reports whether today's market is calm, normal or stressed (EWMA against long-run
//! volatility) and how far the correlation structure is from a breakdown, and writes its
//! findings.
//!
//! All the work is [`stresslab_core::stages::persona`] with
//! [`Persona::MarketRegimeAnalyst`], the call the local runner makes, bound to the Lambda runtime
//! by [`stresslab_aws::lambda::serve_persona`].

use lambda_runtime::Error;
use stresslab_core::api::Persona;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stresslab_aws::lambda::serve_persona(Persona::MarketRegimeAnalyst).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_core::api::RunRef;

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/market-regime-analyst.json");

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
        assert_eq!(Persona::MarketRegimeAnalyst.name(), env!("CARGO_PKG_NAME"));
    }
}
