//! The report kit every workflow renders `report.html` and `summary.md` with, so that
//! risk committees read every StressLab report the same way: one page shell (inline CSS,
//! no scripts, no network, a print stylesheet that expands collapsed sections), one
//! header block stating what the numbers are (as-of date, base currency, horizon,
//! workflow and engine version, run id, seed, how each figure was estimated), one table
//! renderer (one unit per numeric column, stated in its header), and one set of number
//! formats in the run's base currency — a report never hard-codes a currency symbol.

use crate::engine::RunContext;

pub mod persona;
use crate::svg::{self, escape, format_number};
use serde::{Deserialize, Serialize};
use std::fmt;

// ---------------------------------------------------------------------------------------
// Numbers

/// The multiple of the currency unit a column or a sentence states its amounts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scale {
    Units,
    Thousands,
    Millions,
    Billions,
}

impl Scale {
    /// The scale that shows `abs` with one to three digits before the point.
    pub fn of(abs: f64) -> Scale {
        match abs.abs() {
            a if a >= 1e9 => Scale::Billions,
            a if a >= 1e6 => Scale::Millions,
            a if a >= 1e3 => Scale::Thousands,
            _ => Scale::Units,
        }
    }

    /// One scale for a whole column, set by its largest finite magnitude, so that every
    /// value of the column is read in the same unit.
    pub fn for_values(values: impl IntoIterator<Item = f64>) -> Scale {
        let largest = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        Scale::of(largest)
    }

    pub fn divisor(self) -> f64 {
        match self {
            Scale::Units => 1.0,
            Scale::Thousands => 1e3,
            Scale::Millions => 1e6,
            Scale::Billions => 1e9,
        }
    }

    /// `""`, `"k"`, `"m"`, `"bn"` — the suffix after the number or the currency code.
    pub fn suffix(self) -> &'static str {
        match self {
            Scale::Units => "",
            Scale::Thousands => "k",
            Scale::Millions => "m",
            Scale::Billions => "bn",
        }
    }

    /// Decimals that keep about three significant digits at this scale.
    pub fn decimals(self) -> usize {
        match self {
            Scale::Units => 0,
            Scale::Thousands | Scale::Millions => 1,
            Scale::Billions => 2,
        }
    }

    fn larger(self) -> Option<Scale> {
        match self {
            Scale::Units => Some(Scale::Thousands),
            Scale::Thousands => Some(Scale::Millions),
            Scale::Millions => Some(Scale::Billions),
            Scale::Billions => None,
        }
    }

    /// `x` in this scale, without unit: `83_049_000` in millions → `"83.0"`.
    pub fn format(self, x: f64) -> String {
        format_number(x / self.divisor(), self.decimals())
    }
}

/// The unit a money column or axis states once: `"USD m"`, `"EUR bn"`, or `"JPY"`.
pub fn money_unit(currency: &str, scale: Scale) -> String {
    match scale {
        Scale::Units => currency.to_string(),
        s => format!("{currency} {}", s.suffix()),
    }
}

/// An amount in a currency (ISO 4217 code), shown as the code, the signed number and
/// its scale: `USD 83.0m`, `EUR 1.25bn`, `JPY -950`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money<'a> {
    pub amount: f64,
    pub currency: &'a str,
}

impl fmt::Display for Money<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.amount.is_finite() {
            return write!(f, "{} {}", self.currency, format_number(self.amount, 0));
        }
        let abs = self.amount.abs();
        let mut scale = Scale::of(abs);
        // 999,960 is "1.0m", not "1000.0k": move up when rounding reaches the next scale.
        while let Some(up) = scale.larger() {
            let shown: f64 = format!("{:.*}", scale.decimals(), abs / scale.divisor())
                .parse()
                .unwrap_or(0.0);
            if shown < 1000.0 {
                break;
            }
            scale = up;
        }
        let digits = format_number(abs / scale.divisor(), scale.decimals());
        let sign = if self.amount < 0.0 && digits.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            "-"
        } else {
            ""
        };
        write!(f, "{} {sign}{digits}{}", self.currency, scale.suffix())
    }
}

