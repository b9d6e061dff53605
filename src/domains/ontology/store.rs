use entity::{canonical_entities, canonical_fields, ontologies};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::builtin::ModelSpec;
use crate::tenancy::ScopedTx;

pub async fn insert_model(tx: &ScopedTx<'_>, spec: &ModelSpec) -> Result<Uuid, DbErr> {
    let tenant_id = tx.tenant_id();
    let ontology_id = Uuid::now_v7();
    ontologies::Entity::insert(ontologies::ActiveModel {
        id: Set(ontology_id),
        tenant_id: Set(tenant_id),
        name: Set(spec.name.clone()),
        version: Set(spec.version),
        description: Set(None),
        is_active: Set(true),
        created_at: Set(chrono::Utc::now()),
    })
    .exec_without_returning(tx.conn())
    .await?;
    let mut entities = Vec::new();
    let mut fields = Vec::new();
    for (entity_pos, entity) in spec.entities.iter().enumerate() {
        let entity_id = Uuid::now_v7();
        entities.push(canonical_entities::ActiveModel {
            id: Set(entity_id),
            tenant_id: Set(tenant_id),
            ontology_id: Set(ontology_id),
            name: Set(entity.name.clone()),
            description: Set(entity.description.clone()),
            position: Set(entity_pos as i32),
        });
        for (field_pos, field) in entity.fields.iter().enumerate() {
            fields.push(canonical_fields::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant_id),
                entity_id: Set(entity_id),
                name: Set(field.name.clone()),
                data_type: Set(field.data_type.clone()),
                description: Set(field.description.clone()),
                aliases: Set(field.aliases.clone()),
                is_required: Set(field.required),
                position: Set(field_pos as i32),
            });
        }
    }
    canonical_entities::Entity::insert_many(entities)
        .exec_without_returning(tx.conn())
        .await?;
    canonical_fields::Entity::insert_many(fields)
        .exec_without_returning(tx.conn())
        .await?;
    Ok(ontology_id)
}

pub async fn active_ontology(tx: &ScopedTx<'_>) -> Result<Option<ontologies::Model>, DbErr> {
    ontologies::Entity::find()
        .filter(ontologies::Column::TenantId.eq(tx.tenant_id()))
        .filter(ontologies::Column::IsActive.eq(true))
        .one(tx.conn())
        .await
}

pub async fn entities(
    tx: &ScopedTx<'_>,
    ontology_id: Uuid,
) -> Result<Vec<canonical_entities::Model>, DbErr> {
    canonical_entities::Entity::find()
        .filter(canonical_entities::Column::TenantId.eq(tx.tenant_id()))
        .filter(canonical_entities::Column::OntologyId.eq(ontology_id))
        .order_by_asc(canonical_entities::Column::Position)
        .all(tx.conn())
        .await
}

pub async fn fields(
    tx: &ScopedTx<'_>,
    entity_ids: Vec<Uuid>,
) -> Result<Vec<canonical_fields::Model>, DbErr> {
    canonical_fields::Entity::find()
        .filter(canonical_fields::Column::TenantId.eq(tx.tenant_id()))
        .filter(canonical_fields::Column::EntityId.is_in(entity_ids))
        .order_by_asc(canonical_fields::Column::Position)
        .all(tx.conn())
        .await
}

/// One field of the tenant's active ontology, by entity and field name.
pub async fn find_field(
    tx: &ScopedTx<'_>,
    entity: &str,
    field: &str,
) -> Result<Option<(canonical_entities::Model, canonical_fields::Model)>, DbErr> {
    let Some(ontology) = active_ontology(tx).await? else {
        return Ok(None);
    };
    let Some(entity) = canonical_entities::Entity::find()
        .filter(canonical_entities::Column::TenantId.eq(tx.tenant_id()))
        .filter(canonical_entities::Column::OntologyId.eq(ontology.id))
        .filter(canonical_entities::Column::Name.eq(entity))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let field = canonical_fields::Entity::find()
        .filter(canonical_fields::Column::TenantId.eq(tx.tenant_id()))
        .filter(canonical_fields::Column::EntityId.eq(entity.id))
        .filter(canonical_fields::Column::Name.eq(field))
        .one(tx.conn())
        .await?;
    Ok(field.map(|f| (entity, f)))
}
