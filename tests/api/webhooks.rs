//! Webhooks as a receiver sees them: signed per Standard Webhooks (checked with the reference
//! library), retried after a 500 with the same message id, logged, tested on demand, rotated,
//! disabled after failures in a row, and never sent to addresses the outbound policy refuses.
//! On the workers' database: its processes send the deliveries.
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::helpers::{error_code, project_root, TestApp};
use crate::workers::app_with;

/// What the receiver was sent.
#[derive(Clone, Debug)]
struct Received {
    headers: Value,
    body: String,
}

/// A local endpoint answering each request with the next scripted status (the last repeats).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(statuses: &[u16]) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(statuses.to_vec());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hooks",
            listener.local_addr().unwrap().port()
        );
        let shared = got.clone();
        let server = HttpServer::new(move || {
            let (got, script) = (shared.clone(), script.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (got, script) = (got.clone(), script.clone());
                async move {
                    let mut headers = serde_json::Map::new();
                    for (k, v) in req.headers() {
                        headers.insert(k.as_str().to_owned(), json!(v.to_str().unwrap_or("")));
                    }
                    let mut log = got.lock().unwrap();
                    log.push(Received {
                        headers: Value::Object(headers),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let n = (log.len() - 1).min(script.len() - 1);
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(script[n]).unwrap())
                        .finish()
                }
            }))
        })
        .listen(listener)
        .unwrap()
        .workers(1)
        .run();
        tokio::spawn(server);
        Self { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests came in (at most 20 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests came: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Verifies a request with the Standard Webhooks reference library (npm `standardwebhooks`).
fn verify(secret: &str, got: &Received) -> Value {
    let mut child = std::process::Command::new("node")
        .arg(project_root().join("tests/ws-client/verify-webhook.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node (tests/ws-client: run scripts/install-ws-client.sh)");
    let input = json!({ "secret": secret, "headers": got.headers, "body": got.body });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&out.stdout) }))
}

const CREATE: &str =
    "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
    secret endpoint { id url eventTypes enabled } } }";
const DELIVERIES: &str =
    "query($e: ID!) { webhookDeliveries(endpointId: $e) { totalCount edges { node {
    eventType messageId status attempts lastStatusCode lastError payload } } } }";

