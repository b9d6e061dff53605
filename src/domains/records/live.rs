//! Changes to unified records told to subscribers, after the transaction that made them commits:
//! one DCL event per entity and batch, listing each record and how it changed.
use std::collections::{BTreeMap, HashSet};

use serde_json::json;
use uuid::Uuid;

use super::resolve::Changes;
use crate::domains::telemetry::event::{kinds, Draft, Layer};
use crate::domains::telemetry::publisher::Telemetry;

/// Most records one event lists; more go in further events.
const PER_EVENT: usize = 500;

pub fn publish(telemetry: &Telemetry, tenant: Uuid, changes: &Changes, trace: Option<&str>) {
    let mut by_entity: BTreeMap<&str, Vec<(Uuid, &str)>> = BTreeMap::new();
    let mut seen: HashSet<(&str, Uuid)> = HashSet::new();
    for (entity, id, change) in &changes.items {
        // One line per record: a record created, then updated in the same batch, is created.
        if seen.insert((entity, *id)) {
            by_entity.entry(entity).or_default().push((*id, change));
        }
    }
    let publisher = telemetry.layer(Layer::Dcl);
    for (entity, list) in by_entity {
        for chunk in list.chunks(PER_EVENT) {
            publisher.publish(
                tenant,
                Draft::new(kinds::UNIFIED_RECORDS_CHANGED, "unified_record", entity)
                    .status("OK")
                    .message(format!("{}: {} unified records changed", entity, chunk.len()))
                    .data(json!({
                        "entity": entity,
                        "changes": chunk.iter().map(|(id, change)| json!({ "id": id, "change": change }))
                            .collect::<Vec<_>>(),
                    }))
                    .trace(trace.map(str::to_owned)),
            );
        }
    }
}
