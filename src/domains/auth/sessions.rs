//! Authority read from the database on every request, not from the token: the user's role,
//! status and tenant, and the moment before which their tokens no longer count (a revocation,
//! a password change, disabling). Kept in Redis for a short while and dropped there the moment
//! anything changes, so a demotion, a disabled or removed user, a revoked session takes effect
//! on the next request in every server process.
use chrono::Utc;
use redis::AsyncCommands;
use sea_orm::{IntoActiveModel, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::model::{check_password, Actor, ActorKind, Principal, Role, Session, User, UserStatus};
use super::scope::TenantScope;
use super::service::{session, to_user, user_actor, AuthService};
use super::token::TokenError;
use super::{password, store};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// What a request needs to know of its token's user.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Access {
    tenant_id: Uuid,
    role: String,
    status: String,
    /// Tokens issued before this (milliseconds since the epoch) are refused.
    valid_after_ms: Option<i64>,
}

fn cache_key(user: Uuid) -> String {
    format!("auth:user:{user}")
}

pub(super) async fn authenticate_token(service: &AuthService, token: &str) -> AppResult<Principal> {
    let claims = service.tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => AppError::Unauthenticated("token expired".into()),
        TokenError::Invalid => AppError::Unauthenticated("invalid token".into()),
    })?;
    let access = access(service, claims.sub)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this user no longer exists".into()))?;
    if access.tenant_id != claims.tid {
        return Err(AppError::Unauthenticated("invalid token".into()));
    }
    if access.status != UserStatus::Active.as_str() {
        return Err(AppError::Unauthenticated("this user is disabled".into()));
    }
    if access
        .valid_after_ms
        .is_some_and(|after| claims.issued_at_ms() < after)
    {
        return Err(AppError::Unauthenticated(
            "this session was revoked; sign in again".into(),
        ));
    }
    let role: Role = access
        .role
        .parse()
        .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    Ok(Principal {
        tenant_id: access.tenant_id,
        actor: Actor {
            kind: ActorKind::User,
            id: Some(claims.sub),
        },
        role,
    })
}

/// The cache saves a database round trip per request; without Redis every request asks
/// PostgreSQL.
async fn access(service: &AuthService, user: Uuid) -> AppResult<Option<Access>> {
    let mut conn = service.redis.clone();
    if let Ok(Some(raw)) = conn.get::<_, Option<String>>(cache_key(user)).await {
        if let Ok(access) = serde_json::from_str::<Access>(&raw) {
            return Ok(Some(access));
        }
    }
    let Some(row) = store::user_access(&service.db, user).await? else {
        return Ok(None);
    };
    let access = Access {
        tenant_id: row.tenant_id,
        role: row.role,
        status: row.status,
        valid_after_ms: row.sessions_valid_after.map(|t| t.timestamp_millis()),
    };
    if let Ok(raw) = serde_json::to_string(&access) {
        let ttl = service.settings.redis.api_key_cache_ttl_secs;
        if let Err(e) = conn.set_ex::<_, _, ()>(cache_key(user), raw, ttl).await {
            tracing::debug!(error = %e, "user access cache write failed");
        }
    }
    Ok(Some(access))
}

/// Drops the cached access of a user whose row just changed (after the commit). Without
/// Redis nothing is cached, so nothing can be stale.
pub(super) async fn forget(service: &AuthService, user: Uuid) {
    let mut conn = service.redis.clone();
    if let Err(e) = conn.del::<_, ()>(cache_key(user)).await {
        tracing::warn!(error = %e, %user, "user access cache: could not drop an entry");
    }
}

/// Ends every session of `user` (the caller's own when `None`): tokens issued so far are
/// refused from the next request on. Another user's sessions need ADMIN.
pub async fn revoke_sessions(
    service: &AuthService,
    scope: &TenantScope,
    user: Option<Uuid>,
) -> AppResult<User> {
    let me = user_actor(scope);
    let target = user
        .or(me)
        .ok_or_else(|| AppError::bad_field("userId", "an API key has no sessions; name a user"))?;
    if Some(target) != me && scope.role() < Role::Admin {
        return Err(AppError::Forbidden(
            "ending another user's sessions needs the ADMIN role".into(),
        ));
    }
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let row = store::lock_user(&tx, target)
        .await?
        .ok_or(AppError::NotFound { what: "user" })?;
    let mut active = row.into_active_model();
    active.sessions_valid_after = Set(Some(Utc::now()));
    let row = store::save_user(&tx, active).await?;
    audit::record(&tx, AuditEntry::new("user.revoke_sessions", "user", target)).await?;
    tx.commit().await?;
    forget(service, target).await;
    to_user(row)
}

