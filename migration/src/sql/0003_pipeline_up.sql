-- The canonical pipeline: sync runs turn source records into canonical events, materialized
-- records and field-level lineage.

-- A mapping whose source field disappeared from the source is DEPRECATED (kept for lineage).
ALTER TABLE mappings DROP CONSTRAINT mappings_status_check;
ALTER TABLE mappings ADD CONSTRAINT mappings_status_check
    CHECK (status IN ('PENDING', 'ACTIVE', 'SUPERSEDED', 'REJECTED', 'DEPRECATED'));

-- Field-level lineage lives on the event: {canonical_field: {sourceField, mappingId,
-- mappingVersion}}; connector, source entity and record are the event's own columns. One row
-- per event instead of one per value (25 per record on a 25-column source).
DROP TABLE lineage;
ALTER TABLE canonical_events ADD COLUMN source_entity text NOT NULL DEFAULT '';
ALTER TABLE canonical_events ADD COLUMN lineage jsonb NOT NULL DEFAULT '{}';
ALTER TABLE canonical_events ADD COLUMN job_id uuid;
CREATE INDEX canonical_events_connector_idx ON canonical_events (tenant_id, connector_id, emitted_at);

-- The current state of each canonical record, upserted by source identity (the id is derived
-- from tenant, entity, connector and source record id).
CREATE TABLE canonical_records (
    tenant_id         uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity            text NOT NULL,
    id                uuid NOT NULL,
    source_system     text NOT NULL,
    connector_id      uuid REFERENCES connectors(id) ON DELETE SET NULL,
    source_entity     text NOT NULL,
    source_record_id  text NOT NULL,
    data              jsonb NOT NULL,
    extras            jsonb NOT NULL DEFAULT '{}',
    lineage           jsonb NOT NULL DEFAULT '{}',
    last_event_id     uuid NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, id)
);
CREATE INDEX canonical_records_connector_idx ON canonical_records (tenant_id, connector_id);

-- Source rows that could not be read (wrong field count, bad encoding, …); good rows flow on.
CREATE TABLE quarantined_records (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    job_id         uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    connector_id   uuid REFERENCES connectors(id) ON DELETE SET NULL,
    source_entity  text NOT NULL,
    row_number     bigint NOT NULL,
    reason         text NOT NULL,
    raw            text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, job_id, source_entity, row_number)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['canonical_records', 'quarantined_records']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
                       'WITH CHECK (tenant_id = app_current_tenant())', t);
    END LOOP;
END $$;
CREATE INDEX jobs_stale_idx ON jobs (status, heartbeat_at) WHERE status IN ('QUEUED', 'RUNNING');

-- Sync runs left behind by a crashed process, across tenants (the reaper runs before any
-- tenant is known); returns only what resuming needs.
CREATE OR REPLACE FUNCTION jobs_to_resume(p_stale_after interval)
RETURNS TABLE (id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.id, j.tenant_id FROM jobs j
    WHERE j.kind = 'SYNC' AND j.status IN ('QUEUED', 'RUNNING')
      AND coalesce(j.heartbeat_at, j.created_at) < now() - p_stale_after
    ORDER BY j.created_at
    LIMIT 100
$$;
