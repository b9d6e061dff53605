//! Auth use cases: sign-up, login, invites, roles, API keys, and request authentication.
use std::sync::Arc;

use chrono::{Duration, Utc};
use entity::{tenants, users};
use sea_orm::{DatabaseConnection, IntoActiveModel, Set};
use serde_json::json;
use uuid::Uuid;

use super::model::{
    check_password, normalize_email, Actor, ActorKind, Authentication, Role, Session, Tenant, User,
    UserStatus,
};
use super::scope::{RequestMeta, TenantScope};
use super::token::TokenKeys;
use super::{api_keys, password, secret, sessions, store};
use crate::config::Settings;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::jobs::model::RowTenant;
use crate::domains::ontology::service as ontology;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::infra::redis::Redis;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// Auth's long-lived state, built once at start-up: the pool, Redis (the access and API-key
/// caches) and the token signing keys.
pub struct AuthService {
    pub(super) db: DatabaseConnection,
    pub(super) redis: Redis,
    pub(super) tokens: TokenKeys,
    pub(super) settings: Arc<Settings>,
}

/// When a session token stops being valid (None for API keys and what is not a token).
pub fn token_expiry(svc: &AuthService, credential: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let claims = svc.tokens.verify(credential).ok()?;
    chrono::DateTime::from_timestamp(claims.exp, 0)
}

impl AuthService {
    pub fn new(db: DatabaseConnection, redis: Redis, settings: Arc<Settings>) -> Self {
        Self {
            db,
            redis,
            tokens: TokenKeys::new(&settings.auth),
            settings,
        }
    }

    /// The signing keys (the CLI and tests issue tokens with them).
    pub fn tokens(&self) -> &TokenKeys {
        &self.tokens
    }
}

pub(super) const API_KEY_KIND: &str = "aos";
const INVITE_KIND: &str = "inv";
const BAD_CREDENTIALS: &str = "invalid email or password";

/// Checks that the principal holds at least `min_role` and hands out the tenant pass.
pub fn authorize(
    auth: &Authentication,
    min_role: Role,
    request: RequestMeta,
) -> AppResult<TenantScope> {
    match auth {
        Authentication::Anonymous => {
            Err(AppError::Unauthenticated("authentication required".into()))
        }
        Authentication::Rejected(reason) => Err(AppError::Unauthenticated(reason.clone())),
        Authentication::Authenticated(p) if p.role < min_role => Err(AppError::Forbidden(format!(
            "this operation needs the {min_role} role; you have {}",
            p.role
        ))),
        Authentication::Authenticated(p) => {
            Ok(TenantScope::mint(p.tenant_id, p.actor, p.role, request))
        }
    }
}

/// The pass for writing the global baseline namespace (shared canonical knowledge). Used by
/// the server itself at start-up, never on behalf of a request.
pub fn baseline_scope() -> TenantScope {
    TenantScope::mint(
        crate::infra::vector::BASELINE_TENANT,
        Actor {
            kind: ActorKind::System,
            id: None,
        },
        Role::Admin,
        RequestMeta::default(),
    )
}

/// The pass for background work (a run resumed after its process stopped, a schedule's due
/// slot): the tenant is the one of the row the work read (only the jobs domain can make a
/// `RowTenant`), never request input.
pub fn scope_for_background(tenant: RowTenant) -> TenantScope {
    TenantScope::mint(
        tenant.id(),
        Actor {
            kind: ActorKind::System,
            id: None,
        },
        Role::Editor,
        RequestMeta::default(),
    )
}

/// Reads `Authorization: Bearer <jwt | api key>` or `X-Api-Key: <api key>`.
pub async fn authenticate(
    service: &AuthService,
    bearer: Option<&str>,
    api_key: Option<&str>,
) -> Authentication {
    let credential = match (bearer, api_key) {
        (Some(b), _) => b.trim(),
        (None, Some(k)) => k.trim(),
        (None, None) => return Authentication::Anonymous,
    };
    let result = if credential.starts_with(&format!("{API_KEY_KIND}_")) {
        api_keys::authenticate(service, credential).await
    } else {
        sessions::authenticate_token(service, credential).await
    };
    match result {
        Ok(principal) => Authentication::Authenticated(principal),
        Err(AppError::Unauthenticated(reason)) => Authentication::Rejected(reason),
        Err(other) => {
            tracing::error!(error = ?other, "authentication failed unexpectedly");
            Authentication::Rejected("authentication is unavailable".into())
        }
    }
}

pub struct SignUp {
    pub tenant_name: String,
    pub email: String,
    pub password: String,
}

