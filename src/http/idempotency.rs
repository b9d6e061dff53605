//! Retried mutations run once: with an `Idempotency-Key`, the first complete response is kept
//! (per tenant, for `limits.idempotency_ttl_secs`) and replayed to a retry of the same body; the
//! same key with another body is refused, and so is a retry while the first still runs.
//! Failures worth retrying (INTERNAL, UNAVAILABLE, TIMEOUT) are not kept.
use std::future::Future;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::BatchResponse;
use uuid::Uuid;

use super::graphql::{error_response, error_with_status};
use super::limits;
use crate::error::ErrorCode;
use crate::infra::redis::Redis;

pub enum Ran {
    /// The kept response of an earlier run (a JSON body).
    Replayed(String),
    /// This run's JSON body, and its Cache-Control when it succeeded and may be cached.
    Fresh {
        body: String,
        cache_control: Option<String>,
    },
}

/// Where the key lives and what it is bound to.
pub struct Guarded<'a> {
    pub redis: &'a Redis,
    pub tenant: Option<Uuid>,
    pub write: bool,
    pub body_hash: &'a str,
    pub ttl: Duration,
}

/// Runs `execute` under the request's Idempotency-Key, if it has one and is a tenant's write;
/// `Err` is the refusal to send instead.
pub async fn once(
    req: &HttpRequest,
    guarded: Guarded<'_>,
    execute: impl Future<Output = BatchResponse>,
) -> Result<Ran, HttpResponse> {
    let key = match (
        guarded.tenant,
        guarded.write,
        req.headers().get("idempotency-key"),
    ) {
        (Some(tenant), true, Some(value)) => match value.to_str() {
            Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
                Some((tenant, k.to_owned()))
            }
            _ => {
                return Err(error_response(
                    ErrorCode::BadRequest,
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                ))
            }
        },
        _ => None,
    };
    let hash = guarded.body_hash;
    if let Some((tenant, key)) = &key {
        match limits::claim(guarded.redis, *tenant, key, hash).await {
            limits::Claim::Fresh | limits::Claim::Unavailable => {}
            limits::Claim::Replay(stored) => return Ok(Ran::Replayed(stored)),
            limits::Claim::InFlight => {
                return Err(error_response(
                    ErrorCode::Conflict,
                    "a request with this Idempotency-Key is still running; retry later",
                ))
            }
            limits::Claim::Mismatch => {
                return Err(error_with_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::Conflict,
                    "this Idempotency-Key was used for a different request",
                ))
            }
        }
    }
    let response = execute.await;
    let body = serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned());
    if let Some((tenant, key)) = &key {
        let keep = replayable(&response).then_some(body.as_str());
        limits::finish(guarded.redis, *tenant, key, hash, keep, guarded.ttl).await;
    }
    let cache_control = response
        .is_ok()
        .then(|| response.cache_control().value())
        .flatten();
    Ok(Ran::Fresh {
        body,
        cache_control,
    })
}

/// Whether a retry should get this response again rather than run anew.
fn replayable(response: &BatchResponse) -> bool {
    let responses: Vec<&async_graphql::Response> = match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter().collect(),
    };
    !responses.iter().flat_map(|r| &r.errors).any(|e| {
        let code = e.extensions.as_ref().and_then(|x| x.get("code"));
        [
            ErrorCode::Internal,
            ErrorCode::Unavailable,
            ErrorCode::Timeout,
        ]
        .iter()
        .any(|c| code == Some(&async_graphql::Value::from(c.as_str())))
    })
}
