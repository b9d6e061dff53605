-- How each connector's source has answered lately: from connection tests and sync runs. The
-- state is derived (no failures: healthy; some: degraded; `health::FAILING_AFTER` or more in a
-- row: failing, and the connector's status ERROR until a success).
CREATE TABLE connector_health (
    tenant_id             uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id          uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    last_success_at       timestamptz,
    last_error            text,
    last_error_at         timestamptz,
    checked_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id)
);
ALTER TABLE connector_health ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON connector_health USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
