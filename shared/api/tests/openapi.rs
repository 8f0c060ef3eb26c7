//! The router against openapi/stresslab-api.json: the same routes both ways, and real
//! responses (200/202/400/404/409/413/415) valid against the document's schemas — with
//! the local backend running real runs on disk.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use stresslab_api::local::{LocalBackend, LocalOptions};
use stresslab_api::{assessments, router, ApiConfig, MAX_BODY_BYTES, ROUTES};
use stresslab_core::storage::{RunRecipe, RunRecord, RunStatus, RunStore};
use tower::ServiceExt;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn document() -> Value {
    let text = std::fs::read_to_string(repo().join("openapi/stresslab-api.json"))
        .expect("openapi/stresslab-api.json");
    serde_json::from_str(&text).expect("the OpenAPI document is JSON")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Check `body` against the document's schema for this operation and status.
fn assert_conforms(doc: &Value, method: &str, path: &str, status: StatusCode, body: &[u8]) {
    let response = &doc["paths"][path][method.to_ascii_lowercase()]["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which the document does not list"
    );
    let schema = &response["content"]["application/json"]["schema"];
    let reference = schema["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{method} {path} {status}: schema is not a $ref"));
    // The response schema, resolved against the document's components.
    let wrapper = json!({ "$ref": reference, "components": doc["components"] });
    let validator = jsonschema::draft202012::new(&wrapper).expect("schema compiles");
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{method} {path} {status}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match {reference}: {errors:?}\n{value:#}"
    );
}

struct App {
    router: Router,
    dir: tempfile::TempDir,
    doc: Value,
}

impl App {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(LocalBackend::new(dir.path(), LocalOptions::default()).unwrap());
        App {
            // As `stresslab serve` merges them: the runs API and the assessments.
            router: router(backend.clone(), ApiConfig::local())
                .merge(assessments::router(backend, ApiConfig::local())),
            dir,
            doc: document(),
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri)
            .header("x-stresslab-principal", "analyst-7");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let response = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    /// Call, and check the answer against the document (`doc_path` is the template).
    async fn checked(
        &self,
        method: &str,
        uri: &str,
        doc_path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let (status, _, bytes) = self.call(method, uri, content_type, body).await;
        assert_conforms(&self.doc, method, doc_path, status, &bytes);
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn post_run(&self, body: Value) -> (StatusCode, Value) {
        self.checked(
            "POST",
            "/runs",
            "/runs",
            Some("application/json"),
            serde_json::to_vec(&body).unwrap(),
        )
        .await
    }
}

fn problem_paths(body: &Value) -> Vec<String> {
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_owned())
        .collect()
}

/// Files under `root`, as paths relative to it.
fn walk(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out
}

fn pension() -> String {
    std::fs::read_to_string(repo().join("events/inputs/seed_pension.json")).unwrap()
}

/// A small hedging run (a second or so in a debug build).
fn small_hedging(seed: u64) -> Value {
    json!({
        "workflow": "hedging",
        "portfolio": pension(),
        "portfolio_name": "seed_pension.json",
        "parameters": {"scenarios": 12, "partitions": 2, "paths": 100},
        "seed": seed
    })
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let app = App::new();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .chain(assessments::ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let documented = documented_routes(&app.doc);
    assert_eq!(
        served, documented,
        "router (left) and openapi/stresslab-api.json (right) differ"
    );
    // ROUTES is what the router was built from; check each is really routed: our
    // handlers answer (a 404 from them carries problems; the router's own is empty),
    // and a method the document does not list is 405.
    for (method, path) in ROUTES.iter().chain(assessments::ROUTES) {
        let uri = path
            .replace("{id}", "hedging-00000000000000000000")
            .replace("{file}", "report.html");
        let (status, _, body) = app
            .call(method, &uri, Some("application/json"), b"{}".to_vec())
            .await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            let v: Value = serde_json::from_slice(&body).expect("our 404 is JSON");
            assert!(v["problems"].is_array(), "{method} {path}: {v}");
        }
        let (status, _, _) = app.call("DELETE", &uri, None, Vec::new()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "DELETE {path}");
    }
    let (status, _, body) = app.call("GET", "/nowhere", None, Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty());
}

