//! Automatic persisted queries (the Apollo protocol): a client may send only
//! `extensions.persistedQuery.sha256Hash`; an unknown hash is answered `PersistedQueryNotFound`,
//! and the client sends the query once with its hash, which registers it. Documents are kept in
//! Redis (shared by every process, keyed by content, so no tenant data) and their lifetime is
//! renewed on use. Without Redis every hash-only request is "not found" and clients fall back to
//! sending the full query.
use std::time::Duration;

use async_graphql::BatchRequest;
use sha2::{Digest, Sha256};

use crate::error::ErrorCode;
use crate::infra::redis::Redis;

/// Why a batch's persisted queries could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub code: ErrorCode,
    pub message: String,
}

impl Refused {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    fn not_found() -> Self {
        Self {
            code: ErrorCode::PersistedQueryNotFound,
            message: "PersistedQueryNotFound".to_owned(),
        }
    }
}

fn key(hash: &str) -> String {
    format!("pq:{hash}")
}

/// The hash a request asks for, if it uses the extension.
fn wanted(request: &async_graphql::Request) -> Result<Option<String>, Refused> {
    let Some(ext) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let ext = ext
        .clone()
        .into_json()
        .map_err(|_| Refused::bad("persistedQuery must be an object"))?;
    if ext["version"] != 1 {
        return Err(Refused::bad("persistedQuery: only version 1 is supported"));
    }
    match ext["sha256Hash"].as_str() {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(h.to_ascii_lowercase()))
        }
        _ => Err(Refused::bad(
            "persistedQuery.sha256Hash must be 64 hexadecimal characters",
        )),
    }
}

/// Fills in every hash-only request of the batch and registers every request that sends its
/// query with a hash.
pub async fn resolve(
    redis: &Redis,
    batch: &mut BatchRequest,
    ttl: Duration,
) -> Result<(), Refused> {
    let requests: Vec<&mut async_graphql::Request> = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs.iter_mut().collect(),
    };
    let ttl_secs = ttl.as_secs().max(1);
    for request in requests {
        let Some(hash) = wanted(request)? else {
            continue;
        };
        let mut conn = redis.clone();
        if request.query.is_empty() {
            let stored: redis::RedisResult<Option<String>> = redis::cmd("GETEX")
                .arg(key(&hash))
                .arg("EX")
                .arg(ttl_secs)
                .query_async(&mut conn)
                .await;
            match stored {
                Ok(Some(query)) => request.query = query,
                other => {
                    if let Err(e) = other {
                        tracing::warn!(error = %e, "persisted queries unavailable");
                    }
                    return Err(Refused::not_found());
                }
            }
        } else {
            if hex::encode(Sha256::digest(request.query.as_bytes())) != hash {
                return Err(Refused::bad("provided sha does not match query"));
            }
            // Only documents that parse are worth keeping.
            if async_graphql::parser::parse_query(&request.query).is_ok() {
                let set: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(key(&hash))
                    .arg(&request.query)
                    .arg("EX")
                    .arg(ttl_secs)
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = set {
                    tracing::warn!(error = %e, "could not register a persisted query");
                }
            }
        }
    }
    Ok(())
}
