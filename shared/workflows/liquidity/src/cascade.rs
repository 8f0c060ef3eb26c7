//! The day-by-day redemption cascade of an open-ended fund (issue 7, must have 3):
//! redemption requests → notice → dealing (gate, swing pricing) → payment from cash and
//! the buffer tiers → forced sales under the liquidation strategy within daily
//! participation caps → sale costs → fire-sale marks on what is left → a lower NAV per
//! share → tomorrow's requests. It runs for [`FundTerms::horizon_days`] or until the
//! fund has settled, and returns one small [`CascadeOutcome`] per scenario.
//!
//! The model, one business day `t` at a time (amounts in base currency):
//! 1. **Settlement.** Sale proceeds due today (trade day + T+n of the holding) arrive
//!    in cash.
//! 2. **Market.** Optional exogenous class returns move the holdings' marks.
//! 3. **Requests.** The [`RedemptionDriver`] gives today's requests as a fraction of NAV
//!    (= of shares outstanding), from the exogenous shock and the NAV drawdown at
//!    yesterday's close (the feedback). They deal after the notice period.
//! 4. **Dealing** (forward pricing at today's NAV before today's trades). A gate
//!    ([`Gate`], ESMA 2020 guidelines on liquidity stress testing §§ 38–41 and IOSCO
//!    2018 "Recommendations for liquidity risk management for CIS" rec. 17: deferral of
//!    redemptions above a threshold, pro rata) deals at most `g` of the shares and
//!    defers the rest to the next day. Swing pricing ([`SwingPricing`], ALFI "Swing
//!    pricing guidelines" 2022, IOSCO 2023 "Anti-dilution liquidity management tools")
//!    pays leavers `NAV × (1 − s)` when the day's outflow exceeds the threshold, `s` the
//!    estimated cost of raising their cash, so that cost stays with them.
//! 5. **Payment** from cash; what cash cannot pay stays owed (the unmet payable).
//! 6. **Sales.** The owed amount not already covered by proceeds in settlement is raised
//!    net of costs: buffer tiers first (in their order), then the strategy's layers
//!    ([`LiquidationStrategy`]); within a layer pro rata to market value, each holding
//!    capped at `participation_cap × ADV × (1 − volume_reduction)`; what the caps leave
//!    unsold is raised on later days. Proceeds arrive after the holding's settlement lag.
//! 7. **Costs** per sale from the [`ImpactModel`] (half-spread + impact); they reduce
//!    proceeds.
//! 8. **Fire-sale marks** (Cont & Schaanning 2017): the remaining holdings of each class
//!    sold today are marked down by `1 − exp(−sold / depth)`; see [`fire_sale_factor`].
//! 9. **Close.** NAV and NAV per share; the drawdown feeds tomorrow's requests.
//!
//! Money is conserved every day: `Δcash = settled − paid`, `Δreceivables = (sold −
//! costs) − settled`, and `ΔNAV = market P&L − costs − fire-sale marks − dealt
//! redemptions`; checked by `debug_assert!` in the loop and by the property test.
//!
//! Speed: [`CascadeEngine`] holds everything fixed per fund (classes, layers, depths);
//! [`CascadeWorkspace`] holds every per-holding vector and is reused across scenarios,
//! so a scenario allocates nothing (unless it records its days).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::{AssetClass, Holding, LiquidationStrategy, MarketStress};

/// Number of [`AssetClass`] variants (array sizes for per-class state).
pub const N_CLASSES: usize = 12;

/// Longest settlement lag accepted (business days). Sizes the receivables ring; longer
/// lags (some alternatives settle in months) are outside a 90-day daily cascade's
/// meaning and are rejected rather than silently truncated.
pub const MAX_SETTLEMENT_DAYS: u32 = 60;

/// Longest notice period accepted (business days), sizing the notice ring.
pub const MAX_NOTICE_DAYS: u32 = 250;

/// Default horizon of a cascade: the 90 days.
pub const DEFAULT_HORIZON_DAYS: usize = 90;

/// Permanent-impact coefficient γ of Almgren, Thum, Hauptmann & Li (2005), "Direct
/// estimation of equity market impact", Risk 18(7), table of fitted coefficients:
/// permanent impact `I = γ σ (X/V) (Θ/V)^{1/4}` with γ = 0.314. We take the turnover
/// factor `(Θ/V)^{1/4}` as 1 (an assumption: the fund's holdings carry no share count)
/// and use γ to set the fire-sale depth, so that for small sales the Cont–Schaanning
/// mark `1 − exp(−q/D)` equals Almgren's linear permanent impact `γ σ q / ADV`.
pub const PERMANENT_IMPACT_GAMMA: f64 = 0.314;

/// Amounts below `SETTLE_TOLERANCE × initial NAV` count as zero when deciding that the
/// fund has settled (an owed residual of $12 on a $12bn fund is rounding, not a queue).
const SETTLE_TOLERANCE: f64 = 1e-9;

/// Relative precision (of initial NAV) to which a day's net proceeds are matched to the
/// cash needed; the residual, if any, is raised the next day.
const RAISE_TOLERANCE: f64 = 1e-10;

/// Most plan passes per raise (Newton with a bisection safeguard; 2–4 are typical, a
/// rare bisection run needs more; a final small over- or under-raise is carried to the
/// next day, so stopping early never breaks the accounting).
const RAISE_ITERATIONS: usize = 40;

/// Bad input, naming the field and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct CascadeError {
    pub field: String,
    pub reason: String,
}

impl CascadeError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CascadeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cascade input `{}`: {}", self.field, self.reason)
    }
}

impl std::error::Error for CascadeError {}

// ---------------------------------------------------------------------------------
// Impact models
// ---------------------------------------------------------------------------------

/// What a cost model sees of one holding's sale on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaleConditions {
    /// Amount sold today / today's stressed volume `ADV × (1 − volume_reduction)`.
    pub participation: f64,
    /// Stressed full bid-ask spread, basis points (`spread_bps × spread_multiplier`).
    pub spread_bps: f64,
    /// Stressed daily volatility (`daily_vol × vol_multiplier`).
    pub daily_vol: f64,
    /// The day's market stress, for models that use it beyond the three above.
    pub stress: MarketStress,
}

/// Cost of a day's sale as a fraction of the amount sold (spread + impact). The
/// analytics crate's impact models plug in here; closures `Fn(&SaleConditions) -> f64`
/// do too. The engine clamps the result to `[0, 1]`.
pub trait ImpactModel {
    fn cost_fraction(&self, sale: &SaleConditions) -> f64;
}

impl<F: Fn(&SaleConditions) -> f64> ImpactModel for F {
    fn cost_fraction(&self, sale: &SaleConditions) -> f64 {
        self(sale)
    }
}

