//! A sync run: introspect → drift check → proposals for new fields → records through the
//! active mappings → canonical events and records. Runs are jobs: each batch is stored with
//! its checkpoint in one transaction, so a run resumed after a crash starts where the last
//! stored batch ended, and re-reading a record version never writes its event twice.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::ingest::{self, Progress};
use super::observer::{self, DriftPolicy};
use super::resolution::Stage;
use super::service::Pipeline;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::health;
use crate::domains::connectors::service as connectors;
use crate::domains::jobs::{self, JobKind, JobStatus, JobType, Outcome};
use crate::domains::telemetry::event::{kinds, Draft, Layer};
use crate::domains::webhooks::{self, model::EventType};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// What a run did, kept on the job as it goes (and shown as is through GraphQL).
#[derive(Debug, Default, Clone, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncCounts {
    pub entities: u64,
    pub records_read: u64,
    pub events_written: u64,
    /// Records whose current version already had its event (a re-sync or a resumed run).
    pub events_unchanged: u64,
    pub quarantined: u64,
    pub value_errors: u64,
    /// Records that matched no active mapping (kept nowhere but counted).
    pub unmapped_records: u64,
    /// Rows repeating an id already seen in the same batch: the later row wins.
    pub duplicate_ids: u64,
    pub drift_events: u64,
    pub fields_proposed: u64,
    pub auto_applied: u64,
    pub needs_review: u64,
    /// Records linked into a unified record with others (by a key or a score).
    pub unified_links: u64,
    /// Pairs put in the match review queue.
    pub match_candidates: u64,
    /// Candidate pairs compared by entity resolution (records sharing a blocking key).
    pub match_pairs_compared: u64,
}

