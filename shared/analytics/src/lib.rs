//! Pure numerics for StressLab. No I/O, no async, no AWS: every function takes numbers
//! and returns numbers, cites the published method it implements, and is tested against
//! an independent value.

pub mod bootstrap;
pub mod correlation_repair;
pub mod covariance;
pub mod error;
pub mod histogram;
mod linalg;
pub mod liquidity;
pub mod optimize;
pub mod pca;
pub mod regime;
pub mod regression;
pub mod risk;
pub mod rng;
pub mod sketch;
pub mod stability;
pub mod stats;

pub use error::AnalyticsError;
