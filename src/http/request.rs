//! Reading what the GraphQL layer needs from an HTTP request.
use actix_web::HttpRequest;

use crate::domains::auth::scope::RequestMeta;

/// The request's trace id: the exported trace's when OpenTelemetry is on (so logs, audit rows
/// and flow events name the trace a collector shows), else the W3C `traceparent`'s
/// (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`), else a fresh one.
pub fn trace_id(req: &HttpRequest) -> String {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let otel = tracing::Span::current().context();
    let span = otel.span();
    let context = span.span_context();
    if context.is_valid() {
        return context.trace_id().to_string();
    }
    req.headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_traceparent)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

fn parse_traceparent(value: &str) -> Option<String> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2)
        && hex(trace, 32)
        && hex(span, 16)
        && hex(flags, 2)
        && trace != "0".repeat(32);
    valid.then(|| trace.to_ascii_lowercase())
}

/// The body length the client declared (`Content-Length`), if any.
pub fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

pub fn meta(req: &HttpRequest, trace_id: String) -> RequestMeta {
    RequestMeta {
        trace_id: Some(trace_id),
        ip: req
            .connection_info()
            .realip_remote_addr()
            .map(str::to_owned),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    }
}

/// The credential sent with `Authorization: Bearer …`, if any.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

pub fn api_key_header(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::parse_traceparent;

    #[test]
    fn traceparent_is_parsed_strictly() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            parse_traceparent(ok).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(parse_traceparent("00-xyz-00f067aa0ba902b7-01"), None);
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
    }
}
