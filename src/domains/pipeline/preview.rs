//! `previewTransform`: a mapping's transform on a connector's sample values of one field, as the
//! pipeline would apply it (transform, then the canonical type), before anything is saved.
use async_graphql::{Context, InputObject, Json, Object, SimpleObject, ID};
use serde_json::Value;
use uuid::Uuid;

use super::coerce::canonical_value;
use super::service::Pipeline;
use super::store;
use crate::domains::auth::model::Role;
use crate::domains::auth::scope::TenantScope;
use crate::domains::connectors::service as connectors;
use crate::domains::mappings::transform::Transform;
use crate::domains::ontology::service as ontology;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{parse_id, ContextExt};
use crate::tenancy::ScopedTx;

/// One sample through the transform: what came in, what would be stored, or why not.
#[derive(Debug, Clone, SimpleObject)]
pub struct TransformPreview {
    pub before: String,
    /// The canonical value (after the transform and the canonical type); null when none.
    pub after: Option<Json<Value>>,
    /// Why the value would be kept as an error instead.
    pub error: Option<String>,
}

/// Which field's samples, into which canonical field, through which transform.
#[derive(InputObject)]
pub struct PreviewTransformInput {
    pub connector_id: ID,
    pub source_entity: String,
    pub source_field: String,
    pub canonical_entity: String,
    pub canonical_field: String,
    /// `{ "steps": [...] }`; without one, the values as a DIRECT mapping would store them.
    pub transform: Option<Json<Value>>,
}

pub async fn preview(
    pipeline: &Pipeline,
    scope: &TenantScope,
    connector: Uuid,
    input: &PreviewTransformInput,
) -> AppResult<Vec<TransformPreview>> {
    let transform = match &input.transform {
        None => None,
        Some(Json(raw)) => Some(Transform::parse(raw)?),
    };
    let tx = ScopedTx::begin(&pipeline.db, scope).await?;
    connectors::find(&tx, connector)
        .await?
        .ok_or(AppError::NotFound { what: "connector" })?;
    let target = ontology::find_field(&tx, &input.canonical_entity, &input.canonical_field)
        .await?
        .ok_or_else(|| {
            AppError::bad_field("canonicalField", "is not in the tenant's canonical model")
        })?;
    let samples = store::current_schema(&tx, connector, &input.source_entity)
        .await?
        .and_then(|schema| {
            schema
                .fields
                .into_iter()
                .find(|f| f.name.eq_ignore_ascii_case(&input.source_field))
        })
        .ok_or(AppError::NotFound {
            what: "source field (sync the connector once to see its samples)",
        })?
        .samples;
    Ok(samples
        .into_iter()
        .map(|before| {
            match canonical_value(
                transform.as_ref(),
                &target.name,
                &target.data_type,
                (&before, &[]),
            ) {
                Ok(value) => TransformPreview {
                    before,
                    after: value.map(Json),
                    error: None,
                },
                Err(reason) => TransformPreview {
                    before,
                    after: None,
                    error: Some(reason),
                },
            }
        })
        .collect())
}

#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
    /// A transform on the connector's sample values of a source field, as a sync would store
    /// them in the canonical field; nothing is saved.
    async fn preview_transform(
        &self,
        ctx: &Context<'_>,
        input: PreviewTransformInput,
    ) -> async_graphql::Result<Vec<TransformPreview>> {
        let scope = ctx.scope(Role::Viewer)?;
        let connector = parse_id("connectorId", &input.connector_id)?;
        Ok(preview(ctx.service::<Pipeline>()?, &scope, connector, &input).await?)
    }
}
