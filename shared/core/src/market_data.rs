//! Market data: a monthly panel of named return series (factors and assets), read from
//! CSV. Same error discipline as the portfolio: every bad cell is named by line, column
//! and header, and a file with any bad cell is refused.

use crate::portfolio::{Issue, Rejection};

/// Largest market-data file accepted.
pub const MAX_MARKET_DATA_BYTES: usize = 32 * 1024 * 1024;

/// Dates (as `YYYY-MM`) and one `Vec<f64>` per column, all the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketData {
    pub dates: Vec<String>,
    pub columns: Vec<String>,
    series: Vec<Vec<f64>>,
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
    /// Index of a month `YYYY-MM`.
    pub fn index_of(&self, month: &str) -> Option<usize> {
        self.dates.iter().position(|d| d == month)
    }
}

/// Normalise the date formats seen in our sources to `YYYY-MM`:
/// `YYYY-MM-DD`, `YYYY-MM`, `YYYYMM`, `M/D/YYYY`.
fn month_of(raw: &str) -> Option<String> {
    let s = raw.trim();
    let valid = |y: u32, m: u32| (1800..=2200).contains(&y) && (1..=12).contains(&m);
    if let Some((m, rest)) = s.split_once('/') {
        let (_, y) = rest.split_once('/')?;
        let (y, m) = (y.parse().ok()?, m.parse().ok()?);
        return valid(y, m).then(|| format!("{y:04}-{m:02}"));
    }
    let (y, m) = if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        (s[..4].parse().ok()?, s[4..].parse().ok()?)
    } else if s.len() >= 7 && s.as_bytes()[4] == b'-' {
        (s[..4].parse().ok()?, s[5..7].parse().ok()?)
    } else {
        return None;
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
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| fail("market_data".into(), format!("malformed CSV: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    if headers.len() < 2 {
        return Err(fail(
            "market_data line 1".into(),
            "needs a date column and at least one series".into(),
        ));
    }
    let columns = headers[1..].to_vec();
    let mut dates = Vec::new();
    let mut series = vec![Vec::new(); columns.len()];
    let mut issues = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                issues.push(Issue {
                    path: format!("market_data line {line}"),
                    reason: format!("malformed CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match month_of(&record[0]) {
            Some(m) => {
                if dates.last().is_some_and(|prev: &String| *prev >= m) {
                    issues.push(Issue {
                        path: format!("market_data line {line} column 1"),
                        reason: format!("date {m} is not after the previous row"),
                    });
                }
                dates.push(m);
            }
            None => issues.push(Issue {
                path: format!("market_data line {line} column 1"),
                reason: format!("unreadable date {:?}", &record[0]),
            }),
        }
        for (col, out) in series.iter_mut().enumerate() {
            let cell = &record[col + 1];
            match cell.parse::<f64>() {
                Ok(x) if x.is_finite() => out.push(x),
                _ => {
                    issues.push(Issue {
                        path: format!(
                            "market_data line {line} column {} ({})",
                            col + 2,
                            columns[col]
                        ),
                        reason: format!("must be a finite number, got {cell:?}"),
                    });
                    out.push(f64::NAN);
                }
            }
        }
    }
    if dates.is_empty() && issues.is_empty() {
        issues.push(Issue {
            path: "market_data".into(),
            reason: "has no rows".into(),
        });
    }
    if !issues.is_empty() {
        issues.truncate(50);
        return Err(Rejection { issues });
    }
    Ok(MarketData {
        dates,
        columns,
        series,
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
    }
}
