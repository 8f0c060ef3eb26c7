//! portfolio-liquidity-optimizer: being built (issue 7).

use crate::engine::LiquidityRun;
use crate::LiquidityAggregate;
use stresslab_core::findings::Findings;

pub fn portfolio_liquidity_optimizer(
    _run: &LiquidityRun,
    _agg: &LiquidityAggregate,
    _upstream: &[Findings],
) -> Findings {
    Findings::new("portfolio-liquidity-optimizer")
}
