//! Reads for the lineage views. Every query is tenant-scoped (and RLS applies).
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, QueryResult, Statement};
use uuid::Uuid;

use super::grid::{self, Cursor, Filter, Sort, Sql};
use super::model::{GridEntry, LineageStatus};
use crate::tenancy::ScopedTx;

/// Grid rows are read straight into the domain's `GridEntry` (its model stays free of the ORM).
impl FromQueryResult for GridEntry {
    fn from_query_result(r: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let status: String = r.try_get(pre, "status")?;
        Ok(Self {
            id: r.try_get(pre, "id")?,
            source_system: r.try_get(pre, "source_system")?,
            source_table: r.try_get(pre, "source_table")?,
            source_field: r.try_get(pre, "source_field")?,
            canonical_entity: r.try_get(pre, "canonical_entity")?,
            canonical_field: r.try_get(pre, "canonical_field")?,
            mapping_type: r.try_get(pre, "mapping_type")?,
            method: r.try_get(pre, "method")?,
            confidence: r.try_get(pre, "confidence")?,
            // Kept by the triggers of migration 0006; any other text reads as retired.
            status: status.parse().unwrap_or(LineageStatus::Deprecated),
            version: r.try_get(pre, "version")?,
            last_validated: r.try_get(pre, "last_validated")?,
            success_rate: r.try_get(pre, "success_rate")?,
            avg_processing_ms: r.try_get(pre, "avg_processing_ms")?,
            error_count: r.try_get(pre, "error_count")?,
            created_at: r.try_get(pre, "created_at")?,
        })
    }
}

/// The grid: one row per mapping (its head version) with its figures, kept by triggers
/// (migration 0006) so filters and sorts are plain, indexable column comparisons.
const GRID: &str = "lineage_grid g";

const COLUMNS: &str = "g.id, g.source_system, g.source_table, g.source_field, g.canonical_entity,
    g.canonical_field, g.mapping_type, g.method, g.confidence, g.status, g.version, g.last_validated,
    g.success_rate, g.avg_processing_ms, g.error_count, g.created_at";

pub struct GridQuery<'a> {
    pub filter: Option<&'a Filter>,
    pub search: Option<&'a str>,
    pub sort: Sort,
    pub after: Option<&'a Cursor>,
    pub limit: u64,
}

pub enum GridError {
    Db(DbErr),
    Invalid(grid::Problem),
}

impl From<GridError> for crate::error::AppError {
    fn from(e: GridError) -> Self {
        match e {
            GridError::Db(e) => e.into(),
            GridError::Invalid((field, message)) => Self::bad_field(field, message),
        }
    }
}

impl From<DbErr> for GridError {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

/// A page of the grid (one row more than asked, to tell whether more follow) and the total.
pub async fn grid_page(
    tx: &ScopedTx<'_>,
    q: &GridQuery<'_>,
) -> Result<(Vec<GridEntry>, u64), GridError> {
    let (filter_sql, mut sql) = conditions(tx, q.filter, q.search).await?;
    let count_values = sql.values.clone();
    let keyset = match q.after {
        Some(c) => grid::after_condition(q.sort, c, &mut sql).map_err(GridError::Invalid)?,
        None => "TRUE".to_owned(),
    };
    let limit = sql.param(((q.limit + 1) as i64).into());
    // The page's ids first, from the narrowest index (often the index alone), then its rows:
    // only the rows shown are read from the table.
    let order = grid::order_by(q.sort);
    let rows = GridEntry::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "WITH page AS MATERIALIZED (
                 SELECT g.id FROM {GRID} WHERE g.tenant_id = $1 AND {filter_sql} AND {keyset} ORDER BY {order} LIMIT {limit})
             SELECT {COLUMNS} FROM page p JOIN {GRID} ON g.tenant_id = $1 AND g.id = p.id ORDER BY {order}"
        ),
        sql.values,
    ))
    .all(tx.conn())
    .await?;
    let total = crate::tenancy::count(
        tx,
        format!("SELECT count(*) FROM {GRID} WHERE g.tenant_id = $1 AND {filter_sql}"),
        count_values,
    )
    .await?;
    Ok((rows, total))
}

