-- Jobs whose process stopped, whole rows, for any tenant: the reaper gets each job's tenant
-- from its own row (the scope it resumes under is minted from the job, never from input).
CREATE OR REPLACE FUNCTION stale_jobs(p_stale_after interval)
RETURNS SETOF jobs
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.* FROM jobs j WHERE j.id IN (SELECT r.id FROM jobs_to_resume(p_stale_after) r)
    ORDER BY j.created_at
$$;
