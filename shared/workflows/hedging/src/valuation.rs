//! Full revaluation of the pension and of every hedge instrument on Monte Carlo paths.
//!
//! At a revaluation date `s` (a checkpoint of the path engine, in years of 252 business
//! days) each path carries the factor values of [`crate::factors`]: FX log changes,
//! curve scores, credit log-spread changes, equity log returns. From them:
//! - FX spots: S = S₀·e^x; curves (USD, EUR, GBP): the snapshot zero rate of the
//!   remaining time plus Σ score_k·loading_k(remaining time) — i.e. the curve keeps its
//!   shape in *remaining* time (roll-down) and moves by the scenario's principal
//!   components. JPY, CHF, AUD and CAD curves only roll down (no rate factors; they enter
//!   through FX forwards' interest differential only).
//! - Credit spreads: s = s₀·e^{β·x} with x the IG or HY factor and β the position's
//!   spread beta (its rating's and sector's spread volatility over the factor's).
//! - Every cash flow still to come is discounted on the moved curve (plus the moved
//!   spread); flows due by `s` are paid: coupons and swap settlements into cash (not
//!   reinvested: over a one-year horizon the omitted interest is second order), benefit
//!   payments out of the assets.
//!
//! Instruments are valued per unit of notional; a hedge program is a list of
//! (instrument, notional), so its value on a path is a dot product — the same paths for
//! every program (common random numbers) and no re-pricing per program.

use crate::book::{interpolate_flat, CashFlows, Curve, PensionBook, Rating, Sector};
use crate::factors::{Currency, RiskFactor, N_FACTORS};
use crate::kernels::{exp, fill_grid, DfGrid, DiscountNodes, FlatTail};
use crate::scenarios::ScenarioConfig;
use serde::{Deserialize, Serialize};

/// Business days per year: a checkpoint day `d` is `d/252` years after the snapshot.
pub const BUSINESS_DAYS_PER_YEAR: f64 = 252.0;

/// Loadings of the three curve components at key tenors (from the calibration's PCA):
/// a score x_k moves the zero rate at tenor τ by x_k·loading_k(τ), linear between key
/// tenors and flat outside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveLoadings {
    pub tenors: Vec<f64>,
    pub loadings: [Vec<f64>; 3],
}

impl CurveLoadings {
    pub fn at(&self, t: f64) -> [f64; 3] {
        [0, 1, 2].map(|k| interpolate_flat(&self.tenors, &self.loadings[k], t))
    }
}

/// The reference entity of a CDS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CreditReference {
    /// The investment-grade index (CDX IG-like), its spread moving with the IG factor.
    IgIndex,
    /// One issuer: its rating's factor, scaled by its spread beta.
    Name {
        issuer: String,
        rating: Rating,
        sector: Sector,
    },
}

/// One hedge instrument, per unit of notional. Notionals are in the instrument's own
/// currency (foreign units for FX); a positive notional is the hedger's natural side:
/// buys the foreign currency forward, owns the option, receives fixed, owns the
/// swaption, buys protection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Instrument {
    /// Buy one unit of `currency` at `strike` USD on `maturity` (years).
    FxForward {
        currency: Currency,
        strike: f64,
        maturity: f64,
    },
    /// Garman–Kohlhagen European option on one unit of `currency`, strike in USD.
    FxOption {
        currency: Currency,
        call: bool,
        strike: f64,
        maturity: f64,
    },
    /// Receive `fixed_rate` annually against annual floating for `years` years; the
    /// first period's fixing is the snapshot's one-year rate.
    Swap {
        currency: Currency,
        fixed_rate: f64,
        years: u32,
        first_fixing: f64,
    },
    /// European swaption (Bachelier) into a `tenor`-year annual swap at `strike`,
    /// physically settled at `expiry` (years).
    Swaption {
        currency: Currency,
        receiver: bool,
        strike: f64,
        expiry: f64,
        tenor: u32,
    },
    /// Buy protection paying a running `coupon` quarterly until `maturity`, recovery
    /// `recovery`; the spread is `spread0·e^{β·x}`.
    Cds {
        reference: CreditReference,
        spread0: f64,
        spread_beta: f64,
        coupon: f64,
        maturity: f64,
        recovery: f64,
    },
    /// Buy protection on a tranche of the IG index.
    Tranche(TrancheHedge),
}

/// Protection on a tranche of the investment-grade index under the one-factor Gaussian
/// copula (Li 2000) with a large homogeneous pool (Vasicek), the pool's flat hazard
/// implied from the index spread by the credit triangle. Per path the value is read off
/// a grid in the IG factor x (the index log-spread change) built at each revaluation
/// date by the pricing crate ([`stresslab_pricing::tranche`]) — full revaluation at the
/// grid's nodes, linear in between (interpolation error tested). Rates moves are not
/// passed to the tranche (the snapshot USD curve discounts it): a second-order effect
/// on a spread hedge, stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrancheHedge {
    pub attachment: f64,
    pub detachment: f64,
    /// Index spread at the snapshot.
    pub index_spread: f64,
    /// Running premium paid, the tranche's fair spread at the snapshot.
    pub coupon: f64,
    pub maturity: f64,
    pub recovery: f64,
    /// Flat (base) correlation of the copula.
    pub correlation: f64,
    pub grid: TrancheGrid,
}

/// Tranche value per unit notional (protection leg − coupon × RPV01, before paid
/// premiums) at `dates` × log-spread changes `x`, row-major by date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrancheGrid {
    pub dates: Vec<f64>,
    pub x: Vec<f64>,
    pub values: Vec<f64>,
}

impl TrancheGrid {
    /// Linear interpolation in x at an exact grid date; x clamped to the grid.
    pub fn value(&self, date: usize, x: f64) -> f64 {
        let row = &self.values[date * self.x.len()..(date + 1) * self.x.len()];
        interpolate_flat(&self.x, row, x)
    }
}

impl Instrument {
    pub fn currency(&self) -> Currency {
        match self {
            Instrument::FxForward { .. } | Instrument::FxOption { .. } => Currency::USD,
            Instrument::Swap { currency, .. } | Instrument::Swaption { currency, .. } => *currency,
            Instrument::Cds { .. } | Instrument::Tranche(_) => Currency::USD,
        }
    }
}

/// The standard normal CDF, branch-free for SIMD lanes: 1 − ½·erfc(x/√2) with erfc from
/// the Chebyshev fit of Press et al., *Numerical Recipes* (2nd ed., §6.2, `erfcc`),
/// fractional error below 1.2e-7 everywhere — an option value error below 1e-7 of its
/// notional, far inside the Monte Carlo error.
#[inline(always)]
pub fn norm_cdf(x: f64) -> f64 {
    let z = (x * std::f64::consts::FRAC_1_SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * exp(poly);
    let upper = 0.5 * erfc;
    if x >= 0.0 {
        1.0 - upper
    } else {
        upper
    }
}

#[inline(always)]
pub fn norm_pdf(x: f64) -> f64 {
    0.398_942_280_401_432_7 * exp(-0.5 * x * x)
}

/// Per-path market state at one revaluation date: slices over the same paths.
pub struct PathMarket<'a> {
    /// Years since the snapshot.
    pub s: f64,
    /// Factor values at this date: `factors[f.index()][p]`.
    pub factors: [&'a [f64]; N_FACTORS],
    /// As many zeros as paths: the scores of curves without factors.
    pub zeros: &'a [f64],
    /// Scenario implied vols used for option revaluation.
    pub implied: &'a ImpliedVols,
    /// Whole-year discount factors per currency at this date, where built.
    pub grids: [Option<&'a DfGrid>; 7],
}

/// The implied volatilities options are revalued with in one scenario: the scenario's
/// own volatility levels (a scenario of doubled volatility prices options at doubled
/// volatility).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImpliedVols {
    /// Per currency against the USD (index [`Currency::index`]; USD unused).
    pub fx: [f64; 7],
    /// Normal (Bachelier) rate vol per currency, decimal a year.
    pub rates_normal: [f64; 7],
}

impl<'a> PathMarket<'a> {
    pub fn factor(&self, f: RiskFactor) -> &'a [f64] {
        self.factors[f.index()]
    }

    /// Curve scores of a currency (zeros for curves without factors).
    pub fn scores(&self, c: Currency) -> [&'a [f64]; 3] {
        use crate::factors::CurveComponent::*;
        [Level, Slope, Curvature].map(|k| match RiskFactor::rates(c, k) {
            Some(f) => self.factors[f.index()],
            None => self.zeros,
        })
    }
}

