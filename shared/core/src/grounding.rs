//! The grounding check for model-written narrative: a language model may rephrase the
//! facts, never add to them. A risk committee reads the executive summary as StressLab's
//! statement, so a figure, date or name the run did not compute must not reach it.
//! The check is deliberately conservative — a false rejection costs only the
//! (deterministic, correct) template text; a false acceptance costs credibility.
//!
//! **Evidence** is what the narrator was given, and all it was given (issue 9: "it sees
//! only the facts JSON"): every number, string and key of the facts JSON.
//!
//! Matching rules (the narrative is rejected with every problem listed):
//! - **Numbers.** A numeric token is digits with optional thousands separators and
//!   decimals (`1,234.5`), an optional sign or currency prefix (ignored: the prose says
//!   "a loss of $1.2m" where the facts hold `-1234567.0`, so magnitudes are compared),
//!   and an optional unit: `%` / `pp` (×0.01), `bp` / `bps` (×0.0001), `k` / `thousand`,
//!   `m` / `mn` / `million` (also read as a plain number: "3m" may be three months),
//!   `bn` / `billion`, `tn` / `trillion`; any other trailing letters (`10y`, `5x`) leave
//!   the value as written. A percentage or basis-point figure may also stand for a fact
//!   already held in percent or bp. The token is grounded when some evidence value
//!   rounds to it at the precision shown: `12.3%` matches 0.1234 (±0.05 pp), `$1.2m`
//!   matches 1,234,567 (±0.05m). Spelled-out numbers *two* … *twelve* are numbers too
//!   (*one* is not checked: "one of the worst", "one-month"). A four-digit integer from
//!   1900 to 2100 is a year: grounded by a date in that year or the number itself.
//! - **Dates.** ISO `2020-03-16` / `2020-03`, `16 March 2020`, `March 16, 2020`,
//!   `March 2020`, `16 March` (full or three-letter month names), and a bare full month
//!   name other than "May" ("from February to March 2020"). Grounded when the
//!   evidence holds a date agreeing on every part the narrative names (so "March 2020"
//!   is grounded by 2020-03-09, "16 March 2020" needs that day).
//! - **Named entities.** A run of capitalised words (joined by *of*, *and*, *&*), e.g.
//!   "Lehman Brothers", "Bank of America"; a single capitalised word inside a sentence
//!   ("Apple"); and any all-capitals token of two or more characters (tickers and codes:
//!   `AAPL`, `BRK.B`, `USD`), wherever it stands. Grounded when the same words appear in
//!   the evidence (case-insensitive, as whole words). A sentence's first word is taken
//!   for grammar, not a name, unless it is in capitals: "The Bank of England" is checked
//!   as "Bank of England", "Lehman Brothers failed" as "Brothers". Known limit: a
//!   one-word name opening a sentence ("Lehman failed.") is not checked.
//! - **Recommendations.** A sentence that recommends ("recommend", "should", "advise",
//!   "suggest", "propose", "consider", "ought to", "must", or opening with an imperative
//!   such as "Reduce", "Hedge", "Rebalance") must cite at least one figure (a numeric
//!   token), which the number rule then checks.

use regex::Regex;
use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

/// One reason a narrative is not grounded, quoting what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ungrounded {
    Number(String),
    Date(String),
    Entity(String),
    UncitedRecommendation(String),
}

impl fmt::Display for Ungrounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ungrounded::Number(t) => write!(f, "number “{t}” is not in the facts"),
            Ungrounded::Date(t) => write!(f, "date “{t}” is not in the facts"),
            Ungrounded::Entity(t) => write!(f, "name “{t}” is not in the facts"),
            Ungrounded::UncitedRecommendation(s) => {
                write!(f, "recommendation cites no figure: “{s}”")
            }
        }
    }
}

/// A calendar reference; `None` parts were not named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateRef {
    year: Option<i32>,
    month: Option<u8>,
    day: Option<u8>,
}

impl DateRef {
    /// Does `self` (from the evidence) ground `named` (from the narrative)?
    fn grounds(&self, named: &DateRef) -> bool {
        fn agree<T: PartialEq>(evidence: Option<T>, named: Option<T>) -> bool {
            match named {
                None => true,
                Some(n) => evidence == Some(n),
            }
        }
        agree(self.year, named.year) && agree(self.month, named.month) && agree(self.day, named.day)
    }
}

