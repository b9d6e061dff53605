use async_graphql::{Context, Object, SimpleObject, ID};

use super::model::{CanonicalEntity, CanonicalField, Ontology};
use super::service;
use crate::domains::auth::model::Role;
use crate::graphql::context::{to_id, ContextExt};

#[derive(SimpleObject)]
#[graphql(name = "Ontology")]
pub struct GqlOntology {
    pub id: ID,
    pub name: String,
    pub version: i32,
    pub description: Option<String>,
    pub entities: Vec<GqlCanonicalEntity>,
}

#[derive(SimpleObject)]
#[graphql(name = "CanonicalEntity")]
pub struct GqlCanonicalEntity {
    pub id: ID,
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<GqlCanonicalField>,
}

#[derive(SimpleObject)]
#[graphql(name = "CanonicalField")]
pub struct GqlCanonicalField {
    pub id: ID,
    pub entity: String,
    pub name: String,
    /// string, integer, decimal, boolean, date, timestamp, …
    pub data_type: String,
    pub description: Option<String>,
    pub aliases: Vec<String>,
    pub required: bool,
}

impl From<CanonicalField> for GqlCanonicalField {
    fn from(f: CanonicalField) -> Self {
        Self {
            id: to_id(f.id),
            entity: f.entity,
            name: f.name,
            data_type: f.data_type,
            description: f.description,
            aliases: f.aliases,
            required: f.required,
        }
    }
}

impl From<CanonicalEntity> for GqlCanonicalEntity {
    fn from(e: CanonicalEntity) -> Self {
        Self {
            id: to_id(e.id),
            name: e.name,
            description: e.description,
            fields: e.fields.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Ontology> for GqlOntology {
    fn from(o: Ontology) -> Self {
        Self {
            id: to_id(o.id),
            name: o.name,
            version: o.version,
            description: o.description,
            entities: o.entities.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Default)]
pub struct OntologyQuery;

#[Object]
impl OntologyQuery {
    /// The tenant's active canonical model.
    async fn ontology(&self, ctx: &Context<'_>) -> async_graphql::Result<GqlOntology> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(service::active(&ctx.app()?.db, &scope).await?.into())
    }
}
