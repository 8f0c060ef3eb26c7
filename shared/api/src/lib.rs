//! The StressLab HTTP API: one axum [`Router`] that `stresslab serve` runs over the
//! embedded runner ([`local::LocalBackend`]) and the API Lambda will run through
//! `lambda_http` over S3, DynamoDB and Step Functions. The contract is
//! `openapi/stresslab-api.json`; the tests check this router against it, route by route
//! and response by response.
//!
//! What differs between deployments sits behind [`Backend`]: how a run is started (a
//! background thread here, a Step Functions execution named by the run id on AWS), what
//! its status is before its first stage has recorded it, how a report is linked (a URL
//! this server serves, a presigned S3 URL) and where the caller's principal comes from
//! ([`ApiConfig::principal`]). Everything else — parsing, validation, run ids — is here,
//! once, so both deployments refuse the same bad input with the same problems.

mod admission;
pub mod assessments;
pub mod loans;
pub mod local;

pub use admission::{CreateRun, MAX_BODY_BYTES};
/// The axum this router is built with, for servers that run it (`stresslab serve`).
pub use axum;
pub use loans::CreateLoanSimulation;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use stresslab_core::api::RunRequest;
use stresslab_core::portfolio::{escape_control, Issue};
use stresslab_core::stages;
use stresslab_core::storage::{
    BlobStore, PartitionStatus, RunRecord, RunStatus, RunStore, StoreError,
};
use stresslab_registry::{self as registry, Workflow};

/// One problem with a request: where (a JSON path into the body, or the parameter) and
/// why. Every error response is a list of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl From<Issue> for Problem {
    fn from(i: Issue) -> Self {
        // Issues shared with the CLI name its flag too (`parameters.scenarios
        // (--scenarios)`); an API caller has no flags, only the body path.
        let path = match i.path.split_once(" (--") {
            Some((path, flag)) if flag.ends_with(')') => path.to_owned(),
            _ => i.path,
        };
        Problem {
            path,
            reason: i.reason,
        }
    }
}

/// An error response: a status and the problems, as `{"problems": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub problems: Vec<Problem>,
}

impl ApiError {
    pub fn new(status: StatusCode, path: &str, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            problems: vec![Problem::new(path, reason)],
        }
    }
    pub fn bad_request(problems: Vec<Problem>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            problems,
        }
    }
    pub fn not_found(run_id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "id",
            format!("no run {:?}", escape_control(run_id)),
        )
    }
    /// A storage fault: the caller's request was fine, so this is never a 4xx.
    pub fn storage(e: StoreError) -> Self {
        let status = match e {
            StoreError::Transient(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::error!(error = %e, "storage failure");
        ApiError::new(status, "", e.to_string())
    }
}

#[derive(Serialize)]
struct ProblemsBody<'a> {
    problems: &'a [Problem],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ProblemsBody {
                problems: &self.problems,
            }),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::storage(e)
    }
}

