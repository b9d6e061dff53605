//! `/graphql`: POST for queries and mutations, GET for GraphiQL, and the
//! graphql-transport-ws WebSocket upgrade (also at `/graphql/ws`).
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql::BatchRequest;
use serde_json::json;

use super::document::DocumentLimits;
use super::{limits, persisted, request};
use crate::domains::auth::model::Authentication;
use crate::domains::auth::service::{self as auth, AuthService};
use crate::error::ErrorCode;
use crate::graphql::context::RequestContext;
use crate::graphql::schema::AppSchema;
use crate::state::AppState;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most operations in one batched request.
const MAX_BATCH: usize = 20;

/// A response holding one error, with the HTTP status the error table gives its code.
pub(super) fn error_response(code: ErrorCode, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code.http_status())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    error_with_status(status, code, message)
}

/// The same with a status of the protocol's own (405, 422) where the table's would mislead.
pub(super) fn error_with_status(
    status: actix_web::http::StatusCode,
    code: ErrorCode,
    message: &str,
) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    }))
}

/// Reads the body up to `MAX_BODY_BYTES`; `None` when it is larger.
async fn read_body(
    mut payload: web::Payload,
) -> Result<Option<web::BytesMut>, actix_web::error::PayloadError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A JSON object is one operation, a JSON array a batch. (async-graphql's own untagged parse
/// would read `[]` as an empty single request.)
fn parse_body(body: &[u8]) -> Result<BatchRequest, String> {
    let not_graphql = |e: serde_json::Error| format!("request body is not a GraphQL request: {e}");
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => serde_json::from_slice::<async_graphql::Request>(body)
            .map(BatchRequest::Single)
            .map_err(not_graphql),
        Some(b'[') => {
            let items: Vec<async_graphql::Request> =
                serde_json::from_slice(body).map_err(not_graphql)?;
            if items.is_empty() || items.len() > MAX_BATCH {
                return Err(format!("a batch must hold 1 to {MAX_BATCH} operations"));
            }
            Ok(BatchRequest::Batch(items))
        }
        _ => Err("request body must be a JSON object (or an array of them for a batch)".to_owned()),
    }
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    auth_service: web::Data<AuthService>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let trace_id = request::trace_id(&req);
    let too_large = || {
        error_response(
            ErrorCode::PayloadTooLarge,
            &format!("request body exceeds {MAX_BODY_BYTES} bytes"),
        )
    };
    if request::declared_length(&req).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let body = match read_body(payload).await {
        Ok(Some(body)) => body,
        Ok(None) => return too_large(),
        Err(e) => {
            return error_response(
                ErrorCode::BadRequest,
                &format!("cannot read request body: {e}"),
            )
        }
    };
    let mut batch = match parse_body(&body) {
        Ok(batch) => batch,
        Err(message) => return error_response(ErrorCode::BadRequest, &message),
    };
    let pq_ttl = std::time::Duration::from_secs(state.settings.graphql.persisted_query_ttl_secs);
    if let Err(refused) = persisted::resolve(&state.redis, &mut batch, pq_ttl).await {
        return error_response(refused.code, &refused.message);
    }
    // Priced before anything else is done for it (no fragment is expanded to price it).
    let shape = limits::shape(
        &batch,
        &DocumentLimits::from_settings(&state.settings.graphql),
    );
    if let Some(err) = shape.refusal(state.settings.graphql.max_aliases) {
        return HttpResponse::Ok()
            .insert_header(("x-trace-id", trace_id))
            .json(limits::refused(err));
    }
    let authentication = auth::authenticate(
        &auth_service,
        request::bearer(&req).as_deref(),
        request::api_key_header(&req).as_deref(),
    )
    .await;
    let write = shape.mutation;
    let tenant = match &authentication {
        Authentication::Authenticated(p) => Some(p.tenant_id),
        _ => None,
    };
    if let Some(wait) = over_limit(&req, &state, tenant, write, batch.iter().count()).await {
        return rate_limited(wait, &trace_id);
    }
    // Idempotency keys make retried mutations safe: the first response is kept and replayed.
    let idempotency = match (tenant, write, req.headers().get("idempotency-key")) {
        (Some(tenant), true, Some(value)) => match value.to_str() {
            Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
                Some((tenant, k.to_owned(), limits::body_hash(&body)))
            }
            _ => {
                return error_response(
                    ErrorCode::BadRequest,
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                )
            }
        },
        _ => None,
    };
    if let Some((tenant, key, hash)) = &idempotency {
        match limits::claim(&state.redis, *tenant, key, hash).await {
            limits::Claim::Fresh | limits::Claim::Unavailable => {}
            limits::Claim::Replay(stored) => {
                return HttpResponse::Ok()
                    .insert_header(("x-trace-id", trace_id))
                    .insert_header(("idempotency-replayed", "true"))
                    .content_type("application/json")
                    .body(stored)
            }
            limits::Claim::InFlight => {
                return error_response(
                    ErrorCode::Conflict,
                    "a request with this Idempotency-Key is still running; retry later",
                )
            }
            limits::Claim::Mismatch => {
                return error_with_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::Conflict,
                    "this Idempotency-Key was used for a different request",
                )
            }
        }
    }
    let context = RequestContext {
        auth: authentication,
        meta: request::meta(&req, trace_id.clone()),
    };
    let operation = state.metrics.operation(shape.operation.as_deref());
    let batch = batch.data(context);
    let started = std::time::Instant::now();
    let timeout = std::time::Duration::from_secs(state.settings.graphql.timeout_secs.max(1));
    let Ok(response) = tokio::time::timeout(timeout, schema.execute_batch(batch)).await else {
        // Dropping the execution rolls back its transactions.
        if let Some((tenant, key, hash)) = &idempotency {
            limits::finish(&state.redis, *tenant, key, hash, None, timeout).await;
        }
        return HttpResponse::Ok()
            .insert_header(("x-trace-id", trace_id))
            .json(json!({ "errors": [{
                "message": format!("the request ran longer than {} s and was stopped", timeout.as_secs()),
                "extensions": { "code": ErrorCode::Timeout.as_str() } }] }));
    };
    state
        .metrics
        .request_seconds
        .with_label_values(&[
            operation.as_str(),
            if write { "mutation" } else { "query" },
            if response.is_ok() { "ok" } else { "error" },
        ])
        .observe(started.elapsed().as_secs_f64());
    let body = serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned());
    if let Some((tenant, key, hash)) = &idempotency {
        // Internal failures are not replayed: a retry should run again.
        let responses: Vec<&async_graphql::Response> = match &response {
            async_graphql::BatchResponse::Single(r) => vec![r],
            async_graphql::BatchResponse::Batch(rs) => rs.iter().collect(),
        };
        let keep = !responses.iter().flat_map(|r| &r.errors).any(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code"));
            [ErrorCode::Internal, ErrorCode::Unavailable]
                .iter()
                .any(|c| code == Some(&async_graphql::Value::from(c.as_str())))
        });
        let ttl = std::time::Duration::from_secs(state.settings.limits.idempotency_ttl_secs);
        limits::finish(
            &state.redis,
            *tenant,
            key,
            hash,
            keep.then_some(body.as_str()),
            ttl,
        )
        .await;
    }
    let mut http = HttpResponse::Ok();
    http.insert_header(("x-trace-id", trace_id));
    if let Some(cache) = response.cache_control().value() {
        if response.is_ok() {
            http.insert_header((header::CACHE_CONTROL, cache));
        }
    }
    http.content_type("application/json").body(body)
}

