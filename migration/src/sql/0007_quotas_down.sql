DROP TABLE IF EXISTS tenant_usage;
DROP TABLE IF EXISTS tenant_quotas;
