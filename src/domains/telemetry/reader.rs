//! Reading a tenant's flow streams: one Redis connection per subscription, XREAD BLOCK over
//! the layers asked for, events handed out in entry-id order with no gap and no duplicate.
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, AsyncConnectionConfig};
use uuid::Uuid;

use super::event::{EntryId, FlowEvent, Layer};
use super::publisher::clock_key;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Events after `since` have been trimmed from the stream: resuming would leave a gap.
    #[error("events after {since} are no longer kept (the {layer:?} stream was trimmed past it)")]
    Expired { since: EntryId, layer: Layer },
}

impl ReadError {
    /// The client's view: SINCE_EXPIRED, or UNAVAILABLE saying where to resume once Redis is
    /// back (`resume`: the last event delivered, when a subscription was running).
    pub fn into_app_error(self, resume: Option<&str>) -> AppError {
        match self {
            Self::Expired { .. } => AppError::Coded(ErrorCode::SinceExpired, self.to_string()),
            Self::Redis(e) => {
                tracing::warn!(error = %e, "live events: redis unavailable");
                let message = match resume {
                    Some(id) => format!("live events interrupted; resubscribe with since={id}"),
                    None => "live events are unavailable right now; try again".to_owned(),
                };
                AppError::Coded(ErrorCode::Unavailable, message)
            }
        }
    }
}

pub struct FlowReader {
    conn: MultiplexedConnection,
    keys: Vec<String>,
    positions: Vec<EntryId>,
    count: usize,
    block_ms: usize,
    at_head: bool,
}

impl FlowReader {
    /// Opens a reader after `since` (exclusive), or after the newest event when `since` is None.
    pub async fn open(
        client: &redis::Client,
        tenant: Uuid,
        layers: &[Layer],
        since: Option<EntryId>,
        count: usize,
    ) -> Result<Self, ReadError> {
        let block_ms = 5_000;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(5))
            .set_response_timeout(Duration::from_millis(block_ms as u64 + 5_000));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let keys: Vec<String> = layers.iter().map(|l| l.stream(tenant)).collect();
        let start = match since {
            Some(since) => {
                for (layer, key) in layers.iter().zip(&keys) {
                    if trimmed_past(&mut conn, key).await? > since {
                        return Err(ReadError::Expired {
                            since,
                            layer: *layer,
                        });
                    }
                }
                since
            }
            None => {
                let clock: Option<String> = conn.get(clock_key(tenant)).await?;
                clock
                    .as_deref()
                    .and_then(EntryId::parse)
                    .unwrap_or(EntryId::ZERO)
            }
        };
        Ok(Self {
            conn,
            positions: vec![start; keys.len()],
            keys,
            count: count.max(1),
            block_ms,
            // Read what is already there before waiting for more.
            at_head: false,
        })
    }

    /// The next events in id order; empty when nothing came within the block time.
    ///
    /// Each stream is read from its own position. When a stream returns a full `count` (more may
    /// be waiting), only events up to the smallest such stream's last id are handed out: a later
    /// read cannot then produce an event older than one already delivered.
    pub async fn next_batch(&mut self) -> Result<Vec<FlowEvent>, ReadError> {
        let ids: Vec<String> = self.positions.iter().map(ToString::to_string).collect();
        if self.at_head {
            // Wait for news. A blocked XREAD is woken by the first stream that gets an entry and
            // answers with that stream alone, so it only signals; the read below then takes all
            // streams in one command, a consistent cut under the tenant's single clock.
            let wait = StreamReadOptions::default().count(1).block(self.block_ms);
            let woke: Option<StreamReadReply> =
                self.conn.xread_options(&self.keys, &ids, &wait).await?;
            if woke.is_none() {
                return Ok(Vec::new());
            }
        }
        let options = StreamReadOptions::default().count(self.count);
        let reply: Option<StreamReadReply> =
            self.conn.xread_options(&self.keys, &ids, &options).await?;
        let Some(reply) = reply else {
            self.at_head = true;
            return Ok(Vec::new());
        };
        let mut cutoff: Option<EntryId> = None;
        let mut events: Vec<(usize, EntryId, Option<FlowEvent>)> = Vec::new();
        for stream in reply.keys {
            let Some(index) = self.keys.iter().position(|k| *k == stream.key) else {
                continue;
            };
            let full = stream.ids.len() >= self.count;
            let mut last = None;
            for entry in stream.ids {
                let Some(id) = EntryId::parse(&entry.id) else {
                    continue;
                };
                last = Some(id);
                // Unreadable entries are skipped, but the position still moves past them.
                events.push((index, id, decode(&entry.id, entry.map.get("e"))));
            }
            if let (true, Some(last)) = (full, last) {
                cutoff = Some(cutoff.map_or(last, |c| c.min(last)));
            }
        }
        self.at_head = cutoff.is_none();
        events.sort_by_key(|(_, id, _)| *id);
        let mut out = Vec::with_capacity(events.len());
        for (index, id, event) in events {
            if cutoff.is_some_and(|c| id > c) {
                continue;
            }
            self.positions[index] = self.positions[index].max(id);
            out.extend(event);
        }
        Ok(out)
    }

    /// Whether the last read reached the end of every stream (nothing more was waiting).
    pub fn at_head(&self) -> bool {
        self.at_head
    }
}

fn decode(id: &str, value: Option<&redis::Value>) -> Option<FlowEvent> {
    let bytes = match value? {
        redis::Value::BulkString(b) => b.as_slice(),
        redis::Value::SimpleString(s) => s.as_bytes(),
        _ => return None,
    };
    let mut event: FlowEvent = serde_json::from_slice(bytes).ok()?;
    event.id = id.to_owned();
    Some(event)
}

/// The highest id trimmed from a stream (`max-deleted-entry-id`; 0-0 when none or no stream).
async fn trimmed_past(conn: &mut MultiplexedConnection, key: &str) -> Result<EntryId, ReadError> {
    let info: redis::Value = match redis::cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .query_async(conn)
        .await
    {
        Ok(v) => v,
        // No such stream yet: nothing was ever trimmed.
        Err(e) if e.kind() == redis::ErrorKind::ResponseError => return Ok(EntryId::ZERO),
        Err(e) => return Err(e.into()),
    };
    let pairs: Vec<(redis::Value, redis::Value)> = match info {
        redis::Value::Map(m) => m,
        redis::Value::Array(items) => items
            .chunks(2)
            .filter_map(|c| match c {
                [k, v] => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for (k, v) in pairs {
        let key: Option<String> = redis::from_redis_value(&k).ok();
        if key.as_deref() == Some("max-deleted-entry-id") {
            let id: Option<String> = redis::from_redis_value(&v).ok();
            return Ok(id
                .as_deref()
                .and_then(EntryId::parse)
                .unwrap_or(EntryId::ZERO));
        }
    }
    Ok(EntryId::ZERO)
}

/// Newest events first across the layers (XREVRANGE on each stream, merged).
pub async fn snapshot(
    redis: &crate::infra::redis::Redis,
    tenant: Uuid,
    layers: &[Layer],
    first: usize,
) -> Result<Vec<FlowEvent>, ReadError> {
    let mut conn = redis.clone();
    let mut events = Vec::new();
    for layer in layers {
        let reply: StreamRangeReply = conn
            .xrevrange_count(layer.stream(tenant), "+", "-", first)
            .await?;
        events.extend(
            reply
                .ids
                .iter()
                .filter_map(|e| decode(&e.id, e.map.get("e"))),
        );
    }
    events.sort_by_key(|e| std::cmp::Reverse(EntryId::parse(&e.id)));
    events.truncate(first);
    Ok(events)
}
