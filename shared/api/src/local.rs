//! The local backend: runs execute in this process on the embedded runner
//! (`stresslab_registry::run_local`) against the disk stores, on a fixed pool of
//! background threads; progress is whatever the run store holds, as on AWS.
//!
//! One id, one run: `start_run` decides under one lock, from the set of runs queued or
//! running here and the run store's META item, whether the id is new — so identical
//! requests arriving together start it once.

use crate::assessments::{shared_model, Assessor};
use crate::{store_history, store_view, ApiError, Backend, RunState, RunView, Start};
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use stresslab_assess::model::MarketModel;
use stresslab_core::api::RunRequest;
use stresslab_core::local::{sweep_orphans, DiskBlobStore, DiskRunStore};
use stresslab_core::narrative::TemplateNarrator;
use stresslab_core::storage::{RunStatus, RunStore};
use stresslab_registry as registry;

/// How many runs execute at once, and how many threads each uses for its partitions.
#[derive(Debug, Clone, Copy)]
pub struct LocalOptions {
    pub concurrent_runs: usize,
    /// 0 = every core (the runner's convention).
    pub workers_per_run: usize,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            concurrent_runs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            workers_per_run: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Running,
}

struct Active {
    request: RunRequest,
    phase: Phase,
}

#[derive(Default)]
struct Book {
    /// Runs queued or running in this process.
    active: HashMap<String, Active>,
    /// Runs that failed before their first stage recorded them (so the run store cannot
    /// say so): the reason.
    failed_early: HashMap<String, (RunRequest, String)>,
    /// Every run id this server accepted or was asked for, oldest first.
    recent: Vec<String>,
}

struct Inner {
    blobs: DiskBlobStore,
    runs: DiskRunStore,
    book: Mutex<Book>,
    workers_per_run: usize,
}

struct Job {
    run_id: String,
    request: RunRequest,
}

/// `stresslab serve`'s backend: `<dir>/store` (artifacts) and `<dir>/runstore`
/// (bookkeeping), the layout `stresslab run --out` uses.
pub struct LocalBackend {
    inner: Arc<Inner>,
    queue: Mutex<mpsc::Sender<Job>>,
    /// The assessments' market model: the calibrated one unless a test gives its own.
    market_model: Option<Arc<MarketModel>>,
}

