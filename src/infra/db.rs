//! PostgreSQL access: the app pool, migrations, and tenant-scoped transactions.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, Statement, TransactionTrait,
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::config::DatabaseSettings;
use crate::domains::auth::scope::TenantScope;

/// Any value works as long as every process agrees on it.
const MIGRATION_LOCK_KEY: i64 = 0x4155_544f_4e4f_4d4f; // "AUTONOMO"

pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.expose_secret().to_owned());
    options
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Applies pending migrations as the owner role. Several processes may start at once, so the
/// work happens under an advisory lock on a single connection.
pub async fn migrate(settings: &DatabaseSettings) -> Result<(), DbErr> {
    let mut options = ConnectOptions::new(settings.migration_url.expose_secret().to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let conn = Database::connect(options).await?;
    conn.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_lock($1)",
        [MIGRATION_LOCK_KEY.into()],
    ))
    .await?;
    let result = Migrator::up(&conn, None).await;
    conn.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_unlock($1)",
        [MIGRATION_LOCK_KEY.into()],
    ))
    .await?;
    conn.close().await?;
    result
}

/// A transaction bound to one tenant: `app.tenant_id` is set for its lifetime, so row-level
/// security applies to every statement, and stores also filter by `tenant_id()` explicitly.
/// Dropped without `commit`, it rolls back.
pub struct ScopedTx<'s> {
    txn: DatabaseTransaction,
    scope: &'s TenantScope,
}

impl<'s> ScopedTx<'s> {
    pub async fn begin(db: &DatabaseConnection, scope: &'s TenantScope) -> Result<Self, DbErr> {
        let txn = db.begin().await?;
        set_tenant(&txn, scope.tenant_id()).await?;
        Ok(Self { txn, scope })
    }

    pub fn tenant_id(&self) -> Uuid {
        self.scope.tenant_id()
    }

    pub fn scope(&self) -> &TenantScope {
        self.scope
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

async fn set_tenant(txn: &DatabaseTransaction, tenant_id: Uuid) -> Result<(), DbErr> {
    txn.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('app.tenant_id', $1, true)",
        [tenant_id.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// Runs a `SELECT count(*) …` in the transaction.
pub async fn count(
    tx: &ScopedTx<'_>,
    sql: String,
    values: Vec<sea_orm::Value>,
) -> Result<u64, DbErr> {
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0) as u64)
}

/// Pending reviews across all tenants (a count only, through a narrow SECURITY DEFINER
/// function), for `/metrics`.
pub async fn pending_reviews_total(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pending_reviews_total()",
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0))
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
