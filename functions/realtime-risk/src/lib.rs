//! The `realtime-risk` Lambda's pieces: the assessment router's [`Assessor`] over
//! DynamoDB and the calibrated market model, and the caller's principal from API
//! Gateway's IAM authorizer.

use std::sync::Arc;
use stresslab_api::assessments::{shared_model, Assessor};
use stresslab_api::ApiConfig;
use stresslab_assess::model::MarketModel;
use stresslab_aws::DynamoRunStore;

/// Largest `POST /assessments` body (4 MiB, as the API Lambda's `POST /runs`): a
/// synchronous invocation carries at most 6 MB of event, and the body travels in it
/// JSON-escaped or base64-encoded (4/3 larger). About 7,500 positions of the sample's
/// kind; over it, 413 with a problem list.
pub const LAMBDA_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub use stresslab_aws::principal::{iam_principal, NO_PRINCIPAL};

/// The router's configuration on Lambda: the IAM principal and [`LAMBDA_MAX_BODY_BYTES`].
pub fn lambda_config() -> ApiConfig {
    ApiConfig {
        principal: Arc::new(iam_principal),
        max_body_bytes: LAMBDA_MAX_BODY_BYTES,
        // An assessment's answer is about 110 bytes per position (compact JSON; the
        // 1,000-position sample's is 106 kB): under 1 MB for the largest body the cap
        // admits, far from Lambda's 6 MB response limit.
        max_response_bytes: None,
    }
}

/// Audit records in the run table (`ASSESSMENT#<id>`); the model calibrated once per
/// execution environment (at cold start) and shared by every invocation.
pub struct DynamoAssessor {
    store: DynamoRunStore,
    model: Arc<MarketModel>,
}

impl DynamoAssessor {
    /// Calibrates the model now, so a cold start fails on a broken model rather than
    /// the first request.
    pub fn new(store: DynamoRunStore) -> Result<Self, String> {
        Ok(Self::with_model(store, shared_model()?))
    }

    pub fn with_model(store: DynamoRunStore, model: Arc<MarketModel>) -> Self {
        DynamoAssessor { store, model }
    }
}

impl Assessor for DynamoAssessor {
    type Store = DynamoRunStore;
    fn assessment_store(&self) -> &DynamoRunStore {
        &self.store
    }
    fn market_model(&self) -> Result<Arc<MarketModel>, String> {
        Ok(Arc::clone(&self.model))
    }
}
