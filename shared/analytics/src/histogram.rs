//! Equal-width histograms for report charts (P&L distributions, scenario losses).
//!
//! Reproduces `numpy.histogram(values, bins)` bin for bin, including its handling of
//! values within an ulp of an edge, so a chart drawn from a run and one drawn in a
//! notebook from the same artifact never disagree by a count.

/// Bin edges (`bins + 1`, ascending) and the count in each bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// Equal-width histogram between the minimum and maximum of `values`.
///
/// Method: the fixed-width histogram (K. Pearson (1895), "Contributions to the
/// mathematical theory of evolution II", Phil. Trans. R. Soc. A 186) with numpy's
/// conventions (`numpy.histogram`, NumPy 2.x): edges `min + i * (max - min)/bins`
/// (the `numpy.linspace` formula, last edge exactly `max`); every bin half-open
/// `[e_i, e_{i+1})` except the last, which is closed; a constant sample spreads over
/// `[v - 0.5, v + 0.5]`; an empty sample uses `[0, 1]`. The bin index is computed as
/// `floor((v - min) / (max - min) * bins)` and then corrected against the stored edges,
/// exactly as numpy does.
///
/// Never fails: non-finite values are skipped (not counted; numpy would raise), and
/// `bins == 0` gives an empty histogram (no edges, no counts).
pub fn histogram(values: &[f64], bins: usize) -> Histogram {
    if bins == 0 {
        return Histogram {
            edges: Vec::new(),
            counts: Vec::new(),
        };
    }
    let (mut first, mut last) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if first > last {
        (first, last) = (0.0, 1.0);
    }
    if first == last {
        first -= 0.5;
        last += 0.5;
    }

    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    edges[bins] = last;

    let mut counts = vec![0_u64; bins];
    let denom = last - first;
    for &v in values {
        if !(v >= first && v <= last) {
            continue;
        }
        let mut idx = (((v - first) / denom) * bins as f64) as usize;
        idx = idx.min(bins - 1);
        if v < edges[idx] {
            idx -= 1;
        }
        if idx != bins - 1 && v >= edges[idx + 1] {
            idx += 1;
        }
        counts[idx] += 1;
    }
    Histogram { edges, counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_histogram() {
        // Oracle: numpy 2.4 np.histogram(vals, bins) — counts exactly, edges to the bit.
        let vals = [0.5, -1.2, 3.3, 0.0, 2.2, 2.2, -0.7, 1.9, 3.3, -1.2, 0.25];
        let h = histogram(&vals, 4);
        assert_eq!(h.counts, vec![3, 3, 1, 4]);
        assert_eq!(h.edges, vec![-1.2, -0.07499999999999996, 1.05, 2.175, 3.3]);
        let h7 = histogram(&vals, 7);
        assert_eq!(h7.counts, vec![3, 1, 2, 0, 1, 2, 2]);
        assert_eq!(
            h7.edges,
            vec![
                -1.2,
                -0.557142857142857,
                0.08571428571428585,
                0.7285714285714289,
                1.3714285714285717,
                2.0142857142857142,
                2.6571428571428575,
                3.3
            ]
        );
    }

    #[test]
    fn values_on_and_near_edges_match_numpy() {
        // Oracle: np.histogram([0.0, 0.3, 0.6, 0.9, 1.2, 0.8999999999999999,
        // 0.30000000000000004, 0.29999999999999993], bins=4) -> [2, 2, 1, 3].
        let vals = [
            0.0,
            0.3,
            0.6,
            0.9,
            1.2,
            0.8999999999999999,
            0.30000000000000004,
            0.29999999999999993,
        ];
        let h = histogram(&vals, 4);
        assert_eq!(h.counts, vec![2, 2, 1, 3]);
        assert_eq!(h.edges, vec![0.0, 0.3, 0.6, 0.8999999999999999, 1.2]);
        // np.histogram([0.1 * i for i in range(11)], bins=10) -> nine 1s then 2.
        let tenths: Vec<f64> = (0..11).map(|i| 0.1 * i as f64).collect();
        assert_eq!(
            histogram(&tenths, 10).counts,
            vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 2]
        );
        // np.histogram([-3, 7, 0.7, 1.1, 5.5, 6.9, 7, -3], bins=3) -> [2, 2, 4].
        let h3 = histogram(&[-3.0, 7.0, 0.7, 1.1, 5.5, 6.9, 7.0, -3.0], 3);
        assert_eq!(h3.counts, vec![2, 2, 4]);
        assert_eq!(
            h3.edges,
            vec![-3.0, 0.3333333333333335, 3.666666666666667, 7.0]
        );
    }

    #[test]
    fn degenerate_inputs_follow_numpy() {
        // np.histogram([2.0, 2.0, 2.0], bins=3) -> [0, 3, 0], edges [1.5, 1.833.., 2.166.., 2.5].
        let h = histogram(&[2.0, 2.0, 2.0], 3);
        assert_eq!(h.counts, vec![0, 3, 0]);
        assert_eq!(
            h.edges,
            vec![1.5, 1.8333333333333333, 2.1666666666666665, 2.5]
        );
        // np.histogram([], bins=2) -> [0, 0], edges [0, 0.5, 1].
        let e = histogram(&[], 2);
        assert_eq!(e.counts, vec![0, 0]);
        assert_eq!(e.edges, vec![0.0, 0.5, 1.0]);
        assert_eq!(histogram(&[1.0, 2.0], 0).counts, Vec::<u64>::new());
        // Non-finite values are skipped.
        let h = histogram(&[1.0, f64::NAN, 2.0, f64::INFINITY], 2);
        assert_eq!(h.counts, vec![1, 1]);
        assert_eq!(h.edges, vec![1.0, 1.5, 2.0]);
    }

    #[test]
    fn counts_add_up() {
        let vals: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.013 - 4.0)
            .collect();
        let h = histogram(&vals, 13);
        assert_eq!(h.counts.iter().sum::<u64>(), 1000);
        assert_eq!(h.edges.len(), 14);
    }
}
