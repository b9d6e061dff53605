use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::service::{self, Usage};
use crate::domains::auth::model::Role;
use crate::graphql::context::ContextExt;

/// Use of one quota.
#[derive(SimpleObject)]
pub struct QuotaUsage {
    pub used: u64,
    pub limit: u64,
    pub remaining: u64,
    /// When a metered quota starts afresh (UTC); null for connectors, which are held.
    pub resets_at: Option<DateTime<Utc>>,
}

impl From<Usage> for QuotaUsage {
    fn from(u: Usage) -> Self {
        Self {
            used: u.used,
            limit: u.limit,
            remaining: u.remaining(),
            resets_at: u.resets_at,
        }
    }
}

/// The tenant's quotas and what it has used of them.
#[derive(SimpleObject)]
pub struct TenantUsage {
    pub connectors: QuotaUsage,
    /// Source fields proposed this calendar month.
    pub proposals_this_month: QuotaUsage,
    /// Canonical events written by sync runs this hour.
    pub events_this_hour: QuotaUsage,
}

#[derive(Default)]
pub struct QuotaQuery;

#[Object]
impl QuotaQuery {
    /// The tenant's quotas and current use (any role).
    async fn usage(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantUsage> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let u = service::usage(&app.db, &app.settings.quotas, &scope).await?;
        Ok(TenantUsage {
            connectors: u.connectors.into(),
            proposals_this_month: u.proposals.into(),
            events_this_hour: u.events.into(),
        })
    }
}
