//! The combined market-liquidity × redemption scenario set, and the per-day paths the
//! cascade reads from each scenario.
//!
//! A scenario is a small serialisable [`ScenarioSpec`]: what kind of market stress and
//! of redemption shock, how severe each is, and the few parameters that follow. The
//! day-by-day paths — the market's stress with its recovery, the exogenous redemption
//! requests — are computed on demand from the spec ([`market_path`],
//! [`market_path_for_class`], [`exogenous_redemptions`]): deterministic, O(1) and
//! allocation-free per day, never stored.
//!
//! Design of the set ([`generate_scenarios`]):
//! - **Kinds.** Market stress: market-wide, asset-class specific (rotating over the
//!   classes), flight to quality, funding shock. Redemption shock: empirical percentile
//!   (Bouveret 2017), model-driven (the behavioural model of `investors`), concentrated
//!   exits of the largest holders. The 4 × 3 kind pairs are the strata; each receives
//!   an equal share of the scenarios.
//! - **Severities, correlated.** Within a stratum, a market quantile `u_m` and a
//!   redemption quantile `u_r` are drawn by Latin hypercube sampling (McKay, Beckman &
//!   Conover 1979, Technometrics 21(2)) and paired by the Iman & Conover (1982)
//!   restricted-pairing method ("A distribution-free approach to inducing rank
//!   correlation among input variables", Communications in Statistics B 11(3)) to a
//!   target Spearman rank correlation ([`DEFAULT_RANK_CORRELATION`]): a crisis in
//!   markets tends to come with heavy redemptions. Each quantile's tercile is the
//!   severity (moderate / severe / extreme, a third each by construction, so every kind
//!   × severity cell is covered); its position inside the tercile places every
//!   parameter inside that severity's band. All bands are ordered and non-overlapping,
//!   so extreme ≥ severe ≥ moderate in every dimension.
//! - **Anchors.** The credit spread multiplier's severe band starts at the 2008
//!   widening of Moody's Baa − Aaa ([`BAA_AAA_2008_MULTIPLE`]), and the extreme
//!   recovery half-life ends at that episode's half-life ([`BAA_AAA_2008_HALF_LIFE_DAYS`]).
//!
//! The set is a stress design, not a forecast: each scenario weighs the same and
//! severities come in equal thirds.

use crate::anchors::MarketAnchors;
use crate::investors::{
    flow_percentiles, FlowDrivers, FundType, InputError, InvestorBase, RedemptionModel,
    BUSINESS_DAYS_PER_MONTH,
};
use crate::types::{AssetClass, MarketStress, Severity};
use serde::{Deserialize, Serialize};
use stresslab_analytics::rng::{SplitMix64, Xoshiro256};
use stresslab_analytics::stats::normal_quantile;

/// Mean Moody's Baa − Aaa yield spread over 2007 (monthly averages, percent): the
/// pre-crisis level. Computed from `events/inputs/moodys_aaa_baa_monthly_2006_2010.csv`
/// (Moody's via FRED) as the mean of the twelve 2007 values of BAA − AAA; the test
/// `baa_aaa_anchor_recomputed_from_data` recomputes it.
pub const BAA_AAA_2007_MEAN: f64 = 0.926_666_666_666_666_7;
/// Peak monthly Baa − Aaa spread in 2008 (December 2008, 8.43 − 5.05 = 3.38 percent).
pub const BAA_AAA_2008_PEAK: f64 = 3.38;
/// The 2008 credit spread widening, peak over the 2007 mean: 3.647×. Anchors the lower
/// edge of the severe band of the spread multiplier: a "severe" scenario widens credit
/// spreads at least as much as 2008 did. Using a yield-spread multiple for bid-ask
/// spreads is a proxy (an assumption): the illiquidity component of corporate bond
/// spreads rose with them in the crisis (Dick-Nielsen, Feldhütter & Lando 2012,
/// "Corporate bond liquidity before and after the onset of the subprime crisis",
/// JFE 103(3)), and monthly averages understate intramonth peaks, so the multiple is a
/// floor for the severe band rather than its centre.
pub const BAA_AAA_2008_MULTIPLE: f64 = BAA_AAA_2008_PEAK / BAA_AAA_2007_MEAN;
/// Months from the December 2008 peak until the spread's excess over its 2007 mean had
/// halved (June 2009: 1.89 ≤ 0.927 + (3.38 − 0.927)/2 = 2.153): 6 months, i.e. 126
/// business days. The slowest recovery half-life of the set (top of the extreme band).
pub const BAA_AAA_2008_HALF_LIFE_DAYS: f64 = 6.0 * BUSINESS_DAYS_PER_MONTH;

/// Three-month (63-business-day) S&P 500 price returns over 1990–2022
/// (`events/inputs/sp500_index_daily_1990_2022.csv`, Yahoo Finance via skfolio): the
/// 5th percentile, the 1st percentile (linear interpolation, as numpy) and the worst,
/// 2008-08-22 → 2008-11-20. The test `equity_drawdown_anchors_recomputed_from_data`
/// recomputes them. They anchor the market's price fall over a stress.
pub const SP500_3M_P5: f64 = -0.116_045_270_321_927_25;
pub const SP500_3M_P1: f64 = -0.201_176_453_486_931_36;
pub const SP500_3M_WORST: f64 = -0.417_706_237_424_547_27;

/// The equity market's price fall over a stress, by severity: moderate from the 5th to
/// the 1st percentile of three-month returns, severe from the 1st percentile halfway to
/// the worst, extreme from there to the worst three months on record (autumn 2008).
/// Other classes fall by their loading × [`class_price_beta`] of it.
pub const EQUITY_DRAWDOWN_BANDS: [[f64; 2]; 3] = [
    [SP500_3M_P5, SP500_3M_P1],
    [SP500_3M_P1, 0.5 * (SP500_3M_P1 + SP500_3M_WORST)],
    [0.5 * (SP500_3M_P1 + SP500_3M_WORST), SP500_3M_WORST],
];

/// How much of the public equity fall the marks of alternatives (private equity, real
/// estate, hedge-fund interests) take within the horizon. An assumption: appraisal-based
/// and lagged marks are smoothed (Getmansky, Lo & Makarov 2004, "An econometric model
/// of serial correlation and illiquidity in hedge fund returns", JFE 74(3)), so they
/// fall less and later than listed prices — which is what raises the illiquid share when
/// listed markets fall (the denominator effect).
pub const ALTERNATIVES_MARK_BETA: f64 = 0.3;

/// Target Spearman rank correlation between the market and redemption severity
/// quantiles. An assumption: strong but not perfect co-movement, because outflows
/// follow market stress (fund flows respond to returns and to peers' outflows — see
/// `investors::RedemptionModel`), yet idiosyncratic runs (a large holder's exit) and
/// market stress without runs (March 2020 for many equity funds) both happen.
pub const DEFAULT_RANK_CORRELATION: f64 = 0.7;

/// Each scenario's exogenous redemptions are spread over one month of business days,
/// the horizon of the monthly shocks they are calibrated on.
pub const REDEMPTION_SHOCK_DAYS: u32 = 21;

