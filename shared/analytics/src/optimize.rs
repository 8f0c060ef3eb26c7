//! Portfolio construction: minimum variance, minimum CVaR, risk parity (equal risk
//! contributions), maximum diversification and worst-case minimum variance over a set
//! of covariance matrices.
//!
//! Every problem is handed to the interior-point conic solver Clarabel (P. Goulart and
//! Y. Chen (2024), "Clarabel: An interior-point solver for conic programs with
//! quadratic objectives", arXiv:2405.12762), which solves
//! `min ½ x'Px + q'x  s.t.  Ax + s = b, s ∈ K` for products `K` of zero, non-negative,
//! second-order and exponential cones. Nothing here is a hand-rolled QP or LP solver;
//! the only local iteration is the optional Newton polish of the (smooth, strictly
//! convex) risk-parity problem, documented at [`risk_parity`].
//!
//! All five problems share one constraint set, [`Constraints`], over the weights `w`
//! of `n` assets:
//! - budget `Σ w_i = 1` (always);
//! - long-only `w ≥ 0` (optional; implied for risk parity and maximum diversification);
//! - per-asset caps `w_i ≤ cap_i` (optional);
//! - turnover `Σ |w_i − w0_i| ≤ T` relative to current weights `w0` (optional),
//!   linearised with auxiliary variables `d_i ≥ ±(w_i − w0_i)`, `Σ d_i ≤ T`;
//! - factor-exposure bounds `lo ≤ B'w ≤ hi` for an `n × k` exposure matrix `B`
//!   (optional; an infinite bound drops that side).
//!
//! Risk parity and maximum diversification solve for an unnormalised vector `y` and
//! return `w = y / Σ y`. The constraints are then imposed in homogenised form: with
//! `κ = Σ y > 0`, each constraint `a'w ≤ b` becomes `a'y − b κ ≤ 0`, which describes
//! exactly the same set of normalised weights.
//!
//! Sign convention: scenario returns are gains; losses are `−r'w`, and CVaR is
//! reported as a positive loss (as in [`crate::risk`]).

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use nalgebra::{DMatrix, DVector};

use crate::error::{ensure_finite, AnalyticsError};
use crate::linalg::ensure_square_finite;

/// A turnover limit `Σ |w_i − current_i| ≤ limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct Turnover {
    /// Current weights `w0`, one per asset.
    pub current: Vec<f64>,
    /// Maximum one-way-plus-back turnover `T ≥ 0` (the sum of absolute trades).
    pub limit: f64,
}

/// Linear factor-exposure bounds `lower ≤ B'w ≤ upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorBounds {
    /// `n × k` exposures `B` (assets in rows, factors in columns).
    pub exposures: DMatrix<f64>,
    /// `k` lower bounds; `f64::NEG_INFINITY` for none.
    pub lower: Vec<f64>,
    /// `k` upper bounds; `f64::INFINITY` for none.
    pub upper: Vec<f64>,
}

/// The constraint set shared by every problem in this module (the budget `Σ w = 1` is
/// always imposed). `Constraints::default()` is the budget alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraints {
    /// Impose `w ≥ 0`.
    pub long_only: bool,
    /// Per-asset caps `w_i ≤ cap_i` (`f64::INFINITY` for an uncapped asset).
    pub caps: Option<Vec<f64>>,
    /// Turnover limit relative to current weights.
    pub turnover: Option<Turnover>,
    /// Factor-exposure bounds.
    pub factor_bounds: Option<FactorBounds>,
}

/// How the solver finished (failures are errors, never a status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// Met the full tolerances (duality gap and feasibility 1e-10).
    Solved,
    /// Met only Clarabel's reduced tolerances (about 5e-5): usable, but check it.
    AlmostSolved,
}

/// The solution of a portfolio-construction problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimum {
    /// Portfolio weights, summing to 1.
    pub weights: DVector<f64>,
    /// The problem's objective at `weights` (each function documents which quantity).
    pub objective: f64,
    /// Solver status.
    pub status: SolveStatus,
    /// Interior-point iterations taken by Clarabel.
    pub iterations: u32,
}

// ---------------------------------------------------------------------------------
// Problem assembly
// ---------------------------------------------------------------------------------

/// One affine row `coefs · x` with its right-hand side (meaning depends on the block).
struct Row {
    coefs: Vec<(usize, f64)>,
    rhs: f64,
}

/// A conic program in Clarabel's form, assembled row by row. Equalities are
/// `coefs·x = rhs`, inequalities `coefs·x ≤ rhs`; a cone block lists the slacks
/// `s_i = rhs_i − coefs_i·x` that must lie in the cone.
struct Program {
    q: Vec<f64>,
    /// Upper-triangular entries of `P`.
    p: Vec<(usize, usize, f64)>,
    eq: Vec<Row>,
    le: Vec<Row>,
    soc: Vec<Vec<Row>>,
    exp: Vec<[Row; 3]>,
    /// The homogenising variable `κ` (Σ y) when the weights are `y / κ`.
    kappa: Option<usize>,
}

struct Solved {
    x: Vec<f64>,
    obj: f64,
    status: SolveStatus,
    iterations: u32,
}

impl Program {
    fn new(nvar: usize) -> Self {
        Self {
            q: vec![0.0; nvar],
            p: Vec::new(),
            eq: Vec::new(),
            le: Vec::new(),
            soc: Vec::new(),
            exp: Vec::new(),
            kappa: None,
        }
    }

    fn add_var(&mut self) -> usize {
        self.q.push(0.0);
        self.q.len() - 1
    }

    /// Adds `2 Σ` on the block of variables starting at `start`, so that the objective
    /// gains `x'Σx` (Clarabel minimises `½ x'Px`).
    fn add_quadratic(&mut self, start: usize, cov: &DMatrix<f64>) {
        let n = cov.nrows();
        for j in 0..n {
            for i in 0..=j {
                let v = 2.0 * cov[(i, j)];
                if v != 0.0 {
                    self.p.push((start + i, start + j, v));
                }
            }
        }
    }

    /// `coefs·w = rhs` on the weights, homogenised when `κ` is present.
    fn eq_w(&mut self, mut coefs: Vec<(usize, f64)>, rhs: f64) {
        match self.kappa {
            Some(k) => {
                coefs.push((k, -rhs));
                self.eq.push(Row { coefs, rhs: 0.0 });
            }
            None => self.eq.push(Row { coefs, rhs }),
        }
    }

    /// `coefs·w ≤ rhs` on the weights, homogenised when `κ` is present.
    fn le_w(&mut self, mut coefs: Vec<(usize, f64)>, rhs: f64) {
        match self.kappa {
            Some(k) => {
                if rhs != 0.0 {
                    coefs.push((k, -rhs));
                }
                self.le.push(Row { coefs, rhs: 0.0 });
            }
            None => self.le.push(Row { coefs, rhs }),
        }
    }

