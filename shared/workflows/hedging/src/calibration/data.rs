//! Parsers of the four market-history files in `events/inputs/`.
//!
//! Pure: each takes the file's text (and its name, for the error messages) and returns
//! typed columns; no I/O. The files are small comma-separated tables with a header row;
//! every parser checks the header, the number of fields, that every number is finite
//! and positive (yields, spreads and exchange rates are), and that dates ascend, and
//! names the file, the 1-based line and the field when a row is wrong.

use super::CalibrationError;

/// Daily spot rates, USD per unit of foreign currency (`fx_daily_1980_1987.csv`,
/// Verbeek via Ecdat `Garch`).
#[derive(Debug, Clone, PartialEq)]
pub struct FxDaily {
    /// ISO dates `YYYY-MM-DD`, ascending.
    pub dates: Vec<String>,
    /// USD per Deutsche mark: the EUR proxy (the euro did not exist before 1999; the
    /// mark was its anchor currency).
    pub dem: Vec<f64>,
    pub gbp: Vec<f64>,
    pub jpy: Vec<f64>,
    pub chf: Vec<f64>,
    pub cad: Vec<f64>,
}

/// Monthly US zero-coupon yields in percent a year (`us_zero_yields_monthly_1946_1991.csv`,
/// McCulloch & Kwon via Ecdat `Irates`).
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroYields {
    /// `YYYY-MM`, ascending.
    pub months: Vec<String>,
    /// Maturities in months, in column order: 1, 2, 3, 5, 6, 11, 12, 36, 60, 120.
    pub maturities_months: Vec<u32>,
    /// One row per month, one yield (percent) per maturity.
    pub yields_pct: Vec<Vec<f64>>,
}

/// Monthly Moody's seasoned Aaa and Baa corporate yields in percent
/// (`moodys_aaa_baa_monthly_1919_2018.csv`, Moody's via FRED).
#[derive(Debug, Clone, PartialEq)]
pub struct MoodysYields {
    /// (year, month), ascending.
    pub months: Vec<(i32, u32)>,
    pub aaa_pct: Vec<f64>,
    pub baa_pct: Vec<f64>,
}

/// Daily index closes (`sp500_index_daily_1990_2022.csv`, Yahoo Finance via skfolio).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexLevels {
    pub dates: Vec<String>,
    pub levels: Vec<f64>,
}

/// Maturities (months) the zero-yield file carries, in its column order.
pub const ZERO_YIELD_MATURITIES_MONTHS: [u32; 10] = [1, 2, 3, 5, 6, 11, 12, 36, 60, 120];

fn parse_error(
    file: &str,
    line: usize,
    field: &str,
    reason: impl Into<String>,
) -> CalibrationError {
    CalibrationError::Parse {
        file: file.to_string(),
        line,
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Data rows with their 1-based line numbers; blank lines are skipped. Checks the
/// header is exactly `header`.
fn rows<'a>(
    file: &str,
    text: &'a str,
    header: &[&str],
) -> Result<Vec<(usize, Vec<&'a str>)>, CalibrationError> {
    let mut lines = text.lines().enumerate();
    let (_, first) = lines
        .next()
        .ok_or_else(|| parse_error(file, 1, "header", "file is empty"))?;
    let got: Vec<&str> = first
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    if got != header {
        return Err(parse_error(
            file,
            1,
            "header",
            format!("expected `{}`, found `{}`", header.join(","), first.trim()),
        ));
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != header.len() {
            return Err(parse_error(
                file,
                i + 1,
                "row",
                format!("expected {} fields, found {}", header.len(), fields.len()),
            ));
        }
        out.push((i + 1, fields));
    }
    if out.len() < 2 {
        return Err(parse_error(file, 1, "rows", "fewer than two data rows"));
    }
    Ok(out)
}

fn positive(file: &str, line: usize, field: &str, raw: &str) -> Result<f64, CalibrationError> {
    let v: f64 = raw
        .parse()
        .map_err(|_| parse_error(file, line, field, format!("`{raw}` is not a number")))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(parse_error(
            file,
            line,
            field,
            format!("{v} is not a positive finite number"),
        ));
    }
    Ok(v)
}