/// Lognormal day-to-day noise (σ of the log, mean one) on the exogenous redemption
/// requests: requests arrive in lumps rather than as a smooth curve. An assumption.
pub const REDEMPTION_DAILY_NOISE_SIGMA: f64 = 0.3;

/// In a flight to quality, safe havens (sovereigns, short sovereigns, cash
/// equivalents) gain depth and volume by this share of the stressed classes' loss:
/// depth_reduction = −0.25 × the scenario's depth reduction. An assumption (Beber,
/// Brandt & Kavajecz 2009, "Flight-to-quality or flight-to-liquidity? Evidence from
/// the euro-area bond market", RFS 22(3), document the shift of order flow into the
/// most liquid sovereign bonds in stress; the size is ours).
pub const FLIGHT_TO_QUALITY_GAIN: f64 = 0.25;

/// In a model-driven shock the peer group loses this share of the fund's loss, so the
/// fund also underperforms its peers (the stress falls hardest on the fund under test).
/// An assumption.
pub const PEER_RETURN_SHARE: f64 = 0.5;

/// Kind of market-liquidity stress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketStressKind {
    /// Every risky market dries up (2008 Q4).
    MarketWide,
    /// One asset class's market dries up; the rest barely move.
    AssetClassSpecific { class: AssetClass },
    /// Investors flee to sovereigns: sovereigns gain depth while credit, EM and small
    /// caps lose it.
    FlightToQuality,
    /// Dealers' and repo funding dries up (March 2020 "dash for cash"): dealer-
    /// intermediated markets — even sovereigns — lose depth; exchange-traded equities
    /// less so.
    FundingShock,
}

impl MarketStressKind {
    /// Index of the kind, ignoring the target class (for coverage tables).
    pub fn index(self) -> usize {
        match self {
            MarketStressKind::MarketWide => 0,
            MarketStressKind::AssetClassSpecific { .. } => 1,
            MarketStressKind::FlightToQuality => 2,
            MarketStressKind::FundingShock => 3,
        }
    }
}

/// Correlation regime of asset prices during the scenario: rises with market severity
/// (correlations rise in bear markets: Longin & Solnik 2001, "Extreme correlation of
/// international equity markets", JF 56(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationRegime {
    Normal,
    Stressed,
    Crisis,
}

impl CorrelationRegime {
    /// Average pairwise correlation of risky asset returns in the regime. Assumptions:
    /// ~0.3 is a typical calm-market average across asset classes, crises push it
    /// towards 0.8–0.9.
    pub fn average_correlation(self) -> f64 {
        match self {
            CorrelationRegime::Normal => 0.3,
            CorrelationRegime::Stressed => 0.6,
            CorrelationRegime::Crisis => 0.85,
        }
    }
}

/// Kind of redemption shock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionShockKind {
    /// The empirical percentile of monthly flows for the fund type (Bouveret 2017):
    /// moderate from the 5th towards the 1st percentile, severe from the 1st to 1.5×
    /// it, extreme from 1.5× to 2× it (beyond history, for reverse-stress reach).
    Empirical,
    /// The behavioural model of `investors::RedemptionModel` evaluated on the investor
    /// base under stressed drivers (losses, underperformance, volatility, peer
    /// outflows) of the severity.
    ModelDriven,
    /// The largest holders exit in full (1 moderate, 2–3 severe, 4–6 extreme) on their
    /// first dealing day after notice, over a background of 5th-percentile flows.
    ConcentratedExit,
}

impl RedemptionShockKind {
    pub const ALL: [RedemptionShockKind; 3] = [
        RedemptionShockKind::Empirical,
        RedemptionShockKind::ModelDriven,
        RedemptionShockKind::ConcentratedExit,
    ];
}

/// The market side of a scenario: its peak stress (on day 0) and how fast it fades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketShock {
    pub kind: MarketStressKind,
    pub severity: Severity,
    /// The severity quantile (0..1) the parameters were read from.
    pub quantile: f64,
    /// Stress of a fully exposed class on day 0.
    pub peak: MarketStress,
    pub correlation_regime: CorrelationRegime,
    /// Business days for the stress to halve.
    pub recovery_half_life_days: f64,
    /// Price return of the equity market over the horizon (negative), read from
    /// [`EQUITY_DRAWDOWN_BANDS`]; see [`class_return`].
    pub equity_drawdown: f64,
}

/// A full exit by one large holder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LargeExit {
    /// Index of the holder's group in the investor base.
    pub group: usize,
    /// Business day the redemption is dealt.
    pub day: u32,
    /// Share of day-0 NAV.
    pub fraction: f64,
}

/// The redemption side of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedemptionShock {
    pub kind: RedemptionShockKind,
    pub severity: Severity,
    /// The severity quantile (0..1) the parameters were read from.
    pub quantile: f64,
    /// Requests over the first [`REDEMPTION_SHOCK_DAYS`] days, share of day-0 NAV
    /// (before lumpy exits).
    pub first_month_fraction: f64,
    /// Half-life in business days of the front-loaded request profile (shorter = more
    /// of the month's requests in its first days).
    pub half_life_days: f64,
    /// Full exits by large holders, on their dealing days.
    pub exits: Vec<LargeExit>,
}

impl RedemptionShock {
    /// Share of day-0 NAV leaving through large holders' full exits.
    pub fn exit_fraction(&self) -> f64 {
        self.exits.iter().map(|e| e.fraction).sum()
    }
}

/// One combined scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSpec {
    pub id: u32,
    /// The run seed: with `id`, it seeds the scenario's day-to-day noise.
    pub seed: u64,
    pub market: MarketShock,
    pub redemption: RedemptionShock,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioConfig {
    pub n_scenarios: usize,
    pub seed: u64,
    /// Target Spearman correlation of the market and redemption severities, in (−1, 1).
    pub rank_correlation: f64,
    pub fund_type: FundType,
    /// The fund's illiquidity (share of NAV outside the highly-liquid bucket), 0..1: the
    /// model-driven shocks' first-mover amplification.
    pub fund_illiquidity: f64,
    /// The market anchors of the severity bands: the bundled ones, or a pinned scenario
    /// library's. (Absent in models written before libraries: the bundled ones.)
    #[serde(default)]
    pub anchors: MarketAnchors,
}

impl ScenarioConfig {
    /// `n` scenarios with the default rank correlation, for a mixed fund a third
    /// illiquid (the seed fund: 15% alternatives plus its less liquid credit and small
    /// caps).
    pub fn new(n_scenarios: usize, seed: u64) -> Self {
        Self {
            n_scenarios,
            seed,
            rank_correlation: DEFAULT_RANK_CORRELATION,
            fund_type: FundType::Mixed,
            fund_illiquidity: 0.3,
            anchors: MarketAnchors::BUNDLED,
        }
    }
}

/// The smallest set that covers every kind pair × severity: 12 strata × 3 terciles.
pub const MIN_SCENARIOS: usize = 36;

/// Asset classes an asset-class-specific stress rotates over (cash and its
/// equivalents never dry up on their own).
const CLASS_TARGETS: [AssetClass; 9] = [
    AssetClass::CreditHy,
    AssetClass::EquitySmall,
    AssetClass::EmDebt,
    AssetClass::EquityEm,
    AssetClass::CreditIg,
    AssetClass::Alternatives,
    AssetClass::EquityMid,
    AssetClass::Sovereign,
    AssetClass::EquityLarge,
];