    fn solve(self, what: &str) -> Result<Solved, AnalyticsError> {
        let nvar = self.q.len();
        let (mut ri, mut cj, mut v, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut push = |r: &Row| {
            let row = b.len();
            for &(j, a) in &r.coefs {
                if a != 0.0 {
                    ri.push(row);
                    cj.push(j);
                    v.push(a);
                }
            }
            b.push(r.rhs);
        };
        let mut cones = Vec::new();
        self.eq.iter().for_each(&mut push);
        if !self.eq.is_empty() {
            cones.push(SupportedConeT::ZeroConeT(self.eq.len()));
        }
        self.le.iter().for_each(&mut push);
        if !self.le.is_empty() {
            cones.push(SupportedConeT::NonnegativeConeT(self.le.len()));
        }
        for block in &self.soc {
            block.iter().for_each(&mut push);
            cones.push(SupportedConeT::SecondOrderConeT(block.len()));
        }
        for block in &self.exp {
            block.iter().for_each(&mut push);
            cones.push(SupportedConeT::ExponentialConeT());
        }
        let m = b.len();
        let a = CscMatrix::new_from_triplets(m, nvar, ri, cj, v);
        let (pi, pj, pv) = self.p.iter().fold(
            (Vec::new(), Vec::new(), Vec::new()),
            |(mut pi, mut pj, mut pv), &(i, j, x)| {
                pi.push(i);
                pj.push(j);
                pv.push(x);
                (pi, pj, pv)
            },
        );
        let p = CscMatrix::new_from_triplets(nvar, nvar, pi, pj, pv);

        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .max_iter(200)
            .tol_gap_abs(1e-10)
            .tol_gap_rel(1e-10)
            .tol_feas(1e-10)
            .tol_ktratio(1e-8)
            .build()
            .map_err(|e| AnalyticsError::SolverFailed(format!("{what}: settings: {e:?}")))?;
        let mut solver = DefaultSolver::new(&p, &self.q, &a, &b, &cones, settings)
            .map_err(|e| AnalyticsError::SolverFailed(format!("{what}: setup: {e}")))?;
        solver.solve();
        let sol = &solver.solution;
        let status = match sol.status {
            SolverStatus::Solved => SolveStatus::Solved,
            SolverStatus::AlmostSolved => SolveStatus::AlmostSolved,
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
                return Err(AnalyticsError::Infeasible(format!(
                    "{what}: no weights satisfy the budget together with the long-only, \
                     cap, turnover and factor-exposure constraints"
                )))
            }
            SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => {
                return Err(AnalyticsError::SolverFailed(format!(
                    "{what}: the problem is unbounded (is the covariance positive \
                     semidefinite, or the CVaR problem missing bounds?)"
                )))
            }
            SolverStatus::MaxIterations => {
                return Err(AnalyticsError::NotConverged {
                    iterations: sol.iterations as usize,
                })
            }
            other => {
                return Err(AnalyticsError::SolverFailed(format!(
                    "{what}: Clarabel stopped with status {other:?} after {} iterations",
                    sol.iterations
                )))
            }
        };
        if !sol.x.iter().all(|x| x.is_finite()) {
            return Err(AnalyticsError::SolverFailed(format!(
                "{what}: the solver returned a non-finite solution"
            )));
        }
        Ok(Solved {
            x: sol.x.clone(),
            obj: sol.obj_val,
            status,
            iterations: sol.iterations,
        })
    }
}

/// Checks the constraint set against `n` assets.
fn validate_constraints(what: &str, n: usize, c: &Constraints) -> Result<(), AnalyticsError> {
    let bad = |msg: String| Err(AnalyticsError::InvalidArgument(format!("{what}: {msg}")));
    if let Some(caps) = &c.caps {
        if caps.len() != n {
            return Err(AnalyticsError::DimensionMismatch {
                what: "caps vs assets",
                expected: n,
                found: caps.len(),
            });
        }
        if caps.iter().any(|x| x.is_nan() || *x == f64::NEG_INFINITY) {
            return bad("a cap is NaN or -inf".into());
        }
    }
    if let Some(t) = &c.turnover {
        if t.current.len() != n {
            return Err(AnalyticsError::DimensionMismatch {
                what: "current weights vs assets",
                expected: n,
                found: t.current.len(),
            });
        }
        ensure_finite("current weights", t.current.iter())?;
        if !(t.limit.is_finite() && t.limit >= 0.0) {
            return bad(format!(
                "turnover limit must be finite and >= 0, got {}",
                t.limit
            ));
        }
    }
    if let Some(f) = &c.factor_bounds {
        if f.exposures.nrows() != n {
            return Err(AnalyticsError::DimensionMismatch {
                what: "factor exposures rows vs assets",
                expected: n,
                found: f.exposures.nrows(),
            });
        }
        let k = f.exposures.ncols();
        for (name, v) in [("lower", &f.lower), ("upper", &f.upper)] {
            if v.len() != k {
                return Err(AnalyticsError::DimensionMismatch {
                    what: if name == "lower" {
                        "factor lower bounds vs factors"
                    } else {
                        "factor upper bounds vs factors"
                    },
                    expected: k,
                    found: v.len(),
                });
            }
        }
        ensure_finite("factor exposures", f.exposures.iter())?;
        for (j, (lo, hi)) in f.lower.iter().zip(&f.upper).enumerate() {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return bad(format!(
                    "factor {j}: bounds [{lo}, {hi}] are not an interval"
                ));
            }
        }
    }
    Ok(())
}

/// Adds the common constraint set on the weight block `0..n` (homogenised by `κ` when
/// the program has one). `long_only` forces `w ≥ 0` regardless of the flag.
fn add_common(prog: &mut Program, n: usize, c: &Constraints, long_only: bool) {
    prog.eq_w((0..n).map(|i| (i, 1.0)).collect(), 1.0);
    if long_only || c.long_only {
        for i in 0..n {
            prog.le_w(vec![(i, -1.0)], 0.0);
        }
    }
    if let Some(caps) = &c.caps {
        for (i, &cap) in caps.iter().enumerate() {
            if cap.is_finite() {
                prog.le_w(vec![(i, 1.0)], cap);
            }
        }
    }
    if let Some(t) = &c.turnover {
        let d: Vec<usize> = (0..n).map(|_| prog.add_var()).collect();
        for (i, (&di, &w0)) in d.iter().zip(&t.current).enumerate() {
            prog.le_w(vec![(i, 1.0), (di, -1.0)], w0);
            prog.le_w(vec![(i, -1.0), (di, -1.0)], -w0);
        }
        prog.le_w(d.iter().map(|&j| (j, 1.0)).collect(), t.limit);
    }
    if let Some(f) = &c.factor_bounds {
        for j in 0..f.exposures.ncols() {
            let col: Vec<(usize, f64)> = (0..n).map(|i| (i, f.exposures[(i, j)])).collect();
            if f.upper[j].is_finite() {
                prog.le_w(col.clone(), f.upper[j]);
            }
            if f.lower[j].is_finite() {
                prog.le_w(col.iter().map(|&(i, a)| (i, -a)).collect(), -f.lower[j]);
            }
        }
    }
}

/// For the homogenised problems: a constraint set with no normalised long-only point
/// makes the `y`-cone collapse to `{0}`, which an interior-point method cannot certify
/// (the exponential cone and the `σ'y = 1` row make it only weakly infeasible). A
/// feasibility LP in `w` (zero objective) gives a clean certificate first.
fn ensure_feasible(what: &str, n: usize, c: &Constraints) -> Result<(), AnalyticsError> {
    if c.caps.is_none() && c.turnover.is_none() && c.factor_bounds.is_none() {
        return Ok(()); // equal weights are feasible
    }
    let mut prog = Program::new(n);
    add_common(&mut prog, n, c, true);
    prog.solve(what).map(|_| ())
}

/// A finite, square, (numerically) symmetric covariance, returned symmetrised.
fn checked_cov(what: &'static str, cov: &DMatrix<f64>) -> Result<DMatrix<f64>, AnalyticsError> {
    ensure_square_finite(what, cov)?;
    let n = cov.nrows();
    let scale = cov
        .iter()
        .fold(0.0_f64, |m, x| m.max(x.abs()))
        .max(f64::MIN_POSITIVE);
    for i in 0..n {
        if cov[(i, i)] < 0.0 {
            return Err(AnalyticsError::NotPositiveDefinite);
        }
        for j in 0..i {
            if (cov[(i, j)] - cov[(j, i)]).abs() > 1e-10 * scale {
                return Err(AnalyticsError::InvalidArgument(format!(
                    "{what} is not symmetric at ({i}, {j})"
                )));
            }
        }
    }
    Ok(DMatrix::from_fn(n, n, |i, j| {
        0.5 * (cov[(i, j)] + cov[(j, i)])
    }))
}