/// Everything revaluation needs that does not depend on the paths: the book, its
/// curves and the curve loadings.
pub struct Revaluer<'a> {
    pub book: &'a PensionBook,
    pub loadings: &'a CurveLoadings,
    pub config: &'a ScenarioConfig,
}

/// Per-path values of the pension at one date (USD).
#[derive(Debug, Clone, Default)]
pub struct BookValues {
    /// Assets after benefit payments due by the date.
    pub assets: Vec<f64>,
    /// Present value of the benefits still to pay.
    pub liabilities: Vec<f64>,
    /// Per foreign currency: net local exposure (assets − liabilities, local units) —
    /// what the FX translation P&L is measured on.
    pub net_local: [Vec<f64>; 7],
    /// Credit bonds' value change from their spreads alone (USD at snapshot FX).
    pub credit_item: Vec<f64>,
    /// Equities' local-currency gain (USD at snapshot FX).
    pub equity_item: Vec<f64>,
}

impl<'a> Revaluer<'a> {
    fn curve(&self, c: Currency) -> &Curve {
        self.book.market.curve(c)
    }

    /// The whole-year discount grid of currency `c` at date `m.s` (see [`DfGrid`]).
    pub fn fill_grid(&self, c: Currency, m: &PathMarket, n: usize, k_max: u32, grid: &mut DfGrid) {
        let curve = self.curve(c);
        fill_grid(grid, m.scores(c), n, k_max, m.s, |t| {
            (curve.zero(t) + 0.0, self.loadings.at(t))
        });
    }

    /// Discount nodes of `flows` (plus a fixed spread) still to come after `s`, and the
    /// sum of the amounts already due.
    pub fn nodes(
        &self,
        c: Currency,
        flows: &CashFlows,
        spread: f64,
        s: f64,
        scale: f64,
    ) -> (DiscountNodes, f64) {
        let mut nodes = DiscountNodes::default();
        let mut paid = 0.0;
        let curve = self.curve(c);
        for (&t, &a) in flows.times.iter().zip(&flows.amounts) {
            let rem = t - s;
            if rem <= 1e-12 {
                paid += a * scale;
            } else {
                // A whole-year flow without spread can be read off the date's grid.
                let year = if spread == 0.0 && t.fract() == 0.0 && t >= 1.0 {
                    t as u32
                } else {
                    0
                };
                nodes.push_on_grid(
                    a * scale,
                    rem,
                    curve.zero(rem) + spread,
                    self.loadings.at(rem),
                    year,
                );
            }
        }
        (nodes, paid)
    }

    /// Where `c`'s curve and the loadings are both flat: past the last pillar and the
    /// last key tenor.
    fn flat_from(&self, c: Currency) -> f64 {
        let last = |v: &[f64]| v.last().copied().unwrap_or(0.0);
        last(&self.curve(c).tenors).max(last(&self.loadings.tenors))
    }

    /// The benefits of `c` still to pay after `s`, discounted at the liability spread:
    /// the nodes up to the curve's flat region, the flows a year apart within it as a
    /// [`FlatTail`], and the sum of the benefits already due.
    pub fn liability_nodes(
        &self,
        c: Currency,
        flows: &CashFlows,
        s: f64,
    ) -> (DiscountNodes, FlatTail, f64) {
        let spread = self.book.liability_spread;
        let flat = self.flat_from(c);
        let (times, amounts) = (&flows.times, &flows.amounts);
        // The longest suffix of flows within the flat region, a year apart.
        let mut start = times.len();
        while start > 0 {
            let j = start - 1;
            let flat_here = times[j] - s >= flat && times[j] - s > 1e-12;
            let spaced = start == times.len() || times[start] - times[j] == 1.0;
            if !(flat_here && spaced) {
                break;
            }
            start = j;
        }
        let head = CashFlows {
            times: times[..start].to_vec(),
            amounts: amounts[..start].to_vec(),
        };
        let (nodes, paid) = self.nodes(c, &head, spread, s, 1.0);
        let tail = match times.get(start) {
            Some(&t) => {
                let t0 = t - s;
                FlatTail {
                    t0,
                    base: self.curve(c).zero(t0) + spread,
                    load: self.loadings.at(t0),
                    amounts: amounts[start..].to_vec(),
                }
            }
            None => FlatTail::default(),
        };
        (nodes, tail, paid)
    }

    /// The last whole year a liability flow of any currency is read off a discount grid
    /// at a date up to `s_max` (later flows are in the flat tail, see
    /// [`liability_nodes`](Self::liability_nodes)).
    pub fn liability_grid_years(&self, s_max: f64) -> u32 {
        Currency::ALL
            .iter()
            .flat_map(|&c| {
                let flat = self.flat_from(c);
                self.book.liabilities[c.index()]
                    .times
                    .iter()
                    .filter(move |&&t| t - s_max < flat)
                    .map(|t| t.ceil() as u32)
            })
            .max()
            .unwrap_or(0)
    }

    /// Values of the book on every path at date `m.s`.
    /// `items`: also split out the credit bonds' spread-only P&L (`credit_item`, for the
    /// effectiveness regressions at the horizon; it costs a second valuation of them).
    pub fn book_values(
        &self,
        m: &PathMarket,
        n: usize,
        out: &mut BookValues,
        work: &mut Vec<f64>,
        items: bool,
    ) {
        let b = self.book;
        let fx0 = b.market.fx_spot;
        out.assets.clear();
        out.assets.resize(n, 0.0);
        out.liabilities.clear();
        out.liabilities.resize(n, 0.0);
        out.credit_item.clear();
        out.credit_item.resize(n, 0.0);
        out.equity_item.clear();
        out.equity_item.resize(n, 0.0);
        for v in out.net_local.iter_mut() {
            v.clear();
            v.resize(n, 0.0);
        }
        // Local values per currency first, then one conversion per currency.
        let mut local = vec![0.0; n];
        for c in Currency::ALL {
            local.iter_mut().for_each(|x| *x = 0.0);
            let mut liab_local = vec![0.0; n];
            let mut any = false;
            for e in b.equities.iter().filter(|e| e.currency == c) {
                let r = m.factor(e.factor);
                for p in 0..n {
                    let v = e.value_local * exp(r[p]);
                    local[p] += v;
                    out.equity_item[p] += (v - e.value_local) * fx0[c.index()];
                }
                any = true;
            }
            if b.cash[c.index()] != 0.0 {
                local.iter_mut().for_each(|x| *x += b.cash[c.index()]);
                any = true;
            }
            let sc = m.scores(c);
            for bond in b.bonds.iter().filter(|x| x.currency == c) {
                any = true;
                let (nodes, paid) =
                    self.nodes(c, &bond.flows_per_face, bond.spread, m.s, bond.face);
                match &bond.credit {
                    None => nodes.accumulate_with(sc, None, &mut local, m.grids[c.index()]),
                    Some(cr) => {
                        let beta = credit_beta(self.config, cr.rating, cr.sector);
                        let x = m.factor(cr.rating.factor());
                        work.clear();
                        work.extend(x.iter().map(|&x| bond.spread * (exp(beta * x) - 1.0)));
                        let mut moved = vec![0.0; n];
                        nodes.accumulate(sc, Some(work), &mut moved);
                        if items {
                            let mut unmoved = vec![0.0; n];
                            nodes.accumulate_with(sc, None, &mut unmoved, m.grids[c.index()]);
                            for p in 0..n {
                                out.credit_item[p] += (moved[p] - unmoved[p]) * fx0[c.index()];
                            }
                        }
                        for p in 0..n {
                            local[p] += moved[p];
                        }
                    }
                }
                local.iter_mut().for_each(|x| *x += paid);
            }
            let flows = &b.liabilities[c.index()];
            if !flows.times.is_empty() {
                any = true;
                let (nodes, tail, paid) = self.liability_nodes(c, flows, m.s);
                nodes.accumulate_with(sc, None, &mut liab_local, m.grids[c.index()]);
                tail.accumulate(sc, &mut liab_local);
                local.iter_mut().for_each(|x| *x -= paid);
            }
            if !any {
                continue;
            }
            let fx: Vec<f64> = match RiskFactor::fx(c) {
                None => vec![1.0; n],
                Some(f) => m
                    .factor(f)
                    .iter()
                    .map(|&x| fx0[c.index()] * exp(x))
                    .collect(),
            };
            for p in 0..n {
                out.assets[p] += local[p] * fx[p];
                out.liabilities[p] += liab_local[p] * fx[p];
                out.net_local[c.index()][p] = local[p] - liab_local[p];
            }
        }
    }