/// Half the bid-ask spread plus the temporary impact of Almgren, Thum, Hauptmann & Li
/// (2005), "Direct estimation of equity market impact", Risk 18(7):
/// `cost = spread/2 + η σ (X / (V T))^β` with `X/(V T)` the participation over the day
/// (`T` = one day). β = 1/2 is the square-root law (Tóth et al. 2011, "Anomalous price
/// impact and the critical nature of liquidity", PRX 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadPowerImpact {
    pub eta: f64,
    pub beta: f64,
}

impl SpreadPowerImpact {
    /// The fitted coefficients of Almgren et al. (2005): η = 0.142, β = 0.600 (they
    /// reject β = 1/2 in favour of 3/5 on Citigroup US equity trades).
    pub const ALMGREN_2005: SpreadPowerImpact = SpreadPowerImpact {
        eta: 0.142,
        beta: 0.6,
    };

    /// Square-root form `spread/2 + η σ √participation` with Almgren's η (an
    /// assumption: the square-root law's prefactor is of order one in σ units; 0.142
    /// keeps it on Almgren's scale).
    pub const SQUARE_ROOT: SpreadPowerImpact = SpreadPowerImpact {
        eta: 0.142,
        beta: 0.5,
    };
}

impl ImpactModel for SpreadPowerImpact {
    fn cost_fraction(&self, sale: &SaleConditions) -> f64 {
        let half_spread = 0.5 * sale.spread_bps * 1e-4;
        let impact = if sale.participation > 0.0 && sale.daily_vol > 0.0 {
            self.eta * sale.daily_vol * sale.participation.powf(self.beta)
        } else {
            0.0
        };
        half_spread + impact
    }
}

/// Fire-sale mark of Cont & Schaanning (2017), "Fire sales, indirect contagion and
/// systemic stress testing", Norges Bank WP 2/2017, §2: selling `q` of an asset class
/// of market depth `D` moves its price by `−(1 − exp(−q/D))`; the returned factor
/// `exp(−q/D)` multiplies the class's remaining holdings. Depth is the class's stressed
/// depth `Σ ADV_i (1 − depth_reduction) / (γ σ_i vol_multiplier)` (γ =
/// [`PERMANENT_IMPACT_GAMMA`]); infinite depth (cash-like, σ = 0 or ADV = ∞) → 1.
pub fn fire_sale_factor(sold: f64, depth: f64) -> f64 {
    if sold <= 0.0 || depth.is_infinite() {
        1.0
    } else if depth <= 0.0 {
        0.0
    } else {
        (-sold / depth).exp()
    }
}

// ---------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------

/// The fund at the start of the cascade.
#[derive(Debug, Clone, PartialEq)]
pub struct CascadeFund {
    /// Positions; holdings of class [`AssetClass::Cash`] count as cash.
    pub holdings: Vec<Holding>,
    /// Cash at the start, base currency.
    pub cash: f64,
    /// The buffer beyond cash, drawn in this order before the strategy sells anything
    /// else: typically `[CashEquivalent, ShortSovereign]`. Not `Cash`, no repeats.
    pub buffer_tiers: Vec<AssetClass>,
}

/// Deferral gate: when the shares due to deal on a day exceed `threshold` of the
/// shares outstanding (= of NAV), only `threshold` is dealt, every requester pro rata,
/// and the rest rolls to the next dealing day with that day's requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub threshold: f64,
}

/// Partial swing pricing: when a day's dealt redemptions exceed `threshold` of NAV, the
/// price paid to leavers is swung down by the estimated cost of raising their cash,
/// capped at `max_factor` (prospectus caps are commonly 1–3%; ALFI 2022).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwingPricing {
    pub threshold: f64,
    pub max_factor: f64,
}

/// Dealing terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundTerms {
    /// Business days between a request and its dealing day (0 = daily dealing, same day).
    pub notice_days: u32,
    pub gate: Option<Gate>,
    pub swing: Option<SwingPricing>,
    /// Days simulated at most (the 90).
    pub horizon_days: usize,
    /// First day the gate may defer (a gate switched on by a trigger); 0 = from the start.
    pub gate_from_day: usize,
    /// Business days between dealing dates: 1 daily, 5 weekly, 21 monthly. Requests due
    /// between dealing dates wait (counted as pending) and deal on the next one.
    pub dealing_interval_days: u32,
}

impl Default for FundTerms {
    fn default() -> Self {
        Self {
            notice_days: 0,
            gate: None,
            swing: None,
            horizon_days: DEFAULT_HORIZON_DAYS,
            gate_from_day: 0,
            dealing_interval_days: 1,
        }
    }
}

/// How the fund sells beyond its buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiquidationPolicy {
    pub strategy: LiquidationStrategy,
    /// Most the fund sells of one holding per day, as a share of its stressed ADV.
    pub participation_cap: f64,
}

/// One scenario's market: a stress state per day (the last one persists if the path is
/// shorter than the horizon) and optional class returns per day (missing days: none).
#[derive(Debug, Clone, Copy)]
pub struct MarketPath<'a> {
    pub stress: &'a [MarketStress],
    /// `class_returns[t][class_index(c)]`: the day's price return of class `c`.
    pub class_returns: &'a [[f64; N_CLASSES]],
    /// `class_stress[t][class_index(c)]`: the day's stress of class `c`. When not empty
    /// it replaces `stress` (an asset-class-specific shock or a flight to quality stress
    /// the classes differently); the last day persists as for `stress`.
    pub class_stress: &'a [[MarketStress; N_CLASSES]],
}

/// What investors see when deciding today's requests. The requested fraction applies
/// to the shares not already queued for dealing (under notice or deferred by a gate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvestorView {
    pub day: usize,
    /// Drawdown of NAV per share from its running peak at yesterday's close, ≥ 0.
    pub nav_drawdown: f64,
    /// Whether yesterday's dealing was gated (for first-mover / run-on-the-gate models).
    pub gated_yesterday: bool,
    /// Shares redeemed (dealt) so far / initial shares.
    pub redeemed_so_far: f64,
    /// The fund's own liquidation losses per share so far, as a share of the initial
    /// NAV per share: sale costs and fire-sale marks net of swing adjustments, each
    /// day's divided by that day's shares. What second-round redemptions respond to
    /// (the market's own fall is already in the scenario's first-round shock).
    pub liquidation_loss: f64,
}

/// Today's new redemption requests as a fraction of NAV. Peers' redemptions and other
/// exogenous signals are the implementer's own state (a closure captures them).
pub trait RedemptionDriver {
    fn requested(&self, view: &InvestorView) -> f64;
    /// First day from which exogenous requests are zero: the cascade may only stop as
    /// settled from then on.
    fn exogenous_until(&self) -> usize;
}

