//! PostgreSQL access: the app pool and migrations (tenant-scoped transactions: `crate::tenancy`).
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

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
