//! liquidation-strategy-designer: being built (issue 7).

use crate::engine::LiquidityRun;
use crate::LiquidityAggregate;
use stresslab_core::findings::Findings;

pub fn liquidation_strategy_designer(
    _run: &LiquidityRun,
    _agg: &LiquidityAggregate,
    _upstream: &[Findings],
) -> Findings {
    Findings::new("liquidation-strategy-designer")
}