pub async fn sign_up(
    service: &AuthService,
    request: RequestMeta,
    input: SignUp,
) -> AppResult<Session> {
    let tenant_name = input.tenant_name.trim().to_owned();
    if tenant_name.is_empty() || tenant_name.chars().count() > 200 {
        return Err(AppError::bad_field(
            "tenantName",
            "must be 1 to 200 characters",
        ));
    }
    let email = normalize_email(&input.email).map_err(|m| AppError::bad_field("email", m))?;
    check_password(&input.password).map_err(|m| AppError::bad_field("password", m))?;
    let password_hash = password::hash(input.password).await?;

    let user_id = Uuid::now_v7();
    let scope = TenantScope::mint(
        Uuid::now_v7(),
        Actor {
            kind: ActorKind::User,
            id: Some(user_id),
        },
        Role::Admin,
        request,
    );
    let tx = ScopedTx::begin(&service.db, &scope).await?;
    let tenant = store::insert_tenant(&tx, &tenant_name).await?;
    let user = store::insert_user(
        &tx,
        store::NewUser {
            id: user_id,
            email: &email,
            password_hash: Some(password_hash),
            role: Role::Admin.as_str(),
            status: UserStatus::Active.as_str(),
            invite_token_hash: None,
            invite_expires_at: None,
        },
    )
    .await
    .map_err(email_conflict)?;
    ontology::install_builtin(&tx).await?;
    audit::record(
        &tx,
        AuditEntry::new("tenant.sign_up", "tenant", tenant.id)
            .new_value(json!({ "tenant": tenant.name, "admin": user.email })),
    )
    .await?;
    tx.commit().await?;
    session(service, user, tenant)
}

pub async fn login(
    service: &AuthService,
    request: RequestMeta,
    email: &str,
    password_plain: String,
) -> AppResult<Session> {
    let row = match normalize_email(email) {
        Ok(email) => store::credentials_by_email(&service.db, &email).await?,
        Err(_) => None,
    };
    let stored_hash = row.as_ref().and_then(|r| r.password_hash.clone());
    let password_ok = password::verify(password_plain, stored_hash).await?;
    let Some(row) = row else {
        return Err(AppError::Unauthenticated(BAD_CREDENTIALS.into()));
    };
    let role: Role = row
        .role
        .parse()
        .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    let scope = TenantScope::mint(
        row.tenant_id,
        Actor {
            kind: ActorKind::User,
            id: Some(row.id),
        },
        role,
        request,
    );
    let tx = ScopedTx::begin(&service.db, &scope).await?;
    if !password_ok || row.status != UserStatus::Active.as_str() {
        let reason = if password_ok {
            "user not active"
        } else {
            "wrong password"
        };
        audit::record(
            &tx,
            AuditEntry::new("auth.login_failed", "user", row.id)
                .new_value(json!({ "reason": reason })),
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::Unauthenticated(BAD_CREDENTIALS.into()));
    }
    store::touch_last_login(&tx, row.id).await?;
    let user = store::find_user(&tx, row.id)
        .await?
        .ok_or(AppError::NotFound { what: "user" })?;
    let tenant = store::find_tenant(&tx)
        .await?
        .ok_or(AppError::NotFound { what: "tenant" })?;
    audit::record(&tx, AuditEntry::new("auth.login", "user", row.id)).await?;
    tx.commit().await?;
    session(service, user, tenant)
}

pub async fn accept_invite(
    service: &AuthService,
    request: RequestMeta,
    token: &str,
    password_plain: String,
) -> AppResult<Session> {
    check_password(&password_plain).map_err(|m| AppError::bad_field("password", m))?;
    let invalid = || AppError::Unauthenticated("invite is invalid or expired".into());
    let row = store::invite_by_token_hash(&service.db, &secret::digest(token.trim()))
        .await?
        .ok_or_else(invalid)?;
    if row.invite_expires_at.is_none_or(|at| at <= Utc::now()) {
        return Err(invalid());
    }
    let password_hash = password::hash(password_plain).await?;
    let scope = TenantScope::mint(
        row.tenant_id,
        Actor {
            kind: ActorKind::User,
            id: Some(row.id),
        },
        Role::Viewer,
        request,
    );
    let tx = ScopedTx::begin(&service.db, &scope).await?;
    let user = store::lock_user(&tx, row.id).await?.ok_or_else(invalid)?;
    if user.status != UserStatus::Invited.as_str() {
        return Err(invalid());
    }
    let mut active = user.into_active_model();
    active.password_hash = Set(Some(password_hash));
    active.status = Set(UserStatus::Active.as_str().to_owned());
    active.invite_token_hash = Set(None);
    active.invite_expires_at = Set(None);
    active.last_login_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    let user = store::save_user(&tx, active).await?;
    let tenant = store::find_tenant(&tx)
        .await?
        .ok_or(AppError::NotFound { what: "tenant" })?;
    audit::record(&tx, AuditEntry::new("user.accept_invite", "user", user.id)).await?;
    tx.commit().await?;
    session(service, user, tenant)
}

