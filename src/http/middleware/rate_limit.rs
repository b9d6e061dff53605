//! Budgets per tenant (writes, reads) and per IP address before authentication, taken before a
//! handler runs; over budget: HTTP 429 with `Retry-After`. The WebSocket takes from the same
//! budgets per operation (`charge`).
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use serde_json::json;

use super::super::limits;
use crate::domains::auth::model::Authentication;
use crate::state::AppState;

/// What a request takes from its budget: `operations` from the write or the read budget.
/// `/graphql` sets it from the priced document; a route without one (uploads) is one write.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub write: bool,
    pub operations: usize,
}

pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let cost = req.extensions().get::<Cost>().copied().unwrap_or(Cost {
        write: true,
        operations: 1,
    });
    let tenant = match req.extensions().get::<Authentication>() {
        Some(Authentication::Authenticated(p)) => Some(p.tenant_id),
        _ => None,
    };
    let peer = req
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let wait = match req.app_data::<web::Data<AppState>>() {
        Some(state) => charge(state, tenant, &peer, cost.write, cost.operations).await,
        None => None,
    };
    match wait {
        Some(wait) => Ok(req.into_response(rate_limited(wait))),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// HTTP 429 with `Retry-After` and the RATE_LIMITED error.
fn rate_limited(wait: std::time::Duration) -> HttpResponse {
    let (secs, err) = limits::rate_limited_error(wait);
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, secs.to_string()))
        .json(json!({ "errors": [err] }))
}

/// Takes `cost` operations from the tenant's budget (or the peer's, before authentication);
/// the wait when it is spent. Shared by HTTP and the WebSocket.
pub async fn charge(
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