fn quad(cov: &DMatrix<f64>, w: &DVector<f64>) -> f64 {
    w.dot(&(cov * w))
}

// ---------------------------------------------------------------------------------
// The five problems
// ---------------------------------------------------------------------------------

/// Minimum-variance portfolio `min w'Σw` over the constraint set (H. Markowitz (1952),
/// "Portfolio selection", Journal of Finance 7(1), 77–91; with the budget alone the
/// solution is `Σ⁻¹1 / (1'Σ⁻¹1)`).
///
/// Formulation: a QP handed to Clarabel with `P = 2Σ` (so `½ w'Pw = w'Σw`), `q = 0`,
/// the constraints as zero/non-negative cone rows. `objective` is the variance `w'Σw`.
///
/// Errors: `cov` empty, non-square, non-finite or not symmetric; malformed
/// constraints; [`AnalyticsError::Infeasible`] when no weights satisfy them.
pub fn min_variance(
    cov: &DMatrix<f64>,
    constraints: &Constraints,
) -> Result<Optimum, AnalyticsError> {
    let cov = checked_cov("min_variance covariance", cov)?;
    let n = cov.nrows();
    validate_constraints("min_variance", n, constraints)?;
    let mut prog = Program::new(n);
    prog.add_quadratic(0, &cov);
    add_common(&mut prog, n, constraints, false);
    let s = prog.solve("min_variance")?;
    let w = DVector::from_column_slice(&s.x[..n]);
    Ok(Optimum {
        objective: quad(&cov, &w),
        weights: w,
        status: s.status,
        iterations: s.iterations,
    })
}

/// Minimum-CVaR portfolio over a scenario set (R. T. Rockafellar and S. Uryasev
/// (2000), "Optimization of conditional value-at-risk", Journal of Risk 2(3), 21–41,
/// eq. (17)): with `S` scenario return vectors `r_s` (the rows of the `S × n`
/// `scenarios`) and confidence `β`,
/// `min ζ + 1/((1−β)S) Σ_s u_s  s.t.  u_s ≥ −r_s'w − ζ,  u_s ≥ 0`.
///
/// Formulation: an LP handed to Clarabel (`P = 0`) in the variables `(w, ζ, u)`.
/// `objective` is the optimal value, the empirical CVaR_β of the loss `−r'w` as a
/// positive number (the minimising `ζ` is a β-VaR, not returned).
///
/// Errors: `β` outside (0, 1); no scenarios or assets; non-finite returns; malformed
/// constraints; [`AnalyticsError::Infeasible`].
pub fn min_cvar(
    scenarios: &DMatrix<f64>,
    confidence: f64,
    constraints: &Constraints,
) -> Result<Optimum, AnalyticsError> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(AnalyticsError::InvalidArgument(format!(
            "min_cvar: confidence must be in (0, 1), got {confidence}"
        )));
    }
    let (s_count, n) = scenarios.shape();
    if s_count == 0 || n == 0 {
        return Err(AnalyticsError::InvalidArgument(
            "min_cvar: the scenario matrix is empty".into(),
        ));
    }
    ensure_finite("min_cvar scenarios", scenarios.iter())?;
    validate_constraints("min_cvar", n, constraints)?;

    let mut prog = Program::new(n);
    add_common(&mut prog, n, constraints, false);
    let zeta = prog.add_var();
    prog.q[zeta] = 1.0;
    let tail = 1.0 / ((1.0 - confidence) * s_count as f64);
    for s in 0..s_count {
        let u = prog.add_var();
        prog.q[u] = tail;
        // −r_s'w − ζ − u_s ≤ 0
        let mut coefs: Vec<(usize, f64)> = (0..n).map(|i| (i, -scenarios[(s, i)])).collect();
        coefs.push((zeta, -1.0));
        coefs.push((u, -1.0));
        prog.le.push(Row { coefs, rhs: 0.0 });
        prog.le.push(Row {
            coefs: vec![(u, -1.0)],
            rhs: 0.0,
        });
    }
    let s = prog.solve("min_cvar")?;
    Ok(Optimum {
        weights: DVector::from_column_slice(&s.x[..n]),
        objective: s.obj,
        status: s.status,
        iterations: s.iterations,
    })
}

/// Long-only equal-risk-contribution (risk parity) portfolio: every asset contributes
/// the same `w_i (Σw)_i` to the variance (S. Maillard, T. Roncalli and J. Teïletche
/// (2010), "The properties of equally weighted risk contribution portfolios", Journal
/// of Portfolio Management 36(4), 60–70, §2.3): solve the strictly convex
/// `min ½ y'Σy − (1/n) Σ ln y_i` and return `w = y / Σ y`; for a diagonal `Σ` this is
/// `w_i ∝ 1/σ_i`.
///
/// Formulation: Clarabel with a quadratic objective and one exponential cone per asset,
/// `(t_i, 1, y_i) ∈ K_exp ⇔ e^{t_i} ≤ y_i`, maximising `(1/n) Σ t_i`. With no caps,
/// turnover or factor bounds the interior-point point is then polished by damped
/// Newton steps on the same smooth objective (gradient `Σy − 1/(n y)`, Hessian
/// `Σ + diag(1/(n y²))`, backtracking that keeps `y > 0`) until the Newton decrement is
/// below 1e-24, which brings the risk contributions equal to machine precision.
///
/// Constraints: always long-only (the logarithm needs `y > 0`). Caps, turnover and
/// factor bounds are imposed on `w = y/Σy` in homogenised form (see the module docs);
/// when they bind, contributions are no longer equal — the result is then the
/// constrained risk-budgeting portfolio of T. Richard and T. Roncalli (2019),
/// "Constrained risk budgeting portfolios", arXiv:1902.05710. Constraints that force
/// some weight to exactly zero (a zero cap) leave the logarithm without a minimiser:
/// that is an error ([`AnalyticsError::NotConverged`] or
/// [`AnalyticsError::SolverFailed`]), not a portfolio.
///
/// `objective` is the value of `½ y'Σy − (1/n) Σ ln y_i` at the optimal `y`.
///
/// Errors: as [`min_variance`]; a covariance that is not positive definite can make
/// the problem unbounded ([`AnalyticsError::SolverFailed`]).
pub fn risk_parity(
    cov: &DMatrix<f64>,
    constraints: &Constraints,
) -> Result<Optimum, AnalyticsError> {
    let cov = checked_cov("risk_parity covariance", cov)?;
    let n = cov.nrows();
    validate_constraints("risk_parity", n, constraints)?;
    ensure_feasible("risk_parity", n, constraints)?;
    let c = 1.0 / n as f64;
    let mut prog = Program::new(n);
    prog.add_quadratic(0, &cov);
    // add_quadratic puts y'Σy in the objective; the problem has ½ y'Σy, so halve P.
    for e in &mut prog.p {
        e.2 *= 0.5;
    }
    prog.kappa = Some(prog.add_var());
    add_common(&mut prog, n, constraints, true);
    for i in 0..n {
        let t = prog.add_var();
        prog.q[t] = -c;
        prog.exp.push([
            Row {
                coefs: vec![(t, -1.0)],
                rhs: 0.0,
            },
            Row {
                coefs: vec![],
                rhs: 1.0,
            },
            Row {
                coefs: vec![(i, -1.0)],
                rhs: 0.0,
            },
        ]);
    }
    let s = prog.solve("risk_parity")?;
    let mut y = DVector::from_column_slice(&s.x[..n]);
    let plain = constraints.caps.is_none()
        && constraints.turnover.is_none()
        && constraints.factor_bounds.is_none();
    if plain {
        y = newton_polish(&cov, y, c)?;
    }
    let objective = 0.5 * quad(&cov, &y) - c * y.iter().map(|v| v.ln()).sum::<f64>();
    let total = y.sum();
    Ok(Optimum {
        weights: y / total,
        objective,
        status: s.status,
        iterations: s.iterations,
    })
}

