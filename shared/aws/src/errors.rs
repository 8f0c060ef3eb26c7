//! One place that decides what an SDK failure means to a caller, so S3 and DynamoDB
//! errors reach the stages as the same three [`StoreError`] kinds: gone (`NotFound`),
//! try again (`Transient`, which becomes a Step Functions `Retry`), or give up
//! (`Permanent`, which goes to the `Catch` that marks the run FAILED).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use stresslab_core::storage::StoreError;

/// Error codes that mean "slow down / try later" whatever their HTTP status.
/// (The SDK's standard retry strategy has already retried these a few times; if they
/// still fail, the state machine's backoff takes over.)
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
];

/// 404-ish codes that name a missing *container* (bucket, table), not a missing item:
/// that is a deployment mistake, and retrying or treating it as "no such key" would
/// hide it.
const MISSING_CONTAINER_CODES: &[&str] = &["NoSuchBucket", "ResourceNotFoundException"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    NotFound,
    Transient,
    Permanent,
}

/// Classify a service (HTTP) error by status and error code.
pub(crate) fn classify_service(status: u16, code: Option<&str>) -> Kind {
    if code.is_some_and(|c| MISSING_CONTAINER_CODES.contains(&c)) {
        return Kind::Permanent;
    }
    if status == 404 || matches!(code, Some("NoSuchKey" | "NotFound")) {
        return Kind::NotFound;
    }
    if status == 429 || status >= 500 || code.is_some_and(|c| TRANSIENT_CODES.contains(&c)) {
        return Kind::Transient;
    }
    Kind::Permanent
}

pub(crate) fn kind_of<E>(err: &SdkError<E, HttpResponse>) -> Kind
where
    E: ProvideErrorMetadata,
{
    match err {
        // The request may never have reached AWS, or the answer was cut off: both are
        // network weather.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Kind::Transient
        }
        SdkError::ServiceError(ctx) => classify_service(ctx.raw().status().as_u16(), err.code()),
        // ConstructionFailure (bad input or configuration) and anything added later.
        _ => Kind::Permanent,
    }
}

/// Turn an SDK error into a [`StoreError`] whose message names the operation.
pub fn store_error<E>(context: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{context}: {}", DisplayErrorContext(&err));
    match kind_of(&err) {
        Kind::NotFound => StoreError::NotFound(message),
        Kind::Transient => StoreError::Transient(message),
        Kind::Permanent => StoreError::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_are_not_found() {
        assert_eq!(classify_service(404, Some("NoSuchKey")), Kind::NotFound);
        // HEAD responses carry no body, so no code: the status alone decides.
        assert_eq!(classify_service(404, None), Kind::NotFound);
    }

    #[test]
    fn missing_bucket_or_table_is_a_deployment_error() {
        assert_eq!(classify_service(404, Some("NoSuchBucket")), Kind::Permanent);
        assert_eq!(
            classify_service(400, Some("ResourceNotFoundException")),
            Kind::Permanent
        );
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert_eq!(classify_service(503, Some("SlowDown")), Kind::Transient);
        assert_eq!(classify_service(500, None), Kind::Transient);
        assert_eq!(classify_service(429, None), Kind::Transient);
        assert_eq!(
            classify_service(400, Some("ProvisionedThroughputExceededException")),
            Kind::Transient
        );
        assert_eq!(
            classify_service(400, Some("ThrottlingException")),
            Kind::Transient
        );
    }

    #[test]
    fn client_errors_are_permanent() {
        assert_eq!(classify_service(403, Some("AccessDenied")), Kind::Permanent);
        assert_eq!(
            classify_service(400, Some("ValidationException")),
            Kind::Permanent
        );
    }
}
