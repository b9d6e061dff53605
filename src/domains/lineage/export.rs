//! Exports of the lineage grid as CSV, JSON, SQL or Parquet, written by DuckDB. Rows are
//! streamed from PostgreSQL a page at a time into a staging file, which DuckDB converts on
//! the blocking pool: memory stays bounded whatever the size. Files are fetched through
//! signed, expiring links (`/exports/<tenant>/<file>?expires=…&sig=…`).
use std::path::{Path, PathBuf};

use ring::hmac;
use uuid::Uuid;

use super::grid::Filter;
use super::store;
use crate::domains::auth::scope::TenantScope;
use crate::error::{AppError, AppResult};
use crate::infra::analytics;
use crate::tenancy::ScopedTx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Sql,
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Sql => "sql",
            Self::Parquet => "parquet",
        }
    }
}

pub struct Export {
    pub url: String,
    pub rows: u64,
    pub bytes: u64,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Staging columns, in order, with their DuckDB types.
const COLUMNS: [(&str, &str); 16] = [
    ("id", "VARCHAR"),
    ("source_system", "VARCHAR"),
    ("source_table", "VARCHAR"),
    ("source_field", "VARCHAR"),
    ("canonical_entity", "VARCHAR"),
    ("canonical_field", "VARCHAR"),
    ("mapping_type", "VARCHAR"),
    ("method", "VARCHAR"),
    ("confidence", "DOUBLE"),
    ("status", "VARCHAR"),
    ("version", "INTEGER"),
    ("last_validated", "TIMESTAMPTZ"),
    ("success_rate", "DOUBLE"),
    ("avg_processing_ms", "DOUBLE"),
    ("error_count", "BIGINT"),
    ("created_at", "TIMESTAMPTZ"),
];

fn sql_text(path: &Path) -> String {
    path.display().to_string().replace('\'', "''")
}

/// The DuckDB statement that turns the staging CSV into the export.
fn convert_sql(staging: &Path, out: &Path, format: Format) -> String {
    let columns = COLUMNS
        .iter()
        .map(|(n, t)| format!("'{n}': '{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let source = format!(
        "read_csv('{}', header = true, columns = {{{columns}}})",
        sql_text(staging)
    );
    let out = sql_text(out);
    match format {
        Format::Csv => {
            format!("COPY (SELECT * FROM {source}) TO '{out}' (FORMAT CSV, HEADER true)")
        }
        Format::Json => {
            format!("COPY (SELECT * FROM {source}) TO '{out}' (FORMAT JSON, ARRAY true)")
        }
        Format::Parquet => format!("COPY (SELECT * FROM {source}) TO '{out}' (FORMAT PARQUET)"),
        Format::Sql => {
            let value = |(n, t): &(&str, &str)| match *t {
                "VARCHAR" | "TIMESTAMPTZ" => format!(
                    "coalesce('''' || replace(CAST({n} AS VARCHAR), '''', '''''') || '''', 'NULL')"
                ),
                _ => format!("coalesce(CAST({n} AS VARCHAR), 'NULL')"),
            };
            let names = COLUMNS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            let values = COLUMNS
                .iter()
                .map(value)
                .collect::<Vec<_>>()
                .join(" || ', ' || ");
            let ddl = COLUMNS
                .iter()
                .map(|(n, t)| {
                    let t = if *t == "VARCHAR" {
                        "text"
                    } else if *t == "TIMESTAMPTZ" {
                        "timestamptz"
                    } else if *t == "DOUBLE" {
                        "double precision"
                    } else {
                        t
                    };
                    format!("{n} {t}")
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "COPY (SELECT 'CREATE TABLE IF NOT EXISTS lineage ({ddl});' AS s UNION ALL
                       SELECT * FROM (SELECT 'INSERT INTO lineage ({names}) VALUES (' || {values} || ');' FROM {source}))
                 TO '{out}' (FORMAT CSV, HEADER false, QUOTE '', DELIMITER '\\x1f')"
            )
        }
    }
}

/// Deletes the tenant's export files whose links have all expired (a link lives `ttl` seconds
/// from the file's creation), and staging files left by an interrupted export.
fn remove_expired(dir: &std::path::Path, ttl_secs: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ttl = std::time::Duration::from_secs(ttl_secs);
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ttl);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes the grid rows matching `filter` and `search` into an export file and returns a
/// signed link to it.
pub async fn export_grid(
    exports: &Exports,
    scope: &TenantScope,
    filter: Option<Filter>,
    search: Option<String>,
    format: Format,
) -> AppResult<Export> {
    let dir = exports.dir.join(scope.tenant_id().to_string());
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    remove_expired(&dir, exports.url_ttl_secs);
    let id = Uuid::now_v7();
    let staging = dir.join(format!("{id}.staging.csv"));
    let file_name = format!("{id}.{}", format.extension());
    let out = dir.join(&file_name);
    let rows = stage(exports, scope, filter.as_ref(), search.as_deref(), &staging).await;
    let rows = match rows {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&staging);
            return Err(e);
        }
    };
    let sql = convert_sql(&staging, &out, format);
    let converted = analytics::run(move |db| Ok(db.execute_batch(&sql)?)).await;
    let _ = std::fs::remove_file(&staging);
    converted.map_err(AppError::internal)?;
    let bytes = std::fs::metadata(&out).map_err(AppError::internal)?.len();
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(exports.url_ttl_secs as i64);
    Ok(Export {
        url: signed_url(
            exports,
            scope.tenant_id(),
            &file_name,
            expires_at.timestamp(),
        ),
        rows,
        bytes,
        expires_at,
    })
}

