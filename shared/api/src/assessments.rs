//! `POST /assessments` and `GET /assessments/{id}`: the real-time risk assessment
//! (stresslab-assess) over HTTP. Synchronous: the request is parsed and validated
//! against the market model, assessed in memory on a blocking thread (the agents run on
//! their own threads inside it), its audit record stored — conditionally, so a retry of
//! one id is never a second record — and the assessment returned.
//!
//! What differs between deployments sits behind [`Assessor`]: where audit records are
//! stored (the local run store, DynamoDB) and where the market model comes from. The
//! same router serves `stresslab serve` (merged with the runs API) and the
//! `realtime-risk` Lambda (alone).

use crate::{ApiConfig, ApiError, Caller, Problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use stresslab_assess::model::MarketModel;
use stresslab_assess::{assess, AssessError, Assessment, AssessmentRequest, AuditRecord};
use stresslab_core::portfolio::escape_control;
use stresslab_core::storage::{
    valid_assessment_id, AssessmentRecord, AssessmentStore, Created, StoreError,
};

/// The routes this module serves, in the OpenAPI document's spelling.
pub const ROUTES: &[(&str, &str)] = &[("POST", "/assessments"), ("GET", "/assessments/{id}")];

/// What differs between `stresslab serve` and the `realtime-risk` Lambda.
pub trait Assessor: Send + Sync + 'static {
    type Store: AssessmentStore + 'static;
    /// Where audit records are stored.
    fn assessment_store(&self) -> &Self::Store;
    /// The calibrated market model, shared by every assessment. An error is the
    /// server's fault (the model could not be built), never the caller's.
    fn market_model(&self) -> Result<Arc<MarketModel>, String>;
}

/// The calibrated market model ([`stresslab_assess::shared_model`]), built once per
/// process on first use and shared by every assessment.
pub fn shared_model() -> Result<Arc<MarketModel>, String> {
    stresslab_assess::shared_model().map_err(|e| e.to_string())
}

/// The problems of a request the assessment refuses: every bad field by its JSON path,
/// or where the JSON itself breaks.
pub fn problems_of(e: &AssessError) -> Vec<Problem> {
    match e {
        AssessError::Parse {
            line,
            column,
            message,
        } => vec![Problem::new(
            "body",
            format!("line {line}, column {column}: {message}"),
        )],
        // The portfolio's checks name fields from the portfolio down; the body's
        // path starts one level up.
        AssessError::Invalid(issues) => issues
            .iter()
            .map(|i| {
                let path = if i.field.starts_with("portfolio.") || i.field.starts_with("settings.")
                {
                    i.field.clone()
                } else {
                    format!("portfolio.{}", i.field)
                };
                Problem::new(path, i.reason.clone())
            })
            .collect(),
    }
}

/// The run-store item of an assessment.
pub fn record_of(assessment: &Assessment, requested_by: Option<String>) -> AssessmentRecord {
    let audit = &assessment.audit;
    AssessmentRecord {
        assessment_id: audit.assessment_id.clone(),
        portfolio_id: audit.portfolio_id.clone(),
        requested_at: audit.requested_at.clone(),
        requested_by,
        input_hash: audit.input_hash.clone(),
        audit: serde_json::to_value(audit).expect("an audit record serialises"),
    }
}

