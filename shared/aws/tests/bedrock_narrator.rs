//! The Bedrock narrator in whole runs, with the Converse API mocked at the SDK level
//! (aws-smithy-mocks): grounded prose reaches the report; an invented figure is
//! rejected and the template used, with the reason in audit.json; throttling fails the
//! stage retryably and the retry completes the run; any other Bedrock failure falls
//! back and the run still succeeds.

use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::error::{AccessDeniedException, ThrottlingException};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput as Output, Message, StopReason,
};
use aws_sdk_bedrockruntime::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use stresslab_aws::bedrock::BedrockNarrator;
use stresslab_core::api::{RunRef, RunRequest, WorkflowName};
use stresslab_core::audit::Audit;
use stresslab_core::local::{DiskBlobStore, DiskRunStore};
use stresslab_core::narrative::{NarrationVerdict, Narrator, TemplateNarrator};
use stresslab_core::storage::{BlobStore, RunStatus, RunStore};
use stresslab_core::StageError;
use stresslab_registry as registry;

const BOOK: &[u8] = include_bytes!("../../../events/inputs/ff_multifactor_book.json");
const MARKET: &[u8] =
    include_bytes!("../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv");
const MODEL: &str = "test-model";

struct Env {
    _dir: tempfile::TempDir,
    blobs: DiskBlobStore,
    runs: DiskRunStore,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let env = Env {
        blobs: DiskBlobStore::new(dir.path().join("store")),
        runs: DiskRunStore::new(dir.path().join("runstore")),
        _dir: dir,
    };
    pollster::block_on(async {
        env.blobs
            .put("uploads/book.json", BOOK.to_vec(), "application/json")
            .await
            .unwrap();
        env.blobs
            .put(
                "uploads/ff_factors_industries_portfolios_monthly_1949_2017.csv",
                MARKET.to_vec(),
                "text/csv",
            )
            .await
            .unwrap();
    });
    env
}

fn request() -> RunRequest {
    serde_json::from_value(serde_json::json!({
        "workflow": "factor",
        "portfolio_key": "uploads/book.json",
        "parameters": {"scenarios": 120, "partitions": 3},
        "seed": 7,
    }))
    .unwrap()
}

fn run<N: Narrator>(e: &Env, narrator: &N) -> Result<String, StageError> {
    registry::run_local(&e.blobs, &e.runs, narrator, &request(), 2, &|_| {})
}

fn read_json(e: &Env, run_id: &str, file: &str) -> serde_json::Value {
    let bytes =
        pollster::block_on(e.blobs.get(&format!("runs/{run_id}/{file}"))).expect("deliverable");
    serde_json::from_slice(&bytes).unwrap()
}

fn audit(e: &Env, run_id: &str) -> Audit {
    serde_json::from_value(read_json(e, run_id, "audit.json")).unwrap()
}