/// `money(83_049_000.0, "USD")` → `"USD 83.0m"`.
pub fn money(amount: f64, currency: &str) -> String {
    Money { amount, currency }.to_string()
}

/// A fraction as a percentage with one decimal: `0.1234` → `"12.3%"`. A non-zero
/// fraction that one decimal would show as `0.0%` keeps two significant digits
/// (`0.000043` → `"0.0043%"`), so a small cost never reads as none.
pub fn pct(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let p = 100.0 * x;
    if p != 0.0 && p.abs() < 0.05 {
        let decimals = (1.0 - p.abs().log10().floor()).clamp(2.0, 12.0) as usize;
        format!("{p:.decimals$}%")
    } else {
        format!("{p:.1}%")
    }
}

/// A chart axis for amounts in `currency`, scaled like a table column (`Loss (USD m)`).
pub fn money_axis(name: &str, currency: &str, values: &[f64]) -> svg::Axis {
    let scale = Scale::for_values(values.iter().copied());
    svg::Axis {
        name: name.into(),
        unit: money_unit(currency, scale),
        divisor: scale.divisor(),
        decimals: Some(scale.decimals()),
    }
}

// ---------------------------------------------------------------------------------------
// Tables

/// One cell: a number (formatted by its column) or text. In JSON (findings,
/// results.json) a cell is the bare number, the string, or `null` when missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Number(f64),
    Text(String),
    /// Not applicable here: shown as an em dash, aligned with the column. (A non-finite
    /// number also travels as `null`, JSON having no NaN.)
    Missing,
}

impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Number(x)
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.into())
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(x: Option<T>) -> Cell {
        x.map_or(Cell::Missing, Into::into)
    }
}

const MISSING: &str = "—";

/// What a column holds — its unit in results.json (`"unit": "money"` …), and how the
/// report formats it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
enum Kind {
    Text,
    /// 1, 2, 3 … — where a table lists scenarios, readers get ranks, not internal ids.
    Rank,
    /// Amounts in the base currency's units (not scaled: the report picks k/m/bn).
    Money {
        currency: String,
    },
    /// Fractions of one (0.05 = 5%); the report shows them as percentages.
    #[serde(rename = "fraction")]
    Percent,
    Number {
        decimals: usize,
        signed: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    #[serde(rename = "name")]
    header: String,
    #[serde(flatten)]
    kind: Kind,
}

impl Column {
    pub fn text(header: &str) -> Column {
        Column {
            header: header.into(),
            kind: Kind::Text,
        }
    }
    pub fn rank() -> Column {
        Column {
            header: "Rank".into(),
            kind: Kind::Rank,
        }
    }
    /// Amounts in `currency`; the scale (k, m, bn) is chosen from the column's values.
    pub fn money(header: &str, currency: &str) -> Column {
        Column {
            header: header.into(),
            kind: Kind::Money {
                currency: currency.into(),
            },
        }
    }
    /// Fractions, shown as percentages (the header says `(%)`).
    pub fn percent(header: &str) -> Column {
        Column {
            header: header.into(),
            kind: Kind::Percent,
        }
    }
    /// Unitless numbers (ratios, counts, z-scores).
    pub fn number(header: &str, decimals: usize) -> Column {
        Column {
            header: header.into(),
            kind: Kind::Number {
                decimals,
                signed: false,
            },
        }
    }
    /// Unitless numbers whose sign matters (betas, z-scores): `+0.52`, `-0.30`.
    pub fn signed(header: &str, decimals: usize) -> Column {
        Column {
            header: header.into(),
            kind: Kind::Number {
                decimals,
                signed: true,
            },
        }
    }
}

/// A table whose cells keep their values until rendering, so each numeric column is
/// formatted in one unit, stated once in its header. Persona findings carry tables in
/// this form, so results.json has every table as numbers with their units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    #[serde(rename = "title")]
    caption: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    one_money_scale: bool,
}

/// A table ready to print: headers with units, cell strings, and which columns are
/// numeric (right-aligned).
struct Formatted {
    caption: String,
    headers: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(caption: &str, columns: Vec<Column>) -> Table {
        Table {
            caption: caption.into(),
            columns,
            rows: Vec::new(),
            one_money_scale: false,
        }
    }

    pub fn title(&self) -> &str {
        &self.caption
    }

