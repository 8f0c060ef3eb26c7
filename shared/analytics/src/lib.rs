//! Pure numerics for StressLab. No I/O, no async, no AWS: every function takes numbers
//! and returns numbers, cites the published method it implements, and is tested against
//! an independent value.

pub mod correlation_repair;
pub mod covariance;
pub mod error;
pub mod histogram;
mod linalg;
pub mod pca;
pub mod regression;
pub mod risk;
// Used only by tests until a resampling routine needs it.
#[allow(dead_code)]
mod rng;
pub mod stability;
pub mod stats;

pub use error::AnalyticsError;