/// The evidence a narrative is checked against, built once per narration.
pub struct Evidence {
    /// Magnitudes of every number in the facts (each unit reading).
    numbers: Vec<f64>,
    dates: Vec<DateRef>,
    /// Lower-case words of every string and key, one space apart, padded with spaces so
    /// a phrase matches only as whole words.
    words: String,
}

impl Evidence {
    pub fn new(facts: &Value) -> Self {
        let mut texts = Vec::new();
        let mut numbers = Vec::new();
        collect(facts, &mut numbers, &mut texts);
        let mut dates = Vec::new();
        for text in &texts {
            let (found, rest) = find_dates(text);
            dates.extend(found.into_iter().map(|(d, _)| d));
            for token in numeric_tokens(&rest) {
                numbers.extend(token.scales.iter().map(|s| token.value * s));
            }
        }
        numbers.extend(dates.iter().filter_map(|d| d.year).map(f64::from));
        let mut words = String::from(" ");
        for text in &texts {
            for w in word_re().find_iter(text) {
                words.push_str(&clean_word(w.as_str()).to_lowercase());
                words.push(' ');
            }
        }
        Evidence {
            numbers,
            dates,
            words,
        }
    }

    fn has_number(&self, token: &NumericToken) -> bool {
        // Half a unit in the last place shown, plus a hair for binary rounding.
        let tolerance = 0.5 * 10f64.powi(-(token.decimals as i32)) * (1.0 + 1e-9) + 1e-12;
        token.scales.iter().any(|scale| {
            self.numbers
                .iter()
                .any(|f| (f.abs() / scale - token.value).abs() <= tolerance)
        })
    }

    fn has_phrase(&self, phrase: &str) -> bool {
        self.words.contains(&format!(" {} ", phrase.to_lowercase()))
    }
}

