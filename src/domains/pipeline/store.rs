//! Rows of the pipeline: source schemas, drift events and sync jobs (events and records are in
//! `events_store`). Every statement filters by the transaction's tenant (RLS does too).
use entity::{drift_events, jobs, source_fields, source_schemas};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::sync::SyncPayload;
use crate::domains::connectors::drift::Drift;
use crate::domains::connectors::source::FieldSchema;
use crate::domains::jobs::store as jobs_store;
use crate::domains::jobs::{JobStatus, JobType};
use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

pub struct CurrentSchema {
    pub version: i32,
    pub fingerprint: String,
    pub fields: Vec<FieldSchema>,
}

pub async fn current_schema(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    entity: &str,
) -> Result<Option<CurrentSchema>, DbErr> {
    let Some(schema) = source_schemas::Entity::find()
        .filter(source_schemas::Column::TenantId.eq(tx.tenant_id()))
        .filter(source_schemas::Column::ConnectorId.eq(connector))
        .filter(source_schemas::Column::SourceEntity.eq(entity))
        .filter(source_schemas::Column::IsCurrent.eq(true))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let fields = schema_fields(tx, schema.id).await?;
    Ok(Some(CurrentSchema {
        version: schema.version,
        fingerprint: schema.fingerprint,
        fields,
    }))
}

async fn schema_fields(tx: &ScopedTx<'_>, schema_id: Uuid) -> Result<Vec<FieldSchema>, DbErr> {
    Ok(source_fields::Entity::find()
        .filter(source_fields::Column::TenantId.eq(tx.tenant_id()))
        .filter(source_fields::Column::SourceSchemaId.eq(schema_id))
        .order_by_asc(source_fields::Column::Position)
        .all(tx.conn())
        .await?
        .into_iter()
        .map(|f| FieldSchema {
            name: f.name,
            data_type: f.data_type,
            samples: serde_json::from_value(f.samples).unwrap_or_default(),
        })
        .collect())
}

/// Records a new current version of an entity's schema.
pub async fn save_schema(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    entity: &str,
    version: i32,
    fingerprint: &str,
    fields: &[FieldSchema],
) -> Result<(), DbErr> {
    source_schemas::Entity::update_many()
        .col_expr(source_schemas::Column::IsCurrent, false.into())
        .filter(source_schemas::Column::TenantId.eq(tx.tenant_id()))
        .filter(source_schemas::Column::ConnectorId.eq(connector))
        .filter(source_schemas::Column::SourceEntity.eq(entity))
        .exec(tx.conn())
        .await?;
    let schema_id = Uuid::now_v7();
    source_schemas::ActiveModel {
        id: Set(schema_id),
        tenant_id: Set(tx.tenant_id()),
        connector_id: Set(connector),
        source_entity: Set(entity.to_owned()),
        version: Set(version),
        fingerprint: Set(fingerprint.to_owned()),
        is_current: Set(true),
        discovered_at: Set(chrono::Utc::now()),
    }
    .insert(tx.conn())
    .await?;
    if fields.is_empty() {
        return Ok(());
    }
    let rows = fields
        .iter()
        .enumerate()
        .map(|(i, f)| source_fields::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tx.tenant_id()),
            source_schema_id: Set(schema_id),
            connector_id: Set(connector),
            source_entity: Set(entity.to_owned()),
            name: Set(f.name.clone()),
            data_type: Set(f.data_type.clone()),
            nullable: Set(true),
            description: Set(None),
            samples: Set(json!(f.samples)),
            position: Set(i as i32),
            created_at: Set(chrono::Utc::now()),
        });
    source_fields::Entity::insert_many(rows)
        .exec(tx.conn())
        .await?;
    Ok(())
}

pub struct SchemaVersion {
    pub version: i32,
    pub fingerprint: String,
    pub is_current: bool,
    pub discovered_at: chrono::DateTime<chrono::Utc>,
    pub entity: String,
    pub fields: Vec<FieldSchema>,
}

