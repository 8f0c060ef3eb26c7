//! `stresslab loans`: the loan-book rate shock (issue 10, part 2) on this machine —
//! read a CSV book, shock it, write `loan_results.json` and `loan_projections.csv` —
//! plus `loans sample` (the reproducible sample book) and the loans benchmark.
//!
//! Exit codes as for `run`: 2 for input the user must fix (a bad book: every bad field
//! by line; a loan not live at the valuation date; bad settings), 1 for anything else
//! (a failed write). Output is built in a temporary directory beside `--out` and renamed
//! into place, so `--out` is never half-written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use stresslab_core::input::read_input_file;
use stresslab_core::local::write_atomic;
use stresslab_core::portfolio::escape_control;
use stresslab_loans::book::parse_iso_date;
use stresslab_loans::report::{projections_csv, sha256_hex};
use stresslab_loans::{sample, simulate, LoanBook, LoanSimulation, RateShock, Settings};

use crate::EXIT_INVALID;

/// Largest book the CLI reads: ~2.9 million loans of the sample's ~93 bytes a line.
const MAX_BOOK_BYTES: u64 = 256 * 1024 * 1024;

pub const RESULTS_FILE: &str = "loan_results.json";
pub const PROJECTIONS_FILE: &str = "loan_projections.csv";

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LoansArgs {
    #[command(subcommand)]
    command: Option<LoansCommand>,
    /// Loan book CSV in the seed's schema (LoanId, CustomerId, LoanAmount,
    /// InterestRate, StartDate, EndDate, LoanType, RepaymentSchedule, CurrentBalance,
    /// DefaultRiskScore); see events/inputs/README.md.
    #[arg(long, value_name = "FILE", required = true)]
    book: Option<PathBuf>,
    /// The market-rate shift in basis points (e.g. 300, or -100).
    #[arg(
        long,
        value_name = "BP",
        required = true,
        allow_negative_numbers = true
    )]
    shock_bp: Option<f64>,
    /// Reach the shift linearly over this many months (held after); without it the
    /// shift is parallel from month 1.
    #[arg(long, value_name = "MONTHS")]
    ramp_months: Option<u32>,
    /// Months projected.
    #[arg(long, value_name = "MONTHS", default_value_t = 60)]
    horizon_months: u32,
    /// Valuation date of the book's balances and rates, YYYY-MM-DD. The default is the
    /// sample book's (events/inputs/loan_book_10000.csv).
    #[arg(long, value_name = "DATE", default_value_t = sample::VALUATION_DATE.to_string())]
    as_of: String,
    /// Output directory (replaced as a whole): loan_results.json and
    /// loan_projections.csv.
    #[arg(long, value_name = "DIR", default_value = "loans-out")]
    out: PathBuf,
}

