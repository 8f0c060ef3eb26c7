//! `stresslab assess`: one real-time risk assessment on this machine (the pure
//! stresslab-assess computation `POST /assessments` and the `realtime-risk` Lambda run),
//! its audit record stored in the local run store; and `stresslab bench assess` /
//! `bench serve`, which time it in process and over HTTP.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stresslab_api::assessments::{self, assess_and_store, now_rfc3339_millis, AssessFailure};
use stresslab_api::local::{LocalBackend, LocalOptions};
use stresslab_api::{router, ApiConfig};
use stresslab_assess::assessment::AgentStatus;
use stresslab_assess::model::MarketModel;
use stresslab_assess::settings::Settings;
use stresslab_assess::{assess, Assessment, AssessmentRequest};
use stresslab_core::input::read_input_file;
use stresslab_core::local::{self, DiskRunStore};
use stresslab_core::portfolio::escape_control;

use crate::EXIT_INVALID;

/// Largest request file read: the API's own body cap (16 MiB), about 25,000 positions.
const MAX_REQUEST_BYTES: u64 = stresslab_api::MAX_BODY_BYTES as u64;

/// Seed of the benchmark's sample books (the sample generator's).
pub const BENCH_SEED: u64 = 1;

fn model() -> Result<Arc<MarketModel>, ExitCode> {
    assessments::shared_model().map_err(|e| {
        eprintln!("error: the market model: {}", escape_control(&e));
        ExitCode::FAILURE
    })
}

/// The request's bytes: `--portfolio` is an assessment request (`{"portfolio": …,
/// "settings": …}`) or a bare portfolio; `--settings` replaces the request's settings.
/// A file that is not JSON is reported with its own line and column.
fn request_bytes(portfolio: &Path, settings: Option<&Path>) -> Result<Vec<u8>, String> {
    let read = |path: &Path, field: &str| -> Result<(Vec<u8>, Value), String> {
        let bytes = read_input_file(path, field, MAX_REQUEST_BYTES).map_err(|i| i.to_string())?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{}: not JSON (line {}, column {}): {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        Ok((bytes, value))
    };
    let (bytes, value) = read(portfolio, "portfolio")?;
    let is_request = value
        .as_object()
        .is_some_and(|o| o.contains_key("portfolio"));
    match (is_request, settings) {
        // Unchanged, so a schema error's line and column are the file's.
        (true, None) => Ok(bytes),
        (true, Some(path)) => {
            let mut request = value;
            request["settings"] = read(path, "settings")?.1;
            Ok(serde_json::to_vec(&request).expect("JSON values serialise"))
        }
        // A bare portfolio, wrapped without a line break so its lines keep their numbers.
        (false, settings) => {
            let mut out = b"{\"portfolio\": ".to_vec();
            out.extend_from_slice(&bytes);
            if let Some(path) = settings {
                out.extend_from_slice(b",\n\"settings\": ");
                out.extend_from_slice(&read(path, "settings")?.0);
            }
            out.extend_from_slice(b"}");
            Ok(out)
        }
    }
}

pub fn assess_command(
    portfolio: &Path,
    settings: Option<&Path>,
    out: Option<&Path>,
    json: bool,
    requested_by: String,
) -> ExitCode {
    let bytes = match request_bytes(portfolio, settings) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}", escape_control(&e));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let model = match model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    // The run store `stresslab run` keeps its bookkeeping in (`<out>/runstore`).
    let dir = out.unwrap_or(Path::new(crate::DEFAULT_OUT));
    let store = DiskRunStore::new(dir.join("runstore"));
    let outcome = pollster::block_on(assess_and_store(
        &store,
        model,
        &bytes,
        &now_rfc3339_millis(),
        Some(requested_by),
    ));
    let (assessment, created) = match outcome {
        Ok(x) => x,
        Err(AssessFailure::Invalid(e)) => {
            let problems = assessments::problems_of(&e);
            eprintln!(
                "{}: {} problem(s):",
                escape_control(&portfolio.display().to_string()),
                problems.len()
            );
            for p in problems {
                eprintln!("  {}: {}", p.path, escape_control(&p.reason));
            }
            return ExitCode::from(EXIT_INVALID);
        }
        Err(AssessFailure::Store(e)) => {
            eprintln!("error: storing the audit record: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(out) = out {
        let path = out.join("assessment.json");
        let body = serde_json::to_vec_pretty(&assessment).expect("an assessment serialises");
        if let Err(e) = local::write_atomic(&path, &body) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&assessment).expect("an assessment serialises")
        );
    } else {
        print!("{}", render(&assessment));
        let id = &assessment.audit.assessment_id;
        println!(
            "stored: {} ({})",
            dir.join("runstore/_assessments")
                .join(format!("{id}.json"))
                .display(),
            if created {
                "new"
            } else {
                "already stored under this id"
            }
        );
        if let Some(out) = out {
            println!("wrote: {}", out.join("assessment.json").display());
        }
    }
    ExitCode::SUCCESS
}

