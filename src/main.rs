//! `stresslab`: the command line and the embedded (local) runner. Every stage runs in
//! this process against the local disk — no AWS, no network — through exactly the code
//! the Lambdas run.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use stresslab_core::api::{RunParameters, RunRequest, Workflow};
use stresslab_core::local::{DiskBlobStore, DiskRunStore};
use stresslab_core::market_data::parse_market_data;
use stresslab_core::narrative::TemplateNarrator;
use stresslab_core::portfolio::{parse_portfolio, Issue};
use stresslab_core::runner::{self, Event};
use stresslab_core::storage::BlobStore;
use stresslab_core::{factor, stages, StageError};

/// Exit code for input the user must fix (validation failures, bad flags).
const EXIT_INVALID: u8 = 2;

#[derive(Parser)]
#[command(
    name = "stresslab",
    version,
    about = "Stress-test institutional portfolios: factor breakdowns, liquidity cascades, multi-asset hedging."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum WorkflowArg {
    /// Factor-model breakdown: correlation breakdowns, regime shifts, style rotations, crowding.
    Factor,
}

#[derive(Subcommand)]
enum Command {
    /// Run a stress workflow end to end on this machine and write results.json,
    /// summary.md and report.html to --out.
    Run {
        /// Which workflow to run.
        workflow: WorkflowArg,
        /// Portfolio file: JSON (see events/inputs/ff_multifactor_book.json) or CSV.
        #[arg(long, value_name = "FILE")]
        portfolio: PathBuf,
        /// Market data CSV (monthly returns). Defaults to the portfolio's own
        /// `market_data` reference, resolved beside the portfolio file.
        #[arg(long, value_name = "FILE")]
        market_data: Option<PathBuf>,
        /// Number of stress scenarios (factor: at least 100, default 500).
        #[arg(long, value_name = "N")]
        scenarios: Option<u32>,
        /// Number of partitions the scenarios are split into, as the Lambda fan-out
        /// would split them (default 4).
        #[arg(long, value_name = "P")]
        partitions: Option<u32>,
        /// Random seed: the same inputs and seed give the same run id and numbers.
        #[arg(long, value_name = "S", default_value_t = stages::DEFAULT_SEED)]
        seed: u64,
        /// Output directory: deliverables at the top, the full artifact store under
        /// store/ and the run bookkeeping under runstore/.
        #[arg(long, value_name = "DIR", default_value = "stresslab-out")]
        out: PathBuf,
        /// No progress bar (for logs and CI).
        #[arg(long)]
        quiet: bool,
    },
    /// Check a portfolio (and its market data) and list every problem with its path.
    /// Exits 2 if there is any; creates nothing.
    Validate {
        /// Portfolio file (JSON or CSV).
        file: PathBuf,
        /// Market data CSV to check the portfolio's return-series references against.
        #[arg(long, value_name = "FILE")]
        market_data: Option<PathBuf>,
    },
    /// Time `run factor` with defaults on a portfolio (default: the sample book) and
    /// report the median wall time over several runs, each into a fresh directory.
    Bench {
        #[arg(
            long,
            value_name = "FILE",
            default_value = "events/inputs/ff_multifactor_book.json"
        )]
        portfolio: PathBuf,
        /// Timed repetitions (after one warm-up run).
        #[arg(long, default_value_t = 7)]
        runs: usize,
        #[arg(long, value_name = "N")]
        scenarios: Option<u32>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file, market_data } => {
            match check_inputs(&file, market_data.as_deref()) {
                Ok(summary) => {
                    println!("{}: OK — {summary}", file.display());
                    ExitCode::SUCCESS
                }
                Err(problems) => report_problems(&file, &problems),
            }
        }
        Command::Run {
            workflow: WorkflowArg::Factor,
            portfolio,
            market_data,
            scenarios,
            partitions,
            seed,
            out,
            quiet,
        } => {
            if let Err(problems) = check_inputs(&portfolio, market_data.as_deref()) {
                return report_problems(&portfolio, &problems);
            }
            let params = RunParameters {
                scenarios,
                partitions,
            };
            if let Err(e) = stages::resolve_sizes::<factor::FactorWorkflow>(&params) {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INVALID);
            }
            let started = Instant::now();
            match run_local(
                &portfolio,
                market_data.as_deref(),
                params,
                seed,
                &out,
                !quiet,
            ) {
                Ok(run_id) => {
                    println!(
                        "run {run_id} finished in {:.2}s",
                        started.elapsed().as_secs_f64()
                    );
                    for f in ["report.html", "results.json", "summary.md"] {
                        println!("  {}", out.join(f).display());
                    }
                    ExitCode::SUCCESS
                }
                Err(StageError::NonRetryable(msg)) | Err(StageError::Retryable(msg)) => {
                    eprintln!("error: {msg}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench {
            portfolio,
            runs,
            scenarios,
        } => bench(&portfolio, runs.max(1), scenarios),
    }
}

