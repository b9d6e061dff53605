-- No two indexes of resolution's tables lead with the same column: each leads with the id it
-- looks up. Until a growing table's statistics catch up (a first sync), the planner takes the
-- tenant as nearly empty, every index as returning one row, and the smallest as the cheapest:
-- an index led by the tenant served lookups by an id it does not hold, and each lookup walked
-- every row of the tenant (seen: reading 1,500 records' members took 1.1 s, and reading 1,000
-- records by id 0.9 s, a few ms each by the right index). With distinct leading columns only
-- the right index can serve a lookup, whatever the statistics say.
DROP INDEX canonical_records_connector_idx;
CREATE INDEX canonical_records_connector_idx ON canonical_records (connector_id, tenant_id);
ALTER TABLE record_links DROP CONSTRAINT record_links_pkey,
    ADD PRIMARY KEY (canonical_id, tenant_id, entity);
DROP INDEX record_links_unified_idx;
CREATE INDEX record_links_unified_idx ON record_links (unified_id, tenant_id, entity);
DROP INDEX record_keys_record_idx;
CREATE INDEX record_keys_record_idx ON record_keys (canonical_id, tenant_id, entity);

-- The statistics resolution refreshes during a run (first after two batches, now): of canonical
-- records, the columns its lookups filter on (their values' statistics are not read by it, and
-- sampling them made each refresh seconds long).
CREATE OR REPLACE FUNCTION refresh_resolution_statistics() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    ANALYZE record_keys;
    ANALYZE record_links;
    ANALYZE canonical_records (tenant_id, entity, id, connector_id);
    ANALYZE unified_records;
END $$;
