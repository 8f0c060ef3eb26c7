//! Who owns the fund and how they redeem: the investor base (type, size, horizon,
//! notice, dealing frequency), its concentration (Herfindahl–Hirschman index, top-10
//! share), a behavioural redemption model (flows driven by absolute and relative
//! performance, volatility and peers' redemptions, with the first-mover amplification
//! of illiquid funds), the lumpy full exits of the largest holders, and the empirical
//! redemption-shock table of the IMF guide (Bouveret 2017).
//!
//! Everything is pure: no I/O, no clock. The per-day functions
//! ([`RedemptionModel::expected_monthly`], [`RedemptionModel::expected_daily`],
//! [`InvestorBase::draw_full_exits`]) allocate nothing, so the cascade can call them in
//! its inner loop.

use serde::{Deserialize, Serialize};
use std::fmt;
use stresslab_analytics::rng::Xoshiro256;

/// Business days in a month: converts monthly rates to daily ones and dealing
/// frequencies to days (252 business days a year / 12).
pub const BUSINESS_DAYS_PER_MONTH: f64 = 21.0;

/// Bad input to the investor or scenario engines: the field at fault and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub field: String,
    pub reason: String,
}

impl InputError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InputError {}

/// The kind of investor behind a holding: picks the redemption behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvestorType {
    Retail,
    /// Wealth managers and private banks: discretionary mandates that move many end
    /// clients at once.
    WealthManager,
    Pension,
    Insurer,
    /// Sovereign wealth funds, central banks.
    Sovereign,
    FundOfFunds,
    Endowment,
}

impl InvestorType {
    pub const ALL: [InvestorType; 7] = [
        InvestorType::Retail,
        InvestorType::WealthManager,
        InvestorType::Pension,
        InvestorType::Insurer,
        InvestorType::Sovereign,
        InvestorType::FundOfFunds,
        InvestorType::Endowment,
    ];
}

/// How often an investor may deal (redeem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionFrequency {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
}

impl RedemptionFrequency {
    /// Business days between dealing dates (5 a week, 21 a month, 63 a quarter).
    pub fn interval_days(self) -> u32 {
        match self {
            RedemptionFrequency::Daily => 1,
            RedemptionFrequency::Weekly => 5,
            RedemptionFrequency::Monthly => 21,
            RedemptionFrequency::Quarterly => 63,
        }
    }
}

/// One line of the share register: `holders` investors of one type and terms holding
/// `aum_share` of the fund between them, in equal parts. A large investor is a line
/// with one holder; the retail public is a line with many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvestorGroup {
    pub id: String,
    pub investor_type: InvestorType,
    /// Share of the fund's AUM held by the whole group, 0..1.
    pub aum_share: f64,
    /// Number of investors in the group (each holds `aum_share / holders`), ≥ 1.
    pub holders: u32,
    /// Investment horizon in years (informative; long-horizon investors are modelled as
    /// less reactive through their type).
    pub horizon_years: f64,
    /// Business days of notice before a redemption is dealt.
    pub notice_days: u32,
    pub frequency: RedemptionFrequency,
}

impl InvestorGroup {
    /// Share of AUM held by each holder of the group.
    pub fn holder_share(&self) -> f64 {
        self.aum_share / f64::from(self.holders)
    }

    /// First business day (day 0 = today) on which a redemption requested today is
    /// paid: the first dealing date on or after the end of the notice period.
    pub fn first_dealing_day(&self) -> u32 {
        let interval = self.frequency.interval_days();
        self.notice_days.div_ceil(interval) * interval
    }
}

/// One of the largest individual holders: its group and its share of AUM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TopHolder {
    pub group: usize,
    pub share: f64,
}

/// A validated share register, with its ten largest holders precomputed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvestorBase {
    groups: Vec<InvestorGroup>,
    top10: Vec<TopHolder>,
}

/// Tolerance on the shares summing to one (rounding in a published register).
const SHARE_SUM_TOLERANCE: f64 = 1e-6;

