//! Rows of entity resolution: record keys, links, golden records, review candidates, decisions,
//! history, survivorship rules. Every statement filters by the transaction's tenant (RLS does too).
//!
//! Lookups: rows are read by id as `unnest(ids) CROSS JOIN LATERAL (one table, by the id,
//! OFFSET 0)`, one lookup per id and table, never a join the planner may reorder. While a
//! growing tenant's statistics still say "empty" (a first sync), the planner takes every scan
//! as returning one row and prefers scanning the tenant's rows with the id as a filter, once
//! per id: 1.1 s to read 1,500 records' members that the index reads in a few ms. `OFFSET 0`
//! keeps each lookup from being flattened into a join, and the indexes lead with the ids they
//! look up (migration 0013), so the only index a lookup can use is the right one.
use std::collections::HashMap;

use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::cluster::RecordView;
use super::survivorship::Member;
use crate::tenancy::ScopedTx;

pub(super) fn array<T: Into<Value>>(items: impl IntoIterator<Item = T>, ty: ArrayType) -> Value {
    Value::Array(
        ty,
        Some(Box::new(items.into_iter().map(Into::into).collect())),
    )
}

pub(super) fn uuids(ids: &[Uuid]) -> Value {
    array(ids.iter().copied(), ArrayType::Uuid)
}

pub(super) async fn query(
    tx: &ScopedTx<'_>,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    tx.conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
}

pub(super) async fn execute(
    tx: &ScopedTx<'_>,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, DbErr> {
    Ok(tx
        .conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .rows_affected())
}

fn object(j: Json) -> Map<String, Json> {
    match j {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// One transaction at a time resolves an entity of a tenant (two runs linking the same records
/// at once would each miss the other's links).
pub async fn lock_entity(tx: &ScopedTx<'_>, entity: &str) -> Result<(), DbErr> {
    execute(
        tx,
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 7))",
        vec![tx.tenant_id().to_string().into(), entity.into()],
    )
    .await
    .map(drop)
}

/// For the rest of the transaction, tables are read through their indexes (see the caller).
pub async fn lookups_by_index(tx: &ScopedTx<'_>) -> Result<(), DbErr> {
    execute(tx, "SET LOCAL enable_seqscan = off", Vec::new())
        .await
        .map(drop)
}

/// Replaces the keys of these records (`keys`: each record's without repeats; the caller holds
/// the entity's lock, so nothing else writes them meanwhile).
pub async fn replace_keys(
    tx: &ScopedTx<'_>,
    entity: &str,
    ids: &[Uuid],
    keys: &[(Uuid, String, String)],
) -> Result<(), DbErr> {
    let t = tx.tenant_id();
    execute(
        tx,
        "DELETE FROM record_keys WHERE tenant_id = $1 AND entity = $2 AND canonical_id = ANY($3)",
        vec![t.into(), entity.into(), uuids(ids)],
    )
    .await?;
    if keys.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO record_keys (tenant_id, entity, canonical_id, kind, value)
         SELECT $1, $2, id, kind, value FROM unnest($3::uuid[], $4::text[], $5::text[]) AS t(id, kind, value)",
        vec![
            t.into(),
            entity.into(),
            array(keys.iter().map(|k| k.0), ArrayType::Uuid),
            array(keys.iter().map(|k| k.1.clone()), ArrayType::String),
            array(keys.iter().map(|k| k.2.clone()), ArrayType::String),
        ],
    )
    .await
    .map(drop)
}

