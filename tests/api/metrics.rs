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
                       "fields": [{ "name": "annualrevenue" }, { "name": "zorblax_quux" }] } }),
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
    assert_eq!(
        value(&text, "autonomos_proposals_total{status=\"AUTO_APPLIED\"}"),
        1.0
    );
    assert!(
        text.contains("autonomos_proposals_total{status=\"UNMAPPED\"}")
            || text.contains("autonomos_proposals_total{status=\"NEEDS_REVIEW\"}")
    );
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