/// `requests_t = base_t + φ · max(0, drawdown_{t−1})`: an exogenous schedule plus a
/// response to the fund's cumulative loss, the performance–flow feedback of Chen,
/// Goldstein & Jiang (2010), "Payoff complementarities and financial fragility",
/// J. Financial Economics 97(2) (stronger in illiquid funds). φ is the caller's.
#[derive(Debug, Clone, Copy)]
pub struct DrawdownFeedback<'a> {
    pub base: &'a [f64],
    pub phi: f64,
}

impl RedemptionDriver for DrawdownFeedback<'_> {
    fn requested(&self, view: &InvestorView) -> f64 {
        let base = self.base.get(view.day).copied().unwrap_or(0.0);
        base + self.phi * view.nav_drawdown.max(0.0)
    }
    fn exogenous_until(&self) -> usize {
        self.base.len()
    }
}

/// Any function of the investor view, with the day its exogenous part ends.
pub struct FnDriver<F: Fn(&InvestorView) -> f64> {
    pub f: F,
    pub exogenous_until: usize,
}

impl<F: Fn(&InvestorView) -> f64> RedemptionDriver for FnDriver<F> {
    fn requested(&self, view: &InvestorView) -> f64 {
        (self.f)(view)
    }
    fn exogenous_until(&self) -> usize {
        self.exogenous_until
    }
}

// ---------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------

/// One scenario's result. Amounts in base currency; shares of NAV are fractions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CascadeOutcome {
    pub initial_nav: f64,
    /// The largest redemption payable left unpaid at a day's end (awaiting cash, sales in
    /// settlement included).
    pub max_unmet_redemptions: f64,
    /// Buffer shortfall: what the buffer could not cover, raised by selling holdings
    /// outside cash and the buffer tiers (gross sales).
    pub sold_beyond_buffer: f64,
    /// First day the buffer (cash and buffer tiers) could not cover what was due, so the
    /// strategy sold outside the buffer.
    pub buffer_exhaustion_day: Option<u32>,
    /// Spread and impact paid on all sales.
    pub liquidation_cost: f64,
    /// Loss on remaining holdings from the fund's own fire-sale marks.
    pub fire_sale_loss: f64,
    /// Largest drawdown of NAV per share from its running peak.
    pub max_nav_drawdown: f64,
    /// First day the gate deferred redemptions.
    pub gate_day: Option<u32>,
    /// Swing adjustments kept in the fund (charged to leavers).
    pub swing_retained: f64,
    /// Liquidation cost not charged to leavers: `liquidation_cost − swing_retained`.
    pub dilution: f64,
    /// Share of invested assets in the less liquid layers (mid/small/EM equity, HY and
    /// EM debt, alternatives) at the start and at the end: the vertical-slice problem.
    pub less_liquid_share_start: f64,
    pub less_liquid_share_end: f64,
    /// Share of invested assets in alternatives at the end.
    pub illiquid_share_end: f64,
    /// Redemptions paid in cash.
    pub redeemed_paid: f64,
    /// Redemptions dealt (paid or still owed).
    pub redeemed_dealt: f64,
    /// Redemptions dealt but unpaid at the end.
    pub unmet_at_end: f64,
    /// Shares requested but not yet dealt at the end (notice or gate).
    pub pending_shares_at_end: f64,
    /// Days until everything requested was paid and nothing more is asked for (no
    /// pending, owed or in-settlement amounts, no exogenous requests to come, the driver
    /// asks for nothing the next day); `None` if the horizon came first.
    pub days_to_settle: Option<u32>,
    pub days_run: u32,
    /// NAV per share at the end (1.0 at the start): what remaining investors hold.
    pub final_nav_per_share: f64,
    /// Style drift of what is left: half the L1 distance between the invested weights
    /// by liquidity class at the end and at the start (0 = same mix, 1 = disjoint).
    pub style_drift: f64,
}

/// One day of a recorded cascade (with `record_days`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DayRecord {
    pub day: u32,
    pub requested_fraction: f64,
    pub dealt_value: f64,
    pub deferred_shares: f64,
    pub swing_factor: f64,
    pub paid: f64,
    pub settled: f64,
    pub gross_sold: f64,
    pub cost: f64,
    pub fire_sale_loss: f64,
    pub market_pnl: f64,
    pub cash_open: f64,
    pub cash_close: f64,
    pub receivables_open: f64,
    pub receivables_close: f64,
    pub owed_open: f64,
    pub owed_close: f64,
    pub nav_open: f64,
    pub nav_close: f64,
    pub nav_per_share: f64,
    pub drawdown: f64,
    pub less_liquid_share: f64,
    /// Share of invested assets in illiquid holdings (alternatives) at the close.
    pub illiquid_share: f64,
    /// Gross sold per class today (`class_index` order).
    pub class_sold: [f64; N_CLASSES],
    /// Liquidity on hand at the close: cash, proceeds in settlement and holdings in the
    /// buffer tiers or the liquid layers (cash equivalents, sovereigns, large caps, IG).
    pub liquid_assets: f64,
    /// Redemptions not yet paid at the close: owed, plus shares under notice or
    /// deferred by a gate at today's NAV per share.
    pub pending_value: f64,
}

// ---------------------------------------------------------------------------------
// Classes and layers
// ---------------------------------------------------------------------------------

/// Index of a class in per-class arrays.
pub const fn class_index(c: AssetClass) -> usize {
    match c {
        AssetClass::Cash => 0,
        AssetClass::CashEquivalent => 1,
        AssetClass::ShortSovereign => 2,
        AssetClass::Sovereign => 3,
        AssetClass::EquityLarge => 4,
        AssetClass::EquityMid => 5,
        AssetClass::EquitySmall => 6,
        AssetClass::EquityEm => 7,
        AssetClass::CreditIg => 8,
        AssetClass::CreditHy => 9,
        AssetClass::EmDebt => 10,
        AssetClass::Alternatives => 11,
    }
}

/// Waterfall layer of a class (ESMA 2020 guidelines' example order, as in the issue):
/// 0 cash equivalents → 1 sovereigns (short first by tiering, longer with them) →
/// 2 liquid equities (large caps) → 3 liquid credit (IG) → 4 less liquid equities
/// (mid, small, EM) → 5 less liquid credit (HY, EM debt) → 6 illiquid (alternatives).
/// Where mid caps and long sovereigns go is our assumption.
pub const fn waterfall_layer(c: AssetClass) -> usize {
    match c {
        AssetClass::Cash | AssetClass::CashEquivalent => 0,
        AssetClass::ShortSovereign | AssetClass::Sovereign => 1,
        AssetClass::EquityLarge => 2,
        AssetClass::CreditIg => 3,
        AssetClass::EquityMid | AssetClass::EquitySmall | AssetClass::EquityEm => 4,
        AssetClass::CreditHy | AssetClass::EmDebt => 5,
        AssetClass::Alternatives => 6,
    }
}

