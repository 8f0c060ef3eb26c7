//! The embedded runner: every stage of a workflow in one process, in the order the
//! state machine runs them — partition → partitions (in parallel) → aggregate →
//! personas (each dependency level in parallel) → synthesize. With the disk adapters
//! this is the whole product with no AWS and no network.
//!
//! It is synchronous: stages are driven with `pollster` on the calling thread and on
//! scoped worker threads, which suits the disk adapters (their futures never wait on a
//! reactor). Call it from a blocking context, not from inside an async runtime.
//! Parallelism cannot change a number: every partition is a pure function of its slice,
//! merge takes partials in partition order, and personas read only verified artifacts.

use crate::api::*;
use crate::engine::{team_levels, PersonaRole, WorkflowEngine};
use crate::narrative::Narrator;
use crate::portfolio::parse_portfolio;
use crate::stages;
use crate::storage::{BlobStore, RunStore};
use crate::StageError;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Partitioned {
        run_id: String,
        scenarios: u32,
        partitions: u32,
    },
    PartitionDone {
        partition: u32,
        computed: bool,
    },
    Stage {
        name: String,
    },
}

/// How many worker threads to use: `requested`, or every core when 0.
pub fn worker_count(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Run `job` over `items` on up to `workers` threads. Stops handing out work after the
/// first failure and returns the failure of the lowest-numbered item, so the error a
/// user sees does not depend on thread timing.
fn parallel_each<T: Sync>(
    items: &[T],
    workers: usize,
    job: impl Fn(&T) -> Result<(), StageError> + Sync,
) -> Result<(), StageError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let errors: Mutex<Vec<(usize, StageError)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if let Err(e) = job(item) {
                    failed.store(true, Ordering::Relaxed);
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, e));
                }
            });
        }
    });
    let mut errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    errors.sort_by_key(|(i, _)| *i);
    match errors.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Copy a portfolio file (and its market data) from disk into the blob store under a
/// content-addressed folder, so that keys are stable and a portfolio's relative
/// `market_data` reference resolves exactly as it does in S3. Both files are read with
/// their size checked first.
pub async fn stage_local_inputs<B: BlobStore>(
    blobs: &B,
    portfolio_path: &Path,
    market_data_path: Option<&Path>,
) -> Result<(String, Option<String>), StageError> {
    use crate::market_data::MAX_MARKET_DATA_BYTES;
    use crate::portfolio::MAX_PORTFOLIO_BYTES;
    let bytes = read_local_input(portfolio_path, "portfolio", MAX_PORTFOLIO_BYTES as u64)?;
    let name = portfolio_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "portfolio.json".into());
    let folder = format!("inputs/{}", &stages::sha256_hex(&bytes)[..16]);
    let portfolio_key = format!("{folder}/{name}");
    // Market data: an explicit path wins; otherwise the portfolio's own reference,
    // resolved beside the portfolio file on disk and stored beside it in the store.
    let market = match market_data_path {
        Some(p) => Some((
            p.to_path_buf(),
            format!("{folder}/market/{}", file_name(p)),
            true,
        )),
        None => parse_portfolio(&name, &bytes)
            .ok()
            .and_then(|pf| pf.market_data)
            .map(|rel| {
                let on_disk = portfolio_path.parent().unwrap_or(Path::new(".")).join(&rel);
                (on_disk, stages::sibling_key(&portfolio_key, &rel), false)
            }),
    };
    blobs
        .put(&portfolio_key, bytes, "application/octet-stream")
        .await?;
    let mut explicit_key = None;
    if let Some((path, key, explicit)) = market {
        let data = read_local_input(&path, "market_data", MAX_MARKET_DATA_BYTES as u64)?;
        blobs.put(&key, data, "text/csv").await?;
        if explicit {
            explicit_key = Some(key);
        }
    }
    Ok((portfolio_key, explicit_key))
}

/// Read a local input file through [`crate::input::read_input_file`] (regular files
/// only, size checked before reading), as a NonRetryable stage error.
pub fn read_local_input(path: &Path, field: &str, limit: u64) -> Result<Vec<u8>, StageError> {
    crate::input::read_input_file(path, field, limit)
        .map_err(|i| StageError::invalid(i.to_string()))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "market_data.csv".into())
}

/// Run every stage of one workflow. `workers` bounds the threads used for partitions
/// and for each level of independent personas (0 = every core). Returns the run id.
pub fn run_workflow<E, B, R, N>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    request: &RunRequest,
    workers: usize,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<String, StageError>
where
    E: WorkflowEngine,
    B: BlobStore,
    R: RunStore,
    N: Narrator,
{
    let workers = worker_count(workers);
    let plan = pollster::block_on(stages::partition::<E, B, R>(blobs, runs, request))?;
    on_event(Event::Partitioned {
        run_id: plan.run_id.clone(),
        scenarios: plan.scenario_count,
        partitions: plan.partitions.len() as u32,
    });
    parallel_each(&plan.partitions, workers, |task| {
        let outcome = pollster::block_on(stages::compute_partition::<E, B, R>(blobs, runs, task))?;
        on_event(Event::PartitionDone {
            partition: task.partition,
            computed: outcome.computed,
        });
        Ok(())
    })?;
    let run = RunRef {
        run_id: plan.run_id.clone(),
        workflow: plan.workflow.clone(),
    };
    pollster::block_on(stages::aggregate::<E, B, R>(blobs, runs, &run))?;
    on_event(Event::Stage {
        name: stages::STAGE_AGGREGATE.into(),
    });
    for level in team_levels::<E::Persona>().map_err(StageError::NonRetryable)? {
        parallel_each(&level, workers, |persona| {
            pollster::block_on(stages::persona::<E, B, R>(blobs, runs, *persona, &run))?;
            on_event(Event::Stage {
                name: persona.name().into(),
            });
            Ok(())
        })?;
    }
    pollster::block_on(stages::synthesize::<E, B, R, N>(
        blobs, runs, narrator, &run,
    ))?;
    on_event(Event::Stage {
        name: stages::STAGE_SYNTHESIZE.into(),
    });
    Ok(plan.run_id)
}

/// How many progress steps a run has: partitions, aggregate, each persona, synthesize.
pub fn progress_steps<E: WorkflowEngine>(partitions: u32) -> u64 {
    u64::from(partitions) + 2 + E::Persona::TEAM.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_by_item_order_wins() {
        let items: Vec<u32> = (0..64).collect();
        for workers in [1, 2, 8] {
            let err = parallel_each(&items, workers, |i| match i {
                5 | 40 => Err(StageError::invalid(format!("item {i}"))),
                _ => Ok(()),
            })
            .unwrap_err();
            // Item 5 is handed out before 40, so whenever 40 runs, 5 runs to its error
            // too; the lowest index is reported whatever the timing.
            assert_eq!(err.to_string(), "item 5");
        }
        let done = AtomicUsize::new(0);
        parallel_each(&items, 3, |_| {
            done.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
        assert_eq!(done.into_inner(), 64);
    }
}
