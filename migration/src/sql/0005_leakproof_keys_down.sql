DROP INDEX IF EXISTS source_fields_connector_key_idx;
DROP INDEX IF EXISTS mapping_reviews_pending_source_idx;
DROP INDEX IF EXISTS mappings_head_source_idx;
DROP INDEX IF EXISTS mappings_active_source_idx;
ALTER TABLE mapping_reviews DROP COLUMN IF EXISTS source_field_key;
ALTER TABLE source_fields DROP COLUMN IF EXISTS name_key;
ALTER TABLE mappings DROP COLUMN IF EXISTS source_field_key;
