use std::collections::HashMap;

use entity::mappings;
use sea_orm::{DatabaseConnection, Set};
use serde_json::json;
use uuid::Uuid;

use super::model::{
    Mapping, MappingFilter, MappingMethod, MappingStatus, MappingType, MappingVersion,
};
use super::scoring::Candidate;
use super::store;
use super::transform::Transform;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::service as connectors;
use crate::domains::ontology::service as ontology;
use crate::domains::telemetry::publisher::Telemetry;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// The mapping registry's long-lived state: the pool, and telemetry for the change events.
pub struct MappingRegistry {
    pub db: DatabaseConnection,
    pub telemetry: Telemetry,
}

pub struct NewMapping {
    pub connector_id: Option<Uuid>,
    pub source_system: Option<String>,
    pub source_entity: String,
    pub source_field: String,
    pub target: Target,
}

/// What a version says: where the source field goes and how.
pub struct Target {
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: MappingType,
    pub transform: Option<serde_json::Value>,
    pub method: MappingMethod,
    pub confidence: f64,
    pub note: Option<String>,
}

fn text(field: &str, value: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 200 {
        return Err(AppError::bad_field(field, "must be 1 to 200 characters"));
    }
    Ok(v.to_owned())
}

fn check_target(target: &Target) -> AppResult<()> {
    if !(0.0..=1.0).contains(&target.confidence) {
        return Err(AppError::bad_field("confidence", "must be between 0 and 1"));
    }
    match (&target.transform, target.mapping_type) {
        (Some(t), _) if !t.is_object() => {
            Err(AppError::bad_field("transform", "must be a JSON object"))
        }
        (None, MappingType::Computed | MappingType::Transformed) => Err(AppError::bad_field(
            "transform",
            "is required for COMPUTED and TRANSFORMED mappings",
        )),
        (Some(_), MappingType::Direct) => Err(AppError::bad_field(
            "mappingType",
            "a DIRECT mapping copies values as they are; a transform needs TRANSFORMED",
        )),
        (Some(t), _) => Transform::parse(t).map(|_| ()).map_err(AppError::from),
        (None, MappingType::Direct) => Ok(()),
    }
    .and_then(|()| match &target.note {
        Some(n) if n.chars().count() > 2000 => Err(AppError::bad_field(
            "note",
            "must be at most 2000 characters",
        )),
        _ => Ok(()),
    })
}

/// Resolves the canonical target in the tenant's ontology and fills a version row with it.
pub(super) async fn target_row(
    tx: &ScopedTx<'_>,
    target: &Target,
) -> AppResult<mappings::ActiveModel> {
    check_target(target)?;
    let entity = text("canonicalEntity", &target.canonical_entity)?;
    let field = text("canonicalField", &target.canonical_field)?;
    let canonical = ontology::find_field(tx, &entity, &field)
        .await?
        .ok_or_else(|| {
            AppError::bad_field(
                "canonicalField",
                format!("{entity}.{field} is not in the canonical model"),
            )
        })?;
    Ok(row_for(tx, target, entity, field, canonical.id))
}

/// A version row's content for an already resolved canonical field.
pub(super) fn row_for(
    tx: &ScopedTx<'_>,
    target: &Target,
    entity: String,
    field: String,
    canonical_field_id: Uuid,
) -> mappings::ActiveModel {
    mappings::ActiveModel {
        canonical_field_id: Set(canonical_field_id),
        canonical_entity: Set(entity),
        canonical_field: Set(field),
        mapping_type: Set(target.mapping_type.as_str().to_owned()),
        transform: Set(target.transform.clone()),
        method: Set(target.method.as_str().to_owned()),
        confidence: Set(target.confidence),
        note: Set(target.note.clone()),
        created_by: Set(tx.scope().actor().id),
        created_at: Set(chrono::Utc::now()),
        approved_by: Set(None),
        approved_at: Set(None),
        rolled_back_from: Set(None),
        ..Default::default()
    }
}

pub(super) fn source_conflict(err: sea_orm::DbErr) -> AppError {
    if is_unique_violation(&err) {
        AppError::Conflict(
            "a mapping for this source field already exists; update it instead".into(),
        )
    } else {
        err.into()
    }
}

