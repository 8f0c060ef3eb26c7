//! `POST /runs` before a run starts: the body parsed with the path of any bad field,
//! inline inputs stored content-addressed, every check `stresslab run` makes, and the
//! run id derived exactly as the partition stage derives it.

use crate::{ApiError, Problem};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};
use stresslab_core::api::{RunRequest, WorkflowName};
use stresslab_core::library::LibraryVersion;
use stresslab_core::market_data::{parse_market_data, MarketData, MAX_MARKET_DATA_BYTES};
use stresslab_core::portfolio::{parse_portfolio, Issue, Portfolio, MAX_PORTFOLIO_BYTES};
use stresslab_core::stages::{self, sha256_hex, sibling_key};
use stresslab_core::storage::{BlobStore, StoreError};
use stresslab_core::StageError;
use stresslab_registry::{self as registry, Workflow};

/// Largest `POST /runs` body: an inline portfolio at the core's limit
/// (`MAX_PORTFOLIO_BYTES`, 8 MiB) with as much again for JSON string escaping and the
/// rest of the request. Larger inputs (and market data past what is left) go by key.
/// Over it: 413.
pub const MAX_BODY_BYTES: usize = 2 * MAX_PORTFOLIO_BYTES;

/// The body of `POST /runs`. Unknown fields are a 400, never silently dropped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    pub workflow: String,
    /// Inline portfolio: a JSON object (a portfolio document), or a string with the
    /// file's text, whose format `portfolio_name` tells.
    #[serde(default)]
    pub portfolio: Option<Value>,
    /// File name of an inline portfolio: `.csv` → CSV, otherwise JSON; a CSV's default
    /// portfolio id is its stem. Default `portfolio.json` for an object,
    /// `portfolio.csv` for a string.
    #[serde(default)]
    pub portfolio_name: Option<String>,
    /// Or: the key of a portfolio already in the store (S3 on AWS).
    #[serde(default)]
    pub portfolio_key: Option<String>,
    /// Inline market data (CSV text); overrides the portfolio's own reference.
    #[serde(default)]
    pub market_data: Option<String>,
    /// Or: the key of market data in the store.
    #[serde(default)]
    pub market_data_key: Option<String>,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Pin a scenario library (`stresslab refresh`, the monthly refresh): the run uses
    /// its market models, and the version is part of the run id and audit.json.
    #[serde(default)]
    pub library_version: Option<String>,
}

pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            format!(
                "expected application/json, got {:?}",
                stresslab_core::portfolio::escape_control(ct)
            ),
        ))
    }
}

/// The body, or the problem with the path serde stopped at.
pub(crate) fn parse_body(body: &[u8]) -> Result<CreateRun, ApiError> {
    parse_object(body)
}

/// A JSON object body as `T`, or the problem with the path serde stopped at.
pub(crate) fn parse_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept a JSON array, field by position; the API
    // takes only an object.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        _ => {
            return Err(ApiError::bad_request(vec![Problem::new(
                "body",
                "must be a JSON object",
            )]))
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let (path, inner) = match parsed {
        // Trailing garbage after the object is malformed JSON too.
        Ok(create) => match de.end() {
            Ok(()) => return Ok(create),
            Err(e) => (String::new(), e.to_string()),
        },
        Err(e) => (e.path().to_string(), e.inner().to_string()),
    };
    // serde reports missing and unknown fields at the enclosing object; name them.
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| inner.strip_prefix(p))
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned);
    let path = match (path.as_str(), named) {
        (".", Some(field)) => field,
        (".", None) | ("", _) => "body".into(),
        // Some derived deserializers report an unknown field at the field itself.
        (p, Some(field)) if p == field || p.ends_with(&format!(".{field}")) => p.to_owned(),
        (p, Some(field)) => format!("{p}.{field}"),
        (p, None) => p.to_owned(),
    };
    Err(ApiError::bad_request(vec![Problem::new(path, inner)]))
}

/// A request that parsed, with its inputs stored and read back, and its run id.
pub(crate) struct Admitted {
    pub run_id: String,
    workflow: Workflow,
    request: RunRequest,
    portfolio: Portfolio,
    market: Option<MarketData>,
    /// The pinned library's section for this workflow, loaded and verified.
    library: Option<Value>,
}

fn problem(path: &str, reason: impl Into<String>) -> ApiError {
    ApiError::bad_request(vec![Problem::new(path, reason)])
}

