//! `POST /loan-simulations`: the loan-book rate shock, synchronously, in memory.
//!
//! Unlike a run it needs no storage, no stages and no backend: the simulation is a pure
//! function of the request (~0.2 s for 100,000 loans × 60 months), so the router runs
//! it itself, on a blocking thread, in `stresslab serve` and in the API Lambda alike —
//! both answer the same request with the same bytes. Its result is not stored; the
//! `SimulationId` (a digest of book, shock, settings and engine version) lets a caller
//! recognise a repeat.
//!
//! The book travels as the CSV text of the seed's loan schema (`book_csv`), not as a
//! JSON array: it is the format the CLI reads and the sample is written in, the
//! parser reports every bad field by the file's line, and it is a third of the size
//! of the same loans as JSON objects — which matters under the Lambda's body limit.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stresslab_loans::book::parse_iso_date;
use stresslab_loans::report::sha256_hex;
use stresslab_loans::{simulate, LoanBook, LoanIssue, LoanSimulation, RateShock, Settings};

use crate::admission::{check_content_type, parse_object};
use crate::{ApiError, Backend, Problem, Shared};

/// The body of `POST /loan-simulations`. Unknown fields are a 400.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLoanSimulation {
    /// The loan book: CSV text with the header `LoanId, CustomerId, LoanAmount,
    /// InterestRate, StartDate, EndDate, LoanType, RepaymentSchedule, CurrentBalance,
    /// DefaultRiskScore`.
    pub book_csv: String,
    pub shock: RateShock,
    /// Valuation date of the book's balances and rates, `YYYY-MM-DD`.
    pub as_of: String,
    #[serde(default = "default_horizon")]
    pub horizon_months: u32,
    /// Per-loan rows in the answer (default true); false for the book totals only.
    #[serde(default = "default_true")]
    pub include_loans: bool,
}

fn default_horizon() -> u32 {
    60
}

fn default_true() -> bool {
    true
}

/// Where a bad loan field is, as a path into the request: `book_csv[line 5].LoanAmount`.
fn loan_problem(issue: &LoanIssue) -> Problem {
    Problem::new(
        format!("book_csv[line {}].{}", issue.line, issue.field),
        issue.reason.clone(),
    )
}

/// The simulation's document, or every problem with the request (book issues by line
/// and field, then the settings').
pub fn run(request: &CreateLoanSimulation) -> Result<LoanSimulation, Vec<Problem>> {
    let mut problems = Vec::new();
    let as_of = parse_iso_date(&request.as_of)
        .map_err(|e| problems.push(Problem::new("as_of", e)))
        .ok();
    let book = LoanBook::from_csv(request.book_csv.as_bytes())
        .map_err(|e| problems.extend(e.issues.iter().map(loan_problem)))
        .ok();
    let (Some(as_of), Some(book)) = (as_of, book) else {
        return Err(problems);
    };
    let mut settings = Settings::new(as_of);
    settings.horizon_months = request.horizon_months;
    let results = simulate(&book, &request.shock, &settings).map_err(|e| {
        let settings = e.settings.iter().map(|s| match s.split_once(": ") {
            Some((path, reason)) => Problem::new(path, reason),
            None => Problem::new("body", s.clone()),
        });
        e.loans
            .iter()
            .map(loan_problem)
            .chain(settings)
            .collect::<Vec<_>>()
    })?;
    Ok(LoanSimulation::new(
        &book,
        &sha256_hex(request.book_csv.as_bytes()),
        &request.shock,
        &settings,
        &results,
        request.include_loans,
    ))
}

pub(crate) async fn create<B: Backend>(
    State(state): State<Shared<B>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    check_content_type(&headers)?;
    let body = body.map_err(|r| ApiError::new(r.status(), "body", r.body_text()))?;
    let request: CreateLoanSimulation = parse_object(&body)?;
    let max_response = state.config.max_response_bytes;
    // Seconds of CPU for a large book: off the async workers.
    let answer = tokio::task::spawn_blocking(move || {
        let doc = run(&request).map_err(ApiError::bad_request)?;
        let json = serde_json::to_vec(&doc)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "", e.to_string()))?;
        match max_response {
            Some(max) if json.len() > max => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "include_loans",
                format!(
                    "the answer with per-loan rows for {} loans is {} bytes, over this \
                     deployment's response limit of {max} bytes: set include_loans to \
                     false for the book totals, or split the book",
                    doc.book.loans,
                    json.len()
                ),
            )),
            _ => Ok(json),
        }
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "", e.to_string()))??;
    Ok((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer,
    )
        .into_response())
}
