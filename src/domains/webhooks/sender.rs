//! One signed POST to an endpoint, through the outbound policy (the host's addresses checked and
//! pinned, no redirects followed, no proxy), with a time limit.
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::signing;
use crate::infra::outbound::{OutboundPolicy, PinnedResolver};

/// How an attempt ended: the endpoint's HTTP status, or why there was none.
pub type Sent = Result<u16, String>;

pub async fn post(
    policy: &OutboundPolicy,
    timeout: Duration,
    url: &str,
    secret: &str,
    message_id: &str,
    body: &[u8],
) -> Sent {
    let url = Url::parse(url).map_err(|e| format!("the endpoint's URL is invalid: {e}"))?;
    let pins = Arc::new(PinnedResolver::default());
    policy
        .vet_url(&url, &pins)
        .await
        .map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("autonomos-webhooks/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(pins)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signing::sign(secret, message_id, timestamp, body)?;
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} ms", timeout.as_millis())
            } else {
                format!("could not deliver: {}", without_url(&e))
            }
        })?;
    Ok(response.status().as_u16())
}

/// reqwest's error text without the URL (shown already, and possibly holding a token).
fn without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    match e.url() {
        Some(url) => text.replace(url.as_str(), "the endpoint"),
        None => text,
    }
}
