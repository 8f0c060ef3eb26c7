//! The factor breakdown scenario set: four kinds of stress. Every synthetic scenario is a
//! one-month factor move whose size is calibrated to history ([`Severity`]: the shocked
//! factor's 5th or 1st percentile month, or its worst month on record); historical
//! episodes are replayed whole over their own length and reported apart.
//!
//! - **Historical replay** — named episodes found in the data, replayed on today's
//!   exposures over their whole window (compounded month by month, see
//!   `episode_outcome`), then their single months, then the book's worst months
//!   elsewhere in the history. Residual (non-factor) returns are replayed too, so a
//!   replay is a full revaluation of the book.
//! - **Correlation breakdown** — the normal correlation matrix pushed towards a crisis
//!   pattern (all factors moving together, or the style factors flipping sign against
//!   the market) with noise, repaired to the nearest valid correlation matrix (Higham
//!   2002), with the vols of the book's stressed window; the move is the conditional
//!   expectation of all factors given a market fall of the drawn severity (Kupiec 1998).
//!   Each carries the same market fall under the *normal* correlations as its
//!   reference, so it reports what the correlations alone add.
//! - **Style rotation / factor reversal** — a style factor (or a value-momentum pair)
//!   reverses its trailing-12-month trend, or moves against the book's tilt, as far as
//!   its own history at the drawn severity; the other factors follow conditionally
//!   (Kupiec 1998). The 2009 momentum crash (Daniel & Moskowitz 2016) is the template.
//! - **Crowding unwind** — the most crowded style trades (largest trailing run-up
//!   relative to their volatility) unwind as far as their history at the drawn
//!   severity, and positions most exposed to them take an extra fire-sale discount
//!   proportional to their excess exposure (Khandani & Lo 2007, "What happened to the
//!   quants in August 2007?"; Pedersen 2009, "When everyone runs for the exit").

use crate::model::{from_rows, FactorModel, FireSaleInputs};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use stresslab_analytics::{correlation_repair, covariance, risk, stats};
use stresslab_core::rng::Rng;

/// Smallest and default scenario-set sizes.
pub const MIN_SCENARIOS: u32 = 100;
pub const DEFAULT_SCENARIOS: u32 = 500;
pub const MAX_SCENARIOS: u32 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    HistoricalReplay,
    CorrelationBreakdown,
    StyleRotation,
    CrowdingUnwind,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 4] = [
        ScenarioKind::HistoricalReplay,
        ScenarioKind::CorrelationBreakdown,
        ScenarioKind::StyleRotation,
        ScenarioKind::CrowdingUnwind,
    ];
    pub fn label(self) -> &'static str {
        match self {
            ScenarioKind::HistoricalReplay => "historical replay",
            ScenarioKind::CorrelationBreakdown => "correlation breakdown",
            ScenarioKind::StyleRotation => "style rotation",
            ScenarioKind::CrowdingUnwind => "crowding unwind",
        }
    }
}

/// A scenario spec: the factor move, and a *description* of its non-factor move. What
/// that move does to each position is computed from the model at evaluation, so a
/// scenario's size does not grow with the book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub id: u32,
    pub kind: ScenarioKind,
    pub name: String,
    /// Returns of the model factors over the scenario's horizon.
    pub factor_shocks: Vec<f64>,
    #[serde(default, skip_serializing_if = "NonFactorShock::is_none")]
    pub non_factor: NonFactorShock,
    /// Synthetic kinds: how hard the shocked factors move, calibrated to history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Correlation breakdowns: the same market shock with the same (stressed) vols but
    /// the *normal* correlations — the move the breakdown is compared with, so the
    /// scenario reports what the correlations alone add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_shocks: Option<Vec<f64>>,
}

/// How hard a synthetic scenario hits, calibrated to the factor's own history: the
/// shocked factor moves as far as its 5th percentile month (moderate), its 1st
/// percentile month (severe) or its worst month on record (extreme), in the direction
/// of the scenario. So a "severe" market shock is one the data has seen about once in
/// eight years, never an arbitrary multiple of a volatility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Moderate,
    Severe,
    Extreme,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Moderate, Severity::Severe, Severity::Extreme];
    /// Tail probability of the calibrating month (None: the worst month on record).
    pub fn tail(self) -> Option<f64> {
        match self {
            Severity::Moderate => Some(0.05),
            Severity::Severe => Some(0.01),
            Severity::Extreme => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
            Severity::Extreme => "extreme",
        }
    }
    /// 40% moderate, 35% severe, 25% extreme: most stress is plausible, some is not.
    fn draw(rng: &mut Rng) -> Severity {
        let u = rng.uniform();
        if u < 0.40 {
            Severity::Moderate
        } else if u < 0.75 {
            Severity::Severe
        } else {
            Severity::Extreme
        }
    }
}

