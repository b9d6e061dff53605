DROP FUNCTION IF EXISTS adopt_jobs(text, interval, interval, integer);
ALTER TABLE jobs DROP COLUMN IF EXISTS claimed_by;
DROP FUNCTION IF EXISTS lease_due_schedules(interval, integer);
DROP TABLE IF EXISTS sync_schedules;
CREATE OR REPLACE FUNCTION jobs_to_resume(p_stale_after interval)
RETURNS TABLE (id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.id, j.tenant_id FROM jobs j
    WHERE j.kind = 'SYNC' AND j.status IN ('QUEUED', 'RUNNING')
      AND coalesce(j.heartbeat_at, j.created_at) < now() - p_stale_after
    ORDER BY j.created_at
    LIMIT 100
$$;
-- Jobs whose process stopped, whole rows, for any tenant: the reaper gets each job's tenant
-- from its own row (the scope it resumes under is minted from the job, never from input).
CREATE OR REPLACE FUNCTION stale_jobs(p_stale_after interval)
RETURNS SETOF jobs
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.* FROM jobs j WHERE j.id IN (SELECT r.id FROM jobs_to_resume(p_stale_after) r)
    ORDER BY j.created_at
$$;
