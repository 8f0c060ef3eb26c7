//! The prepare step: the book, the calibrated market models, the scenario set and the
//! desks' candidate programs, built once per run and handed to every partition.

use crate::book::{prepare_book, PensionBook};
use crate::calibration::{calibrate, CalibrationInputs, KEY_TENORS_YEARS};
use crate::evaluate::{DeskProgram, EvalModel, DRAWDOWN_DAYS};
use crate::factors::{Currency, N_FACTORS};
use crate::programs::{
    credit_programs, currency_programs, rates_programs, HedgeProgram, PROGRAM_TENOR,
};
use crate::scenarios::{generate_scenarios, ScenarioConfig, ScenarioSpec};
use crate::valuation::{CurveLoadings, ImpliedVols, Instrument, PathMarket, Revaluer};
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
    pub config: &'a ScenarioConfig,
    pub seed: u64,
}

/// Model and scenarios from a parsed portfolio.
pub fn prepare(
    portfolio: &Portfolio,
    s: &RunSettings,
) -> Result<(EvalModel, Vec<ScenarioSpec>), Rejection> {
    let book = prepare_book(portfolio)?;
    let calibration = calibrate(&CalibrationInputs::bundled())
        .map_err(|e| reject("calibration", e.to_string()))?;
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

    let desks_raw: [Vec<HedgeProgram>; 3] = [
        currency_programs(&book),
        rates_programs(&book),
        credit_programs(&book, s.config),
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
        },
        scenarios,
    ))
}
