//! Per-tenant rate limits and idempotency keys for `/graphql`, both kept in Redis so every
//! server process shares them. When Redis is unreachable requests are let through (logged):
//! the limits protect capacity, they are not worth an outage.
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::BatchRequest;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::document::{self, DocumentLimits};
use crate::error::{AppError, ErrorCode};
use crate::infra::redis::Redis;

/// A token bucket as GCRA: the key holds the "theoretical arrival time"; a request of cost `n`
/// is allowed when that time, pushed `n` intervals on, is within the burst of now.
/// KEYS[1] bucket; ARGV[1] interval ms (60,000 / per-minute limit), ARGV[2] burst ms, ARGV[3] cost.
/// Returns {allowed (1/0), milliseconds until it would be allowed}.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * tonumber(ARGV[3])
local allow_at = new_tat - burst
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
return {1, 0}
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Write,
    Read,
    Anonymous,
}

/// What the gateway needs to know of a batch before running it, read in one parse of each
/// document. Unparseable documents count as reads with no aliases: they fail before doing
/// anything.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// A mutation would run (the operation asked for, or any when none is named).
    pub mutation: bool,
    /// Aliases across the whole batch.
    pub aliases: usize,
    /// The first operation's name: the one asked for, or its document's only one.
    pub operation: Option<String>,
    /// Why the batch costs too much to run (tokens, nesting, spreads, directives, fields).
    pub too_costly: Option<String>,
    /// The first argument or variable holding text no database can store.
    pub bad_text: Option<String>,
}

pub fn shape(batch: &BatchRequest, limits: &DocumentLimits) -> Shape {
    let mut shape = Shape::default();
    let mut fields: u64 = 0;
    for (i, r) in batch.iter().enumerate() {
        if let Err(refused) = document::scan(&r.query, limits) {
            shape.too_costly.get_or_insert(refused);
            continue;
        }
        let doc = async_graphql::parser::parse_query(&r.query).ok();
        if shape.bad_text.is_none() {
            shape.bad_text = document::nul_input(doc.as_ref(), &r.variables);
        }
        if i == 0 {
            shape.operation = r.operation_name.clone().or_else(|| {
                let mut names = doc.as_ref()?.operations.iter().map(|(name, _)| name);
                match (names.next(), names.next()) {
                    (Some(Some(only)), None) => Some(only.to_string()),
                    _ => None,
                }
            });
        }
        let Some(doc) = doc else {
            continue;
        };
        shape.mutation |= doc.operations.iter().any(|(name, op)| {
            let chosen = match (&r.operation_name, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                _ => true,
            };
            chosen && op.node.ty == OperationType::Mutation
        });
        let cost = document::cost(&doc);
        if let Err(refused) = cost.check(limits) {
            shape.too_costly.get_or_insert(refused);
        }
        shape.aliases += cost.aliases;
        fields = fields.saturating_add(cost.fields);
    }
    if fields > limits.max_fields && shape.too_costly.is_none() {
        shape.too_costly = Some(format!(
            "the batch selects {fields} fields once its fragments are expanded; at most {} are allowed",
            limits.max_fields
        ));
    }
    shape
}

impl Shape {
    /// Why the batch must not run at all, as the error to answer with.
    pub fn refusal(&self, max_aliases: usize) -> Option<AppError> {
        if let Some(reason) = &self.too_costly {
            return Some(AppError::Coded(ErrorCode::QueryTooComplex, reason.clone()));
        }
        if self.aliases > max_aliases {
            return Some(AppError::Coded(
                ErrorCode::QueryTooComplex,
                format!(
                    "the request uses {} aliases; at most {max_aliases} are allowed",
                    self.aliases
                ),
            ));
        }
        self.bad_text.as_ref().map(|at| {
            AppError::bad_field(
                at.clone(),
                "holds a NUL byte (\\u0000), which text may not contain",
            )
        })
    }
}

/// RATE_LIMITED with the whole seconds to wait (at least one), as HTTP and the WebSocket send it.
pub fn rate_limited_error(wait: Duration) -> (u64, async_graphql::ServerError) {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut err =
        async_graphql::ServerError::new(format!("rate limit reached; retry in {secs} s"), None);
    let ext = err.extensions.get_or_insert_with(Default::default);
    ext.set("code", ErrorCode::RateLimited.as_str());
    ext.set("retryAfterSeconds", secs);
    (secs, err)
}

/// The response for a request refused before it ran.
pub fn refused(err: AppError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![
        async_graphql::Error::from(err).into_server_error(async_graphql::Pos::default())
    ])
}

/// Takes `cost` from the bucket; `Err(wait)` when it is empty.
pub async fn take(redis: &Redis, bucket: &str, per_minute: u32, cost: u32) -> Result<(), Duration> {
    let per_minute = per_minute.max(1);
    let interval = 60_000f64 / f64::from(per_minute);
    let burst = interval * f64::from(per_minute);
    let mut conn = redis.clone();
    let reply: redis::RedisResult<(i64, i64)> = redis::Script::new(GCRA)
        .key(bucket)
        .arg(interval)
        .arg(burst)
        .arg(cost.max(1))
        .invoke_async(&mut conn)
        .await;
    match reply {
        Ok((1, _)) => Ok(()),
        Ok((_, wait_ms)) => Err(Duration::from_millis(wait_ms.max(1) as u64)),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit unavailable; letting the request through");
            Ok(())
        }
    }
}

