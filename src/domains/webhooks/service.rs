//! Endpoints (created with a secret shown once, rotatable), events written as deliveries in the
//! caller's transaction, and each delivery's attempts.
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use super::model::{Delivery, DeliveryStatus, Endpoint, EventType};
use super::store::{self, Attempt};
use super::{sender, signing};
use crate::config::WebhookSettings;
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::scope::TenantScope;
use crate::error::{AppError, AppResult};
use crate::infra::crypto::SecretsKey;
use crate::infra::outbound::{check_url_shape, url_host, OutboundPolicy};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::ScopedTx;

const NO_ENDPOINT: AppError = AppError::NotFound {
    what: "webhook endpoint",
};

/// Writes `event` as a delivery to each enabled endpoint subscribed to it, in the caller's
/// transaction: sent after it commits, never for work rolled back.
pub async fn emit(tx: &ScopedTx<'_>, event: EventType, data: Value) -> Result<(), sea_orm::DbErr> {
    store::enqueue(tx, event.as_str(), &message(event, data), None).await?;
    Ok(())
}

/// Items waiting for a person (mapping proposals and match pairs).
pub async fn waiting_for_review(tx: &ScopedTx<'_>) -> Result<i64, sea_orm::DbErr> {
    store::waiting_for_review(tx).await
}

/// The Standard Webhooks payload shape: type, timestamp, data.
fn message(event: EventType, data: Value) -> Value {
    json!({ "type": event.as_str(), "timestamp": chrono::Utc::now().to_rfc3339(), "data": data })
}

pub struct WebhookService {
    pub db: sea_orm::DatabaseConnection,
    pub secrets: Arc<SecretsKey>,
    pub outbound: Arc<OutboundPolicy>,
    pub settings: WebhookSettings,
}

/// An endpoint as given by a person.
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

const SUBSCRIBABLE: &[EventType] = &[
    EventType::DriftDetected,
    EventType::DriftBreaking,
    EventType::SyncRunSucceeded,
    EventType::SyncRunFailed,
    EventType::ConnectorUnhealthy,
    EventType::ReviewQueueAboveThreshold,
    EventType::RecordsMerged,
];

