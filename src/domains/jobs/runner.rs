//! Running a job of any kind: wait for one of the tenant's slots (the job kept fresh meanwhile),
//! claim it, beat while its kind works, record nothing of the kind's own, release the slot.
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use super::model::{JobHeader, JobStatus, JobType};
use super::{slots, store};
use crate::config::{SyncSettings, WorkerSettings};
use crate::domains::auth::scope::TenantScope;
use crate::domains::auth::service::scope_for_background;
use crate::domains::telemetry::event::{kinds, Draft, Layer};
use crate::domains::telemetry::publisher::Telemetry;
use crate::error::AppResult;
use crate::infra::redis::Redis;
use crate::tenancy::ScopedTx;

const LEASE_MS: u64 = 30_000;
const BEAT: Duration = Duration::from_secs(5);
const WAITING_BEAT: Duration = Duration::from_millis(750);

/// How a job's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, with the status its kind recorded.
    Finished(JobStatus),
    /// Stopped by an outage: left RUNNING at its last checkpoint, for the reaper to resume.
    Interrupted,
}

/// What one kind of job does once claimed. The kind records its own outcome (with whatever
/// else must change in the same transaction) before it returns.
#[async_trait]
pub trait JobKind: Send + Sync {
    /// The `jobs.kind` it claims.
    fn kind(&self) -> JobType;
    async fn run(&self, scope: &TenantScope, job: &entity::jobs::Model) -> Outcome;
}

#[derive(Clone)]
pub struct Jobs {
    db: DatabaseConnection,
    redis: Redis,
    telemetry: Telemetry,
    concurrency_per_tenant: usize,
    stale_after_secs: u64,
    adopt_queued_after_secs: u64,
    /// This process, as `jobs.claimed_by` names it.
    owner: String,
}

impl Jobs {
    pub fn new(
        db: DatabaseConnection,
        redis: Redis,
        telemetry: Telemetry,
        settings: &SyncSettings,
        workers: &WorkerSettings,
    ) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        Self {
            db,
            redis,
            telemetry,
            concurrency_per_tenant: settings.concurrency_per_tenant,
            stale_after_secs: settings.resume_stale_after_secs,
            adopt_queued_after_secs: workers.adopt_queued_after_secs,
            owner: format!("{host}:{}:{}", std::process::id(), Uuid::now_v7().simple()),
        }
    }

    /// Runs (or resumes) `job` of `kind` to its end. Never panics the caller.
    pub async fn execute(&self, scope: &TenantScope, job: Uuid, kind: &dyn JobKind) {
        let tenant = scope.tenant_id();
        self.wait_for_slot(scope, job).await;
        let claimed = match self.claim(scope, job, kind.kind()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%job, error = %e.message(), "job: claim failed");
                None
            }
        };
        let Some(claimed) = claimed else {
            let _ = slots::release(&self.redis, tenant, job).await;
            return;
        };
        let beat = {
            let (jobs, scope) = (self.clone(), scope.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(BEAT).await;
                    let _ = slots::acquire(&jobs.redis, tenant, job, usize::MAX, LEASE_MS).await;
                    if let Err(e) = jobs.touch(&scope, job).await {
                        tracing::warn!(%job, error = %e.message(), "job: heartbeat failed");
                    }
                }
            })
        };
        let trace = JobHeader::of(&claimed.payload).trace_id;
        let agent = self.telemetry.layer(Layer::Agent);
        agent.publish(
            tenant,
            Draft::new(kinds::JOB_STATUS, "job", job)
                .status(if claimed.attempts > 1 {
                    "RESUMED"
                } else {
                    "CLAIMED"
                })
                .message(format!(
                    "{} job claimed (attempt {})",
                    kind.kind().as_str().to_lowercase(),
                    claimed.attempts
                ))
                .data(
                    json!({ "attempts": claimed.attempts, "kind": kind.kind().as_str(),
                              "connectorId": claimed.connector_id.map(|c| c.to_string()) }),
                )
                .trace(trace.clone()),
        );
        let outcome = kind.run(scope, &claimed).await;
        beat.abort();
        if let Outcome::Finished(status) = outcome {
            agent.publish(
                tenant,
                Draft::new(kinds::JOB_STATUS, "job", job)
                    .status("FINISHED")
                    .message(format!("{} job finished: {status}", kind.kind().as_str().to_lowercase()))
                    .data(json!({ "attempts": claimed.attempts, "kind": kind.kind().as_str(), "outcome": status.as_str() }))
                    .trace(trace),
            );
        }
        let _ = slots::release(&self.redis, tenant, job).await;
    }

    /// Takes up to `limit` jobs no live process holds (any tenant), each with the scope of its
    /// own tenant and its kind, for this process to run.
    pub async fn adopt(&self, limit: u32) -> AppResult<Vec<(TenantScope, Uuid, JobType)>> {
        Ok(store::adopt_jobs(
            &self.db,
            &self.owner,
            self.adopt_queued_after_secs,
            self.stale_after_secs,
            limit,
        )
        .await?
        .into_iter()
        .filter_map(|job| Some((scope_for_background(job.tenant), job.id, job.kind?)))
        .collect())
    }

    /// The job stays QUEUED, its heartbeat fresh, until one of the tenant's slots is free.
    async fn wait_for_slot(&self, scope: &TenantScope, job: Uuid) {
        // Fresh enough that no worker adopts it (`workers.adopt_queued_after_secs`), without a
        // write every poll: many runs may wait at once.
        let mut touched = std::time::Instant::now();
        loop {
            let acquired = slots::acquire(
                &self.redis,
                scope.tenant_id(),
                job,
                self.concurrency_per_tenant,
                LEASE_MS,
            )
            .await;
            match acquired {
                Ok(true) => return,
                Ok(false) => {
                    if touched.elapsed() >= WAITING_BEAT {
                        touched = std::time::Instant::now();
                        if let Err(e) = self.touch(scope, job).await {
                            tracing::warn!(%job, error = %e.message(), "job: heartbeat while queued failed");
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => {
                    // Without Redis the limit cannot be shared; the work still gets done.
                    tracing::warn!(%job, error = %e, "job slots unavailable; running without the concurrency limit");
                    return;
                }
            }
        }
    }

    async fn touch(&self, scope: &TenantScope, job: Uuid) -> AppResult<()> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        store::touch(&tx, job, &self.owner).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim(
        &self,
        scope: &TenantScope,
        job: Uuid,
        kind: JobType,
    ) -> AppResult<Option<entity::jobs::Model>> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        let claimed = store::claim_job(&tx, job, kind, &self.owner, self.stale_after_secs).await?;
        tx.commit().await?;
        Ok(claimed)
    }
}
