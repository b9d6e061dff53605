//! Logging and tracing, set up once per process. Named so it does not collide with the
//! product's flow telemetry. With `otel.endpoint` set, spans are also exported over OTLP/HTTP
//! (protobuf) and an incoming W3C `traceparent` becomes their parent.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::OtelSettings;

/// Flushes and stops the span exporter when dropped (at the end of `main`).
#[must_use]
pub struct Guard(Option<SdkTracerProvider>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("flushing traces failed: {e}");
            }
        }
    }
}

fn provider(otel: &OtelSettings) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = format!("{}/v1/traces", otel.endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_timeout(std::time::Duration::from_millis(otel.timeout_ms))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(otel.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            otel.sample_ratio.clamp(0.0, 1.0),
        ))))
        .with_resource(resource)
        .build())
}

/// `RUST_LOG` filters (default `default_filter`); `AUTONOMOS_LOG_FORMAT=json` for structured
/// logs; `otel` (when its endpoint is set) exports spans.
pub fn init(default_filter: &str, otel: Option<&OtelSettings>) -> anyhow::Result<Guard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("AUTONOMOS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let provider = match otel.filter(|o| !o.endpoint.trim().is_empty()) {
        Some(o) => Some(provider(o)?),
        None => None,
    };
    let otel_layer = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer().with_tracer(p.tracer("autonomos"))
    });
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(json.then(|| fmt::layer().json()))
        .with((!json).then(fmt::layer))
        .with(otel_layer)
        .try_init();
    // A second init (tests) is harmless.
    let _ = result;
    Ok(Guard(provider))
}