// ---- Severity bands: [moderate, severe, extreme] × [low, high]. ----

/// Share of depth lost: 50–95% (issue 7), split 50–70 / 70–85 / 85–95. Assumption on
/// the cut points.
pub const DEPTH_REDUCTION_BANDS: [[f64; 2]; 3] = [[0.50, 0.70], [0.70, 0.85], [0.85, 0.95]];
/// Share of volume lost: 30–90% (issue 7), in equal thirds. Assumption on the cuts.
pub const VOLUME_REDUCTION_BANDS: [[f64; 2]; 3] = [[0.30, 0.50], [0.50, 0.70], [0.70, 0.90]];
/// Volatility multiplier. Assumption: the VIX went from ~15–20 before 2008 to a close
/// of 80.9 in November 2008 (≈ 4–5×), which sits in the extreme band.
pub const VOL_MULTIPLIER_BANDS: [[f64; 2]; 3] = [[1.5, 2.5], [2.5, 4.0], [4.0, 6.0]];
/// Top of the spread-multiplier range (issue 7: 2–20×).
pub const SPREAD_MULTIPLIER_MAX: f64 = 20.0;
/// Bottom of the spread-multiplier range.
pub const SPREAD_MULTIPLIER_MIN: f64 = 2.0;

/// Spread multiplier bands, geometric: moderate 2× up to the 2008 multiple, severe
/// from the 2008 multiple to the geometric midpoint between it and 20×, extreme from
/// there to 20×: [2, 3.65), [3.65, 8.54), [8.54, 20].
pub fn spread_multiplier_bands() -> [[f64; 2]; 3] {
    let a = BAA_AAA_2008_MULTIPLE;
    let mid = (a * SPREAD_MULTIPLIER_MAX).sqrt();
    [
        [SPREAD_MULTIPLIER_MIN, a],
        [a, mid],
        [mid, SPREAD_MULTIPLIER_MAX],
    ]
}

/// Recovery half-life of market stress, business days: a week or so after a moderate
/// shock (assumption) up to the 2008 credit-spread half-life for the extreme.
pub const RECOVERY_HALF_LIFE_BANDS: [[f64; 2]; 3] = [
    [5.0, 20.0],
    [20.0, 40.0],
    [40.0, BAA_AAA_2008_HALF_LIFE_DAYS],
];

/// Empirical shock as a multiple of the |1st percentile|: moderate runs from the 5th
/// percentile up to the 1st (its band is expressed in the generator), severe 1–1.5×,
/// extreme 1.5–2×. Assumption beyond the 1st percentile: ESMA's LST guidelines ask
/// for "extreme but plausible" shocks beyond the historical ones.
pub const EMPIRICAL_P1_MULTIPLES: [[f64; 2]; 2] = [[1.0, 1.5], [1.5, 2.0]];

/// Drivers of a model-driven shock by severity. Fund monthly return (assumption:
/// a balanced fund lost ~10–15% in its worst 2008 month; extreme goes beyond).
pub const MODEL_FUND_RETURN_BANDS: [[f64; 2]; 3] = [[-0.03, -0.08], [-0.08, -0.15], [-0.15, -0.25]];
/// Annualised fund volatility (assumption).
pub const MODEL_VOLATILITY_BANDS: [[f64; 2]; 3] = [[0.20, 0.30], [0.30, 0.45], [0.45, 0.70]];
/// Peer funds' monthly outflows: the empirical 5th-to-1st-percentile range of mixed
/// funds and beyond (assumption).
pub const MODEL_PEER_REDEMPTION_BANDS: [[f64; 2]; 3] = [[0.02, 0.05], [0.05, 0.10], [0.10, 0.15]];
/// Half-life of the redemption request profile, business days (shorter = a run).
/// Assumption.
pub const REDEMPTION_HALF_LIFE_BANDS: [[f64; 2]; 3] = [[10.0, 7.0], [7.0, 4.0], [4.0, 2.0]];
/// Number of largest holders exiting in a concentrated-exit shock.
pub const EXIT_COUNT_BANDS: [[u32; 2]; 3] = [[1, 1], [2, 3], [4, 6]];

fn severity_of(u: f64) -> (Severity, f64) {
    let third = 1.0 / 3.0;
    if u < third {
        (Severity::Moderate, u / third)
    } else if u < 2.0 * third {
        (Severity::Severe, (u - third) / third)
    } else {
        (Severity::Extreme, ((u - 2.0 * third) / third).min(1.0))
    }
}

fn lerp(band: [f64; 2], t: f64) -> f64 {
    band[0] + (band[1] - band[0]) * t
}

fn geo_lerp(band: [f64; 2], t: f64) -> f64 {
    band[0] * (band[1] / band[0]).powf(t)
}

fn correlation_regime(s: Severity) -> CorrelationRegime {
    match s {
        Severity::Moderate => CorrelationRegime::Normal,
        Severity::Severe => CorrelationRegime::Stressed,
        Severity::Extreme => CorrelationRegime::Crisis,
    }
}

/// The market side read from its quantile: every dimension increases with `u`. The
/// spread, recovery and equity bands come from `anchors`.
pub fn market_shock(kind: MarketStressKind, u: f64, anchors: &MarketAnchors) -> MarketShock {
    let (severity, t) = severity_of(u);
    let s = severity as usize;
    MarketShock {
        kind,
        severity,
        quantile: u,
        peak: MarketStress {
            depth_reduction: lerp(DEPTH_REDUCTION_BANDS[s], t),
            spread_multiplier: geo_lerp(anchors.spread_multiplier_bands()[s], t),
            volume_reduction: lerp(VOLUME_REDUCTION_BANDS[s], t),
            vol_multiplier: lerp(VOL_MULTIPLIER_BANDS[s], t),
        },
        correlation_regime: correlation_regime(severity),
        recovery_half_life_days: lerp(anchors.recovery_half_life_bands()[s], t),
        equity_drawdown: lerp(anchors.equity_drawdown_bands()[s], t),
    }
}

