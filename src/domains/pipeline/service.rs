//! What the API offers: start a sync, follow runs, read drift, schemas, events and records.
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use serde_json::Value;
use uuid::Uuid;

use super::events_store::{self, EventFilter};
use super::model::{Quarantined, StoredEvent, StoredRecord};
use super::store::{self, SchemaVersion};
use super::sync::{self, RunError, SyncCounts, SyncPayload};
use crate::config::Settings;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::drift::DriftRecord;
use crate::domains::connectors::model::{Connector, ConnectorStatus};
use crate::domains::connectors::runtime::ConnectorRuntime;
use crate::domains::connectors::service as connectors;
use crate::domains::connectors::service::ConnectorService;
use crate::domains::jobs::{JobStatus, JobType, Jobs};
use crate::domains::mappings::proposals::job as proposal_job;
use crate::domains::mappings::proposals::ProposalEngine;
use crate::domains::telemetry::publisher::Telemetry;
use crate::domains::webhooks::service::WebhookService;
use crate::error::{is_unique_violation, AppError, AppResult};
use crate::infra::metrics::Metrics;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

/// The pipeline's long-lived state, built once at start-up: what a sync run reads from
/// (connectors), writes through (jobs, proposals) and reports to (telemetry, metrics).
/// Cheap to clone: a run owns a copy for its lifetime.
#[derive(Clone)]
pub struct Pipeline {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub jobs: Arc<Jobs>,
    pub connectors: Arc<ConnectorService>,
    pub runtime: Arc<ConnectorRuntime>,
    pub proposals: Arc<ProposalEngine>,
    pub telemetry: Telemetry,
    pub metrics: Arc<Metrics>,
    /// Sends the deliveries the worker's tick finds due.
    pub webhooks: Arc<WebhookService>,
}

