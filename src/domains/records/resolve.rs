//! Entity resolution of a batch of changed canonical records, inside the transaction that wrote
//! them: keys → candidates that share a key (blocking, capped) → deterministic links and
//! Fellegi–Sunter scores (off the async executor) → each record's unified record (auto-link at
//! or above the high threshold, the review queue in the middle band, a person's decisions
//! first) → golden values of every unified record touched.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::cluster::{self, Decision, Pair, RecordView};
use super::golden_store::{self, HistoryEntry};
use super::learn::{Evidence, Model};
use super::learn_store;
use super::profile::{FieldInfo, Profile};
use super::score::{self, Score};
use super::store::{self, NewCandidate, NewLink};
use super::survivorship::{self, Member};
use super::targets::{self, Targets};
use crate::config::RecordSettings;
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// Thresholds of the match probability, and the block cap.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// At or above: linked without review.
    pub auto_link: f64,
    /// At or above (and below `auto_link`): a pair for the review queue.
    pub review_from: f64,
    /// A key more records than this share names no one thing (`info@`, a switchboard): it
    /// neither links nor blocks.
    pub block_cap: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            auto_link: 0.95,
            review_from: 0.60,
            block_cap: 50,
        }
    }
}

impl From<&RecordSettings> for Thresholds {
    fn from(s: &RecordSettings) -> Self {
        Self {
            auto_link: s.auto_link,
            review_from: s.review_from,
            block_cap: s.block_cap,
        }
    }
}

/// What resolution changed, to tell subscribers after commit: (entity, unified id, change).
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub items: Vec<(String, Uuid, &'static str)>,
    pub linked: u64,
    pub queued_for_review: u64,
    /// Candidate pairs compared (scored or sharing a key).
    pub compared: u64,
    /// The levels of the pairs scored, by entity, to learn from.
    pub evidence: BTreeMap<String, Evidence>,
}

impl Changes {
    pub fn extend(&mut self, other: Changes) {
        self.items.extend(other.items);
        self.linked += other.linked;
        self.queued_for_review += other.queued_for_review;
        self.compared += other.compared;
        for (entity, evidence) in other.evidence {
            self.evidence.entry(entity).or_default().merge(evidence);
        }
    }
}

/// Resolves records of the tenant's entities; built once per run from the active model.
#[derive(Clone)]
pub struct Resolver {
    profiles: Arc<HashMap<String, Profile>>,
    thresholds: Thresholds,
}

impl Resolver {
    pub async fn load(tx: &ScopedTx<'_>, settings: &RecordSettings) -> AppResult<Self> {
        let ontology = crate::domains::ontology::service::load_active(tx).await?;
        let names: Vec<&str> = ontology.entities.iter().map(|e| e.name.as_str()).collect();
        let profiles = ontology
            .entities
            .iter()
            .map(|e| {
                let fields: Vec<FieldInfo<'_>> = e
                    .fields
                    .iter()
                    .map(|f| FieldInfo {
                        name: &f.name,
                        data_type: &f.data_type,
                    })
                    .collect();
                let mut profile = Profile::infer(&e.name, &fields, &names);
                profile.country.clone_from(&settings.default_country);
                (e.name.clone(), profile)
            })
            .collect();
        let mut resolver = Self {
            profiles: Arc::new(profiles),
            thresholds: Thresholds::from(settings),
        };
        for (entity, (fields, model)) in learn_store::load(tx).await? {
            // Learned of the entity's fields as they were: a changed model starts afresh.
            if resolver.profile(&entity).map(field_names) == Some(fields) {
                resolver.set_model(&entity, model);
            }
        }
        Ok(resolver)
    }

    /// From now on, scores of `entity` use what was learned of it.
    pub fn set_model(&mut self, entity: &str, model: Model) {
        if let Some(p) = Arc::make_mut(&mut self.profiles).get_mut(entity) {
            p.model = Some(Arc::new(model));
        }
    }

    /// How many pairs the entity's model was learned from (0 while it has none).
    pub fn learned_from(&self, entity: &str) -> f64 {
        self.profile(entity)
            .and_then(|p| p.model.as_ref())
            .map_or(0.0, |m| m.pairs)
    }

