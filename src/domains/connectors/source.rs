//! What every connector kind offers the pipeline: its schema, its records in batches, its health.
use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// One source entity's fields as the source shows them now.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitySchema {
    pub entity: String,
    pub fields: Vec<FieldSchema>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    pub name: String,
    /// Inferred or declared: string, integer, decimal, boolean, date, timestamp, email, url.
    pub data_type: String,
    pub samples: Vec<String>,
}

/// One source record: its id, a version that changes when its content does, and its values by
/// field name (absent and empty are the same thing to a CSV).
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// Position in the source (1-based data row for files): where a resumed run restarts.
    pub position: u64,
    pub id: String,
    pub version: String,
    pub values: Vec<(String, String)>,
}

/// A record the source could not read; the run reports it and goes on.
#[derive(Debug, Clone)]
pub struct Quarantined {
    pub position: u64,
    pub reason: String,
    pub raw: String,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<SourceRecord>,
    pub quarantined: Vec<Quarantined>,
    /// The position after which a resumed run starts once this batch is stored.
    pub last_position: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source cannot be read at all (missing file, refused connection).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Invalid(String),
}

/// What a caller is told: an unreadable source is bad input (its config or its endpoint), an
/// invalid one names the config.
impl From<SourceError> for crate::error::AppError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Unavailable(m) => Self::bad_input(format!("source unavailable: {m}")),
            SourceError::Invalid(m) => Self::bad_field("config", m),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Health {
    pub ok: bool,
    pub message: String,
}

impl Health {
    pub fn read(message: String) -> Self {
        Self { ok: true, message }
    }

    pub fn failed(error: impl std::fmt::Display) -> Self {
        Self {
            ok: false,
            message: error.to_string(),
        }
    }
}

/// A character that is not text: NUL (which PostgreSQL cannot store at all) and the other C0
/// controls but tab, line feed and carriage return.
fn is_binary(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// Kept text with its binary characters written out (`\u{0}`), so it can be stored and shown.
pub fn visible(text: &str) -> String {
    if !text.chars().any(is_binary) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if is_binary(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl Batch {
    /// Whatever the source, a record with binary content (a NUL byte, control characters) is
    /// quarantined with the field named instead of failing its whole batch in the database.
    pub fn quarantine_binary(&mut self) {
        let (good, bad): (Vec<SourceRecord>, Vec<SourceRecord>) = std::mem::take(&mut self.records)
            .into_iter()
            .partition(|r| {
                !r.id.chars().any(is_binary)
                    && r.values
                        .iter()
                        .all(|(k, v)| !k.chars().any(is_binary) && !v.chars().any(is_binary))
            });
        self.records = good;
        for record in bad {
            let field = record
                .values
                .iter()
                .find(|(k, v)| k.chars().any(is_binary) || v.chars().any(is_binary))
                .map_or("the id", |(k, _)| k.as_str());
            let raw: serde_json::Map<String, Value> = record
                .values
                .iter()
                .map(|(k, v)| (visible(k), Value::String(visible(v))))
                .collect();
            self.quarantined.push(Quarantined {
                position: record.position,
                reason: format!(
                    "binary content (a NUL byte or control character) in {}",
                    visible(field)
                ),
                raw: Value::Object(raw).to_string(),
            });
        }
        for q in &mut self.quarantined {
            q.raw = visible(&q.raw);
            q.reason = visible(&q.reason);
        }
        self.quarantined.sort_by_key(|q| q.position);
    }
}

impl EntitySchema {
    /// Field names must be text; samples that are not are left out.
    pub fn check_text(&mut self) -> Result<(), SourceError> {
        if let Some(f) = self.fields.iter().find(|f| f.name.chars().any(is_binary)) {
            return Err(SourceError::Invalid(format!(
                "the field name {:?} holds binary content (a NUL byte or control character)",
                visible(&f.name)
            )));
        }
        for f in &mut self.fields {
            f.samples.retain(|s| !s.chars().any(is_binary));
        }
        Ok(())
    }
}

#[async_trait]
pub trait Source: Send + Sync {
    /// The entities the source offers (files, endpoints, tables).
    async fn entities(&self) -> Result<Vec<String>, SourceError>;

    /// One entity's fields now. Entities are introspected one by one so that one failing does
    /// not stop the others.
    async fn introspect(&self, entity: &str) -> Result<EntitySchema, SourceError>;

    /// Streams the entity's records after `after_position`, `batch_size` at a time. The stream
    /// ends after the last batch, or with an error that stops the run.
    fn read(
        &self,
        entity: &str,
        after_position: u64,
        batch_size: usize,
    ) -> mpsc::Receiver<Result<Batch, SourceError>>;

    /// Reads one page of `entity` (the first the source offers), writing nothing: connected,
    /// authenticated and readable, or why not.
    async fn health(&self, entity: &str) -> Health;
}

pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A record's fields as (name, text): nested objects flattened with dots, arrays as JSON.
pub fn flatten(prefix: &str, object: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in object {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        flatten_value(name, v, out);
    }
}

/// Items of an array of objects read as paths (`emails[0].value`); beyond them, and arrays of
/// plain values, the array stays one JSON text value.
const MAX_ARRAY_ITEMS: usize = 3;

fn flatten_value(name: String, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(inner) => flatten(&name, inner, out),
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, item) in items.iter().take(MAX_ARRAY_ITEMS).enumerate() {
                flatten_value(format!("{name}[{i}]"), item, out);
            }
        }
        Value::Array(_) => out.push((name, v.to_string())),
        other => out.push((name, scalar(other))),
    }
}

