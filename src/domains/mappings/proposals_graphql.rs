use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::proposals::{
    self, Decision, FieldInput, Proposal, ProposalEngine, ProposalMethod, ProposalStatus,
    ProposeInput, ReviewItem, ReviewReason, ReviewStatus, SearchHit,
};
use super::scoring::Candidate;
use crate::domains::auth::model::Role;
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};
use crate::infra::vector::VectorKind;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ProposalStatus", remote = "ProposalStatus")]
pub enum GqlProposalStatus {
    AutoApplied,
    NeedsReview,
    Unmapped,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ProposalMethod", remote = "ProposalMethod")]
pub enum GqlProposalMethod {
    Exact,
    Rag,
    Llm,
    None,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ReviewReason", remote = "ReviewReason")]
pub enum GqlReviewReason {
    ReviewBand,
    LowConfidence,
    Conflict,
    NoCandidate,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ReviewStatus")]
pub enum GqlReviewStatus {
    Pending,
    Approved,
    Edited,
    Rejected,
}

impl From<ReviewStatus> for GqlReviewStatus {
    fn from(s: ReviewStatus) -> Self {
        match s {
            ReviewStatus::Pending => Self::Pending,
            ReviewStatus::Approved => Self::Approved,
            ReviewStatus::Edited => Self::Edited,
            ReviewStatus::Rejected => Self::Rejected,
        }
    }
}

impl From<GqlReviewStatus> for ReviewStatus {
    fn from(s: GqlReviewStatus) -> Self {
        match s {
            GqlReviewStatus::Pending => Self::Pending,
            GqlReviewStatus::Approved => Self::Approved,
            GqlReviewStatus::Edited => Self::Edited,
            GqlReviewStatus::Rejected => Self::Rejected,
        }
    }
}

#[derive(SimpleObject)]
pub struct Alternative {
    pub canonical_entity: String,
    pub canonical_field: String,
    pub confidence: f64,
}

impl From<Candidate> for Alternative {
    fn from(c: Candidate) -> Self {
        Self {
            canonical_entity: c.entity,
            canonical_field: c.field,
            confidence: c.confidence,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Proposal")]
pub struct GqlProposal {
    pub source_field: String,
    pub canonical_entity: Option<String>,
    pub canonical_field: Option<String>,
    /// Calibrated confidence in [0, 1] of the top candidate.
    pub confidence: f64,
    pub method: GqlProposalMethod,
    pub status: GqlProposalStatus,
    /// Why a human should look, when status is not AUTO_APPLIED.
    pub reason: Option<GqlReviewReason>,
    pub alternatives: Vec<Alternative>,
    /// The review item, when the proposal went to the queue.
    pub review_id: Option<ID>,
    /// The mapping, when the proposal was applied (or already was).
    pub mapping_id: Option<ID>,
}

impl From<Proposal> for GqlProposal {
    fn from(p: Proposal) -> Self {
        Self {
            source_field: p.source_field,
            canonical_entity: p.top.as_ref().map(|t| t.entity.clone()),
            canonical_field: p.top.as_ref().map(|t| t.field.clone()),
            confidence: p.top.as_ref().map_or(0.0, |t| t.confidence),
            method: p.method.into(),
            status: p.status.into(),
            reason: p.reason.map(Into::into),
            alternatives: p.alternatives.into_iter().map(Into::into).collect(),
            review_id: p.review_id.map(to_id),
            mapping_id: p.mapping_id.map(to_id),
        }
    }
}

#[derive(SimpleObject)]
pub struct ProposeMappingsPayload {
    pub proposals: Vec<GqlProposal>,
}

#[derive(SimpleObject)]
pub struct ReviewCandidate {
    pub canonical_entity: String,
    pub canonical_field: String,
    pub confidence: f64,
    pub method: String,
}

#[derive(SimpleObject)]
pub struct Review {
    pub id: ID,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub data_type: Option<String>,
    pub description: Option<String>,
    pub samples: Vec<String>,
    pub reason: GqlReviewReason,
    pub status: GqlReviewStatus,
    pub confidence: f64,
    /// Ranked candidates; `approveProposal(candidate: i)` picks one.
    pub candidates: Vec<ReviewCandidate>,
    pub mapping_id: Option<ID>,
    pub decided_by: Option<ID>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ReviewItem> for Review {
    fn from(r: ReviewItem) -> Self {
        Self {
            id: to_id(r.id),
            source_system: r.source_system,
            source_entity: r.source_entity,
            source_field: r.source_field,
            data_type: r.proposal.data_type,
            description: r.proposal.description,
            samples: r.proposal.samples,
            reason: r.reason.into(),
            status: r.status.into(),
            confidence: r.confidence,
            candidates: r
                .proposal
                .candidates
                .into_iter()
                .map(|c| ReviewCandidate {
                    canonical_entity: c.entity,
                    canonical_field: c.field,
                    confidence: c.confidence,
                    method: c.method,
                })
                .collect(),
            mapping_id: r.mapping_id.map(to_id),
            decided_by: r.decided_by.map(to_id),
            decided_at: r.decided_at,
            created_at: r.created_at,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SearchHitKind", remote = "VectorKind")]
pub enum GqlSearchHitKind {
    Mapping,
    CanonicalField,
    SourceField,
}

#[derive(SimpleObject)]
#[graphql(name = "SearchHit")]
pub struct GqlSearchHit {
    pub kind: GqlSearchHitKind,
    /// Cosine similarity of the query and the matched text.
    pub score: f64,
    /// The text that matched.
    pub text: String,
    /// True for shared canonical knowledge rather than the tenant's own data.
    pub baseline: bool,
    pub canonical_entity: Option<String>,
    pub canonical_field: Option<String>,
    pub source_system: Option<String>,
    pub source_entity: Option<String>,
    pub source_field: Option<String>,
    pub mapping_id: Option<ID>,
}

impl From<SearchHit> for GqlSearchHit {
    fn from(h: SearchHit) -> Self {
        let (ce, cf) = h
            .canonical
            .map_or((None, None), |(e, f)| (Some(e), Some(f)));
        let (ss, se, sf) = h
            .source
            .map_or((None, None, None), |(s, e, f)| (Some(s), Some(e), Some(f)));
        Self {
            kind: h.kind.into(),
            score: h.score,
            text: h.text,
            baseline: h.baseline,
            canonical_entity: ce,
            canonical_field: cf,
            source_system: ss,
            source_entity: se,
            source_field: sf,
            mapping_id: h.mapping_id.map(to_id),
        }
    }
}

#[derive(InputObject)]
pub struct SourceFieldInput {
    pub name: String,
    pub data_type: Option<String>,
    pub description: Option<String>,
    #[graphql(default)]
    pub samples: Vec<String>,
}

#[derive(InputObject)]
pub struct ProposeMappingsInput {
    pub source_system: String,
    pub source_entity: String,
    pub fields: Vec<SourceFieldInput>,
}

impl From<ProposeMappingsInput> for ProposeInput {
    fn from(input: ProposeMappingsInput) -> Self {
        Self {
            source_system: input.source_system,
            source_entity: input.source_entity,
            fields: input
                .fields
                .into_iter()
                .map(|f| FieldInput {
                    name: f.name,
                    data_type: f.data_type,
                    description: f.description,
                    samples: f.samples,
                })
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct ProposalQuery;

#[Object]
impl ProposalQuery {
    /// Proposals waiting for a human (oldest first), or decided ones by status.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn review_queue(
        &self,
        ctx: &Context<'_>,
        status: Option<GqlReviewStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Review>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let status = status.unwrap_or(GqlReviewStatus::Pending).into();
        let result =
            proposals::review_queue(ctx.service::<ProposalEngine>()?, &scope, status, page).await?;
        Ok(connection(result, after.is_some(), |r| r.id, Review::from))
    }

    /// Natural-language search over the tenant's source fields, mappings and the canonical
    /// model, e.g. "where do we keep customer revenue".
    async fn semantic_search(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<GqlSearchHit>> {
        let scope = ctx.scope(Role::Viewer)?;
        let first = match first {
            None => 10,
            Some(n @ 1..=50) => n as usize,
            Some(_) => {
                return Err(
                    crate::error::AppError::bad_field("first", "must be between 1 and 50").into(),
                )
            }
        };
        let hits =
            proposals::semantic_search(ctx.service::<ProposalEngine>()?, &scope, &query, first)
                .await?;
        Ok(hits.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct ProposalMutation;

#[Object]
impl ProposalMutation {
    /// Proposes canonical targets for source fields: exact and alias matches, then vector search
    /// over approved mappings and canonical knowledge. Confident ones are applied, the rest
    /// queued for review. For large sets, `startProposalJob` does the same in the background.
    async fn propose_mappings(
        &self,
        ctx: &Context<'_>,
        input: ProposeMappingsInput,
    ) -> async_graphql::Result<ProposeMappingsPayload> {
        let scope = ctx.scope(Role::Editor)?;
        let proposals =
            proposals::propose(ctx.service::<ProposalEngine>()?, &scope, input.into()).await?;
        Ok(ProposeMappingsPayload {
            proposals: proposals.into_iter().map(Into::into).collect(),
        })
    }

    /// Accepts a candidate of a review (0, the top one, by default) and activates the mapping.
    async fn approve_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default)] candidate: i32,
    ) -> async_graphql::Result<Review> {
        let scope = ctx.scope(Role::Editor)?;
        let candidate = usize::try_from(candidate)
            .map_err(|_| crate::error::AppError::bad_field("candidate", "must not be negative"))?;
        let item = proposals::decide(
            ctx.service::<ProposalEngine>()?,
            &scope,
            parse_id("id", &id)?,
            Decision::Approve { candidate },
        )
        .await?;
        Ok(item.into())
    }

    /// Maps the reviewed field to a target of the reviewer's choice.
    async fn edit_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        canonical_entity: String,
        canonical_field: String,
    ) -> async_graphql::Result<Review> {
        let scope = ctx.scope(Role::Editor)?;
        let decision = Decision::Edit {
            entity: canonical_entity,
            field: canonical_field,
        };
        Ok(proposals::decide(
            ctx.service::<ProposalEngine>()?,
            &scope,
            parse_id("id", &id)?,
            decision,
        )
        .await?
        .into())
    }

    async fn reject_proposal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> async_graphql::Result<Review> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(proposals::decide(
            ctx.service::<ProposalEngine>()?,
            &scope,
            parse_id("id", &id)?,
            Decision::Reject { reason },
        )
        .await?
        .into())
    }
}
