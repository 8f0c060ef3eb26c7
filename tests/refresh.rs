//! Issue 9's monthly scenario refresh, as the CLI runs it: `stresslab refresh` builds a
//! versioned scenario library from a market-data directory, and `run --library` pins it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stresslab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stresslab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn refresh(market: &Path, month: &str, store: &Path) -> Output {
    stresslab()
        .args(["refresh", "--month", month, "--market-data"])
        .arg(market)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap()
}

/// `library <version> (<month>): new|already stored…` → (version, new).
fn version_of(stdout: &str) -> (String, bool) {
    let first = stdout.lines().next().unwrap();
    let version = first.split_whitespace().nth(1).unwrap().to_owned();
    (version, first.ends_with(": new"))
}

/// Every file under `dir` with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

const MARKET: &str = "events/inputs";

#[test]
fn refreshing_the_same_month_and_data_again_finds_the_version_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let first = ok(refresh(Path::new(MARKET), "2026-12", &store));
    let (version, new) = version_of(&first);
    assert!(new, "{first}");
    assert!(version.starts_with("2026-12-"), "{first}");
    assert!(first.contains("hedging"), "the hedging section: {first}");
    assert!(
        first.contains("liquidity"),
        "the liquidity section: {first}"
    );
    let lib = store.join("libraries").join(&version);
    assert!(lib.join("manifest.json").is_file());
    assert!(lib.join("hedging.json").is_file());
    assert!(lib.join("liquidity.json").is_file());
    assert!(lib.join("factor.json").is_file());
    let before = snapshot(&store);

    let again = ok(refresh(Path::new(MARKET), "2026-12", &store));
    assert_eq!(version_of(&again), (version.clone(), false), "{again}");
    assert!(again.contains("nothing written"), "{again}");
    assert_eq!(snapshot(&store), before, "a re-run must write nothing");
    let versions = std::fs::read_dir(store.join("libraries")).unwrap().count();
    assert_eq!(
        versions, 1,
        "the same refresh must not make a second version"
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lib.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["version"], version.as_str());
    assert_eq!(manifest["month"], "2026-12");
    assert!(manifest["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(manifest["engines"]["hedging"], "hedging/2");
    let inputs = manifest["inputs"].as_array().unwrap();
    assert!(inputs
        .iter()
        .any(|i| i["name"] == "sp500_index_daily_1990_2022.csv"
            && i["sha256"].as_str().unwrap().len() == 64));
}

#[test]
fn different_data_gives_a_new_version_and_the_earlier_one_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let market = dir.path().join("market");
    std::fs::create_dir(&market).unwrap();
    for e in std::fs::read_dir(MARKET).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, market.join(p.file_name().unwrap())).unwrap();
    }
    let (v1, _) = version_of(&ok(refresh(&market, "2026-12", &store)));
    let old_section = std::fs::read(store.join(format!("libraries/{v1}/hedging.json"))).unwrap();

    // A month less of S&P 500 history: a different equity calibration.
    let sp = market.join("sp500_index_daily_1990_2022.csv");
    let text = std::fs::read_to_string(&sp).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&sp, lines[..lines.len() - 21].join("\n") + "\n").unwrap();
    let (v2, new) = version_of(&ok(refresh(&market, "2026-12", &store)));
    assert!(new);
    assert_ne!(v1, v2);
    let new_section = std::fs::read(store.join(format!("libraries/{v2}/hedging.json"))).unwrap();
    assert_ne!(
        old_section, new_section,
        "the calibration moved with the data"
    );
    assert_eq!(
        std::fs::read(store.join(format!("libraries/{v1}/hedging.json"))).unwrap(),
        old_section,
        "the earlier version is untouched"
    );

    // Same data, another month: another version too.
    let (v3, _) = version_of(&ok(refresh(&market, "2027-01", &store)));
    assert!(v3.starts_with("2027-01-") && v3 != v2);
}

