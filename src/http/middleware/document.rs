//! `POST /graphql` read and priced before anything is looked up for it: the body (at most
//! `MAX_BODY_BYTES`), one operation or a batch, persisted queries resolved, then the cost of
//! every document (tokens, nesting, fields once expanded, aliases across the batch, text no
//! database can store). A refusal answers here; otherwise the handler finds the batch in the
//! request (`PricedRequest`) and the rate limiter its cost.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use async_graphql::BatchRequest;

use super::super::document::DocumentLimits;
use super::super::graphql::error_response;
use super::super::limits::{self, Shape};
use super::super::{persisted, request};
use super::Cost;
use crate::error::ErrorCode;
use crate::state::AppState;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most operations in one batched request.
const MAX_BATCH: usize = 20;

/// A request that passed pricing, for the handler.
pub struct PricedRequest {
    pub batch: BatchRequest,
    pub shape: Shape,
    /// SHA-256 of the body as sent (what an Idempotency-Key is bound to).
    pub body_hash: String,
}

pub async fn price_graphql(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.into_response(error_response(ErrorCode::Internal, "no app state")));
    };
    match read(&mut req, &state).await {
        Ok(priced) => {
            req.extensions_mut().insert(Cost {
                write: priced.shape.mutation,
                operations: priced.batch.iter().count(),
            });
            req.extensions_mut().insert(priced);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(refusal) => Ok(req.into_response(refusal)),
    }
}

async fn read(req: &mut ServiceRequest, state: &AppState) -> Result<PricedRequest, HttpResponse> {
    let too_large = || {
        error_response(
            ErrorCode::PayloadTooLarge,
            &format!("request body exceeds {MAX_BODY_BYTES} bytes"),
        )
    };
    if request::declared_length(req.request()).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let body = match read_body(req.take_payload()).await {
        Ok(Some(body)) => body,
        Ok(None) => return Err(too_large()),
        Err(e) => {
            return Err(error_response(
                ErrorCode::BadRequest,
                &format!("cannot read request body: {e}"),
            ))
        }
    };
    let mut batch =
        parse_body(&body).map_err(|message| error_response(ErrorCode::BadRequest, &message))?;
    let pq_ttl = std::time::Duration::from_secs(state.settings.graphql.persisted_query_ttl_secs);
    if let Err(refused) = persisted::resolve(&state.redis, &mut batch, pq_ttl).await {
        return Err(error_response(refused.code, &refused.message));
    }
    let shape = limits::shape(
        &batch,
        &DocumentLimits::from_settings(&state.settings.graphql),
    );
    if let Some(err) = shape.refusal(state.settings.graphql.max_aliases) {
        return Err(HttpResponse::Ok().json(limits::refused(err)));
    }
    Ok(PricedRequest {
        batch,
        shape,
        body_hash: limits::body_hash(&body),
    })
}

/// Reads the body up to `MAX_BODY_BYTES`; `None` when it is larger.
async fn read_body(
    mut payload: actix_web::dev::Payload,
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