impl InvestorBase {
    /// Validates the register: at least one group, shares finite and in (0, 1] summing
    /// to one (±1e-6), at least one holder per group, a finite non-negative horizon,
    /// unique ids.
    pub fn new(groups: Vec<InvestorGroup>) -> Result<Self, InputError> {
        if groups.is_empty() {
            return Err(InputError::new("investors", "the investor base is empty"));
        }
        let mut sum = 0.0;
        for (i, g) in groups.iter().enumerate() {
            let field = |f: &str| format!("investors[{i}] ({}).{f}", g.id);
            if !(g.aum_share.is_finite() && g.aum_share > 0.0 && g.aum_share <= 1.0) {
                return Err(InputError::new(
                    field("aum_share"),
                    format!("must be in (0, 1], got {}", g.aum_share),
                ));
            }
            if g.holders == 0 {
                return Err(InputError::new(field("holders"), "must be at least 1"));
            }
            if !(g.horizon_years.is_finite() && g.horizon_years >= 0.0) {
                return Err(InputError::new(
                    field("horizon_years"),
                    format!("must be finite and ≥ 0, got {}", g.horizon_years),
                ));
            }
            if groups[..i].iter().any(|o| o.id == g.id) {
                return Err(InputError::new(field("id"), "duplicate investor group id"));
            }
            sum += g.aum_share;
        }
        if (sum - 1.0).abs() > SHARE_SUM_TOLERANCE {
            return Err(InputError::new(
                "investors.aum_share",
                format!("shares must sum to 1, they sum to {sum}"),
            ));
        }
        let top10 = top_holders(&groups, 10);
        Ok(Self { groups, top10 })
    }

    pub fn groups(&self) -> &[InvestorGroup] {
        &self.groups
    }

    /// The ten largest individual holders, largest first (fewer if the register has
    /// fewer holders).
    pub fn top10(&self) -> &[TopHolder] {
        &self.top10
    }

    /// Herfindahl–Hirschman index of holder shares, Σ sᵢ² over individual holders, on
    /// the 0..1 scale (×10,000 for the antitrust convention; U.S. DoJ/FTC Horizontal
    /// Merger Guidelines 2010 §5.3). A group of `h` equal holders of total share `s`
    /// contributes `h·(s/h)² = s²/h`. `1/HHI` is the "effective number" of investors.
    pub fn hhi(&self) -> f64 {
        self.groups
            .iter()
            .map(|g| g.aum_share * g.aum_share / f64::from(g.holders))
            .sum()
    }

    /// Share of AUM held by the `n` largest individual holders.
    pub fn top_n_share(&self, n: usize) -> f64 {
        if n <= self.top10.len() {
            return self.top10[..n].iter().map(|h| h.share).sum();
        }
        top_holders(&self.groups, n).iter().map(|h| h.share).sum()
    }

    /// Share of AUM held by the ten largest holders (the seed fund's 45%).
    pub fn top10_share(&self) -> f64 {
        self.top10.iter().map(|h| h.share).sum()
    }

    /// Random full exits of the ten largest holders over the stress horizon: each
    /// redeems everything with the probability of its type at this `stress`
    /// ([`RedemptionSensitivity::full_exit_probability`]), independently. Adds each
    /// exit's share to `exited_by_group[group]` and returns the total share exiting.
    /// Allocation-free; the same generator state gives the same exits.
    pub fn draw_full_exits(
        &self,
        model: &RedemptionModel,
        stress: f64,
        rng: &mut Xoshiro256,
        exited_by_group: &mut [f64],
    ) -> Result<f64, InputError> {
        if !(0.0..=1.0).contains(&stress) {
            return Err(InputError::new(
                "stress",
                format!("must be in [0, 1], got {stress}"),
            ));
        }
        if exited_by_group.len() != self.groups.len() {
            return Err(InputError::new(
                "exited_by_group",
                format!(
                    "needs one slot per investor group ({}), got {}",
                    self.groups.len(),
                    exited_by_group.len()
                ),
            ));
        }
        let mut total = 0.0;
        for h in &self.top10 {
            let ty = self.groups[h.group].investor_type;
            let p = model.sensitivity(ty).full_exit_probability(stress);
            if rng.uniform() < p {
                exited_by_group[h.group] += h.share;
                total += h.share;
            }
        }
        Ok(total)
    }
}

/// The `n` largest individual holders, largest first (ties: register order).
fn top_holders(groups: &[InvestorGroup], n: usize) -> Vec<TopHolder> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        groups[b]
            .holder_share()
            .total_cmp(&groups[a].holder_share())
            .then(a.cmp(&b))
    });
    let mut out = Vec::with_capacity(n.min(16));
    'outer: for g in order {
        for _ in 0..groups[g].holders {
            if out.len() == n {
                break 'outer;
            }
            out.push(TopHolder {
                group: g,
                share: groups[g].holder_share(),
            });
        }
    }
    out
}

/// What drives a month's redemptions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowDrivers {
    /// The fund's return over the past month (0.05 = +5%).
    pub fund_return: f64,
    /// The peer group's return over the same month.
    pub peer_return: f64,
    /// The fund's annualised return volatility.
    pub volatility: f64,
    /// Share of the peer funds' AUM redeemed over the past month, 0..1.
    pub peer_redemptions: f64,
    /// The fund's illiquidity: share of NAV outside the 22e-4 highly-liquid bucket, 0..1.
    pub illiquidity: f64,
}

