//! The review queue: what waits for a person, and their decisions (approve a candidate, map
//! elsewhere, reject), each audited and learned from.
use serde_json::json;
use uuid::Uuid;

use super::evidence::invalidate_exact;
use super::record::learn;
use super::ProposalEngine;
use super::{ReviewReason, ReviewStatus, StoredProposal};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::mappings::model::MappingMethod;
use crate::domains::mappings::review_store;
use crate::domains::mappings::scoring::Candidate;
use crate::domains::ontology::service as ontology;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub id: Uuid,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub reason: ReviewReason,
    pub status: ReviewStatus,
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
        // A reason this build does not know reads as the most cautious one.
        reason: r.reason.parse().unwrap_or(ReviewReason::NoCandidate),
        proposal: serde_json::from_value(r.proposal).map_err(AppError::internal)?,
        source_system: r.source_system,
        source_entity: r.source_entity,
        source_field: r.source_field,
        status: r
            .status
            .parse()
            .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?,
        confidence: r.confidence,
        mapping_id: r.mapping_id,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
        created_at: r.created_at,
    })
}

pub async fn review_queue(
    engine: &ProposalEngine,
    scope: &TenantScope,
    status: ReviewStatus,
    page: PageRequest,
) -> AppResult<Page<ReviewItem>> {
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    let rows = review_store::list(&tx, status.as_str(), &page).await?;
    let total = review_store::count(&tx, status.as_str()).await?;
    let items = rows
        .into_iter()
        .map(to_item)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page.finish(items, total))
}

/// How many reviews are waiting.
pub async fn pending_reviews(engine: &ProposalEngine, scope: &TenantScope) -> AppResult<u64> {
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    Ok(review_store::count(&tx, ReviewStatus::Pending.as_str()).await?)
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
    engine: &ProposalEngine,
    scope: &TenantScope,
    review_id: Uuid,
    decision: Decision,
) -> AppResult<ReviewItem> {
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    let review = review_store::lock(&tx, review_id)
        .await?
        .ok_or(AppError::NotFound { what: "review" })?;
    if review.status != ReviewStatus::Pending.as_str() {
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
                ReviewStatus::Approved,
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
                ReviewStatus::Edited,
                Some(Candidate {
                    entity,
                    field,
                    confidence: 1.0,
                    method: MappingMethod::Manual,
                }),
                None,
            )
        }
        Decision::Reject { reason } => (ReviewStatus::Rejected, None, reason),
    };
    let mut mapping_id = None;
    if let Some(t) = &target {
        let id = crate::domains::mappings::sources::activate_for_source(
            &tx,
            &item.source_system,
            &item.source_entity,
            &item.source_field,
            t,
        )
        .await?;
        mapping_id = Some(id);
        learn(engine, &tx, &[(item.source_field.clone(), t.clone(), id)]).await?;
    }
    let decision_json = json!({
        "target": target.as_ref().map(|t| format!("{}.{}", t.entity, t.field)),
        "method": target.as_ref().map(|t| t.method.as_str()),
        "reason": note,
    });
    let decided = review_store::decide(
        &tx,
        review,
        status.as_str(),
        decision_json.clone(),
        mapping_id,
    )
    .await?;
    audit::record(
        &tx,
        AuditEntry::new(
            match status {
                ReviewStatus::Approved => "review.approve",
                ReviewStatus::Edited => "review.edit",
                ReviewStatus::Pending | ReviewStatus::Rejected => "review.reject",
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
            engine,
            scope.tenant_id(),
            &item.source_system,
            &item.source_entity,
        )
        .await;
    }
    {
        use crate::domains::telemetry::event::{kinds, Draft, Layer};
        engine.telemetry.layer(Layer::Dcl).publish(
            scope.tenant_id(),
            Draft::new(
                kinds::REVIEW_QUEUE_CHANGED,
                "review_queue",
                scope.tenant_id(),
            )
            .status("DECIDED")
            .message(format!("review {review_id}: {status}"))
            .data(json!({ "reviewIds": [review_id.to_string()], "decision": status.as_str() })),
        );
    }
    to_item(decided)
}
