//! The portfolio: what a risk team uploads, and the one gate every run passes through.
//!
//! Parsing is deliberately two-step — bytes → loose JSON value (or CSV records) → typed
//! [`Portfolio`] — so that validation can report *every* problem at once, each with its
//! path (`positions[17].market_value`) and reason, instead of stopping at the first
//! field serde trips over. A portfolio with any issue is rejected whole: no run is
//! created from half-valid input.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Largest portfolio file accepted (JSON or CSV). Larger books should be split; this
/// keeps one Lambda invocation well inside its memory and the 6 MB sync payload budget
/// for the API path.
pub const MAX_PORTFOLIO_BYTES: usize = 8 * 1024 * 1024;
/// Largest number of positions accepted.
pub const MAX_POSITIONS: usize = 50_000;
/// Relative tolerance for reconciling weights, totals and quantity × price (1 bp).
pub const RECONCILE_TOLERANCE: f64 = 1e-4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Equity,
    FixedIncome,
    Credit,
    Fx,
    Commodity,
    Cash,
    Alternative,
}

impl AssetClass {
    const ALL: [(&'static str, AssetClass); 7] = [
        ("equity", AssetClass::Equity),
        ("fixed_income", AssetClass::FixedIncome),
        ("credit", AssetClass::Credit),
        ("fx", AssetClass::Fx),
        ("commodity", AssetClass::Commodity),
        ("cash", AssetClass::Cash),
        ("alternative", AssetClass::Alternative),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentType {
    Stock,
    EquityPortfolio,
    Etf,
    Fund,
    Bond,
    Loan,
    Cash,
    Future,
    Option,
    Swap,
    Swaption,
    FxForward,
    FxOption,
    Cds,
}

impl InstrumentType {
    const ALL: [(&'static str, InstrumentType); 14] = [
        ("stock", InstrumentType::Stock),
        ("equity_portfolio", InstrumentType::EquityPortfolio),
        ("etf", InstrumentType::Etf),
        ("fund", InstrumentType::Fund),
        ("bond", InstrumentType::Bond),
        ("loan", InstrumentType::Loan),
        ("cash", InstrumentType::Cash),
        ("future", InstrumentType::Future),
        ("option", InstrumentType::Option),
        ("swap", InstrumentType::Swap),
        ("swaption", InstrumentType::Swaption),
        ("fx_forward", InstrumentType::FxForward),
        ("fx_option", InstrumentType::FxOption),
        ("cds", InstrumentType::Cds),
    ];

    /// Derivatives carry a mark-to-market that may be negative; cash instruments may not.
    pub fn is_derivative(self) -> bool {
        matches!(
            self,
            InstrumentType::Future
                | InstrumentType::Option
                | InstrumentType::Swap
                | InstrumentType::Swaption
                | InstrumentType::FxForward
                | InstrumentType::FxOption
                | InstrumentType::Cds
        )
    }
}

/// Factor-workflow inputs: either a return series (a column of the market data, from
/// which exposures are estimated) or given exposures, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FactorInputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_series: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposures: BTreeMap<String, f64>,
}

/// Liquidity-workflow inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiquidityInputs {
    /// Average daily volume, in currency units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adv: Option<f64>,
    /// Quoted bid-ask spread in basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_bps: Option<f64>,
    /// Displayed depth at the touch, in currency units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<f64>,
}

/// Credit inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreditInputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
}

/// Rates inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FixedIncomeInputs {
    /// ISO date `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maturity: Option<String>,
    /// Annual coupon as a decimal (0.05 = 5%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub id: String,
    pub name: String,
    pub asset_class: AssetClass,
    pub instrument_type: InstrumentType,
    pub currency: String,
    /// In the position's currency; given, or quantity × price.
    pub market_value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<FactorInputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity: Option<LiquidityInputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<CreditInputs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_income: Option<FixedIncomeInputs>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    pub portfolio_id: String,
    pub name: String,
    pub base_currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// Market data file, relative to the portfolio's own location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_market_value: Option<f64>,
    pub positions: Vec<Position>,
}

impl Portfolio {
    pub fn total_market_value(&self) -> f64 {
        self.positions.iter().map(|p| p.market_value).sum()
    }
}

/// One problem found in the input: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Every issue found in one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub issues: Vec<Issue>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "portfolio rejected with {} problem(s):",
            self.issues.len()
        )?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

