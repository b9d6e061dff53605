//! Connectors end to end: each kind (`kinds/<kind>/`) owns its config (validation, redaction)
//! and its source (introspection, reading, health); the runtime opens a source for a
//! connector; drift is computed here. Secrets are never returned by the API.
pub mod drift;
pub mod graphql;
pub mod health;
pub mod kinds;
pub mod model;
pub mod rotation;
pub mod runtime;
pub mod service;
pub mod source;
mod store;
pub mod values;
