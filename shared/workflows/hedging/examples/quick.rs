use stresslab_hedging::model::{prepare, RunSettings};
use stresslab_hedging::scenarios::ScenarioConfig;
fn main() {
    let p = stresslab_core::portfolio::parse_portfolio(
        "seed_pension.json",
        include_bytes!("../../../../events/inputs/seed_pension.json"),
    )
    .unwrap();
    let cfg = ScenarioConfig::default();
    let t = std::time::Instant::now();
    let (m, specs) = prepare(
        &p,
        &RunSettings {
            scenarios: 1000,
            paths: 1000,
            horizon_days: 252,
            funded_ratio_floor: 0.85,
            config: &cfg,
            seed: 42,
        },
    )
    .unwrap();
    eprintln!(
        "prepare {:?}; instruments {}, combos {}",
        t.elapsed(),
        m.instruments.len(),
        m.combos()
    );
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(10);
    let t = std::time::Instant::now();
    let part = stresslab_hedging::evaluate::evaluate_slice(&m, &specs[..n]);
    eprintln!(
        "{} scenarios {:?}; failures {:?}",
        n,
        t.elapsed(),
        part.failures
    );
    for k in [0, m.combo(2, 3, 1), m.combo(3, 3, 0)] {
        let c = &part.results[0].combos[k];
        eprintln!(
            "{} cost {:.1}bp: {:?}",
            m.combo_label(k),
            m.combo_cost_bp(k),
            c
        );
    }
    eprintln!("eff {:?}", part.results[0].effectiveness);
}
