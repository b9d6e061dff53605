//! Redis: one multiplexed, self-reconnecting connection shared by the process.
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

pub type Redis = ConnectionManager;

pub async fn connect(settings: &RedisSettings) -> redis::RedisResult<Redis> {
    let client = redis::Client::open(settings.url.expose_secret())?;
    ConnectionManager::new(client).await
}

pub async fn ping(redis: &Redis) -> redis::RedisResult<()> {
    let mut conn = redis.clone();
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(|_| ())
}
