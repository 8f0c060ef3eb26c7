//! Standard normal draws from 32 random bits, vectorisable: the inverse normal CDF in
//! single precision, evaluated without branches per lane so a lane array of draws
//! compiles to SIMD code.
//!
//! Method: z = √2 · erfinv(x) with the single-precision erfinv of M. B. Giles (2012),
//! "Approximating the erfinv function", GPU Computing Gems Jade Edition, ch. 10,
//! pp. 109–116 (two polynomials in w = −ln(1 − x²), the central one for w < 5, i.e.
//! |z| < 2.9, 99.66% of draws), plus his double-precision branch for w ≥ 16 because our
//! 31-bit tail probabilities reach further (w ≤ 22.2) than f32's 1 − x does. The √2 is
//! folded into the coefficients.
//!
//! The 32 bits map to a normal through the two-sided tail probability, so both tails
//! keep full resolution: bit 31 is the sign and the low 31 bits m give
//! t = (m + ½)·2⁻³¹ = P(|Z| > |z|), hence |x| = 1 − t and 1 − x² = t(2 − t) exactly as
//! computed (no cancellation in 1 − x for x near 1, the weakness of erfinv(2u − 1)).
//! The exact target is z = ∓Φ⁻¹(t/2); the draws range over |z| ≤ 6.34 (t ≥ 2⁻³²).
//!
//! ln is Cephes' `logf` (S. L. Moshier (1989), "Methods and Programs for Mathematical
//! Functions", the polynomial of cephes/single/logf.c) with the exponent split by
//! integer arithmetic on the bits, as in musl's `logf`, so it vectorises too.
//!
//! Accuracy (test `normal_draws_match_the_exact_quantile`, against
//! `stresslab_analytics::stats::normal_quantile` in f64): max |z − Φ⁻¹| = 9.5·10⁻⁷ over
//! 4,000 points covering every binade of t down to 2⁻³² (5.2·10⁻⁷ for |z| < 3). Over
//! 10⁶ draws (test `a_million_draws_are_standard_normal`): mean −1.2·10⁻³, variance
//! 0.9992, skewness 1.4·10⁻³, kurtosis 3.003, Kolmogorov–Smirnov √n·D = 1.04 (the 1%
//! critical value is 1.63) — all within sampling error.

/// The tail branch starts where Giles' central polynomial stops: w = −ln(t(2 − t)) ≥ 5.
const TAIL_W: f32 = 5.0;

/// √2 · Giles' central coefficients (highest degree first), in w − 2.5.
const CENTRAL: [f32; 9] = scaled::<9>([
    2.810_226_36e-08,
    3.432_739_39e-07,
    -3.523_387_7e-06,
    -4.391_506_54e-06,
    0.000_218_580_87,
    -0.001_253_725_03,
    -0.004_177_681_64,
    0.246_640_727,
    1.501_409_41,
]);

/// Beyond w = 16 (t < 1.1·10⁻⁷, |z| > 5.3) the single-precision tail polynomial is
/// extrapolating (error 2·10⁻³ at t = 2⁻³²): there Giles' double-precision third branch
/// takes over, evaluated in f32.
const DEEP_W: f32 = 16.0;

/// √2 · Giles' single-precision tail coefficients (highest degree first), in √w − 3.
const TAIL: [f32; 9] = scaled([
    -0.000_200_214_257,
    0.000_100_950_558,
    0.001_349_343_22,
    -0.003_673_428_44,
    0.005_739_507_73,
    -0.007_622_461_3,
    0.009_438_870_47,
    1.001_674_06,
    2.832_976_82,
]);

