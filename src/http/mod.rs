//! actix-web only: routes, request metadata, static files.
mod document;
pub mod exports;
pub mod graphql;
pub mod health;
mod idempotency;
mod limits;
mod middleware;
mod persisted;
pub mod request;
mod uploads;
mod ws;
mod ws_protocol;

use actix_web::middleware::from_fn;
use actix_web::web;

/// The routes; `/graphql` POST and `/uploads` behind the gateway: trace → price (GraphQL) →
/// authenticate → admit (uploads) → rate limit → handler (`wrap` runs the last one added
/// first). What is refused before the rate limit is not charged.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(
                web::post()
                    .to(graphql::post)
                    .wrap(from_fn(middleware::rate_limit))
                    .wrap(from_fn(middleware::authenticate))
                    .wrap(from_fn(middleware::price_graphql))
                    .wrap(from_fn(middleware::trace)),
            )
            .route(web::get().to(graphql::get)),
    )
    .service(web::resource("/graphql/ws").route(web::get().to(graphql::ws)))
    .service(
        web::resource("/uploads/{name}").route(
            web::put()
                .to(uploads::put)
                .wrap(from_fn(middleware::rate_limit))
                .wrap(from_fn(uploads::admit))
                .wrap(from_fn(middleware::authenticate))
                .wrap(from_fn(middleware::trace)),
        ),
    )
    .service(web::resource("/health").route(web::get().to(health::health)))
    .service(web::resource("/metrics").route(web::get().to(health::metrics)))
    .service(web::resource("/exports/{tenant}/{file}").route(web::get().to(exports::download)));
}
