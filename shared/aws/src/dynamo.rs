//! Run bookkeeping in one DynamoDB table, in the shape the design fixes:
//!
//! | PK            | SK             | attributes                                          |
//! |---------------|----------------|-----------------------------------------------------|
//! | `RUN#<id>`    | `META`         | run_id, workflow, portfolio_id, created_at, partition_count (N), scenario_count (N), seed (N), status, detail?, GSI1PK, GSI1SK |
//! | `RUN#<id>`    | `PART#<nnnn>`  | partition (N), status (`PENDING`/`DONE`), result_key? |
//! | `RUN#<id>`    | `STAGE#<name>` | stage, artifact_key                                 |
//! | `ASSESSMENT#<id>` | `META`     | assessment_id, portfolio_id, requested_at, requested_by?, input_hash, audit (S, the record's JSON), GSI1PK = `ASSESSMENTS#<portfolio>`, GSI1SK |
//!
//! Every item carries `expires_at` (N, epoch seconds, 90 days on), the table's TTL
//! attribute, so a run's partitions and stages age out with it.
//!
//! Idempotency comes from conditional writes, never from read-then-write: a run is created
//! with `attribute_not_exists(PK)`, a partition moves PENDING → DONE only under
//! `#s = PENDING`, so a Lambda retried after a success changes nothing. Reads that gate
//! progress (partitions, stages, runs) are strongly consistent; the `ByPortfolio` GSI
//! (`GSI1PK = PORTFOLIO#<id>`, `GSI1SK = <created_at>#<run_id>`) is, like every GSI,
//! eventually consistent, which is fine for listing history.
//!
//! The state machine's `Catch` writes `status = "FAILED"` and `detail` on the META item
//! through the Step Functions DynamoDB integration, bypassing this code: those two
//! attribute names and the status strings are therefore part of the deployed contract.

use crate::errors::store_error;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use stresslab_core::storage::{
    partition_sort_key, AssessmentRecord, AssessmentStore, Completion, Created, PartitionRecord,
    PartitionStatus, RunRecipe, RunRecord, RunStatus, RunStore, StageRecord, StoreError,
};

/// Name of the index that lists runs by portfolio, newest first.
pub const GSI_BY_PORTFOLIO: &str = "ByPortfolio";
/// The table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// How long run bookkeeping is kept.
pub const RETENTION: Duration = Duration::from_secs(90 * 24 * 60 * 60);

const META: &str = "META";
const PART_PREFIX: &str = "PART#";
const STAGE_PREFIX: &str = "STAGE#";
const PENDING: &str = "PENDING";
const DONE: &str = "DONE";

type Item = HashMap<String, AttributeValue>;

/// [`RunStore`] over one DynamoDB table (key schema: `PK`, `SK`, both strings).
#[derive(Debug, Clone)]
pub struct DynamoRunStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    page_size: Option<i32>,
}

impl DynamoRunStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_size: None,
        }
    }

    /// Cap the items per Query page (DynamoDB's own cap is 1 MB). Only useful to
    /// exercise pagination in tests.
    pub fn with_page_size(mut self, items_per_page: i32) -> Self {
        self.page_size = Some(items_per_page);
        self
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Consistent read of one item.
    async fn get_item(&self, run_id: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(run_id, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("get {}/{sk}", run_pk(run_id)), e))?;
        Ok(out.item)
    }

    /// All items of a run whose sort key starts with `prefix`, read consistently,
    /// across every page.
    async fn query_prefix(&self, run_id: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(run_pk(run_id)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .set_limit(self.page_size)
            .into_paginator()
            .send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| store_error(&format!("query {}/{prefix}*", run_pk(run_id)), e))?;
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }
}

