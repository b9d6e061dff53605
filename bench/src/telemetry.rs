//! Live telemetry at scale: 1,000 concurrent graphql-transport-ws subscribers (100 tenants × 10)
//! while 1,000 events/s are published (10 per tenant), against the release server run as its
//! own process so its memory can be read. Publish→receive latency p50/p95/p99 next to raw
//! Redis XADD→XREAD latency with the same fan-out, measured in the same run.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use redis::AsyncCommands;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::proposals::tenant;
use super::server::{rss_kib, Server, Services};
use super::{arg, Client};

const TENANTS: usize = 100;
const PER_TENANT: usize = 10;

#[derive(Default)]
struct Samples {
    micros: Vec<u64>,
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

fn now_micros() -> u64 {
    chrono::Utc::now().timestamp_micros().max(0) as u64
}

/// One subscriber: connects, subscribes, then records each event's publish→receive latency.
async fn subscriber(
    port: u16,
    token: String,
    samples: Arc<Mutex<Samples>>,
    ready: Arc<tokio::sync::Barrier>,
    stop: Arc<tokio::sync::Notify>,
) -> anyhow::Result<()> {
    let mut request = format!("ws://127.0.0.1:{port}/graphql").into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.send(Message::Text(
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })
            .to_string()
            .into(),
    ))
    .await?;
    let _ack = ws.next().await;
    ws.send(Message::Text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { flowEvents { id at } }" } })
            .to_string()
            .into(),
    ))
    .await?;
    ready.wait().await;
    let mut mine = Vec::new();
    loop {
        tokio::select! {
            _ = stop.notified() => break,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let received = now_micros();
                    let v: Value = serde_json::from_str(&t)?;
                    if let Some(at) = v["payload"]["data"]["flowEvents"]["at"].as_str() {
                        let at = chrono::DateTime::parse_from_rfc3339(at)?.timestamp_micros().max(0) as u64;
                        mine.push(received.saturating_sub(at));
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }
    samples.lock().await.micros.extend(mine);
    Ok(())
}

/// Raw Redis with the same shape: 100 streams, 10 blocking readers each, 1,000 XADD/s.
async fn raw_redis(url: &str, seconds: u64) -> anyhow::Result<(Vec<u64>, u64)> {
    let client = redis::Client::open(url)?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let samples = Arc::new(Mutex::new(Samples::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for s in 0..TENANTS {
        for _ in 0..PER_TENANT {
            let key = format!("bench:raw:{run}:{s}");
            let mut conn = client.get_multiplexed_async_connection().await?;
            let (samples, stop) = (samples.clone(), stop.clone());
            readers.push(tokio::spawn(async move {
                let mut last = "$".to_owned();
                let mut mine = Vec::new();
                let opts = redis::streams::StreamReadOptions::default()
                    .count(100)
                    .block(1000);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply: Option<redis::streams::StreamReadReply> =
                        match conn.xread_options(&[&key], &[&last], &opts).await {
                            Ok(r) => r,
                            Err(_) => break,
                        };
                    let received = now_micros();
                    for k in reply.map(|r| r.keys).unwrap_or_default() {
                        for e in k.ids {
                            if let Some(redis::Value::BulkString(ts)) = e.map.get("ts") {
                                let ts: u64 = String::from_utf8_lossy(ts).parse().unwrap_or(0);
                                mine.push(received.saturating_sub(ts));
                            }
                            last = e.id;
                        }
                    }
                }
                samples.lock().await.micros.extend(mine);
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        // 10 per tick = 1,000/s, round-robin over the streams.
        let mut pipe = redis::pipe();
        for _ in 0..10 {
            let key = format!("bench:raw:{run}:{}", sent % TENANTS as u64);
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(10_000)
                .arg("*")
                .arg("ts")
                .arg(now_micros())
                .ignore();
            sent += 1;
        }
        pipe.query_async::<()>(&mut conn).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        let _ = r.await;
    }
    let mut all = std::mem::take(&mut samples.lock().await.micros);
    all.sort_unstable();
    for s in 0..TENANTS {
        let _: redis::RedisResult<()> = conn.del(format!("bench:raw:{run}:{s}")).await;
    }
    Ok((all, sent * PER_TENANT as u64))
}

pub async fn run(out: PathBuf) -> anyhow::Result<()> {
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(20);
    let redis_url = Services::load()?.redis.url;
    let server = Server::start(&[]).await?;
    let pid = server.pid();
    let client = Arc::new(Client::new(&server));
    let mut tokens = Vec::new();
    for _ in 0..TENANTS {
        tokens.push(tenant(&client).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(pid);

    let samples = Arc::new(Mutex::new(Samples::default()));
    let subscribers = TENANTS * PER_TENANT;
    let ready = Arc::new(tokio::sync::Barrier::new(subscribers + 1));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for token in &tokens {
        for _ in 0..PER_TENANT {
            tasks.push(tokio::spawn(subscriber(
                server.port,
                token.clone(),
                samples.clone(),
                ready.clone(),
                stop.clone(),
            )));
        }
    }
    ready.wait().await;
    // Let every subscription open its reader before events flow.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_subscribed = rss_kib(pid);
    println!("{subscribers} subscribers connected; publishing 1000 events/s for {seconds} s");
    for token in &tokens {
        client
            .call(
                "mutation($s: Int!) { startFlowDemo(rate: 10, seconds: $s) { events } }",
                json!({ "s": seconds }),
                Some(token),
            )
            .await?;
    }
    let mut rss_peak = rss_subscribed;
    let publish_started = Instant::now();
    while publish_started.elapsed() < Duration::from_secs(seconds + 3) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(rss_kib(pid));
    }
    stop.notify_waiters();
    for t in tasks {
        match t.await {
            Ok(Err(e)) => eprintln!("subscriber: {e}"),
            Err(e) => eprintln!("subscriber task: {e}"),
            Ok(Ok(())) => {}
        }
    }
    let mut gql = std::mem::take(&mut samples.lock().await.micros);
    gql.sort_unstable();
    let expected = (TENANTS as u64) * 10 * seconds * PER_TENANT as u64;
    drop(server);

    println!(
        "raw Redis XADD -> XREAD, same fan-out, {} s",
        seconds.min(10)
    );
    let (raw, raw_expected) = raw_redis(&redis_url, seconds.min(10)).await?;

    let per_sub = (rss_subscribed.saturating_sub(rss_before)) as f64 / subscribers as f64;
    let when = chrono::Utc::now().to_rfc3339();
    let mut md = format!(
        "# Telemetry benchmark\n\n{when} · release server as its own process · 2 cores shared by server, \
         PostgreSQL, Redis and {subscribers} WebSocket clients · {TENANTS} tenants × {PER_TENANT} subscribers, \
         {} events/s ({} per tenant) for {seconds} s\n\n\
         | path | deliveries | expected | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|\n",
        TENANTS * 10,
        10
    );
    md += &format!(
        "| publish → GraphQL subscriber (graphql-transport-ws) | {} | {expected} | {:.2} | {:.2} | {:.2} |\n",
        gql.len(),
        pct(&gql, 0.50),
        pct(&gql, 0.95),
        pct(&gql, 0.99)
    );
    md += &format!(
        "| raw Redis XADD → XREAD BLOCK | {} | {raw_expected} | {:.2} | {:.2} | {:.2} |\n",
        raw.len(),
        pct(&raw, 0.50),
        pct(&raw, 0.95),
        pct(&raw, 0.99)
    );
    md += &format!(
        "\nServer memory: {} MiB before subscribers, {} MiB with {subscribers} idle subscribers \
         ({per_sub:.1} KiB each), {} MiB peak while publishing.\n",
        rss_before / 1024,
        rss_subscribed / 1024,
        rss_peak / 1024
    );
    println!("{md}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("telemetry.md"), &md)?;
    let json = json!({
        "when": when, "subscribers": subscribers, "eventsPerSecond": TENANTS * 10, "seconds": seconds,
        "graphql": { "deliveries": gql.len(), "expected": expected, "p50Ms": pct(&gql, 0.5), "p95Ms": pct(&gql, 0.95), "p99Ms": pct(&gql, 0.99) },
        "raw": { "deliveries": raw.len(), "expected": raw_expected, "p50Ms": pct(&raw, 0.5), "p95Ms": pct(&raw, 0.95), "p99Ms": pct(&raw, 0.99) },
        "memory": { "beforeKiB": rss_before, "subscribedKiB": rss_subscribed, "peakKiB": rss_peak, "perSubscriberKiB": per_sub },
    });
    std::fs::write(
        out.join("telemetry.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok(())
}
