//! Local (embedded) adapters: the blob store and run store on the local disk, so a full
//! run needs no AWS and no network.
//!
//! Every write is atomic (a `tempfile::NamedTempFile` in the same directory, fsync,
//! rename), so a crash never leaves half an artifact. The conditional writes DynamoDB
//! gives us are exclusive creates here (`NamedTempFile::persist_noclobber`), which
//! succeed exactly once.

use crate::storage::*;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

fn io_err(context: &str, path: &Path, e: std::io::Error) -> StoreError {
    match e.kind() {
        ErrorKind::NotFound => StoreError::NotFound(format!("{context} {}", path.display())),
        ErrorKind::Interrupted | ErrorKind::TimedOut | ErrorKind::WouldBlock => {
            StoreError::Transient(format!("{context} {}: {e}", path.display()))
        }
        _ => StoreError::Permanent(format!("{context} {}: {e}", path.display())),
    }
}

/// Marker in every temp file name: `.<name>.tmp-<pid>-<random>`. The random part is
/// tempfile's (alphanumeric, created with `O_EXCL` and retried on a clash), so
/// concurrent writers of one key, in one process or several, never share a temp file;
/// the pid lets [`sweep_orphans`] tell a dead writer's leftovers from a live one's.
/// tempfile's own default names (`.tmpXXXXXX`) would carry neither the target nor the
/// owner, so a sweep could only go by age and would have to guess a safe one.
const TMP_MARK: &str = ".tmp-";

/// Stage `bytes` in a fresh temp file beside `path` (same directory, so the final
/// rename never crosses a filesystem), fsynced, named with [`TMP_MARK`] and our pid.
/// On error the temp file is removed (dropping a `NamedTempFile` deletes it).
fn stage(path: &Path, bytes: &[u8]) -> Result<NamedTempFile, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_err("create directory", dir, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file_name}{TMP_MARK}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).rand_bytes(8);
    // tempfile creates 0600 files; artifacts keep the mode `File::create` gave them
    // (0666 less the umask), so a report stays readable by whoever could read it before.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| io_err("create temp file in", dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| io_err("write", tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_err("sync", tmp.path(), e))?;
    Ok(tmp)
}

/// Write `bytes` to `path` atomically: temp file beside it, fsync, rename
/// (`NamedTempFile::persist`, i.e. `rename(2)`, which replaces the target in one step).
/// A failed write removes its temp file; a killed one leaves it for [`sweep_orphans`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = stage(path, bytes)?;
    // On failure the error carries the temp file back; dropping it removes it.
    tmp.persist(path)
        .map(drop)
        .map_err(|e| io_err("rename", path, e.error))
}

/// Remove temp files left by writers that were killed mid-write: those whose process
/// is gone (Linux: no `/proc/<pid>`), or, where that cannot be checked, older than an
/// hour. Returns how many were removed. Live writers' files are never touched, and
/// only names of our own pattern (`.<name>.tmp-<pid>-<random>`) are considered, so
/// another program's temp files in the output directory are left alone.
pub fn sweep_orphans(root: &Path) -> usize {
    fn owner_is_gone(name: &str, path: &Path) -> bool {
        let pid = name
            .rsplit_once(TMP_MARK)
            .and_then(|(_, rest)| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        let proc_root = Path::new("/proc/self");
        match pid {
            Some(pid) if proc_root.exists() => {
                pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
            }
            _ => fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600),
        }
    }
    fn walk(dir: &Path, removed: &mut usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                walk(&path, removed);
            } else if name.starts_with('.')
                && name.contains(TMP_MARK)
                && owner_is_gone(&name, &path)
                && fs::remove_file(&path).is_ok()
            {
                *removed += 1;
            }
        }
    }
    let mut removed = 0;
    walk(root, &mut removed);
    removed
}

/// Create `path` with `bytes` only if it does not exist. `Ok(false)` if it did.
///
/// The content is staged in an fsynced temp file and moved into place with
/// `NamedTempFile::persist_noclobber`. On Linux (tempfile 3.27) that is
/// `renameat2(RENAME_NOREPLACE)`: one atomic step that fails with `EEXIST` on an
/// existing target, supported by ext4 (this machine's disks), xfs, btrfs and tmpfs.
/// Where the kernel or filesystem lacks it (`ENOSYS`/`EINVAL`, e.g. some network or
/// FUSE filesystems), and on Unixes other than Linux and Apple's, tempfile falls back
/// to `link(2)` + `unlink`: still exclusive (link fails on an existing name) and still
/// atomic for readers (the name appears with the whole content). tempfile's docs call
/// that path "not atomic" only in that a crash between the two calls leaves the temp
/// name linked as well; that leftover carries our pid, so [`sweep_orphans`] removes it
/// like any dead writer's temp file. Both paths give what the hand-rolled
/// link + unlink this replaced gave.
fn create_exclusive(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    let tmp = stage(path, bytes)?;
    // On failure the error carries the temp file back; dropping it removes it.
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err("create exclusively", path, e.error)),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Permanent(format!("corrupt item {}: {e}", path.display()))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path, e)),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("storage records always serialize")
}

