//! Auth persistence. Credential look-ups run before a tenant is known and go through
//! SECURITY DEFINER functions; everything else runs in a tenant-scoped transaction.
use chrono::{DateTime, Utc};
use entity::{api_keys, tenants, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use uuid::Uuid;

use crate::pagination::PageRequest;
use crate::tenancy::ScopedTx;

#[derive(Debug, FromQueryResult)]
pub struct CredentialRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub password_hash: Option<String>,
    pub role: String,
    pub status: String,
}

#[derive(Debug, FromQueryResult)]
pub struct InviteRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub invite_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub role: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
pub struct AccessRow {
    pub tenant_id: Uuid,
    pub role: String,
    pub status: String,
    pub sessions_valid_after: Option<DateTime<Utc>>,
}

/// A user's tenant, role, status and session cut-off, before any tenant is known.
pub async fn user_access(db: &DatabaseConnection, id: Uuid) -> Result<Option<AccessRow>, DbErr> {
    AccessRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM auth_user_access($1)",
        [id.into()],
    ))
    .one(db)
    .await
}

pub async fn delete_user(tx: &ScopedTx<'_>, user: users::Model) -> Result<(), DbErr> {
    user.into_active_model().delete(tx.conn()).await.map(|_| ())
}

pub async fn credentials_by_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<Option<CredentialRow>, DbErr> {
    CredentialRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM auth_user_by_email($1)",
        [email.into()],
    ))
    .one(db)
    .await
}

pub async fn invite_by_token_hash(
    db: &DatabaseConnection,
    hash: &str,
) -> Result<Option<InviteRow>, DbErr> {
    InviteRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM auth_user_by_invite($1)",
        [hash.into()],
    ))
    .one(db)
    .await
}

pub async fn api_key_by_hash(
    db: &DatabaseConnection,
    hash: &str,
) -> Result<Option<ApiKeyRow>, DbErr> {
    ApiKeyRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM auth_api_key_by_hash($1)",
        [hash.into()],
    ))
    .one(db)
    .await
}

pub async fn insert_tenant(tx: &ScopedTx<'_>, name: &str) -> Result<tenants::Model, DbErr> {
    let now = Utc::now();
    tenants::ActiveModel {
        id: Set(tx.tenant_id()),
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx.conn())
    .await
}

pub async fn find_tenant(tx: &ScopedTx<'_>) -> Result<Option<tenants::Model>, DbErr> {
    tenants::Entity::find_by_id(tx.tenant_id())
        .one(tx.conn())
        .await
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: Option<String>,
    pub role: &'a str,
    pub status: &'a str,
    pub invite_token_hash: Option<String>,
    pub invite_expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_user(tx: &ScopedTx<'_>, user: NewUser<'_>) -> Result<users::Model, DbErr> {
    let now = Utc::now();
    users::ActiveModel {
        id: Set(user.id),
        tenant_id: Set(tx.tenant_id()),
        email: Set(user.email.to_owned()),
        password_hash: Set(user.password_hash),
        role: Set(user.role.to_owned()),
        status: Set(user.status.to_owned()),
        invite_token_hash: Set(user.invite_token_hash),
        invite_expires_at: Set(user.invite_expires_at),
        last_login_at: Set(None),
        sessions_valid_after: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx.conn())
    .await
}

pub async fn find_user(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(id)
        .filter(users::Column::TenantId.eq(tx.tenant_id()))
        .one(tx.conn())
        .await
}

/// Reads a user for update, so concurrent role changes serialize.
pub async fn lock_user(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find_by_id(id)
        .filter(users::Column::TenantId.eq(tx.tenant_id()))
        .lock_exclusive()
        .one(tx.conn())
        .await
}

pub async fn list_users(tx: &ScopedTx<'_>, page: &PageRequest) -> Result<Vec<users::Model>, DbErr> {
    let mut q = users::Entity::find().filter(users::Column::TenantId.eq(tx.tenant_id()));
    if let Some(after) = page.after {
        q = q.filter(users::Column::Id.gt(after));
    }
    q.order_by_asc(users::Column::Id)
        .limit(page.fetch_limit())
        .all(tx.conn())
        .await
}

pub async fn count_users(tx: &ScopedTx<'_>) -> Result<u64, DbErr> {
    users::Entity::find()
        .filter(users::Column::TenantId.eq(tx.tenant_id()))
        .count(tx.conn())
        .await
}

/// Active admins, locked so two concurrent demotions cannot both see "one other admin left".
pub async fn lock_active_admins(tx: &ScopedTx<'_>) -> Result<Vec<Uuid>, DbErr> {
    users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::TenantId.eq(tx.tenant_id()))
        .filter(users::Column::Role.eq("ADMIN"))
        .filter(users::Column::Status.eq("ACTIVE"))
        .lock_exclusive()
        .into_tuple()
        .all(tx.conn())
        .await
}

pub async fn save_user(tx: &ScopedTx<'_>, user: users::ActiveModel) -> Result<users::Model, DbErr> {
    user.update(tx.conn()).await
}

pub async fn touch_last_login(tx: &ScopedTx<'_>, id: Uuid) -> Result<(), DbErr> {
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET last_login_at = now() WHERE id = $1 AND tenant_id = $2",
            [id.into(), tx.tenant_id().into()],
        ))
        .await
        .map(|_| ())
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: String,
    pub key_hash: String,
    pub role: &'a str,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_api_key(
    tx: &ScopedTx<'_>,
    key: NewApiKey<'_>,
) -> Result<api_keys::Model, DbErr> {
    api_keys::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant_id()),
        name: Set(key.name.to_owned()),
        prefix: Set(key.prefix),
        key_hash: Set(key.key_hash),
        role: Set(key.role.to_owned()),
        created_by: Set(key.created_by),
        expires_at: Set(key.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(tx.conn())
    .await
}

pub async fn find_api_key(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<api_keys::Model>, DbErr> {
    api_keys::Entity::find_by_id(id)
        .filter(api_keys::Column::TenantId.eq(tx.tenant_id()))
        .one(tx.conn())
        .await
}

pub async fn list_api_keys(
    tx: &ScopedTx<'_>,
    page: &PageRequest,
) -> Result<Vec<api_keys::Model>, DbErr> {
    let mut q = api_keys::Entity::find().filter(api_keys::Column::TenantId.eq(tx.tenant_id()));
    if let Some(after) = page.after {
        q = q.filter(api_keys::Column::Id.gt(after));
    }
    q.order_by_asc(api_keys::Column::Id)
        .limit(page.fetch_limit())
        .all(tx.conn())
        .await
}

pub async fn count_api_keys(tx: &ScopedTx<'_>) -> Result<u64, DbErr> {
    api_keys::Entity::find()
        .filter(api_keys::Column::TenantId.eq(tx.tenant_id()))
        .count(tx.conn())
        .await
}

pub async fn revoke_api_key(
    tx: &ScopedTx<'_>,
    key: api_keys::Model,
) -> Result<api_keys::Model, DbErr> {
    let mut active: api_keys::ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(tx.conn()).await
}
