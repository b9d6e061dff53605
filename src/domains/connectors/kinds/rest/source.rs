//! Generic REST sources, configured by JSON: auth, entities with endpoint and records path,
//! pagination (cursor, offset, page, next-link), a per-connector token bucket, retries with
//! exponential backoff and full jitter (honouring `Retry-After`), and a circuit breaker.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use rand::Rng;
use serde_json::Value;
use tokio::sync::mpsc;
use url::Url;

use super::config::{ApiKeyLocation, RestAuth, RestConfig, RestEntity};
use super::guards::{Breaker, TokenBucket};
use super::pager::{at, Pager};
use crate::domains::connectors::source::{
    content_version, flatten, scalar, Batch, EntitySchema, FieldSchema, Health, Quarantined,
    Source, SourceError, SourceRecord,
};
use crate::infra::outbound::{OutboundError, OutboundPolicy, PinnedResolver};

const MAX_REDIRECTS: usize = 5;

/// What a failed request says: the same whatever state the far port is in (no port scans
/// through error texts), and never the URL (it may carry an API key).
fn transport_error(url: &Url, e: &reqwest::Error) -> String {
    tracing::debug!(error = %e, "REST source request failed");
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or_default();
    format!("no answer from {host}:{port}")
}

pub struct RestSource {
    config: RestConfig,
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    /// The addresses the policy checked, which the client connects to (no DNS rebinding).
    pins: Arc<PinnedResolver>,
    breaker: Arc<Breaker>,
    bucket: Option<Arc<TokenBucket>>,
}

/// Why one request attempt failed, and whether another attempt may succeed.
struct Failure {
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl RestSource {
    pub fn new(
        config: RestConfig,
        policy: Arc<OutboundPolicy>,
        breaker: Arc<Breaker>,
        bucket: Option<Arc<TokenBucket>>,
    ) -> Result<Self, SourceError> {
        let pins = Arc::new(PinnedResolver::default());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .user_agent(concat!("autonomos/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(pins.clone())
            .no_proxy()
            .build()
            .map_err(|e| SourceError::Invalid(e.to_string()))?;
        Ok(Self {
            config,
            http,
            policy,
            pins,
            breaker,
            bucket,
        })
    }

    fn entity(&self, name: &str) -> Result<&RestEntity, SourceError> {
        self.config
            .entities
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| SourceError::Invalid(format!("no entity {name} in the config")))
    }

    pub(super) fn url(&self, endpoint: &str) -> Result<Url, SourceError> {
        let base = self.config.base_url.trim_end_matches('/');
        Url::parse(&format!("{base}{endpoint}"))
            .map_err(|e| SourceError::Invalid(format!("{endpoint}: {e}")))
    }

    /// The request for `url`, with the config's credentials when it goes to the API's own
    /// origin (a redirect or next link elsewhere does not get them).
    fn request(&self, url: &Url) -> reqwest::RequestBuilder {
        let same_origin = self
            .url("/")
            .is_ok_and(|base| base.origin() == url.origin());
        if !same_origin {
            return self.http.get(url.clone());
        }
        match &self.config.auth {
            RestAuth::None => self.http.get(url.clone()),
            RestAuth::Bearer { token } => self.http.get(url.clone()).bearer_auth(token),
            RestAuth::ApiKey {
                location: ApiKeyLocation::Header,
                name,
                value,
            } => self
                .http
                .get(url.clone())
                .header(name.as_str(), value.as_str()),
            RestAuth::ApiKey {
                location: ApiKeyLocation::Query,
                name,
                value,
            } => {
                let mut url = url.clone();
                url.query_pairs_mut().append_pair(name, value);
                self.http.get(url)
            }
            RestAuth::Basic { username, password } => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                self.http
                    .get(url.clone())
                    .header("authorization", format!("Basic {token}"))
            }
        }
    }

    /// Sends one GET through the outbound policy, following up to `MAX_REDIRECTS` redirects,
    /// each checked again.
    async fn send(&self, url: &Url) -> Result<reqwest::Response, Failure> {
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let refused = |e: OutboundError| Failure {
                message: format!("GET {}: {e}", url.path()),
                retryable: false,
                retry_after: None,
            };
            self.policy
                .vet_url(&url, &self.pins)
                .await
                .map_err(refused)?;
            let response = self.request(&url).send().await.map_err(|e| Failure {
                message: format!("GET {}: {}", url.path(), transport_error(&url, &e)),
                retryable: true,
                retry_after: None,
            })?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| Failure {
                    message: format!("GET {}: a redirect without a usable Location", url.path()),
                    retryable: false,
                    retry_after: None,
                })?;
            url = next;
        }
        Err(Failure {
            message: format!("GET {}: more than {MAX_REDIRECTS} redirects", url.path()),
            retryable: false,
            retry_after: None,
        })
    }

    async fn attempt(&self, url: &Url) -> Result<Value, Failure> {
        let shown = format!("GET {}", url.path());
        let response = self.send(url).await?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let retryable =
                status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error();
            return Err(Failure {
                message: format!("{shown}: HTTP {status}"),
                retryable,
                retry_after,
            });
        }
        let bytes = response.bytes().await.map_err(|e| Failure {
            message: format!("{shown}: {e}"),
            retryable: true,
            retry_after: None,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Failure {
            // A proxy may have cut the body short: worth another attempt.
            message: format!("{shown}: malformed JSON: {e}"),
            retryable: true,
            retry_after: None,
        })
    }

    /// One logical request: rate-limited, retried with backoff, guarded by the breaker.
    pub(super) async fn get_json(&self, url: &Url) -> Result<Value, SourceError> {
        let retry = &self.config.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if let Err(left) = self.breaker.check() {
                return Err(SourceError::Unavailable(format!(
                    "circuit breaker open after repeated failures; next trial in {} ms",
                    left.as_millis()
                )));
            }
            if let Some(bucket) = &self.bucket {
                bucket.take().await;
            }
            match self.attempt(url).await {
                Ok(body) => {
                    self.breaker.success();
                    return Ok(body);
                }
                Err(f) => {
                    self.breaker.failure();
                    if !f.retryable || attempt >= retry.max_attempts {
                        return Err(SourceError::Unavailable(format!(
                            "{} (after {attempt} attempt{})",
                            f.message,
                            if attempt == 1 { "" } else { "s" }
                        )));
                    }
                    tracing::debug!(attempt, error = %f.message, "retrying");
                    tokio::time::sleep(backoff(retry, attempt, f.retry_after)).await;
                }
            }
        }
    }
}

