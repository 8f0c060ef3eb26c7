//! The lane kernel: `L` paths advance together, one path per SIMD lane, every per-path
//! quantity a `[T; L]` array (structure of arrays). Each loop below is lane-wise with a
//! constant trip count, which LLVM turns into packed SIMD code; the caller compiles the
//! whole block loop once per instruction set and picks the CPU's best at run time
//! (`pulp`: AVX-512 zmm code on our EPYC, AVX2/FMA elsewhere on x86-64, NEON on
//! Graviton). No lane ever reads another, so a path's numbers do not depend on which
//! lane or block it runs in, and only IEEE operations with explicit FMAs are used, so
//! they do not depend on the instruction set either.
//!
//! Checked in the assembly (objdump of the bench binary): the day loop is packed
//! `vfmadd…ps`/`vsqrtps`/`vcvtdq2ps` on zmm registers with embedded broadcasts, the
//! xoshiro256** rotates are single `vprolq`s; gathers and scatters appear only in the
//! once-per-block set-up.

use super::normal::fill_normal_pairs;
use super::PathSpec;
use crate::factors::N_FACTORS;
use stresslab_analytics::rng::SplitMix64;
use wide::u64x4;

const N: usize = N_FACTORS;

/// The arithmetic of the inner loop: f32 (16 lanes per AVX-512 register) or f64 (8).
pub(crate) trait Real: Copy + Default + Send + Sync + 'static {
    fn from_f64(x: f64) -> Self;
    fn from_f32(x: f32) -> Self;
    fn to_f64(self) -> f64;
    fn mul_add(self, a: Self, b: Self) -> Self;
    fn mul(self, a: Self) -> Self;
    fn add(self, a: Self) -> Self;
    fn sqrt(self) -> Self;
    fn is_negative(self) -> bool;
    fn min(self, a: Self) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn min(self, a: Self) -> Self {
        // `if` rather than f32::min: no NaN handling needed, and it compiles to vminps.
        if a < self {
            a
        } else {
            self
        }
    }
    #[inline(always)]
    fn add(self, a: Self) -> Self {
        self + a
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }
    #[inline(always)]
    fn mul(self, a: Self) -> Self {
        self * a
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn is_negative(self) -> bool {
        self < 0.0
    }
}

