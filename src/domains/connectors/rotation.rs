//! Rotating the connector-secrets master key: every sealed secret of every tenant is opened
//! with whichever configured key sealed it and sealed again under the current key, in one
//! transaction as the owner (an operator's command, across tenants, never a request's).
//!
//! Order of a rotation: configure the new key as `auth.secrets_key` with the old one in
//! `auth.previous_secrets_keys` (servers then read both), run `autonomos rotate-secrets-key`,
//! then drop the old key from the configuration.
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::kinds;
use super::model::ConnectorKind;
use crate::error::AppError;
use crate::infra::crypto::SecretsKey;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotated {
    pub connectors: u64,
    pub secrets: u64,
}

/// Reseals the secrets of every tenant's connectors, or of one tenant's (`only`).
pub async fn reseal_all(
    database: &crate::config::DatabaseSettings,
    key: &SecretsKey,
    only: Option<Uuid>,
) -> anyhow::Result<Rotated> {
    let conn = sea_orm::Database::connect(database.migration_url.expose_secret()).await?;
    let tx = conn.begin().await?;
    let rows = tx
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id, tenant_id, kind, config FROM connectors
             WHERE $1::uuid IS NULL OR tenant_id = $1 ORDER BY id FOR UPDATE",
            [only.into()],
        ))
        .await?;
    let mut done = Rotated::default();
    for row in rows {
        let id: Uuid = row.try_get_by_index(0)?;
        let tenant: Uuid = row.try_get_by_index(1)?;
        let kind: String = row.try_get_by_index(2)?;
        let config: serde_json::Value = row.try_get_by_index(3)?;
        let kind: ConnectorKind = kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        let mut resealed = 0u64;
        let config = kinds::map_secrets(kind, &config, |secret| {
            if SecretsKey::is_sealed(secret) {
                *secret = key
                    .reseal(tenant, secret)
                    .map_err(|e| AppError::internal(anyhow::anyhow!("connector {id}: {e}")))?;
                resealed += 1;
            }
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("connector {id}: {}", e.message()))?;
        if resealed > 0 {
            tx.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE connectors SET config = $1 WHERE id = $2",
                [config.into(), id.into()],
            ))
            .await?;
            done.connectors += 1;
            done.secrets += resealed;
        }
    }
    tx.commit().await?;
    Ok(done)
}
