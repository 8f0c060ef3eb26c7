//! Risk Decomposition Engineer: where normal and stressed risk come from, and the
//! reverse stress test.

use crate::aggregate::FactorAggregate;
use crate::model::{from_rows, FactorModel};
use nalgebra::{DMatrix, DVector};
use stresslab_analytics::{risk, stats};
use stresslab_core::findings::{Findings, Horizon, Unit};
use stresslab_core::report::{money, pct, Cell, Column, Table};

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
        Horizon::Months(1),
    );
    let var_stressed = f.figure(
        "var99_stressed",
        "VaR 99% (stressed covariance)",
        var("stressed_period"),
        Unit::Money,
        Horizon::Months(1),
    );
    let ratio = f.figure(
        "stress_multiplier",
        "Stressed / normal VaR 99%",
        var_stressed / var_normal,
        Unit::Ratio,
        Horizon::Point,
    );
    f.figure(
        "es99_scenarios",
        "ES 99% across the one-month stress scenarios (equal weight)",
        es("scenario_set"),
        Unit::Money,
        Horizon::Months(1),
    );
    let worst = agg.worst.first().and_then(|id| agg.outcome(*id));
    if let Some(w) = worst {
        f.figure(
            "worst_scenario_loss",
            "Worst one-month scenario loss",
            w.loss(),
            Unit::Money,
            Horizon::Months(1),
        );
    }
    if let Some(c) = &agg.correlation_effect {
        f.figure(
            "breakdown_correlation_effect",
            "Mean loss the stressed correlations add to a breakdown (same market shock and vols, normal correlations as the reference)",
            c.mean_effect,
            Unit::Money, Horizon::Months(1));
        f.figure(
            "breakdown_fraction_adding_loss",
            "Share of breakdowns whose correlations add to the loss",
            c.fraction_adding_loss,
            Unit::Fraction,
            Horizon::Point,
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
            Horizon::Months(e.horizon_months),
        );
        f.figure(
            "worst_episode_months",
            "Length of the worst historical episode",
            f64::from(e.horizon_months),
            Unit::Months,
            Horizon::Point,
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
        Horizon::Point,
    );
    f.figure(
        "market_share_stressed",
        "Market factor share of risk (stressed)",
        share_stressed,
        Unit::Fraction,
        Horizon::Point,
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
        Horizon::Point,
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
                Unit::Ratio, Horizon::Point);
            f.figure(
                &format!("reverse_{key}_{cov_name}_market_move"),
                &format!("Market-factor move of that scenario ({label}, {cov_name} covariance)"),
                shocks[0],
                Unit::Fraction,
                Horizon::Point,
            );
            f.figure(
                &format!("reverse_{key}_{cov_name}_history_exceedance"),
                &format!("Share of history months at least as extreme as that move ({label}, {cov_name})"),
                exceedance,
                Unit::Fraction, Horizon::Point);
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
