//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws), driven here rather
//! than by an actor so that sending waits for the socket: a slow client stops the reads behind
//! it instead of filling an unbounded outgoing buffer. Subscriptions can close the connection
//! with a code and reason (see `telemetry::live::ConnectionControl`).
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::Data;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;

use super::document::DocumentLimits;
use super::middleware::charge;
use super::ws_protocol::{SharedGuard, Verdict};
use super::{limits, request};
use crate::domains::auth::model::{Authentication, Principal};
use crate::domains::auth::scope::RequestMeta;
use crate::domains::auth::service::{self as auth, AuthService};
use crate::domains::telemetry::live::ConnectionControl;
use crate::graphql::context::RequestContext;
use crate::graphql::schema::AppSchema;
use crate::state::AppState;

/// Client messages waiting for the protocol handler; more waits in the socket.
const INCOMING_QUEUE: usize = 16;
/// Largest client message (subscriptions are small documents).
const MAX_FRAME_BYTES: usize = 256 * 1024;
/// A client that takes nothing for this long is cut off: its socket buffers are full and a
/// close frame could not reach it either.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The token travels in `connection_init` (`{"authorization": "Bearer …"}` or `{"token": "…"}`);
/// a bad one closes the socket with the reason.
pub async fn ws(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
    auth_service: web::Data<AuthService>,
) -> actix_web::Result<HttpResponse> {
    let protocol = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|p| {
            p.split(',')
                .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
        })
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let (mut response, session, messages) = actix_ws::handle(&req, payload)?;
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let meta = request::meta(&req, request::trace_id(&req));
    actix_web::rt::spawn(serve(
        schema.get_ref().clone(),
        state.get_ref().clone(),
        auth_service.into_inner(),
        meta,
        protocol,
        session,
        messages,
    ));
    Ok(response)
}

