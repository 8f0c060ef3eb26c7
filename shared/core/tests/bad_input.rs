//! Bad input, case by case: each must come back as an `Issue` naming the field (and the
//! line, for CSV) with a reason, never as a panic or a silently accepted file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use stresslab_core::input::{check_relative_reference, read_input_file};
use stresslab_core::market_data::parse_market_data;
use stresslab_core::portfolio::{
    escape_control, parse_portfolio, Issue, Rejection, MAX_COLLECTED_ISSUES, MAX_DISPLAYED_ISSUES,
    MAX_REJECTION_BYTES,
};
use stresslab_core::rng::Rng;

const BOOK_JSON: &[u8] = include_bytes!("../../../events/inputs/ff_multifactor_book.json");
const BOOK_CSV: &[u8] = include_bytes!("../../../events/inputs/ff_multifactor_book.csv");
const MARKET: &[u8] =
    include_bytes!("../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv");

fn position(id: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"n","asset_class":"equity","instrument_type":"stock","currency":"USD"{extra}}}"#
    )
}

fn book(header: &str, positions: &[String]) -> String {
    format!(
        r#"{{"portfolio_id":"p1","base_currency":"USD"{header},"positions":[{}]}}"#,
        positions.join(",")
    )
}

fn json_issues(json: &str) -> Vec<Issue> {
    parse_portfolio("p.json", json.as_bytes())
        .expect_err("should be rejected")
        .issues
}

fn csv_issues(name: &str, csv: &str) -> Vec<Issue> {
    parse_portfolio(name, csv.as_bytes())
        .expect_err("should be rejected")
        .issues
}

fn market_issues(csv: &str) -> Vec<Issue> {
    parse_market_data(csv.as_bytes())
        .expect_err("should be rejected")
        .issues
}

/// The issue at `path` whose reason contains `needle`, or a failure listing them all.
fn find<'a>(issues: &'a [Issue], path: &str, needle: &str) -> &'a Issue {
    issues
        .iter()
        .find(|i| i.path == path && i.reason.contains(needle))
        .unwrap_or_else(|| panic!("no issue at {path:?} mentioning {needle:?} in {issues:#?}"))
}

// 1. Dates are parsed char-safely; nothing panics on arbitrary bytes.

#[test]
fn a_non_ascii_date_is_an_issue_naming_line_and_column() {
    let issues = market_issues("dates,A\n2000-01,0.1\n2000-0é,0.2\n2000é1,0.2\n");
    let bad = find(&issues, "market_data line 3 column 1", "unreadable date");
    assert!(bad.reason.contains("2000-0é"), "{bad}");
    find(&issues, "market_data line 4 column 1", "unreadable date");
    for date in [
        "2000-13",
        "2000-01-32",
        "1/32/2000",
        "2000/01",
        "1e5",
        "２０００-01",
    ] {
        let csv = format!("dates,A\n{date},0.1\n");
        find(
            &market_issues(&csv),
            "market_data line 2 column 1",
            "unreadable date",
        );
    }
}

#[test]
fn a_non_ascii_maturity_is_an_issue() {
    let json = book(
        "",
        &[position(
            "a",
            r#","market_value":1,"fixed_income":{"maturity":"2030-0é-01"}"#,
        )],
    );
    find(
        &json_issues(&json),
        "positions[0].fixed_income.maturity",
        "YYYY-MM-DD",
    );
}

/// Bytes biased towards what parsers branch on: separators, quotes, digits, signs,
/// exponents, BOM and multi-byte UTF-8 fragments, and plain random bytes.
fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b",",
        b"\"",
        b"\\",
        b"\n",
        b"\r",
        b"-",
        b"/",
        b".",
        b"e",
        b"0",
        b"1",
        b"9",
        b"1e308",
        b"NaN",
        b"inf",
        b"null",
        b"true",
        b"\xEF\xBB\xBF",
        "é".as_bytes(),
        "€".as_bytes(),
        "😀".as_bytes(),
        b"\xC3",
        b"\xE2\x82",
        b"\xFF",
        b"\0",
        b"\"id\"",
        b"\"market_value\"",
        b"\"positions\"",
        b"2000-0",
        b"1/2/",
    ];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let r = rng.next_u64();
        if r & 3 == 0 {
            out.push((r >> 8) as u8);
        } else {
            out.extend_from_slice(PIECES[(r >> 8) as usize % PIECES.len()]);
        }
    }
    out
}

