//! What the API reads of unified records: pages of golden records, one with its members and
//! history, the records it refers to and that refer to it, the review queue.
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};
use uuid::Uuid;

use super::model::{HistoryLine, MatchCandidate, MemberRecord, UnifiedRecord};
use super::query::{self, Fields, Filter, Sort};
use crate::domains::lineage::grid::{Cursor, Problem, Sql};
use crate::pagination::PageRequest;
use crate::read_columns::read_columns;
use crate::tenancy::ScopedTx;

read_columns!(UnifiedRecord {
    entity,
    id,
    data,
    member_count,
    version,
    created_at,
    updated_at
});
read_columns!(MemberRecord {
    canonical_id,
    source_system,
    connector_id,
    source_entity,
    source_record_id,
    data,
    rule,
    score,
    evidence,
    linked_by,
    linked_at,
    updated_at
});
read_columns!(MatchCandidate {
    id,
    entity,
    left_id,
    right_id,
    score,
    evidence,
    status,
    decided_by,
    decided_at,
    created_at
});
read_columns!(HistoryLine {
    id,
    kind,
    actor,
    detail,
    at
});

const RECORD_COLUMNS: &str =
    "u.entity, u.id, u.data, u.member_count, u.version, u.created_at, u.updated_at";

pub struct ListRequest {
    pub entity: String,
    pub filter: Option<Filter>,
    pub search: Vec<String>,
    pub sort: Sort,
    pub after: Option<Cursor>,
    pub limit: u64,
    pub with_total: bool,
}

#[derive(Debug)]
pub enum ListError {
    Invalid(Problem),
    Db(DbErr),
}

impl From<DbErr> for ListError {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

/// A page of golden records (one more than asked, to tell whether another follows) and, when
/// asked, how many match in all.
pub async fn list(
    tx: &ScopedTx<'_>,
    fields: &Fields,
    req: &ListRequest,
) -> Result<(Vec<UnifiedRecord>, Option<u64>), ListError> {
    query::check_sort(&req.sort, fields).map_err(ListError::Invalid)?;
    let mut sql = Sql::new(vec![tx.tenant_id().into(), req.entity.clone().into()]);
    let mut conds = vec!["u.tenant_id = $1".to_owned(), "u.entity = $2".to_owned()];
    if let Some(f) = &req.filter {
        conds.push(query::condition(f, fields, &mut sql).map_err(ListError::Invalid)?);
    }
    if let Some(s) = query::search_condition(&req.search, &mut sql) {
        conds.push(s);
    }
    let total = if req.with_total {
        let row = tx
            .conn()
            .query_one(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT count(*) FROM unified_records u WHERE {}",
                    conds.join(" AND ")
                ),
                sql.values.clone(),
            ))
            .await?;
        Some(
            row.and_then(|r| r.try_get_by_index::<i64>(0).ok())
                .unwrap_or(0) as u64,
        )
    } else {
        None
    };
    if let Some(c) = &req.after {
        conds.push(query::after_condition(&req.sort, c, &mut sql));
    }
    let limit = sql.param(((req.limit + 1) as i64).into());
    let statement = format!(
        "SELECT {RECORD_COLUMNS} FROM unified_records u WHERE {} ORDER BY {} LIMIT {limit}",
        conds.join(" AND "),
        query::order_by(&req.sort)
    );
    let rows = UnifiedRecord::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        statement,
        sql.values,
    ))
    .all(tx.conn())
    .await?;
    Ok((rows, total))
}

pub async fn get(
    tx: &ScopedTx<'_>,
    entity: &str,
    id: Uuid,
) -> Result<Option<UnifiedRecord>, DbErr> {
    UnifiedRecord::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {RECORD_COLUMNS} FROM unified_records u WHERE u.tenant_id = $1 AND u.entity = $2 AND u.id = $3"),
        [tx.tenant_id().into(), entity.into(), id.into()],
    ))
    .one(tx.conn())
    .await
}

/// The unified record a canonical record belongs to.
pub async fn unified_of(
    tx: &ScopedTx<'_>,
    entity: &str,
    canonical: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    let rows = tx
        .conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT canonical_id, unified_id FROM record_links
             WHERE tenant_id = $1 AND entity = $2 AND canonical_id = ANY($3)",
            [tx.tenant_id().into(), entity.into(), uuid_array(canonical)],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "canonical_id")?, r.try_get("", "unified_id")?)))
        .collect()
}

const MEMBER_SELECT: &str = "SELECT r.id AS canonical_id, r.source_system, r.connector_id, r.source_entity,
        r.source_record_id, r.data, coalesce(l.rule, 'NEW') AS rule, l.score, coalesce(l.evidence, '{}') AS evidence,
        l.linked_by, coalesce(l.linked_at, r.created_at) AS linked_at, r.updated_at
     FROM canonical_records r
     LEFT JOIN record_links l ON l.tenant_id = r.tenant_id AND l.entity = r.entity AND l.canonical_id = r.id";

