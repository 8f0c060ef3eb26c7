//! Real-time risk assessment (issue 10, part 1): market, credit, liquidity and
//! compliance agents assess one portfolio concurrently and reach a consensus with an
//! audit record. Pure and in memory — no stages, no partitions, no AWS — so the CLI,
//! `stresslab serve` and the `realtime-risk` Lambda all call the same function.

pub mod assessment;
pub mod backtest;
pub mod calibrate;
pub mod compliance;
pub mod credit;
pub mod liquidity;
pub mod market;
pub mod model;
pub mod portfolio;
pub mod sample;
pub mod settings;
pub mod stress;

pub use assessment::{assess, AlertTier, AssessError, Assessment, AssessmentRequest, AuditRecord};