/// A short, stable version of a record's content: re-reading an unchanged record yields the
/// same version, so its canonical event is not written twice.
pub fn content_version(values: &[(String, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (name, value) in values {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..12])
}

/// Sample values kept per source field.
pub const SAMPLES: usize = 3;

impl FieldSchema {
    /// A field known by the values read from it: its inferred type and its first few
    /// non-empty values (trimmed) as samples.
    pub fn from_values(name: String, values: &[String]) -> Self {
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        Self {
            name,
            data_type: infer_type(&refs).to_owned(),
            samples: values
                .iter()
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .take(SAMPLES)
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// The data type a set of sample values suggests (most specific type all of them fit).
pub fn infer_type(values: &[&str]) -> &'static str {
    let values: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return "string";
    }
    let all = |f: fn(&str) -> bool| values.iter().all(|v| f(v));
    if all(|v| v.parse::<i64>().is_ok()) {
        "integer"
    } else if all(|v| v.parse::<f64>().is_ok()) {
        "decimal"
    } else if all(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no"
        )
    }) {
        "boolean"
    } else if all(|v| super::values::parse_date(v).is_some()) {
        "date"
    } else if all(|v| super::values::parse_timestamp(v).is_some()) {
        "timestamp"
    } else if all(|v| v.contains('@') && !v.contains(' ')) {
        "email"
    } else {
        "string"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_inferred_from_all_samples() {
        assert_eq!(infer_type(&["1", "20", ""]), "integer");
        assert_eq!(infer_type(&["1", "2.5"]), "decimal");
        assert_eq!(infer_type(&["2024-01-31", "2024-02-01"]), "date");
        assert_eq!(infer_type(&["2024-01-31T10:00:00Z"]), "timestamp");
        assert_eq!(infer_type(&["a@b.co"]), "email");
        assert_eq!(infer_type(&["1", "x"]), "string");
        assert_eq!(infer_type(&[]), "string");
    }

    #[test]
    fn binary_records_are_quarantined_with_the_field_named() {
        let record = |position: u64, value: &str| SourceRecord {
            position,
            id: position.to_string(),
            version: String::new(),
            values: vec![("name".into(), "ok".into()), ("notes".into(), value.into())],
        };
        let mut batch = Batch {
            records: vec![
                record(1, "plain"),
                record(2, "nul\u{0}here"),
                record(3, "bell\u{7}"),
            ],
            quarantined: vec![Quarantined {
                position: 4,
                reason: "x".into(),
                raw: "a\u{0}b".into(),
            }],
            last_position: 4,
        };
        batch.quarantine_binary();
        assert_eq!(batch.records.len(), 1);
        let reasons: Vec<(u64, &str)> = batch
            .quarantined
            .iter()
            .map(|q| (q.position, q.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 3);
        assert!(reasons[0].1.contains("notes"), "{reasons:?}");
        assert!(batch.quarantined.iter().all(|q| !q.raw.contains('\0')));
        assert!(
            batch.quarantined[0].raw.contains("u{0}here"),
            "{}",
            batch.quarantined[0].raw
        );
        let mut schema = EntitySchema {
            entity: "e".into(),
            fields: vec![FieldSchema {
                name: "a".into(),
                data_type: "string".into(),
                samples: vec!["x\u{0}".into(), "y".into()],
            }],
        };
        schema.check_text().unwrap();
        assert_eq!(schema.fields[0].samples, ["y"]);
        schema.fields[0].name = "b\u{0}".into();
        assert!(schema.check_text().is_err());
    }

    #[test]
    fn versions_follow_content() {
        let a = vec![("name".to_owned(), "Acme".to_owned())];
        let b = vec![("name".to_owned(), "Acme Inc".to_owned())];
        assert_eq!(content_version(&a), content_version(&a.clone()));
        assert_ne!(content_version(&a), content_version(&b));
    }
}
