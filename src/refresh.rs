//! `stresslab refresh`: the monthly scenario-library refresh, run locally against a
//! disk blob store — the same code the scenario-refresh Lambda runs against S3.

use std::path::Path;
use stresslab_core::library::{
    self, MarketDataSet, Month, RefreshOutcome, MAX_LIBRARY_INPUT_BYTES,
};
use stresslab_core::local::DiskBlobStore;
use stresslab_core::portfolio::{Issue, Rejection};
use stresslab_core::storage::BlobStore;
use stresslab_core::StageError;

fn invalid(path: &str, reason: String) -> StageError {
    StageError::invalid(
        Rejection {
            issues: vec![Issue {
                path: path.into(),
                reason,
            }],
        }
        .to_string(),
    )
}

/// Every regular file directly in `dir` (not recursive; hidden files skipped), by
/// name, each size-capped before it is read.
pub fn read_market_dir(dir: &Path) -> Result<MarketDataSet, StageError> {
    let field = "--market-data";
    let entries =
        std::fs::read_dir(dir).map_err(|e| invalid(field, format!("{}: {e}", dir.display())))?;
    let mut set = MarketDataSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| invalid(field, format!("{}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry
            .metadata()
            .map_err(|e| invalid(field, format!("{name}: {e}")))?;
        if name.starts_with('.') || !meta.is_file() {
            continue;
        }
        if meta.len() > MAX_LIBRARY_INPUT_BYTES {
            return Err(invalid(
                field,
                format!("{name} is larger than the limit of {MAX_LIBRARY_INPUT_BYTES} bytes"),
            ));
        }
        let bytes =
            std::fs::read(entry.path()).map_err(|e| invalid(field, format!("{name}: {e}")))?;
        set.insert(name, bytes);
    }
    Ok(set)
}

pub fn refresh(market_dir: &Path, month: &str, store: &Path) -> Result<RefreshOutcome, StageError> {
    let month = Month::parse(month).map_err(|r| StageError::invalid(r.to_string()))?;
    let set = read_market_dir(market_dir)?;
    let blobs = DiskBlobStore::new(store);
    pollster::block_on(stresslab_registry::refresh_library(&blobs, &month, &set))
}

/// Copy a library version, verbatim, from the store it was refreshed into to a run's
/// store (write-if-absent), so the run reads it where the Lambdas would: beside the
/// run, in the one bucket. An unknown version is left for the run to refuse by name.
pub fn copy_library(from: &Path, to: &DiskBlobStore, version: &str) -> Result<(), StageError> {
    let Ok(version) = library::LibraryVersion::parse(version) else {
        return Ok(());
    };
    let source = DiskBlobStore::new(from);
    pollster::block_on(async {
        let Some(manifest) = library::read_manifest(&source, &version).await? else {
            return Ok(());
        };
        for section in &manifest.sections {
            let bytes = source.get(&section.key).await?;
            to.put_if_absent(&section.key, bytes, "application/json")
                .await?;
        }
        let key = library::manifest_key(&version);
        let bytes = source.get(&key).await?;
        to.put_if_absent(&key, bytes, "application/json").await?;
        Ok(())
    })
}