#[tokio::test]
async fn bad_input_is_400_413_415_with_the_field_named_never_500() {
    let app = App::new();
    let json_ct = Some("application/json");
    let cases: Vec<(Vec<u8>, Option<&str>, StatusCode, &str)> = vec![
        // Cut off inside the value of `workflow`: reported there.
        (b"{\"workflow\": ".to_vec(), json_ct, StatusCode::BAD_REQUEST, "workflow"),
        (br#"{"workflow": "hedging", "portfolio_key": "a.json"} trailing"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "body"),
        (b"".to_vec(), json_ct, StatusCode::BAD_REQUEST, "body"),
        (b"[1,2]".to_vec(), json_ct, StatusCode::BAD_REQUEST, "body"),
        (br#"{"portfolio_key": "a.json"}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "workflow"),
        (
            br#"{"workflow": "hedging", "portfolio_key": "a.json", "library_version": "2024-01"}"#.to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "library_version",
        ),
        (br#"{"workflow": "hedgin", "portfolio_key": "a.json"}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "workflow"),
        (
            br#"{"workflow": "hedging", "portfolio_key": "a.json", "parameters": {"scenarios": "many"}}"#.to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "parameters.scenarios",
        ),
        (
            br#"{"workflow": "hedging", "portfolio_key": "a.json", "parameters": {"scenarios": 1}}"#.to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "parameters.scenarios",
        ),
        (
            br#"{"workflow": "hedging", "portfolio_key": "a.json", "parameters": {"sceanrios": 10}}"#.to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "parameters",
        ),
        (br#"{"workflow": "hedging", "portfolio_key": "a.json", "seed": -1}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "seed"),
        (br#"{"workflow": "hedging"}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "portfolio"),
        (br#"{"workflow": "hedging", "portfolio_key": "../etc/passwd"}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "portfolio_key"),
        (br#"{"workflow": "hedging", "portfolio_key": "uploads/none.json"}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "portfolio_key"),
        (br#"{"workflow": "hedging", "portfolio": 7}"#.to_vec(), json_ct, StatusCode::BAD_REQUEST, "portfolio"),
        (
            br#"{"workflow": "hedging", "portfolio": {"portfolio_id": "x"}}"#.to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "portfolio",
        ),
        (
            br#"{"workflow": "hedging", "portfolio": "a,b\n1,2\n", "portfolio_name": "../x.csv"}"#.to_vec(),
            json_ct,
            StatusCode::BAD_REQUEST,
            "portfolio_name",
        ),
        (br#"{"workflow": "hedging"}"#.to_vec(), Some("text/plain"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type"),
        (br#"{"workflow": "hedging"}"#.to_vec(), None, StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type"),
        (vec![b' '; MAX_BODY_BYTES + 1], json_ct, StatusCode::PAYLOAD_TOO_LARGE, "body"),
    ];
    for (body, ct, expected, path) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let (status, _, bytes) = app.call("POST", "/runs", ct, body).await;
        assert_eq!(
            status,
            expected,
            "{shown}: {}",
            String::from_utf8_lossy(&bytes)
        );
        assert_conforms(&app.doc, "POST", "/runs", status, &bytes);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let paths = problem_paths(&v);
        assert!(
            paths
                .iter()
                .any(|p| p == path || p.starts_with(&format!("{path}."))),
            "{shown}: expected a problem at {path}, got {v}"
        );
    }

    // The factor book names market data beside itself; inline, that is nowhere.
    let book =
        std::fs::read_to_string(repo().join("events/inputs/ff_multifactor_book.json")).unwrap();
    let (status, v) = app
        .post_run(json!({"workflow": "factor", "portfolio": book, "portfolio_name": "book.json"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(problem_paths(&v), ["portfolio.market_data"], "{v}");

    // A workflow's own preparation refuses a work budget it cannot meet (checked before
    // any run starts, as `stresslab run` checks it).
    let (status, v) = app
        .post_run(
            json!({"workflow": "hedging", "portfolio": pension(), "portfolio_name": "p.json",
            "parameters": {"scenarios": 100000, "paths": 100000}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(problem_paths(&v)[0].starts_with("parameters"), "{v}");

    // Inline market data that is not market data: named, and not stored.
    let (status, v) = app
        .post_run(
            json!({"workflow": "hedging", "portfolio": pension(), "portfolio_name": "p.json",
            "market_data": "date,x\nnot-a-date,abc\n"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(problem_paths(&v)[0].starts_with("market_data"), "{v}");

    // Nothing was started by any of it, and no invalid input was stored.
    let (status, v) = app.checked("GET", "/runs", "/runs", None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["runs"], json!([]));
    assert!(
        !app.dir.path().join("runstore").exists()
            || std::fs::read_dir(app.dir.path().join("runstore"))
                .unwrap()
                .next()
                .is_none()
    );
    let stored: Vec<String> = walk(&app.dir.path().join("store"));
    assert!(
        stored.iter().all(|k| (k.ends_with("/p.json") || k.ends_with("/book.json")) && !k.contains("/market/")),
        "only portfolios that parsed (refused later for their budget or market data) may be stored: {stored:?}"
    );
}

#[tokio::test]
async fn a_run_round_trips_and_every_answer_matches_the_document() {
    let app = App::new();
    let (status, v) = app
        .checked("GET", "/workflows", "/workflows", None, Vec::new())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["name"] == "hedging"));
    let (status, headers, page) = app.call("GET", "/", None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8(page)
        .unwrap()
        .contains("StressLab console"));

    let (status, created) = app.post_run(small_hedging(11)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["created"], true);
    let id = created["run_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("hedging-"));
    assert_eq!(created["links"]["self"], format!("/runs/{id}"));

    // Poll until finished (a guard against a hang, not a speed check).
    let status_uri = format!("/runs/{id}");
    let mut view;
    let mut polls = 0;
    loop {
        let (status, v) = app
            .checked("GET", &status_uri, "/runs/{id}", None, Vec::new())
            .await;
        assert_eq!(status, StatusCode::OK);
        view = v;
        if view["status"] == "SUCCEEDED" || view["status"] == "FAILED" {
            break;
        }
        if view["status"] != "QUEUED" {
            // While it runs, the report is not there yet.
            let (status, r) = app
                .checked(
                    "GET",
                    &format!("/runs/{id}/report"),
                    "/runs/{id}/report",
                    None,
                    Vec::new(),
                )
                .await;
            if status == StatusCode::CONFLICT {
                assert_eq!(problem_paths(&r), ["id"]);
            }
        }
        polls += 1;
        assert!(polls < 6000, "run {id} did not finish: {view}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(view["status"], "SUCCEEDED", "{view}");
    assert_eq!(view["started_by"], "local:analyst-7");
    let p = &view["progress"];
    assert_eq!(p["partitions_done"], 2);
    assert_eq!(p["steps_done"], p["steps_total"], "{view}");
    assert!(view["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == "synthesize"));

    let (status, link) = app
        .checked(
            "GET",
            &format!("/runs/{id}/report"),
            "/runs/{id}/report",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let url = link["url"].as_str().unwrap();
    let (status, headers, report) = app.call("GET", url, None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8_lossy(&report).contains(&id));
    let (status, _, audit) = app
        .call(
            "GET",
            &format!("/runs/{id}/files/audit.json"),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&audit).contains("local:analyst-7"));
    let (status, _) = app
        .checked(
            "GET",
            &format!("/runs/{id}/files/model.json"),
            "/runs/{id}/files/{file}",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same request again: the same run, not a second one.
    let (status, again) = app.post_run(small_hedging(11)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["run_id"], id.as_str());
    assert_eq!(again["created"], false);
    assert_eq!(again["status"], "SUCCEEDED");

    // History by portfolio id.
    let pid = view["portfolio_id"].as_str().unwrap();
    let (status, history) = app
        .checked(
            "GET",
            &format!("/runs?portfolio={pid}"),
            "/runs",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = history["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let (status, _) = app
        .checked("GET", "/runs?portfolio=", "/runs", None, Vec::new())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .checked("GET", "/runs?owner=me", "/runs", None, Vec::new())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Unknown runs.
    for uri in ["/runs/hedging-ffffffffffffffffffff", "/runs/..%2Fetc"] {
        let (status, _) = app
            .checked("GET", uri, "/runs/{id}", None, Vec::new())
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    let (status, _) = app
        .checked(
            "GET",
            "/runs/hedging-ffffffffffffffffffff/report",
            "/runs/{id}/report",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A run the store records as RUNNING (as one mid-flight on AWS is): 409, by its id.
    let runs = stresslab_core::local::DiskRunStore::new(app.dir.path().join("runstore"));
    let running = "hedging-0123456789abcdef0123";
    runs.create_run(&RunRecord {
        run_id: running.into(),
        workflow: "hedging".into(),
        portfolio_id: "p".into(),
        created_at: "2024-01-01T00:00:00Z".into(),
        partition_count: 1,
        scenario_count: 12,
        seed: 1,
        status: RunStatus::Running,
        detail: None,
        engine_version: "x".into(),
        recipe: RunRecipe {
            portfolio_key: "k".into(),
            portfolio_sha256: "s".into(),
            market_data_key: None,
            market_data_sha256: None,
            parameters: "{}".into(),
            manifest_sha256: "m".into(),
        },
        started_by: None,
    })
    .await
    .unwrap();
    let (status, v) = app
        .checked(
            "GET",
            &format!("/runs/{running}/report"),
            "/runs/{id}/report",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, _) = app
        .checked(
            "GET",
            &format!("/runs/{running}/files/report.html"),
            "/runs/{id}/files/{file}",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// `library_version` pins a scenario library: a malformed or unknown version is a 400
/// naming the field; a real one (written by the refresh into the store) starts a run
/// with its own id, which records the version in audit.json.
#[tokio::test]
async fn a_pinned_library_version_reaches_the_run_and_bad_ones_are_400() {
    use stresslab_core::library::{MarketDataSet, Month};
    use stresslab_core::local::DiskBlobStore;
    use stresslab_core::storage::BlobStore;
    let app = App::new();
    let blobs = DiskBlobStore::new(app.dir.path().join("store"));
    let mut set = MarketDataSet::new();
    for e in std::fs::read_dir(repo().join("events/inputs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            set.insert(name, std::fs::read(&p).unwrap());
        }
    }
    let month = Month::parse("2026-12").unwrap();
    let version = stresslab_registry::refresh_library(&blobs, &month, &set)
        .await
        .unwrap()
        .manifest
        .version
        .to_string();

    for bad in ["2026-12", "2026-11-0123456789ab"] {
        let mut body = small_hedging(11);
        body["library_version"] = bad.into();
        let (status, v) = app.post_run(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(
            problem_paths(&v)
                .iter()
                .any(|p| p.starts_with("library_version")),
            "{bad}: {v}"
        );
    }

    let (status, unpinned) = app.post_run(small_hedging(11)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{unpinned}");
    let mut body = small_hedging(11);
    body["library_version"] = version.clone().into();
    let (status, pinned) = app.post_run(body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pinned}");
    let id = pinned["run_id"].as_str().unwrap().to_owned();
    assert_ne!(
        id,
        unpinned["run_id"].as_str().unwrap(),
        "the version is in the run id"
    );
    let mut polls = 0;
    loop {
        let (_, view) = app
            .checked(
                "GET",
                &format!("/runs/{id}"),
                "/runs/{id}",
                None,
                Vec::new(),
            )
            .await;
        if view["status"] == "SUCCEEDED" {
            break;
        }
        assert_ne!(view["status"], "FAILED", "{view}");
        polls += 1;
        assert!(polls < 6000, "run {id} did not finish: {view}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let audit = blobs
        .get(&stresslab_core::stages::deliverable_key(&id, "audit.json"))
        .await
        .unwrap();
    assert!(
        String::from_utf8(audit).unwrap().contains(&version),
        "audit.json names the pinned library {version}"
    );
}

/// A request for the sample generator's book of `positions` positions on the
/// calibrated model, with fewer simulations (a debug build runs these tests).
fn assessment_request(positions: usize) -> Value {
    let model = assessments::shared_model().expect("the calibrated market model");
    let portfolio = stresslab_assess::sample::portfolio(&model, positions, 11);
    json!({
        "portfolio": portfolio,
        "settings": {"simulations": 2000, "seed": 5}
    })
}

#[tokio::test]
async fn an_assessment_is_answered_stored_and_read_back_as_documented() {
    let app = App::new();
    let request = assessment_request(120);
    let (status, body) = app
        .checked(
            "POST",
            "/assessments",
            "/assessments",
            Some("application/json"),
            serde_json::to_vec(&request).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let audit = &body["audit"];
    let id = audit["assessment_id"].as_str().unwrap().to_owned();
    assert_eq!(audit["portfolio_id"], request["portfolio"]["portfolio_id"]);
    assert_eq!(audit["simulations"], 2000);
    assert_eq!(audit["seed"], 5);
    let agents: Vec<&str> = audit["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents.len(), 4, "{agents:?}");
    assert!(body["market"]["var99"].is_object(), "{}", body["market"]);

    // The stored record is exactly the audit record answered, with the caller.
    let (status, stored) = app
        .checked(
            "GET",
            &format!("/assessments/{id}"),
            "/assessments/{id}",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&stored["audit"], audit);
    assert_eq!(stored["requested_by"], "local:analyst-7");
    let files: Vec<String> = walk(&app.dir.path().join("runstore/_assessments"));
    assert_eq!(files, vec![format!("{id}.json")]);

    // The same request again is a new assessment (a new time, so a new id), stored
    // beside the first.
    let (status, again) = app
        .checked(
            "POST",
            "/assessments",
            "/assessments",
            Some("application/json"),
            serde_json::to_vec(&request).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(again["audit"]["assessment_id"], audit["assessment_id"]);
    assert_eq!(again["audit"]["input_hash"], audit["input_hash"]);
    assert_eq!(
        again["consensus"]["score"], body["consensus"]["score"],
        "same request and seed, same numbers"
    );
}

#[tokio::test]
async fn a_bad_assessment_request_is_400_with_every_field_never_stored() {
    let app = App::new();
    let json_ct = Some("application/json");
    let mut request = assessment_request(30);
    request["portfolio"]["nav"] = json!(-5.0);
    request["portfolio"]["positions"][3]["exposures"] = json!({"NOT_A_FACTOR": 1.0});
    request["settings"]["simulations"] = json!(3);
    let (status, body) = app
        .checked(
            "POST",
            "/assessments",
            "/assessments",
            json_ct,
            serde_json::to_vec(&request).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let paths = problem_paths(&body);
    for expected in [
        "portfolio.nav",
        "portfolio.positions[3].exposures.NOT_A_FACTOR",
        "settings.simulations",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} missing from {paths:?}"
        );
    }

    // Broken JSON: where it breaks.
    let (status, body) = app
        .checked(
            "POST",
            "/assessments",
            "/assessments",
            json_ct,
            b"{\"portfolio\": {\"portfolio_id\": 7".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_paths(&body), vec!["body"]);
    assert!(body["problems"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("line 1"));

    // An unknown field is refused, not ignored.
    let mut unknown = assessment_request(5);
    unknown["priority"] = json!("high");
    let (status, _) = app
        .checked(
            "POST",
            "/assessments",
            "/assessments",
            json_ct,
            serde_json::to_vec(&unknown).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = app
        .checked(
            "POST",
            "/assessments",
            "/assessments",
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = app
        .checked(
            "GET",
            "/assessments/asm-00000000000000000000",
            "/assessments/{id}",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem_paths(&body), vec!["id"]);
    let (status, _) = app
        .checked(
            "GET",
            "/assessments/..%2Fmeta",
            "/assessments/{id}",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert!(
        walk(&app.dir.path().join("runstore")).is_empty(),
        "a refused request stores nothing"
    );
}

#[tokio::test]
async fn an_assessment_over_the_body_cap_is_413() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(LocalBackend::new(dir.path(), LocalOptions::default()).unwrap());
    let config = ApiConfig {
        max_body_bytes: 4096,
        ..ApiConfig::local()
    };
    let app = assessments::router(backend, config);
    let body = serde_json::to_vec(&assessment_request(50)).unwrap();
    assert!(body.len() > 4096);
    let response = app
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/assessments")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_conforms(&document(), "POST", "/assessments", status, &bytes);
    assert!(walk(dir.path()).is_empty(), "nothing stored");
}

// ------------------------------------------------------------ POST /loan-simulations

fn loan_book(name: &str) -> String {
    std::fs::read_to_string(repo().join("events/inputs").join(name)).unwrap()
}

async fn post_loans(app: &App, body: Value) -> (StatusCode, Value) {
    app.checked(
        "POST",
        "/loan-simulations",
        "/loan-simulations",
        Some("application/json"),
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

/// The sample book with +300 bp over 12 months: 200 with the results document, valid
/// against the OpenAPI document and schemas/loan-results.schema.json, the same
/// simulation id the engine derives, the same bytes on a repeat.
#[tokio::test]
async fn a_loan_simulation_answers_the_documented_results() {
    let app = App::new();
    let book = loan_book("loan_book_10000.csv");
    let request = json!({
        "book_csv": book,
        "shock": {"kind": "ramp", "bp": 300, "months": 12},
        "as_of": "2025-06-30",
    });
    let (status, body) = post_loans(&app, request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/loan-results.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(body["Loans"].as_array().unwrap().len(), 10_000);
    assert_eq!(body["HorizonMonths"], 60);
    let shock = stresslab_loans::RateShock::Ramp {
        bp: 300.0,
        months: 12,
    };
    let settings = stresslab_loans::Settings::new(stresslab_loans::sample::VALUATION_DATE);
    let sha = stresslab_loans::report::sha256_hex(book.as_bytes());
    assert_eq!(
        body["SimulationId"],
        stresslab_loans::report::simulation_id(&sha, &shock, &settings)
    );
    let (_, again) = post_loans(&app, request.clone()).await;
    assert_eq!(again, body);

    // Totals only: the same id and totals, no rows.
    let mut totals = request;
    totals["include_loans"] = false.into();
    let (status, short) = post_loans(&app, totals).await;
    assert_eq!(status, StatusCode::OK);
    assert!(short["Loans"].as_array().unwrap().is_empty());
    assert_eq!(short["SimulationId"], body["SimulationId"]);
    assert_eq!(short["OverallImpact"], body["OverallImpact"]);
}

/// The invalid sample book: 400 naming every bad field by line; bad request fields by
/// their path; never a 500.
#[tokio::test]
async fn a_bad_loan_book_is_400_with_every_field_by_line() {
    let app = App::new();
    let (status, body) = post_loans(
        &app,
        json!({
            "book_csv": loan_book("loan_book_invalid.csv"),
            "shock": {"kind": "parallel", "bp": 300},
            "as_of": "2025-06-30",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_paths(&body),
        [
            "book_csv[line 5].LoanAmount",
            "book_csv[line 6].StartDate",
            "book_csv[line 7].EndDate",
            "book_csv[line 8].LoanType",
            "book_csv[line 9].CurrentBalance",
            "book_csv[line 10].CustomerId",
            "book_csv[line 11].InterestRate",
            "book_csv[line 11].RepaymentSchedule",
            "book_csv[line 11].DefaultRiskScore",
            "book_csv[line 12].record",
        ]
    );
    let good = loan_book("loan_book_10000.csv");
    let cases = [
        (
            json!({"book_csv": good, "shock": {"kind": "parallel", "bp": 300}, "as_of": "2025-06-30", "seed": 1}),
            vec!["seed"],
        ),
        (
            json!({"book_csv": good, "shock": {"kind": "twist", "bp": 300}, "as_of": "2025-06-30"}),
            vec!["shock.kind"],
        ),
        (
            json!({"book_csv": good, "shock": {"kind": "parallel", "bps": 300}, "as_of": "2025-06-30"}),
            vec!["shock.bps"],
        ),
        (
            json!({"book_csv": good, "shock": {"kind": "parallel", "bp": 300}}),
            vec!["as_of"],
        ),
        (
            json!({"book_csv": good, "shock": {"kind": "parallel", "bp": 300}, "as_of": "30/06/2025"}),
            vec!["as_of"],
        ),
        // Loans that start after the valuation date, each by line; then the settings.
        (
            json!({"book_csv": "LoanId,CustomerId,LoanAmount,InterestRate,StartDate,EndDate,LoanType,RepaymentSchedule,CurrentBalance,DefaultRiskScore\nL1,C1,1000,0.05,2025-09-01,2030-09-01,Consumer-Fixed,Monthly,1000,10\n",
                   "shock": {"kind": "ramp", "bp": 300, "months": 0}, "as_of": "2025-06-30", "horizon_months": 0}),
            vec![
                "book_csv[line 2].StartDate",
                "horizon_months",
                "shock.months",
            ],
        ),
        (
            json!({"book_csv": "LoanId,CustomerId,LoanAmount,InterestRate,StartDate,EndDate,LoanType,RepaymentSchedule,CurrentBalance,DefaultRiskScore\n",
                   "shock": {"kind": "parallel", "bp": 300}, "as_of": "2025-06-30"}),
            vec!["book_csv[line 1].record"],
        ),
        (
            json!({"book_csv": "LoanId,CustomerId\nL1,C1\n", "shock": {"kind": "parallel", "bp": 300}, "as_of": "2025-06-30"}),
            vec!["book_csv[line 1].header"; 8],
        ),
    ];
    for (request, want) in cases {
        let (status, body) = post_loans(&app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(problem_paths(&body), want, "{body}");
    }
    let (status, _, bytes) = app
        .call("POST", "/loan-simulations", Some("text/csv"), b"x".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_conforms(&app.doc, "POST", "/loan-simulations", status, &bytes);
    let (status, _, bytes) = app
        .call(
            "POST",
            "/loan-simulations",
            Some("application/json"),
            vec![b' '; MAX_BODY_BYTES + 1],
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_conforms(&app.doc, "POST", "/loan-simulations", status, &bytes);
}

/// A deployment whose answers are capped (the Lambda) refuses per-loan rows over the
/// cap with a 400 naming include_loans, and answers the totals.
#[tokio::test]
async fn per_loan_rows_over_the_response_limit_are_a_400_naming_include_loans() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path(), LocalOptions::default()).unwrap();
    let mut config = ApiConfig::local();
    config.max_response_bytes = Some(200_000);
    let app = App {
        router: router(Arc::new(backend), config),
        dir,
        doc: document(),
    };
    let mut request = json!({
        "book_csv": loan_book("loan_book_10000.csv"),
        "shock": {"kind": "parallel", "bp": 300},
        "as_of": "2025-06-30",
    });
    let (status, body) = post_loans(&app, request.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem_paths(&body), ["include_loans"]);
    request["include_loans"] = false.into();
    let (status, _) = post_loans(&app, request).await;
    assert_eq!(status, StatusCode::OK);
}

/// The OpenAPI document's LoanSimulation is schemas/loan-results.schema.json (its
/// `$defs` as components): one shape, described twice, checked equal.
#[test]
fn the_documented_loan_results_are_the_schema_file() {
    let doc = document();
    let file: Value = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/loan-results.schema.json")).unwrap(),
    )
    .unwrap();
    let names = [
        ("shock", "LoanShock"),
        ("settings", "LoanSettings"),
        ("compliance_metric", "LoanComplianceMetric"),
        ("month", "LoanMonth"),
        ("loan", "LoanRow"),
    ];
    let rewrite = |v: &Value| {
        let mut text = serde_json::to_string(v).unwrap();
        for (def, component) in names {
            text = text.replace(
                &format!("\"#/$defs/{def}\""),
                &format!("\"#/components/schemas/{component}\""),
            );
        }
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let mut main = file.clone();
    for key in ["$schema", "$id", "$defs"] {
        main.as_object_mut().unwrap().remove(key);
    }
    let components = &doc["components"]["schemas"];
    assert_eq!(components["LoanSimulation"], rewrite(&main));
    for (def, component) in names {
        assert_eq!(components[component], rewrite(&file["$defs"][def]), "{def}");
    }
}
