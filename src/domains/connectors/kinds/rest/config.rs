//! Generic REST sources are configured by JSON, not code.
use serde::{Deserialize, Serialize};

use crate::domains::connectors::kinds::{check_url, Endpoint, KindConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestConfig {
    pub base_url: String,
    #[serde(default)]
    pub auth: RestAuth,
    pub entities: Vec<RestEntity>,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    #[serde(default)]
    pub retry: Retry,
    #[serde(default)]
    pub circuit_breaker: CircuitBreaker,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    30_000
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum RestAuth {
    #[default]
    None,
    Bearer {
        token: String,
    },
    #[serde(rename_all = "camelCase")]
    ApiKey {
        location: ApiKeyLocation,
        name: String,
        value: String,
    },
    Basic {
        username: String,
        password: String,
    },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApiKeyLocation {
    Header,
    Query,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestEntity {
    pub name: String,
    pub endpoint: String,
    /// Dotted path to the array of records in a response body; the body itself when absent.
    #[serde(default)]
    pub records_path: Option<String>,
    /// Dotted path, inside each record, to the object holding its fields (HubSpot's
    /// `properties`); the record itself when absent.
    #[serde(default)]
    pub fields_path: Option<String>,
    /// Dotted path to each record's id (looked up in the record, not in `fieldsPath`).
    #[serde(default = "default_id_field")]
    pub id_field: String,
    #[serde(default)]
    pub pagination: Pagination,
}

fn default_id_field() -> String {
    "id".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Pagination {
    #[default]
    None,
    #[serde(rename_all = "camelCase")]
    Cursor {
        cursor_param: String,
        /// Dotted path to the next cursor in the body, or `$last.<path>` for a value of the
        /// page's last record (Stripe's `starting_after`).
        cursor_path: String,
        limit_param: Option<String>,
        limit: Option<u32>,
        /// Dotted path to a boolean that says whether more pages follow.
        #[serde(default)]
        has_more_path: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Offset {
        offset_param: String,
        limit_param: String,
        limit: u32,
    },
    #[serde(rename_all = "camelCase")]
    Page {
        page_param: String,
        size_param: Option<String>,
        size: Option<u32>,
        start_page: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    NextLink { next_link_path: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    pub requests_per_second: f64,
    pub burst: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Retry {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay_ms: 200,
            max_delay_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CircuitBreaker {
    pub failure_threshold: u32,
    pub reset_after_ms: u64,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            reset_after_ms: 30_000,
        }
    }
}

impl KindConfig for RestConfig {
    fn check(&self) -> Result<(), (String, String)> {
        check_url("baseUrl", &self.base_url)?;
        if self.entities.is_empty() {
            return Err(("entities".into(), "must list at least one entity".into()));
        }
        for (i, e) in self.entities.iter().enumerate() {
            if e.name.trim().is_empty() {
                return Err((format!("entities[{i}].name"), "must not be empty".into()));
            }
            if !e.endpoint.starts_with('/') {
                return Err((
                    format!("entities[{i}].endpoint"),
                    "must be a path starting with /".into(),
                ));
            }
        }
        if let Some(rl) = &self.rate_limit {
            if !(rl.requests_per_second > 0.0 && rl.requests_per_second.is_finite()) {
                return Err((
                    "rateLimit.requestsPerSecond".into(),
                    "must be a positive number".into(),
                ));
            }
            if rl.burst == 0 {
                return Err(("rateLimit.burst".into(), "must be at least 1".into()));
            }
        }
        if !(1..=10).contains(&self.retry.max_attempts) {
            return Err((
                "retry.maxAttempts".into(),
                "must be between 1 and 10".into(),
            ));
        }
        if self.retry.base_delay_ms > self.retry.max_delay_ms {
            return Err((
                "retry.baseDelayMs".into(),
                "must not exceed retry.maxDelayMs".into(),
            ));
        }
        if self.circuit_breaker.failure_threshold == 0 {
            return Err((
                "circuitBreaker.failureThreshold".into(),
                "must be at least 1".into(),
            ));
        }
        if !(100..=300_000).contains(&self.timeout_ms) {
            return Err(("timeoutMs".into(), "must be between 100 and 300000".into()));
        }
        Ok(())
    }

    fn endpoint(&self) -> Option<Endpoint> {
        let url = url::Url::parse(&self.base_url).ok()?;
        Some(Endpoint {
            field: "baseUrl",
            host: crate::infra::outbound::url_host(&url)?,
            port: url.port_or_known_default()?,
        })
    }

    fn secrets(&mut self) -> Vec<&mut String> {
        match &mut self.auth {
            RestAuth::None => vec![],
            RestAuth::Bearer { token } => vec![token],
            RestAuth::ApiKey { value, .. } => vec![value],
            // Stripe-style keys travel as the basic-auth user name.
            RestAuth::Basic { username, password } => vec![username, password],
        }
    }
}
