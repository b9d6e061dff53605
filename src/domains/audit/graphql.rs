use async_graphql::{Context, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::model::{AuditFilter, AuditRecord};
use super::service;
use crate::domains::auth::model::Role;
use crate::graphql::context::{to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(SimpleObject)]
#[graphql(name = "AuditEntry")]
pub struct GqlAuditEntry {
    pub id: ID,
    /// USER, API_KEY or SYSTEM.
    pub actor_kind: String,
    pub actor_id: Option<ID>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub old_value: Option<Json<serde_json::Value>>,
    pub new_value: Option<Json<serde_json::Value>>,
    pub trace_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditRecord> for GqlAuditEntry {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: to_id(r.id),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id.map(to_id),
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            old_value: r.old_value.map(Json),
            new_value: r.new_value.map(Json),
            trace_id: r.trace_id,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilterInput {
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The tenant's audit log, newest first (ADMIN).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlAuditEntry>> {
        let scope = ctx.scope(Role::Admin)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let f = filter.unwrap_or_default();
        let filter = AuditFilter {
            action: f.action,
            target_type: f.target_type,
            target_id: f.target_id,
        };
        let result = service::list(&app.db, &scope, filter, page).await?;
        Ok(connection(
            result,
            after.is_some(),
            |r| r.id,
            GqlAuditEntry::from,
        ))
    }
}
