//! Mapping evaluation metrics: coverage, confidence distribution, method shares, the review
//! queue, and error trends over time. The trend is aggregated by DuckDB over the tenant's own
//! events only (streamed in from PostgreSQL under the tenant's scope into a fresh in-memory
//! database per request, so tenants never share an engine).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::service as connectors;
use crate::error::{AppError, AppResult};
use crate::infra::analytics;
use crate::tenancy::ScopedTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
    Week,
}

impl Granularity {
    fn interval(self) -> &'static str {
        match self {
            Self::Hour => "1 hour",
            Self::Day => "1 day",
            Self::Week => "1 week",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub source_fields: u64,
    pub source_fields_mapped: u64,
    pub canonical_fields: u64,
    pub canonical_fields_populated: u64,
    /// (lower bound of the bucket, count) in tenths of confidence.
    pub confidence_histogram: Vec<(f64, u64)>,
    /// (method, count) of active mappings.
    pub methods: Vec<(String, u64)>,
    pub review_queue_size: u64,
    pub review_oldest_age_secs: Option<f64>,
    pub review_median_age_secs: Option<f64>,
    pub trend: Vec<TrendPoint>,
}

#[derive(Debug, Clone)]
pub struct TrendPoint {
    pub at: DateTime<Utc>,
    pub events: u64,
    pub events_with_errors: u64,
    pub value_errors: u64,
}

async fn one_u64(tx: &ScopedTx<'_>, sql: &str, values: Vec<sea_orm::Value>) -> AppResult<u64> {
    Ok(crate::tenancy::count(tx, sql.to_owned(), values).await?)
}

pub async fn metrics(
    db: &sea_orm::DatabaseConnection,
    scope: &TenantScope,
    connector: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
) -> AppResult<Metrics> {
    if to <= from {
        return Err(AppError::bad_field("to", "must be after from"));
    }
    let buckets = (to - from).num_seconds() as f64
        / match granularity {
            Granularity::Hour => 3600.0,
            Granularity::Day => 86_400.0,
            Granularity::Week => 604_800.0,
        };
    if buckets > 10_000.0 {
        return Err(AppError::bad_field(
            "granularity",
            "too fine for the range (over 10,000 points)",
        ));
    }
    let tx = ScopedTx::begin(db, scope).await?;
    let t = tx.tenant_id();
    let connector_name = match connector {
        Some(c) => Some(
            connectors::find(&tx, c)
                .await?
                .ok_or(AppError::NotFound { what: "connector" })?
                .name,
        ),
        None => None,
    };
    let c: sea_orm::Value = connector.into();
    let name: sea_orm::Value = connector_name.clone().into();
    let mut m = Metrics {
        source_fields: one_u64(&tx, "SELECT count(*) FROM source_fields f JOIN source_schemas s ON s.id = f.source_schema_id AND s.is_current
                                     WHERE f.tenant_id = $1 AND ($2::uuid IS NULL OR f.connector_id = $2)", vec![t.into(), c.clone()]).await?,
        source_fields_mapped: one_u64(&tx, "SELECT count(*) FROM source_fields f JOIN source_schemas s ON s.id = f.source_schema_id AND s.is_current
                                     JOIN connectors k ON k.id = f.connector_id
                                     WHERE f.tenant_id = $1 AND ($2::uuid IS NULL OR f.connector_id = $2)
                                       AND EXISTS (SELECT 1 FROM mappings m WHERE m.tenant_id = f.tenant_id AND m.is_active
                                                   AND m.source_system = k.name AND m.source_entity = f.source_entity
                                                   AND m.source_field_key = f.name_key)", vec![t.into(), c.clone()]).await?,
        canonical_fields: one_u64(&tx, "SELECT count(*) FROM canonical_fields cf JOIN canonical_entities ce ON ce.id = cf.entity_id
                                     JOIN ontologies o ON o.id = ce.ontology_id AND o.is_active WHERE cf.tenant_id = $1", vec![t.into()]).await?,
        canonical_fields_populated: one_u64(&tx, "SELECT count(DISTINCT (canonical_entity, canonical_field)) FROM mappings
                                     WHERE tenant_id = $1 AND is_active AND ($2::text IS NULL OR source_system = $2)", vec![t.into(), name.clone()]).await?,
        review_queue_size: one_u64(&tx, "SELECT count(*) FROM mapping_reviews WHERE tenant_id = $1 AND status = 'PENDING'
                                     AND ($2::text IS NULL OR source_system = $2)", vec![t.into(), name.clone()]).await?,
        ..Metrics::default()
    };
    for r in tx.conn().query_all(Statement::from_sql_and_values(DbBackend::Postgres,
        "SELECT least(floor(confidence * 10) / 10, 0.9)::float8 AS b, count(*) FROM mappings
         WHERE tenant_id = $1 AND is_active AND ($2::text IS NULL OR source_system = $2) GROUP BY 1 ORDER BY 1",
        [t.into(), name.clone()])).await? {
        m.confidence_histogram.push((r.try_get_by_index(0)?, r.try_get_by_index::<i64>(1)? as u64));
    }
    for r in tx.conn().query_all(Statement::from_sql_and_values(DbBackend::Postgres,
        "SELECT method, count(*) FROM mappings WHERE tenant_id = $1 AND is_active AND ($2::text IS NULL OR source_system = $2)
         GROUP BY 1 ORDER BY 1", [t.into(), name.clone()])).await? {
        m.methods.push((r.try_get_by_index(0)?, r.try_get_by_index::<i64>(1)? as u64));
    }
    if let Some(r) = tx.conn().query_one(Statement::from_sql_and_values(DbBackend::Postgres,
        "SELECT extract(epoch FROM now() - min(created_at))::float8,
                extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY now() - created_at))::float8
         FROM mapping_reviews WHERE tenant_id = $1 AND status = 'PENDING' AND ($2::text IS NULL OR source_system = $2)",
        [t.into(), name])).await? {
        m.review_oldest_age_secs = r.try_get_by_index(0).ok().flatten();
        m.review_median_age_secs = r.try_get_by_index(1).ok().flatten();
    }
    // The tenant's events in range, a page at a time, as (micros, value errors).
    let mut events: Vec<(i64, i64)> = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let rows = tx.conn().query_all(Statement::from_sql_and_values(DbBackend::Postgres,
            "SELECT id, (extract(epoch FROM emitted_at) * 1000000)::bigint, jsonb_array_length(errors)
             FROM canonical_events WHERE tenant_id = $1 AND ($2::uuid IS NULL OR connector_id = $2)
               AND emitted_at >= $3 AND emitted_at < $4 AND ($5::uuid IS NULL OR id > $5)
             ORDER BY id LIMIT 20000",
            [t.into(), c.clone(), from.into(), to.into(), after.into()])).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.try_get_by_index(0)?);
        let full = rows.len() == 20_000;
        for r in &rows {
            events.push((r.try_get_by_index(1)?, r.try_get_by_index::<i32>(2)? as i64));
        }
        if !full {
            break;
        }
    }
    drop(tx);
    let (from_us, to_us) = (from.timestamp_micros(), to.timestamp_micros());
    let interval = granularity.interval();
    m.trend = analytics::run(move |db| {
        db.execute_batch("CREATE TABLE e (at_us BIGINT, errors BIGINT)")?;
        {
            let mut app = db.appender("e")?;
            for (at, errors) in &events {
                app.append_row(duckdb::params![at, errors])?;
            }
        }
        let mut stmt = db.prepare(&format!(
            "WITH buckets AS (
                SELECT unnest(generate_series(time_bucket(INTERVAL '{interval}', make_timestamp(?)),
                                              make_timestamp(?) - INTERVAL '1 microsecond', INTERVAL '{interval}')) AS b)
             SELECT epoch_us(b.b), count(e.at_us), count(e.at_us) FILTER (WHERE e.errors > 0), coalesce(sum(e.errors), 0)
             FROM buckets b LEFT JOIN e ON time_bucket(INTERVAL '{interval}', make_timestamp(e.at_us)) = b.b
             GROUP BY b.b ORDER BY b.b"
        ))?;
        let points = stmt
            .query_map(duckdb::params![from_us, to_us], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(points
            .into_iter()
            .filter_map(|(at, events, with_errors, errors)| {
                Some(TrendPoint {
                    at: DateTime::from_timestamp_micros(at)?,
                    events: events as u64,
                    events_with_errors: with_errors as u64,
                    value_errors: errors as u64,
                })
            })
            .collect())
    })
    .await
    .map_err(AppError::internal)?;
    Ok(m)
}
