//! `stresslab`: the command line and the embedded (local) runner. Every stage runs in
//! this process against the local disk — no AWS, no network — through exactly the code
//! the Lambdas run. Which workflows exist is the registry's business: this file lists
//! none of them.

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use stresslab_core::api::{RunRequest, WorkflowName};
use stresslab_core::input::read_input_file;
use stresslab_core::local::{self, DiskBlobStore, DiskRunStore};
use stresslab_core::market_data::{parse_market_data, MAX_MARKET_DATA_BYTES};
use stresslab_core::narrative::TemplateNarrator;
use stresslab_core::portfolio::{
    escape_control, parse_portfolio, Issue, Rejection, MAX_PORTFOLIO_BYTES,
};
use stresslab_core::runner::{self, Event};
use stresslab_core::storage::BlobStore;
use stresslab_core::{stages, StageError};
use stresslab_registry::{self as registry, Workflow};

mod assess;
mod loans;
mod refresh;
mod serve;

/// Exit code for input the user must fix (validation failures, bad flags).
const EXIT_INVALID: u8 = 2;

/// Where `run` and `assess` keep their output and run store by default.
const DEFAULT_OUT: &str = "stresslab-out";

#[derive(Parser)]
#[command(
    name = "stresslab",
    version,
    about = "Stress-test institutional portfolios on this machine, with the code the AWS deployment runs. `stresslab workflows` lists what is available."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn workflow_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(registry::names())
}

/// `bench` times the workflows and, besides them, the loan-book shock (not a
/// workflow: synchronous, in memory).
const BENCH_LOANS: &str = "loans";

fn bench_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(registry::names().into_iter().chain([BENCH_LOANS]))
}

/// Parameters shared by `run`, `validate` and `bench`; each workflow accepts the ones
/// its typed parameters define (an unknown one is an error naming it).
#[derive(clap::Args, Clone, Default)]
struct ParamArgs {
    /// Number of stress scenarios (`parameters.scenarios`).
    #[arg(long, value_name = "N")]
    scenarios: Option<u32>,
    /// Number of partitions the scenarios are split into, as the Lambda fan-out would
    /// split them (`parameters.partitions`).
    #[arg(long, value_name = "P")]
    partitions: Option<u32>,
    /// Any other workflow parameter, as KEY=VALUE (VALUE read as JSON if it parses,
    /// otherwise as a string). Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
}