/// Input format, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn from_name(name: &str) -> Self {
        if name.to_ascii_lowercase().ends_with(".csv") {
            Format::Csv
        } else {
            Format::Json
        }
    }
}

/// Parse and validate a portfolio. `name` is the file name or key (used for the format
/// and, for CSV, the default portfolio id).
pub fn parse_portfolio(name: &str, bytes: &[u8]) -> Result<Portfolio, Rejection> {
    if bytes.len() > MAX_PORTFOLIO_BYTES {
        return Err(reject(
            "file",
            format!(
                "is {} bytes; the limit is {} bytes (8 MiB)",
                bytes.len(),
                MAX_PORTFOLIO_BYTES
            ),
        ));
    }
    match Format::from_name(name) {
        Format::Json => parse_json(bytes),
        Format::Csv => parse_csv(name, bytes),
    }
}

fn reject(path: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        issues: vec![Issue {
            path: path.into(),
            reason: reason.into(),
        }],
    }
}

/// Collects issues while building typed values.
struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn issue(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.issues.push(Issue {
            path: path.into(),
            reason: reason.into(),
        });
    }

    fn string(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.issue(format!("{path}{key}"), "is required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.issue(format!("{path}{key}"), "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(other) => {
                self.issue(
                    format!("{path}{key}"),
                    format!("must be a string, got {}", kind(other)),
                );
                None
            }
        }
    }

    /// A finite number; JSON has no NaN, so strings like "NaN"/"inf" are named as such.
    fn number(&mut self, obj: &Map<String, Value>, path: &str, key: &str) -> Option<f64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Some(x),
                _ => {
                    self.issue(format!("{path}{key}"), "must be finite");
                    None
                }
            },
            Some(Value::String(s)) => {
                let reason = match s.trim().to_ascii_lowercase().as_str() {
                    "nan" | "inf" | "+inf" | "-inf" | "infinity" | "-infinity" => {
                        "must be finite".to_owned()
                    }
                    _ => format!("must be a number, got string {s:?}"),
                };
                self.issue(format!("{path}{key}"), reason);
                None
            }
            Some(other) => {
                self.issue(
                    format!("{path}{key}"),
                    format!("must be a number, got {}", kind(other)),
                );
                None
            }
        }
    }

    fn unknown_keys(&mut self, obj: &Map<String, Value>, path: &str, allowed: &[&str]) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.issue(
                    format!("{path}{key}"),
                    format!("unknown field (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_json(bytes: &[u8]) -> Result<Portfolio, Rejection> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        reject(
            &format!("line {} column {}", e.line(), e.column()),
            format!("malformed JSON: {e}"),
        )
    })?;
    let Value::Object(root) = value else {
        return Err(reject(
            "$",
            format!("must be a JSON object, got {}", kind(&value)),
        ));
    };
    let mut c = Checker { issues: Vec::new() };
    c.unknown_keys(
        &root,
        "",
        &[
            "portfolio_id",
            "name",
            "base_currency",
            "as_of",
            "market_data",
            "total_market_value",
            "positions",
        ],
    );
    let portfolio_id = c.string(&root, "", "portfolio_id", true);
    let name = c.string(&root, "", "name", false);
    let base_currency = c.string(&root, "", "base_currency", true);
    let as_of = c.string(&root, "", "as_of", false);
    let market_data = c.string(&root, "", "market_data", false);
    let total = c.number(&root, "", "total_market_value");
    let positions = match root.get("positions") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let path = format!("positions[{i}].");
                match item {
                    Value::Object(obj) => position_from_object(&mut c, obj, &path),
                    other => {
                        c.issue(
                            format!("positions[{i}]"),
                            format!("must be an object, got {}", kind(other)),
                        );
                        None
                    }
                }
            })
            .collect(),
        None | Some(Value::Null) => {
            c.issue("positions", "is required");
            Vec::new()
        }
        Some(other) => {
            c.issue(
                "positions",
                format!("must be an array, got {}", kind(other)),
            );
            Vec::new()
        }
    };
    let count = root
        .get("positions")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    finish(
        c,
        count,
        PortfolioHeader {
            portfolio_id,
            name,
            base_currency,
            as_of,
            market_data,
            total,
        },
        positions,
    )
}

