//! Factor Modeling Specialist: how well the factors explain the book, how stable the
//! exposures are, and what the residuals hide.

use crate::model::FactorModel;
use stresslab_analytics::stats;
use stresslab_core::findings::{Findings, Horizon, Unit};
use stresslab_core::report::{Cell, Column, Table};

/// Factor-modeling specialist: how well the four factors explain the book, its tilts,
/// and how much the covariance estimate needed shrinking.
pub fn factor_modeling_specialist(model: &FactorModel) -> Findings {
    let mut f = Findings::new("factor-modeling-specialist");
    let tmv = model.total_market_value;
    let cur = model.base_currency.as_str();
    for (j, name) in model.factors.iter().enumerate() {
        f.figure(
            &format!("beta_{name}"),
            &format!("Book beta to {name}"),
            model.book_exposure[j] / tmv,
            Unit::Ratio,
            Horizon::Point,
        );
    }
    let mut r2: Vec<(f64, &str)> = model
        .positions
        .iter()
        .filter_map(|p| p.r_squared.map(|r| (r, p.id.as_str())))
        .collect();
    r2.sort_by(|a, b| a.0.total_cmp(&b.0));
    let sorted: Vec<f64> = r2.iter().map(|x| x.0).collect();
    f.figure(
        "shrinkage_intensity",
        "Ledoit-Wolf shrinkage intensity (constant-correlation target, estimation window)",
        model.shrinkage_intensity,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "estimation_months",
        "Estimation window (months)",
        model.window.months as f64,
        Unit::Months,
        Horizon::Point,
    );
    if !sorted.is_empty() {
        f.figure(
            "median_r_squared",
            "Median R² of positions",
            stats::quantile(&sorted, 0.5),
            Unit::Ratio,
            Horizon::Point,
        );
        f.figure(
            "min_r_squared",
            "Lowest R² of a position",
            sorted[0],
            Unit::Ratio,
            Horizon::Point,
        );
        let weak = sorted.iter().filter(|r| **r < 0.8).count();
        f.figure(
            "weakly_explained_positions",
            "Positions with R² below 0.80",
            weak as f64,
            Unit::Count,
            Horizon::Point,
        );
    }
    // Largest style tilt (beyond the market).
    let (tilt_j, tilt) = (1..model.factors.len())
        .map(|j| (j, model.book_exposure[j] / tmv))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap_or((0, 0.0));
    let tilt_name = &model.factors[tilt_j];
    let beta_mkt = model.book_exposure[0] / tmv;
    f.headline = format!(
        "The four-factor model puts the book's market beta at {beta_mkt:.2}; its largest style tilt is {tilt_name} at {tilt:+.2}."
    );
    let columns = [Column::text("Position"), Column::money("Market value", cur)]
        .into_iter()
        .chain(
            model
                .factors
                .iter()
                .map(|n| Column::signed(&format!("β {n}"), 2)),
        )
        .chain([
            Column::number("R²", 2),
            Column::percent("Residual vol (ann.)"),
        ])
        .collect();
    // The report is for people: the largest positions by exposure amount, with every
    // position's numbers in results.json (a 50,000-row table would be a 10 MB page).
    let mut by_size: Vec<&crate::model::PositionModel> = model.positions.iter().collect();
    by_size.sort_by(|a, b| {
        b.exposure_amount
            .abs()
            .total_cmp(&a.exposure_amount.abs())
            .then(a.id.cmp(&b.id))
    });
    let listed = by_size.len().min(EXPOSURE_ROWS);
    let title = if listed < by_size.len() {
        format!(
            "Exposures of the {listed} largest of {} positions (all in results.json; OLS on monthly excess returns; R² is — where exposures were given)",
            by_size.len()
        )
    } else {
        "Exposures (OLS on monthly excess returns; R² is — where exposures were given)".to_owned()
    };
    f.tables.push(
        Table::new(&title, columns).with_rows(by_size.into_iter().take(listed).map(|p| {
            [p.id.as_str().into(), p.market_value.into()]
                .into_iter()
                .chain(p.exposures.iter().map(|&b| b.into()))
                .chain([
                    Cell::from(p.r_squared),
                    (p.residual_vol * 12f64.sqrt()).into(),
                ])
                .collect()
        })),
    );
    if let (Some(min), Some(weak)) = (f.get("min_r_squared"), f.get("weakly_explained_positions")) {
        if weak > 0.0 {
            let names: Vec<&str> = r2
                .iter()
                .take_while(|x| x.0 < 0.8)
                .map(|x| x.1)
                .take(5)
                .collect();
            f.recommend(
                format!(
                    "{weak:.0} position(s) have R² below 0.80 (lowest {min:.2}: {}); the four factors leave material risk unexplained there — add hidden factors from the residuals before relying on factor hedges for them.",
                    names.join(", ")
                ),
                &["weakly_explained_positions", "min_r_squared"],
            );
        } else {
            f.recommend(
                format!("Every position's R² is at least {min:.2}: the four-factor model explains the book well enough to hedge with factor instruments."),
                &["min_r_squared"],
            );
        }
    }
    f.recommend(
        format!(
            "The largest style tilt is {tilt_name} at {tilt:+.2} per {cur} of book value; {tilt_name} reversal and crowding scenarios are where the book's style risk concentrates."
        ),
        &[&format!("beta_{tilt_name}")],
    );
    f
}

/// Rows of the exposures table in the report.
pub const EXPOSURE_ROWS: usize = 50;
