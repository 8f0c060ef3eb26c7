//! Mergeable distributions: a statistic's values across many scenarios, reduced to counts
//! on a fixed grid so that partitions computed apart merge exactly.
//!
//! Method: a fixed-width histogram (K. Pearson (1895), Phil. Trans. R. Soc. A 186) whose
//! bins are the multiples of a stated resolution `r`, unbounded in range and stored
//! sparsely (only occupied bins): each value `v` counts in bin `round(v / r)`. It is the
//! "equi-width histogram" mergeable summary of Agarwal, Cormode, Huang, Phillips, Wei and
//! Yi (2013), "Mergeable summaries", ACM TODS 38(4): merging adds counts, so the merged
//! sketch is the same, bit for bit, however the values were split into partitions and in
//! whatever order the parts are merged. The extremes are kept exactly.
//!
//! Quantiles are Hyndman & Fan's definition 7 (as [`crate::stats::quantile`], numpy's
//! default) applied to the values rounded to the grid, so every quantile is within `r/2`
//! of the same quantile of the unrounded values (rounding is monotone: the k-th smallest
//! rounded value is the rounded k-th smallest value). The 0 and 1 quantiles are the exact
//! minimum and maximum. Size: one entry per occupied bin, at most min(n, range / r).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts of values on the grid of multiples of `resolution`, with exact extremes.
/// Non-finite values are counted apart and excluded from every statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizedSketch {
    resolution: f64,
    /// Bin `i` (the value `i · resolution`) → count; serialised as `[[i, count], …]`.
    #[serde(with = "pairs")]
    counts: BTreeMap<i64, u64>,
    n: u64,
    /// Exact (min, max) of the finite values; `None` while empty.
    extremes: Option<(f64, f64)>,
    non_finite: u64,
}

impl QuantizedSketch {
    /// An empty sketch on the grid of multiples of `resolution` (a positive constant of
    /// the statistic, fixed in code: two sketches merge only on the same grid).
    pub fn new(resolution: f64) -> Self {
        assert!(
            resolution.is_finite() && resolution > 0.0,
            "sketch resolution must be positive, got {resolution}"
        );
        QuantizedSketch {
            resolution,
            counts: BTreeMap::new(),
            n: 0,
            extremes: None,
            non_finite: 0,
        }
    }