impl std::ops::AddAssign<&SyncCounts> for SyncCounts {
    fn add_assign(&mut self, o: &SyncCounts) {
        self.entities += o.entities;
        self.records_read += o.records_read;
        self.events_written += o.events_written;
        self.events_unchanged += o.events_unchanged;
        self.quarantined += o.quarantined;
        self.value_errors += o.value_errors;
        self.unmapped_records += o.unmapped_records;
        self.duplicate_ids += o.duplicate_ids;
        self.drift_events += o.drift_events;
        self.fields_proposed += o.fields_proposed;
        self.auto_applied += o.auto_applied;
        self.needs_review += o.needs_review;
        self.unified_links += o.unified_links;
        self.match_candidates += o.match_candidates;
        self.match_pairs_compared += o.match_pairs_compared;
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunError {
    pub entity: Option<String>,
    pub message: String,
}

/// Sync runs as a kind of job: the jobs domain claims, beats and releases; this runs.
pub struct SyncJob {
    pipeline: Pipeline,
}

/// Runs (or resumes) a sync job to its end. Never panics the caller.
pub async fn execute(pipeline: Pipeline, scope: TenantScope, job: Uuid) {
    let jobs = pipeline.jobs.clone();
    jobs.execute(&scope, job, &SyncJob { pipeline }).await;
}

#[async_trait::async_trait]
impl JobKind for SyncJob {
    fn kind(&self) -> JobType {
        JobType::Sync
    }

    async fn run(&self, scope: &TenantScope, claimed: &entity::jobs::Model) -> Outcome {
        let pipeline = &self.pipeline;
        let job = claimed.id;
        let mut run = Run::resume(claimed);
        publish_status(pipeline, scope, claimed, JobStatus::Running, &run);
        // Asked to stop while no process ran it (resumed after its process stopped): stop.
        let outcome = if run.cancelled {
            Ok(())
        } else {
            run.go(pipeline, scope, claimed).await
        };
        if run.taken_over {
            // Another process took the run over (this one was thought dead): it is that one's.
            tracing::warn!(%job, "sync run taken over by another process; this one stops");
            return Outcome::Interrupted;
        }
        if let Err(e) = &outcome {
            if e.is_unavailable() {
                // The job stays RUNNING with its last checkpoint; its heartbeat has stopped, so
                // the reaper of any process resumes it once the database is back.
                tracing::warn!(%job, "sync run interrupted: database unavailable; it will be resumed");
                return Outcome::Interrupted;
            }
        }
        let status = match outcome {
            Err(e) => {
                run.errors.push(RunError {
                    entity: None,
                    message: e.message(),
                });
                JobStatus::Failed
            }
            Ok(()) if run.cancelled => JobStatus::Cancelled,
            Ok(()) if run.counts.quarantined > 0 || !run.errors.is_empty() => JobStatus::Partial,
            Ok(()) => JobStatus::Succeeded,
        };
        if let Err(e) = finish(pipeline, scope, job, status, &run).await {
            tracing::error!(%job, error = %e.message(), "sync run: recording the outcome failed");
        }
        publish_status(pipeline, scope, claimed, status, &run);
        tracing::info!(%job, %status, counts = ?run.counts, "sync run finished");
        Outcome::Finished(status)
    }
}

/// AAM: a sync run changed status.
fn publish_status(
    pipeline: &Pipeline,
    scope: &TenantScope,
    job: &entity::jobs::Model,
    status: JobStatus,
    run: &Run,
) {
    pipeline.telemetry.layer(Layer::Aam).publish(
        scope.tenant_id(),
        Draft::new(kinds::SYNC_RUN_STATUS, "sync_run", job.id)
            .status(status.as_str())
            .message(format!("sync run {}", status.as_str().to_lowercase()))
            .data(
                json!({ "connectorId": job.connector_id.map(|c| c.to_string()),
                          "counts": run.counts, "errors": run.errors.len() }),
            )
            .trace(Some(run.trace_id.clone())),
    );
}

async fn finish(
    pipeline: &Pipeline,
    scope: &TenantScope,
    job: Uuid,
    status: JobStatus,
    run: &Run,
) -> AppResult<()> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    jobs::finish_job(&tx, job, status, &json!(run.counts), &json!(run.errors)).await?;
    if let Some(connector) = run.connector {
        connectors::mark_synced(&tx, connector).await?;
        // How the source answered counts towards its health; a cancelled run tells nothing.
        let failed = run
            .errors
            .last()
            .map_or("the sync run failed", |e| e.message.as_str());
        let outcome = match status {
            JobStatus::Failed => Some(Err(failed)),
            JobStatus::Succeeded | JobStatus::Partial => Some(Ok(())),
            _ => None,
        };
        if let Some(outcome) = outcome {
            let after = pipeline.settings.sync.failing_after;
            health::record(&tx, connector, outcome, after).await?;
        }
        announce(pipeline, &tx, job, connector, status, run).await?;
    }
    tx.commit().await?;
    Ok(())
}

struct Run {
    counts: SyncCounts,
    errors: Vec<RunError>,
    checkpoints: Map<String, Value>,
    trace_id: String,
    connector: Option<Uuid>,
    /// Someone asked the run to stop (`cancelSyncRun`): it stops at its next checkpoint.
    cancelled: bool,
    /// What drift does (read when the run starts).
    policy: DriftPolicy,
    /// The process holding the job (`jobs.claimed_by`), which alone may store its batches.
    owner: Option<String>,
    /// Another process took the job over: nothing more is stored by this one.
    taken_over: bool,
}

/// What a sync job carries between attempts (its `payload`): the trace of the request that
/// queued it, and per entity the last stored record key a resumed run continues after.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPayload {
    pub trace_id: Option<String>,
    #[serde(default)]
    pub checkpoints: Map<String, Value>,
    /// Who asked the run to stop, and when (`store::request_cancel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_requested: Option<Value>,
    /// The schedule's slot that started the run; none when a request did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<chrono::DateTime<chrono::Utc>>,
}

impl SyncPayload {
    pub fn new(trace_id: &str, slot: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        Self {
            trace_id: Some(trace_id.to_owned()),
            checkpoints: Map::new(),
            cancel_requested: None,
            slot,
        }
    }

    /// Read from a stored payload; what cannot be read starts afresh.
    pub fn of(payload: &Value) -> Self {
        serde_json::from_value(payload.clone()).unwrap_or_default()
    }
}

impl Run {
    /// Picks up what an earlier attempt of the job stored.
    fn resume(job: &entity::jobs::Model) -> Self {
        let payload = SyncPayload::of(&job.payload);
        Self {
            counts: serde_json::from_value(job.counts.clone()).unwrap_or_default(),
            errors: Vec::new(),
            checkpoints: payload.checkpoints,
            trace_id: payload
                .trace_id
                .unwrap_or_else(|| Uuid::now_v7().to_string()),
            connector: job.connector_id,
            cancelled: payload.cancel_requested.is_some(),
            policy: DriftPolicy::Propagate,
            owner: job.claimed_by.clone(),
            taken_over: false,
        }
    }

