//! What the lineage views show, as the domain reads it (no framework types).
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::text_enum::text_enum;

text_enum! {
    /// A mapping's standing in the lineage grid.
    pub enum LineageStatus {
        Active => "ACTIVE",
        PendingReview => "PENDING_REVIEW",
        Deprecated => "DEPRECATED",
        /// Active, but more of its values failed validation than passed.
        Failed => "FAILED",
    }
}

/// One mapping (its head version) in the lineage grid, with its figures.
#[derive(Debug, Clone)]
pub struct GridEntry {
    pub id: Uuid,
    pub source_system: String,
    pub source_table: String,
    pub source_field: String,
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: String,
    pub method: String,
    pub confidence: f64,
    pub status: LineageStatus,
    pub version: i32,
    pub last_validated: Option<DateTime<Utc>>,
    pub success_rate: Option<f64>,
    pub avg_processing_ms: Option<f64>,
    pub error_count: i64,
    pub created_at: DateTime<Utc>,
}
