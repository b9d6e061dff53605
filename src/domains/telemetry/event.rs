//! Flow events: what each layer of the platform reports as it works.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The layer an event comes from; each has its own stream per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Layer {
    /// Connectors and sync runs (the adaptive API mesh).
    Aam,
    /// Mappings, canonical records and lineage (the data connectivity layer).
    Dcl,
    /// Jobs and agents.
    Agent,
}

impl Layer {
    pub const ALL: [Layer; 3] = [Layer::Aam, Layer::Dcl, Layer::Agent];

    fn prefix(self) -> &'static str {
        match self {
            Self::Aam => "aam",
            Self::Dcl => "dcl",
            Self::Agent => "agent",
        }
    }

    /// `aam:flow:{tenant}`: tenants never share a stream.
    pub fn stream(self, tenant: Uuid) -> String {
        format!("{}:flow:{tenant}", self.prefix())
    }
}

/// Well-known kinds (the set is open: kinds are strings).
pub mod kinds {
    pub const SYNC_RUN_STATUS: &str = "SYNC_RUN_STATUS";
    pub const RECORDS_READ: &str = "RECORDS_READ";
    pub const DRIFT_DETECTED: &str = "DRIFT_DETECTED";
    pub const MAPPINGS_PROPOSED: &str = "MAPPINGS_PROPOSED";
    pub const MAPPING_CHANGED: &str = "MAPPING_CHANGED";
    pub const REVIEW_QUEUE_CHANGED: &str = "REVIEW_QUEUE_CHANGED";
    pub const RECORDS_EMITTED: &str = "RECORDS_EMITTED";
    pub const JOB_STATUS: &str = "JOB_STATUS";
    pub const PROPOSAL_JOB_STATUS: &str = "PROPOSAL_JOB_STATUS";
    pub const UNIFIED_RECORDS_CHANGED: &str = "UNIFIED_RECORDS_CHANGED";
    pub const DEMO: &str = "DEMO";
}

/// One event as stored in its stream and sent to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowEvent {
    /// The stream entry id (`{ms}-{seq}`); ordered across a tenant's three streams.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub tenant_id: Uuid,
    pub layer: Layer,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
    pub status: String,
    pub message: String,
    pub data: Value,
    pub at: DateTime<Utc>,
    pub trace_id: Option<String>,
}

impl FlowEvent {
    /// The connector this event concerns, when it concerns one.
    pub fn connector_id(&self) -> Option<&str> {
        if self.entity_type == "connector" {
            return Some(&self.entity_id);
        }
        self.data.get("connectorId").and_then(Value::as_str)
    }
}

/// What a publisher says; the layer, tenant and time are filled in by the publisher.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: &'static str,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub status: String,
    pub message: String,
    pub data: Value,
    pub trace_id: Option<String>,
}

impl Draft {
    pub fn new(kind: &'static str, entity_type: &'static str, entity_id: impl ToString) -> Self {
        Self {
            kind,
            entity_type,
            entity_id: entity_id.to_string(),
            status: String::new(),
            message: String::new(),
            data: Value::Object(Default::default()),
            trace_id: None,
        }
    }

    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    pub fn trace(mut self, trace_id: Option<impl Into<String>>) -> Self {
        self.trace_id = trace_id.map(Into::into);
        self
    }
}

/// A stream entry id, compared numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryId {
    pub ms: u64,
    pub seq: u64,
}

impl EntryId {
    pub const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    pub fn parse(s: &str) -> Option<Self> {
        let (ms, seq) = s.split_once('-')?;
        Some(Self {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_order_numerically_and_reject_garbage() {
        let a = EntryId::parse("99-5").unwrap();
        let b = EntryId::parse("100-0").unwrap();
        assert!(a < b, "not string order");
        assert_eq!(b.to_string(), "100-0");
        for bad in ["", "12", "a-1", "1-", "-1", "1-2-3"] {
            assert!(EntryId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn streams_are_per_layer_and_tenant() {
        let t = Uuid::nil();
        assert_eq!(Layer::Aam.stream(t), format!("aam:flow:{t}"));
        assert_ne!(Layer::Dcl.stream(t), Layer::Dcl.stream(Uuid::max()));
    }
}
