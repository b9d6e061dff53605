//! Webhooks: tenant-configured endpoints subscribed to event types. Events are written as
//! deliveries in the transaction of what they report (`emit`, an outbox), then sent by any
//! working process, signed per the Standard Webhooks specification, retried with backoff,
//! logged per endpoint, and endpoints that keep failing are disabled.
pub mod graphql;
pub mod model;
pub mod sender;
pub mod service;
pub mod signing;
mod store;

pub use service::emit;