/// Where a run stands. `QUEUED`: accepted, its first stage has not recorded it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl From<RunStatus> for RunState {
    fn from(s: RunStatus) -> Self {
        match s {
            RunStatus::Running => RunState::Running,
            RunStatus::Succeeded => RunState::Succeeded,
            RunStatus::Failed => RunState::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub report: String,
}

impl Links {
    fn of(run_id: &str) -> Self {
        Links {
            self_: format!("/runs/{run_id}"),
            report: format!("/runs/{run_id}/report"),
        }
    }
}

/// Progress as the console shows it: partitions, and steps (partitions, aggregate,
/// each persona, synthesize — what the CLI's progress bar counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Progress {
    pub partitions_done: u32,
    pub partitions_total: u32,
    pub steps_done: u64,
    pub steps_total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionView {
    pub partition: u32,
    pub status: PartitionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageView {
    pub stage: String,
    pub duration_ms: u64,
}

/// `GET /runs/{id}`: the run's META item, partitions and stages from the run store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run_id: String,
    pub workflow: String,
    pub status: RunState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_count: Option<u32>,
    pub progress: Progress,
    pub partitions: Vec<PartitionView>,
    pub stages: Vec<StageView>,
    pub links: Links,
}

impl RunView {
    /// A run accepted but not yet in the run store.
    pub fn queued(run_id: &str, request: &RunRequest) -> Self {
        RunView {
            run_id: run_id.to_owned(),
            workflow: request.workflow.to_string(),
            status: RunState::Queued,
            detail: None,
            portfolio_id: None,
            created_at: None,
            started_by: request.started_by.clone(),
            seed: request.seed,
            scenario_count: None,
            progress: Progress::default(),
            partitions: Vec::new(),
            stages: Vec::new(),
            links: Links::of(run_id),
        }
    }
}

/// A run's view from the run store (`None`: the store has no such run). Backends whose
/// store is the run store's [`RunStore`] implement [`Backend::status`] with this.
pub async fn store_view<R: RunStore>(
    runs: &R,
    run_id: &str,
) -> Result<Option<RunView>, StoreError> {
    let Some(meta) = runs.get_run(run_id).await? else {
        return Ok(None);
    };
    Ok(Some(view_of(runs, meta).await?))
}

async fn view_of<R: RunStore>(runs: &R, meta: RunRecord) -> Result<RunView, StoreError> {
    let partitions = runs.partitions(&meta.run_id).await?;
    let stages = runs.stages(&meta.run_id).await?;
    let partitions_done = partitions
        .iter()
        .filter(|p| p.status == PartitionStatus::Done)
        .count() as u32;
    // The partition stage is the one before the counted steps (as in the CLI's bar).
    let stages_done = stages
        .iter()
        .filter(|s| s.stage != stages::STAGE_PARTITION)
        .count() as u64;
    let steps_total = Workflow::from_name(&meta.workflow)
        .map_or(0, |w| registry::progress_steps(w, meta.partition_count));
    Ok(RunView {
        links: Links::of(&meta.run_id),
        run_id: meta.run_id,
        workflow: meta.workflow,
        status: meta.status.into(),
        detail: meta.detail,
        portfolio_id: Some(meta.portfolio_id),
        created_at: Some(meta.created_at),
        started_by: meta.started_by,
        seed: Some(meta.seed),
        scenario_count: Some(meta.scenario_count),
        progress: Progress {
            partitions_done,
            partitions_total: meta.partition_count,
            steps_done: u64::from(partitions_done) + stages_done,
            steps_total,
        },
        partitions: partitions
            .into_iter()
            .map(|p| PartitionView {
                partition: p.partition,
                status: p.status,
                duration_ms: p.duration_ms,
            })
            .collect(),
        stages: stages
            .into_iter()
            .map(|s| StageView {
                stage: s.stage,
                duration_ms: s.duration_ms,
            })
            .collect(),
    })
}

/// Runs of one portfolio, newest first, from the run store (the GSI on AWS).
pub async fn store_history<R: RunStore>(
    runs: &R,
    portfolio_id: &str,
) -> Result<Vec<RunView>, StoreError> {
    let mut out = Vec::new();
    for meta in runs.runs_for_portfolio(portfolio_id).await? {
        out.push(view_of(runs, meta).await?);
    }
    Ok(out)
}

/// What [`Backend::start_run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// This call started the run.
    Started,
    /// A run with this id was already queued, running or finished: nothing started.
    Existing,
}

/// What differs between `stresslab serve` and the API Lambda.
///
/// The router has already validated the request (every check `run` makes) and derived
/// its run id; inputs are in [`Backend::blobs`]. A backend must never start a second
/// run for one id, however many identical requests arrive at once.
pub trait Backend: Send + Sync + 'static {
    type Blobs: BlobStore + 'static;
    /// Where inline inputs are stored and keyed inputs read from (the bucket on AWS).
    fn blobs(&self) -> &Self::Blobs;
    /// Start the admitted `request` as run `run_id`, unless that run exists and has not
    /// failed (a failed run is started again: every stage is idempotent, so the rerun
    /// resumes it under the same id).
    fn start_run(
        &self,
        run_id: &str,
        request: RunRequest,
    ) -> impl Future<Output = Result<Start, ApiError>> + Send;
    /// The run's status and progress; `None` for an unknown id.
    fn status(
        &self,
        run_id: &str,
    ) -> impl Future<Output = Result<Option<RunView>, ApiError>> + Send;
    /// A link to a finished run's report (called only for SUCCEEDED runs): a URL this
    /// server serves locally, a presigned S3 URL on AWS.
    fn report_link(&self, run_id: &str) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// Runs of one portfolio, newest first.
    fn history(
        &self,
        portfolio_id: &str,
    ) -> impl Future<Output = Result<Vec<RunView>, ApiError>> + Send;
    /// `GET /runs` without `portfolio`: the runs this API instance accepted, newest
    /// first (what the console lists).
    fn recent(&self) -> impl Future<Output = Result<Vec<RunView>, ApiError>> + Send;
}

