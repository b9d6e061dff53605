//! `/metrics`: Prometheus text with request latency per operation, proposal outcomes (the RAG
//! hit rate), WebSocket connections, telemetry and rate-limit counters.
use serde_json::json;

use crate::helpers::spawn_app;

async fn scrape(app: &crate::helpers::TestApp) -> String {
    let resp = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    resp.text().await.unwrap()
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_operations_proposals_and_connections() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    for _ in 0..3 {
        app.ok("query Me { me { id } }", json!({}), Some(&t.token))
            .await;
    }
    app.ok(
        "mutation Propose($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { status } } }",
        json!({ "i": { "sourceSystem": "hubspot", "sourceEntity": "companies",
                       "fields": [{ "name": "annualrevenue" }, { "name": "zorblax_quux" }, { "name": "cust ref code" }] } }),
        Some(&t.token),
    )
    .await;
    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            "autonomos_graphql_request_seconds_count{kind=\"query\",operation=\"Me\",outcome=\"ok\"}"
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            "autonomos_graphql_request_seconds_count{kind=\"mutation\",operation=\"Propose\",outcome=\"ok\"}"
        ),
        1.0
    );
    // Per outcome and method: the RAG hit rate and the LLM share are ratios of these.
    let proposals: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("autonomos_proposals_total{"))
        .collect();
    let total = |status: &str| -> f64 {
        proposals
            .iter()
            .filter(|l| l.contains(&format!("status=\"{status}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(total("AUTO_APPLIED"), 1.0, "{proposals:#?}");
    assert_eq!(
        total("AUTO_APPLIED") + total("NEEDS_REVIEW") + total("UNMAPPED"),
        3.0
    );
    for line in &proposals {
        assert!(
            ["EXACT", "RAG", "LLM", "NONE"]
                .iter()
                .any(|m| line.contains(&format!("method=\"{m}\""))),
            "{line}"
        );
    }
    // The review queue across tenants holds at least this tenant's pending reviews.
    let pending = app
        .ok(
            "{ reviewQueue(status: PENDING) { totalCount } }",
            json!({}),
            Some(&t.token),
        )
        .await["reviewQueue"]["totalCount"]
        .as_f64()
        .unwrap();
    assert!(pending >= 1.0);
    assert!(value(&text, "autonomos_review_queue_pending") >= pending);
    assert_eq!(value(&text, "autonomos_websocket_connections"), 0.0);
    // Published telemetry shows up (the proposal call published DCL events).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let text = scrape(&app).await;
    assert!(
        value(
            &text,
            "autonomos_telemetry_events_total{outcome=\"published\"}"
        ) >= 1.0
    );
    // Client-chosen operation names cannot grow the series without bound.
    app.ok(
        "query Bad_Name_Over_Sixty_Four_Characters_Long_Is_Invalid_xxxxxxxxxxxxxxx { me { id } }",
        json!({}),
        Some(&t.token),
    )
    .await;
    assert!(scrape(&app).await.contains("operation=\"invalid\""));
}

/// A series' value, 0 when it is not there yet.
fn maybe(text: &str, series: &str) -> f64 {
    if text.lines().any(|l| l.starts_with(series)) {
        value(text, series)
    } else {
        0.0
    }
}

#[tokio::test]
async fn open_subscriptions_are_counted_by_field_until_they_close() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let mut ws = crate::telemetry::Ws::connect(&app.address, &t.token).await;
    ws.subscribe("1", "subscription { flowEvents { id } }", json!({}))
        .await;
    ws.subscribe(
        "2",
        "subscription { reviewQueueChanged { pending } }",
        json!({}),
    )
    .await;
    let series = |field: &str| format!("autonomos_subscriptions_active{{field=\"{field}\"}}");
    let mut counted = false;
    for _ in 0..50 {
        let text = scrape(&app).await;
        if maybe(&text, &series("flowEvents")) == 1.0
            && maybe(&text, &series("reviewQueueChanged")) == 1.0
        {
            assert_eq!(value(&text, "autonomos_websocket_connections"), 1.0);
            counted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(counted, "{}", scrape(&app).await);
    drop(ws);
    for _ in 0..50 {
        let text = scrape(&app).await;
        if value(&text, &series("flowEvents")) == 0.0
            && value(&text, &series("reviewQueueChanged")) == 0.0
            && value(&text, "autonomos_websocket_connections") == 0.0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "subscriptions still counted after the socket closed: {}",
        scrape(&app).await
    );
}