/// HTTP 429 with `Retry-After` and the RATE_LIMITED error.
pub(super) fn rate_limited(wait: std::time::Duration, trace_id: &str) -> HttpResponse {
    let (secs, err) = limits::rate_limited_error(wait);
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, secs.to_string()))
        .insert_header(("x-trace-id", trace_id.to_owned()))
        .json(json!({ "errors": [err] }))
}

/// How long to wait when the caller's budget is spent: writes and reads per tenant, and per
/// IP address before authentication (sign-up, login). `cost` is the number of operations.
pub(super) async fn over_limit(
    req: &HttpRequest,
    state: &AppState,
    tenant: Option<uuid::Uuid>,
    write: bool,
    cost: usize,
) -> Option<std::time::Duration> {
    let peer = req
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    charge(state, tenant, &peer, write, cost).await
}

/// Takes `cost` operations from the tenant's budget (or the peer's, before authentication);
/// the wait when it is spent. Shared by HTTP and the WebSocket.
pub(super) async fn charge(
    state: &AppState,
    tenant: Option<uuid::Uuid>,
    peer: &str,
    write: bool,
    cost: usize,
) -> Option<std::time::Duration> {
    let l = &state.settings.limits;
    let (budget, who, per_minute) = match tenant {
        Some(t) if write => (limits::Budget::Write, t.to_string(), l.writes_per_minute),
        Some(t) => (limits::Budget::Read, t.to_string(), l.reads_per_minute),
        None => (
            limits::Budget::Anonymous,
            peer.to_owned(),
            l.anonymous_per_minute,
        ),
    };
    let wait = limits::take(
        &state.redis,
        &limits::bucket(budget, &who, per_minute),
        per_minute,
        cost as u32,
    )
    .await
    .err();
    if wait.is_some() {
        let label = match budget {
            limits::Budget::Write => "write",
            limits::Budget::Read => "read",
            limits::Budget::Anonymous => "anonymous",
        };
        state.metrics.rate_limited.with_label_values(&[label]).inc();
    }
    wait
}

/// GraphiQL for browsers; a WebSocket upgrade when asked for one.
pub async fn get(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    auth_service: web::Data<AuthService>,
) -> actix_web::Result<HttpResponse> {
    if is_websocket_upgrade(&req) {
        return ws(req, payload, schema, state, auth_service).await;
    }
    if !state.settings.server.graphiql {
        return Ok(error_with_status(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadRequest,
            "use POST for GraphQL requests",
        ));
    }
    let page = GraphiQLSource::build()
        .endpoint("/graphql")
        .subscription_endpoint("/graphql")
        .finish()
        .replacen(
            r#"<div id="graphiql">Loading...</div>"#,
            GRAPHIQL_PLACEHOLDER,
            1,
        );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // GraphiQL's scripts and styles come from unpkg.com and it writes inline script.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self' https://unpkg.com 'unsafe-inline' 'unsafe-eval'; img-src * data:; \
             connect-src 'self' ws: wss:; frame-ancestors 'none'",
        ))
        .body(page))
}

/// GraphiQL's scripts come from a public CDN and replace this when they load; without them the
/// page would say only "Loading...", so it says what is going on.
const GRAPHIQL_PLACEHOLDER: &str = r#"<div id="graphiql"><div style="font:16px sans-serif;max-width:40em;margin:3em auto">
<h1>AutonomOS GraphQL</h1><p>Loading GraphiQL from unpkg.com&hellip; If this page stays, this browser
cannot reach unpkg.com.</p><p>The API works regardless: POST <code>{"query": "&hellip;"}</code> to
<code>/graphql</code>; the schema is in <code>schema.graphql</code>.</p></div></div>"#;

fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

pub use super::ws::ws;
