//! The CLI as a newcomer uses it: `run factor` on the sample book, `validate` on a
//! broken portfolio.

use std::process::Command;

fn stresslab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stresslab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn run_factor_on_the_sample_book_writes_the_deliverables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let status = stresslab()
        .args([
            "run",
            "factor",
            "--portfolio",
            "events/inputs/ff_multifactor_book.json",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["scenarios"].as_array().unwrap().len(), 500);
    assert!(results["risk"].as_array().unwrap().len() >= 4);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.matches("<svg").count() >= 4,
        "heatmaps, top-20 bars and histogram expected"
    );
    assert!(
        !html.contains("<script"),
        "the report must not need scripts"
    );
    assert!(std::fs::read_to_string(out.join("summary.md"))
        .unwrap()
        .contains("VaR 99%"));
}

#[test]
fn validate_lists_all_five_problems_exits_2_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let output = stresslab()
        .args(["validate", "events/inputs/invalid_portfolio.json"])
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    for path in [
        "positions[1].market_value",
        "positions[2].id",
        "positions[3].asset_class",
        "positions[4].currency",
        "positions[5].market_value",
    ] {
        assert!(stderr.contains(path), "missing {path} in:\n{stderr}");
    }
    assert!(stderr.contains("5 problem(s)"), "{stderr}");

    // `run` on the same file refuses the same way and writes no run directory.
    let out = dir.path().join("never");
    let run = stresslab()
        .args([
            "run",
            "factor",
            "--portfolio",
            "events/inputs/invalid_portfolio.json",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(
        !out.exists(),
        "a rejected portfolio must not create an output directory"
    );
}

#[test]
fn validate_accepts_the_sample_book_and_its_csv_form() {
    for file in [
        "events/inputs/ff_multifactor_book.json",
        "events/inputs/ff_multifactor_book.csv",
    ] {
        let mut cmd = stresslab();
        cmd.args(["validate", file]);
        if file.ends_with(".csv") {
            cmd.args([
                "--market-data",
                "events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv",
            ]);
        }
        let output = cmd.output().unwrap();
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