struct PortfolioHeader {
    portfolio_id: Option<String>,
    name: Option<String>,
    base_currency: Option<String>,
    as_of: Option<String>,
    market_data: Option<String>,
    total: Option<f64>,
}

const POSITION_KEYS: [&str; 13] = [
    "id",
    "name",
    "asset_class",
    "instrument_type",
    "currency",
    "market_value",
    "quantity",
    "price",
    "weight",
    "factor",
    "liquidity",
    "credit",
    "fixed_income",
];

fn position_from_object(c: &mut Checker, obj: &Map<String, Value>, path: &str) -> Option<Position> {
    c.unknown_keys(obj, path, &POSITION_KEYS);
    let id = c.string(obj, path, "id", true);
    let name = c.string(obj, path, "name", false);
    let asset_class = c
        .string(obj, path, "asset_class", true)
        .and_then(|s| lookup(c, path, "asset_class", &s, &AssetClass::ALL));
    let instrument_type = c
        .string(obj, path, "instrument_type", true)
        .and_then(|s| lookup(c, path, "instrument_type", &s, &InstrumentType::ALL));
    let currency = c.string(obj, path, "currency", true).and_then(|s| {
        let upper = s.to_ascii_uppercase();
        if is_iso_currency(&upper) {
            Some(upper)
        } else {
            c.issue(
                format!("{path}currency"),
                format!("unknown currency {s:?} (expected an ISO 4217 code such as USD)"),
            );
            None
        }
    });
    let market_value = c.number(obj, path, "market_value");
    let quantity = c.number(obj, path, "quantity");
    let price = c.number(obj, path, "price");
    let weight = c.number(obj, path, "weight");

    let factor = section(c, obj, path, "factor", &["return_series", "exposures"]).map(|(o, p)| {
        let return_series = c.string(o, &p, "return_series", false);
        let mut exposures = BTreeMap::new();
        match o.get("exposures") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let ep = format!("{p}exposures.");
                for key in map.keys() {
                    if let Some(x) = c.number(map, &ep, key) {
                        exposures.insert(key.clone(), x);
                    }
                }
            }
            Some(other) => c.issue(
                format!("{p}exposures"),
                format!(
                    "must be an object of factor → exposure, got {}",
                    kind(other)
                ),
            ),
        }
        if return_series.is_none() && exposures.is_empty() {
            c.issue(
                format!("{p}return_series"),
                "give a return_series or exposures",
            );
        }
        FactorInputs {
            return_series,
            exposures,
        }
    });
    let liquidity =
        section(c, obj, path, "liquidity", &["adv", "spread_bps", "depth"]).map(|(o, p)| {
            let adv = c.number(o, &p, "adv");
            let spread_bps = c.number(o, &p, "spread_bps");
            let depth = c.number(o, &p, "depth");
            positive(c, &p, "adv", adv);
            positive(c, &p, "depth", depth);
            if let Some(s) = spread_bps {
                if s < 0.0 {
                    c.issue(format!("{p}spread_bps"), "must be >= 0");
                }
            }
            LiquidityInputs {
                adv,
                spread_bps,
                depth,
            }
        });
    let credit = section(c, obj, path, "credit", &["rating", "sector"]).map(|(o, p)| {
        let rating = c.string(o, &p, "rating", false);
        if let Some(r) = &rating {
            if !is_rating(r) {
                c.issue(
                    format!("{p}rating"),
                    format!("unknown rating {r:?} (expected S&P-style AAA … D, e.g. BBB-)"),
                );
            }
        }
        CreditInputs {
            rating,
            sector: c.string(o, &p, "sector", false),
        }
    });
    let fixed_income =
        section(c, obj, path, "fixed_income", &["maturity", "coupon"]).map(|(o, p)| {
            let maturity = c.string(o, &p, "maturity", false);
            if let Some(m) = &maturity {
                if !is_iso_date(m) {
                    c.issue(
                        format!("{p}maturity"),
                        format!("must be a date YYYY-MM-DD, got {m:?}"),
                    );
                }
            }
            let coupon = c.number(o, &p, "coupon");
            if let Some(k) = coupon {
                if !(0.0..=1.0).contains(&k) {
                    c.issue(
                        format!("{p}coupon"),
                        "must be a decimal rate between 0 and 1 (0.05 = 5%)",
                    );
                }
            }
            FixedIncomeInputs { maturity, coupon }
        });

    // Impossible negatives and the market value itself.
    if let Some(p) = price {
        if p <= 0.0 {
            c.issue(format!("{path}price"), "must be > 0");
        }
    }
    if let Some(w) = weight {
        if !(0.0..=1.0).contains(&w) && !instrument_type.is_some_and(InstrumentType::is_derivative)
        {
            c.issue(format!("{path}weight"), "must be between 0 and 1");
        }
    }
    let derivative = instrument_type.is_some_and(InstrumentType::is_derivative);
    let resolved = match (market_value, quantity, price) {
        (Some(mv), q, p) => {
            if mv < 0.0 && !derivative {
                c.issue(
                    format!("{path}market_value"),
                    "must be finite and >= 0 (only derivatives may have a negative mark-to-market)",
                );
            }
            if let (Some(q), Some(p)) = (q, p) {
                let implied = q * p;
                if (implied - mv).abs() > RECONCILE_TOLERANCE * mv.abs().max(implied.abs()).max(1.0)
                {
                    c.issue(
                        format!("{path}market_value"),
                        format!("{mv} does not reconcile with quantity × price = {implied}"),
                    );
                }
            }
            Some(mv)
        }
        (None, Some(q), Some(p)) => {
            if q < 0.0 && !derivative {
                c.issue(
                    format!("{path}quantity"),
                    "must be >= 0 (only derivatives may be short here)",
                );
            }
            Some(q * p)
        }
        (None, _, _) => {
            if !obj.contains_key("market_value") {
                c.issue(
                    format!("{path}market_value"),
                    "is required (or give quantity and price)",
                );
            }
            None
        }
    };
    Some(Position {
        id: id?,
        name: name.unwrap_or_default(),
        asset_class: asset_class?,
        instrument_type: instrument_type?,
        currency: currency?,
        market_value: resolved?,
        quantity,
        price,
        weight,
        factor,
        liquidity,
        credit,
        fixed_income,
    })
}

