//! Latin hypercube sampling with Iman–Conover rank correlation, and stratified
//! assignment of categories. The idea of the liquidity workflow's private
//! `lhs_sorted` / `iman_conover_ranks`, generalised here from two to k dimensions (the
//! crate does not depend on the liquidity crate).

use nalgebra::DMatrix;
use stresslab_analytics::rng::Xoshiro256;
use stresslab_analytics::stats::normal_quantile;

/// One point per stratum of (0, 1), sorted: `(i + U_i)/n`, `i = 0..n` (M. D. McKay,
/// R. J. Beckman & W. J. Conover (1979), "A comparison of three methods for selecting
/// values of input variables in the analysis of output from a computer code",
/// Technometrics 21(2), 239–245).
pub fn lhs_sorted(n: usize, rng: &mut Xoshiro256) -> Vec<f64> {
    (0..n)
        .map(|i| (i as f64 + rng.uniform()) / n as f64)
        .collect()
}

/// Fisher–Yates shuffle (Durstenfeld's in-place form).
pub fn shuffle<T>(v: &mut [T], rng: &mut Xoshiro256) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Pearson correlation of normal scores that gives Spearman's `rho_s` for a bivariate
/// normal: ρ = 2 sin(π ρ_s / 6) (K. Pearson 1907; W. Kruskal (1958), JASA 53(284)).
pub fn pearson_for_spearman(rho_s: f64) -> f64 {
    2.0 * (std::f64::consts::PI * rho_s / 6.0).sin()
}

/// 0-based ranks (ties by position; the inputs are continuous).
fn ranks(x: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]).then(i.cmp(&j)));
    let mut r = vec![0; x.len()];
    for (rank, &i) in order.iter().enumerate() {
        r[i] = rank;
    }
    r
}

/// Rank of each sample in each of `k` dimensions (`ranks[j][i]`), so that the `k`
/// columns have pairwise Spearman correlation close to `spearman_target` — the
/// restricted pairing of R. L. Iman & W. J. Conover (1982), "A distribution-free
/// approach to inducing rank correlation among input variables", Communications in
/// Statistics B 11(3), 311–334:
/// van der Waerden scores `Φ⁻¹(i/(n+1))`, independently permuted per column (`S`), with
/// sample correlation `T = QQ'`; target `C = PP'` (equicorrelation at the Pearson value
/// matching the Spearman target); `S* = S Q'⁻¹ P'` has correlation exactly `C`, and its
/// column ranks pair the Latin hypercube values. With a zero target, or too few samples
/// for `T` to be positive definite (`n ≤ k`), the random permutations are kept.
pub fn iman_conover_ranks(
    n: usize,
    k: usize,
    spearman_target: f64,
    rng: &mut Xoshiro256,
) -> Vec<Vec<usize>> {
    let scores: Vec<f64> = (1..=n)
        .map(|i| normal_quantile(i as f64 / (n as f64 + 1.0)))
        .collect();
    let mut s = DMatrix::<f64>::zeros(n, k);
    for j in 0..k {
        let mut col = scores.clone();
        shuffle(&mut col, rng);
        for (i, v) in col.into_iter().enumerate() {
            s[(i, j)] = v;
        }
    }
    let induced = if spearman_target != 0.0 && n > k + 1 {
        let rho = pearson_for_spearman(spearman_target);
        let target = DMatrix::from_fn(k, k, |a, b| if a == b { 1.0 } else { rho });
        let t = sample_correlation(&s);
        match (t.cholesky(), target.cholesky()) {
            (Some(q), Some(p)) => {
                let q_inv_t = q.l().transpose().try_inverse();
                q_inv_t.map(|qi| &s * qi * p.l().transpose())
            }
            _ => None,
        }
    } else {
        None
    };
    let s = induced.unwrap_or(s);
    (0..k)
        .map(|j| ranks(&s.column(j).iter().copied().collect::<Vec<_>>()))
        .collect()
}

fn sample_correlation(s: &DMatrix<f64>) -> DMatrix<f64> {
    let (n, k) = s.shape();
    let means: Vec<f64> = (0..k).map(|j| s.column(j).mean()).collect();
    let mut cov = DMatrix::<f64>::zeros(k, k);
    for a in 0..k {
        for b in a..k {
            let v: f64 = (0..n)
                .map(|i| (s[(i, a)] - means[a]) * (s[(i, b)] - means[b]))
                .sum();
            cov[(a, b)] = v;
            cov[(b, a)] = v;
        }
    }
    DMatrix::from_fn(k, k, |a, b| {
        cov[(a, b)] / (cov[(a, a)] * cov[(b, b)]).sqrt()
    })
}

/// Split `n` items over categories in proportion to `shares` (summing to 1) by the
/// largest-remainder (Hamilton) method: every category gets ⌊n·share⌋, the leftovers go
/// to the largest fractional parts (ties to the earlier category). Every count is
/// within one of `n·share`, and the counts sum to `n`.
pub fn apportion(n: usize, shares: &[f64]) -> Vec<usize> {
    let quotas: Vec<f64> = shares.iter().map(|s| s * n as f64).collect();
    let mut counts: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (quotas[a] - quotas[a].floor(), quotas[b] - quotas[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(n.saturating_sub(assigned)) {
        counts[i] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_within_one() {
        for n in [1usize, 2, 7, 10, 999, 1000, 1001] {
            let shares = [0.5, 0.3, 0.2];
            let c = apportion(n, &shares);
            assert_eq!(c.iter().sum::<usize>(), n);
            for (ci, s) in c.iter().zip(shares) {
                assert!((*ci as f64 - s * n as f64).abs() < 1.0);
            }
        }
        assert_eq!(apportion(1000, &[0.5, 0.3, 0.2]), vec![500, 300, 200]);
    }

    #[test]
    fn iman_conover_reaches_the_target_rank_correlation() {
        let mut rng = Xoshiro256::seed_from_u64(7);
        let (n, k) = (2000, 5);
        let r = iman_conover_ranks(n, k, 0.5, &mut rng);
        for a in 0..k {
            let mut seen = vec![false; n];
            r[a].iter().for_each(|&x| seen[x] = true);
            assert!(seen.iter().all(|&s| s), "ranks are a permutation");
            for b in 0..a {
                // Spearman of ranks = Pearson of ranks.
                let x: Vec<f64> = r[a].iter().map(|&v| v as f64).collect();
                let y: Vec<f64> = r[b].iter().map(|&v| v as f64).collect();
                let m = (n as f64 - 1.0) / 2.0;
                let num: f64 = x.iter().zip(&y).map(|(p, q)| (p - m) * (q - m)).sum();
                let den: f64 = x.iter().map(|p| (p - m) * (p - m)).sum();
                let rho = num / den;
                assert!((rho - 0.5).abs() < 0.03, "Spearman {rho} for ({a}, {b})");
            }
        }
    }
}
