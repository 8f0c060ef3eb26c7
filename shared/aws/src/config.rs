//! Building the adapters from a Lambda's environment. Clients are meant to be built once
//! per cold start (in `main`, outside the handler) and reused across invocations.
//!
//! The only names the functions need are the bucket and the table, passed by the SAM
//! template as `ARTIFACT_BUCKET` and `RUN_TABLE`; region, credentials and an optional
//! endpoint override (`AWS_ENDPOINT_URL`, used to point at moto) come from the standard
//! AWS configuration chain.

use crate::{DynamoRunStore, S3BlobStore};
use aws_config::{BehaviorVersion, SdkConfig};

/// Environment variable naming the artifact bucket.
pub const BUCKET_ENV: &str = "ARTIFACT_BUCKET";
/// Environment variable naming the run table.
pub const TABLE_ENV: &str = "RUN_TABLE";

/// The standard AWS configuration chain (env, profile, container / instance roles),
/// honouring `AWS_ENDPOINT_URL`.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// Both stores, named by `ARTIFACT_BUCKET` and `RUN_TABLE`. The error names the missing
/// variable, so a misconfigured function says what is wrong on its first invocation.
pub async fn from_env() -> Result<(S3BlobStore, DynamoRunStore), String> {
    // Check the names before the (slower) credential chain, and report both at once.
    let bucket = required_env(BUCKET_ENV);
    let table = required_env(TABLE_ENV);
    let (bucket, table) = match (bucket, table) {
        (Ok(b), Ok(t)) => (b, t),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
        (Err(e1), Err(e2)) => return Err(format!("{e1}; {e2}")),
    };
    Ok(from_sdk_config(&load_sdk_config().await, bucket, table))
}

/// Both stores over an already loaded configuration (tests, the state-machine harness).
pub fn from_sdk_config(
    sdk: &SdkConfig,
    bucket: impl Into<String>,
    table: impl Into<String>,
) -> (S3BlobStore, DynamoRunStore) {
    (
        S3BlobStore::new(s3_client(sdk), bucket),
        DynamoRunStore::new(dynamodb_client(sdk), table),
    )
}

/// An S3 client that uses virtual-host addressing against AWS, and path-style addressing
/// when an endpoint override is configured: emulators such as moto on
/// `http://127.0.0.1:PORT` cannot serve `<bucket>.127.0.0.1`.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(endpoint_overridden(sdk))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn endpoint_overridden(sdk: &SdkConfig) -> bool {
    sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
}

pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// The value of `name`, or an error naming it (unset, empty, not UTF-8).
pub fn required_env(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => Err(format!("environment variable {name} is empty")),
        Err(std::env::VarError::NotPresent) => {
            Err(format!("environment variable {name} is not set"))
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("environment variable {name} is not valid UTF-8"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::Region;

    #[test]
    fn a_missing_variable_is_named() {
        let err = required_env("STRESSLAB_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(
            err.contains("STRESSLAB_TEST_SURELY_UNSET_VARIABLE"),
            "{err}"
        );
    }

    #[test]
    fn path_style_only_with_an_endpoint_override() {
        let base = || {
            SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
        };
        let moto = base().endpoint_url("http://127.0.0.1:5000").build();
        assert!(endpoint_overridden(&moto));
        if std::env::var_os("AWS_ENDPOINT_URL_S3").is_none() {
            assert!(!endpoint_overridden(&base().build()));
        }
    }
}
