//! A worker's tick: start the schedules' due slots (each once, whichever process takes it
//! first), the schema observer's due checks, webhook deliveries' due attempts, and the sync
//! runs no live process holds. Every process that works runs it
//! (`serve` unless `workers.embedded` is off, and `autonomos worker`).
use std::time::Duration;

use futures_util::{stream, StreamExt};

use uuid::Uuid;

use super::observer;
use super::service::{self, Pipeline};
use super::sync::SyncPayload;
use crate::domains::auth::service::scope_for_background;
use crate::domains::connectors::service as connectors;
use crate::domains::jobs::due::{self, Due, DueRow};
use crate::domains::jobs::model::SlotOutcome;
use crate::domains::jobs::schedule_store;
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// How long a process may look at a due slot before another may take it over.
const LEASE_SECS: u64 = 30;
/// Due slots one process takes at the same time.
const SLOTS_AT_ONCE: usize = 16;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Runs started by schedules.
    pub started: usize,
    /// Due slots that started nothing (the connector paused or still running), recorded.
    pub skipped: usize,
    /// Runs adopted from processes without workers or that stopped.
    pub adopted: usize,
    /// Schema checks started.
    pub checks: usize,
    /// Webhook delivery attempts started.
    pub deliveries: usize,
}

/// One pass over due slots and runs nobody holds.
pub async fn tick(pipeline: &Pipeline) -> AppResult<Tick> {
    let mut done = Tick::default();
    let batch = pipeline.settings.workers.batch;
    let due = due::lease(&pipeline.db, Due::SyncSlot, LEASE_SECS, batch).await?;
    // Slots come due in bursts (a thousand schedules on the same minute): several are taken at
    // once, each in its own short transaction.
    let mut started = stream::iter(due)
        .map(|slot| async move { (start_slot(pipeline, &slot).await, slot.subject) })
        .buffer_unordered(SLOTS_AT_ONCE);
    while let Some((outcome, connector)) = started.next().await {
        match outcome {
            Ok(Some(true)) => done.started += 1,
            Ok(Some(false)) => done.skipped += 1,
            Ok(None) => {}
            Err(e) => tracing::warn!(%connector, error = %e.message(),
                                     "starting a scheduled sync failed; the slot is retried"),
        }
    }
    for check in due::lease(&pipeline.db, Due::SchemaCheck, LEASE_SECS, batch).await? {
        match start_check(pipeline, &check).await {
            Ok(started) => done.checks += usize::from(started),
            Err(e) => tracing::warn!(connector = %check.subject, error = %e.message(),
                                     "starting a schema check failed; it is retried"),
        }
    }
    for delivery in due::lease(&pipeline.db, Due::WebhookDelivery, LEASE_SECS, batch).await? {
        let (webhooks, id) = (pipeline.webhooks.clone(), delivery.subject);
        let scope = scope_for_background(delivery.tenant);
        done.deliveries += 1;
        tokio::spawn(async move {
            if let Err(e) = webhooks.deliver(&scope, id).await {
                tracing::warn!(delivery = %id, error = %e.message(), "webhook delivery failed to record");
            }
        });
    }
    done.adopted = service::resume_stale(pipeline, false).await?;
    Ok(done)
}

/// Takes the due check, then runs it in the background (a source may be slow to answer).
async fn start_check(pipeline: &Pipeline, due: &DueRow) -> AppResult<bool> {
    let scope = scope_for_background(due.tenant);
    let tx = ScopedTx::begin(&pipeline.db, &scope).await?;
    let every = pipeline.settings.sync.schema_check_secs;
    if !observer::take(&tx, due.subject, due.at, every).await? {
        return Ok(false);
    }
    tx.commit().await?;
    let (pipeline, connector) = (pipeline.clone(), due.subject);
    tokio::spawn(async move {
        if let Err(e) = observer::check(&pipeline, &scope, connector).await {
            tracing::info!(%connector, error = %e.message(), "schema check failed");
        }
    });
    Ok(true)
}

/// Takes the slot and queues its run in one transaction. Some(true): a run started;
/// Some(false): the slot was taken but started nothing (why is recorded on the schedule);
/// None: another process had taken it.
async fn start_slot(pipeline: &Pipeline, due: &DueRow) -> AppResult<Option<bool>> {
    let scope = scope_for_background(due.tenant);
    let tx = ScopedTx::begin(&pipeline.db, &scope).await?;
    if schedule_store::take_slot(&tx, due.subject, due.at)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let Some(connector) = connectors::find(&tx, due.subject).await? else {
        return Ok(None);
    };
    let held = observer::get(&tx, connector.id)
        .await?
        .and_then(|o| o.held_since.map(|since| (since, o.held_reason)));
    let skipped = match held {
        Some((since, reason)) => format!(
            "held since {} by drift (policy PAUSE): {}",
            since.to_rfc3339(),
            reason.unwrap_or_default()
        ),
        None => {
            let trace = Uuid::now_v7().simple().to_string();
            let payload = SyncPayload::new(&trace, Some(due.at));
            match service::queue_in(&tx, &connector, &payload).await {
                Ok(Some(job)) => {
                    schedule_store::record_outcome(
                        &tx,
                        connector.id,
                        Some(job.id),
                        SlotOutcome::Started,
                        None,
                    )
                    .await?;
                    tx.commit().await?;
                    service::launch(pipeline, &scope, &job, &connector.name, true);
                    return Ok(Some(true));
                }
                // A request queued one a moment ago: the next tick records the slot as skipped.
                Ok(None) => return Ok(None),
                Err(AppError::Conflict(why)) => why,
                Err(e) => return Err(e),
            }
        }
    };
    schedule_store::record_outcome(
        &tx,
        connector.id,
        None,
        SlotOutcome::Skipped,
        Some(&skipped),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(false))
}

/// Ticks every `workers.tick_millis` for the life of the process (never when 0).
pub fn spawn(pipeline: Pipeline) {
    let every = pipeline.settings.workers.tick_millis;
    if every == 0 {
        return;
    }
    tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&pipeline).await {
                tracing::warn!(error = %e.message(), "worker tick failed");
            }
            tokio::time::sleep(Duration::from_millis(every)).await;
        }
    });
}
