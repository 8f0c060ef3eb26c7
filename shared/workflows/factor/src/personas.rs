//! The factor team's persona agents. Each reads the model and the aggregate, computes
//! what its specialism adds, and writes findings whose recommendations cite figures.
//! This slice holds what the first factor workflow needs; hidden-factor PCA, HMM
//! regimes and robust re-optimisation come with the factor issue.

use crate::aggregate::FactorAggregate;
use crate::model::{from_rows, FactorModel};
use crate::scenarios;
use nalgebra::{DMatrix, DVector};
use stresslab_analytics::{covariance, risk, stats};
use stresslab_core::findings::{Findings, Unit};
use stresslab_core::report::{money, pct, Cell, Column, Table};

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
        "Ledoit-Wolf shrinkage intensity",
        model.shrinkage_intensity,
        Unit::Ratio,
    );
    f.figure(
        "estimation_months",
        "Estimation window (months)",
        model.window.months as f64,
        Unit::Months,
    );
    if !sorted.is_empty() {
        f.figure(
            "median_r_squared",
            "Median R² of positions",
            stats::quantile(&sorted, 0.5),
            Unit::Ratio,
        );
        f.figure(
            "min_r_squared",
            "Lowest R² of a position",
            sorted[0],
            Unit::Ratio,
        );
        let weak = sorted.iter().filter(|r| **r < 0.8).count();
        f.figure(
            "weakly_explained_positions",
            "Positions with R² below 0.80",
            weak as f64,
            Unit::Count,
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

/// Euler contributions of each factor (and the idiosyncratic part) to P&L volatility.
pub fn factor_contributions(model: &FactorModel, cov: &DMatrix<f64>) -> risk::EulerContributions {
    let k = model.factors.len();
    let mut augmented = DMatrix::zeros(k + 1, k + 1);
    augmented.view_mut((0, 0), (k, k)).copy_from(cov);
    augmented[(k, k)] = model.idiosyncratic_variance;
    let mut x = DVector::zeros(k + 1);
    x.rows_mut(0, k).copy_from(&model.exposure_vector());
    x[k] = 1.0;
    risk::euler_risk_contributions(&x, &augmented)
}

/// Risk-decomposition engineer: where normal and stressed risk come from.
pub fn risk_decomposition_engineer(model: &FactorModel, agg: &FactorAggregate) -> Findings {
    let mut f = Findings::new("risk-decomposition-engineer");
    let cur = model.base_currency.as_str();
    let normal = from_rows(&model.covariance_shrunk);
    let stressed = from_rows(&model.covariance_stressed);
    let c_normal = factor_contributions(model, &normal);
    let c_stressed = factor_contributions(model, &stressed);
    let z99 = stats::normal_quantile(0.99);
    let var = |key: &str| {
        agg.view(key)
            .and_then(|v| v.tail(0.99))
            .map_or(0.0, |t| t.var)
    };
    let es = |key: &str| {
        agg.view(key)
            .and_then(|v| v.tail(0.99))
            .map_or(0.0, |t| t.es)
    };
    let var_normal = f.figure(
        "var99_normal",
        "VaR 99% (normal, Ledoit-Wolf)",
        var("normal_shrunk"),
        Unit::Money,
    );
    let var_stressed = f.figure(
        "var99_stressed",
        "VaR 99% (stressed covariance)",
        var("stressed_period"),
        Unit::Money,
    );
    let ratio = f.figure(
        "stress_multiplier",
        "Stressed / normal VaR 99%",
        var_stressed / var_normal,
        Unit::Ratio,
    );
    f.figure(
        "es99_scenarios",
        "ES 99% across the one-month stress scenarios (equal weight)",
        es("scenario_set"),
        Unit::Money,
    );
    let worst = agg.worst.first().and_then(|id| agg.outcome(*id));
    if let Some(w) = worst {
        f.figure(
            "worst_scenario_loss",
            "Worst one-month scenario loss",
            w.loss(),
            Unit::Money,
        );
    }
    if let Some(c) = &agg.correlation_effect {
        f.figure(
            "breakdown_correlation_effect",
            "Mean loss the stressed correlations add to a breakdown (same market shock and vols, normal correlations as the reference)",
            c.mean_effect,
            Unit::Money,
        );
        f.figure(
            "breakdown_fraction_adding_loss",
            "Share of breakdowns whose correlations add to the loss",
            c.fraction_adding_loss,
            Unit::Fraction,
        );
    }
    if let Some(e) = agg.episodes.first().and_then(|id| agg.outcome(*id)) {
        f.figure(
            "worst_episode_loss",
            &format!(
                "Worst historical episode loss, compounded over its {} months",
                e.horizon_months
            ),
            e.loss(),
            Unit::Money,
        );
        f.figure(
            "worst_episode_months",
            "Length of the worst historical episode",
            f64::from(e.horizon_months),
            Unit::Months,
        );
    }
    let labels: Vec<String> = model
        .factors
        .iter()
        .cloned()
        .chain(["Idiosyncratic".to_string()])
        .collect();
    let share_normal = c_normal.components[0] / c_normal.total;
    let share_stressed = c_stressed.components[0] / c_stressed.total;
    f.figure(
        "market_share_normal",
        "Market factor share of risk (normal)",
        share_normal,
        Unit::Fraction,
    );
    f.figure(
        "market_share_stressed",
        "Market factor share of risk (stressed)",
        share_stressed,
        Unit::Fraction,
    );
    f.tables.push(
        Table::new(
            "Euler contributions to one-month VaR 99% (components sum to the total)",
            vec![
                Column::text("Source"),
                Column::money("Normal VaR 99%", cur),
                Column::percent("Share of normal"),
                Column::money("Stressed VaR 99%", cur),
                Column::percent("Share of stressed"),
            ],
        )
        .with_rows(
            labels
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    vec![
                        name.as_str().into(),
                        (z99 * c_normal.components[j]).into(),
                        (c_normal.components[j] / c_normal.total).into(),
                        (z99 * c_stressed.components[j]).into(),
                        (c_stressed.components[j] / c_stressed.total).into(),
                    ]
                })
                .chain([vec![
                    "Total".into(),
                    (z99 * c_normal.total).into(),
                    1.0.into(),
                    (z99 * c_stressed.total).into(),
                    1.0.into(),
                ]]),
        )
        .one_money_scale(),
    );
    // Position-level Euler contributions under the stressed covariance, in O(n·k²):
    // with Cov(positions) = B Σ Bᵀ + diag(MV² σ²_ε) and unit weights, position i's
    // component is (bᵢᵀ Σ B_book + MVᵢ² σ²_ε,ᵢ) / σ_book — the n × n matrix is never
    // formed (it would need 20 GB for a 50,000-position book).
    let by_position = position_contributions(model, &stressed);
    let mut ranked: Vec<(usize, f64)> =
        by_position.components.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let top = ranked[0];
    f.figure(
        "top_position_share_stressed",
        "Largest single-position share of stressed risk",
        top.1 / by_position.total,
        Unit::Fraction,
    );
    f.tables.push(
        Table::new(
            "Top 10 positions by stressed VaR 99% contribution",
            vec![
                Column::text("Position"),
                Column::money("Market value", cur),
                Column::money("Contribution", cur),
                Column::percent("Share of risk"),
                Column::percent("Share of value"),
            ],
        )
        .with_rows(ranked.iter().take(10).map(|(i, c)| {
            let p = &model.positions[*i];
            vec![
                p.id.as_str().into(),
                p.market_value.into(),
                (z99 * c).into(),
                (c / by_position.total).into(),
                (p.market_value / model.total_market_value).into(),
            ]
        })),
    );
    f.headline = format!(
        "One-month VaR 99% is {} under normal covariance and {} under stressed covariance ({ratio:.2}×).",
        money(var_normal, cur),
        money(var_stressed, cur)
    );
    f.recommend(
        format!(
            "Set limits on the stressed VaR 99% ({}), not the normal one ({}): the stressed covariance multiplies tail risk by {ratio:.2}.",
            money(var_stressed, cur),
            money(var_normal, cur)
        ),
        &["var99_stressed", "var99_normal", "stress_multiplier"],
    );
    f.recommend(
        format!(
            "The market factor carries {} of stressed risk ({} in normal conditions); hedging it is the most effective single action.",
            pct(share_stressed),
            pct(share_normal)
        ),
        &["market_share_stressed", "market_share_normal"],
    );
    if let Some(w) = worst {
        f.recommend(
            format!(
                "The worst one-month scenario, “{}”, loses {}; the equal-weight ES 99% of the one-month scenario set is {}.",
                w.name,
                money(w.loss(), cur),
                money(es("scenario_set"), cur)
            ),
            &["worst_scenario_loss", "es99_scenarios"],
        );
    }
    if let (Some(effect), Some(share)) = (
        f.get("breakdown_correlation_effect"),
        f.get("breakdown_fraction_adding_loss"),
    ) {
        let text = if effect > 0.0 {
            format!(
                "Read the correlation breakdowns by their correlation effect, not their total: the stressed correlations alone add {} on average to the loss of the same market move (they add loss in {} of the breakdowns); the rest is the market shock itself.",
                money(effect, cur),
                pct(share)
            )
        } else {
            format!(
                "The correlation breakdowns measure market shocks more than correlation risk for this book: on average the stressed correlations reduce the loss of the same market move by {} (they add loss in only {} of the breakdowns). Judge correlation risk by the breakdowns that add loss, not by the set's totals.",
                money(-effect, cur),
                pct(share)
            )
        };
        f.recommend(
            text,
            &[
                "breakdown_correlation_effect",
                "breakdown_fraction_adding_loss",
            ],
        );
    }
    if let (Some(loss), Some(months)) = (f.get("worst_episode_loss"), f.get("worst_episode_months"))
    {
        let name = agg
            .episodes
            .first()
            .and_then(|id| agg.outcome(*id))
            .map_or("", |o| o.name.as_str())
            .to_owned();
        f.recommend(
            format!(
                "Over a whole historical episode the loss is larger and slower: “{name}” would cost {} over {months:.0} months, compounded on today's book — plan liquidity and limits for the episode, not only for the month.",
                money(loss, cur)
            ),
            &["worst_episode_loss", "worst_episode_months"],
        );
    }
    reverse_stress_findings(&mut f, model, var_stressed);
    f
}