    /// Values (USD) of one unit of `inst` on every path at date `m.s`, written to `out`.
    pub fn instrument_values(&self, inst: &Instrument, m: &PathMarket, n: usize, out: &mut [f64]) {
        let b = self.book;
        let fx0 = b.market.fx_spot;
        let s = m.s;
        let out = &mut out[..n];
        match inst {
            Instrument::FxForward {
                currency,
                strike,
                maturity,
            } => {
                let c = *currency;
                let tau = (maturity - s).max(0.0);
                let x =
                    m.factor(RiskFactor::fx(c).expect("FX instruments are on foreign currencies"));
                let x = &x[..n];
                let df_d = self.path_discount(Currency::USD, tau, m, n);
                let df_f = self.path_discount(c, tau, m, n);
                let (df_d, df_f) = (&df_d[..n], &df_f[..n]);
                for p in 0..n {
                    let spot = fx0[c.index()] * exp(x[p]);
                    out[p] = spot * df_f[p] - strike * df_d[p];
                }
            }
            Instrument::FxOption {
                currency,
                call,
                strike,
                maturity,
            } => {
                let c = *currency;
                let tau = (maturity - s).max(0.0);
                let x =
                    m.factor(RiskFactor::fx(c).expect("FX instruments are on foreign currencies"));
                let x = &x[..n];
                let vol = m.implied.fx[c.index()];
                let sd = vol * tau.sqrt();
                // ln(S·DF_f / (K·DF_d)) = ln(S₀/K) + x − τ·(z_f − z_d) on the moved curves:
                // no logarithm per path (a libm call would stop vectorisation).
                let (zd0, zf0) = (self.curve(Currency::USD).zero(tau), self.curve(c).zero(tau));
                let l = self.loadings.at(tau);
                let (sd_, sf_) = (m.scores(Currency::USD), m.scores(c));
                let sd_ = sd_.map(|v| &v[..n]);
                let sf_ = sf_.map(|v| &v[..n]);
                let log_moneyness0 = (fx0[c.index()] / strike).ln();
                for p in 0..n {
                    let zd = zd0 + sd_[0][p] * l[0] + sd_[1][p] * l[1] + sd_[2][p] * l[2];
                    let zf = zf0 + sf_[0][p] * l[0] + sf_[1][p] * l[1] + sf_[2][p] * l[2];
                    let (df_d, df_f) = (exp(-tau * zd), exp(-tau * zf));
                    let spot = fx0[c.index()] * exp(x[p]);
                    out[p] = if sd <= 1e-12 {
                        let intrinsic = if *call { spot - strike } else { strike - spot };
                        intrinsic.max(0.0) * df_d
                    } else {
                        let lm = log_moneyness0 + x[p] - tau * (zf - zd);
                        garman_kohlhagen_log(*call, spot * df_f, strike * df_d, lm, sd)
                    };
                }
            }
            Instrument::Swap { currency, .. } | Instrument::Swaption { currency, .. } => {
                let fxs = self.fx_path(*currency, m, n);
                self.rates_values(inst, m, n, &fxs, out);
            }
            Instrument::Tranche(t) => {
                let x = m.factor(RiskFactor::CreditIg);
                let x = &x[..n];
                let date = t
                    .grid
                    .dates
                    .iter()
                    .position(|d| (d - s).abs() < 1e-12)
                    .expect("tranche grids are built at every revaluation date");
                let paid = t.coupon * 0.25 * (s / 0.25 + 1e-9).floor();
                for p in 0..n {
                    out[p] = t.grid.value(date, x[p]) - paid;
                }
            }
            Instrument::Cds { .. } => {
                self.cds_values(inst, m, n, &mut Vec::new(), out);
            }
        }
    }

    /// A CDS bought (USD per unit of notional). Flat hazard λ = S/(1 − R) (the credit
    /// triangle) from the moved spread S = S₀·e^{β·x}; the protection buyer's value is
    /// (S − coupon)·RPV01 with RPV01 = Σ_q Δ·DF(t_q)·e^{−λ t_q} over the remaining
    /// quarterly dates, less the premiums already paid (no default is simulated: spread
    /// risk only).
    ///
    /// Per path the USD discount factors DF(t_q) are the same for every CDS
    /// (`discounts`: one row per remaining date, shared across the CDS of a date), and
    /// e^{−λ t_q} = e^{−λ t_first}·(e^{−λΔ})^k: three exponentials per path and CDS
    /// instead of one per quarterly date. The product and the powers differ from
    /// e^{−(z+λ)t} by rounding only (≤ ~1e-14 relative, tested against the pricing
    /// crate's discount and survival curves).
    fn cds_values(
        &self,
        inst: &Instrument,
        m: &PathMarket,
        n: usize,
        discounts: &mut Vec<(u64, Vec<f64>)>,
        out: &mut [f64],
    ) {
        let Instrument::Cds {
            reference,
            spread0,
            spread_beta,
            coupon,
            maturity,
            recovery,
        } = inst
        else {
            unreachable!("cds_values is called with CDS only")
        };
        const ACCRUAL: f64 = 0.25;
        let factor = match reference {
            CreditReference::IgIndex => RiskFactor::CreditIg,
            CreditReference::Name { rating, .. } => rating.factor(),
        };
        let x = &m.factor(factor)[..n];
        let out = &mut out[..n];
        let mut q = CashFlows::default();
        let mut t = ACCRUAL;
        while t <= maturity + 1e-9 {
            q.times.push(t);
            q.amounts.push(ACCRUAL);
            t += ACCRUAL;
        }
        let (nodes, paid_accruals) = self.nodes(Currency::USD, &q, 0.0, m.s, 1.0);
        let spread: Vec<f64> = x.iter().map(|&x| spread0 * exp(spread_beta * x)).collect();
        out.iter_mut().for_each(|v| *v = 0.0);
        if let Some(&t_first) = nodes.t.first() {
            // e^{−λ t} at the first remaining date, and the factor from one date to the next.
            let mut survival: Vec<f64> = spread
                .iter()
                .map(|s| exp(-t_first * (s / (1.0 - recovery))))
                .collect();
            let step: Vec<f64> = spread
                .iter()
                .map(|s| exp(-ACCRUAL * (s / (1.0 - recovery))))
                .collect();
            for j in 0..nodes.len() {
                let df = self.node_discount(&nodes, j, m, n, discounts);
                let a = nodes.amount[j];
                for p in 0..n {
                    out[p] += a * (df[p] * survival[p]);
                    survival[p] *= step[p];
                }
            }
        }
        for p in 0..n {
            out[p] = out[p] * (spread[p] - coupon) - coupon * paid_accruals;
        }
    }

