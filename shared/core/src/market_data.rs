//! Market data: a monthly panel of named return series (factors and assets), read from
//! CSV. Same error discipline as the portfolio: every bad cell is named by line, column
//! and header, and a file with any bad cell is refused.

use crate::portfolio::{strip_bom, Checker, Issue, Rejection};
use std::collections::HashMap;

/// Bounds of a monthly return, as a fraction. A return below −100% is impossible for
/// an asset; above +1,000% in a month it is almost surely a percentage (5 for 5%) or a
/// price level in the wrong file — and either would poison every covariance (and, at
/// 1e300, overflow it).
pub const MIN_RETURN: f64 = -1.0;
pub const MAX_RETURN: f64 = 10.0;

/// Largest median absolute monthly return accepted for a series (0.2 = 20% a month, far
/// above any asset's typical month; a series in percent has medians of 1–5).
pub const PERCENT_MEDIAN: f64 = 0.2;

/// The month after `YYYY-MM`.
fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    Some(if m >= 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    })
}

/// Largest market-data file accepted.
pub const MAX_MARKET_DATA_BYTES: usize = 32 * 1024 * 1024;

/// Dates (as `YYYY-MM`) and one `Vec<f64>` per column, all the same length.
///
/// A series may start later than the file (an instrument listed after the first month:
/// an ETF launched in 2013 beside factors from 1949): its cells before its first value
/// are empty in the CSV and NaN here. Every series runs without a gap from its first
/// value to the last row. Consumers that need a complete history ask
/// [`MarketData::first_observation`].
#[derive(Debug, Clone, PartialEq)]
pub struct MarketData {
    pub dates: Vec<String>,
    pub columns: Vec<String>,
    series: Vec<Vec<f64>>,
    /// Per column, the row of its first value (0 for a complete series).
    first: Vec<usize>,
}

impl MarketData {
    pub fn len(&self) -> usize {
        self.dates.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .position(|c| c == name)
            .map(|i| self.series[i].as_slice())
    }
    /// Row of the column's first value (0 when the series covers the whole file; the
    /// rows before it are NaN), or `None` when there is no such column.
    pub fn first_observation(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .map(|i| self.first[i])
    }
    /// A table from its parts (a scenario library's stored columns, merged with a run's
    /// file): every series as long as `dates`, missing (`None`) only before its first
    /// value — the invariant [`parse_market_data`] enforces. `Err` names the column.
    pub fn from_columns(
        dates: Vec<String>,
        columns: Vec<(String, Vec<Option<f64>>)>,
    ) -> Result<MarketData, String> {
        let mut names = Vec::with_capacity(columns.len());
        let mut series = Vec::with_capacity(columns.len());
        let mut first = Vec::with_capacity(columns.len());
        for (name, values) in columns {
            if values.len() != dates.len() {
                return Err(format!(
                    "column {name:?} has {} values for {} dates",
                    values.len(),
                    dates.len()
                ));
            }
            let start = values
                .iter()
                .position(Option::is_some)
                .unwrap_or(values.len());
            if start == values.len() || values[start..].iter().any(Option::is_none) {
                return Err(format!(
                    "column {name:?} must run without a gap from its first value to the last date"
                ));
            }
            if values[start..].iter().flatten().any(|v| !v.is_finite()) {
                return Err(format!("column {name:?} has a non-finite value"));
            }
            if names.contains(&name) {
                return Err(format!("duplicate column {name:?}"));
            }
            series.push(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
            first.push(start);
            names.push(name);
        }
        Ok(MarketData {
            dates,
            columns: names,
            series,
            first,
        })
    }
    /// A column with its missing leading cells as `None` (what JSON can carry).
    pub fn column_values(&self, name: &str) -> Option<Vec<Option<f64>>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(
            self.series[i]
                .iter()
                .enumerate()
                .map(|(row, v)| (row >= self.first[i]).then_some(*v))
                .collect(),
        )
    }
    /// Index of a month `YYYY-MM`.
    pub fn index_of(&self, month: &str) -> Option<usize> {
        self.dates.iter().position(|d| d == month)
    }
}

/// The date formats accepted, for messages.
const DATE_FORMATS: &str = "YYYY-MM-DD, YYYY-MM, YYYYMM or M/D/YYYY";

