//! The jobs table as a queue: claiming (one process at a time), heartbeats, outcomes, and the
//! jobs whose process stopped.
use entity::jobs;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Statement};
use uuid::Uuid;

use super::model::{AdoptedJob, JobStatus};
use crate::tenancy::ScopedTx;

/// Takes the job for `owner` (this process): a queued job, a running one whose process
/// stopped beating, or one `owner` adopted (`adopt_jobs`). None when another process has it.
pub async fn claim_job(
    tx: &ScopedTx<'_>,
    id: Uuid,
    kind: &str,
    owner: &str,
    stale_after_secs: u64,
) -> Result<Option<jobs::Model>, DbErr> {
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, heartbeat_at = now(),
                    started_at = coalesce(started_at, now()), claimed_by = $5
             WHERE tenant_id = $1 AND id = $2 AND kind = $4
               AND (status = 'QUEUED'
                    OR (status = 'RUNNING' AND (claimed_by = $5
                        OR heartbeat_at < now() - make_interval(secs => $3))))
             RETURNING id",
            [
                tx.tenant_id().into(),
                id.into(),
                (stale_after_secs as f64).into(),
                kind.into(),
                owner.into(),
            ],
        ))
        .await?;
    match row {
        Some(_) => jobs::Entity::find_by_id(id).one(tx.conn()).await,
        None => Ok(None),
    }
}

/// Keeps a waiting or running job from looking abandoned, unless another process holds it now.
pub async fn touch(tx: &ScopedTx<'_>, id: Uuid, owner: &str) -> Result<(), DbErr> {
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET heartbeat_at = now()
             WHERE tenant_id = $1 AND id = $2 AND (claimed_by IS NULL OR claimed_by = $3)",
            [tx.tenant_id().into(), id.into(), owner.into()],
        ))
        .await?;
    Ok(())
}

pub async fn finish_job(
    tx: &ScopedTx<'_>,
    id: Uuid,
    status: JobStatus,
    counts: &serde_json::Value,
    errors: &serde_json::Value,
) -> Result<(), DbErr> {
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET status = $3, counts = $4, errors = $5, finished_at = now(), heartbeat_at = now()
             WHERE tenant_id = $1 AND id = $2",
            [
                tx.tenant_id().into(),
                id.into(),
                status.as_str().into(),
                counts.clone().into(),
                errors.clone().into(),
            ],
        ))
        .await?;
    Ok(())
}

/// Jobs of any tenant no live process holds (queued by a process without workers for
/// `queued_after_secs`, or running in one that stopped beating for `running_after_secs`),
/// taken for `owner` in one statement so two processes never adopt the same (no tenant scope:
/// a SECURITY DEFINER function; each is run under its own row's tenant).
pub async fn adopt_jobs(
    db: &sea_orm::DatabaseConnection,
    owner: &str,
    queued_after_secs: u64,
    running_after_secs: u64,
    limit: u32,
) -> Result<Vec<AdoptedJob>, DbErr> {
    let rows = jobs::Model::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM adopt_jobs($1, make_interval(secs => $2), make_interval(secs => $3), $4)",
        [
            owner.into(),
            (queued_after_secs as f64).into(),
            (running_after_secs as f64).into(),
            (limit as i32).into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows.iter().map(AdoptedJob::from_row).collect())
}
