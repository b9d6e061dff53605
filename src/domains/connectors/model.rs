use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    Csv,
    Rest,
    Postgres,
}

impl ConnectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Rest => "REST",
            Self::Postgres => "POSTGRES",
        }
    }
}

impl FromStr for ConnectorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "CSV" => Ok(Self::Csv),
            "REST" => Ok(Self::Rest),
            "POSTGRES" => Ok(Self::Postgres),
            other => Err(format!("unknown connector kind {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorStatus {
    Active,
    Paused,
    Error,
}

impl ConnectorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Paused => "PAUSED",
            Self::Error => "ERROR",
        }
    }
}

impl FromStr for ConnectorStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ACTIVE" => Ok(Self::Active),
            "PAUSED" => Ok(Self::Paused),
            "ERROR" => Ok(Self::Error),
            other => Err(format!("unknown connector status {other:?}")),
        }
    }
}

impl fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
