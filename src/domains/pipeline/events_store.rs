//! What a sync run writes and what is read back of it: canonical events and records (with
//! lineage), quarantined rows, and per-mapping figures.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::model::{Quarantined, StoredEvent, StoredRecord};
use crate::pagination::PageRequest;
use crate::read_columns::read_columns;
use crate::tenancy::ScopedTx;

pub struct NewEvent {
    pub id: Uuid,
    pub entity: String,
    pub canonical_id: Uuid,
    pub data: serde_json::Value,
    pub extras: serde_json::Value,
    pub errors: serde_json::Value,
    pub source_record_id: String,
    pub record_version: String,
    pub lineage: serde_json::Value,
}

pub struct EventSource<'a> {
    pub system: &'a str,
    pub connector: Uuid,
    pub entity: &'a str,
    pub schema_version: i32,
    pub trace_id: &'a str,
    pub job: Uuid,
}

/// Writes events (an event already written for the same record version is skipped) and
/// upserts the canonical records of the ones written. Returns the records changed (entity,
/// canonical id): one per new event.
pub async fn write_events(
    tx: &ScopedTx<'_>,
    source: &EventSource<'_>,
    events: &[NewEvent],
) -> Result<Vec<(String, Uuid)>, DbErr> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let col = |f: &dyn Fn(&NewEvent) -> Value| -> Vec<Value> { events.iter().map(f).collect() };
    let arr = |vals: Vec<Value>, ty: sea_orm::sea_query::ArrayType| {
        Value::Array(ty, Some(Box::new(vals)))
    };
    use sea_orm::sea_query::ArrayType;
    let rows = tx
        .conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[], $5::jsonb[],
                                     $6::jsonb[], $7::text[], $8::text[], $9::jsonb[])
                       AS t(id, entity, canonical_id, data, extras, errors, source_record_id, record_version, lineage)),
             ins AS (
                INSERT INTO canonical_events (id, tenant_id, entity, canonical_id, data, extras, errors,
                    source_system, connector_id, source_entity, source_record_id, record_version,
                    schema_version, trace_id, job_id, lineage)
                SELECT id, $10, entity, canonical_id, data, extras, errors, $11, $12, $13,
                       source_record_id, record_version, $14, $15, $16, lineage FROM input
                ON CONFLICT (tenant_id, source_system, entity, source_record_id, record_version) DO NOTHING
                RETURNING id, entity, canonical_id, data, extras, lineage, source_record_id),
             rec AS (
                INSERT INTO canonical_records (tenant_id, entity, id, source_system, connector_id,
                    source_entity, source_record_id, data, extras, lineage, last_event_id)
                SELECT $10, entity, canonical_id, $11, $12, $13, source_record_id, data, extras, lineage, id FROM ins
                ON CONFLICT (tenant_id, entity, id) DO UPDATE SET data = EXCLUDED.data,
                    extras = EXCLUDED.extras, lineage = EXCLUDED.lineage,
                    last_event_id = EXCLUDED.last_event_id, updated_at = now()
                RETURNING 1)
             SELECT entity, canonical_id FROM ins",
            [
                arr(col(&|e| e.id.into()), ArrayType::Uuid),
                arr(col(&|e| e.entity.clone().into()), ArrayType::String),
                arr(col(&|e| e.canonical_id.into()), ArrayType::Uuid),
                arr(col(&|e| e.data.clone().into()), ArrayType::Json),
                arr(col(&|e| e.extras.clone().into()), ArrayType::Json),
                arr(col(&|e| e.errors.clone().into()), ArrayType::Json),
                arr(col(&|e| e.source_record_id.clone().into()), ArrayType::String),
                arr(col(&|e| e.record_version.clone().into()), ArrayType::String),
                arr(col(&|e| e.lineage.clone().into()), ArrayType::Json),
                tx.tenant_id().into(),
                source.system.into(),
                source.connector.into(),
                source.entity.into(),
                source.schema_version.into(),
                source.trace_id.into(),
                source.job.into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "entity")?, r.try_get("", "canonical_id")?)))
        .collect()
}

pub struct NewQuarantine {
    pub position: u64,
    pub reason: String,
    pub raw: String,
}

pub async fn quarantine(
    tx: &ScopedTx<'_>,
    job: Uuid,
    connector: Uuid,
    entity: &str,
    rows: &[NewQuarantine],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    use sea_orm::sea_query::ArrayType;
    let arr = |vals: Vec<Value>, ty: ArrayType| Value::Array(ty, Some(Box::new(vals)));
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO quarantined_records (tenant_id, job_id, connector_id, source_entity, row_number, reason, raw)
             SELECT $1, $2, $3, $4, r, why, raw FROM unnest($5::bigint[], $6::text[], $7::text[]) AS t(r, why, raw)
             ON CONFLICT (tenant_id, job_id, source_entity, row_number) DO NOTHING",
            [
                tx.tenant_id().into(),
                job.into(),
                connector.into(),
                entity.into(),
                arr(rows.iter().map(|q| (q.position as i64).into()).collect(), ArrayType::BigInt),
                arr(rows.iter().map(|q| q.reason.clone().into()).collect(), ArrayType::String),
                // Bounded: a quarantined row is evidence, not a second copy of a huge file.
                arr(
                    rows.iter()
                        .map(|q| q.raw.chars().take(2000).collect::<String>().into())
                        .collect(),
                    ArrayType::String,
                ),
            ],
        ))
        .await?;
    Ok(())
}

read_columns!(Quarantined {
    id,
    source_entity,
    row_number,
    reason,
    raw
});

