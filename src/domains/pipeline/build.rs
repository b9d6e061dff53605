//! The run's middle: the plan (each source field's canonical targets, from the active mappings)
//! and building canonical events from a batch of source records through it.
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::coerce::canonical_value;
use super::events_store::{NewEvent, NewQuarantine};
use super::sync::SyncCounts;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::source::Batch;
use crate::domains::mappings::sources as mappings;
use crate::domains::mappings::transform::Transform;
use crate::domains::ontology::service as ontology;
use crate::error::AppResult;
use crate::tenancy::ScopedTx;

/// What one record gives one canonical entity: values, their lineage, values that did not fit.
type EntityValues = (Map<String, Value>, Map<String, Value>, Vec<Value>);

/// One canonical target of a source field, as the active mapping says.
#[derive(Debug, Clone)]
pub(super) struct Target {
    entity: String,
    field: String,
    data_type: String,
    mapping_id: Uuid,
    version: i32,
    /// Applied to the source value before it is coerced (TRANSFORMED and COMPUTED mappings);
    /// `Err` when a stored transform no longer reads (saved before transforms were checked).
    transform: Option<Result<Arc<Transform>, String>>,
}

/// What a run maps through: each source field's targets, the plan's short version (which
/// mapping versions apply), and each canonical entity's required fields.
pub(super) struct Plan {
    pub targets: HashMap<String, Vec<Target>>,
    pub version: String,
    pub required: HashMap<String, Vec<String>>,
}

/// Source records → canonical events (one per canonical entity a record feeds). A record that
/// lacks a required field of an entity, or whose value of one does not fit, gives that entity
/// no event: it is quarantined with its reasons (what it gives other entities flows on).
pub(super) fn build(
    counts: &mut SyncCounts,
    tenant: Uuid,
    connector: Uuid,
    source_entity: &str,
    plan: &Plan,
    batch: &Batch,
    stats: &mut HashMap<Uuid, (u64, u64)>,
) -> (Vec<NewEvent>, Vec<NewQuarantine>) {
    let (plan_version, required) = (&plan.version, &plan.required);
    let plan = &plan.targets;
    let mut events: Vec<NewEvent> = Vec::with_capacity(batch.records.len());
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut incomplete: Vec<NewQuarantine> = Vec::new();
    for record in &batch.records {
        counts.records_read += 1;
        let mut per_entity: HashMap<&str, EntityValues> = HashMap::new();
        let mut extras = Map::new();
        for (name, raw) in &record.values {
            let Some(targets) = plan.get(&name.to_lowercase()) else {
                if !raw.trim().is_empty() {
                    extras.insert(name.clone(), json!(raw));
                }
                continue;
            };
            for t in targets {
                let (data, lineage, errors) = per_entity.entry(&t.entity).or_default();
                let counted = stats.entry(t.mapping_id).or_default();
                let coerced = t
                    .transform
                    .as_ref()
                    .map(|readable| readable.as_deref())
                    .transpose()
                    .map_err(|broken| format!("transform: {broken}"))
                    .and_then(|transform| {
                        canonical_value(transform, &t.field, &t.data_type, (raw, &record.values))
                    });
                match coerced {
                    Ok(Some(value)) => {
                        counted.0 += 1;
                        data.insert(t.field.clone(), value);
                        lineage.insert(
                            t.field.clone(),
                            json!({ "sourceField": name, "mappingId": t.mapping_id, "mappingVersion": t.version,
                                    "transformed": t.transform.is_some() }),
                        );
                    }
                    Ok(None) => {}
                    Err(reason) => {
                        counted.1 += 1;
                        errors.push(json!({
                            "field": t.field, "sourceField": name, "value": raw, "reason": reason,
                        }));
                    }
                }
            }
        }
        if per_entity.is_empty() {
            counts.unmapped_records += 1;
            continue;
        }
        let mut reasons: Vec<String> = Vec::new();
        let mut per_entity: Vec<(&str, EntityValues)> = per_entity.into_iter().collect();
        per_entity.sort_by(|a, b| a.0.cmp(b.0));
        per_entity.retain(|(entity, (data, _, errors))| {
            let missing = missing_required(entity, required, data, errors);
            let keep = missing.is_empty();
            reasons.extend(missing);
            keep
        });
        if !reasons.is_empty() {
            counts.quarantined += 1;
            let raw: Map<String, Value> = record
                .values
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            incomplete.push(NewQuarantine {
                position: record.position,
                reason: reasons.join("; "),
                raw: Value::Object(raw).to_string(),
            });
        }
        for (entity, (data, lineage, errors)) in per_entity {
            counts.value_errors += errors.len() as u64;
            let canonical_id = Uuid::new_v5(
                &tenant,
                format!("{entity}\0{connector}\0{source_entity}\0{}", record.id).as_bytes(),
            );
            let event = NewEvent {
                id: Uuid::now_v7(),
                entity: entity.to_owned(),
                canonical_id,
                data: Value::Object(data),
                extras: Value::Object(extras.clone()),
                errors: Value::Array(errors),
                source_record_id: record.id.clone(),
                // The same record through other mappings is another event; through the
                // same ones (a re-sync, a resumed run) it is the same event.
                record_version: format!("{}.{plan_version}", record.version),
                lineage: Value::Object(lineage),
            };
            // One record per canonical id per statement: a repeated id's later row wins.
            match index.get(&canonical_id) {
                Some(&i) => {
                    counts.duplicate_ids += 1;
                    events[i] = event;
                }
                None => {
                    index.insert(canonical_id, events.len());
                    events.push(event);
                }
            }
        }
    }
    counts.quarantined += batch.quarantined.len() as u64;
    let mut quarantined: Vec<NewQuarantine> = batch
        .quarantined
        .iter()
        .map(|q| NewQuarantine {
            position: q.position,
            reason: q.reason.clone(),
            raw: q.raw.clone(),
        })
        .collect();
    quarantined.extend(incomplete);
    (events, quarantined)
}

