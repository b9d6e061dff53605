//! Database migrations. Shipped migrations are never edited; add a new one instead.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261122_000001_foundation::Migration)]
    }
}

/// Tables that belong to a tenant: each has `tenant_id`, an index led by it and an RLS policy.
pub const TENANT_TABLES: &[&str] = &[
    "users",
    "api_keys",
    "connectors",
    "source_schemas",
    "source_fields",
    "ontologies",
    "canonical_entities",
    "canonical_fields",
    "mappings",
    "mapping_reviews",
    "mapping_embeddings",
    "canonical_events",
    "lineage",
    "drift_events",
    "jobs",
    "audit_log",
];
