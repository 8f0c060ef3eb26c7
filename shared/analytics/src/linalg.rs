//! Guarded wrappers around nalgebra decompositions.
//!
//! nalgebra asserts (panics) on empty or non-square input and iterates without bound
//! on NaN; the public API of this crate promises never to panic on bad input, so every
//! decomposition goes through these checks first.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::error::{ensure_finite, AnalyticsError};

/// Checks that `m` is a non-empty, square, all-finite matrix.
pub(crate) fn ensure_square_finite(
    what: &'static str,
    m: &DMatrix<f64>,
) -> Result<(), AnalyticsError> {
    if m.nrows() == 0 {
        return Err(AnalyticsError::InvalidArgument(format!("{what} is empty")));
    }
    if !m.is_square() {
        return Err(AnalyticsError::DimensionMismatch {
            what,
            expected: m.nrows(),
            found: m.ncols(),
        });
    }
    ensure_finite(what, m.iter())
}

/// Eigen-decomposition of the symmetric part `(m + m^T)/2` (implicit QL/QR on the
/// Householder tridiagonal form, as in nalgebra), with an iteration cap so malformed
/// input yields an error instead of a hang.
pub(crate) fn symmetric_eigen(
    what: &'static str,
    m: &DMatrix<f64>,
) -> Result<SymmetricEigen<f64, nalgebra::Dyn>, AnalyticsError> {
    ensure_square_finite(what, m)?;
    let n = m.nrows();
    let sym = DMatrix::from_fn(n, n, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    let cap = 1_000 + 100 * n * n;
    SymmetricEigen::try_new(sym, f64::EPSILON, cap)
        .ok_or(AnalyticsError::NotConverged { iterations: cap })
}