fn prefixed(prefix: &str, issues: Vec<Issue>) -> ApiError {
    ApiError::bad_request(
        issues
            .into_iter()
            .map(|i| {
                let path = if i.path.is_empty() || i.path == "file" {
                    prefix.to_owned()
                } else {
                    format!("{prefix}.{}", i.path)
                };
                Problem::new(path, i.reason)
            })
            .collect(),
    )
}

/// Keys name objects in a bucket (or files under the store's root): no absolute paths,
/// no empty or `..` segments, no control characters.
fn check_key(field: &str, key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && !key.starts_with('/')
        && !key.chars().any(char::is_control)
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if ok {
        Ok(())
    } else {
        Err(problem(
            field,
            "must be a relative key of 1 to 1024 characters without empty, '.' or '..' segments",
        ))
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(problem(
            "portfolio_name",
            "must be a file name of 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'",
        ))
    }
}

async fn read<B: BlobStore>(
    blobs: &B,
    field: &str,
    key: &str,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    blobs
        .get_limited(key, limit as u64)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => problem(field, format!("no object at {key:?}")),
            StoreError::TooLarge { limit, .. } => problem(
                field,
                format!("{key:?} is larger than the limit of {limit} bytes"),
            ),
            other => ApiError::storage(other),
        })
}

