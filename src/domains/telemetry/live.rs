//! Following a reader as a subscription: bounded buffering and the slow-subscriber rule.
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, Stream};
use tokio::sync::mpsc;

use super::event::{EntryId, FlowEvent};
use super::reader::FlowReader;
use crate::error::{AppError, ErrorCode};

/// What live subscriptions read from, built once at start-up: the client each subscription
/// opens its own blocking connection with (XREAD BLOCK), the read size, the slow-subscriber
/// limit, and the gauge of open subscriptions.
pub struct LiveFeed {
    pub redis_client: redis::Client,
    pub redis: crate::infra::redis::Redis,
    pub read_count: usize,
    pub max_lag: Duration,
    pub metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
}

/// WebSocket close code for a subscriber that fell behind (4000–4999: application codes).
pub const SLOW_CONSUMER_CLOSE: u16 = 4008;

/// Lets a subscription close its WebSocket connection with a code and a reason.
#[derive(Clone)]
pub struct ConnectionControl {
    close: mpsc::Sender<(u16, String)>,
}

impl ConnectionControl {
    pub fn new() -> (Self, mpsc::Receiver<(u16, String)>) {
        let (close, rx) = mpsc::channel(1);
        (Self { close }, rx)
    }

    pub fn close(&self, code: u16, reason: String) {
        let _ = self.close.try_send((code, reason));
    }
}

struct Following {
    reader: FlowReader,
    buffer: VecDeque<FlowEvent>,
    /// Set once a read came back short of a full batch: the subscriber has been at the head.
    caught_up: bool,
    last_id: Option<String>,
    ended: bool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The reader's events one by one. Memory is bounded by one read (`read_count` events): nothing
/// is read until the previous events were taken, and the WebSocket only takes what its
/// (bounded) send queue accepts. A subscriber that has been at the head and then falls more
/// than `max_lag` behind gets a SLOW_CONSUMER error and its connection is closed with code 4008
/// and the id to resume from; a subscriber catching up from an old `since` is not held to it.
pub fn follow(
    reader: FlowReader,
    max_lag: Duration,
    control: Option<ConnectionControl>,
) -> impl Stream<Item = Result<FlowEvent, AppError>> {
    let state = Following {
        reader,
        buffer: VecDeque::new(),
        caught_up: false,
        last_id: None,
        ended: false,
    };
    stream::unfold(state, move |mut s| {
        let control = control.clone();
        async move {
            if s.ended {
                return None;
            }
            loop {
                if let Some(event) = s.buffer.pop_front() {
                    let appended = EntryId::parse(&event.id).map_or(0, |id| id.ms);
                    let behind = Duration::from_millis(now_ms().saturating_sub(appended));
                    if s.caught_up && behind > max_lag {
                        s.ended = true;
                        let resume = s.last_id.clone().unwrap_or_default();
                        let reason = format!(
                            "slow consumer: {} s behind; resume with since={resume}",
                            behind.as_secs()
                        );
                        if let Some(c) = &control {
                            c.close(SLOW_CONSUMER_CLOSE, reason.clone());
                        }
                        return Some((Err(AppError::Coded(ErrorCode::SlowConsumer, reason)), s));
                    }
                    s.last_id = Some(event.id.clone());
                    return Some((Ok(event), s));
                }
                match s.reader.next_batch().await {
                    Ok(batch) => {
                        s.caught_up = s.caught_up || s.reader.at_head();
                        s.buffer.extend(batch);
                    }
                    Err(e) => {
                        s.ended = true;
                        let resume = s.last_id.clone().unwrap_or_default();
                        return Some((Err(e.into_app_error(Some(&resume))), s));
                    }
                }
            }
        }
    })
}