/// Records holding each key, at most `cap + 1` per key (more says the key names no one thing).
pub async fn holders(
    tx: &ScopedTx<'_>,
    entity: &str,
    keys: &[(String, String)],
    cap: usize,
) -> Result<HashMap<(String, String), Vec<Uuid>>, DbErr> {
    let mut out: HashMap<(String, String), Vec<Uuid>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let rows = query(
        tx,
        "SELECT q.kind, q.value, hit.canonical_id
         FROM unnest($3::text[], $4::text[]) AS q(kind, value)
         CROSS JOIN LATERAL (SELECT k.canonical_id FROM record_keys k
              WHERE k.tenant_id = $1 AND k.entity = $2 AND k.kind = q.kind AND k.value = q.value
              LIMIT $5) hit",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(keys.iter().map(|k| k.0.clone()), ArrayType::String),
            array(keys.iter().map(|k| k.1.clone()), ArrayType::String),
            (cap as i64 + 1).into(),
        ],
    )
    .await?;
    for r in rows {
        let key = (
            r.try_get::<String>("", "kind")?,
            r.try_get::<String>("", "value")?,
        );
        out.entry(key)
            .or_default()
            .push(r.try_get("", "canonical_id")?);
    }
    Ok(out)
}

/// Records of `kind` holding one of `values` (references both ways).
pub async fn with_keys(
    tx: &ScopedTx<'_>,
    entity: &str,
    kind: &str,
    values: &[String],
) -> Result<Vec<(String, Uuid)>, DbErr> {
    let rows = query(
        tx,
        "SELECT value, canonical_id FROM record_keys
         WHERE tenant_id = $1 AND entity = $2 AND kind = $3 AND value = ANY($4) LIMIT 1000",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            kind.into(),
            array(values.iter().cloned(), ArrayType::String),
        ],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "value")?, r.try_get("", "canonical_id")?)))
        .collect()
}

/// Keys of one kind prefix held by these records.
pub async fn keys_of(
    tx: &ScopedTx<'_>,
    entity: &str,
    ids: &[Uuid],
    kind_prefix: &str,
) -> Result<Vec<(Uuid, String, String)>, DbErr> {
    let rows = query(
        tx,
        "SELECT canonical_id, kind, value FROM record_keys
         WHERE tenant_id = $1 AND entity = $2 AND canonical_id = ANY($3) AND starts_with(kind, $4)",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            uuids(ids),
            kind_prefix.into(),
        ],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "canonical_id")?,
                r.try_get("", "kind")?,
                r.try_get("", "value")?,
            ))
        })
        .collect()
}

/// A canonical record with its current link.
#[derive(Debug, Clone)]
pub struct Linked {
    pub member: Member,
    pub unified_id: Option<Uuid>,
    pub rule: Option<String>,
}

/// Member columns (`{lineage}`: the lineage column, or an empty object when not needed).
const MEMBER_COLUMNS: &str =
    "r.id, r.source_system, r.connector_id, r.source_record_id, r.data, {lineage} AS lineage,
     r.updated_at, l.unified_id, l.rule";

fn member_columns(with_lineage: bool) -> String {
    MEMBER_COLUMNS.replace(
        "{lineage}",
        if with_lineage {
            "r.lineage"
        } else {
            "'{}'::jsonb"
        },
    )
}

fn linked(r: &QueryResult) -> Result<Linked, DbErr> {
    Ok(Linked {
        member: Member {
            id: r.try_get("", "id")?,
            source_system: r.try_get("", "source_system")?,
            connector_id: r.try_get("", "connector_id")?,
            source_record_id: r.try_get("", "source_record_id")?,
            data: object(r.try_get("", "data")?),
            lineage: object(r.try_get("", "lineage")?),
            updated_at: r.try_get("", "updated_at")?,
        },
        unified_id: r.try_get("", "unified_id")?,
        rule: r.try_get("", "rule")?,
    })
}

/// A canonical record as resolution compares it: its values and current link (no lineage).
pub struct Compared {
    pub id: Uuid,
    pub source_system: String,
    pub connector_id: Option<Uuid>,
    pub source_record_id: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub view: RecordView,
}

impl Compared {
    /// The record as a member of its unified record (without lineage, as survivorship needs).
    pub fn member(&self) -> Member {
        Member {
            id: self.id,
            source_system: self.source_system.clone(),
            connector_id: self.connector_id,
            source_record_id: self.source_record_id.clone(),
            data: self.view.data.clone(),
            lineage: Map::new(),
            updated_at: self.updated_at,
        }
    }
}

