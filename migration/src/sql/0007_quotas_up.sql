-- Per-tenant quotas. Defaults come from configuration (quotas.*); a row here overrides them for
-- one tenant (NULL = the default). Operators write it (`autonomos quota`, as the owner); the app
-- role may only read its own tenant's row.
CREATE TABLE tenant_quotas (
    tenant_id            uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    connectors           bigint CHECK (connectors >= 0),
    proposals_per_month  bigint CHECK (proposals_per_month >= 0),
    events_per_hour      bigint CHECK (events_per_hour >= 0),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenant_quotas ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_quotas FOR SELECT USING (tenant_id = app_current_tenant());

-- Metered use per period (UTC month for proposals, UTC hour for events). Charged in the same
-- transaction as the work, so work rolled back is never counted and two processes never both
-- take the last unit.
CREATE TABLE tenant_usage (
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    metric        text NOT NULL CHECK (metric IN ('PROPOSALS', 'EVENTS')),
    period_start  timestamptz NOT NULL,
    used          bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (tenant_id, metric, period_start)
);
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_usage USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