    async fn go(
        &mut self,
        pipeline: &Pipeline,
        scope: &TenantScope,
        job: &entity::jobs::Model,
    ) -> AppResult<()> {
        let connector_id = job
            .connector_id
            .ok_or(AppError::NotFound { what: "connector" })?;
        let (connector, config) = {
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            self.policy = observer::policy_of(&tx, connector_id).await?;
            connectors::find_with_config(&pipeline.connectors, &tx, connector_id)
                .await?
                .ok_or(AppError::NotFound { what: "connector" })?
        };
        let source = pipeline
            .runtime
            .open(scope.tenant_id(), &connector, config)
            .await
            .map_err(AppError::from)?;
        let entities = source.entities().await.map_err(AppError::from)?;
        self.counts.entities = entities.len() as u64;
        let stage = if pipeline.settings.records.resolve {
            Some(Stage::start(pipeline, scope, connector.id, &self.trace_id).await?)
        } else {
            None
        };
        let progress = Progress::new(std::mem::take(&mut self.counts), self.cancelled);
        let ingested = ingest::Run {
            pipeline,
            scope,
            job: job.id,
            owner: self.owner.as_deref(),
            trace_id: &self.trace_id,
            connector: &connector,
            source: source.as_ref(),
            stage: stage.as_ref(),
            policy: self.policy,
            checkpoints: &self.checkpoints,
        }
        .entities(&entities, &progress)
        .await;
        self.counts = progress
            .counts
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        self.errors.extend(
            progress
                .errors
                .into_inner()
                .unwrap_or_else(|p| p.into_inner()),
        );
        self.cancelled = progress.cancelled.into_inner();
        self.taken_over = progress.taken_over.into_inner();
        // The stage finishes what the ingest queued even when the ingest stopped early; not
        // when the run was cancelled (what it queued waits for the next run).
        match stage {
            Some(stage) if self.cancelled => {
                stage.abandon().await;
                ingested?;
            }
            Some(stage) => {
                let resolved = stage.finish().await;
                ingested?;
                let resolved = resolved?;
                self.counts.unified_links += resolved.linked;
                self.counts.match_candidates += resolved.queued_for_review;
                self.counts.match_pairs_compared += resolved.compared;
            }
            None => ingested?,
        }
        // Nothing read from any entity is a failed run; some entities read is a partial one.
        if !self.errors.is_empty()
            && self.errors.len() as u64 == self.counts.entities
            && self.counts.records_read == 0
            && self.counts.quarantined == 0
        {
            return Err(AppError::bad_input(
                "no entity of the source could be synced",
            ));
        }
        Ok(())
    }
}

/// Webhooks of a finished run, in its finishing transaction: its outcome, and the review queue
/// when the run added to it past the threshold.
async fn announce(
    pipeline: &Pipeline,
    tx: &ScopedTx<'_>,
    job: Uuid,
    connector: Uuid,
    status: JobStatus,
    run: &Run,
) -> AppResult<()> {
    let event = match status {
        JobStatus::Succeeded => EventType::SyncRunSucceeded,
        JobStatus::Failed | JobStatus::Partial => EventType::SyncRunFailed,
        _ => return Ok(()),
    };
    let errors: Vec<&RunError> = run.errors.iter().take(5).collect();
    let data = json!({ "syncRunId": job, "connectorId": connector, "status": status.as_str(),
                       "counts": run.counts, "errors": errors });
    webhooks::emit(tx, event, data).await?;
    let added = run.counts.needs_review + run.counts.match_candidates;
    let threshold = pipeline.settings.webhooks.review_queue_threshold;
    if added > 0 {
        let waiting = webhooks::service::waiting_for_review(tx).await?;
        if waiting > threshold {
            let data = json!({ "waiting": waiting, "threshold": threshold, "addedBy": job,
                               "connectorId": connector });
            webhooks::emit(tx, EventType::ReviewQueueAboveThreshold, data).await?;
        }
    }
    Ok(())
}
