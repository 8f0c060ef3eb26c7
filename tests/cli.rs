//! The CLI as a newcomer uses it: `run factor` on the sample book, `run liquidity` on the
//! seed fund, `run hedging` on the seed pension, `validate` on a broken portfolio and on
//! bad workflow parameters.

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
    assert_eq!(
        results["results"]["scenarios"].as_array().unwrap().len(),
        500
    );
    assert!(results["results"]["risk_views"].as_array().unwrap().len() >= 4);
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

const SEED_FUND: &str = "events/inputs/seed_multi_asset_fund.json";

/// Issue 7's acceptance run: `run liquidity` on the seed fund with the defaults (1,000
/// scenarios) writes the four deliverables, with every scenario run and every persona's
/// findings in results.json.
#[test]
fn run_liquidity_on_the_seed_fund_writes_the_deliverables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = stresslab()
        .args([
            "run",
            "liquidity",
            "--portfolio",
            SEED_FUND,
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["workflow"], "liquidity");
    assert_eq!(results["scenario_count"], 1000);
    assert_eq!(results["results"]["scenario_count"], 1000);
    assert_eq!(
        results["results"]["failures"].as_array().unwrap().len(),
        0,
        "no scenario may be refused on the seed fund"
    );
    let personas: Vec<&str> = results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["persona"].as_str().unwrap())
        .collect();
    assert_eq!(
        personas,
        [
            "market-liquidity-analyst",
            "investor-behavior-modeler",
            "portfolio-liquidity-optimizer",
            "liquidation-strategy-designer",
            "redemption-policy-formulator",
        ]
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("<script"),
        "the report must not need scripts"
    );
    assert!(std::fs::read_to_string(out.join("summary.md"))
        .unwrap()
        .contains("Seed multi-asset fund"));
    assert!(out.join("audit.json").is_file());
}

/// `validate --workflow liquidity` runs every check `run liquidity` makes on the seed fund
/// (fund terms, share register, cascade set-up, scenario generation) and accepts it.
#[test]
fn validate_accepts_the_seed_fund_for_the_liquidity_workflow() {
    let output = stresslab()
        .args(["validate", "--workflow", "liquidity", SEED_FUND])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ready for liquidity: 1000 scenarios in 4 partitions"),
        "{stdout}"
    );
    // The factor book has no liquidity fields, fund terms or share register: refused,
    // naming what is missing.
    let output = stresslab()
        .args([
            "validate",
            "--workflow",
            "liquidity",
            "events/inputs/ff_multifactor_book.json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in ["positions[0].liquidity", "fund:", "investors:"] {
        assert!(stderr.contains(needle), "must name {needle}: {stderr}");
    }
}

/// A bad liquidity parameter — out of bounds, misspelt, of the wrong type, an unknown
/// strategy — exits 2 naming the field, from `validate` and from `run`, and `run`
/// writes nothing.
#[test]
fn bad_liquidity_parameters_exit_2_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["--param", "participation_cap=2"],
            &["parameters.participation_cap", "between 0.01 and 1"],
        ),
        (
            &["--param", "coverage_horizon_days=14"],
            &["parameters.coverage_horizon_days", "1, 7, 30, 90"],
        ),
        (
            &["--param", "particpation_cap=0.3"],
            &["parameters.particpation_cap", "unknown field"],
        ),
        (
            &["--param", "feedback=maybe"],
            &["parameters.feedback", "boolean"],
        ),
        (
            &["--param", "liquidation_strategy=fire_sale"],
            &["parameters.liquidation_strategy", "waterfall"],
        ),
        (&["--scenarios", "10"], &["parameters.scenarios", "36"]),
    ];
    for (i, (flags, needles)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        for verb in ["validate", "run"] {
            let mut cmd = stresslab();
            match verb {
                "validate" => cmd.args(["validate", "--workflow", "liquidity", SEED_FUND]),
                _ => cmd
                    .args([
                        "run",
                        "liquidity",
                        "--quiet",
                        "--portfolio",
                        SEED_FUND,
                        "--out",
                    ])
                    .arg(&out),
            };
            let output = cmd.args(*flags).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{flags:?} ({verb}): {stderr}"
            );
            for needle in *needles {
                assert!(
                    stderr.contains(needle),
                    "{flags:?} ({verb}) must name {needle}: {stderr}"
                );
            }
        }
        assert!(!out.exists(), "{flags:?}: run wrote {}", out.display());
    }
}

const SEED_PENSION: &str = "events/inputs/seed_pension.json";

