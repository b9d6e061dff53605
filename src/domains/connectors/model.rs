use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::text_enum::text_enum;

text_enum! {
    pub enum ConnectorKind { Csv => "CSV", Rest => "REST", Postgres => "POSTGRES" }
}

text_enum! {
    pub enum ConnectorStatus { Active => "ACTIVE", Paused => "PAUSED", Error => "ERROR" }
}

#[derive(Debug, Clone)]
pub struct Connector {
    pub id: Uuid,
    pub name: String,
    pub kind: ConnectorKind,
    pub status: ConnectorStatus,
    /// The config with every secret replaced by a placeholder.
    pub config: serde_json::Value,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct ConnectorFilter {
    pub kind: Option<ConnectorKind>,
    pub status: Option<ConnectorStatus>,
}
