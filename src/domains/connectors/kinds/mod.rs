//! The closed set of connector kinds and their configuration schemas.
pub mod csv;
pub mod postgres;
pub mod rest;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::model::ConnectorKind;
use crate::error::AppError;

/// Shown in place of a secret value.
pub const REDACTED: &str = "********";

/// A kind's configuration: parsed strictly, checked, and redacted for display.
pub trait KindConfig: DeserializeOwned + Serialize {
    fn check(&self) -> Result<(), (String, String)>;
    /// Every secret value of the config (tokens, passwords), in a stable order.
    fn secrets(&mut self) -> Vec<&mut String>;
    /// The host and port the kind connects to, with the config field naming it.
    fn endpoint(&self) -> Option<Endpoint> {
        None
    }
}

/// Where a connector connects: checked against the outbound policy when it is saved (literal
/// addresses and names) and again on every connection (resolved addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub field: &'static str,
    pub host: String,
    pub port: u16,
}

/// A validated config, normalized (defaults filled in) for storage, and its redacted view.
pub struct ValidatedConfig {
    pub stored: serde_json::Value,
    pub redacted: serde_json::Value,
    pub endpoint: Option<Endpoint>,
}

pub fn validate(kind: ConnectorKind, raw: &serde_json::Value) -> Result<ValidatedConfig, AppError> {
    match kind {
        ConnectorKind::Csv => validate_as::<csv::CsvConfig>(raw),
        ConnectorKind::Rest => validate_as::<rest::RestConfig>(raw),
        ConnectorKind::Postgres => validate_as::<postgres::PostgresConfig>(raw),
    }
}

/// The redacted view of a stored config (already valid when it was stored).
pub fn redact_stored(kind: ConnectorKind, stored: &serde_json::Value) -> serde_json::Value {
    validate(kind, stored)
        .map(|v| v.redacted)
        .unwrap_or_else(|_| serde_json::json!({ "error": "stored config no longer valid" }))
}

fn validate_as<C: KindConfig>(raw: &serde_json::Value) -> Result<ValidatedConfig, AppError> {
    if !raw.is_object() {
        return Err(AppError::bad_field("config", "must be a JSON object"));
    }
    let mut config: C = serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "config".to_owned()
        } else {
            format!("config.{path}")
        };
        AppError::bad_field(field, e.into_inner().to_string())
    })?;
    config
        .check()
        .map_err(|(path, message)| AppError::bad_field(format!("config.{path}"), message))?;
    let stored = serde_json::to_value(&config).map_err(AppError::internal)?;
    let endpoint = config.endpoint();
    for secret in config.secrets() {
        redact(secret);
    }
    let redacted = serde_json::to_value(&config).map_err(AppError::internal)?;
    Ok(ValidatedConfig {
        stored,
        redacted,
        endpoint,
    })
}

/// Applies `f` to every secret of a stored config (already valid when it was stored).
pub fn map_secrets(
    kind: ConnectorKind,
    stored: &serde_json::Value,
    f: impl FnMut(&mut String) -> Result<(), AppError>,
) -> Result<serde_json::Value, AppError> {
    match kind {
        ConnectorKind::Csv => map_as::<csv::CsvConfig>(stored, f),
        ConnectorKind::Rest => map_as::<rest::RestConfig>(stored, f),
        ConnectorKind::Postgres => map_as::<postgres::PostgresConfig>(stored, f),
    }
}

fn map_as<C: KindConfig>(
    stored: &serde_json::Value,
    mut f: impl FnMut(&mut String) -> Result<(), AppError>,
) -> Result<serde_json::Value, AppError> {
    let mut config: C = serde_json::from_value(stored.clone()).map_err(AppError::internal)?;
    for secret in config.secrets() {
        f(secret)?;
    }
    serde_json::to_value(&config).map_err(AppError::internal)
}

/// The secrets of a config, in order.
pub fn secrets_of(
    kind: ConnectorKind,
    stored: &serde_json::Value,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    map_secrets(kind, stored, |s| {
        out.push(s.clone());
        Ok(())
    })?;
    Ok(out)
}

fn redact(secret: &mut String) {
    if !secret.is_empty() {
        *secret = REDACTED.to_owned();
    }
}

pub(crate) fn check_url(path: &str, raw: &str) -> Result<(), (String, String)> {
    match url::Url::parse(raw) {
        Ok(u) => {
            crate::infra::outbound::check_url_shape(&u).map_err(|e| (path.into(), e.to_string()))
        }
        Err(e) => Err((path.into(), format!("is not a valid URL: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem(kind: ConnectorKind, raw: serde_json::Value) -> String {
        match validate(kind, &raw) {
            Err(AppError::BadUserInput { problems, .. }) => {
                format!("{}: {}", problems[0].field, problems[0].message)
            }
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("config was accepted: {raw}"),
        }
    }

    #[test]
    fn csv_config_gets_defaults() {
        let v = validate(ConnectorKind::Csv, &json!({"path": "/data/accounts.csv"})).unwrap();
        assert_eq!(v.stored["delimiter"], ",");
        assert_eq!(v.stored["hasHeader"], true);
        assert_eq!(v.stored["encoding"], "utf-8");
    }

    #[test]
    fn bad_configs_name_the_field() {
        assert_eq!(
            problem(ConnectorKind::Csv, json!({})),
            "config: missing field `path`"
        );
        assert!(problem(
            ConnectorKind::Csv,
            json!({"path": "a.csv", "delimiter": ",,"})
        )
        .starts_with("config.delimiter"));
        assert!(
            problem(ConnectorKind::Csv, json!({"path": "a.csv", "colour": 1}))
                .contains("unknown field `colour`")
        );
        assert!(problem(
            ConnectorKind::Rest,
            json!({"baseUrl": "ftp://x", "entities": [{"name": "a", "endpoint": "/a"}]})
        )
        .starts_with("config.baseUrl"));
        assert!(problem(
            ConnectorKind::Rest,
            json!({"baseUrl": "https://api.example.com", "entities": []})
        )
        .starts_with("config.entities"));
        assert!(problem(
            ConnectorKind::Postgres,
            json!({"host": "db", "database": "crm", "user": "u", "port": 0})
        )
        .starts_with("config.port"));
        assert_eq!(
            problem(ConnectorKind::Csv, json!([1])),
            "config: must be a JSON object"
        );
    }

    #[test]
    fn secrets_are_redacted_but_stored() {
        let raw = json!({
            "baseUrl": "https://api.example.com",
            "auth": {"type": "bearer", "token": "s3cr3t"},
            "entities": [{"name": "companies", "endpoint": "/companies"}]
        });
        let v = validate(ConnectorKind::Rest, &raw).unwrap();
        assert_eq!(v.stored["auth"]["token"], "s3cr3t");
        assert_eq!(v.redacted["auth"]["token"], REDACTED);
        let pg = validate(
            ConnectorKind::Postgres,
            &json!({"host": "db", "database": "crm", "user": "u", "password": "pw"}),
        )
        .unwrap();
        assert_eq!(pg.redacted["password"], REDACTED);
        assert_eq!(pg.stored["port"], 5432);
    }
}
