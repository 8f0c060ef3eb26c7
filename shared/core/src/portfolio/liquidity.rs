//! The liquidity workflow's inputs: a position's market-liquidity data (`liquidity`),
//! the fund's dealing terms (`fund`) and its share register (`investors`).
//!
//! Core cannot depend on the liquidity crate, so the class, investor-type and peer-group
//! names are held here as validated snake_case strings; `stresslab-liquidity` maps each
//! to its own enum (and tests that every name here has a counterpart there).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

use super::{kind, section, Checker};

/// The liquidity asset classes (`stresslab_liquidity::types::AssetClass`, snake_case).
pub const LIQUIDITY_CLASSES: [&str; 12] = [
    "cash",
    "cash_equivalent",
    "short_sovereign",
    "sovereign",
    "equity_large",
    "equity_mid",
    "equity_small",
    "equity_em",
    "credit_ig",
    "credit_hy",
    "em_debt",
    "alternatives",
];

/// Investor types (`stresslab_liquidity::investors::InvestorType`, snake_case).
pub const INVESTOR_TYPES: [&str; 7] = [
    "retail",
    "wealth_manager",
    "pension",
    "insurer",
    "sovereign",
    "fund_of_funds",
    "endowment",
];

/// Peer groups of the empirical flow-shock table
/// (`stresslab_liquidity::investors::FundType`, snake_case).
pub const PEER_GROUPS: [&str; 6] = [
    "equity",
    "bond",
    "high_yield_bond",
    "emerging_market_bond",
    "mixed",
    "alternative",
];

/// Longest settlement lag accepted, days: a year. Longer is a unit error (days for
/// hours?) rather than a holding.
pub const MAX_SETTLEMENT_DAYS: u32 = 365;

/// Longest notice period accepted, business days: a year of business days (the
/// cascade's own limit).
pub const MAX_NOTICE_DAYS: u32 = 250;

/// Tolerance on investor shares summing to one (rounding in a published register).
pub const AUM_SHARE_TOLERANCE: f64 = 1e-6;

/// A position's market-liquidity data. Only the class is required: every missing field
/// is filled from the class defaults by the liquidity workflow, which lists what it
/// filled in its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityInputs {
    /// One of [`LIQUIDITY_CLASSES`].
    pub asset_class: String,
    /// Average daily traded volume of the instrument (market-wide), base currency per
    /// day, > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adv: Option<f64>,
    /// Full quoted bid-ask spread in normal markets, basis points of price, ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_ask_bps: Option<f64>,
    /// Daily price volatility, fraction (0.02 = 2%/day), ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_vol: Option<f64>,
    /// Business days from trade to cash (T+n), 0..=365.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_days: Option<u32>,
    /// Amount of the issue outstanding, base currency, > 0: sets a turnover-based
    /// default ADV when `adv` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_outstanding: Option<f64>,
}

/// How often the fund (or an investor's share class) deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealingFrequency {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
}

impl DealingFrequency {
    const ALL: [(&'static str, DealingFrequency); 4] = [
        ("daily", DealingFrequency::Daily),
        ("weekly", DealingFrequency::Weekly),
        ("monthly", DealingFrequency::Monthly),
        ("quarterly", DealingFrequency::Quarterly),
    ];

    /// The snake_case name, as in the input.
    pub fn name(self) -> &'static str {
        match self {
            DealingFrequency::Daily => "daily",
            DealingFrequency::Weekly => "weekly",
            DealingFrequency::Monthly => "monthly",
            DealingFrequency::Quarterly => "quarterly",
        }
    }
}

/// Deferral gate: on a dealing day, redemptions above `threshold` of NAV are deferred.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GateInputs {
    /// Share of NAV dealt per dealing day at most, in (0, 1].
    pub threshold: f64,
}

/// Partial swing pricing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwingInputs {
    /// Net outflow, share of NAV, above which the price swings, in [0, 1].
    pub threshold: f64,
    /// Largest swing, fraction of NAV per share, in [0, 1).
    pub max_factor: f64,
}

