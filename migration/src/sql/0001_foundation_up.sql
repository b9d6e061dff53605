-- Foundation schema. Every tenant-owned table carries tenant_id NOT NULL, an index led by
-- tenant_id, and a row-level-security policy bound to the per-transaction setting app.tenant_id.

CREATE OR REPLACE FUNCTION app_current_tenant() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- The global baseline namespace for vectors belongs to this reserved tenant.
INSERT INTO tenants (id, name) VALUES ('00000000-0000-0000-0000-000000000000', 'baseline');

CREATE TABLE users (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email              text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    password_hash      text,
    role               text NOT NULL CHECK (role IN ('ADMIN', 'EDITOR', 'VIEWER')),
    status             text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INVITED', 'DISABLED')),
    invite_token_hash  text UNIQUE,
    invite_expires_at  timestamptz,
    last_login_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Login is by email alone, so an email belongs to one user across all tenants.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_tenant_idx ON users (tenant_id, id);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    prefix        text NOT NULL,
    key_hash      text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('ADMIN', 'EDITOR', 'VIEWER')),
    created_by    uuid,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);

CREATE TABLE connectors (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('CSV', 'REST', 'POSTGRES')),
    config          jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'PAUSED', 'ERROR')),
    created_by      uuid,
    last_synced_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connectors_name_key ON connectors (tenant_id, lower(name));
CREATE INDEX connectors_tenant_idx ON connectors (tenant_id, id);

CREATE TABLE source_schemas (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id   uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    source_entity  text NOT NULL,
    version        integer NOT NULL CHECK (version > 0),
    fingerprint    text NOT NULL,
    is_current     boolean NOT NULL DEFAULT true,
    discovered_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, connector_id, source_entity, version)
);
CREATE UNIQUE INDEX source_schemas_current_key ON source_schemas (tenant_id, connector_id, source_entity) WHERE is_current;

CREATE TABLE source_fields (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    source_schema_id  uuid NOT NULL REFERENCES source_schemas(id) ON DELETE CASCADE,
    connector_id      uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    source_entity     text NOT NULL,
    name              text NOT NULL,
    data_type         text NOT NULL,
    nullable          boolean NOT NULL DEFAULT true,
    description       text,
    samples           jsonb NOT NULL DEFAULT '[]',
    position          integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, source_schema_id, name)
);
CREATE INDEX source_fields_connector_idx ON source_fields (tenant_id, connector_id, source_entity);

CREATE TABLE ontologies (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         text NOT NULL,
    version      integer NOT NULL CHECK (version > 0),
    description  text,
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name, version)
);
CREATE UNIQUE INDEX ontologies_active_key ON ontologies (tenant_id) WHERE is_active;

CREATE TABLE canonical_entities (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ontology_id  uuid NOT NULL REFERENCES ontologies(id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text,
    position     integer NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, ontology_id, name)
);

CREATE TABLE canonical_fields (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity_id    uuid NOT NULL REFERENCES canonical_entities(id) ON DELETE CASCADE,
    name         text NOT NULL,
    data_type    text NOT NULL CHECK (data_type IN ('string', 'integer', 'decimal', 'boolean', 'date', 'timestamp', 'currency', 'email', 'phone', 'url', 'json')),
    description  text,
    aliases      text[] NOT NULL DEFAULT '{}',
    is_required  boolean NOT NULL DEFAULT false,
    position     integer NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, entity_id, name)
);

-- One row per mapping version; mapping_id names the mapping across its versions.
CREATE TABLE mappings (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    mapping_id          uuid NOT NULL,
    version             integer NOT NULL CHECK (version > 0),
    is_head             boolean NOT NULL DEFAULT true,
    is_active           boolean NOT NULL DEFAULT false,
    status              text NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'SUPERSEDED', 'REJECTED')),
    connector_id        uuid REFERENCES connectors(id) ON DELETE SET NULL,
    source_system       text NOT NULL,
    source_entity       text NOT NULL,
    source_field        text NOT NULL,
    canonical_field_id  uuid NOT NULL REFERENCES canonical_fields(id),
    canonical_entity    text NOT NULL,
    canonical_field     text NOT NULL,
    mapping_type        text NOT NULL DEFAULT 'DIRECT' CHECK (mapping_type IN ('DIRECT', 'COMPUTED', 'TRANSFORMED')),
    transform           jsonb,
    method              text NOT NULL CHECK (method IN ('MANUAL', 'EXACT', 'RAG', 'LLM')),
    confidence          double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    rolled_back_from    integer,
    note                text,
    created_by          uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    approved_by         uuid,
    approved_at         timestamptz,
    UNIQUE (tenant_id, mapping_id, version),
    CHECK (NOT is_active OR approved_at IS NOT NULL)
);
CREATE UNIQUE INDEX mappings_active_key ON mappings (tenant_id, mapping_id) WHERE is_active;
CREATE UNIQUE INDEX mappings_head_key ON mappings (tenant_id, mapping_id) WHERE is_head;
CREATE UNIQUE INDEX mappings_source_key ON mappings (tenant_id, source_system, source_entity, lower(source_field)) WHERE is_head;
CREATE INDEX mappings_canonical_idx ON mappings (tenant_id, canonical_entity, canonical_field);
CREATE INDEX mappings_connector_idx ON mappings (tenant_id, connector_id);

