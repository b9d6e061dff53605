//! What the pipeline shows of its runs' output, as the domain reads it (no framework types).
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A record a run could not read, kept as it came.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub id: Uuid,
    pub source_entity: String,
    pub row_number: i64,
    pub reason: String,
    pub raw: String,
}

/// A canonical record as stored: its values and their lineage.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub entity: String,
    pub id: Uuid,
    pub source_system: String,
    pub connector_id: Option<Uuid>,
    pub source_entity: String,
    pub source_record_id: String,
    pub data: Value,
    pub extras: Value,
    pub lineage: Value,
    pub updated_at: DateTime<Utc>,
}

/// One canonical event: a source record as it was mapped at one run.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: Uuid,
    pub entity: String,
    pub canonical_id: Uuid,
    pub data: Value,
    pub extras: Value,
    pub errors: Value,
    pub source_system: String,
    pub connector_id: Option<Uuid>,
    pub source_entity: String,
    pub source_record_id: String,
    pub record_version: String,
    pub schema_version: i32,
    pub trace_id: Option<String>,
    pub lineage: Value,
    pub emitted_at: DateTime<Utc>,
}
