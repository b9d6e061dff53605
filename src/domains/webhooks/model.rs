//! What webhooks carry: event types, delivery states, an endpoint as shown.
use crate::text_enum::text_enum;

text_enum! {
    /// What an endpoint may subscribe to (the `type` of each message).
    pub enum EventType {
        /// A connector's source schema changed (any change).
        DriftDetected => "drift.detected",
        /// ...and took away, renamed or retyped a mapped field.
        DriftBreaking => "drift.breaking",
        SyncRunSucceeded => "sync_run.succeeded",
        /// Failed, or finished with quarantined records or failing entities (PARTIAL).
        SyncRunFailed => "sync_run.failed",
        /// A connector's source failed `sync.failing_after` times in a row.
        ConnectorUnhealthy => "connector.unhealthy",
        /// A run left more items waiting for review than `webhooks.review_queue_threshold`.
        ReviewQueueAboveThreshold => "review_queue.above_threshold",
        /// Records were merged into one unified record (by a person or a sync's resolution).
        RecordsMerged => "records.merged",
        /// Sent by `sendTestWebhook` only.
        Test => "webhook.test",
    }
}

text_enum! {
    pub enum DeliveryStatus {
        /// Waiting for its first or next attempt.
        Pending => "PENDING",
        /// A 2xx answer.
        Delivered => "DELIVERED",
        /// Every attempt failed, or the endpoint was disabled or removed meanwhile.
        Failed => "FAILED",
    }
}

/// An endpoint as shown (never its secret).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct Endpoint {
    pub id: uuid::Uuid,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// One delivery with its latest attempt.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct Delivery {
    pub id: uuid::Uuid,
    pub endpoint_id: uuid::Uuid,
    pub event_type: String,
    pub message_id: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}