/// Delay before attempt `attempt + 1`: full jitter over an exponential ceiling, at least what
/// the server asked for.
fn backoff(retry: &super::config::Retry, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = retry
        .base_delay_ms
        .saturating_mul(1u64 << attempt.min(20))
        .min(retry.max_delay_ms);
    let jittered = Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling));
    match retry_after {
        Some(asked) => asked
            .min(Duration::from_millis(retry.max_delay_ms))
            .max(jittered),
        None => jittered,
    }
}

fn fields_of(entity: &RestEntity, record: &Value) -> Option<Vec<(String, String)>> {
    let holder = match &entity.fields_path {
        Some(p) => at(record, p)?,
        None => record,
    };
    let mut out = Vec::new();
    flatten("", holder.as_object()?, &mut out);
    Some(out)
}

fn to_row(entity: &RestEntity, record: &Value, position: u64) -> Result<SourceRecord, Quarantined> {
    let raw = || record.to_string();
    let Some(values) = fields_of(entity, record) else {
        return Err(Quarantined {
            position,
            reason: format!(
                "record is not an object{}",
                entity
                    .fields_path
                    .as_ref()
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default()
            ),
            raw: raw(),
        });
    };
    let id = at(record, &entity.id_field).map(scalar).unwrap_or_default();
    if id.is_empty() {
        return Err(Quarantined {
            position,
            reason: format!("record has no id at {}", entity.id_field),
            raw: raw(),
        });
    }
    Ok(SourceRecord {
        position,
        version: content_version(&values),
        id,
        values,
    })
}

#[async_trait]
impl Source for RestSource {
    async fn entities(&self) -> Result<Vec<String>, SourceError> {
        Ok(self
            .config
            .entities
            .iter()
            .map(|e| e.name.clone())
            .collect())
    }

