//! Bulk proposals as a job (`startProposalJob`): a large set of source fields is proposed chunk
//! by chunk by whichever process holds the job, not inside one HTTP request. Each chunk's
//! results and the job's checkpoint are stored in the transaction of the chunk's own writes, and
//! only while this process holds the job, so a job resumed elsewhere neither repeats nor loses
//! a field. Progress is told to subscribers after every chunk.
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{input, job_store, propose_with, FieldInput, Proposal, ProposalEngine};
use super::{ProposalStatus, ProposeInput, StoredWith};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::jobs::store as jobs_store;
use crate::domains::jobs::{self, JobKind, JobStatus, JobType, Jobs, Outcome};
use crate::domains::quotas::service::{self as quotas, Metered};
use crate::domains::telemetry::event::{kinds, Draft, Layer};
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// What a proposal job carries between attempts (its `payload`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobPayload {
    trace_id: Option<String>,
    source_system: String,
    source_entity: String,
    fields: Vec<FieldInput>,
    #[serde(default)]
    checkpoints: Checkpoints,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancel_requested: Option<Value>,
}

/// Where a resumed job goes on from (`jobs::store::checkpoint`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoints {
    /// Fields proposed and stored so far.
    #[serde(default)]
    fields: usize,
}

/// The checkpoint's key in the job's payload.
const FIELDS_DONE: &str = "fields";

/// How far a job got and what its fields became.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProposalJobCounts {
    pub fields: u64,
    pub done: u64,
    pub auto_applied: u64,
    pub needs_review: u64,
    pub unmapped: u64,
}

