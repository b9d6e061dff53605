//! How a connector's source has answered lately, from connection tests and sync runs: failures
//! in a row, the last success and the last error. Enough failures in a row make the connector
//! FAILING and its status ERROR; the next success makes it ACTIVE again by itself (a person's
//! PAUSED is never touched).
use std::time::Instant;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;

use super::kinds::rest::guards::BreakerView;
use super::runtime::ConnectorRuntime;
use super::service::{find_with_config, ConnectorService};
use super::source::{visible, Health};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::webhooks::{self, model::EventType};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// Never tested nor synced.
    Unknown,
    Healthy,
    /// Failing lately, fewer times in a row than `sync.failing_after`.
    Degraded,
    Failing,
}

#[derive(Debug, Clone)]
pub struct ConnectorHealth {
    pub state: HealthState,
    pub consecutive_failures: i32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    /// REST sources: the circuit breaker this process keeps for the connector.
    pub breaker: Option<BreakerView>,
}

impl ConnectorHealth {
    fn unknown(breaker: Option<BreakerView>) -> Self {
        Self {
            state: HealthState::Unknown,
            consecutive_failures: 0,
            last_success_at: None,
            last_error: None,
            last_error_at: None,
            checked_at: None,
            breaker,
        }
    }

    fn from_row(
        r: &QueryResult,
        failing_after: u32,
        breaker: Option<BreakerView>,
    ) -> Result<Self, DbErr> {
        let failures: i32 = r.try_get("", "consecutive_failures")?;
        Ok(Self {
            state: match failures {
                0 => HealthState::Healthy,
                n if (n as u32) < failing_after => HealthState::Degraded,
                _ => HealthState::Failing,
            },
            consecutive_failures: failures,
            last_success_at: r.try_get("", "last_success_at")?,
            last_error: r.try_get("", "last_error")?,
            last_error_at: r.try_get("", "last_error_at")?,
            checked_at: r.try_get("", "checked_at")?,
            breaker,
        })
    }
}

/// What a connection test found: the source answered (connect, authenticate, read one page)
/// or the error that stopped it, and the connector's health after.
pub struct ConnectionTest {
    pub ok: bool,
    pub message: String,
    pub entities: Vec<String>,
    pub latency_ms: u64,
    pub health: ConnectorHealth,
}

async fn query_one(
    tx: &ScopedTx<'_>,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Option<QueryResult>, DbErr> {
    tx.conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
}

/// The connector's status becomes `to` if it is `from` (never a person's PAUSED).
async fn move_status(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    query_one(
        tx,
        "UPDATE connectors SET status = $4, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND status = $3",
        vec![
            tx.tenant_id().into(),
            connector.into(),
            from.into(),
            to.into(),
        ],
    )
    .await
    .map(drop)
}

/// Records how the source answered (`Err`: the error), in the caller's transaction;
/// `failing_after` failures in a row make the connector's status ERROR.
pub async fn record(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    outcome: Result<(), &str>,
    failing_after: u32,
) -> Result<(), DbErr> {
    let t = tx.tenant_id();
    match outcome {
        Ok(()) => {
            query_one(
                tx,
                "INSERT INTO connector_health (tenant_id, connector_id, last_success_at) VALUES ($1, $2, now())
                 ON CONFLICT (tenant_id, connector_id) DO UPDATE
                     SET consecutive_failures = 0, last_success_at = now(), checked_at = now()",
                vec![t.into(), connector.into()],
            )
            .await?;
            move_status(tx, connector, "ERROR", "ACTIVE").await?;
        }
        Err(error) => {
            // Errors are kept short (a source may answer with a whole page) and storable (a NUL
            // byte it sent is written out).
            let error: String = visible(error).chars().take(1_000).collect();
            let failures: i32 = match query_one(
                tx,
                "INSERT INTO connector_health (tenant_id, connector_id, consecutive_failures, last_error, last_error_at)
                 VALUES ($1, $2, 1, $3, now())
                 ON CONFLICT (tenant_id, connector_id) DO UPDATE
                     SET consecutive_failures = connector_health.consecutive_failures + 1,
                         last_error = EXCLUDED.last_error, last_error_at = now(), checked_at = now()
                 RETURNING consecutive_failures",
                vec![t.into(), connector.into(), error.clone().into()],
            )
            .await?
            {
                Some(r) => r.try_get("", "consecutive_failures")?,
                None => 0,
            };
            if failures as u32 >= failing_after {
                move_status(tx, connector, "ACTIVE", "ERROR").await?;
            }
            // Said once, when the connector turns FAILING.
            if failures as u32 == failing_after {
                let data = serde_json::json!({ "connectorId": connector,
                    "consecutiveFailures": failures, "lastError": error });
                webhooks::emit(tx, EventType::ConnectorUnhealthy, data).await?;
            }
        }
    }
    Ok(())
}