impl WebhookService {
    /// Refuses URLs the outbound policy refuses (loopback, private, metadata, the platform's own
    /// services, unless an operator allows them), with the reason. Names are resolved and
    /// checked again at every attempt, so one that later points somewhere refused is refused.
    fn vet_url(&self, url: &str) -> AppResult<()> {
        if url.len() > 2048 {
            return Err(AppError::bad_field("url", "is longer than 2048 characters"));
        }
        let parsed = url::Url::parse(url).map_err(|e| AppError::bad_field("url", e.to_string()))?;
        check_url_shape(&parsed).map_err(|e| AppError::bad_field("url", e.to_string()))?;
        let host = url_host(&parsed).ok_or_else(|| AppError::bad_field("url", "has no host"))?;
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| AppError::bad_field("url", "has no port"))?;
        self.outbound
            .check_literal(&host, port)
            .map_err(|e| AppError::bad_field("url", e.to_string()))
    }

    fn vet_events(events: &[String]) -> AppResult<()> {
        if events.is_empty() || events.len() > SUBSCRIBABLE.len() {
            return Err(AppError::bad_field(
                "eventTypes",
                "name at least one event type",
            ));
        }
        for (i, e) in events.iter().enumerate() {
            if !e
                .parse::<EventType>()
                .is_ok_and(|t| SUBSCRIBABLE.contains(&t))
            {
                let known: Vec<&str> = SUBSCRIBABLE.iter().map(|t| t.as_str()).collect();
                return Err(AppError::bad_field(
                    format!("eventTypes[{i}]"),
                    format!("unknown event type; one of {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn vet_description(description: &str) -> AppResult<()> {
        if description.chars().count() > 500 {
            return Err(AppError::bad_field(
                "description",
                "is longer than 500 characters",
            ));
        }
        Ok(())
    }

    /// Returns the endpoint and its secret (shown this once).
    pub async fn create(
        &self,
        scope: &TenantScope,
        url: &str,
        description: &str,
        events: &[String],
    ) -> AppResult<(Endpoint, String)> {
        Self::vet_events(events)?;
        Self::vet_description(description)?;
        self.vet_url(url)?;
        let secret = signing::new_secret();
        let sealed = self
            .secrets
            .seal(scope.tenant_id(), &secret)
            .map_err(AppError::internal)?;
        let tx = ScopedTx::begin(&self.db, scope).await?;
        let endpoint = store::insert_endpoint(&tx, url, description, events, &sealed).await?;
        audit::record(
            &tx,
            AuditEntry::new("webhook.create", "webhook_endpoint", endpoint.id)
                .new_value(json!({ "url": url, "eventTypes": events })),
        )
        .await?;
        tx.commit().await?;
        Ok((endpoint, secret))
    }

    pub async fn update(
        &self,
        scope: &TenantScope,
        id: Uuid,
        input: EndpointInput,
    ) -> AppResult<Endpoint> {
        if let Some(events) = &input.event_types {
            Self::vet_events(events)?;
        }
        if let Some(description) = &input.description {
            Self::vet_description(description)?;
        }
        if let Some(url) = &input.url {
            self.vet_url(url)?;
        }
        let tx = ScopedTx::begin(&self.db, scope).await?;
        let before = store::endpoint(&tx, id).await?.ok_or(NO_ENDPOINT)?;
        let after = store::update_endpoint(
            &tx,
            id,
            input.url.as_deref(),
            input.description.as_deref(),
            input.event_types.as_deref(),
            input.enabled,
        )
        .await?
        .ok_or(NO_ENDPOINT)?;
        if input.enabled == Some(false) {
            store::fail_pending(&tx, id, "the endpoint was disabled").await?;
        }
        audit::record(
            &tx,
            AuditEntry::new("webhook.update", "webhook_endpoint", id)
                .old_value(json!({ "url": before.url, "eventTypes": before.event_types, "enabled": before.enabled }))
                .new_value(json!({ "url": after.url, "eventTypes": after.event_types, "enabled": after.enabled })),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A new secret, shown this once; the old one stops signing at once.
    pub async fn rotate_secret(&self, scope: &TenantScope, id: Uuid) -> AppResult<String> {
        let secret = signing::new_secret();
        let sealed = self
            .secrets
            .seal(scope.tenant_id(), &secret)
            .map_err(AppError::internal)?;
        let tx = ScopedTx::begin(&self.db, scope).await?;
        if !store::set_secret(&tx, id, &sealed).await? {
            return Err(NO_ENDPOINT);
        }
        audit::record(
            &tx,
            AuditEntry::new("webhook.rotate_secret", "webhook_endpoint", id),
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    pub async fn delete(&self, scope: &TenantScope, id: Uuid) -> AppResult<bool> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        let removed = store::delete_endpoint(&tx, id).await?;
        if removed {
            audit::record(
                &tx,
                AuditEntry::new("webhook.delete", "webhook_endpoint", id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    pub async fn list(&self, scope: &TenantScope) -> AppResult<Vec<Endpoint>> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        Ok(store::endpoints(&tx).await?)
    }

    pub async fn get(&self, scope: &TenantScope, id: Uuid) -> AppResult<Endpoint> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        store::endpoint(&tx, id).await?.ok_or(NO_ENDPOINT)
    }

    pub async fn deliveries(
        &self,
        scope: &TenantScope,
        endpoint: Uuid,
        page: PageRequest,
    ) -> AppResult<Page<Delivery>> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        store::endpoint(&tx, endpoint).await?.ok_or(NO_ENDPOINT)?;
        let (rows, total) = store::delivery_page(&tx, endpoint, &page).await?;
        Ok(page.finish(rows, total))
    }

    /// Sends a `webhook.test` message to the endpoint now (disabled or not: a test is how one
    /// checks it before enabling it again) and returns the delivery after that one attempt.
    pub async fn send_test(&self, scope: &TenantScope, endpoint: Uuid) -> AppResult<Delivery> {
        let tx = ScopedTx::begin(&self.db, scope).await?;
        store::endpoint(&tx, endpoint).await?.ok_or(NO_ENDPOINT)?;
        let data = json!({ "endpointId": endpoint, "message": "a test from AutonomOS" });
        let made = store::enqueue(
            &tx,
            EventType::Test.as_str(),
            &message(EventType::Test, data),
            Some(endpoint),
        )
        .await?;
        tx.commit().await?;
        let id = made.first().copied().ok_or(NO_ENDPOINT)?;
        self.deliver(scope, id).await?;
        let tx = ScopedTx::begin(&self.db, scope).await?;
        store::delivery(&tx, id).await?.ok_or(AppError::NotFound {
            what: "webhook delivery",
        })
    }

    /// One attempt at a pending delivery: signed and sent; on failure the next attempt is
    /// scheduled from `webhooks.retry_schedule_secs` until it runs out (a test is tried once).
    pub async fn deliver(&self, scope: &TenantScope, id: Uuid) -> AppResult<()> {
        let (delivery, target) = {
            let tx = ScopedTx::begin(&self.db, scope).await?;
            let Some(delivery) = store::delivery(&tx, id).await? else {
                return Ok(());
            };
            if delivery.status != DeliveryStatus::Pending.as_str() {
                return Ok(());
            }
            let target = store::target(&tx, delivery.endpoint_id).await?;
            (delivery, target)
        };
        let test = delivery.event_type == EventType::Test.as_str();
        let sent = match &target {
            Some(t) if t.enabled || test => {
                let secret = self
                    .secrets
                    .open(scope.tenant_id(), &t.secret_sealed)
                    .map_err(AppError::internal)?;
                let body = serde_json::to_vec(&delivery.payload).map_err(AppError::internal)?;
                sender::post(
                    &self.outbound,
                    Duration::from_millis(self.settings.timeout_ms),
                    &t.url,
                    &secret,
                    &delivery.message_id,
                    &body,
                )
                .await
            }
            _ => Err("the endpoint is disabled".to_owned()),
        };
        let delivered = matches!(sent, Ok(code) if (200..300).contains(&code));
        let error = match &sent {
            Ok(code) if !delivered => Some(format!("the endpoint answered {code}")),
            Ok(_) => None,
            Err(e) => Some(e.clone()),
        };
        let retry = self
            .settings
            .retry_schedule_secs
            .get(delivery.attempts as usize)
            .filter(|_| !delivered && !test && target.as_ref().is_some_and(|t| t.enabled));
        let attempt = Attempt {
            status_code: sent.as_ref().ok().copied(),
            error: error.as_deref(),
            next_at: retry.map(|secs| chrono::Utc::now() + chrono::Duration::seconds(*secs as i64)),
            delivered,
        };
        let tx = ScopedTx::begin(&self.db, scope).await?;
        let disabled = store::record_attempt(
            &tx,
            &delivery,
            &attempt,
            self.settings.disable_after_failures,
        )
        .await?;
        if disabled {
            audit::record(
                &tx,
                AuditEntry::new("webhook.disabled", "webhook_endpoint", delivery.endpoint_id)
                    .new_value(json!({ "reason": "failed attempts in a row", "lastError": error })),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
