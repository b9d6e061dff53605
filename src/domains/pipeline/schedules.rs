//! Setting and removing a connector's sync schedule (the worker's tick starts its slots).
use async_graphql::{Context, InputObject, Object, ID};
use uuid::Uuid;

use super::service::Pipeline;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::model::Role;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::service as connectors;
use crate::domains::jobs::graphql::GqlSyncSchedule;
use crate::domains::jobs::schedule::ScheduleSpec;
use crate::domains::jobs::schedule_store::{self, ScheduleRow};
use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, ContextExt};
use crate::tenancy::ScopedTx;

pub async fn set(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Uuid,
    spec: ScheduleSpec,
    enabled: bool,
) -> AppResult<ScheduleRow> {
    let cadence = spec.cadence(pipeline.settings.sync.min_schedule_interval_secs)?;
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    connectors::find(&tx, connector)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let row = schedule_store::upsert(&tx, connector, &spec, &cadence, enabled).await?;
    audit::record(
        &tx,
        AuditEntry::new("connector.schedule", "connector", connector).new_value(
            serde_json::json!({ "intervalSeconds": spec.interval_secs, "cron": spec.cron,
                                "timezone": spec.timezone, "enabled": enabled }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn remove(pipeline: &Pipeline, scope: &TenantScope, connector: Uuid) -> AppResult<bool> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    connectors::find(&tx, connector)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let removed = schedule_store::delete(&tx, connector).await?;
    if removed {
        audit::record(
            &tx,
            AuditEntry::new("connector.unschedule", "connector", connector),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

/// Exactly one of `intervalSeconds` and `cron`.
#[derive(InputObject)]
pub struct SyncScheduleInput {
    /// Every this many seconds (at least `sync.min_schedule_interval_secs`).
    pub interval_seconds: Option<i64>,
    /// A five-field cron expression (`0 9 * * MON-FRI`), read in `timezone`.
    pub cron: Option<String>,
    /// An IANA time zone name.
    #[graphql(default_with = "String::from(\"UTC\")")]
    pub timezone: String,
    #[graphql(default = true)]
    pub enabled: bool,
}

#[derive(Default)]
pub struct ScheduleMutation;

#[Object]
impl ScheduleMutation {
    /// Sets when the connector syncs by itself. Its first slot is computed from now; a slot
    /// comes due on time in whichever process works first, exactly once, and slots missed while
    /// no process ran are taken once. A slot that finds the connector paused or still syncing
    /// starts nothing (recorded on the schedule).
    async fn set_sync_schedule(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
        schedule: SyncScheduleInput,
    ) -> async_graphql::Result<GqlSyncSchedule> {
        let scope = ctx.scope(Role::Editor)?;
        let spec = ScheduleSpec {
            interval_secs: schedule.interval_seconds,
            cron: schedule.cron,
            timezone: schedule.timezone,
        };
        Ok(set(
            ctx.service::<Pipeline>()?,
            &scope,
            parse_id("connectorId", &connector_id)?,
            spec,
            schedule.enabled,
        )
        .await?
        .into())
    }

    /// Removes the connector's schedule; false when it had none.
    async fn remove_sync_schedule(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
    ) -> async_graphql::Result<bool> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(remove(
            ctx.service::<Pipeline>()?,
            &scope,
            parse_id("connectorId", &connector_id)?,
        )
        .await?)
    }
}
