//! `audit.json`: the provenance of a run, for a risk committee or a regulator asking
//! "how was this number made?" — the inputs' SHA-256, seed, engine and tool versions,
//! the parameters, each stage's timing and artifact digest, the narrator, and who
//! started the run. It is the one artifact that legitimately differs between two runs
//! of the same inputs (timings, who, when), so byte-identity checks leave it out.

use crate::engine::{RunContext, WorkflowEngine};
use crate::narrative::{NarrationVerdict, NarratorOutcome};
use crate::portfolio::escape_control;
use crate::storage::{PartitionRecord, RunRecord, StageRecord};
use serde::{Deserialize, Serialize};

pub const AUDIT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    pub schema_version: u32,
    pub run_id: String,
    pub workflow: String,
    pub engine_version: String,
    /// Version of the StressLab build that wrote this record.
    pub tool_version: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    pub portfolio_id: String,
    pub inputs: Vec<AuditInput>,
    /// The scenario library the run pinned, when it pinned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_version: Option<String>,
    pub seed: u64,
    /// The typed parameters with defaults filled in (what the run id hashes).
    pub parameters: serde_json::Value,
    pub scenario_count: u32,
    pub partition_count: u32,
    /// Stage timings and the digests of what each stage wrote, in the order they ran.
    pub stages: Vec<AuditStage>,
    /// SHA-256 of each deliverable.
    pub deliverables: Vec<AuditDigest>,
    pub narrator: String,
    /// Whether the narrator's text was used or the template replaced it, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narration: Option<NarratorOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditInput {
    pub role: String,
    pub key: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditStage {
    pub stage: String,
    pub artifact_key: String,
    pub sha256: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditDigest {
    pub file: String,
    pub sha256: String,
}

/// Stage order for the record: partition, each partition's evaluation, aggregate,
/// personas (by name), synthesize.
fn stage_rank(stage: &str) -> u8 {
    match stage {
        "partition" => 0,
        s if s.starts_with("compute-partition") => 1,
        "aggregate" => 2,
        s if s.starts_with("synthesize") => 4,
        _ => 3,
    }
}

impl Audit {
    pub fn new<E: WorkflowEngine>(
        meta: &RunRecord,
        run: &RunContext,
        stages: &[StageRecord],
        partitions: &[PartitionRecord],
        synthesize_ms: u64,
        narrator: &str,
        deliverables: Vec<(String, String)>,
    ) -> Self {
        let mut inputs = vec![AuditInput {
            role: "portfolio".into(),
            key: meta.recipe.portfolio_key.clone(),
            sha256: meta.recipe.portfolio_sha256.clone(),
        }];
        if let (Some(key), Some(sha)) = (
            &meta.recipe.market_data_key,
            &meta.recipe.market_data_sha256,
        ) {
            inputs.push(AuditInput {
                role: "market_data".into(),
                key: key.clone(),
                sha256: sha.clone(),
            });
        }
        let mut stages: Vec<AuditStage> = stages
            .iter()
            .filter(|s| s.stage != "synthesize")
            .map(|s| AuditStage {
                stage: s.stage.clone(),
                artifact_key: s.artifact_key.clone(),
                sha256: s.sha256.clone(),
                duration_ms: s.duration_ms,
            })
            .collect();
        // Each partition's evaluation, as its DONE mark recorded it.
        stages.extend(partitions.iter().map(|p| AuditStage {
            stage: format!("compute-partition {:04}", p.partition),
            artifact_key: p.result_key.clone().unwrap_or_default(),
            sha256: p.result_sha256.clone().unwrap_or_default(),
            duration_ms: p.duration_ms.unwrap_or_default(),
        }));
        // synthesize writes this record, so its time is up to that point.
        stages.push(AuditStage {
            stage: "synthesize (until audit.json)".into(),
            artifact_key: String::new(),
            sha256: String::new(),
            duration_ms: synthesize_ms,
        });
        stages.sort_by(|a, b| {
            stage_rank(&a.stage)
                .cmp(&stage_rank(&b.stage))
                .then(a.stage.cmp(&b.stage))
        });
        Audit {
            schema_version: AUDIT_SCHEMA_VERSION,
            run_id: meta.run_id.clone(),
            workflow: E::NAME.into(),
            engine_version: E::ENGINE_VERSION.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            created_at: meta.created_at.clone(),
            started_by: meta.started_by.clone(),
            portfolio_id: meta.portfolio_id.clone(),
            inputs,
            library_version: run.library_version.clone(),
            seed: meta.seed,
            parameters: serde_json::from_str(&meta.recipe.parameters).unwrap_or_default(),
            scenario_count: run.scenario_count,
            partition_count: run.partition_count,
            stages,
            deliverables: deliverables
                .into_iter()
                .map(|(file, sha256)| AuditDigest { file, sha256 })
                .collect(),
            narrator: narrator.into(),
            narration: None,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Human-readable form for `stresslab audit`.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "run {}\n  workflow {} (engine {}), StressLab {}\n  created {} by {}\n  portfolio {}\n",
            self.run_id,
            self.workflow,
            self.engine_version,
            self.tool_version,
            self.created_at,
            self.started_by.as_deref().unwrap_or("(unknown)"),
            escape_control(&self.portfolio_id),
        );
        if let Some(v) = &self.library_version {
            out.push_str(&format!("  scenario library {v}\n"));
        }
        for i in &self.inputs {
            out.push_str(&format!(
                "  input {:<12} {}  {}\n",
                i.role,
                i.sha256,
                escape_control(&i.key)
            ));
        }
        out.push_str(&format!(
            "  seed {}, {} scenarios in {} partitions, parameters {}\n  narrator {}\n",
            self.seed, self.scenario_count, self.partition_count, self.parameters, self.narrator
        ));
        if let Some(n) = &self.narration {
            let verdict = match n.verdict {
                NarrationVerdict::Accepted => "accepted",
                NarrationVerdict::FellBackToTemplate => "fell back to the template",
            };
            out.push_str(&format!(
                "  narration {verdict}{}\n",
                n.reason
                    .as_deref()
                    .map(|r| format!(": {}", escape_control(r)))
                    .unwrap_or_default()
            ));
        }
        out.push_str("  stages:\n");
        for s in &self.stages {
            out.push_str(&format!(
                "    {:<36} {:>8} ms  {}\n",
                s.stage, s.duration_ms, s.sha256
            ));
        }
        out.push_str("  deliverables:\n");
        for d in &self.deliverables {
            out.push_str(&format!("    {:<14} {}\n", d.file, d.sha256));
        }
        out
    }
}