/// The consensus and the audit record, for a terminal.
pub fn render(a: &Assessment) -> String {
    let c = &a.consensus;
    let audit = &a.audit;
    let mut s = String::new();
    let tier = serde_json::to_value(c.tier)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    s += &format!(
        "assessment {} of portfolio {}\n",
        audit.assessment_id, audit.portfolio_id
    );
    s += &format!(
        "consensus: score {:.1}, tier {tier}{}\n",
        c.score,
        if c.degraded { " (degraded)" } else { "" }
    );
    for r in &c.reasons {
        s += &format!("  - {r}\n");
    }
    s += "agents:\n";
    s += &format!(
        "  {:<12} {:>6} {:>6} {:>10}  {:<10} {}\n",
        "agent", "score", "conf.", "time ms", "status", "driver"
    );
    for r in &audit.agents {
        let status = match &r.status {
            AgentStatus::Completed => "completed".to_string(),
            AgentStatus::Failed { reason } => format!("failed: {reason}"),
            AgentStatus::TimedOut { budget_ms } => format!("timed out ({budget_ms} ms)"),
        };
        let opt =
            |x: Option<f64>, digits: usize| x.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        s += &format!(
            "  {:<12} {:>6} {:>6} {:>10.2}  {:<10} {}\n",
            r.agent,
            opt(r.score, 1),
            opt(r.confidence, 2),
            r.processing_ms,
            status,
            r.driver.as_deref().unwrap_or("")
        );
    }
    for x in &c.cross_risk {
        s += &format!(
            "cross-risk: {} (+{:.1} to {}): {}\n",
            x.name, x.points, x.agent, x.explanation
        );
    }
    if audit.breaches.is_empty() {
        s += "breaches: none\n";
    } else {
        s += &format!("breaches ({}):\n", audit.breaches.len());
        for b in &audit.breaches {
            s += &format!("  - {b}\n");
        }
    }
    if let Some(m) = &a.market {
        s += &format!(
            "market: 99% {}-day VaR {:.0} ({:.2}% of NAV), ES {:.0}; {} option(s) revalued in full, {} by delta-gamma\n",
            m.horizon_days,
            m.var99.var,
            100.0 * m.var99.var_pct_nav,
            m.var99.es,
            m.full_revaluations.len(),
            m.options_by_delta_gamma
        );
    }
    s += "audit record:\n";
    s += &format!("  assessment_id  {}\n", audit.assessment_id);
    s += &format!("  requested_at   {}\n", audit.requested_at);
    s += &format!("  input_hash     {}\n", audit.input_hash);
    s += &format!("  model_version  {}\n", audit.model_version);
    s += &format!(
        "  seed {}, {} simulations, horizon {} day(s)\n",
        audit.seed, audit.simulations, audit.horizon_days
    );
    for r in &audit.agents {
        s += &format!("  agent {:<12} {}\n", r.agent, r.version);
    }
    s += &format!("  total          {:.2} ms\n", audit.total_ms);
    s
}

