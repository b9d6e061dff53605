use std::fmt::Display;

use super::model::{AuditFilter, AuditRecord};
use super::store;
use crate::domains::auth::scope::TenantScope;
use crate::error::AppResult;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// One audit entry, written in the same transaction as the change it describes.
pub struct AuditEntry {
    action: &'static str,
    target_type: &'static str,
    target_id: String,
    old_value: Option<serde_json::Value>,
    new_value: Option<serde_json::Value>,
}

impl AuditEntry {
    pub fn new(action: &'static str, target_type: &'static str, target_id: impl Display) -> Self {
        Self {
            action,
            target_type,
            target_id: target_id.to_string(),
            old_value: None,
            new_value: None,
        }
    }

    pub fn old_value(mut self, value: serde_json::Value) -> Self {
        self.old_value = Some(value);
        self
    }

    pub fn new_value(mut self, value: serde_json::Value) -> Self {
        self.new_value = Some(value);
        self
    }
}

pub async fn record(tx: &ScopedTx<'_>, entry: AuditEntry) -> AppResult<()> {
    store::insert(
        tx,
        store::NewAuditRow {
            action: entry.action.to_owned(),
            target_type: entry.target_type.to_owned(),
            target_id: Some(entry.target_id),
            old_value: entry.old_value,
            new_value: entry.new_value,
        },
    )
    .await?;
    Ok(())
}

pub async fn list(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    filter: AuditFilter,
    page: PageRequest,
) -> AppResult<Page<AuditRecord>> {
    let tx = ScopedTx::begin(db, scope).await?;
    let rows = store::list(&tx, &filter, &page).await?;
    let total = store::count(&tx, &filter).await?;
    let records = rows
        .into_iter()
        .map(|r| AuditRecord {
            id: r.id,
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            old_value: r.old_value,
            new_value: r.new_value,
            trace_id: r.trace_id,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
        })
        .collect();
    Ok(page.finish(records, total))
}
