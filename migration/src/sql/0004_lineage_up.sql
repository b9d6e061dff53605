-- Lineage views: per-mapping validation figures kept by sync runs, and indexes for the grid.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE mapping_stats (
    tenant_id          uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    mapping_id         uuid NOT NULL,
    values_ok          bigint NOT NULL DEFAULT 0,
    values_failed      bigint NOT NULL DEFAULT 0,
    -- Time spent turning source values into canonical ones through this mapping.
    processing_us      bigint NOT NULL DEFAULT 0,
    last_validated_at  timestamptz,
    PRIMARY KEY (tenant_id, mapping_id)
);
ALTER TABLE mapping_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mapping_stats USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Full-text search across the grid's text columns (ILIKE with trigrams).
CREATE INDEX mappings_grid_search_idx ON mappings USING gin (
    lower(source_system || ' ' || source_entity || ' ' || source_field || ' ' || canonical_entity
          || ' ' || canonical_field || ' ' || method || ' ' || mapping_type) gin_trgm_ops)
    WHERE is_head;
CREATE INDEX mappings_grid_created_idx ON mappings (tenant_id, created_at, mapping_id) WHERE is_head;