/// The fund's dealing terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FundInputs {
    pub dealing_frequency: DealingFrequency,
    /// Business days of notice before a redemption deals (the prospectus minimum).
    #[serde(default)]
    pub notice_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateInputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swing_pricing: Option<SwingInputs>,
    /// The liquidity classes that form the buffer, in the order they are drawn; cash,
    /// if listed, must come first (it is always drawn first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buffer_tiers: Vec<String>,
    /// One of [`PEER_GROUPS`]: the fund type whose empirical flow shocks apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_group: Option<String>,
}

/// One line of the share register: `holders` investors of one type holding `aum_share`
/// of the fund between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvestorInputs {
    pub id: String,
    /// One of [`INVESTOR_TYPES`].
    #[serde(rename = "type")]
    pub investor_type: String,
    /// Share of the fund's AUM, in (0, 1]; the register's shares sum to 1.
    pub aum_share: f64,
    /// Number of investors in the line, ≥ 1.
    pub holders: u32,
    /// Investment horizon, years, ≥ 0.
    pub horizon_years: f64,
    /// Business days of notice; the fund's when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_days: Option<u32>,
    /// The fund's dealing frequency when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redemption_frequency: Option<DealingFrequency>,
}

impl Checker {
    /// A whole number in `lo..=hi` (JSON `5` or `5.0`).
    fn whole(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        lo: u32,
        hi: u32,
    ) -> Option<u32> {
        let x = self.number(obj, path, key)?;
        if x.fract() != 0.0 || x < f64::from(lo) || x > f64::from(hi) {
            self.issue(
                format!("{path}{key}"),
                format!("must be a whole number from {lo} to {hi}, got {x}"),
            );
            return None;
        }
        // In range and whole, so the cast is exact.
        Some(x as u32)
    }

    /// A name from `names` (case, spaces and hyphens forgiven), as its canonical form.
    fn name_in(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        what: &str,
        names: &[&str],
        required: bool,
    ) -> Option<String> {
        let raw = self.string(obj, path, key, required)?;
        self.canonical(&format!("{path}{key}"), what, &raw, names)
    }

