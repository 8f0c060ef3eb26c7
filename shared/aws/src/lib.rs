//! AWS adapters for StressLab: the S3 blob store and the DynamoDB run store that
//! implement the core storage ports, the configuration that builds them from a Lambda's
//! environment, provisioning for tests and harnesses, and (feature `lambda`) the glue
//! that turns stage errors into the `Retryable` / `NonRetryable` error types Step
//! Functions matches on.
//!
//! The stages in `stresslab-core` never see this crate: they are generic over
//! [`stresslab_core::storage::BlobStore`] and [`stresslab_core::storage::RunStore`], and
//! the same contract suite (`stresslab_core::storage::contract`) runs against the local
//! disk adapters and, in `tests/moto_contract.rs`, against these ones on a moto server.

#[cfg(feature = "bedrock")]
pub mod bedrock;
pub mod config;
pub mod dynamo;
mod errors;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "moto")]
pub mod moto;
#[cfg(feature = "http")]
pub mod principal;
pub mod provision;
pub mod s3;
#[cfg(feature = "sfn")]
pub mod sfn;

pub use config::{from_env, from_sdk_config, load_sdk_config};
pub use dynamo::DynamoRunStore;
/// Any AWS SDK error as a [`stresslab_core::storage::StoreError`] of the right kind, for
/// callers of other AWS services (the upload trigger's Step Functions client).
pub use errors::store_error;
pub use provision::ensure_bucket_and_table;
pub use s3::S3BlobStore;
