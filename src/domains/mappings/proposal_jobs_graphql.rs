//! Bulk proposals as a job: `startProposalJob`, `proposalJob`, `cancelProposalJob` (and the
//! `proposalJobUpdated` subscription, beside the other live ones).
use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::proposals::job::{self as proposal_job, JobError, ProposalJob, ProposalJobCounts};
use super::proposals::{job_result_cursor, ProposalEngine};
use super::proposals_graphql::{GqlProposal, ProposeMappingsInput};
use crate::domains::auth::model::Role;
use crate::domains::jobs::{JobStatus, Jobs};
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "JobStatus")]
pub enum ProposalJobStatus {
    Queued,
    Running,
    Succeeded,
    /// Not used by proposal jobs (a chunk that fails stops the job: FAILED).
    Partial,
    Failed,
    Cancelled,
}

#[derive(SimpleObject)]
pub struct ProposalJobError {
    /// The error code of what stopped the job (`QUOTA_EXCEEDED`, …).
    pub code: String,
    pub message: String,
}

impl From<JobError> for ProposalJobError {
    fn from(e: JobError) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "ProposalJobCounts")]
pub struct GqlProposalJobCounts {
    /// Fields the job carries.
    pub fields: u64,
    /// Fields proposed and stored so far.
    pub done: u64,
    pub auto_applied: u64,
    pub needs_review: u64,
    pub unmapped: u64,
}

impl From<ProposalJobCounts> for GqlProposalJobCounts {
    fn from(c: ProposalJobCounts) -> Self {
        Self {
            fields: c.fields,
            done: c.done,
            auto_applied: c.auto_applied,
            needs_review: c.needs_review,
            unmapped: c.unmapped,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "ProposalJob", complex)]
pub struct GqlProposalJob {
    pub id: ID,
    pub status: ProposalJobStatus,
    pub source_system: String,
    pub source_entity: String,
    pub counts: GqlProposalJobCounts,
    pub errors: Vec<ProposalJobError>,
    /// How many times a process started on it (more than one: resumed after a crash).
    pub attempts: i32,
    pub trace_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<ProposalJob> for GqlProposalJob {
    fn from(j: ProposalJob) -> Self {
        Self {
            id: to_id(j.id),
            status: j.status.into(),
            source_system: j.source_system,
            source_entity: j.source_entity,
            counts: j.counts.into(),
            errors: j.errors.into_iter().map(Into::into).collect(),
            attempts: j.attempts,
            trace_id: j.trace_id,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

#[ComplexObject]
impl GqlProposalJob {
    /// What each field became so far, in the order the fields were given.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlProposal>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let result = proposal_job::results(
            ctx.service::<ProposalEngine>()?,
            &scope,
            parse_id("id", &self.id)?,
            page,
        )
        .await?;
        Ok(connection(
            result,
            after.is_some(),
            |(position, _)| job_result_cursor(*position),
            |(_, p)| p.into(),
        ))
    }
}

#[derive(Default)]
pub struct ProposalJobQuery;

#[Object]
impl ProposalJobQuery {
    async fn proposal_job(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlProposalJob> {
        let scope = ctx.scope(Role::Viewer)?;
        let job = proposal_job::get(
            ctx.service::<ProposalEngine>()?,
            &scope,
            parse_id("id", &id)?,
        )
        .await?;
        Ok(job.into())
    }
}

#[derive(Default)]
pub struct ProposalJobMutation;

#[Object]
impl ProposalJobMutation {
    /// `proposeMappings` as a background job, for sets too large for one request (up to
    /// `proposals.max_fields_per_job` fields): validated and queued now, proposed chunk by chunk
    /// by this process or a worker, resumed elsewhere if its process stops. Follow it with
    /// `proposalJobUpdated`.
    async fn start_proposal_job(
        &self,
        ctx: &Context<'_>,
        input: ProposeMappingsInput,
    ) -> async_graphql::Result<GqlProposalJob> {
        let scope = ctx.scope(Role::Editor)?;
        let app = ctx.app()?;
        let job = proposal_job::start(
            &ctx.service_arc::<ProposalEngine>()?,
            &ctx.service_arc::<Jobs>()?,
            &scope,
            input.into(),
            app.settings.workers.embedded,
        )
        .await?;
        Ok(job.into())
    }

    /// Stops a proposal job: a queued one at once, a running one after its current chunk
    /// (status CANCELLED; what it proposed is kept). A finished job is a CONFLICT.
    async fn cancel_proposal_job(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlProposalJob> {
        let scope = ctx.scope(Role::Editor)?;
        let job = proposal_job::cancel(
            ctx.service::<ProposalEngine>()?,
            &scope,
            parse_id("id", &id)?,
        )
        .await?;
        Ok(job.into())
    }
}
