//! Publishing flow events. `publish` never waits and never fails the work that calls it: events
//! go into a bounded buffer that one background task appends to Redis in batches, retrying
//! with backoff while Redis is away; when the buffer is full new events are dropped and counted.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use super::event::{Draft, FlowEvent, Layer};
use crate::config::TelemetrySettings;
use crate::infra::redis::Redis;

/// Appends a batch of one tenant's events under one clock, so that entry ids are unique and
/// ordered across the tenant's streams: an event appended after another always has a larger
/// id, whichever stream it is in (what makes `since` resume gap-free over several layers).
/// KEYS[1] the tenant's clock, KEYS[2..] one stream per event; ARGV[1] MAXLEN, ARGV[2..] events.
const APPEND: &str = r"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[1])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if ms <= lms then ms = lms; seq = tonumber(lseq) + 1 end
end
local ids = {}
for i = 2, #KEYS do
  local id = string.format('%.0f-%.0f', ms, seq)
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], id, 'e', ARGV[i])
  ids[#ids + 1] = id
  seq = seq + 1
end
redis.call('SET', KEYS[1], string.format('%.0f-%.0f', ms, seq - 1))
return ids
";

/// The key holding a tenant's last entry id.
pub fn clock_key(tenant: Uuid) -> String {
    format!("flow:clock:{tenant}")
}

/// What the publisher has done since the process started.
#[derive(Debug, Default)]
pub struct Counters {
    pub published: AtomicU64,
    pub dropped: AtomicU64,
    pub failed_attempts: AtomicU64,
}

pub use crate::infra::metrics::CounterValues;

#[derive(Clone)]
pub struct Telemetry {
    tx: mpsc::Sender<FlowEvent>,
    counters: Arc<Counters>,
}

impl Telemetry {
    /// Starts the background appender on the current runtime.
    pub fn start(redis: Redis, settings: &TelemetrySettings) -> Self {
        let (tx, rx) = mpsc::channel(settings.buffer.max(1));
        let counters = Arc::new(Counters::default());
        tokio::spawn(append_loop(
            redis,
            rx,
            counters.clone(),
            settings.batch.max(1),
            settings.stream_max_len.max(1),
        ));
        Self { tx, counters }
    }

    /// A publisher that can only speak for `layer`.
    pub fn layer(&self, layer: Layer) -> LayerPublisher {
        LayerPublisher {
            layer,
            telemetry: self.clone(),
        }
    }

    pub fn counters(&self) -> CounterValues {
        CounterValues {
            published: self.counters.published.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed_attempts: self.counters.failed_attempts.load(Ordering::Relaxed),
        }
    }
}

/// One layer's voice: its events carry its layer and go to its stream.
#[derive(Clone)]
pub struct LayerPublisher {
    layer: Layer,
    telemetry: Telemetry,
}

impl LayerPublisher {
    pub fn publish(&self, tenant: Uuid, draft: Draft) {
        let event = FlowEvent {
            id: String::new(),
            tenant_id: tenant,
            layer: self.layer,
            kind: draft.kind.to_owned(),
            entity_type: draft.entity_type.to_owned(),
            entity_id: draft.entity_id,
            status: draft.status,
            message: draft.message,
            data: draft.data,
            at: chrono::Utc::now(),
            trace_id: draft.trace_id,
        };
        if self.telemetry.tx.try_send(event).is_err() {
            self.telemetry
                .counters
                .dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn append_loop(
    redis: Redis,
    mut rx: mpsc::Receiver<FlowEvent>,
    counters: Arc<Counters>,
    batch: usize,
    max_len: usize,
) {
    let script = redis::Script::new(APPEND);
    let mut pending: Vec<FlowEvent> = Vec::with_capacity(batch);
    loop {
        if rx.recv_many(&mut pending, batch).await == 0 {
            return; // every publisher is gone
        }
        let mut backoff = Duration::from_millis(50);
        // The batch is kept until it is appended; meanwhile the bounded buffer fills and
        // overflow is dropped (counted), so a Redis outage costs memory of one buffer at most.
        loop {
            let before = pending.len();
            let result = append(&redis, &script, &mut pending, max_len).await;
            counters
                .published
                .fetch_add((before - pending.len()) as u64, Ordering::Relaxed);
            match result {
                Ok(()) => break,
                Err(e) => {
                    counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, events = pending.len(), "telemetry: append failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Appends the events tenant by tenant; what was appended leaves `events`, so a retry after a
/// failure does not append anything twice.
async fn append(
    redis: &Redis,
    script: &redis::Script,
    events: &mut Vec<FlowEvent>,
    max_len: usize,
) -> redis::RedisResult<()> {
    let mut by_tenant: HashMap<Uuid, Vec<FlowEvent>> = HashMap::new();
    for e in events.drain(..) {
        by_tenant.entry(e.tenant_id).or_default().push(e);
    }
    let mut conn = redis.clone();
    let mut failure = None;
    for (tenant, batch) in by_tenant {
        if failure.is_some() {
            events.extend(batch);
            continue;
        }
        let mut call = script.key(clock_key(tenant));
        for e in &batch {
            call.key(e.layer.stream(tenant));
        }
        call.arg(max_len);
        for e in &batch {
            call.arg(serde_json::to_string(e).unwrap_or_default());
        }
        if let Err(e) = call.invoke_async::<Vec<String>>(&mut conn).await {
            failure = Some(e);
            events.extend(batch);
        }
    }
    failure.map_or(Ok(()), Err)
}