/// Blob store rooted at a directory; keys are relative paths.
#[derive(Debug, Clone)]
pub struct DiskBlobStore {
    root: PathBuf,
}

impl DiskBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Keys are S3-style; refuse anything that could escape the root.
    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        if key.is_empty()
            || key.starts_with('/')
            || key.split('/').any(|part| part == ".." || part.is_empty())
        {
            return Err(StoreError::Permanent(format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

impl BlobStore for DiskBlobStore {
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        write_atomic(&self.path_of(key)?, &body)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(key)?;
        fs::read(&path).map_err(|e| io_err("read", &path, e))
    }

    async fn get_limited(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        use std::io::Read;
        let path = self.path_of(key)?;
        let file = fs::File::open(&path).map_err(|e| io_err("read", &path, e))?;
        let meta = file.metadata().map_err(|e| io_err("stat", &path, e))?;
        let too_large = || StoreError::TooLarge {
            key: key.to_owned(),
            limit: max_bytes,
        };
        if !meta.is_file() {
            return Err(StoreError::Permanent(format!(
                "{key} is not a regular file"
            )));
        }
        if meta.len() > max_bytes {
            return Err(too_large());
        }
        // The file may grow after the stat: read at most one byte past the limit.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_err("read", &path, e))?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_large());
        }
        Ok(bytes)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.path_of(key)?.is_file())
    }

    /// Exclusive create: the temp file is linked into place only if the target does
    /// not exist (`persist_noclobber`), so of two racing writers exactly one wins.
    async fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
    ) -> Result<bool, StoreError> {
        let path = self.path_of(key)?;
        if path.is_file() {
            return Ok(false);
        }
        let tmp = stage(&path, &body)?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.error.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_err("create", &path, e.error)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    walk(&path, root, out)?;
                } else if !entry.file_name().to_string_lossy().starts_with('.') {
                    let rel = path.strip_prefix(root).expect("walk stays under root");
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
            Ok(())
        }
        // Walk from the deepest directory the prefix names, then filter by the prefix.
        let dir_part = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let start = self.root.join(dir_part);
        let mut keys = Vec::new();
        match walk(&start, &self.root, &mut keys) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("list", &start, e)),
        }
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }
}

/// Run store on disk: `<root>/<run_id>/meta.json`, `part-<nnnn>.json` (PENDING),
/// `part-<nnnn>.done.json` (DONE marker, created exclusively), `stage-<name>.json`.
#[derive(Debug, Clone)]
pub struct DiskRunStore {
    root: PathBuf,
}

impl DiskRunStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    fn run_dir(&self, run_id: &str) -> Result<PathBuf, StoreError> {
        if run_id.is_empty()
            || !run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(StoreError::Permanent(format!("invalid run id {run_id:?}")));
        }
        Ok(self.root.join(run_id))
    }
    fn stage_file(stage: &str) -> Result<String, StoreError> {
        if stage.is_empty()
            || !stage
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(StoreError::Permanent(format!(
                "invalid stage name {stage:?}"
            )));
        }
        Ok(format!("stage-{stage}.json"))
    }
}

impl RunStore for DiskRunStore {
    async fn create_run(&self, run: &RunRecord) -> Result<Created<RunRecord>, StoreError> {
        let path = self.run_dir(&run.run_id)?.join("meta.json");
        if create_exclusive(&path, &to_json(run))? {
            Ok(Created::New)
        } else {
            let existing = read_json(&path)?
                .ok_or_else(|| StoreError::Transient(format!("run {} vanished", run.run_id)))?;
            Ok(Created::Existing(existing))
        }
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        read_json(&self.run_dir(run_id)?.join("meta.json"))
    }

    async fn set_run_status(
        &self,
        run_id: &str,
        status: RunStatus,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let path = self.run_dir(run_id)?.join("meta.json");
        let mut run: RunRecord =
            read_json(&path)?.ok_or_else(|| StoreError::NotFound(format!("run {run_id}")))?;
        run.status = status;
        run.detail = detail.map(str::to_owned);
        write_atomic(&path, &to_json(&run))
    }

    async fn register_partitions(&self, run_id: &str, count: u32) -> Result<(), StoreError> {
        let dir = self.run_dir(run_id)?;
        for partition in 0..count {
            let pending = PartitionRecord {
                partition,
                status: PartitionStatus::Pending,
                result_key: None,
                result_sha256: None,
                duration_ms: None,
            };
            // Exclusive: an existing item (maybe already DONE) is left alone.
            create_exclusive(
                &dir.join(format!("part-{partition:04}.json")),
                &to_json(&pending),
            )?;
        }
        Ok(())
    }

