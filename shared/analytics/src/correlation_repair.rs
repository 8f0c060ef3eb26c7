//! Repairing stressed correlation matrices.
//!
//! A stress scenario that overrides a few correlations ("equity–credit goes to 0.9")
//! usually breaks positive semidefiniteness: the edited matrix is no longer the
//! correlation of any random vector, portfolio variances can come out negative and
//! Cholesky-based simulation fails. Higham's nearest correlation matrix is the least
//! (Frobenius) change that makes the scenario coherent again.

use nalgebra::DMatrix;

use crate::error::AnalyticsError;
use crate::linalg::{ensure_square_finite, symmetric_eigen};

/// Result of [`nearest_correlation`].
#[derive(Debug, Clone, PartialEq)]
pub struct NearestCorrelation {
    /// Symmetric, unit diagonal, positive semidefinite.
    pub matrix: DMatrix<f64>,
    /// Alternating-projection iterations used (0 when the input was already valid).
    pub iterations: usize,
    /// `||A - matrix||_F`, the size of the repair.
    pub frobenius_distance: f64,
}

/// Smallest eigenvalue of the symmetric part `(m + m')/2` (nalgebra's symmetric
/// tridiagonal QR algorithm; Golub & Van Loan, *Matrix Computations*, 4th ed., 2013,
/// §8.3). NaN for an empty, non-square or non-finite matrix.
pub fn min_eigenvalue(m: &DMatrix<f64>) -> f64 {
    match symmetric_eigen("min_eigenvalue", m) {
        Ok(eig) => eig.eigenvalues.min(),
        Err(_) => f64::NAN,
    }
}

/// Whether `m` is symmetric positive semidefinite up to `tol`: every eigenvalue of
/// the symmetric part is `>= -tol` (an absolute tolerance), and `m` is symmetric to
/// within `tol` entrywise. The eigenvalue test is the definition of semidefiniteness
/// (Horn & Johnson, *Matrix Analysis*, 2nd ed., 2013, §7.1). False for
/// empty, non-square or non-finite input.
pub fn is_positive_semidefinite(m: &DMatrix<f64>, tol: f64) -> bool {
    if !m.is_square() || m.nrows() == 0 || tol.is_nan() || tol < 0.0 {
        return false;
    }
    let n = m.nrows();
    for i in 0..n {
        for j in 0..i {
            if (m[(i, j)] - m[(j, i)]).abs() > tol {
                return false;
            }
        }
    }
    min_eigenvalue(m) >= -tol
}

/// Projection onto the positive semidefinite cone in the Frobenius norm: keep the
/// eigenvectors, clip negative eigenvalues to zero (Higham 1988, "Computing a nearest
/// symmetric positive semidefinite matrix", Linear Algebra Appl. 103, 103–118).
fn project_psd(r: &DMatrix<f64>, out: &mut DMatrix<f64>) -> Result<(), AnalyticsError> {
    let eig = symmetric_eigen("nearest_correlation", r)?;
    let mut scaled = eig.eigenvectors.clone();
    for (j, &lambda) in eig.eigenvalues.iter().enumerate() {
        let s = lambda.max(0.0);
        scaled.column_mut(j).scale_mut(s);
    }
    scaled.mul_to(&eig.eigenvectors.transpose(), out);
    symmetrize(out);
    Ok(())
}

/// `||a - b||_F` without allocating the difference.
fn frobenius_distance(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(p, q)| (p - q) * (p - q))
        .sum::<f64>()
        .sqrt()
}

fn symmetrize(m: &mut DMatrix<f64>) {
    let n = m.nrows();
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (m[(i, j)] + m[(j, i)]);
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
}

/// Eigenvalues this far below zero are rounding noise of the eigen solver on a matrix
/// with entries of order one, not a genuine violation of semidefiniteness.
fn psd_noise(n: usize) -> f64 {
    16.0 * n as f64 * f64::EPSILON
}

