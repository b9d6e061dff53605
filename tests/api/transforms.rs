//! Mapping transforms: checked when saved (the path of a problem named), applied by the pipeline
//! to every value before it is coerced, a value a step cannot read kept as a value error.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app};

const CREATE: &str = "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }";

fn mapping(patch: Value) -> Value {
    let mut m = json!({ "sourceSystem": "hubspot", "sourceEntity": "deals", "sourceField": "amount_cents",
                        "canonicalEntity": "opportunity", "canonicalField": "amount",
                        "mappingType": "TRANSFORMED" });
    for (k, v) in patch.as_object().unwrap() {
        m[k] = v.clone();
    }
    json!({ "i": m })
}

#[tokio::test]
async fn bad_transforms_are_refused_naming_the_path_of_the_problem() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    let cases = [
        (
            json!({ "transform": { "steps": [{ "op": "trim" }, { "op": "regex", "pattern": "(" }] } }),
            "transform.steps[1].pattern",
        ),
        (
            json!({ "transform": { "steps": [{ "op": "scale", "factor": 0 }] } }),
            "transform.steps[0].factor",
        ),
        (
            json!({ "transform": { "steps": [{ "op": "date", "formats": ["%d/%m/%Y"], "timezone": "Moon/Base" }] } }),
            "transform.steps[0].timezone",
        ),
        (
            json!({ "transform": { "steps": [{ "op": "eval", "code": "rm -rf /" }] } }),
            "transform.steps[0].op",
        ),
        (json!({ "transform": { "steps": [] } }), "transform.steps"),
        (
            json!({ "mappingType": "DIRECT", "transform": { "steps": [{ "op": "trim" }] } }),
            "mappingType",
        ),
    ];
    for (patch, field) in cases {
        let body = app.gql(CREATE, mapping(patch.clone()), token).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{patch}: {body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"], field,
            "{patch}: {body:#}"
        );
    }
    // A good one is saved with its mapping, and an update is checked the same way.
    let id = app
        .ok(
            CREATE,
            mapping(json!({ "transform": { "steps": [{ "op": "scale", "factor": 0.01 }] } })),
            token,
        )
        .await["createMapping"]["id"]
        .clone();
    let update =
        "mutation($id: ID!, $i: UpdateMappingInput!) { updateMapping(id: $id, input: $i) { id } }";
    let body = app
        .gql(
            update,
            json!({ "id": id, "i": { "canonicalEntity": "opportunity", "canonicalField": "amount",
                    "mappingType": "TRANSFORMED", "transform": { "steps": [{ "op": "split", "separator": "", "index": 0 }] } } }),
            token,
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["problems"][0]["field"], "transform.steps[0].separator",
        "{body:#}"
    );
}

const DEALS: &str = "id,Deal,Amount Cents,Stage Code,Closed,Owner\n\
1,  big DEAL ,1999900,cw,31/12/2024,Ada\n\
2,small,abc,zz,2024-13-45,\n";