    async fn complete_partition(
        &self,
        run_id: &str,
        partition: u32,
        result_key: &str,
        result_sha256: &str,
        duration_ms: u64,
    ) -> Result<Completion, StoreError> {
        let dir = self.run_dir(run_id)?;
        if !dir.join(format!("part-{partition:04}.json")).is_file() {
            return Err(StoreError::NotFound(format!(
                "partition {partition} of run {run_id} was never registered"
            )));
        }
        let done = PartitionRecord {
            partition,
            status: PartitionStatus::Done,
            result_key: Some(result_key.to_owned()),
            result_sha256: Some(result_sha256.to_owned()),
            duration_ms: Some(duration_ms),
        };
        if create_exclusive(
            &dir.join(format!("part-{partition:04}.done.json")),
            &to_json(&done),
        )? {
            Ok(Completion::Completed)
        } else {
            Ok(Completion::AlreadyDone)
        }
    }

    async fn partitions(&self, run_id: &str) -> Result<Vec<PartitionRecord>, StoreError> {
        let dir = self.run_dir(run_id)?;
        let mut out = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err("list", &dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.starts_with("part-") && n.ends_with(".json") && !n.ends_with(".done.json")
            })
            .collect();
        names.sort();
        for name in names {
            let pending: PartitionRecord = read_json(&dir.join(&name))?
                .ok_or_else(|| StoreError::Transient(format!("{name} vanished")))?;
            let done_name = name.replace(".json", ".done.json");
            out.push(read_json(&dir.join(done_name))?.unwrap_or(pending));
        }
        Ok(out)
    }

    async fn record_stage(&self, run_id: &str, stage: &StageRecord) -> Result<(), StoreError> {
        let path = self.run_dir(run_id)?.join(Self::stage_file(&stage.stage)?);
        write_atomic(&path, &to_json(stage))
    }

    async fn stages(&self, run_id: &str) -> Result<Vec<StageRecord>, StoreError> {
        let dir = self.run_dir(run_id)?;
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("stage-") && n.ends_with(".json"))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            if let Some(stage) = read_json(&dir.join(name))? {
                out.push(stage);
            }
        }
        Ok(out)
    }

    async fn runs_for_portfolio(&self, portfolio_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &self.root, e)),
        };
        let mut runs = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            if let Some(run) = read_json::<RunRecord>(&entry.path().join("meta.json"))? {
                if run.portfolio_id == portfolio_id {
                    runs.push(run);
                }
            }
        }
        runs.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.run_id.cmp(&a.run_id))
        });
        Ok(runs)
    }
}

/// Assessment audit records live beside the runs, in `<root>/_assessments/<id>.json`
/// (created exclusively: a retry never replaces one). `_` cannot start a run id, so
/// the directory is never taken for a run.
const ASSESSMENTS_DIR: &str = "_assessments";

impl DiskRunStore {
    fn assessment_path(&self, assessment_id: &str) -> Result<PathBuf, StoreError> {
        if !valid_assessment_id(assessment_id) {
            return Err(StoreError::Permanent(format!(
                "invalid assessment id {assessment_id:?}"
            )));
        }
        Ok(self
            .root
            .join(ASSESSMENTS_DIR)
            .join(format!("{assessment_id}.json")))
    }
}

impl AssessmentStore for DiskRunStore {
    async fn put_assessment(
        &self,
        record: &AssessmentRecord,
    ) -> Result<Created<AssessmentRecord>, StoreError> {
        let path = self.assessment_path(&record.assessment_id)?;
        if create_exclusive(&path, &to_json(record))? {
            Ok(Created::New)
        } else {
            let existing = read_json(&path)?.ok_or_else(|| {
                StoreError::Transient(format!("assessment {} vanished", record.assessment_id))
            })?;
            Ok(Created::Existing(existing))
        }
    }

    async fn get_assessment(
        &self,
        assessment_id: &str,
    ) -> Result<Option<AssessmentRecord>, StoreError> {
        read_json(&self.assessment_path(assessment_id)?)
    }

