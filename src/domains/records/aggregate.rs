//! Aggregates over golden values: count, sum, avg, min, max of canonical fields, grouped by
//! fields and a time bucket (opportunity amount by stage by month), under the records query's
//! filter and search. PostgreSQL computes them where the rows are, under row-level security.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value as Json;

use super::query::{self, Fields, Filter, Kind};
use crate::domains::lineage::grid::{Problem, Sql};
use crate::tenancy::ScopedTx;

crate::text_enum::text_enum! {
    #[derive(async_graphql::Enum)]
    pub enum AggregateOp { Count => "count", Sum => "sum", Avg => "avg", Min => "min", Max => "max" }
}

crate::text_enum::text_enum! {
    #[derive(async_graphql::Enum)]
    pub enum TimeUnit { Day => "day", Week => "week", Month => "month", Quarter => "quarter", Year => "year" }
}

#[derive(Debug, Clone)]
pub struct Measure {
    pub op: AggregateOp,
    /// None: rows (COUNT only).
    pub field: Option<String>,
}

pub struct AggregateRequest {
    pub entity: String,
    pub filter: Option<Filter>,
    pub search: Vec<String>,
    pub group_by: Vec<String>,
    pub bucket: Option<(String, TimeUnit)>,
    pub measures: Vec<Measure>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    /// The group's values, one per `group_by` field.
    pub keys: Vec<Json>,
    /// Start of the time bucket (ISO 8601), when bucketed.
    pub bucket: Option<String>,
    pub values: Vec<Option<f64>>,
}

/// Most groups returned; more are cut (and said so).
pub const MAX_GROUPS: usize = 1000;

fn problem(field: &str, message: impl Into<String>) -> Problem {
    (field.to_owned(), message.into())
}

fn literal(field: &str) -> String {
    format!("'{}'", field.replace('\'', "''"))
}

fn number(field: &str) -> String {
    let f = literal(field);
    format!("CASE WHEN jsonb_typeof(u.data->{f}) = 'number' THEN (u.data->>{f})::float8 END")
}

/// The statement and its parameters.
pub fn statement(
    tenant: uuid::Uuid,
    fields: &Fields,
    req: &AggregateRequest,
) -> Result<(String, Sql), Problem> {
    if req.measures.is_empty() || req.measures.len() > 10 {
        return Err(problem("measures", "needs 1 to 10 measures"));
    }
    if req.group_by.len() > 3 {
        return Err(problem("groupBy", "at most 3 fields"));
    }
    let mut select: Vec<String> = Vec::new();
    for (i, g) in req.group_by.iter().enumerate() {
        fields.kind(g, "groupBy")?;
        select.push(format!("u.data->{} AS g{i}", literal(g)));
    }
    if let Some((field, unit)) = &req.bucket {
        if fields.kind(field, "timeBucket.field")? != Kind::Time {
            return Err(problem(
                "timeBucket.field",
                format!("{field} is not a date or timestamp"),
            ));
        }
        let f = literal(field);
        select.push(format!(
            "CASE WHEN u.data->>{f} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' THEN date_trunc('{}', (u.data->>{f})::timestamptz AT TIME ZONE 'UTC') END AS bucket",
            unit.as_str()
        ));
    }
    let keys = select.len();
    for (i, m) in req.measures.iter().enumerate() {
        let at = format!("measures[{i}].field");
        let expr = match (&m.op, &m.field) {
            (AggregateOp::Count, None) => "count(*)::float8".to_owned(),
            (AggregateOp::Count, Some(f)) => {
                fields.kind(f, &at)?;
                format!("count(u.data->{})::float8", literal(f))
            }
            (_, None) => return Err(problem(&at, format!("{} needs a field", m.op.as_str()))),
            (op, Some(f)) => {
                if fields.kind(f, &at)? != Kind::Number {
                    return Err(problem(&at, format!("{f} is not a number field")));
                }
                format!("{}({})", op.as_str(), number(f))
            }
        };
        select.push(format!("{expr} AS m{i}"));
    }
    let mut sql = Sql::new(vec![tenant.into(), req.entity.clone().into()]);
    let mut conds = vec!["u.tenant_id = $1".to_owned(), "u.entity = $2".to_owned()];
    if let Some(f) = &req.filter {
        conds.push(query::condition(f, fields, &mut sql)?);
    }
    if let Some(s) = query::search_condition(&req.search, &mut sql) {
        conds.push(s);
    }
    let group = if keys == 0 {
        String::new()
    } else {
        let positions: Vec<String> = (1..=keys).map(|k| k.to_string()).collect();
        format!(" GROUP BY {0} ORDER BY {0}", positions.join(", "))
    };
    Ok((
        format!(
            "SELECT {} FROM unified_records u WHERE {}{group} LIMIT {}",
            select.join(", "),
            conds.join(" AND "),
            MAX_GROUPS + 1
        ),
        sql,
    ))
}

