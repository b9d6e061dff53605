//! Redis: one multiplexed, self-reconnecting connection shared by the process.
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

pub type Redis = ConnectionManager;

pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<Redis> {
    ConnectionManager::new(client(settings)?).await
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
