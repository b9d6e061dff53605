//! RAG-first proposals on the real model, pgvector and Redis.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app};

const PROPOSE: &str =
    "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals {
    sourceField canonicalEntity canonicalField confidence method status reason reviewId mappingId
    alternatives { canonicalEntity canonicalField confidence } } } }";

async fn propose(
    app: &crate::helpers::TestApp,
    token: &str,
    system: &str,
    entity: &str,
    fields: Value,
) -> Vec<Value> {
    let data = app
        .ok(
            PROPOSE,
            json!({ "i": { "sourceSystem": system, "sourceEntity": entity, "fields": fields } }),
            Some(token),
        )
        .await;
    data["proposeMappings"]["proposals"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_contract_example_is_auto_applied() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let p = propose(&app, &t.token, "hubspot", "companies",
        json!([{ "name": "annualrevenue", "dataType": "number", "description": null, "samples": ["1200000"] }])).await;
    let p = &p[0];
    assert_eq!(
        (p["canonicalEntity"].as_str(), p["canonicalField"].as_str()),
        (Some("account"), Some("annual_revenue"))
    );
    assert_eq!(
        (p["method"].as_str(), p["status"].as_str()),
        (Some("EXACT"), Some("AUTO_APPLIED"))
    );
    assert!(p["confidence"].as_f64().unwrap() >= 0.85);
    let mapping = app
        .ok("query($id: ID!) { mapping(id: $id) { isActive status method sourceSystem canonicalField } }", json!({ "id": p["mappingId"] }), Some(&t.token))
        .await;
    assert_eq!(
        mapping["mapping"],
        json!({ "isActive": true, "status": "ACTIVE", "method": "EXACT", "sourceSystem": "hubspot", "canonicalField": "annual_revenue" })
    );
    // Proposing again finds the active mapping.
    let again = propose(
        &app,
        &t.token,
        "hubspot",
        "companies",
        json!([{ "name": "annualrevenue" }]),
    )
    .await;
    assert_eq!(
        (again[0]["status"].as_str(), again[0]["mappingId"].as_str()),
        (Some("AUTO_APPLIED"), p["mappingId"].as_str())
    );
}

#[tokio::test]
async fn confidence_bands_route_fields() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let p = propose(
        &app,
        &t.token,
        "pipedrive",
        "persons",
        json!([
            { "name": "e-mail", "samples": ["ada@example.com"] },
            { "name": "owner_name" },
            { "name": "favourite_colour", "samples": ["teal"] },
        ]),
    )
    .await;
    let by = |name: &str| p.iter().find(|x| x["sourceField"] == name).unwrap().clone();
    let email = by("e-mail");
    assert_eq!(
        (
            email["status"].as_str(),
            email["canonicalEntity"].as_str(),
            email["canonicalField"].as_str()
        ),
        (Some("AUTO_APPLIED"), Some("contact"), Some("email"))
    );
    let owner = by("owner_name");
    assert_eq!(owner["status"], "NEEDS_REVIEW");
    let c = owner["confidence"].as_f64().unwrap();
    assert!((0.60..0.85).contains(&c), "review band: {c}");
    assert_eq!(owner["reason"], "REVIEW_BAND");
    let colour = by("favourite_colour");
    assert_eq!(
        (
            colour["status"].as_str(),
            colour["method"].as_str(),
            colour["reason"].as_str()
        ),
        (Some("UNMAPPED"), Some("NONE"), Some("NO_CANDIDATE"))
    );

    let queue = app
        .ok("{ reviewQueue { totalCount edges { node { id sourceField reason samples candidates { canonicalField } } } } }", json!({}), Some(&t.token))
        .await;
    assert_eq!(queue["reviewQueue"]["totalCount"], 2);
    let fields: Vec<_> = queue["reviewQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["sourceField"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["owner_name", "favourite_colour"]);
    // Proposing the same fields again refreshes the open items instead of duplicating them.
    propose(
        &app,
        &t.token,
        "pipedrive",
        "persons",
        json!([{ "name": "owner_name" }]),
    )
    .await;
    let queue = app
        .ok("{ reviewQueue { totalCount } }", json!({}), Some(&t.token))
        .await;
    assert_eq!(queue["reviewQueue"]["totalCount"], 2);
}

#[tokio::test]
async fn competing_fields_and_ties_go_to_review() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    // Two fields of one source claim the same single-valued target.
    let p = propose(
        &app,
        &t.token,
        "salesforce",
        "Account",
        json!([{ "name": "AnnualRevenue" }, { "name": "annual_revenue" }]),
    )
    .await;
    for x in &p {
        assert_eq!(
            (x["status"].as_str(), x["reason"].as_str()),
            (Some("NEEDS_REVIEW"), Some("CONFLICT")),
            "{x}"
        );
    }
    // One field, two equally good targets: without an entity hint `email` fits contact and lead.
    let p = propose(
        &app,
        &t.token,
        "mailer",
        "export",
        json!([{ "name": "email" }]),
    )
    .await;
    assert_eq!(p[0]["status"], "NEEDS_REVIEW", "{}", p[0]);
    assert!(!p[0]["alternatives"].as_array().unwrap().is_empty());
    // A field competing with an already mapped one.
    let p = propose(
        &app,
        &t.token,
        "hubspot",
        "companies",
        json!([{ "name": "domain" }]),
    )
    .await;
    assert_eq!(p[0]["status"], "AUTO_APPLIED");
    let p = propose(
        &app,
        &t.token,
        "hubspot",
        "companies",
        json!([{ "name": "website" }]),
    )
    .await;
    assert_eq!(
        (p[0]["status"].as_str(), p[0]["reason"].as_str()),
        (Some("NEEDS_REVIEW"), Some("CONFLICT"))
    );
}