/// The groups (at most `MAX_GROUPS`) and whether more were cut.
pub async fn run(
    tx: &ScopedTx<'_>,
    fields: &Fields,
    req: &AggregateRequest,
) -> Result<Result<(Vec<AggregateRow>, bool), Problem>, sea_orm::DbErr> {
    let (text, sql) = match statement(tx.tenant_id(), fields, req) {
        Ok(s) => s,
        Err(p) => return Ok(Err(p)),
    };
    let rows = tx
        .conn()
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            text,
            sql.values,
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter().take(MAX_GROUPS) {
        let keys = (0..req.group_by.len())
            .map(|i| {
                r.try_get::<Option<Json>>("", &format!("g{i}"))
                    .map(|v| v.unwrap_or(Json::Null))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bucket = match req.bucket {
            Some(_) => r
                .try_get::<Option<chrono::NaiveDateTime>>("", "bucket")?
                .map(|t| t.and_utc().to_rfc3339()),
            None => None,
        };
        let values = (0..req.measures.len())
            .map(|i| r.try_get::<Option<f64>>("", &format!("m{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(AggregateRow {
            keys,
            bucket,
            values,
        });
    }
    Ok(Ok((out, rows.len() > MAX_GROUPS)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fields() -> Fields {
        Fields(HashMap::from([
            ("stage".to_owned(), Kind::Text),
            ("amount".to_owned(), Kind::Number),
            ("close_date".to_owned(), Kind::Time),
        ]))
    }

    fn req(group_by: &[&str], bucket: Option<&str>, measures: Vec<Measure>) -> AggregateRequest {
        AggregateRequest {
            entity: "opportunity".into(),
            filter: None,
            search: vec![],
            group_by: group_by.iter().map(|s| (*s).to_owned()).collect(),
            bucket: bucket.map(|f| (f.to_owned(), TimeUnit::Month)),
            measures,
        }
    }

    #[test]
    fn amounts_by_stage_by_month() {
        let (text, _) = statement(
            uuid::Uuid::nil(),
            &fields(),
            &req(
                &["stage"],
                Some("close_date"),
                vec![
                    Measure {
                        op: AggregateOp::Sum,
                        field: Some("amount".into()),
                    },
                    Measure {
                        op: AggregateOp::Count,
                        field: None,
                    },
                ],
            ),
        )
        .unwrap();
        assert!(text.contains("GROUP BY 1, 2 ORDER BY 1, 2"), "{text}");
        assert!(text.contains("date_trunc('month'"), "{text}");
        assert!(
            text.contains("sum(CASE WHEN jsonb_typeof(u.data->'amount') = 'number'"),
            "{text}"
        );
    }

    #[test]
    fn measures_fit_their_fields() {
        let sum_text = req(
            &[],
            None,
            vec![Measure {
                op: AggregateOp::Sum,
                field: Some("stage".into()),
            }],
        );
        assert_eq!(
            statement(uuid::Uuid::nil(), &fields(), &sum_text)
                .unwrap_err()
                .0,
            "measures[0].field"
        );
        let bucket_text = req(
            &[],
            Some("stage"),
            vec![Measure {
                op: AggregateOp::Count,
                field: None,
            }],
        );
        assert_eq!(
            statement(uuid::Uuid::nil(), &fields(), &bucket_text)
                .unwrap_err()
                .0,
            "timeBucket.field"
        );
        let unknown = req(
            &["nope"],
            None,
            vec![Measure {
                op: AggregateOp::Count,
                field: None,
            }],
        );
        assert_eq!(
            statement(uuid::Uuid::nil(), &fields(), &unknown)
                .unwrap_err()
                .0,
            "groupBy"
        );
        assert_eq!(
            statement(uuid::Uuid::nil(), &fields(), &req(&[], None, vec![]))
                .unwrap_err()
                .0,
            "measures"
        );
    }
}
