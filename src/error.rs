//! One error type for the API surface, with the stable codes clients see in `extensions.code`.
use std::fmt;

use async_graphql::ErrorExtensions;

/// Stable error codes. Adding a code is fine; renaming one breaks clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    Internal,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    QueryTooComplex,
    BadRequest,
    PayloadTooLarge,
    /// A subscription's `since` is older than what the streams still keep.
    SinceExpired,
    /// A subscriber fell too far behind its stream and was closed.
    SlowConsumer,
    /// The request ran past `graphql.timeout_secs` and was stopped.
    Timeout,
    /// The caller's request budget is spent (HTTP 429 with Retry-After).
    RateLimited,
    /// A service the request needs (e.g. Redis for live events) is not reachable.
    Unavailable,
    /// The tenant's quota (connectors, proposals per month, events per hour) is used up.
    QuotaExceeded,
    /// A persisted-query hash the server does not know: send the query with its hash.
    PersistedQueryNotFound,
    /// A signed download link past its expiry.
    LinkExpired,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::Internal => "INTERNAL",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::BadRequest => "BAD_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::SinceExpired => "SINCE_EXPIRED",
            Self::SlowConsumer => "SLOW_CONSUMER",
            Self::Unavailable => "UNAVAILABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::Timeout => "TIMEOUT",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::LinkExpired => "LINK_EXPIRED",
        }
    }
}

impl ErrorCode {
    /// Every code, for the table's own tests and documentation.
    pub const ALL: [ErrorCode; 19] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::Internal,
        Self::GraphqlParseFailed,
        Self::GraphqlValidationFailed,
        Self::QueryTooComplex,
        Self::BadRequest,
        Self::PayloadTooLarge,
        Self::SinceExpired,
        Self::SlowConsumer,
        Self::Timeout,
        Self::RateLimited,
        Self::Unavailable,
        Self::QuotaExceeded,
        Self::PersistedQueryNotFound,
        Self::LinkExpired,
    ];

    /// The HTTP status of a response that carries only this error (`/uploads`, exports, and
    /// `/graphql` requests refused before they run). Executed GraphQL answers 200 with the
    /// code in `errors`.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::BadUserInput
            | Self::BadRequest
            | Self::GraphqlParseFailed
            | Self::GraphqlValidationFailed
            | Self::QueryTooComplex => 400,
            Self::PayloadTooLarge => 413,
            Self::SinceExpired | Self::LinkExpired => 410,
            Self::RateLimited | Self::SlowConsumer | Self::QuotaExceeded => 429,
            Self::Timeout => 504,
            Self::Unavailable => 503,
            // Apollo's clients read this from a 200 and then send the query.
            Self::PersistedQueryNotFound => 200,
            Self::Internal => 500,
        }
    }

    /// Whether the same request may succeed later without change.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::Timeout
                | Self::RateLimited
                | Self::SlowConsumer
                | Self::Unavailable
                | Self::QuotaExceeded
                | Self::Internal
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with one input field, reported back so clients can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// a code, so `?` in a resolver must go through our `From` below instead.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound {
        what: &'static str,
    },
    BadUserInput {
        message: String,
        problems: Vec<FieldProblem>,
    },
    Conflict(String),
    /// A condition with its own stable code (SINCE_EXPIRED, SLOW_CONSUMER, UNAVAILABLE).
    Coded(ErrorCode, String),
    /// Never shown to clients: they get an opaque message, the log gets the cause.
    Internal(anyhow::Error),
}

impl AppError {
    /// The message clients see.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) | Self::Conflict(m) => m.clone(),
            Self::Coded(_, m) => m.clone(),
            Self::NotFound { what } => format!("{what} not found"),
            Self::BadUserInput { message, .. } => message.clone(),
            Self::Internal(_) => "internal error".to_owned(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Coded(code, _) => *code,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput {
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self::BadUserInput {
            message: format!("{field}: {message}"),
            problems: vec![FieldProblem { field, message }],
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::Coded(
                ErrorCode::Unavailable,
                "the database is unavailable; retry shortly".into(),
            );
        }
        Self::Internal(err.into())
    }
}

impl AppError {
    /// A dependency was away (not a fault of the request or the data): worth retrying.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Coded(ErrorCode::Unavailable, _))
    }
}

impl From<crate::infra::vector::VectorError> for AppError {
    fn from(err: crate::infra::vector::VectorError) -> Self {
        Self::Internal(err.into())
    }
}

impl From<redis::RedisError> for AppError {
    fn from(err: redis::RedisError) -> Self {
        Self::Internal(err.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        if let AppError::Internal(cause) = &err {
            tracing::error!(error = ?cause, "internal error");
        }
        let message = err.message();
        let mut gql = async_graphql::Error::new(message);
        gql = gql.extend_with(|_, ext| ext.set("code", code.as_str()));
        if let AppError::BadUserInput { problems, .. } = &err {
            if !problems.is_empty() {
                let list: Vec<async_graphql::Value> = problems
                    .iter()
                    .map(|p| {
                        let mut obj = async_graphql::indexmap::IndexMap::new();
                        obj.insert(async_graphql::Name::new("field"), p.field.clone().into());
                        obj.insert(
                            async_graphql::Name::new("message"),
                            p.message.clone().into(),
                        );
                        async_graphql::Value::Object(obj)
                    })
                    .collect();
                gql = gql.extend_with(|_, ext| ext.set("problems", list));
            }
        }
        gql
    }
}

/// The SQLSTATE of a database error, when there is one (e.g. `23505` unique violation).
pub fn sqlstate(err: &sea_orm::DbErr) -> Option<String> {
    match err {
        sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
        | sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

/// The database could not be reached or dropped the connection (restart, failover, network):
/// the statement did not run to a result, and a retry later may succeed.
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx_down = |e: &sea_orm::sqlx::Error| match e {
        sea_orm::sqlx::Error::Io(_)
        | sea_orm::sqlx::Error::PoolTimedOut
        | sea_orm::sqlx::Error::PoolClosed
        | sea_orm::sqlx::Error::WorkerCrashed => true,
        // 08: connection exception; 57P0x: the server is shutting down or restarting.
        other => other
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
    };
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_down(e),
        _ => false,
    }
}

pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    sqlstate(err).as_deref() == Some("23505")
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_has_one_status_and_distinct_names() {
        let mut names = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(names.insert(code.as_str()), "{code} twice");
            let status = code.http_status();
            assert!((200..600).contains(&status), "{code}: {status}");
            // Client errors are not retried as they are; outages and limits are.
            if (400..500).contains(&status) && status != 429 {
                assert!(!code.retryable(), "{code}");
            }
        }
        assert_eq!(ErrorCode::QuotaExceeded.http_status(), 429);
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::BadUserInput.http_status(), 400);
    }
}