impl FlowDrivers {
    fn validate(&self) -> Result<(), InputError> {
        let check = |name: &str, v: f64, ok: bool, what: &str| {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(InputError::new(
                    format!("drivers.{name}"),
                    format!("{what}, got {v}"),
                ))
            }
        };
        check(
            "fund_return",
            self.fund_return,
            self.fund_return > -1.0,
            "must be > -1",
        )?;
        check(
            "peer_return",
            self.peer_return,
            self.peer_return > -1.0,
            "must be > -1",
        )?;
        check(
            "volatility",
            self.volatility,
            self.volatility >= 0.0,
            "must be ≥ 0",
        )?;
        check(
            "peer_redemptions",
            self.peer_redemptions,
            (0.0..=1.0).contains(&self.peer_redemptions),
            "must be in [0, 1]",
        )?;
        check(
            "illiquidity",
            self.illiquidity,
            (0.0..=1.0).contains(&self.illiquidity),
            "must be in [0, 1]",
        )
    }
}

/// One investor type's redemption behaviour. Monthly rates are gross redemption
/// requests as a share of the type's holding; slopes are per unit of the driver (a
/// slope of 0.4 on underperformance: 5% underperformance → 2% of the holding redeemed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RedemptionSensitivity {
    /// Redemptions in a normal month.
    pub base_monthly: f64,
    /// Response to underperforming peers in a fully liquid fund.
    pub down_slope: f64,
    /// Response to outperforming peers (lowers redemptions, never below zero).
    pub up_slope: f64,
    /// Proportional increase of the underperformance and herding responses per unit of
    /// fund illiquidity: `slope × (1 + amplifier × illiquidity)`.
    pub illiquidity_amplifier: f64,
    /// Response to an absolute loss of the fund.
    pub loss_slope: f64,
    /// Response to annualised volatility above [`VOLATILITY_REFERENCE`].
    pub vol_slope: f64,
    /// Response to peers' redemptions (herding).
    pub herding: f64,
    /// Probability that one large holder of this type exits in full over the 90-day
    /// stress horizon, in calm markets (`stress = 0`) and in a crisis (`stress = 1`).
    pub full_exit_calm: f64,
    pub full_exit_crisis: f64,
}

impl RedemptionSensitivity {
    /// Full-exit probability of one large holder, linear in `stress` ∈ [0, 1] between
    /// the calm and crisis values.
    pub fn full_exit_probability(&self, stress: f64) -> f64 {
        self.full_exit_calm + (self.full_exit_crisis - self.full_exit_calm) * stress
    }
}

/// Annualised volatility above which investors start to redeem for volatility. An
/// assumption: roughly the long-run volatility of a balanced multi-asset fund.
pub const VOLATILITY_REFERENCE: f64 = 0.15;

/// The redemption behaviour of each investor type.
///
/// Expected gross redemptions of a holding over the next month, as a share of it:
///
/// ```text
/// r = base
///   + down·(1 + κ·illiq)·max(−rel, 0) − up·max(rel, 0)      rel = fund − peers
///   + loss·max(−fund, 0)
///   + vol·max(σ − σ_ref, 0)
///   + herd·(1 + κ·illiq)·peer_redemptions
/// clamped to [0, 1].
/// ```
///
/// Shape, from the literature:
/// - Flows chase *relative* performance, and in liquid (equity) funds the response is
///   convex — strong to outperformance, weak to underperformance (Chevalier & Ellison
///   1997, "Risk taking by mutual funds as a response to incentives", JPE 105(6);
///   Sirri & Tufano 1998, "Costly search and mutual fund flows", JF 53(5)): at zero
///   illiquidity `up ≥ down` for retail and wealth managers.
/// - In illiquid funds outflows respond more strongly to bad performance — a concave
///   flow–performance relation, because the redemption costs left to those who stay
///   give a first-mover advantage (Goldstein, Jiang & Ng 2017, "Investor flows and
///   fragility in corporate bond funds", JFE 126(3); Chen, Goldstein & Jiang 2010,
///   "Payoff complementarities and financial fragility: evidence from mutual fund
///   outflows", JFE 97(2)): the `(1 + κ·illiq)` factor, which at full illiquidity makes
///   `down·(1 + κ) > up`. The same strategic complementarity amplifies herding on
///   peers' redemptions.
/// - Chen, Goldstein & Jiang (2010) find the illiquidity effect weaker in funds held
///   mainly by large institutions, which internalise the cost of their own exit: κ is
///   lower for pensions, insurers, sovereigns and endowments than for retail, wealth
///   managers and funds of funds. Intermediated money runs fastest (Schmidt,
///   Timmermann & Wermers 2016, "Runs on money market mutual funds", AER 106(9):
///   institutional share classes ran first in September 2008): funds of funds and
///   wealth managers have the highest slopes.
///
/// Magnitudes are **assumptions** ([`DEFAULT_SENSITIVITIES`]): the papers estimate
/// slopes on fund-specific alpha and fund-level flow data we do not hold; the values
/// are chosen so that a severe month (−10% return, 5% below peers, 30% volatility, 5%
/// peer outflows, half the fund illiquid) gives retail redemptions of ~8%, inside the
/// empirical 5th–1st percentile range of monthly flows of [`EMPIRICAL_FLOW_SHOCKS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedemptionModel {
    /// One entry per [`InvestorType`], in the order of [`InvestorType::ALL`].
    pub sensitivities: [RedemptionSensitivity; 7],
}