#[derive(clap::Subcommand)]
enum LoansCommand {
    /// Write the reproducible sample loan book (distributions stated in
    /// shared/loans/src/sample.rs): the same count and seed give the same bytes.
    Sample {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub fn main(args: LoansArgs) -> ExitCode {
    if let Some(LoansCommand::Sample { count, seed, out }) = args.command {
        return write_sample(count, seed, &out);
    }
    // clap requires both unless a subcommand is given.
    let (Some(book), Some(bp)) = (args.book, args.shock_bp) else {
        eprintln!("error: --book and --shock-bp are required");
        return ExitCode::from(EXIT_INVALID);
    };
    let shock = match args.ramp_months {
        Some(months) => RateShock::Ramp { bp, months },
        None => RateShock::Parallel { bp },
    };
    let as_of = match parse_iso_date(&args.as_of) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: --as-of: {}", escape_control(&e));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let mut settings = Settings::new(as_of);
    settings.horizon_months = args.horizon_months;
    let book_name = escape_control(&book.display().to_string());
    let bytes = match read_input_file(&book, "book", MAX_BOOK_BYTES) {
        Ok(b) => b,
        Err(issue) => {
            eprintln!("error: {}", escape_control(&issue.to_string()));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let loans = match LoanBook::from_csv(&bytes) {
        Ok(l) => l,
        Err(e) => {
            // Every issue, not a capped list: the user fixes the file from this.
            eprintln!(
                "{book_name}: loan book rejected, {} issue(s):",
                e.issues.len()
            );
            for issue in &e.issues {
                eprintln!("  {}", escape_control(&issue.to_string()));
            }
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let results = match simulate(&loans, &shock, &settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{book_name}: loan simulation rejected:");
            for line in e
                .settings
                .iter()
                .cloned()
                .chain(e.loans.iter().map(ToString::to_string))
            {
                eprintln!("  {}", escape_control(&line));
            }
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let doc = LoanSimulation::new(
        &loans,
        &sha256_hex(&bytes),
        &shock,
        &settings,
        &results,
        true,
    );
    let files = serde_json::to_vec_pretty(&doc)
        .map_err(|e| format!("serialise {RESULTS_FILE}: {e}"))
        .and_then(|json| {
            let csv = projections_csv(&loans, &results)
                .map_err(|e| format!("serialise {PROJECTIONS_FILE}: {e}"))?;
            Ok([(RESULTS_FILE, json), (PROJECTIONS_FILE, csv)])
        })
        .and_then(|files| write_dir_atomically(&args.out, &files));
    match files {
        Ok(()) => {
            print!("{}", doc.summary());
            for f in [RESULTS_FILE, PROJECTIONS_FILE] {
                println!("  {}", args.out.join(f).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", escape_control(&e));
            ExitCode::FAILURE
        }
    }
}

fn write_sample(count: usize, seed: u64, out: &Path) -> ExitCode {
    if count == 0 {
        eprintln!("error: --count must be at least 1");
        return ExitCode::from(EXIT_INVALID);
    }
    let csv = sample::generate(count, seed);
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(parent) {
            eprintln!("error: {}: {e}", parent.display());
            return ExitCode::FAILURE;
        }
    }
    match write_atomic(out, csv.as_bytes()) {
        Ok(()) => {
            println!(
                "{count} loans (seed {seed}), valuation date {}: {}",
                sample::VALUATION_DATE,
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `files` into `out` as a whole: first into `.<name>.tmp-<pid>` beside it, then
/// an existing `out` is moved aside, the new one renamed in and the old one removed. On
/// any error the temporary directory is removed and `out` is as it was.
fn write_dir_atomically(out: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), String> {
    let name = out
        .file_name()
        .ok_or_else(|| format!("--out {}: not a directory name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if out.exists() && !out.is_dir() {
        return Err(format!(
            "--out {}: exists and is not a directory",
            out.display()
        ));
    }
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let write = || -> std::io::Result<()> {
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir(&tmp)?;
        for (file, bytes) in files {
            std::fs::write(tmp.join(file), bytes)?;
        }
        if out.exists() {
            std::fs::rename(out, &old)?;
        }
        if let Err(e) = std::fs::rename(&tmp, out) {
            // Put the previous output back.
            let _ = std::fs::rename(&old, out);
            return Err(e);
        }
        Ok(())
    };
    let result = write();
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&old);
    result.map_err(|e| format!("{}: {e}", out.display()))
}

/// `bench --workflow loans`: the sample generator's book of `loans` loans, parsed once,
/// then `runs` timed simulations of +300 bp ramped over 12 months, `horizon` months.
pub fn bench(loans: usize, horizon: u32, runs: usize) -> ExitCode {
    let csv = sample::generate(loans, 7);
    let started = Instant::now();
    let book = match LoanBook::from_csv(csv.as_bytes()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parse = started.elapsed().as_secs_f64();
    let shock = RateShock::Ramp {
        bp: 300.0,
        months: 12,
    };
    let mut settings = Settings::new(sample::VALUATION_DATE);
    settings.horizon_months = horizon;
    let mut times = Vec::with_capacity(runs);
    // One warm-up run, not timed.
    for i in 0..=runs {
        let started = Instant::now();
        match simulate(&book, &shock, &settings) {
            Ok(r) => std::hint::black_box(r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        if i > 0 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let p99 = times[((times.len() as f64 * 0.99).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "loans: {loans} loans × {horizon} months, +300 bp over 12 months: simulate median {:.1} ms, p99 {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs (one thread); parsing the {:.1} MB CSV {:.0} ms",
        crate::median_of(&times) * 1e3,
        p99 * 1e3,
        times[0] * 1e3,
        times[times.len() - 1] * 1e3,
        times.len(),
        csv.len() as f64 / 1e6,
        parse * 1e3,
    );
    println!("machine: {}", machine());
    ExitCode::SUCCESS
}

/// The CPU model and core count, for quoting a figure with the machine it came from.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    format!(
        "{model}, {} cores available, {} {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