/// Layers from which a holding counts as less liquid (for the vertical-slice measure
/// and the hybrid's split): 4, 5, 6 above.
pub const FIRST_LESS_LIQUID_LAYER: usize = 4;

const N_LAYERS: usize = 7;

/// Per-holding data fixed for the whole cascade.
#[derive(Debug, Clone, Copy)]
struct Position {
    class: usize,
    adv: f64,
    spread_bps: f64,
    daily_vol: f64,
    settle: usize,
    layer: usize,
    less_liquid: bool,
    illiquid: bool,
    buffer_tier: bool,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    /// A buffer tier (selling here does not count as buffer exhaustion).
    buffer: bool,
}

// ---------------------------------------------------------------------------------
// Engine and workspace
// ---------------------------------------------------------------------------------

/// A fund, its terms and its liquidation policy, validated and laid out once; run it on
/// as many scenarios as needed with [`CascadeEngine::run`].
#[derive(Debug, Clone)]
pub struct CascadeEngine {
    positions: Vec<Position>,
    initial_mv: Vec<f64>,
    initial_cash: f64,
    /// Holding indices in selling order, groups are ranges of it.
    order: Vec<usize>,
    groups: Vec<Group>,
    /// Σ ADV_i / σ_i per class (∞ if any holding is cash-like): depth before stress.
    depth_base: [f64; N_CLASSES],
    terms: FundTerms,
    policy: LiquidationPolicy,
    ring_len: usize,
    notice_len: usize,
}

/// Per-scenario state, allocated once and reused.
#[derive(Debug, Clone, Default)]
pub struct CascadeWorkspace {
    mv: Vec<f64>,
    cap: Vec<f64>,
    ratio: Vec<f64>,
    sale: Vec<f64>,
    cost: Vec<f64>,
    sorted: Vec<usize>,
    group_cap: Vec<f64>,
    group_mv: Vec<f64>,
    receivable: Vec<f64>,
    notice: Vec<f64>,
    /// The days of the last run, if it recorded them.
    pub days: Vec<DayRecord>,
}

fn check_fraction(
    field: &str,
    v: f64,
    lo: f64,
    hi: f64,
    hi_open: bool,
) -> Result<(), CascadeError> {
    let ok = v.is_finite() && v >= lo && if hi_open { v < hi } else { v <= hi };
    if ok {
        Ok(())
    } else {
        let bracket = if hi_open { ")" } else { "]" };
        Err(CascadeError::new(
            field,
            format!("{v} is not in [{lo}, {hi}{bracket}"),
        ))
    }
}

/// The checks of [`validate_stress`] without building a message.
fn stress_is_valid(s: &MarketStress) -> bool {
    (-1.0..1.0).contains(&s.depth_reduction)
        && (-1.0..=1.0).contains(&s.volume_reduction)
        && s.spread_multiplier.is_finite()
        && s.spread_multiplier >= 1.0
        && s.vol_multiplier.is_finite()
        && s.vol_multiplier >= 1.0
}

fn validate_stress(field: &str, s: &MarketStress) -> Result<(), CascadeError> {
    // Negative reductions: a safe haven's extra depth and volume (flight to quality).
    check_fraction(
        &format!("{field}.depth_reduction"),
        s.depth_reduction,
        -1.0,
        1.0,
        true,
    )?;
    check_fraction(
        &format!("{field}.volume_reduction"),
        s.volume_reduction,
        -1.0,
        1.0,
        false,
    )?;
    if !(s.spread_multiplier.is_finite() && s.spread_multiplier >= 1.0) {
        return Err(CascadeError::new(
            format!("{field}.spread_multiplier"),
            format!("{} must be finite and ≥ 1", s.spread_multiplier),
        ));
    }
    if !(s.vol_multiplier.is_finite() && s.vol_multiplier >= 1.0) {
        return Err(CascadeError::new(
            format!("{field}.vol_multiplier"),
            format!("{} must be finite and ≥ 1", s.vol_multiplier),
        ));
    }
    Ok(())
}

fn validate_terms(terms: &FundTerms) -> Result<(), CascadeError> {
    if terms.notice_days > MAX_NOTICE_DAYS {
        return Err(CascadeError::new(
            "terms.notice_days",
            format!("{} exceeds {MAX_NOTICE_DAYS}", terms.notice_days),
        ));
    }
    if !(1..=MAX_NOTICE_DAYS).contains(&terms.dealing_interval_days) {
        return Err(CascadeError::new(
            "terms.dealing_interval_days",
            format!("must be between 1 and {MAX_NOTICE_DAYS}"),
        ));
    }
    if terms.horizon_days == 0 {
        return Err(CascadeError::new(
            "terms.horizon_days",
            "must be at least 1",
        ));
    }
    if let Some(g) = terms.gate {
        if !(g.threshold.is_finite() && g.threshold > 0.0 && g.threshold <= 1.0) {
            return Err(CascadeError::new(
                "terms.gate.threshold",
                "must be in (0, 1]",
            ));
        }
    }
    if let Some(s) = terms.swing {
        check_fraction("terms.swing.threshold", s.threshold, 0.0, 1.0, false)?;
        check_fraction("terms.swing.max_factor", s.max_factor, 0.0, 1.0, true)?;
    }
    Ok(())
}

