DROP FUNCTION IF EXISTS stale_jobs(interval);