impl Real for f64 {
    #[inline(always)]
    fn min(self, a: Self) -> Self {
        if a < self {
            a
        } else {
            self
        }
    }
    #[inline(always)]
    fn add(self, a: Self) -> Self {
        self + a
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        f64::from(x)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn mul(self, a: Self) -> Self {
        self * a
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn is_negative(self) -> bool {
        self < 0.0
    }
}

/// The seed of path `path`'s stream: SplitMix64's output function chained over
/// (seed, scenario, path). Each step is a bijection of its input, so within one
/// (seed, scenario) distinct paths always get distinct streams.
pub fn path_stream_seed(seed: u64, scenario: u64, path: u64) -> u64 {
    let h = SplitMix64(seed).next_u64();
    let h = SplitMix64(h ^ scenario).next_u64();
    SplitMix64(h ^ path).next_u64()
}

/// xoshiro256** (Blackman & Vigna 2021) in `L` lanes: lane k is exactly the stream of
/// `stresslab_analytics::rng::Xoshiro256::seed_from_u64(path_stream_seed(..))` for its
/// path (test `lane_streams_are_the_house_generator`).
#[derive(Clone)]
pub(crate) struct LaneRng<const L: usize> {
    s: [[u64; L]; 4],
    /// 2 and 3, hidden from the optimiser: see `fill_day`.
    shift_by_2: u32,
    shift_by_3: u32,
}

/// Outputs per path and day: ten for the twenty normals, one for the regime.
pub(crate) const DRAWS_PER_DAY: usize = N / 2 + 1;

impl<const L: usize> LaneRng<L> {
    const FOUR_LANE_GROUPS: () = assert!(L.is_multiple_of(4), "lanes come in groups of four");

    pub(crate) fn new(seed: u64, scenario: u64, first_path: u64) -> Self {
        let () = Self::FOUR_LANE_GROUPS;
        let mut s = [[0u64; L]; 4];
        for k in 0..L {
            let mut sm = SplitMix64(path_stream_seed(seed, scenario, first_path + k as u64));
            for word in s.iter_mut() {
                word[k] = sm.next_u64();
            }
        }
        Self {
            s,
            shift_by_2: std::hint::black_box(2),
            shift_by_3: std::hint::black_box(3),
        }
    }

    /// One output of every lane (the plain form, for tests).
    #[cfg(test)]
    pub(crate) fn next(&mut self) -> [u64; L] {
        let mut out = [0u64; L];
        for k in 0..L {
            let [s0, s1, s2, s3] = &mut self.s;
            let mut state = [s0[k], s1[k], s2[k], s3[k]];
            out[k] = xoshiro_step(&mut state, 2, 3);
            [s0[k], s1[k], s2[k], s3[k]] = state;
        }
        out
    }

    /// A day's draws of every lane: `radius_bits[i]` / `angle_bits[i]` the low / high
    /// halves of output i < 10 (the Box–Muller pair of factors 2i, 2i + 1),
    /// `regime_bits` the high half of output 10.
    ///
    /// Four lanes at a time (one AVX2 register per state word) through all eleven
    /// outputs, so the state stays in registers. The scrambler's ×5 and ×9 are written
    /// x + (x << 2) and x + (x << 3) with shift amounts the optimiser cannot see: with
    /// constants LLVM folds them back into multiplies, which AVX2 (no 64-bit vector
    /// multiply) lowers to five instructions each instead of two.
    #[inline(always)]
    pub(crate) fn fill_day(
        &mut self,
        radius_bits: &mut [[u32; L]; N / 2],
        angle_bits: &mut [[u32; L]; N / 2],
        regime_bits: &mut [u32; L],
    ) {
        let (by2, by3) = (self.shift_by_2, self.shift_by_3);
        for q in 0..L / 4 {
            let mut st: [u64x4; 4] =
                std::array::from_fn(|w| u64x4::new(std::array::from_fn(|k| self.s[w][4 * q + k])));
            for d in 0..DRAWS_PER_DAY {
                let out = xoshiro_step_x4(&mut st, by2, by3);
                // Little-endian halves: word 2k is lane k's low 32 bits, 2k + 1 its high.
                let halves: [u32; 8] = bytemuck::cast(out.to_array());
                if d < N / 2 {
                    for k in 0..4 {
                        radius_bits[d][4 * q + k] = halves[2 * k];
                        angle_bits[d][4 * q + k] = halves[2 * k + 1];
                    }
                } else {
                    for k in 0..4 {
                        regime_bits[4 * q + k] = halves[2 * k + 1];
                    }
                }
            }
            for (w, word) in st.iter().enumerate() {
                self.s[w][4 * q..4 * q + 4].copy_from_slice(&word.to_array());
            }
        }
    }
}

/// xoshiro256** (`stresslab_analytics::rng::Xoshiro256::next_u64`) in scalar form with
/// the scrambler's multiplies as shift-and-add (`by2`, `by3` = 2, 3), for tests.
#[cfg(test)]
fn xoshiro_step(s: &mut [u64; 4], by2: u32, by3: u32) -> u64 {
    let times5 = s[1].wrapping_add(s[1] << by2);
    let r = times5.rotate_left(7);
    let result = r.wrapping_add(r << by3);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

/// Four lanes of [`xoshiro_step`] in explicit SIMD (`wide`): left to itself LLVM
/// scalarises the 64-bit rotates on AVX2.
#[inline(always)]
fn xoshiro_step_x4(s: &mut [u64x4; 4], by2: u32, by3: u32) -> u64x4 {
    let rotl = |x: u64x4, k: u32| x.unbounded_shl_scalar(k) | x.unbounded_shr_scalar(64 - k);
    let times5 = s[1] + s[1].unbounded_shl_scalar(by2);
    let r = rotl(times5, 7);
    let result = r + r.unbounded_shl_scalar(by3);
    let t = s[1].unbounded_shl_scalar(17);
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    result
}

/// Probability as a threshold on 32 random bits: P(bits < threshold) = threshold / 2³²
/// (to 2⁻³³), compared as integers so every implementation switches regime on the same
/// draws.
pub(crate) fn probability_threshold(p: f64) -> i64 {
    (p * 4_294_967_296.0).round() as i64
}

/// A validated spec turned into the per-day coefficients of the recursion.
pub(crate) struct Model<T> {
    /// Lower Cholesky factor, row i holding L[i][0..=i].
    pub(crate) cholesky: [[T; N]; N],
    /// The GARCH state is kept as s²·h, s the OU shock scale below, so √ of it is the
    /// day's shock scale directly: ω and the start variance carry the s².
    pub(crate) omega: [T; N],
    pub(crate) alpha: [T; N],
    /// α + γ: the ARCH weight after a negative shock (leverage).
    pub(crate) alpha_down: [T; N],
    pub(crate) beta: [T; N],
    /// Start (and long-run) daily variance times s², with s = √((1 − e^{−2κΔ})/(2κΔ))
    /// the factor that makes the OU step's variance exact (1 for κ = 0).
    pub(crate) variance: [T; N],
    /// e^{−κ/252}: the exact OU decay over one day (1 for a random walk).
    pub(crate) decay: [T; N],
    /// Drift over one day, μ(1 − e^{−κΔ})/κ (μΔ for κ = 0).
    pub(crate) drift: [T; N],
    /// Ceiling of the (scaled) daily variance.
    pub(crate) variance_cap: [T; N],
    pub(crate) stress_gain: T,
    pub(crate) start_threshold: i64,
    pub(crate) enter_threshold: i64,
    pub(crate) leave_threshold: i64,
}

impl<T: Real> Model<T> {
    /// Assumes `spec` passed `PathSpec::validate`.
    pub(crate) fn new(spec: &PathSpec) -> Self {
        let mut m = Model {
            cholesky: [[T::default(); N]; N],
            omega: [T::default(); N],
            alpha: [T::default(); N],
            alpha_down: [T::default(); N],
            beta: [T::default(); N],
            variance: [T::default(); N],
            decay: [T::default(); N],
            drift: [T::default(); N],
            variance_cap: [T::default(); N],
            stress_gain: T::from_f64(spec.regime.stress_vol_multiplier),
            start_threshold: probability_threshold(spec.regime.start_stressed),
            enter_threshold: probability_threshold(spec.regime.p_enter_stress),
            leave_threshold: probability_threshold(spec.regime.p_leave_stress),
        };
        for i in 0..N {
            for j in 0..=i {
                m.cholesky[i][j] = T::from_f64(spec.cholesky[i * N + j]);
            }
            let c = super::DailyCoefficients::of(&spec.factors[i]);
            let s2 = c.shock_scale * c.shock_scale;
            m.omega[i] = T::from_f64(c.omega * s2);
            m.alpha[i] = T::from_f64(c.alpha);
            m.alpha_down[i] = T::from_f64(c.alpha + c.gamma);
            m.beta[i] = T::from_f64(c.beta);
            m.variance[i] = T::from_f64(c.variance * s2);
            m.decay[i] = T::from_f64(c.decay);
            m.drift[i] = T::from_f64(c.drift);
            m.variance_cap[i] = T::from_f64(c.variance_cap * s2);
        }
        m
    }
}

/// Where a lane block writes: `values[(checkpoint · N + factor) · stride + offset + k]`
/// for lanes k < `valid`.
pub(crate) struct BlockOutput<'a> {
    pub(crate) values: &'a mut [f64],
    pub(crate) stride: usize,
    pub(crate) offset: usize,
    pub(crate) valid: usize,
}

/// Rows of the Cholesky product computed together.
const ROWS: usize = 4;
const _: () = assert!(N.is_multiple_of(ROWS));

/// Simulate `L` consecutive paths starting at `first_path` over the spec's horizon.
#[inline(always)]
pub(crate) fn simulate_lanes<T: Real, const L: usize>(
    model: &Model<T>,
    checkpoints: &[u32],
    horizon: u32,
    rng: &mut LaneRng<L>,
    out: BlockOutput<'_>,
) {
    let mut variance = [[T::default(); L]; N];
    let mut level = [[T::default(); L]; N];
    for f in 0..N {
        variance[f] = [model.variance[f]; L];
    }
    let mut stressed = [0i64; L];
    let mut next_checkpoint = 0usize;
    let mut radius_bits = [[0u32; L]; N / 2];
    let mut angle_bits = [[0u32; L]; N / 2];
    let mut regime_bits = [0u32; L];
    let mut cos_eps = [[0f32; L]; N / 2];
    let mut sin_eps = [[0f32; L]; N / 2];
    let mut eps = [[T::default(); L]; N];
    for day in 1..=horizon {
        rng.fill_day(&mut radius_bits, &mut angle_bits, &mut regime_bits);
        // All ten pairs as one lane array: long loops give LLVM independent chains.
        fill_normal_pairs(
            radius_bits.as_flattened(),
            angle_bits.as_flattened(),
            cos_eps.as_flattened_mut(),
            sin_eps.as_flattened_mut(),
        );
        for pair in 0..N / 2 {
            for k in 0..L {
                eps[2 * pair][k] = T::from_f32(cos_eps[pair][k]);
            }
            for k in 0..L {
                eps[2 * pair + 1][k] = T::from_f32(sin_eps[pair][k]);
            }
        }
        let gain = regime_gain(model, day, &regime_bits, &mut stressed);
        // Correlated shocks z_f = Σ_{j ≤ f} L[f][j] ε_j, four rows at a time: each ε_j
        // load serves four FMAs and the four accumulators (× L/8 registers) are
        // independent chains, so the FMA units stay busy instead of waiting on one sum.
        // L is stored with zeros above the diagonal; the few FMAs with them add 0.
        for f0 in (0..N).step_by(ROWS) {
            let mut z = [[T::default(); L]; ROWS];
            for j in 0..f0 + ROWS {
                for r in 0..ROWS {
                    let c = model.cholesky[f0 + r][j];
                    for k in 0..L {
                        z[r][k] = c.mul_add(eps[j][k], z[r][k]);
                    }
                }
            }
            for r in 0..ROWS {
                let f = f0 + r;
                advance_factor(model, f, &z[r], &gain, &mut variance[f], &mut level[f]);
            }
        }
        if checkpoints.get(next_checkpoint) == Some(&day) {
            for f in 0..N {
                let row = (next_checkpoint * N + f) * out.stride + out.offset;
                for k in 0..out.valid {
                    out.values[row + k] = level[f][k].to_f64();
                }
            }
            next_checkpoint += 1;
        }
    }
}

/// The day's volatility multiplier per lane from the Markov regime: day 1 draws the
/// start state, later days switch with the transition probabilities. Uses the high 32
/// bits of the day's regime draw.
#[inline(always)]
fn regime_gain<T: Real, const L: usize>(
    model: &Model<T>,
    day: u32,
    draw: &[u32; L],
    stressed: &mut [i64; L],
) -> [T; L] {
    // Everything the lanes select between is a local value and every lane writes its
    // result unconditionally: reading model fields under a lane condition made LLVM
    // emit AVX-512 gathers and masked scatters here.
    let (one, stress_gain) = (T::from_f64(1.0), model.stress_gain);
    let (start, enter, leave) = (
        model.start_threshold,
        model.enter_threshold,
        model.leave_threshold,
    );
    let mut gain = [one; L];
    for k in 0..L {
        let u = i64::from(draw[k]);
        let was_stressed = stressed[k] != 0;
        let now_stressed = if day == 1 {
            u < start
        } else if was_stressed {
            u >= leave
        } else {
            u < enter
        };
        stressed[k] = i64::from(now_stressed);
        gain[k] = if now_stressed { stress_gain } else { one };
    }
    gain
}

/// One day of one factor: the shock at today's GJR-GARCH volatility (times the regime
/// gain), the exact OU step, then tomorrow's variance.
#[inline(always)]
fn advance_factor<T: Real, const L: usize>(
    model: &Model<T>,
    f: usize,
    z: &[T; L],
    gain: &[T; L],
    variance: &mut [T; L],
    level: &mut [T; L],
) {
    let (omega, alpha, beta) = (model.omega[f], model.alpha[f], model.beta[f]);
    let alpha_down = model.alpha_down[f];
    let (decay, drift) = (model.decay[f], model.drift[f]);
    let cap = model.variance_cap[f];
    for k in 0..L {
        // x' = e^{−κΔ}x + drift + s·√h·g·z (s inside the variance, see `Model`).
        let vol = variance[k].sqrt();
        let shock = vol.mul(gain[k]).mul(z[k]);
        level[k] = level[k].mul_add(decay, drift.add(shock));
        // h' = ω + h·(β + (α + γ·1[z<0])·z²): the GARCH sees the calm-regime shock √h·z.
        let weight = if z[k].is_negative() {
            alpha_down
        } else {
            alpha
        };
        let z2 = z[k].mul(z[k]);
        variance[k] = variance[k]
            .mul_add(weight.mul_add(z2, beta), omega)
            .min(cap);
    }
}
