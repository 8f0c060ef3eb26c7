//! The hedging workflow's inputs: a pension's liabilities (`liabilities`) and the market
//! snapshot its hedges are priced off (`market`).
//!
//! Liabilities are projected benefit cash flows by currency and year — the form an
//! actuary hands to an investment team. The snapshot holds what pricing needs beyond
//! the portfolio's FX spots (`fx_rates`): zero curves, implied FX and swaption
//! volatilities, credit spreads by rating and an equity implied volatility. Core keeps
//! them as plain validated numbers; `stresslab-hedging` interprets them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::{is_iso_currency, kind, section, Checker};

/// Longest liability projection accepted, in years.
pub const MAX_LIABILITY_YEARS: usize = 120;
/// Zero rates outside this range (decimal, continuously compounded) are almost surely
/// percentages or basis points in the wrong unit.
pub const ZERO_RATE_BOUNDS: (f64, f64) = (-0.05, 0.30);
/// Credit ratings the snapshot may quote spreads for, best first.
pub const RATINGS: [&str; 6] = ["AAA", "AA", "A", "BBB", "BB", "B"];

/// Liability cash flows: for each currency, `cash_flows[c][i]` is paid at the end of
/// year `i + 1`, in that currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiabilityInputs {
    pub cash_flows: BTreeMap<String, Vec<f64>>,
    /// Spread over each currency's zero curve at which liabilities are discounted
    /// (decimal; 0 discounts on the curve itself).
    #[serde(default)]
    pub discount_spread: f64,
}

/// A zero curve: continuously compounded zero rates at increasing tenors (years).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveInputs {
    pub tenors: Vec<f64>,
    pub zero_rates: Vec<f64>,
}

/// The market snapshot hedges are priced off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketSnapshot {
    /// Zero curve per currency (every liability and bond currency needs one).
    pub curves: BTreeMap<String, CurveInputs>,
    /// One-year at-the-money implied FX volatility per foreign currency against the base.
    #[serde(default)]
    pub fx_vols: BTreeMap<String, f64>,
    /// At-the-money normal (Bachelier) swaption volatility per currency, decimal a year
    /// (0.009 = 90 bp).
    #[serde(default)]
    pub swaption_normal_vols: BTreeMap<String, f64>,
    /// Credit spread over the curve by rating (decimal), for the ratings in [`RATINGS`].
    #[serde(default)]
    pub credit_spreads: BTreeMap<String, f64>,
    /// Equity implied volatility (decimal a year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity_vol: Option<f64>,
}

/// A finite number from a JSON value, or an issue at `at`.
fn number_at(c: &mut Checker, v: &Value, at: &str) -> Option<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Some(x),
        _ => {
            c.issue(at, format!("must be a finite number, got {}", kind(v)));
            None
        }
    }
}

fn numbers(c: &mut Checker, v: &Value, at: &str, max_len: usize) -> Option<Vec<f64>> {
    let Value::Array(items) = v else {
        c.issue(at, format!("must be an array of numbers, got {}", kind(v)));
        return None;
    };
    if items.is_empty() || items.len() > max_len {
        c.issue(
            at,
            format!("must hold 1 to {max_len} numbers, got {}", items.len()),
        );
        return None;
    }
    let before = c.issue_count();
    let out: Vec<f64> = items
        .iter()
        .enumerate()
        .filter_map(|(k, x)| number_at(c, x, &format!("{at}[{k}]")))
        .collect();
    (c.issue_count() == before).then_some(out)
}

fn currency_key(c: &mut Checker, at: &str, key: &str) -> bool {
    if is_iso_currency(key) {
        true
    } else {
        c.issue(
            format!("{at}.{key}"),
            "must be a three-letter upper-case ISO 4217 currency code",
        );
        false
    }
}