/// Every numeric value and every string (and key) in the facts.
fn collect(value: &Value, numbers: &mut Vec<f64>, texts: &mut Vec<String>) {
    match value {
        Value::Number(n) => numbers.extend(n.as_f64().map(f64::abs)),
        Value::String(s) => texts.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect(v, numbers, texts)),
        Value::Object(map) => {
            for (k, v) in map {
                texts.push(k.replace('_', " "));
                collect(v, numbers, texts);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Check `narrative` against `evidence`; `Err` lists every problem, in text order.
pub fn check(narrative: &str, evidence: &Evidence) -> Result<(), Vec<Ungrounded>> {
    let mut problems = Vec::new();
    for sentence in sentences(narrative) {
        let (dates, rest) = find_dates(sentence);
        for (date, text) in dates {
            if !evidence.dates.iter().any(|e| e.grounds(&date)) {
                problems.push(Ungrounded::Date(text));
            }
        }
        let tokens = numeric_tokens(&rest);
        for token in &tokens {
            let grounded = evidence.has_number(token)
                || (token.is_year()
                    && evidence
                        .dates
                        .iter()
                        .any(|e| e.year == Some(token.value as i32)));
            if !grounded {
                problems.push(Ungrounded::Number(token.text.clone()));
            }
        }
        for (value, word) in spelled_numbers(&rest) {
            let token = NumericToken {
                text: word,
                value,
                decimals: 0,
                scales: &[1.0],
            };
            if !evidence.has_number(&token) {
                problems.push(Ungrounded::Number(token.text));
            }
        }
        for entity in entities(&rest) {
            if !evidence.has_phrase(&entity) {
                problems.push(Ungrounded::Entity(entity));
            }
        }
        if is_recommendation(sentence) && tokens.is_empty() {
            problems.push(Ungrounded::UncitedRecommendation(
                sentence.trim().to_owned(),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Sentences end at `.`, `!` or `?` followed by white space (so `1.5` stays whole), or
/// at a line break.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_none_or(|&(_, n)| n.is_whitespace());
        if c == '\n' || (matches!(c, '.' | '!' | '?') && next_is_space) {
            let end = at + c.len_utf8();
            if !text[start..end].trim().is_empty() {
                out.push(&text[start..end]);
            }
            start = end;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

struct NumericToken {
    text: String,
    /// As written, separators removed.
    value: f64,
    decimals: usize,
    /// Multipliers the unit may stand for (the value in evidence units is value × scale).
    scales: &'static [f64],
}

impl NumericToken {
    fn is_year(&self) -> bool {
        self.decimals == 0
            && self.scales == [1.0]
            && !self.text.contains(',')
            && (1900.0..=2100.0).contains(&self.value)
    }
}

fn number_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(\s?(?:%|trillion|billion|million|thousand)|[a-z]+)?",
        )
        .expect("static regex")
    })
}

fn numeric_tokens(text: &str) -> Vec<NumericToken> {
    number_re()
        .captures_iter(text)
        .filter_map(|c| {
            let digits = c.get(1)?.as_str();
            let plain = digits.replace(',', "");
            let value: f64 = plain.parse().ok()?;
            let decimals = plain.split_once('.').map_or(0, |(_, d)| d.len());
            let unit = c
                .get(2)
                .map_or(String::new(), |u| u.as_str().trim().to_lowercase());
            let scales: &'static [f64] = match unit.as_str() {
                "%" | "pp" => &[0.01, 1.0],
                "bp" | "bps" => &[1e-4, 1.0],
                "k" | "thousand" => &[1e3],
                "m" => &[1e6, 1.0],
                "mn" | "mm" | "million" => &[1e6],
                "b" | "bn" | "billion" => &[1e9],
                "tn" | "trillion" => &[1e12],
                _ => &[1.0],
            };
            Some(NumericToken {
                text: c.get(0)?.as_str().trim().to_owned(),
                value,
                decimals,
                scales,
            })
        })
        .collect()
}

fn spelled_numbers(text: &str) -> Vec<(f64, String)> {
    const WORDS: [&str; 11] = [
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    ];
    word_re()
        .find_iter(text)
        .filter_map(|w| {
            let lower = w.as_str().to_lowercase();
            let at = WORDS.iter().position(|&n| n == lower)?;
            Some((at as f64 + 2.0, w.as_str().to_owned()))
        })
        .collect()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_number(name: &str) -> Option<u8> {
    let lower = name.to_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == lower || (lower.len() == 3 && m.starts_with(&lower)))
        .map(|i| i as u8 + 1)
}

fn date_res() -> &'static [Regex; 5] {
    static RE: OnceLock<[Regex; 5]> = OnceLock::new();
    RE.get_or_init(|| {
        let month = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)";
        let re = |s: &str| Regex::new(s).expect("static regex");
        [
            re(r"\b(\d{4})-(\d{2})(?:-(\d{2}))?\b"),
            re(&format!(r"\b(\d{{1,2}})\s+{month}\b(?:,?\s+(\d{{4}})\b)?")),
            re(&format!(r"\b{month}\s+(\d{{1,2}}),?\s+(\d{{4}})\b")),
            re(&format!(r"\b{month}\s+(\d{{4}})\b")),
            // Last, so it sees only months the forms above left ("May" is a verb).
            re(r"\b(January|February|March|April|June|July|August|September|October|November|December)\b"),
        ]
    })
}

/// Dates in `text`, and the text with them blanked out (so their digits are not read
/// again as numbers).
fn find_dates(text: &str) -> (Vec<(DateRef, String)>, String) {
    let mut rest = text.to_owned();
    let mut found = Vec::new();
    let num = |m: Option<regex::Match<'_>>| m.and_then(|m| m.as_str().parse::<i32>().ok());
    for (form, re) in date_res().iter().enumerate() {
        let scanned = rest.clone();
        for c in re.captures_iter(&scanned) {
            let Some(whole) = c.get(0) else { continue };
            let date = match form {
                0 => DateRef {
                    year: num(c.get(1)),
                    month: num(c.get(2)).map(|m| m as u8),
                    day: num(c.get(3)).map(|d| d as u8),
                },
                1 => DateRef {
                    year: num(c.get(3)),
                    month: c.get(2).and_then(|m| month_number(m.as_str())),
                    day: num(c.get(1)).map(|d| d as u8),
                },
                2 => DateRef {
                    year: num(c.get(3)),
                    month: c.get(1).and_then(|m| month_number(m.as_str())),
                    day: num(c.get(2)).map(|d| d as u8),
                },
                3 => DateRef {
                    year: num(c.get(2)),
                    month: c.get(1).and_then(|m| month_number(m.as_str())),
                    day: None,
                },
                _ => DateRef {
                    year: None,
                    month: c.get(1).and_then(|m| month_number(m.as_str())),
                    day: None,
                },
            };
            found.push((date, whole.as_str().to_owned()));
            rest.replace_range(whole.range(), &" ".repeat(whole.len()));
        }
    }
    (found, rest)
}

fn word_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[\p{L}\p{N}][\p{L}\p{N}&'’.\-]*").expect("static regex"))
}

/// A word without trailing punctuation or possessive.
fn clean_word(w: &str) -> &str {
    let w = w.trim_end_matches(['.', '-', '\'', '’']);
    w.strip_suffix("'s")
        .or_else(|| w.strip_suffix("’s"))
        .unwrap_or(w)
}

fn is_capitalised(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

fn is_all_caps(w: &str) -> bool {
    w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !w.chars().any(char::is_lowercase)
}

/// The named entities of one sentence (see the module doc for the rule).
fn entities(sentence: &str) -> Vec<String> {
    let words: Vec<(usize, usize, &str)> = word_re()
        .find_iter(sentence)
        .map(|m| (m.start(), m.end(), clean_word(m.as_str())))
        .filter(|(_, _, w)| !w.is_empty() && !w.chars().all(|c| c.is_numeric()))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !is_capitalised(words[i].2) {
            i += 1;
            continue;
        }
        // Extend the run over adjacent capitalised words and inner connectors.
        let mut j = i + 1;
        while j < words.len() {
            let gap = &sentence[words[j - 1].1..words[j].0];
            if !gap.chars().all(char::is_whitespace) {
                break;
            }
            let w = words[j].2;
            if is_capitalised(w) {
                j += 1;
            } else if matches!(w, "of" | "and" | "&")
                && words.get(j + 1).is_some_and(|n| is_capitalised(n.2))
                && sentence[words[j].1..words[j + 1].0]
                    .chars()
                    .all(char::is_whitespace)
            {
                j += 2;
            } else {
                break;
            }
        }
        let mut run: Vec<&str> = words[i..j].iter().map(|w| w.2).collect();
        // A sentence's first word is capitalised for grammar; only a ticker there is
        // certainly a name.
        if i == 0 && !is_all_caps(run[0]) {
            run.remove(0);
        }
        if !run.is_empty() {
            out.push(run.join(" "));
        }
        i = j;
    }
    out
}

fn is_recommendation(sentence: &str) -> bool {
    const CUES: &[&str] = &[
        "recommend",
        "recommends",
        "recommended",
        "recommendation",
        "should",
        "advise",
        "advises",
        "suggest",
        "suggests",
        "propose",
        "proposes",
        "consider",
        "ought",
        "must",
    ];
    const IMPERATIVES: &[&str] = &[
        "reduce",
        "increase",
        "cut",
        "trim",
        "add",
        "hedge",
        "rebalance",
        "buy",
        "sell",
        "raise",
        "lower",
        "shift",
        "move",
        "keep",
        "maintain",
        "limit",
        "cap",
        "avoid",
        "introduce",
        "hold",
        "extend",
        "shorten",
        "diversify",
        "tilt",
        "set",
    ];
    let words: Vec<String> = word_re()
        .find_iter(sentence)
        .map(|m| clean_word(m.as_str()).to_lowercase())
        .collect();
    words.iter().any(|w| CUES.contains(&w.as_str()))
        || words
            .first()
            .is_some_and(|w| IMPERATIVES.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Value {
        json!({
            "portfolio": "Northwind Balanced Fund",
            "base_currency": "USD",
            "total_market_value": 250_000_000.0,
            "var_99": -12_345_678.9,
            "var_99_fraction": 0.04938,
            "hedge_cost_bp": 23.4,
            "scenario_count": 500,
            "stressed_window": {"start": "2020-02-19", "end": "2020-03-23"},
            "worst_scenario": {"name": "Global Financial Crisis", "loss": 31_250_000.0},
            "findings": [{"headline": "Turnover of 4.1% keeps the tracking error at 1.2%."}],
        })
    }

    fn verdict(text: &str) -> Result<(), Vec<Ungrounded>> {
        check(text, &Evidence::new(&facts()))
    }

    #[test]
    fn rephrased_figures_are_grounded() {
        let text = "Northwind Balanced Fund ($250m) was stressed over 500 scenarios. \
            One-month VaR 99% is $12.3m, or 4.9% of value, under the stressed window of \
            February to March 2020 (19 February 2020 to 2020-03-23). The worst scenario, \
            “Global Financial Crisis”, loses $31,250,000 (USD). Turnover of 4.1% keeps \
            tracking error at 1.2%; the hedge costs 23bp. We recommend capping turnover \
            at 4.1%.";
        assert_eq!(verdict(text), Ok(()));
    }

    #[test]
    fn an_invented_figure_is_named() {
        let problems = verdict("VaR 99% is $12.3m; losses could reach $987.6m.").unwrap_err();
        assert_eq!(problems, vec![Ungrounded::Number("987.6m".into())]);
        // Precision matters: 4.9% matches 0.04938, 4.95% does not (±0.005 pp).
        assert!(verdict("VaR is 4.9% of value.").is_ok());
        assert_eq!(
            verdict("VaR is 4.95% of value.").unwrap_err(),
            vec![Ungrounded::Number("4.95%".into())]
        );
        // Units matter: 23bp is grounded, 23bn is not.
        assert!(verdict("The hedge costs 23bp.").is_ok());
        assert!(verdict("The hedge costs $23bn.").is_err());
        // Thousands separators are read, not split into "12" and "345".
        assert!(verdict("VaR is $12,345,679.").is_ok());
        assert!(verdict("VaR is $12,345,000.").is_err());
    }

    #[test]
    fn spelled_numbers_and_years_are_checked() {
        assert_eq!(
            verdict("Seven scenarios dominate.").unwrap_err(),
            vec![Ungrounded::Number("Seven".into())]
        );
        assert!(verdict("The window ends in 2020.").is_ok());
        assert_eq!(
            verdict("The window ends in 2008.").unwrap_err(),
            vec![Ungrounded::Number("2008".into())]
        );
    }

    #[test]
    fn dates_must_match_on_every_part_named() {
        assert!(verdict("The stress began on 19 February 2020.").is_ok());
        assert!(verdict("It ended March 23, 2020.").is_ok());
        assert_eq!(
            verdict("The stress began on 20 February 2020.").unwrap_err(),
            vec![Ungrounded::Date("20 February 2020".into())]
        );
        assert_eq!(
            verdict("It echoes September 2008.").unwrap_err(),
            vec![Ungrounded::Date("September 2008".into())]
        );
        assert!(verdict("It peaked on 2020-03-24.").is_err());
    }

    #[test]
    fn names_and_tickers_must_be_in_the_facts() {
        assert_eq!(
            verdict("The portfolio resembles Lehman Brothers in 2020.").unwrap_err(),
            vec![Ungrounded::Entity("Lehman Brothers".into())]
        );
        assert_eq!(
            verdict("Losses concentrate in AAPL.").unwrap_err(),
            vec![Ungrounded::Entity("AAPL".into())]
        );
        assert_eq!(
            verdict("The loss exceeds what Apple lost.").unwrap_err(),
            vec![Ungrounded::Entity("Apple".into())]
        );
        assert_eq!(
            verdict("The Bank of England scenario is absent.").unwrap_err(),
            vec![Ungrounded::Entity("Bank of England".into())]
        );
        // Sentence-initial capitals are grammar; names from the facts pass.
        assert!(verdict("Losses are large for the Northwind Balanced Fund.").is_ok());
        assert!(verdict("The Global Financial Crisis replay is the worst.").is_ok());
    }

    #[test]
    fn a_recommendation_must_cite_a_figure() {
        assert_eq!(
            verdict("We recommend reducing equity exposure.").unwrap_err(),
            vec![Ungrounded::UncitedRecommendation(
                "We recommend reducing equity exposure.".into()
            )]
        );
        assert!(verdict("Reduce turnover.").is_err());
        assert!(verdict("Reduce turnover below 4.1%.").is_ok());
        // A cited figure must itself be grounded.
        assert!(verdict("Reduce turnover below 3.3%.").is_err());
    }

    #[test]
    fn every_problem_is_reported_in_order() {
        let problems =
            verdict("Losses reach $77m at Acme Corp. You should act now. It began 1 June 2019.")
                .unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert_eq!(problems[0], Ungrounded::Number("77m".into()));
        assert_eq!(problems[1], Ungrounded::Entity("Acme Corp".into()));
        assert!(matches!(problems[2], Ungrounded::UncitedRecommendation(_)));
        assert_eq!(problems[3], Ungrounded::Date("1 June 2019".into()));
    }
}
