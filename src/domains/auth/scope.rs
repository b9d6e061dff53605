//! The tenant pass: proof that a request was authenticated and authorized for one tenant.
//! Only `domains::auth` can build one; every store call needs one.
use uuid::Uuid;

use super::model::{Actor, Role};

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub trace_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TenantScope {
    tenant_id: Uuid,
    actor: Actor,
    role: Role,
    request: RequestMeta,
}

impl TenantScope {
    pub(in crate::domains::auth) fn new(
        tenant_id: Uuid,
        actor: Actor,
        role: Role,
        request: RequestMeta,
    ) -> Self {
        Self {
            tenant_id,
            actor,
            role,
            request,
        }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn request(&self) -> &RequestMeta {
        &self.request
    }
}
