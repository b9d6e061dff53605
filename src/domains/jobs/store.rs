//! The jobs table as a queue: claiming (one process at a time), heartbeats, outcomes, and the
//! jobs whose process stopped.
use entity::jobs;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, Set, Statement,
};
use serde_json::json;
use uuid::Uuid;

use super::model::{AdoptedJob, JobStatus, JobType};
use crate::tenancy::ScopedTx;

/// Queues a job of `kind` (of `connector`, when it concerns one), created by the scope's actor,
/// with its first `counts`.
pub async fn create(
    tx: &ScopedTx<'_>,
    kind: JobType,
    connector: Option<Uuid>,
    payload: serde_json::Value,
    counts: serde_json::Value,
) -> Result<jobs::Model, DbErr> {
    let now = chrono::Utc::now();
    jobs::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant_id()),
        kind: Set(kind.as_str().to_owned()),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        connector_id: Set(connector),
        payload: Set(payload),
        counts: Set(counts),
        errors: Set(json!([])),
        attempts: Set(0),
        created_by: Set(tx.scope().actor().id),
        created_at: Set(now),
        started_at: Set(None),
        finished_at: Set(None),
        heartbeat_at: Set(Some(now)),
        claimed_by: Set(None),
    }
    .insert(tx.conn())
    .await
}

pub async fn find(
    tx: &ScopedTx<'_>,
    id: Uuid,
    kind: JobType,
) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find_by_id(id)
        .filter(jobs::Column::TenantId.eq(tx.tenant_id()))
        .filter(jobs::Column::Kind.eq(kind.as_str()))
        .one(tx.conn())
        .await
}

/// Asks a job to stop: a queued one is cancelled at once, a running one stops at its next
/// checkpoint (see `checkpoint`). False when the job was not unfinished.
pub async fn request_cancel(
    tx: &ScopedTx<'_>,
    id: Uuid,
    kind: JobType,
    by: &str,
) -> Result<bool, DbErr> {
    let changed = tx
        .conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET payload = payload || jsonb_build_object('cancelRequested',
                        jsonb_build_object('at', now(), 'by', $3::text)),
                    finished_at = CASE WHEN status = 'QUEUED' THEN now() ELSE finished_at END,
                    status = CASE WHEN status = 'QUEUED' THEN 'CANCELLED' ELSE status END
             WHERE tenant_id = $1 AND id = $2 AND kind = $4 AND status IN ('QUEUED', 'RUNNING')",
            [
                tx.tenant_id().into(),
                id.into(),
                by.into(),
                kind.as_str().into(),
            ],
        ))
        .await?;
    Ok(changed.rows_affected() > 0)
}

/// Stores a job's progress if `owner` still holds it (a process thought dead and taken over
/// must not store work beside its successor): `added` counts added to the job's in SQL, and the
/// checkpoint `key` alone set to `position` (parts of one job, such as a sync run's entities,
/// commit in any order and never overwrite each other's). Some(whether someone asked the job
/// to stop, `request_cancel`); None when another process holds it now.
pub async fn checkpoint(
    tx: &ScopedTx<'_>,
    id: Uuid,
    owner: Option<&str>,
    added: &serde_json::Value,
    key: &str,
    position: &serde_json::Value,
) -> Result<Option<bool>, DbErr> {
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE jobs SET heartbeat_at = now(),
                    counts = counts || coalesce((SELECT jsonb_object_agg(a.key,
                                 coalesce((counts ->> a.key)::bigint, 0) + (a.value)::bigint)
                             FROM jsonb_each_text($3) a), '{}'),
                    payload = jsonb_set(payload, '{checkpoints}',
                        coalesce(payload -> 'checkpoints', '{}') || jsonb_build_object($4::text, $5::jsonb))
             WHERE tenant_id = $1 AND id = $2 AND claimed_by IS NOT DISTINCT FROM $6
             RETURNING payload ? 'cancelRequested' AS cancel",
            [
                tx.tenant_id().into(),
                id.into(),
                added.clone().into(),
                key.into(),
                position.clone().into(),
                owner.map(str::to_owned).into(),
            ],
        ))
        .await?;
    row.map(|r| r.try_get("", "cancel")).transpose()
}

/// Takes the job for `owner` (this process): a queued job, a running one whose process
/// stopped beating, or one `owner` adopted (`adopt_jobs`). None when another process has it.
pub async fn claim_job(
    tx: &ScopedTx<'_>,
    id: Uuid,
    kind: JobType,
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
                kind.as_str().into(),
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
