//! Per-tenant quotas: connectors held, source fields proposed per month, canonical events
//! written per hour. Defaults come from `quotas.*`; `tenant_quotas` overrides them per tenant.
//! Metered use is charged in the transaction doing the work, so rolled-back work is free and
//! concurrent processes never overspend.
pub mod graphql;
pub mod service;