impl RunStore for DynamoRunStore {
    async fn create_run(&self, run: &RunRecord) -> Result<Created<RunRecord>, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(run_item(run, expires_at())))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::New),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                match self.get_item(&run.run_id, META).await? {
                    Some(item) => {
                        tracing::info!(run_id = %run.run_id, "run already exists; keeping it");
                        Ok(Created::Existing(parse_run(&item)?))
                    }
                    // Only TTL expiry (or a manual delete) between the two calls gets here.
                    None => Err(StoreError::Transient(format!(
                        "run {} existed a moment ago and is gone now",
                        run.run_id
                    ))),
                }
            }
            Err(e) => Err(store_error(&format!("create run {}", run.run_id), e)),
        }
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.get_item(run_id, META)
            .await?
            .map(|item| parse_run(&item))
            .transpose()
    }

    async fn set_run_status(
        &self,
        run_id: &str,
        status: RunStatus,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(run_id, META)))
            // Never create a half-formed META item for an unknown run.
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#d", "detail")
            .expression_attribute_values(":s", s(status.as_str()));
        let update = match detail {
            Some(detail) => update
                .update_expression("SET #s = :s, #d = :d")
                .expression_attribute_values(":d", s(detail)),
            None => update.update_expression("SET #s = :s REMOVE #d"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::NotFound(format!("run {run_id}")))
            }
            Err(e) => Err(store_error(&format!("set status of run {run_id}"), e)),
        }
    }

    async fn register_partitions(&self, run_id: &str, count: u32) -> Result<(), StoreError> {
        // One conditional PutItem per partition: BatchWriteItem cannot carry a
        // condition, and an unconditional write could reset a partition that a
        // concurrent compute-partition just marked DONE.
        let expires_at = expires_at();
        for partition in 0..count {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(partition_item(run_id, partition, expires_at)))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
                Err(e) => {
                    return Err(store_error(
                        &format!(
                            "register {}/{}",
                            run_pk(run_id),
                            partition_sort_key(partition)
                        ),
                        e,
                    ))
                }
            }
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
        let sk = partition_sort_key(partition);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(run_id, &sk)))
            .update_expression("SET #s = :done, #k = :k, #d = :d, #t = :t")
            .condition_expression("attribute_exists(PK) AND #s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#k", "result_key")
            .expression_attribute_names("#d", "result_sha256")
            .expression_attribute_names("#t", "duration_ms")
            .expression_attribute_values(":done", s(DONE))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":k", s(result_key))
            .expression_attribute_values(":d", s(result_sha256))
            .expression_attribute_values(":t", n(duration_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Completion::Completed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                // Missing, or not PENDING: a consistent read tells which.
                match self.get_item(run_id, &sk).await? {
                    None => Err(StoreError::NotFound(format!(
                        "partition {partition} of run {run_id} was never registered"
                    ))),
                    Some(item) => match parse_partition(&item)?.status {
                        PartitionStatus::Done => {
                            tracing::info!(run_id, partition, "partition already DONE; no-op");
                            Ok(Completion::AlreadyDone)
                        }
                        // Lost a race with something that flipped it back: try again.
                        PartitionStatus::Pending => Err(StoreError::Transient(format!(
                            "partition {partition} of run {run_id} changed while completing"
                        ))),
                    },
                }
            }
            Err(e) => Err(store_error(&format!("complete {}/{sk}", run_pk(run_id)), e)),
        }
    }

    async fn partitions(&self, run_id: &str) -> Result<Vec<PartitionRecord>, StoreError> {
        let mut parts = self
            .query_prefix(run_id, PART_PREFIX)
            .await?
            .iter()
            .map(parse_partition)
            .collect::<Result<Vec<_>, _>>()?;
        // The zero-padded sort key already orders them, up to 9999; beyond that only
        // the number does.
        parts.sort_by_key(|p| p.partition);
        Ok(parts)
    }

    async fn record_stage(&self, run_id: &str, stage: &StageRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(stage_item(run_id, stage, expires_at())))
            .send()
            .await
            .map_err(|e| {
                store_error(&format!("record stage {} of run {run_id}", stage.stage), e)
            })?;
        Ok(())
    }

    async fn stages(&self, run_id: &str) -> Result<Vec<StageRecord>, StoreError> {
        self.query_prefix(run_id, STAGE_PREFIX)
            .await?
            .iter()
            .map(parse_stage)
            .collect()
    }

    async fn runs_for_portfolio(&self, portfolio_id: &str) -> Result<Vec<RunRecord>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_BY_PORTFOLIO)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(portfolio_pk(portfolio_id)))
            .scan_index_forward(false)
            .set_limit(self.page_size)
            .into_paginator()
            .send();
        let mut runs = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| store_error(&format!("query runs of portfolio {portfolio_id}"), e))?;
            for item in page.items() {
                runs.push(parse_run(item)?);
            }
        }
        Ok(runs)
    }
}