fn positive(c: &mut Checker, path: &str, key: &str, value: Option<f64>) {
    if let Some(x) = value {
        if x <= 0.0 {
            c.issue(format!("{path}{key}"), "must be > 0");
        }
    }
}

fn section<'a>(
    c: &mut Checker,
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
    allowed: &[&str],
) -> Option<(&'a Map<String, Value>, String)> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => {
            let p = format!("{path}{key}.");
            c.unknown_keys(o, &p, allowed);
            Some((o, p))
        }
        Some(other) => {
            c.issue(
                format!("{path}{key}"),
                format!("must be an object, got {}", kind(other)),
            );
            None
        }
    }
}

fn lookup<T: Copy>(
    c: &mut Checker,
    path: &str,
    key: &str,
    value: &str,
    table: &[(&str, T)],
) -> Option<T> {
    let wanted = value.to_ascii_lowercase().replace([' ', '-'], "_");
    match table.iter().find(|(name, _)| *name == wanted) {
        Some((_, v)) => Some(*v),
        None => {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            c.issue(
                format!("{path}{key}"),
                format!(
                    "unknown {key} {value:?} (expected one of: {})",
                    names.join(", ")
                ),
            );
            None
        }
    }
}

/// Portfolio-level checks: ids, emptiness, size, weight and total reconciliation.
fn finish(
    mut c: Checker,
    raw_count: usize,
    header: PortfolioHeader,
    positions: Vec<Position>,
) -> Result<Portfolio, Rejection> {
    if raw_count == 0 && !c.issues.iter().any(|i| i.path == "positions") {
        c.issue(
            "positions",
            "portfolio is empty: at least one position is required",
        );
    }
    if raw_count > MAX_POSITIONS {
        c.issue(
            "positions",
            format!("has {raw_count} positions; the limit is {MAX_POSITIONS}"),
        );
    }
    let base_currency = header.base_currency.and_then(|s| {
        let upper = s.to_ascii_uppercase();
        if is_iso_currency(&upper) {
            Some(upper)
        } else {
            c.issue(
                "base_currency",
                format!("unknown currency {s:?} (expected an ISO 4217 code such as USD)"),
            );
            None
        }
    });
    let mut seen = HashSet::new();
    for (i, p) in positions.iter().enumerate() {
        if !seen.insert(p.id.as_str()) {
            c.issue(
                format!("positions[{i}].id"),
                format!("duplicate id {:?}", p.id),
            );
        }
    }
    if let Some(as_of) = &header.as_of {
        if !is_iso_date(as_of) {
            c.issue("as_of", format!("must be a date YYYY-MM-DD, got {as_of:?}"));
        }
    }
    // Only reconcile totals and weights once every position parsed: otherwise the sums
    // would be wrong and the message misleading.
    if positions.len() == raw_count && raw_count > 0 {
        let total: f64 = positions.iter().map(|p| p.market_value).sum();
        if let Some(stated) = header.total {
            if (stated - total).abs() > RECONCILE_TOLERANCE * stated.abs().max(total.abs()).max(1.0)
            {
                c.issue(
                    "total_market_value",
                    format!("{stated} does not reconcile with the sum of market values {total}"),
                );
            }
        }
        let weighted: Vec<(usize, f64)> = positions
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.weight.map(|w| (i, w)))
            .collect();
        if !weighted.is_empty() {
            if weighted.len() != positions.len() {
                c.issue(
                    "positions",
                    format!(
                        "weights given for {} of {} positions: give all or none",
                        weighted.len(),
                        positions.len()
                    ),
                );
            } else {
                let sum: f64 = weighted.iter().map(|(_, w)| w).sum();
                if (sum - 1.0).abs() > RECONCILE_TOLERANCE {
                    c.issue("positions", format!("weights sum to {sum}, not 1"));
                }
                if total > 0.0 {
                    for (i, w) in &weighted {
                        let implied = positions[*i].market_value / total;
                        if (w - implied).abs() > RECONCILE_TOLERANCE {
                            c.issue(format!("positions[{i}].weight"), format!("{w} does not reconcile with market_value / total = {implied:.6}"));
                        }
                    }
                }
            }
        }
        if total <= 0.0 {
            c.issue("positions", "total market value must be > 0");
        }
    }
    if !c.issues.is_empty() {
        return Err(Rejection { issues: c.issues });
    }
    let portfolio_id = header.portfolio_id.unwrap_or_default();
    if !portfolio_id
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        return Err(reject(
            "portfolio_id",
            "may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(Portfolio {
        name: header.name.unwrap_or_else(|| portfolio_id.clone()),
        portfolio_id,
        base_currency: base_currency.unwrap_or_default(),
        as_of: header.as_of,
        market_data: header.market_data,
        total_market_value: header.total,
        positions,
    })
}