// ---- benchmarks --------------------------------------------------------------------

/// `(model name, logical cores)` of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} logical cores")
}

/// The value at quantile `q` of sorted samples (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn bench_assess(positions: &[usize], calls: usize) -> ExitCode {
    let model = match model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    println!("machine: {}", machine());
    println!(
        "pure assess (stresslab_assess::assess) on the sample generator's book (seed {BENCH_SEED}), default settings ({} simulations); {calls} calls after one warm-up:",
        Settings::default().simulations
    );
    for &n in positions {
        let request = AssessmentRequest {
            portfolio: stresslab_assess::sample::portfolio(&model, n, BENCH_SEED),
            settings: Settings::default(),
        };
        if let Err(e) = request.validate(&model) {
            eprintln!("error: the sample book of {n} positions: {e}");
            return ExitCode::FAILURE;
        }
        // Warm: builds the cached simulation set and faults in the allocations.
        let warm = assess(request.clone(), model.clone(), "2026-01-01T00:00:00Z");
        if warm.consensus.degraded {
            eprintln!(
                "error: the warm-up assessment was degraded: {:?}",
                warm.consensus.reasons
            );
            return ExitCode::FAILURE;
        }
        let mut times = Vec::with_capacity(calls);
        let mut per_agent: Vec<(String, Vec<f64>)> = Vec::new();
        let mut degraded = 0;
        for _ in 0..calls {
            // The request is moved into the call; its copy is made outside the timing.
            let r = request.clone();
            let m = model.clone();
            let started = Instant::now();
            let a = assess(r, m, "2026-01-01T00:00:00Z");
            times.push(started.elapsed().as_secs_f64() * 1e3);
            degraded += usize::from(a.consensus.degraded);
            for agent in &a.audit.agents {
                match per_agent.iter_mut().find(|(name, _)| *name == agent.agent) {
                    Some((_, v)) => v.push(agent.processing_ms),
                    None => per_agent.push((agent.agent.clone(), vec![agent.processing_ms])),
                }
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {n:>6} positions: median {:.2} ms, p99 {:.2} ms, min {:.2} ms, max {:.2} ms{}",
            quantile(&times, 0.5),
            quantile(&times, 0.99),
            times[0],
            times[times.len() - 1],
            if degraded > 0 {
                format!(" ({degraded} degraded)")
            } else {
                String::new()
            }
        );
        let agents: Vec<String> = per_agent
            .into_iter()
            .map(|(name, mut v)| {
                v.sort_by(f64::total_cmp);
                format!("{name} {:.2}", quantile(&v, 0.5))
            })
            .collect();
        println!(
            "          agent medians (ms, each measured on its own thread, from the audit): {}",
            agents.join(", ")
        );
        print_breakdown(&request, &model, calls.clamp(1, 100));
    }
    ExitCode::SUCCESS
}

/// Where one call's time goes: each piece of `assess` timed alone, one after the
/// other on this thread (medians over `calls`) — the agents' own times, which the
/// audit's `processing_ms` cannot show when they overlap.
fn print_breakdown(request: &AssessmentRequest, model: &MarketModel, calls: usize) {
    use stresslab_assess::{compliance, credit, liquidity, market};
    let (p, s) = (&request.portfolio, &request.settings);
    let time = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..calls)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(f64::total_cmp);
        quantile(&v, 0.5)
    };
    let m = market::assess(p, model, s);
    let c = credit::assess(p, s);
    let l = liquidity::assess(p, model, s);
    let parts = [
        ("input hash", time(&mut || drop(request.input_hash()))),
        ("request clone", time(&mut || drop(request.clone()))),
        ("market", time(&mut || drop(market::assess(p, model, s)))),
        ("credit", time(&mut || drop(credit::assess(p, s)))),
        (
            "liquidity",
            time(&mut || drop(liquidity::assess(p, model, s))),
        ),
        (
            "compliance",
            time(&mut || drop(compliance::assess(p, s, Some(&m), Some(&c), Some(&l)))),
        ),
        (
            "cross-risk liquidity",
            time(&mut || drop(l.stressed(p, s, 1.2))),
        ),
    ];
    let parts: Vec<String> = parts
        .iter()
        .map(|(name, ms)| format!("{name} {ms:.2}"))
        .collect();
    println!(
        "          alone, one after the other (median ms over {calls}): {}",
        parts.join(", ")
    );
}

