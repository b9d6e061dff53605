use chrono::Utc;
use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};
use uuid::Uuid;

use super::model::AuditFilter;
use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

pub struct NewAuditRow {
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
}

pub async fn insert(tx: &ScopedTx<'_>, row: NewAuditRow) -> Result<(), DbErr> {
    let scope = tx.scope();
    let request = scope.request();
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant_id()),
        actor_kind: Set(scope.actor().kind.as_str().to_owned()),
        actor_id: Set(scope.actor().id),
        action: Set(row.action),
        target_type: Set(row.target_type),
        target_id: Set(row.target_id),
        old_value: Set(row.old_value),
        new_value: Set(row.new_value),
        trace_id: Set(request.trace_id.clone()),
        ip: Set(request.ip.clone()),
        user_agent: Set(request.user_agent.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await
    .map(|_| ())
}

fn filtered(tx: &ScopedTx<'_>, filter: &AuditFilter) -> Select<audit_log::Entity> {
    let mut q = audit_log::Entity::find().filter(audit_log::Column::TenantId.eq(tx.tenant_id()));
    if let Some(action) = &filter.action {
        q = q.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    if let Some(t) = &filter.target_type {
        q = q.filter(audit_log::Column::TargetType.eq(t.as_str()));
    }
    if let Some(id) = &filter.target_id {
        q = q.filter(audit_log::Column::TargetId.eq(id.as_str()));
    }
    q
}

/// Newest first.
pub async fn list(
    tx: &ScopedTx<'_>,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut q = filtered(tx, filter);
    if let Some(after) = page.after {
        q = q.filter(audit_log::Column::Id.lt(after));
    }
    q.order_by_desc(audit_log::Column::Id)
        .limit(page.fetch_limit())
        .all(tx.conn())
        .await
}

pub async fn count(tx: &ScopedTx<'_>, filter: &AuditFilter) -> Result<u64, DbErr> {
    filtered(tx, filter).count(tx.conn()).await
}
