//! The portfolio: what a risk team uploads, and the one gate every run passes through.
//!
//! Parsing is deliberately two-step — bytes → loose JSON value (or CSV records) → typed
//! [`Portfolio`] — so that validation can report *every* problem at once, each with its
//! path (`positions[17].market_value`) and reason, instead of stopping at the first
//! field serde trips over. A portfolio with any issue is rejected whole: no run is
//! created from half-valid input.
//!
//! Input conventions, the same for JSON and CSV: a leading UTF-8 byte-order mark is
//! ignored (spreadsheet exports add one); a key or column given twice is an error, never
//! "last one wins"; control characters are refused in string fields and escaped
//! whenever an issue is displayed ([`escape_control`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

mod liquidity;
mod pension;
pub use liquidity::{
    DealingFrequency, FundInputs, GateInputs, InvestorInputs, LiquidityInputs, SwingInputs,
    AUM_SHARE_TOLERANCE, INVESTOR_TYPES, LIQUIDITY_CLASSES, MAX_NOTICE_DAYS, MAX_SETTLEMENT_DAYS,
    PEER_GROUPS,
};
pub use pension::{
    CurveInputs, LiabilityInputs, MarketSnapshot, MAX_LIABILITY_YEARS, RATINGS, ZERO_RATE_BOUNDS,
};

/// Largest portfolio file accepted (JSON or CSV). Larger books should be split; this
/// keeps one Lambda invocation well inside its memory and the 6 MB sync payload budget
/// for the API path.
pub const MAX_PORTFOLIO_BYTES: usize = 8 * 1024 * 1024;
/// Largest number of positions accepted.
pub const MAX_POSITIONS: usize = 50_000;
/// Largest absolute market value of one position, in its own currency: 10^18.
///
/// Far above any real holding, even in currencies with large nominal units (the
/// biggest single equity stakes are around 10^11 USD, about 2·10^15 IDR or 3·10^15
/// VND), so only unit and scale errors hit it. It keeps the arithmetic safe: the sum
/// of [`MAX_POSITIONS`] capped values and their squares (variances, 10^36) stay far
/// from f64 overflow, where an uncapped 1e300 would turn a risk figure into inf/NaN.
pub const MAX_ABS_MARKET_VALUE: f64 = 1e18;
const SCALE_HINT: &str = "(a unit or scale error?)";
/// Longest portfolio id, in characters. The id is embedded, with run ids, in DynamoDB
/// partition keys (at most 2048 bytes) and sort keys (at most 1024 bytes) and in S3 keys;
/// 128 leaves ample room for the rest of each key.
pub const MAX_PORTFOLIO_ID_CHARS: usize = 128;
/// Longest position id, in bytes (UTF-8): position ids appear in result keys and in
/// per-position rows, which must stay well below DynamoDB's 1024-byte sort-key limit.
pub const MAX_POSITION_ID_BYTES: usize = 256;
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
    /// In the position's currency; given, or quantity × price. For a derivative, its
    /// mark-to-market (which may be negative).
    pub market_value: f64,
    /// Derivatives only: the notional (position currency) whose underlying return the
    /// position earns — how a futures overlay is represented (exposure = notional, not
    /// its near-zero mark-to-market).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notional: Option<f64>,
    /// Derivatives only: the delta that linearises the position (notional × delta is the
    /// underlying-equivalent exposure). Workflows that cannot revalue a non-linear
    /// position refuse it rather than use this silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
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
    /// The position's industry or sector, free text ("Energy", "Large caps"): how
    /// risk is grouped by sector. Optional; workflows group positions without one as
    /// "Unclassified".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
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
    /// Stated total, in the base currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_market_value: Option<f64>,
    /// FX rates into the base currency: units of base currency per one unit of the keyed
    /// currency (base USD: `{"EUR": 1.08}`). Every position currency other than the base
    /// needs one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fx_rates: BTreeMap<String, f64>,
    /// The fund's dealing terms (liquidity workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund: Option<FundInputs>,
    /// The fund's share register (liquidity workflow); empty when not given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub investors: Vec<InvestorInputs>,
    /// A pension's projected benefit payments (hedging workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liabilities: Option<LiabilityInputs>,
    /// The market snapshot the book and its hedges are priced off (hedging workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketSnapshot>,
    pub positions: Vec<Position>,
}

impl Portfolio {
    /// Units of base currency per unit of `currency` (1 for the base itself). Parsing
    /// guarantees a rate for every position currency; an unknown one is NaN, so a
    /// hand-built portfolio that skips validation cannot produce a plausible number.
    pub fn fx_rate(&self, currency: &str) -> f64 {
        if currency == self.base_currency {
            1.0
        } else {
            self.fx_rates.get(currency).copied().unwrap_or(f64::NAN)
        }
    }
    /// A position's market value in the base currency.
    pub fn base_market_value(&self, p: &Position) -> f64 {
        p.market_value * self.fx_rate(&p.currency)
    }
    /// A derivative's notional in the base currency.
    pub fn base_notional(&self, p: &Position) -> Option<f64> {
        p.notional.map(|n| n * self.fx_rate(&p.currency))
    }
    /// Total market value in the base currency.
    pub fn total_market_value(&self) -> f64 {
        self.positions
            .iter()
            .map(|p| self.base_market_value(p))
            .sum()
    }
}

/// One problem found in the input: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub path: String,
    pub reason: String,
}

/// Both parts may quote the input (keys, cell values, file names), so control characters
/// are escaped: a newline or an ANSI escape in an uploaded file must not forge extra lines
/// in a terminal, a log or a Markdown report.
impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            escape_control(&self.path),
            escape_control(&self.reason)
        )
    }
}