pub(super) fn liabilities_section(
    c: &mut Checker,
    root: &Map<String, Value>,
) -> Option<LiabilityInputs> {
    let (o, p) = section(
        c,
        root,
        "",
        "liabilities",
        &["cash_flows", "discount_spread"],
    )?;
    let before = c.issue_count();
    let mut cash_flows = BTreeMap::new();
    match o.get("cash_flows") {
        Some(Value::Object(map)) if !map.is_empty() => {
            for (ccy, flows) in map {
                let at = format!("{p}cash_flows.{ccy}");
                if !currency_key(c, &format!("{p}cash_flows"), ccy) {
                    continue;
                }
                let Some(flows) = numbers(c, flows, &at, MAX_LIABILITY_YEARS) else {
                    continue;
                };
                if let Some(k) = flows.iter().position(|x| *x < 0.0) {
                    c.issue(
                        format!("{at}[{k}]"),
                        "a benefit payment cannot be negative (contributions are not liabilities)",
                    );
                    continue;
                }
                if flows.iter().all(|x| *x == 0.0) {
                    c.issue(at, "every cash flow is zero");
                    continue;
                }
                cash_flows.insert(ccy.clone(), flows);
            }
        }
        None | Some(Value::Null) => c.issue(format!("{p}cash_flows"), "is required"),
        Some(other) => c.issue(
            format!("{p}cash_flows"),
            format!(
                "must be a non-empty object of currency → yearly cash flows, got {}",
                kind(other)
            ),
        ),
    }
    let discount_spread = c.number(o, &p, "discount_spread").unwrap_or(0.0);
    if !(-0.02..=0.05).contains(&discount_spread) {
        c.issue(
            format!("{p}discount_spread"),
            format!("must be a decimal spread from -0.02 to 0.05, got {discount_spread}"),
        );
    }
    (c.issue_count() == before).then_some(LiabilityInputs {
        cash_flows,
        discount_spread,
    })
}

fn vol_map(
    c: &mut Checker,
    o: &Map<String, Value>,
    p: &str,
    key: &str,
    hi: f64,
    keys_are_currencies: bool,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    match o.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let at = format!("{p}{key}.{k}");
                if keys_are_currencies && !currency_key(c, &format!("{p}{key}"), k) {
                    continue;
                }
                if !keys_are_currencies && !RATINGS.contains(&k.as_str()) {
                    c.issue(
                        at,
                        format!("unknown rating (expected one of: {})", RATINGS.join(", ")),
                    );
                    continue;
                }
                if let Some(x) = number_at(c, v, &at) {
                    if x <= 0.0 || x > hi {
                        c.issue(at, format!("must be in (0, {hi}] as a decimal, got {x}"));
                    } else {
                        out.insert(k.clone(), x);
                    }
                }
            }
        }
        Some(other) => c.issue(
            format!("{p}{key}"),
            format!("must be an object, got {}", kind(other)),
        ),
    }
    out
}

