//! Artifacts in S3. Each `put` is one PutObject, which S3 makes visible all at once, so
//! the blob store's "no half-written artifact" rule holds without temp keys; S3 reads
//! after writes are strongly consistent, so a stage can read what the previous stage
//! wrote the moment it finishes.
//!
//! The Lambda role needs `s3:ListBucket` on the bucket as well as Get/PutObject:
//! without it S3 answers 403 instead of 404 for a missing key, which this adapter (rightly)
//! reports as a permanent error rather than "not found".

use crate::errors::store_error;
use aws_sdk_s3::primitives::ByteStream;
use stresslab_core::storage::{BlobStore, StoreError};

/// [`BlobStore`] over one S3 bucket; keys are object keys (`runs/<run_id>/...`).
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    list_page_size: Option<i32>,
}

impl S3BlobStore {
    /// Wrap a client built elsewhere (see [`crate::config::s3_client`] for one that
    /// picks path-style addressing when an endpoint override is set).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            list_page_size: None,
        }
    }

    /// Cap the number of keys per ListObjectsV2 page (S3's default and maximum is 1000).
    /// Only useful to exercise pagination in tests.
    pub fn with_list_page_size(mut self, keys_per_page: i32) -> Self {
        self.list_page_size = Some(keys_per_page);
        self
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| store_error(&format!("put {}", self.url(key)), e))?;
        Ok(())
    }

    /// One conditional PutObject (`If-None-Match: *`): S3 refuses it with 412 when the
    /// key exists, so of two racing writers exactly one wins and nothing is overwritten.
    async fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<bool, StoreError> {
        let sent = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(aws_sdk_s3::error::SdkError::ServiceError(ctx))
                if ctx.raw().status().as_u16() == 412 =>
            {
                Ok(false)
            }
            Err(e) => Err(store_error(&format!("put {} if absent", self.url(key)), e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error(&format!("get {}", self.url(key)), e))?;
        // A body stream that breaks mid-way is a network fault: retry the whole read.
        let bytes =
            object.body.collect().await.map_err(|e| {
                StoreError::Transient(format!("read body of {}: {e}", self.url(key)))
            })?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// One ranged GET of the first `max_bytes + 1` bytes: the object's full size comes
    /// back in `Content-Range`, so an oversized object is refused without reading it.
    async fn get_limited(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        let too_large = || StoreError::TooLarge {
            key: key.to_owned(),
            limit: max_bytes,
        };
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{max_bytes}"))
            .send()
            .await;
        let object = match response {
            Ok(object) => object,
            // S3 answers 416 to any range on an empty object.
            Err(e) if e.code() == Some("InvalidRange") => return self.get(key).await,
            Err(e) => return Err(store_error(&format!("get {}", self.url(key)), e)),
        };
        let total = object
            .content_range()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, total)| total.parse::<u64>().ok());
        if total.is_some_and(|t| t > max_bytes) {
            return Err(too_large());
        }
        let bytes =
            object.body.collect().await.map_err(|e| {
                StoreError::Transient(format!("read body of {}: {e}", self.url(key)))
            })?;
        let bytes = bytes.into_bytes().to_vec();
        if bytes.len() as u64 > max_bytes {
            return Err(too_large());
        }
        Ok(bytes)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match store_error(&format!("head {}", self.url(key)), e) {
                StoreError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_max_keys(self.list_page_size)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error(&format!("list {}", self.url(prefix)), e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        // S3 already lists in UTF-8 byte order; sorting keeps the contract explicit and
        // matches the local store whatever the backend does.
        keys.sort();
        Ok(keys)
    }
}
