//! The hedging workflow (issue 8): FX, rates and credit hedge programs for a pension,
//! judged across 1,000+ volatility scenarios × Monte Carlo paths.

pub mod book;
pub mod calibration;
pub mod evaluate;
pub mod factors;
pub mod kernels;
pub mod model;
pub mod paths;
pub mod programs;
pub mod scenarios;
pub mod valuation;