fn iso_date(file: &str, line: usize, field: &str, raw: &str) -> Result<String, CalibrationError> {
    let ok = raw.len() == 10
        && raw.as_bytes()[4] == b'-'
        && raw.as_bytes()[7] == b'-'
        && raw[..4].parse::<u32>().is_ok()
        && raw[5..7]
            .parse::<u32>()
            .is_ok_and(|m| (1..=12).contains(&m))
        && raw[8..].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d));
    if !ok {
        return Err(parse_error(
            file,
            line,
            field,
            format!("`{raw}` is not a YYYY-MM-DD date"),
        ));
    }
    Ok(raw.to_string())
}

fn ascending<T: PartialOrd + std::fmt::Debug>(
    file: &str,
    line: usize,
    field: &str,
    previous: Option<&T>,
    current: &T,
) -> Result<(), CalibrationError> {
    if let Some(p) = previous {
        if current <= p {
            return Err(parse_error(
                file,
                line,
                field,
                format!("{current:?} does not come after {p:?}"),
            ));
        }
    }
    Ok(())
}

/// `fx_daily_1980_1987.csv`: header `date,day,dm,bp,cd,dy,sf`.
pub fn parse_fx_daily(file: &str, text: &str) -> Result<FxDaily, CalibrationError> {
    let rows = rows(file, text, &["date", "day", "dm", "bp", "cd", "dy", "sf"])?;
    let mut out = FxDaily {
        dates: Vec::with_capacity(rows.len()),
        dem: Vec::with_capacity(rows.len()),
        gbp: Vec::with_capacity(rows.len()),
        jpy: Vec::with_capacity(rows.len()),
        chf: Vec::with_capacity(rows.len()),
        cad: Vec::with_capacity(rows.len()),
    };
    for (line, f) in rows {
        let date = iso_date(file, line, "date", f[0])?;
        ascending(file, line, "date", out.dates.last(), &date)?;
        out.dates.push(date);
        out.dem.push(positive(file, line, "dm", f[2])?);
        out.gbp.push(positive(file, line, "bp", f[3])?);
        out.cad.push(positive(file, line, "cd", f[4])?);
        out.jpy.push(positive(file, line, "dy", f[5])?);
        out.chf.push(positive(file, line, "sf", f[6])?);
    }
    Ok(out)
}

/// `us_zero_yields_monthly_1946_1991.csv`: header `month,r1,r2,r3,r5,r6,r11,r12,r36,r60,r120`.
pub fn parse_zero_yields(file: &str, text: &str) -> Result<ZeroYields, CalibrationError> {
    const HEADER: [&str; 11] = [
        "month", "r1", "r2", "r3", "r5", "r6", "r11", "r12", "r36", "r60", "r120",
    ];
    let rows = rows(file, text, &HEADER)?;
    let mut months: Vec<String> = Vec::with_capacity(rows.len());
    let mut yields_pct = Vec::with_capacity(rows.len());
    for (line, f) in rows {
        let m = f[0];
        let ok = m.len() == 7
            && m.as_bytes()[4] == b'-'
            && m[..4].parse::<u32>().is_ok()
            && m[5..].parse::<u32>().is_ok_and(|x| (1..=12).contains(&x));
        if !ok {
            return Err(parse_error(
                file,
                line,
                "month",
                format!("`{m}` is not a YYYY-MM month"),
            ));
        }
        ascending(
            file,
            line,
            "month",
            months.last().map(|s| s.as_str()).as_ref(),
            &m,
        )?;
        months.push(m.to_string());
        let row = (1..HEADER.len())
            .map(|j| positive(file, line, HEADER[j], f[j]))
            .collect::<Result<Vec<_>, _>>()?;
        yields_pct.push(row);
    }
    Ok(ZeroYields {
        months,
        maturities_months: ZERO_YIELD_MATURITIES_MONTHS.to_vec(),
        yields_pct,
    })
}

