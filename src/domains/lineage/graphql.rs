use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::export::Exports;
use super::grid::{self, Column, Cursor, Filter, Op, Sort};
use super::model::{self, GridEntry};
use super::service::{self, GridRequest, NodeKind, TreeNode};
use crate::domains::auth::model::Role;
use crate::error::AppError;
use crate::graphql::context::{parse_id, ContextExt};
use crate::graphql::pagination::{Conn, ConnectionTotals};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "Column")]
pub enum LineageColumn {
    SourceSystem,
    SourceTable,
    SourceField,
    CanonicalEntity,
    CanonicalField,
    MappingType,
    Method,
    Confidence,
    Status,
    Version,
    LastValidated,
    SuccessRate,
    AvgProcessingMs,
    ErrorCount,
    CreatedAt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "Op")]
pub enum FilterOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    /// Case-insensitive substring (text columns).
    Contains,
    StartsWith,
    In,
    IsNull,
    IsNotNull,
}

/// Exactly one of: `and`, `or`, `not`, or a condition (`column` + `op` + `value`).
#[derive(InputObject)]
pub struct LineageFilter {
    pub and: Option<Vec<LineageFilter>>,
    pub or: Option<Vec<LineageFilter>>,
    pub not: Option<Box<LineageFilter>>,
    pub column: Option<LineageColumn>,
    pub op: Option<FilterOp>,
    /// A string, number, RFC 3339 timestamp, or a list of them for IN.
    pub value: Option<Json<serde_json::Value>>,
}