/// The template narrative of this request (a deterministic run).
fn template_narrative() -> String {
    let e = env();
    let id = run(&e, &TemplateNarrator).unwrap();
    read_json(&e, &id, "results.json")["narrative"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn answer(text: String) -> Rule {
    mock!(Client::converse)
        // Only the configured model, and only facts + template in the prompt.
        .match_requests(|req| {
            let prompt = req.messages().first().and_then(|m| m.content().first());
            req.model_id() == Some(MODEL)
                && prompt
                    .and_then(|c| c.as_text().ok())
                    .is_some_and(|t| t.starts_with("Facts (JSON):\n{"))
        })
        .then_output(move || {
            ConverseOutput::builder()
                .output(Output::Message(
                    Message::builder()
                        .role(ConversationRole::Assistant)
                        .content(ContentBlock::Text(text.clone()))
                        .build()
                        .unwrap(),
                ))
                .stop_reason(StopReason::EndTurn)
                .build()
                .unwrap()
        })
}

fn narrator(rule: &Rule) -> BedrockNarrator {
    let client = mock_client!(aws_sdk_bedrockruntime, RuleMode::MatchAny, [rule]);
    BedrockNarrator::new(client, MODEL)
}

/// The template's first two sentences: a shorter summary, every figure from the run.
fn first_sentences(template: &str) -> String {
    let mut out = String::new();
    for (i, part) in template.split_inclusive(". ").enumerate().take(2) {
        if i > 0 && !part.is_empty() {
            out.push(' ');
        }
        out.push_str(part.trim());
    }
    out
}

#[test]
fn grounded_prose_reaches_the_report() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let template = template_narrative();
    let summary = first_sentences(&template);
    assert_ne!(summary, template);
    let rule = answer(summary.clone());
    let e = env();
    let id = run(&e, &narrator(&rule)).unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(read_json(&e, &id, "results.json")["narrative"], summary);
    let audit = audit(&e, &id);
    assert_eq!(audit.narrator, format!("bedrock:{MODEL}"));
    let outcome = audit.narration.expect("narration recorded");
    assert_eq!(outcome.verdict, NarrationVerdict::Accepted);
    assert_eq!(outcome.reason, None);
}

#[test]
fn an_invented_figure_falls_back_to_the_template() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let template = template_narrative();
    let rule = answer(format!(
        "{} Losses could reach $987.6m.",
        first_sentences(&template)
    ));
    let e = env();
    let id = run(&e, &narrator(&rule)).unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(read_json(&e, &id, "results.json")["narrative"], template);
    let outcome = audit(&e, &id).narration.expect("narration recorded");
    assert_eq!(outcome.verdict, NarrationVerdict::FellBackToTemplate);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("“987.6m”"), "{reason}");
}

#[test]
fn throttling_is_retryable_and_the_retry_completes_the_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let throttled = mock!(Client::converse).then_error(|| {
        ConverseError::ThrottlingException(
            ThrottlingException::builder()
                .message("Too many requests")
                .build(),
        )
    });
    let e = env();
    let err = run(&e, &narrator(&throttled)).unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    assert!(throttled.num_calls() >= 1);
    // The runner's error carries no id: the run's artifacts name it.
    let keys = pollster::block_on(e.blobs.list("runs/")).unwrap();
    let run_id = keys[0].split('/').nth(1).unwrap().to_owned();
    let status = pollster::block_on(e.runs.get_run(&run_id))
        .unwrap()
        .unwrap();
    assert_ne!(status.status, RunStatus::Succeeded);

    // Step Functions retries the synthesize state: a fresh invocation.
    let template = template_narrative();
    let rule = answer(first_sentences(&template));
    let run_ref = RunRef {
        run_id: run_id.clone(),
        workflow: WorkflowName::new("factor"),
    };
    pollster::block_on(registry::synthesize(
        &e.blobs,
        &e.runs,
        &narrator(&rule),
        &run_ref,
    ))
    .unwrap();
    let status = pollster::block_on(e.runs.get_run(&run_id))
        .unwrap()
        .unwrap();
    assert_eq!(status.status, RunStatus::Succeeded);
    assert_eq!(
        audit(&e, &run_id).narration.unwrap().verdict,
        NarrationVerdict::Accepted
    );
}

#[test]
fn a_bedrock_failure_falls_back_and_the_run_succeeds() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let denied = mock!(Client::converse).then_error(|| {
        ConverseError::AccessDeniedException(
            AccessDeniedException::builder()
                .message("You don't have access to the model")
                .build(),
        )
    });
    let e = env();
    let id = run(&e, &narrator(&denied)).unwrap();
    assert_eq!(denied.num_calls(), 1);
    let status = pollster::block_on(e.runs.get_run(&id)).unwrap().unwrap();
    assert_eq!(status.status, RunStatus::Succeeded);
    assert_eq!(
        read_json(&e, &id, "results.json")["narrative"],
        template_narrative()
    );
    let outcome = audit(&e, &id).narration.expect("narration recorded");
    assert_eq!(outcome.verdict, NarrationVerdict::FellBackToTemplate);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("access to the model"), "{reason}");
}
