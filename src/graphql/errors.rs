//! Gives every error a stable `extensions.code`, including the ones async-graphql raises
//! itself (parse, validation, limits, argument coercion).
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};

use crate::error::ErrorCode;

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

fn with_code(mut err: ServerError, code: ErrorCode) -> ServerError {
    let ext = err.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code.as_str());
    }
    err
}

fn has_code(err: &ServerError) -> bool {
    err.extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

/// async-graphql's own messages for inputs that do not fit the schema.
fn is_input_error(message: &str) -> bool {
    [
        "Failed to parse",
        "Invalid value for argument",
        "Internal error: Failed to parse",
        "Invalid value",
        // A variable left out for an argument that has a default but no null.
        "Expected input type",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

/// The operation asked for is not in the document, or the document needs a name to choose.
fn is_operation_choice(message: &str) -> bool {
    message.starts_with("Unknown operation named") || message.starts_with("Operation name required")
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, ErrorCode::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let code = if e.message.contains("too complex")
                        || e.message.contains("nested too deep")
                    {
                        ErrorCode::QueryTooComplex
                    } else {
                        ErrorCode::GraphqlValidationFailed
                    };
                    with_code(e, code)
                })
                .collect()
        })
    }

    /// Every error that leaves without a code gets one here, whichever step raised it
    /// (execution, or choosing the operation: an unknown `operationName`).
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| {
                if has_code(&e) {
                    e
                } else if is_input_error(&e.message) {
                    with_code(e, ErrorCode::BadUserInput)
                } else if is_operation_choice(&e.message) {
                    with_code(e, ErrorCode::GraphqlValidationFailed)
                } else {
                    tracing::error!(message = %e.message, "uncoded GraphQL error");
                    with_code(e, ErrorCode::Internal)
                }
            })
            .collect();
        response
    }
}