/// Canonical records by id, as resolution compares them.
pub async fn compared(
    tx: &ScopedTx<'_>,
    entity: &str,
    ids: &[Uuid],
) -> Result<Vec<Compared>, DbErr> {
    let rows = query(
        tx,
        // One lookup per id and table (see the module's note on lookups).
        "SELECT r.*, l.unified_id, l.rule FROM unnest($3::uuid[]) AS k(id)
         CROSS JOIN LATERAL (
             SELECT r.id, r.source_system, r.connector_id, r.source_record_id, r.updated_at, r.data
             FROM canonical_records r WHERE r.tenant_id = $1 AND r.entity = $2 AND r.id = k.id OFFSET 0) r
         LEFT JOIN LATERAL (
             SELECT l.unified_id, l.rule FROM record_links l
             WHERE l.tenant_id = $1 AND l.entity = $2 AND l.canonical_id = k.id OFFSET 0) l ON true",
        vec![tx.tenant_id().into(), entity.into(), uuids(ids)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Compared {
                id: r.try_get("", "id")?,
                source_system: r.try_get("", "source_system")?,
                connector_id: r.try_get("", "connector_id")?,
                source_record_id: r.try_get("", "source_record_id")?,
                updated_at: r.try_get("", "updated_at")?,
                view: RecordView {
                    data: object(r.try_get("", "data")?),
                    unified: r.try_get("", "unified_id")?,
                    rule: r.try_get("", "rule")?,
                },
            })
        })
        .collect()
}

/// The members of unified records, by unified id (with their lineage, for provenance).
pub async fn members(
    tx: &ScopedTx<'_>,
    entity: &str,
    unified: &[Uuid],
    with_lineage: bool,
) -> Result<HashMap<Uuid, Vec<Linked>>, DbErr> {
    let rows = query(
        tx,
        &format!(
            // One lookup per id and table (see the module's note on lookups).
            "SELECT {} FROM unnest($3::uuid[]) AS u(id)
             CROSS JOIN LATERAL (
                 SELECT l.canonical_id, l.unified_id, l.rule FROM record_links l
                 WHERE l.tenant_id = $1 AND l.entity = $2 AND l.unified_id = u.id OFFSET 0) l
             CROSS JOIN LATERAL (
                 SELECT * FROM canonical_records r
                 WHERE r.tenant_id = $1 AND r.entity = $2 AND r.id = l.canonical_id OFFSET 0) r
             ORDER BY r.id",
            member_columns(with_lineage)
        ),
        vec![tx.tenant_id().into(), entity.into(), uuids(unified)],
    )
    .await?;
    let mut out: HashMap<Uuid, Vec<Linked>> = HashMap::new();
    for r in &rows {
        let l = linked(r)?;
        if let Some(u) = l.unified_id {
            out.entry(u).or_default().push(l);
        }
    }
    Ok(out)
}

/// Decisions a person made on pairs involving these records: (left, right, LINK | APART).
pub async fn decisions(
    tx: &ScopedTx<'_>,
    entity: &str,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, String)>, DbErr> {
    let rows = query(
        tx,
        "SELECT left_id, right_id, decision FROM match_decisions
         WHERE tenant_id = $1 AND entity = $2 AND (left_id = ANY($3) OR right_id = ANY($3))",
        vec![tx.tenant_id().into(), entity.into(), uuids(ids)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "left_id")?,
                r.try_get("", "right_id")?,
                r.try_get("", "decision")?,
            ))
        })
        .collect()
}