/// The redemption side read from its quantile: requests, front-loading and exits all
/// increase (weakly) with `u`.
pub fn redemption_shock(
    kind: RedemptionShockKind,
    u: f64,
    config: &ScenarioConfig,
    base: &InvestorBase,
    model: &RedemptionModel,
) -> Result<RedemptionShock, InputError> {
    let (severity, t) = severity_of(u);
    let s = severity as usize;
    let p = flow_percentiles(config.fund_type);
    let (p5, p1) = (-p.p5_monthly, -p.p1_monthly);
    let empirical = |severity: Severity, t: f64| match severity {
        Severity::Moderate => lerp([p5, p1], t),
        Severity::Severe => p1 * lerp(EMPIRICAL_P1_MULTIPLES[0], t),
        Severity::Extreme => p1 * lerp(EMPIRICAL_P1_MULTIPLES[1], t),
    };
    let mut exits = Vec::new();
    let first_month_fraction = match kind {
        RedemptionShockKind::Empirical => empirical(severity, t),
        RedemptionShockKind::ModelDriven => {
            let fund_return = lerp(MODEL_FUND_RETURN_BANDS[s], t);
            let drivers = FlowDrivers {
                fund_return,
                peer_return: PEER_RETURN_SHARE * fund_return,
                volatility: lerp(MODEL_VOLATILITY_BANDS[s], t),
                peer_redemptions: lerp(MODEL_PEER_REDEMPTION_BANDS[s], t),
                illiquidity: config.fund_illiquidity,
            };
            model.fund_expected_monthly(base, &drivers)?
        }
        RedemptionShockKind::ConcentratedExit => {
            let [lo, hi] = EXIT_COUNT_BANDS[s];
            let k = (lo + ((t * f64::from(hi - lo + 1)) as u32).min(hi - lo)) as usize;
            for h in base.top10().iter().take(k) {
                exits.push(LargeExit {
                    group: h.group,
                    day: base.groups()[h.group].first_dealing_day(),
                    fraction: h.share,
                });
            }
            p5
        }
    };
    Ok(RedemptionShock {
        kind,
        severity,
        quantile: u,
        first_month_fraction,
        half_life_days: lerp(REDEMPTION_HALF_LIFE_BANDS[s], t),
        exits,
    })
}

/// Latin hypercube sample of `n` points on (0, 1), sorted: one uniform draw inside
/// each of the `n` equal strata.
fn lhs_sorted(n: usize, rng: &mut Xoshiro256) -> Vec<f64> {
    (0..n)
        .map(|i| (i as f64 + rng.uniform()) / n as f64)
        .collect()
}

fn shuffle<T>(v: &mut [T], rng: &mut Xoshiro256) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Pearson correlation of normal scores that gives Spearman's `rho_s` for a
/// bivariate normal: ρ = 2 sin(π ρ_s / 6) (Pearson 1907; Kruskal 1958, JASA 53(284)).
pub fn pearson_for_spearman(rho_s: f64) -> f64 {
    2.0 * (std::f64::consts::PI * rho_s / 6.0).sin()
}

/// Iman–Conover pairing of two variables: returns, for each row `i` of the first
/// variable in ascending order, the rank its partner takes in the second.
///
/// Iman & Conover (1982): take van der Waerden scores `a_i = Φ⁻¹(i/(n+1))` for the
/// first column and a random permutation `b` of them for the second, with sample
/// correlation `t`; transform `R* = R (Q⁻¹)ᵀ Pᵀ` with `Q`, `P` the Cholesky factors of
/// the score correlation and of the target, which in two dimensions is
/// `b* = ρ a + √(1−ρ²) (b − t a)/√(1−t²)`; the scores `(a, b*)` then have correlation
/// exactly `ρ`, and the second variable is re-ordered to the ranks of `b*`.
pub fn iman_conover_ranks(n: usize, pearson_target: f64, rng: &mut Xoshiro256) -> Vec<usize> {
    let a: Vec<f64> = (1..=n)
        .map(|i| normal_quantile(i as f64 / (n as f64 + 1.0)))
        .collect();
    let mut b = a.clone();
    shuffle(&mut b, rng);
    let t = pearson(&a, &b);
    let b_star: Vec<f64> = if t.is_finite() && t.abs() < 1.0 {
        let k = (1.0 - pearson_target * pearson_target).sqrt() / (1.0 - t * t).sqrt();
        a.iter()
            .zip(&b)
            .map(|(&ai, &bi)| pearson_target * ai + k * (bi - t * ai))
            .collect()
    } else {
        b
    };
    ranks(&b_star)
}

pub use stresslab_analytics::stats::pearson;

/// 0-based ranks (ties broken by position; the inputs here are continuous).
fn ranks(x: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]).then(i.cmp(&j)));
    let mut r = vec![0; x.len()];
    for (rank, &i) in order.iter().enumerate() {
        r[i] = rank;
    }
    r
}

/// Spearman rank correlation: Pearson correlation of the ranks (average ranks for
/// ties; Spearman 1904).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// A seed for one stream derived from the run seed and up to two indices, by
/// SplitMix64 mixing (Steele, Lea & Flood 2014), so streams do not overlap in practice.
fn stream_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut sm = SplitMix64(seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let x = sm.next_u64();
    let mut sm = SplitMix64(x ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03));
    sm.next_u64()
}

/// The combined scenario set: `config.n_scenarios` scenarios (at least
/// [`MIN_SCENARIOS`]) over the 12 kind strata, severities correlated by Iman–Conover,
/// ids 0..n interleaved across strata. Same config and base → same set.
pub fn generate_scenarios(
    config: &ScenarioConfig,
    base: &InvestorBase,
    model: &RedemptionModel,
) -> Result<Vec<ScenarioSpec>, InputError> {
    if config.n_scenarios < MIN_SCENARIOS {
        return Err(InputError::new(
            "n_scenarios",
            format!(
                "at least {MIN_SCENARIOS} are needed to cover every kind × severity, got {}",
                config.n_scenarios
            ),
        ));
    }
    if !(config.rank_correlation.is_finite() && config.rank_correlation.abs() < 1.0) {
        return Err(InputError::new(
            "rank_correlation",
            format!("must be in (-1, 1), got {}", config.rank_correlation),
        ));
    }
    if !(0.0..=1.0).contains(&config.fund_illiquidity) {
        return Err(InputError::new(
            "fund_illiquidity",
            format!("must be in [0, 1], got {}", config.fund_illiquidity),
        ));
    }
    let target = pearson_for_spearman(config.rank_correlation);
    let strata = 4 * RedemptionShockKind::ALL.len();
    let mut per_stratum: Vec<Vec<(MarketShock, RedemptionShock)>> = Vec::with_capacity(strata);
    for stratum in 0..strata {
        let n = config.n_scenarios / strata + usize::from(stratum < config.n_scenarios % strata);
        let mut rng = Xoshiro256::seed_from_u64(stream_seed(config.seed, stratum as u64, 0));
        let um = lhs_sorted(n, &mut rng);
        let ur = lhs_sorted(n, &mut rng);
        let partner = iman_conover_ranks(n, target, &mut rng);
        let mut rows: Vec<(usize, usize)> = (0..n).map(|i| (i, partner[i])).collect();
        // Shuffle so ids do not run from mild to harsh inside a stratum.
        shuffle(&mut rows, &mut rng);
        let red_kind = RedemptionShockKind::ALL[stratum % 3];
        let mut cell = Vec::with_capacity(n);
        for (j, &(i, r)) in rows.iter().enumerate() {
            let kind = match stratum / 3 {
                0 => MarketStressKind::MarketWide,
                1 => MarketStressKind::AssetClassSpecific {
                    class: CLASS_TARGETS[j % CLASS_TARGETS.len()],
                },
                2 => MarketStressKind::FlightToQuality,
                _ => MarketStressKind::FundingShock,
            };
            cell.push((
                market_shock(kind, um[i], &config.anchors),
                redemption_shock(red_kind, ur[r], config, base, model)?,
            ));
        }
        per_stratum.push(cell);
    }
    // Interleave the strata so any contiguous id range mixes the kinds.
    let mut out = Vec::with_capacity(config.n_scenarios);
    let longest = per_stratum.iter().map(Vec::len).max().unwrap_or(0);
    let mut iters: Vec<_> = per_stratum.into_iter().map(Vec::into_iter).collect();
    for _ in 0..longest {
        for it in &mut iters {
            if let Some((market, redemption)) = it.next() {
                out.push(ScenarioSpec {
                    id: out.len() as u32,
                    seed: config.seed,
                    market,
                    redemption,
                });
            }
        }
    }
    Ok(out)
}