impl DynamoRunStore {
    async fn get_assessment_item(&self, assessment_id: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(assessment_key(assessment_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&format!("get {}", assessment_pk(assessment_id)), e))?;
        Ok(out.item)
    }
}

impl AssessmentStore for DynamoRunStore {
    async fn put_assessment(
        &self,
        record: &AssessmentRecord,
    ) -> Result<Created<AssessmentRecord>, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(assessment_item(record, expires_at())))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::New),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                match self.get_assessment_item(&record.assessment_id).await? {
                    Some(item) => Ok(Created::Existing(parse_assessment(&item)?)),
                    None => Err(StoreError::Transient(format!(
                        "assessment {} existed a moment ago and is gone now",
                        record.assessment_id
                    ))),
                }
            }
            Err(e) => Err(store_error(
                &format!("store assessment {}", record.assessment_id),
                e,
            )),
        }
    }

    async fn get_assessment(
        &self,
        assessment_id: &str,
    ) -> Result<Option<AssessmentRecord>, StoreError> {
        self.get_assessment_item(assessment_id)
            .await?
            .map(|item| parse_assessment(&item))
            .transpose()
    }

    async fn assessments_for_portfolio(
        &self,
        portfolio_id: &str,
    ) -> Result<Vec<AssessmentRecord>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_BY_PORTFOLIO)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(assessments_pk(portfolio_id)))
            .scan_index_forward(false)
            .set_limit(self.page_size)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                store_error(&format!("query assessments of portfolio {portfolio_id}"), e)
            })?;
            for item in page.items() {
                out.push(parse_assessment(item)?);
            }
        }
        Ok(out)
    }
}

// ---- keys -------------------------------------------------------------------------

fn assessment_pk(assessment_id: &str) -> String {
    format!("ASSESSMENT#{assessment_id}")
}

/// The index partition of a portfolio's assessments: not `PORTFOLIO#`, which lists runs.
fn assessments_pk(portfolio_id: &str) -> String {
    format!("ASSESSMENTS#{portfolio_id}")
}

fn assessment_key(assessment_id: &str) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(assessment_pk(assessment_id))),
        ("SK".to_owned(), s(META)),
    ])
}

fn run_pk(run_id: &str) -> String {
    format!("RUN#{run_id}")
}

fn portfolio_pk(portfolio_id: &str) -> String {
    format!("PORTFOLIO#{portfolio_id}")
}

fn stage_sk(stage: &str) -> String {
    format!("{STAGE_PREFIX}{stage}")
}

fn key(run_id: &str, sk: &str) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(run_pk(run_id))),
        ("SK".to_owned(), s(sk)),
    ])
}

fn expires_at() -> u64 {
    // A clock before 1970 would make every item expire at once; not worth an error path.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| (now + RETENTION).as_secs())
}

