//! `scenario-refresh` Lambda: the monthly scenario-library refresh. EventBridge
//! Scheduler invokes it on the 1st of each month; it re-estimates every workflow's
//! market models from the objects under `market-data/` in the artifact bucket and
//! stores them as a versioned library under `libraries/<version>/` — or, when that
//! version (same month, data and engines) already exists, finds it and writes nothing,
//! so a retried or replayed invocation never makes a second version.
//!
//! All the work is [`stresslab_registry::refresh_library`], the code `stresslab refresh`
//! runs locally against the disk store.

use lambda_runtime::{Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use stresslab_core::library::{self, Month};
use stresslab_core::StageError;

/// Where the refresh reads its market data.
const MARKET_DATA_PREFIX: &str = "market-data/";

/// The schedule's input. The month is the scheduled invocation's own
/// (`<aws.scheduler.scheduled-time>`), not the clock's, so a retry of one invocation
/// refreshes the same month; `month` overrides it for a manual backfill.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshEvent {
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    scheduled_time: Option<String>,
}

#[derive(Debug, Serialize)]
struct RefreshResult {
    version: String,
    month: String,
    created: bool,
    sections: Vec<String>,
}

fn month_of(event: &RefreshEvent) -> Result<Month, StageError> {
    let text = match (&event.month, &event.scheduled_time) {
        (Some(m), _) => m.as_str(),
        // RFC 3339, `2026-12-01T06:00:00Z`: its first seven characters are the month.
        (None, Some(t)) => t.get(..7).unwrap_or(t),
        (None, None) => {
            return Err(StageError::invalid(
                "month: the event names neither month (YYYY-MM) nor scheduled_time",
            ))
        }
    };
    Month::parse(text).map_err(|r| StageError::invalid(r.to_string()))
}

async fn handle<B: stresslab_core::storage::BlobStore>(
    blobs: &B,
    event: RefreshEvent,
) -> Result<RefreshResult, StageError> {
    let month = month_of(&event)?;
    let market = library::read_market_prefix(blobs, MARKET_DATA_PREFIX).await?;
    let outcome = stresslab_registry::refresh_library(blobs, &month, &market).await?;
    tracing::info!(
        version = %outcome.manifest.version,
        created = outcome.created,
        "scenario library refresh"
    );
    Ok(RefreshResult {
        version: outcome.manifest.version.to_string(),
        month: outcome.manifest.month.to_string(),
        created: outcome.created,
        sections: outcome
            .manifest
            .sections
            .iter()
            .map(|s| s.key.clone())
            .collect(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    stresslab_aws::lambda::init_tracing();
    // Only the bucket: the refresh keeps no run bookkeeping.
    let bucket = std::env::var(stresslab_aws::config::BUCKET_ENV).map_err(|_| {
        format!(
            "{} is not set: the artifact bucket name",
            stresslab_aws::config::BUCKET_ENV
        )
    })?;
    let sdk = stresslab_aws::load_sdk_config().await;
    let blobs: &'static _ = Box::leak(Box::new(stresslab_aws::S3BlobStore::new(
        stresslab_aws::config::s3_client(&sdk),
        bucket,
    )));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<RefreshEvent>| async move {
            handle(blobs, event.payload)
                .await
                .map_err(stresslab_aws::lambda::LambdaFailure)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use stresslab_core::local::DiskBlobStore;
    use stresslab_core::storage::BlobStore;

    /// The sample event `cargo lambda invoke --data-file` uses (what the schedule sends).
    const SAMPLE_EVENT: &str = include_str!("../../../events/scenario-refresh.json");

    #[test]
    fn the_month_is_the_scheduled_invocations_own() {
        let event: RefreshEvent = serde_json::from_str(SAMPLE_EVENT).unwrap();
        assert_eq!(month_of(&event).unwrap().as_str(), "2026-12");
        let manual = RefreshEvent {
            month: Some("2025-03".into()),
            scheduled_time: Some("2026-12-01T06:00:00Z".into()),
        };
        assert_eq!(month_of(&manual).unwrap().as_str(), "2025-03");
        let none = RefreshEvent {
            month: None,
            scheduled_time: None,
        };
        assert!(month_of(&none).unwrap_err().to_string().contains("month"));
        let bad = RefreshEvent {
            month: Some("December".into()),
            scheduled_time: None,
        };
        assert!(month_of(&bad).unwrap_err().to_string().contains("--month"));
    }

    /// The handler over a blob store holding `market-data/` (the disk adapter; the S3
    /// one passes the same storage contract): a new version, then the same one again
    /// with nothing written.
    #[test]
    fn the_handler_refreshes_from_market_data_and_a_replay_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DiskBlobStore::new(dir.path());
        let inputs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/inputs");
        pollster::block_on(async {
            for e in std::fs::read_dir(inputs).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                blobs
                    .put(
                        &format!("{MARKET_DATA_PREFIX}{name}"),
                        std::fs::read(&p).unwrap(),
                        "text/csv",
                    )
                    .await
                    .unwrap();
            }
            // Not the prefix's own file: ignored.
            blobs
                .put("market-data/archive/old.csv", b"x".to_vec(), "text/csv")
                .await
                .unwrap();
            let event: RefreshEvent = serde_json::from_str(SAMPLE_EVENT).unwrap();
            let first = handle(&blobs, event.clone()).await.unwrap();
            assert!(first.created);
            assert!(first.version.starts_with("2026-12-"));
            assert!(first
                .sections
                .contains(&format!("libraries/{}/hedging.json", first.version)));
            let keys = blobs.list("libraries/").await.unwrap();
            let again = handle(&blobs, event).await.unwrap();
            assert!(!again.created);
            assert_eq!(again.version, first.version);
            assert_eq!(blobs.list("libraries/").await.unwrap(), keys);
        });
    }
}
