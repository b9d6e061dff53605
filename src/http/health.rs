use actix_web::{web, HttpResponse};
use serde_json::json;

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

/// Prometheus metrics in the text format (serve on a private address or scrape locally).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match db::pending_reviews_total(&state.db).await {
        Ok(n) => state.metrics.review_queue.set(n),
        Err(e) => tracing::warn!(error = %e, "metrics: review queue size unavailable"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(state.telemetry.counters()))
}
