//! Live flow telemetry through a real graphql-transport-ws client against the real server
//! (Redis Streams underneath): order, resume, isolation, auth, two processes, slow clients.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp, SYNC_RUN};

const FLOW: &str = "subscription($l: [Layer!], $k: [String!], $s: String) {
    flowEvents(layers: $l, kinds: $k, since: $s) { id tenantId layer kind entityType entityId status message data at traceId } }";

/// One graphql-transport-ws connection.
pub(crate) struct Ws {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server sent.
#[derive(Debug)]
pub(crate) enum Got {
    Next(String, Value),
    Complete(String),
    Closed(u16, String),
    Other(Value),
}

impl Ws {
    pub(crate) async fn open(address: &str, small_receive_buffer: bool) -> Self {
        let url = format!("{}/graphql", address.replace("http://", "ws://"));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let addr = address
            .trim_start_matches("http://")
            .parse::<std::net::SocketAddr>()
            .unwrap();
        let tcp = TcpSocket::new_v4().unwrap();
        if small_receive_buffer {
            // So that a client that stops reading pushes back on the server quickly.
            tcp.set_recv_buffer_size(4096).unwrap();
        }
        let stream = tcp.connect(addr).await.unwrap();
        let (socket, response) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
                .await
                .unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Self { socket }
    }

    pub(crate) async fn connect(address: &str, token: &str) -> Self {
        Self::connect_with(address, token, false).await
    }

    async fn connect_with(address: &str, token: &str, small_receive_buffer: bool) -> Self {
        let mut ws = Self::open(address, small_receive_buffer).await;
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        match ws.next(Duration::from_secs(10)).await {
            Some(Got::Other(v)) if v["type"] == "connection_ack" => ws,
            other => panic!("no connection_ack: {other:?}"),
        }
    }

    pub(crate) async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub(crate) async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message (pings answered), or None when nothing came within `wait`.
    pub(crate) async fn next(&mut self, wait: Duration) -> Option<Got> {
        loop {
            let msg = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Got::Closed(1006, String::new())),
                Ok(Some(Err(e))) => return Some(Got::Closed(1006, e.to_string())),
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    return Some(match v["type"].as_str() {
                        Some("next") => Got::Next(
                            v["id"].as_str().unwrap_or_default().to_owned(),
                            v["payload"].clone(),
                        ),
                        Some("complete") => {
                            Got::Complete(v["id"].as_str().unwrap_or_default().to_owned())
                        }
                        Some("ping") => {
                            self.send(json!({ "type": "pong" })).await;
                            continue;
                        }
                        _ => Got::Other(v),
                    });
                }
                Message::Close(frame) => {
                    return Some(Got::Closed(
                        frame.as_ref().map_or(1005, |f| u16::from(f.code)),
                        frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    ))
                }
                _ => continue,
            }
        }
    }

    /// The next `n` flow events of subscription `id` (panics on anything else).
    async fn events(&mut self, id: &str, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.next(Duration::from_secs(15)).await {
                Some(Got::Next(got, payload)) if got == id => {
                    assert!(payload.get("errors").is_none(), "{payload:#}");
                    out.push(payload["data"]["flowEvents"].clone());
                }
                other => panic!("after {} events: {other:?}", out.len()),
            }
        }
        out
    }

    /// Nothing arrives for `wait`.
    pub(crate) async fn silent(&mut self, wait: Duration) {
        if let Some(got) = self.next(wait).await {
            panic!("expected nothing, got {got:?}");
        }
    }
}

async fn demo(app: &TestApp, token: &str, rate: u32, seconds: u32) -> u64 {
    let data = app
        .ok(
            "mutation($r: Int!, $s: Int!) { startFlowDemo(rate: $r, seconds: $s) { events until } }",
            json!({ "r": rate, "s": seconds }),
            Some(token),
        )
        .await;
    data["startFlowDemo"]["events"].as_u64().unwrap()
}

fn sequence(event: &Value) -> u64 {
    event["data"]["sequence"].as_u64().unwrap()
}