fn to_filter(f: LineageFilter) -> Result<Filter, AppError> {
    let bad = |m: &str| AppError::bad_field("filter", m.to_owned());
    let set = [
        f.and.is_some(),
        f.or.is_some(),
        f.not.is_some(),
        f.column.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        return Err(bad(
            "each level needs exactly one of and, or, not, or column + op",
        ));
    }
    Ok(match (f.and, f.or, f.not, f.column) {
        (Some(parts), ..) => {
            Filter::And(parts.into_iter().map(to_filter).collect::<Result<_, _>>()?)
        }
        (_, Some(parts), ..) => {
            Filter::Or(parts.into_iter().map(to_filter).collect::<Result<_, _>>()?)
        }
        (_, _, Some(inner), _) => Filter::Not(Box::new(to_filter(*inner)?)),
        (_, _, _, Some(column)) => Filter::Cond {
            column: column.into(),
            op: f.op.ok_or_else(|| bad("a condition needs op"))?.into(),
            value: f.value.map(|v| v.0).unwrap_or(serde_json::Value::Null),
        },
        _ => return Err(bad("empty filter")),
    })
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

#[derive(InputObject)]
pub struct LineageSort {
    pub column: LineageColumn,
    #[graphql(default)]
    pub direction: SortDirection,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum LineageStatus {
    Active,
    PendingReview,
    Deprecated,
    /// Active, but more of its values failed validation than passed.
    Failed,
}

#[derive(SimpleObject)]
pub struct LineageRow {
    /// The mapping's id.
    pub id: ID,
    pub source_system: String,
    pub source_table: String,
    pub source_field: String,
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: String,
    pub method: String,
    pub confidence: f64,
    pub status: LineageStatus,
    pub version: i32,
    /// When a sync run last pushed values through the mapping.
    pub last_validated: Option<DateTime<Utc>>,
    /// Share of values that fit the canonical type, over all runs.
    pub success_rate: Option<f64>,
    pub avg_processing_ms: Option<f64>,
    pub error_count: i64,
    pub created_at: DateTime<Utc>,
}

impl From<GridEntry> for LineageRow {
    fn from(r: GridEntry) -> Self {
        Self {
            id: ID(r.id.to_string()),
            status: match r.status {
                model::LineageStatus::Active => LineageStatus::Active,
                model::LineageStatus::PendingReview => LineageStatus::PendingReview,
                model::LineageStatus::Failed => LineageStatus::Failed,
                model::LineageStatus::Deprecated => LineageStatus::Deprecated,
            },
            source_system: r.source_system,
            source_table: r.source_table,
            source_field: r.source_field,
            canonical_entity: r.canonical_entity,
            canonical_field: r.canonical_field,
            mapping_type: r.mapping_type,
            method: r.method,
            confidence: r.confidence,
            version: r.version,
            last_validated: r.last_validated,
            success_rate: r.success_rate,
            avg_processing_ms: r.avg_processing_ms,
            error_count: r.error_count,
            created_at: r.created_at,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum LineageNodeKind {
    Connector,
    SourceEntity,
    SourceField,
    CanonicalField,
}

#[derive(SimpleObject)]
pub struct LineageCounts {
    pub fields: u64,
    pub mapped: u64,
    pub pending_review: u64,
    pub unmapped: u64,
}

#[derive(SimpleObject)]
pub struct LineageTreeNode {
    pub id: String,
    pub kind: LineageNodeKind,
    pub name: String,
    pub confidence: Option<f64>,
    /// ACTIVE, PENDING_REVIEW, DEPRECATED or UNMAPPED (fields and targets); the connector's
    /// own status at the root.
    pub status: Option<String>,
    pub counts: LineageCounts,
    pub children: Vec<LineageTreeNode>,
}

impl From<TreeNode> for LineageTreeNode {
    fn from(n: TreeNode) -> Self {
        Self {
            id: n.id,
            kind: match n.kind {
                NodeKind::Connector => LineageNodeKind::Connector,
                NodeKind::SourceEntity => LineageNodeKind::SourceEntity,
                NodeKind::SourceField => LineageNodeKind::SourceField,
                NodeKind::CanonicalField => LineageNodeKind::CanonicalField,
            },
            name: n.name,
            confidence: n.confidence,
            status: n.status,
            counts: LineageCounts {
                fields: n.counts.fields,
                mapped: n.counts.mapped,
                pending_review: n.counts.pending_review,
                unmapped: n.counts.unmapped,
            },
            children: n.children.into_iter().map(Into::into).collect(),
        }
    }
}

const GRID_PAGE: i32 = 100;
const GRID_MAX_PAGE: i32 = 1000;

#[derive(Default)]
pub struct LineageQuery;

#[Object]
impl LineageQuery {
    /// One row per mapping: filter (AND/OR/NOT over any column), search (every word, anywhere in
    /// the text columns), sort on any column, 100 rows a page by default, total count.
    #[graphql(complexity = "first.unwrap_or(100).max(0) as usize * child_complexity / 10")]
    async fn lineage_grid(
        &self,
        ctx: &Context<'_>,
        filter: Option<LineageFilter>,
        search: Option<String>,
        sort: Option<LineageSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<LineageRow>> {
        let scope = ctx.scope(Role::Viewer)?;
        let first = first.unwrap_or(GRID_PAGE);
        if !(1..=GRID_MAX_PAGE).contains(&first) {
            return Err(AppError::bad_field(
                "first",
                format!("must be between 1 and {GRID_MAX_PAGE}"),
            )
            .into());
        }
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(AppError::bad_field("search", "must be at most 200 characters").into());
        }
        let sort = sort.map_or(
            Sort {
                column: Column::CreatedAt,
                descending: true,
            },
            |s| Sort {
                column: s.column.into(),
                descending: s.direction == SortDirection::Desc,
            },
        );
        let cursor: Option<Cursor> = after
            .as_deref()
            .map(grid::decode_cursor)
            .transpose()
            .map_err(|(f, m)| AppError::bad_field(f, m))?;
        let request = GridRequest {
            filter: filter.map(to_filter).transpose()?,
            search,
            sort,
            after: cursor,
            limit: first as u64,
        };
        let page = service::grid(&ctx.app()?.db, &scope, request).await?;
        let mut conn = Connection::with_additional_fields(
            after.is_some(),
            page.has_next,
            ConnectionTotals {
                total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
            },
        );
        conn.edges.extend(page.rows.into_iter().map(|row| {
            let cursor = grid::encode_cursor(&Cursor {
                key: grid::sort_key_of(sort, &row),
                id: row.id,
            });
            Edge::new(cursor, LineageRow::from(row))
        }));
        Ok(conn)
    }

    /// connector → source entity → source field → canonical target, with confidence, status
    /// and counts per subtree; `depth` 1 (connector only) to 4 (targets).
    async fn lineage_tree(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
        #[graphql(default = 4)] depth: i32,
    ) -> async_graphql::Result<LineageTreeNode> {
        let scope = ctx.scope(Role::Viewer)?;
        let depth = u32::try_from(depth)
            .map_err(|_| AppError::bad_field("depth", "must be between 1 and 4"))?;
        Ok(service::tree(
            &ctx.app()?.db,
            &scope,
            parse_id("connectorId", &connector_id)?,
            depth,
        )
        .await?
        .into())
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "super::export::Format")]
pub enum ExportFormat {
    Csv,
    /// A JSON array of row objects.
    Json,
    /// `CREATE TABLE lineage …` and one `INSERT` per row.
    Sql,
    Parquet,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum LineageView {
    /// The lineage grid's rows (`lineageGrid`), with its filter and search.
    #[default]
    Grid,
}

#[derive(SimpleObject)]
pub struct LineageExport {
    /// A signed link (relative to the server) that works until `expiresAt`.
    pub url: String,
    pub format: ExportFormat,
    pub rows: u64,
    pub bytes: u64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct LineageMutation;

#[Object]
impl LineageMutation {
    /// Writes the view's rows (filtered and searched as in `lineageGrid`) to a file with DuckDB
    /// and returns a download link.
    async fn export_lineage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] view: LineageView,
        format: ExportFormat,
        filter: Option<LineageFilter>,
        search: Option<String>,
    ) -> async_graphql::Result<LineageExport> {
        let scope = ctx.scope(Role::Viewer)?;
        let LineageView::Grid = view;
        let filter = filter.map(to_filter).transpose()?;
        let done = super::export::export_grid(
            ctx.service::<Exports>()?,
            &scope,
            filter,
            search,
            format.into(),
        )
        .await?;
        Ok(LineageExport {
            url: done.url,
            format,
            rows: done.rows,
            bytes: done.bytes,
            expires_at: done.expires_at,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "super::metrics::Granularity")]
pub enum MetricsGranularity {
    Hour,
    Day,
    Week,
}

#[derive(SimpleObject)]
pub struct Coverage {
    pub source_fields: u64,
    pub source_fields_mapped: u64,
    /// Share of source fields with an active mapping.
    pub source_field_share: f64,
    pub canonical_fields: u64,
    pub canonical_fields_populated: u64,
    /// Share of canonical fields some active mapping feeds.
    pub canonical_field_share: f64,
}

#[derive(SimpleObject)]
pub struct ConfidenceBucket {
    pub from: f64,
    pub to: f64,
    pub count: u64,
}

#[derive(SimpleObject)]
pub struct MethodShare {
    pub method: String,
    pub count: u64,
    pub share: f64,
}

#[derive(SimpleObject)]
pub struct ReviewQueueMetrics {
    pub size: u64,
    pub oldest_age_seconds: Option<f64>,
    pub median_age_seconds: Option<f64>,
}

#[derive(SimpleObject)]
pub struct ErrorTrendPoint {
    pub at: DateTime<Utc>,
    pub events: u64,
    pub events_with_errors: u64,
    pub value_errors: u64,
}

#[derive(SimpleObject)]
pub struct MappingMetrics {
    pub coverage: Coverage,
    pub confidence_histogram: Vec<ConfidenceBucket>,
    /// EXACT / RAG / LLM / MANUAL among active mappings.
    pub methods: Vec<MethodShare>,
    pub review_queue: ReviewQueueMetrics,
    pub error_trend: Vec<ErrorTrendPoint>,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[derive(Default)]
pub struct MetricsQuery;

#[Object]
impl MetricsQuery {
    /// Coverage, confidence, methods, the review queue and error trends, for the tenant or one
    /// connector; the trend in `granularity` buckets from `from` to `to`.
    async fn mapping_metrics(
        &self,
        ctx: &Context<'_>,
        connector_id: Option<ID>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        granularity: Option<MetricsGranularity>,
    ) -> async_graphql::Result<MappingMetrics> {
        let scope = ctx.scope(Role::Viewer)?;
        let connector = connector_id
            .map(|c| parse_id("connectorId", &c))
            .transpose()?;
        let g = granularity.unwrap_or(MetricsGranularity::Day);
        let m =
            super::metrics::metrics(&ctx.app()?.db, &scope, connector, from, to, g.into()).await?;
        let active: u64 = m.methods.iter().map(|(_, n)| n).sum();
        Ok(MappingMetrics {
            coverage: Coverage {
                source_field_share: share(m.source_fields_mapped, m.source_fields),
                canonical_field_share: share(m.canonical_fields_populated, m.canonical_fields),
                source_fields: m.source_fields,
                source_fields_mapped: m.source_fields_mapped,
                canonical_fields: m.canonical_fields,
                canonical_fields_populated: m.canonical_fields_populated,
            },
            confidence_histogram: m
                .confidence_histogram
                .into_iter()
                .map(|(from, count)| ConfidenceBucket {
                    from,
                    to: from + 0.1,
                    count,
                })
                .collect(),
            methods: m
                .methods
                .into_iter()
                .map(|(method, count)| MethodShare {
                    share: share(count, active),
                    method,
                    count,
                })
                .collect(),
            review_queue: ReviewQueueMetrics {
                size: m.review_queue_size,
                oldest_age_seconds: m.review_oldest_age_secs,
                median_age_seconds: m.review_median_age_secs,
            },
            error_trend: m
                .trend
                .into_iter()
                .map(|p| ErrorTrendPoint {
                    at: p.at,
                    events: p.events,
                    events_with_errors: p.events_with_errors,
                    value_errors: p.value_errors,
                })
                .collect(),
        })
    }
}