/// A valid input with a few random edits: reaches much deeper into the validators than
/// pure noise, which mostly stops at the tokenizer.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..1 + rng.next_u64() % 4 {
        let at = (rng.next_u64() as usize) % (out.len() + 1);
        let len = (rng.next_u64() % 8) as usize;
        match rng.next_u64() % 3 {
            0 => {
                let end = (at + len).min(out.len());
                out.drain(at..end);
            }
            1 => {
                let piece = random_bytes(rng, len.max(1));
                out.splice(at..at, piece);
            }
            _ => {
                let end = (at + len).min(out.len());
                let piece = random_bytes(rng, len.max(1));
                out.splice(at..end, piece);
            }
        }
    }
    out
}

/// A short cell made of date and number fragments and multi-byte characters: the inputs
/// where a byte offset can land inside a character (`2000-0é`).
fn random_cell(rng: &mut Rng) -> String {
    const TOKENS: &[&str] = &[
        "2000", "01", "1", "0", "-", "/", "é", "€", "😀", " ", ".", "e", "12",
    ];
    let n = 1 + rng.next_u64() % 5;
    (0..n)
        .map(|_| TOKENS[(rng.next_u64() % TOKENS.len() as u64) as usize])
        .collect()
}

/// A well-formed CSV whose cells are random: gets past the CSV reader to the date,
/// number and field checks.
fn random_cells_csv(rng: &mut Rng, header: &str) -> Vec<u8> {
    let columns = header.split(',').count();
    let mut out = format!("{header}\n");
    for _ in 0..1 + rng.next_u64() % 20 {
        let row: Vec<String> = (0..columns).map(|_| random_cell(rng)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

fn never_panics(bytes: &[u8]) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for name in ["p.json", "p.csv"] {
            if let Err(r) = parse_portfolio(name, bytes) {
                assert!(!r.issues.is_empty());
                let _ = r.to_string();
            }
        }
        if let Err(r) = parse_market_data(bytes) {
            assert!(!r.issues.is_empty());
            let _ = r.to_string();
        }
    }));
    if outcome.is_err() {
        panic!(
            "a parser panicked on {:?}",
            String::from_utf8_lossy(bytes)
                .chars()
                .take(400)
                .collect::<String>()
        );
    }
}

#[test]
fn parsers_never_panic_on_arbitrary_bytes() {
    let mut rng = Rng::new(0x5EED_BAD1_u64, 7);
    let small_book_json: Vec<u8> = book(
        r#","as_of":"2017-03-31","market_data":"m.csv","total_market_value":3"#,
        &[
            position(
                "a",
                r#","market_value":1,"weight":0.333333,"fixed_income":{"maturity":"2030-01-01","coupon":0.05}"#,
            ),
            position(
                "b",
                r#","quantity":2,"price":1,"weight":0.666667,"factor":{"exposures":{"MktRF":1}}"#,
            ),
        ],
    )
    .into_bytes();
    let small_book_csv = b"id,name,asset_class,instrument_type,currency,market_value,quantity,price,maturity,exposure_MktRF\n\
        a,A,equity,stock,USD,10,5,2,2030-01-01,1.1\nb,B,equity,stock,USD,20,,,,0.9\n";
    let small_market = b"dates,MktRF,SMB\n2000-01-31,0.01,0.02\n200002,0.03,-0.01\n3/31/2000,0,0\n";
    for round in 0..3000 {
        let bytes = match round % 6 {
            0 => {
                let len = (rng.next_u64() % 120) as usize;
                random_bytes(&mut rng, len)
            }
            1 => mutate(&mut rng, &small_book_json),
            2 => mutate(&mut rng, small_book_csv),
            3 => mutate(&mut rng, small_market),
            4 => random_cells_csv(&mut rng, "dates,A,B"),
            _ => random_cells_csv(
                &mut rng,
                "id,asset_class,instrument_type,currency,market_value,maturity,as_of",
            ),
        };
        never_panics(&bytes);
    }
}

