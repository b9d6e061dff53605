//! OpenTelemetry export: the real server binary, pointed at a local OTLP/HTTP collector, sends
//! its request spans there under the caller's `traceparent`, and names the same trace id in
//! `x-trace-id`.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::project_root;

type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A collector that keeps every POST (path, content type, body).
fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let keep = keep.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let keep = keep.clone();
            async move {
                let kind = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                keep.lock()
                    .unwrap()
                    .push((req.path().to_owned(), kind, body.to_vec()));
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (address, received)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn request_spans_reach_the_collector_under_the_callers_trace() {
    let (endpoint, received) = collector();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autonomos"))
        .arg("serve")
        .current_dir(project_root())
        .env("AUTONOMOS_ENV", "test")
        .env("AUTONOMOS__OTEL__ENDPOINT", &endpoint)
        .env("AUTONOMOS__OTEL__SERVICE_NAME", "autonomos-otel-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("serving on ") {
                let rest = &line[at + "serving on ".len()..];
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server exited before serving");
    })
    .await
    .expect("the server did not start");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let client = reqwest::Client::new();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = client
        .post(format!("{address}/graphql"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-trace-id"], trace);
    // Without a traceparent the server starts a trace, and says which.
    let resp = client
        .post(format!("{address}/graphql"))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let own = resp.headers()["x-trace-id"].to_str().unwrap().to_owned();
    assert_eq!(own.len(), 32);
    assert_ne!(own, trace);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let bodies: Vec<(String, String, Vec<u8>)> = received.lock().unwrap().clone();
        let all: Vec<u8> = bodies.iter().flat_map(|b| b.2.clone()).collect();
        let both = contains(&all, &hex_bytes(trace)) && contains(&all, &hex_bytes(&own));
        if both {
            for (path, kind, _) in &bodies {
                assert_eq!(path, "/v1/traces");
                assert_eq!(kind, "application/x-protobuf");
            }
            assert!(contains(&all, b"autonomos-otel-test"), "service name");
            assert!(contains(&all, b"/graphql"), "the request span");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans not exported: {} posts",
            bodies.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().await.unwrap();
}
