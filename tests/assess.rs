//! `stresslab assess` as a user runs it: on the committed 1,000-position sample request
//! (consensus and audit record printed, the record stored in the run store and
//! assessment.json written), with a settings file, and on bad requests (exit 2, every
//! bad field by path, nothing stored).

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

const SAMPLE: &str = "events/inputs/assess_portfolio_1000.json";

fn stresslab(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stresslab"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn stored_records(out: &Path) -> Vec<Value> {
    let dir = out.join("runstore/_assessments");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect()
}

#[test]
fn assess_on_the_sample_prints_the_consensus_and_stores_the_audit_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = stresslab(&["assess", "--portfolio", SAMPLE], &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for expected in [
        "consensus: score",
        "market",
        "credit",
        "liquidity",
        "compliance",
        "breaches",
        "input_hash",
        "model_version  market-model/",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing:\n{stdout}");
    }
    let assessment: Value =
        serde_json::from_slice(&std::fs::read(out.join("assessment.json")).unwrap()).unwrap();
    let audit = &assessment["audit"];
    assert_eq!(audit["portfolio_id"], "sample-multi-asset-1000");
    assert_eq!(audit["agents"].as_array().unwrap().len(), 4);
    assert!(audit["agents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["state"] == "completed"));
    let records = stored_records(&out);
    assert_eq!(records.len(), 1);
    assert_eq!(
        &records[0]["audit"], audit,
        "the stored record is the one printed"
    );
    assert!(records[0]["requested_by"]
        .as_str()
        .unwrap()
        .starts_with("local:"));
    assert!(stdout.contains(audit["assessment_id"].as_str().unwrap()));

    // With a settings file: its seed and simulations are the ones assessed and audited.
    let settings = dir.path().join("settings.json");
    std::fs::write(&settings, r#"{"simulations": 2000, "seed": 9}"#).unwrap();
    let run = stresslab(
        &[
            "assess",
            "--portfolio",
            SAMPLE,
            "--settings",
            settings.to_str().unwrap(),
            "--json",
        ],
        &out,
    );
    assert!(run.status.success());
    let printed: Value = serde_json::from_slice(&run.stdout).expect("--json prints JSON");
    assert_eq!(printed["audit"]["seed"], 9);
    assert_eq!(printed["audit"]["simulations"], 2000);
    assert_eq!(
        stored_records(&out).len(),
        2,
        "a second assessment, stored beside"
    );
}

#[test]
fn a_bad_request_exits_2_listing_every_bad_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut request: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)).unwrap(),
    )
    .unwrap();
    request["portfolio"]["nav"] = json!(0.0);
    request["portfolio"]["positions"][7]["exposures"] = json!({"NO_SUCH_FACTOR": 5.0});
    request["portfolio"]["positions"][9]["id"] = request["portfolio"]["positions"][8]["id"].clone();
    request["settings"] = json!({"horizon_days": 0});
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec_pretty(&request).unwrap()).unwrap();
    let run = stresslab(&["assess", "--portfolio", bad.to_str().unwrap()], &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    for path in [
        "portfolio.nav",
        "portfolio.positions[7].exposures.NO_SUCH_FACTOR",
        "portfolio.positions[9].id",
        "settings.horizon_days",
    ] {
        assert!(stderr.contains(path), "{path} missing:\n{stderr}");
    }
    assert!(stored_records(&out).is_empty());
    assert!(!out.join("assessment.json").exists());

    // Not JSON: the file's own line and column.
    std::fs::write(&bad, "{\n  \"portfolio\": {\n    \"nav\": ,\n").unwrap();
    let run = stresslab(&["assess", "--portfolio", bad.to_str().unwrap()], &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stored_records(&out).is_empty());
}
