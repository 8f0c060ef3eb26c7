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

use std::sync::{Arc, OnceLock};

/// The calibrated market model every assessment in this process shares, calibrated on
/// first use (≈ 50 ms in release) from the data embedded in the binary.
pub fn shared_model() -> Result<Arc<model::MarketModel>, calibrate::CalibrationError> {
    static MODEL: OnceLock<Arc<model::MarketModel>> = OnceLock::new();
    if let Some(m) = MODEL.get() {
        return Ok(m.clone());
    }
    let m = Arc::new(calibrate::shared()?.clone());
    Ok(MODEL.get_or_init(|| m).clone())
}
