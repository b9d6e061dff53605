DROP FUNCTION IF EXISTS lease_due_deliveries(interval, integer);
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhook_endpoints;
