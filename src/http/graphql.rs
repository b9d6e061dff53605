//! `/graphql`: POST for queries and mutations, GET for GraphiQL, and the
//! graphql-transport-ws WebSocket upgrade (also at `/graphql/ws`).
use actix_web::http::header;
use actix_web::HttpMessage;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use serde_json::json;

use super::idempotency::{self, Ran};
use super::middleware::{self, PricedRequest};
use super::request;
use crate::domains::auth::model::Authentication;
use crate::domains::auth::service::AuthService;
use crate::error::ErrorCode;
use crate::graphql::context::RequestContext;
use crate::graphql::schema::AppSchema;
use crate::state::AppState;

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

/// Queries and mutations. The gateway has already read, priced, authenticated and charged the
/// request (`middleware`); time limits and metrics run inside the schema (`graphql::extensions`).
pub async fn post(
    req: HttpRequest,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(priced) = req.extensions_mut().remove::<PricedRequest>() else {
        return error_response(ErrorCode::Internal, "the request was not priced");
    };
    let authentication = middleware::authentication(&req);
    let tenant = match &authentication {
        Authentication::Authenticated(p) => Some(p.tenant_id),
        _ => None,
    };
    let context = RequestContext {
        auth: authentication,
        meta: request::meta(&req, middleware::trace_id(&req)),
    };
    let guarded = idempotency::Guarded {
        redis: &state.redis,
        tenant,
        write: priced.shape.mutation,
        body_hash: &priced.body_hash,
        ttl: std::time::Duration::from_secs(state.settings.limits.idempotency_ttl_secs),
    };
    let execute = schema.execute_batch(priced.batch.data(context));
    match idempotency::once(&req, guarded, execute).await {
        Err(refusal) => refusal,
        Ok(Ran::Replayed(stored)) => HttpResponse::Ok()
            .insert_header(("idempotency-replayed", "true"))
            .content_type("application/json")
            .body(stored),
        Ok(Ran::Fresh {
            body,
            cache_control,
        }) => {
            let mut http = HttpResponse::Ok();
            if let Some(cache) = cache_control {
                http.insert_header((header::CACHE_CONTROL, cache));
            }
            http.content_type("application/json").body(body)
        }
    }
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
