//! The graphql-transport-ws rules the GraphQL handler leaves to us, with the protocol's close
//! codes (standard clients decide retries from them): 4400 a message that is not one of the
//! protocol's, 4401 `subscribe` before the connection is acknowledged, 4409 a second subscriber
//! with an id still in use, 4429 a second `connection_init`. (4403 for a refused
//! `connection_init` and 4408 for none in time are decided where the socket is served.) Pure:
//! it sees the client's frames and the server's messages and says when to close.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

/// What to do with a client frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Close(u16, String),
}

fn close(code: u16, reason: impl Into<String>) -> Verdict {
    Verdict::Close(code, reason.into())
}

#[derive(Debug, Default)]
pub struct Guard {
    init_received: bool,
    acknowledged: bool,
    /// Operations started and not yet completed (by either side).
    ids: HashSet<String>,
    /// Operations the client completed while still running: the handler answers each with a
    /// `complete` of its own, which must not free the id once it is used again.
    echoes: HashMap<String, usize>,
}

impl Guard {
    pub fn init_received(&self) -> bool {
        self.init_received
    }

    pub fn acknowledged(&self) -> bool {
        self.acknowledged
    }

    /// A frame from the client, before it reaches the handler.
    pub fn client(&mut self, frame: &[u8]) -> Verdict {
        let invalid = || close(4400, "Invalid message received");
        let Ok(message) = serde_json::from_slice::<Value>(frame) else {
            return invalid();
        };
        let id = message.get("id").and_then(Value::as_str);
        match message.get("type").and_then(Value::as_str) {
            Some("connection_init") => {
                if std::mem::replace(&mut self.init_received, true) {
                    return close(4429, "Too many initialisation requests");
                }
                Verdict::Pass
            }
            Some("ping" | "pong") => Verdict::Pass,
            Some("subscribe") => {
                let (Some(id), true) = (
                    id.filter(|i| !i.is_empty()),
                    message.get("payload").is_some_and(Value::is_object),
                ) else {
                    return invalid();
                };
                if !self.acknowledged {
                    return close(4401, "Unauthorized");
                }
                if !self.ids.insert(id.to_owned()) {
                    return close(4409, format!("Subscriber for {id} already exists"));
                }
                Verdict::Pass
            }
            Some("complete") => match id {
                Some(id) => {
                    if self.ids.remove(id) {
                        *self.echoes.entry(id.to_owned()).or_default() += 1;
                    }
                    Verdict::Pass
                }
                None => invalid(),
            },
            _ => invalid(),
        }
    }

    /// A message from the server, before it is sent: an acknowledgement opens the connection,
    /// an operation's `complete` or `error` frees its id. False when it must not be sent: the
    /// handler's `complete` for an operation the client completed (the protocol sends nothing
    /// more about it, and a client reusing the id would take it for the new one's end).
    pub fn server(&mut self, text: &str) -> bool {
        // Only the envelope matters; results (`next`) are passed over unread.
        if text.contains("\"type\":\"next\"") {
            return true;
        }
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return true;
        };
        match message.get("type").and_then(Value::as_str) {
            Some("connection_ack") => self.acknowledged = true,
            Some(kind @ ("complete" | "error")) => {
                let Some(id) = message.get("id").and_then(Value::as_str) else {
                    return true;
                };
                if kind == "complete" {
                    if let Some(n) = self.echoes.get_mut(id) {
                        // The end of the operation the client completed, not of a newer one.
                        *n -= 1;
                        if *n == 0 {
                            self.echoes.remove(id);
                        }
                        return false;
                    }
                }
                self.ids.remove(id);
            }
            _ => {}
        }
        true
    }
}

/// The guard of one socket, shared by its reader and its writer; none for the legacy
/// subprotocol, which keeps the handler's own behaviour (every frame passes).
#[derive(Clone, Default)]
pub struct SharedGuard(Option<Arc<Mutex<Guard>>>);

impl SharedGuard {
    pub fn for_transport_ws(on: bool) -> Self {
        Self(on.then(Arc::default))
    }

    fn lock(&self) -> Option<MutexGuard<'_, Guard>> {
        self.0
            .as_ref()
            .map(|g| g.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether the socket must see an accepted `connection_init` in time (4408).
    pub fn waits_for_init(&self) -> bool {
        self.0.is_some()
    }

    pub fn client(&self, frame: &[u8]) -> Verdict {
        self.lock().map_or(Verdict::Pass, |mut g| g.client(frame))
    }

    pub fn server(&self, text: &str) -> bool {
        self.lock().is_none_or(|mut g| g.server(text))
    }

    pub fn acknowledged(&self) -> bool {
        self.lock().is_none_or(|g| g.acknowledged())
    }

    /// A `connection_init` came and was not accepted: the handler's close is Forbidden.
    pub fn init_refused(&self) -> bool {
        self.lock()
            .is_some_and(|g| g.init_received() && !g.acknowledged())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: serde_json::Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    fn code(v: Verdict) -> u16 {
        match v {
            Verdict::Close(code, _) => code,
            Verdict::Pass => 0,
        }
    }

    #[test]
    fn the_protocols_close_codes() {
        let mut g = Guard::default();
        let sub = |id: &str| {
            frame(
                serde_json::json!({ "id": id, "type": "subscribe", "payload": { "query": "{ me { id } }" } }),
            )
        };
        assert_eq!(
            code(g.client(&sub("1"))),
            4401,
            "before the acknowledgement"
        );
        assert_eq!(code(g.client(b"not json")), 4400);
        assert_eq!(
            code(g.client(&frame(serde_json::json!({ "type": "nonsense" })))),
            4400
        );
        assert_eq!(
            code(g.client(&frame(serde_json::json!({ "type": "connection_init" })))),
            0
        );
        assert_eq!(
            code(g.client(&frame(serde_json::json!({ "type": "connection_init" })))),
            4429
        );
        g.server(r#"{"type":"connection_ack"}"#);
        assert_eq!(code(g.client(&sub("1"))), 0);
        assert_eq!(code(g.client(&sub("1"))), 4409, "id still in use");
        g.server(r#"{"id":"1","type":"complete"}"#);
        assert_eq!(code(g.client(&sub("1"))), 0, "free again once completed");
        assert_eq!(
            code(g.client(&frame(serde_json::json!({ "id": "1", "type": "complete" })))),
            0
        );
        assert_eq!(
            code(g.client(&sub("1"))),
            0,
            "free again once the client completed it"
        );
        assert_eq!(
            code(g.client(&frame(
                serde_json::json!({ "type": "subscribe", "payload": {} })
            ))),
            4400,
            "no id"
        );
        assert_eq!(
            code(g.client(&frame(
                serde_json::json!({ "id": "2", "type": "subscribe" })
            ))),
            4400,
            "no payload"
        );
        assert_eq!(
            code(g.client(&frame(serde_json::json!({ "type": "ping" })))),
            0
        );
    }
}
