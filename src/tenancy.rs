//! The tenant boundary every query crosses: the pass (`TenantScope`) and the transaction that
//! carries it to PostgreSQL's row-level security (`ScopedTx`). Used by the domains and by
//! infra (the vector store writes inside the tenant's transaction); imports neither.
//!
//! A pass is minted only by `domains::auth` (from a request's principal, or from a claimed job
//! row); `scripts/check-architecture.sh` fails when `TenantScope::mint` is called elsewhere.
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait,
};
use uuid::Uuid;

use crate::text_enum::text_enum;

text_enum! {
    /// Roles in increasing order of power; `>=` compares privilege.
    #[derive(PartialOrd, Ord)]
    pub enum Role { Viewer => "VIEWER", Editor => "EDITOR", Admin => "ADMIN" }
}

text_enum! {
    pub enum ActorKind { User => "USER", ApiKey => "API_KEY", System => "SYSTEM" }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
}

impl Actor {
    /// Who, as stored beside a decision: `USER:<id>`, `API_KEY:<id>`, or the kind alone.
    pub fn label(&self) -> String {
        match self.id {
            Some(id) => format!("{}:{id}", self.kind.as_str()),
            None => self.kind.as_str().to_owned(),
        }
    }
}

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
    /// Only `domains::auth` calls this (checked by the architecture script).
    pub(crate) fn mint(tenant_id: Uuid, actor: Actor, role: Role, request: RequestMeta) -> Self {
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

/// A transaction bound to one tenant: `app.tenant_id` is set for its lifetime, so row-level
/// security applies to every statement, and stores also filter by `tenant_id()` explicitly.
/// Dropped without `commit`, it rolls back.
pub struct ScopedTx<'s> {
    txn: DatabaseTransaction,
    scope: &'s TenantScope,
}

impl<'s> ScopedTx<'s> {
    pub async fn begin(db: &DatabaseConnection, scope: &'s TenantScope) -> Result<Self, DbErr> {
        let txn = db.begin().await?;
        set_tenant(&txn, scope.tenant_id()).await?;
        Ok(Self { txn, scope })
    }

    pub fn tenant_id(&self) -> Uuid {
        self.scope.tenant_id()
    }

    pub fn scope(&self) -> &TenantScope {
        self.scope
    }

    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

async fn set_tenant(txn: &DatabaseTransaction, tenant_id: Uuid) -> Result<(), DbErr> {
    txn.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('app.tenant_id', $1, true)",
        [tenant_id.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// Runs a `SELECT count(*) …` in the transaction.
pub async fn count(
    tx: &ScopedTx<'_>,
    sql: String,
    values: Vec<sea_orm::Value>,
) -> Result<u64, DbErr> {
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0) as u64)
}
