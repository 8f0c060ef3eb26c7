//! `portfolio-risk-manager` Lambda: a persona of the hedging workflow. It measures the
//! pension's exposures by risk factor, currency, maturity and rating; per scenario the
//! surplus VaR/CVaR, funding-ratio volatility, shortfall probability and drawdowns; and
//! sets out the critical exposures and the hedging objectives the desks work to.
//!
//! All the work is the kernel's persona stage for [`HedgingPersona::PortfolioRiskManager`], the
//! call the local runner makes, bound to the Lambda runtime by
//! [`stresslab_aws::lambda::serve_persona`].

use lambda_runtime::Error;
use stresslab_hedging::{HedgingPersona, HedgingWorkflow};

const PERSONA: HedgingPersona = HedgingPersona::PortfolioRiskManager;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stresslab_aws::lambda::serve_persona::<HedgingWorkflow>(PERSONA).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_core::api::RunRef;
    use stresslab_core::engine::{PersonaRole, WorkflowEngine};

    /// The sample event that `cargo lambda invoke --data-file` and the docs use.
    const SAMPLE_EVENT: &str = include_str!("../../../events/portfolio-risk-manager.json");

    #[test]
    fn sample_event_is_a_valid_payload_of_its_workflow() -> Result<(), serde_json::Error> {
        let payload: RunRef = serde_json::from_str(SAMPLE_EVENT)?;
        let again: RunRef = serde_json::from_value(serde_json::to_value(&payload)?)?;
        assert_eq!(payload, again);
        assert_eq!(payload.workflow.as_str(), HedgingWorkflow::NAME);
        Ok(())
    }

    /// The crate name is the Lambda name the state machine and `cargo lambda watch`
    /// route by; it must be the persona's own name, or a run would record the wrong stage.
    #[test]
    fn crate_is_named_after_its_persona() {
        assert_eq!(PERSONA.name(), env!("CARGO_PKG_NAME"));
    }
}
