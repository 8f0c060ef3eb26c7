//! Parsing the loan book: every bad field of every record, by line; nothing half-built.

use stresslab_loans::{AssetClass, LoanBook, RateBasis, RepaymentSchedule};

const HEADER: &str = "LoanId,CustomerId,LoanAmount,InterestRate,StartDate,EndDate,LoanType,RepaymentSchedule,CurrentBalance,DefaultRiskScore\n";

fn issues(text: &str) -> Vec<(usize, String)> {
    LoanBook::from_csv(text.as_bytes())
        .unwrap_err()
        .issues
        .into_iter()
        .map(|i| (i.line, i.field))
        .collect()
}

#[test]
fn a_good_book_parses_into_typed_loans() {
    let text = format!(
        "{HEADER}L1, C1 ,250000,0.05,2020-01-15,2045-01-15,Mortgage-Floating,Monthly,200000,40\r\n\
         L2,C2,1e6,0.061,2022-02-28,2029-02-28,corporate-FIXED,Quarterly,750000,0\r\n"
    );
    let b = LoanBook::from_csv(text.as_bytes()).unwrap();
    assert_eq!(b.loans.len(), 2);
    let l = &b.loans[1];
    assert_eq!(l.loan_type.class, AssetClass::Corporate);
    assert_eq!(l.loan_type.basis, RateBasis::Fixed);
    assert_eq!(l.repayment_schedule, RepaymentSchedule::Quarterly);
    assert_eq!(l.loan_amount, 1e6);
    assert_eq!(b.loans[0].customer_id.0, "C1");
    assert_eq!((b.loans[0].line, l.line), (2, 3));
}

#[test]
fn every_bad_field_is_reported_by_line() {
    let text = format!(
        "{HEADER}\
         L1,C1,250000,0.05,2020-01-15,2045-01-15,Mortgage-Floating,Monthly,200000,40\n\
         L2,,-5,5.5,2020-13-01,2019-01-01,Mortgage-Variable,Weekly,x,101\n\
         L3,C3,1000,0.05,2020-01-01,2019-01-01,Consumer-Fixed,Monthly,2000,10\n\
         L4,C4,1000\n\
         L1,C5,1000,0.05,2020-01-01,2030-01-01,Consumer-Fixed,Monthly,500,10\n"
    );
    let got = issues(&text);
    let want: Vec<(usize, String)> = [
        (3, "CustomerId"),
        (3, "LoanAmount"),
        (3, "InterestRate"),
        (3, "StartDate"),
        (3, "LoanType"),
        (3, "RepaymentSchedule"),
        (3, "CurrentBalance"),
        (3, "DefaultRiskScore"),
        (4, "EndDate"),
        (4, "CurrentBalance"),
        (5, "record"),
        (6, "LoanId"),
    ]
    .into_iter()
    .map(|(l, f)| (l, f.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn reasons_name_the_problem() {
    let text =
        format!("{HEADER}L1,C1,1000,4.5,2020-01-01,2030-01-01,Consumer-Fixed,Monthly,500,10\n");
    let e = LoanBook::from_csv(text.as_bytes()).unwrap_err();
    assert!(
        e.issues[0].reason.contains("percentage"),
        "{}",
        e.issues[0].reason
    );
    assert!(e.to_string().contains("line 2, InterestRate"), "{e}");
}

#[test]
fn header_problems_are_all_reported() {
    let got = LoanBook::from_csv(b"LoanId,LoanId,Colour,CustomerId\n").unwrap_err();
    let reasons: Vec<&str> = got.issues.iter().map(|i| i.reason.as_str()).collect();
    assert!(reasons.iter().all(|r| !r.is_empty()));
    assert!(got
        .issues
        .iter()
        .all(|i| i.line == 1 && i.field == "header"));
    // duplicate, unknown, and the 8 missing columns
    assert_eq!(got.issues.len(), 10, "{reasons:?}");
}

#[test]
fn an_empty_book_is_rejected() {
    assert_eq!(issues(HEADER), [(1, "record".to_owned())]);
    assert_eq!(issues("").len(), 10);
}
