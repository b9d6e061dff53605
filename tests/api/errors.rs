//! Bad input of every kind gets a typed error with a stable code, and nothing is written.
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn malformed_documents_and_bodies() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());

    let parse = app.gql("{ me { email ", json!({}), token).await;
    assert_eq!(error_code(&parse), "GRAPHQL_PARSE_FAILED");
    let unknown_field = app.gql("{ me { shoeSize } }", json!({}), token).await;
    assert_eq!(error_code(&unknown_field), "GRAPHQL_VALIDATION_FAILED");
    let wrong_type = app
        .gql(
            "query($n: Int) { connectors(first: $n) { totalCount } }",
            json!({ "n": "many" }),
            token,
        )
        .await;
    assert_eq!(error_code(&wrong_type), "GRAPHQL_VALIDATION_FAILED");
    let bad_enum = app
        .gql(
            "mutation { createApiKey(input: { name: \"k\", role: OVERLORD }) { secret } }",
            json!({}),
            token,
        )
        .await;
    assert_eq!(error_code(&bad_enum), "GRAPHQL_VALIDATION_FAILED");

    for (body, status, code) in [
        ("not json".to_owned(), 400, "BAD_REQUEST"),
        ("{\"query\": 42}".to_owned(), 400, "BAD_REQUEST"),
        ("[]".to_owned(), 400, "BAD_REQUEST"),
    ] {
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{body}");
        let json: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(error_code(&json), code, "{body}");
    }
}

#[tokio::test]
async fn oversize_payloads_are_refused_whole() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = app
        .post_raw(
            json!({ "query": "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
                    "variables": { "i": { "name": huge, "kind": "CSV", "config": { "path": "a.csv" } } } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    let count = app
        .ok("{ connectors { totalCount } }", json!({}), Some(&t.token))
        .await;
    assert_eq!(count["connectors"]["totalCount"], 0);
}

#[tokio::test]
async fn deep_and_expensive_queries_are_refused() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }";
    assert_eq!(
        error_code(&app.gql(deep, json!({}), Some(&t.token)).await),
        "QUERY_TOO_COMPLEX"
    );
    let costly = "{ a: mappings(first: 100) { edges { node { versions { version status canonicalField canonicalEntity method confidence note } } } }
                    b: mappings(first: 100) { edges { node { versions { version status canonicalField canonicalEntity method confidence note } } } } }";
    assert_eq!(
        error_code(&app.gql(costly, json!({}), Some(&t.token)).await),
        "QUERY_TOO_COMPLEX"
    );
}

#[tokio::test]
async fn bad_arguments_name_the_argument() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    for (query, field) in [
        ("{ connector(id: \"not-a-uuid\") { id } }", "id"),
        ("{ connectors(first: 1000) { totalCount } }", "first"),
        ("{ connectors(first: 0) { totalCount } }", "first"),
        (
            "{ mappings(after: \"bm90LWEtY3Vyc29y\") { totalCount } }",
            "after",
        ),
    ] {
        let body = app.gql(query, json!({}), token).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{query}"
        );
    }
    let missing = app
        .gql(
            "{ connector(id: \"01900000-0000-7000-8000-000000000000\") { id } }",
            json!({}),
            token,
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
}

#[tokio::test]
async fn connector_configs_are_validated_per_kind_and_secrets_hidden() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    let create = "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id name kind status config } }";
    for (kind, config, field) in [
        ("CSV", json!({}), "config"),
        (
            "CSV",
            json!({ "path": "a.csv", "delimiter": "::" }),
            "config.delimiter",
        ),
        (
            "REST",
            json!({ "baseUrl": "not a url", "entities": [{ "name": "c", "endpoint": "/c" }] }),
            "config.baseUrl",
        ),
        (
            "REST",
            json!({ "baseUrl": "https://api.example.com", "entities": [{ "name": "c", "endpoint": "/c", "pagination": { "type": "cursor" } }] }),
            "config.entities[0].pagination",
        ),
        (
            "POSTGRES",
            json!({ "host": "db", "database": "crm", "user": "u", "sslMode": "sometimes" }),
            "config.sslMode",
        ),
        ("POSTGRES", "just a string".into(), "config"),
    ] {
        let body = app
            .gql(
                create,
                json!({ "i": { "name": "c", "kind": kind, "config": config } }),
                token,
            )
            .await;
        assert_eq!(
            error_code(&body),
            "BAD_USER_INPUT",
            "{kind} {config}: {body:#}"
        );
        let got = body["errors"][0]["extensions"]["problems"][0]["field"]
            .as_str()
            .unwrap();
        assert!(got.starts_with(field), "{kind} {config}: {got}");
    }
    let rest = json!({
        "baseUrl": "https://api.hubapi.example",
        "auth": { "type": "bearer", "token": "pat-na1-secret" },
        "entities": [{ "name": "companies", "endpoint": "/crm/v3/objects/companies", "recordsPath": "results",
                        "pagination": { "type": "cursor", "cursorParam": "after", "cursorPath": "paging.next.after", "limit": 100 } }],
        "rateLimit": { "requestsPerSecond": 10, "burst": 20 }
    });
    let made = app
        .ok(
            create,
            json!({ "i": { "name": "HubSpot", "kind": "REST", "config": rest } }),
            token,
        )
        .await;
    let c = &made["createConnector"];
    assert_eq!(c["status"], "ACTIVE");
    assert_eq!(c["config"]["auth"]["token"], "********");
    assert_eq!(
        c["config"]["retry"]["maxAttempts"], 5,
        "defaults are filled in"
    );
    let dup = app
        .gql(
            create,
            json!({ "i": { "name": "hubspot", "kind": "REST", "config": rest } }),
            token,
        )
        .await;
    assert_eq!(error_code(&dup), "CONFLICT");
    let listed = app
        .ok(
            "{ connectors(filter: { kind: REST }) { edges { node { config } } } }",
            json!({}),
            token,
        )
        .await;
    assert!(!listed.to_string().contains("pat-na1-secret"));
}
