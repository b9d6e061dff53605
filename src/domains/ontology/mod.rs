//! The canonical model: entities and fields, one active ontology per tenant (seeded from the
//! built-in `crm-v1`, room for per-tenant extensions).
pub mod builtin;
pub mod graphql;
pub mod model;
pub mod service;
mod store;
