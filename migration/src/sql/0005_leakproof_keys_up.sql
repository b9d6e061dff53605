-- Under row-level security PostgreSQL will not run non-leakproof functions such as lower()
-- inside an index scan of a protected table, so `lower(a) = lower(b)` joins became filters
-- over a tenant's rows. Stored lower-case keys compared with plain (leakproof) equality keep
-- those lookups on indexes.
ALTER TABLE mappings ADD COLUMN source_field_key text GENERATED ALWAYS AS (lower(source_field)) STORED;
ALTER TABLE source_fields ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;
ALTER TABLE mapping_reviews ADD COLUMN source_field_key text GENERATED ALWAYS AS (lower(source_field)) STORED;
CREATE INDEX mappings_active_source_idx ON mappings (tenant_id, source_system, source_entity, source_field_key) WHERE is_active;
CREATE INDEX mappings_head_source_idx ON mappings (tenant_id, source_system, source_entity, source_field_key) WHERE is_head;
CREATE INDEX mapping_reviews_pending_source_idx ON mapping_reviews (tenant_id, source_system, source_entity, source_field_key)
    WHERE status = 'PENDING';
CREATE INDEX source_fields_connector_key_idx ON source_fields (tenant_id, connector_id, source_entity, name_key);