/// The default per-type parameters. **Assumptions** (see [`RedemptionModel`]): the
/// ordering across types follows the literature cited there; the levels are set so the
/// model reproduces the empirical shock table at stress points. Base rates: a normal
/// month's gross redemptions, ~1% for retail (the order of magnitude of the annual
/// gross redemption rates of US long-term mutual funds in the ICI Fact Book, which
/// have run at roughly a fifth to a third of assets a year) and a fraction of that for
/// long-horizon institutions.
pub const DEFAULT_SENSITIVITIES: [RedemptionSensitivity; 7] = [
    // Retail: convex at zero illiquidity (up 0.6 > down 0.4); herd-prone.
    RedemptionSensitivity {
        base_monthly: 0.010,
        down_slope: 0.40,
        up_slope: 0.60,
        illiquidity_amplifier: 1.5,
        loss_slope: 0.10,
        vol_slope: 0.02,
        herding: 0.30,
        full_exit_calm: 0.01,
        full_exit_crisis: 0.10,
    },
    // Wealth manager / private bank: moves many clients at once, fast.
    RedemptionSensitivity {
        base_monthly: 0.012,
        down_slope: 0.60,
        up_slope: 0.60,
        illiquidity_amplifier: 1.5,
        loss_slope: 0.15,
        vol_slope: 0.03,
        herding: 0.40,
        full_exit_calm: 0.03,
        full_exit_crisis: 0.25,
    },
    // Pension: long horizon, internalises its exit cost (low κ).
    RedemptionSensitivity {
        base_monthly: 0.004,
        down_slope: 0.30,
        up_slope: 0.20,
        illiquidity_amplifier: 1.0,
        loss_slope: 0.05,
        vol_slope: 0.01,
        herding: 0.10,
        full_exit_calm: 0.02,
        full_exit_crisis: 0.15,
    },
    // Insurer: like a pension, but risk-based capital makes volatility costly.
    RedemptionSensitivity {
        base_monthly: 0.004,
        down_slope: 0.30,
        up_slope: 0.20,
        illiquidity_amplifier: 1.0,
        loss_slope: 0.05,
        vol_slope: 0.03,
        herding: 0.10,
        full_exit_calm: 0.02,
        full_exit_crisis: 0.20,
    },
    // Sovereign: the stickiest money.
    RedemptionSensitivity {
        base_monthly: 0.002,
        down_slope: 0.15,
        up_slope: 0.10,
        illiquidity_amplifier: 0.5,
        loss_slope: 0.05,
        vol_slope: 0.01,
        herding: 0.05,
        full_exit_calm: 0.01,
        full_exit_crisis: 0.10,
    },
    // Fund of funds: hot money, strongest first-mover response.
    RedemptionSensitivity {
        base_monthly: 0.020,
        down_slope: 0.90,
        up_slope: 0.80,
        illiquidity_amplifier: 2.0,
        loss_slope: 0.20,
        vol_slope: 0.05,
        herding: 0.60,
        full_exit_calm: 0.05,
        full_exit_crisis: 0.40,
    },
    // Endowment: perpetual horizon, spending rule.
    RedemptionSensitivity {
        base_monthly: 0.003,
        down_slope: 0.20,
        up_slope: 0.15,
        illiquidity_amplifier: 0.5,
        loss_slope: 0.05,
        vol_slope: 0.01,
        herding: 0.05,
        full_exit_calm: 0.01,
        full_exit_crisis: 0.08,
    },
];

impl Default for RedemptionModel {
    fn default() -> Self {
        Self {
            sensitivities: DEFAULT_SENSITIVITIES,
        }
    }
}

