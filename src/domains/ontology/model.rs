use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Ontology {
    pub id: Uuid,
    pub name: String,
    pub version: i32,
    pub description: Option<String>,
    pub entities: Vec<CanonicalEntity>,
}

#[derive(Debug, Clone)]
pub struct CanonicalEntity {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<CanonicalField>,
}

#[derive(Debug, Clone)]
pub struct CanonicalField {
    pub id: Uuid,
    pub entity: String,
    pub name: String,
    pub data_type: String,
    pub description: Option<String>,
    pub aliases: Vec<String>,
    pub required: bool,
}
