//! What a source entity's schema, as just introspected, changes: a new schema version with its
//! drift (each change flagged breaking when it takes away, renames or retypes a field an active
//! mapping reads), and what the connector's drift policy then does. Shared by sync runs and the
//! schema observer, which introspects without reading records.
use serde_json::json;

use super::observer::{self, DriftPolicy};
use super::service::Pipeline;
use super::store;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::drift::{self, Drift};
use crate::domains::connectors::model::Connector;
use crate::domains::connectors::source::EntitySchema;
use crate::domains::mappings::proposals::{self, FieldInput, ProposalStatus, ProposeInput};
use crate::domains::mappings::sources::{self as mapping_sources, SourceChange};
use crate::domains::telemetry::event::{kinds, Draft, Layer};
use crate::domains::webhooks::{self, model::EventType};
use crate::error::{is_unique_violation, AppResult};
use crate::tenancy::ScopedTx;

/// Whether a source entity seen for the first time gets its schema stored and its fields
/// proposed (a sync run, about to read it) or is left for the first sync (the observer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstSchema {
    Store,
    Leave,
}

/// What one entity's schema step did.
#[derive(Debug, Default, Clone)]
pub struct SchemaStep {
    /// The schema version records are read under.
    pub version: i32,
    pub drifts: u64,
    pub breaking: u64,
    pub proposed: u64,
    pub auto_applied: u64,
    pub needs_review: u64,
}