impl CascadeEngine {
    pub fn new(
        fund: &CascadeFund,
        terms: FundTerms,
        policy: LiquidationPolicy,
    ) -> Result<Self, CascadeError> {
        if !(fund.cash.is_finite() && fund.cash >= 0.0) {
            return Err(CascadeError::new("fund.cash", "must be finite and ≥ 0"));
        }
        for (k, t) in fund.buffer_tiers.iter().enumerate() {
            if *t == AssetClass::Cash {
                return Err(CascadeError::new(
                    format!("fund.buffer_tiers[{k}]"),
                    "cash is always the first buffer; list only the tiers beyond it",
                ));
            }
            if fund.buffer_tiers[..k].contains(t) {
                return Err(CascadeError::new(
                    format!("fund.buffer_tiers[{k}]"),
                    format!("{t:?} is listed twice"),
                ));
            }
        }
        validate_terms(&terms)?;
        if !(policy.participation_cap.is_finite()
            && policy.participation_cap > 0.0
            && policy.participation_cap <= 1.0)
        {
            return Err(CascadeError::new(
                "policy.participation_cap",
                "must be in (0, 1]",
            ));
        }

        let mut cash = fund.cash;
        let mut positions = Vec::with_capacity(fund.holdings.len());
        let mut initial_mv = Vec::with_capacity(fund.holdings.len());
        let mut depth_base = [0.0; N_CLASSES];
        let mut max_settle = 0;
        for (k, h) in fund.holdings.iter().enumerate() {
            let field = |f: &str| format!("fund.holdings[{k}] ({}).{f}", h.id);
            if !(h.market_value.is_finite() && h.market_value >= 0.0) {
                return Err(CascadeError::new(
                    field("market_value"),
                    "must be finite and ≥ 0",
                ));
            }
            if h.asset_class == AssetClass::Cash {
                cash += h.market_value;
                continue;
            }
            if h.adv.is_nan() || h.adv < 0.0 {
                return Err(CascadeError::new(
                    field("adv"),
                    "must be ≥ 0 (0: no market — held, never sold; ∞ for cash-like)",
                ));
            }
            // A holding with no market (private equity, a gated hedge-fund interest) is
            // held to the horizon at its mark: its sale cap is zero, so no strategy
            // sells it, and its settlement terms never matter.
            let tradeable = h.adv > 0.0;
            if !(h.spread_bps.is_finite() && h.spread_bps >= 0.0) {
                return Err(CascadeError::new(
                    field("spread_bps"),
                    "must be finite and ≥ 0",
                ));
            }
            if !(h.daily_vol.is_finite() && h.daily_vol >= 0.0) {
                return Err(CascadeError::new(
                    field("daily_vol"),
                    "must be finite and ≥ 0",
                ));
            }
            if tradeable && h.settlement_days > MAX_SETTLEMENT_DAYS {
                return Err(CascadeError::new(
                    field("settlement_days"),
                    format!("{} exceeds {MAX_SETTLEMENT_DAYS}", h.settlement_days),
                ));
            }
            let class = class_index(h.asset_class);
            if tradeable {
                depth_base[class] += if h.daily_vol == 0.0 {
                    f64::INFINITY
                } else {
                    h.adv / h.daily_vol
                };
                max_settle = max_settle.max(h.settlement_days as usize);
            }
            let layer = waterfall_layer(h.asset_class);
            positions.push(Position {
                class,
                adv: h.adv,
                spread_bps: h.spread_bps,
                daily_vol: h.daily_vol,
                settle: if tradeable {
                    h.settlement_days as usize
                } else {
                    0
                },
                layer,
                less_liquid: layer >= FIRST_LESS_LIQUID_LAYER,
                illiquid: h.asset_class == AssetClass::Alternatives,
                buffer_tier: fund.buffer_tiers.contains(&h.asset_class),
            });
            initial_mv.push(h.market_value);
        }
        let nav: f64 = cash + initial_mv.iter().sum::<f64>();
        if nav.is_nan() || nav <= 0.0 {
            return Err(CascadeError::new("fund", "net asset value must be > 0"));
        }

        // Selling order: buffer tiers, then the strategy's layers.
        let tier_of = |p: &Position| {
            fund.buffer_tiers
                .iter()
                .position(|t| class_index(*t) == p.class)
        };
        let mut order = Vec::with_capacity(positions.len());
        let mut groups = Vec::new();
        let mut push_group =
            |order: &mut Vec<usize>, members: &mut dyn Iterator<Item = usize>, buffer: bool| {
                let start = order.len();
                order.extend(members);
                if order.len() > start {
                    groups.push(Group {
                        start,
                        end: order.len(),
                        buffer,
                    });
                }
            };
        for tier in 0..fund.buffer_tiers.len() {
            push_group(
                &mut order,
                &mut (0..positions.len()).filter(|&i| tier_of(&positions[i]) == Some(tier)),
                true,
            );
        }
        let rest = |i: &usize| tier_of(&positions[*i]).is_none();
        let layer_bands: &[(usize, usize)] = match policy.strategy {
            LiquidationStrategy::Waterfall => {
                &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
            }
            LiquidationStrategy::Slice => &[(0, N_LAYERS)],
            LiquidationStrategy::Hybrid => &[
                (0, FIRST_LESS_LIQUID_LAYER),
                (FIRST_LESS_LIQUID_LAYER, N_LAYERS),
            ],
        };
        for &(lo, hi) in layer_bands {
            push_group(
                &mut order,
                &mut (0..positions.len())
                    .filter(|i| rest(i) && positions[*i].layer >= lo && positions[*i].layer < hi),
                false,
            );
        }
        debug_assert_eq!(order.len(), positions.len());

        Ok(Self {
            positions,
            initial_mv,
            initial_cash: cash,
            order,
            groups,
            depth_base,
            terms,
            policy,
            ring_len: max_settle + 1,
            notice_len: terms.notice_days as usize + 1,
        })
    }

    /// Value of the holdings in buffer tiers or the liquid layers (below
    /// [`FIRST_LESS_LIQUID_LAYER`]).
    fn liquid_holdings(&self, ws: &CascadeWorkspace) -> f64 {
        self.positions
            .iter()
            .zip(&ws.mv)
            .filter(|(p, _)| !p.less_liquid || p.buffer_tier)
            .map(|(_, v)| v)
            .sum()
    }

    /// Half the L1 distance between the invested weights by class now and at the start.
    fn style_drift(&self, ws: &CascadeWorkspace) -> f64 {
        let mut start = [0.0; N_CLASSES];
        let mut end = [0.0; N_CLASSES];
        for (i, p) in self.positions.iter().enumerate() {
            start[p.class] += self.initial_mv[i];
            end[p.class] += ws.mv[i];
        }
        let (s0, s1): (f64, f64) = (start.iter().sum(), end.iter().sum());
        if s0 <= 0.0 || s1 <= 0.0 {
            return 0.0;
        }
        0.5 * start
            .iter()
            .zip(&end)
            .map(|(a, b)| (a / s0 - b / s1).abs())
            .sum::<f64>()
    }

    /// The same fund and policy under other dealing terms (a gate switched on by a
    /// trigger, another notice period), validated as [`CascadeEngine::new`] does.
    pub fn with_terms(&self, terms: FundTerms) -> Result<Self, CascadeError> {
        validate_terms(&terms)?;
        let mut engine = self.clone();
        engine.terms = terms;
        engine.notice_len = terms.notice_days as usize + 1;
        Ok(engine)
    }

    /// Initial NAV (cash + holdings; NAV per share starts at 1).
    pub fn initial_nav(&self) -> f64 {
        self.initial_cash + self.initial_mv.iter().sum::<f64>()
    }

    /// A workspace sized for this engine (any workspace works; this one never grows).
    pub fn workspace(&self) -> CascadeWorkspace {
        let mut ws = CascadeWorkspace::default();
        self.reset(&mut ws);
        ws
    }

    fn reset(&self, ws: &mut CascadeWorkspace) {
        let n = self.positions.len();
        ws.mv.clear();
        ws.mv.extend_from_slice(&self.initial_mv);
        for v in [&mut ws.cap, &mut ws.ratio, &mut ws.sale, &mut ws.cost] {
            v.clear();
            v.resize(n, 0.0);
        }
        ws.sorted.clear();
        ws.sorted.extend_from_slice(&self.order);
        for v in [&mut ws.group_cap, &mut ws.group_mv] {
            v.clear();
            v.resize(self.groups.len(), 0.0);
        }
        ws.receivable.clear();
        ws.receivable.resize(self.ring_len, 0.0);
        ws.notice.clear();
        ws.notice.resize(self.notice_len, 0.0);
        ws.days.clear();
    }