// ---- item codec -------------------------------------------------------------------

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn run_item(run: &RunRecord, expires_at: u64) -> Item {
    let mut item = key(&run.run_id, META);
    item.insert("run_id".into(), s(&run.run_id));
    item.insert("workflow".into(), s(&run.workflow));
    item.insert("portfolio_id".into(), s(&run.portfolio_id));
    item.insert("created_at".into(), s(&run.created_at));
    item.insert("partition_count".into(), n(run.partition_count));
    item.insert("scenario_count".into(), n(run.scenario_count));
    item.insert("seed".into(), n(run.seed));
    item.insert("status".into(), s(run.status.as_str()));
    if let Some(detail) = &run.detail {
        item.insert("detail".into(), s(detail));
    }
    item.insert("engine_version".into(), s(&run.engine_version));
    if let Some(who) = &run.started_by {
        item.insert("started_by".into(), s(who));
    }
    let r = &run.recipe;
    item.insert("portfolio_key".into(), s(&r.portfolio_key));
    item.insert("portfolio_sha256".into(), s(&r.portfolio_sha256));
    if let Some(k) = &r.market_data_key {
        item.insert("market_data_key".into(), s(k));
    }
    if let Some(d) = &r.market_data_sha256 {
        item.insert("market_data_sha256".into(), s(d));
    }
    item.insert("parameters".into(), s(&r.parameters));
    item.insert("manifest_sha256".into(), s(&r.manifest_sha256));
    item.insert("GSI1PK".into(), s(portfolio_pk(&run.portfolio_id)));
    item.insert(
        "GSI1SK".into(),
        s(format!("{}#{}", run.created_at, run.run_id)),
    );
    item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
    item
}

fn partition_item(run_id: &str, partition: u32, expires_at: u64) -> Item {
    let mut item = key(run_id, &partition_sort_key(partition));
    item.insert("partition".into(), n(partition));
    item.insert("status".into(), s(PENDING));
    item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
    item
}

fn stage_item(run_id: &str, stage: &StageRecord, expires_at: u64) -> Item {
    let mut item = key(run_id, &stage_sk(&stage.stage));
    item.insert("stage".into(), s(&stage.stage));
    item.insert("artifact_key".into(), s(&stage.artifact_key));
    item.insert("sha256".into(), s(&stage.sha256));
    item.insert("duration_ms".into(), n(stage.duration_ms));
    item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
    item
}

fn assessment_item(record: &AssessmentRecord, expires_at: u64) -> Item {
    let mut item = assessment_key(&record.assessment_id);
    item.insert("assessment_id".into(), s(&record.assessment_id));
    item.insert("portfolio_id".into(), s(&record.portfolio_id));
    item.insert("requested_at".into(), s(&record.requested_at));
    if let Some(who) = &record.requested_by {
        item.insert("requested_by".into(), s(who));
    }
    item.insert("input_hash".into(), s(&record.input_hash));
    // The record as JSON text: a DynamoDB map would turn its floats into decimal
    // strings of DynamoDB's choosing; the text round-trips bit for bit.
    item.insert("audit".into(), s(record.audit.to_string()));
    item.insert("GSI1PK".into(), s(assessments_pk(&record.portfolio_id)));
    item.insert(
        "GSI1SK".into(),
        s(format!("{}#{}", record.requested_at, record.assessment_id)),
    );
    item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
    item
}

fn parse_assessment(item: &Item) -> Result<AssessmentRecord, StoreError> {
    let audit = get_s(item, "audit")?;
    Ok(AssessmentRecord {
        assessment_id: get_s(item, "assessment_id")?.to_owned(),
        portfolio_id: get_s(item, "portfolio_id")?.to_owned(),
        requested_at: get_s(item, "requested_at")?.to_owned(),
        requested_by: get_opt_s(item, "requested_by")?,
        input_hash: get_s(item, "input_hash")?.to_owned(),
        audit: serde_json::from_str(audit)
            .map_err(|e| malformed(item, &format!("audit is not JSON: {e}")))?,
    })
}

