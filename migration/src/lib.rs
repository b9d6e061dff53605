//! Database migrations. Shipped migrations are never edited; add a new one instead.
pub use sea_orm_migration::prelude::*;

pub struct Migrator;

/// Every migration, in order: a name recorded in `seaql_migrations` and its up/down SQL.
const MIGRATIONS: &[SqlMigration] = &[
    SqlMigration {
        name: "m20261122_000001_foundation",
        up: include_str!("sql/0001_foundation_up.sql"),
        down: include_str!("sql/0001_foundation_down.sql"),
    },
    SqlMigration {
        name: "m20261122_000002_vector_indexes",
        up: include_str!("sql/0002_vector_indexes_up.sql"),
        down: include_str!("sql/0002_vector_indexes_down.sql"),
    },
    SqlMigration {
        name: "m20261122_000003_pipeline",
        up: include_str!("sql/0003_pipeline_up.sql"),
        down: include_str!("sql/0003_pipeline_down.sql"),
    },
    SqlMigration {
        name: "m20261122_000004_lineage",
        up: include_str!("sql/0004_lineage_up.sql"),
        down: include_str!("sql/0004_lineage_down.sql"),
    },
    SqlMigration {
        name: "m20261122_000005_leakproof_keys",
        up: include_str!("sql/0005_leakproof_keys_up.sql"),
        down: include_str!("sql/0005_leakproof_keys_down.sql"),
    },
    SqlMigration {
        name: "m20261122_000006_lineage_grid",
        up: include_str!("sql/0006_lineage_grid_up.sql"),
        down: include_str!("sql/0006_lineage_grid_down.sql"),
    },
    SqlMigration {
        name: "m20261123_000007_quotas",
        up: include_str!("sql/0007_quotas_up.sql"),
        down: include_str!("sql/0007_quotas_down.sql"),
    },
    SqlMigration {
        name: "m20261123_000008_metrics",
        up: include_str!("sql/0008_metrics_up.sql"),
        down: include_str!("sql/0008_metrics_down.sql"),
    },
    SqlMigration {
        name: "m20261129_000009_sessions",
        up: include_str!("sql/0009_sessions_up.sql"),
        down: include_str!("sql/0009_sessions_down.sql"),
    },
    SqlMigration {
        name: "m20261129_000010_stale_jobs",
        up: include_str!("sql/0010_stale_jobs_up.sql"),
        down: include_str!("sql/0010_stale_jobs_down.sql"),
    },
    SqlMigration {
        name: "m20261129_000011_unified_records",
        up: include_str!("sql/0011_unified_records_up.sql"),
        down: include_str!("sql/0011_unified_records_down.sql"),
    },
    SqlMigration {
        name: "m20261129_000012_resolution_queue",
        up: include_str!("sql/0012_resolution_queue_up.sql"),
        down: include_str!("sql/0012_resolution_queue_down.sql"),
    },
    SqlMigration {
        name: "m20261129_000013_lookup_indexes",
        up: include_str!("sql/0013_lookup_indexes_up.sql"),
        down: include_str!("sql/0013_lookup_indexes_down.sql"),
    },
    SqlMigration {
        name: "m20261129_000014_match_models",
        up: include_str!("sql/0014_match_models_up.sql"),
        down: include_str!("sql/0014_match_models_down.sql"),
    },
    SqlMigration {
        name: "m20261207_000015_record_search_words",
        up: include_str!("sql/0015_record_search_words_up.sql"),
        down: include_str!("sql/0015_record_search_words_down.sql"),
    },
    SqlMigration {
        name: "m20261207_000016_one_sync_per_connector",
        up: include_str!("sql/0016_one_sync_per_connector_up.sql"),
        down: include_str!("sql/0016_one_sync_per_connector_down.sql"),
    },
    SqlMigration {
        name: "m20261207_000017_connector_health",
        up: include_str!("sql/0017_connector_health_up.sql"),
        down: include_str!("sql/0017_connector_health_down.sql"),
    },
    SqlMigration {
        name: "m20261207_000018_sync_schedules",
        up: include_str!("sql/0018_sync_schedules_up.sql"),
        down: include_str!("sql/0018_sync_schedules_down.sql"),
    },
    SqlMigration {
        name: "m20261207_000019_schema_observer",
        up: include_str!("sql/0019_schema_observer_up.sql"),
        down: include_str!("sql/0019_schema_observer_down.sql"),
    },
    SqlMigration {
        name: "m20261207_000020_webhooks",
        up: include_str!("sql/0020_webhooks_up.sql"),
        down: include_str!("sql/0020_webhooks_down.sql"),
    },
    SqlMigration {
        name: "m20261208_000021_proposal_jobs",
        up: include_str!("sql/0021_proposal_jobs_up.sql"),
        down: include_str!("sql/0021_proposal_jobs_down.sql"),
    },
];

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        MIGRATIONS
            .iter()
            .map(|m| Box::new(*m) as Box<dyn MigrationTrait>)
            .collect()
    }
}

/// A migration written as plain SQL (reviewable, runnable by hand with psql).
#[derive(Clone, Copy)]
struct SqlMigration {
    name: &'static str,
    up: &'static str,
    down: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await?;
        Ok(())
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
    "mapping_stats",
    "lineage_grid",
    "lineage_terms",
    "canonical_events",
    "canonical_records",
    "quarantined_records",
    "drift_events",
    "jobs",
    "audit_log",
    "tenant_quotas",
    "tenant_usage",
    "record_keys",
    "record_links",
    "unified_records",
    "match_candidates",
    "match_decisions",
    "unified_history",
    "survivorship_rules",
];
