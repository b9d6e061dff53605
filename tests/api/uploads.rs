//! `PUT /uploads/{name}`: CSV files for a tenant's connectors, size-limited, kept whole or not
//! at all, and readable by no other tenant.
use std::io::{Read, Write};

use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app_with, TestApp};

const CSV: &str =
    "id,Account Name,Website\n1,Acme,acme.test\n2,Globex,globex.test\n3,Initech,initech.test\n";

async fn put(app: &TestApp, token: Option<&str>, name: &str, body: Vec<u8>) -> (u16, Value) {
    let mut req = app
        .client
        .put(format!("{}/uploads/{name}", app.address))
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// Sends `total` bytes chunked (no Content-Length) and returns the status line.
fn put_chunked(address: &str, token: &str, name: &str, total: usize) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    // The server stops reading once the limit is passed; a blocked write must give up.
    let limit = Some(std::time::Duration::from_secs(5));
    stream.set_write_timeout(limit).unwrap();
    stream.set_read_timeout(limit).unwrap();
    let head = format!(
        "PUT /uploads/{name} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        // The server may answer and close before everything is sent.
        if stream.write_all(&frame).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_uploaded_csv_feeds_a_connector_and_oversize_or_broken_uploads_change_nothing() {
    let app = spawn_app_with(|s| s.uploads.max_bytes = 1_000_000).await;
    let t = app.sign_up().await;
    let (status, body) = put(
        &app,
        Some(&t.token),
        "accounts.csv",
        CSV.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["path"], "uploads/accounts.csv");
    assert_eq!(body["bytes"], CSV.len());
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    let connector = app
        .create_connector(
            &t.token,
            "uploaded",
            "CSV",
            json!({ "path": "uploads/accounts.csv", "idColumn": "id" }),
        )
        .await;
    let run = app.sync(&t.token, &connector).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["eventsWritten"], 3);

    // Too large, declared up front or found out while streaming: refused, the old file kept.
    let (status, body) = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        put(&app, Some(&t.token), "accounts.csv", vec![b'x'; 2_000_000]),
    )
    .await
    .expect("a declared oversize upload is answered at once");
    assert_eq!(
        (status, error_code(&body).as_str()),
        (413, "PAYLOAD_TOO_LARGE")
    );
    let address = app.address.clone();
    let token = t.token.clone();
    let line = tokio::task::spawn_blocking(move || {
        put_chunked(&address, &token, "accounts.csv", 3_000_000)
    })
    .await
    .unwrap();
    assert!(line.contains(" 413 "), "{line}");
    let dir = autonomos::domains::connectors::kinds::csv::uploads_dir(
        &app.settings.sync.file_root,
        t.tenant_id.parse().unwrap(),
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("accounts.csv")).unwrap(),
        CSV
    );
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["accounts.csv"], "no partial files left behind");
    let run = app.sync(&t.token, &connector).await;
    assert_eq!(run["counts"]["eventsUnchanged"], 3, "{run:#}");

    // A new version replaces the file whole.
    let v2 = format!("{CSV}4,Umbrella,umbrella.test\n");
    assert_eq!(
        put(&app, Some(&t.token), "accounts.csv", v2.into_bytes())
            .await
            .0,
        201
    );
    assert_eq!(
        app.sync(&t.token, &connector).await["counts"]["eventsWritten"],
        1
    );
    let audit = app
        .ok(
            "{ auditLog(filter: { action: \"upload.put\" }) { totalCount } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert_eq!(audit["auditLog"]["totalCount"], 2);
}

#[tokio::test]
async fn uploads_need_an_editor_a_plain_csv_name_and_stay_with_their_tenant() {
    let app = spawn_app_with(|_| {}).await;
    let a = app.sign_up().await;
    assert_eq!(
        put(&app, Some(&a.token), "private.csv", CSV.as_bytes().to_vec())
            .await
            .0,
        201
    );
    let (status, body) = put(&app, None, "x.csv", b"a\n".to_vec()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "UNAUTHENTICATED")
    );
    let viewer = app.member(&a, "VIEWER").await;
    let (status, body) = put(&app, Some(&viewer), "x.csv", b"a\n".to_vec()).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "FORBIDDEN"));
    for name in ["x.txt", ".hidden.csv", "..%2Fescape.csv", "a%20b.csv"] {
        let (status, body) = put(&app, Some(&a.token), name, b"a\n".to_vec()).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (400, "BAD_REQUEST"),
            "{name}"
        );
    }

    // B cannot reach A's file by any path.
    let b = app.sign_up().await;
    let own = format!("tenants/{}/uploads/private.csv", a.tenant_id);
    let absolute = app.settings.sync.file_root.join(&own).display().to_string();
    let dotted = format!(
        "tenants/{}/uploads/../../{}/uploads/private.csv",
        b.tenant_id, a.tenant_id
    );
    for (i, path) in [own, absolute, dotted].into_iter().enumerate() {
        let connector = app
            .create_connector(
                &b.token,
                &format!("steal-{i}"),
                "CSV",
                json!({ "path": path, "idColumn": "id" }),
            )
            .await;
        let run = app.sync(&b.token, &connector).await;
        assert_eq!(run["status"], "FAILED", "{path}: {run:#}");
        assert_eq!(run["counts"]["recordsRead"], 0);
    }
    // `uploads/…` always means the caller's own area.
    let connector = app
        .create_connector(
            &b.token,
            "mine",
            "CSV",
            json!({ "path": "uploads/private.csv", "idColumn": "id" }),
        )
        .await;
    assert_eq!(
        app.sync(&b.token, &connector).await["counts"]["recordsRead"],
        0
    );
}

#[tokio::test]
async fn upload_refusals_carry_the_status_of_their_code() {
    // Each refusal an upload can meet, with the status the one error table gives its code.
    let app = spawn_app_with(|s| {
        s.limits.writes_per_minute = 3;
        s.uploads.max_bytes = 64;
    })
    .await;
    let t = app.sign_up().await;
    let viewer = app.member(&t, "VIEWER").await;
    let csv = b"id,name\n1,Acme\n".to_vec();
    // (token, file name, body, status, code)
    type Case<'a> = (Option<&'a str>, &'a str, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (None, "a.csv", csv.clone(), 401, "UNAUTHENTICATED"),
        (
            Some("not-a-token"),
            "a.csv",
            csv.clone(),
            401,
            "UNAUTHENTICATED",
        ),
        (Some(&viewer), "a.csv", csv.clone(), 403, "FORBIDDEN"),
        (Some(&t.token), "notes.txt", csv.clone(), 400, "BAD_REQUEST"),
        (
            Some(&t.token),
            "big.csv",
            vec![b'x'; 65],
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (Some(&t.token), "a.csv", csv.clone(), 201, ""),
        // The write budget of 3 a minute is spent by the invitation and the two uploads above.
        (Some(&t.token), "b.csv", csv.clone(), 429, "RATE_LIMITED"),
    ];
    for (token, name, body, status, code) in cases {
        let (got, body) = put(&app, token, name, body).await;
        assert_eq!(got, status, "{name}: {body}");
        if !code.is_empty() {
            assert_eq!(error_code(&body), code, "{name}");
            assert_eq!(
                autonomos::error::ErrorCode::ALL
                    .iter()
                    .find(|c| c.as_str() == code)
                    .map(|c| c.http_status()),
                Some(status),
                "{code} is answered with the status of the table"
            );
        }
    }
}
