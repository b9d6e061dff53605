//! Automatic persisted queries: hash-only requests, registration, mismatches, and the gateway
//! (limits, idempotency) seeing the resolved document.
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

fn sha(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: &Value, token: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_hash_is_unknown_until_sent_with_its_query_then_runs_alone() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    // Unique per run: Redis outlives test runs.
    let query = format!(
        "query Me{} {{ me {{ email }} }}",
        uuid::Uuid::new_v4().simple()
    );
    let hash = sha(&query);
    let only_hash = json!({ "extensions": persisted(&hash) });
    let (status, body) = post(&app, &only_hash, &t.token).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    let (status, body) = post(
        &app,
        &json!({ "query": query, "extensions": persisted(&hash) }),
        &t.token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["me"]["email"], t.email);
    let (_, body) = post(&app, &only_hash, &t.token).await;
    assert_eq!(body["data"]["me"]["email"], t.email, "{body:#}");
    // Upper-case hex names the same document; another tenant may use it too.
    let other = app.sign_up().await;
    let (_, body) = post(
        &app,
        &json!({ "extensions": persisted(&hash.to_uppercase()) }),
        &other.token,
    )
    .await;
    assert_eq!(body["data"]["me"]["email"], other.email);
    // In a batch, beside a plain request.
    let batch = json!([{ "extensions": persisted(&hash) }, { "query": "{ me { role } }" }]);
    let (_, body) = post(&app, &batch, &t.token).await;
    assert_eq!(body[0]["data"]["me"]["email"], t.email, "{body:#}");
    assert_eq!(body[1]["data"]["me"]["role"], "ADMIN");
}

#[tokio::test]
async fn wrong_hashes_and_versions_are_refused() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let cases = [
        json!({ "query": "{ me { email } }", "extensions": persisted(&sha("{ me { role } }")) }),
        json!({ "query": "{ me { email } }", "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha("{ me { email } }") } } }),
        json!({ "extensions": persisted("abc") }),
        json!({ "extensions": { "persistedQuery": "x" } }),
    ];
    for case in cases {
        let (status, body) = post(&app, &case, &t.token).await;
        assert_eq!(status, 400, "{case} → {body}");
        assert_eq!(error_code(&body), "BAD_REQUEST", "{case}");
    }
    let (_, body) = post(
        &app,
        &json!({ "query": "{ me { email } }", "extensions": persisted(&sha("{ me { role } }")) }),
        &t.token,
    )
    .await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not match"));
}

#[tokio::test]
async fn a_hash_only_mutation_counts_as_a_write() {
    let app = spawn_app_with(|s| s.limits.writes_per_minute = 1).await;
    let t = app.sign_up().await;
    let query = format!(
        "mutation M{} {{ createMapping(input: {{sourceSystem: \"pq\", sourceEntity: \"e\", sourceField: \"f\", canonicalEntity: \"account\", canonicalField: \"name\"}}) {{ id }} }}",
        uuid::Uuid::new_v4().simple()
    );
    let hash = sha(&query);
    let (status, body) = post(
        &app,
        &json!({ "query": query, "extensions": persisted(&hash) }),
        &t.token,
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["data"]["createMapping"]["id"].is_string(), "{body:#}");
    let (status, body) = post(&app, &json!({ "extensions": persisted(&hash) }), &t.token).await;
    assert_eq!(status, 429, "the write budget applies: {body:#}");
    assert_eq!(error_code(&body), "RATE_LIMITED");
}
