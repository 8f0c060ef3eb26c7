//! StressLab core: domain types and validation, the workflow stages (the four generic
//! operations and the persona agents) as plain async functions over the storage traits,
//! report rendering and narrators, and the local disk adapters.
//!
//! Nothing here knows about AWS: `shared/aws` implements [`storage::BlobStore`] and
//! [`storage::RunStore`] for S3 and DynamoDB, and the Lambda crates call the same stage
//! functions the local runner calls.

pub mod api;
pub mod error;
pub mod factor;
pub mod findings;
pub mod input;
pub mod local;
pub mod market_data;
pub mod narrative;
pub mod portfolio;
pub mod rng;
pub mod runner;
pub mod stages;
pub mod storage;
pub mod svg;
pub mod workflow;

pub use error::StageError;