    /// Per path, the discount factor of node `j` of `nodes` (no path spread) on the
    /// moved USD curve: off the date's grid for a whole year, else computed once per date
    /// and kept in `cache` (keyed by the node's remaining time).
    fn node_discount<'c>(
        &self,
        nodes: &DiscountNodes,
        j: usize,
        m: &'c PathMarket,
        n: usize,
        cache: &'c mut Vec<(u64, Vec<f64>)>,
    ) -> &'c [f64] {
        if let Some(row) = m.grids[Currency::USD.index()].and_then(|g| g.row(nodes.grid_year[j])) {
            return &row[..n];
        }
        let key = nodes.t[j].to_bits();
        let i = match cache.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let (t, b) = (nodes.t[j], nodes.base[j]);
                let l = [nodes.load[0][j], nodes.load[1][j], nodes.load[2][j]];
                let sc = m.scores(Currency::USD);
                let (x0, x1, x2) = (&sc[0][..n], &sc[1][..n], &sc[2][..n]);
                let row = (0..n)
                    .map(|p| exp(-t * (b + x0[p] * l[0] + x1[p] * l[1] + x2[p] * l[2])))
                    .collect();
                cache.push((key, row));
                cache.len() - 1
            }
        };
        &cache[i].1
    }

    /// Values (USD) of one unit of every instrument of `instruments` on every path at
    /// date `m.s`: instrument i's values are `out[i·n..(i + 1)·n]`. The same numbers as
    /// [`instrument_values`](Self::instrument_values) instrument by instrument (tested
    /// bit for bit), but what instruments share is computed once per date: the FX spot
    /// of a currency (forwards, options, swaps and swaptions translate with it) and an
    /// FX expiry's two discount factors and interest differential (every forward and
    /// option of a currency and maturity), which leaves an option two exponentials (its
    /// two Φ) per path instead of five.
    pub fn instrument_set_values(
        &self,
        instruments: &[Instrument],
        m: &PathMarket,
        n: usize,
        out: &mut Vec<f64>,
    ) {
        out.clear();
        out.resize(instruments.len() * n, 0.0);
        if n == 0 {
            return;
        }
        let mut spots: [Option<Vec<f64>>; 7] = Default::default();
        let mut fx_legs: Vec<FxLegs> = Vec::new();
        let mut cds_discounts = Vec::new();
        for (inst, out) in instruments.iter().zip(out.chunks_exact_mut(n)) {
            match inst {
                Instrument::FxForward {
                    currency,
                    strike,
                    maturity,
                } => {
                    let legs = self.fx_legs(&mut fx_legs, &mut spots, *currency, *maturity, m, n);
                    legs.forward_values(*strike, out);
                }
                Instrument::FxOption {
                    currency,
                    call,
                    strike,
                    maturity,
                } => {
                    let c = *currency;
                    let spot0 = self.book.market.fx_spot[c.index()];
                    let vol = m.implied.fx[c.index()];
                    let legs = self.fx_legs(&mut fx_legs, &mut spots, c, *maturity, m, n);
                    legs.option_values(*call, *strike, spot0, vol, m.factor(fx_factor(c)), out);
                }
                Instrument::Swap { currency, .. } | Instrument::Swaption { currency, .. } => {
                    let fxs = spot_path(&mut spots, self.book, *currency, m, n);
                    self.rates_values(inst, m, n, fxs, out);
                }
                Instrument::Cds { .. } => {
                    self.cds_values(inst, m, n, &mut cds_discounts, out);
                }
                Instrument::Tranche(_) => {
                    self.instrument_values(inst, m, n, out);
                }
            }
        }
    }

    /// The FX legs of (`c`, `maturity`) at date `m.s`, computed on first use.
    fn fx_legs<'l>(
        &self,
        cache: &'l mut Vec<FxLegs>,
        spots: &mut [Option<Vec<f64>>; 7],
        c: Currency,
        maturity: f64,
        m: &PathMarket,
        n: usize,
    ) -> &'l FxLegs {
        let found = cache
            .iter()
            .position(|l| l.currency == c && l.maturity.to_bits() == maturity.to_bits());
        let i = match found {
            Some(i) => i,
            None => {
                let spot = spot_path(spots, self.book, c, m, n).to_vec();
                cache.push(self.build_fx_legs(c, maturity, spot, m, n));
                cache.len() - 1
            }
        };
        &cache[i]
    }

    fn build_fx_legs(
        &self,
        c: Currency,
        maturity: f64,
        spot: Vec<f64>,
        m: &PathMarket,
        n: usize,
    ) -> FxLegs {
        let tau = (maturity - m.s).max(0.0);
        let df_d = self.path_discount(Currency::USD, tau, m, n);
        let df_f = self.path_discount(c, tau, m, n);
        // τ·(z_f − z_d) on the moved curves, exactly as the option loop of
        // `instrument_values` forms it (same operations, same order: same bits).
        let (zd0, zf0) = (self.curve(Currency::USD).zero(tau), self.curve(c).zero(tau));
        let l = self.loadings.at(tau);
        let (sd_, sf_) = (m.scores(Currency::USD), m.scores(c));
        let (d0, d1, d2) = (&sd_[0][..n], &sd_[1][..n], &sd_[2][..n]);
        let (f0, f1, f2) = (&sf_[0][..n], &sf_[1][..n], &sf_[2][..n]);
        let carry = (0..n)
            .map(|p| {
                let zd = zd0 + d0[p] * l[0] + d1[p] * l[1] + d2[p] * l[2];
                let zf = zf0 + f0[p] * l[0] + f1[p] * l[1] + f2[p] * l[2];
                tau * (zf - zd)
            })
            .collect();
        FxLegs {
            currency: c,
            maturity,
            tau,
            spot,
            df_d,
            df_f,
            carry,
        }
    }

    /// Swaps and swaptions (USD per unit): `fxs` is the currency's USD value per path.
    fn rates_values(
        &self,
        inst: &Instrument,
        m: &PathMarket,
        n: usize,
        fxs: &[f64],
        out: &mut [f64],
    ) {
        let s = m.s;
        let out = &mut out[..n];
        let fxs = &fxs[..n];
        match inst {
            Instrument::Swap {
                currency,
                fixed_rate,
                years,
                first_fixing,
            } => {
                let c = *currency;
                let sc = m.scores(c);
                // Receiver: fixed coupons and the final notional, minus the floating leg
                // with its notional, worth (1 + fixing)·DF(next reset) between resets.
                let mut flows = CashFlows::default();
                for i in 1..=*years {
                    flows.times.push(i as f64);
                    flows
                        .amounts
                        .push(fixed_rate + if i == *years { 1.0 } else { 0.0 });
                }
                let (nodes, paid_fixed) = self.nodes(c, &flows, 0.0, s, 1.0);
                out.iter_mut().for_each(|x| *x = 0.0);
                nodes.accumulate_with(sc, None, out, m.grids[c.index()]);
                // The first period [0, 1]: its floating payment 1 + fixing at t = 1
                // (notional included), or, once paid, the floating leg resets to par.
                let float = CashFlows {
                    times: vec![1.0],
                    amounts: vec![1.0 + first_fixing],
                };
                let (fnodes, paid_float) = self.nodes(c, &float, 0.0, s, 1.0);
                let mut fl = vec![0.0; n];
                fnodes.accumulate_with(sc, None, &mut fl, m.grids[c.index()]);
                // After the first reset (s ≥ 1) the floating leg plus notional is worth
                // par; the first period's settlement (fixed coupon − fixing) was paid.
                let after_reset = if fnodes.is_empty() { 1.0 } else { 0.0 };
                let settled = paid_fixed
                    - if fnodes.is_empty() {
                        paid_float - 1.0
                    } else {
                        0.0
                    };
                for p in 0..n {
                    out[p] = (out[p] - fl[p] - after_reset + settled) * fxs[p];
                }
            }
            Instrument::Swaption {
                currency,
                receiver,
                strike,
                expiry,
                tenor,
            } => {
                let c = *currency;
                let sc = m.scores(c);
                let to_expiry = expiry - s;
                // Annuity and forward swap rate from the moved curve: A = Σ DF(T_e + i),
                // F = (DF(T_e) − DF(T_e + tenor)) / A (single curve, annual fixed leg).
                let mut ann = CashFlows::default();
                for i in 1..=*tenor {
                    ann.times.push(expiry + i as f64);
                    ann.amounts.push(1.0);
                }
                let (anodes, _) = self.nodes(c, &ann, 0.0, s, 1.0);
                let mut a = vec![0.0; n];
                anodes.accumulate_with(sc, None, &mut a, m.grids[c.index()]);
                let start = self.path_discount(c, to_expiry.max(0.0), m, n);
                let end = self.path_discount(c, expiry + *tenor as f64 - s, m, n);
                let vol = m.implied.rates_normal[c.index()];
                let sd = vol * to_expiry.max(0.0).sqrt();
                let (a, start, end) = (&a[..n], &start[..n], &end[..n]);
                for p in 0..n {
                    let f = (start[p] - end[p]) / a[p];
                    let w = if *receiver { strike - f } else { f - strike };
                    let v = if sd <= 1e-12 {
                        w.max(0.0) * a[p]
                    } else {
                        let d = w / sd;
                        a[p] * (w * norm_cdf(d) + sd * norm_pdf(d))
                    };
                    out[p] = v * fxs[p];
                }
            }
            _ => unreachable!("rates_values is called with swaps and swaptions only"),
        }
    }

    /// USD per unit of `c` on every path.
    fn fx_path(&self, c: Currency, m: &PathMarket, n: usize) -> Vec<f64> {
        let s0 = self.book.market.fx_spot[c.index()];
        match RiskFactor::fx(c) {
            None => vec![1.0; n],
            Some(f) => m.factor(f)[..n].iter().map(|&x| s0 * exp(x)).collect(),
        }
    }

    /// Discount factor for `tau` years on `c`'s moved curve, per path.
    fn path_discount(&self, c: Currency, tau: f64, m: &PathMarket, n: usize) -> Vec<f64> {
        let year = tau + m.s;
        if year.fract() == 0.0 && year >= 1.0 {
            if let Some(row) = m.grids[c.index()].and_then(|g| g.row(year as u32)) {
                return row[..n].to_vec();
            }
        }
        let z0 = self.curve(c).zero(tau);
        let l = self.loadings.at(tau);
        let sc = m.scores(c);
        (0..n)
            .map(|p| exp(-tau * (z0 + sc[0][p] * l[0] + sc[1][p] * l[1] + sc[2][p] * l[2])))
            .collect()
    }
}

