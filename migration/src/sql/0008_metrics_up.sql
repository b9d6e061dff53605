-- Figures across tenants for /metrics: a count only, no tenant data. Runs as the owner so
-- row-level security does not reduce it to one tenant (the app role has none set on /metrics).
CREATE OR REPLACE FUNCTION pending_reviews_total() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*) FROM mapping_reviews WHERE status = 'PENDING'
$$;
