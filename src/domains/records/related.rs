//! References between unified records: a record's reference fields (`account_id`) name a
//! source id; followed to the unified record of the source record holding it, whichever source
//! it came from (the referring record's own source first), and back.
use std::collections::HashMap;

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::model::Related;
use super::reads;
use super::resolve::Resolver;
use super::store;
use crate::config::RecordSettings;
use crate::domains::auth::scope::TenantScope;
use crate::error::AppResult;
use crate::tenancy::ScopedTx;

/// Records this one refers to (its members' reference fields, resolved to the unified record
/// of the referenced source record, whichever source it came from) and records referring to it.
/// A reference names a source id: a record of the referring record's own source wins, any
/// source's record with that id otherwise.
pub async fn related(
    db: &DatabaseConnection,
    scope: &TenantScope,
    settings: &RecordSettings,
    entity: &str,
    id: Uuid,
) -> AppResult<Vec<Related>> {
    let tx = ScopedTx::begin(db, scope).await?;
    let resolver = Resolver::load(&tx, settings).await?;
    let members = reads::members(&tx, entity, id).await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.canonical_id).collect();
    let system_of: HashMap<Uuid, &str> = members
        .iter()
        .map(|m| (m.canonical_id, m.source_system.as_str()))
        .collect();
    let mut out: Vec<Related> = Vec::new();
    if let Some(profile) = resolver.profile(entity) {
        let refs = store::keys_of(&tx, entity, &ids, "ref:").await?;
        for (field, target) in profile.references() {
            let wanted: Vec<(&str, String)> = refs
                .iter()
                .filter(|(_, kind, _)| kind.strip_prefix("ref:") == Some(target))
                .map(|(cid, _, v)| (system_of.get(cid).copied().unwrap_or_default(), v.clone()))
                .collect();
            let found = follow(&tx, target, "self", &wanted).await?;
            for unified in found {
                push_related(
                    &mut out,
                    Related {
                        field: field.to_owned(),
                        entity: target.to_owned(),
                        id: unified,
                        incoming: false,
                    },
                );
            }
        }
    }
    // Incoming: records of any entity whose references resolve to one of this record's members.
    let own: Vec<String> = store::keys_of(&tx, entity, &ids, "self")
        .await?
        .into_iter()
        .map(|x| x.2)
        .collect();
    if !own.is_empty() {
        // Every record of this entity holding those ids (ours and any other source's).
        let holders = store::with_keys(&tx, entity, "self", &own).await?;
        let holder_ids: Vec<Uuid> = holders.iter().map(|h| h.1).collect();
        let holder_system: HashMap<Uuid, String> = reads::canonical(&tx, entity, &holder_ids)
            .await?
            .into_iter()
            .map(|m| (m.canonical_id, m.source_system))
            .collect();
        for other in resolver.entities() {
            let Some(profile) = resolver.profile(other) else {
                continue;
            };
            for (field, target) in profile.references() {
                if target != entity {
                    continue;
                }
                let hits = store::with_keys(&tx, other, &format!("ref:{entity}"), &own).await?;
                let referring: Vec<Uuid> = hits.iter().map(|h| h.1).collect();
                let systems: HashMap<Uuid, String> = reads::canonical(&tx, other, &referring)
                    .await?
                    .into_iter()
                    .map(|m| (m.canonical_id, m.source_system))
                    .collect();
                let accepted: Vec<Uuid> = hits
                    .iter()
                    .filter(|(v, cid)| {
                        let sys = systems.get(cid).map(String::as_str).unwrap_or_default();
                        let named: Vec<Uuid> =
                            holders.iter().filter(|h| &h.0 == v).map(|h| h.1).collect();
                        own_source_first(named, &holder_system, sys)
                            .iter()
                            .any(|r| system_of.contains_key(r))
                    })
                    .map(|h| h.1)
                    .collect();
                for (_, unified) in reads::unified_of(&tx, other, &accepted).await? {
                    push_related(
                        &mut out,
                        Related {
                            field: field.to_owned(),
                            entity: other.to_owned(),
                            id: unified,
                            incoming: true,
                        },
                    );
                }
            }
        }
    }
    Ok(out)
}

/// The records a reference names among those holding its id: those of the referring record's
/// own source when there are any, all of them otherwise.
fn own_source_first(
    holders: Vec<Uuid>,
    systems: &HashMap<Uuid, String>,
    system: &str,
) -> Vec<Uuid> {
    let same: Vec<Uuid> = holders
        .iter()
        .copied()
        .filter(|h| systems.get(h).is_some_and(|s| s == system))
        .collect();
    if same.is_empty() {
        holders
    } else {
        same
    }
}

fn push_related(out: &mut Vec<Related>, r: Related) {
    if !out.contains(&r) && out.len() < 500 {
        out.push(r);
    }
}

/// The unified records of `entity` whose records hold `kind` keys of these (source system,
/// value) pairs, preferring records of the same source system.
async fn follow(
    tx: &ScopedTx<'_>,
    entity: &str,
    kind: &str,
    wanted: &[(&str, String)],
) -> AppResult<Vec<Uuid>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<String> = wanted.iter().map(|w| w.1.clone()).collect();
    let hits = store::with_keys(tx, entity, kind, &values).await?;
    let ids: Vec<Uuid> = hits.iter().map(|h| h.1).collect();
    let systems: HashMap<Uuid, String> = reads::canonical(tx, entity, &ids)
        .await?
        .into_iter()
        .map(|m| (m.canonical_id, m.source_system))
        .collect();
    let mut chosen: Vec<Uuid> = Vec::new();
    for (system, value) in wanted {
        let holders: Vec<Uuid> = hits.iter().filter(|h| &h.0 == value).map(|h| h.1).collect();
        chosen.extend(own_source_first(holders, &systems, system));
    }
    let mut unified: Vec<Uuid> = reads::unified_of(tx, entity, &chosen)
        .await?
        .into_iter()
        .map(|x| x.1)
        .collect();
    unified.sort();
    unified.dedup();
    Ok(unified)
}
