//! The mapping registry: versioned source-field → canonical-field mappings with approval and
//! rollback. Versions are immutable; approval and rollback move the active pointer.
pub mod graphql;
pub mod model;
pub mod service;
mod store;
