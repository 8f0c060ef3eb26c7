//! The factor team's persona agents. Each reads the model and the aggregate, computes
//! what its specialism adds, and writes findings whose recommendations cite figures.
//! This slice holds what the first factor workflow needs; hidden-factor PCA, HMM
//! regimes and robust re-optimisation come with the factor issue.

mod fms;
mod mra;
mod pos;
mod rde;

pub use fms::*;
pub use mra::*;
pub use pos::*;
pub use rde::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::from_rows;
    use nalgebra::{DMatrix, DVector};
    use stresslab_analytics::{risk, stats};

    #[test]
    fn position_contributions_match_the_dense_euler_decomposition() {
        // The O(n) form against the textbook one on the full n × n position covariance.
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        let cov = from_rows(&model.covariance_stressed);
        let b = DMatrix::from_fn(model.positions.len(), model.factors.len(), |i, j| {
            model.positions[i].exposure_amount * model.positions[i].exposures[j]
        });
        let mut dense = &b * &cov * b.transpose();
        for (i, p) in model.positions.iter().enumerate() {
            dense[(i, i)] += (p.exposure_amount * p.residual_vol).powi(2);
        }
        let ones = DVector::from_element(model.positions.len(), 1.0);
        let expected = risk::euler_risk_contributions(&ones, &dense);
        let got = position_contributions(&model, &cov);
        assert!((got.total - expected.total).abs() < 1e-12 * expected.total);
        for (g, e) in got.components.iter().zip(&expected.components) {
            assert!((g - e).abs() < 1e-9 * expected.total, "{g} vs {e}");
        }
        let sum: f64 = got.components.iter().sum();
        assert!((sum - got.total).abs() < 1e-9 * got.total);
    }

    #[test]
    fn the_strategist_quotes_the_risk_engineers_var() {
        let (portfolio, market) = crate::tests::sample();
        let (model, set) = <crate::FactorWorkflow as stresslab_core::WorkflowEngine>::prepare(
            &portfolio,
            Some(&market),
            &crate::tests::params(200),
            5,
        )
        .unwrap();
        let outcomes = set
            .iter()
            .map(|s| crate::evaluate_scenario(&model, s))
            .collect();
        let agg = crate::aggregate::merge(&model, outcomes);
        let risk = risk_decomposition_engineer(&model, &agg);
        let with = portfolio_optimization_strategist(&model, &agg, Some(&risk), None);
        let without = portfolio_optimization_strategist(&model, &agg, None, None);
        assert_eq!(with.get("var99_normal_before"), risk.get("var99_normal"));
        assert_eq!(
            with.get("var99_stressed_before"),
            risk.get("var99_stressed")
        );
        // Recomputing gives the same figure up to rounding: the two are one number.
        let (a, b) = (
            with.get("var99_normal_before").unwrap(),
            without.get("var99_normal_before").unwrap(),
        );
        assert!((a - b).abs() < 1e-9 * a, "{a} vs {b}");
    }

    #[test]
    fn the_reverse_stress_move_attains_the_loss_at_the_smallest_distance() {
        let cov = DMatrix::from_row_slice(
            3,
            3,
            &[
                0.0020, 0.0004, -0.0003, 0.0004, 0.0010, 0.0001, -0.0003, 0.0001, 0.0015,
            ],
        );
        let book = [900.0, 150.0, -80.0];
        let loss = 120.0;
        let (f, d) = reverse_stress(&book, &cov, loss);
        let b = DVector::from_column_slice(&book);
        let fv = DVector::from_column_slice(&f);
        // Attains the loss, along Σb, at distance loss / √(bᵀΣb).
        assert!((b.dot(&fv) + loss).abs() < 1e-9);
        let sigma_b = &cov * &b;
        for j in 0..3 {
            assert!((f[j] / sigma_b[j] - f[0] / sigma_b[0]).abs() < 1e-12);
        }
        let inv = cov.clone().try_inverse().unwrap();
        let dist = |x: &DVector<f64>| (x.transpose() * &inv * x)[(0, 0)].sqrt();
        assert!((dist(&fv) - d).abs() < 1e-9 * d);
        assert!((d - loss / b.dot(&sigma_b).sqrt()).abs() < 1e-12);
        // Any other move with the same loss is further out: add a loss-neutral step.
        let neutral = DVector::from_column_slice(&[150.0, -900.0, 0.0]);
        assert!(b.dot(&neutral).abs() < 1e-9);
        for step in [-1e-3, 1e-3, 5e-3] {
            assert!(dist(&(&fv + &neutral * step)) > d);
        }
    }

    #[test]
    fn the_min_variance_hedge_minimises_variance_and_is_capped() {
        let cov = DMatrix::from_row_slice(2, 2, &[0.0025, 0.0006, 0.0006, 0.0016]);
        let book = [100.0, 40.0];
        let (h, capped) = min_variance_hedge(&book, &cov);
        // Closed form: (Σb)_0 / Σ_00 = (0.25 + 0.024) / 0.0025.
        assert!((h - 109.6).abs() < 1e-9, "{h}");
        assert_eq!(capped, 100.0, "never net short");
        let b = DVector::from_column_slice(&book);
        let var = |h: f64| {
            let mut x = b.clone();
            x[0] -= h;
            (x.transpose() * &cov * &x)[(0, 0)]
        };
        assert!(var(h) < var(h + 1.0) && var(h) < var(h - 1.0));
    }

    #[test]
    fn a_pure_market_book_is_fully_hedged_out_of_sample() {
        // One factor, the book all market: the walk-forward hedge ratio is 1 and the
        // hedged P&L vanishes.
        let history: Vec<Vec<f64>> = (0..60)
            .map(|t| vec![((t * 37 % 11) as f64 - 5.0) / 100.0])
            .collect();
        let wf = walk_forward(&[1e6], &history, &[], 24);
        assert_eq!(wf.unhedged.len(), 36);
        assert_eq!(wf.months, (24..60).collect::<Vec<_>>());
        assert!(stats::std_dev(&wf.unhedged) > 1e3);
        assert!(wf.hedged.iter().all(|p| p.abs() < 1e-6), "{:?}", wf.hedged);
        assert!(wf.ratios.iter().all(|r| (r - 1.0).abs() < 1e-9));
    }

    #[test]
    fn euler_factor_contributions_sum_to_the_book_volatility() {
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        for cov in [&model.covariance_shrunk, &model.covariance_stressed] {
            let cov = from_rows(cov);
            let c = factor_contributions(&model, &cov);
            let sum: f64 = c.components.iter().sum();
            assert!((sum - model.pnl_volatility(&cov)).abs() < 1e-6 * sum);
        }
    }
}
