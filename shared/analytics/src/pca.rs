//! Principal components of a residual panel, to find hidden (unmodelled) factors.
//!
//! After regressing asset returns on the model's factors, the residuals should be
//! idiosyncratic. If a common driver is missing, their correlation matrix carries
//! eigenvalues that pure noise cannot produce. Random matrix theory gives the
//! threshold: the eigenvalues of the correlation matrix of `N` independent series
//! observed `T` times lie (as `T, N -> inf` with `N/T` fixed) below the
//! Marchenko–Pastur upper edge `lambda+ = (1 + sqrt(N/T))^2`, so every eigenvalue above
//! it counts as a factor.
//!
//! Convention: the decomposition is of the residual *correlation* matrix (each series
//! standardised with its own mean and `T - 1` standard deviation), so series with large
//! idiosyncratic volatility do not dominate and the MP edge applies with `sigma^2 = 1`.

use nalgebra::DMatrix;

use crate::error::{ensure_finite, AnalyticsError};
use crate::linalg::symmetric_eigen;

/// Result of [`residual_pca`]. Components are in decreasing order of eigenvalue.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualPca {
    /// Eigenvalues of the `N x N` residual correlation matrix, descending (they sum
    /// to `N`).
    pub eigenvalues: Vec<f64>,
    /// `eigenvalue / N`: the share of total standardised variance of each component.
    pub variance_explained: Vec<f64>,
    /// `N x N`; column `j` is the unit eigenvector (loadings) of component `j`, signed
    /// so that its largest-magnitude entry is positive (as scikit-learn >= 1.5 does).
    pub loadings: DMatrix<f64>,
    /// `T x N` component (factor return) series: standardised residuals times
    /// `loadings`. Column `j` has sample variance `eigenvalues[j]`.
    pub scores: DMatrix<f64>,
    /// Marchenko–Pastur upper edge `(1 + sqrt(N/T))^2` for this panel's shape.
    pub mp_upper_edge: f64,
    /// Number of eigenvalues strictly above `mp_upper_edge`: the hidden factors.
    pub n_factors: usize,
}

impl ResidualPca {
    /// `T x n_factors` return series of the components above the MP edge.
    pub fn factor_returns(&self) -> DMatrix<f64> {
        self.scores.columns(0, self.n_factors).into_owned()
    }

    /// `N x n_factors` loadings of the components above the MP edge.
    pub fn factor_loadings(&self) -> DMatrix<f64> {
        self.loadings.columns(0, self.n_factors).into_owned()
    }
}

/// Upper edge of the Marchenko–Pastur law, `sigma2 (1 + sqrt(N/T))^2`.
///
/// V. A. Marchenko & L. A. Pastur (1967), "Distribution of eigenvalues for some sets
/// of random matrices", Mathematics of the USSR-Sbornik 1(4), 457–483. Applied to
/// financial correlation matrices (`sigma2 = 1`) by L. Laloux, P. Cizeau,
/// J.-P. Bouchaud & M. Potters (1999), "Noise dressing of financial correlation
/// matrices", Physical Review Letters 83(7), 1467–1470, and V. Plerou et al. (2002),
/// "Random matrix approach to cross correlations in financial data", Physical Review
/// E 65, 066126.
///
/// Returns NaN when `t == 0`.
pub fn marchenko_pastur_upper_edge(t: usize, n: usize, sigma2: f64) -> f64 {
    if t == 0 {
        return f64::NAN;
    }
    let q = n as f64 / t as f64;
    sigma2 * (1.0 + q.sqrt()).powi(2)
}