/// √2 · Giles' double-precision coefficients for w ≥ 16, in √w − 5 (as published).
#[allow(clippy::excessive_precision)]
const DEEP: [f32; 17] = scaled([
    -2.710_992_061_643_857_324_3e-11,
    -2.555_641_816_996_525_205_5e-10,
    1.507_657_269_350_054_808_3e-09,
    -3.789_465_440_126_736_993_7e-09,
    7.615_701_208_078_339_380_4e-09,
    -1.496_002_662_714_924_047_8e-08,
    2.914_795_345_090_108_082_6e-08,
    -6.771_199_775_845_233_949_8e-08,
    2.290_048_222_802_665_471_7e-07,
    -9.929_827_294_231_700_253_9e-07,
    4.526_062_597_223_153_703_9e-06,
    -1.968_177_810_553_167_056_7e-05,
    7.599_527_703_001_776_113_9e-05,
    -0.000_215_030_119_300_444_773_47,
    -0.000_138_719_318_336_231_220_26,
    1.010_300_464_864_534_397_7,
    4.849_906_401_408_584_422_1,
]);

const fn scaled<const D: usize>(c: [f64; D]) -> [f32; D] {
    let mut out = [0.0f32; D];
    let mut i = 0;
    while i < D {
        out[i] = (c[i] * std::f64::consts::SQRT_2) as f32;
        i += 1;
    }
    out
}

#[inline(always)]
fn horner<const D: usize>(c: &[f32; D], w: f32) -> f32 {
    let mut p = c[0];
    for &ci in &c[1..] {
        p = p.mul_add(w, ci);
    }
    p
}

/// Natural log of a positive normal f32 (Cephes `logf`, max error ~1 ulp); no checks:
/// only called on t(2 − t) ∈ [2⁻³², 1].
// Cephes' coefficients as published, though f32 cannot hold all their digits.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub(crate) fn ln(y: f32) -> f32 {
    // Shift the bits so the mantissa lands in [√½, √2) and the exponent absorbs the rest.
    const SQRT_HALF_BITS: i32 = 0x3f35_04f3;
    let ix = (y.to_bits() as i32).wrapping_add(0x3f80_0000 - SQRT_HALF_BITS);
    let e = ((ix >> 23) - 0x7f) as f32;
    let m = f32::from_bits(((ix & 0x007f_ffff) + SQRT_HALF_BITS) as u32);
    let f = m - 1.0;
    let f2 = f * f;
    let mut p = 7.037_683_629_2e-2f32;
    for c in [
        -1.151_461_031_0e-1,
        1.167_699_874_0e-1,
        -1.242_014_084_6e-1,
        1.424_932_278_7e-1,
        -1.666_805_766_5e-1,
        2.000_071_476_5e-1,
        -2.499_999_399_3e-1,
        3.333_333_117_4e-1,
    ] {
        p = p.mul_add(f, c);
    }
    let r = (p * f * f2).mul_add(1.0, e * -2.121_944_40e-4);
    let r = (-0.5f32).mul_add(f2, r);
    e.mul_add(0.693_359_375, f + r)
}

/// The tail probability t ∈ (0, 1) of 31 bits, and whether the sign bit is set.
#[inline(always)]
fn tail_probability(bits: u32) -> f32 {
    let m = (bits & 0x7fff_ffff) as i32 as f32;
    m.mul_add(1.0 / 2_147_483_648.0, 1.0 / 4_294_967_296.0)
}

/// One standard normal from 32 random bits (scalar form, used by tests and as the
/// definition the lane version must match bit for bit).
pub fn normal_from_bits(bits: u32) -> f32 {
    let mut z = [0.0f32; TAIL_GROUP];
    normals_from_bits(&[bits; TAIL_GROUP], &mut z);
    z[0]
}

/// Standard normals for a whole slice of 32-bit draws (length a multiple of 16), in
/// chunks of 64 so the polynomial chains of eight AVX2 registers overlap.
#[inline(always)]
pub(crate) fn fill_normals(bits: &[u32], z: &mut [f32]) {
    debug_assert_eq!(bits.len(), z.len());
    let mut bits64 = bits.chunks_exact(64);
    let mut z64 = z.chunks_exact_mut(64);
    for (b, z) in (&mut bits64).zip(&mut z64) {
        normals_from_bits::<64>(b.try_into().expect("64"), z.try_into().expect("64"));
    }
    let rest = bits64.remainder();
    for (b, z) in rest.chunks_exact(16).zip(z64.into_remainder().chunks_exact_mut(16)) {
        normals_from_bits::<16>(b.try_into().expect("16"), z.try_into().expect("16"));
    }
    debug_assert_eq!(rest.len() % 16, 0, "draws come in multiples of 16");
}

