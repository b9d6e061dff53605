-- One sync run of a connector at a time: a second request is refused (CONFLICT naming the
-- running one) rather than two runs reading the same source and writing the same records.
-- Unfinished duplicates left by earlier versions are cancelled first, the newest kept.
UPDATE jobs j SET status = 'CANCELLED', finished_at = now(),
    errors = errors || '[{"entity": null, "message": "cancelled: a later run of the connector was started"}]'::jsonb
WHERE j.kind = 'SYNC' AND j.status IN ('QUEUED', 'RUNNING') AND j.connector_id IS NOT NULL
  AND EXISTS (
      SELECT 1 FROM jobs k
      WHERE k.kind = 'SYNC' AND k.status IN ('QUEUED', 'RUNNING') AND k.connector_id = j.connector_id
        AND (k.created_at, k.id) > (j.created_at, j.id));
CREATE UNIQUE INDEX jobs_one_sync_per_connector ON jobs (connector_id)
    WHERE kind = 'SYNC' AND status IN ('QUEUED', 'RUNNING');