fn id_key(event: &Value) -> (u64, u64) {
    let (ms, seq) = event["id"].as_str().unwrap().split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

#[tokio::test]
async fn events_arrive_in_order_and_resume_without_gap_or_duplicate() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let mut ws = Ws::connect(&app.address, &t.token).await;
    ws.subscribe("all", FLOW, json!({})).await;
    // Subscriptions start from "now": give the server a moment to open its reader.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total = demo(&app, &t.token, 300, 1).await;
    assert_eq!(total, 300);
    let events = ws.events("all", 300).await;
    // All three layers, in publication order, ids strictly increasing across streams.
    let seqs: Vec<u64> = events.iter().map(sequence).collect();
    assert_eq!(seqs, (0..300).collect::<Vec<_>>());
    assert!(events.windows(2).all(|w| id_key(&w[0]) < id_key(&w[1])));
    for layer in ["AAM", "DCL", "AGENT"] {
        assert_eq!(events.iter().filter(|e| e["layer"] == layer).count(), 100);
    }
    assert!(events.iter().all(|e| e["tenantId"] == t.tenant_id.as_str()));
    ws.silent(Duration::from_millis(500)).await;

    // Resume after the 120th event, on a new connection, with a layer filter too.
    let since = events[119]["id"].as_str().unwrap().to_owned();
    let mut again = Ws::connect(&app.address, &t.token).await;
    again.subscribe("rest", FLOW, json!({ "s": since })).await;
    let rest = again.events("rest", 180).await;
    assert_eq!(
        rest.iter().map(sequence).collect::<Vec<_>>(),
        (120..300).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    again.silent(Duration::from_millis(500)).await;
    let mut dcl = Ws::connect(&app.address, &t.token).await;
    dcl.subscribe("dcl", FLOW, json!({ "s": since, "l": ["DCL"] }))
        .await;
    let only = dcl.events("dcl", 60).await;
    assert!(only.iter().all(|e| e["layer"] == "DCL"));
    assert_eq!(
        sequence(&only[0]),
        121,
        "the first DCL event after #119 (layers take turns)"
    );

    // The snapshot: newest first, bounded.
    let snap = app
        .ok(
            "{ flowEventsSnapshot(first: 10) { id layer data } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let snap = snap["flowEventsSnapshot"].as_array().unwrap();
    assert_eq!(
        snap.iter().map(sequence).collect::<Vec<_>>(),
        (290..300).rev().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_tenant_never_receives_another_tenants_events() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    let mut wa = Ws::connect(&app.address, &a.token).await;
    let mut wb = Ws::connect(&app.address, &b.token).await;
    wa.subscribe("a", FLOW, json!({})).await;
    wb.subscribe("b", FLOW, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    demo(&app, &a.token, 100, 1).await;
    let got = wa.events("a", 100).await;
    assert!(got.iter().all(|e| e["tenantId"] == a.tenant_id.as_str()));
    wb.silent(Duration::from_secs(1)).await;
    // Resuming from A's ids does not reach A's stream either.
    let since = got[0]["id"].as_str().unwrap();
    let mut wb2 = Ws::connect(&app.address, &b.token).await;
    wb2.subscribe("b2", FLOW, json!({ "s": since })).await;
    wb2.silent(Duration::from_secs(1)).await;
    let snap = app
        .ok(
            "{ flowEventsSnapshot(first: 50) { id } }",
            json!({}),
            Some(&b.token),
        )
        .await;
    assert_eq!(snap["flowEventsSnapshot"], json!([]));
}

#[tokio::test]
async fn subscriptions_need_a_valid_token_and_demos_need_an_admin() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    // Subscribing before connection_init closes the socket (graphql-transport-ws 4401).
    let mut ws = Ws::open(&app.address, false).await;
    ws.subscribe("x", FLOW, json!({})).await;
    match ws.next(Duration::from_secs(10)).await {
        Some(Got::Closed(code, reason)) => {
            assert_eq!((code, reason.as_str()), (4401, "Unauthorized"))
        }
        other => panic!("expected a close, got {other:?}"),
    }
    // A forged token is refused at init, with the reason.
    let mut ws = Ws::open(&app.address, false).await;
    ws.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token.x" } }))
        .await;
    match ws.next(Duration::from_secs(10)).await {
        Some(Got::Closed(code, reason)) => {
            assert_eq!(code, 4403);
            assert_eq!(reason, "invalid token");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    // Viewers may watch but not start demos; bad arguments are named.
    let viewer = app.member(&t, "VIEWER").await;
    let body = app
        .gql(
            "mutation { startFlowDemo(rate: 10, seconds: 1) { events } }",
            json!({}),
            Some(&viewer),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .gql(
            "mutation { startFlowDemo(rate: 0, seconds: 1) { events } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let mut ws = Ws::connect(&app.address, &viewer).await;
    ws.subscribe("bad", FLOW, json!({ "s": "yesterday" })).await;
    match ws.next(Duration::from_secs(10)).await {
        Some(Got::Next(_, payload)) => {
            assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn two_server_processes_share_the_streams() {
    let one = spawn_app().await;
    let two = spawn_app().await;
    let t = one.sign_up().await;
    let mut ws = Ws::connect(&two.address, &t.token).await;
    ws.subscribe("s", FLOW, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    demo(&one, &t.token, 90, 1).await;
    let got = ws.events("s", 90).await;
    assert_eq!(
        got.iter().map(sequence).collect::<Vec<_>>(),
        (0..90).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_sync_run_is_followed_to_its_end_and_reviews_are_announced() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    // The review queue first: proposals that need a person, then a decision.
    let mut reviews = Ws::connect(&app.address, &t.token).await;
    reviews
        .subscribe(
            "q",
            "subscription { reviewQueueChanged { change reviewIds pending at } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let proposed = app
        .ok(
            "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { status reviewId } } }",
            json!({ "i": { "sourceSystem": "zoho", "sourceEntity": "contacts", "fields": [{ "name": "owner_name" }] } }),
            Some(&t.token),
        )
        .await;
    let p = &proposed["proposeMappings"]["proposals"][0];
    assert_eq!(p["status"], "NEEDS_REVIEW");
    let review = p["reviewId"].as_str().unwrap().to_owned();
    let added = match reviews.next(Duration::from_secs(10)).await {
        Some(Got::Next(_, v)) => v["data"]["reviewQueueChanged"].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(added["change"], "ADDED");
    assert_eq!(added["reviewIds"], json!([review]));
    assert_eq!(added["pending"], 1);
    app.ok(
        "mutation($id: ID!) { approveProposal(id: $id) { status } }",
        json!({ "id": review }),
        Some(&t.token),
    )
    .await;
    let decided = match reviews.next(Duration::from_secs(10)).await {
        Some(Got::Next(_, v)) => v["data"]["reviewQueueChanged"].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(decided["change"], "DECIDED");
    assert_eq!(decided["pending"], 0);

    // A sync run, followed from QUEUED or RUNNING to SUCCEEDED; the stream then completes.
    let rel = format!("t-{}", uuid::Uuid::now_v7().simple());
    let dir = app.files_of(&t).join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    let rows: String = (0..3000)
        .map(|i| format!("{i},Acme {i},acme{i}.test\n"))
        .collect();
    std::fs::write(
        dir.join("accounts.csv"),
        format!("id,Account Name,Website\n{rows}"),
    )
    .unwrap();
    let connector = app
        .create_connector(
            &t.token,
            "live-crm",
            "CSV",
            json!({ "path": format!("{rel}/accounts.csv"), "idColumn": "id" }),
        )
        .await;
    let mut aam = Ws::connect(&app.address, &t.token).await;
    aam.subscribe(
        "aam",
        "subscription($c: ID) { flowEvents(connectorId: $c) { layer kind status entityId data } }",
        json!({ "c": connector }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = app
        .ok(
            &format!(
                "mutation($id: ID!) {{ syncConnector(id: $id, wait: false) {{ {SYNC_RUN} }} }}"
            ),
            json!({ "id": connector }),
            Some(&t.token),
        )
        .await;
    let run = started["syncConnector"]["id"].as_str().unwrap().to_owned();
    let mut follow = Ws::connect(&app.address, &t.token).await;
    follow
        .subscribe(
            "run",
            "subscription($id: ID!) { syncRunUpdated(id: $id) { id status counts { recordsRead } } }",
            json!({ "id": run }),
        )
        .await;
    let mut statuses = Vec::new();
    loop {
        match follow.next(Duration::from_secs(30)).await {
            Some(Got::Next(_, v)) => {
                let r = &v["data"]["syncRunUpdated"];
                assert_eq!(r["id"], run.as_str(), "{v:#}");
                statuses.push(r["status"].as_str().unwrap().to_owned());
                if statuses.last().unwrap() == "SUCCEEDED" {
                    assert_eq!(r["counts"]["recordsRead"], 3000);
                }
            }
            Some(Got::Complete(id)) => {
                assert_eq!(id, "run");
                break;
            }
            other => panic!("{statuses:?} then {other:?}"),
        }
    }
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("SUCCEEDED"),
        "{statuses:?}"
    );
    // The AAM layer told the story of that connector: queued, running, batches, succeeded.
    let mut kinds = Vec::new();
    let mut others = Vec::new();
    while let Some(Got::Next(_, v)) = aam.next(Duration::from_secs(2)).await {
        let e = &v["data"]["flowEvents"];
        assert_eq!(e["data"]["connectorId"], connector.as_str());
        let (layer, kind, status) = (
            e["layer"].as_str().unwrap(),
            e["kind"].as_str().unwrap(),
            e["status"].as_str().unwrap(),
        );
        if layer == "AAM" {
            kinds.push(format!("{kind}:{status}"));
        } else {
            others.push(format!("{layer}:{kind}:{status}"));
        }
    }
    // The other layers spoke for their own parts: canonical events (DCL), the job (AGENT).
    assert!(
        others.iter().any(|k| k == "DCL:RECORDS_EMITTED:OK"),
        "{others:?}"
    );
    assert!(
        others.iter().any(|k| k == "AGENT:JOB_STATUS:CLAIMED"),
        "{others:?}"
    );
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("SYNC_RUN_STATUS:QUEUED"),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"SYNC_RUN_STATUS:RUNNING".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .filter(|k| k.starts_with("RECORDS_READ"))
            .count()
            >= 3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("SYNC_RUN_STATUS:SUCCEEDED"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_slow_subscriber_is_closed_with_a_reason_and_can_resume() {
    let app = spawn_app_with(|s| {
        s.telemetry.max_subscriber_lag_secs = 1;
        s.telemetry.read_count = 16;
    })
    .await;
    let t = app.sign_up().await;
    let mut ws = Ws::connect_with(&app.address, &t.token, true).await;
    ws.subscribe("slow", FLOW, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let total = demo(&app, &t.token, 5000, 4).await;
    // Read a little at a time while 20,000 events (megabytes) pile up behind us.
    let mut seen = 0u64;
    let mut last_id = String::new();
    let started = std::time::Instant::now();
    let (code, reason, error) = loop {
        if started.elapsed() < Duration::from_secs(6) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match ws.next(Duration::from_secs(30)).await {
            Some(Got::Next(_, v)) => {
                if let Some(errors) = v.get("errors") {
                    let code = errors[0]["extensions"]["code"].as_str().unwrap().to_owned();
                    // The close frame follows the error.
                    match ws.next(Duration::from_secs(30)).await {
                        Some(Got::Complete(_)) => match ws.next(Duration::from_secs(30)).await {
                            Some(Got::Closed(c, r)) => break (c, r, code),
                            other => panic!("{other:?}"),
                        },
                        Some(Got::Closed(c, r)) => break (c, r, code),
                        other => panic!("{other:?}"),
                    }
                }
                seen += 1;
                last_id = v["data"]["flowEvents"]["id"].as_str().unwrap().to_owned();
            }
            other => panic!("after {seen} events: {other:?}"),
        }
    };
    assert_eq!(error, "SLOW_CONSUMER");
    assert_eq!(code, 4008, "{reason}");
    assert!(reason.starts_with("slow consumer:"), "{reason}");
    assert!(
        reason.ends_with(&format!("since={last_id}")),
        "{reason} vs {last_id}"
    );
    assert!(seen < total, "closed before the end ({seen} of {total})");
    // The server stayed up, and the subscriber picks up where it was cut off.
    let mut again = Ws::connect(&app.address, &t.token).await;
    again
        .subscribe("resume", FLOW, json!({ "s": last_id }))
        .await;
    let next = again.events("resume", 1).await;
    assert_eq!(
        sequence(&next[0]),
        seen,
        "resumes right after the last event seen"
    );
}

/// Runs `tests/ws-client/subscribe.mjs` (the standard `graphql-ws` npm client) to completion.
fn standard_client(address: &str, token: &str, count: usize, query: &str) -> std::process::Child {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::process::Command::new("node")
        .arg(root.join("tests/ws-client/subscribe.mjs"))
        .arg(format!("{}/graphql", address.replace("http://", "ws://")))
        .arg(token)
        .arg(count.to_string())
        .arg(query)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node (tests/ws-client: run scripts/install-ws-client.sh)")
}

async fn lines_of(child: std::process::Child) -> (i32, Vec<Value>) {
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[tokio::test]
async fn the_standard_graphql_ws_client_subscribes_and_is_refused_a_bad_token() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let child = standard_client(
        &app.address,
        &t.token,
        30,
        "subscription { flowEvents(layers: [AAM, AGENT]) { id layer data } }",
    );
    // Until the client says it is connected, events would precede its subscription.
    tokio::time::sleep(Duration::from_secs(2)).await;
    demo(&app, &t.token, 45, 1).await;
    let (code, lines) = lines_of(child).await;
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(lines[0], json!({ "connected": true }));
    let events: Vec<&Value> = lines[1..]
        .iter()
        .map(|l| &l["data"]["flowEvents"])
        .collect();
    assert_eq!(events.len(), 30);
    assert!(events.iter().all(|e| e["layer"] != "DCL"));
    let seqs: Vec<u64> = events.iter().map(|e| sequence(e)).collect();
    assert_eq!(
        seqs,
        (0..45).filter(|n| n % 3 != 1).collect::<Vec<_>>(),
        "AAM and AGENT events in order"
    );

    let (code, lines) = lines_of(standard_client(
        &app.address,
        "forged.token.x",
        1,
        "subscription { flowEvents { id } }",
    ))
    .await;
    assert_eq!(code, 2, "{lines:#?}");
    let last = lines.last().unwrap();
    assert_eq!(last["closed"], 4403, "{lines:#?}");
    assert_eq!(last["reason"], "invalid token");
}

/// A Redis of the test's own (the shared one must stay up), on `port`.
fn own_redis(port: u16) -> std::process::Child {
    std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (installed by scripts/services.sh)")
}

async fn wait_for<F: Fn() -> bool>(what: &str, check: F) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn publishing_never_blocks_survives_a_redis_outage_and_counts_what_it_drops() {
    use autonomos::domains::telemetry::event::{Draft, Layer};
    use autonomos::domains::telemetry::publisher::Telemetry;
    let port = crate::helpers::free_port();
    let mut server = own_redis(port);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/0")).unwrap();
    let mut manager = None;
    for _ in 0..100 {
        if let Ok(m) = redis::aio::ConnectionManager::new(client.clone()).await {
            manager = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut settings = crate::helpers::settings().telemetry;
    settings.buffer = 100;
    settings.batch = 10;
    let telemetry = Telemetry::start(manager.unwrap(), &settings);
    let aam = telemetry.layer(Layer::Aam);
    let tenant = uuid::Uuid::now_v7();
    let event = |n: u64| Draft::new("TEST", "thing", n).data(json!({ "sequence": n }));
    for n in 0..10 {
        aam.publish(tenant, event(n));
    }
    wait_for("the first events", || telemetry.counters().published == 10).await;

    // Redis goes away: publishing still returns at once; the buffer bounds what is kept.
    server.kill().unwrap();
    server.wait().unwrap();
    let started = std::time::Instant::now();
    for n in 10..510 {
        aam.publish(tenant, event(n));
    }
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    wait_for("a failed append", || {
        telemetry.counters().failed_attempts >= 1
    })
    .await;
    let dropped = telemetry.counters().dropped;
    assert!((390..=500).contains(&dropped), "dropped {dropped}");

    // Back: what was kept is appended, in order, nothing twice.
    let mut server = own_redis(port);
    wait_for("the kept events", || {
        telemetry.counters().published == 10 + (500 - dropped)
    })
    .await;
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entries: redis::streams::StreamRangeReply =
        redis::AsyncCommands::xrange_all(&mut conn, Layer::Aam.stream(tenant))
            .await
            .unwrap();
    let seqs: Vec<u64> = entries
        .ids
        .iter()
        .map(|e| match e.map.get("e") {
            Some(redis::Value::BulkString(b)) => serde_json::from_slice::<Value>(b).unwrap()
                ["data"]["sequence"]
                .as_u64()
                .unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seqs.len() as u64, 500 - dropped);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, once each");
    assert_eq!(seqs[0], 10);
    server.kill().unwrap();
    let _ = server.wait();
}
