//! `stresslab loans` as issue 10 accepts it: the sample book with +300 bp writes
//! per-loan projections and compliance status valid against
//! schemas/loan-results.schema.json; a book with bad records exits 2, listing every bad
//! field by line, and writes nothing.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn stresslab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stresslab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/loan-results.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn loans_on_the_sample_book_with_300bp_writes_schema_valid_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = |out: &Path| {
        stresslab()
            .args([
                "loans",
                "--book",
                "events/inputs/loan_book_10000.csv",
                "--shock-bp",
                "300",
                "--ramp-months",
                "12",
                "--out",
            ])
            .arg(out)
            .output()
            .unwrap()
    };
    let output = run(&out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for word in ["expected loss", "IRB capital", "NII", "Compliant"] {
        assert!(stdout.contains(word), "summary lacks {word:?}: {stdout}");
    }
    let text = std::fs::read(out.join("loan_results.json")).unwrap();
    let results: Value = serde_json::from_slice(&text).unwrap();
    let v = validator();
    let problems = errors(&v, &results);
    assert!(problems.is_empty(), "{problems:?}");
    let loans = results["Loans"].as_array().unwrap();
    assert_eq!(loans.len(), 10_000);
    assert_eq!(loans[0]["LoanId"], "L000001");
    assert_eq!(results["Scenario"]["Shock"]["bp"], 300.0);
    // The shock raises the book's expected loss, and each metric has a status.
    let impact = &results["OverallImpact"];
    assert!(impact["ExpectedLossStressed"].as_f64() > impact["ExpectedLossBase"].as_f64());
    for m in results["ComplianceMetrics"].as_array().unwrap() {
        assert!(m["Status"] == "Compliant" || m["Status"] == "Non-Compliant");
    }
    let csv = std::fs::read_to_string(out.join("loan_projections.csv")).unwrap();
    assert_eq!(csv.lines().count(), 10_001);
    assert!(csv.starts_with("LoanId,CustomerId,LoanType,"));
    // The schema is not a rubber stamp: a percentage PD or a misspelt status fails.
    let mut bad = results.clone();
    bad["Loans"][0]["ProjectedDefaultRisk"] = 4.5.into();
    bad["ComplianceMetrics"][0]["Status"] = "NonCompliant".into();
    assert_eq!(errors(&v, &bad).len(), 2, "{:?}", errors(&v, &bad));

    // Deterministic: the same inputs give the same simulation id and bytes, and the
    // rerun replaces the directory as a whole (nothing left beside it).
    let again = run(&out);
    assert!(again.status.success());
    assert_eq!(std::fs::read(out.join("loan_results.json")).unwrap(), text);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["out"], "temporary directories left behind");
}

#[test]
fn a_book_with_bad_records_exits_2_listing_every_bad_field_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = stresslab()
        .args([
            "loans",
            "--book",
            "events/inputs/loan_book_invalid.csv",
            "--shock-bp",
            "300",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for want in [
        "line 5, LoanAmount: \"25O000\" is not a number",
        "line 6, StartDate: \"2023-02-30\" is not a date",
        "line 7, EndDate: 2022-09-01 is not after StartDate 2024-09-01",
        "line 8, LoanType: unknown product \"Auto\"",
        "line 9, CurrentBalance: -1200 must be >= 0",
        "line 10, CustomerId: missing (empty)",
        "line 11, InterestRate: 7.5 looks like a percentage",
        "line 11, RepaymentSchedule: \"Weekly\"",
        "line 11, DefaultRiskScore: 120 must be in [0, 100]",
        "line 12, record: malformed CSV: 5 fields where the header has 10",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
    assert!(stderr.contains("10 issue(s)"), "{stderr}");
    // Lines 2–4 are good loans: not mentioned.
    for good in ["line 2,", "line 3,", "line 4,"] {
        assert!(!stderr.contains(good), "{stderr}");
    }
    assert!(output.stdout.is_empty());
    assert!(!out.exists(), "nothing may be written for a bad book");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn loans_not_live_at_the_valuation_date_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = stresslab()
        .args([
            "loans",
            "--book",
            "events/inputs/loan_book_10000.csv",
            "--shock-bp",
            "300",
            "--as-of",
            "2025-01-31",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("StartDate: 2025-04-17 is after the valuation date 2025-01-31"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn loans_sample_writes_the_committed_book() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("book.csv");
    let status = stresslab()
        .args([
            "loans", "sample", "--count", "10000", "--seed", "7", "--out",
        ])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("events/inputs/loan_book_10000.csv")
        )
        .unwrap()
    );
}
