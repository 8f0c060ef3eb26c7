//! `stresslab serve` as a user runs it: the real binary on an ephemeral port, real HTTP.
//! A round trip (create → status polling → report), and 50 concurrent `POST /runs`, 10
//! of them duplicates, giving exactly 40 runs that all complete.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// The server process; killed when the test ends, however it ends.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stresslab"))
        .args(["serve", "--addr", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start stresslab serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut r = agent.get(url).call().expect("GET");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> (u16, Value) {
    let mut r = agent.post(url).send_json(body).expect("POST");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}")),
    )
}

fn pension() -> String {
    std::fs::read_to_string("events/inputs/seed_pension.json").unwrap()
}

/// A small hedging run: 12 scenarios × 100 paths (about a second in a debug build).
fn request(seed: u64) -> Value {
    json!({
        "workflow": "hedging",
        "portfolio": pension(),
        "portfolio_name": "seed_pension.json",
        "parameters": {"scenarios": 12, "partitions": 2, "paths": 100},
        "seed": seed
    })
}

/// Poll until every run has finished; returns each one's final view. The cap is a
/// guard against a hang, not a speed check.
fn wait_all(agent: &ureq::Agent, base: &str, ids: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let mut done = BTreeMap::new();
    for _ in 0..3000 {
        let pending: Vec<&String> = ids.iter().filter(|id| !done.contains_key(*id)).collect();
        for id in pending {
            let (status, body) = get(agent, &format!("{base}/runs/{id}"));
            assert_eq!(status, 200, "{id}: {body}");
            let view: Value = serde_json::from_str(&body).unwrap();
            if view["status"] == "SUCCEEDED" || view["status"] == "FAILED" {
                done.insert(id.clone(), view);
            }
        }
        if done.len() == ids.len() {
            return done;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} of {} runs finished", done.len(), ids.len());
}

#[test]
fn serve_round_trip_create_status_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let agent = agent();
    let (status, created) = post(&agent, &format!("{}/runs", server.base), &request(5));
    assert_eq!(status, 202, "{created}");
    let id = created["run_id"].as_str().unwrap().to_owned();
    let location = format!(
        "{}{}",
        server.base,
        created["links"]["self"].as_str().unwrap()
    );

    let mut seen = BTreeSet::new();
    let view = loop {
        let (status, body) = get(&agent, &location);
        assert_eq!(status, 200, "{body}");
        let view: Value = serde_json::from_str(&body).unwrap();
        seen.insert(view["status"].as_str().unwrap().to_owned());
        if view["status"] == "SUCCEEDED" || view["status"] == "FAILED" {
            break view;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(view["status"], "SUCCEEDED", "{view}");
    assert_eq!(
        view["progress"]["steps_done"],
        view["progress"]["steps_total"]
    );
    assert_eq!(view["started_by"], "local");

    let (status, body) = get(&agent, &format!("{}/runs/{id}/report", server.base));
    assert_eq!(status, 200, "{body}");
    let link: Value = serde_json::from_str(&body).unwrap();
    let (status, report) = get(
        &agent,
        &format!("{}{}", server.base, link["url"].as_str().unwrap()),
    );
    assert_eq!(status, 200);
    assert!(
        report.contains("<html") && report.contains(&id),
        "not the run's report"
    );
    // The report is the one the store holds, byte for byte.
    let stored =
        std::fs::read_to_string(dir.path().join(format!("store/runs/{id}/report.html"))).unwrap();
    assert_eq!(report, stored);
}

#[test]
fn fifty_concurrent_posts_with_ten_duplicates_make_forty_runs_that_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    // Seeds 0..40 are 40 distinct runs; 10 more requests repeat seeds 0..10.
    let seeds: Vec<u64> = (0..40).chain(0..10).collect();
    let barrier = Arc::new(Barrier::new(seeds.len()));
    let handles: Vec<_> = seeds
        .iter()
        .map(|&seed| {
            let barrier = Arc::clone(&barrier);
            let url = format!("{}/runs", server.base);
            let body = request(seed);
            std::thread::spawn(move || {
                let agent = agent();
                // All 50 leave together, so duplicates genuinely race.
                barrier.wait();
                let (status, answer) = post(&agent, &url, &body);
                (seed, status, answer)
            })
        })
        .collect();
    let answers: Vec<(u64, u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let mut by_seed: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut started = 0;
    for (seed, status, answer) in &answers {
        assert!(
            *status == 202 || *status == 200,
            "seed {seed}: {status} {answer}"
        );
        assert_eq!(answer["created"], *status == 202, "{answer}");
        started += usize::from(*status == 202);
        by_seed
            .entry(*seed)
            .or_default()
            .insert(answer["run_id"].as_str().unwrap().to_owned());
    }
    // One id per seed, whichever request of a pair got there first.
    assert!(by_seed.values().all(|ids| ids.len() == 1), "{by_seed:?}");
    let ids: BTreeSet<String> = by_seed.into_values().flatten().collect();
    assert_eq!(ids.len(), 40);
    // Exactly one request per run started it: no second run of any id.
    assert_eq!(started, 40, "requests that started a run");

    let agent = agent();
    let finished = wait_all(&agent, &server.base, &ids);
    for (id, view) in &finished {
        assert_eq!(view["status"], "SUCCEEDED", "{id}: {view}");
        assert_eq!(
            view["progress"]["steps_done"],
            view["progress"]["steps_total"]
        );
    }
    // The run store holds those 40 runs and nothing else.
    let stored: BTreeSet<String> = std::fs::read_dir(dir.path().join("runstore"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(stored, ids);
    let (status, body) = get(&agent, &format!("{}/runs", server.base));
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["runs"].as_array().unwrap().len(), 40);
}

/// `POST /assessments` on the real server: the committed 1,000-position sample is
/// assessed (201, consensus and audit record), the record is in the run store under
/// --dir and `GET /assessments/{id}` returns it; a bad request is 400 with its fields.
#[test]
fn serve_assesses_the_sample_and_stores_its_audit_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let agent = agent();
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string("events/inputs/assess_portfolio_1000.json").unwrap(),
    )
    .unwrap();
    let (status, body) = post(&agent, &format!("{}/assessments", server.base), &sample);
    assert_eq!(status, 201, "{body}");
    assert!(body["consensus"]["score"].is_number());
    let id = body["audit"]["assessment_id"].as_str().unwrap();
    assert!(dir
        .path()
        .join(format!("runstore/_assessments/{id}.json"))
        .is_file());
    let (status, text) = get(&agent, &format!("{}/assessments/{id}", server.base));
    assert_eq!(status, 200);
    let stored: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(stored["audit"], body["audit"]);
    assert_eq!(stored["requested_by"], "local");

    let mut bad = sample.clone();
    bad["portfolio"]["positions"][0]["asset_class"] = json!("tulips");
    let (status, body) = post(&agent, &format!("{}/assessments", server.base), &bad);
    assert_eq!(status, 400, "{body}");
    assert!(body["problems"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("tulips"));
}