/// DCL: a mapping changed (created, new version, approved, rolled back).
fn publish_changed(registry: &MappingRegistry, scope: &TenantScope, what: &str, mapping: &Mapping) {
    use crate::domains::telemetry::event::{kinds, Draft, Layer};
    let h = &mapping.head;
    registry.telemetry.layer(Layer::Dcl).publish(
        scope.tenant_id(),
        Draft::new(kinds::MAPPING_CHANGED, "mapping", h.mapping_id)
            .status(h.status.as_str())
            .message(format!(
                "{what}: {}.{}.{} -> {}.{} (v{})",
                h.source_system,
                h.source_entity,
                h.source_field,
                h.canonical_entity,
                h.canonical_field,
                h.version
            ))
            .data(json!({ "change": what, "version": h.version,
                          "connectorId": h.connector_id.map(|c| c.to_string()),
                          "target": format!("{}.{}", h.canonical_entity, h.canonical_field) }))
            .trace(scope.request().trace_id.clone()),
    );
}

pub async fn create(
    registry: &MappingRegistry,
    scope: &TenantScope,
    input: NewMapping,
) -> AppResult<Mapping> {
    let tx = ScopedTx::begin(&registry.db, scope).await?;
    let connector = match input.connector_id {
        Some(id) => Some(
            connectors::find(&tx, id)
                .await?
                .ok_or_else(|| AppError::bad_field("connectorId", "no such connector"))?,
        ),
        None => None,
    };
    let source_system = match (input.source_system, connector) {
        (Some(system), _) => text("sourceSystem", &system)?,
        (None, Some(connector)) => connector.name,
        (None, None) => {
            return Err(AppError::bad_field(
                "sourceSystem",
                "is required without a connectorId",
            ))
        }
    };
    let mut row = target_row(&tx, &input.target).await?;
    let mapping_id = Uuid::now_v7();
    row.mapping_id = Set(mapping_id);
    row.version = Set(1);
    row.is_head = Set(true);
    row.is_active = Set(false);
    row.status = Set(MappingStatus::Pending.as_str().to_owned());
    row.connector_id = Set(input.connector_id);
    row.source_system = Set(source_system);
    row.source_entity = Set(text("sourceEntity", &input.source_entity)?);
    row.source_field = Set(text("sourceField", &input.source_field)?);
    let created = store::insert(&tx, row).await.map_err(source_conflict)?;
    audit::record(
        &tx,
        AuditEntry::new("mapping.create", "mapping", mapping_id).new_value(version_json(&created)),
    )
    .await?;
    let mapping = load(&tx, mapping_id).await?;
    tx.commit().await?;
    publish_changed(registry, scope, "created", &mapping);
    Ok(mapping)
}

/// Proposes a new version; it takes effect when approved.
pub async fn update(
    registry: &MappingRegistry,
    scope: &TenantScope,
    mapping_id: Uuid,
    target: Target,
) -> AppResult<Mapping> {
    let tx = ScopedTx::begin(&registry.db, scope).await?;
    let head = store::lock_head(&tx, mapping_id)
        .await?
        .ok_or(AppError::NotFound { what: "mapping" })?;
    let row = target_row(&tx, &target).await?;
    let old = version_json(&head);
    let created = append_version(&tx, head, row, false).await?;
    audit::record(
        &tx,
        AuditEntry::new("mapping.update", "mapping", mapping_id)
            .old_value(old)
            .new_value(version_json(&created)),
    )
    .await?;
    let mapping = load(&tx, mapping_id).await?;
    tx.commit().await?;
    publish_changed(registry, scope, "new version", &mapping);
    Ok(mapping)
}

/// Approves the pending newest version (or the one named), making it the active one.
pub async fn approve(
    registry: &MappingRegistry,
    scope: &TenantScope,
    mapping_id: Uuid,
    version: Option<i32>,
) -> AppResult<Mapping> {
    let tx = ScopedTx::begin(&registry.db, scope).await?;
    let head = store::lock_head(&tx, mapping_id)
        .await?
        .ok_or(AppError::NotFound { what: "mapping" })?;
    if version.is_some_and(|v| v != head.version) {
        return Err(AppError::Conflict(format!(
            "only the newest version ({}) can be approved; roll back to reuse an older one",
            head.version
        )));
    }
    if head.status != MappingStatus::Pending.as_str() {
        return Err(AppError::Conflict(format!(
            "version {} is {}, not PENDING",
            head.version, head.status
        )));
    }
    let previous = deactivate_current(&tx, mapping_id).await?;
    let approved = store::approve(&tx, head).await?;
    audit::record(
        &tx,
        AuditEntry::new("mapping.approve", "mapping", mapping_id)
            .old_value(json!({ "activeVersion": previous }))
            .new_value(json!({ "activeVersion": approved.version })),
    )
    .await?;
    let mapping = load(&tx, mapping_id).await?;
    tx.commit().await?;
    publish_changed(registry, scope, "approved", &mapping);
    Ok(mapping)
}

