//! The prepare step: the book, the calibrated market models, the scenario set and the
//! desks' candidate programs, built once per run and handed to every partition.

use crate::book::{prepare_book, PensionBook};
use crate::calibration::{calibrate, Calibration, CalibrationInputs, KEY_TENORS_YEARS};
use crate::evaluate::{DeskProgram, EvalModel, VolTerciles, DRAWDOWN_DAYS};
use crate::factors::{Currency, N_FACTORS};
use crate::programs::{
    credit_programs, currency_programs, rates_programs, HedgeProgram, PROGRAM_TENOR,
};
use crate::scenarios::{generate_scenarios, ScenarioConfig, ScenarioSpec};
use crate::valuation::{
    CurveLoadings, ImpliedVols, Instrument, PathMarket, Revaluer, BUSINESS_DAYS_PER_YEAR,
};
use stresslab_core::portfolio::{Issue, Portfolio, Rejection};

fn reject(path: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        issues: vec![Issue {
            path: path.into(),
            reason: reason.into(),
        }],
    }
}

/// The implied vols of the snapshot (what the programs are priced at inception).
pub fn snapshot_implied(book: &PensionBook) -> ImpliedVols {
    let mut fx = [0.0; 7];
    let mut rates_normal = [0.01; 7];
    for c in Currency::ALL {
        fx[c.index()] = book.market.fx_vols[c.index()].unwrap_or(0.0);
        if let Some(v) = book.market.swaption_normal_vols[c.index()] {
            rates_normal[c.index()] = v;
        }
    }
    ImpliedVols { fx, rates_normal }
}

/// What the run needs besides the portfolio.
pub struct RunSettings<'a> {
    pub scenarios: u32,
    pub paths: u32,
    pub horizon_days: u32,
    pub funded_ratio_floor: f64,
    pub max_funding_ratio_vol: f64,
    pub config: &'a ScenarioConfig,
    pub seed: u64,
}

