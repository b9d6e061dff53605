-- What entity resolution has learned of a tenant's entity (Fellegi–Sunter's m per field and
-- level, estimated from the compared pairs a strong identifier links; u and the prior as built
-- in), and the evidence it was learned from: how many compared pairs showed each pattern of
-- levels.
-- Patterns accumulate across runs, so a model sharpens as a tenant grows.
CREATE TABLE match_models (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity      text NOT NULL,
    -- {"fields": [...], "patterns": {"<level per field, '|'-separated>": count},
    --  "defaults": {"<field>": {"<level>": [m, u]}}}
    patterns    jsonb NOT NULL,
    -- {"prior": log2 odds, "levels": {"<field>": {"<level>": [m, u]}}, "pairs": n, "anchored": n}
    -- (null while the evidence is too thin)
    model       jsonb NOT NULL,
    trained_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity)
);
ALTER TABLE match_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON match_models USING (tenant_id = app_current_tenant())
    WITH CHECK (tenant_id = app_current_tenant());