/// Makes an earlier approved version current again, as a new version (history stays intact).
pub async fn rollback(
    registry: &MappingRegistry,
    scope: &TenantScope,
    mapping_id: Uuid,
    to_version: i32,
) -> AppResult<Mapping> {
    let tx = ScopedTx::begin(&registry.db, scope).await?;
    store::lock_head(&tx, mapping_id)
        .await?
        .ok_or(AppError::NotFound { what: "mapping" })?;
    let target = store::versions(&tx, vec![mapping_id])
        .await?
        .into_iter()
        .find(|v| v.version == to_version)
        .ok_or_else(|| {
            AppError::bad_field("toVersion", format!("mapping has no version {to_version}"))
        })?;
    if target.approved_at.is_none() {
        return Err(AppError::bad_field(
            "toVersion",
            "only versions that were approved can be rolled back to",
        ));
    }
    if target.is_active {
        return Err(AppError::Conflict(format!(
            "version {to_version} is already active"
        )));
    }
    let previous = deactivate_current(&tx, mapping_id).await?;
    // Re-read: deactivation may just have changed the head.
    let head = store::lock_head(&tx, mapping_id)
        .await?
        .ok_or(AppError::NotFound { what: "mapping" })?;
    // The old content again, as a new version.
    let row = mappings::ActiveModel {
        canonical_field_id: Set(target.canonical_field_id),
        canonical_entity: Set(target.canonical_entity.clone()),
        canonical_field: Set(target.canonical_field.clone()),
        mapping_type: Set(target.mapping_type.clone()),
        transform: Set(target.transform.clone()),
        method: Set(target.method.clone()),
        confidence: Set(target.confidence),
        rolled_back_from: Set(Some(to_version)),
        note: Set(target.note.clone()),
        created_by: Set(scope.actor().id),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let created = append_version(&tx, head, row, true).await?;
    audit::record(
        &tx,
        AuditEntry::new("mapping.rollback", "mapping", mapping_id)
            .old_value(json!({ "activeVersion": previous }))
            .new_value(json!({ "activeVersion": created.version, "rolledBackFrom": to_version })),
    )
    .await?;
    let mapping = load(&tx, mapping_id).await?;
    tx.commit().await?;
    publish_changed(registry, scope, "rolled back", &mapping);
    Ok(mapping)
}

/// Retires `head` (it stops being head; if still pending, nobody will approve it now) and
/// appends `row` as the next version of the same source field, pending or active (approved
/// by the caller). Callers deactivate the current version first when `active`.
pub(super) async fn append_version(
    tx: &ScopedTx<'_>,
    head: mappings::Model,
    mut row: mappings::ActiveModel,
    active: bool,
) -> AppResult<mappings::Model> {
    let head_status = if head.status == MappingStatus::Pending.as_str() {
        MappingStatus::Superseded.as_str().to_owned()
    } else {
        head.status.clone()
    };
    let copy = head.clone();
    let still_active = head.is_active;
    store::set_state(tx, head, &head_status, still_active, false).await?;
    row.mapping_id = Set(copy.mapping_id);
    row.version = Set(copy.version + 1);
    row.is_head = Set(true);
    row.is_active = Set(active);
    row.connector_id = Set(copy.connector_id);
    row.source_system = Set(copy.source_system);
    row.source_entity = Set(copy.source_entity);
    row.source_field = Set(copy.source_field);
    if active {
        row.status = Set(MappingStatus::Active.as_str().to_owned());
        row.approved_by = Set(tx.scope().actor().id);
        row.approved_at = Set(Some(chrono::Utc::now()));
    } else {
        row.status = Set(MappingStatus::Pending.as_str().to_owned());
    }
    Ok(store::insert(tx, row).await?)
}

pub(super) fn candidate_target(c: &Candidate) -> Target {
    Target {
        canonical_entity: c.entity.clone(),
        canonical_field: c.field.clone(),
        mapping_type: MappingType::Direct,
        transform: None,
        method: c.method,
        confidence: c.confidence.clamp(0.0, 1.0),
        note: None,
    }
}

/// Marks the currently active version SUPERSEDED; returns its number.
pub(super) async fn deactivate_current(
    tx: &ScopedTx<'_>,
    mapping_id: Uuid,
) -> AppResult<Option<i32>> {
    let versions = store::versions(tx, vec![mapping_id]).await?;
    let Some(active) = versions.into_iter().find(|v| v.is_active) else {
        return Ok(None);
    };
    let number = active.version;
    let is_head = active.is_head;
    store::set_state(
        tx,
        active,
        MappingStatus::Superseded.as_str(),
        false,
        is_head,
    )
    .await?;
    Ok(Some(number))
}

pub async fn get(
    registry: &MappingRegistry,
    scope: &TenantScope,
    mapping_id: Uuid,
) -> AppResult<Mapping> {
    let tx = ScopedTx::begin(&registry.db, scope).await?;
    load(&tx, mapping_id).await
}

async fn load(tx: &ScopedTx<'_>, mapping_id: Uuid) -> AppResult<Mapping> {
    assemble(store::versions(tx, vec![mapping_id]).await?)?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound { what: "mapping" })
}

