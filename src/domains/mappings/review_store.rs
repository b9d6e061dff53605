//! The review queue's rows.
use entity::mapping_reviews;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use crate::infra::db::ScopedTx;
use crate::pagination::PageRequest;

pub struct NewReview<'a> {
    pub source_system: &'a str,
    pub source_entity: &'a str,
    pub source_field: &'a str,
    pub proposal: serde_json::Value,
    pub confidence: f64,
    pub reason: &'a str,
    pub mapping_id: Option<Uuid>,
}

#[derive(FromQueryResult)]
struct IdRow {
    id: Uuid,
}

/// Opens a review for the source field, or refreshes the one already open.
pub async fn upsert_pending(tx: &ScopedTx<'_>, r: NewReview<'_>) -> Result<Uuid, DbErr> {
    let row = IdRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO mapping_reviews (id, tenant_id, source_system, source_entity, source_field, proposal, confidence, reason, mapping_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, source_system, source_entity, lower(source_field)) WHERE status = 'PENDING'
         DO UPDATE SET proposal = EXCLUDED.proposal, confidence = EXCLUDED.confidence, reason = EXCLUDED.reason,
                       mapping_id = EXCLUDED.mapping_id, updated_at = now()
         RETURNING id",
        [
            Uuid::now_v7().into(),
            tx.tenant_id().into(),
            r.source_system.into(),
            r.source_entity.into(),
            r.source_field.into(),
            r.proposal.into(),
            r.confidence.into(),
            r.reason.into(),
            r.mapping_id.into(),
        ],
    ))
    .one(tx.conn())
    .await?;
    row.map(|r| r.id).ok_or_else(|| DbErr::RecordNotInserted)
}

pub async fn lock(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<mapping_reviews::Model>, DbErr> {
    mapping_reviews::Entity::find_by_id(id)
        .filter(mapping_reviews::Column::TenantId.eq(tx.tenant_id()))
        .lock_exclusive()
        .one(tx.conn())
        .await
}

pub async fn list(
    tx: &ScopedTx<'_>,
    status: &str,
    page: &PageRequest,
) -> Result<Vec<mapping_reviews::Model>, DbErr> {
    let mut q = mapping_reviews::Entity::find()
        .filter(mapping_reviews::Column::TenantId.eq(tx.tenant_id()))
        .filter(mapping_reviews::Column::Status.eq(status));
    if let Some(after) = page.after {
        q = q.filter(mapping_reviews::Column::Id.gt(after));
    }
    q.order_by_asc(mapping_reviews::Column::Id)
        .limit(page.fetch_limit())
        .all(tx.conn())
        .await
}

pub async fn count(tx: &ScopedTx<'_>, status: &str) -> Result<u64, DbErr> {
    mapping_reviews::Entity::find()
        .filter(mapping_reviews::Column::TenantId.eq(tx.tenant_id()))
        .filter(mapping_reviews::Column::Status.eq(status))
        .count(tx.conn())
        .await
}

pub async fn decide(
    tx: &ScopedTx<'_>,
    review: mapping_reviews::Model,
    status: &str,
    decision: serde_json::Value,
    mapping_id: Option<Uuid>,
) -> Result<mapping_reviews::Model, DbErr> {
    let now = chrono::Utc::now();
    let mut active: mapping_reviews::ActiveModel = review.into();
    active.status = Set(status.to_owned());
    active.decided_by = Set(tx.scope().actor().id);
    active.decided_at = Set(Some(now));
    active.decision = Set(Some(decision));
    active.updated_at = Set(now);
    if mapping_id.is_some() {
        active.mapping_id = Set(mapping_id);
    }
    active.update(tx.conn()).await
}
