//! The Bedrock narrator (feature `bedrock`): asks a model, through the Converse API,
//! for the executive summary of a run. It sends only the facts JSON (issue 9: the model
//! sees the computed facts and nothing else, so every figure it may cite is checkable);
//! the stage keeps the answer only if the grounding check passes
//! ([`stresslab_core::narrative::narrate_grounded`]).
//!
//! Error policy: throttling is `Retryable` (Step Functions backs off and retries the
//! stage); every other failure — access denied, model errors, a truncated answer — is
//! `NonRetryable`, which the stage turns into the template narrative, so the run still
//! succeeds and audit.json says why.
//!
//! Configuration (synthesize's environment): `NARRATOR` = `template` (default) or
//! `bedrock`; `BEDROCK_MODEL_ID` (default [`DEFAULT_MODEL_ID`]).

use aws_config::SdkConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, Message, StopReason,
    SystemContentBlock,
};
use stresslab_core::narrative::{Narrator, TemplateNarrator};
use stresslab_core::StageError;

/// Environment variable choosing the narrator.
pub const NARRATOR_ENV: &str = "NARRATOR";
/// Environment variable naming the Bedrock model.
pub const MODEL_ENV: &str = "BEDROCK_MODEL_ID";
/// On-demand in most Bedrock regions, supports Converse, and is cheap enough for a
/// paragraph per run.
pub const DEFAULT_MODEL_ID: &str = "amazon.nova-lite-v1:0";

/// Enough for a paragraph; an answer cut off at this limit is refused, not published.
const MAX_TOKENS: i32 = 700;

const INSTRUCTIONS: &str = "You write the executive summary of a portfolio stress test \
for a risk committee. Use only the figures, dates and names that appear in the facts \
JSON; quote figures as they appear there or rounded (percentages may be written as %), \
and never compute, estimate or invent a figure, date, name or ticker. Every \
recommendation must cite the figure behind it. Write one paragraph of plain prose: no \
headings, lists or markdown.";

pub struct BedrockNarrator {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
    name: String,
}

impl BedrockNarrator {
    pub fn new(client: aws_sdk_bedrockruntime::Client, model_id: impl Into<String>) -> Self {
        let model_id = model_id.into();
        BedrockNarrator {
            client,
            name: format!("bedrock:{model_id}"),
            model_id,
        }
    }

    pub fn from_sdk_config(sdk: &SdkConfig, model_id: impl Into<String>) -> Self {
        Self::new(aws_sdk_bedrockruntime::Client::new(sdk), model_id)
    }

    fn prompt(facts: &serde_json::Value) -> String {
        format!(
            "Facts (JSON):\n{}",
            serde_json::to_string_pretty(facts).unwrap_or_default()
        )
    }
}

/// Throttling, modelled or by code; everything else is a reason to fall back.
fn is_throttling<R>(err: &SdkError<ConverseError, R>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.is_throttling_exception()
            || matches!(
                e.code(),
                Some("ThrottlingException" | "TooManyRequestsException" | "Throttling")
            )
    })
}

impl Narrator for BedrockNarrator {
    fn name(&self) -> &str {
        &self.name
    }

    async fn narrate(
        &self,
        facts: &serde_json::Value,
        _template: &str,
    ) -> Result<String, StageError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(Self::prompt(facts)))
            .build()
            .map_err(|e| StageError::invalid(format!("bedrock request: {e}")))?;
        let response = self
            .client
            .converse()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(INSTRUCTIONS.into()))
            .messages(message)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(MAX_TOKENS)
                    // The summary restates facts: no creativity wanted.
                    .temperature(0.0)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                let message = format!(
                    "bedrock converse ({}): {}",
                    self.model_id,
                    aws_sdk_bedrockruntime::error::DisplayErrorContext(&e)
                );
                if is_throttling(&e) {
                    StageError::Retryable(message)
                } else {
                    StageError::NonRetryable(message)
                }
            })?;
        if matches!(response.stop_reason(), StopReason::MaxTokens) {
            return Err(StageError::invalid(format!(
                "bedrock converse ({}): the answer was cut off at {MAX_TOKENS} tokens",
                self.model_id
            )));
        }
        let text = match response.output() {
            Some(ConverseOutput::Message(m)) => m
                .content()
                .iter()
                .filter_map(|block| block.as_text().ok())
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        Ok(text.trim().to_owned())
    }
}

/// The narrator synthesize was configured with.
pub enum ConfiguredNarrator {
    Template(TemplateNarrator),
    Bedrock(BedrockNarrator),
}

impl ConfiguredNarrator {
    /// From `NARRATOR` and `BEDROCK_MODEL_ID`. An unknown `NARRATOR` is an error naming
    /// the variable (a typo must not silently mean "template").
    pub fn from_env(sdk: &SdkConfig) -> Result<Self, String> {
        let choice = std::env::var(NARRATOR_ENV).unwrap_or_default();
        let model = std::env::var(MODEL_ENV)
            .ok()
            .filter(|m| !m.trim().is_empty());
        Self::choose(sdk, choice.trim(), model)
    }

    fn choose(sdk: &SdkConfig, choice: &str, model: Option<String>) -> Result<Self, String> {
        match choice {
            "" | "template" => Ok(ConfiguredNarrator::Template(TemplateNarrator)),
            "bedrock" => Ok(ConfiguredNarrator::Bedrock(BedrockNarrator::from_sdk_config(
                sdk,
                model.unwrap_or_else(|| DEFAULT_MODEL_ID.to_owned()),
            ))),
            other => Err(format!(
                "environment variable {NARRATOR_ENV} is {other:?}: expected \"template\" or \"bedrock\""
            )),
        }
    }
}

impl Narrator for ConfiguredNarrator {
    fn name(&self) -> &str {
        match self {
            ConfiguredNarrator::Template(n) => n.name(),
            ConfiguredNarrator::Bedrock(n) => n.name(),
        }
    }

    async fn narrate(
        &self,
        facts: &serde_json::Value,
        template: &str,
    ) -> Result<String, StageError> {
        match self {
            ConfiguredNarrator::Template(n) => n.narrate(facts, template).await,
            ConfiguredNarrator::Bedrock(n) => n.narrate(facts, template).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::BehaviorVersion;

    fn sdk() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build()
    }

    #[test]
    fn the_template_is_the_default_and_bedrock_is_chosen_by_name() {
        let n = ConfiguredNarrator::choose(&sdk(), "", None).unwrap();
        assert_eq!(n.name(), "template");
        let n = ConfiguredNarrator::choose(&sdk(), "bedrock", None).unwrap();
        assert_eq!(n.name(), format!("bedrock:{DEFAULT_MODEL_ID}"));
        let n = ConfiguredNarrator::choose(&sdk(), "bedrock", Some("m-1".into())).unwrap();
        assert_eq!(n.name(), "bedrock:m-1");
        let err = ConfiguredNarrator::choose(&sdk(), "bedrok", None)
            .err()
            .expect("a typo is refused");
        assert!(err.contains(NARRATOR_ENV), "{err}");
    }
}
