use entity::connectors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use uuid::Uuid;

use super::model::ConnectorFilter;
use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

pub async fn insert(
    tx: &ScopedTx<'_>,
    name: &str,
    kind: &str,
    config: serde_json::Value,
) -> Result<connectors::Model, DbErr> {
    let now = chrono::Utc::now();
    connectors::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant_id()),
        name: Set(name.to_owned()),
        kind: Set(kind.to_owned()),
        config: Set(config),
        status: Set("ACTIVE".to_owned()),
        created_by: Set(tx.scope().actor().id),
        last_synced_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx.conn())
    .await
}

pub async fn find(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<connectors::Model>, DbErr> {
    connectors::Entity::find_by_id(id)
        .filter(connectors::Column::TenantId.eq(tx.tenant_id()))
        .one(tx.conn())
        .await
}

pub async fn lock(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<connectors::Model>, DbErr> {
    connectors::Entity::find_by_id(id)
        .filter(connectors::Column::TenantId.eq(tx.tenant_id()))
        .lock_exclusive()
        .one(tx.conn())
        .await
}

fn filtered(tx: &ScopedTx<'_>, filter: &ConnectorFilter) -> Select<connectors::Entity> {
    let mut q = connectors::Entity::find().filter(connectors::Column::TenantId.eq(tx.tenant_id()));
    if let Some(kind) = filter.kind {
        q = q.filter(connectors::Column::Kind.eq(kind.as_str()));
    }
    if let Some(status) = filter.status {
        q = q.filter(connectors::Column::Status.eq(status.as_str()));
    }
    q
}

pub async fn list(
    tx: &ScopedTx<'_>,
    filter: &ConnectorFilter,
    page: &PageRequest,
) -> Result<Vec<connectors::Model>, DbErr> {
    let mut q = filtered(tx, filter);
    if let Some(after) = page.after {
        q = q.filter(connectors::Column::Id.gt(after));
    }
    q.order_by_asc(connectors::Column::Id)
        .limit(page.fetch_limit())
        .all(tx.conn())
        .await
}

pub async fn count(tx: &ScopedTx<'_>, filter: &ConnectorFilter) -> Result<u64, DbErr> {
    filtered(tx, filter).count(tx.conn()).await
}

pub async fn save(
    tx: &ScopedTx<'_>,
    model: connectors::ActiveModel,
) -> Result<connectors::Model, DbErr> {
    model.update(tx.conn()).await
}

pub async fn delete(tx: &ScopedTx<'_>, model: connectors::Model) -> Result<(), DbErr> {
    model.delete(tx.conn()).await.map(|_| ())
}

pub async fn mark_synced(tx: &ScopedTx<'_>, id: Uuid) -> Result<(), DbErr> {
    connectors::Entity::update_many()
        .col_expr(connectors::Column::LastSyncedAt, chrono::Utc::now().into())
        .filter(connectors::Column::TenantId.eq(tx.tenant_id()))
        .filter(connectors::Column::Id.eq(id))
        .exec(tx.conn())
        .await?;
    Ok(())
}
