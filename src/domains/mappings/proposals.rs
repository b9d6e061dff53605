//! RAG-first mapping proposals, the review queue, and learning from decisions.
use std::collections::HashMap;
use std::sync::Arc;

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::model::MappingMethod;
use super::scoring::{self, Candidate, FieldEvidence, Neighbour};
use super::{llm, names, review_store, store};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::ontology::service as ontology;
use crate::domains::quotas::service::{self as quotas, Metered};
use crate::error::{AppError, AppResult};
use crate::infra::db::ScopedTx;
use crate::infra::embed::Vector;
use crate::infra::vector::{VectorHit, VectorKind, VectorRecord};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;

const MAX_SAMPLES: usize = 20;
const MAX_SAMPLE_CHARS: usize = 200;
const NEIGHBOURS: u64 = 12;
const ALTERNATIVES: usize = 3;
/// Below this nothing is worth suggesting: the field is UNMAPPED (still queued for a human).
const CANDIDATE_FLOOR: f64 = 0.35;
/// Two candidates closer than this are a conflict for a human to settle.
const TIE_MARGIN: f64 = 0.02;

#[derive(Debug, Clone)]
pub struct FieldInput {
    pub name: String,
    pub data_type: Option<String>,
    pub description: Option<String>,
    pub samples: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalStatus {
    AutoApplied,
    NeedsReview,
    Unmapped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalMethod {
    Exact,
    Rag,
    Llm,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    ReviewBand,
    LowConfidence,
    Conflict,
    NoCandidate,
}

impl ReviewReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReviewBand => "REVIEW_BAND",
            Self::LowConfidence => "LOW_CONFIDENCE",
            Self::Conflict => "CONFLICT",
            Self::NoCandidate => "NO_CANDIDATE",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "REVIEW_BAND" => Self::ReviewBand,
            "LOW_CONFIDENCE" => Self::LowConfidence,
            "CONFLICT" => Self::Conflict,
            _ => Self::NoCandidate,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Proposal {
    pub source_field: String,
    pub top: Option<Candidate>,
    pub alternatives: Vec<Candidate>,
    pub status: ProposalStatus,
    pub method: ProposalMethod,
    pub reason: Option<ReviewReason>,
    pub review_id: Option<Uuid>,
    pub mapping_id: Option<Uuid>,
}

pub struct ProposeInput {
    pub source_system: String,
    pub source_entity: String,
    pub fields: Vec<FieldInput>,
}

/// What a review item stores about the field and its candidates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredProposal {
    pub data_type: Option<String>,
    pub description: Option<String>,
    pub samples: Vec<String>,
    pub candidates: Vec<StoredCandidate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCandidate {
    pub entity: String,
    pub field: String,
    pub confidence: f64,
    pub method: String,
}

fn method_of(c: Option<&Candidate>) -> ProposalMethod {
    match c.map(|c| c.method) {
        Some(MappingMethod::Exact) => ProposalMethod::Exact,
        Some(MappingMethod::Rag) => ProposalMethod::Rag,
        Some(MappingMethod::Llm) => ProposalMethod::Llm,
        Some(MappingMethod::Manual) | None => ProposalMethod::None,
    }
}

fn clean_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v: String = value
        .chars()
        .filter(|c| *c != '\0')
        .collect::<String>()
        .trim()
        .to_owned();
    if v.is_empty() {
        return Err(AppError::bad_field(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(AppError::bad_field(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

fn clean_fields(fields: Vec<FieldInput>, max: usize) -> AppResult<Vec<FieldInput>> {
    if fields.is_empty() {
        return Err(AppError::bad_field(
            "fields",
            "must list at least one field",
        ));
    }
    if fields.len() > max {
        return Err(AppError::bad_field(
            "fields",
            format!("at most {max} fields per call"),
        ));
    }
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(FieldInput {
                name: clean_text(&format!("fields[{i}].name"), &f.name, 200)?,
                data_type: f
                    .data_type
                    .map(|t| t.chars().take(50).collect::<String>().trim().to_lowercase())
                    .filter(|t| !t.is_empty()),
                description: f
                    .description
                    .map(|d| d.replace('\0', "").chars().take(1000).collect()),
                // Samples are evidence, not data: keep a few, short, and without NUL bytes.
                samples: f
                    .samples
                    .into_iter()
                    .take(MAX_SAMPLES)
                    .map(|s| s.replace('\0', "").chars().take(MAX_SAMPLE_CHARS).collect())
                    .collect(),
            })
        })
        .collect()
}

/// The exact-match set for one source system and entity: compact source name → target.
#[derive(Serialize, Deserialize, Default)]
struct ExactSet {
    by_field: HashMap<String, (Uuid, String, String)>,
}

fn exact_cache_key(tenant: Uuid, system: &str, entity: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(format!("{system}\0{entity}").as_bytes()));
    format!("mappings:exact:{tenant}:{digest}")
}

async fn exact_set(
    state: &AppState,
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
) -> AppResult<ExactSet> {
    let key = exact_cache_key(tx.tenant_id(), system, entity);
    let mut redis = state.redis.clone();
    match redis.get::<_, Option<String>>(&key).await {
        Ok(Some(raw)) => {
            if let Ok(set) = serde_json::from_str(&raw) {
                return Ok(set);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "exact-match cache unavailable; reading Postgres"),
    }
    let mut set = ExactSet::default();
    for m in store::active_for_source(tx, system, entity).await? {
        set.by_field.insert(
            names::compact(&m.source_field),
            (m.mapping_id, m.canonical_entity, m.canonical_field),
        );
    }
    if let Ok(raw) = serde_json::to_string(&set) {
        let ttl = state.settings.proposals.exact_cache_ttl_secs;
        if let Err(e) = redis.set_ex::<_, _, ()>(&key, raw, ttl).await {
            tracing::warn!(error = %e, "exact-match cache write failed");
        }
    }
    Ok(set)
}

/// Mappings changed for this source: the cached exact-match set is stale.
pub(crate) async fn invalidate_exact(state: &AppState, tenant: Uuid, system: &str, entity: &str) {
    let mut redis = state.redis.clone();
    if let Err(e) = redis
        .del::<_, ()>(exact_cache_key(tenant, system, entity))
        .await
    {
        tracing::warn!(error = %e, "exact-match cache invalidation failed");
    }
}

pub async fn propose(
    state: &AppState,
    scope: &TenantScope,
    input: ProposeInput,
) -> AppResult<Vec<Proposal>> {
    let settings = &state.settings.proposals;
    let system = clean_text("sourceSystem", &input.source_system, 200)?;
    let entity = clean_text("sourceEntity", &input.source_entity, 200)?;
    let fields = clean_fields(input.fields, settings.max_fields_per_call)?;
    let hint = state.knowledge.entity_for(&entity).map(str::to_owned);

    // Embed each distinct query text once (names repeat a lot across connectors).
    let query_text = |f: &FieldInput| {
        let p = names::phrase(&f.name);
        if p.is_empty() {
            f.name.to_lowercase()
        } else {
            p
        }
    };
    // Each field's query text, once: `distinct[text_of[i]]` is field i's.
    let mut distinct: Vec<String> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut text_of: Vec<usize> = Vec::with_capacity(fields.len());
    for f in &fields {
        let q = query_text(f);
        let i = *index_of.entry(q.clone()).or_insert_with(|| {
            distinct.push(q);
            distinct.len() - 1
        });
        text_of.push(i);
    }
    let started = std::time::Instant::now();
    let vectors = state
        .embedder
        .embed(&distinct)
        .await
        .map_err(AppError::internal)?;
    let embedded = started.elapsed();

    // Reads first, in a short transaction of their own: nothing is held open while an LLM
    // provider (if any) answers.
    let read = ScopedTx::begin(&state.db, scope).await?;
    let quota = quotas::limits(&read, &state.settings.quotas)
        .await?
        .proposals_per_month;
    quotas::ensure_room(&read, Metered::Proposals, quota, fields.len() as u64).await?;
    // What the tenant has approved under exactly these names, from any source.
    let learned_names = state.vectors.learned_targets(&read, &distinct).await?;
    // Exact evidence first: a field it settles needs no vector search.
    let mut needs_search = vec![false; distinct.len()];
    for (f, &t) in fields.iter().zip(&text_of) {
        let learned_exact = learned_names.get(&distinct[t]).cloned().unwrap_or_default();
        let ev = FieldEvidence {
            name: &f.name,
            data_type: f.data_type.as_deref().unwrap_or(""),
            samples: &f.samples,
            entity_hint: hint.as_deref(),
            learned_exact: &learned_exact,
            neighbours: &[],
        };
        let exact_only = scoring::rank(&state.knowledge, &ev, 2);
        let settled = match (exact_only.first(), exact_only.get(1)) {
            (Some(top), second) => {
                top.confidence >= settings.auto_apply_threshold
                    && second.is_none_or(|s| top.confidence - s.confidence >= TIE_MARGIN)
            }
            _ => false,
        };
        if !settled {
            needs_search[t] = true;
        }
    }
    let hits = neighbours_of(state, &read, &distinct, &vectors, &needs_search).await?;
    let searched = started.elapsed();

    // Rank every field.
    let mut ranked: Vec<Vec<Candidate>> = Vec::with_capacity(fields.len());
    for (f, &i) in fields.iter().zip(&text_of) {
        let mut learned_exact = learned_names.get(&distinct[i]).cloned().unwrap_or_default();
        let mut neighbours = Vec::new();
        for h in hits[i].iter() {
            let Some((e, fld)) = h.canonical.clone() else {
                continue;
            };
            let learned = h.kind == VectorKind::Mapping && !h.baseline;
            if learned && h.score >= 0.98 {
                learned_exact.push((e.clone(), fld.clone()));
            }
            neighbours.push(Neighbour {
                entity: e,
                field: fld,
                score: f64::from(h.score),
                learned,
            });
        }
        let ev = FieldEvidence {
            name: &f.name,
            data_type: f.data_type.as_deref().unwrap_or(""),
            samples: &f.samples,
            entity_hint: hint.as_deref(),
            learned_exact: &learned_exact,
            neighbours: &neighbours,
        };
        ranked.push(scoring::rank(&state.knowledge, &ev, ALTERNATIVES + 1));
    }
    drop(read);
    ask_llm(state, &system, &entity, &fields, &mut ranked).await;

    let tx = ScopedTx::begin(&state.db, scope).await?;
    // Charged with the proposals' writes: a proposal rolled back (or timed out) costs nothing.
    quotas::charge(&tx, Metered::Proposals, quota, fields.len() as u64).await?;
    let exact = exact_set(state, &tx, &system, &entity).await?;
    let catalogue = catalogue(&tx).await?;
    let heads: HashMap<String, entity::mappings::Model> =
        store::lock_heads_for_source(&tx, &system, &entity)
            .await?
            .into_iter()
            .map(|m| (m.source_field.to_lowercase(), m))
            .collect();

    // Two fields of this batch competing for one canonical field: only a clear winner stays.
    let mut claims: HashMap<(String, String), Vec<(usize, f64)>> = HashMap::new();
    let mut claimant_names = std::collections::HashSet::new();
    for (i, r) in ranked.iter().enumerate() {
        // The same name twice is one field, not two competitors.
        if !claimant_names.insert(fields[i].name.to_lowercase()) {
            continue;
        }
        if let Some(top) = r
            .first()
            .filter(|t| t.confidence >= settings.review_threshold)
        {
            claims
                .entry((top.entity.clone(), top.field.clone()))
                .or_default()
                .push((i, top.confidence));
        }
    }
    let mut contested = vec![false; fields.len()];
    for claimants in claims.values().filter(|c| c.len() > 1) {
        let best = claimants.iter().map(|c| c.1).fold(f64::MIN, f64::max);
        let leaders = claimants.iter().filter(|c| best - c.1 < 0.05).count();
        for &(i, conf) in claimants {
            if leaders > 1 || conf < best {
                contested[i] = true;
            }
        }
    }
    // Targets already held by another source field of this source.
    let held: HashMap<(String, String), String> = exact
        .by_field
        .iter()
        .map(|(name, (_, e, f))| ((e.clone(), f.clone()), name.clone()))
        .collect();

    let mut proposals: Vec<Proposal> = Vec::with_capacity(fields.len());
    let mut applied = Vec::new();
    let mut learned = Vec::new();
    let mut seen_source = Vec::new();
    // A name given twice (in any case) is one source field: decide once, answer for both.
    let mut decided_names: HashMap<String, usize> = HashMap::new();
    let mut reviews: Vec<review_store::NewReview> = Vec::new();
    let mut new_mappings = Vec::new();
    for (i, (f, candidates)) in fields.iter().zip(ranked).enumerate() {
        if let Some(&first) = decided_names.get(&f.name.to_lowercase()) {
            let mut again: Proposal = proposals[first].clone();
            again.source_field = f.name.clone();
            proposals.push(again);
            continue;
        }
        decided_names.insert(f.name.to_lowercase(), proposals.len());
        let compact = names::compact(&f.name);
        let mut top = candidates.first().cloned();
        let alternatives: Vec<Candidate> = candidates.iter().skip(1).cloned().collect();
        seen_source.push(VectorRecord {
            kind: VectorKind::SourceField,
            mapping_id: None,
            canonical: None,
            source: Some((system.clone(), entity.clone(), f.name.clone())),
            content: match &f.description {
                Some(d) if !d.is_empty() => {
                    format!("{}: {}", distinct[text_of[i]], d.to_lowercase())
                }
                _ => distinct[text_of[i]].clone(),
            },
            vector: vectors[text_of[i]].clone(),
        });

        // Already mapped and active for this very source field: nothing to decide.
        if let Some((mapping_id, e, fld)) = exact.by_field.get(&compact) {
            let existing = Candidate {
                entity: e.clone(),
                field: fld.clone(),
                confidence: 1.0,
                method: MappingMethod::Exact,
            };
            proposals.push(Proposal {
                source_field: f.name.clone(),
                alternatives: candidates
                    .into_iter()
                    .filter(|c| c.entity != *e || c.field != *fld)
                    .take(ALTERNATIVES)
                    .collect(),
                top: Some(existing),
                status: ProposalStatus::AutoApplied,
                method: ProposalMethod::Exact,
                reason: None,
                review_id: None,
                mapping_id: Some(*mapping_id),
            });
            continue;
        }

        let confidence = top.as_ref().map_or(0.0, |t| t.confidence);
        let tied = match (candidates.first(), candidates.get(1)) {
            (Some(a), Some(b)) => {
                a.confidence - b.confidence < TIE_MARGIN
                    && b.confidence >= settings.review_threshold
            }
            _ => false,
        };
        let taken = top
            .as_ref()
            .and_then(|t| held.get(&(t.entity.clone(), t.field.clone())))
            .is_some_and(|holder| *holder != compact);
        let conflict = contested[i] || tied || taken;

        let mut mapping_id = None;
        let mut review = None;
        let auto = top
            .clone()
            .filter(|_| confidence >= settings.auto_apply_threshold && !conflict);
        let status = if let Some(t) = auto {
            let applied_as = apply(&tx, &system, &entity, &f.name, &t, &catalogue, &heads);
            let id = match applied_as {
                Applied::Created(id, row) => {
                    new_mappings.push(*row);
                    Some(id)
                }
                Applied::Unchanged(id) => Some(id),
                Applied::Conflict => None,
            };
            match id {
                Some(id) => {
                    mapping_id = Some(id);
                    applied.push(json!({ "sourceField": f.name, "mappingId": id, "target": format!("{}.{}", t.entity, t.field), "confidence": t.confidence }));
                    learned.push((f.name.clone(), t, id));
                    ProposalStatus::AutoApplied
                }
                None => {
                    review = Some(ReviewReason::Conflict);
                    ProposalStatus::NeedsReview
                }
            }
        } else if conflict && confidence >= CANDIDATE_FLOOR {
            review = Some(ReviewReason::Conflict);
            ProposalStatus::NeedsReview
        } else if confidence >= settings.review_threshold {
            review = Some(ReviewReason::ReviewBand);
            ProposalStatus::NeedsReview
        } else if confidence >= CANDIDATE_FLOOR {
            review = Some(ReviewReason::LowConfidence);
            ProposalStatus::NeedsReview
        } else {
            top = None;
            review = Some(ReviewReason::NoCandidate);
            ProposalStatus::Unmapped
        };

        if let Some(reason) = review {
            let stored = StoredProposal {
                data_type: f.data_type.clone(),
                description: f.description.clone(),
                samples: f.samples.clone(),
                candidates: candidates
                    .iter()
                    .map(|c| StoredCandidate {
                        entity: c.entity.clone(),
                        field: c.field.clone(),
                        confidence: c.confidence,
                        method: c.method.as_str().to_owned(),
                    })
                    .collect(),
            };
            reviews.push(review_store::NewReview {
                source_system: system.clone(),
                source_entity: entity.clone(),
                source_field: f.name.clone(),
                proposal: serde_json::to_value(&stored).map_err(AppError::internal)?,
                confidence,
                reason: reason.as_str(),
                mapping_id: None,
            });
        }
        proposals.push(Proposal {
            source_field: f.name.clone(),
            method: if status == ProposalStatus::Unmapped {
                ProposalMethod::None
            } else {
                method_of(top.as_ref())
            },
            top,
            alternatives,
            status,
            reason: review,
            review_id: None,
            mapping_id,
        });
    }
    // All new mappings of the call in one statement, then all review items in another.
    super::service::create_active_many(&tx, new_mappings).await?;
    // Review ids go back by source field.
    let review_ids = review_store::upsert_pending_many(&tx, &reviews).await?;
    for p in proposals.iter_mut().filter(|p| p.reason.is_some()) {
        p.review_id = review_ids.get(&p.source_field.to_lowercase()).copied();
    }

    let decided = started.elapsed();
    state
        .vectors
        .upsert(&tx, state.embedder.model_id(), &seen_source)
        .await?;
    learn(state, &tx, &learned).await?;
    tracing::debug!(
        fields = fields.len(),
        distinct = distinct.len(),
        embed_ms = embedded.as_millis() as u64,
        search_ms = (searched - embedded).as_millis() as u64,
        decide_ms = (decided - searched).as_millis() as u64,
        record_ms = (started.elapsed() - decided).as_millis() as u64,
        "proposals timed"
    );
    let counts = |s: ProposalStatus| proposals.iter().filter(|p| p.status == s).count();
    audit::record(
        &tx,
        AuditEntry::new("mapping.propose", "source", format!("{system}/{entity}")).new_value(
            json!({
                "fields": proposals.len(),
                "autoApplied": counts(ProposalStatus::AutoApplied),
                "needsReview": counts(ProposalStatus::NeedsReview),
                "unmapped": counts(ProposalStatus::Unmapped),
                "applied": applied,
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    if !learned.is_empty() {
        invalidate_exact(state, scope.tenant_id(), &system, &entity).await;
    }
    publish_proposed(state, scope, &system, &entity, &proposals);
    Ok(proposals)
}

/// DCL events of a proposal call: what it decided, and the review queue when it grew.
fn publish_proposed(
    state: &AppState,
    scope: &TenantScope,
    system: &str,
    entity: &str,
    proposals: &[Proposal],
) {
    use crate::domains::telemetry::event::{kinds, Draft, Layer};
    let dcl = state.telemetry.layer(Layer::Dcl);
    let counts = |s: ProposalStatus| proposals.iter().filter(|p| p.status == s).count();
    for p in proposals {
        let status = match p.status {
            ProposalStatus::AutoApplied => "AUTO_APPLIED",
            ProposalStatus::NeedsReview => "NEEDS_REVIEW",
            ProposalStatus::Unmapped => "UNMAPPED",
        };
        let method = match p.method {
            ProposalMethod::Exact => "EXACT",
            ProposalMethod::Rag => "RAG",
            ProposalMethod::Llm => "LLM",
            ProposalMethod::None => "NONE",
        };
        state
            .metrics
            .proposals
            .with_label_values(&[status, method])
            .inc();
    }
    let review_ids: Vec<String> = proposals
        .iter()
        .filter_map(|p| p.review_id.map(|id| id.to_string()))
        .collect();
    dcl.publish(
        scope.tenant_id(),
        Draft::new(
            kinds::MAPPINGS_PROPOSED,
            "source",
            format!("{system}/{entity}"),
        )
        .status("DONE")
        .message(format!(
            "{} fields: {} auto-applied, {} to review, {} unmapped",
            proposals.len(),
            counts(ProposalStatus::AutoApplied),
            counts(ProposalStatus::NeedsReview),
            counts(ProposalStatus::Unmapped)
        ))
        .data(json!({
            "sourceSystem": system, "sourceEntity": entity, "fields": proposals.len(),
            "autoApplied": counts(ProposalStatus::AutoApplied),
            "needsReview": counts(ProposalStatus::NeedsReview),
            "unmapped": counts(ProposalStatus::Unmapped),
        })),
    );
    if !review_ids.is_empty() {
        dcl.publish(
            scope.tenant_id(),
            Draft::new(
                kinds::REVIEW_QUEUE_CHANGED,
                "review_queue",
                scope.tenant_id(),
            )
            .status("ADDED")
            .message(format!("{} proposals to review", review_ids.len()))
            .data(json!({ "reviewIds": review_ids })),
        );
    }
}

/// Nearest knowledge for each distinct text that needs it (empty lists for the others): from
/// the neighbour cache while the tenant's knowledge is unchanged, else one batched search.
async fn neighbours_of(
    state: &AppState,
    read: &ScopedTx<'_>,
    texts: &[String],
    vectors: &[Vector],
    needed: &[bool],
) -> AppResult<Vec<Arc<Vec<VectorHit>>>> {
    let generation = state.vectors.knowledge_generation(read).await?;
    let tenant = read.tenant_id();
    let wanted: Vec<usize> = (0..texts.len()).filter(|&i| needed[i]).collect();
    let cached = state.neighbours.get_many(
        tenant,
        generation,
        &wanted
            .iter()
            .map(|&i| texts[i].as_str())
            .collect::<Vec<_>>(),
    );
    let mut hits: Vec<Arc<Vec<VectorHit>>> = vec![Arc::default(); texts.len()];
    let mut missing = Vec::new();
    for (&i, c) in wanted.iter().zip(cached) {
        match c {
            Some(list) => hits[i] = list,
            None => missing.push(i),
        }
    }
    if missing.is_empty() {
        return Ok(hits);
    }
    let queries: Vec<Vector> = missing.iter().map(|&i| vectors[i].clone()).collect();
    let found = state
        .vectors
        .search_many(
            read,
            &queries,
            &[VectorKind::Mapping, VectorKind::CanonicalField],
            NEIGHBOURS,
        )
        .await?;
    let mut fresh = Vec::with_capacity(missing.len());
    for (i, list) in missing.into_iter().zip(found) {
        fresh.push((texts[i].clone(), list.clone()));
        hits[i] = Arc::new(list);
    }
    state.neighbours.put_many(tenant, generation, fresh);
    Ok(hits)
}

/// For fields the evidence leaves below the review band, ask the LLM provider (if one is
/// configured), a few at a time; its validated answer becomes the top candidate, method LLM,
/// capped below auto-apply so a person confirms it.
async fn ask_llm(
    state: &AppState,
    system: &str,
    entity: &str,
    fields: &[FieldInput],
    ranked: &mut [Vec<Candidate>],
) {
    use futures_util::StreamExt;
    let llm = &state.llm;
    let llm::LlmProvider::OpenAiCompatible(provider) = llm.as_ref() else {
        return;
    };
    let threshold = state.settings.proposals.review_threshold;
    let mut asked = std::collections::HashSet::new();
    let wanted: Vec<usize> = (0..fields.len())
        .filter(|&i| ranked[i].first().is_none_or(|c| c.confidence < threshold))
        .filter(|&i| asked.insert(fields[i].name.to_lowercase()))
        .take(provider.max_fields)
        .collect();
    let answers: Vec<(usize, Option<llm::Suggestion>)> = futures_util::stream::iter(wanted)
        .map(|i| async move {
            let f = &fields[i];
            let question = llm::FieldQuestion {
                source_system: system,
                source_entity: entity,
                name: &f.name,
                data_type: f.data_type.as_deref(),
                description: f.description.as_deref(),
                samples: &f.samples,
            };
            (i, llm.suggest(&state.knowledge, &question).await)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    for (i, answer) in answers {
        let Some(s) = answer else { continue };
        if ranked[i]
            .first()
            .is_some_and(|c| c.confidence >= s.confidence)
        {
            continue;
        }
        ranked[i].retain(|c| !(c.entity == s.entity && c.field == s.field));
        ranked[i].insert(
            0,
            Candidate {
                entity: s.entity,
                field: s.field,
                confidence: s.confidence,
                method: MappingMethod::Llm,
            },
        );
    }
}

/// The tenant's canonical fields by (entity, field), resolved once per call.
type Catalogue = HashMap<(String, String), Uuid>;

async fn catalogue(tx: &ScopedTx<'_>) -> AppResult<Catalogue> {
    let ontology = ontology::load_active(tx).await?;
    Ok(ontology
        .entities
        .into_iter()
        .flat_map(|e| {
            e.fields
                .into_iter()
                .map(move |f| ((f.entity, f.name), f.id))
        })
        .collect())
}

enum Applied {
    /// A new mapping: its row is written with the call's other new mappings.
    Created(Uuid, Box<entity::mappings::ActiveModel>),
    Unchanged(Uuid),
    /// The source field already has a different mapping head; a human must choose.
    Conflict,
}

/// What it takes for `target` to be the active mapping of one source field.
fn apply(
    tx: &ScopedTx<'_>,
    system: &str,
    entity: &str,
    field: &str,
    target: &Candidate,
    catalogue: &Catalogue,
    heads: &HashMap<String, entity::mappings::Model>,
) -> Applied {
    if let Some(h) = heads.get(&field.to_lowercase()) {
        if h.is_active && h.canonical_entity == target.entity && h.canonical_field == target.field {
            return Applied::Unchanged(h.mapping_id);
        }
        return Applied::Conflict;
    }
    let Some(canonical_field_id) = catalogue.get(&(target.entity.clone(), target.field.clone()))
    else {
        return Applied::Conflict;
    };
    let (id, row) =
        super::service::active_row(tx, system, entity, field, target, *canonical_field_id);
    Applied::Created(id, Box::new(row))
}

/// Approved knowledge goes into the tenant's namespace, so the same name is an EXACT or RAG hit
/// next time, in any source.
async fn learn(
    state: &AppState,
    tx: &ScopedTx<'_>,
    decisions: &[(String, Candidate, Uuid)],
) -> AppResult<()> {
    if decisions.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = decisions
        .iter()
        .map(|(name, _, _)| names::phrase(name))
        .collect();
    let vectors = state
        .embedder
        .embed(&texts)
        .await
        .map_err(AppError::internal)?;
    let records: Vec<VectorRecord> = decisions
        .iter()
        .zip(texts)
        .zip(vectors)
        .map(|(((_, c, id), text), vector)| VectorRecord {
            kind: VectorKind::Mapping,
            mapping_id: Some(*id),
            canonical: Some((c.entity.clone(), c.field.clone())),
            // Knowledge is "this name means that target", whichever source taught it: one
            // vector per name and target keeps the tenant's search set small.
            source: None,
            content: text,
            vector,
        })
        .collect();
    state
        .vectors
        .upsert(tx, state.embedder.model_id(), &records)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub id: Uuid,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub reason: ReviewReason,
    pub status: String,
    pub confidence: f64,
    pub proposal: StoredProposal,
    pub mapping_id: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn to_item(r: entity::mapping_reviews::Model) -> AppResult<ReviewItem> {
    Ok(ReviewItem {
        id: r.id,
        reason: ReviewReason::parse(&r.reason),
        proposal: serde_json::from_value(r.proposal).map_err(AppError::internal)?,
        source_system: r.source_system,
        source_entity: r.source_entity,
        source_field: r.source_field,
        status: r.status,
        confidence: r.confidence,
        mapping_id: r.mapping_id,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
        created_at: r.created_at,
    })
}

pub async fn review_queue(
    state: &AppState,
    scope: &TenantScope,
    status: &str,
    page: PageRequest,
) -> AppResult<Page<ReviewItem>> {
    let tx = ScopedTx::begin(&state.db, scope).await?;
    let rows = review_store::list(&tx, status, &page).await?;
    let total = review_store::count(&tx, status).await?;
    let items = rows
        .into_iter()
        .map(to_item)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page.finish(items, total))
}

/// How many reviews are waiting.
pub async fn pending_reviews(state: &AppState, scope: &TenantScope) -> AppResult<u64> {
    let tx = ScopedTx::begin(&state.db, scope).await?;
    Ok(review_store::count(&tx, "PENDING").await?)
}

pub enum Decision {
    /// Accept one of the proposal's candidates (0 = the top one).
    Approve {
        candidate: usize,
    },
    /// Map to a target of the reviewer's choice.
    Edit {
        entity: String,
        field: String,
    },
    Reject {
        reason: Option<String>,
    },
}

pub async fn decide(
    state: &AppState,
    scope: &TenantScope,
    review_id: Uuid,
    decision: Decision,
) -> AppResult<ReviewItem> {
    let tx = ScopedTx::begin(&state.db, scope).await?;
    let review = review_store::lock(&tx, review_id)
        .await?
        .ok_or(AppError::NotFound { what: "review" })?;
    if review.status != "PENDING" {
        return Err(AppError::Conflict(format!(
            "review is already {}",
            review.status
        )));
    }
    let item = to_item(review.clone())?;
    let (status, target, note) = match decision {
        Decision::Approve { candidate } => {
            let c = item
                .proposal
                .candidates
                .get(candidate)
                .ok_or_else(|| AppError::bad_field("candidate", "no such candidate"))?;
            let method = c.method.parse().unwrap_or(MappingMethod::Rag);
            (
                "APPROVED",
                Some(Candidate {
                    entity: c.entity.clone(),
                    field: c.field.clone(),
                    confidence: c.confidence,
                    method,
                }),
                None,
            )
        }
        Decision::Edit { entity, field } => {
            if ontology::find_field(&tx, &entity, &field).await?.is_none() {
                return Err(AppError::bad_field(
                    "canonicalField",
                    format!("{entity}.{field} is not in the canonical model"),
                ));
            }
            (
                "EDITED",
                Some(Candidate {
                    entity,
                    field,
                    confidence: 1.0,
                    method: MappingMethod::Manual,
                }),
                None,
            )
        }
        Decision::Reject { reason } => ("REJECTED", None, reason),
    };
    let mut mapping_id = None;
    if let Some(t) = &target {
        let id = super::service::activate_for_source(
            &tx,
            &item.source_system,
            &item.source_entity,
            &item.source_field,
            t,
        )
        .await?;
        mapping_id = Some(id);
        learn(state, &tx, &[(item.source_field.clone(), t.clone(), id)]).await?;
    }
    let decision_json = json!({
        "target": target.as_ref().map(|t| format!("{}.{}", t.entity, t.field)),
        "method": target.as_ref().map(|t| t.method.as_str()),
        "reason": note,
    });
    let decided =
        review_store::decide(&tx, review, status, decision_json.clone(), mapping_id).await?;
    audit::record(
        &tx,
        AuditEntry::new(
            match status {
                "APPROVED" => "review.approve",
                "EDITED" => "review.edit",
                _ => "review.reject",
            },
            "review",
            review_id,
        )
        .old_value(
            json!({ "candidates": item.proposal.candidates.len(), "confidence": item.confidence }),
        )
        .new_value(decision_json),
    )
    .await?;
    tx.commit().await?;
    if target.is_some() {
        invalidate_exact(
            state,
            scope.tenant_id(),
            &item.source_system,
            &item.source_entity,
        )
        .await;
    }
    {
        use crate::domains::telemetry::event::{kinds, Draft, Layer};
        state.telemetry.layer(Layer::Dcl).publish(
            scope.tenant_id(),
            Draft::new(
                kinds::REVIEW_QUEUE_CHANGED,
                "review_queue",
                scope.tenant_id(),
            )
            .status("DECIDED")
            .message(format!("review {review_id}: {status}"))
            .data(json!({ "reviewIds": [review_id.to_string()], "decision": status })),
        );
    }
    to_item(decided)
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub kind: VectorKind,
    pub score: f64,
    pub baseline: bool,
    pub text: String,
    pub canonical: Option<(String, String)>,
    pub source: Option<(String, String, String)>,
    pub mapping_id: Option<Uuid>,
}

/// Natural-language search over the tenant's source fields, mappings and canonical fields.
pub async fn semantic_search(
    state: &AppState,
    scope: &TenantScope,
    query: &str,
    first: usize,
) -> AppResult<Vec<SearchHit>> {
    let query = clean_text("query", query, 500)?;
    let vector = state
        .embedder
        .embed(&[search_terms(&query)])
        .await
        .map_err(AppError::internal)?;
    let tx = ScopedTx::begin(&state.db, scope).await?;
    let kinds = [
        VectorKind::SourceField,
        VectorKind::Mapping,
        VectorKind::CanonicalField,
    ];
    let hits = state
        .vectors
        .search(&tx, &vector[0], &kinds, (first * 4) as u64)
        .await?;
    // One hit per thing found: the best-scoring text for it.
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for h in hits {
        let identity = format!("{:?}|{:?}|{:?}", h.kind, h.canonical, h.source);
        if seen.insert(identity) {
            out.push(SearchHit {
                kind: h.kind,
                score: f64::from(h.score),
                baseline: h.baseline,
                text: h.content,
                canonical: h.canonical,
                source: h.source,
                mapping_id: h.mapping_id,
            });
        }
        if out.len() >= first {
            break;
        }
    }
    Ok(out)
}

/// Embeds the canonical knowledge into the baseline namespace when it is missing or has
/// grown (idempotent; concurrent starts are harmless).
pub async fn seed_baseline(state: &AppState) -> AppResult<u64> {
    let scope = crate::domains::auth::service::baseline_scope();
    let texts = state.knowledge.baseline_texts();
    let tx = ScopedTx::begin(&state.db, &scope).await?;
    let present = state.vectors.count(&tx, VectorKind::CanonicalField).await?;
    if present >= texts.len() as u64 {
        return Ok(0);
    }
    let contents: Vec<String> = texts.iter().map(|(_, _, t)| t.clone()).collect();
    let vectors = state
        .embedder
        .embed(&contents)
        .await
        .map_err(AppError::internal)?;
    let records: Vec<VectorRecord> = texts
        .into_iter()
        .zip(vectors)
        .map(|((entity, field, content), vector)| VectorRecord {
            kind: VectorKind::CanonicalField,
            mapping_id: None,
            canonical: Some((entity, field)),
            source: None,
            content,
            vector,
        })
        .collect();
    let written = state
        .vectors
        .upsert(&tx, state.embedder.model_id(), &records)
        .await?;
    tx.commit().await?;
    Ok(written)
}

/// Question words ("where do we keep …") say nothing about the thing looked for.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "for", "in", "on", "to", "is", "are", "was", "be", "do", "does", "did",
    "we", "our", "us", "i", "you", "your", "where", "what", "which", "who", "how", "can", "find",
    "keep", "kept", "store", "stored", "hold", "holds", "field", "fields", "column", "columns",
    "data", "value", "values", "show", "me", "list", "please",
];

fn search_terms(query: &str) -> String {
    let words: Vec<&str> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.to_lowercase().as_str()))
        .collect();
    if words.is_empty() {
        query.to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn questions_are_reduced_to_their_terms() {
        assert_eq!(
            search_terms("where do we keep customer revenue"),
            "customer revenue"
        );
        assert_eq!(search_terms("the"), "the");
    }
}
