//! The append-only audit log: who did what, to what, from where, with old and new values.
pub mod graphql;
pub mod model;
pub mod service;
mod store;
