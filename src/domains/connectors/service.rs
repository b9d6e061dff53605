use entity::connectors;
use sea_orm::{IntoActiveModel, Set};
use serde_json::json;
use std::sync::Arc;

use uuid::Uuid;

use super::kinds;
use super::model::{Connector, ConnectorFilter, ConnectorKind, ConnectorStatus};
use super::store;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::quotas::service as quotas;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::infra::crypto::SecretsKey;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// What the connectors domain keeps for the life of the process, built once at start-up.
pub struct ConnectorService {
    pub db: sea_orm::DatabaseConnection,
    /// Connector secrets are sealed under it, per tenant.
    pub secrets: Arc<SecretsKey>,
    /// Endpoints a config names are checked against it when saved.
    pub outbound: Arc<crate::infra::outbound::OutboundPolicy>,
    pub quotas: crate::config::QuotaSettings,
    /// Failures in a row that make a connector FAILING (`sync.failing_after`).
    pub failing_after: u32,
}

pub struct NewConnector {
    pub name: String,
    pub kind: ConnectorKind,
    pub config: serde_json::Value,
}

#[derive(Default)]
pub struct ConnectorChanges {
    pub name: Option<String>,
    pub config: Option<serde_json::Value>,
    pub status: Option<ConnectorStatus>,
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::bad_field("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

fn name_conflict(err: sea_orm::DbErr) -> AppError {
    if is_unique_violation(&err) {
        AppError::Conflict("a connector with this name already exists".into())
    } else {
        err.into()
    }
}

/// A valid config whose endpoint the outbound policy does not refuse outright (names that need
/// DNS are checked again on every connection).
fn validated(
    svc: &ConnectorService,
    kind: ConnectorKind,
    raw: &serde_json::Value,
) -> AppResult<kinds::ValidatedConfig> {
    let config = kinds::validate(kind, raw)?;
    if let Some(e) = &config.endpoint {
        svc.outbound
            .check_literal(&e.host, e.port)
            .map_err(|refused| {
                AppError::bad_field(format!("config.{}", e.field), refused.to_string())
            })?;
    }
    Ok(config)
}

pub async fn create(
    svc: &ConnectorService,
    scope: &TenantScope,
    input: NewConnector,
) -> AppResult<Connector> {
    let name = check_name(&input.name)?;
    let config = validated(svc, input.kind, &input.config)?;
    let sealed = seal(svc, scope.tenant_id(), input.kind, &config.stored)?;
    let tx = ScopedTx::begin(&svc.db, scope).await?;
    let limits = quotas::limits(&tx, &svc.quotas).await?;
    quotas::ensure_connector_room(&tx, limits.connectors).await?;
    let row = store::insert(&tx, &name, input.kind.as_str(), sealed)
        .await
        .map_err(name_conflict)?;
    audit::record(
        &tx,
        AuditEntry::new("connector.create", "connector", row.id)
            .new_value(json!({ "name": row.name, "kind": row.kind, "config": config.redacted })),
    )
    .await?;
    tx.commit().await?;
    to_connector(row)
}

pub async fn update(
    svc: &ConnectorService,
    scope: &TenantScope,
    id: Uuid,
    changes: ConnectorChanges,
) -> AppResult<Connector> {
    let tx = ScopedTx::begin(&svc.db, scope).await?;
    let row = store::lock(&tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let before = to_connector(row.clone())?;
    let stored_before = row.config.clone();
    let mut active = row.into_active_model();
    if let Some(name) = changes.name {
        active.name = Set(check_name(&name)?);
    }
    if let Some(config) = changes.config {
        let old = open(svc, tx.tenant_id(), before.kind, &stored_before)?;
        let new = validated(svc, before.kind, &config)?.stored;
        let new = keep_unchanged_secrets(before.kind, new, &old)?;
        active.config = Set(seal(svc, tx.tenant_id(), before.kind, &new)?);
    }
    if let Some(status) = changes.status {
        active.status = Set(status.as_str().to_owned());
    }
    active.updated_at = Set(chrono::Utc::now());
    let row = store::save(&tx, active).await.map_err(name_conflict)?;
    let after = to_connector(row)?;
    audit::record(
        &tx,
        AuditEntry::new("connector.update", "connector", id)
            .old_value(audit_view(&before))
            .new_value(audit_view(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(svc: &ConnectorService, scope: &TenantScope, id: Uuid) -> AppResult<Connector> {
    let tx = ScopedTx::begin(&svc.db, scope).await?;
    let row = store::lock(&tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let before = to_connector(row.clone())?;
    store::delete(&tx, row).await?;
    audit::record(
        &tx,
        AuditEntry::new("connector.delete", "connector", id).old_value(audit_view(&before)),
    )
    .await?;
    tx.commit().await?;
    Ok(before)
}

pub async fn get(svc: &ConnectorService, scope: &TenantScope, id: Uuid) -> AppResult<Connector> {
    let tx = ScopedTx::begin(&svc.db, scope).await?;
    find(&tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })
}

/// For other domains, inside their own transaction.
pub async fn find(tx: &ScopedTx<'_>, id: Uuid) -> AppResult<Option<Connector>> {
    store::find(tx, id).await?.map(to_connector).transpose()
}

/// The connector with its config, secrets decrypted: for reading the source, never for
/// showing.
pub async fn find_with_config(
    svc: &ConnectorService,
    tx: &ScopedTx<'_>,
    id: Uuid,
) -> AppResult<Option<(Connector, serde_json::Value)>> {
    match store::find(tx, id).await? {
        Some(row) => {
            let connector = to_connector(row.clone())?;
            let config = open(svc, tx.tenant_id(), connector.kind, &row.config)?;
            Ok(Some((connector, config)))
        }
        None => Ok(None),
    }
}

/// Encrypts every secret of a config under the tenant's key.
fn seal(
    svc: &ConnectorService,
    tenant: Uuid,
    kind: ConnectorKind,
    config: &serde_json::Value,
) -> AppResult<serde_json::Value> {
    transform_secrets(kind, config, |s| {
        (!s.is_empty() && !SecretsKey::is_sealed(s)).then(|| svc.secrets.seal(tenant, s))
    })
}

fn open(
    svc: &ConnectorService,
    tenant: Uuid,
    kind: ConnectorKind,
    config: &serde_json::Value,
) -> AppResult<serde_json::Value> {
    transform_secrets(kind, config, |s| {
        SecretsKey::is_sealed(s).then(|| svc.secrets.open(tenant, s))
    })
}

/// Replaces each secret for which `f` has a new value.
fn transform_secrets(
    kind: ConnectorKind,
    config: &serde_json::Value,
    f: impl Fn(&str) -> Option<Result<String, crate::infra::crypto::CryptoError>>,
) -> AppResult<serde_json::Value> {
    kinds::map_secrets(kind, config, |s| {
        if let Some(new) = f(s) {
            *s = new.map_err(AppError::internal)?;
        }
        Ok(())
    })
}

/// A secret sent back as the placeholder the API shows keeps its stored value, so a client
/// can edit other settings without knowing the secret.
fn keep_unchanged_secrets(
    kind: ConnectorKind,
    new: serde_json::Value,
    old: &serde_json::Value,
) -> AppResult<serde_json::Value> {
    let previous = kinds::secrets_of(kind, old)?;
    let mut i = 0;
    kinds::map_secrets(kind, &new, |s| {
        if s == kinds::REDACTED {
            *s = previous.get(i).cloned().ok_or_else(|| {
                AppError::bad_field(
                    "config",
                    "a secret shown as ******** has no stored value to keep",
                )
            })?;
        }
        i += 1;
        Ok(())
    })
}

/// Marks a connector synced.
pub async fn mark_synced(tx: &ScopedTx<'_>, id: Uuid) -> AppResult<()> {
    store::mark_synced(tx, id).await?;
    Ok(())
}

pub async fn list(
    svc: &ConnectorService,
    scope: &TenantScope,
    filter: ConnectorFilter,
    page: PageRequest,
) -> AppResult<Page<Connector>> {
    let tx = ScopedTx::begin(&svc.db, scope).await?;
    let rows = store::list(&tx, &filter, &page).await?;
    let total = store::count(&tx, &filter).await?;
    let items = rows
        .into_iter()
        .map(to_connector)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page.finish(items, total))
}

fn audit_view(c: &Connector) -> serde_json::Value {
    json!({ "name": c.name, "status": c.status.as_str(), "config": c.config })
}

fn to_connector(row: connectors::Model) -> AppResult<Connector> {
    let kind: ConnectorKind = row
        .kind
        .parse()
        .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    Ok(Connector {
        id: row.id,
        name: row.name,
        kind,
        status: row
            .status
            .parse()
            .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?,
        config: kinds::redact_stored(kind, &row.config),
        last_synced_at: row.last_synced_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
