//! Narrators turn a run's facts into prose. The template narrator (default) is
//! deterministic: the workflow composes every sentence from computed figures and the
//! narrator returns it unchanged. A model-backed narrator (Bedrock, in `stresslab-aws`)
//! may rewrite it; [`narrate_grounded`] then checks the prose against the facts
//! ([`crate::grounding`]) and falls back to the template text — recording why in
//! audit.json — when it is not grounded or the narrator failed.

use crate::grounding::{self, Evidence};
use crate::StageError;
use serde::{Deserialize, Serialize};
use std::future::Future;

pub trait Narrator: Send + Sync {
    /// Recorded in audit.json (`template`, `bedrock:<model>` …).
    fn name(&self) -> &str;
    /// `facts` is the JSON the prose may draw on; `template` the deterministic text.
    /// `Err(Retryable)` means "try the stage again later" (throttling); any other error
    /// makes the stage use the template text.
    fn narrate(
        &self,
        facts: &serde_json::Value,
        template: &str,
    ) -> impl Future<Output = Result<String, StageError>> + Send;
}

/// The deterministic default.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateNarrator;

impl Narrator for TemplateNarrator {
    fn name(&self) -> &str {
        "template"
    }

    async fn narrate(
        &self,
        _facts: &serde_json::Value,
        template: &str,
    ) -> Result<String, StageError> {
        Ok(template.to_owned())
    }
}

/// Whether the narrator's text reached the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NarrationVerdict {
    Accepted,
    FellBackToTemplate,
}

/// The narrator's outcome, recorded in audit.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarratorOutcome {
    pub narrator: String,
    pub verdict: NarrationVerdict,
    /// Why the template was used: the narrator's error or the grounding problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Ask `narrator` for the narrative and keep it only if it is grounded in the facts and
/// the template; otherwise the template text, with the reason. Only a retryable error
/// (throttling) propagates, so Step Functions retries the stage; any other narrator
/// failure must not fail a run whose numbers are already computed.
pub async fn narrate_grounded<N: Narrator>(
    narrator: &N,
    facts: &serde_json::Value,
    template: &str,
) -> Result<(String, NarratorOutcome), StageError> {
    let outcome = |verdict, reason| NarratorOutcome {
        narrator: narrator.name().to_owned(),
        verdict,
        reason,
    };
    let rejection = match narrator.narrate(facts, template).await {
        // The template is what a fallback would use anyway: nothing to check.
        Ok(text) if text == template => {
            return Ok((text, outcome(NarrationVerdict::Accepted, None)));
        }
        Ok(text) if text.trim().is_empty() => "the narrator returned no text".to_owned(),
        Ok(text) => match grounding::check(&text, &Evidence::new(facts)) {
            Ok(()) => return Ok((text, outcome(NarrationVerdict::Accepted, None))),
            Err(problems) => format!(
                "not grounded in the facts: {}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        },
        Err(e @ StageError::Retryable(_)) => return Err(e),
        Err(StageError::NonRetryable(e)) => format!("narrator failed: {e}"),
    };
    tracing::warn!(narrator = narrator.name(), reason = %rejection, "using the template narrative");
    Ok((
        template.to_owned(),
        outcome(NarrationVerdict::FellBackToTemplate, Some(rejection)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A narrator that answers with a fixed result, as a model would.
    struct Scripted(Result<&'static str, StageError>);

    impl Narrator for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn narrate(&self, _: &serde_json::Value, _: &str) -> Result<String, StageError> {
            match &self.0 {
                Ok(text) => Ok((*text).to_owned()),
                Err(StageError::Retryable(m)) => Err(StageError::Retryable(m.clone())),
                Err(StageError::NonRetryable(m)) => Err(StageError::NonRetryable(m.clone())),
            }
        }
    }

    const TEMPLATE: &str = "The fund loses $1.2m (4.9% of value).";

    fn run(
        answer: Result<&'static str, StageError>,
    ) -> Result<(String, NarratorOutcome), StageError> {
        let facts = json!({"loss": 1_234_567.0, "loss_fraction": 0.0494});
        pollster::block_on(narrate_grounded(&Scripted(answer), &facts, TEMPLATE))
    }

    #[test]
    fn grounded_prose_is_kept() {
        let (text, outcome) = run(Ok("Losses reach $1.23m, or 4.9% of value.")).unwrap();
        assert_eq!(text, "Losses reach $1.23m, or 4.9% of value.");
        assert_eq!(outcome.verdict, NarrationVerdict::Accepted);
        assert_eq!(outcome.reason, None);
    }

    #[test]
    fn an_invented_figure_falls_back_with_the_reason() {
        let (text, outcome) = run(Ok("Losses reach $1.2m and could double to $2.5m.")).unwrap();
        assert_eq!(text, TEMPLATE);
        assert_eq!(outcome.verdict, NarrationVerdict::FellBackToTemplate);
        let reason = outcome.reason.unwrap();
        assert!(reason.contains("2.5m"), "{reason}");
        assert!(!reason.contains("1.2m"), "{reason}");
    }

    #[test]
    fn a_failure_falls_back_and_throttling_propagates() {
        let (text, outcome) = run(Err(StageError::invalid("model error"))).unwrap();
        assert_eq!(text, TEMPLATE);
        assert_eq!(outcome.verdict, NarrationVerdict::FellBackToTemplate);
        assert!(outcome.reason.unwrap().contains("model error"));
        let err = run(Err(StageError::Retryable("throttled".into()))).unwrap_err();
        assert_eq!(err.error_type(), "Retryable");
        let (text, outcome) = run(Ok("  ")).unwrap();
        assert_eq!(
            (text.as_str(), outcome.verdict),
            (TEMPLATE, NarrationVerdict::FellBackToTemplate)
        );
    }
}