/// Compares the source's schema with the last one seen and stores what changed. The first
/// schema's fields are always proposed (nothing is mapped yet). On drift, PROPAGATE proposes new
/// and renamed-but-unmapped fields (before the new version is stored, so a crash in between
/// proposes again rather than never), deprecates removed fields' mappings and carries renamed
/// fields' targets over; IGNORE only records; PAUSE records and holds the connector's scheduled
/// syncs, in the transaction that stores the drift.
pub async fn apply(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: &Connector,
    policy: DriftPolicy,
    schema: &EntitySchema,
    trace_id: &str,
    first: FirstSchema,
) -> AppResult<SchemaStep> {
    let system = connector.name.as_str();
    let fingerprint = drift::fingerprint(&schema.fields);
    let (current, active) = {
        let tx = ScopedTx::begin(&pipeline.db, scope).await?;
        let current = store::current_schema(&tx, connector.id, &schema.entity).await?;
        let active: Vec<String> = mapping_sources::active_for_source(&tx, system, &schema.entity)
            .await?
            .into_iter()
            .map(|m| m.source_field.to_lowercase())
            .collect();
        (current, active)
    };
    let (version, drifts) = match &current {
        Some(c) if c.fingerprint == fingerprint => {
            return Ok(SchemaStep {
                version: c.version,
                ..SchemaStep::default()
            })
        }
        Some(c) => (c.version + 1, drift::diff(&c.fields, &schema.fields)),
        None if first == FirstSchema::Leave => return Ok(SchemaStep::default()),
        None => (1, Vec::new()),
    };
    let propagate = policy == DriftPolicy::Propagate;
    let has_mapping = |name: &str| active.contains(&name.to_lowercase());
    let breaking = |d: &Drift| match d {
        Drift::Added(_) => false,
        Drift::Removed(f) => has_mapping(&f.name),
        Drift::TypeChanged { from, .. } => has_mapping(&from.name),
        // PROPAGATE carries a renamed field's mapping over; otherwise it reads nothing now.
        Drift::Renamed { from, .. } => !propagate && has_mapping(&from.name),
    };
    let to_propose: Vec<_> = match current {
        None => schema.fields.iter().collect(),
        Some(_) if !propagate => Vec::new(),
        Some(_) => drifts
            .iter()
            .filter_map(|d| match d {
                Drift::Added(f) => Some(f),
                Drift::Renamed { from, to } if !has_mapping(&from.name) => Some(to),
                _ => None,
            })
            .collect(),
    };
    let mut step = SchemaStep {
        version,
        drifts: drifts.len() as u64,
        breaking: drifts.iter().filter(|d| breaking(d)).count() as u64,
        ..SchemaStep::default()
    };
    if !to_propose.is_empty() {
        let input = ProposeInput {
            source_system: system.to_owned(),
            source_entity: schema.entity.clone(),
            fields: to_propose
                .iter()
                .map(|f| FieldInput {
                    name: f.name.clone(),
                    data_type: Some(f.data_type.clone()),
                    description: None,
                    samples: f.samples.clone(),
                })
                .collect(),
        };
        let proposed = proposals::propose(&pipeline.proposals, scope, input).await?;
        step.proposed = proposed.len() as u64;
        for p in &proposed {
            match p.status {
                ProposalStatus::AutoApplied => step.auto_applied += 1,
                ProposalStatus::NeedsReview => step.needs_review += 1,
                ProposalStatus::Unmapped => {}
            }
        }
    }
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let saved = store::save_schema(
        &tx,
        connector.id,
        &schema.entity,
        version,
        &fingerprint,
        &schema.fields,
    )
    .await;
    match saved {
        Ok(()) => {}
        // A sync run and the observer looked at once, and the other stored this version first:
        // its drift is recorded; read under what it stored.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            let now = store::current_schema(&tx, connector.id, &schema.entity).await?;
            return Ok(SchemaStep {
                version: now.map_or(version, |c| c.version),
                ..SchemaStep::default()
            });
        }
        Err(e) => return Err(e.into()),
    }
    store::insert_drift(
        &tx,
        connector.id,
        &schema.entity,
        version,
        &drifts,
        &breaking,
    )
    .await?;
    let changes: Vec<SourceChange> = drifts
        .iter()
        .filter(|_| propagate)
        .filter_map(|d| match d {
            Drift::Removed(f) => Some(SourceChange::Removed(&f.name)),
            Drift::Renamed { from, to } if has_mapping(&from.name) => Some(SourceChange::Renamed {
                from: &from.name,
                to: &to.name,
            }),
            _ => None,
        })
        .collect();
    let changed = mapping_sources::follow(&tx, system, &schema.entity, &changes).await?;
    if !drifts.is_empty() {
        let listed: Vec<_> = drifts
            .iter()
            .map(|d| json!({ "kind": d.kind().as_str(), "field": d.field_name(), "breaking": breaking(d) }))
            .collect();
        let data = json!({ "connectorId": connector.id, "connectorName": connector.name,
            "entity": schema.entity, "schemaVersion": version, "policy": policy.as_str(),
            "changes": listed });
        webhooks::emit(&tx, EventType::DriftDetected, data.clone()).await?;
        if step.breaking > 0 {
            webhooks::emit(&tx, EventType::DriftBreaking, data).await?;
        }
        if policy == DriftPolicy::Pause {
            observer::hold(&tx, connector.id, step.drifts, step.breaking).await?;
        }
    }
    tx.commit().await?;
    if !drifts.is_empty() {
        pipeline.telemetry.layer(Layer::Aam).publish(
            scope.tenant_id(),
            Draft::new(kinds::DRIFT_DETECTED, "connector", connector.id)
                .status(if step.breaking > 0 {
                    "BREAKING"
                } else {
                    "DRIFT"
                })
                .message(format!(
                    "{}: {} schema changes (version {version}), {} breaking",
                    schema.entity,
                    drifts.len(),
                    step.breaking
                ))
                .data(
                    json!({ "entity": schema.entity, "version": version, "changes": drifts.len(),
                              "breaking": step.breaking, "policy": policy.as_str() }),
                )
                .trace(Some(trace_id.to_owned())),
        );
    }
    if changed {
        proposals::invalidate_exact(
            &pipeline.proposals,
            scope.tenant_id(),
            system,
            &schema.entity,
        )
        .await;
    }
    Ok(step)
}
