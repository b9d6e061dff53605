//! The entities of one sync run, read at most `sync.entities_in_parallel` at a time. Each
//! entity's batches go in order, each stored in one transaction with that entity's own
//! checkpoint and the batch's counts added to the job's (so entities committing in any order
//! never overwrite each other's progress). A cancel, a takeover or our database going away
//! stops every entity at its next batch.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use futures_util::{stream, StreamExt};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::build;
use super::events_store::{self, EventSource};
use super::observer::DriftPolicy;
use super::resolution::Stage;
use super::schema_step::{self, FirstSchema};
use super::service::Pipeline;
use super::sync::{RunError, SyncCounts};
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::model::Connector;
use crate::domains::connectors::source::{EntitySchema, Source};
use crate::domains::jobs::store as jobs_store;
use crate::domains::quotas::service::{self as quotas, Metered};
use crate::domains::records::queue as resolution_queue;
use crate::domains::telemetry::event::{kinds, Draft, Layer};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// What the ingest reads from and writes through (borrowed from the run).
pub(super) struct Run<'a> {
    pub pipeline: &'a Pipeline,
    pub scope: &'a TenantScope,
    pub job: Uuid,
    /// The process holding the job (`jobs.claimed_by`), which alone may store its batches.
    pub owner: Option<&'a str>,
    pub trace_id: &'a str,
    pub connector: &'a Connector,
    pub source: &'a dyn Source,
    pub stage: Option<&'a Stage>,
    pub policy: DriftPolicy,
    /// Per entity, the last stored record key an earlier attempt got to.
    pub checkpoints: &'a Map<String, Value>,
}

/// Where the run stands, shared by its entities.
#[derive(Default)]
pub(super) struct Progress {
    /// What committed (and what the schema steps did).
    pub counts: Mutex<SyncCounts>,
    /// Entities that failed (the others went on).
    pub errors: Mutex<Vec<RunError>>,
    /// Someone asked the run to stop (`cancelSyncRun`).
    pub cancelled: AtomicBool,
    /// Another process took the job over: nothing more is stored by this one.
    pub taken_over: AtomicBool,
    /// Our database went away: the run stops, to be resumed.
    halted: AtomicBool,
}

impl Progress {
    pub fn new(counts: SyncCounts, cancelled: bool) -> Self {
        Self {
            counts: Mutex::new(counts),
            cancelled: AtomicBool::new(cancelled),
            ..Self::default()
        }
    }

    fn stopping(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
            || self.taken_over.load(Ordering::Relaxed)
            || self.halted.load(Ordering::Relaxed)
    }

    fn add(&self, delta: &SyncCounts) -> SyncCounts {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts += delta;
        counts.clone()
    }
}