/// The most plausible one-month factor move that loses `loss`: the minimum of the
/// Mahalanobis distance fᵀΣ⁻¹f subject to the factor P&L bᵀf = −loss, which by
/// Lagrange is f* = −loss · Σb / (bᵀΣb), at distance loss / √(bᵀΣb) (Studer 1999,
/// "Maximum loss for measurement of market risk", ETH Zürich; Breuer, Jandačka,
/// Rheinberger & Summer 2009, "How to find plausible, severe and useful stress
/// scenarios", International Journal of Central Banking 5(3)). Factor moves only: the
/// idiosyncratic part cannot be steered by a scenario.
pub fn reverse_stress(book: &[f64], cov: &DMatrix<f64>, loss: f64) -> (Vec<f64>, f64) {
    let b = DVector::from_column_slice(book);
    let sigma_b = cov * &b;
    let variance = b.dot(&sigma_b);
    let shocks = sigma_b.iter().map(|x| -loss * x / variance).collect();
    (shocks, loss / variance.sqrt())
}

/// Reverse stress tests at two losses — the stressed VaR 99% and 15% of book value (the
/// seed's drawdown) — under the normal and the stressed covariance.
fn reverse_stress_findings(f: &mut Findings, model: &FactorModel, var_stressed: f64) {
    let cur = model.base_currency.clone();
    let cur = cur.as_str();
    let tmv = model.total_market_value;
    let covariances = [
        ("normal", from_rows(&model.covariance_shrunk)),
        ("stressed", from_rows(&model.covariance_stressed)),
    ];
    let targets = [
        ("stressed VaR 99%", "var", var_stressed),
        (
            "15% of book value",
            "drawdown15",
            REVERSE_STRESS_DRAWDOWN * tmv,
        ),
    ];
    let columns = [
        Column::text("Loss to explain"),
        Column::money("Loss", cur),
        Column::text("Covariance"),
    ]
    .into_iter()
    .chain(
        model
            .factors
            .iter()
            .map(|n| Column::percent(&format!("{n} move"))),
    )
    .chain([
        Column::number("Mahalanobis distance", 2),
        Column::percent("History months as extreme"),
    ])
    .collect();
    let mut table = Table::new(
        "Reverse stress test: the most plausible one-month factor move that causes each loss",
        columns,
    );
    for (label, key, loss) in targets {
        for (cov_name, cov) in &covariances {
            let (shocks, distance) = reverse_stress(&model.book_exposure, cov, loss);
            let exceedance = model
                .plausibility
                .history_exceedance(model.plausibility.distance_normal(&shocks, 1));
            f.figure(
                &format!("reverse_{key}_{cov_name}_distance"),
                &format!("Mahalanobis distance of the most plausible move losing the {label} ({cov_name} covariance)"),
                distance,
                Unit::Ratio,
            );
            f.figure(
                &format!("reverse_{key}_{cov_name}_market_move"),
                &format!("Market-factor move of that scenario ({label}, {cov_name} covariance)"),
                shocks[0],
                Unit::Fraction,
            );
            f.figure(
                &format!("reverse_{key}_{cov_name}_history_exceedance"),
                &format!("Share of history months at least as extreme as that move ({label}, {cov_name})"),
                exceedance,
                Unit::Fraction,
            );
            table.row(
                [label.into(), loss.into(), (*cov_name).into()]
                    .into_iter()
                    .chain(shocks.iter().map(|&x| Cell::from(x)))
                    .chain([distance.into(), exceedance.into()])
                    .collect(),
            );
        }
    }
    f.tables.push(table);
    if let (Some(d_normal), Some(d_stressed), Some(market), Some(seen)) = (
        f.get("reverse_drawdown15_normal_distance"),
        f.get("reverse_drawdown15_stressed_distance"),
        f.get("reverse_drawdown15_normal_market_move"),
        f.get("reverse_drawdown15_normal_history_exceedance"),
    ) {
        f.recommend(
            format!(
                "The most plausible way to lose 15% of the book in a month, under normal correlations, is a market move of {} with the other factors following — {d_normal:.1} standard deviations out, a distance history reached in {} of months; under stressed correlations the same loss is only {d_stressed:.1} standard deviations out.",
                pct(market),
                pct(seen)
            ),
            &[
                "reverse_drawdown15_normal_distance",
                "reverse_drawdown15_stressed_distance",
                "reverse_drawdown15_normal_market_move",
                "reverse_drawdown15_normal_history_exceedance",
            ],
        );
    }
}

