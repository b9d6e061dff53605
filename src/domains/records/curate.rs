//! What a person does with unified records: decide a review pair, merge, split, unlink, set a
//! survivorship rule. Each is audited, told to subscribers after commit, and a person's decision
//! no later sync undoes.
use std::collections::{HashMap, HashSet};

use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use super::golden_store::{self, HistoryEntry};
use super::live;
use super::model::{MatchCandidate, UnifiedRecord};
use super::reads;
use super::resolve::{self, Changes};
use super::service::fields;
use super::store::{self, NewLink};
use super::survivorship::{RuleSpec, Rules};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::telemetry::publisher::Telemetry;
use crate::domains::webhooks::{self, model::EventType};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// What a person does with records: the collaborators every change needs.
pub struct Curate<'a> {
    pub db: &'a DatabaseConnection,
    pub scope: &'a TenantScope,
    pub telemetry: &'a Telemetry,
}

fn actor(scope: &TenantScope) -> String {
    scope.actor().label()
}

impl Curate<'_> {
    fn publish(&self, changes: &Changes) {
        live::publish(
            self.telemetry,
            self.scope.tenant_id(),
            changes,
            self.scope.request().trace_id.as_deref(),
        );
    }

    /// Link (the two records' unified records become one) or keep apart (and never link them).
    pub async fn decide(&self, id: Uuid, link: bool) -> AppResult<MatchCandidate> {
        let tx = ScopedTx::begin(self.db, self.scope).await?;
        let c = reads::candidate(&tx, id).await?.ok_or(AppError::NotFound {
            what: "match candidate",
        })?;
        if c.status != "PENDING" {
            return Err(AppError::Conflict(format!(
                "this pair was already decided ({})",
                c.status
            )));
        }
        store::lock_entity(&tx, &c.entity).await?;
        let by = actor(self.scope);
        let units: HashMap<Uuid, Uuid> =
            reads::unified_of(&tx, &c.entity, &[c.left_id, c.right_id])
                .await?
                .into_iter()
                .collect();
        let (left, right) = (
            units.get(&c.left_id).copied(),
            units.get(&c.right_id).copied(),
        );
        let mut changes = Changes::default();
        if link {
            store::record_decision(&tx, &c.entity, (c.left_id, c.right_id), "LINK", &by).await?;
            if let (Some(l), Some(r)) = (left, right) {
                if l != r {
                    changes.extend(join(&tx, &c.entity, l, &[r], &by).await?);
                }
            }
        } else {
            store::record_decision(&tx, &c.entity, (c.left_id, c.right_id), "APART", &by).await?;
            if let (Some(l), Some(r)) = (left, right) {
                if l == r {
                    changes.extend(separate(&tx, &c.entity, l, &[c.right_id], &by).await?.1);
                }
            }
        }
        let status = if link { "LINKED" } else { "KEPT_APART" };
        reads::set_candidate_status(&tx, id, status, &by).await?;
        audit::record(
            &tx,
            AuditEntry::new("match.decide", "match_candidate", id).new_value(json!({
                "decision": status, "entity": c.entity, "left": c.left_id, "right": c.right_id, "score": c.score,
            })),
        )
        .await?;
        let decided = reads::candidate(&tx, id).await?.ok_or(AppError::NotFound {
            what: "match candidate",
        })?;
        tx.commit().await?;
        self.publish(&changes);
        Ok(decided)
    }

    /// Makes these unified records one (the first keeps its id).
    pub async fn merge(&self, entity: &str, ids: &[Uuid]) -> AppResult<UnifiedRecord> {
        let distinct: Vec<Uuid> = ids
            .iter()
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if distinct.len() < 2 || ids.len() > 20 {
            return Err(AppError::bad_field(
                "ids",
                "needs 2 to 20 different unified records",
            ));
        }
        let tx = ScopedTx::begin(self.db, self.scope).await?;
        fields(&tx, entity).await?;
        store::lock_entity(&tx, entity).await?;
        for id in ids {
            reads::get(&tx, entity, *id)
                .await?
                .ok_or(AppError::NotFound {
                    what: "unified record",
                })?;
        }
        let target = ids[0];
        let others: Vec<Uuid> = distinct.into_iter().filter(|i| *i != target).collect();
        let changes = join(&tx, entity, target, &others, &actor(self.scope)).await?;
        audit::record(
            &tx,
            AuditEntry::new("record.merge", "unified_record", target)
                .new_value(json!({ "entity": entity, "merged": others })),
        )
        .await?;
        let data = json!({ "entity": entity, "recordId": target, "merged": others,
                           "by": self.scope.actor().label() });
        webhooks::emit(&tx, EventType::RecordsMerged, data).await?;
        self.finish(tx, entity, target, &changes).await
    }

    /// Moves these members out of the unified record into a record of their own, kept apart
    /// from the rest from now on. Returns the new record.
    pub async fn split(&self, entity: &str, id: Uuid, moving: &[Uuid]) -> AppResult<UnifiedRecord> {
        let tx = ScopedTx::begin(self.db, self.scope).await?;
        fields(&tx, entity).await?;
        store::lock_entity(&tx, entity).await?;
        let members: HashSet<Uuid> = reads::members(&tx, entity, id)
            .await?
            .iter()
            .map(|m| m.canonical_id)
            .collect();
        if members.is_empty() {
            return Err(AppError::NotFound {
                what: "unified record",
            });
        }
        let moving: Vec<Uuid> = moving
            .iter()
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if moving.is_empty() || moving.iter().any(|m| !members.contains(m)) {
            return Err(AppError::bad_field(
                "members",
                "must be members of the record",
            ));
        }
        if moving.len() == members.len() {
            return Err(AppError::bad_field(
                "members",
                "must leave at least one member behind",
            ));
        }
        let (new_id, changes) = separate(&tx, entity, id, &moving, &actor(self.scope)).await?;
        audit::record(
            &tx,
            AuditEntry::new("record.split", "unified_record", id)
                .new_value(json!({ "entity": entity, "moved": moving, "into": new_id })),
        )
        .await?;
        self.finish(tx, entity, new_id, &changes).await
    }

    /// The record as the change left it; then commit and tell subscribers.
    async fn finish(
        &self,
        tx: ScopedTx<'_>,
        entity: &str,
        id: Uuid,
        changes: &Changes,
    ) -> AppResult<UnifiedRecord> {
        let record = reads::get(&tx, entity, id)
            .await?
            .ok_or(AppError::NotFound {
                what: "unified record",
            })?;
        tx.commit().await?;
        self.publish(changes);
        Ok(record)
    }

    /// Takes one canonical record out of its unified record.
    pub async fn unlink(&self, entity: &str, canonical_id: Uuid) -> AppResult<UnifiedRecord> {
        let unified = {
            let tx = ScopedTx::begin(self.db, self.scope).await?;
            reads::unified_of(&tx, entity, &[canonical_id])
                .await?
                .first()
                .map(|x| x.1)
        };
        let unified = unified.ok_or(AppError::NotFound {
            what: "canonical record",
        })?;
        self.split(entity, unified, &[canonical_id]).await
    }

    /// Sets a survivorship rule (`field` None: the entity's) and recomputes the entity's golden
    /// records.
    pub async fn set_rule(
        &self,
        entity: &str,
        field: Option<&str>,
        spec: &RuleSpec,
    ) -> AppResult<Rules> {
        let tx = ScopedTx::begin(self.db, self.scope).await?;
        let known = fields(&tx, entity).await?;
        if let Some(f) = field {
            if !known.0.contains_key(f) {
                return Err(AppError::bad_field(
                    "field",
                    format!("{f:?} is not a field of {entity}"),
                ));
            }
        }
        golden_store::save_rule(
            &tx,
            entity,
            field.unwrap_or_default(),
            spec,
            &actor(self.scope),
        )
        .await?;
        audit::record(
            &tx,
            AuditEntry::new("record.survivorship", "entity", entity).new_value(json!({
                "field": field, "rule": spec.rule.as_str(), "sourcePriority": spec.source_priority,
            })),
        )
        .await?;
        tx.commit().await?;
        // Each page of records in a transaction of its own: the rule holds from now on, and
        // every golden record is recomputed under it.
        let mut after = None;
        loop {
            let tx = ScopedTx::begin(self.db, self.scope).await?;
            let ids = golden_store::unified_ids_after(&tx, entity, after, 500).await?;
            let Some(last) = ids.last().copied() else {
                break;
            };
            let changes = resolve::refresh(&tx, entity, &ids).await?;
            tx.commit().await?;
            self.publish(&changes);
            after = Some(last);
        }
        let tx = ScopedTx::begin(self.db, self.scope).await?;
        Ok(golden_store::rules(&tx, entity).await?)
    }
}

