DROP FUNCTION IF EXISTS jobs_to_resume(interval);
DROP INDEX IF EXISTS jobs_stale_idx;
DROP TABLE IF EXISTS quarantined_records;
DROP TABLE IF EXISTS canonical_records;
DROP INDEX IF EXISTS canonical_events_connector_idx;
ALTER TABLE canonical_events DROP COLUMN IF EXISTS job_id;
ALTER TABLE canonical_events DROP COLUMN IF EXISTS lineage;
ALTER TABLE canonical_events DROP COLUMN IF EXISTS source_entity;
CREATE TABLE lineage (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    canonical_event_id  uuid NOT NULL REFERENCES canonical_events(id) ON DELETE CASCADE,
    canonical_entity    text NOT NULL,
    canonical_id        uuid NOT NULL,
    canonical_field     text NOT NULL,
    connector_id        uuid REFERENCES connectors(id) ON DELETE SET NULL,
    source_entity       text NOT NULL,
    source_field        text NOT NULL,
    source_record_id    text NOT NULL,
    mapping_id          uuid,
    mapping_version     integer,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lineage_record_idx ON lineage (tenant_id, canonical_entity, canonical_id);
CREATE INDEX lineage_mapping_idx ON lineage (tenant_id, mapping_id);
ALTER TABLE lineage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lineage USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
UPDATE mappings SET status = 'SUPERSEDED', is_active = false WHERE status = 'DEPRECATED';
ALTER TABLE mappings DROP CONSTRAINT mappings_status_check;
ALTER TABLE mappings ADD CONSTRAINT mappings_status_check
    CHECK (status IN ('PENDING', 'ACTIVE', 'SUPERSEDED', 'REJECTED'));
