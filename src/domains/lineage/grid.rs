//! The lineage grid's query language: columns, a filter tree (AND / OR / NOT over conditions),
//! full-text search, one sort column, keyset cursors. Pure: it builds SQL and parameters.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sea_orm::Value;
use serde_json::Value as Json;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Time,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Self::SourceSystem => "source_system",
            Self::SourceTable => "source_table",
            Self::SourceField => "source_field",
            Self::CanonicalEntity => "canonical_entity",
            Self::CanonicalField => "canonical_field",
            Self::MappingType => "mapping_type",
            Self::Method => "method",
            Self::Confidence => "confidence",
            Self::Status => "status",
            Self::Version => "version",
            Self::LastValidated => "last_validated",
            Self::SuccessRate => "success_rate",
            Self::AvgProcessingMs => "avg_processing_ms",
            Self::ErrorCount => "error_count",
            Self::CreatedAt => "created_at",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Self::Confidence
            | Self::Version
            | Self::SuccessRate
            | Self::AvgProcessingMs
            | Self::ErrorCount => Kind::Number,
            Self::LastValidated | Self::CreatedAt => Kind::Time,
            _ => Kind::Text,
        }
    }

    /// The sort key: never NULL, so keyset comparisons stay simple (no figures sort first).
    fn sort_expr(self) -> String {
        match self.kind() {
            Kind::Text => format!("g.{}", self.name()),
            Kind::Number => format!("coalesce(g.{}::float8, -1)", self.name()),
            Kind::Time => format!("coalesce(g.{}, '-infinity'::timestamptz)", self.name()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    Contains,
    StartsWith,
    In,
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond { column: Column, op: Op, value: Json },
}

#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

/// Most conditions a filter may hold: a bound on the SQL a request can make.
pub const MAX_CONDITIONS: usize = 50;

/// Positional parameters of a statement being built (`param` hands out `$n`).
#[derive(Debug)]
pub struct Sql {
    pub values: Vec<Value>,
}

impl Sql {
    pub fn new(first_values: Vec<Value>) -> Self {
        Self {
            values: first_values,
        }
    }

    pub fn param(&mut self, v: Value) -> String {
        self.values.push(v);
        format!("${}", self.values.len())
    }
}

/// Why a filter, sort or cursor was refused: (field, message).
pub type Problem = (String, String);

fn problem(field: &str, message: impl Into<String>) -> Problem {
    (field.to_owned(), message.into())
}

fn count(f: &Filter) -> usize {
    match f {
        Filter::And(v) | Filter::Or(v) => v.iter().map(count).sum::<usize>() + 1,
        Filter::Not(inner) => count(inner) + 1,
        Filter::Cond { .. } => 1,
    }
}

/// The lower-case LIKE pattern of a CONTAINS or STARTS_WITH condition's value.
pub fn like_pattern(op: Op, value: &Json) -> Result<String, Problem> {
    let s = value
        .as_str()
        .ok_or_else(|| problem("filter.value", "needs a string"))?;
    let escaped = like_escape(&s.to_lowercase());
    Ok(if op == Op::Contains {
        format!("%{escaped}%")
    } else {
        format!("{escaped}%")
    })
}

pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn scalar(column: Column, value: &Json, sql: &mut Sql) -> Result<String, Problem> {
    let bad = |what: &str| problem("filter.value", format!("{} needs {what}", column.name()));
    Ok(match column.kind() {
        Kind::Text => {
            let s = value.as_str().ok_or_else(|| bad("a string"))?;
            sql.param(s.to_owned().into())
        }
        Kind::Number => {
            let n = value.as_f64().ok_or_else(|| bad("a number"))?;
            format!("{}::float8", sql.param(n.into()))
        }
        Kind::Time => {
            let s = value.as_str().ok_or_else(|| bad("an RFC 3339 timestamp"))?;
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| bad("an RFC 3339 timestamp"))?;
            sql.param(t.with_timezone(&chrono::Utc).into())
        }
    })
}

/// The filter as a SQL condition over the grid rows `g`.
pub fn condition(filter: &Filter, sql: &mut Sql) -> Result<String, Problem> {
    if count(filter) > MAX_CONDITIONS {
        return Err(problem(
            "filter",
            format!("has more than {MAX_CONDITIONS} conditions"),
        ));
    }
    build(filter, sql)
}

fn build(filter: &Filter, sql: &mut Sql) -> Result<String, Problem> {
    Ok(match filter {
        Filter::And(parts) | Filter::Or(parts) if parts.is_empty() => "TRUE".to_owned(),
        Filter::And(parts) => {
            let parts: Result<Vec<_>, _> = parts.iter().map(|p| build(p, sql)).collect();
            format!("({})", parts?.join(" AND "))
        }
        Filter::Or(parts) => {
            let parts: Result<Vec<_>, _> = parts.iter().map(|p| build(p, sql)).collect();
            format!("({})", parts?.join(" OR "))
        }
        Filter::Not(inner) => format!("(NOT {})", build(inner, sql)?),
        Filter::Cond { column, op, value } => {
            let col = format!("g.{}", column.name());
            let col = if column.kind() == Kind::Number {
                format!("{col}::float8")
            } else {
                col
            };
            match op {
                Op::IsNull => format!("{col} IS NULL"),
                Op::IsNotNull => format!("{col} IS NOT NULL"),
                Op::Contains | Op::StartsWith => {
                    if column.kind() != Kind::Text {
                        return Err(problem(
                            "filter.op",
                            format!("{op:?} works on text columns, not {}", column.name()),
                        ));
                    }
                    let pattern = like_pattern(*op, value)?;
                    format!("lower({col}) LIKE {}", sql.param(pattern.into()))
                }
                Op::In => {
                    let items = value
                        .as_array()
                        .filter(|a| !a.is_empty() && a.len() <= 100)
                        .ok_or_else(|| {
                            problem("filter.value", "IN needs a list of 1 to 100 values")
                        })?;
                    let params: Result<Vec<_>, _> =
                        items.iter().map(|v| scalar(*column, v, sql)).collect();
                    format!("{col} IN ({})", params?.join(", "))
                }
                Op::Eq | Op::Ne | Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                    let p = scalar(*column, value, sql)?;
                    let sign = match op {
                        Op::Eq => "=",
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

/// Most words a search may hold.
pub const MAX_SEARCH_WORDS: usize = 10;

/// A search's words, split the way the stored rows' words are (`lineage_search_terms` in
/// migration 0006): at lower-to-upper humps and non-alphanumerics, lower-cased.
pub fn search_words(search: &str) -> Vec<String> {
    let mut humped = String::with_capacity(search.len() + 8);
    let mut prev: Option<char> = None;
    for c in search.chars() {
        if prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) && c.is_uppercase() {
            humped.push(' ');
        }
        humped.push(c);
        prev = Some(c);
    }
    let mut words: Vec<String> = Vec::new();
    for w in humped
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !words.iter().any(|x| x == w) {
            words.push(w.to_owned());
        }
    }
    words.truncate(MAX_SEARCH_WORDS);
    words
}

/// The least string above every string that starts with `prefix`, in byte (code point) order.
pub fn prefix_end(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return chars.into_iter().collect();
        }
    }
    // Only a run of char::MAX: nothing is above it but longer strings of it.
    format!("{prefix}{}", char::MAX)
}

/// Every word must begin one of the row's words. The `driver` word (the rarest) finds its
/// rows through the `lineage_terms` index by a prefix range; the others are checked on them.
pub fn search_condition(words: &[String], driver: usize, sql: &mut Sql) -> String {
    let Some(lead) = words.get(driver) else {
        return "TRUE".to_owned();
    };
    let mut parts = vec![format!(
        "g.id IN (SELECT t.id FROM lineage_terms t WHERE t.tenant_id = $1 AND t.term >= {} AND t.term < {})",
        sql.param(lead.clone().into()),
        sql.param(prefix_end(lead).into())
    )];
    for (i, w) in words.iter().enumerate() {
        if i != driver {
            let pattern = format!("% {}%", like_escape(w));
            parts.push(format!("g.search_terms LIKE {}", sql.param(pattern.into())));
        }
    }
    parts.join(" AND ")
}

/// A position in a sorted grid: the sort key's value and the row id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: Json,
    pub id: Uuid,
}

const CURSOR_PREFIX: &str = "g1:";

pub fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{CURSOR_PREFIX}{}",
        serde_json::json!({ "k": c.key, "i": c.id })
    ))
}

