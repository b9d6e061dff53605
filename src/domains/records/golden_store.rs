//! Rows of golden records: the values survivorship chose, their history, the tenant's rules.
use sea_orm::sea_query::ArrayType;
use sea_orm::DbErr;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::store::{array, execute, query, uuids};
use super::survivorship::{RuleSpec, Rules, SurvivorshipRule};
use crate::tenancy::ScopedTx;

/// Writes golden records (created or updated) and removes unified records left without members.
/// Returns the ids created.
pub async fn write_golden(
    tx: &ScopedTx<'_>,
    entity: &str,
    golden: &[(Uuid, Map<String, Json>, usize)],
    emptied: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    if !emptied.is_empty() {
        execute(
            tx,
            "DELETE FROM unified_records WHERE tenant_id = $1 AND entity = $2 AND id = ANY($3)",
            vec![tx.tenant_id().into(), entity.into(), uuids(emptied)],
        )
        .await?;
    }
    if golden.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query(
        tx,
        "INSERT INTO unified_records (tenant_id, entity, id, data, member_count, search)
         SELECT $1, $2, id, d, n,
                to_tsvector('simple', coalesce((SELECT string_agg(v, ' ') FROM jsonb_each_text(d) AS e(k, v)), ''))
         FROM unnest($3::uuid[], $4::jsonb[], $5::int[]) AS t(id, d, n)
         ON CONFLICT (tenant_id, entity, id) DO UPDATE SET data = EXCLUDED.data,
             member_count = EXCLUDED.member_count, search = EXCLUDED.search,
             version = unified_records.version + 1, updated_at = now()
         RETURNING id, (xmax = 0) AS created",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(golden.iter().map(|g| g.0), ArrayType::Uuid),
            array(golden.iter().map(|g| Json::Object(g.1.clone())), ArrayType::Json),
            array(golden.iter().map(|g| g.2 as i32), ArrayType::Int),
        ],
    )
    .await?;
    let mut created = Vec::new();
    for r in rows {
        if r.try_get::<bool>("", "created")? {
            created.push(r.try_get("", "id")?);
        }
    }
    Ok(created)
}

/// One line of a unified record's history.
pub struct HistoryEntry {
    pub unified_id: Uuid,
    pub kind: &'static str,
    pub actor: Option<String>,
    pub detail: Json,
}

pub async fn write_history(
    tx: &ScopedTx<'_>,
    entity: &str,
    entries: &[HistoryEntry],
) -> Result<(), DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO unified_history (id, tenant_id, entity, unified_id, kind, actor, detail)
         SELECT id, $1, $2, u, k, NULLIF(a, ''), d FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[])
              AS t(id, u, k, a, d)",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(entries.iter().map(|_| Uuid::now_v7()), ArrayType::Uuid),
            array(entries.iter().map(|e| e.unified_id), ArrayType::Uuid),
            array(entries.iter().map(|e| e.kind.to_owned()), ArrayType::String),
            array(entries.iter().map(|e| e.actor.clone().unwrap_or_default()), ArrayType::String),
            array(entries.iter().map(|e| e.detail.clone()), ArrayType::Json),
        ],
    )
    .await
    .map(drop)
}

/// The tenant's survivorship rules of an entity (MOST_RECENT where none is set).
pub async fn rules(tx: &ScopedTx<'_>, entity: &str) -> Result<Rules, DbErr> {
    let rows = query(
        tx,
        "SELECT field, rule, source_priority FROM survivorship_rules WHERE tenant_id = $1 AND entity = $2",
        vec![tx.tenant_id().into(), entity.into()],
    )
    .await?;
    let mut rules = Rules::default();
    for r in rows {
        let field: String = r.try_get("", "field")?;
        let rule: String = r.try_get("", "rule")?;
        let spec = RuleSpec {
            rule: rule.parse().unwrap_or(SurvivorshipRule::MostRecent),
            source_priority: r.try_get("", "source_priority")?,
        };
        if field.is_empty() {
            rules.entity = spec;
        } else {
            rules.fields.insert(field, spec);
        }
    }
    Ok(rules)
}

pub async fn save_rule(
    tx: &ScopedTx<'_>,
    entity: &str,
    field: &str,
    spec: &RuleSpec,
    by: &str,
) -> Result<(), DbErr> {
    execute(
        tx,
        "INSERT INTO survivorship_rules (tenant_id, entity, field, rule, source_priority, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, entity, field) DO UPDATE SET rule = EXCLUDED.rule,
             source_priority = EXCLUDED.source_priority, updated_by = EXCLUDED.updated_by, updated_at = now()",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            field.into(),
            spec.rule.as_str().into(),
            array(spec.source_priority.iter().cloned(), ArrayType::String),
            by.into(),
        ],
    )
    .await
    .map(drop)
}

/// Unified ids of every record of an entity (a rule change recomputes them), a page at a time.
pub async fn unified_ids_after(
    tx: &ScopedTx<'_>,
    entity: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Uuid>, DbErr> {
    let rows = query(
        tx,
        "SELECT id FROM unified_records WHERE tenant_id = $1 AND entity = $2 AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4",
        vec![tx.tenant_id().into(), entity.into(), after.into(), (limit as i64).into()],
    )
    .await?;
    rows.iter().map(|r| r.try_get("", "id")).collect()
}