    fn canonical(&mut self, at: &str, what: &str, raw: &str, names: &[&str]) -> Option<String> {
        let wanted = raw.to_ascii_lowercase().replace([' ', '-'], "_");
        match names.iter().find(|n| **n == wanted) {
            Some(n) => Some((*n).to_owned()),
            None => {
                self.issue(
                    at,
                    format!(
                        "unknown {what} {raw:?} (expected one of: {})",
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn fraction(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        lo_open: bool,
        hi_open: bool,
        required: bool,
    ) -> Option<f64> {
        let Some(x) = self.number(obj, path, key) else {
            if required && matches!(obj.get(key), None | Some(Value::Null)) {
                self.issue(format!("{path}{key}"), "is required");
            }
            return None;
        };
        let ok = (if lo_open { x > 0.0 } else { x >= 0.0 })
            && (if hi_open { x < 1.0 } else { x <= 1.0 });
        if ok {
            Some(x)
        } else {
            let (l, r) = (
                if lo_open { "(" } else { "[" },
                if hi_open { ")" } else { "]" },
            );
            self.issue(
                format!("{path}{key}"),
                format!("must be a fraction in {l}0, 1{r} (0.1 = 10%), got {x}"),
            );
            None
        }
    }

    fn frequency(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<DealingFrequency> {
        let names: Vec<&str> = DealingFrequency::ALL.iter().map(|(n, _)| *n).collect();
        let name = self.name_in(obj, path, key, key, &names, required)?;
        DealingFrequency::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }
}

/// A position's `liquidity` section.
pub(super) fn liquidity_section(
    c: &mut Checker,
    obj: &Map<String, Value>,
    path: &str,
) -> Option<LiquidityInputs> {
    let (o, p) = section(
        c,
        obj,
        path,
        "liquidity",
        &[
            "asset_class",
            "adv",
            "bid_ask_bps",
            "daily_vol",
            "settlement_days",
            "issue_outstanding",
        ],
    )?;
    let asset_class = c.name_in(
        o,
        &p,
        "asset_class",
        "liquidity asset_class",
        &LIQUIDITY_CLASSES,
        true,
    );
    let adv = c.number(o, &p, "adv");
    let bid_ask_bps = c.number(o, &p, "bid_ask_bps");
    let daily_vol = c.number(o, &p, "daily_vol");
    let settlement_days = c.whole(o, &p, "settlement_days", 0, MAX_SETTLEMENT_DAYS);
    let issue_outstanding = c.number(o, &p, "issue_outstanding");
    let mut valid = true;
    for (key, value) in [("adv", adv), ("issue_outstanding", issue_outstanding)] {
        if value.is_some_and(|x| x <= 0.0) {
            c.issue(format!("{p}{key}"), "must be > 0 (base currency)");
            valid = false;
        }
    }
    for (key, value) in [("bid_ask_bps", bid_ask_bps), ("daily_vol", daily_vol)] {
        if value.is_some_and(|x| x < 0.0) {
            c.issue(format!("{p}{key}"), "must be >= 0");
            valid = false;
        }
    }
    if let Some(vol) = daily_vol.filter(|v| *v > 1.0) {
        // A daily volatility above 100% is a percent given as a number (2 for 2%).
        c.issue(
            format!("{p}daily_vol"),
            format!("{vol} is above 1: give a fraction (0.02 = 2% a day)"),
        );
        valid = false;
    }
    valid.then_some(())?;
    Some(LiquidityInputs {
        asset_class: asset_class?,
        adv,
        bid_ask_bps,
        daily_vol,
        settlement_days,
        issue_outstanding,
    })
}

/// The top-level `fund` section.
pub(super) fn fund_section(c: &mut Checker, root: &Map<String, Value>) -> Option<FundInputs> {
    let (o, p) = section(
        c,
        root,
        "",
        "fund",
        &[
            "dealing_frequency",
            "notice_days",
            "gate",
            "swing_pricing",
            "buffer_tiers",
            "peer_group",
        ],
    )?;
    let dealing_frequency = c.frequency(o, &p, "dealing_frequency", true);
    let notice_days = c.whole(o, &p, "notice_days", 0, MAX_NOTICE_DAYS);
    let gate = section(c, o, &p, "gate", &["threshold"]).map(|(g, gp)| {
        c.fraction(g, &gp, "threshold", true, false, true)
            .map(|threshold| GateInputs { threshold })
    });
    let swing = section(c, o, &p, "swing_pricing", &["threshold", "max_factor"]).map(|(s, sp)| {
        let threshold = c.fraction(s, &sp, "threshold", false, false, true);
        let max_factor = c.fraction(s, &sp, "max_factor", false, true, true);
        threshold
            .zip(max_factor)
            .map(|(threshold, max_factor)| SwingInputs {
                threshold,
                max_factor,
            })
    });
    let mut buffer_tiers = Vec::new();
    let mut tiers_ok = true;
    match o.get("buffer_tiers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (k, item) in items.iter().enumerate() {
                let at = format!("{p}buffer_tiers[{k}]");
                let Value::String(s) = item else {
                    c.issue(at, format!("must be a string, got {}", kind(item)));
                    tiers_ok = false;
                    continue;
                };
                let Some(name) = c.canonical(&at, "liquidity asset_class", s, &LIQUIDITY_CLASSES)
                else {
                    tiers_ok = false;
                    continue;
                };
                if buffer_tiers.contains(&name) {
                    c.issue(at, format!("{name} is listed twice"));
                    tiers_ok = false;
                } else if name == "cash" && k > 0 {
                    c.issue(
                        at,
                        "cash is always drawn first: list it first or leave it out",
                    );
                    tiers_ok = false;
                } else {
                    buffer_tiers.push(name);
                }
            }
        }
        Some(other) => {
            c.issue(
                format!("{p}buffer_tiers"),
                format!(
                    "must be an array of liquidity asset classes, got {}",
                    kind(other)
                ),
            );
            tiers_ok = false;
        }
    }
    let peer_group = c.name_in(o, &p, "peer_group", "peer_group", &PEER_GROUPS, false);
    let peer_ok = peer_group.is_some() || matches!(o.get("peer_group"), None | Some(Value::Null));
    let notice_ok =
        notice_days.is_some() || matches!(o.get("notice_days"), None | Some(Value::Null));
    // A section given but broken yields no terms (its issues are already recorded).
    let gate = gate.map_or(Some(None), |g| g.map(Some))?;
    let swing_pricing = swing.map_or(Some(None), |s| s.map(Some))?;
    (tiers_ok && peer_ok && notice_ok).then_some(())?;
    Some(FundInputs {
        dealing_frequency: dealing_frequency?,
        notice_days: notice_days.unwrap_or(0),
        gate,
        swing_pricing,
        buffer_tiers,
        peer_group,
    })
}

const INVESTOR_KEYS: [&str; 7] = [
    "id",
    "type",
    "aum_share",
    "holders",
    "horizon_years",
    "notice_days",
    "redemption_frequency",
];

/// The top-level `investors` array, checked against the fund's terms when both are
/// given: shares sum to one, ids are unique, no investor has shorter notice or more
/// frequent dealing than the fund offers.
pub(super) fn investors_section(
    c: &mut Checker,
    root: &Map<String, Value>,
    fund: Option<&FundInputs>,
) -> Vec<InvestorInputs> {
    let items = match root.get("investors") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            c.issue(
                "investors",
                format!("must be an array of investor groups, got {}", kind(other)),
            );
            return Vec::new();
        }
    };
    if items.is_empty() {
        c.issue(
            "investors",
            "is empty: list the share register or leave the field out",
        );
    }
    let mut out = Vec::with_capacity(items.len());
    let mut first_use: HashMap<String, usize> = HashMap::with_capacity(items.len());
    let mut sum = 0.0;
    let mut all_shares = true;
    for (i, item) in items.iter().enumerate() {
        let p = format!("investors[{i}].");
        let Value::Object(o) = item else {
            c.issue(
                format!("investors[{i}]"),
                format!("must be an object, got {}", kind(item)),
            );
            all_shares = false;
            continue;
        };
        c.unknown_keys(o, &p, &INVESTOR_KEYS);
        let id = c.string(o, &p, "id", true);
        if let Some(id) = &id {
            if let Some(first) = first_use.insert(id.clone(), i) {
                c.issue(
                    format!("{p}id"),
                    format!("duplicate investor id {id:?} (first used at investors[{first}])"),
                );
            }
        }
        let investor_type = c.name_in(o, &p, "type", "investor type", &INVESTOR_TYPES, true);
        let aum_share = c.fraction(o, &p, "aum_share", true, false, true);
        match aum_share {
            Some(s) => sum += s,
            None => all_shares = false,
        }
        let holders = match o.get("holders") {
            None | Some(Value::Null) => {
                c.issue(
                    format!("{p}holders"),
                    "is required (1 for a single investor)",
                );
                None
            }
            Some(_) => c.whole(o, &p, "holders", 1, u32::MAX),
        };
        let horizon_years = c.number(o, &p, "horizon_years");
        match horizon_years {
            None if matches!(o.get("horizon_years"), None | Some(Value::Null)) => {
                c.issue(format!("{p}horizon_years"), "is required")
            }
            Some(h) if h < 0.0 => c.issue(format!("{p}horizon_years"), "must be >= 0"),
            _ => {}
        }
        let notice_days = c.whole(o, &p, "notice_days", 0, MAX_NOTICE_DAYS);
        let redemption_frequency = c.frequency(o, &p, "redemption_frequency", false);
        if let Some(f) = fund {
            if let Some(n) = notice_days.filter(|n| *n < f.notice_days) {
                c.issue(
                    format!("{p}notice_days"),
                    format!(
                        "{n} is shorter than the fund's notice ({} days): no share class deals faster than the fund",
                        f.notice_days
                    ),
                );
            }
            if let Some(r) = redemption_frequency.filter(|r| *r < f.dealing_frequency) {
                c.issue(
                    format!("{p}redemption_frequency"),
                    format!(
                        "{} is more frequent than the fund deals ({})",
                        r.name(),
                        f.dealing_frequency.name()
                    ),
                );
            }
        }
        if let (Some(id), Some(investor_type), Some(aum_share), Some(holders), Some(h)) = (
            id,
            investor_type,
            aum_share,
            holders,
            horizon_years.filter(|h| *h >= 0.0),
        ) {
            out.push(InvestorInputs {
                id,
                investor_type,
                aum_share,
                holders,
                horizon_years: h,
                notice_days,
                redemption_frequency,
            });
        }
    }
    if all_shares && !items.is_empty() && (sum - 1.0).abs() > AUM_SHARE_TOLERANCE {
        c.issue(
            "investors",
            format!("aum_share values sum to {sum}; they must sum to 1 (± {AUM_SHARE_TOLERANCE})"),
        );
    }
    out
}
