//! Prometheus metrics, served at `/metrics` in the text format.
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The flow-event publisher's running totals, brought into the exposition at each scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CounterValues {
    pub published: u64,
    pub dropped: u64,
    pub failed_attempts: u64,
}

pub struct Metrics {
    registry: Registry,
    /// GraphQL requests over HTTP by operation name, kind and outcome.
    pub request_seconds: HistogramVec,
    /// Open WebSocket connections (each may carry several subscriptions).
    pub websocket_connections: IntGauge,
    /// Source records through sync runs.
    pub sync_records: IntCounter,
    /// Proposal outcomes per field (AUTO_APPLIED / NEEDS_REVIEW / UNMAPPED) and method (EXACT /
    /// RAG / LLM / NONE): the RAG hit rate and the LLM share.
    pub proposals: IntCounterVec,
    /// Pending reviews across tenants, refreshed at each scrape.
    pub review_queue: IntGauge,
    /// Open subscriptions by field (a WebSocket may carry several).
    pub subscriptions: IntGaugeVec,
    /// Requests refused by a rate limit, by budget.
    pub rate_limited: IntCounterVec,
    telemetry_events: IntCounterVec,
    /// Operation names seen so far; past `MAX_OPERATIONS` new names count as "other".
    operations: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Distinct operation labels kept (client-chosen names must not grow series without bound).
const MAX_OPERATIONS: usize = 200;

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("autonomos".into()), None)?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_seconds",
                "GraphQL request latency over HTTP",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["operation", "kind", "outcome"],
        )?;
        let websocket_connections = IntGauge::new(
            "websocket_connections",
            "Open GraphQL WebSocket connections",
        )?;
        let sync_records =
            IntCounter::new("sync_records_total", "Source records read by sync runs")?;
        let proposals = IntCounterVec::new(
            Opts::new(
                "proposals_total",
                "Proposed fields by outcome and by the evidence that decided them (EXACT, RAG, LLM, NONE)",
            ),
            &["status", "method"],
        )?;
        let review_queue = IntGauge::new(
            "review_queue_pending",
            "Proposals waiting for review, all tenants",
        )?;
        let subscriptions = IntGaugeVec::new(
            Opts::new(
                "subscriptions_active",
                "Open GraphQL subscriptions by field",
            ),
            &["field"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new("rate_limited_total", "Requests refused by a rate limit"),
            &["budget"],
        )?;
        let telemetry_events = IntCounterVec::new(
            Opts::new(
                "telemetry_events_total",
                "Flow events by what became of them",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(request_seconds.clone()))?;
        registry.register(Box::new(websocket_connections.clone()))?;
        registry.register(Box::new(sync_records.clone()))?;
        registry.register(Box::new(proposals.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(telemetry_events.clone()))?;
        registry.register(Box::new(review_queue.clone()))?;
        registry.register(Box::new(subscriptions.clone()))?;
        Ok(Self {
            registry,
            request_seconds,
            websocket_connections,
            sync_records,
            proposals,
            rate_limited,
            telemetry_events,
            review_queue,
            subscriptions,
            operations: Default::default(),
        })
    }

    /// The label for a request's operation name.
    pub fn operation(&self, name: Option<&str>) -> String {
        let label = operation_label(name);
        if label == "unnamed" || label == "invalid" {
            return label.to_owned();
        }
        let Ok(mut seen) = self.operations.lock() else {
            return "other".to_owned();
        };
        if seen.contains(label) || seen.len() < MAX_OPERATIONS {
            seen.insert(label.to_owned());
            label.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// The text exposition, with the telemetry publisher's counters brought up to date.
    pub fn render(&self, telemetry: CounterValues) -> String {
        for (outcome, now) in [
            ("published", telemetry.published),
            ("dropped", telemetry.dropped),
            ("failed_attempts", telemetry.failed_attempts),
        ] {
            let c = self.telemetry_events.with_label_values(&[outcome]);
            c.inc_by(now.saturating_sub(c.get()));
        }
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// A label value from a client-chosen operation name (its shape; `Metrics::operation` bounds
/// how many there are).
fn operation_label(name: Option<&str>) -> &str {
    match name {
        Some(n)
            if !n.is_empty()
                && n.len() <= 64
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            n
        }
        Some(_) => "invalid",
        None => "unnamed",
    }
}