/// Damped Newton on `f(y) = ½ y'Σy − c Σ ln y_i` from an interior start (S. Boyd and
/// L. Vandenberghe (2004), *Convex Optimization*, §9.5, Algorithm 9.5 with
/// backtracking `α = 0.25`, `β = 0.5`).
fn newton_polish(
    cov: &DMatrix<f64>,
    mut y: DVector<f64>,
    c: f64,
) -> Result<DVector<f64>, AnalyticsError> {
    let f = |y: &DVector<f64>| 0.5 * quad(cov, y) - c * y.iter().map(|v| v.ln()).sum::<f64>();
    if y.iter().any(|v| *v <= 0.0) {
        return Err(AnalyticsError::SolverFailed(
            "risk_parity: interior-point solution is not strictly positive".into(),
        ));
    }
    const MAX_ITER: usize = 50;
    for _ in 0..MAX_ITER {
        let sy = cov * &y;
        let g = DVector::from_fn(y.len(), |i, _| sy[i] - c / y[i]);
        let mut h = cov.clone();
        for i in 0..y.len() {
            h[(i, i)] += c / (y[i] * y[i]);
        }
        let chol = h.cholesky().ok_or(AnalyticsError::NotPositiveDefinite)?;
        let dy = -chol.solve(&g);
        let decrement = -g.dot(&dy);
        if decrement <= 1e-24 {
            return Ok(y);
        }
        let f0 = f(&y);
        let mut step = 1.0;
        loop {
            let cand = &y + step * &dy;
            if cand.iter().all(|v| *v > 0.0) && f(&cand) <= f0 - 0.25 * step * decrement {
                y = cand;
                break;
            }
            step *= 0.5;
            if step < 1e-12 {
                // No further decrease representable: the start is optimal to rounding.
                return Ok(y);
            }
        }
    }
    Err(AnalyticsError::NotConverged {
        iterations: MAX_ITER,
    })
}

/// Maximum-diversification portfolio: `max (w'σ) / √(w'Σw)`, `σ_i = √Σ_ii` (Y.
/// Choueifaty and Y. Coignard (2008), "Toward maximum diversification", Journal of
/// Portfolio Management 35(1), 40–51), long-only.
///
/// Formulation: the equivalent QP `min y'Σy  s.t.  σ'y = 1, y ≥ 0` (Clarabel,
/// `P = 2Σ`), `w = y / Σ y`; caps, turnover and factor bounds enter in homogenised
/// form (module docs), which is exact because the ratio is scale invariant. At the
/// optimum `(Σw)_i / σ_i` is the same for every held asset and no smaller for the
/// others (the KKT conditions). `objective` is the diversification ratio
/// `(w'σ) / √(w'Σw)` at the solution (≥ 1 for long-only weights).
///
/// Errors: as [`min_variance`]; a zero-variance asset is refused (its σ_i = 0 makes
/// the ratio unbounded).
pub fn max_diversification(
    cov: &DMatrix<f64>,
    constraints: &Constraints,
) -> Result<Optimum, AnalyticsError> {
    let cov = checked_cov("max_diversification covariance", cov)?;
    let n = cov.nrows();
    validate_constraints("max_diversification", n, constraints)?;
    ensure_feasible("max_diversification", n, constraints)?;
    let sigma: Vec<f64> = (0..n).map(|i| cov[(i, i)].sqrt()).collect();
    if sigma.iter().any(|s| *s <= 0.0) {
        return Err(AnalyticsError::InvalidArgument(
            "max_diversification: every asset needs a positive variance".into(),
        ));
    }
    let mut prog = Program::new(n);
    prog.add_quadratic(0, &cov);
    prog.kappa = Some(prog.add_var());
    add_common(&mut prog, n, constraints, true);
    prog.eq.push(Row {
        coefs: sigma.iter().enumerate().map(|(i, &s)| (i, s)).collect(),
        rhs: 1.0,
    });
    let s = prog.solve("max_diversification")?;
    let y = DVector::from_column_slice(&s.x[..n]);
    let w = &y / y.sum();
    Ok(Optimum {
        objective: diversification_ratio(&cov, &w),
        weights: w,
        status: s.status,
        iterations: s.iterations,
    })
}

/// Diversification ratio `(w'σ) / √(w'Σw)`, `σ_i = √Σ_ii` (Choueifaty & Coignard
/// (2008), eq. (1)). NaN on a dimension mismatch.
pub fn diversification_ratio(cov: &DMatrix<f64>, w: &DVector<f64>) -> f64 {
    let n = w.len();
    if cov.nrows() != n || cov.ncols() != n {
        return f64::NAN;
    }
    let num: f64 = (0..n).map(|i| w[i] * cov[(i, i)].sqrt()).sum();
    num / quad(cov, w).sqrt()
}

/// Worst-case minimum variance over a set of covariance matrices (e.g. regime
/// covariances): `min_w max_k w'Σ_k w`, i.e. `min t s.t. w'Σ_k w ≤ t` (robust
/// mean-variance with a finite covariance uncertainty set; D. Goldfarb and G. Iyengar
/// (2003), "Robust portfolio selection problems", Mathematics of Operations Research
/// 28(1), 1–38; F. Lutgens and P. Schotman (2010), "Robust portfolio optimisation with
/// multiple experts", Review of Finance 14(2), 343–383).
///
/// Formulation: an SOCP handed to Clarabel. With the Cholesky factor `Σ_k = L_k L_k'`,
/// `w'Σ_k w ≤ t ⇔ ‖L_k'w‖ ≤ s` for the worst-case volatility `s = √t`, so each regime
/// is the second-order cone `(s, L_k'w)` and the objective is linear (`min s`, same
/// minimiser as `min t`, better scaled). `objective` is `t = max_k w'Σ_k w` at the
/// solution (a variance).
///
/// Errors: no matrices; matrices of different sizes; a matrix that is not positive
/// definite (no Cholesky factor); malformed constraints; [`AnalyticsError::Infeasible`].
pub fn worst_case_min_variance(
    covs: &[DMatrix<f64>],
    constraints: &Constraints,
) -> Result<Optimum, AnalyticsError> {
    let first = covs.first().ok_or_else(|| {
        AnalyticsError::InvalidArgument("worst_case_min_variance: no covariance matrices".into())
    })?;
    let n = first.nrows();
    let mut checked = Vec::with_capacity(covs.len());
    for cov in covs {
        let c = checked_cov("worst_case_min_variance covariance", cov)?;
        if c.nrows() != n {
            return Err(AnalyticsError::DimensionMismatch {
                what: "worst_case_min_variance covariances",
                expected: n,
                found: c.nrows(),
            });
        }
        checked.push(c);
    }
    validate_constraints("worst_case_min_variance", n, constraints)?;
    let mut prog = Program::new(n);
    add_common(&mut prog, n, constraints, false);
    let s_var = prog.add_var();
    prog.q[s_var] = 1.0;
    for cov in &checked {
        let l = cov
            .clone()
            .cholesky()
            .ok_or(AnalyticsError::NotPositiveDefinite)?
            .unpack();
        let mut block = vec![Row {
            coefs: vec![(s_var, -1.0)],
            rhs: 0.0,
        }];
        for j in 0..n {
            // (L'w)_j = Σ_{i ≥ j} L_ij w_i
            block.push(Row {
                coefs: (j..n).map(|i| (i, -l[(i, j)])).collect(),
                rhs: 0.0,
            });
        }
        prog.soc.push(block);
    }
    let s = prog.solve("worst_case_min_variance")?;
    let w = DVector::from_column_slice(&s.x[..n]);
    let objective = checked
        .iter()
        .map(|c| quad(c, &w))
        .fold(f64::NEG_INFINITY, f64::max);
    Ok(Optimum {
        weights: w,
        objective,
        status: s.status,
        iterations: s.iterations,
    })
}