pub(super) fn session(
    service: &AuthService,
    user: users::Model,
    tenant: tenants::Model,
) -> AppResult<Session> {
    let user = to_user(user)?;
    let (token, expires_at) = service.tokens.issue(user.id, user.tenant_id, user.role)?;
    Ok(Session {
        token,
        expires_at,
        user,
        tenant: to_tenant(tenant),
    })
}

fn email_conflict(err: sea_orm::DbErr) -> AppError {
    if is_unique_violation(&err) {
        AppError::Conflict("a user with this email already exists".into())
    } else {
        err.into()
    }
}

pub async fn me(service: &AuthService, scope: &TenantScope) -> AppResult<Option<User>> {
    let Some(user_id) = user_actor(scope) else {
        return Ok(None);
    };
    let tx = ScopedTx::begin(&service.db, scope).await?;
    store::find_user(&tx, user_id)
        .await?
        .map(to_user)
        .transpose()
}

pub(super) fn user_actor(scope: &TenantScope) -> Option<Uuid> {
    match scope.actor() {
        Actor {
            kind: ActorKind::User,
            id,
        } => *id,
        _ => None,
    }
}

pub async fn tenant(service: &AuthService, scope: &TenantScope) -> AppResult<Tenant> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    store::find_tenant(&tx)
        .await?
        .map(to_tenant)
        .ok_or(AppError::NotFound { what: "tenant" })
}

pub async fn list_users(
    service: &AuthService,
    scope: &TenantScope,
    page: PageRequest,
) -> AppResult<Page<User>> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let rows = store::list_users(&tx, &page).await?;
    let total = store::count_users(&tx).await?;
    let users = rows
        .into_iter()
        .map(to_user)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page.finish(users, total))
}

pub async fn user(service: &AuthService, scope: &TenantScope, id: Uuid) -> AppResult<User> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    store::find_user(&tx, id)
        .await?
        .map(to_user)
        .transpose()?
        .ok_or(AppError::NotFound { what: "user" })
}

pub async fn invite_user(
    service: &AuthService,
    scope: &TenantScope,
    email: &str,
    role: Role,
) -> AppResult<(User, String)> {
    let email = normalize_email(email).map_err(|m| AppError::bad_field("email", m))?;
    let invite = secret::generate(INVITE_KIND);
    let expires_at = Utc::now() + Duration::hours(service.settings.auth.invite_ttl_hours);
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let user = store::insert_user(
        &tx,
        store::NewUser {
            id: Uuid::now_v7(),
            email: &email,
            password_hash: None,
            role: role.as_str(),
            status: UserStatus::Invited.as_str(),
            invite_token_hash: Some(invite.hash),
            invite_expires_at: Some(expires_at),
        },
    )
    .await
    .map_err(email_conflict)?;
    audit::record(
        &tx,
        AuditEntry::new("user.invite", "user", user.id)
            .new_value(json!({ "email": email, "role": role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    Ok((to_user(user)?, invite.plaintext))
}

pub async fn change_user_role(
    service: &AuthService,
    scope: &TenantScope,
    user_id: Uuid,
    role: Role,
) -> AppResult<User> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let admins = store::lock_active_admins(&tx).await?;
    let user = store::lock_user(&tx, user_id)
        .await?
        .ok_or(AppError::NotFound { what: "user" })?;
    let old_role = user.role.clone();
    if old_role == role.as_str() {
        return to_user(user);
    }
    if admins.contains(&user_id) && role != Role::Admin && admins.len() == 1 {
        return Err(AppError::Conflict(
            "a tenant must keep at least one active admin".into(),
        ));
    }
    let mut active = user.into_active_model();
    active.role = Set(role.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let user = store::save_user(&tx, active).await?;
    audit::record(
        &tx,
        AuditEntry::new("user.change_role", "user", user.id)
            .old_value(json!({ "role": old_role }))
            .new_value(json!({ "role": role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    // The new role applies from the user's next request, whatever their token says.
    sessions::forget(service, user.id).await;
    to_user(user)
}

pub(super) fn parse_role(raw: &str) -> AppResult<Role> {
    raw.parse()
        .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))
}

pub(super) fn to_user(row: users::Model) -> AppResult<User> {
    Ok(User {
        id: row.id,
        tenant_id: row.tenant_id,
        email: row.email,
        role: parse_role(&row.role)?,
        status: row
            .status
            .parse()
            .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?,
        last_login_at: row.last_login_at,
        created_at: row.created_at,
    })
}

fn to_tenant(row: tenants::Model) -> Tenant {
    Tenant {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
    }
}
