//! The `records` query's language over golden values: a filter tree (AND / OR / NOT over typed
//! conditions on canonical fields), word-prefix search, a sort on any field, keyset cursors.
//! Pure: it builds SQL over `unified_records u` and its parameters. Field names are checked
//! against the entity's fields before they reach SQL.
use std::collections::HashMap;

use serde_json::Value as Json;

use crate::domains::lineage::grid::{like_pattern, Cursor, Op, Problem, Sql, MAX_CONDITIONS};

/// How a canonical field's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    /// Dates and timestamps: ISO 8601 text in UTC, which sorts as time does.
    Time,
    Bool,
}

impl Kind {
    pub fn of(data_type: &str) -> Self {
        match data_type {
            "integer" | "decimal" | "number" | "float" => Self::Number,
            "date" | "timestamp" | "datetime" => Self::Time,
            "boolean" => Self::Bool,
            _ => Self::Text,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond { field: String, op: Op, value: Json },
}

#[derive(Debug, Clone)]
pub struct Sort {
    /// None: by id (creation order).
    pub field: Option<String>,
    pub descending: bool,
}

/// An entity's fields and their kinds: what a filter or sort may name.
pub struct Fields(pub HashMap<String, Kind>);

fn problem(field: &str, message: impl Into<String>) -> Problem {
    (field.to_owned(), message.into())
}

impl Fields {
    pub fn kind(&self, field: &str, at: &str) -> Result<Kind, Problem> {
        self.0
            .get(field)
            .copied()
            .ok_or_else(|| problem(at, format!("{field:?} is not a field of the entity")))
    }
}

/// `u.data->'field'`: the field name is a known canonical field, quoted as a literal.
fn expr(field: &str) -> String {
    format!("(u.data->'{}')", field.replace('\'', "''"))
}

/// The sort key: `null` where missing, so keyset comparisons stay simple.
pub fn sort_expr(sort: &Sort) -> String {
    match &sort.field {
        Some(f) => format!("coalesce({}, 'null'::jsonb)", expr(f)),
        None => "'null'::jsonb".to_owned(),
    }
}

fn typed(kind: Kind, value: &Json, field: &str) -> Result<Json, Problem> {
    let bad = |what: &str| problem("filter.value", format!("{field} needs {what}"));
    Ok(match kind {
        Kind::Text => Json::String(value.as_str().ok_or_else(|| bad("a string"))?.to_owned()),
        Kind::Number => Json::from(value.as_f64().ok_or_else(|| bad("a number"))?),
        Kind::Bool => Json::Bool(value.as_bool().ok_or_else(|| bad("true or false"))?),
        Kind::Time => {
            let s = value
                .as_str()
                .ok_or_else(|| bad("an ISO 8601 date or timestamp"))?;
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                Json::String(t.with_timezone(&chrono::Utc).to_rfc3339())
            } else if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
                Json::String(s.to_owned())
            } else {
                return Err(bad("an ISO 8601 date or timestamp"));
            }
        }
    })
}

fn count(f: &Filter) -> usize {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().map(count).sum::<usize>() + 1,
        Filter::Not(inner) => count(inner) + 1,
        Filter::Cond { .. } => 1,
    }
}

pub fn condition(filter: &Filter, fields: &Fields, sql: &mut Sql) -> Result<String, Problem> {
    if count(filter) > MAX_CONDITIONS {
        return Err(problem(
            "filter",
            format!("has more than {MAX_CONDITIONS} conditions"),
        ));
    }
    build(filter, fields, sql)
}

