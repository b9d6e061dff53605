//! Backend selection. The whole proposal suite runs against Qdrant with
//! `just test-qdrant <grpc-url>`; here, what must hold without a Qdrant server.
use autonomos::config::VectorBackend;
use autonomos::startup::Application;

use crate::helpers::settings;

#[tokio::test]
async fn an_unreachable_qdrant_stops_startup_with_a_clear_error() {
    let mut settings = settings();
    settings.vectors.backend = VectorBackend::Qdrant;
    // Port 9 (discard) is closed on loopback: connecting fails at once.
    settings.vectors.qdrant.url = "http://127.0.0.1:9".into();
    settings.vectors.qdrant.timeout_ms = 2_000;
    let err = match Application::build(settings).await {
        Ok(_) => panic!("the app started without its configured vector store"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("vector store (Qdrant)"), "{err}");
    assert!(err.contains("qdrant"), "{err}");
}