/// CSV import. One row per position; header names as in the JSON schema, nested fields
/// flattened: `return_series`, `exposure_<Factor>`, `adv`, `spread_bps`, `depth`,
/// `rating`, `sector`, `maturity`, `coupon`. The portfolio id is the file stem, the base
/// currency USD unless a `base_currency` column says otherwise.
fn parse_csv(name: &str, bytes: &[u8]) -> Result<Portfolio, Rejection> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let mut c = Checker { issues: Vec::new() };
    let known = [
        "id",
        "name",
        "asset_class",
        "instrument_type",
        "currency",
        "market_value",
        "quantity",
        "price",
        "weight",
        "return_series",
        "adv",
        "spread_bps",
        "depth",
        "rating",
        "sector",
        "maturity",
        "coupon",
        "base_currency",
    ];
    for (col, h) in headers.iter().enumerate() {
        if !known.contains(&h.as_str()) && !h.starts_with("exposure_") {
            c.issue(
                format!("header column {}", col + 1),
                format!("unknown column {h:?}"),
            );
        }
    }
    let mut positions = Vec::new();
    let mut base_currency = None;
    let mut raw_count = 0;
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                c.issues.extend(csv_error(&e).issues);
                continue;
            }
        };
        raw_count += 1;
        let line = record.position().map_or(0, |p| p.line());
        let mut obj = Map::new();
        let mut factor = Map::new();
        let mut exposures = Map::new();
        let mut liquidity = Map::new();
        let mut credit = Map::new();
        let mut fixed_income = Map::new();
        for (h, field) in headers.iter().zip(record.iter()) {
            if field.is_empty() {
                continue;
            }
            let number = || {
                field
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(field.to_owned()))
            };
            match h.as_str() {
                "market_value" | "quantity" | "price" | "weight" => {
                    obj.insert(h.clone(), number());
                }
                "return_series" => {
                    factor.insert(h.clone(), Value::String(field.into()));
                }
                "adv" | "spread_bps" | "depth" => {
                    liquidity.insert(h.clone(), number());
                }
                "rating" | "sector" => {
                    credit.insert(h.clone(), Value::String(field.into()));
                }
                "maturity" => {
                    fixed_income.insert(h.clone(), Value::String(field.into()));
                }
                "coupon" => {
                    fixed_income.insert(h.clone(), number());
                }
                "base_currency" => base_currency = Some(field.to_owned()),
                other if other.starts_with("exposure_") => {
                    exposures.insert(other["exposure_".len()..].to_owned(), number());
                }
                other if known.contains(&other) => {
                    obj.insert(h.clone(), Value::String(field.into()));
                }
                _ => {}
            }
        }
        if !exposures.is_empty() {
            factor.insert("exposures".into(), Value::Object(exposures));
        }
        for (key, section) in [
            ("factor", factor),
            ("liquidity", liquidity),
            ("credit", credit),
            ("fixed_income", fixed_income),
        ] {
            if !section.is_empty() {
                obj.insert(key.into(), Value::Object(section));
            }
        }
        let before = c.issues.len();
        let position = position_from_object(&mut c, &obj, &format!("positions[{i}]."));
        for issue in &mut c.issues[before..] {
            issue.path = format!("{} (line {line})", issue.path);
        }
        positions.extend(position);
    }
    let stem = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "portfolio".into());
    finish(
        c,
        raw_count,
        PortfolioHeader {
            portfolio_id: Some(stem.clone()),
            name: Some(stem),
            base_currency: Some(base_currency.unwrap_or_else(|| "USD".into())),
            as_of: None,
            market_data: None,
            total: None,
        },
        positions,
    )
}

