//! The reporting UI in real headless Chromium (frontend/tests/journey.mjs, playwright-core with
//! Debian's /usr/bin/chromium) against the real server serving the built UI at `/`.
use crate::helpers::{project_root, spawn_app_with};

#[tokio::test]
async fn a_new_user_does_the_whole_journey_in_a_real_browser() {
    let frontend = project_root().join("frontend");
    let dist = frontend.join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "the UI is not built: `just ui` (part of `just test`) builds it"
    );
    let app = spawn_app_with(|s| s.server.frontend_dir = dist.clone()).await;
    // A CSV with fields that map on their own and two that need a person, and two rows alike
    // enough by name for the match review queue.
    // The journey uploads it into the workspace it signs up for.
    let dir = std::env::temp_dir().join(format!("ui-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("accounts.csv"),
        "id,Account Name,Website,Annual Revenue,owner_name,favourite_colour\n\
         1,Acme,acme.test,1200000,Ada Lovelace,teal\n\
         2,Globex,globex.test,3400000,Grace Hopper,amber\n\
         3,Initech,initech.test,560000,Alan Turing,grey\n\
         4,\"Acme, Inc.\",,990000,Ada Lovelace,teal\n",
    )
    .unwrap();
    let shots = frontend.join("test-results");
    let address = app.address.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&frontend)
            .arg("tests/journey.mjs")
            .arg(&address)
            .arg(dir.join("accounts.csv"))
            .arg(&shots)
            .output()
            .expect("node")
    })
    .await
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert!(log.contains("journey: ok"), "{log}");
    for page in [
        "01-sign-up",
        "02-connectors",
        "03-review-queue",
        "04-lineage-grid",
        "05-tree",
        "06-graph",
        "07-flow-monitor",
        "08-metrics-dark",
        "09-error-state",
        "10-records",
        "11-record",
        "12-match-review",
        "13-transform-editor",
    ] {
        assert!(
            project_root()
                .join(format!("frontend/test-results/{page}.png"))
                .is_file(),
            "{page}"
        );
    }
}