    async fn assessments_for_portfolio(
        &self,
        portfolio_id: &str,
    ) -> Result<Vec<AssessmentRecord>, StoreError> {
        let dir = self.root.join(ASSESSMENTS_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only finished records: temp files of writers in flight end otherwise.
            if !name.ends_with(".json") || name.starts_with('.') {
                continue;
            }
            if let Some(record) = read_json::<AssessmentRecord>(&entry.path())? {
                if record.portfolio_id == portfolio_id {
                    out.push(record);
                }
            }
        }
        out.sort_by(|a, b| {
            b.requested_at
                .cmp(&a.requested_at)
                .then(b.assessment_id.cmp(&a.assessment_id))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::contract;

    #[test]
    fn disk_run_store_honours_the_assessment_contract() {
        let dir = tempfile::tempdir().unwrap();
        pollster::block_on(contract::assessment_store_contract(
            &DiskRunStore::new(dir.path()),
            "t1-",
        ));
    }

    #[test]
    fn assessment_ids_cannot_escape_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskRunStore::new(dir.path());
        for id in ["../x", "a/b", "", "asm.json"] {
            match pollster::block_on(store.get_assessment(id)) {
                Err(StoreError::Permanent(msg)) => assert!(msg.contains("invalid"), "{msg}"),
                other => panic!("{id:?} must be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn disk_blob_store_honours_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        pollster::block_on(contract::blob_store_contract(
            &DiskBlobStore::new(dir.path()),
            "t1",
        ));
    }

    #[test]
    fn disk_run_store_honours_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        pollster::block_on(contract::run_store_contract(
            &DiskRunStore::new(dir.path()),
            "t1-",
        ));
    }

    #[test]
    fn orphaned_temp_files_of_dead_writers_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("runs/r1");
        fs::create_dir_all(&sub).unwrap();
        // pid 0 never names a live writer; our own pid does.
        let dead = sub.join(".model.json.tmp-0-3");
        let live = sub.join(format!(".model.json.tmp-{}-9", std::process::id()));
        let kept = sub.join("model.json");
        for p in [&dead, &live, &kept] {
            fs::write(p, b"{").unwrap();
        }
        assert_eq!(sweep_orphans(dir.path()), 1);
        assert!(!dead.exists() && live.exists() && kept.exists());
    }

    #[test]
    fn concurrent_writers_of_one_key_never_share_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        std::thread::scope(|s| {
            for i in 0..8u8 {
                let path = &path;
                s.spawn(move || write_atomic(path, &[i; 4096]).unwrap());
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert!(bytes.iter().all(|b| *b == bytes[0]), "a torn write");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_killed_writers_temp_file_is_recognised_by_the_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("k.json");
        // A writer killed after staging: its temp file stays on disk.
        let left = stage(&target, b"{")
            .unwrap()
            .into_temp_path()
            .keep()
            .unwrap();
        let name = left.file_name().unwrap().to_string_lossy().into_owned();
        let ours = format!(".k.json{TMP_MARK}{}-", std::process::id());
        assert!(name.starts_with(&ours), "{name}");
        // Its writer (this process) is alive: left alone.
        assert_eq!(sweep_orphans(dir.path()), 0);
        // The same file owned by a process that is gone (pid 0 never names one): swept.
        let dead = dir
            .path()
            .join(name.replace(&ours, &format!(".k.json{TMP_MARK}0-")));
        fs::rename(&left, &dead).unwrap();
        // Someone else's temp files (tempfile's default names, no pid) are not ours.
        let foreign = dir.path().join(".tmpAbC123");
        fs::write(&foreign, b"x").unwrap();
        assert_eq!(sweep_orphans(dir.path()), 1);
        assert_eq!(names_in(dir.path()), [".tmpAbC123"]);
    }

    #[test]
    fn exclusive_create_succeeds_exactly_once_under_contention() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-0000.done.json");
        let wins: Vec<(u8, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || (i, create_exclusive(path, &[i; 4096]).unwrap()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<u8> = wins.iter().filter(|w| w.1).map(|w| w.0).collect();
        assert_eq!(winners.len(), 1, "{wins:?}");
        assert_eq!(fs::read(&path).unwrap(), [winners[0]; 4096]);
        // Losers' temp files are gone too.
        assert_eq!(names_in(dir.path()), ["part-0000.done.json"]);
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // rename(2) cannot replace a non-empty directory.
        let target = dir.path().join("k.json");
        fs::create_dir_all(target.join("inner")).unwrap();
        assert!(write_atomic(&target, b"{}").is_err());
        assert_eq!(names_in(dir.path()), ["k.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn artifacts_keep_the_mode_a_plain_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let atomic = dir.path().join("atomic.json");
        write_atomic(&atomic, b"{}").unwrap();
        let exclusive = dir.path().join("exclusive.json");
        assert!(create_exclusive(&exclusive, b"{}").unwrap());
        assert_eq!(mode(&atomic), mode(&plain));
        assert_eq!(mode(&exclusive), mode(&plain));
    }

    #[test]
    fn blob_keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskBlobStore::new(dir.path());
        for key in ["../x", "/etc/passwd", "a//b", ""] {
            assert!(
                pollster::block_on(store.put(key, vec![], "x")).is_err(),
                "{key}"
            );
        }
    }
}
