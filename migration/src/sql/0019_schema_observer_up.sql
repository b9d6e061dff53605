-- The schema observer of each connector: introspects on its own cadence (no records read),
-- records drift, and applies the connector's drift policy: IGNORE (record only), PROPAGATE
-- (new fields through proposals, removed fields' mappings deprecated), PAUSE (scheduled syncs
-- held until a person acknowledges the drift). One row per connector, made with the connector.
CREATE TABLE schema_observers (
    tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id     uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    drift_policy     text NOT NULL DEFAULT 'PROPAGATE' CHECK (drift_policy IN ('IGNORE', 'PROPAGATE', 'PAUSE')),
    -- Seconds between checks; null: the operator's default (`observer.check_secs`).
    check_secs       integer CHECK (check_secs > 0),
    next_check_at    timestamptz NOT NULL DEFAULT now(),
    leased_until     timestamptz,
    last_checked_at  timestamptz,
    last_error       text,
    -- PAUSE: set by drift, cleared by acknowledgeDrift; scheduled slots start nothing meanwhile.
    held_since       timestamptz,
    held_reason      text,
    PRIMARY KEY (tenant_id, connector_id)
);
CREATE INDEX schema_observers_due_idx ON schema_observers (next_check_at);
ALTER TABLE schema_observers ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON schema_observers USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

INSERT INTO schema_observers (tenant_id, connector_id)
SELECT tenant_id, id FROM connectors ON CONFLICT DO NOTHING;

-- Every new connector is observed (as the inserting tenant: row-level security holds).
CREATE OR REPLACE FUNCTION observe_new_connector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO schema_observers (tenant_id, connector_id) VALUES (NEW.tenant_id, NEW.id)
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER connectors_observed AFTER INSERT ON connectors
    FOR EACH ROW EXECUTE FUNCTION observe_new_connector();

-- A drift is breaking when it takes away or retypes a field a mapping reads.
ALTER TABLE drift_events ADD COLUMN breaking boolean NOT NULL DEFAULT false;

-- Due checks of any tenant, each leased to the caller (rows another process holds skipped).
CREATE OR REPLACE FUNCTION lease_due_schema_checks(p_lease interval, p_limit integer)
RETURNS TABLE (tenant_id uuid, connector_id uuid, next_check_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE schema_observers o SET leased_until = now() + p_lease
    FROM (SELECT d.tenant_id, d.connector_id FROM schema_observers d
          JOIN connectors c ON c.id = d.connector_id
          WHERE d.next_check_at <= now() AND c.status <> 'PAUSED'
            AND (d.leased_until IS NULL OR d.leased_until < now())
          ORDER BY d.next_check_at
          LIMIT p_limit
          FOR UPDATE OF d SKIP LOCKED) due
    WHERE o.tenant_id = due.tenant_id AND o.connector_id = due.connector_id
    RETURNING o.tenant_id, o.connector_id, o.next_check_at
$$;