/// `run hedging` on the seed pension, at the sample execution's small size (24 volatility
/// scenarios × 200 paths; the 1,000-scenario acceptance run is a release-build job),
/// writes the four deliverables with every scenario and every persona's findings.
#[test]
fn run_hedging_on_the_seed_pension_writes_the_deliverables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = stresslab()
        .args([
            "run",
            "hedging",
            "--portfolio",
            SEED_PENSION,
            "--scenarios",
            "24",
            "--partitions",
            "3",
            "--param",
            "paths=200",
            "--seed",
            "7",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["workflow"], "hedging");
    assert_eq!(results["scenario_count"], 24);
    assert_eq!(results["results"]["scenario_count"], 24);
    assert_eq!(
        results["results"]["failures"].as_array().unwrap().len(),
        0,
        "no scenario may fail on the seed pension"
    );
    let personas: Vec<&str> = results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["persona"].as_str().unwrap())
        .collect();
    assert_eq!(
        personas,
        [
            "portfolio-risk-manager",
            "currency-risk-specialist",
            "interest-rate-strategist",
            "credit-exposure-analyst",
            "execution-strategist",
        ]
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        !html.contains("<script"),
        "the report must not need scripts"
    );
    assert!(std::fs::read_to_string(out.join("summary.md"))
        .unwrap()
        .contains("Seed pension"));
    assert!(out.join("audit.json").is_file());
}

/// `validate --workflow hedging` runs every check `run hedging` makes on the seed pension
/// (liabilities, market snapshot, calibration, scenario generation) and accepts it; the
/// factor book has no market snapshot and is refused, naming it.
#[test]
fn validate_accepts_the_seed_pension_for_the_hedging_workflow() {
    let output = stresslab()
        .args(["validate", "--workflow", "hedging", SEED_PENSION])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ready for hedging: "), "{stdout}");
    let output = stresslab()
        .args([
            "validate",
            "--workflow",
            "hedging",
            "events/inputs/ff_multifactor_book.json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("market"),
        "must name the market snapshot: {stderr}"
    );
}

/// A bad hedging parameter — out of bounds, misspelt, of the wrong type, a scenario
/// range upside down — exits 2 naming the field, from `validate` and from `run`, and
/// `run` writes nothing.
#[test]
fn bad_hedging_parameters_exit_2_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--param", "paths=5"], &["parameters.paths", "100"]),
        (
            &["--param", "horizon_days=500"],
            &["parameters.horizon_days", "252"],
        ),
        (
            &["--param", "pahts=300"],
            &["parameters.pahts", "unknown field"],
        ),
        (
            &["--param", "funded_ratio_floor=high"],
            &["parameters.funded_ratio_floor"],
        ),
        (
            &[
                "--param",
                r#"scenario_ranges={"equity_vol":{"min":0.6,"max":0.1}}"#,
            ],
            &["parameters.scenario_ranges", "equity_vol"],
        ),
        (&["--scenarios", "5"], &["parameters.scenarios", "12"]),
    ];
    for (i, (flags, needles)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        for verb in ["validate", "run"] {
            let mut cmd = stresslab();
            match verb {
                "validate" => cmd.args(["validate", "--workflow", "hedging", SEED_PENSION]),
                _ => cmd
                    .args([
                        "run",
                        "hedging",
                        "--quiet",
                        "--portfolio",
                        SEED_PENSION,
                        "--out",
                    ])
                    .arg(&out),
            };
            let output = cmd.args(*flags).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{flags:?} ({verb}): {stderr}"
            );
            for needle in *needles {
                assert!(
                    stderr.contains(needle),
                    "{flags:?} ({verb}) must name {needle}: {stderr}"
                );
            }
        }
        assert!(!out.exists(), "{flags:?}: run wrote {}", out.display());
    }
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

const MARKET: &str = "events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv";

/// A one-position book with given exposures; `edit` rewrites its JSON text.
fn small_book(edit: impl Fn(String) -> String) -> String {
    edit(
        r#"{"portfolio_id":"t1","name":"T","base_currency":"USD","positions":[
 {"id":"a","name":"A","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1000000,
  "factor":{"exposures":{"MktRF":1.0,"SMB":0.1,"HML":0.0,"Mom":0.0}}},
 {"id":"b","name":"B","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":2000000,
  "factor":{"exposures":{"MktRF":0.9,"SMB":0.0,"HML":0.2,"Mom":0.1}}}]}"#
            .to_owned(),
    )
}

