//! Connector configurations. Each kind validates its own JSON config; secrets are never
//! returned by the API.
pub mod graphql;
pub mod kinds;
pub mod model;
pub mod rotation;
pub mod service;
mod store;
