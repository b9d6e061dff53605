//! The resolution stage of a sync run. Ingest batches queue the canonical records they change
//! (in their own transactions) and nudge the stage; the stage, a task beside the ingest, takes
//! queued records in transactions of its own and links them into unified records. Ingest and
//! resolution overlap (each waits on the database at different times), and what is queued
//! survives a crash: the tenant's next run resolves it. A run ends once both are done.
//! The stage also learns: the pairs it scores teach the tenant's match model, re-estimated each
//! time a quarter more evidence has come in, and used by the batches after.
use std::collections::BTreeMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::service::Pipeline;
use crate::domains::auth::scope::TenantScope;
use crate::domains::records::learn::{self, Evidence};
use crate::domains::records::learn_store;
use crate::domains::records::resolve::{Changes, Resolver};
use crate::domains::records::score::PRIOR_WEIGHT;
use crate::domains::records::{live, queue};
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// The running stage: nudge it after each committed batch, finish it at the end of the run.
pub struct Stage {
    nudge: mpsc::Sender<()>,
    task: JoinHandle<AppResult<Changes>>,
}

impl Stage {
    /// Starts the stage of a run over `connector`, first queueing that connector's records
    /// that are in no unified record yet (stored while resolution was off).
    pub async fn start(
        pipeline: &Pipeline,
        scope: &TenantScope,
        connector: uuid::Uuid,
        trace: &str,
    ) -> AppResult<Self> {
        let resolver = {
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            let resolver = Resolver::load(&tx, &pipeline.settings.records).await?;
            queue::enqueue_unlinked(&tx, connector).await?;
            tx.commit().await?;
            resolver
        };
        // One pending nudge is enough: the stage drains everything queued when it wakes.
        let (nudge, nudged) = mpsc::channel(1);
        let task = tokio::spawn(run(
            pipeline.clone(),
            scope.clone(),
            resolver,
            nudged,
            trace.to_owned(),
        ));
        Ok(Self { nudge, task })
    }

    /// A batch committed records to resolve.
    pub fn nudge(&self) {
        // Full means a nudge is already waiting; closed means the stage failed (its error is
        // reported by `finish`).
        let _ = self.nudge.try_send(());
    }

    /// Stops at once: a transaction under way is rolled back, and what is queued waits for the
    /// tenant's next run.
    pub async fn abandon(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Resolves what is still queued, then stops. Returns everything the stage did.
    pub async fn finish(self) -> AppResult<Changes> {
        drop(self.nudge);
        self.task.await.map_err(AppError::internal)?
    }
}

/// What the stage did, when it next refreshes the planner's statistics, and what it has not
/// learned from yet.
#[derive(Default)]
struct Totals {
    changes: Changes,
    taken: u64,
    next_statistics: u64,
    unlearned: BTreeMap<String, Evidence>,
}

async fn run(
    pipeline: Pipeline,
    scope: TenantScope,
    mut resolver: Resolver,
    mut nudged: mpsc::Receiver<()>,
    trace: String,
) -> AppResult<Changes> {
    // Early, while a first sync's tables still grow fast (their statistics say "empty" until
    // then), and rarer as they grow.
    let mut total = Totals {
        next_statistics: 2 * pipeline.settings.records.batch_size as u64,
        ..Totals::default()
    };
    let mut after = 0;
    loop {
        after = drain(&pipeline, &scope, &mut resolver, &trace, after, &mut total).await?;
        if nudged.recv().await.is_none() {
            // The ingest is over: what its last batches queued, then stop. From the start of
            // the queue: a batch of another run may have committed behind the position.
            drain(&pipeline, &scope, &mut resolver, &trace, 0, &mut total).await?;
            // What is left to learn from serves the next run; a first model re-places what
            // was linked by a score before it.
            let mut requeued = 0;
            for (entity, evidence) in std::mem::take(&mut total.unlearned) {
                requeued += learn_from(&pipeline, &scope, &mut resolver, &entity, evidence).await?;
            }
            if requeued > 0 {
                drain(&pipeline, &scope, &mut resolver, &trace, 0, &mut total).await?;
            }
            return Ok(total.changes);
        }
    }
}

/// Resolves queued records of the tenant after position `after`, a transaction per batch,
/// until none is left. Returns the position reached.
async fn drain(
    pipeline: &Pipeline,
    scope: &TenantScope,
    resolver: &mut Resolver,
    trace: &str,
    mut after: i64,
    total: &mut Totals,
) -> AppResult<i64> {
    let limit = pipeline.settings.records.batch_size;
    loop {
        let tx = ScopedTx::begin(&pipeline.db, scope).await?;
        let (batch, last) = queue::take(&tx, after, limit).await?;
        if batch.is_empty() {
            return Ok(after);
        }
        after = last;
        let mut changes = resolver.resolve_all(&tx, &batch).await?;
        tx.commit().await?;
        live::publish(
            &pipeline.telemetry,
            scope.tenant_id(),
            &changes,
            Some(trace),
        );
        // Subscribers have been told; the run keeps the counts.
        total.changes.linked += changes.linked;
        total.changes.queued_for_review += changes.queued_for_review;
        total.changes.compared += changes.compared;
        total.taken += batch.len() as u64;
        for (entity, evidence) in std::mem::take(&mut changes.evidence) {
            let unlearned = total.unlearned.entry(entity.clone()).or_default();
            unlearned.merge(evidence);
            // Geometrically: a model is re-estimated a few times however large the run.
            if unlearned.total() >= learn::MIN_PAIRS.max(resolver.learned_from(&entity) / 4.0) {
                let evidence = std::mem::take(unlearned);
                // Records queued again are taken by this drain (they queue behind `after`).
                learn_from(pipeline, scope, resolver, &entity, evidence).await?;
            }
        }
        if total.taken >= total.next_statistics {
            // A run this large may have outgrown what the planner knows of the tables. Not
            // redundant with the lookups' shape: without it the keys' DELETE by record id
            // walked the tenant's keys by the primary key (a 100,000-record run: 33 s in it,
            // against 0.4 s, and 5 s of refreshing).
            total.next_statistics *= 4;
            let tx = ScopedTx::begin(&pipeline.db, scope).await?;
            queue::refresh_statistics(&tx).await?;
            tx.commit().await?;
        }
    }
}

/// Adds the evidence to what the tenant's model of `entity` was learned from, re-estimates it,
/// and scores the stage's next batches with it. The entity's first model queues the records
/// linked by a score before it, to be placed again (returns how many).
async fn learn_from(
    pipeline: &Pipeline,
    scope: &TenantScope,
    resolver: &mut Resolver,
    entity: &str,
    evidence: Evidence,
) -> AppResult<u64> {
    if evidence.patterns.is_empty() {
        return Ok(0);
    }
    let first = resolver.learned_from(entity) == 0.0;
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    let model = learn_store::learn(&tx, entity, evidence, PRIOR_WEIGHT).await?;
    let mut requeued = 0;
    if let Some(model) = model {
        if first {
            requeued = queue::enqueue_scored(&tx, entity).await?;
        }
        resolver.set_model(entity, model);
    }
    tx.commit().await?;
    Ok(requeued)
}
