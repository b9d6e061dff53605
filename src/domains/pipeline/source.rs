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

#[derive(Debug, Clone)]
pub struct Health {
    pub ok: bool,
    pub message: String,
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

    async fn health(&self) -> Health;
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
        match v {
            Value::Object(inner) => flatten(&name, inner, out),
            Value::Array(_) => out.push((name, v.to_string())),
            other => out.push((name, scalar(other))),
        }
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
    } else if all(|v| super::coerce::parse_date(v).is_some()) {
        "date"
    } else if all(|v| super::coerce::parse_timestamp(v).is_some()) {
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
    fn versions_follow_content() {
        let a = vec![("name".to_owned(), "Acme".to_owned())];
        let b = vec![("name".to_owned(), "Acme Inc".to_owned())];
        assert_eq!(content_version(&a), content_version(&a.clone()));
        assert_ne!(content_version(&a), content_version(&b));
    }
}