/// A convex quadratic with asymmetric linear costs, for sizing hedges:
/// `min_h h'Gh − 2 c'h + Σ_i (up_i · max(h_i, 0) + down_i · max(−h_i, 0))`
/// subject to `a_r'h ≤ rhs_r` for each given row. With `G = B'ΣB + S` and `c = B'Σb`
/// this is the minimum-variance hedge of exposure `b` by instruments with factor
/// loadings `B` and independent basis variances `S` (Ederington 1979, extended to
/// several instruments and to basis risk as in Anderson & Danthine 1981, "Cross
/// hedging", Journal of Political Economy 89(6)), with a transaction/carry cost per
/// unit of position that may differ by side (shorting an ETF pays a borrow fee,
/// holding one its expense ratio). Without costs or rows the minimiser is `G⁻¹c`.
///
/// Formulation: a QP handed to Clarabel. Each side-dependent cost is linearised with
/// one auxiliary `u_i ≥ max(h_i, 0)` (rows `h_i − u_i ≤ 0`, `−u_i ≤ 0`) and cost
/// `(up_i + down_i) u_i − down_i h_i`, exact at the optimum for non-negative costs.
/// The problem is scaled by the largest diagonal of `G` before solving. `weights` is
/// `h`; `objective` the value of the expression above.
///
/// Errors: `G` not square, finite and symmetric; mismatched lengths; a negative or
/// non-finite cost; [`AnalyticsError::Infeasible`] when no `h` meets the rows.
pub fn min_quadratic_with_costs(
    gram: &DMatrix<f64>,
    linear: &DVector<f64>,
    up: &[f64],
    down: &[f64],
    rows: &[(Vec<f64>, f64)],
) -> Result<Optimum, AnalyticsError> {
    let what = "min_quadratic_with_costs";
    let g = checked_cov("min_quadratic_with_costs matrix", gram)?;
    let m = g.nrows();
    for (name, len) in [
        ("linear term", linear.len()),
        ("up costs", up.len()),
        ("down costs", down.len()),
    ] {
        if len != m {
            return Err(AnalyticsError::InvalidArgument(format!(
                "{what}: {name} has {len} entries for {m} variables"
            )));
        }
    }
    ensure_finite("linear term", linear.iter())?;
    if up.iter().chain(down).any(|c| !(c.is_finite() && *c >= 0.0)) {
        return Err(AnalyticsError::InvalidArgument(format!(
            "{what}: costs must be finite and non-negative"
        )));
    }
    for (a, rhs) in rows {
        if a.len() != m {
            return Err(AnalyticsError::InvalidArgument(format!(
                "{what}: a constraint row has {} entries for {m} variables",
                a.len()
            )));
        }
        ensure_finite("constraint row", a.iter().chain([rhs]))?;
    }
    let scale = (0..m).map(|i| g[(i, i)]).fold(0.0_f64, f64::max);
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let mut prog = Program::new(m);
    prog.add_quadratic(0, &(&g / scale));
    for i in 0..m {
        prog.q[i] = -2.0 * linear[i] / scale;
        if up[i] + down[i] > 0.0 {
            let u = prog.add_var();
            prog.q[u] = (up[i] + down[i]) / scale;
            prog.q[i] -= down[i] / scale;
            prog.le.push(Row {
                coefs: vec![(i, 1.0), (u, -1.0)],
                rhs: 0.0,
            });
            prog.le.push(Row {
                coefs: vec![(u, -1.0)],
                rhs: 0.0,
            });
        }
    }
    for (a, rhs) in rows {
        prog.le.push(Row {
            coefs: a.iter().copied().enumerate().collect(),
            rhs: *rhs,
        });
    }
    let s = prog.solve(what)?;
    let h = DVector::from_column_slice(&s.x[..m]);
    let cost: f64 = (0..m)
        .map(|i| up[i] * h[i].max(0.0) + down[i] * (-h[i]).max(0.0))
        .sum();
    Ok(Optimum {
        objective: quad(&g, &h) - 2.0 * linear.dot(&h) + cost,
        weights: h,
        status: s.status,
        iterations: s.iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64* — deterministic test data without a rand dependency.
    struct Rng(u64);
    impl Rng {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            // Box–Muller.
            let u = self.uniform().max(1e-300);
            let v = self.uniform();
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// A random, well-conditioned covariance with annual-style vols of 10–40%.
    fn random_cov(n: usize, seed: u64) -> DMatrix<f64> {
        let mut rng = Rng(seed);
        let a = DMatrix::from_fn(n, n + 3, |_, _| rng.normal());
        let mut c = &a * a.transpose() / (n + 3) as f64;
        for i in 0..n {
            c[(i, i)] += 0.2;
        }
        let d: Vec<f64> = (0..n).map(|i| c[(i, i)].sqrt()).collect();
        let vols: Vec<f64> = (0..n).map(|_| 0.1 + 0.3 * rng.uniform()).collect();
        DMatrix::from_fn(n, n, |i, j| c[(i, j)] / (d[i] * d[j]) * vols[i] * vols[j])
    }

    fn cov_from(vols: &[f64], corr: &[&[f64]]) -> DMatrix<f64> {
        let n = vols.len();
        DMatrix::from_fn(n, n, |i, j| vols[i] * vols[j] * corr[i][j])
    }

    fn random_scenarios(s: usize, n: usize, seed: u64) -> DMatrix<f64> {
        let mut rng = Rng(seed);
        let drift: Vec<f64> = (0..n).map(|i| 0.002 * i as f64).collect();
        let vol: Vec<f64> = (0..n).map(|i| 0.01 + 0.01 * i as f64).collect();
        let common: Vec<f64> = (0..s).map(|_| rng.normal()).collect();
        DMatrix::from_fn(s, n, |r, i| {
            drift[i] + vol[i] * (0.5 * common[r] + 0.8 * rng.normal())
        })
    }

    /// Rockafellar–Uryasev empirical CVaR: `min_ζ ζ + Σ (l_s − ζ)+ / ((1−β)S)`; the
    /// minimum of this convex piecewise-linear function of ζ is at one of the losses.
    fn ru_cvar(losses: &[f64], beta: f64) -> f64 {
        let k = 1.0 / ((1.0 - beta) * losses.len() as f64);
        losses
            .iter()
            .map(|&z| z + k * losses.iter().map(|&l| (l - z).max(0.0)).sum::<f64>())
            .fold(f64::INFINITY, f64::min)
    }

    fn losses(scen: &DMatrix<f64>, w: &[f64]) -> Vec<f64> {
        (0..scen.nrows())
            .map(|s| -(0..w.len()).map(|i| scen[(s, i)] * w[i]).sum::<f64>())
            .collect()
    }

    /// All points of the simplex in 3 assets on a grid of `steps` intervals.
    fn simplex3(steps: usize) -> impl Iterator<Item = [f64; 3]> {
        let h = 1.0 / steps as f64;
        (0..=steps).flat_map(move |i| {
            (0..=steps - i).map(move |j| {
                let (a, b) = (i as f64 * h, j as f64 * h);
                [a, b, 1.0 - a - b]
            })
        })
    }

    fn q3(cov: &DMatrix<f64>, w: &[f64; 3]) -> f64 {
        quad(cov, &DVector::from_column_slice(w))
    }

    fn closed_form_min_var(cov: &DMatrix<f64>) -> (DVector<f64>, f64) {
        let ones = DVector::from_element(cov.nrows(), 1.0);
        let x = cov.clone().cholesky().unwrap().solve(&ones);
        let s = x.sum();
        (x / s, 1.0 / s)
    }

    /// Checks every constraint of `c` at `w` within `tol`.
    fn assert_feasible(w: &DVector<f64>, c: &Constraints, tol: f64) {
        assert!((w.sum() - 1.0).abs() <= tol, "budget {}", w.sum());
        if c.long_only {
            assert!(w.iter().all(|x| *x >= -tol), "long-only violated: {w}");
        }
        if let Some(caps) = &c.caps {
            for (x, cap) in w.iter().zip(caps) {
                assert!(*x <= cap + tol, "cap violated: {x} > {cap}");
            }
        }
        if let Some(t) = &c.turnover {
            let to: f64 = w.iter().zip(&t.current).map(|(a, b)| (a - b).abs()).sum();
            assert!(to <= t.limit + tol, "turnover {to} > {}", t.limit);
        }
        if let Some(f) = &c.factor_bounds {
            let e = f.exposures.tr_mul(w);
            for j in 0..e.len() {
                assert!(
                    e[j] >= f.lower[j] - tol && e[j] <= f.upper[j] + tol,
                    "factor {j}: {}",
                    e[j]
                );
            }
        }
    }

    // ---------------- minimum variance ----------------

    #[test]
    fn min_variance_budget_only_is_the_closed_form() {
        let cov = random_cov(6, 11);
        let (w_star, v_star) = closed_form_min_var(&cov);
        assert!(
            w_star.iter().any(|x| *x < 0.0),
            "want a short in the closed form: {w_star}"
        );
        let opt = min_variance(&cov, &Constraints::default()).unwrap();
        assert_eq!(opt.status, SolveStatus::Solved);
        for i in 0..6 {
            assert!(
                (opt.weights[i] - w_star[i]).abs() < 1e-7,
                "{} vs {}",
                opt.weights[i],
                w_star[i]
            );
        }
        assert!((opt.objective - v_star).abs() < 1e-9 * v_star);
    }

    #[test]
    fn min_variance_long_only_matches_a_grid_on_three_assets() {
        // Asset 3 is a noisier copy of asset 1: unconstrained, it is shorted.
        let cov = cov_from(
            &[0.10, 0.15, 0.20],
            &[&[1.0, 0.2, 0.9], &[0.2, 1.0, 0.3], &[0.9, 0.3, 1.0]],
        );
        let (w_free, _) = closed_form_min_var(&cov);
        assert!(
            w_free[2] < -0.05,
            "the test case needs an active bound: {w_free}"
        );
        let c = Constraints {
            long_only: true,
            ..Constraints::default()
        };
        let opt = min_variance(&cov, &c).unwrap();
        let (best, arg) =
            simplex3(2000)
                .map(|w| (q3(&cov, &w), w))
                .fold(
                    (f64::INFINITY, [0.0; 3]),
                    |a, b| if b.0 < a.0 { b } else { a },
                );
        assert!(
            opt.objective <= best + 1e-12,
            "{} vs grid {best}",
            opt.objective
        );
        assert!(best - opt.objective < 1e-6 * best);
        for i in 0..3 {
            assert!(
                (opt.weights[i] - arg[i]).abs() < 1e-3,
                "{} vs {:?}",
                opt.weights,
                arg
            );
        }
        assert!(opt.weights[2].abs() < 1e-8);
    }

    // ---------------- minimum CVaR ----------------

    #[test]
    fn min_cvar_two_assets_matches_exact_breakpoint_search() {
        let scen = random_scenarios(20, 2, 5);
        let c = Constraints {
            long_only: true,
            ..Constraints::default()
        };
        for beta in [0.8, 0.87] {
            let opt = min_cvar(&scen, beta, &c).unwrap();
            // CVaR(a) for w = (a, 1 − a) is convex and piecewise linear with kinks only
            // where two scenario losses cross: its minimum on [0, 1] is at a crossing
            // or an end point.
            let mut cands = vec![0.0, 1.0];
            for s in 0..20 {
                for t in 0..s {
                    let (ds, dt) = (scen[(s, 0)] - scen[(s, 1)], scen[(t, 0)] - scen[(t, 1)]);
                    if ds != dt {
                        let a = (scen[(t, 1)] - scen[(s, 1)]) / (ds - dt);
                        if (0.0..=1.0).contains(&a) {
                            cands.push(a);
                        }
                    }
                }
            }
            let (best, arg) = cands
                .iter()
                .map(|&a| (ru_cvar(&losses(&scen, &[a, 1.0 - a]), beta), a))
                .fold((f64::INFINITY, 0.0), |x, y| if y.0 < x.0 { y } else { x });
            assert!(
                (opt.objective - best).abs() <= 1e-6 * best.abs(),
                "beta {beta}: {} vs exact {best}",
                opt.objective
            );
            assert!(
                (opt.weights[0] - arg).abs() < 1e-5,
                "{} vs {arg}",
                opt.weights[0]
            );
            // The reported value is the CVaR of the reported weights.
            let own = ru_cvar(&losses(&scen, opt.weights.as_slice()), beta);
            assert!((own - opt.objective).abs() <= 1e-7 * best.abs());
        }
    }

    #[test]
    fn min_cvar_three_assets_is_no_worse_than_a_grid() {
        let scen = random_scenarios(20, 3, 9);
        let c = Constraints {
            long_only: true,
            ..Constraints::default()
        };
        let opt = min_cvar(&scen, 0.85, &c).unwrap();
        let best = simplex3(400)
            .map(|w| ru_cvar(&losses(&scen, &w), 0.85))
            .fold(f64::INFINITY, f64::min);
        assert!(
            opt.objective <= best + 1e-9,
            "{} vs grid {best}",
            opt.objective
        );
        assert!(best - opt.objective < 1e-3 * best.abs().max(1e-3));
    }

    #[test]
    fn min_cvar_rejects_bad_confidence() {
        let scen = random_scenarios(10, 2, 1);
        for beta in [0.0, 1.0, f64::NAN] {
            assert!(matches!(
                min_cvar(&scen, beta, &Constraints::default()),
                Err(AnalyticsError::InvalidArgument(_))
            ));
        }
    }

    // ---------------- risk parity ----------------

    #[test]
    fn risk_parity_equalises_risk_contributions() {
        let cov = random_cov(7, 3);
        let opt = risk_parity(&cov, &Constraints::default()).unwrap();
        let w = &opt.weights;
        assert!((w.sum() - 1.0).abs() < 1e-12);
        assert!(w.iter().all(|x| *x > 0.0));
        let m = &cov * w;
        let rc: Vec<f64> = (0..7).map(|i| w[i] * m[i]).collect();
        let mean = rc.iter().sum::<f64>() / 7.0;
        for r in &rc {
            assert!((r - mean).abs() <= 1e-8 * mean, "{rc:?}");
        }
    }

    #[test]
    fn risk_parity_with_diagonal_covariance_is_inverse_volatility() {
        let vols = [0.05, 0.1, 0.2, 0.4];
        let cov = DMatrix::from_fn(4, 4, |i, j| if i == j { vols[i] * vols[i] } else { 0.0 });
        let opt = risk_parity(&cov, &Constraints::default()).unwrap();
        let norm: f64 = vols.iter().map(|v| 1.0 / v).sum();
        for (i, v) in vols.iter().enumerate() {
            assert!((opt.weights[i] - 1.0 / v / norm).abs() < 1e-10);
        }
    }

    // ---------------- maximum diversification ----------------

    #[test]
    fn max_diversification_equal_correlation_is_inverse_volatility() {
        // With R = (1−ρ)I + ρ11', 1 is an eigenvector of R, so Σ⁻¹σ = D⁻¹R⁻¹1 ∝ 1/σ
        // (the unconstrained optimum, positive, hence also the long-only one).
        let vols = [0.1, 0.2, 0.3, 0.25];
        let rho = 0.4;
        let cov = DMatrix::from_fn(4, 4, |i, j| {
            vols[i] * vols[j] * if i == j { 1.0 } else { rho }
        });
        let opt = max_diversification(&cov, &Constraints::default()).unwrap();
        let norm: f64 = vols.iter().map(|v| 1.0 / v).sum();
        for (i, v) in vols.iter().enumerate() {
            assert!(
                (opt.weights[i] - 1.0 / v / norm).abs() < 1e-7,
                "{}",
                opt.weights
            );
        }
    }

    #[test]
    fn max_diversification_beats_equal_weight_and_min_variance_and_meets_kkt() {
        let cov = random_cov(8, 21);
        let opt = max_diversification(&cov, &Constraints::default()).unwrap();
        let ew = DVector::from_element(8, 1.0 / 8.0);
        let lo = Constraints {
            long_only: true,
            ..Constraints::default()
        };
        let mv = min_variance(&cov, &lo).unwrap();
        assert!(opt.objective >= diversification_ratio(&cov, &ew) - 1e-12);
        assert!(opt.objective >= diversification_ratio(&cov, &mv.weights) - 1e-12);
        assert!((opt.objective - diversification_ratio(&cov, &opt.weights)).abs() < 1e-14);
        // KKT of min y'Σy s.t. σ'y = 1, y ≥ 0: (Σy)_i / σ_i = λ where y_i > 0, ≥ λ else.
        let m = &cov * &opt.weights;
        let ratio: Vec<f64> = (0..8).map(|i| m[i] / cov[(i, i)].sqrt()).collect();
        let active: Vec<usize> = (0..8).filter(|&i| opt.weights[i] > 1e-6).collect();
        assert!(active.len() >= 2);
        let lambda = ratio[active[0]];
        for i in 0..8 {
            if active.contains(&i) {
                assert!((ratio[i] - lambda).abs() < 1e-6 * lambda, "{ratio:?}");
            } else {
                assert!(ratio[i] >= lambda * (1.0 - 1e-6), "{ratio:?}");
            }
        }
    }

    // ---------------- worst-case minimum variance ----------------

    #[test]
    fn worst_case_with_one_matrix_is_min_variance() {
        let cov = random_cov(6, 31);
        for c in [
            Constraints::default(),
            Constraints {
                long_only: true,
                ..Constraints::default()
            },
        ] {
            let mv = min_variance(&cov, &c).unwrap();
            let wc = worst_case_min_variance(std::slice::from_ref(&cov), &c).unwrap();
            assert!((wc.objective - mv.objective).abs() < 1e-8 * mv.objective);
            assert!((&wc.weights - &mv.weights).amax() < 1e-5);
        }
    }

    #[test]
    fn worst_case_with_two_regimes_matches_a_grid() {
        let calm = cov_from(
            &[0.10, 0.15, 0.20],
            &[&[1.0, 0.2, 0.1], &[0.2, 1.0, 0.3], &[0.1, 0.3, 1.0]],
        );
        let crisis = cov_from(
            &[0.30, 0.18, 0.25],
            &[&[1.0, 0.8, 0.7], &[0.8, 1.0, 0.6], &[0.7, 0.6, 1.0]],
        );
        let c = Constraints {
            long_only: true,
            ..Constraints::default()
        };
        let wc = worst_case_min_variance(&[calm.clone(), crisis.clone()], &c).unwrap();
        let worst = |w: &DVector<f64>| quad(&calm, w).max(quad(&crisis, w));
        assert!((wc.objective - worst(&wc.weights)).abs() < 1e-15);
        for cov in [&calm, &crisis] {
            let mv = min_variance(cov, &c).unwrap();
            assert!(wc.objective >= mv.objective - 1e-10);
            // ... and no worse than holding either regime's own minimum-variance mix.
            assert!(wc.objective <= worst(&mv.weights) + 1e-10);
        }
        let best = simplex3(2000)
            .map(|w| q3(&calm, &w).max(q3(&crisis, &w)))
            .fold(f64::INFINITY, f64::min);
        assert!(
            wc.objective <= best + 1e-10,
            "{} vs grid {best}",
            wc.objective
        );
        assert!(best - wc.objective < 1e-4 * best);
    }

    // ---------------- constraints ----------------

    fn binding_constraints(n: usize, seed: u64) -> Constraints {
        let mut rng = Rng(seed);
        let current: Vec<f64> = (0..n).map(|_| 1.0 / n as f64).collect();
        let b = DMatrix::from_fn(n, 2, |_, _| rng.normal());
        let e0 = b.tr_mul(&DVector::from_column_slice(&current));
        Constraints {
            long_only: true,
            caps: Some(vec![0.2; n]),
            turnover: Some(Turnover {
                current,
                limit: 0.4,
            }),
            factor_bounds: Some(FactorBounds {
                exposures: b,
                lower: vec![e0[0] - 0.05, f64::NEG_INFINITY],
                upper: vec![e0[0] + 0.05, e0[1] + 0.02],
            }),
        }
    }

    #[test]
    fn every_problem_respects_caps_turnover_and_factor_bounds() {
        let n = 8;
        let cov = random_cov(n, 41);
        let cov2 = random_cov(n, 42);
        let scen = random_scenarios(60, n, 43);
        let c = binding_constraints(n, 44);
        let results = [
            ("min_variance", min_variance(&cov, &c).unwrap()),
            ("min_cvar", min_cvar(&scen, 0.9, &c).unwrap()),
            ("risk_parity", risk_parity(&cov, &c).unwrap()),
            (
                "max_diversification",
                max_diversification(&cov, &c).unwrap(),
            ),
            (
                "worst_case",
                worst_case_min_variance(&[cov.clone(), cov2], &c).unwrap(),
            ),
        ];
        for (name, opt) in &results {
            assert_eq!(opt.status, SolveStatus::Solved, "{name}");
            assert_feasible(&opt.weights, &c, 1e-7);
        }
        // The constraints bind: unconstrained long-only min variance leaves the set.
        let free = min_variance(
            &cov,
            &Constraints {
                long_only: true,
                ..Constraints::default()
            },
        )
        .unwrap();
        let to: f64 = free
            .weights
            .iter()
            .map(|x| (x - 1.0 / n as f64).abs())
            .sum();
        let capped = free.weights.iter().any(|x| *x > 0.2 + 1e-6);
        assert!(to > 0.4 || capped, "test constraints do not bind");
        let constrained = &results[0].1;
        assert!(constrained.objective >= free.objective - 1e-12);
    }

    #[test]
    fn caps_summing_below_one_are_infeasible() {
        let n = 5;
        let cov = random_cov(n, 51);
        let scen = random_scenarios(30, n, 52);
        let c = Constraints {
            long_only: true,
            caps: Some(vec![0.19; n]),
            ..Constraints::default()
        };
        let all = [
            min_variance(&cov, &c),
            min_cvar(&scen, 0.95, &c),
            risk_parity(&cov, &c),
            max_diversification(&cov, &c),
            worst_case_min_variance(std::slice::from_ref(&cov), &c),
        ];
        for (i, r) in all.into_iter().enumerate() {
            let e = r.expect_err(&format!("problem {i}"));
            assert!(
                matches!(e, AnalyticsError::Infeasible(_)),
                "problem {i}: {e}"
            );
            assert!(e.to_string().contains("infeasible"));
        }
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let cov = random_cov(3, 61);
        let c = Constraints {
            caps: Some(vec![0.5; 2]),
            ..Constraints::default()
        };
        assert!(matches!(
            min_variance(&cov, &c),
            Err(AnalyticsError::DimensionMismatch { .. })
        ));
        let mut asym = cov.clone();
        asym[(0, 1)] += 0.01;
        assert!(min_variance(&asym, &Constraints::default()).is_err());
        assert!(worst_case_min_variance(&[], &Constraints::default()).is_err());
        let neg = Constraints {
            turnover: Some(Turnover {
                current: vec![0.3; 3],
                limit: -1.0,
            }),
            ..Constraints::default()
        };
        assert!(risk_parity(&cov, &neg).is_err());
        // Risk parity needs every asset strictly held: a zero cap leaves no solution.
        let zero_cap = Constraints {
            caps: Some(vec![0.0, 1.0, 1.0]),
            ..Constraints::default()
        };
        assert!(matches!(
            risk_parity(&cov, &zero_cap),
            Err(AnalyticsError::NotConverged { .. } | AnalyticsError::SolverFailed(_))
        ));
        // An indefinite "covariance" makes the QP unbounded: an error, not a panic.
        let indefinite = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(min_variance(&indefinite, &Constraints::default()).is_err());
        assert!(matches!(
            worst_case_min_variance(&[indefinite], &Constraints::default()),
            Err(AnalyticsError::NotPositiveDefinite)
        ));
    }

    /// Every problem solves at the size the factor workflow will use (n = 30 assets,
    /// S = 500 scenarios). It also prints the solve times — a measurement, never
    /// asserted; the figures quoted come from
    /// `cargo test -p stresslab-analytics --release -- --nocapture solves_at_n30_s500`.
    #[test]
    fn solves_at_n30_s500() {
        let n = 30;
        let cov = random_cov(n, 71);
        let cov2 = random_cov(n, 72);
        let scen = random_scenarios(500, n, 73);
        let lo = Constraints {
            long_only: true,
            ..Constraints::default()
        };
        let full = binding_constraints(n, 74);
        for (label, c) in [("long-only", &lo), ("caps+turnover+factors", &full)] {
            let t = std::time::Instant::now();
            let r = min_variance(&cov, c).unwrap();
            assert_eq!(r.status, SolveStatus::Solved);
            assert!((r.weights.sum() - 1.0).abs() < 1e-7);
            println!(
                "{label:24} min_variance        {:>8.2?} ({} it, {:?})",
                t.elapsed(),
                r.iterations,
                r.status
            );
            let t = std::time::Instant::now();
            let r = min_cvar(&scen, 0.95, c).unwrap();
            assert_eq!(r.status, SolveStatus::Solved);
            assert!((r.weights.sum() - 1.0).abs() < 1e-7);
            println!(
                "{label:24} min_cvar            {:>8.2?} ({} it, {:?})",
                t.elapsed(),
                r.iterations,
                r.status
            );
            let t = std::time::Instant::now();
            let r = risk_parity(&cov, c).unwrap();
            assert_eq!(r.status, SolveStatus::Solved);
            assert!((r.weights.sum() - 1.0).abs() < 1e-7);
            println!(
                "{label:24} risk_parity         {:>8.2?} ({} it, {:?})",
                t.elapsed(),
                r.iterations,
                r.status
            );
            let t = std::time::Instant::now();
            let r = max_diversification(&cov, c).unwrap();
            assert_eq!(r.status, SolveStatus::Solved);
            assert!((r.weights.sum() - 1.0).abs() < 1e-7);
            println!(
                "{label:24} max_diversification {:>8.2?} ({} it, {:?})",
                t.elapsed(),
                r.iterations,
                r.status
            );
            let t = std::time::Instant::now();
            let r = worst_case_min_variance(&[cov.clone(), cov2.clone()], c).unwrap();
            assert_eq!(r.status, SolveStatus::Solved);
            assert!((r.weights.sum() - 1.0).abs() < 1e-7);
            println!(
                "{label:24} worst_case (K=2)    {:>8.2?} ({} it, {:?})",
                t.elapsed(),
                r.iterations,
                r.status
            );
        }
    }
    #[test]
    fn quadratic_with_costs_matches_closed_form_and_brute_force() {
        let g = DMatrix::from_row_slice(2, 2, &[2.0, 0.6, 0.6, 1.0]);
        let c = DVector::from_column_slice(&[1.0, -0.4]);
        // No costs, no rows: G⁻¹c.
        let free = min_quadratic_with_costs(&g, &c, &[0.0; 2], &[0.0; 2], &[]).unwrap();
        let exact = g.clone().lu().solve(&c).unwrap();
        assert!((&free.weights - &exact).norm() < 1e-7, "{}", free.weights);
        // Costs on each side and a cap h₀ ≤ 0.4: the grid minimum of the same objective.
        let (up, down) = ([0.3, 0.05], [0.1, 0.2]);
        let f = |h: [f64; 2]| {
            let v = DVector::from_column_slice(&h);
            quad(&g, &v) - 2.0 * c.dot(&v)
                + (0..2)
                    .map(|i| up[i] * h[i].max(0.0) + down[i] * (-h[i]).max(0.0))
                    .sum::<f64>()
        };
        let got = min_quadratic_with_costs(&g, &c, &up, &down, &[(vec![1.0, 0.0], 0.4)]).unwrap();
        // A coarse grid over [−1, 0.4] × [−1, 1], then a fine one around its best.
        let search = |lo: [f64; 2], hi: [f64; 2], best: &mut ([f64; 2], f64)| {
            for i in 0..=200 {
                for j in 0..=200 {
                    let h = [
                        lo[0] + (hi[0] - lo[0]) * i as f64 / 200.0,
                        lo[1] + (hi[1] - lo[1]) * j as f64 / 200.0,
                    ];
                    if h[0] <= 0.4 && f(h) < best.1 {
                        *best = (h, f(h));
                    }
                }
            }
        };
        let mut best = ([0.0, 0.0], f64::INFINITY);
        search([-1.0, -1.0], [0.4, 1.0], &mut best);
        let b0 = best.0;
        search(
            [b0[0] - 0.01, b0[1] - 0.01],
            [b0[0] + 0.01, b0[1] + 0.01],
            &mut best,
        );
        assert!(got.weights[0] <= 0.4 + 1e-8);
        assert!(
            (got.objective - best.1).abs() < 1e-5,
            "{} vs {}",
            got.objective,
            best.1
        );
        assert!(
            (got.weights[0] - best.0[0]).abs() < 3e-3 && (got.weights[1] - best.0[1]).abs() < 3e-3
        );
        assert!((f([got.weights[0], got.weights[1]]) - got.objective).abs() < 1e-12);
    }
}