/// Escape the characters of `s` that could corrupt whatever displays it: C0/C1 control
/// characters (`\n`, `\t`, `\u{1b}`, …, via [`char::escape_default`]) and the invisible
/// bidirectional-override and line-separator characters that can make displayed text
/// read differently from what it is ("Trojan Source", CVE-2021-42574). Everything else,
/// accents, CJK and emoji included, is kept as is.
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else if is_invisible_format(ch) {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

fn is_invisible_format(ch: char) -> bool {
    matches!(
        ch,
        '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Every issue found in one input.
///
/// `issues` is complete (up to [`MAX_COLLECTED_ISSUES`]); only its display is capped, see
/// [`Rejection::capped`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub issues: Vec<Issue>,
}

/// At most this many issues are listed when a rejection is displayed; nobody reads
/// further, and the first ones usually show the pattern (a wrong column, a bad export).
pub const MAX_DISPLAYED_ISSUES: usize = 50;

/// Byte budget of a displayed rejection. The text travels as a Step Functions task
/// failure `cause`, which is limited to 32,768 characters, inside a JSON error envelope
/// that adds its own prefix; 30 KiB leaves room for that.
pub const MAX_REJECTION_BYTES: usize = 30 * 1024;

/// One displayed issue is cut at this many bytes: a single issue may quote a huge input
/// value, and it must not crowd out all the others.
pub const MAX_ISSUE_DISPLAY_BYTES: usize = 512;

/// Issues are collected up to this many, then only counted. Without a bound a 32 MiB
/// file of one-byte bad cells would yield tens of millions of issues and exhaust a
/// Lambda's memory just describing itself.
pub const MAX_COLLECTED_ISSUES: usize = 100_000;

impl Rejection {
    /// The rejection as text of at most `max_bytes` bytes (for `max_bytes` of at least
    /// about 100): a header with the total count, up to [`MAX_DISPLAYED_ISSUES`] issues,
    /// each cut at [`MAX_ISSUE_DISPLAY_BYTES`], then "… and K more problem(s)" for the
    /// rest. Control characters are escaped as in [`Issue`]'s `Display`.
    pub fn capped(&self, max_bytes: usize) -> String {
        let total = self.issues.len();
        let more = |k: usize| format!("\n  … and {k} more problem(s)");
        let mut out = format!("input rejected with {total} problem(s):");
        // Reserving the longest possible trailer keeps the check simple and exact enough.
        let reserve = more(total).len();
        let mut shown = 0;
        for issue in self.issues.iter().take(MAX_DISPLAYED_ISSUES) {
            let mut line = format!("\n  {issue}");
            truncate_with_ellipsis(&mut line, MAX_ISSUE_DISPLAY_BYTES);
            let left_after = total - shown - 1;
            let needed = if left_after > 0 { reserve } else { 0 };
            if out.len() + line.len() + needed > max_bytes {
                break;
            }
            out.push_str(&line);
            shown += 1;
        }
        if shown < total {
            out.push_str(&more(total - shown));
        }
        truncate_with_ellipsis(&mut out, max_bytes);
        out
    }
}

/// Cut `s` to at most `max` bytes on a character boundary, marking the cut with "…".
fn truncate_with_ellipsis(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    const MARK: &str = "…";
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    if s.len() + MARK.len() <= max {
        s.push_str(MARK);
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.capped(MAX_REJECTION_BYTES))
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

/// JSON to a [`Value`] like `serde_json::from_slice`, except that a key repeated within
/// one object is reported instead of silently resolved: serde_json keeps the last value,
/// so `{"market_value": 1, "market_value": 1e9}` would pass as 1e9 with nobody noticing
/// which one the author meant.
mod strict_json {
    use super::Issue;
    use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Number, Value};
    use std::fmt::{self, Write as _};

    enum Segment {
        Key(String),
        Index(usize),
    }

    /// The path from the root to the node being read, kept as a stack so a path string
    /// is only built when there is something to report: linear time overall.
    struct Context {
        path: Vec<Segment>,
        duplicates: Vec<Issue>,
    }

    impl Context {
        fn render(&self, last: &str) -> String {
            let mut out = String::new();
            for segment in &self.path {
                match segment {
                    Segment::Key(k) if out.is_empty() => out.push_str(k),
                    Segment::Key(k) => {
                        out.push('.');
                        out.push_str(k);
                    }
                    Segment::Index(i) => {
                        let _ = write!(out, "[{i}]");
                    }
                }
            }
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(last);
            out
        }
    }

    /// Parse `bytes`, returning the value (first occurrence of a repeated key wins) and
    /// one issue per repeated key. serde_json's own nesting limit (128) still applies, so
    /// deep input cannot overflow the stack.
    pub(super) fn from_slice(bytes: &[u8]) -> Result<(Value, Vec<Issue>), serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let mut cx = Context {
            path: Vec::new(),
            duplicates: Vec::new(),
        };
        let value = Node { cx: &mut cx }.deserialize(&mut de)?;
        de.end()?;
        Ok((value, cx.duplicates))
    }

    struct Node<'a> {
        cx: &'a mut Context,
    }

    impl<'de> DeserializeSeed<'de> for Node<'_> {
        type Value = Value;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Node<'_> {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
            Ok(Value::Bool(b))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
            Ok(Value::Number(n.into()))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
            Ok(Value::Number(n.into()))
        }
        fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
            // serde_json refuses out-of-range literals itself, so this is always finite.
            Ok(Number::from_f64(x).map_or(Value::Null, Value::Number))
        }
        fn visit_str<E>(self, s: &str) -> Result<Value, E> {
            Ok(Value::String(s.to_owned()))
        }
        fn visit_string<E>(self, s: String) -> Result<Value, E> {
            Ok(Value::String(s))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            loop {
                self.cx.path.push(Segment::Index(items.len()));
                let next = seq.next_element_seed(Node { cx: &mut *self.cx })?;
                self.cx.path.pop();
                match next {
                    Some(v) => items.push(v),
                    None => return Ok(Value::Array(items)),
                }
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
            let mut map = Map::new();
            while let Some(key) = access.next_key::<String>()? {
                self.cx.path.push(Segment::Key(key));
                let value = access.next_value_seed(Node { cx: &mut *self.cx })?;
                let Some(Segment::Key(key)) = self.cx.path.pop() else {
                    return Err(A::Error::custom("internal error: JSON path out of step"));
                };
                if map.contains_key(&key) {
                    let path = self.cx.render(&key);
                    self.cx.duplicates.push(Issue {
                        path,
                        reason: format!(
                            "duplicate key {key:?}: each key may appear only once per object"
                        ),
                    });
                } else {
                    map.insert(key, value);
                }
            }
            Ok(Value::Object(map))
        }
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

/// Collects issues while building typed values, up to [`MAX_COLLECTED_ISSUES`].
pub(crate) struct Checker {
    issues: Vec<Issue>,
    /// Issues past the cap, counted so the rejection can still say how many there were.
    dropped: usize,
}

impl Checker {
    pub(crate) fn new() -> Self {
        Checker {
            issues: Vec::new(),
            dropped: 0,
        }
    }

    pub(crate) fn issue(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        if self.issues.len() < MAX_COLLECTED_ISSUES {
            self.issues.push(Issue {
                path: path.into(),
                reason: reason.into(),
            });
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn push(&mut self, issue: Issue) {
        self.issue(issue.path, issue.reason);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }

    /// Issues so far (listed and dropped): a section compares it before and after to
    /// know whether it is clean.
    pub(crate) fn issue_count(&self) -> usize {
        self.issues.len() + self.dropped
    }

    /// All collected issues, plus one saying how many were not listed, if any.
    pub(crate) fn into_issues(mut self) -> Vec<Issue> {
        if self.dropped > 0 {
            self.issues.push(Issue {
                path: "input".into(),
                reason: format!(
                    "{} further problem(s) not listed (listing stops at {MAX_COLLECTED_ISSUES})",
                    self.dropped
                ),
            });
        }
        self.issues
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
            Some(Value::String(s)) => {
                let s = s.trim();
                match control_char(s) {
                    Some(found) => {
                        self.issue(format!("{path}{key}"), found);
                        None
                    }
                    None => Some(s.to_owned()),
                }
            }
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

/// The first control character in `s`, described for an issue, if there is one. Control
/// characters have no business in ids, names or codes, and in ids they would end up in
/// storage keys and report file names.
fn control_char(s: &str) -> Option<String> {
    s.chars()
        .enumerate()
        .find(|(_, ch)| ch.is_control())
        .map(|(i, ch)| {
            format!(
                "must not contain control characters (found {} at character {})",
                ch.escape_default(),
                i + 1
            )
        })
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

/// A leading UTF-8 byte-order mark, as written by Excel and some Windows editors.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The input without a leading UTF-8 byte-order mark. The mark carries no meaning in
/// UTF-8 and RFC 8259 §8.1 lets parsers ignore it; the CSV reader already skips it, so
/// JSON does the same and a file saved "with BOM" is accepted in either format.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

fn parse_json(bytes: &[u8]) -> Result<Portfolio, Rejection> {
    let (value, duplicates) = strict_json::from_slice(strip_bom(bytes)).map_err(|e| {
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
    let mut c = Checker::new();
    for issue in duplicates {
        c.push(issue);
    }
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
            "fx_rates",
            "fund",
            "investors",
            "liabilities",
            "market",
            "positions",
        ],
    );
    let portfolio_id = c.string(&root, "", "portfolio_id", true);
    let name = c.string(&root, "", "name", false);
    let base_currency = c.string(&root, "", "base_currency", true);
    let as_of = c.string(&root, "", "as_of", false);
    let market_data = c.string(&root, "", "market_data", false);
    if let Some(reference) = &market_data {
        if let Err(issue) = crate::input::check_relative_reference(reference, "market_data") {
            c.push(issue);
        }
    }
    let total = c.number(&root, "", "total_market_value");
    let mut fx_rates = BTreeMap::new();
    match root.get("fx_rates") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for key in map.keys() {
                if let Some(rate) = c.number(map, "fx_rates.", key) {
                    fx_rates.insert(key.clone(), rate);
                }
            }
        }
        Some(other) => c.issue(
            "fx_rates",
            format!(
                "must be an object of currency → rate (base units per unit), got {}",
                kind(other)
            ),
        ),
    }
    let fund = liquidity::fund_section(&mut c, &root);
    let investors = liquidity::investors_section(&mut c, &root, fund.as_ref());
    let liabilities = pension::liabilities_section(&mut c, &root);
    let market = pension::market_section(&mut c, &root);
    let mut positions = Vec::new();
    let mut ids = Vec::new();
    match root.get("positions") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("positions[{i}].");
                match item {
                    Value::Object(obj) => {
                        let (id, position) = position_from_object(&mut c, obj, &path);
                        if let Some(id) = id {
                            ids.push((format!("{path}id"), id));
                        }
                        positions.extend(position);
                    }
                    other => c.issue(
                        format!("positions[{i}]"),
                        format!("must be an object, got {}", kind(other)),
                    ),
                }
            }
        }
        None | Some(Value::Null) => c.issue("positions", "is required"),
        Some(other) => c.issue(
            "positions",
            format!("must be an array, got {}", kind(other)),
        ),
    }
    let count = root
        .get("positions")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    finish(
        c,
        count,
        PortfolioHeader {
            portfolio_id,
            portfolio_id_origin: None,
            name,
            base_currency,
            as_of,
            market_data,
            total,
            fx_rates,
            fund,
            investors,
            liabilities,
            market,
        },
        positions,
        ids,
    )
}

struct PortfolioHeader {
    portfolio_id: Option<String>,
    /// Where the id came from when it is not a field of the input (CSV: the file name),
    /// so a bad id can be traced.
    portfolio_id_origin: Option<String>,
    name: Option<String>,
    base_currency: Option<String>,
    as_of: Option<String>,
    market_data: Option<String>,
    total: Option<f64>,
    /// Per currency: the rate, and where it was given (for messages).
    fx_rates: BTreeMap<String, f64>,
    fund: Option<FundInputs>,
    investors: Vec<InvestorInputs>,
    liabilities: Option<LiabilityInputs>,
    market: Option<MarketSnapshot>,
}

const POSITION_KEYS: [&str; 16] = [
    "id",
    "name",
    "asset_class",
    "instrument_type",
    "currency",
    "market_value",
    "notional",
    "delta",
    "quantity",
    "price",
    "weight",
    "factor",
    "liquidity",
    "credit",
    "fixed_income",
    "sector",
];

/// The position's id (whenever it is readable, so duplicates are found even among
/// otherwise broken positions) and the position, if it is valid enough to build.
fn position_from_object(
    c: &mut Checker,
    obj: &Map<String, Value>,
    path: &str,
) -> (Option<String>, Option<Position>) {
    c.unknown_keys(obj, path, &POSITION_KEYS);
    let id = c.string(obj, path, "id", true).filter(|id| {
        if id.len() > MAX_POSITION_ID_BYTES {
            c.issue(
                format!("{path}id"),
                format!(
                    "is {} bytes long; the limit is {MAX_POSITION_ID_BYTES} bytes",
                    id.len()
                ),
            );
            false
        } else {
            true
        }
    });
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
    let notional = c.number(obj, path, "notional");
    let delta = c.number(obj, path, "delta");
    let quantity = c.number(obj, path, "quantity");
    let price = c.number(obj, path, "price");
    let weight = c.number(obj, path, "weight");
    let sector = c.string(obj, path, "sector", false);

    let factor = section(c, obj, path, "factor", &["return_series", "exposures"]).map(|(o, p)| {
        let return_series = c.string(o, &p, "return_series", false);
        let mut exposures = BTreeMap::new();
        match o.get("exposures") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                let ep = format!("{p}exposures.");
                for key in map.keys() {
                    if let Some(found) = control_char(key) {
                        c.issue(format!("{ep}{key}"), format!("factor name {found}"));
                        continue;
                    }
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
    let liquidity = liquidity::liquidity_section(c, obj, path);
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
    if instrument_type.is_some() && !derivative {
        for (key, value) in [("notional", notional), ("delta", delta)] {
            if value.is_some() {
                c.issue(
                    format!("{path}{key}"),
                    "only derivatives carry a notional or a delta; a cash position's exposure is its market value",
                );
            }
        }
    }
    if let Some(n) = notional {
        if n.abs() > MAX_ABS_MARKET_VALUE {
            c.issue(
                format!("{path}notional"),
                format!("{n} is beyond the limit of ±{MAX_ABS_MARKET_VALUE:e} {SCALE_HINT}"),
            );
        }
    }
    if let Some(d) = delta {
        if !(-1.0..=1.0).contains(&d) {
            c.issue(
                format!("{path}delta"),
                format!("must be between -1 and 1 (a delta per unit of notional), got {d}"),
            );
        }
    }
    // quantity × price can overflow even when both are finite (1e200 × 1e200); the
    // product is then no market value at all and must not be compared or summed.
    let implied = match (quantity, price) {
        (Some(q), Some(p)) => {
            let product = q * p;
            if product.is_finite() {
                Some(product)
            } else {
                c.issue(
                    format!("{path}quantity"),
                    format!("quantity × price overflows ({q} × {p} is not a finite number)"),
                );
                None
            }
        }
        _ => None,
    };
    let resolved = match (market_value, quantity, price) {
        (Some(mv), _, _) => {
            if mv < 0.0 && !derivative {
                c.issue(
                    format!("{path}market_value"),
                    "must be finite and >= 0 (only derivatives may have a negative mark-to-market)",
                );
            }
            if mv.abs() > MAX_ABS_MARKET_VALUE {
                c.issue(
                    format!("{path}market_value"),
                    format!("{mv} is beyond the limit of ±{MAX_ABS_MARKET_VALUE:e} {SCALE_HINT}"),
                );
            }
            if let Some(implied) = implied {
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
        (None, Some(q), Some(_)) => {
            if q < 0.0 && !derivative {
                c.issue(
                    format!("{path}quantity"),
                    "must be >= 0 (only derivatives may be short here)",
                );
            }
            if let Some(implied) = implied.filter(|v| v.abs() > MAX_ABS_MARKET_VALUE) {
                c.issue(
                    format!("{path}quantity"),
                    format!(
                        "quantity × price = {implied} is beyond the market value limit \
                         of ±{MAX_ABS_MARKET_VALUE:e} {SCALE_HINT}"
                    ),
                );
            }
            implied
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
    let position = match (&id, asset_class, instrument_type, currency, resolved) {
        (
            Some(id),
            Some(asset_class),
            Some(instrument_type),
            Some(currency),
            Some(market_value),
        ) => Some(Position {
            id: id.clone(),
            name: name.unwrap_or_default(),
            asset_class,
            instrument_type,
            currency,
            market_value,
            notional,
            delta,
            quantity,
            price,
            weight,
            factor,
            liquidity,
            credit,
            fixed_income,
            sector,
        }),
        _ => None,
    };
    (id, position)
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

/// Why `id` is not a usable portfolio id, if it is not.
fn portfolio_id_problem(id: &str) -> Option<String> {
    let chars = id.chars().count();
    if chars > MAX_PORTFOLIO_ID_CHARS {
        return Some(format!(
            "is {chars} characters long; the limit is {MAX_PORTFOLIO_ID_CHARS} \
             (it becomes part of storage keys)"
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|ch| !(ch.is_ascii_alphanumeric() || "-_.".contains(*ch)))
    {
        return Some(format!(
            "may contain only [A-Za-z0-9._-] (ASCII letters, digits, '.', '_' and '-'); \
             found {bad:?}"
        ));
    }
    // "." and ".." pass the character check but are path components, and the id is
    // used in storage keys and local directory names.
    if id.chars().all(|ch| ch == '.') {
        return Some("must not consist of dots only".into());
    }
    None
}

/// Portfolio-level checks: ids, emptiness, size, weight and total reconciliation.
/// `ids` holds the path and value of every readable position id, including those of
/// positions that failed other checks.
fn finish(
    mut c: Checker,
    raw_count: usize,
    header: PortfolioHeader,
    positions: Vec<Position>,
    ids: Vec<(String, String)>,
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
    if let Some(id) = &header.portfolio_id {
        if let Some(problem) = portfolio_id_problem(id) {
            let problem = match &header.portfolio_id_origin {
                Some(origin) => format!("{problem} (the id is {origin})"),
                None => problem,
            };
            c.issue("portfolio_id", problem);
        }
    }
    let base_currency = header.base_currency.as_deref().and_then(|s| {
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
    let mut first_use: HashMap<&str, &str> = HashMap::with_capacity(ids.len());
    for (path, id) in &ids {
        match first_use.entry(id.as_str()) {
            Entry::Occupied(first) => c.issue(
                path.clone(),
                format!("duplicate id {id:?} (first used at {})", first.get()),
            ),
            Entry::Vacant(slot) => {
                slot.insert(path.as_str());
            }
        }
    }
    if let Some(as_of) = &header.as_of {
        if !is_iso_date(as_of) {
            c.issue("as_of", format!("must be a date YYYY-MM-DD, got {as_of:?}"));
        }
    }
    for (currency, rate) in &header.fx_rates {
        if !is_iso_currency(currency) {
            c.issue(
                format!("fx_rates.{currency}"),
                "is not an ISO 4217 currency code",
            );
        } else if *rate <= 0.0 || !rate.is_finite() {
            c.issue(format!("fx_rates.{currency}"), "must be a finite rate > 0");
        } else if base_currency.as_deref() == Some(currency.as_str()) && *rate != 1.0 {
            c.issue(
                format!("fx_rates.{currency}"),
                format!("is the base currency; its rate must be 1, got {rate}"),
            );
        }
    }
    let rate_of = |currency: &str| -> Option<f64> {
        if base_currency.as_deref() == Some(currency) {
            Some(1.0)
        } else {
            header
                .fx_rates
                .get(currency)
                .copied()
                .filter(|r| *r > 0.0 && r.is_finite())
        }
    };
    let mut all_rated = base_currency.is_some();
    if let Some(base) = &base_currency {
        for (i, p) in positions.iter().enumerate() {
            if rate_of(&p.currency).is_none() {
                all_rated = false;
                // The id's own path names the position (and, for CSV, its line).
                let field = ids
                    .iter()
                    .find(|(_, id)| *id == p.id)
                    .map_or(format!("positions[{i}].currency"), |(path, _)| {
                        path.replacen(".id", ".currency", 1)
                    });
                c.issue(
                    field,
                    format!(
                        "is {}, but no FX rate into the base currency {base} is given: add fx_rates.{} ({base} per {})",
                        p.currency, p.currency, p.currency
                    ),
                );
            }
        }
    }
    // Only reconcile totals and weights once every position parsed (and converts to the
    // base currency): otherwise the sums would be wrong and the message misleading.
    if positions.len() == raw_count && raw_count > 0 && all_rated {
        let base = |p: &Position| p.market_value * rate_of(&p.currency).unwrap_or(f64::NAN);
        let total: f64 = positions.iter().map(base).sum();
        if !total.is_finite() {
            // Reachable only with positions already flagged as beyond the cap; still
            // named, because a total of inf would poison every figure derived from it.
            c.issue(
                "total_market_value",
                "the sum of the positions' market values overflows (is not a finite number)",
            );
        } else {
            let base_values: Vec<f64> = positions.iter().map(base).collect();
            reconcile_totals(&mut c, &header, &positions, &base_values, total);
        }
    }
    if !c.is_empty() {
        return Err(Rejection {
            issues: c.into_issues(),
        });
    }
    let portfolio_id = header.portfolio_id.unwrap_or_default();
    Ok(Portfolio {
        name: header.name.unwrap_or_else(|| portfolio_id.clone()),
        portfolio_id,
        base_currency: base_currency.unwrap_or_default(),
        as_of: header.as_of,
        market_data: header.market_data,
        total_market_value: header.total,
        fx_rates: header.fx_rates,
        fund: header.fund,
        investors: header.investors,
        liabilities: header.liabilities,
        market: header.market,
        positions,
    })
}

/// The stated total and the weights against the (finite) sum of market values.
/// The stated total and weights are in the base currency: `base_values` are the
/// positions' market values converted with their FX rates.
fn reconcile_totals(
    c: &mut Checker,
    header: &PortfolioHeader,
    positions: &[Position],
    base_values: &[f64],
    total: f64,
) {
    if let Some(stated) = header.total {
        if (stated - total).abs() > RECONCILE_TOLERANCE * stated.abs().max(total.abs()).max(1.0) {
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
                    let implied = base_values[*i] / total;
                    if (w - implied).abs() > RECONCILE_TOLERANCE {
                        c.issue(
                            format!("positions[{i}].weight"),
                            format!(
                                "{w} does not reconcile with market_value / total = {implied:.6}"
                            ),
                        );
                    }
                }
            }
        }
    }
    if total <= 0.0 {
        c.issue("positions", "total market value must be > 0");
    }
}

/// CSV import. One row per position; header names as in the JSON schema, nested fields
/// flattened: `return_series`, `exposure_<Factor>`, `liquidity_class` (the liquidity
/// section's `asset_class`), `adv`, `bid_ask_bps`, `daily_vol`, `settlement_days`,
/// `issue_outstanding`, `rating`, `maturity`, `coupon`; `sector` is the position's own sector. The portfolio id is the file stem, the base
/// currency USD unless a `base_currency` column says otherwise.
fn parse_csv(name: &str, bytes: &[u8]) -> Result<Portfolio, Rejection> {
    let lines = crate::input::LineIndex::new(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(&e, &lines))?
        .iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let mut c = Checker::new();
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
        "liquidity_class",
        "adv",
        "bid_ask_bps",
        "daily_vol",
        "settlement_days",
        "issue_outstanding",
        "rating",
        "sector",
        "maturity",
        "coupon",
        "base_currency",
        "notional",
        "delta",
        "fx_rate",
    ];
    let mut first_column: HashMap<&str, usize> = HashMap::with_capacity(headers.len());
    for (col, h) in headers.iter().enumerate() {
        if let Some(first) = first_column.insert(h.as_str(), col + 1) {
            // Which of the two cells would be meant is anyone's guess; the row-building
            // below would silently keep the last.
            c.issue(
                format!("header column {}", col + 1),
                format!("duplicate column {h:?} (also column {first})"),
            );
        } else if h.strip_prefix("exposure_").is_some_and(str::is_empty) {
            c.issue(
                format!("header column {}", col + 1),
                "column \"exposure_\" needs a factor name, e.g. exposure_MktRF",
            );
        } else if !known.contains(&h.as_str()) && !h.starts_with("exposure_") {
            c.issue(
                format!("header column {}", col + 1),
                format!("unknown column {h:?}"),
            );
        }
    }
    let mut ids = Vec::new();
    let mut positions = Vec::new();
    let mut base_currency = None;
    let mut fx_rates: BTreeMap<String, f64> = BTreeMap::new();
    let mut raw_count = 0;
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                for issue in csv_error(&e, &lines).issues {
                    c.push(issue);
                }
                continue;
            }
        };
        raw_count += 1;
        let line = lines.line_of_position(record.position());
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
                "fx_rate" => {
                    // Base units per unit of this row's currency; rows of one currency
                    // must agree (checked below).
                    let cur = record
                        .iter()
                        .zip(headers.iter())
                        .find(|(_, h)| h.as_str() == "currency")
                        .map(|(v, _)| v.to_ascii_uppercase());
                    match (cur, field.parse::<f64>()) {
                        (Some(cur), Ok(rate)) => match fx_rates.get(&cur) {
                            Some(prev) if *prev != rate => c.issue(
                                format!("positions[{i}].fx_rate (line {line})"),
                                format!("{rate} differs from the {cur} rate {prev} given on an earlier row"),
                            ),
                            _ => {
                                fx_rates.insert(cur, rate);
                            }
                        },
                        (_, Err(_)) => c.issue(
                            format!("positions[{i}].fx_rate (line {line})"),
                            format!("must be a number, got {field:?}"),
                        ),
                        (None, _) => {}
                    }
                }
                "market_value" | "notional" | "delta" | "quantity" | "price" | "weight" => {
                    obj.insert(h.clone(), number());
                }
                "return_series" => {
                    factor.insert(h.clone(), Value::String(field.into()));
                }
                // The liquidity section's class has its own column: `asset_class` is
                // the position's broad class.
                "liquidity_class" => {
                    liquidity.insert("asset_class".into(), Value::String(field.into()));
                }
                "adv" | "bid_ask_bps" | "daily_vol" | "settlement_days" | "issue_outstanding" => {
                    liquidity.insert(h.clone(), number());
                }
                "rating" => {
                    credit.insert(h.clone(), Value::String(field.into()));
                }
                // The position's own sector (what risk is grouped by), not the credit
                // section's: a JSON book that wants both gives both.
                "sector" => {
                    obj.insert(h.clone(), Value::String(field.into()));
                }
                "maturity" => {
                    fixed_income.insert(h.clone(), Value::String(field.into()));
                }
                "coupon" => {
                    fixed_income.insert(h.clone(), number());
                }
                "base_currency" => base_currency = Some(field.to_owned()),
                other if other.starts_with("exposure_") => {
                    if let Some(factor_name) = other.strip_prefix("exposure_") {
                        exposures.insert(factor_name.to_owned(), number());
                    }
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
        let (id, position) = position_from_object(&mut c, &obj, &format!("positions[{i}]."));
        for issue in c.issues.iter_mut().skip(before) {
            issue.path = format!("{} (line {line})", issue.path);
        }
        if let Some(id) = id {
            ids.push((format!("positions[{i}].id (line {line})"), id));
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
            portfolio_id_origin: Some(format!("taken from the file name {name:?}")),
            portfolio_id: Some(stem.clone()),
            name: Some(stem),
            base_currency: Some(base_currency.unwrap_or_else(|| "USD".into())),
            as_of: None,
            market_data: None,
            total: None,
            fx_rates,
            fund: None,
            investors: Vec::new(),
            liabilities: None,
            market: None,
        },
        positions,
        ids,
    )
}

fn csv_error(e: &csv::Error, lines: &crate::input::LineIndex) -> Rejection {
    let path = match e.position() {
        Some(p) => format!("line {} (record {})", lines.line_of(p.byte()), p.record()),
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

/// `YYYY-MM-DD` with a real day of that month. Parsed by splitting, never by byte
/// offsets, so non-ASCII input is simply not a date.
fn is_iso_date(s: &str) -> bool {
    let digits = |part: &str, n: usize| {
        (part.len() == n && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) = (
        parts.next().and_then(|p| digits(p, 4)),
        parts.next().and_then(|p| digits(p, 2)),
        parts.next().and_then(|p| digits(p, 2)),
        parts.next(),
    ) else {
        return false;
    };
    // The calendar (month lengths, leap years) is the `time` crate's; it agrees with the
    // table it replaced on all 10^8 digit triples 0000-00-00..9999-99-99. The shape check
    // above stays ours: `Date::parse` with `[year]-[month]-[day]` also takes a signed
    // year ("+2024-02-29", "-2024-02-29").
    let (Ok(y), Ok(m), Ok(d)) = (i32::try_from(y), u8::try_from(m), u8::try_from(d)) else {
        return false;
    };
    time::Month::try_from(m).is_ok_and(|m| time::Date::from_calendar_date(y, m, d).is_ok())
}

fn is_rating(s: &str) -> bool {
    const RATINGS: [&str; 22] = [
        "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-",
        "B+", "B", "B-", "CCC+", "CCC", "CCC-", "CC", "C", "D",
    ];
    RATINGS.contains(&s.to_ascii_uppercase().as_str())
}

/// An ISO 4217 currency code (upper case, as the callers pass it), from the
/// `iso_currency` crate's table: every code it knows except funds (BOV, CLF, USN, …)
/// and special codes (precious metals, SDR, test and "no currency" codes). Codes
/// ISO has superseded but that positions may still be booked in (HRK, ZWL, …) pass.
pub fn is_iso_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_some_and(|c| !c.is_fund() && !c.is_special())
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
    fn a_sector_is_optional_and_read_from_json_and_csv() {
        let json = r#"{"portfolio_id":"p","base_currency":"USD","positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1,"sector":" Energy "},
            {"id":"b","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1}]}"#;
        let p = parse_portfolio("p.json", json.as_bytes()).unwrap();
        assert_eq!(p.positions[0].sector.as_deref(), Some("Energy"));
        assert_eq!(p.positions[1].sector, None);
        let bad = json.replace("\" Energy \"", "7");
        let err = parse_portfolio("p.json", bad.as_bytes()).unwrap_err();
        assert_eq!(err.issues[0].path, "positions[0].sector", "{err}");
        let csv = "id,asset_class,instrument_type,currency,market_value,sector\n\
                   a,equity,stock,USD,1,Utilities\nb,equity,stock,USD,1,\n";
        let p = parse_portfolio("b.csv", csv.as_bytes()).unwrap();
        assert_eq!(p.positions[0].sector.as_deref(), Some("Utilities"));
        assert_eq!(p.positions[0].credit, None);
        assert_eq!(p.positions[1].sector, None);
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

        let good = "id,name,asset_class,instrument_type,currency,market_value,exposure_MktRF,liquidity_class,adv\n\
                    a,Alpha,equity,stock,USD,100,1.1,equity_large,5e6\n";
        let p = parse_portfolio("book.csv", good.as_bytes()).unwrap();
        assert_eq!(p.portfolio_id, "book");
        assert_eq!(
            p.positions[0].factor.as_ref().unwrap().exposures["MktRF"],
            1.1
        );
        let liquidity = p.positions[0].liquidity.as_ref().unwrap();
        assert_eq!(liquidity.adv, Some(5e6));
        assert_eq!(liquidity.asset_class, "equity_large");
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
        assert!(!is_iso_currency("eur"));
        // New (XCG, 2025) and superseded (HRK) currencies pass; funds, metals, SDR do not.
        assert!(is_iso_currency("XCG") && is_iso_currency("HRK") && is_iso_currency("XOF"));
        assert!(!is_iso_currency("USN") && !is_iso_currency("XAU") && !is_iso_currency("XDR"));
    }

    fn paths_of(json: &str) -> Vec<String> {
        parse_portfolio("p.json", json.as_bytes())
            .expect_err("must be rejected")
            .issues
            .into_iter()
            .map(|i| format!("{}: {}", i.path, i.reason))
            .collect()
    }

    #[test]
    fn market_values_convert_to_the_base_currency() {
        let json = r#"{"portfolio_id":"p","base_currency":"USD","fx_rates":{"EUR":1.1,"JPY":0.0067},
            "total_market_value":310.67,"positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"EUR","market_value":100,"weight":0.35407989},
            {"id":"b","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":200,"weight":0.64377153},
            {"id":"c","asset_class":"equity","instrument_type":"stock","currency":"JPY","market_value":100,"weight":0.00214858}]}"#;
        let p = parse_portfolio("p.json", json.as_bytes()).expect("valid");
        assert!((p.total_market_value() - (110.0 + 200.0 + 0.67)).abs() < 1e-9);
        assert!((p.base_market_value(&p.positions[0]) - 110.0).abs() < 1e-12);
        assert_eq!(p.fx_rate("USD"), 1.0);
    }

    #[test]
    fn a_missing_fx_rate_names_the_position_and_the_rate_to_add() {
        let found = paths_of(
            r#"{"portfolio_id":"p","base_currency":"USD","positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"GBP","market_value":100}]}"#,
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("positions[0].currency:") && f.contains("fx_rates.GBP")),
            "{found:?}"
        );
        let found = paths_of(
            r#"{"portfolio_id":"p","base_currency":"USD","fx_rates":{"GBP":-1,"USD":2,"XQZ":1},"positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":100}]}"#,
        );
        for path in ["fx_rates.GBP", "fx_rates.USD", "fx_rates.XQZ"] {
            assert!(
                found.iter().any(|f| f.starts_with(path)),
                "{path}: {found:?}"
            );
        }
    }

    #[test]
    fn only_derivatives_carry_a_notional_and_deltas_are_bounded() {
        let found = paths_of(
            r#"{"portfolio_id":"p","base_currency":"USD","positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":100,"notional":5},
            {"id":"b","asset_class":"equity","instrument_type":"option","currency":"USD","market_value":1,"notional":100,"delta":1.5}]}"#,
        );
        assert!(
            found.iter().any(|f| f.starts_with("positions[0].notional")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.starts_with("positions[1].delta")),
            "{found:?}"
        );
        let ok = parse_portfolio(
            "p.json",
            br#"{"portfolio_id":"p","base_currency":"USD","positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":100},
            {"id":"f","asset_class":"equity","instrument_type":"future","currency":"USD","market_value":0,"notional":-50}]}"#,
        )
        .expect("a futures overlay is valid input");
        assert_eq!(ok.base_notional(&ok.positions[1]), Some(-50.0));
    }

    #[test]
    fn liquidity_fund_and_investor_sections_parse() {
        let json = r#"{"portfolio_id":"p","base_currency":"USD",
            "fund":{"dealing_frequency":"Daily","notice_days":2,"gate":{"threshold":0.1},
                "swing_pricing":{"threshold":0.02,"max_factor":0.015},
                "buffer_tiers":["cash","cash-equivalent"],"peer_group":"mixed"},
            "investors":[
                {"id":"big","type":"pension","aum_share":0.4,"holders":1,"horizon_years":20,"notice_days":5},
                {"id":"crowd","type":"Retail","aum_share":0.6,"holders":1000,"horizon_years":3,"redemption_frequency":"weekly"}],
            "positions":[
            {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":100,
             "liquidity":{"asset_class":"Equity Large","adv":5e9,"bid_ask_bps":2,"daily_vol":0.018,"settlement_days":1}},
            {"id":"b","asset_class":"alternative","instrument_type":"fund","currency":"USD","market_value":50,
             "liquidity":{"asset_class":"alternatives"}}]}"#;
        let p = parse_portfolio("p.json", json.as_bytes()).expect("valid");
        let fund = p.fund.as_ref().unwrap();
        assert_eq!(fund.dealing_frequency, DealingFrequency::Daily);
        assert_eq!(fund.notice_days, 2);
        assert_eq!(fund.gate, Some(GateInputs { threshold: 0.1 }));
        assert_eq!(fund.buffer_tiers, ["cash", "cash_equivalent"]);
        assert_eq!(fund.peer_group.as_deref(), Some("mixed"));
        assert_eq!(p.investors.len(), 2);
        assert_eq!(p.investors[1].investor_type, "retail");
        assert_eq!(
            p.investors[1].redemption_frequency,
            Some(DealingFrequency::Weekly)
        );
        let a = p.positions[0].liquidity.as_ref().unwrap();
        assert_eq!(a.asset_class, "equity_large");
        assert_eq!(a.settlement_days, Some(1));
        let b = p.positions[1].liquidity.as_ref().unwrap();
        assert_eq!((b.adv, b.bid_ask_bps, b.daily_vol), (None, None, None));
        // Round trip: what the model stores parses back the same.
        let back: Portfolio = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn a_book_without_liquidity_inputs_keeps_its_shape() {
        let p = parse_portfolio("p.json", portfolio(&[position("a", "100")]).as_bytes()).unwrap();
        assert_eq!((p.fund.as_ref(), p.investors.len()), (None, 0));
        let text = serde_json::to_string(&p).unwrap();
        assert!(
            !text.contains("fund") && !text.contains("investors"),
            "{text}"
        );
    }

    #[test]
    fn csv_rows_carry_their_currency_rate_and_must_agree() {
        let csv = "id,asset_class,instrument_type,currency,market_value,fx_rate\na,equity,stock,EUR,100,1.1\nb,equity,stock,EUR,50,1.2\n";
        let err = parse_portfolio("book.csv", csv.as_bytes()).expect_err("conflicting rates");
        assert!(
            err.issues
                .iter()
                .any(|i| i.path.contains("fx_rate (line 3)")),
            "{err}"
        );
        let csv = "id,asset_class,instrument_type,currency,market_value,fx_rate\na,equity,stock,EUR,100,1.1\nb,equity,stock,USD,50,\n";
        let p = parse_portfolio("book.csv", csv.as_bytes()).expect("valid");
        assert!((p.total_market_value() - 160.0).abs() < 1e-9);
    }
}