/// `moodys_aaa_baa_monthly_1919_2018.csv`: header `Date,AAA,BAA`, dates `M/1/YYYY`.
pub fn parse_moodys(file: &str, text: &str) -> Result<MoodysYields, CalibrationError> {
    let rows = rows(file, text, &["Date", "AAA", "BAA"])?;
    let mut out = MoodysYields {
        months: Vec::with_capacity(rows.len()),
        aaa_pct: Vec::with_capacity(rows.len()),
        baa_pct: Vec::with_capacity(rows.len()),
    };
    for (line, f) in rows {
        let parts: Vec<&str> = f[0].split('/').collect();
        let parsed = match parts.as_slice() {
            [m, d, y] => match (m.parse::<u32>(), d.parse::<u32>(), y.parse::<i32>()) {
                (Ok(m), Ok(d), Ok(y)) if (1..=12).contains(&m) && (1..=31).contains(&d) => {
                    Some((y, m))
                }
                _ => None,
            },
            _ => None,
        };
        let month = parsed.ok_or_else(|| {
            parse_error(
                file,
                line,
                "Date",
                format!("`{}` is not an M/D/YYYY date", f[0]),
            )
        })?;
        ascending(file, line, "Date", out.months.last(), &month)?;
        out.months.push(month);
        let aaa = positive(file, line, "AAA", f[1])?;
        let baa = positive(file, line, "BAA", f[2])?;
        if baa <= aaa {
            return Err(parse_error(
                file,
                line,
                "BAA",
                format!(
                    "Baa yield {baa} is not above the Aaa yield {aaa}: the spread must be positive"
                ),
            ));
        }
        out.aaa_pct.push(aaa);
        out.baa_pct.push(baa);
    }
    Ok(out)
}

/// `sp500_index_daily_1990_2022.csv`: header `Date,SP500`.
pub fn parse_index_levels(file: &str, text: &str) -> Result<IndexLevels, CalibrationError> {
    let rows = rows(file, text, &["Date", "SP500"])?;
    let mut out = IndexLevels {
        dates: Vec::with_capacity(rows.len()),
        levels: Vec::with_capacity(rows.len()),
    };
    for (line, f) in rows {
        let date = iso_date(file, line, "Date", f[0])?;
        ascending(file, line, "Date", out.dates.last(), &date)?;
        out.dates.push(date);
        out.levels.push(positive(file, line, "SP500", f[1])?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: CalibrationError) -> String {
        e.to_string()
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = "date,day,dm,bp,cd,dy,sf\n1980-01-02,wednesday,0.5861,2.249,0.8547,0.004206,0.6365\n1980-01-03,thursday,0.5837,abc,0.8552,0.004187,0.6357\n";
        let e = message(parse_fx_daily("fx.csv", bad).unwrap_err());
        assert!(
            e.contains("fx.csv") && e.contains("line 3") && e.contains("`bp`"),
            "{e}"
        );

        let neg = "Date,SP500\n1990-01-02,359.69\n1990-01-03,-1\n";
        let e = message(parse_index_levels("sp.csv", neg).unwrap_err());
        assert!(
            e.contains("sp.csv") && e.contains("line 3") && e.contains("`SP500`"),
            "{e}"
        );

        let order = "Date,AAA,BAA\n2/1/1919,5.35,7.2\n1/1/1919,5.35,7.12\n";
        let e = message(parse_moodys("m.csv", order).unwrap_err());
        assert!(e.contains("line 3") && e.contains("`Date`"), "{e}");

        let inverted = "Date,AAA,BAA\n1/1/1919,5.35,7.2\n2/1/1919,7.35,7.12\n";
        let e = message(parse_moodys("m.csv", inverted).unwrap_err());
        assert!(e.contains("line 3") && e.contains("`BAA`"), "{e}");

        let short = "month,r1,r2,r3,r5,r6,r11,r12,r36,r60,r120\n1946-12,0.325,0.422\n";
        let e = message(parse_zero_yields("z.csv", short).unwrap_err());
        assert!(
            e.contains("line 2") && e.contains("expected 11 fields"),
            "{e}"
        );

        let header = "month,r1\n1946-12,0.3\n";
        let e = message(parse_zero_yields("z.csv", header).unwrap_err());
        assert!(e.contains("line 1") && e.contains("`header`"), "{e}");
    }
}