/// Garman & Kohlhagen (1983) in forward form: `fwd_pv` = S·DF_f, `strike_pv` = K·DF_d,
/// `sd` = σ√τ.
#[inline(always)]
pub fn garman_kohlhagen(call: bool, fwd_pv: f64, strike_pv: f64, sd: f64) -> f64 {
    garman_kohlhagen_log(call, fwd_pv, strike_pv, (fwd_pv / strike_pv).ln(), sd)
}

/// [`garman_kohlhagen`] given `log_moneyness` = ln(fwd_pv / strike_pv).
#[inline(always)]
pub fn garman_kohlhagen_log(
    call: bool,
    fwd_pv: f64,
    strike_pv: f64,
    log_moneyness: f64,
    sd: f64,
) -> f64 {
    let d1 = (log_moneyness + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    if call {
        fwd_pv * norm_cdf(d1) - strike_pv * norm_cdf(d2)
    } else {
        strike_pv * norm_cdf(-d2) - fwd_pv * norm_cdf(-d1)
    }
}

fn fx_factor(c: Currency) -> RiskFactor {
    RiskFactor::fx(c).expect("FX instruments are on foreign currencies")
}

/// USD per unit of `c` on every path (as [`Revaluer::fx_path`]), computed once per date.
fn spot_path<'s>(
    spots: &'s mut [Option<Vec<f64>>; 7],
    book: &PensionBook,
    c: Currency,
    m: &PathMarket,
    n: usize,
) -> &'s [f64] {
    spots[c.index()].get_or_insert_with(|| {
        let s0 = book.market.fx_spot[c.index()];
        match RiskFactor::fx(c) {
            None => vec![1.0; n],
            Some(f) => m.factor(f)[..n].iter().map(|&x| s0 * exp(x)).collect(),
        }
    })
}

/// What every FX forward and option of one currency and maturity shares at a date, per
/// path: the spot, the USD and foreign discount factors to expiry, and τ·(z_f − z_d).
struct FxLegs {
    currency: Currency,
    maturity: f64,
    tau: f64,
    spot: Vec<f64>,
    df_d: Vec<f64>,
    df_f: Vec<f64>,
    carry: Vec<f64>,
}

impl FxLegs {
    /// Buy one unit forward at `strike`: S·DF_f − K·DF_d.
    fn forward_values(&self, strike: f64, out: &mut [f64]) {
        let n = out.len();
        let (spot, df_d, df_f) = (&self.spot[..n], &self.df_d[..n], &self.df_f[..n]);
        for p in 0..n {
            out[p] = spot[p] * df_f[p] - strike * df_d[p];
        }
    }

    /// Garman–Kohlhagen values; `x` the FX factor (log change of the spot `spot0`).
    fn option_values(
        &self,
        call: bool,
        strike: f64,
        spot0: f64,
        vol: f64,
        x: &[f64],
        out: &mut [f64],
    ) {
        let n = out.len();
        let sd = vol * self.tau.sqrt();
        let (x, spot) = (&x[..n], &self.spot[..n]);
        let (df_d, df_f, carry) = (&self.df_d[..n], &self.df_f[..n], &self.carry[..n]);
        if sd <= 1e-12 {
            for p in 0..n {
                let intrinsic = if call {
                    spot[p] - strike
                } else {
                    strike - spot[p]
                };
                out[p] = intrinsic.max(0.0) * df_d[p];
            }
        } else {
            let log_moneyness0 = (spot0 / strike).ln();
            for p in 0..n {
                let lm = log_moneyness0 + x[p] - carry[p];
                out[p] = garman_kohlhagen_log(call, spot[p] * df_f[p], strike * df_d[p], lm, sd);
            }
        }
    }
}