/// The connector's health as stored, with this process's circuit breaker of it.
pub async fn get(
    tx: &ScopedTx<'_>,
    runtime: &ConnectorRuntime,
    connector: Uuid,
    failing_after: u32,
) -> Result<ConnectorHealth, DbErr> {
    let mut found = get_many(tx, runtime, &[connector], failing_after).await?;
    Ok(found
        .remove(&connector)
        .unwrap_or_else(|| ConnectorHealth::unknown(runtime.breaker(connector))))
}

/// The health of several connectors at once (a page of connectors): those never checked are
/// UNKNOWN.
pub async fn get_many(
    tx: &ScopedTx<'_>,
    runtime: &ConnectorRuntime,
    connectors: &[Uuid],
    failing_after: u32,
) -> Result<std::collections::HashMap<Uuid, ConnectorHealth>, DbErr> {
    let rows = tx
        .conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM connector_health WHERE tenant_id = $1 AND connector_id = ANY($2)",
            [tx.tenant_id().into(), connectors.to_vec().into()],
        ))
        .await?;
    let mut found = std::collections::HashMap::with_capacity(connectors.len());
    for r in &rows {
        let id: Uuid = r.try_get("", "connector_id")?;
        let health = ConnectorHealth::from_row(r, failing_after, runtime.breaker(id))?;
        found.insert(id, health);
    }
    for id in connectors {
        found
            .entry(*id)
            .or_insert_with(|| ConnectorHealth::unknown(runtime.breaker(*id)));
    }
    Ok(found)
}

/// Connects to the connector's source, authenticates and reads one page, writing nothing of
/// it; records the outcome in the connector's health.
pub async fn test_connection(
    svc: &ConnectorService,
    runtime: &ConnectorRuntime,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<ConnectionTest> {
    let (connector, config) = {
        let tx = ScopedTx::begin(&svc.db, scope).await?;
        find_with_config(svc, &tx, id)
            .await?
            .ok_or(AppError::NotFound { what: "connector" })?
    };
    let started = Instant::now();
    let answer = match runtime.open(scope.tenant_id(), &connector, config).await {
        Ok(source) => match source.entities().await {
            Ok(entities) => {
                let health = match entities.first() {
                    Some(first) => source.health(first).await,
                    None => Health::failed("the source offers no entities"),
                };
                if health.ok {
                    Ok((entities, health.message))
                } else {
                    Err(health.message)
                }
            }
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let tx = ScopedTx::begin(&svc.db, scope).await?;
    let outcome = answer.as_ref().map(drop).map_err(String::as_str);
    record(&tx, id, outcome, svc.failing_after).await?;
    audit::record(
        &tx,
        AuditEntry::new("connector.test", "connector", id)
            .new_value(serde_json::json!({ "ok": answer.is_ok() })),
    )
    .await?;
    let health = get(&tx, runtime, id, svc.failing_after).await?;
    tx.commit().await?;
    let (ok, entities, message) = match answer {
        Ok((entities, message)) => (true, entities, message),
        Err(message) => (false, Vec::new(), message),
    };
    Ok(ConnectionTest {
        ok,
        message,
        entities,
        latency_ms,
        health,
    })
}
