//! graphql-transport-ws exactly: every close code of the protocol, ping/pong and `complete`,
//! with a raw client here and with the standard `graphql-ws` client (`tests/ws-client/`).
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};
use crate::telemetry::{Got, Ws};

const FOLLOW: &str = "subscription { flowEvents { id } }";

async fn app() -> TestApp {
    spawn_app_with(|s| s.graphql.ws_init_timeout_ms = 600).await
}

async fn closed(ws: &mut Ws) -> (u16, String) {
    loop {
        match ws.next(Duration::from_secs(10)).await {
            Some(Got::Closed(code, reason)) => return (code, reason),
            Some(_) => continue,
            None => panic!("the socket stayed open"),
        }
    }
}

#[tokio::test]
async fn every_close_code_of_the_protocol_with_a_raw_client() {
    let app = app().await;
    let t = app.sign_up().await;

    // 4400: not a message of the protocol (before and after the acknowledgement).
    let mut ws = Ws::open(&app.address, false).await;
    ws.send(json!({ "type": "hello" })).await;
    assert_eq!(
        closed(&mut ws).await,
        (4400, "Invalid message received".into())
    );
    let mut ws = Ws::connect(&app.address, &t.token).await;
    ws.send(json!({ "id": "1", "type": "subscribe" })).await;
    assert_eq!(
        closed(&mut ws).await.0,
        4400,
        "a subscribe without a payload"
    );

    // 4401: subscribe before the acknowledgement.
    let mut ws = Ws::open(&app.address, false).await;
    ws.subscribe("1", FOLLOW, json!({})).await;
    assert_eq!(closed(&mut ws).await, (4401, "Unauthorized".into()));

    // 4403: a forged or missing token at connection_init, with the reason.
    for (payload, reason) in [
        (
            json!({ "authorization": "Bearer forged.token.x" }),
            "invalid token",
        ),
        (json!({}), "authentication required"),
    ] {
        let mut ws = Ws::open(&app.address, false).await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(closed(&mut ws).await, (4403, reason.into()));
    }

    // 4408: no connection_init within the initialisation timeout (600 ms here).
    let opened = Instant::now();
    let mut ws = Ws::open(&app.address, false).await;
    assert_eq!(
        closed(&mut ws).await,
        (4408, "Connection initialisation timeout".into())
    );
    assert!(
        opened.elapsed() >= Duration::from_millis(500),
        "{:?}",
        opened.elapsed()
    );

    // 4409: a second subscriber with an id still in use; once completed, the id is free.
    let mut ws = Ws::connect(&app.address, &t.token).await;
    ws.subscribe("a", FOLLOW, json!({})).await;
    ws.send(json!({ "id": "a", "type": "complete" })).await;
    ws.subscribe("a", FOLLOW, json!({})).await;
    ws.send(json!({ "type": "ping" })).await;
    // Nothing more of the first "a" (no `complete` answering the client's), then the pong.
    match ws.next(Duration::from_secs(5)).await {
        Some(Got::Other(v)) if v["type"] == "pong" => {}
        other => panic!("a ping is answered with a pong: {other:?}"),
    }
    ws.subscribe("a", FOLLOW, json!({})).await;
    assert_eq!(
        closed(&mut ws).await,
        (4409, "Subscriber for a already exists".into())
    );

    // 4429: a second connection_init.
    let mut ws = Ws::connect(&app.address, &t.token).await;
    ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", t.token) } }))
        .await;
    assert_eq!(
        closed(&mut ws).await,
        (4429, "Too many initialisation requests".into())
    );
}

#[tokio::test]
async fn a_socket_closes_with_4403_when_its_token_expires_not_at_the_next_recheck() {
    let app = spawn_app_with(|s| s.auth.recheck_secs = 60).await;
    let t = app.sign_up().await;
    let short = app.token_expiring_in(&t, 2);
    let opened = Instant::now();
    let mut ws = Ws::connect(&app.address, &short).await;
    ws.subscribe("flow", FOLLOW, json!({})).await;
    assert_eq!(closed(&mut ws).await, (4403, "the token expired".into()));
    let after = opened.elapsed();
    assert!(
        after > Duration::from_millis(1000) && after < Duration::from_secs(5),
        "closed {after:?} after opening, with 2 s left on the token"
    );
}

/// Runs `tests/ws-client/close-codes.mjs` (the standard `graphql-ws` client): one JSON line
/// per scenario.
async fn standard_client(app: &TestApp, token: &str) -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let child = std::process::Command::new("node")
        .arg(root.join("tests/ws-client/close-codes.mjs"))
        .arg(format!(
            "{}/graphql",
            app.address.replace("http://", "ws://")
        ))
        .arg(token)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node (tests/ws-client: run scripts/install-ws-client.sh)");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn the_standard_graphql_ws_client_reads_the_close_codes_pings_and_completes() {
    let app = app().await;
    let t = app.sign_up().await;
    let lines = standard_client(&app, &t.token).await;
    let of = |name: &str| {
        lines
            .iter()
            .find(|l| l["scenario"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {lines:#?}"))
    };
    assert_eq!(of("forged token")["closed"], 4403, "{lines:#?}");
    assert_eq!(of("no connection_init")["closed"], 4408, "{lines:#?}");
    assert_eq!(of("duplicate id")["closed"], 4409, "{lines:#?}");
    assert_eq!(of("ping")["pong"], true, "{lines:#?}");
    let completed = of("complete then the same id again");
    assert_eq!(completed["completed"], true, "{lines:#?}");
    assert_eq!(completed["again"], true, "{lines:#?}");
}
