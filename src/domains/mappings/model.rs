use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::text_enum::text_enum;

text_enum! { pub enum MappingMethod { Manual => "MANUAL", Exact => "EXACT", Rag => "RAG", Llm => "LLM" } }
text_enum! {
    pub enum MappingStatus {
        Pending => "PENDING", Active => "ACTIVE", Superseded => "SUPERSEDED",
        Rejected => "REJECTED", Deprecated => "DEPRECATED",
    }
}
text_enum! {
    pub enum MappingType { Direct => "DIRECT", Computed => "COMPUTED", Transformed => "TRANSFORMED" }
}

#[derive(Debug, Clone)]
pub struct MappingVersion {
    pub mapping_id: Uuid,
    pub version: i32,
    pub status: MappingStatus,
    pub is_active: bool,
    pub connector_id: Option<Uuid>,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: MappingType,
    pub transform: Option<serde_json::Value>,
    pub method: MappingMethod,
    pub confidence: f64,
    pub rolled_back_from: Option<i32>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// A mapping as a whole: its newest version (`head`) and its full history, oldest first.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub head: MappingVersion,
    pub versions: Vec<MappingVersion>,
}

impl Mapping {
    pub fn active_version(&self) -> Option<&MappingVersion> {
        self.versions.iter().find(|v| v.is_active)
    }
}

#[derive(Debug, Clone, Default)]
pub struct MappingFilter {
    pub connector_id: Option<Uuid>,
    pub source_system: Option<String>,
    pub source_entity: Option<String>,
    pub canonical_entity: Option<String>,
    pub canonical_field: Option<String>,
    pub status: Option<MappingStatus>,
    pub method: Option<MappingMethod>,
}
