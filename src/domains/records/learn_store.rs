//! Rows of what resolution learned: one per tenant and entity, the evidence and the model
//! estimated from it (`learn`).
use std::collections::HashMap;

use sea_orm::DbErr;
use serde_json::Value as Json;

use super::learn::{self, Evidence, Model};
use super::store::{self, execute, query};
use crate::tenancy::ScopedTx;

/// The tenant's learned models by entity, with the fields each was learned of (not the
/// evidence itself: every resolver loads these, the record view's too).
pub async fn load(tx: &ScopedTx<'_>) -> Result<HashMap<String, (Vec<String>, Model)>, DbErr> {
    let rows = query(
        tx,
        "SELECT entity, patterns -> 'fields' AS fields, model FROM match_models WHERE tenant_id = $1",
        vec![tx.tenant_id().into()],
    )
    .await?;
    let mut out = HashMap::new();
    for r in rows {
        let (fields, model): (Json, Json) = (r.try_get("", "fields")?, r.try_get("", "model")?);
        // A row this version cannot read is relearned from the next run's pairs.
        if let (Ok(f), Ok(m)) = (
            serde_json::from_value(fields),
            serde_json::from_value(model),
        ) {
            out.insert(r.try_get("", "entity")?, (f, m));
        }
    }
    Ok(out)
}

/// The entity's learned model and when it was last estimated.
pub async fn model(
    tx: &ScopedTx<'_>,
    entity: &str,
) -> Result<Option<(Model, chrono::DateTime<chrono::Utc>)>, DbErr> {
    let rows = query(
        tx,
        "SELECT model, trained_at FROM match_models WHERE tenant_id = $1 AND entity = $2",
        vec![tx.tenant_id().into(), entity.into()],
    )
    .await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let model: Json = r.try_get("", "model")?;
    // A model too thin to use is stored as null: none yet.
    match serde_json::from_value(model) {
        Ok(m) => Ok(Some((m, r.try_get("", "trained_at")?))),
        Err(_) => Ok(None),
    }
}

/// Adds `newer` to the entity's evidence and re-estimates its model (under the entity's lock,
/// so runs resolving it at once add up). Returns the model, if the evidence is enough.
pub async fn learn(
    tx: &ScopedTx<'_>,
    entity: &str,
    newer: Evidence,
    prior: f64,
) -> Result<Option<Model>, DbErr> {
    store::lock_entity(tx, entity).await?;
    let rows = query(
        tx,
        "SELECT patterns FROM match_models WHERE tenant_id = $1 AND entity = $2",
        vec![tx.tenant_id().into(), entity.into()],
    )
    .await?;
    let mut evidence: Evidence = match rows.first() {
        Some(r) => serde_json::from_value(r.try_get("", "patterns")?).unwrap_or_default(),
        None => Evidence::default(),
    };
    evidence.merge(newer);
    let (evidence, model) = tokio::task::spawn_blocking(move || {
        let model = learn::estimate(&evidence, prior);
        (evidence, model)
    })
    .await
    .map_err(|e| DbErr::Custom(e.to_string()))?;
    let stored = |v: serde_json::Result<Json>| v.map_err(|e| DbErr::Custom(e.to_string()));
    execute(
        tx,
        "INSERT INTO match_models (tenant_id, entity, patterns, model) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, entity) DO UPDATE
             SET patterns = EXCLUDED.patterns, model = EXCLUDED.model, trained_at = now()",
        vec![
            tx.tenant_id().into(),
            entity.into(),
            stored(serde_json::to_value(&evidence))?.into(),
            stored(serde_json::to_value(&model))?.into(),
        ],
    )
    .await?;
    Ok(model)
}
