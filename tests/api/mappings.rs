use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app};

const MAPPING: &str =
    "query($id: ID!) { mapping(id: $id) { id version status isActive canonicalField method
    activeVersion { version canonicalField }
    versions { version status isActive canonicalField rolledBackFrom approvedBy approvedAt } } }";

fn statuses(m: &Value) -> Vec<(i64, String, bool)> {
    m["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["status"].as_str().unwrap().to_owned(),
                v["isActive"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn s(status: &str) -> String {
    status.to_owned()
}

#[tokio::test]
async fn versions_approval_and_rollback() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    let id = app
        .create_mapping(&t.token, "company_name", "account", "name")
        .await;

    let m = app.ok(MAPPING, json!({ "id": id }), token).await["mapping"].clone();
    assert_eq!(
        (
            m["version"].as_i64(),
            m["status"].as_str(),
            m["method"].as_str()
        ),
        (Some(1), Some("PENDING"), Some("MANUAL"))
    );
    assert!(m["activeVersion"].is_null());

    let approve = "mutation($id: ID!) { approveMapping(id: $id) { version status isActive approvedBy approvedAt } }";
    let a = app.ok(approve, json!({ "id": id }), token).await["approveMapping"].clone();
    assert_eq!(
        (a["status"].as_str(), a["isActive"].as_bool()),
        (Some("ACTIVE"), Some(true))
    );
    assert_eq!(a["approvedBy"], t.user_id.as_str());
    assert!(a["approvedAt"].is_string());

    // Approving again is a conflict: nothing is pending.
    assert_eq!(
        error_code(&app.gql(approve, json!({ "id": id }), token).await),
        "CONFLICT"
    );

    // A new version is pending while version 1 stays in force.
    let update = "mutation($id: ID!, $f: String!) { updateMapping(id: $id, input: { canonicalEntity: \"account\", canonicalField: $f }) { version status activeVersion { version } } }";
    let u = app
        .ok(update, json!({ "id": id, "f": "description" }), token)
        .await["updateMapping"]
        .clone();
    assert_eq!(
        (u["version"].as_i64(), u["status"].as_str()),
        (Some(2), Some("PENDING"))
    );
    assert_eq!(u["activeVersion"]["version"], 1);

    app.ok(approve, json!({ "id": id }), token).await;
    let m = app.ok(MAPPING, json!({ "id": id }), token).await["mapping"].clone();
    assert_eq!(
        statuses(&m),
        [(1, s("SUPERSEDED"), false), (2, s("ACTIVE"), true)]
    );
    assert_eq!(m["canonicalField"], "description");

    // Roll back to version 1: a new version 3 with version 1's content, active at once.
    let rollback = "mutation($id: ID!, $v: Int!) { rollbackMapping(id: $id, toVersion: $v) { version status canonicalField activeVersion { version } } }";
    let r = app.ok(rollback, json!({ "id": id, "v": 1 }), token).await["rollbackMapping"].clone();
    assert_eq!(
        (
            r["version"].as_i64(),
            r["status"].as_str(),
            r["canonicalField"].as_str()
        ),
        (Some(3), Some("ACTIVE"), Some("name"))
    );
    let m = app.ok(MAPPING, json!({ "id": id }), token).await["mapping"].clone();
    assert_eq!(
        statuses(&m),
        [
            (1, s("SUPERSEDED"), false),
            (2, s("SUPERSEDED"), false),
            (3, s("ACTIVE"), true)
        ]
    );
    assert_eq!(m["versions"][2]["rolledBackFrom"], 1);

    // Rolling back to the active version, a missing one, or one never approved is refused.
    assert_eq!(
        error_code(&app.gql(rollback, json!({ "id": id, "v": 3 }), token).await),
        "CONFLICT"
    );
    assert_eq!(
        error_code(&app.gql(rollback, json!({ "id": id, "v": 9 }), token).await),
        "BAD_USER_INPUT"
    );
    app.ok(update, json!({ "id": id, "f": "industry" }), token)
        .await;
    assert_eq!(
        error_code(&app.gql(rollback, json!({ "id": id, "v": 4 }), token).await),
        "BAD_USER_INPUT"
    );
    // Rolling back while a version is pending supersedes the pending one.
    let r = app.ok(rollback, json!({ "id": id, "v": 2 }), token).await["rollbackMapping"].clone();
    assert_eq!(
        (r["version"].as_i64(), r["canonicalField"].as_str()),
        (Some(5), Some("description"))
    );
    let m = app.ok(MAPPING, json!({ "id": id }), token).await["mapping"].clone();
    assert_eq!(statuses(&m)[3], (4, s("SUPERSEDED"), false));
    assert_eq!(
        statuses(&m).iter().filter(|(_, _, active)| *active).count(),
        1
    );
}

#[tokio::test]
async fn mapping_inputs_are_checked() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    app.create_mapping(&t.token, "domain", "account", "website")
        .await;
    let create = "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }";
    let base = json!({ "sourceSystem": "hubspot", "sourceEntity": "companies", "sourceField": "x",
                       "canonicalEntity": "account", "canonicalField": "name" });
    let with = |patch: Value| {
        let mut v = base.clone();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        json!({ "i": v })
    };
    // The same source field twice (case-insensitively) is a conflict.
    let dup = app
        .gql(create, with(json!({ "sourceField": "DOMAIN" })), token)
        .await;
    assert_eq!(error_code(&dup), "CONFLICT");
    for (patch, field) in [
        (
            json!({ "canonicalField": "no_such_field" }),
            "canonicalField",
        ),
        (json!({ "canonicalEntity": "spaceship" }), "canonicalField"),
        (json!({ "confidence": 1.5 }), "confidence"),
        (json!({ "sourceField": "  " }), "sourceField"),
        (json!({ "mappingType": "TRANSFORMED" }), "transform"),
        (json!({ "transform": [1, 2] }), "transform"),
        (json!({ "sourceSystem": null }), "sourceSystem"),
        (
            json!({ "connectorId": "01900000-0000-7000-8000-000000000000", "sourceSystem": null }),
            "connectorId",
        ),
    ] {
        let body = app.gql(create, with(patch.clone()), token).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{patch}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{patch}"
        );
    }
}

