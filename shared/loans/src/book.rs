//! The loan book: the seed's loan schema, parsed from CSV bytes into typed loans.
//!
//! Every record is checked field by field and every problem is collected (line, field,
//! reason); a book with any bad record is rejected as a whole, so nothing downstream
//! ever sees a half-built book.
//!
//! Columns (header names exactly as the seed's schema, any order, no others):
//! `LoanId`, `CustomerId` (non-empty text), `LoanAmount` (> 0), `InterestRate` (annual
//! all-in rate as a decimal fraction in [0, 1): 0.045 for 4.5%), `StartDate`, `EndDate`
//! (ISO `YYYY-MM-DD`, end after start), `LoanType`, `RepaymentSchedule` (see the enums),
//! `CurrentBalance` (in [0, LoanAmount]), `DefaultRiskScore` (0 safest … 100 riskiest;
//! see [`crate::credit::ScoreToPd`]).

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::{macros::format_description, Date};

use crate::credit::AssetClass;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoanId(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CustomerId(pub String);

/// How the coupon is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Coupon fixed to maturity.
    Fixed,
    /// Coupon = index + margin, reset at every payment date; `InterestRate` is today's
    /// all-in coupon, so a market shift moves it one for one.
    Floating,
}

/// What a loan is. The seed's single `LoanType` column carries both what the Basel
/// formulas need (the asset class) and what the shock needs (fixed or floating), written
/// `<Product>-<Basis>`: products `Mortgage` (residential mortgage), `Consumer` (auto,
/// personal: other retail), `Corporate`; bases `Fixed`, `Floating`. Case-insensitive,
/// e.g. `Mortgage-Floating`, `consumer-fixed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoanType {
    pub class: AssetClass,
    pub basis: RateBasis,
}

impl LoanType {
    pub fn parse(s: &str) -> Result<LoanType, String> {
        let usage = "expected <Product>-<Basis> with Product one of Mortgage, Consumer, \
                     Corporate and Basis one of Fixed, Floating (e.g. Mortgage-Floating)";
        let Some((product, basis)) = s.split_once('-') else {
            return Err(format!("{s:?}: {usage}"));
        };
        let class = match product.to_ascii_lowercase().as_str() {
            "mortgage" => AssetClass::ResidentialMortgage,
            "consumer" => AssetClass::OtherRetail,
            "corporate" => AssetClass::Corporate,
            _ => return Err(format!("unknown product {product:?}: {usage}")),
        };
        let basis = match basis.to_ascii_lowercase().as_str() {
            "fixed" => RateBasis::Fixed,
            "floating" => RateBasis::Floating,
            _ => return Err(format!("unknown rate basis {basis:?}: {usage}")),
        };
        Ok(LoanType { class, basis })
    }
}

/// How principal is repaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepaymentSchedule {
    /// Level (annuity) payments every month, re-amortised at each rate reset.
    Monthly,
    /// Level payments every third month, counted back from the end date.
    Quarterly,
    /// Interest every month, all principal at the end date (a bullet).
    InterestOnly,
}

impl RepaymentSchedule {
    pub fn parse(s: &str) -> Result<RepaymentSchedule, String> {
        match s.to_ascii_lowercase().as_str() {
            "monthly" => Ok(RepaymentSchedule::Monthly),
            "quarterly" => Ok(RepaymentSchedule::Quarterly),
            "interestonly" | "interest-only" | "interest_only" | "bullet" => {
                Ok(RepaymentSchedule::InterestOnly)
            }
            _ => Err(format!(
                "{s:?}: expected Monthly, Quarterly or InterestOnly (Bullet)"
            )),
        }
    }

    /// Months between scheduled payments (interest-only loans pay interest monthly).
    pub fn months_per_period(self) -> u32 {
        match self {
            RepaymentSchedule::Quarterly => 3,
            RepaymentSchedule::Monthly | RepaymentSchedule::InterestOnly => 1,
        }
    }
}

/// One loan, every field checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loan {
    pub loan_id: LoanId,
    pub customer_id: CustomerId,
    pub loan_amount: f64,
    /// Annual all-in coupon, decimal.
    pub interest_rate: f64,
    pub start_date: Date,
    pub end_date: Date,
    pub loan_type: LoanType,
    pub repayment_schedule: RepaymentSchedule,
    pub current_balance: f64,
    pub default_risk_score: f64,
    /// 1-based line of the record in the source file, for later messages.
    pub line: usize,
}

/// A parsed, fully valid loan book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoanBook {
    pub loans: Vec<Loan>,
}

