//! Sync schedules as rows: set, read, and each due slot taken exactly once. A slot is taken by
//! locking its row under the tenant's scope and moving `next_run_at` on, in the transaction
//! that queues the run; a process that finds `next_run_at` already moved has lost the slot.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use super::model::SlotOutcome;
use super::schedule::{Cadence, ScheduleSpec};
use crate::tenancy::ScopedTx;

#[derive(Debug, Clone, FromQueryResult)]
pub struct ScheduleRow {
    pub connector_id: Uuid,
    pub interval_secs: Option<i32>,
    pub cron: Option<String>,
    pub timezone: String,
    pub enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_slot_at: Option<DateTime<Utc>>,
    pub last_run_id: Option<Uuid>,
    pub last_outcome: Option<String>,
    pub last_message: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl ScheduleRow {
    pub fn spec(&self) -> ScheduleSpec {
        ScheduleSpec {
            interval_secs: self.interval_secs.map(i64::from),
            cron: self.cron.clone(),
            timezone: self.timezone.clone(),
        }
    }
}

const COLUMNS: &str = "connector_id, interval_secs, cron, timezone, enabled, next_run_at, \
     last_slot_at, last_run_id, last_outcome, last_message, updated_at";

fn one(sql: String, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Sets the connector's schedule; the first slot is computed from now.
pub async fn upsert(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    spec: &ScheduleSpec,
    cadence: &Cadence,
    enabled: bool,
) -> Result<ScheduleRow, DbErr> {
    let next = enabled
        .then(|| cadence.next_after(Utc::now(), None))
        .flatten();
    let sql = format!(
        "INSERT INTO sync_schedules (tenant_id, connector_id, interval_secs, cron, timezone, enabled, next_run_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, connector_id) DO UPDATE SET interval_secs = $3, cron = $4,
             timezone = $5, enabled = $6, next_run_at = $7, leased_until = NULL, updated_at = now()
         RETURNING {COLUMNS}"
    );
    let values = vec![
        tx.tenant_id().into(),
        connector.into(),
        spec.interval_secs.map(|s| s as i32).into(),
        spec.cron.clone().into(),
        spec.timezone.clone().into(),
        enabled.into(),
        next.into(),
    ];
    let row = ScheduleRow::find_by_statement(one(sql, values))
        .one(tx.conn())
        .await?;
    row.ok_or_else(|| DbErr::RecordNotInserted)
}

pub async fn get(tx: &ScopedTx<'_>, connector: Uuid) -> Result<Option<ScheduleRow>, DbErr> {
    let sql =
        format!("SELECT {COLUMNS} FROM sync_schedules WHERE tenant_id = $1 AND connector_id = $2");
    ScheduleRow::find_by_statement(one(sql, vec![tx.tenant_id().into(), connector.into()]))
        .one(tx.conn())
        .await
}

/// The schedules of several connectors at once (a page of connectors).
pub async fn get_many(tx: &ScopedTx<'_>, connectors: &[Uuid]) -> Result<Vec<ScheduleRow>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sync_schedules WHERE tenant_id = $1 AND connector_id = ANY($2)"
    );
    ScheduleRow::find_by_statement(one(
        sql,
        vec![tx.tenant_id().into(), connectors.to_vec().into()],
    ))
    .all(tx.conn())
    .await
}

pub async fn delete(tx: &ScopedTx<'_>, connector: Uuid) -> Result<bool, DbErr> {
    let done = tx
        .conn()
        .execute(one(
            "DELETE FROM sync_schedules WHERE tenant_id = $1 AND connector_id = $2".into(),
            vec![tx.tenant_id().into(), connector.into()],
        ))
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes the slot: locks the schedule and moves `next_run_at` past now (a missed slot runs
/// once, not once per slot missed). None when another process took it first or the schedule
/// changed since it was leased. The caller queues the run in the same transaction.
pub async fn take_slot(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    slot: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sync_schedules
         WHERE tenant_id = $1 AND connector_id = $2 AND enabled AND next_run_at = $3
         FOR UPDATE"
    );
    let values = vec![tx.tenant_id().into(), connector.into(), slot.into()];
    let Some(row) = ScheduleRow::find_by_statement(one(sql, values))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let next = row
        .spec()
        .stored_cadence()
        .ok()
        .and_then(|c| c.next_after(Utc::now(), Some(slot)));
    tx.conn()
        .execute(one(
            "UPDATE sync_schedules SET next_run_at = $3, leased_until = NULL, last_slot_at = $4
             WHERE tenant_id = $1 AND connector_id = $2"
                .into(),
            vec![
                tx.tenant_id().into(),
                connector.into(),
                next.into(),
                slot.into(),
            ],
        ))
        .await?;
    Ok(Some(row))
}

/// What became of the slot just taken: the run it started, or why none was.
pub async fn record_outcome(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    run: Option<Uuid>,
    outcome: SlotOutcome,
    message: Option<&str>,
) -> Result<(), DbErr> {
    tx.conn()
        .execute(one(
            "UPDATE sync_schedules SET last_run_id = coalesce($3, last_run_id), last_outcome = $4,
                    last_message = $5
             WHERE tenant_id = $1 AND connector_id = $2"
                .into(),
            vec![
                tx.tenant_id().into(),
                connector.into(),
                run.into(),
                outcome.as_str().into(),
                message.map(str::to_owned).into(),
            ],
        ))
        .await?;
    Ok(())
}