/// A credit position's spread beta on its factor: its log-spread volatility
/// ([`crate::scenarios::credit_spread_vol`]: the reference vol × its rating's multiplier
/// × its sector's amplification) over the factor's (the reference rating's). The same
/// in every scenario, since each scenario scales all of them together.
pub fn credit_beta(config: &ScenarioConfig, rating: Rating, sector: Sector) -> f64 {
    config.rating_multipliers.get(rating) * config.sector_amplification.get(sector)
        / config.rating_multipliers.get(rating.reference())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{prepare_book, tests::seed};
    use crate::factors::N_FACTORS;
    use stresslab_analytics::stats::normal_cdf;

    /// A flat level loading (1 at every tenor) and simple slope/curvature shapes.
    fn loadings() -> CurveLoadings {
        CurveLoadings {
            tenors: vec![0.25, 2.0, 10.0, 30.0],
            loadings: [
                vec![1.0, 1.0, 1.0, 1.0],
                vec![-0.5, -0.2, 0.3, 0.5],
                vec![-0.3, 0.4, 0.2, -0.3],
            ],
        }
    }

    const IMPLIED: ImpliedVols = ImpliedVols {
        fx: [0.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
        rates_normal: [0.01; 7],
    };

    /// Values of `inst` on one path whose factors are `set` (others 0) at year `s`.
    fn value_on(book: &PensionBook, inst: &Instrument, s: f64, set: &[(RiskFactor, f64)]) -> f64 {
        let l = loadings();
        let cfg = ScenarioConfig::default();
        let r = Revaluer {
            book,
            loadings: &l,
            config: &cfg,
        };
        let mut cols = vec![vec![0.0]; N_FACTORS];
        for (f, x) in set {
            cols[f.index()][0] = *x;
        }
        let zeros = [0.0];
        let factors: [&[f64]; N_FACTORS] = std::array::from_fn(|i| cols[i].as_slice());
        let m = PathMarket {
            s,
            factors,
            zeros: &zeros,
            implied: &IMPLIED,
            grids: [None; 7],
        };
        let mut out = [0.0];
        r.instrument_values(inst, &m, 1, &mut out);
        out[0]
    }

    #[test]
    fn normal_cdf_is_within_its_stated_error() {
        let mut worst: f64 = 0.0;
        for i in -800..=800 {
            let x = i as f64 / 100.0;
            worst = worst.max((norm_cdf(x) - normal_cdf(x)).abs());
        }
        assert!(worst < 1.2e-7, "{worst:e}");
    }

    /// QuantLib test-suite (europeanoption.cpp, Garman–Kohlhagen case after Haug):
    /// S = 1.56, K = 1.60, r_d = 6%, r_f = 8%, T = 0.5, σ = 12% → call 0.0291.
    #[test]
    fn garman_kohlhagen_matches_the_published_value() {
        let (s, k, rd, rf, t, v): (f64, f64, f64, f64, f64, f64) =
            (1.56, 1.60, 0.06, 0.08, 0.5, 0.12);
        let c = garman_kohlhagen(true, s * (-rf * t).exp(), k * (-rd * t).exp(), v * t.sqrt());
        assert!((c - 0.0291).abs() < 5e-5, "{c}");
        // Put–call parity: C − P = S·DF_f − K·DF_d.
        let p = garman_kohlhagen(
            false,
            s * (-rf * t).exp(),
            k * (-rd * t).exp(),
            v * t.sqrt(),
        );
        let fwd = s * (-rf * t).exp() - k * (-rd * t).exp();
        assert!((c - p - fwd).abs() < 2e-7, "{}", c - p - fwd);
    }

    #[test]
    fn the_book_reprices_to_its_snapshot_on_a_path_that_does_not_move() {
        let book = prepare_book(&seed()).unwrap();
        let l = loadings();
        let cfg = ScenarioConfig::default();
        let r = Revaluer {
            book: &book,
            loadings: &l,
            config: &cfg,
        };
        let zeros = [0.0; 2];
        let factors: [&[f64]; N_FACTORS] = [&zeros[..]; N_FACTORS];
        let m = PathMarket {
            s: 0.0,
            factors,
            zeros: &zeros,
            implied: &IMPLIED,
            grids: [None; 7],
        };
        let mut v = BookValues::default();
        r.book_values(&m, 2, &mut v, &mut Vec::new(), true);
        assert!(((v.assets[0] - book.assets_usd) / book.assets_usd).abs() < 1e-12);
        assert!(((v.liabilities[1] - book.liabilities_usd) / book.liabilities_usd).abs() < 1e-12);
        assert_eq!(v.credit_item[0], 0.0);
    }

    #[test]
    fn forwards_swaps_and_cds_struck_at_market_are_worth_nothing_at_inception() {
        let book = prepare_book(&seed()).unwrap();
        let (usd, eur) = (
            book.market.curve(Currency::USD),
            book.market.curve(Currency::EUR),
        );
        let s0 = book.market.fx_spot[Currency::EUR.index()];
        let fwd = s0 * (-(eur.zero(1.0) - usd.zero(1.0))).exp();
        let f = Instrument::FxForward {
            currency: Currency::EUR,
            strike: fwd,
            maturity: 1.0,
        };
        assert!(value_on(&book, &f, 0.0, &[]).abs() < 1e-14);
        // At maturity the forward pays S_T − K.
        let x = 0.05;
        let v = value_on(&book, &f, 1.0, &[(RiskFactor::FxEur, x)]);
        assert!((v - (s0 * x.exp() - fwd)).abs() < 1e-14, "{v}");

        // A par receiver swap: Σ K·DF + DF(n) = DF(1)·(1 + fixing) at inception.
        let years = 10;
        let annuity: f64 = (1..=years).map(|i| usd.discount(i as f64)).sum();
        let fixing = 1.0 / usd.discount(1.0) - 1.0;
        let par = (1.0 - usd.discount(years as f64)) / annuity;
        let swap = Instrument::Swap {
            currency: Currency::USD,
            fixed_rate: par,
            years,
            first_fixing: fixing,
        };
        assert!(value_on(&book, &swap, 0.0, &[]).abs() < 1e-14);
        // Receiving fixed gains when the level falls: by the fixed leg's duration less
        // the floating leg's (one year) times the move, about (8.3 − 1) × 10 bp.
        let down = value_on(&book, &swap, 0.0, &[(RiskFactor::UsdLevel, -0.001)]);
        assert!(down > 0.0070 && down < 0.0076, "{down}");

        let cds = Instrument::Cds {
            reference: CreditReference::IgIndex,
            spread0: 0.006,
            spread_beta: 1.0,
            coupon: 0.006,
            maturity: 5.0,
            recovery: 0.4,
        };
        assert_eq!(value_on(&book, &cds, 0.0, &[]), 0.0);
        assert!(value_on(&book, &cds, 0.0, &[(RiskFactor::CreditIg, 0.5)]) > 0.0);
    }

    #[test]
    fn a_swaption_at_expiry_is_worth_its_intrinsic_value_and_parity_holds_before() {
        let book = prepare_book(&seed()).unwrap();
        let mk = |receiver, strike| Instrument::Swaption {
            currency: Currency::USD,
            receiver,
            strike,
            expiry: 1.0,
            tenor: 10,
        };
        // Before expiry: payer − receiver = (F − K)·A, whatever the vol.
        let k = 0.045;
        let set = [(RiskFactor::UsdLevel, 0.003)];
        let pay = value_on(&book, &mk(false, k), 0.5, &set);
        let rec = value_on(&book, &mk(true, k), 0.5, &set);
        let at_k_plus = value_on(&book, &mk(false, k + 0.01), 0.5, &set);
        assert!(pay > 0.0 && rec > 0.0 && at_k_plus < pay);
        let usd = book.market.curve(Currency::USD);
        let df = |t: f64| (-(usd.zero(t) + 0.003) * t).exp();
        let a: f64 = (1..=10).map(|i| df(0.5 + i as f64)).sum();
        let fwd = (df(0.5) - df(10.5)) / a;
        assert!(
            ((pay - rec) - (fwd - k) * a).abs() < 1e-12,
            "{} vs {}",
            pay - rec,
            (fwd - k) * a
        );
        // At expiry only intrinsic value remains.
        let rec_t = value_on(&book, &mk(true, k), 1.0, &set);
        let df = |t: f64| (-(usd.zero(t) + 0.003) * t).exp();
        let a: f64 = (1..=10).map(|i| df(i as f64)).sum();
        let fwd = (1.0 - df(10.0)) / a;
        assert!((rec_t - (k - fwd).max(0.0) * a).abs() < 1e-12);
    }
}

#[cfg(test)]
mod grid_tests {
    use super::*;
    use crate::book::{prepare_book, tests::seed};
    use crate::kernels::DfGrid;
    use crate::model::{prepare, RunSettings};
    use stresslab_analytics::rng::Xoshiro256;

    /// Valuing whole-year flows off the per-date discount grids gives the same bits as
    /// valuing them node by node: the grids are an optimisation, not an approximation.
    #[test]
    fn the_discount_grids_change_no_bit() {
        let cfg = ScenarioConfig::default();
        let (model, _) = prepare(
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
        let book = prepare_book(&seed()).unwrap();
        let r = Revaluer {
            book: &book,
            loadings: &model.loadings,
            config: &cfg,
        };
        let n = 16;
        let mut rng = Xoshiro256::seed_from_u64(9);
        let cols: Vec<Vec<f64>> = (0..N_FACTORS)
            .map(|_| (0..n).map(|_| 0.02 * (rng.uniform() - 0.5)).collect())
            .collect();
        let zeros = vec![0.0; n];
        let implied = ImpliedVols {
            fx: [0.1; 7],
            rates_normal: [0.01; 7],
        };
        for s in [21.0 / 252.0, 126.0 / 252.0, 1.0] {
            let factors: [&[f64]; N_FACTORS] = std::array::from_fn(|i| cols[i].as_slice());
            let plain = PathMarket {
                s,
                factors,
                zeros: &zeros,
                implied: &implied,
                grids: [None; 7],
            };
            let mut g: [DfGrid; 7] = Default::default();
            for c in crate::scenarios::CURVES {
                r.fill_grid(c, &plain, n, 80, &mut g[c.index()]);
            }
            let mut grids: [Option<&DfGrid>; 7] = [None; 7];
            for c in crate::scenarios::CURVES {
                grids[c.index()] = Some(&g[c.index()]);
            }
            let gridded = PathMarket { grids, ..plain };
            let (mut a, mut b) = (BookValues::default(), BookValues::default());
            r.book_values(&plain, n, &mut a, &mut Vec::new(), true);
            r.book_values(&gridded, n, &mut b, &mut Vec::new(), true);
            assert_eq!(a.assets, b.assets);
            assert_eq!(a.liabilities, b.liabilities);
            for inst in &model.instruments {
                let (mut u, mut v) = (vec![0.0; n], vec![0.0; n]);
                r.instrument_values(inst, &plain, n, &mut u);
                r.instrument_values(inst, &gridded, n, &mut v);
                assert_eq!(u, v, "{inst:?} at {s}");
            }
        }
    }
}

/// The batched revaluation of all instruments at a date against the instrument-by-
/// instrument one, on the run's own instruments and random paths.
#[cfg(test)]
mod batched_tests {
    use super::*;
    use crate::book::{prepare_book, tests::seed};
    use crate::kernels::DfGrid;
    use crate::model::{prepare, RunSettings};
    use stresslab_analytics::rng::Xoshiro256;

    /// Random factor columns of `n` paths: FX and credit moves of up to ±40%, curve
    /// scores of up to ±3%.
    pub(crate) fn random_columns(n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Xoshiro256::seed_from_u64(seed);
        RiskFactor::ALL
            .iter()
            .map(|f| {
                let scale = match f {
                    RiskFactor::UsdLevel
                    | RiskFactor::UsdSlope
                    | RiskFactor::UsdCurvature
                    | RiskFactor::EurLevel
                    | RiskFactor::EurSlope
                    | RiskFactor::EurCurvature
                    | RiskFactor::GbpLevel
                    | RiskFactor::GbpSlope
                    | RiskFactor::GbpCurvature => 0.06,
                    _ => 0.8,
                };
                (0..n).map(|_| scale * (rng.uniform() - 0.5)).collect()
            })
            .collect()
    }

    /// Sharing FX legs and spots across instruments changes no bit of any value.
    #[test]
    fn the_batched_revaluation_changes_no_bit() {
        let cfg = ScenarioConfig::default();
        let (model, _) = prepare(
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
        let book = prepare_book(&seed()).unwrap();
        let r = Revaluer {
            book: &book,
            loadings: &model.loadings,
            config: &cfg,
        };
        // An odd count: the SIMD remainder lanes are exercised too.
        let n = 37;
        let cols = random_columns(n, 17);
        let zeros = vec![0.0; n];
        let implied = ImpliedVols {
            fx: [0.0, 0.08, 0.12, 0.2, 0.3, 0.15, 0.1],
            rates_normal: [0.009, 0.007, 0.011, 0.01, 0.01, 0.01, 0.01],
        };
        // The tranche grids hold the revaluation dates only: the snapshot and checkpoints.
        for day in [0u32, 21, 63, 126, 252] {
            let s = f64::from(day) / BUSINESS_DAYS_PER_YEAR;
            let factors: [&[f64]; N_FACTORS] = std::array::from_fn(|i| cols[i].as_slice());
            let plain = PathMarket {
                s,
                factors,
                zeros: &zeros,
                implied: &implied,
                grids: [None; 7],
            };
            let mut g: [DfGrid; 7] = Default::default();
            for c in crate::scenarios::CURVES {
                r.fill_grid(c, &plain, n, 40, &mut g[c.index()]);
            }
            let mut grids: [Option<&DfGrid>; 7] = [None; 7];
            for c in crate::scenarios::CURVES {
                grids[c.index()] = Some(&g[c.index()]);
            }
            for m in [&plain, &PathMarket { grids, ..plain }] {
                let mut batched = Vec::new();
                r.instrument_set_values(&model.instruments, m, n, &mut batched);
                for (inst, b) in model.instruments.iter().zip(batched.chunks_exact(n)) {
                    let mut one = vec![0.0; n];
                    r.instrument_values(inst, m, n, &mut one);
                    let same = one.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{inst:?} on day {day}: {one:?} vs {b:?}");
                }
            }
        }
    }
}

/// The fast revaluation of a date (shared legs, CDS survival by powers, liability flat
/// tails) against straightforward prices from the pricing crate, path by path, on the
/// run's own book and instruments and random paths. Tolerances: 1e-12 relative (plus
/// 1e-13 per unit notional for values through zero) where the two compute the same
/// function — what is left is rounding; 3e-7 × spot for FX options and 2e-7 × annuity
/// for swaptions, the stated error of our vectorisable Φ (Numerical Recipes' erfc,
/// < 1.2e-7) against the pricing crate's.
#[cfg(test)]
mod fast_path_against_the_pricing_crate {
    use super::batched_tests::random_columns;
    use super::*;
    use crate::book::{prepare_book, tests::seed};
    use crate::kernels::DfGrid;
    use crate::model::{prepare, RunSettings};
    use stresslab_pricing::cds::HazardCurve;
    use stresslab_pricing::curve::DiscountCurve;
    use stresslab_pricing::fx::{forward_rate, gk_price};
    use stresslab_pricing::swap::{FixedLegSchedule, SwapDirection};
    use stresslab_pricing::swaption::bachelier;
    use stresslab_pricing::OptionKind;

    /// One path's moved curve in remaining time: snapshot zero rate + spread + Σ x_k·loading_k.
    struct PathCurve<'a> {
        curve: &'a Curve,
        loadings: &'a CurveLoadings,
        scores: [f64; 3],
        spread: f64,
    }

    impl DiscountCurve for PathCurve<'_> {
        fn zero_rate(&self, t: f64) -> f64 {
            let l = self.loadings.at(t);
            self.curve.zero(t) + self.spread + (0..3).map(|k| self.scores[k] * l[k]).sum::<f64>()
        }
    }

    fn close(ours: f64, reference: f64, rel: f64, abs: f64) -> bool {
        (ours - reference).abs() <= rel * reference.abs() + abs
    }

    #[test]
    fn every_instrument_kind_and_the_liabilities_agree_path_by_path() {
        let cfg = ScenarioConfig::default();
        let (model, _) = prepare(
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
        let book = prepare_book(&seed()).unwrap();
        let r = Revaluer {
            book: &book,
            loadings: &model.loadings,
            config: &cfg,
        };
        let n = 29;
        let cols = random_columns(n, 23);
        let zeros = vec![0.0; n];
        let implied = ImpliedVols {
            fx: [0.0, 0.08, 0.12, 0.2, 0.3, 0.15, 0.1],
            rates_normal: [0.009, 0.007, 0.011, 0.01, 0.01, 0.01, 0.01],
        };
        let mut checked = [0usize; 6];
        for day in [0u32, 21, 63, 126, 252] {
            let s = f64::from(day) / BUSINESS_DAYS_PER_YEAR;
            let factors: [&[f64]; N_FACTORS] = std::array::from_fn(|i| cols[i].as_slice());
            let plain = PathMarket {
                s,
                factors,
                zeros: &zeros,
                implied: &implied,
                grids: [None; 7],
            };
            // As the run builds them: grids only as long as the run needs.
            let mut g: [DfGrid; 7] = Default::default();
            let k_max = r.liability_grid_years(1.0).max(41);
            for c in crate::scenarios::CURVES {
                r.fill_grid(c, &plain, n, k_max, &mut g[c.index()]);
            }
            let mut grids: [Option<&DfGrid>; 7] = [None; 7];
            for c in crate::scenarios::CURVES {
                grids[c.index()] = Some(&g[c.index()]);
            }
            let m = PathMarket { grids, ..plain };
            let mut values = Vec::new();
            r.instrument_set_values(&model.instruments, &m, n, &mut values);
            let mut bv = BookValues::default();
            r.book_values(&m, n, &mut bv, &mut Vec::new(), true);
            for p in 0..n {
                let path_curve = |c: Currency, spread: f64| PathCurve {
                    curve: book.market.curve(c),
                    loadings: &model.loadings,
                    scores: m.scores(c).map(|x| x[p]),
                    spread,
                };
                let spot = |c: Currency| match RiskFactor::fx(c) {
                    None => 1.0,
                    Some(f) => book.market.fx_spot[c.index()] * m.factor(f)[p].exp(),
                };
                // Liabilities: every benefit still to pay on the moved curve + spread.
                let mut liabilities = 0.0;
                for c in Currency::ALL {
                    let flows = &book.liabilities[c.index()];
                    let curve = path_curve(c, book.liability_spread);
                    let local: f64 = flows
                        .times
                        .iter()
                        .zip(&flows.amounts)
                        .filter(|(t, _)| **t - s > 1e-12)
                        .map(|(t, a)| a * curve.discount(t - s))
                        .sum();
                    liabilities += local * spot(c);
                }
                assert!(
                    close(bv.liabilities[p], liabilities, 1e-12, 0.0),
                    "liabilities on day {day}: {} vs {liabilities}",
                    bv.liabilities[p]
                );
                for (i, inst) in model.instruments.iter().enumerate() {
                    let ours = values[i * n + p];
                    let (reference, rel, abs, kind) =
                        reference_value(inst, &m, p, s, &book, &|c| path_curve(c, 0.0));
                    checked[kind] += 1;
                    assert!(
                        close(ours, reference, rel, abs),
                        "{inst:?} on day {day}, path {p}: {ours} vs {reference}"
                    );
                }
            }
        }
        // Every kind was met (forwards, options, swaps, swaptions, CDS).
        assert!(checked[..5].iter().all(|&k| k > 0), "{checked:?}");
    }

    /// The pricing crate's value of one unit of `inst` on path `p`: (value, relative
    /// tolerance, absolute tolerance, kind index).
    fn reference_value<'a>(
        inst: &Instrument,
        m: &PathMarket,
        p: usize,
        s: f64,
        book: &PensionBook,
        curve: &dyn Fn(Currency) -> PathCurve<'a>,
    ) -> (f64, f64, f64, usize) {
        let spot = |c: Currency| match RiskFactor::fx(c) {
            None => 1.0,
            Some(f) => book.market.fx_spot[c.index()] * m.factor(f)[p].exp(),
        };
        match inst {
            Instrument::FxForward {
                currency,
                strike,
                maturity,
            } => {
                let tau = (maturity - s).max(0.0);
                let (d, f) = (curve(Currency::USD), curve(*currency));
                let fwd = forward_rate(spot(*currency), d.zero_rate(tau), f.zero_rate(tau), tau);
                ((fwd - strike) * d.discount(tau), 1e-12, 1e-13, 0)
            }
            Instrument::FxOption {
                currency,
                call,
                strike,
                maturity,
            } => {
                let tau = (maturity - s).max(0.0);
                let (d, f) = (curve(Currency::USD), curve(*currency));
                let kind = if *call {
                    OptionKind::Call
                } else {
                    OptionKind::Put
                };
                let s_t = spot(*currency);
                let vol = m.implied.fx[currency.index()];
                let v = gk_price(
                    kind,
                    s_t,
                    *strike,
                    d.zero_rate(tau),
                    f.zero_rate(tau),
                    vol,
                    tau,
                );
                (v, 0.0, 3e-7 * s_t, 1)
            }
            Instrument::Swap {
                currency,
                fixed_rate,
                years,
                first_fixing,
            } => {
                // Receiver: the swap from the next reset on (pricing crate), plus the
                // first period's known settlement (fixed − fixing), discounted or paid.
                let c = curve(*currency);
                let k = *fixed_rate;
                let first = (1.0 - s).max(0.0);
                let end = f64::from(*years) - s;
                let receiver_from_first_reset = if end - first > 1e-9 {
                    let leg = FixedLegSchedule::regular(first, end, 1).unwrap();
                    k * leg.annuity(&c) - leg.floating_leg(&c)
                } else {
                    0.0
                };
                let settlement = (k - first_fixing) * c.discount(first);
                let v = (receiver_from_first_reset + settlement) * spot(*currency);
                (v, 1e-12, 1e-13, 2)
            }
            Instrument::Swaption {
                currency,
                receiver,
                strike,
                expiry,
                tenor,
            } => {
                let c = curve(*currency);
                let to_expiry = (expiry - s).max(0.0);
                let leg =
                    FixedLegSchedule::regular(to_expiry, to_expiry + f64::from(*tenor), 1).unwrap();
                let a = leg.annuity(&c);
                let dir = if *receiver {
                    SwapDirection::Receiver
                } else {
                    SwapDirection::Payer
                };
                let vol = m.implied.rates_normal[currency.index()];
                let v = bachelier(dir, leg.par_rate(&c), *strike, vol, to_expiry, a);
                let fx = spot(*currency);
                (v * fx, 0.0, 2e-7 * a * fx, 3)
            }
            Instrument::Cds {
                reference,
                spread0,
                spread_beta,
                coupon,
                maturity,
                recovery,
            } => {
                let factor = match reference {
                    CreditReference::IgIndex => RiskFactor::CreditIg,
                    CreditReference::Name { rating, .. } => rating.factor(),
                };
                let spread = spread0 * (spread_beta * m.factor(factor)[p]).exp();
                let survival = HazardCurve::flat(spread / (1.0 - recovery)).unwrap();
                let usd = curve(Currency::USD);
                let (mut rpv01, mut paid) = (0.0, 0.0);
                for q in 1..=(maturity * 4.0).round() as u32 {
                    let rem = 0.25 * f64::from(q) - s;
                    if rem <= 1e-12 {
                        paid += 0.25;
                    } else {
                        rpv01 += 0.25 * usd.discount(rem) * survival.survival(rem);
                    }
                }
                let v = rpv01 * (spread - coupon) - coupon * paid;
                (v, 1e-12, 1e-13, 4)
            }
            // Read off the pricing crate's grid: unchanged (its interpolation is tested
            // in the tranche module); compared to itself here.
            Instrument::Tranche(_) => {
                let mut one = vec![0.0; m.zeros.len()];
                let r = Revaluer {
                    book,
                    loadings: curve(Currency::USD).loadings,
                    config: &ScenarioConfig::default(),
                };
                r.instrument_values(inst, m, m.zeros.len(), &mut one);
                (one[p], 0.0, 0.0, 5)
            }
        }
    }
}

/// The workflow's path-vectorised pricers against the pure pricing crate (the reference
/// implementation tested against QuantLib's published values).
#[cfg(test)]
mod against_the_pricing_crate {
    use super::*;
    use stresslab_pricing::cds::{midpoint_legs, HazardCurve, PremiumSchedule};
    use stresslab_pricing::fx::gk_price;
    use stresslab_pricing::swap::SwapDirection;
    use stresslab_pricing::swaption::bachelier;
    use stresslab_pricing::{OptionKind, ZeroCurve};

    #[test]
    fn garman_kohlhagen_agrees_to_the_normal_cdf_error() {
        for (s, k, rd, rf, v, t) in [
            (1.56f64, 1.60f64, 0.06f64, 0.08f64, 0.12f64, 0.5f64),
            (1.07, 1.02, 0.05, 0.035, 0.3, 1.0),
            (0.0062, 0.0065, 0.053, 0.001, 0.11, 0.25),
        ] {
            for (call, kind) in [(true, OptionKind::Call), (false, OptionKind::Put)] {
                let ours =
                    garman_kohlhagen(call, s * (-rf * t).exp(), k * (-rd * t).exp(), v * t.sqrt());
                let reference = gk_price(kind, s, k, rd, rf, v, t);
                // Our Φ errs by < 1.2e-7 (Numerical Recipes' erfc): at most ~2.4e-7 × S.
                assert!((ours - reference).abs() < 3e-7 * s, "{ours} vs {reference}");
            }
        }
    }

    #[test]
    fn bachelier_swaptions_agree() {
        for (f, k, vol, t, a) in [
            (0.045, 0.04, 0.01, 1.0, 8.1),
            (0.03, 0.035, 0.008, 0.5, 4.0),
        ] {
            for receiver in [true, false] {
                let w = if receiver { k - f } else { f - k };
                let sd = vol * f64::sqrt(t);
                let d = w / sd;
                let ours = a * (w * norm_cdf(d) + sd * norm_pdf(d));
                let dir = if receiver {
                    SwapDirection::Receiver
                } else {
                    SwapDirection::Payer
                };
                let reference = bachelier(dir, f, k, vol, t, a);
                assert!((ours - reference).abs() < 2e-7 * a, "{ours} vs {reference}");
            }
        }
    }

    /// Our CDS risky annuity is the credit triangle's flat hazard without the premium
    /// accrued at default; the pricing crate's ISDA-style midpoint engine includes it.
    /// The two differ by about λ·Δ/2 of the annuity (Δ = a quarter): under 0.4% here.
    #[test]
    fn the_risky_annuity_is_the_midpoint_engines_less_accrual_on_default() {
        let rate = 0.04;
        let curve = ZeroCurve::flat(rate).unwrap();
        for spread in [0.006, 0.02, 0.05] {
            let lambda = spread / 0.6;
            let ours: f64 = (1..=20)
                .map(|q| {
                    let t = 0.25 * q as f64;
                    0.25 * (-(rate + lambda) * t).exp()
                })
                .sum();
            let legs = midpoint_legs(
                &PremiumSchedule::regular(5.0, 4).unwrap(),
                0.4,
                &HazardCurve::flat(lambda).unwrap(),
                &curve,
            );
            let gap = (legs.rpv01 - ours) / legs.rpv01;
            assert!(
                gap > 0.0 && gap < 0.5 * lambda * 0.25 * 1.2,
                "{spread}: {gap}"
            );
            // The fair spread of the flat-hazard CDS is close to the triangle's.
            assert!(
                (legs.fair_spread() / spread - 1.0).abs() < 0.01,
                "{}",
                legs.fair_spread()
            );
        }
    }
}