/// The body `bench serve` posts: `--request`, or the sample generator's 1,000-position
/// book (seed [`BENCH_SEED`]) with default settings.
fn serve_body(request: Option<&Path>, model: &MarketModel) -> Result<Vec<u8>, String> {
    match request {
        Some(path) => {
            read_input_file(path, "request", MAX_REQUEST_BYTES).map_err(|i| i.to_string())
        }
        None => Ok(serde_json::to_vec(&AssessmentRequest {
            portfolio: stresslab_assess::sample::portfolio(model, 1000, BENCH_SEED),
            settings: Settings::default(),
        })
        .expect("a request serialises")),
    }
}

pub fn bench_serve(
    url: Option<&str>,
    request: Option<&Path>,
    concurrency: usize,
    requests: usize,
) -> ExitCode {
    let model = match model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let body = match serve_body(request, &model) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("error: {}", escape_control(&e));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    // In process unless a URL is given: the local server on a loopback port, its run
    // store in a temporary directory.
    let mut server = None;
    let base = match url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => match start_local_server() {
            Ok((addr, handle)) => {
                server = Some(handle);
                format!("http://{addr}")
            }
            Err(e) => {
                eprintln!("error: starting the local server: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let target = format!("{base}/assessments");
    println!("machine: {}", machine());
    println!(
        "load test: {requests} POST {target} ({} KiB body), {concurrency} concurrent clients",
        body.len() / 1024
    );
    // One warm-up request (the model's simulation set is built on first use).
    if let Err(e) = post(&target, &body) {
        eprintln!("error: warm-up request: {e}");
        return ExitCode::FAILURE;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(requests)));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (next, latencies, errors, body, target) = (
                next.clone(),
                latencies.clone(),
                errors.clone(),
                body.clone(),
                target.clone(),
            );
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let t = Instant::now();
                    let result = post(&target, &body);
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    match result {
                        Ok(()) => latencies.lock().unwrap_or_else(|p| p.into_inner()).push(ms),
                        Err(e) => errors.lock().unwrap_or_else(|p| p.into_inner()).push(e),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let wall = started.elapsed().as_secs_f64();
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    let errors = std::mem::take(&mut *errors.lock().unwrap_or_else(|p| p.into_inner()));
    lat.sort_by(f64::total_cmp);
    println!(
        "  {} ok, {} errors in {:.2} s: {:.1} assessments/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        errors.len(),
        wall,
        lat.len() as f64 / wall,
        quantile(&lat, 0.5),
        quantile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    for e in errors.iter().take(5) {
        println!("  error: {}", escape_control(e));
    }
    drop(server);
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One POST; anything but 201/200 is an error with its status and body.
fn post(url: &str, body: &[u8]) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    // Read the whole answer: its time is part of the latency.
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if status == 201 || status == 200 {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        ))
    }
}

/// A server thread that stops (runtime dropped) when this is dropped.
struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_local_server() -> Result<(std::net::SocketAddr, Server), String> {
    let dir = tempfile::Builder::new()
        .prefix("stresslab-bench-serve-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let backend = Arc::new(
        LocalBackend::new(dir.path(), LocalOptions::default()).map_err(|e| e.to_string())?,
    );
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| e.to_string())?;
    let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                return;
            };
            let app = router(backend.clone(), ApiConfig::local())
                .merge(assessments::router(backend, ApiConfig::local()));
            let _ = stresslab_api::axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    let _ = std::io::stdout().flush();
    Ok((
        addr,
        Server {
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        },
    ))
}
