//! Unified records as the domain reads them (no framework types).
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A golden record: its values (their provenance and alternatives are read from its members).
#[derive(Debug, Clone)]
pub struct UnifiedRecord {
    pub entity: String,
    pub id: Uuid,
    pub data: Value,
    pub member_count: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A canonical record inside a unified record, and why it is there.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    pub canonical_id: Uuid,
    pub source_system: String,
    pub connector_id: Option<Uuid>,
    pub source_entity: String,
    pub source_record_id: String,
    pub data: Value,
    pub rule: String,
    pub score: Option<f64>,
    pub evidence: Value,
    pub linked_by: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pair in the match review queue.
#[derive(Debug, Clone)]
pub struct MatchCandidate {
    pub id: Uuid,
    pub entity: String,
    pub left_id: Uuid,
    pub right_id: Uuid,
    pub score: f64,
    pub evidence: Value,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub id: Uuid,
    pub kind: String,
    pub actor: Option<String>,
    pub detail: Value,
    pub at: DateTime<Utc>,
}

/// A record the unified record points at (`account_id` → account), or one pointing at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub field: String,
    pub entity: String,
    pub id: Uuid,
    pub incoming: bool,
}
