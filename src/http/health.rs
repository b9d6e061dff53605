use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::domains::telemetry::publisher::Telemetry;
use crate::error::ErrorCode;
use crate::infra::{db, redis};
use crate::state::AppState;

/// Liveness and readiness: 200 when Postgres and Redis answer, 503 naming what does not.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let postgres = db::ping(&state.db).await.is_ok();
    let redis = redis::ping(&state.redis).await.is_ok();
    let status = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": status(postgres && redis),
        "postgres": status(postgres),
        "redis": status(redis),
        "version": env!("CARGO_PKG_VERSION"),
    });
    if postgres && redis {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics in the text format; behind `Authorization: Bearer <metrics.token>` when a
/// token is set (production requires one).
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    telemetry: web::Data<Telemetry>,
) -> HttpResponse {
    let token = state.settings.metrics.token.expose_secret();
    if !token.is_empty() {
        use sha2::{Digest, Sha256};
        // Digests compared, so the time taken says nothing about the token itself.
        let given = super::request::bearer(&req).unwrap_or_default();
        if Sha256::digest(given.as_bytes()) != Sha256::digest(token.as_bytes()) {
            return super::graphql::error_response(
                ErrorCode::Unauthenticated,
                "metrics need the scrape token (Authorization: Bearer ...)",
            );
        }
    }
    match db::pending_reviews_total(&state.db).await {
        Ok(n) => state.metrics.review_queue.set(n),
        Err(e) => tracing::warn!(error = %e, "metrics: review queue size unavailable"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(telemetry.counters()))
}
