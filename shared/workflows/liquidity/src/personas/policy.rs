//! redemption-policy-formulator: being built (issue 7).

use crate::engine::LiquidityRun;
use crate::LiquidityAggregate;
use stresslab_core::findings::Findings;

pub fn redemption_policy_formulator(
    _run: &LiquidityRun,
    _agg: &LiquidityAggregate,
    _upstream: &[Findings],
) -> Findings {
    Findings::new("redemption-policy-formulator")
}
