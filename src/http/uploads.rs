//! `PUT /uploads/{name}`: a CSV file for the tenant's CSV connectors, streamed to
//! `<file root>/tenants/<tenant>/uploads/<name>` (a connector then names it `uploads/<name>`).
//! The body goes to a temporary file first and replaces the old one only when complete, so an
//! oversize or broken upload leaves the previous file as it was.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::graphql::error_response;
use super::{middleware, request};
use crate::domains::audit::service::{self as audit, AuditEntry};
use crate::domains::auth::model::Role;
use crate::domains::auth::scope::TenantScope;
use crate::domains::auth::service as auth;
use crate::domains::connectors::kinds::csv::uploads_dir;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use crate::tenancy::ScopedTx;

/// A plain file name: letters, digits, `.`, `-`, `_`, ending in `.csv`, at most 100 bytes.
fn valid_name(name: &str) -> bool {
    (5..=100).contains(&name.len())
        && !name.starts_with('.')
        && name.to_ascii_lowercase().ends_with(".csv")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

enum Received {
    Done(u64, String),
    TooLarge,
    Broken,
}

fn app_error(e: &AppError) -> HttpResponse {
    if let AppError::Internal(cause) = e {
        tracing::error!(error = ?cause, "upload failed");
    }
    error_response(e.code(), &e.message())
}

/// What an upload must pass before it is charged: a plain CSV name and an editor. Runs in the
/// gateway between authentication and the rate limit; the handler finds the tenant pass.
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let name = req.match_info().get("name").unwrap_or_default();
    if !valid_name(name) {
        return Ok(req.into_response(error_response(ErrorCode::BadRequest,
            "the file name must end in .csv and hold only letters, digits, '.', '-' and '_' (at most 100)",
        )));
    }
    let meta = request::meta(req.request(), middleware::trace_id(req.request()));
    match auth::authorize(
        &middleware::authentication(req.request()),
        Role::Editor,
        meta,
    ) {
        Ok(scope) => {
            req.extensions_mut().insert(scope);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(e) => Ok(req.into_response(app_error(&e))),
    }
}

pub async fn put(
    req: HttpRequest,
    name: web::Path<String>,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let name = name.into_inner();
    let Some(scope) = req.extensions_mut().remove::<TenantScope>() else {
        return error_response(ErrorCode::Internal, "the upload was not admitted");
    };
    let tenant = scope.tenant_id();
    let max = state.settings.uploads.max_bytes;
    let too_large = || {
        error_response(
            ErrorCode::PayloadTooLarge,
            &format!("uploads are limited to {max} bytes"),
        )
    };
    if request::declared_length(&req).is_some_and(|n| n > max) {
        return too_large();
    }

    let dir = uploads_dir(&state.settings.sync.file_root, tenant);
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return app_error(&AppError::internal(e));
    }
    let partial = dir.join(format!(".partial-{}", uuid::Uuid::now_v7().simple()));
    let received = async {
        let mut file = tokio::fs::File::create(&partial).await?;
        let mut hash = Sha256::new();
        let mut bytes: u64 = 0;
        while let Some(chunk) = payload.next().await {
            let Ok(chunk) = chunk else {
                return Ok(Received::Broken);
            };
            bytes += chunk.len() as u64;
            if bytes > max {
                return Ok(Received::TooLarge);
            }
            hash.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        Ok::<_, std::io::Error>(Received::Done(bytes, hex::encode(hash.finalize())))
    }
    .await;
    let (bytes, sha256) = match received {
        Ok(Received::Done(bytes, sha256)) => (bytes, sha256),
        failed => {
            let _ = tokio::fs::remove_file(&partial).await;
            return match failed {
                Ok(Received::TooLarge) => too_large(),
                Err(e) => app_error(&AppError::internal(e)),
                _ => error_response(ErrorCode::BadRequest, "the upload was interrupted"),
            };
        }
    };
    if let Err(e) = tokio::fs::rename(&partial, dir.join(&name)).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return app_error(&AppError::internal(e));
    }
    let recorded = async {
        let tx = ScopedTx::begin(&state.db, &scope).await?;
        audit::record(
            &tx,
            AuditEntry::new("upload.put", "file", format!("uploads/{name}"))
                .new_value(json!({ "bytes": bytes, "sha256": sha256 })),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(e) = recorded {
        return app_error(&e);
    }
    HttpResponse::Created()
        .json(json!({ "path": format!("uploads/{name}"), "bytes": bytes, "sha256": sha256 }))
}