/// Each factor's monthly history, sorted once per scenario set (every synthetic
/// scenario reads its tails).
pub struct FactorTails {
    sorted: Vec<Vec<f64>>,
}

impl FactorTails {
    pub fn new(model: &FactorModel) -> FactorTails {
        let sorted = (0..model.factors.len())
            .map(|j| {
                let mut column: Vec<f64> = model.history.iter().map(|row| row[j]).collect();
                column.sort_by(f64::total_cmp);
                column
            })
            .collect();
        FactorTails { sorted }
    }

    /// The move of factor `j` in `direction` (±1) at `severity`, from its own monthly
    /// history: the type-7 quantile at the tail probability on that side, or the most
    /// extreme month on record.
    pub fn historical_move(&self, j: usize, direction: f64, severity: Severity) -> f64 {
        let column = &self.sorted[j];
        match (severity.tail(), direction < 0.0) {
            (Some(p), true) => stats::quantile(column, p),
            (Some(p), false) => stats::quantile(column, 1.0 - p),
            (None, true) => column.first().copied().unwrap_or(0.0),
            (None, false) => column.last().copied().unwrap_or(0.0),
        }
    }
}

/// Non-factor returns a scenario applies on top of its factor move.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum NonFactorShock {
    #[default]
    None,
    /// Each position's residual return of one history month (a full-revaluation replay).
    ResidualMonth { month: u32 },
    /// Residual returns compounded over months `first..=last` (an episode replay).
    ResidualEpisode { first: u32, last: u32 },
    /// Fire-sale discount on positions holding more of the crowded side of `factors`
    /// than the median position does (Khandani & Lo 2007; Pedersen 2009).
    FireSale { factors: Vec<u32>, discount: f64 },
}

impl NonFactorShock {
    pub fn is_none(&self) -> bool {
        matches!(self, NonFactorShock::None)
    }
}

/// A named stress episode: an inclusive window of months.
pub struct Episode {
    pub name: &'static str,
    pub start: &'static str,
    pub end: &'static str,
}

/// Episodes replayed by name. All lie inside the 1949–2017 sample data.
pub const EPISODES: [Episode; 9] = [
    Episode {
        name: "1973-74 oil shock bear market",
        start: "1973-01",
        end: "1974-09",
    },
    Episode {
        name: "October 1987 crash",
        start: "1987-09",
        end: "1987-11",
    },
    Episode {
        name: "1998 LTCM and Russia crisis",
        start: "1998-07",
        end: "1998-09",
    },
    Episode {
        name: "2000-02 dot-com bust",
        start: "2000-09",
        end: "2002-09",
    },
    Episode {
        name: "2007 quant crisis",
        start: "2007-07",
        end: "2007-08",
    },
    Episode {
        name: "2008-09 global financial crisis",
        start: "2008-09",
        end: "2009-02",
    },
    Episode {
        name: "2009 momentum crash",
        start: "2009-03",
        end: "2009-05",
    },
    Episode {
        name: "2011 euro crisis and US downgrade",
        start: "2011-07",
        end: "2011-09",
    },
    Episode {
        name: "2015-16 China and oil slump",
        start: "2015-08",
        end: "2016-02",
    },
];

/// How many of each kind for a set of `total` scenarios, given how many historical
/// replays the data offers: about a fifth historical, then 35/25/rest.
pub fn kind_counts(total: u32, historical_available: u32) -> [u32; 4] {
    let historical = historical_available.min(total / 5);
    let rest = total - historical;
    let breakdown = rest * 35 / 80;
    let rotation = rest * 25 / 80;
    [historical, breakdown, rotation, rest - breakdown - rotation]
}

pub fn generate(model: &FactorModel, total: u32, seed: u64) -> Vec<Scenario> {
    let historical = historical_scenarios(model);
    let counts = kind_counts(total, historical.len() as u32);
    let mut out: Vec<Scenario> = historical.into_iter().take(counts[0] as usize).collect();
    let mut rng = Rng::new(seed, 0x5CE7_A210);
    let tails = FactorTails::new(model);
    out.extend(correlation_breakdowns(model, &tails, counts[1], &mut rng));
    out.extend(style_rotations(model, &tails, counts[2], &mut rng));
    out.extend(crowding_unwinds(model, &tails, counts[3], &mut rng));
    for (i, s) in out.iter_mut().enumerate() {
        s.id = i as u32;
    }
    out
}

