//! What the API offers: start a sync, follow runs, read drift, schemas, events and records.
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use serde_json::Value;
use uuid::Uuid;

use super::events_store::{self, EventFilter};
use super::model::{Quarantined, StoredEvent, StoredRecord};
use super::store::{self, SchemaVersion};
use super::sync::{self, RunError, SyncCounts};
use crate::config::Settings;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::drift::DriftRecord;
use crate::domains::connectors::model::ConnectorStatus;
use crate::domains::connectors::runtime::ConnectorRuntime;
use crate::domains::connectors::service as connectors;
use crate::domains::connectors::service::ConnectorService;
use crate::domains::jobs::{JobStatus, Jobs};
use crate::domains::mappings::proposals::ProposalEngine;
use crate::domains::telemetry::publisher::Telemetry;
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
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<entity::jobs::Model> for SyncRun {
    fn from(j: entity::jobs::Model) -> Self {
        Self {
            id: j.id,
            connector_id: j.connector_id,
            // Written by this code only; an unknown text would be a bug, shown as QUEUED.
            status: j.status.parse().unwrap_or(JobStatus::Queued),
            counts: serde_json::from_value(j.counts).unwrap_or_default(),
            errors: serde_json::from_value(j.errors).unwrap_or_default(),
            attempts: j.attempts,
            trace_id: sync::SyncPayload::of(&j.payload).trace_id,
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

/// Queues a sync run of the connector and starts it in the background; with `wait`, returns
/// when it has finished (the run goes on even if the caller leaves).
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
    if connector.status == ConnectorStatus::Paused {
        return Err(AppError::Conflict("the connector is paused".into()));
    }
    let trace_id = scope
        .request()
        .trace_id
        .clone()
        .unwrap_or_else(|| Uuid::now_v7().simple().to_string());
    if let Some(running) = store::unfinished_job(&tx, connector_id).await? {
        return Err(already_syncing(&running));
    }
    let job = match store::create_job(&tx, connector_id, &trace_id).await {
        Ok(job) => job,
        // Another request started one in between (migration 0016's index): name it.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            return Err(match store::unfinished_job(&tx, connector_id).await? {
                Some(running) => already_syncing(&running),
                None => AppError::Conflict("the connector's sync run just changed".into()),
            });
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &tx,
        AuditEntry::new("connector.sync", "connector", connector_id)
            .new_value(serde_json::json!({ "syncRunId": job.id })),
    )
    .await?;
    tx.commit().await?;
    {
        use crate::domains::telemetry::event::{kinds, Draft, Layer};
        pipeline.telemetry.layer(Layer::Aam).publish(
            scope.tenant_id(),
            Draft::new(kinds::SYNC_RUN_STATUS, "sync_run", job.id)
                .status("QUEUED")
                .message(format!("sync of {} queued", connector.name))
                .data(serde_json::json!({ "connectorId": connector_id.to_string() }))
                .trace(Some(trace_id.clone())),
        );
    }
    let handle = tokio::spawn(sync::execute(pipeline.clone(), scope.clone(), job.id));
    if wait {
        let _ = handle.await;
        return get(pipeline, scope, job.id).await;
    }
    Ok(job.into())
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
    let job = store::find_job(&tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "sync run" })?;
    if !store::request_cancel(&tx, id, &scope.actor().label()).await? {
        return Err(AppError::Conflict(format!(
            "the sync run has finished ({})",
            job.status
        )));
    }
    audit::record(&tx, AuditEntry::new("sync_run.cancel", "sync_run", id)).await?;
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

/// Resumes sync runs whose process stopped (any tenant): each continues from its last stored
/// batch. Returns how many were picked up; with `wait`, after they have finished.
pub async fn resume_stale(pipeline: &Pipeline, wait: bool) -> AppResult<usize> {
    let stale = pipeline.jobs.stale().await?;
    let mut handles = Vec::with_capacity(stale.len());
    for (scope, job) in &stale {
        tracing::info!(%job, tenant = %scope.tenant_id(), "resuming a sync run");
        handles.push(tokio::spawn(sync::execute(
            pipeline.clone(),
            scope.clone(),
            *job,
        )));
    }
    if wait {
        for h in handles {
            let _ = h.await;
        }
    }
    Ok(stale.len())
}

/// Looks for abandoned runs every `reaper_interval_secs` for the life of the process.
pub fn spawn_reaper(pipeline: Pipeline) {
    let every = pipeline.settings.sync.reaper_interval_secs;
    if every == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = resume_stale(&pipeline, false).await {
                tracing::warn!(error = %e.message(), "looking for abandoned sync runs failed");
            }
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    });
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