fn csv_error(e: &csv::Error) -> Rejection {
    let path = match e.position() {
        Some(p) => format!("line {} (record {})", p.line(), p.record()),
        None => "csv".to_owned(),
    };
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("malformed CSV: {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("malformed CSV: invalid UTF-8 in field {}", err.field() + 1)
        }
        _ => format!("malformed CSV: {e}"),
    };
    reject(&path, reason)
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (
        s[0..4].parse::<u32>(),
        s[5..7].parse::<u32>(),
        s[8..10].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (1..=12).contains(&m) && d >= 1 && d <= days[(m - 1) as usize]
}

fn is_rating(s: &str) -> bool {
    const RATINGS: [&str; 22] = [
        "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-",
        "B+", "B", "B-", "CCC+", "CCC", "CCC-", "CC", "C", "D",
    ];
    RATINGS.contains(&s.to_ascii_uppercase().as_str())
}

/// Active ISO 4217 currency codes (2024 list, funds and precious-metal codes excluded).
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN \
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD \
HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD \
MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON \
RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX \
USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

pub fn is_iso_currency(code: &str) -> bool {
    code.len() == 3 && ISO_4217.split_ascii_whitespace().any(|c| c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(id: &str, mv: &str) -> String {
        format!(
            r#"{{"id":"{id}","name":"n","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":{mv}}}"#
        )
    }

    fn portfolio(positions: &[String]) -> String {
        format!(
            r#"{{"portfolio_id":"p1","base_currency":"USD","positions":[{}]}}"#,
            positions.join(",")
        )
    }

    fn issues(json: &str) -> Vec<Issue> {
        parse_portfolio("p.json", json.as_bytes())
            .unwrap_err()
            .issues
    }

    #[test]
    fn a_valid_portfolio_parses() {
        let p = parse_portfolio(
            "p.json",
            portfolio(&[position("a", "100"), position("b", "300")]).as_bytes(),
        )
        .unwrap();
        assert_eq!(p.positions.len(), 2);
        assert_eq!(p.total_market_value(), 400.0);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let json = format!(
            r#"{{"portfolio_id":"p1","base_currency":"USD","positions":[{},{},{},{},{},{}]}}"#,
            position("a", "100"),
            position("b", "-5"),
            position("a", "10"),
            r#"{"id":"c","asset_class":"crypto","instrument_type":"stock","currency":"USD","market_value":1}"#,
            r#"{"id":"d","asset_class":"equity","instrument_type":"stock","currency":"XXY","market_value":"NaN"}"#,
            r#"{"id":"e","asset_class":"equity","instrument_type":"stock","currency":"USD","market_vale":3}"#,
        );
        let found = issues(&json);
        let paths: Vec<&str> = found.iter().map(|i| i.path.as_str()).collect();
        for expected in [
            "positions[1].market_value",
            "positions[2].id",
            "positions[3].asset_class",
            "positions[4].currency",
            "positions[4].market_value",
            "positions[5].market_vale",
            "positions[5].market_value",
        ] {
            assert!(paths.contains(&expected), "missing {expected} in {found:?}");
        }
        let neg = found
            .iter()
            .find(|i| i.path == "positions[1].market_value")
            .unwrap();
        assert!(neg.reason.starts_with("must be finite and >= 0"), "{neg}");
        let nan = found
            .iter()
            .find(|i| i.path == "positions[4].market_value")
            .unwrap();
        assert_eq!(nan.reason, "must be finite");
    }

    #[test]
    fn empty_and_malformed_inputs_are_rejected() {
        assert_eq!(
            issues(&portfolio(&[]))[0].reason,
            "portfolio is empty: at least one position is required"
        );
        let bad = issues("{\"portfolio_id\": \"p\",\n \"positions\": [1,]}");
        assert_eq!(bad.len(), 1);
        assert!(bad[0].path.starts_with("line 2 column"), "{:?}", bad[0]);
        assert!(bad[0].reason.starts_with("malformed JSON"));
    }

    #[test]
    fn weights_and_totals_must_reconcile() {
        let json = r#"{"portfolio_id":"p","base_currency":"USD","total_market_value":500,"positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":100,"weight":0.5},
            {"id":"b","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":300,"weight":0.5}]}"#;
        let found = issues(json);
        let paths: Vec<&str> = found.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"total_market_value"), "{found:?}");
        assert!(paths.contains(&"positions[0].weight"), "{found:?}");
        assert!(paths.contains(&"positions[1].weight"), "{found:?}");
    }

    #[test]
    fn quantity_times_price_gives_or_checks_market_value() {
        let json = r#"{"portfolio_id":"p","base_currency":"USD","positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","quantity":10,"price":2.5},
            {"id":"b","asset_class":"equity","instrument_type":"stock","currency":"USD","quantity":10,"price":2.5,"market_value":30}]}"#;
        let found = issues(json);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "positions[1].market_value");
        let ok = r#"{"portfolio_id":"p","base_currency":"USD","positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","quantity":10,"price":2.5}]}"#;
        assert_eq!(
            parse_portfolio("p.json", ok.as_bytes()).unwrap().positions[0].market_value,
            25.0
        );
    }

    #[test]
    fn oversized_files_are_refused_before_parsing() {
        let big = vec![b' '; MAX_PORTFOLIO_BYTES + 1];
        let found = parse_portfolio("p.json", &big).unwrap_err().issues;
        assert_eq!(found[0].path, "file");
    }

    #[test]
    fn csv_import_reports_lines() {
        let csv = "id,name,asset_class,instrument_type,currency,market_value,exposure_MktRF\n\
                   a,Alpha,equity,stock,USD,100,1.1\n\
                   b,Beta,equity,stock,USD,-3,0.9\n\
                   c,Gamma,equity,stock,USD\n";
        let found = parse_portfolio("book.csv", csv.as_bytes())
            .unwrap_err()
            .issues;
        assert!(
            found
                .iter()
                .any(|i| i.path == "positions[1].market_value (line 3)"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|i| i.path.starts_with("line 4") && i.reason.contains("fields")),
            "{found:?}"
        );

        let good = "id,name,asset_class,instrument_type,currency,market_value,exposure_MktRF,adv\n\
                    a,Alpha,equity,stock,USD,100,1.1,5e6\n";
        let p = parse_portfolio("book.csv", good.as_bytes()).unwrap();
        assert_eq!(p.portfolio_id, "book");
        assert_eq!(
            p.positions[0].factor.as_ref().unwrap().exposures["MktRF"],
            1.1
        );
        assert_eq!(p.positions[0].liquidity.as_ref().unwrap().adv, Some(5e6));
    }

    #[test]
    fn dates_ratings_and_currencies() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("2023-13-01"));
        assert!(is_rating("bbb-"));
        assert!(!is_rating("BBB++"));
        assert!(is_iso_currency("EUR"));
        assert!(!is_iso_currency("EURO"));
    }
}