// 2. Overflowing products and sums, and absurd market values.

#[test]
fn quantity_times_price_overflow_is_named() {
    let json = book(
        "",
        &[
            position("a", r#","market_value":5"#),
            position("b", r#","quantity":1e200,"price":1e200"#),
            position("c", r#","quantity":1e200,"price":1e200,"market_value":5"#),
        ],
    );
    let issues = json_issues(&json);
    find(
        &issues,
        "positions[1].quantity",
        "quantity × price overflows",
    );
    find(
        &issues,
        "positions[2].quantity",
        "quantity × price overflows",
    );
    assert!(
        !issues
            .iter()
            .any(|i| i.reason.contains("inf") && i.path == "positions[2].market_value"),
        "an overflowed product must not be reconciled: {issues:#?}"
    );
}

#[test]
fn an_overflowing_total_is_named() {
    let json = book(
        "",
        &[
            position("a", r#","market_value":1.7e308"#),
            position("b", r#","market_value":1.7e308"#),
        ],
    );
    let issues = json_issues(&json);
    find(&issues, "total_market_value", "overflows");
    find(&issues, "positions[0].market_value", "beyond the limit");
}

#[test]
fn market_values_beyond_the_cap_are_rejected() {
    let json = book(
        "",
        &[
            position("a", r#","market_value":2e18"#),
            position("b", r#","quantity":1e10,"price":1e9"#),
        ],
    );
    let issues = json_issues(&json);
    find(&issues, "positions[0].market_value", "beyond the limit");
    find(
        &issues,
        "positions[1].quantity",
        "beyond the market value limit",
    );
    let fine = book("", &[position("a", r#","market_value":9e17"#)]);
    assert!(parse_portfolio("p.json", fine.as_bytes()).is_ok());
}

// 3. A market_data reference must stay inside the portfolio's folder.

#[test]
fn market_data_references_must_be_plain_relative_paths() {
    for bad in [
        "/etc/passwd",
        "../secrets.csv",
        "data/../../x.csv",
        "..\\x.csv",
        "data\\x.csv",
        "C:\\x.csv",
        "s3://other-bucket/x.csv",
        "x\u{7}.csv",
    ] {
        let json = book(
            &format!(r#","market_data":{}"#, serde_json::to_string(bad).unwrap()),
            &[position("a", r#","market_value":1"#)],
        );
        let issues = json_issues(&json);
        assert!(
            issues.iter().any(|i| i.path == "market_data"),
            "{bad:?}: {issues:#?}"
        );
    }
    let empty = book(
        r#","market_data":"""#,
        &[position("a", r#","market_value":1"#)],
    );
    find(&json_issues(&empty), "market_data", "must not be empty");
    let ok = book(
        r#","market_data":"data/market.csv""#,
        &[position("a", r#","market_value":1"#)],
    );
    assert!(parse_portfolio("p.json", ok.as_bytes()).is_ok());
}

#[test]
fn check_relative_reference_names_the_field() {
    let e = check_relative_reference("../x.csv", "--market-data").unwrap_err();
    assert_eq!(e.path, "--market-data");
    assert!(e.reason.contains(".."), "{e}");
    let e = check_relative_reference("", "market_data").unwrap_err();
    assert!(e.reason.contains("empty"), "{e}");
    let e = check_relative_reference("/abs.csv", "market_data").unwrap_err();
    assert!(e.reason.contains("absolute"), "{e}");
    let e = check_relative_reference("a\\b.csv", "market_data").unwrap_err();
    assert!(e.reason.contains("backslash"), "{e}");
}

// 4. Duplicate ids are found even when the other row is broken too.

#[test]
fn duplicate_ids_are_reported_when_the_other_row_has_errors() {
    let json = book(
        "",
        &[
            position("a", r#","market_value":1"#),
            r#"{"id":"a","asset_class":"crypto","instrument_type":"stock","currency":"XXY","market_value":1}"#.into(),
            position("b", r#","market_value":"NaN""#),
            position("b", r#","market_value":2"#),
        ],
    );
    let issues = json_issues(&json);
    let dup = find(&issues, "positions[1].id", "duplicate id \"a\"");
    assert!(dup.reason.contains("positions[0].id"), "{dup}");
    find(&issues, "positions[3].id", "duplicate id \"b\"");
    find(&issues, "positions[1].asset_class", "unknown");

    let csv = "id,asset_class,instrument_type,currency,market_value\n\
               a,equity,stock,USD,1\n\
               a,equity,stock,XXY,1\n";
    find(
        &csv_issues("book.csv", csv),
        "positions[1].id (line 3)",
        "duplicate id \"a\"",
    );
}

// 5. portfolio_id problems come with all the others.

#[test]
fn portfolio_id_problems_are_reported_with_the_rest() {
    let json = r#"{"portfolio_id":"bad id!","base_currency":"USD","positions":[
        {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":-1}]}"#;
    let issues = json_issues(json);
    find(&issues, "portfolio_id", "[A-Za-z0-9._-]");
    find(&issues, "positions[0].market_value", ">= 0");

    let csv = "id,asset_class,instrument_type,currency,market_value\na,equity,stock,USD,-1\n";
    let issues = csv_issues("my book.csv", csv);
    let id = find(&issues, "portfolio_id", "[A-Za-z0-9._-]");
    assert!(id.reason.contains("file name"), "{id}");
    find(&issues, "positions[0].market_value (line 2)", ">= 0");
}

// 6. A UTF-8 BOM is accepted in JSON as in CSV.

#[test]
fn a_byte_order_mark_is_accepted_in_json_and_csv() {
    let bom = |bytes: &[u8]| [b"\xEF\xBB\xBF".as_slice(), bytes].concat();
    let plain = parse_portfolio("book.json", BOOK_JSON).unwrap();
    assert_eq!(
        parse_portfolio("book.json", &bom(BOOK_JSON)).unwrap(),
        plain
    );
    let plain = parse_portfolio("book.csv", BOOK_CSV).unwrap();
    assert_eq!(parse_portfolio("book.csv", &bom(BOOK_CSV)).unwrap(), plain);
    let plain = parse_market_data(MARKET).unwrap();
    let with_bom = parse_market_data(&bom(MARKET)).unwrap();
    assert_eq!(with_bom.columns, plain.columns);
    assert_eq!(with_bom.dates, plain.dates);
}

// 7. Duplicate keys and columns.

#[test]
fn duplicate_json_keys_are_named_with_their_path() {
    let json = r#"{"portfolio_id":"p1","portfolio_id":"p2","base_currency":"USD","positions":[
        {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1},
        {"id":"b","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1,"market_value":1e9,
         "factor":{"exposures":{"MktRF":1,"MktRF":2}}}]}"#;
    let issues = json_issues(json);
    find(&issues, "portfolio_id", "duplicate key \"portfolio_id\"");
    find(
        &issues,
        "positions[1].market_value",
        "duplicate key \"market_value\"",
    );
    find(
        &issues,
        "positions[1].factor.exposures.MktRF",
        "duplicate key \"MktRF\"",
    );
}

#[test]
fn duplicate_json_keys_in_a_large_book_are_checked_in_linear_time() {
    // 40,000 positions with 12 keys each: quadratic work would take minutes here.
    let positions: Vec<String> = (0..40_000)
        .map(|i| {
            position(
                &format!("p{i}"),
                r#","market_value":1,"quantity":1,"price":1"#,
            )
        })
        .collect();
    let mut json = book("", &positions);
    // Into the last position object, before its closing brace and the final "]}".
    json.insert_str(json.len() - 3, r#","id":"again""#);
    let started = std::time::Instant::now();
    let issues = json_issues(&json);
    assert!(started.elapsed().as_secs() < 20);
    find(&issues, "positions[39999].id", "duplicate key \"id\"");
    assert_eq!(issues.len(), 1, "{issues:#?}");
}

#[test]
fn duplicate_csv_columns_are_named() {
    let csv = "id,asset_class,instrument_type,currency,market_value,market_value\n\
               a,equity,stock,USD,1,2\n";
    find(
        &csv_issues("book.csv", csv),
        "header column 6",
        "duplicate column \"market_value\" (also column 5)",
    );
    let issues = market_issues("dates,A,B,A\n2000-01,0.1,0.2,0.3\n");
    find(
        &issues,
        "market_data line 1 column 4 (A)",
        "duplicate column \"A\" (also column 2)",
    );
}

// 8. Id limits and control characters.

#[test]
fn portfolio_ids_are_capped_and_restricted() {
    let with_id = |id: &str| {
        format!(
            r#"{{"portfolio_id":{},"base_currency":"USD","positions":[{}]}}"#,
            serde_json::to_string(id).unwrap(),
            position("a", r#","market_value":1"#)
        )
    };
    let ok = "a".repeat(128);
    assert!(parse_portfolio("p.json", with_id(&ok).as_bytes()).is_ok());
    find(
        &json_issues(&with_id(&"a".repeat(129))),
        "portfolio_id",
        "limit is 128",
    );
    for bad in ["a/b", "a b", "é", "a\u{0}b", "..", "a:b"] {
        let issues = json_issues(&with_id(bad));
        assert!(
            issues.iter().any(|i| i.path == "portfolio_id"),
            "{bad:?}: {issues:#?}"
        );
    }
}

#[test]
fn position_ids_are_capped_and_control_characters_refused() {
    let long = "x".repeat(257);
    let json = book(
        "",
        &[
            position(&long, r#","market_value":1"#),
            position("b\\u0007", r#","market_value":1"#),
            position("c", r#","market_value":1"#).replace(r#""name":"n""#, r#""name":"a\nb""#),
        ],
    );
    let issues = json_issues(&json);
    find(&issues, "positions[0].id", "limit is 256 bytes");
    find(&issues, "positions[1].id", "control characters");
    find(&issues, "positions[2].name", "control characters");
    let named = r#"{"portfolio_id":"p","name":"evil\u001b[2J","base_currency":"USD","positions":[
        {"id":"a","asset_class":"equity","instrument_type":"stock","currency":"USD","market_value":1}]}"#;
    find(&json_issues(named), "name", "control characters");
    let ok = book("", &[position(&"x".repeat(256), r#","market_value":1"#)]);
    assert!(parse_portfolio("p.json", ok.as_bytes()).is_ok());
}

// 9. Control characters are escaped whenever an issue is shown.

#[test]
fn control_characters_are_escaped_on_display() {
    assert_eq!(escape_control("a\nb\t\u{1b}[31m"), "a\\nb\\t\\u{1b}[31m");
    assert_eq!(escape_control("Zürich 東京 😀"), "Zürich 東京 😀");
    assert_eq!(escape_control("abc\u{202E}def"), "abc\\u{202e}def");
    let issue = Issue {
        path: "positions[0].na\nme".into(),
        reason: "unknown \u{1b}[2J".into(),
    };
    assert_eq!(
        issue.to_string(),
        "positions[0].na\\nme: unknown \\u{1b}[2J"
    );
    // End to end: a key with a newline (from the input) must not split the output line.
    let json = book(
        "",
        &[position("a", r#","market_value":1,"x\ny\r\u0007":1"#)],
    );
    let rejection = parse_portfolio("p.json", json.as_bytes()).unwrap_err();
    let shown = rejection.to_string();
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(shown.contains("x\\ny\\r\\u{7}"), "{shown}");
}

// 10. Displayed rejections are capped; the issues themselves are complete.

#[test]
fn ten_thousand_bad_rows_display_within_32_kib() {
    let mut csv = String::from("id,asset_class,instrument_type,currency,market_value\n");
    for i in 0..10_000 {
        csv.push_str(&format!("p{i},equity,stock,USD,not-a-number-{i}\n"));
    }
    let rejection = parse_portfolio("book.csv", csv.as_bytes()).unwrap_err();
    assert_eq!(rejection.issues.len(), 10_000);
    let shown = rejection.to_string();
    assert!(shown.len() <= MAX_REJECTION_BYTES, "{}", shown.len());
    assert!(shown.len() < 32 * 1024);
    assert!(shown.starts_with("input rejected with 10000 problem(s):"));
    let listed = shown.lines().filter(|l| l.contains("positions[")).count();
    assert_eq!(listed, MAX_DISPLAYED_ISSUES);
    let more = 10_000 - MAX_DISPLAYED_ISSUES;
    assert!(
        shown.ends_with(&format!("… and {more} more problem(s)")),
        "{}",
        &shown[shown.len().saturating_sub(200)..]
    );

    let mut md = String::from("dates,A\n");
    for i in 0..10_000 {
        md.push_str(&format!("bad-{i},x\n"));
    }
    let rejection = parse_market_data(md.as_bytes()).unwrap_err();
    assert_eq!(rejection.issues.len(), 20_000);
    assert!(rejection.to_string().len() < 32 * 1024);
}

#[test]
fn huge_single_issues_are_cut_and_capped_strings_fit_their_budget() {
    let rejection = Rejection {
        issues: (0..60)
            .map(|i| Issue {
                path: format!("positions[{i}].currency"),
                reason: format!("unknown currency {:?}", "é".repeat(100_000)),
            })
            .collect(),
    };
    let shown = rejection.to_string();
    assert!(shown.len() <= MAX_REJECTION_BYTES, "{}", shown.len());
    assert!(shown.contains("positions[49].currency"));
    assert!(shown.ends_with("… and 10 more problem(s)"), "{shown}");
    for budget in [0, 10, 100, 1000, 5000] {
        let capped = rejection.capped(budget);
        assert!(capped.len() <= budget, "{budget}: {}", capped.len());
    }
    assert!(rejection.capped(1000).contains("more problem(s)"));
}

#[test]
fn issue_collection_is_bounded_and_says_so() {
    let columns: Vec<String> = (0..MAX_COLLECTED_ISSUES + 5)
        .map(|i| format!("c{i}"))
        .collect();
    let cells = vec!["x"; columns.len()];
    let csv = format!("dates,{}\n2000-01,{}\n", columns.join(","), cells.join(","));
    let issues = market_issues(&csv);
    assert_eq!(issues.len(), MAX_COLLECTED_ISSUES + 1);
    let last = issues.last().unwrap();
    assert!(last.reason.starts_with("5 further problem(s)"), "{last}");
}

// 11. Reading input files.

#[test]
fn dev_zero_is_refused_at_once() {
    let started = std::time::Instant::now();
    let e = read_input_file(Path::new("/dev/zero"), "portfolio", 1 << 20).unwrap_err();
    assert!(started.elapsed().as_secs() < 2);
    assert_eq!(e.path, "portfolio");
    assert!(e.reason.contains("character device"), "{e}");
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_input_file(dir.path(), "market_data", 1 << 20).unwrap_err();
    assert_eq!(e.path, "market_data");
    assert!(e.reason.contains("a directory"), "{e}");
}

#[test]
fn a_file_over_the_limit_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    std::fs::write(&path, vec![b' '; 2048]).unwrap();
    let e = read_input_file(&path, "portfolio", 1024).unwrap_err();
    assert_eq!(e.path, "portfolio");
    assert!(
        e.reason.contains("2048 bytes") && e.reason.contains("limit is 1024 bytes"),
        "{e}"
    );
    // Exactly at the limit is fine.
    assert_eq!(
        read_input_file(&path, "portfolio", 2048).unwrap().len(),
        2048
    );
}

#[test]
fn a_normal_file_is_read_and_a_missing_one_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.json");
    std::fs::write(&path, BOOK_JSON).unwrap();
    assert_eq!(
        read_input_file(&path, "portfolio", 1 << 20).unwrap(),
        BOOK_JSON
    );
    let e = read_input_file(&dir.path().join("nope.json"), "portfolio", 1 << 20).unwrap_err();
    assert_eq!(e.path, "portfolio");
    assert!(
        e.reason.contains("nope.json") && e.reason.contains("no such file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_and_a_symlink_to_a_device_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("zero.csv");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let e = read_input_file(&link, "market_data", 1 << 20).unwrap_err();
    assert!(e.reason.contains("character device"), "{e}");

    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let e = read_input_file(&fifo, "market_data", 1 << 20).unwrap_err();
        assert!(e.reason.contains("named pipe"), "{e}");
    }
}

// Liquidity inputs: every bad field of the `liquidity`, `fund` and `investors` sections is
// named, and they are reported together with the rest.

#[test]
fn every_bad_liquidity_field_is_named() {
    let json = book(
        "",
        &[
            position(
                "a",
                r#","market_value":1,"liquidity":{"adv":0,"bid_ask_bps":-1,"daily_vol":2,"settlement_days":1.5,"issue_outstanding":-3,"spread_bps":4}"#,
            ),
            position(
                "b",
                r#","market_value":1,"liquidity":{"asset_class":"crypto","settlement_days":400}"#,
            ),
            position("c", r#","market_value":1,"liquidity":"liquid""#),
        ],
    );
    let found = json_issues(&json);
    find(&found, "positions[0].liquidity.asset_class", "is required");
    find(&found, "positions[0].liquidity.adv", "> 0");
    find(&found, "positions[0].liquidity.bid_ask_bps", ">= 0");
    find(&found, "positions[0].liquidity.daily_vol", "fraction");
    find(
        &found,
        "positions[0].liquidity.settlement_days",
        "whole number",
    );
    find(&found, "positions[0].liquidity.issue_outstanding", "> 0");
    find(&found, "positions[0].liquidity.spread_bps", "bid_ask_bps");
    find(&found, "positions[1].liquidity.asset_class", "equity_large");
    find(&found, "positions[1].liquidity.settlement_days", "0 to 365");
    find(&found, "positions[2].liquidity", "must be an object");
}

#[test]
fn every_bad_fund_term_is_named() {
    let header = r#","fund":{"dealing_frequency":"hourly","notice_days":-1,"gate":{"threshold":0},
        "swing_pricing":{"threshold":0.02,"max_factor":1},"buffer_tiers":["cash_equivalent","cash","gold","cash_equivalent"],
        "peer_group":"hedge","lockup":3}"#;
    let found = json_issues(&book(header, &[position("a", r#","market_value":1"#)]));
    find(
        &found,
        "fund.dealing_frequency",
        "daily, weekly, monthly, quarterly",
    );
    find(&found, "fund.notice_days", "whole number from 0 to 250");
    find(&found, "fund.gate.threshold", "(0, 1]");
    find(&found, "fund.swing_pricing.max_factor", "[0, 1)");
    find(&found, "fund.buffer_tiers[1]", "cash is always drawn first");
    find(
        &found,
        "fund.buffer_tiers[2]",
        "unknown liquidity asset_class",
    );
    find(&found, "fund.buffer_tiers[3]", "listed twice");
    find(&found, "fund.peer_group", "mixed");
    find(&found, "fund.lockup", "unknown field");
    let missing = json_issues(&book(
        r#","fund":{"swing_pricing":{}}"#,
        &[position("a", r#","market_value":1"#)],
    ));
    find(&missing, "fund.dealing_frequency", "is required");
    find(&missing, "fund.swing_pricing.threshold", "is required");
    find(&missing, "fund.swing_pricing.max_factor", "is required");
}

#[test]
fn every_bad_investor_field_is_named() {
    let header = r#","fund":{"dealing_frequency":"weekly","notice_days":5},"investors":[
        {"id":"a","type":"pension","aum_share":0.5,"holders":1,"horizon_years":10,"notice_days":2,"redemption_frequency":"daily"},
        {"id":"a","type":"hedgie","aum_share":1.5,"holders":0,"horizon_years":-1,"vip":true},
        {"id":"c","type":"retail","aum_share":0.3}, 7]"#;
    let found = json_issues(&book(header, &[position("x", r#","market_value":1"#)]));
    find(
        &found,
        "investors[0].notice_days",
        "shorter than the fund's notice",
    );
    find(
        &found,
        "investors[0].redemption_frequency",
        "daily is more frequent than the fund deals (weekly)",
    );
    find(&found, "investors[1].id", "duplicate investor id");
    find(&found, "investors[1].type", "wealth_manager");
    find(&found, "investors[1].aum_share", "(0, 1]");
    find(&found, "investors[1].holders", "whole number from 1");
    find(&found, "investors[1].horizon_years", ">= 0");
    find(&found, "investors[1].vip", "unknown field");
    find(&found, "investors[2].holders", "is required");
    find(&found, "investors[2].horizon_years", "is required");
    find(&found, "investors[3]", "must be an object");
}

#[test]
fn investor_shares_must_sum_to_one() {
    let investor = |id: &str, share: f64| {
        format!(
            r#"{{"id":"{id}","type":"retail","aum_share":{share},"holders":10,"horizon_years":3}}"#
        )
    };
    let header = format!(
        r#","investors":[{},{}]"#,
        investor("a", 0.5),
        investor("b", 0.4)
    );
    let found = json_issues(&book(&header, &[position("x", r#","market_value":1"#)]));
    let issue = find(&found, "investors", "aum_share values sum to 0.9");
    assert!(issue.reason.contains("must sum to 1"), "{issue}");
    // Within the tolerance (a register rounded to 7 decimals) is accepted.
    let header = format!(
        r#","investors":[{},{}]"#,
        investor("a", 0.5),
        investor("b", 0.5000004)
    );
    parse_portfolio(
        "p.json",
        book(&header, &[position("x", r#","market_value":1"#)]).as_bytes(),
    )
    .expect("shares within 1e-6 of one are accepted");
}

#[test]
fn csv_liquidity_columns_are_named_with_their_line() {
    let csv = "id,asset_class,instrument_type,currency,market_value,liquidity_class,adv,settlement_days\n\
               a,equity,stock,USD,1,equity_large,5e6,1\n\
               b,equity,stock,USD,1,,5e6,\n\
               c,equity,stock,USD,1,equity_giant,,2.5\n";
    let found = csv_issues("book.csv", csv);
    find(
        &found,
        "positions[1].liquidity.asset_class (line 3)",
        "is required",
    );
    find(
        &found,
        "positions[2].liquidity.asset_class (line 4)",
        "unknown",
    );
    find(
        &found,
        "positions[2].liquidity.settlement_days (line 4)",
        "whole number",
    );
    assert!(
        !found.iter().any(|i| i.path.contains("line 2")),
        "{found:#?}"
    );
}

#[test]
fn the_seed_fund_parses_with_its_terms_and_register() {
    let bytes = include_bytes!("../../../events/inputs/seed_multi_asset_fund.json");
    let p = parse_portfolio("seed_multi_asset_fund.json", bytes).expect("the seed fund is valid");
    assert_eq!(p.positions.len(), 45);
    assert!(p.positions.iter().all(|x| x.liquidity.is_some()));
    assert_eq!(p.investors.len(), 12);
    assert!(p.fund.is_some());
    assert!((p.total_market_value() / 12e9 - 1.0).abs() < 1e-12);
}
