//! Tenants, users, roles, API keys and tokens. The only place that builds a `TenantScope`.
pub mod api_keys;
pub mod graphql;
pub mod model;
mod password;
pub mod scope;
mod secret;
pub mod service;
pub mod sessions;
mod store;
pub mod token;