    /// Today's caps and each group's sort by `cap / mv` (water-filling order).
    fn prepare_sales(&self, ws: &mut CascadeWorkspace, stress: &[MarketStress; N_CLASSES]) {
        for (i, p) in self.positions.iter().enumerate() {
            let volume_left = 1.0 - stress[p.class].volume_reduction;
            let cap = (self.policy.participation_cap * p.adv * volume_left).min(ws.mv[i]);
            ws.cap[i] = cap.max(0.0);
            ws.ratio[i] = if ws.mv[i] > 0.0 {
                ws.cap[i] / ws.mv[i]
            } else {
                0.0
            };
        }
        for (g, grp) in self.groups.iter().enumerate() {
            let idx = &mut ws.sorted[grp.start..grp.end];
            let ratio = &ws.ratio;
            idx.sort_unstable_by(|a, b| ratio[*a].total_cmp(&ratio[*b]));
            ws.group_cap[g] = idx.iter().map(|&i| ws.cap[i]).sum();
            ws.group_mv[g] = idx.iter().map(|&i| ws.mv[i]).sum();
        }
    }

    /// Fills `ws.sale` with a plan selling `target` gross: groups in order, pro rata to
    /// market value within a group, holdings whose cap binds sell their cap and the
    /// rest is spread over the others (water-filling). Returns the gross planned.
    fn plan_gross(&self, ws: &mut CascadeWorkspace, target: f64) -> f64 {
        let mut rem = target;
        for (g, grp) in self.groups.iter().enumerate() {
            let idx = &ws.sorted[grp.start..grp.end];
            if rem <= 0.0 {
                for &i in idx {
                    ws.sale[i] = 0.0;
                }
                continue;
            }
            if ws.group_cap[g] <= rem {
                for &i in idx {
                    ws.sale[i] = ws.cap[i];
                }
                rem -= ws.group_cap[g];
                continue;
            }
            let mut rem_mv = ws.group_mv[g];
            let mut k = 0;
            while k < idx.len() {
                let i = idx[k];
                if ws.ratio[i] * rem_mv <= rem {
                    ws.sale[i] = ws.cap[i];
                    rem -= ws.cap[i];
                    rem_mv -= ws.mv[i];
                    k += 1;
                } else {
                    break;
                }
            }
            let alpha = if rem_mv > 0.0 {
                (rem / rem_mv).clamp(0.0, 1.0)
            } else {
                0.0
            };
            for &i in &idx[k..] {
                ws.sale[i] = (alpha * ws.mv[i]).min(ws.cap[i]);
            }
            rem = 0.0;
        }
        target - rem.max(0.0)
    }

    /// Costs of the planned sales into `ws.cost`; returns their sum and the gross.
    fn plan_cost<M: ImpactModel>(
        &self,
        ws: &mut CascadeWorkspace,
        stress: &[MarketStress; N_CLASSES],
        impact: &M,
    ) -> (f64, f64) {
        let mut total = 0.0;
        let mut gross = 0.0;
        for (i, p) in self.positions.iter().enumerate() {
            let q = ws.sale[i];
            if q <= 0.0 {
                ws.cost[i] = 0.0;
                continue;
            }
            let stress = &stress[p.class];
            let volume = p.adv * (1.0 - stress.volume_reduction);
            let sale = SaleConditions {
                participation: if volume.is_infinite() {
                    0.0
                } else {
                    q / volume
                },
                spread_bps: p.spread_bps * stress.spread_multiplier,
                daily_vol: p.daily_vol * stress.vol_multiplier,
                stress: *stress,
            };
            let c = impact.cost_fraction(&sale);
            let c = if c.is_nan() { 1.0 } else { c.clamp(0.0, 1.0) };
            ws.cost[i] = q * c;
            total += ws.cost[i];
            gross += q;
        }
        (gross, total)
    }

    /// Plans the sales raising `need` net of costs (what the caps leave unraised is
    /// raised on later days). Returns (gross, cost); the plan is in `ws.sale`/`ws.cost`.
    /// Net proceeds rise with the gross planned (while the marginal cost is below 1), so
    /// the gross is found by a Newton step then secant steps on `gross − cost = need`, safeguarded by a
    /// bracket: a step that leaves the bracket bisects it. The Newton slope uses the
    /// average cost rate; water-filling can move the marginal sale to a cheaper holding,
    /// so overshoots happen and the bracket catches them; later steps are secant steps. `hint` is a first guess of the
    /// gross (0: none).
    fn plan_raise<M: ImpactModel>(
        &self,
        ws: &mut CascadeWorkspace,
        need: f64,
        stress: &[MarketStress; N_CLASSES],
        impact: &M,
        tol: f64,
        hint: f64,
    ) -> (f64, f64) {
        let capacity: f64 = ws.group_cap.iter().sum();
        let (mut lo, mut hi) = (0.0, capacity);
        let mut target = if hint > 0.0 { hint } else { need }.min(capacity);
        let mut out = (0.0, 0.0);
        // Previous (target, shortfall) for a secant step.
        let mut prev: Option<(f64, f64)> = None;
        for _ in 0..RAISE_ITERATIONS {
            self.plan_gross(ws, target);
            let (gross, cost) = self.plan_cost(ws, stress, impact);
            out = (gross, cost);
            let shortfall = need - (gross - cost);
            if shortfall.abs() <= tol || gross <= 0.0 || (shortfall > 0.0 && target >= capacity) {
                break;
            }
            if shortfall > 0.0 {
                lo = target;
            } else {
                hi = target;
            }
            let step = match prev {
                // Secant on the shortfall: superlinear where net proceeds are smooth.
                Some((t0, s0)) if s0 != shortfall => {
                    target - shortfall * (target - t0) / (shortfall - s0)
                }
                _ => {
                    let c = cost / gross;
                    if c < 1.0 {
                        target + shortfall / (1.0 - c)
                    } else {
                        f64::NAN
                    }
                }
            };
            prev = Some((target, shortfall));
            target = if step > lo && step < hi {
                step
            } else if shortfall > 0.0 && hi >= capacity && step >= capacity {
                capacity
            } else {
                0.5 * (lo + hi)
            };
        }
        out
    }

