use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "canonical_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub entity: String,
    pub canonical_id: Uuid,
    pub data: Json,
    pub extras: Json,
    pub errors: Json,
    pub source_system: String,
    pub connector_id: Option<Uuid>,
    pub source_record_id: String,
    pub record_version: String,
    pub schema_version: i32,
    pub trace_id: Option<String>,
    pub emitted_at: DateTimeUtc,
    pub source_entity: String,
    pub lineage: Json,
    pub job_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