fn build(filter: &Filter, fields: &Fields, sql: &mut Sql) -> Result<String, Problem> {
    let many = |parts: &[Filter], sql: &mut Sql, join: &str| -> Result<String, Problem> {
        if parts.is_empty() {
            return Ok("TRUE".to_owned());
        }
        let built: Result<Vec<_>, _> = parts.iter().map(|p| build(p, fields, sql)).collect();
        Ok(format!("({})", built?.join(join)))
    };
    Ok(match filter {
        Filter::And(parts) => {
            // The equality conditions of one AND: one containment lookup for all of them.
            let mut equal = serde_json::Map::new();
            let mut rest: Vec<Filter> = Vec::new();
            for p in parts {
                match p {
                    Filter::Cond {
                        field,
                        op: Op::Eq,
                        value,
                    } if !equal.contains_key(field) => {
                        let kind = fields.kind(field, "filter.field")?;
                        equal.insert(field.clone(), typed(kind, value, field)?);
                    }
                    other => rest.push(other.clone()),
                }
            }
            if equal.is_empty() {
                many(parts, sql, " AND ")?
            } else {
                let lookup = format!(
                    "u.id IN (SELECT unified_ids_containing($2, {}::jsonb))",
                    sql.param(Json::Object(equal).into())
                );
                let others = many(&rest, sql, " AND ")?;
                format!("({lookup} AND {others})")
            }
        }
        Filter::Or(parts) => many(parts, sql, " OR ")?,
        Filter::Not(inner) => format!("(NOT coalesce({}, FALSE))", build(inner, fields, sql)?),
        Filter::Cond { field, op, value } => {
            let kind = fields.kind(field, "filter.field")?;
            let col = expr(field);
            match op {
                Op::IsNull => format!("({col} IS NULL OR {col} = 'null'::jsonb)"),
                Op::IsNotNull => format!("({col} IS NOT NULL AND {col} <> 'null'::jsonb)"),
                Op::Contains | Op::StartsWith => {
                    if kind != Kind::Text {
                        return Err(problem(
                            "filter.op",
                            format!("{op:?} works on text fields, not {field}"),
                        ));
                    }
                    let pattern = like_pattern(*op, value)?;
                    format!(
                        "lower(u.data->>'{}') LIKE {}",
                        field.replace('\'', "''"),
                        sql.param(pattern.into())
                    )
                }
                Op::In => {
                    let items = value
                        .as_array()
                        .filter(|a| !a.is_empty() && a.len() <= 100)
                        .ok_or_else(|| {
                            problem("filter.value", "IN needs a list of 1 to 100 values")
                        })?;
                    let params: Result<Vec<_>, _> = items
                        .iter()
                        .map(|v| {
                            typed(kind, v, field).map(|v| format!("{}::jsonb", sql.param(v.into())))
                        })
                        .collect();
                    format!("{col} IN ({})", params?.join(", "))
                }
                // Containment through the GIN index on `data` (a function: under row-level
                // security `@>` could not use it; migration 0011).
                Op::Eq => {
                    let v = typed(kind, value, field)?;
                    format!(
                        "u.id IN (SELECT unified_ids_containing($2, jsonb_build_object('{}', {}::jsonb)))",
                        field.replace('\'', "''"),
                        sql.param(v.into())
                    )
                }
                Op::Ne | Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                    let v = typed(kind, value, field)?;
                    let p = format!("{}::jsonb", sql.param(v.into()));
                    let sign = match op {
                        Op::Ne => "<>",
                        Op::Lt => "<",
                        Op::Lte => "<=",
                        Op::Gt => ">",
                        _ => ">=",
                    };
                    format!("{col} {sign} {p}")
                }
            }
        }
    })
}

/// Every word must begin a word of the golden values (`search` is the record's tsvector). `$2`
/// is the entity, as in every statement built here.
pub fn search_condition(words: &[String], sql: &mut Sql) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    // Words are letters and digits only (split by `search_words`): safe inside a tsquery.
    let query = words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ");
    Some(format!(
        "u.id IN (SELECT unified_ids_matching($2, to_tsquery('simple', {})))",
        sql.param(query.into())
    ))
}

