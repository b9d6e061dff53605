DROP TRIGGER IF EXISTS lineage_grid_mappings_insert ON mappings;
DROP TRIGGER IF EXISTS lineage_grid_mappings_update ON mappings;
DROP TRIGGER IF EXISTS lineage_grid_mappings_delete ON mappings;
DROP TRIGGER IF EXISTS lineage_grid_stats_insert ON mapping_stats;
DROP TRIGGER IF EXISTS lineage_grid_stats_update ON mapping_stats;
DROP TABLE IF EXISTS lineage_terms;
DROP TABLE IF EXISTS lineage_grid;
DROP FUNCTION IF EXISTS lineage_terms_on_insert();
DROP FUNCTION IF EXISTS lineage_terms_on_update();
DROP FUNCTION IF EXISTS lineage_terms_on_delete();
DROP FUNCTION IF EXISTS lineage_grid_on_change();
DROP FUNCTION IF EXISTS lineage_grid_refresh(uuid[], uuid[]);
DROP FUNCTION IF EXISTS lineage_search_terms(text[]);
CREATE INDEX mappings_grid_search_idx ON mappings USING gin (
    lower(source_system || ' ' || source_entity || ' ' || source_field || ' ' || canonical_entity
          || ' ' || canonical_field || ' ' || method || ' ' || mapping_type) gin_trgm_ops)
    WHERE is_head;
CREATE INDEX mappings_grid_created_idx ON mappings (tenant_id, created_at, mapping_id) WHERE is_head;
