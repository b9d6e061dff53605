//! What a resolver can reach: infrastructure (`AppState`), the domain services (each
//! registered once) and the request's
//! authentication and origin (attached per request).
use std::sync::Arc;

use async_graphql::{Context, ID};
use uuid::Uuid;

use crate::domains::auth::model::{Authentication, Role};
use crate::domains::auth::scope::{RequestMeta, TenantScope};
use crate::domains::auth::service as auth;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Attached to every GraphQL request by the HTTP layer.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub auth: Authentication,
    pub meta: RequestMeta,
}

pub trait ContextExt {
    fn app(&self) -> AppResult<&AppState>;
    /// A domain service registered once at start-up (`Services::register`).
    fn service<T: Send + Sync + 'static>(&self) -> AppResult<&T>;
    /// The same, shared, for streams that outlive the resolver call.
    fn service_arc<T: Send + Sync + 'static>(&self) -> AppResult<Arc<T>>;
    fn request_meta(&self) -> RequestMeta;
    /// The tenant pass for a caller holding at least `min_role`.
    fn scope(&self, min_role: Role) -> AppResult<TenantScope>;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> AppResult<&AppState> {
        self.data::<AppState>()
            .map_err(|_| AppError::internal(anyhow::anyhow!("AppState missing from schema data")))
    }

    fn service<T: Send + Sync + 'static>(&self) -> AppResult<&T> {
        registered::<T>(self).map(|s| s.as_ref())
    }

    fn service_arc<T: Send + Sync + 'static>(&self) -> AppResult<Arc<T>> {
        registered::<T>(self).cloned()
    }

    fn request_meta(&self) -> RequestMeta {
        self.data::<RequestContext>()
            .map(|r| r.meta.clone())
            .unwrap_or_default()
    }

    fn scope(&self, min_role: Role) -> AppResult<TenantScope> {
        let anonymous = Authentication::Anonymous;
        let request = self.data::<RequestContext>().ok();
        let auth_state = request.map(|r| &r.auth).unwrap_or(&anonymous);
        auth::authorize(auth_state, min_role, self.request_meta())
    }
}

/// A service as `Services::register` put it in the schema data.
fn registered<'c, T: Send + Sync + 'static>(ctx: &'c Context<'_>) -> AppResult<&'c Arc<T>> {
    ctx.data::<Arc<T>>().map_err(|_| {
        AppError::internal(anyhow::anyhow!(
            "{} missing from schema data",
            std::any::type_name::<T>()
        ))
    })
}

/// Parses an `ID!` argument, naming the argument when it is not one of ours.
pub fn parse_id(field: &str, id: &ID) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_field(field, "is not a valid id"))
}

pub fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}
