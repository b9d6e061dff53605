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
DROP TABLE IF EXISTS proposal_job_items;