/// The seed's drawdown: a loss of 15% of book value, the reverse stress test's second
/// target.
pub const REVERSE_STRESS_DRAWDOWN: f64 = 0.15;

/// Euler contributions of each position to the book's P&L volatility under the factor
/// covariance `cov` (Tasche 1999; Qian 2006): components sum to the total.
pub fn position_contributions(model: &FactorModel, cov: &DMatrix<f64>) -> risk::EulerContributions {
    let book = model.exposure_vector();
    let sigma_book = cov * &book;
    let total = model.pnl_volatility(cov);
    let components = model
        .positions
        .iter()
        .map(|p| {
            let factor_part: f64 = p
                .exposures
                .iter()
                .zip(sigma_book.iter())
                .map(|(beta, s)| p.exposure_amount * beta * s)
                .sum();
            (factor_part + (p.exposure_amount * p.residual_vol).powi(2)) / total
        })
        .collect();
    risk::EulerContributions { total, components }
}

/// RiskMetrics monthly decay factor (J.P. Morgan/Reuters 1996, §5.3: 0.97 for monthly
/// data).
pub const EWMA_LAMBDA_MONTHLY: f64 = 0.97;
/// Regime thresholds on current/long-run volatility. A convention of this tool, not a
/// published constant: under 0.8× is calm, over 1.25× is stressed.
pub const CALM_BELOW: f64 = 0.8;
pub const STRESSED_ABOVE: f64 = 1.25;

