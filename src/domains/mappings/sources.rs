//! How the mapping registry follows its sources: the active mappings a sync run applies, new
//! active mappings from proposals and reviews, and schema changes (a removed field's mapping is
//! deprecated, a renamed field's carried over), all in the caller's transaction.
use sea_orm::Set;
use serde_json::json;
use uuid::Uuid;

use super::model::{MappingMethod, MappingStatus};
use super::scoring::Candidate;
use super::service::{
    append_version, candidate_target, deactivate_current, row_for, source_conflict, target_row,
};
use super::store;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::ontology::service as ontology;
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;
use entity::mappings;

/// A change of a source's schema that the registry follows.
#[derive(Debug, Clone, Copy)]
pub enum SourceChange<'a> {
    /// The field left the source.
    Removed(&'a str),
    /// The field is now called `to`.
    Renamed { from: &'a str, to: &'a str },
}

/// Follows one step's schema changes of a source entity in one call; true when any active
/// mapping changed.
pub async fn follow(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    changes: &[SourceChange<'_>],
) -> AppResult<bool> {
    let mut changed = false;
    for change in changes {
        changed |= match *change {
            SourceChange::Removed(field) => deprecate_for_source(tx, system, entity, field).await?,
            SourceChange::Renamed { from, to } => carry_over(tx, system, entity, from, to).await?,
        }
        .is_some();
    }
    Ok(changed)
}

/// Version 1 of many source fields' mappings, active at once, in one statement (all or none).
pub(crate) async fn create_active_many(
    tx: &ScopedTx<'_>,
    rows: Vec<entity::mappings::ActiveModel>,
) -> AppResult<()> {
    store::insert_many(tx, rows).await.map_err(source_conflict)
}

/// The row of an active version 1 (an auto-applied proposal), with its new mapping id.
pub(crate) fn active_row(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    field: &str,
    target: &Candidate,
    canonical_field_id: Uuid,
) -> (Uuid, entity::mappings::ActiveModel) {
    let mut row = row_for(
        tx,
        &candidate_target(target),
        target.entity.clone(),
        target.field.clone(),
        canonical_field_id,
    );
    let mapping_id = Uuid::now_v7();
    row.mapping_id = Set(mapping_id);
    row.version = Set(1);
    row.is_head = Set(true);
    row.is_active = Set(true);
    row.status = Set(MappingStatus::Active.as_str().to_owned());
    row.connector_id = Set(None);
    row.source_system = Set(system.to_owned());
    row.source_entity = Set(entity.to_owned());
    row.source_field = Set(field.to_owned());
    row.approved_by = Set(tx.scope().actor().id);
    row.approved_at = Set(Some(chrono::Utc::now()));
    (mapping_id, row)
}

/// The active mappings of one source entity: what a sync run applies to its records.
pub async fn active_for_source(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
) -> AppResult<Vec<mappings::Model>> {
    Ok(store::active_for_source(tx, system, entity).await?)
}

/// A field that left its source: its active mapping stops applying and is marked DEPRECATED
/// (kept, with its versions, for lineage). Returns the mapping, if there was an active one.
async fn deprecate_for_source(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    field: &str,
) -> AppResult<Option<Uuid>> {
    let Some(head) = store::lock_head_by_source(tx, system, entity, field).await? else {
        return Ok(None);
    };
    if !head.is_active {
        return Ok(None);
    }
    let mapping_id = head.mapping_id;
    let version = head.version;
    store::set_state(tx, head, MappingStatus::Deprecated.as_str(), false, true).await?;
    audit::record(
        tx,
        AuditEntry::new("mapping.deprecate", "mapping", mapping_id)
            .old_value(json!({ "version": version, "status": "ACTIVE" }))
            .new_value(json!({ "version": version, "status": "DEPRECATED", "reason": "source field removed" })),
    )
    .await?;
    Ok(Some(mapping_id))
}

/// A renamed source field keeps its target: the new name gets an active mapping to the same
/// canonical field, the old one is deprecated. Returns the new name's mapping.
async fn carry_over(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    from: &str,
    to: &str,
) -> AppResult<Option<Uuid>> {
    let Some(old) = store::lock_head_by_source(tx, system, entity, from).await? else {
        return Ok(None);
    };
    if !old.is_active {
        return Ok(None);
    }
    let target = Candidate {
        entity: old.canonical_entity.clone(),
        field: old.canonical_field.clone(),
        confidence: old.confidence,
        method: old.method.parse().unwrap_or(MappingMethod::Manual),
    };
    deprecate_for_source(tx, system, entity, from).await?;
    let id = activate_for_source(tx, system, entity, to, &target).await?;
    audit::record(
        tx,
        AuditEntry::new("mapping.rename", "mapping", id)
            .new_value(json!({ "from": from, "to": to, "target": format!("{}.{}", target.entity, target.field) })),
    )
    .await?;
    Ok(Some(id))
}

/// Makes `target` the active mapping of a source field: a new mapping, or a new version of the
/// existing one (a reviewer's decision).
pub(crate) async fn activate_for_source(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    field: &str,
    target: &Candidate,
) -> AppResult<Uuid> {
    let Some(head) = store::lock_head_by_source(tx, system, entity, field).await? else {
        let canonical = ontology::find_field(tx, &target.entity, &target.field)
            .await?
            .ok_or_else(|| {
                AppError::bad_field("canonicalField", "is not in the canonical model")
            })?;
        let (mapping_id, row) = active_row(tx, system, entity, field, target, canonical.id);
        create_active_many(tx, vec![row]).await?;
        return Ok(mapping_id);
    };
    if head.is_active
        && head.canonical_entity == target.entity
        && head.canonical_field == target.field
    {
        return Ok(head.mapping_id);
    }
    let mapping_id = head.mapping_id;
    deactivate_current(tx, mapping_id).await?;
    // Re-read: deactivation may just have changed the head.
    let head = store::lock_head(tx, mapping_id)
        .await?
        .ok_or(AppError::NotFound { what: "mapping" })?;
    let row = target_row(tx, &candidate_target(target)).await?;
    append_version(tx, head, row, true).await?;
    Ok(mapping_id)
}