pub(super) fn market_section(c: &mut Checker, root: &Map<String, Value>) -> Option<MarketSnapshot> {
    let (o, p) = section(
        c,
        root,
        "",
        "market",
        &[
            "curves",
            "fx_vols",
            "swaption_normal_vols",
            "credit_spreads",
            "equity_vol",
        ],
    )?;
    let before = c.issue_count();
    let mut curves = BTreeMap::new();
    match o.get("curves") {
        Some(Value::Object(map)) if !map.is_empty() => {
            for ccy in map.keys() {
                if !currency_key(c, &format!("{p}curves"), ccy) {
                    continue;
                }
                let at = format!("{p}curves.{ccy}.");
                let Some((co, cp)) = section(
                    c,
                    map,
                    &format!("{p}curves."),
                    ccy,
                    &["tenors", "zero_rates"],
                ) else {
                    continue;
                };
                let tenors = co
                    .get("tenors")
                    .and_then(|v| numbers(c, v, &format!("{cp}tenors"), 64));
                let rates = co
                    .get("zero_rates")
                    .and_then(|v| numbers(c, v, &format!("{cp}zero_rates"), 64));
                let (Some(tenors), Some(zero_rates)) = (tenors, rates) else {
                    if co.get("tenors").is_none() || co.get("zero_rates").is_none() {
                        c.issue(at, "needs both tenors and zero_rates");
                    }
                    continue;
                };
                if tenors.len() != zero_rates.len() {
                    c.issue(
                        format!("{cp}zero_rates"),
                        format!("has {} rates for {} tenors", zero_rates.len(), tenors.len()),
                    );
                    continue;
                }
                if tenors[0] <= 0.0 || tenors.windows(2).any(|w| w[1] <= w[0]) {
                    c.issue(
                        format!("{cp}tenors"),
                        "must be positive and strictly increasing (years)",
                    );
                    continue;
                }
                let (lo, hi) = ZERO_RATE_BOUNDS;
                if let Some(k) = zero_rates.iter().position(|r| !(lo..=hi).contains(r)) {
                    c.issue(
                        format!("{cp}zero_rates[{k}]"),
                        format!(
                            "{} is outside [{lo}, {hi}]: zero rates are decimals (0.04 = 4%)",
                            zero_rates[k]
                        ),
                    );
                    continue;
                }
                curves.insert(ccy.clone(), CurveInputs { tenors, zero_rates });
            }
        }
        None | Some(Value::Null) => c.issue(format!("{p}curves"), "is required"),
        Some(other) => c.issue(
            format!("{p}curves"),
            format!(
                "must be a non-empty object of currency → curve, got {}",
                kind(other)
            ),
        ),
    }
    let fx_vols = vol_map(c, o, &p, "fx_vols", 1.0, true);
    let swaption_normal_vols = vol_map(c, o, &p, "swaption_normal_vols", 0.05, true);
    let credit_spreads = vol_map(c, o, &p, "credit_spreads", 0.5, false);
    let equity_vol = c.number(o, &p, "equity_vol");
    if let Some(v) = equity_vol {
        if v <= 0.0 || v > 2.0 {
            c.issue(
                format!("{p}equity_vol"),
                format!("must be in (0, 2] as a decimal, got {v}"),
            );
        }
    }
    (c.issue_count() == before).then_some(MarketSnapshot {
        curves,
        fx_vols,
        swaption_normal_vols,
        credit_spreads,
        equity_vol,
    })
}

#[cfg(test)]
mod tests {
    use crate::portfolio::parse_portfolio;

    fn problems(extra: &str) -> Vec<String> {
        let text = format!(
            r#"{{"portfolio_id":"p","base_currency":"USD","positions":[{{"id":"c","name":"cash","asset_class":"cash","instrument_type":"cash","currency":"USD","market_value":1}}],{extra}}}"#
        );
        match parse_portfolio("p.json", text.as_bytes()) {
            Ok(_) => Vec::new(),
            Err(r) => r
                .issues
                .iter()
                .map(|i| format!("{}: {}", i.path, i.reason))
                .collect(),
        }
    }

    #[test]
    fn a_well_formed_pension_section_parses() {
        let ok = problems(
            r#""liabilities":{"cash_flows":{"USD":[100,90,80]}},"market":{"curves":{"USD":{"tenors":[1,5,30],"zero_rates":[0.05,0.045,0.044]}},"fx_vols":{"EUR":0.07},"credit_spreads":{"BBB":0.0125},"equity_vol":0.15}"#,
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn every_bad_field_is_named() {
        let p = problems(
            r#""liabilities":{"cash_flows":{"USD":[100,-5],"usd":[1]},"discount_spread":0.5},"market":{"curves":{"USD":{"tenors":[5,1],"zero_rates":[4.5,4.4]},"EUR":{"tenors":[1],"zero_rates":[0.03,0.02]}},"fx_vols":{"EUR":7},"credit_spreads":{"CCC":0.1},"equity_vol":-1,"colour":"red"}"#,
        );
        let has = |path: &str| p.iter().any(|x| x.starts_with(path));
        for path in [
            "liabilities.cash_flows.USD[1]",
            "liabilities.cash_flows.usd",
            "liabilities.discount_spread",
            "market.curves.USD.tenors",
            "market.curves.EUR.zero_rates",
            "market.fx_vols.EUR",
            "market.credit_spreads.CCC",
            "market.equity_vol",
            "market.colour",
        ] {
            assert!(has(path), "{path} not named in {p:#?}");
        }
    }
}
