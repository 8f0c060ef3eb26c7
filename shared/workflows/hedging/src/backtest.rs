//! Historical backtest: today's book and programs under every month the bundled history
//! holds for all of its risks at once — January 1980 to May 1987, where the daily FX
//! series (Verbeek), the US zero yields (McCulloch & Kwon), Moody's Baa − Aaa and the
//! Fama–French market return overlap. A historical simulation: each month's observed
//! moves applied instantaneously to today's positions, fully revalued (the same
//! revaluation as the Monte Carlo paths), so the program is judged on what markets
//! actually did rather than on the model's own dynamics.
//!
//! Proxies, stated: DEM for the EUR; CAD for the AUD; the US curve's monthly move (its
//! projection on the calibration's three components) for the EUR and GBP curves; the US
//! market for the European and UK equities; the Baa − Aaa log-spread change for both
//! the IG and the HY factor. The window includes the 1980–82 rates shocks, the 1985
//! Plaza Accord and the early-1987 dollar slide, but not October 1987.

use crate::calibration::data::{parse_fx_daily, parse_moodys, parse_zero_yields};
use crate::calibration::CalibrationInputs;
use crate::evaluate::EvalModel;
use crate::factors::{Currency, CurveComponent, RiskFactor, N_FACTORS};
use crate::model::snapshot_implied;
use crate::valuation::{BookValues, PathMarket, Revaluer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The Fama–French monthly market return (MktRF + RF), compiled in.
const FF_MONTHLY: &str = include_str!(
    "../../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
);

/// One month's factor moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalMonth {
    pub month: String,
    pub moves: Vec<f64>,
}

/// Each month's moves, in factor order, over the window where every series has data.
pub fn historical_months(model: &EvalModel) -> Result<Vec<HistoricalMonth>, String> {
    let inputs = CalibrationInputs::bundled();
    let fx = parse_fx_daily(inputs.fx_daily.0, inputs.fx_daily.1).map_err(|e| e.to_string())?;
    let zero =
        parse_zero_yields(inputs.zero_yields.0, inputs.zero_yields.1).map_err(|e| e.to_string())?;
    let moodys = parse_moodys(inputs.moodys.0, inputs.moodys.1).map_err(|e| e.to_string())?;
    let ff = stresslab_core::market_data::parse_market_data(FF_MONTHLY.as_bytes())
        .map_err(|e| e.to_string())?;

    // Month-end FX (last observation of each month), USD per unit.
    let mut fx_end: BTreeMap<String, [f64; 5]> = BTreeMap::new();
    for (i, d) in fx.dates.iter().enumerate() {
        fx_end.insert(
            d[..7].to_string(),
            [fx.dem[i], fx.gbp[i], fx.jpy[i], fx.chf[i], fx.cad[i]],
        );
    }
    let zero_by: BTreeMap<&str, &Vec<f64>> = zero
        .months
        .iter()
        .map(String::as_str)
        .zip(&zero.yields_pct)
        .collect();
    let spread_by: BTreeMap<String, f64> = moodys
        .months
        .iter()
        .zip(moodys.baa_pct.iter().zip(&moodys.aaa_pct))
        .map(|((y, m), (b, a))| (format!("{y:04}-{m:02}"), b - a))
        .collect();
    let (mkt, rf) = (
        ff.column("MktRF").ok_or("FF file: no MktRF")?,
        ff.column("RF").ok_or("FF file: no RF")?,
    );
    let market_by: BTreeMap<&str, f64> = ff
        .dates
        .iter()
        .map(String::as_str)
        .zip(mkt.iter().zip(rf).map(|(m, r)| (1.0 + m + r).ln()))
        .collect();
    let loadings = &model.calibration.rates.loadings;

    let months: Vec<&String> = fx_end.keys().collect();
    let mut out = Vec::new();
    for w in months.windows(2) {
        let (prev, this) = (w[0].as_str(), w[1].as_str());
        let (Some(z0), Some(z1), Some(s0), Some(s1), Some(eq)) = (
            zero_by.get(prev),
            zero_by.get(this),
            spread_by.get(prev),
            spread_by.get(this),
            market_by.get(this),
        ) else {
            continue;
        };
        let (f0, f1) = (fx_end[prev], fx_end[this]);
        let mut moves = vec![0.0; N_FACTORS];
        let fx_move = |k: usize| (f1[k] / f0[k]).ln();
        for (f, k) in [
            (RiskFactor::FxEur, 0),
            (RiskFactor::FxGbp, 1),
            (RiskFactor::FxJpy, 2),
            (RiskFactor::FxChf, 3),
            (RiskFactor::FxCad, 4),
            (RiskFactor::FxAud, 4),
        ] {
            moves[f.index()] = fx_move(k);
        }
        // Curve scores: the month's yield changes (decimal) on the orthonormal loadings.
        for (k, component) in [
            CurveComponent::Level,
            CurveComponent::Slope,
            CurveComponent::Curvature,
        ]
        .into_iter()
        .enumerate()
        {
            let score: f64 = z1
                .iter()
                .zip(z0.iter())
                .zip(&loadings[k])
                .map(|((a, b), l)| (a - b) / 100.0 * l)
                .sum();
            for c in [Currency::USD, Currency::EUR, Currency::GBP] {
                if let Some(f) = RiskFactor::rates(c, component) {
                    moves[f.index()] = score;
                }
            }
        }
        let credit = (s1 / s0).ln();
        moves[RiskFactor::CreditIg.index()] = credit;
        moves[RiskFactor::CreditHy.index()] = credit;
        for f in [
            RiskFactor::EquityUs,
            RiskFactor::EquityEurope,
            RiskFactor::EquityUk,
        ] {
            moves[f.index()] = *eq;
        }
        out.push(HistoricalMonth {
            month: this.to_string(),
            moves,
        });
    }
    Ok(out)
}

