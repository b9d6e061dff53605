//! The schema observer over GraphQL: a connector's drift policy and check cadence, a check on
//! demand, and the acknowledgement that lifts PAUSE's hold.
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::observer::{self, Check, DriftPolicy, ObserverRow};
use super::service::Pipeline;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::model::Role;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::service as connectors;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::tenancy::ScopedTx;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "DriftPolicy", remote = "DriftPolicy")]
pub enum GqlDriftPolicy {
    /// Record drift only.
    Ignore,
    /// New fields through proposals (confident ones mapped, the rest to review); removed
    /// fields' mappings deprecated; renamed fields' mappings carried over.
    Propagate,
    /// Record drift and hold the connector's scheduled syncs until `acknowledgeDrift`.
    Pause,
}

#[derive(SimpleObject)]
#[graphql(name = "SchemaObserver")]
pub struct GqlSchemaObserver {
    pub connector_id: ID,
    pub drift_policy: GqlDriftPolicy,
    /// Seconds between checks (the operator's default unless the connector sets its own).
    pub check_interval_seconds: i32,
    pub next_check_at: DateTime<Utc>,
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last check could not introspect the source (none: it could).
    pub last_error: Option<String>,
    /// PAUSE: since when scheduled syncs have been held by drift (none: not held).
    pub held_since: Option<DateTime<Utc>>,
    pub held_reason: Option<String>,
}

fn shown(row: ObserverRow, default_secs: u64) -> GqlSchemaObserver {
    GqlSchemaObserver {
        connector_id: to_id(row.connector_id),
        drift_policy: row.policy().into(),
        check_interval_seconds: row.check_secs.unwrap_or(default_secs as i32),
        next_check_at: row.next_check_at,
        last_checked_at: row.last_checked_at,
        last_error: row.last_error,
        held_since: row.held_since,
        held_reason: row.held_reason,
    }
}

/// What a schema check found.
#[derive(SimpleObject)]
#[graphql(name = "SchemaCheck")]
pub struct GqlSchemaCheck {
    pub entities: u64,
    /// Drift events recorded (see `driftEvents`).
    pub changes: u64,
    /// Of them, changes that take away, rename or retype a mapped field.
    pub breaking: u64,
    /// Fields proposed (PROPAGATE).
    pub proposed: u64,
    /// Scheduled syncs are held (PAUSE) after the check.
    pub held: bool,
}

impl From<Check> for GqlSchemaCheck {
    fn from(c: Check) -> Self {
        Self {
            entities: c.entities,
            changes: c.drifts,
            breaking: c.breaking,
            proposed: c.proposed,
            held: c.held,
        }
    }
}

async fn observer_of(tx: &ScopedTx<'_>, connector: Uuid) -> AppResult<ObserverRow> {
    connectors::find(tx, connector)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    observer::get(tx, connector)
        .await?
        .ok_or(AppError::NotFound {
            what: "schema observer",
        })
}

async fn configure(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Uuid,
    policy: DriftPolicy,
    check_secs: Option<i32>,
) -> AppResult<ObserverRow> {
    let sync = &pipeline.settings.sync;
    if let Some(secs) = check_secs {
        let min = sync.min_schema_check_secs as i32;
        if !(min..=7 * 24 * 3600).contains(&secs) {
            return Err(AppError::bad_field(
                "checkIntervalSeconds",
                format!("must be between {min} and {} seconds", 7 * 24 * 3600),
            ));
        }
    }
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    observer_of(&tx, connector).await?;
    let row =
        observer::configure(&tx, connector, policy, check_secs, sync.schema_check_secs).await?;
    audit::record(
        &tx,
        AuditEntry::new("connector.drift_policy", "connector", connector).new_value(
            serde_json::json!({ "driftPolicy": policy.as_str(), "checkIntervalSeconds": check_secs }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn acknowledge(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Uuid,
) -> AppResult<ObserverRow> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let before = observer_of(&tx, connector).await?;
    if !observer::release(&tx, connector).await? {
        return Err(AppError::Conflict(
            "the connector's syncs are not held by drift".into(),
        ));
    }
    audit::record(
        &tx,
        AuditEntry::new("connector.acknowledge_drift", "connector", connector).old_value(
            serde_json::json!({ "heldSince": before.held_since, "heldReason": before.held_reason }),
        ),
    )
    .await?;
    let row = observer_of(&tx, connector).await?;
    tx.commit().await?;
    Ok(row)
}

#[derive(Default)]
pub struct ObserverQuery;

#[Object]
impl ObserverQuery {
    /// The connector's schema observer: policy, cadence, last check and any hold.
    async fn schema_observer(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
    ) -> async_graphql::Result<GqlSchemaObserver> {
        let scope = ctx.scope(Role::Viewer)?;
        let pipeline = ctx.service::<Pipeline>()?;
        let tx = ScopedTx::begin(&pipeline.db, &scope).await?;
        let row = observer_of(&tx, parse_id("connectorId", &connector_id)?).await?;
        Ok(shown(row, pipeline.settings.sync.schema_check_secs))
    }
}

#[derive(Default)]
pub struct ObserverMutation;

#[Object]
impl ObserverMutation {
    /// Sets what drift does to the connector and how often its schema is checked (default
    /// `sync.schema_check_secs`; not under `sync.min_schema_check_secs`). Leaving PAUSE lifts
    /// its hold.
    async fn set_drift_policy(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
        policy: GqlDriftPolicy,
        check_interval_seconds: Option<i32>,
    ) -> async_graphql::Result<GqlSchemaObserver> {
        let scope = ctx.scope(Role::Editor)?;
        let pipeline = ctx.service::<Pipeline>()?;
        let id = parse_id("connectorId", &connector_id)?;
        let row = configure(pipeline, &scope, id, policy.into(), check_interval_seconds).await?;
        Ok(shown(row, pipeline.settings.sync.schema_check_secs))
    }

    /// Checks the connector's schema now (introspection only, no records read), records drift
    /// and applies the policy. Finds nothing while a sync run of it is going (the run checks).
    async fn check_schema(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
    ) -> async_graphql::Result<GqlSchemaCheck> {
        let scope = ctx.scope(Role::Editor)?;
        let pipeline = ctx.service::<Pipeline>()?;
        let id = parse_id("connectorId", &connector_id)?;
        Ok(observer::check(pipeline, &scope, id).await?.into())
    }

    /// Lifts PAUSE's hold: scheduled syncs start again. CONFLICT when nothing is held.
    async fn acknowledge_drift(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
    ) -> async_graphql::Result<GqlSchemaObserver> {
        let scope = ctx.scope(Role::Editor)?;
        let pipeline = ctx.service::<Pipeline>()?;
        let id = parse_id("connectorId", &connector_id)?;
        let row = acknowledge(pipeline, &scope, id).await?;
        Ok(shown(row, pipeline.settings.sync.schema_check_secs))
    }
}