#[tokio::test]
async fn the_pipeline_applies_transforms_and_keeps_what_they_cannot_read() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let token = Some(t.token.as_str());
    let rel = format!("t-{}", uuid::Uuid::now_v7().simple());
    let dir = app.files_of(&t).join(&rel);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("deals.csv"), DEALS).unwrap();
    let connector = app
        .create_connector(
            &t.token,
            "deals-export",
            "CSV",
            json!({ "path": format!("{rel}/deals.csv"), "entity": "deals", "idColumn": "id" }),
        )
        .await;
    for (source, field, steps) in [
        (
            "Deal",
            "name",
            json!([{ "op": "trim" }, { "op": "case", "to": "title" }]),
        ),
        (
            "Amount Cents",
            "amount",
            json!([{ "op": "scale", "factor": 0.01 }]),
        ),
        (
            "Stage Code",
            "stage",
            json!([{ "op": "valueMap", "map": { "cw": "Closed Won", "cl": "Closed Lost" }, "default": "Open" }]),
        ),
        (
            "Closed",
            "close_date",
            json!([{ "op": "date", "formats": ["%d/%m/%Y"] }]),
        ),
        // Computed from two source fields of the record.
        (
            "Owner",
            "description",
            json!([{ "op": "concat", "fields": ["Deal"], "separator": " on " }]),
        ),
    ] {
        let id = app
            .ok(
                CREATE,
                json!({ "i": { "connectorId": connector, "sourceEntity": "deals", "sourceField": source,
                               "canonicalEntity": "opportunity", "canonicalField": field,
                               "mappingType": "TRANSFORMED", "transform": { "steps": steps } } }),
                token,
            )
            .await["createMapping"]["id"]
            .clone();
        app.ok(
            "mutation($id: ID!) { approveMapping(id: $id) { id } }",
            json!({ "id": id }),
            token,
        )
        .await;
    }
    let run = app.sync(&t.token, &connector).await;
    assert_eq!(run["counts"]["recordsRead"], 2, "{run:#}");
    let events = app
        .ok(
            "query($c: ID!) { canonicalEvents(filter: { connectorId: $c, entity: \"opportunity\" }, first: 10) {
                edges { node { source { recordId } data errors { field sourceField value reason } } } } }",
            json!({ "c": connector }),
            token,
        )
        .await["canonicalEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect::<Vec<_>>();
    let of = |id: &str| {
        events
            .iter()
            .find(|e| e["source"]["recordId"] == id)
            .unwrap_or_else(|| panic!("no event for {id} in {events:#?}"))
            .clone()
    };
    let big = of("1");
    assert_eq!(big["data"]["name"], "Big Deal", "{big:#}");
    assert_eq!(big["data"]["amount"], 19999.0, "{big:#}");
    assert_eq!(big["data"]["stage"], "Closed Won", "{big:#}");
    assert_eq!(big["data"]["close_date"], "2024-12-31", "{big:#}");
    assert_eq!(big["data"]["description"], "Ada on big DEAL", "{big:#}");
    assert_eq!(big["errors"], json!([]), "{big:#}");

    let small = of("2");
    assert_eq!(
        small["data"]["stage"], "Open",
        "unknown codes take the default"
    );
    let errors = small["errors"].as_array().unwrap();
    let reason = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no {field} error in {small:#}"))["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason("amount").starts_with("transform:"), "{small:#}");
    assert!(reason("close_date").contains("matches none"), "{small:#}");
    assert!(small["data"].get("amount").is_none());
    assert_eq!(run["counts"]["valueErrors"], 2, "{run:#}");

    // The same transforms previewed on the connector's samples, before anything is saved.
    let preview = app
        .ok(
            "query($c: ID!, $t: JSON) { previewTransform(input: { connectorId: $c, sourceEntity: \"deals\",
                sourceField: \"amount cents\", canonicalEntity: \"opportunity\", canonicalField: \"amount\",
                transform: $t }) { before after error } }",
            json!({ "c": connector, "t": { "steps": [{ "op": "scale", "factor": 0.01 }] } }),
            token,
        )
        .await["previewTransform"]
        .clone();
    let rows = preview.as_array().unwrap();
    let row = |before: &str| {
        rows.iter()
            .find(|r| r["before"] == before)
            .unwrap_or_else(|| panic!("no sample {before} in {preview:#}"))
            .clone()
    };
    assert_eq!(row("1999900")["after"], 19999.0, "{preview:#}");
    assert!(row("abc")["error"]
        .as_str()
        .unwrap()
        .starts_with("transform:"));
    let refused = app
        .gql(
            "query($c: ID!) { previewTransform(input: { connectorId: $c, sourceEntity: \"deals\",
                sourceField: \"Closed\", canonicalEntity: \"opportunity\", canonicalField: \"close_date\",
                transform: { steps: [{ op: \"date\", formats: [] }] } }) { before } }",
            json!({ "c": connector }),
            token,
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["problems"][0]["field"], "transform.steps[0].formats",
        "{refused:#}"
    );
}