/// PCA of the correlation matrix of a `T x N` residual panel (observations in rows,
/// oldest first; one column per asset), with the number of hidden factors given by
/// the Marchenko–Pastur edge (see [`marchenko_pastur_upper_edge`], `sigma2 = 1`).
///
/// Method: standardise each column (mean 0, `T - 1` standard deviation 1), form
/// `C = Z'Z / (T - 1)`, eigen-decompose it (Householder tridiagonalisation + implicit
/// QL; Golub & Van Loan, *Matrix Computations*, 4th ed., §8.3), sort descending.
/// Equivalent to `sklearn.decomposition.PCA().fit(Z)` (`explained_variance_`,
/// `explained_variance_ratio_`, `components_.T`, `transform(Z)`), up to the sign of
/// each component.
///
/// Errors: fewer than 2 observations or no columns; non-finite entries; a column with
/// zero variance (its correlation is undefined).
pub fn residual_pca(residuals: &DMatrix<f64>) -> Result<ResidualPca, AnalyticsError> {
    let (t, n) = residuals.shape();
    if n == 0 {
        return Err(AnalyticsError::InvalidArgument(
            "residual_pca: panel has no series".into(),
        ));
    }
    if t < 2 {
        return Err(AnalyticsError::NotEnoughObservations {
            needed: 2,
            found: t,
        });
    }
    ensure_finite("residual_pca: residuals", residuals.iter())?;

    let mut z = residuals.clone();
    for (j, mut col) in z.column_iter_mut().enumerate() {
        let m = col.mean();
        col.add_scalar_mut(-m);
        let sd = (col.norm_squared() / (t - 1) as f64).sqrt();
        if sd == 0.0 {
            return Err(AnalyticsError::InvalidArgument(format!(
                "residual_pca: series {j} has zero variance"
            )));
        }
        col /= sd;
    }
    let corr = z.tr_mul(&z) / (t - 1) as f64;
    let eig = symmetric_eigen("residual_pca: correlation", &corr)?;

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let eigenvalues: Vec<f64> = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let mut loadings = DMatrix::zeros(n, n);
    for (dst, &src) in order.iter().enumerate() {
        let v = eig.eigenvectors.column(src);
        let pivot = v
            .iter()
            .copied()
            .fold(0.0_f64, |acc, x| if x.abs() > acc.abs() { x } else { acc });
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        loadings.set_column(dst, &(v * sign));
    }
    let scores = &z * &loadings;
    let variance_explained = eigenvalues.iter().map(|l| l / n as f64).collect();
    let mp_upper_edge = marchenko_pastur_upper_edge(t, n, 1.0);
    let n_factors = eigenvalues.iter().filter(|&&l| l > mp_upper_edge).count();
    Ok(ResidualPca {
        eigenvalues,
        variance_explained,
        loadings,
        scores,
        mp_upper_edge,
        n_factors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;

    // Oracle (numpy 2, scikit-learn 1.9.1):
    //   import numpy as np; from sklearn.decomposition import PCA
    //   rng = np.random.default_rng(7); T, N = 12, 4
    //   f = rng.normal(size=(T, 1))
    //   E = 0.01 * (f @ np.array([[1.0, 0.8, -0.5, 0.3]])
    //               + rng.normal(size=(T, N)) * [1.0, 0.5, 0.7, 1.2])
    //   Z = (E - E.mean(0)) / E.std(0, ddof=1); p = PCA().fit(Z)
    //   p.explained_variance_, p.explained_variance_ratio_, p.components_, p.transform(Z)
    const E: [[f64; 4]; 12] = [
        [
            0.0010664440235538112,
            -0.004642498996681162,
            -0.0002109135240303273,
            0.008347328793571902,
        ],
        [
            -0.010454690097766122,
            0.00010188549486666837,
            -0.014802286866148259,
            -0.014578216264894304,
        ],
        [
            -0.0211587289315395,
            -0.0033685584982711472,
            -0.007501436093294835,
            0.0024327587397737654,
        ],
        [
            -0.00733840752133049,
            -0.008059389433207966,
            -0.013164358781957217,
            -0.009136090266431461,
        ],
        [
            -0.005031717305727945,
            -0.0030708213513572433,
            -0.008437596432679143,
            -0.0070970516679223355,
        ],
        [
            -0.01970165633053102,
            -0.011977358637099696,
            0.012384523138684862,
            -0.012665355768972144,
        ],
        [
            0.0002762189765191789,
            0.004903098157695377,
            -0.004385921042190306,
            -0.0011599925872176002,
        ],
        [
            0.014506793888040142,
            0.011040630835711577,
            -0.01527646701269652,
            0.004934328501187697,
        ],
        [
            0.00866616903190208,
            -0.01167337553905305,
            0.008476711408907836,
            -4.4371247295013906e-05,
        ],
        [
            -0.012619452939271619,
            0.00503828353315259,
            0.008438192483692684,
            -0.0162528915247225,
        ],
        [
            0.005643582789566617,
            0.006802184319832513,
            -0.003770685128381236,
            0.009664449356898067,
        ],
        [
            0.0029036968801064516,
            0.006191333869452126,
            0.008285223100792759,
            -0.007037285987587651,
        ],
    ];

    #[test]
    fn matches_sklearn_pca_of_standardised_panel() {
        let panel = DMatrix::from_fn(12, 4, |i, j| E[i][j]);
        let pca = residual_pca(&panel).unwrap();
        let ev: [f64; 4] = [
            1.9458564281869029,
            0.9592226701112295,
            0.7402785827210464,
            0.35464231898081894,
        ];
        let ratio = [
            0.486464107046726,
            0.23980566752780752,
            0.1850696456802617,
            0.08866057974520479,
        ];
        // components_ rows (= our loading columns), sign as sklearn 1.9 (svd_flip on
        // the components: largest |entry| positive).
        let comps: [[f64; 4]; 4] = [
            [
                0.5939195302315876,
                0.4911846631060714,
                -0.33864191043683767,
                0.5397396361529819,
            ],
            [
                0.3609812664750359,
                -0.315036124657563,
                0.7890366130361093,
                0.384533468898778,
            ],
            [
                0.11713127383217406,
                0.7227687786533664,
                0.4735560468192949,
                -0.48952040592324114,
            ],
            [
                0.7093887379667236,
                -0.3702636351223815,
                -0.19618244137810736,
                -0.5667317783986212,
            ],
        ];
        let score0 = [
            0.643350166122945,
            1.012568690235167,
            -0.8704947920092452,
            -0.31697750186515045,
        ];
        let score11 = [
            0.21344479931705884,
            0.633657900121299,
            1.4345825165335198,
            0.08852954473913069,
        ];
        for j in 0..4 {
            assert!((pca.eigenvalues[j] - ev[j]).abs() < 1e-10, "eigenvalue {j}");
            assert!(
                (pca.variance_explained[j] - ratio[j]).abs() < 1e-10,
                "ratio {j}"
            );
            // Up to sign: align on the first entry, then compare all.
            let s = pca.loadings[(0, j)].signum() * comps[j][0].signum();
            for (i, expected) in comps[j].iter().enumerate() {
                assert!((s * pca.loadings[(i, j)] - expected).abs() < 1e-10);
            }
            assert!((s * pca.scores[(0, j)] - score0[j]).abs() < 1e-10);
            assert!((s * pca.scores[(11, j)] - score11[j]).abs() < 1e-10);
        }
        // Eigenvalues of a correlation matrix sum to N.
        assert!((pca.eigenvalues.iter().sum::<f64>() - 4.0).abs() < 1e-12);
        // MP edge (1 + sqrt(4/12))^2 = 2.488033871712585 (numpy); no eigenvalue above.
        assert!((pca.mp_upper_edge - 2.488033871712585).abs() < 1e-14);
        assert_eq!(pca.n_factors, 0);
        assert_eq!(pca.factor_returns().shape(), (12, 0));
    }

    /// `T x N` panel: two planted factors with loadings in [0.3, 1] (second factor
    /// sign-alternating) on unit-variance noise.
    fn planted_panel(seed: u64, t: usize, n: usize) -> DMatrix<f64> {
        let mut g = Xoshiro256::seed_from_u64(seed);
        let b1: Vec<f64> = (0..n).map(|_| 0.3 + 0.7 * g.uniform()).collect();
        let b2: Vec<f64> = (0..n)
            .map(|i| (0.3 + 0.7 * g.uniform()) * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let mut panel = DMatrix::zeros(t, n);
        for r in 0..t {
            let (f1, f2) = (g.normal(), g.normal());
            for i in 0..n {
                panel[(r, i)] = b1[i] * f1 + b2[i] * f2 + g.normal();
            }
        }
        panel
    }

    #[test]
    fn marchenko_pastur_cutoff_finds_two_planted_factors() {
        for seed in [1, 2, 3, 4, 5] {
            let pca = residual_pca(&planted_panel(seed, 600, 30)).unwrap();
            assert_eq!(pca.n_factors, 2, "seed {seed}: {:?}", &pca.eigenvalues[..4]);
            assert_eq!(pca.factor_returns().shape(), (600, 2));
            assert_eq!(pca.factor_loadings().shape(), (30, 2));
        }
    }

    #[test]
    fn pure_noise_has_no_factor() {
        let mut g = Xoshiro256::seed_from_u64(11);
        let panel = DMatrix::from_fn(600, 30, |_, _| g.normal());
        let pca = residual_pca(&panel).unwrap();
        assert_eq!(pca.n_factors, 0, "{:?}", &pca.eigenvalues[..3]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            residual_pca(&DMatrix::zeros(1, 3)),
            Err(AnalyticsError::NotEnoughObservations { .. })
        ));
        assert!(residual_pca(&DMatrix::zeros(5, 0)).is_err());
        let mut constant = DMatrix::from_fn(12, 4, |i, j| E[i][j]);
        constant.column_mut(2).fill(0.5);
        assert!(matches!(
            residual_pca(&constant),
            Err(AnalyticsError::InvalidArgument(_))
        ));
        let mut nan = DMatrix::from_fn(12, 4, |i, j| E[i][j]);
        nan[(3, 1)] = f64::NAN;
        assert!(residual_pca(&nan).is_err());
        assert!(marchenko_pastur_upper_edge(0, 3, 1.0).is_nan());
    }
}
