use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_reports_both_services() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "status": "ok", "postgres": "ok", "redis": "ok", "version": env!("CARGO_PKG_VERSION") })
    );
}

#[tokio::test]
async fn browsers_get_graphiql() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("graphiql.min.js"));
    // Offline browsers see what is going on instead of a bare "Loading...".
    assert!(page.contains("cannot reach unpkg.com"));
}

async fn ws_init(address: &str, payload: serde_json::Value) -> Option<serde_json::Value> {
    let url = format!("{}/graphql", address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": payload })
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .unwrap();
    match reply {
        Some(Ok(Message::Text(text))) => Some(serde_json::from_str(&text).unwrap()),
        Some(Ok(Message::Close(frame))) => Some(
            json!({ "closed": frame.as_ref().map(|f| u16::from(f.code)), "reason": frame.map(|f| f.reason.to_string()) }),
        ),
        other => panic!("unexpected websocket reply {other:?}"),
    }
}

#[tokio::test]
async fn websocket_accepts_a_token_in_connection_init() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let ack = ws_init(
        &app.address,
        json!({ "authorization": format!("Bearer {}", t.token) }),
    )
    .await
    .unwrap();
    assert_eq!(ack["type"], "connection_ack");
}

#[tokio::test]
async fn websocket_refuses_bad_or_missing_tokens() {
    let app = spawn_app().await;
    // graphql-transport-ws: a refused connection_init closes with 4403 Forbidden and the reason.
    for (payload, reason) in [
        (
            json!({ "authorization": "Bearer forged.token.here" }),
            "invalid token",
        ),
        (json!({}), "authentication required"),
    ] {
        let reply = ws_init(&app.address, payload.clone()).await.unwrap();
        assert_eq!(reply["closed"], 4403, "{payload}: {reply}");
        assert_eq!(reply["reason"], reason, "{payload}: {reply}");
    }
}
