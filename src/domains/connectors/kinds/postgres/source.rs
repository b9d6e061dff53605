//! Postgres sources: the tables of one schema of a real database, introspected from its
//! catalogue and read in primary-key order, a batch per query.
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::domains::connectors::kinds::postgres::PostgresConfig;
use crate::domains::connectors::source::{
    content_version, flatten, scalar, Batch, EntitySchema, FieldSchema, Health, Quarantined,
    Source, SourceError, SourceRecord, SAMPLES,
};
use crate::infra::outbound::OutboundPolicy;

pub struct PgSource {
    config: PostgresConfig,
    db: DatabaseConnection,
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn unavailable(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(e.to_string())
}

/// Catalogue type → pipeline type.
fn pipeline_type(pg: &str) -> &'static str {
    match pg {
        "smallint" | "integer" | "bigint" => "integer",
        "numeric" | "real" | "double precision" | "money" => "decimal",
        "boolean" => "boolean",
        "date" => "date",
        t if t.starts_with("timestamp") => "timestamp",
        _ => "string",
    }
}

impl PgSource {
    /// Connects to an address the outbound policy checked for the configured host. Every
    /// failure to connect reads the same, whatever the far port's state (no port scans).
    pub async fn connect(
        config: PostgresConfig,
        policy: &OutboundPolicy,
    ) -> Result<Self, SourceError> {
        let addresses = policy
            .resolve(&config.host, config.port)
            .await
            .map_err(|e| SourceError::Unavailable(e.to_string()))?;
        let failed = || {
            SourceError::Unavailable(format!(
                "cannot connect to {}:{} as {} (refused, unreachable, not PostgreSQL, or the \
                 credentials were not accepted)",
                config.host, config.port, config.user
            ))
        };
        for address in &addresses {
            let mut url = url::Url::parse("postgres://localhost").map_err(|_| failed())?;
            url.set_ip_host(address.ip()).map_err(|()| failed())?;
            let _ = url.set_port(Some(config.port));
            let _ = url.set_username(&config.user);
            if !config.password.is_empty() {
                let _ = url.set_password(Some(&config.password));
            }
            url.set_path(&config.database);
            url.query_pairs_mut()
                .append_pair("sslmode", &config.ssl_mode);
            let mut options = ConnectOptions::new(url.to_string());
            options
                .max_connections(2)
                .min_connections(0)
                .connect_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            match Database::connect(options).await {
                Ok(db) => return Ok(Self { config, db }),
                Err(e) => tracing::debug!(%address, error = %e, "postgres source: connect failed"),
            }
        }
        Err(failed())
    }

    async fn strings(
        &self,
        sql: &str,
        values: Vec<sea_orm::Value>,
    ) -> Result<Vec<String>, SourceError> {
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|r| r.try_get_by_index::<String>(0).map_err(unavailable))
            .collect()
    }

    /// The table must be one the catalogue lists for the schema (and the config allows).
    async fn checked(&self, table: &str) -> Result<String, SourceError> {
        if !self.entities().await?.iter().any(|t| t == table) {
            return Err(SourceError::Invalid(format!(
                "no table {table} in schema {}",
                self.config.schema
            )));
        }
        Ok(format!("{}.{}", quote(&self.config.schema), quote(table)))
    }

    async fn primary_key(&self, qualified: &str) -> Result<Vec<String>, SourceError> {
        self.strings(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
            vec![qualified.into()],
        )
        .await
    }

    async fn rows(
        &self,
        qualified: &str,
        order: &str,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Value>, SourceError> {
        let rows = self
            .strings(
                &format!("SELECT to_jsonb(t)::text FROM {qualified} t ORDER BY {order} LIMIT $1 OFFSET $2"),
                vec![(limit as i64).into(), (offset as i64).into()],
            )
            .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(unavailable))
            .collect()
    }
}

#[async_trait]
impl Source for PgSource {
    async fn entities(&self) -> Result<Vec<String>, SourceError> {
        let tables = self
            .strings(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
                vec![self.config.schema.clone().into()],
            )
            .await?;
        Ok(tables
            .into_iter()
            .filter(|t| self.config.tables.is_empty() || self.config.tables.contains(t))
            .collect())
    }

    async fn introspect(&self, entity: &str) -> Result<EntitySchema, SourceError> {
        let qualified = self.checked(entity).await?;
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                [self.config.schema.clone().into(), entity.into()],
            ))
            .await
            .map_err(unavailable)?;
        let samples = self.rows(&qualified, "1", SAMPLES as u64 * 10, 0).await?;
        let mut fields = Vec::with_capacity(rows.len());
        for r in rows {
            let name: String = r.try_get_by_index(0).map_err(unavailable)?;
            let pg_type: String = r.try_get_by_index(1).map_err(unavailable)?;
            fields.push(FieldSchema {
                samples: samples
                    .iter()
                    .filter_map(|row| row.get(&name).map(scalar))
                    .filter(|v| !v.is_empty())
                    .take(SAMPLES)
                    .collect(),
                data_type: pipeline_type(&pg_type).to_owned(),
                name,
            });
        }
        Ok(EntitySchema {
            entity: entity.to_owned(),
            fields,
        })
    }

    fn read(
        &self,
        entity: &str,
        after_position: u64,
        batch_size: usize,
    ) -> mpsc::Receiver<Result<Batch, SourceError>> {
        let (sender, receiver) = mpsc::channel(2);
        let source = Self {
            config: self.config.clone(),
            db: self.db.clone(),
        };
        let entity = entity.to_owned();
        tokio::spawn(async move {
            let outcome: Result<(), SourceError> = async {
                let qualified = source.checked(&entity).await?;
                let key = source.primary_key(&qualified).await?;
                // Primary-key order is stable across runs, so a position is a row; without
                // a key the physical order is the best there is.
                let order = if key.is_empty() {
                    "ctid".to_owned()
                } else {
                    key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ")
                };
                let mut position = after_position;
                loop {
                    let rows = source
                        .rows(&qualified, &order, batch_size as u64, position)
                        .await?;
                    if rows.is_empty() {
                        return Ok(());
                    }
                    let mut batch = Batch::default();
                    for row in rows {
                        position += 1;
                        let Value::Object(map) = &row else {
                            batch.quarantined.push(Quarantined {
                                position,
                                reason: "row is not an object".into(),
                                raw: row.to_string(),
                            });
                            continue;
                        };
                        let mut values = Vec::with_capacity(map.len());
                        flatten("", map, &mut values);
                        let id = if key.is_empty() {
                            position.to_string()
                        } else {
                            key.iter()
                                .map(|k| map.get(k).map(scalar).unwrap_or_default())
                                .collect::<Vec<_>>()
                                .join(":")
                        };
                        batch.records.push(SourceRecord {
                            position,
                            version: content_version(&values),
                            id,
                            values,
                        });
                    }
                    batch.last_position = position;
                    if sender.send(Ok(batch)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            .await;
            if let Err(e) = outcome {
                let _ = sender.send(Err(e)).await;
            }
        });
        receiver
    }

    async fn health(&self, entity: &str) -> Health {
        let qualified = format!("{}.{}", quote(&self.config.schema), quote(entity));
        match self.rows(&qualified, "1", 1, 0).await {
            Ok(rows) => Health::read(format!(
                "{}.{entity} readable ({} row read)",
                self.config.schema,
                rows.len()
            )),
            Err(e) => Health::failed(e),
        }
    }
}
