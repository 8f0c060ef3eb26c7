//! Real-time risk assessment (issue 10, part 1): market, credit, liquidity and
//! compliance agents assess one portfolio concurrently and reach a consensus with an
//! audit record. Pure and in memory — no stages, no partitions, no AWS — so the CLI,
//! `stresslab serve` and the `realtime-risk` Lambda all call the same function.

pub mod backtest;
pub mod calibrate;
pub mod model;
pub mod stress;
