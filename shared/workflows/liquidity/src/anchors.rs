//! The market anchors of the scenario design, as a scenario library pins them: the
//! 2008 widening of Moody's Baa − Aaa (its 2007 mean, 2008 peak and half-life) and the
//! three-month S&P 500 return percentiles. Unpinned runs use [`MarketAnchors::BUNDLED`]
//! (the constants in [`crate::scenarios`], each recomputed from the bundled files by a
//! test); the monthly refresh estimates them afresh from the market data with
//! [`MarketAnchors::estimate`], the same arithmetic.

use crate::investors::BUSINESS_DAYS_PER_MONTH;
use crate::scenarios::{
    BAA_AAA_2007_MEAN, BAA_AAA_2008_HALF_LIFE_DAYS, BAA_AAA_2008_PEAK, SP500_3M_P1, SP500_3M_P5,
    SP500_3M_WORST, SPREAD_MULTIPLIER_MAX, SPREAD_MULTIPLIER_MIN,
};
use serde::{Deserialize, Serialize};
use stresslab_analytics::stats::quantile;

/// Business days in the equity drawdown window (three months).
pub const DRAWDOWN_WINDOW_DAYS: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarketAnchors {
    /// Mean monthly Baa − Aaa over 2007, percent.
    pub baa_aaa_2007_mean: f64,
    /// Largest monthly Baa − Aaa in 2008, percent.
    pub baa_aaa_2008_peak: f64,
    /// Business days from the 2008 peak until the excess over the 2007 mean halved.
    pub baa_aaa_2008_half_life_days: f64,
    /// Three-month S&P 500 price returns: 5th and 1st percentiles and the worst.
    pub sp500_3m_p5: f64,
    pub sp500_3m_p1: f64,
    pub sp500_3m_worst: f64,
}

impl Default for MarketAnchors {
    fn default() -> Self {
        Self::BUNDLED
    }
}

impl MarketAnchors {
    /// The anchors of the bundled history (`events/inputs/`), as documented constants.
    pub const BUNDLED: MarketAnchors = MarketAnchors {
        baa_aaa_2007_mean: BAA_AAA_2007_MEAN,
        baa_aaa_2008_peak: BAA_AAA_2008_PEAK,
        baa_aaa_2008_half_life_days: BAA_AAA_2008_HALF_LIFE_DAYS,
        sp500_3m_p5: SP500_3M_P5,
        sp500_3m_p1: SP500_3M_P1,
        sp500_3m_worst: SP500_3M_WORST,
    };

    /// The 2008 spread widening, peak over the 2007 mean.
    pub fn baa_aaa_2008_multiple(&self) -> f64 {
        self.baa_aaa_2008_peak / self.baa_aaa_2007_mean
    }

    /// See [`crate::scenarios::EQUITY_DRAWDOWN_BANDS`].
    pub fn equity_drawdown_bands(&self) -> [[f64; 2]; 3] {
        let (p5, p1, worst) = (self.sp500_3m_p5, self.sp500_3m_p1, self.sp500_3m_worst);
        [
            [p5, p1],
            [p1, 0.5 * (p1 + worst)],
            [0.5 * (p1 + worst), worst],
        ]
    }

    /// See [`crate::scenarios::spread_multiplier_bands`].
    pub fn spread_multiplier_bands(&self) -> [[f64; 2]; 3] {
        let a = self.baa_aaa_2008_multiple();
        let mid = (a * SPREAD_MULTIPLIER_MAX).sqrt();
        [
            [SPREAD_MULTIPLIER_MIN, a],
            [a, mid],
            [mid, SPREAD_MULTIPLIER_MAX],
        ]
    }

    /// See [`crate::scenarios::RECOVERY_HALF_LIFE_BANDS`].
    pub fn recovery_half_life_bands(&self) -> [[f64; 2]; 3] {
        [
            [5.0, 20.0],
            [20.0, 40.0],
            [40.0, self.baa_aaa_2008_half_life_days],
        ]
    }

    /// Estimate from a Moody's `Date,AAA,BAA` monthly file (`m/d/yyyy` dates) and an
    /// S&P 500 `Date,SP500` daily file. `Err` names the file and what is wrong.
    pub fn estimate(moodys: (&str, &str), sp500: (&str, &str)) -> Result<MarketAnchors, String> {
        let spreads = parse_moodys(moodys.0, moodys.1)?;
        let year = |y: u32| -> Vec<(usize, f64)> {
            spreads
                .iter()
                .enumerate()
                .filter(|(_, r)| r.0 == y)
                .map(|(i, r)| (i, r.1))
                .collect()
        };
        let y2007 = year(2007);
        if y2007.len() != 12 {
            return Err(format!(
                "{}: needs the twelve months of 2007, has {}",
                moodys.0,
                y2007.len()
            ));
        }
        let mean = y2007.iter().map(|r| r.1).sum::<f64>() / 12.0;
        let (peak_at, peak) = year(2008)
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .ok_or_else(|| format!("{}: has no month of 2008", moodys.0))?;
        if peak.is_nan() || peak <= mean {
            return Err(format!(
                "{}: the 2008 peak ({peak}) is not above the 2007 mean ({mean})",
                moodys.0
            ));
        }
        let half = mean + (peak - mean) / 2.0;
        let months = spreads[peak_at..]
            .iter()
            .position(|r| r.1 <= half)
            .ok_or_else(|| {
                format!(
                    "{}: the spread never halved its excess after the 2008 peak",
                    moodys.0
                )
            })?;

        let levels = parse_sp500(sp500.0, sp500.1)?;
        if levels.len() <= DRAWDOWN_WINDOW_DAYS * 2 {
            return Err(format!(
                "{}: {} daily closes are too few for three-month returns",
                sp500.0,
                levels.len()
            ));
        }
        let mut r: Vec<f64> = (0..levels.len() - DRAWDOWN_WINDOW_DAYS)
            .map(|i| levels[i + DRAWDOWN_WINDOW_DAYS] / levels[i] - 1.0)
            .collect();
        r.sort_by(f64::total_cmp);
        Ok(MarketAnchors {
            baa_aaa_2007_mean: mean,
            baa_aaa_2008_peak: peak,
            baa_aaa_2008_half_life_days: months as f64 * BUSINESS_DAYS_PER_MONTH,
            sp500_3m_p5: quantile(&r, 0.05),
            sp500_3m_p1: quantile(&r, 0.01),
            sp500_3m_worst: r[0],
        })
    }
}