pub fn decode_cursor(raw: &str) -> Result<Cursor, Problem> {
    let invalid = || problem("after", "is not a cursor of this grid");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let body = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    let v: Json = serde_json::from_str(body).map_err(|_| invalid())?;
    let id = v["i"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(invalid)?;
    Ok(Cursor {
        key: v["k"].clone(),
        id,
    })
}

/// The condition that starts a page after `cursor` in `sort` order.
pub fn after_condition(sort: Sort, cursor: &Cursor, sql: &mut Sql) -> Result<String, Problem> {
    let key = match sort.column.kind() {
        Kind::Text => sql.param(
            cursor
                .key
                .as_str()
                .ok_or_else(|| problem("after", "does not fit the sort column"))?
                .to_owned()
                .into(),
        ),
        Kind::Number => format!(
            "{}::float8",
            sql.param(
                cursor
                    .key
                    .as_f64()
                    .ok_or_else(|| problem("after", "does not fit the sort column"))?
                    .into()
            )
        ),
        Kind::Time => format!(
            "{}::timestamptz",
            sql.param(
                cursor
                    .key
                    .as_str()
                    .ok_or_else(|| problem("after", "does not fit the sort column"))?
                    .to_owned()
                    .into()
            )
        ),
    };
    let id = sql.param(cursor.id.into());
    let cmp = if sort.descending { "<" } else { ">" };
    Ok(format!(
        "({}, g.id) {cmp} ({key}, {id})",
        sort.column.sort_expr()
    ))
}

pub fn order_by(sort: Sort) -> String {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    format!("{} {dir}, g.id {dir}", sort.column.sort_expr())
}

/// The sort key of a row as the cursor stores it (same coalescing as `sort_expr`).
pub fn sort_key_of(sort: Sort, row: &super::model::GridEntry) -> Json {
    use serde_json::json;
    match sort.column {
        Column::SourceSystem => json!(row.source_system),
        Column::SourceTable => json!(row.source_table),
        Column::SourceField => json!(row.source_field),
        Column::CanonicalEntity => json!(row.canonical_entity),
        Column::CanonicalField => json!(row.canonical_field),
        Column::MappingType => json!(row.mapping_type),
        Column::Method => json!(row.method),
        Column::Status => json!(row.status.as_str()),
        Column::Confidence => json!(row.confidence),
        Column::Version => json!(f64::from(row.version)),
        Column::SuccessRate => json!(row.success_rate.unwrap_or(-1.0)),
        Column::AvgProcessingMs => json!(row.avg_processing_ms.unwrap_or(-1.0)),
        Column::ErrorCount => json!(row.error_count as f64),
        Column::LastValidated => json!(row
            .last_validated
            .map_or_else(|| "-infinity".to_owned(), |t| t.to_rfc3339())),
        Column::CreatedAt => json!(row.created_at.to_rfc3339()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(column: Column, op: Op, value: Json) -> Filter {
        Filter::Cond { column, op, value }
    }

    #[test]
    fn filters_become_parameterized_sql() {
        let f = Filter::And(vec![
            cond(Column::Confidence, Op::Gte, json!(0.8)),
            Filter::Or(vec![
                cond(Column::SourceSystem, Op::Eq, json!("hubspot")),
                Filter::Not(Box::new(cond(
                    Column::CanonicalField,
                    Op::Contains,
                    json!("50%_off"),
                ))),
            ]),
        ]);
        let mut sql = Sql::new(vec![Uuid::nil().into()]);
        let text = condition(&f, &mut sql).unwrap();
        assert_eq!(
            text,
            "(g.confidence::float8 >= $2::float8 AND (g.source_system = $3 OR (NOT lower(g.canonical_field) LIKE $4)))"
        );
        assert_eq!(sql.values.len(), 4);
        assert_eq!(sql.values[3], Value::from("%50\\%\\_off%".to_owned()));
    }

    #[test]
    fn bad_filters_name_the_problem() {
        let mut sql = Sql::new(vec![]);
        let e = condition(
            &cond(Column::Confidence, Op::Contains, json!("x")),
            &mut sql,
        )
        .unwrap_err();
        assert_eq!(e.0, "filter.op");
        let e = condition(&cond(Column::Confidence, Op::Eq, json!("high")), &mut sql).unwrap_err();
        assert!(e.1.contains("a number"));
        let e = condition(
            &cond(Column::CreatedAt, Op::Gt, json!("yesterday")),
            &mut sql,
        )
        .unwrap_err();
        assert!(e.1.contains("RFC 3339"));
        let many = Filter::Or(
            (0..60)
                .map(|_| cond(Column::Method, Op::Eq, json!("RAG")))
                .collect(),
        );
        assert_eq!(condition(&many, &mut sql).unwrap_err().0, "filter");
    }

    #[test]
    fn search_words_split_like_the_stored_words() {
        assert_eq!(
            search_words("BillingCity  conn-5 address1_Country billingcity"),
            [
                "billing",
                "city",
                "conn",
                "5",
                "address1",
                "country",
                "billingcity"
            ]
        );
        assert!(search_words(" -- %_ ").is_empty());
        assert_eq!(search_words(&"w ".repeat(3)), ["w"]);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        assert_eq!(search_words(&many).len(), MAX_SEARCH_WORDS);
    }

    #[test]
    fn a_prefix_end_bounds_exactly_the_words_that_start_with_it() {
        assert_eq!(prefix_end("acc"), "acd");
        assert_eq!(prefix_end("az"), "a{");
        assert_eq!(prefix_end("a\u{d7ff}"), "a\u{e000}");
        assert_eq!(prefix_end("a\u{10ffff}"), "b");
        for w in ["acc", "account", "acc9", "acc\u{10ffff}x"] {
            assert!(w >= "acc" && w < prefix_end("acc").as_str(), "{w}");
        }
        for w in ["acb", "acd", "ac"] {
            assert!(!(w >= "acc" && w < prefix_end("acc").as_str()), "{w}");
        }
    }

    #[test]
    fn a_search_is_led_by_its_driver_word() {
        let mut sql = Sql::new(vec![Uuid::nil().into()]);
        let words = search_words("conn-5 field");
        let text = search_condition(&words, 2, &mut sql);
        assert!(text.starts_with("g.id IN (SELECT t.id FROM lineage_terms t"));
        assert_eq!(sql.values[1], Value::from("field".to_owned()));
        assert_eq!(sql.values[2], Value::from("fiele".to_owned()));
        assert_eq!(sql.values[3], Value::from("% conn%".to_owned()));
        assert_eq!(sql.values[4], Value::from("% 5%".to_owned()));
        assert_eq!(search_condition(&[], 0, &mut sql), "TRUE");
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            key: json!(0.75),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c);
        assert!(decode_cursor("bm9wZQ").is_err());
    }
}
