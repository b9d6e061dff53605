use std::collections::HashMap;

use super::builtin;
use super::model::{CanonicalEntity, CanonicalField, Ontology};
use super::store;
use crate::domains::auth::scope::TenantScope;
use crate::error::{AppError, AppResult};
use crate::tenancy::ScopedTx;

/// Seeds a new tenant with the built-in canonical model.
pub async fn install_builtin(tx: &ScopedTx<'_>) -> AppResult<()> {
    let spec = builtin::crm_v1().map_err(AppError::internal)?;
    store::insert_model(tx, &spec).await?;
    Ok(())
}

pub async fn active(db: &sea_orm::DatabaseConnection, scope: &TenantScope) -> AppResult<Ontology> {
    let tx = ScopedTx::begin(db, scope).await?;
    load_active(&tx).await
}

pub async fn load_active(tx: &ScopedTx<'_>) -> AppResult<Ontology> {
    let ontology = store::active_ontology(tx)
        .await?
        .ok_or(AppError::NotFound { what: "ontology" })?;
    let entities = store::entities(tx, ontology.id).await?;
    let names: HashMap<_, _> = entities.iter().map(|e| (e.id, e.name.clone())).collect();
    let mut fields_by_entity: HashMap<_, Vec<CanonicalField>> = HashMap::new();
    for f in store::fields(tx, entities.iter().map(|e| e.id).collect()).await? {
        fields_by_entity
            .entry(f.entity_id)
            .or_default()
            .push(CanonicalField {
                id: f.id,
                entity: names.get(&f.entity_id).cloned().unwrap_or_default(),
                name: f.name,
                data_type: f.data_type,
                description: f.description,
                aliases: f.aliases,
                required: f.is_required,
            });
    }
    Ok(Ontology {
        id: ontology.id,
        name: ontology.name,
        version: ontology.version,
        description: ontology.description,
        entities: entities
            .into_iter()
            .map(|e| CanonicalEntity {
                fields: fields_by_entity.remove(&e.id).unwrap_or_default(),
                id: e.id,
                name: e.name,
                description: e.description,
            })
            .collect(),
    })
}

/// Finds a canonical field of the tenant's active ontology by entity and field name.
pub async fn find_field(
    tx: &ScopedTx<'_>,
    entity: &str,
    field: &str,
) -> AppResult<Option<CanonicalField>> {
    Ok(store::find_field(tx, entity, field)
        .await?
        .map(|(e, f)| CanonicalField {
            id: f.id,
            entity: e.name,
            name: f.name,
            data_type: f.data_type,
            description: f.description,
            aliases: f.aliases,
            required: f.is_required,
        }))
}
