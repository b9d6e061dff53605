//! A bounded fuzz run: thousands of malformed GraphQL documents and variables (byte flips,
//! truncations, duplications, deep nesting, fragment bombs, NUL bytes in literals and variables,
//! unknown operation names, wrong types, huge numbers, odd encodings) against
//! the real server. Nothing may answer 5xx, every error carries a code, and the server stays up.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::spawn_app;

const SEEDS: &[&str] = &[
    "{ me { id email role } tenant { name } }",
    "query($f: LineageFilter, $s: String) { lineageGrid(filter: $f, search: $s, first: 5) { totalCount edges { node { id } } } }",
    "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }",
    "mutation($i: ProposeMappingsInput!) { proposeMappings(input: $i) { proposals { status } } }",
    "query { connectors(first: 3) { edges { node { id name config } } } }",
    "query($id: ID!) { syncRun(id: $id) { status } }",
    "{ flowEventsSnapshot(first: 3) { id } }",
];

fn mutate(rng: &mut StdRng, doc: &str) -> String {
    let mut bytes = doc.as_bytes().to_vec();
    match rng.gen_range(0..10) {
        0 => {
            let at = rng.gen_range(0..bytes.len());
            bytes.truncate(at);
        }
        1 => {
            for _ in 0..rng.gen_range(1..6) {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] = b"{}()[]:$!@.\"\\ \n#,=&|"[rng.gen_range(0..20)];
            }
        }
        2 => {
            let at = rng.gen_range(0..bytes.len());
            let chunk: Vec<u8> = bytes[at..].iter().take(20).copied().collect();
            bytes.splice(at..at, chunk);
        }
        3 => return format!("{}{}{}", "{ me ".repeat(200), "{ id", "}".repeat(201)),
        4 => {
            return format!(
                "query {{ {} }}",
                "a: me { id } ".repeat(rng.gen_range(1..400))
            )
        }
        5 => return format!("{doc} fragment F on Query {{ ...F }}"),
        7 => return fragment_bomb(rng.gen_range(8..26)),
        8 => {
            // A NUL byte inside a string literal, escaped or raw.
            let nul = if rng.gen() { "\\u0000" } else { "\u{0}" };
            return format!("{{ lineageGrid(search: \"a{nul}b\", first: 1) {{ totalCount }} connector(id: \"x{nul}\") {{ id }} }}");
        }
        _ => {
            let at = rng.gen_range(0..bytes.len());
            bytes.insert(at, rng.gen());
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Each fragment spreads the next one twice: 2^levels fields once expanded, in under 1 KB of
/// text for 20 levels (at most 25).
pub fn fragment_bomb(levels: usize) -> String {
    let name = |i: usize| char::from(b'a' + i as u8);
    let mut doc = String::from("query{...a}");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment {} on QueryRoot{{...{n} ...{n} __typename}}",
            name(i),
            n = name(i + 1)
        ));
    }
    doc.push_str(&format!(
        "fragment {} on QueryRoot{{__typename}}",
        name(levels)
    ));
    doc
}

fn variables(rng: &mut StdRng) -> Value {
    let odd = [
        json!(null),
        json!(1e308),
        json!(-1),
        json!("x".repeat(5000)),
        json!([[[[[]]]]]),
        json!({ "and": [{ "or": [{ "not": { "column": "NOPE" } }] }] }),
        json!(true),
        json!("\u{0000}\u{FFFF}"),
    ];
    let pick = |rng: &mut StdRng| odd[rng.gen_range(0..odd.len())].clone();
    json!({ "i": pick(rng), "f": pick(rng), "s": pick(rng), "id": pick(rng) })
}

#[tokio::test]
async fn malformed_documents_and_variables_never_break_the_server() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let mut rng = StdRng::seed_from_u64(0x5eed_2026);
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..1500 {
        let seed = SEEDS[i % SEEDS.len()];
        let query = if i % 5 == 0 {
            seed.to_owned()
        } else {
            mutate(&mut rng, seed)
        };
        let body = if i % 13 == 0 {
            // Not even JSON of the right shape.
            Value::String(query.clone())
        } else if i % 17 == 0 {
            json!({ "query": query, "operationName": "NoSuchOperation" })
        } else {
            json!({ "query": query, "variables": variables(&mut rng) })
        };
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&t.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert!(status.as_u16() < 500, "#{i}: {status} for {body}");
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            for e in errors {
                let code = e["extensions"]["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("#{i}: an error without a code: {e}"));
                assert_ne!(code, "INTERNAL", "#{i}: {body}\n{e}");
                *codes.entry(code.to_owned()).or_default() += 1;
            }
        }
    }
    // Still up and answering.
    app.ok("{ me { id } }", json!({}), Some(&t.token)).await;
    assert!(codes.contains_key("GRAPHQL_PARSE_FAILED"), "{codes:?}");
    assert!(
        codes.contains_key("BAD_REQUEST") || codes.contains_key("GRAPHQL_VALIDATION_FAILED"),
        "{codes:?}"
    );
    // Fragment bombs are priced and refused; NUL bytes are refused as input errors.
    assert!(codes.contains_key("QUERY_TOO_COMPLEX"), "{codes:?}");
    assert!(codes.contains_key("BAD_USER_INPUT"), "{codes:?}");
}