/// Every input a new user found that used to panic, pass validation and then fail, or
/// leave files behind: `validate --workflow factor` and `run factor` both exit 2 with
/// the field named, and `run` writes nothing.
#[test]
fn bad_inputs_exit_2_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let market = std::fs::read_to_string(MARKET).unwrap();
    let bad_date = market.replacen("\n1949-01-01,", "\n2000-0é,", 1);
    assert_ne!(bad_date, market);
    let cases: Vec<(&str, &str, String, Option<String>, &str)> = vec![
        (
            "a non-ASCII date",
            "book.json",
            small_book(|s| s),
            Some(bad_date),
            "unreadable date",
        ),
        (
            "an overflowing quantity × price",
            "book.json",
            small_book(|s| {
                s.replacen(
                    "\"market_value\":1000000",
                    "\"quantity\":1e200,\"price\":1e200",
                    1,
                )
            }),
            None,
            "positions[0].quantity",
        ),
        (
            "a CSV with no market data",
            "book.csv",
            "id,name,asset_class,instrument_type,currency,market_value\nx,X,equity,stock,USD,100\n"
                .into(),
            Some(String::new()),
            "market_data",
        ),
        (
            "a market_data path escaping the folder",
            "book.json",
            small_book(|s| {
                s.replacen(
                    "\"base_currency\"",
                    "\"market_data\":\"../md.csv\",\"base_currency\"",
                    1,
                )
            }),
            None,
            "market_data",
        ),
        (
            "a misspelt factor",
            "book.json",
            small_book(|s| s.replacen("\"Mom\":0.1", "\"Mometum\":0.1", 1)),
            None,
            "exposures.Mometum",
        ),
        (
            "a duplicate id beside another error",
            "book.json",
            small_book(|s| {
                s.replacen("\"id\":\"b\"", "\"id\":\"a\"", 1).replacen(
                    "\"market_value\":2000000",
                    "\"market_value\":-5",
                    1,
                )
            }),
            None,
            "duplicate",
        ),
        (
            "a duplicate JSON key",
            "book.json",
            small_book(|s| {
                s.replacen(
                    "\"market_value\":1000000",
                    "\"market_value\":1000000,\"market_value\":5",
                    1,
                )
            }),
            None,
            "positions[0].market_value",
        ),
        (
            "an id longer than a DynamoDB key allows",
            "book.json",
            small_book(|s| s.replacen("\"t1\"", &format!("\"{}\"", "p".repeat(300)), 1)),
            None,
            "portfolio_id",
        ),
        (
            "an option in a factor book",
            "book.json",
            small_book(|s| {
                s.replacen(
                    "\"instrument_type\":\"stock\"",
                    "\"instrument_type\":\"option\"",
                    1,
                )
            }),
            None,
            "positions[0].instrument_type",
        ),
    ];
    for (i, (what, name, book, market_override, needle)) in cases.into_iter().enumerate() {
        let case = dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(&case).unwrap();
        let book_path = case.join(name);
        std::fs::write(&book_path, book).unwrap();
        let market_path = match market_override {
            Some(m) if m.is_empty() => None,
            Some(m) => {
                let p = case.join("md.csv");
                std::fs::write(&p, m).unwrap();
                Some(p)
            }
            None => Some(std::path::PathBuf::from(MARKET)),
        };
        let out = case.join("out");
        for verb in ["validate", "run"] {
            let mut cmd = stresslab();
            match verb {
                "validate" => cmd
                    .args(["validate", "--workflow", "factor"])
                    .arg(&book_path),
                _ => cmd
                    .args(["run", "factor", "--quiet", "--portfolio"])
                    .arg(&book_path)
                    .arg("--out")
                    .arg(&out),
            };
            if let Some(m) = &market_path {
                cmd.arg("--market-data").arg(m);
            }
            let output = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{what} ({verb}): {stderr}");
            assert!(
                stderr.contains(needle),
                "{what} ({verb}) must name {needle}: {stderr}"
            );
        }
        assert!(!out.exists(), "{what}: run wrote {}", out.display());
    }
}

#[test]
fn special_files_are_refused_at_once() {
    for path in ["/dev/zero", "/tmp"] {
        let started = std::time::Instant::now();
        let output = stresslab().args(["validate", path]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{path}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("not a regular file"));
        assert!(
            started.elapsed().as_secs() < 10,
            "{path} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn audit_prints_the_record_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = stresslab()
        .args([
            "run",
            "factor",
            "--portfolio",
            "events/inputs/ff_multifactor_book.json",
            "--scenarios",
            "100",
            "--partitions",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(run.success());
    let output = stresslab().arg("audit").arg(&out).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "engine factor/",
        "input portfolio",
        "input market_data",
        "risk-decomposition-engineer",
        "narrator template",
        "seed 42",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
