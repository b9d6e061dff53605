use std::collections::HashMap;

use async_graphql::{ComplexObject, Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::health::{self, ConnectionTest, ConnectorHealth, HealthState};
use super::kinds::rest::guards::BreakerView;
use super::model::{self, Connector, ConnectorFilter};
use super::runtime::ConnectorRuntime;
use super::service::{self, ConnectorChanges, ConnectorService, NewConnector};
use crate::domains::auth::model::Role;
use crate::domains::jobs::graphql::GqlSyncSchedule;
use crate::domains::jobs::schedule_store::{self, ScheduleRow};
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ConnectorKind", remote = "model::ConnectorKind")]
pub enum GqlConnectorKind {
    Csv,
    Rest,
    Postgres,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ConnectorStatus", remote = "model::ConnectorStatus")]
pub enum GqlConnectorStatus {
    Active,
    Paused,
    Error,
}

#[derive(SimpleObject)]
#[graphql(name = "Connector", complex)]
pub struct GqlConnector {
    pub id: ID,
    pub name: String,
    pub kind: GqlConnectorKind,
    pub status: GqlConnectorStatus,
    /// The validated config with defaults filled in; secrets show as "********".
    pub config: Json<serde_json::Value>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Read for a whole page at once by `connectors` when asked for (else per connector).
    #[graphql(skip)]
    pub prefetched: Prefetched,
}

/// What a page of connectors read in one statement each, instead of one per connector.
#[derive(Default)]
pub struct Prefetched {
    health: Option<ConnectorHealth>,
    schedule: Option<Option<ScheduleRow>>,
}

impl From<Connector> for GqlConnector {
    fn from(c: Connector) -> Self {
        Self {
            id: to_id(c.id),
            name: c.name,
            kind: c.kind.into(),
            status: c.status.into(),
            config: Json(c.config),
            last_synced_at: c.last_synced_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
            prefetched: Prefetched::default(),
        }
    }
}

#[ComplexObject]
impl GqlConnector {
    /// How the source has answered lately (connection tests and sync runs).
    async fn health(&self, ctx: &Context<'_>) -> async_graphql::Result<GqlConnectorHealth> {
        if let Some(h) = &self.prefetched.health {
            return Ok(h.clone().into());
        }
        let scope = ctx.scope(Role::Viewer)?;
        let svc = ctx.service::<ConnectorService>()?;
        let tx = crate::tenancy::ScopedTx::begin(&svc.db, &scope).await?;
        let found = health::get(
            &tx,
            ctx.service::<ConnectorRuntime>()?,
            parse_id("id", &self.id)?,
            svc.failing_after,
        )
        .await
        .map_err(crate::error::AppError::from)?;
        Ok(found.into())
    }

    /// When the connector syncs by itself (none: only when asked).
    async fn schedule(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<GqlSyncSchedule>> {
        if let Some(s) = &self.prefetched.schedule {
            return Ok(s.clone().map(Into::into));
        }
        let scope = ctx.scope(Role::Viewer)?;
        let svc = ctx.service::<ConnectorService>()?;
        let tx = crate::tenancy::ScopedTx::begin(&svc.db, &scope).await?;
        let row = schedule_store::get(&tx, parse_id("id", &self.id)?)
            .await
            .map_err(crate::error::AppError::from)?;
        Ok(row.map(Into::into))
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "HealthState", remote = "HealthState")]
pub enum GqlHealthState {
    Unknown,
    Healthy,
    Degraded,
    Failing,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "CircuitBreakerState", remote = "BreakerView")]
pub enum GqlBreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// HEALTHY with no failure since the last success, DEGRADED after one, FAILING after three in a
/// row (the connector's status is then ERROR until a success makes it ACTIVE again).
#[derive(SimpleObject)]
#[graphql(name = "ConnectorHealth")]
pub struct GqlConnectorHealth {
    pub state: GqlHealthState,
    pub consecutive_failures: i32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    /// REST sources: this server's circuit breaker for the connector (none before first use).
    pub circuit_breaker: Option<GqlBreakerState>,
}

impl From<ConnectorHealth> for GqlConnectorHealth {
    fn from(h: ConnectorHealth) -> Self {
        Self {
            state: h.state.into(),
            consecutive_failures: h.consecutive_failures,
            last_success_at: h.last_success_at,
            last_error: h.last_error,
            last_error_at: h.last_error_at,
            checked_at: h.checked_at,
            circuit_breaker: h.breaker.map(Into::into),
        }
    }
}

/// A connection test: whether the source answered (connected, authenticated, read one page)
/// or the error that stopped it, the entities it offers, and the connector's health after.
#[derive(SimpleObject)]
#[graphql(name = "ConnectionTest")]
pub struct GqlConnectionTest {
    pub ok: bool,
    pub message: String,
    pub entities: Vec<String>,
    pub latency_ms: u64,
    pub health: GqlConnectorHealth,
}

impl From<ConnectionTest> for GqlConnectionTest {
    fn from(t: ConnectionTest) -> Self {
        Self {
            ok: t.ok,
            message: t.message,
            entities: t.entities,
            latency_ms: t.latency_ms,
            health: t.health.into(),
        }
    }
}

#[derive(InputObject)]
pub struct CreateConnectorInput {
    pub name: String,
    pub kind: GqlConnectorKind,
    /// Kind-specific settings, validated strictly (unknown keys are refused).
    pub config: Json<serde_json::Value>,
}

#[derive(InputObject)]
pub struct UpdateConnectorInput {
    pub name: Option<String>,
    pub config: Option<Json<serde_json::Value>>,
    pub status: Option<GqlConnectorStatus>,
}

#[derive(InputObject, Default)]
pub struct ConnectorFilterInput {
    pub kind: Option<GqlConnectorKind>,
    pub status: Option<GqlConnectorStatus>,
}

#[derive(Default)]
pub struct ConnectorQuery;

#[Object]
impl ConnectorQuery {
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn connectors(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConnectorFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlConnector>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let f = filter.unwrap_or_default();
        let filter = ConnectorFilter {
            kind: f.kind.map(Into::into),
            status: f.status.map(Into::into),
        };
        let svc = ctx.service::<ConnectorService>()?;
        let result = service::list(svc, &scope, filter, page).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        let ids: Vec<uuid::Uuid> = result.items.iter().map(|c| c.id).collect();
        let (wants_health, wants_schedule) = (
            node.field("health").exists(),
            node.field("schedule").exists(),
        );
        let (mut health, mut schedules) = (HashMap::new(), HashMap::new());
        if !ids.is_empty() && (wants_health || wants_schedule) {
            let tx = crate::tenancy::ScopedTx::begin(&svc.db, &scope).await?;
            let failed = |e: sea_orm::DbErr| crate::error::AppError::from(e);
            if wants_health {
                let runtime = ctx.service::<ConnectorRuntime>()?;
                health = health::get_many(&tx, runtime, &ids, svc.failing_after)
                    .await
                    .map_err(failed)?;
            }
            if wants_schedule {
                schedules = schedule_store::get_many(&tx, &ids)
                    .await
                    .map_err(failed)?
                    .into_iter()
                    .map(|s| (s.connector_id, s))
                    .collect();
            }
        }
        Ok(connection(
            result,
            after.is_some(),
            |c| c.id,
            |c| {
                let id = c.id;
                let mut node = GqlConnector::from(c);
                node.prefetched = Prefetched {
                    health: health.get(&id).cloned(),
                    schedule: wants_schedule.then(|| schedules.get(&id).cloned()),
                };
                node
            },
        ))
    }

    async fn connector(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlConnector> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(service::get(
            ctx.service::<ConnectorService>()?,
            &scope,
            parse_id("id", &id)?,
        )
        .await?
        .into())
    }
}

#[derive(Default)]
pub struct ConnectorMutation;

#[Object]
impl ConnectorMutation {
    async fn create_connector(
        &self,
        ctx: &Context<'_>,
        input: CreateConnectorInput,
    ) -> async_graphql::Result<GqlConnector> {
        let scope = ctx.scope(Role::Editor)?;
        let new = NewConnector {
            name: input.name,
            kind: input.kind.into(),
            config: input.config.0,
        };
        Ok(
            service::create(ctx.service::<ConnectorService>()?, &scope, new)
                .await?
                .into(),
        )
    }

    async fn update_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateConnectorInput,
    ) -> async_graphql::Result<GqlConnector> {
        let scope = ctx.scope(Role::Editor)?;
        let changes = ConnectorChanges {
            name: input.name,
            config: input.config.map(|c| c.0),
            status: input.status.map(Into::into),
        };
        Ok(service::update(
            ctx.service::<ConnectorService>()?,
            &scope,
            parse_id("id", &id)?,
            changes,
        )
        .await?
        .into())
    }

    /// Connects to the connector's source, authenticates and reads one page, writing nothing
    /// of it. A source that does not answer is `ok: false` with its error (not a GraphQL
    /// error); either way the outcome counts towards the connector's health.
    async fn test_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlConnectionTest> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(health::test_connection(
            ctx.service::<ConnectorService>()?,
            ctx.service::<ConnectorRuntime>()?,
            &scope,
            parse_id("id", &id)?,
        )
        .await?
        .into())
    }

    /// Deletes a connector (ADMIN); its mappings stay, detached, for the record.
    async fn delete_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlConnector> {
        let scope = ctx.scope(Role::Admin)?;
        Ok(service::delete(
            ctx.service::<ConnectorService>()?,
            &scope,
            parse_id("id", &id)?,
        )
        .await?
        .into())
    }
}