#[derive(Debug, Clone)]
pub struct SyncRun {
    pub id: Uuid,
    pub connector_id: Option<Uuid>,
    pub status: JobStatus,
    pub counts: SyncCounts,
    pub errors: Vec<RunError>,
    pub attempts: i32,
    pub trace_id: Option<String>,
    /// The schedule's slot that started it; none when a request did.
    pub slot: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<entity::jobs::Model> for SyncRun {
    fn from(j: entity::jobs::Model) -> Self {
        let payload = sync::SyncPayload::of(&j.payload);
        Self {
            id: j.id,
            connector_id: j.connector_id,
            // Written by this code only; an unknown text would be a bug, shown as QUEUED.
            status: j.status.parse().unwrap_or(JobStatus::Queued),
            counts: serde_json::from_value(j.counts).unwrap_or_default(),
            errors: serde_json::from_value(j.errors).unwrap_or_default(),
            attempts: j.attempts,
            trace_id: payload.trace_id,
            slot: payload.slot,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

impl SyncRun {
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// Queues a sync run of the connector and starts it in the background (here when this process
/// works, else by a worker); with `wait`, returns when it has finished (the run goes on even if
/// the caller leaves).
pub async fn start(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector_id: Uuid,
    wait: bool,
) -> AppResult<SyncRun> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let connector = connectors::find(&tx, connector_id)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let trace_id = scope
        .request()
        .trace_id
        .clone()
        .unwrap_or_else(|| Uuid::now_v7().simple().to_string());
    let Some(job) = queue_in(&tx, &connector, &SyncPayload::new(&trace_id, None)).await? else {
        // Another request started one in between (migration 0016's index): name it.
        drop(tx);
        let tx = ScopedTx::begin(&pipeline.db, scope).await?;
        return Err(match store::unfinished_job(&tx, connector_id).await? {
            Some(running) => already_syncing(&running),
            None => AppError::Conflict("the connector's sync run just changed".into()),
        });
    };
    tx.commit().await?;
    let handle = launch(
        pipeline,
        scope,
        &job,
        &connector.name,
        pipeline.settings.workers.embedded,
    );
    if wait {
        match handle {
            Some(handle) => {
                let _ = handle.await;
            }
            None => return finished(pipeline, scope, job.id).await,
        }
        return get(pipeline, scope, job.id).await;
    }
    Ok(job.into())
}

/// Queues a run of `connector` in `tx`, audited. CONFLICT when the connector is paused or
/// already has a run queued or running; None when a concurrent request queued one first (the
/// transaction is then spoilt).
pub(super) async fn queue_in(
    tx: &ScopedTx<'_>,
    connector: &Connector,
    payload: &SyncPayload,
) -> AppResult<Option<entity::jobs::Model>> {
    if connector.status == ConnectorStatus::Paused {
        return Err(AppError::Conflict("the connector is paused".into()));
    }
    if let Some(running) = store::unfinished_job(tx, connector.id).await? {
        return Err(already_syncing(&running));
    }
    let job = match store::create_job(tx, connector.id, payload).await {
        Ok(job) => job,
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        tx,
        AuditEntry::new("connector.sync", "connector", connector.id)
            .new_value(serde_json::json!({ "syncRunId": job.id, "slot": payload.slot })),
    )
    .await?;
    Ok(Some(job))
}

/// After the run's queuing committed: tells subscribers, and runs it in this process when
/// `here` (else a worker adopts it).
pub(super) fn launch(
    pipeline: &Pipeline,
    scope: &TenantScope,
    job: &entity::jobs::Model,
    connector_name: &str,
    here: bool,
) -> Option<tokio::task::JoinHandle<()>> {
    use crate::domains::telemetry::event::{kinds, Draft, Layer};
    let payload = SyncPayload::of(&job.payload);
    pipeline.telemetry.layer(Layer::Aam).publish(
        scope.tenant_id(),
        Draft::new(kinds::SYNC_RUN_STATUS, "sync_run", job.id)
            .status("QUEUED")
            .message(match payload.slot {
                Some(_) => format!("scheduled sync of {connector_name} queued"),
                None => format!("sync of {connector_name} queued"),
            })
            .data(
                serde_json::json!({ "connectorId": job.connector_id.map(|c| c.to_string()),
                                      "slot": payload.slot }),
            )
            .trace(payload.trace_id),
    );
    here.then(|| tokio::spawn(sync::execute(pipeline.clone(), scope.clone(), job.id)))
}

/// Waits for a run another process works on to finish.
async fn finished(pipeline: &Pipeline, scope: &TenantScope, id: Uuid) -> AppResult<SyncRun> {
    loop {
        let run = get(pipeline, scope, id).await?;
        if run.is_finished() {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One sync run of a connector at a time: the refusal names the one there is.
fn already_syncing(running: &entity::jobs::Model) -> AppError {
    AppError::Conflict(format!(
        "the connector already has a sync run {}: {}",
        running.status.to_lowercase(),
        running.id
    ))
}

/// Asks a sync run to stop: a queued one is cancelled at once, a running one at its next
/// checkpoint, keeping every batch it committed. A finished run is a CONFLICT.
pub async fn cancel(pipeline: &Pipeline, scope: &TenantScope, id: Uuid) -> AppResult<SyncRun> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    crate::domains::jobs::control::cancel(&tx, id, JobType::Sync).await?;
    tx.commit().await?;
    get(pipeline, scope, id).await
}

pub async fn get(pipeline: &Pipeline, scope: &TenantScope, id: Uuid) -> AppResult<SyncRun> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    store::find_job(&tx, id)
        .await?
        .map(Into::into)
        .ok_or(AppError::NotFound { what: "sync run" })
}

pub async fn list(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<SyncRun>> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    if let Some(c) = connector {
        connectors::find(&tx, c)
            .await?
            .ok_or(AppError::NotFound { what: "connector" })?;
    }
    let (rows, total) = store::job_page(&tx, connector, &page).await?;
    Ok(page.finish(rows.into_iter().map(Into::into).collect(), total))
}

pub async fn quarantined(
    pipeline: &Pipeline,
    scope: &TenantScope,
    run: Uuid,
    page: PageRequest,
) -> AppResult<Page<Quarantined>> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let (rows, total) = events_store::quarantine_page(&tx, run, &page).await?;
    Ok(page.finish(rows, total))
}

pub async fn drift_events(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Uuid,
    page: PageRequest,
) -> AppResult<Page<DriftRecord>> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    connectors::find(&tx, connector)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let (rows, total) = store::drift_page(&tx, connector, &page).await?;
    let records = rows
        .into_iter()
        .map(|d| {
            Ok(DriftRecord {
                id: d.id,
                connector_id: d.connector_id,
                source_entity: d.source_entity,
                kind: d
                    .kind
                    .parse()
                    .map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?,
                field_name: d.field_name,
                previous: d.previous,
                current: d.current,
                schema_version: d.schema_version,
                breaking: d.breaking,
                detected_at: d.detected_at,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page.finish(records, total))
}

pub async fn schema_timeline(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Uuid,
) -> AppResult<Vec<SchemaVersion>> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    connectors::find(&tx, connector)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    Ok(store::schema_timeline(&tx, connector).await?)
}

pub async fn record(
    pipeline: &Pipeline,
    scope: &TenantScope,
    entity: &str,
    id: Uuid,
) -> AppResult<StoredRecord> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    events_store::find_record(&tx, entity, id)
        .await?
        .ok_or(AppError::NotFound {
            what: "canonical record",
        })
}

pub async fn events(
    pipeline: &Pipeline,
    scope: &TenantScope,
    filter: EventFilter,
    page: PageRequest,
) -> AppResult<Page<StoredEvent>> {
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let (rows, total) = events_store::event_page(&tx, &filter, &page).await?;
    Ok(page.finish(rows, total))
}

/// Runs the jobs no live process holds (any tenant; sync runs and bulk proposals): queued by a
/// process without workers, or left running by one that stopped (each continues from its last
/// checkpoint).
/// Returns how many were picked up; with `wait`, after they have finished.
pub async fn resume_stale(pipeline: &Pipeline, wait: bool) -> AppResult<usize> {
    let adopted = pipeline.jobs.adopt(pipeline.settings.workers.batch).await?;
    let mut handles = Vec::with_capacity(adopted.len());
    for (scope, job, kind) in adopted.iter().cloned() {
        tracing::info!(%job, tenant = %scope.tenant_id(), %kind, "running an adopted job");
        handles.push(match kind {
            JobType::Sync => tokio::spawn(sync::execute(pipeline.clone(), scope, job)),
            JobType::Propose => tokio::spawn(proposal_job::execute(
                pipeline.proposals.clone(),
                pipeline.jobs.clone(),
                scope,
                job,
            )),
        });
    }
    if wait {
        for h in handles {
            let _ = h.await;
        }
    }
    Ok(adopted.len())
}

/// A record's canonical values with the lineage of each.
pub struct FieldValue {
    pub name: String,
    pub value: Value,
    pub lineage: Option<Value>,
}

pub fn fields_of(data: &Value, lineage: &Value) -> Vec<FieldValue> {
    let mut out: Vec<FieldValue> = data
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| FieldValue {
                    name: k.clone(),
                    value: v.clone(),
                    lineage: lineage.get(k).cloned(),
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