#[tokio::test]
async fn review_decisions_are_recorded_and_learned() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let p = propose(&app, &t.token, "pipedrive", "persons", json!([{ "name": "owner_name" }, { "name": "favourite_colour" }, { "name": "nickname_xyz" }])).await;
    let review =
        |name: &str| p.iter().find(|x| x["sourceField"] == name).unwrap()["reviewId"].clone();

    let approved = app
        .ok("mutation($id: ID!) { approveProposal(id: $id) { status decidedBy decidedAt mappingId candidates { canonicalField } } }", json!({ "id": review("owner_name") }), Some(&t.token))
        .await["approveProposal"]
        .clone();
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["decidedBy"], t.user_id.as_str());
    assert!(approved["decidedAt"].is_string());
    let mapping = app
        .ok(
            "query($id: ID!) { mapping(id: $id) { isActive canonicalField } }",
            json!({ "id": approved["mappingId"] }),
            Some(&t.token),
        )
        .await;
    assert_eq!(mapping["mapping"]["isActive"], true);
    assert_eq!(
        mapping["mapping"]["canonicalField"],
        approved["candidates"][0]["canonicalField"]
    );

    let edited = app
        .ok(
            "mutation($id: ID!) { editProposal(id: $id, canonicalEntity: \"contact\", canonicalField: \"title\") { status mappingId } }",
            json!({ "id": review("favourite_colour") }),
            Some(&t.token),
        )
        .await["editProposal"]
        .clone();
    assert_eq!(edited["status"], "EDITED");
    let rejected = app
        .ok("mutation($id: ID!) { rejectProposal(id: $id, reason: \"not customer data\") { status } }", json!({ "id": review("nickname_xyz") }), Some(&t.token))
        .await;
    assert_eq!(rejected["rejectProposal"]["status"], "REJECTED");
    let twice = app
        .gql(
            "mutation($id: ID!) { approveProposal(id: $id) { status } }",
            json!({ "id": review("nickname_xyz") }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&twice), "CONFLICT");

    // Learning: the reviewed names are now confident hits from another system too.
    let next = propose(
        &app,
        &t.token,
        "zoho",
        "contacts",
        json!([{ "name": "owner_name" }, { "name": "favourite_colour" }]),
    )
    .await;
    for x in &next {
        assert_eq!(x["status"], "AUTO_APPLIED", "{x}");
        assert!(matches!(x["method"].as_str(), Some("EXACT" | "RAG")), "{x}");
    }
    assert_eq!(next[1]["canonicalField"], "title");
    let audit = app
        .ok(
            "{ auditLog(first: 50) { edges { node { action } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let actions = audit.to_string();
    for action in [
        "review.approve",
        "review.edit",
        "review.reject",
        "mapping.propose",
    ] {
        assert!(
            actions.contains(action),
            "{action} missing from the audit log"
        );
    }
}