    pub fn profile(&self, entity: &str) -> Option<&Profile> {
        self.profiles.get(entity)
    }

    pub fn entities(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Links canonical records of any entities, entity by entity (in name order, the order
    /// every resolving transaction takes the entities' locks in).
    pub async fn resolve_all(
        &self,
        tx: &ScopedTx<'_>,
        records: &[(String, Uuid)],
    ) -> AppResult<Changes> {
        // Every statement of resolution looks rows up by the batch's ids and keys. Statistics
        // of tables that grow during a run (a first sync) can claim they are nearly empty and
        // choose to scan them whole (measured on a fresh database: reading a batch's records
        // took 26 ms, 11 ms by the index).
        store::lookups_by_index(tx).await?;
        let mut by_entity: std::collections::BTreeMap<&str, Vec<Uuid>> = Default::default();
        for (entity, id) in records {
            by_entity.entry(entity).or_default().push(*id);
        }
        let mut changes = Changes::default();
        for (entity, ids) in by_entity {
            changes.extend(self.resolve(tx, entity, &ids).await?);
        }
        Ok(changes)
    }

    /// Links these canonical records of `entity` (just written) and refreshes the golden
    /// records they touch.
    pub async fn resolve(
        &self,
        tx: &ScopedTx<'_>,
        entity: &str,
        ids: &[Uuid],
    ) -> AppResult<Changes> {
        let Some(profile) = self.profiles.get(entity) else {
            return Ok(Changes::default());
        };
        if ids.is_empty() {
            return Ok(Changes::default());
        }
        store::lock_entity(tx, entity).await?;
        let batch = store::compared(tx, entity, ids).await?;
        let mut keys: Vec<(Uuid, String, String)> = Vec::new();
        for r in &batch {
            for (kind, value) in profile.keys(&r.source_record_id, &r.view.data) {
                keys.push((r.id, kind, value));
            }
        }
        // A record asked for twice has its keys once.
        keys.sort();
        keys.dedup();
        store::replace_keys(tx, entity, ids, &keys).await?;

        // Candidates: records sharing a key, through keys that are not too common.
        let probes: Vec<(String, String)> = {
            let mut p: Vec<_> = keys
                .iter()
                .filter(|(_, k, _)| k.starts_with("k:") || k.starts_with("b:"))
                .map(|(_, k, v)| (k.clone(), v.clone()))
                .collect();
            p.sort();
            p.dedup();
            p
        };
        let cap = self.thresholds.block_cap;
        let holders = if profile.resolves() {
            store::holders(tx, entity, &probes, cap).await?
        } else {
            HashMap::new()
        };
        let mut candidates: HashMap<Uuid, Vec<(Uuid, bool)>> = HashMap::new();
        for (id, kind, value) in &keys {
            let Some(found) = holders.get(&(kind.clone(), value.clone())) else {
                continue;
            };
            if found.len() > cap {
                continue;
            }
            let deterministic = kind.starts_with("k:");
            let list = candidates.entry(*id).or_default();
            for other in found.iter().filter(|o| *o != id) {
                match list.iter_mut().find(|(o, _)| o == other) {
                    Some(entry) => entry.1 |= deterministic,
                    None => list.push((*other, deterministic)),
                }
            }
        }

        // Everything the decisions read: candidates' data and links, decisions and the links
        // of their counterparts, cluster sizes.
        let in_batch: HashSet<Uuid> = ids.iter().copied().collect();
        let decisions = store::decisions(tx, entity, ids).await?;
        let mut outside: Vec<Uuid> = candidates.values().flatten().map(|(c, _)| *c).collect();
        outside.extend(decisions.iter().flat_map(|(l, r, _)| [*l, *r]));
        outside.retain(|c| !in_batch.contains(c));
        outside.sort();
        outside.dedup();
        let order: Vec<Uuid> = batch.iter().map(|r| r.id).collect();
        let current: Vec<Uuid> = batch.iter().filter_map(|r| r.view.unified).collect();
        // The batch's records as members, for the unified records this pass makes of them.
        let members: HashMap<Uuid, Member> = batch.iter().map(|r| (r.id, r.member())).collect();
        let mut compared = batch;
        compared.extend(store::compared(tx, entity, &outside).await?);
        let targets = targets::targets(tx, profile, &compared).await?;
        let views: HashMap<Uuid, RecordView> =
            compared.into_iter().map(|r| (r.id, r.view)).collect();
        let sizes = store::cluster_sizes(tx, entity, &current).await?;

        let scores = score_pairs(profile, &candidates, &views, targets).await?;
        let compared = candidates.values().map(|c| c.len() as u64).sum::<u64>();
        let mut evidence = Evidence::new(field_names(profile));
        for ((a, b), score) in &scores {
            // A pair of two records of the batch is scored both ways: counted once.
            if a < b || !scores.contains_key(&(*b, *a)) {
                evidence.add(score);
            }
        }
        let decided = cluster::decide_all(
            &order,
            &candidates,
            &scores,
            &decisions,
            views,
            sizes,
            &self.thresholds,
        );
        let mut changes = self.apply(tx, entity, decided, members).await?;
        changes.compared = compared;
        changes.evidence.insert(entity.to_owned(), evidence);
        Ok(changes)
    }

    /// Writes what was decided: links, merges (unless a person kept the two apart), review
    /// pairs, then the golden records of every unified record touched (`members`: the batch's
    /// records, the whole of each unified record made in this pass).
    async fn apply(
        &self,
        tx: &ScopedTx<'_>,
        entity: &str,
        decided: Vec<Decision>,
        mut members: HashMap<Uuid, Member>,
    ) -> AppResult<Changes> {
        let mut changes = Changes::default();
        let mut history: Vec<HistoryEntry> = Vec::new();
        let mut touched: Vec<Uuid> = Vec::new();
        let mut links: Vec<NewLink> = Vec::new();
        let mut review: Vec<NewCandidate> = Vec::new();
        let mut merged: Vec<(Uuid, Uuid)> = Vec::new();
        let mut known: HashMap<Uuid, Vec<Member>> = HashMap::new();
        for d in decided {
            touched.push(d.target);
            if let Some(m) = members.remove(&d.record).filter(|_| d.fresh) {
                known.entry(d.target).or_default().push(m);
            }
            if let Some(previous) = d.previous.filter(|p| *p != d.target) {
                touched.push(previous);
                history.push(HistoryEntry {
                    unified_id: previous,
                    kind: "UNLINKED",
                    actor: None,
                    detail: json!({ "canonicalId": d.record, "movedTo": d.target }),
                });
            }
            if d.previous != Some(d.target) && d.rule != "NEW" {
                changes.linked += 1;
                history.push(HistoryEntry {
                    unified_id: d.target,
                    kind: "LINKED",
                    actor: None,
                    detail: json!({ "canonicalId": d.record, "rule": d.rule, "score": d.score }),
                });
            }
            merged.extend(d.merge.iter().map(|m| (*m, d.target)));
            review.extend(
                d.review
                    .into_iter()
                    .map(|Pair { left, right, score }| NewCandidate {
                        left,
                        right,
                        score: score.probability,
                        evidence: score.evidence(),
                    }),
            );
            links.push(NewLink {
                canonical_id: d.record,
                unified_id: d.target,
                rule: d.rule,
                score: d.score,
                evidence: d.evidence,
                linked_by: None,
            });
        }
        store::write_links(tx, entity, &links).await?;
        for (from, into) in merged {
            if from == into || store::kept_apart(tx, entity, from, into).await? {
                continue;
            }
            store::move_members(tx, entity, from, into).await?;
            touched.extend([from, into]);
            // Both now differ from what the batch knows of them.
            known.remove(&from);
            known.remove(&into);
            history.push(HistoryEntry {
                unified_id: into,
                kind: "MERGED",
                actor: None,
                detail: json!({ "from": from, "by": "a shared key" }),
            });
            changes.items.push((entity.to_owned(), into, "MERGED"));
        }
        changes.queued_for_review = review.len() as u64;
        store::queue_candidates(tx, entity, &review).await?;
        // A unified record a line above tells of needs no "UPDATED" line besides.
        let told: HashSet<Uuid> = history.iter().map(|h| h.unified_id).collect();
        let refreshed = refresh_known(tx, entity, &touched, known, &told).await?;
        golden_store::write_history(tx, entity, &history).await?;
        changes.extend(refreshed);
        Ok(changes)
    }
}

/// The fields a profile compares, in order: what its evidence is counted by.
fn field_names(profile: &Profile) -> Vec<String> {
    profile.fields.iter().map(|(f, _)| f.clone()).collect()
}

/// Recomputes the golden records of these unified records (removing the ones left empty).
pub async fn refresh(tx: &ScopedTx<'_>, entity: &str, unified: &[Uuid]) -> AppResult<Changes> {
    refresh_known(tx, entity, unified, HashMap::new(), &HashSet::new()).await
}

/// [`refresh`], given the whole membership of some of them (not read again) and the ones
/// whose history already tells of this change (`told`: no "UPDATED" line is added).
async fn refresh_known(
    tx: &ScopedTx<'_>,
    entity: &str,
    unified: &[Uuid],
    known: HashMap<Uuid, Vec<Member>>,
    told: &HashSet<Uuid>,
) -> AppResult<Changes> {
    let mut unified = unified.to_vec();
    unified.sort();
    unified.dedup();
    let rules = golden_store::rules(tx, entity).await?;
    let unknown: Vec<Uuid> = unified
        .iter()
        .filter(|u| !known.contains_key(u))
        .copied()
        .collect();
    let mut members: HashMap<Uuid, Vec<Member>> = store::members(tx, entity, &unknown, false)
        .await?
        .into_iter()
        .map(|(id, ms)| (id, ms.into_iter().map(|l| l.member).collect()))
        .collect();
    // In id order, as read (survivorship breaks ties by order).
    members.extend(known.into_iter().map(|(id, mut ms)| {
        ms.sort_by_key(|m| m.id);
        (id, ms)
    }));
    let emptied: Vec<Uuid> = unified
        .iter()
        .filter(|u| !members.contains_key(u))
        .copied()
        .collect();
    let golden: Vec<(Uuid, serde_json::Map<String, serde_json::Value>, usize)> = members
        .into_iter()
        .map(|(id, ms)| (id, survivorship::values(&ms, &rules), ms.len()))
        .collect();
    let created: HashSet<Uuid> = golden_store::write_golden(tx, entity, &golden, &emptied)
        .await?
        .into_iter()
        .collect();
    let mut changes = Changes::default();
    let mut history = Vec::new();
    for (id, _, size) in &golden {
        let kind = if created.contains(id) {
            "CREATED"
        } else {
            "UPDATED"
        };
        changes.items.push((entity.to_owned(), *id, kind));
        if kind == "UPDATED" && told.contains(id) {
            continue;
        }
        history.push(HistoryEntry {
            unified_id: *id,
            kind,
            actor: None,
            detail: json!({ "members": size }),
        });
    }
    for id in emptied {
        changes.items.push((entity.to_owned(), id, "DELETED"));
    }
    golden_store::write_history(tx, entity, &history).await?;
    Ok(changes)
}

/// Scores every (record, candidate) pair on the blocking pool, not the async executor.
async fn score_pairs(
    profile: &Profile,
    candidates: &HashMap<Uuid, Vec<(Uuid, bool)>>,
    views: &HashMap<Uuid, RecordView>,
    targets: HashMap<Uuid, Targets>,
) -> AppResult<HashMap<(Uuid, Uuid), Score>> {
    let pairs: Vec<(Uuid, Uuid)> = candidates
        .iter()
        .flat_map(|(id, list)| list.iter().map(move |(c, _)| (*id, *c)))
        .filter(|(a, b)| views.contains_key(a) && views.contains_key(b))
        .collect();
    // Each record's values copied once, not once per pair.
    let data: HashMap<Uuid, serde_json::Map<String, serde_json::Value>> = pairs
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .filter_map(|id| Some((id, views.get(&id)?.data.clone())))
        .collect();
    let profile = profile.clone();
    tokio::task::spawn_blocking(move || {
        let side = |id: &Uuid| Some((data.get(id)?, targets.get(id)));
        pairs
            .into_iter()
            .filter_map(|(a, b)| Some(((a, b), score::score_with(&profile, side(&a)?, side(&b)?))))
            .collect()
    })
    .await
    .map_err(AppError::internal)
}
