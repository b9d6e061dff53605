//! RAG-first mapping proposals: input cleaning (`input`), evidence (`evidence`: exact,
//! vector, LLM), a pure decision policy (`policy`), recording (`record`) and the events after
//! commit (`events`); the review queue (`review`) and semantic search (`search`).
mod events;
mod evidence;
mod input;
pub mod job;
mod job_store;
mod policy;
mod record;
mod review;
mod search;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use self::input::QueryTexts;
use self::policy::{Bands, Verdict};
use self::record::{Applied, Recorded};
use super::model::MappingMethod;
use super::scoring::Candidate;
use super::store;
use crate::domains::auth::scope::TenantScope;
use crate::domains::quotas::service::{self as quotas, Metered};
use crate::error::{AppError, AppResult};
use crate::infra::vector::{VectorKind, VectorRecord};
use crate::tenancy::ScopedTx;
use crate::text_enum::text_enum;

pub(crate) use self::evidence::invalidate_exact;
pub use self::review::{decide, pending_reviews, review_queue, Decision, ReviewItem};

pub use self::job_store::cursor_of as job_result_cursor;
pub use self::search::{seed_baseline, semantic_search, SearchHit};

const ALTERNATIVES: usize = 3;

/// What proposing, reviewing and searching keep for the life of the process, built once at
/// start-up: the built-in knowledge, the LLM provider, the per-process neighbour cache, and
/// the services they use.
pub struct ProposalEngine {
    pub db: sea_orm::DatabaseConnection,
    pub redis: crate::infra::redis::Redis,
    pub settings: std::sync::Arc<crate::config::Settings>,
    pub embedder: std::sync::Arc<crate::infra::embed::Embedder>,
    pub vectors: std::sync::Arc<crate::infra::vector::VectorStore>,
    pub knowledge: super::knowledge::Knowledge,
    pub llm: super::llm::LlmProvider,
    pub neighbours: super::neighbour_cache::NeighbourCache,
    pub telemetry: crate::domains::telemetry::publisher::Telemetry,
    pub metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldInput {
    pub name: String,
    pub data_type: Option<String>,
    pub description: Option<String>,
    pub samples: Vec<String>,
}

text_enum! {
    pub enum ProposalStatus {
        AutoApplied => "AUTO_APPLIED",
        NeedsReview => "NEEDS_REVIEW",
        Unmapped => "UNMAPPED",
    }
}

text_enum! {
    pub enum ProposalMethod { Exact => "EXACT", Rag => "RAG", Llm => "LLM", None => "NONE" }
}

text_enum! {
    /// Why a proposal waits for a human.
    pub enum ReviewReason {
        ReviewBand => "REVIEW_BAND",
        LowConfidence => "LOW_CONFIDENCE",
        Conflict => "CONFLICT",
        NoCandidate => "NO_CANDIDATE",
    }
}

text_enum! {
    /// Where a review item stands: waiting, or decided one of three ways.
    pub enum ReviewStatus {
        Pending => "PENDING",
        Approved => "APPROVED",
        Edited => "EDITED",
        Rejected => "REJECTED",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// What must be stored with a proposal call's own writes, in its transaction (a bulk job's
/// results and checkpoint): both commit, or neither.
#[async_trait::async_trait]
pub trait StoredWith: Send + Sync {
    async fn store(&self, tx: &ScopedTx<'_>, proposals: &[Proposal]) -> AppResult<()>;
}

pub async fn propose(
    engine: &ProposalEngine,
    scope: &TenantScope,
    input: ProposeInput,
) -> AppResult<Vec<Proposal>> {
    propose_with(engine, scope, input, None).await
}

/// `propose`, storing `with` in the transaction of the proposals' writes.
pub async fn propose_with(
    engine: &ProposalEngine,
    scope: &TenantScope,
    input: ProposeInput,
    with: Option<&dyn StoredWith>,
) -> AppResult<Vec<Proposal>> {
    let settings = &engine.settings.proposals;
    let bands = Bands {
        auto_apply: settings.auto_apply_threshold,
        review: settings.review_threshold,
    };
    let system = input::clean_text("sourceSystem", &input.source_system, 200)?;
    let entity = input::clean_text("sourceEntity", &input.source_entity, 200)?;
    let fields = input::clean_fields(input.fields, settings.max_fields_per_call)?;
    let texts = QueryTexts::of(&fields);
    let started = std::time::Instant::now();
    let vectors = engine
        .embedder
        .embed(&texts.distinct)
        .await
        .map_err(AppError::internal)?;
    let embedded = started.elapsed();

    // Reads first, in a short transaction of their own: nothing is held open while an LLM
    // provider (if any) answers.
    let read = ScopedTx::begin(&engine.db, scope).await?;
    let quota = quotas::limits(&read, &engine.settings.quotas)
        .await?
        .proposals_per_month;
    quotas::ensure_room(&read, Metered::Proposals, quota, fields.len() as u64).await?;
    let mut ranked =
        evidence::rank(engine, &read, &entity, &fields, &texts, &vectors, &bands).await?;
    let searched = started.elapsed();
    drop(read);
    evidence::ask_llm(engine, &system, &entity, &fields, &mut ranked).await;

    let tx = ScopedTx::begin(&engine.db, scope).await?;
    // Charged with the proposals' writes: a proposal rolled back (or timed out) costs nothing.
    quotas::charge(&tx, Metered::Proposals, quota, fields.len() as u64).await?;
    let exact = evidence::exact_set(engine, &tx, &system, &entity).await?;
    let catalogue = evidence::catalogue(&tx).await?;
    let heads: HashMap<String, entity::mappings::Model> =
        store::lock_heads_for_source(&tx, &system, &entity)
            .await?
            .into_iter()
            .map(|m| (m.source_field.to_lowercase(), m))
            .collect();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let contested = policy::contested(&names, &ranked, &bands);
    // Targets already held by another source field of this source.
    let held: HashMap<(String, String), String> = exact
        .by_field
        .iter()
        .map(|(name, (_, e, f))| ((e.clone(), f.clone()), name.clone()))
        .collect();

    let mut proposals: Vec<Proposal> = Vec::with_capacity(fields.len());
    let mut recorded = Recorded::default();
    // A name given twice (in any case) is one source field: decide once, answer for both.
    let mut decided_names: HashMap<String, usize> = HashMap::new();
    for (i, (f, candidates)) in fields.iter().zip(ranked).enumerate() {
        if let Some(&first) = decided_names.get(&f.name.to_lowercase()) {
            let mut again: Proposal = proposals[first].clone();
            again.source_field = f.name.clone();
            proposals.push(again);
            continue;
        }
        decided_names.insert(f.name.to_lowercase(), proposals.len());
        let compact = super::names::compact(&f.name);
        recorded.seen_source.push(VectorRecord {
            kind: VectorKind::SourceField,
            mapping_id: None,
            canonical: None,
            source: Some((system.clone(), entity.clone(), f.name.clone())),
            content: match &f.description {
                Some(d) if !d.is_empty() => format!("{}: {}", texts.of_field(i), d.to_lowercase()),
                _ => texts.of_field(i).to_owned(),
            },
            vector: vectors[texts.text_of[i]].clone(),
        });

        // Already mapped and active for this very source field: nothing to decide.
        if let Some((mapping_id, e, fld)) = exact.by_field.get(&compact) {
            proposals.push(Proposal {
                source_field: f.name.clone(),
                alternatives: candidates
                    .into_iter()
                    .filter(|c| c.entity != *e || c.field != *fld)
                    .take(ALTERNATIVES)
                    .collect(),
                top: Some(Candidate {
                    entity: e.clone(),
                    field: fld.clone(),
                    confidence: 1.0,
                    method: MappingMethod::Exact,
                }),
                status: ProposalStatus::AutoApplied,
                method: ProposalMethod::Exact,
                reason: None,
                review_id: None,
                mapping_id: Some(*mapping_id),
            });
            continue;
        }

        let mut top = candidates.first().cloned();
        let confidence = top.as_ref().map_or(0.0, |t| t.confidence);
        let taken = top
            .as_ref()
            .and_then(|t| held.get(&(t.entity.clone(), t.field.clone())))
            .is_some_and(|holder| *holder != compact);
        let conflict = contested[i] || policy::tied(&candidates, &bands) || taken;
        let mut mapping_id = None;
        let mut review = match (policy::verdict(confidence, conflict, &bands), &top) {
            (Verdict::Apply, Some(t)) => {
                match record::apply(&tx, &system, &entity, &f.name, t, &catalogue, &heads) {
                    Applied::Created(id, row) => {
                        recorded.new_mappings.push(*row);
                        mapping_id = Some(id);
                    }
                    Applied::Unchanged(id) => mapping_id = Some(id),
                    Applied::Conflict => {}
                }
                match mapping_id {
                    Some(id) => {
                        recorded.applied(&f.name, t, id);
                        None
                    }
                    None => Some(ReviewReason::Conflict),
                }
            }
            (Verdict::Review(reason), _) => Some(reason),
            (Verdict::Apply | Verdict::Unmapped, _) => {
                top = None;
                Some(ReviewReason::NoCandidate)
            }
        };
        let status = match (&review, &top) {
            (None, _) => ProposalStatus::AutoApplied,
            (Some(_), Some(_)) => ProposalStatus::NeedsReview,
            (Some(_), None) => ProposalStatus::Unmapped,
        };
        if let Some(reason) = review.take() {
            recorded.review(&system, &entity, f, &candidates, confidence, reason)?;
            review = Some(reason);
        }
        proposals.push(Proposal {
            source_field: f.name.clone(),
            method: if status == ProposalStatus::Unmapped {
                ProposalMethod::None
            } else {
                method_of(top.as_ref())
            },
            top,
            alternatives: candidates.iter().skip(1).cloned().collect(),
            status,
            reason: review,
            review_id: None,
            mapping_id,
        });
    }
    let decided = started.elapsed();
    let learned_any = recorded.learned_any();
    recorded
        .write(engine, &tx, &system, &entity, &mut proposals)
        .await?;
    tracing::debug!(
        fields = fields.len(),
        distinct = texts.distinct.len(),
        embed_ms = embedded.as_millis() as u64,
        search_ms = (searched - embedded).as_millis() as u64,
        decide_ms = (decided - searched).as_millis() as u64,
        record_ms = (started.elapsed() - decided).as_millis() as u64,
        "proposals timed"
    );
    if let Some(with) = with {
        with.store(&tx, &proposals).await?;
    }
    tx.commit().await?;
    if learned_any {
        invalidate_exact(engine, scope.tenant_id(), &system, &entity).await;
    }
    events::publish_proposed(engine, scope, &system, &entity, &proposals);
    Ok(proposals)
}