fn malformed(item: &Item, what: &str) -> StoreError {
    let pk = item.get("PK").and_then(|v| v.as_s().ok());
    let sk = item.get("SK").and_then(|v| v.as_s().ok());
    StoreError::Permanent(format!("malformed run-store item {pk:?}/{sk:?}: {what}"))
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(malformed(item, &format!("{name} is not a string"))),
        None => Err(malformed(item, &format!("{name} is missing"))),
    }
}

/// A string that may be absent (or NULL, which hand-written updates sometimes leave).
fn get_opt_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(malformed(item, &format!("{name} is not a string"))),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| malformed(item, &format!("{name} = {v} is out of range"))),
        Some(_) => Err(malformed(item, &format!("{name} is not a number"))),
        None => Err(malformed(item, &format!("{name} is missing"))),
    }
}

fn parse_run(item: &Item) -> Result<RunRecord, StoreError> {
    let status = get_s(item, "status")?;
    Ok(RunRecord {
        run_id: get_s(item, "run_id")?.to_owned(),
        workflow: get_s(item, "workflow")?.to_owned(),
        portfolio_id: get_s(item, "portfolio_id")?.to_owned(),
        created_at: get_s(item, "created_at")?.to_owned(),
        partition_count: get_n(item, "partition_count")?,
        scenario_count: get_n(item, "scenario_count")?,
        seed: get_n(item, "seed")?,
        status: RunStatus::parse(status)
            .ok_or_else(|| malformed(item, &format!("unknown run status {status:?}")))?,
        detail: get_opt_s(item, "detail")?,
        engine_version: get_s(item, "engine_version")?.to_owned(),
        started_by: get_opt_s(item, "started_by")?,
        recipe: RunRecipe {
            portfolio_key: get_s(item, "portfolio_key")?.to_owned(),
            portfolio_sha256: get_s(item, "portfolio_sha256")?.to_owned(),
            market_data_key: get_opt_s(item, "market_data_key")?,
            market_data_sha256: get_opt_s(item, "market_data_sha256")?,
            parameters: get_s(item, "parameters")?.to_owned(),
            manifest_sha256: get_s(item, "manifest_sha256")?.to_owned(),
        },
    })
}

fn parse_partition(item: &Item) -> Result<PartitionRecord, StoreError> {
    let status = match get_s(item, "status")? {
        PENDING => PartitionStatus::Pending,
        DONE => PartitionStatus::Done,
        other => {
            return Err(malformed(
                item,
                &format!("unknown partition status {other:?}"),
            ))
        }
    };
    Ok(PartitionRecord {
        partition: get_n(item, "partition")?,
        status,
        result_key: get_opt_s(item, "result_key")?,
        result_sha256: get_opt_s(item, "result_sha256")?,
        duration_ms: match item.get("duration_ms") {
            None | Some(AttributeValue::Null(_)) => None,
            Some(_) => Some(get_n(item, "duration_ms")?),
        },
    })
}