CREATE TABLE mapping_reviews (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    mapping_id     uuid,
    connector_id   uuid REFERENCES connectors(id) ON DELETE SET NULL,
    source_system  text NOT NULL,
    source_entity  text NOT NULL,
    source_field   text NOT NULL,
    -- The field as proposed (type, description, samples) and the ranked candidates.
    proposal       jsonb NOT NULL,
    confidence     double precision NOT NULL DEFAULT 0,
    reason         text NOT NULL CHECK (reason IN ('REVIEW_BAND', 'LOW_CONFIDENCE', 'CONFLICT', 'NO_CANDIDATE')),
    status         text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'EDITED', 'REJECTED')),
    decided_by     uuid,
    decided_at     timestamptz,
    decision       jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mapping_reviews_queue_idx ON mapping_reviews (tenant_id, status, created_at);
-- One open review per source field: proposing it again refreshes the open item.
CREATE UNIQUE INDEX mapping_reviews_pending_key ON mapping_reviews (tenant_id, source_system, source_entity, lower(source_field))
    WHERE status = 'PENDING';

-- Vectors for RAG: approved mappings and seen source fields (tenant), canonical knowledge
-- (the baseline tenant, readable by all).
CREATE TABLE mapping_embeddings (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('MAPPING', 'CANONICAL_FIELD', 'SOURCE_FIELD')),
    mapping_id        uuid,
    canonical_entity  text,
    canonical_field   text,
    source_system     text,
    source_entity     text,
    source_field      text,
    content           text NOT NULL,
    content_hash      text NOT NULL,
    model             text NOT NULL,
    embedding         vector(384) NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mapping_embeddings_identity_key ON mapping_embeddings (tenant_id, kind, content_hash,
    (coalesce(canonical_entity, '')), (coalesce(canonical_field, '')),
    (coalesce(source_system, '')), (coalesce(source_entity, '')), (coalesce(source_field, '')));
CREATE INDEX mapping_embeddings_tenant_idx ON mapping_embeddings (tenant_id, kind);
CREATE INDEX mapping_embeddings_hnsw_idx ON mapping_embeddings USING hnsw (embedding vector_cosine_ops);

CREATE TABLE canonical_events (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity            text NOT NULL,
    canonical_id      uuid NOT NULL,
    data              jsonb NOT NULL,
    extras            jsonb NOT NULL DEFAULT '{}',
    errors            jsonb NOT NULL DEFAULT '[]',
    source_system     text NOT NULL,
    connector_id      uuid REFERENCES connectors(id) ON DELETE SET NULL,
    source_record_id  text NOT NULL,
    record_version    text NOT NULL DEFAULT '',
    schema_version    integer NOT NULL DEFAULT 1,
    trace_id          text,
    emitted_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, source_system, entity, source_record_id, record_version)
);
CREATE INDEX canonical_events_entity_idx ON canonical_events (tenant_id, entity, emitted_at);
CREATE INDEX canonical_events_record_idx ON canonical_events (tenant_id, canonical_id);

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

CREATE TABLE drift_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id    uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    source_entity   text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('FIELD_ADDED', 'FIELD_REMOVED', 'FIELD_RENAMED', 'TYPE_CHANGED')),
    field_name      text NOT NULL,
    previous        jsonb,
    current         jsonb,
    schema_version  integer NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_events_connector_idx ON drift_events (tenant_id, connector_id, detected_at);

CREATE TABLE jobs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          text NOT NULL,
    status        text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'PARTIAL', 'CANCELLED')),
    connector_id  uuid REFERENCES connectors(id) ON DELETE SET NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    counts        jsonb NOT NULL DEFAULT '{}',
    errors        jsonb NOT NULL DEFAULT '[]',
    attempts      integer NOT NULL DEFAULT 0,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    heartbeat_at  timestamptz
);
CREATE INDEX jobs_status_idx ON jobs (tenant_id, status, created_at);

CREATE TABLE audit_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    actor_kind   text NOT NULL CHECK (actor_kind IN ('USER', 'API_KEY', 'SYSTEM')),
    actor_id     uuid,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text,
    old_value    jsonb,
    new_value    jsonb,
    trace_id     text,
    ip           text,
    user_agent   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, created_at DESC);

-- The audit log is append-only, whoever connects.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Row-level security on every tenant-owned table.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'api_keys', 'connectors', 'source_schemas', 'source_fields',
        'ontologies', 'canonical_entities', 'canonical_fields', 'mappings', 'mapping_reviews',
        'mapping_embeddings', 'canonical_events', 'lineage', 'drift_events', 'jobs', 'audit_log']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
                       'WITH CHECK (tenant_id = app_current_tenant())', t);
    END LOOP;
END $$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
-- Every tenant may read the global baseline vectors; only the owner writes them.
CREATE POLICY baseline_read ON mapping_embeddings FOR SELECT
    USING (tenant_id = '00000000-0000-0000-0000-000000000000');

-- Credential look-ups happen before a tenant is known; these run as the table owner and
-- return only what authentication needs.
CREATE OR REPLACE FUNCTION auth_user_by_email(p_email text)
RETURNS TABLE (id uuid, tenant_id uuid, password_hash text, role text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.tenant_id, u.password_hash, u.role, u.status FROM users u WHERE lower(u.email) = lower(p_email)
$$;

CREATE OR REPLACE FUNCTION auth_user_by_invite(p_token_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, invite_expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.tenant_id, u.invite_expires_at FROM users u
    WHERE u.invite_token_hash = p_token_hash AND u.status = 'INVITED'
$$;

CREATE OR REPLACE FUNCTION auth_api_key_by_hash(p_key_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, role text, expires_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT k.id, k.tenant_id, k.role, k.expires_at, k.revoked_at FROM api_keys k WHERE k.key_hash = p_key_hash
$$;