/// Dollar factor P&L of a shock vector.
fn factor_pnl(model: &FactorModel, shocks: &[f64]) -> f64 {
    model
        .book_exposure
        .iter()
        .zip(shocks)
        .map(|(b, f)| b * f)
        .sum()
}

fn historical_scenarios(model: &FactorModel) -> Vec<Scenario> {
    let dates = &model.history_dates;
    let month_scenario = |t: usize, name: String| Scenario {
        id: 0,
        kind: ScenarioKind::HistoricalReplay,
        name,
        factor_shocks: model.history[t].clone(),
        non_factor: NonFactorShock::ResidualMonth { month: t as u32 },
        severity: None,
        reference_shocks: None,
    };
    let mut out = Vec::new();
    let mut used = vec![false; dates.len()];
    let windows: Vec<(&Episode, usize, usize)> = EPISODES
        .iter()
        .filter_map(|e| {
            let a = dates.iter().position(|d| d.as_str() == e.start)?;
            let b = dates.iter().position(|d| d.as_str() == e.end)?;
            Some((e, a, b))
        })
        .collect();
    // Whole episodes, compounded month by month.
    for (e, a, b) in &windows {
        let k = model.factors.len();
        let factor_shocks = (0..k)
            .map(|j| (*a..=*b).fold(1.0, |acc, t| acc * (1.0 + model.history[t][j])) - 1.0)
            .collect();
        out.push(Scenario {
            id: 0,
            kind: ScenarioKind::HistoricalReplay,
            name: format!("{} ({} to {}, compounded)", e.name, e.start, e.end),
            factor_shocks,
            non_factor: NonFactorShock::ResidualEpisode {
                first: *a as u32,
                last: *b as u32,
            },
            severity: None,
            reference_shocks: None,
        });
    }
    // Their single months, then the book's worst other months.
    for (e, a, b) in &windows {
        for t in *a..=*b {
            if !used[t] {
                used[t] = true;
                out.push(month_scenario(t, format!("{} — {}", e.name, dates[t])));
            }
        }
    }
    let mut rest: Vec<usize> = (0..dates.len()).filter(|t| !used[*t]).collect();
    rest.sort_by(|x, y| {
        factor_pnl(model, &model.history[*x])
            .total_cmp(&factor_pnl(model, &model.history[*y]))
            .then(x.cmp(y))
    });
    for t in rest {
        out.push(month_scenario(
            t,
            format!("Worst-month replay — {}", dates[t]),
        ));
    }
    out
}

/// Normal (shrunk) correlation matrix and monthly vols.
fn normal_correlation(model: &FactorModel) -> (DMatrix<f64>, Vec<f64>) {
    let cov = from_rows(&model.covariance_shrunk);
    let vols = (0..cov.nrows()).map(|i| cov[(i, i)].sqrt()).collect();
    (covariance::correlation_from_covariance(&cov), vols)
}

/// A stressed correlation matrix: `(1-λ)·C + λ·T + noise`, repaired to the nearest
/// correlation matrix when the blend is not positive semidefinite. `flip` selects the
/// target: all factors perfectly co-moving (`false`), or style factors moving against
/// the market (`true`), the pattern of the 2009 rebound.
pub fn stressed_correlation(
    normal: &DMatrix<f64>,
    intensity: f64,
    flip: bool,
    noise: &[f64],
) -> (DMatrix<f64>, bool) {
    let k = normal.nrows();
    let mut blend = normal.clone();
    let mut next_noise = noise.iter().copied().cycle();
    for i in 0..k {
        for j in (i + 1)..k {
            let target = if flip && (i == 0) != (j == 0) {
                -1.0
            } else {
                1.0
            };
            let v = (1.0 - intensity) * normal[(i, j)]
                + intensity * target
                + next_noise.next().unwrap_or(0.0);
            let v = v.clamp(-1.0, 1.0);
            blend[(i, j)] = v;
            blend[(j, i)] = v;
        }
    }
    if correlation_repair::is_positive_semidefinite(&blend, 1e-12) {
        (blend, false)
    } else {
        match correlation_repair::nearest_correlation(&blend, 1e-10, 500) {
            Ok(fixed) => (fixed.matrix, true),
            // Repair cannot fail on a symmetric unit-diagonal input; fall back to the
            // normal matrix rather than emit an invalid one.
            Err(_) => (normal.clone(), true),
        }
    }
}