impl LocalBackend {
    pub fn new(dir: &Path, options: LocalOptions) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        // A process killed mid-write leaves temp files; they are never read.
        sweep_orphans(dir);
        let inner = Arc::new(Inner {
            blobs: DiskBlobStore::new(dir.join("store")),
            runs: DiskRunStore::new(dir.join("runstore")),
            book: Mutex::new(Book::default()),
            workers_per_run: options.workers_per_run,
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..options.concurrent_runs.max(1) {
            let inner = Arc::clone(&inner);
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("stresslab-run-{i}"))
                .spawn(move || loop {
                    // The lock is held only to take a job; the sender's drop ends the loop.
                    let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => break,
                    };
                    execute(&inner, job);
                })?;
        }
        Ok(LocalBackend {
            inner,
            queue: Mutex::new(tx),
            market_model: None,
        })
    }

    /// Assess on `model` instead of the calibrated market model.
    pub fn with_market_model(mut self, model: Arc<MarketModel>) -> Self {
        self.market_model = Some(model);
        self
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.inner.book.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Assessments are stored in the run store, beside the runs (`runstore/_assessments/`).
impl Assessor for LocalBackend {
    type Store = DiskRunStore;
    fn assessment_store(&self) -> &DiskRunStore {
        &self.inner.runs
    }
    fn market_model(&self) -> Result<Arc<MarketModel>, String> {
        match &self.market_model {
            Some(m) => Ok(Arc::clone(m)),
            None => shared_model(),
        }
    }
}

fn execute(inner: &Inner, job: Job) {
    let Job { run_id, request } = job;
    let request_copy = request.clone();
    if let Some(a) = inner
        .book
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .active
        .get_mut(&run_id)
    {
        a.phase = Phase::Running;
    }
    tracing::info!(run_id, "run started");
    let outcome = registry::run_local(
        &inner.blobs,
        &inner.runs,
        &TemplateNarrator,
        &request,
        inner.workers_per_run,
        &|_| {},
    );
    let failure = match outcome {
        Ok(id) if id == run_id => None,
        // The API derived the id the partition stage derives; a difference is a bug
        // in one of them, and the run must not pass as the one the caller was given.
        Ok(id) => Some(format!(
            "the runner derived run id {id}, the API {run_id}: the two derivations disagree"
        )),
        Err(e) => Some(e.to_string()),
    };
    let mut book = inner.book.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(reason) = failure {
        tracing::warn!(run_id, reason, "run failed");
        // The state machine's MarkRunFailed, locally. Before partition recorded the
        // run there is no META item to mark; remember the reason here instead.
        let marked = pollster::block_on(async {
            match inner.runs.get_run(&run_id).await {
                Ok(Some(_)) => inner
                    .runs
                    .set_run_status(&run_id, RunStatus::Failed, Some(&reason))
                    .await
                    .is_ok(),
                _ => false,
            }
        });
        if !marked {
            book.failed_early
                .insert(run_id.clone(), (request_copy, reason));
        }
    } else {
        tracing::info!(run_id, "run succeeded");
    }
    book.active.remove(&run_id);
}

impl Backend for LocalBackend {
    type Blobs = DiskBlobStore;

    fn blobs(&self) -> &DiskBlobStore {
        &self.inner.blobs
    }

    async fn start_run(&self, run_id: &str, request: RunRequest) -> Result<Start, ApiError> {
        let mut book = self.book();
        if !book.recent.iter().any(|r| r == run_id) {
            book.recent.push(run_id.to_owned());
        }
        if book.active.contains_key(run_id) {
            return Ok(Start::Existing);
        }
        // Decided under the lock, so a run finishing (and leaving `active`) between a
        // check and the insert cannot let a duplicate through. The disk store's futures
        // never wait, so blocking on one here is a file read.
        let stored = pollster::block_on(self.inner.runs.get_run(run_id))?;
        if stored.is_some_and(|r| r.status != RunStatus::Failed) {
            return Ok(Start::Existing);
        }
        book.failed_early.remove(run_id);
        book.active.insert(
            run_id.to_owned(),
            Active {
                request: request.clone(),
                phase: Phase::Queued,
            },
        );
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Job {
                run_id: run_id.to_owned(),
                request,
            });
        if sent.is_err() {
            book.active.remove(run_id);
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "",
                "the run executor has stopped",
            ));
        }
        Ok(Start::Started)
    }

    async fn status(&self, run_id: &str) -> Result<Option<RunView>, ApiError> {
        let (queued, failed_early) = {
            let book = self.book();
            (
                book.active
                    .get(run_id)
                    .map(|a| (a.request.clone(), a.phase)),
                book.failed_early.get(run_id).cloned(),
            )
        };
        if let Some(mut view) = store_view(&self.inner.runs, run_id).await? {
            // A FAILED run that is being rerun is running again, whatever its META
            // says until partition resets it.
            if view.status == RunState::Failed && queued.is_some() {
                view.status = RunState::Queued;
                view.detail = None;
            }
            return Ok(Some(view));
        }
        Ok(match (queued, failed_early) {
            (Some((request, phase)), _) => {
                let mut view = RunView::queued(run_id, &request);
                if phase == Phase::Running {
                    view.status = RunState::Running;
                }
                Some(view)
            }
            (None, Some((request, reason))) => {
                let mut view = RunView::queued(run_id, &request);
                view.status = RunState::Failed;
                view.detail = Some(reason);
                Some(view)
            }
            (None, None) => None,
        })
    }

    async fn report_link(&self, run_id: &str) -> Result<String, ApiError> {
        // Served by this server (GET /runs/{id}/files/{file}); relative, so it is
        // right whatever host name or port the caller reached us by.
        Ok(format!("/runs/{run_id}/files/report.html"))
    }

    async fn history(&self, portfolio_id: &str) -> Result<Vec<RunView>, ApiError> {
        Ok(store_history(&self.inner.runs, portfolio_id).await?)
    }

    async fn recent(&self) -> Result<Vec<RunView>, ApiError> {
        let ids: Vec<String> = self.book().recent.iter().rev().cloned().collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(view) = self.status(&id).await? {
                out.push(view);
            }
        }
        Ok(out)
    }
}
