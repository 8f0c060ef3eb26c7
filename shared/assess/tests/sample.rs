//! The committed 1,000-position sample request is exactly what the generator makes from
//! the calibrated model (so it cannot drift from the code), and it assesses cleanly.
//! Regenerate with `STRESSLAB_REGENERATE=1 cargo test -p stresslab-assess --test sample`.

use stresslab_assess::{assess, sample, settings::Settings, shared_model, AssessmentRequest};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../events/inputs/assess_portfolio_1000.json"
);

fn generated() -> String {
    let model = shared_model().expect("the embedded data calibrates");
    let request = AssessmentRequest {
        portfolio: sample::portfolio(&model, 1_000, 7),
        settings: Settings::default(),
    };
    serde_json::to_string_pretty(&request).unwrap() + "\n"
}

#[test]
fn the_committed_sample_is_the_generators_output() {
    let text = generated();
    if std::env::var_os("STRESSLAB_REGENERATE").is_some() {
        std::fs::write(SAMPLE, &text).unwrap();
    }
    let committed =
        std::fs::read_to_string(SAMPLE).expect("events/inputs/assess_portfolio_1000.json");
    assert!(
        committed == text,
        "the sample differs from the generator's output; regenerate it"
    );
}

#[test]
fn the_sample_assesses_with_every_agent_completed() {
    let model = shared_model().unwrap();
    let bytes = std::fs::read(SAMPLE).unwrap();
    let request = AssessmentRequest::parse(&bytes, &model).expect("the sample is valid");
    let a_positions = request.portfolio.positions.clone();
    let a = assess(request, model, "2026-12-06T00:00:00Z");
    assert!(!a.consensus.degraded, "{:?}", a.audit.agents);
    // The calibrated model carries its out-of-sample backtest: two books × two levels.
    let b = a
        .model_backtest
        .as_ref()
        .expect("the calibrated model's backtest");
    assert_eq!(b.lines.len(), 4);
    assert!(b.lines.iter().all(|l| l.days > 5_000 && l.coverage > 0.9));
    if std::env::var_os("STRESSLAB_SHOW").is_some() {
        println!("{}", serde_json::to_string_pretty(&a.consensus).unwrap());
        println!(
            "{}",
            serde_json::to_string_pretty(&a.model_backtest).unwrap()
        );
        println!("{}", serde_json::to_string_pretty(&a.audit).unwrap());
        let m = a.market.as_ref().unwrap();
        println!("VaR95 {:?}\nVaR99 {:?}", m.var95, m.var99);
        for s in &m.stress {
            println!(
                "stress {} {}d {:.2}%",
                s.name,
                s.horizon_days,
                100.0 * s.pnl_pct_nav
            );
        }
        println!("greeks {:?}", m.greeks.options);
        println!(
            "equity {:.0} dv01 {:.0} cs01 {:.0} fx {:.0}",
            m.greeks.equity_delta, m.greeks.dv01, m.greeks.cs01, m.greeks.fx_delta
        );
        println!(
            "full reval {} dg {}",
            m.full_revaluations.len(),
            m.options_by_delta_gamma
        );
        for f in &m.full_revaluations {
            let p = a_positions.iter().find(|p| p.id == f.position_id).unwrap();
            let o = p.option.as_ref().unwrap();
            println!(
                "  {} {:?} T={:.3} K/S={:.2} {:?}",
                f.position_id,
                o.option_type,
                o.expiry_years * 252.0,
                o.strike / o.spot,
                f.reason
            );
        }
        println!(
            "credit {}",
            serde_json::to_string_pretty(&a.credit).unwrap()
        );
        let mut l = serde_json::to_value(&a.liquidity).unwrap();
        l.as_object_mut().unwrap().remove("slowest");
        println!("liquidity {}", serde_json::to_string_pretty(&l).unwrap());
        println!(
            "compliance {}",
            serde_json::to_string_pretty(&a.compliance).unwrap()
        );
    }
}
