//! Limits and measures around each GraphQL operation, as async-graphql extensions: a time limit
//! (the operation is dropped, and with it its transactions, when it runs over) and the request
//! metrics (`autonomos_graphql_request_seconds{operation, kind, outcome}`).
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerError, ServerResult, Variables};

use crate::error::ErrorCode;
use crate::infra::metrics::Metrics;

/// Stops an operation that runs longer than the limit, answering TIMEOUT.
pub struct Timeout(pub Duration);

impl ExtensionFactory for Timeout {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TimeoutExtension(self.0))
    }
}

struct TimeoutExtension(Duration);

#[async_graphql::async_trait::async_trait]
impl Extension for TimeoutExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        match tokio::time::timeout(self.0, next.run(ctx)).await {
            Ok(response) => response,
            // Dropping the execution rolls back its transactions.
            Err(_) => {
                let mut err = ServerError::new(
                    format!(
                        "the request ran longer than {} s and was stopped",
                        self.0.as_secs()
                    ),
                    None,
                );
                err.extensions
                    .get_or_insert_with(Default::default)
                    .set("code", ErrorCode::Timeout.as_str());
                Response::from_errors(vec![err])
            }
        }
    }
}

/// Times each operation by name (a bounded set of labels), kind and outcome.
pub struct OperationMetrics(pub Arc<Metrics>);

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MetricsExtension {
            metrics: self.0.clone(),
            seen: Mutex::default(),
        })
    }
}

#[derive(Default)]
struct Seen {
    /// The name asked for, or the document's only operation's.
    operation: Option<String>,
    mutation: bool,
}

struct MetricsExtension {
    metrics: Arc<Metrics>,
    seen: Mutex<Seen>,
}

impl MetricsExtension {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for MetricsExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let (operation, mutation) = {
            let seen = self.seen();
            (seen.operation.clone(), seen.mutation)
        };
        self.metrics
            .request_seconds
            .with_label_values(&[
                self.metrics.operation(operation.as_deref()).as_str(),
                if mutation { "mutation" } else { "query" },
                if response.is_ok() { "ok" } else { "error" },
            ])
            .observe(started.elapsed().as_secs_f64());
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.seen().operation = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut seen = self.seen();
        let chosen = match seen.operation.clone() {
            Some(name) => document
                .operations
                .iter()
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
                .map(|(_, op)| op.node.ty),
            None => {
                let mut all = document.operations.iter();
                match (all.next(), all.next()) {
                    (Some((name, op)), None) => {
                        seen.operation = name.map(|n| n.to_string());
                        Some(op.node.ty)
                    }
                    _ => None,
                }
            }
        };
        seen.mutation = chosen == Some(OperationType::Mutation);
        drop(seen);
        Ok(document)
    }
}
