//! investor-behavior-modeler: being built (issue 7).

use crate::engine::LiquidityRun;
use crate::LiquidityAggregate;
use stresslab_core::findings::Findings;

pub fn investor_behavior_modeler(
    _run: &LiquidityRun,
    _agg: &LiquidityAggregate,
    _upstream: &[Findings],
) -> Findings {
    Findings::new("investor-behavior-modeler")
}
