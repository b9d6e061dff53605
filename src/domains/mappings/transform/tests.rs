use serde_json::json;

use super::*;

fn run(steps: Value, input: &str) -> Result<Option<String>, String> {
    Transform::parse(&json!({ "steps": steps }))
        .unwrap()
        .apply(input)
}

fn refused(raw: Value) -> TransformProblem {
    Transform::parse(&raw).unwrap_err()
}

#[test]
fn each_step_does_what_it_says() {
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (json!([{ "op": "trim" }]), "  Acme  ", Some("Acme")),
        (
            json!([{ "op": "case", "to": "upper" }]),
            "acme",
            Some("ACME"),
        ),
        (
            json!([{ "op": "case", "to": "title" }]),
            "jOHN smith",
            Some("John Smith"),
        ),
        (
            json!([{ "op": "valueMap", "map": { "Hot": "HIGH" }, "default": "LOW" }]),
            "hot",
            Some("HIGH"),
        ),
        (
            json!([{ "op": "valueMap", "map": { "Hot": "HIGH" }, "default": "LOW" }]),
            "Cold",
            Some("LOW"),
        ),
        (
            json!([{ "op": "valueMap", "map": { "Hot": "HIGH" } }]),
            "Cold",
            Some("Cold"),
        ),
        (
            json!([{ "op": "valueMap", "map": { "Hot": "HIGH" }, "caseInsensitive": false }]),
            "hot",
            Some("hot"),
        ),
        (
            json!([{ "op": "scale", "factor": 0.01 }]),
            "1999",
            Some("19.99"),
        ),
        (
            json!([{ "op": "scale", "factor": 0.000001 }]),
            "2500000",
            Some("2.5"),
        ),
        (
            json!([{ "op": "date", "formats": ["%d/%m/%Y"] }]),
            "31/12/2024",
            Some("2024-12-31"),
        ),
        (
            json!([{ "op": "date", "formats": ["%d/%m/%Y %H:%M"], "timezone": "+02:00" }]),
            "31/12/2024 10:00",
            Some("2024-12-31T08:00:00+00:00"),
        ),
        (
            json!([{ "op": "epoch", "unit": "s" }]),
            "1700000000",
            Some("2023-11-14T22:13:20+00:00"),
        ),
        (
            json!([{ "op": "epoch", "unit": "ms" }]),
            "1700000000000",
            Some("2023-11-14T22:13:20+00:00"),
        ),
        (
            json!([{ "op": "regex", "pattern": "^(\\w+)@", "group": 1 }]),
            "ann@acme.test",
            Some("ann"),
        ),
        (json!([{ "op": "regex", "pattern": "^\\d+$" }]), "n/a", None),
        (
            json!([{ "op": "split", "separator": " ", "index": 0 }]),
            "Ann Lee",
            Some("Ann"),
        ),
        (
            json!([{ "op": "split", "separator": " ", "index": -1 }]),
            "Ann Marie Lee",
            Some("Lee"),
        ),
        (
            json!([{ "op": "split", "separator": " ", "index": 3 }]),
            "Ann Lee",
            None,
        ),
        (
            json!([{ "op": "replace", "from": "-", "to": "" }]),
            "555-0100",
            Some("5550100"),
        ),
        (
            json!([{ "op": "trim" }, { "op": "default", "value": "unknown" }]),
            "   ",
            Some("unknown"),
        ),
        (
            json!([{ "op": "regex", "pattern": "x" }, { "op": "default", "value": "none" }]),
            "abc",
            Some("none"),
        ),
    ];
    for (steps, input, want) in cases {
        assert_eq!(
            run(steps.clone(), input),
            Ok(want.map(str::to_owned)),
            "{steps} on {input:?}"
        );
    }
}

#[test]
fn values_a_step_cannot_read_are_errors_with_a_reason() {
    let e = run(json!([{ "op": "scale", "factor": 100 }]), "twelve").unwrap_err();
    assert!(e.contains("not a number"), "{e}");
    let e = run(
        json!([{ "op": "date", "formats": ["%Y-%m-%d"] }]),
        "12/31/2024",
    )
    .unwrap_err();
    assert!(e.contains("matches none"), "{e}");
    assert!(run(json!([{ "op": "epoch", "unit": "s" }]), "soon").is_err());
}

