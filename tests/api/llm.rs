//! The optional LLM step against a fake OpenAI-compatible server on loopback.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::helpers::spawn_app_with;

/// Answers like a chat-completion API; counts the questions it gets.
async fn fake_llm() -> (String, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().route(
            "/v1/chat/completions",
            web::post().to(move |body: web::Json<Value>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let question = body["messages"][1]["content"].as_str().unwrap_or("").to_owned();
                    let content = if question.contains("zorblax") {
                        json!({ "entity": "account", "field": "industry", "confidence": 0.97 }).to_string()
                    } else if question.contains("badfield") {
                        json!({ "entity": "account", "field": "warp_drive", "confidence": 0.99 }).to_string()
                    } else {
                        "this is not JSON".to_owned()
                    };
                    HttpResponse::Ok().json(json!({ "choices": [{ "message": { "role": "assistant", "content": content } }] }))
                }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}/v1"), asked)
}

#[tokio::test]
async fn the_llm_places_what_evidence_cannot_and_a_person_confirms_it() {
    let (url, asked) = fake_llm().await;
    let app = spawn_app_with(|s| {
        s.proposals.llm.provider = "openai_compatible".into();
        s.proposals.llm.base_url = url;
        s.proposals.llm.model = "fake-model".into();
    })
    .await;
    let t = app.sign_up().await;
    let data = app
        .ok(
            "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { sourceField canonicalField confidence method status reason reviewId } } }",
            json!({ "i": { "sourceSystem": "hubspot", "sourceEntity": "companies", "fields": [
                { "name": "annualrevenue" }, { "name": "zorblax_segment" }, { "name": "badfield_xyz" }, { "name": "garbage_qq" } ] } }),
            Some(&t.token),
        )
        .await;
    let p = data["proposeMappings"]["proposals"].as_array().unwrap();
    // Evidence settled the first field: the LLM is only asked about the other three.
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    assert_eq!(
        (p[0]["method"].as_str(), p[0]["status"].as_str()),
        (Some("EXACT"), Some("AUTO_APPLIED"))
    );
    // A valid answer becomes the proposal, capped below auto-apply: a person confirms it.
    assert_eq!(
        (p[1]["canonicalField"].as_str(), p[1]["method"].as_str()),
        (Some("industry"), Some("LLM"))
    );
    assert_eq!(
        (p[1]["status"].as_str(), p[1]["reason"].as_str()),
        (Some("NEEDS_REVIEW"), Some("REVIEW_BAND"))
    );
    assert!((p[1]["confidence"].as_f64().unwrap() - 0.84).abs() < 1e-9);
    // A field outside the canonical model, or no JSON at all, is ignored.
    for x in &p[2..] {
        assert_eq!(
            (x["status"].as_str(), x["method"].as_str()),
            (Some("UNMAPPED"), Some("NONE")),
            "{x}"
        );
    }
    let review = app
        .ok("mutation($id: ID!) { approveProposal(id: $id) { status mappingId candidates { method } } }", json!({ "id": p[1]["reviewId"] }), Some(&t.token))
        .await;
    assert_eq!(review["approveProposal"]["status"], "APPROVED");
    let mapping = app
        .ok(
            "query($id: ID!) { mapping(id: $id) { method isActive } }",
            json!({ "id": review["approveProposal"]["mappingId"] }),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        mapping["mapping"],
        json!({ "method": "LLM", "isActive": true })
    );
}

#[tokio::test]
async fn an_unreachable_llm_never_fails_a_proposal() {
    let app = spawn_app_with(|s| {
        s.proposals.llm.provider = "openai_compatible".into();
        s.proposals.llm.base_url = "http://127.0.0.1:9/v1".into();
        s.proposals.llm.model = "fake-model".into();
        s.proposals.llm.timeout_ms = 500;
    })
    .await;
    let t = app.sign_up().await;
    let data = app
        .ok(
            "mutation { proposeMappings(input: { sourceSystem: \"x\", sourceEntity: \"companies\", fields: [{ name: \"zorblax_segment\" }] }) { proposals { status } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert_eq!(
        data["proposeMappings"]["proposals"][0]["status"],
        "UNMAPPED"
    );
}
