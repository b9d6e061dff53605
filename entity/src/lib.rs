//! SeaORM entities: table rows only. Domain types live in `autonomos::domains::*::model`.
pub mod api_keys;
pub mod audit_log;
pub mod canonical_entities;
pub mod canonical_events;
pub mod canonical_fields;
pub mod connectors;
pub mod drift_events;
pub mod jobs;
pub mod mapping_embeddings;
pub mod mapping_reviews;
pub mod mappings;
pub mod ontologies;
pub mod source_fields;
pub mod source_schemas;
pub mod tenants;
pub mod users;
