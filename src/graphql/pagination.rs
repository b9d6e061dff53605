//! Relay-style cursor connections over keyset pages.
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

use crate::config::GraphqlSettings;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};

#[derive(SimpleObject)]
pub struct ConnectionTotals {
    /// How many items match, across all pages.
    pub total_count: i64,
}

pub type Conn<N> = Connection<String, N, ConnectionTotals, EmptyFields>;

const CURSOR_PREFIX: &str = "c1:";

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

pub fn decode_cursor(cursor: &str) -> AppResult<Uuid> {
    let invalid = || AppError::bad_field("after", "is not a cursor from this API");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let id = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    Uuid::parse_str(id).map_err(|_| invalid())
}

pub fn page_request(
    settings: &GraphqlSettings,
    first: Option<i32>,
    after: Option<&str>,
) -> AppResult<PageRequest> {
    let limit = match first {
        None => settings.default_page_size,
        Some(n) if n >= 1 && (n as u32) <= settings.max_page_size => n as u32,
        Some(_) => {
            return Err(AppError::bad_field(
                "first",
                format!("must be between 1 and {}", settings.max_page_size),
            ))
        }
    };
    Ok(PageRequest {
        limit: u64::from(limit),
        after: after.map(decode_cursor).transpose()?,
    })
}

pub fn connection<T, N: OutputType>(
    page: Page<T>,
    had_cursor: bool,
    cursor_of: impl Fn(&T) -> Uuid,
    node: impl Fn(T) -> N,
) -> Conn<N> {
    let mut conn = Connection::with_additional_fields(
        had_cursor,
        page.has_next,
        ConnectionTotals {
            total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
        },
    );
    conn.edges.extend(page.items.into_iter().map(|item| {
        let cursor = encode_cursor(cursor_of(&item));
        Edge::new(cursor, node(item))
    }));
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not-a-cursor!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("x1:abc")).is_err());
    }
}
