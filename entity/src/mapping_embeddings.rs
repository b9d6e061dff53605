use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mapping_embeddings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub mapping_id: Option<Uuid>,
    pub canonical_entity: Option<String>,
    pub canonical_field: Option<String>,
    pub source_system: Option<String>,
    pub source_entity: Option<String>,
    pub source_field: Option<String>,
    pub content: String,
    pub content_hash: String,
    pub model: String,
    pub embedding: PgVector,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