pub fn check_sort(sort: &Sort, fields: &Fields) -> Result<(), Problem> {
    match &sort.field {
        Some(f) => fields.kind(f, "sort.field").map(drop),
        None => Ok(()),
    }
}

/// The condition that starts a page after `cursor` in `sort` order.
pub fn after_condition(sort: &Sort, cursor: &Cursor, sql: &mut Sql) -> String {
    let key = sql.param(cursor.key.clone().into());
    let id = sql.param(cursor.id.into());
    let cmp = if sort.descending { "<" } else { ">" };
    format!("({}, u.id) {cmp} ({key}::jsonb, {id})", sort_expr(sort))
}

pub fn order_by(sort: &Sort) -> String {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    match sort.field {
        Some(_) => format!("{} {dir}, u.id {dir}", sort_expr(sort)),
        None => format!("u.id {dir}"),
    }
}

/// A row's sort key as the cursor keeps it.
pub fn sort_key(sort: &Sort, data: &Json) -> Json {
    sort.field
        .as_ref()
        .and_then(|f| data.get(f).cloned())
        .unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Fields {
        Fields(HashMap::from([
            ("name".to_owned(), Kind::Text),
            ("amount".to_owned(), Kind::Number),
            ("close_date".to_owned(), Kind::Time),
        ]))
    }

    fn cond(field: &str, op: Op, value: Json) -> Filter {
        Filter::Cond {
            field: field.into(),
            op,
            value,
        }
    }

    #[test]
    fn filters_become_typed_jsonb_conditions() {
        let mut sql = Sql::new(vec![]);
        let f = Filter::And(vec![
            cond("amount", Op::Gte, json!(1000)),
            Filter::Not(Box::new(cond("name", Op::Contains, json!("50%")))),
            cond("close_date", Op::Lt, json!("2026-01-01")),
        ]);
        let c = condition(&f, &fields(), &mut sql).unwrap();
        assert_eq!(
            c,
            "((u.data->'amount') >= $1::jsonb AND (NOT coalesce(lower(u.data->>'name') LIKE $2, FALSE)) AND (u.data->'close_date') < $3::jsonb)"
        );
        assert_eq!(sql.values.len(), 3);
    }

    #[test]
    fn equalities_of_one_and_are_one_lookup() {
        let mut sql = Sql::new(vec![]);
        let f = Filter::And(vec![
            cond("name", Op::Eq, json!("Acme")),
            cond("amount", Op::Eq, json!(5)),
            cond("amount", Op::Gt, json!(1)),
        ]);
        let c = condition(&f, &fields(), &mut sql).unwrap();
        assert_eq!(
            c,
            "(u.id IN (SELECT unified_ids_containing($2, $1::jsonb)) AND ((u.data->'amount') > $2::jsonb))"
        );
        assert_eq!(sql.values.len(), 2);
    }

    #[test]
    fn unknown_fields_and_mistyped_values_are_refused_with_their_place() {
        let mut sql = Sql::new(vec![]);
        let err = condition(
            &cond("name'; DROP TABLE x; --", Op::Eq, json!("a")),
            &fields(),
            &mut sql,
        )
        .unwrap_err();
        assert_eq!(err.0, "filter.field");
        let err =
            condition(&cond("amount", Op::Eq, json!("lots")), &fields(), &mut sql).unwrap_err();
        assert_eq!(err.0, "filter.value");
        let err = condition(
            &cond("amount", Op::Contains, json!("1")),
            &fields(),
            &mut sql,
        )
        .unwrap_err();
        assert_eq!(err.0, "filter.op");
        let many = Filter::Or((0..60).map(|_| cond("name", Op::Eq, json!("a"))).collect());
        assert_eq!(
            condition(&many, &fields(), &mut sql).unwrap_err().0,
            "filter"
        );
        assert!(check_sort(
            &Sort {
                field: Some("nope".into()),
                descending: false
            },
            &fields()
        )
        .is_err());
    }
}