/// Who is calling, for `RunRequest::started_by` and so audit.json.
pub type PrincipalFn = Arc<dyn Fn(&Parts) -> String + Send + Sync>;

#[derive(Clone)]
pub struct ApiConfig {
    pub principal: PrincipalFn,
    /// Largest `POST /runs` body; over it, 413. [`MAX_BODY_BYTES`] locally; the API
    /// Lambda sets what API Gateway and Lambda can deliver, which is less.
    pub max_body_bytes: usize,
    /// Largest answer the deployment can deliver (`None`: no limit). Only
    /// `POST /loan-simulations` can come near it (per-loan rows of a large book); over
    /// it, a 400 asks for `include_loans: false` instead of a response the Lambda would
    /// fail to return.
    pub max_response_bytes: Option<usize>,
}

/// The header `stresslab serve` takes the caller's name from; there is no
/// authentication locally, so it is a label, not an identity.
pub const PRINCIPAL_HEADER: &str = "x-stresslab-principal";

impl ApiConfig {
    /// Locally: the `x-stresslab-principal` header (control characters escaped, at most
    /// 128 characters), or `local`.
    pub fn local() -> Self {
        ApiConfig {
            principal: Arc::new(|parts: &Parts| {
                parts
                    .headers
                    .get(PRINCIPAL_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| {
                        format!(
                            "local:{}",
                            escape_control(v).chars().take(128).collect::<String>()
                        )
                    })
                    .unwrap_or_else(|| "local".into())
            }),
            max_body_bytes: MAX_BODY_BYTES,
            max_response_bytes: None,
        }
    }
}

struct AppState<B> {
    backend: Arc<B>,
    config: ApiConfig,
}

type Shared<B> = Arc<AppState<B>>;

/// A router's state that carries its [`ApiConfig`] (the runs API's and the
/// assessments'), so one extractor reads the caller for both.
trait WithConfig: Send + Sync {
    fn config(&self) -> &ApiConfig;
}

impl<B: Send + Sync> WithConfig for AppState<B> {
    fn config(&self) -> &ApiConfig {
        &self.config
    }
}

/// The caller's principal, by the configured [`PrincipalFn`].
struct Caller(String);

impl<S: WithConfig> FromRequestParts<Arc<S>> for Caller {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<S>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Caller((state.config().principal)(parts)))
    }
}

/// Every route, as `(method, path)` in the OpenAPI document's spelling. The router is
/// built from this list and the tests compare it with the document both ways.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/workflows"),
    ("POST", "/runs"),
    ("GET", "/runs"),
    ("GET", "/runs/{id}"),
    ("GET", "/runs/{id}/report"),
    ("GET", "/runs/{id}/files/{file}"),
    ("POST", "/loan-simulations"),
];

/// The API, over `backend`.
pub fn router<B: Backend>(backend: Arc<B>, config: ApiConfig) -> Router {
    let max_body_bytes = config.max_body_bytes;
    let state: Shared<B> = Arc::new(AppState { backend, config });
    let mut router = Router::new();
    for (method, path) in ROUTES {
        let route = match (*method, *path) {
            ("GET", "/") => get(console),
            ("GET", "/workflows") => get(workflows),
            ("POST", "/runs") => axum::routing::post(create_run::<B>),
            ("GET", "/runs") => get(list_runs::<B>),
            ("GET", "/runs/{id}") => get(run_status::<B>),
            ("GET", "/runs/{id}/report") => get(run_report::<B>),
            ("GET", "/runs/{id}/files/{file}") => get(run_file::<B>),
            ("POST", "/loan-simulations") => axum::routing::post(loans::create::<B>),
            // ROUTES and this match are side by side; the tests build the router.
            _ => unreachable!("route {method} {path} has no handler"),
        };
        router = router.route(path, route);
    }
    router
        // Axum's own limit answers 413 before a byte more is buffered; the body
        // extractor below turns its rejection into a problem list.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// The web console: one self-contained page (inline CSS and JS, no network assets).
pub const CONSOLE_HTML: &str = include_str!("console.html");

async fn console() -> Html<&'static str> {
    Html(CONSOLE_HTML)
}

#[derive(Serialize)]
struct WorkflowsBody {
    workflows: Vec<registry::WorkflowInfo>,
}

async fn workflows() -> Json<WorkflowsBody> {
    Json(WorkflowsBody {
        workflows: registry::catalog(),
    })
}

