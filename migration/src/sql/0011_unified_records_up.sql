-- Unified records: canonical records of one entity that describe the same real-world thing,
-- linked into one record whose every value names the source record it came from.

-- Normalized key values of canonical records. `kind` says what a value is for:
--   'k:<role>'  deterministic keys (normalized email, website domain, identifiers)
--   'b:<name>'  blocking keys (only records sharing one are compared: E.164 phone, name sounds)
--   'self'      a source id under which other records refer to this one
--   'ref:<entity>' the source id of the record of <entity> this one refers to
CREATE TABLE record_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL,
    kind          text NOT NULL,
    value         text NOT NULL,
    canonical_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, entity, kind, value, canonical_id)
);
CREATE INDEX record_keys_record_idx ON record_keys (tenant_id, entity, canonical_id);

-- Which unified record each canonical record belongs to, and why.
CREATE TABLE record_links (
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL,
    canonical_id  uuid NOT NULL,
    unified_id    uuid NOT NULL,
    rule          text NOT NULL CHECK (rule IN ('NEW', 'KEY', 'SCORE', 'MANUAL')),
    score         float8,
    evidence      jsonb NOT NULL DEFAULT '{}',
    linked_by     text,
    linked_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, canonical_id)
);
CREATE INDEX record_links_unified_idx ON record_links (tenant_id, entity, unified_id);

-- The golden record: survivorship's values, each with its provenance and the alternatives.
CREATE TABLE unified_records (
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL,
    id            uuid NOT NULL,
    data          jsonb NOT NULL DEFAULT '{}',
    provenance    jsonb NOT NULL DEFAULT '{}',
    alternatives  jsonb NOT NULL DEFAULT '{}',
    member_count  integer NOT NULL DEFAULT 0,
    search        tsvector NOT NULL DEFAULT ''::tsvector,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, id)
);
CREATE INDEX unified_records_search_idx ON unified_records USING gin (search);
-- Equality filters on any canonical field (`data @> {"field": value}`).
CREATE INDEX unified_records_data_idx ON unified_records USING gin (data jsonb_path_ops);
CREATE INDEX unified_records_updated_idx ON unified_records (tenant_id, entity, updated_at, id);

-- Pairs in the review band, and what a person decided of them.
CREATE TABLE match_candidates (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL,
    left_id       uuid NOT NULL,
    right_id      uuid NOT NULL,
    score         float8 NOT NULL,
    evidence      jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'PENDING'
                  CHECK (status IN ('PENDING', 'LINKED', 'KEPT_APART', 'RESOLVED')),
    decided_by    text,
    decided_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (left_id < right_id),
    UNIQUE (tenant_id, entity, left_id, right_id)
);
CREATE INDEX match_candidates_queue_idx ON match_candidates (tenant_id, entity, status, id);

-- A person's word on a pair of canonical records; no sync overrides it.
CREATE TABLE match_decisions (
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL,
    left_id       uuid NOT NULL,
    right_id      uuid NOT NULL,
    decision      text NOT NULL CHECK (decision IN ('LINK', 'APART')),
    decided_by    text NOT NULL,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (left_id < right_id),
    PRIMARY KEY (tenant_id, entity, left_id, right_id)
);
CREATE INDEX match_decisions_right_idx ON match_decisions (tenant_id, entity, right_id);

-- What happened to a unified record: created, updated, linked, merged, split, unlinked.
CREATE TABLE unified_history (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL,
    unified_id    uuid NOT NULL,
    kind          text NOT NULL,
    actor         text,
    detail        jsonb NOT NULL DEFAULT '{}',
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unified_history_record_idx ON unified_history (tenant_id, entity, unified_id, id);

-- Survivorship per entity ('' field: the entity's default) and field.
CREATE TABLE survivorship_rules (
    tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity           text NOT NULL,
    field            text NOT NULL DEFAULT '',
    rule             text NOT NULL
                     CHECK (rule IN ('SOURCE_PRIORITY', 'MOST_RECENT', 'MOST_COMPLETE', 'MOST_FREQUENT')),
    source_priority  text[] NOT NULL DEFAULT '{}',
    updated_by       text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, field)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['record_keys', 'record_links', 'unified_records', 'match_candidates',
                             'match_decisions', 'unified_history', 'survivorship_rules']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
                       'WITH CHECK (tenant_id = app_current_tenant())', t);
    END LOOP;
END $$;
-- Under row-level security PostgreSQL will not use an index for a non-leakproof operator such
-- as jsonb `@>` or tsvector `@@` (see 0005): the records query's equality filters and search
-- would scan all of a tenant's records. These return the matching ids of the current tenant
-- (app_current_tenant(), set by the request's transaction; nothing when unset) through the GIN
-- indexes; the query joins them back under RLS.
CREATE OR REPLACE FUNCTION unified_ids_containing(p_entity text, p_values jsonb)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id FROM unified_records u
    WHERE u.tenant_id = app_current_tenant() AND u.entity = p_entity AND u.data @> p_values
$$;
CREATE OR REPLACE FUNCTION unified_ids_matching(p_entity text, p_query tsquery)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id FROM unified_records u
    WHERE u.tenant_id = app_current_tenant() AND u.entity = p_entity AND u.search @@ p_query
$$;
