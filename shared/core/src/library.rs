//! Versioned scenario libraries: the market models the workflows estimate from market
//! data (the hedging calibration, the factor covariances, the liquidity anchors),
//! estimated once a month and stored so a run can *pin* them instead of re-estimating.
//!
//! Layout in the blob store: `libraries/<version>/<workflow>.json` (one section per
//! workflow, each its engine's [`WorkflowEngine::Library`] as JSON) and
//! `libraries/<version>/manifest.json`, written last, so its presence means every
//! section it names is there. The version is derived from the content —
//! `<YYYY-MM>-<first 12 hex of SHA-256 over the month, every input file's name and
//! digest, and every workflow's engine version>` — so refreshing the same month with
//! the same data and code finds the same version and writes nothing, and different
//! data or numerics give a new one. Every write is [`BlobStore::put_if_absent`]: a
//! version, once written, is never overwritten, so earlier versions stay readable.
//!
//! A run reads a section back only through its digest in the manifest: a section that
//! was altered is refused, never silently used.

use crate::engine::WorkflowEngine;
use crate::portfolio::{Issue, Rejection};
use crate::stages::sha256_hex;
use crate::storage::{BlobStore, StoreError};
use crate::StageError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

pub const LIBRARY_PREFIX: &str = "libraries";
/// Format of the library (layout, manifest, version derivation); hashed into the
/// version, so a format change never reuses an old version's name.
pub const LIBRARY_FORMAT: &str = "stresslab-library-v1";
/// Largest market-data file a refresh reads (the bundled daily histories are ~350 KB).
pub const MAX_LIBRARY_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest library section a run reads back.
pub const MAX_SECTION_BYTES: u64 = 64 * 1024 * 1024;
/// Hex digits of the content digest in a version name: 48 bits, ample for a few
/// hundred monthly versions while staying readable in a CLI flag.
const VERSION_DIGEST_HEX: usize = 12;

fn issue(path: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        issues: vec![Issue {
            path: path.into(),
            reason: reason.into(),
        }],
    }
}

/// A calendar month, `YYYY-MM`: the month a library refresh is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month(String);

