use async_graphql::{ComplexObject, Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::model::{self, Mapping, MappingFilter, MappingVersion};
use super::service::{self, MappingRegistry, NewMapping, Target};
use crate::domains::auth::model::Role;
use crate::error::AppError;
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MappingMethod", remote = "model::MappingMethod")]
pub enum GqlMappingMethod {
    Manual,
    Exact,
    Rag,
    Llm,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MappingStatus", remote = "model::MappingStatus")]
pub enum GqlMappingStatus {
    Pending,
    Active,
    Superseded,
    Rejected,
    /// Its source field disappeared from the source; kept for lineage.
    Deprecated,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MappingType", remote = "model::MappingType")]
pub enum GqlMappingType {
    Direct,
    Computed,
    Transformed,
}

#[derive(SimpleObject)]
#[graphql(name = "MappingVersion")]
pub struct GqlMappingVersion {
    pub version: i32,
    pub status: GqlMappingStatus,
    pub is_active: bool,
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: GqlMappingType,
    pub transform: Option<Json<serde_json::Value>>,
    pub method: GqlMappingMethod,
    pub confidence: f64,
    /// Set when this version was created by rolling back to an earlier one.
    pub rolled_back_from: Option<i32>,
    pub note: Option<String>,
    pub created_by: Option<ID>,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<ID>,
    pub approved_at: Option<DateTime<Utc>>,
}

impl From<MappingVersion> for GqlMappingVersion {
    fn from(v: MappingVersion) -> Self {
        Self {
            version: v.version,
            status: v.status.into(),
            is_active: v.is_active,
            canonical_entity: v.canonical_entity,
            canonical_field: v.canonical_field,
            mapping_type: v.mapping_type.into(),
            transform: v.transform.map(Json),
            method: v.method.into(),
            confidence: v.confidence,
            rolled_back_from: v.rolled_back_from,
            note: v.note,
            created_by: v.created_by.map(to_id),
            created_at: v.created_at,
            approved_by: v.approved_by.map(to_id),
            approved_at: v.approved_at,
        }
    }
}

/// A mapping from one source field to one canonical field. Top-level fields describe the
/// newest version; `activeVersion` is the one in force.
#[derive(SimpleObject)]
#[graphql(name = "Mapping", complex)]
pub struct GqlMapping {
    pub id: ID,
    pub connector_id: Option<ID>,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub version: i32,
    pub status: GqlMappingStatus,
    pub is_active: bool,
    pub canonical_entity: String,
    pub canonical_field: String,
    pub mapping_type: GqlMappingType,
    pub method: GqlMappingMethod,
    pub confidence: f64,
    pub approved_by: Option<ID>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub inner: Mapping,
}

#[ComplexObject]
impl GqlMapping {
    async fn active_version(&self) -> Option<GqlMappingVersion> {
        self.inner.active_version().cloned().map(Into::into)
    }

    /// Every version, oldest first.
    async fn versions(&self) -> Vec<GqlMappingVersion> {
        self.inner
            .versions
            .iter()
            .cloned()
            .map(Into::into)
            .collect()
    }
}

impl From<Mapping> for GqlMapping {
    fn from(m: Mapping) -> Self {
        let h = &m.head;
        Self {
            id: to_id(h.mapping_id),
            connector_id: h.connector_id.map(to_id),
            source_system: h.source_system.clone(),
            source_entity: h.source_entity.clone(),
            source_field: h.source_field.clone(),
            version: h.version,
            status: h.status.into(),
            is_active: h.is_active,
            canonical_entity: h.canonical_entity.clone(),
            canonical_field: h.canonical_field.clone(),
            mapping_type: h.mapping_type.into(),
            method: h.method.into(),
            confidence: h.confidence,
            approved_by: h.approved_by.map(to_id),
            approved_at: h.approved_at,
            created_at: m
                .versions
                .first()
                .map(|v| v.created_at)
                .unwrap_or(h.created_at),
            inner: m,
        }
    }
}

#[derive(InputObject)]
pub struct CreateMappingInput {
    pub connector_id: Option<ID>,
    /// Defaults to the connector's name when a connector is given.
    pub source_system: Option<String>,
    pub source_entity: String,
    pub source_field: String,
    pub canonical_entity: String,
    pub canonical_field: String,
    #[graphql(default_with = "GqlMappingType::Direct")]
    pub mapping_type: GqlMappingType,
    pub transform: Option<Json<serde_json::Value>>,
    #[graphql(default_with = "GqlMappingMethod::Manual")]
    pub method: GqlMappingMethod,
    #[graphql(default = 1.0)]
    pub confidence: f64,
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateMappingInput {
    pub canonical_entity: String,
    pub canonical_field: String,
    #[graphql(default_with = "GqlMappingType::Direct")]
    pub mapping_type: GqlMappingType,
    pub transform: Option<Json<serde_json::Value>>,
    #[graphql(default_with = "GqlMappingMethod::Manual")]
    pub method: GqlMappingMethod,
    #[graphql(default = 1.0)]
    pub confidence: f64,
    pub note: Option<String>,
}

#[derive(InputObject, Default)]
pub struct MappingFilterInput {
    pub connector_id: Option<ID>,
    pub source_system: Option<String>,
    pub source_entity: Option<String>,
    pub canonical_entity: Option<String>,
    pub canonical_field: Option<String>,
    pub status: Option<GqlMappingStatus>,
    pub method: Option<GqlMappingMethod>,
}

impl MappingFilterInput {
    fn into_filter(self) -> Result<MappingFilter, AppError> {
        Ok(MappingFilter {
            connector_id: self
                .connector_id
                .as_ref()
                .map(|id| parse_id("filter.connectorId", id))
                .transpose()?,
            source_system: self.source_system,
            source_entity: self.source_entity,
            canonical_entity: self.canonical_entity,
            canonical_field: self.canonical_field,
            status: self.status.map(Into::into),
            method: self.method.map(Into::into),
        })
    }
}

#[derive(Default)]
pub struct MappingQuery;

#[Object]
impl MappingQuery {
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn mappings(
        &self,
        ctx: &Context<'_>,
        filter: Option<MappingFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlMapping>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let result = service::list(ctx.service::<MappingRegistry>()?, &scope, filter, page).await?;
        Ok(connection(
            result,
            after.is_some(),
            |m| m.head.mapping_id,
            GqlMapping::from,
        ))
    }

    async fn mapping(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlMapping> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(service::get(
            ctx.service::<MappingRegistry>()?,
            &scope,
            parse_id("id", &id)?,
        )
        .await?
        .into())
    }
}

fn target(
    canonical_entity: String,
    canonical_field: String,
    mapping_type: GqlMappingType,
    transform: Option<Json<serde_json::Value>>,
    method: GqlMappingMethod,
    confidence: f64,
    note: Option<String>,
) -> Target {
    Target {
        canonical_entity,
        canonical_field,
        mapping_type: mapping_type.into(),
        transform: transform.map(|t| t.0),
        method: method.into(),
        confidence,
        note,
    }
}

#[derive(Default)]
pub struct MappingMutation;

#[Object]
impl MappingMutation {
    /// Creates a mapping as version 1, PENDING until approved.
    async fn create_mapping(
        &self,
        ctx: &Context<'_>,
        input: CreateMappingInput,
    ) -> async_graphql::Result<GqlMapping> {
        let scope = ctx.scope(Role::Editor)?;
        let new = NewMapping {
            connector_id: input
                .connector_id
                .as_ref()
                .map(|id| parse_id("connectorId", id))
                .transpose()?,
            source_system: input.source_system,
            source_entity: input.source_entity,
            source_field: input.source_field,
            target: target(
                input.canonical_entity,
                input.canonical_field,
                input.mapping_type,
                input.transform,
                input.method,
                input.confidence,
                input.note,
            ),
        };
        Ok(
            service::create(ctx.service::<MappingRegistry>()?, &scope, new)
                .await?
                .into(),
        )
    }

    /// Adds a new PENDING version; the active version stays in force until it is approved.
    async fn update_mapping(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateMappingInput,
    ) -> async_graphql::Result<GqlMapping> {
        let scope = ctx.scope(Role::Editor)?;
        let t = target(
            input.canonical_entity,
            input.canonical_field,
            input.mapping_type,
            input.transform,
            input.method,
            input.confidence,
            input.note,
        );
        Ok(service::update(
            ctx.service::<MappingRegistry>()?,
            &scope,
            parse_id("id", &id)?,
            t,
        )
        .await?
        .into())
    }

    /// Approves the newest (pending) version and makes it active.
    async fn approve_mapping(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: Option<i32>,
    ) -> async_graphql::Result<GqlMapping> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(service::approve(
            ctx.service::<MappingRegistry>()?,
            &scope,
            parse_id("id", &id)?,
            version,
        )
        .await?
        .into())
    }

    /// Makes an earlier approved version current again, recorded as a new version.
    async fn rollback_mapping(
        &self,
        ctx: &Context<'_>,
        id: ID,
        to_version: i32,
    ) -> async_graphql::Result<GqlMapping> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(service::rollback(
            ctx.service::<MappingRegistry>()?,
            &scope,
            parse_id("id", &id)?,
            to_version,
        )
        .await?
        .into())
    }
}
