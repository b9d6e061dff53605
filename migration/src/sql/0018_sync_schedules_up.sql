-- When each connector syncs by itself: every `interval_secs`, or on a cron expression read in
-- `timezone`. `next_run_at` is the slot the schedule waits for (null while disabled); a process
-- starts it by moving `next_run_at` on in the same transaction that queues the run, so any
-- number of processes start each slot once, and slots missed while nothing ran collapse into one.
CREATE TABLE sync_schedules (
    tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id   uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    interval_secs  integer CHECK (interval_secs > 0),
    cron           text,
    timezone       text NOT NULL DEFAULT 'UTC',
    enabled        boolean NOT NULL DEFAULT true,
    next_run_at    timestamptz,
    -- A process looking at the due slot (so two do not both work it out); expires by itself.
    leased_until   timestamptz,
    last_slot_at   timestamptz,
    last_run_id    uuid,
    last_outcome   text,
    last_message   text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id),
    CHECK ((interval_secs IS NULL) <> (cron IS NULL))
);
CREATE INDEX sync_schedules_due_idx ON sync_schedules (next_run_at) WHERE enabled;
ALTER TABLE sync_schedules ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_schedules USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Due slots of any tenant, each leased for `p_lease` to the caller (rows another process holds
-- are skipped): the caller then starts each under its own row's tenant.
CREATE OR REPLACE FUNCTION lease_due_schedules(p_lease interval, p_limit integer)
RETURNS TABLE (tenant_id uuid, connector_id uuid, next_run_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE sync_schedules s SET leased_until = now() + p_lease
    FROM (SELECT d.tenant_id, d.connector_id FROM sync_schedules d
          WHERE d.enabled AND d.next_run_at <= now()
            AND (d.leased_until IS NULL OR d.leased_until < now())
          ORDER BY d.next_run_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) due
    WHERE s.tenant_id = due.tenant_id AND s.connector_id = due.connector_id
    RETURNING s.tenant_id, s.connector_id, s.next_run_at
$$;

-- Which process holds a job: the one that adopted it (below) may claim it while its heartbeat
-- is fresh.
ALTER TABLE jobs ADD COLUMN claimed_by text;

-- Jobs no live process holds, of any tenant, taken for `p_owner` in one statement (rows
-- another process is adopting are skipped, and an adopted row looks held to everyone else):
-- queued ones nobody has picked up for `p_queued_after` (queued by a process without workers)
-- and running ones whose process stopped beating for `p_running_after`.
CREATE OR REPLACE FUNCTION adopt_jobs(p_owner text, p_queued_after interval,
                                      p_running_after interval, p_limit integer)
RETURNS SETOF jobs
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE jobs j SET heartbeat_at = now(), claimed_by = p_owner
    FROM (SELECT k.id FROM jobs k
          WHERE k.kind = 'SYNC'
            AND ((k.status = 'QUEUED' AND coalesce(k.heartbeat_at, k.created_at) < now() - p_queued_after)
              OR (k.status = 'RUNNING' AND coalesce(k.heartbeat_at, k.created_at) < now() - p_running_after))
          ORDER BY k.created_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) free
    WHERE j.id = free.id
    RETURNING j.*
$$;

-- Replaced by adopt_jobs, which takes what it returns.
DROP FUNCTION IF EXISTS stale_jobs(interval);
DROP FUNCTION IF EXISTS jobs_to_resume(interval);
