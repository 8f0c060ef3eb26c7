//! The liquidity team: one module per persona. Each reads the run (fund, settings,
//! scenario configuration), the aggregate of every scenario's cascades and the findings
//! of the personas it depends on (`LiquidityPersona::reads`), and returns its findings.

pub mod analyst;
pub mod behaviour;
pub mod liquidation;
pub mod optimizer;
pub mod policy;

use stresslab_core::findings::Findings;

/// A figure of an upstream persona's findings, by persona name and key.
pub fn upstream_figure(upstream: &[Findings], persona: &str, key: &str) -> Option<f64> {
    upstream
        .iter()
        .find(|f| f.persona == persona)
        .and_then(|f| f.get(key))
}
