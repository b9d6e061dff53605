//! Opening a connector's source: the one place that knows how each kind reads, holding what
//! kinds keep for the life of the process (REST rate limits and circuit breakers, shared by
//! consecutive runs), the outbound policy and the file root. Adding a kind is a folder under
//! `kinds/` plus one arm here.
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::kinds::csv::{CsvConfig, CsvSource};
use super::kinds::postgres::{PgSource, PostgresConfig};
use super::kinds::rest::guards::Guards;
use super::kinds::rest::{RestConfig, RestSource};
use super::model::{Connector, ConnectorKind};
use super::source::{Source, SourceError};
use crate::infra::outbound::OutboundPolicy;

pub struct ConnectorRuntime {
    guards: Guards,
    outbound: Arc<OutboundPolicy>,
    file_root: PathBuf,
}

fn parsed<C: DeserializeOwned>(config: Value) -> Result<C, SourceError> {
    serde_json::from_value(config).map_err(|e| {
        SourceError::Invalid(format!("the stored config no longer fits its kind: {e}"))
    })
}

impl ConnectorRuntime {
    pub fn new(outbound: Arc<OutboundPolicy>, file_root: PathBuf) -> Self {
        Self {
            guards: Guards::default(),
            outbound,
            file_root,
        }
    }

    /// The circuit breaker this process keeps for a REST connector (None before its first use,
    /// and for other kinds).
    pub fn breaker(&self, connector: Uuid) -> Option<super::kinds::rest::guards::BreakerView> {
        self.guards.breaker_view(connector)
    }

    /// The source behind `connector` of `tenant`, from its config with secrets opened.
    pub async fn open(
        &self,
        tenant: Uuid,
        connector: &Connector,
        config: Value,
    ) -> Result<Arc<dyn Source>, SourceError> {
        Ok(match connector.kind {
            ConnectorKind::Csv => Arc::new(CsvSource::new(
                parsed::<CsvConfig>(config)?,
                self.file_root.clone(),
                tenant,
            )),
            ConnectorKind::Rest => {
                let config: RestConfig = parsed(config)?;
                let (breaker, bucket) = self.guards.for_connector(
                    connector.id,
                    &config.circuit_breaker,
                    config.rate_limit.as_ref(),
                );
                Arc::new(RestSource::new(
                    config,
                    self.outbound.clone(),
                    breaker,
                    bucket,
                )?)
            }
            ConnectorKind::Postgres => Arc::new(
                PgSource::connect(parsed::<PostgresConfig>(config)?, &self.outbound).await?,
            ),
        })
    }
}
