//! The tenant pass lives in `crate::tenancy`; auth is the only domain that mints one.
pub use crate::tenancy::{RequestMeta, TenantScope};
