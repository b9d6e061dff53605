-- The lineage grid as a table kept by triggers: one row per mapping (its head version) with its
-- status and figures already computed, so every filter and sort is a plain column comparison.
-- Under row-level security PostgreSQL only puts leakproof operators (=, <, >, ... on text,
-- numbers, times, uuids) into index scans; computed columns, lower(), LIKE and array operators
-- over a protected table become filters over all of a tenant's rows. Search therefore goes
-- through `lineage_terms` (word, mapping) with prefix ranges, which are leakproof comparisons.
--
-- No foreign key to tenants here: 10+ terms per mapping would make every bulk insert pay a
-- key check per row. Deleting a tenant cascades to its mappings, whose triggers clear these.

-- Words of a grid row for search: each value split at non-alphanumerics and lower-to-upper
-- humps (BillingCity -> billing, city), plus each value with its letters run together
-- (billingcity). The Rust side (grid::search_words) splits search text the same way.
CREATE FUNCTION lineage_search_terms(VARIADIC parts text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ' ' || array_to_string(ARRAY(
        SELECT DISTINCT w FROM unnest(
            regexp_split_to_array(
                lower(regexp_replace(array_to_string(parts, ' '), '([[:lower:][:digit:]])([[:upper:]])', '\1 \2', 'g')),
                '[^[:alnum:]]+')
            || regexp_split_to_array(
                lower(regexp_replace(array_to_string(parts, E'\x01'), E'[^[:alnum:]\x01]+', '', 'g')), E'\x01')
        ) w WHERE w <> '' ORDER BY w), ' ') || ' '
$$;

CREATE TABLE lineage_grid (
    tenant_id          uuid NOT NULL,
    id                 uuid NOT NULL,
    source_system      text NOT NULL,
    source_table       text NOT NULL,
    source_field       text NOT NULL,
    canonical_entity   text NOT NULL,
    canonical_field    text NOT NULL,
    mapping_type       text NOT NULL,
    method             text NOT NULL,
    confidence         double precision NOT NULL,
    status             text NOT NULL,
    version            integer NOT NULL,
    last_validated     timestamptz,
    success_rate       double precision,
    avg_processing_ms  double precision,
    error_count        bigint NOT NULL,
    created_at         timestamptz NOT NULL,
    -- ' word word ... ': the row's search words, space-delimited at both ends.
    search_terms       text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE lineage_grid ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lineage_grid USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- One index per sort column, on the same expression the grid sorts by (no NULLs, id last),
-- so a sorted page is an ordered index scan in either direction. Filtered columns lead too.
CREATE INDEX lineage_grid_source_system_idx ON lineage_grid (tenant_id, source_system, id);
-- The grid's usual question (these connectors, this status, at least this confidence) answered
-- from the index alone: the page's ids and sort keys, and its count.
CREATE INDEX lineage_grid_connector_filter_idx ON lineage_grid (tenant_id, source_system, status, confidence, id);
CREATE INDEX lineage_grid_source_table_idx ON lineage_grid (tenant_id, source_table, id);
CREATE INDEX lineage_grid_source_field_idx ON lineage_grid (tenant_id, source_field, id);
CREATE INDEX lineage_grid_canonical_entity_idx ON lineage_grid (tenant_id, canonical_entity, id);
CREATE INDEX lineage_grid_canonical_field_idx ON lineage_grid (tenant_id, canonical_field, id);
CREATE INDEX lineage_grid_mapping_type_idx ON lineage_grid (tenant_id, mapping_type, id);
CREATE INDEX lineage_grid_method_idx ON lineage_grid (tenant_id, method, id);
CREATE INDEX lineage_grid_status_idx ON lineage_grid (tenant_id, status, id);
CREATE INDEX lineage_grid_confidence_idx ON lineage_grid (tenant_id, (coalesce(confidence::float8, -1)), id);
CREATE INDEX lineage_grid_version_idx ON lineage_grid (tenant_id, (coalesce(version::float8, -1)), id);
CREATE INDEX lineage_grid_success_rate_idx ON lineage_grid (tenant_id, (coalesce(success_rate::float8, -1)), id);
CREATE INDEX lineage_grid_avg_processing_idx ON lineage_grid (tenant_id, (coalesce(avg_processing_ms::float8, -1)), id);
CREATE INDEX lineage_grid_error_count_idx ON lineage_grid (tenant_id, (coalesce(error_count::float8, -1)), id);
CREATE INDEX lineage_grid_last_validated_idx ON lineage_grid (tenant_id, (coalesce(last_validated, '-infinity'::timestamptz)), id);
CREATE INDEX lineage_grid_created_idx ON lineage_grid (tenant_id, (coalesce(created_at, '-infinity'::timestamptz)), id);

-- Byte-order collation so that a prefix is a range: term >= 'acc' AND term < 'acd'.
CREATE TABLE lineage_terms (
    tenant_id  uuid NOT NULL,
    term       text COLLATE "C" NOT NULL,
    id         uuid NOT NULL,
    PRIMARY KEY (tenant_id, term, id)
);
ALTER TABLE lineage_terms ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lineage_terms USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Recomputes the grid rows of the given mappings from `mappings` and `mapping_stats`.
CREATE FUNCTION lineage_grid_refresh(p_tenants uuid[], p_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM lineage_grid g
    USING unnest(p_tenants, p_ids) AS k(tenant_id, id)
    WHERE g.tenant_id = k.tenant_id AND g.id = k.id
      AND NOT EXISTS (SELECT 1 FROM mappings m
                      WHERE m.tenant_id = k.tenant_id AND m.mapping_id = k.id AND m.is_head);
    INSERT INTO lineage_grid AS g
    SELECT m.tenant_id, m.mapping_id, m.source_system, m.source_entity, m.source_field,
           m.canonical_entity, m.canonical_field, m.mapping_type, m.method, m.confidence,
           CASE WHEN m.status = 'ACTIVE' AND coalesce(s.values_failed, 0) > coalesce(s.values_ok, 0) THEN 'FAILED'
                WHEN m.status = 'ACTIVE' THEN 'ACTIVE'
                WHEN m.status = 'PENDING' THEN 'PENDING_REVIEW'
                ELSE 'DEPRECATED' END,
           m.version, s.last_validated_at,
           CASE WHEN s.values_ok + s.values_failed > 0
                THEN s.values_ok::float8 / (s.values_ok + s.values_failed) END,
           CASE WHEN s.values_ok + s.values_failed > 0
                THEN s.processing_us::float8 / 1000 / (s.values_ok + s.values_failed) END,
           coalesce(s.values_failed, 0), m.created_at,
           lineage_search_terms(m.source_system, m.source_entity, m.source_field, m.canonical_entity,
                                m.canonical_field, m.method, m.mapping_type)
    FROM (SELECT DISTINCT tenant_id, id FROM unnest(p_tenants, p_ids) AS u(tenant_id, id)) k
    JOIN mappings m ON m.tenant_id = k.tenant_id AND m.mapping_id = k.id AND m.is_head
    LEFT JOIN mapping_stats s ON s.tenant_id = k.tenant_id AND s.mapping_id = k.id
    -- A fixed order keeps concurrent refreshes from deadlocking on each other's rows.
    ORDER BY m.tenant_id, m.mapping_id
    ON CONFLICT (tenant_id, id) DO UPDATE SET
        source_system = EXCLUDED.source_system, source_table = EXCLUDED.source_table,
        source_field = EXCLUDED.source_field, canonical_entity = EXCLUDED.canonical_entity,
        canonical_field = EXCLUDED.canonical_field, mapping_type = EXCLUDED.mapping_type,
        method = EXCLUDED.method, confidence = EXCLUDED.confidence, status = EXCLUDED.status,
        version = EXCLUDED.version, last_validated = EXCLUDED.last_validated,
        success_rate = EXCLUDED.success_rate, avg_processing_ms = EXCLUDED.avg_processing_ms,
        error_count = EXCLUDED.error_count, created_at = EXCLUDED.created_at,
        search_terms = EXCLUDED.search_terms
    WHERE (g.*) IS DISTINCT FROM (EXCLUDED.*);
END $$;

CREATE FUNCTION lineage_grid_on_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lineage_grid_refresh(array_agg(tenant_id), array_agg(mapping_id)) FROM changed;
    RETURN NULL;
END $$;
CREATE TRIGGER lineage_grid_mappings_insert AFTER INSERT ON mappings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lineage_grid_on_change();
CREATE TRIGGER lineage_grid_mappings_update AFTER UPDATE ON mappings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lineage_grid_on_change();
CREATE TRIGGER lineage_grid_mappings_delete AFTER DELETE ON mappings
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lineage_grid_on_change();
CREATE TRIGGER lineage_grid_stats_insert AFTER INSERT ON mapping_stats
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lineage_grid_on_change();
CREATE TRIGGER lineage_grid_stats_update AFTER UPDATE ON mapping_stats
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lineage_grid_on_change();

-- Search words follow the grid rows: added, dropped or changed with their row's words.
CREATE FUNCTION lineage_terms_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lineage_terms (tenant_id, term, id)
    SELECT n.tenant_id, t, n.id FROM added n, unnest(string_to_array(btrim(n.search_terms), ' ')) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- Only rows whose words changed (a new mapping version) touch their terms; figures-only
-- updates (every sync batch) find nothing here. EXCEPT is hashed, never a nested loop over
-- the two transition tables; each changed row's old words go by primary-key lookups.
CREATE FUNCTION lineage_terms_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tenant_id, id, search_terms FROM removed
             EXCEPT SELECT tenant_id, id, search_terms FROM added LOOP
        DELETE FROM lineage_terms
        WHERE tenant_id = r.tenant_id AND id = r.id
          AND term = ANY (string_to_array(btrim(r.search_terms), ' '));
    END LOOP;
    INSERT INTO lineage_terms (tenant_id, term, id)
    SELECT n.tenant_id, t, n.id
    FROM (SELECT tenant_id, id, search_terms FROM added
          EXCEPT SELECT tenant_id, id, search_terms FROM removed) n,
         unnest(string_to_array(btrim(n.search_terms), ' ')) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION lineage_terms_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM lineage_terms x
    USING removed o, unnest(string_to_array(btrim(o.search_terms), ' ')) t
    WHERE x.tenant_id = o.tenant_id AND x.term = t AND x.id = o.id;
    RETURN NULL;
END $$;
CREATE TRIGGER lineage_terms_insert AFTER INSERT ON lineage_grid
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION lineage_terms_on_insert();
CREATE TRIGGER lineage_terms_update AFTER UPDATE ON lineage_grid
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION lineage_terms_on_update();
CREATE TRIGGER lineage_terms_delete AFTER DELETE ON lineage_grid
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION lineage_terms_on_delete();

-- What existed before this migration.
SELECT lineage_grid_refresh(array_agg(tenant_id), array_agg(mapping_id)) FROM mappings WHERE is_head;

-- The grid no longer reads these.
DROP INDEX IF EXISTS mappings_grid_search_idx;
DROP INDEX IF EXISTS mappings_grid_created_idx;
