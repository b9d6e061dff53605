//! A connector's sync schedule as GraphQL shows it (read on `Connector.schedule`, set through
//! `setSyncSchedule`).
use async_graphql::{Enum, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::model::SlotOutcome;
use super::schedule_store::ScheduleRow;
use crate::graphql::context::to_id;

/// What the schedule's last due slot did.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "SlotOutcome")]
pub enum ScheduleOutcome {
    /// It started the run `lastRunId`.
    Started,
    /// It started nothing: the connector was paused or still running (`lastMessage` says).
    Skipped,
}

#[derive(SimpleObject)]
#[graphql(name = "SyncSchedule")]
pub struct GqlSyncSchedule {
    /// Every this many seconds (or `cron`).
    pub interval_seconds: Option<i32>,
    /// A five-field cron expression read in `timezone` (or `intervalSeconds`).
    pub cron: Option<String>,
    /// An IANA time zone name.
    pub timezone: String,
    /// The schedule in words.
    pub description: String,
    pub enabled: bool,
    /// The slot the schedule waits for (none while disabled).
    pub next_run_at: Option<DateTime<Utc>>,
    /// The last slot taken (late slots missed while nothing ran are taken once).
    pub last_slot_at: Option<DateTime<Utc>>,
    pub last_run_id: Option<ID>,
    pub last_outcome: Option<ScheduleOutcome>,
    pub last_message: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<ScheduleRow> for GqlSyncSchedule {
    fn from(row: ScheduleRow) -> Self {
        let description = row
            .spec()
            .stored_cadence()
            .map(|c| c.describe())
            .unwrap_or_default();
        Self {
            interval_seconds: row.interval_secs,
            cron: row.cron,
            timezone: row.timezone,
            description,
            enabled: row.enabled,
            next_run_at: row.next_run_at,
            last_slot_at: row.last_slot_at,
            last_run_id: row.last_run_id.map(to_id),
            last_outcome: row
                .last_outcome
                .and_then(|o| o.parse::<SlotOutcome>().ok())
                .map(Into::into),
            last_message: row.last_message,
            updated_at: row.updated_at,
        }
    }
}
