//! The live surface: the `flowEvents`, `syncRunUpdated`, `proposalJobUpdated`,
//! `reviewQueueChanged` and `unifiedRecordsChanged` subscriptions, the `flowEventsSnapshot`
//! query and the `startFlowDemo` mutation.
use async_graphql::{Context, Json, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::Value;
use uuid::Uuid;

use super::event::{kinds, EntryId, FlowEvent, Layer};
use super::live::LiveFeed;
use super::publisher::Telemetry;
use super::reader::{self, FlowReader};
use super::{demo, live};
use crate::domains::auth::model::Role;
use crate::domains::mappings::proposal_jobs_graphql::GqlProposalJob;
use crate::domains::mappings::proposals::job as proposal_job;
use crate::domains::mappings::proposals::{self, ProposalEngine};
use crate::domains::pipeline::graphql::GqlSyncRun;
use crate::domains::pipeline::service::{self as pipeline, Pipeline};
use crate::error::AppError;
use crate::graphql::context::{parse_id, to_id, ContextExt};

#[derive(SimpleObject)]
#[graphql(name = "FlowEvent")]
pub struct GqlFlowEvent {
    /// The stream entry id: pass the last one you saw as `since` to resume.
    pub id: String,
    pub tenant_id: ID,
    pub layer: Layer,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
    pub status: String,
    pub message: String,
    pub data: Json<Value>,
    pub at: DateTime<Utc>,
    pub trace_id: Option<String>,
}

impl From<FlowEvent> for GqlFlowEvent {
    fn from(e: FlowEvent) -> Self {
        Self {
            id: e.id,
            tenant_id: to_id(e.tenant_id),
            layer: e.layer,
            kind: e.kind,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            status: e.status,
            message: e.message,
            data: Json(e.data),
            at: e.at,
            trace_id: e.trace_id,
        }
    }
}

#[derive(SimpleObject)]
pub struct ReviewQueueChange {
    /// ADDED (new proposals to review) or DECIDED (approved / rejected / edited).
    pub change: String,
    pub review_ids: Vec<ID>,
    /// Pending reviews after the change.
    pub pending: u64,
    pub at: DateTime<Utc>,
}

/// A unified record created, updated, merged, split or deleted.
#[derive(SimpleObject)]
pub struct UnifiedRecordChange {
    pub entity: String,
    pub id: ID,
    /// CREATED, UPDATED, MERGED, SPLIT or DELETED.
    pub change: String,
    pub at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct FlowDemo {
    pub events: u64,
    pub until: DateTime<Utc>,
}

fn layers_or_all(layers: Option<Vec<Layer>>) -> Vec<Layer> {
    let mut out: Vec<Layer> = Vec::new();
    for l in layers.unwrap_or_else(|| Layer::ALL.to_vec()) {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

async fn open(
    feed: &LiveFeed,
    tenant: Uuid,
    layers: &[Layer],
    since: Option<EntryId>,
) -> Result<FlowReader, AppError> {
    FlowReader::open(&feed.redis_client, tenant, layers, since, feed.read_count)
        .await
        .map_err(|e| e.into_app_error(None))
}

/// Events of one tenant as a stream of GraphQL results, ending with an error when it must end.
fn events(
    ctx: &Context<'_>,
    feed: &LiveFeed,
    reader: FlowReader,
) -> impl Stream<Item = Result<FlowEvent, AppError>> {
    let control = ctx.data_opt::<live::ConnectionControl>().cloned();
    // Counted while the stream lives: the guard goes when the subscription is dropped.
    let open = OpenSubscription::new(&feed.metrics, ctx.field().name());
    live::follow(reader, feed.max_lag, control).inspect(move |_| {
        let _ = &open;
    })
}

/// Something now, then read again at each event about it (`entity_type`/`id`), ending right
/// after the first finished state (without waiting for another event).
fn until_finished<T, F, Fut>(
    now: T,
    updates: impl Stream<Item = Result<FlowEvent, AppError>> + Send + 'static,
    entity_type: &'static str,
    id: Uuid,
    read: F,
    finished: fn(&T) -> bool,
) -> impl Stream<Item = Result<T, AppError>>
where
    T: Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    let done = finished(&now);
    let key = id.to_string();
    let updates = updates
        .filter(move |r| {
            std::future::ready(match r {
                Err(_) => true,
                Ok(e) => e.entity_type == entity_type && e.entity_id == key,
            })
        })
        .then(move |r| {
            let next = r.map(|_| read());
            async move { next?.await }
        });
    let first = stream::once(std::future::ready(Ok(now)));
    let all = first.chain(if done {
        stream::empty().boxed()
    } else {
        updates.boxed()
    });
    stream::unfold((all, false), move |(mut all, done)| async move {
        if done {
            return None;
        }
        let item = all.next().await?;
        let done = item.as_ref().map_or(true, finished);
        Some((item, (all, done)))
    })
}

/// One open subscription in `subscriptions_active`, for as long as it is held.
struct OpenSubscription(prometheus::IntGauge);

impl OpenSubscription {
    fn new(metrics: &crate::infra::metrics::Metrics, field: &str) -> Self {
        let gauge = metrics.subscriptions.with_label_values(&[field]);
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenSubscription {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[derive(Default)]
pub struct TelemetrySubscription;

#[Subscription]
impl TelemetrySubscription {
    /// Live flow events of the caller's tenant, in order. `since` (an event id) resumes right
    /// after that event with no gap and no duplicate; without it, events from now on.
    async fn flow_events(
        &self,
        ctx: &Context<'_>,
        layers: Option<Vec<Layer>>,
        kinds: Option<Vec<String>>,
        connector_id: Option<ID>,
        since: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<GqlFlowEvent>>> {
        let scope = ctx.scope(Role::Viewer)?;
        let feed = ctx.service::<LiveFeed>()?;
        let since = match since.as_deref() {
            None => None,
            Some(s) => Some(EntryId::parse(s).ok_or_else(|| {
                AppError::bad_field("since", "is not an event id (like 1763850000000-0)")
            })?),
        };
        let connector = match &connector_id {
            Some(id) => Some(parse_id("connectorId", id)?.to_string()),
            None => None,
        };
        let reader = open(feed, scope.tenant_id(), &layers_or_all(layers), since).await?;
        Ok(events(ctx, feed, reader)
            .filter(move |r| {
                let keep = match r {
                    Err(_) => true,
                    Ok(e) => {
                        kinds.as_ref().is_none_or(|k| k.contains(&e.kind))
                            && connector
                                .as_deref()
                                .is_none_or(|c| e.connector_id() == Some(c))
                    }
                };
                std::future::ready(keep)
            })
            .map(|r| r.map(Into::into).map_err(Into::into)))
    }

    /// A sync run now and at each change of its status or counts, until it ends.
    async fn sync_run_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<GqlSyncRun>>> {
        let scope = ctx.scope(Role::Viewer)?;
        let feed = ctx.service::<LiveFeed>()?;
        let runs = ctx.service_arc::<Pipeline>()?;
        let run_id = parse_id("id", &id)?;
        // Open first, then read: a change between the two is still seen.
        let reader = open(feed, scope.tenant_id(), &[Layer::Aam], None).await?;
        let now = pipeline::get(&runs, &scope, run_id).await?;
        let updates = events(ctx, feed, reader);
        let read = move || {
            let (runs, scope) = (runs.clone(), scope.clone());
            async move { pipeline::get(&runs, &scope, run_id).await }
        };
        let ended = until_finished(now, updates, "sync_run", run_id, read, |r| r.is_finished());
        Ok(ended.map(|r| r.map(Into::into).map_err(Into::into)))
    }

    /// A bulk proposal job now and after each chunk it stores, until it ends.
    async fn proposal_job_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<GqlProposalJob>>> {
        let scope = ctx.scope(Role::Viewer)?;
        let feed = ctx.service::<LiveFeed>()?;
        let engine = ctx.service_arc::<ProposalEngine>()?;
        let job_id = parse_id("id", &id)?;
        let reader = open(feed, scope.tenant_id(), &[Layer::Dcl], None).await?;
        let now = proposal_job::get(&engine, &scope, job_id).await?;
        let updates = events(ctx, feed, reader);
        let read = move || {
            let (engine, scope) = (engine.clone(), scope.clone());
            async move { proposal_job::get(&engine, &scope, job_id).await }
        };
        let ended = until_finished(now, updates, "proposal_job", job_id, read, |j| {
            j.is_finished()
        });
        Ok(ended.map(|r| r.map(Into::into).map_err(Into::into)))
    }

    /// Changes to the caller's unified records of an entity, as they commit (a sync's batch, a
    /// review decision, a merge or split, a survivorship rule).
    async fn unified_records_changed(
        &self,
        ctx: &Context<'_>,
        entity: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<UnifiedRecordChange>>> {
        let scope = ctx.scope(Role::Viewer)?;
        let feed = ctx.service::<LiveFeed>()?;
        let reader = open(feed, scope.tenant_id(), &[Layer::Dcl], None).await?;
        Ok(events(ctx, feed, reader)
            .filter(move |r| {
                std::future::ready(match r {
                    Err(_) => true,
                    Ok(e) => {
                        e.kind == kinds::UNIFIED_RECORDS_CHANGED
                            && e.data["entity"] == entity.as_str()
                    }
                })
            })
            .flat_map(|r| {
                let items: Vec<async_graphql::Result<UnifiedRecordChange>> = match r {
                    Err(e) => vec![Err(e.into())],
                    Ok(e) => e.data["changes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            Ok(UnifiedRecordChange {
                                entity: e.data["entity"].as_str().unwrap_or_default().to_owned(),
                                id: ID(c["id"].as_str().unwrap_or_default().to_owned()),
                                change: c["change"].as_str().unwrap_or_default().to_owned(),
                                at: e.at,
                            })
                        })
                        .collect(),
                };
                stream::iter(items)
            }))
    }

    /// Each change of the caller's review queue with the number still pending.
    async fn review_queue_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ReviewQueueChange>>> {
        let scope = ctx.scope(Role::Viewer)?;
        let feed = ctx.service::<LiveFeed>()?;
        let engine = ctx.service_arc::<ProposalEngine>()?;
        let reader = open(feed, scope.tenant_id(), &[Layer::Dcl], None).await?;
        Ok(events(ctx, feed, reader)
            .filter(|r| {
                std::future::ready(match r {
                    Err(_) => true,
                    Ok(e) => e.kind == kinds::REVIEW_QUEUE_CHANGED,
                })
            })
            .then(move |r| {
                let (engine, scope) = (engine.clone(), scope.clone());
                async move {
                    let e = r?;
                    let pending = proposals::pending_reviews(&engine, &scope).await?;
                    let review_ids = e.data["reviewIds"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(|s| ID(s.to_owned()))
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok::<_, AppError>(ReviewQueueChange {
                        change: e.status,
                        review_ids,
                        pending,
                        at: e.at,
                    })
                }
            })
            .map(|r| r.map_err(Into::into)))
    }
}

#[derive(Default)]
pub struct TelemetryQuery;

#[Object]
impl TelemetryQuery {
    /// The newest events of the caller's tenant, newest first (at most 500).
    async fn flow_events_snapshot(
        &self,
        ctx: &Context<'_>,
        layers: Option<Vec<Layer>>,
        #[graphql(default = 50)] first: i32,
    ) -> async_graphql::Result<Vec<GqlFlowEvent>> {
        let scope = ctx.scope(Role::Viewer)?;
        let feed = ctx.service::<LiveFeed>()?;
        if !(1..=500).contains(&first) {
            return Err(AppError::bad_field("first", "must be between 1 and 500").into());
        }
        let events = reader::snapshot(
            &feed.redis,
            scope.tenant_id(),
            &layers_or_all(layers),
            first as usize,
        )
        .await
        .map_err(|e| e.into_app_error(None))?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct TelemetryMutation;

#[Object]
impl TelemetryMutation {
    /// Publishes synthetic events on all three layers for the caller's tenant: `rate` per
    /// second (1–5,000) for `seconds` (1–600). For demos and UI tests; admins only.
    async fn start_flow_demo(
        &self,
        ctx: &Context<'_>,
        rate: i32,
        seconds: i32,
    ) -> async_graphql::Result<FlowDemo> {
        let scope = ctx.scope(Role::Admin)?;
        let telemetry = ctx.service::<Telemetry>()?;
        if !(1..=5_000).contains(&rate) {
            return Err(AppError::bad_field("rate", "must be between 1 and 5000").into());
        }
        if !(1..=600).contains(&seconds) {
            return Err(AppError::bad_field("seconds", "must be between 1 and 600").into());
        }
        let (events, until) =
            demo::start(telemetry, scope.tenant_id(), rate as u32, seconds as u32);
        Ok(FlowDemo { events, until })
    }
}