#[test]
fn a_bad_month_or_missing_history_is_refused_by_name_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = refresh(Path::new(MARKET), "2026-13", &store);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("month (--month)"));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("fx_daily_1980_1987.csv"), "date,dm\n").unwrap();
    let out = refresh(&empty, "2026-12", &store);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Every workflow's missing history at once, each naming its workflow.
    for (file, workflow) in [
        ("ff_factors_industries_portfolios_monthly", "factor"),
        ("moodys_aaa_baa_monthly", "liquidity"),
        ("us_zero_yields_monthly", "hedging"),
    ] {
        assert!(
            err.contains(&format!("no {file}.csv"))
                && err.contains(&format!("({workflow} workflow)")),
            "{err}"
        );
    }
    assert!(!store.exists(), "nothing may be written");
}

const SEED_PENSION: &str = "events/inputs/seed_pension.json";

fn run_hedging(out: &Path, library: Option<(&str, &Path)>) -> Output {
    let mut c = stresslab();
    c.args([
        "run",
        "hedging",
        "--portfolio",
        SEED_PENSION,
        "--scenarios",
        "12",
        "--partitions",
        "2",
        "--param",
        "paths=100",
        "--seed",
        "5",
        "--quiet",
        "--out",
    ])
    .arg(out);
    if let Some((version, store)) = library {
        c.args(["--library", version, "--library-store"]).arg(store);
    }
    c.output().unwrap()
}

fn run_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned()
}

/// The strongest check that pinning is the same model: a library refreshed from the
/// bundled history reproduces the unpinned run's numbers exactly, under another run
/// id, and audit.json names it.
#[test]
fn a_pinned_hedging_run_names_its_library_has_its_own_id_and_reproduces_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let libs = dir.path().join("libs");
    let (version, _) = version_of(&ok(refresh(Path::new(MARKET), "2026-12", &libs)));

    let plain = dir.path().join("plain");
    let plain_id = run_id(&ok(run_hedging(&plain, None)));
    let pinned = dir.path().join("pinned");
    let pinned_id = run_id(&ok(run_hedging(&pinned, Some((&version, &libs)))));
    assert_ne!(plain_id, pinned_id, "the library is hashed into the run id");

    let audit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pinned.join("audit.json")).unwrap()).unwrap();
    assert_eq!(audit["library_version"], version.as_str());
    let plain_audit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plain.join("audit.json")).unwrap()).unwrap();
    assert!(plain_audit.get("library_version").is_none());

    let aggregate = |out: &Path, id: &str| {
        std::fs::read(out.join(format!("store/runs/{id}/aggregate.json"))).unwrap()
    };
    assert_eq!(
        aggregate(&plain, &plain_id),
        aggregate(&pinned, &pinned_id),
        "the pinned calibration must give the same numbers bit for bit"
    );
    let results = |out: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap()
    };
    assert_eq!(results(&plain)["results"], results(&pinned)["results"]);

    // Pinned to the same version again: the same run, nothing recomputed.
    let again = run_id(&ok(run_hedging(&pinned, Some((&version, &libs)))));
    assert_eq!(again, pinned_id);
}

#[test]
fn an_unknown_library_version_is_refused_naming_library_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run_hedging(&out, Some(("2026-12-000000000000", dir.path())));
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("library_version"), "{err}");
    assert!(
        err.contains("no scenario library 2026-12-000000000000"),
        "{err}"
    );
    assert!(
        !out.join("store/runs").exists(),
        "a refused run writes no run artifacts"
    );

    let output = run_hedging(&out, Some(("../../etc", dir.path())));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("library_version"), "{err}");
}

fn run_liquidity(out: &Path, library: Option<(&str, &Path)>) -> Output {
    let mut c = stresslab();
    c.args([
        "run",
        "liquidity",
        "--portfolio",
        "events/inputs/seed_multi_asset_fund.json",
        "--scenarios",
        "36",
        "--partitions",
        "2",
        "--quiet",
        "--out",
    ])
    .arg(out);
    if let Some((version, store)) = library {
        c.args(["--library", version, "--library-store"]).arg(store);
    }
    c.output().unwrap()
}