    async fn introspect(&self, name: &str) -> Result<EntitySchema, SourceError> {
        let entity = self.entity(name)?;
        let first_page = Pager::new(self, entity)?
            .next_page()
            .await?
            .unwrap_or_default();
        // Field names in order of first appearance, each with the values read for it.
        let mut columns: Vec<(String, Vec<String>)> = Vec::new();
        for record in &first_page {
            for (name, value) in fields_of(entity, record).unwrap_or_default() {
                match columns.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, values)) => values.push(value),
                    None => columns.push((name, vec![value])),
                }
            }
        }
        let fields = columns
            .into_iter()
            .map(|(name, values)| FieldSchema::from_values(name, &values))
            .collect();
        Ok(EntitySchema {
            entity: entity.name.clone(),
            fields,
        })
    }

    fn read(
        &self,
        entity: &str,
        after_position: u64,
        batch_size: usize,
    ) -> mpsc::Receiver<Result<Batch, SourceError>> {
        let (sender, receiver) = mpsc::channel(2);
        let entity = match self.entity(entity) {
            Ok(e) => e.clone(),
            Err(e) => {
                let _ = sender.try_send(Err(e));
                return receiver;
            }
        };
        let source = Self {
            config: self.config.clone(),
            http: self.http.clone(),
            policy: self.policy.clone(),
            pins: self.pins.clone(),
            breaker: self.breaker.clone(),
            bucket: self.bucket.clone(),
        };
        tokio::spawn(async move {
            let mut pager = match Pager::new(&source, &entity) {
                Ok(p) => p,
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
            };
            let mut position: u64 = 0;
            let mut batch = Batch::default();
            loop {
                let records = match pager.next_page().await {
                    Ok(Some(records)) => records,
                    Ok(None) => break,
                    Err(e) => {
                        // What was read before the failure still flows.
                        if batch.last_position > 0 {
                            let _ = sender.send(Ok(std::mem::take(&mut batch))).await;
                        }
                        let _ = sender.send(Err(e)).await;
                        return;
                    }
                };
                for record in records {
                    position += 1;
                    if position <= after_position {
                        continue;
                    }
                    match to_row(&entity, &record, position) {
                        Ok(r) => batch.records.push(r),
                        Err(q) => batch.quarantined.push(q),
                    }
                    batch.last_position = position;
                    if batch.records.len() + batch.quarantined.len() >= batch_size
                        && sender.send(Ok(std::mem::take(&mut batch))).await.is_err()
                    {
                        return;
                    }
                }
            }
            if batch.last_position > 0 {
                let _ = sender.send(Ok(batch)).await;
            }
        });
        receiver
    }

    async fn health(&self, entity: &str) -> Health {
        let Some(e) = self.config.entities.iter().find(|e| e.name == entity) else {
            return Health::failed(format!("no entity {entity} configured"));
        };
        let read = match self.url(&e.endpoint) {
            Ok(url) => self.get_json(&url).await,
            Err(err) => Err(err),
        };
        match read {
            Ok(_) => Health::read(format!("GET {} answered", e.endpoint)),
            Err(err) => Health::failed(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let v = json!({ "paging": { "next": { "after": "42" } }, "data": [{ "id": "a" }, { "id": "b" }] });
        assert_eq!(at(&v, "paging.next.after"), Some(&json!("42")));
        assert_eq!(at(&v, "data.1.id"), Some(&json!("b")));
        assert_eq!(at(&v, "nope.x"), None);
    }

    #[test]
    fn records_flatten_and_need_an_id() {
        let entity: RestEntity = serde_json::from_value(json!({
            "name": "companies", "endpoint": "/c", "fieldsPath": "properties"
        }))
        .unwrap();
        let r = to_row(&entity, &json!({ "id": "7", "properties": { "name": "Acme", "address": { "city": "Oslo" }, "tags": ["a"] } }), 1).unwrap();
        assert_eq!(r.id, "7");
        assert!(r
            .values
            .contains(&("address.city".to_owned(), "Oslo".to_owned())));
        assert!(r
            .values
            .contains(&("tags".to_owned(), "[\"a\"]".to_owned())));
        // Arrays of objects read as paths, a few items deep; arrays of plain values stay text.
        let r = to_row(
            &entity,
            &json!({ "id": "8", "properties": {
            "emails": [{ "value": "a@acme.test", "primary": true }, { "value": "b@acme.test" }],
            "phones": [{ "n": 1 }, { "n": 2 }, { "n": 3 }, { "n": 4 }] } }),
            1,
        )
        .unwrap();
        assert!(r
            .values
            .contains(&("emails[0].value".to_owned(), "a@acme.test".to_owned())));
        assert!(r
            .values
            .contains(&("emails[1].value".to_owned(), "b@acme.test".to_owned())));
        assert!(r.values.iter().any(|(n, _)| n == "phones[2].n"));
        assert!(!r.values.iter().any(|(n, _)| n == "phones[3].n"));
        let q = to_row(&entity, &json!({ "properties": { "name": "No id" } }), 2).unwrap_err();
        assert!(q.reason.contains("no id"));
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let retry = super::super::config::Retry {
            max_attempts: 5,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        for attempt in 1..10 {
            assert!(backoff(&retry, attempt, None) <= Duration::from_millis(1_000));
        }
        assert!(backoff(&retry, 1, Some(Duration::from_millis(700))) >= Duration::from_millis(700));
        assert!(backoff(&retry, 1, Some(Duration::from_secs(60))) <= Duration::from_millis(1_000));
    }
}
