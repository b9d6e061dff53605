use serde_json::json;

use crate::helpers::{error_code, spawn_app};

const CREATE_CONNECTOR: &str =
    "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }";

fn connector(name: &str) -> serde_json::Value {
    json!({ "i": { "name": name, "kind": "CSV", "config": { "path": "/tmp/x.csv" } } })
}

#[tokio::test]
async fn viewers_read_but_cannot_write() {
    let app = spawn_app().await;
    let admin = app.sign_up().await;
    let viewer = app.member(&admin, "VIEWER").await;
    app.ok(
        "{ connectors { totalCount } mappings { totalCount } ontology { name } }",
        json!({}),
        Some(&viewer),
    )
    .await;
    let body = app
        .gql(CREATE_CONNECTOR, connector("viewer-made"), Some(&viewer))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .gql(
            "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }",
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "sourceField": "z", "canonicalEntity": "account", "canonicalField": "name" } }),
            Some(&viewer),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn editors_write_data_but_do_not_administer() {
    let app = spawn_app().await;
    let admin = app.sign_up().await;
    let editor = app.member(&admin, "EDITOR").await;
    let id = app.create_csv_connector(&editor, "editor-made").await;
    for (query, vars) in [
        ("mutation($id: ID!) { deleteConnector(id: $id) { id } }", json!({ "id": id })),
        ("mutation { inviteUser(input: { email: \"x@example.com\", role: ADMIN }) { inviteToken } }", json!({})),
        ("mutation { createApiKey(input: { name: \"k\", role: ADMIN }) { secret } }", json!({})),
        ("{ auditLog { totalCount } }", json!({})),
    ] {
        let body = app.gql(query, vars, Some(&editor)).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{query}");
    }
    app.ok(
        "mutation($id: ID!) { deleteConnector(id: $id) { id } }",
        json!({ "id": id }),
        Some(&admin.token),
    )
    .await;
}

#[tokio::test]
async fn role_changes_apply_to_new_tokens() {
    let app = spawn_app().await;
    let admin = app.sign_up().await;
    let viewer_token = app.member(&admin, "VIEWER").await;
    let me = app
        .ok("{ me { id } }", json!({}), Some(&viewer_token))
        .await;
    let changed = app
        .ok(
            "mutation($id: ID!) { changeUserRole(userId: $id, role: EDITOR) { role } }",
            json!({ "id": me["me"]["id"] }),
            Some(&admin.token),
        )
        .await;
    assert_eq!(changed["changeUserRole"]["role"], "EDITOR");
}
