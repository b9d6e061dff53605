//! API keys: created (the secret shown once), revoked (at once, the cache entry dropped),
//! listed, and authenticated through a short Redis cache in front of PostgreSQL.
use chrono::{DateTime, Duration, Utc};
use entity::api_keys;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::model::{Actor, ActorKind, ApiKey, Principal, Role};
use super::scope::TenantScope;
use super::service::{parse_role, AuthService, API_KEY_KIND};
use super::{secret, store};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// What the API-key cache holds; never the key itself.
#[derive(Serialize, Deserialize)]
struct CachedKey {
    id: Uuid,
    tenant_id: Uuid,
    role: String,
    expires_at: Option<DateTime<Utc>>,
}

fn key_cache_name(hash: &str) -> String {
    format!("auth:apikey:{hash}")
}

pub(super) async fn authenticate(service: &AuthService, key: &str) -> AppResult<Principal> {
    let hash = secret::digest(key);
    let cached = read_cached_key(service, &hash).await;
    let entry = match cached {
        Some(entry) => entry,
        None => {
            let row = store::api_key_by_hash(&service.db, &hash)
                .await?
                .ok_or_else(|| AppError::Unauthenticated("invalid API key".into()))?;
            if row.revoked_at.is_some() {
                return Err(AppError::Unauthenticated("API key revoked".into()));
            }
            let entry = CachedKey {
                id: row.id,
                tenant_id: row.tenant_id,
                role: row.role,
                expires_at: row.expires_at,
            };
            write_cached_key(service, &hash, &entry).await;
            entry
        }
    };
    if entry.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::Unauthenticated("API key expired".into()));
    }
    let role = entry
        .role
        .parse()
        .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    Ok(Principal {
        tenant_id: entry.tenant_id,
        actor: Actor {
            kind: ActorKind::ApiKey,
            id: Some(entry.id),
        },
        role,
    })
}

/// The cache only saves a database round trip: when Redis is down, we fall through to Postgres.
async fn read_cached_key(service: &AuthService, hash: &str) -> Option<CachedKey> {
    let mut conn = service.redis.clone();
    match conn.get::<_, Option<String>>(key_cache_name(hash)).await {
        Ok(Some(raw)) => serde_json::from_str(&raw).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "api key cache read failed");
            None
        }
    }
}

async fn write_cached_key(service: &AuthService, hash: &str, entry: &CachedKey) {
    let Ok(raw) = serde_json::to_string(entry) else {
        return;
    };
    let mut conn = service.redis.clone();
    let ttl = service.settings.redis.api_key_cache_ttl_secs;
    if let Err(e) = conn
        .set_ex::<_, _, ()>(key_cache_name(hash), raw, ttl)
        .await
    {
        tracing::warn!(error = %e, "api key cache write failed");
    }
}

pub async fn create_api_key(
    service: &AuthService,
    scope: &TenantScope,
    name: &str,
    role: Role,
    expires_in_days: Option<i32>,
) -> AppResult<(ApiKey, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::bad_field("name", "must be 1 to 200 characters"));
    }
    let expires_at = match expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(Utc::now() + Duration::days(i64::from(days))),
        Some(_) => {
            return Err(AppError::bad_field(
                "expiresInDays",
                "must be between 1 and 3650",
            ))
        }
    };
    let key = secret::generate(API_KEY_KIND);
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let row = store::insert_api_key(
        &tx,
        store::NewApiKey {
            name,
            prefix: key.display_prefix,
            key_hash: key.hash,
            role: role.as_str(),
            created_by: scope.actor().id,
            expires_at,
        },
    )
    .await?;
    audit::record(
        &tx,
        AuditEntry::new("api_key.create", "api_key", row.id)
            .new_value(json!({ "name": row.name, "role": row.role, "prefix": row.prefix })),
    )
    .await?;
    tx.commit().await?;
    Ok((to_api_key(row)?, key.plaintext))
}

pub async fn revoke_api_key(
    service: &AuthService,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<ApiKey> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let key = store::find_api_key(&tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "API key" })?;
    if key.revoked_at.is_some() {
        return Err(AppError::Conflict("API key is already revoked".into()));
    }
    let hash = key.key_hash.clone();
    let key = store::revoke_api_key(&tx, key).await?;
    audit::record(&tx, AuditEntry::new("api_key.revoke", "api_key", key.id)).await?;
    tx.commit().await?;
    // Revocation must take effect at once, not when the cache entry expires.
    let mut conn = service.redis.clone();
    conn.del::<_, ()>(key_cache_name(&hash)).await?;
    to_api_key(key)
}

pub async fn list_api_keys(
    service: &AuthService,
    scope: &TenantScope,
    page: PageRequest,
) -> AppResult<Page<ApiKey>> {
    let tx = ScopedTx::begin(&service.db, scope).await?;
    let rows = store::list_api_keys(&tx, &page).await?;
    let total = store::count_api_keys(&tx).await?;
    let keys = rows
        .into_iter()
        .map(to_api_key)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page.finish(keys, total))
}

fn to_api_key(row: api_keys::Model) -> AppResult<ApiKey> {
    Ok(ApiKey {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        role: parse_role(&row.role)?,
        created_by: row.created_by,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        last_used_at: row.last_used_at,
        created_at: row.created_at,
    })
}
