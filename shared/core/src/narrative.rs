//! Narrators turn a run's facts into prose. The template narrator (default) is
//! deterministic: the workflow composes every sentence from computed figures and the
//! narrator returns it unchanged. A model-backed narrator (Bedrock, planned with the
//! entry-points issue) may rewrite it, but must fall back to the template text when its
//! prose cites a number that is not in the facts.

use crate::StageError;
use std::future::Future;

pub trait Narrator: Send + Sync {
    /// Recorded in audit.json (`template`, `bedrock:<model>` …).
    fn name(&self) -> &'static str;
    /// `facts` is the JSON the prose may draw on; `template` the deterministic text.
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
    fn name(&self) -> &'static str {
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