impl ProposalJobCounts {
    fn add(mut self, proposals: &[Proposal]) -> Self {
        self.done += proposals.len() as u64;
        for p in proposals {
            match p.status {
                ProposalStatus::AutoApplied => self.auto_applied += 1,
                ProposalStatus::NeedsReview => self.needs_review += 1,
                ProposalStatus::Unmapped => self.unmapped += 1,
            }
        }
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ProposalJob {
    pub id: Uuid,
    pub status: JobStatus,
    pub source_system: String,
    pub source_entity: String,
    pub counts: ProposalJobCounts,
    pub errors: Vec<JobError>,
    pub attempts: i32,
    pub trace_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<entity::jobs::Model> for ProposalJob {
    fn from(j: entity::jobs::Model) -> Self {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Header {
            trace_id: Option<String>,
            source_system: String,
            source_entity: String,
        }
        let header: Header = serde_json::from_value(j.payload).unwrap_or_default();
        Self {
            id: j.id,
            // Written by this code only; an unknown text would be a bug, shown as QUEUED.
            status: j.status.parse().unwrap_or(JobStatus::Queued),
            source_system: header.source_system,
            source_entity: header.source_entity,
            counts: serde_json::from_value(j.counts).unwrap_or_default(),
            errors: serde_json::from_value(j.errors).unwrap_or_default(),
            attempts: j.attempts,
            trace_id: header.trace_id,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

impl ProposalJob {
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// Queues a job proposing `input`'s fields (validated now, the quota's room for all of them
/// checked now and charged chunk by chunk), and runs it here when this process works (`here`),
/// else a worker adopts it.
pub async fn start(
    engine: &Arc<ProposalEngine>,
    jobs: &Arc<Jobs>,
    scope: &TenantScope,
    input: ProposeInput,
    here: bool,
) -> AppResult<ProposalJob> {
    let settings = &engine.settings.proposals;
    let payload = JobPayload {
        trace_id: Some(
            scope
                .request()
                .trace_id
                .clone()
                .unwrap_or_else(|| Uuid::now_v7().simple().to_string()),
        ),
        source_system: input::clean_text("sourceSystem", &input.source_system, 200)?,
        source_entity: input::clean_text("sourceEntity", &input.source_entity, 200)?,
        fields: input::clean_fields(input.fields, settings.max_fields_per_job)?,
        checkpoints: Checkpoints::default(),
        cancel_requested: None,
    };
    let total = payload.fields.len() as u64;
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    let quota = quotas::limits(&tx, &engine.settings.quotas)
        .await?
        .proposals_per_month;
    quotas::ensure_room(&tx, Metered::Proposals, quota, total).await?;
    let counts = ProposalJobCounts {
        fields: total,
        ..Default::default()
    };
    let job =
        jobs_store::create(&tx, JobType::Propose, None, json!(payload), json!(counts)).await?;
    audit::record(
        &tx,
        AuditEntry::new("mappings.propose_job", "proposal_job", job.id).new_value(json!({
            "sourceSystem": payload.source_system, "sourceEntity": payload.source_entity,
            "fields": total,
        })),
    )
    .await?;
    tx.commit().await?;
    tell(engine, scope, job.id, JobStatus::Queued, &counts);
    if here {
        tokio::spawn(execute(engine.clone(), jobs.clone(), scope.clone(), job.id));
    }
    Ok(job.into())
}

/// Runs (or resumes) the job to its end, wherever it stopped.
pub async fn execute(engine: Arc<ProposalEngine>, jobs: Arc<Jobs>, scope: TenantScope, id: Uuid) {
    jobs.execute(&scope, id, &Kind { engine }).await;
}

pub async fn get(engine: &ProposalEngine, scope: &TenantScope, id: Uuid) -> AppResult<ProposalJob> {
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    jobs_store::find(&tx, id, JobType::Propose)
        .await?
        .map(Into::into)
        .ok_or(AppError::NotFound {
            what: "proposal job",
        })
}

/// What the job's fields became so far, in the order they were given (a page after `after`'s
/// position).
pub async fn results(
    engine: &ProposalEngine,
    scope: &TenantScope,
    id: Uuid,
    page: PageRequest,
) -> AppResult<Page<(u32, Proposal)>> {
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    jobs_store::find(&tx, id, JobType::Propose)
        .await?
        .ok_or(AppError::NotFound {
            what: "proposal job",
        })?;
    let (rows, total) = job_store::results_page(&tx, id, &page).await?;
    Ok(page.finish(rows, total))
}

/// Asks the job to stop: a queued one at once, a running one after its current chunk (what it
/// stored is kept). A finished job is a CONFLICT.
pub async fn cancel(
    engine: &ProposalEngine,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<ProposalJob> {
    let tx = ScopedTx::begin(&engine.db, scope).await?;
    jobs::control::cancel(&tx, id, JobType::Propose).await?;
    tx.commit().await?;
    get(engine, scope, id).await
}

/// Tells the job's subscribers where it stands.
fn tell(
    engine: &ProposalEngine,
    scope: &TenantScope,
    id: Uuid,
    status: JobStatus,
    counts: &ProposalJobCounts,
) {
    engine.telemetry.layer(Layer::Dcl).publish(
        scope.tenant_id(),
        Draft::new(kinds::PROPOSAL_JOB_STATUS, "proposal_job", id)
            .status(status.as_str())
            .message(format!(
                "proposal job {}: {} of {} fields",
                status.as_str().to_lowercase(),
                counts.done,
                counts.fields
            ))
            .data(json!(counts)),
    );
}

struct Kind {
    engine: Arc<ProposalEngine>,
}

/// How a job's work ended, before it is recorded.
enum Ended {
    Finished(JobStatus, ProposalJobCounts, Vec<JobError>),
    /// Another process holds the job now, or the database went away: nothing to record.
    Interrupted,
}

#[async_trait::async_trait]
impl JobKind for Kind {
    fn kind(&self) -> JobType {
        JobType::Propose
    }

    async fn run(&self, scope: &TenantScope, job: &entity::jobs::Model) -> Outcome {
        let (status, counts, errors) = match self.work(scope, job).await {
            Ended::Interrupted => return Outcome::Interrupted,
            Ended::Finished(status, counts, errors) => (status, counts, errors),
        };
        let finished = async {
            let tx = ScopedTx::begin(&self.engine.db, scope).await?;
            jobs_store::finish_job(&tx, job.id, status, &json!(counts), &json!(errors)).await?;
            tx.commit().await?;
            AppResult::Ok(())
        };
        if let Err(e) = finished.await {
            tracing::warn!(job = %job.id, error = %e.message(), "proposal job: finishing failed; it will be resumed");
            return Outcome::Interrupted;
        }
        tell(&self.engine, scope, job.id, status, &counts);
        Outcome::Finished(status)
    }
}

impl Kind {
    async fn work(&self, scope: &TenantScope, job: &entity::jobs::Model) -> Ended {
        let mut counts: ProposalJobCounts =
            serde_json::from_value(job.counts.clone()).unwrap_or_default();
        let payload: JobPayload = match serde_json::from_value(job.payload.clone()) {
            Ok(p) => p,
            Err(e) => {
                let error = JobError {
                    code: "INTERNAL".into(),
                    message: format!("the job's payload cannot be read: {e}"),
                };
                return Ended::Finished(JobStatus::Failed, counts, vec![error]);
            }
        };
        counts.fields = payload.fields.len() as u64;
        if payload.cancel_requested.is_some() {
            return Ended::Finished(JobStatus::Cancelled, counts, Vec::new());
        }
        let chunk = self.engine.settings.proposals.job_chunk_fields.max(1);
        let mut done = payload.checkpoints.fields.min(payload.fields.len());
        while done < payload.fields.len() {
            let end = (done + chunk).min(payload.fields.len());
            let input = ProposeInput {
                source_system: payload.source_system.clone(),
                source_entity: payload.source_entity.clone(),
                fields: payload.fields[done..end].to_vec(),
            };
            let with = Checkpoint {
                job: job.id,
                owner: job.claimed_by.clone(),
                from: done,
                before: counts,
                seen: Mutex::new(None),
            };
            let proposed = propose_with(&self.engine, scope, input, Some(&with)).await;
            let seen = with.seen.lock().map(|s| *s).unwrap_or(None);
            match (proposed, seen) {
                (Ok(_), Some(Seen::Stored { after, cancel })) => {
                    counts = after;
                    done = end;
                    if cancel {
                        return Ended::Finished(JobStatus::Cancelled, counts, Vec::new());
                    }
                    tell(&self.engine, scope, job.id, JobStatus::Running, &counts);
                }
                (_, Some(Seen::TakenOver)) => {
                    tracing::warn!(job = %job.id, "proposal job taken over by another process; this one stops");
                    return Ended::Interrupted;
                }
                (Err(e), _) if e.is_unavailable() => {
                    tracing::warn!(job = %job.id, "proposal job interrupted: database unavailable; it will be resumed");
                    return Ended::Interrupted;
                }
                (Err(e), _) => {
                    // What earlier chunks stored stays; the rest of the fields are not proposed.
                    let error = JobError {
                        code: e.code().as_str().to_owned(),
                        message: format!(
                            "fields {}–{} could not be proposed: {}",
                            done + 1,
                            end,
                            e.message()
                        ),
                    };
                    return Ended::Finished(JobStatus::Failed, counts, vec![error]);
                }
                (Ok(_), None) => {
                    let error = JobError {
                        code: "INTERNAL".into(),
                        message: "a chunk was proposed without its checkpoint".into(),
                    };
                    return Ended::Finished(JobStatus::Failed, counts, vec![error]);
                }
            }
        }
        Ended::Finished(JobStatus::Succeeded, counts, Vec::new())
    }
}

#[derive(Debug, Clone, Copy)]
enum Seen {
    Stored {
        after: ProposalJobCounts,
        cancel: bool,
    },
    TakenOver,
}

/// A chunk's results and the job's checkpoint, stored with the chunk's proposals.
struct Checkpoint {
    job: Uuid,
    owner: Option<String>,
    /// The position of the chunk's first field.
    from: usize,
    before: ProposalJobCounts,
    seen: Mutex<Option<Seen>>,
}

impl Checkpoint {
    fn see(&self, seen: Seen) {
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(seen);
        }
    }
}

#[async_trait::async_trait]
impl StoredWith for Checkpoint {
    async fn store(&self, tx: &ScopedTx<'_>, proposals: &[Proposal]) -> AppResult<()> {
        let added = ProposalJobCounts::default().add(proposals);
        let after = self.before.add(proposals);
        let done = json!(self.from + proposals.len());
        match jobs_store::checkpoint(
            tx,
            self.job,
            self.owner.as_deref(),
            &json!(added),
            FIELDS_DONE,
            &done,
        )
        .await?
        {
            Some(cancel) => {
                job_store::insert_results(tx, self.job, self.from, proposals).await?;
                self.see(Seen::Stored { after, cancel });
                Ok(())
            }
            None => {
                self.see(Seen::TakenOver);
                // Rolls the chunk back: it is the new holder's to propose.
                Err(AppError::Conflict(
                    "the proposal job is held by another process".into(),
                ))
            }
        }
    }
}