/// Model and scenarios from a parsed portfolio. `pinned`: a scenario library's
/// calibration, used instead of calibrating to the bundled history.
pub fn prepare(
    portfolio: &Portfolio,
    s: &RunSettings,
    pinned: Option<&Calibration>,
) -> Result<(EvalModel, Vec<ScenarioSpec>), Rejection> {
    let book = prepare_book(portfolio)?;
    let calibration = match pinned {
        Some(c) => c.clone(),
        None => calibrate(&CalibrationInputs::bundled())
            .map_err(|e| reject("calibration", e.to_string()))?,
    };
    let scenarios = generate_scenarios(s.config, s.scenarios as usize, s.seed)
        .map_err(|e| reject("parameters.scenario_ranges", e.to_string()))?;
    let loadings = CurveLoadings {
        tenors: KEY_TENORS_YEARS.to_vec(),
        loadings: calibration.rates.key_tenor_loadings.clone(),
    };
    let mut checkpoints: Vec<u32> = DRAWDOWN_DAYS
        .iter()
        .copied()
        .filter(|&d| d < s.horizon_days)
        .collect();
    checkpoints.push(s.horizon_days);

    // Every date an instrument is revalued at: the snapshot, the checkpoints, and a
    // year on (for carry).
    let mut revaluation_dates = vec![0.0];
    revaluation_dates.extend(
        checkpoints
            .iter()
            .map(|&d| f64::from(d) / BUSINESS_DAYS_PER_YEAR),
    );
    revaluation_dates.push(PROGRAM_TENOR);
    let desks_raw: [Vec<HedgeProgram>; 3] = [
        currency_programs(&book),
        rates_programs(&book),
        credit_programs(&book, s.config, &revaluation_dates),
    ];
    let mut instruments: Vec<Instrument> = Vec::new();
    let implied = snapshot_implied(&book);
    let revaluer = Revaluer {
        book: &book,
        loadings: &loadings,
        config: s.config,
    };
    let zeros = [0.0];
    let at_snapshot = PathMarket {
        s: 0.0,
        factors: [&zeros[..]; N_FACTORS],
        zeros: &zeros,
        implied: &implied,
        grids: [None; 7],
    };
    // A year on, nothing moved: spot FX and spreads as today, curves keeping their shape
    // in remaining time, implied vols as today. A program's loss on that path is its
    // carry (see `programs`).
    let one_year_on = PathMarket {
        s: PROGRAM_TENOR,
        ..at_snapshot
    };
    let assets = book.assets_usd;
    let desks = desks_raw.map(|progs| {
        progs
            .into_iter()
            .map(|mut program| {
                let mut inception = 0.0;
                let mut unchanged = 0.0;
                let legs = program
                    .legs
                    .iter()
                    .map(|(inst, n)| {
                        let i = match instruments.iter().position(|x| x == inst) {
                            Some(i) => i,
                            None => {
                                instruments.push(inst.clone());
                                instruments.len() - 1
                            }
                        };
                        let mut v = [0.0];
                        revaluer.instrument_values(inst, &at_snapshot, 1, &mut v);
                        inception += n * v[0];
                        revaluer.instrument_values(inst, &one_year_on, 1, &mut v);
                        unchanged += n * v[0];
                        (i, *n)
                    })
                    .collect();
                program.carry_bp = -(unchanged - inception) / assets * 1e4;
                DeskProgram {
                    program,
                    legs,
                    inception_value: inception,
                }
            })
            .collect()
    });
    Ok((
        EvalModel {
            book,
            config: s.config.clone(),
            calibration,
            loadings,
            instruments,
            desks,
            seed: s.seed,
            paths: s.paths,
            horizon_days: s.horizon_days,
            checkpoints,
            funded_ratio_floor: s.funded_ratio_floor,
            max_funding_ratio_vol: s.max_funding_ratio_vol,
            terciles: VolTerciles::of_design(&scenarios),
        },
        scenarios,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::tests::seed;

    fn model() -> EvalModel {
        let cfg = ScenarioConfig::default();
        prepare(
            &seed(),
            &RunSettings {
                scenarios: 12,
                paths: 100,
                horizon_days: 252,
                funded_ratio_floor: 0.85,
                max_funding_ratio_vol: 0.08,
                config: &cfg,
                seed: 3,
            },
            None,
        )
        .unwrap()
        .0
    }

    /// A forward's carry on an unchanged market is its forward points: buying a unit at F
    /// when spot stays at S loses F − S.
    #[test]
    fn forward_programs_carry_their_forward_points() {
        let m = model();
        let b = &m.book;
        for p in &m.desks[0] {
            if p.program.label.contains('+') || p.legs.is_empty() {
                continue;
            }
            let points: f64 = p
                .legs
                .iter()
                .map(|&(i, n)| match &m.instruments[i] {
                    Instrument::FxForward {
                        currency, strike, ..
                    } => n * (strike - b.market.fx_spot[currency.index()]),
                    other => panic!("{other:?}"),
                })
                .sum();
            let expected = points / b.assets_usd * 1e4;
            assert!(
                (p.program.carry_bp - expected).abs() < 1e-9,
                "{}: {} vs {expected}",
                p.program.label,
                p.program.carry_bp
            );
            assert!(
                p.inception_value.abs() < 1e-6 * b.assets_usd,
                "struck at the forward: worth nothing today"
            );
        }
    }

    /// A par receiver swap a year on, the curve unchanged in remaining time: it has paid
    /// the first period (fixed − fixing) and is a swap one year shorter at the old rate.
    #[test]
    fn swap_carry_is_the_first_period_plus_roll_down() {
        let m = model();
        let b = &m.book;
        let usd = b.market.curve(Currency::USD);
        let (i, swap) = m
            .instruments
            .iter()
            .enumerate()
            .find(|(_, x)| {
                matches!(
                    x,
                    Instrument::Swap {
                        currency: Currency::USD,
                        years: 10,
                        ..
                    }
                )
            })
            .expect("a USD 10y swap in the strip");
        let Instrument::Swap {
            fixed_rate,
            years,
            first_fixing,
            ..
        } = swap.clone()
        else {
            unreachable!()
        };
        let after: f64 = (2..=years)
            .map(|k| fixed_rate * usd.discount(f64::from(k) - 1.0))
            .sum::<f64>()
            + usd.discount(f64::from(years) - 1.0)
            - 1.0
            + (fixed_rate - first_fixing);
        let r = Revaluer {
            book: b,
            loadings: &m.loadings,
            config: &m.config,
        };
        let zeros = [0.0];
        let implied = snapshot_implied(b);
        let mk = |s| PathMarket {
            s,
            factors: [&zeros[..]; N_FACTORS],
            zeros: &zeros,
            implied: &implied,
            grids: [None; 7],
        };
        let (mut v0, mut v1) = ([0.0], [0.0]);
        r.instrument_values(&m.instruments[i], &mk(0.0), 1, &mut v0);
        r.instrument_values(&m.instruments[i], &mk(1.0), 1, &mut v1);
        assert!(v0[0].abs() < 1e-14, "par at inception: {}", v0[0]);
        assert!((v1[0] - after).abs() < 1e-13, "{} vs {after}", v1[0]);
    }

    #[test]
    fn every_program_leg_points_at_an_instrument_and_costs_are_finite() {
        let m = model();
        assert_eq!(m.combos(), m.desks.iter().map(Vec::len).product::<usize>());
        for d in &m.desks {
            assert!(d[0].legs.is_empty(), "index 0 is no hedge");
            for p in d {
                assert!(p.program.cost_bp().is_finite());
                assert!(p
                    .legs
                    .iter()
                    .all(|&(i, n)| i < m.instruments.len() && n.is_finite()));
            }
        }
    }
}