impl Month {
    pub fn parse(s: &str) -> Result<Month, Rejection> {
        let bad = || issue("month (--month)", format!("must be YYYY-MM, got {s:?}"));
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Month {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Month::parse(&s).map_err(|r| r.to_string())
    }
}
impl From<Month> for String {
    fn from(m: Month) -> String {
        m.0
    }
}
impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A library version, `YYYY-MM-<12 hex>`. Checked before it is used in a key, so a
/// request's `library_version` can never reach outside `libraries/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LibraryVersion(String);

impl LibraryVersion {
    pub fn parse(s: &str) -> Result<LibraryVersion, Rejection> {
        let bad = || {
            issue(
                "library_version (--library)",
                format!("must look like 2026-12-0123456789ab (month, '-', {VERSION_DIGEST_HEX} lowercase hex digits), got {s:?}"),
            )
        };
        if s.len() != 8 + VERSION_DIGEST_HEX {
            return Err(bad());
        }
        let (month, digest) = s.split_at(7);
        Month::parse(month).map_err(|_| bad())?;
        let digest = digest.strip_prefix('-').ok_or_else(bad)?;
        if !digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        Ok(LibraryVersion(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LibraryVersion {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        LibraryVersion::parse(&s).map_err(|r| r.to_string())
    }
}
impl From<LibraryVersion> for String {
    fn from(v: LibraryVersion) -> String {
        v.0
    }
}
impl fmt::Display for LibraryVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The market data a refresh estimates from: files by name (`market-data/<name>` in
/// S3, `<dir>/<name>` locally). Each workflow picks the files it needs by name.
#[derive(Debug, Clone, Default)]
pub struct MarketDataSet {
    files: BTreeMap<String, Vec<u8>>,
}

impl MarketDataSet {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(name.into(), bytes);
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
    /// The file of `stem` with the latest history: among `<stem>.csv` and
    /// `<stem>_<first year>_<last year>.csv`, the one whose last year is latest (a
    /// name without years counts as current), the longest history among those. So
    /// `moodys_aaa_baa_monthly_1919_2018.csv` is preferred to `…_2006_2010.csv`, and a
    /// refreshed `…_1919_2026.csv` to both. A missing one is refused, naming the
    /// pattern.
    pub fn latest(&self, stem: &str) -> Result<(&str, &str), Rejection> {
        let years = |name: &str| -> Option<(u32, u32)> {
            let rest = name.strip_prefix(stem)?.strip_suffix(".csv")?;
            if rest.is_empty() {
                return Some((u32::MAX, 0));
            }
            let (first, last) = rest.strip_prefix('_')?.split_once('_')?;
            let year = |y: &str| (y.len() == 4).then(|| y.parse::<u32>().ok()).flatten();
            Some((year(last)?, year(first)?))
        };
        let (name, bytes) = self
            .files
            .iter()
            .filter_map(|(n, b)| years(n).map(|y| (y, n, b)))
            // Latest last year, then earliest first year (longest history).
            .max_by_key(|((last, first), _, _)| (*last, std::cmp::Reverse(*first)))
            .map(|(_, n, b)| (n, b))
            .ok_or_else(|| {
                issue(
                    "market_data",
                    format!(
                        "no {stem}.csv or {stem}_<first year>_<last year>.csv in the market data (it has: {})",
                        self.files.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
        let text = std::str::from_utf8(bytes)
            .map_err(|e| issue(&format!("market_data/{name}"), format!("is not UTF-8: {e}")))?;
        Ok((name, text))
    }
    /// Every input file's name and SHA-256, by name.
    pub fn digests(&self) -> Vec<InputDigest> {
        self.files
            .iter()
            .map(|(name, bytes)| InputDigest {
                name: name.clone(),
                sha256: sha256_hex(bytes),
                bytes: bytes.len() as u64,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputDigest {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// One workflow's section of a library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionEntry {
    pub workflow: String,
    pub engine_version: String,
    pub key: String,
    pub sha256: String,
}

/// `libraries/<version>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryManifest {
    pub format: String,
    pub version: LibraryVersion,
    pub month: Month,
    pub inputs: Vec<InputDigest>,
    /// Every workflow's engine version when the library was built (hashed into the
    /// version), by workflow name.
    pub engines: BTreeMap<String, String>,
    pub sections: Vec<SectionEntry>,
    pub created_at: String,
}

pub fn manifest_key(version: &LibraryVersion) -> String {
    format!("{LIBRARY_PREFIX}/{version}/manifest.json")
}
pub fn section_key(version: &LibraryVersion, workflow: &str) -> String {
    format!("{LIBRARY_PREFIX}/{version}/{workflow}.json")
}

/// The version a refresh of `month` from `inputs` with these engines gets: nothing
/// else goes in, so the same month, data and code always give the same version.
pub fn library_version(
    month: &Month,
    inputs: &[InputDigest],
    engines: &BTreeMap<String, String>,
) -> LibraryVersion {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        // Length-prefixed, so no two field lists hash alike.
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(LIBRARY_FORMAT.as_bytes());
    field(month.as_str().as_bytes());
    for i in inputs {
        field(i.name.as_bytes());
        field(i.sha256.as_bytes());
    }
    for (workflow, engine) in engines {
        field(workflow.as_bytes());
        field(engine.as_bytes());
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    LibraryVersion(format!("{month}-{}", &digest[..VERSION_DIGEST_HEX]))
}

/// The `Library` of a workflow that does not (yet) pin any market model: uninhabited,
/// so no section of it can exist, be written or be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoLibrary {}

/// A section as its workflow produced it, serialised.
pub struct BuiltSection {
    pub workflow: String,
    pub engine_version: String,
    pub bytes: Vec<u8>,
}

/// Serialise one engine's refreshed library section (`None` if it has none).
pub fn build_section<E: WorkflowEngine>(
    set: &MarketDataSet,
) -> Result<Option<BuiltSection>, Rejection> {
    let Some(library) = E::refresh(set)? else {
        return Ok(None);
    };
    let bytes = serde_json::to_vec(&library)
        .map_err(|e| issue(E::NAME, format!("library section does not serialise: {e}")))?;
    Ok(Some(BuiltSection {
        workflow: E::NAME.into(),
        engine_version: E::ENGINE_VERSION.into(),
        bytes,
    }))
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshOutcome {
    pub manifest: LibraryManifest,
    /// False when the version already existed: nothing was estimated or written.
    pub created: bool,
}

/// Refresh a library: derive the version, and if it is already stored return it
/// untouched (no estimation, no write); otherwise estimate every section with `build`
/// (the registry calls each engine's `refresh`), write the sections and then the
/// manifest, each only if absent.
pub async fn refresh<B: BlobStore>(
    blobs: &B,
    month: &Month,
    set: &MarketDataSet,
    engines: BTreeMap<String, String>,
    build: impl FnOnce(&MarketDataSet) -> Result<Vec<BuiltSection>, Rejection>,
) -> Result<RefreshOutcome, StageError> {
    if set.is_empty() {
        return Err(StageError::invalid(
            issue("market_data", "no market-data files to estimate from").to_string(),
        ));
    }
    let inputs = set.digests();
    let version = library_version(month, &inputs, &engines);
    if let Some(manifest) = read_manifest(blobs, &version).await? {
        return Ok(RefreshOutcome {
            manifest,
            created: false,
        });
    }
    let built = build(set).map_err(|r| StageError::invalid(r.to_string()))?;
    let mut sections = Vec::with_capacity(built.len());
    for s in built {
        let key = section_key(&version, &s.workflow);
        let sha256 = sha256_hex(&s.bytes);
        // A section left by an interrupted refresh of this version has the same bytes
        // (same inputs, same code); one that differs means estimation is not
        // deterministic, and the version would not identify its content.
        if !blobs
            .put_if_absent(&key, s.bytes, "application/json")
            .await?
        {
            let stored = blobs.get_limited(&key, MAX_SECTION_BYTES).await?;
            if sha256_hex(&stored) != sha256 {
                return Err(StageError::NonRetryable(format!(
                    "{key} exists with different content than this refresh estimated: the {} estimation is not deterministic",
                    s.workflow
                )));
            }
        }
        sections.push(SectionEntry {
            workflow: s.workflow,
            engine_version: s.engine_version,
            key,
            sha256,
        });
    }
    let manifest = LibraryManifest {
        format: LIBRARY_FORMAT.into(),
        version: version.clone(),
        month: month.clone(),
        inputs,
        engines,
        sections,
        created_at: crate::stages::now_rfc3339(),
    };
    let bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| StageError::NonRetryable(format!("serialise library manifest: {e}")))?;
    let created = blobs
        .put_if_absent(&manifest_key(&version), bytes, "application/json")
        .await?;
    if !created {
        // A concurrent refresh of the same version won the race: its manifest stands.
        let stored = read_manifest(blobs, &version).await?.ok_or_else(|| {
            StageError::Retryable(format!("{}: not readable yet", manifest_key(&version)))
        })?;
        return Ok(RefreshOutcome {
            manifest: stored,
            created: false,
        });
    }
    Ok(RefreshOutcome {
        manifest,
        created: true,
    })
}

/// Market data stored in a blob store: every object directly under `prefix` (e.g.
/// `market-data/`), by its name after the prefix, each size-capped before it is read.
/// What the scenario-refresh Lambda estimates from.
pub async fn read_market_prefix<B: BlobStore>(
    blobs: &B,
    prefix: &str,
) -> Result<MarketDataSet, StageError> {
    let mut set = MarketDataSet::new();
    for key in blobs.list(prefix).await? {
        let Some(name) = key.strip_prefix(prefix) else {
            continue;
        };
        // Only the prefix's own files: "folders" below it are other data.
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        let bytes = blobs
            .get_limited(&key, MAX_LIBRARY_INPUT_BYTES)
            .await
            .map_err(|e| match e {
                StoreError::TooLarge { .. } => StageError::invalid(
                    issue(&format!("market_data/{name}"), e.to_string()).to_string(),
                ),
                other => other.into(),
            })?;
        set.insert(name, bytes);
    }
    Ok(set)
}

/// The manifest of `version`, or `None` if there is no such library.
pub async fn read_manifest<B: BlobStore>(
    blobs: &B,
    version: &LibraryVersion,
) -> Result<Option<LibraryManifest>, StageError> {
    let key = manifest_key(version);
    let bytes = match blobs.get_limited(&key, MAX_SECTION_BYTES).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest: LibraryManifest = serde_json::from_slice(&bytes)
        .map_err(|e| StageError::NonRetryable(format!("{key} is not a library manifest: {e}")))?;
    if &manifest.version != version {
        return Err(StageError::NonRetryable(format!(
            "{key} names version {}, not {version}",
            manifest.version
        )));
    }
    Ok(Some(manifest))
}

/// Every stored library version, oldest month first.
pub async fn list_versions<B: BlobStore>(blobs: &B) -> Result<Vec<LibraryVersion>, StageError> {
    let keys = blobs.list(&format!("{LIBRARY_PREFIX}/")).await?;
    Ok(keys
        .iter()
        .filter_map(|k| k.strip_suffix("/manifest.json"))
        .filter_map(|k| k.strip_prefix(&format!("{LIBRARY_PREFIX}/")))
        .filter_map(|v| LibraryVersion::parse(v).ok())
        .collect())
}

/// The library section a pinned run of `E` uses. An unknown version, or a library
/// without this workflow's section, is a rejection naming `library_version`; a section
/// that no longer matches its manifest digest is refused as damaged.
pub async fn load_section<E: WorkflowEngine, B: BlobStore>(
    blobs: &B,
    version: &LibraryVersion,
) -> Result<E::Library, StageError> {
    let reject = |reason: String| {
        StageError::invalid(issue("library_version (--library)", reason).to_string())
    };
    let manifest = read_manifest(blobs, version).await?.ok_or_else(|| {
        reject(format!(
            "no scenario library {version} (no {})",
            manifest_key(version)
        ))
    })?;
    let entry = manifest
        .sections
        .iter()
        .find(|s| s.workflow == E::NAME)
        .ok_or_else(|| reject(format!("library {version} has no {} section", E::NAME)))?;
    // The section's numbers are only meaningful to the numerics that wrote it.
    if entry.engine_version != E::ENGINE_VERSION {
        return Err(reject(format!(
            "library {version} was built by {} and this build runs {}: refresh a library for this engine",
            entry.engine_version,
            E::ENGINE_VERSION
        )));
    }
    let bytes = blobs
        .get_limited(&entry.key, MAX_SECTION_BYTES)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => reject(format!("{} is missing", entry.key)),
            other => other.into(),
        })?;
    if sha256_hex(&bytes) != entry.sha256 {
        return Err(StageError::NonRetryable(format!(
            "{} does not match the digest in its library manifest: the library is damaged",
            entry.key
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        StageError::NonRetryable(format!(
            "{} is not a {} library section: {e}",
            entry.key,
            E::NAME
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_versions_are_checked_before_they_reach_a_key() {
        assert!(Month::parse("2026-12").is_ok());
        for bad in ["2026-13", "2026-00", "26-12", "2026/12", "2026-1", ""] {
            let r = Month::parse(bad).unwrap_err();
            assert!(r.to_string().contains("--month"), "{r}");
        }
        assert!(LibraryVersion::parse("2026-12-0123456789ab").is_ok());
        for bad in [
            "2026-12-0123456789AB",
            "2026-12-../../runs/x",
            "2026-12-0123456789a",
            "2026-13-0123456789ab",
            "2026-12_0123456789ab",
        ] {
            let r = LibraryVersion::parse(bad).unwrap_err();
            assert!(r.to_string().contains("library_version"), "{r}");
        }
    }

    #[test]
    fn the_version_moves_with_month_data_and_engines_only() {
        let month = Month::parse("2026-12").unwrap();
        let mut set = MarketDataSet::new();
        set.insert("a.csv", b"x,1\n".to_vec());
        let engines: BTreeMap<String, String> = [("w".to_string(), "w/1".to_string())].into();
        let v = library_version(&month, &set.digests(), &engines);
        assert!(v.as_str().starts_with("2026-12-"));
        assert!(LibraryVersion::parse(v.as_str()).is_ok());
        assert_eq!(v, library_version(&month, &set.digests(), &engines));
        let other_month = Month::parse("2027-01").unwrap();
        assert_ne!(v, library_version(&other_month, &set.digests(), &engines));
        let bumped: BTreeMap<String, String> = [("w".to_string(), "w/2".to_string())].into();
        assert_ne!(v, library_version(&month, &set.digests(), &bumped));
        set.insert("a.csv", b"x,2\n".to_vec());
        assert_ne!(v, library_version(&month, &set.digests(), &engines));
    }

    #[test]
    fn the_latest_file_of_a_stem_is_picked_and_a_missing_one_named() {
        let mut set = MarketDataSet::new();
        set.insert("moodys_aaa_baa_monthly_1919_2018.csv", b"a".to_vec());
        set.insert("moodys_aaa_baa_monthly_2006_2010.csv", b"b".to_vec());
        set.insert("moodys_aaa_baa_monthly_notes.txt", b"c".to_vec());
        set.insert("moodys_aaa_baa_monthly_1930_2018.csv", b"d".to_vec());
        assert_eq!(
            set.latest("moodys_aaa_baa_monthly").unwrap().0,
            "moodys_aaa_baa_monthly_1919_2018.csv"
        );
        set.insert("moodys_aaa_baa_monthly_2000_2026.csv", b"e".to_vec());
        assert_eq!(
            set.latest("moodys_aaa_baa_monthly").unwrap().1,
            "e",
            "the latest last year wins"
        );
        set.insert("moodys_aaa_baa_monthly.csv", b"f".to_vec());
        assert_eq!(set.latest("moodys_aaa_baa_monthly").unwrap().1, "f");
        let r = set.latest("sp500_index_daily").unwrap_err();
        assert!(r.to_string().contains("sp500_index_daily.csv"), "{r}");
    }
}