/// Nearest correlation matrix to `a` in the Frobenius norm.
///
/// N. J. Higham (2002), "Computing the nearest correlation matrix — a problem from
/// finance", IMA Journal of Numerical Analysis 22(3), 329–343, Algorithm 3.3 with
/// `W = I`: alternating projections onto the PSD cone `S` and the unit-diagonal set
/// `U`, with Dykstra's correction applied to the (non-affine) projection onto `S`:
///
/// ```text
/// dS = 0, Y = A
/// repeat: R = Y - dS;  X = P_S(R);  dS = X - R;  Y = P_U(X)
/// ```
///
/// Stops when `max(||X - X_prev||/||X||, ||Y - Y_prev||/||Y||, ||Y - X||/||Y||) <= tol`
/// (the test of Higham's `nearcorr.m`). `Y` then has unit diagonal and is PSD only up
/// to O(tol); to hand back an exactly valid matrix the final `Y` is projected onto `S`
/// once more and rescaled, `D^{-1/2} P_S(Y) D^{-1/2}` with `D = diag(P_S(Y))` — a
/// congruence, so semidefiniteness is kept and the diagonal is exactly 1 — which moves
/// it by O(tol). The published example (`A = [[1,1,0],[1,1,1],[0,1,1]]` →
/// off-diagonals 0.7607, 0.1573, 0.7607) is reproduced in the tests.
///
/// A matrix that is already a valid correlation matrix (symmetric, unit diagonal, no
/// eigenvalue below rounding noise) is returned unchanged with `iterations = 0`.
///
/// Errors: empty / non-square / non-finite input; `a` not symmetric (to 1e-10
/// relative; smaller asymmetry is averaged away); `tol` not positive; `max_iter` 0;
/// [`AnalyticsError::NotConverged`] if the tolerance is not met within `max_iter`
/// iterations (linear convergence: retry with a larger cap or looser `tol`).
pub fn nearest_correlation(
    a: &DMatrix<f64>,
    tol: f64,
    max_iter: usize,
) -> Result<NearestCorrelation, AnalyticsError> {
    ensure_square_finite("nearest_correlation", a)?;
    if !(tol > 0.0 && tol.is_finite()) {
        return Err(AnalyticsError::InvalidArgument(format!(
            "nearest_correlation: tol must be positive, got {tol}"
        )));
    }
    if max_iter == 0 {
        return Err(AnalyticsError::InvalidArgument(
            "nearest_correlation: max_iter must be at least 1".into(),
        ));
    }
    let n = a.nrows();
    let scale = a.amax().max(1.0);
    for i in 0..n {
        for j in 0..i {
            if (a[(i, j)] - a[(j, i)]).abs() > 1e-10 * scale {
                return Err(AnalyticsError::InvalidArgument(format!(
                    "nearest_correlation: input is not symmetric at ({i}, {j})"
                )));
            }
        }
    }
    let mut y = a.clone();
    symmetrize(&mut y);

    let unit_diagonal = (0..n).all(|i| a[(i, i)] == 1.0);
    if unit_diagonal && a == &y && min_eigenvalue(a) >= -psd_noise(n) {
        return Ok(NearestCorrelation {
            matrix: a.clone(),
            iterations: 0,
            frobenius_distance: 0.0,
        });
    }

    let mut ds = DMatrix::<f64>::zeros(n, n);
    let mut r = DMatrix::<f64>::zeros(n, n);
    let mut x = DMatrix::<f64>::zeros(n, n);
    let mut x_prev = DMatrix::<f64>::zeros(n, n);
    let mut y_prev = y.clone();
    let mut converged_at = None;
    for k in 1..=max_iter {
        y.sub_to(&ds, &mut r);
        std::mem::swap(&mut x, &mut x_prev);
        project_psd(&r, &mut x)?;
        x.sub_to(&r, &mut ds);
        y_prev.copy_from(&y);
        y.copy_from(&x);
        y.fill_diagonal(1.0);

        let x_norm = x.norm();
        let y_norm = y.norm();
        let rel_x = if k == 1 {
            f64::INFINITY
        } else {
            frobenius_distance(&x, &x_prev) / x_norm
        };
        let rel_y = frobenius_distance(&y, &y_prev) / y_norm;
        let rel_xy = frobenius_distance(&y, &x) / y_norm;
        if rel_x.max(rel_y).max(rel_xy) <= tol {
            converged_at = Some(k);
            break;
        }
    }
    let iterations = converged_at.ok_or(AnalyticsError::NotConverged {
        iterations: max_iter,
    })?;

    // Make the result exactly valid: PSD projection, then unit-diagonal congruence.
    project_psd(&y, &mut x)?;
    let inv_sqrt_diag: Vec<f64> = (0..n).map(|i| 1.0 / x[(i, i)].sqrt()).collect();
    if inv_sqrt_diag.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticsError::NotPositiveDefinite);
    }
    let matrix = DMatrix::from_fn(n, n, |i, j| {
        if i == j {
            1.0
        } else {
            x[(i, j)] * inv_sqrt_diag[i] * inv_sqrt_diag[j]
        }
    });
    let frobenius_distance = frobenius_distance(a, &matrix);
    Ok(NearestCorrelation {
        matrix,
        iterations,
        frobenius_distance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid_correlation(m: &DMatrix<f64>) {
        let n = m.nrows();
        for i in 0..n {
            assert_eq!(m[(i, i)], 1.0);
            for j in 0..n {
                assert_eq!(m[(i, j)], m[(j, i)]);
            }
        }
        assert!(min_eigenvalue(m) >= -1e-10, "min eig {}", min_eigenvalue(m));
    }

    #[test]
    fn higham_2002_published_example() {
        // Higham (2002), §4: A = [[1,1,0],[1,1,1],[0,1,1]] has nearest correlation
        // matrix with a12 = a23 = 0.7607, a13 = 0.1573 (4 decimals in the paper).
        let a = DMatrix::from_row_slice(3, 3, &[1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
        let res = nearest_correlation(&a, 1e-12, 10_000).unwrap();
        let x = &res.matrix;
        assert_valid_correlation(x);
        assert!((x[(0, 1)] - 0.7607).abs() < 5e-5);
        assert!((x[(1, 2)] - 0.7607).abs() < 5e-5);
        assert!((x[(0, 2)] - 0.1573).abs() < 5e-5);
        // Independent high-accuracy oracle: the dual problem (Malick 2004; Qi & Sun
        // 2006) min_y 0.5||P_S(A + diag y)||_F^2 - sum(y), solved with scipy BFGS and
        // polished by Newton steps until max|diag - 1| < 1e-15 (numpy eigh projection).
        // Tolerance 1e-12: alternating projections with tol = 1e-12 land within ~4e-14.
        assert!((x[(0, 1)] - 0.7606898534022837).abs() < 1e-12);
        assert!((x[(0, 2)] - 0.15729810613837641).abs() < 1e-12);
        assert!((res.frobenius_distance - 0.527790463581829).abs() < 1e-12);
        assert!(res.iterations > 0);
    }

    #[test]
    fn stressed_four_by_four_matches_dual_oracle() {
        // Indefinite "stressed" matrix (numpy eigvalsh min = -0.674); oracle as above.
        let b = DMatrix::from_row_slice(
            4,
            4,
            &[
                1.0, 0.9, 0.7, -0.2, //
                0.9, 1.0, -0.4, 0.3, //
                0.7, -0.4, 1.0, 0.8, //
                -0.2, 0.3, 0.8, 1.0,
            ],
        );
        assert!(!is_positive_semidefinite(&b, 1e-12));
        let expected = [
            [
                1.0,
                0.6510325482923383,
                0.42358808867752196,
                -0.0018010062821465095,
            ],
            [
                0.6510325482923383,
                1.0,
                -0.15380766303106308,
                0.12346971512612182,
            ],
            [
                0.42358808867752196,
                -0.15380766303106308,
                1.0,
                0.6040102306000007,
            ],
            [
                -0.0018010062821465095,
                0.12346971512612182,
                0.6040102306000007,
                1.0,
            ],
        ];
        let res = nearest_correlation(&b, 1e-12, 100_000).unwrap();
        assert_valid_correlation(&res.matrix);
        for (i, row) in expected.iter().enumerate() {
            for (j, &e) in row.iter().enumerate() {
                assert!((res.matrix[(i, j)] - e).abs() < 1e-11, "({i},{j})");
            }
        }
        assert!((res.frobenius_distance - 0.784674169080219).abs() < 1e-11);
    }

    #[test]
    fn valid_correlation_is_returned_unchanged() {
        let c = DMatrix::from_row_slice(3, 3, &[1.0, 0.3, -0.2, 0.3, 1.0, 0.5, -0.2, 0.5, 1.0]);
        let res = nearest_correlation(&c, 1e-10, 100).unwrap();
        assert_eq!(res.matrix, c);
        assert_eq!(res.iterations, 0);
        assert_eq!(res.frobenius_distance, 0.0);
        // Singular but valid (two perfectly correlated assets).
        let s = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        assert_eq!(nearest_correlation(&s, 1e-10, 100).unwrap().matrix, s);
    }

    #[test]
    fn eigenvalue_helpers() {
        // Closed form: eigenvalues of [[2,1],[1,2]] are 1 and 3; of [[1,2],[2,1]] -1, 3.
        let m = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]);
        assert!((min_eigenvalue(&m) - 1.0).abs() < 1e-15);
        assert!(is_positive_semidefinite(&m, 0.0));
        let n = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!((min_eigenvalue(&n) + 1.0).abs() < 1e-15);
        assert!(!is_positive_semidefinite(&n, 1e-12));
        assert!(is_positive_semidefinite(&n, 1.5));
        let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.0, 1.0]);
        assert!(!is_positive_semidefinite(&asym, 1e-12));
        assert!(min_eigenvalue(&DMatrix::zeros(0, 0)).is_nan());
        assert!(min_eigenvalue(&DMatrix::zeros(2, 3)).is_nan());
        assert!(!is_positive_semidefinite(
            &DMatrix::from_element(2, 2, f64::NAN),
            1.0
        ));
    }

    #[test]
    fn bad_input_is_an_error() {
        let a = DMatrix::from_row_slice(2, 2, &[1.0, 1.5, 1.5, 1.0]);
        assert!(nearest_correlation(&a, 0.0, 10).is_err());
        assert!(nearest_correlation(&a, 1e-8, 0).is_err());
        assert!(matches!(
            nearest_correlation(&a, 1e-14, 1),
            Err(AnalyticsError::NotConverged { iterations: 1 })
        ));
        let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.2, 1.0]);
        assert!(nearest_correlation(&asym, 1e-8, 100).is_err());
        assert!(nearest_correlation(&DMatrix::zeros(2, 3), 1e-8, 100).is_err());
        assert!(nearest_correlation(&DMatrix::zeros(0, 0), 1e-8, 100).is_err());
        let nan = DMatrix::from_element(2, 2, f64::NAN);
        assert!(nearest_correlation(&nan, 1e-8, 100).is_err());
        // A 2x2 with |rho| > 1 is repaired to rho = 1 (closed form for 2x2).
        let res = nearest_correlation(&a, 1e-12, 10_000).unwrap();
        assert!((res.matrix[(0, 1)] - 1.0).abs() < 1e-9);
    }
}
