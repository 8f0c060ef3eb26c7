//! The committed sample book is the generator's output: reproducible, and it cannot
//! drift from the code that documents its distributions.

use std::path::Path;
use stresslab_loans::{sample, simulate, LoanBook, RateShock, Settings};

#[test]
fn the_committed_sample_book_is_generate_10000_seed_7() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/inputs/loan_book_10000.csv");
    let committed = std::fs::read_to_string(&path).expect("events/inputs/loan_book_10000.csv");
    let generated = sample::generate(10_000, 7);
    // Not assert_eq!: a 900 kB diff helps nobody; name the first differing line.
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or("the length".to_owned(), |i| format!("line {}", i + 1));
        panic!(
            "{} differs from sample::generate(10000, 7) at {line}; run scripts/make_loan_book.sh",
            path.display()
        );
    }
    // And it simulates as of its valuation date (every loan live then).
    let book = LoanBook::from_csv(committed.as_bytes()).unwrap();
    assert_eq!(book.loans.len(), 10_000);
    let settings = Settings::new(sample::VALUATION_DATE);
    simulate(&book, &RateShock::Parallel { bp: 300.0 }, &settings).unwrap();
}