    /// Append a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "{}", self.caption);
        self.rows.push(cells);
    }

    pub fn with_rows(mut self, rows: impl IntoIterator<Item = Vec<Cell>>) -> Table {
        for r in rows {
            self.row(r);
        }
        self
    }

    /// Every money column in the scale of the largest amount in any of them, for tables
    /// whose money columns are parts of one total (P&L by factor, Euler contributions).
    pub fn one_money_scale(mut self) -> Table {
        self.one_money_scale = true;
        self
    }

    fn column_numbers(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows.iter().filter_map(move |r| match r.get(j) {
            Some(Cell::Number(x)) => Some(*x),
            _ => None,
        })
    }

    fn money_scales(&self) -> Vec<Scale> {
        let is_money = |j: usize| matches!(self.columns[j].kind, Kind::Money { .. });
        let own: Vec<Scale> = (0..self.columns.len())
            .map(|j| Scale::for_values(self.column_numbers(j)))
            .collect();
        let shared = (0..self.columns.len())
            .filter(|&j| is_money(j))
            .map(|j| own[j])
            .max()
            .unwrap_or(Scale::Units);
        own.into_iter()
            .map(|s| if self.one_money_scale { shared } else { s })
            .collect()
    }

    fn formatted(&self) -> Formatted {
        let scales = self.money_scales();
        let headers = self
            .columns
            .iter()
            .zip(&scales)
            .map(|(c, &scale)| match &c.kind {
                Kind::Money { currency } => {
                    format!("{} ({})", c.header, money_unit(currency, scale))
                }
                Kind::Percent => format!("{} (%)", c.header),
                _ => c.header.clone(),
            })
            .collect();
        let numeric = self.columns.iter().map(|c| c.kind != Kind::Text).collect();
        let rows = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&self.columns)
                    .zip(&scales)
                    .map(|((cell, col), &scale)| match cell {
                        Cell::Missing => MISSING.to_string(),
                        Cell::Text(t) => t.clone(),
                        Cell::Number(x) => match col.kind {
                            Kind::Text => format_number(*x, 2),
                            Kind::Rank => format_number(*x, 0),
                            Kind::Money { .. } => scale.format(*x),
                            Kind::Percent => format_number(100.0 * x, 1),
                            Kind::Number { decimals, signed } => {
                                let s = format_number(*x, decimals);
                                if signed
                                    && *x > 0.0
                                    && s.bytes().any(|b| b.is_ascii_digit() && b != b'0')
                                {
                                    format!("+{s}")
                                } else {
                                    s
                                }
                            }
                        },
                    })
                    .collect()
            })
            .collect();
        Formatted {
            caption: self.caption.clone(),
            headers,
            numeric,
            rows,
        }
    }

    pub fn to_html(&self) -> String {
        self.formatted().html()
    }

    /// GitHub-flavoured Markdown, numeric columns right-aligned (`---:`).
    pub fn to_markdown(&self) -> String {
        self.formatted().markdown()
    }
}

