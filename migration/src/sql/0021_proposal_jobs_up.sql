-- Bulk proposals as a job (kind PROPOSE): what each of its fields became, one row per field,
-- written in the transaction of the proposals' own writes (with the job's checkpoint), so a
-- resumed job neither loses nor repeats a field.
CREATE TABLE proposal_job_items (
    tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    job_id     uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    position   integer NOT NULL,
    proposal   jsonb NOT NULL,
    PRIMARY KEY (job_id, position)
);
CREATE INDEX proposal_job_items_tenant_idx ON proposal_job_items (tenant_id, job_id, position);
ALTER TABLE proposal_job_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON proposal_job_items USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());

-- Jobs of every kind are adopted when no live process holds them (0018 adopted sync runs only).
CREATE OR REPLACE FUNCTION adopt_jobs(p_owner text, p_queued_after interval,
                                      p_running_after interval, p_limit integer)
RETURNS SETOF jobs
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE jobs j SET heartbeat_at = now(), claimed_by = p_owner
    FROM (SELECT k.id FROM jobs k
          WHERE k.kind IN ('SYNC', 'PROPOSE')
            AND ((k.status = 'QUEUED' AND coalesce(k.heartbeat_at, k.created_at) < now() - p_queued_after)
              OR (k.status = 'RUNNING' AND coalesce(k.heartbeat_at, k.created_at) < now() - p_running_after))
          ORDER BY k.created_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) free
    WHERE j.id = free.id
    RETURNING j.*
$$;
