//! The one error type of the analytics crate.
//!
//! Numerics fail in a handful of ways (wrong shapes, too little data, a matrix that is
//! not positive definite, an iteration that did not settle, a meaningless argument).
//! Callers in `shared/core` map these onto retryable / non-retryable stage errors, so
//! the variants stay few and carry enough context to explain themselves in a log line.

use std::fmt;

/// Why an analytics routine refused its input or could not produce a result.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalyticsError {
    /// Two inputs that must agree in size do not (`what` names the quantity).
    DimensionMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// The estimator needs at least `needed` observations and got `found`.
    NotEnoughObservations { needed: usize, found: usize },
    /// A matrix that must be (numerically) positive definite is not.
    NotPositiveDefinite,
    /// The design matrix of a regression has numerically dependent columns.
    RankDeficient { rank: usize, columns: usize },
    /// An iterative method stopped at its iteration cap before meeting its tolerance.
    NotConverged { iterations: usize },
    /// Any other invalid argument (non-finite value, out-of-range parameter, ...).
    InvalidArgument(String),
    /// An optimisation problem has no feasible point (e.g. caps that sum to less than
    /// the budget); the message names the problem and the constraints involved.
    Infeasible(String),
    /// A convex solver stopped without a solution for a reason other than
    /// infeasibility or its iteration cap (numerical trouble, unboundedness, ...).
    SolverFailed(String),
}

impl fmt::Display for AnalyticsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DimensionMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "dimension mismatch in {what}: expected {expected}, found {found}"
            ),
            Self::NotEnoughObservations { needed, found } => write!(
                f,
                "not enough observations: need at least {needed}, found {found}"
            ),
            Self::NotPositiveDefinite => write!(f, "matrix is not positive definite"),
            Self::RankDeficient { rank, columns } => write!(
                f,
                "design matrix is rank deficient: rank {rank} with {columns} columns"
            ),
            Self::NotConverged { iterations } => {
                write!(f, "did not converge within {iterations} iterations")
            }
            Self::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
            Self::Infeasible(msg) => write!(f, "infeasible problem: {msg}"),
            Self::SolverFailed(msg) => write!(f, "solver failed: {msg}"),
        }
    }
}

impl std::error::Error for AnalyticsError {}

/// Rejects non-finite entries: every estimator here would silently propagate them.
pub(crate) fn ensure_finite<'a>(
    what: &str,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), AnalyticsError> {
    if values.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidArgument(format!(
            "{what} contains a non-finite value"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_problem() {
        let e = AnalyticsError::DimensionMismatch {
            what: "exposure vs covariance",
            expected: 3,
            found: 2,
        };
        assert_eq!(
            e.to_string(),
            "dimension mismatch in exposure vs covariance: expected 3, found 2"
        );
        assert!(AnalyticsError::NotConverged { iterations: 7 }
            .to_string()
            .contains('7'));
    }

    #[test]
    fn ensure_finite_flags_nan_and_inf() {
        assert!(ensure_finite("x", &[1.0, 2.0]).is_ok());
        assert!(ensure_finite("x", &[1.0, f64::NAN]).is_err());
        assert!(ensure_finite("x", &[f64::INFINITY]).is_err());
    }
}