#[tokio::test]
async fn mappings_are_listed_with_filters_and_cursors() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    let connector = app.create_csv_connector(&t.token, "crm-export").await;
    for (field, target) in [
        ("name", "name"),
        ("industry", "industry"),
        ("website", "website"),
        ("phone", "phone"),
    ] {
        app.create_mapping(&t.token, field, "account", target).await;
    }
    let via_connector = app
        .ok(
            "mutation($c: ID!) { createMapping(input: { connectorId: $c, sourceEntity: \"people\", sourceField: \"mail\", canonicalEntity: \"contact\", canonicalField: \"email\" }) { sourceSystem connectorId } }",
            json!({ "c": connector }),
            token,
        )
        .await;
    assert_eq!(via_connector["createMapping"]["sourceSystem"], "crm-export");

    let list = "query($f: MappingFilterInput, $first: Int, $after: String) { mappings(filter: $f, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { sourceField canonicalEntity } } } }";
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                list,
                json!({ "f": { "canonicalEntity": "account" }, "first": 3, "after": after }),
                token,
            )
            .await;
        let conn = &page["mappings"];
        assert_eq!(conn["totalCount"], 4);
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["sourceField"].as_str().unwrap().to_owned());
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["name", "industry", "website", "phone"]);

    let by_connector = app
        .ok(list, json!({ "f": { "connectorId": connector } }), token)
        .await;
    assert_eq!(by_connector["mappings"]["totalCount"], 1);
    let pending = app
        .ok(list, json!({ "f": { "status": "PENDING" } }), token)
        .await;
    assert_eq!(pending["mappings"]["totalCount"], 5);
    let active = app
        .ok(list, json!({ "f": { "status": "ACTIVE" } }), token)
        .await;
    assert_eq!(active["mappings"]["totalCount"], 0);
}
