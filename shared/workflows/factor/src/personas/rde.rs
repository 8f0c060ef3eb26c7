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
    decomposition_findings(&mut f, model);
    residual_dependence_findings(&mut f, model);
    conditional_findings(&mut f, model, agg);
    drawdown_findings(&mut f, model);
    if let (Some(share), Some(depth), Some(months)) = (
        f.get("share_mktrf_stressed"),
        f.get("max_drawdown"),
        f.get("max_drawdown_months_to_trough"),
    ) {
        f.headline.push_str(&format!(
            " The market factor carries {} of stressed risk; replayed over history, today's book would have drawn down {} over {months:.0} months.",
            pct(share),
            pct(depth)
        ));
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

/// The months of history (indices into `model.history`) in which today's book lost at
/// least `loss` from its factor moves, −bᵀf_t ≥ loss. This is how often history
/// actually caused the loss — the frequency a reverse stress test is judged by. A
/// Mahalanobis distance cannot say it: counting months as far out in any direction
/// counts moves that make money or hurt another book (Breuer, Jandačka, Rheinberger &
/// Summer 2009 measure plausibility by the distance, severity by the loss; the
/// historical frequency of the loss is the empirical check of both together).
pub fn history_months_losing(model: &FactorModel, loss: f64) -> Vec<usize> {
    model
        .history
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            let pnl: f64 = model
                .book_exposure
                .iter()
                .zip(f.iter())
                .map(|(b, x)| b * x)
                .sum();
            -pnl >= loss
        })
        .map(|(t, _)| t)
        .collect()
}

/// Up to this many months are named where history caused a reverse-stress loss.
const MONTHS_NAMED: usize = 5;

/// Reverse stress tests at two losses — the stressed VaR 99% and 15% of book value (the
/// seed's drawdown) — under the normal and the stressed covariance. Plausibility is the
/// Mahalanobis distance under the covariance that found the move; frequency is the
/// share of history months whose factor loss on today's book reached the loss.
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
    let history_span = format!(
        "{} to {}",
        model.history_dates.first().map_or("", String::as_str),
        model.history_dates.last().map_or("", String::as_str)
    );
    let columns = [
        Column::text("Loss to explain"),
        Column::money("Loss", cur),
        Column::text("Covariance of the move and its distance"),
    ]
    .into_iter()
    .chain(
        model
            .factors
            .iter()
            .map(|n| Column::percent(&format!("{n} move"))),
    )
    .chain([
        Column::number("Mahalanobis distance (row's covariance)", 2),
        Column::percent("History months losing at least this (today's book, factor P&L)"),
        Column::number("Such months", 0),
        Column::text("Which months (up to 5)"),
    ])
    .collect();
    let mut table = Table::new(
        &format!("Reverse stress test: the most plausible one-month factor move that causes each loss; how often history ({history_span}) caused it on today's book"),
        columns,
    );
    let months_total = model.history.len();
    for (label, key, loss) in targets {
        let losing = history_months_losing(model, loss);
        let share = f.figure(
            &format!("reverse_{key}_history_loss_share"),
            &format!(
                "Share of history months ({history_span}) whose factor loss on today's book was at least the {label} (any covariance)"
            ),
            losing.len() as f64 / months_total.max(1) as f64,
            Unit::Fraction,
            Horizon::Point,
        );
        let count = f.figure(
            &format!("reverse_{key}_history_loss_months"),
            &format!(
                "History months ({history_span}, of {months_total}) whose factor loss on today's book was at least the {label}"
            ),
            losing.len() as f64,
            Unit::Count,
            Horizon::Point,
        );
        let named = if losing.is_empty() {
            "none".to_string()
        } else if losing.len() <= MONTHS_NAMED {
            losing
                .iter()
                .map(|&t| model.history_dates[t].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            format!("{} months", losing.len())
        };
        for (cov_name, cov) in &covariances {
            let (shocks, distance) = reverse_stress(&model.book_exposure, cov, loss);
            f.figure(
                &format!("reverse_{key}_{cov_name}_distance"),
                &format!("Mahalanobis distance of the most plausible move losing the {label} ({cov_name} covariance: the move and its distance)"),
                distance,
                Unit::Ratio, Horizon::Point);
            f.figure(
                &format!("reverse_{key}_{cov_name}_market_move"),
                &format!("Market-factor move of that scenario ({label}, {cov_name} covariance)"),
                shocks[0],
                Unit::Fraction,
                Horizon::Point,
            );
            table.row(
                [label.into(), loss.into(), (*cov_name).into()]
                    .into_iter()
                    .chain(shocks.iter().map(|&x| Cell::from(x)))
                    .chain([
                        distance.into(),
                        share.into(),
                        count.into(),
                        named.as_str().into(),
                    ])
                    .collect(),
            );
        }
        if key == "drawdown15" {
            reverse_drawdown_recommendation(f, model, &losing, &history_span);
        }
    }
    f.tables.push(table);
}