/// One problem with the input: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanIssue {
    /// 1-based line in the file (1 = the header).
    pub line: usize,
    /// The column (or `record` for a malformed row, `header` for the header).
    pub field: String,
    pub reason: String,
}

impl fmt::Display for LoanIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.field, self.reason)
    }
}

/// The book was rejected; `issues` lists every bad field found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookError {
    pub issues: Vec<LoanIssue>,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loan book rejected, {} issue(s):", self.issues.len())?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BookError {}

const COLUMNS: [&str; 10] = [
    "LoanId",
    "CustomerId",
    "LoanAmount",
    "InterestRate",
    "StartDate",
    "EndDate",
    "LoanType",
    "RepaymentSchedule",
    "CurrentBalance",
    "DefaultRiskScore",
];

/// The record as text: serde maps the header names, and every field stays a string so
/// that one bad number does not hide the problems in the fields after it.
#[derive(Deserialize)]
struct RawLoan {
    #[serde(rename = "LoanId")]
    loan_id: String,
    #[serde(rename = "CustomerId")]
    customer_id: String,
    #[serde(rename = "LoanAmount")]
    loan_amount: String,
    #[serde(rename = "InterestRate")]
    interest_rate: String,
    #[serde(rename = "StartDate")]
    start_date: String,
    #[serde(rename = "EndDate")]
    end_date: String,
    #[serde(rename = "LoanType")]
    loan_type: String,
    #[serde(rename = "RepaymentSchedule")]
    repayment_schedule: String,
    #[serde(rename = "CurrentBalance")]
    current_balance: String,
    #[serde(rename = "DefaultRiskScore")]
    default_risk_score: String,
}

/// Collects the issues of one record.
struct Issues<'a> {
    line: usize,
    out: &'a mut Vec<LoanIssue>,
}

impl Issues<'_> {
    fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.out.push(LoanIssue {
            line: self.line,
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|reason| self.push(field, reason)).ok()
    }
}

fn number(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("{s:?} is not a finite number")),
        Err(_) if s.is_empty() => Err("missing (empty)".into()),
        Err(_) => Err(format!("{s:?} is not a number")),
    }
}

fn in_range(s: &str, ok: impl Fn(f64) -> bool, rule: &str) -> Result<f64, String> {
    let x = number(s)?;
    if ok(x) {
        Ok(x)
    } else {
        Err(format!("{x} {rule}"))
    }
}

/// An ISO `YYYY-MM-DD` date, with the reason when it is not one (for the book's date
/// columns and a caller's valuation date alike).
pub fn parse_iso_date(s: &str) -> Result<Date, String> {
    date(s)
}

fn date(s: &str) -> Result<Date, String> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|e| format!("{s:?} is not a date YYYY-MM-DD ({e})"))
}

fn text(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("missing (empty)".into())
    } else {
        Ok(s.to_owned())
    }
}

impl LoanBook {
    /// Parses a CSV loan book. Leading/trailing blanks around fields are ignored.
    pub fn from_csv(bytes: &[u8]) -> Result<LoanBook, BookError> {
        let mut issues = Vec::new();
        let lines = LineIndex::new(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                issues.push(malformed(&e, &lines));
                return Err(BookError { issues });
            }
        };
        check_header(&headers, &mut issues);
        if !issues.is_empty() {
            // Without the right columns no record can be read meaningfully.
            return Err(BookError { issues });
        }
        let mut loans = Vec::new();
        let mut first_line_of: HashMap<String, usize> = HashMap::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    issues.push(malformed(&e, &lines));
                    continue;
                }
            };
            let line = lines.line_of(record.position());
            let raw: RawLoan = match record.deserialize(Some(&headers)) {
                Ok(raw) => raw,
                Err(e) => {
                    issues.push(LoanIssue {
                        line,
                        field: "record".into(),
                        reason: format!("unreadable record: {e}"),
                    });
                    continue;
                }
            };
            let mut c = Issues {
                line,
                out: &mut issues,
            };
            if let Some(loan) = check_loan(&raw, &mut c) {
                if let Some(first) = first_line_of.insert(loan.loan_id.0.clone(), line) {
                    c.push(
                        "LoanId",
                        format!("duplicate {:?} (first on line {first})", loan.loan_id.0),
                    );
                } else {
                    loans.push(loan);
                }
            }
        }
        if loans.is_empty() && issues.is_empty() {
            issues.push(LoanIssue {
                line: 1,
                field: "record".into(),
                reason: "the book has no loans".into(),
            });
        }
        if issues.is_empty() {
            Ok(LoanBook { loans })
        } else {
            Err(BookError { issues })
        }
    }
}

