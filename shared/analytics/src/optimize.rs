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
        for i in 0..n {
            prog.le_w(vec![(i, 1.0), (d[i], -1.0)], t.current[i]);
            prog.le_w(vec![(i, -1.0), (d[i], -1.0)], -t.current[i]);
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
/// "Constrained risk budgeting portfolios", arXiv:1902.05710.
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
