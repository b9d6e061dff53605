DROP FUNCTION IF EXISTS refresh_resolution_statistics();
DROP INDEX record_keys_record_idx;
CREATE INDEX record_keys_record_idx ON record_keys (tenant_id, entity, canonical_id);
ALTER TABLE unified_records ADD COLUMN provenance jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN alternatives jsonb NOT NULL DEFAULT '{}';
ALTER TABLE record_keys ADD CONSTRAINT record_keys_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
DROP TABLE IF EXISTS resolution_queue;
