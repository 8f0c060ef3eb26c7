//! The sample upload both test files use.

/// Where the sample factor book goes in the tests and the sample event.
pub const SAMPLE_BOOK_KEY: &str = "portfolios/factor/ff_multifactor_book.json";

/// The sample factor book and its market data as an uploader lays them out: the book at
/// [`SAMPLE_BOOK_KEY`], its market data in `data/` beside it (the book's
/// `market_data` reference rewritten to `data/<file>`). Test support.
pub fn sample_upload() -> Vec<(String, Vec<u8>)> {
    const BOOK: &str = include_str!("../../../../events/inputs/ff_multifactor_book.json");
    const MARKET_FILE: &str = "ff_factors_industries_portfolios_monthly_1949_2017.csv";
    const MARKET: &[u8] = include_bytes!(
        "../../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
    );
    let reference = format!("\"market_data\": \"{MARKET_FILE}\"");
    assert!(
        BOOK.contains(&reference),
        "the sample book names {MARKET_FILE}"
    );
    let book = BOOK.replace(
        &reference,
        &format!("\"market_data\": \"data/{MARKET_FILE}\""),
    );
    vec![
        (SAMPLE_BOOK_KEY.to_owned(), book.into_bytes()),
        (
            format!("portfolios/factor/data/{MARKET_FILE}"),
            MARKET.to_vec(),
        ),
    ]
}
