use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lineage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub canonical_event_id: Uuid,
    pub canonical_entity: String,
    pub canonical_id: Uuid,
    pub canonical_field: String,
    pub connector_id: Option<Uuid>,
    pub source_entity: String,
    pub source_field: String,
    pub source_record_id: String,
    pub mapping_id: Option<Uuid>,
    pub mapping_version: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
