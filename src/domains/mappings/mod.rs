//! The mapping registry: versioned source-field → canonical-field mappings with approval and
//! rollback. Versions are immutable; approval and rollback move the active pointer.
pub mod graphql;
pub mod knowledge;
pub mod llm;
pub mod model;
pub mod names;
pub mod neighbour_cache;
pub mod proposal_jobs_graphql;
pub mod proposals;
pub mod proposals_graphql;
mod review_store;
pub mod scoring;
pub mod service;
pub mod signals;
pub mod sources;
mod store;
pub mod transform;