/// Who the socket was opened by, once `connection_init` has been accepted: the credential is
/// checked again every `auth.recheck_secs`.
#[derive(Clone)]
struct Opened {
    credential: String,
    principal: Principal,
    /// When the credential stops being valid (a session token's `exp`).
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

type OpenedCell = Arc<Mutex<Option<Opened>>>;

fn opened(cell: &OpenedCell) -> Option<Opened> {
    cell.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// When the socket's credential expires (read without copying it: asked at every message).
fn expires_at(cell: &OpenedCell) -> Option<chrono::DateTime<chrono::Utc>> {
    cell.lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|o| o.expires_at)
}

async fn serve(
    schema: AppSchema,
    state: AppState,
    auth_service: Arc<AuthService>,
    meta: RequestMeta,
    protocol: WebSocketProtocols,
    mut session: actix_ws::Session,
    messages: actix_ws::MessageStream,
) {
    let (control, mut close_requests) = ConnectionControl::new();
    let cell: OpenedCell = Arc::default();
    // graphql-transport-ws only: the legacy protocol keeps the handler's own behaviour.
    let guard = SharedGuard::for_transport_ws(protocol == WebSocketProtocols::GraphQLWS);
    let gauge = state.metrics.websocket_connections.clone();
    gauge.inc();
    let (incoming_tx, incoming_rx) = mpsc::channel::<Vec<u8>>(INCOMING_QUEUE);
    // Frames in: text and binary to the protocol handler once the gateway's checks pass (cost,
    // bad text, rate limits, as over HTTP); pings answered; close ends it.
    let reader = {
        let mut session = session.clone();
        let mut messages = messages.max_frame_size(MAX_FRAME_BYTES);
        let (state, cell, guard, control) =
            (state.clone(), cell.clone(), guard.clone(), control.clone());
        actix_web::rt::spawn(async move {
            while let Some(Ok(msg)) = messages.next().await {
                let frame = match &msg {
                    Message::Text(t) => Some(t.as_bytes().to_vec()),
                    Message::Binary(b) => Some(b.to_vec()),
                    _ => None,
                };
                if let Some(frame) = &frame {
                    if let Verdict::Close(code, reason) = guard.client(frame) {
                        control.close(code, reason);
                        break;
                    }
                    if let Some(refusal) = gate(&state, &cell, protocol, frame).await {
                        if session.text(refusal).await.is_err() {
                            break;
                        }
                        continue;
                    }
                }
                let delivered = match msg {
                    Message::Text(t) => incoming_tx.send(t.as_bytes().to_vec()).await.is_ok(),
                    Message::Binary(b) => incoming_tx.send(b.to_vec()).await.is_ok(),
                    Message::Ping(p) => session.pong(&p).await.is_ok(),
                    Message::Close(_) => false,
                    _ => true,
                };
                if !delivered {
                    break;
                }
            }
        })
    };
    let mut data = Data::default();
    data.insert(control);
    let incoming = tokio_stream_from(incoming_rx);
    let recheck_every = std::time::Duration::from_secs(state.settings.auth.recheck_secs.max(1));
    let init_auth = auth_service.clone();
    let init_cell = cell.clone();
    let mut protocol_stream = WebSocket::new(schema, incoming, protocol)
        .connection_data(data)
        .on_connection_init(move |init| on_init(init_auth, init_cell, meta, init))
        .boxed();
    let mut recheck = tokio::time::interval(recheck_every);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let init_timeout = tokio::time::sleep(std::time::Duration::from_millis(
        state.settings.graphql.ws_init_timeout_ms,
    ));
    tokio::pin!(init_timeout);
    let mut init_waited = !guard.waits_for_init();
    let close = loop {
        let expiry = expires_at(&cell).map(until);
        tokio::select! {
            // First: a close asked for by the reader (a protocol breach) or a subscription
            // ends the reader's input too, and must win over the handler's plain end.
            biased;
            Some((code, reason)) = close_requests.recv() => break Some((code, reason)),
            _ = recheck.tick() => {
                if let Some(reason) = lost_access(&auth_service, &cell).await {
                    break Some((4403, reason));
                }
            }
            () = &mut init_timeout, if !init_waited => {
                init_waited = true;
                if !guard.acknowledged() {
                    break Some((4408, "Connection initialisation timeout".to_owned()));
                }
            }
            () = tokio::time::sleep(expiry.unwrap_or_default()), if expiry.is_some() => {
                break Some((4403, "the token expired".to_owned()));
            }
            out = protocol_stream.next() => match out {
                Some(WsMessage::Text(text)) => {
                    if !guard.server(&text) {
                        continue;
                    }
                    // Waits while the client is slow: backpressure, not buffering.
                    match tokio::time::timeout(SEND_TIMEOUT, session.text(text)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => {
                            tracing::warn!("websocket client took nothing for {SEND_TIMEOUT:?}; dropping it");
                            break None;
                        }
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // A refused `connection_init` is Forbidden in graphql-transport-ws.
                    break Some((if guard.init_refused() { 4403 } else { code }, reason));
                }
                None => break Some((1000, String::new())),
            },
        }
    };
    reader.abort();
    gauge.dec();
    if let Some((code, reason)) = close {
        let _ = session
            .close(Some(CloseReason {
                code: CloseCode::from(code),
                description: Some(reason),
            }))
            .await;
    }
}

/// How long until `at` (zero when it has passed).
fn until(at: chrono::DateTime<chrono::Utc>) -> std::time::Duration {
    (at - chrono::Utc::now()).to_std().unwrap_or_default()
}

fn tokio_stream_from(
    mut rx: mpsc::Receiver<Vec<u8>>,
) -> impl futures_util::Stream<Item = Vec<u8>> + Send + Unpin + 'static {
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// Why an open socket may no longer be used: its token expired, its API key was revoked, its
/// user was disabled, removed, demoted or signed out everywhere.
async fn lost_access(auth_service: &AuthService, cell: &OpenedCell) -> Option<String> {
    let opened = opened(cell)?;
    match auth::authenticate(auth_service, Some(&opened.credential), None).await {
        Authentication::Authenticated(now) if same_principal(&now, &opened.principal) => None,
        Authentication::Authenticated(_) => {
            Some("access changed; reconnect to continue with the new access".into())
        }
        Authentication::Rejected(reason) => Some(reason),
        Authentication::Anonymous => Some("authentication required".into()),
    }
}

fn same_principal(a: &Principal, b: &Principal) -> bool {
    a.tenant_id == b.tenant_id && a.actor == b.actor && a.role == b.role
}

/// The gateway's checks for one client message that starts an operation: `Some(reply)` when it
/// must not run (the reply is the protocol's error message for its id).
async fn gate(
    state: &AppState,
    cell: &OpenedCell,
    protocol: WebSocketProtocols,
    frame: &[u8],
) -> Option<String> {
    let message: serde_json::Value = serde_json::from_slice(frame).ok()?;
    if !matches!(message["type"].as_str(), Some("subscribe" | "start")) {
        return None;
    }
    let id = message["id"].clone();
    // A payload that is not a request is the protocol handler's to refuse.
    let request: async_graphql::Request =
        serde_json::from_value(message["payload"].clone()).ok()?;
    let batch = async_graphql::BatchRequest::Single(request);
    let shape = limits::shape(
        &batch,
        &DocumentLimits::from_settings(&state.settings.graphql),
    );
    let refusal = match shape.refusal(state.settings.graphql.max_aliases) {
        Some(err) => limits::refused(err),
        None => {
            // Before `connection_init` is accepted the protocol handler closes the socket.
            let opened = opened(cell)?;
            let wait = charge(
                state,
                Some(opened.principal.tenant_id),
                "",
                shape.mutation,
                1,
            )
            .await?;
            async_graphql::Response::from_errors(vec![limits::rate_limited_error(wait).1])
        }
    };
    let errors = serde_json::to_value(&refusal.errors).unwrap_or_default();
    let reply = match protocol {
        // graphql-ws (legacy) sends one error object.
        WebSocketProtocols::SubscriptionsTransportWS => {
            json!({ "id": id, "type": "error", "payload": errors.get(0).cloned().unwrap_or_default() })
        }
        _ => json!({ "id": id, "type": "error", "payload": errors }),
    };
    Some(reply.to_string())
}

async fn on_init(
    auth_service: Arc<AuthService>,
    cell: OpenedCell,
    meta: RequestMeta,
    init: serde_json::Value,
) -> async_graphql::Result<Data> {
    let credential = init
        .get("authorization")
        .or_else(|| init.get("Authorization"))
        .and_then(|v| v.as_str())
        .map(|v| {
            v.trim_start_matches("Bearer ")
                .trim_start_matches("bearer ")
                .to_owned()
        })
        .or_else(|| {
            init.get("token")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        });
    let authentication = auth::authenticate(&auth_service, credential.as_deref(), None).await;
    match (&authentication, credential) {
        (Authentication::Authenticated(principal), Some(credential)) => {
            let expires_at = auth::token_expiry(&auth_service, &credential);
            *cell.lock().unwrap_or_else(|p| p.into_inner()) = Some(Opened {
                credential,
                principal: principal.clone(),
                expires_at,
            });
        }
        (Authentication::Rejected(reason), _) => return Err(reason.clone().into()),
        _ => return Err("authentication required".into()),
    }
    let mut data = Data::default();
    data.insert(RequestContext {
        auth: authentication,
        meta,
    });
    Ok(data)
}