/// `part` as a number if it is exactly `len` ASCII digits (or, with `len` 0, one or two).
fn digits(part: &str, len: usize) -> Option<u32> {
    let ok_len = if len == 0 {
        (1..=2).contains(&part.len())
    } else {
        part.len() == len
    };
    if ok_len && part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// Normalise the date formats seen in our sources to `YYYY-MM`:
/// `YYYY-MM-DD`, `YYYY-MM`, `YYYYMM`, `M/D/YYYY`. Dates are split on their separators
/// and every part must be ASCII digits, so no byte offset ever lands inside a multi-byte
/// character (`2000-0é` is just an unreadable date).
///
/// Kept hand-written rather than `time`: the result is a month, not a date. `time` has
/// no year-month type, so `YYYY-MM` and `YYYYMM` (no day at all) would need a dummy day
/// spliced in; the day, when present, is only checked to be 1–31 (it is discarded, and
/// `time::Date` would newly reject e.g. `2/30/2000`); the year must be 1800–2200; and
/// `time`'s `[year]` also accepts a sign (`+2000-01`). Matching these rules with four
/// format descriptions and pre-checks would be more code than this parser.
fn month_of(raw: &str) -> Option<String> {
    let s = raw.trim();
    // Timestamps exported by spreadsheets ("2000-01-31 00:00:00", "2000-01-31T00:00")
    // carry the same month; the time part is ignored.
    let s = s.split_once(['T', ' ']).map_or(s, |(date, _)| date);
    let valid = |y: u32, m: u32| (1800..=2200).contains(&y) && (1..=12).contains(&m);
    let day = |d: u32| (1..=31).contains(&d);
    let (y, m) = if s.contains('/') {
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(d), Some(y), None) => {
                let (m, d, y) = (digits(m, 0)?, digits(d, 0)?, digits(y, 4)?);
                if !day(d) {
                    return None;
                }
                (y, m)
            }
            _ => return None,
        }
    } else if s.contains('-') {
        let mut parts = s.split('-');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(y), Some(m), None, None) => (digits(y, 4)?, digits(m, 2)?),
            (Some(y), Some(m), Some(d), None) => {
                let (y, m, d) = (digits(y, 4)?, digits(m, 2)?, digits(d, 2)?);
                if !day(d) {
                    return None;
                }
                (y, m)
            }
            _ => return None,
        }
    } else {
        let n = digits(s, 6)?;
        (n / 100, n % 100)
    };
    valid(y, m).then(|| format!("{y:04}-{m:02}"))
}