pub async fn list(
    registry: &MappingRegistry,
    scope: &TenantScope,
    filter: MappingFilter,
    page: PageRequest,
) -> AppResult<Page<Mapping>> {
    let tx = ScopedTx::begin(&registry.db, scope).await?;
    let heads = store::list_heads(&tx, &filter, &page).await?;
    let total = store::count_heads(&tx, &filter).await?;
    let heads = page.finish(heads, total);
    let ids: Vec<Uuid> = heads.items.iter().map(|h| h.mapping_id).collect();
    // One query for every version on the page, not one per mapping.
    let mut by_id: HashMap<Uuid, Mapping> = assemble(store::versions(&tx, ids.clone()).await?)?
        .into_iter()
        .map(|m| (m.head.mapping_id, m))
        .collect();
    Ok(Page {
        items: ids.iter().filter_map(|id| by_id.remove(id)).collect(),
        has_next: heads.has_next,
        total,
    })
}

/// Groups version rows (ordered by mapping, then version) into mappings.
fn assemble(rows: Vec<mappings::Model>) -> AppResult<Vec<Mapping>> {
    let mut out: Vec<Mapping> = Vec::new();
    for row in rows {
        let is_head = row.is_head;
        let version = to_version(row)?;
        match out.last_mut() {
            Some(m) if m.head.mapping_id == version.mapping_id => {
                if is_head {
                    m.head = version.clone();
                }
                m.versions.push(version);
            }
            _ => out.push(Mapping {
                head: version.clone(),
                versions: vec![version],
            }),
        }
    }
    Ok(out)
}

fn version_json(row: &mappings::Model) -> serde_json::Value {
    json!({
        "version": row.version,
        "status": row.status,
        "sourceSystem": row.source_system,
        "sourceEntity": row.source_entity,
        "sourceField": row.source_field,
        "canonicalEntity": row.canonical_entity,
        "canonicalField": row.canonical_field,
        "mappingType": row.mapping_type,
        "transform": row.transform,
        "method": row.method,
        "confidence": row.confidence,
    })
}

fn parse<T: std::str::FromStr<Err = String>>(raw: &str) -> AppResult<T> {
    raw.parse()
        .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))
}

fn to_version(row: mappings::Model) -> AppResult<MappingVersion> {
    Ok(MappingVersion {
        mapping_id: row.mapping_id,
        version: row.version,
        status: parse(&row.status)?,
        is_active: row.is_active,
        connector_id: row.connector_id,
        source_system: row.source_system,
        source_entity: row.source_entity,
        source_field: row.source_field,
        canonical_entity: row.canonical_entity,
        canonical_field: row.canonical_field,
        mapping_type: parse(&row.mapping_type)?,
        transform: row.transform,
        method: parse(&row.method)?,
        confidence: row.confidence,
        rolled_back_from: row.rolled_back_from,
        note: row.note,
        created_by: row.created_by,
        created_at: row.created_at,
        approved_by: row.approved_by,
        approved_at: row.approved_at,
    })
}