/// Moves every member of `others` into `target`, as a person's decision: what kept them apart
/// is lifted, each moved member is placed by hand (no sync moves it again).
async fn join(
    tx: &ScopedTx<'_>,
    entity: &str,
    target: Uuid,
    others: &[Uuid],
    by: &str,
) -> AppResult<Changes> {
    let mut all = others.to_vec();
    all.push(target);
    let groups = store::members(tx, entity, &all, false).await?;
    let anchor = groups
        .get(&target)
        .and_then(|m| m.first())
        .map(|m| m.member.id);
    let mut links = Vec::new();
    let mut history = Vec::new();
    for other in others {
        let moved: Vec<Uuid> = groups
            .get(other)
            .map(|ms| ms.iter().map(|m| m.member.id).collect())
            .unwrap_or_default();
        let stay: Vec<Uuid> = groups
            .get(&target)
            .map(|ms| ms.iter().map(|m| m.member.id).collect())
            .unwrap_or_default();
        store::forget_apart(tx, entity, &moved, &stay).await?;
        if let (Some(a), Some(b)) = (anchor, moved.first()) {
            store::record_decision(tx, entity, (a, *b), "LINK", by).await?;
        }
        links.extend(moved.iter().map(|m| manual_link(*m, target, by)));
        history.push(HistoryEntry {
            unified_id: target,
            kind: "MERGED",
            actor: Some(by.to_owned()),
            detail: json!({ "from": other, "members": moved }),
        });
        history.push(HistoryEntry {
            unified_id: *other,
            kind: "MERGED_INTO",
            actor: Some(by.to_owned()),
            detail: json!({ "into": target }),
        });
    }
    store::write_links(tx, entity, &links).await?;
    golden_store::write_history(tx, entity, &history).await?;
    let mut changes = resolve::refresh(tx, entity, &all).await?;
    changes.items.retain(|(_, id, _)| *id != target);
    changes.items.push((entity.to_owned(), target, "MERGED"));
    Ok(changes)
}