/// Lanes per tail check: one AVX2 register of f32.
const TAIL_GROUP: usize = 8;

/// Standard normals from lane arrays of 32 random bits (`L` a multiple of 8). Lane-wise,
/// so every lane gets the same bits as the scalar `normal_from_bits` whatever the lane
/// count.
#[inline(always)]
pub(crate) fn normals_from_bits<const L: usize>(bits: &[u32; L], z: &mut [f32; L]) {
    let mut w = [0.0f32; L];
    let mut ax = [0.0f32; L];
    for k in 0..L {
        let t = tail_probability(bits[k]);
        ax[k] = 1.0 - t;
        w[k] = -ln(t * (2.0 - t));
    }
    // A loop of its own so LLVM interleaves several registers' Horner chains.
    for k in 0..L {
        z[k] = horner(&CENTRAL, w[k] - 2.5);
    }
    // The tail polynomial needs a square root; 1 − 0.9966^8 ≈ 2.7% of 8-lane groups have
    // a lane there, so it is computed only for those groups.
    for (w, z) in w.chunks_exact(TAIL_GROUP).zip(z.chunks_exact_mut(TAIL_GROUP)) {
        if w.iter().fold(false, |any, &w| any | (w >= TAIL_W)) {
            tail_normals(w.try_into().expect("group"), z.try_into().expect("group"));
        }
    }
    for k in 0..L {
        let magnitude = ax[k] * z[k];
        z[k] = f32::from_bits(magnitude.to_bits() ^ (bits[k] & 0x8000_0000));
    }
}

/// The tail branches for one group of lanes that has at least one lane with w ≥ 5.
#[inline(never)]
fn tail_normals(w: &[f32; TAIL_GROUP], z: &mut [f32; TAIL_GROUP]) {
    let mut any_deep = false;
    for k in 0..TAIL_GROUP {
        let tail = horner(&TAIL, w[k].sqrt() - 3.0);
        if w[k] >= TAIL_W {
            z[k] = tail;
        }
        any_deep |= w[k] >= DEEP_W;
    }
    // One draw in ~10^7.
    if any_deep {
        for k in 0..TAIL_GROUP {
            let deep = horner(&DEEP, w[k].sqrt() - 5.0);
            if w[k] >= DEEP_W {
                z[k] = deep;
            }
        }
    }
}