    /// Runs one scenario. `record_days` keeps the day-by-day records in `ws.days`.
    pub fn run<M: ImpactModel, D: RedemptionDriver>(
        &self,
        market: &MarketPath<'_>,
        driver: &D,
        impact: &M,
        ws: &mut CascadeWorkspace,
        record_days: bool,
    ) -> Result<CascadeOutcome, CascadeError> {
        if market.stress.is_empty() && market.class_stress.is_empty() {
            return Err(CascadeError::new(
                "market.stress",
                "needs at least one day (or market.class_stress)",
            ));
        }
        for (t, s) in market.stress.iter().enumerate() {
            // Name the field only when it is wrong: formatting 1,080 names per cascade
            // cost more than the cascade.
            if !stress_is_valid(s) {
                validate_stress(&format!("market.stress[{t}]"), s)?;
            }
        }
        for (t, day) in market.class_stress.iter().enumerate() {
            for (c, s) in day.iter().enumerate() {
                if !stress_is_valid(s) {
                    validate_stress(&format!("market.class_stress[{t}][{c}]"), s)?;
                }
            }
        }
        for (t, r) in market.class_returns.iter().enumerate() {
            if let Some(c) = r.iter().position(|x| !(x.is_finite() && *x > -1.0)) {
                return Err(CascadeError::new(
                    format!("market.class_returns[{t}][{c}]"),
                    "must be finite and > −1",
                ));
            }
        }
        self.reset(ws);

        let nav0 = self.initial_nav();
        let shares0 = nav0; // NAV per share starts at 1
        let tol = RAISE_TOLERANCE * nav0;
        let settle_tol = SETTLE_TOLERANCE * nav0;
        let n_ring = self.ring_len;
        let n_notice = self.notice_len;

        let mut cash = self.initial_cash;
        let mut owed = 0.0;
        let mut shares = shares0;
        let mut deferred = 0.0; // shares gated, dealing next day
        let mut waiting = 0.0; // shares due, waiting for the next dealing date
        let mut pending = 0.0; // shares requested, not yet dealt (notice ring + deferred)
        let mut peak_nps: f64 = 1.0;
        let mut drawdown = 0.0;
        let mut gated_yesterday = false;
        let mut liquidation_loss = 0.0;
        let mut dealt_shares_total = 0.0;
        // Yesterday's cost rate: the first guess of today's gross-up.
        let mut last_cost_rate = 0.0;

        let invested = |ws: &CascadeWorkspace| -> (f64, f64, f64) {
            let (mut all, mut ll, mut ill) = (0.0, 0.0, 0.0);
            for (i, p) in self.positions.iter().enumerate() {
                all += ws.mv[i];
                if p.less_liquid {
                    ll += ws.mv[i];
                }
                if p.illiquid {
                    ill += ws.mv[i];
                }
            }
            (all, ll, ill)
        };
        let share = |part: f64, all: f64| if all > 0.0 { part / all } else { 0.0 };

        let (all0, ll0, _) = invested(ws);
        let mut out = CascadeOutcome {
            initial_nav: nav0,
            less_liquid_share_start: share(ll0, all0),
            final_nav_per_share: 1.0,
            ..CascadeOutcome::default()
        };

        let mut nav_prev = nav0;
        for t in 0..self.terms.horizon_days {
            let stress: [MarketStress; N_CLASSES] = if market.class_stress.is_empty() {
                [market.stress[t.min(market.stress.len() - 1)]; N_CLASSES]
            } else {
                market.class_stress[t.min(market.class_stress.len() - 1)]
            };
            let cash_open = cash;
            let recv_open: f64 = ws.receivable.iter().sum();
            let owed_open = owed;
            let nav_open = nav_prev;
            let slot = t % n_ring;

            // 1. Settlement.
            let mut settled = ws.receivable[slot];
            cash += settled;
            ws.receivable[slot] = 0.0;

            // 2. Market.
            let mut market_pnl = 0.0;
            if let Some(r) = market.class_returns.get(t) {
                for (i, p) in self.positions.iter().enumerate() {
                    let d = ws.mv[i] * r[p.class];
                    market_pnl += d;
                    ws.mv[i] += d;
                }
            }

            // 3. Requests.
            let view = InvestorView {
                day: t,
                nav_drawdown: drawdown,
                gated_yesterday,
                redeemed_so_far: dealt_shares_total / shares0,
                liquidation_loss,
            };
            let f = driver.requested(&view);
            if !(f.is_finite() && f >= 0.0) {
                return Err(CascadeError::new(
                    format!("driver.requested(day {t})"),
                    format!("{f} is not a fraction ≥ 0"),
                ));
            }
            // A fraction of the holdings not already queued (notice or gate): investors
            // who asked to leave cannot ask again, so a gate does not inflate requests.
            let requested = (f * (shares - pending).max(0.0)).min((shares - pending).max(0.0));
            ws.notice[(t + self.terms.notice_days as usize) % n_notice] += requested;
            pending += requested;

            // 4. Dealing at today's NAV, before today's trades.
            let nav_deal = cash + recv_open - settled + ws.mv.iter().sum::<f64>() - owed;
            let mut due = ws.notice[t % n_notice] + deferred + waiting;
            ws.notice[t % n_notice] = 0.0;
            deferred = 0.0;
            waiting = 0.0;
            // Between dealing dates (weekly or monthly dealing) requests wait, ungated.
            if t % self.terms.dealing_interval_days.max(1) as usize != 0 {
                waiting = due;
                due = 0.0;
            }
            let mut deal = due;
            if let Some(g) = self.terms.gate.filter(|_| t >= self.terms.gate_from_day) {
                let limit = g.threshold * shares;
                if due > limit {
                    deal = limit;
                    deferred = due - limit;
                    out.gate_day.get_or_insert(t as u32);
                }
            }
            gated_yesterday = deferred > 0.0;
            pending -= deal;
            let nps = if shares > 0.0 { nav_deal / shares } else { 0.0 };
            let gross_value = deal * nps;
            let mut sales_ready = false;
            let mut swing_factor = 0.0;
            let mut gross_hint = 0.0;
            if let Some(sw) = self.terms.swing {
                if deal > 0.0 && gross_value > sw.threshold * nav_deal {
                    self.prepare_sales(ws, &stress);
                    sales_ready = true;
                    // The swing factor s is the cost of raising the leavers' cash,
                    // s·V = C(G1) − C(G0), with G0 the gross already needed for what is
                    // owed and G1 the gross after dealing. Since the leavers are owed
                    // V(1 − s) and the sale nets G1 − C(G1), the fixed point has the
                    // closed form G1 = G0 + max(0, V − L), L the cash and proceeds in
                    // settlement not yet spoken for: the leavers' gross is their unswung
                    // value. If the caps cut G1 the estimate covers today's part only.
                    let covered = cash + recv_open - settled;
                    let need_before = owed - covered;
                    let (g0, c0) = if need_before > tol {
                        self.plan_raise(ws, need_before, &stress, impact, tol, 0.0)
                    } else {
                        (0.0, 0.0)
                    };
                    let slack = (-need_before).max(0.0);
                    let g1 = g0 + (gross_value - slack).max(0.0);
                    if g1 > g0 {
                        self.plan_gross(ws, g1);
                        let (planned, c1) = self.plan_cost(ws, &stress, impact);
                        swing_factor = ((c1 - c0) / gross_value).clamp(0.0, sw.max_factor);
                        gross_hint = planned;
                    }
                }
            }
            let dealt_value = gross_value * (1.0 - swing_factor);
            out.swing_retained += gross_value * swing_factor;
            owed += dealt_value;
            shares -= deal;
            dealt_shares_total += deal;
            out.redeemed_dealt += dealt_value;

            // 5. Payment from cash.
            let mut paid = owed.min(cash);
            cash -= paid;
            owed -= paid;

            // 6–7. Sales net of costs for what cash and proceeds in settlement leave owed.
            let in_flight: f64 = ws.receivable.iter().sum();
            let need = owed - in_flight;
            let mut gross_sold = 0.0;
            let mut cost_today = 0.0;
            let mut class_sold = [0.0; N_CLASSES];
            if need > tol {
                if !sales_ready {
                    self.prepare_sales(ws, &stress);
                }
                let hint = if gross_hint > 0.0 {
                    gross_hint
                } else {
                    need / (1.0 - last_cost_rate)
                };
                let (gross, cost) = self.plan_raise(ws, need, &stress, impact, tol, hint);
                if gross > 0.0 {
                    last_cost_rate = (cost / gross).min(0.5);
                }
                if gross - cost < need - tol {
                    // Even the caps left part of today's need unraised.
                    out.buffer_exhaustion_day.get_or_insert(t as u32);
                }
                gross_sold = gross;
                cost_today = cost;
                for grp in &self.groups {
                    for &i in &ws.sorted[grp.start..grp.end] {
                        let q = ws.sale[i];
                        if q <= 0.0 {
                            continue;
                        }
                        if !grp.buffer {
                            out.buffer_exhaustion_day.get_or_insert(t as u32);
                            out.sold_beyond_buffer += q;
                        }
                        let p = &self.positions[i];
                        ws.mv[i] = (ws.mv[i] - q).max(0.0);
                        ws.receivable[(t + p.settle) % n_ring] += q - ws.cost[i];
                        class_sold[p.class] += q;
                    }
                }
                // Same-day settlement (T+0) pays today.
                let same_day = ws.receivable[slot];
                ws.receivable[slot] = 0.0;
                cash += same_day;
                settled += same_day;
                let more = owed.min(cash);
                cash -= more;
                owed -= more;
                paid += more;
            }
            out.liquidation_cost += cost_today;

            // 8. Fire-sale marks on what is left of each class sold.
            let mut fire_loss = 0.0;
            if gross_sold > 0.0 {
                let mut factor = [1.0; N_CLASSES];
                for c in 0..N_CLASSES {
                    let s = &stress[c];
                    let depth_scale =
                        (1.0 - s.depth_reduction) / (PERMANENT_IMPACT_GAMMA * s.vol_multiplier);
                    factor[c] = fire_sale_factor(class_sold[c], self.depth_base[c] * depth_scale);
                }
                for (i, p) in self.positions.iter().enumerate() {
                    let f = factor[p.class];
                    if f < 1.0 {
                        fire_loss += ws.mv[i] * (1.0 - f);
                        ws.mv[i] *= f;
                    }
                }
            }
            out.fire_sale_loss += fire_loss;
            if shares > 0.0 {
                liquidation_loss += (cost_today + fire_loss - gross_value * swing_factor) / shares;
            }

            // 9. Close.
            let recv_close: f64 = ws.receivable.iter().sum();
            let (all, ll, ill) = invested(ws);
            let nav_close = cash + recv_close + all - owed;
            let nps_close = if shares > 0.0 {
                nav_close / shares
            } else {
                out.final_nav_per_share
            };
            peak_nps = peak_nps.max(nps_close);
            drawdown = (1.0 - nps_close / peak_nps).max(0.0);
            out.max_nav_drawdown = out.max_nav_drawdown.max(drawdown);
            out.max_unmet_redemptions = out.max_unmet_redemptions.max(owed);
            out.redeemed_paid += paid;
            out.final_nav_per_share = nps_close;
            out.less_liquid_share_end = share(ll, all);
            out.illiquid_share_end = share(ill, all);
            out.days_run = t as u32 + 1;

            debug_assert!(
                ((cash - cash_open) - (settled - paid)).abs() <= 1e-9 * nav0,
                "day {t}: cash does not reconcile"
            );
            debug_assert!(
                ((recv_close - recv_open) - (gross_sold - cost_today - settled)).abs()
                    <= 1e-9 * nav0,
                "day {t}: receivables do not reconcile"
            );
            debug_assert!(
                ((nav_close - nav_open) - (market_pnl - cost_today - fire_loss - dealt_value))
                    .abs()
                    <= 1e-9 * nav0,
                "day {t}: NAV does not reconcile"
            );

            if record_days {
                ws.days.push(DayRecord {
                    day: t as u32,
                    requested_fraction: f,
                    dealt_value,
                    deferred_shares: deferred,
                    swing_factor,
                    paid,
                    settled,
                    gross_sold,
                    cost: cost_today,
                    fire_sale_loss: fire_loss,
                    market_pnl,
                    cash_open,
                    cash_close: cash,
                    receivables_open: recv_open,
                    receivables_close: recv_close,
                    owed_open,
                    owed_close: owed,
                    nav_open,
                    nav_close,
                    nav_per_share: nps_close,
                    drawdown,
                    less_liquid_share: share(ll, all),
                    illiquid_share: share(ill, all),
                    class_sold,
                    liquid_assets: cash + recv_close + self.liquid_holdings(ws),
                    pending_value: owed + pending * nps_close.max(0.0),
                });
            }
            nav_prev = nav_close;

            // Settled: nothing pending, owed or in settlement, no exogenous requests
            // to come, and the (pure) driver asks for nothing tomorrow.
            let quiet = t + 1 >= driver.exogenous_until()
                && pending <= settle_tol
                && owed <= settle_tol
                && recv_close <= settle_tol
                && driver.requested(&InvestorView {
                    day: t + 1,
                    nav_drawdown: drawdown,
                    gated_yesterday,
                    redeemed_so_far: dealt_shares_total / shares0,
                    liquidation_loss,
                }) * shares
                    <= settle_tol;
            if quiet {
                out.days_to_settle = Some(t as u32 + 1);
                break;
            }
        }
        out.dilution = out.liquidation_cost - out.swing_retained;
        out.style_drift = self.style_drift(ws);
        out.unmet_at_end = owed;
        out.pending_shares_at_end = pending;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
