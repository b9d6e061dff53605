-- Tenants' webhook endpoints and the deliveries owed to them. A delivery row is written in the
-- transaction of what it reports (an outbox: nothing is sent for work rolled back, nothing
-- committed goes unsent), then sent by a worker with retries, signed per Standard Webhooks.
CREATE TABLE webhook_endpoints (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                   text NOT NULL,
    description           text NOT NULL DEFAULT '',
    event_types           text[] NOT NULL,
    -- whsec_… sealed under the secrets key (shown to the tenant once).
    secret_sealed         text NOT NULL,
    enabled               boolean NOT NULL DEFAULT true,
    disabled_reason       text,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id);
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_endpoints USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_type        text NOT NULL,
    -- The message id receivers deduplicate by (webhook-id), the same on every attempt.
    message_id        text NOT NULL,
    payload           jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    leased_until      timestamptz,
    last_status_code  integer,
    last_error        text,
    last_attempt_at   timestamptz,
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_deliveries USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Due deliveries of any tenant, each leased to the caller (rows another process holds skipped).
CREATE OR REPLACE FUNCTION lease_due_deliveries(p_lease interval, p_limit integer)
RETURNS TABLE (tenant_id uuid, id uuid, next_attempt_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE webhook_deliveries w SET leased_until = now() + p_lease
    FROM (SELECT d.id FROM webhook_deliveries d
          WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
            AND (d.leased_until IS NULL OR d.leased_until < now())
          ORDER BY d.next_attempt_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) due
    WHERE w.id = due.id
    RETURNING w.tenant_id, w.id, w.next_attempt_at
$$;