fn correlation_breakdowns(
    model: &FactorModel,
    tails: &FactorTails,
    count: u32,
    rng: &mut Rng,
) -> Vec<Scenario> {
    let (corr, vols) = normal_correlation(model);
    let k = vols.len();
    let stressed_cov = from_rows(&model.covariance_stressed);
    let stressed_window_vols: Vec<f64> = (0..k).map(|j| stressed_cov[(j, j)].sqrt()).collect();
    (0..count)
        .map(|n| {
            let intensity = rng.uniform_in(0.3, 0.9);
            let flip = rng.uniform() < 0.4;
            let noise: Vec<f64> = (0..k * (k - 1) / 2)
                .map(|_| rng.uniform_in(-0.15, 0.15))
                .collect();
            let severity = Severity::draw(rng);
            let (stressed, repaired) = stressed_correlation(&corr, intensity, flip, &noise);
            // The vols of the book's own stressed window; only the correlations are
            // broken here, and the market falls as far as history says the severity is.
            let stressed_vols = &stressed_window_vols;
            let cov = covariance::covariance_from_correlation(&stressed, stressed_vols);
            let market_shock = tails.historical_move(0, -1.0, severity);
            let given_market = |cov: &DMatrix<f64>| -> Vec<f64> {
                risk::conditional_scenario(cov, &[0], &[market_shock])
                    .map(|v| v.iter().copied().collect())
                    .unwrap_or_else(|_| {
                        let mut v = vec![0.0; k];
                        v[0] = market_shock;
                        v
                    })
            };
            let shocks = given_market(&cov);
            let reference = given_market(&covariance::covariance_from_correlation(
                &corr,
                stressed_vols,
            ));
            Scenario {
                id: 0,
                kind: ScenarioKind::CorrelationBreakdown,
                name: format!(
                    "Correlation breakdown #{} ({}): {} (λ={intensity:.2}{}), market {:+.1}%",
                    n + 1,
                    severity.label(),
                    if flip {
                        "style factors turn against the market"
                    } else {
                        "correlations go to one"
                    },
                    if repaired { ", Higham-repaired" } else { "" },
                    100.0 * market_shock,
                ),
                factor_shocks: shocks,
                non_factor: NonFactorShock::None,
                severity: Some(severity),
                reference_shocks: Some(reference),
            }
        })
        .collect()
}

/// Trailing-12-month compounded return of each factor at the end of the history.
pub fn trailing_returns(model: &FactorModel, months: usize) -> Vec<f64> {
    let n = model.history.len();
    (0..model.factors.len())
        .map(|j| {
            model.history[n.saturating_sub(months)..]
                .iter()
                .fold(1.0, |acc, row| acc * (1.0 + row[j]))
                - 1.0
        })
        .collect()
}

/// Crowding score of each factor: trailing 12-month return over its 12-month volatility
/// (a run-up z-score). The market factor (index 0) is not a style trade and scores 0.
pub fn crowding_scores(model: &FactorModel) -> Vec<f64> {
    let (_, vols) = normal_correlation(model);
    trailing_returns(model, 12)
        .iter()
        .zip(&vols)
        .enumerate()
        .map(|(j, (r, v))| if j == 0 { 0.0 } else { r / (v * 12f64.sqrt()) })
        .collect()
}

/// Shock `shocked` factors by `shocks` and let the rest follow conditionally under the
/// normal covariance.
fn conditional(model: &FactorModel, shocked: &[usize], shocks: &[f64]) -> Vec<f64> {
    let cov = from_rows(&model.covariance_shrunk);
    match risk::conditional_scenario(&cov, shocked, shocks) {
        Ok(v) => v.iter().copied().collect(),
        Err(_) => {
            let mut v = vec![0.0; model.factors.len()];
            for (j, s) in shocked.iter().zip(shocks) {
                v[*j] = *s;
            }
            v
        }
    }
}

fn style_rotations(
    model: &FactorModel,
    tails: &FactorTails,
    count: u32,
    rng: &mut Rng,
) -> Vec<Scenario> {
    let (_, vols) = normal_correlation(model);
    let trailing = trailing_returns(model, 12);
    let names = &model.factors;
    // Style factors are 1.. (SMB, HML, Mom); a value-momentum rotation is the pair (2, 3).
    let choices: Vec<Vec<usize>> = vec![
        vec![1],
        vec![2],
        vec![3],
        vec![2, 3],
        vec![1, 2],
        vec![1, 3],
    ];
    (0..count)
        .map(|n| {
            let set = &choices[rng.below(choices.len() as u64) as usize];
            let against_book = rng.uniform() < 0.5;
            let severity = Severity::draw(rng);
            let shocks: Vec<f64> = set
                .iter()
                .map(|&j| {
                    let direction = if against_book {
                        -model.book_exposure[j].signum()
                    } else {
                        -trailing[j].signum()
                    };
                    tails.historical_move(j, direction, severity)
                })
                .collect();
            let described: Vec<String> = set
                .iter()
                .zip(&shocks)
                .map(|(&j, x)| format!("{} {:+.1}% ({:.1}σ)", names[j], 100.0 * x, x / vols[j]))
                .collect();
            Scenario {
                id: 0,
                kind: ScenarioKind::StyleRotation,
                name: format!(
                    "Style rotation #{} ({}): {} — {}",
                    n + 1,
                    severity.label(),
                    if against_book {
                        "against the book's tilt"
                    } else {
                        "reversal of the 12-month trend"
                    },
                    described.join(", ")
                ),
                factor_shocks: conditional(model, set, &shocks),
                non_factor: NonFactorShock::None,
                severity: Some(severity),
                reference_shocks: None,
            }
        })
        .collect()
}