fn reverse_drawdown_recommendation(
    f: &mut Findings,
    model: &FactorModel,
    losing: &[usize],
    history_span: &str,
) {
    let (Some(d_normal), Some(d_stressed), Some(market), Some(share), Some(count)) = (
        f.get("reverse_drawdown15_normal_distance"),
        f.get("reverse_drawdown15_stressed_distance"),
        f.get("reverse_drawdown15_normal_market_move"),
        f.get("reverse_drawdown15_history_loss_share"),
        f.get("reverse_drawdown15_history_loss_months"),
    ) else {
        return;
    };
    let months = if losing.is_empty() || losing.len() > MONTHS_NAMED {
        String::new()
    } else {
        format!(
            " ({})",
            losing
                .iter()
                .map(|&t| model.history_dates[t].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    f.recommend(
        format!(
            "The most plausible way to lose 15% of the book ({}) in a month, under normal correlations, is a market move of {} with the other factors following — {d_normal:.1} standard deviations out under the normal covariance; under the stressed covariance the most plausible such move is only {d_stressed:.1} out. Judged by the loss it causes, not by the distance: {count:.0} of the {} months {history_span} ({:.2}%) lost at least as much on today's book from factor moves{months}.",
            money(REVERSE_STRESS_DRAWDOWN * model.total_market_value, &model.base_currency),
            pct(market),
            model.history.len(),
            share * 100.0
        ),
        &[
            "reverse_drawdown15_normal_distance",
            "reverse_drawdown15_stressed_distance",
            "reverse_drawdown15_normal_market_move",
            "reverse_drawdown15_history_loss_share",
            "reverse_drawdown15_history_loss_months",
        ],
    );
}

/// How far the independence assumption behind the specific-risk term is from the data:
/// the in-sample variance of the book's summed residual, Var(Σᵢ Aᵢ εᵢ,t), over the sum of
/// the independent variances, Σᵢ Aᵢ² Var(εᵢ,t), both over the estimation window from
/// `model.series_residuals` (the OLS residuals there). 1 means the residuals behave as
/// independent; below 1 they offset, above 1 they move together (a hidden common factor
/// with same-signed exposures). It tests the factor model's assumption that specific
/// returns are uncorrelated across assets (R. Grinold & R. Kahn (2000), *Active
/// Portfolio Management*, 2nd ed., ch. 3): Var(Σ Aᵢεᵢ) = Σ Aᵢ²Var(εᵢ) + Σᵢ≠ⱼ AᵢAⱼCov,
/// computed without the n × n covariance by summing the book's residual month by month.
/// Positions with given exposures (no residual series) are left out.
/// O(positions + series × months).
pub fn residual_dependence_ratio(model: &FactorModel) -> Option<f64> {
    let series = model.series_residuals.len();
    let mut amount = vec![0.0; series];
    let mut squared = vec![0.0; series];
    for p in &model.positions {
        if let Some(s) = p.residual_series {
            amount[s as usize] += p.exposure_amount;
            squared[s as usize] += p.exposure_amount.powi(2);
        }
    }
    let months = model.window.months;
    let window = |r: &[f64]| -> Vec<f64> {
        let start = r.len().saturating_sub(months);
        let w = &r[start..];
        let mean = w.iter().sum::<f64>() / w.len().max(1) as f64;
        w.iter().map(|x| x - mean).collect()
    };
    let mut book = vec![0.0; months];
    let mut independent = 0.0;
    for (s, r) in model.series_residuals.iter().enumerate() {
        if squared[s] == 0.0 {
            continue;
        }
        let e = window(r);
        independent += squared[s] * e.iter().map(|x| x * x).sum::<f64>();
        for (b, x) in book.iter_mut().zip(&e) {
            *b += amount[s] * x;
        }
    }
    // The same divisor on both sides: the ratio does not depend on it.
    let actual: f64 = book.iter().map(|x| x * x).sum();
    (independent > 0.0).then(|| actual / independent)
}

fn residual_dependence_findings(f: &mut Findings, model: &FactorModel) {
    let Some(ratio) = residual_dependence_ratio(model) else {
        return;
    };
    let w = &model.window;
    f.figure(
        "residual_dependence_ratio",
        &format!(
            "Variance of the book's summed residual over the sum of independent residual variances ({} to {}, in-sample; exposure-weighted; 1 = independent)",
            w.start, w.end
        ),
        ratio,
        Unit::Ratio,
        Horizon::Point,
    );
    let Some(specific) = f.get("variance_share_specific_normal") else {
        return;
    };
    let effect = if ratio < 1.0 {
        "they partly offset, so the specific-risk term — summed as if independent — overstates the book's specific volatility by a factor of about"
    } else {
        "they move together, so the specific-risk term — summed as if independent — understates the book's specific volatility by a factor of about"
    };
    f.recommend(
        format!(
            "Caveat on specific risk: over {} to {} (in-sample) the book's summed residual had {ratio:.2}× the variance of independent residuals — the residuals share common factors and {effect} {:.2}. It is {} of the book's variance now, so VaR barely moves; after a market hedge it is a much larger share of what remains, so read hedged VaR figures as {} on this count. The VaR method is unchanged.",
            w.start,
            w.end,
            (1.0 / ratio).sqrt().max(ratio.sqrt()),
            pct(specific),
            if ratio < 1.0 { "conservative (too high)" } else { "too low" }
        ),
        &["residual_dependence_ratio", "variance_share_specific_normal"],
    );
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

/// The book's one-month P&L in factor form, under one factor covariance Σ:
/// P&L = bᵀf + Σᵢ Aᵢεᵢ with Var = bᵀΣb + D, D = Σᵢ Aᵢ²σ²_ε,ᵢ (residuals independent of
/// the factors and of each other). Every position-level quantity below comes from Σb
/// and the position's own exposure, so the n × n position covariance B Σ Bᵀ + diag(·)
/// is never formed: O(n·k²) time, O(n·k) memory.
///
/// Marginal, component and incremental VaR follow P. Jorion (2007), *Value at Risk*,
/// 3rd ed., ch. 7 (marginal ∂VaR/∂x, component x·∂VaR/∂x, incremental VaR(book) −
/// VaR(book without the position), computed exactly here rather than by Jorion's
/// marginal approximation); the factor-model covariance is R. Grinold & R. Kahn (2000),
/// *Active Portfolio Management*, 2nd ed., ch. 3. VaR and ES are parametric (Gaussian,
/// zero mean), so both are multiples of σ — VaR = z σ, ES = φ(z)/(1 − c) σ — and their
/// Euler components are the same multiples of σ's (D. Tasche (2002), "Expected shortfall
/// and beyond", Journal of Banking & Finance 26(7); McNeil, Frey & Embrechts (2005),
/// *Quantitative Risk Management*, §6.3): component ES = ES multiplier × Euler
/// component of σ.
pub struct BookRisk {
    cov: DMatrix<f64>,
    book: DVector<f64>,
    /// Σb: the covariance of each factor with the book's P&L.
    sigma_b: DVector<f64>,
    /// bᵀΣb.
    factor_variance: f64,
    /// D = Σᵢ Aᵢ²σ²_ε,ᵢ.
    specific_variance: f64,
}

/// One source of risk (a factor, the specific part, a sector or a position) under one
/// covariance, in P&L-volatility units; VaR and ES follow by the parametric multipliers
/// (see [`BookRisk`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskSource {
    pub name: String,
    /// Factor rows: the book's exposure bⱼ (P&L per unit factor return). Group rows: the
    /// exposure amount Σᵢ∈g Aᵢ. `None` for the specific part.
    pub exposure: Option<f64>,
    /// ∂σ/∂(exposure): volatility added per unit of exposure, the group scaled pro rata
    /// (for a group, the exposure-weighted mean of its members'). `None` when the
    /// exposure is zero or undefined.
    pub marginal: Option<f64>,
    /// Euler component (Tasche 1999): exposure × marginal; components sum to σ.
    pub component: f64,
    /// σ(book) − σ(book without the source) — exact, not the marginal approximation.
    pub incremental: f64,
}

/// Variance of the book split into the stand-alone factor variances Σⱼ bⱼ²Σⱼⱼ, the
/// factor covariance (interaction) terms Σⱼ≠ₗ bⱼbₗΣⱼₗ, and the specific variance D.
/// With residuals uncorrelated with the factors there is no factor × specific cross
/// term; the interaction measured here is the part of factor risk that comes from the
/// factors' correlations — what a correlation breakdown changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceSplit {
    pub standalone: f64,
    pub interaction: f64,
    pub specific: f64,
}

impl VarianceSplit {
    pub fn total(&self) -> f64 {
        self.standalone + self.interaction + self.specific
    }
}

impl BookRisk {
    /// `book` is b = Σᵢ Aᵢβᵢ, `specific_variance` is D.
    pub fn new(book: &[f64], specific_variance: f64, cov: &DMatrix<f64>) -> Self {
        let book = DVector::from_column_slice(book);
        let sigma_b = cov * &book;
        BookRisk {
            factor_variance: book.dot(&sigma_b),
            cov: cov.clone(),
            book,
            sigma_b,
            specific_variance,
        }
    }

    pub fn for_model(model: &FactorModel, cov: &DMatrix<f64>) -> Self {
        Self::new(&model.book_exposure, model.idiosyncratic_variance, cov)
    }

    /// Monthly P&L volatility σ of the book.
    pub fn volatility(&self) -> f64 {
        (self.factor_variance + self.specific_variance)
            .max(0.0)
            .sqrt()
    }

    /// σ(book) − σ(book less a part with factor exposure `part` and specific variance
    /// `part_specific`), from σ² − σ′² = 2 partᵀΣb − partᵀΣpart + D_part divided by
    /// σ + σ′ — no cancellation however small the part.
    fn incremental(&self, part: &DVector<f64>, part_specific: f64) -> f64 {
        let sigma = self.volatility();
        let drop = 2.0 * part.dot(&self.sigma_b) - part.dot(&(&self.cov * part)) + part_specific;
        let without = (sigma * sigma - drop).max(0.0).sqrt();
        if sigma + without > 0.0 {
            drop / (sigma + without)
        } else {
            0.0
        }
    }

    /// Marginal, component and incremental risk of each factor, then the specific part.
    /// Removing factor j means zeroing bⱼ (a perfect hedge of that factor alone).
    pub fn by_factor(&self, names: &[String]) -> Vec<RiskSource> {
        let sigma = self.volatility();
        let k = self.book.len();
        let mut rows: Vec<RiskSource> = (0..k)
            .map(|j| {
                let mut part = DVector::zeros(k);
                part[j] = self.book[j];
                let marginal = self.sigma_b[j] / sigma;
                RiskSource {
                    name: names[j].clone(),
                    exposure: Some(self.book[j]),
                    marginal: Some(marginal),
                    component: self.book[j] * marginal,
                    incremental: self.incremental(&part, 0.0),
                }
            })
            .collect();
        rows.push(RiskSource {
            name: SPECIFIC.into(),
            exposure: None,
            marginal: None,
            component: self.specific_variance / sigma,
            incremental: self.incremental(&DVector::zeros(k), self.specific_variance),
        });
        rows
    }

    /// Marginal, component and incremental risk of groups of positions. `members`
    /// yields, per position, (group index, exposure amount Aᵢ, betas βᵢ, residual
    /// volatility σ_ε,ᵢ); group g's factor exposure b_g = Σᵢ∈g Aᵢβᵢ and specific
    /// variance D_g = Σᵢ∈g Aᵢ²σ²_ε,ᵢ are accumulated in O(n·k), then each group costs
    /// O(k²). A position is a group of one.
    pub fn by_group<'a>(
        &self,
        names: &[String],
        members: impl IntoIterator<Item = (usize, f64, &'a [f64], f64)>,
    ) -> Vec<RiskSource> {
        let k = self.book.len();
        let mut exposure = vec![DVector::zeros(k); names.len()];
        let mut specific = vec![0.0; names.len()];
        let mut amount = vec![0.0; names.len()];
        for (g, a, betas, residual_vol) in members {
            for (e, beta) in exposure[g].iter_mut().zip(betas) {
                *e += a * beta;
            }
            specific[g] += (a * residual_vol).powi(2);
            amount[g] += a;
        }
        let sigma = self.volatility();
        names
            .iter()
            .enumerate()
            .map(|(g, name)| {
                let component = (exposure[g].dot(&self.sigma_b) + specific[g]) / sigma;
                RiskSource {
                    name: name.clone(),
                    exposure: Some(amount[g]),
                    marginal: (amount[g] != 0.0).then(|| component / amount[g]),
                    component,
                    incremental: self.incremental(&exposure[g], specific[g]),
                }
            })
            .collect()
    }

    /// Stand-alone factor, factor-interaction and specific variance.
    pub fn variance_split(&self) -> VarianceSplit {
        let standalone: f64 = (0..self.book.len())
            .map(|j| self.book[j].powi(2) * self.cov[(j, j)])
            .sum();
        VarianceSplit {
            standalone,
            interaction: self.factor_variance - standalone,
            specific: self.specific_variance,
        }
    }
}

/// The name of the non-factor (idiosyncratic) source in every table.
pub const SPECIFIC: &str = "Specific (idiosyncratic)";
/// The group of positions that carry no sector.
pub const UNCLASSIFIED: &str = "Unclassified";
/// The conditional-contribution tail: the worst 5% of one-month scenarios.
pub const CONDITIONAL_TAIL: f64 = 0.05;

/// Each position's sector group: (group names in order of first appearance, the group
/// index of every position).
pub fn sector_groups(model: &FactorModel) -> (Vec<String>, Vec<usize>) {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut names = Vec::new();
    let of = model
        .positions
        .iter()
        .map(|p| {
            let name = p.sector.as_deref().unwrap_or(UNCLASSIFIED);
            *index.entry(name).or_insert_with(|| {
                names.push(name.to_owned());
                names.len() - 1
            })
        })
        .collect();
    (names, of)
}

/// Mean P&L by source in the worst `tail` share of one-month scenarios (by loss): the
/// conditional contributions of the factors and the residual to the conditional loss
/// (the scenario-set analogue of Euler contributions to ES — Tasche 1999, §5; the
/// sources sum to the mean loss because each scenario's P&L is the sum of its
/// factor and residual P&L; W. Hallerbach (2003), "Decomposing portfolio value-at-risk:
/// a general analysis", Journal of Risk 5(2), for the conditional-expectation form).
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionalContributions {
    pub scenarios: usize,
    /// Mean loss (positive) of the tail scenarios.
    pub mean_loss: f64,
    /// Mean loss from each factor, in model order, then the residual.
    pub by_source: Vec<f64>,
}

pub fn conditional_contributions(
    outcomes: &[crate::ScenarioOutcome],
    tail: f64,
) -> Option<ConditionalContributions> {
    let mut one_month: Vec<&crate::ScenarioOutcome> =
        outcomes.iter().filter(|o| o.horizon_months == 1).collect();
    one_month.sort_by(|a, b| b.loss().total_cmp(&a.loss()).then(a.id.cmp(&b.id)));
    let count = ((one_month.len() as f64 * tail).ceil() as usize).min(one_month.len());
    let worst = &one_month[..count];
    let k = worst.first()?.factor_pnl.len();
    let n = count as f64;
    let mut by_source = vec![0.0; k + 1];
    for o in worst {
        for (s, x) in by_source.iter_mut().zip(&o.factor_pnl) {
            *s -= x / n;
        }
        by_source[k] -= o.residual_pnl / n;
    }
    Some(ConditionalContributions {
        scenarios: count,
        mean_loss: worst.iter().map(|o| o.loss()).sum::<f64>() / n,
        by_source,
    })
}

/// The deepest peak-to-trough fall of a compounded wealth path. Indices are into the
/// path W₀ = 1, Wₜ = Wₜ₋₁(1 + rₜ): 0 is the start, t the end of month t (1-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawdown {
    /// 1 − W_trough / W_peak, a fraction of the peak value.
    pub depth: f64,
    pub peak: usize,
    pub trough: usize,
    /// First index after the trough where wealth is back at the peak; `None` if never.
    pub recovery: Option<usize>,
}

/// Maximum drawdown of monthly returns compounded (Magdon-Ismail & Atiya 2004, "Maximum
/// drawdown", Risk 17(10)): max over t of 1 − Wₜ / maxₛ≤ₜ Wₛ. Wealth is floored at zero
/// (a book cannot lose more than everything and then compound). `None` when nothing
/// falls.
pub fn max_drawdown(returns: &[f64]) -> Option<Drawdown> {
    let mut wealth = Vec::with_capacity(returns.len() + 1);
    wealth.push(1.0);
    for r in returns {
        let w: f64 = wealth[wealth.len() - 1] * (1.0 + r);
        wealth.push(w.max(0.0));
    }
    let (mut peak, mut best): (usize, Option<Drawdown>) = (0, None);
    for (t, &w) in wealth.iter().enumerate() {
        if w > wealth[peak] {
            peak = t;
        }
        let depth = 1.0 - w / wealth[peak];
        if depth > 0.0 && best.is_none_or(|b| depth > b.depth) {
            best = Some(Drawdown {
                depth,
                peak,
                trough: t,
                recovery: None,
            });
        }
    }
    best.map(|mut d| {
        d.recovery = (d.trough + 1..wealth.len()).find(|&t| wealth[t] >= wealth[d.peak]);
        d
    })
}

/// The worst compounded loss over any `months` consecutive months, 1 − Π(1 + rₜ), and
/// the index (0-based, into `returns`) of the window's first month. `None` when the
/// series is shorter than the window.
pub fn worst_rolling_loss(returns: &[f64], months: usize) -> Option<(f64, usize)> {
    if months == 0 || returns.len() < months {
        return None;
    }
    (0..=returns.len() - months)
        .map(|s| {
            let growth: f64 = returns[s..s + months].iter().map(|r| 1.0 + r).product();
            (1.0 - growth, s)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
}

/// A figure-key fragment from a name: lower case, runs of other characters as `_`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// Parametric multipliers of P&L volatility at 99%: VaR = z σ, ES = φ(z)/(1 − c) σ
/// (zero mean, Gaussian; the same as the aggregate's parametric views).
fn multipliers() -> (f64, f64) {
    (
        risk::parametric_var(1.0, 0.0, 0.99),
        risk::parametric_es(1.0, 0.0, 0.99),
    )
}

/// The two covariances every decomposition is reported under.
fn covariances(model: &FactorModel) -> [(&'static str, DMatrix<f64>); 2] {
    [
        ("normal", from_rows(&model.covariance_shrunk)),
        ("stressed", from_rows(&model.covariance_stressed)),
    ]
}

fn covariance_label(name: &str) -> &'static str {
    if name == "normal" {
        "normal, Ledoit-Wolf"
    } else {
        "stressed covariance"
    }
}

/// The decomposition table's columns: one row per source and covariance.
fn decomposition_columns(first: &str, exposure: &str, cur: &str) -> Vec<Column> {
    vec![
        Column::text(first),
        Column::text("Covariance"),
        Column::money(exposure, cur),
        Column::percent("Marginal VaR 99% per unit of exposure"),
        Column::money("Component VaR 99%", cur),
        Column::money("Component ES 99%", cur),
        Column::money("Incremental VaR 99%", cur),
        Column::money("Incremental ES 99%", cur),
        Column::percent("Share of risk"),
    ]
}

fn decomposition_row(s: &RiskSource, cov: &str, sigma: f64) -> Vec<Cell> {
    let (z, m) = multipliers();
    vec![
        s.name.as_str().into(),
        covariance_label(cov).into(),
        s.exposure.into(),
        s.marginal.map(|x| z * x).into(),
        (z * s.component).into(),
        (m * s.component).into(),
        (z * s.incremental).into(),
        (m * s.incremental).into(),
        (s.component / sigma).into(),
    ]
}

/// Marginal, component (Euler) and incremental VaR and ES 99%, one month, by factor, by
/// sector and by position, under the normal and the stressed covariance; the factor /
/// interaction / specific variance split; concentration flags on stressed risk.
fn decomposition_findings(f: &mut Findings, model: &FactorModel) {
    let cur = model.base_currency.as_str();
    let (z, m) = multipliers();
    let limit = model.limits.factor_share;
    f.figure(
        "factor_concentration_limit",
        "Concentration limit: largest share of stressed VaR 99% one factor, group (industry or size bucket) or position may carry (parameter)",
        limit,
        Unit::Fraction,
        Horizon::Point,
    );
    let (sector_names, sector_of) = sector_groups(model);
    // Figure keys by sector: names that slug alike ("Large caps", "Large-caps") get the
    // group's index appended, so no two sectors share a key.
    let mut used = std::collections::HashSet::new();
    let sector_keys: std::collections::HashMap<&str, String> = sector_names
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let mut key = format!("sector_{}", slug(name));
            if !used.insert(key.clone()) {
                key = format!("{key}_{g}");
                used.insert(key.clone());
            }
            (name.as_str(), key)
        })
        .collect();
    let position_names: Vec<String> = model.positions.iter().map(|p| p.id.clone()).collect();
    let members = |of: &[usize]| -> Vec<(usize, f64, &[f64], f64)> {
        model
            .positions
            .iter()
            .zip(of)
            .map(|(p, &g)| (g, p.exposure_amount, p.exposures.as_slice(), p.residual_vol))
            .collect()
    };
    let own: Vec<usize> = (0..model.positions.len()).collect();
    let mut factor_table = Table::new(
        "Marginal, component (Euler) and incremental VaR and ES 99%, one month, by factor — parametric (Gaussian): component ES = ES multiplier × Euler component of volatility; incremental = VaR (ES) of the book less that of the book without the source; components sum to the total",
        decomposition_columns("Source", "Book exposure", cur),
    );
    let mut sector_table = Table::new(
        "Marginal, component and incremental VaR and ES 99% by group (industry or size bucket), one month (the book's `sector` field: an industry for industry portfolios, a size quintile for style portfolios; positions without one are Unclassified; incremental = the group removed)",
        decomposition_columns("Group (industry or size bucket)", "Exposure amount", cur),
    );
    let mut split_table = Table::new(
        "Variance of one-month P&L: stand-alone factor, factor interaction (the covariance terms Σⱼ≠ₗ bⱼbₗΣⱼₗ — the part of factor risk that comes from factor correlations) and specific; shares sum to 1",
        vec![
            Column::text("Part"),
            Column::percent("Share of variance, normal"),
            Column::percent("Share of variance, stressed"),
        ],
    );
    let mut splits = Vec::new();
    let mut positions_by_cov = Vec::new();
    let mut flags = Vec::new();
    for (cov_name, cov) in covariances(model) {
        let risk = BookRisk::for_model(model, &cov);
        let sigma = risk.volatility();
        let label = covariance_label(cov_name);
        f.figure(
            &format!("es99_{cov_name}"),
            &format!("ES 99%, parametric ({label})"),
            m * sigma,
            Unit::Money,
            Horizon::Months(1),
        );
        let factors = risk.by_factor(&model.factors);
        for s in &factors {
            let key = if s.name == SPECIFIC {
                "specific".to_owned()
            } else {
                slug(&s.name)
            };
            let name = &s.name;
            if let Some(x) = s.marginal {
                f.figure(
                    &format!("marginal_var99_{key}_{cov_name}"),
                    &format!("Marginal VaR 99% of {name} per unit of book exposure ({label})"),
                    z * x,
                    Unit::Fraction,
                    Horizon::Months(1),
                );
            }
            for (measure, mult) in [("var99", z), ("es99", m)] {
                let what = if measure == "var99" { "VaR" } else { "ES" };
                f.figure(
                    &format!("component_{measure}_{key}_{cov_name}"),
                    &format!("Component (Euler) {what} 99% of {name} ({label})"),
                    mult * s.component,
                    Unit::Money,
                    Horizon::Months(1),
                );
                f.figure(
                    &format!("incremental_{measure}_{key}_{cov_name}"),
                    &format!("Incremental {what} 99% of {name}: the book's less the book's without it ({label})"),
                    mult * s.incremental,
                    Unit::Money,
                    Horizon::Months(1),
                );
            }
            let share = f.figure(
                &format!("share_{key}_{cov_name}"),
                &format!("{name} share of VaR 99% (Euler, {label})"),
                s.component / sigma,
                Unit::Fraction,
                Horizon::Point,
            );
            if cov_name == "stressed" && s.name != SPECIFIC && share > limit {
                flags.push((
                    format!("share_{key}_stressed"),
                    format!("factor {name}"),
                    share,
                    format!("component_es99_{key}_stressed"),
                ));
            }
            factor_table.row(decomposition_row(s, cov_name, sigma));
        }
        factor_table.row(total_row(sigma, cov_name));

        let mut sectors = risk.by_group(&sector_names, members(&sector_of));
        sectors.sort_by(|a, b| b.component.total_cmp(&a.component));
        for s in &sectors {
            sector_table.row(decomposition_row(s, cov_name, sigma));
            let key = &sector_keys[s.name.as_str()];
            let share = s.component / sigma;
            if cov_name == "stressed" {
                f.figure(
                    &format!("{key}_component_es99_stressed"),
                    &format!(
                        "Component ES 99% of group (industry or size bucket) {} (stressed covariance)",
                        s.name
                    ),
                    m * s.component,
                    Unit::Money,
                    Horizon::Months(1),
                );
                f.figure(
                    &format!("{key}_incremental_var99_stressed"),
                    &format!(
                        "Incremental VaR 99% of group (industry or size bucket) {}: the book's less the book's without it (stressed covariance)",
                        s.name
                    ),
                    z * s.incremental,
                    Unit::Money,
                    Horizon::Months(1),
                );
                f.figure(
                    &format!("{key}_share_stressed"),
                    &format!(
                        "Share of stressed VaR 99% (Euler) of group (industry or size bucket) {}",
                        s.name
                    ),
                    share,
                    Unit::Fraction,
                    Horizon::Point,
                );
                if share > limit {
                    flags.push((
                        format!("{key}_share_stressed"),
                        format!("group (industry or size bucket) {}", s.name),
                        share,
                        format!("{key}_component_es99_stressed"),
                    ));
                }
            }
        }
        sector_table.row(total_row(sigma, cov_name));
        positions_by_cov.push((risk.by_group(&position_names, members(&own)), sigma));

        let split = risk.variance_split();
        let total = split.total();
        let uncorrelated = (split.standalone + split.specific).max(0.0).sqrt();
        for (part, value, what) in [
            (
                "factor_standalone",
                split.standalone,
                "stand-alone factor variances",
            ),
            (
                "factor_interaction",
                split.interaction,
                "factor interaction (correlation) terms",
            ),
            (
                "specific",
                split.specific,
                "specific (idiosyncratic) variance",
            ),
        ] {
            f.figure(
                &format!("variance_share_{part}_{cov_name}"),
                &format!("Share of one-month P&L variance from {what} ({label})"),
                value / total,
                Unit::Fraction,
                Horizon::Point,
            );
        }
        f.figure(
            &format!("correlation_var99_{cov_name}"),
            &format!("VaR 99% the factor correlations add: the book's less the same book with uncorrelated factors ({label})"),
            z * (sigma - uncorrelated),
            Unit::Money,
            Horizon::Months(1),
        );
        splits.push(split);
    }
    for (i, part) in [
        "Stand-alone factor",
        "Factor interaction (correlations)",
        "Specific",
    ]
    .iter()
    .enumerate()
    {
        let share = |s: &VarianceSplit| [s.standalone, s.interaction, s.specific][i] / s.total();
        split_table.row(vec![
            (*part).into(),
            share(&splits[0]).into(),
            share(&splits[1]).into(),
        ]);
    }
    f.tables.push(factor_table.one_money_scale());
    f.tables.push(sector_table.one_money_scale());
    f.tables.push(split_table);

    // Top positions by stressed component ES, with their normal figures beside them.
    let (normal, _) = &positions_by_cov[0];
    let (stressed, sigma_stressed) = &positions_by_cov[1];
    let mut ranked: Vec<usize> = (0..stressed.len()).collect();
    ranked.sort_by(|&a, &b| {
        stressed[b]
            .component
            .total_cmp(&stressed[a].component)
            .then(a.cmp(&b))
    });
    let share = |i: usize| stressed[i].component / sigma_stressed;
    f.figure(
        "top_position_share_stressed",
        "Largest single-position share of stressed risk",
        share(ranked[0]),
        Unit::Fraction,
        Horizon::Point,
    );
    for (rank, &i) in ranked.iter().enumerate() {
        if share(i) <= limit {
            break;
        }
        let key = format!("position_rank{}_share_stressed", rank + 1);
        let name = &model.positions[i].id;
        f.figure(
            &key,
            &format!("Position {name} share of stressed VaR 99% (Euler)"),
            share(i),
            Unit::Fraction,
            Horizon::Point,
        );
        let es_key = format!("position_rank{}_component_es99_stressed", rank + 1);
        f.figure(
            &es_key,
            &format!("Component ES 99% of position {name} (stressed covariance)"),
            m * stressed[i].component,
            Unit::Money,
            Horizon::Months(1),
        );
        flags.push((key, format!("position {name}"), share(i), es_key));
    }
    f.tables.push(
        Table::new(
            "Top 10 positions by stressed component ES 99%, one month (marginal per unit of exposure amount; incremental = the position removed)",
            vec![
                Column::text("Position"),
                Column::text("Group (industry or size bucket)"),
                Column::money("Market value", cur),
                Column::percent("Marginal VaR 99%, stressed"),
                Column::money("Component VaR 99%, normal", cur),
                Column::money("Component VaR 99%, stressed", cur),
                Column::money("Component ES 99%, stressed", cur),
                Column::money("Incremental VaR 99%, stressed", cur),
                Column::money("Incremental ES 99%, stressed", cur),
                Column::percent("Share of stressed risk"),
                Column::percent("Share of value"),
            ],
        )
        .with_rows(ranked.iter().take(10).map(|&i| {
            let p = &model.positions[i];
            let s = &stressed[i];
            vec![
                p.id.as_str().into(),
                p.sector.as_deref().unwrap_or(UNCLASSIFIED).into(),
                p.market_value.into(),
                s.marginal.map(|x| z * x).into(),
                (z * normal[i].component).into(),
                (z * s.component).into(),
                (m * s.component).into(),
                (z * s.incremental).into(),
                (m * s.incremental).into(),
                share(i).into(),
                (p.market_value / model.total_market_value).into(),
            ]
        })),
    );

    f.figure(
        "concentration_flags",
        "Factors, groups (industry or size bucket) and positions above the concentration limit on stressed risk",
        flags.len() as f64,
        Unit::Count,
        Horizon::Point,
    );
    for (share_key, what, share, es_key) in &flags {
        let es = f.get(es_key).unwrap_or_default();
        f.recommend(
            format!(
                "Concentration flag: {what} carries {} of stressed VaR 99% (component ES 99% {}, one month), above the {} limit — reduce or hedge it, or raise the limit knowingly.",
                pct(*share),
                money(es, cur),
                pct(limit)
            ),
            &[share_key, es_key, "factor_concentration_limit"],
        );
    }
    if let (Some(normal), Some(stressed), Some(var_n), Some(var_s)) = (
        f.get("variance_share_factor_interaction_normal"),
        f.get("variance_share_factor_interaction_stressed"),
        f.get("correlation_var99_normal"),
        f.get("correlation_var99_stressed"),
    ) {
        f.recommend(
            format!(
                "Factor correlations make up {} of the book's variance under stressed covariance ({} normal) and add {} to the one-month VaR 99% ({} normal): this is the risk a correlation breakdown moves, and it is invisible in stand-alone factor limits.",
                pct(stressed),
                pct(normal),
                money(var_s, cur),
                money(var_n, cur)
            ),
            &[
                "variance_share_factor_interaction_stressed",
                "variance_share_factor_interaction_normal",
                "correlation_var99_stressed",
                "correlation_var99_normal",
            ],
        );
    }
}

fn total_row(sigma: f64, cov: &str) -> Vec<Cell> {
    let (z, m) = multipliers();
    vec![
        "Total".into(),
        covariance_label(cov).into(),
        Cell::Missing,
        Cell::Missing,
        (z * sigma).into(),
        (m * sigma).into(),
        // Incremental figures do not add up to the total; none is shown.
        Cell::Missing,
        Cell::Missing,
        1.0.into(),
    ]
}

/// Conditional contributions in the worst 5% of one-month scenarios, flagged against
/// the conditional-contribution limit.
fn conditional_findings(f: &mut Findings, model: &FactorModel, agg: &FactorAggregate) {
    let cur = model.base_currency.as_str();
    let limit = model.limits.conditional_share;
    let Some(c) = conditional_contributions(&agg.outcomes, CONDITIONAL_TAIL) else {
        return;
    };
    f.figure(
        "conditional_contribution_limit",
        "Conditional-contribution limit: largest share of the worst-5% mean loss one source may carry (parameter)",
        limit,
        Unit::Fraction,
        Horizon::Point,
    );
    f.figure(
        "tail5_scenarios",
        "One-month stress scenarios in the worst 5% (by loss)",
        c.scenarios as f64,
        Unit::Count,
        Horizon::Point,
    );
    let mean_loss = f.figure(
        "tail5_mean_loss",
        "Mean loss of the worst 5% of one-month stress scenarios (equal weight)",
        c.mean_loss,
        Unit::Money,
        Horizon::Months(1),
    );
    let names: Vec<String> = model
        .factors
        .iter()
        .cloned()
        .chain(["Residual (specific and fire-sale)".to_owned()])
        .collect();
    let mut table = Table::new(
        "Conditional contributions: mean loss by source in the worst 5% of one-month stress scenarios (sources sum to the mean loss)",
        vec![
            Column::text("Source"),
            Column::money("Mean loss in the worst 5%", cur),
            Column::percent("Share of the conditional loss"),
            Column::text("Above the limit"),
        ],
    );
    let mut flagged = Vec::new();
    for (j, (name, loss)) in names.iter().zip(&c.by_source).enumerate() {
        let key = if j < model.factors.len() {
            slug(name)
        } else {
            "residual".to_owned()
        };
        f.figure(
            &format!("tail5_loss_{key}"),
            &format!("Mean loss from {name} in the worst 5% of one-month scenarios"),
            *loss,
            Unit::Money,
            Horizon::Months(1),
        );
        let share = f.figure(
            &format!("tail5_share_{key}"),
            &format!("{name} share of the worst-5% mean one-month loss"),
            loss / mean_loss,
            Unit::Fraction,
            Horizon::Point,
        );
        let above = share > limit;
        if above {
            flagged.push((key, name.clone(), share, *loss));
        }
        table.row(vec![
            name.as_str().into(),
            (*loss).into(),
            share.into(),
            if above { "yes" } else { "" }.into(),
        ]);
    }
    table.row(vec![
        "Total".into(),
        mean_loss.into(),
        1.0.into(),
        "".into(),
    ]);
    f.tables.push(table.one_money_scale());
    for (key, name, share, loss) in flagged {
        f.recommend(
            format!(
                "Conditional-contribution flag: in the worst 5% of one-month scenarios {name} causes {} of the mean loss ({} of {}), above the {} limit — the tail is a bet on this one source.",
                pct(share),
                money(loss, cur),
                money(mean_loss, cur),
                pct(limit)
            ),
            &[
                &format!("tail5_share_{key}"),
                &format!("tail5_loss_{key}"),
                "tail5_mean_loss",
                "conditional_contribution_limit",
            ],
        );
    }
}

/// Drawdowns of today's book replayed over the whole history.
fn drawdown_findings(f: &mut Findings, model: &FactorModel) {
    let cur = model.base_currency.as_str();
    let value = model.total_market_value;
    let dates = &model.history_dates;
    if dates.is_empty() || value <= 0.0 {
        return;
    }
    // Each month's P&L on today's book over today's value: the book is rebalanced to
    // today's exposures every month, and the returns compound.
    let returns: Vec<f64> = model
        .replayed_monthly_pnl()
        .iter()
        .map(|p| p / value)
        .collect();
    let span = format!(
        "{} to {}",
        dates.first().map_or("", String::as_str),
        dates.last().map_or("", String::as_str)
    );
    // Wealth index t is the end of month t (1-based); 0 the start of the first month.
    let end_of = |t: usize| {
        if t == 0 {
            format!("start of {}", dates[0])
        } else {
            dates[t - 1].clone()
        }
    };
    let mut table = Table::new(
        &format!("Drawdowns of today's book replayed over {span} (factor P&L plus replayed residuals; monthly returns on today's value, compounded — the book rebalanced to today's exposures each month)"),
        vec![
            Column::text("Measure"),
            Column::text("From"),
            Column::text("To"),
            Column::number("Months", 0),
            Column::percent("Loss, share of value"),
            Column::money("Loss on today's book", cur),
            Column::text("Recovered"),
        ],
    );
    if let Some(d) = max_drawdown(&returns) {
        let months = (d.trough - d.peak) as u32;
        let depth = f.figure(
            "max_drawdown",
            &format!(
                "Maximum drawdown of today's book replayed {span} (compounded, fraction of the peak value), {} to {}",
                end_of(d.peak),
                end_of(d.trough)
            ),
            d.depth,
            Unit::Fraction,
            Horizon::Months(months),
        );
        f.figure(
            "max_drawdown_months_to_trough",
            "Months from the peak to the trough of the maximum drawdown",
            f64::from(months),
            Unit::Months,
            Horizon::Point,
        );
        let recovered = match d.recovery {
            Some(r) => {
                f.figure(
                    "max_drawdown_months_to_recovery",
                    &format!(
                        "Months from the peak of the maximum drawdown to recovery ({})",
                        end_of(r)
                    ),
                    (r - d.peak) as f64,
                    Unit::Months,
                    Horizon::Point,
                );
                format!("{} ({} months after the peak)", end_of(r), r - d.peak)
            }
            None => "not by the end of the data".to_owned(),
        };
        table.row(vec![
            "Maximum drawdown".into(),
            end_of(d.peak).into(),
            end_of(d.trough).into(),
            f64::from(months).into(),
            depth.into(),
            (depth * value).into(),
            recovered.into(),
        ]);
    }
    for months in [3usize, 6, 12] {
        let Some((loss, first)) = worst_rolling_loss(&returns, months) else {
            continue;
        };
        let (from, to) = (&dates[first], &dates[first + months - 1]);
        f.figure(
            &format!("worst_{months}m_loss"),
            &format!(
                "Worst {months}-month loss of today's book replayed {span}, compounded, fraction of value ({from} to {to})"
            ),
            loss,
            Unit::Fraction,
            Horizon::Months(months as u32),
        );
        table.row(vec![
            format!("Worst {months}-month loss").into(),
            from.as_str().into(),
            to.as_str().into(),
            (months as f64).into(),
            loss.into(),
            (loss * value).into(),
            Cell::Missing,
        ]);
    }
    f.tables.push(table);
    if let (Some(depth), Some(months), Some(worst12)) = (
        f.get("max_drawdown"),
        f.get("max_drawdown_months_to_trough"),
        f.get("worst_12m_loss"),
    ) {
        let mut cites = vec![
            "max_drawdown",
            "max_drawdown_months_to_trough",
            "worst_12m_loss",
        ];
        let recovery = match f.get("max_drawdown_months_to_recovery") {
            Some(r) => {
                cites.push("max_drawdown_months_to_recovery");
                format!("and took {r:.0} months from peak to recover")
            }
            None => "and had not recovered by the end of the data".to_owned(),
        };
        f.recommend(
            format!(
                "Replayed over history, today's book would have fallen {} from peak to trough over {months:.0} months ({} on today's value) {recovery}; its worst 12 months lost {}. Size drawdown limits and liquidity on these, not on the one-month VaR.",
                pct(depth),
                money(depth * value, cur),
                pct(worst12)
            ),
            &cites,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_analytics::rng::Xoshiro256;

    /// A random book: k factors, n positions in `groups` groups, long and short, with a
    /// random positive-definite factor covariance.
    struct RandomBook {
        cov: DMatrix<f64>,
        amounts: Vec<f64>,
        betas: Vec<Vec<f64>>,
        residual_vols: Vec<f64>,
        group_of: Vec<usize>,
        groups: usize,
    }

    impl RandomBook {
        fn draw(rng: &mut Xoshiro256) -> Self {
            let k = 1 + rng.below(6);
            let n = 1 + rng.below(40);
            let groups = 1 + rng.below(5);
            let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.uniform();
            let l = DMatrix::from_fn(k, k, |_, _| u(-0.05, 0.05));
            let cov = &l * l.transpose() + DMatrix::identity(k, k) * 1e-5;
            let amounts = (0..n).map(|_| u(-2e6, 1e7)).collect();
            let betas = (0..n)
                .map(|_| (0..k).map(|_| u(-2.0, 2.0)).collect())
                .collect();
            let residual_vols = (0..n).map(|_| u(0.0, 0.1)).collect();
            let group_of = (0..n)
                .map(|_| (u(0.0, groups as f64) as usize).min(groups - 1))
                .collect();
            RandomBook {
                cov,
                amounts,
                betas,
                residual_vols,
                group_of,
                groups,
            }
        }
        fn n(&self) -> usize {
            self.amounts.len()
        }
        fn exposure(&self, keep: impl Fn(usize) -> bool) -> (Vec<f64>, f64) {
            let k = self.cov.nrows();
            let mut b = vec![0.0; k];
            let mut d = 0.0;
            for i in (0..self.n()).filter(|&i| keep(i)) {
                for (x, beta) in b.iter_mut().zip(&self.betas[i]) {
                    *x += self.amounts[i] * beta;
                }
                d += (self.amounts[i] * self.residual_vols[i]).powi(2);
            }
            (b, d)
        }
        fn risk(&self) -> BookRisk {
            let (b, d) = self.exposure(|_| true);
            BookRisk::new(&b, d, &self.cov)
        }
        fn members(&self, of: &[usize]) -> Vec<(usize, f64, &[f64], f64)> {
            (0..self.n())
                .map(|i| {
                    (
                        of[i],
                        self.amounts[i],
                        self.betas[i].as_slice(),
                        self.residual_vols[i],
                    )
                })
                .collect()
        }
        /// The textbook n × n position covariance B Σ Bᵀ + diag(A² σ²_ε).
        fn dense(&self) -> DMatrix<f64> {
            let k = self.cov.nrows();
            let b = DMatrix::from_fn(self.n(), k, |i, j| self.amounts[i] * self.betas[i][j]);
            let mut c = &b * &self.cov * b.transpose();
            for i in 0..self.n() {
                c[(i, i)] += (self.amounts[i] * self.residual_vols[i]).powi(2);
            }
            c
        }
    }

    fn close(a: f64, b: f64, scale: f64) -> bool {
        (a - b).abs() <= 1e-9 * scale
    }

    #[test]
    fn euler_components_sum_to_the_totals_on_random_books() {
        // Property test over 300 random books (long/short, 1–6 factors, 1–40 positions):
        // factor, group and position components each sum to σ, hence component VaR and
        // ES to the parametric VaR and ES; each agrees with the dense Euler allocation
        // and each incremental with the book recomputed without the source.
        let (z, m) = multipliers();
        let mut rng = Xoshiro256::seed_from_u64(20240607);
        for case in 0..300 {
            let book = RandomBook::draw(&mut rng);
            let risk = book.risk();
            let sigma = risk.volatility();
            let k = book.cov.nrows();
            let names: Vec<String> = (0..k.max(book.groups).max(book.n()))
                .map(|i| format!("s{i}"))
                .collect();
            let factors = risk.by_factor(&names[..k]);
            let groups = risk.by_group(&names[..book.groups], book.members(&book.group_of));
            let own: Vec<usize> = (0..book.n()).collect();
            let positions = risk.by_group(&names[..book.n()], book.members(&own));
            for set in [&factors, &groups, &positions] {
                let sum: f64 = set.iter().map(|s| s.component).sum();
                assert!(close(sum, sigma, sigma), "case {case}: {sum} vs {sigma}");
                let var: f64 = set.iter().map(|s| z * s.component).sum();
                let es: f64 = set.iter().map(|s| m * s.component).sum();
                assert!(close(
                    var,
                    risk::parametric_var(sigma, 0.0, 0.99),
                    z * sigma
                ));
                assert!(close(es, risk::parametric_es(sigma, 0.0, 0.99), m * sigma));
                for s in set.iter() {
                    if let (Some(e), Some(mg)) = (s.exposure, s.marginal) {
                        assert!(close(e * mg, s.component, sigma), "case {case}");
                    }
                }
            }
            // Dense n × n Euler allocation (the form the factor structure avoids).
            let dense = book.dense();
            let ones = DVector::from_element(book.n(), 1.0);
            let euler = risk::euler_risk_contributions(&ones, &dense);
            assert!(close(euler.total, sigma, sigma), "case {case}");
            for (p, e) in positions.iter().zip(&euler.components) {
                assert!(close(p.component, *e, sigma), "case {case}");
            }
            // Incremental: recompute the book without each group, and without each factor.
            // Looser: when the rest of the book is nearly riskless, σ′ = √(σ² − Δ) turns
            // rounding in σ² (1e-16 relative) into 1e-8 of σ, in either computation.
            for (g, s) in groups.iter().enumerate() {
                let (b, d) = book.exposure(|i| book.group_of[i] != g);
                let without = BookRisk::new(&b, d, &book.cov).volatility();
                assert!(
                    (s.incremental - (sigma - without)).abs() < 1e-7 * sigma,
                    "case {case} group {g}: {} vs {}",
                    s.incremental,
                    sigma - without
                );
            }
            for (j, s) in factors.iter().take(k).enumerate() {
                let mut b = book.exposure(|_| true).0;
                b[j] = 0.0;
                let without = BookRisk::new(&b, risk.specific_variance, &book.cov).volatility();
                assert!(
                    (s.incremental - (sigma - without)).abs() < 1e-7 * sigma,
                    "case {case} factor {j}: {} vs {}",
                    s.incremental,
                    sigma - without
                );
            }
            let split = risk.variance_split();
            assert!(close(split.total(), sigma * sigma, sigma * sigma));
        }
    }

    #[test]
    fn position_es_and_incremental_var_match_the_dense_computation_on_the_sample_book() {
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        let (z, m) = multipliers();
        let n = model.positions.len();
        let b = DMatrix::from_fn(n, model.factors.len(), |i, j| {
            model.positions[i].exposure_amount * model.positions[i].exposures[j]
        });
        for (_, cov) in covariances(&model) {
            let mut dense = &b * &cov * b.transpose();
            for (i, p) in model.positions.iter().enumerate() {
                dense[(i, i)] += (p.exposure_amount * p.residual_vol).powi(2);
            }
            let sigma_of = |w: &DVector<f64>| (w.transpose() * &dense * w)[(0, 0)].sqrt();
            let ones = DVector::from_element(n, 1.0);
            let sigma = sigma_of(&ones);
            let risk = BookRisk::for_model(&model, &cov);
            let own: Vec<usize> = (0..n).collect();
            let names: Vec<String> = model.positions.iter().map(|p| p.id.clone()).collect();
            let members: Vec<(usize, f64, &[f64], f64)> = model
                .positions
                .iter()
                .zip(&own)
                .map(|(p, &g)| (g, p.exposure_amount, p.exposures.as_slice(), p.residual_vol))
                .collect();
            let got = risk.by_group(&names, members);
            let marginal = &dense * &ones / sigma;
            for (i, s) in got.iter().enumerate() {
                // Component ES = ES multiplier × (C·1)ᵢ / σ.
                let es = risk::parametric_es(marginal[i], 0.0, 0.99);
                assert!((m * s.component - es).abs() < 1e-9 * m * sigma, "{i}");
                // Incremental VaR and ES: the book without position i, recomputed.
                let mut w = ones.clone();
                w[i] = 0.0;
                let ivar = risk::parametric_var(sigma, 0.0, 0.99)
                    - risk::parametric_var(sigma_of(&w), 0.0, 0.99);
                let ies = risk::parametric_es(sigma, 0.0, 0.99)
                    - risk::parametric_es(sigma_of(&w), 0.0, 0.99);
                assert!((z * s.incremental - ivar).abs() < 1e-6 * z * sigma, "{i}");
                assert!((m * s.incremental - ies).abs() < 1e-6 * m * sigma, "{i}");
            }
        }
    }

    #[test]
    fn incremental_var_of_a_sector_is_the_book_re_estimated_without_it() {
        // Brute force: drop the sector's positions from the portfolio, re-estimate the
        // model from scratch, and take the VaR of what is left under the same covariances.
        let (portfolio, market) = crate::tests::sample();
        let model = crate::model::estimate(&portfolio, &market).unwrap();
        let (names, of) = sector_groups(&model);
        assert_eq!(
            names.len(),
            15,
            "12 industries and 3 size groups: {names:?}"
        );
        assert!(!names.iter().any(|n| n == UNCLASSIFIED));
        for (_, cov) in covariances(&model) {
            let risk = BookRisk::for_model(&model, &cov);
            let members: Vec<(usize, f64, &[f64], f64)> = model
                .positions
                .iter()
                .zip(&of)
                .map(|(p, &g)| (g, p.exposure_amount, p.exposures.as_slice(), p.residual_vol))
                .collect();
            let sectors = risk.by_group(&names, members);
            for (g, s) in sectors.iter().enumerate() {
                let mut rest = portfolio.clone();
                rest.positions
                    .retain(|p| p.sector.as_deref() != Some(names[g].as_str()));
                rest.total_market_value = None;
                let without = crate::model::estimate(&rest, &market).unwrap();
                let var = |sigma: f64| risk::parametric_var(sigma, 0.0, 0.99);
                let expected = var(model.pnl_volatility(&cov)) - var(without.pnl_volatility(&cov));
                let (z, _) = multipliers();
                assert!(
                    (z * s.incremental - expected).abs() < 1e-6 * var(risk.volatility()),
                    "{}: {} vs {expected}",
                    names[g],
                    z * s.incremental
                );
            }
        }
    }

    #[test]
    fn the_csv_sample_book_carries_the_same_sectors() {
        let (json, _) = crate::tests::sample();
        let csv = stresslab_core::portfolio::parse_portfolio(
            "ff_multifactor_book.csv",
            include_bytes!("../../../../../events/inputs/ff_multifactor_book.csv"),
        )
        .unwrap();
        let sectors = |p: &stresslab_core::portfolio::Portfolio| {
            p.positions
                .iter()
                .map(|x| (x.id.clone(), x.sector.clone().unwrap()))
                .collect::<Vec<_>>()
        };
        assert_eq!(sectors(&json), sectors(&csv));
        let s = sectors(&json);
        assert!(s.contains(&("IND-Enrgy".into(), "Energy".into())));
        assert!(s.contains(&("STY-S1V5".into(), "Small caps".into())));
        assert!(s.contains(&("STY-S3M1".into(), "Mid caps".into())));
        assert!(s.contains(&("STY-S5M5".into(), "Large caps".into())));
    }

    #[test]
    fn drawdown_statistics_of_a_hand_made_series() {
        // Wealth 1 → 1.1 → 0.88 → 0.924 → 0.8316 → 1.12266 → 1.12266 (by hand).
        let r = [0.1, -0.2, 0.05, -0.1, 0.35, 0.0];
        let d = max_drawdown(&r).unwrap();
        assert_eq!((d.peak, d.trough, d.recovery), (1, 4, Some(5)));
        assert!(
            (d.depth - (1.0 - 0.8316 / 1.1)).abs() < 1e-12,
            "{}",
            d.depth
        );
        // Without the rebound it never recovers.
        let d = max_drawdown(&r[..4]).unwrap();
        assert_eq!((d.peak, d.trough, d.recovery), (1, 4, None));
        // A peak at the start: the first month falls.
        let d = max_drawdown(&[-0.5, 0.5, 0.4]).unwrap();
        assert_eq!((d.peak, d.trough, d.recovery), (0, 1, Some(3)));
        assert!((d.depth - 0.5).abs() < 1e-12);
        assert_eq!(max_drawdown(&[0.01, 0.02]), None);
        // Rolling: the 3-month windows lose 0.076, 0.244, −0.27575, −0.215.
        let (loss, first) = worst_rolling_loss(&r, 3).unwrap();
        assert_eq!(first, 1);
        assert!((loss - (1.0 - 0.8 * 1.05 * 0.9)).abs() < 1e-12, "{loss}");
        let (loss, first) = worst_rolling_loss(&r, 1).unwrap();
        assert_eq!(first, 1);
        assert!((loss - 0.2).abs() < 1e-12);
        assert_eq!(worst_rolling_loss(&r, 7), None);
    }

    fn run(params: &crate::FactorParams) -> (FactorModel, FactorAggregate, Findings) {
        let (portfolio, market) = crate::tests::sample();
        let (model, set) = <crate::FactorWorkflow as stresslab_core::WorkflowEngine>::prepare(
            &portfolio,
            Some(&market),
            params,
            5,
        )
        .unwrap();
        let outcomes = set
            .iter()
            .map(|s| crate::evaluate_scenario(&model, s))
            .collect();
        let agg = crate::aggregate::merge(&model, outcomes);
        let f = risk_decomposition_engineer(&model, &agg);
        (model, agg, f)
    }

    #[test]
    fn reverse_stress_history_share_is_a_direct_count_of_months_losing_that_much() {
        let (model, _, f) = run(&crate::tests::params(100));
        // Direct count, with the book exposure rebuilt from the positions (Σ A_i β_i)
        // rather than taken from the model.
        let k = model.factors.len();
        let b: Vec<f64> = (0..k)
            .map(|j| {
                model
                    .positions
                    .iter()
                    .map(|p| p.exposure_amount * p.exposures[j])
                    .sum()
            })
            .collect();
        let losing = |loss: f64| {
            model
                .history
                .iter()
                .filter(|m| -m.iter().zip(&b).map(|(x, e)| x * e).sum::<f64>() >= loss)
                .count()
        };
        let n = model.history.len() as f64;
        let drawdown = REVERSE_STRESS_DRAWDOWN * model.total_market_value;
        let var = f.get("var99_stressed").unwrap();
        for (key, loss) in [("drawdown15", drawdown), ("var", var)] {
            let count = losing(loss) as f64;
            assert_eq!(
                f.get(&format!("reverse_{key}_history_loss_months")),
                Some(count)
            );
            let share = f.get(&format!("reverse_{key}_history_loss_share")).unwrap();
            assert!(
                (share - count / n).abs() < 1e-15,
                "{key}: {share} vs {count}/{n}"
            );
        }
        // Independent value: numpy on the CSV with the review's book exposure
        // (/tmp/rev/bexp.npy; -(H @ b) >= 0.15 * 815e6) finds 3 of 819 months —
        // 1987-10, 1998-08, 2008-10 — and 2 (1987-10, 2008-10) at USD 147.3m.
        assert_eq!(model.history.len(), 819);
        let months: Vec<&str> = history_months_losing(&model, drawdown)
            .iter()
            .map(|&t| &model.history_dates[t][..7])
            .collect();
        assert_eq!(months, ["1987-10", "1998-08", "2008-10"]);
        assert_eq!(history_months_losing(&model, var).len(), 2);
        // The distance is measured under the covariance that found the move.
        let (_, d) = reverse_stress(
            &model.book_exposure,
            &from_rows(&model.covariance_stressed),
            drawdown,
        );
        assert_eq!(f.get("reverse_drawdown15_stressed_distance"), Some(d));
    }

    #[test]
    fn residual_dependence_ratio_matches_numpy_on_the_sample_book() {
        let (model, _, f) = run(&crate::tests::params(100));
        // numpy (/tmp/venv-rev): OLS of each position's excess return on the four
        // factors over 2007-04..2017-03 (np.linalg.lstsq with a constant), residual
        // matrix E (120 × 30), mv = market values; (E @ mv).var() / (mv**2 * E.var(0)).sum().
        let reference = 0.470_111_325_708_803_7;
        let ratio = f.get("residual_dependence_ratio").unwrap();
        assert!((ratio - reference).abs() < 1e-9, "{ratio}");
        assert_eq!(residual_dependence_ratio(&model), Some(ratio));
    }

    #[test]
    fn residual_dependence_ratio_is_one_for_a_single_series_and_sums_exposures() {
        // One series held twice: the summed residual is (A₁ + A₂) ε, the independent
        // sum (A₁² + A₂²) Var ε — ratio (A₁ + A₂)² / (A₁² + A₂²).
        let (mut model, _, _) = run(&crate::tests::params(100));
        let s = model.positions[0].residual_series.unwrap();
        model.positions.truncate(2);
        model.positions[1].residual_series = Some(s);
        let (a1, a2) = (
            model.positions[0].exposure_amount,
            model.positions[1].exposure_amount,
        );
        let expected = (a1 + a2).powi(2) / (a1 * a1 + a2 * a2);
        let ratio = residual_dependence_ratio(&model).unwrap();
        assert!(
            (ratio - expected).abs() < 1e-12 * expected,
            "{ratio} vs {expected}"
        );
        model.positions.truncate(1);
        assert!((residual_dependence_ratio(&model).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn conditional_contributions_sum_to_the_worst_five_percent_mean_loss() {
        let (_, agg, f) = run(&crate::tests::params(300));
        let c = conditional_contributions(&agg.outcomes, CONDITIONAL_TAIL).unwrap();
        // Brute force: the ceil(5%) largest one-month losses.
        let mut losses: Vec<f64> = agg
            .outcomes
            .iter()
            .filter(|o| o.horizon_months == 1)
            .map(|o| o.loss())
            .collect();
        losses.sort_by(|a, b| b.total_cmp(a));
        let count = (losses.len() as f64 * 0.05).ceil() as usize;
        assert_eq!(c.scenarios, count);
        let mean = losses[..count].iter().sum::<f64>() / count as f64;
        assert!((c.mean_loss - mean).abs() < 1e-9 * mean);
        let sum: f64 = c.by_source.iter().sum();
        assert!((sum - c.mean_loss).abs() < 1e-6 * mean, "{sum} vs {mean}");
        let shares: f64 = ["mktrf", "smb", "hml", "mom", "residual"]
            .iter()
            .map(|k| f.get(&format!("tail5_share_{k}")).unwrap())
            .sum();
        assert!((shares - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_personas_components_sum_to_its_totals_and_every_figure_is_finite() {
        let (model, _, f) = run(&crate::tests::params(200));
        for cov in ["normal", "stressed"] {
            let es = f.get(&format!("es99_{cov}")).unwrap();
            let by_factor: f64 = ["mktrf", "smb", "hml", "mom", "specific"]
                .iter()
                .map(|k| f.get(&format!("component_es99_{k}_{cov}")).unwrap())
                .sum();
            assert!((by_factor - es).abs() < 1e-6 * es, "{by_factor} vs {es}");
        }
        let (names, _) = sector_groups(&model);
        let by_sector: f64 = names
            .iter()
            .map(|n| {
                f.get(&format!("sector_{}_component_es99_stressed", slug(n)))
                    .unwrap()
            })
            .sum();
        let es = f.get("es99_stressed").unwrap();
        assert!((by_sector - es).abs() < 1e-6 * es);
        // The parametric VaR here is the aggregate's.
        let (z, m) = multipliers();
        assert!((f.get("var99_stressed").unwrap() * m / z - es).abs() < 1e-6 * es);
        for fig in &f.figures {
            assert!(fig.value.is_finite(), "{}", fig.key);
        }
        let parts: f64 = ["factor_standalone", "factor_interaction", "specific"]
            .iter()
            .map(|p| f.get(&format!("variance_share_{p}_stressed")).unwrap())
            .sum();
        assert!((parts - 1.0).abs() < 1e-12);
        assert!(
            f.get("max_drawdown").unwrap() > 0.3,
            "a long equity book since 1949"
        );
        for (n, key) in [
            (3, "worst_3m_loss"),
            (6, "worst_6m_loss"),
            (12, "worst_12m_loss"),
        ] {
            let fig = f.figures.iter().find(|x| x.key == key).unwrap();
            assert_eq!(fig.horizon, Horizon::Months(n));
        }
    }

    #[test]
    fn concentration_flags_follow_the_configured_limits() {
        let strict = run(&crate::tests::params(200)).2;
        // The market factor dominates a long-only book's stressed risk.
        assert!(strict.get("share_mktrf_stressed").unwrap() > 0.25);
        let flagged = |f: &Findings, key: &str| {
            f.recommendations
                .iter()
                .any(|r| r.cites.iter().any(|c| c == key) && r.text.contains("flag"))
        };
        assert!(flagged(&strict, "share_mktrf_stressed"));
        let loose = run(&crate::FactorParams {
            factor_concentration_limit: 1.0,
            conditional_contribution_limit: 1.0,
            ..crate::tests::params(200)
        })
        .2;
        assert_eq!(loose.get("concentration_flags"), Some(0.0));
        assert!(!loose
            .recommendations
            .iter()
            .any(|r| r.text.contains("flag:")));
        assert_eq!(loose.get("factor_concentration_limit"), Some(1.0));
        let bad = crate::FactorParams {
            factor_concentration_limit: 0.0,
            conditional_contribution_limit: 1.5,
            ..crate::FactorParams::default()
        };
        let issues = <crate::FactorWorkflow as stresslab_core::WorkflowEngine>::check_params(&bad);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "parameters.factor_concentration_limit (--param factor_concentration_limit=…)",
                "parameters.conditional_contribution_limit (--param conditional_contribution_limit=…)"
            ]
        );
    }
}
