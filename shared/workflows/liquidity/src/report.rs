//! The liquidity run's deliverables: `results.json` (every figure and table as numbers,
//! plus the dashboard series), `summary.md` and a self-contained `report.html`, built
//! with the core report kit in the fund's base currency.

use serde_json::{json, Value};
use stresslab_core::engine::{Deliverables, RunContext};
use stresslab_core::findings::Findings;
use stresslab_core::report::persona::{headlines, persona_body};
use stresslab_core::report::{self, Estimate, Header};
use stresslab_core::results::{envelope, Horizon};

use crate::engine::LiquidityRun;
use crate::LiquidityAggregate;

/// What the figures measure over.
pub fn horizon(run: &LiquidityRun) -> String {
    format!(
        "{} business days of day-by-day cascades from the as-of date (liquidity needs at 1, 7, 30 and 90 days)",
        run.settings.horizon_days
    )
}

/// The facts a narrator may use: the persona headlines and the run's size.
pub fn facts(
    ctx: &RunContext,
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    findings: &[Findings],
) -> Value {
    json!({
        "fund": run.fund.name,
        "nav": run.fund.nav,
        "base_currency": ctx.base_currency,
        "scenarios": agg.outcomes.len(),
        "headlines": findings.iter().map(|f| json!({"persona": f.persona, "headline": f.headline})).collect::<Vec<_>>(),
    })
}

/// The deterministic narrative: each persona's headline, in team order.
pub fn template_narrative(
    _ctx: &RunContext,
    _run: &LiquidityRun,
    _agg: &LiquidityAggregate,
    findings: &[Findings],
) -> String {
    findings
        .iter()
        .filter(|f| !f.headline.is_empty())
        .map(|f| f.headline.clone())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn render(
    ctx: &RunContext,
    run: &LiquidityRun,
    agg: &LiquidityAggregate,
    findings: &[Findings],
    narrative: &str,
) -> Deliverables {
    let cur = &ctx.base_currency;
    let horizon = horizon(run);
    let estimates = [Estimate::new(
        "Sale costs",
        "half the stressed bid-ask spread plus Almgren et al. (2005) impact 0.142·σ·(participation)^0.6; fire-sale marks after Cont & Schaanning (2017)",
    )];
    let header = Header {
        title: &format!("Liquidity stress test — {}", run.fund.name),
        run: ctx,
        horizon: &horizon,
        estimates: &estimates,
    };
    let mut sections = vec![report::section(
        "Executive summary",
        "",
        &format!(
            "<div class=\"narrative\">{}</div>{}",
            report::paragraph(narrative),
            headlines(findings)
        ),
    )];
    for f in findings {
        sections.push(persona_body(f, cur, &|_| false));
    }
    let html = report::page(&header, &sections);
    let mut md = header.markdown();
    md.push_str(&format!("{narrative}\n"));
    let body = json!({
        "scenario_count": agg.outcomes.len(),
        "failures": agg.failures,
    });
    let results = envelope(
        ctx,
        run.fund.nav,
        Horizon {
            description: &horizon,
        },
        narrative,
        findings,
        body,
    );
    Deliverables {
        results_json: serde_json::to_vec_pretty(&results).unwrap_or_default(),
        summary_md: md,
        report_html: html,
    }
}
