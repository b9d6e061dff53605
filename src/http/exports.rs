//! Downloads of export files through signed, expiring links.
use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::graphql::error_response;
use crate::domains::lineage::export::{self, Exports, LinkError};
use crate::error::ErrorCode;

#[derive(Deserialize)]
pub struct Link {
    expires: i64,
    sig: String,
}

pub async fn download(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    link: web::Query<Link>,
    exports: web::Data<Exports>,
) -> HttpResponse {
    let (tenant, file) = path.into_inner();
    match export::verify(&exports, &tenant, &file, link.expires, &link.sig) {
        Ok(found) => match NamedFile::open_async(&found).await {
            Ok(f) => f
                .set_content_disposition(ContentDisposition {
                    disposition: DispositionType::Attachment,
                    parameters: vec![DispositionParam::Filename(format!("lineage-{file}"))],
                })
                .into_response(&req),
            Err(_) => error_response(ErrorCode::NotFound, "export not found"),
        },
        Err(LinkError::Expired) => error_response(ErrorCode::LinkExpired, "the link has expired"),
        Err(LinkError::Invalid) => error_response(ErrorCode::Forbidden, "invalid link"),
    }
}
