//! Create the bucket and the table when they are missing. In AWS the SAM template owns
//! both; this exists so the moto contract tests and the state-machine harness start from
//! the same shapes the template declares (key schema, `ByPortfolio` GSI, TTL attribute).
//! Keep the two in step.

use crate::dynamo::{GSI_BY_PORTFOLIO, TTL_ATTRIBUTE};
use crate::errors::store_error;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use std::time::Duration;
use stresslab_core::storage::StoreError;

/// How long to wait for a new table to become ACTIVE (instant on moto, seconds on AWS).
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// Make sure `bucket` and `table` exist; existing ones are left as they are.
pub async fn ensure_bucket_and_table(
    s3: &aws_sdk_s3::Client,
    ddb: &aws_sdk_dynamodb::Client,
    bucket: &str,
    table: &str,
) -> Result<(), StoreError> {
    ensure_bucket(s3, bucket).await?;
    ensure_table(ddb, table).await
}

async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), StoreError> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(()),
        Err(e) => match store_error(&format!("head bucket {bucket}"), e) {
            StoreError::NotFound(_) => {}
            other => return Err(other),
        },
    }
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that must not be named as a location constraint.
    if let Some(region) = s3.config().region().map(|r| r.as_ref().to_owned()) {
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
    }
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => Err(store_error(&format!("create bucket {bucket}"), e)),
    }
}

async fn ensure_table(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), StoreError> {
    match ddb.describe_table().table_name(table).send().await {
        Ok(_) => return Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) => {}
        Err(e) => return Err(store_error(&format!("describe table {table}"), e)),
    }

    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let key_elem = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(build_error)
    };
    let by_portfolio = GlobalSecondaryIndex::builder()
        .index_name(GSI_BY_PORTFOLIO)
        .key_schema(key_elem("GSI1PK", KeyType::Hash)?)
        .key_schema(key_elem("GSI1SK", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(build_error)?;

    let created = ddb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr("PK")?)
        .attribute_definitions(string_attr("SK")?)
        .attribute_definitions(string_attr("GSI1PK")?)
        .attribute_definitions(string_attr("GSI1SK")?)
        .key_schema(key_elem("PK", KeyType::Hash)?)
        .key_schema(key_elem("SK", KeyType::Range)?)
        .global_secondary_indexes(by_portfolio)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Someone else is creating it right now: wait for theirs, leave TTL to them.
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()) =>
        {
            return wait_active(ddb, table).await;
        }
        Err(e) => return Err(store_error(&format!("create table {table}"), e)),
    }
    wait_active(ddb, table).await?;

    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|e| store_error(&format!("enable TTL on table {table}"), e))?;
    Ok(())
}

async fn wait_active(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), StoreError> {
    ddb.wait_until_table_exists()
        .table_name(table)
        .wait(TABLE_ACTIVE_TIMEOUT)
        .await
        .map(|_| ())
        .map_err(|e| {
            StoreError::Transient(format!(
                "table {table} did not become ACTIVE: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            ))
        })
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Permanent(format!("building the table definition: {e}"))
}