/// Share of the scenario's stress a class bears, or, as a negative number, the share
/// of it a safe haven gains (flight to quality). Cash never moves. Assumptions, by the
/// mechanism of each kind:
/// - market-wide: every risky class fully, investment-grade and large caps slightly
///   less, sovereigns a little (they stay the deepest markets);
/// - asset-class specific: the target fully, 10% spill-over elsewhere;
/// - flight to quality: credit, EM and small caps fully, other equities and
///   alternatives partly, safe havens gain [`FLIGHT_TO_QUALITY_GAIN`];
/// - funding shock: dealer-intermediated bond markets fully (sovereigns included,
///   as in March 2020), exchange-traded equities partly.
pub fn class_loading(kind: MarketStressKind, class: AssetClass) -> f64 {
    use AssetClass as C;
    if class == C::Cash {
        return 0.0;
    }
    match kind {
        MarketStressKind::MarketWide => match class {
            C::CashEquivalent => 0.1,
            C::ShortSovereign => 0.2,
            C::Sovereign => 0.3,
            C::EquityLarge | C::CreditIg => 0.8,
            _ => 1.0,
        },
        MarketStressKind::AssetClassSpecific { class: target } => {
            if class == target {
                1.0
            } else if class == C::CashEquivalent {
                0.0
            } else {
                0.1
            }
        }
        MarketStressKind::FlightToQuality => match class {
            C::CashEquivalent | C::ShortSovereign | C::Sovereign => -FLIGHT_TO_QUALITY_GAIN,
            C::EquityLarge => 0.5,
            C::EquityMid | C::Alternatives => 0.7,
            _ => 1.0,
        },
        MarketStressKind::FundingShock => match class {
            C::CashEquivalent => 0.3,
            C::ShortSovereign => 0.5,
            C::Sovereign => 0.8,
            C::EquityLarge => 0.3,
            C::EquityMid => 0.4,
            C::EquitySmall | C::EquityEm => 0.6,
            _ => 1.0,
        },
    }
}

/// The scenario's market stress on business day `day` for a fully exposed class: the
/// peak on day 0, fading geometrically with the recovery half-life,
/// `x(d) = x_peak · 2^(−d/h)` for the reductions and `1 + (m_peak − 1)·2^(−d/h)` for
/// the multipliers.
pub fn market_path(spec: &ScenarioSpec, day: u32) -> MarketStress {
    let m = &spec.market;
    let decay = (-f64::from(day) / m.recovery_half_life_days).exp2();
    MarketStress {
        depth_reduction: m.peak.depth_reduction * decay,
        spread_multiplier: 1.0 + (m.peak.spread_multiplier - 1.0) * decay,
        volume_reduction: m.peak.volume_reduction * decay,
        vol_multiplier: 1.0 + (m.peak.vol_multiplier - 1.0) * decay,
    }
}

/// The market stress of one asset class on `day`: [`market_path`] scaled by the
/// class's loading ([`class_loading`]). A safe haven in a flight to quality gets a
/// *negative* depth and volume reduction (more depth and volume than normal) and its
/// normal spread and volatility.
pub fn market_path_for_class(spec: &ScenarioSpec, class: AssetClass, day: u32) -> MarketStress {
    let s = market_path(spec, day);
    let l = class_loading(spec.market.kind, class);
    if l >= 0.0 {
        MarketStress {
            depth_reduction: s.depth_reduction * l,
            spread_multiplier: 1.0 + (s.spread_multiplier - 1.0) * l,
            volume_reduction: s.volume_reduction * l,
            vol_multiplier: 1.0 + (s.vol_multiplier - 1.0) * l,
        }
    } else {
        MarketStress {
            depth_reduction: s.depth_reduction * l,
            spread_multiplier: 1.0,
            volume_reduction: s.volume_reduction * l,
            vol_multiplier: 1.0,
        }
    }
}

/// A class's price move per unit of the equity market's: its volatility relative to
/// large-cap equities (class defaults), or [`ALTERNATIVES_MARK_BETA`] for appraisal-
/// marked alternatives. Cash and cash equivalents: 0.
pub fn class_price_beta(class: AssetClass) -> f64 {
    if class == AssetClass::Alternatives {
        return ALTERNATIVES_MARK_BETA;
    }
    let equity = crate::profile::class_defaults(AssetClass::EquityLarge).daily_vol;
    crate::profile::class_defaults(class).daily_vol / equity
}

/// The class's price return over the whole horizon: `(1 + D)^(ℓ·β) − 1`, with `D` the
/// scenario's equity fall, ℓ the class loading of the kind ([`class_loading`]; a
/// negative one — a safe haven in a flight to quality — turns the fall into a gain) and
/// β [`class_price_beta`]. Log returns scale, so a class never falls below −100%.
pub fn class_horizon_return(spec: &ScenarioSpec, class: AssetClass) -> f64 {
    let exposure = class_loading(spec.market.kind, class) * class_price_beta(class);
    ((1.0 + spec.market.equity_drawdown).ln() * exposure).exp_m1()
}

/// The class's price return on business day `day` of a `horizon`-day run: the log of
/// [`class_horizon_return`] spread over the days with the stress's own front-loaded
/// profile, weight `q^d (1 − q)/(1 − q^H)`, `q = 2^(−1/h)`, h the recovery half-life —
/// prices fall fastest while liquidity is worst, and compound to the horizon return.
pub fn class_return(spec: &ScenarioSpec, class: AssetClass, day: u32, horizon: u32) -> f64 {
    if day >= horizon {
        return 0.0;
    }
    let q = (-1.0 / spec.market.recovery_half_life_days).exp2();
    let w = q.powi(day as i32) * (1.0 - q) / (1.0 - q.powi(horizon as i32));
    let total_log = (1.0 + class_horizon_return(spec, class)).ln();
    (w * total_log).exp_m1()
}

/// Weight of day `d` in the front-loaded month profile: `q^d / Σ_{j<D} q^j` with
/// `q = 2^(−1/h)`, D = [`REDEMPTION_SHOCK_DAYS`] (the weights sum to one).
fn profile_weight(half_life: f64, day: u32) -> f64 {
    if day >= REDEMPTION_SHOCK_DAYS {
        return 0.0;
    }
    let q = (-1.0 / half_life).exp2();
    let total = (1.0 - q.powi(REDEMPTION_SHOCK_DAYS as i32)) / (1.0 - q);
    q.powi(day as i32) / total
}

