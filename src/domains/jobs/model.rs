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

text_enum! {
    /// What a job does (`jobs.kind`).
    pub enum JobType {
        /// A sync run of a connector.
        Sync => "SYNC",
        /// Bulk mapping proposals (`startProposalJob`).
        Propose => "PROPOSE",
    }
}

impl JobType {
    /// What a job of this kind is called: in messages, as an audit row's target type, and the
    /// audit action of a request to cancel it.
    pub fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Sync => ("sync run", "sync_run", "sync_run.cancel"),
            Self::Propose => ("proposal job", "proposal_job", "proposal_job.cancel"),
        }
    }
}

text_enum! {
    /// What a schedule's due slot did.
    pub enum SlotOutcome {
        /// It queued a run.
        Started => "STARTED",
        /// It queued nothing: the connector was paused, still running, or held by drift.
        Skipped => "SKIPPED",
    }
}

/// A tenant read by background work from one of the tenant's own rows (a job no process
/// holds, a schedule's due slot). Only this domain can make one, so a pass minted for it
/// (`auth::service::scope_for_background`) always names a real row's tenant, never input.
#[derive(Debug, Clone, Copy)]
pub struct RowTenant(uuid::Uuid);

impl RowTenant {
    pub(in crate::domains::jobs) fn of(tenant_id: uuid::Uuid) -> Self {
        Self(tenant_id)
    }

    pub fn id(&self) -> uuid::Uuid {
        self.0
    }
}

/// A job this process adopted: queued by a process without workers, or left running by a
/// process that stopped.
#[derive(Debug, Clone)]
pub struct AdoptedJob {
    pub id: uuid::Uuid,
    pub tenant: RowTenant,
    /// None for a kind this build does not know (left alone).
    pub kind: Option<JobType>,
}

impl AdoptedJob {
    pub(in crate::domains::jobs) fn from_row(row: &entity::jobs::Model) -> Self {
        Self {
            id: row.id,
            tenant: RowTenant::of(row.tenant_id),
            kind: row.kind.parse().ok(),
        }
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
