use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::config::QuotaSettings;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::tenancy::ScopedTx;

/// A metered quota, reset at the start of each period (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metered {
    /// Source fields sent to `proposeMappings`, per calendar month.
    Proposals,
    /// Canonical events written by sync runs, per clock hour.
    Events,
}

impl Metered {
    fn metric(self) -> &'static str {
        match self {
            Self::Proposals => "PROPOSALS",
            Self::Events => "EVENTS",
        }
    }

    /// `date_trunc` unit of the period.
    fn period(self) -> &'static str {
        match self {
            Self::Proposals => "month",
            Self::Events => "hour",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Proposals => "proposal quota (source fields per month)",
            Self::Events => "event quota (canonical events per hour)",
        }
    }
}

/// The tenant's limits: its override row where set, the configured defaults elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connectors: u64,
    pub proposals_per_month: u64,
    pub events_per_hour: u64,
}

impl Limits {
    pub fn of(&self, metered: Metered) -> u64 {
        match metered {
            Metered::Proposals => self.proposals_per_month,
            Metered::Events => self.events_per_hour,
        }
    }
}

pub async fn limits(tx: &ScopedTx<'_>, defaults: &QuotaSettings) -> Result<Limits, DbErr> {
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT connectors, proposals_per_month, events_per_hour FROM tenant_quotas WHERE tenant_id = $1",
            [tx.tenant_id().into()],
        ))
        .await?;
    let get = |i: usize, default: u64| {
        row.as_ref()
            .and_then(|r| r.try_get_by_index::<Option<i64>>(i).ok().flatten())
            .map_or(default, |v| v.max(0) as u64)
    };
    Ok(Limits {
        connectors: get(0, defaults.connectors),
        proposals_per_month: get(1, defaults.proposals_per_month),
        events_per_hour: get(2, defaults.events_per_hour),
    })
}

/// Use of a quota in the current period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub limit: u64,
    /// When a metered quota starts afresh; `None` for held ones (connectors).
    pub resets_at: Option<DateTime<Utc>>,
}

impl Usage {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

fn exceeded(what: &str, usage: &Usage, asked: u64) -> AppError {
    let resets = usage
        .resets_at
        .map(|t| format!("; it resets at {}", t.to_rfc3339()))
        .unwrap_or_default();
    AppError::Coded(
        ErrorCode::QuotaExceeded,
        format!(
            "{what} reached: {} of {} used, {asked} more asked{resets}",
            usage.used, usage.limit
        ),
    )
}

/// Use of a metered quota this period.
pub async fn metered_usage(
    tx: &ScopedTx<'_>,
    metered: Metered,
    limit: u64,
) -> Result<Usage, DbErr> {
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT coalesce((SELECT used FROM tenant_usage WHERE tenant_id = $1 AND metric = $2
                                AND period_start = date_trunc($3, now(), 'UTC')), 0),
                    date_trunc($3, now(), 'UTC') + ('1 ' || $3)::interval",
            [
                tx.tenant_id().into(),
                metered.metric().into(),
                metered.period().into(),
            ],
        ))
        .await?;
    let used = row
        .as_ref()
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    let resets_at = row.and_then(|r| r.try_get_by_index::<DateTime<Utc>>(1).ok());
    Ok(Usage {
        used: used.max(0) as u64,
        limit,
        resets_at,
    })
}

/// Fails with QUOTA_EXCEEDED unless `n` more fit this period (a cheap early check; `charge`
/// decides).
pub async fn ensure_room(tx: &ScopedTx<'_>, metered: Metered, limit: u64, n: u64) -> AppResult<()> {
    let usage = metered_usage(tx, metered, limit).await?;
    if n > usage.remaining() {
        return Err(exceeded(metered.what(), &usage, n));
    }
    Ok(())
}

/// Takes `n` units in the caller's transaction, or fails with QUOTA_EXCEEDED taking none. The
/// row update serializes concurrent charges, so the limit holds across processes.
pub async fn charge(tx: &ScopedTx<'_>, metered: Metered, limit: u64, n: u64) -> AppResult<()> {
    if n == 0 {
        return Ok(());
    }
    let charged = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO tenant_usage AS u (tenant_id, metric, period_start, used)
             SELECT $1, $2, date_trunc($3, now(), 'UTC'), $4 WHERE $4 <= $5
             ON CONFLICT (tenant_id, metric, period_start)
                DO UPDATE SET used = u.used + EXCLUDED.used WHERE u.used + EXCLUDED.used <= $5
             RETURNING used",
            [
                tx.tenant_id().into(),
                metered.metric().into(),
                metered.period().into(),
                (n as i64).into(),
                (limit.min(i64::MAX as u64) as i64).into(),
            ],
        ))
        .await?;
    if charged.is_some() {
        return Ok(());
    }
    let usage = metered_usage(tx, metered, limit).await?;
    Err(exceeded(metered.what(), &usage, n))
}

