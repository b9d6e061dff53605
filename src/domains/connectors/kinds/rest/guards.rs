//! Per-connector protection of remote APIs, kept for the life of the process so that
//! consecutive runs share it: a token-bucket rate limit and a circuit breaker.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::config::{CircuitBreaker, RateLimit};

pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(limit: &RateLimit) -> Self {
        let burst = f64::from(limit.burst);
        Self {
            rate: limit.requests_per_second,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a request may go.
    pub async fn take(&self) {
        loop {
            let wait = {
                let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let (tokens, last) = &mut *guard;
                let now = Instant::now();
                *tokens =
                    (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
                *last = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - *tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Opens after `failure_threshold` consecutive failed requests; after `reset_after_ms` one
/// trial request goes through (half-open): success closes it, failure opens it again.
pub struct Breaker {
    threshold: u32,
    reset_after: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Default)]
struct BreakerState {
    failures: u32,
    opened_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerView {
    Closed,
    Open,
    HalfOpen,
}

impl Breaker {
    pub fn new(config: &CircuitBreaker) -> Self {
        Self {
            threshold: config.failure_threshold,
            reset_after: Duration::from_millis(config.reset_after_ms),
            state: Mutex::new(BreakerState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn view(&self) -> BreakerView {
        match self.lock().opened_at {
            None => BreakerView::Closed,
            Some(at) if at.elapsed() >= self.reset_after => BreakerView::HalfOpen,
            Some(_) => BreakerView::Open,
        }
    }

    /// Err with the time until the half-open trial when requests must not go.
    pub fn check(&self) -> Result<(), Duration> {
        match self.lock().opened_at {
            Some(at) if at.elapsed() < self.reset_after => Err(self.reset_after - at.elapsed()),
            _ => Ok(()),
        }
    }

    pub fn success(&self) {
        let mut s = self.lock();
        s.failures = 0;
        s.opened_at = None;
    }

    pub fn failure(&self) {
        let mut s = self.lock();
        s.failures += 1;
        if s.failures >= self.threshold {
            s.opened_at = Some(Instant::now());
        }
    }
}

/// A connector's guards and the settings they were made with.
struct ConnectorGuards {
    settings: (CircuitBreaker, Option<RateLimit>),
    breaker: Arc<Breaker>,
    bucket: Option<Arc<TokenBucket>>,
}

/// The guards of each connector, created on first use and replaced when its settings change.
#[derive(Default)]
pub struct Guards {
    by_connector: Mutex<HashMap<Uuid, ConnectorGuards>>,
}

impl Guards {
    pub fn breaker_view(&self, connector: Uuid) -> Option<BreakerView> {
        let map = self.by_connector.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&connector).map(|g| g.breaker.view())
    }

    pub fn for_connector(
        &self,
        connector: Uuid,
        breaker: &CircuitBreaker,
        limit: Option<&RateLimit>,
    ) -> (Arc<Breaker>, Option<Arc<TokenBucket>>) {
        let settings = (breaker.clone(), limit.cloned());
        let mut map = self.by_connector.lock().unwrap_or_else(|p| p.into_inner());
        let guards = match map.get(&connector) {
            Some(g) if g.settings == settings => g,
            _ => {
                map.insert(
                    connector,
                    ConnectorGuards {
                        breaker: Arc::new(Breaker::new(breaker)),
                        bucket: limit.map(|l| Arc::new(TokenBucket::new(l))),
                        settings,
                    },
                );
                &map[&connector]
            }
        };
        (guards.breaker.clone(), guards.bucket.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_half_opens_and_closes() {
        let b = Breaker::new(&CircuitBreaker {
            failure_threshold: 2,
            reset_after_ms: 40,
        });
        b.failure();
        assert_eq!(b.view(), BreakerView::Closed);
        b.failure();
        assert_eq!(b.view(), BreakerView::Open);
        assert!(b.check().is_err());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(b.view(), BreakerView::HalfOpen);
        assert!(b.check().is_ok());
        b.failure();
        assert_eq!(b.view(), BreakerView::Open, "a failed trial opens it again");
        std::thread::sleep(Duration::from_millis(50));
        b.success();
        assert_eq!(b.view(), BreakerView::Closed);
    }

    #[tokio::test]
    async fn the_bucket_allows_a_burst_then_the_rate() {
        let bucket = TokenBucket::new(&RateLimit {
            requests_per_second: 20.0,
            burst: 3,
        });
        let started = Instant::now();
        for _ in 0..5 {
            bucket.take().await;
        }
        // 3 at once, then 2 more at 20/s: at least ~100 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(90),
            "{:?}",
            started.elapsed()
        );
    }
}