/// Streams the grid rows into a CSV file as PostgreSQL reads them; one row in memory at a time.
async fn stage(
    exports: &Exports,
    scope: &TenantScope,
    filter: Option<&Filter>,
    search: Option<&str>,
    staging: &PathBuf,
) -> AppResult<u64> {
    use futures_util::StreamExt;
    let mut writer = csv::Writer::from_path(staging).map_err(AppError::internal)?;
    writer
        .write_record(COLUMNS.iter().map(|(n, _)| *n))
        .map_err(AppError::internal)?;
    let tx = ScopedTx::begin(&exports.db, scope).await?;
    let mut rows = 0u64;
    {
        let mut stream = store::grid_stream(&tx, filter, search).await?;
        while let Some(r) = stream.next().await {
            let r = r?;
            let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            writer
                .write_record([
                    r.id.to_string(),
                    r.source_system,
                    r.source_table,
                    r.source_field,
                    r.canonical_entity,
                    r.canonical_field,
                    r.mapping_type,
                    r.method,
                    r.confidence.to_string(),
                    r.status.as_str().to_owned(),
                    r.version.to_string(),
                    r.last_validated.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    opt(r.success_rate),
                    opt(r.avg_processing_ms),
                    r.error_count.to_string(),
                    r.created_at.to_rfc3339(),
                ])
                .map_err(AppError::internal)?;
            rows += 1;
        }
    }
    drop(tx);
    writer.flush().map_err(AppError::internal)?;
    Ok(rows)
}

/// Exports' long-lived state: where files go, how long links work, the key links are signed
/// with. Built once at start-up.
pub struct Exports {
    pub db: sea_orm::DatabaseConnection,
    pub dir: PathBuf,
    pub url_ttl_secs: u64,
    key: hmac::Key,
}

impl Exports {
    pub fn new(db: sea_orm::DatabaseConnection, settings: &crate::config::Settings) -> Self {
        use secrecy::ExposeSecret;
        Self {
            db,
            dir: settings.exports.dir.clone(),
            url_ttl_secs: settings.exports.url_ttl_secs,
            key: hmac::Key::new(
                hmac::HMAC_SHA256,
                settings.auth.jwt_secret.expose_secret().as_bytes(),
            ),
        }
    }
}

fn message(tenant: Uuid, file: &str, expires: i64) -> String {
    format!("export\0{tenant}\0{file}\0{expires}")
}

pub fn signed_url(exports: &Exports, tenant: Uuid, file: &str, expires: i64) -> String {
    let sig = hmac::sign(&exports.key, message(tenant, file, expires).as_bytes());
    format!(
        "/exports/{tenant}/{file}?expires={expires}&sig={}",
        hex::encode(sig.as_ref())
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    Invalid,
    Expired,
}

/// The file a signed link points at, if the link is genuine and still valid.
pub fn verify(
    exports: &Exports,
    tenant: &str,
    file: &str,
    expires: i64,
    sig: &str,
) -> Result<PathBuf, LinkError> {
    let tenant = Uuid::parse_str(tenant).map_err(|_| LinkError::Invalid)?;
    // Only names this module writes: <uuid>.<extension>.
    let (stem, ext) = file.split_once('.').ok_or(LinkError::Invalid)?;
    if Uuid::parse_str(stem).is_err() || !["csv", "json", "sql", "parquet"].contains(&ext) {
        return Err(LinkError::Invalid);
    }
    let sig = hex::decode(sig).map_err(|_| LinkError::Invalid)?;
    hmac::verify(
        &exports.key,
        message(tenant, file, expires).as_bytes(),
        &sig,
    )
    .map_err(|_| LinkError::Invalid)?;
    if chrono::Utc::now().timestamp() > expires {
        return Err(LinkError::Expired);
    }
    Ok(exports.dir.join(tenant.to_string()).join(file))
}