/// The bucket's key. The limit is part of it: buckets of different limits never share state
/// (a changed setting starts fresh buckets instead of misreading the old ones).
pub fn bucket(budget: Budget, who: &str, per_minute: u32) -> String {
    let kind = match budget {
        Budget::Write => "w",
        Budget::Read => "r",
        Budget::Anonymous => "anon",
    };
    format!("rl:{kind}:{per_minute}:{who}")
}

/// What an idempotency key already holds.
pub enum Claim {
    /// First use: run the request, then `store` its response.
    Fresh,
    /// Done before with the same request: the stored response.
    Replay(String),
    /// The same key is running right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
    /// Redis is unreachable: run without the guarantee.
    Unavailable,
}

const PENDING: &str = "pending";

fn idem_key(tenant: Uuid, key: &str) -> String {
    format!(
        "idem:{tenant}:{}",
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Claims `key` for a request whose body hashes to `hash`. The claim is a short-lived marker,
/// so a process that dies mid-request frees the key after `PENDING_TTL`.
pub async fn claim(redis: &Redis, tenant: Uuid, key: &str, hash: &str) -> Claim {
    const PENDING_TTL_MS: u64 = 60_000;
    let mut conn = redis.clone();
    let k = idem_key(tenant, key);
    let marker = serde_json::json!({ "state": PENDING, "hash": hash }).to_string();
    let set: redis::RedisResult<Option<String>> = redis::cmd("SET")
        .arg(&k)
        .arg(&marker)
        .arg("NX")
        .arg("PX")
        .arg(PENDING_TTL_MS)
        .query_async(&mut conn)
        .await;
    match set {
        Ok(Some(_)) => return Claim::Fresh,
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "idempotency store unavailable");
            return Claim::Unavailable;
        }
    }
    let stored: redis::RedisResult<Option<String>> =
        redis::cmd("GET").arg(&k).query_async(&mut conn).await;
    let Ok(Some(stored)) = stored else {
        return Claim::Unavailable;
    };
    let v: serde_json::Value = serde_json::from_str(&stored).unwrap_or_default();
    if v["hash"].as_str() != Some(hash) {
        return Claim::Mismatch;
    }
    if v["state"] == PENDING {
        return Claim::InFlight;
    }
    Claim::Replay(v["response"].as_str().unwrap_or_default().to_owned())
}

/// Keeps the response for replays, or frees the key when the request should not be replayed.
pub async fn finish(
    redis: &Redis,
    tenant: Uuid,
    key: &str,
    hash: &str,
    response: Option<&str>,
    ttl: Duration,
) {
    let mut conn = redis.clone();
    let k = idem_key(tenant, key);
    let result: redis::RedisResult<()> = match response {
        Some(body) => {
            let v = serde_json::json!({ "state": "done", "hash": hash, "response": body });
            redis::cmd("SET")
                .arg(&k)
                .arg(v.to_string())
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async(&mut conn)
                .await
        }
        None => redis::cmd("DEL").arg(&k).query_async(&mut conn).await,
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "idempotency store: could not record the outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_tokens: 10_000,
        max_nesting: 64,
        max_fields: 2_000,
        max_spreads: 200,
        max_directives: 5,
    };

    fn shape(batch: &BatchRequest) -> Shape {
        super::shape(batch, &LIMITS)
    }

    fn batch(query: &str, name: Option<&str>) -> BatchRequest {
        let mut r = async_graphql::Request::new(query);
        if let Some(n) = name {
            r = r.operation_name(n);
        }
        BatchRequest::Single(r)
    }

    #[test]
    fn mutations_aliases_and_names_are_read_in_one_pass() {
        let mutation = |q: &str, name: Option<&str>| shape(&batch(q, name)).mutation;
        assert!(mutation("mutation { a }", None));
        assert!(!mutation("{ a }", None));
        assert!(!mutation("query Q { a }", None));
        let both = "query Q { a } mutation M { b }";
        assert!(!mutation(both, Some("Q")));
        assert!(mutation(both, Some("M")));
        assert!(!mutation("mutation {", None), "unparseable");
        let name = |q: &str, n: Option<&str>| shape(&batch(q, n)).operation;
        assert_eq!(name("query Me { a }", None).as_deref(), Some("Me"));
        assert_eq!(name(both, Some("M")).as_deref(), Some("M"));
        assert_eq!(name(both, None), None);
        assert_eq!(name("{ a }", None), None);
        assert_eq!(
            shape(&batch(
                "{ x: a y: a b { z: c } ...F } fragment F on Q { w: a }",
                None
            ))
            .aliases,
            4
        );
    }

    #[test]
    fn aliases_and_fields_add_up_across_a_batch() {
        let one = || async_graphql::Request::new("{ x: a y: a }");
        let batch = BatchRequest::Batch(vec![one(), one(), one()]);
        assert_eq!(shape(&batch).aliases, 6);
        let wide = format!("{{ {} }}", "a ".repeat(1_500));
        let two = BatchRequest::Batch(vec![
            async_graphql::Request::new(wide.clone()),
            async_graphql::Request::new(wide),
        ]);
        assert!(shape(&two).too_costly.unwrap().contains("batch"));
    }
}