/// Every version of every entity's schema of a connector, newest first.
pub async fn schema_timeline(
    tx: &ScopedTx<'_>,
    connector: Uuid,
) -> Result<Vec<SchemaVersion>, DbErr> {
    let schemas = source_schemas::Entity::find()
        .filter(source_schemas::Column::TenantId.eq(tx.tenant_id()))
        .filter(source_schemas::Column::ConnectorId.eq(connector))
        .order_by_asc(source_schemas::Column::SourceEntity)
        .order_by_desc(source_schemas::Column::Version)
        .all(tx.conn())
        .await?;
    let mut out = Vec::with_capacity(schemas.len());
    for s in schemas {
        out.push(SchemaVersion {
            fields: schema_fields(tx, s.id).await?,
            version: s.version,
            fingerprint: s.fingerprint,
            is_current: s.is_current,
            discovered_at: s.discovered_at,
            entity: s.source_entity,
        });
    }
    Ok(out)
}

pub async fn insert_drift(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    entity: &str,
    version: i32,
    drifts: &[Drift],
    breaking: &(dyn Fn(&Drift) -> bool + Sync),
) -> Result<(), DbErr> {
    if drifts.is_empty() {
        return Ok(());
    }
    let view =
        |f: &FieldSchema| json!({ "name": f.name, "dataType": f.data_type, "samples": f.samples });
    let rows = drifts.iter().map(|d| {
        let (name, previous, current) = match d {
            Drift::Added(f) => (f.name.clone(), None, Some(view(f))),
            Drift::Removed(f) => (f.name.clone(), Some(view(f)), None),
            Drift::Renamed { from, to } | Drift::TypeChanged { from, to } => {
                (to.name.clone(), Some(view(from)), Some(view(to)))
            }
        };
        drift_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tx.tenant_id()),
            connector_id: Set(connector),
            source_entity: Set(entity.to_owned()),
            kind: Set(d.kind().as_str().to_owned()),
            field_name: Set(name),
            previous: Set(previous),
            current: Set(current),
            schema_version: Set(version),
            breaking: Set(breaking(d)),
            detected_at: Set(chrono::Utc::now()),
        }
    });
    drift_events::Entity::insert_many(rows)
        .exec(tx.conn())
        .await?;
    Ok(())
}

pub async fn drift_page(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    page: &PageRequest,
) -> Result<(Vec<drift_events::Model>, u64), DbErr> {
    let base = drift_events::Entity::find()
        .filter(drift_events::Column::TenantId.eq(tx.tenant_id()))
        .filter(drift_events::Column::ConnectorId.eq(connector));
    newest_first(tx, base, drift_events::Column::Id, page).await
}

/// A keyset page of `base`, newest first by its UUIDv7 `id`, with the total it pages over.
async fn newest_first<E>(
    tx: &ScopedTx<'_>,
    base: sea_orm::Select<E>,
    id: E::Column,
    page: &PageRequest,
) -> Result<(Vec<E::Model>, u64), DbErr>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    let total = base.clone().count(tx.conn()).await?;
    let mut q = base.order_by_desc(id);
    if let Some(after) = page.after {
        q = q.filter(id.lt(after));
    }
    Ok((q.limit(page.fetch_limit()).all(tx.conn()).await?, total))
}

// ---- jobs ----

pub async fn create_job(
    tx: &ScopedTx<'_>,
    connector: Uuid,
    payload: &SyncPayload,
) -> Result<jobs::Model, DbErr> {
    jobs_store::create(
        tx,
        JobType::Sync,
        Some(connector),
        json!(payload),
        json!({}),
    )
    .await
}

/// The connector's sync run that is queued or running, if any (at most one: migration 0016).
pub async fn unfinished_job(
    tx: &ScopedTx<'_>,
    connector: Uuid,
) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::TenantId.eq(tx.tenant_id()))
        .filter(jobs::Column::Kind.eq(JobType::Sync.as_str()))
        .filter(jobs::Column::ConnectorId.eq(connector))
        .filter(
            jobs::Column::Status.is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]),
        )
        .one(tx.conn())
        .await
}

pub async fn find_job(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<jobs::Model>, DbErr> {
    jobs_store::find(tx, id, JobType::Sync).await
}

pub async fn job_page(
    tx: &ScopedTx<'_>,
    connector: Option<Uuid>,
    page: &PageRequest,
) -> Result<(Vec<jobs::Model>, u64), DbErr> {
    let mut base = jobs::Entity::find()
        .filter(jobs::Column::TenantId.eq(tx.tenant_id()))
        .filter(jobs::Column::Kind.eq(JobType::Sync.as_str()));
    if let Some(c) = connector {
        base = base.filter(jobs::Column::ConnectorId.eq(c));
    }
    newest_first(tx, base, jobs::Column::Id, page).await
}