/// A combination's record over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestLine {
    pub combo: usize,
    pub label: String,
    /// Funding-ratio change each month (FR points).
    pub fr_changes: Vec<f64>,
    /// Annualised volatility of the monthly funding-ratio changes (×√12).
    pub fr_vol: f64,
    pub worst_month: f64,
    pub worst_month_label: String,
    /// Share of the unhedged funding-ratio variance the program removes, 1 − var(hedged)/var(unhedged).
    pub variance_reduction: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    pub first_month: String,
    pub last_month: String,
    pub lines: Vec<BacktestLine>,
}

/// Today's book under each historical month, unhedged (first line) and with `combos`.
pub fn backtest(model: &EvalModel, combos: &[usize]) -> Result<Backtest, String> {
    let months = historical_months(model)?;
    if months.is_empty() {
        return Err("no month has every series".into());
    }
    let n = months.len();
    let cols: Vec<Vec<f64>> = (0..N_FACTORS)
        .map(|f| months.iter().map(|m| m.moves[f]).collect())
        .collect();
    let zeros = vec![0.0; n];
    let implied = snapshot_implied(&model.book);
    let factors: [&[f64]; N_FACTORS] = std::array::from_fn(|f| cols[f].as_slice());
    let m = PathMarket {
        s: 0.0,
        factors,
        zeros: &zeros,
        implied: &implied,
        grids: [None; 7],
    };
    let r = Revaluer {
        book: &model.book,
        loadings: &model.loadings,
        config: &model.config,
    };
    let mut book = BookValues::default();
    r.book_values(&m, n, &mut book, &mut Vec::new(), false);
    // Each desk program's value change per month.
    let mut unit = vec![0.0; n];
    let mut desk_pnl: Vec<Vec<Vec<f64>>> = Vec::new();
    for progs in &model.desks {
        let mut per = Vec::new();
        for p in progs {
            let mut v = vec![-p.inception_value; n];
            for &(i, notional) in &p.legs {
                r.instrument_values(&model.instruments[i], &m, n, &mut unit);
                for (x, u) in v.iter_mut().zip(&unit) {
                    *x += notional * u;
                }
            }
            per.push(v);
        }
        desk_pnl.push(per);
    }
    let fr0 = model.book.funded_ratio();
    let mut lines = Vec::new();
    let unhedged = model.combo(0, 0, 0);
    let mut all = vec![unhedged];
    for &k in combos {
        if !all.contains(&k) {
            all.push(k);
        }
    }
    let mut unhedged_var = f64::NAN;
    for k in all {
        let parts = model.combo_parts(k);
        let fr_changes: Vec<f64> = (0..n)
            .map(|p| {
                let hedges: f64 = (0..3).map(|d| desk_pnl[d][parts[d]][p]).sum();
                (book.assets[p] + hedges) / book.liabilities[p] - fr0
            })
            .collect();
        let mean = fr_changes.iter().sum::<f64>() / n as f64;
        let var = fr_changes.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        if unhedged_var.is_nan() {
            unhedged_var = var;
        }
        let (wi, worst) = fr_changes
            .iter()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |a, (i, &x)| if x < a.1 { (i, x) } else { a },
            );
        lines.push(BacktestLine {
            combo: k,
            label: model.combo_label(k),
            fr_vol: (var * 12.0).sqrt(),
            worst_month: worst,
            worst_month_label: months[wi].month.clone(),
            variance_reduction: 1.0 - var / unhedged_var,
            fr_changes,
        });
    }
    Ok(Backtest {
        first_month: months[0].month.clone(),
        last_month: months[n - 1].month.clone(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::tests::seed;
    use crate::model::{prepare, RunSettings};
    use crate::scenarios::ScenarioConfig;

    #[test]
    fn the_window_is_1980_to_1987_and_the_moves_are_the_datas() {
        let cfg = ScenarioConfig::default();
        let (m, _) = prepare(
            &seed(),
            &RunSettings {
                scenarios: 12,
                paths: 100,
                horizon_days: 252,
                funded_ratio_floor: 0.85,
                max_funding_ratio_vol: 0.08,
                config: &cfg,
                seed: 1,
            },
            None,
        )
        .unwrap();
        let months = historical_months(&m).unwrap();
        assert_eq!(months.first().unwrap().month, "1980-02");
        assert_eq!(months.last().unwrap().month, "1987-05");
        assert_eq!(months.len(), 88);
        // September 1985 (the Plaza Accord): the mark's month-end to month-end move, read
        // straight off the CSV text.
        let text = CalibrationInputs::bundled().fx_daily.1;
        let last_dm = |month: &str| -> f64 {
            let line = text.lines().rfind(|l| l.starts_with(month)).unwrap();
            line.split(',').nth(2).unwrap().parse().unwrap()
        };
        let expected = (last_dm("1985-09") / last_dm("1985-08")).ln();
        let sep85 = months.iter().find(|x| x.month == "1985-09").unwrap();
        assert_eq!(sep85.moves[RiskFactor::FxEur.index()], expected);
        assert!(expected > 0.04, "the mark rose: {expected}");
        let bt = backtest(&m, &[m.combo(3, 3, 0)]).unwrap();
        assert_eq!(bt.lines.len(), 2);
        assert_eq!(bt.lines[0].variance_reduction, 0.0);
        assert!(bt
            .lines
            .iter()
            .all(|l| l.fr_vol.is_finite() && l.fr_changes.len() == 88));
    }
}
