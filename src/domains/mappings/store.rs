use entity::mappings;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use uuid::Uuid;

use super::model::MappingFilter;
use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

pub async fn insert(
    tx: &ScopedTx<'_>,
    mut row: mappings::ActiveModel,
) -> Result<mappings::Model, DbErr> {
    row.id = Set(Uuid::now_v7());
    row.tenant_id = Set(tx.tenant_id());
    row.insert(tx.conn()).await
}

/// Inserts rows in bounded multi-row statements (one round trip per 500 rows).
pub async fn insert_many(tx: &ScopedTx<'_>, rows: Vec<mappings::ActiveModel>) -> Result<(), DbErr> {
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(500));
        let chunk: Vec<mappings::ActiveModel> = std::mem::replace(&mut rows, rest)
            .into_iter()
            .map(|mut row| {
                row.id = Set(Uuid::now_v7());
                row.tenant_id = Set(tx.tenant_id());
                row
            })
            .collect();
        mappings::Entity::insert_many(chunk)
            .exec_without_returning(tx.conn())
            .await?;
    }
    Ok(())
}

/// The newest version, locked: every write to a mapping starts here, so writes serialize.
pub async fn lock_head(
    tx: &ScopedTx<'_>,
    mapping_id: Uuid,
) -> Result<Option<mappings::Model>, DbErr> {
    mappings::Entity::find()
        .filter(mappings::Column::TenantId.eq(tx.tenant_id()))
        .filter(mappings::Column::MappingId.eq(mapping_id))
        .filter(mappings::Column::IsHead.eq(true))
        .lock_exclusive()
        .one(tx.conn())
        .await
}

pub async fn versions(
    tx: &ScopedTx<'_>,
    mapping_ids: Vec<Uuid>,
) -> Result<Vec<mappings::Model>, DbErr> {
    mappings::Entity::find()
        .filter(mappings::Column::TenantId.eq(tx.tenant_id()))
        .filter(mappings::Column::MappingId.is_in(mapping_ids))
        .order_by_asc(mappings::Column::MappingId)
        .order_by_asc(mappings::Column::Version)
        .all(tx.conn())
        .await
}

/// Changes the flags of an existing version; versions' content never changes.
pub async fn set_state(
    tx: &ScopedTx<'_>,
    row: mappings::Model,
    status: &str,
    is_active: bool,
    is_head: bool,
) -> Result<mappings::Model, DbErr> {
    let mut active = row.into_active_model();
    active.status = Set(status.to_owned());
    active.is_active = Set(is_active);
    active.is_head = Set(is_head);
    active.update(tx.conn()).await
}

pub async fn approve(tx: &ScopedTx<'_>, row: mappings::Model) -> Result<mappings::Model, DbErr> {
    let mut active = row.into_active_model();
    active.status = Set("ACTIVE".to_owned());
    active.is_active = Set(true);
    active.approved_by = Set(tx.scope().actor().id);
    active.approved_at = Set(Some(chrono::Utc::now()));
    active.update(tx.conn()).await
}

fn heads(tx: &ScopedTx<'_>, filter: &MappingFilter) -> Select<mappings::Entity> {
    use mappings::Column as C;
    let mut q = mappings::Entity::find()
        .filter(C::TenantId.eq(tx.tenant_id()))
        .filter(C::IsHead.eq(true));
    if let Some(id) = filter.connector_id {
        q = q.filter(C::ConnectorId.eq(id));
    }
    for (column, value) in [
        (C::SourceSystem, &filter.source_system),
        (C::SourceEntity, &filter.source_entity),
        (C::CanonicalEntity, &filter.canonical_entity),
        (C::CanonicalField, &filter.canonical_field),
    ] {
        if let Some(v) = value {
            q = q.filter(column.eq(v.as_str()));
        }
    }
    if let Some(status) = filter.status {
        q = q.filter(C::Status.eq(status.as_str()));
    }
    if let Some(method) = filter.method {
        q = q.filter(C::Method.eq(method.as_str()));
    }
    q
}

pub async fn list_heads(
    tx: &ScopedTx<'_>,
    filter: &MappingFilter,
    page: &PageRequest,
) -> Result<Vec<mappings::Model>, DbErr> {
    let mut q = heads(tx, filter);
    if let Some(after) = page.after {
        q = q.filter(mappings::Column::MappingId.gt(after));
    }
    q.order_by_asc(mappings::Column::MappingId)
        .limit(page.fetch_limit())
        .all(tx.conn())
        .await
}

pub async fn count_heads(tx: &ScopedTx<'_>, filter: &MappingFilter) -> Result<u64, DbErr> {
    heads(tx, filter).count(tx.conn()).await
}

/// Active versions for one source system and entity (the exact-match set).
pub async fn active_for_source(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
) -> Result<Vec<mappings::Model>, DbErr> {
    mappings::Entity::find()
        .filter(mappings::Column::TenantId.eq(tx.tenant_id()))
        .filter(mappings::Column::SourceSystem.eq(system))
        .filter(mappings::Column::SourceEntity.eq(entity))
        .filter(mappings::Column::IsActive.eq(true))
        .all(tx.conn())
        .await
}

/// The newest version of the mapping for one source field, locked.
pub async fn lock_head_by_source(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    field: &str,
) -> Result<Option<mappings::Model>, DbErr> {
    use sea_orm::sea_query::{Expr, Func};
    mappings::Entity::find()
        .filter(mappings::Column::TenantId.eq(tx.tenant_id()))
        .filter(mappings::Column::SourceSystem.eq(system))
        .filter(mappings::Column::SourceEntity.eq(entity))
        .filter(
            Expr::expr(Func::lower(Expr::col(mappings::Column::SourceField)))
                .eq(field.to_lowercase()),
        )
        .filter(mappings::Column::IsHead.eq(true))
        .lock_exclusive()
        .one(tx.conn())
        .await
}

/// Every mapping head of one source system and entity, locked (one query per proposal call).
pub async fn lock_heads_for_source(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
) -> Result<Vec<mappings::Model>, DbErr> {
    mappings::Entity::find()
        .filter(mappings::Column::TenantId.eq(tx.tenant_id()))
        .filter(mappings::Column::SourceSystem.eq(system))
        .filter(mappings::Column::SourceEntity.eq(entity))
        .filter(mappings::Column::IsHead.eq(true))
        .lock_exclusive()
        .all(tx.conn())
        .await
}
