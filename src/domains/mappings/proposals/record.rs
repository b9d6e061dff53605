//! Recording what was decided: new active mappings (written together), and the knowledge they
//! teach (embedded into the tenant's namespace, so the same name is found next time).
use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use super::evidence::Catalogue;
use super::ProposalEngine;
use super::{FieldInput, Proposal, ProposalStatus, ReviewReason, StoredCandidate, StoredProposal};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::mappings::scoring::Candidate;
use crate::domains::mappings::{names, review_store};
use crate::error::{AppError, AppResult};
use crate::infra::vector::{VectorKind, VectorRecord};
use crate::tenancy::ScopedTx;

/// What a proposal call writes, gathered while it decides and written at once.
#[derive(Default)]
pub(super) struct Recorded {
    pub new_mappings: Vec<entity::mappings::ActiveModel>,
    /// Every source field seen, for semantic search.
    pub seen_source: Vec<VectorRecord>,
    applied: Vec<serde_json::Value>,
    learned: Vec<(String, Candidate, Uuid)>,
    reviews: Vec<review_store::NewReview>,
}

impl Recorded {
    /// `field` is now mapped to `target` by mapping `id`.
    pub fn applied(&mut self, field: &str, target: &Candidate, id: Uuid) {
        self.applied.push(json!({ "sourceField": field, "mappingId": id,
            "target": format!("{}.{}", target.entity, target.field), "confidence": target.confidence }));
        self.learned.push((field.to_owned(), target.clone(), id));
    }

    pub fn learned_any(&self) -> bool {
        !self.learned.is_empty()
    }

    /// A review item for `field`, with its evidence.
    pub fn review(
        &mut self,
        system: &str,
        entity: &str,
        field: &FieldInput,
        candidates: &[Candidate],
        confidence: f64,
        reason: ReviewReason,
    ) -> AppResult<()> {
        let stored = StoredProposal {
            data_type: field.data_type.clone(),
            description: field.description.clone(),
            samples: field.samples.clone(),
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
        self.reviews.push(review_store::NewReview {
            source_system: system.to_owned(),
            source_entity: entity.to_owned(),
            source_field: field.name.clone(),
            proposal: serde_json::to_value(&stored).map_err(AppError::internal)?,
            confidence,
            reason: reason.as_str(),
            mapping_id: None,
        });
        Ok(())
    }

    /// Writes it all in the call's transaction: new mappings in one statement, review items in
    /// another (their ids go back onto the proposals), source-field vectors, learned knowledge,
    /// and the audit row.
    pub async fn write(
        self,
        engine: &ProposalEngine,
        tx: &ScopedTx<'_>,
        system: &str,
        entity: &str,
        proposals: &mut [Proposal],
    ) -> AppResult<()> {
        crate::domains::mappings::sources::create_active_many(tx, self.new_mappings).await?;
        let review_ids = review_store::upsert_pending_many(tx, &self.reviews).await?;
        for p in proposals.iter_mut().filter(|p| p.reason.is_some()) {
            p.review_id = review_ids.get(&p.source_field.to_lowercase()).copied();
        }
        engine
            .vectors
            .upsert(tx, engine.embedder.model_id(), &self.seen_source)
            .await?;
        learn(engine, tx, &self.learned).await?;
        let counts = |s: ProposalStatus| proposals.iter().filter(|p| p.status == s).count();
        audit::record(
            tx,
            AuditEntry::new("mapping.propose", "source", format!("{system}/{entity}")).new_value(
                json!({
                    "fields": proposals.len(),
                    "autoApplied": counts(ProposalStatus::AutoApplied),
                    "needsReview": counts(ProposalStatus::NeedsReview),
                    "unmapped": counts(ProposalStatus::Unmapped),
                    "applied": self.applied,
                }),
            ),
        )
        .await
    }
}

pub(super) enum Applied {
    /// A new mapping: its row is written with the call's other new mappings.
    Created(Uuid, Box<entity::mappings::ActiveModel>),
    Unchanged(Uuid),
    /// The source field already has a different mapping head; a human must choose.
    Conflict,
}

/// What it takes for `target` to be the active mapping of one source field.
pub(super) fn apply(
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
    let (id, row) = crate::domains::mappings::sources::active_row(
        tx,
        system,
        entity,
        field,
        target,
        *canonical_field_id,
    );
    Applied::Created(id, Box::new(row))
}

/// Approved knowledge goes into the tenant's namespace, so the same name is an EXACT or RAG hit
/// next time, in any source.
pub(super) async fn learn(
    engine: &ProposalEngine,
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
    let vectors = engine
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
    engine
        .vectors
        .upsert(tx, engine.embedder.model_id(), &records)
        .await?;
    Ok(())
}