impl ParamArgs {
    fn to_map(&self) -> Result<Map<String, Value>, Vec<Issue>> {
        let mut map = Map::new();
        if let Some(n) = self.scenarios {
            map.insert("scenarios".into(), n.into());
        }
        if let Some(n) = self.partitions {
            map.insert("partitions".into(), n.into());
        }
        let mut issues = Vec::new();
        for kv in &self.params {
            match kv.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.into()));
                    let key = k.trim();
                    if map.insert(key.into(), value).is_some() {
                        // `--scenarios 300 --param scenarios=200`, or the same --param
                        // twice: which one was meant is anyone's guess.
                        issues.push(Issue {
                            path: format!("--param {key}"),
                            reason: format!("parameters.{key} is given more than once"),
                        });
                    }
                }
                _ => issues.push(Issue {
                    path: "--param".into(),
                    reason: format!("expected KEY=VALUE, got {kv:?}"),
                }),
            }
        }
        if issues.is_empty() {
            Ok(map)
        } else {
            Err(issues)
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a stress workflow end to end on this machine and write report.html,
    /// results.json, summary.md and audit.json to --out.
    Run {
        /// Which workflow to run.
        #[arg(value_parser = workflow_parser())]
        workflow: String,
        /// Portfolio file: JSON (see events/inputs/ff_multifactor_book.json) or CSV.
        #[arg(long, value_name = "FILE")]
        portfolio: PathBuf,
        /// Market data CSV (monthly returns). Defaults to the portfolio's own
        /// `market_data` reference, resolved beside the portfolio file.
        #[arg(long, value_name = "FILE")]
        market_data: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        /// Random seed: the same inputs and seed give the same run id and numbers.
        #[arg(long, value_name = "S", default_value_t = stages::DEFAULT_SEED)]
        seed: u64,
        /// Output directory: deliverables at the top, the full artifact store under
        /// store/ and the run bookkeeping under runstore/. Rerunning into the same
        /// directory reuses every artifact that still verifies.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Worker threads for partitions and independent personas (0 = every core).
        /// The numbers do not depend on it.
        #[arg(long, value_name = "N", default_value_t = 0)]
        workers: usize,
        /// No progress bar (for logs and CI).
        #[arg(long)]
        quiet: bool,
        /// Pin a scenario library version (from `stresslab refresh`): the run uses its
        /// market models instead of estimating them. Hashed into the run id and named
        /// in audit.json.
        #[arg(long = "library", value_name = "VERSION")]
        library_version: Option<String>,
        /// The blob store the library was refreshed into (default: the run's own,
        /// <out>/store); the version is copied, unchanged, into the run's store.
        #[arg(long, value_name = "DIR", requires = "library_version")]
        library_store: Option<PathBuf>,
    },
    /// Assess one portfolio in real time: market, credit, liquidity and compliance agents
    /// and their consensus, on the calibrated market model (what POST /assessments
    /// does). Prints the consensus and the audit record, and stores the record in the
    /// run store (<out>/runstore). Exits 2 listing every bad field by its path.
    Assess {
        /// An assessment request (`{"portfolio": …, "settings": …}`, e.g.
        /// events/inputs/assess_portfolio_1000.json) or a bare portfolio.
        #[arg(long, value_name = "FILE")]
        portfolio: PathBuf,
        /// Settings (simulations, horizon, seed, limits, budgets, tiers) replacing the
        /// request's own.
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        /// Write assessment.json here (atomically); the run store is <out>/runstore
        /// (default stresslab-out/runstore, as `run`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print the whole assessment as JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Re-estimate the market models (the monthly scenario refresh) from the files in
    /// --market-data and store them as a versioned scenario library under
    /// libraries/<version>/ in --store. The version is derived from the month, the
    /// files' contents and the engines: the same refresh again finds it and writes
    /// nothing; earlier versions are never overwritten.
    Refresh {
        /// Directory of market-data files (e.g. events/inputs).
        #[arg(long, value_name = "DIR")]
        market_data: PathBuf,
        /// The month the library is for, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
        /// Blob store root (a run's is <out>/store).
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
    },
    /// Check a portfolio (and its market data) and list every problem with its path.
    /// With --workflow, runs exactly the checks `run` makes, so what it accepts, `run`
    /// accepts. Exits 2 if there is any problem; writes nothing.
    Validate {
        /// Portfolio file (JSON or CSV).
        file: PathBuf,
        /// Check against this workflow's own requirements too.
        #[arg(long, value_parser = workflow_parser())]
        workflow: Option<String>,
        /// Market data CSV (default: the portfolio's own reference).
        #[arg(long, value_name = "FILE")]
        market_data: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        #[arg(long, value_name = "S", default_value_t = stages::DEFAULT_SEED)]
        seed: u64,
    },
    /// Print a run's audit record (inputs' SHA-256, seed, versions, parameters, stage
    /// timings, narrator, who started it) from its output directory.
    Audit {
        /// The run's --out directory (or the audit.json file itself).
        run_dir: PathBuf,
        /// Print the JSON record instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API (openapi/stresslab-api.json) and the web console at `/` over
    /// the embedded runner: runs execute in the background on this machine, artifacts
    /// and bookkeeping under --dir (the layout `run --out` uses). Prints the address it
    /// listens on; Ctrl-C stops it.
    Serve {
        /// Address to listen on (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Where runs are stored: store/ (artifacts) and runstore/ (bookkeeping).
        #[arg(long, value_name = "DIR", default_value = "stresslab-serve")]
        dir: PathBuf,
        /// Runs executing at once (0 = one per core); more wait, QUEUED.
        #[arg(long, value_name = "N", default_value_t = 0)]
        concurrent_runs: usize,
        /// Worker threads each run uses for its partitions and personas (0 = every core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        workers: usize,
    },
    /// List the workflows, their personas (and whose findings each reads) and defaults.
    Workflows {
        /// As JSON (the registry catalog).
        #[arg(long)]
        json: bool,
    },
    /// Shock a loan book's interest rates (e.g. +300 bp over 12 months) and write the
    /// per-loan projections and compliance status to --out (loan_results.json,
    /// loan_projections.csv). Exits 2 listing every bad field by line if the book has
    /// bad records; writes nothing then. `loans sample` writes the sample book.
    Loans(loans::LoansArgs),
    /// Time `run` with defaults on a portfolio (default: the workflow's sample input) and
    /// report the median wall time over several runs, each into a fresh directory.
    /// `--workflow loans` times the loan-book shock instead: the sample generator's
    /// book of --loans loans, median and p99 of the simulation over --runs.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        /// `bench assess`, `bench serve`: the real-time assessment instead of a workflow.
        #[command(subcommand)]
        target: Option<BenchTarget>,
        #[arg(long, value_parser = bench_parser(), default_value = "factor")]
        workflow: String,
        /// Default: the portfolio the workflow's sample execution names
        /// (`events/<workflow>.execution.json`, from the repository root), e.g.
        /// events/inputs/ff_multifactor_book.json for factor,
        /// events/inputs/seed_multi_asset_fund.json for liquidity and
        /// events/inputs/seed_pension.json for hedging (whose bench also prints the path
        /// engine's path-steps per second per core and the time per scenario by stage).
        #[arg(long, value_name = "FILE")]
        portfolio: Option<PathBuf>,
        /// Timed repetitions (after one warm-up run); default 7, and 100 for loans.
        #[arg(long)]
        runs: Option<usize>,
        #[command(flatten)]
        params: ParamArgs,
        /// Worker threads (0 = every core).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        /// `--workflow loans`: loans in the generated book.
        #[arg(long, value_name = "N", default_value_t = 100_000)]
        loans: usize,
        /// `--workflow loans`: months projected.
        #[arg(long, value_name = "MONTHS", default_value_t = 60)]
        horizon_months: u32,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Time the pure assessment on the sample generator's books: one warm-up call, then
    /// --calls calls per size; median, p99 and each agent's median, with the machine.
    Assess {
        /// Book sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        positions: Vec<usize>,
        #[arg(long, default_value_t = 1000)]
        calls: usize,
    },
    /// Load-test POST /assessments: concurrent clients against the local server started
    /// in process on a loopback port (or --url); throughput, p50/p99 latency, errors.
    Serve {
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// A running server's base URL (e.g. http://127.0.0.1:8080) instead of one in
        /// process.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// The request body (default: the sample generator's 1,000-position book).
        #[arg(long, value_name = "FILE")]
        request: Option<PathBuf>,
    },
}

fn workflow(name: &str) -> Workflow {
    // clap's PossibleValuesParser only lets registry names through.
    Workflow::from_name(name).unwrap_or(Workflow::ALL[0])
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate {
            file,
            workflow: wf,
            market_data,
            params,
            seed,
        } => {
            let wf = wf.as_deref().map(workflow);
            match check_inputs(&file, market_data.as_deref(), wf, &params, seed) {
                Ok(summary) => {
                    println!(
                        "{}: OK — {summary}",
                        escape_control(&file.display().to_string())
                    );
                    if wf.is_none() {
                        println!(
                            "  (structure only: add --workflow {} to run every check `run` makes)",
                            registry::names().join("|")
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(problems) => report_problems(&file, problems),
            }
        }
        Command::Run {
            workflow: wf,
            portfolio,
            market_data,
            params,
            seed,
            out,
            workers,
            quiet,
            library_version,
            library_store,
        } => {
            let wf = workflow(&wf);
            if let Err(problems) =
                check_inputs(&portfolio, market_data.as_deref(), Some(wf), &params, seed)
            {
                return report_problems(&portfolio, problems);
            }
            let parameters = params.to_map().unwrap_or_default();
            let started = Instant::now();
            match run_local(
                wf,
                &portfolio,
                market_data.as_deref(),
                parameters,
                seed,
                &out,
                workers,
                !quiet,
                library_version,
                library_store.as_deref(),
            ) {
                Ok(run_id) => {
                    println!(
                        "run {run_id} finished in {:.2}s",
                        started.elapsed().as_secs_f64()
                    );
                    for f in stages::DELIVERABLES {
                        println!("  {}", out.join(f).display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}", escape_control(&e.to_string()));
                    ExitCode::FAILURE
                }
            }
        }
        Command::Refresh {
            market_data,
            month,
            store,
        } => match refresh::refresh(&market_data, &month, &store) {
            Ok(outcome) => {
                let m = &outcome.manifest;
                println!(
                    "library {} ({}): {}",
                    m.version,
                    m.month,
                    if outcome.created {
                        "new"
                    } else {
                        "already stored, nothing written"
                    }
                );
                for s in &m.sections {
                    println!("  {:<10} {}  {}", s.workflow, s.sha256, s.key);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}", escape_control(&e.to_string()));
                ExitCode::from(EXIT_INVALID)
            }
        },
        Command::Audit { run_dir, json } => audit(&run_dir, json),
        Command::Assess {
            portfolio,
            settings,
            out,
            json,
        } => assess::assess_command(
            &portfolio,
            settings.as_deref(),
            out.as_deref(),
            json,
            local_user(),
        ),
        Command::Bench {
            target: Some(target),
            ..
        } => match target {
            BenchTarget::Assess { positions, calls } => {
                assess::bench_assess(&positions, calls.max(1))
            }
            BenchTarget::Serve {
                concurrency,
                requests,
                url,
                request,
            } => assess::bench_serve(url.as_deref(), request.as_deref(), concurrency, requests),
        },
        Command::Serve {
            addr,
            dir,
            concurrent_runs,
            workers,
        } => serve::serve(addr, &dir, concurrent_runs, workers),
        Command::Workflows { json } => {
            let catalog = registry::catalog();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&catalog).unwrap_or_default()
                );
            } else {
                for w in catalog {
                    println!(
                        "{} — {} (engine {})",
                        w.name, w.description, w.engine_version
                    );
                    println!("  defaults: {}", w.default_parameters);
                    let inputs: Vec<String> = w
                        .inputs
                        .iter()
                        .filter_map(|i| serde_json::to_value(i).ok()?.as_str().map(str::to_owned))
                        .collect();
                    println!(
                        "  reads: portfolio{}",
                        inputs.iter().map(|i| format!(", {i}")).collect::<String>()
                    );
                    for p in &w.personas {
                        let reads = if p.reads.is_empty() {
                            String::new()
                        } else {
                            format!(" [reads {}]", p.reads.join(", "))
                        };
                        println!("  {:<36} {}{reads}", p.name, p.role);
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Command::Loans(args) => loans::main(args),
        Command::Bench {
            workflow: wf,
            runs,
            loans: count,
            horizon_months,
            ..
        } if wf == BENCH_LOANS => {
            if count == 0 || horizon_months == 0 {
                eprintln!("error: --loans and --horizon-months must be at least 1");
                return ExitCode::from(EXIT_INVALID);
            }
            loans::bench(count, horizon_months, runs.unwrap_or(100).max(1))
        }
        Command::Bench {
            target: None,
            workflow: wf,
            portfolio,
            runs,
            params,
            workers,
            ..
        } => {
            let runs = runs.unwrap_or(7);
            let wf = workflow(&wf);
            let portfolio = match portfolio.map_or_else(|| sample_portfolio(wf), Ok) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {}", escape_control(&e));
                    return ExitCode::from(EXIT_INVALID);
                }
            };
            bench(wf, &portfolio, runs.max(1), &params, workers)
        }
    }
}

/// The portfolio a workflow's sample execution input (`events/<workflow>.execution.json`)
/// names under `uploads/`, as the file in `events/inputs/` it is uploaded from — so the
/// CLI names no workflow's sample itself.
fn sample_portfolio(wf: Workflow) -> Result<PathBuf, String> {
    let event = PathBuf::from(format!("events/{}.execution.json", wf.name()));
    let text = std::fs::read_to_string(&event).map_err(|e| {
        format!(
            "{}: {e} (run from the repository root, or give --portfolio)",
            event.display()
        )
    })?;
    let request: RunRequest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", event.display()))?;
    let name = request
        .portfolio_key
        .strip_prefix("uploads/")
        .ok_or_else(|| format!("{}: portfolio_key is not under uploads/", event.display()))?;
    Ok(Path::new("events/inputs").join(name))
}

fn report_problems(file: &Path, problems: Vec<Issue>) -> ExitCode {
    // Capped like every transported rejection: the first problems and a count.
    eprintln!(
        "{}: {}",
        escape_control(&file.display().to_string()),
        Rejection { issues: problems }
    );
    ExitCode::from(EXIT_INVALID)
}

/// Everything `run` would reject, found before anything is written.
fn check_inputs(
    file: &Path,
    market_data: Option<&Path>,
    workflow: Option<Workflow>,
    params: &ParamArgs,
    seed: u64,
) -> Result<String, Vec<Issue>> {
    let parameters = params.to_map()?;
    if let Some(w) = workflow {
        registry::check_parameters(w, &parameters)?;
    }
    let bytes =
        read_input_file(file, "portfolio", MAX_PORTFOLIO_BYTES as u64).map_err(|i| vec![i])?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let portfolio = parse_portfolio(&name, &bytes).map_err(|r| r.issues)?;
    let market_path = market_data.map(Path::to_path_buf).or_else(|| {
        portfolio
            .market_data
            .as_ref()
            .map(|m| file.parent().unwrap_or(Path::new(".")).join(m))
    });
    let mut summary = format!(
        "{} positions, total market value {:.2} {}",
        portfolio.positions.len(),
        portfolio.total_market_value(),
        portfolio.base_currency
    );
    let market = match market_path {
        Some(path) => {
            let md = read_input_file(&path, "market_data", MAX_MARKET_DATA_BYTES as u64)
                .map_err(|i| vec![i])?;
            let market = parse_market_data(&md).map_err(|r| r.issues)?;
            summary.push_str(&format!(
                "; market data {} months, {} to {}",
                market.len(),
                market.dates.first().map_or("", String::as_str),
                market.dates.last().map_or("", String::as_str)
            ));
            Some(market)
        }
        None => None,
    };
    if let Some(w) = workflow {
        let checked = registry::check(w, &portfolio, market.as_ref(), &parameters, seed, None)
            .map_err(|r| r.issues)?;
        summary.push_str(&format!(
            "; ready for {}: {} scenarios in {} partitions",
            w.name(),
            checked.scenario_count,
            checked.partition_count
        ));
    }
    Ok(summary)
}

/// Who started a local run, for audit.json.
fn local_user() -> String {
    // The login name where the environment has one, else the numeric uid (a container
    // or CI job often sets no USER).
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(|| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self")
                .ok()
                .map(|m| format!("uid {}", m.uid()))
        })
        .unwrap_or_else(|| "unknown".into());
    format!("local:{}", escape_control(&user))
}

#[allow(clippy::too_many_arguments)]
fn run_local(
    wf: Workflow,
    portfolio: &Path,
    market_data: Option<&Path>,
    parameters: Map<String, Value>,
    seed: u64,
    out: &Path,
    workers: usize,
    progress: bool,
    library_version: Option<String>,
    library_store: Option<&Path>,
) -> Result<String, StageError> {
    let io = |e: std::io::Error| StageError::NonRetryable(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    // A run killed mid-write leaves temp files; they are never read, but clean up.
    local::sweep_orphans(out);
    let blobs = DiskBlobStore::new(out.join("store"));
    let runs = DiskRunStore::new(out.join("runstore"));
    let bar = if progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (portfolio_key, market_data_key) =
        pollster::block_on(runner::stage_local_inputs(&blobs, portfolio, market_data))?;
    if let (Some(version), Some(from)) = (&library_version, library_store) {
        refresh::copy_library(from, &blobs, version)?;
    }
    let request = RunRequest {
        workflow: WorkflowName::new(wf.name()),
        portfolio_key,
        market_data_key,
        parameters,
        seed: Some(seed),
        library_version,
        started_by: Some(local_user()),
    };
    bar.set_message(format!(
        "partition: preparing the {} model and scenarios",
        wf.name()
    ));
    let on_event = |event: Event| match event {
        Event::Partitioned {
            run_id,
            scenarios,
            partitions,
        } => {
            bar.set_length(registry::progress_steps(wf, partitions));
            bar.set_message(format!(
                "run {run_id}: {scenarios} scenarios in {partitions} partitions"
            ));
        }
        Event::PartitionDone {
            partition,
            computed,
        } => {
            bar.inc(1);
            bar.set_message(format!(
                "partition {partition} {}",
                if computed { "computed" } else { "already done" }
            ));
        }
        Event::Stage { name } => {
            bar.inc(1);
            bar.set_message(name);
        }
    };
    let run_id = registry::run_local(
        &blobs,
        &runs,
        &TemplateNarrator,
        &request,
        workers,
        &on_event,
    )?;
    bar.finish_and_clear();
    // Deliverables at the top of --out, copied from the store (atomic writes).
    for file in stages::DELIVERABLES {
        let bytes = pollster::block_on(blobs.get(&stages::deliverable_key(&run_id, file)))?;
        local::write_atomic(&out.join(file), &bytes)?;
    }
    Ok(run_id)
}

fn audit(run_dir: &Path, json: bool) -> ExitCode {
    let path = if run_dir.is_dir() {
        run_dir.join("audit.json")
    } else {
        run_dir.to_path_buf()
    };
    let record = read_input_file(&path, "audit", 16 * 1024 * 1024)
        .map_err(|i| i.to_string())
        .and_then(|bytes| {
            serde_json::from_slice::<stresslab_core::audit::Audit>(&bytes)
                .map_err(|e| format!("{}: not an audit record: {e}", path.display()))
        });
    match record {
        Ok(record) if json => {
            println!("{}", String::from_utf8_lossy(&record.to_json()));
            ExitCode::SUCCESS
        }
        Ok(record) => {
            print!("{}", record.render_text());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", escape_control(&e));
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn bench(
    wf: Workflow,
    portfolio: &Path,
    runs: usize,
    params: &ParamArgs,
    workers: usize,
) -> ExitCode {
    let parameters = match params.to_map() {
        Ok(p) => p,
        Err(problems) => return report_problems(portfolio, problems),
    };
    let base = std::env::temp_dir().join(format!("stresslab-bench-{}", std::process::id()));
    let mut times = Vec::with_capacity(runs);
    // Per stage, every run's duration (the run store's own timing of each stage).
    let mut per_stage: Vec<(String, Vec<f64>)> = Vec::new();
    for i in 0..=runs {
        let out = base.join(format!("run-{i}"));
        let started = Instant::now();
        if let Err(e) = run_local(
            wf,
            portfolio,
            None,
            parameters.clone(),
            stages::DEFAULT_SEED,
            &out,
            workers,
            false,
            None,
            None,
        ) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        let elapsed = started.elapsed().as_secs_f64();
        if i > 0 {
            times.push(elapsed);
            for (stage, ms) in stage_durations(&out.join("audit.json")) {
                match per_stage.iter_mut().find(|(s, _)| *s == stage) {
                    Some((_, v)) => v.push(ms),
                    None => per_stage.push((stage, vec![ms])),
                }
            }
        }
        let _ = std::fs::remove_dir_all(&out);
    }
    let _ = std::fs::remove_dir_all(&base);
    times.sort_by(f64::total_cmp);
    let median = median_of(&times);
    println!(
        "run {} (parameters {}) on {}: median {:.3}s, min {:.3}s, max {:.3}s over {} runs ({} workers, {} cores)",
        wf.name(),
        Value::Object(parameters),
        portfolio.display(),
        median,
        times[0],
        times[times.len() - 1],
        times.len(),
        runner::worker_count(workers),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("stage medians (each stage's own time; partitions and independent personas overlap on the workers):");
    for (stage, mut ms) in per_stage {
        ms.sort_by(f64::total_cmp);
        println!("  {stage:<40} {:>8.0} ms", median_of(&ms));
    }
    if wf.name() == "hedging" {
        let parsed = std::fs::read(portfolio)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                parse_portfolio(&portfolio.display().to_string(), &bytes).map_err(|r| r.to_string())
            })
            .and_then(|p| stresslab_hedging::bench::kernel_report(&p, stages::DEFAULT_SEED));
        match parsed {
            Ok(report) => println!("{report}"),
            Err(e) => {
                eprintln!("error: hedging kernels: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn median_of(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `(stage, milliseconds)` from a run's audit record, in stage order; unreadable → none.
fn stage_durations(audit: &Path) -> Vec<(String, f64)> {
    let Ok(text) = std::fs::read_to_string(audit) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    value["stages"]
        .as_array()
        .map(|stages| {
            stages
                .iter()
                .filter_map(|s| Some((s["stage"].as_str()?.to_owned(), s["duration_ms"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}