fn report_problems(file: &Path, problems: &[Issue]) -> ExitCode {
    eprintln!("{}: {} problem(s)", file.display(), problems.len());
    for p in problems {
        eprintln!("  {p}");
    }
    ExitCode::from(EXIT_INVALID)
}

/// Everything `run` would reject, found before anything is written.
fn check_inputs(file: &Path, market_data: Option<&Path>) -> Result<String, Vec<Issue>> {
    let issue = |path: &str, reason: String| {
        vec![Issue {
            path: path.into(),
            reason,
        }]
    };
    let bytes = std::fs::read(file)
        .map_err(|e| issue("file", format!("cannot read {}: {e}", file.display())))?;
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
    if let Some(path) = market_path {
        let md_bytes = std::fs::read(&path).map_err(|e| {
            issue(
                "market_data",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let market = parse_market_data(&md_bytes).map_err(|r| r.issues)?;
        // The factor model's own checks: every position resolvable to exposures.
        factor::model::estimate(&portfolio, &market).map_err(|r| r.issues)?;
        summary.push_str(&format!(
            "; market data {} months, {} to {}",
            market.len(),
            market.dates[0],
            market.dates[market.len() - 1]
        ));
    }
    Ok(summary)
}

fn run_local(
    portfolio: &Path,
    market_data: Option<&Path>,
    parameters: RunParameters,
    seed: u64,
    out: &Path,
    progress: bool,
) -> Result<String, StageError> {
    let io = |e: std::io::Error| StageError::NonRetryable(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
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
    let run_id = pollster::block_on(async {
        let (portfolio_key, market_data_key) =
            runner::stage_local_inputs(&blobs, portfolio, market_data).await?;
        let request = RunRequest {
            workflow: Workflow::Factor,
            portfolio_key,
            market_data_key,
            parameters,
            seed: Some(seed),
        };
        bar.set_message("partition: estimating the factor model and generating scenarios");
        runner::run_workflow(
            &blobs,
            &runs,
            &TemplateNarrator,
            &request,
            |event| match event {
                Event::Partitioned {
                    run_id,
                    scenarios,
                    partitions,
                } => {
                    // partitions + aggregate + 4 personas + synthesize
                    bar.set_length(u64::from(partitions) + 6);
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
            },
        )
        .await
    })?;
    bar.finish_and_clear();
    // Deliverables at the top of --out, copied from the store (atomic writes).
    for file in ["report.html", "results.json", "summary.md"] {
        let bytes = pollster::block_on(blobs.get(&stages::deliverable_key(&run_id, file)))?;
        stresslab_core::local::write_atomic(&out.join(file), &bytes)?;
    }
    Ok(run_id)
}

fn bench(portfolio: &Path, runs: usize, scenarios: Option<u32>) -> ExitCode {
    let base = std::env::temp_dir().join(format!("stresslab-bench-{}", std::process::id()));
    let params = || RunParameters {
        scenarios,
        partitions: None,
    };
    let mut times = Vec::with_capacity(runs);
    for i in 0..=runs {
        let out = base.join(format!("run-{i}"));
        let started = Instant::now();
        if let Err(e) = run_local(portfolio, None, params(), stages::DEFAULT_SEED, &out, false) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&out);
        if i > 0 {
            times.push(elapsed);
        }
    }
    let _ = std::fs::remove_dir_all(&base);
    times.sort_by(f64::total_cmp);
    let median = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2.0
    };
    println!(
        "run factor ({} scenarios, {} partitions) on {}: median {:.3}s, min {:.3}s, max {:.3}s over {} runs ({} cores)",
        scenarios.unwrap_or(factor::scenarios::DEFAULT_SCENARIOS),
        stages::DEFAULT_PARTITIONS,
        portfolio.display(),
        median,
        times[0],
        times[times.len() - 1],
        times.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    ExitCode::SUCCESS
}