/// Whether a person kept any member of one unified record apart from any member of the other.
pub async fn kept_apart(tx: &ScopedTx<'_>, entity: &str, a: Uuid, b: Uuid) -> Result<bool, DbErr> {
    let rows = query(
        tx,
        "SELECT 1 FROM match_decisions d
         JOIN record_links x ON x.tenant_id = d.tenant_id AND x.entity = d.entity AND x.canonical_id = d.left_id
         JOIN record_links y ON y.tenant_id = d.tenant_id AND y.entity = d.entity AND y.canonical_id = d.right_id
         WHERE d.tenant_id = $1 AND d.entity = $2 AND d.decision = 'APART'
           AND ((x.unified_id = $3 AND y.unified_id = $4) OR (x.unified_id = $4 AND y.unified_id = $3))
         LIMIT 1",
        vec![tx.tenant_id().into(), entity.into(), a.into(), b.into()],
    )
    .await?;
    Ok(!rows.is_empty())
}

pub async fn record_decision(
    tx: &ScopedTx<'_>,
    entity: &str,
    (a, b): (Uuid, Uuid),
    decision: &str,
    by: &str,
) -> Result<(), DbErr> {
    let (left, right) = if a < b { (a, b) } else { (b, a) };
    execute(
        tx,
        "INSERT INTO match_decisions (tenant_id, entity, left_id, right_id, decision, decided_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, entity, left_id, right_id)
         DO UPDATE SET decision = EXCLUDED.decision, decided_by = EXCLUDED.decided_by, decided_at = now()",
        vec![tx.tenant_id().into(), entity.into(), left.into(), right.into(), decision.into(), by.into()],
    )
    .await
    .map(drop)
}

/// A canonical record's place: its unified record and why it is there.
pub struct NewLink {
    pub canonical_id: Uuid,
    pub unified_id: Uuid,
    pub rule: &'static str,
    pub score: Option<f64>,
    pub evidence: Json,
    pub linked_by: Option<String>,
}

pub async fn write_links(tx: &ScopedTx<'_>, entity: &str, links: &[NewLink]) -> Result<(), DbErr> {
    if links.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO record_links (tenant_id, entity, canonical_id, unified_id, rule, score, evidence, linked_by)
         SELECT $1, $2, c, u, r, NULLIF(s, 'NaN'), e, NULLIF(b, '')
         FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::float8[], $7::jsonb[], $8::text[]) AS t(c, u, r, s, e, b)
         ON CONFLICT (tenant_id, entity, canonical_id) DO UPDATE SET unified_id = EXCLUDED.unified_id,
             rule = EXCLUDED.rule, score = EXCLUDED.score, evidence = EXCLUDED.evidence,
             linked_by = EXCLUDED.linked_by,
             linked_at = CASE WHEN record_links.unified_id = EXCLUDED.unified_id
                              THEN record_links.linked_at ELSE now() END",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(links.iter().map(|l| l.canonical_id), ArrayType::Uuid),
            array(links.iter().map(|l| l.unified_id), ArrayType::Uuid),
            array(links.iter().map(|l| l.rule.to_owned()), ArrayType::String),
            // Arrays bind no NULLs: NaN and '' stand for none.
            array(links.iter().map(|l| l.score.unwrap_or(f64::NAN)), ArrayType::Double),
            array(links.iter().map(|l| l.evidence.clone()), ArrayType::Json),
            array(links.iter().map(|l| l.linked_by.clone().unwrap_or_default()), ArrayType::String),
        ],
    )
    .await
    .map(drop)
}

/// Moves every member of `from` to `into`.
pub async fn move_members(
    tx: &ScopedTx<'_>,
    entity: &str,
    from: Uuid,
    into: Uuid,
) -> Result<(), DbErr> {
    execute(
        tx,
        "UPDATE record_links SET unified_id = $4, linked_at = now()
         WHERE tenant_id = $1 AND entity = $2 AND unified_id = $3",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            from.into(),
            into.into(),
        ],
    )
    .await
    .map(drop)
}

/// A pair for the review queue (left < right).
pub struct NewCandidate {
    pub left: Uuid,
    pub right: Uuid,
    pub score: f64,
    pub evidence: Json,
}

