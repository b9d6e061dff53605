//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws), driven here rather
//! than by an actor so that sending waits for the socket: a slow client stops the reads behind
//! it instead of filling an unbounded outgoing buffer. Subscriptions can close the connection
//! with a code and reason (see `telemetry::live::ConnectionControl`).
use std::str::FromStr;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use async_graphql::Data;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::request;
use crate::domains::auth::model::Authentication;
use crate::domains::auth::scope::RequestMeta;
use crate::domains::auth::service as auth;
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
        meta,
        protocol,
        session,
        messages,
    ));
    Ok(response)
}

async fn serve(
    schema: AppSchema,
    state: AppState,
    meta: RequestMeta,
    protocol: WebSocketProtocols,
    mut session: actix_ws::Session,
    messages: actix_ws::MessageStream,
) {
    let (control, mut close_requests) = ConnectionControl::new();
    let gauge = state.metrics.websocket_connections.clone();
    gauge.inc();
    let (incoming_tx, incoming_rx) = mpsc::channel::<Vec<u8>>(INCOMING_QUEUE);
    // Frames in: text and binary to the protocol handler; pings answered; close ends it.
    let reader = {
        let mut session = session.clone();
        let mut messages = messages.max_frame_size(MAX_FRAME_BYTES);
        actix_web::rt::spawn(async move {
            while let Some(Ok(msg)) = messages.next().await {
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
    let mut protocol_stream = WebSocket::new(schema, incoming, protocol)
        .connection_data(data)
        .on_connection_init(move |init| on_init(state, meta, init))
        .boxed();
    let close = loop {
        tokio::select! {
            out = protocol_stream.next() => match out {
                Some(WsMessage::Text(text)) => {
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
                Some(WsMessage::Close(code, reason)) => break Some((code, reason)),
                None => break Some((1000, String::new())),
            },
            Some((code, reason)) = close_requests.recv() => break Some((code, reason)),
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

fn tokio_stream_from(
    mut rx: mpsc::Receiver<Vec<u8>>,
) -> impl futures_util::Stream<Item = Vec<u8>> + Send + Unpin + 'static {
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

async fn on_init(
    state: AppState,
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
    let authentication = auth::authenticate(&state, credential.as_deref(), None).await;
    match &authentication {
        Authentication::Authenticated(_) => {}
        Authentication::Anonymous => return Err("authentication required".into()),
        Authentication::Rejected(reason) => return Err(reason.clone().into()),
    }
    let mut data = Data::default();
    data.insert(RequestContext {
        auth: authentication,
        meta,
    });
    Ok(data)
}