    pub fn resolution(&self) -> f64 {
        self.resolution
    }

    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            self.non_finite += 1;
            return;
        }
        // Values beyond ±2^62 r would not fit the key; statistics here are ratios and
        // money amounts many orders of magnitude below (clamped, and the extremes stay exact).
        let key = (v / self.resolution)
            .round()
            .clamp(-(2f64.powi(62)), 2f64.powi(62)) as i64;
        *self.counts.entry(key).or_insert(0) += 1;
        self.n += 1;
        self.extremes = Some(match self.extremes {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    /// Adds `other`'s counts: the result is the sketch of both samples together.
    pub fn merge(&mut self, other: &QuantizedSketch) {
        assert!(
            self.resolution == other.resolution,
            "sketches on different grids ({} and {}) cannot merge",
            self.resolution,
            other.resolution
        );
        for (&k, &c) in &other.counts {
            *self.counts.entry(k).or_insert(0) += c;
        }
        self.n += other.n;
        self.non_finite += other.non_finite;
        self.extremes = match (self.extremes, other.extremes) {
            (None, e) | (e, None) => e,
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
        };
    }

    /// Finite values counted.
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Non-finite values seen (not in any statistic).
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Exact smallest value (NaN when empty).
    pub fn min(&self) -> f64 {
        self.extremes.map_or(f64::NAN, |e| e.0)
    }

    /// Exact largest value (NaN when empty).
    pub fn max(&self) -> f64 {
        self.extremes.map_or(f64::NAN, |e| e.1)
    }

    /// The value of grid point `bin`: `bin / 10^d` when the resolution is 10^−d (so
    /// 0.6707 prints as 0.6707, not 0.6707000000000001), else `bin · resolution`.
    fn grid_value(&self, bin: i64) -> f64 {
        let per_unit = (1.0 / self.resolution).round();
        if per_unit >= 1.0 && per_unit * self.resolution == 1.0 {
            bin as f64 / per_unit
        } else {
            bin as f64 * self.resolution
        }
    }

    /// The k-th smallest rounded value (0-based), k < n.
    fn order_statistic(&self, k: u64) -> f64 {
        let mut seen = 0;
        for (&bin, &c) in &self.counts {
            seen += c;
            if k < seen {
                return self.grid_value(bin);
            }
        }
        unreachable!("k < n")
    }

    /// Quantile `p` (definition 7 on the rounded values; see the module header), clamped
    /// to the exact extremes. NaN when empty or `p` outside [0, 1].
    pub fn quantile(&self, p: f64) -> f64 {
        let Some((lo, hi)) = self.extremes else {
            return f64::NAN;
        };
        if !(0.0..=1.0).contains(&p) {
            return f64::NAN;
        }
        if p == 0.0 {
            return lo;
        }
        if p == 1.0 {
            return hi;
        }
        let h = (self.n - 1) as f64 * p;
        let i = h.floor() as u64;
        let a = self.order_statistic(i);
        let q = if i + 1 >= self.n {
            a
        } else {
            let b = self.order_statistic(i + 1);
            // numpy's _lerp, as in stats::quantile.
            let t = h - h.floor();
            if t >= 0.5 {
                b - (b - a) * (1.0 - t)
            } else {
                a + (b - a) * t
            }
        };
        q.clamp(lo, hi)
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// Share of the finite values whose rounded value is below `x` (NaN when empty).
    pub fn share_below(&self, x: f64) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let below: u64 = self
            .counts
            .iter()
            .take_while(|(&k, _)| self.grid_value(k) < x)
            .map(|(_, &c)| c)
            .sum();
        below as f64 / self.n as f64
    }
}

mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<i64, u64>, s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<(i64, u64)> = m.iter().map(|(&k, &c)| (k, c)).collect();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, u64>, D::Error> {
        let v: Vec<(i64, u64)> = Vec::deserialize(d)?;
        let mut m = BTreeMap::new();
        for (k, c) in v {
            if m.insert(k, c).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "sketch bin {k} appears twice"
                )));
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Xoshiro256;
    use crate::stats::quantile;

    fn sample(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = Xoshiro256::seed_from_u64(seed);
        (0..n)
            .map(|_| 0.4 + 0.5 * rng.uniform() * rng.uniform())
            .collect()
    }

    #[test]
    fn quantiles_are_within_half_a_bin_of_the_exact_ones() {
        for (seed, n) in [(1, 1), (2, 2), (3, 17), (4, 1000), (5, 5003)] {
            let v = sample(seed, n);
            let mut s = QuantizedSketch::new(1e-4);
            v.iter().for_each(|&x| s.add(x));
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            for p in [0.0, 0.01, 0.05, 1.0 / 3.0, 0.5, 0.9, 0.95, 0.99, 1.0] {
                let exact = quantile(&sorted, p);
                let approx = s.quantile(p);
                assert!(
                    (exact - approx).abs() <= 0.5e-4 + 1e-15,
                    "n={n} p={p}: {approx} vs {exact}"
                );
            }
            assert_eq!(s.min(), sorted[0]);
            assert_eq!(s.max(), sorted[n - 1]);
            assert_eq!(s.len(), n as u64);
        }
    }

    #[test]
    fn on_grid_values_give_numpy_quantiles_exactly() {
        // Values already on the grid: the sketch is lossless and must agree with
        // definition 7 to the bit. numpy 2.4.6: np.quantile([0.25,0.5,0.5,2,3.75], .3) = 0.5,
        // (.., .9) = 3.05, (.., .5) = 0.5.
        let mut s = QuantizedSketch::new(0.25);
        for x in [2.0, 0.5, 3.75, 0.25, 0.5] {
            s.add(x);
        }
        assert_eq!(s.quantile(0.3), 0.5);
        assert!((s.quantile(0.9) - 3.05).abs() < 1e-12);
        assert_eq!(s.median(), 0.5);
        assert_eq!(s.share_below(0.5), 0.2);
        assert_eq!(s.share_below(0.51), 0.6);
        let mut t = QuantizedSketch::new(1e-4);
        for x in [0.67068, 0.67071, 0.9] {
            t.add(x);
        }
        assert_eq!(t.quantile(0.0), 0.67068, "the exact minimum");
        assert_eq!(
            t.median(),
            0.6707,
            "grid values are decimals, not 0.6707000000000001"
        );
    }

    #[test]
    fn merging_partitions_is_exact_and_order_free() {
        let v = sample(9, 3000);
        let mut whole = QuantizedSketch::new(1e-3);
        v.iter().for_each(|&x| whole.add(x));
        let parts: Vec<QuantizedSketch> = v
            .chunks(700)
            .map(|c| {
                let mut s = QuantizedSketch::new(1e-3);
                c.iter().for_each(|&x| s.add(x));
                s
            })
            .collect();
        let mut fwd = QuantizedSketch::new(1e-3);
        parts.iter().for_each(|p| fwd.merge(p));
        let mut back = QuantizedSketch::new(1e-3);
        parts.iter().rev().for_each(|p| back.merge(p));
        assert_eq!(fwd, whole);
        assert_eq!(back, whole);
    }

    #[test]
    fn non_finite_values_are_counted_apart_and_empty_is_nan() {
        let mut s = QuantizedSketch::new(0.1);
        assert!(s.median().is_nan() && s.min().is_nan() && s.share_below(1.0).is_nan());
        s.add(f64::NAN);
        s.add(f64::INFINITY);
        s.add(1.0);
        assert_eq!((s.len(), s.non_finite()), (1, 2));
        assert_eq!(s.median(), 1.0);
        assert!(s.quantile(1.5).is_nan());
    }

    #[test]
    fn json_round_trip_and_duplicate_bins_refused() {
        let mut s = QuantizedSketch::new(0.5);
        for x in [-1.2, 0.1, 0.2, 7.0] {
            s.add(x);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("[[-2,1],[0,2],[14,1]]"), "{json}");
        let back: QuantizedSketch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let bad = json.replace("[[-2,1],[0,2]", "[[0,1],[0,2]");
        let err = serde_json::from_str::<QuantizedSketch>(&bad).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }
}
