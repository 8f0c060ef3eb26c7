//! One assessment end to end: the market, credit and liquidity agents run concurrently,
//! each on its own thread within its time budget; compliance then checks its rules on
//! their figures; the consensus combines the four into one score and an alert tier; the
//! audit record says who computed what, with which versions, seeds and inputs, and how
//! long each took.
//!
//! **Scores.** Every agent scores its binding limit's utilisation u (figure / limit) as
//! `min(100, 50·u)`: 50 at the limit, 70 at 1.4× it, 100 at twice it. Each also states
//! its confidence in [0, 1] (what limits it is said per agent below). The combined score
//! is the confidence-weighted mean of the completed agents' scores after the cross-risk
//! adjustments. An agent that fails or runs over its budget is marked, left out of the
//! mean, and the assessment is at least sent for human review — never automated on
//! partial information.
//!
//! **Tiers.** Executive at a combined score ≥ 70 or three or more breaches; human review
//! at ≥ 40, any breach, any agent scoring ≥ 70 on its own, or any agent missing;
//! automated otherwise (thresholds configurable).

use crate::backtest::{BacktestReport, VarModel, Zone};
use crate::compliance::{self, ComplianceFindings, RuleStatus};
use crate::credit::{self, CreditFindings};
use crate::liquidity::{self, LiquidityFindings};
use crate::market::{self, MarketFindings};
use crate::model::MarketModel;
use crate::portfolio::{FieldIssue, Portfolio};
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `POST /assessments` and `stresslab assess` take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRequest {
    pub portfolio: Portfolio,
    #[serde(default)]
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("the request is not valid JSON of the assessment schema (line {line}, column {column}): {message}")]
    Parse {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the request has {} invalid field(s): {}", .0.len(), .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldIssue>),
}