/// Redemptions requested on business day `day` by the scenario itself, as a share of
/// day-0 NAV (the cascade adds the model's feedback redemptions on top): the month's
/// requests along the front-loaded profile, times mean-one lognormal noise seeded by
/// (seed, id, day), plus any large holder's full exit dealt that day. Deterministic,
/// allocation-free, O(exits).
pub fn exogenous_redemptions(spec: &ScenarioSpec, day: u32) -> f64 {
    let r = &spec.redemption;
    let mut x = 0.0;
    let w = profile_weight(r.half_life_days, day);
    if w > 0.0 {
        let mut rng = Xoshiro256::seed_from_u64(stream_seed(
            spec.seed,
            u64::from(spec.id),
            u64::from(day) + 1,
        ));
        let z = normal_quantile(rng.uniform());
        let sigma = REDEMPTION_DAILY_NOISE_SIGMA;
        x += r.first_month_fraction * w * (sigma * z - 0.5 * sigma * sigma).exp();
    }
    for e in &r.exits {
        if e.day == day {
            x += e.fraction;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::investors::{InvestorGroup, InvestorType, RedemptionFrequency};

    /// The seed fund's register: ten large holders with 45% of AUM, the rest retail and
    /// wealth-manager pools (illustrative).
    fn seed_base() -> InvestorBase {
        let g = |id: &str, ty, share, holders, notice, frequency| InvestorGroup {
            id: String::from(id),
            investor_type: ty,
            aum_share: share,
            holders,
            horizon_years: 5.0,
            notice_days: notice,
            frequency,
        };
        use InvestorType as T;
        use RedemptionFrequency as F;
        InvestorBase::new(vec![
            g("swf", T::Sovereign, 0.08, 1, 30, F::Monthly),
            g("pension-1", T::Pension, 0.07, 1, 30, F::Monthly),
            g("pension-2", T::Pension, 0.06, 1, 10, F::Weekly),
            g("insurer-1", T::Insurer, 0.05, 1, 5, F::Weekly),
            g("fof-1", T::FundOfFunds, 0.04, 1, 0, F::Daily),
            g("pb-1", T::WealthManager, 0.04, 1, 0, F::Daily),
            g("endowment", T::Endowment, 0.03, 1, 60, F::Quarterly),
            g("insurer-2", T::Insurer, 0.03, 1, 5, F::Weekly),
            g("fof-2", T::FundOfFunds, 0.03, 1, 0, F::Daily),
            g("pb-2", T::WealthManager, 0.02, 1, 0, F::Daily),
            g("wm-pool", T::WealthManager, 0.15, 300, 0, F::Daily),
            g("retail", T::Retail, 0.40, 50_000, 0, F::Daily),
        ])
        .unwrap()
    }

    fn set(seed: u64) -> Vec<ScenarioSpec> {
        generate_scenarios(
            &ScenarioConfig::new(1_200, seed),
            &seed_base(),
            &RedemptionModel::default(),
        )
        .unwrap()
    }

    /// Date,AAA,BAA rows → (year, Baa − Aaa).
    #[test]
    fn equity_drawdown_anchors_recomputed_from_data() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../events/inputs/sp500_index_daily_1990_2022.csv"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let rows: Vec<(&str, f64)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let (d, p) = l.split_once(',').unwrap();
                (d, p.trim().parse().unwrap())
            })
            .collect();
        let mut r: Vec<f64> = (0..rows.len() - 63)
            .map(|i| rows[i + 63].1 / rows[i].1 - 1.0)
            .collect();
        let worst_at = (0..r.len()).min_by(|a, b| r[*a].total_cmp(&r[*b])).unwrap();
        assert_eq!(
            (rows[worst_at].0, rows[worst_at + 63].0),
            ("2008-08-22", "2008-11-20")
        );
        r.sort_by(f64::total_cmp);
        use stresslab_analytics::stats::quantile;
        assert_eq!(quantile(&r, 0.05), SP500_3M_P5);
        assert_eq!(quantile(&r, 0.01), SP500_3M_P1);
        assert_eq!(r[0], SP500_3M_WORST);
        // Bands ordered and contiguous, extreme reaching the worst on record.
        for band in EQUITY_DRAWDOWN_BANDS {
            assert!(band[1] < band[0]);
        }
        assert_eq!(EQUITY_DRAWDOWN_BANDS[0][1], EQUITY_DRAWDOWN_BANDS[1][0]);
        assert_eq!(EQUITY_DRAWDOWN_BANDS[2][1], SP500_3M_WORST);
    }

    #[test]
    fn daily_class_returns_compound_to_the_horizon_return() {
        let base = seed_base();
        let set = generate_scenarios(
            &ScenarioConfig::new(72, 3),
            &base,
            &RedemptionModel::default(),
        )
        .unwrap();
        for spec in set.iter().take(24) {
            for class in [
                AssetClass::EquityLarge,
                AssetClass::CreditHy,
                AssetClass::Sovereign,
                AssetClass::Alternatives,
                AssetClass::Cash,
            ] {
                let total = class_horizon_return(spec, class);
                let compounded =
                    (0..90).fold(1.0, |g, d| g * (1.0 + class_return(spec, class, d, 90))) - 1.0;
                assert!(
                    (compounded - total).abs() < 1e-12,
                    "{total} vs {compounded}"
                );
                // Front-loaded: day 0 moves at least as much as day 30.
                assert!(
                    class_return(spec, class, 0, 90).abs()
                        >= class_return(spec, class, 30, 90).abs()
                );
            }
            // Large caps in a market-wide stress fall by loading × beta of the market.
            if spec.market.kind == MarketStressKind::MarketWide {
                let expected = (1.0 + spec.market.equity_drawdown).powf(0.8) - 1.0;
                assert!(
                    (class_horizon_return(spec, AssetClass::EquityLarge) - expected).abs() < 1e-12
                );
            }
            // Safe havens gain in a flight to quality; cash never moves.
            if spec.market.kind == MarketStressKind::FlightToQuality {
                assert!(class_horizon_return(spec, AssetClass::Sovereign) > 0.0);
            }
            assert_eq!(class_horizon_return(spec, AssetClass::Cash), 0.0);
        }
    }

    fn moodys_spreads() -> Vec<(u32, f64)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../events/inputs/moodys_aaa_baa_monthly_2006_2010.csv"
        );
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                let year: u32 = f[0].rsplit('/').next().unwrap().parse().unwrap();
                let aaa: f64 = f[1].parse().unwrap();
                let baa: f64 = f[2].parse().unwrap();
                (year, baa - aaa)
            })
            .collect()
    }

    #[test]
    fn baa_aaa_anchor_recomputed_from_data() {
        let s = moodys_spreads();
        assert_eq!(s.len(), 60, "2006-01 … 2010-12");
        let y2007: Vec<f64> = s.iter().filter(|r| r.0 == 2007).map(|r| r.1).collect();
        assert_eq!(y2007.len(), 12);
        let mean = y2007.iter().sum::<f64>() / 12.0;
        assert!((mean - BAA_AAA_2007_MEAN).abs() < 1e-12, "{mean}");
        let (peak_at, peak) = s
            .iter()
            .enumerate()
            .filter(|(_, r)| r.0 == 2008)
            .map(|(i, r)| (i, r.1))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!((peak - BAA_AAA_2008_PEAK).abs() < 1e-12, "{peak}");
        assert_eq!(peak_at, 35, "December 2008");
        // 3.38 / 0.92667 = 3.6474820143884887 (Python on the same file).
        assert!((BAA_AAA_2008_MULTIPLE - 3.647_482_014_388_488_7).abs() < 1e-12);
        // Months until the excess over the 2007 mean has halved.
        let half = mean + (peak - mean) / 2.0;
        let months = s[peak_at..].iter().position(|r| r.1 <= half).unwrap();
        assert_eq!(months, 6, "June 2009");
        assert_eq!(
            BAA_AAA_2008_HALF_LIFE_DAYS,
            months as f64 * BUSINESS_DAYS_PER_MONTH
        );
        // The anchor is the severe band's lower edge.
        assert_eq!(spread_multiplier_bands()[1][0], BAA_AAA_2008_MULTIPLE);
    }

    #[test]
    fn same_seed_same_set_and_another_seed_another() {
        let a = set(42);
        assert_eq!(a, set(42));
        assert_ne!(a, set(43));
        assert_eq!(a.len(), 1_200);
        for (i, s) in a.iter().enumerate() {
            assert_eq!(s.id as usize, i);
        }
        // And it round-trips through JSON.
        let json = serde_json::to_string(&a[..5]).unwrap();
        let back: Vec<ScenarioSpec> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a[..5]);
    }

    #[test]
    fn every_kind_meets_every_severity() {
        let a = set(7);
        let mut market = [[0usize; 3]; 4];
        let mut redemption = [[0usize; 3]; 3];
        let mut pairs = [[0usize; 3]; 12];
        for s in &a {
            market[s.market.kind.index()][s.market.severity as usize] += 1;
            let r = s.redemption.kind as usize;
            redemption[r][s.redemption.severity as usize] += 1;
            pairs[s.market.kind.index() * 3 + r][s.market.severity as usize] += 1;
        }
        // 100 scenarios per stratum, LHS puts 33–34 in each tercile.
        for row in pairs {
            for c in row {
                assert!((33..=34).contains(&c), "{c}");
            }
        }
        for row in market.iter().chain(&redemption) {
            for &c in row {
                assert!(c >= 99, "{c}");
            }
        }
        // Asset-class specific stresses reach every target class.
        for class in CLASS_TARGETS {
            assert!(a
                .iter()
                .any(|s| s.market.kind == MarketStressKind::AssetClassSpecific { class }));
        }
    }

    #[test]
    fn realised_rank_correlation_is_close_to_the_target() {
        for seed in [1, 2, 3] {
            let a = set(seed);
            let um: Vec<f64> = a.iter().map(|s| s.market.quantile).collect();
            let ur: Vec<f64> = a.iter().map(|s| s.redemption.quantile).collect();
            let rho = spearman(&um, &ur);
            assert!(
                (rho - DEFAULT_RANK_CORRELATION).abs() < 0.03,
                "seed {seed}: {rho}"
            );
            // The market parameters are increasing in the quantile, so they inherit it.
            let depth: Vec<f64> = a.iter().map(|s| s.market.peak.depth_reduction).collect();
            assert!((spearman(&depth, &ur) - rho).abs() < 1e-12);
        }
        // Other targets, including a negative one, straight from the pairing.
        for target in [-0.5, 0.0, 0.3, 0.9] {
            let mut rng = Xoshiro256::seed_from_u64(9);
            let n = 2_000;
            let partner = iman_conover_ranks(n, pearson_for_spearman(target), &mut rng);
            let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let y: Vec<f64> = partner.iter().map(|&r| r as f64).collect();
            let rho = spearman(&x, &y);
            assert!((rho - target).abs() < 0.03, "target {target}: {rho}");
        }
    }

    #[test]
    fn spearman_and_the_normal_score_target_match_scipy() {
        // scipy.stats.spearmanr on these vectors (ties in both) = 0.7901836773196717.
        let x = [3.1, 1.2, 1.2, 5.0, 4.4, 2.2, 2.2, 2.2, 9.0, 0.5];
        let y = [2.0, 1.0, 3.0, 6.0, 5.5, 2.5, 1.5, 2.5, 7.0, 0.1];
        assert!((spearman(&x, &y) - 0.790_183_677_319_671_7).abs() < 1e-12);
        // 2·sin(0.7π/6) = 0.7167358990906005 (Python math).
        assert!((pearson_for_spearman(0.7) - 0.716_735_899_090_600_5).abs() < 1e-15);
    }

    #[test]
    fn severities_are_ordered_in_every_dimension() {
        let a = set(3);
        type Get = fn(&ScenarioSpec) -> f64;
        let market: [(&str, Get); 6] = [
            ("depth", |s| s.market.peak.depth_reduction),
            ("spread", |s| s.market.peak.spread_multiplier),
            ("volume", |s| s.market.peak.volume_reduction),
            ("vol", |s| s.market.peak.vol_multiplier),
            ("half-life", |s| s.market.recovery_half_life_days),
            ("correlation", |s| {
                s.market.correlation_regime.average_correlation()
            }),
        ];
        let range = |f: Get, sev: Severity, pick: &dyn Fn(&ScenarioSpec) -> Option<Severity>| {
            let v: Vec<f64> = a.iter().filter(|s| pick(s) == Some(sev)).map(f).collect();
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        };
        let sevs = [Severity::Moderate, Severity::Severe, Severity::Extreme];
        for (name, f) in market {
            let pick = |s: &ScenarioSpec| Some(s.market.severity);
            for w in sevs.windows(2) {
                let (_, hi) = range(f, w[0], &pick);
                let (lo, _) = range(f, w[1], &pick);
                assert!(
                    lo >= hi,
                    "{name}: {:?} max {hi} > {:?} min {lo}",
                    w[0],
                    w[1]
                );
            }
        }
        let redemption: [(&str, Get); 3] = [
            ("requests", |s| s.redemption.first_month_fraction),
            ("exits", |s| s.redemption.exit_fraction()),
            ("front-loading", |s| 1.0 / s.redemption.half_life_days),
        ];
        for kind in RedemptionShockKind::ALL {
            for (name, f) in redemption {
                let pick =
                    |s: &ScenarioSpec| (s.redemption.kind == kind).then_some(s.redemption.severity);
                for w in sevs.windows(2) {
                    let (_, hi) = range(f, w[0], &pick);
                    let (lo, _) = range(f, w[1], &pick);
                    assert!(lo >= hi, "{kind:?} {name}: {hi} > {lo}");
                }
            }
        }
        // The set spans the ranges and no more.
        for s in &a {
            let p = s.market.peak;
            assert!((0.50..=0.95).contains(&p.depth_reduction));
            assert!((2.0..=20.0).contains(&p.spread_multiplier));
            assert!((0.30..=0.90).contains(&p.volume_reduction));
        }
    }

    #[test]
    fn redemption_shocks_read_their_sources() {
        let base = seed_base();
        let model = RedemptionModel::default();
        let config = ScenarioConfig::new(1_200, 1);
        // Empirical, at the edges of the bands: mixed funds p5 = 5%, p1 = 10%.
        let at = |kind, u| redemption_shock(kind, u, &config, &base, &model).unwrap();
        assert!(
            (at(RedemptionShockKind::Empirical, 0.0).first_month_fraction - 0.05).abs() < 1e-15
        );
        assert!(
            (at(RedemptionShockKind::Empirical, 1.0 / 3.0).first_month_fraction - 0.10).abs()
                < 1e-12
        );
        assert!(
            (at(RedemptionShockKind::Empirical, 1.0).first_month_fraction - 0.20).abs() < 1e-12
        );
        // Model-driven at the bottom of the severe band equals the model itself.
        let m = at(RedemptionShockKind::ModelDriven, 1.0 / 3.0);
        let d = FlowDrivers {
            fund_return: -0.08,
            peer_return: -0.04,
            volatility: 0.30,
            peer_redemptions: 0.05,
            illiquidity: 0.3,
        };
        let want = model.fund_expected_monthly(&base, &d).unwrap();
        assert!((m.first_month_fraction - want).abs() < 1e-12);
        // Concentrated exits: the largest holders in order, on their dealing days.
        let c = at(RedemptionShockKind::ConcentratedExit, 0.99);
        assert_eq!(c.severity, Severity::Extreme);
        assert_eq!(c.exits.len(), 6);
        let shares: Vec<f64> = c.exits.iter().map(|e| e.fraction).collect();
        assert_eq!(shares, vec![0.08, 0.07, 0.06, 0.05, 0.04, 0.04]);
        // The sovereign: 30 days' notice, monthly dealing → day 42.
        assert_eq!(c.exits[0].day, 42);
        assert_eq!(c.exits[2].day, 10);
        assert_eq!(c.exits[4].day, 0);
        assert_eq!(
            at(RedemptionShockKind::ConcentratedExit, 0.1).exits.len(),
            1
        );
    }

    #[test]
    fn market_path_peaks_on_day_zero_and_halves_each_half_life() {
        let a = set(5);
        let s = &a[0];
        let h = s.market.recovery_half_life_days;
        assert_eq!(market_path(s, 0), s.market.peak);
        // On any day d the excess stress is the peak's times 2^(−d/h).
        for d in [1u32, 7, 30, 89] {
            let m = market_path(s, d);
            let f = (-f64::from(d) / h).exp2();
            assert!((m.depth_reduction - s.market.peak.depth_reduction * f).abs() < 1e-15);
            assert!(
                (m.spread_multiplier - 1.0 - (s.market.peak.spread_multiplier - 1.0) * f).abs()
                    < 1e-12
            );
        }
        let mut last = market_path(s, 0);
        for d in 1..90 {
            let m = market_path(s, d);
            assert!(m.depth_reduction < last.depth_reduction);
            assert!(m.spread_multiplier < last.spread_multiplier);
            last = m;
        }
        // Far out, the market is back to normal.
        let late = market_path(s, 100_000);
        assert!(late.depth_reduction < 1e-12 && (late.spread_multiplier - 1.0).abs() < 1e-12);
    }

    #[test]
    fn class_stress_follows_the_kind() {
        let a = set(5);
        let ftq = a
            .iter()
            .find(|s| s.market.kind == MarketStressKind::FlightToQuality)
            .unwrap();
        let gov = market_path_for_class(ftq, AssetClass::Sovereign, 0);
        let hy = market_path_for_class(ftq, AssetClass::CreditHy, 0);
        assert!(gov.depth_reduction < 0.0 && gov.volume_reduction < 0.0);
        assert_eq!(gov.spread_multiplier, 1.0);
        assert_eq!(hy, ftq.market.peak);
        for s in &a {
            assert_eq!(
                market_path_for_class(s, AssetClass::Cash, 0),
                MarketStress::NONE
            );
            if let MarketStressKind::AssetClassSpecific { class } = s.market.kind {
                assert_eq!(market_path_for_class(s, class, 3), market_path(s, 3));
            }
        }
        let fund = a
            .iter()
            .find(|s| s.market.kind == MarketStressKind::FundingShock)
            .unwrap();
        // Dealer-intermediated sovereigns suffer more than exchange-traded large caps.
        assert!(
            market_path_for_class(fund, AssetClass::Sovereign, 0).depth_reduction
                > market_path_for_class(fund, AssetClass::EquityLarge, 0).depth_reduction
        );
    }

    #[test]
    fn exogenous_redemptions_deliver_the_month_and_the_exits() {
        let a = set(8);
        let mut ratio_sum = 0.0;
        let mut n = 0;
        for s in &a {
            let month: f64 = (0..REDEMPTION_SHOCK_DAYS)
                .map(|d| exogenous_redemptions(s, d))
                .sum::<f64>()
                - s.redemption
                    .exits
                    .iter()
                    .filter(|e| e.day < REDEMPTION_SHOCK_DAYS)
                    .map(|e| e.fraction)
                    .sum::<f64>();
            ratio_sum += month / s.redemption.first_month_fraction;
            n += 1;
            // After the month only exits remain.
            for d in REDEMPTION_SHOCK_DAYS..90 {
                let exits: f64 = s
                    .redemption
                    .exits
                    .iter()
                    .filter(|e| e.day == d)
                    .map(|e| e.fraction)
                    .sum();
                assert_eq!(exogenous_redemptions(s, d), exits);
            }
            // Deterministic.
            assert_eq!(exogenous_redemptions(s, 3), exogenous_redemptions(s, 3));
        }
        // Mean-one noise: on average the month delivers its shock. Each month's total
        // has sd ≈ 0.3·√Σw² ≈ 0.1; the mean over 1,200 scenarios is good to ~0.003.
        let mean = ratio_sum / f64::from(n);
        assert!((mean - 1.0).abs() < 0.015, "{mean}");
        // Without noise the profile weights sum to one and fall by half each half-life.
        let w: f64 = (0..REDEMPTION_SHOCK_DAYS)
            .map(|d| profile_weight(7.0, d))
            .sum();
        assert!((w - 1.0).abs() < 1e-14);
        assert!((profile_weight(7.0, 7) / profile_weight(7.0, 0) - 0.5).abs() < 1e-14);
    }

    #[test]
    fn bad_configs_are_rejected_with_the_field() {
        let b = seed_base();
        let m = RedemptionModel::default();
        let e = generate_scenarios(&ScenarioConfig::new(10, 1), &b, &m).unwrap_err();
        assert_eq!(e.field, "n_scenarios");
        let mut c = ScenarioConfig::new(100, 1);
        c.rank_correlation = 1.0;
        assert_eq!(
            generate_scenarios(&c, &b, &m).unwrap_err().field,
            "rank_correlation"
        );
        let mut c = ScenarioConfig::new(100, 1);
        c.fund_illiquidity = 1.2;
        assert_eq!(
            generate_scenarios(&c, &b, &m).unwrap_err().field,
            "fund_illiquidity"
        );
        // 36 is enough to cover every cell.
        let small = generate_scenarios(&ScenarioConfig::new(MIN_SCENARIOS, 1), &b, &m).unwrap();
        let mut cells = std::collections::HashSet::new();
        for s in &small {
            cells.insert((
                s.market.kind.index(),
                s.redemption.kind as usize,
                s.market.severity,
            ));
        }
        assert_eq!(cells.len(), 36);
    }
}
