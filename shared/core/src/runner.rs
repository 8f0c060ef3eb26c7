//! The embedded runner: every stage of a workflow in one process, in the order the
//! state machine runs them (partition → each partition → aggregate → personas →
//! synthesize). With the disk adapters this is the whole product with no AWS and no
//! network; with any other adapters it is a faithful single-process replay.

use crate::api::*;
use crate::narrative::Narrator;
use crate::portfolio::parse_portfolio;
use crate::stages;
use crate::storage::{BlobStore, RunStore};
use crate::StageError;
use sha2::{Digest, Sha256};
use std::path::Path;

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

/// Copy a portfolio file (and its market data) from disk into the blob store under a
/// content-addressed folder, so that keys are stable and a portfolio's relative
/// `market_data` reference resolves exactly as it does in S3.
pub async fn stage_local_inputs<B: BlobStore>(
    blobs: &B,
    portfolio_path: &Path,
    market_data_path: Option<&Path>,
) -> Result<(String, Option<String>), StageError> {
    let read = |p: &Path| {
        std::fs::read(p)
            .map_err(|e| StageError::invalid(format!("{}: cannot read: {e}", p.display())))
    };
    let bytes = read(portfolio_path)?;
    let name = portfolio_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "portfolio.json".into());
    let folder = format!("inputs/{}", &hex(&Sha256::digest(&bytes))[..16]);
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
        let data = read(&path).map_err(|e| StageError::invalid(format!("market_data: {e}")))?;
        blobs.put(&key, data, "text/csv").await?;
        if explicit {
            explicit_key = Some(key);
        }
    }
    Ok((portfolio_key, explicit_key))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "market_data.csv".into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Run every stage of the request's workflow. Returns the run id.
pub async fn run_workflow<B: BlobStore, R: RunStore, N: Narrator>(
    blobs: &B,
    runs: &R,
    narrator: &N,
    request: &RunRequest,
    mut on_event: impl FnMut(Event),
) -> Result<String, StageError> {
    let plan = stages::partition(blobs, runs, request).await?;
    on_event(Event::Partitioned {
        run_id: plan.run_id.clone(),
        scenarios: plan.scenario_count,
        partitions: plan.partitions.len() as u32,
    });
    for task in &plan.partitions {
        let outcome = stages::compute_partition(blobs, runs, task).await?;
        on_event(Event::PartitionDone {
            partition: task.partition,
            computed: outcome.computed,
        });
    }
    let run = RunRef {
        run_id: plan.run_id.clone(),
        workflow: plan.workflow,
    };
    on_event(Event::Stage {
        name: "aggregate".into(),
    });
    stages::aggregate(blobs, runs, &run).await?;
    for persona in Persona::FACTOR_TEAM {
        on_event(Event::Stage {
            name: persona.name().into(),
        });
        stages::persona(blobs, runs, persona, &run).await?;
    }
    on_event(Event::Stage {
        name: "synthesize".into(),
    });
    stages::synthesize(blobs, runs, narrator, &run).await?;
    Ok(plan.run_id)
}