#[tokio::test]
async fn vectors_and_learning_stay_inside_the_tenant() {
    let app = spawn_app().await;
    let a = app.sign_up().await;
    let b = app.sign_up().await;
    let p = propose(
        &app,
        &a.token,
        "pipedrive",
        "persons",
        json!([{ "name": "owner_name" }, { "name": "zorblax_quux_metric" }]),
    )
    .await;
    app.ok(
        "mutation($id: ID!) { approveProposal(id: $id) { status } }",
        json!({ "id": p[0]["reviewId"] }),
        Some(&a.token),
    )
    .await;

    // A learned it; B has not.
    let in_a = propose(
        &app,
        &a.token,
        "zoho",
        "contacts",
        json!([{ "name": "owner_name" }]),
    )
    .await;
    assert_eq!(in_a[0]["status"], "AUTO_APPLIED");
    let in_b = propose(
        &app,
        &b.token,
        "zoho",
        "contacts",
        json!([{ "name": "owner_name" }]),
    )
    .await;
    assert_eq!(
        in_b[0]["status"], "NEEDS_REVIEW",
        "B must not see A's approvals: {}",
        in_b[0]
    );

    let search =
        "query($q: String!) { semanticSearch(query: $q, first: 10) { kind sourceField baseline } }";
    let hits_a = app
        .ok(
            search,
            json!({ "q": "zorblax quux metric" }),
            Some(&a.token),
        )
        .await;
    assert!(hits_a["semanticSearch"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "SOURCE_FIELD" && h["sourceField"] == "zorblax_quux_metric"));
    let hits_b = app
        .ok(
            search,
            json!({ "q": "zorblax quux metric" }),
            Some(&b.token),
        )
        .await;
    for h in hits_b["semanticSearch"].as_array().unwrap() {
        assert!(
            h["kind"] == "CANONICAL_FIELD" && h["baseline"] == true,
            "B saw A's data: {h}"
        );
    }
}

#[tokio::test]
async fn semantic_search_answers_questions() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let hits = app
        .ok("{ semanticSearch(query: \"where do we keep customer revenue\", first: 5) { canonicalEntity canonicalField score } }", json!({}), Some(&t.token))
        .await;
    let top: Vec<_> = hits["semanticSearch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}.{}",
                h["canonicalEntity"].as_str().unwrap_or(""),
                h["canonicalField"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        top.iter().take(3).any(|t| t == "account.annual_revenue"),
        "{top:?}"
    );
}

#[tokio::test]
async fn bad_proposal_input_is_refused_or_cleaned() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let body = app.gql(PROPOSE, json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": [{ "name": "  " }] } }), Some(&t.token)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["extensions"]["problems"][0]["field"],
        "fields[0].name"
    );
    let body = app
        .gql(
            PROPOSE,
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": [] } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({ "name": format!("f{i}") }))
        .collect();
    let body = app
        .gql(
            PROPOSE,
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": many } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["extensions"]["problems"][0]["field"],
        "fields"
    );
    // NUL bytes (which PostgreSQL text cannot hold) are refused before anything runs, naming
    // where they are.
    let body = app
        .gql(
            PROPOSE,
            json!({ "i": { "sourceSystem": "x", "sourceEntity": "companies",
                           "fields": [{ "name": "industry", "samples": ["Soft\u{0}ware"] }] } }),
            Some(&t.token),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["extensions"]["problems"][0]["field"],
        "$i.fields[0].samples[0]"
    );
    // Bytes that are not UTF-8 never reach the resolver.
    let mut raw = br#"{"query":"mutation { proposeMappings(input: {sourceSystem: \"x\", sourceEntity: \"y\", fields: [{name: \"a\", samples: [\""#.to_vec();
    raw.extend_from_slice(&[0xff, 0xfe]);
    raw.extend_from_slice(br#"\"]}]}) { proposals { status } } }"}"#);
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");
    // Viewers cannot propose.
    let viewer = app.member(&t, "VIEWER").await;
    let body = app.gql(PROPOSE, json!({ "i": { "sourceSystem": "x", "sourceEntity": "y", "fields": [{ "name": "a" }] } }), Some(&viewer)).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn a_name_given_twice_is_one_source_field() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let p = propose(
        &app,
        &t.token,
        "hubspot",
        "companies",
        json!([{ "name": "Industry" }, { "name": "industry" }]),
    )
    .await;
    assert_eq!(p.len(), 2);
    assert_eq!(
        (p[0]["sourceField"].as_str(), p[1]["sourceField"].as_str()),
        (Some("Industry"), Some("industry"))
    );
    assert_eq!(p[0]["status"], "AUTO_APPLIED");
    assert_eq!(p[0]["mappingId"], p[1]["mappingId"]);
    let list = app
        .ok("{ mappings { totalCount } }", json!({}), Some(&t.token))
        .await;
    assert_eq!(list["mappings"]["totalCount"], 1);
}
