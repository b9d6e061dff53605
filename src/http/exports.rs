//! Downloads of export files through signed, expiring links.
use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::domains::lineage::export::{self, LinkError};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Link {
    expires: i64,
    sig: String,
}

pub async fn download(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    link: web::Query<Link>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (tenant, file) = path.into_inner();
    match export::verify(&state, &tenant, &file, link.expires, &link.sig) {
        Ok(found) => match NamedFile::open_async(&found).await {
            Ok(f) => f
                .set_content_disposition(ContentDisposition {
                    disposition: DispositionType::Attachment,
                    parameters: vec![DispositionParam::Filename(format!("lineage-{file}"))],
                })
                .into_response(&req),
            Err(_) => HttpResponse::NotFound()
                .json(serde_json::json!({ "error": "export not found", "code": "NOT_FOUND" })),
        },
        Err(LinkError::Expired) => HttpResponse::Gone()
            .json(serde_json::json!({ "error": "the link has expired", "code": "LINK_EXPIRED" })),
        Err(LinkError::Invalid) => HttpResponse::Forbidden()
            .json(serde_json::json!({ "error": "invalid link", "code": "FORBIDDEN" })),
    }
}
