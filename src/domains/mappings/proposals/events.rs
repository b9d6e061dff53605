//! What a proposal call tells the flow monitor and the metrics, after it commits.
use serde_json::json;

use super::ProposalEngine;
use super::{Proposal, ProposalStatus};
use crate::domains::auth::scope::TenantScope;

/// DCL events of a proposal call: what it decided, and the review queue when it grew.
pub(super) fn publish_proposed(
    engine: &ProposalEngine,
    scope: &TenantScope,
    system: &str,
    entity: &str,
    proposals: &[Proposal],
) {
    use crate::domains::telemetry::event::{kinds, Draft, Layer};
    let dcl = engine.telemetry.layer(Layer::Dcl);
    let counts = |s: ProposalStatus| proposals.iter().filter(|p| p.status == s).count();
    for p in proposals {
        engine
            .metrics
            .proposals
            .with_label_values(&[p.status.as_str(), p.method.as_str()])
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
