//! Path-steps per second per core on 1 and 2 threads, f32 and f64 inner loops: each
//! measurement simulates `SCENARIOS` scenarios × 1,000 paths × 252 days with
//! `measure_throughput`; repeated, the median and the best are printed with the implied
//! time for 1,000 and 10,000 scenarios. The best is the figure for a quiet machine (other
//! processes only ever slow a run down).
//!
//! `cargo bench -p stresslab-hedging --bench scaling [-- REPEATS] [f32|f64] [1t|2t]`

use stresslab_hedging::paths::throughput::{measure_throughput, representative_spec};
use stresslab_hedging::paths::InnerLoop;

const SCENARIOS: u64 = 16;
const PATHS: usize = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repeats: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(7);
    // Optional filters: "f32" / "f64", "1t" / "2t".
    let wanted = |word: &str, family: &[&str]| {
        !args.iter().any(|a| family.contains(&a.as_str())) || args.iter().any(|a| a == word)
    };
    let spec = representative_spec(252);
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        if !wanted(&format!("{inner:?}").to_lowercase(), &["f32", "f64"]) {
            continue;
        }
        for threads in [1, 2] {
            if !wanted(&format!("{threads}t"), &["1t", "2t"]) {
                continue;
            }
            let mut per_core: Vec<f64> = (0..repeats)
                .map(|_| {
                    measure_throughput(&spec, 7, SCENARIOS, PATHS, threads, inner)
                        .expect("valid spec")
                        .path_steps_per_second_per_thread()
                })
                .collect();
            per_core.sort_by(f64::total_cmp);
            let median = per_core[per_core.len() / 2];
            let best = per_core[per_core.len() - 1];
            let total = |r: f64| r * threads as f64;
            println!(
                "{inner:?} {threads} thread(s): path-steps/s per core median {median:.3e} best {best:.3e}; \
                 1,000 scenarios x 1,000 paths x 252 days: {:.2} s (median) {:.2} s (best); 10,000: {:.1} s (median)",
                2.52e8 / total(median),
                2.52e8 / total(best),
                2.52e9 / total(median),
            );
        }
    }
}
