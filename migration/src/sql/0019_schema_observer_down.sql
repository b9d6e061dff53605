DROP FUNCTION IF EXISTS lease_due_schema_checks(interval, integer);
ALTER TABLE drift_events DROP COLUMN IF EXISTS breaking;
DROP TRIGGER IF EXISTS connectors_observed ON connectors;
DROP FUNCTION IF EXISTS observe_new_connector();
DROP TABLE IF EXISTS schema_observers;