/// Parse, store inline inputs, read keyed ones, validate portfolio and market data, and
/// derive the run id. Writes only content-addressed input copies (`inputs/<sha>/…`),
/// which are the same bytes whoever writes them.
pub(crate) async fn admit<B: BlobStore>(
    blobs: &B,
    create: CreateRun,
    principal: String,
) -> Result<Admitted, ApiError> {
    let workflow = Workflow::from_name(&create.workflow).ok_or_else(|| {
        problem(
            "workflow",
            format!(
                "unknown workflow {:?}; known workflows: {}",
                stresslab_core::portfolio::escape_control(&create.workflow),
                registry::names().join(", ")
            ),
        )
    })?;
    // Parameters first: they are cheap to check and need no input.
    registry::check_parameters(workflow, &create.parameters)
        .map_err(|issues| ApiError::bad_request(issues.into_iter().map(Problem::from).collect()))?;
    let seed = create.seed.unwrap_or(stages::DEFAULT_SEED);
    // A pinned scenario library: its version is checked (it becomes part of a key)
    // and its section read as the partition stage will read it.
    let (library_version, library) = match &create.library_version {
        None => (None, None),
        Some(v) => {
            let version = LibraryVersion::parse(v).map_err(|r| {
                ApiError::bad_request(r.issues.into_iter().map(Problem::from).collect())
            })?;
            let section = match registry::library_section(blobs, workflow, &version).await {
                Ok(section) => section,
                Err(StageError::NonRetryable(reason)) => {
                    return Err(problem("library_version", reason))
                }
                // Storage unavailable: the caller may retry.
                Err(e) => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "library_version",
                        e.to_string(),
                    ))
                }
            };
            (Some(version), Some(section))
        }
    };

    let (portfolio_key, portfolio_bytes) = match (&create.portfolio, &create.portfolio_key) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(problem(
                "portfolio",
                "give exactly one of portfolio (inline) and portfolio_key",
            ))
        }
        (None, Some(key)) => {
            if create.portfolio_name.is_some() {
                return Err(problem(
                    "portfolio_name",
                    "names an inline portfolio; a keyed portfolio is named by its key",
                ));
            }
            check_key("portfolio_key", key)?;
            let bytes = read(blobs, "portfolio_key", key, MAX_PORTFOLIO_BYTES).await?;
            (key.clone(), bytes)
        }
        (Some(inline), None) => {
            let (bytes, default_name) = match inline {
                Value::Object(_) => (
                    serde_json::to_vec(inline).map_err(|e| problem("portfolio", e.to_string()))?,
                    "portfolio.json",
                ),
                Value::String(text) => (text.clone().into_bytes(), "portfolio.csv"),
                _ => return Err(problem(
                    "portfolio",
                    "must be a JSON object (a portfolio document) or a string (the file's text)",
                )),
            };
            let name = create.portfolio_name.as_deref().unwrap_or(default_name);
            check_name(name)?;
            if inline.is_object() && name.to_ascii_lowercase().ends_with(".csv") {
                return Err(problem(
                    "portfolio_name",
                    "a .csv name needs the portfolio as a string of CSV text, not an object",
                ));
            }
            if bytes.len() > MAX_PORTFOLIO_BYTES {
                return Err(problem(
                    "portfolio",
                    format!("is larger than the limit of {MAX_PORTFOLIO_BYTES} bytes"),
                ));
            }
            // Content-addressed, as `stresslab run` stages a local file: the same bytes
            // always land at the same key, so concurrent identical requests write
            // identical objects.
            let key = format!("inputs/{}/{name}", &sha256_hex(&bytes)[..16]);
            (key, bytes)
        }
    };
    let portfolio = parse_portfolio(&portfolio_key, &portfolio_bytes)
        .map_err(|r| prefixed("portfolio", r.issues))?;
    // Only a portfolio that parsed is stored: bad input leaves nothing behind.
    if create.portfolio.is_some() {
        blobs
            .put(
                &portfolio_key,
                portfolio_bytes.clone(),
                "application/octet-stream",
            )
            .await?;
    }

    let market_data_key = match (&create.market_data, &create.market_data_key) {
        (Some(_), Some(_)) => {
            return Err(problem(
                "market_data",
                "give at most one of market_data (inline) and market_data_key",
            ))
        }
        (Some(text), None) => {
            if text.len() > MAX_MARKET_DATA_BYTES {
                return Err(problem(
                    "market_data",
                    format!("is larger than the limit of {MAX_MARKET_DATA_BYTES} bytes"),
                ));
            }
            let bytes = text.clone().into_bytes();
            let key = format!(
                "inputs/{}/market/{}.csv",
                &sha256_hex(&portfolio_bytes)[..16],
                &sha256_hex(&bytes)[..16]
            );
            parse_market_data(&bytes).map_err(|r| prefixed("market_data", r.issues))?;
            blobs.put(&key, bytes, "text/csv").await?;
            Some(key)
        }
        (None, Some(key)) => {
            check_key("market_data_key", key)?;
            Some(key.clone())
        }
        (None, None) => None,
    };
    // Which market data the run reads, resolved as the partition stage resolves it
    // (`stages::load_inputs`): the explicit key, else the portfolio's own reference
    // beside the portfolio's key.
    let (market_field, market_key) = match (&market_data_key, &portfolio.market_data) {
        (Some(k), _) => ("market_data_key", Some(k.clone())),
        (None, Some(rel)) => (
            "portfolio.market_data",
            Some(sibling_key(&portfolio_key, rel)),
        ),
        (None, None) => ("market_data", None),
    };
    let (market_sha256, market) = match market_key {
        Some(key) => {
            let bytes = read(blobs, market_field, &key, MAX_MARKET_DATA_BYTES).await?;
            let parsed = parse_market_data(&bytes).map_err(|r| prefixed(market_field, r.issues))?;
            (Some(sha256_hex(&bytes)), Some(parsed))
        }
        None => (None, None),
    };
    let run_id = registry::run_id(
        workflow,
        &portfolio.portfolio_id,
        &sha256_hex(&portfolio_bytes),
        market_sha256.as_deref(),
        &create.parameters,
        seed,
        library_version.as_ref(),
    )
    .map_err(|issues| ApiError::bad_request(issues.into_iter().map(Problem::from).collect()))?;
    Ok(Admitted {
        run_id,
        workflow,
        request: RunRequest {
            workflow: WorkflowName::new(workflow.name()),
            portfolio_key,
            market_data_key,
            parameters: create.parameters,
            seed: Some(seed),
            started_by: Some(principal),
            library_version: library_version.map(|v| v.to_string()),
        },
        portfolio,
        market,
        library,
    })
}

/// Every check `run` makes before it writes anything (the work budget, required
/// market data, the workflow's model estimation and scenario generation), off the
/// async threads: it is CPU work.
pub(crate) async fn check(admitted: Admitted) -> Result<RunRequest, ApiError> {
    let Admitted {
        workflow,
        request,
        portfolio,
        market,
        library,
        ..
    } = admitted;
    tokio::task::spawn_blocking(move || {
        let seed = request.seed.unwrap_or(stages::DEFAULT_SEED);
        registry::check(
            workflow,
            &portfolio,
            market.as_ref(),
            &request.parameters,
            seed,
            library.as_ref(),
        )
        .map(|_| request)
        .map_err(|r| ApiError::bad_request(r.issues.into_iter().map(Problem::from).collect()))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "", format!("check: {e}")))?
}
