//! Redis: one multiplexed, self-reconnecting connection shared by the process.
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

pub type Redis = ConnectionManager;

/// Everything on this connection is a short command, so it fails fast while Redis is away
/// (each user degrades on its own: limits open, caches miss, events wait in their buffer)
/// rather than stalling requests behind reconnect back-off or an unanswered command.
pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<Redis> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_millis(1000))
        .set_response_timeout(Duration::from_millis(2000))
        .set_number_of_retries(1)
        .set_max_delay(500);
    ConnectionManager::new_with_config(client(settings)?, config).await
}

/// A client for connections of their own (a blocking XREAD must not hold up the shared one).
pub fn client(settings: &RedisSettings) -> redis::RedisResult<redis::Client> {
    redis::Client::open(settings.url.expose_secret())
}

pub async fn ping(redis: &Redis) -> redis::RedisResult<()> {
    let mut conn = redis.clone();
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(|_| ())
}