/// The filter and search as one SQL condition over `g`, with its parameters ($1 the tenant).
async fn conditions(
    tx: &ScopedTx<'_>,
    filter: Option<&Filter>,
    search: Option<&str>,
) -> Result<(String, Sql), GridError> {
    let mut sql = Sql::new(vec![tx.tenant_id().into()]);
    let mut conds = Vec::new();
    if let Some(f) = filter {
        conds.push(grid::condition(f, &mut sql).map_err(GridError::Invalid)?);
    }
    if let Some(s) = search {
        let words = grid::search_words(s);
        if !words.is_empty() {
            let driver = rarest_word(tx, &words).await?;
            conds.push(grid::search_condition(&words, driver, &mut sql));
        }
    }
    let filter_sql = if conds.is_empty() {
        "TRUE".to_owned()
    } else {
        conds.join(" AND ")
    };
    Ok((filter_sql, sql))
}

/// Every grid row matching the filter and search, oldest first, as one streamed query (a
/// cursor on the server side: rows arrive as they are read, none are held).
pub async fn grid_stream<'a>(
    tx: &'a ScopedTx<'_>,
    filter: Option<&Filter>,
    search: Option<&str>,
) -> Result<
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<GridEntry, DbErr>> + Send + 'a>>,
    GridError,
> {
    let (filter_sql, sql) = conditions(tx, filter, search).await?;
    let stream = GridEntry::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT {COLUMNS} FROM {GRID} WHERE g.tenant_id = $1 AND {filter_sql} ORDER BY g.created_at, g.id"
        ),
        sql.values,
    ))
    .stream(tx.conn())
    .await?;
    Ok(Box::pin(stream))
}

/// Which search word begins the fewest of the tenant's row words (counted up to a bound, on
/// the index alone): the search starts from its rows.
async fn rarest_word(tx: &ScopedTx<'_>, words: &[String]) -> Result<usize, DbErr> {
    use sea_orm::sea_query::ArrayType;
    const ENOUGH: i64 = 5_000;
    let arr = |v: Vec<sea_orm::Value>| sea_orm::Value::Array(ArrayType::String, Some(Box::new(v)));
    let los = words.iter().map(|w| w.clone().into()).collect();
    let his = words.iter().map(|w| grid::prefix_end(w).into()).collect();
    let row = tx
        .conn()
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT (w.i - 1)::int8 AS i FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(lo, hi, i)
             ORDER BY (SELECT count(*) FROM (SELECT 1 FROM lineage_terms t
                       WHERE t.tenant_id = $1 AND t.term >= w.lo AND t.term < w.hi LIMIT $4) x), w.i
             LIMIT 1",
            [tx.tenant_id().into(), arr(los), arr(his), ENOUGH.into()],
        ))
        .await?;
    let i = match row {
        Some(r) => r.try_get::<i64>("", "i")?,
        None => 0,
    };
    Ok(usize::try_from(i).unwrap_or(0))
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct TreeRow {
    pub source_entity: String,
    pub field: String,
    pub data_type: String,
    pub mapping_id: Option<Uuid>,
    pub canonical_entity: Option<String>,
    pub canonical_field: Option<String>,
    pub confidence: Option<f64>,
    pub status: Option<String>,
    pub review_confidence: Option<f64>,
    pub review_entity: Option<String>,
    pub review_field: Option<String>,
}

/// Every field of the connector's current schemas with its mapping or pending review.
pub async fn tree_rows(tx: &ScopedTx<'_>, connector: Uuid) -> Result<Vec<TreeRow>, DbErr> {
    TreeRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT f.source_entity, f.name AS field, f.data_type, m.mapping_id, m.canonical_entity, m.canonical_field,
                m.confidence,
                CASE WHEN m.status IS NULL THEN NULL
                     WHEN m.status = 'ACTIVE' THEN 'ACTIVE' WHEN m.status = 'PENDING' THEN 'PENDING_REVIEW'
                     ELSE 'DEPRECATED' END AS status,
                r.confidence AS review_confidence,
                r.proposal -> 'candidates' -> 0 ->> 'entity' AS review_entity,
                r.proposal -> 'candidates' -> 0 ->> 'field' AS review_field
         FROM source_fields f
         JOIN source_schemas s ON s.id = f.source_schema_id AND s.is_current
         JOIN connectors c ON c.id = f.connector_id AND c.tenant_id = f.tenant_id
         LEFT JOIN mappings m ON m.tenant_id = f.tenant_id AND m.is_head AND m.source_system = c.name
              AND m.source_entity = f.source_entity AND m.source_field_key = f.name_key
         LEFT JOIN mapping_reviews r ON r.tenant_id = f.tenant_id AND r.status = 'PENDING'
              AND r.source_system = c.name AND r.source_entity = f.source_entity
              AND r.source_field_key = f.name_key
         WHERE f.tenant_id = $1 AND f.connector_id = $2
         ORDER BY f.source_entity, f.position",
        [tx.tenant_id().into(), connector.into()],
    ))
    .all(tx.conn())
    .await
}
