//! actix-web only: routes, request metadata, static files.
mod document;
pub mod exports;
pub mod graphql;
pub mod health;
mod limits;
mod persisted;
pub mod request;
mod uploads;
mod ws;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql::post))
            .route(web::get().to(graphql::get)),
    )
    .service(web::resource("/graphql/ws").route(web::get().to(graphql::ws)))
    .service(web::resource("/uploads/{name}").route(web::put().to(uploads::put)))
    .service(web::resource("/health").route(web::get().to(health::health)))
    .service(web::resource("/metrics").route(web::get().to(health::metrics)))
    .service(web::resource("/exports/{tenant}/{file}").route(web::get().to(exports::download)));
}