/// The exact value `normal_from_bits` approximates: ∓Φ⁻¹(t/2) in f64.
pub fn exact_normal_from_bits(bits: u32) -> f64 {
    let m = f64::from(bits & 0x7fff_ffff);
    let t = (m + 0.5) / 2_147_483_648.0;
    let magnitude = -stresslab_analytics::stats::normal_quantile(0.5 * t);
    if bits & 0x8000_0000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_analytics::rng::Xoshiro256;
    use stresslab_analytics::stats::normal_cdf;

    /// Bit patterns covering every binade of t from 2⁻³² to 1, both signs.
    fn grid() -> Vec<u32> {
        let mut bits = Vec::new();
        for m in [0u32, 1, 2, 3, 0x7fff_fffe, 0x7fff_ffff] {
            bits.push(m);
        }
        for shift in 0..31 {
            let base = 1u32 << shift;
            for k in 0..64u32 {
                // 64 points spread through the binade [2^shift, 2^(shift+1)).
                let m = base + ((u64::from(base) * u64::from(k)) / 64) as u32;
                bits.push(m);
                bits.push(m.wrapping_add(7) & 0x7fff_ffff);
            }
        }
        let mut signed = bits.clone();
        signed.extend(bits.iter().map(|b| b | 0x8000_0000));
        signed
    }

    #[test]
    fn normal_draws_match_the_exact_quantile() {
        let mut worst = 0.0f64;
        let mut worst_central = 0.0f64;
        for b in grid() {
            let z = f64::from(normal_from_bits(b));
            let exact = exact_normal_from_bits(b);
            let err = (z - exact).abs();
            worst = worst.max(err);
            if exact.abs() < 3.0 {
                worst_central = worst_central.max(err);
            }
        }
        // Measured (this grid, ~4,000 points): max 9.5e-7 overall, 5.2e-7 for |z| < 3.
        // An error of 2e-6 in z is ~1e-3 of the Monte Carlo standard error of a 99% VaR
        // estimated from 10^6 paths.
        assert!(worst < 2e-6, "max abs quantile error {worst:e}");
        assert!(
            worst_central < 1e-6,
            "max abs error |z| < 3: {worst_central:e}"
        );
        // The extreme draws: t = 2^-32 (m = 0) is the largest |z|.
        assert!((f64::from(normal_from_bits(0)) - 6.337_958).abs() < 1e-5);
        eprintln!("normal quantile error: max {worst:.2e}, |z| < 3: {worst_central:.2e}");
    }

    #[test]
    fn lanes_equal_scalar_draws() {
        let mut rng = Xoshiro256::seed_from_u64(5);
        for _ in 0..1000 {
            let mut bits: [u32; 80] = std::array::from_fn(|_| rng.next_u64() as u32);
            // Tails in some groups: the smallest tail probabilities.
            bits[3] = 5;
            bits[70] = 0x8000_0000;
            let mut z = [0.0f32; 80];
            fill_normals(&bits, &mut z);
            for k in 0..80 {
                assert_eq!(z[k].to_bits(), normal_from_bits(bits[k]).to_bits());
            }
        }
    }

    #[test]
    fn ln_is_accurate() {
        let mut y = 2.3e-10f32;
        while y <= 1.0 {
            let err = (f64::from(ln(y)) - f64::from(y).ln()).abs();
            assert!(
                err <= 2.5e-7 * f64::from(y).ln().abs().max(1.0),
                "ln({y}) err {err:e}"
            );
            y *= 1.013;
        }
        assert_eq!(ln(1.0), 0.0);
    }

    /// Moments and the Kolmogorov–Smirnov distance of 10^6 draws.
    #[test]
    fn a_million_draws_are_standard_normal() {
        let n = 1_000_000usize;
        let mut rng = Xoshiro256::seed_from_u64(20_260_101);
        let mut z: Vec<f64> = (0..n / 2)
            .flat_map(|_| {
                let r = rng.next_u64();
                [
                    f64::from(normal_from_bits(r as u32)),
                    f64::from(normal_from_bits((r >> 32) as u32)),
                ]
            })
            .collect();
        let nf = n as f64;
        let mean = z.iter().sum::<f64>() / nf;
        let m2 = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf;
        let m3 = z.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / nf;
        let m4 = z.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / nf;
        let skew = m3 / m2.powf(1.5);
        let kurt = m4 / (m2 * m2);
        // Standard errors for n = 10^6: mean 1e-3, variance √2e-3, skewness √6e-3,
        // kurtosis √24e-3; 4 standard errors each.
        assert!(mean.abs() < 4e-3, "mean {mean}");
        assert!((m2 - 1.0).abs() < 4.0 * 1.414e-3, "variance {m2}");
        assert!(skew.abs() < 4.0 * 2.45e-3, "skewness {skew}");
        assert!((kurt - 3.0).abs() < 4.0 * 4.9e-3, "kurtosis {kurt}");
        z.sort_by(f64::total_cmp);
        let mut d = 0.0f64;
        for (i, v) in z.iter().enumerate() {
            let f = normal_cdf(*v);
            d = d
                .max((f - i as f64 / nf).abs())
                .max(((i + 1) as f64 / nf - f).abs());
        }
        // Kolmogorov's limit: P(√n D > 1.628) = 1%.
        assert!(d * nf.sqrt() < 1.628, "KS √n·D = {}", d * nf.sqrt());
        eprintln!(
            "normal draws: mean {mean:.2e} var {m2:.5} skew {skew:.2e} kurt {kurt:.4} KS sqrt(n)D {:.3}",
            d * nf.sqrt()
        );
    }
}