/// Why a record's values do not make a whole `entity` record: each required field missing, or
/// whose value did not fit (with the reason).
fn missing_required(
    entity: &str,
    required: &HashMap<String, Vec<String>>,
    data: &Map<String, Value>,
    errors: &[Value],
) -> Vec<String> {
    let Some(fields) = required.get(entity) else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|f| data.get(f.as_str()).is_none_or(Value::is_null))
        .map(|f| match errors.iter().find(|e| e["field"] == f.as_str()) {
            Some(e) => format!(
                "{entity}.{f} is required; {:?} {}",
                e["value"].as_str().unwrap_or_default(),
                e["reason"].as_str().unwrap_or_default()
            ),
            None => format!("{entity}.{f} is required and missing"),
        })
        .collect()
}

/// Source field (lower case) → its canonical targets, from the active mappings; and a short
/// version of that plan (which mapping versions apply).
pub(super) async fn plan(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    system: &str,
    entity: &str,
) -> AppResult<Plan> {
    let tx = ScopedTx::begin(db, scope).await?;
    let ontology = ontology::load_active(&tx).await?;
    let types: HashMap<(&str, &str), &str> = ontology
        .entities
        .iter()
        .flat_map(|e| {
            e.fields
                .iter()
                .map(move |f| ((e.name.as_str(), f.name.as_str()), f.data_type.as_str()))
        })
        .collect();
    let mut plan: HashMap<String, Vec<Target>> = HashMap::new();
    for m in mappings::active_for_source(&tx, system, entity).await? {
        let data_type = types
            .get(&(m.canonical_entity.as_str(), m.canonical_field.as_str()))
            .copied()
            .unwrap_or("string")
            .to_owned();
        // Checked when saved; one saved before the check that does not read makes each of its
        // values an error with the reason (kept with the event), never a silent copy.
        let transform = m.transform.as_ref().map(|raw| {
            Transform::parse(raw).map(Arc::new).map_err(|p| {
                format!(
                    "the mapping's transform does not read at {}: {}",
                    p.path, p.reason
                )
            })
        });
        plan.entry(m.source_field.to_lowercase())
            .or_default()
            .push(Target {
                entity: m.canonical_entity,
                field: m.canonical_field,
                data_type,
                mapping_id: m.mapping_id,
                version: m.version,
                transform,
            });
    }
    let mut applied: Vec<String> = plan
        .values()
        .flatten()
        .map(|t| format!("{}:{}", t.mapping_id, t.version))
        .collect();
    applied.sort();
    let version = {
        use sha2::{Digest, Sha256};
        hex::encode(&Sha256::digest(applied.join(",").as_bytes())[..6])
    };
    let required = ontology
        .entities
        .iter()
        .map(|e| {
            let fields = e
                .fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name.clone());
            (e.name.clone(), fields.collect::<Vec<_>>())
        })
        .filter(|(_, fields)| !fields.is_empty())
        .collect();
    Ok(Plan {
        targets: plan,
        version,
        required,
    })
}