/// The liquidity section (its market anchors) pins the same way: refreshed from the
/// bundled files it reproduces the unpinned run; refreshed from other data it moves it.
#[test]
fn a_pinned_liquidity_run_reproduces_the_numbers_and_other_anchors_move_them() {
    let dir = tempfile::tempdir().unwrap();
    let libs = dir.path().join("libs");
    let (version, _) = version_of(&ok(refresh(Path::new(MARKET), "2026-12", &libs)));
    let plain = dir.path().join("plain");
    let plain_id = run_id(&ok(run_liquidity(&plain, None)));
    let pinned = dir.path().join("pinned");
    let pinned_id = run_id(&ok(run_liquidity(&pinned, Some((&version, &libs)))));
    assert_ne!(plain_id, pinned_id);
    let audit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pinned.join("audit.json")).unwrap()).unwrap();
    assert_eq!(audit["library_version"], version.as_str());
    let aggregate = |out: &Path, id: &str| {
        std::fs::read(out.join(format!("store/runs/{id}/aggregate.json"))).unwrap()
    };
    assert_eq!(aggregate(&plain, &plain_id), aggregate(&pinned, &pinned_id));

    // Equity history without 2008-09: milder worst three months, other scenarios.
    let market = dir.path().join("market");
    std::fs::create_dir(&market).unwrap();
    for e in std::fs::read_dir(MARKET).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, market.join(p.file_name().unwrap())).unwrap();
    }
    let sp = market.join("sp500_index_daily_1990_2022.csv");
    let text = std::fs::read_to_string(&sp).unwrap();
    let cut: String = text
        .lines()
        .filter(|l| !l.starts_with("2008-") && !l.starts_with("2009-"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sp, cut).unwrap();
    let (other, _) = version_of(&ok(refresh(&market, "2026-12", &libs)));
    assert_ne!(other, version);
    let moved = dir.path().join("moved");
    let moved_id = run_id(&ok(run_liquidity(&moved, Some((&other, &libs)))));
    assert_ne!(
        aggregate(&plain, &plain_id),
        aggregate(&moved, &moved_id),
        "other anchors must give other scenarios"
    );
}

fn run_factor(out: &Path, library: Option<(&str, &Path)>) -> Output {
    let mut c = stresslab();
    c.args([
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
    .arg(out);
    if let Some((version, store)) = library {
        c.args(["--library", version, "--library-store"]).arg(store);
    }
    c.output().unwrap()
}

/// The factor section (market-wide history and its covariances) pins the same way: a
/// library refreshed from the bundled file reproduces the unpinned run; the run's own
/// file then only supplies the positions' return series.
#[test]
fn a_pinned_factor_run_reproduces_the_numbers_and_names_its_library() {
    let dir = tempfile::tempdir().unwrap();
    let libs = dir.path().join("libs");
    let (version, _) = version_of(&ok(refresh(Path::new(MARKET), "2026-12", &libs)));
    let section: serde_json::Value = serde_json::from_slice(
        &std::fs::read(libs.join(format!("libraries/{version}/factor.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        section["source"],
        "ff_factors_industries_portfolios_monthly_1949_2017.csv"
    );
    assert_eq!(section["covariance_shrunk"].as_array().unwrap().len(), 4);
    let plain = dir.path().join("plain");
    let plain_id = run_id(&ok(run_factor(&plain, None)));
    let pinned = dir.path().join("pinned");
    let pinned_id = run_id(&ok(run_factor(&pinned, Some((&version, &libs)))));
    assert_ne!(plain_id, pinned_id);
    let audit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pinned.join("audit.json")).unwrap()).unwrap();
    assert_eq!(audit["library_version"], version.as_str());
    let read = |out: &Path, id: &str, file: &str| {
        std::fs::read(out.join(format!("store/runs/{id}/{file}"))).unwrap()
    };
    assert_eq!(
        read(&plain, &plain_id, "aggregate.json"),
        read(&pinned, &pinned_id, "aggregate.json")
    );
    let model = |out: &Path, id: &str| -> serde_json::Value {
        serde_json::from_slice(&read(out, id, "model.json")).unwrap()
    };
    assert_eq!(model(&plain, &plain_id), model(&pinned, &pinned_id));
    assert_eq!(
        model(&pinned, &pinned_id)["covariance_shrunk"],
        section["covariance_shrunk"]
    );
}