impl RedemptionModel {
    pub fn sensitivity(&self, ty: InvestorType) -> &RedemptionSensitivity {
        &self.sensitivities[ty as usize]
    }

    /// Expected gross redemptions of a holding of type `ty` over the next month, as a
    /// share of the holding (the formula of [`RedemptionModel`]).
    pub fn expected_monthly(&self, ty: InvestorType, d: &FlowDrivers) -> Result<f64, InputError> {
        d.validate()?;
        let s = self.sensitivity(ty);
        let rel = d.fund_return - d.peer_return;
        let amplify = 1.0 + s.illiquidity_amplifier * d.illiquidity;
        let r = s.base_monthly + s.down_slope * amplify * (-rel).max(0.0)
            - s.up_slope * rel.max(0.0)
            + s.loss_slope * (-d.fund_return).max(0.0)
            + s.vol_slope * (d.volatility - VOLATILITY_REFERENCE).max(0.0)
            + s.herding * amplify * d.peer_redemptions;
        Ok(r.clamp(0.0, 1.0))
    }

    /// The same redemptions as a constant daily rate on the remaining holding:
    /// `1 − (1 − r_month)^(1/21)`, so 21 business days compound back to the month.
    pub fn expected_daily(&self, ty: InvestorType, d: &FlowDrivers) -> Result<f64, InputError> {
        let m = self.expected_monthly(ty, d)?;
        Ok(monthly_to_daily(m))
    }

    /// Expected monthly redemptions of the whole fund: the AUM-weighted sum over the
    /// investor groups.
    pub fn fund_expected_monthly(
        &self,
        base: &InvestorBase,
        d: &FlowDrivers,
    ) -> Result<f64, InputError> {
        let mut total = 0.0;
        for g in base.groups() {
            total += g.aum_share * self.expected_monthly(g.investor_type, d)?;
        }
        Ok(total)
    }
}

/// Daily rate equivalent to a monthly one over [`BUSINESS_DAYS_PER_MONTH`] days.
pub fn monthly_to_daily(monthly: f64) -> f64 {
    1.0 - (1.0 - monthly).powf(1.0 / BUSINESS_DAYS_PER_MONTH)
}

/// Fund categories of the empirical redemption-shock table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FundType {
    Equity,
    /// Investment-grade and government bond funds.
    Bond,
    HighYieldBond,
    EmergingMarketBond,
    /// Mixed / multi-asset (the seed fund).
    Mixed,
    /// Funds of alternatives with daily or weekly dealing.
    Alternative,
}

/// Monthly net flows, as a share of NAV, at the 5th and 1st percentiles of the
/// cross-section of funds of one type (negative = outflow).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowPercentiles {
    pub fund_type: FundType,
    pub p5_monthly: f64,
    pub p1_monthly: f64,
}

/// Redemption shocks from the empirical distribution of monthly fund flows, the
/// "historical approach" of Bouveret (2017), "Liquidity stress tests for investment
/// funds: a practical guide", IMF WP/17/226, Section III: the redemption shock is the
/// 5th (moderate) or 1st (severe) percentile of monthly net flows of funds of the same
/// type.
///
/// **Assumptions, not Bouveret's table.** We hold no fund-flow data set and could not
/// consult the paper's table offline, so these values are assumptions. What they rest
/// on: (1) the ordering Bouveret and ESMA report — less liquid fund types (high yield,
/// EM debt) have the fattest outflow tails, equity and mixed funds the thinnest, as in
/// Goldstein, Jiang & Ng (2017); (2) a cross-check on ESMA (2019), "Stress simulation
/// for investment funds", Economic Report, 5 September 2019: its severe redemption
/// shock for UCITS high-yield bond funds was 8.2% of NAV (the most severe of the bond
/// categories; most bond funds could meet 5–10% weekly redemptions), which sits at our
/// HY monthly 5th percentile — as it should for a shock applied over a week rather than
/// a month. Replace with the published percentiles (or estimate them from a flow data
/// set) when one is available.
pub const EMPIRICAL_FLOW_SHOCKS: [FlowPercentiles; 6] = [
    FlowPercentiles {
        fund_type: FundType::Equity,
        p5_monthly: -0.050,
        p1_monthly: -0.110,
    },
    FlowPercentiles {
        fund_type: FundType::Bond,
        p5_monthly: -0.060,
        p1_monthly: -0.130,
    },
    FlowPercentiles {
        fund_type: FundType::HighYieldBond,
        p5_monthly: -0.080,
        p1_monthly: -0.170,
    },
    FlowPercentiles {
        fund_type: FundType::EmergingMarketBond,
        p5_monthly: -0.090,
        p1_monthly: -0.180,
    },
    FlowPercentiles {
        fund_type: FundType::Mixed,
        p5_monthly: -0.050,
        p1_monthly: -0.100,
    },
    FlowPercentiles {
        fund_type: FundType::Alternative,
        p5_monthly: -0.060,
        p1_monthly: -0.140,
    },
];