/// Connectors the tenant holds against its limit.
pub async fn connector_usage(tx: &ScopedTx<'_>, limit: u64) -> Result<Usage, DbErr> {
    let used = crate::tenancy::count(
        tx,
        "SELECT count(*) FROM connectors WHERE tenant_id = $1".to_owned(),
        vec![tx.tenant_id().into()],
    )
    .await?;
    Ok(Usage {
        used,
        limit,
        resets_at: None,
    })
}

/// Fails with QUOTA_EXCEEDED when the tenant holds its limit of connectors. Holds a lock per
/// tenant until the transaction ends, so concurrent creations cannot both take the last one.
pub async fn ensure_connector_room(tx: &ScopedTx<'_>, limit: u64) -> AppResult<()> {
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended('connectors:' || $1::text, 0))",
            [tx.tenant_id().into()],
        ))
        .await?;
    let usage = connector_usage(tx, limit).await?;
    if usage.remaining() == 0 {
        return Err(exceeded("connector quota", &usage, 1));
    }
    Ok(())
}

/// Everything `usage` shows: connectors, proposals this month, events this hour.
pub struct TenantUsage {
    pub connectors: Usage,
    pub proposals: Usage,
    pub events: Usage,
}

pub async fn usage(
    db: &sea_orm::DatabaseConnection,
    defaults: &QuotaSettings,
    scope: &crate::domains::auth::scope::TenantScope,
) -> AppResult<TenantUsage> {
    let tx = ScopedTx::begin(db, scope).await?;
    let limits = limits(&tx, defaults).await?;
    let usage = TenantUsage {
        connectors: connector_usage(&tx, limits.connectors).await?,
        proposals: metered_usage(&tx, Metered::Proposals, limits.proposals_per_month).await?,
        events: metered_usage(&tx, Metered::Events, limits.events_per_hour).await?,
    };
    tx.commit().await?;
    Ok(usage)
}

/// An operator's change to one tenant's quotas: `Some` sets a limit, `None` keeps it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Override {
    pub connectors: Option<u64>,
    pub proposals_per_month: Option<u64>,
    pub events_per_hour: Option<u64>,
    /// Drop every override first (back to the configured defaults).
    pub reset: bool,
}

/// Writes a tenant's override row as the database owner (the app role can only read it).
pub async fn set_override(
    settings: &crate::config::DatabaseSettings,
    tenant: uuid::Uuid,
    change: Override,
) -> Result<(), DbErr> {
    use secrecy::ExposeSecret;
    let conn = sea_orm::Database::connect(settings.migration_url.expose_secret()).await?;
    let n = |v: Option<u64>| v.map(|v| v.min(i64::MAX as u64) as i64);
    let done = conn
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO tenant_quotas AS q (tenant_id, connectors, proposals_per_month, events_per_hour)
             SELECT id, $2, $3, $4 FROM tenants WHERE id = $1
             ON CONFLICT (tenant_id) DO UPDATE SET
                connectors = CASE WHEN $5 THEN EXCLUDED.connectors ELSE coalesce(EXCLUDED.connectors, q.connectors) END,
                proposals_per_month = CASE WHEN $5 THEN EXCLUDED.proposals_per_month
                                      ELSE coalesce(EXCLUDED.proposals_per_month, q.proposals_per_month) END,
                events_per_hour = CASE WHEN $5 THEN EXCLUDED.events_per_hour
                                  ELSE coalesce(EXCLUDED.events_per_hour, q.events_per_hour) END,
                updated_at = now()",
            [
                tenant.into(),
                n(change.connectors).into(),
                n(change.proposals_per_month).into(),
                n(change.events_per_hour).into(),
                change.reset.into(),
            ],
        ))
        .await?;
    conn.close().await?;
    if done.rows_affected() == 0 {
        return Err(DbErr::RecordNotFound(format!("tenant {tenant}")));
    }
    Ok(())
}
