//! Who called: the one rule every Lambda behind the HTTP API records a caller by.

use lambda_http::http::request::Parts;
use lambda_http::request::RequestContext;
use stresslab_core::portfolio::escape_control;

/// The principal recorded when a request carries no IAM identity: only a direct
/// invocation (test invoke, `sam local`) can do that, since every route requires IAM.
pub const NO_PRINCIPAL: &str = "aws:unidentified";

/// The caller: the IAM authorizer's `userArn` from the HTTP API request context
/// (`requestContext.authorizer.iam.userArn`), control characters escaped, at most 512
/// characters; [`NO_PRINCIPAL`] without one.
pub fn iam_principal(parts: &Parts) -> String {
    let arn = match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.as_deref()),
        _ => None,
    };
    match arn.map(str::trim).filter(|a| !a.is_empty()) {
        Some(arn) => escape_control(arn).chars().take(512).collect(),
        None => NO_PRINCIPAL.to_owned(),
    }
}