/// The empirical percentiles of a fund type.
pub fn flow_percentiles(fund_type: FundType) -> FlowPercentiles {
    // Rows are in enum order (checked by a test).
    EMPIRICAL_FLOW_SHOCKS[fund_type as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, ty: InvestorType, share: f64, holders: u32) -> InvestorGroup {
        InvestorGroup {
            id: id.into(),
            investor_type: ty,
            aum_share: share,
            holders,
            horizon_years: 5.0,
            notice_days: 0,
            frequency: RedemptionFrequency::Daily,
        }
    }

    /// A: 20% (1 holder), B: 10% (1), C: 30% over 3 holders (10% each), D: 40% over 100
    /// retail holders (0.4% each).
    fn hand_base() -> InvestorBase {
        InvestorBase::new(vec![
            group("A", InvestorType::Pension, 0.2, 1),
            group("B", InvestorType::FundOfFunds, 0.1, 1),
            group("C", InvestorType::WealthManager, 0.3, 3),
            group("D", InvestorType::Retail, 0.4, 100),
        ])
        .unwrap()
    }

    #[test]
    fn hhi_and_top10_by_hand() {
        let b = hand_base();
        // HHI = 0.2² + 0.1² + 3·0.1² + 100·0.004² = 0.04 + 0.01 + 0.03 + 0.0016.
        assert!((b.hhi() - 0.0816).abs() < 1e-15);
        // Top 10: A 0.2, then B and C's three holders at 0.1 each, then 5 retail at 0.004.
        assert!((b.top10_share() - (0.2 + 4.0 * 0.1 + 5.0 * 0.004)).abs() < 1e-15);
        assert!((b.top_n_share(3) - 0.4).abs() < 1e-15);
        assert!((b.top_n_share(20) - (0.6 + 15.0 * 0.004)).abs() < 1e-15);
        assert_eq!(b.top10().len(), 10);
        assert_eq!(b.top10()[0].group, 0);
        // Ties at 0.1 keep register order: B (group 1) before C (group 2).
        assert_eq!(b.top10()[1].group, 1);
        assert_eq!(b.top10()[9].group, 3);
        // One holder owning everything: HHI 1, top-10 share 1.
        let mono = InvestorBase::new(vec![group("X", InvestorType::Sovereign, 1.0, 1)]).unwrap();
        assert_eq!(mono.hhi(), 1.0);
        assert_eq!(mono.top10_share(), 1.0);
        assert_eq!(mono.top10().len(), 1);
    }

    #[test]
    fn bad_registers_are_rejected_with_the_field() {
        let e = InvestorBase::new(vec![
            group("A", InvestorType::Retail, 0.5, 1),
            group("B", InvestorType::Retail, 0.4, 1),
        ])
        .unwrap_err();
        assert_eq!(e.field, "investors.aum_share");
        let e = InvestorBase::new(vec![group("A", InvestorType::Retail, 1.0, 0)]).unwrap_err();
        assert_eq!(e.field, "investors[0] (A).holders");
        let e = InvestorBase::new(vec![group("A", InvestorType::Retail, f64::NAN, 1)]).unwrap_err();
        assert_eq!(e.field, "investors[0] (A).aum_share");
        let e = InvestorBase::new(vec![
            group("A", InvestorType::Retail, 0.5, 1),
            group("A", InvestorType::Retail, 0.5, 1),
        ])
        .unwrap_err();
        assert_eq!(e.field, "investors[1] (A).id");
        assert!(InvestorBase::new(vec![]).is_err());
    }

    #[test]
    fn first_dealing_day_waits_for_notice_then_the_next_dealing_date() {
        let mut g = group("A", InvestorType::Pension, 1.0, 1);
        assert_eq!(g.first_dealing_day(), 0);
        g.frequency = RedemptionFrequency::Weekly;
        g.notice_days = 7;
        assert_eq!(g.first_dealing_day(), 10);
        g.notice_days = 10;
        assert_eq!(g.first_dealing_day(), 10);
        g.frequency = RedemptionFrequency::Monthly;
        g.notice_days = 30;
        assert_eq!(g.first_dealing_day(), 42);
        g.frequency = RedemptionFrequency::Quarterly;
        g.notice_days = 5;
        assert_eq!(g.first_dealing_day(), 63);
    }

    fn stressed() -> FlowDrivers {
        FlowDrivers {
            fund_return: -0.10,
            peer_return: -0.05,
            volatility: 0.30,
            peer_redemptions: 0.05,
            illiquidity: 0.5,
        }
    }

    #[test]
    fn redemption_model_reference_values() {
        let m = RedemptionModel::default();
        // Retail, by hand: amplifier 1 + 1.5·0.5 = 1.75;
        // 0.010 + 0.40·1.75·0.05 + 0.10·0.10 + 0.02·(0.30 − 0.15) + 0.30·1.75·0.05
        // = 0.010 + 0.035 + 0.010 + 0.003 + 0.02625 = 0.08425.
        let r = m
            .expected_monthly(InvestorType::Retail, &stressed())
            .unwrap();
        assert!((r - 0.08425).abs() < 1e-15, "{r}");
        // Daily: 1 − (1 − 0.08425)^(1/21) = 0.0041822716180188735 (numpy).
        let d = m.expected_daily(InvestorType::Retail, &stressed()).unwrap();
        assert!((d - 0.004_182_271_618_018_873_5).abs() < 1e-15, "{d}");
        // Sovereign: amplifier 1.25;
        // 0.002 + 0.15·1.25·0.05 + 0.05·0.10 + 0.01·0.15 + 0.05·1.25·0.05 = 0.021.
        let s = m
            .expected_monthly(InvestorType::Sovereign, &stressed())
            .unwrap();
        assert!((s - 0.021).abs() < 1e-15, "{s}");
        // Retail in a good month (5% ahead of peers, calm, liquid): 0.01 − 0.6·0.05 < 0
        // → no redemptions, never negative.
        let good = FlowDrivers {
            fund_return: 0.05,
            peer_return: 0.0,
            volatility: 0.10,
            peer_redemptions: 0.0,
            illiquidity: 0.0,
        };
        assert_eq!(
            m.expected_monthly(InvestorType::Retail, &good).unwrap(),
            0.0
        );
        // Calm month at par with peers: the base rate.
        let calm = FlowDrivers {
            fund_return: 0.0,
            ..good
        };
        assert_eq!(
            m.expected_monthly(InvestorType::Pension, &calm).unwrap(),
            0.004
        );
        // Fund level: AUM-weighted over the hand base.
        let b = hand_base();
        let want: f64 = b
            .groups()
            .iter()
            .map(|g| g.aum_share * m.expected_monthly(g.investor_type, &stressed()).unwrap())
            .sum();
        assert_eq!(m.fund_expected_monthly(&b, &stressed()).unwrap(), want);
    }

    #[test]
    fn worse_performance_means_more_outflow_for_every_type() {
        let m = RedemptionModel::default();
        for ty in InvestorType::ALL {
            let mut last = -1.0;
            // Fund return from +10% down to −30%, peers fixed at −2%.
            for k in 0..=40 {
                let d = FlowDrivers {
                    fund_return: 0.10 - 0.01 * f64::from(k),
                    peer_return: -0.02,
                    ..stressed()
                };
                let r = m.expected_monthly(ty, &d).unwrap();
                assert!(r >= last, "{ty:?} at step {k}: {r} < {last}");
                if d.fund_return < -0.02 {
                    assert!(r > last, "{ty:?}: flat where the fund lags its peers");
                }
                last = r;
            }
            // More volatility and more peer redemptions: more outflow.
            let hi_vol = FlowDrivers {
                volatility: 0.50,
                ..stressed()
            };
            let herd = FlowDrivers {
                peer_redemptions: 0.10,
                ..stressed()
            };
            let base = m.expected_monthly(ty, &stressed()).unwrap();
            assert!(m.expected_monthly(ty, &hi_vol).unwrap() > base);
            assert!(m.expected_monthly(ty, &herd).unwrap() > base);
        }
    }

    #[test]
    fn illiquid_funds_respond_more_strongly_to_bad_performance() {
        let m = RedemptionModel::default();
        for ty in InvestorType::ALL {
            let response = |illiquidity: f64| {
                let at = |rel: f64| {
                    let d = FlowDrivers {
                        fund_return: rel,
                        peer_return: 0.0,
                        volatility: 0.10,
                        peer_redemptions: 0.0,
                        illiquidity,
                    };
                    m.expected_monthly(ty, &d).unwrap()
                };
                at(-0.05) - at(0.0)
            };
            let mut last = 0.0;
            for k in 0..=10 {
                let r = response(0.1 * f64::from(k));
                assert!(r > last, "{ty:?}: illiquidity {k}/10 does not amplify");
                last = r;
            }
            // Goldstein–Jiang–Ng shape: at full illiquidity the outflow response to
            // underperformance is steeper than the inflow response to outperformance.
            let s = m.sensitivity(ty);
            assert!(s.down_slope * (1.0 + s.illiquidity_amplifier) > s.up_slope);
        }
        // Sirri–Tufano shape for liquid retail money: convex (up ≥ down).
        let r = m.sensitivity(InvestorType::Retail);
        assert!(r.up_slope > r.down_slope);
    }

    #[test]
    fn bad_drivers_are_rejected_with_the_field() {
        let m = RedemptionModel::default();
        let cases = [
            (
                FlowDrivers {
                    fund_return: -1.5,
                    ..stressed()
                },
                "drivers.fund_return",
            ),
            (
                FlowDrivers {
                    volatility: -0.1,
                    ..stressed()
                },
                "drivers.volatility",
            ),
            (
                FlowDrivers {
                    peer_redemptions: 1.5,
                    ..stressed()
                },
                "drivers.peer_redemptions",
            ),
            (
                FlowDrivers {
                    illiquidity: f64::NAN,
                    ..stressed()
                },
                "drivers.illiquidity",
            ),
        ];
        for (d, field) in cases {
            let e = m.expected_monthly(InvestorType::Retail, &d).unwrap_err();
            assert_eq!(e.field, field);
        }
    }

    #[test]
    fn full_exits_happen_at_the_stated_probability_and_repeat_with_the_seed() {
        let b = hand_base();
        let m = RedemptionModel::default();
        let n = 20_000;
        for stress in [0.0, 0.5, 1.0] {
            let mut rng = Xoshiro256::seed_from_u64(11);
            let mut exited = vec![0.0; 4];
            for _ in 0..n {
                b.draw_full_exits(&m, stress, &mut rng, &mut exited)
                    .unwrap();
            }
            // Group A: one pension holder of 20%: expected exited share per draw
            // 0.2·p, p = 0.02 + 0.13·stress; binomial sd of the mean 0.2·√(p(1−p)/n).
            let p = 0.02 + 0.13 * stress;
            let mean = exited[0] / f64::from(n);
            let sd = 0.2 * (p * (1.0 - p) / f64::from(n)).sqrt();
            assert!((mean - 0.2 * p).abs() < 4.0 * sd, "stress {stress}: {mean}");
            // Group D: only its five holders in the top 10 can exit (retail p).
            let p = 0.01 + 0.09 * stress;
            let mean = exited[3] / f64::from(n);
            let sd = 5.0 * 0.004 * (p * (1.0 - p) / (5.0 * f64::from(n))).sqrt();
            assert!(
                (mean - 5.0 * 0.004 * p).abs() < 4.0 * sd,
                "stress {stress}: {mean}"
            );
        }
        let draw = |seed| {
            let mut rng = Xoshiro256::seed_from_u64(seed);
            let mut ex = vec![0.0; 4];
            let totals: Vec<f64> = (0..50)
                .map(|_| b.draw_full_exits(&m, 0.8, &mut rng, &mut ex).unwrap())
                .collect();
            (totals, ex)
        };
        assert_eq!(draw(5), draw(5));
        let mut rng = Xoshiro256::seed_from_u64(1);
        assert_eq!(
            b.draw_full_exits(&m, 0.5, &mut rng, &mut [0.0; 3])
                .unwrap_err()
                .field,
            "exited_by_group"
        );
        assert_eq!(
            b.draw_full_exits(&m, 1.5, &mut rng, &mut [0.0; 4])
                .unwrap_err()
                .field,
            "stress"
        );
    }

    #[test]
    fn empirical_table_has_one_ordered_row_per_fund_type() {
        let all = [
            FundType::Equity,
            FundType::Bond,
            FundType::HighYieldBond,
            FundType::EmergingMarketBond,
            FundType::Mixed,
            FundType::Alternative,
        ];
        for ft in all {
            let p = flow_percentiles(ft);
            assert_eq!(p.fund_type, ft);
            // The 1st percentile is the worse outflow.
            assert!(p.p1_monthly < p.p5_monthly && p.p5_monthly < 0.0);
        }
        // Less liquid fund types have fatter outflow tails.
        assert!(
            flow_percentiles(FundType::HighYieldBond).p1_monthly
                < flow_percentiles(FundType::Bond).p1_monthly
        );
        assert!(
            flow_percentiles(FundType::Bond).p1_monthly
                < flow_percentiles(FundType::Equity).p1_monthly
        );
    }
}