pub async fn quarantine_page(
    tx: &ScopedTx<'_>,
    job: Uuid,
    page: &PageRequest,
) -> Result<(Vec<Quarantined>, u64), DbErr> {
    let rows = Quarantined::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, source_entity, row_number, reason, raw FROM quarantined_records
         WHERE tenant_id = $1 AND job_id = $2 AND ($3::uuid IS NULL OR (source_entity, row_number) >
               (SELECT source_entity, row_number FROM quarantined_records WHERE tenant_id = $1 AND id = $3))
         ORDER BY source_entity, row_number LIMIT $4",
        [
            tx.tenant_id().into(),
            job.into(),
            page.after.into(),
            (page.fetch_limit() as i64).into(),
        ],
    ))
    .all(tx.conn())
    .await?;
    let total = crate::tenancy::count(
        tx,
        "SELECT count(*) FROM quarantined_records WHERE tenant_id = $1 AND job_id = $2".to_owned(),
        vec![tx.tenant_id().into(), job.into()],
    )
    .await?;
    Ok((rows, total))
}

read_columns!(StoredRecord {
    entity,
    id,
    source_system,
    connector_id,
    source_entity,
    source_record_id,
    data,
    extras,
    lineage,
    updated_at
});

pub async fn find_record(
    tx: &ScopedTx<'_>,
    entity: &str,
    id: Uuid,
) -> Result<Option<StoredRecord>, DbErr> {
    StoredRecord::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT entity, id, source_system, connector_id, source_entity, source_record_id, data, extras,
                lineage, updated_at
         FROM canonical_records WHERE tenant_id = $1 AND entity = $2 AND id = $3",
        [tx.tenant_id().into(), entity.into(), id.into()],
    ))
    .one(tx.conn())
    .await
}

read_columns!(StoredEvent {
    id,
    entity,
    canonical_id,
    data,
    extras,
    errors,
    source_system,
    connector_id,
    source_entity,
    source_record_id,
    record_version,
    schema_version,
    trace_id,
    lineage,
    emitted_at
});

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub entity: Option<String>,
    pub connector: Option<Uuid>,
    pub source_record_id: Option<String>,
    pub canonical_id: Option<Uuid>,
    pub with_errors: Option<bool>,
}

/// Events newest first (ids are UUIDv7).
pub async fn event_page(
    tx: &ScopedTx<'_>,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<(Vec<StoredEvent>, u64), DbErr> {
    let condition = "tenant_id = $1 AND ($2::text IS NULL OR entity = $2)
         AND ($3::uuid IS NULL OR connector_id = $3) AND ($4::text IS NULL OR source_record_id = $4)
         AND ($5::uuid IS NULL OR canonical_id = $5)
         AND ($6::boolean IS NULL OR (errors <> '[]'::jsonb) = $6)";
    let values = || -> Vec<Value> {
        vec![
            tx.tenant_id().into(),
            filter.entity.clone().into(),
            filter.connector.into(),
            filter.source_record_id.clone().into(),
            filter.canonical_id.into(),
            filter.with_errors.into(),
        ]
    };
    let mut with_page = values();
    with_page.push(page.after.into());
    with_page.push((page.fetch_limit() as i64).into());
    let rows = StoredEvent::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT id, entity, canonical_id, data, extras, errors, source_system, connector_id, source_entity,
                    source_record_id, record_version, schema_version, trace_id, lineage, emitted_at
             FROM canonical_events WHERE {condition} AND ($7::uuid IS NULL OR id < $7)
             ORDER BY id DESC LIMIT $8"
        ),
        with_page,
    ))
    .all(tx.conn())
    .await?;
    let total = crate::tenancy::count(
        tx,
        format!("SELECT count(*) FROM canonical_events WHERE {condition}"),
        values(),
    )
    .await?;
    Ok((rows, total))
}

/// Adds a batch's validations to each mapping's figures; `elapsed_us` (the batch's build time)
/// is shared among mappings by the number of values each handled.
pub async fn record_mapping_stats(
    tx: &ScopedTx<'_>,
    stats: &std::collections::HashMap<Uuid, (u64, u64)>,
    elapsed_us: u64,
) -> Result<(), DbErr> {
    if stats.is_empty() {
        return Ok(());
    }
    use sea_orm::sea_query::ArrayType;
    let total: u64 = stats
        .values()
        .map(|(ok, failed)| ok + failed)
        .sum::<u64>()
        .max(1);
    let arr = |vals: Vec<Value>, ty: ArrayType| Value::Array(ty, Some(Box::new(vals)));
    let ids: Vec<Value> = stats.keys().map(|id| (*id).into()).collect();
    let oks: Vec<Value> = stats.values().map(|(ok, _)| (*ok as i64).into()).collect();
    let fails: Vec<Value> = stats.values().map(|(_, f)| (*f as i64).into()).collect();
    let times: Vec<Value> = stats
        .values()
        .map(|(ok, f)| ((elapsed_us * (ok + f) / total) as i64).into())
        .collect();
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO mapping_stats AS s (tenant_id, mapping_id, values_ok, values_failed, processing_us, last_validated_at)
             SELECT $1, id, ok, failed, us, now() FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(id, ok, failed, us)
             ON CONFLICT (tenant_id, mapping_id) DO UPDATE SET
                values_ok = s.values_ok + EXCLUDED.values_ok,
                values_failed = s.values_failed + EXCLUDED.values_failed,
                processing_us = s.processing_us + EXCLUDED.processing_us,
                last_validated_at = now()",
            [
                tx.tenant_id().into(),
                arr(ids, ArrayType::Uuid),
                arr(oks, ArrayType::BigInt),
                arr(fails, ArrayType::BigInt),
                arr(times, ArrayType::BigInt),
            ],
        ))
        .await?;
    Ok(())
}