#[test]
fn bad_transforms_are_refused_with_the_path_of_the_problem() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "steps": [{ "op": "trim" }, { "op": "regex", "pattern": "(" }] }),
            "steps[1].pattern",
        ),
        (
            json!({ "steps": [{ "op": "regex", "pattern": "a", "group": 2 }] }),
            "steps[0].group",
        ),
        (
            json!({ "steps": [{ "op": "date", "formats": ["%Q"] }] }),
            "steps[0].formats",
        ),
        (
            json!({ "steps": [{ "op": "date", "formats": ["%Y"], "timezone": "Mars/Base" }] }),
            "steps[0].timezone",
        ),
        (
            json!({ "steps": [{ "op": "scale", "factor": 0 }] }),
            "steps[0].factor",
        ),
        (
            json!({ "steps": [{ "op": "split", "separator": "", "index": 0 }] }),
            "steps[0].separator",
        ),
        (json!({ "steps": [{ "op": "teleport" }] }), "steps[0].op"),
        (
            json!({ "steps": [{ "op": "case", "to": "sideways" }] }),
            "steps[0].to",
        ),
        (
            json!({ "steps": [{ "op": "trim", "extra": 1 }] }),
            "steps[0].extra",
        ),
        (json!({ "steps": [] }), "steps"),
        (json!({ "stages": [] }), "stages"),
    ];
    for (raw, path) in cases {
        let p = refused(raw.clone());
        assert_eq!(p.path, path, "{raw}: {}", p.reason);
        assert!(!p.reason.is_empty());
    }
}

#[test]
fn concat_joins_other_fields_of_the_record() {
    let t = Transform::parse(&json!({ "steps": [
        { "op": "concat", "fields": ["Last Name", "Suffix"] }, { "op": "case", "to": "title" } ] }))
    .unwrap();
    let record = vec![
        ("first name".to_owned(), "ada".to_owned()),
        ("last name".to_owned(), " LOVELACE ".to_owned()),
        ("Suffix".to_owned(), String::new()),
    ];
    assert_eq!(t.apply_in("ada", &record), Ok(Some("Ada Lovelace".into())));
    assert_eq!(
        t.apply_in("", &record),
        Ok(Some("Lovelace".into())),
        "an empty part is left out"
    );
    assert_eq!(t.apply_in("", &[]), Ok(None));
    let dashed = Transform::parse(
        &json!({ "steps": [{ "op": "concat", "fields": ["b"], "separator": "-" }] }),
    )
    .unwrap();
    assert_eq!(
        dashed.apply_in("a", &[("b".into(), "c".into())]),
        Ok(Some("a-c".into()))
    );
    assert_eq!(
        refused(json!({ "steps": [{ "op": "concat", "fields": [] }] })).path,
        "steps[0].fields"
    );
}

#[test]
fn dates_read_in_an_iana_zone_keep_daylight_saving() {
    let berlin =
        json!([{ "op": "date", "formats": ["%d.%m.%Y %H:%M"], "timezone": "Europe/Berlin" }]);
    // Winter (UTC+1) and summer (UTC+2).
    assert_eq!(
        run(berlin.clone(), "15.01.2026 09:30"),
        Ok(Some("2026-01-15T08:30:00+00:00".into()))
    );
    assert_eq!(
        run(berlin.clone(), "15.07.2026 09:30"),
        Ok(Some("2026-07-15T07:30:00+00:00".into()))
    );
    // 02:30 on the last Sunday of March does not exist in Berlin.
    assert!(run(berlin, "29.03.2026 02:30")
        .unwrap_err()
        .contains("daylight-saving gap"));
    let ny =
        json!([{ "op": "date", "formats": ["%Y-%m-%d %H:%M"], "timezone": "America/New_York" }]);
    assert_eq!(
        run(ny, "2026-11-29 12:00"),
        Ok(Some("2026-11-29T17:00:00+00:00".into()))
    );
}