/// Changes the caller's password after checking the current one; every earlier session ends
/// and the caller gets a new one.
pub async fn change_password(
    service: &AuthService,
    scope: &TenantScope,
    current: String,
    new: String,
) -> AppResult<Session> {
    let me = user_actor(scope)
        .ok_or_else(|| AppError::Forbidden("only a signed-in user has a password".into()))?;
    check_password(&new).map_err(|m| AppError::bad_field("newPassword", m))?;
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let row = store::lock_user(&tx, me)
        .await?
        .ok_or(AppError::NotFound { what: "user" })?;
    if !password::verify(current, row.password_hash.clone()).await? {
        return Err(AppError::bad_field(
            "currentPassword",
            "is not the current password",
        ));
    }
    let hash = password::hash(new).await?;
    let mut active = row.into_active_model();
    active.password_hash = Set(Some(hash));
    // Tokens issued from this millisecond on are valid: the new session below is one.
    let now = Utc::now();
    active.sessions_valid_after = Set(Some(now));
    active.updated_at = Set(now);
    let row = store::save_user(&tx, active).await?;
    let tenant = store::find_tenant(&tx)
        .await?
        .ok_or(AppError::NotFound { what: "tenant" })?;
    audit::record(&tx, AuditEntry::new("user.change_password", "user", me)).await?;
    tx.commit().await?;
    forget(service, me).await;
    session(service, row, tenant)
}

/// Disables (or enables again) a user of the tenant: a disabled user's tokens are refused at
/// once and they cannot sign in. A tenant keeps at least one active admin; nobody disables
/// themselves.
pub async fn set_disabled(
    service: &AuthService,
    scope: &TenantScope,
    user: Uuid,
    disabled: bool,
) -> AppResult<User> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let row = lock_other_user(&tx, scope, user, disabled).await?;
    let (from, to) = if disabled {
        (UserStatus::Active, UserStatus::Disabled)
    } else {
        (UserStatus::Disabled, UserStatus::Active)
    };
    if row.status != from.as_str() {
        return Err(AppError::Conflict(format!(
            "the user is {}, not {}",
            row.status,
            from.as_str()
        )));
    }
    let mut active = row.into_active_model();
    active.status = Set(to.as_str().to_owned());
    let now = Utc::now();
    active.sessions_valid_after = Set(Some(now));
    active.updated_at = Set(now);
    let row = store::save_user(&tx, active).await?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(&tx, AuditEntry::new(action, "user", user)).await?;
    tx.commit().await?;
    forget(service, user).await;
    to_user(row)
}

/// Removes a user from the tenant for good (their audit trail stays).
pub async fn remove(service: &AuthService, scope: &TenantScope, user: Uuid) -> AppResult<User> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let row = lock_other_user(&tx, scope, user, true).await?;
    let removed = to_user(row.clone())?;
    store::delete_user(&tx, row).await?;
    audit::record(
        &tx,
        AuditEntry::new("user.remove", "user", user)
            .old_value(json!({ "email": removed.email, "role": removed.role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    forget(service, user).await;
    Ok(removed)
}

/// Locks another user of the tenant for a change that may take away an admin.
async fn lock_other_user(
    tx: &ScopedTx<'_>,
    scope: &TenantScope,
    user: Uuid,
    takes_access: bool,
) -> AppResult<entity::users::Model> {
    if user_actor(scope) == Some(user) {
        return Err(AppError::Conflict(
            "you cannot disable or remove yourself".into(),
        ));
    }
    let admins = store::lock_active_admins(tx).await?;
    let row = store::lock_user(tx, user)
        .await?
        .ok_or(AppError::NotFound { what: "user" })?;
    if takes_access && admins.contains(&user) && admins.len() == 1 {
        return Err(AppError::Conflict(
            "a tenant must keep at least one active admin".into(),
        ));
    }
    Ok(row)
}
