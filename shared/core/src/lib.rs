//! StressLab kernel: the engine contract every workflow implements, the generic stages
//! (partition, compute-partition, aggregate, the persona stage, synthesize) as plain
//! async functions over the storage traits, the embedded runner, portfolio and market
//! data input with validation, findings, the report kit (SVG charts, number formats),
//! narrators and the audit record, and the local disk adapters.
//!
//! No workflow lives here (they are crates under `shared/workflows/`, listed once in
//! the registry) and nothing here knows about AWS: `shared/aws` implements
//! [`storage::BlobStore`] and [`storage::RunStore`] for S3 and DynamoDB, and the Lambda
//! crates call the same stage functions the local runner calls.

pub mod api;
pub mod audit;
pub mod engine;
pub mod error;
pub mod findings;
pub mod grounding;
pub mod input;
pub mod library;
pub mod local;
pub mod market_data;
pub mod narrative;
pub mod portfolio;
pub mod report;
pub mod results;
pub mod rng;
pub mod runner;
pub mod stages;
pub mod storage;
pub mod svg;

pub use engine::WorkflowEngine;
pub use error::StageError;
