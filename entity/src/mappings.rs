use sea_orm::entity::prelude::*;

/// One version of a mapping; `mapping_id` names the mapping across versions.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub mapping_id: Uuid,
    pub version: i32,
    pub is_head: bool,
    pub is_active: bool,
    pub status: String,
    pub connector_id: Option<Uuid>,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub canonical_field_id: Uuid,
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: String,
    pub transform: Option<Json>,
    pub method: String,
    pub confidence: f64,
    pub rolled_back_from: Option<i32>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