fn field<'a>(file: &str, line: usize, fields: &[&'a str], i: usize) -> Result<&'a str, String> {
    fields
        .get(i)
        .map(|f| f.trim())
        .ok_or_else(|| format!("{file}, line {line}: expected {} fields", i + 1))
}

fn number(file: &str, line: usize, raw: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{file}, line {line}: {raw:?} is not a number"))
}

/// `(year, Baa − Aaa)` per month, in file order.
fn parse_moodys(file: &str, text: &str) -> Result<Vec<(u32, f64)>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "Date,AAA,BAA" => {}
        _ => return Err(format!("{file}: the header must be Date,AAA,BAA")),
    }
    lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line = i + 1;
            let f: Vec<&str> = l.split(',').collect();
            let date = field(file, line, &f, 0)?;
            let year = date
                .rsplit('/')
                .next()
                .and_then(|y| y.parse::<u32>().ok())
                .ok_or_else(|| format!("{file}, line {line}: {date:?} is not m/d/yyyy"))?;
            let aaa = number(file, line, field(file, line, &f, 1)?)?;
            let baa = number(file, line, field(file, line, &f, 2)?)?;
            Ok((year, baa - aaa))
        })
        .collect()
}

/// Daily closes, in file order; every close must be positive.
fn parse_sp500(file: &str, text: &str) -> Result<Vec<f64>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "Date,SP500" => {}
        _ => return Err(format!("{file}: the header must be Date,SP500")),
    }
    lines
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line = i + 1;
            let f: Vec<&str> = l.split(',').collect();
            let v = number(file, line, field(file, line, &f, 1)?)?;
            if v <= 0.0 {
                return Err(format!("{file}, line {line}: a close must be positive"));
            }
            Ok(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled(name: &str) -> (&'static str, String) {
        let path = format!(
            "{}/../../../events/inputs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        ("file", std::fs::read_to_string(path).unwrap())
    }

    /// The refresh's estimate from the bundled files is the documented constants, bit
    /// for bit — so a run pinned to a library refreshed from them is the unpinned run —
    /// from either Moody's file (the 1919–2018 history carries the same 2007–09 months).
    #[test]
    fn estimates_from_the_bundled_files_are_the_constants() {
        let (_, sp) = bundled("sp500_index_daily_1990_2022.csv");
        for moodys in [
            "moodys_aaa_baa_monthly_2006_2010.csv",
            "moodys_aaa_baa_monthly_1919_2018.csv",
        ] {
            let (_, m) = bundled(moodys);
            let a = MarketAnchors::estimate((moodys, &m), ("sp", &sp)).unwrap();
            assert_eq!(a, MarketAnchors::BUNDLED, "{moodys}");
        }
        assert_eq!(
            MarketAnchors::BUNDLED.spread_multiplier_bands(),
            crate::scenarios::spread_multiplier_bands()
        );
        assert_eq!(
            MarketAnchors::BUNDLED.equity_drawdown_bands(),
            crate::scenarios::EQUITY_DRAWDOWN_BANDS
        );
        assert_eq!(
            MarketAnchors::BUNDLED.recovery_half_life_bands(),
            crate::scenarios::RECOVERY_HALF_LIFE_BANDS
        );
    }

    #[test]
    fn other_data_moves_the_anchors_and_bad_files_are_named() {
        let (_, sp) = bundled("sp500_index_daily_1990_2022.csv");
        let (_, m) = bundled("moodys_aaa_baa_monthly_2006_2010.csv");
        // Without autumn 2008 in the equity history, the worst three months are milder.
        let cut: String = sp
            .lines()
            .filter(|l| !l.starts_with("2008-") && !l.starts_with("2009-"))
            .map(|l| format!("{l}\n"))
            .collect();
        let a = MarketAnchors::estimate(("m", &m), ("sp", &cut)).unwrap();
        assert!(a.sp500_3m_worst > MarketAnchors::BUNDLED.sp500_3m_worst);
        assert_eq!(
            a.baa_aaa_2008_peak,
            MarketAnchors::BUNDLED.baa_aaa_2008_peak
        );
        let e = MarketAnchors::estimate(("m.csv", "Date,AAA\n"), ("sp", &sp)).unwrap_err();
        assert!(e.contains("m.csv") && e.contains("header"), "{e}");
        let bad = m.replacen("5.29", "x", 1);
        let e = MarketAnchors::estimate(("m.csv", &bad), ("sp", &sp)).unwrap_err();
        assert!(e.contains("m.csv, line 2"), "{e}");
    }
}