fn mean_abs_offdiagonal(corr: &DMatrix<f64>) -> f64 {
    let k = corr.nrows();
    let mut sum = 0.0;
    for i in 0..k {
        for j in (i + 1)..k {
            sum += corr[(i, j)].abs();
        }
    }
    sum / (k * (k - 1) / 2) as f64
}

/// Market-regime analyst: is today calm, normal or stressed, and how far is today's
/// correlation structure from a breakdown.
pub fn market_regime_analyst(model: &FactorModel) -> Findings {
    let mut f = Findings::new("market-regime-analyst");
    let n = model.history.len();
    let k = model.factors.len();
    let all = DMatrix::from_fn(n, k, |t, j| model.history[t][j]);
    let ewma = covariance::ewma_covariance(&all, EWMA_LAMBDA_MONTHLY)
        .unwrap_or_else(|_| DMatrix::zeros(k, k));
    let long_run = covariance::sample_covariance(&all).unwrap_or_else(|_| DMatrix::zeros(k, k));
    let vol_now = f.figure(
        "market_vol_now",
        "Market factor volatility now (EWMA, annualised)",
        (ewma[(0, 0)] * 12.0).sqrt(),
        Unit::Fraction,
    );
    let vol_long = f.figure(
        "market_vol_long_run",
        "Market factor volatility, whole history (annualised)",
        (long_run[(0, 0)] * 12.0).sqrt(),
        Unit::Fraction,
    );
    let ratio = f.figure(
        "vol_ratio",
        "Current / long-run market volatility",
        vol_now / vol_long,
        Unit::Ratio,
    );
    let recent = DMatrix::from_fn(24, k, |t, j| model.history[n - 24 + t][j]);
    let corr_recent = covariance::sample_covariance(&recent)
        .map(|c| mean_abs_offdiagonal(&covariance::correlation_from_covariance(&c)))
        .unwrap_or(0.0);
    let corr_stressed = mean_abs_offdiagonal(&covariance::correlation_from_covariance(&from_rows(
        &model.covariance_stressed,
    )));
    f.figure(
        "mean_abs_corr_recent",
        "Mean |correlation| between factors, last 24 months",
        corr_recent,
        Unit::Ratio,
    );
    f.figure(
        "mean_abs_corr_stressed",
        "Mean |correlation| between factors, stressed window",
        corr_stressed,
        Unit::Ratio,
    );
    let regime = if ratio < CALM_BELOW {
        "calm"
    } else if ratio > STRESSED_ABOVE {
        "stressed"
    } else {
        "normal"
    };
    let trailing = scenarios::trailing_returns(model, 12);
    let crowding = scenarios::crowding_scores(model);
    f.tables.push(
        Table::new(
            "Factor trends and crowding (trailing 12 months; no crowding score for the market)",
            vec![
                Column::text("Factor"),
                Column::percent("12-month return"),
                Column::signed("Run-up z-score", 2),
                Column::signed("Book's side", 0),
                Column::signed("Crowding on the book's side", 2),
            ],
        )
        .with_rows(model.factors.iter().enumerate().map(|(j, name)| {
            let side = model.book_exposure[j].signum();
            vec![
                name.as_str().into(),
                trailing[j].into(),
                Cell::from((j > 0).then(|| crowding[j])),
                side.into(),
                Cell::from((j > 0).then(|| crowding[j] * side)),
            ]
        })),
    );
    // Crowding matters to this book where its position has ridden the trend: the
    // run-up z-score signed by the book's exposure (positive = long a rising or short a
    // falling factor — with the crowd, and hit by an unwind). A factor that fell while
    // the book is long it is not a crowded trade of this book.
    let (most_crowded, score) = (1..k)
        .map(|j| (j, crowding[j] * model.book_exposure[j].signum()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((1, 0.0));
    f.figure(
        "max_crowding_z",
        "Largest crowding z-score on the side the book holds",
        score,
        Unit::Ratio,
    );
    f.headline = format!(
        "The market is in a {regime} regime: volatility is {ratio:.2}× its long-run level; the stressed window was {} to {}.",
        model.stressed_window.start, model.stressed_window.end
    );
    f.recommend(
        if regime == "calm" {
            format!("Volatility is only {ratio:.2}× its long-run level: calm regimes are when normal-covariance VaR understates most; calibrate limits to the stressed window.")
        } else {
            format!("Volatility is {ratio:.2}× its long-run level ({regime} regime); re-run this stress test monthly and after any move above {STRESSED_ABOVE}×.")
        },
        &["vol_ratio"],
    );
    f.recommend(
        format!(
            "Factors co-move with mean |correlation| {corr_recent:.2} today versus {corr_stressed:.2} in the stressed window; watch for the gap closing — that is the correlation breakdown the scenarios stress.",
        ),
        &["mean_abs_corr_recent", "mean_abs_corr_stressed"],
    );
    f.recommend(
        if score > 0.0 {
            format!(
                "The book is with the crowd in {}: its position has ridden the 12-month trend (z-score {score:+.2} on the book's side, long a rising or short a falling factor), so a reversal — the crowding unwind in the scenarios — would hit it.",
                model.factors[most_crowded]
            )
        } else {
            format!(
                "The book rides no style trend (largest z-score on its side {score:+.2}): it is positioned against the recent winners, so a crowding unwind would hit others more than this book."
            )
        },
        &["max_crowding_z"],
    );
    f
}

/// Scenario-set ES 99% of the book with `hedge` (base currency) of market exposure sold,
/// over the one-month scenarios only (one horizon).
fn hedged_es(agg: &FactorAggregate, market_exposure: f64, hedge: f64, confidence: f64) -> f64 {
    let pnl: Vec<f64> = agg
        .outcomes
        .iter()
        .filter(|o| o.horizon_months == 1)
        .map(|o| {
            let market_return = if market_exposure != 0.0 {
                o.factor_pnl[0] / market_exposure
            } else {
                0.0
            };
            o.pnl - hedge * market_return
        })
        .collect();
    risk::historical_var_es(&pnl, confidence).es
}

/// The minimum-variance market hedge (Ederington 1979, "The hedging performance of the
/// new futures markets", Journal of Finance 34(1)): the amount `h` of market-factor
/// exposure to sell that minimises Var(bᵀf − h·f_mkt) under the factor covariance Σ,
/// `h* = (Σ b)_mkt / Σ_mkt,mkt`. Capped to [0, b_mkt] (for a long book): the strategist
/// never proposes turning the book net short.
pub fn min_variance_hedge(book: &[f64], cov: &DMatrix<f64>) -> (f64, f64) {
    let b = DVector::from_column_slice(book);
    let unconstrained = (cov * &b)[0] / cov[(0, 0)];
    let cap = book[0];
    let capped = if cap >= 0.0 {
        unconstrained.clamp(0.0, cap)
    } else {
        unconstrained.clamp(cap, 0.0)
    };
    (unconstrained, capped)
}

/// Walk-forward test of a hedge rule on history: for every month after the first
/// `window`, the hedge is sized on the `window` months before it only (sample
/// covariance, minimum-variance rule, capped) and applied to that month's factor P&L.
/// `residual` is each month's non-factor P&L (which no market hedge touches). Returns
/// (unhedged, hedged) monthly P&L over the out-of-sample months.
pub fn walk_forward(
    book: &[f64],
    history: &[Vec<f64>],
    residual: &[f64],
    window: usize,
) -> (Vec<f64>, Vec<f64>) {
    let k = book.len();
    let mut unhedged = Vec::new();
    let mut hedged = Vec::new();
    for t in window..history.len() {
        let x = DMatrix::from_fn(window, k, |i, j| history[t - window + i][j]);
        let Ok(cov) = covariance::sample_covariance(&x) else {
            continue;
        };
        let (_, h) = min_variance_hedge(book, &cov);
        let pnl: f64 = book
            .iter()
            .zip(&history[t])
            .map(|(b, f)| b * f)
            .sum::<f64>()
            + residual.get(t).copied().unwrap_or(0.0);
        unhedged.push(pnl);
        hedged.push(pnl - h * history[t][0]);
    }
    (unhedged, hedged)
}

/// Portfolio-optimization strategist: a market hedge sized on a stated criterion —
/// minimum variance under the stressed covariance, capped at the market exposure — and
/// judged where it was not fitted: walk-forward on the whole history, on every month of
/// history, and in rallies (what it gives up), as well as on the one-month scenario set
/// (one-sided: every synthetic scenario has the market falling, so it flatters any
/// hedge). Its "before" VaR figures are the risk-decomposition engineer's (`risk`), so
/// the two personas never quote different numbers for the same thing.
///
/// Not modelled, and said so: carry, roll and margin costs, and the basis between the
/// market factor (MktRF) and the index future actually traded.
pub fn portfolio_optimization_strategist(
    model: &FactorModel,
    agg: &FactorAggregate,
    risk: Option<&Findings>,
) -> Findings {
    let mut f = Findings::new("portfolio-optimization-strategist");
    let cur = model.base_currency.as_str();
    let b = &model.book_exposure;
    let b_mkt = b[0];
    let stressed = from_rows(&model.covariance_stressed);
    let normal = from_rows(&model.covariance_shrunk);
    let (unconstrained, hedge) = min_variance_hedge(b, &stressed);
    let (_, hedge_normal) = min_variance_hedge(b, &normal);
    f.figure(
        "hedge_notional",
        "Market exposure to sell (minimum variance under the stressed covariance, capped at the market exposure)",
        hedge,
        Unit::Money,
    );
    f.figure(
        "hedge_ratio",
        "Hedge ratio (of market exposure)",
        hedge / b_mkt,
        Unit::Ratio,
    );
    f.figure(
        "hedge_ratio_unconstrained",
        "Minimum-variance hedge ratio before the cap",
        unconstrained / b_mkt,
        Unit::Ratio,
    );
    f.figure(
        "hedge_ratio_normal",
        "Minimum-variance hedge ratio under the normal covariance",
        hedge_normal / b_mkt,
        Unit::Ratio,
    );

    // Every month of history, today's book revalued in full (factor moves plus each
    // position's replayed residual, which no market hedge removes), three hedges: none,
    // the proposal, full.
    let residual_pnl: Vec<f64> = (0..model.history.len())
        .map(|t| {
            model
                .positions
                .iter()
                .filter_map(|p| {
                    p.residual_series
                        .map(|s| p.exposure_amount * model.series_residuals[s as usize][t])
                })
                .sum()
        })
        .collect();
    let month_pnl: Vec<f64> = model
        .history
        .iter()
        .zip(&residual_pnl)
        .map(|(row, e)| b.iter().zip(row).map(|(x, r)| x * r).sum::<f64>() + e)
        .collect();
    let with = |h: f64| -> Vec<f64> {
        month_pnl
            .iter()
            .zip(&model.history)
            .map(|(p, row)| p - h * row[0])
            .collect()
    };
    let es99 = |pnl: &[f64]| risk::historical_var_es(pnl, 0.99).es;
    let history_none = f.figure(
        "history_es99_unhedged",
        "ES 99% over every month of history, unhedged",
        es99(&month_pnl),
        Unit::Money,
    );
    let history_hedged = f.figure(
        "history_es99_hedged",
        "ES 99% over every month of history, with the proposed hedge",
        es99(&with(hedge)),
        Unit::Money,
    );
    let history_full = f.figure(
        "history_es99_full_hedge",
        "ES 99% over every month of history, hedge ratio 1.0",
        es99(&with(b_mkt)),
        Unit::Money,
    );
    // Walk-forward: the hedge sized on the trailing estimation window only.
    let window = crate::model::ESTIMATION_MONTHS;
    let (oos_none, oos_hedged) = walk_forward(b, &model.history, &residual_pnl, window);
    let oos_months = f.figure(
        "walk_forward_months",
        "Out-of-sample months in the walk-forward test",
        oos_none.len() as f64,
        Unit::Count,
    );
    let oos_es_none = f.figure(
        "walk_forward_es99_unhedged",
        "Walk-forward ES 99%, unhedged",
        es99(&oos_none),
        Unit::Money,
    );
    let oos_es_hedged = f.figure(
        "walk_forward_es99_hedged",
        "Walk-forward ES 99%, hedge re-sized each month on the trailing window",
        es99(&oos_hedged),
        Unit::Money,
    );
    let oos_vol_none = f.figure(
        "walk_forward_volatility_unhedged",
        "Walk-forward monthly volatility, unhedged",
        stats::std_dev(&oos_none),
        Unit::Money,
    );
    let oos_vol_hedged = f.figure(
        "walk_forward_volatility_hedged",
        "Walk-forward monthly volatility, hedged",
        stats::std_dev(&oos_hedged),
        Unit::Money,
    );
    // Rallies: what the hedge gives up in the best 5% of market months.
    let mut by_market: Vec<f64> = model.history.iter().map(|r| r[0]).collect();
    by_market.sort_by(f64::total_cmp);
    let cut = by_market[((by_market.len() as f64) * 0.95).floor() as usize];
    let rally: Vec<f64> = model
        .history
        .iter()
        .filter(|r| r[0] >= cut)
        .map(|r| hedge * r[0])
        .collect();
    let rally_cost = f.figure(
        "rally_cost",
        "Average P&L the hedge gives up in the best 5% of market months",
        rally.iter().sum::<f64>() / rally.len().max(1) as f64,
        Unit::Money,
    );

    // The scenario set, labelled for what it is.
    let es_before = f.figure(
        "es99_scenarios_before",
        "ES 99% of the one-month scenario set before the hedge (one-sided set)",
        hedged_es(agg, b_mkt, 0.0, 0.99),
        Unit::Money,
    );
    let es_after = f.figure(
        "es99_scenarios_after",
        "ES 99% of the one-month scenario set after the hedge (one-sided set)",
        hedged_es(agg, b_mkt, hedge, 0.99),
        Unit::Money,
    );
    let mut hedged_model = model.clone();
    hedged_model.book_exposure[0] -= hedge;
    // After the hedge: parametric VaR 99% of the hedged book, as the aggregate's
    // normal and stressed views compute it. Before: the risk engineer's figures (the
    // same numbers), or the aggregate's own views when run without it.
    let var99_after = |cov: &[Vec<f64>]| {
        risk::parametric_var(hedged_model.pnl_volatility(&from_rows(cov)), 0.0, 0.99)
    };
    let before = |risk_key: &str, view: &str| {
        risk.and_then(|r| r.get(risk_key))
            .or_else(|| agg.view(view).and_then(|v| v.tail(0.99)).map(|t| t.var))
            .unwrap_or(f64::NAN)
    };
    let vn0 = f.figure(
        "var99_normal_before",
        "VaR 99% normal, before",
        before("var99_normal", "normal_shrunk"),
        Unit::Money,
    );
    let vn1 = f.figure(
        "var99_normal_after",
        "VaR 99% normal, after",
        var99_after(&model.covariance_shrunk),
        Unit::Money,
    );
    let vs0 = f.figure(
        "var99_stressed_before",
        "VaR 99% stressed, before",
        before("var99_stressed", "stressed_period"),
        Unit::Money,
    );
    let vs1 = f.figure(
        "var99_stressed_after",
        "VaR 99% stressed, after",
        var99_after(&model.covariance_stressed),
        Unit::Money,
    );
    let first = model.history_dates.first().map_or("", String::as_str);
    let last = model.history_dates.last().map_or("", String::as_str);
    f.tables.push(
        Table::new(
            &format!(
                "The market hedge, judged in and out of sample (monthly P&L of today's book, factor and residual moves; history {first} to {last})"
            ),
            vec![
                Column::text("Measure"),
                Column::money("Before", cur),
                Column::money("After", cur),
                Column::percent("Change"),
            ],
        )
        .with_rows(
            [
                ("Walk-forward ES 99% (out of sample)", oos_es_none, oos_es_hedged),
                ("Walk-forward volatility (out of sample)", oos_vol_none, oos_vol_hedged),
                ("ES 99% over all of history", history_none, history_hedged),
                ("VaR 99% (normal covariance)", vn0, vn1),
                ("VaR 99% (stressed covariance)", vs0, vs1),
                ("ES 99% of the one-sided scenario set", es_before, es_after),
            ]
            .iter()
            .map(|&(name, a, b)| vec![name.into(), a.into(), b.into(), (b / a - 1.0).into()]),
        )
        .one_money_scale(),
    );
    f.headline = format!(
        "A minimum-variance market hedge under the stressed covariance sells {} ({:.2} of market exposure); out of sample over {oos_months:.0} months it moves ES 99% from {} to {}.",
        money(hedge, cur),
        hedge / b_mkt,
        money(oos_es_none, cur),
        money(oos_es_hedged, cur)
    );
    f.recommend(
        format!(
            "Hedge {} of market exposure (ratio {:.2}; {:.2} before the cap at the book's exposure, {:.2} under the normal covariance). Judged where it was not fitted — re-sized each month on the trailing {window} months — ES 99% goes from {} to {} and monthly volatility from {} to {}.",
            money(hedge, cur),
            hedge / b_mkt,
            unconstrained / b_mkt,
            hedge_normal / b_mkt,
            money(oos_es_none, cur),
            money(oos_es_hedged, cur),
            money(oos_vol_none, cur),
            money(oos_vol_hedged, cur)
        ),
        &[
            "hedge_notional",
            "hedge_ratio",
            "hedge_ratio_unconstrained",
            "hedge_ratio_normal",
            "walk_forward_es99_unhedged",
            "walk_forward_es99_hedged",
            "walk_forward_volatility_unhedged",
            "walk_forward_volatility_hedged",
        ],
    );
    f.recommend(
        format!(
            "Over every month of history the proposed hedge leaves ES 99% at {} (unhedged {}, a full 1.0 hedge {}); in the best 5% of market months it gives up {} a month on average — the price of the protection.",
            money(history_hedged, cur),
            money(history_none, cur),
            money(history_full, cur),
            money(rally_cost, cur)
        ),
        &["history_es99_hedged", "history_es99_unhedged", "history_es99_full_hedge", "rally_cost"],
    );
    f.recommend(
        format!(
            "Not yet in these figures: carry, roll and margin of the futures, and the basis between the market factor and the index future traded; the one-sided scenario set (ES 99% {} → {}) flatters any hedge and is shown for completeness only.",
            money(es_before, cur),
            money(es_after, cur)
        ),
        &["es99_scenarios_before", "es99_scenarios_after"],
    );
    f
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let with = portfolio_optimization_strategist(&model, &agg, Some(&risk));
        let without = portfolio_optimization_strategist(&model, &agg, None);
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
        let (none, hedged) = walk_forward(&[1e6], &history, &[], 24);
        assert_eq!(none.len(), 36);
        assert!(stats::std_dev(&none) > 1e3);
        assert!(hedged.iter().all(|p| p.abs() < 1e-6), "{hedged:?}");
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
