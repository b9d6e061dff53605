//! The gateway in front of `/graphql` and `/uploads`, as actix middleware: each request gets a
//! trace id, its credentials read once, and its cost taken from the caller's budget before a
//! handler runs. `/graphql` also has its document read and priced first (`document.rs`), so an
//! over-costly request is refused before anything is looked up for it.
//!
//! Order (outermost first): trace → [price the document] → authenticate → [admit: the route's
//! own checks] → rate limit → handler. A request refused before the rate limit is not charged.
mod auth;
mod document;
mod rate_limit;
mod trace;

pub use auth::authenticate;
pub use document::{price_graphql, PricedRequest};
pub use rate_limit::{charge, rate_limit, Cost};
pub use trace::{trace, TraceId};

use actix_web::HttpMessage;

use crate::domains::auth::model::Authentication;

/// The request's trace id, as the trace middleware set it.
pub fn trace_id(req: &actix_web::HttpRequest) -> String {
    req.extensions()
        .get::<TraceId>()
        .map_or_else(|| super::request::trace_id(req), |t| t.0.clone())
}

/// Who is calling, as the authentication middleware found.
pub fn authentication(req: &actix_web::HttpRequest) -> Authentication {
    req.extensions()
        .get::<Authentication>()
        .cloned()
        .unwrap_or(Authentication::Anonymous)
}
