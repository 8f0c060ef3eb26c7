//! One scenario × 1,000 paths × 252 days × 20 factors, f32 and f64 inner loops
//! (criterion reports the time per scenario; path-steps/s = 252,000 / time), then the
//! 1- and 2-thread scaling over 20 scenarios printed by `measure_throughput`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput as Elements};
use std::hint::black_box;
use stresslab_hedging::paths::throughput::{measure_throughput, representative_spec};
use stresslab_hedging::paths::{simulate_with, InnerLoop, PathBlock};

const PATHS: usize = 1_000;
const DAYS: u32 = 252;

fn one_scenario(c: &mut Criterion) {
    let spec = representative_spec(DAYS);
    let mut group = c.benchmark_group("paths_1000x252x20");
    group.throughput(Elements::Elements(PATHS as u64 * u64::from(DAYS)));
    group.sample_size(20);
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        let mut block = PathBlock::new();
        let mut scenario = 0u64;
        group.bench_function(format!("{inner:?}"), |b| {
            b.iter(|| {
                scenario += 1;
                simulate_with(inner, &spec, 7, scenario, 0, PATHS, &mut block).unwrap();
                black_box(block.values()[0])
            })
        });
    }
    group.finish();
}

fn thread_scaling(_: &mut Criterion) {
    let spec = representative_spec(DAYS);
    for inner in [InnerLoop::F32, InnerLoop::F64] {
        for threads in [1, 2] {
            let mut rates: Vec<f64> = (0..5)
                .map(|_| {
                    measure_throughput(&spec, 7, 20, PATHS, threads, inner)
                        .unwrap()
                        .path_steps_per_second_per_thread()
                })
                .collect();
            rates.sort_by(f64::total_cmp);
            let median = rates[rates.len() / 2];
            println!(
                "{inner:?} {threads} thread(s): median {:.3e} path-steps/s per thread, {:.3e} total; 1,000 x 1,000 x 252 would take {:.2} s",
                median,
                median * threads as f64,
                1e3 * 1e3 * 252.0 / (median * threads as f64)
            );
        }
    }
}

criterion_group!(benches, one_scenario, thread_scaling);
criterion_main!(benches);
