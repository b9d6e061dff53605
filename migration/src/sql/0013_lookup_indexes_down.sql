DROP INDEX record_keys_record_idx;
CREATE INDEX record_keys_record_idx ON record_keys (canonical_id);
DROP INDEX record_links_unified_idx;
CREATE INDEX record_links_unified_idx ON record_links (tenant_id, entity, unified_id);
ALTER TABLE record_links DROP CONSTRAINT record_links_pkey,
    ADD PRIMARY KEY (tenant_id, entity, canonical_id);
DROP INDEX canonical_records_connector_idx;
CREATE INDEX canonical_records_connector_idx ON canonical_records (tenant_id, connector_id);
CREATE OR REPLACE FUNCTION refresh_resolution_statistics() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    ANALYZE record_keys;
    ANALYZE record_links;
    ANALYZE canonical_records;
    ANALYZE unified_records;
END $$;