fn parse_stage(item: &Item) -> Result<StageRecord, StoreError> {
    Ok(StageRecord {
        stage: get_s(item, "stage")?.to_owned(),
        artifact_key: get_s(item, "artifact_key")?.to_owned(),
        sha256: get_s(item, "sha256")?.to_owned(),
        duration_ms: get_n(item, "duration_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunRecord {
        RunRecord {
            run_id: "r1".into(),
            workflow: "factor".into(),
            portfolio_id: "pf".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            partition_count: 4,
            scenario_count: 500,
            seed: u64::MAX,
            status: RunStatus::Failed,
            detail: Some("boom".into()),
            engine_version: "factor/2".into(),
            recipe: RunRecipe {
                portfolio_key: "uploads/book.csv".into(),
                portfolio_sha256: "ab".repeat(32),
                market_data_key: None,
                market_data_sha256: None,
                parameters: "{}".into(),
                manifest_sha256: "cd".repeat(32),
            },
            started_by: None,
        }
    }

    #[test]
    fn run_item_round_trips_and_carries_index_and_ttl() {
        let item = run_item(&run(), 1_900_000_000);
        assert_eq!(parse_run(&item).unwrap(), run());
        assert_eq!(item["PK"].as_s().unwrap(), "RUN#r1");
        assert_eq!(item["SK"].as_s().unwrap(), "META");
        assert_eq!(item["GSI1PK"].as_s().unwrap(), "PORTFOLIO#pf");
        assert_eq!(item["GSI1SK"].as_s().unwrap(), "2026-01-01T00:00:00Z#r1");
        assert_eq!(item["seed"].as_n().unwrap(), "18446744073709551615");
        assert_eq!(item[TTL_ATTRIBUTE].as_n().unwrap(), "1900000000");
        assert_eq!(item["status"].as_s().unwrap(), "FAILED");
    }

    #[test]
    fn partition_and_stage_items_round_trip() {
        let item = partition_item("r1", 7, 1);
        assert_eq!(item["SK"].as_s().unwrap(), "PART#0007");
        assert_eq!(
            parse_partition(&item).unwrap(),
            PartitionRecord {
                partition: 7,
                status: PartitionStatus::Pending,
                result_key: None,
                result_sha256: None,
                duration_ms: None,
            }
        );
        let stage = StageRecord {
            stage: "aggregate".into(),
            artifact_key: "runs/r1/aggregate.json".into(),
            sha256: "ef".repeat(32),
            duration_ms: 12,
        };
        let item = stage_item("r1", &stage, 1);
        assert_eq!(item["SK"].as_s().unwrap(), "STAGE#aggregate");
        assert_eq!(parse_stage(&item).unwrap(), stage);
    }

    #[test]
    fn malformed_items_are_permanent_errors_naming_the_item() {
        let mut item = run_item(&run(), 1);
        item.insert("seed".into(), s("seven"));
        match parse_run(&item) {
            Err(StoreError::Permanent(msg)) => {
                assert!(msg.contains("RUN#r1") && msg.contains("seed"), "{msg}")
            }
            other => panic!("expected Permanent, got {other:?}"),
        }
        item.insert("seed".into(), n(7));
        item.insert("status".into(), s("PAUSED"));
        assert!(matches!(parse_run(&item), Err(StoreError::Permanent(_))));
    }

    #[test]
    fn assessment_item_round_trips_under_its_own_index_partition() {
        let record = AssessmentRecord {
            assessment_id: "asm-0123".into(),
            portfolio_id: "pf".into(),
            requested_at: "2026-01-01T00:00:00Z".into(),
            requested_by: None,
            input_hash: "ab".repeat(32),
            audit: serde_json::json!({"score": 0.1 + 0.2, "seed": u64::MAX}),
        };
        let item = assessment_item(&record, 7);
        assert_eq!(parse_assessment(&item).unwrap(), record);
        assert_eq!(item["PK"].as_s().unwrap(), "ASSESSMENT#asm-0123");
        assert_eq!(item["SK"].as_s().unwrap(), "META");
        assert_eq!(item["GSI1PK"].as_s().unwrap(), "ASSESSMENTS#pf");
        assert_eq!(
            item["GSI1SK"].as_s().unwrap(),
            "2026-01-01T00:00:00Z#asm-0123"
        );
        assert_eq!(item[TTL_ATTRIBUTE].as_n().unwrap(), "7");
        let mut bad = item.clone();
        bad.insert("audit".into(), s("{not json"));
        assert!(matches!(
            parse_assessment(&bad),
            Err(StoreError::Permanent(msg)) if msg.contains("ASSESSMENT#asm-0123")
        ));
    }

    #[test]
    fn a_null_detail_reads_as_none() {
        let mut item = run_item(&run(), 1);
        item.insert("detail".into(), AttributeValue::Null(true));
        assert_eq!(parse_run(&item).unwrap().detail, None);
    }

    #[test]
    fn retention_is_ninety_days_from_now() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let at = expires_at();
        assert!(at >= now + 90 * 86_400 && at <= now + 90 * 86_400 + 5);
    }
}
