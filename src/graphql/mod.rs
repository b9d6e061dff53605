//! The GraphQL layer: schema assembly, per-request context, pagination and error codes.
pub mod context;
pub mod errors;
pub mod extensions;
pub mod pagination;
pub mod schema;