/// Moves `moving` out of `from` into a new unified record, kept apart from the rest.
async fn separate(
    tx: &ScopedTx<'_>,
    entity: &str,
    from: Uuid,
    moving: &[Uuid],
    by: &str,
) -> AppResult<(Uuid, Changes)> {
    let stay: Vec<Uuid> = store::members(tx, entity, &[from], false)
        .await?
        .remove(&from)
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.member.id)
        .filter(|m| !moving.contains(m))
        .collect();
    let new_id = Uuid::now_v7();
    // Kept apart pair by pair (bounded: a record has at most a few hundred members).
    for m in moving {
        for s in stay.iter().take(500) {
            store::record_decision(tx, entity, (*m, *s), "APART", by).await?;
        }
    }
    let links: Vec<NewLink> = moving.iter().map(|m| manual_link(*m, new_id, by)).collect();
    store::write_links(tx, entity, &links).await?;
    let detail = json!({ "members": moving, "into": new_id, "from": from });
    golden_store::write_history(
        tx,
        entity,
        &[
            HistoryEntry {
                unified_id: from,
                kind: "SPLIT",
                actor: Some(by.to_owned()),
                detail: detail.clone(),
            },
            HistoryEntry {
                unified_id: new_id,
                kind: "SPLIT_FROM",
                actor: Some(by.to_owned()),
                detail,
            },
        ],
    )
    .await?;
    let mut changes = resolve::refresh(tx, entity, &[from, new_id]).await?;
    changes.items.retain(|(_, id, _)| *id != from);
    changes.items.push((entity.to_owned(), from, "SPLIT"));
    Ok((new_id, changes))
}

fn manual_link(canonical_id: Uuid, unified_id: Uuid, by: &str) -> NewLink {
    NewLink {
        canonical_id,
        unified_id,
        rule: "MANUAL",
        score: None,
        evidence: json!({ "decided": "placed by a person" }),
        linked_by: Some(by.to_owned()),
    }
}
