//! The upload trigger's decision on the disk adapters: a valid upload gets the run id
//! `partition` gives the same request; an invalid file or an unknown workflow prefix is
//! rejected with every problem named; our own reports are ignored (writing one must
//! not trigger another).

use stresslab_core::local::{DiskBlobStore, DiskRunStore};
use stresslab_core::storage::BlobStore;
use stresslab_registry as registry;
use stresslab_registry::upload::{decide, UploadDecision, REJECTION_SUFFIX};

const BOOK: &[u8] = include_bytes!("../../../../events/inputs/ff_multifactor_book.json");
const MARKET: &[u8] = include_bytes!(
    "../../../../events/inputs/ff_factors_industries_portfolios_monthly_1949_2017.csv"
);
const INVALID: &[u8] = include_bytes!("../../../../events/inputs/invalid_portfolio.json");

fn store(files: &[(&str, &[u8])]) -> (tempfile::TempDir, DiskBlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = DiskBlobStore::new(dir.path().join("store"));
    for (key, bytes) in files {
        pollster::block_on(blobs.put(key, bytes.to_vec(), "application/octet-stream")).unwrap();
    }
    (dir, blobs)
}

#[test]
fn a_valid_upload_starts_its_workflow_with_partitions_run_id() {
    let key = "portfolios/factor/book.json";
    let (dir, blobs) = store(&[
        (key, BOOK),
        (
            "portfolios/factor/ff_factors_industries_portfolios_monthly_1949_2017.csv",
            MARKET,
        ),
    ]);
    let UploadDecision::Start {
        workflow,
        run_id,
        request,
    } = pollster::block_on(decide(&blobs, key)).unwrap()
    else {
        panic!("a valid upload was not started");
    };
    assert_eq!(workflow, registry::Workflow::Factor);
    assert_eq!(request.portfolio_key, key);
    let runs = DiskRunStore::new(dir.path().join("runs"));
    let plan = pollster::block_on(registry::partition(&blobs, &runs, &request)).unwrap();
    assert_eq!(plan.run_id, run_id);
    // The same upload decides the same way (a replayed event names the same execution).
    let again = pollster::block_on(decide(&blobs, key)).unwrap();
    assert!(matches!(again, UploadDecision::Start { run_id: r, .. } if r == run_id));
}

#[test]
fn an_invalid_file_is_rejected_with_every_problem() {
    let key = "portfolios/factor/broken.json";
    let (_dir, blobs) = store(&[(key, INVALID)]);
    let UploadDecision::Reject { report_key, report } =
        pollster::block_on(decide(&blobs, key)).unwrap()
    else {
        panic!("an invalid file was admitted");
    };
    assert_eq!(report_key, format!("{key}{REJECTION_SUFFIX}"));
    assert!(report.problems.len() >= 4, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.field.starts_with("positions")),
        "{:?}",
        report.problems
    );
    let json: serde_json::Value = serde_json::from_slice(&report.to_json()).unwrap();
    assert_eq!(json["key"], key);
}

#[test]
fn an_unknown_workflow_is_rejected() {
    let key = "portfolios/credit/book.json";
    let (_dir, blobs) = store(&[(key, BOOK)]);
    let UploadDecision::Reject { report, .. } = pollster::block_on(decide(&blobs, key)).unwrap()
    else {
        panic!("an unknown workflow was admitted");
    };
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].field, "key");
    assert!(report.problems[0].reason.contains("factor"));
}

#[test]
fn reports_and_other_keys_are_ignored() {
    let (_dir, blobs) = store(&[]);
    for key in [
        "portfolios/factor/broken.json.rejected.json",
        "uploads/book.json",
        // Market data beside a portfolio, at any depth below the workflow segment.
        "portfolios/factor/data/ff_factors.csv",
        "portfolios/factor/desk-a/data/ff_factors.csv",
        "portfolios/credit/data/ff_factors.csv",
    ] {
        assert!(matches!(
            pollster::block_on(decide(&blobs, key)).unwrap(),
            UploadDecision::Ignore(_)
        ));
    }
}

/// A file merely *named* like the data folder, or a portfolio in a folder that only
/// starts with "data", is still a portfolio.
#[test]
fn only_a_data_folder_marks_market_data() {
    let (_dir, blobs) = store(&[]);
    for key in [
        "portfolios/factor/data",
        "portfolios/factor/database/book.json",
        "portfolios/factor/data.json",
    ] {
        assert!(
            matches!(
                pollster::block_on(decide(&blobs, key)).unwrap(),
                UploadDecision::Reject { .. }
            ),
            "{key}"
        );
    }
}
