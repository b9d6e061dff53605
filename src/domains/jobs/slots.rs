//! A per-tenant limit on concurrent sync runs, shared by every server process through Redis:
//! a sorted set of run ids scored by lease expiry. A process that dies stops renewing its
//! leases, and they expire.
use redis::Script;
use uuid::Uuid;

use crate::infra::redis::Redis;

fn key(tenant: Uuid) -> String {
    format!("sync:slots:{tenant}")
}

/// Takes (or renews) a slot for `run`; false when the tenant already has `limit` live runs.
pub async fn acquire(
    redis: &Redis,
    tenant: Uuid,
    run: Uuid,
    limit: usize,
    lease_ms: u64,
) -> redis::RedisResult<bool> {
    // Atomic: drop expired leases, then admit if the run holds a slot or one is free.
    let script = Script::new(
        r"
        local now = tonumber(ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
            redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
            redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
            return 1
        end
        return 0
        ",
    );
    let now = chrono::Utc::now().timestamp_millis();
    let mut conn = redis.clone();
    let admitted: i32 = script
        .key(key(tenant))
        .arg(now)
        .arg(run.to_string())
        .arg(limit)
        .arg(lease_ms)
        .invoke_async(&mut conn)
        .await?;
    Ok(admitted == 1)
}

pub async fn release(redis: &Redis, tenant: Uuid, run: Uuid) -> redis::RedisResult<()> {
    let mut conn = redis.clone();
    redis::cmd("ZREM")
        .arg(key(tenant))
        .arg(run.to_string())
        .query_async::<i64>(&mut conn)
        .await
        .map(|_| ())
}
