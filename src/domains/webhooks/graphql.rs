//! Webhook endpoints over GraphQL (admins only: endpoints hold secrets and deliveries carry
//! the tenant's data).
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::model::{Delivery, DeliveryStatus, Endpoint, EventType};
use super::service::{EndpointInput, WebhookService};
use crate::domains::auth::model::Role;
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "WebhookEventType", remote = "EventType")]
pub enum GqlEventType {
    /// A connector's source schema changed.
    DriftDetected,
    /// A schema change took away, renamed or retyped a mapped field.
    DriftBreaking,
    SyncRunSucceeded,
    /// A sync run failed or finished PARTIAL.
    SyncRunFailed,
    /// A connector's source failed `sync.failing_after` times in a row.
    ConnectorUnhealthy,
    /// A sync run left more items waiting for review than `webhooks.review_queue_threshold`.
    ReviewQueueAboveThreshold,
    /// Records merged into one unified record.
    RecordsMerged,
    /// `sendTestWebhook` (not subscribable).
    Test,
}

/// A stored event type as shown (none for text this code never wrote).
fn shown_type(stored: &str) -> Option<GqlEventType> {
    stored.parse::<EventType>().ok().map(Into::into)
}

fn stored_types(types: Vec<GqlEventType>) -> Vec<String> {
    types
        .into_iter()
        .map(|t| EventType::from(t).as_str().to_owned())
        .collect()
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookEndpoint")]
pub struct GqlEndpoint {
    pub id: ID,
    pub url: String,
    pub description: String,
    pub event_types: Vec<GqlEventType>,
    pub enabled: bool,
    /// Why it was disabled by itself (failed attempts in a row); none when a person did.
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for GqlEndpoint {
    fn from(e: Endpoint) -> Self {
        Self {
            id: to_id(e.id),
            url: e.url,
            description: e.description,
            event_types: e.event_types.iter().filter_map(|t| shown_type(t)).collect(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            consecutive_failures: e.consecutive_failures,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "WebhookDeliveryStatus", remote = "DeliveryStatus")]
pub enum GqlDeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookDelivery")]
pub struct GqlDelivery {
    pub id: ID,
    pub endpoint_id: ID,
    pub event_type: Option<GqlEventType>,
    /// The `webhook-id` header: the same on every attempt, for receivers to deduplicate.
    pub message_id: String,
    pub payload: Json<serde_json::Value>,
    pub status: GqlDeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Delivery> for GqlDelivery {
    fn from(d: Delivery) -> Self {
        Self {
            id: to_id(d.id),
            endpoint_id: to_id(d.endpoint_id),
            event_type: shown_type(&d.event_type),
            message_id: d.message_id,
            payload: Json(d.payload),
            // Written by this code only (and checked by the table); anything else reads as pending.
            status: d.status.parse().unwrap_or(DeliveryStatus::Pending).into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedWebhookEndpoint {
    pub endpoint: GqlEndpoint,
    /// `whsec_…`: verify `webhook-signature` with it (any Standard Webhooks library).
    pub secret: String,
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// http(s); loopback, private and metadata addresses are refused unless allowed by the
    /// operator (`outbound.allow`).
    pub url: String,
    pub event_types: Vec<GqlEventType>,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<GqlEventType>>,
    pub description: Option<String>,
    /// Enabling again clears the failure count; disabling fails what is pending.
    pub enabled: Option<bool>,
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<GqlEndpoint>> {
        let scope = ctx.scope(Role::Admin)?;
        let list = ctx.service::<WebhookService>()?.list(&scope).await?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    async fn webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlEndpoint> {
        let scope = ctx.scope(Role::Admin)?;
        let svc = ctx.service::<WebhookService>()?;
        Ok(svc.get(&scope, parse_id("id", &id)?).await?.into())
    }

    /// The endpoint's delivery log, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlDelivery>> {
        let scope = ctx.scope(Role::Admin)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let svc = ctx.service::<WebhookService>()?;
        let result = svc
            .deliveries(&scope, parse_id("endpointId", &endpoint_id)?, page)
            .await?;
        Ok(connection(result, after.is_some(), |d| d.id, Into::into))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Subscribes a URL to event types. Messages are signed per Standard Webhooks
    /// (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the returned secret.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> async_graphql::Result<CreatedWebhookEndpoint> {
        let scope = ctx.scope(Role::Admin)?;
        let svc = ctx.service::<WebhookService>()?;
        let (endpoint, secret) = svc
            .create(
                &scope,
                &input.url,
                &input.description,
                &stored_types(input.event_types),
            )
            .await?;
        Ok(CreatedWebhookEndpoint {
            endpoint: endpoint.into(),
            secret,
        })
    }

    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<GqlEndpoint> {
        let scope = ctx.scope(Role::Admin)?;
        let svc = ctx.service::<WebhookService>()?;
        let change = EndpointInput {
            url: input.url,
            description: input.description,
            event_types: input.event_types.map(stored_types),
            enabled: input.enabled,
        };
        Ok(svc
            .update(&scope, parse_id("id", &id)?, change)
            .await?
            .into())
    }

    /// A new signing secret, shown this once; the old one stops signing at once.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<String> {
        let scope = ctx.scope(Role::Admin)?;
        let svc = ctx.service::<WebhookService>()?;
        Ok(svc.rotate_secret(&scope, parse_id("id", &id)?).await?)
    }

    /// Removes the endpoint and its delivery log; false when there was none.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let scope = ctx.scope(Role::Admin)?;
        let svc = ctx.service::<WebhookService>()?;
        Ok(svc.delete(&scope, parse_id("id", &id)?).await?)
    }

    /// Sends a `webhook.test` message now and returns its delivery after that one attempt.
    async fn send_test_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlDelivery> {
        let scope = ctx.scope(Role::Admin)?;
        let svc = ctx.service::<WebhookService>()?;
        Ok(svc.send_test(&scope, parse_id("id", &id)?).await?.into())
    }
}
