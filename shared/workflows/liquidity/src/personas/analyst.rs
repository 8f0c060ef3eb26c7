//! market-liquidity-analyst: being built (issue 7).

use crate::engine::LiquidityRun;
use crate::LiquidityAggregate;
use stresslab_core::findings::Findings;

pub fn market_liquidity_analyst(_run: &LiquidityRun, _agg: &LiquidityAggregate) -> Findings {
    Findings::new("market-liquidity-analyst")
}