/// One candidate per pair, the best-scored: two records of a batch that are both linked already
/// each send their pair, and one statement may not touch a row twice.
fn best_of_each_pair(pairs: &[NewCandidate]) -> Vec<&NewCandidate> {
    let mut order: Vec<&NewCandidate> = pairs.iter().collect();
    order.sort_by(|a, b| {
        (a.left, a.right)
            .cmp(&(b.left, b.right))
            .then(b.score.total_cmp(&a.score))
    });
    order.dedup_by_key(|p| (p.left, p.right));
    order
}

/// Adds pairs to the review queue, refreshing the score of pairs still waiting.
pub async fn queue_candidates(
    tx: &ScopedTx<'_>,
    entity: &str,
    pairs: &[NewCandidate],
) -> Result<(), DbErr> {
    if pairs.is_empty() {
        return Ok(());
    }
    let pairs = best_of_each_pair(pairs);
    execute(
        tx,
        "INSERT INTO match_candidates (id, tenant_id, entity, left_id, right_id, score, evidence)
         SELECT id, $1, $2, l, r, s, e FROM unnest($3::uuid[], $4::uuid[], $5::uuid[], $6::float8[], $7::jsonb[])
              AS t(id, l, r, s, e)
         ON CONFLICT (tenant_id, entity, left_id, right_id) DO UPDATE
             SET score = EXCLUDED.score, evidence = EXCLUDED.evidence, updated_at = now()
             WHERE match_candidates.status = 'PENDING'",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            array(pairs.iter().map(|_| Uuid::now_v7()), ArrayType::Uuid),
            array(pairs.iter().map(|p| p.left), ArrayType::Uuid),
            array(pairs.iter().map(|p| p.right), ArrayType::Uuid),
            array(pairs.iter().map(|p| p.score), ArrayType::Double),
            array(pairs.iter().map(|p| p.evidence.clone()), ArrayType::Json),
        ],
    )
    .await
    .map(drop)
}

/// How many records each of these unified records has.
pub async fn cluster_sizes(
    tx: &ScopedTx<'_>,
    entity: &str,
    unified: &[Uuid],
) -> Result<HashMap<Uuid, usize>, DbErr> {
    let rows = query(
        tx,
        // One lookup per unified id (see the module's note on lookups).
        "SELECT u.id AS unified_id, n.n FROM unnest($3::uuid[]) AS u(id) CROSS JOIN LATERAL (
             SELECT count(*) AS n FROM record_links l
             WHERE l.tenant_id = $1 AND l.entity = $2 AND l.unified_id = u.id) n
         WHERE n.n > 0",
        vec![tx.tenant_id().into(), entity.into(), uuids(unified)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "unified_id")?,
                r.try_get::<i64>("", "n")? as usize,
            ))
        })
        .collect()
}

/// Lifts "keep apart" decisions between these two groups of records (a person now joins them).
pub async fn forget_apart(
    tx: &ScopedTx<'_>,
    entity: &str,
    a: &[Uuid],
    b: &[Uuid],
) -> Result<(), DbErr> {
    execute(
        tx,
        "DELETE FROM match_decisions WHERE tenant_id = $1 AND entity = $2 AND decision = 'APART'
           AND ((left_id = ANY($3) AND right_id = ANY($4)) OR (left_id = ANY($4) AND right_id = ANY($3)))",
        vec![tx.tenant_id().into(), entity.into(), uuids(a), uuids(b)],
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_sent_twice_is_queued_once_with_its_best_score() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let pair = |left, right, score| NewCandidate {
            left,
            right,
            score,
            evidence: Json::Null,
        };
        let sent = [pair(a, b, 0.7), pair(a, c, 0.8), pair(a, b, 0.9)];
        let kept: Vec<(Uuid, Uuid, f64)> = best_of_each_pair(&sent)
            .iter()
            .map(|p| (p.left, p.right, p.score))
            .collect();
        assert_eq!(kept, vec![(a, b, 0.9), (a, c, 0.8)]);
    }
}