impl Formatted {
    fn html(&self) -> String {
        let class = |j: usize| {
            if self.numeric.get(j).copied().unwrap_or(false) {
                "num"
            } else {
                "text"
            }
        };
        let mut s = format!(
            "<div class=\"table\"><table><caption>{}</caption><thead><tr>",
            escape(&self.caption)
        );
        for (j, h) in self.headers.iter().enumerate() {
            s.push_str(&format!(
                "<th scope=\"col\" class=\"{}\">{}</th>",
                class(j),
                escape(h)
            ));
        }
        s.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            s.push_str("<tr>");
            for (j, c) in r.iter().enumerate() {
                s.push_str(&format!("<td class=\"{}\">{}</td>", class(j), escape(c)));
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table></div>");
        s
    }

    fn markdown(&self) -> String {
        let cell = |c: &str| markdown_text(c);
        let mut s = format!(
            "| {} |\n|{}\n",
            self.headers
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | "),
            self.numeric
                .iter()
                .map(|&n| if n { "---:|" } else { "---|" })
                .collect::<String>()
        );
        for r in &self.rows {
            s.push_str(&format!(
                "| {} |\n",
                r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            ));
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Page

/// How one kind of figure in the report was estimated, e.g. `Exposures` —
/// `OLS on 120 months, 2007-04 to 2017-03`. Only figures that were estimated get one.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub figure: String,
    pub method: String,
}

impl Estimate {
    pub fn new(figure: &str, method: impl Into<String>) -> Estimate {
        Estimate {
            figure: figure.into(),
            method: method.into(),
        }
    }
}

/// What the header block states about a run.
pub struct Header<'a> {
    pub title: &'a str,
    pub run: &'a RunContext,
    /// The horizon the figures are measured over, e.g. "one month".
    pub horizon: &'a str,
    pub estimates: &'a [Estimate],
}

impl Header<'_> {
    fn html(&self) -> String {
        let r = self.run;
        let e = escape;
        // Long values get two grid columns so they do not wrap into a narrow tower.
        let facts = [
            (
                "Portfolio",
                format!("{} ({})", e(&r.portfolio_name), e(&r.portfolio_id)),
            ),
            ("As of", r.as_of.as_deref().map_or("not stated".into(), e)),
            ("Base currency", e(&r.base_currency)),
            ("Horizon", e(self.horizon)),
            (
                "Workflow",
                format!("{} (engine {})", e(&r.workflow), e(&r.engine_version)),
            ),
            (
                "Scenarios",
                format!("{} in {} partitions", r.scenario_count, r.partition_count),
            ),
            ("Seed", r.seed.to_string()),
            ("Run id", format!("<code>{}</code>", e(&r.run_id))),
        ];
        let mut s = format!("<header><h1>{}</h1><dl class=\"facts\">", e(self.title));
        for (k, v) in facts {
            let wide = if matches!(k, "Portfolio" | "Horizon") {
                " class=\"wide\""
            } else {
                ""
            };
            s.push_str(&format!("<div{wide}><dt>{k}</dt><dd>{v}</dd></div>"));
        }
        s.push_str("</dl>");
        if !self.estimates.is_empty() {
            s.push_str("<p class=\"estimates-title\">How each figure was estimated</p><ul class=\"estimates\">");
            for m in self.estimates {
                s.push_str(&format!(
                    "<li><strong>{}</strong>: {}</li>",
                    e(&m.figure),
                    e(&m.method)
                ));
            }
            s.push_str("</ul>");
        }
        s.push_str("</header>");
        s
    }

    /// The same facts for `summary.md`.
    pub fn markdown(&self) -> String {
        let r = self.run;
        let title = markdown_text(self.title);
        let mut s = format!(
            "# {}\n\n- As of: {} · base currency: {} · horizon: {}\n- Workflow: {} (engine {}) · {} scenarios in {} partitions · seed {} · run `{}`\n",
            title,
            r.as_of.as_deref().unwrap_or("not stated"),
            r.base_currency,
            self.horizon,
            r.workflow,
            r.engine_version,
            r.scenario_count,
            r.partition_count,
            r.seed,
            r.run_id
        );
        for m in self.estimates {
            s.push_str(&format!("- {}: {}\n", m.figure, m.method));
        }
        s.push('\n');
        s
    }
}

/// Text from the input (names, ids) made inert in Markdown: every character Markdown or
/// embedded HTML could act on is backslash-escaped, so `<script>` or `**x**` in a
/// portfolio name prints as itself in summary.md. Control characters are escaped too
/// (validation refuses them in names; this is the second line of defence).
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// A titled section: an optional one-paragraph intro (plain text) and a body of HTML
/// built with this kit.
pub fn section(title: &str, intro: &str, body: &str) -> String {
    let intro = if intro.is_empty() {
        String::new()
    } else {
        format!("<p class=\"intro\">{}</p>", escape(intro))
    };
    format!("<section><h2>{}</h2>{intro}{body}</section>", escape(title))
}

/// A sub-section under a section (`<h3>`).
pub fn subsection(title: &str, body: &str) -> String {
    format!("<h3>{}</h3>{body}", escape(title))
}

/// Collapsed on screen, printed expanded (see the print rules in [`page`]).
pub fn collapsible(summary: &str, body: &str) -> String {
    format!(
        "<details><summary>{}</summary>{body}</details>",
        escape(summary)
    )
}

/// A paragraph of plain text.
pub fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// Charts side by side while they fit at their own size, one per row when they do not,
/// so a chart is never shrunk below the size its text was set for (see
/// [`svg::MAX_WIDTH`]).
pub fn figures(charts: &[String]) -> String {
    let mut s = String::from("<div class=\"figures\">");
    for c in charts {
        s.push_str(&format!("<figure>{c}</figure>"));
    }
    s.push_str("</div>");
    s
}

/// The content column is exactly [`svg::MAX_WIDTH`] wide, so charts at most that wide
/// render at their own size on any window wider than it plus the padding (1440 px
/// included).
fn css() -> String {
    let width = svg::MAX_WIDTH;
    format!(
        "*{{box-sizing:content-box}}\
body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:{width}px;margin:2rem auto;padding:0 1rem;color:#1b1f24;line-height:1.45;font-size:15px}}\
h1{{font-size:1.6rem;margin:0 0 .6rem}}h2{{border-bottom:2px solid #e3e6ea;padding-bottom:.2rem;margin-top:2.2rem}}h3{{margin-top:1.6rem}}\
header{{border-bottom:2px solid #e3e6ea;padding-bottom:.8rem}}\
.facts{{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.3rem 1.2rem;margin:0}}\
.facts div{{margin:0}}.facts .wide{{grid-column:span 2}}.facts dt{{color:#57606a;font-size:.8rem}}.facts dd{{margin:0;font-weight:600;overflow-wrap:anywhere}}\
.estimates-title{{font-weight:600;margin:.8rem 0 .2rem}}.estimates{{margin:0;padding-left:1.2rem;font-size:.92rem}}\
.intro{{color:#3d444d}}.narrative{{background:#f6f8fa;border-left:4px solid #0969da;padding:.8rem 1rem}}\
.table{{overflow-x:auto}}table{{border-collapse:collapse;margin:1rem 0;font-size:.88rem;width:100%}}\
caption{{text-align:left;font-weight:600;padding:.3rem 0}}\
th,td{{border-bottom:1px solid #e3e6ea;padding:.3rem .5rem;vertical-align:top}}th{{background:#f6f8fa}}\
.text{{text-align:left}}.num{{text-align:right;font-variant-numeric:tabular-nums}}td.num{{white-space:nowrap}}\
.figures{{display:flex;flex-wrap:wrap;gap:16px}}figure{{margin:0;flex:0 1 auto;min-width:0}}svg{{max-width:100%;height:auto;display:block}}\
.rec{{margin:.4rem 0}}.cites{{color:#57606a;font-size:.85rem}}details{{margin:.5rem 0}}summary{{cursor:pointer;font-weight:600}}\
@media print{{\
body{{max-width:none;margin:0;padding:0;font-size:10pt}}\
details{{display:block}}details>summary{{list-style:none}}details>summary::-webkit-details-marker{{display:none}}\
details>:not(summary){{display:block!important}}details::details-content{{display:block;content-visibility:visible}}\
h2,h3{{break-after:avoid}}table,figure,svg,tr{{break-inside:avoid}}.table{{overflow:visible}}\
}}"
    )
}

/// The whole page: shell, header block and sections, self-contained.
pub fn page(header: &Header, sections: &[String]) -> String {
    let mut h = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{}</style></head><body>",
        escape(header.title),
        css()
    );
    h.push_str(&header.html());
    for s in sections {
        h.push_str(s);
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_percentages_keep_two_significant_digits() {
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(pct(0.0), "0.0%");
        assert_eq!(pct(0.0005), "0.1%");
        assert_eq!(pct(0.000043), "0.0043%");
        assert_eq!(pct(-0.00012), "-0.012%");
        assert_eq!(pct(f64::NAN), "n/a");
    }

    fn run(as_of: Option<&str>) -> RunContext {
        RunContext {
            run_id: "factor-abc".into(),
            workflow: "factor".into(),
            engine_version: "factor/2".into(),
            portfolio_id: "p1".into(),
            portfolio_name: "Book <A>".into(),
            base_currency: "EUR".into(),
            as_of: as_of.map(Into::into),
            seed: 42,
            scenario_count: 500,
            partition_count: 4,
            library_version: None,
        }
    }

    fn sample_page(as_of: Option<&str>) -> String {
        let run = run(as_of);
        let estimates = [Estimate::new(
            "Exposures",
            "OLS on 120 months 2008-01 to 2017-12",
        )];
        let header = Header {
            title: "Stress test",
            run: &run,
            horizon: "one month",
            estimates: &estimates,
        };
        page(
            &header,
            &[section(
                "Findings",
                "",
                &collapsible("Details", &paragraph("hidden on screen")),
            )],
        )
    }

    #[test]
    fn money_is_in_the_base_currency() {
        assert_eq!(money(83_049_000.0, "USD"), "USD 83.0m");
        assert_eq!(money(1_250_000_000.0, "EUR"), "EUR 1.25bn");
        assert_eq!(money(-2_500_000_000.0, "USD"), "USD -2.50bn");
        assert_eq!(money(12_345.0, "JPY"), "JPY 12.3k");
        assert_eq!(money(950.0, "JPY"), "JPY 950");
        assert_eq!(money(-950.0, "EUR"), "EUR -950");
        assert_eq!(money(-0.2, "USD"), "USD 0");
        assert_eq!(money(0.0, "USD"), "USD 0");
        // Rounding that reaches the next scale moves up rather than printing 1000.0k.
        assert_eq!(money(999_960.0, "USD"), "USD 1.0m");
        assert_eq!(money(999.7, "USD"), "USD 1.0k");
        assert_eq!(money(1_234_000_000_000.0, "JPY"), "JPY 1,234.00bn");
        assert_eq!(money(f64::NAN, "USD"), "USD n/a");
        assert_eq!(
            Money {
                amount: 4.2e6,
                currency: "GBP"
            }
            .to_string(),
            "GBP 4.2m"
        );
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(pct(-0.05), "-5.0%");
    }

    #[test]
    fn a_column_is_scaled_by_its_largest_value() {
        assert_eq!(
            Scale::for_values([414_865_019.0, -2_400_000.0, 0.0]),
            Scale::Millions
        );
        assert_eq!(Scale::for_values([f64::NAN, 12.0]), Scale::Units);
        assert_eq!(Scale::Millions.format(-2_400_000.0), "-2.4");
        assert_eq!(Scale::Millions.format(414_865_019.0), "414.9");
        assert_eq!(money_unit("USD", Scale::Millions), "USD m");
        assert_eq!(money_unit("JPY", Scale::Units), "JPY");
    }

    fn risk_table() -> Table {
        Table::new(
            "Tail risk",
            vec![
                Column::text("Measure"),
                Column::money("VaR 99%", "USD"),
                Column::percent("Share"),
            ],
        )
        .with_rows([
            vec!["Normal".into(), 89_900_000.0.into(), 0.11.into()],
            vec!["Stressed".into(), 152_900_000.0.into(), Cell::Missing],
        ])
    }

    #[test]
    fn numeric_columns_align_right_and_state_their_unit_once() {
        let html = risk_table().to_html();
        assert!(
            html.contains(r#"<th scope="col" class="text">Measure</th>"#),
            "{html}"
        );
        assert!(html.contains(r#"<th scope="col" class="num">VaR 99% (USD m)</th>"#));
        assert!(html.contains(r#"<th scope="col" class="num">Share (%)</th>"#));
        assert!(html.contains(r#"<td class="num">89.9</td>"#));
        assert!(html.contains(r#"<td class="num">152.9</td>"#));
        assert!(html.contains(r#"<td class="num">11.0</td><"#));
        assert!(html.contains(r#"<td class="num">—</td>"#));
        assert!(html.contains(r#"<td class="text">Stressed</td>"#));
        // The unit is in the header once, never repeated in the cells.
        assert_eq!(html.matches("USD").count(), 1);
        assert!(!html.contains('$'));
        // The CSS behind the classes.
        let css = css();
        assert!(css.contains(".num{text-align:right"));
        assert!(css.contains(".text{text-align:left}"));

        let md = risk_table().to_markdown();
        assert!(md.starts_with("| Measure | VaR 99% (USD m) | Share (%) |\n|---|---:|---:|\n"));
    }

    #[test]
    fn tables_travel_as_numbers_with_their_units_and_render_the_same() {
        let t = Table::new(
            "Exposures",
            vec![
                Column::text("Position"),
                Column::money("Market value", "EUR"),
                Column::signed("β MktRF", 2),
                Column::percent("Share"),
            ],
        )
        .with_rows([
            vec!["A".into(), 42e6.into(), 1.02.into(), Cell::Missing],
            vec!["B".into(), 1.5e6.into(), (-0.3).into(), 0.25.into()],
        ]);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json["columns"],
            serde_json::json!([
                {"name": "Position", "unit": "text"},
                {"name": "Market value", "unit": "money", "currency": "EUR"},
                {"name": "β MktRF", "unit": "number", "decimals": 2, "signed": true},
                {"name": "Share", "unit": "fraction"},
            ])
        );
        // Raw values: base units and fractions, never pre-formatted strings.
        assert_eq!(json["rows"][0], serde_json::json!(["A", 42e6, 1.02, null]));
        assert_eq!(json["rows"][1][3], 0.25);
        let back: Table = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.to_html(), t.to_html());
        let html = t.to_html();
        assert!(
            html.contains("Market value (EUR m)")
                && html.contains("+1.02")
                && html.contains("25.0")
        );
    }

    #[test]
    fn one_money_scale_puts_every_money_column_in_the_same_unit() {
        let t = Table::new(
            "P&L",
            vec![
                Column::money("Loss", "USD"),
                Column::money("Residual", "USD"),
            ],
        )
        .with_rows([vec![4.1e8.into(), 2e5.into()]])
        .one_money_scale()
        .formatted();
        assert_eq!(t.headers, ["Loss (USD m)", "Residual (USD m)"]);
        assert_eq!(t.rows[0], ["410.0", "0.2"]);
    }

    #[test]
    fn the_page_is_self_contained_and_has_a_viewport() {
        let html = sample_page(Some("2017-03-31"));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html
            .contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
        for banned in ["<script", "http://", "https://", "<link", "@import", "url("] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.contains("<div><dt>As of</dt><dd>2017-03-31</dd></div>"));
        assert!(html.contains("<dt>Base currency</dt><dd>EUR</dd>"));
        assert!(html.contains("<div class=\"wide\"><dt>Horizon</dt><dd>one month</dd></div>"));
        assert!(html.contains("factor (engine factor/2)"));
        assert!(html.contains("<code>factor-abc</code>"));
        assert!(html.contains("<dt>Seed</dt><dd>42</dd>"));
        assert!(html.contains("Book &lt;A&gt;"));
        assert!(html
            .contains("<li><strong>Exposures</strong>: OLS on 120 months 2008-01 to 2017-12</li>"));
        assert!(sample_page(None).contains("<dt>As of</dt><dd>not stated</dd>"));
    }

    #[test]
    fn print_css_expands_every_collapsed_section() {
        let html = sample_page(None);
        let print = &html[html.find("@media print{").expect("a print stylesheet")..];
        let print = &print[..print.find("}}").unwrap() + 2];
        // Closed <details> hide their content two ways in current engines: children
        // not displayed (older), and the ::details-content slot (Chromium 131+). Both
        // are overridden, for every <details> (no class or id narrows the selectors).
        for rule in [
            "details{display:block}",
            "details>:not(summary){display:block!important}",
            "details::details-content{display:block;content-visibility:visible}",
            "h2,h3{break-after:avoid}",
            "table,figure,svg,tr{break-inside:avoid}",
        ] {
            assert!(print.contains(rule), "{rule} missing from {print}");
        }
        assert!(html.matches("<details>").count() >= 1);
        assert!(
            !html.contains("<details "),
            "every details uses the plain tag"
        );
    }

    #[test]
    fn input_text_is_inert_in_markdown() {
        assert_eq!(
            markdown_text("A <script> | **b**"),
            "A \\<script\\> \\| \\*\\*b\\*\\*"
        );
        assert_eq!(markdown_text("plain 5.0% (USD m)"), "plain 5.0% (USD m)");
        assert_eq!(markdown_text("bell\u{7}"), "bell\\u{7}");
    }
}