/// The per-factor inputs of the fire-sale discount, computed once per model.
pub fn fire_sale_inputs(model: &FactorModel) -> FireSaleInputs {
    let (_, volatility) = normal_correlation(model);
    let median_beta = (0..model.factors.len())
        .map(|j| {
            let mut betas: Vec<f64> = model.positions.iter().map(|p| p.exposures[j]).collect();
            betas.sort_by(f64::total_cmp);
            stats::quantile(&betas, 0.5)
        })
        .collect();
    FireSaleInputs {
        crowded_side: crowding_scores(model).iter().map(|s| s.signum()).collect(),
        median_beta,
        volatility,
    }
}

fn crowding_unwinds(
    model: &FactorModel,
    tails: &FactorTails,
    count: u32,
    rng: &mut Rng,
) -> Vec<Scenario> {
    let scores = crowding_scores(model);
    // Style factors ranked by crowding (absolute run-up z-score), most crowded first.
    let mut ranked: Vec<usize> = (1..model.factors.len()).collect();
    ranked.sort_by(|a, b| scores[*b].abs().total_cmp(&scores[*a].abs()).then(a.cmp(b)));
    (0..count)
        .map(|n| {
            // Mostly the most crowded trade; sometimes the two most crowded together.
            let set: Vec<usize> = if rng.uniform() < 0.35 && ranked.len() > 1 {
                ranked[..2].to_vec()
            } else {
                vec![ranked[(rng.below(ranked.len().min(2) as u64)) as usize]]
            };
            let severity = Severity::draw(rng);
            let discount = rng.uniform_in(0.5, 2.0);
            let shocks: Vec<f64> = set
                .iter()
                .map(|&j| tails.historical_move(j, -scores[j].signum(), severity))
                .collect();
            let described: Vec<String> = set
                .iter()
                .map(|&j| format!("{} (crowding z {:+.2})", model.factors[j], scores[j]))
                .collect();
            Scenario {
                id: 0,
                kind: ScenarioKind::CrowdingUnwind,
                name: format!(
                    "Crowding unwind #{} ({}): {} unwinds {}, fire-sale discount ×{discount:.2}",
                    n + 1,
                    severity.label(),
                    described.join(" + "),
                    shocks
                        .iter()
                        .map(|x| format!("{:+.1}%", 100.0 * x))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
                factor_shocks: conditional(model, &set, &shocks),
                non_factor: NonFactorShock::FireSale {
                    factors: set.iter().map(|&j| j as u32).collect(),
                    discount,
                },
                severity: Some(severity),
                reference_shocks: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_counts_add_up_and_respect_the_history() {
        for (total, hist) in [(100, 400), (500, 400), (500, 30), (1000, 819), (100, 0)] {
            let c = kind_counts(total, hist);
            assert_eq!(c.iter().sum::<u32>(), total);
            assert!(c[0] <= hist && c[0] <= total / 5);
            assert!(c[1..].iter().all(|n| *n > 0));
        }
    }

    #[test]
    fn stressed_correlation_is_a_valid_correlation_matrix() {
        let normal = DMatrix::from_row_slice(
            4,
            4,
            &[
                1.0, 0.2, -0.3, -0.1, 0.2, 1.0, 0.1, 0.0, -0.3, 0.1, 1.0, -0.4, -0.1, 0.0, -0.4,
                1.0,
            ],
        );
        for flip in [false, true] {
            let (m, _) = stressed_correlation(&normal, 0.8, flip, &[0.15, -0.15, 0.15]);
            assert!(correlation_repair::is_positive_semidefinite(&m, 1e-9));
            for i in 0..4 {
                assert!((m[(i, i)] - 1.0).abs() < 1e-9);
            }
            // Correlations moved toward the target.
            let target = if flip { -1.0 } else { 1.0 };
            assert!((m[(0, 1)] - target).abs() < (normal[(0, 1)] - target).abs());
        }
    }
}