/// Now, RFC 3339 UTC to the millisecond: the assessment id hashes the input with it,
/// so two requests a millisecond apart are two assessments, and a retry of a stored
/// one (same id) is recognised by the store.
pub fn now_rfc3339_millis() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(u32::from(now.millisecond()) * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Parse, assess and store: what every surface does with a request's bytes. Runs the
/// computation on the calling thread (callers on an async runtime use a blocking
/// thread). `Ok((assessment, created))`; `created` is false when a record with this
/// id was already stored, and the assessment then carries the stored audit record.
pub async fn assess_and_store<S: AssessmentStore>(
    store: &S,
    model: Arc<MarketModel>,
    bytes: &[u8],
    requested_at: &str,
    requested_by: Option<String>,
) -> Result<(Assessment, bool), AssessFailure> {
    let request = AssessmentRequest::parse(bytes, &model).map_err(AssessFailure::Invalid)?;
    let assessment = assess(request, model, requested_at);
    store_assessment(store, assessment, requested_by).await
}

/// Store an assessment's audit record (conditionally) and return the assessment as
/// stored.
pub async fn store_assessment<S: AssessmentStore>(
    store: &S,
    mut assessment: Assessment,
    requested_by: Option<String>,
) -> Result<(Assessment, bool), AssessFailure> {
    match store
        .put_assessment(&record_of(&assessment, requested_by))
        .await
        .map_err(AssessFailure::Store)?
    {
        Created::New => Ok((assessment, true)),
        Created::Existing(stored) => {
            assessment.audit =
                serde_json::from_value::<AuditRecord>(stored.audit).map_err(|e| {
                    AssessFailure::Store(StoreError::Permanent(format!(
                        "stored audit record {} does not parse: {e}",
                        stored.assessment_id
                    )))
                })?;
            Ok((assessment, false))
        }
    }
}

/// Why an assessment was not answered.
#[derive(Debug)]
pub enum AssessFailure {
    /// The caller's request: every problem.
    Invalid(AssessError),
    /// Storing the audit record failed.
    Store(StoreError),
}

impl From<AssessFailure> for ApiError {
    fn from(f: AssessFailure) -> Self {
        match f {
            AssessFailure::Invalid(e) => ApiError::bad_request(problems_of(&e)),
            AssessFailure::Store(e) => ApiError::storage(e),
        }
    }
}

struct AppState<A> {
    assessor: Arc<A>,
    config: ApiConfig,
}

type Shared<A> = Arc<AppState<A>>;

impl<A: Send + Sync> crate::WithConfig for AppState<A> {
    fn config(&self) -> &ApiConfig {
        &self.config
    }
}

/// The assessment routes over `assessor`, with the body cap of `config`.
pub fn router<A: Assessor>(assessor: Arc<A>, config: ApiConfig) -> Router {
    let max_body_bytes = config.max_body_bytes;
    let state: Shared<A> = Arc::new(AppState { assessor, config });
    let mut router = Router::new();
    for (method, path) in ROUTES {
        let route = match (*method, *path) {
            ("POST", "/assessments") => post(create_assessment::<A>),
            ("GET", "/assessments/{id}") => get(get_assessment::<A>),
            _ => unreachable!("route {method} {path} has no handler"),
        };
        router = router.route(path, route);
    }
    router
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

fn model_unavailable(e: String) -> ApiError {
    tracing::error!(error = %e, "market model unavailable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "",
        format!("the market model is unavailable: {e}"),
    )
}

async fn create_assessment<A: Assessor>(
    State(state): State<Shared<A>>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    crate::admission::check_content_type(&headers)?;
    let body = body.map_err(|r| ApiError::new(r.status(), "body", r.body_text()))?;
    let model = state.assessor.market_model().map_err(model_unavailable)?;
    let requested_at = now_rfc3339_millis();
    // Parsing and assessing are CPU-bound (milliseconds): off the async workers.
    let computed = tokio::task::spawn_blocking(move || {
        AssessmentRequest::parse(&body, &model).map(|r| assess(r, model, &requested_at))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "assessment task failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            "the assessment failed unexpectedly",
        )
    })?
    .map_err(|e| ApiError::bad_request(problems_of(&e)))?;
    let (assessment, created) =
        store_assessment(state.assessor.assessment_store(), computed, Some(principal)).await?;
    let id = assessment.audit.assessment_id.clone();
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (code, Json(assessment)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/assessments/{id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

async fn get_assessment<A: Assessor>(
    State(state): State<Shared<A>>,
    Path(id): Path<String>,
) -> Result<Json<AssessmentRecord>, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "id",
            format!("no assessment {:?}", escape_control(&id)),
        )
    };
    if !valid_assessment_id(&id) {
        return Err(not_found());
    }
    state
        .assessor
        .assessment_store()
        .get_assessment(&id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_to_the_millisecond() {
        let now = now_rfc3339_millis();
        let parsed =
            time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
                .expect("RFC 3339");
        assert_eq!(parsed.offset(), time::UtcOffset::UTC, "{now}");
        assert_eq!(parsed.nanosecond() % 1_000_000, 0, "{now}");
    }
}
