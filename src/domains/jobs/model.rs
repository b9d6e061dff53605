//! A job's life: QUEUED → RUNNING → one of the finished states. Stored as text, typed here.
use crate::text_enum::text_enum;

text_enum! {
    pub enum JobStatus {
        Queued => "QUEUED",
        Running => "RUNNING",
        Succeeded => "SUCCEEDED",
        /// Finished with some records quarantined or some entities failing.
        Partial => "PARTIAL",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
    }
}

/// A job found abandoned (its process stopped), as the jobs store read it from the database.
/// Only this domain can make one, so a pass minted for it (`auth::service::scope_for_job`)
/// always names the tenant of a real job row, never one taken from input.
#[derive(Debug, Clone)]
pub struct StaleJob {
    id: uuid::Uuid,
    tenant_id: uuid::Uuid,
}

impl StaleJob {
    pub(in crate::domains::jobs) fn from_row(row: &entity::jobs::Model) -> Self {
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
        }
    }

    pub fn id(&self) -> uuid::Uuid {
        self.id
    }

    pub fn tenant_id(&self) -> uuid::Uuid {
        self.tenant_id
    }
}

/// What every job's payload carries, whatever its kind: the trace of the request that queued it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobHeader {
    pub trace_id: Option<String>,
}

impl JobHeader {
    /// Read from a stored payload; a payload without one has no trace.
    pub fn of(payload: &serde_json::Value) -> Self {
        serde_json::from_value(payload.clone()).unwrap_or_default()
    }
}

impl JobStatus {
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_text() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(*status));
        }
        assert!("DONE".parse::<JobStatus>().is_err());
        assert!(JobStatus::Partial.is_finished() && !JobStatus::Running.is_finished());
    }
}