impl Run<'_> {
    /// Reads every entity through the mappings. One entity failing does not stop the others;
    /// our database going away stops them all (the error returned).
    pub async fn entities(&self, entities: &[String], progress: &Progress) -> AppResult<()> {
        let parallel = self.pipeline.settings.sync.entities_in_parallel.max(1);
        let mut results = stream::iter(entities.iter().cloned())
            .map(|entity| async move {
                let result = self.one(&entity, progress).await;
                (entity, result)
            })
            .buffer_unordered(parallel);
        let mut halted: Option<AppError> = None;
        while let Some((entity, result)) = results.next().await {
            let Err(e) = result else { continue };
            if progress.taken_over.load(Ordering::Relaxed) {
                continue;
            }
            // Our own database away is no fault of the entity: stop, to be resumed.
            if e.is_unavailable() {
                progress.halted.store(true, Ordering::Relaxed);
                halted.get_or_insert(e);
                continue;
            }
            tracing::warn!(entity = %entity, error = ?e, "an entity of the sync failed");
            progress
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(RunError {
                    entity: Some(entity),
                    message: e.message(),
                });
        }
        halted.map_or(Ok(()), Err)
    }

    async fn one(&self, entity: &str, progress: &Progress) -> AppResult<()> {
        if progress.stopping() {
            return Ok(());
        }
        let schema = self
            .source
            .introspect(entity)
            .await
            .and_then(|mut schema| schema.check_text().map(|()| schema))
            .map_err(AppError::from)?;
        self.entity(&schema, progress).await
    }

    async fn entity(&self, schema: &EntitySchema, progress: &Progress) -> AppResult<()> {
        let (pipeline, scope, connector) = (self.pipeline, self.scope, self.connector);
        let step = schema_step::apply(
            pipeline,
            scope,
            connector,
            self.policy,
            schema,
            self.trace_id,
            FirstSchema::Store,
        )
        .await?;
        // Stored on the job with the entity's first batch (or when the run finishes).
        let mut carried = SyncCounts {
            drift_events: step.drifts,
            fields_proposed: step.proposed,
            auto_applied: step.auto_applied,
            needs_review: step.needs_review,
            ..SyncCounts::default()
        };
        progress.add(&carried);
        let version = step.version;
        let plan = build::plan(&pipeline.db, scope, &connector.name, &schema.entity).await?;
        let after = self
            .checkpoints
            .get(&schema.entity)
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let event_quota = {
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            quotas::limits(&tx, &pipeline.settings.quotas)
                .await?
                .events_per_hour
        };
        let mut batches =
            self.source
                .read(&schema.entity, after, pipeline.settings.sync.batch_size);
        while let Some(batch) = batches.recv().await {
            if progress.stopping() {
                break;
            }
            let mut batch = batch.map_err(AppError::from)?;
            batch.quarantine_binary();
            let built = std::time::Instant::now();
            let mut stats = std::collections::HashMap::new();
            let mut delta = SyncCounts::default();
            let (events, quarantined) = build::build(
                &mut delta,
                scope.tenant_id(),
                connector.id,
                &schema.entity,
                &plan,
                &batch,
                &mut stats,
            );
            let build_us = built.elapsed().as_micros() as u64;
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            let from = EventSource {
                system: &connector.name,
                connector: connector.id,
                entity: &schema.entity,
                schema_version: version,
                trace_id: self.trace_id,
                job: self.job,
            };
            let changed = events_store::write_events(&tx, &from, &events).await?;
            let written = changed.len() as u64;
            // Over the hour's quota the batch is rolled back and the entity stops; earlier batches
            // stay, and a later run writes only what is missing (written events are skipped).
            quotas::charge(&tx, Metered::Events, event_quota, written).await?;
            events_store::quarantine(&tx, self.job, connector.id, &schema.entity, &quarantined)
                .await?;
            events_store::record_mapping_stats(&tx, &stats, build_us).await?;
            if self.stage.is_some() {
                resolution_queue::enqueue(&tx, &changed).await?;
            }
            delta.events_written = written;
            delta.events_unchanged = events.len() as u64 - written;
            let mut stored = delta.clone();
            stored += &carried;
            let position = json!(batch.last_position);
            let beat = jobs_store::checkpoint(
                &tx,
                self.job,
                self.owner,
                &json!(stored),
                &schema.entity,
                &position,
            )
            .await?;
            let Some(cancel) = beat else {
                // Fenced: the batch is rolled back with the transaction, unstored.
                progress.taken_over.store(true, Ordering::Relaxed);
                return Err(AppError::Conflict(
                    "the sync run was taken over by another process".into(),
                ));
            };
            tx.commit().await?;
            carried = SyncCounts::default();
            let counts = progress.add(&delta);
            if cancel {
                // This batch is committed and kept; the rest is not read.
                progress.cancelled.store(true, Ordering::Relaxed);
            }
            if let Some(stage) = self.stage {
                stage.nudge();
            }
            pipeline
                .metrics
                .sync_records
                .inc_by(batch.records.len() as u64);
            self.tell(&schema.entity, batch.records.len(), written, &counts);
        }
        Ok(())
    }

    /// AAM: a batch is in (what was read and what it changed downstream); DCL: what it turned
    /// into (canonical events with lineage).
    fn tell(&self, entity: &str, read: usize, written: u64, counts: &SyncCounts) {
        let (tenant, connector, job) = (self.scope.tenant_id(), self.connector.id, self.job);
        let trace = Some(self.trace_id.to_owned());
        self.pipeline.telemetry.layer(Layer::Aam).publish(
            tenant,
            Draft::new(kinds::RECORDS_READ, "sync_run", job)
                .status("RUNNING")
                .message(format!(
                    "{entity}: {read} records read, {written} events written"
                ))
                .data(
                    json!({ "connectorId": connector.to_string(), "entity": entity, "read": read,
                              "written": written, "counts": counts }),
                )
                .trace(trace.clone()),
        );
        self.pipeline.telemetry.layer(Layer::Dcl).publish(
            tenant,
            Draft::new(kinds::RECORDS_EMITTED, "connector", connector)
                .status("OK")
                .message(format!("{entity}: {written} canonical events written"))
                .data(json!({ "connectorId": connector.to_string(), "entity": entity, "written": written,
                              "syncRunId": job.to_string() }))
                .trace(trace),
        );
    }
}
