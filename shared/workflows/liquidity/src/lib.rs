//! The liquidity workflow (issue 7), being built: redemption cascades with feedback,
//! buffer sizing, liquidation hierarchies and gate triggers for an open-ended fund.
//!
//! Built bottom-up: the shared vocabulary ([`types`]) and the pure engines come first,
//! each tested against its limit cases and formulas; the persona team, the registry
//! entry, the state machine and the report follow. Until then this crate is not
//! registered as a runnable workflow.

pub mod cascade;
pub mod investors;
pub mod model;
pub mod profile;
pub mod scenarios;
pub mod types;