pub fn parse_market_data(bytes: &[u8]) -> Result<MarketData, Rejection> {
    let fail = |path: String, reason: String| Rejection {
        issues: vec![Issue { path, reason }],
    };
    if bytes.len() > MAX_MARKET_DATA_BYTES {
        return Err(fail(
            "market_data".into(),
            format!(
                "is {} bytes; the limit is {MAX_MARKET_DATA_BYTES}",
                bytes.len()
            ),
        ));
    }
    // The csv reader skips a leading UTF-8 byte-order mark itself; stripping it here too
    // keeps the behaviour the same as the portfolio's, whatever the reader does.
    let body = strip_bom(bytes);
    let lines = crate::input::LineIndex::new(body);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| fail("market_data line 1".into(), format!("malformed CSV: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let Some((_, columns)) = headers.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return Err(fail(
            "market_data line 1".into(),
            "needs a date column and at least one series".into(),
        ));
    };
    let columns = columns.to_vec();
    let mut c = Checker::new();
    let mut first_column: HashMap<&str, usize> = HashMap::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let col = i + 2;
        if name.is_empty() {
            c.issue(
                format!("market_data line 1 column {col}"),
                "the series has no name",
            );
        } else if let Some(first) = first_column.insert(name.as_str(), col) {
            // column() would silently pick the first; the author may have meant either.
            c.issue(
                format!("market_data line 1 column {col} ({name})"),
                format!("duplicate column {name:?} (also column {first})"),
            );
        }
    }
    let mut dates: Vec<String> = Vec::new();
    let mut series = vec![Vec::new(); columns.len()];
    // Per column, the line and row of its first value, once seen: an empty cell before
    // it is a series that starts later; after it, a gap.
    let mut started: Vec<Option<(usize, usize)>> = vec![None; columns.len()];
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = lines.line_of_position(e.position());
                c.issue(
                    format!("market_data line {line}"),
                    format!("malformed CSV: {e}"),
                );
                continue;
            }
        };
        let line = lines.line_of_position(record.position());
        let date = record.get(0).unwrap_or_default();
        match month_of(date) {
            Some(m) => {
                if let Some(prev) = dates.last() {
                    if *prev >= m {
                        c.issue(
                            format!("market_data line {line} column 1"),
                            format!("date {m} is not after the previous row"),
                        );
                    } else if next_month(prev).as_deref() != Some(m.as_str()) {
                        // A monthly panel with a hole would silently treat two months
                        // apart as one, in every covariance and replay.
                        c.issue(
                            format!("market_data line {line} column 1"),
                            format!(
                                "month {m} follows {prev}: the months between are missing (the data must be one row per consecutive month)"
                            ),
                        );
                    }
                }
                dates.push(m);
            }
            None => c.issue(
                format!("market_data line {line} column 1"),
                format!("unreadable date {date:?} (expected {DATE_FORMATS})"),
            ),
        }
        for (col, out) in series.iter_mut().enumerate() {
            let cell = record.get(col + 1).unwrap_or_default();
            if cell.is_empty() {
                if let Some((first_line, _)) = started[col] {
                    c.issue(
                        format!(
                            "market_data line {line} column {} ({})",
                            col + 2,
                            columns.get(col).map_or("", String::as_str)
                        ),
                        format!(
                            "is empty, but the series started at line {first_line}: a series may start later than the file (empty cells from the first row), but may have no gap and must run to the last row"
                        ),
                    );
                }
                out.push(f64::NAN);
                continue;
            }
            if started[col].is_none() {
                started[col] = Some((line, out.len()));
            }
            match cell.parse::<f64>() {
                Ok(x) if x.is_finite() && !(MIN_RETURN..=MAX_RETURN).contains(&x) => {
                    c.issue(
                        format!(
                            "market_data line {line} column {} ({})",
                            col + 2,
                            columns.get(col).map_or("", String::as_str)
                        ),
                        format!(
                            "{x:e} is not a plausible monthly return: returns are fractions (0.05 = 5%) between {MIN_RETURN} (−100%) and {MAX_RETURN} (+1,000%) — percentages must be divided by 100"
                        ),
                    );
                    out.push(f64::NAN);
                }
                Ok(x) if x.is_finite() => out.push(x),
                _ => {
                    c.issue(
                        format!(
                            "market_data line {line} column {} ({})",
                            col + 2,
                            columns.get(col).map_or("", String::as_str)
                        ),
                        format!("must be a finite number, got {cell:?}"),
                    );
                    out.push(f64::NAN);
                }
            }
        }
    }
    if dates.is_empty() && c.is_empty() {
        c.issue("market_data", "has no rows");
    }
    if !dates.is_empty() {
        for (col, name) in columns.iter().enumerate() {
            if started[col].is_none() {
                c.issue(
                    format!("market_data column {} ({name})", col + 2),
                    "has no values: every cell is empty",
                );
            }
        }
    }
    // Percentages where fractions belong: a monthly return series in percent has a
    // typical size of a few units (3 for 3%), in fractions a few hundredths. A median
    // absolute value above PERCENT_MEDIAN is no plausible series of monthly fractions.
    if c.is_empty() {
        for (name, values) in columns.iter().zip(&series) {
            // Leading blanks (NaN) are not part of the series.
            let mut abs: Vec<f64> = values
                .iter()
                .filter(|x| !x.is_nan())
                .map(|x| x.abs())
                .collect();
            abs.sort_by(f64::total_cmp);
            let median = abs.get(abs.len() / 2).copied().unwrap_or(0.0);
            if median > PERCENT_MEDIAN {
                c.issue(
                    format!("market_data column {name:?}"),
                    format!(
                        "looks like percentages (median |value| {median:.3}): returns must be fractions (0.05 = 5%) — divide the column by 100"
                    ),
                );
            }
        }
    }
    if !c.is_empty() {
        return Err(Rejection {
            issues: c.into_issues(),
        });
    }
    let first = started
        .iter()
        .map(|s| s.map_or(0, |(_, row)| row))
        .collect();
    Ok(MarketData {
        dates,
        columns,
        series,
        first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_date_formats() {
        assert_eq!(month_of("1949-01-01").as_deref(), Some("1949-01"));
        assert_eq!(month_of("192607").as_deref(), Some("1926-07"));
        assert_eq!(month_of("1/4/1999").as_deref(), Some("1999-01"));
        assert_eq!(month_of("13/4/1999"), None);
        assert_eq!(month_of("hello"), None);
        assert_eq!(month_of("1999-01").as_deref(), Some("1999-01"));
        assert_eq!(month_of("12/31/1999").as_deref(), Some("1999-12"));
        assert_eq!(month_of("2000-0é"), None);
        assert_eq!(month_of("é00001"), None);
        assert_eq!(month_of("20000é"), None);
        assert_eq!(month_of("2000-01-xx"), None);
        assert_eq!(month_of("1/x/1999"), None);
        assert_eq!(month_of("2000-01-31 00:00:00").as_deref(), Some("2000-01"));
    }

    #[test]
    fn bad_cells_are_named() {
        let csv = "dates,A,B\n2000-01-01,0.1,0.2\n2000-02-01,x,0.1\n2000-01-01,0.1,0.1\n";
        let issues = parse_market_data(csv.as_bytes()).unwrap_err().issues;
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(issues[0].path, "market_data line 3 column 2 (A)");
        assert!(issues[1].reason.contains("not after"));
    }

    #[test]
    fn parses_the_sample_file() {
        let bytes = include_bytes!(
            "../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
        );
        let md = parse_market_data(bytes).unwrap();
        assert_eq!(md.dates.first().unwrap(), "1949-01");
        assert_eq!(md.dates.last().unwrap(), "2017-03");
        assert_eq!(md.len(), 819);
        // October 1987 is in the data, and it was a crash month for the market factor.
        let oct87 = md.index_of("1987-10").unwrap();
        assert!(md.column("MktRF").unwrap()[oct87] < -0.2);
        // The traded-instrument columns start when their price history does.
        assert_eq!(md.first_observation("MktRF"), Some(0));
        assert_eq!(md.first_observation("SP500"), md.index_of("1990-02"));
        for etf in ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"] {
            assert_eq!(md.first_observation(etf), md.index_of("2014-02"), "{etf}");
        }
        assert_eq!(md.first_observation("nope"), None);
        // S&P 500 price return in October 1987 is outside its span; in August 1998 it
        // fell 14.6% (index 1120.67 → 957.28).
        let aug98 = md.index_of("1998-08").unwrap();
        assert!((md.column("SP500").unwrap()[aug98] - (957.28 / 1120.67 - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn a_series_may_start_later() {
        let csv =
            "dates,A,B\n2000-01,0.01,\n2000-02,0.02,\n2000-03,-0.01,0.03\n2000-04,0.0,-0.02\n";
        let md = parse_market_data(csv.as_bytes()).unwrap();
        assert_eq!(md.first_observation("A"), Some(0));
        assert_eq!(md.first_observation("B"), Some(2));
        let b = md.column("B").unwrap();
        assert!(b[0].is_nan() && b[1].is_nan());
        assert_eq!(&b[2..], &[0.03, -0.02]);
    }

    #[test]
    fn a_gap_after_a_series_starts_is_named_with_line_and_column() {
        // Interior gap in B (line 4), trailing gap in A (line 5).
        let csv = "dates,A,B\n2000-01,0.01,\n2000-02,0.02,0.01\n2000-03,-0.01,\n2000-04,,0.02\n";
        let issues = parse_market_data(csv.as_bytes()).unwrap_err().issues;
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(issues[0].path, "market_data line 4 column 3 (B)");
        assert!(issues[0].reason.contains("started at line 3"), "{issues:?}");
        assert_eq!(issues[1].path, "market_data line 5 column 2 (A)");
        assert!(issues[1].reason.contains("started at line 2"), "{issues:?}");
    }

    #[test]
    fn an_all_empty_series_is_refused() {
        let csv = "dates,A,B\n2000-01,0.01,\n2000-02,0.02,\n";
        let issues = parse_market_data(csv.as_bytes()).unwrap_err().issues;
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path, "market_data column 3 (B)");
        assert!(issues[0].reason.contains("no values"), "{issues:?}");
    }

    #[test]
    fn implausible_returns_and_missing_months_are_named() {
        let csv = "dates,A,B\n2000-01-01,0.1,5.2\n2000-02-01,1e308,0.1\n2000-04-01,0.1,0.1\n";
        let err = parse_market_data(csv.as_bytes()).unwrap_err();
        let found: Vec<String> = err.issues.iter().map(|i| i.to_string()).collect();
        assert!(
            found.iter().any(
                |f| f.starts_with("market_data line 3 column 2 (A)") && f.contains("fractions")
            ),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("market_data line 4 column 1") && f.contains("missing")),
            "{found:?}"
        );
        // 5.2 (+520% in a month) is implausible but possible: only > +1,000% is refused.
        assert!(!found.iter().any(|f| f.contains("column 3")), "{found:?}");
        assert_eq!(next_month("1999-12").as_deref(), Some("2000-01"));
    }

    #[test]
    fn crlf_files_report_the_line_an_editor_shows() {
        let csv = "dates,A\r\n2000-01-01,0.1\r\n2000-02-01,x\r\n";
        let err = parse_market_data(csv.as_bytes()).unwrap_err();
        assert!(
            err.issues[0].path.starts_with("market_data line 3 "),
            "{err}"
        );
    }

    #[test]
    fn a_series_in_percent_is_named() {
        let csv = "dates,A,B\n2000-01-01,0.01,2.5\n2000-02-01,-0.02,0.8\n2000-03-01,0.03,1.2\n";
        let err = parse_market_data(csv.as_bytes()).unwrap_err();
        assert_eq!(err.issues.len(), 1, "{err}");
        assert!(
            err.issues[0].path.contains("\"B\"") && err.issues[0].reason.contains("percentages"),
            "{err}"
        );
    }
}
