//! The resolution queue: canonical records changed by an ingest batch (queued in its
//! transaction) waiting for the resolution stage, which takes them in transactions of its own.
use sea_orm::sea_query::ArrayType;
use sea_orm::DbErr;
use uuid::Uuid;

use super::store::{array, execute, query};
use crate::tenancy::ScopedTx;

/// Queues records for resolution (a record already waiting keeps its place).
pub async fn enqueue(tx: &ScopedTx<'_>, records: &[(String, Uuid)]) -> Result<(), DbErr> {
    if records.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO resolution_queue (tenant_id, entity, canonical_id)
         SELECT $1, e, c FROM unnest($2::text[], $3::uuid[]) AS t(e, c)
         ON CONFLICT DO NOTHING",
        vec![
            tx.tenant_id().into(),
            array(records.iter().map(|r| r.0.clone()), ArrayType::String),
            array(records.iter().map(|r| r.1), ArrayType::Uuid),
        ],
    )
    .await
    .map(drop)
}

/// Queues the connector's canonical records that are in no unified record (stored while
/// resolution was off, or before it existed). Returns how many.
pub async fn enqueue_unlinked(tx: &ScopedTx<'_>, connector: Uuid) -> Result<u64, DbErr> {
    execute(
        tx,
        "INSERT INTO resolution_queue (tenant_id, entity, canonical_id)
         SELECT r.tenant_id, r.entity, r.id FROM canonical_records r
         WHERE r.tenant_id = $1 AND r.connector_id = $2 AND NOT EXISTS (
             SELECT 1 FROM record_links l
             WHERE l.tenant_id = r.tenant_id AND l.entity = r.entity AND l.canonical_id = r.id)
         ON CONFLICT DO NOTHING",
        vec![tx.tenant_id().into(), connector.into()],
    )
    .await
}

/// Queues the entity's records linked by a score (scored before the tenant's model was learned:
/// what was learned may place them elsewhere). Returns how many.
pub async fn enqueue_scored(tx: &ScopedTx<'_>, entity: &str) -> Result<u64, DbErr> {
    execute(
        tx,
        "INSERT INTO resolution_queue (tenant_id, entity, canonical_id)
         SELECT tenant_id, entity, canonical_id FROM record_links
         WHERE tenant_id = $1 AND entity = $2 AND rule = 'SCORE'
         ON CONFLICT DO NOTHING",
        vec![tx.tenant_id().into(), entity.into()],
    )
    .await
}

/// Takes up to `limit` queued records after position `after`, in queue order, out of the queue
/// (the caller resolves them in the same transaction; rows another stage is taking are skipped,
/// not waited for). Returns them with the position of the last.
pub async fn take(
    tx: &ScopedTx<'_>,
    after: i64,
    limit: usize,
) -> Result<(Vec<(String, Uuid)>, i64), DbErr> {
    let rows = query(
        tx,
        "DELETE FROM resolution_queue q USING (
             SELECT entity, canonical_id FROM resolution_queue
             WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) t
         WHERE q.tenant_id = $1 AND q.entity = t.entity AND q.canonical_id = t.canonical_id
         RETURNING q.entity, q.canonical_id, q.seq",
        vec![tx.tenant_id().into(), after.into(), (limit as i64).into()],
    )
    .await?;
    let mut last = after;
    let mut taken = Vec::with_capacity(rows.len());
    for r in &rows {
        last = last.max(r.try_get::<i64>("", "seq")?);
        taken.push((r.try_get("", "entity")?, r.try_get("", "canonical_id")?));
    }
    Ok((taken, last))
}

/// Refreshes the planner's statistics of the tables resolution reads (migrations 0012, 0013).
pub async fn refresh_statistics(tx: &ScopedTx<'_>) -> Result<(), DbErr> {
    execute(tx, "SELECT refresh_resolution_statistics()", Vec::new())
        .await
        .map(drop)
}
