DROP INDEX IF EXISTS mappings_grid_created_idx;
DROP INDEX IF EXISTS mappings_grid_search_idx;
DROP TABLE IF EXISTS mapping_stats;
