//! One scenario × 1,000 paths × 252 days × 20 factors, f32 and f64 inner loops:
//! criterion's "thrpt" is path-steps per second on one core. Thread scaling is in
//! `benches/scaling.rs`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput as Elements};
use std::hint::black_box;
use stresslab_hedging::paths::throughput::representative_spec;
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

criterion_group!(benches, one_scenario);
criterion_main!(benches);