/// `POST /runs`'s answer: 202 when this request started the run, 200 when the run
/// already existed (a duplicate: same inputs, parameters and seed → same id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub run_id: String,
    pub workflow: String,
    pub status: RunState,
    /// True when this request started the run.
    pub created: bool,
    pub links: Links,
}

async fn create_run<B: Backend>(
    State(state): State<Shared<B>>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    admission::check_content_type(&headers)?;
    let body = body.map_err(|r| ApiError::new(r.status(), "body", r.body_text()))?;
    let create = admission::parse_body(&body)?;
    let backend = &state.backend;
    let admitted = admission::admit(backend.blobs(), create, principal).await?;
    let run_id = admitted.run_id.clone();
    // A duplicate of a run that exists (and has not failed) is answered from its
    // status, without re-running the workflow's checks.
    let start = match backend.status(&run_id).await? {
        Some(view) if view.status != RunState::Failed => Start::Existing,
        _ => {
            let request = admission::check(admitted).await?;
            backend.start_run(&run_id, request).await?
        }
    };
    let view = backend.status(&run_id).await?;
    let (status, workflow) = match &view {
        Some(v) => (v.status, v.workflow.clone()),
        None => (RunState::Queued, String::new()),
    };
    let body = Accepted {
        links: Links::of(&run_id),
        run_id: run_id.clone(),
        workflow,
        status,
        created: start == Start::Started,
    };
    let code = match start {
        Start::Started => StatusCode::ACCEPTED,
        Start::Existing => StatusCode::OK,
    };
    let mut response = (code, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/runs/{run_id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    portfolio: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunList {
    pub runs: Vec<RunView>,
}

async fn list_runs<B: Backend>(
    State(state): State<Shared<B>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RunList>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "query", e.body_text()))?;
    let runs = match query.portfolio {
        Some(p) if p.is_empty() || p.len() > 256 => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "portfolio",
                "must be a portfolio id of 1 to 256 characters",
            ))
        }
        Some(p) => state.backend.history(&p).await?,
        None => state.backend.recent().await?,
    };
    Ok(Json(RunList { runs }))
}

/// Run ids are `<workflow>-<20 hex digits>`; anything else cannot name a run (and must
/// not reach a store as a path or key).
fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

async fn known_run<B: Backend>(backend: &B, id: &str) -> Result<RunView, ApiError> {
    if !valid_run_id(id) {
        return Err(ApiError::not_found(id));
    }
    backend
        .status(id)
        .await?
        .ok_or_else(|| ApiError::not_found(id))
}

async fn run_status<B: Backend>(
    State(state): State<Shared<B>>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    known_run(state.backend.as_ref(), &id).await.map(Json)
}

/// `GET /runs/{id}/report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportLink {
    pub run_id: String,
    pub url: String,
}

fn not_finished(view: &RunView) -> ApiError {
    let reason = match view.status {
        RunState::Failed => format!(
            "run {} failed, so it has no report: {}",
            view.run_id,
            view.detail.as_deref().unwrap_or("no detail recorded")
        ),
        s => format!(
            "run {} has not finished (status {}); poll {}",
            view.run_id,
            serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            view.links.self_
        ),
    };
    ApiError::new(StatusCode::CONFLICT, "id", reason)
}

async fn run_report<B: Backend>(
    State(state): State<Shared<B>>,
    Path(id): Path<String>,
) -> Result<Json<ReportLink>, ApiError> {
    let view = known_run(state.backend.as_ref(), &id).await?;
    if view.status != RunState::Succeeded {
        return Err(not_finished(&view));
    }
    let url = state.backend.report_link(&id).await?;
    Ok(Json(ReportLink { run_id: id, url }))
}

/// A finished run's deliverables (report.html, results.json, summary.md, audit.json),
/// read from the blob store: what the local report link points at.
async fn run_file<B: Backend>(
    State(state): State<Shared<B>>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = known_run(state.backend.as_ref(), &id).await?;
    let Some(file) = stages::DELIVERABLES.iter().find(|f| **f == file) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "file",
            format!("a run's files are {}", stages::DELIVERABLES.join(", ")),
        ));
    };
    if view.status != RunState::Succeeded {
        return Err(not_finished(&view));
    }
    let bytes = state
        .backend
        .blobs()
        .get(&stages::deliverable_key(&id, file))
        .await?;
    let content_type = match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "text/markdown; charset=utf-8",
    };
    Ok(([(CONTENT_TYPE, content_type)], bytes).into_response())
}