/// Line numbers from byte offsets: `csv::Position::line` counts a CRLF file's lines
/// differently from an LF one's, so count newlines ourselves.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(bytes: &[u8]) -> LineIndex {
        LineIndex {
            newlines: bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// 1-based line of a record starting at the position's byte. In a CRLF file the
    /// reader reports a record as starting on the previous line's `\n`, so a newline
    /// *at* the offset counts as behind it.
    fn line_of(&self, position: Option<&csv::Position>) -> usize {
        position.map_or(0, |p| {
            self.newlines.partition_point(|&nl| (nl as u64) <= p.byte()) + 1
        })
    }
}

fn malformed(e: &csv::Error, lines: &LineIndex) -> LoanIssue {
    let line = lines.line_of(e.position());
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("malformed CSV: {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("malformed CSV: invalid UTF-8 in field {}", err.field() + 1)
        }
        _ => format!("malformed CSV: {e}"),
    };
    LoanIssue {
        line,
        field: "record".into(),
        reason,
    }
}

fn check_header(headers: &csv::StringRecord, issues: &mut Vec<LoanIssue>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(first) = seen.insert(h, i + 1) {
            issues.push(LoanIssue {
                line: 1,
                field: "header".into(),
                reason: format!("duplicate column {h:?} (columns {first} and {})", i + 1),
            });
        } else if !COLUMNS.contains(&h) {
            issues.push(LoanIssue {
                line: 1,
                field: "header".into(),
                reason: format!(
                    "unknown column {h:?}; expected exactly {}",
                    COLUMNS.join(", ")
                ),
            });
        }
    }
    for col in COLUMNS {
        if !seen.contains_key(col) {
            issues.push(LoanIssue {
                line: 1,
                field: "header".into(),
                reason: format!("missing column {col:?}"),
            });
        }
    }
}

/// Checks every field of one record; `None` if any is bad (all of them reported).
fn check_loan(raw: &RawLoan, c: &mut Issues<'_>) -> Option<Loan> {
    let loan_id = c.check("LoanId", text(&raw.loan_id));
    let customer_id = c.check("CustomerId", text(&raw.customer_id));
    let loan_amount = c.check(
        "LoanAmount",
        in_range(&raw.loan_amount, |x| x > 0.0, "must be > 0"),
    );
    let interest_rate = c.check(
        "InterestRate",
        number(&raw.interest_rate).and_then(|r| {
            if (0.0..1.0).contains(&r) {
                Ok(r)
            } else if (1.0..100.0).contains(&r) {
                Err(format!(
                    "{r} looks like a percentage; give a decimal fraction ({} for {r}%)",
                    r / 100.0
                ))
            } else {
                Err(format!("{r} must be an annual rate in [0, 1)"))
            }
        }),
    );
    let start_date = c.check("StartDate", date(&raw.start_date));
    let end_date = c.check("EndDate", date(&raw.end_date));
    if let (Some(s), Some(e)) = (start_date, end_date) {
        if e <= s {
            c.push("EndDate", format!("{e} is not after StartDate {s}"));
        }
    }
    let loan_type = c.check("LoanType", LoanType::parse(&raw.loan_type));
    let repayment_schedule = c.check(
        "RepaymentSchedule",
        RepaymentSchedule::parse(&raw.repayment_schedule),
    );
    let current_balance = c.check(
        "CurrentBalance",
        in_range(&raw.current_balance, |x| x >= 0.0, "must be >= 0"),
    );
    if let (Some(b), Some(a)) = (current_balance, loan_amount) {
        if b > a {
            c.push(
                "CurrentBalance",
                format!("{b} exceeds LoanAmount {a} (negative amortisation is not modelled)"),
            );
        }
    }
    let default_risk_score = c.check(
        "DefaultRiskScore",
        in_range(
            &raw.default_risk_score,
            |x| (0.0..=100.0).contains(&x),
            "must be in [0, 100]",
        ),
    );
    let start_date = start_date?;
    let end_date = end_date?;
    let current_balance = current_balance?;
    let loan_amount = loan_amount?;
    if end_date <= start_date || current_balance > loan_amount {
        return None;
    }
    Some(Loan {
        loan_id: LoanId(loan_id?),
        customer_id: CustomerId(customer_id?),
        loan_amount,
        interest_rate: interest_rate?,
        start_date,
        end_date,
        loan_type: loan_type?,
        repayment_schedule: repayment_schedule?,
        current_balance,
        default_risk_score: default_risk_score?,
        line: c.line,
    })
}
