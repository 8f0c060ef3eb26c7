//! Loan-book interest-rate shock (issue 10, part 2): the pure analytics.
//!
//! A rate shock re-prices floating loans, whose re-amortised payments raise the
//! borrowers' debt service; that stress and a stated systematic downturn give a
//! stressed PD (Vasicek / Basel ASRF); the book is then projected month by month with
//! amortisation, rate-sensitive prepayment and defaults, and summarised as expected
//! loss, IRB capital, net interest income change and compliance metrics.
//!
//! No I/O beyond parsing the bytes handed to [`LoanBook::from_csv`], no AWS: the CLI
//! and the API build on this crate; [`report`] is the results document both return and
//! [`sample`] the reproducible sample book.

pub mod book;
pub mod cashflow;
pub mod credit;
pub mod report;
pub mod sample;
pub mod shock;
pub mod simulate;

pub use book::{BookError, Loan, LoanBook, LoanIssue, LoanType, RateBasis, RepaymentSchedule};
pub use credit::AssetClass;
pub use report::LoanSimulation;
pub use shock::RateShock;
pub use simulate::{simulate, Results, Settings, SimulationError};
