//! The review queue's rows.
use entity::mapping_reviews;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use std::collections::HashMap;

use uuid::Uuid;

use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

pub struct NewReview {
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub proposal: serde_json::Value,
    pub confidence: f64,
    pub reason: &'static str,
    pub mapping_id: Option<Uuid>,
}

#[derive(FromQueryResult)]
struct IdRow {
    id: Uuid,
    source_field: String,
}

/// Opens a review per source field, or refreshes the one already open; returns the ids by
/// lower-cased source field. Names must be distinct (case-insensitively) within one call.
pub async fn upsert_pending_many(
    tx: &ScopedTx<'_>,
    reviews: &[NewReview],
) -> Result<HashMap<String, Uuid>, DbErr> {
    let mut ids = HashMap::new();
    for chunk in reviews.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO mapping_reviews (id, tenant_id, source_system, source_entity, source_field, proposal, confidence, reason, mapping_id) VALUES ",
        );
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 9);
        for (i, r) in chunk.iter().enumerate() {
            let b = i * 9;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
            values.extend([
                Uuid::now_v7().into(),
                tx.tenant_id().into(),
                r.source_system.clone().into(),
                r.source_entity.clone().into(),
                r.source_field.clone().into(),
                r.proposal.clone().into(),
                r.confidence.into(),
                r.reason.into(),
                r.mapping_id.into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (tenant_id, source_system, source_entity, lower(source_field)) WHERE status = 'PENDING'
              DO UPDATE SET proposal = EXCLUDED.proposal, confidence = EXCLUDED.confidence, reason = EXCLUDED.reason,
                            mapping_id = EXCLUDED.mapping_id, updated_at = now()
              RETURNING id, source_field",
        );
        let rows = IdRow::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .all(tx.conn())
        .await?;
        for row in rows {
            ids.insert(row.source_field.to_lowercase(), row.id);
        }
    }
    Ok(ids)
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
