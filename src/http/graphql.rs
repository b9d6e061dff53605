//! `/graphql`: POST for queries and mutations, GET for GraphiQL, and the
//! graphql-transport-ws WebSocket upgrade (also at `/graphql/ws`).
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, Data};
use async_graphql_actix_web::GraphQLSubscription;
use serde_json::json;

use super::request;
use crate::domains::auth::model::Authentication;
use crate::domains::auth::service as auth;
use crate::error::ErrorCode;
use crate::graphql::context::RequestContext;
use crate::graphql::schema::AppSchema;
use crate::state::AppState;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most operations in one batched request.
const MAX_BATCH: usize = 20;

fn error_response(
    status: actix_web::http::StatusCode,
    code: ErrorCode,
    message: &str,
) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    }))
}

pub async fn post(
    req: HttpRequest,
    body: web::Bytes,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let trace_id = request::trace_id(&req);
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                &format!("request body is not a GraphQL request: {e}"),
            )
        }
    };
    if let BatchRequest::Batch(items) = &batch {
        if items.is_empty() || items.len() > MAX_BATCH {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                &format!("a batch must hold 1 to {MAX_BATCH} operations"),
            );
        }
    }
    let authentication = auth::authenticate(
        &state,
        request::bearer(&req).as_deref(),
        request::api_key_header(&req).as_deref(),
    )
    .await;
    let context = RequestContext {
        auth: authentication,
        meta: request::meta(&req, trace_id.clone()),
    };
    let batch = batch.data(context);
    let response = schema.execute_batch(batch).await;
    let mut http = HttpResponse::Ok();
    http.insert_header(("x-trace-id", trace_id));
    if let Some(cache) = response.cache_control().value() {
        if response.is_ok() {
            http.insert_header((header::CACHE_CONTROL, cache));
        }
    }
    http.json(response)
}

/// GraphiQL for browsers; a WebSocket upgrade when asked for one.
pub async fn get(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if is_websocket_upgrade(&req) {
        return ws(req, payload, schema, state).await;
    }
    if !state.settings.server.graphiql {
        return Ok(error_response(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadRequest,
            "use POST for GraphQL requests",
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .finish(),
        ))
}

fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The token travels in `connection_init` (`{"authorization": "Bearer …"}` or `{"token": "…"}`);
/// a bad one closes the socket with 4403.
pub async fn ws(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let state = state.get_ref().clone();
    let meta = request::meta(&req, request::trace_id(&req));
    GraphQLSubscription::new(schema.get_ref().clone())
        .on_connection_init(move |init| async move {
            let credential = init
                .get("authorization")
                .or_else(|| init.get("Authorization"))
                .and_then(|v| v.as_str())
                .map(|v| {
                    v.trim_start_matches("Bearer ")
                        .trim_start_matches("bearer ")
                        .to_owned()
                })
                .or_else(|| {
                    init.get("token")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                });
            let authentication = auth::authenticate(&state, credential.as_deref(), None).await;
            match &authentication {
                Authentication::Authenticated(_) => {}
                Authentication::Anonymous => return Err("authentication required".into()),
                Authentication::Rejected(reason) => return Err(reason.clone().into()),
            }
            let mut data = Data::default();
            data.insert(RequestContext {
                auth: authentication,
                meta,
            });
            Ok(data)
        })
        .start(&req, payload)
}