pub async fn members(
    tx: &ScopedTx<'_>,
    entity: &str,
    unified: Uuid,
) -> Result<Vec<MemberRecord>, DbErr> {
    MemberRecord::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "{MEMBER_SELECT} WHERE r.tenant_id = $1 AND r.entity = $2 AND l.unified_id = $3
             ORDER BY l.linked_at, r.id LIMIT 1000"
        ),
        [tx.tenant_id().into(), entity.into(), unified.into()],
    ))
    .all(tx.conn())
    .await
}

/// Canonical records by id, as members (with their links, if any).
pub async fn canonical(
    tx: &ScopedTx<'_>,
    entity: &str,
    ids: &[Uuid],
) -> Result<Vec<MemberRecord>, DbErr> {
    MemberRecord::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("{MEMBER_SELECT} WHERE r.tenant_id = $1 AND r.entity = $2 AND r.id = ANY($3) ORDER BY r.id"),
        [tx.tenant_id().into(), entity.into(), uuid_array(ids)],
    ))
    .all(tx.conn())
    .await
}

fn uuid_array(ids: &[Uuid]) -> Value {
    Value::Array(
        sea_orm::sea_query::ArrayType::Uuid,
        Some(Box::new(ids.iter().map(|u| (*u).into()).collect())),
    )
}

pub async fn history(
    tx: &ScopedTx<'_>,
    entity: &str,
    unified: Uuid,
    page: &PageRequest,
) -> Result<Vec<HistoryLine>, DbErr> {
    HistoryLine::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, kind, actor, detail, at FROM unified_history
         WHERE tenant_id = $1 AND entity = $2 AND unified_id = $3 AND ($4::uuid IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
        [
            tx.tenant_id().into(),
            entity.into(),
            unified.into(),
            page.after.into(),
            (page.fetch_limit() as i64).into(),
        ],
    ))
    .all(tx.conn())
    .await
}

const CANDIDATE_COLUMNS: &str =
    "c.id, c.entity, c.left_id, c.right_id, c.score, c.evidence, c.status, c.decided_by, c.decided_at, c.created_at";

/// Pairs of the review queue, newest first (a stable keyset); `pending_only`: those waiting
/// for a person whose records are still apart.
pub async fn candidates(
    tx: &ScopedTx<'_>,
    entity: Option<&str>,
    pending_only: bool,
    page: &PageRequest,
) -> Result<(Vec<MatchCandidate>, u64), DbErr> {
    let scope = "c.tenant_id = $1 AND ($2::text IS NULL OR c.entity = $2)
         AND (NOT $3 OR (c.status = 'PENDING' AND NOT EXISTS (
              SELECT 1 FROM record_links a JOIN record_links b
                ON b.tenant_id = a.tenant_id AND b.entity = a.entity AND b.unified_id = a.unified_id
              WHERE a.tenant_id = c.tenant_id AND a.entity = c.entity
                AND a.canonical_id = c.left_id AND b.canonical_id = c.right_id)))";
    let rows = MatchCandidate::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {CANDIDATE_COLUMNS} FROM match_candidates c WHERE {scope}
             AND ($4::uuid IS NULL OR c.id < $4) ORDER BY c.id DESC LIMIT $5"
        ),
        [
            tx.tenant_id().into(),
            entity.map(str::to_owned).into(),
            pending_only.into(),
            page.after.into(),
            (page.fetch_limit() as i64).into(),
        ],
    ))
    .all(tx.conn())
    .await?;
    let total = crate::tenancy::count(
        tx,
        format!("SELECT count(*) FROM match_candidates c WHERE {scope}"),
        vec![
            tx.tenant_id().into(),
            entity.map(str::to_owned).into(),
            pending_only.into(),
        ],
    )
    .await?;
    Ok((rows, total))
}

pub async fn candidate(tx: &ScopedTx<'_>, id: Uuid) -> Result<Option<MatchCandidate>, DbErr> {
    MatchCandidate::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {CANDIDATE_COLUMNS} FROM match_candidates c WHERE c.tenant_id = $1 AND c.id = $2 FOR UPDATE"),
        [tx.tenant_id().into(), id.into()],
    ))
    .one(tx.conn())
    .await
}

pub async fn set_candidate_status(
    tx: &ScopedTx<'_>,
    id: Uuid,
    status: &str,
    by: &str,
) -> Result<(), DbErr> {
    tx.conn()
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE match_candidates SET status = $3, decided_by = $4, decided_at = now(), updated_at = now()
             WHERE tenant_id = $1 AND id = $2",
            [tx.tenant_id().into(), id.into(), status.into(), by.into()],
        ))
        .await
        .map(drop)
}