async fn create(app: &TestApp, token: &str, url: &str, events: Value) -> (String, String) {
    let made = app
        .ok(
            CREATE,
            json!({ "i": { "url": url, "eventTypes": events } }),
            Some(token),
        )
        .await["createWebhookEndpoint"]
        .clone();
    (
        made["endpoint"]["id"].as_str().unwrap().to_owned(),
        made["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, token: &str, endpoint: &str) -> Vec<Value> {
    app.ok(DELIVERIES, json!({ "e": endpoint }), Some(token))
        .await["webhookDeliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn synced_csv(app: &TestApp, t: &crate::helpers::TestTenant) -> Value {
    let dir = app.files_of(t).join("hooked");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("accounts.csv"), "id,Account Name\n1,Acme\n").unwrap();
    let connector = app
        .create_connector(
            &t.token,
            "hooked",
            "CSV",
            json!({ "path": "hooked/accounts.csv", "idColumn": "id" }),
        )
        .await;
    app.sync(&t.token, &connector).await
}

#[tokio::test]
async fn webhooks_arrive_signed_and_a_500_is_retried_with_the_same_message_id() {
    let receiver = Receiver::start(&[500, 200]);
    let app = app_with(100, |_| {}).await;
    let t = app.sign_up().await;
    let (endpoint, secret) = create(
        &app,
        &t.token,
        &receiver.url,
        json!(["SYNC_RUN_SUCCEEDED", "DRIFT_DETECTED"]),
    )
    .await;
    let run = synced_csv(&app, &t).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");

    let got = receiver.wait_for(2).await;
    assert_eq!(
        got[0].headers["webhook-id"], got[1].headers["webhook-id"],
        "one message, retried"
    );
    for attempt in &got {
        let checked = verify(&secret, attempt);
        assert_eq!(
            checked,
            json!({ "ok": true, "type": "sync_run.succeeded" }),
            "{attempt:#?}"
        );
        assert_eq!(attempt.headers["content-type"], "application/json");
    }
    let body: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(body["data"]["syncRunId"], run["id"]);
    assert_eq!(body["data"]["status"], "SUCCEEDED");
    // Anything changed in transit fails verification.
    let forged = Received {
        body: got[1].body.replace("SUCCEEDED", "FAILED"),
        ..got[1].clone()
    };
    assert_eq!(verify(&secret, &forged)["ok"], false);

    let log = deliveries(&app, &t.token, &endpoint).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(
        (
            &log[0]["status"],
            &log[0]["attempts"],
            &log[0]["lastStatusCode"],
            &log[0]["eventType"]
        ),
        (
            &json!("DELIVERED"),
            &json!(2),
            &json!(200),
            &json!("SYNC_RUN_SUCCEEDED")
        ),
        "{log:#?}"
    );

    // A test delivery now, signed; after rotation only the new secret verifies.
    let test = app
        .ok(
            "mutation($e: ID!) { sendTestWebhook(id: $e) { eventType status attempts } }",
            json!({ "e": endpoint }),
            Some(&t.token),
        )
        .await["sendTestWebhook"]
        .clone();
    assert_eq!(
        test,
        json!({ "eventType": "TEST", "status": "DELIVERED", "attempts": 1 })
    );
    assert_eq!(
        verify(&secret, &receiver.wait_for(3).await[2])["type"],
        "webhook.test"
    );
    let rotated = app
        .ok(
            "mutation($e: ID!) { rotateWebhookSecret(id: $e) }",
            json!({ "e": endpoint }),
            Some(&t.token),
        )
        .await["rotateWebhookSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, secret);
    app.ok(
        "mutation($e: ID!) { sendTestWebhook(id: $e) { status } }",
        json!({ "e": endpoint }),
        Some(&t.token),
    )
    .await;
    let last = receiver.wait_for(4).await[3].clone();
    assert_eq!(verify(&rotated, &last)["ok"], true);
    assert_eq!(verify(&secret, &last)["ok"], false);
}

#[tokio::test]
async fn an_endpoint_failing_in_a_row_is_disabled_and_can_be_enabled_again() {
    let receiver = Receiver::start(&[500]);
    // The test settings disable an endpoint after 3 failed attempts in a row (retries: 3).
    let app = app_with(100, |_| {}).await;
    let t = app.sign_up().await;
    let (endpoint, _) = create(&app, &t.token, &receiver.url, json!(["SYNC_RUN_SUCCEEDED"])).await;
    synced_csv(&app, &t).await;
    receiver.wait_for(3).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let shown = loop {
        let shown = app
            .ok(
                "query($e: ID!) { webhookEndpoint(id: $e) { enabled disabledReason consecutiveFailures } }",
                json!({ "e": endpoint }),
                Some(&t.token),
            )
            .await["webhookEndpoint"]
            .clone();
        if shown["enabled"] == false {
            break shown;
        }
        assert!(Instant::now() < deadline, "never disabled: {shown:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        shown["disabledReason"],
        "disabled after 3 failed attempts in a row"
    );
    let log = deliveries(&app, &t.token, &endpoint).await;
    assert_eq!(
        (&log[0]["status"], &log[0]["attempts"]),
        (&json!("FAILED"), &json!(3)),
        "{log:#?}"
    );
    assert_eq!(log[0]["lastStatusCode"], 500);
    // Nothing more is sent while disabled.
    let sent = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), sent);

    let enabled = app
        .ok(
            "mutation($e: ID!) { updateWebhookEndpoint(id: $e, input: { enabled: true }) { enabled disabledReason consecutiveFailures } }",
            json!({ "e": endpoint }),
            Some(&t.token),
        )
        .await["updateWebhookEndpoint"]
        .clone();
    assert_eq!(
        enabled,
        json!({ "enabled": true, "disabledReason": null, "consecutiveFailures": 0 })
    );
}

#[tokio::test]
async fn endpoints_are_validated_refused_where_the_outbound_policy_refuses_and_admin_only() {
    // No operator exception: loopback refused like any private address.
    let app = app_with(0, |s| s.outbound.allow = vec![]).await;
    let t = app.sign_up().await;
    let refused = [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://2130706433/hook",
        "ftp://example.com/hook",
        "not a url",
    ];
    for url in refused {
        let body = app
            .gql(
                CREATE,
                json!({ "i": { "url": url, "eventTypes": ["SYNC_RUN_FAILED"] } }),
                Some(&t.token),
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{url}: {body:#}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("url"),
            "{url}: {body:#}"
        );
    }
    let body = app
        .gql(
            CREATE,
            json!({ "i": { "url": "https://example.com/hook", "eventTypes": [] } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    let body = app
        .gql(
            CREATE,
            json!({ "i": { "url": "https://example.com/hook", "eventTypes": ["TEST"] } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "test messages are not subscribable: {body:#}"
    );
    let editor = app.member(&t, "EDITOR").await;
    let body = app
        .gql(CREATE, json!({ "i": { "url": "https://example.com/hook", "eventTypes": ["SYNC_RUN_FAILED"] } }), Some(&editor))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
    let body = app
        .gql("{ webhookEndpoints { id } }", json!({}), Some(&editor))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
}
