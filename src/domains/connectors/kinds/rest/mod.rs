//! Generic REST APIs, configured by JSON: auth, pagination, rate limits, retries, a breaker.
pub mod config;
pub mod guards;
mod pager;
pub mod source;

pub use config::RestConfig;
pub use source::RestSource;