impl AssessmentRequest {
    /// Parses and validates against the model: every bad field, or a request that can
    /// be assessed.
    pub fn parse(bytes: &[u8], model: &MarketModel) -> Result<AssessmentRequest, AssessError> {
        let request: AssessmentRequest =
            serde_json::from_slice(bytes).map_err(|e| AssessError::Parse {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        request.validate(model)?;
        Ok(request)
    }

    pub fn validate(&self, model: &MarketModel) -> Result<(), AssessError> {
        let mut issues = self.portfolio.validate(model);
        issues.extend(self.settings.validate());
        if issues.is_empty() {
            Ok(())
        } else {
            Err(AssessError::Invalid(issues))
        }
    }

    /// SHA-256 of the request as parsed, in its canonical binary encoding (bincode 1,
    /// little-endian fixed-width: every field, in declaration order, floats as their
    /// bits), so the same portfolio and settings always hash the same whatever the
    /// JSON's spacing or number spelling — and without formatting a float (hashing the
    /// JSON text of a 10,000-position book took ~10 ms, this ~1 ms).
    pub fn input_hash(&self) -> String {
        struct Hashing(Sha256);
        impl std::io::Write for Hashing {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut h = Hashing(Sha256::new());
        bincode::serialize_into(&mut h, self).expect("a parsed request encodes");
        hex(&h.0.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum AgentStatus {
    Completed,
    Failed { reason: String },
    TimedOut { budget_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    pub agent: String,
    pub version: String,
    #[serde(flatten)]
    pub status: AgentStatus,
    pub processing_ms: f64,
    /// 0 (no risk) … 100, after cross-risk adjustments; None when it did not complete.
    pub score: Option<f64>,
    /// The score before cross-risk adjustments.
    pub own_score: Option<f64>,
    pub confidence: Option<f64>,
    /// What drives the score, in words with its figure.
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossRiskAdjustment {
    pub name: String,
    /// The agent whose score it raises.
    pub agent: String,
    pub points: f64,
    pub explanation: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertTier {
    /// Within every limit with room to spare: no one needs to look.
    Automated,
    /// A risk officer reviews it.
    HumanReview,
    /// Escalated to the executive risk committee.
    Executive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consensus {
    pub score: f64,
    pub tier: AlertTier,
    /// Why this tier, one line per reason.
    pub reasons: Vec<String>,
    pub cross_risk: Vec<CrossRiskAdjustment>,
    /// Some agent failed or timed out.
    pub degraded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub assessment_id: String,
    pub portfolio_id: String,
    pub requested_at: String,
    /// SHA-256 of the request as parsed.
    pub input_hash: String,
    pub model_version: String,
    pub seed: u64,
    pub simulations: u32,
    pub horizon_days: u32,
    pub agents: Vec<AgentReport>,
    pub score: f64,
    pub tier: AlertTier,
    /// Every breached rule as `rule: subject figure vs threshold`.
    pub breaches: Vec<String>,
    pub total_ms: f64,
}

/// How the market agent's VaR model fared in its out-of-sample backtest on real daily
/// data ([`crate::backtest`]): the figures behind the market agent's confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestSummary {
    /// The distribution the Monte Carlo draws from, as backtested.
    pub model: VarModel,
    pub lines: Vec<BacktestLine>,
    /// Every book passes at 99% (no test rejects at 5%).
    pub passes_at_99: bool,
    /// What the backtest shows, in words.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestLine {
    pub book: String,
    pub first_day: String,
    pub last_day: String,
    pub confidence: f64,
    pub days: usize,
    pub exceptions: usize,
    pub expected_exceptions: f64,
    /// 1 − exception rate: meant to equal `confidence`.
    pub coverage: f64,
    pub kupiec_p: f64,
    pub christoffersen_independence_p: f64,
    pub conditional_coverage_p: f64,
    pub passes: bool,
    /// Basel traffic-light zone of the last 250 days (99% only).
    pub zone: Option<Zone>,
}

impl BacktestSummary {
    pub fn from_report(report: &BacktestReport) -> BacktestSummary {
        let model = report.market_agent_model;
        let books = report
            .comparison
            .iter()
            .find(|m| m.model == model)
            .map_or(&report.books, |m| &m.books);
        let lines: Vec<BacktestLine> = books
            .iter()
            .flat_map(|b| {
                b.levels.iter().map(move |l| BacktestLine {
                    book: b.book.clone(),
                    first_day: b.first_day.clone(),
                    last_day: b.last_day.clone(),
                    confidence: l.confidence,
                    days: l.days,
                    exceptions: l.exceptions,
                    expected_exceptions: l.expected_exceptions,
                    coverage: l.coverage,
                    kupiec_p: l.kupiec.p_value,
                    christoffersen_independence_p: l.christoffersen.independence.p_value,
                    conditional_coverage_p: l.christoffersen.conditional_coverage.p_value,
                    passes: l.passes,
                    zone: l.traffic_light.as_ref().map(|t| t.zone),
                })
            })
            .collect();
        let passes_at_99 = lines
            .iter()
            .filter(|l| (l.confidence - 0.99).abs() < 1e-9)
            .all(|l| l.passes);
        BacktestSummary {
            model,
            lines,
            passes_at_99,
            findings: report.findings.clone(),
        }
    }
}

/// The backtest of the calibrated model, when `model` is it (a hand-made model has no
/// history to be backtested on).
fn calibrated_backtest(model: &MarketModel) -> Option<BacktestSummary> {
    let calibrated = crate::calibrate::shared().ok()?;
    if calibrated.version != model.version {
        return None;
    }
    crate::backtest::report()
        .ok()
        .map(BacktestSummary::from_report)
}

/// Confidence kept by the market agent when its VaR model failed its 99% backtest:
/// the figure is still the best the model gives, but it is known to understate the
/// tail (a house choice, stated in the driver).
pub const FAILED_BACKTEST_CONFIDENCE: f64 = 0.75;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub consensus: Consensus,
    pub audit: AuditRecord,
    /// The market model's out-of-sample VaR backtest (absent for a hand-made model).
    pub model_backtest: Option<BacktestSummary>,
    pub market: Option<MarketFindings>,
    pub credit: Option<CreditFindings>,
    pub liquidity: Option<LiquidityFindings>,
    pub compliance: ComplianceFindings,
}

/// An agent running on its own thread.
struct Pending<T> {
    /// The result, the agent's own processing time (ms) and when it finished.
    rx: Receiver<(std::thread::Result<T>, f64, Instant)>,
    started: Instant,
    budget: Duration,
}

/// Runs `f` on a new thread. Its result is awaited at most `budget` from now; a thread
/// that runs over is left to finish on its own and its result is dropped.
fn spawn<T: Send + 'static>(budget_ms: u64, f: impl FnOnce() -> T + Send + 'static) -> Pending<T> {
    let (tx, rx) = sync_channel(1);
    let started = Instant::now();
    std::thread::spawn(move || {
        let clock = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send((result, clock.elapsed().as_secs_f64() * 1e3, Instant::now()));
    });
    Pending {
        rx,
        started,
        budget: Duration::from_millis(budget_ms),
    }
}

impl<T> Pending<T> {
    /// The outcome and the agent's processing time: measured on its own thread when it
    /// finished, the time waited when it did not.
    fn wait(self) -> (Result<T, AgentStatus>, f64) {
        let remaining = self.budget.saturating_sub(self.started.elapsed());
        let waited = || self.started.elapsed().as_secs_f64() * 1e3;
        let timed_out = || AgentStatus::TimedOut {
            budget_ms: self.budget.as_millis() as u64,
        };
        match self.rx.recv_timeout(remaining) {
            // A result that came in after the budget (the waiting thread was itself
            // held up) is as late as one that never came.
            Ok((_, ms, finished)) if finished.duration_since(self.started) > self.budget => {
                (Err(timed_out()), ms)
            }
            Ok((Ok(v), ms, _)) => (Ok(v), ms),
            Ok((Err(panic), ms, _)) => (
                Err(AgentStatus::Failed {
                    reason: panic_message(&panic),
                }),
                ms,
            ),
            Err(RecvTimeoutError::Timeout) => (Err(timed_out()), waited()),
            Err(RecvTimeoutError::Disconnected) => (
                Err(AgentStatus::Failed {
                    reason: "the agent's thread ended without a result".into(),
                }),
                waited(),
            ),
        }
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the agent panicked".into())
}

/// The agents' computations; swapped out in tests to make one fail or stall.
pub struct Agents {
    pub market: fn(&Portfolio, &MarketModel, &Settings) -> MarketFindings,
    pub credit: fn(&Portfolio, &Settings) -> CreditFindings,
    pub liquidity: fn(&Portfolio, &MarketModel, &Settings) -> LiquidityFindings,
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            market: market::assess,
            credit: credit::assess,
            liquidity: liquidity::assess,
        }
    }
}

/// Assesses a validated request. `requested_at` (RFC 3339) is the caller's clock: it
/// goes into the audit record and the assessment id, so the computation stays pure.
pub fn assess(
    request: AssessmentRequest,
    model: Arc<MarketModel>,
    requested_at: &str,
) -> Assessment {
    assess_with(request, model, requested_at, &Agents::default())
}

pub fn assess_with(
    request: AssessmentRequest,
    model: Arc<MarketModel>,
    requested_at: &str,
    agents: &Agents,
) -> Assessment {
    let started = Instant::now();
    // The simulated factor moves are shared by every assessment with these settings;
    // the first one generates them here, outside the market agent's time budget.
    market::simulation_set(&model, &request.settings);
    let model_backtest = calibrated_backtest(&model);
    let request = Arc::new(request);
    let budgets = request.settings.budgets.clone();

    let market = {
        let (r, m, f) = (request.clone(), model.clone(), agents.market);
        spawn(budgets.market_ms, move || f(&r.portfolio, &m, &r.settings))
    };
    let credit = {
        let (r, f) = (request.clone(), agents.credit);
        spawn(budgets.credit_ms, move || f(&r.portfolio, &r.settings))
    };
    let liquidity = {
        let (r, m, f) = (request.clone(), model.clone(), agents.liquidity);
        spawn(budgets.liquidity_ms, move || {
            f(&r.portfolio, &m, &r.settings)
        })
    };
    // Hashed while the agents run.
    let input_hash = request.input_hash();
    // Shared, not copied, with the compliance agent (a 10,000-position book's ES
    // contributions are 10,000 entries).
    let (market, market_ms) = market.wait();
    let market = market.map(Arc::new);
    let (credit, credit_ms) = credit.wait();
    let credit = credit.map(Arc::new);
    let (liquidity, liquidity_ms) = liquidity.wait();
    let liquidity = liquidity.map(Arc::new);
    let compliance = {
        let r = request.clone();
        let (m, c, l) = (
            market.as_ref().ok().cloned(),
            credit.as_ref().ok().cloned(),
            liquidity.as_ref().ok().cloned(),
        );
        spawn(budgets.compliance_ms, move || {
            compliance::assess(
                &r.portfolio,
                &r.settings,
                m.as_deref(),
                c.as_deref(),
                l.as_deref(),
            )
        })
    };
    let (compliance, compliance_ms) = compliance.wait();

    let portfolio = &request.portfolio;
    let settings = &request.settings;
    let limits = &settings.limits;
    let mut reports = Vec::new();
    let mut cross_risk = Vec::new();

    // Market: its binding limit is VaR or the worst stress loss; confidence is the
    // precision of the VaR estimate (half-width of its 95% interval over the VaR).
    reports.push(match &market {
        Ok(m) => {
            let var_u = m.var99.var_pct_nav / limits.var99;
            let worst_stress = m.worst_stress_within(limits.stress_horizon_days);
            let worst = worst_stress.map_or(0.0, |s| (-s.pnl_pct_nav).max(0.0));
            let worst_name = worst_stress.map_or("", |s| s.name.as_str());
            let stress_u = worst / limits.stress_loss;
            let (u, driver) = if var_u >= stress_u {
                (
                    var_u,
                    format!(
                        "99% {}-day VaR {:.2}% of NAV against a {:.2}% limit",
                        m.horizon_days,
                        100.0 * m.var99.var_pct_nav,
                        100.0 * limits.var99
                    ),
                )
            } else {
                (
                    stress_u,
                    format!(
                        "worst named stress ({worst_name}) loses {:.2}% of NAV against a {:.2}% limit",
                        100.0 * worst,
                        100.0 * limits.stress_loss
                    ),
                )
            };
            let (lo, hi) = m.var99.var_interval;
            let mut confidence = if m.var99.var > 0.0 {
                (1.0 - (hi - lo) / (2.0 * m.var99.var)).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let mut driver = driver;
            if let Some(b) = model_backtest.as_ref().filter(|b| !b.passes_at_99) {
                confidence *= FAILED_BACKTEST_CONFIDENCE;
                let worst = b
                    .lines
                    .iter()
                    .filter(|l| (l.confidence - 0.99).abs() < 1e-9)
                    .min_by(|x, y| x.coverage.total_cmp(&y.coverage));
                if let Some(l) = worst {
                    driver.push_str(&format!(
                        "; the model's 99% VaR failed its out-of-sample backtest ({}: coverage {:.2}% over {} days, Kupiec p = {:.1e})",
                        l.book,
                        100.0 * l.coverage,
                        l.days,
                        l.kupiec_p
                    ));
                }
            }
            completed(
                market::AGENT,
                market::VERSION,
                market_ms,
                u,
                confidence,
                driver,
            )
        }
        Err(status) => not_completed(market::AGENT, market::VERSION, market_ms, status.clone()),
    });

    // Credit: confidence falls with the share of EAD that rests on the CCF assumption.
    reports.push(match &credit {
        Ok(c) => {
            let cap_u = c.unexpected_loss_pct_capital / limits.credit_capital;
            let name_u = c
                .single_names
                .first()
                .map_or(0.0, |x| x.share_of_capital / limits.single_name_credit);
            let sector_u = c
                .sectors
                .first()
                .map_or(0.0, |x| x.share_of_capital / limits.sector_credit);
            let (u, driver) = [
                (
                    cap_u,
                    format!(
                        "ASRF unexpected loss {:.2}% of capital against {:.2}%",
                        100.0 * c.unexpected_loss_pct_capital,
                        100.0 * limits.credit_capital
                    ),
                ),
                (
                    name_u,
                    c.single_names.first().map_or(String::new(), |x| {
                        format!(
                            "largest issuer {} at {:.2}% of capital against {:.2}%",
                            x.name,
                            100.0 * x.share_of_capital,
                            100.0 * limits.single_name_credit
                        )
                    }),
                ),
                (
                    sector_u,
                    c.sectors.first().map_or(String::new(), |x| {
                        format!(
                            "largest sector {} at {:.2}% of capital against {:.2}%",
                            x.name,
                            100.0 * x.share_of_capital,
                            100.0 * limits.sector_credit
                        )
                    }),
                ),
            ]
            .into_iter()
            .fold((0.0, "no credit exposure".to_string()), |best, x| {
                if x.0 > best.0 {
                    x
                } else {
                    best
                }
            });
            let confidence = if c.total_ead > 0.0 {
                1.0 - 0.5 * c.undrawn_ead / c.total_ead
            } else {
                1.0
            };
            completed(
                credit::AGENT,
                credit::VERSION,
                credit_ms,
                u,
                confidence,
                driver,
            )
        }
        Err(status) => not_completed(credit::AGENT, credit::VERSION, credit_ms, status.clone()),
    });

    // Liquidity: confidence falls with the share of value that takes over 30 days to sell.
    let liquidity_u = |l: &LiquidityFindings| {
        let cov_u = if l.coverage_30d > 0.0 {
            limits.liquidity_coverage / l.coverage_30d
        } else {
            f64::INFINITY
        };
        let ill_u = l.illiquid_share / limits.illiquid_share;
        if cov_u >= ill_u {
            (
                cov_u,
                format!(
                    "30-day coverage {:.2}× against a {:.2}× floor",
                    l.coverage_30d, limits.liquidity_coverage
                ),
            )
        } else {
            (
                ill_u,
                format!(
                    "illiquid share {:.2}% of NAV against {:.2}%",
                    100.0 * l.illiquid_share,
                    100.0 * limits.illiquid_share
                ),
            )
        }
    };
    reports.push(match &liquidity {
        Ok(l) => {
            let (u, driver) = liquidity_u(l);
            completed(
                liquidity::AGENT,
                liquidity::VERSION,
                liquidity_ms,
                u,
                1.0 - 0.5 * l.beyond_30d_share,
                driver,
            )
        }
        Err(status) => not_completed(
            liquidity::AGENT,
            liquidity::VERSION,
            liquidity_ms,
            status.clone(),
        ),
    });

    // Compliance: confidence is the share of rules it could evaluate.
    let compliance = match compliance {
        Ok(c) => {
            let u = c
                .rules
                .iter()
                .filter_map(|r| r.utilisation)
                .fold(0.0, f64::max);
            let driver = c
                .rules
                .iter()
                .filter(|r| r.utilisation.is_some())
                .max_by(|a, b| {
                    a.utilisation
                        .unwrap_or(0.0)
                        .total_cmp(&b.utilisation.unwrap_or(0.0))
                })
                .map_or(String::new(), |r| {
                    format!(
                        "{:?} on {} at {:.0}% of its limit",
                        r.rule,
                        r.subject,
                        100.0 * r.utilisation.unwrap_or(0.0)
                    )
                });
            let confidence = 1.0 - c.not_evaluated as f64 / c.rules.len().max(1) as f64;
            reports.push(completed(
                compliance::AGENT,
                compliance::VERSION,
                compliance_ms,
                u,
                confidence,
                driver,
            ));
            c
        }
        Err(status) => {
            reports.push(not_completed(
                compliance::AGENT,
                compliance::VERSION,
                compliance_ms,
                status,
            ));
            ComplianceFindings {
                rules: Vec::new(),
                breaches: 0,
                not_evaluated: 0,
            }
        }
    };

    // Cross-risk 1: the scenarios that make the market ES also raise implied vol, and
    // spreads and impact scale with volatility (Stoll 1978; the square-root law): the
    // liquidity figures are recomputed with every spread and vol scaled by the ES tail's
    // mean vol move.
    if let (Ok(m), Ok(l)) = (&market, &liquidity) {
        let multiplier = m.tail_vol_move.exp();
        if multiplier > 1.0 {
            let stressed = l.stressed(portfolio, settings, multiplier);
            let (u0, _) = liquidity_u(l);
            let (u1, _) = liquidity_u(&stressed);
            let points = (score_of(u1) - score_of(u0)).max(0.0);
            cross_risk.push(CrossRiskAdjustment {
                name: "market stress raises liquidation cost".into(),
                agent: liquidity::AGENT.into(),
                points,
                explanation: format!(
                    "in the market's ES tail implied vol rises {:.0}% on average; with spreads and impact scaled alike, liquidating the book costs {:.3}% of NAV instead of {:.3}% and 30-day coverage is {:.2}× instead of {:.2}×",
                    100.0 * (multiplier - 1.0),
                    100.0 * stressed.liquidation_cost_pct_nav,
                    100.0 * l.liquidation_cost_pct_nav,
                    stressed.coverage_30d,
                    l.coverage_30d
                ),
            });
        }
    }
    // Cross-risk 2: an issuer held both as equity and as credit is one exposure: its
    // combined value against the single-name limit.
    if let Ok(c) = &credit {
        let mut combined: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for p in &portfolio.positions {
            let Some(issuer) = p.issuer.as_deref() else {
                continue;
            };
            let e = combined.entry(issuer).or_default();
            match &p.credit {
                Some(cr) => {
                    e.1 += cr.drawn.unwrap_or(p.market_value.max(0.0)) + cr.ccf * cr.undrawn
                }
                None => e.0 += p.market_value.max(0.0),
            }
        }
        let capital = portfolio.capital();
        if let Some((issuer, (equity, ead))) = combined
            .iter()
            .filter(|(_, (eq, ead))| *eq > 0.0 && *ead > 0.0)
            .max_by(|a, b| (a.1 .0 + a.1 .1).total_cmp(&(b.1 .0 + b.1 .1)))
        {
            let share = (equity + ead) / capital;
            let u_before = c
                .single_names
                .first()
                .map_or(0.0, |x| x.share_of_capital / limits.single_name_credit);
            let points =
                (score_of(share / limits.single_name_credit) - score_of(u_before)).max(0.0);
            cross_risk.push(CrossRiskAdjustment {
                name: "equity and credit in the same issuer".into(),
                agent: credit::AGENT.into(),
                points,
                explanation: format!(
                    "{issuer}: {:.0} held as equity and {:.0} as credit exposure make {:.2}% of capital against a {:.2}% single-name limit",
                    equity, ead, 100.0 * share, 100.0 * limits.single_name_credit
                ),
            });
        }
    }
    for adj in &cross_risk {
        if let Some(r) = reports.iter_mut().find(|r| r.agent == adj.agent) {
            if let Some(s) = r.score.as_mut() {
                *s = (*s + adj.points).min(100.0);
            }
        }
    }

    let (weighted, weights) = reports
        .iter()
        .filter_map(|r| Some((r.score?, r.confidence?)))
        .fold((0.0, 0.0), |(a, b), (s, c)| (a + s * c, b + c));
    let score = if weights > 0.0 {
        weighted / weights
    } else {
        100.0
    };
    let degraded = reports.iter().any(|r| r.status != AgentStatus::Completed);
    let breaches: Vec<String> = compliance
        .rules
        .iter()
        .filter(|r| r.status == RuleStatus::Breach)
        .map(|r| {
            format!(
                "{:?}: {} {:.4} vs {:.4}",
                r.rule,
                r.subject,
                r.figure.unwrap_or(f64::NAN),
                r.threshold
            )
        })
        .collect();
    let mut reasons = Vec::new();
    let t = &settings.tiers;
    let mut tier = AlertTier::Automated;
    if score >= t.executive {
        tier = AlertTier::Executive;
        reasons.push(format!("combined score {score:.1} ≥ {:.0}", t.executive));
    } else if score >= t.human_review {
        tier = AlertTier::HumanReview;
        reasons.push(format!("combined score {score:.1} ≥ {:.0}", t.human_review));
    }
    // One severe risk is not averaged away by calm elsewhere.
    for r in &reports {
        if let Some(s) = r.score.filter(|s| *s >= t.executive) {
            tier = tier.max_with(AlertTier::HumanReview);
            reasons.push(format!(
                "the {} agent alone scores {s:.1} ≥ {:.0}",
                r.agent, t.executive
            ));
        }
    }
    if breaches.len() >= 3 {
        tier = AlertTier::Executive;
        reasons.push(format!("{} limit breaches", breaches.len()));
    } else if !breaches.is_empty() {
        tier = tier.max_with(AlertTier::HumanReview);
        reasons.push(format!("{} limit breach(es)", breaches.len()));
    }
    if degraded {
        tier = tier.max_with(AlertTier::HumanReview);
        for r in reports
            .iter()
            .filter(|r| r.status != AgentStatus::Completed)
        {
            reasons.push(format!(
                "the {} agent did not complete ({:?})",
                r.agent, r.status
            ));
        }
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "combined score {score:.1} below {:.0}, every rule within its limit",
            t.human_review
        ));
    }

    let audit = AuditRecord {
        assessment_id: format!(
            "asm-{}",
            &hex(&Sha256::digest(
                format!("{input_hash}|{requested_at}").as_bytes()
            ))[..20]
        ),
        portfolio_id: portfolio.portfolio_id.clone(),
        requested_at: requested_at.to_string(),
        input_hash,
        model_version: model.version.clone(),
        seed: settings.seed,
        simulations: settings.simulations,
        horizon_days: settings.horizon_days,
        agents: reports,
        score,
        tier,
        breaches,
        total_ms: started.elapsed().as_secs_f64() * 1e3,
    };
    Assessment {
        consensus: Consensus {
            score,
            tier,
            reasons,
            cross_risk,
            degraded,
        },
        audit,
        model_backtest,
        market: market.ok().map(unshare),
        credit: credit.ok().map(unshare),
        liquidity: liquidity.ok().map(unshare),
        compliance,
    }
}

impl AlertTier {
    fn max_with(self, other: AlertTier) -> AlertTier {
        let rank = |t: AlertTier| match t {
            AlertTier::Automated => 0,
            AlertTier::HumanReview => 1,
            AlertTier::Executive => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// The value back out of its `Arc`: moved when the compliance thread has let go of it,
/// copied when that thread ran over its budget and still holds it.
fn unshare<T: Clone>(shared: Arc<T>) -> T {
    Arc::try_unwrap(shared).unwrap_or_else(|still_shared| (*still_shared).clone())
}

/// `min(100, 50·u)`: 50 at the limit.
pub fn score_of(utilisation: f64) -> f64 {
    (50.0 * utilisation).clamp(0.0, 100.0)
}

fn completed(
    agent: &str,
    version: &str,
    ms: f64,
    u: f64,
    confidence: f64,
    driver: String,
) -> AgentReport {
    let s = score_of(u);
    AgentReport {
        agent: agent.into(),
        version: version.into(),
        status: AgentStatus::Completed,
        processing_ms: ms,
        score: Some(s),
        own_score: Some(s),
        confidence: Some(confidence),
        driver: Some(driver),
    }
}

fn not_completed(agent: &str, version: &str, ms: f64, status: AgentStatus) -> AgentReport {
    AgentReport {
        agent: agent.into(),
        version: version.into(),
        status,
        processing_ms: ms,
        score: None,
        own_score: None,
        confidence: None,
        driver: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::Rule;
    use crate::model::test_model;
    use crate::sample;

    fn request(positions: usize) -> AssessmentRequest {
        let model = test_model();
        AssessmentRequest {
            portfolio: sample::portfolio(&model, positions, 7),
            settings: Settings {
                simulations: 2_000,
                ..Settings::default()
            },
        }
    }

    fn run(r: AssessmentRequest, agents: &Agents) -> Assessment {
        assess_with(r, Arc::new(test_model()), "2026-12-06T12:00:00Z", agents)
    }

    #[test]
    fn every_agent_reports_and_the_audit_record_is_complete() {
        let a = run(request(300), &Agents::default());
        let names: Vec<&str> = a.audit.agents.iter().map(|r| r.agent.as_str()).collect();
        assert_eq!(names, ["market", "credit", "liquidity", "compliance"]);
        assert!(a
            .audit
            .agents
            .iter()
            .all(|r| r.status == AgentStatus::Completed && r.score.is_some()));
        assert!(!a.consensus.degraded);
        assert!((0.0..=100.0).contains(&a.consensus.score));
        assert_eq!(a.audit.score, a.consensus.score);
        assert_eq!(a.audit.seed, 42);
        assert_eq!(a.audit.model_version, "test-model");
        assert_eq!(a.audit.input_hash.len(), 64);
        assert!(a.audit.assessment_id.starts_with("asm-"));
        // Breaches in the audit are exactly the compliance breaches.
        assert_eq!(a.audit.breaches.len(), a.compliance.breaches);
        // The combined score is the confidence-weighted mean of the agents' scores.
        let (w, c) = a.audit.agents.iter().fold((0.0, 0.0), |(w, c), r| {
            (
                w + r.score.unwrap() * r.confidence.unwrap(),
                c + r.confidence.unwrap(),
            )
        });
        assert!((a.consensus.score - w / c).abs() < 1e-9);
    }

    #[test]
    fn the_same_request_and_time_give_the_same_id_and_numbers() {
        let a = run(request(200), &Agents::default());
        let b = run(request(200), &Agents::default());
        assert_eq!(a.audit.assessment_id, b.audit.assessment_id);
        assert_eq!(a.market, b.market);
        let c = assess_with(
            request(200),
            Arc::new(test_model()),
            "2026-12-06T12:00:01Z",
            &Agents::default(),
        );
        assert_ne!(a.audit.assessment_id, c.audit.assessment_id);
        assert_eq!(a.audit.input_hash, c.audit.input_hash);
    }

    fn panicking_market(_: &Portfolio, _: &MarketModel, _: &Settings) -> MarketFindings {
        panic!("market data feed unavailable")
    }

    fn stalled_credit(p: &Portfolio, s: &Settings) -> CreditFindings {
        std::thread::sleep(Duration::from_millis(400));
        credit::assess(p, s)
    }

    /// A failed or stalled agent is marked, its rules are not evaluated (never passed),
    /// the others still report, and the assessment cannot be automated.
    #[test]
    fn a_failed_or_stalled_agent_degrades_the_assessment_gracefully() {
        let mut r = request(200);
        r.settings.budgets.credit_ms = 50;
        let a = run(
            r,
            &Agents {
                market: panicking_market,
                credit: stalled_credit,
                liquidity: liquidity::assess,
            },
        );
        let status = |name: &str| {
            a.audit
                .agents
                .iter()
                .find(|r| r.agent == name)
                .unwrap()
                .status
                .clone()
        };
        assert_eq!(
            status("market"),
            AgentStatus::Failed {
                reason: "market data feed unavailable".into()
            }
        );
        assert_eq!(status("credit"), AgentStatus::TimedOut { budget_ms: 50 });
        assert_eq!(status("liquidity"), AgentStatus::Completed);
        assert_eq!(status("compliance"), AgentStatus::Completed);
        assert!(a.consensus.degraded);
        assert!(a.market.is_none() && a.credit.is_none() && a.liquidity.is_some());
        let var_rule = a
            .compliance
            .rules
            .iter()
            .find(|r| r.rule == Rule::VarLimit)
            .unwrap();
        assert!(matches!(var_rule.status, RuleStatus::NotEvaluated { .. }));
        assert_ne!(a.consensus.tier, AlertTier::Automated);
        assert!(a
            .consensus
            .reasons
            .iter()
            .any(|r| r.contains("market agent did not complete")));
    }

    /// A book that is mostly one issuer breaches the issuer rule, and the breach names
    /// the rule, the issuer, the figure and the threshold.
    #[test]
    fn a_breach_names_its_rule_figure_and_threshold() {
        let mut r = request(100);
        let nav = r.portfolio.nav;
        let p = r
            .portfolio
            .positions
            .iter_mut()
            .find(|p| p.asset_class == crate::portfolio::AssetClass::Etf)
            .unwrap();
        p.market_value = 0.3 * nav;
        let f = p.exposures.keys().next().unwrap().clone();
        p.exposures.insert(f, 0.3 * nav);
        let issuer = p.issuer.clone().unwrap();
        let a = run(r, &Agents::default());
        let breach = a
            .compliance
            .rules
            .iter()
            .find(|r| r.rule == Rule::IssuerConcentration && r.status == RuleStatus::Breach)
            .expect("issuer breach");
        assert_eq!(breach.subject, issuer);
        assert!(breach.figure.unwrap() > 0.25 && breach.threshold == 0.10);
        assert!(a
            .audit
            .breaches
            .iter()
            .any(|b| b.starts_with("IssuerConcentration") && b.contains(&issuer)));
        assert_ne!(a.consensus.tier, AlertTier::Automated);
    }

    #[test]
    fn a_bad_request_lists_every_bad_field_by_path() {
        let model = test_model();
        let mut r = request(50);
        r.portfolio.positions[1].id = r.portfolio.positions[0].id.clone();
        r.portfolio.positions[2]
            .exposures
            .insert("NOPE".into(), 1.0);
        let credit_at = r
            .portfolio
            .positions
            .iter()
            .position(|p| p.credit.is_some())
            .unwrap();
        r.portfolio.positions[credit_at].credit.as_mut().unwrap().pd = 1.5;
        let option_at = r
            .portfolio
            .positions
            .iter()
            .position(|p| p.option.is_some())
            .unwrap();
        r.portfolio.positions[option_at].market_value *= 3.0;
        r.settings.simulations = 10;
        let bytes = serde_json::to_vec(&r).unwrap();
        let Err(AssessError::Invalid(issues)) = AssessmentRequest::parse(&bytes, &model) else {
            panic!("must be invalid")
        };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert!(fields.contains(&"positions[1].id"), "{fields:?}");
        assert!(fields.contains(&"positions[2].exposures.NOPE"));
        assert!(fields.contains(&format!("positions[{credit_at}].credit.pd").as_str()));
        assert!(fields.contains(&format!("positions[{option_at}].market_value").as_str()));
        assert!(fields.contains(&"settings.simulations"));
        assert_eq!(issues.len(), 5, "{issues:?}");

        let text =
            "{\n  \"portfolio\": {\n    \"portfolio_id\": \"x\",\n    \"nav\": \"a lot\"\n  }\n}";
        let Err(AssessError::Parse { line, .. }) =
            AssessmentRequest::parse(text.as_bytes(), &model)
        else {
            panic!("must not parse")
        };
        assert_eq!(line, 4);
    }
}
